/** Self time from a V8 .cpuprofile, shared by the benches that report where their time goes. */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}

export interface SelfTime {
  /** `path:function` (paths relative to the repository) → share of samples, in percent, largest first. */
  byFunction: Array<[string, number]>;
  byFile: Array<[string, number]>;
}

const REPO = join(fileURLToPath(new URL('.', import.meta.url)), '..');

/** The `top` largest self-time shares per function and per file. */
export function selfTime(profile: { nodes: ProfileNode[] }, top: number): SelfTime {
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const root = pathToFileURL(REPO).href;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const url = n.callFrame.url.startsWith(root)
      ? n.callFrame.url.slice(root.length + 1)
      : n.callFrame.url || `(${n.callFrame.functionName || 'native'})`;
    // tsx hands V8 each module on one line, so line numbers say nothing: name the function only
    const fn = `${url}:${n.callFrame.functionName || '(anonymous)'}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
    byFile.set(url, (byFile.get(url) ?? 0) + hits);
  }
  const list = (m: Map<string, number>): Array<[string, number]> =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, (v / total) * 100]);
  return { byFunction: list(byFunction), byFile: list(byFile) };
}
