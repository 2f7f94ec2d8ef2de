/**
 * Event-time ordering that holds only as much as the stream needs. Events are released in time order
 * (ties by arrival) once they are older than the newest event time seen minus the *hold*: the
 * lateness this stream has actually shown (twice the largest seen), never more than the allowed
 * lateness. A stream in time order holds nothing, so its events pass straight through and die young
 * instead of waiting minutes of event time (and being promoted to the old generation) for nothing.
 * An event that arrives behind one already released (its lateness was larger than any seen before)
 * is released at once, counted in `unsorted`, and the hold grows to cover it. Bounded: past
 * `maxBuffered` the earliest held event is released early, counted in `earlyReleased`.
 */
import type { CoalEvent } from '../model/event.js';

interface Slot {
  event: CoalEvent;
  seq: number;
}

/** The hold covers twice the largest lateness seen, so a stream's next, somewhat later event is still sorted. */
const HOLD_MARGIN = 2;
/** The FIFO ring's first capacity (a power of two); it doubles when full, up to what `maxBuffered` holds. */
const FIRST_RING = 1024;

export class ReorderBuffer {
  /**
   * Events that arrived in time order wait in a FIFO ring, with their times and arrival numbers in
   * parallel typed arrays (nothing allocated per event, no copy to drop the released front); late
   * ones in the heap.
   */
  private ring: Array<CoalEvent | undefined> = new Array<CoalEvent | undefined>(FIRST_RING).fill(undefined);
  private ringTs = new Float64Array(FIRST_RING);
  private ringSeq = new Float64Array(FIRST_RING);
  private ringHead = 0;
  private ringCount = 0;
  private heap: Slot[] = [];
  private seq = 0;
  private maxTs = Number.NEGATIVE_INFINITY;
  /** Time of the newest event released: nothing earlier can be put before it any more. */
  private releasedTs = Number.NEGATIVE_INFINITY;
  private holdMs = 0;
  /** Events within the allowed lateness that arrived behind an already released event: processed on arrival. */
  unsorted = 0;
  /** Events released before their time because the buffer was full. */
  earlyReleased = 0;

  constructor(
    private readonly allowedLatenessMs: number,
    /** Hard bound on buffered events; beyond it the earliest is released early (counted). */
    private readonly maxBuffered: number,
  ) {}

  get size(): number {
    return this.heap.length + this.ringCount;
  }

  /** The newest event time seen minus the allowed lateness: an event before it is late by policy. */
  get watermark(): number {
    return this.maxTs - this.allowedLatenessMs;
  }

  /** How long (event time) events are held now: the lateness the stream has shown, within the allowed. */
  get hold(): number {
    return this.holdMs;
  }

  /** Add an event; appends the events now safe to process to `out`, in time order. */
  push(event: CoalEvent, out: CoalEvent[]): void {
    const ts = event.coalmine.ts;
    const seq = this.seq++;
    if (ts >= this.maxTs) {
      this.maxTs = ts;
      // in order with nothing held and no lateness seen: straight through
      if (this.holdMs === 0 && this.size === 0) {
        this.releasedTs = ts;
        out.push(event);
        return;
      }
      this.append(event, ts, seq);
    } else {
      const lateBy = this.maxTs - ts;
      if (lateBy * HOLD_MARGIN > this.holdMs) this.holdMs = Math.min(this.allowedLatenessMs, lateBy * HOLD_MARGIN);
      if (ts < this.releasedTs) {
        // too late to sort: everything held is later still, so releasing it first keeps their order
        if (ts >= this.watermark) this.unsorted++;
        out.push(event);
        return;
      }
      this.insert({ event, seq });
    }
    const releaseUpTo = this.maxTs - this.holdMs;
    for (;;) {
      const nextTs = this.peekTs();
      if (nextTs === undefined) break;
      if (nextTs > releaseUpTo) {
        if (this.size <= this.maxBuffered) break;
        this.earlyReleased++;
      }
      this.releasedTs = nextTs;
      out.push(this.take());
    }
  }

  /** Release everything (end of input, or a live clock's tick). */
  drain(out: CoalEvent[]): void {
    while (this.size > 0) {
      const ts = this.peekTs();
      if (ts !== undefined) this.releasedTs = ts;
      out.push(this.take());
    }
  }

  private append(event: CoalEvent, ts: number, seq: number): void {
    if (this.ringCount === this.ring.length) this.growRing();
    const i = (this.ringHead + this.ringCount) & (this.ring.length - 1);
    this.ring[i] = event;
    this.ringTs[i] = ts;
    this.ringSeq[i] = seq;
    this.ringCount++;
  }

  /** Twice the capacity, the held events first in order. */
  private growRing(): void {
    const n = this.ring.length;
    const ring = new Array<CoalEvent | undefined>(n * 2).fill(undefined);
    const ringTs = new Float64Array(n * 2);
    const ringSeq = new Float64Array(n * 2);
    for (let k = 0; k < this.ringCount; k++) {
      const i = (this.ringHead + k) & (n - 1);
      ring[k] = this.ring[i];
      ringTs[k] = this.ringTs[i];
      ringSeq[k] = this.ringSeq[i];
    }
    this.ring = ring;
    this.ringTs = ringTs;
    this.ringSeq = ringSeq;
    this.ringHead = 0;
  }

  private peekTs(): number | undefined {
    const h = this.heap[0];
    if (this.ringCount === 0) return h?.event.coalmine.ts;
    const f = this.ringTs[this.ringHead];
    return h && h.event.coalmine.ts < f ? h.event.coalmine.ts : f;
  }

  /** The earliest held event (ties: the earlier arrival). */
  private take(): CoalEvent {
    const h = this.heap[0];
    if (this.ringCount > 0) {
      const head = this.ringHead;
      const d = h ? h.event.coalmine.ts - this.ringTs[head] : 1;
      if (d > 0 || (d === 0 && h.seq > this.ringSeq[head])) {
        const f = this.ring[head] as CoalEvent;
        this.ring[head] = undefined;
        this.ringHead = (head + 1) & (this.ring.length - 1);
        this.ringCount--;
        return f;
      }
    }
    return this.pop().event;
  }

  private less(a: Slot, b: Slot): boolean {
    const d = a.event.coalmine.ts - b.event.coalmine.ts;
    return d < 0 || (d === 0 && a.seq < b.seq);
  }

  private insert(slot: Slot): void {
    const h = this.heap;
    h.push(slot);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      const t = h[i];
      h[i] = h[p];
      h[p] = t;
      i = p;
    }
  }

  private pop(): Slot {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        const t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
      }
    }
    return top;
  }
}
