/**
 * What the console reads from /api/v1, as the OpenAPI document (src/server/openapi.ts) and the finding
 * model (src/model/finding.ts) say it is. Written out here rather than imported: the console talks to
 * the API only, and the model's modules pull in Node. Every field is data from telemetry: show it as text.
 */
export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];
export const SEVERITY_RANK: Record<Severity, number> = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** new; triaged (L1 checks done); escalated (handed to Tier 2); contained (containment carried out); closed. */
export type CaseState = 'new' | 'triaged' | 'escalated' | 'contained' | 'closed';
export const CASE_STATES: readonly CaseState[] = ['new', 'triaged', 'escalated', 'contained', 'closed'];
export type Resolution = 'true-positive' | 'benign' | 'false-positive';
export const RESOLUTIONS: readonly Resolution[] = ['true-positive', 'benign', 'false-positive'];
/**
 * Where each state may go (the store's rule, `store/cases.ts` NEXT): forward, a state may be skipped;
 * leaving closed is the server's alone (a rise or recurrence reopens it).
 */
export const NEXT_STATES: Record<CaseState, readonly CaseState[]> = {
  new: ['triaged', 'escalated', 'contained', 'closed'],
  triaged: ['escalated', 'contained', 'closed'],
  escalated: ['contained', 'closed'],
  contained: ['closed'],
  closed: [],
};

export type Role = 'viewer' | 'analyst' | 'admin' | 'sensor';

export interface Session {
  name: string;
  role: Role;
  via: 'bearer' | 'session';
  csrf_token: string | null;
  expires_at: number | null;
}

export interface Evidence {
  kind: string;
  class: string;
  strength: string;
  time: string;
  source: string;
  explanation: string;
  by: string;
  entity: string;
  intel?: { set: string; source: string; version: string; url?: string };
  persistence?: { mechanism: string; file: string; entry: string; line?: number; user?: string };
}

export interface ProcessFacts {
  entity: string;
  pid?: number;
  executable?: string;
  name?: string;
  user?: string;
  command_line?: string;
  parent?: string;
}

export interface Question {
  id: string;
  question: string;
  status: 'answered' | 'needs-analyst';
  answer: string;
  evidence: string[];
}

export interface PlanStep {
  phase: string;
  action: string;
  commands: string[];
}

export interface Cost {
  core_hours: number;
  price_per_core_hour: number;
  /** GPU-equivalents × hours of GPU-mined sessions measured from Stratum shares. */
  gpu_hours?: number;
  price_per_gpu_hour?: number;
  instance_hours?: number;
  instance_type?: string;
  price_per_instance_hour?: number;
  currency: string;
  amount: number;
  basis: string;
}

export interface Triage {
  escalation: { tier: string; reasons: string[]; next_steps: string[] };
  questions: Question[];
  containment: { platform: string; steps: PlanStep[] };
  cost: Cost | null;
  cost_note?: string;
  allowlist_suggestion: string;
}

export interface ContextMatch {
  time: string;
  host: string;
  rule_id: string;
  title: string;
  level: string;
  source: string;
  relative: string;
}

export interface Finding {
  id: string;
  analytic: string;
  title: string;
  attack?: string[];
  severity: Severity;
  confidence?: number;
  entity?: string;
  related?: string[];
  host: string;
  first_seen: string;
  last_seen: string;
  legs?: string[];
  summary?: string;
  evidence?: Evidence[];
  gaps?: string[];
  suppressed_by?: { list: string; match: string; owner: string; reason: string; expires: string } | null;
  facts?: Record<string, string | number | string[]>;
  processes?: ProcessFacts[];
  usage?: {
    core_hours: number;
    basis: string;
    series: Array<{ entity: string; label: string; points: Array<[string, number]> }>;
  } | null;
  context?: ContextMatch[];
  triage?: Triage;
}

export interface StoredFinding {
  finding: Finding;
  revision: number;
  received_at: number;
}

export interface FindingDetail extends StoredFinding {
  revisions: StoredFinding[];
}

export interface Page<T> {
  items: T[];
  next?: string;
}

export interface CaseStep {
  id: string;
  label: string;
  done_by: string | null;
  done_at: number | null;
}

export interface CaseNote {
  id: string;
  author: string;
  text: string;
  created_at: number;
}

export interface StoredCase {
  id: string;
  title: string;
  severity: Severity;
  tier: string;
  state: CaseState;
  resolution: Resolution | null;
  assignee: string | null;
  reopened: number;
  version: number;
  created_at: number;
  updated_at: number;
  resolved_at: number | null;
  grouped: { hosts?: string[]; campaign?: { destinations?: string[]; executables?: string[] } };
  findings: string[];
  checklist: CaseStep[];
  notes: CaseNote[];
}

export interface FindingSummary {
  id: string;
  analytic: string;
  severity: Severity;
  host: string;
  title: string;
  last_seen: string;
  revision: number;
}

export interface AuditEntry {
  id: string;
  at: number;
  actor: string;
  subject_type: string;
  subject_id: string;
  action: string;
  detail: Record<string, unknown>;
}

export interface CaseDetail {
  case: StoredCase;
  findings: FindingSummary[];
  audit: AuditEntry[];
  audit_next?: string;
}

export interface AllowlistInput {
  match: { executable?: string; hash?: string; host?: string; user?: string; command?: string };
  analytics?: string[];
  owner: string;
  reason: string;
  expires: string;
}

export interface SensorGap {
  kind: string;
  count: number;
}

/** What a sensor said of itself in its latest heartbeat (PUT /api/v1/sensors/self). */
export interface SensorHeartbeat {
  version: string;
  hostname: string;
  platform: string;
  kernel: string;
  root: boolean;
  interval_s: number;
  gaps: SensorGap[];
  cannot_see: string[];
  received_at: number;
}

export interface Sensor {
  id: string;
  host: string;
  version: string;
  /** Its latest heartbeat's statements when it sent one. */
  cannot_see: string[];
  first_seen: number;
  /** The last contact of any kind. */
  last_seen: number;
  /** Null: it never sent a heartbeat (a shipper that only posts events). */
  heartbeat: SensorHeartbeat | null;
  /** Not heard from for 3 heartbeat intervals. */
  stale: boolean;
}
