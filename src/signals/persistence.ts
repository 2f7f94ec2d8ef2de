/**
 * Persistence evidence: every cron line, unit ExecStart, rc line or preload entry becomes a signal
 * tied to what it launches (the engine links it to processes running that executable). Strength says
 * how suspicious the entry is on its own; an ordinary entry is weak and never alerts by itself.
 * Writes to persistence locations seen by file auditing are evidence against the writer.
 */
import type { CoalEvent } from '../model/event.js';
import type { PersistenceDetail, Signal, Strength } from '../model/signal.js';
import { clip } from '../util/hostile.js';
import type { Intel } from './intel/types.js';
import { intelName, signalFor } from './make.js';
import { minerOptions } from './miner-args.js';
import { type CommandLayer, commandLayers } from './powershell.js';
import { baseName, isWindowsPath, suspiciousLocation, windowsSuspiciousLocation } from './process.js';
import { mayHaveShellLayers, type ShellLayer, shellLayers } from './shell-decode.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_SCAN_CHARS = 4096;
const MAX_WORDS = 128;
/** Characters of the entry quoted in an explanation; the signal's persistence detail keeps more. */
const SHOWN_ENTRY_CHARS = 160;

/** Code fetched or decoded when the entry runs. */
const DOWNLOAD = /\b(?:curl|wget|tftp)\b|\/dev\/(?:tcp|udp)\/|\bbase64\s+(?:-d|--decode)\b/;
/** Fetched content that is executed or kept, rather than thrown away. */
const RUNS_FETCHED = /\|\s*(?:sudo\s+)?(?:ba|da|z|k)?sh\b|\|\s*python|\bchmod\b|\bbase64\b|\/dev\/(?:tcp|udp)\//;
const DISCARDS_OUTPUT = /(?:-O|-o|--output)\s*\/dev\/null|>\s*\/dev\/null/;
/** A URL on a bare IPv4 address: droppers skip DNS. */
const BARE_IP_URL = /(?:https?|ftp):\/\/\d{1,3}(?:\.\d{1,3}){3}[:/]/;

/**
 * Wrappers whose operand is the real program (`nohup /tmp/x`, `timeout 60 /x`, `… | xargs kill`),
 * with the options of each that take a separate value.
 */
const WRAPPERS: Record<string, string[]> = {
  sudo: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T'],
  nohup: [],
  exec: ['-a'],
  setsid: [],
  nice: ['-n'],
  ionice: ['-c', '-n', '-p'],
  timeout: ['-s', '-k'],
  env: ['-u', '-C', '-S'],
  command: [],
  chronic: [],
  busybox: [],
  runuser: ['-u', '-g', '-G', '-l'],
  flock: ['-w', '-E'],
  xargs: ['-I', '-n', '-P', '-d', '-L', '-s', '-E', '-a'],
};
/** Windows shells whose options come before the command, with the options that take a value. */
const WINDOWS_SHELLS: Record<string, string[]> = {
  cmd: [],
  powershell: [
    'w',
    'win',
    'window',
    'windowstyle',
    'ep',
    'ex',
    'exec',
    'executionpolicy',
    'v',
    'version',
    'psconsolefile',
  ],
  pwsh: ['w', 'win', 'window', 'windowstyle', 'ep', 'ex', 'exec', 'executionpolicy', 'wd', 'workingdirectory'],
};
/** Shells whose `-c` string is itself the command (`sh -c "/tmp/x"`). */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash']);
/** Programs whose first operand is the script they run (`bash /root/.x.sh`, `sh -c "/tmp/x"`). */
const SCRIPT_RUNNERS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'busybox', 'python', 'perl', 'ruby', 'php']);
/** Where installed programs live; a program launched from anywhere else is unusual for a job. */
const USUAL_DIRS = [
  '/usr/',
  '/bin/',
  '/sbin/',
  '/lib/',
  '/lib64/',
  '/etc/',
  '/opt/',
  '/snap/',
  '/nix/store/',
  '/var/lib/',
  '/var/www/',
  '/srv/',
];
const HOME = /^\/(?:home\/[^/]+|root|~)\//;
/** `~/`, `$HOME/`, `${HOME}/` at the start of a word. */
const HOME_PREFIX = /^(?:~|\$HOME|\$\{HOME\})\//;

/**
 * Paths auditing may see written. /etc/ld.so.preload is left to the Sigma rule lnx-preload-write,
 * which already grades that write strong.
 */
const PERSISTENCE_PREFIXES = [
  '/etc/crontab',
  '/etc/cron.d/',
  '/etc/cron.hourly/',
  '/etc/cron.daily/',
  '/etc/cron.weekly/',
  '/etc/cron.monthly/',
  '/etc/anacrontab',
  '/var/spool/cron/',
  '/etc/systemd/system/',
  '/etc/systemd/user/',
  '/lib/systemd/system/',
  '/usr/lib/systemd/system/',
  '/etc/rc.local',
  '/etc/rc.d/',
  '/etc/init.d/',
  '/etc/profile',
  '/etc/bash.bashrc',
  '/etc/bashrc',
  '/etc/environment',
  '/etc/xdg/autostart/',
  '/etc/update-motd.d/',
];
const PERSISTENCE_PARTS = [
  '/.bashrc',
  '/.bash_profile',
  '/.bash_login',
  '/.profile',
  '/.zshrc',
  '/.ssh/authorized_keys',
  '/.config/systemd/user/',
  '/.config/autostart/',
];
/**
 * Windows places, lower-case: the Task Scheduler's task files (a task registered through COM or the
 * API, not schtasks, may show only as its file) and the Startup folders (per user and for all users).
 */
const WINDOWS_PERSISTENCE_PARTS = [
  '\\windows\\system32\\tasks\\',
  '\\windows\\syswow64\\tasks\\',
  '\\windows\\tasks\\',
  '\\start menu\\programs\\startup\\',
];
/** Mechanisms of Windows entries: their commands are Windows command lines, their targets Windows paths. */
const WINDOWS_MECHANISMS = new Set(['scheduled-task', 'service', 'run-key']);
/**
 * Where Windows keeps its own and installed programs, however a task or service writes it: a drive, or
 * the variables and the NT prefix that stand for one (`%windir%\…`, a driver's `\SystemRoot\…`).
 */
const WINDOWS_PROGRAM_DIRS =
  /^(?:[a-z]:\\(?:windows|program files(?: \(x86\))?)|%(?:systemroot|windir|programfiles|programw6432)%|\\systemroot)\\/i;
/** Package managers write units and cron files on every upgrade: weak evidence, shown, never alone. */
const PACKAGE_MANAGERS = new Set([
  'dpkg',
  'rpm',
  'apt',
  'apt-get',
  'yum',
  'dnf',
  'zypper',
  'pacman',
  'apk',
  'snapd',
  'packagekitd',
  'unattended-upgr',
  // Windows: installers, servicing, and the Schedule service (it writes every task's file, whoever asked)
  'msiexec.exe',
  'trustedinstaller.exe',
  'tiworker.exe',
  'svchost.exe',
]);

/**
 * Whether a signal judges what a persistence entry will run (signals/index.ts), not a process seen
 * running: process evidence that carries the entry it is about. The entry itself is the persistence
 * signal beside it; the engine and the analytics count the two as one observation.
 */
export function isEntryCommand(signal: Signal): boolean {
  return signal.class === 'process' && signal.persistence !== undefined;
}

/** A persistence entry as its evidence cites it (`Signal.persistence`), so containment can remove it. */
export function entryDetail(event: CoalEvent): PersistenceDetail {
  const detail: PersistenceDetail = {
    mechanism: event.coalmine.persistence?.mechanism ?? 'persistence',
    file: clip(event.file?.path ?? event.coalmine.ref.file, 512),
    entry: clip(event.file?.line ?? event.process?.command_line ?? '', 512),
  };
  const line = event.coalmine.ref.line;
  if (line !== undefined) detail.line = line;
  const user = event.process?.user?.name;
  if (user !== undefined) detail.user = clip(user, 64);
  return detail;
}

export function isPersistencePath(path: string): boolean {
  if (path.includes('\\')) {
    const lower = path.toLowerCase();
    return WINDOWS_PERSISTENCE_PARTS.some((s) => lower.includes(s));
  }
  return PERSISTENCE_PREFIXES.some((p) => path.startsWith(p)) || PERSISTENCE_PARTS.some((s) => path.includes(s));
}

/** `$HOME/x` and `~/x` as a path under a home directory, `./x` against the last `cd`. */
function absolute(word: string, cwd: string | undefined): string {
  const home = HOME_PREFIX.exec(word);
  if (home) return `/~/${word.slice(home[0].length)}`;
  if (word.startsWith('./') && cwd?.startsWith('/')) return `${cwd.replace(/\/$/, '')}${word.slice(1)}`;
  return word;
}

/**
 * A shell command line as its simple commands, each the words from the program on: lists,
 * pipelines, `$(…)` and backticks are split apart (quotes are dropped, not interpreted), and
 * variable assignments, wrappers (`sudo -u x`, `timeout 60`, `xargs -I %`, `flock LOCK`) and
 * `sh -c` are stepped over. Bounded: 4 KiB of text, 128 words per command.
 */
export function simpleCommands(command: string): string[][] {
  const text = command.length > MAX_SCAN_CHARS ? command.slice(0, MAX_SCAN_CHARS) : command;
  const commands: string[][] = [];
  for (const part of text.split(/;|&&|\|\||\||&|\$\(|`|\(|\)|\n/)) {
    const words = part
      .trim()
      .split(/\s+/, MAX_WORDS)
      .map((w) => w.replace(/['"]/g, ''))
      .filter((w) => w !== '');
    let i = 0;
    while (i < words.length) {
      const base = baseName(words[i]);
      const valueOptions = Object.hasOwn(WRAPPERS, base) ? WRAPPERS[base] : undefined;
      const winShell = base.toLowerCase().replace(/\.exe$/, '');
      if (/^[A-Za-z_][A-Za-z0-9_]{0,63}=/.test(words[i])) i++;
      else if (SHELLS.has(base) && words[i + 1] === '-c') i += 2;
      else if (Object.hasOwn(WINDOWS_SHELLS, winShell)) {
        // `cmd /c x`, `powershell -nop -w hidden -Command x`: the command is what follows the options
        const valueOptions = WINDOWS_SHELLS[winShell];
        i++;
        while (i < words.length && /^[-/\u2013]/.test(words[i]) && !/^[-/](?:f|file)$/i.test(words[i]))
          i += valueOptions.includes(words[i].slice(1).toLowerCase()) ? 2 : 1;
        if (i < words.length && /^[-/](?:f|file)$/i.test(words[i])) i++;
      } else if (valueOptions) {
        i++;
        while (i < words.length && (words[i].startsWith('-') || /^\d+(?:\.\d+)?[smhd]?$/.test(words[i])))
          i += valueOptions.includes(words[i]) ? 2 : 1;
        if (base === 'flock') i++; // the lock file comes before the command
      } else break;
    }
    if (i < words.length) commands.push(words.slice(i));
  }
  return commands;
}

/**
 * The programs and scripts a shell command runs: each simple command's program, and the script a
 * shell or interpreter is given. Arguments are not launched: `find /tmp -delete` runs find, not /tmp.
 */
export function launchedPaths(command: string): string[] {
  const launched: string[] = [];
  let cwd: string | undefined;
  for (const words of simpleCommands(command)) {
    const first = words[0];
    if (first === 'cd' || first === 'pushd') {
      cwd = words[1];
      continue;
    }
    launched.push(absolute(first, cwd));
    const program = baseName(first).replace(/[\d.]+$/, '');
    if (!SCRIPT_RUNNERS.has(program)) continue;
    const script = words.slice(1).find((w) => !w.startsWith('-'));
    if (script !== undefined) launched.push(absolute(script, cwd));
  }
  return launched;
}

/** A path as the entry wrote it (`~/x` rather than our internal `/~/x`). */
function shownPath(path: string): string {
  return path.startsWith('/~/') ? path.slice(1) : path;
}

/** A miner/proxyware name, a pool domain or a wallet anywhere in the entry. */
function intelIn(text: string, intel: Intel): string | undefined {
  const words = text.split(/[\s;|&()`'"=,@]+/, MAX_WORDS);
  for (const word of words) {
    if (word === '') continue;
    const name = intel.processName(baseName(word));
    if (name)
      return `it names ${baseName(word)}, a known ${name.kind === 'miner-name' ? 'miner' : 'proxyware client'} (intel ${intelName(name)})`;
    if (word.includes('.')) {
      const host = word.replace(/^[a-z0-9+.-]{1,24}:\/\//i, '').replace(/[:/].*$/, '');
      const pool = intel.domain(host);
      if (pool)
        return `it names ${host}, a known ${pool.kind === 'pool-domain' ? 'mining pool' : 'proxyware endpoint'}`;
    }
  }
  const wallet = intel.wallet(text);
  if (wallet) return `it carries a ${wallet.note ?? 'wallet address'}`;
  return undefined;
}

function grade(event: CoalEvent, command: string, intel: Intel): { strength: Strength; why: string } {
  if (event.coalmine.persistence?.mechanism === 'preload')
    return { strength: 'strong', why: 'a library the loader injects into every process' };
  const text = command.slice(0, MAX_SCAN_CHARS);
  // a Windows entry (a task's action, a service's ImagePath, a Run value) names a program whose path may hold spaces
  const isTask = WINDOWS_MECHANISMS.has(event.coalmine.persistence?.mechanism ?? '');
  // what the entry really runs: PowerShell/cmd decoding for Windows entries, shell decoding (cron's base64 pipes) elsewhere
  const layers: Array<CommandLayer & Partial<ShellLayer>> = isTask
    ? commandLayers(text)
    : mayHaveShellLayers(text)
      ? shellLayers(text)
      : [];
  const hidden = layers.filter((l) => l.technique !== undefined);
  for (const layer of [{ text, technique: undefined }, ...hidden]) {
    const options = minerOptions(layer.text, intel);
    if (!options?.conclusive) continue;
    // the wallet is already shown as the login; a known program or pool name is worth adding
    const named = options.wallet ? undefined : intelIn(layer.text, intel);
    return {
      strength: 'strong',
      why: `its arguments carry mining pool options (${options.shown.join(', ')})${named ? `; ${named}` : ''}${layer.technique ? `, once decoded (${layer.technique})` : ''}: a miner, whatever the program is called`,
    };
  }
  const decodedNamed = hidden
    .map((l) => ({ named: intelIn(l.text, intel), technique: l.technique }))
    .find((n) => n.named);
  if (decodedNamed && !intelIn(text, intel))
    return { strength: 'strong', why: `${decodedNamed.named}, once decoded (${decodedNamed.technique})` };
  if (DOWNLOAD.test(text)) {
    if (RUNS_FETCHED.test(text) || BARE_IP_URL.test(text) || !DISCARDS_OUTPUT.test(text))
      return { strength: 'strong', why: 'it downloads or decodes code each time it runs' };
    return { strength: 'medium', why: 'it fetches a URL and discards the reply (a web cron trigger or health ping?)' };
  }
  const target = event.coalmine.persistence?.target;
  const launched = launchedPaths(text);
  // sources that give no command give the target they found; a task's target keeps its spaces
  if (target && (event.process?.command_line === undefined || isTask)) launched.push(target);
  for (const path of launched) {
    const location = isWindowsPath(path)
      ? windowsSuspiciousLocation(path, true)
      : suspiciousLocation(path.startsWith('/~/') ? `/home${path.slice(2)}` : path);
    if (location) return { strength: 'strong', why: `it runs ${shownPath(path)} from ${location}` };
  }
  const named = intelIn(text || (target ?? ''), intel);
  if (named) return { strength: 'strong', why: named };
  // shell text decoded only to be printed or saved (`echo … | base64 -d > f`) hides nothing that runs here
  const hiding = hidden.find((l) => l.runs === undefined || l.runs || l.inline);
  if (hiding) return { strength: 'strong', why: `it runs a command hidden by ${hiding.technique}` };
  // a task's command keeps spaces in its path; the target read from the task XML has it whole
  const judged = isTask && target ? [target, ...launched.filter((p) => !isWindowsPath(p))] : launched;
  for (const path of judged) {
    if (isWindowsPath(path) && !WINDOWS_PROGRAM_DIRS.test(path))
      return { strength: 'medium', why: `it runs ${path} from outside the Windows program directories` };
    if (HOME.test(path)) return { strength: 'medium', why: `it runs ${shownPath(path)} from a home directory` };
    if (path.startsWith('/') && !USUAL_DIRS.some((d) => path.startsWith(d)))
      return { strength: 'medium', why: `it runs ${path} from outside the usual program directories` };
  }
  return { strength: 'weak', why: 'an ordinary-looking entry (evidence only when it launches a flagged process)' };
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  if (action === 'persistence-entry') {
    const command = event.process?.command_line ?? event.file?.line ?? '';
    const target = event.coalmine.persistence?.target;
    const mechanism = event.coalmine.persistence?.mechanism ?? 'persistence';
    const { strength, why } = grade(event, command, intel);
    // the entry is quoted short so the reason after it survives the explanation's bound (base64 lines are long)
    const shown = clip(command || target || '', SHOWN_ENTRY_CHARS);
    out.push(
      signalFor(event, {
        kind: 'persistence',
        class: 'persistence',
        strength,
        by: `persistence:${mechanism}`,
        explanation: `${mechanism} entry in ${event.file?.path ?? event.coalmine.ref.file}: "${shown}"; ${why}`,
        subject: target ? { persistenceTarget: target } : undefined,
        persistence: entryDetail(event),
      }),
    );
    return;
  }
  if (action !== 'file-write') return;
  const path = event.file?.path;
  if (!path || !isPersistencePath(path)) return;
  const p = event.process;
  const writer = p?.name ?? (p?.executable ? baseName(p.executable) : undefined);
  const isPackageManager = writer !== undefined && PACKAGE_MANAGERS.has(writer.toLowerCase());
  out.push(
    signalFor(event, {
      kind: 'persistence',
      class: 'persistence',
      strength: isPackageManager ? 'weak' : 'medium',
      by: 'persistence:file-write',
      explanation: `${writer ?? 'a process'} (pid ${p?.pid ?? '?'}) wrote ${path}, a persistence location${isPackageManager ? ' (a package manager: usually an install or upgrade)' : ''}`,
    }),
  );
}

export const persistence: Classifier = {
  name: 'persistence',
  actions: ['persistence-entry', 'file-write'],
  summary: 'cron, systemd, rc and preload entries tied to what they launch; writes to persistence locations',
  classify,
};
