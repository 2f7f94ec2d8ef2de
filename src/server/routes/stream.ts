/**
 * GET /api/v1/stream: the change feed as server-sent events, what the console's `EventSource` listens
 * to so its open pages refresh when a finding, case, allowlist entry or sensor changes. Each change is
 * `id: <seq>`, `event: <kind>`, `data: <the change as JSON>`. A reconnecting client sends the last id
 * it saw (`Last-Event-ID`) and gets what it missed from the feed's ring, or, when the ring no longer
 * holds all of it (or the id is from before a restart), one `reset` event telling it to reload its
 * lists. Bounded: a cap on open streams (then 503), and a client that stops reading is dropped (app.ts).
 */
import { authenticate } from '../auth.js';
import type { Change } from '../changes.js';
import { HttpError } from '../errors.js';
import type { ResponseStream, Route, RouteContext } from '../http.js';
import { READ } from '../roles.js';

export interface StreamOptions {
  /** A comment line this often keeps proxies and the browser from timing the stream out (ms). */
  keepAliveMs?: number;
  /** Open streams beyond this are refused with 503. */
  maxStreams?: number;
}

export const STREAM_KEEPALIVE_MS = 15_000;
export const MAX_STREAMS = 64;
/** How long the browser waits before reconnecting (ms), sent first on every stream. */
const RETRY_MS = 3000;
const KINDS = new Set(['finding', 'case', 'allowlist', 'sensor']);

/** The event of one change: `data` is one line (JSON escapes every newline). */
export function changeEvent(change: Change): string {
  const kind = KINDS.has(change.kind) ? change.kind : 'change';
  return `id: ${change.seq}\nevent: ${kind}\ndata: ${JSON.stringify(change)}\n\n`;
}

/** The Last-Event-ID header as a sequence number; undefined when absent or not a plain count. */
function lastEventId(header: string | string[] | undefined): number | undefined | 'bad' {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (!/^[0-9]{1,16}$/.test(value)) return 'bad';
  return Number(value);
}

/**
 * Replays what a resumed client missed (or a reset), then sends every change as it is published. At
 * each keep-alive the caller is authenticated again: a stream outlives no revoked token, ended session
 * or changed role.
 */
function follow(out: ResponseStream, ctx: RouteContext, resumeFrom: number | undefined | 'bad', keepAliveMs: number) {
  const feed = ctx.deps.changes;
  const reset = (reason: string) =>
    out.write(`id: ${feed.lastSeq}\nevent: reset\ndata: ${JSON.stringify({ seq: feed.lastSeq, reason })}\n\n`);
  // `id:` with the feed's position, so a client that reconnects before any change resumes from here
  if (resumeFrom === undefined) out.write(`retry: ${RETRY_MS}\nid: ${feed.lastSeq}\n\n`);
  else {
    out.write(`retry: ${RETRY_MS}\n\n`);
    const missed = resumeFrom === 'bad' ? ({ gap: true } as const) : feed.since(resumeFrom);
    if ('gap' in missed) reset('the changes since the last event are no longer held: reload');
    else for (const change of missed.changes) if (!out.write(changeEvent(change))) return;
  }
  if (out.ended) return;
  const leave = feed.subscribe((change) => out.write(changeEvent(change)));
  if (!leave) {
    out.end();
    return;
  }
  let checking = false;
  const keepAlive = setInterval(() => {
    if (!out.write(': keep-alive\n\n') || checking) return;
    checking = true;
    authenticate(ctx.req, ctx.deps)
      .then(
        (principal) => {
          if (!READ.includes(principal.role)) out.end();
        },
        () => out.end(),
      )
      .finally(() => {
        checking = false;
      });
  }, keepAliveMs);
  keepAlive.unref();
  out.onEnd(() => {
    clearInterval(keepAlive);
    leave();
  });
}

export function streamRoutes(options: StreamOptions = {}): Route[] {
  const keepAliveMs = options.keepAliveMs ?? STREAM_KEEPALIVE_MS;
  const maxStreams = options.maxStreams ?? MAX_STREAMS;
  let open = 0;
  return [
    {
      method: 'GET',
      path: '/api/v1/stream',
      roles: READ,
      body: 'none',
      async handler(ctx) {
        if (open >= maxStreams)
          throw new HttpError(503, 'too_many_streams', `${maxStreams} event streams are open; retry later`, {
            'retry-after': '10',
          });
        // the slot is taken now, not when the stream starts, so two requests cannot both take the last one
        open++;
        const resumeFrom = lastEventId(ctx.req.headers['last-event-id']);
        return {
          status: 200,
          contentType: 'text/event-stream; charset=utf-8',
          headers: { 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' },
          stream(out) {
            out.onEnd(() => {
              open--;
            });
            follow(out, ctx, resumeFrom, keepAliveMs);
          },
        };
      },
    },
  ];
}
