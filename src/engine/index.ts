/**
 * The engine: event time, per-entity state and correlation units. Events are ordered by a reorder
 * buffer (bounded lateness), enriched from the process table, classified into signals, gathered into
 * clusters, and a cluster is handed to `onClose` once the watermark passes its last evidence plus
 * the window. No I/O, no wall clock: `hunt`, `watch` and `serve` all drive this same class.
 */
import { UNKNOWN_HOST } from '../model/entity.js';
import { type CoalEvent, isoFromMs } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import type { Policy, Thresholds } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import type { Intel } from '../signals/intel/types.js';
import { isEntryCommand } from '../signals/persistence.js';
import { clip, inert } from '../util/hostile.js';
import { anchorOf, isWrapper } from './anchor.js';
import { addEvidence, addProcess, type Cluster, commandKey, newCluster, pathKey } from './clusters.js';
import { CpuSeries } from './cpu-series.js';
import { HostByIp } from './host-by-ip.js';
import { HostNames } from './host-names.js';
import { HostState } from './host-state.js';
import { ProcessIdentity } from './identity.js';
import { type HostCloudLink, InstanceTable, type LaunchView } from './instances.js';
import { MiningPortContacts } from './mining-port-contact.js';
import { basename, hostEntity, ProcessTable, type ProcInfo, programName } from './process-table.js';
import { type FileOrigin, FileProvenance, resolvePath, scriptRunBy, WrittenFiles } from './provenance.js';
import { Population, RelayWatch } from './relay.js';
import { ReorderBuffer } from './reorder.js';
import { observeHostResources, observeProcessResources } from './resource.js';
import type { LateSample, LateSampleNote } from './resource-runs.js';
import type { SnapshotClass } from './snapshot.js';
import { WorkloadTable, type WorkloadView } from './workloads.js';

export type { Cluster } from './clusters.js';
export type { HostCloudLink, InstanceState, LaunchState, LaunchView } from './instances.js';
export type { WorkloadState, WorkloadView } from './workloads.js';

export interface ClusterView {
  cluster: Cluster;
  host: HostState;
  /** Cluster evidence plus standing facts tied to it (persistence that launches its paths), in time order. */
  evidence: Signal[];
  processes: ProcInfo[];
  /** The cloud instance the host runs on and who launched it, when its telemetry was tied to one. */
  cloud?: HostCloudLink;
  /** Evidence seen more than once (kept once, at its first record): how often, and when last. */
  repeats?: ReadonlyMap<Signal, EvidenceRepeat>;
}

export interface EvidenceRepeat {
  count: number;
  lastTs: number;
}

export interface EngineOptions {
  policy: Policy;
  /** The intel the classifiers use, for what the engine judges itself (the pools a launch's startup script names). */
  intel?: Intel;
  /** Stateless classification of one event (classifiers + rules). */
  classify: (event: CoalEvent, out: Signal[]) => void;
  /** Called with every cluster when it closes, in a deterministic order. */
  onClose: (view: ClusterView) => void;
  /**
   * Live clock only (`tick`): called with every open cluster whose evidence changed since the last
   * tick, so a live sensor can report a finding before its window closes. `hunt` never sets it.
   */
  onUpdate?: (view: ClusterView) => void;
  /** Called with every workload unit (AN0745: evidence of one workload's containers) when it closes. */
  onWorkloadClose?: (view: WorkloadView) => void;
  /** Live clock only: every open workload unit whose evidence changed since the last tick. */
  onWorkloadUpdate?: (view: WorkloadView) => void;
  /** Called with every cloud launch unit (AN0744: evidence of one launch's instances) when it closes. */
  onLaunchClose?: (view: LaunchView) => void;
  /**
   * Thresholds for a host's resource and relay evidence by its platform (`windows`, `linux`,
   * `unknown`), so an analytic's overrides in coalmine.yaml reach the evidence it grades. Default: the
   * policy's global thresholds.
   */
  thresholdsForPlatform?: (platform: string) => Thresholds;
  allowedLatenessMs?: number;
  maxBufferedEvents?: number;
  maxProcesses?: number;
  maxHosts?: number;
}

export interface EngineStats {
  events: number;
  stateEvents: number;
  lateEvents: number;
  /** Events within the allowed lateness that came behind an event already processed (see reorder.ts). */
  unsortedEvents: number;
  /**
   * CPU samples older than a sample already counted for their process or host: they count for no
   * sustained-CPU run and no cost (resource.ts), so a run over them is shorter than the data.
   */
  lateSamples: number;
  /** Events processed before their time because the reorder buffer was full. */
  earlyReleased: number;
  signals: number;
  clustersClosed: number;
  processesEvicted: number;
  hostsEvicted: number;
}

/** Executables in these directories are tools (curl, bash), not programs worth following across pids. */
const SYSTEM_DIRS = [
  '/bin/',
  '/sbin/',
  '/usr/bin/',
  '/usr/sbin/',
  '/usr/libexec/',
  '/usr/lib/',
  '/lib/',
  'c:\\windows\\system32\\',
  'c:\\windows\\syswow64\\',
];
const MAX_LATE_ISSUES = 100;
const SWEEP_EVERY_EVENTS = 4096;

export class Engine {
  readonly stats: EngineStats = {
    events: 0,
    stateEvents: 0,
    lateEvents: 0,
    unsortedEvents: 0,
    lateSamples: 0,
    earlyReleased: 0,
    signals: 0,
    clustersClosed: 0,
    processesEvicted: 0,
    hostsEvicted: 0,
  };
  readonly issues: Issue[] = [];
  private readonly reorder: ReorderBuffer;
  private readonly procs: ProcessTable;
  private readonly identity = new ProcessIdentity();
  private readonly hostByIp: HostByIp;
  /** Every spelling of a host → its display name (host-names.ts), seeded with the policy's names. */
  private readonly hostNames: HostNames;
  /** The policy's core counts by display name, so they apply to every spelling of a policy host. */
  private readonly hostCores: Record<string, number>;
  private readonly relay = new RelayWatch();
  private readonly provenance = new FileProvenance();
  private readonly writtenFiles = new WrittenFiles();
  private readonly miningPorts = new MiningPortContacts();
  private readonly hosts = new Map<string, HostState>();
  private readonly workloads: WorkloadTable;
  private readonly instances: InstanceTable;
  private readonly clusters = new Map<string, Cluster>();
  /** host|executable → cluster key, for flagged programs relaunched under new pids. */
  private readonly flaggedExe = new Map<string, string>();
  private readonly ready: CoalEvent[] = [];
  private readonly signals: Signal[] = [];
  private lastProcessedTs = Number.NEGATIVE_INFINITY;
  /** A kill's victim by pid → its id, bound once (not a closure per event). */
  private readonly guidOf = (host: string, pid: number) => this.identity.guidOf(host, pid);
  private touchSeq = 0;
  private sinceSweep = 0;

  constructor(private readonly options: EngineOptions) {
    this.reorder = new ReorderBuffer(options.allowedLatenessMs ?? 5 * 60 * 1000, options.maxBufferedEvents ?? 100_000);
    this.procs = new ProcessTable(options.maxProcesses ?? 500_000);
    const policy = options.policy;
    this.hostNames = HostNames.ofPolicy(policy, options.maxHosts);
    this.hostCores = Object.create(null) as Record<string, number>;
    for (const [name, cores] of Object.entries(policy.hostCores)) this.hostCores[this.hostNames.seed(name)] ??= cores;
    const inventory = Object.create(null) as Record<string, string>;
    for (const [ip, name] of Object.entries(policy.hostIps ?? {})) inventory[ip] = this.hostNames.seed(name);
    this.hostByIp = new HostByIp(inventory);
    this.workloads = new WorkloadTable(policy.containers, this.hostCores, this.noteLateSample);
    this.instances = new InstanceTable(options.policy.cloud, options.intel, this.noteLateSample);
  }

  /** Every cloud account/region seen with the telemetry it had (coverage). */
  cloudRegions(): ReturnType<InstanceTable['regions']> {
    return this.instances.regions();
  }

  /** Every workload tracked (coverage), in key order; read-only use. */
  workloadStates(): ReturnType<WorkloadTable['states']> {
    return this.workloads.states();
  }

  /** Every cluster/namespace seen with the container telemetry it had (coverage). */
  workloadNamespaces(): ReturnType<WorkloadTable['namespaces']> {
    return this.workloads.namespaces();
  }

  /** Drop the least recently seen host that has no open cluster (its coverage is forgotten, and counted). */
  private evictHost(): void {
    const busy = new Set([...this.clusters.values()].map((c) => c.host));
    for (const name of this.hosts.keys()) {
      if (busy.has(name)) continue;
      this.hosts.delete(name);
      this.stats.hostsEvicted++;
      return;
    }
  }

  /** A standing fact (a cron line on disk): applied at once, outside event time, moving no watermark. */
  pushState(event: CoalEvent): void {
    this.stats.stateEvents++;
    this.process(event);
  }

  push(event: CoalEvent): void {
    this.stats.events++;
    if (event.coalmine.ts < this.reorder.watermark) {
      this.stats.lateEvents++;
      if (this.issues.length < MAX_LATE_ISSUES)
        this.issues.push(
          issue(
            event.coalmine.ref,
            'ENGINE_LATE_EVENT',
            `event at ${event['@timestamp']} arrived after the watermark (allowed lateness exceeded); processed out of order`,
            'processing',
          ),
        );
    }
    this.reorder.push(event, this.ready);
    this.stats.unsortedEvents = this.reorder.unsorted;
    this.stats.earlyReleased = this.reorder.earlyReleased;
    this.runReady();
  }

  /** End of input: process everything buffered and close every cluster. */
  end(): void {
    this.reorder.drain(this.ready);
    this.runReady();
    this.closeWhere(() => true);
    this.closeWorkloads(undefined);
    this.stats.processesEvicted = this.procs.evicted;
  }

  /** Grade and drop the evidence of workload units whose last evidence is before `before` (all: undefined). */
  private closeWorkloads(before: number | undefined): void {
    for (const w of this.workloads.closeable(before)) {
      const view = this.workloads.viewOf(w);
      this.workloads.close(w);
      this.stats.clustersClosed++;
      this.options.onWorkloadClose?.(view);
    }
    for (const l of this.instances.closeable(before)) {
      const view = this.instances.viewOf(l);
      this.instances.close(l);
      this.stats.clustersClosed++;
      this.options.onLaunchClose?.(view);
    }
  }

  get trackedProcesses(): number {
    return this.procs.size;
  }

  get trackedHosts(): number {
    return this.hosts.size;
  }

  /** Every host still tracked (evicted ones are counted in stats.hostsEvicted), in name order; read-only use. */
  hostStates(): readonly HostState[] {
    return [...this.hosts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get openClusters(): number {
    return this.clusters.size;
  }

  /** The open clusters of one host, at most `limit`, in the order they opened; read-only use (serve's hosts view). */
  openClustersOf(host: string, limit: number): Cluster[] {
    const out: Cluster[] = [];
    for (const c of this.clusters.values()) {
      if (out.length >= limit) break;
      if (c.host === host) out.push(c);
    }
    return out;
  }

  private runReady(): void {
    const ready = this.ready;
    for (let i = 0; i < ready.length; i++) this.process(ready[i]);
    // emptied by pop, not `length = 0`: truncating to 0 drops the backing store, a new one per event
    while (ready.length > 0) ready.pop();
    if (++this.sinceSweep >= SWEEP_EVERY_EVENTS) {
      this.sinceSweep = 0;
      this.sweep();
    }
  }

  private hostOf(event: CoalEvent): HostState {
    const name = event.host?.name ?? UNKNOWN_HOST;
    let host = this.hosts.get(name);
    if (!host) {
      host = new HostState(name, this.hostCores[name]);
      this.hosts.set(name, host);
      if (this.hosts.size > (this.options.maxHosts ?? 100_000)) this.evictHost();
    } else if (this.hosts.size > 1 && host.lastTouchedSeq < this.touchSeq - 1024) {
      // keep Map order close to touch order without paying a delete/set on every event
      this.hosts.delete(name);
      this.hosts.set(name, host);
    }
    host.lastTouchedSeq = ++this.touchSeq;
    const platform = event.host?.os?.platform;
    if (platform && !host.platform) host.platform = platform;
    return host;
  }

  private process(event: CoalEvent): void {
    const ts = event.coalmine.ts;
    if (event.event.kind !== 'state' && ts > this.lastProcessedTs) this.lastProcessedTs = ts;
    // one spelling per host from here on: every structure, finding and report below names the display name
    const raw = event.host?.name;
    if (typeof raw === 'string' && raw !== '') {
      const display = this.hostNames.displayOf(raw);
      if (display !== raw) event.host = { ...event.host, name: display };
    }
    this.hostByIp.resolve(event);
    this.hostByIp.learn(event);
    const host = this.hostOf(event);
    const action = event.event.action;
    this.identity.resolve(event);
    // looked up once, by host and pid (or id): no key string per event
    const known = this.procs.find(event);
    this.procs.enrich(event, known, this.guidOf);
    const named = !!event.process?.entity_id || event.process?.pid !== undefined;
    const isNew = named && known === undefined;
    const proc = action === 'persistence-entry' ? undefined : this.procs.observe(event, known);
    this.procs.enrichParent(event);
    this.identity.learn(event);
    switch (action) {
      case 'exec':
      case 'process-seen':
        host.see('process', event);
        if (event.process?.command_line) host.see('command-line', event);
        else host.noteNoCommandLine(event);
        break;
      case 'dns-query':
        host.see('dns', event);
        break;
      case 'connect':
      case 'listen':
        host.see('network', event);
        break;
      case 'persistence-entry':
      case 'file-write':
        host.see('persistence', event);
        break;
    }
    const out = this.signals;
    while (out.length > 0) out.pop();
    this.options.classify(event, out);
    if (proc) this.followFiles(event, proc, host, isNew || action === 'exec', out);
    const t = this.thresholdsOf(host);
    // an event inside a container, pod or Kubernetes object: its evidence is its workload's (AN0745)
    const workload = this.workloads.observe(event, t, out);
    // else an event of a cloud instance or launch: its evidence is the launch's (AN0744)
    const launch = workload ? undefined : this.instances.observe(event, t, out);
    if (event.metrics) {
      let late: LateSample | undefined;
      if (proc) late = observeProcessResources(event, proc, host, t, out);
      // a container's sample is not the host's: container CPU and GPU are judged per container (AN0745),
      // not here; a cloud instance's against its own history by the launch (AN0744)
      else if (!event.container?.id && !event.container?.name && !launch)
        late = observeHostResources(event, host, t, out);
      if (late) this.noteLateSample(event, late, proc ? 'process' : 'host');
    }
    if (action === 'connect') this.relay.observe(event, t, out);
    for (const s of out) {
      this.stats.signals++;
      if (workload) this.workloads.addEvidence(workload, s, proc, this.options.onWorkloadUpdate !== undefined);
      else if (launch) this.instances.addEvidence(launch, s, proc, false);
      else this.attach(s, event, proc, host);
    }
  }

  /**
   * A CPU or GPU sample left out of its run for coming after a newer one of its process, host, container
   * or instance: counted, and named while issues are listed. Bound once: the tables call it too.
   */
  private readonly noteLateSample: LateSampleNote = (event, what, of) => {
    this.stats.lateSamples++;
    if (this.stats.lateSamples > MAX_LATE_ISSUES) return;
    this.issues.push(
      issue(
        event.coalmine.ref,
        'ENGINE_LATE_SAMPLE',
        `${what} sample at ${event['@timestamp']} came after a newer sample of its ${of}: not counted for sustained ${what} or its cost`,
        'processing',
      ),
    );
  };

  private attach(signal: Signal, event: CoalEvent, proc: ProcInfo | undefined, host: HostState): void {
    // what an entry will run (a cron line, a task's action, a Run value's data), judged as a command, or
    // what its own text shows (a decoded script it pipes to a shell): the host's evidence only. A later
    // exec of the target joins the entry (below) and shows its own command: joining this too would say the
    // same twice
    if (isEntryCommand(signal)) {
      if (signal.strength !== 'weak') this.addHostLevel(signal, host);
      return;
    }
    // an autostart a process wrote to the registry (a Run value, a service's ImagePath) is an entry too:
    // tied to the program it starts, and the host's when suspicious on its own. It stays the writer's
    // evidence as well (below)
    if (event.event.action === 'registry-set' && signal.class === 'persistence' && signal.persistence) {
      const target = signal.subject?.persistenceTarget;
      if (target) host.addPersistence(target, signal);
      if (signal.strength !== 'weak') this.addHostLevel(signal, host);
    }
    if (event.event.action === 'persistence-entry') {
      const target = signal.subject?.persistenceTarget ?? event.coalmine.persistence?.target;
      if (target) host.addPersistence(target, signal);
      // and by its command, so the process it ran (cron's `sh -c <command>`) claims it even without a path
      const command = event.process?.command_line;
      if (command) host.addPersistence(commandKey(command), signal);
      // a persistence entry that is suspicious on its own is also host-level evidence
      if (signal.strength !== 'weak') this.addHostLevel(signal, host);
      return;
    }
    if (!proc || signal.entity !== proc.key) {
      this.addHostLevel(signal, host);
      return;
    }
    const line = this.procs.lineage(proc.key);
    const cluster = this.clusterFor(proc, line, host, signal);
    addEvidence(cluster, signal);
    if (signal.kind === 'mining-port') {
      const held = this.miningPorts.observe(signal, proc.key, event.coalmine.flow?.durationMs, () =>
        hasMinerEvidence(cluster, proc.key),
      );
      if (held) addEvidence(cluster, held);
    }
    if (this.options.onUpdate) this.changed.add(cluster.key);
    // the line up to the cluster's anchor: ancestors above it are not part of this story
    for (const p of line) {
      addProcess(cluster, p);
      if (p.key === cluster.key) break;
    }
    const exe = proc.executable ? pathKey(proc.executable) : undefined;
    if (signal.class === 'process' && exe && !SYSTEM_DIRS.some((d) => exe.startsWith(d)))
      this.flaggedExe.set(`${host.name}|${exe}`, cluster.key);
  }

  /**
   * Where a process's evidence goes: the cluster its executable was flagged in (a miner relaunched by
   * cron under a new pid), else the nearest cluster on its line that claims it (see anchor.ts).
   */
  private clusterFor(proc: ProcInfo, line: readonly ProcInfo[], host: HostState, signal: Signal): Cluster {
    const flagged = proc.executable ? this.flaggedExe.get(`${host.name}|${pathKey(proc.executable)}`) : undefined;
    const anchor =
      flagged && this.clusters.has(flagged)
        ? { key: flagged, fresh: false }
        : anchorOf(line, this.clusters, signal.class === 'resource');
    let cluster = this.clusters.get(anchor.key);
    if (!cluster) {
      cluster = newCluster(anchor.key, host.name, false, signal.ts);
      this.clusters.set(anchor.key, cluster);
    }
    return cluster;
  }

  /**
   * Files a process writes (its command line's downloads, redirects, copies and chmods; file-write
   * events) are remembered with their writer; a process that runs such a file after being re-parented
   * (double fork, `setsid`, `nohup … &`, a cron or task entry) joins the writer's lineage, and a
   * `dropper` note says so. Only a process at the top of its own lineage (or under wrappers only) is
   * adopted: one with a real parent already has its story.
   */
  private followFiles(event: CoalEvent, proc: ProcInfo, host: HostState, isStart: boolean, out: Signal[]): void {
    const action = event.event.action;
    if (action === 'file-write' && event.file?.path) this.recordWrite(event, proc, host, event.file.path, 'written');
    if (action !== 'exec' && action !== 'process-seen') return;
    if (isStart) this.adoptByFile(event, proc, host, out);
    const command = event.process?.command_line;
    // a snapshot re-reports a running process every sample: read each command line it runs once
    if (command && command !== proc.writesReadFrom) {
      proc.writesReadFrom = command;
      for (const f of this.writtenFiles.of(command)) this.recordWrite(event, proc, host, f.path, f.how, f.url);
    }
  }

  private recordWrite(
    event: CoalEvent,
    proc: ProcInfo,
    host: HostState,
    path: string,
    how: FileOrigin['how'],
    url?: string,
  ): void {
    const full = resolvePath(path, event.process?.working_directory);
    if (!full) return;
    this.provenance.record(host.name, {
      path: full,
      how,
      url,
      writer: proc.key,
      writerPid: proc.pid,
      writerName: proc.name ?? (proc.executable ? basename(proc.executable) : undefined),
      writerRoot: proc.rootKey,
      ts: event.coalmine.ts,
      ref: event.coalmine.ref,
    });
  }

  private adoptByFile(event: CoalEvent, proc: ProcInfo, host: HostState, out: Signal[]): void {
    // nothing written on this host is remembered: nothing it runs can have a writer (most hosts, most execs)
    if (!this.provenance.hasWrites(host.name)) return;
    const ts = event.coalmine.ts;
    const cwd = event.process?.working_directory;
    let line: ProcInfo[] | undefined;
    // what the exec runs (provenance.ts filesRunBy), without an array per exec: its executable, then a script
    const executable = proc.executable;
    const script = scriptRunBy(executable, event.process?.args);
    for (let i = 0; i < 2; i++) {
      const path = i === 0 ? executable : script;
      if (!path) continue;
      const full = resolvePath(path, cwd);
      const origin = full ? this.provenance.originOf(host.name, full, ts) : undefined;
      if (!origin || origin.writer === proc.key) continue;
      // the lineage only once a file it runs has a writer: most execs run nothing anyone wrote
      if (!line) {
        line = this.procs.lineage(proc.key);
        const top = line[line.length - 1];
        if (top.key !== top.rootKey || line.slice(1).some((p) => !isWrapper(p))) return;
      }
      const writer = this.procs.get(origin.writer);
      const writerRoot = writer?.rootKey ?? origin.writerRoot;
      if (writerRoot === proc.rootKey || line.some((p) => p.key === writerRoot)) continue;
      // a download tool's parent (the script that ran curl) is the launcher the miner belongs with
      const parentKey =
        writer?.parentKey && writer.key !== writer.rootKey && isTool(writer) ? writer.parentKey : origin.writer;
      this.procs.adopt(line, parentKey, writerRoot);
      const by = `pid ${origin.writerPid ?? '?'}${origin.writerName ? ` (${origin.writerName})` : ''}`;
      const where =
        origin.ref.line !== undefined ? ` (${origin.ref.file}:${origin.ref.line})` : ` (${origin.ref.file})`;
      const parentPid = event.process?.parent?.pid;
      out.push({
        kind: 'dropper',
        class: 'process',
        strength: 'weak',
        entity: proc.key,
        host: host.name,
        ts,
        ref: event.coalmine.ref,
        by: 'engine:provenance',
        explanation: inert(
          clip(
            `${origin.path} was ${origin.how} by ${by} of this lineage at ${isoFromMs(origin.ts)}${origin.url ? ` from ${origin.url}` : ''}${where}; pid ${proc.pid ?? '?'} runs it${parentPid !== undefined ? ` with parent pid ${parentPid}` : ''}, detached from the process that wrote it`,
            400,
          ),
        ),
        subject: { executable: proc.executable },
      });
      return;
    }
  }

  private addHostLevel(signal: Signal, host: HostState): void {
    const key = hostEntity(host.name);
    let cluster = this.clusters.get(key);
    if (!cluster) {
      cluster = newCluster(key, host.name, true, signal.ts);
      this.clusters.set(key, cluster);
    }
    addEvidence(cluster, signal);
    if (this.options.onUpdate) this.changedHosts.add(host.name);
  }

  /** Live clock: clusters (by key) and hosts (their host-level evidence) changed since the last tick. */
  private readonly changed = new Set<string>();
  private readonly changedHosts = new Set<string>();

  /**
   * The live clock (`watch`): everything pushed so far is processed, clusters the wall clock has
   * carried past their window are closed, idle processes evicted, and every open cluster that changed
   * since the last tick is offered to `onUpdate`. `hunt` never calls it: its clock is event time.
   */
  tick(nowMs: number): void {
    this.reorder.drain(this.ready);
    this.runReady();
    this.closeBefore(nowMs);
    const onWorkloadUpdate = this.options.onWorkloadUpdate;
    if (onWorkloadUpdate) {
      const changed = this.workloads.open().filter((w) => this.workloads.changed.has(w.key));
      this.workloads.changed.clear();
      for (const w of changed) onWorkloadUpdate(this.workloads.viewOf(w));
    }
    const onUpdate = this.options.onUpdate;
    if (!onUpdate) return;
    const offered = [...this.clusters.values()].filter((c) => this.changed.has(c.key) || this.changedHosts.has(c.host));
    this.changed.clear();
    this.changedHosts.clear();
    // process clusters before host-level ones, as on close, so host-level evidence a process explains stays with it
    offered.sort((a, b) => Number(a.isHostLevel) - Number(b.isHostLevel) || a.firstTs - b.firstTs);
    for (const cluster of offered) {
      const host = this.hosts.get(cluster.host);
      if (host) onUpdate(this.viewOf(cluster, host));
    }
  }

  private readonly platformThresholds = new Map<string, Thresholds>();

  private thresholdsOf(host: HostState): Thresholds {
    const pick = this.options.thresholdsForPlatform;
    if (!pick) return this.options.policy.thresholds;
    const platform = host.platform ?? 'unknown';
    // a host's platform is set once: its answer is kept on it, with no map lookup per event
    if (host.thresholds !== undefined && host.thresholdsPlatform === platform) return host.thresholds;
    let t = this.platformThresholds.get(platform);
    if (!t) {
      t = pick(platform);
      // host platforms come from the logs: keep the cache small whatever they say
      if (this.platformThresholds.size < 16) this.platformThresholds.set(platform, t);
    }
    host.thresholds = t;
    host.thresholdsPlatform = platform;
    return t;
  }

  /** Close clusters the watermark has passed; evict idle processes. */
  private sweep(): void {
    this.closeBefore(Math.min(this.reorder.watermark, this.lastProcessedTs));
  }

  /** What either clock does at `now` (event time for hunt, the wall clock for watch): close and evict. */
  private closeBefore(now: number): void {
    const windowMs = this.options.policy.thresholds.windowMs;
    this.closeWhere((c) => c.lastTs + windowMs < now);
    this.closeWorkloads(now - windowMs);
    this.procs.evictIdle(now - 2 * windowMs);
    this.stats.processesEvicted = this.procs.evicted;
  }

  private closeWhere(predicate: (c: Cluster) => boolean): void {
    const closing = [...this.clusters.values()].filter(predicate);
    // process clusters before host-level ones (which add only what processes did not explain), then by time
    closing.sort(
      (a, b) => Number(a.isHostLevel) - Number(b.isHostLevel) || a.firstTs - b.firstTs || (a.key < b.key ? -1 : 1),
    );
    for (const cluster of closing) {
      this.clusters.delete(cluster.key);
      this.stats.clustersClosed++;
      const host = this.hosts.get(cluster.host)!;
      this.options.onClose(this.viewOf(cluster, host));
    }
    for (const [exe, key] of this.flaggedExe) if (!this.clusters.has(key)) this.flaggedExe.delete(exe);
  }

  private viewOf(cluster: Cluster, host: HostState): ClusterView {
    const evidence = [...cluster.evidence.values()].map((e) => e.signal);
    const repeats = new Map<Signal, EvidenceRepeat>();
    const noteRepeat = (item: { signal: Signal; count: number; lastTs: number }) => {
      if (item.count > 1) repeats.set(item.signal, { count: item.count, lastTs: item.lastTs });
    };
    for (const item of cluster.evidence.values()) noteRepeat(item);
    if (!cluster.isHostLevel) {
      const seen = new Set(evidence);
      for (const path of cluster.paths)
        for (const s of host.persistence.get(path) ?? []) {
          if (!seen.has(s)) {
            seen.add(s);
            evidence.push(s);
          }
        }
      // host-level network and resource evidence inside the window belongs to the story too
      const hostCluster = this.clusters.get(hostEntity(host.name));
      const w = this.options.policy.thresholds.windowMs;
      if (hostCluster && evidence.some((s) => s.class === 'process')) {
        const dirs = programDirs(cluster);
        for (const item of hostCluster.evidence.values()) {
          const s = item.signal;
          if (s.ts < cluster.firstTs - w || s.ts > cluster.lastTs + w) continue;
          // a driver or file with no process of its own (Sysmon 6) joins when it sits beside the tree's program
          const beside = s.subject?.executable !== undefined && dirs.has(dirOf(pathKey(s.subject.executable)));
          if (s.class === 'network' || s.class === 'resource' || beside) {
            evidence.push(s);
            noteRepeat(item);
          }
        }
      }
    }
    evidence.sort((a, b) => a.ts - b.ts || refOrder(a, b) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
    const processes = [...cluster.processes.values()].sort((a, b) => a.firstTs - b.firstTs || (a.key < b.key ? -1 : 1));
    const cloud = this.instances.hostLink(host.name);
    const view: ClusterView = { cluster, host, evidence, processes };
    if (cloud) view.cloud = cloud;
    if (repeats.size > 0) view.repeats = repeats;
    return view;
  }
}

/** Whether a cluster holds medium-or-stronger miner evidence about this very process. */
function hasMinerEvidence(cluster: Cluster, process: string): boolean {
  for (const item of cluster.evidence.values()) {
    const s = item.signal;
    if (s.entity === process && s.strength !== 'weak' && (s.kind === 'miner-process' || s.kind === 'miner-tuning'))
      return true;
  }
  return false;
}

/** Tools that fetch, copy or mark a file and exit: what they write belongs to whoever ran them. */
const FILE_TOOLS = new Set([
  'curl',
  'wget',
  'fetch',
  'aria2c',
  'tftp',
  'chmod',
  'cp',
  'mv',
  'install',
  'dd',
  'tee',
  'busybox',
  'certutil.exe',
  'bitsadmin.exe',
]);

function isTool(p: ProcInfo): boolean {
  return FILE_TOOLS.has(programName(p));
}

/** `c:\x\y\` of `c:\x\y\z.exe`, `/a/b/` of `/a/b/c`. */
function dirOf(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/**
 * Directories of the cluster's own programs, specific enough to link by: not a system directory and
 * at least three levels deep (`/tmp/` or `c:\temp\` hold too many unrelated things).
 */
function programDirs(cluster: Cluster): Set<string> {
  const dirs = new Set<string>();
  for (const p of cluster.processes.values()) {
    if (!p.executable) continue;
    const dir = dirOf(pathKey(p.executable));
    const depth = dir.split(/[\\/]/).length - 1;
    if (depth >= 3 && !SYSTEM_DIRS.some((d) => dir.startsWith(d))) dirs.add(dir);
  }
  return dirs;
}

function refOrder(a: Signal, b: Signal): number {
  if (a.ref.file !== b.ref.file) return a.ref.file < b.ref.file ? -1 : 1;
  return (a.ref.line ?? 0) - (b.ref.line ?? 0) || recordNo(a) - recordNo(b) || (a.by < b.by ? -1 : a.by > b.by ? 1 : 0);
}

/** EVTX refs name a record id (`#1009`) instead of a line. */
function recordNo(s: Signal): number {
  return Number(s.ref.record) || 0;
}

/**
 * Every class an engine's state holds, for checkpoints (snapshot.ts). What the policy and intel give it
 * (and the options' callbacks) is configuration: a restore keeps the fresh engine's.
 */
export const ENGINE_SNAPSHOT_CLASSES: readonly SnapshotClass[] = [
  { name: 'Engine', ctor: Engine, transient: ['options', 'guidOf', 'hostCores', 'noteLateSample'] },
  { name: 'ReorderBuffer', ctor: ReorderBuffer },
  { name: 'ProcessTable', ctor: ProcessTable },
  { name: 'ProcessIdentity', ctor: ProcessIdentity },
  { name: 'HostByIp', ctor: HostByIp, transient: ['inventory', 'remember'] },
  { name: 'HostNames', ctor: HostNames },
  { name: 'HostState', ctor: HostState },
  { name: 'CpuSeries', ctor: CpuSeries },
  { name: 'RelayWatch', ctor: RelayWatch },
  { name: 'RelayPopulation', ctor: Population },
  { name: 'FileProvenance', ctor: FileProvenance },
  // a memo of command lines' writes: rebuilt as lines come
  { name: 'WrittenFiles', ctor: WrittenFiles, transient: ['recent'] },
  { name: 'MiningPortContacts', ctor: MiningPortContacts },
  { name: 'WorkloadTable', ctor: WorkloadTable, transient: ['policy', 'hostCores', 'noteLate'] },
  { name: 'InstanceTable', ctor: InstanceTable, transient: ['policy', 'intel', 'noteLate'] },
];
