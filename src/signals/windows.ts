/**
 * Windows-only evidence from Sysmon: miner drivers loaded for MSR access (WinRing0, listed in
 * intel/miner-drivers.txt), Microsoft Defender weakened through the registry (exclusions, real-time
 * protection off), and autostarts written to the registry (Run/RunOnce values, Winlogon's Userinit and
 * Shell, a service's ImagePath) graded by what they start; `autostartOf` tells what such a value will run,
 * which signals/index.ts judges as a command, as it does a cron line or a task's action. Windows miner
 * names, masquerading, scheduled tasks and taskkill/Stop-Process live in the process, persistence and kill
 * classifiers; PowerShell tampering in powershell.ts.
 */
import type { CoalEvent } from '../model/event.js';
import type { PersistenceDetail, Signal, Strength } from '../model/signal.js';
import { clip } from '../util/hostile.js';
import { intelName, signalFor } from './make.js';
import { minerOptions } from './miner-args.js';
import { commandLayers } from './powershell.js';
import { baseName, isWindowsPath, windowsSuspiciousLocation } from './process.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_PATH_CHARS = 2048;
/** Autostart values: Run/RunOnce (machine, user, WOW6432Node, the Explorer policy). */
const RUN_KEY =
  /\\Software\\(?:WOW6432Node\\)?Microsoft\\Windows\\CurrentVersion\\(?:Run|RunOnce|RunServices|Policies\\Explorer\\Run)\\[^\\]{1,255}$/i;
/** Winlogon's programs at logon: Userinit and Shell, each a comma-separated list. */
const WINLOGON = /\\Software\\(?:WOW6432Node\\)?Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\(?:Shell|Userinit)$/i;
/** A service's program (what 7045/4697 report as its ImagePath, written through the registry). */
const SERVICE_IMAGE = /\\SYSTEM\\(?:CurrentControlSet|ControlSet\d{3})\\Services\\[^\\]{1,255}\\ImagePath$/i;
/** What Userinit and Shell hold on every Windows: the programs Winlogon starts by default. */
const WINLOGON_DEFAULT =
  /^(?:(?:[a-z]:\\windows\\(?:system32\\)?|%(?:systemroot|windir)%\\(?:system32\\)?)?(?:userinit|explorer)(?:\.exe)?)$/i;
/** Commands of one Userinit or Shell value judged. */
const MAX_AUTOSTART_COMMANDS = 8;
/** `…\Windows Defender\Exclusions\Paths\C:\x` (also under Policies\Microsoft\…): the value name is what is excluded. */
const EXCLUSION_KEY =
  /\\Windows Defender\\Exclusions\\(Paths|Processes|Extensions|IpAddresses|TemporaryPaths)\\(.{1,1024})$/i;
/** Values that turn protection off when set to 1. */
const DISABLE_VALUE =
  /\\Windows Defender\\(?:Real-Time Protection\\)?(DisableAntiSpyware|DisableAntiVirus|DisableRealtimeMonitoring|DisableBehaviorMonitoring|DisableIOAVProtection|DisableOnAccessProtection|DisableScanOnRealtimeEnable)$/i;
const DWORD_ONE = /^DWORD \(0x0{0,7}1\)$|^1$/i;
/** Places a miner drops itself: user-writable, or not a program directory. */
const WRITABLE_PLACE =
  /\\(?:appdata|temp|tmp|users\\public|\$recycle\.bin|windows\\temp|windows\\tasks|perflogs)\\|^[a-z]:\\programdata\\[^\\]{1,255}$/i;
/** Exclusions so wide they switch scanning off: a whole drive, every executable, a wildcard. */
const SWEEPING = /^[a-z]:\\?$|^\.?(?:exe|dll|ps1|bat|cmd|vbs|js|scr)$|^\*/i;

function driverLoad(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const path = event.file?.path?.slice(0, MAX_PATH_CHARS) ?? '';
  const name = event.file?.name ?? baseName(path);
  const match = name ? intel.processName(name) : undefined;
  if (match?.kind !== 'miner-name') return;
  const unsigned = event.file?.signed === false;
  const dropped = WRITABLE_PLACE.test(path);
  const strength: Strength = unsigned || dropped ? 'strong' : match.strength;
  const why = [unsigned ? 'unsigned' : '', dropped ? `loaded from a user-writable place (${path})` : '']
    .filter((w) => w !== '')
    .join(', ');
  out.push(
    signalFor(event, {
      kind: 'miner-tuning',
      class: 'process',
      strength,
      by: 'windows:miner-driver',
      explanation: `driver ${name} loaded (file.path ${path || '?'}${event.file?.signature ? `, signed by ${event.file.signature}` : ''}): miners load it for MSR access (intel ${intelName(match)})${why ? `; ${why}` : '; hardware monitors use it too'}`,
      subject: { executable: path || name },
      intel: match,
    }),
  );
}

/** The program a Run value starts: the quoted path, or the text up to `.exe`, or the first word. */
function runTarget(data: string): string {
  const s = data.trim();
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    return end > 0 ? s.slice(1, end) : s.slice(1);
  }
  const exe = /^.{0,1024}?\.exe\b/i.exec(s);
  return exe ? exe[0] : s.split(/\s/, 1)[0];
}

/** An autostart written to the registry: the value, what it holds and the commands it will run at logon or boot. */
export interface Autostart {
  /** `run-key` (Run/RunOnce), `winlogon` (Userinit, Shell) or `service` (a service's ImagePath). */
  mechanism: 'run-key' | 'winlogon' | 'service';
  /** The value's full registry path. */
  path: string;
  /** Its data as written. */
  data: string;
  /** What it will run, each a command line: Winlogon's defaults (userinit.exe, explorer.exe) left out. */
  commands: string[];
  /** The program it starts, which an exec of it is joined by. */
  target: string;
}

/**
 * The autostart a registry write sets, whichever sensor saw it (Sysmon 13, an EDR's registry event):
 * a Run/RunOnce value, Winlogon's Userinit or Shell (programs separated by commas), a service's
 * ImagePath. Undefined for any other write, and for a value holding no text (a DWORD, binary data).
 */
export function autostartOf(event: CoalEvent): Autostart | undefined {
  if (event.event.action !== 'registry-set') return undefined;
  const path = event.registry?.path?.slice(0, MAX_PATH_CHARS);
  if (!path) return undefined;
  const mechanism = RUN_KEY.test(path)
    ? 'run-key'
    : WINLOGON.test(path)
      ? 'winlogon'
      : SERVICE_IMAGE.test(path)
        ? 'service'
        : undefined;
  if (mechanism === undefined) return undefined;
  const data = event.registry?.data?.slice(0, MAX_PATH_CHARS).trim() ?? '';
  if (data === '' || /^(?:DWORD|QWORD|Binary Data)/i.test(data)) return undefined;
  const commands =
    mechanism === 'winlogon'
      ? data
          .split(',', MAX_AUTOSTART_COMMANDS)
          .map((c) => c.trim())
          .filter((c) => c !== '' && !WINLOGON_DEFAULT.test(c.replace(/^"(.*)"$/, '$1')))
      : [data];
  return { mechanism, path, data, commands, target: runTarget(commands[0] ?? data) };
}

/** An autostart as its evidence cites it (`Signal.persistence`): the value, the record's line, its writer's user. */
export function autostartDetail(event: CoalEvent, autostart: Autostart): PersistenceDetail {
  const detail: PersistenceDetail = {
    mechanism: autostart.mechanism,
    file: clip(autostart.path, 512),
    entry: clip(autostart.data, 512),
  };
  const line = event.coalmine.ref.line;
  if (line !== undefined) detail.line = line;
  const user = event.process?.user?.name;
  if (user !== undefined) detail.user = clip(user, 64);
  return detail;
}

const AUTOSTART_LABEL: Record<Autostart['mechanism'], string> = {
  'run-key': 'run-key value',
  winlogon: 'Winlogon value',
  service: 'service ImagePath',
};
/** Characters of the value quoted in an explanation, so the reason after it survives the bound. */
const SHOWN_DATA_CHARS = 160;

/**
 * An autostart value: persistence graded by what it starts, like a scheduled task, tied to the program it
 * starts (a later exec of it joins it) and carrying the value, so containment can remove it.
 */
function autostart(event: CoalEvent, a: Autostart, intel: ClassifyContext['intel'], out: Signal[]): void {
  const { data, target } = a;
  const named = a.commands.length > 0 ? intel.processName(baseName(target)) : undefined;
  const hidden = commandLayers(data).filter((l) => l.technique !== undefined);
  const decodedNamed = hidden
    .flatMap((l) => l.text.split(/[\s;|&()'"]+/, 64))
    .find((w) => intel.processName(baseName(w))?.kind === 'miner-name');
  const options = a.commands.map((c) => minerOptions(c, intel)).find((o) => o?.conclusive);
  const location = a.commands.length > 0 && isWindowsPath(target) ? windowsSuspiciousLocation(target, true) : undefined;
  let strength: Strength = 'weak';
  let why = 'an ordinary-looking autostart (evidence only when it launches a flagged process)';
  if (named) {
    strength = 'strong';
    why = `it starts ${baseName(target)}, a known ${named.kind === 'miner-name' ? 'miner' : 'proxyware client'} (intel ${intelName(named)})`;
  } else if (options) {
    strength = 'strong';
    why = `its arguments carry mining pool options (${options.shown.join(', ')}): a miner, whatever the program is called`;
  } else if (decodedNamed) {
    strength = 'strong';
    why = `it starts ${decodedNamed}, a known miner, once decoded`;
  } else if (hidden.length > 0) {
    strength = 'strong';
    why = `it runs a command hidden by ${hidden[0].technique}`;
  } else if (location) {
    strength = 'medium';
    why = `it starts ${target} from ${location}`;
  }
  out.push(
    signalFor(event, {
      kind: 'persistence',
      class: 'persistence',
      strength,
      by: `persistence:${a.mechanism}`,
      explanation: `${AUTOSTART_LABEL[a.mechanism]} ${a.path} = "${clip(data, SHOWN_DATA_CHARS)}"; ${why}`,
      subject: { persistenceTarget: target },
      persistence: autostartDetail(event, a),
    }),
  );
}

function registrySet(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const path = event.registry?.path?.slice(0, MAX_PATH_CHARS);
  if (!path) return;
  const a = autostartOf(event);
  if (a) {
    autostart(event, a, intel, out);
    return;
  }
  if (!/Windows Defender/i.test(path)) return;
  const writer = event.process?.name ?? (event.process?.executable ? baseName(event.process.executable) : 'a process');
  const ex = EXCLUSION_KEY.exec(path);
  if (ex) {
    const what = ex[2];
    const named = intel.processName(baseName(what));
    const isMiner = named?.kind === 'miner-name' || named?.kind === 'proxyware-name';
    const hides = isMiner || WRITABLE_PLACE.test(what.endsWith('\\') ? what : `${what}\\`) || SWEEPING.test(what);
    out.push(
      signalFor(event, {
        kind: 'miner-tuning',
        class: 'process',
        strength: hides ? 'strong' : 'medium',
        by: 'windows:defender-exclusion',
        explanation: `${writer} added a Microsoft Defender ${ex[1].toLowerCase()} exclusion for ${what} (registry ${path})${
          isMiner
            ? `: a known ${named?.kind === 'miner-name' ? 'miner' : 'proxyware client'}`
            : hides
              ? ': a place or type malware runs from'
              : ''
        }`,
      }),
    );
    return;
  }
  const off = DISABLE_VALUE.exec(path);
  if (off && DWORD_ONE.test(event.registry?.data?.trim() ?? ''))
    out.push(
      signalFor(event, {
        kind: 'miner-tuning',
        class: 'process',
        strength: 'strong',
        by: 'windows:defender-disabled',
        explanation: `${writer} set ${off[1]} = 1 (registry ${path}): Microsoft Defender protection turned off`,
      }),
    );
}

function classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  if (action === 'driver-load') driverLoad(event, context, out);
  else if (action === 'registry-set') registrySet(event, context, out);
}

export const windows: Classifier = {
  name: 'windows',
  actions: ['driver-load', 'registry-set'],
  summary:
    'miner drivers (WinRing0) loaded, Defender exclusions and protection turned off via the registry, autostart values (Run keys, Winlogon, service ImagePath)',
  classify,
};
