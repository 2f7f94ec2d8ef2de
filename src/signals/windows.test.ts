import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { createClassifier } from './index.js';
import { kill } from './kill.js';
import { isEntryCommand, persistence } from './persistence.js';
import { processClassifier } from './process.js';
import { DEFAULT_RULE_DIRS } from './rules.js';
import { loadRules } from './sigma/index.js';
import { evt, signalsOf, testIntel } from './test-events.js';
import { autostartOf, windows } from './windows.js';

const HOST = { name: 'ws-07', os: { platform: 'windows' } };
const classifyAll = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));

function all(event: CoalEvent): Signal[] {
  const out: Signal[] = [];
  classifyAll(event, out);
  return out;
}

function exec(executable: string, command_line: string, pid = 4120): CoalEvent {
  const name = executable.slice(executable.lastIndexOf('\\') + 1);
  return evt('exec', { host: HOST, process: { pid, name, executable, command_line } });
}

function driver(path: string, signed = true): CoalEvent {
  return evt('driver-load', { host: HOST, file: { path, name: path.slice(path.lastIndexOf('\\') + 1), signed } });
}

function registry(path: string, data = 'DWORD (0x00000000)'): CoalEvent {
  return evt('registry-set', {
    host: HOST,
    registry: { path, value: path.slice(path.lastIndexOf('\\') + 1), data },
    process: { pid: 3300, name: 'MsMpEng.exe' },
  });
}

function task(command: string): CoalEvent {
  const target = command.startsWith('"') ? command.slice(1, command.indexOf('"', 1)) : command.split(' ')[0];
  return evt('persistence-entry', {
    host: HOST,
    file: { path: '\\Microsoft\\Windows\\Update Helper', line: command },
    process: { command_line: command, user: { name: 'bob' } },
    coalmine: {
      ts: 0,
      format: 'test',
      ref: { file: 'Security.evtx', record: '88' },
      persistence: { mechanism: 'scheduled-task', target },
    },
  });
}

function enc(text: string): string {
  return Buffer.from(text, 'utf16le').toString('base64');
}

test('WinRing0 loads are miner-tuning: medium when signed from a program folder, strong unsigned or from Temp', () => {
  const signed = signalsOf(windows, driver('C:\\Program Files\\OpenHardwareMonitor\\WinRing0x64.sys'));
  assert.deepEqual(
    signed.map((s) => [s.kind, s.strength, s.by]),
    [['miner-tuning', 'medium', 'windows:miner-driver']],
  );
  assert.match(signed[0].explanation, /hardware monitors use it too/);
  const dropped = signalsOf(windows, driver('C:\\Users\\bob\\AppData\\Local\\Temp\\WinRing0x64.sys', false));
  assert.equal(dropped[0].strength, 'strong');
  assert.deepEqual(signalsOf(windows, driver('C:\\Windows\\System32\\drivers\\nvlddmkm.sys')), []);
});

test('Defender exclusions in the registry are miner-tuning, strong for user-writable places, miners and wildcards', () => {
  const base = 'HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions';
  const grade = (p: string) => signalsOf(windows, registry(p)).map((s) => s.strength);
  assert.deepEqual(grade(`${base}\\Paths\\D:\\SQLData`), ['medium']);
  assert.deepEqual(grade(`${base}\\Paths\\C:\\Users\\bob\\AppData\\Roaming\\svc`), ['strong']);
  assert.deepEqual(grade(`${base}\\Processes\\xmrig.exe`), ['strong']);
  assert.deepEqual(grade(`${base}\\Extensions\\exe`), ['strong']);
  assert.deepEqual(grade('HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\'), ['strong']);
  assert.deepEqual(grade('HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated'), []);
});

test('Defender turned off through the registry is strong; turned on is nothing', () => {
  const path = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Real-Time Protection\\DisableRealtimeMonitoring';
  assert.deepEqual(
    signalsOf(windows, registry(path, 'DWORD (0x00000001)')).map((s) => [s.by, s.strength]),
    [['windows:defender-disabled', 'strong']],
  );
  assert.deepEqual(signalsOf(windows, registry(path, 'DWORD (0x00000000)')), []);
});

test('Windows miner names match case-insensitively without .exe', () => {
  for (const exe of [
    'C:\\m\\XMRig.exe',
    'C:\\m\\PhoenixMiner.exe',
    'C:\\m\\t-rex.exe',
    'C:\\m\\lolMiner.exe',
    'C:\\m\\nanominer.exe',
  ])
    assert.ok(
      signalsOf(processClassifier, exec(exe, exe)).some((s) => s.kind === 'miner-process' && s.strength === 'strong'),
      exe,
    );
});

test('Windows proxyware names are proxyware-process', () => {
  for (const exe of [
    'C:\\Program Files\\Honeygain\\Honeygain.exe',
    'C:\\Users\\bob\\AppData\\Local\\EarnApp\\earnapp.exe',
  ])
    assert.ok(
      signalsOf(processClassifier, exec(exe, exe)).some((s) => s.kind === 'proxyware-process'),
      exe,
    );
});

test('a Windows system process name outside System32 is a strong masquerade, any case; the real one is not', () => {
  const fake = signalsOf(processClassifier, exec('C:\\Users\\bob\\AppData\\Roaming\\svchost.exe', 'svchost.exe'));
  assert.deepEqual(
    fake.map((s) => [s.kind, s.strength, s.by]),
    [['masquerade', 'strong', 'process:windows-system-name']],
  );
  assert.equal(signalsOf(processClassifier, exec('C:\\ProgramData\\CSRSS.EXE', 'csrss.exe'))[0]?.strength, 'strong');
  for (const real of [
    'C:\\Windows\\System32\\svchost.exe',
    'c:\\windows\\syswow64\\dllhost.exe',
    'C:\\Windows\\explorer.exe',
  ])
    assert.deepEqual(signalsOf(processClassifier, exec(real, real)), [], real);
  const recycled = signalsOf(processClassifier, exec('C:\\$Recycle.Bin\\S-1-5-21\\update.exe', 'update.exe'));
  assert.deepEqual(
    recycled.map((s) => [s.kind, s.strength]),
    [['masquerade', 'medium']],
  );
});

test('NT device paths (Falcon ImageFileName with no known drive letter) are judged as Windows paths', () => {
  const fake = '\\Device\\HarddiskVolume3\\Users\\bob\\AppData\\Roaming\\svchost.exe';
  assert.deepEqual(
    signalsOf(processClassifier, exec(fake, 'svchost.exe')).map((s) => [s.kind, s.strength, s.by]),
    [['masquerade', 'strong', 'process:windows-system-name']],
  );
  const miner = '\\Device\\HarddiskVolume2\\ProgramData\\x\\xmrig.exe';
  assert.ok(signalsOf(processClassifier, exec(miner, miner)).some((s) => s.by === 'process:suspicious-location'));
  for (const real of [
    '\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe',
    '\\??\\C:\\Windows\\system32\\conhost.exe',
    '\\Device\\HarddiskVolume12\\Windows\\explorer.exe',
  ])
    assert.deepEqual(signalsOf(processClassifier, exec(real, real)), [], real);
});

test('taskkill, wmic and Stop-Process aimed at miners are competitor kills naming the victim', () => {
  const cases = [
    'taskkill /f /im xmrig.exe',
    'cmd /c taskkill.exe /F /IM NsCpuCNMiner64.exe /IM nanominer.exe /T',
    "wmic process where name='xmrig.exe' call terminate",
    `wmic process where "name like '%lolminer%'" delete`,
    'powershell Stop-Process -Name xmrig,PhoenixMiner -Force',
    'powershell Get-Process xmrig | Stop-Process -Force',
  ];
  for (const cmd of cases) {
    const s = signalsOf(kill, exec('C:\\Windows\\System32\\cmd.exe', cmd));
    assert.equal(s[0]?.kind, 'competitor-kill', cmd);
    assert.equal(s[0]?.strength, 'strong', cmd);
    assert.ok(s[0]?.subject?.victim, cmd);
  }
  for (const cmd of ['taskkill /f /im chrome.exe', 'powershell Stop-Process -Name notepad', 'wmic process list brief'])
    assert.deepEqual(signalsOf(kill, exec('C:\\Windows\\System32\\cmd.exe', cmd)), [], cmd);
});

test('scheduled tasks are graded by what they run: miners, user-writable places, hidden commands', () => {
  const grade = (cmd: string) => signalsOf(persistence, task(cmd))[0];
  assert.equal(grade('C:\\ProgramData\\wup\\xmrig.exe --config c.json').strength, 'strong');
  assert.match(grade('"C:\\Users\\bob\\AppData\\Roaming\\svc\\host.exe" -k').explanation, /user-writable/);
  assert.equal(grade('%AppData%\\svc\\host.exe').strength, 'strong');
  const hidden = grade(
    `powershell.exe -w hidden -enc ${enc('& C:\\Tools\\t-rex.exe -o stratum+tcp://p.example:3333')}`,
  );
  assert.equal(hidden.strength, 'strong');
  assert.match(hidden.explanation, /t-rex.*once decoded/);
  assert.equal(grade('D:\\jobs\\nightly.exe').strength, 'medium');
  assert.equal(grade('"C:\\Program Files\\Backup\\backup.exe" /quiet').strength, 'weak');
  assert.equal(grade('C:\\Windows\\System32\\cleanmgr.exe /autoclean').strength, 'weak');
});

test('a miner hidden in an encoded command is found by the process classifier and the rules on the decoded text', () => {
  const wallet = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
  const inner = `Start-Process $env:APPDATA\\m.exe -ArgumentList '-o stratum+tcp://p.example:3333 -u ${wallet} --donate-level 1'`;
  const out = all(
    exec(
      'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      `powershell -w hidden -nop -enc ${enc(inner)}`,
    ),
  );
  const by = out.map((s) => s.by);
  assert.ok(by.includes('powershell:obfuscation'));
  assert.ok(by.includes('rule:win-powershell-hidden-encoded'));
  const wal = out.find((s) => s.by === 'process:wallet');
  assert.equal(wal?.strength, 'strong');
  assert.match(wal?.explanation ?? '', /^in the command decoded from -enc/);
  assert.ok(by.includes('rule:win-miner-xmrig-flags'));
  assert.equal(wal?.subject?.executable, 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
});

test('a kill hidden by carets is found on the decoded text', () => {
  const out = all(exec('C:\\Windows\\System32\\cmd.exe', 'cmd /c t^a^s^k^k^i^l^l /f /im x^m^r^i^g.exe'));
  assert.ok(out.some((s) => s.kind === 'competitor-kill' && s.strength === 'strong'));
  assert.ok(out.some((s) => s.kind === 'obfuscation'));
});

test('look-alikes are not evidence: IIS DefaultAppPool, "pool." names, Defender scans, MSBuild, 7-Zip, games', () => {
  const traps = readFileSync('test/fixtures/windows/traps.ndjson', 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const e = JSON.parse(l) as CoalEvent;
      e.coalmine = { ts: Date.parse(e['@timestamp']), format: 'ndjson', ref: { file: 'traps.ndjson', line: 1 } };
      return e;
    });
  assert.ok(traps.length >= 8);
  for (const e of traps) assert.deepEqual(all(e), [], e.process?.command_line);
});

test('Run keys are persistence graded by what they start', () => {
  const run = (value: string, data: string) =>
    signalsOf(
      windows,
      registry(`HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\${value}`, data),
    )[0];
  const miner = run('WinUpdate', '"C:\\Users\\bob\\AppData\\Roaming\\svc\\xmrig.exe" --background');
  assert.deepEqual([miner.kind, miner.strength, miner.by], ['persistence', 'strong', 'persistence:run-key']);
  assert.equal(miner.subject?.persistenceTarget, 'C:\\Users\\bob\\AppData\\Roaming\\svc\\xmrig.exe');
  assert.equal(run('Helper', 'C:\\Users\\bob\\AppData\\Local\\Temp\\helper.exe -q').strength, 'medium');
  assert.equal(run('Sync', `powershell -w hidden -enc ${enc('& $env:APPDATA\\nanominer.exe')}`).strength, 'strong');
  assert.equal(run('SecurityHealth', '%windir%\\system32\\SecurityHealthSystray.exe').strength, 'weak');
  assert.deepEqual(
    signalsOf(windows, registry('HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\X', 'DWORD (0x00000001)')),
    [],
  );
});

const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const RUN = 'HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\';
const WINLOGON = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\';
const SERVICE = 'HKLM\\System\\CurrentControlSet\\Services\\';

/** A registry write as Sysmon 13 gives it: the writer (reg.exe), the value and its data, the record's line. */
function autostartWrite(path: string, data: string): CoalEvent {
  return evt('registry-set', {
    host: HOST,
    registry: { path, value: path.slice(path.lastIndexOf('\\') + 1), data },
    process: { pid: 4410, entity_id: '7a1c-11', name: 'reg.exe', user: { name: 'WS-07\\bob' } },
    coalmine: { ts: 0, format: 'evtx-xml', ref: { file: 'sysmon.xml', line: 12 } },
  });
}

test('autostart values: Run/RunOnce, Winlogon Userinit/Shell (defaults left out), a service ImagePath; nothing else', () => {
  const run = autostartOf(autostartWrite(`${RUN}Sync`, '"C:\\Users\\bob\\AppData\\Roaming\\s\\s.exe" -q'));
  assert.deepEqual(run && [run.mechanism, run.commands, run.target], [
    'run-key',
    ['"C:\\Users\\bob\\AppData\\Roaming\\s\\s.exe" -q'],
    'C:\\Users\\bob\\AppData\\Roaming\\s\\s.exe',
  ]);
  assert.equal(
    autostartOf(autostartWrite('HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\x', 'a.exe'))
      ?.mechanism,
    'run-key',
  );
  assert.equal(
    autostartOf(
      autostartWrite('HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run\\x', 'a.exe'),
    )?.mechanism,
    'run-key',
  );
  const userinit = autostartOf(
    autostartWrite(`${WINLOGON}Userinit`, 'C:\\Windows\\system32\\userinit.exe, C:\\ProgramData\\u\\u.exe -q,'),
  );
  assert.deepEqual(userinit && [userinit.mechanism, userinit.commands, userinit.target], [
    'winlogon',
    ['C:\\ProgramData\\u\\u.exe -q'],
    'C:\\ProgramData\\u\\u.exe',
  ]);
  assert.deepEqual(
    autostartOf(autostartWrite(`${WINLOGON}Userinit`, 'C:\\Windows\\system32\\userinit.exe,'))?.commands,
    [],
  );
  assert.deepEqual(autostartOf(autostartWrite(`${WINLOGON}Shell`, 'explorer.exe'))?.commands, []);
  const service = autostartOf(autostartWrite(`${SERVICE}gupdate\\ImagePath`, '"C:\\Program Files\\G\\g.exe" /svc'));
  assert.deepEqual(service && [service.mechanism, service.target], ['service', 'C:\\Program Files\\G\\g.exe']);
  for (const [path, data] of [
    [`${RUN}X`, 'DWORD (0x00000001)'],
    [`${RUN}X`, ''],
    [`${SERVICE}gupdate\\Start`, 'DWORD (0x00000002)'],
    [`${SERVICE}gupdate\\DisplayName`, 'Google Update'],
    [`${WINLOGON}AutoRestartShell`, '1'],
    ['HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunNotes\\x', 'a.exe'],
  ])
    assert.equal(autostartOf(autostartWrite(path, data)), undefined, path);
});

test('an autostart value carries its place for containment, and pool options in it are strong', () => {
  const [s] = signalsOf(
    windows,
    autostartWrite(`${RUN}OneDriveSync`, `C:\\Program Files\\Sync\\sync.exe -o 198.51.100.23:443 -u ${XMR}`),
  );
  assert.deepEqual([s.kind, s.strength, s.by], ['persistence', 'strong', 'persistence:run-key']);
  assert.match(s.explanation, /mining pool options/);
  assert.deepEqual(s.persistence, {
    mechanism: 'run-key',
    file: `${RUN}OneDriveSync`,
    entry: `C:\\Program Files\\Sync\\sync.exe -o 198.51.100.23:443 -u ${XMR}`,
    line: 12,
    user: 'WS-07\\bob',
  });
  assert.equal(s.subject?.persistenceTarget, 'C:\\Program Files\\Sync\\sync.exe');
  const [svc] = signalsOf(windows, autostartWrite(`${SERVICE}svc\\ImagePath`, 'C:\\ProgramData\\svc\\xmrig.exe'));
  assert.deepEqual([svc.strength, svc.by, svc.persistence?.mechanism], ['strong', 'persistence:service', 'service']);
  const [logon] = signalsOf(windows, autostartWrite(`${WINLOGON}Userinit`, 'C:\\Windows\\system32\\userinit.exe,'));
  assert.deepEqual([logon.strength, logon.by], ['weak', 'persistence:winlogon']);
});

test('what an autostart value will run is judged as a command: miner and proxyware evidence on the host, citing the record', () => {
  for (const [path, data, kind, mechanism] of [
    [
      `${RUN}OneDriveSync`,
      `"C:\\Users\\bob\\AppData\\Local\\OneSync\\onesync.exe" -o 198.51.100.23:443 -u ${XMR} -p x`,
      'miner-process',
      'run-key',
    ],
    [
      `${WINLOGON}Userinit`,
      'C:\\Windows\\system32\\userinit.exe,C:\\ProgramData\\Hg\\hgsvc.exe -tou-accept -email a@example.com -pass s',
      'proxyware-process',
      'winlogon',
    ],
    [
      `${SERVICE}WinNetSvc\\ImagePath`,
      'C:\\Windows\\Fonts\\wnsvc.exe --donate-level 1 -o pool.example:443',
      'miner-process',
      'service',
    ],
  ] as const) {
    const found = all(autostartWrite(path, data)).filter(isEntryCommand);
    assert.ok(found.length > 0, data);
    for (const s of found) {
      assert.equal(s.kind, kind, s.explanation);
      assert.equal(s.strength, 'strong', s.explanation);
      // the host's, not the writer's: reg.exe runs no miner
      assert.equal(s.entity, 'host:ws-07');
      assert.deepEqual(s.ref, { file: 'sysmon.xml', line: 12 });
      assert.equal(s.persistence?.mechanism, mechanism);
      assert.equal(s.persistence?.file, path);
      assert.ok(s.explanation.startsWith(`what the ${mechanism} entry ${path}:12 will run: `), s.explanation);
    }
  }
});

test('ordinary autostart values carry no command evidence: at most a weak persistence signal on the writer', () => {
  for (const [path, data] of [
    [`${RUN}OneDrive`, '"C:\\Users\\carol\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background'],
    [`${RUN}SecurityHealth`, '%windir%\\system32\\SecurityHealthSystray.exe'],
    [`${WINLOGON}Userinit`, 'C:\\Windows\\system32\\userinit.exe,'],
    [`${WINLOGON}Shell`, 'explorer.exe'],
    [`${SERVICE}gupdate\\ImagePath`, '"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe" /svc'],
    [`${SERVICE}vmci\\ImagePath`, '\\SystemRoot\\System32\\drivers\\vmci.sys'],
    [`${SERVICE}Dnscache\\ImagePath`, '%SystemRoot%\\system32\\svchost.exe -k NetworkService -p'],
  ]) {
    const s = all(autostartWrite(path, data));
    assert.ok(!s.some(isEntryCommand), data);
    assert.ok(
      s.every((x) => x.kind === 'persistence' && x.strength !== 'strong' && x.entity === 'process:ws-07:7a1c-11'),
      `${data}: ${s.map((x) => `${x.kind}/${x.strength}/${x.by}`).join(', ')}`,
    );
  }
});

test('sc and net stop of a miner service are competitor kills; of other services not', () => {
  for (const cmd of ['sc stop xmrig', 'sc.exe delete nanominer', 'net stop xmrig'])
    assert.equal(signalsOf(kill, exec('C:\\Windows\\System32\\cmd.exe', cmd))[0]?.kind, 'competitor-kill', cmd);
  for (const cmd of ['sc stop Spooler', 'net stop wuauserv', 'net use Z: \\\\srv\\share'])
    assert.deepEqual(signalsOf(kill, exec('C:\\Windows\\System32\\cmd.exe', cmd)), [], cmd);
});

test('installers in C:\\Windows\\Temp are not masquerade; a miner there is', () => {
  assert.deepEqual(signalsOf(processClassifier, exec('C:\\Windows\\Temp\\{5A1B}\\setup.exe', 'setup.exe /quiet')), []);
  const miner = signalsOf(processClassifier, exec('C:\\Windows\\Temp\\xmrig.exe', 'xmrig.exe'));
  assert.ok(miner.some((s) => s.kind === 'masquerade' && s.strength === 'medium'));
});
