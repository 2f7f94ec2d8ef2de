/**
 * Every `npm run` script must work on a fresh clone: each file a script names (a config, a bench, a
 * script) is tracked by git, so it is there after `git clone` (`build` once named a tsconfig that was not).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

test('every file a package.json script names is tracked by git', (t) => {
  let tracked: Set<string>;
  try {
    tracked = new Set(execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n'));
  } catch {
    t.skip('not a git checkout');
    return;
  }
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  let named = 0;
  for (const [name, command] of Object.entries(scripts))
    for (const word of command.split(/\s+|&&/)) {
      // a repo path: has a directory or a file extension, is not a flag, a package (tsx) or `.`
      if (word.startsWith('-') || !/[/]|\.(json|ts|mjs|js)$/.test(word)) continue;
      named++;
      const path = word.replace(/^\.\//, '');
      const present = tracked.has(path) || [...tracked].some((f) => f.startsWith(`${path}/`));
      assert.ok(present, `npm run ${name}: ${word} is not in the repository`);
    }
  assert.ok(named >= 10, `found ${named} files named by scripts`);
});
