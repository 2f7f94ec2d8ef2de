/**
 * An installed coalmine package for e2e tests of the build: src/ compiled into dist/, the bin copied
 * (it finds dist/ beside itself), package.json copied, data and node_modules linked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** Lays the package out in `dir/package` and returns that path. */
export function buildPackage(dir: string): string {
  const pkg = join(dir, 'package');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  // type checking is `npm run typecheck`'s job; the emitted JavaScript is the same
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(
    process.execPath,
    [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--noCheck'],
    { encoding: 'utf8' },
  );
  assert.equal(built.status, 0, `${built.stdout}${built.stderr}`);
  for (const name of ['coalmine.js', 'dist-state.js']) copyFileSync(join(ROOT, 'bin', name), join(pkg, 'bin', name));
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  for (const name of ['rules', 'intel', 'node_modules']) symlinkSync(join(ROOT, name), join(pkg, name));
  return pkg;
}
