/**
 * Cases: the list (state, assignee, cursor pages), one case with its findings, notes, checklist and
 * audit trail, its export (its OCSF Incident Finding with the analyst's state, or its findings' lines),
 * and the case work (transitions, assignment, notes, checklist ticks), each audited in the store with
 * the token's name as the actor. A change may carry the `version` the client last read; the
 * store then refuses it (409) when someone else changed the case since.
 */
import { NEXT as CASE_MOVES, type CaseState, type Resolution, type StoredCase } from '../../store/cases.js';
import { StoreInputError } from '../../store/index.js';
import { HttpError } from '../errors.js';
import { withEtag } from '../etag.js';
import type { Reply, Route, RouteContext } from '../http.js';
import { READ, WORK } from '../roles.js';
import { CASE_EXPORT_FORMATS, exportCase, exportFormat } from './export.js';
import { pageOf, queryLimit, queryValue } from './query.js';

/** A case page's findings are summarized up to here; the case's own `findings` lists every id. */
const MAX_SUMMARIES = 500;
const AUDIT_PAGE = 1000;

/** The actor and expected version of a change (the body was checked against its schema: `version` is an integer). */
function actorOf(ctx: RouteContext): { actor: string; expectedVersion?: number } {
  const body = ctx.body as { version?: number };
  return body.version === undefined
    ? { actor: ctx.principal!.name }
    : { actor: ctx.principal!.name, expectedVersion: body.version };
}

/** Answers the changed case and tells the change feed (the console's open pages refresh from it). */
function changed(ctx: RouteContext, c: StoredCase): Reply {
  ctx.deps.changes.publish({ kind: 'case', id: c.id, revision: c.version, state: c.state });
  return { status: 200, json: c };
}

export function caseRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/cases',
      roles: READ,
      body: 'none',
      async handler({ query, deps }) {
        const state = queryValue(query, 'state') as CaseState | undefined;
        const assignee = queryValue(query, 'assignee');
        const page = await deps.store.cases.list(
          { ...(state !== undefined ? { state } : {}), ...(assignee !== undefined ? { assignee } : {}) },
          { limit: queryLimit(query), cursor: queryValue(query, 'cursor') },
        );
        return { status: 200, json: pageOf(page, (c) => c) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/cases/{id}',
      roles: READ,
      body: 'none',
      async handler({ params, deps }) {
        const found = await deps.store.cases.get(params.id);
        if (!found) throw new HttpError(404, 'not_found', 'no such case');
        const findings = [];
        for (const id of found.findings.slice(0, MAX_SUMMARIES)) {
          const stored = await deps.store.findings.get(id);
          if (!stored) continue;
          const f = stored.finding;
          findings.push({
            id: f.id,
            analytic: f.analytic,
            severity: f.severity,
            host: f.host,
            title: f.title,
            last_seen: f.last_seen,
            revision: stored.revision,
          });
        }
        const audit = await deps.store.audit.list('case', found.id, { limit: AUDIT_PAGE });
        return withEtag({
          case: found,
          findings,
          audit: audit.items,
          ...(audit.next !== undefined ? { audit_next: audit.next } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/cases/{id}/audit',
      roles: READ,
      body: 'none',
      async handler({ params, query, deps }) {
        if (!(await deps.store.cases.get(params.id))) throw new HttpError(404, 'not_found', 'no such case');
        const page = await deps.store.audit.list('case', params.id, {
          limit: queryLimit(query),
          cursor: queryValue(query, 'cursor'),
        });
        return { status: 200, json: pageOf(page, (e) => e) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/cases/{id}/export',
      roles: READ,
      body: 'none',
      async handler({ params, query, deps }) {
        return exportCase(deps, params.id, exportFormat(queryValue(query, 'format'), CASE_EXPORT_FORMATS));
      },
    },
    {
      method: 'POST',
      path: '/api/v1/cases/{id}/transitions',
      roles: WORK,
      body: 'json',
      async handler(ctx) {
        const body = ctx.body as { to: CaseState; resolution?: Resolution | 'benign-authorized' };
        const options = body.resolution === undefined ? actorOf(ctx) : { ...actorOf(ctx), resolution: body.resolution };
        try {
          return changed(ctx, await ctx.deps.store.cases.transition(ctx.params.id, body.to, options));
        } catch (err) {
          // a move the case's state does not allow is a conflict with that state (409), not a malformed request
          if (err instanceof StoreInputError) {
            const now = await ctx.deps.store.cases.get(ctx.params.id);
            if (now && !CASE_MOVES[now.state].includes(body.to))
              throw new HttpError(409, 'illegal_transition', err.message);
          }
          throw err;
        }
      },
    },
    {
      method: 'POST',
      path: '/api/v1/cases/{id}/assign',
      roles: WORK,
      body: 'json',
      async handler(ctx) {
        const body = ctx.body as { assignee: string | null };
        return changed(ctx, await ctx.deps.store.cases.assign(ctx.params.id, body.assignee, actorOf(ctx)));
      },
    },
    {
      method: 'POST',
      path: '/api/v1/cases/{id}/notes',
      roles: WORK,
      body: 'json',
      async handler(ctx) {
        const body = ctx.body as { text: string };
        return changed(ctx, await ctx.deps.store.cases.addNote(ctx.params.id, body.text, actorOf(ctx)));
      },
    },
    {
      method: 'POST',
      path: '/api/v1/cases/{id}/checklist/{step}',
      roles: WORK,
      body: 'json',
      async handler(ctx) {
        const body = ctx.body as { done: boolean };
        return changed(
          ctx,
          await ctx.deps.store.cases.tickStep(ctx.params.id, ctx.params.step, body.done, actorOf(ctx)),
        );
      },
    },
  ];
}
