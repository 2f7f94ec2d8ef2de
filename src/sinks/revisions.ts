/**
 * The revision each live finding report is delivered under, kept in the spool directory
 * (`revisions.log`) so that numbering survives a restart: a restarted `watch` continues a finding at
 * rev n+1 and never sends `id#n` again with a different body (a deduplicating receiver, or our own
 * spool, would drop the new body as a duplicate — an escalation to high could be lost).
 *
 * Why a ledger and not a content digest in the key: receivers that keep the highest revision per id
 * need revisions to grow across restarts; a digest in the key would keep keys unique but let run 2's
 * rev 2 look older than run 1's rev 3. The digest is kept beside the revision so that the same content
 * offered again (a crash between the ledger line and the spool file) gets the same key, not a new one.
 *
 * Crash safety: the line is appended and fsynced before the report is spooled (write-ahead), so a
 * SIGKILL in between costs an unused revision number, never a reused one. A torn last line is skipped
 * on load (its report was never spooled). Compaction writes a temp file and renames it over.
 * Bounds: `maxIds` finding ids (oldest forgotten first); a forgotten id's revisions are folded into a
 * floor that every id not in the ledger starts above, so forgetting never lets a key be reused.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openChunks } from '../util/input.js';
import { readLines } from '../util/lines.js';

export const LEDGER_FILE = 'revisions.log';

/** Digests remembered per finding id: enough for "same content again" after a crash. */
const DIGESTS_PER_ID = 4;
const MAX_LINE_BYTES = 1024;
const MAX_ISSUES_SHOWN = 5;
const ID_PATTERN = /^[\w.:-]{1,200}$/;
const DIGEST_PATTERN = /^[0-9a-f]{16,128}$/;

export interface RevisionLedgerOptions {
  /**
   * Finding ids remembered; the oldest beyond this are folded into the floor (safe, so this only bounds
   * the file: at most ~120 bytes × 4 digests per id). Default 10000.
   */
  maxIds?: number;
  onIssue?: (text: string) => void;
}

export interface Assigned {
  revision: number;
  /** false: this content was already given `revision` (same key, same body). */
  fresh: boolean;
}

interface Entry {
  last: number;
  /** digest → revision, newest last, at most DIGESTS_PER_ID. */
  digests: Map<string, number>;
}

type LedgerLine = { id: string; rev: number; digest: string } | { floor: number };

function validLine(value: unknown): LedgerLine | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;
  if ('floor' in o) {
    return Number.isSafeInteger(o.floor) && (o.floor as number) >= 0 ? { floor: o.floor as number } : 'bad floor';
  }
  if (typeof o.id !== 'string' || !ID_PATTERN.test(o.id)) return 'bad finding id';
  if (!Number.isSafeInteger(o.rev) || (o.rev as number) < 1) return 'bad revision';
  if (typeof o.digest !== 'string' || !DIGEST_PATTERN.test(o.digest)) return 'bad digest';
  return { id: o.id, rev: o.rev as number, digest: o.digest };
}

export class RevisionLedger {
  private readonly path: string;
  private readonly maxIds: number;
  private readonly report: (text: string) => void;
  /** Insertion order = least recently assigned first. */
  private readonly entries = new Map<string, Entry>();
  private floor = 0;
  private fd = -1;
  private linesInFile = 0;

  private constructor(dir: string, options: RevisionLedgerOptions) {
    this.path = join(dir, LEDGER_FILE);
    this.maxIds = Math.max(1, options.maxIds ?? 10_000);
    this.report = options.onIssue ?? (() => {});
  }

  /** Loads `dir/revisions.log` (bad lines reported with their line numbers and skipped), compacts it, opens it for appending. */
  static async open(dir: string, options: RevisionLedgerOptions = {}): Promise<RevisionLedger> {
    const ledger = new RevisionLedger(dir, options);
    mkdirSync(dir, { recursive: true });
    await ledger.load();
    ledger.compact();
    return ledger;
  }

  /** The revision this content of `findingId` is delivered under; a new one is on disk before this returns. */
  assign(findingId: string, digest: string): Assigned {
    if (!ID_PATTERN.test(findingId)) throw new Error(`revisions: not a finding id: ${findingId.slice(0, 64)}`);
    if (!DIGEST_PATTERN.test(digest)) throw new Error('revisions: not a hex digest');
    const entry = this.entries.get(findingId);
    const known = entry?.digests.get(digest);
    if (known !== undefined) return { revision: known, fresh: false };
    const revision = (entry ? entry.last : this.floor) + 1;
    this.append({ id: findingId, rev: revision, digest });
    this.remember(findingId, revision, digest);
    if (this.linesInFile > Math.max(1024, 2 * this.entries.size + 1)) this.compact();
    return { revision, fresh: true };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  // ---

  private remember(id: string, rev: number, digest: string): void {
    const entry = this.entries.get(id) ?? { last: 0, digests: new Map<string, number>() };
    this.entries.delete(id);
    entry.last = Math.max(entry.last, rev);
    entry.digests.delete(digest);
    entry.digests.set(digest, rev);
    if (entry.digests.size > DIGESTS_PER_ID) entry.digests.delete(entry.digests.keys().next().value as string);
    this.entries.set(id, entry);
    while (this.entries.size > this.maxIds) {
      const [oldId, old] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldId);
      // a forgotten id may come back: every unknown id starts above every revision ever forgotten
      this.floor = Math.max(this.floor, old.last);
    }
  }

  private async load(): Promise<void> {
    try {
      statSync(this.path);
    } catch {
      return;
    }
    const bad: string[] = [];
    let badCount = 0;
    const note = (lineNo: number, why: string) => {
      badCount++;
      if (bad.length < MAX_ISSUES_SHOWN) bad.push(`line ${lineNo}: ${why}`);
    };
    try {
      // not gzip: there is no inflation to break
      const chunks = openChunks(this.path, false, () => {});
      for await (const batch of readLines(chunks, {
        maxLineBytes: MAX_LINE_BYTES,
        onOversize: (lineNo, bytes) => note(lineNo, `${bytes} bytes, over ${MAX_LINE_BYTES}`),
      })) {
        for (let i = 0; i < batch.lines.length; i++) {
          const text = batch.lines[i];
          if (text.trim() === '') continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            // a torn last line is a SIGKILL mid-append: that revision was never spooled
            note(batch.lineNos[i], 'not JSON (torn write?)');
            continue;
          }
          const line = validLine(parsed);
          if (typeof line === 'string') note(batch.lineNos[i], line);
          else if ('floor' in line) this.floor = Math.max(this.floor, line.floor);
          else this.remember(line.id, line.rev, line.digest);
        }
      }
    } catch (error) {
      this.report(`revisions: could not read ${this.path}: ${(error as Error).message}`);
    }
    if (badCount > 0)
      this.report(`revisions: ${badCount} unreadable line(s) in ${this.path} skipped (${bad.join('; ')})`);
  }

  private lineOf(line: LedgerLine): string {
    return `${JSON.stringify(line)}\n`;
  }

  private append(line: LedgerLine): void {
    if (this.fd < 0) this.fd = openSync(this.path, 'a');
    writeSync(this.fd, this.lineOf(line));
    fsyncSync(this.fd);
    this.linesInFile++;
  }

  /** Rewrites the ledger as one line per remembered digest plus the floor: temp file, fsync, rename. */
  private compact(): void {
    const lines: string[] = [];
    if (this.floor > 0) lines.push(this.lineOf({ floor: this.floor }));
    for (const [id, entry] of this.entries)
      for (const [digest, rev] of entry.digests) lines.push(this.lineOf({ id, rev, digest }));
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, lines.join(''));
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.close();
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a');
    this.linesInFile = lines.length;
  }
}

/** The digest a report's content is known by: the finding as sent, without its revision. */
export function contentDigest(content: unknown): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}
