/**
 * A miner's arguments, whatever the program is called: pool and login options (`minerOptions`) and
 * downloads whose URL or output file names a known miner (`minerDownloads`). Shared by the process
 * classifier (a renamed miner's command line) and the persistence classifier (a cron line, ExecStart,
 * rc line or scheduled task that starts one). Words only: no regex runs over the whole text.
 */
import type { Intel, IntelMatch } from './intel/types.js';

const MAX_SCAN_CHARS = 4096;
const MAX_WORDS = 128;

/** Options whose value is the pool (xmrig `-o`/`--url`, ethminer `-P`, phoenix `-pool`, lolMiner `--pool`). */
const POOL_OPTIONS = new Set(['-o', '--url', '--pool', '-pool', '-P', '--server']);
/** Options whose value is the pool account: a wallet there is a miner's login. */
const LOGIN_OPTIONS = new Set(['-u', '--user', '--wallet', '-wal']);
const PASS_OPTIONS = new Set(['-p', '--pass', '-pass', '--password']);
const ALGO_OPTIONS = new Set(['-a', '--algo', '--algorithm', '-algo']);
/** Options only miners of the xmrig family take: conclusive on their own. */
const MINER_ONLY = new Set([
  '--donate-level',
  '--donate-over-proxy',
  '--cpu-max-threads-hint',
  '--randomx-1gb-pages',
  '--randomx-mode',
  '--randomx-no-rdmsr',
  '--max-cpu-usage',
  '--rig-id',
  '--nicehash',
  '--coin',
  '--cpu-priority',
  '--cpu-no-yield',
  '--cpu-memory-pool',
  '--randomx-init',
  '--randomx-wrmsr',
  '--randomx-cache-qos',
  '--huge-pages-jit',
]);
/** Mining algorithms as `-a`/`--algo` values (RandomX, CryptoNight and the GPU/CPU coins' hashes). */
const ALGORITHM =
  /^(?:(?:rx|cn|cn-lite|cn-heavy|cn-pico|cn-half|argon2|astrobwt|ghostrider|kawpow)(?:\/[\w-]{1,16})?|randomx|randomwow|cryptonight[\w-]{0,16}|ethash|etchash|autolykos2?|yescrypt[\w]{0,8}|verushash|kheavyhash|equihash[\w]{0,8}|lyra2[\w]{0,8}|x16rv?2?|sha256d|scrypt)$/i;
/** A Stratum URL (stratum+tcp, stratum+ssl, stratum2+tcp, …): only miners and mining proxies speak it. */
const STRATUM = /^stratum[a-z0-9]{0,8}(?:\+[a-z0-9]{1,8})?:\/\//i;

export interface MinerOptions {
  /** What was recognised, as shown in evidence: `-o pool.example:443`, `-u <Monero address>`, `--donate-level`. */
  shown: string[];
  /** The options say miner on their own: a Stratum URL, an xmrig-only option, or a pool address with a login, password or algorithm. */
  conclusive: boolean;
  /** A pool address, Stratum URL, miner-only option or wallet login is present: a wallet in the same line is a miner's login. */
  login: boolean;
  /** The wallet given as the login, when one was. */
  wallet?: IntelMatch;
  /** The pools the options name, as host and port (`198.51.100.7`, 3333): where the miner will connect. */
  pools: Array<{ host: string; port: number; written: string }>;
}

/** `stratum+tcp://…`, `stratum2+ssl://…`: a URL in the mining protocol, which only miners and mining proxies speak. */
export function isStratumUrl(word: string): boolean {
  return STRATUM.test(word);
}

/** Host and port of a pool value (`stratum+tcp://h:443/x`, `h:3333`), lower-cased host. */
function poolEndpoint(value: string): { host: string; port: number; written: string } | undefined {
  const scheme = value.indexOf('://');
  let rest = scheme >= 0 ? value.slice(scheme + 3) : value;
  const slash = rest.indexOf('/');
  if (slash >= 0) rest = rest.slice(0, slash);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(rest.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: rest.slice(0, colon).toLowerCase(), port, written: value.slice(0, 120) };
}

/** The words of a command line: whitespace-separated, quotes dropped, bounded. */
export function wordsOf(command: string | readonly string[]): string[] {
  if (typeof command !== 'string') return command.slice(0, MAX_WORDS).map((w) => w.slice(0, MAX_SCAN_CHARS));
  const text = command.length > MAX_SCAN_CHARS ? command.slice(0, MAX_SCAN_CHARS) : command;
  return text
    .split(/\s+/, MAX_WORDS)
    .map((w) => w.replace(/['"]/g, ''))
    .filter((w) => w !== '');
}

/** `pool.example:443`, `1.2.3.4:3333`, `tcp://pool:443`, `stratum+ssl://x:443/path`: a host and a port. */
export function isPoolAddress(value: string): boolean {
  if (value.length > 300) return false;
  const scheme = value.indexOf('://');
  let rest = scheme >= 0 ? value.slice(scheme + 3) : value;
  if (scheme >= 0 && !/^[a-z][a-z0-9+.-]{0,23}$/i.test(value.slice(0, scheme))) return false;
  const slash = rest.indexOf('/');
  if (slash >= 0) rest = rest.slice(0, slash);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return false;
  const host = rest.slice(0, colon);
  const port = rest.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) === 0 || Number(port) > 65535) return false;
  // a host name or IPv4 address: letters, digits, dots and dashes, not starting with a dash
  return /^[a-z0-9][a-z0-9.-]{0,252}$/i.test(host);
}

/** An option and its value: `-o x`, `--url=x`, `-ox` (short options only). */
function optionAt(words: string[], i: number, names: Set<string>): { value: string; used: number } | undefined {
  const w = words[i];
  if (names.has(w)) return i + 1 < words.length ? { value: words[i + 1], used: 2 } : undefined;
  const eq = w.indexOf('=');
  if (eq > 0 && w.startsWith('-') && names.has(w.slice(0, eq))) return { value: w.slice(eq + 1), used: 1 };
  // getopt's attached short form, `-opool:443`; `-o` only, the one short option that takes a pool
  if (w.length > 2 && w.startsWith('-o') && w[2] !== '-' && w[2] !== '=') return { value: w.slice(2), used: 1 };
  return undefined;
}

/** `stratum` in any case: where a Stratum URL may start. */
const STRATUM_WORD = /stratum/i;
/** Every option `minerOptions` reads by name, as written: `-o`, `-u`, `--url`, `--donate-level`. */
const OPTION_NAMES = [...POOL_OPTIONS, ...LOGIN_OPTIONS, ...MINER_ONLY];
/** The code units that follow the dash of those names (`o` of `-o`, `-` of `--url`). */
const OPTION_SECOND = new Set(OPTION_NAMES.map((o) => o.charCodeAt(1)));

/**
 * Whether a word or unquoted text holds one of those option names where a word starts (a Stratum URL
 * aside): `ps aux --sort=-%cpu` holds none. A dash after a printable ASCII character is inside a word;
 * after anything else (whitespace, which splits words) it may start one.
 */
function holdsOptionName(text: string): boolean {
  for (let at = text.indexOf('-'); at >= 0; at = text.indexOf('-', at + 1)) {
    const before = at > 0 ? text.charCodeAt(at - 1) : 32;
    if ((before > 32 && before < 127) || !OPTION_SECOND.has(text.charCodeAt(at + 1))) continue;
    for (const name of OPTION_NAMES) if (text.startsWith(name, at)) return true;
  }
  return STRATUM_WORD.test(text);
}

/**
 * Whether `minerOptions` may find anything: a pool, login or miner-only option (each a word starting
 * with its name) or a Stratum URL. Most command lines hold none and skip the word split. Words drop
 * their quotes (`-"-url"` is `--url`); a quote is never whitespace, so dropping them from the whole
 * line first leaves the same words.
 */
export function mayHoldMinerOptions(command: string | readonly string[]): boolean {
  if (typeof command !== 'string') {
    const n = Math.min(command.length, MAX_WORDS);
    for (let i = 1; i < n; i++) if (holdsOptionName(command[i])) return true;
    return false;
  }
  return holdsOptionName(command.includes('"') || command.includes("'") ? command.replace(QUOTES, '') : command);
}
const QUOTES = /['"]/g;

/**
 * The pool and miner options in a command line or argument vector, or undefined when there are none.
 * `-o` alone is not a pool (`ssh -o`, `curl -o`, `gcc -o`): its value must be a host:port or a Stratum
 * URL. A login (`-u`) counts when its value is a wallet or beside a pool address.
 */
export function minerOptions(command: string | readonly string[], intel: Intel): MinerOptions | undefined {
  return mayHoldMinerOptions(command) ? readMinerOptions(command, intel) : undefined;
}

/** `minerOptions` without its gate: every line split and read (the gate's test compares the two). */
export function readMinerOptions(command: string | readonly string[], intel: Intel): MinerOptions | undefined {
  const words = wordsOf(command);
  const shown: string[] = [];
  let pool = false;
  let stratum = false;
  let minerOnly = false;
  let support = false;
  let wallet: IntelMatch | undefined;
  let loginValue = false;
  const pools: MinerOptions['pools'] = [];
  const addPool = (value: string) => {
    const at = poolEndpoint(value);
    if (at && pools.length < 8) pools.push(at);
  };
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (STRATUM.test(w)) {
      stratum = true;
      addPool(w);
      shown.push(w.slice(0, 120));
      continue;
    }
    const option = w.startsWith('-') ? w.replace(/=.*$/, '') : '';
    if (option === '') continue;
    const poolValue = optionAt(words, i, POOL_OPTIONS);
    if (poolValue && isPoolAddress(poolValue.value)) {
      pool = true;
      if (STRATUM.test(poolValue.value)) stratum = true;
      addPool(poolValue.value);
      shown.push(`${option.startsWith('-o') && option.length > 2 ? '-o' : option} ${poolValue.value.slice(0, 120)}`);
      i += poolValue.used - 1;
      continue;
    }
    if (MINER_ONLY.has(option)) {
      minerOnly = true;
      shown.push(option);
      continue;
    }
    const login = LOGIN_OPTIONS.has(option) ? optionAt(words, i, LOGIN_OPTIONS) : undefined;
    if (login) {
      const hit = intel.wallet(login.value.slice(0, 200));
      if (hit && !wallet) wallet = hit;
      loginValue = true;
      shown.push(`${option} ${hit ? `<${hit.note ?? 'wallet address'}>` : login.value.slice(0, 60)}`);
      i += login.used - 1;
      continue;
    }
    const algo = ALGO_OPTIONS.has(option) ? optionAt(words, i, ALGO_OPTIONS) : undefined;
    if (algo && ALGORITHM.test(algo.value)) {
      support = true;
      shown.push(`${option} ${algo.value}`);
      i += algo.used - 1;
      continue;
    }
    const pass = PASS_OPTIONS.has(option) ? optionAt(words, i, PASS_OPTIONS) : undefined;
    if (pass) {
      support = true;
      shown.push(`${option} ${pass.value.length <= 2 ? pass.value : '(hidden)'}`);
      i += pass.used - 1;
    }
  }
  // a password or algorithm alone says nothing (`mkdir -p x`, `tar -a`): only beside a pool, miner option or wallet
  if (!pool && !stratum && !minerOnly && !wallet) return undefined;
  const conclusive = stratum || minerOnly || (pool && (loginValue || support)) || (wallet !== undefined && support);
  return {
    shown: shown.slice(0, 8),
    conclusive,
    login: pool || stratum || minerOnly || wallet !== undefined,
    wallet,
    pools,
  };
}

// ---- downloads -------------------------------------------------------------------------------

const DOWNLOADERS = new Set(['curl', 'wget', 'fetch', 'aria2c', 'tftp', 'busybox']);
/** Options naming the file a download is saved as. */
const OUTPUT_OPTIONS = new Set(['-o', '-O', '--output', '--output-document', '--out']);
const ARCHIVE = /\.(?:tar\.gz|tar\.xz|tar\.bz2|tgz|txz|zip|7z|gz|xz|bz2|tar|rar|deb|rpm|bin|sh|exe)$/i;
/** Where a release name's version or platform starts: `xmrig-6.21.0-linux-x64`, `xmrig_v6`, `xmrig.6`. */
const VERSION_TAIL = /[-_.](?:v?\d|linux|win|macos|static|x64|x86|amd64|arm|aarch64).*$/i;

export interface MinerDownload {
  /** The word naming the miner: the output file or the URL. */
  where: string;
  /** The name intel knows. */
  name: string;
  match: IntelMatch;
}

/** A file or URL path's last part as intel names programs: archive extension and version tail removed. */
function programNameCandidates(pathOrUrl: string): string[] {
  const noQuery = pathOrUrl.replace(/[?#].*$/, '');
  const base = noQuery.slice(Math.max(noQuery.lastIndexOf('/'), noQuery.lastIndexOf('\\')) + 1);
  if (base === '' || base.length > 200) return [];
  const bare = base.replace(ARCHIVE, '');
  const unversioned = bare.replace(VERSION_TAIL, '');
  return [...new Set([base, bare, unversioned].filter((n) => n !== ''))];
}

/** The file or URL path a download word names as a known program, if any. */
function namedProgram(word: string, isOutput: boolean, intel: Intel): MinerDownload | undefined {
  if (word === '-' || word === '/dev/null') return undefined;
  const path = isOutput ? word : word.replace(/^[a-z]{2,5}:\/\/[^/]*/i, '');
  for (const name of programNameCandidates(path)) {
    const match = intel.processName(name);
    if (match) return { where: word.slice(0, 200), name, match };
  }
  return undefined;
}

/**
 * Downloads (curl, wget, …) whose output file or URL names a known miner or proxyware program
 * (`curl -o xmrig …`, `wget -O /tmp/xmrig …`, `…/xmrig-6.21.0-linux-x64.tar.gz`). Names come from
 * intel's program names; nothing is listed here.
 */
export function minerDownloads(command: string | readonly string[], intel: Intel): MinerDownload[] {
  const text = typeof command === 'string' ? command.slice(0, MAX_SCAN_CHARS) : undefined;
  const commands = text === undefined ? [wordsOf(command)] : text.split(/[;&|\n()`]+/, MAX_WORDS).map(wordsOf);
  const found: MinerDownload[] = [];
  for (const words of commands) {
    const at = words.findIndex((w) => DOWNLOADERS.has(w.slice(w.lastIndexOf('/') + 1)));
    if (at < 0) continue;
    for (let i = at + 1; i < words.length && found.length < 4; i++) {
      const w = words[i];
      let hit: MinerDownload | undefined;
      if (OUTPUT_OPTIONS.has(w) && i + 1 < words.length) hit = namedProgram(words[++i], true, intel);
      else if (/^--output(?:-document)?=/.test(w)) hit = namedProgram(w.slice(w.indexOf('=') + 1), true, intel);
      else if (/^(?:https?|ftp|tftp):\/\//i.test(w)) hit = namedProgram(w, false, intel);
      if (hit) found.push(hit);
    }
  }
  return found;
}
