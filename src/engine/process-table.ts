/**
 * What the engine remembers about processes, per host: identity, lineage root, executable and
 * command line, so later events that only carry a pid (a socket, a metric, a kill's victim) can be
 * explained. Bounded: least-recently-touched entries are evicted first (a Map keeps touch order).
 */
import { type EntityKey, entityKey, parentKeyOf, processKey, processKeyOf, UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';

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
  /** Table bookkeeping: the touch count when this entry was last moved to the end of the Map. */
  touchedAt: number;
  cpu?: CpuTrack;
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
const REINSERT_AFTER_TOUCHES = 4096;

export class ProcessTable {
  private readonly procs = new Map<EntityKey, ProcInfo>();
  private touches = 0;
  evicted = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.procs.size;
  }

  get(key: EntityKey): ProcInfo | undefined {
    return this.procs.get(key);
  }

  /** Create or update the process an event is about; returns it (undefined when the event names no process). */
  /** `key` is the event's process key when the caller already computed it (one per event on the hot path). */
  observe(event: CoalEvent, key: EntityKey | undefined = processKeyOf(event)): ProcInfo | undefined {
    if (!key) return undefined;
    const p = event.process!;
    const ts = event.coalmine.ts;
    const host = event.host?.name ?? UNKNOWN_HOST;
    let info = this.procs.get(key);
    if (info) {
      // re-insert now and then, so Map order stays close to touch order without a delete/set per event
      if (this.touches - info.touchedAt > REINSERT_AFTER_TOUCHES) {
        this.procs.delete(key);
        this.procs.set(key, info);
        info.touchedAt = this.touches;
      }
      if (ts > info.lastTs) info.lastTs = ts;
      if (ts < info.firstTs) info.firstTs = ts;
    } else {
      info = { key, host, pid: p.pid, rootKey: key, firstTs: ts, lastTs: ts, touchedAt: this.touches };
      this.procs.set(key, info);
    }
    this.touches++;
    // exec replaces the image in the same pid, so the newest exec wins
    if (p.executable && (event.event.action === 'exec' || !info.executable)) info.executable = p.executable;
    if (p.name && (event.event.action === 'exec' || !info.name)) info.name = p.name;
    if (p.command_line && (event.event.action === 'exec' || !info.commandLine)) info.commandLine = p.command_line;
    if (p.hash?.sha256) info.sha256 = p.hash.sha256.toLowerCase();
    const user = p.user?.name ?? event.user?.name ?? p.user?.id ?? event.user?.id;
    if (user && !info.user) info.user = user;
    const parentKey = parentKeyOf(event);
    if (parentKey && parentKey !== key && !info.parentKey) {
      info.parentKey = parentKey;
      let parent = this.procs.get(parentKey);
      if (!parent && p.parent) {
        parent = {
          key: parentKey,
          host,
          pid: p.parent.pid,
          rootKey: parentKey,
          executable: p.parent.executable,
          name: p.parent.name,
          commandLine: p.parent.command_line,
          firstTs: ts,
          lastTs: ts,
          touchedAt: this.touches,
        };
        this.procs.set(parentKey, parent);
      }
      info.rootKey = isServiceRoot(parent, p.parent?.pid) ? key : (parent?.rootKey ?? parentKey);
    }
    if (this.procs.size > this.maxEntries) this.evictOne();
    return info;
  }

  /** Fill what an event lacks from what we know: executable/name/command line of a pid, a kill victim's name. */
  enrich(
    event: CoalEvent,
    key: EntityKey | undefined = processKeyOf(event),
    guidOf: (host: string, pid: number) => string | undefined = () => undefined,
  ): void {
    const p = event.process;
    if (!p) return;
    const host = event.host?.name ?? UNKNOWN_HOST;
    const known = key ? this.procs.get(key) : undefined;
    if (known) {
      if (!p.executable && known.executable) p.executable = known.executable;
      if (!p.name && known.name) p.name = known.name;
      if (!p.command_line && known.commandLine) p.command_line = known.commandLine;
    }
    const target = p.target;
    if (target && target.pid !== undefined && (!target.name || !target.executable)) {
      const victim = this.procs.get(processKey(host, target.pid, guidOf(host, target.pid)) ?? '');
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
    if (!parent || (parent.name && parent.executable)) return;
    const known = this.procs.get(parentKeyOf(event) ?? '');
    if (!known) return;
    parent.name ??= known.name ?? (known.executable ? basename(known.executable) : undefined);
    parent.executable ??= known.executable;
    parent.command_line ??= known.commandLine;
  }

  /** Lineage from a process up to its root, for explanations (bounded). */
  lineage(key: EntityKey): ProcInfo[] {
    const out: ProcInfo[] = [];
    let cur = this.procs.get(key);
    while (cur && out.length < MAX_LINEAGE_DEPTH) {
      out.push(cur);
      if (cur.key === cur.rootKey || !cur.parentKey) break;
      cur = this.procs.get(cur.parentKey);
    }
    return out;
  }

  /**
   * Drop processes not touched since `cutoffTs`. The Map is roughly in touch order, so the scan stops
   * after a run of recent entries instead of walking the whole table.
   */
  evictIdle(cutoffTs: number): void {
    let recentInARow = 0;
    for (const [key, info] of this.procs) {
      if (info.lastTs >= cutoffTs) {
        if (++recentInARow > REINSERT_AFTER_TOUCHES) break;
        continue;
      }
      recentInARow = 0;
      this.procs.delete(key);
      this.evicted++;
    }
  }

  private evictOne(): void {
    const first = this.procs.keys().next();
    if (!first.done) {
      this.procs.delete(first.value);
      this.evicted++;
    }
  }
}

export function hostEntity(host: string): EntityKey {
  return entityKey('host', host);
}
