import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instanceIdIn, instanceIdOf } from './aws-ids.js';

test('an instance id is i- and 8 or 17 lowercase hex digits, nothing around it', () => {
  for (const id of ['i-0a1b2c3d4e5f60718', 'i-1a2b3c4d']) assert.equal(instanceIdOf(id), id);
  for (const v of [
    'i-0A1B2C3D4E5F60718',
    'i-0a1b2c3d4e5f6071',
    'i-1a2b3c4d ',
    'eni-1a2b3c4d',
    'i-xyzxyzxy',
    42,
    undefined,
  ])
    assert.equal(instanceIdOf(v), undefined, String(v));
});

test('an instance id standing as a word of a label or file name is found; one inside a longer word is not', () => {
  const cases: Array<[string, boolean, string | undefined]> = [
    ['i-0a1b2c3d4e5f60718 CPUUtilization', false, 'i-0a1b2c3d4e5f60718'],
    ['CPU of I-0A1B2C3D4E5F60718', false, 'i-0a1b2c3d4e5f60718'],
    ['i-0a1b2c3d4e5f60718-cpu.json', false, 'i-0a1b2c3d4e5f60718'],
    ['cpu_i-1a2b3c4d.json', false, 'i-1a2b3c4d'],
    ['cpu_i_0a1b2c3d4e5f60718', true, 'i-0a1b2c3d4e5f60718'],
    ['cpu_i_0a1b2c3d4e5f60718', false, undefined],
    ['eni-0a1b2c3d4e5f60718', false, undefined],
    ['ami-0a1b2c3d', false, undefined],
    ['i-0a1b2c3d4e5f607189', false, undefined],
    ['i-0a1b2c3d4', false, undefined],
    ['', false, undefined],
  ];
  for (const [text, underscore, want] of cases) assert.equal(instanceIdIn(text, underscore), want, text);
  // a megabyte label costs one bounded pass
  assert.equal(instanceIdIn(`${'i-'.repeat(500_000)}i-0a1b2c3d`), undefined);
});
