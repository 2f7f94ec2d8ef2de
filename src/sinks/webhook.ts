/**
 * Webhook delivery for live findings: every item is first written to a spool directory (one file per
 * item, named by a hash of its dedupe key, written to a temp name and renamed), then POSTed as JSON in
 * the background in spool order, one at a time. 2xx deletes the file; 401/403 stops delivery for the run
 * (said once; the items wait for a start with a valid token); another 4xx (not 408/429) moves it to
 * `rejected/` (which keeps the newest `maxRejected`); anything else (5xx, 408, 429, network error,
 * timeout) keeps it and retries with exponential backoff and jitter — a bounded number of attempts per
 * round, then rounds until `close()`. An item the receiver takes but does not accept — it answers 5xx,
 * 408 or 429, or hangs, resets the connection or trickles its answer past the timeout — goes behind the
 * others after each round (its spool file is rewritten with the new place, so a restart keeps the order),
 * and one bad item or a receiver stuck on it does not hold back the rest. When the receiver cannot be
 * reached at all (refused, unroutable) every item would fail alike, so the order is kept.
 * What is in the spool when a run starts (a crash, or a receiver that was down) is replayed first. A full
 * spool refuses new items with a counted, reported error; nothing is dropped silently.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import type { Finding } from '../model/finding.js';
import { contentDigest, type RevisionLedger } from './revisions.js';

export interface WebhookBackoff {
  /** First retry delay; doubles each attempt. Default 500 ms. */
  baseMs?: number;
  /** Largest delay between attempts. Default 30 s. */
  capMs?: number;
  /** Wait between rounds (after `maxAttempts` failures in a row). Default `capMs`. */
  roundMs?: number;
}

export interface WebhookOptions {
  /** http:// or https:// only. Credentials in the URL are sent (Basic auth) but never logged. */
  url: string;
  spoolDir: string;
  /**
   * Per request: connect + response headers (a slow or trickled answer counts as none). A timeout is a
   * failure like a 5xx. The body of an answer is read for at most this long again. Default 5000.
   */
  timeoutMs?: number;
  /** Attempts per round before waiting `backoff.roundMs`. Default 5. */
  maxAttempts?: number;
  backoff?: WebhookBackoff;
  /** Spool budget; when an item does not fit it is refused (counted and reported). Default 256 MiB. */
  maxSpoolBytes?: number;
  /** Items kept in `rejected/` (oldest deleted first). Default 1000. */
  maxRejected?: number;
  /** Extra request headers (e.g. authorization). Never logged. */
  headers?: Record<string, string>;
  /** Operator-facing reports (receiver down/back, rejected items, refused items, what close() left). */
  onIssue?: (text: string) => void;
  /** How many delivered keys are remembered this run to refuse re-sending them. Default 100000. */
  rememberDelivered?: number;
}

/** One delivery. The POSTed body is `{ "dedupe_key": key, ...body }` (a non-object body is sent as `value`). */
export interface WebhookPayload {
  key: string;
  body: unknown;
}

export type EnqueueResult = 'spooled' | 'duplicate' | 'refused';

export interface WebhookStats {
  /** Accepted (2xx) this run. */
  delivered: number;
  /** Attempts after a failed one. */
  retried: number;
  /** Items in the spool, waiting or in flight. */
  pending: number;
  /** Moved to `rejected/` (4xx other than 408/429, or an unreadable spool file). */
  rejected: number;
  /** Refused because the spool was full. */
  refused: number;
  /** Enqueued again while pending, or already delivered this run: not sent twice. */
  duplicates: number;
  spoolBytes: number;
}

/** The dedupe key of one revision of a live finding. */
export function findingKey(findingId: string, revision: number): string {
  return `${findingId}#${revision}`;
}

/** The webhook payload for a live finding: the same object as watch's NDJSON line (`{ ...finding, revision }`). */
export function findingPayload(finding: Finding, revision: number): WebhookPayload {
  return { key: findingKey(finding.id, revision), body: { ...finding, revision } };
}

/**
 * One live report: its revision comes from the spool's ledger (so it continues across restarts and
 * `id#n` never carries two bodies), and is on disk before the report is spooled.
 */
export function spoolFinding(
  delivery: WebhookDelivery,
  ledger: RevisionLedger,
  finding: Finding,
): { revision: number; spooled: Promise<EnqueueResult> } {
  const { revision } = ledger.assign(finding.id, contentDigest(finding));
  return { revision, spooled: delivery.enqueue(findingPayload(finding, revision)) };
}

interface SpoolItem {
  seq: number;
  key: string;
  file: string;
  bytes: number;
}

interface SpoolRecord {
  v: 1;
  seq: number;
  key: string;
  body: unknown;
}

export type Outcome =
  | { kind: 'ok' }
  /** 401/403: the receiver refuses who we are; every item would be refused alike until the token is fixed. */
  | { kind: 'unauthorized'; status: number }
  | { kind: 'reject'; status: number }
  /**
   * `reached`: the receiver took the connection and then failed this item (5xx, 408, 429, a timeout, a
   * reset), as against not reachable at all (refused, unroutable), where every item fails alike.
   */
  | { kind: 'retry'; why: string; reached: boolean; retryAfterMs?: number };

const DEFAULTS = { timeoutMs: 5000, maxAttempts: 5, baseMs: 500, capMs: 30_000, maxSpoolBytes: 256 * 1024 * 1024 };

/** The URL as it may be printed: no credentials, no query. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class WebhookDelivery {
  private readonly url: URL;
  private readonly shownUrl: string;
  private readonly spoolDir: string;
  private readonly rejectedDir: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly roundMs: number;
  private readonly maxSpoolBytes: number;
  private readonly maxRejected: number;
  private readonly headers: Record<string, string>;
  private readonly report: (text: string) => void;
  private readonly rememberLimit: number;

  /** Spool order (seq ascending). */
  private readonly queue: SpoolItem[] = [];
  /** Keys in the spool or being written to it. */
  private readonly pendingKeys = new Set<string>();
  /** Keys delivered this run (insertion order = eviction order). */
  private readonly deliveredKeys = new Set<string>();
  private nextSeq = 1;
  private writes: Promise<void> = Promise.resolve();
  private worker: Promise<void> | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private inflight: http.ClientRequest | null = null;
  private waiters: Array<() => void> = [];
  private down = false;
  /** The 401/403 that stopped delivery this run, if one did. */
  private refusedStatus: number | undefined;
  private counts = { delivered: 0, retried: 0, rejected: 0, refused: 0, duplicates: 0 };
  private spoolBytes = 0;

  constructor(options: WebhookOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new Error('webhook: not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`webhook: only http:// and https:// URLs are supported, not ${url.protocol}`);
    }
    this.url = url;
    this.shownUrl = redactUrl(url);
    this.spoolDir = options.spoolDir;
    this.rejectedDir = join(options.spoolDir, 'rejected');
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.baseMs = options.backoff?.baseMs ?? DEFAULTS.baseMs;
    this.capMs = options.backoff?.capMs ?? DEFAULTS.capMs;
    this.roundMs = options.backoff?.roundMs ?? this.capMs;
    this.maxSpoolBytes = options.maxSpoolBytes ?? DEFAULTS.maxSpoolBytes;
    this.maxRejected = Math.max(0, options.maxRejected ?? 1000);
    this.headers = { ...(options.headers ?? {}) };
    this.report = options.onIssue ?? (() => {});
    this.rememberLimit = Math.max(0, options.rememberDelivered ?? 100_000);
    mkdirSync(this.spoolDir, { recursive: true });
    this.replay();
    this.kick();
  }

  get stats(): WebhookStats {
    return { ...this.counts, pending: this.queue.length, spoolBytes: this.spoolBytes };
  }

  /** The HTTP status (401/403) with which the receiver refused our credentials this run; delivery stopped then. */
  get refused(): number | undefined {
    return this.refusedStatus;
  }

  /** Where undelivered items wait. */
  get spool(): string {
    return this.spoolDir;
  }

  /**
   * Spools the item durably, then delivers it in the background. Resolves once the spool file exists
   * ('spooled'), or 'duplicate' (pending or delivered this run), or 'refused' (spool full; reported).
   */
  enqueue(payload: WebhookPayload): Promise<EnqueueResult> {
    const key = payload.key;
    if (this.pendingKeys.has(key) || this.deliveredKeys.has(key)) {
      this.counts.duplicates++;
      return Promise.resolve('duplicate');
    }
    const record: SpoolRecord = { v: 1, seq: this.nextSeq, key, body: payload.body };
    const text = `${JSON.stringify(record)}\n`;
    const bytes = Buffer.byteLength(text);
    if (this.spoolBytes + bytes > this.maxSpoolBytes) {
      this.counts.refused++;
      this.report(
        `webhook: spool ${this.spoolDir} is full (${this.spoolBytes} of ${this.maxSpoolBytes} bytes); refused ${key} (${this.counts.refused} refused so far) — the receiver ${this.shownUrl} has not accepted for a while`,
      );
      return Promise.resolve('refused');
    }
    this.nextSeq++;
    this.pendingKeys.add(key);
    this.spoolBytes += bytes;
    const file = `${hashKey(key)}.json`;
    const item: SpoolItem = { seq: record.seq, key, file, bytes };
    // Writes are chained so the queue stays in seq order.
    const done = this.writes.then(async () => {
      try {
        await this.writeAtomic(file, text);
      } catch (error) {
        this.pendingKeys.delete(key);
        this.spoolBytes -= bytes;
        this.counts.refused++;
        this.report(`webhook: could not write ${key} to the spool ${this.spoolDir}: ${(error as Error).message}`);
        return 'refused' as const;
      }
      this.queue.push(item);
      this.kick();
      return 'spooled' as const;
    });
    this.writes = done.then(() => undefined);
    return done;
  }

  /** Resolves true once the spool is empty (everything delivered or rejected), false at the timeout. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.writes;
    while (this.queue.length > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed || this.refusedStatus !== undefined) return this.queue.length === 0;
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

  /** Stops retrying and aborts what is in flight; undelivered items stay in the spool for the next start. */
  async close(): Promise<number> {
    if (!this.closed) {
      this.closed = true;
      await this.writes;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.wake?.();
      this.inflight?.destroy(new Error('closed'));
      await this.worker;
      this.notify();
      if (this.queue.length > 0) {
        this.report(
          `webhook: ${this.queue.length} undelivered item(s) left in ${this.spoolDir}; they are sent when a delivery starts on that spool again`,
        );
      }
    }
    return this.queue.length;
  }

  // --- spool -------------------------------------------------------------------------------------

  private async writeAtomic(file: string, text: string): Promise<void> {
    const tmp = join(this.spoolDir, `.${file}.${process.pid}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.spoolDir, file));
  }

  private replay(): void {
    const found: SpoolItem[] = [];
    for (const name of readdirSync(this.spoolDir)) {
      const path = join(this.spoolDir, name);
      if (name.endsWith('.tmp')) {
        // A write that never reached its rename: the enqueue never resolved, so nothing was promised.
        try {
          unlinkSync(path);
        } catch {}
        continue;
      }
      if (!name.endsWith('.json')) continue;
      let record: SpoolRecord;
      let bytes: number;
      try {
        const text = readFileSync(path, 'utf8');
        bytes = Buffer.byteLength(text);
        record = JSON.parse(text) as SpoolRecord;
        if (typeof record.key !== 'string' || typeof record.seq !== 'number') throw new Error('no key/seq');
      } catch (error) {
        this.moveToRejected(name);
        this.counts.rejected++;
        this.report(`webhook: unreadable spool file ${path} moved to ${this.rejectedDir}: ${(error as Error).message}`);
        continue;
      }
      found.push({ seq: record.seq, key: record.key, file: name, bytes });
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const item of found) {
      if (this.pendingKeys.has(item.key)) continue;
      this.queue.push(item);
      this.pendingKeys.add(item.key);
      this.spoolBytes += item.bytes;
      this.nextSeq = Math.max(this.nextSeq, item.seq + 1);
    }
    if (found.length > 0) this.report(`webhook: replaying ${this.queue.length} item(s) left in ${this.spoolDir}`);
  }

  private moveToRejected(file: string): void {
    try {
      mkdirSync(this.rejectedDir, { recursive: true });
      renameSync(join(this.spoolDir, file), join(this.rejectedDir, file));
    } catch (error) {
      this.report(`webhook: could not move ${file} to ${this.rejectedDir}: ${(error as Error).message}`);
    }
    this.pruneRejected();
  }

  /** `rejected/` keeps the newest `maxRejected` items for inspection; older ones are deleted, and said so. */
  private pruneRejected(): void {
    let names: string[];
    try {
      names = readdirSync(this.rejectedDir).filter((n) => n.endsWith('.json'));
    } catch {
      return;
    }
    if (names.length <= this.maxRejected) return;
    const aged = names
      .map((n) => {
        try {
          return { n, m: statSync(join(this.rejectedDir, n)).mtimeMs };
        } catch {
          return { n, m: 0 };
        }
      })
      .sort((a, b) => a.m - b.m || (a.n < b.n ? -1 : 1));
    const drop = aged.slice(0, aged.length - this.maxRejected);
    for (const { n } of drop)
      try {
        unlinkSync(join(this.rejectedDir, n));
      } catch {}
    this.report(
      `webhook: deleted the ${drop.length} oldest item(s) in ${this.rejectedDir} (it keeps ${this.maxRejected})`,
    );
  }

  private finish(item: SpoolItem, how: 'delivered' | 'rejected'): void {
    if (how === 'delivered') {
      try {
        unlinkSync(join(this.spoolDir, item.file));
      } catch {}
      this.counts.delivered++;
      this.deliveredKeys.add(item.key);
      if (this.deliveredKeys.size > this.rememberLimit) {
        const oldest = this.deliveredKeys.values().next().value;
        if (oldest !== undefined) this.deliveredKeys.delete(oldest);
      }
    } else {
      this.moveToRejected(item.file);
      this.counts.rejected++;
    }
    this.queue.shift();
    this.pendingKeys.delete(item.key);
    this.spoolBytes -= item.bytes;
    this.notify();
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
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.wake = null;
        resolve();
      };
    });
  }

  private delay(attempt: number): number {
    const full = Math.min(this.capMs, this.baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(full / 2 + (Math.random() * full) / 2);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed && this.queue.length > 0) {
      const item = this.queue[0];
      let body: Buffer;
      try {
        const record = JSON.parse(readFileSync(join(this.spoolDir, item.file), 'utf8')) as SpoolRecord;
        const b = record.body;
        const fields =
          b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : { value: b };
        const out: Record<string, unknown> = { dedupe_key: item.key, ...fields };
        out.dedupe_key = item.key;
        body = Buffer.from(JSON.stringify(out));
      } catch (error) {
        this.report(`webhook: spool file for ${item.key} is unreadable, moved aside: ${(error as Error).message}`);
        this.finish(item, 'rejected');
        continue;
      }
      if (failures > 0) this.counts.retried++;
      const outcome = await this.post(item.key, body);
      if (this.closed && outcome.kind === 'retry') return;
      if (outcome.kind === 'ok') {
        if (this.down) this.report(`webhook: ${this.shownUrl} accepts again`);
        this.down = false;
        failures = 0;
        this.finish(item, 'delivered');
        continue;
      }
      if (outcome.kind === 'unauthorized') {
        // said once, and not retried: every item would be refused alike; they wait in the spool for a good token
        this.refusedStatus = outcome.status;
        this.report(
          `webhook: ${this.shownUrl} refuses our credentials (HTTP ${outcome.status}: ${outcome.status === 401 ? 'the token is missing, unknown or revoked' : 'the token may not send here; a sensor token is needed'}); delivery stopped, ${this.queue.length} item(s) kept in ${this.spoolDir} for a start with a valid token`,
        );
        this.notify();
        return;
      }
      if (outcome.kind === 'reject') {
        failures = 0;
        this.report(
          `webhook: ${this.shownUrl} rejected ${item.key} with HTTP ${outcome.status}; kept in ${this.rejectedDir}, not retried`,
        );
        this.finish(item, 'rejected');
        continue;
      }
      failures++;
      if (!this.down) {
        this.down = true;
        this.report(
          `webhook: ${this.shownUrl} did not accept ${item.key} (${outcome.why}); ${this.queue.length} item(s) kept in ${this.spoolDir}, retrying`,
        );
      }
      let wait = this.delay(failures);
      if (failures % this.maxAttempts === 0) {
        wait = this.roundMs;
        this.report(
          `webhook: ${this.shownUrl} still not accepting after ${failures} attempt(s) (${outcome.why}); ${this.queue.length} pending, next round in ${wait} ms`,
        );
      }
      if (outcome.retryAfterMs !== undefined) wait = Math.max(wait, Math.min(outcome.retryAfterMs, this.capMs));
      if (failures % this.maxAttempts === 0 && outcome.reached && this.queue.length > 1) {
        // the receiver is up but keeps failing this one: it must not hold back the rest for ever
        await this.moveBehind(item);
        failures = 0;
        this.report(
          `webhook: ${item.key} moved behind ${this.queue.length - 1} other pending item(s); it is retried after them`,
        );
      }
      await this.sleep(wait);
    }
  }

  /**
   * Puts the head item at the end of the queue and gives its spool file the next seq (temp + rename), so
   * a restart replays it behind the others too instead of blocking on it again first.
   */
  private async moveBehind(item: SpoolItem): Promise<void> {
    this.queue.push(this.queue.shift() as SpoolItem);
    const seq = this.nextSeq++;
    try {
      const record = JSON.parse(readFileSync(join(this.spoolDir, item.file), 'utf8')) as SpoolRecord;
      await this.writeAtomic(item.file, `${JSON.stringify({ ...record, seq })}\n`);
      item.seq = seq;
    } catch (error) {
      // the item keeps its old place on disk; in memory it still goes behind
      this.report(`webhook: could not record the new place of ${item.key} in the spool: ${(error as Error).message}`);
    }
  }

  private post(key: string, body: Buffer): Promise<Outcome> {
    const sent = postOnce({
      url: this.url,
      headers: { ...this.headers, 'content-type': 'application/json', 'idempotency-key': key },
      body,
      timeoutMs: this.timeoutMs,
    });
    this.inflight = sent.request;
    return sent.outcome.finally(() => {
      this.inflight = null;
    });
  }
}

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

/**
 * One POST and what its answer means for a spooled item: ok (2xx), unauthorized (401/403: the
 * credentials, not the item, are refused), reject (another 4xx but 408/429), or retry. Shared by the
 * findings delivery here and the telemetry forwarder (`run/forward.ts`).
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
      const retryAfter = Number(res.headers['retry-after']);
      settle({
        kind: 'retry',
        why: `HTTP ${status}`,
        reached: true,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
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
