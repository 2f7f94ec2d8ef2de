import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent, EventAction } from '../model/event.js';
import { instanceName, ProcessIdentity } from './identity.js';

function ev(action: EventAction, process: CoalEvent['process'], kind: CoalEvent['event']['kind'] = 'event'): CoalEvent {
  return {
    '@timestamp': '2026-12-01T10:00:00Z',
    event: { kind, category: [], action, dataset: 't' },
    host: { name: 'WS1' },
    process,
    original: {},
    coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
  };
}

test('instance names compare as typeperf and Sysmon both spell them', () => {
  assert.equal(instanceName('XMRig.exe'), 'xmrig');
  assert.equal(instanceName('xmrig#1'), 'xmrig');
  assert.equal(instanceName('svchost#12'), 'svchost');
});

test('a pid-only event is keyed by the ProcessGuid last seen with that pid, until that process exits', () => {
  const id = new ProcessIdentity();
  id.learn(ev('exec', { pid: 4242, entity_id: '{a}', name: 'xmrig.exe', parent: { pid: 100, entity_id: '{p}' } }));
  const conn = ev('connect', { pid: 4242 });
  id.resolve(conn);
  assert.equal(conn.process?.entity_id, '{a}');
  const child = ev('exec', { pid: 5000, parent: { pid: 100 } });
  id.resolve(child);
  assert.equal(child.process?.parent?.entity_id, '{p}', 'the parent pid resolves too');
  id.learn(ev('exit', { pid: 4242, entity_id: '{a}' }));
  const later = ev('connect', { pid: 4242 });
  id.resolve(later);
  assert.equal(later.process?.entity_id, undefined, 'a reused pid is a new process');
});

test('a metric naming only an instance gets the pid and guid of the latest process started with that name', () => {
  const id = new ProcessIdentity();
  id.learn(ev('exec', { pid: 1, entity_id: '{old}', executable: 'C:\\x\\XMRig.exe' }));
  id.learn(ev('exec', { pid: 2, entity_id: '{new}', executable: 'C:\\x\\XMRig.exe' }));
  const metric = ev('metric', { name: 'xmrig' }, 'metric');
  id.resolve(metric);
  assert.deepEqual([metric.process?.pid, metric.process?.entity_id], [2, '{new}']);
  const other = ev('metric', { name: 'msbuild' }, 'metric');
  id.resolve(other);
  assert.equal(other.process?.pid, undefined, 'an unknown instance stays unattributed');
  const connect = ev('connect', { name: 'xmrig' });
  id.resolve(connect);
  assert.equal(connect.process?.pid, undefined, 'names resolve only resource samples, never evidence of action');
});

test('aliases stay bounded', () => {
  const id = new ProcessIdentity();
  for (let i = 0; i < 70_000; i++) id.learn(ev('exec', { pid: i, entity_id: `{${i}}`, name: `p${i}` }));
  assert.ok(id.size <= 2 * 65536);
});
