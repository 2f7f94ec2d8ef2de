/**
 * Indicator syntax and intel file formats, with no I/O: the bundled lists (`# set:` headers, one
 * indicator a line) and the user's files (plain list, hosts file, CSV). Parsers return entries and
 * bad lines; validating a value for its kind and storing it is the store's job (store.ts).
 */
import type { Strength } from '../../model/signal.js';
import {
  DEFAULT_STRENGTH,
  INDICATOR_KINDS,
  type IndicatorKind,
  MAX_INTEL_LINE_CHARS,
  type ParsedIntel,
} from './types.js';

const KIND_SET = new Set<string>(INDICATOR_KINDS);
const STRENGTHS = new Set<string>(['weak', 'medium', 'strong']);

// ---- indicator syntax ------------------------------------------------------------------------

const DOMAIN = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,62}$/;
const HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** A DNS name with at least two labels and an alphabetic top label, lower-cased, without a trailing dot. */
export function normaliseDomain(name: string): string | undefined {
  if (name.length === 0 || name.length > 254) return undefined;
  let d = name.toLowerCase();
  if (d.endsWith('.')) d = d.slice(0, -1);
  return d.length <= 253 && DOMAIN.test(d) ? d : undefined;
}

export function isHash(value: string): boolean {
  return value.length <= 64 && HASH.test(value);
}

/** An IPv4 address as a 32-bit unsigned integer. */
export function parseIpv4(text: string): number | undefined {
  if (text.length < 7 || text.length > 15) return undefined;
  let n = 0;
  let parts = 0;
  let digits = 0;
  let part = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255) return undefined;
      n = n * 256 + part;
      parts++;
      digits = 0;
      part = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else return undefined;
  }
  return parts === 4 ? n : undefined;
}

/** An IPv6 address (`::` compression, dotted IPv4 tail, `%zone` and brackets allowed) as a 128-bit integer. */
export function parseIpv6(text: string): bigint | undefined {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (t.length < 2 || t.length > 45 || !t.includes(':')) return undefined;
  const groups: number[] = [];
  let tail: number[] = [];
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const parseHalf = (half: string, out: number[]): boolean => {
    if (half === '') return true;
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return false;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
        out.push(Number.parseInt(p, 16));
      }
    }
    return true;
  };
  if (!parseHalf(halves[0], groups)) return undefined;
  if (halves.length === 2) {
    if (!parseHalf(halves[1], tail)) return undefined;
    if (groups.length + tail.length > 7) return undefined;
    tail = [...new Array<number>(8 - groups.length - tail.length).fill(0), ...tail];
  }
  const all = [...groups, ...tail];
  if (all.length !== 8) return undefined;
  let n = 0n;
  for (const g of all) n = (n << 16n) | BigInt(g);
  return n;
}

export type ParsedIp = { version: 4; value: number } | { version: 6; value: bigint };

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** Either family; an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is read as the IPv4 address it carries. */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === V4_MAPPED_PREFIX >> 32n) return { version: 4, value: Number(v6 & 0xffffffffn) };
  return { version: 6, value: v6 };
}

/** `a.b.c.d/n` or `v6::/n`; the prefix must not be so short that it names a large part of the Internet. */
export function parseCidr(text: string): { ip: ParsedIp; prefix: number } | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `"${clipValue(text)}" is not an IP range`;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!ip) return `"${clipValue(text)}" is not an IP range`;
  const [min, max] = ip.version === 4 ? [8, 32] : [16, 128];
  if (!(prefix >= min && prefix <= max)) return `"${clipValue(text)}" needs a /${min}../${max} prefix`;
  return { ip, prefix };
}

/** Basename without directories and a trailing `.exe`, lower-cased: how process names are compared. */
export function normaliseProcessName(name: string): string {
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  const base = (slash >= 0 ? name.slice(slash + 1) : name).toLowerCase();
  return base.endsWith('.exe') ? base.slice(0, -4) : base;
}

/** The repository of an image reference: registry host, `library/`, tag and digest removed, lower-cased. */
export function normaliseImage(ref: string): string {
  let r = ref.trim().toLowerCase();
  const at = r.indexOf('@');
  if (at >= 0) r = r.slice(0, at);
  const parts = r.split('/');
  // Docker's rule: the first component is a registry when it has a dot or a port, or is localhost
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  r = parts.join('/');
  const colon = r.lastIndexOf(':');
  if (colon > r.lastIndexOf('/')) r = r.slice(0, colon);
  if (r.startsWith('library/')) r = r.slice(8);
  return r;
}

function clipValue(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}

/** Undo the usual IOC defanging: `pool[.]example[.]com`, `hxxp://`, `1.2.3[.]4`. */
function refang(value: string): string {
  if (!value.includes('[') && !value.includes('(') && !value.startsWith('hxxp')) return value;
  return value.replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]/gi, '.').replace(/^hxxp/i, 'http');
}

/** The host of a URL-looking value (`stratum+tcp://host:3333/path`), else the value itself. */
export function hostOfUrl(value: string): string {
  const scheme = value.indexOf('://');
  if (scheme < 0 || scheme > 24) return value;
  let rest = value.slice(scheme + 3);
  const end = rest.search(/[/?#]/);
  if (end >= 0) rest = rest.slice(0, end);
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  if (rest.startsWith('[')) return rest.slice(0, rest.indexOf(']') + 1);
  const colon = rest.lastIndexOf(':');
  return colon >= 0 && rest.indexOf(':') === colon ? rest.slice(0, colon) : rest;
}

/** What a bare indicator in a user's list is: `kind:value` (`rival-name:zzh`), `port:N`, URL, IP, CIDR, hash or domain. */
export function guessIndicator(raw: string): { kind: IndicatorKind; value: string } | undefined {
  const value = hostOfUrl(refang(raw));
  const colon = value.indexOf(':');
  if (colon > 0 && colon <= 16) {
    const prefix = value.slice(0, colon).toLowerCase();
    if (prefix === 'port') return { kind: 'mining-port', value: value.slice(colon + 1) };
    if (KIND_SET.has(prefix)) return { kind: prefix as IndicatorKind, value: value.slice(colon + 1) };
  }
  if (value.includes('/') && parseIp(value.slice(0, value.indexOf('/')))) return { kind: 'pool-ip', value };
  if (parseIp(value)) return { kind: 'pool-ip', value };
  if (isHash(value)) return { kind: 'miner-hash', value };
  if (normaliseDomain(value)) return { kind: 'pool-domain', value };
  return undefined;
}

// ---- bundled lists ---------------------------------------------------------------------------

const HEADER = /^#\s*(set|kind|strength|source|version|url|license):\s*(\S.*)$/;

/**
 * Our own lists: `# set:`, `# kind:` (an indicator kind, or `mixed` for `<kind> <value>` lines),
 * `# strength:`, and the provenance headers `# source:` (the feed's name), `# url:` (where it is
 * published), `# version:` (its commit or date) and `# license:`, then one indicator a line with an
 * optional `# note`. A later `# strength:` line changes the strength of the lines after it.
 */
export function parseBundledList(text: string): ParsedIntel {
  const parsed: ParsedIntel = { format: 'bundled', entries: [], bad: [] };
  let strength: Strength | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const h = HEADER.exec(raw);
    if (h) {
      const value = h[2].trim();
      if (h[1] === 'set') parsed.set = value;
      else if (h[1] === 'source') parsed.source = value;
      else if (h[1] === 'version') parsed.version = value.slice(0, 64);
      else if (h[1] === 'url') parsed.url = value.slice(0, 512);
      else if (h[1] === 'license') parsed.license = value.slice(0, 64);
      else if (h[1] === 'kind') {
        if (value === 'mixed' || KIND_SET.has(value)) parsed.kind = value as IndicatorKind | 'mixed';
        else parsed.bad.push({ line: i + 1, reason: `unknown kind "${clipValue(value)}"` });
      } else if (STRENGTHS.has(value)) strength = value as Strength;
      else parsed.bad.push({ line: i + 1, reason: `unknown strength "${clipValue(value)}"` });
      continue;
    }
    if (raw.startsWith('#')) continue;
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    const note = hash >= 0 ? raw.slice(hash + 1).trim() || undefined : undefined;
    const words = body.split(/\s+/);
    const kind = parsed.kind === 'mixed' ? words[0] : parsed.kind;
    const rest = parsed.kind === 'mixed' ? words.slice(1) : words;
    // a proxyware flag is a sequence of words (`start accept --token=`); every other indicator is one word
    const value = kind === 'proxyware-flag' ? rest.join(' ') : rest[0];
    if (!kind || !KIND_SET.has(kind) || !value) {
      parsed.bad.push({ line: i + 1, reason: kind ? `unknown kind "${clipValue(kind)}"` : 'no "# kind:" header' });
      continue;
    }
    const k = kind as IndicatorKind;
    parsed.entries.push({ kind: k, value, strength: strength ?? DEFAULT_STRENGTH[k], note, line: i + 1 });
  }
  return parsed;
}

// ---- user files ------------------------------------------------------------------------------

/** Addresses a hosts-file blocklist points names at; a line starting with one lists names. */
const SINKHOLES = new Set(['0.0.0.0', '127.0.0.1', '::', '::1', '0']);
/** Names every hosts file carries for itself: not indicators, skipped silently. */
const HOSTS_BOILERPLATE = new Set([
  'localhost',
  'localhost.localdomain',
  'local',
  'broadcasthost',
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
  '0.0.0.0',
]);

/** Other names feeds use in a CSV `type` column, mapped to ours. */
const TYPE_ALIASES: Record<string, IndicatorKind> = {
  domain: 'pool-domain',
  hostname: 'pool-domain',
  fqdn: 'pool-domain',
  ip: 'pool-ip',
  ipv4: 'pool-ip',
  ipv6: 'pool-ip',
  'ip-dst': 'pool-ip',
  cidr: 'pool-ip',
  port: 'mining-port',
  hash: 'miner-hash',
  sha256: 'miner-hash',
  sha1: 'miner-hash',
  md5: 'miner-hash',
  process: 'miner-name',
  'process-name': 'miner-name',
  filename: 'miner-name',
  image: 'miner-image',
  'container-image': 'miner-image',
  address: 'wallet',
};

/** Split one CSV record: RFC 4180 quoting (`"a, b"`, `""` for a quote) on a single line. */
export function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined; // unterminated quote
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      const comma = line.indexOf(',', i);
      if (line.slice(i, comma < 0 ? undefined : comma).trim() !== '') return undefined; // text after the quote
      fields.push(field);
      if (comma < 0) return fields;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      fields.push(line.slice(i, comma < 0 ? undefined : comma).trim());
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}

/**
 * A user's intel file, format detected from its content: CSV when the first record is a header with an
 * `indicator` column; a hosts file when lines start with a sinkhole address; otherwise a plain list.
 */
export function parseUserFile(text: string): ParsedIntel {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split('\n');
  const firstIndex = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const first = firstIndex >= 0 ? lines[firstIndex] : '';
  const header = first.length <= MAX_INTEL_LINE_CHARS ? splitCsvLine(first.trim().toLowerCase()) : undefined;
  if (header && header.length > 1 && header.includes('indicator')) return parseCsv(lines, firstIndex, header);
  return parseList(lines);
}

function parseCsv(lines: string[], headerIndex: number, header: string[]): ParsedIntel {
  const parsed: ParsedIntel = { format: 'csv', entries: [], bad: [] };
  const col = (name: string) => header.indexOf(name);
  const [iValue, iType, iStrength, iNote] = [col('indicator'), col('type'), col('strength'), col('note')];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const bad = (reason: string) => parsed.bad.push({ line: i + 1, reason });
    if (line.length > MAX_INTEL_LINE_CHARS) {
      bad(`line longer than ${MAX_INTEL_LINE_CHARS} characters`);
      continue;
    }
    const f = splitCsvLine(line);
    if (!f) {
      bad('unbalanced quotes');
      continue;
    }
    const raw = f[iValue] ?? '';
    if (raw === '') {
      bad('empty indicator');
      continue;
    }
    let kind: IndicatorKind | undefined;
    let value = raw;
    const type = iType >= 0 ? (f[iType] ?? '').toLowerCase() : '';
    if (type !== '') {
      kind = KIND_SET.has(type) ? (type as IndicatorKind) : TYPE_ALIASES[type];
      if (!kind) {
        bad(`unknown type "${clipValue(type)}" (use one of ${INDICATOR_KINDS.join(', ')})`);
        continue;
      }
      value =
        kind === 'pool-domain' || kind === 'proxyware-domain' || kind === 'proxy-checker' || kind === 'pool-ip'
          ? hostOfUrl(refang(raw))
          : raw;
      if (kind === 'mining-port') value = value.replace(/^port:/i, '');
    } else {
      const guess = guessIndicator(raw);
      if (!guess) {
        bad(`cannot tell what kind of indicator "${clipValue(raw)}" is (fill in the type column)`);
        continue;
      }
      ({ kind, value } = guess);
    }
    const strengthText = iStrength >= 0 ? (f[iStrength] ?? '').toLowerCase() : '';
    if (strengthText !== '' && !STRENGTHS.has(strengthText)) {
      bad(`unknown strength "${clipValue(strengthText)}" (weak, medium or strong)`);
      continue;
    }
    const strength = strengthText !== '' ? (strengthText as Strength) : DEFAULT_STRENGTH[kind];
    const note = iNote >= 0 && f[iNote] ? f[iNote] : undefined;
    parsed.entries.push({ kind, value, strength, note, line: i + 1 });
  }
  return parsed;
}

function parseList(lines: string[]): ParsedIntel {
  const parsed: ParsedIntel = { format: 'list', entries: [], bad: [] };
  let hostsLines = 0;
  let listLines = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw.length > MAX_INTEL_LINE_CHARS) {
      parsed.bad.push({ line: i + 1, reason: `line longer than ${MAX_INTEL_LINE_CHARS} characters` });
      continue;
    }
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === '') continue;
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() : '';
    const words = body.split(/\s+/);
    // hosts file: "0.0.0.0 pool.example.com alias…": the names are the indicators
    if (words.length > 1 && SINKHOLES.has(words[0])) {
      hostsLines++;
      for (const name of words.slice(1)) {
        if (HOSTS_BOILERPLATE.has(name.toLowerCase())) continue;
        const domain = normaliseDomain(name);
        if (domain) parsed.entries.push({ kind: 'pool-domain', value: domain, strength: 'strong', line: i + 1 });
        else parsed.bad.push({ line: i + 1, reason: `"${clipValue(name)}" is not a host name` });
      }
      continue;
    }
    listLines++;
    const guess = guessIndicator(words[0]);
    if (!guess) {
      parsed.bad.push({ line: i + 1, reason: `cannot tell what kind of indicator "${clipValue(words[0])}" is` });
      continue;
    }
    if (guess.kind === 'proxyware-flag') {
      // `proxyware-flag:start accept --token=  # Client`: the words are the flag, the comment names the client
      const value = [guess.value, ...words.slice(1)].join(' ');
      parsed.entries.push({
        kind: guess.kind,
        value,
        strength: DEFAULT_STRENGTH[guess.kind],
        note: comment || undefined,
        line: i + 1,
      });
      continue;
    }
    // words after the indicator are a description, as many published IOC lists have
    const note = [words.slice(1).join(' '), comment].filter((s) => s !== '').join(' ') || undefined;
    parsed.entries.push({ ...guess, strength: DEFAULT_STRENGTH[guess.kind], note, line: i + 1 });
  }
  if (hostsLines > listLines) parsed.format = 'hosts';
  return parsed;
}
