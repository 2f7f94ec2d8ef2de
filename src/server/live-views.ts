/**
 * The live views of `coalmine serve`: what the ingest pipeline's engine holds now, joined with the
 * store. `GET /api/v1/coverage` is the report `coalmine coverage` computes (run/coverage.ts) over the
 * hosts, containers and cloud accounts the engine has seen; `GET /api/v1/hosts` lists the hosts seen
 * (name order, keyset pages) with their open cases and findings from the store; `GET /api/v1/hosts/{name}`
 * is one host: its coverage row, its findings and cases, and the processes of its open clusters.
 * Each reads the engine in one synchronous step (nothing is pushed meanwhile), then the store.
 */
import type { CoverageReport, HostCoverage } from '../model/coverage.js';
import { isoFromMs } from '../model/event.js';
import type { Policy } from '../model/policy.js';
import { coverageReport } from '../run/coverage.js';
import { hostSpelled, type LiveState } from '../run/live.js';
import { MAX_HOST_COUNTS } from '../store/findings.js';
import type { Store } from '../store/index.js';
import { clip } from '../util/hostile.js';
import { HttpError } from './errors.js';
import type { Route } from './http.js';
import type { OpenApiPaths, Schema } from './openapi.js';
import { READ } from './roles.js';
import { queryLimit, queryValue } from './routes/query.js';

/** Hosts a coverage answer covers (name order); past it the answer says how many were left out. */
export const MAX_COVERAGE_HOSTS = 10_000;
const DEFAULT_HOSTS_PAGE = 50;
/** A host page and the store's per-host counts agree on the bound. */
const MAX_HOSTS_PAGE = Math.min(500, MAX_HOST_COUNTS);
/** One host's view: its open clusters read, processes listed, findings and cases listed. */
const MAX_HOST_CLUSTERS = 64;
const MAX_HOST_ENTITIES = 256;
const MAX_HOST_FINDINGS = 100;
const MAX_HOST_CASES = 100;
/** A process's telemetry text (command line, path, name) as listed. */
const MAX_PROCESS_TEXT_CHARS = 4096;
const MAX_HOST_NAME_CHARS = 512;

/** A host as the engine holds it (its type through run/, which the server may import). */
type HostState = ReturnType<LiveState['hostStates']>[number];

/** What was read into the engine since start (the ingest pipeline counts it). */
export interface ReadCounts {
  bodies: number;
  byFormat: Record<string, number>;
  issuesByCode: Record<string, number>;
}

/** What the views are given: the pipeline's engine state and what was read into it. */
export interface LiveSource {
  readonly live: LiveState;
  readonly readSoFar: Readonly<ReadCounts>;
}

export interface HostSummary {
  name: string;
  platform: string | null;
  first_seen: string | null;
  last_seen: string | null;
  events: number;
  /** Telemetry classes seen (process, network, host-cpu, …). */
  telemetry: string[];
  /** Sources (input formats) its events came from. */
  formats: string[];
  findings: number;
  open_cases: number;
}

export interface HostEntity {
  key: string;
  pid: number | null;
  name: string | null;
  command_line: string | null;
  executable: string | null;
  user: string | null;
  first_seen: string;
  last_seen: string;
}

/** The coverage report over what the engine holds now, under the server's policy. */
export function liveCoverage(source: LiveSource, policy: Policy): CoverageReport & { hosts_omitted?: number } {
  const state = source.live;
  const hosts = state.hostStates();
  const counts = source.readSoFar;
  const report = coverageReport(hosts.slice(0, MAX_COVERAGE_HOSTS), {
    policy,
    input: {
      files: counts.bodies,
      filesByFormat: { ...counts.byFormat },
      events: state.stats.events,
      stateEvents: state.stats.stateEvents,
      issuesByCode: { ...counts.issuesByCode },
      issueList: [],
      hostsEvicted: state.stats.hostsEvicted,
    },
    containers: { namespaces: state.workloadNamespaces(), workloads: state.workloadStates() },
    cloud: state.cloudRegions(),
  });
  return hosts.length > MAX_COVERAGE_HOSTS ? { ...report, hosts_omitted: hosts.length - MAX_COVERAGE_HOSTS } : report;
}

/** A host as the engine saw it (counts zero until the store's are added). */
function summaryOf(host: HostState): HostSummary {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let events = 0;
  const formats = new Set<string>();
  for (const entry of host.coverage.values()) {
    first = Math.min(first, entry.firstTs);
    last = Math.max(last, entry.lastTs);
    events += entry.events;
    for (const f of entry.formats) formats.add(f);
  }
  return {
    name: host.name,
    platform: host.platform ?? null,
    first_seen: Number.isFinite(first) ? isoFromMs(first) : null,
    last_seen: Number.isFinite(last) ? isoFromMs(last) : null,
    events,
    telemetry: [...host.coverage.keys()].sort(),
    formats: [...formats].sort(),
    findings: 0,
    open_cases: 0,
  };
}

/** A page's cursor: the last host name listed, as base64url JSON (a tampered one only starts elsewhere). */
const cursorOf = (name: string) => Buffer.from(JSON.stringify(['hosts', name])).toString('base64url');

function afterOf(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== 'hosts' || typeof value[1] !== 'string')
    throw new HttpError(400, 'bad_request', 'cursor is not a cursor of /hosts');
  return value[1];
}

const textOrNull = (v: string | undefined) => (v === undefined ? null : clip(v, MAX_PROCESS_TEXT_CHARS));

function entitiesOf(state: LiveState, host: string): { entities: HostEntity[]; truncated: boolean } {
  const entities: HostEntity[] = [];
  const seen = new Set<string>();
  let truncated = false;
  for (const cluster of state.openClustersOf(host, MAX_HOST_CLUSTERS)) {
    if (cluster.evidence.size === 0) continue;
    for (const p of cluster.processes.values()) {
      if (seen.has(p.key)) continue;
      if (entities.length >= MAX_HOST_ENTITIES) {
        truncated = true;
        break;
      }
      seen.add(p.key);
      entities.push({
        key: p.key,
        pid: p.pid ?? null,
        name: textOrNull(p.name),
        command_line: textOrNull(p.commandLine),
        executable: textOrNull(p.executable),
        user: textOrNull(p.user),
        first_seen: isoFromMs(p.firstTs),
        last_seen: isoFromMs(p.lastTs),
      });
    }
  }
  return { entities, truncated };
}

export function liveViewRoutes(source: LiveSource, store: Store): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/coverage',
      roles: READ,
      body: 'none',
      async handler({ deps }) {
        return { status: 200, json: liveCoverage(source, deps.policy) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/hosts',
      roles: READ,
      body: 'none',
      async handler({ query }) {
        const limit = queryLimit(query) ?? DEFAULT_HOSTS_PAGE;
        if (limit < 1 || limit > MAX_HOSTS_PAGE)
          throw new HttpError(400, 'bad_request', `limit must be from 1 to ${MAX_HOSTS_PAGE}`);
        const after = afterOf(queryValue(query, 'cursor'));
        // hostStates() is in name order: the page is the names after the cursor's
        const all = source.live.hostStates();
        let from = 0;
        if (after !== undefined) {
          let lo = 0;
          let hi = all.length;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (all[mid].name <= after) lo = mid + 1;
            else hi = mid;
          }
          from = lo;
        }
        const page = all.slice(from, from + limit + 1);
        const items = page.slice(0, limit).map(summaryOf);
        const counts = await store.findings.hostCounts(items.map((h) => h.name));
        for (const h of items) {
          const c = counts.get(h.name);
          h.findings = c?.findings ?? 0;
          h.open_cases = c?.openCases ?? 0;
        }
        const last = items[items.length - 1];
        return {
          status: 200,
          json: page.length > limit && last ? { items, next: cursorOf(last.name) } : { items },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/hosts/{name}',
      roles: READ,
      body: 'none',
      async handler({ params, deps }) {
        const asked = params.name;
        if (asked.length > MAX_HOST_NAME_CHARS)
          throw new HttpError(400, 'bad_request', `a host name is at most ${MAX_HOST_NAME_CHARS} characters`);
        // the engine first, in one step; the store after. Any spelling of a host the engine knows
        // (`WS-FIN-07`, `ws-fin-07.corp.example.com`) is that host, answered under its display name
        const state = source.live;
        const host = hostSpelled(state, asked);
        const name = host?.name ?? asked;
        const summary = host ? summaryOf(host) : undefined;
        const coverage: HostCoverage | null = host
          ? (coverageReport([host], { policy: deps.policy }).hosts[0] ?? null)
          : null;
        const { entities, truncated } = host ? entitiesOf(state, name) : { entities: [], truncated: false };
        const findings = await store.findings.list({ host: name }, { limit: MAX_HOST_FINDINGS });
        if (!host && findings.items.length === 0) throw new HttpError(404, 'not_found', 'no such host');
        const counts = (await store.findings.hostCounts([name])).get(name);
        const cases = await store.cases.ofHost(name, MAX_HOST_CASES);
        const stored = findings.items.map((f) => ({
          id: f.finding.id,
          title: f.finding.title,
          severity: f.finding.severity,
          analytic: f.finding.analytic,
          revision: f.revision,
          last_seen: f.finding.last_seen,
        }));
        return {
          status: 200,
          json: {
            host: {
              ...(summary ?? {
                name,
                platform: null,
                first_seen: null,
                last_seen: null,
                events: 0,
                telemetry: [],
                formats: [],
              }),
              findings: counts?.findings ?? 0,
              open_cases: counts?.openCases ?? 0,
            },
            tracked: host !== undefined,
            coverage,
            findings: stored,
            findings_more: findings.next !== undefined,
            cases: cases.map((c) => ({ id: c.id, title: c.title, severity: c.severity, state: c.state })),
            entities,
            entities_more: truncated,
          },
        };
      },
    },
  ];
}

const ERROR = {
  description: 'refused',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const str: Schema = { type: 'string' };
const strOrNull: Schema = { type: ['string', 'null'] };
const strings: Schema = { type: 'array', items: str };
const objects: Schema = { type: 'array', items: { type: 'object' } };
const LIMIT = {
  name: 'limit',
  in: 'query' as const,
  description: `page size, 1–${MAX_HOSTS_PAGE} (default ${DEFAULT_HOSTS_PAGE})`,
  schema: { type: 'string', description: 'an integer' } as Schema,
};
const CURSOR = { name: 'cursor', in: 'query' as const, description: 'the `next` of the previous page', schema: str };

const SEVERITY: Schema = { type: 'string', enum: ['informational', 'low', 'medium', 'high', 'critical'] };

export const LIVE_VIEW_SCHEMAS: Record<string, Schema> = {
  AnalyticCoverage: {
    type: 'object',
    required: ['analytic', 'title', 'status', 'requires', 'missing', 'gaps', 'notes'],
    properties: {
      analytic: str,
      title: str,
      status: { type: 'string', enum: ['covered', 'partial'] },
      requires: strings,
      missing: strings,
      gaps: strings,
      notes: strings,
    },
  },
  HostCoverage: {
    type: 'object',
    required: ['host', 'platform', 'classes', 'analytics', 'notes'],
    properties: {
      host: str,
      platform: str,
      classes: {
        type: 'array',
        items: {
          type: 'object',
          required: ['class', 'status', 'events', 'formats'],
          properties: {
            class: str,
            status: { type: 'string', enum: ['present', 'absent', 'not-applicable'] },
            events: { type: 'integer' },
            formats: strings,
            first: str,
            last: str,
            spanMs: { type: 'number' },
            detail: str,
          },
        },
      },
      analytics: { type: 'array', items: { $ref: '#/components/schemas/AnalyticCoverage' } },
      notes: strings,
    },
  },
  CoverageReport: {
    type: 'object',
    required: ['covered', 'gapCount', 'hosts', 'namespaces', 'cloudRegions', 'input'],
    properties: {
      covered: { type: 'boolean' },
      gapCount: { type: 'integer' },
      hosts: { type: 'array', items: { $ref: '#/components/schemas/HostCoverage' } },
      namespaces: objects,
      cloudRegions: objects,
      input: {
        type: 'object',
        required: ['files', 'filesByFormat', 'events', 'stateEvents', 'issuesByCode', 'issueList', 'hostsEvicted'],
        properties: {
          files: { type: 'integer' },
          filesByFormat: { type: 'object' },
          events: { type: 'integer' },
          stateEvents: { type: 'integer' },
          issuesByCode: { type: 'object' },
          issueList: objects,
          hostsEvicted: { type: 'integer' },
        },
      },
      hosts_omitted: { type: 'integer' },
    },
  },
  HostSummary: {
    type: 'object',
    required: [
      'name',
      'platform',
      'first_seen',
      'last_seen',
      'events',
      'telemetry',
      'formats',
      'findings',
      'open_cases',
    ],
    additionalProperties: false,
    properties: {
      name: str,
      platform: strOrNull,
      first_seen: strOrNull,
      last_seen: strOrNull,
      events: { type: 'integer' },
      telemetry: strings,
      formats: strings,
      findings: { type: 'integer' },
      open_cases: { type: 'integer' },
    },
  },
  HostPage: {
    type: 'object',
    required: ['items'],
    additionalProperties: false,
    properties: { items: { type: 'array', items: { $ref: '#/components/schemas/HostSummary' } }, next: str },
  },
  HostDetail: {
    type: 'object',
    required: ['host', 'tracked', 'coverage', 'findings', 'findings_more', 'cases', 'entities', 'entities_more'],
    additionalProperties: false,
    properties: {
      host: { $ref: '#/components/schemas/HostSummary' },
      tracked: {
        type: 'boolean',
        description: 'whether the live engine holds the host (else only the store knows it)',
      },
      coverage: { oneOf: [{ $ref: '#/components/schemas/HostCoverage' }, { type: 'null' }] },
      findings: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'title', 'severity', 'analytic', 'revision', 'last_seen'],
          additionalProperties: false,
          properties: {
            id: str,
            title: str,
            severity: SEVERITY,
            analytic: str,
            revision: { type: 'integer' },
            last_seen: str,
          },
        },
      },
      findings_more: { type: 'boolean', description: 'more findings than listed: page them with /findings?host=' },
      cases: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'title', 'severity', 'state'],
          additionalProperties: false,
          properties: { id: str, title: str, severity: SEVERITY, state: str },
        },
      },
      entities: {
        type: 'array',
        items: {
          type: 'object',
          required: ['key', 'pid', 'name', 'command_line', 'executable', 'user', 'first_seen', 'last_seen'],
          additionalProperties: false,
          properties: {
            key: str,
            pid: { type: ['integer', 'null'] },
            name: strOrNull,
            command_line: strOrNull,
            executable: strOrNull,
            user: strOrNull,
            first_seen: str,
            last_seen: str,
          },
        },
      },
      entities_more: { type: 'boolean' },
    },
  },
};

export const LIVE_VIEW_PATHS: OpenApiPaths = {
  '/api/v1/coverage': {
    get: {
      summary:
        'What coalmine coverage reports (per host and analytic the evidence classes and gaps; AN0745 per cluster/namespace; AN0744 per account/region) over what the live engine holds now',
      operationId: 'getCoverage',
      tags: ['live'],
      'x-roles': READ,
      responses: {
        200: {
          description: 'the report',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/CoverageReport' } } },
        },
        401: ERROR,
        403: ERROR,
      },
    },
  },
  '/api/v1/hosts': {
    get: {
      summary:
        'Hosts the live engine holds, in name order: platform, event times, telemetry and sources seen, findings and open cases from the store',
      operationId: 'listHosts',
      tags: ['live'],
      'x-roles': READ,
      parameters: [CURSOR, LIMIT],
      responses: {
        200: {
          description: 'a page',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/HostPage' } } },
        },
        400: ERROR,
        401: ERROR,
        403: ERROR,
      },
    },
  },
  '/api/v1/hosts/{name}': {
    get: {
      summary:
        'One host: its coverage row, findings and cases, and the processes of its open clusters (pid, name, command line, executable)',
      operationId: 'getHost',
      tags: ['live'],
      'x-roles': READ,
      parameters: [{ name: 'name', in: 'path', required: true, description: 'the host name', schema: str }],
      responses: {
        200: {
          description: 'the host',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/HostDetail' } } },
        },
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
      },
    },
  },
};
