/**
 * Who is calling: `Authorization: Bearer cm_…` checked against the token store (which compares hashes
 * in constant time), or a console session's cookie. A session is a random id in a server-side table
 * with an expiry, made by logging in with a token; calls that change something with the cookie must
 * echo the session's CSRF token in `x-csrf-token` (a cross-site page can send the cookie but cannot
 * read the token), and an `Origin` other than our own is refused. Bearer calls need neither: a browser
 * never adds an Authorization header by itself.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../store/index.js';
import type { Role, TokenInfo } from '../store/tokens.js';
import { HttpError } from './errors.js';

export interface Principal {
  tokenId: string;
  /** The token's name: the actor in every audit row. */
  name: string;
  role: Role;
  via: 'bearer' | 'session';
  session?: Session;
}

export interface Session {
  id: string;
  csrf: string;
  tokenId: string;
  name: string;
  role: Role;
  createdAt: number;
  expiresAt: number;
  /** When the token was last found live in the store (a token revoked elsewhere ends its sessions). */
  checkedAt: number;
}

export const SESSION_COOKIE = 'coalmine_session';
/** Over TLS the cookie takes the `__Host-` prefix: Secure, no Domain, Path=/ enforced by the browser. */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
export const CSRF_HEADER = 'x-csrf-token';
const DEFAULT_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 10_000;
/** How often a session re-checks that its token is still live. */
const RECHECK_MS = 30_000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

const unauthorized = (reason: string) =>
  new HttpError(401, 'unauthorized', reason, { 'www-authenticate': 'Bearer realm="coalmine"' });

/** Constant-time comparison of two strings of any length. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(options: { now: () => number; ttlMs?: number }) {
    this.now = options.now;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  }

  get size(): number {
    return this.sessions.size;
  }

  create(token: TokenInfo): Session {
    const at = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= at) this.sessions.delete(id);
    // bounded: past the cap the oldest session (first in insertion order) ends
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      tokenId: token.id,
      name: token.name,
      role: token.role,
      createdAt: at,
      expiresAt: at + this.ttlMs,
      checkedAt: at,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id; an expired one is dropped. */
  find(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** Ends every session of a token (revoked). */
  endToken(tokenId: string): void {
    for (const [id, s] of this.sessions) if (s.tokenId === tokenId) this.sessions.delete(id);
  }

  /**
   * A state-changing call made with the session cookie must carry the session's CSRF token, and an
   * Origin, when the browser sends one, must be our own host. Bearer calls pass.
   */
  checkCsrf(req: IncomingMessage, principal: Principal): void {
    if (principal.via !== 'session' || !principal.session) return;
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host === undefined || host !== req.headers.host)
        throw new HttpError(403, 'csrf', 'the request comes from another origin');
    }
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameSecret(sent, principal.session.csrf))
      throw new HttpError(
        403,
        'csrf',
        `a change made with the session cookie needs the session's ${CSRF_HEADER} header`,
      );
  }

  /** Marks the session checked at `at`. */
  touch(session: Session, at: number): void {
    session.checkedAt = at;
  }
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookieName(tls: boolean): string {
  return tls ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** The Set-Cookie value for a session (or, with `undefined`, the one that clears it). */
export function sessionCookie(session: Session | undefined, tls: boolean, now: number): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(tls ? ['Secure'] : [])];
  if (!session) return [`${sessionCookieName(tls)}=`, 'Max-Age=0', ...attrs].join('; ');
  const maxAge = Math.max(0, Math.floor((session.expiresAt - now) / 1000));
  return [`${sessionCookieName(tls)}=${session.id}`, `Max-Age=${maxAge}`, ...attrs].join('; ');
}

/** The caller of a request, or a 401 saying why not. */
export async function authenticate(
  req: IncomingMessage,
  deps: { store: Store; sessions: SessionTable; tls: boolean; now: () => number },
): Promise<Principal> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer[ ]+(\S{1,256})$/i.exec(header.length > 300 ? '' : header);
    if (!m) throw unauthorized('the Authorization header must be "Bearer cm_…"');
    const token = await deps.store.tokens.verify(m[1]);
    if (!token) throw unauthorized('the token is unknown or revoked');
    return { tokenId: token.id, name: token.name, role: token.role, via: 'bearer' };
  }
  const id = cookieValue(req.headers.cookie, sessionCookieName(deps.tls));
  if (id === undefined) throw unauthorized('no credentials: send "Authorization: Bearer cm_…" or log in');
  const session = SESSION_ID.test(id) ? deps.sessions.find(id) : undefined;
  if (!session) throw unauthorized('the session is unknown or has expired: log in again');
  const at = deps.now();
  if (at - session.checkedAt >= RECHECK_MS) {
    const live = (await deps.store.tokens.list()).find((t) => t.id === session.tokenId && t.revoked_at === null);
    if (!live) {
      deps.sessions.endToken(session.tokenId);
      throw unauthorized('the token of this session was revoked');
    }
    deps.sessions.touch(session, at);
  }
  return { tokenId: session.tokenId, name: session.name, role: session.role, via: 'session', session };
}
