/**
 * What the engine remembers about processes, per host: identity, lineage root, executable and
 * command line, so later events that only carry a pid (a socket, a metric, a kill's victim) can be
 * explained. Looked up per host by pid (or id) with no key string built per event; bounded: idle
 * processes are evicted by minute of last touch, and past the bound the least recently touched first.
 */
import { type EntityKey, entityKey, processKey, processKeyParts, UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent, ProcessFields } from '../model/event.js';

/** Processes whose children start new lineages: a miner launched by cron is not "part of" cron. */
const SERVICE_ROOTS = new Set([
  'systemd',
  'init',
  'kthreadd',
  'cron',
  'crond',
  'anacron',
  'atd',
  'sshd',
  'containerd',
  'containerd-shim',
  'containerd-shim-runc-v2',
  'dockerd',
  'runc',
  'conmon',
  'login',
  'agetty',
  'supervisord',
  // session managers, container inits and CI runners: what each of their children starts is its own story
  'tmux',
  'tmux: server',
  'screen',
  'tini',
  'dumb-init',
  'catatonit',
  's6-svscan',
  's6-supervise',
  'runsvdir',
  'runsv',
  'gitlab-runner',
  'runner.worker',
  'runner.listener',
  'buildkite-agent',
  'services.exe',
  'svchost.exe',
  'wininit.exe',
  'winlogon.exe',
  'explorer.exe',
  'taskeng.exe',
  'taskhostw.exe',
]);

import type { CpuSeries } from './cpu-series.js';
import type { GpuRun } from './resource-runs.js';

export interface CpuTrack {
  /** Time the current run of high samples started. */
  highSince?: number;
  /** Start of the current dip below the threshold inside a high run. */
  lowSince?: number;
  lastSampleTs: number;
  /** Cumulative CPU counter and its time, for sources that report cpu_time rather than a rate. */
  lastCpuTimeMs?: number;
  lastCpuTs?: number;
  /** Latest rate in percent of one core. */
  lastPct: number;
  peakPct: number;
  /** Sum and count of the samples in the current high run, for its mean. */
  runSum: number;
  runN: number;
  /** Exponentially weighted mean of earlier samples, and how many fed it. */
  baselinePct: number;
  baselineSamples: number;
  /** The baseline as it stood when the current high run began (the run must not raise its own bar). */
  runBaselinePct: number;
  runBaselineSamples: number;
  sustainedEmitted: boolean;
  memHighEmitted: boolean;
  /** CPU consumed since the first sample, in core-milliseconds (each sample's rate × the time since the previous one). */
  coreMs: number;
  /** Whether `lastSampleTs` is a real sample's time (not the track's creation). */
  sampled?: boolean;
  /** The timeline, once the process first ran hot (idle processes never allocate one). */
  series?: CpuSeries;
}

export interface ProcInfo {
  key: EntityKey;
  host: string;
  pid?: number;
  parentKey?: EntityKey;
  /** The top-most ancestor below a service root: the unit evidence is correlated on. */
  rootKey: EntityKey;
  executable?: string;
  name?: string;
  commandLine?: string;
  user?: string;
  sha256?: string;
  firstTs: number;
  lastTs: number;
  /** The command line whose file writes were last recorded (provenance reads each one once). */
  writesReadFrom?: string;
  /** Set when the process was joined to the lineage of the process that wrote the file it runs. */
  adoptedBy?: EntityKey;
  /** The id the table knows it by, when its source names processes by id (Sysmon's ProcessGuid). */
  entityId?: string;
  /** Table bookkeeping: the minute of event time (of `lastTs`) whose eviction list holds this entry. */
  bucket: number;
  cpu?: CpuTrack;
  /** GPU samples of the process, once one arrives. */
  gpu?: GpuRun;
}

export function basename(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** The program's name as roots, wrappers and tools are listed: process name, else executable base name, lower-case. */
export function programName(p: ProcInfo): string {
  return (p.name ?? (p.executable ? basename(p.executable) : '')).toLowerCase();
}

function isServiceRoot(p: ProcInfo | undefined, pid: number | undefined): boolean {
  if (pid !== undefined && pid <= 2) return true;
  if (!p) return false;
  if (p.pid !== undefined && p.pid <= 2) return true;
  return SERVICE_ROOTS.has(programName(p));
}

const MAX_LINEAGE_DEPTH = 16;
/** Recency is kept per minute of event time: touching a process moves it at most once a minute. */
const BUCKET_MS = 60_000;
/** Past the bound, this share of the table (the least recently touched) is evicted at once. */
const EVICT_SHARE = 0.01;

/**
 * Every field present from the start, in one order: every process has one shape (the engine reads
 * them on every event, and a shape per order of first assignment would make those reads megamorphic).
 */
function newProcInfo(key: EntityKey, host: string, pid: number | undefined, ts: number): ProcInfo {
  return {
    key,
    host,
    pid,
    parentKey: undefined,
    rootKey: key,
    executable: undefined,
    name: undefined,
    commandLine: undefined,
    user: undefined,
    sha256: undefined,
    firstTs: ts,
    lastTs: ts,
    writesReadFrom: undefined,
    adoptedBy: undefined,
    entityId: undefined,
    bucket: 0,
    cpu: undefined,
    gpu: undefined,
  };
}

/** Minute of event time; a time that is not a number (hostile input) counts as the oldest. */
function bucketOf(ts: number): number {
  return Number.isFinite(ts) ? Math.floor(ts / BUCKET_MS) : Number.MIN_SAFE_INTEGER;
}

type ParentFields = NonNullable<ProcessFields['parent']>;

/** One host's processes, by the number or id its events name them with: no key string per event. */
interface HostProcs {
  byPid: Map<number, ProcInfo>;
  byGuid: Map<string, ProcInfo>;
}

export class ProcessTable {
  /**
   * Per host, by pid or id: the only index. A key (`process:HOST:ID`, as lineage and evidence name a
   * process) says its host and id, so `get` needs no second map of every process by key string.
   */
  private readonly hosts = new Map<string, HostProcs>();
  /** The host last looked up: an event's lookups (its process, its parent, a victim) find it once. */
  private lastHostName: string | undefined;
  private lastHost: HostProcs | undefined;
  private count = 0;
  /** The parent fields `observe` last looked up, and what it found or made for them (read by `enrichParent`). */
  private parentFields: ParentFields | undefined;
  private parentFound: ProcInfo | undefined;
  /**
   * Minute of last touch → the processes touched in it. A process moved to a newer minute leaves a
   * stale reference behind (its `bucket` no longer matches), skipped when the old minute is evicted.
   */
  private readonly buckets = new Map<number, ProcInfo[]>();
  evicted = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.count;
  }

  /** The process with this key, while the table holds it. */
  get(key: EntityKey): ProcInfo | undefined {
    const parts = processKeyParts(key);
    const h = parts ? this.hostProcs(parts.host) : undefined;
    if (!parts || !h) return undefined;
    const byGuid = h.byGuid.get(parts.id);
    if (byGuid?.key === key) return byGuid;
    const byPid = h.byPid.get(Number(parts.id));
    return byPid?.key === key ? byPid : undefined;
  }

  private hostProcs(host: string): HostProcs | undefined {
    if (host === this.lastHostName) return this.lastHost;
    const h = this.hosts.get(host);
    if (h) {
      this.lastHostName = host;
      this.lastHost = h;
    }
    return h;
  }

  /** The process with this id (when given) or pid on this host. */
  lookup(host: string, pid: number | undefined, entityId: string | undefined): ProcInfo | undefined {
    const h = this.hostProcs(host);
    if (!h) return undefined;
    if (entityId) return h.byGuid.get(entityId);
    return pid === undefined ? undefined : h.byPid.get(pid);
  }

  /** The process an event is about, if known. */
  find(event: CoalEvent): ProcInfo | undefined {
    const p = event.process;
    return p ? this.lookup(event.host?.name ?? UNKNOWN_HOST, p.pid, p.entity_id) : undefined;
  }

  /**
   * Create or update the process an event is about; returns it (undefined when the event names no
   * process). `known` is what `find(event)` answered when the caller already asked (once per event).
   */
  observe(event: CoalEvent, known: ProcInfo | undefined = this.find(event)): ProcInfo | undefined {
    const p = event.process;
    if (!p) return undefined;
    const ts = event.coalmine.ts;
    let info = known;
    if (info) {
      if (ts > info.lastTs) info.lastTs = ts;
      if (ts < info.firstTs) info.firstTs = ts;
      this.touch(info);
    } else {
      const host = event.host?.name ?? UNKNOWN_HOST;
      const key = processKey(host, p.pid, p.entity_id);
      if (!key) return undefined;
      info = newProcInfo(key, host, p.pid, ts);
      this.add(info, p.entity_id);
    }
    // exec replaces the image in the same pid, so the newest exec wins
    const isExec = event.event.action === 'exec';
    if (p.executable && (isExec || !info.executable)) info.executable = p.executable;
    if (p.name && (isExec || !info.name)) info.name = p.name;
    if (p.command_line && (isExec || !info.commandLine)) info.commandLine = p.command_line;
    if (p.hash?.sha256) info.sha256 = p.hash.sha256.toLowerCase();
    if (!info.user) {
      const user = p.user?.name ?? event.user?.name ?? p.user?.id ?? event.user?.id;
      if (user) info.user = user;
    }
    const pp = p.parent;
    if (pp && !info.parentKey) {
      // a known parent's key is the one its pid or id makes: no second key string for it
      let parent = this.lookup(info.host, pp.pid, pp.entity_id);
      this.parentFields = pp;
      this.parentFound = parent;
      const parentKey = parent ? parent.key : processKey(info.host, pp.pid, pp.entity_id);
      if (parentKey && parentKey !== info.key) {
        info.parentKey = parentKey;
        if (!parent) {
          parent = newProcInfo(parentKey, info.host, pp.pid, ts);
          parent.executable = pp.executable;
          parent.name = pp.name;
          parent.commandLine = pp.command_line;
          this.add(parent, pp.entity_id);
          this.parentFound = parent;
        }
        info.rootKey = isServiceRoot(parent, pp.pid) ? info.key : parent.rootKey;
      }
    }
    if (this.count > this.maxEntries) {
      this.evictOldest(Math.max(1, Math.floor(this.maxEntries * EVICT_SHARE)));
      this.parentFields = undefined; // the parent found may be gone now: `enrichParent` asks again
    }
    return info;
  }

  /** Fill what an event lacks from what we know: executable/name/command line of a pid, a kill victim's name. */
  enrich(
    event: CoalEvent,
    known: ProcInfo | undefined = this.find(event),
    guidOf: (host: string, pid: number) => string | undefined = () => undefined,
  ): void {
    const p = event.process;
    if (!p) return;
    if (known) {
      if (!p.executable && known.executable) p.executable = known.executable;
      if (!p.name && known.name) p.name = known.name;
      if (!p.command_line && known.commandLine) p.command_line = known.commandLine;
    }
    const target = p.target;
    if (target && target.pid !== undefined && (!target.name || !target.executable)) {
      const host = event.host?.name ?? UNKNOWN_HOST;
      const victim = this.lookup(host, target.pid, guidOf(host, target.pid));
      if (victim) {
        target.name ??= victim.name ?? (victim.executable ? basename(victim.executable) : undefined);
        target.executable ??= victim.executable;
      }
    }
  }

  /**
   * Join a re-parented process (and the wrappers above it up to its old root) to the lineage of
   * `parentKey`: the old root's parent becomes `parentKey`, and every process on that line takes
   * the new root. Children seen later inherit it through their parent.
   */
  adopt(line: readonly ProcInfo[], parentKey: EntityKey, rootKey: EntityKey): void {
    const top = line[line.length - 1];
    top.parentKey = parentKey;
    top.adoptedBy = parentKey;
    for (const p of line) p.rootKey = rootKey;
  }

  /** Fill the parent's name, executable and command line from the table, for classifiers that judge by parent. */
  enrichParent(event: CoalEvent): void {
    const parent = event.process?.parent;
    const asked = parent === this.parentFields;
    this.parentFields = undefined;
    if (!parent || (parent.name && parent.executable)) return;
    // `observe` of this event found (or made) the parent already: no second lookup
    const known = asked
      ? this.parentFound
      : this.lookup(event.host?.name ?? UNKNOWN_HOST, parent.pid, parent.entity_id);
    if (!known) return;
    parent.name ??= known.name ?? (known.executable ? basename(known.executable) : undefined);
    parent.executable ??= known.executable;
    parent.command_line ??= known.commandLine;
  }

  /** Lineage from a process up to its root, for explanations (bounded). */
  lineage(key: EntityKey): ProcInfo[] {
    const out: ProcInfo[] = [];
    let cur = this.get(key);
    while (cur && out.length < MAX_LINEAGE_DEPTH) {
      out.push(cur);
      if (cur.key === cur.rootKey || !cur.parentKey) break;
      cur = this.get(cur.parentKey);
    }
    return out;
  }

  /** Drop processes not touched since `cutoffTs`: whole minutes at a time, never a scan of the table. */
  evictIdle(cutoffTs: number): void {
    const cutoff = Math.floor(cutoffTs / BUCKET_MS);
    for (const [bucket, members] of this.buckets) {
      if (bucket >= cutoff) continue;
      this.buckets.delete(bucket);
      // a member still on this minute was last touched before it (lastTs only grows, and moves it)
      for (const info of members) if (info.bucket === bucket) this.remove(info);
    }
  }

  /** Called only when `lookup` found no process under this id or pid (a key is one slot of one host). */
  private add(info: ProcInfo, entityId: string | undefined): void {
    let h = this.hostProcs(info.host);
    if (!h) {
      h = { byPid: new Map(), byGuid: new Map() };
      this.hosts.set(info.host, h);
    }
    if (entityId) {
      info.entityId = entityId;
      h.byGuid.set(entityId, info);
    } else if (info.pid !== undefined) h.byPid.set(info.pid, info);
    else return;
    this.count++;
    this.place(info);
  }

  /** Whether `info` is still the table's process in its slot (not evicted, not replaced). */
  private holds(info: ProcInfo): boolean {
    const h = this.hostProcs(info.host);
    if (!h) return false;
    return info.entityId !== undefined ? h.byGuid.get(info.entityId) === info : h.byPid.get(info.pid!) === info;
  }

  /** Move a process to the minute of its last touch, when that is a newer minute. */
  private touch(info: ProcInfo): void {
    if (bucketOf(info.lastTs) > info.bucket) this.place(info);
  }

  private place(info: ProcInfo): void {
    const bucket = bucketOf(info.lastTs);
    info.bucket = bucket;
    let members = this.buckets.get(bucket);
    if (!members) {
      members = [];
      this.buckets.set(bucket, members);
    }
    members.push(info);
  }

  private remove(info: ProcInfo): void {
    const h = this.hostProcs(info.host);
    if (!h) return;
    if (info.entityId !== undefined) {
      if (h.byGuid.get(info.entityId) !== info) return;
      h.byGuid.delete(info.entityId);
    } else {
      if (h.byPid.get(info.pid!) !== info) return;
      h.byPid.delete(info.pid!);
    }
    this.count--;
    if (h.byPid.size === 0 && h.byGuid.size === 0) {
      this.hosts.delete(info.host);
      if (this.lastHost === h) {
        this.lastHostName = undefined;
        this.lastHost = undefined;
      }
    }
    this.evicted++;
  }

  /** The bound: the `n` least recently touched processes go, oldest minute first. */
  private evictOldest(n: number): void {
    const order = [...this.buckets.keys()].sort((a, b) => a - b);
    let left = n;
    for (const bucket of order) {
      const members = this.buckets.get(bucket)!;
      let i = 0;
      for (; i < members.length && left > 0; i++) {
        const info = members[i];
        if (info.bucket !== bucket || !this.holds(info)) continue;
        this.remove(info);
        left--;
      }
      if (i >= members.length) this.buckets.delete(bucket);
      else members.splice(0, i);
      if (left === 0) return;
    }
  }
}

export function hostEntity(host: string): EntityKey {
  return entityKey('host', host);
}
