/**
 * Opening inputs: files (gzip transparent, by magic bytes, not by extension) and stdin.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip, gunzipSync, constants as zc } from 'node:zlib';

export const HEAD_BYTES = 64 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;

export function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** First bytes of a file, decompressed when gzip. A corrupt gzip head yields what could be inflated. */
export async function readHead(path: string): Promise<{ head: Buffer; gzip: boolean }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    const raw = buf.subarray(0, bytesRead);
    if (!isGzip(raw)) return { head: raw, gzip: false };
    return { head: gunzipHead(raw), gzip: true };
  } finally {
    await fh.close();
  }
}

/** Inflate the start of a gzip stream (possibly cut mid-block) to at most HEAD_BYTES; a corrupt start yields what could be inflated. */
export function gunzipHead(raw: Buffer): Buffer {
  try {
    return gunzipSync(raw, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: HEAD_BYTES * 64 }).subarray(0, HEAD_BYTES);
  } catch {
    return Buffer.alloc(0);
  }
}

/** The file's content as chunks, gunzipped when `gzip`. Errors (a truncated gzip) surface from the iterator. */
export function openChunks(path: string, gzip: boolean): AsyncIterable<Buffer> {
  const file = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  if (!gzip) return file;
  const gunzip = createGunzip({ chunkSize: READ_CHUNK_BYTES });
  file.on('error', (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}
