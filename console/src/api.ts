/**
 * The console's one way to the server: same-origin fetches under /api/v1 with the session cookie, the
 * CSRF token echoed on every change, and every non-2xx answer an ApiError carrying the server's reason.
 */
import type { Session } from './api-types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

let csrfToken: string | null = null;
let onSessionEnded: () => void = () => {};

/** What to do when the server says the session is gone (expired, revoked, logged out elsewhere): show the login. */
export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler;
}

/** The CSRF token of the cookie session, kept in memory only (never in storage a script could read later). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The server's error body's reason, or a plain one when the body is not ours (a proxy's page). */
async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: unknown; reason?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code : 'error';
    const reason = typeof body.error?.reason === 'string' ? body.error.reason : `HTTP ${res.status}`;
    return new ApiError(res.status, code, reason);
  } catch {
    return new ApiError(res.status, 'error', `HTTP ${res.status} ${res.statusText}`);
  }
}

/** The error of a failed answer; a 401 outside logging in means the session ended. */
async function failed(res: Response, loggingIn = false): Promise<ApiError> {
  const err = await errorOf(res);
  if (res.status === 401 && !loggingIn) {
    hint(false);
    onSessionEnded();
  }
  return err;
}

export async function apiGet<T>(path: string, query?: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const qs = query && [...query.keys()].length > 0 ? `?${query.toString()}` : '';
  const res = await fetch(`/api/v1${path}${qs}`, {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) throw await failed(res);
  return (await res.json()) as T;
}

export async function apiSend<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (csrfToken) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await failed(res, path === '/session' && method === 'POST');
  if (res.status === 204) return undefined;
  return (await res.json()) as T;
}

/**
 * Whether this browser logged in before: the cookie is HttpOnly, so the page cannot see it, and asking
 * the server when nobody logged in is a 401 every browser logs as an error. Holds no secret.
 */
const SESSION_HINT = 'coalmine.session';

function hint(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(SESSION_HINT, '1');
    else window.localStorage.removeItem(SESSION_HINT);
  } catch {
    // storage refused (private mode): the page asks the server every time instead
  }
}

function hinted(): boolean {
  try {
    return window.localStorage.getItem(SESSION_HINT) !== null;
  } catch {
    return true;
  }
}

export async function login(token: string): Promise<Session> {
  const session = (await apiSend<Session>('POST', '/session', { token }))!;
  setCsrfToken(session.csrf_token);
  hint(true);
  return session;
}

/** Who is logged in, or null when nobody is (never logged in here, or the session ended: 401). */
export async function currentSession(): Promise<Session | null> {
  if (!hinted()) return null;
  try {
    const session = await apiGet<Session>('/session');
    setCsrfToken(session.csrf_token);
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      hint(false);
      return null;
    }
    throw err;
  }
}

export async function logout(): Promise<void> {
  hint(false);
  await apiSend('DELETE', '/session');
  setCsrfToken(null);
}

/** The path segment for an id, encoded: ids come from the server but are still data. */
export const seg = (id: string): string => encodeURIComponent(id);
