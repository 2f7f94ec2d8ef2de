/**
 * A real PostgreSQL for tests: `COALMINE_TEST_PG_URL` (an admin URL, e.g. CI's service) when set, else a
 * throwaway cluster of this test file's own (`initdb` into a temp dir, started by `pg_ctl` on a free
 * loopback port, as the `postgres` OS user when we are root, since PostgreSQL refuses to run as root).
 * Each call of `startPostgres()` gives a fresh database and a `stop()` that drops it (and stops the
 * cluster it started). When PostgreSQL cannot be found or started this throws with the reason, so the
 * suite fails rather than skipping; only `COALMINE_SKIP_PG=1` skips it, on purpose (`pgSkipReason`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** A URL of the fresh database made at start. */
  url: string;
  /** Another fresh database on the same server (for a test that needs an empty store); dropped by `stop`. */
  database: () => Promise<string>;
  /**
   * Restarts the server (`pg_ctl restart -m fast -w`: every connection is cut, the same port after), for
   * a test of what survives it; only a cluster this file started (a COALMINE_TEST_PG_URL server is not ours).
   */
  restart: () => Promise<void>;
  /** Drops every database made and stops the cluster if we started it. */
  stop: () => Promise<void>;
}

/** Why the PostgreSQL tests are skipped, or undefined: only an explicit `COALMINE_SKIP_PG=1` skips them. */
export const pgSkipReason: string | undefined =
  process.env.COALMINE_SKIP_PG === '1' ? 'COALMINE_SKIP_PG=1: PostgreSQL tests skipped on request' : undefined;

function pgBinDir(): string {
  // Debian keeps the server's programs out of PATH, under /usr/lib/postgresql/VERSION/bin
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return dirname(which.stdout.trim());
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      'PostgreSQL not found: no initdb on PATH or under /usr/lib/postgresql (apt-get install postgresql, or set COALMINE_TEST_PG_URL; COALMINE_SKIP_PG=1 skips these tests)',
    );
  return join(root, versions[0], 'bin');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Cluster {
  adminUrl: string;
  restart: () => Promise<void>;
  stop: () => void;
}

/** The uid/gid to run PostgreSQL as: ourselves, or `postgres` when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error('running as root and there is no postgres OS user to run PostgreSQL as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function startCluster(): Promise<Cluster> {
  const bin = pgBinDir();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(join(bin, cmd), args, { encoding: 'utf8', cwd: dir, ...user, timeout: 120_000 });
    if (r.status !== 0) {
      const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(
        `PostgreSQL ${cmd} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.slice(-2000)}${serverLog}`,
      );
    }
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      // fsync off: a throwaway cluster; the durability the store promises is SQLite's, tested apart
      const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c full_page_writes=off`;
      run('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', opts]);
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        spawnSync(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w'], { cwd: dir, ...user });
        rmSync(dir, { recursive: true, force: true });
      };
      // not spawnSync: the test's own clients go on (and see the outage) while the server restarts
      const restart = () =>
        new Promise<void>((resolve, reject) => {
          const args = ['restart', '-D', data, '-l', log, '-m', 'fast', '-w', '-t', '60'];
          const child = spawn(join(bin, 'pg_ctl'), args, { cwd: dir, ...user, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d) => {
            stderr += d;
          });
          child.once('error', reject);
          child.once('exit', (code) => {
            if (code === 0) return resolve();
            const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
            reject(new Error(`PostgreSQL pg_ctl restart failed (exit ${code}): ${stderr.slice(-2000)}${serverLog}`));
          });
        });
      // a test process that dies without its after() hook must not leave a server behind
      process.once('exit', stop);
      return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, restart, stop };
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/** A fresh database on `COALMINE_TEST_PG_URL`'s server or on a cluster of our own; throws with the reason when impossible. */
export async function startPostgres(): Promise<TestPostgres> {
  const given = process.env.COALMINE_TEST_PG_URL;
  const cluster: Cluster = given
    ? {
        adminUrl: given,
        restart: () =>
          Promise.reject(
            new Error('COALMINE_TEST_PG_URL names a server this test did not start: it cannot restart it'),
          ),
        stop: () => {},
      }
    : await startCluster();
  const made: string[] = [];
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: cluster.adminUrl });
    try {
      await client.connect();
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  const database = async (): Promise<string> => {
    const name = `coalmine_test_${randomBytes(6).toString('hex')}`;
    try {
      // the name is ours (hex), never input: identifiers cannot be bound parameters
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
    } catch (err) {
      throw new Error(`PostgreSQL at ${cluster.adminUrl.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`);
    }
    made.push(name);
    const url = new URL(cluster.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  let url: string;
  try {
    url = await database();
  } catch (err) {
    cluster.stop();
    throw err;
  }
  return {
    url,
    database,
    restart: cluster.restart,
    stop: async () => {
      try {
        await admin(async (c) => {
          for (const name of made.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      } finally {
        cluster.stop();
      }
    },
  };
}
