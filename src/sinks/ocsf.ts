/**
 * OCSF Detection Finding (class_uid 2004, category 2 Findings), one JSON object per line. Our own
 * fields that OCSF has no place for go to `unmapped`, so nothing the analyst needs is lost.
 */
import type { Case, Finding, Severity } from '../model/finding.js';
import type { RenderContext, Sink } from './types.js';

const SEVERITY_ID: Record<Severity, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };
const TECHNIQUE_NAME: Record<string, string> = {
  'T1496.001': 'Resource Hijacking: Compute Hijacking',
  'T1496.002': 'Resource Hijacking: Bandwidth Hijacking',
};

/** ATT&CK technique ids of a rule's tags (`attack.t1003.001` → `T1003.001`). */
function techniques(tags: string[]): string[] {
  return tags.filter((t) => /^attack\.t\d{4}(?:\.\d{3})?$/.test(t)).map((t) => t.slice(7).toUpperCase());
}

/**
 * The finding's context as OCSF 1.3 Related Events (uid: the rule and the record it matched); the full
 * match (facts, relative time, reasons) is in `unmapped.context`.
 */
function relatedEvents(f: Finding): Array<Record<string, unknown>> {
  return (f.context ?? []).map((c) => ({
    uid: `${c.rule_id}@${c.source}`,
    type: `Sigma rule match: ${c.title}`,
    product_uid: c.rule_id,
    attacks: techniques(c.tags).map((t) => ({ technique: { uid: t }, version: '17' })),
  }));
}

function findingInfo(f: Finding): Record<string, unknown> {
  const related = relatedEvents(f);
  return {
    uid: f.id,
    title: f.title,
    desc: f.summary,
    types: ['Compute Hijacking'],
    first_seen_time: Date.parse(f.first_seen),
    last_seen_time: Date.parse(f.last_seen),
    analytic: { uid: f.analytic, name: f.analytic, type_id: 2, type: 'Behavioral' },
    attacks: f.attack.map((t) => ({
      technique: { uid: t, name: TECHNIQUE_NAME[t] ?? t },
      tactic: { uid: 'TA0040', name: 'Impact' },
      version: '17',
    })),
    ...(related.length ? { related_events: related } : {}),
  };
}

export function toOcsf(f: Finding, ctx: Pick<RenderContext, 'version'>): Record<string, unknown> {
  const last = Date.parse(f.last_seen);
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: 1,
    activity_name: 'Create',
    type_uid: 200401,
    type_name: 'Detection Finding: Create',
    time: last,
    severity_id: SEVERITY_ID[f.severity],
    severity: f.severity[0].toUpperCase() + f.severity.slice(1),
    status_id: f.suppressed_by ? 3 : 1,
    status: f.suppressed_by ? 'Suppressed' : 'New',
    confidence_score: Math.round(f.confidence * 100),
    message: f.title,
    metadata: {
      version: '1.3.0',
      product: { name: 'coalmine', vendor_name: 'coalmine', version: ctx.version },
      uid: f.id,
    },
    finding_info: findingInfo(f),
    device: { hostname: f.host, type_id: 0 },
    resources: [f.entity, ...f.related].map((uid) => ({ uid, type: uid.slice(0, uid.indexOf(':')) })),
    evidences: f.evidence.map((e) => ({
      data: {
        kind: e.kind,
        strength: e.strength,
        time: e.time,
        source: e.source,
        explanation: e.explanation,
        by: e.by,
      },
    })),
    unmapped: {
      legs: f.legs,
      gaps: f.gaps,
      suppressed_by: f.suppressed_by,
      facts: f.facts,
      ...(f.context ? { context: f.context, context_omitted: f.context_omitted } : {}),
      triage: f.triage,
    },
  };
}

/** OCSF Incident Finding (class 2005, incident profile): one per case, its findings in `finding_info_list`. */
export function toOcsfIncident(
  c: Case,
  findings: Finding[],
  ctx: Pick<RenderContext, 'version'>,
): Record<string, unknown> {
  const members = findings.filter((f) => c.findings.includes(f.id));
  const tier2 = c.tier === 'Tier 2';
  return {
    class_uid: 2005,
    class_name: 'Incident Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: 1,
    activity_name: 'Create',
    type_uid: 200501,
    type_name: 'Incident Finding: Create',
    time: Date.parse(c.last_seen),
    start_time: Date.parse(c.first_seen),
    end_time: Date.parse(c.last_seen),
    severity_id: SEVERITY_ID[c.severity],
    severity: c.severity[0].toUpperCase() + c.severity.slice(1),
    status_id: 1,
    status: 'New',
    priority_id: tier2 ? 3 : c.severity === 'informational' ? 1 : 2,
    priority: tier2 ? 'High' : c.severity === 'informational' ? 'Low' : 'Medium',
    is_suspected_breach: tier2,
    desc: c.title,
    metadata: {
      version: '1.3.0',
      profiles: ['incident'],
      product: { name: 'coalmine', vendor_name: 'coalmine', version: ctx.version },
      uid: c.id,
    },
    finding_info_list: members.map(findingInfo),
    device: c.hosts.length === 1 ? { hostname: c.hosts[0], type_id: 0 } : undefined,
    resources: c.entities.map((uid) => ({ uid, type: uid.slice(0, uid.indexOf(':')) })),
    unmapped: {
      tier: c.tier,
      hosts: c.hosts,
      campaign: c.campaign,
      core_hours: c.core_hours,
      gpu_hours: c.gpu_hours,
      instance_hours: c.instance_hours,
      cost: c.cost,
      currency: c.currency,
      escalation: members.flatMap((f) => f.triage?.escalation.reasons ?? []),
      // each finding's context in full (facts, relative time, reasons), as the detection class carries it
      ...(members.some((f) => f.context?.length)
        ? { context: Object.fromEntries(members.filter((f) => f.context?.length).map((f) => [f.id, f.context])) }
        : {}),
    },
  };
}

export const ocsfIncident: Sink = {
  name: 'ocsf-incident',
  summary: 'OCSF 1.3 Incident Finding (2005), one per case (findings grouped by entity and campaign)',
  render: (findings, ctx) =>
    (ctx.cases ?? []).map((c) => `${JSON.stringify(toOcsfIncident(c, findings, ctx))}\n`).join(''),
};

export const ocsf: Sink = {
  name: 'ocsf',
  summary: 'OCSF 1.3 Detection Finding (2004), one per line',
  render: (findings, ctx) => findings.map((f) => `${JSON.stringify(toOcsf(f, ctx))}\n`).join(''),
};
