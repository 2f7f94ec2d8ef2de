import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runLineFuzz,
  runSourceContract,
} from './contract.js';
import { crowdstrikeFdr } from './crowdstrike-fdr.js';
import { sniffSource } from './index.js';

const DIR = 'test/fixtures/crowdstrike-fdr';
const good = fileInput(`${DIR}/good.json`);
const bad = fileInput(`${DIR}/bad.json`);
runSourceContract({
  source: crowdstrikeFdr,
  good,
  bad,
  // the feed's object copied while the PsExec rollup was written: it ends inside the command line
  cut: cutLineCase(good, 3, '"CommandLine":"\\\\\\\\fs01\\\\tools\\\\PsExec64.exe -accept', 'eula -s cmd.cutoff'),
});

test('each event type maps to its verb; an aidmaster line is counted unused', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.dataset, e.event.action]),
    [
      [2, 'crowdstrike-fdr.SyntheticProcessRollup2', 'exec'],
      [3, 'crowdstrike-fdr.ProcessRollup2', 'exec'],
      [4, 'crowdstrike-fdr.ProcessRollup2', 'exec'],
      [5, 'crowdstrike-fdr.EndOfProcess', 'exit'],
      [6, 'crowdstrike-fdr.NetworkConnectIP6', 'connect'],
      [7, 'crowdstrike-fdr.DnsRequest', 'dns-query'],
      [8, 'crowdstrike-fdr.ScheduledTaskRegistered', 'persistence-entry'],
      [9, 'crowdstrike-fdr.DriverLoad', 'driver-load'],
      [10, 'crowdstrike-fdr.ProcessRollup2', 'exec'],
      [11, 'crowdstrike-fdr.ProcessRollup2', 'exec'],
      [12, 'crowdstrike-fdr.NetworkConnectIP4', 'connect'],
      [13, 'crowdstrike-fdr.ProcessRollup2', 'exec'],
    ],
  );
  assert.deepEqual(await countsOf(crowdstrikeFdr, good), { events: 12, issues: 0, unused: 1 });
});

test('a rollup is the process: TargetProcessId its id, RawProcessId its pid, ParentProcessId its parent; times from epoch seconds', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const cmd = events[1];
  assert.equal(cmd['@timestamp'], '2026-12-02T08:00:05.000Z');
  assert.equal(cmd.event.id, '7c0d9e1f-2a3b-4c5d-8e9f-000000000002');
  assert.deepEqual(cmd.host, {
    name: 'WIN-LAB-3',
    id: 'd1e2f3a4b5c64d7e8f90a1b2c3d4e5f6',
    os: { platform: 'windows' },
  });
  assert.deepEqual(cmd.process, {
    entity_id: '2200145002117',
    pid: 5120,
    executable: 'C:\\Windows\\System32\\cmd.exe',
    name: 'cmd.exe',
    command_line: 'cmd.exe /c whoami /all',
    hash: { sha256: 'b99d61d874728edc0918ca0eb10eab93d381e7367e377406e65963366c874450' },
    start: '2026-12-02T08:00:05.000Z',
    user: { name: 'alice', id: 'S-1-5-21-3623811015-3361044348-30300820-1013' },
    parent: { entity_id: '2200145001001', name: 'explorer.exe' },
  });
  // FDR's all-zero SHA1 is "not computed": left out, the real SHA256 and MD5 kept
  assert.deepEqual(events[0].process?.hash, {
    sha256: '8f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
    md5: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  });
  // the synthetic rollup of a process running since an hour before is dated when the sensor reported it
  assert.equal(events[0]['@timestamp'], '2026-12-02T08:00:00.450Z');
  assert.equal(events[0].process?.start, '2026-12-02T07:00:00.000Z');
});

test("a DriverLoad is the driver loaded: its path (the volume's letter when the host told it), name and hashes, no process", async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const load = events.find((e) => e.event.action === 'driver-load');
  assert.deepEqual(load?.file, {
    path: 'C:\\Windows\\System32\\drivers\\null.sys',
    name: 'null.sys',
    hash: { sha256: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0' },
  });
  assert.equal(load?.process, undefined);
  assert.deepEqual(load?.event.category, ['driver']);
});

test('Windows device paths become the drive paths Sysmon and tasks use, only when the record or host says the letter', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const exe = (line: number) => events.find((e) => e.coalmine.ref.line === line)?.process?.executable;
  // explorer's own command line says HarddiskVolume4 is C:
  assert.equal(exe(2), 'C:\\Windows\\explorer.exe');
  // cmd.exe's command line names no path: the letter the host's explorer gave is used
  assert.equal(exe(3), 'C:\\Windows\\System32\\cmd.exe');
  // \Device\Mup is UNC
  assert.equal(exe(4), '\\\\fs01\\tools\\PsExec64.exe');
  // a volume nothing named stays as Falcon wrote it: no letter is guessed
  assert.equal(exe(10), '\\Device\\HarddiskVolume9\\Tools\\probe.exe');
  // Linux and macOS paths are taken as written, with argv split as a shell would
  assert.equal(exe(11), '/usr/bin/psql');
  assert.deepEqual(events.find((e) => e.coalmine.ref.line === 11)?.process?.args, [
    'psql',
    '-h',
    'db.internal',
    '-c',
    'select 1',
  ]);
});

test('the host is ComputerName, else the name an earlier line gave the aid, else the input hint, else the aid', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const host = (line: number) => events.find((e) => e.coalmine.ref.line === line)?.host?.name;
  assert.equal(host(3), 'WIN-LAB-3', 'named by the aidmaster line at the top');
  assert.equal(host(11), 'lnx-db-1', "the rollup's own ComputerName");
  assert.equal(host(12), 'lnx-db-1', 'the connect after it, by its aid');
  assert.equal(host(13), 'f3a4b5c6d7e84f90a1b2c3d4e5f60718', 'a Mac sensor nothing named: its aid');
  const hinted = await readAll(crowdstrikeFdr, fileInput(`${DIR}/good.json`, { hostHint: 'mac-17' }));
  assert.equal(hinted.events.find((e) => e.coalmine.ref.line === 13)?.host?.name, 'mac-17');
  assert.equal(hinted.events.find((e) => e.coalmine.ref.line === 3)?.host?.name, 'WIN-LAB-3');
  assert.deepEqual(
    events.map((e) => e.host?.os?.platform),
    [
      ...['windows', 'windows', 'windows', 'windows', 'windows', 'windows', 'windows', 'windows', 'windows'],
      ...['linux', 'linux', 'macos'],
    ],
  );
});

test('network and DNS events name their process by ContextProcessId; DNS answers are de-duplicated', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const v6 = events[4];
  assert.deepEqual(v6.process, { entity_id: '2200145001001' });
  assert.deepEqual(v6.destination, { ip: '2001:db8::10', port: 443 });
  assert.deepEqual(v6.source, { ip: '2001:db8:10::4', port: 51544 });
  assert.deepEqual(v6.network, { direction: 'outbound', transport: 'tcp' });
  const dns = events[5];
  assert.deepEqual(dns.process, { entity_id: '2200145001001' });
  assert.deepEqual(dns.dns, { question: { name: 'updates.example.org' }, resolved_ip: ['192.0.2.44', '192.0.2.45'] });
});

test('a registered task is a scheduled-task entry like Security 4698: its command (from TaskXml here), no process identity', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const task = events[6];
  assert.equal(task.event.kind, 'event');
  assert.deepEqual(task.file, { path: '\\Lab\\Inventory', line: '"C:\\Program Files\\Lab\\inventory.exe" --upload' });
  assert.deepEqual(task.process, {
    command_line: '"C:\\Program Files\\Lab\\inventory.exe" --upload',
    user: { name: 'alice' },
  });
  assert.deepEqual(task.coalmine.persistence, {
    mechanism: 'scheduled-task',
    target: 'C:\\Program Files\\Lab\\inventory.exe',
  });
  // TaskExecCommand / TaskExecArguments when FDR split them (the story's task)
  const story = await readAll(crowdstrikeFdr, fileInput(`${DIR}/windows-miner/fdr.json`));
  const registered = story.events.find((e) => e.event.action === 'persistence-entry');
  assert.equal(
    registered?.file?.line,
    'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe -o stratum+tcp://pool.supportxmr.com:3333 -B',
  );
  assert.equal(registered?.coalmine.persistence?.target, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');
});

test('EndOfProcess is the exit; its lifetime CPU totals stay in original and are no CPU sample', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const exit = events[3];
  assert.deepEqual(exit.process, { entity_id: '2200145002117', pid: 5120, start: '2026-12-02T08:00:05.000Z' });
  assert.equal(exit.metrics, undefined);
  assert.equal(exit.original.UserTime, '156250');
  assert.equal(exit.original.KernelTime, '312500');
});

test('a Linux rollup in a container carries its container id', async () => {
  const { events } = await readAll(crowdstrikeFdr, good);
  const rollup = events.find((e) => e.coalmine.ref.line === 11);
  assert.deepEqual(rollup?.container, { id: '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa99887766554433221100' });
  assert.equal(rollup?.user, undefined);
  assert.deepEqual(rollup?.process?.user, { name: 'postgres', id: '70' });
});

test('bad records are issues naming file, line and reason; the good records around them are read', async () => {
  const { events, issues } = await readAll(crowdstrikeFdr, bad);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 10],
  );
  assert.deepEqual(
    issues.map((i) => [i.file, i.line, i.code, i.reason]),
    [
      [bad.name, 2, 'CROWDSTRIKE_FDR_BAD_JSON', 'Unexpected token \'o\', "not json at all" is not valid JSON'],
      [
        bad.name,
        3,
        'CROWDSTRIKE_FDR_BAD_RECORD',
        'no event_simpleName (and not an aidmaster record: aid and ComputerName)',
      ],
      [bad.name, 4, 'CROWDSTRIKE_FDR_BAD_RECORD', 'line is JSON but not an object'],
      [bad.name, 5, 'CROWDSTRIKE_FDR_BAD_RECORD', 'ProcessStartTime "yesterday" is not a time'],
      [bad.name, 6, 'CROWDSTRIKE_FDR_BAD_RECORD', 'ProcessRollup2 names no process (TargetProcessId, RawProcessId)'],
      [bad.name, 7, 'CROWDSTRIKE_FDR_BAD_RECORD', 'NetworkConnectIP4 without a RemoteAddressIP4 address'],
      [bad.name, 8, 'CROWDSTRIKE_FDR_BAD_RECORD', 'DnsRequest without a DomainName'],
      [bad.name, 9, 'CROWDSTRIKE_FDR_BAD_RECORD', 'event_simpleName 42 is not an event name'],
      [bad.name, 11, 'CROWDSTRIKE_FDR_BAD_RECORD', 'no time (ContextTimeStamp, timestamp)'],
      [bad.name, 12, 'CROWDSTRIKE_FDR_TRUNCATED', 'the last line ends inside its record'],
    ],
  );
  assert.deepEqual(await countsOf(crowdstrikeFdr, bad), { events: 2, issues: 10, unused: 0 });
});

test('hostile values are bounded: a 40,000-character command line is clipped, an oversized line is skipped and reported', async () => {
  const record = (cmd: string) =>
    JSON.stringify({
      event_simpleName: 'ProcessRollup2',
      aid: 'a'.repeat(32),
      event_platform: 'Lin',
      TargetProcessId: '1',
      RawProcessId: '2',
      ProcessStartTime: '1796198400.000',
      ImageFileName: '/bin/sh',
      CommandLine: cmd,
    });
  const long = `sh -c ${'x'.repeat(40_000)}`;
  const huge = `sh -c ${'y'.repeat(70_000)}`;
  const { events, issues } = await readAll(
    crowdstrikeFdr,
    memoryInput('hostile.json', `${record(long)}\n${record(huge)}\n`),
  );
  assert.equal(events.length, 1);
  assert.ok((events[0].process?.command_line?.length ?? 0) < 33_000);
  assert.ok((events[0].process?.args?.length ?? 0) <= 128);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[2, 'LINE_TOO_LONG']],
  );
});

runLineFuzz(crowdstrikeFdr, {
  from: [good, fileInput(`${DIR}/windows-miner/fdr.json`)],
  seed: 4242,
  keys: /"(event_simpleName|aid|ComputerName|TargetProcessId|RawProcessId|ParentProcessId|ProcessStartTime|ContextTimeStamp|timestamp|ImageFileName|CommandLine|RemoteAddressIP[46]|RemotePort|DomainName|IP4Records|TaskExecCommand|TaskXml|event_platform)":/g,
  junk: ['"\\\\Device\\\\"'],
});

test('sniffs every shape the feed has: an event line, an aidmaster line, a first line the head cut short', () => {
  assert.equal(sniffSource(good)?.name, 'crowdstrike-fdr', 'aidmaster first');
  assert.equal(sniffSource(fileInput(`${DIR}/linux-miner/fdr.json`))?.name, 'crowdstrike-fdr', 'a rollup first');
  const first = fileInput(`${DIR}/windows-miner/fdr.json`).head.toString('utf8').split('\n')[1];
  assert.equal(sniffSource(memoryInput('cut.json', first.slice(0, 300)))?.name, 'crowdstrike-fdr');
  assert.equal(crowdstrikeFdr.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', good), 0);
  assert.equal(crowdstrikeFdr.sniff('{"aid":"x","ComputerName":"y"}\n', good), 0, 'not every object with a name');
});

test("claims none of the other formats' fixtures", () => {
  assert.deepEqual(fixturesClaimedBy(crowdstrikeFdr), []);
});

test('every one of our story files reads whole, with no issue', async () => {
  for (const story of ['windows-miner', 'windows-benign', 'linux-miner', 'linux-benign']) {
    const input = fileInput(`${DIR}/${story}/fdr.json`);
    assert.equal(sniffSource(input)?.name, 'crowdstrike-fdr', story);
    const { events, issues } = await readAll(crowdstrikeFdr, input);
    assert.deepEqual(issues, [], story);
    assert.ok(events.length >= 10, story);
  }
});

test('the public Panther test events (test/fixtures/public/crowdstrike-fdr) read without an issue', async () => {
  const input = fileInput('test/fixtures/public/crowdstrike-fdr/panther-fdr-events.json');
  assert.equal(sniffSource(input)?.name, 'crowdstrike-fdr');
  const { events, issues } = await readAll(crowdstrikeFdr, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [
      e.event.action,
      e['@timestamp'],
      e.process?.executable ?? e.dns?.question?.name ?? e.destination?.ip,
    ]),
    [
      ['dns-query', '2021-10-08T19:55:04.448Z', 'baddomain.com'],
      ['exec', '2023-04-21T19:52:32.006Z', 'C:\\Windows\\System32\\ethminer.exe'],
      ['exec', '2023-04-21T19:52:32.006Z', 'C:\\Windows\\System32\\nc.exe'],
      ['connect', '2023-04-28T18:49:37.731Z', '152.206.0.1'],
    ],
  );
});

test('an export that runs newest first is given oldest first, the same events as the file in order', async () => {
  const lines = readFileSync(`${DIR}/good.json`, 'utf8').split('\n').filter(Boolean);
  // the aidmaster line (names) stays first; the events after it newest first
  const [names, ...records] = lines;
  const newestFirst = [names, ...[...records].reverse()].join('\n');
  const forward = await readAll(crowdstrikeFdr, good);
  const { events } = await readAll(crowdstrikeFdr, memoryInput('export.json', `${newestFirst}\n`));
  const times = events.map((e) => e.coalmine.ts);
  assert.ok(times.length > 3);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.deepEqual(
    [...times].sort((a, b) => a - b),
    forward.events.map((e) => e.coalmine.ts).sort((a, b) => a - b),
  );
});
