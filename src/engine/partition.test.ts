import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent, EventAction } from '../model/event.js';
import { PARTITIONS, partitionOf, partitionRouteOf, workerOf } from './partition.js';

function ev(action: EventAction, fields: Partial<CoalEvent>): CoalEvent {
  return {
    '@timestamp': '2026-12-01T10:00:00Z',
    event: { kind: 'event', category: ['process'], action, dataset: 't' },
    original: {},
    coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
    ...fields,
  };
}

test('an event of one named host that touches nothing shared is keyed by its host', () => {
  const exec = ev('exec', { host: { name: 'web-01' }, process: { pid: 7, command_line: 'xmrig -o pool:3333' } });
  assert.deepEqual(partitionRouteOf(exec), { scope: 'host', key: 'host:web-01' });
  const plainConnect = ev('connect', {
    host: { name: 'web-01' },
    source: { ip: '10.0.0.5', port: 50000 },
    destination: { ip: '198.51.100.7', port: 3333 },
  });
  assert.deepEqual(
    partitionRouteOf(plainConnect),
    { scope: 'host', key: 'host:web-01' },
    'a named host owns its flows',
  );
  const cron = ev('persistence-entry', { process: { command_line: '/tmp/x' } });
  assert.deepEqual(
    partitionRouteOf(cron),
    { scope: 'host', key: `host:${UNKNOWN_HOST}` },
    'naming neither host nor address: the unknown host, as the engine files it',
  );
});

test('what joins across hosts is never keyed by a host', () => {
  const cases: Array<[string, CoalEvent, string]> = [
    [
      'a cloud call',
      ev('cloud-change', {
        host: { name: 'aws:123' },
        cloud: { provider: 'aws', account: { id: '123' } },
      }),
      'cloud:aws:123',
    ],
    [
      'a host event stamped with its instance',
      ev('metric', { host: { name: 'ip-10-0-0-5' }, cloud: { instance: { id: 'i-0abc' } } }),
      'cloud:?:?',
    ],
    ['a container', ev('exec', { host: { name: 'node-1' }, container: { id: 'abc123' } }), 'k8s:?'],
    [
      'a pod in a named cluster',
      ev('exec', { host: { name: 'node-1' }, orchestrator: { namespace: 'ns', cluster: { name: 'prod' } } }),
      'k8s:prod',
    ],
    [
      'a host-less flow (joined to its host by address)',
      ev('connect', { source: { ip: '10.0.0.5', port: 1 }, destination: { ip: '198.51.100.7', port: 443 } }),
      'addr:10.0.0.5',
    ],
    [
      'a web request with a user agent (judged against every host)',
      ev('connect', { host: { name: 'web-01' }, user_agent: { original: 'curl/8' } }),
      'fleet',
    ],
    ['a TLS client fingerprint', ev('connect', { host: { name: 'web-01' }, tls: { client: { ja3: 'abc' } } }), 'fleet'],
    ['an SSH session', ev('connect', { host: { name: 'web-01' }, network: { protocol: 'ssh' } }), 'fleet'],
  ];
  for (const [what, event, key] of cases) {
    const route = partitionRouteOf(event);
    assert.notEqual(route.scope, 'host', what);
    assert.equal(route.key, key, what);
  }
});

test('keys are bounded whatever the logs say', () => {
  const long = 'h'.repeat(100_000);
  const route = partitionRouteOf(ev('exec', { host: { name: long } }));
  assert.ok(route.key.length <= 'host:'.length + 256);
  assert.equal(route.key, partitionRouteOf(ev('exec', { host: { name: `${long}x` } })).key, 'clipped, then keyed');
});

test('a key has one partition, whatever the number of workers, spread over all of them', () => {
  // FNV-1a of "host:web-01" and "" pinned: the rule must not drift, since scale-out workers share it
  assert.equal(partitionOf(''), 0x811c9dc5 % PARTITIONS);
  assert.equal(partitionOf('host:web-01'), partitionOf('host:web-01'));
  const seen = new Set<number>();
  const perWorker = [0, 0];
  for (let i = 0; i < 200; i++) {
    const key = `host:web-${i}`;
    const p = partitionOf(key);
    assert.ok(p >= 0 && p < PARTITIONS && Number.isInteger(p));
    seen.add(p);
    assert.equal(workerOf(key, 2), p % 2);
    assert.equal(workerOf(key, 1), 0);
    perWorker[workerOf(key, 2)]++;
  }
  assert.ok(seen.size > PARTITIONS / 2, `200 hosts fill most of the ${PARTITIONS} partitions (${seen.size})`);
  assert.ok(Math.min(...perWorker) >= 70, `two workers share 200 hosts roughly evenly (${perWorker})`);
});
