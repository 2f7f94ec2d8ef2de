/**
 * Windows-only evidence from Sysmon: miner drivers loaded for MSR access (WinRing0, listed in
 * intel/miner-drivers.txt), Microsoft Defender weakened through the registry (exclusions, real-time
 * protection off), and Run-key autostarts graded by what they start. Windows miner names, masquerading, scheduled tasks and taskkill/Stop-Process live
 * in the process, persistence and kill classifiers; PowerShell tampering in powershell.ts.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal, Strength } from '../model/signal.js';
import { intelName, signalFor } from './make.js';
import { commandLayers } from './powershell.js';
import { baseName, isWindowsPath, windowsSuspiciousLocation } from './process.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_PATH_CHARS = 2048;
/** Autostart values: Run/RunOnce (machine, user, WOW6432Node), Winlogon Shell/Userinit. */
const RUN_KEY =
  /\\(?:Software\\(?:WOW6432Node\\)?Microsoft\\Windows\\CurrentVersion\\(?:Run|RunOnce|RunServices|Policies\\Explorer\\Run)\\[^\\]{1,255}|Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\(?:Shell|Userinit))$/i;
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

/** A Run key value: persistence graded by what it starts, like a scheduled task. */
function runKey(event: CoalEvent, path: string, intel: ClassifyContext['intel'], out: Signal[]): void {
  const data = event.registry?.data?.slice(0, MAX_PATH_CHARS) ?? '';
  if (data === '' || /^(?:DWORD|QWORD|Binary Data)/i.test(data)) return;
  const target = runTarget(data);
  const named = intel.processName(baseName(target));
  const hidden = commandLayers(data).filter((l) => l.technique !== undefined);
  const decodedNamed = hidden
    .flatMap((l) => l.text.split(/[\s;|&()'"]+/, 64))
    .find((w) => intel.processName(baseName(w))?.kind === 'miner-name');
  const location = isWindowsPath(target) ? windowsSuspiciousLocation(target, true) : undefined;
  let strength: Strength = 'weak';
  let why = 'an ordinary-looking autostart (evidence only when it launches a flagged process)';
  if (named) {
    strength = 'strong';
    why = `it starts ${baseName(target)}, a known ${named.kind === 'miner-name' ? 'miner' : 'proxyware client'} (intel ${intelName(named)})`;
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
      by: 'persistence:run-key',
      explanation: `run-key value ${path} = "${data}"; ${why}`,
      subject: { persistenceTarget: target },
    }),
  );
}

function registrySet(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const path = event.registry?.path?.slice(0, MAX_PATH_CHARS);
  if (!path) return;
  if (RUN_KEY.test(path)) {
    runKey(event, path, intel, out);
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
  summary: 'miner drivers (WinRing0) loaded, Defender exclusions and protection turned off via the registry, Run keys',
  classify,
};
