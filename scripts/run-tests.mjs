// Runs every *.test.ts under src/ and test/ through node:test with tsx. Node 20's runner does not
// expand globs, so we list the files ourselves; a run that finds no test files, or no tests, fails.
// The last line says how many passed, failed, were skipped and are todo.
//
// Two files at a time (the CI machine has 2 cores and most of a file's time is one process starting and
// transpiling), except a file that says `// run-tests: alone` in its first lines: those run after the
// rest, one at a time, because what they check depends on the CPU being theirs (a live sensor sampling
// /proc, a lease TTL of a second or two). COALMINE_TEST_CONCURRENCY overrides the 2.
//
// The CLI the tests spawn runs dist/ when it is the build of src/ as it is now (bin/dist-state.js says
// so: CI builds it on install) and src/ through tsx otherwise, so the tests always test what src/ says;
// dist/ saves each spawn the transpiling.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distState } from '../bin/dist-state.js';

function collect(dir, out) {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [...collect('src', []), ...collect('test', []), ...collect('bench', [])];
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

/** Whether the file asks to run alone (`// run-tests: alone` within its first 4 KiB). */
function alone(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').includes('// run-tests: alone');
  } finally {
    closeSync(fd);
  }
}

const concurrency = Math.max(1, Number(process.env.COALMINE_TEST_CONCURRENCY) || 2);
const shared = files.filter((f) => !alone(f));
const solo = files.filter((f) => alone(f));
// a build that is not src/ as it is now is not used (the CLI would say so on stderr, which tests read)
const env = { ...process.env };
if (!distState().current) env.COALMINE_FROM_SOURCE = '1';

// the counts go to a file of this run's own: several runs in one checkout must not share it
const countDir = mkdtempSync(join(tmpdir(), 'coalmine-test-count-'));
const totals = { passed: 0, failed: 0, skipped: 0, todo: 0 };
let counted = false;
let status = 0;
for (const [group, n] of [
  [shared, concurrency],
  [solo, 1],
]) {
  if (group.length === 0) continue;
  const countFile = join(countDir, `count-${n}.json`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${n}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${fileURLToPath(new URL('./count-reporter.mjs', import.meta.url))}`,
      `--test-reporter-destination=${countFile}`,
      ...group,
    ],
    { stdio: 'inherit', env },
  );
  if (result.status !== 0) status = result.status ?? 1;
  try {
    const counts = JSON.parse(readFileSync(countFile, 'utf8'));
    for (const k of Object.keys(totals)) totals[k] += counts[k];
    counted = true;
  } catch {
    // no counts: the run died; its status says so
  }
}
rmSync(countDir, { recursive: true, force: true });
if (counted) {
  const todo = totals.todo > 0 ? `, ${totals.todo} todo` : '';
  console.log(
    `run-tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${todo} in ${files.length} files`,
  );
}
if (status !== 0) process.exit(status);
if (!counted || !(totals.passed > 0)) {
  console.error('run-tests: 0 tests ran');
  process.exit(1);
}
