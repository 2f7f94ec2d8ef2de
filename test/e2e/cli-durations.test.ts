/** Absurd durations on the command line are usage errors (exit 2), like in coalmine.yaml (common.test.ts has the values). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';

test('watch --duration/--sustain/--interval and simulate --duration refuse absurd values with exit 2', () => {
  for (const args of [
    ['watch', '--duration', `1${'0'.repeat(30)}h`],
    ['watch', '--sustain', '400d', '--duration', '1s'],
    ['watch', '--interval', '1e9', '--duration', '1s'],
    ['simulate', 'miner', '--duration', '99999999999'],
  ]) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /is invalid\./, args.join(' '));
  }
});
