/**
 * File names are input too: a log or policy file named with a right-to-left override or a zero-width
 * character is shown with visible escapes in the run summary and in policy errors, never raw.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { rawInvisible } from '../support/invisible.js';

test('hunt: bad input and policy errors name hostile file names with visible escapes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'report\u202egol.txt'), 'not a log\n');
  writeFileSync(join(dir, 'zero\u200bwidth\u2028.log'), 'still not a log\n');
  const hunt = runCli(['hunt', dir, '--format', 'ndjson', '--policy', '/dev/null']);
  // neither file is a log: nothing could be read
  assert.equal(hunt.code, 4, hunt.stderr);
  assert.deepEqual(rawInvisible(hunt.stderr), []);
  assert.ok(hunt.stderr.includes('report\\u202egol.txt:1: SOURCE_UNKNOWN_FORMAT'), hunt.stderr);
  assert.ok(hunt.stderr.includes('zero\\u200bwidth\\u2028.log:1:'), hunt.stderr);

  const policy = join(dir, 'policy\u202elmay.yaml');
  writeFileSync(policy, 'thresholds:\n  window: 1h\n  sustian: 15m\n');
  const bad = runCli(['hunt', join(dir, 'report\u202egol.txt'), '--policy', policy]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.deepEqual(rawInvisible(bad.stderr), []);
  assert.ok(bad.stderr.includes('policy\\u202elmay.yaml:3: POLICY_UNKNOWN_KEY'), bad.stderr);
});

test('watch: a bad persistence file with a hostile name is reported with visible escapes', {
  skip: process.platform !== 'linux' && 'watch reads /proc',
}, (t) => {
  const root = mkdtempSync(join(tmpdir(), 'coalmine-names-root-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc', 'cron.d'), { recursive: true });
  writeFileSync(join(root, 'etc', 'cron.d', 'ev\u202eil\u200d'), 'garbage line here\n');
  const watch = runCli(['watch', '--root', root, '--duration', '2s', '--interval', '1', '--policy', '/dev/null']);
  assert.equal(watch.code, 0, watch.stderr);
  assert.deepEqual(rawInvisible(watch.stderr), []);
  assert.ok(watch.stderr.includes('cron.d/ev\\u202eil\\u200d:1: CRON_BAD_LINE'), watch.stderr);
});
