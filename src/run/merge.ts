/**
 * Merging event sources by event time, so a hunt over an auditd log and a metrics CSV of the same
 * hours is one timeline. Each source is consumed batch by batch; from the source whose next event is
 * earliest we emit every event up to the next-earliest source's head, so a single source (the common
 * case) costs one comparison per event. Ties go to the source listed first (deterministic).
 */
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import type { SourceBatch } from '../sources/types.js';

interface Lane {
  iterator: AsyncIterator<SourceBatch>;
  events: CoalEvent[];
  pos: number;
  done: boolean;
}

async function refill(lane: Lane, onIssues: (issues: Issue[]) => void): Promise<void> {
  while (!lane.done && lane.pos >= lane.events.length) {
    const r = await lane.iterator.next();
    if (r.done) {
      lane.done = true;
      lane.events = [];
      lane.pos = 0;
      return;
    }
    if (r.value.issues.length > 0) onIssues(r.value.issues);
    lane.events = r.value.events;
    lane.pos = 0;
  }
}

export async function* mergeByTime(
  sources: AsyncIterable<SourceBatch>[],
  onIssues: (issues: Issue[]) => void,
): AsyncGenerator<CoalEvent[]> {
  const lanes: Lane[] = sources.map((s) => ({ iterator: s[Symbol.asyncIterator](), events: [], pos: 0, done: false }));
  for (const lane of lanes) await refill(lane, onIssues);
  for (;;) {
    let best = -1;
    let second = Number.POSITIVE_INFINITY;
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[i];
      if (lane.done) continue;
      const ts = lane.events[lane.pos].coalmine.ts;
      if (best === -1 || ts < lanes[best].events[lanes[best].pos].coalmine.ts) {
        if (best !== -1) second = Math.min(second, lanes[best].events[lanes[best].pos].coalmine.ts);
        best = i;
      } else if (ts < second) second = ts;
    }
    if (best === -1) return;
    const lane = lanes[best];
    const start = lane.pos;
    const events = lane.events;
    let end = start + 1;
    // ties stay with the earlier lane only when it is listed first
    while (
      end < events.length &&
      (events[end].coalmine.ts < second || (events[end].coalmine.ts === second && !hasEarlierTie(lanes, best, second)))
    )
      end++;
    lane.pos = end;
    yield start === 0 && end === events.length ? events : events.slice(start, end);
    await refill(lane, onIssues);
  }
}

function hasEarlierTie(lanes: Lane[], best: number, ts: number): boolean {
  for (let i = 0; i < best; i++) {
    const l = lanes[i];
    if (!l.done && l.events[l.pos].coalmine.ts === ts) return true;
  }
  return false;
}
