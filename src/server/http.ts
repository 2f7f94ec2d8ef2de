/**
 * The seam of the server: what a route is, what its handler is given and answers, and what a module
 * (ingest.ts) hands `createServer` to add its routes and their OpenAPI paths. Types only.
 */
import type { IncomingMessage } from 'node:http';
import type { Policy } from '../model/policy.js';
import type { Store } from '../store/index.js';
import type { Role } from '../store/tokens.js';
import type { Principal, SessionTable } from './auth.js';
import type { ChangeFeed } from './changes.js';
import type { OpenApiPaths, Schema } from './openapi.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a handler answers: JSON (`json`), text or bytes (`body`: a console file) with its content type,
 * or a long-lived stream (`stream`: server-sent events); `headers` add to the security ones (and may
 * replace the CSP and cache-control).
 */
export interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  body?: Buffer;
  contentType?: string;
  headers?: Record<string, string | string[]>;
  /**
   * A streamed answer: the status and headers are sent, then this is called with the open stream, which
   * it writes to until it or the client ends it. The server ends every open stream when it closes. On a
   * HEAD request the stream is ended as soon as it starts.
   */
  stream?: (out: ResponseStream) => void;
}

/** An open streamed response, as a `Reply.stream` writer sees it. */
export interface ResponseStream {
  /**
   * Sends text. False once the stream has ended, and when the client reads so slowly that its unsent
   * bytes passed the bound: the stream is then dropped (ended) rather than buffered without limit.
   */
  write(text: string): boolean;
  end(): void;
  /**
   * Resolves once the client has taken what was written (at once when little waits), or the stream
   * ended: a long answer (an export) waits on it between writes, so it never nears the drop bound.
   */
  drained(): Promise<void>;
  /** Cuts the connection: a writer that fails part way, so the client sees an incomplete answer, not a short one. */
  abort(): void;
  /** Called once when the stream ends, whoever ends it (the writer, the client, a drop, the server closing). */
  onEnd(listener: () => void): void;
  readonly ended: boolean;
}

export interface RouteContext {
  req: IncomingMessage;
  /** Path parameters by the template's `{name}`, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Who is calling; undefined only on `roles: 'public'` routes. */
  principal: Principal | undefined;
  /** The parsed JSON body, already checked against the route's requestBody schema (`body: 'json'` routes). */
  body: unknown;
  deps: ServerDeps;
}

export interface Route {
  method: Method;
  /** An OpenAPI path template: `/api/v1/cases/{id}`; `{name}` matches one non-empty segment. */
  path: string;
  /** The roles that may call it; `'public'` only for routes that authenticate themselves (login). */
  roles: readonly Role[] | 'public';
  /**
   * How the body is read: `'none'` (a body is refused), `'json'` (bounded, parsed, checked against the
   * OpenAPI requestBody schema before the handler runs) or `'stream'` (the handler reads `req` itself and
   * bounds it: ingest).
   */
  body: 'none' | 'json' | 'stream';
  handler(ctx: RouteContext): Promise<Reply>;
}

/** What every module is given. */
export interface ServerDeps {
  store: Store;
  policy: Policy;
  /** Epoch ms; tests pin it. */
  now: () => number;
  /** One line to the operator (stderr under `serve`); never sent to clients. */
  log: (line: string) => void;
  sessions: SessionTable;
  /** True when served over TLS (cookies get `Secure`). */
  tls: boolean;
  /** What changed, for the event streams: every route or module that changes the store publishes here. */
  changes: ChangeFeed;
}

/** A piece of the API another room builds (ingest): its routes and the OpenAPI paths describing them. */
export interface ServerModule {
  routes: Route[];
  openapi?: { paths: OpenApiPaths; schemas?: Record<string, Schema> };
  /** Called once when the server closes (flush, end a detector). */
  close?(): Promise<void>;
}
