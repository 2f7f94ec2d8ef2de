/** The run summary printed on stderr: what was read, what was wrong with it, what was found. */
import type { Finding, Severity } from '../model/finding.js';
import { formatRef, type Issue } from '../model/issue.js';
import { clip, inert } from '../util/hostile.js';

export interface RunSummary {
  files: number;
  filesByFormat: Record<string, number>;
  bytes: number;
  events: number;
  stateEvents: number;
  /** Records of types no analytic uses (see SourceBatch.unused). */
  unusedRecords: number;
  lateEvents: number;
  /** Events processed on arrival because they were later than the stream had been so far (engine/reorder.ts). */
  unsortedEvents: number;
  signals: number;
  elapsedMs: number;
  issuesByCode: Record<string, number>;
  /** Inputs left unread (unknown format, unreadable, empty, corrupt gzip…), each also an issue. */
  unread: number;
  /** The first of them in full, to name each one when nothing could be read. */
  unreadInputs: Issue[];
  /** The first issues in full (file:line and reason); the rest are counted in issuesByCode. */
  issues: Issue[];
  findingsBySeverity: Partial<Record<Severity, number>>;
  suppressed: number;
  /** Unsuppressed findings the playbook escalates to Tier 2. */
  escalated: number;
  /** Hijacked compute of the unsuppressed findings, and what it cost at the policy's prices. */
  coreHours: number;
  /** Cloud instance-hours of AN0744 launches, priced by the cloud price table or `prices.instance_hour`. */
  instanceHours: number;
  cost: number;
  currency: string;
  /**
   * Rule-load warnings (errors and unsupported rules are bad input, counted as issues): a rule whose
   * logsource coalmine has no events for (not loaded), a field outside the mapping; by code, the first
   * few in full with file:line.
   */
  ruleWarnings: { loaded: number; count: number; byCode: Record<string, number>; first: Issue[] };
}

export const MAX_LISTED_ISSUES = 50;
/** Rule-load warnings named in full in the summary; `coalmine rules check` lists every one. */
export const MAX_LISTED_RULE_WARNINGS = 5;

export function newSummary(): RunSummary {
  return {
    files: 0,
    filesByFormat: {},
    bytes: 0,
    events: 0,
    stateEvents: 0,
    unusedRecords: 0,
    lateEvents: 0,
    unsortedEvents: 0,
    signals: 0,
    elapsedMs: 0,
    issuesByCode: {},
    unread: 0,
    unreadInputs: [],
    issues: [],
    findingsBySeverity: {},
    suppressed: 0,
    escalated: 0,
    coreHours: 0,
    instanceHours: 0,
    cost: 0,
    currency: '',
    ruleWarnings: { loaded: 0, count: 0, byCode: {}, first: [] },
  };
}

/** A loaded rule set's warnings into the summary (its errors and unsupported rules the caller counts as issues). */
export function countRuleWarnings(
  summary: RunSummary,
  set: { rules: unknown[]; warnings: Array<{ file: string; line?: number; code: string; reason: string }> },
): void {
  const w = summary.ruleWarnings;
  w.loaded += set.rules.length;
  w.count += set.warnings.length;
  for (const { file, line, code, reason } of set.warnings) {
    w.byCode[code] = (w.byCode[code] ?? 0) + 1;
    if (w.first.length < MAX_LISTED_RULE_WARNINGS) w.first.push({ file, line, code, reason, stage: 'loading' });
  }
}

function byCount(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function countIssue(summary: RunSummary, issue: Issue): void {
  summary.issuesByCode[issue.code] = (summary.issuesByCode[issue.code] ?? 0) + 1;
  if (summary.issues.length < MAX_LISTED_ISSUES) summary.issues.push(issue);
  if (issue.unread) {
    summary.unread++;
    if (summary.unreadInputs.length < MAX_LISTED_ISSUES) summary.unreadInputs.push(issue);
  }
}

/** No input could be read: the run has nothing to say, so the CLI exits EXIT.noInput with this on stderr. */
export function noInputRead(s: Pick<RunSummary, 'files'>): boolean {
  return s.files === 0;
}

/** Why nothing was read, naming each unread input, printed even with --no-summary. */
export function renderNoInput(s: Pick<RunSummary, 'unread' | 'unreadInputs'>): string {
  const lines = ['coalmine: no input could be read'];
  for (const i of s.unreadInputs)
    lines.push(`  ${inert(clip(formatRef(i), 200))}: ${i.code}: ${inert(clip(i.reason, 300))}`);
  if (s.unread > s.unreadInputs.length) lines.push(`  … ${s.unread - s.unreadInputs.length} more`);
  if (s.unread === 0) lines.push('  (no files were given or found)');
  lines.push(
    'hint: a file in a format coalmine does not sniff can be forced with --input-format NAME (see coalmine formats)',
  );
  return `${lines.join('\n')}\n`;
}

export function countFindings(summary: RunSummary, findings: Finding[]): void {
  for (const f of findings) {
    if (f.suppressed_by) {
      summary.suppressed++;
      continue;
    }
    summary.findingsBySeverity[f.severity] = (summary.findingsBySeverity[f.severity] ?? 0) + 1;
    if (f.triage?.escalation.tier === 'Tier 2') summary.escalated++;
    const cost = f.triage?.cost;
    if (cost) {
      if (cost.instance_hours !== undefined)
        summary.instanceHours = Math.round((summary.instanceHours + cost.instance_hours) * 100) / 100;
      else summary.coreHours = Math.round((summary.coreHours + cost.core_hours) * 100) / 100;
      summary.cost = Math.round((summary.cost + cost.amount) * 100) / 100;
      summary.currency = cost.currency;
    }
  }
}

export function renderSummary(s: RunSummary): string {
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? Math.round(s.events / secs) : s.events;
  const formats = Object.entries(s.filesByFormat)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `coalmine: ${s.files} files (${formats || 'none'}), ${s.events} events + ${s.stateEvents} state records in ${secs.toFixed(2)}s (${rate} events/s)`,
  ];
  if (s.unread > 0)
    lines.push(`not read: ${s.unread} input${s.unread === 1 ? '' : 's'} (each a bad-input issue with its reason)`);
  if (s.unusedRecords > 0)
    lines.push(
      `skipped: ${s.unusedRecords} record${s.unusedRecords === 1 ? '' : 's'} of event types no analytic uses (not errors)`,
    );
  const issueTotal = Object.values(s.issuesByCode).reduce((a, b) => a + b, 0);
  if (issueTotal > 0) {
    lines.push(`bad input: ${issueTotal} (${byCount(s.issuesByCode)})`);
    for (const i of s.issues)
      lines.push(`  ${inert(clip(formatRef(i), 200))}: ${i.code}: ${inert(clip(i.reason, 300))}`);
    if (issueTotal > s.issues.length) lines.push(`  … ${issueTotal - s.issues.length} more (counted above)`);
  }
  const r = s.ruleWarnings;
  if (r.count > 0) {
    lines.push(`rule warnings: ${r.count} (${byCount(r.byCode)}); ${r.loaded} rules loaded`);
    for (const i of r.first)
      lines.push(`  ${inert(clip(formatRef(i), 200))}: ${i.code}: ${inert(clip(i.reason, 300))}`);
    if (r.count > r.first.length)
      lines.push(`  … ${r.count - r.first.length} more (coalmine rules check PATH lists every one)`);
  }
  if (s.unsortedEvents > 0)
    lines.push(
      `events later than the stream had been so far (processed on arrival, out of order): ${s.unsortedEvents}`,
    );
  if (s.lateEvents > 0) lines.push(`late events (beyond allowed lateness, processed out of order): ${s.lateEvents}`);
  const order: Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];
  const found = order.filter((k) => s.findingsBySeverity[k]).map((k) => `${k} ${s.findingsBySeverity[k]}`);
  lines.push(
    `findings: ${found.length ? found.join(', ') : 'none'}${s.suppressed ? `; suppressed ${s.suppressed}` : ''}${s.escalated ? `; Tier 2: ${s.escalated}` : ''}`,
  );
  const compute = [
    s.coreHours > 0 ? `${s.coreHours} core-hours` : '',
    s.instanceHours > 0 ? `${s.instanceHours} cloud instance-hours` : '',
  ].filter(Boolean);
  if (compute.length > 0)
    lines.push(
      `hijacked compute: ${compute.join(' + ')} ≈ ${s.cost.toFixed(2)} ${s.currency} at the policy's prices${s.instanceHours > 0 ? ' and the cloud price table' : ''}`,
    );
  return `${lines.join('\n')}\n`;
}
