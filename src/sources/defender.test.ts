import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runLineFuzz,
  runSourceContract,
  seeded,
  TEST_CONTEXT,
} from './contract.js';
import { defender } from './defender.js';
import { sniffSource } from './index.js';
import { type WinEvent, winEventToCoal } from './win-event.js';

const DIR = 'test/fixtures/defender';
const csvGood = fileInput(`${DIR}/an0741-miner/DeviceProcessEvents.csv`);
const linesGood = fileInput(`${DIR}/an0741-miner/streaming.json`);
const apiGood = fileInput(`${DIR}/an0741-miner/DeviceNetworkEvents.json`);
const unionCsv = fileInput(`${DIR}/an0741-benign/union.csv`);
const eventHub = fileInput(`${DIR}/an0741-benign/eventhub.json`);
const services = fileInput(`${DIR}/DeviceEvents-ServiceInstalled.json`);

runSourceContract({
  source: defender,
  good: csvGood,
  bad: fileInput(`${DIR}/bad.csv`),
  // the export copied while the miner's row was written: it ends inside the quoted command line
  cut: cutLineCase(csvGood, 4, '-o stratum+tcp://', 'pool.cutoff-example.net:3'),
});

runSourceContract({
  source: defender,
  good: linesGood,
  bad: fileInput(`${DIR}/bad.json`),
  cut: cutLineCase(linesGood, 3, 'DnsQueryString\\":\\"', 'pool.cutoff-example.net'),
  skip: {
    oversized:
      'the shape (CSV, JSON lines, one JSON document) is told from the head: a first line longer than the head reads as CSV, reported as LINE_TOO_LONG then a bad header',
  },
});

function byLine(events: CoalEvent[], line: number): CoalEvent {
  const e = events.find((x) => x.coalmine.ref.line === line);
  assert.ok(e, `no event on line ${line}`);
  return e;
}

test('a ProcessCreated row is an exec of FileName/FolderPath whose parent is the initiating process, ids and all', async () => {
  const { events, issues } = await readAll(defender, csvGood);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action, e.event.dataset, e.process?.pid]),
    [
      [2, 'exec', 'defender.DeviceProcessEvents', 5880],
      [3, 'exec', 'defender.DeviceProcessEvents', 6010],
      [4, 'exec', 'defender.DeviceProcessEvents', 6044],
      [5, 'exec', 'defender.DeviceProcessEvents', 6120],
    ],
  );
  const miner = byLine(events, 5);
  assert.equal(miner['@timestamp'], '2026-11-30T09:00:12.000Z');
  assert.equal(miner.event.id, '1007');
  assert.deepEqual(miner.host, {
    name: 'WS-FIN-07',
    id: '5f1c0a9e7b3d4c2a8e6f0b1d3c5a7e9f1b2d4c6e',
    os: { platform: 'windows' },
  });
  const p = miner.process;
  assert.equal(p?.entity_id, '2533274790396004');
  assert.equal(p?.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');
  assert.equal(p?.name, 'winupdsvc.exe');
  assert.match(p?.command_line ?? '', /^"C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc\.exe" -o stratum\+tcp:/);
  assert.equal(p?.start, '2026-11-30T09:00:12.000Z');
  assert.deepEqual(p?.hash, { sha256: '3f6a1f3c0b9f4d6c2f1b7e8a9d0c5b4a3e2f1d0c9b8a7f6e5d4c3b2a1f0e9d8c' });
  assert.deepEqual(p?.user, { name: 'ws-fin-07\\jdoe' });
  assert.deepEqual(p?.parent, {
    entity_id: '2533274790396001',
    pid: 5880,
    name: 'powershell.exe',
    executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    command_line: byLine(events, 2).process?.command_line,
  });
  assert.equal(miner.original.ProcessUniqueId, '2533274790396004');
});

test('API answer rows: connections with both ends, the pool domain, and the actor with its own parent', async () => {
  const { events, issues } = await readAll(defender, apiGood);
  assert.deepEqual(issues, []);
  assert.equal(events.length, 2);
  const pool = events[1];
  assert.equal(pool.event.action, 'connect');
  assert.equal(pool.event.dataset, 'defender.DeviceNetworkEvents');
  assert.deepEqual(pool.source, { ip: '10.20.4.17', port: 50233 });
  assert.deepEqual(pool.destination, { ip: '198.51.100.7', port: 3333, domain: 'pool.supportxmr.com' });
  assert.deepEqual(pool.network, { direction: 'outbound', transport: 'tcp' });
  assert.equal(pool.process?.entity_id, '2533274790396004');
  assert.equal(pool.process?.pid, 6120);
  assert.deepEqual(pool.process?.parent, { pid: 5880, name: 'powershell.exe' });
  // the row's line is where its object opens in the pretty-printed answer
  assert.equal(pool.coalmine.ref.line, 148);
});

test('streaming records: DeviceInfo is unused, registry hives as Sysmon spells them, a driver load of its own, DNS, a task', async () => {
  const { events, issues } = await readAll(defender, linesGood);
  assert.deepEqual(issues, []);
  assert.equal((await countsOf(defender, linesGood)).unused, 1);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action, e.event.dataset]),
    [
      [2, 'registry-set', 'defender.DeviceRegistryEvents'],
      [3, 'driver-load', 'defender.DeviceEvents'],
      [4, 'dns-query', 'defender.DeviceEvents'],
      [5, 'persistence-entry', 'defender.DeviceEvents'],
    ],
  );
  const [registry, driver, dns, task] = events;
  assert.deepEqual(registry.registry, {
    path: 'HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc',
    value: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc',
    data: '0',
  });
  assert.equal(registry.process?.name, 'MsMpEng.exe');
  assert.deepEqual(driver.file, {
    path: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\WinRing0x64.sys',
    name: 'WinRing0x64.sys',
    hash: { sha256: '11bd2c9f8e3397c9a16e0990e4ed2cf0679498fe0fd418a3dfdac60b5c160ee5' },
  });
  assert.equal(driver.process, undefined, 'the kernel Defender names as the loader is not the driver’s process');
  assert.deepEqual(dns.dns, { question: { name: 'pool.supportxmr.com' }, resolved_ip: ['198.51.100.7'] });
  assert.equal(dns.process?.entity_id, '2533274790396004');
  assert.deepEqual(task.coalmine.persistence, {
    mechanism: 'scheduled-task',
    target: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
  });
  assert.deepEqual(task.file, {
    path: '\\Microsoft\\Windows\\WinSvc\\Updater',
    line: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe -o stratum+tcp://pool.supportxmr.com:3333 -B',
  });
  assert.deepEqual(task.process, { command_line: task.file?.line, user: { name: 'jdoe' } });
  assert.deepEqual(task.host?.os, { platform: 'windows' }, 'DeviceInfo said Windows11');
});

test('the table is named by a $table column, an Event Hub category, the file name, or the ActionType alone', async () => {
  const union = await readAll(defender, unionCsv);
  assert.deepEqual(union.issues, []);
  assert.deepEqual(
    union.events.map((e) => [e.event.dataset, e.event.action]),
    [
      ['defender.DeviceProcessEvents', 'exec'],
      ['defender.DeviceProcessEvents', 'exec'],
      ['defender.DeviceProcessEvents', 'exec'],
      ['defender.DeviceProcessEvents', 'exec'],
      ['defender.DeviceEvents', 'dns-query'],
      ['defender.DeviceNetworkEvents', 'connect'],
      ['defender.DeviceProcessEvents', 'exec'],
      ['defender.DeviceEvents', 'dns-query'],
      ['defender.DeviceNetworkEvents', 'connect'],
    ],
  );
  const hub = await readAll(defender, eventHub);
  assert.deepEqual(hub.issues, []);
  assert.deepEqual(
    hub.events.map((e) => [e.coalmine.ref.line, e.event.dataset, e.event.action]),
    [[2, 'defender.DeviceEvents', 'persistence-entry']],
  );
  assert.deepEqual(await countsOf(defender, eventHub), { events: 1, issues: 0, unused: 2 });
  // a plain JSON array of rows with no table anywhere: ActionType says what each is
  const rows = [
    {
      Timestamp: '2026-11-30T09:00:00Z',
      DeviceName: 'ws-1',
      ActionType: 'ProcessCreated',
      FileName: 'a.exe',
      ProcessId: 7,
    },
    { Timestamp: '2026-11-30T09:00:01Z', DeviceName: 'ws-1', FileName: 'b.exe', ProcessId: 8 },
    { Timestamp: '2026-11-30T09:00:02Z', DeviceName: 'ws-1', Table: 'DeviceProcessEvents', FileName: 'c.exe' },
  ];
  const plain = await readAll(defender, memoryInput('rows.json', JSON.stringify(rows, null, 1)));
  assert.deepEqual(
    plain.events.map((e) => [e.process?.name, e.event.dataset]),
    [
      ['a.exe', 'defender.unknown'],
      ['c.exe', 'defender.DeviceProcessEvents'],
    ],
  );
  assert.deepEqual(
    plain.issues.map((i) => [i.file, i.line, i.code, i.reason]),
    [
      [
        'rows.json',
        9,
        'DEFENDER_BAD_RECORD',
        'row has no ActionType and names no table (a $table or Table column, the record category or the file name)',
      ],
    ],
  );
  // the same projected row saved under its table's name is read as that table
  const named = await readAll(
    defender,
    memoryInput('exports/DeviceProcessEvents-2026-11-30.json', JSON.stringify([rows[1]])),
  );
  assert.deepEqual(
    named.events.map((e) => [e.event.action, e.process?.name]),
    [['exec', 'b.exe']],
  );
});

test('Graph answers, Event Hub batches and pretty-printed batches are read row by row', async () => {
  const row = (n: number) => ({
    Timestamp: `2026-11-30T09:00:0${n}Z`,
    DeviceName: 'ws-1',
    ActionType: 'ConnectionSuccess',
    RemoteIP: '198.51.100.7',
    RemotePort: 3333,
    InitiatingProcessId: 100 + n,
  });
  const graph = { '@odata.context': 'x', schema: [{ name: 'Timestamp', type: 'DateTime' }], results: [row(1), row(2)] };
  const record = (n: number) => ({ time: 'x', category: 'AdvancedHunting-DeviceNetworkEvents', properties: row(n) });
  const shapes: Array<[string, string]> = [
    ['graph.json', JSON.stringify(graph)],
    ['graph-pretty.json', JSON.stringify(graph, null, 2)],
    ['hub.json', `${JSON.stringify({ records: [record(1)] })}\n${JSON.stringify({ records: [record(2)] })}\n`],
    ['hub-pretty.json', JSON.stringify({ records: [record(1), record(2)] }, null, 2)],
    ['array.json', JSON.stringify([record(1), record(2)])],
  ];
  for (const [name, text] of shapes) {
    const input = memoryInput(name, text);
    assert.equal(sniffSource(input)?.name, 'defender', name);
    const { events, issues } = await readAll(defender, input);
    assert.deepEqual(issues, [], name);
    assert.deepEqual(
      events.map((e) => e.process?.pid),
      [101, 102],
      name,
    );
  }
  // a record of another Azure category in the same capture is not ours: unused
  const other = JSON.stringify({ time: 'x', category: 'AuditEvent', properties: { Timestamp: 'y' } });
  assert.deepEqual(await countsOf(defender, memoryInput('mixed.json', `${JSON.stringify(record(1))}\n${other}\n`)), {
    events: 1,
    issues: 0,
    unused: 1,
  });
});

test('connections inbound and failed, listeners, inspected DNS, file writes and task XML map as Sysmon would', async () => {
  const base = { Timestamp: '2026-11-30T09:00:00Z', DeviceName: 'ws-1', InitiatingProcessId: 900 };
  const rows = [
    {
      ...base,
      ActionType: 'InboundConnectionAccepted',
      RemoteIP: '203.0.113.9',
      RemotePort: 52694,
      LocalIP: '10.0.0.5',
      LocalPort: 8080,
      Protocol: 'TcpV4',
    },
    { ...base, ActionType: 'ConnectionFailed', RemoteIP: '198.51.100.7', RemotePort: 3333, Protocol: 'Tcp' },
    { ...base, ActionType: 'ListeningConnectionCreated', LocalIP: '0.0.0.0', LocalPort: 4444, Protocol: 'Tcp' },
    {
      ...base,
      InitiatingProcessId: 0,
      ActionType: 'DnsConnectionInspected',
      RemoteIP: '192.168.1.1',
      RemotePort: 53,
      LocalIP: '192.168.1.74',
      LocalPort: 57504,
      AdditionalFields: JSON.stringify({ query: 'pool.example.org', answers: '["52.184.216.174"]' }),
    },
    {
      ...base,
      Table: 'DeviceFileEvents',
      ActionType: 'FileCreated',
      FileName: 'x.exe',
      FolderPath: 'C:\\Users\\u\\AppData\\Local\\Temp\\x.exe',
      FileOriginUrl: 'http://198.51.100.7/x.exe',
    },
    {
      ...base,
      ActionType: 'ScheduledTaskUpdated',
      AdditionalFields: {
        TaskName: '\\Updater',
        TaskContent:
          '<Task><Actions><Exec><Command>"C:\\ProgramData\\svc.exe"</Command><Arguments>-B</Arguments></Exec></Actions></Task>',
      },
    },
    {
      ...base,
      ActionType: 'RegistryKeyCreated',
      RegistryKey: 'HKEY_CURRENT_USER\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
    },
    { ...base, ActionType: 'PowerShellCommand', AdditionalFields: '{"Command":"Get-Date"}' },
  ];
  const input = memoryInput('mixed.json', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const { events, issues } = await readAll(defender, input);
  assert.deepEqual(issues, []);
  const [inbound, failed, listen, dns, file, task, registry] = events;
  assert.deepEqual(
    [inbound.event.action, inbound.source, inbound.destination, inbound.network],
    [
      'connect',
      { ip: '203.0.113.9', port: 52694 },
      { ip: '10.0.0.5', port: 8080 },
      { direction: 'inbound', transport: 'tcp' },
    ],
  );
  assert.equal(failed.event.outcome, 'failure');
  assert.deepEqual([listen.event.action, listen.source], ['listen', { ip: '0.0.0.0', port: 4444 }]);
  assert.deepEqual(dns.dns, { question: { name: 'pool.example.org' }, resolved_ip: ['52.184.216.174'] });
  assert.equal(dns.process, undefined);
  assert.deepEqual(dns.destination, { ip: '192.168.1.1', port: 53 });
  assert.deepEqual(
    [file.event.action, file.file?.path, file.url],
    ['file-write', 'C:\\Users\\u\\AppData\\Local\\Temp\\x.exe', { full: 'http://198.51.100.7/x.exe' }],
  );
  assert.deepEqual(
    [task.event.type, task.file?.line, task.coalmine.persistence],
    [['change'], '"C:\\ProgramData\\svc.exe" -B', { mechanism: 'scheduled-task', target: 'C:\\ProgramData\\svc.exe' }],
  );
  assert.equal(registry.registry?.path, 'HKCU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run');
  assert.equal((await countsOf(defender, input)).unused, 1, 'PowerShellCommand is read whole and unused');
});

test('a Linux device: paths say the platform, and the user is the bare account name', async () => {
  const row = {
    Timestamp: '2026-11-30T09:00:00Z',
    DeviceName: 'web-7',
    ActionType: 'ProcessCreated',
    FileName: 'xmrig',
    FolderPath: '/tmp/.x/xmrig',
    ProcessId: 4120,
    ProcessCommandLine: './xmrig -o pool.supportxmr.com:3333',
    AccountDomain: 'web-7',
    AccountName: 'www-data',
    InitiatingProcessFileName: 'bash',
    InitiatingProcessFolderPath: '/usr/bin',
    InitiatingProcessId: 4101,
  };
  const { events } = await readAll(defender, memoryInput('linux.json', `${JSON.stringify(row)}\n`));
  assert.deepEqual(events[0].host?.os, { platform: 'linux' });
  assert.deepEqual(events[0].process?.user, { name: 'www-data' });
  assert.equal(events[0].process?.executable, '/tmp/.x/xmrig');
  assert.equal(events[0].process?.parent?.executable, '/usr/bin/bash');
});

test('a quoted CSV field may span lines; one never closed is reported at its first line and reading goes on', async () => {
  const header = 'Timestamp,DeviceName,ActionType,FileName,ProcessId,ProcessCommandLine';
  const multi = `2026-11-30T09:00:00Z,ws-1,ProcessCreated,powershell.exe,10,"powershell -c ""a""\nGet-Date"`;
  const open = `2026-11-30T09:00:01Z,ws-1,ProcessCreated,cmd.exe,11,"cmd /c ${'x\n'.repeat(70)}`;
  const after = '2026-11-30T09:00:02Z,ws-1,ProcessCreated,calc.exe,12,calc';
  const text = `${header}\n${multi}\n${open}\n${after}\n`;
  const { events, issues } = await readAll(defender, memoryInput('multi.csv', text));
  assert.equal(events[0].process?.command_line, 'powershell -c "a"\nGet-Date');
  assert.equal(events[0].coalmine.ref.line, 2);
  assert.deepEqual([issues[0].line, issues[0].code], [4, 'DEFENDER_BAD_RECORD']);
  // the lines after the 64 joined ones are read as rows of their own: each a short row, reported
  for (const i of issues.slice(1)) assert.match(i.reason, /^row has 1 fields where the header names 6$/);
  assert.match(issues[0].reason, /quoted field is not closed within 64 lines/);
  assert.deepEqual(
    events.map((e) => e.process?.pid),
    [10, 12],
  );
});

test('hostile values stay bounded: long command lines are clipped, oversized AdditionalFields are not parsed', async () => {
  const row = {
    Timestamp: '2026-11-30T09:00:00Z',
    DeviceName: 'ws-1',
    ActionType: 'ProcessCreated',
    FileName: 'a.exe',
    ProcessId: 7,
    ProcessCommandLine: `a.exe ${'A'.repeat(100_000)}`,
    Extra: { nested: 'B'.repeat(50_000) },
  };
  const dns = {
    Timestamp: '2026-11-30T09:00:00Z',
    DeviceName: 'ws-1',
    ActionType: 'DnsQueryResponse',
    AdditionalFields: JSON.stringify({ DnsQueryString: 'x.example', pad: 'C'.repeat(70_000) }),
  };
  const input = memoryInput('big.json', `${JSON.stringify(row)}\n${JSON.stringify(dns)}\n`, {});
  const { events, issues } = await readAll(defender, input, { ...TEST_CONTEXT, maxLineBytes: 1024 * 1024 });
  assert.ok((events[0].process?.command_line?.length ?? 0) < 8300);
  assert.ok(JSON.stringify(events[0].original).length < 30_000);
  assert.deepEqual(
    issues.map((i) => [i.line, i.reason]),
    [[2, 'DnsQueryResponse row has no query name in AdditionalFields']],
  );
});

runLineFuzz(defender, {
  from: [linesGood],
  seed: 1807,
  keys: /"(Timestamp|DeviceName|ActionType|category|properties|AdditionalFields|InitiatingProcessId|FolderPath|RegistryKey)":/g,
  junk: ['"x"'],
  keepFirstLine: true,
});

test('fuzz: mutated CSV rows never throw, and every issue names its line', async () => {
  const lines = csvGood.head.toString('utf8').split('\n');
  const rand = seeded(4242);
  const junk = ['', '"', '""', ',', '\n', 'x', '"a,b"', '-1', '\u0000'];
  for (let round = 0; round < 200; round++) {
    const out = [lines[0]];
    for (const line of lines.slice(1)) {
      const at = rand(line.length + 1);
      out.push(rand(3) === 0 ? line : `${line.slice(0, at)}${junk[rand(junk.length)]}${line.slice(at + rand(30))}`);
    }
    const input = memoryInput(`fuzz-${round}.csv`, out.join('\n'));
    const { events, issues } = await readAll(defender, input);
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, JSON.stringify(i));
    assert.ok(events.length + issues.length >= 1, `round ${round}`);
  }
});

test('every shape of ours and the public samples sniff as defender and read without issues', async () => {
  const ours = [
    csvGood,
    linesGood,
    apiGood,
    unionCsv,
    eventHub,
    fileInput(`${DIR}/linux-miner/union.json`),
    fileInput(`${DIR}/linux-benign/hunting-results.json`),
    ...['m365d-api', 'mde-api', 'graph'].map((n) =>
      fileInput(`test/fixtures/public/defender/DeviceProcessEvents-${n}.json`),
    ),
  ];
  for (const input of ours) assert.equal(sniffSource(input)?.name, 'defender', input.name);
  for (const name of ['m365d-api', 'mde-api', 'graph']) {
    const input = fileInput(`test/fixtures/public/defender/DeviceProcessEvents-${name}.json`);
    const { events, issues } = await readAll(defender, input);
    assert.deepEqual(issues, [], name);
    assert.equal(events.length, 2, name);
    for (const e of events) {
      assert.equal(e.event.action, 'exec');
      assert.equal(e.process?.parent?.name, 'powershell.exe');
    }
  }
});

test('no other format’s fixture is claimed: every file under test/fixtures and examples outside defender sniffs 0', () => {
  assert.deepEqual(fixturesClaimedBy(defender), []);
});

test('a CSV header naming __proto__ or constructor columns is read as columns, nothing more', async () => {
  const text =
    'Timestamp,DeviceName,ActionType,__proto__,constructor,FileName,ProcessId\n2026-11-30T09:00:00Z,ws-1,ProcessCreated,x,y,a.exe,7\n';
  const { events, issues } = await readAll(defender, memoryInput('proto.csv', text));
  assert.deepEqual(issues, []);
  assert.equal(events[0].process?.name, 'a.exe');
  assert.equal(events[0].original.constructor, 'y');
  assert.equal(Object.getPrototypeOf(events[0].original), Object.prototype);
});

test('an export sorted newest first (`sort by Timestamp desc`) is given in time order', async () => {
  const [header, ...rows] = readFileSync(`${DIR}/an0741-miner/DeviceProcessEvents.csv`, 'utf8').trim().split('\n');
  const { events, issues } = await readAll(
    defender,
    memoryInput('DeviceProcessEvents.csv', [header, ...rows.reverse()].join('\n')),
  );
  assert.deepEqual(issues, []);
  assert.ok(events.length >= 3, `${events.length} events`);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.ok(times[0] < times[times.length - 1], 'the rows span some time');
});

/** `2026-11-30T09:00:12.0000000Z` as Log Analytics writes it in an en-US CSV export: `11/30/2026, 9:00:12.000 AM`. */
function usForm(iso: string): string {
  const d = new Date(iso);
  const h = d.getUTCHours();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}, ${h % 12 || 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} ${h < 12 ? 'AM' : 'PM'}`;
}

test('a Microsoft Sentinel (Log Analytics) CSV export: [UTC] time columns in en-US form are read as UTC, its Type names the table', async () => {
  const [head, ...rows] = csvGood.head.toString('utf8').trimEnd().split('\n');
  const names = head.split(',');
  const timeColumns = new Set(names.flatMap((n, i) => (/(?:Time|Timestamp)$/.test(n) ? [i] : [])));
  // the simple rows of the fixture (no quoted commas before the time columns are changed: they are re-split by index)
  const sentinel = [
    `TenantId,${names.map((n, i) => (timeColumns.has(i) ? `${n} [UTC]` : n)).join(',')},Type`,
    ...rows.map((row) => {
      const cells = row.split(',');
      // only the cells that are ISO times change; any other cell (quoted commas included) is kept as written
      return `00000000-0000-0000-0000-000000000001,${cells.map((c) => (/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(c) ? `"${usForm(c)}"` : c)).join(',')},DeviceProcessEvents`;
    }),
  ].join('\n');
  const portal = await readAll(defender, csvGood);
  const read = await readAll(defender, memoryInput('query_data.csv', `${sentinel}\n`));
  assert.deepEqual(read.issues, []);
  assert.deepEqual(
    read.events.map((e) => [e['@timestamp'], e.event.dataset, e.process?.pid, e.process?.start]),
    portal.events.map((e) => [e['@timestamp'], e.event.dataset, e.process?.pid, e.process?.start]),
  );
  // another locale's order is not guessed: the row is reported with its time, and the rest are read
  const german = sentinel.replace('11/30/2026, 9:00:00.000 AM', '30.11.2026 09:00:00');
  const mixed = await readAll(defender, memoryInput('query_data.csv', `${german}\n`));
  assert.deepEqual(
    mixed.issues.map((i) => [i.line, i.code]),
    [[2, 'DEFENDER_BAD_RECORD']],
  );
  assert.match(mixed.issues[0].reason, /Timestamp "30\.11\.2026 09:00:00" is not a time/);
  assert.equal(mixed.events.length, portal.events.length - 1);
});

test('ServiceInstalled is a service persistence entry as System 7045 maps it: the miner’s command line, and a benign install read alike', async () => {
  assert.equal(sniffSource(services)?.name, 'defender');
  const { events, issues } = await readAll(defender, services);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.kind, e.event.action, e.event.type, e.event.dataset]),
    [
      [2, 'event', 'persistence-entry', ['creation'], 'defender.DeviceEvents'],
      [15, 'event', 'persistence-entry', ['creation'], 'defender.DeviceEvents'],
    ],
  );
  const [miner, benign] = events;
  // Defender splits the ImagePath into FolderPath and FileName (its arguments with it): joined back, it is the command
  const command =
    'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe -o stratum+tcp://pool.supportxmr.com:3333 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A -p ws07 -a rx/0 --donate-level 1 --cpu-max-threads-hint 90 -B';
  assert.deepEqual(miner.file, { path: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinUpdSvc', line: command });
  assert.deepEqual(
    miner.process,
    { command_line: command, user: { name: 'LocalSystem' } },
    'services.exe is not the service',
  );
  assert.deepEqual(miner.coalmine.persistence, {
    mechanism: 'service',
    target: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
  });
  assert.deepEqual(miner.host, {
    name: 'WS-FIN-07',
    id: '5f1c0a9e7b3d4c2a8e6f0b1d3c5a7e9f1b2d4c6e',
    os: { platform: 'windows' },
  });
  // the same install as the System log records it maps to the same fields
  const system: WinEvent = {
    provider: 'Service Control Manager',
    channel: 'System',
    eventId: 7045,
    timeCreated: '2026-11-30T09:00:22.0000000Z',
    computer: 'WS-FIN-07',
    data: { ServiceName: 'WinUpdSvc', ImagePath: command, AccountName: 'LocalSystem' },
  };
  const windows = winEventToCoal(system, { file: 'System.evtx', line: 1 }, 'evtx');
  assert.deepEqual(
    [miner.file, miner.process, miner.coalmine.persistence],
    [windows?.file, windows?.process, windows?.coalmine.persistence],
  );
  // a benign install (AdditionalFields as an object here) is read the same: judging it is the signals’ work
  assert.deepEqual(
    [benign.file, benign.process, benign.coalmine.persistence],
    [
      {
        path: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\edgeupdate',
        line: 'C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe /svc',
      },
      {
        command_line: 'C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe /svc',
        user: { name: 'LocalSystem' },
      },
      { mechanism: 'service', target: 'C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe' },
    ],
  );
});

test('ServiceInstalled: an ImagePath in AdditionalFields is taken whole, a row naming no service is reported, values bounded', async () => {
  const base = { Timestamp: '2026-11-30T09:00:00Z', DeviceName: 'ws-1', ActionType: 'ServiceInstalled' };
  const rows = [
    // AdditionalFields under the Windows events' names (7045's ImagePath, 4697's ServiceFileName) before the columns
    {
      ...base,
      FileName: 'PSEXESVC.exe',
      AdditionalFields: {
        ServiceName: 'PSEXESVC',
        ServiceFileName: '%SystemRoot%\\PSEXESVC.exe',
        ServiceAccount: 'LocalSystem',
      },
    },
    { ...base, AdditionalFields: { ServiceName: 'svc', ImagePath: '  ', ServiceFileName: '"C:\\x y\\s.exe" -k' } },
    // a name alone is still the install; nothing to name is a bad row
    { ...base, AdditionalFields: '{"ServiceName":"bare"}' },
    { ...base, AdditionalFields: '{"ServiceStartType":2}' },
    // hostile sizes: a 20 KiB FileName and a 10 KiB ServiceName
    {
      ...base,
      FolderPath: 'C:\\t',
      FileName: `m.exe ${'a'.repeat(20_000)}`,
      AdditionalFields: { ServiceName: 'n'.repeat(10_000) },
    },
  ];
  const input = memoryInput('rows.json', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const { events, issues } = await readAll(defender, input);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code, i.reason]),
    [
      [
        4,
        'DEFENDER_BAD_RECORD',
        'ServiceInstalled row names no service (ServiceName in AdditionalFields, FileName or FolderPath)',
      ],
    ],
  );
  const [psexec, quoted, bare, big] = events;
  assert.deepEqual(psexec.coalmine.persistence, { mechanism: 'service', target: '%SystemRoot%\\PSEXESVC.exe' });
  assert.equal(psexec.process?.command_line, '%SystemRoot%\\PSEXESVC.exe');
  assert.deepEqual(quoted.coalmine.persistence, { mechanism: 'service', target: 'C:\\x y\\s.exe' });
  assert.deepEqual(
    [bare.file, bare.process, bare.coalmine.persistence],
    [{ path: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\bare' }, undefined, { mechanism: 'service' }],
  );
  assert.ok((big.file?.line?.length ?? Infinity) <= 8192, 'the command is clipped');
  assert.ok((big.file?.path?.length ?? Infinity) <= 256 + 64, 'the service name is clipped');
  assert.equal(big.coalmine.persistence?.target, 'C:\\t\\m.exe');
});
