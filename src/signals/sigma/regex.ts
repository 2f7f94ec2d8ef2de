/**
 * Sigma `|re` patterns are hostile input. They run on V8's backtracking engine (fast on ordinary
 * input) with `--enable-experimental-regexp-engine-on-excessive-backtracks`: a pattern that starts to
 * backtrack catastrophically is finished by the linear-time engine instead. V8 only falls back for
 * patterns its linear engine accepts (no `i` flag, counted repetition up to 16, no backreferences or
 * lookaround), so a pattern is first rewritten into that form: Python's leading `(?i)`/`(?s)`/`(?m)`
 * become flags, case-insensitivity is spelled out as classes (`a` → `[aA]`), `(?P<n>` becomes `(?<n>`.
 * Why not the `l` flag itself: V8's linear engine runs ~1 µs per input character per active state
 * (a 256-fold optional chain took 3 s on 8 KiB), and expanding `x{0,400}` into 400 optional copies made
 * the backtracking engine 5,000× slower than the counted form. So:
 * - linear-compatible after rewriting → backtracking engine, linear fallback (bounded either way);
 * - refused only for counted repetition over 16 → kept on the backtracking engine when no quantified
 *   group holds another quantifier or an alternation (the exponential shapes), input bounded to 4 KiB;
 * - backreferences, lookaround, scoped or mid-pattern flags → unsupported, with the reason.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** Longest field text a rule regex reads: bounds the cost of the patterns kept on the backtracking engine. */
export const MAX_RE_INPUT = 4096;
const MAX_PATTERN_CHARS = 2048;

export type RuleRegex = { regex: RegExp; linear: boolean } | { unsupported: string };

function otherCase(c: string): string | undefined {
  const l = c.toLowerCase();
  const u = c.toUpperCase();
  if (l === u || l.length !== 1 || u.length !== 1) return undefined;
  return c === l ? u : l;
}

/** A character class body with every letter (and letter range) given in both cases. */
function foldClass(body: string): string {
  let out = '';
  let i = 0;
  while (i < body.length) {
    let atom = body[i];
    if (atom === '\\') {
      atom = body.slice(i, i + 2);
      out += atom;
      i += 2;
      continue;
    }
    if (body[i + 1] === '-' && i + 2 < body.length && body[i + 2] !== '\\') {
      const lo = body[i];
      const hi = body[i + 2];
      out += `${lo}-${hi}`;
      const olo = otherCase(lo);
      const ohi = otherCase(hi);
      if (olo && ohi && /[a-z]/i.test(lo) && /[a-z]/i.test(hi)) out += `${olo}-${ohi}`;
      i += 3;
      continue;
    }
    out += atom;
    const o = otherCase(atom);
    if (o) out += o;
    i++;
  }
  return out;
}

interface Rewritten {
  source: string;
  /** Counted repetition over 16 (refused by the linear engine, kept as written). */
  bigCount: boolean;
}

/** Rewrites `pattern` for V8 as described above; a string is the reason it cannot be. */
function rewrite(pattern: string, fold: boolean): Rewritten | string {
  let out = '';
  let bigCount = false;
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return 'the pattern ends in a lone backslash';
      if (/[1-9]/.test(next)) return 'backreferences are not supported';
      if (next === 'k' && pattern[i + 2] === '<') return 'backreferences are not supported';
      if (next === 'A') out += '^';
      else if (next === 'Z') out += '$';
      else out += `\\${next}`;
      i += 2;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++; // a leading `]` is literal (Python)
      while (j < n && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      if (j >= n) return 'unterminated character class';
      const negate = pattern[i + 1] === '^';
      let body = pattern.slice(i + 1 + (negate ? 1 : 0), j);
      if (body.startsWith(']')) body = `\\]${body.slice(1)}`;
      out += `[${negate ? '^' : ''}${fold ? foldClass(body) : body}]`;
      i = j + 1;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2, i + 4);
      if (rest.startsWith(':')) out += '(?:';
      else if (rest.startsWith('P<') || (rest.startsWith('<') && rest !== '<=' && rest !== '<!')) {
        // a named group: the name is copied as written (never case-folded)
        const from = i + (rest.startsWith('P') ? 4 : 3);
        const close = pattern.indexOf('>', from);
        if (close < 0 || close - from > 64) return 'unterminated group name';
        out += `(?<${pattern.slice(from, close)}>`;
        i = close + 1;
        continue;
      } else if (rest.startsWith('P=')) return 'backreferences are not supported';
      else if (rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!')
        return 'lookaround is not supported';
      else if (rest.startsWith('#')) {
        const end = pattern.indexOf(')', i);
        if (end < 0) return 'unterminated comment group';
        i = end + 1;
        continue;
      } else return 'inline flags are only supported at the start of the pattern';
      i += 3;
      continue;
    }
    if (c === '{') {
      const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(pattern.slice(i, i + 16));
      if (m) {
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : m[3] === '' ? undefined : Number(m[3]);
        if (lo > 16 || (hi !== undefined && hi > 16) || (hi === undefined && m[2] !== undefined)) bigCount = true;
        out += m[0];
        i += m[0].length;
        continue;
      }
      out += '\\{';
      i++;
      continue;
    }
    if (fold) {
      const o = otherCase(c);
      out += o ? `[${c}${o}]` : c;
    } else out += c;
    i++;
  }
  return { source: out, bigCount };
}

/** True when the quantifier at `at` repeats without a small bound (`*`, `+`, `{n,}`, `{n,m}` over 16). */
function unboundedAt(source: string, at: number): boolean {
  const c = source[at];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(source.slice(at, at + 16));
  if (!m) return false;
  const hi = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
  return hi > 16;
}

/**
 * True when a group repeated without a small bound holds another quantifier or an alternation: `(a+)+`, `(a|aa)*`, the
 * shapes that backtrack exponentially. Only asked of patterns the linear engine cannot take.
 */
function hasNestedQuantifier(source: string): boolean {
  const stack: boolean[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '(') stack.push(false);
    else if (c === ')') {
      const inner = stack.pop() ?? false;
      if (inner && unboundedAt(source, i + 1)) return true;
      if (inner && stack.length > 0) stack[stack.length - 1] = true;
    } else if ((c === '*' || c === '+' || c === '{' || c === '|') && stack.length > 0) stack[stack.length - 1] = true;
    i++;
  }
  return false;
}

/** Compiles a rule's `|re` value with its modifier flags (`i`, `m`, `s`). */
export function compileRuleRegex(pattern: string, flags: { i?: boolean; m?: boolean; s?: boolean }): RuleRegex {
  if (pattern.length > MAX_PATTERN_CHARS) return { unsupported: `pattern over ${MAX_PATTERN_CHARS} characters` };
  let body = pattern;
  const f = { ...flags };
  const inline = /^\(\?([imsx]{1,4})\)/.exec(body);
  if (inline) {
    if (inline[1].includes('x')) return { unsupported: 'verbose (?x) patterns are not supported' };
    for (const ch of inline[1]) f[ch as 'i' | 'm' | 's'] = true;
    body = body.slice(inline[0].length);
  }
  const r = rewrite(body, f.i === true);
  if (typeof r === 'string') return { unsupported: r };
  const jsFlags = `${f.m ? 'm' : ''}${f.s ? 's' : ''}`;
  let regex: RegExp;
  try {
    regex = new RegExp(r.source, jsFlags);
  } catch (err) {
    return { unsupported: (err as Error).message };
  }
  try {
    new RegExp(r.source, `${jsFlags}l`);
    return { regex, linear: true };
  } catch (err) {
    if (!r.bigCount && !/\{\d/.test(r.source))
      return { unsupported: `the linear-time engine refuses it (${(err as Error).message})` };
  }
  if (hasNestedQuantifier(r.source))
    return { unsupported: 'a quantified group holding a quantifier or alternation, with counted repetition over 16' };
  return { regex, linear: false };
}

/** Escapes that stand for a class, an assertion or a coded character, with how many characters follow. */
const CLASS_ESCAPES = /[dDwWsSbBAZzGnrtfv0-9]/;

/**
 * A text every match of `pattern` contains (lower-cased, ASCII only, the longest found), for the
 * prefilter: literal characters in sequence outside classes, optional or repeated atoms, and
 * alternations; a group without alternation counts as its contents. Undefined when there is none.
 * Lower-casing keeps it necessary either way: ASCII letters fold alone, whatever the flags.
 */
export function regexNecessaryText(pattern: string): string | undefined {
  const body = pattern.replace(/^\(\?[imsx]{1,4}\)/, '');
  const runs: string[] = [];
  if (!sequenceRuns(body, 0, body.length, runs)) return undefined;
  let best = '';
  for (const r of runs) if (r.length > best.length) best = r;
  return best.length >= 2 ? best.toLowerCase() : undefined;
}

/** Index just past the `)` closing the group opened at `open`, or -1. */
function groupEnd(p: string, open: number, end: number): number {
  let depth = 0;
  for (let i = open; i < end; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '[') {
      i++;
      while (i < end && p[i] !== ']') i += p[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

/** The quantifier at `i`: its length and whether it allows zero repetitions. */
function quantifierAt(p: string, i: number): { length: number; optional: boolean } | undefined {
  const c = p[i];
  let length = 0;
  let optional = false;
  if (c === '*' || c === '?') [length, optional] = [1, true];
  else if (c === '+') length = 1;
  else if (c === '{') {
    const m = /^\{(\d{1,6})(,\d{0,6})?\}/.exec(p.slice(i, i + 16));
    if (!m) return undefined;
    [length, optional] = [m[0].length, Number(m[1]) === 0];
  } else return undefined;
  if (p[i + length] === '?' || p[i + length] === '+') length++;
  return { length, optional };
}

/** Appends the literal runs of `p[start..end)` to `runs`; false when it is an alternation at this level. */
function sequenceRuns(p: string, start: number, end: number, runs: string[]): boolean {
  let run = '';
  const flush = () => {
    if (run !== '') runs.push(run);
    run = '';
  };
  let i = start;
  while (i < end) {
    const c = p[i];
    if (c === '|') return false;
    let atom: string | undefined; // a literal character, else a non-literal atom
    let next = i + 1;
    if (c === '(') {
      next = groupEnd(p, i, end);
      if (next < 0) return false;
      const q = quantifierAt(p, next);
      flush();
      const inner: string[] = [];
      let from = i + 1;
      if (p[from] === '?') from = p[from + 1] === ':' ? from + 2 : p.indexOf('>', from) + 1;
      if (!q?.optional && from > i && sequenceRuns(p, from, next - 1, inner)) runs.push(...inner);
      i = next + (q?.length ?? 0);
      continue;
    }
    if (c === '[') {
      next = i + 1;
      while (next < end && p[next] !== ']') next += p[next] === '\\' ? 2 : 1;
      next++;
    } else if (c === '\\') {
      const e = p[i + 1] ?? '';
      next = i + 2;
      if (e === 'x') next += 2;
      else if (e === 'u') next += p[next] === '{' ? p.indexOf('}', next) - next + 1 : 4;
      else if (e === 'c') next += 1;
      else if (e === 'p' || e === 'P' || e === 'k') next = p.indexOf(e === 'k' ? '>' : '}', next) + 1;
      else if (!CLASS_ESCAPES.test(e) && e.charCodeAt(0) < 128) atom = e;
      if (next <= i) return false;
    } else if (c !== '.' && c !== '^' && c !== '$' && c.charCodeAt(0) < 128) atom = c;
    const q = quantifierAt(p, next);
    if (atom !== undefined && !q?.optional) run += atom;
    if (atom === undefined || q) flush();
    i = next + (q?.length ?? 0);
  }
  flush();
  return true;
}
