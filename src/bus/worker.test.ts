// run-tests: alone (lease TTLs of 1.5 s on the wall clock)
/**
 * `Worker` on a real single-node JetStream and a real PostgreSQL: the bundled example published as ingest
 * nodes publish it (contract.ts: a body's events per partition, in messages), consumed, its findings
 * stored as `hunt` finds them; a second worker taking the partitions over restores their checkpoints
 * and stores nothing new; a worker that dies replays only what came after its last checkpoint;
 * a store that fails is retried and nothing is acked until it answers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { collectionBodies, publishBodies } from '../../test/support/bus-events.js';
import { startNats, type TestNats } from '../../test/support/nats.js';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { hunt } from '../run/hunt.js';
import { openStore, type Store } from '../store/index.js';
import { openPostgres } from '../store/postgres.js';
import {
  EVENTS_STREAM,
  encodeEvents,
  ensureEventsStream,
  eventLine,
  headersOf,
  routeOf,
  subjectOf,
} from './contract.js';
import { Worker } from './worker.js';
import { consumerNameOf } from './worker-partition.js';

const ROOT = join(import.meta.dirname, '..', '..');
const KINSING = join(ROOT, 'examples', 'kinsing-like');
const RULES = [join(ROOT, 'rules', 'stable')];

let nats: TestNats;
let pg: TestPostgres;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

before(async () => {
  [nats, pg] = await Promise.all([startNats(1), startPostgres()]);
  nc = await connect({ servers: nats.urls });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureEventsStream(jsm, { replicas: 1 });
});

after(async () => {
  await nc?.close();
  await Promise.all([nats?.stop(), pg?.stop()]);
});

const seqs = { next: 1 };

const shape = (f: Finding) => ({ id: f.id, analytic: f.analytic, severity: f.severity, legs: f.legs, host: f.host });

async function storedShapes(store: Store) {
  const items = (await store.findings.list(undefined, { limit: 500 })).items;
  return items.map((s) => shape(s.finding)).sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000, say = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${say()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a worker files what hunt finds; a second one taking the partitions over restores their checkpoints and stores nothing new; a failing store is retried and nothing acked until it answers', async () => {
  const expected = (await hunt({ paths: [KINSING], policy: defaultPolicy(), workers: 1, ruleDirs: RULES })).findings
    .map(shape)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  assert.ok(expected.length > 0);
  const location = await pg.database();
  const store = await openStore(location);
  const logs: string[] = [];
  const options = {
    bus: nats.urls,
    store,
    policy: defaultPolicy(),
    ruleDirs: RULES,
    leaseTtlMs: 1500,
    log: (l: string) => logs.push(l),
  };
  try {
    // the bodies arrived together (a past arrival time: the clock's quiet tick reads them and closes nothing early)
    const bodies = await collectionBodies(KINSING);
    const published = await publishBodies(js, bodies, Date.now() - 60_000, seqs);
    const first = await Worker.start({ ...options, name: 'first' });
    assert.equal(first.partitions().length, 64);
    await until('the findings stored', async () => (await storedShapes(store)).length >= expected.length);
    await until('every message read', async () => first.stats.messages + first.stats.replayed >= published);
    assert.deepEqual(await storedShapes(store), expected);
    const revisions = async () =>
      (await Promise.all(expected.map((f) => store.findings.revisions(f.id)))).map((rs) => rs.length);
    const before = await revisions();
    await first.close();
    assert.equal((await store.cases.list()).items.length, 1, 'one case, as hunt groups them');

    // a clean stop checkpointed every partition it read and gave them up: the next worker restores those
    // checkpoints, replays nothing and stores nothing new
    const saved = first.stats.checkpointsSaved;
    assert.ok(saved > 0, JSON.stringify(first.stats));
    const second = await Worker.start({ ...options, name: 'second' });
    await until(
      'the checkpoints restored',
      async () => second.stats.checkpointsRestored >= saved,
      30_000,
      () => `${JSON.stringify(second.stats)}\n${logs.join('\n')}`,
    );
    assert.equal(second.stats.replayed, 0, 'nothing came after the checkpoints: nothing replayed');
    assert.deepEqual(await revisions(), before, 'no revision added by a takeover');
    assert.deepEqual(await storedShapes(store), expected);

    // the store fails (a trigger refuses every revision): the worker retries, acks nothing, stops fetching
    const raw = openPostgres(location, { max: 1 });
    await raw.run(
      "CREATE FUNCTION revisions_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
    );
    await raw.run(
      'CREATE TRIGGER revisions_full BEFORE INSERT ON finding_revisions FOR EACH ROW EXECUTE FUNCTION revisions_full()',
    );
    // the same story an hour later: new findings
    const later = bodies.map((b) => ({
      ...b,
      events: b.events.map((e) => {
        const ts = e.coalmine.ts + 3 * 3600_000;
        return { ...e, '@timestamp': new Date(ts).toISOString(), coalmine: { ...e.coalmine, ts } };
      }),
    }));
    const retriesBefore = second.stats.storeRetries;
    await publishBodies(js, later, Date.now(), seqs);
    await until('a store retry', async () => second.stats.storeRetries > retriesBefore + 2, 60_000).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(second.stats)}\n${logs.join('\n')}`);
    });
    const hostPartition = routeOf(bodies[2].events[0]).partition;
    const info = await jsm.consumers.info(EVENTS_STREAM, consumerNameOf(hostPartition));
    assert.ok(info.num_ack_pending > 0, 'what was read while the store fails is not acked');
    assert.equal((await storedShapes(store)).length, expected.length, 'nothing stored meanwhile');
    await raw.run('DROP TRIGGER revisions_full ON finding_revisions');
    await raw.close();
    await until('the later findings stored', async () => (await storedShapes(store)).length > expected.length, 60_000);
    await until('everything acked', async () => {
      const i = await jsm.consumers.info(EVENTS_STREAM, consumerNameOf(hostPartition));
      return i.num_ack_pending === 0;
    });
    assert.ok(
      logs.some((l) => /storing a finding failed, retrying/.test(l)),
      logs.join('\n'),
    );
    assert.ok(logs.some((l) => /the store answers again/.test(l)));
    await second.close();

    // more came while no worker ran: the next one restores the checkpoints and replays only what came after
    const latest = bodies.map((b) => ({
      ...b,
      events: b.events.map((e) => {
        const ts = e.coalmine.ts + 6 * 3600_000;
        return { ...e, '@timestamp': new Date(ts).toISOString(), coalmine: { ...e.coalmine, ts } };
      }),
    }));
    const more = await publishBodies(js, latest, Date.now() - 60_000, seqs);
    const third = await Worker.start({ ...options, name: 'third' });
    try {
      await until(
        'the replay after the checkpoints',
        async () => third.stats.replayed >= more,
        60_000,
        () => `${JSON.stringify(third.stats)}\n${logs.slice(-40).join('\n')}`,
      );
      assert.ok(third.stats.checkpointsRestored > 0, JSON.stringify(third.stats));
      assert.equal(third.stats.replayed, more, 'only the messages after the checkpoints are replayed');
      assert.equal(third.stats.messages, more, 'and nothing before them is read again');
    } finally {
      await third.close();
    }
  } finally {
    await store.close();
  }
});

test('hostile messages: one without the contract’s headers and lines that are no events are dropped, counted and said with their place; the rest is read', async () => {
  const location = await pg.database();
  const store = await openStore(location);
  const logs: string[] = [];
  const p = 5;
  await js.publish(subjectOf(p), Buffer.from('{"x":1}\n'));
  const good = (await collectionBodies(KINSING))[3].events.slice(0, 2);
  const meta = {
    seq: 999_999,
    index: 0,
    kind: 'events' as const,
    sensor: 's',
    name: 'evil\u001b[31m',
    format: 'f',
    receivedAt: Date.now(),
  };
  const lines = ['not json', '{"event":{}}', ...good.map(eventLine), '\u0000'.repeat(10)];
  await js.publish(subjectOf(p), encodeEvents(lines), { headers: headersOf(meta, lines.length) });
  const w = await Worker.start({
    bus: nats.urls,
    store,
    policy: defaultPolicy(),
    name: 'hostile',
    leaseTtlMs: 1500,
    log: (l) => logs.push(l),
  });
  try {
    await until('both messages read', async () => w.stats.badMessages >= 1 && w.stats.badLines >= 3);
    assert.equal(w.stats.events >= good.length, true, 'the good lines were read');
    assert.ok(
      logs.some((l) => /partition 5: message \d+ dropped: /.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /line 1 dropped: not JSON/.test(l)),
      logs.join('\n'),
    );
    for (const l of logs) assert.ok(!/[\u0000-\u0008\u001b]/.test(l), `inert: ${JSON.stringify(l)}`);
  } finally {
    await w.close();
    await store.close();
  }
});

test('a delivery that never reaches the worker (another client took it off the consumer) is read all the same: the consumer is made again from the last message read', async () => {
  const location = await pg.database();
  const store = await openStore(location);
  const logs: string[] = [];
  const p = 11;
  const MESSAGES = 80;
  // the earlier tests' messages out of the stream: the worker's event count is this test's alone
  await jsm.streams.purge(EVENTS_STREAM);
  // and an earlier test's durable consumer of the partition: the wait below must see the one this worker
  // makes (the thief pulling on an old one, which the worker then deletes, takes nothing from the worker)
  await jsm.consumers.delete(EVENTS_STREAM, consumerNameOf(p)).catch(() => false);
  const good = (await collectionBodies(KINSING))[3].events.slice(0, 6);
  const publish = async (k: number) => {
    const meta = {
      seq: 800_000 + k,
      index: 0,
      kind: 'events' as const,
      sensor: 's',
      name: `b${k}`,
      format: 'f',
      receivedAt: Date.now(),
    };
    await js.publish(subjectOf(p), encodeEvents([eventLine(good[k % good.length])]), { headers: headersOf(meta, 1) });
  };
  await publish(0);
  const w = await Worker.start({
    bus: nats.urls,
    store,
    policy: defaultPolicy(),
    name: 'robbed',
    // long enough that a loaded machine does not lose the lease mid-test: a partition claimed again replays
    // from its checkpoint, which reads the stolen message back without the path this test is about
    leaseTtlMs: 6000,
    log: (l) => logs.push(l),
  });
  try {
    await until('the partition live on its consumer', async () =>
      Boolean(await jsm.consumers.info(EVENTS_STREAM, consumerNameOf(p)).catch(() => null)),
    );
    // a second client's pull waits on the partition's durable consumer beside the worker's own: of a burst,
    // it takes a message (the server serves waiting pulls in turn) and never acks it, as a fetch that failed
    // with a message on the wire leaves it; the worker's next pull goes on after it. Which pull a message
    // goes to is the server's choice, so the burst is sent again until the other client has one (a loaded
    // machine's worker may win several bursts in a row)
    const thief = await js.consumers.get(EVENTS_STREAM, consumerNameOf(p));
    let took = 0;
    let sent = 1;
    for (let attempt = 0; attempt < 20 && took === 0; attempt++) {
      const stolen = thief.fetch({ max_messages: 1, expires: 3000 });
      await new Promise((r) => setTimeout(r, 200));
      for (let k = 0; k < MESSAGES / 8; k++) await publish(sent++);
      try {
        for await (const _ of await stolen) took++;
      } catch {
        // a missed heartbeat on a loaded machine ends this pull: the next attempt pulls again
      }
    }
    assert.equal(took, 1, 'the other client took a message');
    // one more after the theft, so the worker's next pull does go on after it (the stolen one may have been
    // the burst's last; a partition that then goes quiet gets it back only when the server's ack wait ends)
    await publish(sent++);
    await until(
      'every event read',
      async () => w.stats.events >= sent,
      30_000,
      () => `${w.stats.events} of ${sent}\n${logs.join('\n')}`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(w.stats.events, sent, 'each event read once');
    assert.ok(
      // the jump in delivery sequences, or (on a loaded machine) a fetch that failed first: either makes the
      // consumer again from the last message read
      logs.some((l) =>
        /partition 11: (a delivery did not reach us|fetching failed), reading on from sequence \d+/.test(l),
      ),
      logs.join('\n'),
    );
  } finally {
    await w.close();
    await store.close();
  }
});

test('a worker giving partitions up to a newcomer keeps renewing the rest: the excess drains meanwhile, every other partition stays its own', async () => {
  const location = await pg.database();
  const store = await openStore(location);
  const logs: string[] = [];
  const options = {
    bus: nats.urls,
    store,
    policy: defaultPolicy(),
    leaseTtlMs: 3000,
    log: (l: string) => logs.push(l),
  };
  const keeper = await Worker.start({ ...options, name: 'keeper' });
  let joiner: Worker | undefined;
  try {
    assert.equal(keeper.partitions().length, 64);
    joiner = await Worker.start({ ...options, name: 'joiner' });
    // each stop waits out its partition's fetch: 32 of them one after another took the round past the
    // renewal fence (TTL − TTL/5) and the keeper lost every partition it kept
    await until(
      'half each',
      async () => keeper.partitions().length === 32 && joiner?.partitions().length === 32,
      30_000,
      () => logs.join('\n'),
    );
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(keeper.stats.lost, 0, logs.join('\n'));
    assert.equal(keeper.stats.released, 32);
    assert.equal(keeper.partitions().length, 32);
    assert.ok(!logs.some((l) => /not renewed within its TTL/.test(l)), logs.join('\n'));
  } finally {
    await joiner?.close();
    await keeper.close();
    await store.close();
  }
});

test('a burst on every partition at once, more messages than the worker holds in flight, is read to the end', async () => {
  await jsm.streams.purge(EVENTS_STREAM);
  const location = await pg.database();
  const store = await openStore(location);
  const logs: string[] = [];
  const PER_PARTITION = 12; // 64 × 12 = 768 messages, past the worker's 512 in flight
  const template = (await collectionBodies(KINSING))[3].events[0];
  const w = await Worker.start({
    bus: nats.urls,
    store,
    policy: defaultPolicy(),
    name: 'burst',
    leaseTtlMs: 1500,
    log: (l) => logs.push(l),
  });
  try {
    await until('every partition live', async () => {
      for (let p = 0; p < 64; p++)
        if (!(await jsm.consumers.info(EVENTS_STREAM, consumerNameOf(p)).catch(() => null))) return false;
      return true;
    });
    // one host per partition: every partition's messages are read and wait for a tick to be acked
    const hosts = new Map<number, string>();
    for (let k = 0; hosts.size < 64; k++) {
      const name = `burst-${k}`;
      const p = routeOf({ ...template, host: { ...template.host, name } }).partition;
      if (!hosts.has(p)) hosts.set(p, name);
    }
    let seq = 900_000;
    for (let round = 0; round < PER_PARTITION; round++)
      for (const [p, name] of hosts) {
        const meta = {
          seq: seq++,
          index: 0,
          kind: 'events' as const,
          sensor: 's',
          name: 'burst',
          format: 'f',
          receivedAt: Date.now(),
        };
        const line = eventLine({ ...template, host: { ...template.host, name } });
        await js.publish(subjectOf(p), encodeEvents([line]), { headers: headersOf(meta, 1) });
      }
    await until(
      'every event read',
      async () => w.stats.events >= 64 * PER_PARTITION,
      60_000,
      () => `${w.stats.events} read\n${logs.join('\n')}`,
    );
  } finally {
    await w.close();
    await store.close();
  }
});
