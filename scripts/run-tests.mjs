// Runs every *.test.ts under src/ and test/ through node:test with tsx. Node 20's runner does not
// expand globs, so we list the files ourselves; a run that finds no test files, or no tests, fails.
// The last line says how many passed, failed, were skipped and are todo.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
// the counts go to a file of this run's own: several runs in one checkout must not share it
const countDir = mkdtempSync(join(tmpdir(), 'coalmine-test-count-'));
const countFile = join(countDir, 'count.json');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${fileURLToPath(new URL('./count-reporter.mjs', import.meta.url))}`,
    `--test-reporter-destination=${countFile}`,
    ...files,
  ],
  // the CLI the tests spawn runs src/ through tsx: they test what src/ says, never a stale dist/
  // (test/e2e/built-bin.test.ts runs the build itself)
  { stdio: 'inherit', env: { ...process.env, COALMINE_FROM_SOURCE: '1' } },
);

let counts;
try {
  counts = JSON.parse(readFileSync(countFile, 'utf8'));
} catch {
  counts = undefined;
}
rmSync(countDir, { recursive: true, force: true });
if (counts) {
  const todo = counts.todo > 0 ? `, ${counts.todo} todo` : '';
  console.log(
    `run-tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${todo} in ${files.length} files`,
  );
}
if (result.status !== 0) process.exit(result.status ?? 1);
if (!counts || !(counts.passed > 0)) {
  console.error('run-tests: 0 tests ran');
  process.exit(1);
}
