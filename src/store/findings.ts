/**
 * Findings: every revision as received, stored once under its dedupe key `id#revision` (a retried
 * delivery is a no-op; a different body under a key already stored is refused, never overwritten), and
 * the newest revision of each finding as the queue's row. Lists are keyset-paginated in queue order:
 * severity (worst first), last seen (newest first), id.
 */
import { createHash } from 'node:crypto';
import { type Finding, SEVERITY_RANK, type Severity } from '../model/finding.js';
import { makeCursor, type Page, pageLimit, readCursor } from './cursor.js';
import { boundedJson, boundedText, type Db, requiredText, StoreInputError } from './db.js';

/** A finding's JSON beyond this is refused (evidence ≤ 256 and processes ≤ 128 keep real ones far below). */
const MAX_FINDING_CHARS = 4 * 1024 * 1024;
const MAX_REVISION = 1_000_000_000;

export type IngestOutcome = 'stored' | 'duplicate' | 'conflict';

export interface IngestResult {
  outcome: IngestOutcome;
  dedupe_key: string;
  /** Whether this revision is now the finding's newest. */
  newest: boolean;
}

export interface StoredFinding {
  finding: Finding;
  revision: number;
  received_at: number;
}

export interface FindingFilter {
  severity?: Severity[];
  analytic?: string;
  host?: string;
  /** The state of a case the finding belongs to. */
  state?: string;
}

export interface FindingStore {
  /**
   * Stores one revision. `dedupeKey`, when the sender gave one, must be `id#revision`. Idempotent: the
   * same key again is `duplicate` (nothing written); another body under it is `conflict` (nothing written).
   * `links` (as `addLinks` takes them) are recorded in the same transaction when the revision is stored,
   * so a stored revision never lacks its links and a caller needs no second commit for them.
   */
  ingest(input: { finding: unknown; revision: unknown; dedupeKey?: unknown; links?: string[] }): Promise<IngestResult>;
  /** The newest revision. */
  get(id: string): Promise<StoredFinding | undefined>;
  /** Every revision, oldest first. */
  revisions(id: string): Promise<StoredFinding[]>;
  list(filter?: FindingFilter, page?: { limit?: number; cursor?: string }): Promise<Page<StoredFinding>>;
  /**
   * Records what links the finding to others (triage's keys: host, pool, hash, path); keys already held
   * are kept. The cases a new finding joins are found through them (`CaseStore.linkedTo`).
   */
  addLinks(id: string, links: string[]): Promise<void>;
  /** Per host (at most MAX_HOST_COUNTS), its findings and the open cases holding any of them. */
  hostCounts(hosts: string[]): Promise<Map<string, { findings: number; openCases: number }>>;
}

/** Link keys one finding may record. */
export const MAX_FINDING_LINKS = 64;
const MAX_LINK_CHARS = 1024;
export const MAX_HOST_COUNTS = 500;

interface Validated {
  id: string;
  analytic: string;
  severity: Severity;
  host: string;
  title: string;
  first_seen: string;
  last_seen: string;
  last_seen_ms: number;
  suppressed: number;
}

function isoTime(field: string, value: unknown): { text: string; ms: number } {
  const text = requiredText(field, value, 64);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new StoreInputError(`${field} "${text.slice(0, 64)}" is not a time`);
  return { text, ms };
}

/** The fields the store indexes, checked; the rest of the finding is kept as sent (bounded JSON). */
function validate(f: unknown): Validated {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new StoreInputError('finding must be an object');
  const o = f as Record<string, unknown>;
  const severity = o.severity;
  if (typeof severity !== 'string' || !Object.hasOwn(SEVERITY_RANK, severity))
    throw new StoreInputError(`finding severity must be one of ${Object.keys(SEVERITY_RANK).join(', ')}`);
  const last = isoTime('finding last_seen', o.last_seen);
  return {
    id: requiredText('finding id', o.id, 256),
    analytic: requiredText('finding analytic', o.analytic, 64),
    severity: severity as Severity,
    // the queue's copies of telemetry text are clipped; the body keeps them as sent
    host: boundedText('finding host', o.host, 512),
    title: boundedText('finding title', o.title, 1024),
    first_seen: isoTime('finding first_seen', o.first_seen).text,
    last_seen: last.text,
    last_seen_ms: last.ms,
    suppressed: o.suppressed_by ? 1 : 0,
  };
}

interface RevisionRow {
  body: string;
  revision: number;
  received_at: number;
}

const toStored = (r: RevisionRow): StoredFinding => ({
  finding: JSON.parse(r.body) as Finding,
  revision: Number(r.revision),
  received_at: Number(r.received_at),
});

const SEVERITIES = Object.keys(SEVERITY_RANK) as Severity[];

/** A finding's link keys checked as stored: at most MAX_FINDING_LINKS, each a bounded text, once each. */
function linkKeys(links: unknown): string[] {
  if (!Array.isArray(links) || links.length > MAX_FINDING_LINKS)
    throw new StoreInputError(`a finding records at most ${MAX_FINDING_LINKS} links`);
  return [...new Set(links.map((l) => requiredText('finding link', l, MAX_LINK_CHARS)))];
}

async function insertLinks(tx: Db, findingId: string, keys: string[]): Promise<void> {
  for (const link of keys)
    await tx.run(
      'INSERT INTO finding_links (link, finding_id) VALUES (?, ?) ON CONFLICT (link, finding_id) DO NOTHING',
      [link, findingId],
    );
}

export function findingStore(db: Db, now: () => number, cursorSecret: string): FindingStore {
  return {
    async ingest(input) {
      const v = validate(input.finding);
      const revision = input.revision;
      if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1 || revision > MAX_REVISION)
        throw new StoreInputError(`revision must be an integer from 1 to ${MAX_REVISION}`);
      const key = `${v.id}#${revision}`;
      if (input.dedupeKey !== undefined && input.dedupeKey !== key)
        throw new StoreInputError(`dedupe_key must be "id#revision" of the finding (${key.slice(0, 300)})`);
      // the revision is the store's to keep, not part of the finding (watch sends `{ ...finding, revision }`)
      const { revision: _sentRevision, dedupe_key: _sentKey, ...finding } = input.finding as Record<string, unknown>;
      const body = boundedJson('finding', finding, MAX_FINDING_CHARS);
      const digest = createHash('sha256').update(body).digest('hex');
      const links = input.links === undefined ? [] : linkKeys(input.links);
      const at = now();
      return db.transaction(async (tx) => {
        const inserted = await tx.run(
          'INSERT INTO finding_revisions (dedupe_key, finding_id, revision, digest, body, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING',
          [key, v.id, revision, digest, body, at],
        );
        if (inserted.changes === 0) {
          const held = await tx.get<{ digest: string }>('SELECT digest FROM finding_revisions WHERE dedupe_key = ?', [
            key,
          ]);
          const head = await tx.get<{ revision: number }>('SELECT revision FROM findings WHERE id = ?', [v.id]);
          return {
            outcome: held?.digest === digest ? 'duplicate' : 'conflict',
            dedupe_key: key,
            newest: Number(head?.revision) === revision,
          };
        }
        // the queue row follows the highest revision; a late older revision is kept but does not move it back
        const head = await tx.run(
          `INSERT INTO findings (id, revision, analytic, severity, severity_rank, host, title, first_seen, last_seen, last_seen_ms, suppressed, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, analytic = excluded.analytic, severity = excluded.severity,
             severity_rank = excluded.severity_rank, host = excluded.host, title = excluded.title, first_seen = excluded.first_seen,
             last_seen = excluded.last_seen, last_seen_ms = excluded.last_seen_ms, suppressed = excluded.suppressed, updated_at = excluded.updated_at
           WHERE findings.revision < excluded.revision`,
          [
            v.id,
            revision,
            v.analytic,
            v.severity,
            SEVERITY_RANK[v.severity],
            v.host,
            v.title,
            v.first_seen,
            v.last_seen,
            v.last_seen_ms,
            v.suppressed,
            at,
          ],
        );
        await insertLinks(tx, v.id, links);
        return { outcome: 'stored', dedupe_key: key, newest: head.changes > 0 };
      });
    },

    async get(id) {
      const row = await db.get<RevisionRow>(
        'SELECT r.body, r.revision, r.received_at FROM findings f JOIN finding_revisions r ON r.finding_id = f.id AND r.revision = f.revision WHERE f.id = ?',
        [id],
      );
      return row && toStored(row);
    },

    async revisions(id) {
      const rows = await db.all<RevisionRow>(
        'SELECT body, revision, received_at FROM finding_revisions WHERE finding_id = ? ORDER BY revision',
        [id],
      );
      return rows.map(toStored);
    },

    async list(filter = {}, page = {}) {
      const limit = pageLimit(page.limit);
      // fixed fragments chosen by which filters are present; every value is a parameter
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (filter.severity !== undefined) {
        if (
          !Array.isArray(filter.severity) ||
          filter.severity.length === 0 ||
          filter.severity.length > SEVERITIES.length
        )
          throw new StoreInputError('severity filter must list one or more severities');
        for (const s of filter.severity)
          if (!SEVERITIES.includes(s)) throw new StoreInputError(`unknown severity (known: ${SEVERITIES.join(', ')})`);
        where.push(`f.severity IN (${filter.severity.map(() => '?').join(', ')})`);
        params.push(...filter.severity);
      }
      if (filter.analytic !== undefined) {
        where.push('f.analytic = ?');
        params.push(requiredText('analytic filter', filter.analytic, 64));
      }
      if (filter.host !== undefined) {
        where.push('f.host = ?');
        params.push(requiredText('host filter', filter.host, 512));
      }
      if (filter.state !== undefined) {
        where.push(
          'EXISTS (SELECT 1 FROM case_findings cf JOIN cases c ON c.id = cf.case_id WHERE cf.finding_id = f.id AND c.state = ?)',
        );
        params.push(requiredText('state filter', filter.state, 32));
      }
      const scope = JSON.stringify([
        'findings',
        filter.severity ?? null,
        filter.analytic ?? null,
        filter.host ?? null,
        filter.state ?? null,
      ]);
      if (page.cursor !== undefined) {
        const [rank, lastMs, id] = readCursor(cursorSecret, scope, page.cursor, ['number', 'number', 'string']);
        where.push(
          '(f.severity_rank < ? OR (f.severity_rank = ? AND (f.last_seen_ms < ? OR (f.last_seen_ms = ? AND f.id > ?))))',
        );
        params.push(rank, rank, lastMs, lastMs, id);
      }
      const rows = await db.all<RevisionRow & { id: string; severity_rank: number; last_seen_ms: number }>(
        `SELECT f.id, f.severity_rank, f.last_seen_ms, r.body, r.revision, r.received_at
         FROM findings f JOIN finding_revisions r ON r.finding_id = f.id AND r.revision = f.revision
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY f.severity_rank DESC, f.last_seen_ms DESC, f.id ASC LIMIT ?`,
        [...params, limit + 1],
      );
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      const result: Page<StoredFinding> = { items: items.map(toStored) };
      if (rows.length > limit && last)
        result.next = makeCursor(cursorSecret, scope, [Number(last.severity_rank), Number(last.last_seen_ms), last.id]);
      return result;
    },

    async addLinks(id, links) {
      const findingId = requiredText('finding id', id, 256);
      const keys = linkKeys(links);
      if (keys.length === 0) return;
      await db.transaction((tx) => insertLinks(tx, findingId, keys));
    },

    async hostCounts(hosts) {
      if (!Array.isArray(hosts) || hosts.length > MAX_HOST_COUNTS)
        throw new StoreInputError(`at most ${MAX_HOST_COUNTS} hosts are counted at once`);
      const names = [...new Set(hosts.map((h) => boundedText('host', h, 512)))];
      const counts = new Map(names.map((h) => [h, { findings: 0, openCases: 0 }]));
      if (names.length === 0) return counts;
      const marks = names.map(() => '?').join(', ');
      // one after another (inside or outside a transaction, one query at a time on a PostgreSQL client)
      const found = await db.all<{ host: string; n: number }>(
        `SELECT host, COUNT(*) AS n FROM findings WHERE host IN (${marks}) GROUP BY host`,
        names,
      );
      for (const r of found) counts.get(r.host)!.findings = Number(r.n);
      const open = await db.all<{ host: string; n: number }>(
        `SELECT f.host, COUNT(DISTINCT c.id) AS n FROM findings f
         JOIN case_findings cf ON cf.finding_id = f.id JOIN cases c ON c.id = cf.case_id
         WHERE f.host IN (${marks}) AND c.state <> 'closed' GROUP BY f.host`,
        names,
      );
      for (const r of open) counts.get(r.host)!.openCases = Number(r.n);
      return counts;
    },
  };
}
