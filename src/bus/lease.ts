/**
 * Partition leases for `coalmine worker` in the JetStream KV bucket LEASE_BUCKET (bus/contract.ts): key
 * `leaseKeyOf(p)` holds the owner of partition p, key `w.NAME` each live worker's heartbeat. A worker
 * claims a free partition by create and an expired one by update at the revision it saw (compare-and-swap
 * on the KV revision: of two racing workers one wins), renews its own by the same, and gives them up by a
 * delete at its revision. Expiry is judged by observation, not by clocks: a lease is expired once the
 * observer has seen the same revision of it for longer than the TTL by its own monotonic clock, so no two
 * machines' clocks need agree (the owner renews every TTL/3 and stops treating a lease as its own once
 * TTL − TTL/5 has passed since it last sent a renewal that succeeded, so the owner gives up before any
 * observer can take over). Partitions are shared fairly: a worker claims at most ceil(PARTITIONS / live
 * workers), live workers being the heartbeats whose revision moved within the TTL, and gives up what it
 * holds over its share.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import { clip } from '../util/hostile.js';
import { LEASE_BUCKET, leaseKeyOf, PARTITIONS } from './contract.js';

/** What a worker may be named: a KV key token, bounded. */
export const WORKER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_LEASE_TTL_MS = 10_000;
const MIN_TTL_MS = 500;
const MAX_TTL_MS = 10 * 60_000;

/** A lease's value: who holds it, with what TTL, and the writer's clock (for people; expiry never reads it). */
export interface LeaseValue {
  owner: string;
  ttlMs: number;
  at: number;
}

export interface LeaseOptions {
  kv: KV;
  /** Lists the heartbeat keys (one stream-info request, bounded by its timeout). */
  jsm: JetStreamManager;
  /** This worker's name (WORKER_NAME). */
  worker: string;
  ttlMs?: number;
  /** A monotonic clock in ms (default performance.now); tests pin it. */
  monotonic?: () => number;
  /** The wall clock written into values for people to read (default Date.now). */
  wall?: () => number;
}

/** What one round changed. */
export interface LeaseRound {
  /** Partitions newly ours. */
  gained: number[];
  /** Partitions no longer ours: renewal refused (another holds it) or not renewed in time. */
  lost: number[];
  /** Partitions we hold beyond our fair share: the caller stops them, then `release`s each. */
  excess: number[];
  /** Live workers counted (ourselves included) and the share that gives. */
  live: number;
  share: number;
}

interface Seen {
  revision: number;
  since: number;
}

interface Held {
  revision: number;
  /** When the renewal (or claim) that wrote `revision` was sent. */
  sentAt: number;
}

const heartbeatKey = (worker: string) => `w.${worker}`;
/** The lease bucket's stream, and the subject prefix of its keys (how JetStream KV stores a bucket). */
const LEASE_STREAM = `KV_${LEASE_BUCKET}`;
const LEASE_SUBJECT_PREFIX = `$KV.${LEASE_BUCKET}.`;
const encode = (v: LeaseValue): Uint8Array => Buffer.from(JSON.stringify(v));

/** A lease value read from the bucket (anyone may write it): undefined when it is not one. */
export function leaseValueOf(entry: KvEntry | null): LeaseValue | undefined {
  if (entry?.operation !== 'PUT' || entry.length > 1024) return undefined;
  try {
    const v = JSON.parse(Buffer.from(entry.value).toString('utf8')) as Record<string, unknown>;
    if (typeof v.owner !== 'string' || typeof v.ttlMs !== 'number' || typeof v.at !== 'number') return undefined;
    return { owner: clip(v.owner, 64), ttlMs: v.ttlMs, at: v.at };
  } catch {
    return undefined;
  }
}

/** A TTL as given by anyone, held to what this module can keep. */
function boundedTtl(ms: number): number {
  return Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, Number.isFinite(ms) ? ms : DEFAULT_LEASE_TTL_MS));
}

/** The worker's partition leases: `round()` every `renewEveryMs`, `release` what it stopped, `close` at the end. */
export class PartitionLeases {
  readonly ttlMs: number;
  private readonly kv: KV;
  private readonly jsm: JetStreamManager;
  private readonly worker: string;
  private readonly monotonic: () => number;
  private readonly wall: () => number;
  private readonly held = new Map<number, Held>();
  /** Other keys as observed: revision and since when (monotonic) it has not moved. */
  private readonly seen = new Map<string, Seen>();
  private heartbeatRevision: number | undefined;
  /** Where this worker starts looking, so workers do not all race for partition 0 first. */
  private readonly offset: number;

  constructor(options: LeaseOptions) {
    if (!WORKER_NAME.test(options.worker)) throw new Error('a worker name is 1 to 64 of A-Z a-z 0-9 _ -');
    this.kv = options.kv;
    this.jsm = options.jsm;
    this.worker = options.worker;
    this.ttlMs = boundedTtl(options.ttlMs ?? DEFAULT_LEASE_TTL_MS);
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.wall = options.wall ?? Date.now;
    let h = 0;
    for (const c of options.worker) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    this.offset = h % PARTITIONS;
  }

  /** How often `round` should run: three renewals within a TTL. */
  get renewEveryMs(): number {
    return Math.floor(this.ttlMs / 3);
  }

  /** The partitions this worker holds now, in order. */
  owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Whether partition p is still ours by our own clock (renewed recently enough). */
  holds(p: number): boolean {
    const h = this.held.get(p);
    return h !== undefined && this.monotonic() - h.sentAt < this.ttlMs - this.ttlMs / 5;
  }

  private value(): Uint8Array {
    return encode({ owner: this.worker, ttlMs: this.ttlMs, at: this.wall() });
  }

  /** Records an observation of `key`; true when it has stood still longer than `ttlMs` (expired). */
  private observe(key: string, revision: number, ttlMs: number): boolean {
    const now = this.monotonic();
    const was = this.seen.get(key);
    if (!was || was.revision !== revision) {
      this.seen.set(key, { revision, since: now });
      return false;
    }
    return now - was.since > ttlMs;
  }

  /**
   * One round: the heartbeat written, our leases renewed (those refused, or unrenewed past the TTL, are
   * lost), the live workers counted, what we hold over our share named, and free or expired partitions
   * claimed up to the share. Errors of the bus are thrown after what could be done (the caller retries),
   * except while claiming: that stops, and what was claimed is returned.
   */
  async round(): Promise<LeaseRound> {
    const result: LeaseRound = { gained: [], lost: [], excess: [], live: 1, share: PARTITIONS };
    const startedAt = this.monotonic();
    // renew ours first: the TTL runs from the last renewal sent, so nothing goes before it
    await Promise.all(
      this.owned().map(async (p) => {
        const h = this.held.get(p) as Held;
        // given up by our own clock already (a round held up past it): the caller has stopped the
        // partition, so renewing it would leave it leased to us with nothing consuming it
        if (!this.holds(p)) {
          this.held.delete(p);
          result.lost.push(p);
          return;
        }
        const sentAt = this.monotonic();
        try {
          const revision = await this.kv.update(leaseKeyOf(p), this.value(), h.revision);
          // released while the renewal was on its way (the caller gave it up meanwhile): not ours again,
          // or it would be renewed with nothing consuming it (its value stands still: others take it)
          if (this.held.get(p) === h) this.held.set(p, { revision, sentAt });
        } catch (err) {
          // refused: someone else's now; a bus error: ours until the TTL says otherwise
          if (this.held.get(p) === h && (isCasFailure(err) || !this.holds(p))) {
            this.held.delete(p);
            result.lost.push(p);
          }
        }
      }),
    );
    for (const p of this.owned())
      if (!this.holds(p)) {
        this.held.delete(p);
        result.lost.push(p);
      }
    await this.beat();
    result.live = await this.liveWorkers();
    result.share = Math.ceil(PARTITIONS / result.live);
    const owned = this.owned();
    if (owned.length > result.share) {
      // give up the ones farthest from where we start claiming, so we keep the ones we would claim first
      const byPreference = owned.sort((a, b) => this.rank(a) - this.rank(b));
      result.excess = byPreference.slice(result.share);
      return result;
    }
    // claim: read every lease, take free or expired ones up to the share
    const entries = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, p) =>
        this.held.has(p) ? Promise.resolve(null) : this.kv.get(leaseKeyOf(p)),
      ),
    );
    const candidates: Array<{ p: number; entry: KvEntry | null }> = [];
    for (let p = 0; p < PARTITIONS; p++) {
      if (this.held.has(p)) continue;
      const entry = entries[p];
      const value = leaseValueOf(entry);
      if (entry?.operation !== 'PUT') {
        this.seen.delete(leaseKeyOf(p));
        candidates.push({ p, entry });
        continue;
      }
      // a value that is no lease (or our own from before a restart) is taken over like an expired one
      const ttl = Math.max(this.ttlMs, boundedTtl(value?.ttlMs ?? this.ttlMs));
      if (this.observe(leaseKeyOf(p), entry.revision, ttl)) candidates.push({ p, entry });
    }
    candidates.sort((a, b) => this.rank(a.p) - this.rank(b.p));
    for (const { p, entry } of candidates) {
      if (this.held.size >= result.share) break;
      // claims one by one on a slow bus must not hold up the next round's renewals: the rest wait for it
      if (this.monotonic() - startedAt > this.renewEveryMs) break;
      const sentAt = this.monotonic();
      try {
        const revision =
          entry && entry.operation === 'PUT'
            ? await this.kv.update(leaseKeyOf(p), this.value(), entry.revision)
            : await this.kv.create(leaseKeyOf(p), this.value());
        this.held.set(p, { revision, sentAt });
        this.seen.delete(leaseKeyOf(p));
        result.gained.push(p);
      } catch (err) {
        // a bus error ends the claiming, not the round: what was claimed must reach the caller, which
        // starts it (thrown, the claims would stay ours and be renewed with nothing consuming them)
        if (!isCasFailure(err)) break;
      }
    }
    return result;
  }

  private rank(p: number): number {
    return (p - this.offset + PARTITIONS) % PARTITIONS;
  }

  private async beat(): Promise<void> {
    const key = heartbeatKey(this.worker);
    const value = this.value();
    if (this.heartbeatRevision !== undefined) {
      try {
        this.heartbeatRevision = await this.kv.update(key, value, this.heartbeatRevision);
        return;
      } catch (err) {
        if (!isCasFailure(err)) throw err;
      }
    }
    // first beat, or another process of our name wrote it: put (a name is one worker's, by the operator)
    this.heartbeatRevision = await this.kv.put(key, value);
  }

  /** Workers whose heartbeat moved within the TTL as we observed it (a first sighting counts), us included. */
  private async liveWorkers(): Promise<number> {
    let live = 1;
    // the heartbeat keys from the bucket stream's subjects: one request with a timeout. Not `kv.keys()`,
    // which reads them through a push consumer made for the listing and ends on its heartbeat: on a
    // cluster whose restarted node was catching up, that listing never ended, and the worker's rounds
    // (chained one after another) stopped for good, its heartbeat with them (bench/bus-faults.ts)
    const info = await this.jsm.streams.info(LEASE_STREAM, { subjects_filter: `${LEASE_SUBJECT_PREFIX}w.>` });
    const names: string[] = [];
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      if (names.length >= 10_000) break;
      const key = subject.slice(LEASE_SUBJECT_PREFIX.length);
      if (key !== heartbeatKey(this.worker)) names.push(key);
    }
    const entries = await Promise.all(names.map((k) => this.kv.get(k)));
    entries.forEach((entry, i) => {
      if (entry?.operation !== 'PUT') {
        this.seen.delete(names[i]);
        return;
      }
      const ttl = Math.max(this.ttlMs, boundedTtl(leaseValueOf(entry)?.ttlMs ?? this.ttlMs));
      if (!this.observe(names[i], entry.revision, ttl)) live++;
    });
    return live;
  }

  /** Gives up partition p (stopped by the caller): deleted at our revision, so never someone else's lease. */
  async release(p: number): Promise<void> {
    const h = this.held.get(p);
    if (!h) return;
    this.held.delete(p);
    try {
      await this.kv.delete(leaseKeyOf(p), { previousSeq: h.revision });
    } catch (err) {
      if (!isCasFailure(err)) throw err;
    }
  }

  /** Gives up every partition and the heartbeat (a clean shutdown: others take over at once). */
  async close(): Promise<void> {
    for (const p of this.owned()) await this.release(p).catch(() => {});
    if (this.heartbeatRevision !== undefined)
      await this.kv.delete(heartbeatKey(this.worker), { previousSeq: this.heartbeatRevision }).catch(() => {});
    this.heartbeatRevision = undefined;
  }
}

/** The server refused a write at a revision (someone else wrote first), as opposed to a bus failure. */
function isCasFailure(err: unknown): boolean {
  const text = String((err as Error)?.message ?? err);
  return /wrong last sequence|key exists|already exists/i.test(text);
}

/**
 * The lease bucket, made when missing (one value per key: a lease's history is of no use). Read from its
 * stream's leader, never by direct get (which any replica answers, also one behind or holding writes the
 * leader lost after a node failure, seen on nats-server 2.9.10): expiry is judged by a revision standing
 * still, so reads that alternate between replicas' revisions keep a dead worker's leases and heartbeat
 * looking alive, and a claim at a replica's revision fails. Set on the client, so a bucket made with
 * direct gets allowed is read the same way.
 */
export async function openLeaseBucket(js: JetStreamClient, replicas: number): Promise<KV> {
  return new Kvm(js).create(LEASE_BUCKET, { history: 1, replicas, allow_direct: false });
}
