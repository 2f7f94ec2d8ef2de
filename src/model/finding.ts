/** The finding: what an analytic concluded, with its evidence, gaps and suppression, ready for triage. */
import type { EntityKey } from './entity.js';
import type { ShareSessionFacts } from './shares.js';
import type { IntelProvenance, PersistenceDetail, SignalClass, SignalKind, Strength } from './signal.js';

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
  persistence?: PersistenceDetail;
  /** The same evidence seen again (cited once, at its first record): how many times in all, and the last time. */
  repeated?: { count: number; last: string };
}

/** `seen 3 times, last 2025-03-15 02:10:10`: how a repeated piece of evidence is worded by every sink. */
export function repeatedNote(e: Evidence): string | undefined {
  const r = e.repeated;
  return r ? `seen ${r.count} times, last ${r.last.slice(0, 19).replace('T', ' ')}` : undefined;
}

/** A process the finding involves, as the containment plan needs it. */
export interface ProcessFacts {
  entity: EntityKey;
  pid?: number;
  executable?: string;
  name?: string;
  user?: string;
  command_line?: string;
  parent?: EntityKey;
}

/** CPU the finding's processes (or host) consumed, and its timeline for the report. */
export interface Usage {
  core_hours: number;
  /** GPU-hours measured from GPU utilisation samples while above the bar, when any were. */
  gpu_hours?: number;
  /** How it was counted: "per-process CPU of 2 processes", "host CPU above 85% × 4 cores". */
  basis: string;
  /** Points are [ISO time, CPU in percent of one core] (host series: percent of the host). */
  series: Array<{ entity: EntityKey; label: string; points: Array<[string, number]> }>;
}

export type EscalationTier = 'Tier 2' | 'L1';

export interface Question {
  id: 'legitimate-process' | 'destination-reputation' | 'recent-changes' | 'vulnerable-exposure';
  question: string;
  status: 'answered' | 'needs-analyst';
  answer: string;
  /** Evidence sources (`file:line`) the answer rests on. */
  evidence: string[];
}

export interface PlanStep {
  phase: 'isolate' | 'remove' | 'preserve' | 'patch' | 'watch';
  action: string;
  /** Concrete commands for this entity. Printed for the analyst, never executed by coalmine. */
  commands: string[];
}

/**
 * What hijacked compute cost: CPU core-hours × a core-hour price (processes, hosts, containers), plus
 * GPU-hours × a GPU-hour price for shares of a GPU-mined algorithm (then the GPU fields are set;
 * `core_hours` counts CPU cores only), or for cloud launches (AN0744) whole instance-hours × the
 * on-demand price of their type in their region (then `core_hours` and `price_per_core_hour` are 0 and
 * the instance fields are set).
 */
export interface Cost {
  core_hours: number;
  price_per_core_hour: number;
  /** GPU-equivalents × hours of the GPU-mined sessions measured from Stratum shares. */
  gpu_hours?: number;
  price_per_gpu_hour?: number;
  instance_hours?: number;
  instance_type?: string;
  price_per_instance_hour?: number;
  currency: string;
  amount: number;
  basis: string;
}

/** One kind of compute a cost counted: how much, in what, at what price each. */
export interface CostTerm {
  quantity: number;
  unit: 'core-hours' | 'GPU-hours' | 'instance-hours';
  price: number;
}

/**
 * What a cost multiplied, as sinks print it: instance-hours, or core-hours (left out when a cost is all
 * GPU-hours) and GPU-hours. Numbers are the fields' as they are; a sink checks them.
 */
export function costTerms(c: Cost): CostTerm[] {
  if (c.instance_hours !== undefined)
    return [{ quantity: c.instance_hours, unit: 'instance-hours', price: c.price_per_instance_hour ?? 0 }];
  const core: CostTerm = { quantity: c.core_hours, unit: 'core-hours', price: c.price_per_core_hour };
  if (c.gpu_hours === undefined) return [core];
  const gpu: CostTerm = { quantity: c.gpu_hours, unit: 'GPU-hours', price: c.price_per_gpu_hour ?? 0 };
  return c.core_hours > 0 ? [core, gpu] : [gpu];
}

/** What a cost counted: `12.5 core-hours`, `1.3 GPU-hours`, `2 core-hours + 1.3 GPU-hours` or `64 instance-hours`. */
export function costQuantity(c: Cost): string {
  return costTerms(c)
    .map((t) => `${t.quantity} ${t.unit}`)
    .join(' + ');
}

/** A run's totals of hijacked compute, as the run summary keeps them (a report's may lack some). */
export interface RunCompute {
  coreHours?: number;
  gpuHours?: number;
  instanceHours?: number;
}

/**
 * A run's hijacked compute as every summary prints it (terminal, HTML): each non-zero total with its
 * unit, `+`-joined, numbers as `format` writes them, and what priced it; undefined when there is none.
 */
export function runCompute(
  run: RunCompute,
  format: (n: number) => string,
): { quantity: string; pricedBy: string } | undefined {
  const parts: string[] = [];
  const { coreHours = 0, gpuHours = 0, instanceHours = 0 } = run;
  if (coreHours > 0) parts.push(`${format(coreHours)} core-hours`);
  if (gpuHours > 0) parts.push(`${format(gpuHours)} GPU-hours`);
  if (instanceHours > 0) parts.push(`${format(instanceHours)} cloud instance-hours`);
  if (parts.length === 0) return undefined;
  return {
    quantity: parts.join(' + '),
    pricedBy: instanceHours > 0 ? "the policy's prices and the cloud price table" : "the policy's prices",
  };
}

/** The SOC playbook applied to one finding (PRODUCT.md §6). */
export interface Triage {
  escalation: { tier: EscalationTier; reasons: string[]; next_steps: string[] };
  questions: Question[];
  containment: { platform: string; steps: PlanStep[] };
  cost: Cost | null;
  /** Why a finding whose kind is priced has no cost (an instance type the price table lacks). */
  cost_note?: string;
  /** A `coalmine.yaml` allowlist entry for the analyst who decides this is legitimate. */
  allowlist_suggestion: string;
}

/**
 * One Sigma rule match as the timeline (`hunt --format sigma-matches`) and a finding's context show it:
 * when, where, which rule, and the event's key facts (each clipped where it is read).
 */
export interface RuleMatchRecord {
  time: string;
  host: string;
  rule_id: string;
  title: string;
  /** The rule's `level` as written (critical, high, medium, low, informational). */
  level: string;
  /** The rule's ATT&CK and CVE tags (`attack.t1003.001`, `cve.2021-44228`), at most a few. */
  tags: string[];
  /** `file:line` or `file#record` of the event that matched. */
  source: string;
  /** The event's key facts: event_id, process, command_line, parent, user, target, destination, … */
  facts: Record<string, string>;
  /** Set when the rule is a Sigma correlation: what it counted. */
  correlation?: string;
  /** true when the rule raises compute-hijacking evidence (then it is evidence, never context). */
  mining: boolean;
}

/** The question a context match helps answer, from the rule's ATT&CK tags. */
export type ContextReason = 'exploitation' | 'credential-access' | 'lateral-movement' | 'defense-evasion';

/**
 * A detection on the finding's host (or its account, its instances' hosts, its nodes) that is not compute
 * hijacking, near the finding in event time: the scope of the compromise. It never raises or grades the finding.
 */
export interface ContextMatch extends RuleMatchRecord {
  /** Where it sits against the evidence: "2 h before the first evidence", "during", "40 min after the last evidence". */
  relative: string;
  reasons: ContextReason[];
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
  /**
   * When its evidence first made it a finding at any severity (event time: when a live sensor would have
   * alerted): the time to detect is this less first_seen. Absent in findings made before it was recorded.
   */
  detected_at?: string;
  /** Which correlation legs held, e.g. ["resource","process","network"]. */
  legs: string[];
  summary: string;
  evidence: Evidence[];
  gaps: string[];
  suppressed_by: Suppression | null;
  /** Facts the triage step and sinks need: executable, pid, user, command line, destinations, persistence lines. */
  facts: Record<string, string | number | string[]>;
  /** Every process of the finding, primary first. */
  processes: ProcessFacts[];
  usage: Usage | null;
  /**
   * Mining sessions whose accepted shares measured the hashing (Stratum read whole from a capture):
   * rate, interval and timeline each; absent when none. Triage prices them when no CPU was sampled.
   */
  shares?: ShareSessionFacts[];
  /**
   * Other Sigma detections on the same host or entity from 24 h before the first evidence to 1 h after the
   * last (the scope of the compromise), in time order; absent when there are none. Never part of the grade.
   */
  context?: ContextMatch[];
  /** Context matches in the window left out of `context` (beyond its cap), when any were. */
  context_omitted?: number;
  /** The playbook's answer, added by the triage step (absent only before it runs). */
  triage?: Triage;
}

/** Findings on the same entity or campaign, handled as one incident. */
export interface Case {
  id: string;
  title: string;
  severity: Severity;
  tier: EscalationTier;
  /** new → triaged → escalated → contained → closed; a run only ever opens cases. */
  status: 'new';
  hosts: string[];
  entities: EntityKey[];
  /** What ties the findings together across hosts: shared destinations, executables, hashes. */
  campaign: { destinations: string[]; executables: string[]; hashes: string[] };
  findings: string[];
  first_seen: string;
  last_seen: string;
  core_hours: number;
  /** GPU-hours of its members' GPU-mined sessions (from Stratum shares), when any was priced. */
  gpu_hours?: number;
  /** Cloud instance-hours of its AN0744 members, when any was priced. */
  instance_hours?: number;
  cost: number | null;
  currency: string | null;
}

/** Time to detect: from the first evidence to the first alert (`detected_at`), when both are known. */
export function timeToDetectMs(f: Pick<Finding, 'first_seen' | 'detected_at'>): number | undefined {
  if (f.detected_at === undefined) return undefined;
  const ms = Date.parse(f.detected_at) - Date.parse(f.first_seen);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
