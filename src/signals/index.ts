/**
 * The classifiers, one line each, and the one function the engine calls per event: every code
 * classifier, then every Sigma rule whose logsource fits the event.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import type { Intel } from './intel.js';
import { kill } from './kill.js';
import { namedDestination } from './named-destination.js';
import { network } from './network.js';
import { persistence } from './persistence.js';
import { processClassifier } from './process.js';
import { ruleSignals } from './rules.js';
import type { RuleSet } from './sigma/index.js';
import type { Classifier, ClassifyContext } from './types.js';

export const classifiers: Classifier[] = [processClassifier, network, namedDestination, persistence, kill];

export function createClassifier(intel: Intel, rules: RuleSet): (event: CoalEvent, out: Signal[]) => void {
  const context: ClassifyContext = { intel };
  return (event, out) => {
    for (const c of classifiers) c.classify(event, context, out);
    ruleSignals(rules, event, out);
  };
}
