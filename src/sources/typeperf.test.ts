import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { cutCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { sniffSource } from './index.js';
import { parseCounterPath, pdhTime, splitCsv, typeperf } from './typeperf.js';

const good = fileInput('test/fixtures/typeperf/good.csv');
const bad = fileInput('test/fixtures/typeperf/bad.csv');
runSourceContract({
  source: typeperf,
  good,
  bad,
  // cut inside the last column's quotes: "20" of "2046"; the column count still matches the header
  cut: cutCase(good, '"12/02/2026 10:15:02.125","377.0","4120"," "," ","800","0","95.5","20', '95.5'),
});

function csv(text: string) {
  return readAll(typeperf, memoryInput('t.csv', text));
}

test('the registry sniffs a PDH-CSV export as typeperf, not metrics-csv', () => {
  assert.equal(sniffSource(good)?.name, 'typeperf');
});

test('process columns are process samples (percent of one core), _Total and Idle skipped, host CPU a host sample', async () => {
  const { events } = await readAll(typeperf, good);
  assert.deepEqual(
    events.map((e) => [
      e.event.category[0],
      e.host?.name,
      e.process?.name,
      e.process?.pid,
      e.metrics?.cpu_pct,
      e.coalmine.ts,
    ]),
    [
      ['host', 'WS-07', undefined, undefined, 97.8, Date.UTC(2026, 11, 2, 10, 15, 0, 123)],
      ['process', 'WS-07', 'xmrig', 4120, 391.2, Date.UTC(2026, 11, 2, 10, 15, 0, 123)],
      ['process', 'WS-07', 'xmrig', 4188, 12.5, Date.UTC(2026, 11, 2, 10, 15, 0, 123)],
      ['host', 'WS-07', undefined, undefined, 96.1, Date.UTC(2026, 11, 2, 10, 15, 1, 125)],
      ['process', 'WS-07', 'xmrig', 4120, 388, Date.UTC(2026, 11, 2, 10, 15, 1, 125)],
    ],
  );
});

test('events have the metrics-csv shape and keep the PDH instance in original', async () => {
  const { events } = await readAll(typeperf, good);
  const second = events[2];
  assert.deepEqual(second.event, {
    kind: 'metric',
    category: ['process'],
    action: 'metric',
    dataset: 'typeperf.sample',
  });
  assert.deepEqual(second.metrics, { cpu_pct: 12.5 });
  assert.equal(second.original.instance, 'xmrig#1');
});

test('a blank value is absent, not zero: no sample for xmrig#1 in the second row', async () => {
  const { events } = await readAll(typeperf, good);
  assert.equal(events.filter((e) => e.process?.pid === 4188).length, 1);
});

test('the header bias turns local time into UTC (Pacific: +480 minutes)', async () => {
  const { events } = await readAll(typeperf, bad);
  assert.equal(events[0].coalmine.ts, Date.UTC(2026, 11, 2, 10, 15, 0));
});

test('bad rows are reported by line and reason; good cells of a row with a bad cell are read', async () => {
  const { events, issues } = await readAll(typeperf, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [3, 'TYPEPERF_BAD_TIME'],
      [4, 'TYPEPERF_BAD_VALUE'],
      [5, 'TYPEPERF_BAD_ROW'],
      [6, 'TYPEPERF_BAD_VALUE'],
    ],
  );
  // row 4: the host CPU is read, the process CPU is not; row 6: the process is read, the host is not
  assert.ok(events.some((e) => e.coalmine.ref.line === 4 && e.event.category[0] === 'host'));
  assert.ok(!events.some((e) => e.coalmine.ref.line === 4 && e.event.category[0] === 'process'));
  assert.ok(events.some((e) => e.coalmine.ref.line === 6 && e.event.category[0] === 'process'));
});

test('an unknown zone is read as UTC and reported', async () => {
  const { events, issues } = await csv(
    '"(PDH-CSV 4.0)","\\\\H\\Process(a)\\% Processor Time"\n"12/02/2026 10:00:00.000","50"\n',
  );
  assert.equal(events[0].coalmine.ts, Date.UTC(2026, 11, 2, 10));
  assert.deepEqual(
    issues.map((i) => i.code),
    ['TYPEPERF_ZONE_UNKNOWN'],
  );
});

test('Processor Information utility is host CPU, capped at 100; typeperf console lines are skipped', async () => {
  const { events, issues } = await csv(
    '\n"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Processor Information(_Total)\\% Processor Utility"\n"12/02/2026 10:00:00.000","112.5"\nExiting, please wait...\nThe command completed successfully.\n',
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(events[0].metrics, { cpu_pct: 100 });
});

test('rows before a header are reported once', async () => {
  const { issues } = await csv('"12/02/2026 10:00:00.000","1"\n"12/02/2026 10:00:01.000","1"\n');
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'TYPEPERF_NO_HEADER']],
  );
});

test('a header wider than the column bound is cut and reported', async () => {
  const header = `"(PDH-CSV 4.0) (UTC)(0)",${Array.from({ length: 5000 }, () => '"x"').join(',')}`;
  const { issues } = await csv(`${header}\n`);
  assert.ok(issues.some((i) => i.code === 'TYPEPERF_TOO_WIDE' && i.line === 1));
});

test('counter paths, CSV quoting and PDH times', () => {
  assert.deepEqual(parseCounterPath('\\\\HOST\\Process(xmrig#1)\\ID Process'), {
    host: 'HOST',
    object: 'Process',
    instance: 'xmrig#1',
    counter: 'ID Process',
  });
  assert.deepEqual(parseCounterPath('\\Memory\\Available MBytes'), {
    host: '',
    object: 'Memory',
    counter: 'Available MBytes',
  });
  assert.equal(parseCounterPath('no path'), undefined);
  assert.deepEqual(splitCsv('"a","b ""c""",d,'), { fields: ['a', 'b "c"', 'd', ''], overflow: false });
  assert.deepEqual(splitCsv('"a","b ""c'), { fields: ['a', 'b "c'], overflow: false, unclosed: true });
  assert.equal(pdhTime('02/30/2026 10:00:00.000', 0), undefined);
  // a British summer log: (GMT Standard Time)(-60), local time is UTC+1
  assert.equal(pdhTime('10/29/2017 01:59:44.562', -60), Date.UTC(2017, 9, 29, 0, 59, 44, 562));
  assert.equal(pdhTime('12/02/2026 10:00:00.5', -60), Date.UTC(2026, 11, 2, 9, 0, 0, 500));
});

test('a row ending inside a quoted column is reported and not read, mid-file or at the end', async () => {
  const head = good.head.toString('utf8').split('\n')[0];
  const row = (cpu: string) => `"12/02/2026 10:15:02.125","${cpu}","4120"," "," ","800","0","95.5","2046"`;
  for (const [text, line] of [
    [`${head}\n${row('377.0')}\n${row('5').slice(0, -3)}`, 3],
    [`${head}\n${row('5').slice(0, 32)}\n${row('377.0')}\n`, 2],
  ] as const) {
    const { events, issues } = await csv(text);
    assert.ok(
      issues.some((i) => i.code === 'TYPEPERF_TRUNCATED' && i.line === line),
      JSON.stringify(issues),
    );
    assert.ok(
      events.some((e) => e.metrics?.cpu_pct === 377),
      'the whole row is read',
    );
    assert.ok(!events.some((e) => e.metrics?.cpu_pct === 5), 'the cut row is not');
  }
});

test('an export written newest first is given in time order: the same samples as the file in order', async () => {
  const text = readFileSync('test/fixtures/defender/an0741-miner/typeperf.csv', 'utf8');
  const [header, ...rows] = text.split('\n').filter((l) => l.trim() !== '');
  const inOrder = await csv(text);
  const reversed = await csv(`${[header, ...rows.reverse()].join('\n')}\n`);
  assert.deepEqual(reversed.issues, []);
  const sample = (e: CoalEvent) => [e.coalmine.ts, e.process?.pid, e.metrics?.cpu_pct];
  assert.ok(inOrder.events.length > 60);
  // rows of one time hold a host and a process sample: their order within the row is kept
  assert.deepEqual(reversed.events.map(sample), inOrder.events.map(sample));
  assert.equal(reversed.events[0].coalmine.ref.line, rows.length + 1, 'the oldest row, now last in the file');
});
