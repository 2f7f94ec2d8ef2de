/**
 * SQLite backend (better-sqlite3): one connection to a real file, WAL, `synchronous=FULL` (a commit is
 * on disk before the call returns, so an answer sent after it survives a power cut, not only a killed
 * process), a busy timeout for other processes, foreign keys on. better-sqlite3 is synchronous, so a
 * statement never interleaves with another; a transaction spans awaits, though, so transactions and the
 * statements outside them take one async lock: nothing runs on the connection while a transaction is
 * open except that transaction's own statements (BEGIN IMMEDIATE takes the write lock up front, so two
 * processes on one file wait on the busy timeout instead of failing at their first write).
 */
import Database from 'better-sqlite3';
import { AsyncLock } from '../util/async-lock.js';
import type { Db, SqlValue } from './db.js';

const BUSY_TIMEOUT_MS = 5000;
/** Prepared statements kept; the store's SQL is a fixed set of texts, so this bounds nothing real. */
const MAX_STATEMENTS = 512;

export function openSqlite(path: string): Db {
  const conn = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = FULL');
  conn.pragma('foreign_keys = ON');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = conn.prepare(sql);
      if (statements.size >= MAX_STATEMENTS) statements.clear();
      statements.set(sql, stmt);
    }
    return stmt;
  };
  const lock = new AsyncLock();
  let closed = false;

  // the statements themselves, for use while the lock is held
  const direct: Db = {
    dialect: 'sqlite',
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return prepare(sql).all(...params) as T[];
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []) {
      return prepare(sql).get(...params) as T | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return { changes: prepare(sql).run(...params).changes };
    },
    // a transaction inside a transaction joins it
    transaction: (fn) => fn(direct),
    close: async () => {
      throw new Error('close the store, not its transaction');
    },
  };

  return {
    dialect: 'sqlite',
    all: (sql, params) => lock.run(() => direct.all(sql, params)),
    get: (sql, params) => lock.run(() => direct.get(sql, params)),
    run: (sql, params) => lock.run(() => direct.run(sql, params)),
    transaction: (fn) =>
      lock.run(async () => {
        conn.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          conn.exec('COMMIT');
          return result;
        } catch (err) {
          if (conn.inTransaction) conn.exec('ROLLBACK');
          throw err;
        }
      }),
    close: () =>
      lock.run(async () => {
        if (closed) return;
        closed = true;
        conn.close();
      }),
  };
}
