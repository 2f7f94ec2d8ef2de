/**
 * Process evidence from one exec or snapshot event: known miner and proxyware programs (name, hash,
 * image, wallet in the arguments, miner config file, proxyware clients' own start-up options; the names,
 * hashes, images and options are intel's data) and masquerading (kernel-thread names on real
 * executables, programs run from world-writable or hidden places or deleted files, a name that is not
 * the executable's). Command-line patterns (xmrig flags, Stratum URLs, droppers, tuning) are Sigma rules
 * in rules/stable, not here.
 */
import type { CoalEvent, ProcessFields } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import type { Intel, IntelMatch } from './intel/types.js';
import { intelName, shortWallet, signalFor } from './make.js';
import { minerDownloads, minerOptions } from './miner-args.js';
import type { Classifier, ClassifyContext } from './types.js';

/** How much of a command line we read: arguments that matter come early, and scans stay bounded. */
const MAX_SCAN_CHARS = 4096;
const MAX_ARGS = 64;

/**
 * Kernel thread names as ps shows them (optionally in brackets), anchored at both ends: a real kernel
 * thread has no executable, so a process with one that is called like this is hiding. A bare
 * "kworker" counts too (no real thread is called that). "kdevtmpfsi" is not "kdevtmpfs": it is a
 * miner, and intel names it.
 */
const KERNEL_THREAD =
  /^\[?(?:kworker(?:\/[\w:+.-]{1,40})?|kthreadd|ksoftirqd\/\d{1,4}|kswapd\d{1,3}|migration\/\d{1,4}|rcu_[a-z_]{1,20}|rcuo[a-z]\/\d{1,4}|watchdog\/\d{1,4}|watchdogd|jbd2\/[\w.-]{1,40}|kdevtmpfs|khugepaged|kblockd|kcompactd\d{1,3}|kauditd|irq\/[\w.-]{1,40}|cpuhp\/\d{1,4}|idle_inject\/\d{1,4}|oom_reaper|writeback|kintegrityd|khungtaskd|ksmd|kthrotld|kstrp|netns|scsi_eh_\d{1,4}|xfsaild\/[\w.-]{1,40})\]?$/;

const WRITABLE_DIRS = ['/tmp/', '/var/tmp/', '/dev/shm/', '/run/shm/', '/run/user/', '/var/run/user/'];
/**
 * Build and toolchain places that are temporary or hidden by design and run heavy programs every day
 * (Go test binaries, Bazel sandboxes, version managers, editor servers). Masquerade evidence would be
 * noise there; a kernel-thread name or a known miner name is still caught.
 */
const TOOLCHAIN_PATHS = ['/tmp/go-build', '/tmp/bazel', '/.cache/bazel/', '/.cache/go-build/'];
/**
 * Build tools that run what they just built from a temporary directory (`go test` from $GOTMPDIR,
 * gcc's cc1plus and collect2, cargo's test binaries): a child of theirs running from /tmp is their
 * output, so its location alone is weak.
 */
const BUILD_TOOLS = new Set([
  'go',
  'gcc',
  'g++',
  'cc',
  'c++',
  'clang',
  'clang++',
  'collect2',
  'make',
  'gmake',
  'ninja',
  'cmake',
  'cargo',
  'rustc',
  'bazel',
  'javac',
  'dotnet',
  'msbuild',
  'ctest',
  'meson',
]);

/** The build tool that started this process, from its parent's name or executable. */
function buildToolParent(p: ProcessFields): string | undefined {
  const parent = p.parent;
  if (!parent) return undefined;
  const name = (parent.name ?? (parent.executable ? baseName(parent.executable) : '')).toLowerCase();
  const stem = name.replace(/-\d+(?:\.\d+)*$/, '');
  return BUILD_TOOLS.has(stem) ? name : undefined;
}

const TOOLCHAIN_DIRS = new Set([
  '.nvm',
  '.pyenv',
  '.rbenv',
  '.rustup',
  '.cargo',
  '.sdkman',
  '.asdf',
  '.volta',
  '.bun',
  '.deno',
  '.conda',
  '.local',
  '.dotnet',
  '.vscode-server',
  '.cursor-server',
  '.acme.sh',
  '.venv',
  '.tox',
  '.nox',
  '.linuxbrew',
  '.ghcup',
  '.opam',
  '.krew',
  '.gem',
  '.pub-cache',
  '.juliaup',
  '.cabal',
  '.stack',
]);
/** Directories installed programs live in. */
const SYSTEM_DIRS = ['/usr/', '/bin/', '/sbin/', '/lib/', '/lib64/', '/lib32/', '/opt/', '/snap/', '/nix/store/'];
/** Directories only package managers write: a deleted executable there is an upgrade awaiting a restart. */
const PACKAGE_DIRS = [
  '/usr/bin/',
  '/usr/sbin/',
  '/usr/lib/',
  '/usr/lib64/',
  '/usr/libexec/',
  '/bin/',
  '/sbin/',
  '/lib/',
  '/lib64/',
  '/snap/',
];

/**
 * Programs whose process name is legitimately something else: interpreters (a script's name is its
 * process name), multi-call binaries (busybox answers to `sh`, `ps`, …) and runtimes.
 */
const RUNNERS = new Set([
  'python',
  'perl',
  'ruby',
  'node',
  'nodejs',
  'java',
  'bash',
  'sh',
  'dash',
  'zsh',
  'ksh',
  'ash',
  'busybox',
  'toybox',
  'coreutils',
  'php',
  'php-fpm',
  'lua',
  'luajit',
  'rscript',
  'dotnet',
  'mono',
  'tclsh',
  'pwsh',
  'deno',
  'bun',
  'julia',
  'beam.smp',
  'wine',
  'wine64',
  'wine-preloader',
  'wine64-preloader',
  'kmod',
  'systemctl',
  'systemd',
]);
/** Names commonly installed as symlinks to a differently named program. */
const SYMLINK_NAMES: Record<string, string[]> = {
  mysqld: ['mariadbd'],
  mysql: ['mariadb'],
  init: ['systemd'],
  editor: ['nano', 'vim.basic', 'vim.tiny'],
  pager: ['less', 'more'],
  cc: ['gcc', 'clang'],
  'c++': ['g++', 'clang++'],
  pidof: ['killall5'],
  lzma: ['xz'],
  unxz: ['xz'],
  xzcat: ['xz'],
  'x-www-browser': ['firefox', 'chromium'],
  // Debian ships redis-server as a symlink to redis-check-rdb
  'redis-server': ['redis-check-rdb'],
  'redis-sentinel': ['redis-check-rdb'],
};
/**
 * Names attackers borrow so a miner blends into `ps`: a process called like this that runs some other
 * executable is suspicious even from a system directory.
 */
const DAEMON_NAMES = new Set([
  'sshd',
  'cron',
  'crond',
  'atd',
  'rsyslogd',
  'syslogd',
  'systemd-journald',
  'dbus-daemon',
  'init',
  'nginx',
  'httpd',
  'apache2',
  'mysqld',
  'postgres',
  'redis-server',
  'containerd',
  'dockerd',
  'kubelet',
  'agetty',
  'sleep',
  'top',
  'ps',
]);
/**
 * Chain nodes and wallets handle addresses for a living; an address in their arguments is not a
 * miner's login (unless monerod is told to mine).
 */
const WALLET_TOOLS = new Set([
  'monerod',
  'monero-wallet-cli',
  'monero-wallet-rpc',
  'monero-wallet-gui',
  'bitcoind',
  'bitcoin-cli',
  'bitcoin-qt',
  'bitcoin-wallet',
  'electrum',
  'geth',
  'litecoind',
  'litecoin-cli',
]);
/** Substrings of miner program names, for config-file evidence on builds intel does not list by name. */
const MINER_STEM = /xmrig|xmr-stak|miner|cpuminer/i;
/** Account options whose values identify the account (kept) or unlock it (hidden). */
const ACCOUNT_ARG = /^--?(email|e-mail|user|device-name|device|token|password|pass|api-key|key|cid)(?:=(.*))?$/i;
const SECRET_OPTIONS = new Set(['token', 'password', 'pass', 'api-key', 'key']);

export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/**
 * Why a program's location is suspicious, or undefined: a world-writable directory, or a hidden one
 * that is not a known toolchain directory. Shared with the persistence classifier.
 */
export function suspiciousLocation(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  let writable: string | undefined;
  for (const d of WRITABLE_DIRS)
    if (path.startsWith(d)) {
      writable = d;
      break;
    }
  // most programs run from neither: nothing to excuse as a toolchain's
  if (writable === undefined && !path.includes('/.')) return undefined;
  for (const p of TOOLCHAIN_PATHS) if (path.includes(p)) return undefined;
  if (writable) return `world-writable ${writable}`;
  const parts = path.split('/');
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i];
    if (part.length > 1 && part.startsWith('.') && part !== '..' && !TOOLCHAIN_DIRS.has(part))
      return `the hidden directory ${parts.slice(0, i + 1).join('/')}/`;
  }
  return undefined;
}

/**
 * A drive, UNC, %VAR% or SystemRoot path, or the NT forms EDRs write: `\Device\HarddiskVolume3\…` (Falcon's
 * ImageFileName when no command line names the volume's letter), `\Device\Mup\…` (UNC) and `\??\C:\…`.
 */
const WINDOWS_PATH =
  /^(?:[a-z]:\\|\\\\|\\systemroot\\|%[a-z]{1,20}%\\|\\device\\(?:harddiskvolume\d{1,4}|mup)\\|\\\?\?\\[a-z]:\\)/i;
/** The volume part of an NT path (`\Device\HarddiskVolume3`, `\??\C:`): it stands where a drive letter would. */
const NT_VOLUME = /^(?:\\device\\harddiskvolume\d{1,4}|\\\?\?\\[a-z]:)(?=\\)/i;
/** Windows' own processes, and where the real ones live (lower case, drive letter removed). */
const WINDOWS_SYSTEM_DIRS = ['\\windows\\system32\\', '\\windows\\syswow64\\', '\\windows\\winsxs\\'];
const WINDOWS_SYSTEM_NAMES = new Set([
  'svchost.exe',
  'csrss.exe',
  'lsass.exe',
  'smss.exe',
  'wininit.exe',
  'winlogon.exe',
  'services.exe',
  'spoolsv.exe',
  'dllhost.exe',
  'conhost.exe',
  'taskhostw.exe',
  'sihost.exe',
  'runtimebroker.exe',
  'wmiprvse.exe',
  'dwm.exe',
  'ctfmon.exe',
  'audiodg.exe',
  'fontdrvhost.exe',
  'lsm.exe',
  'explorer.exe',
]);
/**
 * Places no installed Windows program runs from. %AppData%, %Temp% and C:\Windows\Temp are left out:
 * installers and updates run from there every day.
 */
const WINDOWS_ODD_DIRS =
  /\\(?:\$recycle\.bin|users\\public|windows\\tasks|windows\\fonts|windows\\debug|windows\\help|perflogs|system volume information)\\/i;
/** User-writable places: where a scheduled task or a miner-named program from there is suspicious. */
const WINDOWS_WRITABLE_DIRS =
  /\\(?:appdata|temp|tmp|windows\\temp)\\|^(?:[a-z]:|\\device\\harddiskvolume\d{1,4})\\programdata\\|^%(?:appdata|localappdata|temp|tmp|programdata|public|userprofile)%\\/i;

export function isWindowsPath(path: string): boolean {
  return WINDOWS_PATH.test(path);
}

/** `C:\Windows\System32\x` → `\windows\system32\x`: drive, `\\?\` and %SystemRoot% folded, lower case. */
function windowsDirForm(path: string): string {
  return path
    .toLowerCase()
    .replace(/^\\\\\?\\/, '')
    .replace(/^(?:%systemroot%|\\systemroot)\\/, '\\windows\\')
    .replace(NT_VOLUME, '')
    .replace(/^[a-z]:/, '');
}

/**
 * Why a Windows program's location is suspicious, or undefined. `writable` also counts %AppData%,
 * %Temp% and ProgramData (for scheduled tasks and known-miner names, not for any process).
 */
export function windowsSuspiciousLocation(path: string, writable = false): string | undefined {
  const odd = WINDOWS_ODD_DIRS.exec(path);
  if (odd) return `the unusual directory ${odd[0]}`;
  const w = writable ? WINDOWS_WRITABLE_DIRS.exec(path) : null;
  return w ? `the user-writable directory ${w[0]}` : undefined;
}

/** Windows system process names run from anywhere else, and programs run from places nothing installed is. */
function windowsMasquerade(event: CoalEvent, p: ProcessFields, exe: string, isMiner: boolean, out: Signal[]): void {
  const name = baseName(exe).toLowerCase();
  const dir = windowsDirForm(exe).slice(0, -name.length);
  const isSystemDir = WINDOWS_SYSTEM_DIRS.includes(dir) || (name === 'explorer.exe' && dir === '\\windows\\');
  if (WINDOWS_SYSTEM_NAMES.has(name) && !isSystemDir)
    masqueradeSignal(
      event,
      out,
      'windows-system-name',
      'strong',
      `${labelOf(p)}: ${baseName(exe)} is a Windows system process name, but this one runs from ${exe}, not C:\\Windows\\System32`,
    );
  const location = windowsSuspiciousLocation(exe, isMiner);
  if (location)
    masqueradeSignal(
      event,
      out,
      'suspicious-location',
      'medium',
      `${labelOf(p)} runs from ${location}: process.executable ${exe}`,
    );
}

function isSystemPath(path: string): boolean {
  return SYSTEM_DIRS.some((d) => path.startsWith(d));
}

/** `python3.11` → `python`, `ld-linux-x86-64.so.2` → `ld-linux`: the program family without a version. */
function stem(name: string): string {
  if (name.startsWith('ld-linux')) return 'ld-linux';
  if (name.startsWith('qemu-')) return 'qemu';
  return name.replace(/[\d.]+$/, '').replace(/[-_.]$/, '');
}

/**
 * A process name that is neither its executable's name (allowing the kernel's 15-character cut,
 * versioned names and the usual symlinks) nor explained by an interpreter or multi-call binary.
 */
function isForeignName(name: string, exe: string, exeName: string): boolean {
  // the usual case, a process called as its file is
  if (name === exeName) return false;
  const n = name.toLowerCase();
  const e = exeName.toLowerCase();
  if (n === '' || e === '' || n === e || n === 'exe') return false;
  // the kernel keeps 15 characters of comm; version suffixes and gawk/awk-style prefixes are one family
  if (e.startsWith(n) || n.startsWith(e) || e.endsWith(n) || stem(n) === stem(e)) return false;
  if (RUNNERS.has(e) || RUNNERS.has(stem(e)) || stem(e) === 'ld-linux' || stem(e) === 'qemu') return false;
  // names a program gives itself: "(sd-pam)", "Web Content", "runc:[2:INIT]"
  if (/[\s()[\]:]/.test(name)) return false;
  if (SYMLINK_NAMES[n]?.includes(e)) return false;
  return !isSystemPath(exe) || DAEMON_NAMES.has(n);
}

function commandOf(p: ProcessFields): string {
  if (p.command_line) return p.command_line.slice(0, MAX_SCAN_CHARS);
  if (p.args && p.args.length > 0) return p.args.slice(0, MAX_ARGS).join(' ').slice(0, MAX_SCAN_CHARS);
  return '';
}

function argsOf(p: ProcessFields, command: string): string[] {
  if (p.args && p.args.length > 0) return p.args.slice(0, MAX_ARGS);
  return command.split(/\s+/, MAX_ARGS).filter((w) => w !== '');
}

/** `-c config.json`, `--config=/x/config.json`: the JSON config a miner is started with. */
function configArg(args: string[]): string | undefined {
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    let value: string | undefined;
    if ((a === '-c' || a === '--config') && i + 1 < args.length) value = args[i + 1];
    else if (a.startsWith('--config=')) value = a.slice(9);
    if (value?.toLowerCase().endsWith('.json')) return value;
  }
  return undefined;
}

/** The account arguments of a proxyware command line, with passwords and tokens hidden. */
function accountArgs(args: string[]): string {
  const shown: string[] = [];
  for (let i = 1; i < args.length && shown.length < 6; i++) {
    const m = ACCOUNT_ARG.exec(args[i]);
    if (!m) continue;
    const option = m[1].toLowerCase();
    const inline = m[2] !== undefined;
    const value = inline ? m[2] : args[i + 1];
    if (!inline && (value === undefined || value.startsWith('-'))) continue;
    const flag = args[i].slice(0, args[i].length - (inline ? m[2].length + 1 : 0));
    shown.push(`${flag}=${SECRET_OPTIONS.has(option) ? '(hidden)' : value.slice(0, 80)}`);
    if (!inline) i++;
  }
  return shown.join(' ');
}

function labelOf(p: ProcessFields): string {
  const name = p.name || (p.executable ? baseName(p.executable) : '') || 'process';
  // a command read from a pod spec or an exec request has no process yet: no pid to ask about
  return p.pid === undefined ? name : `${name} (pid ${p.pid})`;
}

/** argv[0]: the first argument, or the command line up to its first space. */
function firstWord(p: ProcessFields, command: string): string {
  if (p.args && p.args.length > 0) return p.args[0].slice(0, MAX_SCAN_CHARS);
  const space = command.search(/\s/);
  return space < 0 ? command : command.slice(0, space);
}

/**
 * A container image intel lists as a miner or proxyware image, with the signal kind it makes: the one
 * image lookup, for a running container's process here and for a pod spec's containers (workload).
 */
export function knownImage(
  intel: Intel,
  image: string,
): { match: IntelMatch; kind: 'miner-process' | 'proxyware-process'; what: 'miner' | 'proxyware' } | undefined {
  const match = intel.image(image);
  if (!match) return undefined;
  const miner = match.kind === 'miner-image';
  return { match, kind: miner ? 'miner-process' : 'proxyware-process', what: miner ? 'miner' : 'proxyware' };
}

/** Which name of the process intel knows it by, for the explanation. */
type NamedBy = 'executable' | 'name' | 'original' | 'argv0';

function namedByText(p: ProcessFields, exeName: string, by: NamedBy, argv0: string): string {
  if (by === 'executable') return `process.executable ${p.executable ?? ''}`;
  if (by === 'name') return `process.name ${p.name}`;
  if (by === 'original')
    return `process.pe.original_file_name ${p.pe?.original_file_name} (renamed to ${exeName || p.name || '?'})`;
  return `argv[0] ${argv0}`;
}

/**
 * Known programs by name, account arguments, hash and container image. Returns the name match. A name
 * already looked up (the process name is usually its executable's) is not looked up again.
 */
function knownProgram(
  event: CoalEvent,
  p: ProcessFields,
  exeName: string,
  argv0: string,
  intel: Intel,
  command: string,
  out: Signal[],
) {
  let byName = exeName ? intel.processName(exeName) : undefined;
  let by: NamedBy = 'executable';
  const name = p.name;
  if (!byName && name && name !== exeName) {
    byName = intel.processName(name);
    by = 'name';
  }
  const original = p.pe?.original_file_name;
  if (!byName && original) {
    // a renamed miner keeps the name it was built with
    byName = intel.processName(original);
    by = 'original';
  }
  if (!byName && argv0) {
    // what the command line runs, when the program file says nothing (a command decoded from a script)
    const argv0Name = baseName(argv0);
    if (argv0Name !== exeName && argv0Name !== name && argv0Name !== original) byName = intel.processName(argv0Name);
    by = 'argv0';
  }
  if (byName) {
    const field = namedByText(p, exeName, by, argv0);
    const miner = byName.kind === 'miner-name';
    const account = miner ? '' : accountArgs(argsOf(p, command));
    out.push(
      signalFor(event, {
        kind: miner ? 'miner-process' : 'proxyware-process',
        class: 'process',
        strength: byName.strength,
        by: `process:${miner ? 'miner' : 'proxyware'}-name`,
        explanation: `${labelOf(p)}: ${field} is a known ${miner ? 'miner' : 'proxyware client'} (intel ${intelName(byName)}: ${byName.indicator})${account ? `; account arguments ${account}` : ''}`,
        intel: byName,
      }),
    );
  } else {
    // the clients' own start-up options, from intel (intel/proxyware-flags.txt); one shared substring
    // test first, so most command lines cost one `includes`
    const proxyFlag = intel.proxywareFlag(command);
    if (proxyFlag) {
      const account = accountArgs(argsOf(p, command));
      // a client's own terms flag beside the account it earns for is that client signing in to sell
      // bandwidth, whatever the file is called: a strong flag is strong then, medium alone; a flag listed
      // below strong (Mysterium, often run on purpose) stays at its own strength
      const strength = proxyFlag.strength === 'strong' ? (account ? 'strong' : 'medium') : proxyFlag.strength;
      const client = proxyFlag.note
        ? `${proxyFlag.note} client arguments`
        : `proxyware client arguments (${proxyFlag.indicator})`;
      out.push(
        signalFor(event, {
          kind: 'proxyware-process',
          class: 'process',
          strength,
          by: 'process:proxyware-args',
          explanation: `${labelOf(p)}: process.command_line carries ${client}${account ? ` (${account})` : ''} under an unlisted name`,
        }),
      );
    }
  }
  if (p.hash) {
    for (const algo of ['sha256', 'sha1', 'md5'] as const) {
      const hex = p.hash[algo];
      const byHash = hex ? intel.hash(hex) : undefined;
      if (!byHash) continue;
      out.push(
        signalFor(event, {
          kind: 'miner-process',
          class: 'process',
          strength: byHash.strength,
          by: 'process:miner-hash',
          explanation: `${labelOf(p)}: process.hash.${algo} ${hex} is a known miner binary (intel ${intelName(byHash)}${byHash.note ? `: ${byHash.note}` : ''})`,
          intel: byHash,
        }),
      );
      break;
    }
  }
  const image = event.container?.image?.name;
  const byImage = image ? knownImage(intel, image) : undefined;
  if (byImage) {
    out.push(
      signalFor(event, {
        kind: byImage.kind,
        class: 'process',
        strength: byImage.match.strength,
        by: `process:${byImage.what}-image`,
        explanation: `${labelOf(p)} runs in a container of container.image.name ${image}, a known ${byImage.what} image (intel ${intelName(byImage.match)}: ${byImage.match.indicator})`,
        intel: byImage.match,
      }),
    );
  }
  return byName;
}

/** A wallet in the arguments, and a miner started with a JSON config file. */
function minerArguments(
  event: CoalEvent,
  p: ProcessFields,
  exeName: string,
  intel: Intel,
  command: string,
  isMiner: boolean,
  out: Signal[],
) {
  const tool = (exeName || p.name || '').toLowerCase();
  // options only a miner takes (`--cpu-priority`, `--donate-level`) or a pool beside a login: a miner by any
  // name (a wallet among them says so itself, below)
  const options = minerOptions(p.args && p.args.length > 0 ? p.args : command, intel);
  const wallet = !WALLET_TOOLS.has(tool) || command.includes('--start-mining') ? intel.wallet(command) : undefined;
  if (options?.conclusive && !WALLET_TOOLS.has(tool) && !wallet)
    out.push(
      signalFor(event, {
        kind: 'miner-process',
        class: 'process',
        strength: 'strong',
        by: 'process:miner-options',
        explanation: `${labelOf(p)}: miner options in its arguments (${options.shown.slice(0, 4).join(' ')})`,
      }),
    );
  if (wallet) {
    const w = wallet.indicator;
    const isLogin = options?.login === true;
    out.push(
      signalFor(event, {
        kind: 'miner-process',
        class: 'process',
        strength: isLogin ? 'strong' : 'medium',
        by: 'process:wallet',
        explanation: `${labelOf(p)}: process.command_line holds a ${wallet.note ?? 'wallet address'} ${shortWallet(w)}${isLogin ? ' beside pool/login options' : ''}${wallet.set !== 'wallet-shapes' ? ` (listed in intel ${intelName(wallet)})` : ''}`,
        intel: wallet.set !== 'wallet-shapes' ? wallet : undefined,
      }),
    );
  }
  if (!command.includes('-c') && !command.includes('--config')) return;
  if (!isMiner && !MINER_STEM.test(exeName) && !MINER_STEM.test(p.name ?? '')) return;
  const config = configArg(argsOf(p, command));
  if (config)
    out.push(
      signalFor(event, {
        kind: 'miner-process',
        class: 'process',
        strength: 'medium',
        by: 'process:miner-config',
        explanation: `${labelOf(p)}: a miner-named process started with the config file ${config} (process.command_line)`,
      }),
    );
}

/** A download whose output file or URL names a known miner or proxyware program (`curl -o xmrig …`). */
function namedDownload(event: CoalEvent, p: ProcessFields, intel: Intel, command: string, out: Signal[]): void {
  if (!/curl|wget|fetch|aria2c|tftp|busybox/.test(command)) return;
  const hit = minerDownloads(p.args && p.args.length > 0 ? p.args : command, intel)[0];
  if (!hit) return;
  const miner = hit.match.kind === 'miner-name';
  out.push(
    signalFor(event, {
      kind: miner ? 'miner-process' : 'proxyware-process',
      class: 'process',
      strength: hit.match.strength,
      by: `process:${miner ? 'miner' : 'proxyware'}-download`,
      explanation: `${labelOf(p)} downloads ${hit.where}, named as a known ${miner ? 'miner' : 'proxyware client'} (intel ${intelName(hit.match)}: ${hit.match.indicator})`,
      intel: hit.match,
    }),
  );
}

function masqueradeSignal(
  event: CoalEvent,
  out: Signal[],
  by: string,
  strength: Signal['strength'],
  explanation: string,
): void {
  out.push(signalFor(event, { kind: 'masquerade', class: 'process', strength, by: `process:${by}`, explanation }));
}

/** Kernel-thread names, suspicious locations, deleted executables and foreign names. */
function masquerade(
  event: CoalEvent,
  p: ProcessFields,
  exeName: string,
  argv0: string,
  isMiner: boolean,
  out: Signal[],
): void {
  const exe = p.executable ?? '';
  if (isWindowsPath(exe)) {
    windowsMasquerade(event, p, exe, isMiner, out);
    return;
  }
  // only processes that really have an executable file can masquerade; runc re-executes from a memfd copy
  if (exe === '' || exe.startsWith('/proc/') || exe.startsWith('/memfd:runc_cloned')) return;
  const name = p.name ?? '';
  const threadName = KERNEL_THREAD.test(name) ? name : KERNEL_THREAD.test(argv0) ? argv0 : undefined;
  if (threadName !== undefined && !isMiner)
    masqueradeSignal(
      event,
      out,
      'kernel-thread-name',
      'strong',
      `${labelOf(p)}: ${threadName === name ? 'process.name' : 'argv[0]'} ${threadName} is a kernel thread name, but kernel threads have no executable and this one runs ${exe}`,
    );
  const location = exe.startsWith('/memfd:') ? 'an anonymous memory file (memfd), fileless' : suspiciousLocation(exe);
  const builder = location && !exe.startsWith('/memfd:') ? buildToolParent(p) : undefined;
  if (location)
    masqueradeSignal(
      event,
      out,
      'suspicious-location',
      builder ? 'weak' : 'medium',
      `${labelOf(p)} runs from ${location}: process.executable ${exe}${builder ? ` (started by the build tool ${builder}, which runs what it builds from temporary directories)` : ''}`,
    );
  if (p.exe_deleted) {
    // after a package upgrade, long-running daemons keep their old, unlinked binary until restarted
    const isUpgrade = PACKAGE_DIRS.some((d) => exe.startsWith(d));
    masqueradeSignal(
      event,
      out,
      'deleted-executable',
      isUpgrade ? 'weak' : 'medium',
      `${labelOf(p)} is running from a deleted executable: ${exe}${isUpgrade ? ' (a system path: often just a package upgrade awaiting restart)' : ''}`,
    );
  }
  if (name && threadName === undefined && isForeignName(name, exe, exeName))
    masqueradeSignal(
      event,
      out,
      'name-mismatch',
      'medium',
      `${labelOf(p)}: process.name ${name} is not the name of its executable ${exe}`,
    );
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  if (action !== 'exec' && action !== 'process-seen') return;
  const p = event.process;
  if (!p) return;
  const command = commandOf(p);
  const exeName = p.executable ? baseName(p.executable) : '';
  const argv0 = command ? firstWord(p, command) : '';
  const byName = knownProgram(event, p, exeName, argv0, intel, command, out);
  const isMiner = byName?.kind === 'miner-name';
  if (command) {
    minerArguments(event, p, exeName, intel, command, isMiner, out);
    namedDownload(event, p, intel, command, out);
  }
  masquerade(event, p, exeName, argv0, isMiner, out);
}

export const processClassifier: Classifier = {
  name: 'process',
  actions: ['exec', 'process-seen'],
  summary: 'known miner/proxyware programs (name, hash, image, wallet, config, account arguments), masquerading',
  classify,
};
