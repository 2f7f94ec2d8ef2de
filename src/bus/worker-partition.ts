/**
 * One partition of `coalmine worker`: its detector (the one LiveDetector, as serve runs it), fed the
 * partition's messages in stream order, its findings filed through serve's filing (IngestPipeline.filer).
 *
 * Takeover restores, then replays: the new owner restores the partition's last checkpoint (its detector's
 * whole state and this runner's clock as of a stream sequence: run/live.ts `checkpoint`, stored by
 * store/checkpoints.ts) and replays the partition from the message after it up to the last one there when
 * it claimed it (an ordered consumer: no acks), holding each finding's last report, then files those (a
 * report already stored is a duplicate) and goes on live from the next sequence with the partition's
 * durable pull consumer. Without a checkpoint of this configuration that still continues into the stream,
 * the replay starts at the partition's first retained message. This is sound because the engine is a
 * function of the message sequence alone: events and standing facts in stream order, bodies batched by
 * the arrival time each message carries (`receivedAt`), and the clock ticked on a grid of those arrival
 * times (TICK_MS, serve's period) before the first message past each grid point, or when the partition
 * has been quiet past one; nothing reads the worker's own clock but that quiet tick, which a replay
 * makes before the next message. So the replay reaches the state the dead owner had, and what it reports
 * the dead owner reported (stored: duplicates) or would have (stored now). A checkpoint is the whole state
 * (Sigma context 24 h back, baselines, the engine's sweep counter: everything), taken only when every
 * report made so far is stored, so restoring it and replaying what follows is the same as replaying from
 * the start (src/run/live-checkpoint.test.ts shows it after every body of its scenarios). Checkpoints are
 * taken at most every CHECKPOINT_EVERY_MS while reading and at a clean hand-over (`stop` with drain).
 *
 * Live, a message is acked (AckAll: it and every one before it) once the detector has read it (the
 * first tick after it: its batch is read by then) and every report made up to that tick is stored. What
 * its events go on to cause later is rebuilt by the next owner's replay, not by the ack. A store that
 * fails is retried with backoff, the partition stops fetching while its reports wait, and the consumer's
 * max_ack_pending stops the server delivering more, so nothing is lost or buffered without bound; the
 * worker's InFlightBudget bounds the messages fetched and not yet read.
 */

import { deserialize, serialize } from 'node:v8';
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Finding } from '../model/finding.js';
import type { LiveDetector } from '../run/live.js';
import type { IngestPipeline } from '../server/ingest.js';
import type { CheckpointStore } from '../store/checkpoints.js';
import type { AsyncLock } from '../util/async-lock.js';
import { clip, inert } from '../util/hostile.js';
import { decodeEvents, EVENTS_STREAM, metaOf, PARTITIONS, subjectOf } from './contract.js';

/** The clock's grid (ms of arrival time): serve ticks its detector this often. */
export const TICK_MS = 5000;
/** A quiet tick waits this long past its grid point, so a message published before it is not overtaken. */
const QUIET_GRACE_MS = 1000;
/** Messages one fetch asks for (held until processed: 64 partitions × 32 × a message's ≤ 256 KiB, bounded). */
const FETCH_BATCH = 32;
/** The same for a replay, of which only a few run at once (bus/worker.ts REPLAYS_AT_ONCE). */
const REPLAY_FETCH_BATCH = 128;
/** Unacked messages the server lets one partition's consumer have (then it stops delivering). */
export const MAX_ACK_PENDING = 2048;
/** How long the server waits for an ack before delivering a message again (a redelivery is skipped). */
const ACK_WAIT_MS = 5 * 60_000;
/** Reports waiting to be stored before the partition stops fetching. */
const MAX_OUTBOX = 512;
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 10_000;

const nanos = (ms: number) => ms * 1_000_000;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface PartitionCounts {
  messages: number;
  events: number;
  /** Messages whose headers were not the contract's, and event lines that were not events (each dropped). */
  badMessages: number;
  badLines: number;
  /** Messages of the replay at takeover. */
  replayed: number;
  reportsFiled: number;
  /** Store failures retried. */
  storeRetries: number;
  /** Checkpoints stored, and restored at a takeover (whose replay then starts after them). */
  checkpointsSaved: number;
  checkpointsRestored: number;
}

export interface PartitionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  filer: IngestPipeline;
  /** A fresh detector reporting to `onFinding` (made when the partition's first message comes). */
  detector: (onFinding: (finding: Finding) => void) => Promise<LiveDetector>;
  /** The worker's one turn at detecting: partitions take it a message at a time. */
  turn: AsyncLock;
  /** Whether the lease is still ours (checked before each filing and fetch). */
  holds: () => boolean;
  /**
   * Messages fetched and not yet read by the detector, across the worker; `take` waits for room. A read
   * message gives its slot back at once: its ack waits for a tick, and a tick for a fetch, so slots held
   * until the ack would let every partition wait on slots that only its own next fetch could free.
   */
  budget: InFlightBudget;
  /** Replays running at once across the worker. */
  replays: InFlightBudget;
  counts: PartitionCounts;
  log: (line: string) => void;
  /** The wall clock, for the quiet tick and the checkpoints' spacing only. */
  now: () => number;
  /**
   * Where the partition's detector is checkpointed (the store), under which configuration (a checkpoint
   * of another is not restored), and how often at most (wall ms). Without it every takeover replays whole.
   */
  checkpoints?: { store: CheckpointStore; config: string; everyMs: number };
}

/** What a checkpoint holds beside the detector: the runner's own clock and counts as of its sequence. */
interface RunnerState {
  lastSeq: number;
  prevAt: number | undefined;
  lastTick: number;
  given: number;
}

/**
 * The worker's bound on messages in flight (fetched, not yet acked), shared by its partitions. First come,
 * first served: a partition that gives slots back and at once asks again queues behind those waiting, or
 * one holding unacked messages (acked only at its next tick, after its next fetch) could wait for ever
 * while the others pass slots among themselves.
 */
export class InFlightBudget {
  private used = 0;
  private readonly waiting: Array<{ want: number; resolve: (n: number) => void }> = [];
  constructor(readonly max: number) {}

  get inFlight(): number {
    return this.used;
  }

  /** Up to `want` slots (at least one), waiting in turn while none is free. */
  take(want: number): Promise<number> {
    if (this.waiting.length === 0 && this.used < this.max) return Promise.resolve(this.grant(want));
    return new Promise<number>((resolve) => this.waiting.push({ want, resolve }));
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
    while (this.waiting.length > 0 && this.used < this.max) {
      const next = this.waiting.shift() as { want: number; resolve: (n: number) => void };
      next.resolve(this.grant(next.want));
    }
  }

  private grant(want: number): number {
    const n = Math.max(1, Math.min(want, this.max - this.used));
    this.used += n;
    return n;
  }
}

/** The partition's durable consumer's name. */
export const consumerNameOf = (p: number): string => `coalmine-worker-p${String(p).padStart(2, '0')}`;

export class PartitionRunner {
  private detector: LiveDetector | undefined;
  private stopping = false;
  /** Gave up without draining (lease lost): report nothing more. */
  private abandoned = false;
  /** Replaying the partition at takeover: each finding's last report held, filed at its end. */
  private held: Map<string, Finding> | undefined = new Map();
  private readonly outbox: Finding[] = [];
  private reported = 0;
  /** Events and standing facts given to the detector (what its stats count once its batch is read). */
  private given = 0;
  private filed = 0;
  /**
   * Live messages given to the detector, not yet acked; `through`: the reports made up to the first tick
   * after it (when its batch has been read), unset until that tick.
   */
  private readonly unacked: Array<{ msg: JsMsg; through?: number }> = [];
  private readonly wakers = new Set<() => void>();
  private lastSeq = 0;
  private prevAt: number | undefined;
  private lastTick = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;
  private filing: Promise<void> | undefined;
  /** The sequence of the last checkpoint stored (or restored), and when one was last taken (wall ms). */
  private checkpointedSeq = 0;
  private lastCheckpointAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly partition: number,
    private readonly deps: PartitionDeps,
  ) {}

  /** Whether `stop` was called (else a run that ended stopped by itself: the bus failed under it). */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Starts replay then live consumption; resolves when stopped. */
  start(): Promise<void> {
    this.filing = this.fileLoop();
    this.running = this.run().catch((err) => {
      if (!this.abandoned) this.say(`stopped: ${why(err)}`);
    });
    return this.running;
  }

  /** Stops fetching; with `drain`, waits (at most `maxWaitMs`) until what was read is stored and acked. */
  async stop(drain: boolean, maxWaitMs = 10_000): Promise<void> {
    this.stopping = true;
    if (!drain) this.abandoned = true;
    this.poke();
    await Promise.race([this.running, delay(maxWaitMs)]);
    if (drain) {
      const deadline = this.deps.now() + maxWaitMs;
      while (this.outbox.length > 0 && this.deps.now() < deadline && this.deps.holds()) await delay(50);
      this.ackFiled();
      // handed over cleanly: the next owner restores this and replays nothing (a checkpoint is sound whoever
      // holds the lease by now: it is the state as of its sequence, and a save never goes back)
      await this.checkpoint(true);
    }
    this.abandoned = true;
    this.poke();
    await Promise.race([this.filing, delay(1000)]);
    this.unacked.length = 0;
  }

  private say(text: string): void {
    this.deps.log(`partition ${this.partition}: ${text}`);
  }

  private poke(): void {
    const waiting = [...this.wakers];
    this.wakers.clear();
    for (const w of waiting) w();
  }

  private get live(): boolean {
    return !this.stopping && this.deps.holds();
  }

  private async run(): Promise<void> {
    const subject = subjectOf(this.partition);
    // the replay's end: the partition's last message when we claimed it
    let target = 0;
    try {
      target = (await this.deps.jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject }))?.seq ?? 0;
    } catch (err) {
      if (!/no message found|not found/i.test(String((err as Error).message))) throw err;
    }
    const from = target > 0 ? await this.restore(target) : 0;
    if (target > from) {
      // a few replays at a time: 64 at once would have the server push more than a client may hold
      await this.deps.replays.take(1);
      try {
        await this.replay(subject, target, from);
      } finally {
        this.deps.replays.give(1);
      }
    }
    if (!this.live) return;
    await this.endReplay();
    let consumer = await this.liveConsumer(subject, target + 1);
    /** The consumer's delivery sequence of the last message that reached us (1, 2, … on a new consumer). */
    let delivered = 0;
    let retry = RETRY_FIRST_MS;
    while (this.live) {
      // back-pressure: reports waiting to be stored stop the fetching
      while (this.outbox.length >= MAX_OUTBOX && this.live) await this.sleep(100);
      if (!this.live) break;
      // a fetch waiting on a quiet partition holds its slots: each partition asks for its share at most
      const slots = await this.deps.budget.take(Math.min(FETCH_BATCH, Math.floor(this.deps.budget.max / PARTITIONS)));
      let got = 0;
      // what a fetch delivered before it failed (missed heartbeats on a loaded machine) is read all the same
      const msgs: JsMsg[] = [];
      let failure: unknown;
      try {
        for await (const m of await consumer.fetch({ max_messages: slots, expires: 1000 })) msgs.push(m);
      } catch (err) {
        failure = err;
      }
      let gap = false;
      for (const m of msgs) {
        got++;
        // a delivery that never reached us (on the wire when a fetch failed or expired): the server counts it
        // delivered, and an AckAll past it would ack it unread. From there on nothing is read; the consumer
        // is made again from the message after the last one read, which delivers it again
        gap ||= m.info.deliverySequence !== delivered + 1;
        delivered = m.info.deliverySequence;
        // a redelivery of what was read (its ack is covered by a later AckAll), past a gap, or a stop: its slot back
        if (gap || !this.live || m.seq <= this.lastSeq) {
          this.deps.budget.give(1);
          if (!this.live) break;
          continue;
        }
        await this.process(m);
        this.deps.budget.give(1);
        this.unacked.push({ msg: m });
      }
      // slots asked for and not delivered
      this.deps.budget.give(Math.max(0, slots - got));
      if (!this.live) break;
      if (failure !== undefined || gap) {
        this.say(
          failure !== undefined
            ? `fetching failed, reading on from sequence ${this.lastSeq + 1} in ${retry} ms: ${why(failure)}`
            : `a delivery did not reach us, reading on from sequence ${this.lastSeq + 1}`,
        );
        if (failure !== undefined) await this.sleep(retry);
        retry = Math.min(retry * 2, RETRY_MAX_MS);
        if (!this.live) break;
        consumer = await this.freshConsumer(subject);
        delivered = 0;
        continue;
      }
      retry = RETRY_FIRST_MS;
      if (got === 0) this.quietTick();
      this.ackFiled();
      await this.checkpoint(false);
    }
  }

  /**
   * The partition's stored checkpoint into a new detector, when there is one of this configuration and
   * every message after it is still in the stream; the sequence it covers (0: none, replay whole).
   */
  private async restore(target: number): Promise<number> {
    const c = this.deps.checkpoints;
    if (!c) return 0;
    try {
      const cp = await c.store.load(this.partition);
      if (!cp) return 0;
      if (cp.config !== c.config) {
        this.say(`the checkpoint at sequence ${cp.seq} was made under another configuration: replaying whole`);
        return 0;
      }
      // a stream made again since (its sequences start over) or messages after the checkpoint aged out
      const first = (await this.deps.jsm.streams.info(EVENTS_STREAM)).state.first_seq;
      if (cp.seq > target || cp.seq + 1 < first) {
        this.say(
          `the checkpoint at sequence ${cp.seq} does not continue into the stream (${first}–${target}): replaying whole`,
        );
        return 0;
      }
      const { runner, detector } = deserialize(cp.state) as { runner: RunnerState; detector: Buffer };
      const restored = await this.deps.detector((f) => this.reportOf(f));
      restored.restore(detector);
      this.detector = restored;
      this.lastSeq = runner.lastSeq;
      this.prevAt = runner.prevAt;
      this.lastTick = runner.lastTick;
      this.given = runner.given;
      this.checkpointedSeq = cp.seq;
      this.deps.counts.checkpointsRestored++;
      this.say(`restored the checkpoint at sequence ${cp.seq} (${cp.state.length} bytes)`);
      return cp.seq;
    } catch (err) {
      this.detector = undefined;
      this.say(`restoring the checkpoint failed, replaying whole: ${why(err)}`);
      return 0;
    }
  }

  /**
   * The detector and this runner's clock stored as of the last message read, when every report made so
   * far is stored (a restored detector never reports them again) and the last checkpoint is `everyMs` old
   * (or `force`). Taken in the worker's turn, between messages; a failure is said and the next one tried.
   */
  private async checkpoint(force: boolean): Promise<void> {
    const c = this.deps.checkpoints;
    const detector = this.detector;
    if (!c || !detector || this.held || this.outbox.length > 0 || this.lastSeq <= this.checkpointedSeq) return;
    if (!force && this.deps.now() - this.lastCheckpointAt < c.everyMs) return;
    this.lastCheckpointAt = this.deps.now();
    try {
      const { seq, state } = await this.deps.turn.run(async () => {
        const runner: RunnerState = {
          lastSeq: this.lastSeq,
          prevAt: this.prevAt,
          lastTick: this.lastTick,
          given: this.given,
        };
        return { seq: this.lastSeq, state: serialize({ runner, detector: detector.checkpoint() }) };
      });
      if (await c.store.save(this.partition, seq, c.config, state)) {
        this.checkpointedSeq = seq;
        this.deps.counts.checkpointsSaved++;
      }
    } catch (err) {
      this.say(`storing a checkpoint failed (the next one is tried later): ${why(err)}`);
    }
  }

  /**
   * The live consumer made again from the message after the last one read: what the old one delivered
   * and we did not read comes again. The old one's unacked messages need no ack (it is gone). What they
   * caused is stored by the file loop as before.
   */
  private async freshConsumer(subject: string): Promise<Consumer> {
    this.unacked.length = 0;
    return this.liveConsumer(subject, this.lastSeq + 1);
  }

  /** The partition after `after` (0: from its first retained message) up to `target`, through an ordered consumer. */
  private async replay(subject: string, target: number, after: number): Promise<void> {
    const started = this.deps.now();
    const oc = await this.deps.js.consumers.get(
      EVENTS_STREAM,
      after > 0
        ? { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
        : { filter_subjects: subject, deliver_policy: DeliverPolicy.All },
    );
    let done = false;
    let replayed = 0;
    // how many are left to deliver: a fetch asking for more than are there waits out its expiry
    const info = await this.deps.jsm.streams.info(EVENTS_STREAM, { subjects_filter: subject });
    let left = info.state.subjects?.[subject] ?? REPLAY_FETCH_BATCH;
    while (!done && this.live) {
      // taken off the wire whole, then processed in the worker's turn: a fetch left open while other
      // partitions detect would miss the server's heartbeats
      const msgs: JsMsg[] = [];
      const ask = Math.min(REPLAY_FETCH_BATCH, Math.max(1, left));
      for await (const m of await oc.fetch({ max_messages: ask, expires: 2000 })) msgs.push(m);
      const got = msgs.length;
      if (got > 0) left = msgs[got - 1].info.pending;
      for (const m of msgs) {
        if (m.seq > target) {
          done = true;
          break;
        }
        await this.process(m);
        replayed++;
        this.deps.counts.replayed++;
        if (m.seq >= target) {
          done = true;
          break;
        }
      }
      // an empty fetch ends the replay only when `target` has aged out of the stream (and all before it,
      // oldest first); else the consumer is behind (or was reset) and the next fetch goes on
      if (got === 0 && !done) done = await this.agedOut(target);
    }
    if (this.live) this.say(`replayed ${replayed} messages to sequence ${target} in ${this.deps.now() - started} ms`);
  }

  /** Whether stream message `seq` is gone (aged out or removed). */
  private async agedOut(seq: number): Promise<boolean> {
    try {
      await this.deps.jsm.streams.getMessage(EVENTS_STREAM, { seq });
      return false;
    } catch (err) {
      if (/no message found|not found/i.test(String((err as Error).message))) return true;
      throw err;
    }
  }

  /** The replay's last reports into the outbox (a quiet tick first, as the dead owner's clock made one). */
  private async endReplay(): Promise<void> {
    this.quietTick();
    const held = this.held;
    this.held = undefined;
    for (const f of held?.values() ?? []) this.enqueue(f);
  }

  /** The durable consumer from `startSeq`, made anew: the last owner's (and its acks) are of no use to us. */
  private async liveConsumer(subject: string, startSeq: number): Promise<Consumer> {
    const name = consumerNameOf(this.partition);
    await this.deps.jsm.consumers.delete(EVENTS_STREAM, name).catch(() => false);
    await this.deps.jsm.consumers.add(EVENTS_STREAM, {
      durable_name: name,
      filter_subject: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSeq,
      ack_policy: AckPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: MAX_ACK_PENDING,
    });
    return this.deps.js.consumers.get(EVENTS_STREAM, name);
  }

  /**
   * One message into the detector, in the worker's turn (one partition's detector works at a time) and
   * yielding after it, so the lease renewals are never kept waiting behind more than one message's work.
   */
  private process(m: JsMsg): Promise<void> {
    return this.deps.turn.run(async () => {
      await this.processNow(m);
      await new Promise<void>((r) => setImmediate(r));
    });
  }

  private async processNow(m: JsMsg): Promise<void> {
    this.lastSeq = m.seq;
    const counts = this.deps.counts;
    counts.messages++;
    const meta = metaOf(m.headers);
    if ('error' in meta) {
      counts.badMessages++;
      if (counts.badMessages <= 20) this.say(`message ${m.seq} dropped: ${meta.error}`);
      return;
    }
    const { events, bad } = decodeEvents(m.data);
    counts.badLines += bad.length;
    for (const b of bad.slice(0, counts.badLines <= 20 ? 3 : 0))
      this.say(
        `message ${m.seq} (${clip(inert(meta.name), 200)}) line ${b.line} dropped: ${clip(inert(b.reason), 300)}`,
      );
    if (events.length === 0) return;
    counts.events += events.length;
    this.detector ??= await this.deps.detector((f) => this.reportOf(f));
    this.tickBefore(meta.receivedAt);
    this.given += events.length;
    this.detector.ingestRead(meta.kind === 'state' ? { events: [], state: events } : { events, state: [] }, {
      name: meta.name,
      body: meta.seq,
      receivedAtMs: meta.receivedAt,
    });
  }

  /** The last grid point at or before `at`, ticked when the clock has not yet passed it. */
  private tickBefore(at: number): void {
    const grid = Math.floor(at / TICK_MS) * TICK_MS;
    if (this.prevAt !== undefined && grid > this.lastTick && grid > this.prevAt) this.tick(grid);
    this.prevAt = Math.max(this.prevAt ?? at, at);
  }

  /** Caught up: the clock ticks at the last grid point the wall clock passed (with grace), once per point. */
  private quietTick(): void {
    if (this.prevAt === undefined) return;
    const grid = Math.floor((this.deps.now() - QUIET_GRACE_MS) / TICK_MS) * TICK_MS;
    if (grid > this.lastTick && grid > this.prevAt) this.tick(grid);
  }

  private tick(at: number): void {
    this.lastTick = at;
    this.detector?.tick(at);
    // once the detector holds no batch, what came before this tick has been read: acked once the reports
    // made so far are stored
    const read = this.detector ? this.detector.stats.events + this.detector.stats.stateEvents : 0;
    if (read >= this.given) for (const u of this.unacked) u.through ??= this.reported;
  }

  private reportOf(finding: Finding): void {
    if (this.abandoned) return;
    // a snapshot: the engine goes on changing what it reported
    const copy = JSON.parse(JSON.stringify(finding)) as Finding;
    if (this.held) {
      this.held.delete(copy.id);
      this.held.set(copy.id, copy);
    } else this.enqueue(copy);
  }

  private enqueue(finding: Finding): void {
    this.outbox.push(finding);
    this.reported++;
    this.poke();
  }

  /** Stores the outbox in order; a failure is retried (same report) with backoff until the store answers. */
  private async fileLoop(): Promise<void> {
    let retry = RETRY_FIRST_MS;
    let failing = false;
    while (!this.abandoned) {
      const next = this.outbox[0];
      if (!next) {
        await this.sleep(1000);
        continue;
      }
      if (!this.deps.holds()) {
        await this.sleep(100);
        continue;
      }
      try {
        await this.deps.filer.fileReport(next);
        this.outbox.shift();
        this.filed++;
        this.deps.counts.reportsFiled++;
        if (failing) this.say('the store answers again');
        failing = false;
        retry = RETRY_FIRST_MS;
        this.ackFiled();
      } catch (err) {
        this.deps.counts.storeRetries++;
        if (!failing)
          this.say(`storing a finding failed, retrying with backoff (nothing acked meanwhile): ${why(err)}`);
        failing = true;
        await this.sleep(retry);
        retry = Math.min(retry * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Acks (AckAll) the last message whose reports are all stored. */
  private ackFiled(): void {
    let last: JsMsg | undefined;
    for (;;) {
      const through = this.unacked[0]?.through;
      if (through === undefined || through > this.filed) break;
      last = (this.unacked.shift() as { msg: JsMsg }).msg;
    }
    if (last && !this.abandoned) last.ack();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.wakers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      t.unref();
      this.wakers.add(wake);
    });
  }
}

function why(err: unknown): string {
  return clip(inert(err instanceof Error ? err.message : String(err)), 500);
}
