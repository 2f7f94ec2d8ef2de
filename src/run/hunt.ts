/**
 * `hunt` composed: inputs → sniffed sources → (state first, then events merged by time) → engine and
 * analytics → allowlist → ranked findings, with a run summary. No printing here: the CLI renders.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { attachContext, compareFindings } from '../analytics/finding.js';
import { createDetector } from '../analytics/index.js';
import { ContextStore, ruleMatchRecord } from '../engine/context.js';
import type { Engine } from '../engine/index.js';
import type { CoverageReport } from '../model/coverage.js';
import type { Case, Finding, RuleMatchRecord } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { createClassifier } from '../signals/index.js';
import { loadIntel } from '../signals/intel/store.js';
import { windowsRecordFilter } from '../signals/rules.js';
import { loadRules } from '../signals/sigma/index.js';
import { formatRecordFilter } from '../signals/sigma/logsources.js';
import { sniffSource, sourceNamed } from '../sources/index.js';
import { Allowlist } from '../triage/allowlist.js';
import { groupCases } from '../triage/cases.js';
import { triageFinding } from '../triage/playbook.js';
import { cloudSeen, containersSeen, coverageInput, coverageReport } from './coverage.js';
import { type FeedIssues, type FeedOptions, type FeedProgress, feedEngine, flushFeedIssues } from './feed.js';
import { expandInputs, type InputFile } from './inputs.js';
import { type HuntPart, mergeHuntParts } from './merge.js';
import { sampledOwners } from './partition-sample.js';
import { countFindings, countIssue, countRuleWarnings, newSummary, type RunSummary } from './summary.js';
import { startRunWorker } from './worker-thread.js';

export type HuntProgress = FeedProgress;

export interface HuntOptions extends FeedOptions {
  policy: Policy;
  /** Name of the policy file, for the coverage report's authorization detail. */
  policyFile?: string;
  intelFiles?: string[];
  ruleDirs?: string[];
  /** Clock for the summary's elapsed time; injected so tests can pin it. */
  now?: () => number;
  /**
   * Worker threads to split the run across by host (engine/partition.ts); 1 runs it here. Default:
   * every core when the input is at least AUTO_WORKERS_MIN_BYTES, else 1.
   */
  workers?: number;
  /**
   * Every Sigma match as it is found, in event time (`--format sigma-matches`): the run then stays on
   * this thread, so the timeline is written in one order.
   */
  onRuleMatch?: (record: RuleMatchRecord) => void;
}

export interface HuntResult {
  findings: Finding[];
  /** The findings grouped into incidents. */
  cases: Case[];
  /** What the telemetry could show, per host and analytic: the gaps the report names. */
  coverage: CoverageReport;
  summary: RunSummary;
  /** How many threads ran the engine, and why a split run was not split when it was asked for. */
  threads: { workers: number; note?: string };
}

export async function hunt(options: HuntOptions): Promise<HuntResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const summary = newSummary();
  const { files, ...asked } = await threadsFor(options);
  let threads: HuntResult['threads'] = asked;
  if (options.onRuleMatch && threads.workers > 1)
    threads = {
      workers: 1,
      note: 'not split: the Sigma timeline (--format sigma-matches) is written in input order by one thread',
    };
  if (threads.workers > 1) {
    const split = await huntOnWorkers(options, threads.workers, files);
    if (split.result) {
      split.result.summary.elapsedMs = now() - started;
      return split.result;
    }
    threads.workers = 1;
    threads.note = split.note;
  }
  const { engine, rawFindings, feed } = await prepareHunt(options, summary, options.onRuleMatch);
  flushFeedIssues(summary, await feed(options.onProgress));
  const findings = triaged(rawFindings, options.policy);
  countFindings(summary, findings);
  const coverage = coverageReport(engine.hostStates(), {
    policy: options.policy,
    policyFile: options.policyFile,
    input: coverageInput(summary, engine),
    containers: containersSeen(engine),
    cloud: cloudSeen(engine),
  });
  summary.elapsedMs = now() - started;
  return { findings, cases: groupCases(findings), coverage, summary, threads };
}

/**
 * What a hunt runs its input through, here or in a worker thread: intel and rules loaded (their issues
 * counted in `summary`), the detector, the findings it grades (before allowlist and triage) and the
 * feed of the inputs into it.
 */
export async function prepareHunt(
  options: HuntWorkerOptions,
  summary: RunSummary,
  onRuleMatch?: (record: RuleMatchRecord) => void,
) {
  const report = (i: Issue) => countIssue(summary, i);

  const { intel, issues: intelIssues } = await loadIntel(options.intelFiles ?? []);
  intelIssues.forEach(report);
  const rules = await loadRules(options.ruleDirs ?? [], { placeholders: options.policy.sigma?.placeholders });
  // a rule coalmine cannot run as written (a placeholder without values, a correlation over it) is skipped, counted
  for (const e of [...rules.errors, ...rules.unsupported])
    report({ file: e.file, line: e.line, code: e.code, reason: e.reason, stage: 'loading' });
  countRuleWarnings(summary, rules);
  // other Sigma detections per host, kept for each finding's context (the scope of the compromise)
  const sigmaContext = new ContextStore();
  const classify = createClassifier(
    intel,
    rules,
    (event, matches) => {
      sigmaContext.add(event, matches);
      if (onRuleMatch) for (const m of matches) onRuleMatch(ruleMatchRecord(event, m));
    },
    undefined,
    { hashrates: options.policy.hashrates },
  );

  const rawFindings: Finding[] = [];
  const engine = createDetector({
    policy: options.policy,
    classify,
    intel,
    onFinding: (f) => {
      attachContext(f, sigmaContext);
      rawFindings.push(f);
    },
  });
  const keep = { keepWindowsRecord: windowsRecordFilter(rules), keepRecord: formatRecordFilter(rules.rules) };
  /** The input through the engine; its issues are the caller's to count (a split run merges its threads' first). */
  const feed = async (
    onProgress?: (p: HuntProgress) => void,
    split?: Pick<FeedOptions, 'lineRouting' | 'part'>,
  ): Promise<FeedIssues> => {
    const issues = await feedEngine(engine, { ...options, ...keep, ...split, onProgress, keepIssues: true }, summary);
    // what matched after a finding was graded, within its window (up to 1 h after its last evidence)
    for (const f of rawFindings) attachContext(f, sigmaContext);
    if (sigmaContext.dropped > 0)
      issues.engine.add({
        file: '(sigma context)',
        code: 'CONTEXT_DROPPED',
        reason: `${sigmaContext.dropped} Sigma context matches were let go to stay in bounds (per host, per rule, in all), the oldest first; the timeline (--format sigma-matches) has every match`,
        stage: 'processing',
      });
    return issues;
  };
  return { engine, rawFindings, feed, correlations: rules.correlations.length };
}

/** Allowlist and playbook on graded findings, ranked: the same for a run on one thread or many. */
function triaged(raw: Finding[], policy: Policy): Finding[] {
  const allowlist = new Allowlist(policy.allowlist);
  const findings = raw.map((f) => {
    const checked = allowlist.apply(f);
    checked.triage = triageFinding(checked, policy);
    return checked;
  });
  return findings.sort(compareFindings);
}

/** What a worker thread is given of the hunt's options: plain data only (no callbacks, no clock). */
export type HuntWorkerOptions = Omit<HuntOptions, 'onProgress' | 'now' | 'workers' | 'onRuleMatch'>;

export interface HuntWorkerInput {
  kind: 'coalmine-hunt';
  index: number;
  workers: number;
  /** Which worker owns each partition (engine/partition.ts `PartitionOwners`). */
  owners: number[];
  options: HuntWorkerOptions;
  /** Whether this worker reports read progress (the first one does, when the caller shows it). */
  progress: boolean;
}

export type HuntWorkerMessage =
  | { type: 'progress'; progress: HuntProgress }
  | { type: 'apart'; reason: string }
  | { type: 'failed'; reason: string }
  | { type: 'done'; part: HuntPart };

/**
 * Below this much NDJSON input a split does not pay: each worker starts a thread, loads rules and intel and
 * reads the whole input (bench/results/hunt-workers.md measures where two workers start to win).
 */
export const AUTO_WORKERS_MIN_BYTES = 32 * 1024 * 1024;
/** However many are asked for: each worker reads the whole input, so more than the cores only costs. */
const MAX_WORKERS = 16;

/** How many threads, and the inputs when choosing needed them expanded (the split samples them). */
async function threadsFor(options: HuntOptions): Promise<HuntResult['threads'] & { files?: InputFile[] }> {
  const asked = options.workers;
  if (asked !== undefined && asked <= 1) return { workers: 1 };
  if (options.paths.includes('-'))
    return { workers: 1, note: asked === undefined ? undefined : 'not split: standard input is read once' };
  if (asked !== undefined) return { workers: Math.min(Math.floor(asked), MAX_WORKERS) };
  const cores = availableParallelism();
  if (cores <= 1) return { workers: 1 };
  // sizes only: the workers report whatever is wrong with the inputs when they read them
  const files = await expandInputs(options.paths, options.host, () => {});
  return { workers: autoWorkers(files, options.format, cores), files };
}

/**
 * Threads for a run that did not ask: every core when its NDJSON is at least AUTO_WORKERS_MIN_BYTES.
 * Only our NDJSON is dealt line by line before parsing (SourceContext.lineRouting); any other format is
 * parsed whole by every worker, which costs more than the split saves (a 48 MB audit.log took 24 s on
 * two workers against 10 s on one, on 2 cores).
 */
export function autoWorkers(files: readonly InputFile[], format: string | undefined, cores: number): number {
  const forced = format ? sourceNamed(format) : undefined;
  let bytes = 0;
  for (const f of files) if ((forced ?? sniffSource(f.input))?.name === 'ndjson') bytes += f.sizeBytes;
  return bytes >= AUTO_WORKERS_MIN_BYTES ? Math.max(1, Math.min(cores, MAX_WORKERS)) : 1;
}

/**
 * A worker's young generation, in MiB, set above what V8 picks by default. Each event lives a few
 * microseconds, but a bigger nursery is scavenged less often, so less of what is still in flight is
 * copied and promoted: measured on bench/generate.ts's 1M events on 2 cores, 2 workers ran in 10.1-10.7 s
 * at 96 against 11.2-11.4 s at the default (48: no better; 192 and 384: no better, more memory).
 */
const WORKER_YOUNG_GENERATION_MB = 96;

function startWorker(input: HuntWorkerInput): Worker {
  return startRunWorker('hunt-worker', input, { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB });
}

/**
 * The run split by host across `workers` threads (run/hunt-worker.ts), merged into what one thread
 * gives; or, when any worker finds the input cannot be split (or fails), a note saying why.
 */
async function huntOnWorkers(
  options: HuntOptions,
  workers: number,
  expanded: InputFile[] | undefined,
): Promise<{ result?: HuntResult; note?: string }> {
  const { onProgress, now: _now, workers: _workers, ...plain } = options;
  const owners = await sampledOwners(expanded ?? (await expandInputs(options.paths, options.host, () => {})), workers);
  const threads = Array.from({ length: workers }, (_, index) =>
    startWorker({
      kind: 'coalmine-hunt',
      index,
      workers,
      owners,
      options: plain,
      progress: index === 0 && !!onProgress,
    }),
  );
  const outcome = await new Promise<{ parts?: HuntPart[]; note?: string }>((resolve) => {
    const parts: HuntPart[] = [];
    let done = 0;
    let settled = false;
    const finish = (v: { parts?: HuntPart[]; note?: string }) => {
      if (settled) return;
      settled = true;
      for (const t of threads) void t.terminate();
      resolve(v);
    };
    threads.forEach((thread, i) => {
      thread.on('message', (m: HuntWorkerMessage) => {
        if (m.type === 'progress') onProgress?.(m.progress);
        else if (m.type === 'apart') finish({ note: `not split: ${m.reason}` });
        else if (m.type === 'failed') finish({ note: `not split: worker ${i} failed: ${m.reason}` });
        else {
          parts[i] = m.part;
          if (++done === workers) finish({ parts });
        }
      });
      thread.on('error', (err) => finish({ note: `not split: worker ${i} failed: ${err.message}` }));
      thread.on('exit', (code) => {
        if (!parts[i]) finish({ note: `not split: worker ${i} exited with code ${code}` });
      });
    });
  });
  if (!outcome.parts) return { note: outcome.note };
  const merged = mergeHuntParts(outcome.parts);
  const summary = merged.summary;
  const findings = triaged(merged.findings, options.policy);
  countFindings(summary, findings);
  // coverageInput reads only the engine's count of evicted hosts, summed over the workers here
  const evicted = { stats: { hostsEvicted: merged.hostsEvicted } } as unknown as Engine;
  const coverage = coverageReport(merged.hosts, {
    policy: options.policy,
    policyFile: options.policyFile,
    input: coverageInput(summary, evicted),
    containers: { namespaces: [], workloads: [] },
    cloud: [],
  });
  return { result: { findings, cases: groupCases(findings), coverage, summary, threads: { workers } } };
}
