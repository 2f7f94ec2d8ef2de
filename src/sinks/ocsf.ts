/**
 * OCSF Detection Finding (class_uid 2004, category 2 Findings), one JSON object per line. Our own
 * fields that OCSF has no place for go to `unmapped`, so nothing the analyst needs is lost.
 */
import type { Finding, Severity } from '../model/finding.js';
import type { RenderContext, Sink } from './types.js';

const SEVERITY_ID: Record<Severity, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };
const TECHNIQUE_NAME: Record<string, string> = {
  'T1496.001': 'Resource Hijacking: Compute Hijacking',
  'T1496.002': 'Resource Hijacking: Bandwidth Hijacking',
};

export function toOcsf(f: Finding, ctx: Pick<RenderContext, 'version'>): Record<string, unknown> {
  const first = Date.parse(f.first_seen);
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
    finding_info: {
      uid: f.id,
      title: f.title,
      desc: f.summary,
      types: ['Compute Hijacking'],
      first_seen_time: first,
      last_seen_time: last,
      analytic: { uid: f.analytic, name: f.analytic, type_id: 2, type: 'Behavioral' },
      attacks: f.attack.map((t) => ({
        technique: { uid: t, name: TECHNIQUE_NAME[t] ?? t },
        tactic: { uid: 'TA0040', name: 'Impact' },
        version: '17',
      })),
    },
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
    unmapped: { legs: f.legs, gaps: f.gaps, suppressed_by: f.suppressed_by, facts: f.facts },
  };
}

export const ocsf: Sink = {
  name: 'ocsf',
  summary: 'OCSF 1.3 Detection Finding (2004), one per line',
  render: (findings, ctx) => findings.map((f) => `${JSON.stringify(toOcsf(f, ctx))}\n`).join(''),
};
