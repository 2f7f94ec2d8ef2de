/**
 * Whether dist/ (the build of src/ that `npm run build` writes and `prepare` runs on install) says what
 * src/ says: every src/ module but the tests has its dist/ module, written after the source last
 * changed. A checkout where someone edited src/ since the build must not run the old code. An install
 * without src/ (a package) has only dist/, which is then current by definition.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** @returns {{ current: true } | { current: false, reason: string }} */
export function distState(root = PACKAGE_ROOT) {
  const src = join(root, 'src');
  const dist = join(root, 'dist');
  if (!statSync(join(dist, 'cli', 'index.js'), { throwIfNoEntry: false })) return stale('dist/ is missing');
  let names;
  try {
    names = readdirSync(src, { recursive: true });
  } catch {
    return { current: true };
  }
  for (const name of names) {
    // the tests are not built (tsconfig.build.json excludes them)
    if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.d.ts')) continue;
    const built = statSync(join(dist, `${name.slice(0, -3)}.js`), { throwIfNoEntry: false });
    if (!built) return stale(`dist/ has no build of src/${name}`);
    const source = statSync(join(src, name), { throwIfNoEntry: false });
    if (source && source.mtimeMs > built.mtimeMs) return stale(`src/${name} changed since the build`);
  }
  return { current: true };
}

function stale(reason) {
  return { current: false, reason };
}
