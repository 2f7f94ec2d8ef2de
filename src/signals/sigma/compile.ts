/**
 * Our Sigma "backend": a rule's detection becomes a predicate over CoalEvent, compiled once. Field
 * names go through the pipeline mapping (data in rules/sigma/pipeline-ecs.yml); matching is
 * case-insensitive unless `|cased`; plain values support `*` wildcards.
 */
import type { CoalEvent } from '../../model/event.js';
import { compileGlob } from '../../util/glob.js';
import { type ConditionNode, expandPattern } from './condition.js';
import { isModifier, type Matcher, modifiers, unsafeRegexReason } from './modifiers.js';

export class CompileError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export type FieldMap = Record<string, string>;
export type Predicate = (event: CoalEvent, cache: Map<string, string[]>) => boolean;

const MAX_VALUE_CHARS = 65536;

/** Reads a field's values as strings (arrays flattened); compiled once per field, cached once per event. */
type FieldReader = (event: CoalEvent, cache: Map<string, string[]>) => string[];

function fieldReader(path: string, lower: boolean): FieldReader {
  const parts = path.split('.');
  const key = lower ? `l:${path}` : path;
  return (event, cache) => {
    const hit = cache.get(key);
    if (hit) return hit;
    let cur: unknown = event;
    for (let i = 0; i < parts.length && cur !== undefined; i++) {
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[parts[i]] : undefined;
    }
    const out: string[] = [];
    if (cur !== undefined && cur !== null) {
      const list = Array.isArray(cur) ? cur : [cur];
      for (let i = 0; i < list.length; i++) {
        const v = list[i];
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
          const s = String(v).slice(0, MAX_VALUE_CHARS);
          out.push(lower ? s.toLowerCase() : s);
        }
      }
    }
    cache.set(key, out);
    return out;
  };
}

function anyMatches(vals: string[], m: Matcher): boolean {
  for (let i = 0; i < vals.length; i++) if (m(vals[i])) return true;
  return false;
}

export function fieldPath(name: string, map: FieldMap): { path: string; mapped: boolean } {
  const mapped = map[name];
  return mapped ? { path: mapped, mapped: true } : { path: `original.${name}`, mapped: false };
}

function plainMatcher(value: string): Matcher {
  if (!value.includes('*')) return (s) => s === value;
  return compileGlob(value);
}

function compileItem(key: string, raw: unknown, map: FieldMap, unmapped: Set<string>): Predicate {
  const [field, ...mods] = key.split('|');
  for (const m of mods)
    if (!isModifier(m)) throw new CompileError(`unknown modifier "${m}" on ${field}`, 'RULE_UNKNOWN_MODIFIER');
  const { path, mapped } = fieldPath(field, map);
  if (!mapped) unmapped.add(field);
  if (mods.includes('exists')) {
    const want = raw === true || raw === 'true';
    const read = fieldReader(path, false);
    return (e, c) => read(e, c).length > 0 === want;
  }
  const rawValues = Array.isArray(raw) ? raw : [raw];
  if (rawValues.length === 0) throw new CompileError(`${field} has an empty value list`, 'RULE_BAD_DETECTION');
  const isRe = mods.includes('re');
  const lower = !mods.includes('cased') && !isRe;
  const matchers: Array<Matcher | 'null'> = [];
  for (const v of rawValues) {
    if (v === null) {
      matchers.push('null');
      continue;
    }
    if (typeof v === 'object') throw new CompileError(`${field} has a nested value`, 'RULE_BAD_DETECTION');
    let values = [String(v)];
    for (const m of mods) {
      const mod = modifiers[m as keyof typeof modifiers];
      if (mod.role === 'transform')
        values = values.flatMap((x) => (mod as { transform: (s: string) => string[] }).transform(x));
    }
    const compareName = [...mods].reverse().find((m) => modifiers[m as keyof typeof modifiers].role === 'compare');
    const alternatives: Matcher[] = values.map((x) => {
      const folded = lower ? x.toLowerCase() : x;
      if (compareName === 're') {
        const why = unsafeRegexReason(x);
        if (why) throw new CompileError(`unsafe regular expression for ${field}: ${why}`, 'RULE_UNSAFE_REGEX');
      }
      if (compareName)
        return (modifiers[compareName as keyof typeof modifiers] as { compare: (s: string) => Matcher }).compare(
          folded,
        );
      // base64 transforms without a comparison mean "contains" in practice; otherwise equality with wildcards
      return mods.some((m) => m.startsWith('base64')) ? (s: string) => s.includes(folded) : plainMatcher(folded);
    });
    matchers.push(alternatives.length === 1 ? alternatives[0] : (s) => alternatives.some((a) => a(s)));
  }
  const all = mods.includes('all');
  const read = fieldReader(path, lower);
  return (e, c) => {
    const vals = read(e, c);
    for (let i = 0; i < matchers.length; i++) {
      const m = matchers[i];
      const hit = m === 'null' ? vals.length === 0 : anyMatches(vals, m);
      if (all && !hit) return false;
      if (!all && hit) return true;
    }
    return all;
  };
}

/** A named detection item: a map (AND of fields), a list of maps (OR), or a list of keywords. */
export function compileSelection(name: string, body: unknown, map: FieldMap, unmapped: Set<string>): Predicate {
  if (Array.isArray(body)) {
    if (body.every((x) => typeof x === 'string' || typeof x === 'number')) {
      // keywords: searched in the command line, the field an analyst would grep
      const words = body.map((x) => String(x).toLowerCase());
      const read = fieldReader('process.command_line', true);
      return (e, c) => {
        const vals = read(e, c);
        for (const s of vals) for (const w of words) if (s.includes(w)) return true;
        return false;
      };
    }
    const parts = body.map((x, i) => compileSelection(`${name}[${i}]`, x, map, unmapped));
    return (e, c) => {
      for (let i = 0; i < parts.length; i++) if (parts[i](e, c)) return true;
      return false;
    };
  }
  if (body && typeof body === 'object') {
    const items = Object.entries(body as Record<string, unknown>).map(([k, v]) => compileItem(k, v, map, unmapped));
    if (items.length === 0) throw new CompileError(`selection ${name} is empty`, 'RULE_BAD_DETECTION');
    return (e, c) => {
      for (let i = 0; i < items.length; i++) if (!items[i](e, c)) return false;
      return true;
    };
  }
  throw new CompileError(`selection ${name} must be a map or a list`, 'RULE_BAD_DETECTION');
}

export function compileCondition(node: ConditionNode, selections: Map<string, Predicate>): Predicate {
  switch (node.type) {
    case 'ref': {
      const p = selections.get(node.name);
      if (!p) throw new CompileError(`condition names "${node.name}", which is not a selection`, 'RULE_BAD_CONDITION');
      return p;
    }
    case 'not': {
      const inner = compileCondition(node.node, selections);
      return (e, c) => !inner(e, c);
    }
    case 'and': {
      const parts = node.nodes.map((n) => compileCondition(n, selections));
      return (e, c) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i](e, c)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = node.nodes.map((n) => compileCondition(n, selections));
      return (e, c) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](e, c)) return true;
        return false;
      };
    }
    case 'of': {
      const names = expandPattern(node.pattern, [...selections.keys()]);
      if (names.length === 0) throw new CompileError(`"${node.pattern}" matches no selection`, 'RULE_BAD_CONDITION');
      const parts = names.map((n) => selections.get(n)!);
      return node.quantifier === 'all' ? (e, c) => parts.every((p) => p(e, c)) : (e, c) => parts.some((p) => p(e, c));
    }
  }
}

/** Fill `{Field}` placeholders of an explanation from the event. */
export function explainTemplate(template: string, map: FieldMap): (event: CoalEvent) => string {
  return (event) =>
    template.replace(/\{([A-Za-z0-9_.]{1,64})\}/g, (_, name: string) => {
      const vals = fieldReader(fieldPath(name, map).path, false)(event, new Map());
      const v = vals.join(' ');
      return v.length > 200 ? `${v.slice(0, 200)}…` : v;
    });
}
