/**
 * System binaries and configuration against the package records (package-db.ts), on a live root or a
 * collected one: a recorded file whose md5 differs is changed (a trojaned `ps`), one that is gone is
 * missing, and a regular file in a bin/sbin directory (or a shared object in a lib directory) that no
 * package owns is unowned (a dropped miner or hider). `runnable` says whether the file is code the
 * system runs (bin/sbin, a shared object, mode +x): the caller's evidence; a changed data file or
 * conffile (an administrator's edit, a self-updated npm's docs) is context.
 *
 * Bounded: files hashed, bytes hashed, the size of one file, a time budget; hashing is streamed in
 * 1 MiB reads. Paths resolve inside the root only (a link's absolute target restarts at the root), and
 * a recorded file that is itself a link is not hashed (dpkg records no md5 for links).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from '../util/root-path.js';
import type { PackageDb, PackageFile } from './package-db.js';

export type IntegrityStatus = 'changed' | 'missing' | 'unowned';

export interface IntegrityItem {
  status: IntegrityStatus;
  /** The path as the root's host names it (`/usr/bin/ps`). */
  path: string;
  package?: string;
  conffile?: boolean;
  /** Changed: the recorded and the present md5. */
  expected?: string;
  actual?: string;
  sizeBytes?: number;
  /** Machine code or a script the system runs: in a bin/sbin directory, a shared object, or mode +x. */
  runnable?: boolean;
}

export interface IntegrityScan {
  items: IntegrityItem[];
  /** Recorded files hashed, and bytes read doing it. */
  hashed: number;
  bytesHashed: number;
  /** Files in bin/sbin/lib directories looked at for ownership. */
  listed: number;
  /** Files over the per-file size bound: not hashed (named in `skipped`). */
  skipped: string[];
  /** A bound stopped the scan early: which. */
  truncated?: 'files' | 'bytes' | 'time';
  durationMs: number;
}

export interface IntegrityOptions {
  root: string;
  db: PackageDb;
  /** Recorded files hashed at most (default 500,000). */
  maxFiles?: number;
  /** Bytes hashed at most (default 16 GiB). */
  maxBytes?: number;
  /** A file larger than this is not hashed (default 512 MiB). */
  maxFileBytes?: number;
  /** Default 15 minutes. */
  timeBudgetMs?: number;
}

/** Directories whose every regular file should belong to a package. */
export const BIN_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/bin', '/sbin'];
/** Directories whose shared objects should belong to a package (and their multiarch subdirectory). */
export const LIB_DIRS = ['/usr/lib', '/usr/lib64', '/usr/local/lib', '/lib', '/lib64'];
const SYSTEM_PREFIXES = [
  '/usr/bin/',
  '/usr/sbin/',
  '/usr/lib',
  '/usr/libexec/',
  '/usr/local/',
  '/bin/',
  '/sbin/',
  '/lib',
];
const MAX_LISTED = 200_000;
const READ_BYTES = 1024 * 1024;

/** In a bin/sbin directory, a shared object, or executable by mode. */
export function isRunnable(path: string, mode: number): boolean {
  const dir = path.slice(0, path.lastIndexOf('/'));
  return BIN_DIRS.includes(dir) || /\.so(\.|$)/.test(path.slice(dir.length + 1)) || (mode & 0o111) !== 0;
}

function isSystemPath(path: string): boolean {
  return SYSTEM_PREFIXES.some((p) => path.startsWith(p));
}

/**
 * A file's digest, read in 1 MiB steps (never whole into memory): over its first `maxBytes` at most,
 * `partial` when there was more. Shared by the package check (md5, dpkg's) and the baseline (sha256).
 */
export function hashFile(
  path: string,
  algorithm: 'md5' | 'sha256',
  buf: Buffer = Buffer.allocUnsafe(READ_BYTES),
  maxBytes = Number.POSITIVE_INFINITY,
): { digest: string; partial: boolean } {
  const hash = createHash(algorithm);
  const fd = openSync(path, 'r');
  let total = 0;
  try {
    while (total < maxBytes) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, maxBytes - total), null);
      if (n === 0) return { digest: hash.digest('hex'), partial: false };
      hash.update(buf.subarray(0, n));
      total += n;
    }
    return { digest: hash.digest('hex'), partial: readSync(fd, buf, 0, 1, null) > 0 };
  } finally {
    closeSync(fd);
  }
}

/** A host path resolved under the root: the real path on disk, or undefined when it is not there. */
async function underRoot(root: string, path: string): Promise<string | undefined> {
  const at = await resolveInRoot(root, path.split('/'));
  return at.kind === 'found' ? join(root, ...at.segments) : undefined;
}

export async function verifyPackages(options: IntegrityOptions): Promise<IntegrityScan> {
  const started = performance.now();
  const maxFiles = options.maxFiles ?? 500_000;
  const maxBytes = options.maxBytes ?? 16 * 1024 ** 3;
  const maxFileBytes = options.maxFileBytes ?? 512 * 1024 ** 2;
  const budget = options.timeBudgetMs ?? 15 * 60_000;
  const scan: IntegrityScan = { items: [], hashed: 0, bytesHashed: 0, listed: 0, skipped: [], durationMs: 0 };
  const buf = Buffer.allocUnsafe(READ_BYTES);
  const overTime = () => performance.now() - started > budget;

  const recorded: PackageFile[] = options.db.files.filter((f) => f.conffile || isSystemPath(f.path));
  for (const f of recorded) {
    if (scan.hashed >= maxFiles) scan.truncated = 'files';
    else if (scan.bytesHashed >= maxBytes) scan.truncated = 'bytes';
    else if (overTime()) scan.truncated = 'time';
    if (scan.truncated) break;
    const real = await underRoot(options.root, f.path);
    const st = real ? await lstat(real).catch(() => undefined) : undefined;
    if (!real || !st) {
      // a conffile removed on purpose is the administrator's business; a missing binary is not
      if (!f.conffile)
        scan.items.push({ status: 'missing', path: f.path, package: f.package, runnable: isRunnable(f.path, 0) });
      continue;
    }
    if (!st.isFile()) continue;
    if (st.size > maxFileBytes) {
      scan.skipped.push(f.path);
      continue;
    }
    let actual: string;
    try {
      actual = hashFile(real, 'md5', buf).digest;
    } catch {
      continue; // unreadable: counted by the caller as not verified
    }
    scan.hashed++;
    scan.bytesHashed += st.size;
    if (actual !== f.md5)
      scan.items.push({
        status: 'changed',
        path: f.path,
        package: f.package,
        conffile: f.conffile,
        expected: f.md5,
        actual,
        sizeBytes: st.size,
        runnable: isRunnable(f.path, st.mode),
      });
  }

  // unowned: every regular file of a bin directory, shared objects of a lib directory and its multiarch one
  const dirs: { dir: string; onlyShared: boolean }[] = [
    ...BIN_DIRS.map((dir) => ({ dir, onlyShared: false })),
    ...LIB_DIRS.map((dir) => ({ dir, onlyShared: true })),
  ];
  const seenReal = new Set<string>();
  for (let i = 0; i < dirs.length && !scan.truncated; i++) {
    const { dir, onlyShared } = dirs[i];
    const real = await underRoot(options.root, dir);
    if (!real || seenReal.has(real)) continue; // /bin is /usr/bin on a merged root: once
    seenReal.add(real);
    const names = (await readdir(real).catch(() => [] as string[])).sort();
    for (const name of names) {
      if (scan.listed >= MAX_LISTED || overTime()) {
        scan.truncated = scan.listed >= MAX_LISTED ? 'files' : 'time';
        break;
      }
      const path = `${dir}/${name}`;
      const st = await lstat(join(real, name)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory() && onlyShared && /-linux-gnu|-linux-musl/.test(name) && i < dirs.length) {
        dirs.push({ dir: path, onlyShared: true });
        continue;
      }
      if (!st.isFile()) continue; // links (alternatives) and directories are not judged here
      if (onlyShared && !/\.so(\.|$)/.test(name)) continue;
      scan.listed++;
      if (options.db.owner(path) === undefined) scan.items.push({ status: 'unowned', path, sizeBytes: st.size });
    }
  }
  scan.durationMs = Math.round(performance.now() - started);
  return scan;
}
