/**
 * What changed in the store, as it happens: routes and ingest publish a change (a finding's revision, a
 * case's move, an allowlist entry, a sensor), the feed stamps it with a sequence number and the time,
 * keeps the last ones in a ring so a reconnecting stream (`Last-Event-ID`) resumes without a gap, and
 * hands it to its subscribers (the event streams). In process only: one server, one feed.
 */
import { clip, inert } from '../util/hostile.js';

export type ChangeKind = 'finding' | 'case' | 'allowlist' | 'sensor';

/** What a publisher says changed: the kind of thing, its id, and where it has one its revision or state. */
export interface ChangeInput {
  kind: ChangeKind;
  id: string;
  revision?: number;
  state?: string;
}

/** A published change: `seq` grows by one per change from 1; `at` is epoch ms. */
export interface Change extends ChangeInput {
  seq: number;
  at: number;
}

export type ChangeListener = (change: Change) => void;

/** What `since` answers: the changes after a sequence number, or `gap` when the ring no longer holds them all. */
export type ChangesSince = { changes: Change[] } | { gap: true };

export const CHANGE_RING_SIZE = 1000;
/** Subscribers beyond this are refused (each is an open stream; the streams have their own, lower cap). */
export const MAX_CHANGE_SUBSCRIBERS = 1024;
/** Ids and states are the store's; clipped anyway, since a change is written to every stream. */
const MAX_FIELD_CHARS = 256;

export class ChangeFeed {
  private readonly ring: Change[] = [];
  /** Index in `ring` of the oldest change once the ring is full. */
  private head = 0;
  private seq = 0;
  private readonly listeners = new Set<ChangeListener>();
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly capacity: number;

  /** `firstSeq`: the first change's sequence number is one above it (0 by default). */
  constructor(options: { now: () => number; log?: (line: string) => void; capacity?: number; firstSeq?: number }) {
    this.now = options.now;
    const first = Math.floor(options.firstSeq ?? 0);
    this.seq = Number.isSafeInteger(first) && first > 0 ? first : 0;
    this.log = options.log ?? (() => {});
    this.capacity = Math.max(1, options.capacity ?? CHANGE_RING_SIZE);
  }

  /** The sequence number of the newest change (`firstSeq` before any). */
  get lastSeq(): number {
    return this.seq;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Stamps the change, keeps it, and tells every subscriber; a subscriber that throws is logged, never the publisher's problem. */
  publish(change: ChangeInput): Change {
    const stamped: Change = {
      kind: change.kind,
      id: clip(change.id, MAX_FIELD_CHARS),
      ...(change.revision !== undefined ? { revision: change.revision } : {}),
      ...(change.state !== undefined ? { state: clip(change.state, MAX_FIELD_CHARS) } : {}),
      seq: ++this.seq,
      at: this.now(),
    };
    if (this.ring.length < this.capacity) this.ring.push(stamped);
    else {
      this.ring[this.head] = stamped;
      this.head = (this.head + 1) % this.capacity;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(stamped);
      } catch (err) {
        this.log(`coalmine serve: a change subscriber failed: ${clip(inert(String(err)), 500)}`);
      }
    }
    return stamped;
  }

  /**
   * Calls `listener` with every change from now on; the answer unsubscribes. Undefined when the feed
   * already has its maximum of subscribers.
   */
  subscribe(listener: ChangeListener): (() => void) | undefined {
    if (this.listeners.size >= MAX_CHANGE_SUBSCRIBERS) return undefined;
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The changes with a sequence number above `seq`, oldest first; a gap when some of them left the ring. */
  since(seq: number): ChangesSince {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > this.seq) return { gap: true };
    const held = this.ordered();
    const oldest = held.length > 0 ? held[0].seq : this.seq + 1;
    if (seq + 1 < oldest) return { gap: true };
    return { changes: held.filter((c) => c.seq > seq) };
  }

  /** The ring oldest first. */
  private ordered(): Change[] {
    return this.ring.length < this.capacity
      ? [...this.ring]
      : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }
}
