/**
 * Turning the user's PATH arguments into inputs: files, directories walked recursively (a directory
 * is treated as a collected filesystem: its `etc/hostname` names the host and a `bodyfile` at its
 * root, in Sleuth Kit format, gives the original mtimes), `-` for stdin. Every input that is not read
 * is reported with why (issue `unread`).
 *
 * Symlinks are followed as the collected host would follow them: an absolute target, or `..` above
 * the top, resolves inside the collection root (chroot-like), never into the collector's own
 * filesystem; for `watch --root /` that is ordinary resolution. A linked file is read under the link's
 * path (where the host reads it: `etc/cron.d/x -> /opt/x` is a cron file) and says its target. Real
 * directories are walked before links, and a directory already walked is not walked again under a
 * link's name, so loops end and each tree is read once under its own name.
 *
 * Each real file is read once however often it is given: arguments are compared by their real paths
 * (through the local links), a path given again, or lying inside a directory also given, is not read
 * again and says so (issue `INPUT_GIVEN_TWICE`, not an unread input: its content is read, once). A file
 * inside a directory given too is read as part of that directory, with its host and collection.
 *
 * A directory given inside a collection (`collected/var/log`, or `/var/log/audit` on a live system)
 * belongs to that collection: see `collectionAbove`.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import type { SourceInput } from '../sources/types.js';
import { clip } from '../util/hostile.js';
import { type GzipBreak, gunzipHead, HEAD_BYTES, inflateChunks, isGzip, openChunks, readHead } from '../util/input.js';
import { MAX_LINK_HOPS, resolveInRoot } from '../util/root-path.js';
import { decodeChunks, decodeHead, type TextEncoding, textEncodingOf } from '../util/text-encoding.js';

export interface InputFile {
  input: SourceInput;
  sizeBytes: number;
  /** A file read through a symlink: the target as the host resolves it (`/opt/x`); the input is named by the link. */
  linkTarget?: string;
  /** The gzip head broke after some bytes inflated (the stream reports it again if the file is read). */
  gzipBreak?: GzipBreak;
  /** The file on disk when it is read as it is (not gzip): a sampler may read windows of it (partition-sample.ts). */
  plainPath?: string;
}

export type ReportIssue = (issue: Issue) => void;

const MAX_FILES = 100_000;
const MAX_DEPTH = 32;
/** Files in a collection that describe it rather than being telemetry. */
const COLLECTION_META = new Set(['bodyfile', 'bodyfile.txt', 'etc/hostname']);

export async function expandInputs(
  paths: string[],
  hostOverride: string | undefined,
  report: ReportIssue,
): Promise<InputFile[]> {
  const given = await Promise.all(paths.map((path) => (path === '-' ? undefined : givenPath(path))));
  const out: InputFile[] = [];
  for (const [index, path] of paths.entries()) {
    if (path === '-') {
      const stdin = await stdinInput(hostOverride, report);
      if (stdin) out.push(stdin);
      continue;
    }
    const g = given[index] as Given;
    if ('error' in g) {
      report(unread(path, 'INPUT_UNREADABLE', g.error));
      continue;
    }
    const { st } = g;
    if (!st.isDirectory() && !st.isFile()) {
      report(unread(path, 'INPUT_NOT_A_FILE', 'not a regular file or directory'));
      continue;
    }
    const twice = readElsewhere(index, paths, given);
    if (twice !== undefined) {
      report({ file: path, code: 'INPUT_GIVEN_TWICE', reason: twice, stage: 'reading' });
      continue;
    }
    if (st.isDirectory()) {
      const above = await collectionAbove(g.real);
      // a folder of collections (one per host, as an investigation gathers them): each its own root
      const nested = above ? [] : await nestedCollections(g.real);
      let entries = 0;
      for (const name of nested) {
        const walk = new CollectionWalk(join(path, name), hostOverride, out, report);
        await walk.all();
        entries += walk.entries;
      }
      const walk = above
        ? new CollectionWalk(above.root, hostOverride, out, report, {}, { base: path, prefix: above.prefix })
        : new CollectionWalk(path, hostOverride, out, report, {}, undefined, new Set(nested));
      await walk.all();
      entries += walk.entries;
      if (entries === 0) report(unread(path, 'INPUT_NO_FILES', 'the directory holds no files'));
    } else {
      const file = await fileInput(path, path, undefined, resolve(path), st.mtimeMs, hostOverride, st.size, report);
      if (file) out.push(file);
    }
  }
  return out;
}

/** A PATH argument looked at once: what the local system says it is (a link given by name followed) and where it really is. */
type Given = { st: Stats; real: string } | { error: string };

async function givenPath(path: string): Promise<Given> {
  // a symlink given by name is the user's own choice: followed as the local system does
  try {
    const st = await stat(path);
    const real = await realpath(path).catch(() => resolve(path));
    return { st, real };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Why argument `index` is read by another one instead, or undefined when it is read itself: it lies
 * inside a directory also given (the outermost such one reads it, whichever order they came in), or it
 * is the same file or directory as an earlier argument (`dir dir`, `dir ./dir/`, a link to it).
 */
function readElsewhere(
  index: number,
  paths: readonly string[],
  given: readonly (Given | undefined)[],
): string | undefined {
  const own = given[index];
  if (own === undefined || 'error' in own) return undefined;
  let outer: number | undefined;
  for (const [j, other] of given.entries()) {
    if (j === index || other === undefined || 'error' in other || !other.st.isDirectory()) continue;
    if (!isInside(own.real, other.real)) continue;
    const current = outer === undefined ? undefined : (given[outer] as { real: string });
    if (current === undefined || other.real.length < current.real.length) outer = j;
  }
  if (outer !== undefined) return `inside ${clip(paths[outer], 300)}, also given: read once, as part of it`;
  for (let j = 0; j < index; j++) {
    const other = given[j];
    if (other === undefined || 'error' in other || other.real !== own.real) continue;
    const what = own.st.isDirectory() ? 'directory' : 'file';
    return `the same ${what} as ${clip(paths[j], 300)}, given before: read once`;
  }
  return undefined;
}

/** `path` strictly below directory `dir` (both real, absolute). */
function isInside(path: string, dir: string): boolean {
  return path !== dir && path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/**
 * Directories a host keeps its logs and configuration in, at the top of its filesystem: a directory
 * given is taken to be inside a collection only through one of them. Not `tmp`, `mnt` or `media`: scratch
 * space and other disks are where logs copied from elsewhere are put to be read (`/tmp/case/logs` on the
 * analyst's machine is not the analyst's host's telemetry); not `proc`, `sys` or `dev`.
 */
const COLLECTED_TOP_DIRS = new Set([
  'bin',
  'boot',
  'etc',
  'home',
  'lib',
  'lib32',
  'lib64',
  'opt',
  'root',
  'run',
  'sbin',
  'srv',
  'usr',
  'var',
]);

/**
 * How far above a directory given its collection root may be. Far enough for the places hunted inside a
 * collection, `var/log/audit`, `var/spool/cron/crontabs`, `etc/systemd/system/multi-user.target.wants`,
 * `home/USER/.config/systemd/user` (5), and no further: each level up is a few stats, and a longer climb
 * would more often cross from a folder of copied logs into some unrelated tree that has an `etc/hostname`.
 */
const MAX_LEVELS_UP = 5;

/**
 * The collection a directory given lies in when it is not a collection's root itself: the nearest of its
 * (real) ancestors, at most MAX_LEVELS_UP up and never past the filesystem root, that holds `etc/hostname`
 * or a `bodyfile` and below which the directory's path starts with one of COLLECTED_TOP_DIRS, as a path
 * of a host's filesystem does (`var/log/audit` under `collected/`). The directory is then read as that
 * collection's part: its host named by the root's `etc/hostname`, its mtimes from the root's bodyfile,
 * links resolved inside the root and paths relative to it. On a live system that root is `/` (its own
 * `/etc/hostname` names it): `hunt /var/log/audit` is that host's. Undefined for a directory holding
 * those itself (its own root, as any directory given is) or inside no collection: read as its own root.
 */
async function collectionAbove(real: string): Promise<{ root: string; prefix: string[] } | undefined> {
  if (await holdsCollectionMeta(real)) return undefined;
  const prefix: string[] = [];
  let dir = real;
  for (let level = 1; level <= MAX_LEVELS_UP; level++) {
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    prefix.unshift(basename(dir));
    dir = parent;
    if (COLLECTED_TOP_DIRS.has(prefix[0]) && (await holdsCollectionMeta(dir))) return { root: dir, prefix };
  }
  return undefined;
}

/** Collections read side by side from one folder at most; the rest of the folder is read as before. */
const MAX_NESTED_COLLECTIONS = 4096;

/**
 * The subdirectories of a directory given that are collections themselves (`cases/web-01/etc/hostname`,
 * `cases/db-02/bodyfile`), when it is none itself: each is read as its own root, with its own host and
 * bodyfile, as if given alone. One level down only: a collection's own subtrees (a container's root
 * filesystem under var/lib) are never taken for hosts, and real directories only, not links.
 */
async function nestedCollections(real: string): Promise<string[]> {
  if (await holdsCollectionMeta(real)) return [];
  const entries = await readdir(real, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (out.length >= MAX_NESTED_COLLECTIONS) break;
    if (e.isDirectory() && (await holdsCollectionMeta(join(real, e.name)))) out.push(e.name);
  }
  return out;
}

/** The files that make a directory a collection's root, as regular files (links as the local system follows them). */
async function holdsCollectionMeta(dir: string): Promise<boolean> {
  for (const meta of COLLECTION_META) {
    const st = await stat(join(dir, meta)).catch(() => undefined);
    if (st?.isFile()) return true;
  }
  return false;
}

function unread(file: string, code: string, reason: string): Issue {
  return { file, code, reason, stage: 'reading', unread: true };
}

/**
 * `phys` is opened; `name` names it in every ref (a link's path when read through a link); `localPath` is
 * its absolute path on this system (the link's), where a live system's persistence files are recognised.
 */
async function fileInput(
  phys: string,
  name: string,
  relPath: string | undefined,
  localPath: string,
  mtimeMs: number,
  hostHint: string | undefined,
  sizeBytes: number,
  report: ReportIssue,
): Promise<InputFile | undefined> {
  if (sizeBytes === 0) {
    report(unread(name, 'INPUT_EMPTY', 'the file is empty'));
    return undefined;
  }
  let head: Awaited<ReturnType<typeof readHead>>;
  try {
    head = await readHead(phys);
  } catch (err) {
    report(unread(name, 'INPUT_UNREADABLE', (err as Error).message));
    return undefined;
  }
  if (head.head.length === 0) {
    report(
      head.broke
        ? unread(name, head.broke.code, head.broke.reason)
        : unread(name, 'INPUT_EMPTY', 'the gzip file holds no data'),
    );
    return undefined;
  }
  const { gzip } = head;
  const rel = relPath && gzip ? relPath.replace(/\.gz$/, '') : relPath;
  const local = gzip ? localPath.replace(/\.gz$/, '') : localPath;
  const onBreak = (b: GzipBreak) => report({ file: name, code: b.code, reason: b.reason, stage: 'reading' });
  const text = asText(name, head.head, () => openChunks(phys, gzip, onBreak), report);
  if (!text) return undefined;
  const file: InputFile = {
    input: { name, relPath: rel, localPath: local, head: text.head, open: text.open, mtimeMs, hostHint },
    sizeBytes,
  };
  if (head.broke) file.gzipBreak = head.broke;
  // a sampler reads windows of the file's own bytes, which UTF-16 text is not
  if (!gzip && (text.encoding === undefined || text.encoding === 'utf8-bom')) file.plainPath = phys;
  return file;
}

/**
 * The content as the sources read it, UTF-8: text a byte-order mark says is UTF-16 (PowerShell 5.1's
 * `>` writes UTF-16LE) decoded, head and stream, and a UTF-8 mark dropped (util/text-encoding.ts), so no
 * source needs to know; damage is reported on `name` as the stream is read. Undefined, reported unread,
 * when nothing follows the mark.
 */
function asText(
  name: string,
  head: Buffer,
  open: () => AsyncIterable<Buffer>,
  report: ReportIssue,
): { head: Buffer; open: () => AsyncIterable<Buffer>; encoding?: TextEncoding } | undefined {
  const encoding = textEncodingOf(head);
  if (encoding === undefined) return { head, open };
  const decoded = decodeHead(head, encoding);
  if (decoded.length === 0) {
    report(unread(name, 'INPUT_EMPTY', 'nothing follows the byte-order mark'));
    return undefined;
  }
  const onDamage = (d: { code: string; line: number; reason: string }) =>
    report({ file: name, line: d.line, code: d.code, reason: d.reason, stage: 'reading' });
  return { head: decoded, open: () => decodeChunks(open(), encoding, onDamage), encoding };
}

/**
 * Only some places of a filesystem root (`var/spool/cron`, `etc/ld.so.preload`), named relative to it
 * as a collection would be, so the persistence sources recognise them: what a live sensor rescans.
 * Absent places are not reported.
 */
export async function rootInputs(
  root: string,
  places: readonly string[],
  hostOverride: string | undefined,
  report: ReportIssue,
  walker: PlaceWalker = {},
): Promise<InputFile[]> {
  const out: InputFile[] = [];
  await new CollectionWalk(root, hostOverride, out, report, walker).places(places);
  return out;
}

/** What a live sensor asks of a walk over its places. */
export interface PlaceWalker {
  /** Leave out a file already read at this mtime and size, before its head is read. */
  unchanged?: (path: string, mtimeMs: number, sizeBytes: number) => boolean;
  /** Every directory the walk enters (to watch it). */
  onDirectory?: (path: string) => void;
}

/** A directory given inside a collection: walked from `prefix` below the collection's root, named from `base`. */
interface GivenPart {
  /** The directory as the user gave it: what names its files. */
  base: string;
  /** Its path below the root, as segments (no link among them). */
  prefix: string[];
}

/** A link met during a walk, followed once the real tree is read. */
interface PendingLink {
  /** Where it sits, as segments under the root (no link among them). */
  physical: string[];
  /** Its path as the host names it (through the links that led here). */
  rel: string;
  depth: number;
  /** A place of a live root: its absence is normal. */
  place?: boolean;
}

class CollectionWalk {
  /** Directory entries met (files, directories, links, others): 0 for an empty collection. */
  entries = 0;
  private host: string | undefined;
  private mtimes = new Map<string, number>();
  private readonly walked = new Set<string>();
  private readonly links: PendingLink[] = [];
  private full = false;
  /** The directory given, where it is not the root: what the walk starts at and names its files by. */
  private readonly base: string;
  private readonly prefix: string[];

  constructor(
    private readonly root: string,
    private readonly hostOverride: string | undefined,
    private readonly out: InputFile[],
    private readonly report: ReportIssue,
    private readonly walker: PlaceWalker = {},
    part?: GivenPart,
    /** Top-level entries of the root left out: collections of their own, read apart (`nestedCollections`). */
    private readonly skipTop: ReadonlySet<string> = new Set(),
  ) {
    this.base = part?.base ?? root;
    this.prefix = part?.prefix ?? [];
  }

  private async start(): Promise<void> {
    this.host = this.hostOverride ?? (await this.readHostname());
    this.mtimes = await readBodyfile(this.root, this.report);
  }

  /** The whole root, or the whole directory given inside it. */
  async all(): Promise<void> {
    await this.start();
    const st = await stat(join(this.root, ...this.prefix)).catch(() => undefined);
    if (st) this.walked.add(`${st.dev}:${st.ino}`);
    await this.walkDir(this.prefix, this.prefix.join('/'), 0);
    await this.followLinks();
  }

  /** Only these places; a place reached through a link waits until the real ones are read. */
  async places(places: readonly string[]): Promise<void> {
    await this.start();
    for (const place of places) {
      const segments = place.split('/').filter((s) => s !== '');
      const resolution = await resolveInRoot(this.root, segments);
      if (resolution.kind === 'found' && !resolution.crossed) await this.visit(segments, place, 1);
      else this.links.push({ physical: segments, rel: place, depth: 1, place: true });
    }
    await this.followLinks();
  }

  /** `rel` (under the root) below the directory given: every path a walk names starts there. */
  private below(rel: string): string {
    return this.prefix.length === 0 ? rel : rel.slice(this.prefix.join('/').length + 1);
  }

  private display(rel: string): string {
    const below = this.below(rel);
    return below === '' ? this.base : join(this.base, below);
  }

  private tooMany(at: string): boolean {
    if (this.out.length + this.links.length < MAX_FILES) return false;
    if (!this.full)
      this.report({
        file: at,
        code: 'INPUT_TOO_MANY_FILES',
        reason: `more than ${MAX_FILES} files; the rest are not read`,
        stage: 'reading',
      });
    this.full = true;
    return true;
  }

  private async walkDir(physical: string[], rel: string, depth: number): Promise<void> {
    const dir = join(this.root, ...physical);
    if (depth > MAX_DEPTH) {
      this.report({
        file: this.display(rel),
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
      this.report({
        file: this.display(rel),
        code: 'INPUT_UNREADABLE',
        reason: (err as Error).message,
        stage: 'reading',
      });
      return;
    }
    this.walker.onDirectory?.(dir);
    for (const name of names) {
      if (this.tooMany(this.display(rel))) return;
      if (depth === 0 && this.prefix.length === 0 && this.skipTop.has(name)) continue;
      await this.visit([...physical, name], rel === '' ? name : `${rel}/${name}`, depth + 1);
    }
  }

  private async visit(physical: string[], rel: string, depth: number): Promise<void> {
    const path = join(this.root, ...physical);
    // gone since the directory was listed, or an absent place: nothing to read
    const st = await lstat(path).catch(() => undefined);
    if (!st) return;
    this.entries++;
    if (st.isSymbolicLink()) this.links.push({ physical, rel, depth });
    else if (st.isDirectory()) {
      this.walked.add(`${st.dev}:${st.ino}`);
      await this.walkDir(physical, rel, depth);
    } else if (st.isFile()) await this.readFile(path, rel, st, physical);
    else this.report(unread(this.display(rel), 'INPUT_NOT_A_FILE', 'not a regular file or directory'));
  }

  private async readFile(
    phys: string,
    rel: string,
    st: { mtimeMs: number; size: number },
    target: string[],
    linkTarget?: string,
  ): Promise<void> {
    if (COLLECTION_META.has(rel)) return;
    const name = this.display(rel);
    const mtime = this.mtimes.get(`/${target.join('/')}`) ?? this.mtimes.get(`/${rel}`) ?? st.mtimeMs;
    if (this.walker.unchanged?.(name, mtime, st.size)) return;
    const file = await fileInput(
      phys,
      name,
      rel,
      join(resolve(this.base), this.below(rel)),
      mtime,
      this.host,
      st.size,
      this.report,
    );
    if (!file) return;
    if (linkTarget !== undefined) file.linkTarget = linkTarget;
    this.out.push(file);
  }

  private async followLinks(): Promise<void> {
    for (let next = this.links.shift(); next; next = this.links.shift()) await this.follow(next);
  }

  private async follow(link: PendingLink): Promise<void> {
    const name = this.display(link.rel);
    const resolution = await resolveInRoot(this.root, link.physical);
    const shown = clip(resolution.firstTarget ?? '', 300);
    if (resolution.kind !== 'found') {
      if (resolution.kind === 'missing' && link.place) return;
      this.report(
        resolution.kind === 'loop'
          ? unread(
              name,
              'INPUT_LINK_LOOP',
              `link to ${shown}: more than ${MAX_LINK_HOPS} links in a chain; not followed`,
            )
          : unread(name, 'INPUT_LINK_TARGET_MISSING', `link to ${shown}: the target is not in this filesystem`),
      );
      return;
    }
    const target = resolution.segments;
    const hostPath = `/${target.join('/')}`;
    if (resolution.climbed)
      this.report({
        file: name,
        code: 'INPUT_LINK_OUTSIDE_ROOT',
        reason: `link to ${shown} climbs above the root; read as ${clip(hostPath, 300)} inside it, as the host resolves it`,
        stage: 'reading',
      });
    const phys = join(this.root, ...target);
    const st = await stat(phys).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      // a link to a directory that holds it would walk forever (one above a directory given inside a
      // collection was not walked, but would lead back to it); one elsewhere is read under its own name
      if (target.length <= link.physical.length && target.every((s, i) => s === link.physical[i])) {
        this.report({
          file: name,
          code: 'INPUT_LINK_LOOP',
          reason: `link to ${shown} points to a directory that contains it; not followed`,
          stage: 'reading',
        });
        return;
      }
      const key = `${st.dev}:${st.ino}`;
      if (this.walked.has(key)) return;
      this.walked.add(key);
      await this.walkDir(target, link.rel, link.depth);
    } else if (st.isFile()) await this.readFile(phys, link.rel, st, target, hostPath);
    else this.report(unread(name, 'INPUT_NOT_A_FILE', `link to ${shown}: not a regular file or directory`));
  }

  /** `etc/hostname` inside the root (through its links, as the host reads it). */
  private async readHostname(): Promise<string | undefined> {
    const resolution = await resolveInRoot(this.root, ['etc', 'hostname']);
    if (resolution.kind !== 'found') return undefined;
    try {
      const text = (await readFile(join(this.root, ...resolution.segments), 'utf8'))
        .slice(0, 256)
        .trim()
        .split('\n')[0]
        ?.trim();
      return text && /^[A-Za-z0-9._-]{1,253}$/.test(text) ? text : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Sleuth Kit bodyfile (`MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime`), as collectors
 * such as UAC write it: the only faithful source of original mtimes once files are copied or cloned.
 */
async function readBodyfile(root: string, report: ReportIssue): Promise<Map<string, number>> {
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
        report({
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

function stdinInput(hostHint: string | undefined, report: ReportIssue): Promise<InputFile | undefined> {
  return streamInput('-', process.stdin, { hostHint, mtimeMs: Date.now() }, report, 'nothing on standard input');
}

/** What a stream does not say about itself: whose it is, when it was written, where it sits on its host. */
export interface StreamMeta {
  hostHint?: string;
  mtimeMs: number;
  relPath?: string;
}

/**
 * One stream read as an input (stdin, a request body): its first HEAD_BYTES held for sniffing, gzip
 * told by its magic bytes and inflated (the head bounded whatever the ratio), the rest read on `open`.
 * Empty (or a gzip head that inflates to nothing): reported unread with `emptyReason`, undefined.
 */
export async function streamInput(
  name: string,
  stream: AsyncIterable<Uint8Array | string>,
  meta: StreamMeta,
  report: ReportIssue,
  emptyReason: string,
): Promise<InputFile | undefined> {
  const iterator = stream[Symbol.asyncIterator]();
  const pre: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < HEAD_BYTES) {
    const r = await iterator.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = asBuffer(r.value);
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
      yield asBuffer(r.value);
    }
  }
  const gzip = isGzip(raw);
  const { head, broke } = gzip ? await gunzipHead(raw) : { head: raw.subarray(0, HEAD_BYTES), broke: undefined };
  if (head.length === 0) {
    report(broke ? unread(name, broke.code, broke.reason) : unread(name, 'INPUT_EMPTY', emptyReason));
    return undefined;
  }
  const onBreak = (b: GzipBreak) => report({ file: name, code: b.code, reason: b.reason, stage: 'reading' });
  const text = asText(name, head, () => (gzip ? inflateChunks(chunks(), onBreak) : chunks()), report);
  if (!text) return undefined;
  const input: SourceInput = {
    name,
    head: text.head,
    hostHint: meta.hostHint,
    mtimeMs: meta.mtimeMs,
    open: text.open,
  };
  if (meta.relPath !== undefined) input.relPath = meta.relPath;
  const file: InputFile = { input, sizeBytes: 0 };
  if (broke) file.gzipBreak = broke;
  return file;
}

/** A chunk as a Buffer without copying its bytes (a string, as a stream with an encoding set gives, as UTF-8). */
function asBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Events read from a file reached through a symlink say where the link points (ECS `file.target_path`). */
export function markLinkTarget(file: InputFile, events: CoalEvent[]): void {
  if (file.linkTarget === undefined) return;
  for (const e of events) if (e.file) e.file.target_path = file.linkTarget;
}
