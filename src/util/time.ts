/** Time parsing for hostile input: every parser returns undefined rather than throwing or guessing. */

/** Plausible event time range: 1990-01-01 .. 2100-01-01. Outside it a parse is treated as garbage. */
const MIN_MS = 631152000000;
const MAX_MS = 4102444800000;

export function isPlausibleMs(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_MS && ms < MAX_MS;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1-12): whole eras of 400 years, then the rest. */
function daysFromEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  // days since March 1 of the year (March first, so a leap day is the year's last)
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The milliseconds of `YYYY-MM-DDTHH:MM:SS.mmmZ` (toISOString's form) with every part in range and a day
 * no later than the 28th (so no month can roll over), by arithmetic; NaN for any other string. What
 * Date.parse gives such a string, at a fraction of its cost: the NDJSON reader reads one per event.
 */
export function canonicalIsoMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return Number.NaN;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90)
    return Number.NaN;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const ms = digits(s, 20, 3);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23) return Number.NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return Number.NaN;
  return ((daysFromEpoch(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
}

/** ISO 8601 / RFC 3339: a date, a time, a fraction and a zone (or none: UTC). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const ISO_ZONED = /(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$/;
/** Another spelling Date.parse reads (RFC 2822, `Date.toString()`), only when it names its zone. */
const NAMED_ZONE = /(?:\b(?:GMT|UTC|UT)|[+-]\d{4})(?: \([A-Za-z .+-]{1,48}\))?$/;

/**
 * ISO 8601 / RFC 3339 strings, epoch seconds or milliseconds (number or numeric string), and other
 * spellings that name their zone (`Tue, 02 Dec 2026 08:00:05 GMT`). A local-time spelling
 * (`12/2/2026 8:00:05 AM`, `02.12.2026 08:00`) is refused: Date.parse would read it in the machine's
 * zone, and the machine's own zone must never change what a log means (a source that knows its
 * format's zone, e.g. a `[UTC]` column, parses it itself).
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) return undefined;
  // toISOString's form, what most sources write: by arithmetic, as Date.parse would read it
  const canonical = canonicalIsoMs(value);
  if (!Number.isNaN(canonical)) return isPlausibleMs(canonical) ? canonical : undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return fromEpoch(Number(value));
  let text = value;
  if (ISO_TIME.test(value)) {
    // a date and time without a zone is UTC (a date alone Date.parse already reads as UTC)
    if (value.length > 10 && !ISO_ZONED.test(value)) text = `${value.replace(' ', 'T')}Z`;
  } else if (!NAMED_ZONE.test(value)) return undefined;
  const ms = Date.parse(text);
  return isPlausibleMs(ms) ? ms : undefined;
}

/** `12/2/2026, 8:00:05.123 AM`: Log Analytics' (Microsoft Sentinel's) en-US CSV export of a `[UTC]` column. */
const US_DATE_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)? ?([AaPp][Mm])?$/;

/**
 * A US month/day/year time its caller knows to be UTC (a column whose header says `[UTC]`), as
 * milliseconds; undefined for anything else (another locale's order is not guessed).
 */
export function parseUsDateTimeUtc(value: string): number | undefined {
  if (value.length > 40) return undefined;
  const m = US_DATE_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, month, day, year, hour, minute, second, fraction, half] = m;
  let h = Number(hour);
  if (half !== undefined) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (half.toLowerCase() === 'pm' ? 12 : 0);
  }
  const mo = Number(month);
  const d = Number(day);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || Number(minute) > 59 || Number(second ?? 0) > 59)
    return undefined;
  const ms = Date.UTC(
    Number(year),
    mo - 1,
    d,
    h,
    Number(minute),
    Number(second ?? 0),
    Number((fraction ?? '0').padEnd(3, '0').slice(0, 3)),
  );
  // Date.UTC rolls February 30 over into March: such a day is not a date
  if (new Date(ms).getUTCDate() !== d) return undefined;
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

/** How durationText names its units: `short` (`12 min`, `2 h`) or `long` (`12 minutes`, `1 hour`). */
export type DurationUnits = 'short' | 'long';

type Unit = 's' | 'min' | 'h' | 'd';
const UNIT_NAMES: Record<DurationUnits, Record<Unit, readonly [one: string, many: string]>> = {
  short: { s: ['s', 's'], min: ['min', 'min'], h: ['h', 'h'], d: ['d', 'd'] },
  long: { s: ['second', 'seconds'], min: ['minute', 'minutes'], h: ['hour', 'hours'], d: ['day', 'days'] },
};

/**
 * A duration as a reader says it: `40 s`, `12 min`, `2 h 5 min`, `30 h`, `627 d` (at least `1 s`); with
 * `long` units the same figures in words: `40 seconds`, `1 minute`, `2 hours 5 minutes`, `3 days`.
 */
export function durationText(ms: number, units: DurationUnits = 'short'): string {
  const names = UNIT_NAMES[units];
  const say = (n: number, unit: Unit) => `${n} ${names[unit][n === 1 ? 0 : 1]}`;
  if (ms < 60_000) return say(Math.max(1, Math.round(ms / 1000)), 's');
  const min = Math.round(ms / 60_000);
  if (min < 60) return say(min, 'min');
  const h = Math.floor(min / 60);
  if (h >= 72) return say(Math.round(min / 1440), 'd');
  const rest = min % 60;
  return rest === 0 || h >= 10 ? say(h, 'h') : `${say(h, 'h')} ${say(rest, 'min')}`;
}
