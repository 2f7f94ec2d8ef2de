/**
 * Zeek Intel Framework input files as intel: tab-separated, a `#fields` header naming `indicator` and
 * `indicator_type` (and optionally `meta.source`, `meta.desc`), one indicator a line. Types read:
 * Intel::DOMAIN, Intel::ADDR, Intel::SUBNET, Intel::URL (its host), Intel::FILE_HASH,
 * Intel::FILE_NAME, Intel::SOFTWARE (a program name). Others (EMAIL, USER_NAME, CERT_HASH, PUBKEY_HASH)
 * say nothing about mining and are reported. Whether a domain is a proxy endpoint comes from
 * `meta.desc`/`meta.source` mentioning proxies. No I/O.
 */
import type { IndicatorKind } from './types.js';
import { DEFAULT_STRENGTH, MAX_INTEL_LINE_CHARS, type ParsedIntel } from './types.js';

const PROXY_WORDS = /proxy|proxyware|bandwidth|residential/i;
const UNSET = new Set(['-', '(empty)', '']);

/** Whether the text is a Zeek intel file: a `#fields` line naming `indicator` and `indicator_type`. */
export function looksLikeZeekIntel(head: string): boolean {
  const at = head.indexOf('#fields');
  if (at < 0 || at > 4096) return false;
  const line = head.slice(at, head.indexOf('\n', at) >>> 0);
  const fields = line.split('\t');
  return fields.includes('indicator') && fields.includes('indicator_type');
}

function kindOf(type: string, proxy: boolean): IndicatorKind | undefined {
  switch (type) {
    case 'Intel::DOMAIN':
    case 'Intel::URL':
      return proxy ? 'proxyware-domain' : 'pool-domain';
    case 'Intel::ADDR':
    case 'Intel::SUBNET':
      return 'pool-ip';
    case 'Intel::FILE_HASH':
      return 'miner-hash';
    case 'Intel::FILE_NAME':
    case 'Intel::SOFTWARE':
      return proxy ? 'proxyware-name' : 'miner-name';
    default:
      return undefined;
  }
}

/** `pool.example/path` or `http://pool.example:80/x` (Zeek URLs have no scheme) → `pool.example`. */
function urlHost(url: string): string {
  const noScheme = url.replace(/^[a-z][a-z0-9+.-]{0,24}:\/\//i, '');
  const end = noScheme.search(/[/?#:]/);
  return end >= 0 ? noScheme.slice(0, end) : noScheme;
}

export function parseZeekIntel(textAll: string): ParsedIntel {
  const parsed: ParsedIntel = { format: 'zeek-intel', entries: [], bad: [] };
  const lines = textAll.split('\n');
  let fields: string[] | undefined;
  const sources = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (raw.length > MAX_INTEL_LINE_CHARS) {
      parsed.bad.push({ line: i + 1, reason: `line longer than ${MAX_INTEL_LINE_CHARS} characters` });
      continue;
    }
    if (raw.startsWith('#fields')) {
      fields = raw.split('\t').slice(1);
      continue;
    }
    if (raw.startsWith('#') || raw.trim() === '') continue;
    if (!fields) {
      parsed.bad.push({ line: i + 1, reason: 'indicator line before the #fields header' });
      continue;
    }
    const values = raw.split('\t');
    const get = (name: string) => {
      const at = fields!.indexOf(name);
      const v = at >= 0 ? values[at] : undefined;
      return v === undefined || UNSET.has(v) ? undefined : v;
    };
    const indicator = get('indicator');
    const type = get('indicator_type');
    if (!indicator || !type) {
      parsed.bad.push({ line: i + 1, reason: 'no indicator or indicator_type' });
      continue;
    }
    const desc = get('meta.desc');
    const source = get('meta.source');
    const kind = kindOf(type, PROXY_WORDS.test(`${desc ?? ''} ${source ?? ''}`));
    if (!kind) {
      parsed.bad.push({ line: i + 1, reason: `indicator_type ${type.slice(0, 40)} is not one coalmine uses` });
      continue;
    }
    if (source) sources.add(source.slice(0, 80));
    const value = type === 'Intel::URL' ? urlHost(indicator) : indicator;
    parsed.entries.push({ kind, value, strength: DEFAULT_STRENGTH[kind], note: desc?.slice(0, 200), line: i + 1 });
  }
  if (!fields) parsed.bad.push({ line: 1, reason: 'no #fields header' });
  if (sources.size > 0) parsed.source = [...sources].sort().slice(0, 8).join(', ');
  return parsed;
}
