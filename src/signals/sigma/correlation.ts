/**
 * Sigma correlation rules (`correlation:` documents): `event_count`, `value_count`, `temporal` and
 * `temporal_ordered` over the matches of the rules they name (by id or `name`, correlations included),
 * grouped by `group-by` fields (through `aliases` per rule), within `timespan`, judged by `condition`.
 * `parseCorrelation` reads one document; `Correlator` evaluates them over the stream of matches in event
 * time. State is bounded: groups per rule are capped (least recently active evicted, counted), a group
 * idle for its timespan is dropped, and each group keeps only the times or values its condition needs.
 * A condition with only a lower bound (gt, gte) fires as soon as it holds within the sliding window;
 * one with an upper bound (lt, lte, eq, a range) can only be known when the group's window (from its
 * first match) has closed, so it is judged then, when a later match shows that time has passed.
 */
import type { CoalEvent } from '../../model/event.js';

export type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';

/** A count's bounds, all of which must hold (Sigma: several operators are a conjunction). */
export interface CountCondition {
  /** Inclusive lower bound (gt n is gte n+1). */
  min?: number;
  /** Inclusive upper bound (lt n is lte n-1). */
  max?: number;
}

export interface CorrelationDefinition {
  id: string;
  name?: string;
  title: string;
  level: string;
  status: string;
  tags: string[];
  type: CorrelationType;
  /** The rules it names, as written (ids or names). */
  refs: string[];
  groupBy: string[];
  timespanMs: number;
  condition: CountCondition;
  /** value_count: the field whose distinct values are counted. */
  field?: string;
  /** alias → (rule id or name → that rule's field). */
  aliases: Record<string, Record<string, string>>;
  /** Whether the rules it names also report their own matches (Sigma's default: no). */
  generate: boolean;
}

/** One rule a correlation names, resolved: its id and name, so aliases may use either. */
export interface CorrelationInput {
  id: string;
  name?: string;
}

/** A correlation ready to run: its definition, the rules it reads resolved, and how to read a field. */
export interface CompiledCorrelation {
  def: CorrelationDefinition;
  inputs: CorrelationInput[];
  /** A field's values on an event (the same precedence as rule fields: see compile.ts rawField). */
  read: (event: CoalEvent, field: string) => string[];
}

export interface CorrelationHit {
  correlation: CompiledCorrelation;
  /** The match that completed it (its host and time are the hit's). */
  event: CoalEvent;
  /** What was counted: events, distinct values, or rules seen. */
  count: number;
  /** The group's values, by group-by name. */
  group: Array<[string, string]>;
  /** Event time of the first match counted. */
  firstTs: number;
}

export class CorrelationParseError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

const TYPES = new Set<string>(['event_count', 'value_count', 'temporal', 'temporal_ordered']);
const MAX_REFS = 64;
const MAX_GROUP_BY = 16;
const MAX_ALIASES = 64;
const MAX_NAME_CHARS = 256;
/** The largest count a condition may name: each group keeps up to that many times or values. */
export const MAX_CONDITION_COUNT = 10_000;
const MAX_TIMESPAN_MS = 366 * 86_400_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function name(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_CHARS ? v : undefined;
}

/** Sigma's timespan: a whole number and one unit letter (s, m, h, d; w as pySigma also reads it). */
export function parseTimespan(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.length > 16) return undefined;
  const m = /^(\d{1,9})([smhdw])$/.exec(v.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms > 0 && ms <= MAX_TIMESPAN_MS ? ms : undefined;
}

function count(v: unknown, op: string): number {
  const n = typeof v === 'string' && /^\d{1,9}$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new CorrelationParseError(`condition ${op} must be a whole number`, 'CORRELATION_BAD_CONDITION');
  return n;
}

/** `{gte: 10}`, `{gt: 100, lte: 200}`, `{eq: 3}`, `{range: "10..20"}` → inclusive bounds. */
export function parseCountCondition(raw: unknown, type: CorrelationType): { bounds: CountCondition; field?: string } {
  if (raw === undefined || raw === null) {
    if (type === 'temporal' || type === 'temporal_ordered') return { bounds: {} };
    throw new CorrelationParseError(`${type} needs a condition`, 'CORRELATION_BAD_CONDITION');
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new CorrelationParseError('condition must be a mapping (gt, gte, lt, lte, eq)', 'CORRELATION_BAD_CONDITION');
  const bounds: CountCondition = {};
  let field: string | undefined;
  const atLeast = (n: number) => {
    bounds.min = Math.max(bounds.min ?? 0, n);
  };
  const atMost = (n: number) => {
    bounds.max = Math.min(bounds.max ?? Number.POSITIVE_INFINITY, n);
  };
  for (const [op, v] of Object.entries(raw as Record<string, unknown>)) {
    switch (op) {
      case 'field':
        field = name(v);
        if (!field)
          throw new CorrelationParseError('condition field must be a field name', 'CORRELATION_BAD_CONDITION');
        break;
      case 'gt':
        atLeast(count(v, op) + 1);
        break;
      case 'gte':
        atLeast(count(v, op));
        break;
      case 'lt': {
        const n = count(v, op);
        if (n === 0) throw new CorrelationParseError('condition lt: 0 can never hold', 'CORRELATION_BAD_CONDITION');
        atMost(n - 1);
        break;
      }
      case 'lte':
        atMost(count(v, op));
        break;
      case 'eq': {
        const n = count(v, op);
        atLeast(n);
        atMost(n);
        break;
      }
      case 'range': {
        const m = typeof v === 'string' ? /^\s*(\d{1,9})\s*\.\.\s*(\d{1,9})\s*$/.exec(v) : null;
        if (!m) throw new CorrelationParseError('condition range must be "low..high"', 'CORRELATION_BAD_CONDITION');
        atLeast(Number(m[1]));
        atMost(Number(m[2]));
        break;
      }
      default:
        throw new CorrelationParseError(
          `unknown condition operator "${op.slice(0, 32)}" (gt, gte, lt, lte, eq, range, field)`,
          'CORRELATION_BAD_CONDITION',
        );
    }
  }
  if (bounds.min === undefined && bounds.max === undefined && type !== 'temporal' && type !== 'temporal_ordered')
    throw new CorrelationParseError('condition names no bound (gt, gte, lt, lte, eq)', 'CORRELATION_BAD_CONDITION');
  if (bounds.min !== undefined && bounds.max !== undefined && bounds.min > bounds.max)
    throw new CorrelationParseError('condition can never hold (lower bound over upper)', 'CORRELATION_BAD_CONDITION');
  if (
    (bounds.min ?? 0) > MAX_CONDITION_COUNT ||
    (Number.isFinite(bounds.max ?? 0) && (bounds.max ?? 0) > MAX_CONDITION_COUNT)
  )
    throw new CorrelationParseError(
      `condition counts over ${MAX_CONDITION_COUNT} are not supported`,
      'CORRELATION_BAD_CONDITION',
      true,
    );
  if (type === 'value_count' && !field)
    throw new CorrelationParseError('value_count needs condition.field', 'CORRELATION_BAD_CONDITION');
  if ((type === 'temporal' || type === 'temporal_ordered') && bounds.max !== undefined)
    throw new CorrelationParseError(
      `${type} with an upper bound on the rules seen is not supported`,
      'CORRELATION_BAD_CONDITION',
      true,
    );
  return { bounds, field };
}

function stringList(v: unknown, what: string, max: number): string[] {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!list || list.length === 0 || list.length > max || !list.every((x) => name(x) !== undefined))
    throw new CorrelationParseError(`${what} must be a list of 1 to ${max} names`, 'CORRELATION_BAD_FIELD');
  return list as string[];
}

/** One `correlation:` document → its definition; throws CorrelationParseError with a code. */
export function parseCorrelation(doc: Record<string, unknown>): CorrelationDefinition {
  const title = name(doc.title);
  const id = name(doc.id) ?? name(doc.name);
  if (!title || !id)
    throw new CorrelationParseError('a correlation needs a title and an id or name', 'RULE_MISSING_FIELD');
  const body = doc.correlation;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new CorrelationParseError(`correlation ${id}: correlation must be a mapping`, 'CORRELATION_BAD_FIELD');
  const c = body as Record<string, unknown>;
  const at = (e: unknown): never => {
    if (e instanceof CorrelationParseError)
      throw new CorrelationParseError(`correlation ${id}: ${e.message}`, e.code, e.unsupported);
    throw e;
  };
  try {
    const type = String(c.type ?? '');
    if (!TYPES.has(type))
      throw new CorrelationParseError(
        `type "${type.slice(0, 32)}" is not event_count, value_count, temporal or temporal_ordered`,
        'CORRELATION_BAD_TYPE',
      );
    const t = type as CorrelationType;
    const refs = stringList(c.rules, 'rules', MAX_REFS);
    const groupBy = c['group-by'] === undefined ? [] : stringList(c['group-by'], 'group-by', MAX_GROUP_BY);
    const timespanMs = parseTimespan(c.timespan);
    if (timespanMs === undefined)
      throw new CorrelationParseError(
        'timespan must be a number and a unit (s, m, h, d), up to 366d',
        'CORRELATION_BAD_TIMESPAN',
      );
    const { bounds, field } = parseCountCondition(c.condition, t);
    const aliases: Record<string, Record<string, string>> = {};
    if (c.aliases !== undefined) {
      if (!c.aliases || typeof c.aliases !== 'object' || Array.isArray(c.aliases))
        throw new CorrelationParseError('aliases must be a mapping', 'CORRELATION_BAD_FIELD');
      const entries = Object.entries(c.aliases as Record<string, unknown>);
      if (entries.length > MAX_ALIASES)
        throw new CorrelationParseError(`over ${MAX_ALIASES} aliases`, 'CORRELATION_BAD_FIELD');
      for (const [alias, per] of entries) {
        if (!per || typeof per !== 'object' || Array.isArray(per))
          throw new CorrelationParseError(
            `alias ${alias.slice(0, 64)} must map rule names to fields`,
            'CORRELATION_BAD_FIELD',
          );
        const map: Record<string, string> = Object.create(null);
        for (const [rule, f] of Object.entries(per as Record<string, unknown>).slice(0, MAX_REFS)) {
          const fieldName = name(f);
          if (!fieldName)
            throw new CorrelationParseError(
              `alias ${alias.slice(0, 64)}.${rule.slice(0, 64)} must be a field name`,
              'CORRELATION_BAD_FIELD',
            );
          map[rule] = fieldName;
        }
        aliases[alias] = map;
      }
    }
    // Sigma 2 puts generate in the correlation section; some writers put it beside it
    const generateRaw = c.generate ?? doc.generate;
    if (generateRaw !== undefined && typeof generateRaw !== 'boolean')
      throw new CorrelationParseError('generate must be true or false', 'CORRELATION_BAD_FIELD');
    return {
      id,
      name: name(doc.name),
      title,
      level: String(doc.level ?? 'medium').toLowerCase(),
      status: String(doc.status ?? 'stable').toLowerCase(),
      tags: Array.isArray(doc.tags) ? doc.tags.map(String) : [],
      type: t,
      refs,
      groupBy,
      timespanMs,
      condition: bounds,
      field,
      aliases,
      generate: generateRaw === true,
    };
  } catch (e) {
    return at(e);
  }
}

/** How much state the correlator keeps. */
export interface CorrelatorLimits {
  /** Open groups per correlation; the least recently active is dropped past it. */
  maxGroups: number;
  /** Correlations fed by one correlation's hit, and so on: the chain depth followed per event. */
  maxDepth: number;
}

const DEFAULT_LIMITS: CorrelatorLimits = { maxGroups: 10_000, maxDepth: 8 };
const MAX_GROUP_VALUE_CHARS = 256;

interface Group {
  values: string[];
  /** Start of the group's window (its first counted match). */
  start: number;
  last: number;
  lastEvent: CoalEvent;
  /** event_count: match times, oldest first, at most the condition's need. */
  times: number[];
  /** value_count: value → last time, least recently seen first. */
  seen: Map<string, number>;
  /** temporal: each input's last time; temporal_ordered: the latest start of an in-order chain ending there. */
  marks: number[];
}

/** One correlation's open groups, beside what its definition fixes (a class: checkpoints keep `groups` only). */
export class RuleState {
  readonly groups = new Map<string, Group>();
  constructor(
    readonly c: CompiledCorrelation,
    /** Whether the condition has an upper bound: judged when the window closes. */
    readonly closing: boolean,
    /** How many times or values a group needs to keep to judge its condition. */
    readonly keep: number,
  ) {}
}

/**
 * Evaluates correlations over rule matches in event time. `observe` takes one event's matches (rule
 * ids) and returns the correlations they complete, hits of correlations feeding those that name them.
 */
export class Correlator {
  private readonly byInput = new Map<string, Array<{ state: RuleState; index: number }>>();
  private readonly states: RuleState[] = [];
  private readonly limits: CorrelatorLimits;
  /** Groups dropped because a correlation had too many open: the result may miss a hit. */
  evictedGroups = 0;

  constructor(correlations: CompiledCorrelation[], limits: Partial<CorrelatorLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    for (const c of correlations) {
      const { min, max } = c.def.condition;
      const closing = max !== undefined;
      const keep = Math.max(min ?? 1, closing ? (max as number) + 1 : 1);
      const state = new RuleState(c, closing, keep);
      this.states.push(state);
      c.inputs.forEach((input, index) => {
        const list = this.byInput.get(input.id) ?? [];
        list.push({ state, index });
        this.byInput.set(input.id, list);
      });
    }
  }

  /** Whether any correlation reads this rule's matches. */
  reads(ruleId: string): boolean {
    return this.byInput.has(ruleId);
  }

  observe(event: CoalEvent, ruleIds: string[]): CorrelationHit[] {
    const hits: CorrelationHit[] = [];
    const ts = event.coalmine.ts;
    if (!Number.isFinite(ts)) return hits;
    for (const state of this.states) if (state.groups.size > 0) this.sweep(state, ts, hits);
    let pending = ruleIds;
    for (let depth = 0; depth < this.limits.maxDepth && pending.length > 0; depth++) {
      const next: string[] = [];
      const feeds: Array<{ state: RuleState; index: number }> = [];
      for (const id of pending) for (const r of this.byInput.get(id) ?? []) feeds.push(r);
      // temporal_ordered: later stages first, so one event never completes two stages of one chain
      feeds.sort((a, b) => b.index - a.index);
      for (const { state, index } of feeds) {
        const hit = this.feed(state, index, event, ts);
        if (hit) {
          hits.push(hit);
          next.push(hit.correlation.def.id);
        }
      }
      pending = next;
    }
    return hits;
  }

  /** Drop groups idle past their timespan, judging closing conditions on the way out. */
  private sweep(state: RuleState, now: number, hits: CorrelationHit[]): void {
    const span = state.c.def.timespanMs;
    for (const [key, g] of state.groups) {
      if (g.last + span >= now) break;
      state.groups.delete(key);
      if (state.closing && now > g.start + span) {
        const hit = this.judgeClosed(state, g);
        if (hit) hits.push(hit);
      }
    }
  }

  private groupValues(state: RuleState, index: number, event: CoalEvent): string[] {
    const { def, inputs, read } = state.c;
    const input = inputs[index];
    return def.groupBy.map((g) => {
      const per = Object.hasOwn(def.aliases, g) ? def.aliases[g] : undefined;
      const field =
        (per && input.name !== undefined && Object.hasOwn(per, input.name) ? per[input.name] : undefined) ??
        (per && Object.hasOwn(per, input.id) ? per[input.id] : undefined) ??
        g;
      const vals = read(event, field);
      // a missing field is one value of its own (the empty one): events without it are grouped together
      const v = vals.length === 0 ? '' : vals.join(',');
      return v.length > MAX_GROUP_VALUE_CHARS ? v.slice(0, MAX_GROUP_VALUE_CHARS) : v;
    });
  }

  private feed(state: RuleState, index: number, event: CoalEvent, ts: number): CorrelationHit | undefined {
    const { def } = state.c;
    const values = this.groupValues(state, index, event);
    const key = values.join('\u0000');
    let g = state.groups.get(key);
    let out: CorrelationHit | undefined;
    if (g && state.closing && ts > g.start + def.timespanMs) {
      // the group's window closed before this match: judge it, then this match opens the next
      state.groups.delete(key);
      out = this.judgeClosed(state, g);
      g = undefined;
    }
    if (!g) {
      if (state.groups.size >= this.limits.maxGroups) {
        const oldest = state.groups.keys().next().value as string;
        state.groups.delete(oldest);
        this.evictedGroups++;
      }
      g = { values, start: ts, last: ts, lastEvent: event, times: [], seen: new Map(), marks: [] };
    } else state.groups.delete(key);
    // re-inserted: the map stays ordered by last activity, for the sweep and the eviction
    state.groups.set(key, g);
    g.last = Math.max(g.last, ts);
    g.lastEvent = event;
    const from = state.closing ? g.start : ts - def.timespanMs;
    const n = this.count(state, g, index, event, ts, from);
    if (state.closing) return out;
    if (n >= (def.condition.min ?? 1)) {
      state.groups.delete(key);
      return this.hit(state, g, event, n, ts);
    }
    return out;
  }

  /** Record the match and return the group's count within [from, ts]. */
  private count(state: RuleState, g: Group, index: number, event: CoalEvent, ts: number, from: number): number {
    const { def, inputs } = state.c;
    switch (def.type) {
      case 'event_count': {
        g.times.push(ts);
        while (g.times.length > 0 && g.times[0] < from) g.times.shift();
        if (g.times.length > state.keep) g.times.shift();
        return g.times.length;
      }
      case 'value_count': {
        const vals = state.c.read(event, this.fieldOf(state, index));
        for (const raw of vals.slice(0, 16)) {
          const v = raw.length > MAX_GROUP_VALUE_CHARS ? raw.slice(0, MAX_GROUP_VALUE_CHARS) : raw;
          g.seen.delete(v);
          g.seen.set(v, ts);
        }
        for (const [v, at] of g.seen) {
          if (at >= from && g.seen.size <= state.keep) break;
          g.seen.delete(v);
        }
        return g.seen.size;
      }
      case 'temporal': {
        if (g.marks.length === 0) g.marks = inputs.map(() => Number.NaN);
        g.marks[index] = ts;
        let seen = 0;
        for (const m of g.marks) if (m >= from) seen++;
        // the condition counts rules seen; without one, all of them
        return def.condition.min === undefined ? (seen === inputs.length ? seen : 0) : seen;
      }
      case 'temporal_ordered': {
        if (g.marks.length === 0) g.marks = inputs.map(() => Number.NaN);
        // marks[i]: when the latest in-order chain of stages 0..i began; a chain counts while it began in the window
        if (index === 0) g.marks[0] = ts;
        else {
          const prior = g.marks[index - 1];
          if (prior >= from && !(g.marks[index] >= prior)) g.marks[index] = prior;
        }
        let stages = 0;
        while (stages < inputs.length && g.marks[stages] >= from) stages++;
        return stages >= (def.condition.min ?? inputs.length) ? stages : 0;
      }
    }
  }

  private fieldOf(state: RuleState, index: number): string {
    const { def, inputs } = state.c;
    const f = def.field as string;
    const per = Object.hasOwn(def.aliases, f) ? def.aliases[f] : undefined;
    const input = inputs[index];
    return (
      (per && input.name !== undefined && Object.hasOwn(per, input.name) ? per[input.name] : undefined) ??
      (per && Object.hasOwn(per, input.id) ? per[input.id] : undefined) ??
      f
    );
  }

  private judgeClosed(state: RuleState, g: Group): CorrelationHit | undefined {
    const { min, max } = state.c.def.condition;
    const n = state.c.def.type === 'event_count' ? g.times.length : g.seen.size;
    if (n < (min ?? 0) || n > (max ?? Number.POSITIVE_INFINITY)) return undefined;
    return this.hit(state, g, g.lastEvent, n, g.last);
  }

  private hit(state: RuleState, g: Group, event: CoalEvent, n: number, ts: number): CorrelationHit {
    const { def } = state.c;
    let first = def.type === 'value_count' ? ts : g.start;
    if (def.type === 'event_count' && g.times.length > 0) first = g.times[0];
    else if (def.type === 'value_count') for (const at of g.seen.values()) first = Math.min(first, at);
    else if (g.marks.length > 0) first = Math.min(...g.marks.filter((m) => m >= 0));
    return {
      correlation: state.c,
      event,
      count: n,
      group: def.groupBy.map((name, i) => [name, g.values[i]]),
      firstTs: Number.isFinite(first) ? Math.min(first, ts) : ts,
    };
  }
}
