/**
 * `hunt` composed: inputs → sniffed sources → (state first, then events merged by time) → engine and
 * analytics → allowlist → ranked findings, with a run summary. No printing here: the CLI renders.
 */
import { compareFindings } from '../analytics/finding.js';
import { createDetector } from '../analytics/index.js';
import type { Finding } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { createClassifier } from '../signals/index.js';
import { loadIntel } from '../signals/intel.js';
import { loadRules } from '../signals/sigma/index.js';
import { sniffSource, sourceNamed } from '../sources/index.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from '../sources/types.js';
import { Allowlist } from '../triage/allowlist.js';
import { triageFinding } from '../triage/playbook.js';
import { DEFAULT_MAX_LINE_BYTES } from '../util/lines.js';
import { expandInputs } from './inputs.js';
import { mergeByTime } from './merge.js';
import { countFindings, countIssue, newSummary, type RunSummary } from './summary.js';

export interface HuntProgress {
  bytesRead: number;
  totalBytes: number;
  events: number;
  files: number;
}

export interface HuntOptions {
  paths: string[];
  policy: Policy;
  /** Force a source format instead of sniffing. */
  format?: string;
  /** Host name for inputs that do not say. */
  host?: string;
  intelFiles?: string[];
  ruleDirs?: string[];
  maxLineBytes?: number;
  onProgress?: (p: HuntProgress) => void;
  /** Clock for the summary's elapsed time; injected so tests can pin it. */
  now?: () => number;
}

export interface HuntResult {
  findings: Finding[];
  summary: RunSummary;
}

interface Planned {
  source: SourceDescriptor;
  input: SourceInput;
}

export async function hunt(options: HuntOptions): Promise<HuntResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const summary = newSummary();
  const report = (i: Issue) => countIssue(summary, i);
  const startIssues: Issue[] = [];

  const { intel, issues: intelIssues } = await loadIntel(options.intelFiles ?? []);
  intelIssues.forEach(report);
  const rules = await loadRules(options.ruleDirs ?? []);
  for (const e of rules.errors)
    report({ file: e.file, line: e.line, code: e.code, reason: e.reason, stage: 'loading' });
  const classify = createClassifier(intel, rules);

  const files = await expandInputs(options.paths, options.host, startIssues);
  startIssues.forEach(report);
  const forced = options.format ? sourceNamed(options.format) : undefined;
  const planned: Planned[] = [];
  const progress: HuntProgress = { bytesRead: 0, totalBytes: 0, events: 0, files: 0 };
  for (const f of files) {
    const source = forced ?? sniffSource(f.input);
    if (!source) {
      if (f.input.head.length > 0)
        report({
          file: f.input.name,
          line: 1,
          code: 'SOURCE_UNKNOWN_FORMAT',
          reason: 'no source recognises this file (use --format to force one)',
          stage: 'reading',
        });
      continue;
    }
    summary.filesByFormat[source.name] = (summary.filesByFormat[source.name] ?? 0) + 1;
    progress.totalBytes += f.sizeBytes;
    planned.push({ source, input: countingInput(f.input, progress) });
  }
  summary.files = planned.length;

  const findings: Finding[] = [];
  const allowlist = new Allowlist(options.policy.allowlist);
  const engine = createDetector({
    policy: options.policy,
    classify,
    onFinding: (f) => {
      const checked = allowlist.apply(f);
      checked.triage = triageFinding(checked, options.policy);
      findings.push(checked);
    },
  });
  const context: SourceContext = {
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    maxPendingRecords: 4096,
  };

  // Standing facts (cron files, units) first: they are true for the whole timeline.
  for (const p of planned.filter((x) => x.source.delivers === 'state')) {
    for await (const batch of guarded(p, context, summary)) {
      batch.issues.forEach(report);
      for (const e of batch.events) engine.pushState(e);
    }
    progress.files++;
  }
  const streams = planned.filter((x) => x.source.delivers === 'events').map((p) => guarded(p, context, summary));
  let lastProgress = 0;
  for await (const events of mergeByTime(streams, (issues) => issues.forEach(report))) {
    for (let i = 0; i < events.length; i++) engine.push(events[i]);
    progress.events += events.length;
    if (options.onProgress && progress.events - lastProgress >= 50_000) {
      lastProgress = progress.events;
      options.onProgress(progress);
    }
  }
  engine.end();
  engine.issues.forEach(report);
  findings.sort(compareFindings);

  summary.events = engine.stats.events;
  summary.stateEvents = engine.stats.stateEvents;
  summary.lateEvents = engine.stats.lateEvents;
  summary.signals = engine.stats.signals;
  summary.bytes = progress.bytesRead;
  countFindings(summary, findings);
  summary.elapsedMs = now() - started;
  return { findings, summary };
}

/** Counts bytes as the source consumes them, for progress. */
function countingInput(input: SourceInput, progress: HuntProgress): SourceInput {
  return {
    ...input,
    async *open() {
      for await (const chunk of input.open()) {
        progress.bytesRead += chunk.length;
        yield chunk;
      }
    },
  };
}

/** A source's batches, with any failure (a truncated gzip, a bug) turned into an issue for that file. */
async function* guarded(p: Planned, context: SourceContext, summary: RunSummary): AsyncGenerator<SourceBatch> {
  try {
    for await (const batch of p.source.read(p.input, context)) {
      if (batch.unused) summary.unusedRecords += batch.unused;
      yield batch;
    }
  } catch (err) {
    yield {
      events: [],
      issues: [
        {
          file: p.input.name,
          code: 'SOURCE_READ_FAILED',
          reason: `reading stopped: ${(err as Error).message}`,
          stage: 'reading',
        },
      ],
    };
  }
}
