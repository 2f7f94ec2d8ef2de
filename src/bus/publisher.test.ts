import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type TestNats } from '../../test/support/nats.js';
import { addressesShown } from '../engine/host-by-ip.js';
import { hostRouteOf, partitionOf } from '../engine/partition.js';
import type { CoalEvent } from '../model/event.js';
import { defaultPolicy } from '../model/policy.js';
import { loadBodyContext } from '../run/body.js';
import { openStore, type Store } from '../store/index.js';
import { type BusConnection, connectBus } from './connect.js';
import {
  decodeEvents,
  EVENTS_STREAM,
  ensureEventsStream,
  MAX_EVENTS_PER_MESSAGE,
  MAX_MESSAGE_BYTES,
  metaOf,
  partitionOfSubject,
} from './contract.js';
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

/** A body mixing a host's exec (showing its address) and connections naming only addresses. */
function mixedBody(): Buffer {
  const at = (s: number) => new Date(Date.UTC(2026, 10, 2, 4, 0, s)).toISOString();
  const lines = [
    {
      '@timestamp': at(0),
      event: { kind: 'event', category: ['process'], action: 'exec', dataset: 'test.exec' },
      host: { name: 'web-7', ip: ['10.20.0.7'] },
      process: { pid: 4130, command_line: '/usr/bin/true' },
    },
    ...Array.from({ length: 300 }, (_, i) => ({
      '@timestamp': at(1 + i),
      event: { kind: 'event', category: ['network'], action: 'connect', dataset: 'test.flow' },
      source: { ip: i % 2 === 0 ? '10.20.0.7' : `10.30.0.${i % 200}`, port: 40000 + i },
      destination: { ip: '203.0.113.9', port: 3333 },
    })),
  ];
  return Buffer.from(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
}

/** Every event of body `seq` in the stream, by the line it came from, with the partitions holding it. */
async function eventsOfBody(seq: number): Promise<Map<number, number[]>> {
  const jsm = await jetstreamManager(bus.nc);
  const info = await jsm.streams.info(EVENTS_STREAM);
  const out = new Map<number, number[]>();
  for (let s = info.state.first_seq; s <= info.state.last_seq; s++) {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq: s }).catch(() => undefined);
    const meta = m ? metaOf(m.header) : undefined;
    if (!m || !meta || 'error' in meta || meta.seq !== seq) continue;
    const p = partitionOfSubject(m.subject) as number;
    for (const e of decodeEvents(m.data).events) {
      const line = e.coalmine.ref.line as number;
      out.set(line, [...(out.get(line) ?? []), p]);
    }
  }
  return out;
}

test('an event naming only an address goes to the partition of the host the map gives it; a resend routed otherwise loses no event, and one routed alike adds none', async () => {
  const { context } = await loadBodyContext([]);
  const publisher = new BusPublisher({ bus });
  const meta = { seq: 4001, sensor: 's', name: 'flows.ndjson', format: 'ndjson', receivedAt: 1 };
  const hostPartition = partitionOf(hostRouteOf('web-7').key);
  const known = new Map<string, string>();
  const book = {
    learn: (e: CoalEvent) => addressesShown(e, (ip, host) => known.set(ip, host)),
    hostOf: (ip: string) => known.get(ip),
  };
  const first = await publisher.publishBody(mixedBody(), meta, context, book);
  assert.equal(first.read.events, 301);
  const placed = await eventsOfBody(4001);
  assert.equal(placed.size, 301, 'every event published');
  for (const [line, partitions] of placed) {
    assert.equal(partitions.length, 1, `line ${line} once`);
    // lines 2, 4, …: from 10.20.0.7, which the exec on line 1 showed to be web-7's
    if (line === 1 || line % 2 === 0) assert.equal(partitions[0], hostPartition, `line ${line} with web-7`);
    else assert.notEqual(partitions[0], undefined);
  }
  // sent again (the client's answer lost) to a node whose map does not know the address: the flows go
  // by their address now. None is lost to an id the stream already holds; some are there twice
  const resent = await publisher.publishBody(mixedBody(), meta, context, {
    learn: () => {},
    hostOf: () => undefined,
  });
  assert.equal(resent.read.events, 301);
  const after = await eventsOfBody(4001);
  assert.equal(after.size, 301);
  // each rerouted flow is in both partitions; others too where a partition's message changed with them
  for (let line = 2; line <= 301; line += 2) assert.deepEqual(after.get(line)?.[0], hostPartition, `line ${line}`);
  for (let line = 2; line <= 301; line += 2) assert.equal(after.get(line)?.length, 2, `line ${line}`);
  assert.ok(
    [...after.values()].every((ps) => ps.length <= 2),
    'at most once per routing',
  );
  // sent again under the first routing: every message a duplicate, nothing added
  const alike = await publisher.publishBody(mixedBody(), meta, context, book);
  assert.equal(alike.duplicates, alike.messages);
  assert.deepEqual(await eventsOfBody(4001), after);
});
