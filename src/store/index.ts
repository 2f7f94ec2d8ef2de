/**
 * The store of `coalmine serve`: findings with every revision, cases, the audit trail, API tokens, the
 * allowlist and sensors, on SQLite (a path) or PostgreSQL (a `postgres://` URL), one schema on both.
 * Nothing in the core imports it.
 */
import { randomBytes } from 'node:crypto';
import { type AllowlistStore, allowlistStore } from './allowlist.js';
import { type AuditLog, auditLog } from './audit.js';
import { type CaseStore, caseStore } from './cases.js';
import { type CheckpointStore, checkpointStore } from './checkpoints.js';
import type { Db, Dialect } from './db.js';
import { type FindingStore, findingStore } from './findings.js';
import { type IngestLog, ingestLog } from './ingest.js';
import { isPostgresLocation } from './location.js';
import { migrate } from './migrations.js';
import { openPostgres } from './postgres.js';
import { type SensorStore, sensorStore } from './sensors.js';
import { openSqlite } from './sqlite.js';
import { type TokenStore, tokenStore } from './tokens.js';

export { isPostgresLocation };

export interface Store {
  readonly dialect: Dialect;
  /** Schema versions this open applied (empty when the store was current). */
  readonly migrated: number[];
  findings: FindingStore;
  cases: CaseStore;
  audit: AuditLog;
  tokens: TokenStore;
  allowlist: AllowlistStore;
  sensors: SensorStore;
  /** Accepted ingest request bodies, replayed at start. */
  ingest: IngestLog;
  /** `coalmine worker`'s partition checkpoints. */
  checkpoints: CheckpointStore;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** The clock (epoch ms); tests pin it. */
  now?: () => number;
}

/** Opens (creating and migrating as needed) the store at a file path or a `postgres://` URL. */
export async function openStore(location: string, options: StoreOptions = {}): Promise<Store> {
  const now = options.now ?? Date.now;
  const db: Db = isPostgresLocation(location) ? openPostgres(location) : openSqlite(location);
  try {
    const migrated = await migrate(db, now());
    await db.run('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [
      'cursor_secret',
      randomBytes(32).toString('hex'),
    ]);
    const secret = (await db.get<{ value: string }>('SELECT value FROM store_meta WHERE key = ?', ['cursor_secret']))!
      .value;
    return {
      dialect: db.dialect,
      migrated,
      findings: findingStore(db, now, secret),
      cases: caseStore(db, now, secret),
      audit: auditLog(db, now, secret),
      tokens: tokenStore(db, now),
      allowlist: allowlistStore(db, now),
      sensors: sensorStore(db, now),
      ingest: ingestLog(db, now),
      checkpoints: checkpointStore(db, now),
      close: () => db.close(),
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

export { StoreConflictError, StoreInputError, StoreNotFoundError } from './db.js';
export { StoreSchemaError } from './migrations.js';
