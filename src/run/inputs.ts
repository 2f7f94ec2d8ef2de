/**
 * Turning the user's PATH arguments into inputs: files, directories walked recursively (a directory
 * is treated as a collected filesystem: its `etc/hostname` names the host and a `bodyfile` at its
 * root, in Sleuth Kit format, gives the original mtimes), `-` for stdin. Symlinks are not followed.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Issue } from '../model/issue.js';
import type { SourceInput } from '../sources/types.js';
import { gunzipHead, HEAD_BYTES, isGzip, openChunks, readHead } from '../util/input.js';

export interface InputFile {
  input: SourceInput;
  sizeBytes: number;
}

const MAX_FILES = 100_000;
const MAX_DEPTH = 32;
/** Files in a collection that describe it rather than being telemetry. */
const COLLECTION_META = new Set(['bodyfile', 'bodyfile.txt', 'etc/hostname']);

export async function expandInputs(
  paths: string[],
  hostOverride: string | undefined,
  issues: Issue[],
): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push({ input: await stdinInput(hostOverride), sizeBytes: 0 });
      continue;
    }
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(path);
    } catch (err) {
      issues.push({ file: path, code: 'INPUT_UNREADABLE', reason: (err as Error).message, stage: 'reading' });
      continue;
    }
    if (st.isDirectory()) await walkCollection(path, hostOverride, out, issues);
    else if (st.isFile()) {
      const file = await fileInput(path, undefined, st.mtimeMs, hostOverride, st.size, issues);
      if (file) out.push(file);
    } else
      issues.push({
        file: path,
        code: 'INPUT_NOT_A_FILE',
        reason: 'not a regular file or directory',
        stage: 'reading',
      });
  }
  return out;
}

async function fileInput(
  path: string,
  relPath: string | undefined,
  mtimeMs: number,
  hostHint: string | undefined,
  sizeBytes: number,
  issues: Issue[],
): Promise<InputFile | undefined> {
  try {
    const { head, gzip } = await readHead(path);
    const rel = relPath && gzip ? relPath.replace(/\.gz$/, '') : relPath;
    return {
      input: { name: path, relPath: rel, head, open: () => openChunks(path, gzip), mtimeMs, hostHint },
      sizeBytes,
    };
  } catch (err) {
    issues.push({ file: path, code: 'INPUT_UNREADABLE', reason: (err as Error).message, stage: 'reading' });
    return undefined;
  }
}

/**
 * Only some places of a filesystem root (`var/spool/cron`, `etc/ld.so.preload`), named relative to it
 * as a collection would be, so the persistence sources recognise them: what a live sensor rescans.
 */
export async function rootInputs(
  root: string,
  places: readonly string[],
  hostOverride: string | undefined,
  issues: Issue[],
  walker: PlaceWalker = {},
): Promise<InputFile[]> {
  const out: InputFile[] = [];
  await walkCollection(root, hostOverride, out, issues, places, walker);
  return out;
}

/** What a live sensor asks of a walk over its places. */
export interface PlaceWalker {
  /** Leave out a file already read at this mtime and size, before its head is read. */
  unchanged?: (path: string, mtimeMs: number, sizeBytes: number) => boolean;
  /** Every directory the walk enters (to watch it). */
  onDirectory?: (path: string) => void;
}

async function walkCollection(
  root: string,
  hostOverride: string | undefined,
  out: InputFile[],
  issues: Issue[],
  places?: readonly string[],
  walker: PlaceWalker = {},
): Promise<void> {
  const host = hostOverride ?? (await readHostname(join(root, 'etc', 'hostname')));
  const mtimes = await readBodyfile(root, issues);
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) {
      issues.push({
        file: dir,
        code: 'INPUT_TOO_DEEP',
        reason: `directory nesting over ${MAX_DEPTH}`,
        stage: 'reading',
      });
      return;
    }
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      issues.push({ file: dir, code: 'INPUT_UNREADABLE', reason: (err as Error).message, stage: 'reading' });
      return;
    }
    walker.onDirectory?.(dir);
    for (const name of names) {
      if (out.length >= MAX_FILES) {
        issues.push({
          file: dir,
          code: 'INPUT_TOO_MANY_FILES',
          reason: `more than ${MAX_FILES} files; the rest are not read`,
          stage: 'reading',
        });
        return;
      }
      await visit(join(dir, name), depth + 1);
    }
  };
  const visit = async (path: string, depth: number): Promise<void> => {
    const st = await lstat(path).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) await walk(path, depth);
    else if (st.isFile()) {
      const rel = relative(root, path).split(sep).join('/');
      if (COLLECTION_META.has(rel)) return;
      const mtime = mtimes.get(`/${rel}`) ?? st.mtimeMs;
      if (walker.unchanged?.(path, mtime, st.size)) return;
      const file = await fileInput(path, rel, mtime, host, st.size, issues);
      if (file) out.push(file);
    }
  };
  if (!places) await walk(root, 0);
  else for (const place of places) await visit(join(root, place), 1);
}

async function readHostname(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).slice(0, 256).trim().split('\n')[0]?.trim();
    return text && /^[A-Za-z0-9._-]{1,253}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sleuth Kit bodyfile (`MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime`), as collectors
 * such as UAC write it: the only faithful source of original mtimes once files are copied or cloned.
 */
async function readBodyfile(root: string, issues: Issue[]): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  for (const name of ['bodyfile', 'bodyfile.txt']) {
    const path = join(root, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length && i < 5_000_000; i++) {
      const line = lines[i];
      if (line.trim() === '' || line.startsWith('#')) continue;
      const f = line.split('|');
      const mtime = Number(f[8]);
      if (f.length < 11 || !f[1] || !Number.isFinite(mtime)) {
        issues.push({
          file: path,
          line: i + 1,
          code: 'BODYFILE_BAD_LINE',
          reason: 'expected 11 |-separated fields with a numeric mtime',
          stage: 'parsing',
        });
        continue;
      }
      map.set(f[1], mtime * 1000);
    }
  }
  return map;
}

async function stdinInput(hostHint: string | undefined): Promise<SourceInput> {
  const iterator = process.stdin[Symbol.asyncIterator]();
  const pre: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < HEAD_BYTES) {
    const r = await iterator.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as string);
    pre.push(chunk);
    size += chunk.length;
  }
  const raw = Buffer.concat(pre);
  async function* chunks(): AsyncGenerator<Buffer> {
    yield raw;
    if (done) return;
    for (;;) {
      const r = await iterator.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as string);
    }
  }
  const gzip = isGzip(raw);
  return {
    name: '-',
    head: gzip ? gunzipHead(raw) : raw.subarray(0, HEAD_BYTES),
    hostHint,
    mtimeMs: Date.now(),
    open: () => (gzip ? Readable.from(chunks()).pipe(createGunzip()) : chunks()),
  };
}
