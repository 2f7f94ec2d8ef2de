/**
 * Sigma value modifiers and values. A value is a Sigma string: `*` and `?` are wildcards, `\*`, `\?`
 * and `\\` escape them (any other backslash is literal). Transforming modifiers (`base64`,
 * `base64offset`, `utf16le`/`utf16be`/`utf16`/`wide`, `windash`) rewrite the value; one comparing
 * modifier (`contains`, `startswith`, `endswith`, `re`, `cidr`, `lt`/`lte`/`gt`/`gte`, else equality)
 * turns it into a matcher; flags (`all`, `cased`, `exists`, `fieldref`, `expand`, and `i`/`m`/`s` for
 * `re`) change how the compiler uses it. Matching is case-insensitive (both sides lower-cased) unless
 * `cased` or `re`. Every matcher is linear in the field's length.
 */

export type Matcher = (value: string) => boolean;

export const MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  'cased',
  'exists',
  're',
  'i',
  'm',
  's',
  'ignorecase',
  'multiline',
  'dotall',
  'cidr',
  'lt',
  'lte',
  'gt',
  'gte',
  'base64',
  'base64offset',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
  'windash',
  'fieldref',
  'expand',
]);

export function isModifier(token: string): boolean {
  return MODIFIERS.has(token);
}

const STAR = 0;
const ONE = 1;
/** A parsed Sigma string: literal text, `*`, `?`, or one of a set of alternatives (windash). */
export type Piece = string | typeof STAR | typeof ONE | { oneOf: string[] };

const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];
const WORD = /[A-Za-z0-9_]/;

/** A Sigma string value into pieces; with `windash`, a `-` or `/` that starts an option is any dash. */
export function parseSigmaString(value: string, windash: boolean): Piece[] {
  const out: Piece[] = [];
  let acc = '';
  const flush = () => {
    if (acc !== '') out.push(acc);
    acc = '';
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') {
      const next = value[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        acc += next;
        i++;
      } else acc += c;
      continue;
    }
    if (c === '*' || c === '?') {
      flush();
      out.push(c === '*' ? STAR : ONE);
      continue;
    }
    // pySigma's `\B[-/]\b`: a dash after a non-word character (or at the start) and before a word character
    if (windash && (c === '-' || c === '/') && (i === 0 || !WORD.test(value[i - 1])) && WORD.test(value[i + 1] ?? '')) {
      flush();
      out.push({ oneOf: DASHES });
      continue;
    }
    acc += c;
  }
  flush();
  return out;
}

export function literalPieces(text: string): Piece[] {
  return text === '' ? [] : [text];
}

function lowerPieces(pieces: Piece[]): Piece[] {
  return pieces.map((p) =>
    typeof p === 'string'
      ? p.toLowerCase()
      : typeof p === 'number'
        ? p
        : { oneOf: p.oneOf.map((x) => x.toLowerCase()) },
  );
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

export type Comparison = 'equals' | 'contains' | 'startswith' | 'endswith';

/**
 * The pattern a value must match as a whole: lower-cased when folding, `contains`/`startswith`/
 * `endswith` as stars around it, runs of stars merged and adjacent text joined.
 */
function wholePattern(input: Piece[], how: Comparison, fold: boolean): Piece[] {
  let pieces = fold ? lowerPieces(input) : input;
  if (how === 'contains' || how === 'endswith') pieces = [STAR, ...pieces];
  if (how === 'contains' || how === 'startswith') pieces = [...pieces, STAR];
  const merged: Piece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if (p === STAR && last === STAR) continue;
    if (typeof p === 'string' && typeof last === 'string') merged[merged.length - 1] = last + p;
    else merged.push(p);
  }
  return merged;
}

/** Text every value matching a Sigma string must hold, and where: the literal prerequisite of a matcher. */
export interface NecessaryText {
  how: Comparison;
  text: string;
}

/** Windash alternatives written out, when few: each spelling of the value as plain pieces. */
const MAX_SPELLINGS = 32;

function spellings(pieces: Piece[]): Piece[][] | undefined {
  let out: Piece[][] = [[]];
  for (const p of pieces) {
    if (typeof p === 'object') {
      out = out.flatMap((prefix) => p.oneOf.map((x) => [...prefix, x]));
      if (out.length > MAX_SPELLINGS) return undefined;
    } else for (const o of out) o.push(p);
  }
  return out;
}

/** The necessary text of a pattern without alternatives (see necessaryTexts). */
function necessaryOf(merged: Piece[]): NecessaryText | undefined {
  const lead = merged[0] === STAR;
  const trail = merged.length > 1 && merged[merged.length - 1] === STAR;
  const only = merged.length - (lead ? 1 : 0) - (trail ? 1 : 0) === 1 ? merged[lead ? 1 : 0] : undefined;
  if (typeof only === 'string')
    return { how: lead && trail ? 'contains' : lead ? 'endswith' : trail ? 'startswith' : 'equals', text: only };
  let longest = '';
  for (const p of merged) if (typeof p === 'string' && p.length > longest.length) longest = p;
  return longest === '' ? undefined : { how: 'contains', text: longest };
}

/**
 * What `stringMatcher(input, how, fold)` needs of a value, as alternatives one of which holds: the
 * whole value (`equals`), its start or end when the pattern is that one text and a star, else its
 * longest text piece anywhere (`contains`); a windash value once per spelling of its dashes (when
 * few). Undefined when the pattern has no text at all (`*`, `?`, the empty string): nothing is known.
 */
export function necessaryTexts(input: Piece[], how: Comparison, fold: boolean): NecessaryText[] | undefined {
  const spelled = input.some((p) => typeof p === 'object') ? spellings(input) : [input];
  if (!spelled) {
    const one = necessaryOf(wholePattern(input, how, fold));
    return one ? [one] : undefined;
  }
  const out: NecessaryText[] = [];
  for (const pieces of spelled) {
    const one = necessaryOf(wholePattern(pieces, how, fold));
    if (!one) return undefined;
    out.push(one);
  }
  return out;
}

/**
 * A matcher for a Sigma string: plain text by equality/includes/startsWith/endsWith, `*` alone by
 * successive indexOf, `?` and windash alternatives by an anchored regex of classes and `[\s\S]*`
 * (no nested quantifiers: linear).
 */
export function stringMatcher(input: Piece[], how: Comparison, fold: boolean): Matcher {
  const merged = wholePattern(input, how, fold);
  const simple = merged.every((p) => typeof p === 'string' || p === STAR);
  if (simple) {
    const parts = merged.filter((p): p is string => typeof p === 'string');
    const lead = merged[0] === STAR;
    const trail = merged.length > 0 && merged[merged.length - 1] === STAR;
    if (merged.length === 0) return (s) => s === '';
    if (merged.length === 1 && !lead)
      return (
        (v) => (s: string) =>
          s === v
      )(parts[0]);
    if (merged.length === 1) return () => true;
    if (merged.length === 2 && lead && !trail)
      return (
        (v) => (s: string) =>
          s.endsWith(v)
      )(parts[0]);
    if (merged.length === 2 && trail && !lead)
      return (
        (v) => (s: string) =>
          s.startsWith(v)
      )(parts[0]);
    if (merged.length === 3 && lead && trail)
      return (
        (v) => (s: string) =>
          s.includes(v)
      )(parts[0]);
    const first = lead ? '' : parts[0];
    const last = trail ? '' : parts[parts.length - 1];
    const middle = parts.slice(lead ? 0 : 1, trail ? parts.length : parts.length - 1);
    return (s) => {
      if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
      let pos = first.length;
      const end = s.length - last.length;
      for (const part of middle) {
        const at = s.indexOf(part, pos);
        if (at < 0 || at + part.length > end) return false;
        pos = at + part.length;
      }
      return true;
    };
  }
  let src = '^';
  for (const p of merged) {
    if (typeof p === 'string') src += escapeRegex(p);
    else if (p === STAR) src += '[\\s\\S]*';
    else if (p === ONE) src += '[\\s\\S]';
    else src += `(?:${p.oneOf.map(escapeRegex).join('|')})`;
  }
  const re = new RegExp(`${src}$`);
  return (s) => re.test(s);
}

/** The pieces as literal text (for transforms that need bytes): wildcards are refused by the caller. */
export function piecesText(pieces: Piece[]): string | undefined {
  let s = '';
  for (const p of pieces) {
    if (typeof p !== 'string') return undefined;
    s += p;
  }
  return s;
}

/** Text → bytes for the encoding modifiers; `utf16` is little-endian with a byte-order mark, as pySigma. */
export function encodeText(text: string, encoding: 'utf8' | 'utf16le' | 'utf16be' | 'utf16'): Buffer {
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  const le = Buffer.from(text, 'utf16le');
  if (encoding === 'utf16le') return le;
  if (encoding === 'utf16') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  const be = Buffer.alloc(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    be[i] = le[i + 1];
    be[i + 1] = le[i];
  }
  return be;
}

/**
 * The three encodings of `bytes` at offsets 0, 1 and 2 inside a longer base64 text, trimmed to the
 * characters that do not depend on the bytes around it (pySigma's base64offset).
 */
export function base64Offsets(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i), bytes]).toString('base64');
    const rem = (bytes.length + i) % 3;
    const endTrim = rem === 0 ? 0 : rem === 1 ? 3 : 2;
    const piece = enc.slice([0, 2, 3][i], enc.length - endTrim);
    if (piece.length > 0) out.push(piece);
  }
  return out;
}

/** An IPv4 or IPv6 address as 16 bytes (IPv4 as ::ffff:a.b.c.d), or undefined. */
export function ipBytes(text: string): Uint8Array | undefined {
  const s = text.trim();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = new Uint8Array(16);
    b[10] = 0xff;
    b[11] = 0xff;
    for (let i = 0; i < 4; i++) {
      const n = Number(v4[i + 1]);
      if (n > 255) return undefined;
      b[12 + i] = n;
    }
    return b;
  }
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(s)) return undefined;
  let head = s;
  let tail4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail4 = ipBytes(s.slice(lastColon + 1))?.slice(12);
    if (!tail4) return undefined;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':'));
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...left, ...Array(missing).fill('0'), ...right];
  const b = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return undefined;
    const n = Number.parseInt(groups[i], 16);
    b[2 * i] = n >> 8;
    b[2 * i + 1] = n & 0xff;
  }
  if (tail4) b.set(tail4, 12);
  return b;
}

/** `10.0.0.0/8`, `fe80::/10` → matcher of addresses inside; undefined when the value is not a CIDR. */
export function cidrMatcher(value: string): Matcher | undefined {
  const [base, bitsText] = value.split('/');
  const addr = ipBytes(base ?? '');
  if (!addr) return undefined;
  const isV4 = base.includes('.') && !base.includes(':');
  const bits = bitsText === undefined ? (isV4 ? 32 : 128) : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > (isV4 ? 32 : 128)) return undefined;
  const prefix = isV4 ? bits + 96 : bits;
  return (s) => {
    const x = ipBytes(s);
    if (!x) return false;
    for (let i = 0; i < prefix; i++) {
      const byte = i >> 3;
      const mask = 0x80 >> (i & 7);
      if ((x[byte] & mask) !== (addr[byte] & mask)) return false;
    }
    return true;
  };
}

/** `lt`/`lte`/`gt`/`gte`: numeric comparison; a field that is not a number never matches. */
export function numberMatcher(op: 'lt' | 'lte' | 'gt' | 'gte', value: number): Matcher {
  return (s) => {
    const t = s.trim();
    if (!/^-?\d{1,20}(?:\.\d{1,20})?$/.test(t)) return false;
    const x = Number(t);
    return op === 'lt' ? x < value : op === 'lte' ? x <= value : op === 'gt' ? x > value : x >= value;
  };
}
