/**
 * `inspect` composed: a live process's private writable/executable memory (sensor/memory.ts) scanned
 * with YARA rules (sensor/yara.ts) and its RandomX shape read, each finding kept with rule, region,
 * address and a clipped inert string; the matches become events of format `inspect` that the detector
 * reads as process evidence (signals/ids-alert.ts), so `watch --inspect` and `hunt` of the events
 * judge them as any other. `--dump DIR` preserves the matching regions with a manifest of sha256s
 * (`dumpAll`: every readable region, the whole address space within the bounds, when asked).
 * Read-only: /proc files only, never ptrace; a process that cannot be read is a named gap.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import type { HiddenProcess } from '../sensor/hidden-processes.js';
import {
  isReadable,
  type MemoryRegion,
  type MemoryShape,
  memoryShape,
  readMaps,
  readRegions,
  readStartTime,
  regionName,
  shapeVerdict,
} from '../sensor/memory.js';
import { ProcSampler } from '../sensor/proc-sampler.js';
import type { RuleHit, YaraRules } from '../sensor/yara.js';

export type { HiddenScan } from '../sensor/hidden-processes.js';
/** The CLI reaches these through run/ (cli imports no sensor module). */
export { msrDriver } from '../sensor/memory.js';
export { loadYaraRules } from '../sensor/yara.js';

import type { Issue } from '../model/issue.js';
import { createClassifier } from '../signals/index.js';
import { loadIntel } from '../signals/intel/store.js';
import { DEFAULT_RULE_DIRS } from '../signals/rules.js';
import { loadRules } from '../signals/sigma/index.js';
import { clip } from '../util/hostile.js';

export interface InspectHit {
  pattern: string;
  /** Address in the process (hex). */
  address: string;
  /** Offset in its region. */
  offset: number;
  text: string;
}

export interface InspectMatch {
  rule: string;
  kind?: string;
  strength?: 'weak' | 'medium' | 'strong';
  description?: string;
  bundled: boolean;
  /** `[heap]@55d0…`, `anon@7f…`, `libfoo.so@7f…`. */
  region: string;
  regionPerms: string;
  regionPath: string;
  hits: InspectHit[];
}

export interface ProcessInspection {
  pid: number;
  name?: string;
  entityId?: string;
  executable?: string;
  exeDeleted?: boolean;
  matches: InspectMatch[];
  shape?: MemoryShape;
  /** What the shape says when it is a miner's. */
  shapeSays?: string;
  regions: number;
  bytes: number;
  failedReads: number;
  /** Regions read only in part: larger than the region bound (or what was left of the process bound). */
  clippedRegions?: number;
  /** Stopped early: the process bound or the time bound came first (regions left unread or read in part). */
  truncated?: 'bytes' | 'time';
  /** Why the memory was not (wholly) read: permission, gone, not Linux. */
  gap?: string;
  /** No user memory at all (a kernel thread): nothing to read, not a gap. */
  noUserMemory?: boolean;
  /** Regions preserved by --dump. */
  dumped?: DumpedRegion[];
  /** Why --dump stopped preserving this process's regions. */
  dumpError?: string;
  durationMs: number;
}

export interface DumpedRegion {
  file: string;
  region: string;
  start: string;
  end: string;
  perms: string;
  path: string;
  bytes: number;
  sha256: string;
  rules: string[];
}

export interface InspectOptions {
  procRoot?: string;
  rules?: YaraRules;
  /** Default 64 MiB. */
  maxRegionBytes?: number;
  /** Default 256 MiB. */
  maxProcessBytes?: number;
  /** Default 10 s. */
  processBudgetMs?: number;
  /** Write matching regions here (created; files never overwritten). */
  dumpDir?: string;
  /**
   * Read, scan and (with dumpDir) preserve every readable region, file-backed ones too: the whole
   * address space within the bounds, for an analyst who asks for it. Default: only what the process
   * made or unpacked (sensor/memory.ts isScanned), and only matching regions preserved.
   */
  dumpAll?: boolean;
}

export const INSPECT_DEFAULTS = {
  maxRegionBytes: 64 * 1024 ** 2,
  maxProcessBytes: 256 * 1024 ** 2,
  processBudgetMs: 10_000,
};
const MAX_MATCHES = 64;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function gapOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return `memory not readable (${code}): run as root or as the process's owner (ptrace_scope permitting)`;
  if (code === 'ENOENT' || code === 'ESRCH') return 'the process is gone';
  return `memory not readable: ${clip((err as Error).message, 120)}`;
}

function dumpRegion(
  dumpDir: string,
  pid: number,
  index: number,
  region: MemoryRegion,
  name: string,
  data: Buffer,
  found: RuleHit[],
  result: ProcessInspection,
): void {
  mkdirSync(join(dumpDir, `pid-${pid}`), { recursive: true, mode: 0o700 });
  const file = `pid-${pid}/${String(index).padStart(3, '0')}-${hex(region.start)}.bin`;
  writeFileSync(join(dumpDir, file), data, { flag: 'wx', mode: 0o600 });
  result.dumped ??= [];
  result.dumped.push({
    file,
    region: name,
    start: hex(region.start),
    end: hex(region.end),
    perms: region.perms,
    path: region.path,
    bytes: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    rules: found.map((f) => f.rule),
  });
}

/** One process's memory scanned and its shape read; never throws. */
export function inspectProcess(pid: number, options: InspectOptions = {}): ProcessInspection {
  const started = performance.now();
  const procRoot = options.procRoot ?? '/proc';
  const o = { ...INSPECT_DEFAULTS, ...options };
  const result: ProcessInspection = { pid, matches: [], regions: 0, bytes: 0, failedReads: 0, durationMs: 0 };
  const st = readStartTime(procRoot, pid);
  if (st) {
    result.name = clip(st.comm, 64);
    result.entityId = `${pid}@${st.starttime}`;
  }
  try {
    const link = readlinkSync(join(procRoot, String(pid), 'exe'));
    result.exeDeleted = link.endsWith(' (deleted)');
    result.executable = clip(result.exeDeleted ? link.slice(0, -10) : link, 4096);
  } catch {
    // kernel thread, or not ours: the memory read below says which
  }
  let maps: ReturnType<typeof readMaps>;
  try {
    maps = readMaps(procRoot, pid);
  } catch (err) {
    result.gap = gapOf(err);
    result.durationMs = Math.round(performance.now() - started);
    return result;
  }
  if (maps.length === 0) {
    result.noUserMemory = true;
    result.durationMs = Math.round(performance.now() - started);
    return result;
  }
  result.shape = memoryShape(procRoot, pid, maps);
  result.shapeSays = shapeVerdict(result.shape);
  const preserveAll = o.dumpAll === true && o.dumpDir !== undefined;
  // without a YARA engine there is nothing to scan, but a whole-address-space dump is still taken
  if (o.rules || preserveAll) {
    const rules = o.rules;
    let dumpIndex = 0;
    try {
      const read = readRegions(
        procRoot,
        pid,
        maps,
        {
          select: o.dumpAll ? isReadable : undefined,
          maxRegionBytes: o.maxRegionBytes,
          maxProcessBytes: o.maxProcessBytes,
          deadline: started + o.processBudgetMs,
        },
        ({ region, data, clipped }) => {
          if (clipped) result.clippedRegions = (result.clippedRegions ?? 0) + 1;
          const found: RuleHit[] = rules ? rules.scan(data) : [];
          if (found.length === 0 && !preserveAll) return;
          const name = regionName(region);
          for (const f of found) {
            if (result.matches.length >= MAX_MATCHES) break;
            result.matches.push({
              rule: f.rule,
              kind: f.kind,
              strength: f.strength,
              description: f.description,
              bundled: f.bundled,
              region: name,
              regionPerms: region.perms,
              regionPath: region.path,
              hits: f.hits.map((h) => ({
                pattern: h.pattern,
                address: hex(region.start + h.offset),
                offset: h.offset,
                text: h.text,
              })),
            });
          }
          if (o.dumpDir && result.dumpError === undefined) {
            try {
              dumpRegion(o.dumpDir, pid, ++dumpIndex, region, name, data, found, result);
            } catch (err) {
              // the scan goes on; what could not be preserved is said (a file already there is never overwritten)
              result.dumpError = clip((err as Error).message, 200);
            }
          }
        },
      );
      result.regions = read.regions;
      result.bytes = read.bytes;
      result.failedReads = read.failedReads;
      if (read.truncated) result.truncated = read.truncated;
    } catch (err) {
      result.gap = gapOf(err);
    }
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

/** The manifest of a --dump directory: what was preserved, from which process, with hashes. */
export function writeDumpManifest(dir: string, inspections: ProcessInspection[], host: string, nowMs: number): string {
  const path = join(dir, 'manifest.json');
  const processes = inspections
    .filter((p) => p.dumped && p.dumped.length > 0)
    .map((p) => ({ pid: p.pid, name: p.name, entity_id: p.entityId, executable: p.executable, regions: p.dumped }));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(
    path,
    `${JSON.stringify({ coalmine: 'inspect-dump', version: 1, host, created: new Date(nowMs).toISOString(), processes }, null, 1)}\n`,
    { flag: 'wx', mode: 0o600 },
  );
  return path;
}

/** One event of format `inspect` that ids-alert's `inspect` producer reads: an indicator about one live process. */
function inspectEvent(
  dataset: 'inspect.yara' | 'inspect.hidden',
  hostName: string,
  nowMs: number,
  fields: Pick<CoalEvent, 'process' | 'rule' | 'original'>,
  ref: { file: string; record: string },
): CoalEvent {
  return {
    '@timestamp': new Date(nowMs).toISOString(),
    event: {
      kind: 'event',
      category: ['process', 'intrusion_detection'],
      type: ['indicator'],
      action: 'process-seen',
      dataset,
    },
    host: { name: hostName, os: { platform: 'linux' } },
    ...fields,
    coalmine: { ts: nowMs, format: 'inspect', ref },
  };
}

/** The inspection as events the detector reads (ids-alert's `inspect` producer): one per rule matched, one for a miner's shape. */
export function inspectionEvents(p: ProcessInspection, hostName: string, nowMs: number): CoalEvent[] {
  const base = (rule: string, category: string, record: string, original: Record<string, unknown>): CoalEvent =>
    inspectEvent(
      'inspect.yara',
      hostName,
      nowMs,
      {
        process: {
          pid: p.pid,
          ...(p.entityId ? { entity_id: p.entityId } : {}),
          ...(p.name ? { name: p.name } : {}),
          ...(p.executable ? { executable: p.executable, exe_deleted: p.exeDeleted === true } : {}),
        },
        rule: { name: rule, category },
        original: { pid: p.pid, rule, ...original },
      },
      { file: `/proc/${p.pid}/mem`, record },
    );
  const out: CoalEvent[] = [];
  const seen = new Set<string>();
  for (const m of p.matches) {
    if (seen.has(m.rule)) continue;
    seen.add(m.rule);
    const first = m.hits[0];
    out.push(
      base(m.rule, m.kind ?? '', m.region, {
        region: m.region,
        address: first?.address,
        text: first?.text,
        strength: m.strength,
        bundled: m.bundled,
      }),
    );
  }
  if (p.shapeSays) out.push(base('RandomX memory shape', 'shape', 'smaps', { text: p.shapeSays }));
  return out;
}

/**
 * Processes the `/proc` listing hides (sensor/hidden-processes.ts), as events the detector reads as
 * process evidence (signals/ids-alert.ts, category `hidden`): the pids behind a host's hidden CPU, each
 * with what `/proc/PID` still tells by name (name, executable, command line, the CPU it has used).
 */
export function hiddenProcessEvents(hidden: readonly HiddenProcess[], hostName: string, nowMs: number): CoalEvent[] {
  return hidden.map((h) =>
    inspectEvent(
      'inspect.hidden',
      hostName,
      nowMs,
      {
        process: {
          pid: h.pid,
          name: h.name,
          ...(h.executable ? { executable: h.executable, exe_deleted: h.exeDeleted === true } : {}),
          ...(h.commandLine ? { command_line: h.commandLine } : {}),
          ...(h.ppid !== undefined ? { parent: { pid: h.ppid } } : {}),
        },
        rule: { name: 'process hidden from the /proc listing', category: 'hidden' },
        original: {
          pid: h.pid,
          threads: h.threads,
          ...(h.cpuTicks !== undefined ? { cpu_ticks: h.cpuTicks } : {}),
          ...(h.answersKill !== undefined ? { answers_kill: h.answersKill } : {}),
        },
      },
      { file: `/proc/${h.pid}`, record: 'hidden' },
    ),
  );
}

export interface Suspect {
  pid: number;
  why: string;
}

/**
 * The processes worth a memory scan now: those the detector's classifiers and Sigma rules flag in what
 * the sampler sees (miner names and arguments, masquerades, fileless executables, contact with a pool
 * or a mining port, every rule `watch` runs) and those holding at least `cpuPct` of a core over
 * `windowMs` (two /proc samples). Without root, what cannot be read is a gap of the inspection, not of
 * this list. Loading problems of the intel and rules go to `onIssue`.
 */
export async function findSuspects(o: {
  procRoot?: string;
  windowMs: number;
  cpuPct: number;
  intelFiles?: string[];
  /** Sigma rules beside the bundled rules/stable (as `watch --rules` takes them). */
  extraRuleDirs?: string[];
  onIssue?: (i: Issue) => void;
}): Promise<Suspect[]> {
  const report = (i: Issue) => o.onIssue?.(i);
  const sampler = new ProcSampler({ root: o.procRoot, idleEvery: 1 });
  const { intel, issues } = await loadIntel(o.intelFiles ?? []);
  issues.forEach(report);
  const rules = await loadRules([...DEFAULT_RULE_DIRS, ...(o.extraRuleDirs ?? [])]);
  for (const e of [...rules.errors, ...rules.unsupported])
    report({ file: e.file, line: e.line, code: e.code, reason: e.reason, stage: 'loading' });
  const classifier = createClassifier(intel, rules);
  const first = await sampler.sample(Date.now());
  const cpu = new Map<string, number>();
  const judged = new Set<string>();
  const why = new Map<number, string[]>();
  const note = (pid: number, text: string) => {
    const list = why.get(pid) ?? [];
    if (!list.includes(text) && list.length < 8) list.push(text);
    why.set(pid, list);
  };
  const classify = (e: CoalEvent) => {
    const out: Signal[] = [];
    classifier(e, out);
    const pid = e.process?.pid;
    if (pid !== undefined) for (const s of out) note(pid, `${s.kind}: ${clip(s.explanation, 120)}`);
  };
  for (const e of first.events) {
    const id = e.process?.entity_id;
    if (id !== undefined && e.metrics?.cpu_time_ms !== undefined) cpu.set(id, e.metrics.cpu_time_ms);
    if (id !== undefined) judged.add(id);
    classify(e);
  }
  await new Promise((r) => setTimeout(r, o.windowMs));
  const t1 = Date.now();
  const second = await sampler.sample(t1);
  for (const e of second.events) {
    // what is new since the first sample (execs, connections) is judged; a process seen again was already
    const id = e.process?.entity_id;
    if (e.event.action !== 'process-seen' || (id !== undefined && !judged.has(id))) classify(e);
    const pid = e.process?.pid;
    if (id === undefined || pid === undefined || e.metrics?.cpu_time_ms === undefined) continue;
    const before = cpu.get(id);
    if (before === undefined) continue;
    const pct = ((e.metrics.cpu_time_ms - before) / o.windowMs) * 100;
    if (pct >= o.cpuPct) note(pid, `${Math.round(pct)}% of a core over ${Math.round(o.windowMs / 1000)} s`);
  }
  why.delete(process.pid); // not ourselves: our own heap holds the rules
  return [...why].sort((a, b) => a[0] - b[0]).map(([pid, w]) => ({ pid, why: w.join('; ') }));
}

const MAX_REMEMBERED = 10_000;

export interface HotOptions {
  /** CPU (percent of one core) between two samples that counts as hot. Default 50. */
  cpuPct?: number;
  /** Consecutive hot samples before a process is inspected. Default 3. */
  sustainSamples?: number;
  /** At most one inspection per this long. Default 60 s. */
  minIntervalMs?: number;
}

/**
 * `watch --inspect`'s choice of whom to inspect: a process whose CPU over its last `sustainSamples`
 * samples averages ≥ cpuPct of a core (a mean, so a loaded host's scheduling dips do not reset it),
 * each process once, at most one every `minIntervalMs`, so a host full of busy builds costs one
 * bounded scan a minute. Follows the sampler's events; forgets processes not seen for 32 samples.
 */
export class HotProcesses {
  private readonly cpuPct: number;
  private readonly sustain: number;
  private readonly minIntervalMs: number;
  /** Per process: its last sustain+1 (cpu ms, time) points, and the sample it was last seen in. */
  private readonly history = new Map<string, { points: { cpuMs: number; ts: number }[]; seen: number }>();
  /** Processes already inspected, oldest first (bounded: a long watch forgets the oldest). */
  private readonly inspected = new Set<string>();
  private lastInspection = Number.NEGATIVE_INFINITY;
  private sample = 0;

  constructor(o: HotOptions = {}) {
    this.cpuPct = o.cpuPct ?? 50;
    this.sustain = Math.max(1, o.sustainSamples ?? 3);
    this.minIntervalMs = o.minIntervalMs ?? 60_000;
  }

  /** The sample's process events in; the pid due for inspection now, if any (the hottest waiting). */
  observe(events: readonly CoalEvent[], nowMs: number): { pid: number; entityId: string } | undefined {
    this.sample++;
    let due: { pid: number; entityId: string; pct: number } | undefined;
    for (const e of events) {
      const id = e.process?.entity_id;
      const pid = e.process?.pid;
      const cpuMs = e.metrics?.cpu_time_ms;
      if (id === undefined || pid === undefined || cpuMs === undefined || e.event.category[0] !== 'process') continue;
      const h = this.history.get(id) ?? { points: [], seen: 0 };
      h.points.push({ cpuMs, ts: nowMs });
      if (h.points.length > this.sustain + 1) h.points.shift();
      h.seen = this.sample;
      this.history.set(id, h);
      if (h.points.length <= this.sustain || this.inspected.has(id) || pid === process.pid) continue;
      const first = h.points[0];
      const pct = nowMs > first.ts ? ((cpuMs - first.cpuMs) / (nowMs - first.ts)) * 100 : 0;
      if (pct >= this.cpuPct && (!due || pct > due.pct)) due = { pid, entityId: id, pct };
    }
    if (this.sample % 16 === 0)
      for (const [id, v] of this.history) if (this.sample - v.seen > 32) this.history.delete(id);
    if (!due || nowMs - this.lastInspection < this.minIntervalMs) return undefined;
    this.lastInspection = nowMs;
    this.inspected.add(due.entityId);
    if (this.inspected.size > MAX_REMEMBERED) this.inspected.delete(this.inspected.values().next().value as string);
    return { pid: due.pid, entityId: due.entityId };
  }
}

export interface HiddenCpuOptions {
  /** Points of the host's CPU its listed processes do not account for (policy `hidden_cpu_gap_pct`). Default 50. */
  gapPct?: number;
  /** Consecutive samples with the gap before the pids are looked for. Default 3. */
  sustainSamples?: number;
  /** At most one look this often: a probe of every pid costs seconds. Default 10 min. */
  minIntervalMs?: number;
}

/**
 * `watch --inspect`'s cue to look for hidden processes (sensor/hidden-processes.ts): the host's CPU
 * (`/proc/stat`) exceeds what its listed processes used in the same interval (their `cpu_time_ms`
 * deltas) by `gapPct` points of the machine, sample after sample. A process that ended between two
 * samples can open a gap once; the sustain and the interval keep that to one bounded probe, and only
 * pids the probe finds hidden become evidence.
 */
export class HiddenCpuTrigger {
  private readonly gapPct: number;
  private readonly sustain: number;
  private readonly minIntervalMs: number;
  private cpuMs = new Map<string, number>();
  private lastTs: number | undefined;
  private run = 0;
  private lastProbe = Number.NEGATIVE_INFINITY;
  /** The last sample's gap, in points of the machine (for the caller's report). */
  lastGapPct = 0;

  constructor(o: HiddenCpuOptions = {}) {
    this.gapPct = o.gapPct ?? 50;
    this.sustain = Math.max(1, o.sustainSamples ?? 3);
    this.minIntervalMs = o.minIntervalMs ?? 600_000;
  }

  /** One sample's events in; true when the hidden pids should be looked for now. */
  observe(events: readonly CoalEvent[], nowMs: number): boolean {
    const next = new Map<string, number>();
    let visibleMs = 0;
    let hostPct: number | undefined;
    let cores: number | undefined;
    for (const e of events) {
      if (e.event.category[0] === 'host' && e.metrics?.cpu_pct !== undefined) {
        hostPct = e.metrics.cpu_pct;
        cores = e.metrics.cores;
        continue;
      }
      const id = e.process?.entity_id;
      const ms = e.metrics?.cpu_time_ms;
      if (id === undefined || ms === undefined || e.event.category[0] !== 'process') continue;
      next.set(id, ms);
      const before = this.cpuMs.get(id);
      if (before !== undefined && ms > before) visibleMs += ms - before;
    }
    const interval = this.lastTs === undefined ? 0 : nowMs - this.lastTs;
    const counted = this.cpuMs.size > 0;
    this.cpuMs = next;
    this.lastTs = nowMs;
    if (!counted || interval <= 0 || hostPct === undefined || !cores) return false;
    const visiblePct = Math.min(100, (visibleMs / (interval * cores)) * 100);
    this.lastGapPct = Math.round((hostPct - visiblePct) * 10) / 10;
    this.run = this.lastGapPct >= this.gapPct ? this.run + 1 : 0;
    if (this.run < this.sustain || nowMs - this.lastProbe < this.minIntervalMs) return false;
    this.lastProbe = nowMs;
    return true;
  }
}
