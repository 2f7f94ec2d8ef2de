/**
 * Per-host memory: which telemetry we have seen (so a finding can name what is missing rather than
 * silently grading lower), host CPU runs, the latest per-process CPU (for hidden-CPU arithmetic) and
 * standing persistence facts (cron lines, units) keyed by what they launch. All bounded.
 */
import type { EntityKey } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Thresholds } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { pathKey } from './clusters.js';
import type { CpuSeries } from './cpu-series.js';
import type { GpuRun } from './resource-runs.js';

/** `network` is connections and listeners; `dns` is lookups (which the analytics also count as network). */
export type TelemetryClass =
  | 'process'
  | 'process-cpu'
  | 'host-cpu'
  | 'network'
  | 'dns'
  | 'persistence'
  | 'command-line'
  | 'gpu';

export interface CoverageEntry {
  firstTs: number;
  lastTs: number;
  events: number;
  formats: Set<string>;
  /** The format last added: a run of one format's events (the usual input) adds nothing more. */
  lastFormat: string;
}

export interface HostCpuRun {
  highSince?: number;
  /** Start of the current dip below the threshold inside a high run. */
  lowSince?: number;
  hiddenSince?: number;
  lastTs: number;
  emittedHigh: boolean;
  emittedHidden: boolean;
  runSum: number;
  runN: number;
  hiddenSum: number;
  hiddenN: number;
}

const MAX_PERSISTENCE_TARGETS = 4096;
/** Datasets (`evtx-xml.security.4688`) remembered as lacking command lines, per host. */
const MAX_NO_COMMAND_LINE_DATASETS = 16;
const MAX_RECENT_PROCESS_CPU = 65536;

export class HostState {
  readonly coverage = new Map<TelemetryClass, CoverageEntry>();
  /** The latest CPU sample per process, with its key so a sum reads values only (no entry pair per process). */
  readonly recentProcessCpu = new Map<EntityKey, { key: EntityKey; pct: number; ts: number }>();
  readonly persistence = new Map<string, Signal[]>();
  /** Process events with no command line, counted by dataset (`auditd.execve`, `evtx-xml.security.4688`). */
  readonly noCommandLine = new Map<string, number>();
  cpu: HostCpuRun = {
    lastTs: 0,
    emittedHigh: false,
    emittedHidden: false,
    runSum: 0,
    runN: 0,
    hiddenSum: 0,
    hiddenN: 0,
  };
  platform?: string;
  /** Host CPU timeline (percent of all cores), once a host sample arrives. */
  cpuSeries?: CpuSeries;
  /** Core-milliseconds spent while host CPU was above the bar. */
  highCoreMs = 0;
  /** Host GPU samples (percent of all its GPUs), once one arrives; its GPU count when a sample said it. */
  gpu: GpuRun | undefined = undefined;
  gpus: number | undefined = undefined;
  /** Engine bookkeeping for least-recently-used eviction. */
  lastTouchedSeq = 0;
  /** Engine bookkeeping: the thresholds its platform was given, and that platform. */
  thresholds?: Thresholds;
  thresholdsPlatform?: string;

  constructor(
    readonly name: string,
    public cores: number | undefined,
  ) {}

  see(cls: TelemetryClass, event: CoalEvent): void {
    const ts = event.coalmine.ts;
    const format = event.coalmine.format;
    const entry = this.coverage.get(cls);
    if (entry) {
      entry.events++;
      if (ts < entry.firstTs) entry.firstTs = ts;
      if (ts > entry.lastTs) entry.lastTs = ts;
      if (format !== entry.lastFormat && entry.formats.size < 16) {
        entry.formats.add(format);
        entry.lastFormat = format;
      }
    } else
      this.coverage.set(cls, { firstTs: ts, lastTs: ts, events: 1, formats: new Set([format]), lastFormat: format });
  }

  /** Whether any event of the class was seen; for `network`, a DNS lookup counts too. */
  has(cls: TelemetryClass): boolean {
    return this.coverage.has(cls) || (cls === 'network' && this.coverage.has('dns'));
  }

  noteNoCommandLine(event: CoalEvent): void {
    const ds = event.event.dataset;
    const n = this.noCommandLine.get(ds);
    if (n !== undefined) this.noCommandLine.set(ds, n + 1);
    else if (this.noCommandLine.size < MAX_NO_COMMAND_LINE_DATASETS) this.noCommandLine.set(ds, 1);
  }

  addPersistence(path: string, signal: Signal): void {
    const target = pathKey(path);
    let list = this.persistence.get(target);
    if (!list) {
      if (this.persistence.size >= MAX_PERSISTENCE_TARGETS) return;
      list = [];
      this.persistence.set(target, list);
    }
    if (list.length < 8) list.push(signal);
  }

  noteProcessCpu(key: EntityKey, pct: number, ts: number): void {
    // updated in place: age is read from `ts` (processCpuSum drops the old), not from Map order
    const known = this.recentProcessCpu.get(key);
    if (known) {
      known.pct = pct;
      known.ts = ts;
      return;
    }
    this.recentProcessCpu.set(key, { key, pct, ts });
    if (this.recentProcessCpu.size > MAX_RECENT_PROCESS_CPU) {
      const first = this.recentProcessCpu.keys().next();
      if (!first.done) this.recentProcessCpu.delete(first.value);
    }
  }

  /** Sum of per-process CPU (percent of one core) sampled within `maxAgeMs` of `ts`; drops older entries. */
  processCpuSum(ts: number, maxAgeMs: number): { sum: number; count: number } {
    let sum = 0;
    let count = 0;
    for (const v of this.recentProcessCpu.values()) {
      if (ts - v.ts > maxAgeMs) {
        this.recentProcessCpu.delete(v.key);
        continue;
      }
      if (Math.abs(ts - v.ts) <= maxAgeMs) {
        sum += v.pct;
        count++;
      }
    }
    return { sum, count };
  }
}
