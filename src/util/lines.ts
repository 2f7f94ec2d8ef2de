/**
 * Bounded line splitting over Buffers: the hot path of every text source. `readline` costs as much
 * as JSON.parse on these machines, so we split chunks ourselves. A line longer than `maxLineBytes`
 * is never held in memory: it is skipped to its newline and reported through `onOversize`.
 */

export interface LineBatch {
  lines: string[];
  /** 1-based line number of each entry in `lines`. */
  lineNos: number[];
  /**
   * The batch's last line is the input's last and no newline ended it: the typical cut (a log copied
   * or rotated while written). Not an error by itself (many files lack a final newline); a source
   * that always ends its records with one, or finds the line's last token open, reports the cut.
   */
  unterminated?: boolean;
  /** With `LineReaderOptions.lineOwner`: whether each entry of `lines` was said to be `mine`. */
  mine?: boolean[];
}

/** Whose a line is, told from its bytes: `other` is skipped undecoded, `mine` marked, undefined kept unmarked. */
export type LineOwner = (bytes: Buffer, start: number, end: number) => 'mine' | 'other' | undefined;

export interface LineReaderOptions {
  maxLineBytes: number;
  onOversize: (lineNo: number, bytes: number) => void;
  /**
   * Asked of every line (without its CR) before it is decoded: a thread of a split run skips the lines
   * another thread owns for the price of a look at their bytes (engine/partition.ts hostNameOfLine).
   */
  lineOwner?: LineOwner;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export async function* readLines(chunks: AsyncIterable<Buffer>, options: LineReaderOptions): AsyncGenerator<LineBatch> {
  const { maxLineBytes, onOversize, lineOwner } = options;
  const newBatch = (): LineBatch => (lineOwner ? { lines: [], lineNos: [], mine: [] } : { lines: [], lineNos: [] });
  let pending: Buffer[] = []; // pieces of the current unfinished line
  let pendingBytes = 0;
  let skipping = false; // inside an oversized line
  let lineNo = 0;
  for await (const chunk of chunks) {
    const batch = newBatch();
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      lineNo++;
      if (skipping) {
        onOversize(lineNo, pendingBytes + nl - start);
        skipping = false;
        pending = [];
        pendingBytes = 0;
      } else if (pendingBytes > 0) {
        const total = pendingBytes + nl - start;
        if (total > maxLineBytes) onOversize(lineNo, total);
        else {
          pending.push(chunk.subarray(start, nl));
          pushLine(batch, Buffer.concat(pending, total), 0, total, lineNo, lineOwner);
        }
        pending = [];
        pendingBytes = 0;
      } else if (nl - start > maxLineBytes) {
        onOversize(lineNo, nl - start);
      } else {
        pushLine(batch, chunk, start, nl, lineNo, lineOwner);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (skipping || pendingBytes + rest > maxLineBytes) {
        skipping = true;
        pendingBytes += rest;
        pending = [];
      } else {
        // copy: the stream may reuse the chunk's memory
        pending.push(Buffer.from(chunk.subarray(start)));
        pendingBytes += rest;
      }
    }
    if (batch.lines.length > 0) yield batch;
  }
  if (skipping) onOversize(lineNo + 1, pendingBytes);
  else if (pendingBytes > 0) {
    const batch = newBatch();
    batch.unterminated = true;
    const buf = Buffer.concat(pending, pendingBytes);
    pushLine(batch, buf, 0, buf.length, lineNo + 1, lineOwner);
    if (batch.lines.length > 0) yield batch;
  }
}

function pushLine(
  batch: LineBatch,
  buf: Buffer,
  start: number,
  end: number,
  lineNo: number,
  lineOwner: LineOwner | undefined,
): void {
  let e = end;
  if (e > start && buf[e - 1] === 13) e--; // CRLF
  if (lineOwner) {
    const whose = lineOwner(buf, start, e);
    if (whose === 'other') return;
    (batch.mine as boolean[]).push(whose === 'mine');
  }
  batch.lines.push(buf.toString('utf8', start, e));
  batch.lineNos.push(lineNo);
}
