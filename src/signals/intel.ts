/**
 * Indicators as data: the bundled lists in `intel/` (written by us) plus the user's own files
 * (`--intel`: plain list, hosts file or CSV). Lookups are on the hot path: domains by walking label
 * suffixes into a Map, IPs by Map and by a per-prefix-length table for CIDRs, never a scan of all
 * indicators.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Issue } from '../model/issue.js';
import type { Strength } from '../model/signal.js';

export type IndicatorKind =
  | 'pool-domain'
  | 'pool-ip'
  | 'mining-port'
  | 'miner-name'
  | 'miner-hash'
  | 'proxyware-name'
  | 'proxyware-domain'
  | 'proxyware-image'
  | 'miner-image'
  | 'wallet';

export interface IntelMatch {
  kind: IndicatorKind;
  indicator: string;
  set: string;
  strength: Strength;
  note?: string;
}

export interface IntelSetInfo {
  name: string;
  kind: IndicatorKind | 'mixed';
  source: string;
  count: number;
}

export interface Intel {
  /** Pool and proxyware domains, suffix match on label boundaries, case-insensitive. */
  domain(name: string): IntelMatch | undefined;
  /** Exact IPv4/IPv6 and IPv4 CIDR ranges. */
  ip(ip: string): IntelMatch | undefined;
  /** Mining ports: always weak evidence. */
  port(port: number): IntelMatch | undefined;
  /** Miner and proxyware executable base names (case-insensitive, trailing .exe ignored). */
  processName(name: string): IntelMatch | undefined;
  hash(hex: string): IntelMatch | undefined;
  /** Container images by repository (registry host, tag and digest ignored). */
  image(ref: string): IntelMatch | undefined;
  /** The first cryptocurrency wallet address in a text. */
  wallet(text: string): IntelMatch | undefined;
  sets(): IntelSetInfo[];
}

const INTEL_DIR = fileURLToPath(new URL('../../intel/', import.meta.url));
const MAX_INTEL_FILE_BYTES = 64 * 1024 * 1024;
const MAX_WALLET_SCAN = 4096;
const KINDS = new Set<string>([
  'pool-domain',
  'pool-ip',
  'mining-port',
  'miner-name',
  'miner-hash',
  'proxyware-name',
  'proxyware-domain',
  'proxyware-image',
  'miner-image',
]);
const STRENGTHS = new Set<string>(['weak', 'medium', 'strong']);

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

const isIpv6 = (s: string) => s.includes(':') && /^[0-9a-f:.]{2,45}$/i.test(s);
const isDomain = (s: string) =>
  /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i.test(s) && s.length <= 253;
const isHash = (s: string) => /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i.test(s);

function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.exe') ? lower.slice(0, -4) : lower;
}

export function normaliseImage(ref: string): string {
  let r = ref.trim().toLowerCase();
  const at = r.indexOf('@');
  if (at >= 0) r = r.slice(0, at);
  const parts = r.split('/');
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  r = parts.join('/');
  const colon = r.lastIndexOf(':');
  if (colon > r.lastIndexOf('/')) r = r.slice(0, colon);
  if (r.startsWith('library/')) r = r.slice(8);
  return r;
}

// Wallet shapes. Monero: 95 chars (standard/subaddress, 4… or 8…) or 106 (integrated), base58.
const MONERO =
  /(?:^|[^1-9A-HJ-NP-Za-km-z])([48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?)(?![1-9A-HJ-NP-Za-km-z])/;
const BECH32 = /(?:^|[^a-z0-9])(bc1[ac-hj-np-z02-9]{11,71})(?![a-z0-9])/;
// Ethereum-style and legacy Bitcoin addresses are too generic on their own: only after a wallet option.
const OPTION_WALLET =
  /(?:^|\s)(?:-u|--user|--wallet|-w|--address)[\s=]+(0x[0-9a-fA-F]{40}|[13][1-9A-HJ-NP-Za-km-z]{25,34})(?![0-9A-Za-z])/;

export class IntelStore implements Intel {
  private readonly domains = new Map<string, IntelMatch>();
  private readonly ips = new Map<string, IntelMatch>();
  private readonly cidrs = new Map<number, Map<number, IntelMatch>>();
  private readonly ports = new Map<number, IntelMatch>();
  private readonly names = new Map<string, IntelMatch>();
  private readonly hashes = new Map<string, IntelMatch>();
  private readonly images = new Map<string, IntelMatch>();
  private readonly info: IntelSetInfo[] = [];

  addSet(info: IntelSetInfo): void {
    this.info.push(info);
  }

  /** Add one indicator; returns a reason when it is not valid for its kind. */
  add(kind: IndicatorKind, raw: string, set: string, strength: Strength, note?: string): string | undefined {
    const value = raw.trim();
    const match: IntelMatch = {
      kind,
      indicator: value,
      set,
      strength: kind === 'mining-port' ? 'weak' : strength,
      note,
    };
    switch (kind) {
      case 'pool-domain':
      case 'proxyware-domain': {
        const d = value.toLowerCase().replace(/\.$/, '');
        if (!isDomain(d)) return `"${value}" is not a domain name`;
        this.domains.set(d, { ...match, indicator: d });
        return undefined;
      }
      case 'pool-ip': {
        const slash = value.indexOf('/');
        if (slash >= 0) {
          const base = ipv4ToInt(value.slice(0, slash));
          const prefix = Number(value.slice(slash + 1));
          if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 32)
            return `"${value}" is not an IPv4 CIDR with a /8../32 prefix`;
          let table = this.cidrs.get(prefix);
          if (!table) {
            table = new Map();
            this.cidrs.set(prefix, table);
          }
          table.set(Math.floor(base / 2 ** (32 - prefix)), match);
          return undefined;
        }
        if (ipv4ToInt(value) === undefined && !isIpv6(value)) return `"${value}" is not an IP address`;
        this.ips.set(value.toLowerCase(), match);
        return undefined;
      }
      case 'mining-port': {
        const port = Number(value.replace(/^port:/i, ''));
        if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${value}" is not a port`;
        this.ports.set(port, match);
        return undefined;
      }
      case 'miner-name':
      case 'proxyware-name':
        if (value.length === 0 || value.length > 255 || /[\s/\\]/.test(value))
          return `"${value}" is not an executable name`;
        this.names.set(normaliseName(value), match);
        return undefined;
      case 'miner-hash':
        if (!isHash(value)) return `"${value}" is not an MD5, SHA-1 or SHA-256 hex digest`;
        this.hashes.set(value.toLowerCase(), match);
        return undefined;
      case 'miner-image':
      case 'proxyware-image':
        if (value.length === 0 || value.length > 512 || /\s/.test(value)) return `"${value}" is not an image reference`;
        this.images.set(normaliseImage(value), match);
        return undefined;
      case 'wallet':
        return 'wallets are recognised by shape, not listed';
    }
  }

  domain(name: string): IntelMatch | undefined {
    if (name.length > 253) return undefined;
    let d = name.toLowerCase();
    if (d.endsWith('.')) d = d.slice(0, -1);
    for (;;) {
      const hit = this.domains.get(d);
      if (hit) return hit;
      const dot = d.indexOf('.');
      if (dot < 0) return undefined;
      d = d.slice(dot + 1);
      if (!d.includes('.')) return undefined; // never match a bare TLD
    }
  }

  ip(ip: string): IntelMatch | undefined {
    const exact = this.ips.get(ip.toLowerCase());
    if (exact) return exact;
    if (this.cidrs.size === 0) return undefined;
    const n = ipv4ToInt(ip);
    if (n === undefined) return undefined;
    for (const [prefix, table] of this.cidrs) {
      const hit = table.get(Math.floor(n / 2 ** (32 - prefix)));
      if (hit) return hit;
    }
    return undefined;
  }

  port(port: number): IntelMatch | undefined {
    return this.ports.get(port);
  }

  processName(name: string): IntelMatch | undefined {
    return name.length > 255 ? undefined : this.names.get(normaliseName(name));
  }

  hash(hex: string): IntelMatch | undefined {
    return this.hashes.get(hex.toLowerCase());
  }

  image(ref: string): IntelMatch | undefined {
    return ref.length > 512 ? undefined : this.images.get(normaliseImage(ref));
  }

  wallet(text: string): IntelMatch | undefined {
    const t = text.length > MAX_WALLET_SCAN ? text.slice(0, MAX_WALLET_SCAN) : text;
    const m = MONERO.exec(t) ?? BECH32.exec(t) ?? OPTION_WALLET.exec(t);
    if (!m) return undefined;
    const w = m[1];
    const coin = w.length >= 95 ? 'Monero' : w.startsWith('0x') ? 'Ethereum-style' : 'Bitcoin';
    return { kind: 'wallet', indicator: w, set: 'wallet-shapes', strength: 'strong', note: `${coin} address` };
  }

  sets(): IntelSetInfo[] {
    return [...this.info];
  }
}

interface Header {
  set?: string;
  kind?: string;
  strength?: string;
  source?: string;
}

/** Parse a bundled list: `# key: value` headers, one indicator per line, `#` comments. */
function loadBundledFile(store: IntelStore, path: string, issues: Issue[]): void {
  const text = readFileSync(path, 'utf8');
  const header: Header = {};
  const lines = text.split('\n');
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const h = /^#\s*(set|kind|strength|source):\s*(.+)$/.exec(raw);
    if (h) {
      header[h[1] as keyof Header] = h[2].trim();
      continue;
    }
    const hash = raw.indexOf('#');
    const note = hash >= 0 ? raw.slice(hash + 1).trim() : undefined;
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!body) continue;
    const words = body.split(/\s+/);
    const kind = header.kind === 'mixed' ? words[0] : header.kind;
    const value = header.kind === 'mixed' ? words[1] : words[0];
    const strength = (header.strength ?? 'medium') as Strength;
    const reason =
      kind && KINDS.has(kind) && value
        ? store.add(kind as IndicatorKind, value, header.set ?? basename(path), strength, note || undefined)
        : `unknown kind "${kind}"`;
    if (reason) issues.push({ file: path, line: i + 1, code: 'INTEL_BAD_LINE', reason, stage: 'loading' });
    else count++;
  }
  store.addSet({
    name: header.set ?? basename(path),
    kind: (header.kind as IndicatorKind | 'mixed') ?? 'mixed',
    source: header.source ?? 'bundled',
    count,
  });
}

export function loadBundledIntel(issues: Issue[] = []): IntelStore {
  const store = new IntelStore();
  for (const name of readdirSync(INTEL_DIR).sort())
    if (name.endsWith('.txt')) loadBundledFile(store, `${INTEL_DIR}${name}`, issues);
  return store;
}

/** Kind of a bare indicator in a user's plain list. */
function guessKind(value: string): IndicatorKind | undefined {
  if (/^port:\d+$/i.test(value)) return 'mining-port';
  if (/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(value) || isIpv6(value)) return 'pool-ip';
  if (isHash(value)) return 'miner-hash';
  if (isDomain(value)) return 'pool-domain';
  return undefined;
}

/** A user file: CSV with an `indicator` column, a hosts file, or a plain list. Each is its own set. */
export function addUserIntel(store: IntelStore, file: string, text: string, issues: Issue[]): void {
  const set = basename(file);
  const lines = text.split('\n');
  const first = lines.find((l) => l.trim() !== '' && !l.trim().startsWith('#'))?.toLowerCase() ?? '';
  const bad = (line: number, reason: string) =>
    issues.push({ file, line, code: 'INTEL_BAD_LINE', reason, stage: 'loading' });
  let count = 0;
  if (first.includes(',') && first.split(',').some((c) => c.trim() === 'indicator')) {
    const cols = first.split(',').map((c) => c.trim());
    const at = (name: string) => cols.indexOf(name);
    let headerSeen = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line || line.startsWith('#')) continue;
      if (!headerSeen) {
        headerSeen = true;
        continue;
      }
      const f = line.split(',').map((c) => c.trim());
      const value = f[at('indicator')] ?? '';
      const typeCol = at('type') >= 0 ? f[at('type')] : undefined;
      const kind = typeCol && KINDS.has(typeCol) ? (typeCol as IndicatorKind) : guessKind(value);
      const strengthCol = at('strength') >= 0 ? f[at('strength')] : undefined;
      const strength = (strengthCol && STRENGTHS.has(strengthCol) ? strengthCol : 'medium') as Strength;
      if (!kind) {
        bad(i + 1, `cannot tell what kind of indicator "${value.slice(0, 80)}" is (set the type column)`);
        continue;
      }
      const reason = store.add(kind, value, set, strength, at('note') >= 0 ? f[at('note')] : undefined);
      if (reason) bad(i + 1, reason);
      else count++;
    }
  } else {
    for (let i = 0; i < lines.length; i++) {
      const hash = lines[i].indexOf('#');
      const body = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim();
      if (!body) continue;
      const words = body.split(/\s+/);
      // hosts file: "0.0.0.0 pool.example.com alias…" — the names are the indicators
      const isHostsLine = words.length > 1 && /^(?:0\.0\.0\.0|127\.0\.0\.1|::1?|::)$/.test(words[0]);
      for (const value of isHostsLine ? words.slice(1) : words.slice(0, 1)) {
        const kind = guessKind(value);
        if (!kind) {
          bad(i + 1, `cannot tell what kind of indicator "${value.slice(0, 80)}" is`);
          continue;
        }
        const reason = store.add(kind, value, set, 'medium');
        if (reason) bad(i + 1, reason);
        else count++;
      }
    }
  }
  store.addSet({ name: set, kind: 'mixed', source: file, count });
}

export async function loadIntel(userFiles: string[]): Promise<{ intel: Intel; issues: Issue[] }> {
  const issues: Issue[] = [];
  const store = loadBundledIntel(issues);
  for (const file of userFiles) {
    let text: string;
    try {
      const buf = await readFile(file);
      if (buf.length > MAX_INTEL_FILE_BYTES) {
        issues.push({ file, code: 'INTEL_TOO_LARGE', reason: `over ${MAX_INTEL_FILE_BYTES} bytes`, stage: 'loading' });
        continue;
      }
      text = buf.toString('utf8');
    } catch (err) {
      issues.push({ file, code: 'INTEL_UNREADABLE', reason: (err as Error).message, stage: 'loading' });
      continue;
    }
    addUserIntel(store, file, text, issues);
  }
  return { intel: store, issues };
}
