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
  touchedAt: 0,
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
  observeProcessResources(sample(31, { cpu_pct: 20 }, 12), p, host, DEFAULT_THRESHOLDS, out);
  for (let m = 32; m <= 50; m++)
    observeProcessResources(sample(m, { cpu_pct: 95 }, 12), p, host, DEFAULT_THRESHOLDS, out);
  const runs = out.filter((x) => x.kind === 'sustained-cpu');
  assert.deepEqual(
    runs.map((r) => r.strength),
    ['medium', 'weak'],
  );
  assert.match(runs[1].explanation, /high is normal for it/);
});
