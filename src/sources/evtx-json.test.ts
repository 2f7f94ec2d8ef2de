import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { evtxJson, renderValue } from './evtx-json.js';
import { sniffSource } from './index.js';

const good = fileInput('test/fixtures/evtx-json/good.jsonl');
const bad = fileInput('test/fixtures/evtx-json/bad.jsonl');
runSourceContract({
  source: evtxJson,
  good,
  bad,
  // the file copied while a record was written: it ends inside a string value
  cut: cutLineCase(good, 0, '"Image":"', 'cutmin-exe'),
});

test('evtx_dump JSON lines map through the shared Windows mapping, unused events skipped', async () => {
  const { events, issues } = await readAll(evtxJson, good);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.event.action, e.coalmine.ref.line]),
    [
      ['evtx-json.sysmon.1', 'exec', 1],
      ['evtx-json.sysmon.3', 'connect', 2],
      ['evtx-json.sysmon.22', 'dns-query', 3],
      ['evtx-json.security.4688', 'exec', 4],
      ['evtx-json.security.4698', 'persistence-entry', 5],
    ],
  );
  const [exec, connect, dns, sec, task] = events;
  assert.equal(exec['@timestamp'], '2024-05-23T17:26:08.686Z');
  assert.equal(exec.process?.pid, 4120);
  assert.equal(exec.process?.parent?.pid, 3000);
  assert.equal(exec.host?.name, 'ws-01.corp.example');
  assert.equal(exec.original.UserID, 'S-1-5-18');
  assert.deepEqual(connect.destination, { ip: '192.0.2.10', port: 443, domain: 'updates.example.com' });
  assert.equal(connect.network?.direction, 'outbound');
  assert.equal(connect.event.id, '1002');
  assert.deepEqual(dns.dns?.resolved_ip, ['192.0.2.10']);
  assert.equal(sec.process?.pid, 0x1a2c);
  assert.equal(sec.process?.command_line, undefined);
  assert.deepEqual(task.coalmine.persistence, {
    mechanism: 'scheduled-task',
    target: 'C:\\Windows\\System32\\notepad.exe',
  });
});

test('bad lines are issues with their line; the good records are kept', async () => {
  const { events, issues } = await readAll(evtxJson, bad);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 7],
  );
  assert.deepEqual(
    issues.map((i) => [i.code, i.line]),
    [
      ['EVTX_JSON_BAD_JSON', 2],
      ['EVTX_JSON_BAD_EVENT', 3],
      ['EVTX_JSON_BAD_EVENT', 4],
      ['EVTX_JSON_BAD_EVENT', 5],
      ['EVTX_JSON_BAD_EVENT', 6],
    ],
  );
});

test('`Record N` lines and a one-record-per-line JSON array are read', async () => {
  const lines = good.head.toString('utf8').trim().split('\n');
  const withRecords = lines.map((l, i) => `Record ${i + 1}\n${l}`).join('\n');
  const a = await readAll(evtxJson, memoryInput('r.json', withRecords));
  assert.deepEqual(a.issues, []);
  assert.equal(a.events.length, 5);
  assert.ok(evtxJson.sniff(withRecords, { name: 'r.json' }) > 0);
  const array = `[\n${lines.join(',\n')}\n]\n`;
  const b = await readAll(evtxJson, memoryInput('a.json', array));
  assert.deepEqual(b.issues, []);
  assert.equal(b.events.length, 5);
  const oneLine = `[${lines.join(',')}]`;
  const c = await readAll(evtxJson, memoryInput('c.json', oneLine));
  assert.deepEqual(c.issues, []);
  assert.equal(c.events.length, 5);
  assert.equal(sniffSource({ head: Buffer.from(oneLine), name: 'c.json' })?.name, 'evtx-json');
});

test('unnamed Data elements become param1.., numbers render as decimal text', async () => {
  const rec = {
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing' } },
        EventID: 4689,
        TimeCreated: { '#attributes': { SystemTime: '2024-05-23T17:26:08Z' } },
        Computer: 'h',
      },
      EventData: { ProcessId: 6700, ProcessName: 'C:\\a.exe', Data: { '#text': ['x', 2] } },
    },
  };
  const { events } = await readAll(evtxJson, memoryInput('u.json', JSON.stringify(rec)));
  assert.deepEqual(events[0].process, { pid: 6700, executable: 'C:\\a.exe', name: 'a.exe' });
  const data = events[0].original.EventData as Record<string, string>;
  assert.equal(data.param1, 'x');
  assert.equal(data.param2, '2');
  assert.equal(renderValue(1.5e300), '1.5e+300');
  assert.equal(renderValue({ a: 1 }), undefined);
});

test('sniff picks evtx-json over ndjson and does not claim other JSON', () => {
  assert.equal(sniffSource({ head: good.head, name: good.name })?.name, 'evtx-json');
  assert.equal(evtxJson.sniff('{"@timestamp":"2024-01-01T00:00:00Z","event":{"action":"exec"}}\n', { name: 'x' }), 0);
  const cut = good.head.toString('utf8').split('\n')[0].slice(0, 300);
  assert.ok(evtxJson.sniff(cut, { name: 'x' }) > 80);
});

test('pretty-printed records (evtx_dump default output, a pretty JSON array) are read at their first line', async () => {
  const lines = good.head.toString('utf8').trim().split('\n');
  const records = lines.map((l) => JSON.stringify(JSON.parse(l), null, 2));
  const dump = records.map((r, i) => `Record ${i + 1}\n${r}`).join('\n');
  assert.equal(sniffSource({ head: Buffer.from(dump), name: 'd.txt' })?.name, 'evtx-json');
  const a = await readAll(evtxJson, memoryInput('d.txt', dump));
  assert.deepEqual(a.issues, []);
  assert.equal(a.events.length, 5);
  assert.equal(a.events[0].coalmine.ref.line, 2);
  const array = JSON.stringify(
    lines.map((l) => JSON.parse(l)),
    null,
    2,
  );
  const b = await readAll(evtxJson, memoryInput('p.json', array));
  assert.deepEqual(b.issues, []);
  assert.equal(b.events.length, 5);
  // a record cut by the next `Record N` line is reported; the next one is read
  const cut = `Record 1\n${records[0].split('\n').slice(0, 5).join('\n')}\nRecord 2\n${records[1]}\n`;
  const c = await readAll(evtxJson, memoryInput('c.txt', cut));
  assert.deepEqual(
    c.issues.map((i) => [i.code, i.line]),
    [['EVTX_JSON_TRUNCATED', 2]],
  );
  assert.equal(c.events.length, 1);
  const end = await readAll(evtxJson, memoryInput('e.txt', records[0].split('\n').slice(0, 5).join('\n')));
  assert.deepEqual(
    end.issues.map((i) => i.code),
    ['EVTX_JSON_TRUNCATED'],
  );
});
