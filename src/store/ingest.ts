/**
 * The ingest log of `coalmine serve`: each accepted request body exactly as received (bytes, kept as
 * base64 text since both backends hold text alike), with its sequence, received time, sensor (the
 * token's name), request name, forced format, host and the sender's mtime of the file it holds. An ingest request is answered only after its
 * `append` committed, so a crash after the answer loses nothing: at start the server replays what is
 * newer than its replay window through a fresh detector, in sequence order. Older entries are pruned.
 *
 * A sender may name each body with an idempotency key (32 hex digits, unique per sending token): the
 * key is stored with the entry in the append's own transaction, and a body appended again under a key
 * the log holds is not logged twice; the append answers the entry that holds it. Keys go with their
 * entries when those are pruned, so a key is remembered for the replay window.
 */
import { boundedText, type Db, requiredText, StoreInputError } from './db.js';

/** A body larger than this is refused (the server's own bound is lower; this one holds any caller to it). */
export const MAX_LOGGED_BODY_BYTES = 64 * 1024 * 1024;
const MAX_PAGE = 1000;
/** An idempotency key as stored: 32 lower-case hex digits (`watch --server` sends a UUID's). */
const IDEMPOTENCY_KEY = /^[0-9a-f]{32}$/;

/** Whether `key` is an idempotency key as the log stores it (callers lower-case a header first). */
export const isIdempotencyKey = (key: unknown): key is string => typeof key === 'string' && IDEMPOTENCY_KEY.test(key);

export interface IngestEntryInput {
  body: Uint8Array;
  /** Who sent it: the token's name. */
  sensor: string;
  /** The request's name (issues and evidence refs say it). */
  name: string;
  /** A source forced by the request (`?format=`), else sniffed. */
  format?: string;
  /** Host of records that name none. */
  host?: string;
  /** When it was received (epoch ms); default the store's clock. The detector read it as of this time. */
  receivedAt?: number;
  /** The sender's modification time of the file the body holds (epoch ms), when it said one. */
  mtime?: number;
  /** The sender's key for this body (32 lower-case hex digits), unique per `tokenId`; both or neither. */
  idempotencyKey?: string;
  /** The sending token's id: the scope of its idempotency keys. */
  tokenId?: string;
}

/** Where a body is in the log: its sequence and time; `repeat` when an entry already held its key. */
export interface Appended {
  seq: number;
  received_at: number;
  repeat: boolean;
}

export interface IngestEntry {
  seq: number;
  received_at: number;
  sensor: string;
  name: string;
  format: string | null;
  host: string | null;
  /** The sender's mtime of the body's file (epoch ms), or null: read as of `received_at`. */
  mtime: number | null;
  body: Buffer;
}

export interface IngestLog {
  /**
   * Appends one body in its own transaction, committed when this resolves; its sequence and time. A
   * body whose idempotency key an entry of the same token holds is not appended: that entry answers.
   */
  append(entry: IngestEntryInput): Promise<Appended>;
  /** The entry holding a token's idempotency key, if the log still has it. */
  byKey(tokenId: string, idempotencyKey: string): Promise<{ seq: number; received_at: number } | undefined>;
  /** Entries after `seq`, in sequence order, at most `limit` (≤ 1000). */
  since(seq: number, limit?: number): Promise<IngestEntry[]>;
  /** Entries received at or after `ms`, in sequence order, at most `limit`; `afterSeq` pages on. */
  newerThan(ms: number, options?: { afterSeq?: number; limit?: number }): Promise<IngestEntry[]>;
  /** Deletes entries received before `ms` (older than the replay window); how many. */
  prune(ms: number): Promise<number>;
  /** Deletes one entry (a body committed, then found to hold nothing readable); whether it was there. */
  remove(seq: number): Promise<boolean>;
}

interface EntryRow {
  seq: number;
  received_at: number;
  sensor: string;
  name: string;
  format: string | null;
  host: string | null;
  mtime: number | string | null;
  body: string;
}

const COLUMNS = 'seq, received_at, sensor, name, format, host, mtime, body';

const toEntry = (r: EntryRow): IngestEntry => ({
  seq: Number(r.seq),
  received_at: Number(r.received_at),
  sensor: r.sensor,
  name: r.name,
  format: r.format,
  host: r.host,
  mtime: r.mtime === null ? null : Number(r.mtime),
  body: Buffer.from(r.body, 'base64'),
});

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return MAX_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new StoreInputError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  return limit;
}

function position(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new StoreInputError(`${field} must be a non-negative integer`);
  return value;
}

/** A token id and idempotency key checked as stored: both or neither. */
function keyOf(tokenId: unknown, key: unknown): { tokenId: string; key: string } | undefined {
  if (tokenId === undefined && key === undefined) return undefined;
  if (!isIdempotencyKey(key)) throw new StoreInputError('idempotency key must be 32 lower-case hex digits');
  return { tokenId: requiredText('token id', tokenId, 128), key };
}

async function findKey(
  db: Db,
  tokenId: string,
  key: string,
): Promise<{ seq: number; received_at: number } | undefined> {
  const row = await db.get<{ seq: number; received_at: number }>(
    'SELECT seq, received_at FROM ingest_log WHERE token_id = ? AND idempotency_key = ?',
    [tokenId, key],
  );
  return row ? { seq: Number(row.seq), received_at: Number(row.received_at) } : undefined;
}

export function ingestLog(db: Db, now: () => number): IngestLog {
  return {
    async append(entry) {
      if (!(entry.body instanceof Uint8Array)) throw new StoreInputError('body must be bytes');
      if (entry.body.length > MAX_LOGGED_BODY_BYTES)
        throw new StoreInputError(`body is ${entry.body.length} bytes (at most ${MAX_LOGGED_BODY_BYTES})`);
      const sensor = requiredText('sensor', entry.sensor, 256);
      const name = boundedText('request name', entry.name, 256);
      const format = entry.format === undefined ? null : requiredText('format', entry.format, 64);
      const host = entry.host === undefined ? null : boundedText('host', entry.host, 512);
      const at = entry.receivedAt === undefined ? now() : position('receivedAt', entry.receivedAt);
      const mtime = entry.mtime === undefined ? null : position('mtime', entry.mtime);
      const keyed = keyOf(entry.tokenId, entry.idempotencyKey);
      const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.length).toString('base64');
      return db.transaction(async (tx) => {
        // a key already held is no conflict to fail on (two requests of one batch may race): nothing is
        // inserted, and the entry holding it answers
        const row = await tx.get<{ seq: number }>(
          'INSERT INTO ingest_log (received_at, sensor, name, format, host, mtime, bytes, body, token_id, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, idempotency_key) DO NOTHING RETURNING seq',
          [at, sensor, name, format, host, mtime, entry.body.length, body, keyed?.tokenId ?? null, keyed?.key ?? null],
        );
        if (row) return { seq: Number(row.seq), received_at: at, repeat: false };
        const held = keyed ? await findKey(tx, keyed.tokenId, keyed.key) : undefined;
        if (!held) throw new Error('the ingest log neither took the body nor holds its key');
        return { ...held, repeat: true };
      });
    },

    async byKey(tokenId, idempotencyKey) {
      const keyed = keyOf(tokenId, idempotencyKey)!;
      return findKey(db, keyed.tokenId, keyed.key);
    },

    async since(seq, limit) {
      const rows = await db.all<EntryRow>(`SELECT ${COLUMNS} FROM ingest_log WHERE seq > ? ORDER BY seq LIMIT ?`, [
        position('seq', seq),
        pageSize(limit),
      ]);
      return rows.map(toEntry);
    },

    async newerThan(ms, options = {}) {
      const rows = await db.all<EntryRow>(
        `SELECT ${COLUMNS} FROM ingest_log WHERE received_at >= ? AND seq > ? ORDER BY seq LIMIT ?`,
        [position('ms', ms), position('afterSeq', options.afterSeq ?? 0), pageSize(options.limit)],
      );
      return rows.map(toEntry);
    },

    async prune(ms) {
      return (await db.run('DELETE FROM ingest_log WHERE received_at < ?', [position('ms', ms)])).changes;
    },

    async remove(seq) {
      return (await db.run('DELETE FROM ingest_log WHERE seq = ?', [position('seq', seq)])).changes > 0;
    },
  };
}
