/**
 * Opening inputs: files (gzip transparent, by magic bytes, not by extension) and stdin. A gzip stream
 * that breaks (a flipped byte, a cut copy, junk after the last member) gives what inflated before the
 * break and says where it broke; it never throws past `openChunks`.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import * as zlib from 'node:zlib';

export const HEAD_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
/** Inflated output comes in chunks of this size, and compressed input goes in slices of it; corrupt deflate data loses at most the output of the slice it breaks in. */
const INFLATE_CHUNK_BYTES = 64 * 1024;
/** The head is inflated from slices this small, so even a 1000:1 bomb inflates little more than the head. */
const HEAD_SLICE_BYTES = 1024;

export function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Where and why a gzip stream stopped inflating. */
export interface GzipBreak {
  /** `INPUT_GZIP_CORRUPT`, or `INPUT_GZIP_TRAILING_JUNK` when bytes after a whole member are not gzip. */
  code: 'INPUT_GZIP_CORRUPT' | 'INPUT_GZIP_TRAILING_JUNK';
  /** Compressed byte offset of the break (for corrupt deflate data: where the failing block starts, or after). */
  offset: number;
  /** Bytes inflated (and handed on) before the break. */
  inflated: number;
  /** The input ended inside a member: a cut copy, or the head's own cut. */
  cut: boolean;
  /** The issue text: what happened, where, and what was kept. */
  reason: string;
}

function gzipBreak(code: GzipBreak['code'], what: string, offset: number, inflated: number, cut = false): GzipBreak {
  const kept = inflated > 0 ? `; the ${inflated} bytes inflated before it were read` : '; nothing could be inflated';
  return { code, offset, inflated, cut, reason: `${what} at compressed byte ${offset}${kept}` };
}

/** Node 20.15+; older runtimes skip the check rather than fail. */
const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const MAX_HEADER_FIELD_BYTES = 64 * 1024;

/** Compressed bytes with a cursor: read exact counts, take what is buffered, give back what zlib did not use. */
class ByteReader {
  offset = 0;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, r.value]) : r.value;
    return true;
  }

  /** Exactly `n` bytes, or undefined at the end of the input. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n) if (!(await this.fill())) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** What is buffered (or the next chunk), at most `max` bytes; undefined at the end. */
  async take(max: number): Promise<Buffer | undefined> {
    if (this.buf.length === 0 && !(await this.fill())) return undefined;
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  unread(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.buf = this.buf.length > 0 ? Buffer.concat([bytes, this.buf]) : bytes;
    this.offset -= bytes.length;
  }
}

/** A gzip member header (RFC 1952): true when well formed, consumed up to the deflate data. */
async function readMemberHeader(input: ByteReader): Promise<boolean> {
  const fixed = await input.read(10);
  if (fixed?.[0] !== 0x1f || fixed[1] !== 0x8b || fixed[2] !== 8 || (fixed[3] & 0xe0) !== 0) return false;
  const flags = fixed[3];
  if (flags & 4) {
    const len = await input.read(2);
    if (!len || !(await input.read(len.readUInt16LE(0)))) return false;
  }
  for (const bit of [8, 16]) {
    if (!(flags & bit)) continue;
    // a zero-terminated name or comment, bounded
    let n = 0;
    for (;;) {
      const b = await input.read(1);
      if (!b || ++n > MAX_HEADER_FIELD_BYTES) return false;
      if (b[0] === 0) break;
    }
  }
  if (flags & 2 && !(await input.read(2))) return false;
  return true;
}

/** Write one slice to the inflater; resolves with its error, if any (its output arrives through 'data'). */
function inflateStep(inflater: zlib.InflateRaw, slice: Buffer): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const onError = (err: Error) => resolve(err);
    inflater.once('error', onError);
    inflater.write(slice, (err) => {
      inflater.off('error', onError);
      resolve(err ?? undefined);
    });
  });
}

/**
 * Inflate a stream of gzip chunks member by member (RFC 1952), ending (not throwing) where the data
 * breaks, which `onBreak` reports with its offset: a bad header, corrupt deflate data, a CRC or length
 * that does not match, an input cut inside a member, or junk after the last member (zero padding is
 * fine). Everything that inflated before the break is yielded; a failing read of the input rethrows.
 */
export async function* inflateChunks(
  compressed: AsyncIterable<Buffer>,
  onBreak: (b: GzipBreak) => void,
): AsyncGenerator<Buffer> {
  const input = new ByteReader(compressed[Symbol.asyncIterator]());
  let inflated = 0;
  for (let member = 0; ; member++) {
    const start = input.offset;
    if (member > 0) {
      const next = await input.take(HEAD_SLICE_BYTES);
      if (!next) return;
      if (next[0] === 0) {
        // zero padding (tape blocks, preallocated files) to the end is not junk
        let chunk: Buffer | undefined = next;
        let at = start;
        while (chunk) {
          const nonZero = chunk.findIndex((b) => b !== 0);
          if (nonZero !== -1) {
            onBreak(
              gzipBreak('INPUT_GZIP_TRAILING_JUNK', 'data after zero padding is not gzip', at + nonZero, inflated),
            );
            return;
          }
          at += chunk.length;
          chunk = await input.take(INFLATE_CHUNK_BYTES);
        }
        return;
      }
      input.unread(next);
    }
    if (!(await readMemberHeader(input))) {
      onBreak(
        member === 0
          ? gzipBreak('INPUT_GZIP_CORRUPT', 'not a valid gzip header', start, inflated, input.offset === start)
          : gzipBreak('INPUT_GZIP_TRAILING_JUNK', 'data after the gzip stream is not gzip', start, inflated),
      );
      return;
    }
    const inflater = zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES, flush: zlib.constants.Z_SYNC_FLUSH });
    const out: Buffer[] = [];
    inflater.on('data', (chunk: Buffer) => out.push(chunk));
    let crc = 0;
    let size = 0;
    try {
      for (;;) {
        const bodyStart = input.offset;
        const before = inflater.bytesWritten;
        const slice = await input.take(INFLATE_CHUNK_BYTES);
        if (!slice) {
          onBreak(gzipBreak('INPUT_GZIP_CORRUPT', 'the gzip data is cut short', input.offset, inflated, true));
          return;
        }
        const err = await inflateStep(inflater, slice);
        for (const chunk of out) {
          if (crc32) crc = crc32(chunk, crc);
          size += chunk.length;
          inflated += chunk.length;
          yield chunk;
        }
        out.length = 0;
        if (err) {
          const at = bodyStart + (inflater.bytesWritten - before);
          onBreak(gzipBreak('INPUT_GZIP_CORRUPT', `gzip data cannot be inflated (${err.message})`, at, inflated));
          return;
        }
        const used = inflater.bytesWritten - before;
        if (used < slice.length) {
          // the deflate stream ended inside this slice: the rest is the trailer and what follows
          input.unread(slice.subarray(used));
          break;
        }
      }
    } finally {
      inflater.destroy();
    }
    const trailerAt = input.offset;
    const trailer = await input.read(8);
    if (!trailer) {
      onBreak(gzipBreak('INPUT_GZIP_CORRUPT', 'the gzip data is cut short (no trailer)', trailerAt, inflated, true));
      return;
    }
    if ((crc32 && trailer.readUInt32LE(0) !== crc >>> 0) || trailer.readUInt32LE(4) !== size % 2 ** 32) {
      onBreak(
        gzipBreak(
          'INPUT_GZIP_CORRUPT',
          "the gzip member's checksum or length does not match its data",
          trailerAt,
          inflated,
        ),
      );
      return;
    }
  }
}

export interface Head {
  /** First bytes of the (inflated) content, at most HEAD_BYTES. */
  head: Buffer;
  gzip: boolean;
  /** The gzip head did not inflate to the end of what was read (the stream reports it again when read). */
  broke?: GzipBreak;
}

/** First bytes of a file, inflated when gzip. */
export async function readHead(path: string): Promise<Head> {
  const fh = await open(path, 'r');
  let raw: Buffer;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    raw = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (!isGzip(raw)) return { head: raw, gzip: false };
  return { ...(await gunzipHead(raw)), gzip: true };
}

/**
 * Inflate the start of a gzip stream (usually cut mid-member) to at most HEAD_BYTES, whatever its
 * ratio: it stops as soon as the head is full. A break before that yields what inflated, and the break
 * (the head's own cut is not one).
 */
export async function gunzipHead(raw: Buffer): Promise<{ head: Buffer; broke?: GzipBreak }> {
  const slices = async function* () {
    for (let i = 0; i < raw.length; i += HEAD_SLICE_BYTES) yield raw.subarray(i, i + HEAD_SLICE_BYTES);
  };
  let broke: GzipBreak | undefined;
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of inflateChunks(slices(), (b) => {
    broke = b;
  })) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= HEAD_BYTES) break;
  }
  const head = Buffer.concat(parts).subarray(0, HEAD_BYTES);
  // the head is only the first HEAD_BYTES of the file: running out there is not a break
  return broke && !(broke.cut && raw.length >= HEAD_BYTES) ? { head, broke } : { head };
}

/**
 * The content as chunks, inflated when `gzip`. When the gzip data breaks, the chunks end after what
 * inflated and `onBreak` says where; a read error of the file itself surfaces from the iterator.
 */
export function openChunks(path: string, gzip: boolean, onBreak: (b: GzipBreak) => void): AsyncIterable<Buffer> {
  const file = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  return gzip ? inflateChunks(file, onBreak) : file;
}
