/**
 * The built CLI: what `npm install` runs. The other tests spawn bin/coalmine.js on src/ through tsx
 * (scripts/run-tests.mjs sets COALMINE_FROM_SOURCE), so this one builds src/ with tsconfig.build.json
 * into a package laid out as an install is (bin/, dist/, rules/, intel/, package.json; no src/) and
 * checks that the built bin prints the same bytes as the source on the bundled example: every data
 * file a module finds beside the code (rules, intel lists, price table, the version) resolves from
 * dist/ as from src/. Then bin/dist-state.js: a checkout whose src/ changed since the build is stale.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { distState } from '../../bin/dist-state.js';
import { buildPackage } from '../support/built-package.js';
import { BIN } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'kinsing-like');
const work = mkdtempSync(join(tmpdir(), 'coalmine-built-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(bin: string, args: string[], fromSource: boolean) {
  const env = { ...process.env };
  if (fromSource) env.COALMINE_FROM_SOURCE = '1';
  else delete env.COALMINE_FROM_SOURCE;
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  // the run summary says how long the run took
  const stderr = r.stderr.replace(/ in \d+(\.\d+)?s \(\d+ events\/s\)/g, ' in (time)');
  return { code: r.status, stdout: r.stdout, stderr };
}

test('the built bin prints what the source prints on the bundled example', { timeout: 300_000 }, () => {
  const pkg = buildPackage(work);
  assert.equal(distState(pkg).current, true, 'a package without src/ runs its dist/');
  const builtBin = join(pkg, 'bin', 'coalmine.js');
  const report = (name: string) => join(work, `${name}.html`);
  const commands: Array<[string, string[]]> = [
    ['version', ['--version']],
    ['hunt table', ['hunt', EXAMPLE]],
    ['hunt ndjson', ['hunt', EXAMPLE, '--format', 'ndjson', '--no-summary']],
    ['coverage', ['coverage', EXAMPLE]],
    ['rules check', ['rules', 'check']],
    ['intel stats', ['intel', 'stats']],
  ];
  for (const [name, args] of commands) {
    const built = run(builtBin, args, false);
    const source = run(BIN, args, true);
    assert.doesNotMatch(built.stderr, /through tsx/, `${name}: the built bin ran src/`);
    assert.ok(built.stdout.length > 0, `${name}: printed nothing\n${built.stderr}`);
    assert.deepEqual(built, source, name);
  }
  // equal could mean equally lost: the data files are found at all
  const ndjson = run(builtBin, ['hunt', EXAMPLE, '--format', 'ndjson', '--no-summary'], false).stdout;
  assert.match(ndjson, /"analytic":"AN0742"/);
  assert.match(ndjson, /"severity":"high"/);
  assert.equal(
    run(builtBin, ['--version'], false).stdout.trim(),
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
  );
  assert.match(run(builtBin, ['rules', 'check'], false).stdout, /^[1-9]\d* rules loaded/m);
  assert.doesNotMatch(run(builtBin, ['hunt', EXAMPLE], false).stderr, /UNREADABLE|ENOENT|no such file/i);

  const builtReport = run(builtBin, ['hunt', EXAMPLE, '--report', report('built')], false);
  const sourceReport = run(BIN, ['hunt', EXAMPLE, '--report', report('source')], true);
  assert.equal(builtReport.code, sourceReport.code);
  assert.equal(readFileSync(report('built'), 'utf8'), readFileSync(report('source'), 'utf8'));
});

test('dist/ is stale when it is missing, lacks a module, or is older than a source module', () => {
  const root = join(work, 'checkout');
  const src = join(root, 'src', 'cli');
  const dist = join(root, 'dist', 'cli');
  mkdirSync(src, { recursive: true });
  assert.deepEqual(distState(root), { current: false, reason: 'dist/ is missing' });

  mkdirSync(dist, { recursive: true });
  writeFileSync(join(src, 'index.ts'), 'export {};\n');
  writeFileSync(join(dist, 'index.js'), 'export {};\n');
  const built = new Date('2026-01-01T00:00:00Z');
  utimesSync(join(src, 'index.ts'), new Date('2025-12-31T00:00:00Z'), new Date('2025-12-31T00:00:00Z'));
  utimesSync(join(dist, 'index.js'), built, built);
  assert.deepEqual(distState(root), { current: true });

  // tests are not built, so they never make dist/ stale
  writeFileSync(join(src, 'index.test.ts'), 'export {};\n');
  assert.deepEqual(distState(root), { current: true });

  // a developer edits a module after the build
  const edited = new Date('2026-01-02T00:00:00Z');
  utimesSync(join(src, 'index.ts'), edited, edited);
  assert.deepEqual(distState(root), { current: false, reason: 'src/cli/index.ts changed since the build' });
  utimesSync(join(src, 'index.ts'), built, built);
  assert.deepEqual(distState(root), { current: true });

  // … or adds one the build never saw
  mkdirSync(join(root, 'src', 'util'));
  writeFileSync(join(root, 'src', 'util', 'new.ts'), 'export {};\n');
  assert.deepEqual(distState(root), { current: false, reason: 'dist/ has no build of src/util/new.ts' });
});

test('a checkout with a stale dist/ runs src/ through tsx and says so on stderr', () => {
  // a checkout (src/ present) that was never built
  const root = join(work, 'stale');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const name of ['coalmine.js', 'dist-state.js']) copyFileSync(join(ROOT, 'bin', name), join(root, 'bin', name));
  copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  for (const name of ['src', 'rules', 'intel', 'node_modules']) symlinkSync(join(ROOT, name), join(root, name));
  const stale = run(join(root, 'bin', 'coalmine.js'), ['--version'], false);
  assert.equal(stale.code, 0, stale.stderr);
  assert.equal(stale.stderr, 'coalmine: dist/ is missing: running src/ through tsx (npm run build to use the build)\n');
  assert.equal(stale.stdout, run(BIN, ['--version'], true).stdout);
});
