/**
 * The terms of one `containers:` or `cloud:` entry (owner, reason, expiry): when it is in force, and how
 * a finding cites it. Expiry is judged against the event time of what the entry would approve (the API
 * write, the launch), never the clock, so re-running the same logs gives the same answer. Pure.
 */
import type { ApprovalTerms } from './policy.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A date-time with its zone: without one the instant would depend on the machine judging it. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const DAY_MS = 86_400_000;
/** The largest time a JavaScript Date holds. */
const MAX_TIME = 8.64e15;

/**
 * The last millisecond an `expires` value approves: a date (`2026-12-31`) through the end of that day,
 * UTC, as the allowlist reads one; a date-time with its zone (`2026-12-31T18:00:00+01:00`) at that
 * instant. Undefined for anything else (no zone, a day that does not exist, another format).
 */
export function expiryMs(expires: string): number | undefined {
  if (typeof expires !== 'string') return undefined;
  const m = DATE.exec(expires) ?? DATE_TIME.exec(expires);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(2000, mo - 1, d));
  day.setUTCFullYear(y);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined;
  if (m.length === 4) return day.getTime() + DAY_MS - 1;
  const [h, min, s, zh, zm] = [m[4], m[5], m[6] ?? '0', m[7] ?? '0', m[8] ?? '0'].map(Number);
  if (h > 23 || min > 59 || s > 59 || zh > 23 || zm > 59) return undefined;
  const ms = Date.parse(expires);
  return Number.isNaN(ms) ? undefined : ms;
}

function knownTime(at: unknown): at is number {
  return typeof at === 'number' && Number.isFinite(at) && Math.abs(at) <= MAX_TIME;
}

/** Whether an entry approves what happened at `at` (ms): it has no expiry, or `at` is not past it. An unknown time is not judged in force. */
export function inForce(terms: ApprovalTerms | undefined, at: unknown): boolean {
  if (terms?.expires === undefined) return true;
  const end = expiryMs(terms.expires);
  return end !== undefined && knownTime(at) && at <= end;
}

/** Owner and reason, as `owner X; reason "Y"`, for the parenthesis that cites an entry. */
function who(terms: ApprovalTerms): string[] {
  const parts: string[] = [];
  if (terms.owner !== undefined) parts.push(`owner ${terms.owner}`);
  if (terms.reason !== undefined) parts.push(`reason ${JSON.stringify(terms.reason)}`);
  return parts;
}

/**
 * The parenthesis citing an entry that approves: its own file:line, owner, reason and expiry
 * (`(coalmine.yaml:44; owner platform@example.com; reason "edge proxy, CHG-2291"; expires 2026-12-31)`),
 * or the section's file:line for an entry written as a plain string.
 */
export function cited(terms: ApprovalTerms | undefined, sectionRef: string): string {
  if (!terms) return `(${sectionRef})`;
  const parts = [terms.ref, ...who(terms)];
  if (terms.expires !== undefined) parts.push(`expires ${terms.expires}`);
  return `(${parts.join('; ')})`;
}

/**
 * An entry that would have approved, but not at `at`: `containers.images "x" (coalmine.yaml:44; owner
 * bob; reason "…") expired 2026-01-31, before this write at 2026-03-01T10:00:00.000Z`. `what` names the
 * event judged (`write`, `launch`).
 */
export function expiredNote(entry: string, terms: ApprovalTerms, at: unknown, what: string): string {
  const where = `${entry} (${[terms.ref, ...who(terms)].join('; ')})`;
  if (expiryMs(terms.expires ?? '') === undefined)
    return `${where} has expires ${JSON.stringify(terms.expires)}, which is not a date, so it approves nothing`;
  if (!knownTime(at)) return `${where} expires ${terms.expires}, and the time of this ${what} is unknown`;
  return `${where} expired ${terms.expires}, before this ${what} at ${new Date(at).toISOString()}`;
}
