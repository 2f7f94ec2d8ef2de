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
