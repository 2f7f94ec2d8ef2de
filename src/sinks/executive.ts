/**
 * The executive summary (`coalmine report`) as text for a terminal or e-mail, and as Markdown for a
 * ticket or wiki page. Every string that came from the input (titles, host names) is clipped and made
 * inert; Markdown is escaped so a host name cannot become a link or break the table.
 */
import type { ExecutiveSummary, IncidentLine, SocSummary } from '../model/executive.js';
import { runCompute, type Severity } from '../model/finding.js';
import { clip, escapeMarkdown, inert } from '../util/hostile.js';
import { durationText } from '../util/time.js';

const ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];
const ANALYTIC_LABEL: Record<string, string> = {
  AN0741: 'Windows hosts (AN0741)',
  AN0742: 'Linux hosts (AN0742)',
  AN0744: 'cloud instances (AN0744)',
  AN0745: 'containers (AN0745)',
};

type Esc = (text: string, max?: number) => string;
const plain: Esc = (text, max = 200) => inert(clip(String(text), max));

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

function hours(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 2).replace(/\.?0+$/, '');
}

function day(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '?';
}

/** The summary's sentences, each with its input-derived parts passed through `esc`. */
function sentences(s: ExecutiveSummary, esc: Esc): { head: string; lines: string[]; actions: string[] } {
  const inc = s.incidents;
  const severities = ORDER.filter((k) => inc.by_severity[k]).map((k) => `${k} ${inc.by_severity[k]}`);
  const period = s.input.first ? `, event time ${day(s.input.first)} → ${day(s.input.last)}` : '';
  const bad =
    s.input.bad_input > 0 ? `, ${count(s.input.bad_input, 'bad input record')} (named in hunt's run summary)` : '';
  const head = `${count(s.input.files, 'file')}, ${count(s.input.events, 'event')}${period}${bad}`;
  const lines: string[] = [];
  lines.push(
    inc.total === 0
      ? `Incidents: none found${inc.suppressed_findings ? ` (${count(inc.suppressed_findings, 'finding')} suppressed by the allowlist)` : ''}`
      : `Incidents: ${inc.total} (${severities.join(', ')}); ${inc.tier2} for Tier 2${inc.suppressed_findings ? `; ${count(inc.suppressed_findings, 'finding')} suppressed by the allowlist` : ''}`,
  );
  const where = Object.entries(inc.findings_by_analytic)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([a, n]) => `${ANALYTIC_LABEL[a] ?? esc(a, 40)} ${n}`);
  if (where.length) lines.push(`Findings by analytic: ${where.join(' · ')}`);
  const a = s.affected;
  const affected = [
    a.hosts ? count(a.hosts, 'host') : '',
    a.workloads ? count(a.workloads, 'workload') : '',
    a.cloud_launches ? count(a.cloud_launches, 'cloud launch', 'cloud launches') : '',
  ].filter(Boolean);
  if (affected.length) lines.push(`Affected: ${affected.join(', ')}`);
  const c = s.compute;
  const compute = runCompute(
    { coreHours: c.core_hours, gpuHours: c.gpu_hours, instanceHours: c.instance_hours },
    hours,
  );
  if (compute)
    lines.push(
      `Hijacked compute: ${compute.quantity}${c.currency ? ` ≈ ${c.cost.toFixed(2)} ${esc(c.currency, 8)} at ${compute.pricedBy}` : ' (not priced)'}`,
    );
  const t = s.time_to_detect;
  if (t.incidents > 0 && t.median_ms !== undefined && t.longest_ms !== undefined)
    lines.push(
      `Time to detect (first evidence → first alert, in event time): median ${durationText(t.median_ms)}, longest ${durationText(t.longest_ms)}, over ${count(t.incidents, 'incident')}`,
    );
  const r = s.readiness;
  if (r.scopes > 0) {
    const gaps = r.gaps.map((g) => `${esc(g.telemetry, 80)} (${g.scopes})`);
    lines.push(
      r.partial === 0
        ? `Telemetry readiness: all ${count(r.scopes, 'host or scope', 'hosts and scopes')} fully covered`
        : `Telemetry readiness: ${r.scopes - r.partial} of ${count(r.scopes, 'host or scope', 'hosts and scopes')} fully covered; missing: ${gaps.join(', ')}${r.more_gaps ? `, ${r.more_gaps} more` : ''}`,
    );
  }
  const actions: string[] = [];
  if (inc.tier2 > 0)
    actions.push(
      `Hand ${inc.tier2 === 1 ? 'the Tier 2 incident' : `the ${inc.tier2} Tier 2 incidents`} to incident response now: each finding's containment plan is in \`coalmine hunt … --format explain\` and the HTML report (\`--report FILE\`).`,
    );
  if (inc.total > inc.tier2)
    actions.push(
      `Have L1 finish the checks of ${inc.total - inc.tier2 === 1 ? 'the other incident' : `the other ${inc.total - inc.tier2} incidents`} (the playbook's questions are in each finding).`,
    );
  const top = r.gaps[0];
  if (r.partial > 0 && top)
    actions.push(
      top.telemetry.startsWith('authorization')
        ? `Say what is authorized on ${count(top.scopes, 'host or scope', 'hosts and scopes')} (${esc(top.telemetry, 80)}: coalmine.yaml's hosts and allowlist, containers: or cloud:): \`coalmine coverage\` names each.`
        : `Close the most common telemetry gap, ${esc(top.telemetry, 80)} (${count(top.scopes, 'host or scope', 'hosts and scopes')}): \`coalmine coverage\` says what to collect for each.`,
    );
  if (inc.total === 0 && r.partial === 0)
    actions.push('Nothing to do on this data; keep collecting it and run the hunt on a schedule.');
  return { head, lines, actions };
}

function incidentText(i: IncidentLine, n: number, esc: Esc): string {
  const hosts = `${i.hosts.map((h) => esc(h, 80)).join(', ')}${i.more_hosts ? ` +${i.more_hosts}` : ''}`;
  const detect =
    i.time_to_detect_ms === undefined
      ? ''
      : i.time_to_detect_ms === 0
        ? '; alerted at its first evidence'
        : `; alerted ${durationText(i.time_to_detect_ms)} after its first evidence`;
  const cost = i.cost !== null && i.currency ? `; ${i.cost.toFixed(2)} ${esc(i.currency, 8)}` : '';
  return `${n}. ${i.severity.toUpperCase()} ${i.tier}: ${esc(i.title, 160)} — ${hosts}; since ${day(i.first_seen)}, active ${durationText(i.active_ms)}${detect}${cost}`;
}

export function renderExecutiveText(s: ExecutiveSummary): string {
  const { head, lines, actions } = sentences(s, plain);
  const out = [`coalmine executive summary: ${head}`, '', ...lines];
  if (s.top.length) {
    out.push('', s.incidents.total > s.top.length ? `Top ${s.top.length} incidents` : 'Incidents');
    for (const [k, i] of s.top.entries()) out.push(`  ${incidentText(i, k + 1, plain)}`);
  }
  out.push('', 'What to do');
  for (const a of actions) out.push(`  - ${a}`);
  return `${out.join('\n')}\n`;
}

export function renderExecutiveMarkdown(s: ExecutiveSummary): string {
  const md: Esc = (text, max = 200) => escapeMarkdown(text, max);
  const { head, lines, actions } = sentences(s, md);
  const out = ['# Compute hijacking: executive summary', '', `_${head}_`, ''];
  for (const l of lines) out.push(`- ${l}`);
  if (s.top.length) {
    out.push('', s.incidents.total > s.top.length ? `## Top ${s.top.length} incidents` : '## Incidents', '');
    out.push('| # | severity | tier | incident | hosts | since | active | time to detect | cost |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    s.top.forEach((i, k) => {
      const hosts = `${i.hosts.map((h) => md(h, 80)).join(', ')}${i.more_hosts ? ` \\+${i.more_hosts}` : ''}`;
      const ttd = i.time_to_detect_ms === undefined ? '' : durationText(i.time_to_detect_ms);
      const cost = i.cost !== null && i.currency ? `${i.cost.toFixed(2)} ${md(i.currency, 8)}` : '';
      out.push(
        `| ${k + 1} | ${i.severity} | ${i.tier} | ${md(i.title, 160)} | ${hosts} | ${md(day(i.first_seen), 40)} | ${durationText(i.active_ms)} | ${ttd} | ${cost} |`,
      );
    });
  }
  out.push('', '## What to do', '');
  for (const a of actions) out.push(`- ${a}`);
  return `${out.join('\n')}\n`;
}

const STATE_ORDER = ['new', 'triaged', 'escalated', 'contained', 'closed'];

function socLines(s: SocSummary, esc: Esc): { head: string; lines: string[]; actions: string[] } {
  const head = `${count(s.cases, 'case')} created ${s.since ? `from ${day(s.since)} ` : ''}to ${day(s.until)}${s.truncated ? ' (the newest read: more were there)' : ''}`;
  const lines: string[] = [];
  const states = STATE_ORDER.filter((k) => s.by_state[k]).map((k) => `${k} ${s.by_state[k]}`);
  const severities = ORDER.filter((k) => s.by_severity[k]).map((k) => `${k} ${s.by_severity[k]}`);
  if (s.cases === 0) lines.push('Cases: none in the period');
  else lines.push(`Cases: ${severities.join(', ')}; by state: ${states.join(', ')}`);
  const resolutions = Object.entries(s.by_resolution)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${esc(k, 40)} ${n}`);
  if (resolutions.length)
    lines.push(
      `Closed as: ${resolutions.join(', ')}${s.alert_precision !== undefined ? `; alerts that were real (true ÷ true + false positives): ${Math.round(s.alert_precision * 100)}%` : ''}`,
    );
  const m = s.median_ms;
  const medians = [
    m.detect !== undefined ? `detect ${durationText(m.detect)} (first evidence → first alert, event time)` : '',
    m.triage !== undefined ? `triage ${durationText(m.triage)}` : '',
    m.contain !== undefined ? `contain ${durationText(m.contain)}` : '',
    m.close !== undefined ? `close ${durationText(m.close)}` : '',
  ].filter(Boolean);
  if (medians.length) lines.push(`Median time to ${medians.join('; ')} (the others from case creation)`);
  if (s.cost > 0 && s.currency)
    lines.push(
      `Hijacked compute of the cases not closed as benign or false positive ≈ ${s.cost.toFixed(2)} ${esc(s.currency, 8)}`,
    );
  const open = s.cases - (s.by_state.closed ?? 0);
  if (open > 0)
    lines.push(
      `Open: ${count(open, 'case')}, the oldest ${durationText(s.oldest_open_ms ?? 0)} old; ${s.tier2_uncontained} Tier 2 not yet contained`,
    );
  const actions: string[] = [];
  if (s.tier2_uncontained > 0)
    actions.push(
      `Contain the ${count(s.tier2_uncontained, 'Tier 2 case')} still open: their containment plans are on each finding in the console.`,
    );
  if ((s.by_state.new ?? 0) > 0) actions.push(`Triage the ${count(s.by_state.new ?? 0, 'new case')}.`);
  if ((s.by_resolution['false-positive'] ?? 0) > 0)
    actions.push(
      'Tune what raised the false positives: each closed finding suggests an allowlist entry (owner, reason, expiry).',
    );
  if (actions.length === 0)
    actions.push(
      s.cases === 0
        ? 'Nothing waiting: no case was made in the period.'
        : 'Nothing waiting: every case in the period is closed.',
    );
  return { head, lines, actions };
}

export function renderSocText(s: SocSummary): string {
  const { head, lines, actions } = socLines(s, plain);
  return `${[`coalmine SOC summary: ${head}`, '', ...lines, '', 'What to do', ...actions.map((a) => `  - ${a}`)].join('\n')}\n`;
}

export function renderSocMarkdown(s: SocSummary): string {
  const { head, lines, actions } = socLines(s, (t, max = 200) => escapeMarkdown(t, max));
  return `${['# Compute hijacking: SOC summary', '', `_${head}_`, '', ...lines.map((l) => `- ${l}`), '', '## What to do', '', ...actions.map((a) => `- ${a}`)].join('\n')}\n`;
}
