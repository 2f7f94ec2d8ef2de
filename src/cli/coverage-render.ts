/**
 * The coverage report as text: one block per host (its evidence classes, then a line per analytic,
 * "AN0742 web-01: covered" or "partial: missing …", then the gaps with their fixes), then one block
 * per cluster/namespace for AN0745 ("AN0745 prod/default: partial: missing container CPU"), then one
 * per provider/account/region for AN0744 ("AN0744 aws/123456789012/us-east-1: partial: missing instance
 * CPU"), or as JSON (the typed report itself). Host, cluster, namespace, workload, account and region
 * names come from the logs: made inert before printing.
 */

import {
  CLASS_LABEL,
  CLOUD_CLASS_LABEL,
  type ClassCoverage,
  type CloudRegionCoverage,
  CONTAINER_CLASS_LABEL,
  type ContainerClassCoverage,
  type CoverageReport,
  type HostCoverage,
  type NamespaceCoverage,
  REQUIREMENT_LABEL,
} from '../model/coverage.js';
import { formatRef } from '../model/issue.js';
import { clip, inert } from '../util/hostile.js';

export const COVERAGE_FORMATS = ['table', 'json'] as const;
export type CoverageFormat = (typeof COVERAGE_FORMATS)[number];

const safe = (s: string, max = 300) => inert(clip(s, max));

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

function classLine(c: ClassCoverage): string {
  const label = CLASS_LABEL[c.class].padEnd(25);
  if (c.status === 'not-applicable') return `  ${label}${safe(c.detail ?? 'not applicable')}`;
  if (c.class === 'authorization')
    return `  ${label}${c.status === 'present' ? safe(c.detail ?? 'yes') : `none (${safe(c.detail ?? '')})`}`;
  if (c.status === 'absent') return `  ${label}none${c.detail ? ` (${safe(c.detail)})` : ''}`;
  const span = c.first && c.last ? `  ${c.first} .. ${c.last} (${duration(c.spanMs ?? 0)})` : '';
  const extra = c.detail ? `; ${safe(c.detail)}` : '';
  return `  ${label}${c.events} event${c.events === 1 ? '' : 's'} (${safe(c.formats.join(', '))})${span}${extra}`;
}

function hostBlock(h: HostCoverage): string[] {
  const name = safe(h.host, 200);
  const lines = [`${name} (${safe(h.platform, 40)})`];
  for (const c of h.classes) lines.push(classLine(c));
  for (const a of h.analytics) {
    lines.push(
      a.status === 'covered'
        ? `  ${a.analytic} ${name}: covered`
        : `  ${a.analytic} ${name}: partial: missing ${a.missing.map((r) => REQUIREMENT_LABEL[r]).join(', ')}`,
    );
    for (const g of a.gaps) lines.push(`    gap: ${safe(g, 600)}`);
    for (const n of a.notes) lines.push(`    note: ${safe(n, 600)}`);
  }
  for (const n of h.notes) lines.push(`  note: ${safe(n, 600)}`);
  return lines;
}

function containerClassLine(c: ContainerClassCoverage): string {
  const label = CONTAINER_CLASS_LABEL[c.class].padEnd(25);
  const status = c.status === 'present' ? '' : c.status === 'absent' ? 'none: ' : `${c.status}: `;
  return `  ${label}${status}${safe(c.detail ?? '')}`;
}

function namespaceBlock(ns: NamespaceCoverage): string[] {
  const where = safe(`${ns.cluster}/${ns.namespace}`, 300);
  const names = ns.workloadNames.map((n) => safe(n, 120)).join(', ');
  const more = ns.workloads > ns.workloadNames.length ? `, … ${ns.workloads - ns.workloadNames.length} more` : '';
  const lines = [
    `${where} (${ns.runtime}; ${ns.workloads} workload${ns.workloads === 1 ? '' : 's'}${names ? `: ${names}${more}` : ''})`,
    `  ${'telemetry'.padEnd(25)}${ns.telemetry.length > 0 ? safe(ns.telemetry.join(', ')) : 'none'}`,
  ];
  for (const c of ns.classes) lines.push(containerClassLine(c));
  const a = ns.analytic;
  lines.push(
    a.status === 'covered'
      ? `  ${a.analytic} ${where}: covered`
      : `  ${a.analytic} ${where}: partial: missing ${a.missing.map((c) => CONTAINER_CLASS_LABEL[c]).join(', ')}`,
  );
  for (const g of a.gaps) lines.push(`    gap: ${safe(g, 600)}`);
  for (const n of a.notes) lines.push(`    note: ${safe(n, 600)}`);
  return lines;
}

/** `aws/123456789012/us-east-1`; `?` where the telemetry named no account or region. */
export function cloudRegionLabel(r: CloudRegionCoverage): string {
  return `${r.provider}/${r.account ?? '?'}/${r.region ?? '?'}`;
}

function cloudRegionBlock(r: CloudRegionCoverage): string[] {
  const where = safe(cloudRegionLabel(r), 300);
  const lines = [where, `  ${'telemetry'.padEnd(25)}${r.telemetry.length > 0 ? safe(r.telemetry.join(', ')) : 'none'}`];
  for (const c of r.classes)
    lines.push(`  ${CLOUD_CLASS_LABEL[c.class].padEnd(25)}${c.status === 'present' ? '' : 'none: '}${safe(c.detail)}`);
  const a = r.analytic;
  lines.push(
    a.status === 'covered'
      ? `  ${a.analytic} ${where}: covered`
      : `  ${a.analytic} ${where}: partial: missing ${a.missing.map((c) => CLOUD_CLASS_LABEL[c]).join(', ')}`,
  );
  for (const g of a.gaps) lines.push(`    gap: ${safe(g, 600)}`);
  for (const n of a.notes) lines.push(`    note: ${safe(n, 600)}`);
  return lines;
}

export function renderCoverageTable(report: CoverageReport): string {
  const i = report.input;
  const formats = Object.entries(i.filesByFormat)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `coverage: ${i.files} files (${formats || 'none'}), ${i.events} events + ${i.stateEvents} state records, ${report.hosts.length} host${report.hosts.length === 1 ? '' : 's'}`,
  ];
  const issueTotal = Object.values(i.issuesByCode).reduce((a, b) => a + b, 0);
  if (issueTotal > 0) {
    lines.push(
      `bad input: ${issueTotal} (${Object.entries(i.issuesByCode)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
    for (const x of i.issueList.slice(0, 10)) lines.push(`  ${safe(formatRef(x), 200)}: ${x.code}: ${safe(x.reason)}`);
  }
  if (i.hostsEvicted > 0) lines.push(`note: ${i.hostsEvicted} hosts were dropped from memory (host cap): not reported`);
  for (const h of report.hosts) lines.push('', ...hostBlock(h));
  if (report.namespaces.length > 0) {
    lines.push('', 'containers (AN0745), per cluster/namespace:');
    for (const ns of report.namespaces) lines.push('', ...namespaceBlock(ns));
  }
  const regions = report.cloudRegions ?? [];
  if (regions.length > 0) {
    lines.push('', 'cloud (AN0744), per provider/account/region (? = not named in the telemetry):');
    for (const r of regions) lines.push('', ...cloudRegionBlock(r));
  }
  const partialNamespaces = report.namespaces.filter((ns) => ns.analytic.status === 'partial').length;
  const partialRegions = regions.filter((r) => r.analytic.status === 'partial').length;
  const onNamespaces =
    (report.namespaces.length > 0
      ? ` and ${partialNamespaces} of ${report.namespaces.length} cluster/namespaces`
      : '') + (regions.length > 0 ? ` and ${partialRegions} of ${regions.length} cloud account/regions` : '');
  lines.push(
    '',
    report.hosts.length === 0 && report.namespaces.length === 0 && regions.length === 0
      ? 'coverage: no host seen: nothing is covered'
      : report.covered
        ? 'coverage: every analytic is fully covered'
        : `coverage: partial: ${report.gapCount} gap${report.gapCount === 1 ? '' : 's'} on ${report.hosts.filter((h) => h.analytics.some((a) => a.status === 'partial')).length} of ${report.hosts.length} hosts${onNamespaces}`,
  );
  return `${lines.join('\n')}\n`;
}

export function renderCoverageJson(report: CoverageReport, version: string): string {
  return `${JSON.stringify({ coalmine: version, ...report }, null, 2)}\n`;
}
