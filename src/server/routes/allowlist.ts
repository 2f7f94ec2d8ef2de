/**
 * The allowlist: entries in force, one entry with its history, a new entry (owner, reason, expiry
 * required; analysts propose from a case, admins too), retiring (admin), and the export as
 * `coalmine.yaml`'s `allowlist:` block, so a file-based `hunt` applies the same list.
 */
import type { AllowlistInput } from '../../store/allowlist.js';
import { HttpError } from '../errors.js';
import { withEtag } from '../etag.js';
import type { Route } from '../http.js';
import { ADMIN, READ, WORK } from '../roles.js';

export function allowlistRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/allowlist',
      roles: READ,
      body: 'none',
      async handler({ deps }) {
        return { status: 200, json: { items: await deps.store.allowlist.current() } };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/allowlist',
      roles: WORK,
      body: 'json',
      async handler({ body, principal, deps }) {
        const entry = await deps.store.allowlist.create(body as AllowlistInput, { actor: principal!.name });
        deps.changes.publish({ kind: 'allowlist', id: entry.id, revision: entry.version, state: 'active' });
        return { status: 201, json: entry, headers: { location: `/api/v1/allowlist/${encodeURIComponent(entry.id)}` } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/allowlist/export',
      roles: READ,
      body: 'none',
      async handler({ deps }) {
        return {
          status: 200,
          text: await deps.store.allowlist.exportYaml(),
          contentType: 'application/yaml; charset=utf-8',
          headers: { 'content-disposition': 'attachment; filename="coalmine-allowlist.yaml"' },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/allowlist/{id}',
      roles: READ,
      body: 'none',
      async handler({ params, deps }) {
        const history = await deps.store.allowlist.history(params.id);
        const newest = history[history.length - 1];
        if (!newest) throw new HttpError(404, 'not_found', 'no such allowlist entry');
        return withEtag({ entry: newest, history });
      },
    },
    {
      method: 'POST',
      path: '/api/v1/allowlist/{id}/retire',
      roles: ADMIN,
      body: 'none',
      async handler({ params, principal, deps }) {
        const entry = await deps.store.allowlist.retire(params.id, { actor: principal!.name });
        deps.changes.publish({ kind: 'allowlist', id: entry.id, revision: entry.version, state: 'retired' });
        return { status: 200, json: entry };
      },
    },
  ];
}
