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
 * the reader drains a run (in order) and goes on; `overflowed` says an event came after a run holding a
 * later one was given (a file in order never sets it, however long: only one whose runs overlap).
 */
export class TimeOrder {
  private held: CoalEvent[] = [];
  /** The latest time given so far: an event before it comes too late for its run. */
  private givenTs = Number.NEGATIVE_INFINITY;
  overflowed = false;

  constructor(private readonly limit = MAX_HELD_EVENTS) {}

  push(events: readonly CoalEvent[]): void {
    for (const e of events) {
      if (e.coalmine.ts < this.givenTs) this.overflowed = true;
      this.held.push(e);
    }
  }

  get full(): boolean {
    return this.held.length >= this.limit;
  }

  /** Everything held, in time order, in batches of at most `batch` (never one huge array to spread). */
  *drain(batch: number): Generator<CoalEvent[]> {
    const out = this.held;
    this.held = [];
    out.sort((a, b) => a.coalmine.ts - b.coalmine.ts);
    const last = out[out.length - 1]?.coalmine.ts;
    if (last !== undefined && last > this.givenTs) this.givenTs = last;
    for (let i = 0; i < out.length; i += batch) yield out.slice(i, i + batch);
  }
}

/** The issue a reader reports when a file overflowed the held events: its events came in runs. */
export function outOfOrderIssue(file: string, code: string): Issue {
  return issue(
    { file, line: 1 },
    `${code}_OUT_OF_ORDER`,
    'more events than are held to sort a file, and out of order across them: given in runs, each in time order',
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
    const rest = withoutEvents(batch);
    if (rest) yield rest;
  }
  const issues = order.overflowed ? [outOfOrderIssue(file, code)] : [];
  for (const events of order.drain(batchEvents)) yield { events, issues: issues.splice(0) };
  if (issues.length > 0) yield { events: [], issues };
}

/** What a batch says besides its events (issues, unused records, a split run's routed issues), or undefined. */
function withoutEvents(batch: SourceBatch): SourceBatch | undefined {
  const unused = batch.unused ?? 0;
  const routed = batch.routed ?? [];
  if (batch.issues.length === 0 && unused === 0 && routed.length === 0) return undefined;
  const rest: SourceBatch = { events: [], issues: batch.issues };
  if (unused > 0) rest.unused = unused;
  if (routed.length > 0) rest.routed = routed;
  return rest;
}

/** Events a file's order is judged on before its reader decides to pass it on or to sort it. */
export const PROBE_EVENTS = 256;

/**
 * A reader's batches as they come when the file runs forward in time (the common case: nothing is held
 * past its first events), or held and given in time order as `timeOrdered` does when its first
 * PROBE_EVENTS step back in time more often than forward: SIEM exports (a Kibana or Splunk search
 * saved as NDJSON) are newest first, and the engine would take each record of such a file, past its
 * allowed lateness, as a late one (legs out of order, a story cut in two).
 */
export async function* forwardInTime(
  batches: AsyncIterable<SourceBatch>,
  file: string,
  code: string,
  batchEvents: number,
  limit = MAX_HELD_EVENTS,
): AsyncGenerator<SourceBatch> {
  const iterator = batches[Symbol.asyncIterator]();
  const held: CoalEvent[] = [];
  let ended = false;
  while (held.length < PROBE_EVENTS) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    for (const e of next.value.events) held.push(e);
    const rest = withoutEvents(next.value);
    if (rest) yield rest;
  }
  const rest: AsyncIterable<SourceBatch> = { [Symbol.asyncIterator]: () => iterator };
  if (!runsBackward(held)) {
    if (held.length > 0) yield { events: held, issues: [] };
    if (!ended) yield* rest;
    return;
  }
  async function* all(): AsyncGenerator<SourceBatch> {
    yield { events: held, issues: [] };
    if (!ended) yield* rest;
  }
  yield* timeOrdered(all(), file, code, batchEvents, limit);
}

/** Whether more of the steps from one event to the next go back in time than forward (ties are no step). */
function runsBackward(events: readonly CoalEvent[]): boolean {
  let back = 0;
  let forward = 0;
  for (let i = 1; i < events.length; i++) {
    const d = events[i].coalmine.ts - events[i - 1].coalmine.ts;
    if (d < 0) back++;
    else if (d > 0) forward++;
  }
  return back > forward;
}
