/**
 * A path inside a collected filesystem resolved as that host would resolve it (chroot-like): a link's
 * absolute target restarts at the root and `..` stops there, so nothing is ever reached outside it.
 * `run/inputs.ts` (collections) and `coalmine verify --root` read through it.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Links followed in one chain before it counts as a loop (Linux's own limit is 40). */
export const MAX_LINK_HOPS = 40;

export type Resolution =
  | { kind: 'found'; segments: string[]; crossed: boolean; climbed: boolean; firstTarget?: string }
  | { kind: 'loop' | 'missing'; firstTarget?: string };

/**
 * `segments` under `root` resolved as the host would, one component at a time: a link's absolute target
 * restarts at the root, `..` stops at it (`climbed` says it tried to go higher).
 */
export async function resolveInRoot(root: string, segments: readonly string[]): Promise<Resolution> {
  const pending = [...segments].reverse();
  const resolved: string[] = [];
  let hops = 0;
  let crossed = false;
  let climbed = false;
  let firstTarget: string | undefined;
  while (pending.length > 0) {
    const segment = pending.pop() as string;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (resolved.length > 0) resolved.pop();
      else climbed = true;
      continue;
    }
    resolved.push(segment);
    const at = join(root, ...resolved);
    let isLink: boolean;
    try {
      isLink = (await lstat(at)).isSymbolicLink();
    } catch {
      return { kind: 'missing', firstTarget };
    }
    if (!isLink) continue;
    if (++hops > MAX_LINK_HOPS) return { kind: 'loop', firstTarget };
    let target: string;
    try {
      target = await readlink(at);
    } catch {
      return { kind: 'missing', firstTarget };
    }
    crossed = true;
    firstTarget ??= target;
    resolved.pop();
    if (target.startsWith('/')) resolved.length = 0;
    const parts = target.split('/');
    for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]);
  }
  return { kind: 'found', segments: resolved, crossed, climbed, firstTarget };
}
