import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { DEFAULT_THRESHOLDS } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { HostState } from './host-state.js';
import type { ProcInfo } from './process-table.js';
import { observeHostResources, observeProcessResources } from './resource.js';

const T0 = Date.UTC(2025, 0, 1);
function sample(minute: number, metrics: CoalEvent['metrics'], pid?: number): CoalEvent {
  const ts = T0 + minute * 60_000;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'metric', category: [], action: 'metric', dataset: 't' },
    host: { name: 'h1' },
    process: pid === undefined ? undefined : { pid },
    metrics,
    original: {},
    coalmine: { ts, format: 't', ref: { file: 'm.csv', line: minute + 1 } },
  };
}
const proc = (pid: number): ProcInfo => ({
  key: `process:h1:${pid}`,
  host: 'h1',
  pid,
  rootKey: `process:h1:${pid}`,
  name: 'x',
  firstTs: T0,
  lastTs: T0,
  bucket: 0,
});

test('host CPU far above the sum of its processes, sustained, is hidden CPU', () => {
  const host = new HostState('h1', 4);
  const p = proc(10);
  const out: Signal[] = [];
  for (let m = 0; m <= 20; m++) {
    observeProcessResources(sample(m, { cpu_pct: 40 }, 10), p, host, DEFAULT_THRESHOLDS, out);
    observeHostResources(sample(m, { cpu_pct: 96 }), host, DEFAULT_THRESHOLDS, out);
  }
  const hidden = out.filter((s) => s.kind === 'hidden-cpu');
  assert.equal(hidden.length, 1);
  assert.match(hidden[0].explanation, /CPU 96% while its 1 sampled processes account for 10%/);
  assert.equal(hidden[0].entity, 'host:h1');
});

test('no hidden CPU is claimed without per-process telemetry', () => {
  const host = new HostState('h1', 4);
  const out: Signal[] = [];
  for (let m = 0; m <= 30; m++) observeHostResources(sample(m, { cpu_pct: 99 }), host, DEFAULT_THRESHOLDS, out);
  assert.deepEqual(
    out.map((s) => s.kind),
    ['sustained-cpu'],
  );
  assert.equal(out[0].strength, 'weak');
});

test('CPU from cumulative counters (osquery cpu time) is a rate; most of the machine is strong', () => {
  const host = new HostState('h1', 4);
  const p = proc(11);
  const out: Signal[] = [];
  for (let m = 0; m <= 16; m++)
    observeProcessResources(sample(m, { cpu_time_ms: m * 60_000 * 3.9 }, 11), p, host, DEFAULT_THRESHOLDS, out);
  const s = out.find((x) => x.kind === 'sustained-cpu');
  assert.ok(s);
  assert.equal(s.strength, 'strong');
  assert.match(s.explanation, /mean 390% = 98% of 4 cores/);
});

test('a process that is always busy has a high baseline: its next sustained run is weak evidence', () => {
  const host = new HostState('h1', 8);
  const p = proc(12);
  const out: Signal[] = [];
  for (let m = 0; m <= 30; m++)
    observeProcessResources(sample(m, { cpu_pct: 95 }, 12), p, host, DEFAULT_THRESHOLDS, out);
  // a dip longer than a tenth of the window (1.5 of 15 minutes) ends the run
  for (let m = 31; m <= 33; m++)
    observeProcessResources(sample(m, { cpu_pct: 70 }, 12), p, host, DEFAULT_THRESHOLDS, out);
  for (let m = 34; m <= 52; m++)
    observeProcessResources(sample(m, { cpu_pct: 95 }, 12), p, host, DEFAULT_THRESHOLDS, out);
  const runs = out.filter((x) => x.kind === 'sustained-cpu');
  assert.deepEqual(
    runs.map((r) => r.strength),
    ['medium', 'weak'],
  );
  assert.match(runs[1].explanation, /high is normal for it/);
});

test('a sustained run absorbs short dips (a miner on a busy host) but not long ones, and its mean must clear the bar', () => {
  const host = new HostState('h1', 8);
  const t = DEFAULT_THRESHOLDS;
  // one-minute dips every five minutes: still one run, reported at 15 minutes with the dips in its mean
  const dippy = proc(20);
  const a: Signal[] = [];
  for (let m = 0; m <= 15; m++)
    observeProcessResources(sample(m, { cpu_pct: m % 5 === 4 ? 30 : 95 }, 20), dippy, host, t, a);
  const run = a.filter((x) => x.kind === 'sustained-cpu');
  assert.equal(run.length, 1);
  assert.match(run[0].explanation, /for 15 min|for 15m/);
  assert.match(run[0].explanation, /mean 83%/);
  // a three-minute dip from minute 8 starts the clock again: nothing by minute 15
  const broken = proc(21);
  const b: Signal[] = [];
  for (let m = 0; m <= 15; m++)
    observeProcessResources(sample(m, { cpu_pct: m >= 8 && m <= 10 ? 10 : 95 }, 21), broken, host, t, b);
  assert.equal(b.filter((x) => x.kind === 'sustained-cpu').length, 0);
  // high on paper but mostly dips: the run's mean stays under the bar, so it is not sustained
  const flicker = proc(22);
  const c: Signal[] = [];
  for (let m = 0; m <= 20; m++)
    observeProcessResources(sample(m, { cpu_pct: m % 2 === 0 ? t.processCpuPct + 5 : 5 }, 22), flicker, host, t, c);
  assert.equal(c.filter((x) => x.kind === 'sustained-cpu').length, 0);
});

test('per-process CPU telemetry counts as present from the first cumulative counter, before a rate exists', () => {
  const host = new HostState('h1', 2);
  const out: Signal[] = [];
  observeProcessResources(sample(0, { cpu_time_ms: 1000 }, 30), proc(30), host, DEFAULT_THRESHOLDS, out);
  assert.equal(host.has('process-cpu'), true);
  assert.deepEqual(out, []);
});

test('host CPU follows the same dip rule: a short dip is absorbed, a long one restarts the clock', () => {
  const t = DEFAULT_THRESHOLDS;
  const short = new HostState('h1', 4);
  const a: Signal[] = [];
  for (let m = 0; m <= 15; m++) observeHostResources(sample(m, { cpu_pct: m === 7 ? 40 : 97 }), short, t, a);
  assert.equal(a.filter((s) => s.kind === 'sustained-cpu').length, 1);
  const long = new HostState('h2', 4);
  const b: Signal[] = [];
  for (let m = 0; m <= 15; m++) observeHostResources(sample(m, { cpu_pct: m >= 7 && m <= 9 ? 40 : 97 }), long, t, b);
  assert.equal(b.filter((s) => s.kind === 'sustained-cpu').length, 0);
});

test('GPU: a host whose GPUs were idle and then held above the bar is medium sustained GPU, once per run', () => {
  const host = new HostState('h1', 4);
  const out: Signal[] = [];
  // 20 minutes of an idle GPU (its baseline), then 40 minutes pegged, a 1-minute dip inside
  for (let m = 0; m < 20; m++) observeHostResources(sample(m, { gpu_pct: 3, gpus: 4 }), host, DEFAULT_THRESHOLDS, out);
  assert.equal(out.length, 0);
  for (let m = 20; m <= 60; m++)
    observeHostResources(sample(m, { gpu_pct: m === 30 ? 20 : 98, gpus: 4 }), host, DEFAULT_THRESHOLDS, out);
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength, s.entity, s.by]),
    [['sustained-gpu', 'medium', 'host:h1', 'engine:host-gpu']],
  );
  assert.match(
    out[0].explanation,
    /^host h1 held ≥80% of its 4 GPUs for 15m \(mean 9\d%, peak 98%\); before it, 0% of 20 samples were at or above the bar$/,
  );
  // GPU-hours above the bar: 4 GPUs at 98% for each minute ending in a pegged sample (40 of them)
  assert.ok(
    host.gpu && Math.abs(host.gpu.highGpuMs / 3_600_000 - 0.98 * 4 * (40 / 60)) < 0.01,
    String(host.gpu?.highGpuMs),
  );
});

test('GPU: always busy (a training box) or with no history is weak; a sampling gap breaks the run; CPU runs are untouched', () => {
  const busy = new HostState('h1', 4);
  const out: Signal[] = [];
  for (let m = 0; m <= 60; m++) observeHostResources(sample(m, { gpu_pct: 95 }), busy, DEFAULT_THRESHOLDS, out);
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength]),
    [['sustained-gpu', 'weak']],
  );
  assert.match(out[0].explanation, /of its GPUs for 15m .*too few earlier samples/);

  // a training box: its baseline is high, so a later run is normal for it
  const trainer = new HostState('h1', 4);
  const later: Signal[] = [];
  for (let m = 0; m <= 20; m++) observeHostResources(sample(m, { gpu_pct: 90 }), trainer, DEFAULT_THRESHOLDS, later);
  for (let m = 21; m <= 25; m++) observeHostResources(sample(m, { gpu_pct: 10 }), trainer, DEFAULT_THRESHOLDS, later);
  for (let m = 26; m <= 50; m++) observeHostResources(sample(m, { gpu_pct: 90 }), trainer, DEFAULT_THRESHOLDS, later);
  assert.deepEqual(
    later.map((s) => s.strength),
    ['weak', 'weak'],
  );
  assert.match(later[1].explanation, /81% of 26 samples were at or above the bar \(busy is normal for it\)/);

  // samples 20 minutes apart never make a run of 15 minutes held
  const sparse = new HostState('h1', 4);
  const none: Signal[] = [];
  for (let m = 0; m <= 200; m += 20) observeHostResources(sample(m, { gpu_pct: 99 }), sparse, DEFAULT_THRESHOLDS, none);
  assert.deepEqual(none, []);
  assert.equal(sparse.cpu.highSince, undefined);
});

test('GPU: a process sample in percent of one GPU; a late sample neither starts nor extends the run', () => {
  const host = new HostState('h1', 4);
  const p = proc(10);
  const out: Signal[] = [];
  for (let m = 0; m < 15; m++) observeProcessResources(sample(m, { gpu_pct: 0 }, 10), p, host, DEFAULT_THRESHOLDS, out);
  assert.equal(observeProcessResources(sample(16, { gpu_pct: 100 }, 10), p, host, DEFAULT_THRESHOLDS, out), undefined);
  // late: said so, for the run summary to count
  assert.equal(observeProcessResources(sample(14.5, { gpu_pct: 100 }, 10), p, host, DEFAULT_THRESHOLDS, out), 'GPU');
  for (let m = 17; m <= 32; m++)
    observeProcessResources(sample(m, { gpu_pct: 100 }, 10), p, host, DEFAULT_THRESHOLDS, out);
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength, s.entity]),
    [['sustained-gpu', 'medium', 'process:h1:10']],
  );
  assert.match(out[0].explanation, /^x \(pid 10\) held ≥80% of a GPU for 15m/);
  assert.equal(p.gpu?.runN, 17);

  // two GPUs pegged are 200% of one: two GPU-hours an hour, not one
  const two = proc(11);
  for (let m = 0; m <= 60; m++)
    observeProcessResources(sample(m, { gpu_pct: 200 }, 11), two, host, DEFAULT_THRESHOLDS, []);
  assert.equal(two.gpu?.highGpuMs, 2 * 3_600_000);
});

/** Process samples at `minutes` through one track; what each call returned ('CPU': too late to count). */
function feedProcess(minutes: number[], metricsAt: (m: number) => CoalEvent['metrics']) {
  const host = new HostState('h1', 4);
  const p = proc(40);
  const out: Signal[] = [];
  const late = minutes.map((m) =>
    observeProcessResources(sample(m, metricsAt(m), 40), p, host, DEFAULT_THRESHOLDS, out),
  );
  assert.ok(p.cpu);
  const { series, ...track } = p.cpu;
  return { out: out.map((s) => [s.kind, s.strength, s.explanation]), track, points: series?.points(), late };
}

test('CPU: a process sample older than the newest neither starts, extends nor ends a run, adds no cost, and is counted late', () => {
  const minutes = Array.from({ length: 21 }, (_, m) => m);
  // a dip at minute 12 the run absorbs; the late samples would end the dip (high), restart it (low) or move the clock back
  const pct = (m: number) => ({ cpu_pct: m === 12 ? 10 : 390 });
  const inOrder = feedProcess(minutes, pct);
  const withLate = feedProcess([...minutes.slice(0, 13), 2, 11.5, 0, ...minutes.slice(13), 5], pct);
  assert.deepEqual(withLate.out, inOrder.out);
  assert.match(inOrder.out[0][2], /held ≥80% of a core for 15m/);
  assert.deepEqual(withLate.track, inOrder.track);
  assert.deepEqual(withLate.points, inOrder.points);
  assert.deepEqual(
    withLate.late.map((l, i) => (l ? i : -1)).filter((i) => i >= 0),
    [13, 14, 15, 24],
  );
  assert.ok(inOrder.late.every((l) => !l));

  // newest first: the first sample is the only one counted, so no run of negative length is ever held
  const reversed = feedProcess([...minutes].reverse(), pct);
  assert.deepEqual(reversed.out, []);
  assert.equal(reversed.late.filter(Boolean).length, 20);
  assert.deepEqual([reversed.track.highSince, reversed.track.runN, reversed.track.coreMs], [T0 + 20 * 60_000, 1, 0]);
});

test('CPU: a late cumulative counter is left out, and the next rate is taken from the newest counter', () => {
  const minutes = Array.from({ length: 17 }, (_, m) => m);
  const counter = (m: number) => ({ cpu_time_ms: Math.round(m * 234_000) });
  const inOrder = feedProcess(minutes, counter);
  const withLate = feedProcess([...minutes.slice(0, 9), 4, ...minutes.slice(9)], counter);
  assert.deepEqual(withLate.out, inOrder.out);
  assert.match(inOrder.out[0][2], /mean 390%/);
  assert.deepEqual(withLate.track, inOrder.track);
  assert.equal(withLate.late[9], 'CPU');
});

test('CPU: a late host sample is left out of the host run, its cost and hidden CPU, and is counted late', () => {
  const feed = (minutes: number[]) => {
    const host = new HostState('h1', 4);
    const out: Signal[] = [];
    const late = minutes.map((m) => {
      // a process sample beside each host one: hidden CPU is judged too
      observeProcessResources(sample(m, { cpu_pct: 20 }, 50), proc(50), host, DEFAULT_THRESHOLDS, []);
      return observeHostResources(sample(m, { cpu_pct: m === 12 ? 40 : 97 }), host, DEFAULT_THRESHOLDS, out);
    });
    return {
      out: out.map((s) => [s.kind, s.explanation]),
      run: host.cpu,
      cost: host.highCoreMs,
      points: host.cpuSeries?.points(),
      late,
    };
  };
  // the dip at minute 12 ends hidden CPU's run (its gap is under the bar): it holds again from 13 to 28
  const minutes = Array.from({ length: 31 }, (_, m) => m);
  const inOrder = feed(minutes);
  const withLate = feed([...minutes.slice(0, 14), 3, 11.5, ...minutes.slice(14), 12]);
  assert.deepEqual(
    inOrder.out.map(([kind]) => kind),
    ['sustained-cpu', 'hidden-cpu'],
  );
  assert.deepEqual(withLate.out, inOrder.out);
  assert.deepEqual(withLate.run, inOrder.run);
  assert.equal(withLate.cost, inOrder.cost);
  assert.deepEqual(withLate.points, inOrder.points);
  assert.deepEqual(
    withLate.late.map((l, i) => (l ? i : -1)).filter((i) => i >= 0),
    [14, 15, 33],
  );
  const reversed = feed([...minutes].reverse());
  assert.deepEqual(reversed.out, []);
  assert.equal(reversed.late.filter(Boolean).length, 30);
  assert.equal(reversed.cost, 0);
});
