/**
 * Test-only EVTX writer: WinEvents → a valid binary `.evtx` file, so the reader, the fuzzer and the
 * bench have input whose every value is known. Layout as Windows writes it (MS-EVEN6, libevtx notes):
 *
 * - file header (4096 bytes): `ElfFile\0`, first/last chunk, next record id, header size 128,
 *   version 3.1, block size 4096, chunk count, flags (1 dirty, 2 full), CRC32 of bytes 0..0x78;
 * - 64 KiB chunks: `ElfChnk\0`, first/last record numbers and ids, last record and free space
 *   offsets, CRC32 of the records (0x200..free), header CRC32 (0..0x78 + 0x80..0x200), the string
 *   table (64 buckets, name hash % 64, chained) and the template table (32 buckets, chained);
 * - records: `**\0\0`, size, id, written FILETIME, BinXML (ending in the end-of-stream token, padded
 *   to a multiple of 8 bytes), size again.
 *
 * Each record's BinXML is a fragment header plus one template instance. The template (one per event
 * shape: provider, channel and the EventData names and types) is defined inline on its first use in a
 * chunk and referenced by offset afterwards; element and attribute names are inline name structures on
 * first use in a chunk and chunk-offset references afterwards. Every System value and every EventData
 * value is a substitution: EventID/Task uint16, Version/Level/Opcode uint8, Keywords HexInt64,
 * TimeCreated FILETIME, EventRecordID uint64, Execution uint32, Security@UserID SID, Provider@Guid and
 * Correlation@ActivityID GUID (absent ones are NULL optional substitutions, dropped when rendered),
 * Computer and Data values strings unless `dataTypes` names another type for a Data name.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { WinEvent } from '../../src/sources/win-event.js';

export const FILE_HEADER_BYTES = 4096;
export const CHUNK_BYTES = 65536;
const CHUNK_HEADER_BYTES = 512;
const NS = 'http://schemas.microsoft.com/win/2004/08/events/event';
/** FILETIME ticks (100 ns) between 1601-01-01 and 1970-01-01. */
const EPOCH_TICKS = 116444736000000000n;

/** The value types the writer can put in a substitution. */
export type EvtxValueType =
  | 'string'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'hex32'
  | 'hex64'
  | 'bool'
  | 'guid'
  | 'sid'
  | 'filetime'
  | 'binary';

const TYPE_CODES: Record<EvtxValueType, number> = {
  string: 0x01,
  uint8: 0x04,
  uint16: 0x06,
  uint32: 0x08,
  uint64: 0x0a,
  bool: 0x0d,
  binary: 0x0e,
  guid: 0x0f,
  filetime: 0x11,
  sid: 0x13,
  hex32: 0x14,
  hex64: 0x15,
};
const T_NULL = 0x00;

/** System values a WinEvent does not carry; defaults are what Sysmon writes. */
export interface EvtxSystemExtras {
  /** `{xxxxxxxx-xxxx-…}`; absent: a NULL optional substitution. */
  providerGuid?: string;
  version?: number;
  level?: number;
  task?: number;
  opcode?: number;
  /** `0x…` (HexInt64). */
  keywords?: string;
  /** Correlation@ActivityID. */
  activityId?: string;
  /** Per Data name, the substitution type of its value (default `string`). */
  dataTypes?: Record<string, EvtxValueType>;
}

export type EvtxWriterEvent = WinEvent & EvtxSystemExtras;

export interface EvtxWriterOptions {
  /** Set the file header's dirty flag (1). */
  dirty?: boolean;
  /** Set the file header's full flag (2). */
  full?: boolean;
  /** At most this many records per chunk (default: as many as fit in 64 KiB). */
  recordsPerChunk?: number;
  /** Write this chunk count in the file header instead of the real one (a stale header). */
  headerChunkCount?: number;
  /** Write this next record id in the file header instead of the real one. */
  headerNextRecordId?: number;
  /** Zeroed 64 KiB blocks after the last chunk (a preallocated, never-used tail). */
  emptyChunks?: number;
  /** Id of the first record when the events carry none (default 1); later ones count up. */
  firstRecordId?: number;
}

export interface EvtxRecordLayout {
  chunk: number;
  recordId: number;
  /** File offset of the record header. */
  offset: number;
  size: number;
  /** File offset of the record's template instance token (0x0c). */
  instanceOffset: number;
  /** Whether the template is defined inside this record (its first use in the chunk). */
  residentTemplate: boolean;
}

export interface EvtxLayout {
  buf: Buffer;
  chunks: number;
  records: EvtxRecordLayout[];
}

// ------------------------------------------------------------------ value encoding

/** ISO 8601 (`T` or space, up to 9 fractional digits, `Z`/offset or none = UTC) → FILETIME ticks. */
export function isoToFiletime(iso: string): bigint {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
    iso.trim(),
  );
  if (!m) throw new Error(`not an ISO time: ${iso}`);
  let ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60000;
  }
  const frac = BigInt((m[7] ?? '').padEnd(7, '0').slice(0, 7));
  return BigInt(ms) * 10000n + EPOCH_TICKS + frac;
}

/** FILETIME ticks → `YYYY-MM-DDTHH:MM:SS.fffffffZ`. */
export function filetimeToIso(ticks: bigint): string {
  const unix = ticks - EPOCH_TICKS;
  const sec = unix / 10000000n;
  const frac = unix % 10000000n;
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac.toString().padStart(7, '0')}Z`;
}

function guidBytes(text: string): Buffer {
  const hex = text.trim().replace(/^\{/, '').replace(/\}$/, '');
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(hex);
  if (!m) throw new Error(`not a GUID: ${text}`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Number.parseInt(m[1], 16), 0);
  b.writeUInt16LE(Number.parseInt(m[2], 16), 4);
  b.writeUInt16LE(Number.parseInt(m[3], 16), 6);
  Buffer.from(m[4] + m[5], 'hex').copy(b, 8);
  return b;
}

function sidBytes(text: string): Buffer {
  const parts = text.trim().split('-');
  if (parts.length < 3 || parts[0].toUpperCase() !== 'S' || !parts.slice(1).every((p) => /^\d+$/.test(p)))
    throw new Error(`not a SID: ${text}`);
  const subs = parts.slice(3).map(Number);
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = Number(parts[1]);
  b[1] = subs.length;
  const authority = BigInt(parts[2]);
  b.writeUInt16BE(Number(authority >> 32n), 2);
  b.writeUInt32BE(Number(authority & 0xffffffffn), 4);
  subs.forEach((s, i) => {
    b.writeUInt32LE(s, 8 + 4 * i);
  });
  return b;
}

function intOf(text: string, max: bigint, what: string): bigint {
  const s = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(s) ? BigInt(s) : /^\d+$/.test(s) ? BigInt(s) : undefined;
  if (n === undefined || n > max) throw new Error(`not a ${what}: ${text}`);
  return n;
}

/** A value as substitution bytes of its type. Empty strings are NULL, as Windows writes them. */
export function encodeValue(type: EvtxValueType, text: string): { type: number; bytes: Buffer } {
  if (text === '' && type !== 'binary') return { type: T_NULL, bytes: Buffer.alloc(0) };
  const code = TYPE_CODES[type];
  const fixed = (n: number, write: (b: Buffer) => void) => {
    const b = Buffer.alloc(n);
    write(b);
    return { type: code, bytes: b };
  };
  switch (type) {
    case 'string':
      return { type: code, bytes: Buffer.from(text, 'utf16le') };
    case 'uint8':
      return fixed(1, (b) => b.writeUInt8(Number(intOf(text, 0xffn, 'uint8'))));
    case 'uint16':
      return fixed(2, (b) => b.writeUInt16LE(Number(intOf(text, 0xffffn, 'uint16'))));
    case 'uint32':
    case 'hex32':
      return fixed(4, (b) => b.writeUInt32LE(Number(intOf(text, 0xffffffffn, type))));
    case 'uint64':
    case 'hex64':
      return fixed(8, (b) => b.writeBigUInt64LE(intOf(text, 0xffffffffffffffffn, type)));
    case 'bool': {
      const v = text.trim().toLowerCase();
      if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw new Error(`not a boolean: ${text}`);
      return fixed(4, (b) => b.writeUInt32LE(v === 'true' || v === '1' ? 1 : 0));
    }
    case 'guid':
      return { type: code, bytes: guidBytes(text) };
    case 'sid':
      return { type: code, bytes: sidBytes(text) };
    case 'filetime':
      return fixed(8, (b) => b.writeBigUInt64LE(isoToFiletime(text)));
    case 'binary': {
      if (!/^(?:[0-9a-f]{2})*$/i.test(text.trim())) throw new Error(`not hex: ${text}`);
      return { type: code, bytes: Buffer.from(text.trim(), 'hex') };
    }
  }
}

// ------------------------------------------------------------------ templates

type Slot = { lit: string } | { sub: number; type: number };
interface TElem {
  name: string;
  attrs: Array<[string, Slot]>;
  /** Text content (one slot) or child elements. */
  content: Slot | TElem[] | undefined;
}

interface Value {
  type: number;
  bytes: Buffer;
}

/** System substitution indices, in the order Windows' own System template uses them. */
const S = {
  level: 0,
  opcode: 1,
  task: 2,
  eventId: 3,
  qualifiers: 4,
  keywords: 5,
  time: 6,
  activityId: 7,
  pid: 8,
  tid: 9,
  recordId: 10,
  version: 11,
  userId: 12,
  computer: 13,
  relatedActivityId: 14,
  providerGuid: 15,
} as const;
const FIRST_DATA = 16;

function sub(index: number, type: EvtxValueType): Slot {
  return { sub: index, type: TYPE_CODES[type] };
}

function el(name: string, attrs: Array<[string, Slot]> = [], content?: Slot | TElem[]): TElem {
  return { name, attrs, content };
}

/** The event's template and its substitution values. */
function shape(ev: EvtxWriterEvent, recordId: number): { root: TElem; values: Value[] } {
  const values: Value[] = [];
  const set = (i: number, type: EvtxValueType, text: string | number | undefined) => {
    values[i] = text === undefined ? { type: T_NULL, bytes: Buffer.alloc(0) } : encodeValue(type, String(text));
  };
  set(S.level, 'uint8', ev.level ?? 4);
  set(S.opcode, 'uint8', ev.opcode ?? 0);
  set(S.task, 'uint16', ev.task ?? 0);
  set(S.eventId, 'uint16', ev.eventId);
  set(S.qualifiers, 'uint16', undefined);
  set(S.keywords, 'hex64', ev.keywords ?? '0x8000000000000000');
  set(S.time, 'filetime', ev.timeCreated);
  set(S.activityId, 'guid', ev.activityId);
  set(S.pid, 'uint32', ev.executionPid);
  set(S.tid, 'uint32', ev.executionTid);
  set(S.recordId, 'uint64', recordId);
  set(S.version, 'uint8', ev.version ?? 0);
  set(S.userId, 'sid', ev.userSid);
  set(S.computer, 'string', ev.computer);
  set(S.relatedActivityId, 'guid', undefined);
  set(S.providerGuid, 'guid', ev.providerGuid);
  const system = el(
    'System',
    [],
    [
      el('Provider', [
        ['Name', { lit: ev.provider }],
        ['Guid', sub(S.providerGuid, 'guid')],
      ]),
      el('EventID', [['Qualifiers', sub(S.qualifiers, 'uint16')]], sub(S.eventId, 'uint16')),
      el('Version', [], sub(S.version, 'uint8')),
      el('Level', [], sub(S.level, 'uint8')),
      el('Task', [], sub(S.task, 'uint16')),
      el('Opcode', [], sub(S.opcode, 'uint8')),
      el('Keywords', [], sub(S.keywords, 'hex64')),
      el('TimeCreated', [['SystemTime', sub(S.time, 'filetime')]]),
      el('EventRecordID', [], sub(S.recordId, 'uint64')),
      el('Correlation', [
        ['ActivityID', sub(S.activityId, 'guid')],
        ['RelatedActivityID', sub(S.relatedActivityId, 'guid')],
      ]),
      el('Execution', [
        ['ProcessID', sub(S.pid, 'uint32')],
        ['ThreadID', sub(S.tid, 'uint32')],
      ]),
      el('Channel', [], ev.channel === '' ? undefined : { lit: ev.channel }),
      el('Computer', [], sub(S.computer, 'string')),
      el('Security', [['UserID', sub(S.userId, 'sid')]]),
    ],
  );
  const data: TElem[] = [];
  let unnamed = 0;
  let binary: TElem | undefined;
  for (const [name, text] of Object.entries(ev.data)) {
    const i = FIRST_DATA + data.length + (binary ? 1 : 0);
    if (name === 'Binary' && /^(?:[0-9a-f]{2})+$/i.test(text)) {
      binary = el('Binary', [], sub(i, 'binary'));
      set(i, 'binary', text);
      continue;
    }
    const type = ev.dataTypes?.[name] ?? 'string';
    set(i, type, text);
    // `param1`, `param2`, … in order are unnamed <Data> elements (the reader numbers them back)
    if (name === `param${unnamed + 1}`) {
      unnamed++;
      data.push(el('Data', [], sub(i, type)));
    } else data.push(el('Data', [['Name', { lit: name }]], sub(i, type)));
  }
  if (binary) data.push(binary);
  const root = el('Event', [['xmlns', { lit: NS }]], [system, el('EventData', [], data)]);
  return { root, values };
}

function templateKey(t: TElem): string {
  return JSON.stringify(t);
}

// ------------------------------------------------------------------ bytes

/** A growable byte buffer whose first byte sits at chunk offset `base`. */
class Out {
  buf = Buffer.alloc(4096);
  len = 0;
  constructor(readonly base: number) {}
  get pos(): number {
    return this.base + this.len;
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(n: number): void {
    this.room(1);
    this.buf[this.len++] = n;
  }
  u16(n: number): void {
    this.room(2);
    this.buf.writeUInt16LE(n, this.len);
    this.len += 2;
  }
  u32(n: number): void {
    this.room(4);
    this.buf.writeUInt32LE(n >>> 0, this.len);
    this.len += 4;
  }
  u64(n: bigint): void {
    this.room(8);
    this.buf.writeBigUInt64LE(n, this.len);
    this.len += 8;
  }
  raw(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
  /** Reserves a u32 to patch later; returns its index in this buffer. */
  hole(): number {
    this.u32(0);
    return this.len - 4;
  }
  patch(at: number, n: number): void {
    this.buf.writeUInt32LE(n >>> 0, at);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** libevtx's name hash: h = h * 65599 + c over the UTF-16 code units, low 16 bits kept. */
export function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 65599) + name.charCodeAt(i)) >>> 0;
  return h & 0xffff;
}

interface TemplateRef {
  offset: number;
  id: number;
  guid: Buffer;
}

/** One chunk being filled: names and templates defined so far, table heads, records. */
class ChunkBuilder {
  readonly buf = Buffer.alloc(CHUNK_BYTES);
  free = CHUNK_HEADER_BYTES;
  lastRecord = 0;
  firstId = -1;
  lastId = -1;
  count = 0;
  private names = new Map<string, number>();
  private templates = new Map<string, TemplateRef>();
  private stringHeads = new Array<number>(64).fill(0);
  private templateHeads = new Array<number>(32).fill(0);
  /** Undo log for the record being encoded (rolled back when it does not fit). */
  private undo: Array<() => void> = [];

  private nameRef(o: Out, name: string): void {
    const known = this.names.get(name);
    if (known !== undefined) {
      o.u32(known);
      return;
    }
    const at = o.pos + 4;
    o.u32(at);
    const hash = nameHash(name);
    const bucket = hash % 64;
    o.u32(this.stringHeads[bucket]);
    o.u16(hash);
    o.u16(name.length);
    o.raw(Buffer.from(name, 'utf16le'));
    o.u16(0);
    const head = this.stringHeads[bucket];
    this.stringHeads[bucket] = at;
    this.names.set(name, at);
    this.undo.push(() => {
      this.stringHeads[bucket] = head;
      this.names.delete(name);
    });
  }

  private slot(o: Out, s: Slot): void {
    if ('lit' in s) {
      o.u8(0x05);
      o.u8(0x01);
      o.u16(s.lit.length);
      o.raw(Buffer.from(s.lit, 'utf16le'));
    } else {
      // optional substitution (0x0e), as Windows writes System and EventData values
      o.u8(0x0e);
      o.u16(s.sub);
      o.u8(s.type);
    }
  }

  private element(o: Out, e: TElem): void {
    o.u8(e.attrs.length > 0 ? 0x41 : 0x01);
    o.u16(0xffff); // dependency id: none
    const size = o.hole();
    this.nameRef(o, e.name);
    if (e.attrs.length > 0) {
      const attrSize = o.hole();
      e.attrs.forEach(([name, value], i) => {
        o.u8(i < e.attrs.length - 1 ? 0x46 : 0x06);
        this.nameRef(o, name);
        this.slot(o, value);
      });
      o.patch(attrSize, o.len - attrSize - 4);
    }
    if (e.content === undefined || (Array.isArray(e.content) && e.content.length === 0)) o.u8(0x03);
    else {
      o.u8(0x02);
      if (Array.isArray(e.content)) for (const c of e.content) this.element(o, c);
      else this.slot(o, e.content);
      o.u8(0x04);
    }
    o.patch(size, o.len - size - 4);
  }

  /** The record's bytes at the free space offset, or undefined when it does not fit (state rolled back). */
  encode(ev: EvtxWriterEvent, recordId: number): { bytes: Buffer; instance: number; resident: boolean } | undefined {
    this.undo = [];
    const { root, values } = shape(ev, recordId);
    const o = new Out(this.free);
    o.u32(0x2a2a);
    const size = o.hole();
    o.u64(BigInt(recordId));
    o.u64(isoToFiletime(ev.timeCreated));
    o.raw(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
    const instance = o.pos;
    const key = templateKey(root);
    let t = this.templates.get(key);
    const resident = t === undefined;
    o.u8(0x0c);
    o.u8(0x01);
    if (t === undefined) {
      const guid = createHash('sha1').update(key).digest().subarray(0, 16);
      t = { offset: o.pos + 8, id: guid.readUInt32LE(0), guid };
      o.u32(t.id);
      o.u32(t.offset);
      const bucket = t.id % 32;
      o.u32(this.templateHeads[bucket]);
      o.raw(guid);
      const dataLen = o.hole();
      o.raw(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
      this.element(o, root);
      o.u8(0x00);
      o.patch(dataLen, o.len - dataLen - 4);
      const head = this.templateHeads[bucket];
      this.templateHeads[bucket] = t.offset;
      this.templates.set(key, t);
      this.undo.push(() => {
        this.templateHeads[bucket] = head;
        this.templates.delete(key);
      });
    } else {
      o.u32(t.id);
      o.u32(t.offset);
    }
    o.u32(values.length);
    for (const v of values) {
      if (v.bytes.length > 0xffff) throw new Error(`a value of ${v.bytes.length} bytes does not fit a substitution`);
      o.u16(v.bytes.length);
      o.u8(v.type);
      o.u8(0);
    }
    for (const v of values) o.raw(v.bytes);
    o.u8(0x00); // end of stream: the record's fragment ends after the instance's values
    while ((o.len + 4) % 8 !== 0) o.u8(0); // Windows sizes records in multiples of 8
    o.u32(o.len + 4);
    o.patch(size, o.len);
    if (this.free + o.len > CHUNK_BYTES) {
      for (const u of this.undo.reverse()) u();
      return undefined;
    }
    return { bytes: o.bytes(), instance, resident };
  }

  add(bytes: Buffer, recordId: number): void {
    bytes.copy(this.buf, this.free);
    this.lastRecord = this.free;
    this.free += bytes.length;
    if (this.firstId < 0) this.firstId = recordId;
    this.lastId = recordId;
    this.count++;
  }

  finish(): Buffer {
    const b = this.buf;
    b.write('ElfChnk\0', 0, 'latin1');
    const first = BigInt(Math.max(this.firstId, 0));
    const last = BigInt(Math.max(this.lastId, 0));
    b.writeBigUInt64LE(first, 0x08);
    b.writeBigUInt64LE(last, 0x10);
    b.writeBigUInt64LE(first, 0x18);
    b.writeBigUInt64LE(last, 0x20);
    b.writeUInt32LE(128, 0x28);
    b.writeUInt32LE(this.lastRecord, 0x2c);
    b.writeUInt32LE(this.free, 0x30);
    this.stringHeads.forEach((off, i) => {
      b.writeUInt32LE(off, 0x80 + 4 * i);
    });
    this.templateHeads.forEach((off, i) => {
      b.writeUInt32LE(off, 0x180 + 4 * i);
    });
    fixChunkChecksumsIn(b);
    return b;
  }
}

/** Recomputes a chunk's records CRC (0x34) and header CRC (0x7c) in place. */
function fixChunkChecksumsIn(chunk: Buffer): void {
  const free = chunk.readUInt32LE(0x30);
  chunk.writeUInt32LE(crc32(chunk.subarray(CHUNK_HEADER_BYTES, Math.min(free, chunk.length))), 0x34);
  chunk.writeUInt32LE(crc32(chunk.subarray(0x80, CHUNK_HEADER_BYTES), crc32(chunk.subarray(0, 0x78))), 0x7c);
}

/** Recomputes chunk `index`'s checksums in a whole file (after a deliberate edit of its records). */
export function fixChunkChecksums(file: Buffer, index: number): void {
  const at = FILE_HEADER_BYTES + index * CHUNK_BYTES;
  fixChunkChecksumsIn(file.subarray(at, at + CHUNK_BYTES));
}

/** Recomputes the file header's CRC32 (0x7c over 0..0x78). */
export function fixFileHeaderChecksum(file: Buffer): void {
  file.writeUInt32LE(crc32(file.subarray(0, 0x78)), 0x7c);
}

/** The events as an EVTX file, with where every record landed. */
export function layoutEvtx(events: readonly EvtxWriterEvent[], opts: EvtxWriterOptions = {}): EvtxLayout {
  const chunks: Buffer[] = [];
  const records: EvtxRecordLayout[] = [];
  let current = new ChunkBuilder();
  let nextId = opts.firstRecordId ?? 1;
  const perChunk = opts.recordsPerChunk ?? Number.POSITIVE_INFINITY;
  const place = (ev: EvtxWriterEvent, id: number) => {
    if (current.count >= perChunk) {
      chunks.push(current.finish());
      current = new ChunkBuilder();
    }
    let r = current.encode(ev, id);
    if (r === undefined) {
      if (current.count === 0) throw new Error(`record ${id} does not fit in an empty chunk`);
      chunks.push(current.finish());
      current = new ChunkBuilder();
      r = current.encode(ev, id);
      if (r === undefined) throw new Error(`record ${id} does not fit in an empty chunk`);
    }
    const chunkOffset = FILE_HEADER_BYTES + chunks.length * CHUNK_BYTES;
    records.push({
      chunk: chunks.length,
      recordId: id,
      offset: chunkOffset + current.free,
      size: r.bytes.length,
      instanceOffset: chunkOffset + r.instance,
      residentTemplate: r.resident,
    });
    current.add(r.bytes, id);
  };
  for (const ev of events) {
    const id = ev.recordId ?? nextId;
    place(ev, id);
    nextId = id + 1;
  }
  if (current.count > 0) chunks.push(current.finish());
  const head = Buffer.alloc(FILE_HEADER_BYTES);
  head.write('ElfFile\0', 0, 'latin1');
  head.writeBigUInt64LE(0n, 0x08);
  head.writeBigUInt64LE(BigInt(Math.max(chunks.length - 1, 0)), 0x10);
  head.writeBigUInt64LE(BigInt(opts.headerNextRecordId ?? nextId), 0x18);
  head.writeUInt32LE(128, 0x20);
  head.writeUInt16LE(1, 0x24);
  head.writeUInt16LE(3, 0x26);
  head.writeUInt16LE(FILE_HEADER_BYTES, 0x28);
  head.writeUInt16LE(opts.headerChunkCount ?? chunks.length, 0x2a);
  head.writeUInt32LE((opts.dirty ? 1 : 0) | (opts.full ? 2 : 0), 0x78);
  fixFileHeaderChecksum(head);
  const tail = Buffer.alloc((opts.emptyChunks ?? 0) * CHUNK_BYTES);
  return { buf: Buffer.concat([head, ...chunks, tail]), chunks: chunks.length, records };
}

/** The events as an EVTX file. */
export function writeEvtx(events: readonly EvtxWriterEvent[], opts?: EvtxWriterOptions): Buffer {
  return layoutEvtx(events, opts).buf;
}
