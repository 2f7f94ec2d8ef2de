/**
 * The incident report (`coalmine hunt … --report FILE`): one self-contained HTML page an analyst can
 * mail or attach to a ticket. Run facts, the cases, and per finding the decision, the four questions,
 * the containment plan with its commands, the cost, gaps, allowlist entry, the evidence table and an
 * inline SVG CPU timeline with the evidence marked on it. Container findings (AN0745) are also listed
 * grouped by cluster/namespace with their workload, replicas, images, creator and nodes, cloud launch
 * findings (AN0744) grouped by provider/account/region with their instances, count, types, principal,
 * access key and source IP, and the coverage section has AN0745's row per cluster/namespace and
 * AN0744's per provider/account/region beside the host rows. A finding whose mining was measured from
 * Stratum shares shows each session's hashrate with its interval and its timeline (bars per bucket).
 *
 * Self-contained and inert: no script, no external resource of any kind (the CSP forbids them all; the
 * one stylesheet is allowed by its hash), and every input-derived string is clipped, stripped of
 * control characters (made visible as `\uXXXX`) and HTML-escaped, so a command line holding markup or
 * ANSI escapes renders as the text it is. Pure: same findings → same bytes (no wall clock).
 *
 * It is not a `Sink`: the header needs run facts a sink's context does not carry, so the CLI calls
 * `renderReportHtml` directly and writes the file beside the normal output.
 */
import { createHash } from 'node:crypto';
import {
  CLASS_LABEL,
  CLOUD_CLASS_LABEL,
  type CloudRegionCoverage,
  CONTAINER_CLASS_LABEL,
  type CoverageReport,
  type NamespaceCoverage,
  REQUIREMENT_LABEL,
} from '../model/coverage.js';
import {
  type Case,
  costTerms,
  type Evidence,
  type Finding,
  repeatedNote,
  runCompute,
  type Severity,
  timeToDetectMs,
  type Usage,
} from '../model/finding.js';
import { familyLabel, formatRange, formatRate, type ShareSessionFacts } from '../model/shares.js';
import { escapeHtml } from '../util/hostile.js';
import { durationText } from '../util/time.js';

/** Run facts for the header; the fields are named as in the run summary so the CLI can pass it in. */
export interface ReportRun {
  version: string;
  /** The paths the hunt read, as given. */
  inputs?: string[];
  files?: number;
  filesByFormat?: Record<string, number>;
  events?: number;
  stateEvents?: number;
  issuesByCode?: Record<string, number>;
  suppressed?: number;
  escalated?: number;
  coreHours?: number;
  gpuHours?: number;
  instanceHours?: number;
  cost?: number;
  currency?: string;
  /** Event-time span of the input; when absent it is taken from the coverage report, else the findings. */
  timeRange?: { first: string; last: string } | null;
  /** What the telemetry could show per host and analytic (the gaps behind partial findings). */
  coverage?: CoverageReport;
}

const h = escapeHtml;

const CSS = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#fff}
body{margin:0 auto;max-width:1100px;padding:24px;line-height:1.45}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.3em;margin:32px 0 8px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
h3{font-size:1.05em;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}th{white-space:nowrap}
th{background:#f6f8fa}
.nw{white-space:nowrap;overflow-wrap:normal}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}
dl.facts dt{font-weight:600;color:#57606a}dl.facts dd{margin:0;overflow-wrap:anywhere}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}
section.finding{border:1px solid #d0d7de;border-radius:6px;padding:4px 16px 12px;margin:18px 0}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:.85em;text-transform:uppercase;color:#fff}
.sev-critical{background:#6e2a8f}.sev-high{background:#cf222e}.sev-medium{background:#bf8700}.sev-low{background:#0969da}.sev-informational{background:#6e7781}
.tier{font-weight:700}.tier-2{color:#cf222e}
.note{color:#57606a;font-style:italic}
.suppressed{background:#fff8c5;border:1px solid #d4a72c;padding:6px 8px;border-radius:4px}
.needs{color:#9a6700;font-weight:600}.answered{color:#1a7f37;font-weight:600}
svg.timeline{width:100%;height:auto;max-width:760px;border:1px solid #d0d7de;background:#fff}
svg.timeline text{font-size:11px;fill:#57606a;font-family:inherit}
svg.hashrate{width:100%;height:auto;max-width:760px;border:1px solid #d0d7de;background:#fff}
svg.hashrate text{font-size:11px;fill:#57606a;font-family:inherit}
footer{margin-top:40px;color:#57606a;font-size:.85em}
`;

/** `style-src` allows exactly this stylesheet: an injected <style> (there can be none) would not apply. */
const CSS_HASH = createHash('sha256').update(CSS).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${CSS_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

const SEVERITY_ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];

function sev(s: Severity): string {
  return `<span class="sev sev-${SEVERITY_ORDER.includes(s) ? s : 'informational'}">${h(s, 16)}</span>`;
}

function tier(t: string): string {
  return `<span class="tier${t === 'Tier 2' ? ' tier-2' : ''}">${h(t, 16)}</span>`;
}

function num(n: number | undefined, digits = 2): string {
  return typeof n === 'number' && Number.isFinite(n) ? String(Math.round(n * 10 ** digits) / 10 ** digits) : '?';
}

function money(n: number | null | undefined, currency: string | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? `${n.toFixed(2)} ${h(currency ?? '', 8)}` : 'not estimated';
}

/** A finding fact (hostile: from the telemetry) as escaped text; lists joined, at most `items` shown. */
function fact(value: string | number | string[] | undefined, max = 200, items = 16): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return num(value, 2);
  if (Array.isArray(value))
    return (
      value
        .slice(0, items)
        .map((v) => h(String(v), max))
        .join(', ') + (value.length > items ? `, … ${value.length - items} more` : '')
    );
  return h(String(value), max);
}

function facts(rows: Array<[string, string]>): string {
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** A finding id as a fragment target: ids are hashes, but they come from input files too (`--findings`). */
function anchor(id: string): string {
  return `f-${String(id)
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 80)}`;
}

/** When the finding first alerted, and how long after its first evidence (absent when not recorded). */
function detectedFact(f: Finding): Array<[string, string]> {
  const ttd = timeToDetectMs(f);
  if (ttd === undefined) return [];
  const after = ttd === 0 ? 'at the first evidence' : `${durationText(ttd)} after the first evidence`;
  return [['detected', `${h(f.detected_at ?? '', 40)} (${after})`]];
}

function spanOf(findings: Finding[]): { first: string; last: string } | null {
  let first = '';
  let last = '';
  for (const f of findings) {
    if (f.first_seen && (!first || f.first_seen < first)) first = f.first_seen;
    if (f.last_seen && (!last || f.last_seen > last)) last = f.last_seen;
  }
  return first && last ? { first, last } : null;
}

/**
 * First and last event time over the evidence classes of every host. Persistence is left out: its
 * times are files' mtimes (a crontab edited two years ago), not when the telemetry was recorded.
 */
function coverageSpan(coverage: CoverageReport | undefined): { first: string; last: string } | null {
  let first = '';
  let last = '';
  for (const host of coverage?.hosts ?? [])
    for (const c of host.classes) {
      if (c.class === 'persistence') continue;
      if (c.first && (!first || c.first < first)) first = c.first;
      if (c.last && (!last || c.last > last)) last = c.last;
    }
  return first && last ? { first, last } : null;
}

function header(findings: Finding[], cases: Case[], run: ReportRun): string {
  const formats = Object.entries(run.filesByFormat ?? {})
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${h(k, 40)} ${num(v, 0)}`)
    .join(', ');
  const issues = Object.values(run.issuesByCode ?? {}).reduce((a, b) => a + b, 0);
  const inputSpan = run.timeRange ?? coverageSpan(run.coverage);
  const span = inputSpan ?? spanOf(findings);
  const bySeverity = SEVERITY_ORDER.map((s) => [s, findings.filter((f) => !f.suppressed_by && f.severity === s).length])
    .filter(([, n]) => n)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  const rows: Array<[string, string]> = [];
  if (run.inputs?.length)
    rows.push([
      'inputs',
      run.inputs
        .slice(0, 50)
        .map((p) => `<code>${h(p, 300)}</code>`)
        .join(', ') + (run.inputs.length > 50 ? ` … ${run.inputs.length - 50} more` : ''),
    ]);
  if (run.files !== undefined) rows.push(['files', `${num(run.files, 0)}${formats ? ` (${formats})` : ''}`]);
  if (run.events !== undefined)
    rows.push([
      'events',
      `${num(run.events, 0)}${run.stateEvents !== undefined ? ` + ${num(run.stateEvents, 0)} state records` : ''}`,
    ]);
  if (issues > 0) rows.push(['bad input', `${issues} records (counted in the run summary on stderr)`]);
  rows.push([
    inputSpan ? 'time range (events)' : 'time range (findings)',
    span ? `${h(span.first, 40)} → ${h(span.last, 40)}` : 'no findings',
  ]);
  rows.push([
    'findings',
    `${bySeverity || 'none'}${run.suppressed ? `; suppressed ${num(run.suppressed, 0)}` : ''}; ${cases.length} case${cases.length === 1 ? '' : 's'}${run.escalated ? `; Tier 2: ${num(run.escalated, 0)}` : ''}`,
  ]);
  const compute = runCompute(run, (n) => num(n));
  if (compute)
    rows.push(['hijacked compute', `${compute.quantity} ≈ ${money(run.cost, run.currency)} at ${compute.pricedBy}`]);
  rows.push(['generated by', `coalmine ${h(run.version, 40)}`]);
  return `<header><h1>coalmine incident report</h1>${facts(rows)}</header>`;
}

/** A case's hijacked compute: its core-hours, and its GPU-hours and cloud instance-hours when it has any. */
function caseCompute(c: Case): string {
  const more = (n: unknown, unit: string) => (typeof n === 'number' && n > 0 ? [`${num(n)} ${unit}`] : []);
  const parts = [...more(c.gpu_hours, 'GPU-hours'), ...more(c.instance_hours, 'instance-hours')];
  return parts.length > 0 && !(c.core_hours > 0)
    ? parts.join(' + ')
    : [`${num(c.core_hours)} core-hours`, ...parts].join(' + ');
}

function casesSection(cases: Case[], findings: Finding[]): string {
  if (cases.length === 0) return '<h2>Cases</h2><p class="note">No cases: nothing was found.</p>';
  const known = new Set(findings.map((f) => f.id));
  const rows = cases.map(
    (c) =>
      `<tr><td class="nw"><code>${h(c.id, 80)}</code></td><td>${h(c.title, 300)}</td><td class="nw">${tier(c.tier)}</td><td class="nw">${sev(c.severity)}</td><td>${c.hosts
        .slice(0, 50)
        .map((x) => h(x, 120))
        .join(
          ', ',
        )}${c.hosts.length > 50 ? ' …' : ''}</td><td>${h(c.first_seen, 40)} → ${h(c.last_seen, 40)}</td><td class="nw">${caseCompute(c)}</td><td class="nw">${money(c.cost, c.currency)}</td><td>${c.findings
        .slice(0, 100)
        .map((id) => (known.has(id) ? `<a href="#${anchor(id)}">${h(id, 80)}</a>` : h(id, 80)))
        .join('<br>')}</td></tr>`,
  );
  return `<h2>Cases</h2><table><thead><tr><th>case</th><th>title</th><th>tier</th><th>severity</th><th>hosts</th><th>first → last seen</th><th>compute</th><th>cost</th><th>findings</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CONTAINER_ANALYTIC = 'AN0745';
/** The workload facts an AN0745 finding carries, as the report labels them. */
const WORKLOAD_FACTS: Array<[string, string]> = [
  ['cluster', 'cluster'],
  ['namespace', 'namespace'],
  ['workload', 'workload'],
  ['replicas', 'replicas'],
  ['images', 'images'],
  ['creator', 'creator'],
  ['creator_source_ips', 'creator source IPs'],
  ['nodes', 'nodes'],
];
const MAX_NAMESPACE_GROUPS = 200;

/** AN0745 findings grouped by cluster/namespace: where the containers ran, and who put them there. */
function containersSection(findings: Finding[]): string {
  const groups = new Map<string, { cluster: string; namespace: string; findings: Finding[] }>();
  for (const f of findings) {
    if (f.analytic !== CONTAINER_ANALYTIC) continue;
    const cluster = typeof f.facts.cluster === 'string' ? f.facts.cluster : '(cluster not named)';
    const namespace = typeof f.facts.namespace === 'string' ? f.facts.namespace : '(namespace not named)';
    const key = `${cluster}\u0000${namespace}`;
    let g = groups.get(key);
    if (!g) {
      g = { cluster, namespace, findings: [] };
      groups.set(key, g);
    }
    g.findings.push(f);
  }
  if (groups.size === 0) return '';
  const ordered = [...groups.values()].sort((a, b) =>
    a.cluster !== b.cluster
      ? a.cluster < b.cluster
        ? -1
        : 1
      : a.namespace < b.namespace
        ? -1
        : a.namespace > b.namespace
          ? 1
          : 0,
  );
  const out = ['<h2>Containers by cluster/namespace (AN0745)</h2>'];
  for (const g of ordered.slice(0, MAX_NAMESPACE_GROUPS)) {
    out.push(`<h3 class="namespace">${h(g.cluster, 200)}/${h(g.namespace, 200)}</h3>`);
    out.push(
      `<table class="workloads"><thead><tr><th>finding</th><th>workload</th><th>replicas</th><th>images</th><th>creator</th><th>nodes</th></tr></thead><tbody>${g.findings
        .slice(0, 500)
        .map(
          (f) =>
            `<tr><td class="nw">${sev(f.severity)} <a href="#${anchor(f.id)}">${h(f.id, 80)}</a>${f.suppressed_by ? ' <span class="note">suppressed</span>' : ''}</td><td>${fact(f.facts.workload) || h(f.entity, 300)}</td><td class="nw">${fact(f.facts.replicas)}</td><td>${fact(f.facts.images, 300)}</td><td>${fact(f.facts.creator)}${f.facts.creator_source_ips !== undefined ? `<br><span class="note">from ${fact(f.facts.creator_source_ips, 60, 8)}</span>` : ''}</td><td>${fact(f.facts.nodes, 120)}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
  }
  if (ordered.length > MAX_NAMESPACE_GROUPS)
    out.push(
      `<p class="note">… ${ordered.length - MAX_NAMESPACE_GROUPS} more cluster/namespaces (see the findings below).</p>`,
    );
  return out.join('\n');
}

const CLOUD_ANALYTIC = 'AN0744';
/** The launch facts an AN0744 finding carries, as the report labels them. */
const LAUNCH_FACTS: Array<[string, string]> = [
  ['provider', 'provider'],
  ['account', 'account'],
  ['region', 'region'],
  ['instances', 'instances'],
  ['instance_count', 'instance count'],
  ['instance_types', 'instance types'],
  ['image', 'image'],
  ['principal', 'principal'],
  ['principal_type', 'principal type'],
  ['access_key_id', 'access key'],
  ['source_ip', 'source IP'],
  ['user_agent', 'user agent'],
  ['invoked_by', 'invoked by'],
  ['launched', 'launched'],
  ['launch_operation', 'launch operation'],
  ['authorization', 'authorization'],
  ['denied_requests', 'denied requests'],
  ['cpu_pct_peak', 'peak CPU %'],
  ['instance_hours', 'instance-hours'],
  ['user_data', 'user data'],
];
const MAX_REGION_GROUPS = 200;

/** `aws/123456789012/us-east-1` from a finding's facts or a coverage row, escaped; `?` where not named. */
function regionLabel(provider: unknown, account: unknown, region: unknown): string {
  const part = (v: unknown) => (typeof v === 'string' && v !== '' ? h(v, 120) : '?');
  return `${part(provider)}/${part(account)}/${part(region)}`;
}

/** Instance ids shown per launch in the grouped table (the finding lists more). */
const ROW_INSTANCES = 8;

/** The first instance ids, then how many more the launch made (its count, not only the ids listed). */
function instancesCell(f: Finding): string {
  const ids = Array.isArray(f.facts.instances) ? f.facts.instances : [];
  if (ids.length === 0) return '<span class="note">none seen</span>';
  const count = typeof f.facts.instance_count === 'number' ? f.facts.instance_count : 0;
  const more = Math.max(ids.length, count) - Math.min(ids.length, ROW_INSTANCES);
  const shown = ids.slice(0, ROW_INSTANCES).map((id) => h(String(id), 60));
  return `${shown.join(', ')}${more > 0 ? `, … ${num(more, 0)} more` : ''}`;
}

/** AN0744 findings grouped by provider/account/region: what was launched there, by whom, with which key. */
function cloudSection(findings: Finding[]): string {
  const groups = new Map<string, { label: string; findings: Finding[] }>();
  for (const f of findings) {
    if (f.analytic !== CLOUD_ANALYTIC) continue;
    const label = regionLabel(f.facts.provider, f.facts.account, f.facts.region);
    let g = groups.get(label);
    if (!g) {
      g = { label, findings: [] };
      groups.set(label, g);
    }
    g.findings.push(f);
  }
  if (groups.size === 0) return '';
  const ordered = [...groups.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const out = ['<h2>Cloud launches by provider/account/region (AN0744)</h2>'];
  for (const g of ordered.slice(0, MAX_REGION_GROUPS)) {
    out.push(`<h3 class="region">${g.label}</h3>`);
    out.push(
      `<table class="launches"><thead><tr><th>finding</th><th>instances</th><th>count</th><th>types</th><th>principal</th><th>access key</th><th>source IP</th><th>launched</th></tr></thead><tbody>${g.findings
        .slice(0, 500)
        .map(
          (f) =>
            `<tr><td class="nw">${sev(f.severity)} <a href="#${anchor(f.id)}">${h(f.id, 80)}</a>${f.suppressed_by ? ' <span class="note">suppressed</span>' : ''}</td><td>${instancesCell(f)}</td><td class="nw">${fact(f.facts.instance_count)}</td><td>${fact(f.facts.instance_types, 60)}</td><td>${fact(f.facts.principal, 300)}${f.facts.principal_type !== undefined ? `<br><span class="note">${fact(f.facts.principal_type, 60)}</span>` : ''}</td><td class="nw">${fact(f.facts.access_key_id, 128)}</td><td class="nw">${fact(f.facts.source_ip, 64)}</td><td>${fact(f.facts.launched, 40)}${f.facts.launch_operation !== undefined ? `<br><span class="note">${fact(f.facts.launch_operation, 80)}</span>` : ''}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
  }
  if (ordered.length > MAX_REGION_GROUPS)
    out.push(
      `<p class="note">… ${ordered.length - MAX_REGION_GROUPS} more provider/account/regions (see the findings below).</p>`,
    );
  return out.join('\n');
}

const MAX_COVERAGE_HOSTS = 200;

/** Workload names shown in a coverage row before "and N more". */
const ROW_NAMES = 5;

/** One row per cluster/namespace (the three classes and AN0745's status), then the gaps of each below it. */
function containerCoverage(namespaces: NamespaceCoverage[]): string {
  if (namespaces.length === 0) return '';
  const shown = namespaces.slice(0, MAX_COVERAGE_HOSTS);
  const where = (ns: NamespaceCoverage) => `${h(ns.cluster, 200)}/${h(ns.namespace, 200)}`;
  const cell = (ns: NamespaceCoverage, i: number) => {
    const c = ns.classes[i];
    if (!c) return '<td></td>';
    const css = c.status === 'present' ? 'answered' : 'needs';
    return `<td><span class="${css}">${h(c.status, 20)}</span>${c.detail ? `: ${h(c.detail, 300)}` : ''}</td>`;
  };
  const rows = shown.map((ns) => {
    const names = ns.workloadNames.slice(0, ROW_NAMES).map((n) => h(n, 120));
    const more =
      ns.workloads > names.length && names.length > 0 ? ` and ${num(ns.workloads - names.length, 0)} more` : '';
    const status =
      ns.analytic.status === 'covered' ? '<span class="answered">covered</span>' : '<span class="needs">partial</span>';
    return `<tr><td>${where(ns)}</td><td class="nw">${h(ns.runtime, 20)}</td><td>${num(ns.workloads, 0)}${names.length ? `: ${names.join(', ')}${more}` : ''}</td><td>${ns.telemetry.map((t) => h(t, 40)).join(', ')}</td>${cell(ns, 0)}${cell(ns, 1)}${cell(ns, 2)}<td class="nw">${status}</td></tr>`;
  });
  const gaps = shown
    .filter((ns) => ns.analytic.gaps.length > 0 || ns.analytic.notes.length > 0)
    .map((ns) => {
      const a = ns.analytic;
      const head =
        a.status === 'covered'
          ? `<strong>${where(ns)}</strong>: <span class="answered">covered</span>`
          : `<strong>${where(ns)}</strong>: <span class="needs">partial</span>, missing ${a.missing.map((m) => h(CONTAINER_CLASS_LABEL[m] ?? m, 60)).join(', ')}`;
      const items = [
        ...a.gaps.slice(0, 20).map((g) => h(g, 600)),
        ...a.notes.slice(0, 20).map((n) => `<span class="note">${h(n, 600)}</span>`),
      ];
      return `${head}${list(items)}`;
    });
  const more =
    namespaces.length > MAX_COVERAGE_HOSTS
      ? `<p class="note">… ${namespaces.length - MAX_COVERAGE_HOSTS} more cluster/namespaces (see coalmine coverage).</p>`
      : '';
  return `<h3>Containers (AN0745) per cluster/namespace</h3><table class="coverage-containers"><thead><tr><th>cluster/namespace</th><th>runtime</th><th>workloads</th><th>telemetry</th><th>${CONTAINER_CLASS_LABEL.authorization}</th><th>${CONTAINER_CLASS_LABEL.resource}</th><th>${CONTAINER_CLASS_LABEL.tool}</th><th>AN0745</th></tr></thead><tbody>${rows.join('')}</tbody></table>${gaps.length ? `<div class="container-gaps">${list(gaps)}</div>` : ''}${more}`;
}

/** One row per provider/account/region (the three classes and AN0744's status), then the gaps of each below it. */
function cloudCoverage(regions: CloudRegionCoverage[]): string {
  if (regions.length === 0) return '';
  const shown = regions.slice(0, MAX_COVERAGE_HOSTS);
  const where = (r: CloudRegionCoverage) => regionLabel(r.provider, r.account, r.region);
  const cell = (r: CloudRegionCoverage, i: number) => {
    const c = r.classes[i];
    if (!c) return '<td></td>';
    const css = c.status === 'present' ? 'answered' : 'needs';
    return `<td><span class="${css}">${h(c.status, 20)}</span>${c.detail ? `: ${h(c.detail, 300)}` : ''}</td>`;
  };
  const rows = shown.map((r) => {
    const status =
      r.analytic.status === 'covered' ? '<span class="answered">covered</span>' : '<span class="needs">partial</span>';
    return `<tr><td>${where(r)}</td><td>${r.telemetry.map((t) => h(t, 40)).join(', ')}</td>${cell(r, 0)}${cell(r, 1)}${cell(r, 2)}<td class="nw">${status}</td></tr>`;
  });
  const gaps = shown
    .filter((r) => r.analytic.gaps.length > 0 || r.analytic.notes.length > 0)
    .map((r) => {
      const a = r.analytic;
      const head =
        a.status === 'covered'
          ? `<strong>${where(r)}</strong>: <span class="answered">covered</span>`
          : `<strong>${where(r)}</strong>: <span class="needs">partial</span>, missing ${a.missing.map((m) => h(CLOUD_CLASS_LABEL[m] ?? m, 60)).join(', ')}`;
      const items = [
        ...a.gaps.slice(0, 20).map((g) => h(g, 600)),
        ...a.notes.slice(0, 20).map((n) => `<span class="note">${h(n, 600)}</span>`),
      ];
      return `${head}${list(items)}`;
    });
  const more =
    regions.length > MAX_COVERAGE_HOSTS
      ? `<p class="note">… ${regions.length - MAX_COVERAGE_HOSTS} more provider/account/regions (see coalmine coverage).</p>`
      : '';
  return `<h3>Cloud (AN0744) per provider/account/region</h3><table class="coverage-cloud"><thead><tr><th>provider/account/region</th><th>telemetry</th><th>${CLOUD_CLASS_LABEL.authorization}</th><th>${CLOUD_CLASS_LABEL.reach}</th><th>${CLOUD_CLASS_LABEL.resource}</th><th>AN0744</th></tr></thead><tbody>${rows.join('')}</tbody></table>${gaps.length ? `<div class="cloud-gaps">${list(gaps)}</div>` : ''}${more}`;
}

function coverageSection(coverage: CoverageReport | undefined): string {
  if (!coverage) return '';
  const out = [
    '<h2>Telemetry coverage</h2>',
    `<p>${coverage.covered ? 'Every analytic that applies to a seen host is fully covered.' : `${num(coverage.gapCount, 0)} gap${coverage.gapCount === 1 ? '' : 's'}: some analytics could not see everything they need, so a missing finding is not proof of absence.`}</p>`,
  ];
  if (coverage.hosts.length === 0) out.push('<p class="note">No host was seen in the input.</p>');
  for (const host of coverage.hosts.slice(0, MAX_COVERAGE_HOSTS)) {
    out.push(`<h3>${h(host.host, 200)} <span class="note">(${h(host.platform, 40)})</span></h3>`);
    out.push(
      list(
        host.analytics.map(
          (a) =>
            `<strong>${h(a.analytic, 20)}</strong> ${h(a.title, 120)}: ${a.status === 'covered' ? '<span class="answered">covered</span>' : `<span class="needs">partial</span>, missing ${a.missing.map((m) => h(REQUIREMENT_LABEL[m] ?? m, 60)).join(', ')}`}${a.gaps.length ? list(a.gaps.slice(0, 20).map((g) => h(g, 600))) : ''}`,
        ),
      ),
    );
    out.push(
      `<table class="coverage"><thead><tr><th>evidence</th><th>status</th><th>events</th><th>formats</th><th>first → last</th></tr></thead><tbody>${host.classes
        .map(
          (c) =>
            `<tr><td class="nw">${h(CLASS_LABEL[c.class] ?? c.class, 60)}</td><td class="nw">${h(c.status, 20)}</td><td class="nw">${num(c.events, 0)}</td><td>${c.formats
              .slice(0, 20)
              .map((f) => h(f, 40))
              .join(', ')}</td><td>${c.first ? `${h(c.first, 40)} → ${h(c.last ?? '', 40)}` : ''}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
  }
  if (coverage.hosts.length > MAX_COVERAGE_HOSTS)
    out.push(`<p class="note">… ${coverage.hosts.length - MAX_COVERAGE_HOSTS} more hosts (see coalmine coverage).</p>`);
  out.push(containerCoverage(coverage.namespaces ?? []));
  out.push(cloudCoverage(coverage.cloudRegions ?? []));
  return out.join('\n');
}

// ---- the CPU timeline ----

const W = 760;
const HGT = 240;
const M = { left: 56, right: 16, top: 16, bottom: 40 };
const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#1b7c83', '#bc4c00', '#57606a'];
const MAX_SERIES = 8;
const MAX_POINTS = 2000;
const MAX_MARKERS = 256;

function hhmm(ms: number, withDate: boolean): string {
  const iso = new Date(ms).toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 100;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 5, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Numbers only reach the SVG's attributes, never input text; labels go through `h`. */
function timeline(usage: Usage | null, evidence: Evidence[], measured = false): string {
  const series = (usage?.series ?? [])
    .slice(0, MAX_SERIES)
    .map((s) => {
      const pts = s.points
        .map(([t, v]) => [Date.parse(t), Number(v)] as const)
        .filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v))
        .map(([t, v]) => [t, Math.max(0, v)] as const)
        .sort((a, b) => a[0] - b[0]);
      const step = Math.ceil(pts.length / MAX_POINTS);
      return { label: s.label, entity: s.entity, pts: step > 1 ? pts.filter((_, i) => i % step === 0) : pts };
    })
    .filter((s) => s.pts.length > 0);
  if (series.length === 0)
    return measured
      ? '<p class="note no-cpu">No CPU telemetry for this finding: the hashrate timeline above is what the pool\'s accepted shares measured (add per-process CPU to see which process did it: metrics CSV, osquery processes, typeperf).</p>'
      : '<p class="note no-cpu">No CPU telemetry for this finding: no timeline can be drawn and no cost estimated (add per-process CPU: metrics CSV, osquery processes, typeperf).</p>';
  const marks = evidence
    .map((e) => ({ e, t: Date.parse(e.time) }))
    .filter((m) => Number.isFinite(m.t))
    .slice(0, MAX_MARKERS);
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  let vmax = 0;
  for (const s of series)
    for (const [t, v] of s.pts) {
      t0 = Math.min(t0, t);
      t1 = Math.max(t1, t);
      vmax = Math.max(vmax, v);
    }
  for (const m of marks) {
    t0 = Math.min(t0, m.t);
    t1 = Math.max(t1, m.t);
  }
  if (t1 - t0 < 60_000) {
    t0 -= 30_000;
    t1 += 30_000;
  }
  const ymax = niceMax(vmax);
  const pw = W - M.left - M.right;
  const ph = HGT - M.top - M.bottom;
  const x = (t: number) => (M.left + ((t - t0) / (t1 - t0)) * pw).toFixed(1);
  const y = (v: number) => (M.top + ph - (Math.min(v, ymax) / ymax) * ph).toFixed(1);
  const multiDay = new Date(t0).toISOString().slice(0, 10) !== new Date(t1).toISOString().slice(0, 10);
  const parts: string[] = [];
  // axes, grid and tick labels
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#eaeef2"/>`,
      `<text x="${M.left - 6}" y="${(Number(y(v)) + 4).toFixed(1)}" text-anchor="end">${num(v, 0)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) / 4) * i;
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#57606a"/>`,
      `<text x="${x(t)}" y="${M.top + ph + 16}" text-anchor="${i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}">${hhmm(t, multiDay || i === 0)}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#57606a"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#57606a"/>`,
    `<text x="${M.left + pw / 2}" y="${HGT - 6}" text-anchor="middle">time (UTC)</text>`,
    `<text x="14" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">CPU %</text>`,
  );
  // evidence markers: a tick and a dot on the time axis, the evidence in the tooltip
  for (const m of marks) {
    const color = m.e.strength === 'strong' ? '#cf222e' : m.e.strength === 'medium' ? '#bf8700' : '#6e7781';
    const tip = `${m.e.time} ${m.e.strength} ${m.e.kind}: ${m.e.explanation} (${m.e.source})`;
    parts.push(
      `<g class="marker"><title>${h(tip, 400)}</title><line x1="${x(m.t)}" x2="${x(m.t)}" y1="${M.top}" y2="${M.top + ph}" stroke="${color}" stroke-opacity="0.35" stroke-dasharray="3 3"/><circle cx="${x(m.t)}" cy="${M.top + ph}" r="4" fill="${color}"/></g>`,
    );
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.pts.map(([t, v]) => `${x(t)},${y(v)}`).join(' ');
    parts.push(
      `<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${pts}"><title>${h(s.label, 200)}</title></polyline>`,
    );
    if (s.pts.length === 1) parts.push(`<circle cx="${x(s.pts[0][0])}" cy="${y(s.pts[0][1])}" r="3" fill="${color}"/>`);
  });
  const legend = series
    .map(
      (s, i) =>
        `<li><svg width="14" height="10" aria-hidden="true"><rect width="14" height="10" fill="${COLORS[i % COLORS.length]}"/></svg> ${h(s.label, 200)} <code>${h(s.entity, 200)}</code> (${s.pts.length} points)</li>`,
    )
    .join('');
  return `<svg class="timeline" viewBox="0 0 ${W} ${HGT}" role="img" aria-label="CPU timeline">${parts.join('')}</svg><ul class="legend">${legend}</ul><p class="note">CPU in percent: for a process, 100 = one core busy; a host series is in percent of all its cores. Dots on the time axis are the evidence (hover for what it is).</p>`;
}

const MAX_SHARE_SESSIONS = 8;
const MAX_SHARE_BUCKETS = 64;

/** A finite number ≥ 0 from a finding field (findings can come from files and the API: hostile). */
function finite(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** One session's buckets as bars (height: the bucket's rate); numbers only reach the SVG. */
function shareBars(s: ShareSessionFacts): string {
  const rows = (Array.isArray(s.timeline) ? s.timeline : [])
    .slice(0, MAX_SHARE_BUCKETS)
    .map((b) => ({
      t: Date.parse(String(b?.[0])),
      minutes: finite(b?.[1]),
      shares: finite(b?.[2]),
      rate: finite(b?.[3]),
    }))
    .filter((b) => Number.isFinite(b.t));
  if (rows.length === 0) return '';
  const t0 = rows[0].t;
  // a bucket is as wide as its minutes (a session's last may be part of one); one with none drawn a minute wide
  const spanMs = (b: { minutes: number }) => (b.minutes > 0 ? b.minutes : 1) * 60_000;
  const t1 = Math.max(...rows.map((b) => b.t + spanMs(b)));
  const ymax = niceMax(Math.max(...rows.map((b) => b.rate)));
  const pw = W - M.left - M.right;
  const ph = HGT - M.top - M.bottom;
  const x = (t: number) => M.left + ((t - t0) / Math.max(1, t1 - t0)) * pw;
  const y = (v: number) => M.top + ph - (Math.min(v, ymax) / ymax) * ph;
  const unit = s.unit === 'Sol/s' ? 'Sol/s' : 'H/s';
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eaeef2"/>`,
      `<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${h(formatRate(v, '').trim(), 12)}</text>`,
    );
  }
  for (const b of rows) {
    const left = x(b.t);
    const width = Math.max(1, x(b.t + spanMs(b)) - left - 1);
    const tip = `${new Date(b.t).toISOString().slice(11, 16)} +${num(b.minutes, 1)} min: ${b.shares} share${b.shares === 1 ? '' : 's'}, ${formatRate(b.rate, unit)}`;
    parts.push(
      `<rect x="${left.toFixed(1)}" y="${y(b.rate).toFixed(1)}" width="${width.toFixed(1)}" height="${(M.top + ph - y(b.rate)).toFixed(1)}" fill="#1a7f37" fill-opacity="0.7"><title>${h(tip, 120)}</title></rect>`,
    );
  }
  const multiDay = new Date(t0).toISOString().slice(0, 10) !== new Date(t1).toISOString().slice(0, 10);
  parts.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#57606a"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#57606a"/>`,
    `<text x="${M.left}" y="${M.top + ph + 16}" text-anchor="start">${hhmm(t0, true)}</text>`,
    `<text x="${W - M.right}" y="${M.top + ph + 16}" text-anchor="end">${hhmm(t1, multiDay)}</text>`,
    `<text x="14" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">${unit}</text>`,
  );
  return `<svg class="hashrate" viewBox="0 0 ${W} ${HGT}" role="img" aria-label="hashrate timeline">${parts.join('')}</svg>`;
}

/** The hashrate the pool's accepted shares measured, per session (text escaped, numbers checked). */
function sharesSection(shares: ShareSessionFacts[] | undefined): string {
  const sessions = Array.isArray(shares) ? shares.slice(0, MAX_SHARE_SESSIONS) : [];
  if (sessions.length === 0) return '';
  const out = ['<h3>Hashrate timeline (measured from Stratum shares)</h3>'];
  for (const s of sessions) {
    const unit = s.unit === 'Sol/s' ? 'Sol/s' : 'H/s';
    out.push(
      `<p><strong>~${h(formatRate(finite(s.hashrate), unit), 40)}</strong> ${h(familyLabel(String(s.family)), 40)} (90%: ${h(formatRange(finite(s.hashrate_low), finite(s.hashrate_high), unit), 60)}) to <code>${h(String(s.destination), 200)}</code>: ${finite(s.accepted)} accepted shares, ${finite(s.rejected)} rejected, over ${num(finite(s.mining_minutes), 1)} min of mining time${finite(s.connections) > 1 ? ` on ${finite(s.connections)} connections` : ''}${s.worker ? `; worker <code>${h(String(s.worker), 80)}</code>` : ''}. Algorithm: ${h(String(s.family_basis), 160)}. Source <code>${h(String(s.source), 200)}</code>.</p>`,
      shareBars(s),
    );
  }
  out.push(
    '<p class="note">Each bar is a slice of the session: its accepted shares ÷ the hashes its difficulty asked for in that time. Few shares make a bar noisy; the session\'s 90% interval is above.</p>',
  );
  return out.join('');
}

// ---- one finding ----

function list(items: string[], ordered = false): string {
  if (items.length === 0) return '<p class="note">none</p>';
  const tag = ordered ? 'ol' : 'ul';
  return `<${tag}>${items.map((i) => `<li>${i}</li>`).join('')}</${tag}>`;
}

/** Other Sigma detections near the finding on its host (the scope of the compromise), when there are any. */
function contextTable(f: Finding): string {
  const context = f.context ?? [];
  if (context.length === 0) return '';
  const rows = context.slice(0, 64).map(
    (c) =>
      `<tr><td class="nw">${h(c.time, 40)}<br><span class="note">${h(c.relative, 80)}</span></td><td class="nw">${h(c.level, 20)}</td><td>${h(c.title, 300)}<br><span class="note">rule <code>${h(c.rule_id, 80)}</code>${
        c.tags.length
          ? ` ${c.tags
              .slice(0, 8)
              .map((t) => h(t, 64))
              .join(', ')}`
          : ''
      }</span>${c.correlation ? `<br>${h(c.correlation, 400)}` : ''}</td><td class="nw">${c.reasons.map((r) => h(r, 40)).join('<br>')}</td><td>${Object.entries(
        c.facts,
      )
        .slice(0, 16)
        .map(([k, v]) => `${h(k, 40)}: <code>${h(v, 600)}</code>`)
        .join('<br>')}</td><td><code>${h(c.host, 200)}</code><br><code>${h(c.source, 300)}</code></td></tr>`,
  );
  return [
    '<h3>Context: other detections on the host</h3>',
    '<p class="note">Sigma matches on this host or entity from 24 h before the first evidence to 1 h after the last: the scope of the compromise. They do not raise or grade the finding.</p>',
    `<table class="context"><thead><tr><th>time</th><th>level</th><th>detection</th><th>answers</th><th>key facts</th><th>host, source</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    f.context_omitted ? `<p class="note">${f.context_omitted} more in the window, not shown.</p>` : '',
  ].join('\n');
}

function findingSection(f: Finding, incident: Case | undefined): string {
  const t = f.triage;
  const out: string[] = [
    `<section class="finding" id="${anchor(f.id)}">`,
    `<h2>${sev(f.severity)} ${h(f.title, 300)}</h2>`,
  ];
  if (f.suppressed_by) {
    const s = f.suppressed_by;
    out.push(
      `<p class="suppressed">Suppressed by ${h(s.list, 120)} (<code>${h(s.match, 200)}</code>): ${h(s.reason, 300)}; owner ${h(s.owner, 120)}, expires ${h(s.expires, 40)}</p>`,
    );
  }
  out.push(
    facts([
      ['id', `<code>${h(f.id, 80)}</code>`],
      ['analytic', h(f.analytic, 40)],
      ['severity', sev(f.severity)],
      ['confidence', num(f.confidence)],
      ['entity', `<code>${h(f.entity, 300)}</code>`],
      ['host', h(f.host, 200)],
      ['first seen', h(f.first_seen, 40)],
      ...detectedFact(f),
      ['last seen', h(f.last_seen, 40)],
      ['ATT&amp;CK', f.attack.length ? f.attack.map((a) => h(a, 20)).join(', ') : 'none'],
      ['legs', h(f.summary, 400)],
      ...(f.analytic === CONTAINER_ANALYTIC
        ? WORKLOAD_FACTS.filter(([k]) => f.facts[k] !== undefined).map(
            ([k, label]) => [label, fact(f.facts[k], 300)] as [string, string],
          )
        : []),
      ...(f.analytic === CLOUD_ANALYTIC
        ? LAUNCH_FACTS.filter(([k]) => f.facts[k] !== undefined).map(
            ([k, label]) => [label, fact(f.facts[k], 400)] as [string, string],
          )
        : []),
      ...(incident
        ? [['case', `<code>${h(incident.id, 80)}</code> ${h(incident.title, 200)}`] as [string, string]]
        : []),
    ]),
  );
  if (t) {
    out.push(
      `<h3>Escalation: ${tier(t.escalation.tier)}</h3>`,
      list(t.escalation.reasons.slice(0, 50).map((r) => h(r, 600))),
      '<h3>Next steps</h3>',
      list(
        t.escalation.next_steps.slice(0, 50).map((s) => h(s, 600)),
        true,
      ),
      '<h3>Questions for analysis</h3>',
      list(
        t.questions.map(
          (q) =>
            `<strong>${h(q.question, 300)}</strong><br><span class="${q.status === 'answered' ? 'answered' : 'needs'}">${q.status === 'answered' ? 'answered' : 'needs an analyst'}</span>: ${h(q.answer, 1200)}${
              q.evidence.length
                ? `<br>evidence: ${q.evidence
                    .slice(0, 20)
                    .map((e) => `<code>${h(e, 200)}</code>`)
                    .join(', ')}`
                : ''
            }`,
        ),
        true,
      ),
      `<h3>Containment plan (${h(t.containment.platform, 40)}; printed for the analyst, never run by coalmine)</h3>`,
      list(
        t.containment.steps.map(
          (s) =>
            `<strong>${h(s.phase, 20)}</strong>: ${h(s.action, 600)}${
              s.commands.length
                ? `<pre><code>${s.commands
                    .slice(0, 50)
                    .map((c) => h(c, 2000))
                    .join('\n')}</code></pre>`
                : ''
            }`,
        ),
        true,
      ),
      '<h3>Cost</h3>',
      t.cost
        ? `<p>${costTerms(t.cost)
            .map((c) => `${num(c.quantity)} ${c.unit} × ${num(c.price, 4)} ${h(t.cost?.currency ?? '', 8)}`)
            .join(' + ')} = <strong>${money(t.cost.amount, t.cost.currency)}</strong> (${h(t.cost.basis, 600)})</p>`
        : `<p class="note">${t.cost_note ? h(t.cost_note, 300) : 'Not estimated: no CPU telemetry for these processes.'}</p>`,
    );
  } else out.push('<p class="note">Not triaged: this finding carries no playbook answer.</p>');
  out.push(contextTable(f));
  out.push(sharesSection(f.shares));
  out.push('<h3>CPU timeline</h3>', timeline(f.usage, f.evidence, (f.shares?.length ?? 0) > 0));
  out.push(
    '<h3>Processes</h3>',
    f.processes.length === 0
      ? '<p class="note">none recorded</p>'
      : `<table><thead><tr><th>pid</th><th>executable</th><th>user</th><th>command line</th></tr></thead><tbody>${f.processes
          .slice(0, 128)
          .map(
            (p) =>
              `<tr><td class="nw">${p.pid ?? '?'}</td><td><code>${h(p.executable ?? p.name ?? '?', 300)}</code></td><td class="nw">${h(p.user ?? '', 64)}</td><td><code>${h(p.command_line ?? '', 1200)}</code></td></tr>`,
          )
          .join('')}</tbody></table>`,
  );
  out.push('<h3>Gaps</h3>', list(f.gaps.slice(0, 50).map((g) => h(g, 600))));
  if (t)
    out.push(
      '<h3>If this is legitimate, add to coalmine.yaml</h3>',
      `<pre><code>${t.allowlist_suggestion
        .split('\n')
        .slice(0, 40)
        .map((l) => h(l, 600))
        .join('\n')}</code></pre>`,
    );
  const ev = [...f.evidence].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  out.push(
    '<h3>Evidence</h3>',
    `<table class="evidence"><thead><tr><th>time</th><th>kind</th><th>strength</th><th>source</th><th>explanation</th></tr></thead><tbody>${ev
      .map(
        (e) =>
          `<tr><td class="nw">${h(e.time, 40)}</td><td class="nw">${h(e.kind, 40)}</td><td class="nw">${h(e.strength, 10)}</td><td><code>${h(e.source, 300)}</code></td><td>${h(e.explanation, 600)}${e.repeated ? ` <span class="note">(${h(repeatedNote(e) ?? '', 80)})</span>` : ''}${e.intel ? `<br><span class="note">intel ${h(e.intel.set, 80)}${e.intel.version ? ` ${h(e.intel.version, 40)}` : ''}${e.intel.url ? ` from ${h(e.intel.url, 200)}` : ''}</span>` : ''}</td></tr>`,
      )
      .join('')}</tbody></table>`,
  );
  out.push('</section>');
  return out.join('\n');
}

/** The whole report. `findings` ranked as the run ranked them; `cases` the run's incidents. */
export function renderReportHtml(findings: Finding[], cases: Case[], run: ReportRun): string {
  const caseOf = new Map(cases.flatMap((c) => c.findings.map((id) => [id, c] as const)));
  const body = [
    header(findings, cases, run),
    casesSection(cases, findings),
    containersSection(findings),
    cloudSection(findings),
    '<h2>Findings</h2>',
    findings.length === 0
      ? '<p class="note">No findings.</p>'
      : findings.map((f) => findingSection(f, caseOf.get(f.id))).join('\n'),
    coverageSection(run.coverage),
    `<footer>Generated by coalmine ${h(run.version, 40)}. Every value above comes from the input telemetry and is shown as text; commands are printed for the analyst and never run by coalmine.</footer>`,
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>coalmine incident report</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
