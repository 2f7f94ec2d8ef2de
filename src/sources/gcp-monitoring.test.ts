import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cloudwatchMetrics } from './cloudwatch-metrics.js';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { gcpAudit } from './gcp-audit.js';
import { gcpFlow } from './gcp-flow.js';
import { gcpMonitoring } from './gcp-monitoring.js';
import { sniffSource } from './index.js';
import { prometheus } from './prometheus.js';

const good = fileInput('test/fixtures/gcp-monitoring/good.jsonl');
const bad = fileInput('test/fixtures/gcp-monitoring/bad.jsonl');
const document = fileInput('test/fixtures/gcp-monitoring/timeseries-list.json');
const goodText = readFileSync('test/fixtures/gcp-monitoring/good.jsonl', 'utf8');

runSourceContract({
  source: gcpMonitoring,
  good,
  bad,
  // a page copied while it was written: it ends inside an instance name
  cut: cutLineCase(good, 1, '"instance_name":"', 'render-cut-99'),
});

test('one metric per CPU point, in time order although the API lists newest first; cpu_pct = the fraction × 100', async () => {
  const { events } = await readAll(gcpMonitoring, good);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  const gpu = events.filter((e) => e.host?.name === 'gpu-node-1');
  assert.deepEqual(
    gpu.map((e) => [e['@timestamp'].slice(11, 16), e.metrics?.cpu_pct]),
    [
      ['02:12', 2.1],
      ['02:13', 99.4],
      ['02:14', 99.8],
      ['02:15', 99.7],
      ['02:16', 99.9],
    ],
  );
  assert.deepEqual(gpu[0].cloud, {
    provider: 'gcp',
    instance: { id: '7310452283941126001', name: 'gpu-node-1' },
    account: { id: 'example-prod-123456' },
    region: 'asia-southeast1',
    availability_zone: 'asia-southeast1-b',
  });
  assert.ok(events.every((e) => e.event.kind === 'metric' && e.event.action === 'metric'));
  assert.equal(events.length, 11);
  assert.deepEqual(gpu[0].coalmine.ref, {
    file: 'test/fixtures/gcp-monitoring/good.jsonl',
    line: 1,
    record: 'series 0 point 4',
  });
  // the network series and the page's empty trailer are not CPU
  let unused = 0;
  for await (const batch of gcpMonitoring.read(good, TEST_CONTEXT)) unused += batch.unused ?? 0;
  assert.equal(unused, 1);
});

test('the pretty-printed API answer reads as the lines do', async () => {
  const doc = await readAll(gcpMonitoring, document);
  assert.deepEqual(doc.issues, []);
  const lines = await readAll(gcpMonitoring, good);
  const facts = (e: (typeof doc.events)[number]) => [e['@timestamp'], e.host?.name, e.metrics, e.cloud];
  assert.deepEqual(doc.events.map(facts), lines.events.filter((e) => e.host?.name !== 'render-03').map(facts));
  assert.equal(sniffSource(document)?.name, 'gcp-monitoring');
});

test('a series naming only its instance name, or only its id, still has an instance; bad points are reported by point', async () => {
  const series = (labels: Record<string, string>, metricLabels: Record<string, string>, value: unknown) =>
    JSON.stringify({
      metric: { type: 'compute.googleapis.com/instance/cpu/utilization', labels: metricLabels },
      resource: { type: 'gce_instance', labels },
      points: [{ interval: { endTime: '2026-11-03T03:00:00Z' }, value: { doubleValue: value } }],
    });
  const text = [
    series({ zone: 'us-east1-b' }, { instance_name: 'batch-7' }, 0.5),
    series({ instance_id: '123456789' }, {}, '0.25'),
    series({ instance_id: '1; rm -rf /' }, { instance_name: 'Bad Name' }, 0.5),
    series({ instance_id: '42' }, {}, 1e9),
  ].join('\n');
  const { events, issues } = await readAll(gcpMonitoring, memoryInput('series.jsonl', `${text}\n`));
  assert.deepEqual(
    events.map((e) => [e.host?.name, e.cloud?.instance, e.metrics?.cpu_pct]),
    [
      ['batch-7', { id: 'batch-7', name: 'batch-7' }, 50],
      ['123456789', { id: '123456789' }, 25],
    ],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [3, 'GCP_MONITORING_BAD_RECORD'],
      [4, 'GCP_MONITORING_BAD_VALUE'],
    ],
  );
});

test('sniffed from a page or a document; CloudWatch, Prometheus and GCP log entries are not Monitoring series', () => {
  assert.equal(sniffSource(good)?.name, 'gcp-monitoring');
  const first = goodText.split('\n')[0];
  for (const other of [cloudwatchMetrics, prometheus, gcpAudit, gcpFlow])
    assert.equal(other.sniff(first, { name: 'm.json' }), 0, other.name);
  assert.ok(gcpMonitoring.sniff(first.slice(0, 500), { name: 'm.json' }) > 0);
  const flow = readFileSync('test/fixtures/gcp-flow/good.log', 'utf8');
  assert.equal(gcpMonitoring.sniff(flow, { name: 'f.log' }), 0);
  const promRange =
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"container_cpu_usage_seconds_total"},"values":[[1,"2"]]}]}}';
  assert.equal(gcpMonitoring.sniff(promRange, { name: 'p.json' }), 0);
});

test('fuzz: a damaged page never throws; every issue has a line and every event is a metric', async () => {
  let seed = 23;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = Buffer.from(goodText);
  for (let round = 0; round < 60; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(6); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5d, 0x2c, 0x00, 0x0a, 0x39][rand(8)];
    const { events, issues } = await readAll(gcpMonitoring, memoryInput(`fuzz-${round}.jsonl`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) assert.equal(e.event.action, 'metric');
  }
});

// the Ops Agent's GPU utilisation (NVML, percent) and its DCGM receiver's (a fraction), per GPU
const gpu = fileInput('test/fixtures/gcp-monitoring/gpu.jsonl');
const gpuBad = fileInput('test/fixtures/gcp-monitoring/gpu-bad.jsonl');
runSourceContract({
  source: gcpMonitoring,
  good: gpu,
  bad: gpuBad,
  cut: cutLineCase(gpu, 1, '"name":"', 'trainer-cut-42'),
});

/** Each event's time (HH:MM), host and metrics. */
function facts(events: Awaited<ReturnType<typeof readAll>>['events']) {
  return events.map((e) => [e['@timestamp'].slice(11, 16), e.host?.name, e.metrics]);
}

test("GPU: an instance's GPUs at one point time are one event, the mean with their count; a fraction read as percent", async () => {
  const { events, issues } = await readAll(gcpMonitoring, gpu);
  assert.deepEqual(issues, []);
  assert.deepEqual(facts(events), [
    // the agent's series name the VM by id only: the CPU series of the file says it is gpu-node-1
    ['02:14', 'gpu-node-1', { gpu_pct: 99, gpus: 2 }],
    ['02:14', 'gpu-node-1', { cpu_pct: 39.8 }],
    ['02:15', 'gpu-node-1', { gpu_pct: 99.5, gpus: 2 }],
    ['02:15', 'gpu-node-1', { cpu_pct: 40.5 }],
    // gpu.dcgm.utilization 0.62 and 0.58: 60 %; the VM named by the answer's metadata.systemLabels
    ['02:15', 'trainer-a3', { gpu_pct: 60, gpus: 2 }],
    ['02:16', 'gpu-node-1', { gpu_pct: 100, gpus: 2 }],
    ['02:16', 'gpu-node-1', { cpu_pct: 41.2 }],
    ['02:16', 'trainer-a3', { gpu_pct: 62, gpus: 2 }],
  ]);
  const e = events[0];
  assert.equal(e.event.dataset, 'gcp-monitoring.gpu_utilization');
  assert.deepEqual(e.cloud, {
    provider: 'gcp',
    instance: { id: '7310452283941126001', name: 'gpu-node-1' },
    account: { id: 'example-prod-123456' },
    region: 'asia-southeast1',
    availability_zone: 'asia-southeast1-b',
  });
  assert.deepEqual(e.original, {
    metric: 'agent.googleapis.com/gpu/utilization',
    gpus: [
      { gpu: 'uuid:3b8e1f2a-9c4d-4e5f-a6b7-c8d9e0f1a2b3', pct: 99.7 },
      { gpu: 'uuid:7d6c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c2d', pct: 98.3 },
    ],
  });
  assert.deepEqual(e.coalmine.ref, { file: gpu.name, line: 1, record: 'series 0 point 2' });
  // gpu/memory/bytes_used is not utilisation
  let unused = 0;
  for await (const batch of gcpMonitoring.read(gpu, TEST_CONTEXT)) unused += batch.unused ?? 0;
  assert.equal(unused, 1);
});

test('GPU: a value out of range or not a number, or a series naming no GPU, is reported on its line', async () => {
  const { events, issues } = await readAll(gcpMonitoring, gpuBad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [1, 'GCP_MONITORING_BAD_VALUE'],
      [2, 'GCP_MONITORING_BAD_VALUE'],
      [3, 'GCP_MONITORING_BAD_RECORD'],
      [4, 'GCP_MONITORING_BAD_VALUE'],
    ],
  );
  assert.match(issues[0].reason, /value 250 is not a GPU utilization percent/);
  assert.match(issues[1].reason, /value 62 is not a GPU utilization fraction/);
  assert.match(issues[2].reason, /names no GPU/);
  assert.deepEqual(issues[0].record, 'series 1 point 0');
  // the GPU read beside each bad one still makes its instance's sample (no CPU series: the id is the host)
  assert.deepEqual(facts(events), [
    ['02:15', '7310452283941126001', { gpu_pct: 100, gpus: 1 }],
    ['02:15', 'trainer-a3', { gpu_pct: 60, gpus: 1 }],
  ]);
});
