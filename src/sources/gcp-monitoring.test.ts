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
