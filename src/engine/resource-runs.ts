/**
 * Runs of resource samples at or above a bar, shared by every subject the engine judges (a process, a
 * host, a container, a cloud instance): the dip rule for CPU and GPU alike, and the GPU run itself
 * (how long it held, how busy the GPU was before it, the GPU-time it used). No I/O, no clock.
 */
import type { CoalEvent } from '../model/event.js';
import type { Thresholds } from '../model/policy.js';

/** Samples a history needs before it can say what is normal for its subject. */
export const BASELINE_MIN_SAMPLES = 12;
/** A sample stands for at most this much time when usage is summed: a gap in sampling is not usage. */
export const MAX_SAMPLE_SPAN_MS = 5 * 60 * 1000;
/** The longest dip below the bar a sustained run absorbs, as a share of the sustain window. */
const MAX_DIP_SHARE = 0.1;
/** Share of a GPU's earlier samples at or above the bar from which busy is what is normal for it. */
const GPU_BUSY_SHARE = 0.25;

/** What a sample carried too late to count (older than its subject's newest): the caller counts it. */
export type LateSample = 'CPU' | 'GPU';

/** Where a late sample is counted and named: what it carried and whose it was ('process', 'host', 'container', 'instance'). */
export type LateSampleNote = (event: CoalEvent, what: LateSample, of: string) => void;

/** A duration as the explanations write it. */
export function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`; // live runs may sustain for seconds (watch --sustain)
  return ms >= 3600000 ? `${(ms / 3600000).toFixed(1)}h` : `${Math.round(ms / 60000)}m`;
}

/**
 * One sample of a run of high samples. A miner sharing a busy machine dips now and then: only a dip
 * longer than a tenth of the window ends the run. 'start': a run begins (the caller resets its sums);
 * 'end': a dip ended it; 'on': inside a run (dip or not); 'off': no run.
 */
export function stepRun(
  run: { highSince?: number; lowSince?: number },
  ts: number,
  high: boolean,
  sustainMs: number,
): 'start' | 'on' | 'end' | 'off' {
  if (high) {
    run.lowSince = undefined;
    if (run.highSince !== undefined) return 'on';
    run.highSince = ts;
    return 'start';
  }
  if (run.highSince === undefined) return 'off';
  run.lowSince ??= ts;
  if (ts - run.lowSince <= sustainMs * MAX_DIP_SHARE) return 'on';
  run.highSince = undefined;
  run.lowSince = undefined;
  return 'end';
}

/**
 * A run of GPU samples at or above the bar, for a process (percent of one GPU), a host, container or
 * instance (percent of all its GPUs): the CPU run rule (short dips absorbed, a sampling gap longer than
 * the sustain time breaks it), and how often it was busy before, so a GPU that is always busy (a
 * training box) says so.
 */
export interface GpuRun {
  highSince?: number;
  lowSince?: number;
  /** Time of the newest sample (0: none yet). */
  lastTs: number;
  runSum: number;
  runN: number;
  peakPct: number;
  emitted: boolean;
  /** Samples so far, and how many were at or above the bar: what is normal for this GPU. */
  samples: number;
  highSamples: number;
  /** Those counts as they stood when the current run began. */
  runSamples: number;
  runHighSamples: number;
  /** GPU-milliseconds spent at or above the bar (utilisation × GPUs × time), for the cost. */
  highGpuMs: number;
}

export function newGpuRun(): GpuRun {
  return {
    highSince: undefined,
    lowSince: undefined,
    lastTs: 0,
    runSum: 0,
    runN: 0,
    peakPct: 0,
    emitted: false,
    samples: 0,
    highSamples: 0,
    runSamples: 0,
    runHighSamples: 0,
    highGpuMs: 0,
  };
}

/** A sample's GPU utilisation, when it carries a usable one. */
export function gpuPctOf(event: CoalEvent): number | undefined {
  const pct = event.metrics?.gpu_pct;
  return pct !== undefined && Number.isFinite(pct) && pct >= 0 ? pct : undefined;
}

/**
 * One GPU sample into its run. `pct` is the percent of all `gpus` GPUs (a host's, an instance's), or,
 * with `gpus` undefined, percent of one GPU summed over those used (a process's, a container's: 200 is
 * two GPUs pegged). 'sustained': the run has just held the bar for the sustain time (once per run);
 * 'late': older than the newest sample, it neither starts nor extends a run and adds no GPU-time (the
 * caller counts it); 'counted' otherwise.
 */
export function gpuSample(
  run: GpuRun,
  ts: number,
  pct: number,
  gpus: number | undefined,
  t: Thresholds,
): 'sustained' | 'late' | 'counted' {
  if (run.lastTs > 0 && ts < run.lastTs) return 'late';
  const prevTs = run.lastTs > 0 ? run.lastTs : undefined;
  if (prevTs !== undefined && ts - prevTs > t.sustainMs) {
    // a gap in sampling breaks the run: we cannot claim it stayed high
    run.highSince = undefined;
    run.lowSince = undefined;
    run.emitted = false;
  }
  run.lastTs = ts;
  const high = pct >= t.gpuPct;
  if (high && prevTs !== undefined) {
    const used = gpus === undefined ? pct / 100 : (Math.min(pct, 100) / 100) * gpus;
    run.highGpuMs += used * Math.min(ts - prevTs, MAX_SAMPLE_SPAN_MS);
  }
  const step = stepRun(run, ts, high, t.sustainMs);
  if (step === 'start') {
    run.runSum = 0;
    run.runN = 0;
    run.peakPct = 0;
    run.runSamples = run.samples;
    run.runHighSamples = run.highSamples;
  } else if (step === 'end') run.emitted = false;
  let sustained = false;
  if (run.highSince !== undefined) {
    run.runSum += pct;
    run.runN++;
    if (pct > run.peakPct) run.peakPct = pct;
    if (!run.emitted && high && ts - run.highSince >= t.sustainMs && run.runSum / run.runN >= t.gpuPct) {
      run.emitted = true;
      sustained = true;
    }
  }
  run.samples++;
  if (high) run.highSamples++;
  return sustained ? 'sustained' : 'counted';
}

/**
 * Sustained GPU, as a signal's kind, strength and words: medium when the GPU was mostly below the bar
 * before the run (a departure from its own normal), weak when it was often busy before (a training or
 * rendering box) or there is no history yet: GPU machines exist to be busy, so utilisation alone never
 * makes the resource leg without that contrast. The history is a share of samples, not a moving mean,
 * so a pause between two training jobs does not make the next one look new. `fromLaunch` is the one
 * other contrast: a cloud instance pinned from its launch (a launch's own authorization is judged apart).
 */
export function sustainedGpu(
  who: string,
  of: string,
  run: GpuRun,
  t: Thresholds,
  ts: number,
  fromLaunch?: string,
): { kind: 'sustained-gpu'; strength: 'weak' | 'medium'; explanation: string } {
  const mean = run.runSum / run.runN;
  const known = run.runSamples >= BASELINE_MIN_SAMPLES;
  const busyShare = known ? run.runHighSamples / run.runSamples : 0;
  const expected = known && busyShare >= GPU_BUSY_SHARE;
  const strength = (known && !expected) || (!known && fromLaunch !== undefined) ? 'medium' : 'weak';
  const heldMs = ts - (run.highSince ?? ts);
  const history = known
    ? `; before it, ${Math.round(busyShare * 100)}% of ${run.runSamples} samples were at or above the bar${expected ? ' (busy is normal for it)' : ''}`
    : fromLaunch !== undefined
      ? `; ${fromLaunch}`
      : '; too few earlier samples to say what is normal for it';
  return {
    kind: 'sustained-gpu',
    strength,
    explanation: `${who} held ≥${t.gpuPct}% of ${of} for ${minutes(heldMs)} (mean ${mean.toFixed(0)}%, peak ${run.peakPct.toFixed(0)}%)${history}`,
  };
}
