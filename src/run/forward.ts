/**
 * `watch --server`: the sensor's telemetry sent to a `coalmine serve` (`POST /api/v1/events`), so the
 * server detects from the events themselves. Events are taken as they are sampled, gathered into
 * batches (bounded by events, bytes and time), each batch gzip NDJSON written to the spool directory
 * (temp name, fsync, rename) before it is sent, then POSTed oldest first, one at a time, and deleted
 * only on a 2xx. A server that is down or restarting is retried with backoff; what it missed waits in
 * the spool, across a restart of the sensor too. The spool is bounded: when a new batch does not fit,
 * the oldest batches are dropped, counted and said. 401/403 stops sending for the run (said once: every
 * batch would be refused alike); another 4xx (a batch the server cannot read, too large) is moved to
 * `rejected/`. Each batch carries an `Idempotency-Key` (its own random id, kept in its file name) so a
 * server can tell a batch sent again after a lost answer.
 *
 * With `heartbeat`, the sensor also says what it is and what it cannot see (`PUT /api/v1/sensors/self`
 * beside the events route): at start, every `intervalMs`, and as soon as a kind of gap appears or goes.
 * A heartbeat is never spooled: the next one says the same, newer.
 */
import { randomUUID } from 'node:crypto';
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
import type http from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CoalEvent } from '../model/event.js';
import { postOnce, redactUrl } from '../sinks/webhook.js';
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

interface BatchFile {
  seq: number;
  events: number;
  /** The batch's Idempotency-Key. */
  id: string;
  file: string;
  bytes: number;
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
/** Drops are said at most this often (with the totals), not once per batch. */
const DROP_REPORT_MS = 60_000;

export class TelemetryForwarder {
  private readonly url: URL;
  private readonly shownUrl: string;
  private readonly headers: Record<string, string>;
  private readonly spoolDir: string;
  private readonly rejectedDir: string;
  private readonly sensorName: string;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly maxSpoolBytes: number;
  private readonly maxRejected: number;
  private readonly timeoutMs: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly report: (text: string) => void;
  private readonly counts: Omit<ForwardStats, 'batchesPending' | 'eventsPending'> = {
    batchesSent: 0,
    eventsSent: 0,
    batchesDropped: 0,
    eventsDropped: 0,
    batchesRejected: 0,
    retried: 0,
    unserializable: 0,
    heartbeatsSent: 0,
    heartbeatsFailed: 0,
  };

  /** The open batch: NDJSON lines not yet sealed. */
  private lines: string[] = [];
  private lineBytes = 0;
  /** Sealed batches in spool order (seq ascending). */
  private readonly queue: BatchFile[] = [];
  private spoolBytes = 0;
  private nextSeq = 1;
  private readonly timer: NodeJS.Timeout;
  private worker: Promise<void> | null = null;
  private inflight: http.ClientRequest | null = null;
  private inflightSeq: number | undefined;
  private sleeping: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  private waiters: Array<() => void> = [];
  private closed = false;
  private down = false;
  private refusedStatus: number | undefined;
  private lastDropReport = Number.NEGATIVE_INFINITY;
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
        /** Statuses already said, so a server that refuses every heartbeat is said once. */
        reported: Set<string>;
        stopped: boolean;
        /** The 401/403 that stopped heartbeats. */
        refusedStatus: number | undefined;
      }
    | undefined;

  constructor(options: ForwardOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new Error('telemetry: not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`telemetry: only http:// and https:// URLs are supported, not ${url.protocol}`);
    this.url = url;
    this.shownUrl = redactUrl(url);
    this.headers = { ...(options.headers ?? {}) };
    this.spoolDir = options.spoolDir;
    this.rejectedDir = join(options.spoolDir, 'rejected');
    this.sensorName = options.sensorName.slice(0, 200) || 'sensor';
    this.maxBatchEvents = Math.max(1, options.maxBatchEvents ?? DEFAULTS.maxBatchEvents);
    this.maxBatchBytes = Math.max(1024, options.maxBatchBytes ?? DEFAULTS.maxBatchBytes);
    this.maxSpoolBytes = Math.max(1024, options.maxSpoolBytes ?? DEFAULTS.maxSpoolBytes);
    this.maxRejected = Math.max(0, options.maxRejected ?? DEFAULTS.maxRejected);
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.baseMs = options.backoff?.baseMs ?? DEFAULTS.baseMs;
    this.capMs = options.backoff?.capMs ?? DEFAULTS.capMs;
    this.report = options.onIssue ?? (() => {});
    mkdirSync(this.spoolDir, { recursive: true });
    this.replay();
    this.timer = setInterval(() => this.seal(), options.batchIntervalMs ?? DEFAULTS.batchIntervalMs);
    this.timer.unref();
    if (options.heartbeat) {
      if (!/\/events\/?$/.test(url.pathname))
        throw new Error("telemetry: heartbeats need serve's events URL (…/api/v1/events)");
      const intervalMs = Math.max(1, options.heartbeat.intervalMs ?? DEFAULTS.heartbeatIntervalMs);
      const beatUrl = new URL(url);
      beatUrl.pathname = url.pathname.replace(/\/events\/?$/, '/sensors/self');
      beatUrl.search = '';
      this.beat = {
        url: beatUrl,
        identity: options.heartbeat.identity,
        intervalMs,
        timer: setInterval(() => this.sendHeartbeat(), intervalMs),
        gaps: [],
        said: undefined,
        inflight: null,
        again: false,
        reported: new Set(),
        stopped: false,
        refusedStatus: undefined,
      };
      this.beat.timer.unref();
      this.sendHeartbeat();
    }
    this.kick();
  }

  get stats(): ForwardStats {
    let eventsPending = 0;
    for (const b of this.queue) eventsPending += b.events;
    return { ...this.counts, batchesPending: this.queue.length, eventsPending };
  }

  get spool(): string {
    return this.spoolDir;
  }

  /** The 401/403 with which the server refused our token this run; sending stopped then. */
  get refused(): number | undefined {
    return this.refusedStatus;
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

  /** Resolves once no heartbeat is in flight or asked for (tests, and a clean end). */
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
    const body = gzipSync(`${this.lines.join('\n')}\n`);
    this.lines = [];
    this.lineBytes = 0;
    const batch: BatchFile = {
      seq: this.nextSeq++,
      events,
      id: randomUUID().replaceAll('-', ''),
      file: '',
      bytes: body.length,
    };
    batch.file = `${String(batch.seq).padStart(12, '0')}-${events}-${batch.id}.ndjson.gz`;
    this.makeRoom(body.length);
    try {
      writeDurably(join(this.spoolDir, batch.file), body);
    } catch (error) {
      this.counts.batchesDropped++;
      this.counts.eventsDropped += events;
      this.report(
        `telemetry: could not write a batch of ${events} event(s) to the spool ${this.spoolDir}: ${(error as Error).message}; dropped`,
      );
      return;
    }
    this.queue.push(batch);
    this.spoolBytes += batch.bytes;
    this.kick();
  }

  /** Seals the open batch and resolves true once the spool is empty; false at the timeout or when refused. */
  async flush(timeoutMs: number): Promise<boolean> {
    this.seal();
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

  /** Seals the open batch, stops sending; what is unsent stays in the spool for the next start. Batches left. */
  async close(): Promise<number> {
    if (!this.closed) {
      this.seal();
      this.closed = true;
      clearInterval(this.timer);
      if (this.beat) {
        this.beat.stopped = true;
        clearInterval(this.beat.timer);
        this.beat.inflight?.destroy(new Error('closed'));
        if (this.beat.refusedStatus !== undefined && this.refusedStatus === undefined)
          this.report(
            `telemetry: ${this.shownUrl} refused our heartbeats (HTTP ${this.beat.refusedStatus}: ${this.beat.refusedStatus === 401 ? 'missing, unknown or revoked' : 'not a sensor token'}); none were sent after that`,
          );
      }
      this.sleeping?.wake();
      this.inflight?.destroy(new Error('closed'));
      await this.worker;
      this.notify();
      if (this.queue.length > 0)
        this.report(
          `telemetry: ${this.queue.length} unsent batch(es) (${this.stats.eventsPending} events) left in ${this.spoolDir}; they are sent when watch --server starts again on that spool`,
        );
    }
    return this.queue.length;
  }

  // --- spool -------------------------------------------------------------------------------------

  private replay(): void {
    const found: BatchFile[] = [];
    for (const name of readdirSync(this.spoolDir)) {
      if (name.endsWith('.tmp')) {
        // a write a kill cut short before its rename: never queued, so never promised
        try {
          unlinkSync(join(this.spoolDir, name));
        } catch {}
        continue;
      }
      const m = BATCH_NAME.exec(name);
      if (!m) continue;
      let bytes: number;
      try {
        bytes = statSync(join(this.spoolDir, name)).size;
      } catch {
        continue;
      }
      found.push({ seq: Number(m[1]), events: Number(m[2]), id: m[3], file: name, bytes });
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const b of found) {
      this.queue.push(b);
      this.spoolBytes += b.bytes;
      this.nextSeq = Math.max(this.nextSeq, b.seq + 1);
    }
    if (found.length > 0)
      this.report(`telemetry: sending ${found.length} batch(es) left in ${this.spoolDir} by an earlier run first`);
  }

  /** Drops the oldest batches not in flight until `bytes` more fit the budget; counted, said now and then. */
  private makeRoom(bytes: number): void {
    let dropped = 0;
    while (this.spoolBytes + bytes > this.maxSpoolBytes) {
      const at = this.queue.findIndex((b) => b.seq !== this.inflightSeq);
      if (at < 0) break;
      const [old] = this.queue.splice(at, 1);
      try {
        unlinkSync(join(this.spoolDir, old.file));
      } catch {}
      this.spoolBytes -= old.bytes;
      this.counts.batchesDropped++;
      this.counts.eventsDropped += old.events;
      dropped++;
    }
    const now = Date.now();
    if (dropped > 0 && now - this.lastDropReport >= DROP_REPORT_MS) {
      this.lastDropReport = now;
      this.report(
        `telemetry: the spool ${this.spoolDir} is full (${this.maxSpoolBytes} bytes); dropped the oldest batches, ${this.counts.batchesDropped} (${this.counts.eventsDropped} events) so far — ${this.shownUrl} has not taken them for a while`,
      );
    }
  }

  private moveToRejected(batch: BatchFile): void {
    try {
      mkdirSync(this.rejectedDir, { recursive: true });
      renameSync(join(this.spoolDir, batch.file), join(this.rejectedDir, batch.file));
      const kept = readdirSync(this.rejectedDir)
        .filter((n) => BATCH_NAME.test(n))
        .sort();
      for (const n of kept.slice(0, Math.max(0, kept.length - this.maxRejected))) unlinkSync(join(this.rejectedDir, n));
    } catch (error) {
      this.report(`telemetry: could not move ${batch.file} to ${this.rejectedDir}: ${(error as Error).message}`);
    }
  }

  private finish(batch: BatchFile, how: 'sent' | 'rejected'): void {
    if (how === 'sent') {
      try {
        unlinkSync(join(this.spoolDir, batch.file));
      } catch {}
      this.counts.batchesSent++;
      this.counts.eventsSent += batch.events;
    } else {
      this.moveToRejected(batch);
      this.counts.batchesRejected++;
    }
    const at = this.queue.indexOf(batch);
    if (at >= 0) this.queue.splice(at, 1);
    this.spoolBytes -= batch.bytes;
    this.notify();
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
        beat.reported.clear();
      } else {
        this.counts.heartbeatsFailed++;
        // not taken: the next interval says it again (not every sample: a server that is down is not hammered)
        const status = 'status' in outcome ? outcome.status : undefined;
        if (outcome.kind === 'unauthorized') {
          // the batches use the same token and say its refusal once for both; said at close if none went
          beat.stopped = true;
          beat.refusedStatus = status;
          clearInterval(beat.timer);
        } else if (outcome.kind === 'reject' && !beat.reported.has(String(status))) {
          beat.reported.add(String(status));
          this.report(
            `telemetry: ${this.shownUrl} refused a heartbeat with HTTP ${status}${status === 404 ? ' (a coalmine serve without sensor heartbeats?)' : ''}; telemetry still goes, heartbeats are tried again every ${Math.round(beat.intervalMs / 1000)} s`,
          );
        }
        // a server that is down is said by the batches' sender; the heartbeat waits for its interval
      }
      if (beat.again && !beat.stopped) this.sendHeartbeat();
    });
  }

  // --- the sender ----------------------------------------------------------------------------------

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
      this.sleeping = { timer, wake };
    });
  }

  private delay(failures: number): number {
    const full = Math.min(this.capMs, this.baseMs * 2 ** Math.max(0, failures - 1));
    return Math.round(full / 2 + (Math.random() * full) / 2);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed && this.queue.length > 0) {
      const batch = this.queue[0];
      let body: Buffer;
      try {
        body = readFileSync(join(this.spoolDir, batch.file));
      } catch (error) {
        // gone from under us (an operator cleaned the spool): nothing to send
        this.report(`telemetry: spool file ${batch.file} is unreadable, skipped: ${(error as Error).message}`);
        const at = this.queue.indexOf(batch);
        if (at >= 0) this.queue.splice(at, 1);
        this.spoolBytes -= batch.bytes;
        continue;
      }
      if (failures > 0) this.counts.retried++;
      const url = new URL(this.url);
      url.searchParams.set('format', 'ndjson');
      url.searchParams.set('name', `${this.sensorName}/batch-${batch.seq}`);
      const sent = postOnce({
        url,
        headers: {
          ...this.headers,
          'content-type': 'application/x-ndjson',
          'content-encoding': 'gzip',
          'idempotency-key': batch.id,
        },
        body,
        timeoutMs: this.timeoutMs,
      });
      this.inflight = sent.request;
      this.inflightSeq = batch.seq;
      const outcome = await sent.outcome;
      this.inflight = null;
      this.inflightSeq = undefined;
      if (this.closed && outcome.kind === 'retry') return;
      if (outcome.kind === 'ok') {
        if (this.down) this.report(`telemetry: ${this.shownUrl} takes batches again`);
        this.down = false;
        failures = 0;
        this.finish(batch, 'sent');
        continue;
      }
      if (outcome.kind === 'unauthorized') {
        this.refusedStatus = outcome.status;
        this.report(
          `telemetry: ${this.shownUrl} refuses our token (HTTP ${outcome.status}: ${outcome.status === 401 ? 'missing, unknown or revoked' : 'not a sensor token'}); sending stopped, ${this.queue.length} batch(es) kept in ${this.spoolDir} for a start with a valid token`,
        );
        this.notify();
        return;
      }
      if (outcome.kind === 'reject') {
        failures = 0;
        this.report(
          `telemetry: ${this.shownUrl} refused batch ${batch.seq} (${batch.events} events) with HTTP ${outcome.status}; kept in ${this.rejectedDir}, not sent again`,
        );
        this.finish(batch, 'rejected');
        continue;
      }
      failures++;
      if (!this.down) {
        this.down = true;
        this.report(
          `telemetry: ${this.shownUrl} did not take batch ${batch.seq} (${outcome.why}); ${this.queue.length} batch(es) kept in ${this.spoolDir}, retrying`,
        );
      }
      let wait = this.delay(failures);
      if (outcome.retryAfterMs !== undefined) wait = Math.max(wait, Math.min(outcome.retryAfterMs, this.capMs));
      await this.sleep(wait);
    }
  }
}

/** Bytes to a temp name, fsynced, renamed into place: a kill leaves a whole file or a .tmp, never a torn batch. */
function writeDurably(path: string, bytes: Buffer): void {
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
