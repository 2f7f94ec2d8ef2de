import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalIsoMs,
  durationText,
  MAX_DURATION_MS,
  parseDurationMs,
  parseTimestamp,
  parseUsDateTimeUtc,
} from './time.js';

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

test('a spelling Date.parse would read in the machine zone is refused; one naming its zone is read', () => {
  // Date.parse reads these in local time (and 02.12.2026 as February 12): a log's meaning would follow the machine
  for (const v of [
    '12/2/2026, 8:00:05.123 AM',
    '12/2/2026 8:00:05 PM',
    'Dec 2, 2026 8:00:05 AM',
    '02.12.2026 08:00:05',
  ])
    assert.equal(parseTimestamp(v), undefined, v);
  const t = Date.UTC(2026, 11, 2, 8, 0, 5);
  assert.equal(parseTimestamp('Tue, 02 Dec 2026 08:00:05 GMT'), t);
  assert.equal(parseTimestamp('Tue Dec 02 2026 09:00:05 GMT+0100 (CET)'), t);
  assert.equal(parseTimestamp('2026-12-02T03:00:05-0500'), t);
  assert.equal(parseTimestamp('2026-12-02T08:00:05.123456789Z'), t + 123);
  assert.equal(parseTimestamp('2026-12-02'), Date.UTC(2026, 11, 2));
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

test('US month/day/year times of a [UTC] column: 12-hour and 24-hour, fractions; impossible dates refused', () => {
  assert.equal(parseUsDateTimeUtc('12/2/2026, 8:00:05.123 AM'), Date.UTC(2026, 11, 2, 8, 0, 5, 123));
  assert.equal(parseUsDateTimeUtc('12/2/2026, 12:00:05 AM'), Date.UTC(2026, 11, 2, 0, 0, 5));
  assert.equal(parseUsDateTimeUtc('12/2/2026 12:30 PM'), Date.UTC(2026, 11, 2, 12, 30));
  assert.equal(parseUsDateTimeUtc('12/2/2026 17:30:00'), Date.UTC(2026, 11, 2, 17, 30));
  for (const v of [
    '2/30/2026 1:00 AM',
    '13/2/2026 1:00 AM',
    '12/2/2026 13:00 PM',
    '30.11.2026 09:00:00',
    '1'.repeat(50),
  ])
    assert.equal(parseUsDateTimeUtc(v), undefined, v);
});

test('canonicalIsoMs reads toISOString’s form as Date.parse does, and nothing else', () => {
  // every day of four years around a leap day, at a time of day that walks with it
  for (let d = 0; d < 4 * 366; d++) {
    const ms = Date.UTC(2023, 0, 1) + d * 86_400_000 + ((d * 7_919_123) % 86_400_000);
    const iso = new Date(ms).toISOString();
    const day = Number(iso.slice(8, 10));
    assert.equal(canonicalIsoMs(iso), day <= 28 ? ms : Number.NaN, iso);
  }
  // far years, both sides of 1970, and the last millisecond of a day
  for (const iso of [
    '1970-01-01T00:00:00.000Z',
    '1969-12-28T23:59:59.999Z',
    '1601-01-01T00:00:00.000Z',
    '2099-12-28T23:59:59.999Z',
    '2000-02-28T12:00:00.500Z',
  ])
    assert.equal(canonicalIsoMs(iso), Date.parse(iso), iso);
  // out of range, other spellings, a day that could roll over: left to Date.parse
  for (const s of [
    '2026-13-01T00:00:00.000Z',
    '2026-00-10T00:00:00.000Z',
    '2026-02-00T00:00:00.000Z',
    '2026-02-29T00:00:00.000Z',
    '2026-03-02T24:00:00.000Z',
    '2026-03-02T10:60:00.000Z',
    '2026-03-02T10:00:60.000Z',
    '2026-03-02T10:00:00.000+01:00',
    '2026-03-02T10:00:00Z',
    '2026-03-02 10:00:00.000Z',
    '2026-03-02T10:00:00.0a0Z',
    '+02026-03-02T10:00:00.000Z',
    '',
  ])
    assert.ok(Number.isNaN(canonicalIsoMs(s)), s);
});

test('a duration as a reader says it, in short units or in words (the one formatter of durations)', () => {
  const min = 60_000;
  const cases: Array<[number, string, string]> = [
    [200, '1 s', '1 second'],
    [40_000, '40 s', '40 seconds'],
    [min, '1 min', '1 minute'],
    [10 * min, '10 min', '10 minutes'],
    [60 * min, '1 h', '1 hour'],
    [61 * min, '1 h 1 min', '1 hour 1 minute'],
    [125 * min, '2 h 5 min', '2 hours 5 minutes'],
    [90 * min, '1 h 30 min', '1 hour 30 minutes'],
    [(10 * 60 + 30) * min, '10 h', '10 hours'],
    [24 * 60 * min, '24 h', '24 hours'],
    [71 * 60 * min, '71 h', '71 hours'],
    [72 * 60 * min, '3 d', '3 days'],
    [14 * 1440 * min, '14 d', '14 days'],
    [627 * 1440 * min, '627 d', '627 days'],
  ];
  for (const [ms, short, long] of cases) {
    assert.equal(durationText(ms), short, `${ms} ms`);
    assert.equal(durationText(ms, 'long'), long, `${ms} ms in words`);
  }
});
