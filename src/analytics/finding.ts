/** Turning an analytic's draft into the Finding every sink and the store share: stable id, ISO times, cited evidence. */
import { createHash } from 'node:crypto';
import { type ContextStore, reasonsOf } from '../engine/context.js';
import { isoFromMs } from '../model/event.js';
import { type ContextMatch, type Evidence, type Finding, SEVERITY_RANK } from '../model/finding.js';
import { formatRef } from '../model/issue.js';
import { type Signal, STRENGTH_RANK } from '../model/signal.js';
import { durationText } from '../util/time.js';
import type { FindingDraft } from './types.js';

/** Evidence entries per finding: the strongest are kept when there are more. */
const MAX_EVIDENCE = 64;

export function findingId(analytic: string, entity: string, firstSeenMs: number): string {
  return `cm-${createHash('sha256').update(`${analytic}|${entity}|${firstSeenMs}`).digest('hex').slice(0, 16)}`;
}

function evidenceOf(s: Signal, repeats: FindingDraft['repeats']): Evidence {
  const e: Evidence = {
    kind: s.kind,
    class: s.class,
    strength: s.strength,
    time: isoFromMs(s.ts),
    source: formatRef(s.ref),
    explanation: s.explanation,
    by: s.by,
    entity: s.entity,
  };
  if (s.intel) e.intel = s.intel;
  if (s.persistence) e.persistence = s.persistence;
  const again = repeats?.get(s);
  if (again) e.repeated = { count: again.count, last: isoFromMs(again.lastTs) };
  return e;
}

export function toFinding(draft: FindingDraft, host: string): Finding {
  let cited = draft.evidence;
  if (cited.length > MAX_EVIDENCE) {
    const keep = new Set(
      [...cited]
        .map((s, i) => ({ s, i }))
        .sort((a, b) => STRENGTH_RANK[b.s.strength] - STRENGTH_RANK[a.s.strength] || a.i - b.i)
        .slice(0, MAX_EVIDENCE)
        .map((x) => x.s),
    );
    cited = cited.filter((s) => keep.has(s));
  }
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of draft.evidence) {
    if (s.ts < first) first = s.ts;
    if (s.ts > last) last = s.ts;
  }
  if (Number.isFinite(first)) {
    if (draft.lastActivityTs !== undefined && draft.lastActivityTs > last) last = draft.lastActivityTs;
    for (const s of draft.evidence) {
      const again = draft.repeats?.get(s);
      if (again && again.lastTs > last) last = again.lastTs;
    }
  }
  return {
    id: findingId(draft.analytic, draft.entity, first),
    analytic: draft.analytic,
    title: draft.title,
    attack: draft.attack,
    severity: draft.severity,
    confidence: draft.confidence,
    entity: draft.entity,
    related: draft.related,
    host,
    first_seen: isoFromMs(first),
    last_seen: isoFromMs(last),
    ...(draft.detectedTs !== undefined && Number.isFinite(draft.detectedTs) && Number.isFinite(first)
      ? { detected_at: isoFromMs(Math.max(first, draft.detectedTs)) }
      : {}),
    legs: draft.legs,
    summary: draft.summary,
    evidence: cited.map((s) => evidenceOf(s, draft.repeats)),
    gaps: draft.gaps,
    suppressed_by: null,
    facts: draft.facts,
    processes: draft.processes,
    usage: draft.usage,
    ...(draft.shares ? { shares: draft.shares } : {}),
  };
}

/** Ranked order for output: severity, then confidence, then time, then id. Deterministic. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    b.confidence - a.confidence ||
    (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * A finding's context window: 24 h before its first evidence, because the way in (an exploited service,
 * stolen credentials) usually comes hours before a miner is dropped and a day covers an attacker's usual
 * dwell before monetising without pulling in last week's unrelated noise; to 1 h after its last evidence,
 * for what the intruder did from the host next (lateral movement, clean-up).
 */
export const CONTEXT_BEFORE_MS = 24 * 3_600_000;
export const CONTEXT_AFTER_MS = 3_600_000;
/** Context entries per finding, and per rule within them: the rest are counted in `context_omitted`. */
const MAX_CONTEXT = 32;
const MAX_CONTEXT_PER_RULE = 4;
const MAX_CONTEXT_HOSTS = 16;
const LEVEL_RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1, informational: 0 };

/** The finding's host, and for launches and workloads the account host and the hosts or nodes they ran on. */
function contextHosts(f: Finding): string[] {
  const hosts = [f.host];
  for (const key of ['host', 'hosts', 'nodes']) {
    const v = f.facts[key];
    if (typeof v === 'string') hosts.push(v);
    else if (Array.isArray(v)) hosts.push(...v);
  }
  return [...new Set(hosts)].slice(0, MAX_CONTEXT_HOSTS);
}

/** Where a match sits against the finding's evidence, in words. */
export function relativeTime(ts: number, firstMs: number, lastMs: number): string {
  if (ts < firstMs) return `${durationText(firstMs - ts)} before the first evidence`;
  if (ts > lastMs) return `${durationText(ts - lastMs)} after the last evidence`;
  return ts === firstMs ? 'at the first evidence' : `during, ${durationText(ts - firstMs)} after the first evidence`;
}

function contextKey(c: { rule_id: string; source: string; time: string }): string {
  return `${c.rule_id}|${c.source}|${c.time}`;
}

/**
 * Attach the context matches of `store` in the finding's window to `f.context` (kept with what it already
 * holds: a run attaches when the finding is graded and again at its end, for matches after it). The id
 * and grade are untouched. Returns whether the context changed.
 */
export function attachContext(f: Finding, store: ContextStore): boolean {
  const first = Date.parse(f.first_seen);
  const last = Date.parse(f.last_seen);
  const found = new Map<string, ContextMatch>();
  for (const c of f.context ?? []) found.set(contextKey(c), c);
  const before = found.size;
  for (const { ts, record } of store.around(contextHosts(f), first - CONTEXT_BEFORE_MS, last + CONTEXT_AFTER_MS)) {
    const key = contextKey(record);
    if (!found.has(key))
      found.set(key, { ...record, relative: relativeTime(ts, first, last), reasons: reasonsOf(record.tags) });
  }
  if (found.size === before) return false;
  // the ones that answer a question first, then by level, then nearest the first evidence
  const ranked = [...found.values()].sort(
    (a, b) =>
      (b.reasons.length > 0 ? 1 : 0) - (a.reasons.length > 0 ? 1 : 0) ||
      (LEVEL_RANK[b.level] ?? 0) - (LEVEL_RANK[a.level] ?? 0) ||
      Math.abs(Date.parse(a.time) - first) - Math.abs(Date.parse(b.time) - first),
  );
  const perRule = new Map<string, number>();
  const kept: ContextMatch[] = [];
  for (const c of ranked) {
    const n = perRule.get(c.rule_id) ?? 0;
    if (kept.length >= MAX_CONTEXT || n >= MAX_CONTEXT_PER_RULE) continue;
    perRule.set(c.rule_id, n + 1);
    kept.push(c);
  }
  kept.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0) || (a.rule_id < b.rule_id ? -1 : 1));
  f.context = kept;
  const omitted = Math.max(found.size - kept.length, f.context_omitted ?? 0);
  if (omitted > 0) f.context_omitted = omitted;
  return true;
}
