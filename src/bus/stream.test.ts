import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type TestNats } from '../../test/support/nats.js';
import {
  EVENTS_STREAM,
  ensureEventsStream,
  eventsStreamConfig,
  headersOf,
  LEASE_BUCKET,
  leaseKeyOf,
  metaOf,
  msgIdOf,
  subjectOf,
} from './contract.js';

let nats: TestNats;
let nc: NatsConnection;
// requests wait 30 s, not the client's 5 s: a loaded CI machine can take longer on a just-restarted cluster

before(async () => {
  nats = await startNats(3);
  // the servers in order: the client is on node 0, so killing node 2 tests the cluster, not a reconnect
  nc = await connect({ servers: nats.urls, name: 'coalmine-stream-test', noRandomize: true });
});

after(async () => {
  await nc?.close().catch(() => {});
  await nats?.stop();
});

test('the events stream is made once with 3 replicas, a re-publish under the same message id is dropped, and it goes on when a node is killed', async () => {
  const jsm = await jetstreamManager(nc, { timeout: 30_000 });
  const made = await ensureEventsStream(jsm, { replicas: 3 });
  assert.equal(made.config.num_replicas, 3);
  // a second node's ensure finds it and keeps it
  const again = await ensureEventsStream(jsm, { replicas: 1 });
  assert.equal(again.config.num_replicas, 3);
  const js = jetstream(nc, { timeout: 30_000 });
  const meta = {
    seq: 41,
    index: 0,
    kind: 'events' as const,
    sensor: 's',
    name: 'b',
    format: 'ndjson',
    receivedAt: 1,
  };
  const first = await js.publish(subjectOf(5), '{}\n', {
    msgID: msgIdOf(41, 'events', 5, [0]),
    headers: headersOf(meta, 1),
  });
  const second = await js.publish(subjectOf(5), '{}\n', {
    msgID: msgIdOf(41, 'events', 5, [0]),
    headers: headersOf(meta, 1),
  });
  assert.equal(first.duplicate, false);
  assert.equal(second.duplicate, true);
  assert.equal(second.seq, first.seq);
  const stored = await jsm.streams.getMessage(EVENTS_STREAM, { seq: first.seq });
  assert.ok(stored);
  assert.equal(stored.subject, 'coalmine.events.5');
  assert.deepEqual(metaOf(stored.header), meta);

  await nats.kill(2);
  // the stream's leader may have been node 2: a publish waits for the new one, as a publisher retries
  let during: Awaited<ReturnType<typeof js.publish>> | undefined;
  for (let attempt = 0; !during; attempt++) {
    try {
      during = await js.publish(subjectOf(6), '{}\n', {
        msgID: msgIdOf(41, 'events', 6, [1]),
        headers: headersOf(meta, 1),
      });
    } catch (err) {
      if (attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  assert.equal(during.duplicate, false);
  await nats.restart(2);
  const info = await jsm.streams.info(EVENTS_STREAM);
  assert.equal(info.state.messages, 2);
});

test('a stream on our subjects that is not ours is refused with what is there', async () => {
  const jsm = await jetstreamManager(nc, { timeout: 30_000 });
  await jsm.streams.delete(EVENTS_STREAM);
  await jsm.streams.add({ ...eventsStreamConfig({ replicas: 1 }), subjects: ['coalmine.events.1'] });
  await assert.rejects(ensureEventsStream(jsm, { replicas: 1 }), /coalmine\.events\.1/);
  await jsm.streams.delete(EVENTS_STREAM);
});

test('the lease bucket takes one owner per partition key (create fails for the second)', async () => {
  const kv = await new Kvm(jetstream(nc, { timeout: 30_000 })).create(LEASE_BUCKET, { ttl: 5000, replicas: 3 });
  await kv.create(leaseKeyOf(9), 'worker-a');
  await assert.rejects(kv.create(leaseKeyOf(9), 'worker-b'));
  assert.equal((await kv.get(leaseKeyOf(9)))?.string(), 'worker-a');
});
