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
import { IssueList, type IssueListData, type RunSummary } from './summary.js';

interface Lane {
  iterator: AsyncIterator<SourceBatch>;
  events: CoalEvent[];
  pos: number;
  done: boolean;
}

/** A batch's issues: those of lines every thread reads, and those of lines only this one read (SourceBatch.routed). */
export type OnIssues = (issues: Issue[], routed?: Issue[]) => void;

async function refill(lane: Lane, onIssues: OnIssues): Promise<void> {
  while (!lane.done && lane.pos >= lane.events.length) {
    const r = await lane.iterator.next();
    if (r.done) {
      lane.done = true;
      lane.events = [];
      lane.pos = 0;
      return;
    }
    if (r.value.issues.length > 0 || r.value.routed?.length) onIssues(r.value.issues, r.value.routed);
    lane.events = r.value.events;
    lane.pos = 0;
  }
}

export async function* mergeByTime(
  sources: AsyncIterable<SourceBatch>[],
  onIssues: OnIssues,
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
  /** Its run summary but for the feed's issues: the input side (files, bytes, unread inputs) is the same in every part. */
  summary: RunSummary;
  /** The feed's issues (run/feed.ts FeedIssues): of lines every part read, of its own lines, of its engine. */
  issues: { input: IssueListData; routed: IssueListData; engine: IssueListData };
  stats: {
    events: number;
    stateEvents: number;
    lateEvents: number;
    unsortedEvents: number;
    lateSamples: number;
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
 * input), engine counts summed, the issues of lines every part read from the first part and those of
 * each part's own lines and engine from every part, listed in input order as one thread lists them
 * (run/summary.ts IssueList); findings and hosts of every part. Findings are ranked by the caller, as a
 * single-threaded hunt ranks them.
 */
export function mergeHuntParts(parts: readonly HuntPart[]): MergedHunt {
  const summary: RunSummary = structuredClone(parts[0].summary);
  summary.events = 0;
  summary.stateEvents = 0;
  summary.lateEvents = 0;
  summary.unsortedEvents = 0;
  summary.lateSamples = 0;
  summary.signals = 0;
  let hostsEvicted = 0;
  const findings: Finding[] = [];
  const hosts: HostState[] = [];
  const input = new IssueList();
  const engine = new IssueList();
  input.absorb(parts[0].issues.input);
  for (const p of parts) {
    summary.events += p.stats.events;
    summary.stateEvents += p.stats.stateEvents;
    summary.lateEvents += p.stats.lateEvents;
    summary.unsortedEvents += p.stats.unsortedEvents;
    summary.lateSamples += p.stats.lateSamples;
    summary.signals += p.stats.signals;
    hostsEvicted += p.stats.hostsEvicted;
    input.absorb(p.issues.routed);
    engine.absorb(p.issues.engine);
    findings.push(...p.findings);
    for (const h of p.hosts) hosts.push(hostFromSnapshot(h));
  }
  input.flushInto(summary);
  engine.flushInto(summary);
  return { summary, findings, hosts, hostsEvicted };
}

function hostFromSnapshot(s: HostSnapshot): HostState {
  const h = new HostState(s.name, s.cores);
  if (s.platform !== undefined) h.platform = s.platform;
  for (const [k, v] of s.coverage) h.coverage.set(k, v);
  for (const [k, v] of s.noCommandLine) h.noCommandLine.set(k, v);
  return h;
}
