/**
 * The one spooled sender (`watch --webhook`'s findings, `watch --server`'s telemetry batches): every item is
 * written to a spool directory first (temp name, fsync, rename), then POSTed oldest first, one at a time,
 * and deleted only on a 2xx: at least once, in spool order, across a restart (what a run leaves is replayed
 * first). A failure is retried with capped exponential backoff and jitter, at least as long as a 429/503's
 * Retry-After asks (up to the cap); 401/403 stops sending for the run, said once (every item would be
 * refused alike); another 4xx but 408/429 can never succeed and is moved to `rejected/`, counted. The spool
 * is bounded: past its budget a new item is refused, or the oldest are dropped, counted and said.
 * What an item is, its request (URL, headers, body) and its words are the user's (`SenderHooks`).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';

/** One spooled item; users add what is theirs (a dedupe key, a batch id). */
export interface SpoolItem {
  /** Spool order: sent in ascending seq. */
  seq: number;
  /** Its file in the spool directory. */
  file: string;
  /** Its size on disk, counted against the budget. */
  bytes: number;
  /** What it holds, counted in the stats (a batch's events; 1 for one finding). */
  units: number;
}

export interface BackoffOptions {
  /** First retry delay; doubles each failure in a row. Default 500 ms. */
  baseMs?: number;
  /** Largest delay between attempts, a Retry-After's too. Default 30 s. */
  capMs?: number;
}

/** One request as `postOnce` sends it. */
export interface PostRequest {
  url: URL;
  /** Sent as given (with content-length added); URL credentials become Basic auth. Never logged. */
  headers: Record<string, string>;
  body: Buffer;
  /** Connect + response headers; the answer's body is drained for at most this long again. */
  timeoutMs: number;
  /** Default POST; PUT for a sensor's heartbeat (run/forward.ts). */
  method?: 'POST' | 'PUT';
}

export type Outcome =
  | { kind: 'ok' }
  /** 401/403: the receiver refuses who we are; every item would be refused alike until the token is fixed. */
  | { kind: 'unauthorized'; status: number }
  /** A 4xx but 408/429: this item can never succeed. */
  | { kind: 'reject'; status: number }
  /**
   * `reached`: the receiver took the connection and then failed this item (5xx, 408, 429, a timeout, a
   * reset), as against not reachable at all (refused, unroutable), where every item fails alike.
   * `retryAfterMs`: what a 429/503 asked for in its Retry-After.
   */
  | { kind: 'retry'; why: string; reached: boolean; retryAfterMs?: number };

/** How the reports name things: `{ name: 'webhook', counted: 'item(s)', plural: 'items', one: (i) => i.key }`. */
export interface SenderWords<I extends SpoolItem> {
  /** Starts every report. */
  name: string;
  /** Items counted: `3 item(s)`. */
  counted: string;
  /** Items in general: `takes items again`. */
  plural: string;
  /** What `units` are, when they are worth saying beside a count: `3 batch(es) (30 events)`. */
  units?: string;
  /** One item as a report names it. */
  one: (item: I) => string;
  /** Why a 401/403 refuses us, for the operator: `missing, unknown or revoked`. */
  refusal: (status: number) => string;
}

export interface SenderHooks<I extends SpoolItem> {
  /**
   * A file found in the spool at start: its item, undefined when the file is not one (left alone), or a
   * throw when it is one but cannot be read (moved to `rejected/`, counted).
   */
  recover: (name: string, bytes: number, read: () => Buffer) => I | undefined;
  /** The request for an item from its spool file's bytes (a throw: unreadable, moved aside). */
  request: (item: I, data: Buffer) => Omit<PostRequest, 'timeoutMs'>;
  /** Told when an item leaves the spool. */
  onLeave?: (item: I, how: 'sent' | 'rejected' | 'dropped') => void;
}

export interface SenderOptions<I extends SpoolItem> {
  /** The receiver as reports name it (`redactUrl`'d: no credentials, no query). */
  url: URL;
  spoolDir: string;
  /** Per request: connect + response headers (a slow or trickled answer counts as none). */
  timeoutMs: number;
  backoff?: BackoffOptions;
  /**
   * After `attempts` failures in a row: wait `pauseMs`, and when the receiver was reached (it takes the
   * connection, then fails this item) put the item behind the others, its file rewritten by `reorder` with
   * the new seq so a restart keeps the order. Without rounds an item is retried in place for ever.
   */
  rounds?: { attempts: number; pauseMs: number; reorder: (item: I, data: Buffer, seq: number) => Buffer };
  /** The spool's budget in bytes. */
  maxSpoolBytes: number;
  /** Past the budget: `refuse` the new item (each said), or `drop-oldest` (said at most once a minute). */
  whenFull: 'refuse' | 'drop-oldest';
  /** Items kept in `rejected/` (the oldest deleted first, said). */
  maxRejected: number;
  words: SenderWords<I>;
  hooks: SenderHooks<I>;
  onIssue?: (text: string) => void;
}

export interface SenderStats {
  /** Taken (2xx) this run, and their units. */
  sent: number;
  sentUnits: number;
  /** Attempts after a failed one. */
  retried: number;
  /** In the spool, waiting or in flight. */
  pending: number;
  pendingUnits: number;
  /** Moved to `rejected/` (a 4xx but 401/403/408/429, or an unreadable spool file). */
  rejected: number;
  rejectedUnits: number;
  /** Not taken into the spool: full (`refuse`), or its write failed. */
  refused: number;
  refusedUnits: number;
  /** Dropped from the full spool, oldest first (`drop-oldest`). */
  dropped: number;
  droppedUnits: number;
  spoolBytes: number;
}

/** Drops are said at most this often (with the totals), not once per item. */
const DROP_REPORT_MS = 60_000;
const DEFAULT_BACKOFF = { baseMs: 500, capMs: 30_000 };
/** Longer than any HTTP-date (IMF-fixdate is 29 characters): not parsed. */
const MAX_RETRY_AFTER_CHARS = 64;

/** A receiver's URL, checked: http:// or https:// only (`name` starts the error). */
export function httpUrl(text: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${name}: not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${name}: only http:// and https:// URLs are supported, not ${url.protocol}`);
  return url;
}

/** The URL as it may be printed: no credentials, no query. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * The wait before attempt `failures + 1`: `baseMs` doubled per failure in a row, capped at `capMs`, then
 * jittered to between half and all of it, so senders that failed together do not come back together.
 */
export function backoffDelay(failures: number, backoff: BackoffOptions = {}, random = Math.random): number {
  const baseMs = backoff.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const capMs = backoff.capMs ?? DEFAULT_BACKOFF.capMs;
  const full = Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

/** The backoff, or longer when the answer's Retry-After asked (never past `capMs`: a receiver cannot park us). */
export function retryDelay(failures: number, outcome: Outcome, backoff: BackoffOptions = {}): number {
  const wait = backoffDelay(failures, backoff);
  if (outcome.kind !== 'retry' || outcome.retryAfterMs === undefined) return wait;
  return Math.max(wait, Math.min(outcome.retryAfterMs, backoff.capMs ?? DEFAULT_BACKOFF.capMs));
}

/**
 * A Retry-After value (RFC 9110 10.2.3): delay-seconds, or an HTTP-date from `now`; undefined when it is
 * neither. A date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.length > MAX_RETRY_AFTER_CHARS) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // a date needs a letter (a month or day name): a bare number with a sign or a point is not a date
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * One request and what its answer means for a spooled item: ok (2xx), unauthorized (401/403: the
 * credentials, not the item, are refused), reject (another 4xx but 408/429), or retry.
 */
export function postOnce(request: PostRequest): { outcome: Promise<Outcome>; request: http.ClientRequest } {
  const { url, body, timeoutMs } = request;
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string | number> = { ...request.headers, 'content-length': body.length };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  let settle: (outcome: Outcome) => void = () => {};
  const outcome = new Promise<Outcome>((resolve) => {
    let settled = false;
    settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
  });
  let reached = false;
  const req = client.request(
    {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: request.method ?? 'POST',
      headers,
      agent: false,
    },
    (res) => {
      const status = res.statusCode ?? 0;
      // the answer is known from the status; a body that trickles must not hold a socket open for ever
      const drain = setTimeout(() => res.destroy(), timeoutMs);
      res.on('close', () => clearTimeout(drain));
      res.resume();
      res.on('error', () => {});
      if (status >= 200 && status < 300) return settle({ kind: 'ok' });
      if (status === 401 || status === 403) return settle({ kind: 'unauthorized', status });
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return settle({ kind: 'reject', status });
      const header = res.headers['retry-after'];
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(header, Date.now()) : undefined;
      settle({
        kind: 'retry',
        why: `HTTP ${status}`,
        reached: true,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    },
  );
  const timer = setTimeout(() => {
    settle({ kind: 'retry', why: `no answer in ${timeoutMs} ms`, reached });
    req.destroy(new Error('timeout'));
  }, timeoutMs);
  req.on('socket', (socket) => {
    // over TLS the receiver is reached once the handshake is done (a bad certificate fails every item alike)
    if (!socket.connecting && url.protocol === 'http:') reached = true;
    else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => (reached = true));
  });
  req.on('error', (error: NodeJS.ErrnoException) => {
    settle({ kind: 'retry', why: error.code ?? error.message, reached });
  });
  req.end(body);
  return { outcome, request: req };
}

/** Bytes to a temp name, fsynced, renamed into place: a kill leaves a whole file or a .tmp, never a torn one. */
export function writeDurably(path: string, bytes: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export class SpooledSender<I extends SpoolItem> {
  private readonly shownUrl: string;
  private readonly spoolDir: string;
  private readonly rejectedDir: string;
  private readonly backoff: Required<BackoffOptions>;
  private readonly words: SenderWords<I>;
  private readonly hooks: SenderHooks<I>;
  private readonly report: (text: string) => void;
  /** Spool order (seq ascending). */
  private readonly queue: I[] = [];
  private nextSeq = 1;
  private spoolBytes = 0;
  private readonly counts = {
    sent: 0,
    sentUnits: 0,
    retried: 0,
    rejected: 0,
    rejectedUnits: 0,
    refused: 0,
    refusedUnits: 0,
    dropped: 0,
    droppedUnits: 0,
  };
  private worker: Promise<void> | null = null;
  private inflight: http.ClientRequest | null = null;
  /** The item being sent: never dropped for room. */
  private inflightItem: I | undefined;
  private sleeping: (() => void) | null = null;
  private waiters: Array<() => void> = [];
  private closed = false;
  private down = false;
  private refusedStatus: number | undefined;
  private lastDropReport = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SenderOptions<I>) {
    this.shownUrl = redactUrl(options.url);
    this.spoolDir = options.spoolDir;
    this.rejectedDir = join(options.spoolDir, 'rejected');
    this.backoff = {
      baseMs: options.backoff?.baseMs ?? DEFAULT_BACKOFF.baseMs,
      capMs: options.backoff?.capMs ?? DEFAULT_BACKOFF.capMs,
    };
    this.words = options.words;
    this.hooks = options.hooks;
    this.report = options.onIssue ?? (() => {});
    mkdirSync(this.spoolDir, { recursive: true });
    this.replay();
    this.kick();
  }

  get stats(): SenderStats {
    let pendingUnits = 0;
    for (const item of this.queue) pendingUnits += item.units;
    return { ...this.counts, pending: this.queue.length, pendingUnits, spoolBytes: this.spoolBytes };
  }

  /** The 401/403 with which the receiver refused us this run; sending stopped then. */
  get refused(): number | undefined {
    return this.refusedStatus;
  }

  get spool(): string {
    return this.spoolDir;
  }

  /**
   * Writes one item to the spool (durably, before this returns) and queues it; `make` gets its seq and
   * gives the item and its file's bytes. 'refused' when it is not in the spool (full under `refuse`, or
   * the write failed): counted and said. Items may be added after `close()`: they wait for the next start.
   */
  add(make: (seq: number) => { item: Omit<I, 'bytes'>; data: Buffer }): 'spooled' | 'refused' {
    const seq = this.nextSeq++;
    const made = make(seq);
    const item = { ...made.item, bytes: made.data.length } as I;
    if (this.options.whenFull === 'refuse' && this.spoolBytes + item.bytes > this.options.maxSpoolBytes) {
      this.counts.refused++;
      this.counts.refusedUnits += item.units;
      this.report(
        `${this.words.name}: the spool ${this.spoolDir} is full (${this.spoolBytes} of ${this.options.maxSpoolBytes} bytes); refused ${this.words.one(item)} (${this.counts.refused} refused so far) — ${this.shownUrl} has not taken ${this.words.plural} for a while`,
      );
      return 'refused';
    }
    if (this.options.whenFull === 'drop-oldest') this.makeRoom(item.bytes);
    try {
      writeDurably(join(this.spoolDir, item.file), made.data);
    } catch (error) {
      this.counts.refused++;
      this.counts.refusedUnits += item.units;
      this.report(
        `${this.words.name}: could not write ${this.words.one(item)} to the spool ${this.spoolDir}: ${(error as Error).message}; not sent`,
      );
      return 'refused';
    }
    this.queue.push(item);
    this.spoolBytes += item.bytes;
    this.kick();
    return 'spooled';
  }

  /** Resolves true once the spool is empty (everything sent or moved aside), false at the timeout or once stopped. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed || this.refusedStatus !== undefined) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.push(done);
      });
    }
    return true;
  }

  /** Stops sending and aborts what is in flight; what is unsent stays in the spool for the next start. Items left. */
  async close(): Promise<number> {
    if (!this.closed) {
      this.closed = true;
      this.sleeping?.();
      this.inflight?.destroy(new Error('closed'));
      await this.worker;
      this.notify();
    }
    return this.queue.length;
  }

  /** `3 batch(es) (30 events)`: items counted as the reports count them. */
  count(items: number, units: number): string {
    return `${items} ${this.words.counted}${this.words.units ? ` (${units} ${this.words.units})` : ''}`;
  }

  // --- spool -------------------------------------------------------------------------------------

  private replay(): void {
    const found: I[] = [];
    for (const name of readdirSync(this.spoolDir)) {
      const path = join(this.spoolDir, name);
      if (name.endsWith('.tmp')) {
        // a write a kill cut short before its rename: never queued, so never promised
        try {
          unlinkSync(path);
        } catch {}
        continue;
      }
      let bytes: number;
      try {
        const stat = statSync(path);
        if (!stat.isFile()) continue;
        bytes = stat.size;
      } catch {
        continue;
      }
      let item: I | undefined;
      try {
        item = this.hooks.recover(name, bytes, () => readFileSync(path));
      } catch (error) {
        this.moveToRejected(name);
        this.counts.rejected++;
        this.report(
          `${this.words.name}: unreadable spool file ${path} moved to ${this.rejectedDir}: ${(error as Error).message}`,
        );
        continue;
      }
      if (item) found.push(item);
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const item of found) {
      this.queue.push(item);
      this.spoolBytes += item.bytes;
      this.nextSeq = Math.max(this.nextSeq, item.seq + 1);
    }
    if (found.length > 0)
      this.report(
        `${this.words.name}: replaying ${this.count(found.length, this.stats.pendingUnits)} left in ${this.spoolDir} by an earlier run, first`,
      );
  }

  /** Drops the oldest items not in flight until `bytes` more fit the budget; counted, said now and then. */
  private makeRoom(bytes: number): void {
    let dropped = 0;
    while (this.spoolBytes + bytes > this.options.maxSpoolBytes) {
      const at = this.queue.findIndex((item) => item !== this.inflightItem);
      if (at < 0) break;
      const old = this.queue[at];
      try {
        unlinkSync(join(this.spoolDir, old.file));
      } catch {}
      this.counts.dropped++;
      this.counts.droppedUnits += old.units;
      this.leave(old, 'dropped');
      dropped++;
    }
    const now = Date.now();
    if (dropped > 0 && now - this.lastDropReport >= DROP_REPORT_MS) {
      this.lastDropReport = now;
      this.report(
        `${this.words.name}: the spool ${this.spoolDir} is full (${this.options.maxSpoolBytes} bytes); dropped the oldest ${this.words.plural}, ${this.count(this.counts.dropped, this.counts.droppedUnits)} so far — ${this.shownUrl} has not taken them for a while`,
      );
    }
  }

  private moveToRejected(file: string): void {
    try {
      mkdirSync(this.rejectedDir, { recursive: true });
      renameSync(join(this.spoolDir, file), join(this.rejectedDir, file));
    } catch (error) {
      this.report(`${this.words.name}: could not move ${file} to ${this.rejectedDir}: ${(error as Error).message}`);
    }
    this.pruneRejected();
  }

  /** `rejected/` keeps the newest `maxRejected` items for inspection; older ones are deleted, and said so. */
  private pruneRejected(): void {
    let names: string[];
    try {
      names = readdirSync(this.rejectedDir);
    } catch {
      return;
    }
    const keep = Math.max(0, this.options.maxRejected);
    if (names.length <= keep) return;
    const aged = names
      .map((n) => {
        try {
          return { n, m: statSync(join(this.rejectedDir, n)).mtimeMs };
        } catch {
          return { n, m: 0 };
        }
      })
      .sort((a, b) => a.m - b.m || (a.n < b.n ? -1 : 1));
    const drop = aged.slice(0, aged.length - keep);
    for (const { n } of drop)
      try {
        unlinkSync(join(this.rejectedDir, n));
      } catch {}
    this.report(
      `${this.words.name}: deleted the ${drop.length} oldest ${this.words.counted} in ${this.rejectedDir} (it keeps ${keep})`,
    );
  }

  private finish(item: I, how: 'sent' | 'rejected'): void {
    if (how === 'sent') {
      try {
        unlinkSync(join(this.spoolDir, item.file));
      } catch {}
      this.counts.sent++;
      this.counts.sentUnits += item.units;
    } else {
      this.moveToRejected(item.file);
      this.counts.rejected++;
      this.counts.rejectedUnits += item.units;
    }
    this.leave(item, how);
  }

  private leave(item: I, how: 'sent' | 'rejected' | 'dropped'): void {
    const at = this.queue.indexOf(item);
    if (at >= 0) this.queue.splice(at, 1);
    this.spoolBytes -= item.bytes;
    this.hooks.onLeave?.(item, how);
    this.notify();
  }

  /**
   * Puts the item at the end of the queue and gives its spool file the next seq (temp + rename), so a
   * restart replays it behind the others too instead of blocking on it again first.
   */
  private moveBehind(item: I, reorder: (item: I, data: Buffer, seq: number) => Buffer): void {
    const at = this.queue.indexOf(item);
    if (at < 0) return;
    this.queue.splice(at, 1);
    this.queue.push(item);
    const seq = this.nextSeq++;
    try {
      const path = join(this.spoolDir, item.file);
      writeDurably(path, reorder(item, readFileSync(path), seq));
      item.seq = seq;
    } catch (error) {
      // the item keeps its old place on disk; in memory it still goes behind
      this.report(
        `${this.words.name}: could not record the new place of ${this.words.one(item)} in the spool: ${(error as Error).message}`,
      );
    }
  }

  // --- the worker ----------------------------------------------------------------------------------

  private kick(): void {
    if (this.worker || this.closed || this.refusedStatus !== undefined || this.queue.length === 0) return;
    this.worker = this.run().finally(() => {
      this.worker = null;
      this.kick();
    });
  }

  private notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      const wake = () => {
        clearTimeout(timer);
        this.sleeping = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeping = wake;
    });
  }

  private async run(): Promise<void> {
    const { name } = this.words;
    let failures = 0;
    while (!this.closed && this.queue.length > 0) {
      const item = this.queue[0];
      let request: Omit<PostRequest, 'timeoutMs'>;
      try {
        request = this.hooks.request(item, readFileSync(join(this.spoolDir, item.file)));
      } catch (error) {
        const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
        this.report(
          `${name}: the spool file of ${this.words.one(item)} is ${gone ? 'gone' : 'unreadable'}: ${(error as Error).message}; ${gone ? 'skipped' : `moved to ${this.rejectedDir}`}`,
        );
        if (gone) this.leave(item, 'dropped');
        else this.finish(item, 'rejected');
        continue;
      }
      if (failures > 0) this.counts.retried++;
      // set before the first await: an item in flight is never dropped to make room
      const sent = postOnce({ ...request, timeoutMs: this.options.timeoutMs });
      this.inflight = sent.request;
      this.inflightItem = item;
      const outcome = await sent.outcome;
      this.inflight = null;
      this.inflightItem = undefined;
      if (this.closed && outcome.kind === 'retry') return;
      if (outcome.kind === 'ok') {
        if (this.down) this.report(`${name}: ${this.shownUrl} takes ${this.words.plural} again`);
        this.down = false;
        failures = 0;
        this.finish(item, 'sent');
        continue;
      }
      if (outcome.kind === 'unauthorized') {
        this.refusedStatus = outcome.status;
        const { pending, pendingUnits } = this.stats;
        this.report(
          `${name}: ${this.shownUrl} refuses our token (HTTP ${outcome.status}: ${this.words.refusal(outcome.status)}); sending stopped, ${this.count(pending, pendingUnits)} kept in ${this.spoolDir} for a start with a valid token`,
        );
        this.notify();
        return;
      }
      if (outcome.kind === 'reject') {
        failures = 0;
        this.report(
          `${name}: ${this.shownUrl} refused ${this.words.one(item)} with HTTP ${outcome.status}; moved to ${this.rejectedDir}, not sent again`,
        );
        this.finish(item, 'rejected');
        continue;
      }
      failures++;
      if (!this.down) {
        this.down = true;
        const { pending, pendingUnits } = this.stats;
        this.report(
          `${name}: ${this.shownUrl} did not take ${this.words.one(item)} (${outcome.why}); ${this.count(pending, pendingUnits)} kept in ${this.spoolDir}, retrying`,
        );
      }
      let wait = retryDelay(failures, outcome, this.backoff);
      const rounds = this.options.rounds;
      if (rounds && failures % Math.max(1, rounds.attempts) === 0) {
        wait = Math.max(wait, rounds.pauseMs);
        this.report(
          `${name}: ${this.shownUrl} still not taking ${this.words.plural} after ${failures} attempt(s) (${outcome.why}); ${this.queue.length} pending, next round in ${wait} ms`,
        );
        if (outcome.reached && this.queue.length > 1) {
          // the receiver is up but keeps failing this one: it must not hold back the rest for ever
          this.moveBehind(item, rounds.reorder);
          failures = 0;
          this.report(
            `${name}: ${this.words.one(item)} moved behind ${this.queue.length - 1} other pending ${this.words.counted}; it is retried after them`,
          );
        }
      }
      await this.sleep(wait);
    }
  }
}
