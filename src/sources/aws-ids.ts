/** AWS identifiers as our readers accept them: an EC2 instance id, alone or named inside a label or file name. */

/** `i-` and 8 (older instances) or 17 lowercase hex digits. */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** How much of a free text is searched for an instance id. */
const MAX_SCAN_CHARS = 1024;

/** The value when it is an instance id, else undefined. */
export function instanceIdOf(v: unknown): string | undefined {
  return typeof v === 'string' && INSTANCE_ID.test(v) ? v : undefined;
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
}

function isHex(c: string): boolean {
  return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

/**
 * The first instance id standing as a word of a free text (a metric label, a file name such as
 * `i-0abc…-cpu.json`): `i-` not preceded by a letter or digit, then 8 or 17 hex digits not followed by
 * one. `underscore` also reads `i_0abc…`, since get-metric-data query ids may not hold a hyphen. One
 * pass with a bounded look-ahead; no regex over the hostile text.
 */
export function instanceIdIn(text: string, underscore = false): string | undefined {
  const s = text.slice(0, MAX_SCAN_CHARS).toLowerCase();
  for (let i = 0; i + 9 < s.length + 1; i++) {
    if (s[i] !== 'i' || isAlnum(s[i - 1])) continue;
    const sep = s[i + 1];
    if (sep !== '-' && !(underscore && sep === '_')) continue;
    let n = 0;
    while (n < 18 && i + 2 + n < s.length && isHex(s[i + 2 + n])) n++;
    if ((n === 8 || n === 17) && !isAlnum(s[i + 2 + n])) return `i-${s.slice(i + 2, i + 2 + n)}`;
  }
  return undefined;
}
