import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent, EventAction, ProcessFields } from '../model/event.js';
import { ProcessTable } from './process-table.js';

const MINUTE = 60_000;

function ev(host: string, ts: number, process: ProcessFields, action: EventAction = 'exec'): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], action, dataset: 't' },
    host: { name: host },
    process,
    original: {},
    coalmine: { ts, format: 't', ref: { file: 'f', line: 1 } },
  };
}

test('processes are found per host by pid, and by id when the source names one', () => {
  const t = new ProcessTable(1000);
  t.observe(ev('a', 0, { pid: 7, name: 'xmrig' }));
  t.observe(ev('b', 0, { pid: 7, name: 'nginx' }));
  t.observe(ev('a', 0, { pid: 7, entity_id: '{g}', name: 'svchost.exe' }));
  assert.equal(t.lookup('a', 7, undefined)?.name, 'xmrig');
  assert.equal(t.lookup('b', 7, undefined)?.name, 'nginx');
  assert.equal(t.lookup('a', 7, '{g}')?.name, 'svchost.exe');
  assert.equal(t.lookup('c', 7, undefined), undefined);
  assert.equal(t.size, 3);
  // the same process by key, as lineage and evidence name it
  const p = t.lookup('a', 7, undefined)!;
  assert.equal(t.get(p.key), p);
  // a later event of the same pid updates it in place
  t.observe(ev('a', MINUTE, { pid: 7 }, 'connect'));
  assert.equal(t.size, 3);
  assert.equal(p.lastTs, MINUTE);
});

test('a parent is created from what its child says and joins the lineage', () => {
  const t = new ProcessTable(1000);
  t.observe(ev('a', 0, { pid: 1, name: 'systemd' }));
  t.observe(ev('a', 0, { pid: 50, name: 'bash', parent: { pid: 1 } }));
  const miner = t.observe(ev('a', 0, { pid: 60, name: 'xmrig', parent: { pid: 50, name: 'bash' } }))!;
  assert.deepEqual(
    t.lineage(miner.key).map((p) => p.pid),
    [60, 50],
  );
  assert.equal(miner.rootKey, t.lookup('a', 50, undefined)?.key);
});

test('idle processes are evicted by minute of last touch; touched ones stay', () => {
  const t = new ProcessTable(100_000);
  for (let pid = 1; pid <= 1000; pid++) t.observe(ev('h', 0, { pid, name: 'ls' }));
  // pids 1..10 keep running: touched every minute for an hour
  for (let m = 1; m <= 60; m++) for (let pid = 1; pid <= 10; pid++) t.observe(ev('h', m * MINUTE, { pid }, 'metric'));
  t.evictIdle(30 * MINUTE);
  assert.equal(t.size, 10);
  assert.equal(t.evicted, 990);
  assert.equal(t.lookup('h', 500, undefined), undefined);
  assert.ok(t.lookup('h', 5, undefined));
  // an evicted pid seen again is a new process
  const again = t.observe(ev('h', 61 * MINUTE, { pid: 500, name: 'cat' }))!;
  assert.equal(again.firstTs, 61 * MINUTE);
  t.evictIdle(120 * MINUTE);
  assert.equal(t.size, 0);
});

test('past the bound, the least recently touched processes go first, ids included', () => {
  const t = new ProcessTable(100);
  for (let i = 0; i < 300; i++)
    t.observe(ev('h', i * MINUTE, i % 2 === 0 ? { pid: i } : { pid: i, entity_id: `{${i}}` }));
  assert.ok(t.size <= 100, `size ${t.size}`);
  assert.equal(t.size + t.evicted, 300);
  assert.ok(t.lookup('h', 298, undefined), 'the newest stays');
  assert.ok(t.lookup('h', 299, '{299}'));
  assert.equal(t.lookup('h', 0, undefined), undefined, 'the oldest went');
  assert.equal(t.lookup('h', 1, '{1}'), undefined);
});

test('a process is found by its key while the table holds it, whatever its host and id hold', () => {
  const t = new ProcessTable(1000);
  const keys: string[] = [];
  for (const host of ['h', 'a:b', '100%', 'x%3Ay']) {
    const byPid = t.observe(ev(host, 0, { pid: 7, name: 'sh' }))!;
    const byId = t.observe(ev(host, 0, { pid: 8, entity_id: '{7}' }))!;
    const odd = t.observe(ev(host, 0, { pid: 9, entity_id: '{a:%3A}', parent: { pid: 7 } }))!;
    for (const p of [byPid, byId, odd]) assert.equal(t.get(p.key), p, p.key);
    assert.deepEqual(
      t.lineage(odd.key).map((p) => p.pid),
      [9, 7],
    );
    keys.push(byPid.key, byId.key, odd.key);
  }
  assert.equal(t.size, 12);
  assert.equal(t.get('process:other:7'), undefined);
  assert.equal(t.get('host:h'), undefined);
  t.evictIdle(10 * MINUTE);
  assert.equal(t.size, 0);
  for (const key of keys) assert.equal(t.get(key), undefined, key);
});
