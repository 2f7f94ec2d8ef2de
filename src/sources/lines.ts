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
