import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { DEFAULT_THRESHOLDS } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { WorkloadTable } from './workloads.js';

const T0 = Date.UTC(2026, 2, 1);

/** A container sample as prometheus.ts writes one (cAdvisor CPU, dcgm-exporter GPU): on its node, in its pod. */
function containerSample(minute: number, metrics: CoalEvent['metrics']): CoalEvent {
  const ts = T0 + minute * 60_000;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'metric', category: ['host'], action: 'metric', dataset: 'test' },
    host: { name: 'gpu-node-3' },
    container: { name: 'trainer' },
    orchestrator: { namespace: 'ml', resource: { type: 'pod', name: 'trainer-7d9f8c6b5-x2k4p' } },
    metrics,
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 'p.txt', line: minute + 1 } },
  };
}

function run(samples: Array<[number, CoalEvent['metrics']]>) {
  const late: string[] = [];
  const table = new WorkloadTable(undefined, {}, (e, what, of) =>
    late.push(`${what} ${of} ${(e.coalmine.ts - T0) / 60_000}`),
  );
  const out: Signal[] = [];
  let state: ReturnType<WorkloadTable['observe']>;
  for (const [m, metrics] of samples)
    state = table.observe(containerSample(m, metrics), DEFAULT_THRESHOLDS, out) ?? state;
  assert.ok(state);
  return { out, late, state, facts: WorkloadTable.cpuFacts(state) };
}

test('container GPU: idle, then pegged on two GPUs for the sustain time, is medium sustained GPU on the workload, with its GPU-hours', () => {
  const samples: Array<[number, CoalEvent['metrics']]> = [];
  for (let m = 0; m < 20; m++) samples.push([m, { gpu_pct: 2 }]);
  for (let m = 20; m <= 80; m++) samples.push([m, { gpu_pct: 198 }]);
  const { out, late, state, facts } = run(samples);
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength, s.entity, s.host, s.by]),
    [['sustained-gpu', 'medium', state.key, 'gpu-node-3', 'engine:container-gpu']],
  );
  assert.match(
    out[0].explanation,
    /^container trainer-7d9f8c6b5-x2k4p\/trainer held ≥80% of a GPU \(summed over its GPUs\) for 15m/,
  );
  assert.deepEqual(late, []);
  // 61 one-minute intervals ending in a sample at 198% of one GPU (19→20 … 79→80): 1.98 × 61/60 GPU-hours
  assert.equal(facts.gpuSampled, 1);
  assert.ok(Math.abs(facts.gpuMs / 3_600_000 - (1.98 * 61) / 60) < 1e-9, String(facts.gpuMs));
  assert.ok(state.telemetry.has('gpu'));
  // GPU-only samples move no CPU clock and make no CPU sample
  assert.equal(facts.sampled, 0);
});

test('container GPU busy from its first sample is weak (a training job looks the same); a late GPU sample is counted', () => {
  const samples: Array<[number, CoalEvent['metrics']]> = [];
  for (let m = 0; m <= 20; m++) samples.push([m, { gpu_pct: 95 }]);
  samples.push([7, { gpu_pct: 95 }]);
  const { out, late } = run(samples);
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength]),
    [['sustained-gpu', 'weak']],
  );
  assert.deepEqual(late, ['GPU container 7']);
});

test('container CPU: a sample older than the newest moves no clock and no rate, and is counted late', () => {
  // cumulative CPU: one core busy (60 s of CPU a minute)
  const inOrder: Array<[number, CoalEvent['metrics']]> = [];
  for (let m = 0; m <= 30; m++) inOrder.push([m, { cpu_time_ms: m * 60_000 }]);
  const withLate = [
    ...inOrder.slice(0, 20),
    [3, { cpu_time_ms: 3 * 60_000 }] as [number, CoalEvent['metrics']],
    ...inOrder.slice(20),
  ];
  const a = run(inOrder);
  const b = run(withLate);
  assert.deepEqual(b.late, ['CPU container 3']);
  assert.equal(b.facts.coreMs, a.facts.coreMs);
  assert.equal(a.facts.coreMs, 30 * 60_000);
  assert.deepEqual(
    b.out.map((s) => [s.kind, s.explanation]),
    a.out.map((s) => [s.kind, s.explanation]),
  );
});
