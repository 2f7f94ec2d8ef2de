/**
 * The HTTP face of `coalmine serve`: node:http(s), a small router (method + path template → handler),
 * bounded JSON in and out, authentication on every /api/v1 route (auth.ts), security headers on every
 * response, and store errors mapped to statuses (input 400, conflict 409, not found 404). No web
 * framework: the surface is a dozen routes, and every byte a client sends passes through code we read.
 *
 * The seam other modules plug into (ingest.ts): a `ServerModule` is routes (each naming the roles that
 * may call it and how its body is read), the OpenAPI paths that describe them, and an optional `close`.
 * `createServer({ modules })` registers them beside the built-in ones; the router refuses a route twice.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Policy } from '../model/policy.js';
import { type Store, StoreConflictError, StoreInputError, StoreNotFoundError } from '../store/index.js';
import { clip, inert } from '../util/hostile.js';
import { authenticate, type Principal, SessionTable } from './auth.js';
import { ChangeFeed } from './changes.js';
import { HttpError } from './errors.js';
import { matchesEtag } from './etag.js';
import type { Method, Reply, ResponseStream, Route, ServerDeps, ServerModule } from './http.js';
import { apiDocument, type OpenApiDocument } from './openapi.js';
import { allowlistRoutes } from './routes/allowlist.js';
import { caseRoutes } from './routes/cases.js';
import { consoleRoute } from './routes/console.js';
import { findingRoutes } from './routes/findings.js';
import { openapiRoutes } from './routes/openapi.js';
import { sensorRoutes } from './routes/sensors.js';
import { sessionRoutes } from './routes/session.js';
import { type StreamOptions, streamRoutes } from './routes/stream.js';
import { tokenRoutes } from './routes/tokens.js';
import { validateSchema } from './schema.js';

export { type Change, ChangeFeed, type ChangeInput, type ChangeKind } from './changes.js';
export { HttpError } from './errors.js';
export { withEtag } from './etag.js';
export type { Method, Reply, ResponseStream, Route, RouteContext, ServerDeps, ServerModule } from './http.js';
export { ADMIN, READ, SENSOR, WORK } from './roles.js';

/** JSON bodies beyond this are refused with 413 (ingest streams its own, larger bound). */
export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;
const MAX_URL_CHARS = 8192;

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Compiled {
  route: Route;
  segments: string[];
}

/** Method + path template → route. Templates are matched segment by segment: no regexes built from paths. */
export class Router {
  private readonly compiled: Compiled[] = [];
  /**
   * What answers a GET outside `/api/` that no template matches (the console's files and pages). Never
   * under `/api/`: a mistyped API path stays a JSON 404 rather than becoming the console's page.
   */
  fallback: Route | undefined;

  register(route: Route): void {
    if (!route.path.startsWith('/')) throw new Error(`route path must start with /: ${route.path}`);
    if (this.compiled.some((c) => c.route.method === route.method && c.route.path === route.path))
      throw new Error(`route registered twice: ${route.method} ${route.path}`);
    this.compiled.push({ route, segments: route.path.split('/').slice(1) });
  }

  get routes(): readonly Route[] {
    return this.compiled.map((c) => c.route);
  }

  /**
   * The route for `method` at `path` with its parameters; `methods` lists what the path allows when the
   * method is not among them (405), and both are undefined when no template matches (404).
   */
  match(
    method: string,
    path: string,
  ): { route?: Route; params?: Record<string, string>; methods?: Method[] } | undefined {
    const parts = path.split('/').slice(1);
    const allowed: Method[] = [];
    // a literal segment wins over a parameter (`/allowlist/export` before `/allowlist/{id}`)
    let best: { route: Route; params: Record<string, string>; literals: number } | undefined;
    for (const c of this.compiled) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = c.segments[i];
        if (seg.startsWith('{') && seg.endsWith('}')) {
          if (parts[i] === '') ok = false;
          else params[seg.slice(1, -1)] = parts[i];
        } else if (seg === parts[i]) literals++;
        else ok = false;
      }
      if (!ok) continue;
      if (c.route.method !== method) {
        if (!allowed.includes(c.route.method)) allowed.push(c.route.method);
        continue;
      }
      if (!best || literals > best.literals) best = { route: c.route, params, literals };
    }
    if (best) {
      const decoded: Record<string, string> = {};
      for (const [k, v] of Object.entries(best.params)) {
        try {
          decoded[k] = decodeURIComponent(v);
        } catch {
          throw new HttpError(400, 'bad_path', `path parameter ${k} is not valid percent-encoding`);
        }
      }
      return { route: best.route, params: decoded };
    }
    if (allowed.length > 0) return { methods: allowed };
    if (this.fallback && path !== '/api' && !path.startsWith('/api/'))
      return method === this.fallback.method
        ? { route: this.fallback, params: {} }
        : { methods: [this.fallback.method] };
    return undefined;
  }
}

export interface ServerOptions {
  store: Store;
  policy: Policy;
  /** More routes (ingest), registered beside the built-in ones. */
  modules?: ServerModule[];
  tls?: { cert: string | Buffer; key: string | Buffer };
  now?: () => number;
  log?: (line: string) => void;
  maxJsonBytes?: number;
  /** How long a console session lives (ms). */
  sessionTtlMs?: number;
  /** The change feed to publish to (a module made before the server may hold it); else a new one. */
  changes?: ChangeFeed;
  /** The console's build directory (tests); `dist/console/` of the package by default. */
  consoleDir?: string;
  /** The event stream's keep-alive period and cap on open streams (tests shorten them). */
  stream?: StreamOptions;
}

export interface CoalmineServer {
  server: Server;
  router: Router;
  deps: ServerDeps;
  /** The OpenAPI document served at /api/v1/openapi.json (the built-in paths and every module's). */
  document: OpenApiDocument;
  /** Starts listening (loopback unless `host` says otherwise); resolves to the base URL. */
  listen(port: number, host?: string): Promise<URL>;
  /** Stops accepting, ends idle connections, closes the modules; the store is the caller's to close. */
  close(): Promise<void>;
}

export function createServer(options: ServerOptions): CoalmineServer {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const tls = options.tls !== undefined;
  const deps: ServerDeps = {
    store: options.store,
    policy: options.policy,
    now,
    log,
    sessions: new SessionTable({ now, ttlMs: options.sessionTtlMs }),
    tls,
    // sequence numbers start at the start time, so a Last-Event-ID from before a restart reads as too old
    changes: options.changes ?? new ChangeFeed({ now, log, firstSeq: now() }),
  };
  const modules: ServerModule[] = [
    { routes: streamRoutes(options.stream) },
    { routes: findingRoutes() },
    { routes: caseRoutes() },
    { routes: allowlistRoutes() },
    { routes: sensorRoutes() },
    { routes: tokenRoutes() },
    { routes: sessionRoutes() },
    ...(options.modules ?? []),
  ];
  const document = apiDocument(modules.map((m) => m.openapi).filter((o) => o !== undefined));
  modules.push({ routes: openapiRoutes(document) });
  const router = new Router();
  for (const m of modules) for (const r of m.routes) router.register(r);
  router.fallback = consoleRoute({ dir: options.consoleDir });
  const maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;

  /** Streams open now: the server ends them when it closes (they would hold `close()` open forever). */
  const streams = new Set<OpenStream>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let reply: Reply;
    try {
      reply = await dispatch(req, router, deps, document, maxJsonBytes);
    } catch (err) {
      reply = errorReply(err, log, req);
    }
    if (reply.stream) startStream(res, req, reply, reply.stream, streams);
    else send(res, req, reply);
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err) => {
      log(`coalmine serve: answering ${clip(inert(String(req.url)), 200)} failed: ${clip(inert(String(err)), 500)}`);
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS);
      res.end();
    });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  // slow clients cannot hold a connection open forever
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;
  server.keepAliveTimeout = 5_000;

  return {
    server,
    router,
    deps,
    document,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(new URL(`${tls ? 'https' : 'http'}://${shown}:${address.port}/`));
        });
      }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // a stream's response carries `connection: close`, so its socket ends with it
        for (const s of [...streams]) s.end();
        server.closeIdleConnections();
      });
      for (const m of modules) await m.close?.();
    },
  };
}

async function dispatch(
  req: IncomingMessage,
  router: Router,
  deps: ServerDeps,
  document: OpenApiDocument,
  maxJsonBytes: number,
): Promise<Reply> {
  const rawUrl = req.url ?? '/';
  if (rawUrl.length > MAX_URL_CHARS)
    throw new HttpError(414, 'uri_too_long', `the URL is over ${MAX_URL_CHARS} characters`);
  const url = new URL(rawUrl, 'http://coalmine.invalid');
  // HEAD is the GET without its body (send() leaves the body out)
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const found = router.match(method, url.pathname);
  if (!found) throw new HttpError(404, 'not_found', 'no such route');
  if (!found.route) {
    const allow = found.methods!.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
    throw new HttpError(405, 'method_not_allowed', `${clip(inert(String(req.method)), 16)} is not allowed here`, {
      allow: allow.join(', '),
    });
  }
  const route = found.route;
  let principal: Principal | undefined;
  if (route.roles !== 'public') {
    principal = await authenticate(req, deps);
    if (!route.roles.includes(principal.role))
      throw new HttpError(403, 'forbidden', `the ${principal.role} role may not ${method} ${route.path}`);
    if (method !== 'GET') deps.sessions.checkCsrf(req, principal);
  }
  const operation = document.operation(route.method, route.path);
  if (operation) {
    // the document lists each operation's query parameters and their schemas; anything else is a client's
    // mistake, said (as a JSON body is checked against its schema below)
    const inQuery = (operation.parameters ?? []).filter((p) => p.in === 'query');
    const known = new Set(inQuery.map((p) => p.name));
    for (const name of url.searchParams.keys())
      if (!known.has(name))
        throw new HttpError(
          400,
          'bad_request',
          `unknown query parameter "${clip(name, 64)}"${known.size > 0 ? ` (known: ${[...known].join(', ')})` : ''}`,
        );
    for (const param of inQuery)
      for (const value of url.searchParams.getAll(param.name)) {
        const problems = validateSchema(param.schema, value, document.schemas);
        if (problems.length > 0)
          throw new HttpError(400, 'bad_request', `query ${param.name}: ${problems.slice(0, 5).join('; ')}`);
      }
  }
  let body: unknown;
  if (route.body === 'json') {
    body = await readJson(req, maxJsonBytes);
    const schema = operation?.requestBody?.content['application/json']?.schema;
    if (schema) {
      const problems = validateSchema(schema, body, document.schemas);
      if (problems.length > 0) throw new HttpError(400, 'bad_request', `body: ${problems.slice(0, 5).join('; ')}`);
    }
  } else if (route.body === 'none') await refuseBody(req);
  return route.handler({ req, params: found.params ?? {}, query: url.searchParams, principal, body, deps });
}

/** A route that takes no body refuses one (a body where none belongs is a confused or hostile client). */
async function refuseBody(req: IncomingMessage): Promise<void> {
  const length = req.headers['content-length'];
  if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
    req.resume();
    throw new HttpError(400, 'bad_request', 'this route takes no body');
  }
}

/** The request's JSON body: `application/json`, at most `max` bytes, parsed; 415, 413 or 400 with the reason. */
export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    throw new HttpError(413, 'body_too_large', `the body is ${declared} bytes (at most ${max})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      req.resume();
      throw new HttpError(413, 'body_too_large', `the body is over ${max} bytes`);
    }
    chunks.push(chunk);
  }
  if (total === 0) throw new HttpError(400, 'bad_json', 'the body is empty (JSON expected)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, total));
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'bad_json', `the body is not JSON: ${clip(inert((err as Error).message), 200)}`);
  }
}

function errorReply(err: unknown, log: (line: string) => void, req: IncomingMessage): Reply {
  const answer = (status: number, code: string, reason: string, headers?: Record<string, string>): Reply => ({
    status,
    json: { error: { code, reason: clip(inert(reason), 1024) } },
    headers,
  });
  if (err instanceof HttpError) return answer(err.status, err.code, err.message, err.headers);
  if (err instanceof StoreInputError) return answer(400, 'bad_request', err.message);
  if (err instanceof StoreConflictError) return answer(409, 'conflict', err.message);
  if (err instanceof StoreNotFoundError) return answer(404, 'not_found', err.message);
  // a bug or a backend failure: the operator gets the stack, the client a plain 500
  log(
    `coalmine serve: ${clip(inert(String(req.method)), 16)} ${clip(inert(String(req.url)), 200)} failed: ${clip(inert((err as Error)?.stack ?? String(err)), 4000)}`,
  );
  return answer(500, 'internal', 'internal error (the server log says more)');
}

/**
 * A client this far behind on a stream is dropped. Above what a full replay of the change ring needs
 * (1,000 events of at most ~700 bytes), so a reconnecting client is never dropped by its own catch-up;
 * 64 streams at most hold 64 MiB.
 */
const MAX_STREAM_BUFFER_BYTES = 1024 * 1024;

class OpenStream implements ResponseStream {
  private done = false;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly streams: Set<OpenStream>,
  ) {
    streams.add(this);
    res.on('close', () => this.finish());
  }

  get ended(): boolean {
    return this.done;
  }

  write(text: string): boolean {
    if (this.done) return false;
    this.res.write(text);
    if (this.res.writableLength > MAX_STREAM_BUFFER_BYTES) {
      // the client stopped reading: drop it rather than hold what it will not take
      this.res.destroy();
      this.finish();
      return false;
    }
    return true;
  }

  end(): void {
    if (this.done) return;
    this.res.end();
    this.finish();
  }

  drained(): Promise<void> {
    if (this.done || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const settle = () => {
        this.res.off('drain', settle);
        this.res.off('close', settle);
        resolve();
      };
      this.res.on('drain', settle);
      this.res.on('close', settle);
    });
  }

  abort(): void {
    if (this.done) return;
    this.res.destroy();
    this.finish();
  }

  onEnd(listener: () => void): void {
    if (this.done) listener();
    else this.listeners.push(listener);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.streams.delete(this);
    for (const listener of this.listeners.splice(0)) listener();
  }
}

function startStream(
  res: ServerResponse,
  req: IncomingMessage,
  reply: Reply,
  writer: (out: ResponseStream) => void,
  streams: Set<OpenStream>,
): void {
  const headers: Record<string, string | string[]> = {
    ...SECURITY_HEADERS,
    'cache-control': 'no-cache',
    'content-type': reply.contentType ?? 'application/octet-stream',
    ...reply.headers,
    // one long response per connection: its socket ends with it (and with the server's close)
    connection: 'close',
  };
  res.writeHead(reply.status, headers);
  const out = new OpenStream(res, streams);
  writer(out);
  if (req.method === 'HEAD') out.end();
}

function send(res: ServerResponse, req: IncomingMessage, reply: Reply): void {
  const headers: Record<string, string | string[]> = { ...SECURITY_HEADERS, 'cache-control': 'private, no-cache' };
  let payload: string | Buffer | undefined;
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json);
    headers['content-type'] = 'application/json; charset=utf-8';
  } else if (reply.body !== undefined) {
    payload = reply.body;
    headers['content-type'] = reply.contentType ?? 'application/octet-stream';
  } else if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = reply.contentType ?? 'text/plain; charset=utf-8';
  }
  Object.assign(headers, reply.headers);
  let status = reply.status;
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && status === 200 && payload !== undefined && headers.etag !== undefined) {
    if (matchesEtag(req.headers['if-none-match'], String(headers.etag))) {
      status = 304;
      payload = undefined;
      delete headers['content-type'];
    }
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(status, headers);
  // HEAD: the GET's status and headers (its content-length too), no body
  res.end(req.method === 'HEAD' ? undefined : payload);
}
