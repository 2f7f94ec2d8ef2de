/**
 * Whole-document JSON read one record at a time, bounded: a top-level array (`docker inspect`), a
 * Kubernetes `List`/`EventList` object whose records sit in its top-level `items` array (`kubectl get
 * -o json`) or an envelope whose records array has another top-level key (CloudTrail's `Records`, see
 * `recordKeys`), or a single object, which is then the one record. The scanner only tracks strings and
 * nesting on the raw bytes (JSON's structural characters are ASCII and never occur inside a UTF-8
 * sequence), so memory holds one record, never the document; each record is then `JSON.parse`d alone.
 * A record that does not parse, or is over the size bound, is reported with its first line and the next
 * record is read; a document cut short is reported on the line it ends on.
 *
 * A file may hold several documents back to back (`{…}{…}`, `[…]\n[…]`: what `aws … >> file` or
 * `gcloud … --format=json >> file` leave): each is read the same way in turn, so no record after the
 * first document is dropped. Anything else after a document is reported with its line, never ignored.
 *
 * `jsonRecords` is the reader of a file that is either JSON lines or such a document, decided by its
 * first line (`isJsonDocument`): the shape exports of cloud logs and EDR events come in.
 */
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { sourceLines } from './lines.js';
import type { SourceContext, SourceInput } from './types.js';

export interface JsonDocumentLimits {
  /** Bytes of one record; a larger one is skipped and reported. */
  maxRecordBytes: number;
  /** Bytes of the whole document; reading stops there, reported. */
  maxDocumentBytes: number;
  /** Records read; the ones after are counted and reported once. */
  maxRecords: number;
  /** Issue code prefix, e.g. `K8S_INVENTORY`. */
  code: string;
  /**
   * Where the records array is: a top-level key (`'Records'`), or a path of keys through nested objects
   * (`['hits', 'hits']`, an Elasticsearch `_search` response); `['items']` when not given.
   */
  recordKeys?: readonly (string | readonly string[])[];
  /**
   * Also give each document's envelope when its records array opens (`JsonDocumentEnvelope`): the keys
   * before the array, which say what the records are (a response's `timed_out`, its `_shards`).
   */
  envelopes?: boolean;
}

/** The bounds of an exported log as most readers take it: 4 MiB a record, 1 GiB a document, 50 million records. */
export const DOCUMENT_BOUNDS = {
  maxRecordBytes: 4 * 1024 * 1024,
  maxDocumentBytes: 1024 * 1024 * 1024,
  maxRecords: 50_000_000,
} as const;

/**
 * One record (parsed, with the line its value starts on and which document of the input holds it,
 * 1 for the first), or an issue to report.
 */
export type JsonDocumentItem = { line: number; document: number; value: unknown } | { issue: Issue };

/**
 * A document's envelope, given (with `envelopes: true`) when its records array opens, before its records:
 * the document's text up to the array's `[`, closed and parsed, its records array empty.
 */
export interface JsonDocumentEnvelope {
  envelope: unknown;
  line: number;
  document: number;
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Nesting deeper than this is no inventory a tool writes: the record is refused, not recursed into. */
const MAX_DEPTH = 256;
/** The top-level keys kept to decide which string before a `[` names the `items` array. */
const MAX_KEY_BYTES = 64;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === NEWLINE || b === 0x0d;
}

/**
 * The records of the JSON documents of an input. Records are the values of a top-level array, or of the
 * array `recordKeys` names in a top-level object (`items` when not given); a top-level object with no
 * such array is itself the record.
 */
export function jsonDocumentRecords(
  input: SourceInput,
  limits: JsonDocumentLimits & { envelopes: true },
): AsyncGenerator<JsonDocumentItem | JsonDocumentEnvelope>;
export function jsonDocumentRecords(input: SourceInput, limits: JsonDocumentLimits): AsyncGenerator<JsonDocumentItem>;
export async function* jsonDocumentRecords(
  input: SourceInput,
  limits: JsonDocumentLimits,
): AsyncGenerator<JsonDocumentItem | JsonDocumentEnvelope> {
  const file = input.name;
  const { code } = limits;
  /** Each place a records array may be, as a path of keys from the top-level object. */
  const paths = (limits.recordKeys ?? ['items']).map((k) => (typeof k === 'string' ? [k] : k));
  let line = 1;
  let total = 0;
  /** Nesting of the containers open around the scan position, innermost last. */
  const stack: number[] = [];
  let inString = false;
  let escaped = false;
  /** Whether the current document has opened; `documents` counts the ones that closed. */
  let started = false;
  let documents = 0;
  /** The depth of the array whose values are records (1: top-level array, 2: a List's items), or 0. */
  let recordDepth = 0;
  /** The top-level object's own text without its items' values: the record when there is no `items`. */
  let envelope: Buffer[] | undefined;
  let envelopeBytes = 0;
  let envelopeTooLarge = false;
  let envelopeLine = 1;
  /**
   * The keys of the objects around the scan position that lead along a path of `recordKeys` (empty at
   * the top level); the last key seen in the innermost of them (bytes between quotes), to find the array.
   */
  const prefix: string[] = [];
  let key: number[] = [];
  let keyAtTop = false;
  let lastTopKey = '';
  let sawItems = false;
  // the record being collected
  let record: Buffer[] | undefined;
  let recordLine = 0;
  let recordBytes = 0;
  let recordSkipped = false;
  let records = 0;
  let overCap = 0;

  function* finishRecord(): Generator<JsonDocumentItem> {
    const parts = record;
    record = undefined;
    if (parts === undefined) return;
    if (records >= limits.maxRecords) {
      overCap++;
      return;
    }
    records++;
    if (recordSkipped) {
      yield {
        issue: issue(
          { file, line: recordLine },
          `${code}_RECORD_TOO_LARGE`,
          `record of more than ${limits.maxRecordBytes} bytes; skipped`,
          'reading',
        ),
      };
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch (err) {
      yield {
        issue: issue(
          { file, line: recordLine },
          `${code}_BAD_JSON`,
          `record does not parse: ${(err as Error).message.slice(0, 120)}`,
        ),
      };
      return;
    }
    yield { line: recordLine, document: documents + 1, value };
  }

  /** Whether `prefix` then `next` is a whole path of `recordKeys` (`whole`), or leads along a longer one. */
  function onPath(next: string, whole: boolean): boolean {
    const n = prefix.length + 1;
    return paths.some(
      (p) => (whole ? p.length === n : p.length > n) && p[n - 1] === next && prefix.every((k, i) => p[i] === k),
    );
  }

  /** The envelope so far (up to its records array's `[`), closed and parsed; an issue when it is too large. */
  function envelopeItem(): JsonDocumentEnvelope | { issue: Issue } {
    const closing = `]${'}'.repeat(prefix.length + 1)}`;
    if (envelopeTooLarge || envelope === undefined)
      return {
        issue: issue(
          { file, line: envelopeLine },
          `${code}_RECORD_TOO_LARGE`,
          `the document's keys before its records are over ${limits.maxRecordBytes} bytes; not read`,
          'reading',
        ),
      };
    try {
      const text = `${Buffer.concat(envelope).toString('utf8')}${closing}`;
      return { envelope: JSON.parse(text), line: envelopeLine, document: documents + 1 };
    } catch (err) {
      return {
        issue: issue(
          { file, line: envelopeLine },
          `${code}_BAD_JSON`,
          `the document's keys before its records do not parse: ${(err as Error).message.slice(0, 120)}`,
        ),
      };
    }
  }

  function syntax(reason: string): JsonDocumentItem {
    return { issue: issue({ file, line }, `${code}_BAD_DOCUMENT`, reason) };
  }

  /** A top-level object with no records array was itself the record: give it, then forget the document. */
  function* closeDocument(): Generator<JsonDocumentItem> {
    if (envelope !== undefined && !sawItems) {
      record = envelope;
      recordLine = envelopeLine;
      recordSkipped = envelopeTooLarge;
      yield* finishRecord();
    }
    documents++;
    started = false;
    recordDepth = 0;
    prefix.length = 0;
    lastTopKey = '';
    envelope = undefined;
    envelopeBytes = 0;
    envelopeTooLarge = false;
    sawItems = false;
  }

  for await (const chunk of input.open()) {
    if (total + chunk.length > limits.maxDocumentBytes) {
      yield {
        issue: issue(
          { file, line },
          `${code}_TOO_LARGE`,
          `document is over ${limits.maxDocumentBytes} bytes; the rest is not read`,
          'reading',
        ),
      };
      return;
    }
    total += chunk.length;
    /** Where the part of this chunk that belongs to the current record (or envelope) starts. */
    let from = 0;
    const keep = (to: number) => {
      if (to <= from) return;
      const part = chunk.subarray(from, to);
      if (record !== undefined && !recordSkipped) {
        recordBytes += part.length;
        if (recordBytes > limits.maxRecordBytes) recordSkipped = true;
        else record.push(part);
      } else if (record === undefined && envelope !== undefined && !envelopeTooLarge && !sawItems) {
        // once the records array is found the envelope is never a record: keeping the bytes between
        // records would pin every chunk they were cut from, the whole file in the end
        envelopeBytes += part.length;
        if (envelopeBytes > limits.maxRecordBytes) envelopeTooLarge = true;
        else envelope.push(part);
      }
      from = to;
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === NEWLINE) line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (keyAtTop) {
            lastTopKey = Buffer.from(key).toString('utf8');
            keyAtTop = false;
          }
        } else if (keyAtTop && key.length < MAX_KEY_BYTES) key.push(b);
        continue;
      }
      if (isSpace(b)) continue;
      if (!started) {
        started = true;
        if (b === OPEN_ARRAY) recordDepth = 1;
        else if (b === OPEN_OBJECT) {
          envelope = [];
          envelopeLine = line;
          from = i;
        } else {
          yield syntax(
            documents === 0
              ? 'not a JSON document: it does not open with { or ['
              : `unexpected ${JSON.stringify(String.fromCharCode(b))} after document ${documents}: no { or [ opens another; the rest is not read`,
          );
          return;
        }
      }
      const depth = stack.length;
      // a value of the records array starts here
      if (record === undefined && depth === recordDepth && recordDepth > 0 && b !== CLOSE_ARRAY && b !== COMMA) {
        if (b !== OPEN_OBJECT && b !== OPEN_ARRAY && b !== QUOTE && !/[-0-9tfn]/.test(String.fromCharCode(b))) {
          yield syntax(`unexpected ${JSON.stringify(String.fromCharCode(b))} between records; the rest is not read`);
          return;
        }
        keep(i);
        record = [];
        recordLine = line;
        recordBytes = 0;
        recordSkipped = false;
        from = i;
      }
      if (b === QUOTE) {
        inString = true;
        if (depth === prefix.length + 1 && recordDepth !== 1 && record === undefined) {
          keyAtTop = true;
          key = [];
        }
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (stack.length >= MAX_DEPTH) {
          yield syntax(`nesting deeper than ${MAX_DEPTH}; the rest is not read`);
          return;
        }
        stack.push(b);
        const onTheWay = depth === prefix.length + 1 && recordDepth === 0 && envelope !== undefined;
        if (b === OPEN_ARRAY && onTheWay && onPath(lastTopKey, true)) {
          // the envelope keeps `"items": [` and `]`, never the records in between
          keep(i + 1);
          recordDepth = depth + 1;
          if (limits.envelopes === true && !sawItems) yield envelopeItem();
          sawItems = true;
        } else if (b === OPEN_OBJECT && onTheWay && onPath(lastTopKey, false)) {
          // an object on the way to the records (`"hits": {` of `hits.hits`): its keys are read next
          prefix.push(lastTopKey);
          lastTopKey = '';
        }
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        const open = stack.pop();
        if (open === undefined || (open === OPEN_OBJECT) !== (b === CLOSE_OBJECT)) {
          yield syntax(`unbalanced ${JSON.stringify(String.fromCharCode(b))}; the rest is not read`);
          return;
        }
        if (stack.length > 0 && stack.length === prefix.length) {
          // an object on the way to the records closed: its parent's keys are read again
          prefix.pop();
          lastTopKey = '';
        }
        if (record !== undefined && stack.length === recordDepth) {
          // a container record closed: it ends with this byte
          keep(i + 1);
          yield* finishRecord();
        } else if (stack.length === recordDepth - 1) {
          // the records array closed, after a scalar record maybe; the envelope resumes at its `]`
          keep(i);
          if (record !== undefined) yield* finishRecord();
          recordDepth = recordDepth === 1 ? -1 : 0;
        }
        if (stack.length === 0) {
          // the document closed; another may follow it
          keep(i + 1);
          yield* closeDocument();
        }
      } else if (record !== undefined && stack.length === recordDepth && (b === COMMA || b === COLON)) {
        // a scalar record (a string, number, true/false/null) ends before the comma
        keep(i);
        yield* finishRecord();
      }
    }
    keep(chunk.length);
  }

  if (!started && documents === 0) {
    yield syntax('empty document');
    return;
  }
  if (stack.length > 0 || inString) {
    yield {
      issue: issue(
        { file, line },
        `${code}_TRUNCATED`,
        record !== undefined
          ? `input ends inside the record that starts on line ${recordLine}`
          : 'input ends before the document closes',
      ),
    };
    return;
  }
  if (overCap > 0)
    yield {
      issue: issue(
        { file, line },
        `${code}_TOO_MANY_RECORDS`,
        `${overCap} records after the first ${limits.maxRecords} are not read`,
        'reading',
      ),
    };
}

/** One record of a file in either shape, with the line it starts on, or an issue to report. */
export type JsonRecord = { value: unknown; line: number } | { issue: Issue };

/**
 * Whether a file is one whole document rather than JSON lines, by its first line: a `[` (an array, pretty
 * or on one line) or a lone `{` (an object pretty-printed). JSON lines open with a whole `{…}` instead,
 * unless `answer` says the line is an API answer on one line: a format whose answers hold their records
 * under a key (`{"results": [`) passes a pattern of how they open, tested on the line's first 256 characters.
 */
export function isJsonDocument(head: string, answer?: RegExp): boolean {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  if (first === undefined) return false;
  // trim() takes a byte order mark too
  const t = first.trim();
  return t.startsWith('[') || t === '{' || (answer?.test(t.slice(0, 256)) ?? false);
}

/**
 * The records of a file that is JSON lines (a Storage or S3 export, `jq -c`, a SIEM export: one record per
 * line) or one whole document (`gcloud … --format=json`, an API answer whose records sit under
 * `recordKeys`), decided by `isJsonDocument`. Lines: blank lines skipped, a line that does not parse is
 * `<code>_TRUNCATED` when it is the unterminated last one, else `<code>_BAD_JSON`. Document: as
 * `jsonDocumentRecords` reads it, within DOCUMENT_BOUNDS.
 */
export async function* jsonRecords(
  input: SourceInput,
  context: SourceContext,
  code: string,
  recordKeys: JsonDocumentLimits['recordKeys'],
  answer?: RegExp,
): AsyncGenerator<JsonRecord> {
  if (isJsonDocument(input.head.toString('utf8'), answer)) {
    for await (const item of jsonDocumentRecords(input, { ...DOCUMENT_BOUNDS, code, recordKeys })) {
      if ('issue' in item) yield item;
      else yield { value: item.value, line: item.line };
    }
    return;
  }
  const file = input.name;
  const pending: Issue[] = [];
  for await (const batch of sourceLines(input, context, (i) => pending.push(i))) {
    while (pending.length > 0) yield { issue: pending.shift() as Issue };
    for (let k = 0; k < batch.lines.length; k++) {
      const text = batch.lines[k];
      if (text.trim() === '') continue;
      const line = batch.lineNos[k];
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        const unterminated = k === batch.lines.length - 1 && batch.unterminated === true;
        yield {
          issue: unterminated
            ? issue({ file, line }, `${code}_TRUNCATED`, 'the last line ends inside its record')
            : issue({ file, line }, `${code}_BAD_JSON`, clip((err as Error).message, 200)),
        };
        continue;
      }
      yield { value, line };
    }
  }
  while (pending.length > 0) yield { issue: pending.shift() as Issue };
}
