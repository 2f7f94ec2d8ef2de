/**
 * The executive summary a security lead reads (`coalmine report`): how many incidents, how bad, where,
 * what the hijacked compute cost, how long the activity ran before it would have alerted (time to
 * detect), and whether the telemetry could see it at all. Derived only from a run's findings, cases,
 * totals and coverage; no I/O. Every list is bounded: a hostile input naming a million hosts gives a
 * summary of the same size.
 */
import {
  CLOUD_CLASS_LABEL,
  CONTAINER_CLASS_LABEL,
  type CoverageReport,
  REQUIREMENT_LABEL,
  type Requirement,
} from '../model/coverage.js';
import type { ExecutiveSummary, IncidentLine } from '../model/executive.js';
import {
  type Case,
  type Finding,
  type RunCompute,
  SEVERITY_RANK,
  type Severity,
  timeToDetectMs,
} from '../model/finding.js';

/** Incidents listed by name; the rest are counted. */
const TOP_INCIDENTS = 5;
/** Telemetry gaps listed; the rest are counted. */
const TOP_GAPS = 5;
/** Host names kept per incident. */
const HOSTS_PER_INCIDENT = 5;

/** The run totals the summary reads (run/summary.ts RunSummary has them all). */
export interface RunTotals extends RunCompute {
  files: number;
  events: number;
  /** Bad input records and unread inputs, each named in the run's issues. */
  badInput: number;
  suppressed: number;
  cost: number;
  currency: string;
}

/** The middle value (the mean of the two middle ones, rounded, for an even count); undefined for none. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** Earliest first alert among a case's findings, as ms after the case's first evidence. */
function caseTimeToDetect(c: Case, byId: ReadonlyMap<string, Finding>): number | undefined {
  let detected = Number.POSITIVE_INFINITY;
  for (const id of c.findings) {
    const f = byId.get(id);
    if (!f?.detected_at) continue;
    const t = Date.parse(f.detected_at);
    if (Number.isFinite(t) && t < detected) detected = t;
  }
  const first = Date.parse(c.first_seen);
  if (!Number.isFinite(detected) || !Number.isFinite(first)) {
    // one finding's own measure, when the case's times do not parse
    const only = c.findings.length === 1 ? byId.get(c.findings[0]) : undefined;
    return only ? timeToDetectMs(only) : undefined;
  }
  return Math.max(0, detected - first);
}

function spanMs(first: string, last: string): number {
  const ms = Date.parse(last) - Date.parse(first);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** What telemetry most scopes lack, by the requirement or class each analytic's coverage names. */
function readinessOf(coverage: CoverageReport): ExecutiveSummary['readiness'] {
  const lacking = new Map<string, number>();
  const add = (label: string) => lacking.set(label, (lacking.get(label) ?? 0) + 1);
  let scopes = 0;
  let partial = 0;
  for (const h of coverage.hosts) {
    scopes++;
    const missing = new Set<Requirement>();
    for (const a of h.analytics) for (const r of a.missing) missing.add(r);
    if (h.analytics.some((a) => a.status === 'partial')) partial++;
    for (const r of missing) add(REQUIREMENT_LABEL[r] ?? r);
  }
  for (const n of coverage.namespaces) {
    scopes++;
    if (n.analytic.status === 'partial') partial++;
    for (const r of n.analytic.missing) add(`${CONTAINER_CLASS_LABEL[r] ?? r} (containers)`);
  }
  for (const r of coverage.cloudRegions) {
    scopes++;
    if (r.analytic.status === 'partial') partial++;
    for (const m of r.analytic.missing) add(`${CLOUD_CLASS_LABEL[m] ?? m} (cloud)`);
  }
  // telemetry first: an authorization gap is a policy to write (coalmine.yaml's inventory, containers:,
  // cloud:), and without a policy every scope has it, which would bury the logs that are missing
  const policyGap = (label: string) => (label.startsWith('authorization') ? 1 : 0);
  const ranked = [...lacking].sort(
    (a, b) => policyGap(a[0]) - policyGap(b[0]) || b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
  );
  return {
    covered: coverage.covered,
    scopes,
    partial,
    gaps: ranked.slice(0, TOP_GAPS).map(([telemetry, n]) => ({ telemetry, scopes: n })),
    more_gaps: Math.max(0, ranked.length - TOP_GAPS),
  };
}

/** The data's own time span: the earliest and latest event of any class on any host. */
function inputSpan(coverage: CoverageReport): { first?: string; last?: string } {
  let first: string | undefined;
  let last: string | undefined;
  for (const h of coverage.hosts)
    for (const c of h.classes) {
      if (c.first && (!first || c.first < first)) first = c.first;
      if (c.last && (!last || c.last > last)) last = c.last;
    }
  return { ...(first ? { first } : {}), ...(last ? { last } : {}) };
}

export function executiveSummary(
  findings: readonly Finding[],
  cases: readonly Case[],
  totals: RunTotals,
  coverage: CoverageReport,
): ExecutiveSummary {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const open = cases.filter((c) => c.findings.some((id) => !byId.get(id)?.suppressed_by));
  const bySeverity: Partial<Record<Severity, number>> = {};
  for (const c of open) bySeverity[c.severity] = (bySeverity[c.severity] ?? 0) + 1;
  const byAnalytic: Record<string, number> = {};
  const hosts = new Set<string>();
  let workloads = 0;
  let launches = 0;
  for (const f of findings) {
    if (f.suppressed_by) continue;
    byAnalytic[f.analytic] = (byAnalytic[f.analytic] ?? 0) + 1;
    if (f.entity.startsWith('workload:')) workloads++;
    else if (f.entity.startsWith('instance:')) launches++;
    else hosts.add(f.host);
  }
  const ranked = [...open].sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      (b.tier === 'Tier 2' ? 1 : 0) - (a.tier === 'Tier 2' ? 1 : 0) ||
      (b.cost ?? 0) - (a.cost ?? 0) ||
      (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0) ||
      (a.id < b.id ? -1 : 1),
  );
  const detectTimes: number[] = [];
  const lines: IncidentLine[] = [];
  for (const c of ranked) {
    const ttd = caseTimeToDetect(c, byId);
    if (ttd !== undefined) detectTimes.push(ttd);
    if (lines.length >= TOP_INCIDENTS) continue;
    lines.push({
      case: c.id,
      title: c.title,
      severity: c.severity,
      tier: c.tier,
      hosts: c.hosts.slice(0, HOSTS_PER_INCIDENT),
      more_hosts: Math.max(0, c.hosts.length - HOSTS_PER_INCIDENT),
      first_seen: c.first_seen,
      ...(ttd !== undefined ? { time_to_detect_ms: ttd } : {}),
      active_ms: spanMs(c.first_seen, c.last_seen),
      cost: c.cost,
      currency: c.currency,
    });
  }
  const longest = detectTimes.length ? Math.max(...detectTimes) : undefined;
  const med = median(detectTimes);
  return {
    input: { files: totals.files, events: totals.events, bad_input: totals.badInput, ...inputSpan(coverage) },
    incidents: {
      total: open.length,
      by_severity: bySeverity,
      tier2: open.filter((c) => c.tier === 'Tier 2').length,
      findings_by_analytic: byAnalytic,
      suppressed_findings: totals.suppressed,
    },
    affected: { hosts: hosts.size, workloads, cloud_launches: launches },
    compute: {
      core_hours: totals.coreHours ?? 0,
      gpu_hours: totals.gpuHours ?? 0,
      instance_hours: totals.instanceHours ?? 0,
      cost: totals.cost,
      currency: totals.currency,
    },
    time_to_detect: {
      incidents: detectTimes.length,
      ...(med !== undefined ? { median_ms: med } : {}),
      ...(longest !== undefined ? { longest_ms: longest } : {}),
    },
    top: lines,
    readiness: readinessOf(coverage),
  };
}
