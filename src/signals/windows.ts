/**
 * Windows-only tuning evidence from Sysmon: miner drivers loaded for MSR access (WinRing0, listed in
 * intel/miner-drivers.txt) and Microsoft Defender weakened through the registry (exclusions, real-time
 * protection off). Windows miner names, masquerading, scheduled tasks and taskkill/Stop-Process live
 * in the process, persistence and kill classifiers; PowerShell tampering in powershell.ts.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal, Strength } from '../model/signal.js';
import { signalFor } from './make.js';
import { baseName } from './process.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_PATH_CHARS = 2048;
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
      explanation: `driver ${name} loaded (file.path ${path || '?'}${event.file?.signature ? `, signed by ${event.file.signature}` : ''}): miners load it for MSR access (intel ${match.set})${why ? `; ${why}` : '; hardware monitors use it too'}`,
      subject: { executable: path || name },
    }),
  );
}

function registrySet(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const path = event.registry?.path?.slice(0, MAX_PATH_CHARS);
  if (!path || !/Windows Defender/i.test(path)) return;
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
  summary: 'miner drivers (WinRing0) loaded, Microsoft Defender exclusions and protection turned off via the registry',
  classify,
};
