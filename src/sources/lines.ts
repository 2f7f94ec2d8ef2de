/** The one way a text source reads its input's lines: bounded, with oversized lines reported as issues. */
import { type Issue, issue } from '../model/issue.js';
import { type LineBatch, readLines } from '../util/lines.js';
import type { SourceContext, SourceInput } from './types.js';

/** `report` receives LINE_TOO_LONG issues (file and line named); `maxLineBytes` may tighten the run's limit. */
export function sourceLines(
  input: SourceInput,
  context: SourceContext,
  report: (i: Issue) => void,
  maxLineBytes = context.maxLineBytes,
): AsyncGenerator<LineBatch> {
  const limit = Math.min(maxLineBytes, context.maxLineBytes);
  return readLines(input.open(), {
    maxLineBytes: limit,
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
