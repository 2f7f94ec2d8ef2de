/**
 * STIX 2.1 indicator bundles as intel: `indicator` objects whose STIX pattern compares `domain-name`,
 * `ipv4-addr`, `ipv6-addr`, `url` or `file:hashes` values with `=` (joined by OR/AND, in one or more
 * observation brackets). Anything else in a pattern (MATCHES, LIKE, qualifiers, other object types)
 * is reported, not guessed at. Whether a domain is a pool or a proxyware endpoint comes from the
 * indicator's `indicator_types`/`labels`/`name`; the set's source and version come from the bundle
 * (its identity's name, the newest `modified`). No I/O.
 */
import type { Strength } from '../../model/signal.js';
import { hostOfUrl, normaliseDomain } from './list.js';
import type { IndicatorKind } from './types.js';
import { DEFAULT_STRENGTH, type ParsedIntel } from './types.js';

const MAX_OBJECTS = 200_000;
const MAX_PATTERN_CHARS = 8192;
const MAX_COMPARISONS = 256;
const PROXY_WORDS = /proxy|proxyware|bandwidth|residential/i;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown, max = 512): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}

/** Whether the text looks like a STIX bundle (cheap: for format detection). */
export function looksLikeStixBundle(head: string): boolean {
  return head.trimStart().startsWith('{') && /"type"\s*:\s*"bundle"/.test(head.slice(0, 4096));
}

interface Comparison {
  path: string;
  value: string;
}

/**
 * The `path = 'value'` comparisons of a pattern, or why it cannot be read. A small scanner, not a
 * regex over the whole pattern: quoted strings may hold any character, `\'` and `\\` escapes included.
 */
export function patternComparisons(pattern: string): Comparison[] | string {
  if (pattern.length > MAX_PATTERN_CHARS) return `pattern over ${MAX_PATTERN_CHARS} characters`;
  const out: Comparison[] = [];
  let i = 0;
  const n = pattern.length;
  const skipBlanks = () => {
    while (i < n && /\s|\[|\]|\(|\)/.test(pattern[i])) i++;
  };
  while (i < n) {
    skipBlanks();
    if (i >= n) break;
    const word = /^[A-Za-z_][\w-]*(?::[\w.'-]+)?/.exec(pattern.slice(i, i + 256));
    if (!word) return `unexpected "${pattern.slice(i, i + 20)}" at ${i}`;
    const token = word[0];
    i += token.length;
    const upper = token.toUpperCase();
    if (upper === 'OR' || upper === 'AND' || upper === 'FOLLOWEDBY') continue;
    if (!token.includes(':')) return `unsupported "${token}" (only = comparisons joined by OR/AND are read)`;
    skipBlanks();
    if (pattern[i] !== '=') return `"${token}" is not compared with = (MATCHES, LIKE and others are not read)`;
    i++;
    skipBlanks();
    if (pattern[i] !== "'") return `"${token} =" is not followed by a quoted value`;
    i++;
    let value = '';
    for (; i < n && pattern[i] !== "'"; i++) {
      if (pattern[i] === '\\' && i + 1 < n) i++;
      value += pattern[i];
    }
    if (i >= n) return 'unterminated string';
    i++;
    out.push({ path: token, value });
    if (out.length > MAX_COMPARISONS) return `more than ${MAX_COMPARISONS} comparisons`;
  }
  return out;
}

function kindFor(path: string, proxy: boolean): IndicatorKind | undefined {
  const p = path.toLowerCase();
  if (p === 'domain-name:value') return proxy ? 'proxyware-domain' : 'pool-domain';
  if (p === 'url:value') return proxy ? 'proxyware-domain' : 'pool-domain';
  if (p === 'ipv4-addr:value' || p === 'ipv6-addr:value') return 'pool-ip';
  if (p.startsWith('file:hashes.')) return 'miner-hash';
  if (p === 'file:name' || p === 'process:name') return proxy ? 'proxyware-name' : 'miner-name';
  return undefined;
}

/**
 * Lines of ids in the file (1-based), for issues that point into it. Indicators come in file order,
 * so each search resumes where the last one ended: linear in the file, not in file × indicators.
 */
class LineFinder {
  private at = 0;
  private line = 1;
  constructor(private readonly all: string) {}

  lineOf(needle: string): number {
    if (!needle) return this.line;
    let found = this.all.indexOf(needle, this.at);
    if (found < 0) {
      found = this.all.indexOf(needle);
      if (found < 0) return this.line;
      this.at = 0;
      this.line = 1;
    }
    for (let i = this.all.indexOf('\n', this.at); i >= 0 && i < found; i = this.all.indexOf('\n', i + 1)) this.line++;
    this.at = found;
    return this.line;
  }
}

export function parseStixBundle(textAll: string): ParsedIntel {
  const parsed: ParsedIntel = { format: 'stix', entries: [], bad: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(textAll);
  } catch (err) {
    parsed.bad.push({ line: 1, reason: `not JSON: ${(err as Error).message.slice(0, 200)}` });
    return parsed;
  }
  if (!isObj(doc) || doc.type !== 'bundle' || !Array.isArray(doc.objects)) {
    parsed.bad.push({ line: 1, reason: 'not a STIX bundle (no "type": "bundle" with "objects")' });
    return parsed;
  }
  const objects = doc.objects.slice(0, MAX_OBJECTS);
  const identities = new Map<string, string>();
  for (const o of objects)
    if (isObj(o) && o.type === 'identity' && text(o.id)) identities.set(String(o.id), text(o.name) ?? '');
  const lines = new LineFinder(textAll);
  let newest = '';
  const creators = new Set<string>();
  for (const o of objects) {
    if (!isObj(o) || o.type !== 'indicator') continue;
    const id = text(o.id) ?? '';
    const line = lines.lineOf(`"${id}"`);
    const bad = (reason: string) => parsed.bad.push({ line, reason: `indicator ${id || '(no id)'}: ${reason}` });
    if (o.revoked === true) continue;
    if (o.pattern_type !== undefined && o.pattern_type !== 'stix') {
      bad(`pattern_type "${text(o.pattern_type, 40)}" is not read (only stix)`);
      continue;
    }
    const pattern = text(o.pattern, MAX_PATTERN_CHARS + 1);
    if (!pattern) {
      bad('no pattern');
      continue;
    }
    const comparisons = patternComparisons(pattern);
    if (typeof comparisons === 'string') {
      bad(comparisons);
      continue;
    }
    const words = [
      ...(Array.isArray(o.indicator_types) ? o.indicator_types : []),
      ...(Array.isArray(o.labels) ? o.labels : []),
      o.name,
    ]
      .filter((w): w is string => typeof w === 'string')
      .join(' ')
      .slice(0, 2048);
    const proxy = PROXY_WORDS.test(words);
    const note = text(o.name, 200) ?? text(o.description, 200);
    const modified = text(o.modified, 40) ?? text(o.created, 40);
    if (modified && modified > newest) newest = modified;
    const creator = text(o.created_by_ref, 200);
    if (creator) creators.add(identities.get(creator) || creator);
    const confidence = typeof o.confidence === 'number' ? o.confidence : undefined;
    for (const c of comparisons) {
      const kind = kindFor(c.path, proxy);
      if (!kind) {
        bad(`"${c.path}" is not an indicator coalmine uses`);
        continue;
      }
      let value = c.value;
      if (c.path.toLowerCase() === 'url:value') {
        const host = hostOfUrl(value);
        if (host === value || !normaliseDomain(host)) {
          bad(`url "${value.slice(0, 80)}" has no host name`);
          continue;
        }
        value = host;
      }
      // STIX confidence 0-100: low-confidence indicators are weaker evidence
      const strength: Strength =
        confidence !== undefined && confidence < 50 && DEFAULT_STRENGTH[kind] !== 'weak'
          ? 'weak'
          : DEFAULT_STRENGTH[kind];
      parsed.entries.push({ kind, value, strength, note, line });
    }
  }
  if (creators.size > 0) parsed.source = [...creators].sort().join(', ').slice(0, 200);
  if (newest) parsed.version = newest;
  return parsed;
}
