import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type TestNats } from '../../test/support/nats.js';
import { defaultPolicy } from '../model/policy.js';
import { loadBodyContext } from '../run/body.js';
import { openStore, type Store } from '../store/index.js';
import { type BusConnection, connectBus } from './connect.js';
import { EVENTS_STREAM, ensureEventsStream, MAX_EVENTS_PER_MESSAGE, MAX_MESSAGE_BYTES } from './contract.js';
import { BusIngest } from './ingest-node.js';
import { BusPublisher, BusUnavailable } from './publisher.js';

let nats: TestNats;
let bus: BusConnection;
let dir: string;
let store: Store;

before(async () => {
  nats = await startNats(1);
  bus = await connectBus(nats.urls, { name: 'publisher-test' });
  await ensureEventsStream(await jetstreamManager(bus.nc), { replicas: 1 });
  dir = mkdtempSync(join(tmpdir(), 'coalmine-bus-pub-'));
  store = await openStore(join(dir, 's.db'));
});

after(async () => {
  await bus?.close();
  await store?.close();
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** NDJSON of `n` exec events: host `h<i % hosts>`, each `pad` characters of command line. */
function body(n: number, hosts: number, pad = 10): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(
      JSON.stringify({
        '@timestamp': new Date(Date.UTC(2026, 10, 2, 3, 0, i)).toISOString(),
        event: { kind: 'event', category: ['process'], action: 'exec', dataset: 'test.exec' },
        host: { name: `h${i % hosts}` },
        process: { pid: 100 + i, command_line: `/usr/bin/true ${'x'.repeat(pad)}` },
      }),
    );
  return Buffer.from(`${lines.join('\n')}\n`);
}

const streamMessages = async () => (await (await jetstreamManager(bus.nc)).streams.info(EVENTS_STREAM)).state.messages;

test('a body is cut into messages by what it holds alone: the same body again gives the same ids, all duplicates', async () => {
  const { context } = await loadBodyContext([]);
  const publisher = new BusPublisher({ bus });
  const before = await streamMessages();
  const meta = { seq: 1001, sensor: 's', name: 'one-host.ndjson', format: 'ndjson', receivedAt: 1 };
  // one host, 600 events: 256 + 256 + 88
  const first = await publisher.publishBody(body(600, 1), meta, context);
  assert.equal(first.read.events, 600);
  assert.equal(first.messages, Math.ceil(600 / MAX_EVENTS_PER_MESSAGE));
  assert.equal(first.duplicates, 0);
  assert.deepEqual(Object.values(first.partitions), [600]);
  const again = await publisher.publishBody(body(600, 1), meta, context);
  assert.equal(again.messages, first.messages);
  assert.equal(again.duplicates, again.messages);
  assert.equal(await streamMessages(), before + first.messages);
  // many hosts: one message per partition they fall in, every event once
  const spread = await publisher.publishBody(body(300, 40), { ...meta, seq: 1002 }, context);
  assert.equal(
    Object.values(spread.partitions).reduce((a, b) => a + b, 0),
    300,
  );
  assert.equal(spread.messages, Object.keys(spread.partitions).length);
});

test('an event too large for a message is an issue naming its line; the rest are published', async () => {
  const { context } = await loadBodyContext([]);
  const publisher = new BusPublisher({ bus });
  const big = body(1, 1, MAX_MESSAGE_BYTES + 10);
  const small = body(3, 1);
  const out = await publisher.publishBody(
    Buffer.concat([small, big]),
    { seq: 2001, sensor: 's', name: 'mixed.ndjson', format: 'ndjson', receivedAt: 1 },
    context,
  );
  assert.equal(out.read.issuesByCode.BUS_EVENT_TOO_LARGE, 1);
  const issue = out.read.issues.find((i) => i.code === 'BUS_EVENT_TOO_LARGE');
  assert.equal(issue?.line, 4);
  assert.equal(Object.values(out.partitions)[0], 3);
});

test('a hung server: a body finding no room within slotWaitMs is refused busy (Retry-After 1), and a node over maxBodies refuses at once', async () => {
  const { context } = await loadBodyContext([]);
  const publisher = new BusPublisher({ bus, maxInFlightBytes: 1, slotWaitMs: 200, timeoutMs: 600, retries: 0 });
  const ingest = await BusIngest.start({
    store,
    urls: nats.urls,
    replicas: 1,
    policy: defaultPolicy(),
    maxBodies: 1,
    publish: { timeoutMs: 1500, retries: 0 },
  });
  nats.pause(0);
  try {
    const busy = publisher.publishBody(
      body(50, 30),
      { seq: 3001, sensor: 's', name: 'busy.ndjson', format: 'ndjson', receivedAt: 1 },
      context,
    );
    await assert.rejects(busy, (err: unknown) => err instanceof BusUnavailable && err.retryAfterSec === 1);
    assert.ok(publisher.stats.busy >= 1);
    // one body hangs on the paused server; the next is refused without waiting
    const hanging = ingest.accept(body(5, 1), { sensor: 's', name: 'first.ndjson' });
    hanging.catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await assert.rejects(
      ingest.accept(body(5, 1), { sensor: 's', name: 'second.ndjson' }),
      (err: unknown) => err instanceof BusUnavailable && /at most 1/.test(err.message),
    );
    assert.ok(Date.now() - started < 500);
    await assert.rejects(hanging, BusUnavailable);
  } finally {
    nats.resume(0);
    await ingest.close();
  }
  // the server is back: bodies go through again
  const ok = await publisher.publishBody(
    body(5, 1),
    { seq: 3002, sensor: 's', name: 'after.ndjson', format: 'ndjson', receivedAt: 1 },
    context,
  );
  assert.equal(ok.read.events, 5);
});
