/** Turning an analytic's draft into the Finding every sink and the store share: stable id, ISO times, cited evidence. */
import { createHash } from 'node:crypto';
import { isoFromMs } from '../model/event.js';
import { type Evidence, type Finding, SEVERITY_RANK } from '../model/finding.js';
import { formatRef } from '../model/issue.js';
import { type Signal, STRENGTH_RANK } from '../model/signal.js';
import type { FindingDraft } from './types.js';

/** Evidence entries per finding: the strongest are kept when there are more. */
const MAX_EVIDENCE = 64;

export function findingId(analytic: string, entity: string, firstSeenMs: number): string {
  return `cm-${createHash('sha256').update(`${analytic}|${entity}|${firstSeenMs}`).digest('hex').slice(0, 16)}`;
}

function evidenceOf(s: Signal): Evidence {
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
    legs: draft.legs,
    summary: draft.summary,
    evidence: cited.map(evidenceOf),
    gaps: draft.gaps,
    suppressed_by: null,
    facts: draft.facts,
    processes: draft.processes,
    usage: draft.usage,
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
