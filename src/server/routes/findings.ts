/**
 * GET /api/v1/findings (queue order, filters, cursor pages), GET /api/v1/findings/export (the same
 * filters, every match as `hunt --format ndjson|ocsf` lines), GET /api/v1/findings/{id} with every
 * revision, and GET /api/v1/findings/{id}/case, the case that holds it, or null before one does (one
 * indexed lookup, however many cases the store holds).
 */
import type { Severity } from '../../model/finding.js';
import type { CaseState, StoredCase } from '../../store/cases.js';
import type { FindingFilter } from '../../store/findings.js';
import { HttpError } from '../errors.js';
import { withEtag } from '../etag.js';
import type { Route } from '../http.js';
import { READ } from '../roles.js';
import { exportFindings, exportFormat, FINDING_EXPORT_FORMATS } from './export.js';
import { pageOf, queryLimit, queryValue } from './query.js';

/** The list's filters from the query (the list and the export take the same). */
function filterOf(query: URLSearchParams): FindingFilter {
  const filter: FindingFilter = {};
  const severity = queryValue(query, 'severity');
  if (severity !== undefined) filter.severity = severity.split(',').map((s) => s.trim()) as Severity[];
  const analytic = queryValue(query, 'analytic');
  if (analytic !== undefined) filter.analytic = analytic;
  const host = queryValue(query, 'host');
  if (host !== undefined) filter.host = host;
  // its value is one of the document's case states (checked with every query parameter, app.ts)
  const state = queryValue(query, 'state') as CaseState | undefined;
  if (state !== undefined) filter.state = state;
  return filter;
}

/**
 * Of the cases holding a finding, the one to show: a case on its own before a merged one (a merge moves
 * its findings, so this is only a guard), an open one before a closed one, then the newest.
 */
function caseToShow(cases: StoredCase[]): StoredCase | undefined {
  const rank = (c: StoredCase) => (c.merged_into === null ? 2 : 0) + (c.state !== 'closed' ? 1 : 0);
  let best: StoredCase | undefined;
  // oldest first from the store: a later case of equal rank wins
  for (const c of cases) if (!best || rank(c) >= rank(best)) best = c;
  return best;
}

export function findingRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/findings',
      roles: READ,
      body: 'none',
      async handler({ query, deps }) {
        const page = await deps.store.findings.list(filterOf(query), {
          limit: queryLimit(query),
          cursor: queryValue(query, 'cursor'),
        });
        return { status: 200, json: pageOf(page, (f) => f) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/findings/export',
      roles: READ,
      body: 'none',
      async handler({ query, deps }) {
        const format = exportFormat(queryValue(query, 'format'), FINDING_EXPORT_FORMATS);
        return exportFindings(deps, filterOf(query), format);
      },
    },
    {
      method: 'GET',
      path: '/api/v1/findings/{id}',
      roles: READ,
      body: 'none',
      async handler({ params, deps }) {
        const newest = await deps.store.findings.get(params.id);
        if (!newest) throw new HttpError(404, 'not_found', 'no such finding');
        const revisions = await deps.store.findings.revisions(params.id);
        return withEtag({ ...newest, revisions });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/findings/{id}/case',
      roles: READ,
      body: 'none',
      async handler({ params, deps }) {
        const held = caseToShow(await deps.store.cases.ofFinding(params.id));
        // the finding is read only when no case holds it: none yet is a null, no such finding a 404
        if (!held && !(await deps.store.findings.get(params.id)))
          throw new HttpError(404, 'not_found', 'no such finding');
        return withEtag({ case: held ?? null });
      },
    },
  ];
}
