/**
 * `serve --bus` on a real 3-node JetStream cluster (replicas 3) and a real PostgreSQL: two ingest nodes
 * take interleaved bodies, and the stream holds each event the bodies read exactly once, in its
 * partition (engine/partition.ts), in the order read; a batch sent again under its Idempotency-Key (to
 * the other node) publishes nothing new; a body of which nothing can be read is refused and publishes
 * nothing; with the cluster dead an ingest node answers 503 + Retry-After, and takes bodies again once
 * it is back. The CLI's `--bus` flags are checked on the real CLI.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeEvents, EVENTS_STREAM, eventLine, metaOf, partitionOfSubject, routeOf } from '../../src/bus/contract.js';
import { defaultPolicy } from '../../src/model/policy.js';
import { bodyContext, readBody } from '../../src/run/body.js';
import { readAs } from '../../src/server/ingest.js';
import { type RunningServer, startServe } from '../../src/server/start.js';
import { loadRules } from '../../src/signals/sigma/index.js';
import { runCli, startCli } from '../support/cli.js';
import { startNats, type TestNats } from '../support/nats.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** Bodies of every kind of route: hosts (audit, metrics, cron state), a cloud account, a cluster, addresses. */
const BODIES = [
  'examples/kinsing-like/var/log/audit/audit.log',
  'test/fixtures/cloudtrail/calls.jsonl',
  'examples/kinsing-like/etc/crontab',
  'test/fixtures/k8s-audit/good.log',
  'examples/kinsing-like/var/log/metrics/cpu.csv',
  'test/fixtures/vpc-flow/log-events.jsonl',
  'test/fixtures/zeek/conn.log',
  'examples/kinsing-like/var/spool/cron/crontabs/redis',
  'test/fixtures/zeek/http.log',
];
const MTIME = Date.parse('2026-11-02T03:00:00Z');

let nats: TestNats;
let pg: TestPostgres;
const nodes: RunningServer[] = [];
let token: string;
let nc: NatsConnection;

before(async () => {
  [nats, pg] = await Promise.all([startNats(3), startPostgres()]);
  for (let i = 0; i < 2; i++)
    nodes.push(
      await startServe({
        store: pg.url,
        policy: defaultPolicy(),
        host: '127.0.0.1',
        port: 0,
        log: () => {},
        // each node names a different first server: the two publish through different cluster members
        bus: {
          urls: i === 0 ? nats.urls : [...nats.urls].reverse(),
          replicas: 3,
          publish: { timeoutMs: 1500, retries: 1, backoffMs: 50, slotWaitMs: 1000 },
        },
      }),
    );
  token = (await nodes[0].store.tokens.create({ name: 'shipper', role: 'sensor', actor: 'test' })).secret;
  nc = await connect({ servers: nats.urls });
});

after(async () => {
  await nc?.close().catch(() => {});
  for (const node of nodes) await node.close().catch(() => {});
  await nats?.stop();
  await pg?.stop();
});

const post = (node: RunningServer, name: string, body: Buffer, key?: string) =>
  fetch(new URL(`/api/v1/events?name=${encodeURIComponent(name)}&mtime=${MTIME}`, node.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) },
    body,
  });

interface Answer {
  accepted: boolean;
  seq: number;
  events: number;
  repeat?: boolean;
}

/** Every message in the stream: its subject's partition, meta and events. */
async function streamMessages() {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(EVENTS_STREAM);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq });
    if (!m) continue;
    const meta = metaOf(m.header);
    assert.ok(!('error' in meta), JSON.stringify(meta));
    const decoded = decodeEvents(m.data);
    assert.deepEqual(decoded.bad, []);
    out.push({ partition: partitionOfSubject(m.subject), meta, events: decoded.events });
  }
  return { messages: out, count: info.state.messages };
}

test('two ingest nodes publish interleaved bodies: each event once, in its partition, in the order read; a resend under its key publishes nothing new', async () => {
  const keys = BODIES.map(() => randomBytes(16).toString('hex'));
  // interleaved: body i to node i % 2, all at once
  const answers = (await Promise.all(
    BODIES.map(async (rel, i) => {
      const res = await post(nodes[i % 2], rel, readFileSync(join(ROOT, rel)), keys[i]);
      assert.equal(res.status, 202, `${rel}: ${res.status} ${await res.clone().text()}`);
      return res.json();
    }),
  )) as Answer[];
  for (const a of answers) assert.ok(a.accepted && a.events > 0, JSON.stringify(a));

  const { messages, count } = await streamMessages();
  assert.equal(count, messages.length);
  // every message once under its id; every event in the partition of its correlation key
  const ids = new Set(messages.map((m) => `${(m.meta as { seq: number }).seq}-${(m.meta as { index: number }).index}`));
  assert.equal(ids.size, messages.length);
  const partitions = new Set<number>();
  for (const m of messages)
    for (const e of m.events) {
      assert.equal(routeOf(e).partition, m.partition);
      partitions.add(m.partition as number);
    }
  assert.ok(partitions.size >= 4, `events in ${partitions.size} partitions`);

  // each body's events are what serve's reading gives, once each, per partition in the order read
  const context = bodyContext(await loadRules([]));
  for (const [i, rel] of BODIES.entries()) {
    const seq = answers[i].seq;
    const want = new Map<string, string[]>();
    const prepared = readAs(readFileSync(join(ROOT, rel)), undefined, 1 << 28);
    const add = (kind: string) => (events: Parameters<typeof routeOf>[0][]) => {
      for (const e of events) {
        const k = `${kind}:${routeOf(e).partition}`;
        want.set(k, [...(want.get(k) ?? []), eventLine(e)]);
      }
    };
    const read = await readBody(
      prepared.body,
      { name: rel, format: prepared.format, mtimeMs: MTIME },
      context,
      { now: () => MTIME },
      { state: add('state'), events: add('events') },
    );
    assert.equal(read.events + read.stateEvents, answers[i].events, rel);
    const got = new Map<string, string[]>();
    for (const m of messages.filter((x) => (x.meta as { seq: number }).seq === seq)) {
      const k = `${(m.meta as { kind: string }).kind}:${m.partition}`;
      got.set(k, [...(got.get(k) ?? []), ...m.events.map(eventLine)]);
    }
    assert.deepEqual(got, want, rel);
  }

  // the same batches again, each to the other node: answered as repeats, nothing new in the stream
  for (const [i, rel] of BODIES.entries()) {
    const res = await post(nodes[(i + 1) % 2], rel, readFileSync(join(ROOT, rel)), keys[i]);
    assert.equal(res.status, 202);
    const again = (await res.json()) as Answer;
    assert.equal(again.repeat, true);
    assert.equal(again.seq, answers[i].seq);
  }
  assert.equal((await streamMessages()).count, count);

  // a body of which nothing can be read is refused as serve refuses it, and publishes nothing
  const junk = await post(nodes[0], 'junk.bin', Buffer.from([0, 1, 2, 3, 0xff, 0xfe]));
  assert.equal(junk.status, 400);
  assert.equal(((await junk.json()) as Answer).accepted, false);
  assert.equal((await streamMessages()).count, count);
});

test('an ingest node serves no live views: it runs no detector (the workers do)', async () => {
  const coverage = await fetch(new URL('/api/v1/coverage', nodes[0].url), {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(coverage.status, 404);
});

test('with the whole cluster dead an ingest node answers 503 with Retry-After, and takes bodies again once it is back', async () => {
  await nats.killAll();
  const body = readFileSync(join(ROOT, BODIES[0]));
  // the client sees the disconnect within its ping/reconnect loop; a body sent meanwhile fails its publish
  const deadline = Date.now() + 20_000;
  let res: Response;
  for (;;) {
    res = await post(nodes[1], 'dead.log', body, randomBytes(16).toString('hex'));
    if (res.status === 503 || Date.now() > deadline) break;
  }
  assert.equal(res.status, 503);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get('retry-after')}`);
  const said = (await res.json()) as { error?: string; code?: string };
  assert.match(JSON.stringify(said), /bus/);

  await nats.restartAll();
  const back = Date.now() + 30_000;
  let status = 0;
  while (Date.now() < back) {
    status = (await post(nodes[1], 'back.log', body, randomBytes(16).toString('hex'))).status;
    if (status === 202) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(status, 202);
});

test('the CLI: serve --bus starts an ingest node that says so, takes a body onto the bus and stops on SIGTERM', async () => {
  const live = startCli(['serve', '--bus', nats.bus, '--store', pg.url, '--listen', '127.0.0.1:0']);
  try {
    const url = await live.firstLine();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, live.err());
    assert.match(live.err(), /ingest node on the bus nats:\/\/127\.0\.0\.1:\d+/);
    const res = await fetch(new URL('/api/v1/events?name=cli.log', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: readFileSync(join(ROOT, BODIES[0])),
    });
    assert.equal(res.status, 202, await res.clone().text());
    assert.ok(((await res.json()) as Answer).events > 0);
  } finally {
    live.child.kill('SIGTERM');
    assert.equal(await live.exited, 0);
  }
});

test('the CLI: serve --bus refuses a SQLite store and a malformed --bus, saying why', () => {
  const sqlite = runCli([
    'serve',
    '--bus',
    nats.bus,
    '--store',
    join(ROOT, 'no-such-dir', 'x.db'),
    '--listen',
    '127.0.0.1:0',
  ]);
  assert.notEqual(sqlite.code, 0);
  assert.match(sqlite.stderr, /--bus needs --store postgres/);
  const bad = runCli(['serve', '--bus', 'http://127.0.0.1:4222', '--store', pg.url, '--listen', '127.0.0.1:0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /nats:\/\//);
});
