/**
 * One finding as an analyst reads it (`coalmine explain ID`): what it is, the decision and why, the
 * evidence timeline, the processes, the four questions, the containment plan with its commands, the
 * cost, the gaps and the allowlist entry to add if it is legitimate. Every input-derived string is
 * clipped and made inert for the terminal.
 */
import { costTerms, type Finding, repeatedNote, timeToDetectMs } from '../model/finding.js';
import { familyLabel, formatRange, formatRate } from '../model/shares.js';
import { clip, inert } from '../util/hostile.js';
import { durationText } from '../util/time.js';
import type { RenderContext, Sink } from './types.js';

function safe(text: string, max = 400): string {
  return inert(clip(text, max));
}

function section(title: string, lines: string[]): string[] {
  return lines.length === 0 ? [] : ['', `${title}`, ...lines];
}

/** The key facts of a match in one line, in a fixed order (the timeline shows them the same way). */
export function factsLine(facts: Record<string, string>, max = 600): string {
  return clip(
    Object.entries(facts)
      .map(([k, v]) => `${k}: ${v}`)
      .join(' ¦ '),
    max,
  );
}

/** A finite number ≥ 0 from a finding field (findings can come from files: hostile). */
function finite(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** The hashrate the pool's accepted shares measured, each session with its timeline (a line per bucket). */
function sharesSection(f: Finding, bold: (s: string) => string): string[] {
  const sessions = Array.isArray(f.shares) ? f.shares.slice(0, 8) : [];
  return section(
    bold('Hashrate (measured from Stratum shares)'),
    sessions.flatMap((s) => {
      const unit = s.unit === 'Sol/s' ? 'Sol/s' : 'H/s';
      const buckets = Array.isArray(s.timeline) ? s.timeline.slice(0, 64) : [];
      return [
        `  ~${formatRate(finite(s.hashrate), unit)} ${safe(familyLabel(String(s.family)), 40)} (90%: ${formatRange(finite(s.hashrate_low), finite(s.hashrate_high), unit)}) to ${safe(String(s.destination), 200)}: ${finite(s.accepted)} accepted, ${finite(s.rejected)} rejected over ${finite(s.mining_minutes)} min${s.worker ? `, worker ${safe(String(s.worker), 80)}` : ''}`,
        `    algorithm: ${safe(String(s.family_basis), 160)}; ${safe(String(s.source), 200)}`,
        ...buckets.map(
          (b) =>
            `    ${safe(String(b?.[0] ?? '?'), 40)
              .slice(0, 19)
              .replace(
                'T',
                ' ',
              )}  +${finite(b?.[1])} min  ${String(finite(b?.[2])).padStart(4)} ${finite(b?.[2]) === 1 ? 'share ' : 'shares'}  ${formatRate(finite(b?.[3]), unit)}`,
        ),
      ];
    }),
  );
}

/** Other Sigma detections near the finding on its host: the scope of the compromise, never its grade. */
function contextSection(f: Finding, bold: (s: string) => string): string[] {
  const context = f.context ?? [];
  if (context.length === 0) return [];
  return section(bold('Context: other detections on the host (scope of the compromise; not part of the grade)'), [
    ...context.map(
      (c) =>
        `  ${c.time.slice(0, 19).replace('T', ' ')}  ${safe(c.level, 16).padEnd(6)} ${safe(c.title, 200)}  (${safe(c.relative, 80)}${c.reasons.length ? `; ${c.reasons.join(', ')}` : ''})\n${' '.repeat(23)}rule ${safe(c.rule_id, 80)}${c.tags.length ? ` [${safe(c.tags.join(', '), 200)}]` : ''} on ${safe(c.host, 120)}  ${safe(c.source, 200)}${c.correlation ? `\n${' '.repeat(23)}${safe(c.correlation, 300)}` : ''}${Object.keys(c.facts).length ? `\n${' '.repeat(23)}${safe(factsLine(c.facts), 600)}` : ''}`,
    ),
    ...(f.context_omitted ? [`  … and ${f.context_omitted} more in the window, not shown`] : []),
  ]);
}

export function explainFinding(f: Finding, ctx: RenderContext): string {
  const bold = (s: string) => (ctx.color ? `\u001b[1m${s}\u001b[0m` : s);
  const t = f.triage;
  const out: string[] = [
    bold(`${f.severity.toUpperCase()} ${f.analytic} ${safe(f.title, 200)}`),
    `id ${f.id}  confidence ${f.confidence.toFixed(2)}  ATT&CK ${f.attack.join(', ') || 'none'}`,
    `entity ${safe(f.entity, 200)}  host ${safe(f.host, 200)}  ${f.first_seen} → ${f.last_seen}`,
  ];
  const ttd = timeToDetectMs(f);
  if (ttd !== undefined)
    out.push(
      `detected ${safe(f.detected_at ?? '', 40)} (${ttd === 0 ? 'at the first evidence' : `${durationText(ttd)} after the first evidence`})`,
    );
  out.push(safe(f.summary, 400));
  if (f.suppressed_by)
    out.push(
      `SUPPRESSED by ${safe(f.suppressed_by.list)} (${safe(f.suppressed_by.match)}): ${safe(f.suppressed_by.reason)}; owner ${safe(f.suppressed_by.owner)}, expires ${safe(f.suppressed_by.expires)}`,
    );
  if (t) {
    out.push(
      ...section(bold(`Decision: ${t.escalation.tier}`), [
        ...t.escalation.reasons.map((r) => `  - ${safe(r)}`),
        ...t.escalation.next_steps.map((s, i) => `  ${i + 1}. ${safe(s)}`),
      ]),
    );
  }
  out.push(
    ...section(
      bold('Timeline'),
      [...f.evidence]
        .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
        .map(
          (e) =>
            `  ${e.time.slice(0, 19).replace('T', ' ')}  ${e.strength.padEnd(6)} ${e.kind.padEnd(18)} ${safe(e.explanation, 300)}${e.repeated ? ` (${safe(repeatedNote(e) ?? '', 80)})` : ''}\n${' '.repeat(23)}${safe(e.source, 200)}${e.intel ? `  [intel ${safe(e.intel.set, 80)}${e.intel.version ? ` ${safe(e.intel.version, 40)}` : ''}${e.intel.url ? ` ${safe(e.intel.url, 200)}` : ''}]` : ''}`,
        ),
    ),
  );
  out.push(...sharesSection(f, bold));
  out.push(...contextSection(f, bold));
  out.push(
    ...section(
      bold('Processes'),
      f.processes.map(
        (p) =>
          `  pid ${p.pid ?? '?'}  ${safe(p.executable ?? p.name ?? '?', 200)}${p.user ? `  user ${safe(p.user, 64)}` : ''}${p.command_line ? `\n      ${safe(p.command_line, 300)}` : ''}`,
      ),
    ),
  );
  if (t) {
    out.push(
      ...section(
        bold('Questions'),
        t.questions.map(
          (q, i) =>
            `  ${i + 1}. ${q.question}\n     ${q.status === 'answered' ? 'answered' : 'NEEDS AN ANALYST'}: ${safe(q.answer, 600)}${q.evidence.length ? `\n     evidence: ${q.evidence.map((s) => safe(s, 120)).join(', ')}` : ''}`,
        ),
      ),
    );
    out.push(
      ...section(
        bold(`Containment plan (${t.containment.platform}; printed, never run by coalmine)`),
        t.containment.steps.flatMap((s, i) => [
          `  ${i + 1}. ${s.phase}: ${safe(s.action)}`,
          ...s.commands.map((c) => `       ${safe(c, 1200)}`),
        ]),
      ),
    );
    out.push(
      ...section(bold('Cost'), [
        t.cost
          ? `  ${costTerms(t.cost)
              .map((c) => `${c.quantity} ${c.unit} × ${c.price} ${safe(t.cost?.currency ?? '', 8)}`)
              .join(' + ')} = ${t.cost.amount.toFixed(2)} ${safe(t.cost.currency, 8)} (${safe(t.cost.basis)})`
          : `  ${t.cost_note ? safe(t.cost_note, 300) : 'not estimated: no CPU telemetry for these processes'}`,
      ]),
    );
  }
  out.push(
    ...section(
      bold('Gaps'),
      f.gaps.map((g) => `  - ${safe(g)}`),
    ),
  );
  if (t)
    out.push(
      ...section(
        bold('If this is legitimate, add to coalmine.yaml'),
        t.allowlist_suggestion.split('\n').map((l) => `  ${safe(l, 600)}`),
      ),
    );
  return `${out.join('\n')}\n`;
}

export const explain: Sink = {
  name: 'explain',
  summary: 'each finding as an analyst reads it: decision, timeline, questions, containment plan, cost',
  render: (findings, ctx) =>
    findings.length === 0 ? 'no findings\n' : findings.map((f) => explainFinding(f, ctx)).join('\n\n'),
};
