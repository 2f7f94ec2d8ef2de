/**
 * Terminal table for analysts: one block per finding, ranked, with its evidence timeline, gaps and
 * suppression. Every field from the input is made inert (no ANSI or control characters pass through).
 */
import { type Case, costQuantity, type Finding, repeatedNote, type Severity } from '../model/finding.js';
import { clip, inert } from '../util/hostile.js';
import type { RenderContext, Sink } from './types.js';

const COLOR: Record<Severity, string> = {
  critical: '\u001b[1;35m',
  high: '\u001b[1;31m',
  medium: '\u001b[33m',
  low: '\u001b[36m',
  informational: '\u001b[2m',
};
const RESET = '\u001b[0m';

function safe(text: string, max = 200): string {
  return inert(clip(text, max));
}

/** Tier, cost and case on one line, then where the full playbook answer is. */
function triageLines(f: Finding, incident: Case | undefined): string[] {
  const t = f.triage;
  if (!t) return [];
  const more = t.escalation.reasons.length > 1 ? ` (+${t.escalation.reasons.length - 1} more)` : '';
  const parts = [`${t.escalation.tier}: ${safe(t.escalation.reasons[0] ?? '', 160)}${more}`];
  if (t.cost) parts.push(`cost ${costQuantity(t.cost)} ≈ ${t.cost.amount} ${safe(t.cost.currency, 8)}`);
  if (incident && incident.findings.length > 1)
    parts.push(`case ${incident.id} (${incident.findings.length} findings on ${incident.hosts.length} host(s))`);
  return [
    `       triage: ${parts.join('; ')}`,
    `       next: coalmine explain ${f.id}  (the four questions, containment plan, allowlist entry)`,
  ];
}

function block(f: Finding, ctx: RenderContext, incident: Case | undefined): string {
  const sev = f.severity.toUpperCase().padEnd(6);
  const head = ctx.color ? `${COLOR[f.severity]}${sev}${RESET}` : sev;
  const lines = [
    `${head} ${f.analytic} ${safe(f.title, 160)}${f.suppressed_by ? '  [SUPPRESSED]' : ''}`,
    `       id ${f.id}  confidence ${f.confidence.toFixed(2)}  ATT&CK ${f.attack.join(', ') || 'none'}  ${f.first_seen} → ${f.last_seen}`,
    `       ${safe(f.summary, 300)}`,
    ...triageLines(f, incident),
  ];
  // a container finding is about a workload: where it runs, who made it and from which image first
  if (f.facts.workload) {
    const list = (v: unknown) =>
      Array.isArray(v) ? v.slice(0, 4).join(', ') + (v.length > 4 ? ', …' : '') : String(v ?? '');
    lines.push(
      `       workload: ${safe(`${f.facts.cluster}/${f.facts.namespace} ${f.facts.workload}${f.facts.replicas ? `, ${f.facts.replicas} replica(s)` : ''}${f.facts.nodes ? ` on ${list(f.facts.nodes)}` : ''}`, 300)}`,
    );
    if (f.facts.images) lines.push(`       images: ${safe(list(f.facts.images), 300)}`);
    if (f.facts.creator)
      lines.push(
        `       created by: ${safe(`${f.facts.creator}${f.facts.creator_source_ips ? ` from ${list(f.facts.creator_source_ips)}` : ''}${f.facts.created ? ` at ${f.facts.created}` : ''}`, 300)}`,
      );
    if (f.facts.authorization) lines.push(`       authorization: ${safe(String(f.facts.authorization), 300)}`);
  }
  if (f.facts.command_line) lines.push(`       command line: ${safe(String(f.facts.command_line), 300)}`);
  lines.push('       evidence:');
  for (const e of f.evidence) {
    lines.push(
      `         ${e.time.slice(11, 19)} ${e.strength.padEnd(6)} ${e.kind.padEnd(18)} ${safe(e.explanation, 180)}  (${safe(e.source, 120)}${e.repeated ? `; ${safe(repeatedNote(e) ?? '', 80)}` : ''})`,
    );
  }
  const context = f.context ?? [];
  if (context.length > 0) {
    // the first that answers a question (else the first): the rest are in explain and the report
    const lead = context.find((c) => c.reasons.length > 0) ?? context[0];
    const more = context.length - 1 + (f.context_omitted ?? 0);
    lines.push(
      `       context: ${safe(`${lead.relative}: ${lead.title} (${lead.level}${lead.reasons.length ? `, ${lead.reasons.join(', ')}` : ''})`, 240)}${more > 0 ? ` and ${more} more detection(s) on the host` : ''}`,
    );
  }
  for (const g of f.gaps) lines.push(`       gap: ${safe(g, 300)}`);
  if (f.suppressed_by) {
    const s = f.suppressed_by;
    lines.push(
      `       suppressed by ${safe(s.list)} (${safe(s.match)}): ${safe(s.reason)}; owner ${safe(s.owner)}, expires ${safe(s.expires)}`,
    );
  }
  return lines.join('\n');
}

export const table: Sink = {
  name: 'table',
  summary: 'ranked findings with evidence, for a terminal',
  render: (findings, ctx) => {
    if (findings.length === 0) return 'no findings\n';
    const caseOf = new Map((ctx.cases ?? []).flatMap((c) => c.findings.map((id) => [id, c] as const)));
    return `${findings.map((f) => block(f, ctx, caseOf.get(f.id))).join('\n\n')}\n`;
  },
};
