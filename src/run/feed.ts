/**
 * Reading a run's inputs into an engine, shared by every command that reads files (`hunt`,
 * `coverage`): expand paths, sniff (or force) each file's source, apply state sources first (standing
 * facts), then merge event sources by event time, end the engine, and count it all in the summary.
 */
import type { Engine } from '../engine/index.js';
import type { Issue } from '../model/issue.js';
import { sniffSource, sourceNamed } from '../sources/index.js';
import type { LineRouting, SourceBatch, SourceContext, SourceDescriptor, SourceInput } from '../sources/types.js';
import { DEFAULT_MAX_LINE_BYTES } from '../util/lines.js';
import { expandInputs, type InputFile, markLinkTarget } from './inputs.js';
import { mergeByTime } from './merge.js';
import { countUnread, IssueList, type RunSummary } from './summary.js';

export interface FeedProgress {
  bytesRead: number;
  totalBytes: number;
  events: number;
  files: number;
}

export interface FeedOptions {
  paths: string[];
  /** Force a source format instead of sniffing. */
  format?: string;
  /** Host name for inputs that do not say. */
  host?: string;
  maxLineBytes?: number;
  /** See SourceContext.keepWindowsRecord: the loaded rules' answer (signals/rules.ts windowsRecordFilter). */
  keepWindowsRecord?: (provider: string, channel: string, eventId: number) => boolean;
  /** See SourceContext.keepRecord: the loaded rules' answer (signals/rules.ts formatRecordFilter). */
  keepRecord?: (format: string) => boolean;
  /** See SourceContext.lineRouting: set by a thread of a split hunt (run/hunt-worker.ts). */
  lineRouting?: LineRouting;
  /** This thread's place in a split run (0 alone): orders issues of one line raised by two threads. */
  part?: number;
  /** Leave the issues of the input and the engine to the caller (a split hunt merges them) instead of counting them. */
  keepIssues?: boolean;
  onProgress?: (p: FeedProgress) => void;
}

/**
 * The issues of a feed, each list in input order (run/summary.ts IssueList): of the input every
 * thread reads, of lines only this thread read (SourceContext.lineRouting), and of the engine.
 */
export interface FeedIssues {
  input: IssueList;
  routed: IssueList;
  engine: IssueList;
}

/** A feed's issues into the summary: the input's (every thread's lines, in input order), then the engine's. */
export function flushFeedIssues(summary: RunSummary, issues: FeedIssues): void {
  issues.input.absorb(issues.routed.data());
  issues.input.flushInto(summary);
  issues.engine.flushInto(summary);
}

interface Planned {
  source: SourceDescriptor;
  input: SourceInput;
  file: InputFile;
}

/**
 * Every input of `options.paths` through `engine`, ending it. Fills the summary's files,
 * filesByFormat, bytes, events, stateEvents, lateEvents, lateSamples, signals and issues (input and
 * engine issues, after any already counted, unless `keepIssues`); findings and elapsed time are the caller's.
 */
export async function feedEngine(engine: Engine, options: FeedOptions, summary: RunSummary): Promise<FeedIssues> {
  const part = options.part ?? 0;
  const issues: FeedIssues = { input: new IssueList(part), routed: new IssueList(part), engine: new IssueList(part) };
  const report = (i: Issue) => {
    countUnread(summary, i);
    issues.input.add(i);
  };
  const files = await expandInputs(options.paths, options.host, report);
  const names = files.map((f) => f.input.name);
  for (const list of [issues.input, issues.routed, issues.engine]) list.setFiles(names);
  const forced = options.format ? sourceNamed(options.format) : undefined;
  const planned: Planned[] = [];
  const progress: FeedProgress = { bytesRead: 0, totalBytes: 0, events: 0, files: 0 };
  for (const f of files) {
    const source = forced ?? sniffSource(f.input);
    if (!source) {
      const broke = f.gzipBreak ? ` (what inflated of it: ${f.gzipBreak.reason})` : '';
      report({
        file: f.input.name,
        line: 1,
        code: 'SOURCE_UNKNOWN_FORMAT',
        reason: `no source recognises this file (force one with --input-format NAME; see coalmine formats)${broke}`,
        stage: 'reading',
        unread: true,
      });
      continue;
    }
    summary.filesByFormat[source.name] = (summary.filesByFormat[source.name] ?? 0) + 1;
    progress.totalBytes += f.sizeBytes;
    planned.push({ source, input: countingInput(f.input, progress), file: f });
  }
  summary.files = planned.length;

  const context: SourceContext = {
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    maxPendingRecords: 4096,
    keepWindowsRecord: options.keepWindowsRecord,
    keepRecord: options.keepRecord,
    lineRouting: options.lineRouting,
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
  const onIssues = (shared: Issue[], routed?: Issue[]) => {
    shared.forEach(report);
    if (routed) for (const i of routed) issues.routed.add(i);
  };
  for await (const events of mergeByTime(streams, onIssues)) {
    for (let i = 0; i < events.length; i++) engine.push(events[i]);
    progress.events += events.length;
    if (options.onProgress && progress.events - lastProgress >= 50_000) {
      lastProgress = progress.events;
      options.onProgress(progress);
    }
  }
  engine.end();
  for (const i of engine.issues) issues.engine.add(i);
  if (!options.keepIssues) flushFeedIssues(summary, issues);

  summary.events = engine.stats.events;
  summary.stateEvents = engine.stats.stateEvents;
  summary.lateEvents = engine.stats.lateEvents;
  summary.unsortedEvents = engine.stats.unsortedEvents;
  summary.lateSamples = engine.stats.lateSamples;
  summary.signals = engine.stats.signals;
  summary.bytes = progress.bytesRead;
  return issues;
}

/** Counts bytes as the source consumes them, for progress. */
function countingInput(input: SourceInput, progress: FeedProgress): SourceInput {
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
      markLinkTarget(p.file, batch.events);
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
