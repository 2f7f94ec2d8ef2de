import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeXmlEntities,
  imageTarget,
  parseHashes,
  parseQueryResults,
  parseWinPid,
  taskExecActions,
  type WinEvent,
  winEventToCoal,
} from './win-event.js';

const REF = { file: 'x.evtx', record: '7' };

function sysmon(eventId: number, data: Record<string, string>): WinEvent {
  return {
    provider: 'Microsoft-Windows-Sysmon',
    channel: 'Microsoft-Windows-Sysmon/Operational',
    eventId,
    recordId: 7,
    timeCreated: '2024-05-23T17:26:08.7168580Z',
    computer: 'ws-01.corp.example',
    executionPid: 2044,
    data,
  };
}

function security(eventId: number, data: Record<string, string>): WinEvent {
  return {
    provider: 'Microsoft-Windows-Security-Auditing',
    channel: 'Security',
    eventId,
    recordId: 99,
    timeCreated: '2024-05-23T17:30:00.1234567Z',
    computer: 'ws-01.corp.example',
    data,
  };
}

const PROC = {
  ProcessGuid: '{5C1B1D2E-1A2B-6650-0B00-000000001F00}',
  ProcessId: '4120',
  Image: 'C:\\Windows\\System32\\notepad.exe',
  User: 'CORP\\alice',
};

test('Sysmon 1 is an exec with guid, hashes, parent and UtcTime as event time', () => {
  const e = winEventToCoal(
    sysmon(1, {
      ...PROC,
      UtcTime: '2024-05-23 17:26:08.686',
      CommandLine: '"C:\\Windows\\System32\\notepad.exe" C:\\notes.txt',
      CurrentDirectory: 'C:\\Users\\alice\\',
      OriginalFileName: 'NOTEPAD.EXE',
      Hashes:
        'SHA1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,MD5=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB,SHA256=CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC,IMPHASH=DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD',
      ParentProcessGuid: '{5C1B1D2E-0000-6650-0A00-000000001F00}',
      ParentProcessId: '3000',
      ParentImage: 'C:\\Windows\\explorer.exe',
      ParentCommandLine: 'C:\\Windows\\Explorer.EXE',
    }),
    REF,
    'evtx',
  );
  assert.ok(e);
  assert.equal(e['@timestamp'], '2024-05-23T17:26:08.686Z');
  assert.equal(e.coalmine.ts, Date.parse('2024-05-23T17:26:08.686Z'));
  assert.deepEqual(e.event, {
    kind: 'event',
    category: ['process'],
    type: ['start'],
    action: 'exec',
    dataset: 'evtx.sysmon.1',
    id: '7',
  });
  assert.deepEqual(e.host, { name: 'ws-01.corp.example', os: { platform: 'windows' } });
  assert.deepEqual(e.process, {
    entity_id: '5c1b1d2e-1a2b-6650-0b00-000000001f00',
    pid: 4120,
    executable: 'C:\\Windows\\System32\\notepad.exe',
    name: 'notepad.exe',
    user: { name: 'CORP\\alice' },
    command_line: '"C:\\Windows\\System32\\notepad.exe" C:\\notes.txt',
    working_directory: 'C:\\Users\\alice\\',
    hash: { sha1: 'a'.repeat(40), md5: 'b'.repeat(32), sha256: 'c'.repeat(64) },
    pe: { original_file_name: 'NOTEPAD.EXE' },
    parent: {
      entity_id: '5c1b1d2e-0000-6650-0a00-000000001f00',
      pid: 3000,
      executable: 'C:\\Windows\\explorer.exe',
      name: 'explorer.exe',
      command_line: 'C:\\Windows\\Explorer.EXE',
    },
  });
  assert.deepEqual(e.coalmine, { ts: e.coalmine.ts, format: 'evtx', ref: REF });
  assert.equal(e.original.Provider, 'Microsoft-Windows-Sysmon');
  assert.equal((e.original.EventData as Record<string, string>).ProcessId, '4120');
});

test('without UtcTime the System time is used; a garbage pid is undefined, never NaN', () => {
  const e = winEventToCoal(sysmon(1, { ...PROC, ProcessId: '12abc' }), REF, 'evtx');
  assert.equal(e?.['@timestamp'], '2024-05-23T17:26:08.716Z');
  assert.equal(e?.process?.pid, undefined);
  assert.equal(winEventToCoal({ ...sysmon(1, PROC), timeCreated: 'yesterday' }, REF, 'evtx'), undefined);
});

test('Sysmon 3 is a connect with endpoints, domain and direction', () => {
  const out = winEventToCoal(
    sysmon(3, {
      ...PROC,
      Protocol: 'tcp',
      Initiated: 'true',
      SourceIp: '10.0.0.5',
      SourcePort: '49812',
      DestinationIp: '192.0.2.10',
      DestinationHostname: 'updates.example.com',
      DestinationPort: '443',
    }),
    REF,
    'evtx',
  );
  assert.equal(out?.event.action, 'connect');
  assert.deepEqual(out?.source, { ip: '10.0.0.5', port: 49812 });
  assert.deepEqual(out?.destination, { ip: '192.0.2.10', port: 443, domain: 'updates.example.com' });
  assert.deepEqual(out?.network, { direction: 'outbound', transport: 'tcp' });
  assert.equal(out?.process?.pid, 4120);
  const inbound = winEventToCoal(
    sysmon(3, {
      ...PROC,
      Initiated: 'false',
      DestinationIp: '10.0.0.5',
      DestinationPort: '3389',
      DestinationHostname: '-',
    }),
    REF,
    'evtx',
  );
  assert.equal(inbound?.network?.direction, 'inbound');
  assert.deepEqual(inbound?.destination, { ip: '10.0.0.5', port: 3389 });
});

test('Sysmon 5 is an exit, 6 a driver load, 13 a registry write', () => {
  assert.equal(winEventToCoal(sysmon(5, PROC), REF, 'evtx')?.event.action, 'exit');
  const drv = winEventToCoal(
    sysmon(6, {
      ImageLoaded: 'C:\\Windows\\System32\\drivers\\WinRing0x64.sys',
      Hashes: `SHA256=${'E'.repeat(64)}`,
      Signed: 'true',
      Signature: 'Noriyuki MIYAZAKI',
    }),
    REF,
    'evtx',
  );
  assert.equal(drv?.event.action, 'driver-load');
  assert.deepEqual(drv?.file, {
    path: 'C:\\Windows\\System32\\drivers\\WinRing0x64.sys',
    name: 'WinRing0x64.sys',
    hash: { sha256: 'e'.repeat(64) },
    signed: true,
    signature: 'Noriyuki MIYAZAKI',
  });
  const reg = winEventToCoal(
    sysmon(13, {
      ...PROC,
      EventType: 'SetValue',
      TargetObject: 'HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Notes',
      Details: 'C:\\Windows\\notepad.exe',
    }),
    REF,
    'evtx',
  );
  assert.equal(reg?.event.action, 'registry-set');
  assert.deepEqual(reg?.registry, {
    path: 'HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Notes',
    value: 'Notes',
    data: 'C:\\Windows\\notepad.exe',
  });
  assert.equal(reg?.process?.name, 'notepad.exe');
  assert.equal(
    winEventToCoal(sysmon(12, { ...PROC, EventType: 'DeleteKey', TargetObject: 'HKLM\\x' }), REF, 'e'),
    undefined,
  );
});

test('Sysmon 11 is a file-write of TargetFilename by the process named', () => {
  const e = winEventToCoal(
    sysmon(11, { ...PROC, TargetFilename: 'C:\\Users\\alice\\AppData\\Roaming\\m.exe' }),
    REF,
    'evtx',
  );
  assert.equal(e?.event.action, 'file-write');
  assert.deepEqual(e?.file, { path: 'C:\\Users\\alice\\AppData\\Roaming\\m.exe', name: 'm.exe' });
  assert.equal(e?.process?.pid, 4120);
  assert.equal(e?.host?.os?.platform, 'windows');
});

test('Sysmon for Linux (provider Linux-Sysmon) takes the Sysmon mapping on a linux host', () => {
  const linux = (eventId: number, data: Record<string, string>): WinEvent => ({
    ...sysmon(eventId, data),
    provider: 'Linux-Sysmon',
    channel: 'Linux-Sysmon/Operational',
    computer: 'web-03',
  });
  const exec = winEventToCoal(
    linux(1, {
      ProcessGuid: '{8f3c2a10-6f2e-6937-106b-a1b2c3d40000}',
      ProcessId: '4203',
      Image: '/tmp/.x/xmrig',
      CommandLine: '/tmp/.x/xmrig -o stratum+tcp://203.0.113.77:3333',
      User: 'www-data',
      UtcTime: '2026-12-07 10:01:13.123',
    }),
    REF,
    'sysmon-linux',
  );
  assert.equal(exec?.event.action, 'exec');
  assert.equal(exec?.event.dataset, 'sysmon-linux.sysmon.1');
  assert.deepEqual(exec?.host, { name: 'web-03', os: { platform: 'linux' } });
  assert.equal(exec?.process?.name, 'xmrig');
  assert.equal(exec?.['@timestamp'], '2026-12-07T10:01:13.123Z');
  const file = winEventToCoal(linux(11, { Image: '/usr/bin/curl', TargetFilename: '/tmp/.x/xmrig' }), REF, 's');
  assert.deepEqual([file?.event.action, file?.file?.name, file?.host?.os?.platform], ['file-write', 'xmrig', 'linux']);
  // a Linux-only id no analytic reads is a log-record under its own provider's name when a rule reads it
  const config = winEventToCoal(linux(16, { Configuration: '/opt/sysmon/config.xml' }), REF, 's', () => true);
  assert.deepEqual([config?.event.action, config?.event.dataset], ['log-record', 's.linux-sysmon.16']);
});

test('Sysmon 22 is a dns-query with the resolved IPs only', () => {
  const e = winEventToCoal(
    sysmon(22, {
      ...PROC,
      QueryName: 'www.example.com',
      QueryStatus: '0',
      QueryResults: 'type:  5 edge.example.net;::ffff:192.0.2.7;192.0.2.8;2001:db8::1;',
    }),
    REF,
    'evtx',
  );
  assert.equal(e?.event.action, 'dns-query');
  assert.deepEqual(e?.dns, {
    question: { name: 'www.example.com' },
    resolved_ip: ['192.0.2.7', '192.0.2.8', '2001:db8::1'],
  });
});

test('events no analytic uses are undefined', () => {
  assert.equal(winEventToCoal(sysmon(7, PROC), REF, 'evtx'), undefined);
  assert.equal(winEventToCoal(security(4624, {}), REF, 'evtx'), undefined);
  assert.equal(
    winEventToCoal({ ...security(4688, {}), provider: 'Microsoft-Windows-PowerShell', eventId: 4104 }, REF, 'evtx'),
    undefined,
  );
});

test('Security 4688 is an exec with hex pids; empty CommandLine stays undefined', () => {
  const e = winEventToCoal(
    security(4688, {
      SubjectUserName: 'alice',
      NewProcessId: '0x1a2c',
      NewProcessName: 'C:\\Windows\\System32\\notepad.exe',
      ProcessId: '0xbb8',
      CommandLine: '',
      TargetUserName: '-',
      ParentProcessName: 'C:\\Windows\\explorer.exe',
    }),
    REF,
    'evtx',
  );
  assert.equal(e?.event.action, 'exec');
  assert.equal(e?.['@timestamp'], '2024-05-23T17:30:00.123Z');
  assert.deepEqual(e?.process, {
    pid: 0x1a2c,
    executable: 'C:\\Windows\\System32\\notepad.exe',
    name: 'notepad.exe',
    parent: { pid: 3000, executable: 'C:\\Windows\\explorer.exe', name: 'explorer.exe' },
    user: { name: 'alice' },
  });
  const garbage = winEventToCoal(security(4688, { NewProcessId: '0xZZ', NewProcessName: 'a.exe' }), REF, 'evtx');
  assert.equal(garbage?.process?.pid, undefined);
  const exit = winEventToCoal(security(4689, { ProcessId: '0x1a2c', ProcessName: 'C:\\a\\b.exe' }), REF, 'evtx');
  assert.deepEqual(exit?.process, { pid: 6700, executable: 'C:\\a\\b.exe', name: 'b.exe' });
  assert.equal(exit?.event.action, 'exit');
});

const TASK = `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <Settings><ExecutionTimeLimit>PT0S</ExecutionTimeLimit></Settings>
  <Actions Context="Author">
    <Exec>
      <Command>"C:\\Program Files\\Notes\\notes.exe"</Command>
      <Arguments>--open &quot;a&amp;b.txt&quot; &lt;x&gt;</Arguments>
    </Exec>
    <Exec><Command>C:\\Windows\\second.exe</Command></Exec>
  </Actions>
</Task>`;

test('Security 4698 is a scheduled-task persistence event targeting the first Exec command', () => {
  const e = winEventToCoal(
    security(4698, { SubjectUserName: 'alice', TaskName: '\\NotesSync', TaskContent: TASK }),
    REF,
    'evtx',
  );
  assert.equal(e?.event.action, 'persistence-entry');
  assert.equal(e?.event.kind, 'event');
  assert.deepEqual(e?.coalmine.persistence, {
    mechanism: 'scheduled-task',
    target: 'C:\\Program Files\\Notes\\notes.exe',
  });
  assert.deepEqual(e?.file, {
    path: '\\NotesSync',
    line: '"C:\\Program Files\\Notes\\notes.exe" --open "a&b.txt" <x>',
  });
  assert.equal(e?.process?.command_line, e?.file?.line);
  const none = winEventToCoal(
    security(4702, { TaskName: '\\T', TaskContent: '<Task><Actions></Actions></Task>' }),
    REF,
    'x',
  );
  assert.deepEqual(none?.coalmine.persistence, { mechanism: 'scheduled-task' });
  assert.equal(none?.event.action, 'persistence-entry');
});

test('a service installed (System 7045, Security 4697) is a service persistence event running its ImagePath', () => {
  const system: WinEvent = {
    provider: 'Service Control Manager',
    channel: 'System',
    eventId: 7045,
    recordId: 310,
    timeCreated: '2024-05-23T17:31:00.0000000Z',
    computer: 'ws-01.corp.example',
    data: {
      ServiceName: 'WinNetSvc',
      ImagePath: '"C:\\Program Files\\Win Net\\wnsvc.exe" -o pool.example:443',
      ServiceType: 'user mode service',
      StartType: 'auto start',
      AccountName: 'LocalSystem',
    },
  };
  const e = winEventToCoal(system, REF, 'evtx');
  assert.equal(e?.event.action, 'persistence-entry');
  assert.equal(e?.event.dataset, 'evtx.system.7045');
  assert.deepEqual(e?.coalmine.persistence, { mechanism: 'service', target: 'C:\\Program Files\\Win Net\\wnsvc.exe' });
  assert.deepEqual(e?.file, {
    path: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinNetSvc',
    line: '"C:\\Program Files\\Win Net\\wnsvc.exe" -o pool.example:443',
  });
  assert.deepEqual(e?.process, { command_line: e?.file?.line, user: { name: 'LocalSystem' } });
  // the record stays readable by the rules that read the System log
  assert.equal(e?.original.EventID, 7045);
  // 7045 of another provider is not a service install
  assert.equal(winEventToCoal({ ...system, provider: 'Some-App' }, REF, 'evtx'), undefined);

  const security4697 = winEventToCoal(
    security(4697, {
      SubjectUserName: 'admin',
      ServiceName: 'PSEXESVC',
      ServiceFileName: '%SystemRoot%\\PSEXESVC.exe',
      ServiceAccount: 'LocalSystem',
    }),
    REF,
    'evtx',
  );
  assert.equal(security4697?.event.action, 'persistence-entry');
  assert.deepEqual(security4697?.coalmine.persistence, { mechanism: 'service', target: '%SystemRoot%\\PSEXESVC.exe' });
  assert.equal(security4697?.file?.path, 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\PSEXESVC');
  const bare = winEventToCoal(security(4697, { ServiceName: 'x' }), REF, 'evtx');
  assert.deepEqual(bare?.coalmine.persistence, { mechanism: 'service' });
  assert.equal(bare?.process, undefined);
});

test('the program of an ImagePath: quoted, up to .exe with spaces, or a driver path', () => {
  assert.equal(imageTarget('"C:\\Program Files\\A\\a.exe" /svc'), 'C:\\Program Files\\A\\a.exe');
  assert.equal(imageTarget('C:\\Program Files\\A\\a.exe /svc'), 'C:\\Program Files\\A\\a.exe');
  assert.equal(imageTarget('\\SystemRoot\\System32\\drivers\\vmci.sys'), '\\SystemRoot\\System32\\drivers\\vmci.sys');
});

test('task XML parsing is bounded and skips look-alike tags', () => {
  assert.deepEqual(taskExecActions(TASK), [
    { command: '"C:\\Program Files\\Notes\\notes.exe"', arguments: '--open "a&b.txt" <x>' },
    { command: 'C:\\Windows\\second.exe' },
  ]);
  assert.deepEqual(taskExecActions('<Exec><Command><![CDATA[a&b.exe]]></Command></Exec>'), [{ command: 'a&b.exe' }]);
  assert.deepEqual(taskExecActions('<Exec><Command>x'), []);
  const many = '<Exec><Command>a.exe</Command></Exec>'.repeat(1000);
  assert.equal(taskExecActions(many).length, 32);
  assert.equal(decodeXmlEntities('&#65;&#x42;&bogus;&#0;'), 'AB&bogus;&#0;');
});

test('Security 5156 is a connect with device path, decimal pid, direction and transport', () => {
  const e = winEventToCoal(
    security(5156, {
      ProcessID: '4120',
      Application: '\\device\\harddiskvolume2\\windows\\system32\\notepad.exe',
      Direction: '%%14593',
      SourceAddress: '10.0.0.5',
      SourcePort: '50123',
      DestAddress: '192.0.2.10',
      DestPort: '443',
      Protocol: '6',
    }),
    REF,
    'evtx',
  );
  assert.equal(e?.event.action, 'connect');
  assert.deepEqual(e?.process, {
    pid: 4120,
    executable: '\\device\\harddiskvolume2\\windows\\system32\\notepad.exe',
    name: 'notepad.exe',
  });
  assert.deepEqual(e?.network, { direction: 'outbound', transport: 'tcp' });
  assert.deepEqual(e?.destination, { ip: '192.0.2.10', port: 443 });
  const inbound = winEventToCoal(security(5156, { Direction: '%%14592', Protocol: '17', DestPort: '99999' }), REF, 'x');
  assert.deepEqual(inbound?.network, { direction: 'inbound', transport: 'udp' });
  assert.equal(inbound?.destination, undefined);
});

test('helpers parse strictly', () => {
  assert.equal(parseWinPid('0x1A2C'), 6700);
  assert.equal(parseWinPid('0x'), undefined);
  assert.equal(parseWinPid('NaN'), undefined);
  assert.deepEqual(parseHashes('MD5=xyz,SHA1=short'), undefined);
  assert.deepEqual(parseQueryResults('type:  5 x.com;'), undefined);
});

test('hostile values are bounded', () => {
  const e = winEventToCoal(
    sysmon(1, { ...PROC, CommandLine: 'x'.repeat(100_000), Image: 'y'.repeat(100_000) }),
    REF,
    'e',
  );
  assert.ok((e?.process?.command_line?.length ?? 0) < 9000);
  assert.ok((e?.process?.executable?.length ?? 0) < 5000);
  // the command line is kept whole in the record too (up to 8192 characters), for Sigma rules that search it
  assert.ok(JSON.stringify(e?.original).length < 12_000);
});

test('a record no analytic reads is a log-record when a rule could read it, else unused', () => {
  const keepAll = () => true;
  for (const ev of [
    sysmon(7, { ...PROC, ImageLoaded: 'C:\\x\\dbghelp.dll' }),
    sysmon(17, { PipeName: '\\PSEXESVC' }),
    sysmon(12, { EventType: 'DeleteKey', TargetObject: 'HKLM\\x' }),
    security(4624, { TargetUserName: 'admin', LogonType: '3' }),
  ]) {
    assert.equal(winEventToCoal(ev, REF, 'evtx'), undefined);
    const e = winEventToCoal(ev, REF, 'evtx', keepAll);
    assert.ok(e);
    assert.equal(e.event.action, 'log-record');
    // the engine reads nothing of it: no process, file or registry fields, only the record itself
    assert.equal(e.process, undefined);
    assert.equal((e.original as { EventID: number }).EventID, ev.eventId);
    assert.deepEqual((e.original as { EventData: unknown }).EventData, ev.data);
  }
  const asked: Array<[string, number]> = [];
  winEventToCoal(security(4624, {}), REF, 'evtx', (provider, _channel, id) => {
    asked.push([provider, id]);
    return false;
  });
  assert.deepEqual(asked, [['Microsoft-Windows-Security-Auditing', 4624]]);
});

test('a non-string value from a careless decoder never throws', () => {
  const data = { Initiated: 5, SourceIp: {}, DestinationPort: null } as unknown as Record<string, string>;
  const e = winEventToCoal(sysmon(3, data), REF, 'evtx');
  assert.equal(e?.network?.direction, 'outbound');
  assert.equal(e?.source, undefined);
});

test('prototype names in values are plain text', () => {
  const e = winEventToCoal(security(5156, { Protocol: 'constructor', DestPort: '1' }), REF, 'x');
  assert.deepEqual(e?.network, { direction: 'outbound' });
  assert.equal(parseHashes('CONSTRUCTOR=abc,__PROTO__=def'), undefined);
  assert.equal(decodeXmlEntities('&proto;&amp;'), '&proto;&');
});
