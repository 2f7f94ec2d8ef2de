/**
 * Event-time ordering: a min-heap that holds events until the watermark (the newest event time
 * seen minus the allowed lateness) passes them, so sources that are slightly out of order are
 * processed in time order. Ties break on arrival sequence, so order is deterministic.
 */
import type { CoalEvent } from '../model/event.js';

interface Slot {
  event: CoalEvent;
  seq: number;
}

export class ReorderBuffer {
  private heap: Slot[] = [];
  private seq = 0;
  private maxTs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly allowedLatenessMs: number,
    /** Hard bound on buffered events; beyond it the oldest is released early (counted by the caller). */
    private readonly maxBuffered: number,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  get watermark(): number {
    return this.maxTs - this.allowedLatenessMs;
  }

  /** Add an event; returns the events now safe to process, in time order. */
  push(event: CoalEvent, out: CoalEvent[]): void {
    const ts = event.coalmine.ts;
    if (ts > this.maxTs) this.maxTs = ts;
    this.insert({ event, seq: this.seq++ });
    const wm = this.watermark;
    while (this.heap.length > 0 && (this.heap[0].event.coalmine.ts <= wm || this.heap.length > this.maxBuffered)) {
      out.push(this.pop().event);
    }
  }

  /** Release everything (end of input). */
  drain(out: CoalEvent[]): void {
    while (this.heap.length > 0) out.push(this.pop().event);
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
      [h[i], h[p]] = [h[p], h[i]];
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
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
