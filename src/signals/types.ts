/**
 * The classifier contract: one event in, zero or more signals out, no memory between events.
 * Stateful evidence (sustained CPU, baselines, hidden CPU) belongs to the engine, not here.
 */
import type { CoalEvent } from '../model/event.js';
import type { HashrateOverride } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import type { Intel } from './intel/types.js';

export interface ClassifyContext {
  intel: Intel;
  /**
   * `hashrates:` in coalmine.yaml: the run's typical rates per algorithm family, so a share's evidence
   * text compares with the figure triage prices it by (absent: the bundled `intel/hashrates.csv`).
   */
  hashrates?: Readonly<Record<string, HashrateOverride>>;
}

export interface Classifier {
  /** Registry key; also the `by` prefix of the signals it makes (`process`, `network`, …). */
  name: string;
  summary: string;
  /**
   * The event actions `classify` reads (it returns at once for any other); absent when it decides by
   * other fields. The dispatch (signals/index.ts) runs a classifier only on those.
   */
  actions?: readonly string[];
  /** Append signals for `event` to `out`. Must not throw on any event. */
  classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void;
}
