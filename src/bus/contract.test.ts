import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PARTITIONS as ENGINE_PARTITIONS, partitionOf, partitionRouteOf } from '../engine/partition.js';
import type { CoalEvent } from '../model/event.js';
import { streamInput } from '../run/inputs.js';
import { sniffSource } from '../sources/index.js';
import {
  decodeEvents,
  EVENTS_SUBJECTS,
  encodeEvents,
  eventLine,
  eventsStreamConfig,
  headersOf,
  leaseKeyOf,
  type MessageMeta,
  metaOf,
  msgIdOf,
  PARTITIONS,
  parseBusUrls,
  partitionOfSubject,
  routeOf,
  shownBusUrl,
  subjectOf,
} from './contract.js';

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** Every good fixture file (not `bad.*`), read through the source that sniffs it. */
async function fixtureEvents(): Promise<CoalEvent[]> {
  const events: CoalEvent[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        await walk(path);
        continue;
      }
      if (name.startsWith('bad') || statSync(path).size > 4 * 1024 * 1024) continue;
      const file = await streamInput(path, once(readFileSync(path)), { mtimeMs: 0 }, () => {}, 'empty');
      const source = file && sniffSource(file.input);
      if (!file || !source) continue;
      try {
        for await (const batch of source.read(file.input, {
          maxLineBytes: 1 << 20,
          maxPendingRecords: 4096,
          keepRecord: () => true,
          keepWindowsRecord: () => true,
        }))
          events.push(...batch.events);
      } catch {
        // a fixture made to break its reader: what it gave before is enough here
      }
    }
  };
  await walk('test/fixtures');
  return events;
}

test('the bus partitions are the engine partitions, and a subject names its partition', () => {
  assert.equal(PARTITIONS, ENGINE_PARTITIONS);
  assert.equal(PARTITIONS, 64);
  for (let p = 0; p < PARTITIONS; p++) {
    assert.equal(subjectOf(p), `coalmine.events.${p}`);
    assert.equal(partitionOfSubject(subjectOf(p)), p);
  }
  for (const bad of ['coalmine.events.64', 'coalmine.events.07', 'coalmine.events.', 'coalmine.events.1.2', 'x.1'])
    assert.equal(partitionOfSubject(bad), undefined, bad);
  assert.equal(EVENTS_SUBJECTS, 'coalmine.events.*');
  assert.equal(leaseKeyOf(7), 'p07');
  assert.equal(leaseKeyOf(63), 'p63');
});

test('every event kind in the fixtures routes as engine/partition.ts routes it, and the same after a trip through a message', async () => {
  const events = await fixtureEvents();
  assert.ok(events.length > 500, `read ${events.length} fixture events`);
  const actions = new Set<string>();
  const scopes = new Set<string>();
  for (const event of events) {
    const want = partitionRouteOf(event);
    const route = routeOf(event);
    assert.equal(route.key, want.key);
    assert.equal(route.partition, partitionOf(want.key));
    const back = decodeEvents(encodeEvents([eventLine(event)]));
    assert.deepEqual(back.bad, []);
    assert.equal(back.events.length, 1);
    assert.deepEqual(back.events[0], JSON.parse(JSON.stringify(event)));
    assert.deepEqual(routeOf(back.events[0]), route);
    actions.add(event.event.action);
    scopes.add(route.scope);
  }
  for (const action of ['exec', 'connect', 'metric', 'persistence-entry', 'cloud-change', 'workload-change'])
    assert.ok(actions.has(action), `the fixtures hold a ${action} event`);
  for (const scope of ['host', 'cloud', 'k8s', 'addr', 'fleet']) assert.ok(scopes.has(scope), `a ${scope} route`);
});

test("a message's meta goes through its headers, hostile text and all, and reads back whole", () => {
  const meta: MessageMeta = {
    seq: 912,
    index: 3,
    kind: 'events',
    sensor: 'sensor\r\nInjected: yes',
    name: 'web-01/audit.log ünïcode \u202e',
    format: 'auditd',
    receivedAt: 1_767_000_000_123,
  };
  const h = headersOf(meta, 17);
  for (const [, values] of h) for (const v of values) assert.ok(!/[\r\n]/.test(v) && /^[\x20-\x7e]*$/.test(v), v);
  assert.deepEqual(metaOf(h), meta);
  // a message is named by its body, kind, partition and which of the body's events it holds
  assert.match(msgIdOf(912, 'events', 3, [0, 4, 9]), /^coalmine-912-e3-[\w-]{22}$/);
  assert.equal(msgIdOf(912, 'events', 3, [0, 4, 9]), msgIdOf(912, 'events', 3, [0, 4, 9]));
  const ids = [
    msgIdOf(912, 'events', 3, [0, 4, 9]),
    msgIdOf(912, 'events', 3, [0, 4, 9, 10]),
    msgIdOf(912, 'events', 3, [0, 4]),
    msgIdOf(912, 'state', 3, [0, 4, 9]),
    msgIdOf(912, 'events', 31, [0, 4, 9]),
    msgIdOf(91, 'events', 23, [0, 4, 9]),
    msgIdOf(912, 'events', 3, [1, 4, 9]),
    msgIdOf(
      912,
      'events',
      3,
      Array.from({ length: 600 }, (_, i) => i),
    ),
    msgIdOf(
      912,
      'events',
      3,
      Array.from({ length: 600 }, (_, i) => (i === 599 ? 600 : i)),
    ),
  ];
  assert.equal(new Set(ids).size, ids.length, 'other events, kind, partition or body: another id');
  const long = headersOf({ ...meta, name: 'x'.repeat(10_000) }, 1);
  const read = metaOf(long);
  assert.ok(!('error' in read) && read.name.length < 300);
  assert.ok('error' in metaOf(undefined));
  const broken = headersOf(meta, 1);
  broken.set('Coalmine-Seq', '-1');
  assert.ok('error' in metaOf(broken));
  const badKind = headersOf(meta, 1);
  badKind.set('Coalmine-Kind', 'other');
  assert.ok('error' in metaOf(badKind));
  const badText = headersOf(meta, 1);
  badText.set('Coalmine-Body', '%E0%A4%A');
  assert.ok('error' in metaOf(badText));
});

test('a message line that is not a normalised event is dropped with its line and reason; the rest are read', () => {
  const good = {
    '@timestamp': '2026-12-01T10:00:00Z',
    event: { kind: 'event', category: ['process'], action: 'exec', dataset: 't' },
    original: {},
    coalmine: { ts: 1, format: 'ndjson', ref: { file: 'f', line: 1 } },
  };
  const text = `${JSON.stringify(good)}\n{not json\n[1,2]\n{"event":{"action":"exec"}}\n\n${JSON.stringify(good)}\n`;
  const out = decodeEvents(Buffer.from(text));
  assert.equal(out.events.length, 2);
  assert.deepEqual(
    out.bad.map((b) => b.line),
    [2, 3, 4],
  );
  const huge = decodeEvents(Buffer.alloc(2 * 1024 * 1024, 0x20));
  assert.equal(huge.events.length, 0);
  assert.match(huge.bad[0].reason, /bytes/);
});

test('the stream dedupes a re-publish within its window and keeps every partition on one subject filter', () => {
  const config = eventsStreamConfig({ replicas: 3 });
  assert.equal(config.name, 'COALMINE_EVENTS');
  assert.deepEqual(config.subjects, ['coalmine.events.*']);
  assert.equal(config.num_replicas, 3);
  assert.equal(config.duplicate_window, 10 * 60 * 1000 * 1_000_000);
  assert.ok((config.max_msg_size ?? 0) > 256 * 1024);
});

test('--bus takes nats:// and tls:// URLs, comma separated, and says what is wrong with anything else', () => {
  assert.deepEqual(parseBusUrls('nats://a:4222, nats://b:4222,tls://c'), ['nats://a:4222', 'nats://b:4222', 'tls://c']);
  for (const bad of [
    '',
    ',',
    'http://a:4222',
    'nats://',
    'nats://a:4222/x',
    'nats://a?x=1',
    'a:4222',
    'nats://a,'.repeat(20),
  ])
    assert.ok('error' in (parseBusUrls(bad) as object), bad);
  assert.equal(shownBusUrl('nats://me:secret@a:4222'), 'nats://me:***@a:4222');
});
