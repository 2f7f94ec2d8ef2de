/**
 * Matched Sigma rules, per event: `matchRules` is the API for every match (rule id, level, title),
 * whether or not the rule is about compute hijacking; `ruleSignals` turns the matches of rules that
 * raise a signal into signals, through the same `signalFor` as every classifier.
 */
import { fileURLToPath } from 'node:url';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { signalFor } from './make.js';
import type { CompiledRule, RuleSet } from './sigma/index.js';
import { conditionReadsRecord, windowsRecord } from './sigma/logsources.js';

/** The rules `hunt` loads by default: the stable set shipped in the repository. */
export const DEFAULT_RULE_DIRS: string[] = [fileURLToPath(new URL('../../rules/stable', import.meta.url))];

/** One rule matching one event: what the scope-of-compromise context reports. */
export interface RuleMatch {
  id: string;
  level: string;
  title: string;
  rule: CompiledRule;
}

const NONE: CompiledRule[] = [];

/**
 * The rules that may read `event`: a Windows record's by its EventID (and channel-wide rules), any
 * other event's by its action. A rule indexed under both keys is run once.
 */
function candidates(ruleSet: RuleSet, event: CoalEvent): CompiledRule[] {
  const win = windowsRecord(event);
  const key = win ? `w:${win.eventId}` : `a:${event.event.action}`;
  let merged = MERGED.get(ruleSet);
  if (!merged) {
    merged = new Map();
    MERGED.set(ruleSet, merged);
  }
  let list = merged.get(key);
  if (!list) {
    const a = ruleSet.byKey.get(key) ?? NONE;
    const b = ruleSet.byKey.get(win ? 'w:*' : 'a:*') ?? NONE;
    list = b.length === 0 ? a : a.length === 0 ? b : [...new Set([...a, ...b])];
    // keys are EventIDs and actions: few; a hostile file of random EventIDs is not kept past the bound
    if (merged.size < 4096) merged.set(key, list);
  }
  return list;
}

/** Per rule set, the merged candidate list of each key, built on first use. */
const MERGED = new WeakMap<RuleSet, Map<string, CompiledRule[]>>();

/**
 * Whether some rule of `ruleSet` could read a Windows record with this EventID (by the rules' index):
 * the sources keep records no analytic reads only for such rules (SourceContext.keepWindowsRecord).
 */
export function windowsRecordFilter(ruleSet: RuleSet): (provider: string, channel: string, eventId: number) => boolean {
  const wide = ruleSet.byKey.get('w:*') ?? NONE;
  const known = new Map<string, boolean>();
  return (provider, channel, eventId) => {
    const key = `${provider}|${channel}|${eventId}`;
    let keep = known.get(key);
    if (keep === undefined) {
      const rules = [...(ruleSet.byKey.get(`w:${eventId}`) ?? NONE), ...wide];
      keep = rules.some((r) => r.logsource.some((c) => conditionReadsRecord(c, provider, channel, eventId)));
      if (known.size < 4096) known.set(key, keep);
    }
    return keep;
  };
}

/** Every rule of `ruleSet` matching `event`, in load order, appended to `out`. */
export function matchRules(ruleSet: RuleSet, event: CoalEvent, out: RuleMatch[]): void {
  const rules = candidates(ruleSet, event);
  if (rules.length === 0) return;
  const cache = new Map<string, string[]>();
  for (const rule of rules)
    if (rule.matches(event, cache)) out.push({ id: rule.id, level: rule.level, title: rule.title, rule });
}

/**
 * Signals of the matching rules that raise one; `onMatch` (when given) receives every match of the
 * event, signal or not, for context.
 */
export function ruleSignals(
  ruleSet: RuleSet,
  event: CoalEvent,
  out: Signal[],
  onMatch?: (event: CoalEvent, matches: RuleMatch[]) => void,
): void {
  const matches: RuleMatch[] = [];
  matchRules(ruleSet, event, matches);
  if (matches.length === 0) return;
  if (onMatch) onMatch(event, matches);
  for (const { rule } of matches) {
    if (!rule.signal) continue;
    out.push(
      signalFor(event, {
        kind: rule.signal.kind,
        class: rule.signal.class,
        strength: rule.signal.strength,
        by: `rule:${rule.id}`,
        explanation: rule.explain(event),
      }),
    );
  }
}
