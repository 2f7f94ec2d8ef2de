/**
 * `coalmine worker`: owns partitions of the events stream through leases (bus/lease.ts), runs one
 * detector per owned partition (bus/worker-partition.ts: replay at takeover, then live consumption) and
 * files their findings into the shared store through serve's filing (IngestPipeline.filer), so a finding
 * is stored once by id and content whichever worker, or how many replays, reported it. Each partition's
 * detector is checkpointed into the store (at most every CHECKPOINT_EVERY_MS, and at a clean hand-over),
 * so a takeover replays only what came after. Messages in flight are bounded per worker; a clean stop
 * stores and acks what was read, then gives the leases up so other workers take the partitions at once.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Policy } from '../model/policy.js';
import { DEFAULT_SETTLE_MS, LiveDetector } from '../run/live.js';
import { IngestPipeline } from '../server/ingest.js';
import { openStore, type Store } from '../store/index.js';
import { AsyncLock } from '../util/async-lock.js';
import { clip, inert } from '../util/hostile.js';
import { packagePath } from '../util/package-root.js';
import { type BusConnection, connectBus, whileStarting } from './connect.js';
import { EVENTS_STREAM } from './contract.js';
import { DEFAULT_LEASE_TTL_MS, openLeaseBucket, PartitionLeases, WORKER_NAME } from './lease.js';
import { InFlightBudget, type PartitionCounts, PartitionRunner } from './worker-partition.js';

/** Messages fetched and not yet acked across a worker's partitions. */
export const DEFAULT_MAX_IN_FLIGHT = 512;
/** Partitions replaying at once (each fetches 32 messages at a time). */
const REPLAYS_AT_ONCE = 4;
/** How long a stopping partition may take to store and ack what it read. */
const DRAIN_MS = 10_000;
/** A partition's detector is checkpointed at most this often (wall ms) while it reads. */
export const CHECKPOINT_EVERY_MS = 60_000;
/** Rule and intel bytes read to name the configuration checkpoints are made under, at most. */
const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

export interface WorkerOptions {
  /** The bus's server URLs (contract.ts parseBusUrls). */
  bus: string[];
  /** The store, or its location (a PostgreSQL URL, or a SQLite file for one worker alone): opened, and closed at `close`. */
  store: Store | string;
  policy: Policy;
  ruleDirs?: string[];
  intelFiles?: string[];
  /** This worker's name (WORKER_NAME); default `HOST-PID`, cleaned. */
  name?: string;
  leaseTtlMs?: number;
  maxInFlight?: number;
  /** How often a partition's detector is checkpointed at most (default CHECKPOINT_EVERY_MS). */
  checkpointEveryMs?: number;
  log?: (line: string) => void;
}

export interface WorkerStats extends PartitionCounts {
  /** Partitions held now. */
  partitions: number;
  /** Partitions claimed, lost (to another worker or by our own clock) and given up (fair share, stop). */
  claimed: number;
  lost: number;
  released: number;
  inFlight: number;
}

/** A default worker name from the host and pid, in WORKER_NAME's alphabet. */
export function defaultWorkerName(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 40) || 'worker';
  return `${host}-${process.pid}`;
}

export class Worker {
  readonly name: string;
  private readonly counts: PartitionCounts = {
    messages: 0,
    events: 0,
    badMessages: 0,
    badLines: 0,
    replayed: 0,
    reportsFiled: 0,
    storeRetries: 0,
    checkpointsSaved: 0,
    checkpointsRestored: 0,
  };
  private readonly moves = { claimed: 0, lost: 0, released: 0 };
  private readonly runners = new Map<number, PartitionRunner>();
  /** Partitions given up over our share, storing and acking what they read before their lease is released. */
  private readonly draining = new Map<number, Promise<void>>();
  private readonly turn = new AsyncLock();
  private readonly replays = new InFlightBudget(REPLAYS_AT_ONCE);
  private timer: NodeJS.Timeout | undefined;
  private rounding: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private roundFailing = false;

  private constructor(
    private readonly options: WorkerOptions,
    /** The store this worker opened (closed with it). */
    private readonly ownStore: Store | undefined,
    private readonly bus: BusConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly leases: PartitionLeases,
    private readonly filer: IngestPipeline,
    private readonly budget: InFlightBudget,
    private readonly log: (line: string) => void,
    private readonly store: Store,
    /** What checkpoints are made under: a checkpoint of another configuration is not restored. */
    private readonly checkpointConfig: string,
  ) {
    this.name = options.name ?? defaultWorkerName();
  }

  /** Connects, waits for the events stream, opens the lease bucket and starts taking partitions. */
  static async start(options: WorkerOptions): Promise<Worker> {
    const name = options.name ?? defaultWorkerName();
    if (!WORKER_NAME.test(name)) throw new Error('a worker name is 1 to 64 of A-Z a-z 0-9 _ -');
    const log = options.log ?? (() => {});
    const store = typeof options.store === 'string' ? await openStore(options.store) : options.store;
    const ownStore = typeof options.store === 'string';
    let bus: BusConnection;
    try {
      bus = await connectBus(options.bus, { name: `coalmine-worker@${name}`, log });
    } catch (err) {
      if (ownStore) await store.close();
      throw err;
    }
    try {
      const jsm = await jetstreamManager(bus.nc);
      // the stream is the ingest nodes' to make; the lease bucket is as replicated as it
      let replicas: number | undefined;
      for (let waited = 0; replicas === undefined; waited++) {
        try {
          replicas = (await jsm.streams.info(EVENTS_STREAM)).config.num_replicas;
        } catch (err) {
          const text = String((err as Error).message);
          // not made yet, or a cluster still electing its leaders: asked again
          if (!/not found|timeout|no responders/i.test(text)) throw err;
          if (waited % 20 === 0) log(`coalmine worker: waiting for the stream ${EVENTS_STREAM} (start an ingest node)`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      const js = jetstream(bus.nc);
      const kv = await whileStarting('opening the lease bucket', () => openLeaseBucket(js, replicas), log);
      const leases = new PartitionLeases({ kv, jsm, worker: name, ttlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS });
      const filer = IngestPipeline.filer({
        store,
        policy: options.policy,
        log: (line) => log(line.replace(/^coalmine serve:/, 'coalmine worker:')),
      });
      const self = new Worker(
        { ...options, name },
        ownStore ? store : undefined,
        bus,
        js,
        jsm,
        leases,
        filer,
        new InFlightBudget(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
        log,
        store,
        await checkpointConfig(options),
      );
      await self.round();
      self.timer = setInterval(() => {
        self.rounding = self.rounding.then(() => self.round());
      }, leases.renewEveryMs);
      return self;
    } catch (err) {
      await bus.close();
      if (ownStore) await store.close();
      throw err;
    }
  }

  get stats(): WorkerStats {
    return {
      ...this.counts,
      ...this.moves,
      partitions: this.runners.size,
      inFlight: this.budget.inFlight,
    };
  }

  /** The partitions this worker runs now. */
  partitions(): number[] {
    return [...this.runners.keys()].sort((a, b) => a - b);
  }

  private say(text: string): void {
    this.log(`coalmine worker ${this.name}: ${text}`);
  }

  /** One lease round: lost partitions dropped, the excess stored, acked and given up, gains started. */
  private async round(): Promise<void> {
    if (this.closing) return;
    try {
      const r = await this.leases.round();
      if (this.roundFailing) this.say('leases renewed again');
      this.roundFailing = false;
      // nothing here waits for a partition to stop: the next round's renewals must not wait behind stops
      // (a second or more each, as a fetch expires) or every other lease runs out by our own clock
      for (const p of r.lost) {
        this.moves.lost++;
        void this.runners.get(p)?.stop(false);
        this.runners.delete(p);
      }
      if (r.lost.length > 0) this.say(`lost partitions ${ranges(r.lost)} (another worker holds them now)`);
      // the excess drains meanwhile, its leases still ours (renewed) until each is released
      const giving = r.excess.filter((p) => !this.draining.has(p));
      for (const p of giving) this.drain(p);
      if (giving.length > 0)
        this.say(`gave up partitions ${ranges(giving)} (${r.live} workers live: ${r.share} each at most)`);
      for (const p of r.gained) this.startPartition(p);
      if (r.gained.length > 0)
        this.say(`took partitions ${ranges(r.gained)} (${r.live} workers live: ${r.share} each at most)`);
    } catch (err) {
      if (!this.roundFailing)
        this.say(`renewing leases failed (retrying every ${this.leases.renewEveryMs} ms): ${why(err)}`);
      this.roundFailing = true;
    }
    // whatever a round said, a partition our own clock no longer lets us hold is stopped
    for (const [p, runner] of this.runners)
      if (!this.leases.holds(p)) {
        this.moves.lost++;
        this.runners.delete(p);
        void runner.stop(false);
        this.say(`partition ${p}: lease not renewed within its TTL; stopped`);
      }
  }

  /** Partition `p` stops, stores and acks what it read (DRAIN_MS at most), then its lease is released. */
  private drain(p: number): void {
    const runner = this.runners.get(p);
    this.runners.delete(p);
    const done = (async () => {
      await runner?.stop(true, DRAIN_MS);
      await this.leases.release(p);
      this.moves.released++;
    })()
      .catch((err) => this.say(`partition ${p}: giving it up failed (its lease runs out instead): ${why(err)}`))
      .finally(() => this.draining.delete(p));
    this.draining.set(p, done);
  }

  private startPartition(p: number): void {
    this.moves.claimed++;
    const runner = new PartitionRunner(p, {
      js: this.js,
      jsm: this.jsm,
      filer: this.filer,
      detector: (onFinding) =>
        LiveDetector.create({
          policy: this.options.policy,
          ruleDirs: this.options.ruleDirs,
          intelFiles: this.options.intelFiles,
          settleMs: DEFAULT_SETTLE_MS,
          onFinding,
          onIssue: (i) =>
            this.say(`partition ${p}: ${i.code} ${clip(inert(i.file), 200)}: ${clip(inert(i.reason), 300)}`),
        }),
      turn: this.turn,
      holds: () => this.leases.holds(p),
      budget: this.budget,
      replays: this.replays,
      counts: this.counts,
      log: (line) => this.say(line),
      now: Date.now,
      checkpoints: {
        store: this.store.checkpoints,
        config: this.checkpointConfig,
        everyMs: this.options.checkpointEveryMs ?? CHECKPOINT_EVERY_MS,
      },
    });
    this.runners.set(p, runner);
    void runner.start().then(() => {
      // it stopped by itself (the bus failed under it): started again from a replay while the lease is ours
      if (runner.isStopping || this.runners.get(p) !== runner || this.closing) return;
      this.runners.delete(p);
      void runner.stop(false);
      setTimeout(() => {
        if (!this.closing && !this.runners.has(p) && this.leases.holds(p)) {
          this.moves.claimed--;
          this.startPartition(p);
        }
      }, 1000).unref();
    });
  }

  /** A clean stop: every partition stores and acks what it read, the leases and heartbeat are given up. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      await this.rounding.catch(() => {});
      await Promise.all([...this.draining.values()]);
      await Promise.all([...this.runners.values()].map((r) => r.stop(true, DRAIN_MS)));
      this.runners.clear();
      await this.leases.close().catch(() => {});
      await this.filer.close().catch(() => {});
      await this.bus.close();
      await this.ownStore?.close();
    })();
    return this.closing;
  }
}

/** `0-3, 7, 9-10` */
function ranges(ps: number[]): string {
  const sorted = [...ps].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

function why(err: unknown): string {
  return clip(inert(err instanceof Error ? err.message : String(err)), 500);
}

/**
 * The configuration a detector's state depends on, as a short digest: coalmine's version, the policy,
 * and every rule and intel file's bytes (a directory's files in name order). Two workers run alike, and
 * may restore each other's checkpoints, exactly when their digests are equal.
 */
export async function checkpointConfig(
  options: Pick<WorkerOptions, 'policy' | 'ruleDirs' | 'intelFiles'>,
): Promise<string> {
  const h = createHash('sha256');
  const version = (JSON.parse(await readFile(packagePath('package.json'), 'utf8')) as { version: string }).version;
  h.update(`coalmine ${version}\0${JSON.stringify(options.policy)}\0`);
  let budget = MAX_CONFIG_BYTES;
  const add = async (path: string, depth: number): Promise<void> => {
    const st = await stat(path).catch(() => undefined);
    if (!st) {
      h.update(`missing ${path}\0`);
      return;
    }
    if (st.isDirectory()) {
      if (depth > 8) return;
      for (const name of (await readdir(path)).sort()) await add(join(path, name), depth + 1);
      return;
    }
    h.update(`${path}\0${st.size}\0`);
    if (st.size <= budget) {
      budget -= st.size;
      h.update(await readFile(path));
    } else h.update(`${st.mtimeMs}\0`);
  };
  for (const path of [...(options.ruleDirs ?? []), ...(options.intelFiles ?? [])]) await add(path, 0);
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
