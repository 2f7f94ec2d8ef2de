import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DURATION_MS, parseDurationMs, parseTimestamp } from './time.js';

test('ISO with and without a zone, epoch seconds and milliseconds', () => {
  const t = Date.UTC(2025, 2, 14, 2, 10, 0);
  assert.equal(parseTimestamp('2025-03-14T02:10:00Z'), t);
  assert.equal(parseTimestamp('2025-03-14T04:10:00+02:00'), t);
  assert.equal(parseTimestamp('2025-03-14 02:10:00'), t, 'no zone means UTC, whatever the machine');
  assert.equal(parseTimestamp('1741918200'), t);
  assert.equal(parseTimestamp(1741918200000), t);
});

test('garbage and implausible times are undefined, never a guess', () => {
  for (const v of ['yesterday', '', '9'.repeat(80), '1969-01-01T00:00:00Z', '2999-01-01T00:00:00Z', Number.NaN, {}])
    assert.equal(parseTimestamp(v), undefined, String(v));
});

test('durations', () => {
  assert.equal(parseDurationMs('15m'), 900_000);
  assert.equal(parseDurationMs('1.5h'), 5_400_000);
  assert.equal(parseDurationMs('10 minutes'), undefined);
});

test('absurd durations are refused, not overflowed: over a year, beyond float range, or too long to be one', () => {
  assert.equal(parseDurationMs('365d'), MAX_DURATION_MS);
  for (const v of [
    '366d',
    '8761h',
    `1${'0'.repeat(30)}h`,
    `9${'9'.repeat(400)}ms`,
    '1e30h',
    'Infinityh',
    'NaNs',
    ' ',
    `${'1'.repeat(40)}s`,
  ])
    assert.equal(parseDurationMs(v), undefined, v);
});
