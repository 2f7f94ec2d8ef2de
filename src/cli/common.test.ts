import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { durationOption } from './common.js';

test('duration options: units or bare seconds, refused past the option bound and past a year, never overflowed', () => {
  const unbounded = durationOption(Number.MAX_SAFE_INTEGER, 'hint');
  assert.equal(unbounded('90'), 90_000);
  assert.equal(unbounded('1.5h'), 5_400_000);
  assert.equal(unbounded('365d'), 365 * 86_400_000);
  for (const v of [
    '366d',
    '8761h',
    `1${'0'.repeat(30)}h`,
    `9${'9'.repeat(400)}`,
    '99999999999',
    'Infinity',
    'NaN',
    '-5s',
    '0s',
    '0',
    '',
  ])
    assert.throws(() => unbounded(v), InvalidArgumentError, v);
  const tenMinutes = durationOption(600_000, 'hint');
  assert.equal(tenMinutes('600'), 600_000);
  assert.throws(() => tenMinutes('601'), InvalidArgumentError);
});
