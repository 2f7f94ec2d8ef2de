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
 */
import { type Issue, issue } from '../model/issue.js';
import type { SourceInput } from './types.js';

export interface JsonDocumentLimits {
  /** Bytes of one record; a larger one is skipped and reported. */
  maxRecordBytes: number;
  /** Bytes of the whole document; reading stops there, reported. */
  maxDocumentBytes: number;
  /** Records read; the ones after are counted and reported once. */
  maxRecords: number;
  /** Issue code prefix, e.g. `K8S_INVENTORY`. */
  code: string;
  /** Top-level keys whose arrays hold the records; `['items']` when not given. */
  recordKeys?: readonly string[];
}

/**
 * One record (parsed, with the line its value starts on and which document of the input holds it,
 * 1 for the first), or an issue to report.
 */
export type JsonDocumentItem = { line: number; document: number; value: unknown } | { issue: Issue };

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
 * The records of the JSON documents of an input. Records are the values of a top-level array, or of a
 * top-level object's `items` array; a top-level object with no `items` is itself the record.
 */
export async function* jsonDocumentRecords(
  input: SourceInput,
  limits: JsonDocumentLimits,
): AsyncGenerator<JsonDocumentItem> {
  const file = input.name;
  const { code } = limits;
  const recordKeys = limits.recordKeys ?? ['items'];
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
  /** The last top-level key (bytes between quotes at depth 1), to find `items`. */
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
        if (depth === 1 && recordDepth !== 1 && record === undefined) {
          keyAtTop = true;
          key = [];
        }
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (stack.length >= MAX_DEPTH) {
          yield syntax(`nesting deeper than ${MAX_DEPTH}; the rest is not read`);
          return;
        }
        stack.push(b);
        if (
          b === OPEN_ARRAY &&
          depth === 1 &&
          recordDepth === 0 &&
          envelope !== undefined &&
          recordKeys.includes(lastTopKey)
        ) {
          // the envelope keeps `"items": [` and `]`, never the records in between
          keep(i + 1);
          recordDepth = 2;
          sawItems = true;
        }
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        const open = stack.pop();
        if (open === undefined || (open === OPEN_OBJECT) !== (b === CLOSE_OBJECT)) {
          yield syntax(`unbalanced ${JSON.stringify(String.fromCharCode(b))}; the rest is not read`);
          return;
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
