/**
 * Ingest over HTTP (`POST /api/v1/events`, `POST /api/v1/findings`) on a real server and SQLite store,
 * and durability: a server process SIGKILLed right after it acknowledged a body loses nothing of it.
 * Run with COALMINE_INGEST_CHILD=STORE this file is that server process instead.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Finding } from '../../src/model/finding.js';
import { defaultPolicy } from '../../src/model/policy.js';
import { createServer } from '../../src/server/app.js';
import { IngestPipeline, ingestModule } from '../../src/server/ingest.js';
import { openStore, type Store } from '../../src/store/index.js';

const KINSING = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');
const REQUESTS = ['etc/crontab', 'var/spool/cron/crontabs/redis', 'var/log/audit/audit.log', 'var/log/metrics/cpu.csv'];
const bodyOf = (rel: string) => readFileSync(join(KINSING, rel));

async function serve(location: string, maxBodyBytes?: number) {
  const store = await openStore(location);
  const pipeline = await IngestPipeline.start({ store, policy: defaultPolicy(), maxBodyBytes });
  const app = createServer({ store, policy: defaultPolicy(), modules: [ingestModule(pipeline)] });
  const url = await app.listen(0);
  return { store, pipeline, app, url };
}

if (process.env.COALMINE_INGEST_CHILD) {
  // the server under test: says each committed body's sequence as soon as accept has it
  const { pipeline, url } = await serve(process.env.COALMINE_INGEST_CHILD);
  const accept = pipeline.accept.bind(pipeline);
  pipeline.accept = async (body, meta) => {
    const r = await accept(body, meta);
    if (r.accepted) process.stdout.write(`accepted ${r.seq}\n`);
    return r;
  };
  process.stdout.write(`listening ${url}\n`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-serve-ingest-'));
  let n = 0;
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  async function tokenOf(store: Store, role: 'sensor' | 'viewer' | 'admin'): Promise<string> {
    return (await store.tokens.create({ name: `${role}-${n++}`, role, actor: 'test' })).secret;
  }

  const post = (url: URL, path: string, token: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, url), { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body });

  test('POST /api/v1/events: any format, gzip by header or magic, 202 after commit; 400 with reasons and 413 store nothing', async () => {
    const { store, pipeline, app, url } = await serve(join(dir, `s${n++}.db`), 256 * 1024);
    cleanup.push(
      () => app.close(),
      () => store.close(),
    );
    const sensor = await tokenOf(store, 'sensor');
    const viewer = await tokenOf(store, 'viewer');
    const audit = bodyOf('var/log/audit/audit.log');

    const plain = await post(url, '/api/v1/events?name=audit.log&host=web-01', sensor, audit);
    assert.equal(plain.status, 202);
    const answer = (await plain.json()) as {
      accepted: boolean;
      seq: number;
      events: number;
      format: string;
      issues: [];
    };
    assert.equal(answer.accepted, true);
    assert.equal(answer.format, 'auditd');
    assert.ok(answer.events > 0);
    assert.deepEqual(answer.issues, []);
    const gz = gzipSync(bodyOf('var/log/metrics/cpu.csv'));
    for (const headers of [{ 'content-encoding': 'gzip' }, {}] as Record<string, string>[]) {
      const r = await post(url, '/api/v1/events?format=metrics-csv', sensor, gz, headers);
      assert.equal(r.status, 202);
      assert.equal(((await r.json()) as { format: string }).format, 'metrics-csv');
    }
    const logged = await store.ingest.since(0);
    assert.equal(logged.length, 3);
    assert.equal(logged[0].sensor.startsWith('sensor-'), true);
    assert.equal(logged[0].name, 'audit.log');
    assert.equal(logged[2].format, 'metrics-csv');

    const refused: Array<[Buffer | string, Record<string, string>, string, number, RegExp]> = [
      ['', {}, '', 400, /INPUT_EMPTY/],
      ['\u0000 garbage \u001b[2J\n'.repeat(20), {}, '', 400, /SOURCE_UNKNOWN_FORMAT/],
      ['{"broken\n', {}, '?format=ndjson', 400, /NDJSON_BAD_JSON/],
      [audit, { 'content-encoding': 'gzip' }, '', 400, /not gzip/],
      [audit, { 'content-encoding': 'br' }, '', 415, /gzip or none/],
      [Buffer.alloc(300 * 1024, 0x41), {}, '', 413, /at most 262144|over 262144/],
      [audit, {}, '?mtime=yesterday', 400, /mtime must be/],
      [audit, {}, '?mtime=2199-01-01T00:00:00Z', 400, /mtime must be/],
      [audit, {}, '?mtime=1&mtime=2', 400, /more than once/],
    ];
    for (const [body, headers, query, status, reason] of refused) {
      const r = await post(url, `/api/v1/events${query}`, sensor, body, headers);
      assert.equal(r.status, status, `${status} ${reason}`);
      assert.match(await r.text(), reason);
    }
    // streamed with no declared length, the bound holds as it arrives
    const chunked = await fetch(new URL('/api/v1/events', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${sensor}` },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(64 * 1024).fill(0x42));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal((await post(url, '/api/v1/events', viewer, audit)).status, 403);
    assert.equal((await post(url, '/api/v1/events', 'cm_nope', audit)).status, 401);
    assert.equal((await store.ingest.since(0)).length, 3, 'nothing refused was stored');
    await pipeline.flush();
  });

  test('POST /api/v1/findings: a watch --webhook delivery is stored once; the same delivery again is a 200 duplicate', async () => {
    const { store, app, url } = await serve(join(dir, `s${n++}.db`));
    cleanup.push(
      () => app.close(),
      () => store.close(),
    );
    const sensor = await tokenOf(store, 'sensor');
    // a finding as watch reports it: from the detector that reads the example
    const reported: Finding[] = [];
    const { LiveDetector } = await import('../../src/run/live.js');
    const live = await LiveDetector.create({ policy: defaultPolicy(), onFinding: (f) => reported.push(f) });
    for (const rel of REQUESTS) await live.ingest(bodyOf(rel), { name: rel, host: 'web-01' });
    live.end();
    const finding = reported[reported.length - 1];
    const delivery = JSON.stringify({ dedupe_key: `${finding.id}#1`, ...finding, revision: 1 });
    const headers = { 'content-type': 'application/json', 'idempotency-key': `${finding.id}#1` };
    const first = await post(url, '/api/v1/findings', sensor, delivery, headers);
    assert.equal(first.status, 201);
    assert.deepEqual(await first.json(), { outcome: 'stored', dedupe_key: `${finding.id}#1` });
    const again = await post(url, '/api/v1/findings', sensor, delivery, headers);
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { outcome: string }).outcome, 'duplicate');
    assert.equal((await store.findings.revisions(finding.id)).length, 1);
    const cases = (await store.cases.list()).items;
    assert.deepEqual(
      cases.map((c) => c.findings),
      [[finding.id]],
    );
    // another body under the same key is refused; a key that is not id#revision is a 400
    const changed = JSON.stringify({ ...finding, severity: 'low', revision: 1 });
    assert.equal((await post(url, '/api/v1/findings', sensor, changed, headers)).status, 409);
    const wrongKey = await post(url, '/api/v1/findings', sensor, delivery, { ...headers, 'idempotency-key': 'x#9' });
    assert.equal(wrongKey.status, 400);
    assert.equal((await post(url, '/api/v1/findings', sensor, '{"id":', headers)).status, 400);
    assert.equal((await store.findings.revisions(finding.id)).length, 1);
  });

  /** The child server, and each sequence it said it committed. */
  function child(location: string) {
    const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, COALMINE_INGEST_CHILD: location },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const waiters: Array<() => void> = [];
    proc.stdout?.on('data', (d) => {
      out += d;
      for (const w of waiters.splice(0)) w();
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`child exited: ${out}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    return { proc, exited, waitFor };
  }

  /** Each finding's newest content and the store's counts, as compared between runs. */
  async function outcome(store: Store) {
    const findings = (await store.findings.list()).items;
    const revisions = await Promise.all(findings.map((f) => store.findings.revisions(f.finding.id)));
    for (const r of revisions) {
      const bodies = r.map((x) => JSON.stringify(x.finding));
      assert.equal(new Set(bodies).size, bodies.length, 'no body stored twice under one finding');
    }
    return {
      findings: findings.map((f) => ({
        id: f.finding.id,
        severity: f.finding.severity,
        legs: [...f.finding.legs].sort(),
      })),
      cases: (await store.cases.list()).items.map((c) => c.findings),
    };
  }

  test('durability: SIGKILL right after a body was acknowledged; after restart every acked body and its findings are there, once', async () => {
    for (let killAfter = 2; killAfter < REQUESTS.length; killAfter++) {
      const location = join(dir, `kill-${killAfter}.db`);
      const server = child(location);
      const [, base] = await server.waitFor(/listening (\S+)\n/);
      const setup = await openStore(location);
      const token = await tokenOf(setup, 'sensor');
      await setup.close();
      const acked: number[] = [];
      for (let i = 0; i <= killAfter; i++) {
        const sent = post(
          new URL(base),
          `/api/v1/events?name=${encodeURIComponent(REQUESTS[i])}&host=web-01`,
          token,
          bodyOf(REQUESTS[i]),
        );
        const [, seq] = await server.waitFor(new RegExp(`accepted (${acked.length + 1})\\n`));
        acked.push(Number(seq));
        if (i === killAfter) {
          server.proc.kill('SIGKILL');
          await sent.catch(() => undefined);
        } else assert.equal((await sent).status, 202);
      }
      await server.exited;

      // restart: the log is replayed; then what a run without the crash stored must be there, once
      const store = await openStore(location);
      const restarted = await IngestPipeline.start({ store, policy: defaultPolicy(), tickMs: 0 });
      assert.deepEqual(
        (await store.ingest.since(0)).map((e) => e.seq),
        acked,
      );
      const recovered = await outcome(store);
      await restarted.close();
      // replayed once more: nothing changes
      const twice = await IngestPipeline.start({ store, policy: defaultPolicy(), tickMs: 0 });
      assert.equal(twice.stats.findingsStored, 0);
      assert.deepEqual(await outcome(store), recovered);
      await twice.close();
      await store.close();

      const reference = await openStore(join(dir, `reference-${killAfter}.db`));
      const clean = await IngestPipeline.start({ store: reference, policy: defaultPolicy(), tickMs: 0 });
      for (const rel of REQUESTS.slice(0, killAfter + 1))
        await clean.accept(bodyOf(rel), { sensor: 's', name: rel, host: 'web-01' });
      clean.tick();
      await clean.flush();
      const expected = await outcome(reference);
      await clean.close();
      await reference.close();
      assert.ok(expected.findings.length > 0);
      assert.deepEqual(recovered, expected, `killed after request ${killAfter}`);
    }
  });
}
