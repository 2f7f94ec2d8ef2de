/**
 * The console's pure functions over what the API gives (no DOM, no React), so the tests run them in
 * Node: telemetry made visible as text, times, the router's path match, a finding's process forest,
 * the export links, what a finding's host names.
 */
import { CASE_STATES, type CaseState } from './api-types.js';

/** Control, format, separator characters and lone surrogates: what drives a terminal or hides text. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

function escapeOf(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** The value as a string with every invisible or terminal-driving character as a visible escape (ESC → `\x1b`). */
export function visible(value: unknown): string {
  return String(value ?? '').replace(INVISIBLE, escapeOf);
}

/** Like `visible`, but line feeds stay line breaks (a plan's commands, a YAML suggestion, a note). */
export function visibleLines(value: unknown): string {
  return String(value ?? '')
    .split('\n')
    .map(visible)
    .join('\n');
}

/** Epoch ms or an ISO string as a short UTC time; what is not a time is shown as (visible) text. */
export function when(t: number | string | null | undefined): string {
  if (t === null || t === undefined) return '';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? visible(t) : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** How long ago, coarse: 45s, 5m, 3h, 2d ('' for what is not a time). */
export function age(t: number | string, now = Date.now()): string {
  const ms = now - new Date(t).getTime();
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** `/findings/:id` against `/findings/cm-1` → { id: 'cm-1' }, or null. Segments are decoded; a bad escape is no match. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (got[i] === '') return null;
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

export interface ProcessNode<P extends { entity: string; parent?: string }> {
  p: P;
  children: ProcessNode<P>[];
}

/**
 * A finding's processes as a forest by parent: a parent outside the list makes a root. Hostile input
 * can make a cycle, which leaves no root: then every process is shown flat rather than none.
 */
export function processForest<P extends { entity: string; parent?: string }>(processes: P[]): ProcessNode<P>[] {
  const nodes = new Map<string, ProcessNode<P>>();
  for (const p of processes) if (!nodes.has(p.entity)) nodes.set(p.entity, { p, children: [] });
  const roots: ProcessNode<P>[] = [];
  for (const n of nodes.values()) {
    const parent = n.p.parent !== undefined && n.p.parent !== n.p.entity ? nodes.get(n.p.parent) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  if (roots.length === 0) return [...nodes.values()].map((n) => ({ p: n.p, children: [] }));
  return roots;
}

/** The expiry date a `coalmine.yaml` allowlist suggestion names (`expires: 2027-03-06`), else 90 days on. */
export function suggestedExpiry(suggestion: string | undefined, now = Date.now()): string {
  const m = /expires: (\d{4}-\d{2}-\d{2})/.exec(suggestion?.slice(0, 4096) ?? '');
  if (m) return m[1];
  return new Date(now + 90 * 86400e3).toISOString().slice(0, 10);
}

/** What one allowlist entry would match, from the findings it would authorize. */
export interface EntryCandidate {
  key: string;
  match: { executable?: string; host: string };
  analytics: string[];
  /** The newest expiry the findings' suggestions name. */
  expires: string | undefined;
}

/**
 * The entries that authorize a case's findings, one per (executable, host) as each finding's own
 * suggestion matches (`triage/playbook.ts`), the analytics of each gathered; bounded to the API's sizes.
 */
export function entryCandidates(
  findings: Array<{
    host: string;
    analytic: string;
    facts?: Record<string, unknown>;
    triage?: { allowlist_suggestion?: string };
  }>,
): EntryCandidate[] {
  const byKey = new Map<string, EntryCandidate>();
  for (const f of findings) {
    const exe = typeof f.facts?.executable === 'string' ? f.facts.executable.slice(0, 1024) : undefined;
    const match =
      exe === undefined ? { host: f.host.slice(0, 1024) } : { executable: exe, host: f.host.slice(0, 1024) };
    const key = JSON.stringify(match);
    const had = byKey.get(key) ?? { key, match, analytics: [], expires: undefined };
    const analytic = f.analytic.slice(0, 32);
    if (!had.analytics.includes(analytic) && had.analytics.length < 32) had.analytics.push(analytic);
    const m = /expires: (\d{4}-\d{2}-\d{2})/.exec(f.triage?.allowlist_suggestion?.slice(0, 4096) ?? '');
    if (m && (had.expires === undefined || m[1] > had.expires)) had.expires = m[1];
    byKey.set(key, had);
  }
  return [...byKey.values()];
}

/**
 * The queue's filters GET /api/v1/findings and its export apply (severity, a case state, host,
 * analytic), as query parameters; a state that is none of the API's is left out, as the queue leaves it.
 */
export function findingFilterQuery(filters: Readonly<Record<string, string | undefined>>): URLSearchParams {
  const q = new URLSearchParams();
  if (filters.severity) q.set('severity', filters.severity);
  if (filters.state && CASE_STATES.includes(filters.state as CaseState)) q.set('state', filters.state);
  if (filters.host) q.set('host', filters.host);
  if (filters.analytic) q.set('analytic', filters.analytic);
  return q;
}

/** The findings export (`GET /api/v1/findings/export`) of what these filters select, in a line format. */
export function findingsExportHref(
  filters: Readonly<Record<string, string | undefined>>,
  format: 'ndjson' | 'ocsf',
): string {
  const q = findingFilterQuery(filters);
  q.set('format', format);
  return `/api/v1/findings/export?${q.toString()}`;
}

/** One case's export (`GET /api/v1/cases/{id}/export`): its OCSF incident, or its findings' lines. */
export function caseExportHref(id: string, format: 'ocsf-incident' | 'ndjson' | 'ocsf'): string {
  return `/api/v1/cases/${encodeURIComponent(id)}/export?format=${format}`;
}

/** What a finding's `host` names: a host (it has a host page), a Kubernetes cluster, or a cloud account. */
export type HostScope =
  | { kind: 'host'; name: string }
  | { kind: 'cluster'; name: string; nodes: string[] }
  | { kind: 'cloud'; name: string; provider: string; account: string | undefined; hosts: string[] };

/** Hosts a scope lists as links, at most. */
const MAX_SCOPE_HOSTS = 16;

/** The distinct non-empty strings of a fact's list, at most MAX_SCOPE_HOSTS. */
const textList = (v: unknown): string[] =>
  Array.isArray(v)
    ? [...new Set(v.filter((x): x is string => typeof x === 'string' && x !== ''))].slice(0, MAX_SCOPE_HOSTS)
    : [];

/**
 * An AN0744 finding's host is its launch's account (`aws:123456789012`, or the provider alone), and an
 * AN0745 workload's is its cluster unless one node holds it (a Docker container's is its host): the
 * facts say which, since such a name is no host and has no host page. What is on the hosts a cloud or
 * cluster finding names (its nodes, the hosts whose own telemetry runs on its instances) are hosts.
 */
export function hostScope(f: { host: string; facts?: Record<string, unknown> }): HostScope {
  const facts = f.facts ?? {};
  const provider = typeof facts.provider === 'string' ? facts.provider : undefined;
  const account = typeof facts.account === 'string' ? facts.account : undefined;
  if (provider && (f.host === provider || f.host === `${provider}:${account}`))
    return { kind: 'cloud', name: f.host, provider, account, hosts: textList(facts.hosts) };
  const nodes = textList(facts.nodes);
  if (facts.cluster === f.host && facts.runtime !== 'docker' && !nodes.includes(f.host))
    return { kind: 'cluster', name: f.host, nodes };
  return { kind: 'host', name: f.host };
}

/** A cost's core-hours and GPU-hours, each at its price, as the CLI says them (core-hours left out when all GPU). */
export function computeHours(c: {
  core_hours: number;
  price_per_core_hour: number;
  gpu_hours?: number;
  price_per_gpu_hour?: number;
}): string {
  const core = `${c.core_hours} core-hours at ${c.price_per_core_hour}`;
  if (c.gpu_hours === undefined) return core;
  const gpu = `${c.gpu_hours} GPU-hours at ${c.price_per_gpu_hour ?? '?'}`;
  return c.core_hours > 0 ? `${core} + ${gpu}` : gpu;
}
