/**
 * What the persistence sources (crontab, systemd-unit, shell-rc, ld-so-preload) share: where a file sits and
 * how its path scores in the sniff, the file's facts (path, mtime from the bodyfile), its bounded lines and
 * binary-line tally, and the one `persistence-entry` event every entry becomes.
 */
import type { CoalEvent, ProcessFields } from '../../model/event.js';
import { isoFromMs } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import { clip } from '../../util/hostile.js';
import { sourceLines } from '../lines.js';
import type { SourceContext, SourceInput } from '../types.js';
import { commandTargets } from './target.js';
// Shared by the persistence sources (crontab, systemd-unit, shell-rc, ld-so-preload)

/** Sniff scores: a known location beats a telling file name, which beats content that merely looks right. */
export const PATH_SCORE = 90;
export const NAME_SCORE = 60;
export const CONTENT_SCORE = 30;

/** Persistence files are small; a longer line is hostile or not this format. */
const MAX_LINE_BYTES = 64 * 1024;
const MAX_FILE_LINE_CHARS = 4096;
const MAX_COMMAND_CHARS = 8192;
const MAX_PATH_CHARS = 4096;
/** Binary lines listed one by one before the rest are only counted. */
const MAX_LISTED_BINARY_LINES = 5;
/** Largest magnitude `Date` accepts. */
const MAX_DATE_MS = 8.64e15;

export type Mechanism = NonNullable<CoalEvent['coalmine']['persistence']>['mechanism'];

/**
 * One way of naming where a file sits, as path segments. A place pattern matches the path's tail, starting
 * no later than segment `from`: 0 for a path in a collected root (the whole path, exactly); the last segment
 * for a file given by name (any tail); for a file's absolute local path, the first segment below the
 * argument the user named, so that a place may take in the argument's own directories (`/var/spool/cron`
 * given as a directory, a single `/etc/crontab`) but never start further down (a `crontab` somewhere in it).
 */
export interface FileLocation {
  segments: string[];
  from: number;
  /** Found in a directory (a collection or a live one), not named alone: its name alone does not tell its format. */
  isInDirectory: boolean;
  /** The absolute local path: where a place matched, its start is the host's root. */
  isLocal: boolean;
}

/** What a format makes of one location: its sniff score, and where the place it recognised starts. */
export interface PlaceMatch {
  score: number;
  /** Segment the matched place pattern starts at; none when the name or content told. */
  at?: number;
}

type Named = Pick<SourceInput, 'name' | 'relPath' | 'localPath'>;

function pathSegments(path: string): string[] {
  return path
    .slice(0, MAX_PATH_CHARS)
    .replaceAll('\\', '/')
    .split('/')
    .filter((s) => s.length > 0 && s !== '.');
}

/** The file's path in its collection (relPath), or else the name it was given by. */
export function locate(input: Named): FileLocation {
  const isInDirectory = input.relPath !== undefined;
  const segments = pathSegments(input.relPath ?? input.name);
  // UAC keeps the collected filesystem under `[root]/`; a walk from one level up sees that prefix
  if (isInDirectory && segments[0] === '[root]') segments.shift();
  return { segments, from: isInDirectory ? 0 : segments.length - 1, isInDirectory, isLocal: false };
}

/**
 * Every way the file is named: first `locate`'s, then its absolute local path when it has one (a file read
 * from this system's disk), which finds a live system's places a path relative to the argument cannot.
 */
export function locations(input: Named): FileLocation[] {
  const named = locate(input);
  const local = input.localPath;
  if (local === undefined || local.length > MAX_PATH_CHARS) return [named];
  const segments = pathSegments(local);
  // the argument's own part of the path: the walked path below it, or the file's name
  const below = input.relPath !== undefined ? pathSegments(input.relPath).length : 1;
  const from = Math.max(0, segments.length - below);
  return [named, { segments, from, isInDirectory: named.isInDirectory, isLocal: true }];
}

/**
 * What `kindAt` makes of the file's best-scoring location (ties: the first of `locations`), and the file's
 * path as its entries say it: `/etc/crontab` in a collection, the name a file was given by, and for a local
 * path the place as its host names it (`/var/spool/cron/crontabs/redis`, also when read from a copy of it).
 */
export function bestPlace<T extends PlaceMatch>(
  input: Named,
  kindAt: (location: FileLocation) => T | undefined,
): (T & { path: string }) | undefined {
  let best: (T & { path: string }) | undefined;
  for (const location of locations(input)) {
    const kind = kindAt(location);
    if (kind !== undefined && (best === undefined || kind.score > best.score))
      best = { ...kind, path: entryPath(input, location, kind.at) };
  }
  return best;
}

function entryPath(input: Named, location: FileLocation, at: number | undefined): string {
  if (location.isLocal) return `/${location.segments.slice(at ?? 0).join('/')}`;
  return location.isInDirectory ? `/${location.segments.join('/')}` : input.name;
}

/** One segment against a pattern with at most one `*` (`*`, `*.service`, `cron.d`); linear, no regex. */
export function segmentMatches(pattern: string, segment: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return pattern === segment;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return segment.length > head.length + tail.length - 1 && segment.startsWith(head) && segment.endsWith(tail);
}

/**
 * Index where `pattern` matches the path's tail, starting no later than `location.from` (so the whole path
 * of a collection, any tail of a direct name); -1 when it does not match.
 */
export function matchPath(location: FileLocation, pattern: readonly string[]): number {
  const { segments } = location;
  const at = segments.length - pattern.length;
  if (at < 0 || at > location.from) return -1;
  for (let i = 0; i < pattern.length; i++) if (!segmentMatches(pattern[i], segments[at + i])) return -1;
  return at;
}

/** Index where the first of `patterns` to match starts (`matchPath`), or -1. */
export function matchAny(location: FileLocation, patterns: readonly (readonly string[])[]): number {
  for (const pattern of patterns) {
    const at = matchPath(location, pattern);
    if (at >= 0) return at;
  }
  return -1;
}

/** What every entry of one file shares. */
export interface PersistenceFile {
  format: string;
  ref: string;
  path: string;
  name: string;
  ts: number;
  host?: string;
}

/**
 * The file's facts, or undefined with FILE_NO_MTIME pushed: a state entry is placed on the timeline by
 * its file's mtime, and without one it cannot be placed at all, so the file is not read. `path` is what
 * entries say (`bestPlace`'s), by default its path in its collection or the name it was given by.
 */
export function persistenceFile(
  input: SourceInput,
  format: string,
  issues: Issue[],
  path = entryPath(input, locate(input), undefined),
): PersistenceFile | undefined {
  const ms = input.mtimeMs;
  if (ms === undefined || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    issues.push(
      issue(
        { file: input.name },
        'FILE_NO_MTIME',
        'no modification time: its entries cannot be placed in time, so the file is not read',
        'reading',
      ),
    );
    return undefined;
  }
  const { segments } = locate(input);
  const name = segments[segments.length - 1] ?? path;
  const file: PersistenceFile = { format, ref: input.name, path, name, ts: ms };
  if (input.hostHint) file.host = input.hostHint;
  return file;
}

export interface EntryFields {
  lineNo: number;
  line: string;
  mechanism: Mechanism;
  /** What the entry runs; its first program path becomes the target unless `target` is given. */
  command?: string;
  target?: string;
  user?: string;
  workingDirectory?: string;
  original: Record<string, unknown>;
}

export function entryEvent(file: PersistenceFile, fields: EntryFields): CoalEvent {
  const target = fields.target ?? (fields.command !== undefined ? commandTargets(fields.command)[0] : undefined);
  const process: ProcessFields = {};
  if (fields.command !== undefined) process.command_line = clip(fields.command, MAX_COMMAND_CHARS);
  if (fields.workingDirectory !== undefined) process.working_directory = fields.workingDirectory;
  if (fields.user !== undefined) process.user = { name: fields.user };
  return {
    '@timestamp': isoFromMs(file.ts),
    event: { kind: 'state', category: ['configuration'], action: 'persistence-entry', dataset: `${file.format}.entry` },
    host: file.host !== undefined ? { name: file.host, os: { platform: 'linux' } } : { os: { platform: 'linux' } },
    ...(Object.keys(process).length > 0 ? { process } : {}),
    file: { path: file.path, name: file.name, mtime: isoFromMs(file.ts), line: clip(fields.line, MAX_FILE_LINE_CHARS) },
    original: fields.original,
    coalmine: {
      ts: file.ts,
      format: file.format,
      ref: { file: file.ref, line: fields.lineNo },
      persistence: target !== undefined ? { mechanism: fields.mechanism, target } : { mechanism: fields.mechanism },
    },
  };
}

/**
 * A line is binary when it holds a NUL, or when at least one in eight characters is a control character
 * or an invalid-UTF-8 replacement: text config never looks like that, random bytes always do.
 */
export function isBinaryLine(line: string): boolean {
  let bad = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0) return true;
    if (c === 0xfffd || (c < 0x20 && c !== 9) || c === 0x7f) bad++;
  }
  return bad > 0 && bad * 8 >= line.length;
}

/** Lists the first binary lines of a file and counts the rest into one closing issue. */
export class BinaryTally {
  private readonly file: string;
  private readonly code: string;
  private count = 0;
  private firstUnlisted = 0;

  constructor(file: string, code: string) {
    this.file = file;
    this.code = code;
  }

  note(lineNo: number, issues: Issue[]): void {
    this.count++;
    if (this.count <= MAX_LISTED_BINARY_LINES)
      issues.push(
        issue(
          { file: this.file, line: lineNo },
          this.code,
          'binary content (NUL, control or invalid UTF-8 bytes); line skipped',
        ),
      );
    else if (this.firstUnlisted === 0) this.firstUnlisted = lineNo;
  }

  finish(issues: Issue[]): void {
    const unlisted = this.count - MAX_LISTED_BINARY_LINES;
    if (unlisted > 0)
      issues.push(
        issue(
          { file: this.file, line: this.firstUnlisted },
          this.code,
          `${unlisted} more binary lines from here on, skipped`,
        ),
      );
  }
}

/**
 * The file's lines through sourceLines, bounded to 64 KiB (or the run's limit when lower). An oversized line
 * becomes LINE_TOO_LONG and a failing stream FILE_READ_ERROR, both pushed to `issues`; nothing throws.
 */
export async function* persistenceLines(
  input: SourceInput,
  context: SourceContext,
  issues: Issue[],
): AsyncGenerator<{ lineNo: number; line: string }> {
  let last = 0;
  try {
    for await (const batch of sourceLines(input, context, (i) => issues.push(i), MAX_LINE_BYTES)) {
      for (let i = 0; i < batch.lines.length; i++) {
        last = batch.lineNos[i];
        yield { lineNo: last, line: batch.lines[i] };
      }
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    issues.push(
      issue(
        { file: input.name, line: last + 1 },
        'FILE_READ_ERROR',
        `reading stopped: ${clip(message, 200)}`,
        'reading',
      ),
    );
  }
}
