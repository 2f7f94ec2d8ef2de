/**
 * Sigma filters (`filter:` meta-rules): tuning kept apart from the rules it tunes. A filter names rules
 * (by id or `name`), a logsource and a detection; an event the filter's detection matches is not a
 * match of those rules (Sigma: the rule's condition becomes `(condition) and not (filter)`), so it
 * raises no signal, no context and feeds no correlation. `parseFilter` reads one document, the loader
 * compiles its detection like a rule's, and `applyFilter` wraps each named rule once all are loaded.
 */
import type { CoalEvent } from '../../model/event.js';
import { FieldCache, type Predicate } from './compile.js';

export interface FilterDefinition {
  id: string;
  title: string;
  /** The rules it tunes, as written (ids or names). */
  refs: string[];
  logsource: { product?: string; category?: string; service?: string };
  /** The selections and condition, as a rule's `detection` is written. */
  detection: Record<string, unknown>;
}

export class FilterParseError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const MAX_REFS = 1024;
const MAX_NAME_CHARS = 256;

function name(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_CHARS ? v : undefined;
}

/** One `filter:` document → its definition; throws FilterParseError with a code. */
export function parseFilter(doc: Record<string, unknown>): FilterDefinition {
  const title = name(doc.title);
  const id = name(doc.id) ?? title;
  if (!title || !id) throw new FilterParseError('a filter needs a title', 'RULE_MISSING_FIELD');
  const body = doc.filter;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new FilterParseError(
      `filter ${id}: filter must be a mapping (rules, selections, condition)`,
      'FILTER_BAD_FIELD',
    );
  const { rules, ...detection } = body as Record<string, unknown>;
  const list = typeof rules === 'string' ? [rules] : rules;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_REFS || !list.every((r) => name(r) !== undefined))
    throw new FilterParseError(
      `filter ${id}: rules must be a list of 1 to ${MAX_REFS} rule ids or names`,
      'FILTER_BAD_FIELD',
    );
  if (detection.condition === undefined) throw new FilterParseError(`filter ${id}: no condition`, 'RULE_BAD_CONDITION');
  const raw = (doc.logsource ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  return {
    id,
    title,
    refs: list as string[],
    logsource: { product: text(raw.product), category: text(raw.category), service: text(raw.service) },
    detection,
  };
}

/** The part of a rule a filter replaces: its match test. */
export interface Filterable {
  matches(event: CoalEvent, cache?: FieldCache): boolean;
}

/**
 * Wrap `rule` so an event `applies` (the filter's logsource) and `excluded` (its detection) match is no
 * longer the rule's match. Several filters on one rule stack.
 */
export function applyFilter(rule: Filterable, applies: (event: CoalEvent) => boolean, excluded: Predicate): void {
  const base = rule.matches;
  rule.matches = (event, cache = new FieldCache()) => base(event, cache) && !(applies(event) && excluded(event, cache));
}
