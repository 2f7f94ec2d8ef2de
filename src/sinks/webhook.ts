/**
 * Webhook delivery for live findings through the one spooled sender (`spooled-sender.ts`: at least once,
 * in spool order, backoff, Retry-After, 401/403 said once, 4xx to `rejected/`, replay on start). What is
 * the webhook's own: an item is one finding revision, a JSON file named by a hash of its dedupe key and
 * POSTed as `{ "dedupe_key": key, ...body }` with the key as Idempotency-Key; a key pending or delivered
 * this run is not sent twice; a full spool refuses new items (counted, reported; nothing is dropped
 * silently). An item the receiver takes but does not accept — 5xx, 408 or 429, a hang, a reset, an answer
 * trickled past the timeout — goes behind the others after each round of attempts (its file rewritten
 * with the new place, so a restart keeps the order): one bad item does not hold back the rest. When the
 * receiver cannot be reached at all (refused, unroutable) every item would fail alike, so the order is kept.
 */
import { createHash } from 'node:crypto';
import type { Finding } from '../model/finding.js';
import { contentDigest, type RevisionLedger } from './revisions.js';
import { httpUrl, SpooledSender, type SpoolItem } from './spooled-sender.js';

export interface WebhookBackoff {
  /** First retry delay; doubles each attempt. Default 500 ms. */
  baseMs?: number;
  /** Largest delay between attempts, a Retry-After's too. Default 30 s. */
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

interface WebhookItem extends SpoolItem {
  key: string;
}

/** A spool file's content: `body` is what is POSTed beside `dedupe_key`. */
interface SpoolRecord {
  v: 1;
  seq: number;
  key: string;
  body: unknown;
}

const DEFAULTS = { timeoutMs: 5000, maxAttempts: 5, maxSpoolBytes: 256 * 1024 * 1024, maxRejected: 1000 };

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function readRecord(data: Buffer): SpoolRecord {
  const record = JSON.parse(data.toString('utf8')) as SpoolRecord;
  if (record === null || typeof record.key !== 'string' || typeof record.seq !== 'number')
    throw new Error('no key/seq');
  return record;
}

function recordBytes(record: SpoolRecord): Buffer {
  return Buffer.from(`${JSON.stringify(record)}\n`);
}

export class WebhookDelivery {
  private readonly sender: SpooledSender<WebhookItem>;
  /** Keys in the spool. */
  private readonly pendingKeys = new Set<string>();
  /** Keys delivered this run (insertion order = eviction order). */
  private readonly deliveredKeys = new Set<string>();
  private readonly rememberLimit: number;
  private readonly report: (text: string) => void;
  private duplicates = 0;
  private closed = false;

  constructor(options: WebhookOptions) {
    const url = httpUrl(options.url, 'webhook');
    const headers = { ...(options.headers ?? {}) };
    this.rememberLimit = Math.max(0, options.rememberDelivered ?? 100_000);
    this.report = options.onIssue ?? (() => {});
    const capMs = options.backoff?.capMs ?? 30_000;
    this.sender = new SpooledSender<WebhookItem>({
      url,
      spoolDir: options.spoolDir,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      backoff: { baseMs: options.backoff?.baseMs, capMs },
      rounds: {
        attempts: Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts),
        pauseMs: options.backoff?.roundMs ?? capMs,
        reorder: (_item, data, seq) => recordBytes({ ...readRecord(data), seq }),
      },
      maxSpoolBytes: options.maxSpoolBytes ?? DEFAULTS.maxSpoolBytes,
      whenFull: 'refuse',
      maxRejected: options.maxRejected ?? DEFAULTS.maxRejected,
      words: {
        name: 'webhook',
        counted: 'item(s)',
        plural: 'items',
        one: (item) => item.key,
        refusal: (status) =>
          status === 401
            ? 'the token is missing, unknown or revoked'
            : 'the token may not send here; a sensor token is needed',
      },
      hooks: {
        recover: (name, bytes, read) => {
          if (!name.endsWith('.json')) return undefined;
          const record = readRecord(read());
          // two files of one key (a hand-made one beside ours): the first found is sent, once
          if (this.pendingKeys.has(record.key)) return undefined;
          this.pendingKeys.add(record.key);
          return { seq: record.seq, key: record.key, file: name, bytes, units: 1 };
        },
        request: (item, data) => {
          const b = readRecord(data).body;
          const fields =
            b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : { value: b };
          const out: Record<string, unknown> = { dedupe_key: item.key, ...fields };
          out.dedupe_key = item.key;
          return {
            url,
            headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': item.key },
            body: Buffer.from(JSON.stringify(out)),
          };
        },
        onLeave: (item, how) => {
          this.pendingKeys.delete(item.key);
          if (how !== 'sent') return;
          this.deliveredKeys.add(item.key);
          if (this.deliveredKeys.size > this.rememberLimit) {
            const oldest = this.deliveredKeys.values().next().value;
            if (oldest !== undefined) this.deliveredKeys.delete(oldest);
          }
        },
      },
      onIssue: this.report,
    });
  }

  get stats(): WebhookStats {
    const s = this.sender.stats;
    return {
      delivered: s.sent,
      retried: s.retried,
      pending: s.pending,
      rejected: s.rejected,
      refused: s.refused,
      duplicates: this.duplicates,
      spoolBytes: s.spoolBytes,
    };
  }

  /** The HTTP status (401/403) with which the receiver refused our credentials this run; delivery stopped then. */
  get refused(): number | undefined {
    return this.sender.refused;
  }

  /** Where undelivered items wait. */
  get spool(): string {
    return this.sender.spool;
  }

  /**
   * Spools the item durably, then delivers it in the background. Resolves once the spool file exists
   * ('spooled'), or 'duplicate' (pending or delivered this run), or 'refused' (spool full; reported).
   */
  enqueue(payload: WebhookPayload): Promise<EnqueueResult> {
    const key = payload.key;
    if (this.pendingKeys.has(key) || this.deliveredKeys.has(key)) {
      this.duplicates++;
      return Promise.resolve('duplicate');
    }
    // pending before the sender may start on it
    this.pendingKeys.add(key);
    const result = this.sender.add((seq) => ({
      item: { seq, key, file: `${hashKey(key)}.json`, units: 1 },
      data: recordBytes({ v: 1, seq, key, body: payload.body }),
    }));
    if (result === 'refused') this.pendingKeys.delete(key);
    return Promise.resolve(result);
  }

  /** Resolves true once the spool is empty (everything delivered or rejected), false at the timeout. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.sender.flush(timeoutMs);
  }

  /** Stops retrying and aborts what is in flight; undelivered items stay in the spool for the next start. */
  async close(): Promise<number> {
    const wasOpen = !this.closed;
    this.closed = true;
    const left = await this.sender.close();
    if (wasOpen && left > 0)
      this.report(
        `webhook: ${left} undelivered item(s) left in ${this.sender.spool}; they are sent when a delivery starts on that spool again`,
      );
    return left;
  }
}
