/**
 * Resource evidence, which needs memory across events: sustained CPU per process (relative to a
 * threshold, the process's own baseline and the host's cores), high memory, and hidden CPU (host
 * CPU far above what its processes account for). High CPU is evidence, never a finding on its own.
 */
import { hostKeyOf } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Thresholds } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { signalFor } from '../signals/make.js';
import { CpuSeries } from './cpu-series.js';
import type { HostState } from './host-state.js';
import { basename, type CpuTrack, type ProcInfo } from './process-table.js';
import {
  BASELINE_MIN_SAMPLES,
  gpuPctOf,
  gpuSample,
  type LateSample,
  MAX_SAMPLE_SPAN_MS,
  minutes,
  newGpuRun,
  stepRun,
  sustainedGpu,
} from './resource-runs.js';

const BASELINE_ALPHA = 0.1;
/** Process samples older than this are not summed against a host sample. */
const PROCESS_SAMPLE_MAX_AGE_MS = 5 * 60 * 1000;

/** Core-milliseconds a sample of `pct` (percent of one core) stands for since the previous one at `prevTs`. */
function coreMsOf(pct: number, ts: number, prevTs: number | undefined): number {
  if (prevTs === undefined || ts <= prevTs) return 0;
  return (pct / 100) * Math.min(ts - prevTs, MAX_SAMPLE_SPAN_MS);
}

function newTrack(ts: number): CpuTrack {
  return {
    lastSampleTs: ts,
    lastPct: 0,
    peakPct: 0,
    runSum: 0,
    runN: 0,
    baselinePct: 0,
    baselineSamples: 0,
    runBaselinePct: 0,
    runBaselineSamples: 0,
    sustainedEmitted: false,
    memHighEmitted: false,
    coreMs: 0,
  };
}

/**
 * A process CPU sample older than the newest one of its process: late (another file's overlapping
 * samples, a live stream's stragglers). It neither starts, extends nor ends a run, adds no cost and
 * moves no clock, as a late GPU sample (`gpuSample`): taken in, it would date a run before samples
 * already counted, and its held time would go negative.
 */
function isLateCpuSample(event: CoalEvent, track: CpuTrack): boolean {
  const m = event.metrics;
  if (m?.cpu_pct === undefined && m?.cpu_time_ms === undefined) return false;
  const ts = event.coalmine.ts;
  return (track.sampled === true && ts < track.lastSampleTs) || (track.lastCpuTs !== undefined && ts < track.lastCpuTs);
}

/** CPU rate of a process sample, percent of one core: a direct rate, or the delta of a cumulative counter. */
function sampleCpuPct(event: CoalEvent, track: CpuTrack): number | undefined {
  const m = event.metrics;
  if (!m) return undefined;
  if (m.cpu_pct !== undefined) return m.cpu_pct;
  if (m.cpu_time_ms === undefined) return undefined;
  const ts = event.coalmine.ts;
  const prev = track.lastCpuTimeMs;
  const prevTs = track.lastCpuTs;
  track.lastCpuTimeMs = m.cpu_time_ms;
  track.lastCpuTs = ts;
  if (prev === undefined || prevTs === undefined || ts <= prevTs || m.cpu_time_ms < prev) return undefined;
  return ((m.cpu_time_ms - prev) / (ts - prevTs)) * 100;
}

/**
 * A process's resource sample: sustained CPU, high memory, sustained GPU. Says when it carried CPU or
 * GPU too late to count (`isLateCpuSample`, `gpuSample`), so the run says what it left out.
 */
export function observeProcessResources(
  event: CoalEvent,
  proc: ProcInfo,
  host: HostState,
  t: Thresholds,
  out: Signal[],
): LateSample | undefined {
  const ts = event.coalmine.ts;
  proc.cpu ??= newTrack(ts);
  const track = proc.cpu;
  const late = isLateCpuSample(event, track);
  const pct = late ? undefined : sampleCpuPct(event, track);
  // the telemetry is there from the first counter, even before two samples make a rate (watch's first tick)
  if (event.metrics?.cpu_pct !== undefined || event.metrics?.cpu_time_ms !== undefined) host.see('process-cpu', event);
  if (pct !== undefined) {
    host.noteProcessCpu(proc.key, pct, ts);
    track.coreMs += coreMsOf(pct, ts, track.sampled ? track.lastSampleTs : undefined);
    track.sampled = true;
    if (!track.series && pct >= t.processCpuPct) track.series = new CpuSeries();
    track.series?.push(ts, pct);
    if (track.highSince !== undefined && ts - track.lastSampleTs > t.sustainMs) {
      track.highSince = undefined; // a gap in sampling breaks the run: we cannot claim it stayed high
      track.sustainedEmitted = false;
    }
    track.lastPct = pct;
    const high = pct >= t.processCpuPct;
    const step = stepRun(track, ts, high, t.sustainMs);
    if (step === 'start') {
      track.runSum = 0;
      track.runN = 0;
      track.peakPct = 0;
      track.runBaselinePct = track.baselinePct;
      track.runBaselineSamples = track.baselineSamples;
    } else if (step === 'end') track.sustainedEmitted = false;
    if (track.highSince !== undefined) {
      track.runSum += pct;
      track.runN++;
      if (pct > track.peakPct) track.peakPct = pct;
      const heldMs = ts - track.highSince;
      // the dips count in the mean: the run as a whole must clear the threshold
      if (!track.sustainedEmitted && high && heldMs >= t.sustainMs && track.runSum / track.runN >= t.processCpuPct) {
        track.sustainedEmitted = true;
        out.push(sustainedCpuSignal(event, proc, host, track, heldMs, t));
      }
    }
    track.baselinePct =
      track.baselineSamples === 0 ? pct : track.baselinePct + BASELINE_ALPHA * (pct - track.baselinePct);
    track.baselineSamples++;
    track.lastSampleTs = ts;
  }
  const mem = event.metrics?.mem_pct;
  if (mem !== undefined) {
    if (mem >= t.memPct && !track.memHighEmitted) {
      track.memHighEmitted = true;
      out.push(
        signalFor(event, {
          kind: 'high-memory',
          class: 'resource',
          strength: 'weak',
          by: 'engine:memory',
          explanation: `${label(proc)} used ${mem.toFixed(0)}% of memory (threshold ${t.memPct}%)`,
        }),
      );
    } else if (mem < t.memPct) track.memHighEmitted = false;
  }
  const gpuPct = gpuPctOf(event);
  let lateGpu = false;
  if (gpuPct !== undefined) {
    host.see('gpu', event);
    proc.gpu ??= newGpuRun();
    const step = gpuSample(proc.gpu, ts, gpuPct, undefined, t);
    lateGpu = step === 'late';
    if (step === 'sustained') {
      const spec = sustainedGpu(label(proc), 'a GPU', proc.gpu, t, event.coalmine.ts);
      out.push(signalFor(event, { ...spec, class: 'resource', by: 'engine:gpu' }));
    }
  }
  return late ? 'CPU' : lateGpu ? 'GPU' : undefined;
}

function label(proc: ProcInfo): string {
  const name = proc.name ?? (proc.executable ? basename(proc.executable) : 'process');
  return `${name} (pid ${proc.pid ?? '?'})`;
}

function sustainedCpuSignal(
  event: CoalEvent,
  proc: ProcInfo,
  host: HostState,
  track: CpuTrack,
  heldMs: number,
  t: Thresholds,
): Signal {
  const mean = track.runSum / track.runN;
  const cores = host.cores;
  const share = cores ? ` = ${((mean / (cores * 100)) * 100).toFixed(0)}% of ${cores} cores` : '';
  const expected = track.runBaselineSamples >= BASELINE_MIN_SAMPLES && track.runBaselinePct >= t.processCpuPct;
  const mostOfMachine = cores !== undefined && mean >= cores * 50;
  const strength = expected ? 'weak' : mostOfMachine ? 'strong' : 'medium';
  const baselineNote =
    track.runBaselineSamples >= BASELINE_MIN_SAMPLES
      ? `; its baseline was ${track.runBaselinePct.toFixed(0)}%${expected ? ' (high is normal for it)' : ''}`
      : '';
  return signalFor(event, {
    kind: 'sustained-cpu',
    class: 'resource',
    strength,
    by: 'engine:cpu',
    explanation: `${label(proc)} held ≥${t.processCpuPct}% of a core for ${minutes(heldMs)} (mean ${mean.toFixed(0)}%${share}, peak ${track.peakPct.toFixed(0)}%)${baselineNote}`,
  });
}

/**
 * A host-level sample (metric without a process): sustained host CPU, hidden CPU, sustained GPU. Says
 * when its CPU (or GPU) is older than the host's newest such sample: late, it counts for no run, cost or
 * series (as in `isLateCpuSample`), and the caller counts it.
 */
export function observeHostResources(
  event: CoalEvent,
  host: HostState,
  t: Thresholds,
  out: Signal[],
): LateSample | undefined {
  const gpuPct = gpuPctOf(event);
  let lateGpu = false;
  if (gpuPct !== undefined) {
    const gpus = event.metrics?.gpus;
    if (gpus !== undefined && Number.isFinite(gpus) && gpus > 0) host.gpus = gpus;
    host.see('gpu', event);
    host.gpu ??= newGpuRun();
    const step = gpuSample(host.gpu, event.coalmine.ts, gpuPct, host.gpus ?? 1, t);
    lateGpu = step === 'late';
    if (step === 'sustained') {
      const of = host.gpus ? `its ${host.gpus} GPUs` : 'its GPUs';
      const spec = sustainedGpu(`host ${host.name}`, of, host.gpu, t, event.coalmine.ts);
      out.push(hostSignal(event, { ...spec, by: 'engine:host-gpu' }));
    }
  }
  const pct = event.metrics?.cpu_pct;
  if (pct === undefined) return lateGpu ? 'GPU' : undefined;
  const ts = event.coalmine.ts;
  host.see('host-cpu', event);
  if (event.metrics?.cores) host.cores = event.metrics.cores;
  const run = host.cpu;
  if (run.lastTs > 0 && ts < run.lastTs) return 'CPU';
  const prevTs = run.lastTs > 0 ? run.lastTs : undefined;
  if (ts - run.lastTs > t.sustainMs) {
    run.highSince = undefined;
    run.hiddenSince = undefined;
  }
  run.lastTs = ts;
  host.cpuSeries ??= new CpuSeries();
  host.cpuSeries.push(ts, pct);
  // host CPU above the bar, in core-ms: what a host-level finding's cost is counted from
  if (pct >= t.hostCpuPct) host.highCoreMs += coreMsOf(pct * (host.cores ?? 1), ts, prevTs);
  const high = pct >= t.hostCpuPct;
  if (stepRun(run, ts, high, t.sustainMs) === 'start') {
    run.runSum = 0;
    run.runN = 0;
    run.emittedHigh = false;
  }
  if (run.highSince !== undefined) {
    run.runSum += pct;
    run.runN++;
    if (!run.emittedHigh && high && ts - run.highSince >= t.sustainMs && run.runSum / run.runN >= t.hostCpuPct) {
      run.emittedHigh = true;
      out.push(
        hostSignal(event, {
          kind: 'sustained-cpu',
          strength: 'weak',
          by: 'engine:host-cpu',
          explanation: `host ${host.name} CPU held ≥${t.hostCpuPct}% for ${minutes(ts - run.highSince)} (mean ${(run.runSum / run.runN).toFixed(0)}%)`,
        }),
      );
    }
  }

  // Hidden CPU needs per-process telemetry on this host; without it the gap is named, not guessed.
  const late = lateGpu ? 'GPU' : undefined;
  if (!host.has('process-cpu')) return late;
  const { sum, count } = host.processCpuSum(ts, PROCESS_SAMPLE_MAX_AGE_MS);
  if (count === 0) return late;
  const cores = host.cores ?? 1; // unknown cores: assume 1, which makes processes look biggest (fewest alerts)
  const visible = Math.min(100, sum / cores);
  const gap = pct - visible;
  if (gap >= t.hiddenCpuGapPct) {
    if (run.hiddenSince === undefined) {
      run.hiddenSince = ts;
      run.hiddenSum = 0;
      run.hiddenN = 0;
      run.emittedHidden = false;
    }
    run.hiddenSum += gap;
    run.hiddenN++;
    if (!run.emittedHidden && ts - run.hiddenSince >= t.sustainMs) {
      run.emittedHidden = true;
      out.push(
        hostSignal(event, {
          kind: 'hidden-cpu',
          strength: 'medium',
          by: 'engine:hidden-cpu',
          explanation: `host ${host.name} CPU ${pct.toFixed(0)}% while its ${count} sampled processes account for ${visible.toFixed(0)}%${host.cores ? '' : ' (core count unknown, assumed 1)'}: ${(run.hiddenSum / run.hiddenN).toFixed(0)} points unexplained for ${minutes(ts - run.hiddenSince)}`,
        }),
      );
    }
  } else run.hiddenSince = undefined;
  return late;
}

function hostSignal(
  event: CoalEvent,
  spec: {
    kind: 'sustained-cpu' | 'hidden-cpu' | 'sustained-gpu';
    strength: 'weak' | 'medium';
    by: string;
    explanation: string;
  },
): Signal {
  const s = signalFor(event, { ...spec, class: 'resource' });
  s.entity = hostKeyOf(event);
  return s;
}
