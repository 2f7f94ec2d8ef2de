/** Matched Sigma rules become signals, one per rule, through the same `signalFor` as every classifier. */
import { fileURLToPath } from 'node:url';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { signalFor } from './make.js';
import type { RuleSet } from './sigma/index.js';

/** The rules `hunt` loads by default: the stable set shipped in the repository. */
export const DEFAULT_RULE_DIRS: string[] = [fileURLToPath(new URL('../../rules/stable', import.meta.url))];

export function ruleSignals(ruleSet: RuleSet, event: CoalEvent, out: Signal[]): void {
  const rules = ruleSet.byAction.get(event.event.action);
  if (!rules) return;
  const cache = new Map<string, string[]>();
  for (const rule of rules) {
    if (!rule.matches(event, cache)) continue;
    out.push(
      signalFor(event, {
        kind: rule.kind,
        class: rule.class,
        strength: rule.strength,
        by: `rule:${rule.id}`,
        explanation: rule.explain(event),
      }),
    );
  }
}
