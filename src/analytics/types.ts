/**
 * The analytic contract: a pure function from one closed correlation unit (its evidence, member
 * processes and the host's telemetry coverage) to at most one finding draft. No I/O, no clock.
 */
import type { ClusterView, LaunchView, WorkloadView } from '../engine/index.js';
import type { Finding } from '../model/finding.js';
import type { Thresholds } from '../model/policy.js';
import type { Signal } from '../model/signal.js';

export type { ClusterView, LaunchView, WorkloadView } from '../engine/index.js';

/** What an analytic decides; `toFinding` adds the id, host, times and cites the evidence. */
export type FindingDraft = Omit<
  Finding,
  'id' | 'host' | 'first_seen' | 'last_seen' | 'detected_at' | 'evidence' | 'suppressed_by'
> & {
  evidence: Signal[];
  /**
   * The latest activity of the unit, when it is later than its cited evidence: a repeat of evidence
   * already cited (the miner reconnecting to its pool a day later) is kept once, at its first time.
   */
  lastActivityTs?: number;
  /** Cited evidence seen more than once: how often, and when last (ClusterView.repeats). */
  repeats?: ClusterView['repeats'];
  /** When the evidence first made a finding (analytics/index.ts `detectedTs`), for `detected_at`. */
  detectedTs?: number;
};

export interface Analytic {
  id: string;
  title: string;
  /** Host platforms it applies to (`*`: all); `undefined` platform (unknown) is matched by analytics listing 'unknown'. */
  platforms: string[];
  /** Runs only when no other analytic found anything in the same cluster (informational context, not a second report). */
  onlyWhenNoOther?: boolean;
  evaluate(view: ClusterView, thresholds: Thresholds): FindingDraft | undefined;
}

/** An analytic over one workload's closed unit (AN0745): its evidence, in-container processes and facts. */
export interface WorkloadAnalytic {
  id: string;
  title: string;
  evaluate(view: WorkloadView, thresholds: Thresholds): FindingDraft | undefined;
}

/** An analytic over one cloud launch's closed unit (AN0744): its instances, origin and evidence. */
export interface LaunchAnalytic {
  id: string;
  title: string;
  evaluate(view: LaunchView, thresholds: Thresholds): FindingDraft | undefined;
}
