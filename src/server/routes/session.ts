/**
 * The console's session: log in with a token (POST: an HttpOnly, SameSite=Strict cookie, Secure over
 * TLS, and the CSRF token the page echoes on changes), ask who is calling (GET), log out (DELETE).
 * Sensors have no console: their tokens cannot log in.
 */
import { sessionCookie } from '../auth.js';
import { HttpError } from '../errors.js';
import type { Route } from '../http.js';
import { READ } from '../roles.js';

export function sessionRoutes(): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/session',
      roles: 'public',
      body: 'json',
      async handler({ body, deps }) {
        const token = await deps.store.tokens.verify((body as { token: string }).token);
        if (!token)
          throw new HttpError(401, 'unauthorized', 'the token is unknown or revoked', {
            'www-authenticate': 'Bearer realm="coalmine"',
          });
        if (!READ.includes(token.role))
          throw new HttpError(403, 'forbidden', `a ${token.role} token cannot log in to the console`);
        const session = deps.sessions.create(token);
        await deps.store.audit.append({
          actor: token.name,
          subject_type: 'token',
          subject_id: token.id,
          action: 'login',
          detail: {},
        });
        return {
          status: 200,
          json: {
            name: token.name,
            role: token.role,
            via: 'session',
            csrf_token: session.csrf,
            expires_at: session.expiresAt,
          },
          headers: { 'set-cookie': sessionCookie(session, deps.tls, deps.now()), 'cache-control': 'no-store' },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/session',
      roles: READ,
      body: 'none',
      async handler({ principal }) {
        const p = principal!;
        return {
          status: 200,
          json: {
            name: p.name,
            role: p.role,
            via: p.via,
            csrf_token: p.session?.csrf ?? null,
            expires_at: p.session?.expiresAt ?? null,
          },
          headers: { 'cache-control': 'no-store' },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/session',
      roles: READ,
      body: 'none',
      async handler({ principal, deps }) {
        if (principal?.session) deps.sessions.end(principal.session.id);
        return { status: 204, headers: { 'set-cookie': sessionCookie(undefined, deps.tls, deps.now()) } };
      },
    },
  ];
}
