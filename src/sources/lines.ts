/** The one way a text source reads its input's lines: bounded, with oversized lines reported as issues. */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { type LineBatch, type LineOwner, readLines } from '../util/lines.js';
import type { SourceBatch, SourceContext, SourceInput } from './types.js';

/** `report` receives LINE_TOO_LONG issues (file and line named); `maxLineBytes` may tighten the run's limit. */
export function sourceLines(
  input: SourceInput,
  context: SourceContext,
  report: (i: Issue) => void,
  maxLineBytes = context.maxLineBytes,
  lineOwner?: LineOwner,
): AsyncGenerator<LineBatch> {
  const limit = Math.min(maxLineBytes, context.maxLineBytes);
  return readLines(input.open(), {
    maxLineBytes: limit,
    lineOwner,
    onOversize: (line, bytes) =>
      report(
        issue(
          { file: input.name, line },
          'LINE_TOO_LONG',
          `line of ${bytes} bytes is over the ${limit}-byte limit; skipped`,
          'reading',
        ),
      ),
  });
}

/**
 * Sniffing a JSON-lines format: the head's first non-blank line (of 8) parsed as JSON and rated by
 * `score`; a line the head cut short (it does not parse) is rated by `cut` on its text. 0 when the
 * line does not open an object.
 */
export function sniffJsonLine(head: string, score: (o: unknown) => number, cut: (first: string) => number): number {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  if (!first?.trimStart().startsWith('{')) return 0;
  let o: unknown;
  try {
    o = JSON.parse(first);
  } catch {
    return cut(first);
  }
  return score(o);
}

/** What a JSON-lines source makes of one record: an event, `unused` (read whole, nothing to map), or why it is bad. */
export type JsonLineResult = CoalEvent | 'unused' | string;

const JSON_LINES_BATCH = 512;

/**
 * The read loop of a JSON-lines source: blank lines skipped; a line that does not parse is
 * `<CODE>_TRUNCATED` when it is the file's unterminated last line, else `<CODE>_BAD_JSON` (with
 * `badJsonReason`, or the parser's message); a record `map` rejects is `<CODE>_BAD_RECORD`. Batches
 * are bounded.
 */
export async function* readJsonLines(
  input: SourceInput,
  context: SourceContext,
  code: string,
  map: (o: unknown, line: number) => JsonLineResult,
  badJsonReason?: string,
): AsyncGenerator<SourceBatch> {
  const file = input.name;
  let batch: SourceBatch = { events: [], issues: [], unused: 0 };
  const report = (i: Issue) => batch.issues.push(i);
  for await (const lines of sourceLines(input, context, report)) {
    for (let k = 0; k < lines.lines.length; k++) {
      const text = lines.lines[k];
      const line = lines.lineNos[k];
      if (text.trim() === '') continue;
      const unterminated = k === lines.lines.length - 1 && lines.unterminated === true;
      let o: unknown;
      try {
        o = JSON.parse(text);
      } catch (err) {
        report(
          unterminated
            ? issue({ file, line }, `${code}_TRUNCATED`, 'the last line ends inside its record')
            : issue({ file, line }, `${code}_BAD_JSON`, badJsonReason ?? clip((err as Error).message, 200)),
        );
        continue;
      }
      const mapped = map(o, line);
      if (mapped === 'unused') batch.unused = (batch.unused ?? 0) + 1;
      else if (typeof mapped === 'string') report(issue({ file, line }, `${code}_BAD_RECORD`, mapped));
      else batch.events.push(mapped);
      if (batch.events.length + batch.issues.length >= JSON_LINES_BATCH) {
        yield batch;
        batch = { events: [], issues: [], unused: 0 };
      }
    }
  }
  if (batch.events.length > 0 || batch.issues.length > 0 || (batch.unused ?? 0) > 0) yield batch;
}
