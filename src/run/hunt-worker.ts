/**
 * One thread of `hunt --workers N`. Every worker reads the whole input through the same sources and
 * time merge as a single-threaded hunt (a parse is cheaper than handing parsed events between threads,
 * see bench/results/hunt-workers.md), and pushes into its engine only the events whose partition
 * (engine/partition.ts) it owns. A line of coalmine's NDJSON whose host its bytes tell
 * (hostNameSpanOfLine's walk) is not even decoded by the workers that do not own it, and the issues of
 * such a line are reported by its owner alone; run/merge.ts puts every part's issues back in input
 * order. Every event of our NDJSON is kept or dropped as it is read (before the time merge), and the
 * owner checks that the event a routed line parses into is its own (the walk stops at the first
 * `host`). The first event that is not host-scoped, or a Sigma correlation (which counts across
 * hosts), ends the worker with `apart`: the run cannot be split, and `hunt` runs it on one thread.
 * Results go back whole (findings before allowlist and triage, which `hunt` applies once); merging is
 * run/merge.ts's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  hostNameSpanOfLine,
  hostRouteOf,
  type NameSpan,
  type PartitionRoute,
  partitionRouteOf,
  workerOf,
} from '../engine/partition.js';
import type { CoalEvent } from '../model/event.js';
import type { LineRouting } from '../sources/types.js';
import type { FeedIssues } from './feed.js';
import { type HuntWorkerInput, type HuntWorkerMessage, prepareHunt } from './hunt.js';
import { newSummary } from './summary.js';

/** Host names whose owner a worker remembers; past it the memory starts again (hostile inputs name millions). */
const MAX_NAMES_REMEMBERED = 65_536;

/** A host name's route, and whether this worker owns it. */
interface HostOwner {
  route: PartitionRoute;
  mine: boolean;
}

/**
 * Whose a line is, by its host name's bytes (engine/partition.ts hostNameSpanOfLine): a name is decoded
 * and its owner worked out the first time its bytes are seen; after that a hash of the bytes, checked
 * byte for byte, finds it. Bounded like the names (one entry per hash: a colliding name is decoded).
 */
class LineOwners {
  private readonly byHash = new Map<number, { bytes: Uint8Array; mine: boolean }>();
  private readonly span: NameSpan = { start: 0, end: 0 };

  constructor(private readonly ownsName: (name: string) => boolean) {}

  of(bytes: Buffer, start: number, end: number): 'mine' | 'other' | undefined {
    const span = this.span;
    if (!hostNameSpanOfLine(bytes, start, end, span)) return undefined;
    let hash = 0x811c9dc5;
    for (let i = span.start; i < span.end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    const known = this.byHash.get(hash);
    if (known !== undefined && sameBytes(known.bytes, bytes, span)) return known.mine ? 'mine' : 'other';
    const mine = this.ownsName(bytes.toString('utf8', span.start, span.end));
    if (known === undefined) {
      if (this.byHash.size >= MAX_NAMES_REMEMBERED) this.byHash.clear();
      this.byHash.set(hash, { bytes: new Uint8Array(bytes.subarray(span.start, span.end)), mine }); // a copy: the chunk is let go
    }
    return mine ? 'mine' : 'other';
  }
}

function sameBytes(known: Uint8Array, bytes: Uint8Array, span: NameSpan): boolean {
  if (known.length !== span.end - span.start) return false;
  for (let i = 0; i < known.length; i++) if (known[i] !== bytes[span.start + i]) return false;
  return true;
}

/** Thrown from inside the feed to stop reading at the first event no partition can hold alone. */
class CannotSplit extends Error {}

export async function runHuntWorker(input: HuntWorkerInput, post: (m: HuntWorkerMessage) => void): Promise<void> {
  const summary = newSummary();
  const prepared = await prepareHunt(input.options, summary);
  const { engine, rawFindings } = prepared;
  if (prepared.correlations > 0) {
    post({ type: 'apart', reason: `${prepared.correlations} Sigma correlation rules count events across hosts` });
    return;
  }
  // every line and event is routed here, by a few hundred host names: each name's route and owner are
  // worked out once (bounded: hostile inputs name millions)
  const byName = new Map<string, HostOwner>();
  const hostOwner = (name: string): HostOwner => {
    let known = byName.get(name);
    if (known === undefined) {
      const route = hostRouteOf(name);
      known = { route, mine: workerOf(route.key, input.owners) === input.index };
      if (byName.size >= MAX_NAMES_REMEMBERED) byName.clear();
      byName.set(name, known);
    }
    return known;
  };
  // what routeOfHost looked up for the event being routed: its owner too, without a second lookup
  let named: HostOwner | undefined;
  const routeOfHost = (name: string): PartitionRoute => {
    named = hostOwner(name);
    return named.route;
  };
  /** Whether this worker owns the event, or why no worker can hold it alone. */
  const ownership = (event: CoalEvent): boolean | string => {
    named = undefined;
    const route = partitionRouteOf(event, routeOfHost);
    if (route.scope !== 'host')
      return `an event of ${event.coalmine.ref.file} is ${route.scope}-scoped (${route.key.slice(0, 80)})`;
    // a named host's route came from hostOwner, which knows its owner (set in routeOfHost, hence the cast)
    const owner = named as HostOwner | undefined;
    return owner ? owner.mine : workerOf(route.key, input.owners) === input.index;
  };
  /**
   * Why the split cannot hold, once an event of our NDJSON is no host's, or a line routed here by its
   * bytes parsed into an event that is not this worker's (a repeated top-level `host`: the walk takes the
   * first, JSON.parse the last). Noted, not thrown, there: the line is read inside the source, which
   * reports what it throws as a bad input; the next push throws.
   */
  let unsplittable: string | undefined;
  const push = engine.push.bind(engine);
  const pushState = engine.pushState.bind(engine);
  // an event of our NDJSON was kept by lineRouting.keep already: the owner is asked once per event
  const mine = (event: CoalEvent): boolean => {
    if (unsplittable !== undefined) throw new CannotSplit(unsplittable);
    if (event.coalmine.format === 'ndjson') return true;
    const owned = ownership(event);
    if (typeof owned === 'string') throw new CannotSplit(owned);
    return owned;
  };
  engine.push = (event: CoalEvent) => {
    if (mine(event)) push(event);
  };
  engine.pushState = (event: CoalEvent) => {
    if (mine(event)) pushState(event);
  };
  const lineOwner = new LineOwners((name) => hostOwner(name).mine);
  const lineRouting: LineRouting = {
    owner: (bytes, start, end) => lineOwner.of(bytes, start, end),
    keep: (event, routed) => {
      const owned = ownership(event);
      if (owned === true) return true;
      if (unsplittable === undefined && (routed || owned !== false))
        unsplittable =
          owned === false
            ? `line ${event.coalmine.ref.line} of ${event.coalmine.ref.file} names a host its text routes elsewhere (a repeated key)`
            : owned;
      return false;
    },
  };
  let issues: FeedIssues;
  try {
    issues = await prepared.feed(
      input.index === 0 && input.progress ? (p) => post({ type: 'progress', progress: { ...p } }) : undefined,
      { lineRouting, part: input.index },
    );
  } catch (err) {
    if (err instanceof CannotSplit) {
      post({ type: 'apart', reason: err.message });
      return;
    }
    throw err;
  }
  if (unsplittable !== undefined) {
    post({ type: 'apart', reason: unsplittable });
    return;
  }
  if (engine.workloadStates().length > 0 || engine.cloudRegions().length > 0) {
    post({ type: 'apart', reason: 'workload or cloud state was built from host-scoped events' });
    return;
  }
  post({
    type: 'done',
    part: {
      summary,
      issues: { input: issues.input.data(), routed: issues.routed.data(), engine: issues.engine.data() },
      stats: {
        events: engine.stats.events,
        stateEvents: engine.stats.stateEvents,
        lateEvents: engine.stats.lateEvents,
        unsortedEvents: engine.stats.unsortedEvents,
        lateSamples: engine.stats.lateSamples,
        signals: engine.stats.signals,
        hostsEvicted: engine.stats.hostsEvicted,
      },
      findings: rawFindings,
      hosts: engine.hostStates().map((h) => ({
        name: h.name,
        cores: h.cores,
        platform: h.platform,
        coverage: h.coverage,
        noCommandLine: h.noCommandLine,
      })),
    },
  });
}

if (parentPort && (workerData as { kind?: string } | undefined)?.kind === 'coalmine-hunt') {
  const port = parentPort;
  const post = (m: HuntWorkerMessage) => port.postMessage(m);
  runHuntWorker(workerData as HuntWorkerInput, post).catch((err: unknown) => {
    post({ type: 'failed', reason: err instanceof Error ? err.message : String(err) });
  });
}
