/**
 * `hunt` composed: inputs → sniffed sources → (state first, then events merged by time) → engine and
 * analytics → allowlist → ranked findings, with a run summary. No printing here: the CLI renders.
 */
import { compareFindings } from '../analytics/finding.js';
import { createDetector } from '../analytics/index.js';
import type { CoverageReport } from '../model/coverage.js';
import type { Case, Finding } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { createClassifier } from '../signals/index.js';
import { loadIntel } from '../signals/intel/store.js';
import { windowsRecordFilter } from '../signals/rules.js';
import { loadRules } from '../signals/sigma/index.js';
import { Allowlist } from '../triage/allowlist.js';
import { groupCases } from '../triage/cases.js';
import { triageFinding } from '../triage/playbook.js';
import { cloudSeen, containersSeen, coverageInput, coverageReport } from './coverage.js';
import { type FeedOptions, type FeedProgress, feedEngine } from './feed.js';
import { countFindings, countIssue, newSummary, type RunSummary } from './summary.js';

export type HuntProgress = FeedProgress;

export interface HuntOptions extends FeedOptions {
  policy: Policy;
  /** Name of the policy file, for the coverage report's authorization detail. */
  policyFile?: string;
  intelFiles?: string[];
  ruleDirs?: string[];
  /** Clock for the summary's elapsed time; injected so tests can pin it. */
  now?: () => number;
}

export interface HuntResult {
  findings: Finding[];
  /** The findings grouped into incidents. */
  cases: Case[];
  /** What the telemetry could show, per host and analytic: the gaps the report names. */
  coverage: CoverageReport;
  summary: RunSummary;
}

export async function hunt(options: HuntOptions): Promise<HuntResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const summary = newSummary();
  const report = (i: Issue) => countIssue(summary, i);

  const { intel, issues: intelIssues } = await loadIntel(options.intelFiles ?? []);
  intelIssues.forEach(report);
  const rules = await loadRules(options.ruleDirs ?? [], { placeholders: options.policy.sigma?.placeholders });
  // a rule coalmine cannot run as written (a placeholder without values, a correlation over it) is skipped, counted
  for (const e of [...rules.errors, ...rules.unsupported])
    report({ file: e.file, line: e.line, code: e.code, reason: e.reason, stage: 'loading' });
  const classify = createClassifier(intel, rules);

  const findings: Finding[] = [];
  const allowlist = new Allowlist(options.policy.allowlist);
  const engine = createDetector({
    policy: options.policy,
    classify,
    intel,
    onFinding: (f) => {
      const checked = allowlist.apply(f);
      checked.triage = triageFinding(checked, options.policy);
      findings.push(checked);
    },
  });
  await feedEngine(engine, { ...options, keepWindowsRecord: windowsRecordFilter(rules) }, summary);
  findings.sort(compareFindings);
  countFindings(summary, findings);
  const coverage = coverageReport(engine.hostStates(), {
    policy: options.policy,
    policyFile: options.policyFile,
    input: coverageInput(summary, engine),
    containers: containersSeen(engine),
    cloud: cloudSeen(engine),
  });
  summary.elapsedMs = now() - started;
  return { findings, cases: groupCases(findings), coverage, summary };
}
