/**
 * BinXML substitution values (MS-EVEN6 value types) rendered as text the way Windows renders them in
 * event XML: integers decimal, HexInt `0x…` without padding, GUIDs `{…}` lower case, SIDs `S-1-…`,
 * FILETIME/SYSTEMTIME ISO 8601 `Z` with 7 fractional digits, binary upper-case hex, booleans
 * `true`/`false`. Every read is bounds-checked by the caller's size; nothing here throws.
 */
import type { XmlNode } from '../evtx-xml.js';

/** A decoded substitution: text, NULL, a nested BinXML fragment, or an array (type | 0x80). */
export type Value = string | null | { nodes: XmlNode[] } | { items: string[] };

export const T_NULL = 0x00;
export const T_BINXML = 0x21;
export const MAX_VALUE_CHARS = 64 * 1024;
/** Element sizes of the fixed-size types, for arrays. */
const FIXED: Record<number, number> = {
  3: 1,
  4: 1,
  5: 2,
  6: 2,
  7: 4,
  8: 4,
  9: 8,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  15: 16,
  16: 8,
  17: 8,
  18: 16,
  20: 4,
  21: 8,
};
const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const ZEROS = '0000000';

/** Trailing NULs are terminators, not text. */
function stripNuls(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0) end--;
  return end === s.length ? s : s.slice(0, end);
}

export function utf16(buf: Buffer, from: number, bytes: number): string {
  const n = Math.min(bytes - (bytes & 1), MAX_VALUE_CHARS * 2);
  return stripNuls(buf.toString('utf16le', from, from + n));
}

/** u64 as decimal text; exact without BigInt below 2^53. */
function u64(buf: Buffer, at: number): string {
  const lo = buf.readUInt32LE(at);
  const hi = buf.readUInt32LE(at + 4);
  if (hi === 0) return String(lo);
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  return buf.readBigUInt64LE(at).toString();
}

function hex64(buf: Buffer, at: number): string {
  const lo = buf.readUInt32LE(at);
  const hi = buf.readUInt32LE(at + 4);
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

/** Records in a chunk share seconds: the `YYYY-MM-DDTHH:MM:SS` of the last second formatted. */
let lastSecond = Number.NaN;
let lastPrefix = '';

/** A FILETIME (100 ns ticks since 1601) as `YYYY-MM-DDTHH:MM:SS.fffffffZ`, exact to the tick. */
export function filetimeIso(buf: Buffer, at: number): string {
  const lo = buf.readUInt32LE(at);
  const hi = buf.readUInt32LE(at + 4);
  // split the 64-bit tick count into whole seconds and the rest without losing bits (2^53 < 2^64)
  const hiSec = Math.floor(hi / 10000000);
  const rest = (hi - hiSec * 10000000) * 4294967296 + lo; // < 10^7 * 2^32 + 2^32: exact
  const restSec = Math.floor(rest / 10000000);
  const seconds = hiSec * 4294967296 + restSec;
  const frac = rest - restSec * 10000000;
  if (seconds !== lastSecond) {
    const d = new Date((seconds - 11644473600) * 1000);
    if (Number.isNaN(d.getTime())) return '';
    lastPrefix = d.toISOString().slice(0, -5);
    lastSecond = seconds;
  }
  return `${lastPrefix}.${(ZEROS + frac).slice(-7)}Z`;
}

function systemtimeIso(buf: Buffer, at: number): string {
  const p = (i: number) => buf.readUInt16LE(at + 2 * i);
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  // parts: year, month, day-of-week (unused), day, hour, minute, second, milliseconds
  return `${pad(p(0), 4)}-${pad(p(1), 2)}-${pad(p(3), 2)}T${pad(p(4), 2)}:${pad(p(5), 2)}:${pad(p(6), 2)}.${pad(p(7), 3)}0000Z`;
}

function guid(b: Buffer, at: number): string {
  const h = HEX2;
  return `{${h[b[at + 3]]}${h[b[at + 2]]}${h[b[at + 1]]}${h[b[at]]}-${h[b[at + 5]]}${h[b[at + 4]]}-${h[b[at + 7]]}${h[b[at + 6]]}-${h[b[at + 8]]}${h[b[at + 9]]}-${h[b[at + 10]]}${h[b[at + 11]]}${h[b[at + 12]]}${h[b[at + 13]]}${h[b[at + 14]]}${h[b[at + 15]]}}`;
}

/** A SID at `at` within `end`, and its byte length; undefined when it does not fit. */
function sid(buf: Buffer, at: number, end: number): { text: string; bytes: number } | undefined {
  if (at + 8 > end) return undefined;
  const count = buf[at + 1];
  const bytes = 8 + 4 * count;
  if (at + bytes > end) return undefined;
  const authority = buf.readUInt16BE(at + 2) * 4294967296 + buf.readUInt32BE(at + 4);
  let text = `S-${buf[at]}-${authority}`;
  for (let i = 0; i < count; i++) text += `-${buf.readUInt32LE(at + 8 + 4 * i)}`;
  return { text, bytes };
}

/** One fixed-size or string value of `type` in [at, at+size); undefined when size does not fit the type. */
function scalar(buf: Buffer, type: number, at: number, size: number): string | undefined {
  const need = FIXED[type];
  if (need !== undefined && size < need && !(type === 0x10 && size === 4)) return undefined;
  switch (type) {
    case 0x01:
    case 0x23: // EvtXml: the event's XML as UTF-16 text
      return utf16(buf, at, size);
    case 0x02:
      return stripNuls(buf.toString('latin1', at, at + Math.min(size, MAX_VALUE_CHARS)));
    case 0x03:
      return String(buf.readInt8(at));
    case 0x04:
      return String(buf[at]);
    case 0x05:
      return String(buf.readInt16LE(at));
    case 0x06:
      return String(buf.readUInt16LE(at));
    case 0x07:
      return String(buf.readInt32LE(at));
    case 0x08:
      return String(buf.readUInt32LE(at));
    case 0x09:
      return buf.readBigInt64LE(at).toString();
    case 0x0a:
      return u64(buf, at);
    case 0x0b:
      return String(buf.readFloatLE(at));
    case 0x0c:
      return String(buf.readDoubleLE(at));
    case 0x0d:
      return buf.readInt32LE(at) !== 0 ? 'true' : 'false';
    case 0x0e:
      return buf.toString('hex', at, at + Math.min(size, MAX_VALUE_CHARS / 2)).toUpperCase();
    case 0x0f:
      return guid(buf, at);
    case 0x10: // size_t: 4 or 8 bytes, decimal like python-evtx
    case 0x20: // EvtHandle
      return size >= 8 ? u64(buf, at) : size >= 4 ? String(buf.readUInt32LE(at)) : undefined;
    case 0x11:
      return filetimeIso(buf, at);
    case 0x12:
      return systemtimeIso(buf, at);
    case 0x13:
      return sid(buf, at, at + size)?.text;
    case 0x14:
      return `0x${buf.readUInt32LE(at).toString(16)}`;
    case 0x15:
      return hex64(buf, at);
    default:
      return undefined;
  }
}

/** Array items (type | 0x80): strings split on NUL, fixed-size values by their size, SIDs one after another. */
function array(buf: Buffer, type: number, at: number, size: number): string[] | undefined {
  const end = at + size;
  if (type === 0x01 || type === 0x02) {
    const text =
      type === 0x01
        ? buf.toString('utf16le', at, at + Math.min(size & ~1, MAX_VALUE_CHARS * 2))
        : buf.toString('latin1', at, at + Math.min(size, MAX_VALUE_CHARS));
    const items = text.split('\u0000');
    if (items.length > 1 && items[items.length - 1] === '') items.pop();
    return items;
  }
  const items: string[] = [];
  if (type === 0x13) {
    for (let p = at; p < end && items.length < 4096; ) {
      const s = sid(buf, p, end);
      if (!s) return undefined;
      items.push(s.text);
      p += s.bytes;
    }
    return items;
  }
  const each = FIXED[type];
  if (each === undefined || size % each !== 0) return undefined;
  for (let p = at; p < end; p += each) {
    const v = scalar(buf, type, p, each);
    if (v === undefined) return undefined;
    items.push(v);
  }
  return items;
}

/** The value of `type` in buf[at, at+size), or why it cannot be read. BinXML (0x21) is the caller's: it needs the chunk's templates. */
export function decodeValue(buf: Buffer, type: number, at: number, size: number): Value | { error: string } {
  if (type === T_NULL) return null;
  // a value written with no bytes is absent, whatever its declared type (strings are just empty)
  if (size === 0) return type === 0x01 || type === 0x02 ? '' : null;
  if (type & 0x80) {
    const items = array(buf, type & 0x7f, at, size);
    return items ? { items } : { error: `array of type 0x${type.toString(16)} does not fit its ${size} bytes` };
  }
  const v = scalar(buf, type, at, size);
  if (v !== undefined) return v;
  if (FIXED[type] !== undefined || type === 0x13)
    return { error: `value of type 0x${type.toString(16)} does not fit its ${size} bytes` };
  // an unknown type: its bytes as hex rather than losing the record
  return buf.toString('hex', at, at + Math.min(size, MAX_VALUE_CHARS / 2)).toUpperCase();
}
