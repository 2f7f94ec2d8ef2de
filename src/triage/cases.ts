/**
 * Cases: findings grouped into incidents. Two findings are one case when they share a host, a
 * destination (the same pool or proxy endpoint), a binary hash or an executable path outside the
 * system's own directories — the same campaign seen on several machines. Informational findings
 * only group with each other, so a node on a host never swells a mining case. Deterministic: the case
 * id hashes its finding ids.
 */

import { createHash } from 'node:crypto';
import { type Case, type Finding, SEVERITY_RANK } from '../model/finding.js';
import { round2 } from '../util/number.js';

const SYSTEM_PATH = /^(?:\/(?:usr\/)?s?bin\/|\/usr\/lib|\/lib|[a-z]:\\windows\\)/i;
const MAX_LISTED = 16;
const RESOLVED = / \([^()]*\)$/;

class UnionFind {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    let r = i;
    while (this.parent[r] !== r) r = this.parent[r];
    while (this.parent[i] !== r) {
      const next = this.parent[i];
      this.parent[i] = r;
      i = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** The keys that link a finding to others (serve records them, so grouping reaches stored cases). */
export function linksOf(f: Finding): string[] {
  const scope = f.severity === 'informational' ? 'info' : 'case';
  const keys = [`host|${f.host}`];
  // "pool.x:3333 (198.51.100.7)": the name links hosts even when it resolved differently for each.
  for (const d of (f.facts.destinations as string[] | undefined) ?? []) keys.push(`dest|${d.replace(RESOLVED, '')}`);
  if (typeof f.facts.sha256 === 'string') keys.push(`hash|${f.facts.sha256.toLowerCase()}`);
  const exe = f.processes[0]?.executable;
  if (exe && !SYSTEM_PATH.test(exe)) keys.push(`exe|${exe}`);
  return keys.map((k) => `${scope}|${k}`);
}

function uniq(values: string[]): string[] {
  return [...new Set(values)].slice(0, MAX_LISTED);
}

/** The worst finding's title, said as a campaign when the case spans hosts. */
export function caseTitle(worst: Pick<Finding, 'title' | 'host'>, count: number, hosts: string[]): string {
  if (hosts.length > 1) {
    const named = hosts.slice(0, 3).join(', ') + (hosts.length > 3 ? ', …' : '');
    return `Campaign on ${hosts.length} hosts (${named}), ${count} findings; worst: ${worst.title}`;
  }
  return count === 1 ? worst.title : `${worst.title} (+${count - 1} more on ${worst.host})`;
}

export function groupCases(findings: Finding[]): Case[] {
  const uf = new UnionFind(findings.length);
  const firstWith = new Map<string, number>();
  findings.forEach((f, i) => {
    for (const key of linksOf(f)) {
      const j = firstWith.get(key);
      if (j === undefined) firstWith.set(key, i);
      else uf.union(i, j);
    }
  });
  const groups = new Map<number, Finding[]>();
  findings.forEach((f, i) => {
    const root = uf.find(i);
    const list = groups.get(root) ?? [];
    list.push(f);
    groups.set(root, list);
  });
  const cases: Case[] = [];
  for (const members of groups.values()) {
    const ids = members.map((f) => f.id).sort();
    const worst = members.reduce((a, b) => (SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a));
    const hosts = uniq(members.map((f) => f.host));
    const costs = members.map((f) => f.triage?.cost).filter((c) => c != null);
    const active = members.filter((f) => !f.suppressed_by);
    cases.push({
      id: `case-${createHash('sha256').update(ids.join('|')).digest('hex').slice(0, 16)}`,
      title: caseTitle(worst, members.length, hosts),
      severity: worst.severity,
      tier: active.some((f) => f.triage?.escalation.tier === 'Tier 2') ? 'Tier 2' : 'L1',
      status: 'new',
      hosts,
      entities: uniq(members.map((f) => f.entity)),
      campaign: {
        destinations: uniq(members.flatMap((f) => (f.facts.destinations as string[] | undefined) ?? [])),
        executables: uniq(
          members.flatMap((f) => f.processes.slice(0, 1).flatMap((p) => (p.executable ? [p.executable] : []))),
        ),
        hashes: uniq(members.flatMap((f) => (typeof f.facts.sha256 === 'string' ? [f.facts.sha256] : []))),
      },
      findings: ids,
      first_seen: members.map((f) => f.first_seen).sort()[0],
      last_seen: members.map((f) => f.last_seen).sort()[members.length - 1],
      core_hours: round2(costs.reduce((s, c) => s + c.core_hours, 0)),
      cost: costs.length > 0 ? round2(costs.reduce((s, c) => s + c.amount, 0)) : null,
      currency: costs[0]?.currency ?? null,
    });
    const instanceHours = costs.reduce((s, c) => s + (c.instance_hours ?? 0), 0);
    if (instanceHours > 0) cases[cases.length - 1].instance_hours = round2(instanceHours);
    const gpuHours = costs.reduce((s, c) => s + (c.gpu_hours ?? 0), 0);
    if (gpuHours > 0) cases[cases.length - 1].gpu_hours = round2(gpuHours);
  }
  return cases.sort(
    (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.first_seen < b.first_seen ? -1 : 1),
  );
}
