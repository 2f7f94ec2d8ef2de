/**
 * Merging event sources by event time, so a hunt over an auditd log and a metrics CSV of the same
 * hours is one timeline. Each source is consumed batch by batch; from the source whose next event is
 * earliest we emit every event up to the next-earliest source's head, so a single source (the common
 * case) costs one comparison per event. Ties go to the source listed first (deterministic).
 * And merging the parts of a hunt split across worker threads back into one run (mergeHuntParts).
 */
import { HostState } from '../engine/host-state.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import type { SourceBatch } from '../sources/types.js';
import { countIssue, MAX_LISTED_ISSUES, type RunSummary } from './summary.js';

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

/** An engine issue with the position (events read so far, all partitions) at which it was raised. */
export interface TaggedIssue {
  seq: number;
  issue: Issue;
}

/** What a host's coverage needs of its state (run/coverage.ts reads only these). */
export interface HostSnapshot {
  name: string;
  cores: number | undefined;
  platform: string | undefined;
  coverage: HostState['coverage'];
  noCommandLine: HostState['noCommandLine'];
}

/** What one `hunt --workers` thread hands back (run/hunt-worker.ts). */
export interface HuntPart {
  /** Its run summary: the input side (files, bytes, input issues) is the same in every part. */
  summary: RunSummary;
  /** Its engine's issues, also counted at the end of `summary`. */
  engineIssues: TaggedIssue[];
  stats: {
    events: number;
    stateEvents: number;
    lateEvents: number;
    unsortedEvents: number;
    signals: number;
    hostsEvicted: number;
  };
  /** Findings as graded, before allowlist and triage. */
  findings: Finding[];
  hosts: HostSnapshot[];
}

export interface MergedHunt {
  summary: RunSummary;
  findings: Finding[];
  hosts: HostState[];
  hostsEvicted: number;
}

/**
 * The parts of a split hunt as one run: the input side from the first part (every part read the same
 * input), engine counts summed, engine issues in the order the events that raised them were read
 * (as one engine would have raised them), findings and hosts of every part. Findings are ranked by the
 * caller, as a single-threaded hunt ranks them.
 */
export function mergeHuntParts(parts: readonly HuntPart[]): MergedHunt {
  const first = parts[0];
  const summary: RunSummary = structuredClone(first.summary);
  // take the first part's own engine issues back out: feedEngine counted them last
  for (const t of first.engineIssues) {
    const left = (summary.issuesByCode[t.issue.code] ?? 0) - 1;
    if (left > 0) summary.issuesByCode[t.issue.code] = left;
    else delete summary.issuesByCode[t.issue.code];
  }
  const total = Object.values(summary.issuesByCode).reduce((a, b) => a + b, 0);
  // input issues were counted first, so the listed ones lead the list
  summary.issues = summary.issues.slice(0, Math.min(MAX_LISTED_ISSUES, total));
  summary.events = 0;
  summary.stateEvents = 0;
  summary.lateEvents = 0;
  summary.unsortedEvents = 0;
  summary.signals = 0;
  let hostsEvicted = 0;
  const tagged: Array<TaggedIssue & { part: number; at: number }> = [];
  const findings: Finding[] = [];
  const hosts: HostState[] = [];
  parts.forEach((p, part) => {
    summary.events += p.stats.events;
    summary.stateEvents += p.stats.stateEvents;
    summary.lateEvents += p.stats.lateEvents;
    summary.unsortedEvents += p.stats.unsortedEvents;
    summary.signals += p.stats.signals;
    hostsEvicted += p.stats.hostsEvicted;
    p.engineIssues.forEach((t, at) => {
      tagged.push({ ...t, part, at });
    });
    findings.push(...p.findings);
    for (const h of p.hosts) hosts.push(hostFromSnapshot(h));
  });
  tagged.sort((a, b) => a.seq - b.seq || a.part - b.part || a.at - b.at);
  for (const t of tagged) countIssue(summary, t.issue);
  return { summary, findings, hosts, hostsEvicted };
}

function hostFromSnapshot(s: HostSnapshot): HostState {
  const h = new HostState(s.name, s.cores);
  if (s.platform !== undefined) h.platform = s.platform;
  for (const [k, v] of s.coverage) h.coverage.set(k, v);
  for (const [k, v] of s.noCommandLine) h.noCommandLine.set(k, v);
  return h;
}
