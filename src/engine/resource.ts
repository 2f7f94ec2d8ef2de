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
import { basename, type CpuTrack, type GpuRun, type ProcInfo } from './process-table.js';

/** Samples a baseline needs before it can call a high run "normal for this process". */
const BASELINE_MIN_SAMPLES = 12;
const BASELINE_ALPHA = 0.1;
/** Process samples older than this are not summed against a host sample. */
const PROCESS_SAMPLE_MAX_AGE_MS = 5 * 60 * 1000;
/** A sample stands for at most this much time when CPU is summed: a gap in sampling is not usage. */
const MAX_SAMPLE_SPAN_MS = 5 * 60 * 1000;

/** Core-milliseconds a sample of `pct` (percent of one core) stands for since the previous one at `prevTs`. */
function coreMsOf(pct: number, ts: number, prevTs: number | undefined): number {
  if (prevTs === undefined || ts <= prevTs) return 0;
  return (pct / 100) * Math.min(ts - prevTs, MAX_SAMPLE_SPAN_MS);
}

function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`; // live runs may sustain for seconds (watch --sustain)
  return ms >= 3600000 ? `${(ms / 3600000).toFixed(1)}h` : `${Math.round(ms / 60000)}m`;
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

/** The longest dip below the threshold a sustained run absorbs, as a share of the sustain window. */
const MAX_DIP_SHARE = 0.1;

/**
 * One sample of a run of high samples, for a process and a host alike. A miner sharing a busy host
 * dips now and then: only a dip longer than a tenth of the window ends the run. 'start': a run begins
 * (the caller resets its sums); 'end': a dip ended it; 'on': inside a run (dip or not); 'off': no run.
 */
function stepRun(
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
 * A process's resource sample: sustained CPU, high memory, sustained GPU. True when it carried CPU too late
 * to count (`isLateCpuSample`): the caller counts it, so the run says what it left out.
 */
export function observeProcessResources(
  event: CoalEvent,
  proc: ProcInfo,
  host: HostState,
  t: Thresholds,
  out: Signal[],
): boolean {
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
  if (gpuPct !== undefined) {
    host.see('gpu', event);
    proc.gpu ??= newGpuRun();
    if (gpuSample(proc.gpu, ts, gpuPct, 1, t))
      out.push(
        signalFor(event, { ...sustainedGpu(label(proc), 'a GPU', proc.gpu, t, event.coalmine.ts), class: 'resource' }),
      );
  }
  return late;
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
 * A host-level sample (metric without a process): sustained host CPU, hidden CPU, sustained GPU. True when
 * its CPU is older than the host's newest CPU sample: late, it counts for no run, cost or series (as in
 * `isLateCpuSample`), and the caller counts it.
 */
export function observeHostResources(event: CoalEvent, host: HostState, t: Thresholds, out: Signal[]): boolean {
  const gpuPct = gpuPctOf(event);
  if (gpuPct !== undefined) {
    const gpus = event.metrics?.gpus;
    if (gpus !== undefined && Number.isFinite(gpus) && gpus > 0) host.gpus = gpus;
    host.see('gpu', event);
    host.gpu ??= newGpuRun();
    if (gpuSample(host.gpu, event.coalmine.ts, gpuPct, host.gpus ?? 1, t)) {
      const of = host.gpus ? `its ${host.gpus} GPUs` : 'its GPUs';
      const spec = sustainedGpu(`host ${host.name}`, of, host.gpu, t, event.coalmine.ts);
      out.push(hostSignal(event, { ...spec, by: 'engine:host-gpu' }));
    }
  }
  const pct = event.metrics?.cpu_pct;
  if (pct === undefined) return false;
  const ts = event.coalmine.ts;
  host.see('host-cpu', event);
  if (event.metrics?.cores) host.cores = event.metrics.cores;
  const run = host.cpu;
  if (run.lastTs > 0 && ts < run.lastTs) return true;
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
  if (!host.has('process-cpu')) return false;
  const { sum, count } = host.processCpuSum(ts, PROCESS_SAMPLE_MAX_AGE_MS);
  if (count === 0) return false;
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
  return false;
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

/** A sample's GPU utilisation, when it carries a usable one. */
function gpuPctOf(event: CoalEvent): number | undefined {
  const pct = event.metrics?.gpu_pct;
  return pct !== undefined && Number.isFinite(pct) && pct >= 0 ? pct : undefined;
}

function newGpuRun(): GpuRun {
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

/** One GPU sample into its run; true when the run has just held the bar for the sustain time (once per run). */
function gpuSample(run: GpuRun, ts: number, pct: number, gpus: number, t: Thresholds): boolean {
  // a sample older than the newest is late: it neither starts nor extends a run
  if (run.lastTs > 0 && ts < run.lastTs) return false;
  const prevTs = run.lastTs > 0 ? run.lastTs : undefined;
  if (prevTs !== undefined && ts - prevTs > t.sustainMs) {
    // a gap in sampling breaks the run: we cannot claim it stayed high
    run.highSince = undefined;
    run.lowSince = undefined;
    run.emitted = false;
  }
  run.lastTs = ts;
  const high = pct >= t.gpuPct;
  if (high && prevTs !== undefined)
    run.highGpuMs += (Math.min(pct, 100 * gpus) / 100) * gpus * Math.min(ts - prevTs, MAX_SAMPLE_SPAN_MS);
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
  return sustained;
}

/** Share of a GPU's earlier samples above the bar from which busy is what is normal for it. */
const GPU_BUSY_SHARE = 0.25;

/**
 * Sustained GPU, as a signal's kind, strength and words: medium when the GPU was mostly below the bar
 * before the run (a departure from its own normal), weak when it was often busy before (a training or rendering box) or there is no history yet:
 * GPU hosts exist to be busy, so utilisation alone never makes the resource leg without that contrast.
 * The history is a share of samples, not a moving mean, so a pause between two training jobs does not
 * make the next one look new.
 */
function sustainedGpu(
  who: string,
  of: string,
  run: GpuRun,
  t: Thresholds,
  ts: number,
): { kind: 'sustained-gpu'; strength: 'weak' | 'medium'; by: string; explanation: string } {
  const mean = run.runSum / run.runN;
  const known = run.runSamples >= BASELINE_MIN_SAMPLES;
  const busyShare = known ? run.runHighSamples / run.runSamples : 0;
  const expected = known && busyShare >= GPU_BUSY_SHARE;
  const strength = known && !expected ? 'medium' : 'weak';
  const heldMs = ts - (run.highSince ?? ts);
  const history = known
    ? `; before it, ${Math.round(busyShare * 100)}% of ${run.runSamples} samples were at or above the bar${expected ? ' (busy is normal for it)' : ''}`
    : '; too few earlier samples to say what is normal for it';
  return {
    kind: 'sustained-gpu',
    strength,
    by: 'engine:gpu',
    explanation: `${who} held ≥${t.gpuPct}% of ${of} for ${minutes(heldMs)} (mean ${mean.toFixed(0)}%, peak ${run.peakPct.toFixed(0)}%)${history}`,
  };
}
