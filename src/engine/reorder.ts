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
  /** Events that arrived in time order wait in a FIFO (cheap); only out-of-order ones go to the heap. */
  private fifo: Slot[] = [];
  private fifoHead = 0;
  private heap: Slot[] = [];
  private seq = 0;
  private maxTs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly allowedLatenessMs: number,
    /** Hard bound on buffered events; beyond it the oldest is released early (counted by the caller). */
    private readonly maxBuffered: number,
  ) {}

  get size(): number {
    return this.heap.length + this.fifo.length - this.fifoHead;
  }

  get watermark(): number {
    return this.maxTs - this.allowedLatenessMs;
  }

  /** Add an event; returns the events now safe to process, in time order. */
  push(event: CoalEvent, out: CoalEvent[]): void {
    const ts = event.coalmine.ts;
    const slot = { event, seq: this.seq++ };
    if (ts >= this.maxTs) {
      this.maxTs = ts;
      this.fifo.push(slot);
    } else this.insert(slot);
    const wm = this.watermark;
    for (;;) {
      const next = this.peek();
      if (!next || (next.event.coalmine.ts > wm && this.size <= this.maxBuffered)) break;
      out.push(this.take().event);
    }
  }

  /** Release everything (end of input). */
  drain(out: CoalEvent[]): void {
    while (this.size > 0) out.push(this.take().event);
  }

  private peek(): Slot | undefined {
    const f = this.fifoHead < this.fifo.length ? this.fifo[this.fifoHead] : undefined;
    const h = this.heap[0];
    if (!f) return h;
    if (!h) return f;
    return this.less(h, f) ? h : f;
  }

  private take(): Slot {
    const f = this.fifoHead < this.fifo.length ? this.fifo[this.fifoHead] : undefined;
    const h = this.heap[0];
    if (f && (!h || !this.less(h, f))) {
      this.fifoHead++;
      if (this.fifoHead > 4096 && this.fifoHead * 2 > this.fifo.length) {
        this.fifo = this.fifo.slice(this.fifoHead);
        this.fifoHead = 0;
      }
      return f;
    }
    return this.pop();
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
