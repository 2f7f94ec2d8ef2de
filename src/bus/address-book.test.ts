/**
 * The ingest nodes' shared host-by-address map against a real single-node JetStream: what one node's
 * events show is every node's once flushed, the inventory comes first, a node opened later reads the map
 * as it stands, and hostile addresses are never written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type TestNats } from '../../test/support/nats.js';
import type { CoalEvent } from '../model/event.js';
import { AddressBook, addressKeyOf } from './address-book.js';
import { ADDRESS_BUCKET } from './contract.js';

let nats: TestNats;
let nc: NatsConnection;

before(async () => {
  nats = await startNats(1);
  nc = await connect({ servers: nats.urls });
});

after(async () => {
  await nc?.close();
  await nats?.stop();
});

/** An event of `host` showing `ips` as its addresses. */
function shown(host: string, ips: string[]): CoalEvent {
  return {
    '@timestamp': '2026-11-20T10:00:00.000Z',
    event: { kind: 'event', action: 'exec' },
    host: { name: host, ip: ips },
    coalmine: { ts: 0, format: 'test', ref: { file: 't', line: 1 } },
  } as unknown as CoalEvent;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('what one node’s events show of an address is every node’s; latest wins; the inventory comes first', async () => {
  const js = jetstream(nc);
  const a = await AddressBook.open(js, { replicas: 1, inventory: { '10.9.9.9': 'listed' } });
  const b = await AddressBook.open(js, { replicas: 1 });
  try {
    a.learn(shown('web-7', ['10.20.0.7', 'FD00::7']));
    assert.equal(a.hostOf('10.20.0.7'), 'web-7', 'at once on the node that saw it');
    await a.flush();
    await until(() => b.hostOf('fd00::7') === 'web-7');
    assert.equal(b.hostOf('10.20.0.7'), 'web-7');
    // the address moves (DHCP): the latest says
    b.learn(shown('web-8', ['10.20.0.7']));
    await b.flush();
    await until(() => a.hostOf('10.20.0.7') === 'web-8');
    // the inventory is not overridden by what telemetry shows
    a.learn(shown('impostor', ['10.9.9.9']));
    await a.flush();
    assert.equal(a.hostOf('10.9.9.9'), 'listed');
    assert.equal(b.hostOf('10.9.9.9'), undefined, 'not written: the inventory is each node’s policy');
    // a node opened later reads the map as it stands
    const c = await AddressBook.open(js, { replicas: 1 });
    try {
      assert.equal(c.hostOf('10.20.0.7'), 'web-8');
      assert.equal(c.hostOf('fd00::7'), 'web-7');
    } finally {
      c.close();
    }
    assert.equal(a.stats.failed + b.stats.failed, 0);
  } finally {
    a.close();
    b.close();
  }
});

test('loopback, link-local and what is no address are never written; keys are KV tokens', async () => {
  const js = jetstream(nc);
  const a = await AddressBook.open(js, { replicas: 1 });
  try {
    const before = a.stats.written;
    a.learn(shown('h', ['127.0.0.1', '::1', 'fe80::1', '../../etc', 'a'.repeat(100), '1.2.3.4.5', '>', '*']));
    a.learn(shown('x'.repeat(600), ['10.1.1.1']));
    await a.flush();
    assert.equal(a.stats.written, before, 'nothing written');
    assert.equal(addressKeyOf('2001:DB8::1'), '2001_db8__1');
    assert.equal(addressKeyOf('10.0.0.1'), '10.0.0.1');
    assert.equal(addressKeyOf('.10.0.0.1'), undefined);
    const kv = await new Kvm(js).open(ADDRESS_BUCKET);
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    assert.ok(
      keys.every((k) => /^[0-9a-f._]+$/.test(k)),
      keys.join(' '),
    );
  } finally {
    a.close();
  }
});
