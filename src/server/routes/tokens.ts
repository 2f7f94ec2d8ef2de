/** Tokens (admin only): the list (never secrets), a new token whose secret is in this answer alone, revoking. */
import type { Role } from '../../store/tokens.js';
import { HttpError } from '../errors.js';
import type { Route } from '../http.js';
import { ADMIN } from '../roles.js';

export function tokenRoutes(): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/tokens',
      roles: ADMIN,
      body: 'none',
      async handler({ deps }) {
        return { status: 200, json: { items: await deps.store.tokens.list() } };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/tokens',
      roles: ADMIN,
      body: 'json',
      async handler({ body, principal, deps }) {
        const { name, role } = body as { name: string; role: Role };
        const made = await deps.store.tokens.create({ name, role, actor: principal!.name });
        // the secret must not sit in any cache
        return { status: 201, json: made, headers: { 'cache-control': 'no-store' } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/tokens/{id}',
      roles: ADMIN,
      body: 'none',
      async handler({ params, principal, deps }) {
        if (!(await deps.store.tokens.revoke(params.id, { actor: principal!.name })))
          throw new HttpError(404, 'not_found', 'no live token with this id');
        deps.sessions.endToken(params.id);
        return { status: 204 };
      },
    },
  ];
}
