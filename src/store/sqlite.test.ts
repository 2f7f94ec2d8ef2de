/**
 * SQLite's promises: the connection is WAL with synchronous=FULL and foreign keys, transactions opened
 * across awaits do not interleave, and a write acknowledged as committed survives the process being
 * killed (SIGKILL) right after.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openStore } from './index.js';
import { toPostgresPlaceholders } from './postgres.js';
import { openSqlite } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the connection is WAL, synchronous=FULL, with foreign keys enforced', async () => {
  const db = openSqlite(join(dir, 'pragmas.db'));
  assert.deepEqual(await db.get('PRAGMA journal_mode'), { journal_mode: 'wal' });
  assert.deepEqual(await db.get('PRAGMA synchronous'), { synchronous: 2 });
  assert.deepEqual(await db.get('PRAGMA foreign_keys'), { foreign_keys: 1 });
  await db.close();
});

test('transactions spanning awaits run one after another, and a statement outside waits for them', async () => {
  const db = openSqlite(join(dir, 'serial.db'));
  await db.run('CREATE TABLE counter (n INTEGER NOT NULL)');
  await db.run('INSERT INTO counter (n) VALUES (0)');
  // read, yield, write: interleaved on one connection this would lose increments (or nest BEGIN)
  const bump = () =>
    db.transaction(async (tx) => {
      const { n } = (await tx.get<{ n: number }>('SELECT n FROM counter'))!;
      await new Promise((r) => setTimeout(r, 2));
      await tx.run('UPDATE counter SET n = ?', [n + 1]);
    });
  // queued in this order: two bumps, one that fails, a plain read, two more bumps
  const first = [bump(), bump()];
  const failing = db.transaction(async (tx) => {
    await tx.run('UPDATE counter SET n = n + 100');
    throw new Error('rolled back');
  });
  const outside = db.get<{ n: number }>('SELECT n FROM counter');
  await Promise.all([...first, assert.rejects(failing, /rolled back/), bump(), bump()]);
  assert.equal((await outside)!.n, 2, 'the plain read ran after the two transactions queued before it');
  assert.equal((await db.get<{ n: number }>('SELECT n FROM counter'))!.n, 4);
  await db.close();
});

test('a write reported committed is there after the writer is killed with SIGKILL', async () => {
  const path = join(dir, 'durable.db');
  const index = pathToFileURL(join(import.meta.dirname, 'index.ts')).href;
  // the child writes, says so, then keeps writing until killed mid-stream
  const script = `
    const { openStore } = await import(${JSON.stringify(index)});
    const store = await openStore(${JSON.stringify(path)});
    const f = (i) => ({ id: 'k' + i, analytic: 'AN0742', title: 't', severity: 'high', host: 'h',
      first_seen: '2026-01-01T00:00:00Z', last_seen: '2026-01-01T00:00:00Z' });
    for (let i = 0; i < 20; i++) await store.findings.ingest({ finding: f(i), revision: 1 });
    await store.sensors.seen({ id: 'sensor-1', host: 'h', version: '1' });
    process.stdout.write('committed\\n');
    for (let i = 20; ; i++) await store.findings.ingest({ finding: f(i), revision: 1 });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('committed\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`the writer exited before committing: ${err}`)));
  });
  // let it get well into the next writes, then kill it without warning
  await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const store = await openStore(path);
  for (let i = 0; i < 20; i++) assert.ok(await store.findings.get(`k${i}`), `k${i} survived`);
  assert.equal((await store.sensors.get('sensor-1'))?.version, '1');
  // whatever the kill interrupted is either whole or absent: every head has its revision
  const page = await store.findings.list({}, { limit: 500 });
  assert.ok(page.items.length >= 20);
  await store.close();
});

test('postgres placeholders: ? becomes $n outside quoted strings, identifiers and comments', () => {
  assert.equal(
    toPostgresPlaceholders(`SELECT '?', "a?b", 'it''s ?' FROM t WHERE a = ? AND b = ? -- why?\nAND c = ?`),
    `SELECT '?', "a?b", 'it''s ?' FROM t WHERE a = $1 AND b = $2 -- why?\nAND c = $3`,
  );
  assert.equal(toPostgresPlaceholders('INSERT INTO t VALUES (?, ?, ?)'), 'INSERT INTO t VALUES ($1, $2, $3)');
  assert.equal(toPostgresPlaceholders("SELECT 'unterminated ?"), "SELECT 'unterminated ?");
});
