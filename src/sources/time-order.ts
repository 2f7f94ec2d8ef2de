/**
 * A file's events held, bounded, and given back in time order. Readers need it where a file's order is
 * not event time: an Azure operation or flow is emitted when its end is read but dated by its start, and
 * `gcloud logging read` and `aws cloudtrail lookup-events` print the newest record first, so the engine
 * would take every older record of a long export as a late event.
 */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import type { SourceBatch } from './types.js';

/** Events a reader holds to put them in time order. */
export const MAX_HELD_EVENTS = 100_000;

/**
 * Holds a file's events and gives them back in time order (input order on ties). Bounded: once `full`,
 * the reader drains a run (in order) and goes on; `overflowed` says a file needed runs.
 */
export class TimeOrder {
  private held: CoalEvent[] = [];
  overflowed = false;

  constructor(private readonly limit = MAX_HELD_EVENTS) {}

  push(events: readonly CoalEvent[]): void {
    for (const e of events) this.held.push(e);
  }

  get full(): boolean {
    return this.held.length >= this.limit;
  }

  /** Everything held, in time order, in batches of at most `batch` (never one huge array to spread). */
  *drain(batch: number): Generator<CoalEvent[]> {
    if (this.full) this.overflowed = true;
    const out = this.held;
    this.held = [];
    out.sort((a, b) => a.coalmine.ts - b.coalmine.ts);
    for (let i = 0; i < out.length; i += batch) yield out.slice(i, i + batch);
  }
}

/** The issue a reader reports when a file overflowed the held events: its events came in runs. */
export function outOfOrderIssue(file: string, code: string): Issue {
  return issue(
    { file, line: 1 },
    `${code}_OUT_OF_ORDER`,
    'more events than are held to sort a file: given in runs, each in time order',
    'reading',
  );
}

/**
 * A reader's batches with their events in time order, bounded as `TimeOrder` is: issues and unused
 * counts pass on as they come, events are held and given sorted at the end (or in runs when full).
 */
export async function* timeOrdered(
  batches: AsyncIterable<SourceBatch>,
  file: string,
  code: string,
  batchEvents: number,
  limit = MAX_HELD_EVENTS,
): AsyncGenerator<SourceBatch> {
  const order = new TimeOrder(limit);
  for await (const batch of batches) {
    order.push(batch.events);
    if (order.full) for (const events of order.drain(batchEvents)) yield { events, issues: [] };
    const unused = batch.unused ?? 0;
    if (batch.issues.length > 0 || unused > 0)
      yield unused > 0 ? { events: [], issues: batch.issues, unused } : { events: [], issues: batch.issues };
  }
  const issues = order.overflowed ? [outOfOrderIssue(file, code)] : [];
  for (const events of order.drain(batchEvents)) yield { events, issues: issues.splice(0) };
  if (issues.length > 0) yield { events: [], issues };
}
