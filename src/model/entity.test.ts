import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entityKey, linksOf, processKey, processKeyParts } from './entity.js';
import type { CoalEvent } from './event.js';

const base = {
  '@timestamp': '2025-01-01T00:00:00.000Z',
  event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
  original: {},
  coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
} satisfies CoalEvent;

test('a process in a container in a pod on a host, with its parent and user', () => {
  const links = linksOf({
    ...base,
    host: { name: 'node-7' },
    process: { pid: 42, parent: { pid: 7 }, user: { name: 'www' } },
    container: { id: 'c0ffee' },
    orchestrator: { namespace: 'shop', resource: { type: 'pod', name: 'web-5d9' } },
  });
  assert.deepEqual(
    links.map((l) => `${l.from} ${l.rel} ${l.to}`),
    [
      'process:node-7:42 runs_on host:node-7',
      'process:node-7:42 child_of process:node-7:7',
      'process:node-7:42 executed_by user:node-7:www',
      'process:node-7:42 runs_in container:c0ffee',
      'container:c0ffee runs_on host:node-7',
      'container:c0ffee runs_in pod:shop:web-5d9',
    ],
  );
});

test('a cloud instance owns its IPs and belongs to its account', () => {
  const links = linksOf({
    ...base,
    host: { name: 'ip-10-0-0-5', ip: ['10.0.0.5'] },
    cloud: { provider: 'aws', account: { id: '123456789012' }, instance: { id: 'i-0abc' } },
  });
  assert.deepEqual(
    links.map((l) => `${l.from} ${l.rel} ${l.to}`),
    ['instance:i-0abc owns_ip ip:10.0.0.5', 'instance:i-0abc member_of account:aws:123456789012'],
  );
});

test('hostile ids cannot forge a nested key', () => {
  assert.equal(entityKey('host', 'a:b'), 'host:a%3Ab');
  assert.equal(entityKey('process', 'h', '50%'), 'process:h:50%25');
  assert.notEqual(entityKey('process', 'h:1', 2), entityKey('process', 'h', '1:2'));
});

test("a process key is entityKey's form and says its host and id back, whatever separators they hold", () => {
  for (const host of ['web-1', 'a:b', '100%', 'x%3Ay', '%25:%3A', '']) {
    assert.equal(processKey(host, 7), entityKey('process', host, 7));
    assert.deepEqual(processKeyParts(processKey(host, 7)!), { host, id: '7' });
    for (const id of ['{5e1f}', '7', 'a:b%3A']) {
      assert.equal(processKey(host, 7, id), entityKey('process', host, id));
      assert.deepEqual(processKeyParts(processKey(host, 7, id)!), { host, id });
    }
  }
  assert.equal(processKey('h', undefined), undefined);
  assert.equal(processKeyParts('host:h'), undefined);
  assert.equal(processKeyParts('process:h'), undefined);
  assert.equal(processKeyParts('process:h:1:2'), undefined);
});
