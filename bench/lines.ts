/**
 * The benches' baseline reader, written once: a file in 1 MiB chunks, split on newlines in the Buffers
 * (the unfinished line carried into the next chunk), each line handed to `take` as a byte range. What
 * a `JSON.parse` baseline costs beside it is the parse and the UTF-8 decode, as in the readers it measures.
 */
import { createReadStream } from 'node:fs';

const MIB = 1024 * 1024;
const NEWLINE = 10;

/** Every line of `file` (empty ones too; the caller skips them) as `take(buf, start, end)`; the bytes read. */
export async function forEachLine(
  file: string,
  take: (buf: Buffer, start: number, end: number) => void,
): Promise<number> {
  let bytes = 0;
  let pending: Buffer | undefined; // the unfinished line carried over from the previous chunk
  for await (const chunk of createReadStream(file, { highWaterMark: MIB }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    let start = 0;
    if (pending) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        pending = Buffer.concat([pending, chunk]);
        continue;
      }
      const line = Buffer.concat([pending, chunk.subarray(0, nl)]);
      take(line, 0, line.length);
      pending = undefined;
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      take(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) pending = Buffer.from(chunk.subarray(start));
  }
  if (pending) take(pending, 0, pending.length);
  return bytes;
}
