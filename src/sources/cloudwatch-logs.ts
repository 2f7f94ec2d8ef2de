/**
 * The shapes a log's records take once they went through Amazon CloudWatch Logs, shared by the readers of
 * logs AWS delivers there as well as to S3 (VPC Flow Logs, Route 53 Resolver query logs):
 * - a file of the records as written (S3 delivery, or a log copied out by hand): each line is a message;
 * - a CloudWatch Logs export to S3 (`create-export-task`): each line is the event's ISO time, a space, the message;
 * - `aws logs filter-log-events` / `get-log-events` output: `{"events": [{"timestamp", "message", …}]}`, one
 *   pretty-printed document, or on one line, or its events one per line (`jq -c '.events[]'`);
 * - a subscription filter's payload (`{"logEvents": [{"id", "timestamp", "message"}]}`), one per line.
 * A JSON line that is no log event (a record written as JSON, as Route 53 Resolver writes them) is passed
 * on parsed. Every line and record is bounded; bad ones are reported with their line and reading goes on.
 */
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { jsonDocumentRecords } from './json-document.js';
import { sourceLines } from './lines.js';
import { isObject } from './net-fields.js';
import type { SourceContext, SourceInput } from './types.js';

/** One log record: its text as written (`text`), or a JSON line that is no log event, already parsed (`value`). */
export interface LogMessage {
  line: number;
  text?: string;
  value?: unknown;
  /** The CloudWatch event's time (ingestion-side), when the record came wrapped in one. */
  ts?: number;
  /** The input's last line, with no newline after it: a record that may have been cut while written. */
  cut?: boolean;
}

export interface LogMessageBatch {
  messages: LogMessage[];
  issues: Issue[];
}

/** The arrays filter-log-events / get-log-events output and subscription payloads hold their events in. */
const EVENT_KEYS = ['events', 'logEvents'] as const;
/** Events taken from one JSON line (filter-log-events answers hold at most 10,000 per page). */
const MAX_EVENTS_PER_LINE = 10_000;
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;
const MAX_RECORD_BYTES = 1024 * 1024;
const BATCH = 512;
/** `2026-03-02T01:00:05.000Z ` as an export writes it before each message; fixed shape, linear. */
const EXPORT_PREFIX = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z) /;

/** A pretty-printed document opens with a lone `{` or `[`; everything else is read line by line. */
export function isLogDocument(head: string): boolean {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  return first !== undefined && /^\s*[[{]\s*$/.test(first);
}

/** The message of a CloudWatch log event object, or undefined when it is none. */
function eventMessage(o: Record<string, unknown>): { text: string; ts?: number } | undefined {
  if (typeof o.message !== 'string') return undefined;
  const ts = parseTimestamp(o.timestamp);
  return ts === undefined ? { text: o.message } : { text: o.message, ts };
}

/** The events array a JSON line holds (a whole filter-log-events answer or a subscription payload on one line). */
function eventsOf(o: Record<string, unknown>): unknown[] | undefined {
  for (const key of EVENT_KEYS) if (Array.isArray(o[key])) return o[key] as unknown[];
  return undefined;
}

/** One line as messages (a JSON line may hold many events), or why it is not one. */
function lineMessages(text: string, line: number, cut: boolean, file: string, code: string): LogMessage[] | Issue {
  const prefixed = EXPORT_PREFIX.exec(text);
  if (prefixed) {
    const ts = parseTimestamp(prefixed[1]);
    const message: LogMessage = { line, text: text.slice(prefixed[0].length) };
    if (ts !== undefined) message.ts = ts;
    if (cut) message.cut = true;
    return [message];
  }
  if (text.charCodeAt(0) !== 123) return [cut ? { line, text, cut } : { line, text }];
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return cut
      ? issue({ file, line }, `${code}_TRUNCATED`, 'the last line ends inside its record')
      : issue({ file, line }, `${code}_BAD_JSON`, clip((err as Error).message, 200));
  }
  if (!isObject(o)) return [{ line, value: o }];
  const single = eventMessage(o);
  if (single) return [{ line, ...single }];
  const events = eventsOf(o);
  if (!events) return [{ line, value: o }];
  const out: LogMessage[] = [];
  for (const event of events.slice(0, MAX_EVENTS_PER_LINE)) {
    const m = isObject(event) ? eventMessage(event) : undefined;
    if (m) out.push({ line, ...m });
  }
  if (out.length < Math.min(events.length, MAX_EVENTS_PER_LINE) || events.length > MAX_EVENTS_PER_LINE)
    return issue(
      { file, line },
      `${code}_BAD_RECORD`,
      events.length > MAX_EVENTS_PER_LINE
        ? `${events.length} log events on one line, over the ${MAX_EVENTS_PER_LINE} read`
        : `${events.length - out.length} of ${events.length} log events have no message`,
    );
  return out;
}

async function* linesMode(input: SourceInput, context: SourceContext, code: string): AsyncGenerator<LogMessageBatch> {
  let batch: LogMessageBatch = { messages: [], issues: [] };
  for await (const lines of sourceLines(input, context, (i) => batch.issues.push(i))) {
    for (let k = 0; k < lines.lines.length; k++) {
      const text = lines.lines[k].endsWith('\r') ? lines.lines[k].slice(0, -1) : lines.lines[k];
      if (text.trim() === '') continue;
      const cut = k === lines.lines.length - 1 && lines.unterminated === true;
      const got = lineMessages(text, lines.lineNos[k], cut, input.name, code);
      if (Array.isArray(got)) batch.messages.push(...got);
      else batch.issues.push(got);
    }
    if (batch.messages.length + batch.issues.length >= BATCH) {
      yield batch;
      batch = { messages: [], issues: [] };
    }
  }
  if (batch.messages.length > 0 || batch.issues.length > 0) yield batch;
}

async function* documentMode(input: SourceInput, code: string): AsyncGenerator<LogMessageBatch> {
  let batch: LogMessageBatch = { messages: [], issues: [] };
  const limits = {
    maxRecordBytes: MAX_RECORD_BYTES,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
    maxRecords: 50_000_000,
    code,
    recordKeys: EVENT_KEYS,
  };
  for await (const item of jsonDocumentRecords(input, limits)) {
    if ('issue' in item) batch.issues.push(item.issue);
    else {
      const m = isObject(item.value) ? eventMessage(item.value) : undefined;
      batch.messages.push(m ? { line: item.line, ...m } : { line: item.line, value: item.value });
    }
    if (batch.messages.length + batch.issues.length >= BATCH) {
      yield batch;
      batch = { messages: [], issues: [] };
    }
  }
  if (batch.messages.length > 0 || batch.issues.length > 0) yield batch;
}

/** The records of an input in any of the shapes above, in order, each with its line. */
export function logMessages(input: SourceInput, context: SourceContext, code: string): AsyncGenerator<LogMessageBatch> {
  return isLogDocument(input.head.toString('utf8')) ? documentMode(input, code) : linesMode(input, context, code);
}

/** A pretty-printed answer's first event message, found in the head by its key (the head may cut the document). */
const FIRST_MESSAGE = /"message"\s*:\s*"((?:[^"\\\n]|\\.){0,4096})"/;

/**
 * What sniffing sees of an input's first record: its text (an export line's message, a log event's
 * message, or the line as written) or, for a JSON line that is no log event, the parsed value. `raw`
 * says the text is the file's own first line, not a message taken out of a wrapper.
 */
export function firstLogMessage(head: string): { text?: string; value?: unknown; raw?: boolean } | undefined {
  if (isLogDocument(head)) {
    const m = FIRST_MESSAGE.exec(head.slice(0, 64 * 1024));
    if (!m) return undefined;
    try {
      return { text: JSON.parse(`"${m[1]}"`) as string };
    } catch {
      return undefined;
    }
  }
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  if (first === undefined) return undefined;
  const got = lineMessages(first.replace(/\r$/, ''), 1, false, '', 'SNIFF');
  if (!Array.isArray(got) || got.length === 0) return undefined;
  const { text, value } = got[0];
  if (value !== undefined) return { value };
  return { text, raw: text === first.replace(/\r$/, '') };
}
