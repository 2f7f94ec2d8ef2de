/** The run summary printed on stderr: what was read, what was wrong with it, what was found. */

import { type Finding, runCompute, type Severity } from '../model/finding.js';
import { formatRef, type Issue } from '../model/issue.js';
import { clip, inert } from '../util/hostile.js';
import { round2 } from '../util/number.js';

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
  /** CPU samples that came after a newer one of their process or host: in no sustained-CPU run or cost (engine/resource.ts). */
  lateSamples: number;
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
  /** GPU-hours of GPU-mined sessions measured from Stratum shares, priced by `prices.gpu_hour`. */
  gpuHours: number;
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
    lateSamples: 0,
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
    gpuHours: 0,
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
  countUnread(summary, issue);
}

/** An input left unread is also named on its own (renderNoInput), whatever the issue list holds. */
export function countUnread(summary: RunSummary, issue: Issue): void {
  if (!issue.unread) return;
  summary.unread++;
  if (summary.unreadInputs.length < MAX_LISTED_ISSUES) summary.unreadInputs.push(issue);
}

/** An issue with its place in the input, as IssueList orders it (plain data: it crosses threads). */
export interface PlacedIssue {
  issue: Issue;
  /** The file's place among the run's inputs; -1 for a path that never became an input. */
  file: number;
  /** Line or record number; 0 for the whole file. */
  at: number;
  /** Which thread raised it, then in what order: ties between issues of one line keep the order raised. */
  part: number;
  seq: number;
}

/** What an IssueList hands to another thread: its counts and the issues it still lists. */
export interface IssueListData {
  byCode: Record<string, number>;
  listed: PlacedIssue[];
}

/** Held before a compaction sorts and trims to the listed ones: bounds memory on a run of bad input. */
const MAX_HELD_ISSUES = 2000;

/**
 * Issues of a run's input in input order (the file's place among the inputs, then its line or record),
 * counted by code, the first MAX_LISTED_ISSUES kept in full. The order does not depend on when each was
 * raised, so a run split across threads (which read lines in a different interleaving, and each reads
 * only its own hosts' lines) lists exactly what one thread lists (run/merge.ts).
 */
export class IssueList {
  private readonly byCode: Record<string, number> = {};
  private held: PlacedIssue[] = [];
  private files = new Map<string, number>();
  private seq = 0;

  constructor(private readonly part = 0) {}

  /** The run's inputs, in order: until they are known, issues (of paths that did not expand) rank first. */
  setFiles(names: readonly string[]): void {
    this.files = new Map(names.map((n, i) => [n, i]));
  }

  add(issue: Issue): void {
    this.byCode[issue.code] = (this.byCode[issue.code] ?? 0) + 1;
    this.held.push({
      issue,
      file: this.files.get(issue.file) ?? -1,
      at: issue.line ?? placeOfRecord(issue.record),
      part: this.part,
      seq: this.seq++,
    });
    if (this.held.length > MAX_HELD_ISSUES) this.held = sortPlaced(this.held).slice(0, MAX_LISTED_ISSUES);
  }

  /** Another list's issues (another thread's part of the same input) as if they had been added here. */
  absorb(data: IssueListData): void {
    for (const [code, n] of Object.entries(data.byCode)) this.byCode[code] = (this.byCode[code] ?? 0) + n;
    this.held = sortPlaced([...this.held, ...data.listed]).slice(0, MAX_LISTED_ISSUES);
  }

  data(): IssueListData {
    return { byCode: { ...this.byCode }, listed: sortPlaced(this.held).slice(0, MAX_LISTED_ISSUES) };
  }

  /** Into the summary, after what it already lists: counted by code, listed in input order while room is left. */
  flushInto(summary: RunSummary): void {
    for (const [code, n] of Object.entries(this.byCode))
      summary.issuesByCode[code] = (summary.issuesByCode[code] ?? 0) + n;
    for (const p of sortPlaced(this.held)) {
      if (summary.issues.length >= MAX_LISTED_ISSUES) break;
      summary.issues.push(p.issue);
    }
  }
}

/** A record id (an EVTX record number) as a place in its file; one that is no number ranks with the file's own. */
function placeOfRecord(record: string | undefined): number {
  const n = record === undefined ? 0 : Number(record);
  return Number.isFinite(n) ? n : 0;
}

function sortPlaced(list: PlacedIssue[]): PlacedIssue[] {
  return list.sort((a, b) => a.file - b.file || a.at - b.at || a.part - b.part || a.seq - b.seq);
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
        summary.instanceHours = round2(summary.instanceHours + cost.instance_hours);
      else {
        summary.coreHours = round2(summary.coreHours + cost.core_hours);
        if (cost.gpu_hours) summary.gpuHours = round2(summary.gpuHours + cost.gpu_hours);
      }
      summary.cost = round2(summary.cost + cost.amount);
      summary.currency = cost.currency;
    }
  }
}

/**
 * Issue codes that are notes on the run, not bad input: a path given twice (or inside a directory also
 * given) is read once, and said so on its own line.
 */
const NOTE_CODES: ReadonlySet<string> = new Set(['INPUT_GIVEN_TWICE']);

/** Bad input by issue code, as the run counted it. */
function badInputByCode(s: RunSummary): Record<string, number> {
  // the engine lists only the first late events and samples (per thread): the counts are the run's totals
  const codes = { ...s.issuesByCode };
  for (const code of NOTE_CODES) delete codes[code];
  if (codes.ENGINE_LATE_EVENT !== undefined) codes.ENGINE_LATE_EVENT = Math.max(codes.ENGINE_LATE_EVENT, s.lateEvents);
  if (codes.ENGINE_LATE_SAMPLE !== undefined)
    codes.ENGINE_LATE_SAMPLE = Math.max(codes.ENGINE_LATE_SAMPLE, s.lateSamples);
  return codes;
}

/** How many bad input records and unread inputs the run reported (the summary's `bad input:` count). */
export function badInputTotal(s: RunSummary): number {
  return Object.values(badInputByCode(s)).reduce((a, b) => a + b, 0);
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
  const listed = (i: Issue) => `  ${inert(clip(formatRef(i), 200))}: ${i.code}: ${inert(clip(i.reason, 300))}`;
  const twice = s.issuesByCode.INPUT_GIVEN_TWICE ?? 0;
  if (twice > 0) {
    const named = s.issues.filter((i) => NOTE_CODES.has(i.code));
    lines.push(`read once: ${twice} input path${twice === 1 ? '' : 's'} given again or inside another given`);
    for (const i of named) lines.push(listed(i));
    if (twice > named.length) lines.push(`  … ${twice - named.length} more (counted above)`);
  }
  const codes = badInputByCode(s);
  const issueTotal = Object.values(codes).reduce((a, b) => a + b, 0);
  if (issueTotal > 0) {
    const bad = s.issues.filter((i) => !NOTE_CODES.has(i.code));
    lines.push(`bad input: ${issueTotal} (${byCount(codes)})`);
    for (const i of bad) lines.push(listed(i));
    if (issueTotal > bad.length) lines.push(`  … ${issueTotal - bad.length} more (counted above)`);
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
  if (s.lateSamples > 0)
    lines.push(
      `CPU/GPU samples too late to count for a sustained run or its cost (older than one already counted for their process, host, container or instance): ${s.lateSamples}`,
    );
  const order: Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];
  const found = order.filter((k) => s.findingsBySeverity[k]).map((k) => `${k} ${s.findingsBySeverity[k]}`);
  lines.push(
    `findings: ${found.length ? found.join(', ') : 'none'}${s.suppressed ? `; suppressed ${s.suppressed}` : ''}${s.escalated ? `; Tier 2: ${s.escalated}` : ''}`,
  );
  const compute = runCompute(s, String);
  if (compute)
    lines.push(`hijacked compute: ${compute.quantity} ≈ ${s.cost.toFixed(2)} ${s.currency} at ${compute.pricedBy}`);
  return `${lines.join('\n')}\n`;
}
