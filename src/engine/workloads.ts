/**
 * Workloads (AN0745): the container → pod → workload → namespace → cluster side of the engine. Every
 * event that names a container, pod or Kubernetes object is joined to its workload (owner learned
 * from inventory, audit and runtime events, else guessed from the pod name), and:
 *  - the workload's facts grow: pods, containers, nodes, images and digests, replicas, creators;
 *  - container CPU is judged against the container's limit (or the node's cores) and held high for
 *    the sustain time gives `sustained-cpu` evidence;
 *  - authorization is judged when the workload is written through the API: anonymous or denied
 *    requests, the `containers:` policy, and two baselines (how often the creator has written in that
 *    namespace before; whether the image's repository ran in the cluster before), with the history
 *    length said; controllers and routine creators are never novel;
 *  - every signal of an event inside a workload is the workload's evidence (one finding for 50 replicas).
 * No I/O, no clock: event time only. All maps are bounded.
 */

import { type ContainerApproval, containerApprovalOf, normalisedRepository } from '../model/container-policy.js';
import { type EntityKey, workloadKey } from '../model/entity.js';
import { type CoalEvent, isoFromMs, type SourceRef } from '../model/event.js';
import type { ContainerPolicy, Thresholds } from '../model/policy.js';
import type { Signal, Strength } from '../model/signal.js';
import { type WorkloadRef, workloadRefOf } from '../model/workload-ref.js';
import { clip, inert } from '../util/hostile.js';
import { round2 } from '../util/number.js';
import { addEvidence, addProcess, type Cluster, newCluster } from './clusters.js';
import { CpuSeries } from './cpu-series.js';
import type { ProcInfo } from './process-table.js';
import { type GpuRun, gpuPctOf, gpuSample, type LateSampleNote, newGpuRun, sustainedGpu } from './resource-runs.js';

/** A write through the API server that made or changed the workload. */
export interface WorkloadWrite {
  user: string;
  groups: string[];
  sourceIps: string[];
  userAgent?: string;
  verb: string;
  status?: number;
  ts: number;
  ref: SourceRef;
}

/** One container's CPU (and GPU) as its samples say it. */
interface ContainerCpu {
  label: string;
  limitCores?: number;
  lastTs?: number;
  lastCpuTimeMs?: number;
  highSince?: number;
  emitted: boolean;
  peakCores: number;
  coreMs: number;
  /** Time sampled at or above the bar, in ms (intervals ending in a high sample). */
  highMs: number;
  series?: CpuSeries;
  /** GPU utilisation (percent of the GPUs it was given), when an exporter labels it with the pod. */
  gpu?: GpuRun;
}

/** What telemetry named a workload, for coverage and gaps. */
export type WorkloadTelemetry = 'audit' | 'inventory' | 'runtime' | 'process' | 'cpu' | 'gpu' | 'limits' | 'network';

export interface WorkloadState {
  key: EntityKey;
  cluster: string;
  namespace: string;
  name: string;
  kind?: string;
  runtime: 'kubernetes' | 'docker';
  /** Earliest time anything showed the workload existing (inventory creation time, an API create, a first event). */
  existsSinceMs: number;
  /** When an API request or the inventory says it was created. */
  createdMs?: number;
  pods: Set<string>;
  containerIds: Set<string>;
  containerNames: Set<string>;
  nodes: Set<string>;
  images: Set<string>;
  digests: Set<string>;
  replicas?: number;
  serviceAccount?: string;
  labels?: Record<string, string>;
  /** Writes (create, patch, scale, exec, delete), denied ones included, first first; bounded. */
  writes: WorkloadWrite[];
  denied: number;
  execCommands: string[];
  /** The `containers:` entry or baseline that says the workload is authorized, when one does. */
  authorizedBy?: string;
  /** One line on how authorization was judged (policy entry, baseline and its history length). */
  authorizationNote?: string;
  telemetry: Set<WorkloadTelemetry>;
  cpu: Map<string, ContainerCpu>;
  /** The open correlation unit: evidence and processes since the workload was last graded. */
  cluster_: Cluster | undefined;
  lastTouched: number;
}

export interface WorkloadView {
  workload: WorkloadState;
  cluster: Cluster;
  /** Evidence in time order. */
  evidence: Signal[];
  processes: ProcInfo[];
  /** Telemetry the cluster (all workloads of its namespace) has shown, for gaps. */
  namespaceTelemetry: ReadonlySet<WorkloadTelemetry>;
  policy: ContainerPolicy | undefined;
}

const MAX_WORKLOADS = 100_000;
const MAX_SET = 64;
const MAX_WRITES = 32;
const MAX_HISTORY = 200_000;
/** A creator who wrote in a namespace this many times before is routine there. */
const ROUTINE_WRITES = 3;
/** History shorter than this cannot call anything first-seen with confidence. */
const MIN_HISTORY_MS = 24 * 60 * 60 * 1000;
/** A workload that existed this long before its first evidence is established (it was running before). */
const ESTABLISHED_MS = 24 * 60 * 60 * 1000;
/** A container at or above this share of its limit counts as pinned. */
const LIMIT_SHARE = 0.9;
/** Samples further apart than this do not make one continuous run of high CPU. */
const MAX_SAMPLE_GAP_MS = 10 * 60 * 1000;
/** Scaling to this many replicas, and this many times the workload's known replicas, by a non-controller is a burst. */
const BURST_REPLICAS = 10;
const BURST_FACTOR = 5;
/** This many workloads created by one identity (not a controller, not routine there) within CREATE_BURST_MS is a burst. */
const CREATE_BURST = 10;
const CREATE_BURST_MS = 10 * 60 * 1000;

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'scale']);
const ANONYMOUS_USERS = new Set(['system:anonymous']);
const ANONYMOUS_GROUPS = new Set(['system:unauthenticated']);

function add(set: Set<string>, value: string | undefined): void {
  if (value && set.size < MAX_SET) set.add(value);
}

/** The API server's own controllers and nodes: they create pods for workloads someone else wrote. */
export function isControllerIdentity(user: string): boolean {
  return (
    user === 'system:kube-controller-manager' ||
    user === 'system:kube-scheduler' ||
    user.startsWith('system:node:') ||
    (user.startsWith('system:serviceaccount:kube-system:') &&
      /-(?:controller|autoscaler|operator)$/.test(user.slice('system:serviceaccount:kube-system:'.length)))
  );
}

export function isAnonymous(user: string, groups: readonly string[]): boolean {
  return ANONYMOUS_USERS.has(user) || groups.some((g) => ANONYMOUS_GROUPS.has(g));
}

/** The repository an image names (`nginx:1.25` → `docker.io/library/nginx`); a reference that is not plain stands for itself. */
function repositoryOf(image: string): string {
  return normalisedRepository(image) ?? image;
}

/** What the `containers:` matcher needs of a workload; `creator` the identity whose write is judged. */
/** The workload as the `containers:` policy judges it, at `at` (the write judged): an entry expired by then approves nothing. */
function forApproval(
  w: WorkloadState,
  creator: string | undefined,
  at: number,
): Parameters<typeof containerApprovalOf>[1] {
  const creators =
    creator !== undefined
      ? [creator]
      : [...new Set(w.writes.filter((x) => (x.status ?? 200) < 400).map((x) => x.user))];
  return {
    namespace: w.namespace,
    images: [...w.images],
    digests: [...w.digests],
    creators,
    labels: w.labels ?? {},
    at,
  };
}

/** Images are kept as written, once per repository and tag (`nginx:1.25` and `docker.io/library/nginx:1.25` are one). */
function addImage(w: WorkloadState, image: string): void {
  const key = imageKey(image);
  for (const have of w.images) if (imageKey(have) === key) return;
  add(w.images, image);
}

function imageKey(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const tag = colon > slash ? ref.slice(colon + 1) : 'latest';
  return `${repositoryOf(image)}:${tag}`;
}

function digestOf(image: string): string | undefined {
  const m = /@(sha256:[0-9a-f]{64})$/i.exec(image);
  return m ? m[1].toLowerCase() : undefined;
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48 ? `${Math.round(h / 24)} days` : `${Math.round(h * 10) / 10} h`;
}

export class WorkloadTable {
  private readonly workloads = new Map<string, WorkloadState>();
  /** cluster|namespace|pod → workload key; cluster|container id → workload key. */
  private readonly podOwner = new Map<string, string>();
  private readonly containerOwner = new Map<string, string>();
  /** pod or container address → workload key (not for host-network pods). */
  private readonly ipOwner = new Map<string, string>();
  /** cluster|namespace|user → writes before; cluster → first audit time; cluster|repository → first time seen running. */
  private readonly creatorWrites = new Map<string, number>();
  private readonly auditSince = new Map<string, number>();
  /** cluster|user → times of its recent creates (creation bursts). */
  private readonly recentCreates = new Map<string, number[]>();
  private readonly repoSince = new Map<string, number>();
  /** cluster|namespace → telemetry seen there (coverage, gaps). */
  private readonly namespaceTelemetry = new Map<string, Set<WorkloadTelemetry>>();
  private readonly defaultCluster: string;
  private touch = 0;
  /** Keys of workloads whose open evidence changed since the last live tick. */
  readonly changed = new Set<string>();

  constructor(
    private readonly policy: ContainerPolicy | undefined,
    private readonly hostCores: Record<string, number>,
    /** Where a CPU or GPU sample older than its container's newest is counted (the engine's run summary). */
    private readonly noteLate?: LateSampleNote,
  ) {
    this.defaultCluster = policy?.cluster ?? 'cluster';
  }

  /** Every workload tracked (for coverage), in key order. */
  states(): WorkloadState[] {
    return [...this.workloads.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  telemetryOf(cluster: string, namespace: string): ReadonlySet<WorkloadTelemetry> {
    return this.namespaceTelemetry.get(`${cluster}|${namespace}`) ?? new Set();
  }

  /** Cluster|namespace pairs seen, with their telemetry (coverage per cluster/namespace). */
  namespaces(): Array<{ cluster: string; namespace: string; telemetry: ReadonlySet<WorkloadTelemetry> }> {
    return [...this.namespaceTelemetry.entries()]
      .map(([k, telemetry]) => {
        const i = k.indexOf('|');
        return { cluster: k.slice(0, i), namespace: k.slice(i + 1), telemetry };
      })
      .sort((a, b) =>
        a.cluster !== b.cluster
          ? a.cluster < b.cluster
            ? -1
            : 1
          : a.namespace < b.namespace
            ? -1
            : a.namespace > b.namespace
              ? 1
              : 0,
      );
  }

  private clusterOf(event: CoalEvent, ref: WorkloadRef): string {
    if (ref.runtime === 'docker') return event.host?.name ?? this.defaultCluster;
    return event.orchestrator?.cluster?.name ?? this.defaultCluster;
  }

  /**
   * The workload an event belongs to (learned owners first), its facts and CPU updated, and any
   * authorization or resource evidence it makes pushed to `out`. Undefined: the event names none.
   */
  observe(event: CoalEvent, t: Thresholds, out: Signal[]): WorkloadState | undefined {
    const ref = workloadRefOf(event);
    if (!ref) return this.byAddress(event);
    const cluster = this.clusterOf(event, ref);
    let key = workloadKey(cluster, ref.namespace, ref.name);
    // a learned owner beats a guess from a pod name or a bare container
    const byContainer = ref.containerId ? this.containerOwner.get(`${cluster}|${shortId(ref.containerId)}`) : undefined;
    const byPod = ref.pod ? this.podOwner.get(`${cluster}|${ref.namespace}|${ref.pod}`) : undefined;
    if ((ref.guessed || ref.runtime === 'docker') && (byPod ?? byContainer)) key = (byPod ?? byContainer) as string;
    else if (!ref.guessed && ref.kind !== 'Pod') {
      if (ref.pod) this.learn(this.podOwner, `${cluster}|${ref.namespace}|${ref.pod}`, key);
      if (ref.containerId) this.learn(this.containerOwner, `${cluster}|${shortId(ref.containerId)}`, key);
    } else if (ref.pod && ref.kind === 'Pod' && byPod) key = byPod;
    const w = this.stateOf(key, cluster, ref, event.coalmine.ts);
    if (ref.kind && ref.kind !== 'Pod' && (!w.kind || w.kind === 'Pod' || ref.guessed === false)) w.kind = ref.kind;
    const ts = event.coalmine.ts;
    const state = event.event.kind === 'state';
    if (!state && ts < w.existsSinceMs) w.existsSinceMs = ts;
    add(w.pods, ref.pod);
    if (ref.containerId) add(w.containerIds, shortId(ref.containerId));
    add(w.containerNames, ref.containerName);
    const node = event.host?.name;
    const spec = event.coalmine.workload;
    // the audit log's host is the control plane and an inventory object's may be the collector: nodes come from the spec there
    const format = event.coalmine.format;
    if (node && format !== 'k8s-audit' && format !== 'k8s-inventory') add(w.nodes, node);
    if (spec?.node) add(w.nodes, spec.node);
    const image = event.container?.image;
    // a spec names its images as written; other events only through container.image
    if (image?.name && !spec?.containers?.length) addImage(w, image.tag ? `${image.name}:${image.tag}` : image.name);
    for (const h of image?.hash?.all ?? []) add(w.digests, h);
    const telemetry = this.telemetrySet(cluster, ref.namespace);
    const action = event.event.action;
    if (action === 'workload-change') this.noteTelemetry(w, telemetry, 'audit');
    else if (action === 'container-seen') this.noteTelemetry(w, telemetry, state ? 'inventory' : 'runtime');
    else if (action === 'exec' || action === 'process-seen' || action === 'exit')
      this.noteTelemetry(w, telemetry, 'process');
    else if (action === 'connect' || action === 'dns-query') this.noteTelemetry(w, telemetry, 'network');
    if (spec) this.applySpec(w, spec, ts, state, cluster);
    if (action === 'workload-change' && spec) this.judgeWrite(event, w, cluster, out);
    if (event.metrics && action === 'metric') {
      this.observeCpu(event, w, ref, t, telemetry, out);
      this.observeGpu(event, w, ref, t, telemetry, out);
    } else if (event.metrics?.cpu_limit_cores !== undefined) {
      this.noteTelemetry(w, telemetry, 'limits');
      const c = this.cpuOf(w, ref);
      c.limitCores = event.metrics.cpu_limit_cores;
    }
    w.lastTouched = ++this.touch;
    return w;
  }

  /**
   * A flow with no process (Zeek, Suricata, pcap, flow logs) from a pod's own address is that pod's
   * workload's traffic. Host-network pods share their node's address and are never learned.
   */
  private byAddress(event: CoalEvent): WorkloadState | undefined {
    const action = event.event.action;
    if ((action !== 'connect' && action !== 'dns-query') || event.process?.pid !== undefined) return undefined;
    const ip = event.source?.ip;
    const key = ip ? this.ipOwner.get(ip) : undefined;
    const w = key ? this.workloads.get(key) : undefined;
    if (!w) return undefined;
    this.noteTelemetry(w, this.telemetrySet(w.cluster, w.namespace), 'network');
    w.lastTouched = ++this.touch;
    return w;
  }

  private learn<V>(map: Map<string, V>, k: string, v: V): void {
    if (map.size >= MAX_HISTORY && !map.has(k)) map.delete(map.keys().next().value as string);
    map.set(k, v);
  }

  private telemetrySet(cluster: string, namespace: string): Set<WorkloadTelemetry> {
    const k = `${cluster}|${namespace}`;
    let s = this.namespaceTelemetry.get(k);
    if (!s) {
      s = new Set();
      if (this.namespaceTelemetry.size < MAX_WORKLOADS) this.namespaceTelemetry.set(k, s);
    }
    return s;
  }

  private noteTelemetry(w: WorkloadState, ns: Set<WorkloadTelemetry>, kind: WorkloadTelemetry): void {
    w.telemetry.add(kind);
    ns.add(kind);
  }

  private stateOf(key: string, cluster: string, ref: WorkloadRef, ts: number): WorkloadState {
    let w = this.workloads.get(key);
    if (w) return w;
    w = {
      key,
      cluster,
      namespace: ref.namespace,
      name: ref.name,
      kind: ref.kind,
      runtime: ref.runtime,
      existsSinceMs: ts,
      pods: new Set(),
      containerIds: new Set(),
      containerNames: new Set(),
      nodes: new Set(),
      images: new Set(),
      digests: new Set(),
      writes: [],
      denied: 0,
      execCommands: [],
      telemetry: new Set(),
      cpu: new Map(),
      cluster_: undefined,
      lastTouched: ++this.touch,
    };
    if (this.workloads.size >= MAX_WORKLOADS) this.evictOne();
    this.workloads.set(key, w);
    return w;
  }

  private evictOne(): void {
    let oldest: WorkloadState | undefined;
    for (const w of this.workloads.values()) {
      if (w.cluster_) continue;
      if (!oldest || w.lastTouched < oldest.lastTouched) oldest = w;
    }
    if (oldest) this.workloads.delete(oldest.key);
  }

  private applySpec(
    w: WorkloadState,
    spec: NonNullable<CoalEvent['coalmine']['workload']>,
    ts: number,
    state: boolean,
    cluster: string,
  ): void {
    if (spec.createdMs !== undefined && (w.createdMs === undefined || spec.createdMs < w.createdMs))
      w.createdMs = spec.createdMs;
    if (spec.createdMs !== undefined && spec.createdMs < w.existsSinceMs) w.existsSinceMs = spec.createdMs;
    if (spec.replicas !== undefined && spec.verb !== 'scale') w.replicas = spec.replicas;
    if (spec.serviceAccount) w.serviceAccount = spec.serviceAccount;
    if (spec.labels && !w.labels) w.labels = spec.labels;
    if (spec.node) add(w.nodes, spec.node);
    if (!spec.hostNetwork) for (const ip of spec.podIPs ?? []) this.learn(this.ipOwner, ip, w.key);
    if (spec.kind === 'Pod' && spec.name && spec.verb !== 'exec' && spec.verb !== 'attach') add(w.pods, spec.name);
    for (const c of spec.containers ?? []) {
      if (c.image) {
        addImage(w, c.image);
        const d = digestOf(c.image);
        if (d) add(w.digests, d);
        // an image is established in the cluster from when it was first seen running or written
        const repoKey = `${cluster}|${repositoryOf(c.image)}`;
        const since = state ? (spec.createdMs ?? ts) : ts;
        const before = this.repoSince.get(repoKey);
        if (before === undefined || since < before) this.learn(this.repoSince, repoKey, since);
      }
      add(w.containerNames, c.name);
      if (c.cpuLimitCores !== undefined && c.name) {
        const cpu = this.cpuOf(w, { containerName: c.name });
        cpu.limitCores ??= c.cpuLimitCores;
      }
    }
  }

  private repoFirstSeen(cluster: string, image: string): number | undefined {
    return this.repoSince.get(`${cluster}|${repositoryOf(image)}`);
  }

  /** An API write: who, from where, allowed or not, and whether anything authorizes it. */
  private judgeWrite(event: CoalEvent, w: WorkloadState, cluster: string, out: Signal[]): void {
    const spec = event.coalmine.workload!;
    const user = event.user?.name ?? '(unknown user)';
    const groups = event.user?.roles ?? [];
    const ts = event.coalmine.ts;
    const status = spec.status;
    const denied = event.event.outcome === 'failure' || (status !== undefined && status >= 400);
    const write: WorkloadWrite = {
      user,
      groups: groups.slice(0, 8),
      sourceIps: event.source?.ip ? [event.source.ip] : [],
      userAgent: event.user_agent?.original,
      verb: spec.verb,
      status,
      ts,
      ref: event.coalmine.ref,
    };
    if (!this.auditSince.has(cluster)) this.learn(this.auditSince, cluster, ts);
    const historyMs = ts - (this.auditSince.get(cluster) ?? ts);
    const controller = isControllerIdentity(user);
    const anonymous = isAnonymous(user, groups);
    const creatorKey = `${cluster}|${w.namespace}|${user}`;
    const before = this.creatorWrites.get(creatorKey) ?? 0;
    const isWrite = WRITE_VERBS.has(spec.verb);
    const isExec = spec.verb === 'exec' || spec.verb === 'attach';
    if (!controller && (isWrite || isExec || denied)) {
      if (w.writes.length < MAX_WRITES) w.writes.push(write);
    }
    if (isExec && spec.execCommand) {
      const cmd = clip(spec.execCommand.join(' '), 256);
      if (w.execCommands.length < 8 && !w.execCommands.includes(cmd)) w.execCommands.push(cmd);
    }
    if (denied) w.denied++;
    if (!denied && isWrite && !controller) this.learn(this.creatorWrites, creatorKey, before + 1);
    if (controller && !anonymous) return;
    const what = `${spec.verb} ${spec.kind}${spec.name ? ` ${spec.name}` : ''} in namespace ${w.namespace}`;
    const by = `${user}${event.source?.ip ? ` from ${event.source.ip}` : ''}${write.userAgent ? ` (${clip(write.userAgent, 80)})` : ''}`;
    const emit = (kind: Signal['kind'], strength: Strength, why: string, rule: string) =>
      out.push({
        kind,
        class: 'authorization',
        strength,
        entity: w.key,
        host: cluster,
        ts,
        ref: event.coalmine.ref,
        by: `engine:workload-${rule}`,
        explanation: inert(clip(`${what} by ${by}: ${why}`, 400)),
      });
    if (anonymous) {
      emit(
        'unauthorized-workload',
        'strong',
        `an unauthenticated identity${denied ? ` (denied, code ${status})` : ''} — anonymous access to the API server is enabled`,
        'anonymous',
      );
      w.authorizationNote = `written by an unauthenticated identity (${user}); no policy or baseline authorizes that`;
      return;
    }
    if (denied) {
      if (isWrite || isExec)
        emit(
          'unauthorized-workload',
          'medium',
          `denied by the API server (code ${status ?? '?'}): an identity trying what it may not do`,
          'denied',
        );
      return;
    }
    if (isExec) {
      const execVerdict = containerApprovalOf(this.policy, forApproval(w, user, ts));
      const approvedExec = execVerdict?.approved ? execVerdict.reason : undefined;
      emit(
        'container-exec',
        approvedExec || before >= ROUTINE_WRITES ? 'weak' : 'medium',
        `a command run inside the running container${spec.execCommand ? `: ${clip(spec.execCommand.join(' '), 160)}` : ''}${approvedExec ? ` (identity approved by ${approvedExec})` : before >= ROUTINE_WRITES ? ' (by an identity that routinely writes here)' : ''}`,
        'exec',
      );
      return;
    }
    if (!isWrite) return;
    if (spec.verb === 'scale' && spec.replicas !== undefined) {
      const known = w.replicas ?? 1;
      if (spec.replicas >= BURST_REPLICAS && spec.replicas >= known * BURST_FACTOR)
        emit(
          'workload-burst',
          'medium',
          `scaled from ${known} to ${spec.replicas} replicas by an identity that is not an autoscaler or controller`,
          'burst',
        );
      w.replicas = spec.replicas;
    }
    const verdict = containerApprovalOf(this.policy, forApproval(w, user, ts));
    if (verdict?.approved) {
      w.authorizedBy = verdict.reason;
      w.authorizationNote = `approved by ${verdict.reason}`;
      return;
    }
    // an approval that lapsed before this write is named, not taken for none
    const expired = verdict?.approved === false ? verdict.expired : undefined;
    if (spec.verb !== 'create') return;
    if (spec.kind !== 'Pod' || !w.kind || w.kind === 'Pod') this.creationBurst(cluster, user, ts, before, emit);
    // baselines: the creator's writes in this namespace before, and whether each image's repository ran here before
    const newRepos = [...w.images].filter((i) => {
      const first = this.repoFirstSeen(cluster, i);
      return first === undefined || first >= ts - 1000;
    });
    const history = hours(historyMs);
    const privileged =
      spec.hostPID || spec.hostNetwork || spec.containers?.some((c) => c.privileged) || spec.hostPaths?.includes('/');
    if (before >= ROUTINE_WRITES) {
      w.authorizedBy ??= `routine creator ${user} (${before} earlier writes in ${w.namespace} over ${history} of audit history)`;
      w.authorizationNote = `created by ${w.authorizedBy}${expired ? `; its approval lapsed: ${expired}` : ''}`;
      return;
    }
    if (this.policy) {
      emit(
        'unauthorized-workload',
        'medium',
        expired
          ? `no containers: entry in force approves it: ${expired}`
          : `no containers: entry (${this.policy.ref}) approves its images (${[...w.images].slice(0, 3).join(', ') || 'none named'}), namespace, creator or labels`,
        'policy',
      );
      w.authorizationNote = `not approved by the containers: policy (${this.policy.ref})${expired ? `: ${expired}` : ''}`;
      return;
    }
    const novelties: string[] = [];
    if (before === 0) novelties.push(`first write by ${user} in ${w.namespace}`);
    if (newRepos.length > 0)
      novelties.push(`image repository first seen in the cluster: ${newRepos.slice(0, 3).join(', ')}`);
    if (novelties.length === 0) return;
    const enough = historyMs >= MIN_HISTORY_MS;
    // "new" alone never alerts: two independent novelties, or one beside a pod asking for the host
    const strength: Strength = enough && (novelties.length >= 2 || privileged) ? 'medium' : 'weak';
    emit(
      'unauthorized-workload',
      strength,
      `${novelties.join('; ')}${privileged ? '; asks for the host (privileged, host namespaces or hostPath /)' : ''} (baseline: ${history} of audit history${enough ? '' : `, under the ${hours(MIN_HISTORY_MS)} a first-seen verdict needs`})`,
      'first-seen',
    );
    w.authorizationNote = `${novelties.join('; ')} (baseline: ${history} of audit history)`;
  }

  /** Many workloads created by one identity in minutes, where it has no routine: the playbook's "rapid creation". */
  private creationBurst(
    cluster: string,
    user: string,
    ts: number,
    routineWrites: number,
    emit: (kind: Signal['kind'], strength: Strength, why: string, rule: string) => void,
  ): void {
    if (routineWrites >= ROUTINE_WRITES * 10) return;
    const key = `${cluster}|${user}`;
    const times = (this.recentCreates.get(key) ?? []).filter((t) => t > ts - CREATE_BURST_MS);
    times.push(ts);
    this.learn(this.recentCreates, key, times.slice(-CREATE_BURST * 2));
    if (times.length >= CREATE_BURST)
      emit(
        'workload-burst',
        'medium',
        `${times.length} workloads created by ${user} within ${Math.round(CREATE_BURST_MS / 60_000)} minutes`,
        'create-burst',
      );
  }

  private cpuOf(w: WorkloadState, ref: Pick<WorkloadRef, 'containerName' | 'containerId' | 'pod'>): ContainerCpu {
    const label = `${ref.pod ? `${ref.pod}/` : ''}${ref.containerName ?? (ref.containerId ? shortId(ref.containerId) : 'container')}`;
    let c = w.cpu.get(label);
    if (!c) {
      // a limit read from the spec is keyed by container name alone: carry it to the pod's container
      const bySpec = ref.containerName ? w.cpu.get(ref.containerName) : undefined;
      c = { label, emitted: false, peakCores: 0, coreMs: 0, highMs: 0, limitCores: bySpec?.limitCores };
      if (w.cpu.size < MAX_SET) w.cpu.set(label, c);
    }
    return c;
  }

  /** A container CPU sample: cores used against its limit (or the node's cores); held high for the sustain time → evidence. */
  private observeCpu(
    event: CoalEvent,
    w: WorkloadState,
    ref: WorkloadRef,
    t: Thresholds,
    ns: Set<WorkloadTelemetry>,
    out: Signal[],
  ): void {
    const m = event.metrics!;
    // a sample without CPU (a GPU exporter's, scraped at its own moments) must not move the CPU clock:
    // it would shorten the next interval and inflate the cores computed over it
    if (m.cpu_pct === undefined && m.cpu_time_ms === undefined && m.cpu_limit_cores === undefined) return;
    const ts = event.coalmine.ts;
    const c = this.cpuOf(w, ref);
    if (c.lastTs !== undefined && ts < c.lastTs && (m.cpu_pct !== undefined || m.cpu_time_ms !== undefined)) {
      // older than a sample already counted (another file's, a live stream's straggler): taken in, it would
      // move the clock back and make the next interval's rate from the wrong counter
      this.noteLate?.(event, 'CPU', 'container');
      return;
    }
    if (m.cpu_limit_cores !== undefined) {
      c.limitCores = m.cpu_limit_cores;
      this.noteTelemetry(w, ns, 'limits');
    } else if (c.limitCores !== undefined) this.noteTelemetry(w, ns, 'limits');
    let cores: number | undefined;
    if (m.cpu_time_ms !== undefined) {
      if (c.lastCpuTimeMs !== undefined && c.lastTs !== undefined && ts > c.lastTs && m.cpu_time_ms >= c.lastCpuTimeMs)
        cores = (m.cpu_time_ms - c.lastCpuTimeMs) / (ts - c.lastTs);
      c.lastCpuTimeMs = m.cpu_time_ms;
    } else if (m.cpu_pct !== undefined) cores = m.cpu_pct / 100;
    const prev = c.lastTs;
    c.lastTs = ts;
    if (cores === undefined || !Number.isFinite(cores) || cores < 0) return;
    this.noteTelemetry(w, ns, 'cpu');
    if (prev !== undefined && ts > prev && ts - prev <= MAX_SAMPLE_GAP_MS) c.coreMs += cores * (ts - prev);
    if (cores > c.peakCores) c.peakCores = cores;
    const node = [...w.nodes][0];
    const nodeCores = node ? this.hostCores[node] : undefined;
    const bar =
      c.limitCores !== undefined
        ? c.limitCores * LIMIT_SHARE
        : nodeCores !== undefined
          ? nodeCores * 0.8
          : t.processCpuPct / 100;
    const against =
      c.limitCores !== undefined
        ? `its ${c.limitCores}-core limit`
        : nodeCores !== undefined
          ? `node ${node}'s ${nodeCores} cores (no limit known)`
          : `one core (no limit or node core count known)`;
    const high = cores >= bar;
    if (high && prev !== undefined && ts > prev && ts - prev <= MAX_SAMPLE_GAP_MS) c.highMs += ts - prev;
    if (high || c.series) {
      c.series ??= new CpuSeries();
      c.series.push(ts, cores * 100);
    }
    if (!high || (prev !== undefined && ts - prev > MAX_SAMPLE_GAP_MS)) {
      if (!high) c.highSince = undefined;
      else c.highSince = ts;
      if (!high) c.emitted = false;
      return;
    }
    c.highSince ??= prev ?? ts;
    if (c.emitted || ts - c.highSince < t.sustainMs) return;
    c.emitted = true;
    out.push({
      kind: 'sustained-cpu',
      class: 'resource',
      strength: c.limitCores !== undefined || nodeCores !== undefined ? 'medium' : 'weak',
      entity: w.key,
      host: node ?? w.cluster,
      ts,
      ref: event.coalmine.ref,
      by: 'engine:container-cpu',
      explanation: inert(
        clip(
          `container ${c.label} used ${round2(cores)} cores, at or above ${Math.round(LIMIT_SHARE * 100)}% of ${against}, without a break from ${isoFromMs(c.highSince)} to ${isoFromMs(ts)} (the sustain time; the finding's CPU facts say how long it went on)`,
          400,
        ),
      ),
    });
  }

  /**
   * A container GPU sample (dcgm-exporter's pod/container labels): the GPU run rule of hosts
   * (engine/resource-runs.ts), medium only when the container's GPU was mostly idle before the run; a
   * pod that is busy from its start is weak (a training job looks the same): its image, authorization
   * and reach make the finding.
   */
  private observeGpu(
    event: CoalEvent,
    w: WorkloadState,
    ref: WorkloadRef,
    t: Thresholds,
    ns: Set<WorkloadTelemetry>,
    out: Signal[],
  ): void {
    const pct = gpuPctOf(event);
    if (pct === undefined) return;
    const c = this.cpuOf(w, ref);
    this.noteTelemetry(w, ns, 'gpu');
    c.gpu ??= newGpuRun();
    const ts = event.coalmine.ts;
    // percent of one GPU summed over the container's GPUs, as a process's (EventMetrics.gpu_pct)
    const step = gpuSample(c.gpu, ts, pct, undefined, t);
    if (step === 'late') this.noteLate?.(event, 'GPU', 'container');
    if (step !== 'sustained') return;
    const spec = sustainedGpu(`container ${c.label}`, 'a GPU (summed over its GPUs)', c.gpu, t, ts);
    out.push({
      ...spec,
      class: 'resource',
      entity: w.key,
      host: [...w.nodes][0] ?? w.cluster,
      ts,
      ref: event.coalmine.ref,
      by: 'engine:container-gpu',
      explanation: inert(clip(spec.explanation, 400)),
    });
  }

  /** Evidence for the workload's open unit (opened on first evidence). */
  addEvidence(w: WorkloadState, signal: Signal, proc: ProcInfo | undefined, live: boolean): void {
    if (!w.cluster_) w.cluster_ = newCluster(w.key, w.cluster, false, signal.ts);
    const s = proc || signal.entity === w.key ? signal : { ...signal, entity: w.key };
    addEvidence(w.cluster_, s);
    if (proc) addProcess(w.cluster_, proc);
    if (live) this.changed.add(w.key);
  }

  /** Workloads with open evidence whose last evidence is before `before` (all when undefined). */
  closeable(before: number | undefined): WorkloadState[] {
    const out: WorkloadState[] = [];
    for (const w of this.workloads.values())
      if (w.cluster_ && (before === undefined || w.cluster_.lastTs < before)) out.push(w);
    return out.sort((a, b) => a.cluster_!.firstTs - b.cluster_!.firstTs || (a.key < b.key ? -1 : 1));
  }

  open(): WorkloadState[] {
    return [...this.workloads.values()].filter((w) => w.cluster_ !== undefined);
  }

  viewOf(w: WorkloadState): WorkloadView {
    const cluster = w.cluster_!;
    const evidence = [...cluster.evidence.values()].map((e) => e.signal);
    evidence.sort(
      (a, b) =>
        a.ts - b.ts ||
        (a.ref.file < b.ref.file ? -1 : a.ref.file > b.ref.file ? 1 : 0) ||
        (a.ref.line ?? 0) - (b.ref.line ?? 0),
    );
    const processes = [...cluster.processes.values()].sort((a, b) => a.firstTs - b.firstTs || (a.key < b.key ? -1 : 1));
    return {
      workload: w,
      cluster,
      evidence,
      processes,
      namespaceTelemetry: this.telemetryOf(w.cluster, w.namespace),
      policy: this.policy,
    };
  }

  /** The unit is graded: the workload stays (its facts are the next episode's baseline), its evidence goes. */
  close(w: WorkloadState): void {
    w.cluster_ = undefined;
    this.changed.delete(w.key);
  }

  /**
   * The `containers:` verdict on the workload as it stands (no creator judged) at `at`, when `event`
   * happened (its creation, its first evidence): approved, approved but for an entry expired by then, or undefined.
   */
  static approval(policy: ContainerPolicy, w: WorkloadState, at: number, event: string): ContainerApproval | undefined {
    return containerApprovalOf(policy, { ...forApproval(w, undefined, at), event });
  }

  /** Whether the workload existed long enough before its first evidence to count as established. */
  static established(w: WorkloadState, firstEvidenceTs: number): boolean {
    return firstEvidenceTs - w.existsSinceMs >= ESTABLISHED_MS;
  }

  /** CPU of every container: core-ms, peak, limit, series (for usage and facts). */
  static cpuFacts(w: WorkloadState): {
    /** Containers with CPU samples (spec entries that only carry a limit are not counted). */
    sampled: number;
    highMs: number;
    coreMs: number;
    peakCores: number;
    limitCores?: number;
    series: Array<{ label: string; points: Array<[number, number]> }>;
    /** GPU-milliseconds at or above the GPU bar, and how many containers had GPU samples. */
    gpuMs: number;
    gpuSampled: number;
  } {
    let coreMs = 0;
    let gpuMs = 0;
    let gpuSampled = 0;
    let peakCores = 0;
    let sampled = 0;
    let highMs = 0;
    let limitCores: number | undefined;
    const series: Array<{ label: string; points: Array<[number, number]> }> = [];
    for (const c of w.cpu.values()) {
      if (c.lastTs !== undefined) sampled++;
      if (c.highMs > highMs) highMs = c.highMs;
      coreMs += c.coreMs;
      if (c.peakCores > peakCores) peakCores = c.peakCores;
      if (c.limitCores !== undefined) limitCores = Math.max(limitCores ?? 0, c.limitCores);
      if (c.series && series.length < 8) series.push({ label: c.label, points: c.series.points() });
      if (c.gpu) {
        gpuSampled++;
        gpuMs += c.gpu.highGpuMs;
      }
    }
    return { sampled, highMs, coreMs, peakCores, limitCores, series, gpuMs, gpuSampled };
  }
}

/** The 12-hex short form Docker prints; runtime prefixes (`containerd://`) dropped. */
export function shortId(id: string): string {
  const bare = id.replace(/^[a-z-]+:\/\//, '');
  return bare.slice(0, 12);
}
