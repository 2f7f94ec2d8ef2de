import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { metricsCsv } from './metrics-csv.js';

const good = fileInput('test/fixtures/metrics-csv/good.csv');
const bad = fileInput('test/fixtures/metrics-csv/bad.csv');
runSourceContract({
  source: metricsCsv,
  good,
  bad,
  // cut inside the cpu column: 7 of 777.0
  cut: cutCase(good, '2025-03-14T02:11:00Z,web-01/4242,7', '4242'),
});

function csv(text: string) {
  return readAll(metricsCsv, memoryInput('m.csv', text));
}

test('host rows and host/pid rows, ISO and epoch seconds/milliseconds, optional cores', async () => {
  const { events } = await readAll(metricsCsv, good);
  assert.deepEqual(
    events.map((e) => [e.host?.name, e.process?.pid, e.metrics?.cpu_pct, e.metrics?.cores, e.coalmine.ts]),
    [
      ['web-01', undefined, 97.3, 4, 1741918200000],
      ['web-01', 4130, 391, undefined, 1741918200000],
      ['web-01', 4130, 389.5, undefined, 1741918260000],
      ['web-01', undefined, 96.8, 4, 1741918260000],
    ],
  );
});

test('a host row is a host metric and a host/pid row a process metric', async () => {
  const { events } = await readAll(metricsCsv, good);
  const [host, proc] = events;
  assert.deepEqual(host.event, { kind: 'metric', category: ['host'], action: 'metric', dataset: 'metrics-csv.sample' });
  assert.equal(host.process, undefined);
  assert.deepEqual(host.metrics, { cpu_pct: 97.3, mem_pct: 41, cores: 4 });
  assert.deepEqual(proc.event.category, ['process']);
  assert.deepEqual(proc.process, { pid: 4130 });
  assert.deepEqual(proc.metrics, { cpu_pct: 391, mem_pct: 2.9 });
  assert.deepEqual(proc.original, {
    timestamp: '2025-03-14T02:10:00Z',
    entity: 'web-01/4130',
    cpu_pct: '391.0',
    mem_pct: '2.9',
  });
});

test('bad rows are reported by line and reason', async () => {
  const { events, issues } = await readAll(metricsCsv, bad);
  assert.equal(events.length, 2);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [3, 'METRICS_BAD_TIME'],
      [4, 'METRICS_BAD_VALUE'],
      [5, 'METRICS_BAD_VALUE'],
      [6, 'METRICS_BAD_VALUE'],
      [7, 'METRICS_BAD_VALUE'],
      [8, 'METRICS_BAD_ROW'],
      [9, 'METRICS_BAD_ROW'],
      [10, 'METRICS_BAD_VALUE'],
      [11, 'METRICS_BAD_VALUE'],
      [12, 'METRICS_BAD_ROW'],
    ],
  );
  assert.equal(issues[3].reason, 'cpu_pct "150" is not a number in 0..100 (a host row is percent of all cores)');
  assert.equal(issues[6].reason, 'expected 3 to 5 columns, got 7');
  assert.equal(issues[7].reason, 'mem_pct "130" is not a number in 0..100');
  assert.equal(issues[8].reason, 'cpu_pct "102500" is not a number in 0..102400');
});

test('without a header the columns are read in the documented order', async () => {
  const { events, issues } = await csv('2025-03-14T02:10:00Z,web-01/4130,390,2.9,55,4\n1741918260,web-01,97,41\n');
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => e.metrics),
    [
      { cpu_pct: 390, mem_pct: 2.9, gpu_pct: 55, cores: 4 },
      { cpu_pct: 97, mem_pct: 41 },
    ],
  );
});

test('a header may name a subset of the optional columns, in its own order', async () => {
  const { events, issues } = await csv('timestamp,entity,cpu_pct,gpu_pct\n2025-03-14T02:10:00Z,gpu-02/7781,99,97\n');
  assert.deepEqual(issues, []);
  assert.deepEqual(events[0].metrics, { cpu_pct: 99, gpu_pct: 97 });
});

test('GPU samplers: a row may carry GPU only; a process may use several GPUs, a host row is percent of all of them', async () => {
  const { events, issues } = await csv(
    [
      'timestamp,entity,cpu_pct,gpu_pct,gpus',
      '2025-03-14T02:10:00Z,gpu-02,,97,8',
      '2025-03-14T02:10:00Z,gpu-02/7781,,300,',
      '2025-03-14T02:11:00Z,gpu-02,,150,8',
      '2025-03-14T02:11:00Z,gpu-02,,90,0',
      '2025-03-14T02:11:00Z,gpu-02,,,8',
    ].join('\n'),
  );
  assert.deepEqual(
    events.map((e) => [e.process?.pid, e.metrics]),
    [
      [undefined, { gpu_pct: 97, gpus: 8 }],
      [7781, { gpu_pct: 300 }],
    ],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.reason]),
    [
      [4, 'gpu_pct "150" is not a number in 0..100 (a host row is percent of all its GPUs)'],
      [5, 'gpus "0" is not a whole number in 1..1024'],
      [6, 'cpu_pct is empty (and no gpu_pct)'],
    ],
  );
});

test('a header column it does not know is reported once and its values are skipped', async () => {
  const { events, issues } = await csv(
    'timestamp,entity,cpu_pct,disk_pct,mem_pct\n2025-03-14T02:10:00Z,web-01,50,93,41\n2025-03-14T02:11:00Z,web-01,52,95,41\n',
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'METRICS_BAD_HEADER']],
  );
  assert.match(issues[0].reason, /unknown columns disk_pct are ignored/);
  assert.deepEqual(
    events.map((e) => e.metrics),
    [
      { cpu_pct: 50, mem_pct: 41 },
      { cpu_pct: 52, mem_pct: 41 },
    ],
  );
});

test('a header repeated by concatenating files switches to the new columns', async () => {
  const { events, issues } = await csv(
    'timestamp,entity,cpu_pct,mem_pct\n2025-03-14T02:10:00Z,web-01,50,41\ntimestamp,entity,cpu_pct,gpu_pct\n2025-03-14T02:10:00Z,gpu-02,60,88\n',
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => e.metrics),
    [
      { cpu_pct: 50, mem_pct: 41 },
      { cpu_pct: 60, gpu_pct: 88 },
    ],
  );
});

test('quoted fields and zone-less times (read as UTC) are accepted', async () => {
  const { events, issues } = await csv(
    '"timestamp","entity","cpu_pct"\n"2025-03-14 02:10:00","web-01/4130","390.5"\n2025-03-14T02:11:00.250,web-01/4130,388\n',
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e['@timestamp'], e.process?.pid, e.metrics?.cpu_pct]),
    [
      ['2025-03-14T02:10:00.000Z', 4130, 390.5],
      ['2025-03-14T02:11:00.250Z', 4130, 388],
    ],
  );
});

test('cores must be a whole number of at least one', async () => {
  const { issues } = await csv('2025-03-14T02:10:00Z,web-01,50,,,2.5\n2025-03-14T02:10:00Z,web-01,50,,,0\n');
  assert.deepEqual(
    issues.map((i) => i.reason),
    ['cores "2.5" is not a whole number in 1..4096', 'cores "0" is not a whole number in 1..4096'],
  );
});

test('sniffs a header, or rows that parse, and nothing else', () => {
  const input = { name: 'm.csv' };
  assert.equal(metricsCsv.sniff('timestamp,entity,cpu_pct\n', input), 90);
  assert.equal(metricsCsv.sniff('timestamp,entity,cpu_pct,mem_pct,gpu_pct,cores\n', input), 90);
  assert.equal(metricsCsv.sniff('2025-03-14T02:10:00Z,web-01,50\n2025-03-14T02:11:00Z,web-01,51\n', input), 50);
  assert.equal(metricsCsv.sniff('time,host,value\n1,2,3\n', input), 0);
  assert.equal(metricsCsv.sniff('timestamp,entity,cpu_pct_total\n', input), 0);
});

test('the bundled example reads with no issues', async () => {
  const { events, issues } = await readAll(metricsCsv, fileInput('examples/kinsing-like/var/log/metrics/cpu.csv'));
  assert.deepEqual(issues, []);
  assert.ok(events.length > 100);
});

test('a row cut inside a quoted field, anywhere, or the last row cut short is reported and not read', async () => {
  const header = 'timestamp,entity,cpu_pct,mem_pct\n';
  const whole = '2025-03-14T02:10:00Z,web-01/4130,391.0,2.9\n';
  const cases: Array<[string, string, number]> = [
    ['quote opened, not closed, mid-file', `${header}2025-03-14T02:10:00Z,"web-01/4242,391.0,2.9\n${whole}`, 2],
    ['quote closed, not opened', `${header}2025-03-14T02:10:00Z,web-01/4242",391.0,2.9\n${whole}`, 2],
    ['quote opened at the end of the file', `${header}${whole}2025-03-14T02:10:00Z,"web-01/4242`, 3],
    ['last row short of the header, no newline', `${header}${whole}2025-03-14T02:10:00Z,web-01/4242,39`, 3],
    ['no header: last row short of the rows before', `${whole}${whole}2025-03-14T02:10:00Z,web-01/4242,39`, 3],
  ];
  for (const [name, text, line] of cases) {
    const { events, issues } = await csv(text);
    assert.ok(
      issues.some((i) => i.code === 'METRICS_TRUNCATED' && i.line === line),
      `${name}: ${JSON.stringify(issues)}`,
    );
    assert.ok(!events.some((e) => e.process?.pid === 4242), `${name}: the cut row was read`);
    assert.ok(
      events.some((e) => e.process?.pid === 4130),
      name,
    );
  }
  // a last row without a newline that has every field is whole: many files lack a final newline
  const { events, issues } = await csv(`${header}${whole}2025-03-14T02:11:00Z,web-01/4242,39,1.0`);
  assert.deepEqual(issues, []);
  assert.ok(events.some((e) => e.process?.pid === 4242));
});

test('a file written newest first (a SIEM export) is given in time order, rows of one time in file order', async () => {
  const rows = ['timestamp,entity,cpu_pct'];
  // long enough to span many line batches: the whole file is held, not each batch sorted on its own
  for (let m = 2999; m >= 0; m--)
    rows.push(`${1741918200 + m * 60},web-01/4130,390`, `${1741918200 + m * 60},web-01,97`);
  rows.splice(3, 0, '2025-03-14T02:10:00Z,web-01/4130,oops');
  const { events, issues } = await csv(`${rows.join('\n')}\n`);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[4, 'METRICS_BAD_VALUE']],
  );
  assert.equal(events.length, 6000);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.deepEqual(
    events.slice(0, 2).map((e) => [e.process?.pid, e.coalmine.ref.line]),
    [
      [4130, 6001],
      [undefined, 6002],
    ],
  );
});
