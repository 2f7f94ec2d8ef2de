/**
 * `coalmine report --store`: how the SOC worked its cases in a period, from serve's store — cases by
 * state, severity and resolution, how often a closed alert was real, and the medians a security lead
 * tracks: time to detect (first evidence → first alert, the findings' `detected_at`), and from a case's
 * creation to triaged, contained and closed (its audit trail). Reads at most MAX_CASES cases (newest
 * first) and each one's trail: a report, bounded whatever the store holds.
 */

import { existsSync } from 'node:fs';
import type { SocSummary } from '../model/executive.js';
import { SEVERITY_RANK, type Severity } from '../model/finding.js';
import type { StoredCase } from '../store/cases.js';
import { isPostgresLocation, openStore, type Store } from '../store/index.js';
import { median } from '../triage/executive.js';
import { round2 } from '../util/number.js';

const MAX_CASES = 10_000;
const PAGE = 500;
/** Audit rows read per case: a case's trail is a few dozen rows; a hostile one stops here. */
const MAX_TRAIL = 2_000;

/** When a case first reached each state after its creation, from its audit trail. */
async function reached(store: Store, c: StoredCase): Promise<{ triaged?: number; contained?: number }> {
  const out: { triaged?: number; contained?: number } = {};
  let cursor: string | undefined;
  let read = 0;
  do {
    const page = await store.audit.list('case', c.id, { limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const row of page.items) {
      const to = row.detail.to;
      if (row.action !== 'transition' && row.action !== 'close') continue;
      // leaving `new` by any forward move is the end of triage; contained or closed as a true positive ends containment
      out.triaged ??= row.at;
      if (to === 'contained' || (to === 'closed' && row.detail.resolution === 'true-positive'))
        out.contained ??= row.at;
    }
    read += page.items.length;
    cursor = page.next;
  } while (cursor && read < MAX_TRAIL);
  return out;
}

export async function socSummary(store: Store, options: { since?: number; now: number }): Promise<SocSummary> {
  const cases: StoredCase[] = [];
  let truncated = false;
  // the case list is ordered by severity then newest: read it all (bounded), keep the period's
  let cursor: string | undefined;
  do {
    const page = await store.cases.list({}, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const c of page.items) {
      if (options.since !== undefined && c.created_at < options.since) continue;
      if (cases.length >= MAX_CASES) {
        truncated = true;
        break;
      }
      cases.push(c);
    }
    cursor = truncated ? undefined : page.next;
  } while (cursor);
  const byState: Record<string, number> = {};
  const bySeverity: Partial<Record<Severity, number>> = {};
  const byResolution: Record<string, number> = {};
  const detect: number[] = [];
  const triage: number[] = [];
  const contain: number[] = [];
  const close: number[] = [];
  let tier2Open = 0;
  let oldestOpen: number | undefined;
  let cost = 0;
  let currency = '';
  for (const c of cases) {
    byState[c.state] = (byState[c.state] ?? 0) + 1;
    bySeverity[c.severity] = (bySeverity[c.severity] ?? 0) + 1;
    if (c.state === 'closed' && c.resolution) byResolution[c.resolution] = (byResolution[c.resolution] ?? 0) + 1;
    if (c.grouped.cost !== null && c.resolution !== 'false-positive' && c.resolution !== 'benign') {
      cost += c.grouped.cost;
      currency ||= c.grouped.currency ?? '';
    }
    const trail = await reached(store, c);
    if (trail.triaged !== undefined) triage.push(trail.triaged - c.created_at);
    if (trail.contained !== undefined) contain.push(trail.contained - c.created_at);
    if (c.state === 'closed' && c.resolved_at !== null) close.push(c.resolved_at - c.created_at);
    if (c.state !== 'closed') {
      const age = options.now - c.created_at;
      if (oldestOpen === undefined || age > oldestOpen) oldestOpen = age;
      if (c.tier === 'Tier 2' && c.state !== 'contained') tier2Open++;
    }
    // time to detect: the case's first evidence to its findings' first alert
    let first = Date.parse(c.grouped.first_seen);
    let alerted = Number.POSITIVE_INFINITY;
    for (const id of c.findings.slice(0, 64)) {
      const stored = await store.findings.get(id);
      const f = stored?.finding;
      if (!f) continue;
      const seen = Date.parse(f.first_seen);
      if (Number.isFinite(seen) && !(seen >= first)) first = seen;
      const at = f.detected_at === undefined ? Number.NaN : Date.parse(f.detected_at);
      if (Number.isFinite(at) && at < alerted) alerted = at;
    }
    if (Number.isFinite(first) && Number.isFinite(alerted)) detect.push(Math.max(0, alerted - first));
  }
  const tp = byResolution['true-positive'] ?? 0;
  const fp = byResolution['false-positive'] ?? 0;
  const medians: SocSummary['median_ms'] = {};
  for (const [k, v] of [
    ['detect', detect],
    ['triage', triage],
    ['contain', contain],
    ['close', close],
  ] as const) {
    const m = median(v);
    if (m !== undefined) medians[k] = m;
  }
  const severityOrder = Object.fromEntries(
    Object.entries(bySeverity).sort((a, b) => SEVERITY_RANK[b[0] as Severity] - SEVERITY_RANK[a[0] as Severity]),
  ) as Partial<Record<Severity, number>>;
  return {
    ...(options.since !== undefined ? { since: new Date(options.since).toISOString() } : {}),
    until: new Date(options.now).toISOString(),
    cases: cases.length,
    truncated,
    by_state: byState,
    by_severity: severityOrder,
    by_resolution: byResolution,
    ...(tp + fp > 0 ? { alert_precision: Math.round((tp / (tp + fp)) * 1000) / 1000 } : {}),
    median_ms: medians,
    tier2_uncontained: tier2Open,
    ...(oldestOpen !== undefined ? { oldest_open_ms: oldestOpen } : {}),
    cost: round2(cost),
    currency,
  };
}

/**
 * The SOC summary of the store at `location` (a SQLite file or a postgres:// URL), opened and closed
 * here; undefined when a SQLite file is not there (a report reads: it never makes a new store). The
 * schema versions the open migrated are said, since serve would have migrated them too.
 */
export async function storeSocSummary(
  location: string,
  options: { since?: number; now: number },
): Promise<{ summary: SocSummary; migrated: number[] } | undefined> {
  if (!isPostgresLocation(location) && !existsSync(location)) return undefined;
  const store = await openStore(location);
  try {
    return { summary: await socSummary(store, options), migrated: store.migrated };
  } finally {
    await store.close();
  }
}
