/**
 * scripts/run-tests.mjs's last line counts passed, failed, skipped and todo tests separately (a skipped
 * test is not a passed one), and a run in another directory does not read or write this checkout's counts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const RUNNER = join(ROOT, 'scripts', 'run-tests.mjs');

function project(tests: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-run-tests-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  mkdirSync(join(dir, 'test'));
  writeFileSync(join(dir, 'test', 'sample.test.ts'), `import { describe, test } from 'node:test';\n${tests}`);
  return dir;
}

function run(dir: string) {
  // without the parent's NODE_TEST_CONTEXT, or node:test thinks it is nested and runs nothing
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [RUNNER], { cwd: dir, encoding: 'utf8', env });
  return { code: r.status, last: r.stdout.trim().split('\n').at(-1) ?? '', stderr: r.stderr };
}

test('the summary line says how many passed, failed, were skipped and are todo', (t) => {
  const dir = project(`
test('a', () => {});
describe('suite', () => { test('b', () => {}); test('c', { skip: 'no tshark' }, () => {}); });
test('d', (t) => t.skip('no data'));
test('e', { todo: true }, () => {});
`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.last, 'run-tests: 2 passed, 0 failed, 2 skipped, 1 todo in 1 files');
});

test('a failing run still prints its counts and exits non-zero', (t) => {
  const dir = project(
    `test('ok', () => {});\ntest('bad', () => { throw new Error('no'); });\ntest('s', { skip: true }, () => {});\n`,
  );
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(dir);
  assert.notEqual(r.code, 0);
  assert.equal(r.last, 'run-tests: 1 passed, 1 failed, 1 skipped in 1 files');
});

test('a run where every test is skipped fails: nothing was tested', (t) => {
  const dir = project(`test('s', { skip: true }, () => {});\n`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = run(dir);
  assert.equal(r.code, 1);
  assert.equal(r.last, 'run-tests: 0 passed, 0 failed, 1 skipped in 1 files');
  assert.match(r.stderr, /0 tests ran/);
});
