/**
 * The store's schema, as numbered migrations applied in order at open, all pending ones in one
 * transaction (two processes opening one store at once take turns: SQLite's BEGIN IMMEDIATE, a
 * PostgreSQL advisory lock). `schema_migrations` records what was applied; a store whose schema is
 * newer than this code refuses to open, since writing to it could break what the newer code expects.
 * A statement is SQL both backends accept, or one text per backend where they truly differ (triggers).
 */
import type { Db } from './db.js';

type Statement = string | { sqlite: string; postgres: string };

export interface Migration {
  version: number;
  name: string;
  statements: Statement[];
}

/** Refused: the store's schema is newer than this code. */
export class StoreSchemaError extends Error {
  override readonly name = 'StoreSchemaError';
}

const appendOnly = (table: string): Statement[] => [
  {
    sqlite: `CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
    postgres: `CREATE FUNCTION ${table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${table} is append-only'; END $$`,
  },
  {
    sqlite: `CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
    postgres: `CREATE TRIGGER ${table}_no_change BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_append_only()`,
  },
  // SQLite has no TRUNCATE; PostgreSQL's skips row triggers
  {
    sqlite: 'SELECT 1',
    postgres: `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${table}_append_only()`,
  },
];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'findings, cases, audit, tokens, allowlist, sensors',
    statements: [
      'CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
      // every revision of every finding as received; never updated (the triggers below hold it to that)
      `CREATE TABLE finding_revisions (
        dedupe_key TEXT PRIMARY KEY,
        finding_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        digest TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at BIGINT NOT NULL
      )`,
      'CREATE UNIQUE INDEX finding_revisions_by_finding ON finding_revisions (finding_id, revision)',
      ...appendOnly('finding_revisions'),
      // the newest revision of each finding, what the queue lists and filters
      `CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        analytic TEXT NOT NULL,
        severity TEXT NOT NULL,
        severity_rank INTEGER NOT NULL,
        host TEXT NOT NULL,
        title TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        last_seen_ms BIGINT NOT NULL,
        suppressed INTEGER NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      'CREATE INDEX findings_queue ON findings (severity_rank, last_seen_ms, id)',
      'CREATE INDEX findings_by_host ON findings (host)',
      'CREATE INDEX findings_by_analytic ON findings (analytic)',
      `CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        severity_rank INTEGER NOT NULL,
        tier TEXT NOT NULL,
        state TEXT NOT NULL,
        resolution TEXT,
        assignee TEXT,
        body TEXT NOT NULL,
        version INTEGER NOT NULL,
        reopened INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        resolved_at BIGINT
      )`,
      'CREATE INDEX cases_queue ON cases (severity_rank, created_at, id)',
      'CREATE INDEX cases_by_state ON cases (state)',
      `CREATE TABLE case_findings (
        case_id TEXT NOT NULL REFERENCES cases (id),
        finding_id TEXT NOT NULL,
        PRIMARY KEY (case_id, finding_id)
      )`,
      'CREATE INDEX case_findings_by_finding ON case_findings (finding_id)',
      `CREATE TABLE case_steps (
        case_id TEXT NOT NULL REFERENCES cases (id),
        step_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        label TEXT NOT NULL,
        done_by TEXT,
        done_at BIGINT,
        PRIMARY KEY (case_id, step_id)
      )`,
      `CREATE TABLE case_notes (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases (id),
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      'CREATE INDEX case_notes_by_case ON case_notes (case_id, id)',
      ...appendOnly('case_notes'),
      `CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
      )`,
      'CREATE INDEX audit_by_subject ON audit_log (subject_type, subject_id, id)',
      ...appendOnly('audit_log'),
      `CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at BIGINT,
        last_used_at BIGINT
      )`,
      `CREATE TABLE allowlist_heads (id TEXT PRIMARY KEY, version INTEGER NOT NULL, retired INTEGER NOT NULL)`,
      `CREATE TABLE allowlist_versions (
        id TEXT NOT NULL REFERENCES allowlist_heads (id),
        version INTEGER NOT NULL,
        match_json TEXT NOT NULL,
        analytics_json TEXT NOT NULL,
        owner TEXT NOT NULL,
        reason TEXT NOT NULL,
        expires TEXT NOT NULL,
        retired INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (id, version)
      )`,
      ...appendOnly('allowlist_versions'),
      `CREATE TABLE sensors (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        version TEXT NOT NULL,
        cannot_see TEXT NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'ingest log',
    statements: [
      // each accepted request body as received (base64: both backends hold it as text), replayed at start
      {
        sqlite: `CREATE TABLE ingest_log (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          received_at BIGINT NOT NULL,
          sensor TEXT NOT NULL,
          name TEXT NOT NULL,
          format TEXT,
          host TEXT,
          bytes INTEGER NOT NULL,
          body TEXT NOT NULL
        )`,
        postgres: `CREATE TABLE ingest_log (
          seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          received_at BIGINT NOT NULL,
          sensor TEXT NOT NULL,
          name TEXT NOT NULL,
          format TEXT,
          host TEXT,
          bytes INTEGER NOT NULL,
          body TEXT NOT NULL
        )`,
      },
      'CREATE INDEX ingest_log_by_time ON ingest_log (received_at)',
    ],
  },
  {
    version: 3,
    name: 'finding links',
    statements: [
      // what links a finding to others (host, pool, hash, dropped path: triage's keys), so a new finding
      // finds the cases it belongs to in the store, not only among the findings a server holds in memory
      `CREATE TABLE finding_links (
        link TEXT NOT NULL,
        finding_id TEXT NOT NULL,
        PRIMARY KEY (link, finding_id)
      )`,
      'CREATE INDEX finding_links_by_finding ON finding_links (finding_id)',
    ],
  },
  {
    version: 4,
    name: 'merged cases',
    // a case merged into another (a finding linked them): it keeps its history and points to the survivor
    statements: ['ALTER TABLE cases ADD COLUMN merged_into TEXT'],
  },
  {
    version: 5,
    name: 'ingest idempotency keys',
    // a batch sent again after its answer was lost names the entry it already is: its Idempotency-Key,
    // unique per sending token (NULLs, bodies sent without a key, never collide); pruned with the entry
    statements: [
      'ALTER TABLE ingest_log ADD COLUMN token_id TEXT',
      'ALTER TABLE ingest_log ADD COLUMN idempotency_key TEXT',
      'CREATE UNIQUE INDEX ingest_log_by_key ON ingest_log (token_id, idempotency_key)',
    ],
  },
  {
    version: 6,
    name: 'sensor heartbeats',
    // the latest heartbeat a sensor sent of itself (JSON) and when it came; null until it sends one
    statements: ['ALTER TABLE sensors ADD COLUMN heartbeat TEXT', 'ALTER TABLE sensors ADD COLUMN heartbeat_at BIGINT'],
  },
  {
    version: 7,
    name: 'ingest body mtimes',
    // the sender's modification time of the file a body holds (`?mtime=`): a cron file's entries are dated
    // by it, as hunt dates them by the file's mtime; null when the sender gave none (dated on arrival)
    statements: ['ALTER TABLE ingest_log ADD COLUMN mtime BIGINT'],
  },
  {
    version: 8,
    name: 'partition checkpoints',
    // coalmine worker's detector state per bus partition as of a stream sequence (deflated, base64)
    statements: [
      `CREATE TABLE partition_checkpoints (
        partition_no INTEGER PRIMARY KEY,
        seq BIGINT NOT NULL,
        config TEXT NOT NULL,
        saved_at BIGINT NOT NULL,
        state TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 9,
    name: 'case states of the product contract',
    // new → triaged → escalated → contained → closed (true-positive / benign / false-positive): the earlier
    // states and resolution renamed in place; the audit trail keeps the names its rows were written with
    statements: [
      "UPDATE cases SET state = 'triaged' WHERE state = 'acknowledged'",
      "UPDATE cases SET state = 'escalated' WHERE state = 'in_progress'",
      "UPDATE cases SET state = 'closed' WHERE state = 'resolved'",
      "UPDATE cases SET resolution = 'benign' WHERE resolution = 'benign-authorized'",
    ],
  },
];

/** Advisory lock key for migrations on PostgreSQL ("coalmi" in ASCII: exact as a JS number and a bigint). */
const MIGRATION_LOCK = 0x636f616c6d69;

/** Applies what is pending; returns the versions applied (none when the store is current). */
export async function migrate(db: Db, nowMs: number, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  return db.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await tx.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const rows = await tx.all<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...applied);
    if (newest > known)
      throw new StoreSchemaError(
        `the store's schema is version ${newest}, newer than this coalmine knows (${known}): upgrade coalmine, or open a different store`,
      );
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      for (const s of m.statements) await tx.run(typeof s === 'string' ? s : s[tx.dialect]);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        nowMs,
      ]);
      done.push(m.version);
    }
    return done;
  });
}
