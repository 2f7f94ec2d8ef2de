/**
 * `watch` composed: the /proc sampler and the persistence places of each filesystem root feed the
 * same detector as `hunt`, on the live clock (run/live.ts `LiveDetector`). Findings go out as soon as they hold,
 * then again (same id, next revision) when they say more; every event read is also offered to
 * `onEvent` (`watch --server` forwards them, run/forward.ts). No printing here: the CLI renders.
 */
import { type FSWatcher, watch as fsWatch, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { ContainerResolver } from '../sensor/container-resolve.js';
import type { HiddenScan } from '../sensor/hidden-processes.js';
import { ProcSampler, type SampleStats } from '../sensor/proc-sampler.js';
import { rootInputs } from './inputs.js';
import {
  HiddenCpuTrigger,
  type HotOptions,
  HotProcesses,
  hiddenProcessEvents,
  inspectionEvents,
  type ProcessInspection,
} from './inspect.js';
import { InspectThread } from './inspect-worker.js';
import { LiveDetector } from './live.js';
import { type SensorGap, sampleGaps } from './sensor-report.js';

/** Where persistence lives under a filesystem root (what AN0742 reads): rescanned, and watched. */
export const PERSISTENCE_PLACES = [
  'etc/crontab',
  'etc/anacrontab',
  'etc/cron.d',
  'etc/cron.hourly',
  'etc/cron.daily',
  'etc/cron.weekly',
  'etc/cron.monthly',
  'var/spool/cron',
  'etc/systemd/system',
  'run/systemd/system',
  'usr/lib/systemd/system',
  'usr/local/lib/systemd/system',
  'lib/systemd/system',
  'etc/rc.local',
  'etc/rc.d/rc.local',
  'etc/init.d',
  'etc/profile',
  'etc/profile.d',
  'etc/bash.bashrc',
  'etc/bashrc',
  'etc/zshrc',
  'etc/zsh',
  'etc/ld.so.preload',
] as const;

/** Per-account places, under root's home and each home directory. */
const ACCOUNT_PLACES = [
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.profile',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.config/systemd/user',
] as const;
const MAX_HOMES = 1000;
const MAX_PLACE_ISSUES = 1000;
const MAX_WATCHERS = 4096;

/** The static places plus every account's rc files and user units (homes listed afresh, bounded). */
export function persistencePlaces(root: string): string[] {
  const homes = ['root'];
  try {
    for (const name of readdirSync(join(root, 'home')).slice(0, MAX_HOMES))
      if (!name.startsWith('.')) homes.push(`home/${name}`);
  } catch {
    // no /home: root's own files only
  }
  return [...PERSISTENCE_PLACES, ...homes.flatMap((h) => ACCOUNT_PLACES.map((f) => `${h}/${f}`))];
}

export interface WatchOptions {
  policy: Policy;
  /** Sampling interval in ms. */
  intervalMs: number;
  /** Stop after this long (ms); undefined: until `stop()`. */
  durationMs?: number;
  /** Filesystem roots whose persistence places are watched (`/`, or a sandbox). */
  roots: string[];
  /** How often persistence places are fully rescanned (watches miss events). */
  rescanMs?: number;
  procRoot?: string;
  hostName?: string;
  intelFiles?: string[];
  ruleDirs?: string[];
  onFinding: (finding: Finding, revision: number) => void;
  /**
   * Every event the detector is given (samples, and the persistence entries of files read), as read,
   * before the detector sees it: what `watch --server` forwards to serve.
   */
  onEvent?: (event: CoalEvent) => void;
  onIssue?: (issue: Issue) => void;
  /** Called after every sample, for status lines. */
  onSample?: (stats: SampleStats, visibility: string[]) => void;
  /** Called after every sample with the kinds of gap it met, counted (`watch --server`'s heartbeat). */
  onGaps?: (gaps: SensorGap[]) => void;
  now?: () => number;
  /**
   * `watch --inspect`: a process holding sustained CPU has its memory scanned (run/inspect.ts, rate
   * limited by HotProcesses) and the matches go to the detector as process evidence.
   */
  inspect?: HotOptions & {
    /** The user's YARA rule files or directories; the bundled rules are always loaded (on the inspect thread). */
    yara?: string[];
    onInspection?: (p: ProcessInspection) => void;
    /** Each probe for hidden pids made when the host's CPU outran its listed processes (HiddenCpuTrigger). */
    onHiddenScan?: (scan: HiddenScan, gapPct: number) => void;
  };
}

export interface WatchRun {
  /** Resolves when the run ends (duration reached or `stop()`), after the last findings are out. */
  done: Promise<WatchTotals>;
  stop: () => void;
}

export interface WatchTotals {
  samples: number;
  events: number;
  findings: number;
  persistenceFiles: number;
  /** Wall time of the /proc samples (slowest as it goes, mean when the run ends; ms): what the sensor costs here. */
  sampleMs: { mean: number; max: number };
  /** Telemetry the sensor could not see (unprivileged, races), from the last sample. */
  visibility: string[];
}

/** How long `watch --inspect` probes pids for hidden ones when a host's CPU is unaccounted for. */
const HIDDEN_SCAN_BUDGET_MS = 5_000;

export async function startWatch(options: WatchOptions): Promise<WatchRun> {
  const now = options.now ?? (() => Date.now());
  const report = (i: Issue) => options.onIssue?.(i);
  const totals: WatchTotals = {
    samples: 0,
    events: 0,
    findings: 0,
    persistenceFiles: 0,
    sampleMs: { mean: 0, max: 0 },
    visibility: [],
  };
  let sampleMsSum = 0;
  const detector = await LiveDetector.create({
    policy: options.policy,
    intelFiles: options.intelFiles,
    ruleDirs: options.ruleDirs,
    // events come from one sampler in time order: nothing to wait for
    allowedLatenessMs: 0,
    now,
    onFinding: (f, revision) => {
      totals.findings++;
      options.onFinding(f, revision);
    },
    onIssue: report,
  });
  // container names come from the runtimes' state on the host's own filesystem: the first root watched
  const containers = new ContainerResolver(options.roots[0] ?? '/');
  const sampler = new ProcSampler({ root: options.procRoot, hostName: options.hostName, containers });
  const inspect = options.inspect;
  const hot = inspect ? new HotProcesses(inspect) : undefined;
  // scans and probes run on their own thread: sampling goes on while one takes seconds
  const scanner = inspect
    ? new InspectThread({ yara: inspect.yara ?? [], procRoot: options.procRoot }, report)
    : undefined;
  /** Every event read goes to `onEvent`, then to the detector: a sample's, and a scan's or probe's when it answers. */
  const push = (events: readonly CoalEvent[]) => {
    for (const e of events) {
      options.onEvent?.(e);
      detector.push(e);
    }
  };
  /** Scans and probes asked and not yet reported. */
  const scans = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    scans.add(p);
    const done = () => void scans.delete(p);
    p.then(done, done);
  };
  const scanFailed = (err: unknown) =>
    report({
      file: 'inspect',
      code: 'INSPECT_FAILED',
      reason: err instanceof Error ? err.message : String(err),
      stage: 'reading',
    });
  // CPU the listed processes do not account for: the pids behind it are looked for (a hider at work)
  const hiddenCpu = inspect ? new HiddenCpuTrigger({ gapPct: options.policy.thresholds.hiddenCpuGapPct }) : undefined;

  // persistence: a file is (re)read when its mtime or size changed since it was last read
  const seen = new Map<string, string>();
  const placeIssues = new Set<string>();
  let dirty = true;
  // fs.watch on Linux sees only a directory's own entries, so each place and every directory the
  // rescan walks under it gets one (var/spool/cron/crontabs under var/spool/cron); new ones join on rescans
  const watchers = new Map<string, FSWatcher>();
  const watchPath = (path: string): void => {
    if (watchers.has(path) || watchers.size >= MAX_WATCHERS) return;
    try {
      watchers.set(
        path,
        fsWatch(path, { persistent: false }, () => {
          dirty = true;
        }).on('error', () => watchers.delete(path)),
      );
    } catch {
      // absent places are normal; the rescan finds them if they appear
    }
  };
  // absent places and empty files are not problems for a live sensor; the rest is said once, not every rescan
  const reportPlace = (i: Issue): void => {
    if ((i.code === 'INPUT_UNREADABLE' && /ENOENT/.test(i.reason)) || i.code === 'INPUT_EMPTY') return;
    const key = `${i.file}|${i.code}|${i.reason}`;
    if (placeIssues.has(key) || placeIssues.size >= MAX_PLACE_ISSUES) return;
    placeIssues.add(key);
    report(i);
  };
  const readPersistence = async () => {
    for (const root of options.roots) {
      const stampOf = (mtimeMs: number, size: number) => `${mtimeMs}|${size}`;
      const places = persistencePlaces(root);
      for (const place of places) watchPath(join(root, place));
      const files = await rootInputs(root, places, sampler.hostName, reportPlace, {
        unchanged: (path, mtimeMs, size) => seen.get(path) === stampOf(mtimeMs, size),
        onDirectory: watchPath,
      });
      for (const f of files) {
        seen.set(f.input.name, stampOf(f.input.mtimeMs ?? 0, f.sizeBytes));
        if (await detector.readState(f, report, options.onEvent)) totals.persistenceFiles++;
      }
    }
  };

  const started = now();
  const rescanMs = options.rescanMs ?? 30_000;
  let lastRescan = Number.NEGATIVE_INFINITY;
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async (): Promise<WatchTotals> => {
    try {
      while (!stopped) {
        const t = now();
        if (dirty || t - lastRescan >= rescanMs) {
          dirty = false;
          lastRescan = t;
          await readPersistence();
        }
        const { events, stats } = await sampler.sample(t);
        totals.samples++;
        sampleMsSum += stats.durationMs;
        totals.sampleMs.max = Math.max(totals.sampleMs.max, stats.durationMs);
        totals.events += events.length;
        push(events);
        const due = hot?.observe(events, t);
        if (due && scanner && inspect) {
          track(
            scanner.inspect(due.pid).then((inspection) => {
              inspect.onInspection?.(inspection);
              if (inspection.entityId === due.entityId)
                push(inspectionEvents(inspection, sampler.hostName, Math.max(t, now())));
            }, scanFailed),
          );
        }
        if (hiddenCpu?.observe(events, t) && scanner && inspect) {
          // a probe of every pid is seconds of stats: bounded, and at most once per trigger interval
          const gapPct = hiddenCpu.lastGapPct;
          track(
            scanner.probeHidden(HIDDEN_SCAN_BUDGET_MS).then((scan) => {
              inspect.onHiddenScan?.(scan, gapPct);
              push(hiddenProcessEvents(scan.hidden, sampler.hostName, Math.max(t, now())));
            }, scanFailed),
          );
        }
        detector.tick(t);
        totals.visibility = sampler.visibility();
        options.onSample?.(stats, totals.visibility);
        options.onGaps?.(sampleGaps(stats, containers.unresolved));
        if (options.durationMs !== undefined && now() - started >= options.durationMs) break;
        const wait = options.intervalMs - (now() - t);
        if (wait > 0)
          await sleep(options.durationMs === undefined ? wait : Math.min(wait, started + options.durationMs - now()));
      }
      // a scan or probe still running reports first (each is bounded: 10 s a process, 5 s a probe)
      while (scans.size > 0) await Promise.allSettled([...scans]);
      // closing every window reports what only holds at close (informational node traffic)
      detector.end();
      if (totals.samples > 0) totals.sampleMs.mean = Math.round((sampleMsSum / totals.samples) * 10) / 10;
      return totals;
    } finally {
      for (const w of watchers.values()) w.close();
      await scanner?.close();
    }
  };
  return { done: loop(), stop };
}
