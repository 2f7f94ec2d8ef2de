/**
 * `watch --server`: the sensor's telemetry sent to a `coalmine serve` (`POST /api/v1/events`), so the
 * server detects from the events themselves. Events are taken as they are sampled and gathered into
 * batches (bounded by events, bytes and time); each batch, gzip NDJSON, goes through the one spooled sender
 * (`sinks/spooled-sender.ts`: spooled before it is sent, oldest first, deleted only on a 2xx, retried with
 * backoff while serve is down or restarting, replayed after a restart of the sensor, 401/403 said once,
 * another 4xx moved to `rejected/`). What is the forwarder's own: a batch's file (its seq, event count and
 * `Idempotency-Key`, a random id, in its name, so serve can tell a batch sent again after a lost answer),
 * its URL (`?format=ndjson&name=HOST/batch-SEQ`) and headers, and a spool that drops the oldest batches
 * past its budget, counted and said: a sensor's newest telemetry matters most.
 *
 * With `heartbeat`, the sensor also says what it is and what it cannot see (`PUT /api/v1/sensors/self`
 * beside the events route): at start, every `intervalMs`, and as soon as a kind of gap appears or goes.
 * A heartbeat is never spooled: one serve did not take while down is tried again with the sender's
 * backoff, saying what is newest when it goes (the latest wins; a stale one is never queued).
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { CoalEvent } from '../model/event.js';
import {
  type BackoffOptions,
  httpUrl,
  postOnce,
  redactUrl,
  retryDelay,
  SpooledSender,
  type SpoolItem,
} from '../sinks/spooled-sender.js';
import { cannotSee, heartbeatBody, type SensorGap, type SensorIdentity } from './sensor-report.js';

export interface ForwardOptions {
  /** serve's events route (`http://host:8477/api/v1/events`); http:// or https:// only. */
  url: string;
  /** Sent with every batch (the Bearer token). Never logged, never written to the spool. */
  headers?: Record<string, string>;
  spoolDir: string;
  /** Names the batches in the server's issues and evidence (`HOST/batch-SEQ`). */
  sensorName: string;
  /** A batch is sealed at this many events... Default 2000. */
  maxBatchEvents?: number;
  /** ...or this many bytes of NDJSON before gzip... Default 1 MiB. */
  maxBatchBytes?: number;
  /** ...or this long after its first event. Default 5000 ms. */
  batchIntervalMs?: number;
  /** The spool's budget (gzip bytes); the oldest batches are dropped past it. Default 64 MiB. */
  maxSpoolBytes?: number;
  /** Batches kept in `rejected/` (oldest deleted first). Default 100. */
  maxRejected?: number;
  /** Per request: connect + answer headers. Default 15000 (a large batch is read before the answer). */
  timeoutMs?: number;
  backoff?: { baseMs?: number; capMs?: number };
  /** Operator-facing reports (server down/back, drops, rejections, refused token). */
  onIssue?: (text: string) => void;
  /** Send heartbeats as this sensor (the events URL must end in /events: they go to its sibling sensors/self). */
  heartbeat?: {
    identity: SensorIdentity;
    /** Default 60000. */
    intervalMs?: number;
  };
}

export interface ForwardStats {
  /** Batches and events the server acknowledged (2xx) this run. */
  batchesSent: number;
  eventsSent: number;
  /** Batches and events in the spool, waiting or in flight (sealed; not counting the open batch). */
  batchesPending: number;
  eventsPending: number;
  /** Dropped because the spool was full (oldest first). */
  batchesDropped: number;
  eventsDropped: number;
  /** Moved to `rejected/` (a 4xx other than 401/403/408/429). */
  batchesRejected: number;
  /** Attempts after a failed one. */
  retried: number;
  /** Events that could not be written as JSON (counted, not sent). */
  unserializable: number;
  /** Heartbeats the server took (2xx), and those it did not (down, refused). */
  heartbeatsSent: number;
  heartbeatsFailed: number;
}

interface BatchFile extends SpoolItem {
  /** The batch's Idempotency-Key. */
  id: string;
}

const BATCH_NAME = /^(\d{12})-(\d{1,9})-([0-9a-f]{32})\.ndjson\.gz$/;
const DEFAULTS = {
  maxBatchEvents: 2000,
  maxBatchBytes: 1024 * 1024,
  batchIntervalMs: 5000,
  maxSpoolBytes: 64 * 1024 * 1024,
  maxRejected: 100,
  timeoutMs: 15_000,
  baseMs: 500,
  capMs: 10_000,
  heartbeatIntervalMs: 60_000,
};

/** Why serve refuses our token, for the operator. */
function refusal(status: number): string {
  return status === 401 ? 'missing, unknown or revoked' : 'not a sensor token';
}

export class TelemetryForwarder {
  private readonly shownUrl: string;
  private readonly headers: Record<string, string>;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly report: (text: string) => void;
  private readonly sender: SpooledSender<BatchFile>;
  private readonly counts = { unserializable: 0, heartbeatsSent: 0, heartbeatsFailed: 0 };

  /** The open batch: NDJSON lines not yet sealed. */
  private lines: string[] = [];
  private lineBytes = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly beat:
    | {
        url: URL;
        identity: SensorIdentity;
        intervalMs: number;
        timer: NodeJS.Timeout;
        gaps: SensorGap[];
        /** The cannot-see statements last sent, joined: a change sends a heartbeat early. */
        said: string | undefined;
        inflight: http.ClientRequest | null;
        /** A heartbeat asked for while one was in flight: sent when it settles, with what is newest then. */
        again: boolean;
        /** Heartbeats in a row serve did not take (down, restarting): the next waits the backoff for that many. */
        failures: number;
        /** The try after a failure, due after the backoff; it sends what is newest when it fires. */
        retry: NodeJS.Timeout | null;
        /** Statuses already said, so a server that refuses every heartbeat is said once. */
        reported: Set<string>;
        stopped: boolean;
        /** The 401/403 that stopped heartbeats. */
        refusedStatus: number | undefined;
      }
    | undefined;

  constructor(options: ForwardOptions) {
    const url = httpUrl(options.url, 'telemetry');
    this.shownUrl = redactUrl(url);
    this.headers = { ...(options.headers ?? {}) };
    const sensorName = options.sensorName.slice(0, 200) || 'sensor';
    this.maxBatchEvents = Math.max(1, options.maxBatchEvents ?? DEFAULTS.maxBatchEvents);
    this.maxBatchBytes = Math.max(1024, options.maxBatchBytes ?? DEFAULTS.maxBatchBytes);
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.backoff = {
      baseMs: options.backoff?.baseMs ?? DEFAULTS.baseMs,
      capMs: options.backoff?.capMs ?? DEFAULTS.capMs,
    };
    this.report = options.onIssue ?? (() => {});
    let beatUrl: URL | undefined;
    if (options.heartbeat) {
      if (!/\/events\/?$/.test(url.pathname))
        throw new Error("telemetry: heartbeats need serve's events URL (…/api/v1/events)");
      beatUrl = new URL(url);
      beatUrl.pathname = url.pathname.replace(/\/events\/?$/, '/sensors/self');
      beatUrl.search = '';
    }
    this.sender = new SpooledSender<BatchFile>({
      url,
      spoolDir: options.spoolDir,
      timeoutMs: this.timeoutMs,
      backoff: this.backoff,
      maxSpoolBytes: Math.max(1024, options.maxSpoolBytes ?? DEFAULTS.maxSpoolBytes),
      whenFull: 'drop-oldest',
      maxRejected: Math.max(0, options.maxRejected ?? DEFAULTS.maxRejected),
      words: {
        name: 'telemetry',
        counted: 'batch(es)',
        plural: 'batches',
        units: 'events',
        one: (batch) => `batch ${batch.seq}`,
        refusal,
      },
      hooks: {
        recover: (name, bytes) => {
          const m = BATCH_NAME.exec(name);
          return m ? { seq: Number(m[1]), units: Number(m[2]), id: m[3], file: name, bytes } : undefined;
        },
        request: (batch, data) => {
          const batchUrl = new URL(url);
          batchUrl.searchParams.set('format', 'ndjson');
          batchUrl.searchParams.set('name', `${sensorName}/batch-${batch.seq}`);
          return {
            url: batchUrl,
            headers: {
              ...this.headers,
              'content-type': 'application/x-ndjson',
              'content-encoding': 'gzip',
              'idempotency-key': batch.id,
            },
            body: data,
          };
        },
      },
      onIssue: this.report,
    });
    this.timer = setInterval(() => this.seal(), options.batchIntervalMs ?? DEFAULTS.batchIntervalMs);
    this.timer.unref();
    if (options.heartbeat && beatUrl) {
      const intervalMs = Math.max(1, options.heartbeat.intervalMs ?? DEFAULTS.heartbeatIntervalMs);
      this.beat = {
        url: beatUrl,
        identity: options.heartbeat.identity,
        intervalMs,
        timer: setInterval(() => this.sendHeartbeat(), intervalMs),
        gaps: [],
        said: undefined,
        inflight: null,
        again: false,
        failures: 0,
        retry: null,
        reported: new Set(),
        stopped: false,
        refusedStatus: undefined,
      };
      this.beat.timer.unref();
      this.sendHeartbeat();
    }
  }

  get stats(): ForwardStats {
    const s = this.sender.stats;
    return {
      batchesSent: s.sent,
      eventsSent: s.sentUnits,
      batchesPending: s.pending,
      eventsPending: s.pendingUnits,
      // a batch whose spool write failed is lost as a dropped one is
      batchesDropped: s.dropped + s.refused,
      eventsDropped: s.droppedUnits + s.refusedUnits,
      batchesRejected: s.rejected,
      retried: s.retried,
      ...this.counts,
    };
  }

  get spool(): string {
    return this.sender.spool;
  }

  /** The 401/403 with which the server refused our token this run; sending stopped then. */
  get refused(): number | undefined {
    return this.sender.refused;
  }

  /**
   * The gaps of the last sample: kept for the next heartbeat, and one sent now when the kinds of gap
   * (what the sensor cannot see) changed since the last one sent.
   */
  noteGaps(gaps: readonly SensorGap[]): void {
    const beat = this.beat;
    if (!beat || beat.stopped) return;
    beat.gaps = gaps.slice(0, 64);
    if (cannotSee(beat.identity, beat.gaps).join('\n') !== beat.said) this.sendHeartbeat();
  }

  /**
   * Resolves once no heartbeat is in flight or asked for (tests, and a clean end); one waiting out the
   * backoff after serve did not take it is neither.
   */
  async heartbeatsSettled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.beat && (this.beat.inflight || (this.beat.again && !this.beat.stopped))) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /** One sampled event into the open batch; the batch is sealed when it is full. Never throws. */
  push(event: CoalEvent): void {
    if (this.closed) return;
    let line: string;
    try {
      line = JSON.stringify(event);
    } catch {
      this.counts.unserializable++;
      return;
    }
    this.lines.push(line);
    this.lineBytes += Buffer.byteLength(line) + 1;
    if (this.lines.length >= this.maxBatchEvents || this.lineBytes >= this.maxBatchBytes) this.seal();
  }

  /**
   * The open batch written to the spool (gzip, fsync, rename) and queued; the oldest batches dropped
   * when it does not fit the budget. A write that fails loses the batch, counted and said.
   */
  seal(): void {
    if (this.lines.length === 0) return;
    const events = this.lines.length;
    const data = gzipSync(`${this.lines.join('\n')}\n`);
    this.lines = [];
    this.lineBytes = 0;
    const id = randomUUID().replaceAll('-', '');
    this.sender.add((seq) => ({
      item: { seq, units: events, id, file: `${String(seq).padStart(12, '0')}-${events}-${id}.ndjson.gz` },
      data,
    }));
  }

  /** Seals the open batch and resolves true once the spool is empty; false at the timeout or when refused. */
  flush(timeoutMs: number): Promise<boolean> {
    this.seal();
    return this.sender.flush(timeoutMs);
  }

  /** Seals the open batch, stops sending; what is unsent stays in the spool for the next start. Batches left. */
  async close(): Promise<number> {
    if (this.closed) return this.sender.stats.pending;
    this.seal();
    this.closed = true;
    clearInterval(this.timer);
    if (this.beat) {
      this.beat.stopped = true;
      clearInterval(this.beat.timer);
      if (this.beat.retry) clearTimeout(this.beat.retry);
      this.beat.retry = null;
      this.beat.inflight?.destroy(new Error('closed'));
      if (this.beat.refusedStatus !== undefined && this.sender.refused === undefined)
        this.report(
          `telemetry: ${this.shownUrl} refused our heartbeats (HTTP ${this.beat.refusedStatus}: ${refusal(this.beat.refusedStatus)}); none were sent after that`,
        );
    }
    const left = await this.sender.close();
    if (left > 0)
      this.report(
        `telemetry: ${left} unsent batch(es) (${this.stats.eventsPending} events) left in ${this.sender.spool}; they are sent when watch --server starts again on that spool`,
      );
    return left;
  }

  // --- heartbeats ----------------------------------------------------------------------------------

  /** Sends the heartbeat now with the newest gaps (or once the one in flight settles). Never throws. */
  private sendHeartbeat(): void {
    const beat = this.beat;
    if (!beat || beat.stopped || this.closed) return;
    if (beat.inflight) {
      beat.again = true;
      return;
    }
    // serve did not take the last one: the retry due after the backoff says what is newest then
    if (beat.retry) return;
    beat.again = false;
    const heartbeat = heartbeatBody(beat.identity, beat.gaps, beat.intervalMs);
    const said = heartbeat.cannot_see.join('\n');
    const sent = postOnce({
      url: beat.url,
      method: 'PUT',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(heartbeat)),
      timeoutMs: this.timeoutMs,
    });
    beat.inflight = sent.request;
    // what it says counts as said at once, so a sample arriving meanwhile does not send the same again
    beat.said = said;
    void sent.outcome.then((outcome) => {
      beat.inflight = null;
      if (outcome.kind === 'ok') {
        this.counts.heartbeatsSent++;
        beat.failures = 0;
        beat.reported.clear();
      } else {
        this.counts.heartbeatsFailed++;
        const status = 'status' in outcome ? outcome.status : undefined;
        if (outcome.kind === 'unauthorized') {
          // the batches use the same token and say its refusal once for both; said at close if none went
          beat.stopped = true;
          beat.refusedStatus = status;
          clearInterval(beat.timer);
        } else if (outcome.kind === 'reject') {
          // serve is up and says no to this (a serve without heartbeats): the next interval tries again
          beat.failures = 0;
          if (!beat.reported.has(String(status))) {
            beat.reported.add(String(status));
            this.report(
              `telemetry: ${this.shownUrl} refused a heartbeat with HTTP ${status}${status === 404 ? ' (a coalmine serve without sensor heartbeats?)' : ''}; telemetry still goes, heartbeats are tried again every ${Math.round(beat.intervalMs / 1000)} s`,
            );
          }
        } else if (!beat.stopped) {
          // down or restarting (said by the batches' sender): tried again after the backoff, not every
          // sample, with what is newest when it goes
          beat.failures++;
          beat.again = false;
          beat.retry = setTimeout(
            () => {
              beat.retry = null;
              this.sendHeartbeat();
            },
            retryDelay(beat.failures, outcome, this.backoff),
          );
          beat.retry.unref();
        }
      }
      if (beat.again && !beat.stopped) this.sendHeartbeat();
    });
  }
}
