/**
 * Preloaded libraries: every process loads what `/etc/ld.so.preload` names (libprocesshider's home),
 * and a process whose environment has `LD_PRELOAD` loads what that names. Both are read (the file
 * under a root, environments from a live `/proc`, bounded) and each library is judged against the
 * package records: one no package owns is evidence, an owned one (jemalloc, a profiler) is not.
 * Read-only; an environment that cannot be read (another user's, unprivileged) is counted.
 */
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clip } from '../util/hostile.js';
import { resolveInRoot } from '../util/root-path.js';
import { readBounded } from './hidden-processes.js';

export interface PreloadEntry {
  /** The library as written (clipped). */
  library: string;
  /** Where it is named: `/etc/ld.so.preload` (with line) or `LD_PRELOAD` of these pids. */
  from: 'ld.so.preload' | 'LD_PRELOAD';
  line?: number;
  pids?: number[];
  /** The owning package, when the records say. */
  package?: string;
  /** The library is not on disk under the root. */
  missing?: boolean;
}

export interface PreloadScan {
  entries: PreloadEntry[];
  /**
   * Environments read, and refused (EACCES/EPERM: another user's process when not root; even root is
   * refused a process that made itself non-dumpable or sits behind a namespace's barrier).
   */
  environments: number;
  environmentsDenied: number;
  /** The first refused pids (at most 16), so the gap is named. */
  deniedPids: number[];
}

const MAX_PRELOAD_FILE_BYTES = 64 * 1024;
const MAX_ENVIRON_BYTES = 256 * 1024;
const MAX_LIBRARIES = 256;
const MAX_PIDS_PER_LIBRARY = 64;
const MAX_PATH_CHARS = 4096;
const MAX_DENIED_NAMED = 16;

/** The libraries a preload list names: whitespace-separated (ld.so.preload) or also `:` (LD_PRELOAD), bounded. */
export function splitPreload(text: string, colons: boolean): string[] {
  return text
    .split(colons ? /[\s:]+/ : /\s+/, MAX_LIBRARIES + 1)
    .filter((s) => s !== '')
    .slice(0, MAX_LIBRARIES)
    .map((s) => clip(s, MAX_PATH_CHARS));
}

/** The value of `LD_PRELOAD` in a NUL-separated environment block, if set. */
export function ldPreloadOf(environ: Buffer): string | undefined {
  const key = Buffer.from('LD_PRELOAD=');
  let at = 0;
  while (at < environ.length) {
    let end = environ.indexOf(0, at);
    if (end < 0) end = environ.length;
    if (end - at >= key.length && environ.compare(key, 0, key.length, at, at + key.length) === 0)
      return environ.toString('utf8', at + key.length, end);
    at = end + 1;
  }
  return undefined;
}

export interface PreloadScanOptions {
  /** Filesystem root whose `etc/ld.so.preload` is read (`/` live). */
  root: string;
  /** Live `/proc` whose processes' environments are read; none for a collected root. */
  procRoot?: string;
  pids?: Iterable<number>;
  /** The owning package of an absolute path (package-db.ts), when records exist. */
  owner?: (path: string) => string | undefined;
}

export async function scanPreload(options: PreloadScanOptions): Promise<PreloadScan> {
  const entries: PreloadEntry[] = [];
  const judge = async (e: PreloadEntry): Promise<PreloadEntry> => {
    if (e.library.startsWith('/')) {
      const at = await resolveInRoot(options.root, e.library.split('/'));
      if (at.kind !== 'found') e.missing = true;
      else {
        const pkg = options.owner?.(`/${at.segments.join('/')}`) ?? options.owner?.(e.library);
        if (pkg) e.package = pkg;
      }
    }
    return e;
  };
  const file = await resolveInRoot(options.root, ['etc', 'ld.so.preload']);
  if (file.kind === 'found') {
    const path = join(options.root, ...file.segments);
    const st = (() => {
      try {
        return lstatSync(path);
      } catch {
        return undefined;
      }
    })();
    if (st?.isFile()) {
      const text = (await readFile(path)).subarray(0, MAX_PRELOAD_FILE_BYTES).toString('utf8');
      let lineNo = 0;
      for (const line of text.split('\n')) {
        lineNo++;
        const body = line.replace(/#.*/, '');
        for (const library of splitPreload(body, false))
          if (entries.length < MAX_LIBRARIES)
            entries.push(await judge({ library, from: 'ld.so.preload', line: lineNo }));
      }
    }
  }
  let environments = 0;
  let environmentsDenied = 0;
  const deniedPids: number[] = [];
  if (options.procRoot !== undefined) {
    const byLibrary = new Map<string, number[]>();
    for (const pid of options.pids ?? []) {
      const environ = readBounded(join(options.procRoot, String(pid), 'environ'), MAX_ENVIRON_BYTES, (code) => {
        if (code !== 'EACCES' && code !== 'EPERM') return;
        environmentsDenied++;
        if (deniedPids.length < MAX_DENIED_NAMED) deniedPids.push(pid);
      });
      if (environ === undefined) continue;
      environments++;
      const value = ldPreloadOf(environ);
      if (value === undefined) continue;
      for (const library of splitPreload(value, true)) {
        const pids = byLibrary.get(library) ?? [];
        if (pids.length === 0 && byLibrary.size >= MAX_LIBRARIES) continue;
        if (pids.length < MAX_PIDS_PER_LIBRARY) pids.push(pid);
        byLibrary.set(library, pids);
      }
    }
    for (const [library, pids] of byLibrary) entries.push(await judge({ library, from: 'LD_PRELOAD', pids }));
  }
  return { entries, environments, environmentsDenied, deniedPids };
}
