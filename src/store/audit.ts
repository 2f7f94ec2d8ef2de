/**
 * The audit trail: who did what to which subject, when. Append-only by construction: this module has no
 * update or delete, and the table's triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) from
 * anyone. Other repositories append their rows in the same transaction as the change they record.
 */

import { makeCursor, type Page, pageLimit, readCursor } from './cursor.js';
import { boundedJson, boundedText, type Db, newId, requiredText } from './db.js';

export interface AuditEntry {
  id: string;
  /** Epoch ms. */
  at: number;
  actor: string;
  subject_type: string;
  subject_id: string;
  action: string;
  detail: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

const MAX_DETAIL_CHARS = 64 * 1024;

/** Appends one row on `db` (a transaction's, so it commits or rolls back with the change it records). */
export async function appendAudit(db: Db, nowMs: number, entry: AuditInput): Promise<AuditEntry> {
  const row: AuditEntry = {
    id: newId('au', nowMs),
    at: nowMs,
    actor: boundedText('actor', entry.actor, 256),
    subject_type: requiredText('subject type', entry.subject_type, 64),
    subject_id: requiredText('subject id', entry.subject_id, 256),
    action: requiredText('action', entry.action, 64),
    detail: entry.detail,
  };
  await db.run(
    'INSERT INTO audit_log (id, at, actor, subject_type, subject_id, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [
      row.id,
      row.at,
      row.actor,
      row.subject_type,
      row.subject_id,
      row.action,
      boundedJson('audit detail', row.detail, MAX_DETAIL_CHARS),
    ],
  );
  return row;
}

interface AuditRow {
  id: string;
  at: number;
  actor: string;
  subject_type: string;
  subject_id: string;
  action: string;
  detail: string;
}

export interface AuditLog {
  /** Records an action that changes nothing else in the store (a login, an export). */
  append(entry: AuditInput): Promise<AuditEntry>;
  /** A subject's trail, oldest first. */
  list(subjectType: string, subjectId: string, page?: { limit?: number; cursor?: string }): Promise<Page<AuditEntry>>;
}

export function auditLog(db: Db, now: () => number, cursorSecret: string): AuditLog {
  return {
    append: (entry) => appendAudit(db, now(), entry),
    async list(subjectType, subjectId, page = {}) {
      const limit = pageLimit(page.limit, 100, 1000);
      const scope = JSON.stringify(['audit', subjectType, subjectId]);
      const after =
        page.cursor === undefined ? '' : String(readCursor(cursorSecret, scope, page.cursor, ['string'])[0]);
      const rows = await db.all<AuditRow>(
        'SELECT id, at, actor, subject_type, subject_id, action, detail FROM audit_log WHERE subject_type = ? AND subject_id = ? AND id > ? ORDER BY id LIMIT ?',
        [subjectType, subjectId, after, limit + 1],
      );
      const items = rows.slice(0, limit).map((r) => ({ ...r, at: Number(r.at), detail: JSON.parse(r.detail) }));
      const last = items[items.length - 1];
      return rows.length > limit && last ? { items, next: makeCursor(cursorSecret, scope, [last.id]) } : { items };
    },
  };
}
