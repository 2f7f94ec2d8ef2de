/** Time parsing for hostile input: every parser returns undefined rather than throwing or guessing. */

/** Plausible event time range: 1990-01-01 .. 2100-01-01. Outside it a parse is treated as garbage. */
const MIN_MS = 631152000000;
const MAX_MS = 4102444800000;

export function isPlausibleMs(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_MS && ms < MAX_MS;
}

/** ISO 8601 / RFC 3339 strings, epoch seconds or milliseconds (number or numeric string). */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return fromEpoch(Number(value));
  // a time without a zone is UTC: the machine's own zone must never change what a log means
  const zoneless = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/.test(value);
  const ms = Date.parse(zoneless ? `${value.replace(' ', 'T')}Z` : value);
  return isPlausibleMs(ms) ? ms : undefined;
}

function fromEpoch(n: number): number | undefined {
  if (!Number.isFinite(n)) return undefined;
  // seconds until 2100 are < 4.2e9; anything larger is taken as milliseconds
  const ms = n < 1e11 ? Math.round(n * 1000) : Math.round(n);
  return isPlausibleMs(ms) ? ms : undefined;
}

/** The longest duration anything accepts (policy windows, --sustain, --duration): one year. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/**
 * Parse a duration like `90s`, `15m`, `1h`, `2d`, `500ms`. Undefined for anything else, including
 * values that overflow or exceed MAX_DURATION_MS (`10^30h` is a typo, not a policy).
 */
export function parseDurationMs(text: string): number | undefined {
  if (text.length > 32) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Math.round(Number(m[1]) * unit);
  return Number.isFinite(ms) && ms <= MAX_DURATION_MS ? ms : undefined;
}
