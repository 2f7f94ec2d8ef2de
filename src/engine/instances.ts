/**
 * Cloud instances (AN0744): account → region → instance, and the launch that made them. A control-plane
 * call (`cloud-change`) that creates compute opens a launch: its instances (ids, addresses with the time
 * they held them, interfaces, type, image, tags), who made it (principal, access key, source IP, user
 * agent, the service acting for it) and whether that was authorized — the `cloud:` policy, else the
 * data's own history: the principal's earlier launches, the regions, instance families and source IPs
 * it used, how many it launched before, an `EnableRegion`, quota or key-pair call just before; the
 * history length is said. A denied call is an attempt. Flow, DNS and metric records join an instance by
 * its id, its interface, or the address it held at that time (addresses are reused), and their evidence
 * is the launch's: 20 instances of one call are one finding. Instance CPU is judged against the
 * instance's own history: a sudden rise, or pinned from launch, held for the sustain time.
 * No I/O, no clock: event time only. Every map is bounded.
 */
import { cloudApprovalOf } from '../model/cloud-policy.js';
import { type EntityKey, entityKey } from '../model/entity.js';
import { type CloudFacts, type CoalEvent, isoFromMs, type SourceRef } from '../model/event.js';
import type { CloudPolicy, Thresholds } from '../model/policy.js';
import type { Signal, Strength } from '../model/signal.js';
import { launchPools } from '../signals/cloud.js';
import type { Intel } from '../signals/intel/types.js';
import { provenanceOf } from '../signals/make.js';
import { type NamedPool, poolContactText, reachesPool } from '../signals/named-destination.js';
import { clip, inert } from '../util/hostile.js';
import { addEvidence, addProcess, type Cluster, newCluster } from './clusters.js';
import { CpuSeries } from './cpu-series.js';
import { hostNameKey } from './host-names.js';
import { MiningPortContacts } from './mining-port-contact.js';
import type { ProcInfo } from './process-table.js';
import { type GpuRun, gpuPctOf, gpuSample, type LateSampleNote, newGpuRun, sustainedGpu } from './resource-runs.js';

/** Who made a launch, and how. */
export interface LaunchOrigin {
  operation: string;
  principal?: string;
  principalType?: string;
  accessKeyId?: string;
  sourceIp?: string;
  userAgent?: string;
  invokedBy?: string;
  /** The role an assumed-role session came from (the policy matches roles with a path by it). */
  sessionIssuer?: string;
  ts: number;
  ref: SourceRef;
  instanceTypes: string[];
  image?: string;
  count?: number;
  userData?: string;
  tags: Record<string, string>;
}

/** What telemetry covered an instance or account/region, for gaps and coverage. */
export type CloudTelemetry = 'audit' | 'network' | 'dns' | 'cpu' | 'gpu' | 'detector';

interface InstanceCpu {
  lastTs?: number;
  /** Mean of samples before the current high run, and how many fed it. */
  baselineSum: number;
  baselineN: number;
  runBaseline?: number;
  runBaselineN: number;
  highSince?: number;
  emitted: boolean;
  peakPct: number;
  highMs: number;
  series?: CpuSeries;
}

export interface InstanceState {
  key: EntityKey;
  provider: string;
  account?: string;
  region?: string;
  id: string;
  type?: string;
  image?: string;
  launchKey: string;
  launchedMs?: number;
  endedMs?: number;
  firstSeenMs: number;
  lastSeenMs: number;
  interfaces: Set<string>;
  addresses: Set<string>;
  cpu: InstanceCpu;
  /** GPU utilisation (percent of all its GPUs), when its metrics carry it. */
  gpu?: GpuRun;
  telemetry: Set<CloudTelemetry>;
}

export interface LaunchState {
  /** The finding's entity: the instance when one, else the launch (its first instance's key with the count). */
  key: string;
  provider: string;
  account?: string;
  region?: string;
  origin?: LaunchOrigin;
  instances: Set<string>;
  /** Denied attempts of this principal folded into this launch. */
  denied: number;
  authorizedBy?: string;
  authorizationNote?: string;
  telemetry: Set<CloudTelemetry>;
  /** The pools its startup script or task commands name: a flow of its instances there is its pool contact. */
  pools: NamedPool[];
  /** Destinations already reported as pool contact (once per launch and destination). */
  poolContacts: Set<string>;
  /** Hosts whose own telemetry runs on its instances. */
  hosts: Set<string>;
  unit: Cluster | undefined;
  lastTouched: number;
}

/** The instance a host runs on, for a host finding's facts. */
export interface HostCloudLink {
  provider: string;
  account?: string;
  region?: string;
  instance: string;
  launchedAt?: string;
  launchedBy?: string;
  accessKeyId?: string;
  authorization?: string;
}

export interface LaunchView {
  launch: LaunchState;
  instances: InstanceState[];
  evidence: Signal[];
  processes: ProcInfo[];
  /** Hosts whose own telemetry (auditd, watch, an agent) was tied to one of its instances. */
  hosts: string[];
  /** Telemetry seen for the launch's account/region (any instance), for gaps. */
  regionTelemetry: ReadonlySet<CloudTelemetry>;
  policy: CloudPolicy | undefined;
}

const MAX_INSTANCES = 200_000;
const MAX_LAUNCHES = 100_000;
const MAX_HISTORY = 200_000;
const MAX_SET = 64;
/** A principal that launched this many times before is routine. */
const ROUTINE_LAUNCHES = 3;
/** Calls of one identity, source, region and types this close together are one launch. */
const BURST_MS = 10 * 60 * 1000;
const MAX_NAME_PATTERNS = 1024;
/** History shorter than this cannot call anything first-seen. */
const MIN_HISTORY_MS = 24 * 60 * 60 * 1000;
/** Launching this many times the principal's largest earlier launch (and at least this many) is far above its history. */
const COUNT_FACTOR = 3;
const COUNT_MIN = 5;
/** Account-level calls this long before a launch are part of its story (EnableRegion, quotas, key pairs, ingress). */
const PRELUDE_MS = 6 * 60 * 60 * 1000;
/** A high run counts as sudden when the instance's earlier mean was under this percent. */
const SUDDEN_BASELINE_PCT = 50;
/** A run starting this soon after launch is "pinned from launch". */
const FROM_LAUNCH_MS = 60 * 60 * 1000;
const MAX_SAMPLE_GAP_MS = 20 * 60 * 1000;
const BASELINE_MIN_SAMPLES = 3;

/** Operations that create or start compute, per provider's naming (lowercased, suffix match for GCP/Azure). */
const LAUNCH_OPERATIONS = [
  'runinstances',
  'startinstances',
  'createfleet',
  'requestspotfleet',
  'requestspotinstances',
  'runtask',
  'createservice',
  'compute.instances.insert',
  'compute.instances.bulkinsert',
  'compute.instances.start',
  'compute.instancegroupmanagers.insert',
  'compute.instancegroupmanagers.resize',
  'microsoft.compute/virtualmachines/write',
  'microsoft.compute/virtualmachinescalesets/write',
  'microsoft.compute/virtualmachinescalesets/scale/action',
  'microsoft.compute/virtualmachines/start/action',
  'microsoft.containerinstance/containergroups/write',
];
const END_OPERATIONS = ['terminateinstances', 'compute.instances.delete', 'microsoft.compute/virtualmachines/delete'];
/** Calls that prepare abuse of an account: new regions, quotas, keys, open ingress. */
const PRELUDE_OPERATIONS = [
  'enableregion',
  'requestservicequotaincrease',
  'getservicequota',
  'listservicequotas',
  'importkeypair',
  'createkeypair',
  'authorizesecuritygroupingress',
  'createaccesskey',
  'createserviceaccountkey',
  'cloudquotas',
  'serviceusage.enableservice',
  'compute.firewalls.insert',
  'microsoft.capacity/',
  'microsoft.quota/',
  '/register/action',
  'securityrules/write',
  'sshpublickeys/write',
  'roleassignments/write',
];
/** Instance families of GPUs and very large machines: what a miner with a stolen key asks for. */
const GPU_OR_LARGE =
  /^(?:p[2-5]|g[3-6]|g4dn|g5g|inf[12]|trn1|dl1|x[12]|u-|z1d)\w*\.|^(?:a2|a3|g2)-|-(?:gpu|highgpu|megagpu)|^standard_n[cdv]|\.(?:metal|\d{2,}xlarge)$/i;

/** A launch of GPU or very large instances, or a fleet (many at once): worth a low finding on its own when off the path. */
export function isBigLaunch(types: readonly string[], count: number | undefined): boolean {
  return types.some((x) => GPU_OR_LARGE.test(x)) || (count ?? 1) >= COUNT_MIN;
}
/** User agents of scripts and tools, not consoles or infrastructure-as-code. */
const TOOL_AGENT = /^(?:python-requests|curl|wget|go-http-client|boto3|botocore|aws-cli|python|java|okhttp)\b/i;

function matchesOperation(op: string, list: readonly string[]): boolean {
  const lower = op.toLowerCase();
  return list.some((o) => lower === o || lower.endsWith(`.${o}`) || lower.endsWith(o));
}

function add(set: Set<string>, value: string | undefined): void {
  if (value && set.size < MAX_SET) set.add(value);
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48 ? `${Math.round(h / 24)} days` : `${Math.round(h * 10) / 10} h`;
}

/** `g4dn.xlarge` → `g4dn`, `n1-standard-8` → `n1-standard`, `Standard_NC24` → `Standard_NC`. */
export function instanceFamily(type: string): string {
  const dot = type.indexOf('.');
  if (dot > 0) return type.slice(0, dot);
  const dash = type.lastIndexOf('-');
  if (dash > 0 && /^\d+$/.test(type.slice(dash + 1))) return type.slice(0, dash);
  return type.replace(/\d+[a-z_]*$/i, '');
}

/** Evidence a launch's own startup script or task definition runs a miner (medium or stronger). */
const MINER_PAYLOAD_KINDS = new Set(['miner-process', 'miner-tuning']);

const LAUNCH_SCRIPT = {
  line: "its launch's startup script",
  options: "the miner options of its launch's startup script",
};

function launchRunsMiner(l: LaunchState): boolean {
  const ref = l.origin?.ref;
  return (
    ref !== undefined &&
    [...(l.unit?.evidence.values() ?? [])].some(
      ({ signal: s }) => MINER_PAYLOAD_KINDS.has(s.kind) && s.strength !== 'weak' && s.ref === ref,
    )
  );
}

/**
 * The identity a principal's history is kept under: an AWS assumed-role session's role by name (from its
 * issuer `arn:aws:iam::1:role/path/name`, else its ARN `arn:aws:sts::1:assumed-role/name/session`), since
 * each Terraform run or instance-profile session has a name of its own; any other principal as itself.
 */
export function identityOf(principal: string | undefined, sessionIssuer: string | undefined): string | undefined {
  const issuer = sessionIssuer
    ? /^arn:aws[a-z-]{0,16}:iam::\d{1,16}:role\/(?:[^/]{1,128}\/){0,16}([^/]{1,128})$/.exec(sessionIssuer)
    : null;
  if (issuer) return `role/${issuer[1]}`;
  const session = principal
    ? /^arn:aws[a-z-]{0,16}:sts::\d{1,16}:assumed-role\/([^/]{1,128})\/[^/]{1,256}$/.exec(principal)
    : null;
  if (session) return `role/${session[1]}`;
  return principal ?? sessionIssuer;
}

/** An EC2 instance's default host name: `ip-10-20-0-7`, optionally with its DNS suffix. */
const EC2_HOST_NAME = /^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:\.[a-z0-9.-]{1,200})?$/i;

/** Resource types a launch call names for a group of alike instances (Azure scale set, GCP managed group). */
const GROUP_RESOURCES = new Set(['scale-set', 'instanceGroupManager']);

function nameKey(provider: string, account: string | undefined, name: string | undefined): string {
  return `${provider}|${account ?? ''}|${(name ?? '').toLowerCase()}`;
}

/**
 * The groups an instance's id or name may belong to: an Azure scale set's VM (`…/virtualMachineScaleSets/
 * <set>/virtualMachines/<n>`, or a flexible set's `<set>_<8 hex>`), a GCP managed group's VM
 * (`<base name>-<4 characters>`, the base name being the group's by default).
 */
function groupsOf(provider: string, id: string, name: string | undefined): string[] {
  const out: string[] = [];
  const lower = id.toLowerCase();
  if (provider === 'azure') {
    const at = lower.indexOf('/virtualmachinescalesets/');
    if (at >= 0) out.push(lower.slice(at + 25).split('/', 1)[0]);
    const flexible = /^(.{1,64})_[0-9a-f]{8}$/.exec((name ?? '').toLowerCase());
    if (flexible) out.push(flexible[1]);
  } else if (provider === 'gcp') {
    const managed = /^([a-z][a-z0-9-]{0,56})-[a-z0-9]{4}$/.exec((name ?? id).toLowerCase());
    if (managed) out.push(managed[1]);
  }
  return out.filter((g) => g !== '');
}

export class InstanceTable {
  private readonly instances = new Map<string, InstanceState>();
  private readonly launches = new Map<string, LaunchState>();
  /** provider|instance id, interface id, address → instance key (address: the latest holder, with its time). */
  private readonly byId = new Map<string, string>();
  /** provider|account|name (and provider||name) → instance key: GCP and Azure records name VMs. */
  private readonly byName = new Map<string, string>();
  private readonly byInterface = new Map<string, string>();
  /** Host name → the instance its own telemetry runs on; host name → instance count when last found none. */
  private readonly hostLinks = new Map<string, string>();
  private readonly linkChecked = new Map<string, number>();
  /** JSON [principal, region, source IP, types] → the launch its last call made, for calls made one VM at a time. */
  private readonly bursts = new Map<string, { key: string; lastTs: number }>();
  /** Bulk inserts' name patterns (GCP `namePattern`): prefix, digit count, suffix → launch. */
  private readonly namePatterns: Array<{
    provider: string;
    account: string | undefined;
    prefix: string;
    digits: number;
    suffix: string;
    launchKey: string;
  }> = [];
  /** Interface id → its MAC and addresses, as a NIC write said (the VM using it may come later). */
  private readonly interfaceFacts = new Map<string, { mac?: string; ips: string[] }>();
  private readonly byAddress = new Map<string, Array<{ key: string; from: number; to?: number }>>();
  /** Baselines: provider|account|principal → launches, largest count, regions, families, source IPs; account → first audit time. */
  private readonly principals = new Map<
    string,
    { launches: number; maxCount: number; regions: Set<string>; families: Set<string>; ips: Set<string> }
  >();
  private readonly auditSince = new Map<string, number>();
  private readonly regionsSeen = new Map<string, number>();
  /** provider|account|principal → recent prelude calls (EnableRegion, quotas, key pairs, ingress). */
  private readonly preludes = new Map<string, Array<{ ts: number; what: string }>>();
  /** JSON [provider, account, region] → where and the telemetry seen there (hostile values cannot shift the parts). */
  private readonly regionTelemetry = new Map<
    string,
    { provider: string; account: string; region: string; telemetry: Set<CloudTelemetry> }
  >();
  private touch = 0;
  readonly changed = new Set<string>();

  private readonly miningPorts = new MiningPortContacts();

  constructor(
    private readonly policy: CloudPolicy | undefined,
    /** For the pools a launch's startup script names; without it only intel-free evidence is judged. */
    private readonly intel?: Intel,
    /** Where a CPU or GPU sample older than the instance's newest is counted (the engine's run summary). */
    private readonly noteLate?: LateSampleNote,
  ) {}

  /** Account/region pairs seen, with their telemetry (coverage). */
  regions(): Array<{ provider: string; account: string; region: string; telemetry: ReadonlySet<CloudTelemetry> }> {
    return [...this.regionTelemetry.values()]
      .map(({ provider, account, region, telemetry }) => ({ provider, account, region, telemetry }))
      .sort((a, b) =>
        a.provider !== b.provider
          ? a.provider < b.provider
            ? -1
            : 1
          : a.account !== b.account
            ? a.account < b.account
              ? -1
              : 1
            : a.region < b.region
              ? -1
              : a.region > b.region
                ? 1
                : 0,
      );
  }

  private learn<V>(map: Map<string, V>, k: string, v: V): void {
    if (map.size >= MAX_HISTORY && !map.has(k)) map.delete(map.keys().next().value as string);
    map.set(k, v);
  }

  private regionSet(provider: string, account: string | undefined, region: string | undefined): Set<CloudTelemetry> {
    const where = { provider, account: account ?? '?', region: region ?? '?' };
    const k = JSON.stringify([where.provider, where.account, where.region]);
    let entry = this.regionTelemetry.get(k);
    if (!entry) {
      entry = { ...where, telemetry: new Set() };
      if (this.regionTelemetry.size < MAX_LAUNCHES) this.regionTelemetry.set(k, entry);
    }
    return entry.telemetry;
  }

  private note(i: InstanceState | undefined, l: LaunchState, what: CloudTelemetry): void {
    i?.telemetry.add(what);
    l.telemetry.add(what);
    this.regionSet(l.provider, l.account, l.region).add(what);
  }

  /**
   * The launch an event belongs to (a cloud call, or a flow/DNS/metric/detector record joined to an
   * instance), with authorization or resource evidence pushed to `out`. Undefined: no instance or launch.
   */
  observe(event: CoalEvent, t: Thresholds, out: Signal[]): LaunchState | undefined {
    const cloud = event.coalmine.cloud;
    if (event.event.action === 'cloud-change' && cloud) return this.observeCall(event, cloud, out);
    // host telemetry (a process's exec, connection or CPU; an agent stamping cloud.instance.id on every event)
    // stays the host's (AN0742/AN0741): the host is linked to its instance instead
    if (event.process?.pid !== undefined || event.process?.command_line !== undefined) {
      this.linkHost(event);
      return undefined;
    }
    const instance = this.instanceOf(event);
    if (!instance) {
      this.linkHost(event);
      return undefined;
    }
    const launch = this.launches.get(instance.launchKey);
    if (!launch) return undefined;
    // an instance first named by a record without account or region (get-metric-data) learns them from later ones
    const account = event.cloud?.account?.id;
    const region = event.cloud?.region;
    if (account && !instance.account) instance.account = account;
    if (region && !instance.region) instance.region = region;
    if (!launch.origin) {
      if (account && !launch.account) launch.account = account;
      if (region && !launch.region) launch.region = region;
    }
    const ts = event.coalmine.ts;
    if (ts > instance.lastSeenMs) instance.lastSeenMs = ts;
    if (ts < instance.firstSeenMs) instance.firstSeenMs = ts;
    const action = event.event.action;
    if (event.event.type?.includes('indicator')) this.note(instance, launch, 'detector');
    else if (action === 'connect') {
      this.note(instance, launch, 'network');
      this.observeConnect(event, instance, launch, out);
    } else if (action === 'dns-query') this.note(instance, launch, 'dns');
    if (action === 'metric' && event.metrics?.cpu_pct !== undefined) {
      this.note(instance, launch, 'cpu');
      this.observeCpu(event, instance, t, out);
    }
    const gpuPct = action === 'metric' ? gpuPctOf(event) : undefined;
    if (gpuPct !== undefined) {
      this.note(instance, launch, 'gpu');
      this.observeGpu(event, instance, gpuPct, t, out);
    }
    launch.lastTouched = ++this.touch;
    return launch;
  }

  /**
   * Pool contact of an instance without intel: a flow to the port (and address, when written as one) of
   * a pool its launch's startup script names is strong; a held or reopened flow on a mining port from an
   * instance whose launch carries a miner is medium (as for a process, engine/mining-port-contact.ts).
   */
  private observeConnect(event: CoalEvent, i: InstanceState, l: LaunchState, out: Signal[]): void {
    const port = event.destination?.port;
    if (port === undefined || event.network?.direction === 'inbound') return;
    const ip = event.destination?.ip;
    const pool = l.pools.find((p) => reachesPool(p, ip, port));
    if (pool) {
      const { to, named, destination } = poolContactText(pool, ip, port, LAUNCH_SCRIPT);
      if (l.poolContacts.has(destination) || l.poolContacts.size >= MAX_SET) return;
      l.poolContacts.add(destination);
      out.push({
        kind: 'pool-contact',
        class: 'network',
        strength: 'strong',
        entity: i.key,
        host: i.id,
        ts: event.coalmine.ts,
        ref: event.coalmine.ref,
        by: 'engine:launch-named-pool',
        explanation: inert(clip(`instance ${i.id} connected to ${to}, ${named}`, 400)),
        subject: { destination },
        ...(pool.intel ? { intel: provenanceOf(pool.intel) } : {}),
      });
      return;
    }
    for (const weak of out) {
      if (weak.kind !== 'mining-port') continue;
      const held = this.miningPorts.observe(weak, i.key, event.coalmine.flow?.durationMs, () => launchRunsMiner(l), {
        who: `instance ${i.id}`,
        miner: "its launch's startup script or task runs a miner",
      });
      if (held) {
        out.push({ ...held, entity: i.key, host: i.id });
        return;
      }
    }
  }

  /**
   * By instance id (cloud.instance.id, or a host named like one) or name (GCP flow and monitoring
   * records name VMs, the insert may give only a number), interface, or the address held at that time.
   * An instance never seen launched joins its scale set's or managed group's launch when it names one.
   */
  private instanceOf(event: CoalEvent): InstanceState | undefined {
    const provider = event.cloud?.provider;
    const account = event.cloud?.account?.id;
    const id = event.cloud?.instance?.id;
    const name = event.cloud?.instance?.name;
    if (id || name) {
      const known = this.knownInstance(provider ?? '', account, id, name);
      if (known) return known;
      // an instance we never saw launched: its group's launch, else its own launch with no origin
      if (provider && id) {
        const group = this.groupLaunchOf(provider, account, id, name);
        const i = this.instanceState(provider, account, event.cloud?.region, id, event.coalmine.ts, group?.key, name);
        i.launchedMs ??= group?.launchedMs;
        return i;
      }
    }
    const nic = event.cloud?.network_interface;
    if (nic) {
      const k = this.byInterface.get(nic);
      if (k) return this.instances.get(k);
    }
    const action = event.event.action;
    if ((action === 'connect' || action === 'dns-query') && event.process?.pid === undefined && event.source?.ip) {
      const held = this.byAddress.get(event.source.ip);
      const ts = event.coalmine.ts;
      const match = held?.find((h) => h.from <= ts && (h.to === undefined || ts <= h.to));
      if (match) return this.instances.get(match.key);
    }
    return undefined;
  }

  private knownInstance(
    provider: string,
    account: string | undefined,
    id: string | undefined,
    name: string | undefined,
  ): InstanceState | undefined {
    // a name standing for the id (GCP flow records) is unique only within its project: look it up by name
    const key =
      (id && id !== name ? (this.byId.get(`${provider}|${id}`) ?? this.byId.get(`|${id}`)) : undefined) ??
      this.byName.get(nameKey(provider, account, name ?? id)) ??
      (account ? undefined : this.byName.get(nameKey(provider, undefined, name ?? id)));
    return key ? this.instances.get(key) : undefined;
  }

  /** The launch of the scale set or managed group an instance's id or name says it belongs to, when we saw it. */
  private groupLaunchOf(
    provider: string,
    account: string | undefined,
    id: string,
    name: string | undefined,
  ): { key: string; launchedMs?: number } | undefined {
    for (const group of groupsOf(provider, id, name)) {
      const k = entityKey('instance', provider, account ?? '?', `group:${group}`);
      // a group's members are launched as it scales, at times its calls do not say
      if (this.launches.has(k)) return { key: k };
    }
    const n = (name ?? id).toLowerCase();
    for (let j = this.namePatterns.length - 1; j >= 0; j--) {
      const p = this.namePatterns[j];
      if (p.provider !== provider || (p.account && account && p.account !== account)) continue;
      if (n.length !== p.prefix.length + p.digits + p.suffix.length || !n.startsWith(p.prefix) || !n.endsWith(p.suffix))
        continue;
      if (!/^\d+$/.test(n.slice(p.prefix.length, n.length - p.suffix.length))) continue;
      // a bulk insert makes its VMs at the call
      const l = this.launches.get(p.launchKey);
      if (l) return { key: p.launchKey, launchedMs: l.origin?.ts };
    }
    return undefined;
  }

  private instanceState(
    provider: string,
    account: string | undefined,
    region: string | undefined,
    id: string,
    ts: number,
    launchKey?: string,
    name?: string,
  ): InstanceState {
    const named = name !== undefined && id === name;
    const key = named ? entityKey('instance', provider, account ?? '?', id) : entityKey('instance', provider, id);
    let i = this.instances.get(key);
    if (i) {
      if (launchKey && !i.launchedMs) i.launchKey = launchKey;
      return i;
    }
    if (this.instances.size >= MAX_INSTANCES) this.evictInstance();
    i = {
      key,
      provider,
      account,
      region,
      id,
      launchKey: launchKey ?? key,
      firstSeenMs: ts,
      lastSeenMs: ts,
      interfaces: new Set(),
      addresses: new Set(),
      cpu: { baselineSum: 0, baselineN: 0, runBaselineN: 0, emitted: false, peakPct: 0, highMs: 0 },
      telemetry: new Set(),
    };
    this.instances.set(key, i);
    if (!named) {
      this.learn(this.byId, `${provider}|${id}`, key);
      this.learn(this.byId, `|${id}`, key);
    }
    if (name) {
      this.learn(this.byName, nameKey(provider, account, name), key);
      this.learn(this.byName, nameKey(provider, undefined, name), key);
    }
    const l = this.launchState(launchKey ?? key, provider, account, region);
    add(l.instances, key);
    return i;
  }

  private evictInstance(): void {
    for (const [k, i] of this.instances) {
      const l = this.launches.get(i.launchKey);
      if (l?.unit) continue;
      this.instances.delete(k);
      return;
    }
  }

  private launchState(
    key: string,
    provider: string,
    account: string | undefined,
    region: string | undefined,
  ): LaunchState {
    let l = this.launches.get(key);
    if (l) return l;
    if (this.launches.size >= MAX_LAUNCHES)
      for (const [k, v] of this.launches)
        if (!v.unit) {
          this.launches.delete(k);
          break;
        }
    l = {
      key,
      provider,
      account,
      region,
      instances: new Set(),
      denied: 0,
      telemetry: new Set(),
      pools: [],
      poolContacts: new Set(),
      hosts: new Set(),
      unit: undefined,
      lastTouched: ++this.touch,
    };
    this.launches.set(key, l);
    return l;
  }

  /** `ip` is the instance's from `ts` on (addresses are reused: the one who held it before lets go). */
  private holdAddress(i: InstanceState, ip: string, ts: number): void {
    add(i.addresses, ip);
    const held = (this.byAddress.get(ip) ?? []).filter((h) => h.to === undefined || h.to > ts - PRELUDE_MS * 4);
    if (held.some((h) => h.key === i.key && h.to === undefined)) return;
    for (const h of held) if (h.to === undefined) h.to = ts;
    held.push({ key: i.key, from: ts });
    this.learn(this.byAddress, ip, held.slice(-8));
  }

  /** The instance uses interface `nic`: flows naming it, its MAC or the addresses it holds join the instance. */
  private attachInterface(i: InstanceState, nic: string, ts: number): void {
    add(i.interfaces, nic);
    this.learn(this.byInterface, nic, i.key);
    const known = this.interfaceFacts.get(nic);
    if (!known) return;
    if (known.mac) {
      add(i.interfaces, known.mac);
      this.learn(this.byInterface, known.mac, i.key);
    }
    for (const ip of known.ips) this.holdAddress(i, ip, ts);
  }

  /** What a NIC write says the interface holds; the instance using it (now or later) takes it on. */
  private learnInterfaces(list: NonNullable<CloudFacts['interfaces']>, ts: number): void {
    for (const nic of list.slice(0, MAX_SET)) {
      if (!nic.id) continue;
      const ips = [...(nic.privateIps ?? []), ...(nic.publicIps ?? [])].slice(0, 8);
      const before = this.interfaceFacts.get(nic.id);
      this.learn(this.interfaceFacts, nic.id, {
        mac: nic.mac ?? before?.mac,
        ips: ips.length ? ips : (before?.ips ?? []),
      });
      const owner = this.byInterface.get(nic.id);
      const i = owner ? this.instances.get(owner) : undefined;
      if (i) this.attachInterface(i, nic.id, ts);
    }
  }

  /** A bulk insert's `namePattern` (`worker-####`): the VMs it names so, first seen in flows or metrics, are its. */
  private learnNamePattern(provider: string, account: string | undefined, cloud: CloudFacts, launchKey: string): void {
    const pattern = cloud.resources?.find((r) => r.type === 'namePattern')?.name?.toLowerCase();
    if (!pattern) return;
    const m = /^([a-z0-9-]{0,62}?)(#{1,10})([a-z0-9-]{0,62})$/.exec(pattern);
    if (!m) return;
    if (this.namePatterns.length >= MAX_NAME_PATTERNS) this.namePatterns.shift();
    this.namePatterns.push({ provider, account, prefix: m[1], digits: m[2].length, suffix: m[3], launchKey });
  }

  /** A control-plane call: a launch (or an attempt), an end, or a prelude to remember. */
  private observeCall(event: CoalEvent, cloud: CloudFacts, out: Signal[]): LaunchState | undefined {
    const ts = event.coalmine.ts;
    const account = cloud.account ?? event.cloud?.account?.id;
    const region = cloud.region ?? event.cloud?.region;
    const provider = cloud.provider;
    const auditKey = `${provider}|${account ?? '?'}`;
    if (!this.auditSince.has(auditKey)) this.learn(this.auditSince, auditKey, ts);
    this.regionSet(provider, account, region).add('audit');
    const principal = cloud.principal?.id ?? event.user?.name;
    // history is the role's, not one session's: each Terraform run or instance profile session has its own name
    const principalKey = `${provider}|${account ?? '?'}|${identityOf(principal, cloud.principal?.sessionIssuer) ?? '?'}`;
    const op = cloud.operation;
    const denied = event.event.outcome === 'failure' || cloud.errorCode !== undefined;
    if (matchesOperation(op, END_OPERATIONS) && !denied) {
      for (const inst of cloud.instances ?? []) {
        const i = this.knownInstance(provider, account, inst.id, inst.name);
        if (!i) continue;
        i.endedMs = ts;
        for (const ip of i.addresses)
          for (const h of this.byAddress.get(ip) ?? []) if (h.key === i.key && h.to === undefined) h.to = ts;
      }
      return undefined;
    }
    if (cloud.interfaces?.length && !denied) this.learnInterfaces(cloud.interfaces, ts);
    if (PRELUDE_OPERATIONS.some((p) => op.toLowerCase().includes(p))) {
      const list = (this.preludes.get(principalKey) ?? []).filter((p) => p.ts > ts - PRELUDE_MS);
      const what = `${op}${cloud.resources?.length ? ` ${cloud.resources.map((r) => `${r.type} ${r.name}`).join(', ')}` : ''}${denied ? ' (denied)' : ''}`;
      list.push({ ts, what: clip(what, 160) });
      this.learn(this.preludes, principalKey, list.slice(-16));
      return undefined;
    }
    if (!matchesOperation(op, LAUNCH_OPERATIONS)) return undefined;

    const types = [
      ...new Set([cloud.instanceType, ...(cloud.instances ?? []).map((i) => i.type)].filter((x): x is string => !!x)),
    ];
    const origin: LaunchOrigin = {
      operation: op,
      principal,
      principalType: cloud.principal?.type,
      accessKeyId: cloud.principal?.accessKeyId,
      sourceIp: event.source?.ip,
      userAgent: event.user_agent?.original,
      invokedBy: cloud.principal?.invokedBy,
      sessionIssuer: cloud.principal?.sessionIssuer,
      ts,
      ref: event.coalmine.ref,
      instanceTypes: types.slice(0, 8),
      image: cloud.image ?? cloud.instances?.[0]?.image,
      count: cloud.count ?? (cloud.instances?.length || undefined),
      userData: cloud.userData,
      tags: { ...cloud.tags, ...cloud.instances?.[0]?.tags },
    };
    const first = cloud.instances?.map((i) => i.id ?? i.name).find((x) => x);
    const group =
      origin.tags['aws:autoscaling:groupName'] ??
      origin.tags['aws:ec2spot:fleet-request-id'] ??
      origin.tags['aws:ec2:fleet-id'] ??
      cloud.resources?.find((r) => GROUP_RESOURCES.has(r.type))?.name?.toLowerCase();
    // one script creating VMs one call at a time (`az vm create` in a loop) is one launch: same identity,
    // source, region and types, each call within BURST_MS of the last
    const burstKey = JSON.stringify([principalKey, region ?? '', origin.sourceIp ?? '', [...types].sort()]);
    const burst = !group && !denied ? this.bursts.get(burstKey) : undefined;
    const folded = burst !== undefined && ts - burst.lastTs <= BURST_MS && this.launches.has(burst.key);
    const launchKey = folded
      ? burst.key
      : group
        ? entityKey('instance', provider, account ?? '?', `group:${group}`)
        : first
          ? entityKey('instance', provider, first)
          : entityKey('instance', provider, account ?? '?', `attempt:${event.event.id ?? ts}`);
    if (!group && !denied) this.learn(this.bursts, burstKey, { key: launchKey, lastTs: ts });
    const l = this.launchState(launchKey, provider, account, region);
    if (folded && l.origin) l.origin.count = (l.origin.count ?? 1) + (origin.count ?? 1);
    l.origin ??= origin;
    this.learnNamePattern(provider, account, cloud, launchKey);
    if (this.intel && l.pools.length === 0 && !denied) l.pools = launchPools(event, this.intel);
    l.lastTouched = ++this.touch;
    this.note(undefined, l, 'audit');
    for (const inst of cloud.instances ?? []) {
      const id = inst.id ?? inst.name;
      if (!id) continue;
      const i =
        this.knownInstance(provider, account, inst.id, inst.name) ??
        this.instanceState(provider, account, region, id, ts, launchKey, inst.name);
      if (inst.name) {
        this.learn(this.byName, nameKey(provider, account, inst.name), i.key);
        this.learn(this.byName, nameKey(provider, undefined, inst.name), i.key);
      }
      if (inst.id && inst.id !== i.id) this.learn(this.byId, `${provider}|${inst.id}`, i.key);
      if (i.launchKey !== launchKey) this.launches.get(i.launchKey)?.instances.delete(i.key);
      i.launchKey = launchKey;
      i.launchedMs ??= ts;
      i.type ??= inst.type ?? cloud.instanceType;
      i.image ??= inst.image ?? cloud.image;
      add(l.instances, i.key);
      for (const nic of inst.interfaces ?? []) this.attachInterface(i, nic, ts);
      for (const ip of [...(inst.privateIps ?? []), ...(inst.publicIps ?? [])]) this.holdAddress(i, ip, ts);
    }
    // a call folded into a burst was judged with its first call: it is not more history of its own
    if (!folded) this.judgeLaunch(event, l, origin, principalKey, auditKey, denied, out);
    return l;
  }

  /** Is this launch on an approved path, or established in the data's history? Evidence when not. */
  private judgeLaunch(
    event: CoalEvent,
    l: LaunchState,
    o: LaunchOrigin,
    principalKey: string,
    auditKey: string,
    denied: boolean,
    out: Signal[],
  ): void {
    const ts = o.ts;
    const history = ts - (this.auditSince.get(auditKey) ?? ts);
    const past = this.principals.get(principalKey);
    const what = `${o.operation}${o.count ? ` of ${o.count}` : ''}${o.instanceTypes.length ? ` ${o.instanceTypes.join(', ')}` : ''}${l.region ? ` in ${l.region}` : ''}`;
    const who = `${o.principal ?? 'an unknown principal'}${o.accessKeyId ? ` (key ${o.accessKeyId})` : ''}${o.sourceIp ? ` from ${o.sourceIp}` : ''}${o.userAgent ? ` (${clip(o.userAgent, 60)})` : o.invokedBy ? ` via ${o.invokedBy}` : ''}`;
    const emit = (strength: Strength, why: string, rule: string) =>
      out.push({
        kind: 'unauthorized-launch',
        class: 'authorization',
        strength,
        entity: l.key,
        host: l.account ? `${l.provider}:${l.account}` : l.provider,
        ts,
        ref: o.ref,
        by: `engine:launch-${rule}`,
        explanation: inert(clip(`${what} by ${who}: ${why}`, 400)),
      });
    const big = o.instanceTypes.some((x) => GPU_OR_LARGE.test(x));
    if (denied) {
      l.denied++;
      emit(
        big || (o.count ?? 1) >= COUNT_MIN ? 'medium' : 'weak',
        `denied (${clip(String(event.coalmine.cloud?.errorCode ?? 'failure'), 60)}): an attempt to create compute this identity may not${big ? ', of GPU or very large instances' : ''}`,
        'denied',
      );
      l.authorizationNote ??= `an attempt denied by the provider (${event.coalmine.cloud?.errorCode ?? 'failure'})`;
      return;
    }
    // the baselines learn from every accepted launch, judged or approved
    const families = o.instanceTypes.map(instanceFamily);
    const record = () => {
      const p = past ?? {
        launches: 0,
        maxCount: 0,
        regions: new Set<string>(),
        families: new Set<string>(),
        ips: new Set<string>(),
      };
      p.launches++;
      p.maxCount = Math.max(p.maxCount, o.count ?? 1);
      add(p.regions, l.region);
      for (const f of families) add(p.families, f);
      add(p.ips, o.sourceIp);
      this.learn(this.principals, principalKey, p);
      if (l.region)
        this.learn(this.regionsSeen, `${auditKey}|${l.region}`, this.regionsSeen.get(`${auditKey}|${l.region}`) ?? ts);
    };
    /** What is new about this launch against the principal's, account's and region's history. */
    const noveltiesOf = (): string[] => {
      const novelties: string[] = [];
      if (!past) novelties.push(`first launch by ${o.principal ?? 'this principal'}`);
      else {
        const newFamilies = families.filter((f) => !past.families.has(f));
        if (newFamilies.length)
          novelties.push(`instance family first used by this principal: ${newFamilies.join(', ')}`);
        if (l.region && !past.regions.has(l.region)) novelties.push(`region first used by this principal: ${l.region}`);
        if (o.sourceIp && !past.ips.has(o.sourceIp))
          novelties.push(`source IP ${o.sourceIp} first used by this principal`);
        if ((o.count ?? 1) > Math.max(COUNT_MIN, past.maxCount * COUNT_FACTOR))
          novelties.push(`${o.count} instances, over ${COUNT_FACTOR}× its largest earlier launch (${past.maxCount})`);
      }
      if (l.region && !this.regionsSeen.has(`${auditKey}|${l.region}`))
        novelties.push(`region ${l.region} first used in the account`);
      if (big)
        novelties.push(
          `GPU or very large instances (${o.instanceTypes.filter((x) => GPU_OR_LARGE.test(x)).join(', ')})`,
        );
      if (o.userAgent && TOOL_AGENT.test(o.userAgent))
        novelties.push(`a script's user agent (${clip(o.userAgent, 40)})`);
      const prelude = (this.preludes.get(principalKey) ?? []).filter((p) => p.ts > ts - PRELUDE_MS && p.ts <= ts);
      if (prelude.length)
        novelties.push(
          `just before: ${prelude
            .slice(-3)
            .map((p) => p.what)
            .join('; ')}`,
        );
      return novelties;
    };
    const approval = cloudApprovalOf(this.policy, {
      principal: o.principal,
      sessionIssuer: o.sessionIssuer,
      userAgent: o.userAgent,
      invokedBy: o.invokedBy,
      region: l.region,
      instanceTypes: o.instanceTypes,
      tags: o.tags,
      at: ts,
    });
    if (approval?.approved) {
      l.authorizedBy = approval.reason;
      l.authorizationNote = `approved by ${approval.reason}`;
      record();
      return;
    }
    // established in the data's own history: this principal's launches of these families in this region
    const routine =
      past !== undefined &&
      past.launches >= ROUTINE_LAUNCHES &&
      families.every((f) => past.families.has(f)) &&
      (!l.region || past.regions.has(l.region)) &&
      (o.count ?? 1) <= Math.max(COUNT_MIN, past.maxCount * COUNT_FACTOR);
    if (approval && !approval.approved && routine) {
      // unauthorized is off the approved path *and* not established: a routine launcher the policy forgot is shown, weak
      emit(
        'weak',
        `not on the approved path (${approval.reason}), but routine for this principal: ${past.launches} earlier launches of these families in this region over ${hours(history)} of audit history`,
        'policy',
      );
      l.authorizationNote = `not in the cloud: policy (${approval.reason}), but established: ${past.launches} earlier launches over ${hours(history)}`;
      record();
      return;
    }
    if (approval && !approval.approved) {
      // the policy's verdict, and what the history adds to it (a first-seen region, a prelude just before)
      const novelties = noveltiesOf();
      const also = novelties.length ? `; ${novelties.join('; ')} (baseline: ${hours(history)} of audit history)` : '';
      const strong = history >= MIN_HISTORY_MS && novelties.length >= 3;
      emit(strong ? 'strong' : 'medium', `not on the approved path: ${approval.reason}${also}`, 'policy');
      l.authorizationNote = `not approved: ${approval.reason}${also}`;
      record();
      return;
    }
    // an AWS service acting for a group (autoscaling, spot) launches what someone configured earlier
    if (o.invokedBy && /\.amazonaws\.com$|^compute\.googleapis\.com$/.test(o.invokedBy) && !big) {
      l.authorizedBy = `${o.invokedBy} launching for the account`;
      l.authorizationNote = `launched by ${o.invokedBy} for a group configured earlier`;
      record();
      return;
    }
    if (routine) {
      l.authorizedBy = `routine launcher ${o.principal} (${past.launches} earlier launches of these families in this region over ${hours(history)} of audit history)`;
      l.authorizationNote = `launched by ${l.authorizedBy}`;
      record();
      return;
    }
    const novelties = noveltiesOf();
    record();
    if (novelties.length === 0) return;
    const enough = history >= MIN_HISTORY_MS;
    // "new" alone never alerts: two independent novelties after a day of history
    const strength: Strength = enough && novelties.length >= 2 ? (novelties.length >= 4 ? 'strong' : 'medium') : 'weak';
    emit(
      strength,
      `${novelties.join('; ')} (baseline: ${hours(history)} of audit history${enough ? '' : `, under the ${hours(MIN_HISTORY_MS)} a first-seen verdict needs`})`,
      'first-seen',
    );
    l.authorizationNote = `${novelties.join('; ')} (baseline: ${hours(history)} of audit history)`;
  }

  /** Instance CPU (percent of the whole instance): a sudden rise against its own history, or pinned from launch. */
  private observeCpu(event: CoalEvent, i: InstanceState, t: Thresholds, out: Signal[]): void {
    const pct = event.metrics?.cpu_pct;
    if (pct === undefined || !Number.isFinite(pct) || pct < 0) return;
    const ts = event.coalmine.ts;
    const c = i.cpu;
    const prev = c.lastTs;
    if (prev !== undefined && ts <= prev) {
      // the same moment again (two readers of one metric) is not late; an older one is, and is counted
      if (ts < prev) this.noteLate?.(event, 'CPU', 'instance');
      return;
    }
    c.lastTs = ts;
    if (pct > c.peakPct) c.peakPct = pct;
    const high = pct >= t.hostCpuPct;
    const gap = prev !== undefined && ts - prev > MAX_SAMPLE_GAP_MS;
    if (high && prev !== undefined && !gap) c.highMs += ts - prev;
    if (high || c.series) {
      c.series ??= new CpuSeries();
      c.series.push(ts, pct);
    }
    if (!high || gap) {
      if (c.highSince !== undefined && !high) c.emitted = false;
      c.highSince = high ? ts : undefined;
      if (!high) {
        c.baselineSum += pct;
        c.baselineN++;
      }
      if (high) {
        c.runBaseline = c.baselineN ? c.baselineSum / c.baselineN : undefined;
        c.runBaselineN = c.baselineN;
      }
      return;
    }
    if (c.highSince === undefined) {
      c.highSince = prev ?? ts;
      c.runBaseline = c.baselineN ? c.baselineSum / c.baselineN : undefined;
      c.runBaselineN = c.baselineN;
    }
    if (c.emitted || ts - c.highSince < t.sustainMs) return;
    c.emitted = true;
    const since = isoFromMs(c.highSince);
    let strength: Strength;
    let why: string;
    if (c.runBaselineN >= BASELINE_MIN_SAMPLES && c.runBaseline !== undefined) {
      const sudden = c.runBaseline < SUDDEN_BASELINE_PCT;
      strength = sudden ? 'medium' : 'weak';
      why = sudden
        ? `a sudden rise: its earlier mean was ${Math.round(c.runBaseline)}% over ${c.runBaselineN} samples`
        : `its own normal: its earlier mean was ${Math.round(c.runBaseline)}% (weak: busy machines stay busy)`;
    } else if (i.launchedMs !== undefined && c.highSince - i.launchedMs <= FROM_LAUNCH_MS) {
      strength = 'medium';
      why = `pinned from launch (${Math.round((c.highSince - i.launchedMs) / 60_000)} min after it started)`;
    } else {
      strength = 'weak';
      why = 'no earlier samples or launch time to compare with (weak)';
    }
    out.push({
      kind: 'sustained-cpu',
      class: 'resource',
      strength,
      entity: i.key,
      host: i.id,
      ts,
      ref: event.coalmine.ref,
      by: 'engine:instance-cpu',
      explanation: inert(
        clip(
          `instance ${i.id} at ${Math.round(pct)}% CPU (bar ${t.hostCpuPct}%) without a break since ${since}: ${why}`,
          400,
        ),
      ),
    });
  }

  /**
   * Instance GPU (percent of all its GPUs): the GPU run rule of hosts (engine/resource-runs.ts), with
   * the instance's own contrast: mostly idle before, or pinned from launch (medium); busy before, or no
   * history and no launch time (weak: GPU instances exist to be busy).
   */
  private observeGpu(event: CoalEvent, i: InstanceState, pct: number, t: Thresholds, out: Signal[]): void {
    const gpus = event.metrics?.gpus;
    const count = gpus !== undefined && Number.isFinite(gpus) && gpus > 0 ? gpus : 1;
    i.gpu ??= newGpuRun();
    const ts = event.coalmine.ts;
    const step = gpuSample(i.gpu, ts, pct, count, t);
    if (step === 'late') this.noteLate?.(event, 'GPU', 'instance');
    if (step !== 'sustained') return;
    const since = i.gpu.highSince ?? ts;
    const fromLaunch =
      i.launchedMs !== undefined && since - i.launchedMs <= FROM_LAUNCH_MS
        ? `pinned from launch (${Math.round((since - i.launchedMs) / 60_000)} min after it started)`
        : undefined;
    const of = gpus !== undefined && count > 1 ? `its ${count} GPUs` : 'its GPUs';
    const spec = sustainedGpu(`instance ${i.id}`, of, i.gpu, t, ts, fromLaunch);
    out.push({
      ...spec,
      class: 'resource',
      entity: i.key,
      host: i.id,
      ts,
      ref: event.coalmine.ref,
      by: 'engine:instance-gpu',
      explanation: inert(clip(spec.explanation, 400)),
    });
  }

  addEvidence(l: LaunchState, signal: Signal, proc: ProcInfo | undefined, live: boolean): void {
    if (!l.unit) l.unit = newCluster(l.key, l.account ? `${l.provider}:${l.account}` : l.provider, false, signal.ts);
    addEvidence(
      l.unit,
      signal.entity === l.key || proc
        ? signal
        : { ...signal, entity: signal.entity.startsWith('instance:') ? signal.entity : l.key },
    );
    if (proc) addProcess(l.unit, proc);
    if (live) this.changed.add(l.key);
  }

  /**
   * Tie a host's own telemetry to the cloud instance it runs on: by the instance id the event carries
   * (agents stamp `cloud.instance.id`), an EC2 host name (`ip-10-20-0-7…` → the instance holding
   * 10.20.0.7 then), or a GCP/Azure VM's name. Checked again only when instances were added since.
   */
  linkHost(event: CoalEvent): void {
    const host = event.host?.name;
    // no instance known (a run of host telemetry only): nothing to link, and nothing to remember checking
    if (!host || this.instances.size === 0 || this.hostLinks.has(host)) return;
    if (this.linkChecked.get(host) === this.instances.size) return;
    let i: InstanceState | undefined;
    const id = event.cloud?.instance?.id;
    if (id)
      i = this.knownInstance(event.cloud?.provider ?? '', event.cloud?.account?.id, id, event.cloud?.instance?.name);
    const ec2 = i ? null : EC2_HOST_NAME.exec(host);
    if (ec2) {
      const ip = `${Number(ec2[1])}.${Number(ec2[2])}.${Number(ec2[3])}.${Number(ec2[4])}`;
      const ts = event.coalmine.ts;
      const held = this.byAddress.get(ip)?.find((h) => h.from <= ts && (h.to === undefined || ts <= h.to));
      if (held) i = this.instances.get(held.key);
    }
    // a VM's name is its host's first label: `web-7.c.proj.internal` (GCP's FQDN) runs on the VM `web-7`
    const account = event.cloud?.account?.id;
    const short = hostNameKey(host);
    i ??=
      this.knownInstance('gcp', account, undefined, host) ??
      this.knownInstance('azure', account, undefined, host) ??
      (short !== host.toLowerCase()
        ? (this.knownInstance('gcp', account, undefined, short) ??
          this.knownInstance('azure', account, undefined, short))
        : undefined);
    if (!i) {
      this.learn(this.linkChecked, host, this.instances.size);
      return;
    }
    this.learn(this.hostLinks, host, i.key);
    this.linkChecked.delete(host);
    const l = this.launches.get(i.launchKey);
    if (l && l.hosts.size < MAX_SET) l.hosts.add(host);
  }

  /** The instance a host runs on and who launched it, when its telemetry was tied to one (for AN0741/AN0742's facts). */
  hostLink(host: string): HostCloudLink | undefined {
    const key = this.hostLinks.get(host);
    const i = key ? this.instances.get(key) : undefined;
    if (!i) return undefined;
    const l = this.launches.get(i.launchKey);
    const o = l?.origin;
    return {
      provider: i.provider,
      account: i.account ?? l?.account,
      region: i.region ?? l?.region,
      instance: i.id,
      launchedAt: i.launchedMs !== undefined ? isoFromMs(i.launchedMs) : undefined,
      launchedBy: o?.principal,
      accessKeyId: o?.accessKeyId,
      authorization: l?.authorizationNote ?? (l?.authorizedBy ? `authorized: ${l.authorizedBy}` : undefined),
    };
  }

  closeable(before: number | undefined): LaunchState[] {
    const out: LaunchState[] = [];
    for (const l of this.launches.values()) if (l.unit && (before === undefined || l.unit.lastTs < before)) out.push(l);
    return out.sort((a, b) => a.unit!.firstTs - b.unit!.firstTs || (a.key < b.key ? -1 : 1));
  }

  open(): LaunchState[] {
    return [...this.launches.values()].filter((l) => l.unit !== undefined);
  }

  viewOf(l: LaunchState): LaunchView {
    const unit = l.unit!;
    const evidence = [...unit.evidence.values()].map((e) => e.signal);
    evidence.sort(
      (a, b) =>
        a.ts - b.ts ||
        (a.ref.file < b.ref.file ? -1 : a.ref.file > b.ref.file ? 1 : 0) ||
        (a.ref.line ?? 0) - (b.ref.line ?? 0),
    );
    const instances = [...l.instances]
      .map((k) => this.instances.get(k))
      .filter((i): i is InstanceState => i !== undefined);
    return {
      launch: l,
      instances,
      evidence,
      processes: [...unit.processes.values()],
      hosts: [...l.hosts].sort(),
      regionTelemetry: this.regionSet(l.provider, l.account, l.region),
      policy: this.policy,
    };
  }

  close(l: LaunchState): void {
    l.unit = undefined;
    this.changed.delete(l.key);
  }
}
