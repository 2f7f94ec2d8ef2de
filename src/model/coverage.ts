/**
 * The coverage report's shape: per host and analytic, which evidence classes the telemetry gives and
 * the named gaps. Computed by run/coverage.ts, printed by the CLI, drawn in the HTML report.
 */
import type { Issue } from './issue.js';

/** What telemetry can show, as the coverage report names it. */
export type EvidenceClass =
  | 'host-cpu'
  | 'process-cpu'
  | 'process'
  | 'command-line'
  | 'network'
  | 'dns'
  | 'persistence'
  | 'authorization'
  | 'cloud-audit';

export const EVIDENCE_CLASSES: readonly EvidenceClass[] = [
  'host-cpu',
  'process-cpu',
  'process',
  'command-line',
  'network',
  'dns',
  'persistence',
  'authorization',
  'cloud-audit',
];

export const CLASS_LABEL: Record<EvidenceClass, string> = {
  'host-cpu': 'host CPU',
  'process-cpu': 'per-process CPU',
  process: 'process execution',
  'command-line': 'command line',
  network: 'network (connections)',
  dns: 'DNS',
  persistence: 'persistence',
  authorization: 'authorization inventory',
  'cloud-audit': 'cloud audit',
};

/** What an analytic needs; `cpu` is host or per-process CPU. */
export type Requirement =
  | 'cpu'
  | 'process-cpu'
  | 'process'
  | 'command-line'
  | 'network'
  | 'persistence'
  | 'authorization';

export const REQUIREMENT_LABEL: Record<Requirement, string> = {
  cpu: 'CPU',
  'process-cpu': 'per-process CPU',
  process: 'process execution',
  'command-line': 'command line',
  network: 'network',
  persistence: 'persistence',
  authorization: 'authorization inventory',
};

export interface ClassCoverage {
  class: EvidenceClass;
  /** `not-applicable`: coalmine has no source for it yet (cloud audit). */
  status: 'present' | 'absent' | 'not-applicable';
  events: number;
  /** Source formats that gave it (`evtx-xml`, `auditd`), sorted. */
  formats: string[];
  /** Event time of the first and last event of the class (ISO 8601), when present. */
  first?: string;
  last?: string;
  spanMs?: number;
  /** What backs it or what is wrong with it, for a reader. */
  detail?: string;
}

export interface AnalyticCoverage {
  analytic: string;
  title: string;
  status: 'covered' | 'partial';
  requires: Requirement[];
  missing: Requirement[];
  /** One per missing requirement, naming what the data shows and the fix. */
  gaps: string[];
  /** Advice that is not a gap (the requirement holds, but could be better). */
  notes: string[];
}

export interface HostCoverage {
  host: string;
  /** From the events (host.os.platform); `unknown` is judged as the detector does (AN0742). */
  platform: string;
  classes: ClassCoverage[];
  analytics: AnalyticCoverage[];
  notes: string[];
}

export interface CoverageInput {
  files: number;
  filesByFormat: Record<string, number>;
  events: number;
  stateEvents: number;
  /** Input problems by code (see the run summary); the first few in `issueList`. */
  issuesByCode: Record<string, number>;
  issueList: Issue[];
  /** Hosts dropped from memory (host cap) whose coverage is not in this report. */
  hostsEvicted: number;
}

export interface CoverageReport {
  /** True when at least one host was seen and every analytic that applies to a seen host is fully covered. */
  covered: boolean;
  gapCount: number;
  hosts: HostCoverage[];
  input: CoverageInput;
}
