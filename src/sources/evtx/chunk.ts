/**
 * EVTX chunks: 64 KiB blocks after the file header. Header (512 bytes): `ElfChnk\0`, first/last
 * record numbers and ids, header size (128), last record offset (0x2c), free space offset (0x30),
 * event records CRC32 (0x34, over bytes 512..free space), header CRC32 (0x7c, over 0..120 and
 * 128..512), string and template tables (0x80, 0x180). Records: `**\0\0`, size, record id (u64),
 * FILETIME, BinXML, size again. One function reads a chunk for the stream reader and the buffer API.
 */
import { crc32 } from 'node:zlib';
import { winEventFromXml } from '../evtx-xml.js';
import type { WinEvent } from '../win-event.js';
import { ChunkContext, decodeRecordXml } from './binxml.js';
import { filetimeIso } from './values.js';

export const CHUNK_BYTES = 65536;
const CHUNK_HEADER_BYTES = 512;
const RECORD_HEADER_BYTES = 24;
const CHUNK_MAGIC = Buffer.from('ElfChnk\0', 'latin1');
const RECORD_MAGIC = Buffer.from([0x2a, 0x2a, 0, 0]);
const ZEROS = Buffer.alloc(CHUNK_BYTES);

export interface EvtxRecord {
  chunk: number;
  recordId: number;
  /** record header FILETIME as ISO Z with 7 fractional digits */
  written: string;
  event: WinEvent;
}

export interface EvtxProblem {
  chunk?: number;
  recordId?: number;
  offset: number;
  reason: string;
}

export interface ChunkOptions {
  /** The file is dirty: a stale records checksum is expected, and records may lie past the free space offset. */
  dirty?: boolean;
  hostHint?: string;
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  return buf.subarray(from, to).equals(ZEROS.subarray(0, to - from));
}

function u64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * 4294967296 + buf.readUInt32LE(at);
}

/** A plausible record header at `at` (magic, size within the chunk, size copy at the end); its size or undefined. */
function recordSize(chunk: Buffer, at: number): number | undefined {
  if (at + RECORD_HEADER_BYTES > chunk.length || chunk.readUInt32LE(at) !== 0x2a2a) return undefined;
  const size = chunk.readUInt32LE(at + 4);
  if (size < RECORD_HEADER_BYTES + 4 || at + size > chunk.length) return undefined;
  return chunk.readUInt32LE(at + size - 4) === size ? size : undefined;
}

/** The next plausible record header after `from`, or -1. */
function resync(chunk: Buffer, from: number, to: number): number {
  for (let at = chunk.indexOf(RECORD_MAGIC, from); at >= 0 && at < to; at = chunk.indexOf(RECORD_MAGIC, at + 1))
    if (recordSize(chunk, at) !== undefined) return at;
  return -1;
}

/** One record's event, or why it cannot be read. */
function one(ctx: ChunkContext, at: number, size: number, hostHint: string | undefined): WinEvent | string {
  const nodes = decodeRecordXml(ctx, at + RECORD_HEADER_BYTES, at + size - 4);
  if (typeof nodes === 'string') return nodes;
  const root = nodes.find((n) => n.name === 'Event');
  if (!root) return 'record BinXML has no <Event> element';
  const ev = winEventFromXml(root, hostHint);
  if (typeof ev === 'string') return ev;
  return ev;
}

/**
 * Every record and problem in one chunk's bytes (normally 65536; fewer when the file is cut short),
 * in order. `fileOffset` is where the chunk starts in the file, for problem offsets. Never throws.
 */
export function* parseChunk(
  chunk: Buffer,
  index: number,
  fileOffset: number,
  opts: ChunkOptions = {},
): Generator<EvtxRecord | EvtxProblem> {
  const problem = (at: number, reason: string, recordId?: number): EvtxProblem =>
    recordId === undefined
      ? { chunk: index, offset: fileOffset + at, reason }
      : { chunk: index, recordId, offset: fileOffset + at, reason };
  if (isZero(chunk, 0, chunk.length)) return; // never used
  if (chunk.length < CHUNK_HEADER_BYTES) {
    yield problem(0, `chunk cut short: ${chunk.length} bytes, its header alone is 512`);
    return;
  }
  if (!chunk.subarray(0, 8).equals(CHUNK_MAGIC)) {
    yield problem(0, 'no "ElfChnk\\0" magic: not a chunk; skipped');
    return;
  }
  if (chunk.length < CHUNK_BYTES) yield problem(chunk.length, `file ends ${chunk.length} bytes into this chunk`);
  const headerCrc = crc32(chunk.subarray(128, CHUNK_HEADER_BYTES), crc32(chunk.subarray(0, 120)));
  if (headerCrc !== chunk.readUInt32LE(0x7c)) {
    if (!opts.dirty) {
      yield problem(0x7c, 'chunk header checksum mismatch; chunk skipped');
      return;
    }
    yield problem(0x7c, 'chunk header checksum mismatch in a dirty file; records checked one by one');
  }
  const free = chunk.readUInt32LE(0x30);
  let limit = chunk.length;
  if (free >= CHUNK_HEADER_BYTES && free <= chunk.length) limit = free;
  else if (free > CHUNK_BYTES || free < CHUNK_HEADER_BYTES)
    yield problem(0x30, `free space offset 0x${free.toString(16)} is outside the chunk; records checked one by one`);
  if (limit === free && !opts.dirty && chunk.length === CHUNK_BYTES) {
    const dataCrc = crc32(chunk.subarray(CHUNK_HEADER_BYTES, free));
    if (dataCrc !== chunk.readUInt32LE(0x34))
      yield problem(0x34, 'event records checksum mismatch; records checked one by one');
  }
  // a dirty file's chunk may hold records written after its header was last updated
  const scanEnd = opts.dirty ? chunk.length : limit;
  const ctx = new ChunkContext(chunk);
  let at = CHUNK_HEADER_BYTES;
  while (at + RECORD_HEADER_BYTES <= scanEnd) {
    const size = recordSize(chunk, at);
    if (size === undefined) {
      if (at >= limit || isZero(chunk, at, Math.min(limit, chunk.length))) break; // slack after the last record
      const magicOk = chunk.readUInt32LE(at) === 0x2a2a;
      const id = magicOk ? u64(chunk, at + 8) : undefined;
      const next = resync(chunk, at + 1, limit);
      const lost = next < 0 ? 'the rest of the chunk' : `${next - at} bytes`;
      yield problem(
        at,
        magicOk
          ? `record size ${chunk.readUInt32LE(at + 4)} is invalid; ${lost} skipped`
          : `no record magic; ${lost} skipped`,
        id,
      );
      if (next < 0) break;
      at = next;
      continue;
    }
    const recordId = u64(chunk, at + 8);
    let ev: WinEvent | string;
    try {
      ev = one(ctx, at, size, opts.hostHint);
    } catch (e) {
      ev = `record could not be read: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (typeof ev === 'string') yield problem(at, ev, recordId);
    else yield { chunk: index, recordId, written: filetimeIso(chunk, at + 16), event: ev };
    at += size;
  }
}
