/**
 * PostgreSQL backend (node-postgres): a Pool; a transaction runs on one checked-out client. Isolation is
 * PostgreSQL's default READ COMMITTED; where two writers could race the store says so in SQL instead of
 * retrying SERIALIZABLE failures: inserts are `ON CONFLICT` (the unique index decides), and every
 * read-check-write of a row (a case's state, an allowlist entry's version) is a compare-and-set
 * `UPDATE … WHERE version = ?`, whose row lock makes the second writer wait and then match nothing
 * (`StoreConflictError`). Schema migrations take a transaction-scoped advisory lock.
 */
import pg from 'pg';
import type { Db, SqlValue } from './db.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;
/** BIGINT columns hold epoch ms and counts, all far below 2^53: numbers, as SQLite gives them. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID || oid === NUMERIC_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * `?` → `$1…$n`, except inside quoted strings ('…', with '' as a quote), quoted identifiers ("…") and
 * `--` comments. One pass, no regex.
 */
export function toPostgresPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else {
      out += c === '?' ? `$${++n}` : c;
      i++;
    }
  }
  return out;
}

/** Rewritten texts, by the store's SQL text (a fixed set). */
const rewritten = new Map<string, string>();
function rewrite(sql: string): string {
  let text = rewritten.get(sql);
  if (text === undefined) {
    text = toPostgresPlaceholders(sql);
    if (rewritten.size >= 512) rewritten.clear();
    rewritten.set(sql, text);
  }
  return text;
}

type Queryable = Pick<pg.Pool, 'query'>;

function over(q: Queryable, transaction: Db['transaction'], close: Db['close']): Db {
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return (await q.query(rewrite(sql), params as SqlValue[])).rows as T[];
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []) {
      return (await q.query(rewrite(sql), params as SqlValue[])).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly SqlValue[] = []) {
      return { changes: (await q.query(rewrite(sql), params as SqlValue[])).rowCount ?? 0 };
    },
    transaction,
    close,
  };
}

export function openPostgres(url: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types });
  // an idle client's error (server restart) must not crash the process; the next query reports it
  pool.on('error', () => {});
  const transaction: Db['transaction'] = async (fn) => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const tx: Db = over(
        client,
        (inner) => inner(tx),
        async () => {
          throw new Error('close the store, not its transaction');
        },
      );
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  };
  let closed = false;
  return over(pool, transaction, async () => {
    if (closed) return;
    closed = true;
    await pool.end();
  });
}
