/**
 * A baseline of the persistence places (cron, systemd units, rc files, ld.so.preload,
 * authorized_keys; the places are the caller's): every file under them, hashed, so a later
 * `verify --baseline` says what was added, removed or changed since: the playbook's "monitor for
 * recurrence" after a cleanup. Links are recorded as their target text and never followed; paths
 * resolve inside the root only. Bounded: files, depth, bytes hashed per file (a larger file is hashed
 * over its first bytes and says so), the size of a baseline read back.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { resolveInRoot } from '../util/root-path.js';
import { hashFile } from './integrity.js';

export interface BaselineFile {
  /** The path as the root's host names it (`/etc/cron.d/x`). */
  path: string;
  /** sha256 of the content (of its first `MAX_HASHED_BYTES` when `partial`), or of a link's target text. */
  sha256: string;
  sizeBytes: number;
  link?: string;
  partial?: boolean;
}

export interface Baseline {
  coalmine: 'verify-baseline';
  version: 1;
  created: string;
  root: string;
  files: BaselineFile[];
  /** The snapshot stopped at a bound (files): a comparison only covers what it holds. */
  truncated?: boolean;
}

export interface BaselineChange {
  status: 'added' | 'removed' | 'changed';
  path: string;
  before?: BaselineFile;
  after?: BaselineFile;
}

const MAX_FILES = 50_000;
const MAX_DEPTH = 8;
const MAX_HASHED_BYTES = 64 * 1024 * 1024;
const MAX_BASELINE_BYTES = 256 * 1024 * 1024;
const READ_BYTES = 1024 * 1024;

/** Every file under the places (relative to the root, e.g. `etc/cron.d`), as found now. */
export async function snapshot(
  root: string,
  places: readonly string[],
  nowMs: number,
  report: (i: Issue) => void,
): Promise<Baseline> {
  const files = new Map<string, BaselineFile>();
  const buf = Buffer.allocUnsafe(READ_BYTES);
  let truncated = false;
  const visit = async (hostPath: string, real: string, depth: number): Promise<void> => {
    if (files.size >= MAX_FILES) {
      truncated = true;
      return;
    }
    const st = await lstat(real).catch(() => undefined);
    if (!st) return;
    if (st.isSymbolicLink()) {
      const target = clip(await readlink(real).catch(() => ''), 4096);
      files.set(hostPath, {
        path: hostPath,
        link: target,
        sha256: createHash('sha256').update(target).digest('hex'),
        sizeBytes: 0,
      });
      return;
    }
    if (st.isDirectory()) {
      if (depth >= MAX_DEPTH) return;
      const names = await readdir(real).catch((err: Error) => {
        report({ file: hostPath, code: 'INPUT_UNREADABLE', reason: clip(err.message, 200), stage: 'reading' });
        return [] as string[];
      });
      for (const name of names.sort()) await visit(`${hostPath}/${name}`, join(real, name), depth + 1);
      return;
    }
    if (!st.isFile()) return;
    try {
      const h = hashFile(real, 'sha256', buf, MAX_HASHED_BYTES);
      files.set(hostPath, {
        path: hostPath,
        sha256: h.digest,
        sizeBytes: st.size,
        ...(h.partial ? { partial: true } : {}),
      });
    } catch (err) {
      report({ file: hostPath, code: 'INPUT_UNREADABLE', reason: clip((err as Error).message, 200), stage: 'reading' });
    }
  };
  for (const place of places) {
    const at = await resolveInRoot(root, place.split('/'));
    if (at.kind !== 'found') continue; // absent places are normal
    await visit(`/${place}`, join(root, ...at.segments), 0);
  }
  if (truncated)
    report({
      file: root,
      code: 'VERIFY_TRUNCATED',
      reason: `more than ${MAX_FILES} files in persistence places: the rest are not in the baseline`,
      stage: 'reading',
    });
  return {
    coalmine: 'verify-baseline',
    version: 1,
    created: new Date(nowMs).toISOString(),
    root,
    files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    ...(truncated ? { truncated } : {}),
  };
}

function isBaselineFile(v: unknown): v is BaselineFile {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return (
    typeof f.path === 'string' &&
    f.path.startsWith('/') &&
    f.path.length <= 8192 &&
    typeof f.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(f.sha256) &&
    typeof f.sizeBytes === 'number' &&
    (f.link === undefined || typeof f.link === 'string')
  );
}

/** A baseline file read back, each entry checked; bad entries are issues naming their index. */
export async function readBaseline(path: string, report: (i: Issue) => void): Promise<Baseline | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) {
    report({ file: path, code: 'INPUT_UNREADABLE', reason: 'no baseline file here', stage: 'reading', unread: true });
    return undefined;
  }
  if (st.size > MAX_BASELINE_BYTES) {
    report({
      file: path,
      code: 'INPUT_TOO_LARGE',
      reason: `${st.size} bytes, over ${MAX_BASELINE_BYTES}`,
      stage: 'reading',
      unread: true,
    });
    return undefined;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    report({
      file: path,
      code: 'VERIFY_BAD_BASELINE',
      reason: clip((err as Error).message, 200),
      stage: 'parsing',
      unread: true,
    });
    return undefined;
  }
  const d = doc as Partial<Baseline> | null;
  if (d?.coalmine !== 'verify-baseline' || d.version !== 1 || !Array.isArray(d.files)) {
    report({
      file: path,
      code: 'VERIFY_BAD_BASELINE',
      reason: 'not a coalmine verify baseline (version 1)',
      stage: 'parsing',
      unread: true,
    });
    return undefined;
  }
  const files: BaselineFile[] = [];
  d.files.forEach((f, i) => {
    if (isBaselineFile(f)) files.push(f);
    else
      report({
        file: path,
        record: `files[${i}]`,
        code: 'VERIFY_BAD_BASELINE',
        reason: 'entry without path, sha256 and sizeBytes',
        stage: 'parsing',
      });
  });
  return {
    coalmine: 'verify-baseline',
    version: 1,
    created: typeof d.created === 'string' ? clip(d.created, 64) : '',
    root: typeof d.root === 'string' ? clip(d.root, 4096) : '',
    files,
    ...(d.truncated ? { truncated: true } : {}),
  };
}

/** What differs between a baseline and now, in path order. */
export function compareBaseline(before: Baseline, now: Baseline): BaselineChange[] {
  const old = new Map(before.files.map((f) => [f.path, f]));
  const changes: BaselineChange[] = [];
  for (const f of now.files) {
    const b = old.get(f.path);
    if (!b) changes.push({ status: 'added', path: f.path, after: f });
    else if (b.sha256 !== f.sha256 || (b.link ?? null) !== (f.link ?? null))
      changes.push({ status: 'changed', path: f.path, before: b, after: f });
    old.delete(f.path);
  }
  for (const b of old.values()) changes.push({ status: 'removed', path: b.path, before: b });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
