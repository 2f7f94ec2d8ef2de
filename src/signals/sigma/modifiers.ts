/**
 * Sigma value modifiers. Each turns the rule's value(s) into a matcher over the event's (already
 * lower-cased, when the match is case-insensitive) field value. Chains like `contains|all` or
 * `base64offset|contains` are resolved by the compiler: transforming modifiers rewrite the values,
 * the last matching modifier compares. Unknown tokens are load errors.
 */

export type Matcher = (value: string) => boolean;

export interface Modifier {
  /** `transform` modifiers rewrite the rule values; `compare` modifiers decide how to match. */
  role: 'transform' | 'compare' | 'flag';
  /** For transforms: each rule value → one or more values. */
  transform?: (value: string) => string[];
  /** For comparisons: a case-folded rule value → matcher on a case-folded field value. */
  compare?: (value: string) => Matcher;
}

const MAX_RE_INPUT = 4096;

/** Regexes users write must not be able to hang us: refuse the classic catastrophic shapes. */
export function unsafeRegexReason(pattern: string): string | undefined {
  if (pattern.length > 1024) return 'pattern over 1024 characters';
  if (/\\[1-9]/.test(pattern)) return 'backreferences are not allowed';
  if (/\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/.test(pattern))
    return 'nested quantifiers (e.g. (a+)+) can take exponential time';
  if (/\(\?<[=!]/.test(pattern)) return 'lookbehind is not allowed';
  try {
    new RegExp(pattern);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/**
 * The three encodings of `value` at byte offsets 0, 1 and 2 inside a longer base64 text, trimmed to
 * the characters that do not depend on the bytes around it.
 */
function base64Offsets(value: string): string[] {
  const bytes = Buffer.from(value);
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

function ipv4ToInt(ip: string): number | undefined {
  const p = ip.split('.');
  if (p.length !== 4 || !p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255)) return undefined;
  return ((Number(p[0]) * 256 + Number(p[1])) * 256 + Number(p[2])) * 256 + Number(p[3]);
}

export const modifiers = {
  contains: { role: 'compare', compare: (v) => (s) => s.includes(v) },
  startswith: { role: 'compare', compare: (v) => (s) => s.startsWith(v) },
  endswith: { role: 'compare', compare: (v) => (s) => s.endsWith(v) },
  all: { role: 'flag' },
  cased: { role: 'flag' },
  exists: { role: 'flag' },
  re: {
    role: 'compare',
    compare: (v) => {
      const re = new RegExp(v);
      return (s) => re.test(s.length > MAX_RE_INPUT ? s.slice(0, MAX_RE_INPUT) : s);
    },
  },
  cidr: {
    role: 'compare',
    compare: (v) => {
      const [base, bits] = v.split('/');
      const b = ipv4ToInt(base);
      const n = Number(bits);
      if (b === undefined || !Number.isInteger(n) || n < 0 || n > 32) return () => false;
      const size = 2 ** (32 - n);
      return (s) => {
        const x = ipv4ToInt(s);
        return x !== undefined && Math.floor(x / size) === Math.floor(b / size);
      };
    },
  },
  base64: { role: 'transform', transform: (v) => [Buffer.from(v).toString('base64')] },
  base64offset: { role: 'transform', transform: base64Offsets },
  // Windows option prefixes: "-x" also matches "/x", "–x", "—x", "―x"
  windash: {
    role: 'transform',
    transform: (v) => (v.startsWith('-') ? ['-', '/', '\u2013', '\u2014', '\u2015'].map((d) => d + v.slice(1)) : [v]),
  },
} satisfies Record<string, Modifier>;

export type ModifierName = keyof typeof modifiers;

export function isModifier(token: string): token is ModifierName {
  return Object.hasOwn(modifiers, token);
}
