import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuSeries } from './cpu-series.js';

test('a short series keeps every sample', () => {
  const s = new CpuSeries();
  for (let i = 0; i < 10; i++) s.push(i * 1000, i * 10);
  assert.deepEqual(
    s.points().map(([, p]) => p),
    [0, 10, 20, 30, 40, 50, 60, 70, 80, 90],
  );
});

test('a long series stays at 64 points spanning the whole run, with means of what it merged', () => {
  const s = new CpuSeries();
  for (let i = 0; i < 10_000; i++) s.push(i * 60_000, i < 5000 ? 10 : 390);
  const points = s.points();
  assert.ok(points.length <= 64 && points.length >= 32, String(points.length));
  assert.equal(points[0][0], 0);
  assert.ok(points[points.length - 1][0] >= 9000 * 60_000, 'the end of the run is still there');
  assert.equal(points[0][1], 10);
  assert.equal(points[points.length - 1][1], 390);
  for (let i = 1; i < points.length; i++) assert.ok(points[i][0] > points[i - 1][0]);
});
