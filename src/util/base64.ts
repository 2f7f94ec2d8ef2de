/**
 * Scripts cloud APIs carry base64-encoded (EC2 userData, Azure customData, launch templates): decoded
 * only when the value is strict base64 of text, gunzipped when it is a gzip stream (cloud-init takes
 * both), bounded on the way in and out. Anything else is not decoded: the caller keeps what it read.
 */
import { constants, gunzipSync } from 'node:zlib';

/** Longer than the 16 KiB of user data EC2 takes once encoded; a longer value is decoded from its start only. */
const MAX_ENCODED_CHARS = 64 * 1024;
/** What a gzip'ed script may inflate to before the rest is dropped. */
const MAX_INFLATED_BYTES = 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Controls no script contains: their presence means binary, not text. */
const BINARY = /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/;

function textOfBytes(bytes: Buffer): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  return text === '' || BINARY.test(text) ? undefined : text;
}

/**
 * The text a base64 value encodes (whitespace and line breaks inside it ignored), or undefined when it
 * is not base64, or decodes to bytes that are not text. Over-long values decode from their start.
 */
export function decodeBase64Text(value: string): string | undefined {
  const compact = value.slice(0, MAX_ENCODED_CHARS).replace(/\s+/g, '');
  // a clipped value decodes whole quanta only
  const usable = value.length > MAX_ENCODED_CHARS ? compact.slice(0, compact.length - (compact.length % 4)) : compact;
  if (usable.length < 4 || usable.length % 4 !== 0 || !BASE64.test(usable)) return undefined;
  const bytes = Buffer.from(usable, 'base64');
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    let inflated: Buffer;
    try {
      // a cut stream inflates as far as it goes
      inflated = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED_BYTES });
    } catch {
      return undefined;
    }
    return textOfBytes(inflated);
  }
  return textOfBytes(bytes);
}
