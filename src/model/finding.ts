/** The finding: what an analytic concluded, with its evidence, gaps and suppression, ready for triage. */
import type { EntityKey } from './entity.js';
import type { IntelProvenance, SignalClass, SignalKind, Strength } from './signal.js';

export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';

export const SEVERITY_RANK: Record<Severity, number> = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };

export interface Evidence {
  kind: SignalKind;
  class: SignalClass;
  strength: Strength;
  time: string;
  /** `file:line` or `file#record`. */
  source: string;
  explanation: string;
  by: string;
  entity: EntityKey;
  /** The intel list the evidence rests on, with its source and version. */
  intel?: IntelProvenance;
}

export interface Suppression {
  list: string;
  match: string;
  owner: string;
  reason: string;
  expires: string;
}

export interface Finding {
  id: string;
  analytic: string;
  title: string;
  attack: string[];
  severity: Severity;
  /** 0..1, from evidence strength and coverage; lowered by every named gap. */
  confidence: number;
  entity: EntityKey;
  related: EntityKey[];
  host: string;
  first_seen: string;
  last_seen: string;
  /** Which correlation legs held, e.g. ["resource","process","network"]. */
  legs: string[];
  summary: string;
  evidence: Evidence[];
  gaps: string[];
  suppressed_by: Suppression | null;
  /** Facts the triage step and sinks need: executable, pid, user, command line, destinations, persistence lines. */
  facts: Record<string, string | number | string[]>;
}
