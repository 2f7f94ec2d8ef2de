/**
 * The coverage report's shape: per host and analytic, which evidence classes the telemetry gives and
 * the named gaps; per cluster/namespace the same for AN0745 (containers), and per provider/account/
 * region for AN0744 (cloud). Computed by run/coverage.ts, printed by the CLI, drawn in the HTML report.
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
  | 'cloud-audit'
  /** GPU utilisation samples: listed for a host only when it has them (most hosts have no GPU to watch). */
  | 'gpu';

/** The classes every host lists, present or not (`gpu` is listed only when seen). */
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
  gpu: 'GPU utilisation',
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

export interface AnalyticCoverage<R extends string = Requirement> {
  analytic: string;
  title: string;
  status: 'covered' | 'partial';
  requires: R[];
  missing: R[];
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

/** What AN0745's legs read, judged per cluster/namespace (a container's host rows say nothing of it). */
export type ContainerEvidenceClass = 'authorization' | 'resource' | 'tool';

export const CONTAINER_CLASSES: readonly ContainerEvidenceClass[] = ['authorization', 'resource', 'tool'];

export const CONTAINER_CLASS_LABEL: Record<ContainerEvidenceClass, string> = {
  authorization: 'authorization',
  resource: 'container CPU',
  tool: 'in-container processes',
};

export interface ContainerClassCoverage {
  class: ContainerEvidenceClass;
  /** `partial`: some of it (container CPU without any limit known). */
  status: 'present' | 'partial' | 'absent';
  /** What gave it: `audit log`, `containers: policy (coalmine.yaml:40)`, `cpu`, `limits`, `process`, `network`. */
  sources: string[];
  /** How many of the namespace's workloads showed it (the policy counts for all). */
  workloads: number;
  /** What backs it or what is missing, for a reader. */
  detail?: string;
}

export interface NamespaceCoverage {
  cluster: string;
  namespace: string;
  runtime: 'kubernetes' | 'docker' | 'mixed';
  /** Workloads the engine tracked there, and the first names of them (sorted). */
  workloads: number;
  workloadNames: string[];
  /** Container telemetry seen there (`audit`, `inventory`, `runtime`, `process`, `cpu`, `limits`, `network`), sorted. */
  telemetry: string[];
  classes: ContainerClassCoverage[];
  /** AN0745 for this cluster/namespace: the gaps are named as its findings name them. */
  analytic: AnalyticCoverage<ContainerEvidenceClass>;
}

/** What AN0744's legs read, judged per provider/account/region. */
export type CloudEvidenceClass = 'authorization' | 'reach' | 'resource';

export const CLOUD_CLASSES: readonly CloudEvidenceClass[] = ['authorization', 'reach', 'resource'];

export const CLOUD_CLASS_LABEL: Record<CloudEvidenceClass, string> = {
  authorization: 'authorization',
  reach: 'flows, DNS or detector',
  resource: 'instance CPU',
};

export interface CloudClassCoverage {
  class: CloudEvidenceClass;
  status: 'present' | 'absent';
  /** What gave it: `audit`, `cloud: policy (coalmine.yaml:60)`, `network`, `dns`, `detector`, `cpu`. */
  sources: string[];
  /** What backs it or what is missing, for a reader. */
  detail: string;
}

export interface CloudRegionCoverage {
  provider: string;
  /** Absent when the telemetry named no account (project, subscription) or region. */
  account?: string;
  region?: string;
  /** Cloud telemetry seen there (`audit`, `cpu`, `detector`, `dns`, `network`), sorted. */
  telemetry: string[];
  classes: CloudClassCoverage[];
  /** AN0744 for this account/region: the gaps are named as its findings name them. */
  analytic: AnalyticCoverage<CloudEvidenceClass>;
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
  /**
   * True when at least one host, cluster/namespace or cloud account/region was seen and every analytic
   * that applies to a seen host (AN0745 to every cluster/namespace, AN0744 to every account/region)
   * is fully covered.
   */
  covered: boolean;
  gapCount: number;
  hosts: HostCoverage[];
  /** AN0745 per cluster/namespace seen in container telemetry (empty when none was read). */
  namespaces: NamespaceCoverage[];
  /** AN0744 per provider/account/region seen in cloud telemetry (empty when none was read). */
  cloudRegions: CloudRegionCoverage[];
  input: CoverageInput;
}

/**
 * EDR exports whose process events carry no CPU of a running process, by the name a CPU gap says: the
 * analyst learns that the EDR will not fill the gap and another source must (typeperf, a metrics CSV).
 */
export const EXPORTS_WITHOUT_CPU: Readonly<Record<string, string>> = {
  defender: 'Defender for Endpoint',
  'crowdstrike-fdr': 'CrowdStrike Falcon Data Replicator',
  sentinelone: 'SentinelOne',
  'elastic-endpoint': 'Elastic Defend',
  'carbon-black': 'Carbon Black',
};

/** `; Defender for Endpoint exports carry no CPU` when such exports gave a host's processes, else ''. */
export function exportsWithoutCpuNote(processFormats: Iterable<string> | undefined): string {
  const names: string[] = [];
  for (const f of processFormats ?? [])
    if (Object.hasOwn(EXPORTS_WITHOUT_CPU, f) && !names.includes(EXPORTS_WITHOUT_CPU[f]))
      names.push(EXPORTS_WITHOUT_CPU[f]);
  return names.length === 0 ? '' : `; ${names.sort().join(' and ')} exports carry no CPU`;
}
