/**
 * Keyset pagination cursors: the last row's sort key and the query it belongs to, signed with the
 * store's own key (HMAC-SHA256, kept in `store_meta`), so a cursor is opaque to clients and one that was
 * edited, forged, or made for another query is refused instead of silently paging somewhere else.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { StoreInputError } from './db.js';

const MAX_CURSOR_CHARS = 2048;
const MAC_BYTES = 16;

export type CursorKey = readonly (string | number)[];

function mac(secret: string, scope: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(scope).update('\n').update(payload).digest().subarray(0, MAC_BYTES);
}

/** `scope` names the query (its filters): a cursor only continues the query it came from. */
export function makeCursor(secret: string, scope: string, key: CursorKey): string {
  const payload = Buffer.from(JSON.stringify(key)).toString('base64url');
  return `${payload}.${mac(secret, scope, payload).toString('base64url')}`;
}

/** The sort key inside `cursor`, whose parts must have the types in `shape`; refused when it does not verify. */
export function readCursor(
  secret: string,
  scope: string,
  cursor: unknown,
  shape: readonly ('string' | 'number')[],
): CursorKey {
  const refuse = (why: string) => new StoreInputError(`cursor refused: ${why}`);
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS)
    throw refuse('not a cursor');
  const dot = cursor.indexOf('.');
  if (dot <= 0) throw refuse('not a cursor');
  const payload = cursor.slice(0, dot);
  const given = Buffer.from(cursor.slice(dot + 1), 'base64url');
  const expected = mac(secret, scope, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw refuse('it was not issued for this query by this store');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw refuse('it does not decode');
  }
  if (!Array.isArray(key) || key.length !== shape.length || key.some((v, i) => typeof v !== shape[i]))
    throw refuse('it does not decode');
  return key as CursorKey;
}

/** A page size: an integer from 1 to `max`, `fallback` when not given. */
export function pageLimit(limit: unknown, fallback = 50, max = 500): number {
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max)
    throw new StoreInputError(`limit must be an integer from 1 to ${max}`);
  return limit;
}

export interface Page<T> {
  items: T[];
  /** Continue with this cursor; absent on the last page. */
  next?: string;
}
