/** Strong ETags of response bytes: GETs of one resource carry one, and If-None-Match answers 304. */
import { createHash } from 'node:crypto';
import type { Reply } from './http.js';

/** A strong ETag of a body's bytes. */
export function etagOf(bytes: string): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

/** Whether an If-None-Match header names `etag` (or is `*`); weak tags compare by their value. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header || header.length > 8192) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** A 200 JSON reply with the ETag of its bytes. */
export function withEtag(json: unknown): Reply {
  return { status: 200, json, headers: { etag: etagOf(JSON.stringify(json)) } };
}
