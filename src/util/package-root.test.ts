import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT, packagePath } from './package-root.js';

test('the package root holds our package.json and the bundled data', () => {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { name: string };
  assert.equal(pkg.name, 'coalmine');
  assert.ok(readdirSync(packagePath('rules', 'stable')).length > 0);
  assert.ok(readdirSync(packagePath('intel')).length > 0);
});

test('no other module finds files from its own location: the build moves modules, not the data', () => {
  // a path taken from import.meta resolves against src/ under tsx and dist/ when built; only this
  // helper is placed so that both land on the package root (tests are never built, so they may)
  const src = join(PACKAGE_ROOT, 'src');
  const offenders: string[] = [];
  for (const name of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name === join('util', 'package-root.ts')) continue;
    // a worker script is code: it moves with the module that starts it, so its sibling path holds in both layouts
    if (name === join('run', 'worker-thread.ts')) continue;
    const text = readFileSync(join(src, name), 'utf8');
    if (/import\.meta\.(url|dirname|filename)/.test(text)) offenders.push(name);
  }
  assert.deepEqual(offenders, []);
});
