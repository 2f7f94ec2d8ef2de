/**
 * The two backends every store and ingest suite runs on, each handing out an empty store location per
 * test: numbered SQLite files in a temp dir of its own, and fresh databases on a throwaway PostgreSQL
 * (test/support/postgres.ts; skipped only on an explicit COALMINE_SKIP_PG=1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgSkipReason, startPostgres, type TestPostgres } from './postgres.js';

export interface StoreBackend {
  name: string;
  dialect: 'sqlite' | 'postgres';
  /** Starts the backend (once per suite); returns what makes an empty store's location. */
  setup: () => Promise<() => Promise<string>>;
  teardown: () => Promise<void>;
  skip?: string;
}

export function storeBackends(tmpPrefix: string): StoreBackend[] {
  let dir: string | undefined;
  let server: TestPostgres | undefined;
  return [
    {
      name: 'SQLite (a real file)',
      dialect: 'sqlite',
      setup: async () => {
        const made = mkdtempSync(join(tmpdir(), tmpPrefix));
        dir = made;
        let n = 0;
        return async () => join(made, `store-${n++}.db`);
      },
      teardown: async () => {
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    },
    {
      name: 'PostgreSQL (a real server)',
      dialect: 'postgres',
      setup: async () => {
        const started = await startPostgres();
        server = started;
        return () => started.database();
      },
      teardown: async () => server?.stop(),
      skip: pgSkipReason,
    },
  ];
}
