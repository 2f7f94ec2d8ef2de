/**
 * `serve --bus`: an ingest node. A request body is committed to the store's ingest log (PostgreSQL,
 * shared by every node: its seq names the body's messages on the bus, its Idempotency-Keys are every
 * node's), then read as serve reads it and published (publisher.ts); the answer comes only when
 * JetStream acked every message. A body of which nothing could be read is taken out of the log again
 * and refused, as serve refuses it. A body sent again under its Idempotency-Key is answered from the log
 * and published again from the logged bytes: the messages it already has are dropped as duplicates, so a
 * batch whose answer was lost part way is completed, never doubled. Work the bus cannot take now (down,
 * or this node's in-flight bound full, or `maxBodies` bodies already publishing) is refused with
 * BusUnavailable, which the server answers 503 + Retry-After: nothing is buffered beyond the bounds.
 * No detector runs here: the workers (`coalmine worker`) detect on the partitions they lease.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Issue } from '../model/issue.js';
import type { Policy } from '../model/policy.js';
import { type BodyContext, type IngestResult, loadBodyContext } from '../run/body.js';
import { logBody, noteSensorContact, type RequestMeta, withdrawUnread } from '../server/ingest-request.js';
import type { Store } from '../store/index.js';
import { clip, inert } from '../util/hostile.js';
import { AddressBook } from './address-book.js';
import { type BusConnection, connectBus, whileStarting } from './connect.js';
import { ensureEventsStream } from './contract.js';
import {
  type BodyToPublish,
  BusPublisher,
  BusUnavailable,
  type PublishedBody,
  type PublisherOptions,
} from './publisher.js';

export { BusUnavailable };

/** Bodies one node publishes at once; one more is refused (each holds its bytes and open messages). */
export const DEFAULT_MAX_BODIES = 16;
/** The ingest log is kept this long here too (serve's replay window), then pruned hourly. */
const LOG_KEPT_MS = 24 * 60 * 60 * 1000;

export interface BusIngestOptions {
  store: Store;
  /** The `--bus` servers. */
  urls: string[];
  /** Replicas of the events stream when this node makes it (one that exists is kept as it is). */
  replicas: number;
  policy: Policy;
  /** The Sigma rules the workers run: they decide which records no analytic maps are kept (as serve reads). */
  ruleDirs?: string[];
  /** Bodies published at once (default DEFAULT_MAX_BODIES). */
  maxBodies?: number;
  /** The publisher's bounds and retries. */
  publish?: Omit<PublisherOptions, 'bus'>;
  /**
   * What the body is read as: serve reads a JSON array of records as JSON lines (server/ingest.ts
   * `arrayAsLines`); given here so a node reads exactly what serve reads.
   */
  prepare?: (body: Buffer, format: string | undefined) => { body: Buffer; format?: string };
  /** Shown by the bus servers as the connection's name. */
  name?: string;
  now?: () => number;
  log?: (line: string) => void;
}

export interface BusAccepted {
  /** Committed to the log and every message acked. */
  accepted: boolean;
  seq?: number;
  /** What reading the body gave (undefined for a repeat answered from the log). */
  read?: IngestResult;
  /** The body's Idempotency-Key was already logged: published again from the log, nothing new read. */
  repeat?: boolean;
  messages: number;
  duplicates: number;
}

export interface BusIngestStats {
  accepted: number;
  refused: number;
  repeats: number;
  /** Bodies refused 503 (the bus down or full). */
  unavailable: number;
}

export class BusIngest {
  readonly stats: BusIngestStats = { accepted: 0, refused: 0, repeats: 0, unavailable: 0 };
  private readonly publisher: BusPublisher;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly maxBodies: number;
  private bodies = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly options: BusIngestOptions,
    private readonly bus: BusConnection,
    private readonly context: BodyContext,
    private readonly addresses: AddressBook,
  ) {
    this.publisher = new BusPublisher({ bus, ...options.publish });
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.maxBodies = options.maxBodies ?? DEFAULT_MAX_BODIES;
    this.timer = setInterval(() => this.prune(), 60 * 60 * 1000);
    this.timer.unref();
  }

  /** Connects, makes the events stream when missing, loads the rules that decide what is read. */
  static async start(options: BusIngestOptions): Promise<BusIngest> {
    const log = options.log ?? (() => {});
    const { context, skipped } = await loadBodyContext(options.ruleDirs ?? [], {
      placeholders: options.policy.sigma?.placeholders,
    });
    if (skipped > 0) log(`coalmine serve --bus: ${skipped} Sigma rules not loaded (the workers say which and why)`);
    const bus = await connectBus(options.urls, { name: options.name ?? 'coalmine-serve', log });
    let replicas: number;
    try {
      const jsm = await jetstreamManager(bus.nc);
      replicas = (
        await whileStarting(
          'making the events stream',
          () => ensureEventsStream(jsm, { replicas: options.replicas }),
          log,
        )
      ).config.num_replicas;
    } catch (err) {
      await bus.close();
      throw new Error(`the bus's events stream: ${clip(inert(String((err as Error).message)), 300)}`);
    }
    let addresses: AddressBook;
    try {
      addresses = await whileStarting(
        'opening the host-by-address map',
        () => AddressBook.open(jetstream(bus.nc), { replicas, inventory: options.policy.hostIps, log }),
        log,
      );
    } catch (err) {
      await bus.close();
      throw new Error(`the bus's host-by-address map: ${clip(inert(String((err as Error).message)), 300)}`);
    }
    return new BusIngest(options, bus, context, addresses);
  }

  get publisherStats(): Readonly<BusPublisher['stats']> {
    return this.publisher.stats;
  }

  /** Whether the bus connection is up now. */
  get connected(): boolean {
    return this.bus.connected;
  }

  /**
   * A body sent again under an Idempotency-Key its token already logged: published again from the log
   * (the stream drops what it has) and answered as a repeat; undefined when the log holds no such key.
   */
  async repeatOf(tokenId: string, idempotencyKey: string): Promise<BusAccepted | undefined> {
    const held = await this.options.store.ingest.byKey(tokenId, idempotencyKey);
    if (!held) return undefined;
    return this.republish(held.seq);
  }

  /** One request body: logged, read, published, acked; or refused (nothing readable), or BusUnavailable. */
  async accept(body: Buffer, meta: RequestMeta): Promise<BusAccepted> {
    return this.holding(async () => {
      const receivedAt = this.now();
      const { seq, repeat, sensor, name, format, host } = await logBody(this.options.store, body, meta, receivedAt);
      // two requests of one batch raced past the key check: the log holds it once, published from there
      if (repeat) return this.republish(seq);
      const published = await this.publish(body, { seq, sensor, name, format, host, receivedAt, mtime: meta.mtime });
      const read = published.read;
      if (read.events + read.stateEvents + read.unused === 0) {
        await withdrawUnread(this.options.store, seq, this.log);
        this.stats.refused++;
        if (read.issues.length === 0) read.issues.push(nothingRead(name));
        return { accepted: false, read, messages: 0, duplicates: 0 };
      }
      this.stats.accepted++;
      await noteSensorContact(this.options.store, sensor, host, meta.version, this.log);
      return { accepted: true, seq, read, messages: published.messages, duplicates: published.duplicates };
    });
  }

  /** Closes the connection (publishes in flight fail) and stops pruning; once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.addresses.close();
    await this.bus.close();
  }

  /** The body of log entry `seq` published again under its own ids. */
  private republish(seq: number): Promise<BusAccepted> {
    return this.holding(async () => {
      const [entry] = await this.options.store.ingest.since(seq - 1, 1);
      this.stats.repeats++;
      // pruned since the key was read: nothing left to publish, and the batch is the log's no more
      if (!entry || entry.seq !== seq) return { accepted: true, seq, repeat: true, messages: 0, duplicates: 0 };
      const published = await this.publish(entry.body, {
        seq,
        sensor: entry.sensor,
        name: entry.name,
        format: entry.format ?? undefined,
        host: entry.host ?? undefined,
        receivedAt: entry.received_at,
        mtime: entry.mtime ?? undefined,
      });
      return { accepted: true, seq, repeat: true, messages: published.messages, duplicates: published.duplicates };
    });
  }

  /** The body published; the addresses its events showed are shared before it is answered. */
  private async publish(body: Buffer, meta: BodyToPublish): Promise<PublishedBody> {
    const prepared = this.options.prepare?.(body, meta.format) ?? { body, format: meta.format };
    const published = await this.publisher.publishBody(
      prepared.body,
      { ...meta, format: prepared.format },
      this.context,
      this.addresses,
    );
    await this.addresses.flush();
    return published;
  }

  /** Runs `work` as one of at most `maxBodies`; BusUnavailable at once past it, or while the bus is down. */
  private async holding<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new BusUnavailable('the server is closing', 5);
    if (!this.bus.connected) {
      this.stats.unavailable++;
      throw new BusUnavailable('the bus is unreachable', 5);
    }
    if (this.bodies >= this.maxBodies) {
      this.stats.unavailable++;
      throw new BusUnavailable(`${this.bodies} bodies are being published (at most ${this.maxBodies})`, 1);
    }
    this.bodies++;
    try {
      return await work();
    } catch (err) {
      if (err instanceof BusUnavailable) this.stats.unavailable++;
      throw err;
    } finally {
      this.bodies--;
    }
  }

  private prune(): void {
    this.options.store.ingest
      .prune(Math.max(0, this.now() - LOG_KEPT_MS))
      .catch((err) => this.log(`coalmine serve: pruning the ingest log failed: ${clip(inert(String(err)), 300)}`));
  }
}

function nothingRead(name: string): Issue {
  return { file: name, code: 'INGEST_NOTHING_READ', reason: 'no event or record could be read', stage: 'reading' };
}
