import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { cloudwatchMetrics } from './cloudwatch-metrics.js';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const DIR = 'test/fixtures/cloudwatch-metrics';
const MINER = 'i-0a1b2c3d4e5f60718';
const WEB = 'i-0fedcba9876543210';
const good = fileInput(`${DIR}/stream.json`);
const bad = fileInput(`${DIR}/bad-stream.json`);
runSourceContract({
  source: cloudwatchMetrics,
  good,
  bad,
  // the stream object copied while Firehose wrote it: it ends inside an instance id
  cut: cutLineCase(good, 0, '"InstanceId":"', 'i-0bbbbbbbbbbbbbbbb'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of cloudwatchMetrics.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

/** instance → its CPU series as [ISO time, percent]. */
function seriesOf(events: Awaited<ReturnType<typeof readAll>>['events']): Map<string, Array<[string, number]>> {
  const out = new Map<string, Array<[string, number]>>();
  for (const e of events) {
    const id = e.cloud?.instance?.id ?? '';
    const list = out.get(id) ?? [];
    out.set(id, list);
    list.push([e['@timestamp'], e.metrics?.cpu_pct ?? Number.NaN]);
  }
  return out;
}

test('metric stream: EC2 CPUUtilization per instance is one host metric per datapoint, the average of the period', async () => {
  const { events, issues } = await readAll(cloudwatchMetrics, good);
  assert.deepEqual(issues, []);
  const series = seriesOf(events);
  assert.deepEqual([...series.keys()], [MINER, WEB]);
  // the instance launched at 01:00 is pinned from its first datapoint for the hour
  const miner = series.get(MINER) ?? [];
  assert.equal(miner.length, 13);
  assert.deepEqual(miner[0], ['2026-03-02T01:00:00.000Z', 97.6]);
  assert.equal(miner[12][0], '2026-03-02T02:00:00.000Z');
  assert.ok(
    miner.every(([, pct]) => pct >= 97.6 && pct <= 100),
    JSON.stringify(miner),
  );
  // the other carries ordinary load: sum ÷ count, not the period's max
  const web = series.get(WEB) ?? [];
  assert.deepEqual(
    web.map(([, pct]) => pct),
    [12.4, 18.9, 31.2, 27.5, 15.1, 9.8, 22.6, 35, 19.3, 14.7, 11.2, 16.8, 13.5],
  );
  const e = events[0];
  assert.equal(e.event.kind, 'metric');
  assert.equal(e.event.action, 'metric');
  assert.equal(e.event.dataset, 'cloudwatch-metrics.stream');
  assert.deepEqual(e.host, { name: MINER });
  assert.deepEqual(e.cloud, {
    provider: 'aws',
    instance: { id: MINER },
    account: { id: '123456789012' },
    region: 'us-east-1',
  });
  // the period's max stays with the record
  assert.deepEqual((e.original.value as Record<string, number>).max, 100);
  assert.deepEqual(e.coalmine.ref, { file: good.name, line: 1 });
});

test('metric stream: other metrics, other namespaces and CPU of a whole group are counted unused, not errors', async () => {
  // 4 NetworkOut, 1 CPUUtilization by AutoScalingGroupName, 1 AWS/RDS CPUUtilization
  assert.equal(await unusedOf(good), 6);
});

test('metric stream: each bad record is reported on its line with the reason, and the good ones around it are read', async () => {
  const { events, issues } = await readAll(cloudwatchMetrics, bad);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 11],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'CW_METRICS_BAD_RECORD'],
      [3, 'CW_METRICS_BAD_RECORD'],
      [4, 'CW_METRICS_BAD_RECORD'],
      [5, 'CW_METRICS_BAD_RECORD'],
      [6, 'CW_METRICS_BAD_RECORD'],
      [7, 'CW_METRICS_BAD_RECORD'],
      [8, 'CW_METRICS_BAD_RECORD'],
      [9, 'CW_METRICS_BAD_JSON'],
      [10, 'CW_METRICS_BAD_RECORD'],
    ],
  );
  const reasons = issues.map((i) => i.reason);
  assert.match(reasons[0], /value\.count 0 is not a positive number/);
  // a hostile instance id is refused and quoted escaped, never passed on
  assert.match(reasons[1], /dimensions\.InstanceId "i-XYZ\\u001b\[31m" is not an instance id/);
  assert.match(reasons[2], /timestamp "yesterday" is not a time/);
  assert.match(reasons[3], /unit "Bytes" is not Percent/);
  assert.match(reasons[4], /250 is not a percent/);
  assert.match(reasons[5], /value is not \{max, min, sum, count\}/);
  assert.match(reasons[6], /no namespace or metric_name/);
  assert.match(reasons[8], /not a JSON object/);
});

test('get-metric-data: the instance from each Label, points in time order although the CLI lists newest first', async () => {
  const input = fileInput(`${DIR}/get-metric-data.json`);
  assert.equal(sniffSource(input)?.name, 'cloudwatch-metrics');
  const { events, issues } = await readAll(cloudwatchMetrics, input);
  assert.deepEqual(issues, []);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  // the same hour as the metric stream: the same two series
  const stream = seriesOf((await readAll(cloudwatchMetrics, good)).events);
  assert.deepEqual(seriesOf(events), stream);
  assert.equal(events[0].event.dataset, 'cloudwatch-metrics.get-metric-data');
  assert.deepEqual(events[0].cloud, { provider: 'aws', instance: { id: MINER } });
  assert.deepEqual(events[0].coalmine.ref, { file: input.name, record: 'result 0 point 12' });
  // the NetworkOut result is not CPU
  assert.equal(await unusedOf(input), 1);
});

test('get-metric-statistics: the instance from the file name, else --host; without either every datapoint is reported', async () => {
  const input = fileInput(`${DIR}/${MINER}-cpu.json`);
  assert.equal(sniffSource(input)?.name, 'cloudwatch-metrics');
  const { events, issues } = await readAll(cloudwatchMetrics, input);
  assert.deepEqual(issues, []);
  assert.equal(events.length, 13);
  assert.ok(
    events.every((e) => e.host?.name === MINER && e.event.dataset === 'cloudwatch-metrics.get-metric-statistics'),
  );
  assert.deepEqual(events.map((e) => e['@timestamp']).slice(0, 2), [
    '2026-03-02T01:00:00.000Z',
    '2026-03-02T01:05:00.000Z',
  ]);
  assert.equal(events[0].metrics?.cpu_pct, 97.6);
  assert.equal(events[0].original.Maximum, 100);

  const text = input.head.toString('utf8');
  const hinted = await readAll(cloudwatchMetrics, memoryInput('cpu.json', text, { hostHint: WEB }));
  assert.deepEqual(hinted.issues, []);
  assert.ok(hinted.events.length === 13 && hinted.events.every((e) => e.cloud?.instance?.id === WEB));

  // a host hint that is a host name, not an instance id, does not stand in
  const none = await readAll(cloudwatchMetrics, memoryInput('cpu.json', text, { hostHint: 'ip-10-0-1-5' }));
  assert.equal(none.events.length, 0);
  assert.deepEqual(
    none.issues.map((i) => [i.code, i.line]),
    [['CW_METRICS_NO_INSTANCE', 1]],
  );
});

test('get-metric-data: each bad result or point is reported by record, the rest read', async () => {
  const input = fileInput(`${DIR}/bad-get-metric-data.json`);
  const { events, issues } = await readAll(cloudwatchMetrics, input);
  // result 0 names its instance in the Id (i_…): its two good points, in time order
  assert.deepEqual(
    events.map((e) => [e.host?.name, e['@timestamp'], e.metrics?.cpu_pct]),
    [
      [MINER, '2026-03-02T01:00:00.000Z', 97.6],
      [MINER, '2026-03-02T01:05:00.000Z', 99.4],
    ],
  );
  assert.deepEqual(
    issues.map((i) => [i.record, i.code]),
    [
      ['result 0', 'CW_METRICS_BAD_RESULT'],
      ['result 0 point 2', 'CW_METRICS_BAD_TIME'],
      ['result 1', 'CW_METRICS_UNKNOWN_METRIC'],
      ['result 2', 'CW_METRICS_NO_INSTANCE'],
      ['result 3', 'CW_METRICS_QUERY_ERROR'],
      ['result 4 point 0', 'CW_METRICS_BAD_VALUE'],
      ['result 5', 'CW_METRICS_BAD_RESULT'],
      ['result 6', 'CW_METRICS_BAD_RESULT'],
    ],
  );
  assert.match(issues[0].reason, /4 Timestamps but 3 Values/);
  assert.match(issues[2].reason, /names instance i-0fedcba9876543210 but no metric/);
  for (const i of issues) assert.equal(i.file, input.name);
});

test('a document cut before its end is reported, never read half', async () => {
  const text = fileInput(`${DIR}/get-metric-data.json`).head.toString('utf8');
  const cut = memoryInput('cut.json', text.slice(0, Math.floor(text.length / 2)));
  const { events, issues } = await readAll(cloudwatchMetrics, cut);
  assert.equal(events.length, 0);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['CW_METRICS_TRUNCATED'],
  );
});

/** Every fixture file of the other sources (small ones: the head is what sniffing sees). */
function otherFixtures(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync('test/fixtures')) {
    if (dir === 'cloudwatch-metrics') continue;
    const path = `test/fixtures/${dir}`;
    if (!statSync(path).isDirectory()) continue;
    for (const name of readdirSync(path)) if (statSync(`${path}/${name}`).isFile()) out.push(`${path}/${name}`);
  }
  return out;
}

test('sniffing: every shape is ours, and no other fixture is taken for CloudWatch metrics', () => {
  for (const name of ['stream.json', 'get-metric-data.json', `${MINER}-cpu.json`, 'bad-get-metric-data.json'])
    assert.equal(sniffSource(fileInput(`${DIR}/${name}`))?.name, 'cloudwatch-metrics', name);
  for (const path of otherFixtures()) assert.notEqual(sniffSource(fileInput(path))?.name, 'cloudwatch-metrics', path);
});

// the CloudWatch agent's NVIDIA GPU utilisation, published per GPU (index) under CWAgent
const GPU_HOST = 'i-0c1d2e3f4a5b6c7d8';
const gpuStream = fileInput(`${DIR}/gpu-stream.json`);
const gpuBadStream = fileInput(`${DIR}/gpu-bad-stream.json`);
runSourceContract({
  source: cloudwatchMetrics,
  good: gpuStream,
  bad: gpuBadStream,
  cut: cutLineCase(gpuStream, 0, '"InstanceId":"', 'i-0ccccccccccccccc9'),
});

/** Each event's time (HH:MM), instance and metrics. */
function gpuFacts(events: Awaited<ReturnType<typeof readAll>>['events']) {
  return events.map((e) => [e['@timestamp'].slice(11, 16), e.cloud?.instance?.id, e.metrics]);
}

test("GPU stream: an instance's GPUs at one time are one event, the mean with their count; a roll-up is its mean", async () => {
  const { events, issues } = await readAll(cloudwatchMetrics, gpuStream);
  assert.deepEqual(issues, []);
  assert.deepEqual(gpuFacts(events), [
    ['01:00', GPU_HOST, { cpu_pct: 97.6 }],
    // index 0 at 100 %, index 1 at 98 %: 99 % of 2 GPUs
    ['01:00', GPU_HOST, { gpu_pct: 99, gpus: 2 }],
    // aggregation_dimensions [["InstanceId"]]: the agent's mean over the instance's GPUs, sum ÷ count
    ['01:00', WEB, { gpu_pct: 15.2 }],
    // index 0 delivered twice (Firehose delivers at least once): counted once
    ['01:01', GPU_HOST, { gpu_pct: 99.5, gpus: 2 }],
    ['01:01', WEB, { gpu_pct: 12.5 }],
    ['01:02', GPU_HOST, { gpu_pct: 100, gpus: 2 }],
  ]);
  const e = events[1];
  assert.equal(e.event.dataset, 'cloudwatch-metrics.stream');
  assert.deepEqual(e.host, { name: GPU_HOST });
  assert.deepEqual(e.cloud, {
    provider: 'aws',
    instance: { id: GPU_HOST },
    account: { id: '123456789012' },
    region: 'us-east-1',
  });
  assert.deepEqual(e.coalmine.ref, { file: gpuStream.name, line: 1 });
  assert.deepEqual(e.original, {
    metric: 'nvidia_smi_utilization_gpu',
    gpus: [
      { gpu: 'index:0', pct: 100 },
      { gpu: 'index:1', pct: 98 },
    ],
  });
  // CWAgent's mem_used_percent is not read
  assert.equal(await unusedOf(gpuStream), 1);
});

test('GPU stream: a bad value, unit or index is reported on its line; the other GPU still makes the sample', async () => {
  const { events, issues } = await readAll(cloudwatchMetrics, gpuBadStream);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'CW_METRICS_BAD_RECORD'],
      [3, 'CW_METRICS_BAD_RECORD'],
      [4, 'CW_METRICS_BAD_RECORD'],
      [5, 'CW_METRICS_BAD_RECORD'],
    ],
  );
  const reasons = issues.map((i) => i.reason);
  assert.match(reasons[0], /250 is not a percent/);
  assert.match(reasons[1], /unit "Bytes" is not Percent/);
  assert.match(reasons[2], /dimensions\.index "zero" is not a GPU index/);
  assert.match(reasons[3], /value\.sum "lots" is not a number/);
  assert.deepEqual(gpuFacts(events), [
    ['01:00', GPU_HOST, { gpu_pct: 100, gpus: 1 }],
    ['01:02', GPU_HOST, { gpu_pct: 97, gpus: 1 }],
  ]);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 6],
  );
});

test('GPU get-metric-data: each result is one GPU; an instance-time is one event, in time order beside its CPU', async () => {
  const input = fileInput(`${DIR}/gpu-get-metric-data.json`);
  assert.equal(sniffSource(input)?.name, 'cloudwatch-metrics');
  const { events, issues } = await readAll(cloudwatchMetrics, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(gpuFacts(events), [
    ['01:00', GPU_HOST, { cpu_pct: 97.6 }],
    ['01:00', GPU_HOST, { gpu_pct: 98, gpus: 2 }],
    ['01:05', GPU_HOST, { cpu_pct: 99.4 }],
    ['01:05', GPU_HOST, { gpu_pct: 98, gpus: 2 }],
    ['01:10', GPU_HOST, { gpu_pct: 100, gpus: 2 }],
  ]);
  assert.equal(events[1].event.dataset, 'cloudwatch-metrics.get-metric-data');
  assert.deepEqual(events[1].coalmine.ref, { file: input.name, record: 'result 0 point 2' });
  // a bad value is reported by its point and the other GPU's sample still stands
  const text = input.head.toString('utf8').replace('100.0,\n                99.0', '"busy",\n                99.0');
  const bad = await readAll(cloudwatchMetrics, memoryInput('gpu.json', text));
  assert.deepEqual(
    bad.issues.map((i) => [i.record, i.code]),
    [['result 0 point 0', 'CW_METRICS_BAD_VALUE']],
  );
  assert.deepEqual(gpuFacts(bad.events).at(-1), ['01:10', GPU_HOST, { gpu_pct: 100, gpus: 1 }]);
});

test("GPU get-metric-statistics: appended documents are the instance's GPUs; the agent's unit None is accepted", async () => {
  const doc = (points: Array<[string, number]>) =>
    JSON.stringify({
      Label: 'nvidia_smi_utilization_gpu',
      Datapoints: points.map(([t, v]) => ({ Timestamp: t, Average: v, Maximum: v, Unit: 'None' })),
    });
  const text = `${doc([
    ['2026-03-02T01:05:00Z', 90],
    ['2026-03-02T01:00:00Z', 100],
  ])}\n${doc([['2026-03-02T01:00:00Z', 80]])}\n`;
  const { events, issues } = await readAll(cloudwatchMetrics, memoryInput(`${GPU_HOST}-gpu.json`, text));
  assert.deepEqual(issues, []);
  assert.deepEqual(gpuFacts(events), [
    ['01:00', GPU_HOST, { gpu_pct: 90, gpus: 2 }],
    ['01:05', GPU_HOST, { gpu_pct: 90, gpus: 1 }],
  ]);
});
