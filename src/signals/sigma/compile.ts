/**
 * Our Sigma "backend": a rule's detection becomes a predicate over CoalEvent, compiled once. A rule's
 * field names are the log's own: on a Windows record they are read from its EventData and System
 * fields first (`Image`, `EventID`, `Channel`, `Provider_Name`), then through the pipeline mapping
 * (data in rules/sigma/pipeline-ecs.yml) to our ECS fields, which is also how sources whose names are
 * not Sigma's (our Linux process events) are read; an auditd event by its records' own fields (decoded)
 * before the mapping; last, the source record in `original`. Each field is
 * read (and lower-cased) once per event into a `FieldCache` slot, shared by every rule run on it.
 * Alongside each predicate the compiler records its `Requirement` (prefilter.ts): the literal tests any
 * event it matches must pass, and only those it can vouch for.
 */
import type { CoalEvent } from '../../model/event.js';
import { auditValue } from '../../util/audit-value.js';
import { type ConditionNode, expandPattern } from './condition.js';
import { FieldCache } from './field-cache.js';
import {
  base64Offsets,
  type Comparison,
  cidrMatcher,
  encodeText,
  isModifier,
  literalPieces,
  type Matcher,
  necessaryTexts,
  numberMatcher,
  type Piece,
  parseSigmaString,
  piecesText,
  stringMatcher,
} from './modifiers.js';
import { allOf, anyOf, type LiteralTest, type Requirement } from './prefilter.js';
import { compileRuleRegex, MAX_RE_INPUT, regexNecessaryText } from './regex.js';

export class CompileError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** The rule is valid Sigma that coalmine cannot run (yet), as opposed to a broken rule. */
    readonly unsupported = false,
  ) {
    super(message);
  }
}

export { FieldCache };

export type FieldMap = Record<string, string>;
export type Predicate = (event: CoalEvent, cache: FieldCache) => boolean;

/**
 * Slot numbers of the fields rules read, one per field name and case (`l:Image`, `c:Image`), given once
 * at compile time for the process: an event's values then sit in an array, not a Map of names.
 */
const SLOTS = new Map<string, number>();

function fieldSlot(key: string): number {
  let slot = SLOTS.get(key);
  if (slot === undefined) {
    slot = SLOTS.size;
    SLOTS.set(key, slot);
  }
  return slot;
}

/** What each compiled predicate requires of an event's literal values (prefilter.ts); absent: nothing known. */
const REQUIREMENTS = new WeakMap<Predicate, Requirement>();

function requiring(predicate: Predicate, requirement: Requirement): Predicate {
  if (requirement.length > 0) REQUIREMENTS.set(predicate, requirement);
  return predicate;
}

/** The literal tests every event `predicate` holds on must pass; empty when it cannot say (always run it). */
export function requirementOf(predicate: Predicate): Requirement {
  return REQUIREMENTS.get(predicate) ?? [];
}

export interface CompileContext {
  map: FieldMap;
  /** Values for `|expand` placeholders (`%name%` → values). */
  placeholders: Record<string, string[]>;
  /** Fields a rule names that the pipeline does not map (reported when its sources use ECS names). */
  unmapped: Set<string>;
}

const MAX_VALUE_CHARS = 65536;
const MAX_KEYWORD_VALUES = 256;
const MAX_EXPANSIONS = 256;
/** Sigma's System field names → the names win-event.ts keeps them under in `original`. */
const SYSTEM_ALIASES: Record<string, string> = {
  Provider_Name: 'Provider',
  Security_UserID: 'UserID',
  ProcessID: 'ProcessID',
  ThreadID: 'ThreadID',
};

function walk(root: unknown, parts: string[]): unknown {
  let cur = root;
  for (let i = 0; i < parts.length && cur !== undefined; i++)
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[parts[i]] : undefined;
  return cur;
}

/** auditd fields written quoted or hex-encoded (the rest are plain). */
const AUDIT_ENCODED = /^(?:a\d{1,3}|exe|comm|name|cwd|proctitle|ocomm)$/;

/**
 * An auditd event keeps its records by type (`original.SYSCALL`, `original.EXECVE`, …): `type` is the
 * record types, any other name the decoded values of that field in every record that has it. Sigma
 * reads auditd record by record; a grouped event answers for all of its records.
 */
function auditdField(original: Record<string, unknown>, name: string): unknown {
  if (name === 'type') return Object.keys(original);
  const out: string[] = [];
  for (const records of Object.values(original))
    for (const r of Array.isArray(records) ? records : [records]) {
      if (!r || typeof r !== 'object' || !Object.hasOwn(r, name)) continue;
      const raw = (r as Record<string, unknown>)[name];
      if (typeof raw !== 'string') continue;
      const v = auditValue(raw, AUDIT_ENCODED.test(name));
      if (v !== undefined) out.push(v);
    }
  return out.length > 0 ? out : undefined;
}

/**
 * The EventData object last asked about, and its names written with spaces by the name without them
 * (null: none has one). Every rule reads one event before the next is matched, so one entry serves them
 * all, with no weak map entry per record for the collector to sweep.
 */
let spacedOf: object | undefined;
let spacedLast: Map<string, string> | null = null;

function spacedNames(data: object): Map<string, string> | null {
  if (data === spacedOf) return spacedLast;
  let names: Map<string, string> | null = null;
  for (const key in data)
    if (key.includes(' ')) {
      names ??= new Map();
      const bare = key.replaceAll(' ', '');
      if (!names.has(bare)) names.set(bare, key);
    }
  spacedOf = data;
  spacedLast = names;
  return names;
}

/** Where a rule field is looked for, worked out once per field rather than per event. */
interface FieldPath {
  name: string;
  /** The name among a Windows record's System fields (`Provider_Name` → `Provider`). */
  system: string;
  /** The ECS path the pipeline maps it to. */
  mapped?: string[];
  /** The name as a dotted path into `original`. */
  dotted: string[];
}

function fieldPath(name: string, map: FieldMap): FieldPath {
  const mapped = Object.hasOwn(map, name) ? map[name] : undefined;
  return {
    name,
    system: Object.hasOwn(SYSTEM_ALIASES, name) ? SYSTEM_ALIASES[name] : name,
    ...(mapped ? { mapped: mapped.split('.') } : {}),
    dotted: name.split('.'),
  };
}

function readField(event: CoalEvent, f: FieldPath): unknown {
  const original = event.original as Record<string, unknown> | undefined;
  const data = original?.EventData;
  const name = f.name;
  if (data && typeof data === 'object' && typeof original?.EventID === 'number') {
    if (Object.hasOwn(data, name)) return (data as Record<string, unknown>)[name];
    // Defender and some other providers name EventData with spaces (`Threat Name`); Sigma writes `ThreatName`
    const spaced = spacedNames(data)?.get(name);
    if (spaced !== undefined) return (data as Record<string, unknown>)[spaced];
    if (f.system !== 'EventData' && Object.hasOwn(original, f.system)) return original[f.system];
  }
  if (original && event.coalmine.format === 'auditd') {
    const v = auditdField(original, name);
    if (v !== undefined) return v;
  }
  if (f.mapped) {
    const v = walk(event, f.mapped);
    if (v !== undefined && v !== null) return v;
  }
  if (!original) return undefined;
  return Object.hasOwn(original, name) ? original[name] : walk(original, f.dotted);
}

/** A rule field's raw value on `event`, by the precedence in the header. */
export function rawField(event: CoalEvent, name: string, map: FieldMap): unknown {
  return readField(event, fieldPath(name, map));
}

/** A scalar as the text rules compare (bounded, lower-cased when asked); undefined for anything else. */
function textOf(v: unknown, lower: boolean): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
  const s = String(v);
  const t = s.length > MAX_VALUE_CHARS ? s.slice(0, MAX_VALUE_CHARS) : s;
  return lower ? t.toLowerCase() : t;
}

function pushText(v: unknown, lower: boolean, out: string[]): void {
  const t = textOf(v, lower);
  if (t !== undefined) out.push(t);
}

type FieldReader = (e: CoalEvent, c: FieldCache) => string[];

/** A field's values as text (arrays flattened), read once per event and case into its slot. */
function fieldReader(name: string, map: FieldMap, lower: boolean): { slot: number; read: FieldReader } {
  const slot = fieldSlot(lower ? `l:${name}` : `c:${name}`);
  const path = fieldPath(name, map);
  const read: FieldReader = (event, cache) => {
    const hit = cache.get(slot);
    if (hit) return hit;
    const raw = readField(event, path);
    let out: string[];
    if (Array.isArray(raw)) {
      out = [];
      for (let i = 0; i < raw.length && i < MAX_KEYWORD_VALUES; i++) pushText(raw[i], lower, out);
    } else {
      // most fields hold one value: an array of exactly that one (a push would reserve room for 17)
      const t = textOf(raw, lower);
      out = t === undefined ? [] : [t];
    }
    cache.set(slot, out);
    return out;
  };
  return { slot, read };
}

/** Every value of the record (for keyword searches): the source record's leaves and the command line. */
function allValues(lower: boolean): { slot: number; read: FieldReader } {
  // field slots are `l:`/`c:` + name, so this one is no field's
  const slot = fieldSlot(lower ? 'k:lower' : 'k:cased');
  const read: FieldReader = (event, cache) => {
    const hit = cache.get(slot);
    if (hit) return hit;
    const out: string[] = [];
    pushLeaves(event.original, 0, lower, out);
    if (event.process?.command_line) pushText(event.process.command_line, lower, out);
    cache.set(slot, out);
    return out;
  };
  return { slot, read };
}

/** The leaves of `v` as text, four levels deep, up to MAX_KEYWORD_VALUES (no array of values per object). */
function pushLeaves(v: unknown, depth: number, lower: boolean, out: string[]): void {
  if (out.length >= MAX_KEYWORD_VALUES) return;
  if (!v || typeof v !== 'object') {
    pushText(v, lower, out);
    return;
  }
  if (depth >= 4) return;
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) pushLeaves(v[i], depth + 1, lower, out);
  else
    for (const key in v)
      if (Object.hasOwn(v, key)) pushLeaves((v as Record<string, unknown>)[key], depth + 1, lower, out);
}

function anyMatches(vals: string[], m: Matcher): boolean {
  for (let i = 0; i < vals.length; i++) if (m(vals[i])) return true;
  return false;
}

/** `%name%` placeholders replaced by their configured values (every combination, bounded). */
function expandPlaceholders(value: string, ctx: CompileContext): string[] {
  let out = [value];
  for (const m of value.matchAll(/%([A-Za-z0-9_.-]{1,64})%/g)) {
    const name = m[1];
    const values = Object.hasOwn(ctx.placeholders, name) ? ctx.placeholders[name] : undefined;
    if (!values || values.length === 0)
      throw new CompileError(`placeholder %${name}% has no configured value`, 'RULE_PLACEHOLDER', true);
    out = out.flatMap((v) => values.map((x) => v.replace(m[0], x)));
    if (out.length > MAX_EXPANSIONS)
      throw new CompileError(
        `placeholder %${name}% expands to over ${MAX_EXPANSIONS} values`,
        'RULE_PLACEHOLDER',
        true,
      );
  }
  return out;
}

const ENCODINGS = new Set(['utf16le', 'utf16be', 'utf16', 'wide']);

/** One rule value through the transforming modifiers, to alternative Sigma strings. */
function transformValue(value: string, mods: string[], field: string): Piece[][] {
  let pieces: Piece[][] = [parseSigmaString(value, mods.includes('windash'))];
  let bytes: Buffer[] | undefined;
  for (const m of mods) {
    if (ENCODINGS.has(m) || m === 'base64' || m === 'base64offset') {
      const texts = bytes ?? pieces.map((p) => piecesText(p));
      if (texts.some((t) => t === undefined))
        throw new CompileError(`${field}: |${m} on a value with wildcards`, 'RULE_BAD_DETECTION');
      const buffers = bytes ?? (texts as string[]).map((t) => Buffer.from(t, 'utf8'));
      if (ENCODINGS.has(m)) {
        const enc = m === 'wide' ? 'utf16le' : (m as 'utf16le' | 'utf16be' | 'utf16');
        bytes = (texts as Array<string | Buffer>).map((t) =>
          typeof t === 'string' ? encodeText(t, enc) : encodeText(t.toString('utf8'), enc),
        );
        continue;
      }
      const encoded =
        m === 'base64' ? buffers.map((b) => b.toString('base64')) : buffers.flatMap((b) => base64Offsets(b));
      pieces = encoded.map(literalPieces);
      bytes = undefined;
    }
  }
  if (bytes) pieces = bytes.map((b) => literalPieces(b.toString('latin1')));
  return pieces;
}

function compileItem(key: string, raw: unknown, ctx: CompileContext): Predicate {
  const [field, ...mods] = key.split('|');
  for (const m of mods)
    if (!isModifier(m)) throw new CompileError(`unknown modifier "${m}" on ${field}`, 'RULE_UNKNOWN_MODIFIER');
  const has = (m: string) => mods.includes(m);
  if (field !== '' && !Object.hasOwn(ctx.map, field)) ctx.unmapped.add(field);
  if (has('exists')) {
    const want = raw === true || raw === 'true' || raw === 'yes';
    const { read } = fieldReader(field, ctx.map, false);
    return (e, c) => read(e, c).length > 0 === want;
  }
  const rawValues = Array.isArray(raw) ? raw : [raw];
  if (rawValues.length === 0) throw new CompileError(`${field} has an empty value list`, 'RULE_BAD_DETECTION');
  const isRe = has('re');
  const fold = !has('cased') && !isRe;
  const how: Comparison = has('contains')
    ? 'contains'
    : has('startswith')
      ? 'startswith'
      : has('endswith')
        ? 'endswith'
        : 'equals';
  const { slot, read } = field === '' ? allValues(fold) : fieldReader(field, ctx.map, fold);
  /** One rule value against the field's values (and, for fieldref, the event's other field). */
  type ValueTest = (vals: string[], e: CoalEvent, c: FieldCache) => boolean;
  const tests: ValueTest[] = [];
  /**
   * Per value, the literal tests one of which a field value passes whenever that value matches; undefined
   * when the value's matcher is not a plain string comparison (null, fieldref, re, cidr, numbers, a
   * pattern without text), so the prefilter knows nothing from it.
   */
  const literals: Array<LiteralTest[] | undefined> = [];
  let folded: { slot: number; read: FieldReader } | undefined;
  for (const v of rawValues) {
    if (v === null || v === undefined) {
      // null: the field is absent or empty
      tests.push((vals) => vals.length === 0 || vals.every((x) => x === ''));
      literals.push(undefined);
      continue;
    }
    if (typeof v === 'object') throw new CompileError(`${field} has a nested value`, 'RULE_BAD_DETECTION');
    const texts = has('expand') ? expandPlaceholders(String(v), ctx) : [String(v)];
    const alternatives: Matcher[] = [];
    let valueLiterals: LiteralTest[] | undefined = [];
    for (const text of texts) {
      if (has('fieldref')) {
        valueLiterals = undefined;
        const other = fieldReader(text, ctx.map, fold).read;
        const cmp = (a: string, b: string) =>
          how === 'contains'
            ? a.includes(b)
            : how === 'startswith'
              ? a.startsWith(b)
              : how === 'endswith'
                ? a.endsWith(b)
                : a === b;
        tests.push((vals, e, c) => {
          const refs = other(e, c);
          for (const a of vals) for (const b of refs) if (cmp(a, b)) return true;
          return false;
        });
        continue;
      }
      if (isRe) {
        const r = compileRuleRegex(text, {
          i: has('i') || has('ignorecase'),
          m: has('m') || has('multiline'),
          s: has('s') || has('dotall'),
        });
        if ('unsupported' in r)
          throw new CompileError(`regular expression for ${field}: ${r.unsupported}`, 'RULE_UNSUPPORTED_REGEX', true);
        const re = r.regex;
        alternatives.push((s) => re.test(s.length > MAX_RE_INPUT ? s.slice(0, MAX_RE_INPUT) : s));
        // a text every match holds, looked for in the lower-cased values (regexNecessaryText says why that is sound)
        const need = regexNecessaryText(text);
        if (need) {
          folded ??= field === '' ? allValues(true) : fieldReader(field, ctx.map, true);
          valueLiterals?.push({ slot: folded.slot, read: folded.read, how: 'contains', text: need });
        } else valueLiterals = undefined;
        continue;
      }
      if (has('cidr')) {
        const m = cidrMatcher(text);
        if (!m) throw new CompileError(`${field}: "${text.slice(0, 64)}" is not a CIDR range`, 'RULE_BAD_DETECTION');
        alternatives.push(m);
        valueLiterals = undefined;
        continue;
      }
      const op = (['lt', 'lte', 'gt', 'gte'] as const).find((o) => has(o));
      if (op) {
        const n = Number(text);
        if (!Number.isFinite(n)) throw new CompileError(`${field}|${op} needs a number`, 'RULE_BAD_DETECTION');
        alternatives.push(numberMatcher(op, n));
        valueLiterals = undefined;
        continue;
      }
      for (const pieces of transformValue(text, mods, field)) {
        alternatives.push(stringMatcher(pieces, how, fold));
        const needs = necessaryTexts(pieces, how, fold);
        if (!needs) valueLiterals = undefined;
        else for (const need of needs) valueLiterals?.push({ slot, read, how: need.how, text: need.text });
      }
    }
    // a value without alternatives tests nothing (vacuous under |all): it vouches for nothing either
    literals.push(alternatives.length > 0 ? valueLiterals : undefined);
    if (alternatives.length === 1) {
      const m = alternatives[0];
      tests.push((vals) => anyMatches(vals, m));
    } else if (alternatives.length > 1) tests.push((vals) => vals.some((s) => alternatives.some((a) => a(s))));
  }
  const all = has('all');
  // |all: each value's tests are required; else one value's, so all of them are one clause (when all are known)
  const known = literals.filter((l): l is LiteralTest[] => l !== undefined && l.length > 0);
  const requirement: Requirement = all ? known : known.length === literals.length ? [known.flat()] : [];
  return requiring(
    (e, c) => {
      const vals = read(e, c);
      for (let i = 0; i < tests.length; i++) {
        const hit = tests[i](vals, e, c);
        if (all && !hit) return false;
        if (!all && hit) return true;
      }
      return all;
    },
    allOf([requirement]),
  );
}

function keywordPredicate(words: unknown[], ctx: CompileContext): Predicate {
  return compileItem('|contains', words.map(String), ctx);
}

/** A named detection item: a map (AND of fields), a list of maps (OR), or keywords (searched in every field). */
export function compileSelection(name: string, body: unknown, ctx: CompileContext): Predicate {
  if (typeof body === 'string' || typeof body === 'number') return keywordPredicate([body], ctx);
  if (Array.isArray(body)) {
    if (body.length === 0) throw new CompileError(`selection ${name} is empty`, 'RULE_BAD_DETECTION');
    const words = body.filter((x) => typeof x === 'string' || typeof x === 'number');
    const parts: Predicate[] = body
      .filter((x) => !(typeof x === 'string' || typeof x === 'number'))
      .map((x, i) => compileSelection(`${name}[${i}]`, x, ctx));
    if (words.length > 0) parts.unshift(keywordPredicate(words, ctx));
    if (parts.length === 1) return parts[0];
    return requiring(
      (e, c) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](e, c)) return true;
        return false;
      },
      anyOf(parts.map(requirementOf)),
    );
  }
  if (body && typeof body === 'object') {
    const items = Object.entries(body as Record<string, unknown>).map(([k, v]) => compileItem(k, v, ctx));
    if (items.length === 0) throw new CompileError(`selection ${name} is empty`, 'RULE_BAD_DETECTION');
    return requiring(
      (e, c) => {
        for (let i = 0; i < items.length; i++) if (!items[i](e, c)) return false;
        return true;
      },
      allOf(items.map(requirementOf)),
    );
  }
  throw new CompileError(`selection ${name} must be a map, a list or a keyword`, 'RULE_BAD_DETECTION');
}

export function compileCondition(node: ConditionNode, selections: Map<string, Predicate>): Predicate {
  switch (node.type) {
    case 'ref': {
      const p = selections.get(node.name);
      if (!p) throw new CompileError(`condition names "${node.name}", which is not a selection`, 'RULE_BAD_CONDITION');
      return p;
    }
    case 'not': {
      // requires nothing: `not x` holds on events without any of x's literals
      const inner = compileCondition(node.node, selections);
      return (e, c) => !inner(e, c);
    }
    case 'and': {
      const parts = node.nodes.map((n) => compileCondition(n, selections));
      return requiring(
        (e, c) => {
          for (let i = 0; i < parts.length; i++) if (!parts[i](e, c)) return false;
          return true;
        },
        allOf(parts.map(requirementOf)),
      );
    }
    case 'or': {
      const parts = node.nodes.map((n) => compileCondition(n, selections));
      return requiring(
        (e, c) => {
          for (let i = 0; i < parts.length; i++) if (parts[i](e, c)) return true;
          return false;
        },
        anyOf(parts.map(requirementOf)),
      );
    }
    case 'of': {
      const names = expandPattern(node.pattern, [...selections.keys()]);
      if (names.length === 0) throw new CompileError(`"${node.pattern}" matches no selection`, 'RULE_BAD_CONDITION');
      const parts = names.map((n) => selections.get(n) as Predicate);
      const requirements = parts.map(requirementOf);
      return node.quantifier === 'all'
        ? requiring((e, c) => parts.every((p) => p(e, c)), allOf(requirements))
        : requiring((e, c) => parts.some((p) => p(e, c)), anyOf(requirements));
    }
  }
}

/** Fill `{Field}` placeholders of an explanation from the event. */
export function explainTemplate(template: string, map: FieldMap): (event: CoalEvent) => string {
  return (event) =>
    template.replace(/\{([A-Za-z0-9_.]{1,64})\}/g, (_, name: string) => {
      const vals = fieldReader(name, map, false).read(event, new FieldCache());
      const v = vals.join(' ');
      return v.length > 200 ? `${v.slice(0, 200)}…` : v;
    });
}
