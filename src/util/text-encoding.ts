/**
 * Text that does not arrive as UTF-8: a file starting with a UTF-16 byte-order mark (PowerShell 5.1's `>`
 * and `Out-File` write UTF-16LE with one, so Windows exports often reach an analyst so) is decoded to UTF-8,
 * head and stream, before anything sniffs or reads it; a UTF-8 byte-order mark is dropped. Streaming and
 * bounded: one chunk in, one chunk out, at most a code unit carried between them. Damage (a lone last byte,
 * an unpaired surrogate) becomes U+FFFD or is dropped, and is reported once per stream, never thrown.
 */
import { HEAD_BYTES } from './input.js';

export type TextEncoding = 'utf8-bom' | 'utf16le' | 'utf16be';

/** What was wrong with a UTF-16 stream: the code, the (1-based) line of the first damage, and the text. */
export interface TextDamage {
  code: 'INPUT_UTF16_ODD_BYTE' | 'INPUT_UTF16_BAD_SURROGATE';
  line: number;
  reason: string;
}

const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');
/** An unpaired surrogate: in a `u` regex a well-formed pair is one code point, never `Cs`. */
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * The encoding a byte-order mark at the start says, or undefined for anything else (read as UTF-8).
 * `FF FE 00 00` is UTF-32LE's mark (or UTF-16 text opening with a NUL): not taken for UTF-16.
 */
export function textEncodingOf(head: Buffer): TextEncoding | undefined {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf8-bom';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf16be';
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe && !(head[2] === 0 && head[3] === 0)) return 'utf16le';
  return undefined;
}

/** UTF-16 code units (big-endian ones swapped, in a copy) as little-endian, for `toString('utf16le')`. */
function littleEndian(bytes: Buffer, encoding: TextEncoding): Buffer {
  return encoding === 'utf16be' ? Buffer.from(bytes).swap16() : bytes;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/**
 * The head (the first bytes of the content) as UTF-8 without its mark, at most HEAD_BYTES and cut on a
 * character. The head's own cut (half a code unit, half a pair) is left out: the stream reads it whole.
 */
export function decodeHead(head: Buffer, encoding: TextEncoding): Buffer {
  if (encoding === 'utf8-bom') return head.subarray(3);
  const units = littleEndian(head.subarray(2, 2 + ((head.length - 2) & ~1)), encoding);
  let end = units.length;
  if (end >= 2 && isHighSurrogate(units.readUInt16LE(end - 2))) end -= 2;
  const text = Buffer.from(units.toString('utf16le', 0, end), 'utf8');
  if (text.length <= HEAD_BYTES) return text;
  let cut = HEAD_BYTES;
  while (cut > 0 && (text[cut] & 0xc0) === 0x80) cut--; // back to the start of the character cut in two
  return text.subarray(0, cut);
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let at = buf.indexOf(10); at !== -1; at = buf.indexOf(10, at + 1)) n++;
  return n;
}

/**
 * The content as UTF-8 chunks, its byte-order mark dropped. An unpaired surrogate becomes U+FFFD and a
 * lone last byte (a copy cut mid-character) is dropped; `onDamage` hears of each kind once, at the end,
 * with the first one's line and byte offset and how many there were.
 */
export async function* decodeChunks(
  chunks: AsyncIterable<Buffer>,
  encoding: TextEncoding,
  onDamage: (damage: TextDamage) => void,
): AsyncGenerator<Buffer> {
  let skip = encoding === 'utf8-bom' ? 3 : 2;
  if (encoding === 'utf8-bom') {
    for await (const chunk of chunks) {
      const rest = skip > 0 ? chunk.subarray(Math.min(skip, chunk.length)) : chunk;
      skip = Math.max(0, skip - chunk.length);
      if (rest.length > 0) yield rest;
    }
    return;
  }
  /** Bytes not yet decoded: half a code unit, or a high surrogate waiting for its pair. */
  let carry: Buffer | undefined;
  /** Content offset of what is decoded next (the carry's first byte). */
  let offset = 0;
  let newlines = 0;
  let bad = 0;
  let firstBad: { offset: number; line: number } | undefined;
  const noteBad = (text: string, at: number) => {
    if (bad++ > 0) return;
    let line = newlines + 1;
    for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) line++;
    firstBad = { offset: offset + 2 * at, line };
  };
  for await (const chunk of chunks) {
    let bytes = chunk;
    if (skip > 0) {
      const n = Math.min(skip, bytes.length);
      bytes = bytes.subarray(n);
      skip -= n;
      offset += n;
    }
    if (carry) bytes = Buffer.concat([carry, bytes]);
    const even = bytes.length & ~1;
    const units = littleEndian(bytes.subarray(0, even), encoding);
    let end = even;
    // a pair split between chunks is decoded with the next one
    if (end >= 2 && isHighSurrogate(units.readUInt16LE(end - 2))) end -= 2;
    carry = end < bytes.length ? Buffer.from(bytes.subarray(end)) : undefined;
    if (end === 0) continue;
    const text = units.toString('utf16le', 0, end);
    LONE_SURROGATE.lastIndex = 0;
    for (let m = LONE_SURROGATE.exec(text); m; m = LONE_SURROGATE.exec(text)) noteBad(text, m.index);
    // Buffer.from writes an unpaired surrogate as U+FFFD
    const out = Buffer.from(text, 'utf8');
    newlines += countNewlines(out);
    offset += end;
    yield out;
  }
  if (carry && carry.length >= 2) {
    // a high surrogate the content ended after
    noteBad('', 0);
    yield REPLACEMENT;
  }
  if (bad > 0 && firstBad)
    onDamage({
      code: 'INPUT_UTF16_BAD_SURROGATE',
      line: firstBad.line,
      reason: `${bad} unpaired UTF-16 surrogate${bad === 1 ? '' : 's'}, the first at byte ${firstBad.offset}; read as U+FFFD`,
    });
  if (carry && carry.length % 2 === 1)
    onDamage({
      code: 'INPUT_UTF16_ODD_BYTE',
      line: newlines + 1,
      reason: `the UTF-16 text ends with half a character (byte ${offset + carry.length - 1}, a cut copy?); the byte was dropped`,
    });
}
