import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Loopback } from '../../test/support/loopback.js';
import type { CoalEvent } from '../model/event.js';
import { type ForwardOptions, TelemetryForwarder } from './forward.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'coalmine-forward-'));
  dirs.push(d);
  return join(d, 'telemetry');
}

const batchFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.ndjson.gz'));

interface Arrival {
  key: string;
  encoding: string | undefined;
  authorization: string | undefined;
  query: URLSearchParams;
  /** The pids of the batch's events, in order. */
  pids: number[];
}

/** A loopback events route: records each batch (gunzipped, parsed); answers what `status` says. */
class Receiver extends Loopback {
  readonly arrivals: Arrival[] = [];
  status: () => number = () => 202;

  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const text = gunzipSync(body).toString('utf8');
    const pids = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as CoalEvent).process?.pid ?? -1);
    this.arrivals.push({
      key: String(req.headers['idempotency-key']),
      encoding: req.headers['content-encoding'],
      authorization: req.headers.authorization,
      query: new URL(req.url ?? '/', 'http://x').searchParams,
      pids,
    });
    res.writeHead(this.status(), { 'content-type': 'application/json' });
    res.end('{}');
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/api/v1/events`;
  }

  /** Every pid received, in arrival order. */
  pids(): number[] {
    return this.arrivals.flatMap((a) => a.pids);
  }
}

function event(pid: number): CoalEvent {
  return {
    '@timestamp': new Date(1_700_000_000_000 + pid).toISOString(),
    event: { kind: 'event', category: ['process'], action: 'process-seen', dataset: 'proc.process' },
    host: { name: 'h1' },
    process: { pid, name: `p${pid}`, command_line: `/tmp/p${pid} --arg "<script>"` },
    original: {},
    coalmine: { ts: 1_700_000_000_000 + pid, format: 'proc', ref: { file: '/proc', record: `sample ${pid}` } },
  };
}

function forwarder(url: string, dir: string, over: Partial<ForwardOptions> = {}, issues: string[] = []) {
  return new TelemetryForwarder({
    url,
    spoolDir: dir,
    sensorName: 'h1',
    maxBatchEvents: 10,
    batchIntervalMs: 60_000,
    timeoutMs: 1000,
    backoff: { baseMs: 20, capMs: 100 },
    onIssue: (t) => issues.push(t),
    ...over,
  });
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

test('forward: events go as gzip NDJSON batches of at most maxBatchEvents, with the token, an id each, in order', async () => {
  const rx = new Receiver();
  await rx.up();
  const fw = forwarder(rx.url(), spoolDir(), { headers: { authorization: 'Bearer t0k' } });
  for (const pid of range(1, 25)) fw.push(event(pid));
  assert.equal(await fw.flush(5000), true);
  assert.deepEqual(
    rx.arrivals.map((a) => a.pids.length),
    [10, 10, 5],
  );
  assert.deepEqual(rx.pids(), range(1, 25));
  for (const a of rx.arrivals) {
    assert.equal(a.encoding, 'gzip');
    assert.equal(a.authorization, 'Bearer t0k');
    assert.match(a.key, /^[0-9a-f]{32}$/);
    assert.equal(a.query.get('format'), 'ndjson');
    assert.match(a.query.get('name') ?? '', /^h1\/batch-\d+$/);
  }
  assert.equal(new Set(rx.arrivals.map((a) => a.key)).size, 3, 'each batch its own key');
  assert.deepEqual(fw.stats, {
    batchesSent: 3,
    eventsSent: 25,
    batchesPending: 0,
    eventsPending: 0,
    batchesDropped: 0,
    eventsDropped: 0,
    batchesRejected: 0,
    retried: 0,
    unserializable: 0,
    heartbeatsSent: 0,
    heartbeatsFailed: 0,
  });
  await fw.close();
  await rx.down();
});

test('forward: an open batch is sealed after batchIntervalMs without more events', async () => {
  const rx = new Receiver();
  await rx.up();
  const fw = forwarder(rx.url(), spoolDir(), { batchIntervalMs: 100 });
  fw.push(event(1));
  fw.push(event(2));
  const deadline = Date.now() + 5000;
  while (rx.arrivals.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(rx.pids(), [1, 2]);
  await fw.close();
  await rx.down();
});

test('forward: the server down, then the sensor restarted, then the server up — every batch arrives once, in order', async () => {
  const rx = new Receiver();
  await rx.up();
  const port = rx.port;
  await rx.down();
  const dir = spoolDir();
  const issues: string[] = [];
  const first = forwarder(`http://127.0.0.1:${port}/api/v1/events`, dir, {}, issues);
  for (const pid of range(1, 35)) first.push(event(pid));
  assert.equal(await first.flush(300), false);
  assert.equal(await first.close(), 4);
  assert.equal(batchFiles(dir).length, 4);
  assert.ok(issues.some((t) => t.includes('did not take batch') && t.includes('retrying')));
  assert.ok(issues.some((t) => t.includes('4 unsent batch(es) (35 events)')));

  await rx.up(port);
  const second = forwarder(rx.url(), dir, {}, issues);
  for (const pid of range(36, 5)) second.push(event(pid));
  assert.equal(await second.flush(5000), true);
  assert.deepEqual(rx.pids(), range(1, 40), 'the earlier run first, then the new events, each once');
  assert.deepEqual(batchFiles(dir), []);
  await second.close();
  await rx.down();
});

test('forward: a full spool drops the oldest batches, counted and said; the newest are kept and sent', async () => {
  const rx = new Receiver();
  await rx.up();
  const port = rx.port;
  await rx.down();
  const dir = spoolDir();
  const issues: string[] = [];
  // one 10-event batch gzips to a few hundred bytes: a 2 KiB budget holds only a few
  const fw = forwarder(`http://127.0.0.1:${port}/api/v1/events`, dir, { maxSpoolBytes: 2048 }, issues);
  for (const pid of range(1, 200)) fw.push(event(pid));
  const { batchesDropped, eventsDropped, batchesPending, eventsPending } = fw.stats;
  assert.ok(batchesDropped > 0, 'some were dropped');
  assert.equal(eventsDropped + eventsPending, 200, 'every event is sent, pending or counted dropped');
  assert.equal(batchesPending, batchFiles(dir).length);
  assert.equal(issues.filter((t) => t.includes('is full')).length, 1, 'said once, not per batch');
  await fw.close();
  await rx.up(port);
  const again = forwarder(rx.url(), dir);
  assert.equal(await again.flush(5000), true);
  // the first batch was in flight when the others came (a batch being sent is never dropped)
  assert.deepEqual(
    rx.pids(),
    [...range(1, 10), ...range(211 - eventsPending, eventsPending - 10)],
    'the newest events survive, in order',
  );
  await again.close();
  await rx.down();
});

for (const status of [401, 403]) {
  test(`forward: ${status} stops sending, said once; the batches stay in the spool without the token`, async () => {
    const rx = new Receiver();
    rx.status = () => status;
    await rx.up();
    const dir = spoolDir();
    const issues: string[] = [];
    const secret = 'cm_secret_sensor_token';
    const fw = forwarder(rx.url(), dir, { headers: { authorization: `Bearer ${secret}` } }, issues);
    for (const pid of range(1, 30)) fw.push(event(pid));
    assert.equal(await fw.flush(2000), false);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rx.arrivals.length, 1, 'not retried');
    assert.equal(fw.refused, status);
    assert.equal(issues.filter((t) => t.includes(`HTTP ${status}`)).length, 1);
    assert.ok(!issues.join('\n').includes(secret));
    assert.equal(batchFiles(dir).length, 3);
    for (const f of batchFiles(dir))
      assert.ok(
        !gunzipSync(readFileSync(join(dir, f)))
          .toString()
          .includes(secret),
      );
    await fw.close();
    await rx.down();
  });
}

test('forward: a batch the server cannot read (400) is moved to rejected/ and the rest still go', async () => {
  const rx = new Receiver();
  let n = 0;
  rx.status = () => (++n === 1 ? 400 : 202);
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const fw = forwarder(rx.url(), dir, {}, issues);
  for (const pid of range(1, 20)) fw.push(event(pid));
  assert.equal(await fw.flush(5000), true);
  assert.equal(fw.stats.batchesRejected, 1);
  assert.equal(fw.stats.batchesSent, 1);
  assert.equal(batchFiles(join(dir, 'rejected')).length, 1);
  assert.ok(issues.some((t) => t.includes('HTTP 400') && t.includes('rejected')));
  await fw.close();
  await rx.down();
});

test('forward: a batch file cut short by a kill (temp never renamed) is removed, not sent', async () => {
  const rx = new Receiver();
  await rx.up();
  const dir = spoolDir();
  const fw = forwarder(rx.url(), dir);
  await fw.close();
  writeFileSync(join(dir, '000000000001-10-00000000000000000000000000000000.ndjson.gz.123.tmp'), 'torn');
  const again = forwarder(rx.url(), dir);
  assert.equal(await again.flush(1000), true);
  assert.equal(rx.arrivals.length, 0);
  assert.deepEqual(readdirSync(dir), []);
  await again.close();
  await rx.down();
});

/**
 * A real coalmine serve on a SQLite file, with a sensor token and a viewer token; `down()` stops it and
 * `up()` starts it again on the same port and store.
 */
async function realServe() {
  const { openStore } = await import('../store/index.js');
  const { createServer } = await import('../server/app.js');
  const { defaultPolicy } = await import('../model/policy.js');
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-forward-serve-'));
  dirs.push(dir);
  const store = await openStore(join(dir, 'store.db'));
  let app: ReturnType<typeof createServer> | undefined = createServer({ store, policy: defaultPolicy() });
  const base = await app.listen(0);
  const sensor = (await store.tokens.create({ name: 'web-7-sensor', role: 'sensor', actor: 'test' })).secret;
  const viewer = (await store.tokens.create({ name: 'ana', role: 'viewer', actor: 'test' })).secret;
  const down = async () => {
    await app?.close();
    app = undefined;
  };
  return {
    store,
    events: new URL('/api/v1/events', base).href,
    sensor,
    viewer,
    down,
    up: async () => {
      app = createServer({ store, policy: defaultPolicy() });
      await app.listen(Number(base.port));
    },
    close: async () => {
      await down();
      await store.close();
    },
  };
}

const IDENTITY = {
  version: '9.9.9',
  hostname: 'web-7',
  platform: 'linux',
  kernel: '6.1.0-test',
  root: false,
  hidepid: 'invisible',
};

test('forward: heartbeats reach a real serve at start, when a kind of gap comes or goes (not when only counts move), and every interval', async () => {
  const serve = await realServe();
  const issues: string[] = [];
  const fw = forwarder(
    serve.events,
    spoolDir(),
    { headers: { authorization: `Bearer ${serve.sensor}` }, heartbeat: { identity: IDENTITY, intervalMs: 60_000 } },
    issues,
  );
  assert.equal(await fw.heartbeatsSettled(5000), true);
  const first = await serve.store.sensors.get('web-7-sensor');
  assert.equal(first?.heartbeat?.version, '9.9.9');
  assert.equal(first?.host, 'web-7');
  assert.equal(first?.heartbeat?.interval_s, 60);
  assert.deepEqual(first?.heartbeat?.gaps, []);
  assert.equal(first?.cannot_see.length, 2, 'not root, and hidepid');
  assert.match(first!.cannot_see[1], /hidepid=invisible/);

  fw.noteGaps([
    { kind: 'fd_unreadable', count: 12 },
    { kind: 'containers_unnamed', count: 2 },
  ]);
  assert.equal(await fw.heartbeatsSettled(5000), true);
  const changed = await serve.store.sensors.get('web-7-sensor');
  assert.deepEqual(changed?.heartbeat?.gaps, [
    { kind: 'fd_unreadable', count: 12 },
    { kind: 'containers_unnamed', count: 2 },
  ]);
  assert.ok(changed?.cannot_see.some((s) => /container id only/.test(s)));
  assert.equal(fw.stats.heartbeatsSent, 2);

  // the same kinds with other counts: nothing new to say until the interval
  fw.noteGaps([
    { kind: 'fd_unreadable', count: 13 },
    { kind: 'containers_unnamed', count: 2 },
  ]);
  assert.equal(await fw.heartbeatsSettled(5000), true);
  assert.equal(fw.stats.heartbeatsSent, 2);
  assert.deepEqual(issues, []);
  await fw.close();

  // a short interval: heartbeats keep coming with the newest counts
  const quick = forwarder(serve.events, spoolDir(), {
    headers: { authorization: `Bearer ${serve.sensor}` },
    heartbeat: { identity: { ...IDENTITY, root: true, hidepid: undefined }, intervalMs: 100 },
  });
  quick.noteGaps([{ kind: 'vanished', count: 4 }]);
  const deadline = Date.now() + 5000;
  while (quick.stats.heartbeatsSent < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(quick.stats.heartbeatsSent >= 4, `${quick.stats.heartbeatsSent} heartbeats`);
  await quick.close();
  const latest = await serve.store.sensors.get('web-7-sensor');
  assert.equal(latest?.heartbeat?.root, true);
  assert.deepEqual(latest?.heartbeat?.gaps, [{ kind: 'vanished', count: 4 }]);
  assert.deepEqual(latest?.cannot_see, [], 'root, and races hide nothing');
  await serve.close();
});

test('forward: a token the server refuses heartbeats from (a viewer) stops them, said once at close when no batch said it; nothing is stored', async () => {
  const serve = await realServe();
  const issues: string[] = [];
  const fw = forwarder(
    serve.events,
    spoolDir(),
    { headers: { authorization: `Bearer ${serve.viewer}` }, heartbeat: { identity: IDENTITY, intervalMs: 50 } },
    issues,
  );
  assert.equal(await fw.heartbeatsSettled(5000), true);
  fw.noteGaps([{ kind: 'fd_unreadable', count: 1 }]);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(fw.stats.heartbeatsSent, 0);
  assert.equal(fw.stats.heartbeatsFailed, 1);
  // the batches say a refused token (once for both); with none sent, the close says it
  assert.deepEqual(issues, []);
  assert.deepEqual(await serve.store.sensors.list(), []);
  await fw.close();
  assert.deepEqual(issues, [
    `telemetry: ${serve.events} refused our heartbeats (HTTP 403: not a sensor token); none were sent after that`,
  ]);
  await serve.close();
});

test('forward: heartbeats need the events URL they sit beside', () => {
  assert.throws(
    () =>
      forwarder('http://127.0.0.1:9/somewhere', spoolDir(), {
        heartbeat: { identity: IDENTITY },
      }),
    /heartbeats need serve's events URL/,
  );
});

test('forward: a heartbeat serve did not take while down is tried again with the backoff, and once serve is up it says the newest gaps, once', async () => {
  const serve = await realServe();
  await serve.down();
  const issues: string[] = [];
  const fw = forwarder(
    serve.events,
    spoolDir(),
    {
      headers: { authorization: `Bearer ${serve.sensor}` },
      // an hour between heartbeats: only the retry can bring one while this test runs
      heartbeat: { identity: IDENTITY, intervalMs: 3_600_000 },
      backoff: { baseMs: 20, capMs: 60 },
    },
    issues,
  );
  try {
    const until = async (what: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(what(), JSON.stringify(fw.stats));
    };
    await until(() => fw.stats.heartbeatsFailed >= 3);
    // kinds of gap come and go while serve is down: each would send one now, but a retry is due
    fw.noteGaps([{ kind: 'fd_unreadable', count: 3 }]);
    fw.noteGaps([{ kind: 'containers_unnamed', count: 5 }]);
    assert.equal(fw.stats.heartbeatsSent, 0);
    await serve.up();
    await until(() => fw.stats.heartbeatsSent >= 1);
    const stored = await serve.store.sensors.get('web-7-sensor');
    assert.deepEqual(stored?.heartbeat?.gaps, [{ kind: 'containers_unnamed', count: 5 }], 'the newest, not the first');
    assert.ok(stored?.cannot_see.some((s) => /container id only/.test(s)));
    // nothing older was queued behind it: the next heartbeat is the interval's
    assert.equal(await fw.heartbeatsSettled(5000), true);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fw.stats.heartbeatsSent, 1);
    assert.deepEqual(issues, [], 'a down serve is said by the batches, none were sent here');
  } finally {
    await fw.close();
    await serve.close();
  }
});
