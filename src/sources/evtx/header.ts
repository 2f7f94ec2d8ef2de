/**
 * EVTX file header: the first 4096 bytes. `ElfFile\0`, first/last chunk numbers, next record id,
 * header size (128), version, block size (4096), chunk count at 0x2a, flags at 0x78 (1 = dirty,
 * 2 = full), CRC32 of bytes 0..120 at 0x7c. A dirty file is still read (its chunk count and checksum
 * are often stale); every 64 KiB block after the header is tried, whatever the count says.
 */
import { crc32 } from 'node:zlib';

export const FILE_HEADER_BYTES = 4096;
export const FILE_MAGIC = Buffer.from('ElfFile\0', 'latin1');

export interface EvtxFileHeader {
  chunkCount: number;
  nextRecordId: number;
  majorVersion: number;
  minorVersion: number;
  dirty: boolean;
  full: boolean;
  checksumOk: boolean;
}

/** The header, or why these bytes are not one. */
export function parseFileHeader(buf: Buffer): EvtxFileHeader | string {
  if (buf.length < 128) return `file header is ${buf.length} bytes, expected 4096`;
  if (!buf.subarray(0, 8).equals(FILE_MAGIC)) return 'file does not start with "ElfFile\\0"';
  const flags = buf.readUInt32LE(0x78);
  return {
    nextRecordId: Number(buf.readBigUInt64LE(0x18)),
    minorVersion: buf.readUInt16LE(0x24),
    majorVersion: buf.readUInt16LE(0x26),
    chunkCount: buf.readUInt16LE(0x2a),
    dirty: (flags & 1) !== 0,
    full: (flags & 2) !== 0,
    checksumOk: crc32(buf.subarray(0, 0x78)) === buf.readUInt32LE(0x7c),
  };
}
