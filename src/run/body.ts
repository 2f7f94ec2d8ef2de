/**
 * A request body read into events: the one reading of a body that `serve`'s detector (run/live.ts
 * `LiveDetector.ingest`) and a bus ingest node (`serve --bus`, bus/publisher.ts) share. The source that
 * sniffs it (or the one named), gzip inflated, the body and what it inflates to bounded; standing facts
 * (state sources) and events handed to the sink in the order read, batch by batch, each batch awaited
 * (a sink that publishes holds the reading back). Throws only what the sink throws: every problem of
 * the body is an issue of the result.
 */
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import { windowsRecordFilter } from '../signals/rules.js';
import { type LoadOptions, loadRules, type RuleSet } from '../signals/sigma/index.js';
import { formatRecordFilter } from '../signals/sigma/logsources.js';
import { sniffSource, sourceNamed } from '../sources/index.js';
import type { SourceContext, SourceDescriptor } from '../sources/types.js';
import { clip, inert } from '../util/hostile.js';
import { isGzip } from '../util/input.js';
import { DEFAULT_MAX_LINE_BYTES } from '../util/lines.js';
import { streamInput } from './inputs.js';
import { IssueList } from './summary.js';

/** A request body as sent (compressed or not); larger ones are cut here, and an issue says so. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** What a gzip body may inflate to: a bomb's output is cut here, whatever its ratio. */
export const DEFAULT_MAX_INFLATED_BYTES = 256 * 1024 * 1024;
/** A request's name and path are the caller's words: bounded before they reach any issue or event. */
const MAX_NAME_CHARS = 256;
const MAX_PATH_CHARS = 4096;

/** What a request says about its body beyond the bytes. */
export interface IngestMeta {
  /** Names the body in every issue and evidence ref (`sensor-7/audit.log`). */
  name: string;
  /** Force a source (`coalmine formats`) instead of sniffing the head. */
  format?: string;
  /** Host of records that name none. */
  host?: string;
  /**
   * Where the file sits on its host (`/etc/crontab`), for formats told by their place (cron,
   * systemd units, rc files): read as a collected filesystem's path, as `hunt` reads a directory.
   */
  path?: string;
  /** The file's modification time (ms), which places a state file's entries in time; default now. */
  mtimeMs?: number;
  /** When the body arrived (ms, the live clock); what batches bodies (`settleMs`); default now. */
  receivedAtMs?: number;
}

export interface IngestResult {
  /** Events pushed in event time (event sources). */
  events: number;
  /** Standing facts applied (state sources: cron, units). */
  stateEvents: number;
  /** Records read whole that no analytic uses (counted, not errors). */
  unused: number;
  /** Bytes of the body as sent that were read. */
  bytes: number;
  /**
   * The problems in input order, each naming the request (`name`) and, for a bad record, its line or
   * record: the first MAX_LISTED_ISSUES, as a run summary lists them (a body of garbage has one per line).
   */
  issues: Issue[];
  /** Every problem counted by code, listed or not. */
  issuesByCode: Record<string, number>;
  /** The source that read the body; undefined when none did (nothing was pushed). */
  format?: string;
}

export interface BodyLimits {
  /** Request bodies are cut at this many bytes as sent (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** A gzip body's content is cut at this many bytes once inflated (default DEFAULT_MAX_INFLATED_BYTES). */
  maxInflatedBytes?: number;
  /** The time of a state body that gives none. */
  now: () => number;
}

/** Where what a body holds goes, a source batch at a time (awaited). */
export interface BodySink {
  /** Standing facts (cron lines, units): true for the whole timeline. */
  state(events: CoalEvent[]): void | Promise<void>;
  /** Events in the order the source gives them. */
  events(events: CoalEvent[]): void | Promise<void>;
}

/**
 * The sources' context for bodies read with `rules` loaded: a record no analytic maps is kept as a
 * `log-record` only when a loaded Sigma rule reads its format (so every reader of bodies with the same
 * rules reads the same events).
 */
export function bodyContext(rules: RuleSet, maxLineBytes: number = DEFAULT_MAX_LINE_BYTES): SourceContext {
  return {
    maxLineBytes,
    maxPendingRecords: 4096,
    keepWindowsRecord: windowsRecordFilter(rules),
    keepRecord: formatRecordFilter(rules.rules),
  };
}

/** The sources' context a reader of bodies passes on (bus/ holds one without reaching into sources/). */
export type BodyContext = SourceContext;

/**
 * The context for reading bodies as a detector with `ruleDirs` loaded reads them, for a reader that runs
 * no detector (a bus ingest node); `skipped` counts the rules that could not be loaded.
 */
export async function loadBodyContext(
  ruleDirs: string[],
  options: Pick<LoadOptions, 'placeholders'> = {},
): Promise<{ context: BodyContext; skipped: number }> {
  const rules = await loadRules(ruleDirs, options);
  return { context: bodyContext(rules), skipped: rules.errors.length + rules.unsupported.length };
}

/** A request's name as issues and evidence show it: bounded, inert, never empty. */
export function bodyName(name: unknown): string {
  return clip(inert(String(name ?? '')), MAX_NAME_CHARS) || '(request)';
}

/** A result of nothing read, saying why. */
export function issueResult(issue: Issue): IngestResult {
  return { events: 0, stateEvents: 0, unused: 0, bytes: 0, issues: [issue], issuesByCode: { [issue.code]: 1 } };
}

/** One body read through its source into `sink`; `meta.name` as `bodyName` gives it. */
export async function readBody(
  body: Uint8Array | AsyncIterable<Uint8Array>,
  meta: IngestMeta,
  context: SourceContext,
  limits: BodyLimits,
  sink: BodySink,
): Promise<IngestResult> {
  const name = meta.name;
  const result: IngestResult = { events: 0, stateEvents: 0, unused: 0, bytes: 0, issues: [], issuesByCode: {} };
  const issues = new IssueList();
  issues.setFiles([name]);
  const report = (i: Issue) => issues.add(i);
  // what the sink throws is the caller's (the bus refusing), never an issue of the body
  let sinkFailed: { error: unknown } | undefined;
  const give = async (deliver: () => void | Promise<void>): Promise<void> => {
    try {
      await deliver();
    } catch (error) {
      sinkFailed = { error };
      throw error;
    }
  };
  const done = (): IngestResult => {
    const { byCode, listed } = issues.data();
    result.issuesByCode = byCode;
    result.issues = listed.map((p) => p.issue);
    return result;
  };
  try {
    let forced: SourceDescriptor | undefined;
    if (meta.format !== undefined) {
      forced = sourceNamed(meta.format);
      if (!forced) {
        report({
          file: name,
          code: 'INGEST_UNKNOWN_FORMAT',
          reason: `no input format is named "${clip(inert(String(meta.format)), 64)}" (see coalmine formats); nothing read`,
          stage: 'reading',
          unread: true,
        });
        return done();
      }
    }
    const maxBody = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    // its first bytes say whether it is gzip (streamInput inflates it then), so whether to bound what inflates
    let opening: Buffer = Buffer.alloc(0);
    const raw = capped(
      chunksOf(body),
      maxBody,
      (chunk, bytes) => {
        result.bytes = bytes;
        if (opening.length < 2) opening = Buffer.concat([opening, chunk.subarray(0, 2)]);
      },
      () =>
        report({
          file: name,
          code: 'INGEST_BODY_TOO_LARGE',
          reason: `the body is over the ${maxBody}-byte limit; what came before it was read, the rest was not`,
          stage: 'reading',
        }),
    );
    const file = await streamInput(
      name,
      raw,
      {
        hostHint: meta.host === undefined ? undefined : clip(String(meta.host), MAX_NAME_CHARS),
        mtimeMs: meta.mtimeMs ?? limits.now(),
        relPath: relPathOf(meta.path),
      },
      report,
      'the request body is empty',
    );
    if (!file) return done();
    const source = forced ?? sniffSource(file.input);
    if (!source) {
      const broke = file.gzipBreak ? ` (what inflated of it: ${file.gzipBreak.reason})` : '';
      report({
        file: name,
        line: 1,
        code: 'SOURCE_UNKNOWN_FORMAT',
        reason: `no source recognises this body (name one with format; see coalmine formats); nothing read${broke}`,
        stage: 'reading',
        unread: true,
      });
      return done();
    }
    result.format = source.name;
    const input = { ...file.input };
    if (isGzip(opening)) {
      const maxInflated = limits.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES;
      const open = file.input.open;
      input.open = () =>
        capped(open(), maxInflated, undefined, () =>
          report({
            file: name,
            code: 'INGEST_INFLATED_TOO_LARGE',
            reason: `the gzip body inflates past the ${maxInflated}-byte limit; what came before it was read, the rest was not`,
            stage: 'reading',
          }),
        );
    }
    try {
      for await (const batch of source.read(input, context)) {
        batch.issues.forEach(report);
        if (batch.routed) batch.routed.forEach(report);
        result.unused += batch.unused ?? 0;
        if (source.delivers === 'state') {
          await give(() => sink.state(batch.events));
          result.stateEvents += batch.events.length;
        } else {
          await give(() => sink.events(batch.events));
          result.events += batch.events.length;
        }
      }
    } catch (err) {
      if (sinkFailed) throw sinkFailed.error;
      report({
        file: name,
        code: 'SOURCE_READ_FAILED',
        reason: `reading stopped: ${whyFailed(err)}`,
        stage: 'reading',
      });
    }
  } catch (err) {
    if (sinkFailed) throw sinkFailed.error;
    // not a source's failure (those are caught above): the body's own stream, or a bug, said as an issue
    report({
      file: name,
      code: 'INGEST_FAILED',
      reason: `reading stopped: ${whyFailed(err)}`,
      stage: 'reading',
    });
  }
  return done();
}

/** What a thrown value says, bounded and inert (a body's stream may throw anything). */
function whyFailed(err: unknown): string {
  return clip(inert(err instanceof Error ? err.message : String(err)), 512);
}

/** The body as chunks, whichever way it came. */
async function* chunksOf(body: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    yield body;
    return;
  }
  yield* body;
}

/**
 * Chunks up to `max` bytes in all: the chunk that crosses it is cut, `onOver` called once, and the
 * stream left unread from there. `onChunk` hears each chunk passed on and the running total.
 */
async function* capped<T extends Uint8Array>(
  chunks: AsyncIterable<T>,
  max: number,
  onChunk: ((chunk: Uint8Array, bytes: number) => void) | undefined,
  onOver: () => void,
): AsyncGenerator<T> {
  let total = 0;
  for await (const chunk of chunks) {
    if (total + chunk.length > max) {
      // a Buffer's subarray is a Buffer
      const kept = chunk.subarray(0, max - total) as T;
      total = max;
      if (kept.length > 0) {
        onChunk?.(kept, total);
        yield kept;
      }
      onOver();
      return;
    }
    total += chunk.length;
    onChunk?.(chunk, total);
    yield chunk;
  }
}

/** A host path (`/etc/crontab`) as a collection's relative path (`etc/crontab`), bounded; none when empty. */
function relPathOf(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const rel = clip(String(path), MAX_PATH_CHARS).replaceAll('\\', '/').replace(/^\/+/, '');
  return rel === '' ? undefined : rel;
}
