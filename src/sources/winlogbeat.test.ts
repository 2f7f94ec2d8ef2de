import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { sniffSource } from './index.js';
import { ndjson } from './ndjson.js';
import { winlogbeat } from './winlogbeat.js';

const good = fileInput('test/fixtures/winlogbeat/good.ndjson');
const bad = fileInput('test/fixtures/winlogbeat/bad.ndjson');
runSourceContract({
  source: winlogbeat,
  good,
  bad,
  // the file copied while a record was written: it ends inside a string value
  cut: cutLineCase(good, 0, '"Image":"', 'cutmin-exe'),
});

test('Winlogbeat documents map through the shared Windows mapping, unused events skipped', async () => {
  const { events, issues } = await readAll(winlogbeat, good);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.event.action, e.coalmine.ref.line]),
    [
      ['winlogbeat.sysmon.1', 'exec', 1],
      ['winlogbeat.sysmon.3', 'connect', 2],
      ['winlogbeat.sysmon.22', 'dns-query', 3],
      ['winlogbeat.security.4688', 'exec', 4],
      ['winlogbeat.security.4698', 'persistence-entry', 5],
    ],
  );
  const [exec, connect, , sec, task] = events;
  assert.equal(exec['@timestamp'], '2024-05-23T17:26:08.686Z');
  assert.equal(exec.host?.name, 'ws-01.corp.example');
  assert.equal(exec.process?.entity_id, '5c1b1d2e-1a2b-6650-0b00-000000001f00');
  assert.equal(exec.original.UserID, 'S-1-5-18');
  assert.equal(exec.original.ProcessID, 2044);
  assert.equal(exec.event.id, '1001');
  assert.deepEqual(connect.source, { ip: '10.0.0.5', port: 49812 });
  assert.equal(sec['@timestamp'], '2024-05-23T17:30:00.123Z');
  assert.equal(sec.process?.parent?.pid, 0xbb8);
  assert.equal(task.file?.path, '\\NotesBackup');
});

test('bad documents are issues with their line; good ones are kept', async () => {
  const { events, issues } = await readAll(winlogbeat, bad);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 6],
  );
  assert.deepEqual(
    issues.map((i) => [i.code, i.line]),
    [
      ['WINLOGBEAT_BAD_JSON', 2],
      ['WINLOGBEAT_BAD_EVENT', 3],
      ['WINLOGBEAT_BAD_EVENT', 4],
      ['WINLOGBEAT_BAD_EVENT', 5],
      ['WINLOGBEAT_BAD_EVENT', 5],
    ],
  );
});

test('sniff beats ndjson on Winlogbeat (which also has @timestamp and event.action), not on ndjson', () => {
  const head = good.head.toString('utf8');
  assert.ok(winlogbeat.sniff(head, good) > ndjson.sniff(head, good));
  assert.equal(sniffSource({ head: good.head, name: good.name })?.name, 'winlogbeat');
  const cut = head.split('\n')[0].slice(0, 700);
  assert.ok(winlogbeat.sniff(cut, good) > ndjson.sniff(cut, good));
  const ndjsonFixture = fileInput('test/fixtures/ndjson/good.ndjson');
  assert.equal(sniffSource(ndjsonFixture)?.name, 'ndjson');
});

test('user_data leaves are data values; a missing computer falls back to host.name', async () => {
  const doc = {
    '@timestamp': '2024-05-23T17:26:08.000Z',
    host: { name: 'ws-09' },
    winlog: {
      provider_name: 'Microsoft-Windows-Security-Auditing',
      event_id: 4688,
      user_data: { X: { NewProcessName: 'C:\\b.exe', NewProcessId: '0x10' } },
    },
  };
  const { events, issues } = await readAll(winlogbeat, memoryInput('u.json', JSON.stringify(doc)));
  assert.deepEqual(issues, []);
  assert.equal(events[0].host?.name, 'ws-09');
  assert.deepEqual(events[0].process, { pid: 16, executable: 'C:\\b.exe', name: 'b.exe' });
});
