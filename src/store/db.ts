/**
 * The one database interface the store's repositories are written against, the same on SQLite and
 * PostgreSQL. SQL is written once with `?` placeholders in the subset both speak: TEXT, INTEGER and
 * BIGINT (epoch ms), JSON kept as TEXT, ids made by us (`newId`), `INSERT … ON CONFLICT`. Every value
 * reaches the database as a bound parameter; no SQL is ever built from input.
 */
import { randomBytes } from 'node:crypto';
import { clip } from '../util/hostile.js';

export type SqlValue = string | number | null;
export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Nested calls join it. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Input the store refuses (a field too large, a forged cursor, an illegal transition): the caller's 400. */
export class StoreInputError extends Error {
  override readonly name = 'StoreInputError';
}

/** A row changed under us between read and write (another writer won): the caller's 409, retry. */
export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
}

/** The named thing does not exist: the caller's 404. */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';
}

let lastMs = 0;
let counter = 0;
/**
 * A fresh id that sorts by creation: 12 hex digits of epoch ms, a per-process counter (so ids made in
 * one millisecond keep their order) and 8 random bytes (so two processes never collide).
 */
export function newId(prefix: string, nowMs: number): string {
  if (nowMs === lastMs) counter++;
  else {
    lastMs = nowMs;
    counter = 0;
  }
  const ms = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0');
  return `${prefix}_${ms}${counter.toString(16).padStart(6, '0')}${randomBytes(8).toString('hex')}`;
}

/**
 * A text field as stored: longer than `max` is clipped (marked), longer than `refuse` is refused, and
 * NUL becomes U+FFFD, since PostgreSQL text cannot hold NUL and both backends must store the same.
 */
export function boundedText(field: string, value: unknown, max: number, refuse = max * 64): string {
  if (typeof value !== 'string') throw new StoreInputError(`${field} must be a string`);
  if (value.length > refuse) throw new StoreInputError(`${field} is ${value.length} characters (at most ${refuse})`);
  return clip(value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value, max);
}

/** A required, non-empty field of at most `max` characters, refused (not clipped) when longer: names, ids. */
export function requiredText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new StoreInputError(`${field} is required`);
  if (value.length > max) throw new StoreInputError(`${field} is ${value.length} characters (at most ${max})`);
  if (value.includes('\u0000')) throw new StoreInputError(`${field} contains NUL`);
  return value;
}

/** JSON kept as TEXT, refused past `maxBytes` (UTF-16 units, near enough and cheap). */
export function boundedJson(field: string, value: unknown, maxChars: number): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new StoreInputError(`${field} is not JSON`);
  if (text.length > maxChars)
    throw new StoreInputError(`${field} is ${text.length} characters of JSON (at most ${maxChars})`);
  return text;
}
