/**
 * Indicators as data: the bundled lists in `intel/` (taken from public feeds, each naming its source,
 * URL and version) plus the user's own files
 * (`--intel`: plain list, hosts file or CSV), and wallet addresses recognised by shape. Lookups are on
 * the hot path: domains walk label suffixes into a Map, IPs hit a Map and a per-prefix-length table
 * for ranges, names (miner, proxyware, rival) a Map; nothing loops over all indicators, except the few
 * proxyware flags, compiled once and tried only past one substring test they all share. A later set
 * overrides an earlier one for the same indicator, so a user's file can re-grade a bundled entry.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Issue } from '../../model/issue.js';
import type { Strength } from '../../model/signal.js';
import { packagePath } from '../../util/package-root.js';
import {
  isHash,
  normaliseDomain,
  normaliseImage,
  normaliseProcessName,
  type ParsedIp,
  parseBundledList,
  parseCidr,
  parseIp,
  parseUserFile,
} from './list.js';
import { looksLikeStixBundle, parseStixBundle } from './stix.js';
import type { IndicatorKind, Intel, IntelEntry, IntelMatch, IntelSetInfo, ParsedIntel } from './types.js';
import { looksLikeZeekIntel, parseZeekIntel } from './zeek.js';

const INTEL_DIR = packagePath('intel');
const MAX_INTEL_FILE_BYTES = 64 * 1024 * 1024;
/** Bad lines listed one by one per file; the rest are counted in one closing issue. */
const MAX_BAD_LINES_LISTED = 50;

// ---- wallets ---------------------------------------------------------------------------------

/** Wallet text is scanned this far and no further: a wallet is an early argument, and scans stay bounded. */
const MAX_WALLET_SCAN = 8192;
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BASE58_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE58.length; i++) BASE58_VALUE[BASE58.charCodeAt(i)] = i;
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BECH32.length; i++) BECH32_VALUE[BECH32.charCodeAt(i)] = i;
/**
 * Ethereum-style addresses are plain hex and appear in unrelated text (commit ids are 40 hex too), so
 * they count only after a wallet option: `-u 0x…`, `--user=ETH:0x…`, `wallet=0x…`. Tested against
 * at most 40 characters before the address.
 */
const ETH_CONTEXT =
  /(?:(?:^|[\s"'])(?:-u|--user|--wallet|-w|--address|--wallet-address)[\s=]+|wallet=)(?:[A-Za-z0-9]{2,10}:)?$/i;

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Monero mainnet: 95 characters for a standard address (prefix byte 18 → "4" then 1-9, A, B) or a
 * subaddress (42 → "8" then 2-9, A-C); 106 for an integrated address (19 → "4" then B-M). Monero's
 * Keccak checksum is not available in node:crypto, so we also require both letter cases, which
 * rules out hex and any other single-case token of that length.
 */
function isMonero(token: string): boolean {
  const n = token.length;
  if (n !== 95 && n !== 106) return false;
  const second = token[1];
  if (n === 95 && token[0] === '4' && !/[1-9AB]/.test(second)) return false;
  if (n === 95 && token[0] === '8' && !/[2-9A-C]/.test(second)) return false;
  if (n === 95 && token[0] !== '4' && token[0] !== '8') return false;
  if (n === 106 && (token[0] !== '4' || !/[B-HJ-M]/.test(second))) return false;
  let upper = false;
  let lower = false;
  for (let i = 0; i < n; i++) {
    const c = token.charCodeAt(i);
    if (BASE58_VALUE[c] < 0) return false;
    if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97) lower = true;
  }
  return upper && lower;
}

/** Legacy Bitcoin (P2PKH "1…", P2SH "3…"): Base58Check with version 0 or 5 and a valid checksum. */
function isBase58Check(token: string): boolean {
  if (token.length < 26 || token.length > 35 || (token[0] !== '1' && token[0] !== '3')) return false;
  let n = 0n;
  for (let i = 0; i < token.length; i++) {
    const v = BASE58_VALUE[token.charCodeAt(i)];
    if (v < 0) return false;
    n = n * 58n + BigInt(v);
  }
  let leadingZeros = 0;
  while (token[leadingZeros] === '1') leadingZeros++;
  const hex = n.toString(16);
  const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const bytes = Buffer.concat([Buffer.alloc(leadingZeros), body]);
  if (bytes.length !== 25 || (bytes[0] !== 0 && bytes[0] !== 5)) return false;
  const payload = bytes.subarray(0, 21);
  const sum = createHash('sha256').update(createHash('sha256').update(payload).digest()).digest();
  return sum.subarray(0, 4).equals(bytes.subarray(21));
}

/** Bitcoin SegWit (bech32, BIP 173) and Taproot (bech32m, BIP 350) addresses, checksum verified. */
function isBech32(token: string): boolean {
  if (token.length < 26 || token.length > 74) return false;
  const lower = token.toLowerCase();
  if (token !== lower && token !== token.toUpperCase()) return false;
  if (!lower.startsWith('bc1')) return false;
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  const step = (v: number) => {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i];
  };
  // the human-readable part "bc", expanded as BIP 173 says
  step(98 >>> 5);
  step(99 >>> 5);
  step(0);
  step(98 & 31);
  step(99 & 31);
  for (let i = 3; i < lower.length; i++) {
    const v = BECH32_VALUE[lower.charCodeAt(i)];
    if (v < 0) return false;
    step(v);
  }
  return chk === 1 || chk === 0x2bc830a3;
}

export interface WalletHit {
  address: string;
  coin: 'Monero' | 'Bitcoin' | 'Ethereum-style';
  /** Where the address starts in the text. */
  index: number;
}

/**
 * The first wallet address in the first 8 KiB of `text`, read in one pass as maximal runs of letters
 * and digits (no regex over the text): Monero by shape, Bitcoin by checksum, Ethereum-style only
 * after a wallet option.
 */
export function findWallet(text: string): WalletHit | undefined {
  const t = text.length > MAX_WALLET_SCAN ? text.slice(0, MAX_WALLET_SCAN) : text;
  let i = 0;
  while (i < t.length) {
    if (!isAlnum(t.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < t.length && isAlnum(t.charCodeAt(j))) j++;
    // only runs as long as the shortest address (legacy Bitcoin, 26) are looked at
    if (j - i >= 26) {
      const token = t.slice(i, j);
      const c0 = token[0];
      if ((c0 === '4' || c0 === '8') && isMonero(token)) return { address: token, coin: 'Monero', index: i };
      if ((c0 === 'b' || c0 === 'B') && isBech32(token)) return { address: token, coin: 'Bitcoin', index: i };
      if ((c0 === '1' || c0 === '3') && isBase58Check(token)) return { address: token, coin: 'Bitcoin', index: i };
      if (
        token.length === 42 &&
        c0 === '0' &&
        token[1] === 'x' &&
        /^0x[0-9a-fA-F]{40}$/.test(token) &&
        ETH_CONTEXT.test(t.slice(Math.max(0, i - 40), i))
      )
        return { address: token, coin: 'Ethereum-style', index: i };
    }
    i = j;
  }
  return undefined;
}

// ---- the store -------------------------------------------------------------------------------

function ipKey(ip: ParsedIp): string {
  return ip.version === 4 ? `4:${ip.value}` : `6:${ip.value.toString(16)}`;
}

function networkKey(ip: ParsedIp, prefix: number): string {
  return ip.version === 4
    ? `4:${Math.floor(ip.value / 2 ** (32 - prefix))}`
    : `6:${(ip.value >> BigInt(128 - prefix)).toString(16)}`;
}

/** Suffix match on label boundaries: `a.b.example.com` tries itself, `b.example.com`, `example.com`. */
function bySuffix(table: Map<string, IntelMatch>, name: string): IntelMatch | undefined {
  if (name.length === 0 || name.length > 254) return undefined;
  let d = name.toLowerCase();
  if (d.endsWith('.')) d = d.slice(0, -1);
  for (;;) {
    const hit = table.get(d);
    if (hit) return hit;
    const dot = d.indexOf('.');
    if (dot < 0) return undefined;
    d = d.slice(dot + 1);
    if (!d.includes('.')) return undefined; // never a bare top-level label
  }
}

/** Words a proxyware flag may have, and characters per word: client options are short. */
const MAX_FLAG_WORDS = 8;
const MAX_FLAG_WORD_CHARS = 100;
/** Flags above this many share no precomputed gate (each still has its own needle). */
const MAX_GATED_FLAGS = 64;

/** One proxyware flag, compiled once when it is added. */
interface FlagMatcher {
  /** Its longest word: a command line without it cannot match, so the regex runs only when it is there. */
  needle: string;
  re: RegExp;
  match: IntelMatch;
}

/**
 * `-accept-tos` → `(?:^|\s)-accept-tos(?:\s|=|$)`; `start accept --token=` → `(?:^|\s)start\s+accept\s+--token[\s=]`:
 * the words in order, each whole; a last word written with `=` must be followed by its value. The reason,
 * as a string, for a value that is no option sequence.
 */
function compileFlag(value: string): { words: string[]; needle: string; re: RegExp } | string {
  const words = value.split(/\s+/).filter((w) => w !== '');
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  if (words.length === 0 || words.length > MAX_FLAG_WORDS || words.some((w) => w.length > MAX_FLAG_WORD_CHARS))
    return `"${shown}" is not a proxyware flag (1 to ${MAX_FLAG_WORDS} words of at most ${MAX_FLAG_WORD_CHARS} characters)`;
  const last = words[words.length - 1];
  const takesValue = last.length > 1 && last.endsWith('=');
  const bare = [...words.slice(0, -1), takesValue ? last.slice(0, -1) : last];
  if (bare.some((w) => w.includes('=')) || !bare.some((w) => /^--?[A-Za-z0-9]/.test(w)))
    return `"${shown}" is not a proxyware flag (it needs an option such as -accept-tos; only its last word may end in =)`;
  const escaped = bare.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(?:^|\\s)${escaped.join('\\s+')}${takesValue ? '[\\s=]' : '(?:\\s|=|$)'}`);
  const needle = bare.reduce((a, b) => (b.length > a.length ? b : a));
  return { words: [...bare.slice(0, -1), last], needle, re };
}

/**
 * The longest text every needle holds (`-t` for the bundled clients' options): a command line without it
 * holds no flag, so most lines cost one `includes`. Empty when there is none or too many flags to compare.
 */
function sharedGate(needles: string[]): string {
  if (needles.length === 0 || needles.length > MAX_GATED_FLAGS) return '';
  const shortest = needles.reduce((a, b) => (b.length < a.length ? b : a));
  for (let len = shortest.length; len > 0; len--)
    for (let i = 0; i + len <= shortest.length; i++) {
      const part = shortest.slice(i, i + len);
      if (needles.every((n) => n.includes(part))) return part;
    }
  return '';
}

export class IntelStore implements Intel {
  private readonly domains = new Map<string, IntelMatch>();
  private readonly checkers = new Map<string, IntelMatch>();
  private readonly ips = new Map<string, IntelMatch>();
  /** Ranges by prefix length, longest first, each a Map from network number to match. */
  private ranges: Array<{ version: 4 | 6; prefix: number; table: Map<string, IntelMatch> }> = [];
  private readonly ports = new Map<number, IntelMatch>();
  private readonly names = new Map<string, IntelMatch>();
  private readonly hashes = new Map<string, IntelMatch>();
  private readonly images = new Map<string, IntelMatch>();
  private readonly wallets = new Map<string, IntelMatch>();
  private readonly rivals = new Map<string, IntelMatch>();
  /** Proxyware flags by their normalised words, in the order first added (a later set re-grades in place). */
  private readonly flags = new Map<string, FlagMatcher>();
  /** `flags` as a list and their shared gate, rebuilt on the first lookup after an add. */
  private flagList: FlagMatcher[] | undefined;
  private flagGate = '';
  private readonly info: IntelSetInfo[] = [];
  /** One info object per set name, shared by the set's matches and filled in by `addSet`. */
  private readonly infoByName = new Map<string, IntelSetInfo>();

  private about(set: string): IntelSetInfo {
    let info = this.infoByName.get(set);
    if (!info) {
      info = { name: set, kind: 'mixed', source: set, count: 0 };
      this.infoByName.set(set, info);
    }
    return info;
  }

  addSet(info: IntelSetInfo): void {
    const shared = this.about(info.name);
    Object.assign(shared, info);
    if (!this.info.includes(shared)) this.info.push(shared);
  }

  /** Add one indicator to `set`; returns why it is not valid for its kind, or undefined when added. */
  add(kind: IndicatorKind, raw: string, set: string, strength: Strength, note?: string): string | undefined {
    const value = raw.trim();
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    const about = this.about(set);
    const match = (indicator: string): IntelMatch => {
      const m: IntelMatch = {
        kind,
        indicator,
        set,
        strength: kind === 'mining-port' ? 'weak' : strength,
        about,
      };
      if (note) m.note = note.length > 200 ? `${note.slice(0, 200)}…` : note;
      return m;
    };
    switch (kind) {
      case 'pool-domain':
      case 'proxyware-domain': {
        const d = normaliseDomain(value);
        if (!d) return `"${shown}" is not a domain name`;
        this.domains.set(d, match(d));
        return undefined;
      }
      case 'proxy-checker': {
        const d = normaliseDomain(value);
        if (!d) return `"${shown}" is not a domain name`;
        this.checkers.set(d, match(d));
        return undefined;
      }
      case 'pool-ip': {
        if (value.includes('/')) {
          const range = parseCidr(value);
          if (typeof range === 'string') return range;
          this.addRange(range.ip, range.prefix, match(value.toLowerCase()));
          return undefined;
        }
        const ip = parseIp(value);
        if (!ip) return `"${shown}" is not an IP address`;
        this.ips.set(ipKey(ip), match(value.toLowerCase()));
        return undefined;
      }
      case 'mining-port': {
        const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
        if (!(port >= 1 && port <= 65535)) return `"${shown}" is not a port number`;
        this.ports.set(port, match(String(port)));
        return undefined;
      }
      case 'miner-name':
      case 'proxyware-name':
        if (value.length === 0 || value.length > 255 || /[\s/\\]/.test(value))
          return `"${shown}" is not an executable name`;
        this.names.set(normaliseProcessName(value), match(value));
        return undefined;
      case 'miner-hash':
        if (!isHash(value)) return `"${shown}" is not an MD5, SHA-1 or SHA-256 hex digest`;
        this.hashes.set(value.toLowerCase(), match(value.toLowerCase()));
        return undefined;
      case 'miner-image':
      case 'proxyware-image': {
        const repo = value.length <= 512 && !/\s/.test(value) ? normaliseImage(value) : '';
        if (repo === '') return `"${shown}" is not an image reference`;
        this.images.set(repo, match(repo));
        return undefined;
      }
      case 'rival-name':
        if (value.length === 0 || value.length > 255 || /[\s/\\]/.test(value))
          return `"${shown}" is not an executable name`;
        this.rivals.set(value.toLowerCase(), match(value));
        return undefined;
      case 'proxyware-flag': {
        const flag = compileFlag(value);
        if (typeof flag === 'string') return flag;
        const indicator = flag.words.join(' ');
        this.flags.set(indicator, { needle: flag.needle, re: flag.re, match: match(indicator) });
        this.flagList = undefined;
        return undefined;
      }
      case 'wallet': {
        const isEthereum = /^0x[0-9a-fA-F]{40}$/.test(value);
        if (!isEthereum && findWallet(value)?.address !== value)
          return `"${shown}" is not a wallet address we recognise`;
        this.wallets.set(value, match(value));
        return undefined;
      }
    }
  }

  private addRange(ip: ParsedIp, prefix: number, match: IntelMatch): void {
    let range = this.ranges.find((r) => r.version === ip.version && r.prefix === prefix);
    if (!range) {
      range = { version: ip.version, prefix, table: new Map() };
      this.ranges.push(range);
      this.ranges.sort((a, b) => b.prefix - a.prefix);
    }
    range.table.set(networkKey(ip, prefix), match);
  }

  domain(name: string): IntelMatch | undefined {
    return bySuffix(this.domains, name);
  }

  proxyChecker(name: string): IntelMatch | undefined {
    return bySuffix(this.checkers, name);
  }

  ip(text: string): IntelMatch | undefined {
    if (text.length > 64) return undefined;
    const ip = parseIp(text);
    if (!ip) return undefined;
    const exact = this.ips.get(ipKey(ip));
    if (exact) return exact;
    for (const range of this.ranges) {
      if (range.version !== ip.version) continue;
      const hit = range.table.get(networkKey(ip, range.prefix));
      if (hit) return hit;
    }
    return undefined;
  }

  port(port: number): IntelMatch | undefined {
    return this.ports.get(port);
  }

  processName(name: string): IntelMatch | undefined {
    return name.length === 0 || name.length > 4096 ? undefined : this.names.get(normaliseProcessName(name));
  }

  rivalName(name: string): IntelMatch | undefined {
    return name.length === 0 || name.length > 255 ? undefined : this.rivals.get(name.toLowerCase());
  }

  proxywareFlag(command: string): IntelMatch | undefined {
    let list = this.flagList;
    if (!list) {
      list = [...this.flags.values()];
      this.flagList = list;
      this.flagGate = sharedGate(list.map((f) => f.needle));
    }
    if (list.length === 0 || (this.flagGate !== '' && !command.includes(this.flagGate))) return undefined;
    for (const f of list) if (command.includes(f.needle) && f.re.test(command)) return f.match;
    return undefined;
  }

  hash(hex: string): IntelMatch | undefined {
    return hex.length > 64 ? undefined : this.hashes.get(hex.toLowerCase());
  }

  image(ref: string): IntelMatch | undefined {
    return ref.length === 0 || ref.length > 512 ? undefined : this.images.get(normaliseImage(ref));
  }

  wallet(text: string): IntelMatch | undefined {
    const hit = findWallet(text);
    if (!hit) return undefined;
    const listed = this.wallets.get(hit.address);
    if (listed) return listed;
    return {
      kind: 'wallet',
      indicator: hit.address,
      set: 'wallet-shapes',
      strength: 'strong',
      note: `${hit.coin} address`,
    };
  }

  sets(): IntelSetInfo[] {
    return this.info.map((s) => ({ ...s }));
  }
}

// ---- loading ---------------------------------------------------------------------------------

/** Store the entries of one parsed file as the set `name`; bad lines and invalid values become issues. */
function addParsed(
  store: IntelStore,
  file: string,
  name: string,
  parsed: ParsedIntel,
  issues: Issue[],
  modified?: string,
): void {
  const bad: Array<{ line: number; reason: string }> = [...parsed.bad];
  const added: IntelEntry[] = [];
  for (const entry of parsed.entries) {
    const reason = store.add(entry.kind, entry.value, name, entry.strength, entry.note);
    if (reason) bad.push({ line: entry.line, reason });
    else added.push(entry);
  }
  bad.sort((a, b) => a.line - b.line);
  for (const b of bad.slice(0, MAX_BAD_LINES_LISTED))
    issues.push({ file, line: b.line, code: 'INTEL_BAD_LINE', reason: b.reason, stage: 'loading' });
  if (bad.length > MAX_BAD_LINES_LISTED) {
    const next = bad[MAX_BAD_LINES_LISTED];
    issues.push({
      file,
      line: next.line,
      code: 'INTEL_BAD_LINE',
      reason: `${bad.length - MAX_BAD_LINES_LISTED} more bad lines from here on, not listed one by one`,
      stage: 'loading',
    });
  }
  const kinds = new Set(added.map((e) => e.kind));
  const kind = parsed.kind ?? (kinds.size === 1 ? [...kinds][0] : 'mixed');
  const info: IntelSetInfo = { name, kind, source: parsed.source ?? file, count: added.length };
  if (parsed.version) info.version = parsed.version;
  if (parsed.url) info.url = parsed.url;
  if (parsed.license) info.license = parsed.license;
  if (modified) info.modified = modified;
  store.addSet(info);
}

/** Our lists in `intel/`. Bad lines there are our bug; they are reported to `issues` like any other. */
export function loadBundledIntel(issues: Issue[] = []): IntelStore {
  return loadBundledInto(new IntelStore(), issues);
}

function loadBundledInto(store: IntelStore, issues: Issue[]): IntelStore {
  let names: string[];
  try {
    names = readdirSync(INTEL_DIR).sort();
  } catch (err) {
    issues.push({ file: INTEL_DIR, code: 'INTEL_UNREADABLE', reason: (err as Error).message, stage: 'loading' });
    return store;
  }
  for (const name of names) {
    if (!name.endsWith('.txt')) continue;
    const path = join(INTEL_DIR, name);
    const parsed = parseBundledList(readFileSync(path, 'utf8'));
    addParsed(store, path, parsed.set ?? name.slice(0, -4), parsed, issues);
  }
  return store;
}

/** Add one user file (already read) as its own set, named by the file name. */
export function addUserIntel(store: IntelStore, file: string, text: string, issues: Issue[], modified?: string): void {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const parsed = looksLikeStixBundle(body)
    ? parseStixBundle(body)
    : looksLikeZeekIntel(body)
      ? parseZeekIntel(body)
      : parseUserFile(body);
  addParsed(store, file, basename(file), parsed, issues, modified);
  if (parsed.entries.length === 0 && parsed.bad.length === 0)
    issues.push({ file, code: 'INTEL_EMPTY', reason: 'no indicators in this file', stage: 'loading' });
}

/** The bundled lists plus the user's `--intel` files, each its own set; problems are issues, never throws. */
export async function loadIntel(userFiles: string[]): Promise<{ intel: Intel; issues: Issue[] }> {
  const issues: Issue[] = [];
  const store = loadBundledInto(new IntelStore(), issues);
  for (const file of userFiles) {
    try {
      const info = await stat(file);
      if (!info.isFile()) {
        issues.push({ file, code: 'INTEL_UNREADABLE', reason: 'not a regular file', stage: 'loading' });
        continue;
      }
      if (info.size > MAX_INTEL_FILE_BYTES) {
        issues.push({
          file,
          code: 'INTEL_TOO_LARGE',
          reason: `${info.size} bytes, over the ${MAX_INTEL_FILE_BYTES}-byte limit for an intel file`,
          stage: 'loading',
        });
        continue;
      }
      addUserIntel(store, file, (await readFile(file)).toString('utf8'), issues, info.mtime.toISOString().slice(0, 10));
    } catch (err) {
      issues.push({ file, code: 'INTEL_UNREADABLE', reason: (err as Error).message, stage: 'loading' });
    }
  }
  return { intel: store, issues };
}
