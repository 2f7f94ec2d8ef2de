/**
 * One thread of `hunt --workers N`. Every worker reads the whole input through the same sources and
 * time merge as a single-threaded hunt (a parse is cheaper than handing parsed events between threads,
 * see bench/results/hunt-workers.md), and pushes into its engine only the events whose partition
 * (engine/partition.ts) it owns. A line of coalmine's NDJSON whose host the text tells
 * (partitionRouteOfLine's walk, hostNameOfLine) is not even parsed by the workers that do not own it, and the issues of such a
 * line are reported by its owner alone; run/merge.ts puts every part's issues back in input order.
 * The first event that is not host-scoped, or a Sigma correlation
 * (which counts across hosts), ends the worker with `apart`: the run cannot be split, and `hunt`
 * runs it on one thread. Results go back whole (findings before allowlist and triage, which `hunt`
 * applies once); merging is run/merge.ts's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hostNameOfLine, hostRouteOf, type PartitionRoute, partitionRouteOf, workerOf } from '../engine/partition.js';
import type { CoalEvent } from '../model/event.js';
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
  const mine = (event: CoalEvent): boolean => {
    named = undefined;
    const route = partitionRouteOf(event, routeOfHost);
    if (route.scope !== 'host')
      throw new CannotSplit(
        `an event of ${event.coalmine.ref.file} is ${route.scope}-scoped (${route.key.slice(0, 80)})`,
      );
    // a named host's route came from hostOwner, which knows its owner (set in routeOfHost, hence the cast)
    const owner = named as HostOwner | undefined;
    return owner ? owner.mine : workerOf(route.key, input.owners) === input.index;
  };
  const push = engine.push.bind(engine);
  const pushState = engine.pushState.bind(engine);
  engine.push = (event: CoalEvent) => {
    if (mine(event)) push(event);
  };
  engine.pushState = (event: CoalEvent) => {
    if (mine(event)) pushState(event);
  };
  const lineOwner = (text: string): 'mine' | 'other' | undefined => {
    const name = hostNameOfLine(text);
    if (name === undefined) return undefined;
    return hostOwner(name).mine ? 'mine' : 'other';
  };
  let issues: FeedIssues;
  try {
    issues = await prepared.feed(
      input.index === 0 && input.progress ? (p) => post({ type: 'progress', progress: { ...p } }) : undefined,
      { lineOwner, part: input.index },
    );
  } catch (err) {
    if (err instanceof CannotSplit) {
      post({ type: 'apart', reason: err.message });
      return;
    }
    throw err;
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
