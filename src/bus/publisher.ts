/**
 * An ingest node's side of the bus: a request body read (run/body.ts, as serve's detector reads it),
 * each event routed by its correlation key (contract.ts `routeOf`, engine/partition.ts) and gathered per
 * partition and kind into messages (contract.ts: ≤ MAX_EVENTS_PER_MESSAGE events, ≤ MAX_MESSAGE_BYTES),
 * published to `coalmine.events.<p>` with `Nats-Msg-Id` = the body's seq + which of its events the
 * message holds (contract.ts msgIdOf). Messages are cut only by what the body holds (counts and sizes),
 * never by timing, so the same body read again gives the same messages under the same ids and the stream
 * drops them as duplicates. An event naming only an address goes to the partition of the host owning it
 * when the node's host-by-address map knows that host (`AddressRouting`, bus/address-book.ts).
 *
 * Bounds: a node has at most `maxInFlightBytes` of messages published and not yet acked; a body that
 * finds no room within `slotWaitMs` fails with BusUnavailable (busy), as does a publish that still
 * fails after its retries (backoff ×4 from `backoffMs`), and any publish while the connection is down.
 * A body holds at most MAX_PENDING_BYTES of unpublished events: past it its fullest message goes out.
 * A body resolves only when JetStream acked every message of it.
 */
import { type JetStreamClient, jetstream, type PubAck } from '@nats-io/jetstream';
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import { type BodyContext, type BodySink, type IngestMeta, type IngestResult, readBody } from '../run/body.js';
import { clip, inert } from '../util/hostile.js';
import type { BusConnection } from './connect.js';
import {
  EVENTS_STREAM,
  encodeEvents,
  eventLine,
  headersOf,
  MAX_EVENTS_PER_MESSAGE,
  MAX_MESSAGE_BYTES,
  type MessageKind,
  type MessageMeta,
  msgIdOf,
  PARTITIONS,
  routeOf,
  subjectOf,
} from './contract.js';

/** Unpublished events one body may hold (all its partitions' open messages). */
const MAX_PENDING_BYTES = 1024 * 1024;

/** The bus cannot take the work now: answered 503 with Retry-After. */
export class BusUnavailable extends Error {
  override readonly name = 'BusUnavailable';
  constructor(
    reason: string,
    /** Seconds a client should wait before sending again. */
    readonly retryAfterSec: number,
  ) {
    super(reason);
  }
}

export interface PublisherOptions {
  bus: BusConnection;
  /** Bytes of messages published and not yet acked, per node (default 16 MiB). */
  maxInFlightBytes?: number;
  /** How long a body waits for room before it is refused as busy (default 2 s). */
  slotWaitMs?: number;
  /** One publish attempt's wait for its ack (default 4 s). */
  timeoutMs?: number;
  /** Attempts after the first (default 2: a hung cluster is a 503 within ~13 s). */
  retries?: number;
  /** The first retry's wait; each next one ×4 (default 100 ms). */
  backoffMs?: number;
  /**
   * Events per message, 1 to MAX_EVENTS_PER_MESSAGE (the default). Part of what names a body's
   * messages: every node must publish with the same value (it is here for measuring the encoding).
   */
  maxEventsPerMessage?: number;
}

export interface PublisherStats {
  messages: number;
  events: number;
  /** Messages the stream already held (a body published again). */
  duplicates: number;
  retries: number;
  /** Publishes that failed after every retry. */
  failures: number;
  /** Bodies refused because the node had no room within slotWaitMs. */
  busy: number;
  bytesInFlight: number;
}

/** What the body's reading gave and what went onto the bus. */
export interface PublishedBody {
  read: IngestResult;
  messages: number;
  /** Messages the stream already held under their ids. */
  duplicates: number;
  /** Events per partition published. */
  partitions: Record<number, number>;
}

/** The body as it was logged: what makes its messages and their ids. */
export interface BodyToPublish {
  seq: number;
  sensor: string;
  name: string;
  format?: string;
  host?: string;
  receivedAt: number;
  /** The sender's mtime of the body's file: what dates a state file's entries (default `receivedAt`). */
  mtime?: number;
}

interface OpenMessage {
  lines: string[];
  /** Each line's event's index among the body's events (what names the message: contract.ts msgIdOf). */
  indices: number[];
  bytes: number;
}

/**
 * The host-by-address map an ingest node routes by (bus/address-book.ts): what a host-named event shows
 * of its host's addresses is learned, and a host-less event goes to its address's host's partition.
 */
export interface AddressRouting {
  learn(event: CoalEvent): void;
  hostOf(ip: string): string | undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class BusPublisher {
  readonly stats: PublisherStats = {
    messages: 0,
    events: 0,
    duplicates: 0,
    retries: 0,
    failures: 0,
    busy: 0,
    bytesInFlight: 0,
  };
  private readonly js: JetStreamClient;
  private readonly maxInFlightBytes: number;
  private readonly slotWaitMs: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxEvents: number;
  /** Bodies waiting for room, in arrival order (each waits for one message's room at a time). */
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(private readonly options: PublisherOptions) {
    this.js = jetstream(options.bus.nc);
    this.maxInFlightBytes = options.maxInFlightBytes ?? 16 * 1024 * 1024;
    this.slotWaitMs = options.slotWaitMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 4000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxEvents = Math.max(
      1,
      Math.min(MAX_EVENTS_PER_MESSAGE, options.maxEventsPerMessage ?? MAX_EVENTS_PER_MESSAGE),
    );
  }

  /**
   * One body read with `context` and published; resolves once every message is acked. Throws
   * BusUnavailable when the bus is down, the node busy past slotWaitMs, or a publish failed after its
   * retries (what was published stays: publishing the body again adds only what is missing).
   */
  async publishBody(
    body: Uint8Array,
    meta: BodyToPublish,
    context: BodyContext,
    addresses?: AddressRouting,
  ): Promise<PublishedBody> {
    if (!this.options.bus.connected) throw new BusUnavailable('the bus is unreachable', 5);
    const open = new Map<string, OpenMessage>();
    const acks: Promise<PubAck>[] = [];
    const partitions: Record<number, number> = {};
    const overs: Issue[] = [];
    let pending = 0;
    let index = 0;
    /** Events of the body seen so far (over both kinds): each one's index names its message. */
    let eventIndex = 0;
    const hostOf = addresses ? (ip: string) => addresses.hostOf(ip) : undefined;
    const base: Omit<MessageMeta, 'index' | 'kind'> = {
      seq: meta.seq,
      sensor: meta.sensor,
      name: meta.name,
      format: '',
      receivedAt: meta.receivedAt,
    };
    const send = async (key: string): Promise<void> => {
      const msg = open.get(key);
      if (!msg || msg.lines.length === 0) return;
      open.delete(key);
      pending -= msg.bytes;
      const [kind, p] = key.split(':') as [MessageKind, string];
      const partition = Number(p);
      const m: MessageMeta = { ...base, index: index++, kind };
      acks.push((await this.send(partition, m, msg.lines, msgIdOf(meta.seq, kind, partition, msg.indices))).ack);
      partitions[partition] = (partitions[partition] ?? 0) + msg.lines.length;
    };
    const add = async (kind: MessageKind, events: CoalEvent[]): Promise<void> => {
      for (const event of events) {
        const at = eventIndex++;
        const line = eventLine(event);
        const bytes = Buffer.byteLength(line) + 1;
        if (bytes > MAX_MESSAGE_BYTES) {
          overs.push({
            file: meta.name,
            line: event.coalmine.ref.line,
            code: 'BUS_EVENT_TOO_LARGE',
            reason: `the event is ${bytes} bytes as JSON (a bus message holds at most ${MAX_MESSAGE_BYTES}); not published`,
            stage: 'reading',
          });
          continue;
        }
        addresses?.learn(event);
        const key = `${kind}:${routeOf(event, hostOf).partition}`;
        let msg = open.get(key);
        if (msg && (msg.lines.length >= this.maxEvents || msg.bytes + bytes > MAX_MESSAGE_BYTES)) {
          await send(key);
          msg = undefined;
        }
        if (!msg) {
          msg = { lines: [], indices: [], bytes: 0 };
          open.set(key, msg);
        }
        msg.lines.push(line);
        msg.indices.push(at);
        msg.bytes += bytes;
        pending += bytes;
        // the body's open messages are bounded: the fullest goes out (ties: the first opened)
        while (pending > MAX_PENDING_BYTES) {
          let fullest: string | undefined;
          let most = -1;
          for (const [k, m] of open)
            if (m.bytes > most) {
              most = m.bytes;
              fullest = k;
            }
          await send(fullest as string);
        }
      }
    };
    const readMeta: IngestMeta = {
      name: meta.name,
      format: meta.format,
      host: meta.host,
      mtimeMs: meta.mtime ?? meta.receivedAt,
      receivedAtMs: meta.receivedAt,
    };
    // the format header names the source that read the body (every event names it)
    const sink: BodySink = {
      state: (events) => {
        base.format ||= events[0]?.coalmine.format ?? '';
        return add('state', events);
      },
      events: (events) => {
        base.format ||= events[0]?.coalmine.format ?? '';
        return add('events', events);
      },
    };
    let read: IngestResult | undefined;
    let failure: unknown;
    try {
      read = await readBody(body, readMeta, context, { now: () => meta.receivedAt }, sink);
      // what is still open goes out in partition order, standing facts first
      for (const kind of ['state', 'events'] as const) for (let p = 0; p < PARTITIONS; p++) await send(`${kind}:${p}`);
    } catch (err) {
      failure = err;
    }
    // every publish started is waited for, even when the body failed part way (its room is given back)
    const settled = await Promise.allSettled(acks);
    if (failure !== undefined) throw failure;
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const done = read as IngestResult;
    let duplicates = 0;
    for (const s of settled) if (s.status === 'fulfilled' && s.value.duplicate) duplicates++;
    this.stats.duplicates += duplicates;
    for (const issue of overs) {
      done.issues.push(issue);
      done.issuesByCode[issue.code] = (done.issuesByCode[issue.code] ?? 0) + 1;
    }
    return { read: done, messages: acks.length, duplicates, partitions };
  }

  /** Waits for room for one message, then publishes it; the returned promise is its ack (after retries). */
  private async send(
    partition: number,
    meta: MessageMeta,
    lines: string[],
    msgID: string,
  ): Promise<{ ack: Promise<PubAck> }> {
    const data = encodeEvents(lines);
    await this.room(data.length);
    const ack = this.publish(partition, meta, data, lines.length, msgID).finally(() => {
      this.stats.bytesInFlight -= data.length;
      this.wake();
    });
    // a rejection is handled where the body waits for its acks; never unhandled meanwhile
    ack.catch(() => {});
    return { ack };
  }

  private async publish(
    partition: number,
    meta: MessageMeta,
    data: Uint8Array,
    events: number,
    msgID: string,
  ): Promise<PubAck> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        // down for good: no more waiting on a cluster that is not there
        if (!this.options.bus.connected) break;
        this.stats.retries++;
        await sleep(this.backoffMs * 4 ** (attempt - 1));
      }
      try {
        const ack = await this.js.publish(subjectOf(partition), data, {
          msgID,
          headers: headersOf(meta, events),
          timeout: this.timeoutMs,
          expect: { streamName: EVENTS_STREAM },
        });
        this.stats.messages++;
        this.stats.events += events;
        return ack;
      } catch (err) {
        lastError = err;
      }
    }
    this.stats.failures++;
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new BusUnavailable(`the bus did not take a message: ${clip(inert(why), 300)}`, 5);
  }

  /** Resolves once `bytes` more are counted in flight; BusUnavailable (busy) when no room came within slotWaitMs. */
  private room(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.stats.bytesInFlight += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        bytes,
        go: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        this.stats.busy++;
        reject(
          new BusUnavailable(
            `the bus took no more within ${this.slotWaitMs} ms (${this.stats.bytesInFlight} bytes in flight)`,
            1,
          ),
        );
        this.wake();
      }, this.slotWaitMs);
      this.waiting.push(entry);
    });
  }

  /** Room for `bytes`: under the bound, or nothing in flight (a message is never larger than the bound allows). */
  private fits(bytes: number): boolean {
    return this.stats.bytesInFlight === 0 || this.stats.bytesInFlight + bytes <= this.maxInFlightBytes;
  }

  /** Lets waiting messages go in arrival order while they fit, counting each in flight as it goes. */
  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift() as { bytes: number; go: () => void };
      this.stats.bytesInFlight += next.bytes;
      next.go();
    }
  }
}
