import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAddressHost } from '../model/entity.js';
import type { CoalEvent, EventAction } from '../model/event.js';
import { HostByIp, localAddress } from './host-by-ip.js';

function ev(action: EventAction, fields: Partial<CoalEvent>): CoalEvent {
  return {
    '@timestamp': '2026-12-01T10:00:00Z',
    event: { kind: 'event', category: ['network'], action, dataset: 't' },
    original: {},
    coalmine: { ts: 0, format: 't', ref: { file: 'f', record: '1' } },
    ...fields,
  };
}
const flow = (src: string, dst: string) =>
  ev('connect', { source: { ip: src, port: 50000 }, destination: { ip: dst, port: 3333 } });

test('a host-less flow takes the inventory host of its local address, source first', () => {
  const byIp = new HostByIp({ '10.0.0.5': 'web-01' });
  const out = flow('10.0.0.5', '198.51.100.7');
  byIp.resolve(out);
  assert.equal(out.host?.name, 'web-01');
  const inbound = flow('203.0.113.9', '10.0.0.5');
  byIp.resolve(inbound);
  assert.equal(inbound.host?.name, 'web-01', 'an inbound flow belongs to the host it reached');
  const stranger = flow('10.0.0.99', '198.51.100.7');
  byIp.resolve(stranger);
  assert.equal(stranger.host?.name, '10.0.0.99', 'an address nothing names is its own host');
  assert.ok(isAddressHost('10.0.0.99') && isAddressHost('2001:db8::7') && !isAddressHost('web-01'));
});

test("a host-less record naming a process is a host sensor's (auditd without node=): it stays the unknown host's", () => {
  const byIp = new HostByIp({ '198.51.100.7': 'pool-box', '10.0.0.5': 'web-01' });
  const connect = { ...flow('10.0.0.5', '198.51.100.7'), process: { pid: 4242 } };
  byIp.resolve(connect);
  assert.equal(connect.host, undefined, 'not the inventory host of either end');
  const remoteOnly = ev('connect', { process: { pid: 4242 }, destination: { ip: '198.51.100.23', port: 3333 } });
  byIp.resolve(remoteOnly);
  assert.equal(remoteOnly.host, undefined, 'never the remote address');
  const guid = ev('connect', { process: { entity_id: '{a}' }, destination: { ip: '198.51.100.23', port: 3333 } });
  byIp.resolve(guid);
  assert.equal(guid.host, undefined);
  const flowOnly = flow('10.0.0.5', '198.51.100.7');
  byIp.resolve(flowOnly);
  assert.equal(flowOnly.host?.name, 'web-01', "a network sensor's flow is still joined by address");
});

test('with no host known, the local address is the stated local side, else the internal side, else the opener', () => {
  assert.equal(localAddress(flow('10.0.0.99', '198.51.100.7')), '10.0.0.99');
  assert.equal(
    localAddress(flow('198.51.100.7', '192.168.1.20')),
    '192.168.1.20',
    'internet → internal: the internal side',
  );
  assert.equal(localAddress(flow('203.0.113.1', '198.51.100.7')), '203.0.113.1', 'two public addresses: the opener');
  assert.equal(localAddress(flow('10.0.0.2', '10.0.0.3')), '10.0.0.2');
  assert.equal(localAddress(flow('fd00::5', '2001:db8::1')), 'fd00::5');
  const inbound = { ...flow('10.0.0.2', '10.0.0.3'), network: { direction: 'inbound' as const } };
  assert.equal(localAddress(inbound), '10.0.0.3');
  assert.equal(localAddress(flow('127.0.0.1', '127.0.0.1')), undefined, 'loopback names no host');
  assert.equal(localAddress(flow('not-an-ip', '10.0.0.3')), '10.0.0.3');
  assert.equal(localAddress(ev('exec', { source: { ip: '10.0.0.2' } })), undefined, 'only network events');
});

test('addresses are learned from the local side of connections a host logged, never loopback', () => {
  const byIp = new HostByIp({});
  byIp.learn(ev('connect', { host: { name: 'ws-07' }, source: { ip: '10.20.4.17' }, destination: { ip: '1.2.3.4' } }));
  byIp.learn(
    ev('connect', {
      host: { name: 'ws-07' },
      network: { direction: 'inbound' },
      source: { ip: '8.8.8.8' },
      destination: { ip: '10.20.4.18' },
    }),
  );
  byIp.learn(ev('connect', { host: { name: 'ws-07' }, source: { ip: '127.0.0.1' }, destination: { ip: '127.0.0.1' } }));
  assert.equal(byIp.hostOf('10.20.4.17'), 'ws-07');
  assert.equal(byIp.hostOf('10.20.4.18'), 'ws-07');
  assert.equal(byIp.hostOf('8.8.8.8'), undefined, 'the remote side is not the host');
  assert.equal(byIp.hostOf('127.0.0.1'), undefined);
  const named = flow('8.8.8.8', '10.20.4.18');
  byIp.resolve(named);
  assert.equal(named.host?.name, 'ws-07');
  const already = ev('connect', { host: { name: 'other' }, source: { ip: '10.20.4.17' } });
  byIp.resolve(already);
  assert.equal(already.host?.name, 'other', 'a host the source names is kept');
});

test('learned addresses stay bounded', () => {
  const byIp = new HostByIp({});
  for (let i = 0; i < 70_000; i++)
    byIp.learn(
      ev('connect', { host: { name: `h${i}` }, source: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } }),
    );
  assert.ok(byIp.size <= 65536);
});

test('a record naming one end only teaches nothing: a bot seen running an SSH client does not take its later sessions', () => {
  const byIp = new HostByIp({});
  const software = ev('connect', { source: { ip: '203.0.113.1' }, network: { protocol: 'ssh' } });
  byIp.resolve(software);
  byIp.learn(software);
  assert.equal(byIp.hostOf('203.0.113.1'), undefined);
  const session = flow('203.0.113.1', '10.0.4.30');
  byIp.resolve(session);
  assert.equal(session.host?.name, '10.0.4.30', 'the session belongs to the host it reached');
});
