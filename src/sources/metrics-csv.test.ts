import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileInput, readAll, runSourceContract } from './contract.js';
import { metricsCsv } from './metrics-csv.js';

const good = fileInput('test/fixtures/metrics-csv/good.csv');
runSourceContract({ source: metricsCsv, good, bad: fileInput('test/fixtures/metrics-csv/bad.csv') });

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

test('bad rows are reported by line and reason', async () => {
  const { events, issues } = await readAll(metricsCsv, fileInput('test/fixtures/metrics-csv/bad.csv'));
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
    ],
  );
});

test('the bundled example reads with no issues', async () => {
  const { events, issues } = await readAll(metricsCsv, fileInput('examples/kinsing-like/var/log/metrics/cpu.csv'));
  assert.deepEqual(issues, []);
  assert.ok(events.length > 100);
});
