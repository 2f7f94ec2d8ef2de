/**
 * The analytic contract: a pure function from one closed correlation unit (its evidence, member
 * processes and the host's telemetry coverage) to at most one finding draft. No I/O, no clock.
 */
import type { ClusterView } from '../engine/index.js';
import type { EntityKey } from '../model/entity.js';
import type { Severity } from '../model/finding.js';
import type { Thresholds } from '../model/policy.js';
import type { Signal } from '../model/signal.js';

export type { ClusterView } from '../engine/index.js';

export interface FindingDraft {
  analytic: string;
  title: string;
  attack: string[];
  severity: Severity;
  confidence: number;
  entity: EntityKey;
  related: EntityKey[];
  legs: string[];
  summary: string;
  evidence: Signal[];
  gaps: string[];
  facts: Record<string, string | number | string[]>;
}

export interface Analytic {
  id: string;
  title: string;
  /** Host platforms it applies to; `undefined` platform (unknown) is matched by analytics listing 'unknown'. */
  platforms: string[];
  evaluate(view: ClusterView, thresholds: Thresholds): FindingDraft | undefined;
}
