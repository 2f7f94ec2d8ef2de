import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Loopback } from '../../test/support/loopback.js';
import type { Finding } from '../model/finding.js';
import { RevisionLedger } from './revisions.js';
import { findingKey, spoolFinding, WebhookDelivery, type WebhookOptions } from './webhook.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'coalmine-webhook-'));
  dirs.push(d);
  return join(d, 'spool');
}

function spooled(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.json'));
}

interface Arrival {
  key: string;
  header: string | undefined;
  body: Record<string, unknown>;
  status: number;
}

/** A loopback receiver that dedupes by key and also records raw arrivals. */
class Receiver extends Loopback {
  readonly arrivals: Arrival[] = [];
  readonly accepted = new Map<string, number>();
  /**
   * Decides the reply to each arrival: a status; undefined = never answer (hung); 'reset' = drop the
   * connection; 'trickle' = the status line one byte every 200 ms (slow headers, never done in time).
   */
  respond: (key: string, nth: number) => number | undefined | 'reset' | 'trickle' = () => 200;
  private readonly hung: http.ServerResponse[] = [];
  private readonly trickles: NodeJS.Timeout[] = [];

  protected handle(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer): void {
    const body = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    const key = String(body.dedupe_key);
    const nth = this.arrivals.filter((a) => a.key === key).length + 1;
    const reply = this.respond(key, nth);
    const header = req.headers['idempotency-key'];
    const status = typeof reply === 'number' ? reply : undefined;
    this.arrivals.push({
      key,
      header: typeof header === 'string' ? header : undefined,
      body,
      status: status ?? 0,
    });
    if (reply === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (reply === 'trickle') {
      const text = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
      let at = 0;
      const t = setInterval(() => {
        if (at >= text.length || req.socket.destroyed) return clearInterval(t);
        req.socket.write(text.subarray(at, ++at));
      }, 200);
      this.trickles.push(t);
      this.hung.push(res);
      return;
    }
    if (status === undefined) {
      this.hung.push(res);
      return;
    }
    if (status >= 200 && status < 300) this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end('{}');
  }

  override async down(): Promise<void> {
    for (const t of this.trickles.splice(0)) clearInterval(t);
    for (const r of this.hung.splice(0)) r.destroy();
    await super.down();
  }

  url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}

function delivery(url: string, dir: string, over: Partial<WebhookOptions> = {}, issues: string[] = []) {
  return new WebhookDelivery({
    url,
    spoolDir: dir,
    timeoutMs: 1000,
    maxAttempts: 4,
    backoff: { baseMs: 20, capMs: 150, roundMs: 150 },
    onIssue: (t) => issues.push(t),
    ...over,
  });
}

function item(i: number, revision = 1) {
  const id = `cm-${String(i).padStart(4, '0')}`;
  return { key: findingKey(id, revision), body: { id, revision, severity: 'high' } };
}

test('webhook: rejects non-http schemes and never prints URL credentials', () => {
  assert.throws(() => new WebhookDelivery({ url: 'file:///etc/passwd', spoolDir: spoolDir() }), /only http/);
  assert.throws(() => new WebhookDelivery({ url: 'ftp://x/y', spoolDir: spoolDir() }), /only http/);
  assert.throws(() => new WebhookDelivery({ url: 'not a url', spoolDir: spoolDir() }), /not a valid URL/);
});

test('webhook: receiver up — each item arrives once with idempotency-key and dedupe_key', async () => {
  const rx = new Receiver();
  await rx.up();
  const dir = spoolDir();
  const wh = delivery(rx.url(), dir);
  for (let i = 0; i < 5; i++) assert.equal(await wh.enqueue(item(i)), 'spooled');
  assert.equal(await wh.flush(5000), true);
  // Already delivered this run: not sent again.
  assert.equal(await wh.enqueue(item(0)), 'duplicate');
  await wh.flush(1000);
  assert.equal(rx.arrivals.length, 5);
  for (const a of rx.arrivals) {
    assert.equal(a.header, a.key);
    assert.equal(a.body.dedupe_key, a.key);
    assert.equal(a.body.severity, 'high');
  }
  assert.deepEqual(
    rx.arrivals.map((a) => a.key),
    [0, 1, 2, 3, 4].map((i) => item(i).key),
  );
  assert.equal(wh.stats.delivered, 5);
  assert.equal(wh.stats.pending, 0);
  assert.equal(wh.stats.spoolBytes, 0);
  assert.equal(wh.stats.duplicates, 1);
  assert.deepEqual(spooled(dir), []);
  assert.equal(await wh.close(), 0);
  await rx.down();
});

test('webhook: basic auth from URL credentials is sent, credentials never reported', async () => {
  let auth: string | undefined;
  const server = http.createServer((req, res) => {
    auth = req.headers.authorization;
    req.resume();
    req.on('end', () => {
      res.writeHead(503);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const issues: string[] = [];
  const wh = delivery(`http://alice:s3cret@127.0.0.1:${port}/hook?token=t0ken`, spoolDir(), {}, issues);
  await wh.enqueue(item(1));
  await new Promise((r) => setTimeout(r, 200));
  await wh.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(auth, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  assert.ok(issues.length > 0);
  for (const t of issues) {
    assert.doesNotMatch(t, /s3cret|alice|t0ken/);
  }
});

test('webhook: receiver down while 20 items are enqueued, then up on the same port — each arrives exactly once', async () => {
  const rx = new Receiver();
  const port = await rx.up();
  await rx.down();
  const dir = spoolDir();
  const issues: string[] = [];
  const wh = delivery(`http://127.0.0.1:${port}/hook`, dir, {}, issues);
  for (let i = 0; i < 20; i++) assert.equal(await wh.enqueue(item(i)), 'spooled');
  assert.equal(spooled(dir).length, 20);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(rx.arrivals.length, 0);
  assert.ok(wh.stats.retried > 0);
  assert.equal(wh.stats.pending, 20);
  await rx.up(port);
  assert.equal(await wh.flush(5000), true);
  assert.equal(rx.arrivals.length, 20);
  for (let i = 0; i < 20; i++) assert.equal(rx.accepted.get(item(i).key), 1);
  assert.deepEqual(
    rx.arrivals.map((a) => a.key),
    Array.from({ length: 20 }, (_, i) => item(i).key),
    'spool order',
  );
  assert.deepEqual(spooled(dir), []);
  assert.equal(wh.stats.spoolBytes, 0);
  assert.ok(issues.some((t) => /did not take cm-0000#1 \(ECONNREFUSED\); \d+ item\(s\) kept in .*, retrying/.test(t)));
  assert.ok(issues.some((t) => /takes items again/.test(t)));
  await wh.close();
  await rx.down();
});

test('webhook: 500 a few times then 200 — retried, accepted once per key, extra arrivals only after failures', async () => {
  const rx = new Receiver();
  rx.respond = (_key, nth) => (nth <= 3 ? 500 : 200);
  await rx.up();
  const dir = spoolDir();
  const wh = delivery(rx.url(), dir);
  for (let i = 0; i < 4; i++) await wh.enqueue(item(i));
  await wh.enqueue(item(0, 2)); // the same finding's next revision is its own key
  assert.equal(await wh.flush(8000), true);
  const keys = [0, 1, 2, 3].map((i) => item(i).key).concat(item(0, 2).key);
  for (const key of keys) {
    assert.equal(rx.accepted.get(key), 1, key);
    const raw = rx.arrivals.filter((a) => a.key === key);
    assert.deepEqual(
      raw.map((a) => a.status),
      [500, 500, 500, 200],
      `${key}: raw arrivals are retries after failures, then one success`,
    );
  }
  assert.equal(wh.stats.delivered, 5);
  assert.equal(wh.stats.retried, 15);
  assert.deepEqual(spooled(dir), []);
  await wh.close();
  await rx.down();
});

test('webhook: restart — close() with the receiver down leaves the spool; a new delivery replays it in order', async () => {
  const rx = new Receiver();
  const port = await rx.up();
  await rx.down();
  const dir = spoolDir();
  const issues: string[] = [];
  const first = delivery(`http://127.0.0.1:${port}/hook`, dir, {}, issues);
  for (let i = 0; i < 6; i++) await first.enqueue(item(i));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await first.close(), 6);
  assert.ok(issues.some((t) => t.includes('6 undelivered') && t.includes(dir)));
  assert.equal(spooled(dir).length, 6);
  assert.equal(await first.enqueue(item(6)), 'spooled', 'after close it still spools');
  assert.equal(spooled(dir).length, 7);

  await rx.up(port);
  const second = delivery(`http://127.0.0.1:${port}/hook`, dir, {}, issues);
  assert.equal(second.stats.pending, 7);
  assert.ok(issues.some((t) => /replaying 7/.test(t)));
  await second.enqueue(item(7));
  assert.equal(await second.flush(5000), true);
  assert.deepEqual(
    rx.arrivals.map((a) => a.key),
    Array.from({ length: 8 }, (_, i) => item(i).key),
  );
  for (const [, n] of rx.accepted) assert.equal(n, 1);
  assert.deepEqual(spooled(dir), []);
  await second.close();
  await rx.down();
});

test('webhook: 400 moves the item to rejected/ and reports it; later items still go', async () => {
  const rx = new Receiver();
  rx.respond = (key) => (key === item(1).key ? 400 : 200);
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const wh = delivery(rx.url(), dir, {}, issues);
  for (let i = 0; i < 3; i++) await wh.enqueue(item(i));
  assert.equal(await wh.flush(5000), true);
  assert.equal(rx.arrivals.filter((a) => a.key === item(1).key).length, 1, 'not retried');
  assert.equal(rx.accepted.size, 2);
  assert.equal(wh.stats.rejected, 1);
  assert.equal(wh.stats.delivered, 2);
  assert.equal(readdirSync(join(dir, 'rejected')).length, 1);
  assert.deepEqual(spooled(dir), []);
  assert.ok(issues.some((t) => t.includes('HTTP 400') && t.includes(item(1).key)));
  await wh.close();
  await rx.down();
});

for (const status of [401, 403]) {
  test(`webhook: ${status} stops delivery once, said once; the items stay in the spool (the token never in it) and go with a good token`, async () => {
    const rx = new Receiver();
    rx.respond = () => status;
    await rx.up();
    const dir = spoolDir();
    const issues: string[] = [];
    const secret = 'cm_sensor_secret_token_value';
    const wh = delivery(rx.url(), dir, { headers: { authorization: `Bearer ${secret}` } }, issues);
    for (let i = 0; i < 3; i++) await wh.enqueue(item(i));
    assert.equal(await wh.flush(3000), false, 'flush returns once delivery stopped, the items undelivered');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.arrivals.length, 1, 'one attempt, not retried');
    assert.equal(wh.refused, status);
    assert.equal(issues.filter((t) => t.includes(`HTTP ${status}`)).length, 1, issues.join('\n'));
    assert.ok(!issues.join('\n').includes(secret), 'the token is never reported');
    assert.equal(spooled(dir).length, 3);
    for (const name of spooled(dir)) assert.ok(!readFileSync(join(dir, name), 'utf8').includes(secret));
    await wh.close();
    rx.respond = () => 200;
    const again = delivery(rx.url(), dir, { headers: { authorization: 'Bearer good' } });
    assert.equal(await again.flush(5000), true);
    assert.equal(rx.accepted.size, 3);
    await again.close();
    await rx.down();
  });
}

test('webhook: a hung receiver hits the timeout and the item is retried', async () => {
  const rx = new Receiver();
  rx.respond = (_key, nth) => (nth === 1 ? undefined : 200);
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const wh = delivery(rx.url(), dir, { timeoutMs: 300 }, issues);
  await wh.enqueue(item(1));
  assert.equal(await wh.flush(5000), true);
  assert.equal(rx.arrivals.length, 2);
  assert.equal(rx.accepted.get(item(1).key), 1);
  assert.equal(wh.stats.retried, 1);
  assert.ok(issues.some((t) => /no answer in 300 ms/.test(t)));
  await wh.close();
  await rx.down();
});

test('webhook: a full spool refuses with a counted, reported error', async () => {
  const rx = new Receiver();
  const port = await rx.up();
  await rx.down();
  const dir = spoolDir();
  const issues: string[] = [];
  const wh = delivery(`http://127.0.0.1:${port}/hook`, dir, { maxSpoolBytes: 400 }, issues);
  const results = [];
  for (let i = 0; i < 10; i++) results.push(await wh.enqueue(item(i)));
  assert.ok(results.includes('spooled'));
  assert.ok(results.includes('refused'));
  const refused = results.filter((r) => r === 'refused').length;
  assert.equal(wh.stats.refused, refused);
  assert.equal(issues.filter((t) => /is full/.test(t)).length, refused);
  assert.ok(wh.stats.spoolBytes <= 400);
  assert.equal(spooled(dir).length, results.filter((r) => r === 'spooled').length);
  assert.equal(await wh.flush(50), false);
  await wh.close();
  assert.ok(existsSync(dir));
});

test('webhook: an item the receiver keeps answering 500 goes behind the others instead of holding them back', async () => {
  const rx = new Receiver();
  rx.respond = (key) => (key === item(0).key ? 500 : 200);
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const wh = delivery(rx.url(), dir, {}, issues);
  for (let i = 0; i < 3; i++) await wh.enqueue(item(i));
  const deadline = Date.now() + 5000;
  while ((rx.accepted.size < 2 || spooled(dir).length > 1) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([...rx.accepted.keys()].sort(), [item(1).key, item(2).key].sort(), JSON.stringify(issues));
  // the refused one is still kept for later, never dropped
  assert.equal(spooled(dir).length, 1);
  assert.ok(issues.some((t) => t.includes(`${item(0).key} moved behind`)));
  await wh.close();
  await rx.down();
});

test('webhook: rejected/ keeps the newest maxRejected items and says it deleted the rest', async () => {
  const rx = new Receiver();
  rx.respond = () => 400;
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const wh = delivery(rx.url(), dir, { maxRejected: 2 }, issues);
  for (let i = 0; i < 5; i++) await wh.enqueue(item(i));
  assert.equal(await wh.flush(5000), true);
  assert.equal(wh.stats.rejected, 5);
  assert.equal(readdirSync(join(dir, 'rejected')).length, 2);
  assert.ok(issues.some((t) => /deleted the 1 oldest item\(s\) in .*rejected \(it keeps 2\)/.test(t)));
  await wh.close();
  await rx.down();
});

for (const misbehaviour of ['hang', 'reset', 'trickle'] as const) {
  test(`webhook: a receiver that keeps ${misbehaviour === 'hang' ? 'hanging' : misbehaviour === 'reset' ? 'resetting the connection' : 'trickling its headers'} on one item does not hold back the others; that item is kept, not dropped`, async () => {
    const rx = new Receiver();
    rx.respond = (key) => (key === item(0).key ? (misbehaviour === 'hang' ? undefined : misbehaviour) : 200);
    await rx.up();
    const dir = spoolDir();
    const issues: string[] = [];
    const wh = delivery(rx.url(), dir, { timeoutMs: 300 }, issues);
    try {
      for (let i = 0; i < 4; i++) await wh.enqueue(item(i));
      const deadline = Date.now() + 8000;
      // the receiver counts a request before our side has read the answer and deleted its spool file
      while ((rx.accepted.size < 3 || spooled(dir).length > 1) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        [...rx.accepted.keys()].sort(),
        [1, 2, 3].map((i) => item(i).key),
        JSON.stringify(issues, null, 1),
      );
      assert.equal(spooled(dir).length, 1, 'the misbehaving one is still in the spool');
      assert.ok(issues.some((t) => t.includes(`${item(0).key} moved behind`)));
    } finally {
      await wh.close();
      await rx.down();
    }
  });
}

test('webhook: an item moved behind the others stays behind them after a restart (its spool file carries the new order)', async () => {
  const rx = new Receiver();
  rx.respond = (key) => (key === item(0).key ? undefined : 503);
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const first = delivery(rx.url(), dir, { timeoutMs: 200 }, issues);
  try {
    for (let i = 0; i < 3; i++) await first.enqueue(item(i));
    const deadline = Date.now() + 8000;
    while (!issues.some((t) => t.includes(`${item(0).key} moved behind`)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
  } finally {
    await first.close();
    await rx.down();
  }
  const up = new Receiver();
  await up.up();
  const second = delivery(up.url(), dir, {}, issues);
  try {
    assert.equal(await second.flush(5000), true);
    assert.deepEqual(
      up.arrivals.map((a) => a.key),
      [1, 2, 0].map((i) => item(i).key),
    );
  } finally {
    await second.close();
    await up.down();
  }
});

function liveFinding(severity: Finding['severity'], lastSeen: string): Finding {
  return {
    id: 'cm-0123456789abcdef',
    analytic: 'AN0742',
    title: 'Linux host h1: miner',
    attack: ['T1496.001'],
    severity,
    confidence: 0.8,
    entity: 'process:h1:4242',
    related: [],
    host: 'h1',
    first_seen: '2026-12-01T10:00:00.000Z',
    last_seen: lastSeen,
    legs: severity === 'high' ? ['process', 'reach', 'resource'] : ['process', 'reach'],
    summary: '',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: {},
    processes: [],
    usage: { core_hours: 0, basis: '', series: [] },
  };
}

test('webhook: restarted watches report the same finding again (their own count starts at 1) — each body gets its own key, none is dropped as a duplicate, no key carries two bodies', async () => {
  const rx = new Receiver();
  const port = await rx.up();
  await rx.down();
  const dir = spoolDir();
  // three runs while the receiver is down, each killed after reporting (close() stands in: the spool stays)
  const bodies = [
    liveFinding('medium', '2026-12-01T10:00:05.000Z'),
    liveFinding('medium', '2026-12-01T10:01:05.000Z'),
    liveFinding('high', '2026-12-01T10:01:09.000Z'),
  ];
  const keys: string[] = [];
  for (const f of bodies) {
    const wh = delivery(`http://127.0.0.1:${port}/hook`, dir);
    const ledger = await RevisionLedger.open(dir);
    const { revision, spooled } = spoolFinding(wh, ledger, f);
    assert.equal(await spooled, 'spooled', `${f.severity} ${f.last_seen}`);
    keys.push(findingKey(f.id, revision));
    ledger.close();
    await wh.close();
  }
  assert.deepEqual(
    keys,
    [1, 2, 3].map((r) => findingKey('cm-0123456789abcdef', r)),
  );
  await rx.up(port);
  const wh = delivery(rx.url(), dir);
  const ledger = await RevisionLedger.open(dir);
  try {
    assert.equal(await wh.flush(5000), true);
    assert.deepEqual(
      rx.arrivals.map((a) => [a.key, a.body.severity, a.body.last_seen]),
      bodies.map((f, i) => [keys[i], f.severity, f.last_seen]),
    );
    // the same content offered again (a crash between ledger and spool) keeps its key
    assert.equal(spoolFinding(wh, ledger, bodies[2]).revision, 3);
  } finally {
    ledger.close();
    await wh.close();
    await rx.down();
  }
});

test('webhook: a spool write cut short by a kill (temp file never renamed) is neither sent nor kept; whole files are', async () => {
  const rx = new Receiver();
  const port = await rx.up();
  await rx.down();
  const dir = spoolDir();
  const first = delivery(`http://127.0.0.1:${port}/hook`, dir);
  await first.enqueue(item(1));
  await first.close();
  // what SIGKILL between write and rename leaves: a temp file holding half a record
  const half = JSON.stringify({ v: 1, seq: 9, key: item(2).key, body: { id: 'cm-0002' } }).slice(0, 30);
  writeFileSync(join(dir, `.${'ab'.repeat(32)}.json.4242.tmp`), half);
  await rx.up(port);
  const second = delivery(rx.url(), dir);
  try {
    assert.equal(await second.flush(5000), true);
    assert.deepEqual(
      rx.arrivals.map((a) => a.key),
      [item(1).key],
    );
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.tmp')),
      [],
    );
    assert.equal(second.stats.rejected, 0);
  } finally {
    await second.close();
    await rx.down();
  }
});
