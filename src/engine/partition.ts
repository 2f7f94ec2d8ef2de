/**
 * The partitioning rule: which correlation unit an event's state belongs to, written once for every
 * way the engine is split (`hunt --workers`, and the scale-out workers of issue 17). The engine's
 * state is per host except where it joins across hosts, so an event's key is
 *   `host:NAME`               an event of one named host that touches nothing shared (the common case;
 *                             NAME is the host's key, one for all its spellings: host-names.ts);
 *   `cloud:PROVIDER:ACCOUNT`  a cloud record or an event stamped with a cloud instance: launches,
 *                             instances and the principal's history join within an account (AN0744);
 *   `k8s:CLUSTER`             an event naming a container, pod or Kubernetes object: workloads span
 *                             nodes, and creator and image baselines are per cluster (AN0745);
 *   `addr:IP`                 a record naming no host but an address: it is joined to its host by
 *                             address (host-by-ip.ts), which only a host-by-address map shared by all
 *                             can do (naming neither, or naming a process as a host sensor's record
 *                             does, it is the unknown host's: `host:` that name);
 *   `fleet`                   a web request with a client fingerprint (relay.ts judges it against the
 *                             population of every host) or an SSH session (clients learned by address).
 * Only `host` keys are self-contained: the others meet host state (a host tied to its instance, a
 * container's process in its node's process table, the population normal), so a splitter must keep
 * them with every host they may touch. `hunt` therefore splits a run only when every event is
 * host-scoped and runs it on one thread otherwise (see run/hunt.ts).
 * Partition = FNV-1a of the key modulo a fixed count, so the same key lands on the same partition in
 * every process and every run; partitions are dealt to workers as `partition % workers`.
 */
import { UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import { isHostSensorRecord } from './host-by-ip.js';
import { hostNameKey } from './host-names.js';

/** Fixed, so a key's partition never depends on how many workers there are. */
export const PARTITIONS = 64;

export type PartitionScope = 'host' | 'cloud' | 'k8s' | 'addr' | 'fleet';

export interface PartitionRoute {
  scope: PartitionScope;
  /** The correlation key, bounded; `fleet` for what is judged against every host. */
  key: string;
}

/** Keys are built from log fields: bounded so a hostile name cannot make routing cost grow. */
const MAX_KEY_PART = 256;

function part(value: string | undefined): string {
  if (value === undefined || value === '') return '?';
  return value.length > MAX_KEY_PART ? value.slice(0, MAX_KEY_PART) : value;
}

/**
 * The route of a named host's events, by its key (host-names.ts `hostNameKey`): every spelling of a
 * host (`WS-FIN-07`, `ws-fin-07.corp.example.com`) lands on the partition where the engine joins them.
 */
export function hostRouteOf(host: string): PartitionRoute {
  return { scope: 'host', key: `host:${part(hostNameKey(host))}` };
}

/** The correlation unit an event belongs to. Pure; reads only fields, never mutates the event. */
export function partitionRouteOf(
  event: CoalEvent,
  /** How a named host is routed: hostRouteOf, or a caller's memory of it (the route depends on the name alone). */
  routeOfHost: (name: string) => PartitionRoute = hostRouteOf,
): PartitionRoute {
  const cloud = event.cloud;
  if (event.coalmine.cloud || cloud?.provider || cloud?.account?.id || cloud?.instance?.id || cloud?.instance?.name)
    return {
      scope: 'cloud',
      key: `cloud:${part(cloud?.provider ?? event.coalmine.cloud?.provider)}:${part(cloud?.account?.id)}`,
    };
  if (event.container?.id || event.container?.name || event.orchestrator || event.coalmine.workload)
    return { scope: 'k8s', key: `k8s:${part(event.orchestrator?.cluster?.name)}` };
  if (event.event.action === 'connect' && joinsTheFleet(event)) return { scope: 'fleet', key: 'fleet' };
  const host = event.host?.name;
  if (host) return routeOfHost(host);
  // host-by-ip.ts names a host-less network record's host from its addresses; a host sensor's record, or
  // one with no address, stays the unknown host's
  if (isHostSensorRecord(event)) return hostRouteOf(UNKNOWN_HOST);
  const address = event.source?.ip ?? event.destination?.ip;
  return address ? { scope: 'addr', key: `addr:${part(address)}` } : hostRouteOf(UNKNOWN_HOST);
}

/** A connection relay.ts reads: an SSH session, or an outbound request with a client fingerprint. */
function joinsTheFleet(event: CoalEvent): boolean {
  if (event.network?.protocol === 'ssh') return true;
  return Boolean(event.user_agent?.original || event.tls?.client?.ja3);
}

/** FNV-1a (32-bit) of the key's UTF-16 code units: stable across processes, runs and machines. */
export function partitionOf(key: string, partitions: number = PARTITIONS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Which worker owns each partition: `owners[partition]`, one entry per partition. */
export type PartitionOwners = readonly number[];

/** The plain deal: partition mod workers (what a run with nothing to weigh partitions by uses). */
export function dealtOwners(workers: number): number[] {
  return Array.from({ length: PARTITIONS }, (_, p) => p % workers);
}

/**
 * Partitions dealt so the workers' loads come out even: the heaviest partition first, each to the
 * worker with the least so far (ties to the lower index), by `weights[partition]` (e.g. lines seen in a
 * sample of the input). Partitions with no weight keep the plain deal. Deterministic for its inputs;
 * which worker owns what never changes what a run finds, only how long the slowest thread takes.
 */
export function balancedOwners(weights: readonly number[], workers: number): number[] {
  const owners = dealtOwners(workers);
  const load = new Array<number>(workers).fill(0);
  const order = [...owners.keys()].filter((p) => (weights[p] ?? 0) > 0);
  order.sort((a, b) => weights[b] - weights[a] || a - b);
  for (const p of order) {
    let least = 0;
    for (let w = 1; w < workers; w++) if (load[w] < load[least]) least = w;
    owners[p] = least;
    load[least] += weights[p];
  }
  return owners;
}

/** Which worker owns a key's partition. */
export function workerOf(key: string, owners: PartitionOwners): number {
  return owners[partitionOf(key)];
}

/**
 * The route partitionRouteOf gives the event a line of coalmine's own NDJSON parses into, told from the
 * text alone, or undefined when it cannot be told that way (then the line is parsed). Only a line whose
 * top-level `host` object has a plain string `name` is routed: the walk goes member by member up to the
 * `host` key and across its object, a fraction of a parse. What else may take the event out of its
 * host's partition (cloud, k8s, fleet) needs no look here: the owning thread parses the line, finds
 * it, and the run goes back to one thread (run/hunt-worker.ts). A line that is not valid JSON may get a
 * route: it then goes to one thread, which reports it as one thread would.
 */
export function partitionRouteOfLine(text: string): PartitionRoute | undefined {
  const name = hostNameOfLine(text);
  return name === undefined ? undefined : hostRouteOf(name);
}

/**
 * The plain `host.name` partitionRouteOfLine routes a line by, or undefined when the line cannot be
 * routed from its text. A caller routing many lines may remember the route per name: it depends on
 * the name alone.
 */
export function hostNameOfLine(text: string): string | undefined {
  // a key spelled with \u escapes (`ho\u0073t`) would be a host the walk does not see
  if (text.charCodeAt(0) !== 123 || text.includes('\\u')) return undefined;
  let j = 1;
  for (;;) {
    j = skipSpace(text, j);
    const isHost = text.startsWith('"host"', j);
    j = memberValueAt(text, j); // -1 also when the object ended with no host
    if (j < 0) return undefined;
    if (isHost) break;
    j = skipValue(text, j);
    if (j < 0) return undefined;
    j = skipSpace(text, j);
    if (text.charCodeAt(j) !== 44) return undefined;
    j++;
  }
  const host = hostObjectName(text, j);
  // a `host` key further on may be another top-level one, which JSON.parse would keep instead
  if (host === undefined || hostKeyAfter(text, host.end)) return undefined;
  return host.name;
}

/** The plain string `name` of the object at `i` (one `name`, no escapes), and the index past the object. */
function hostObjectName(text: string, i: number): { name: string; end: number } | undefined {
  if (text.charCodeAt(i) !== 123) return undefined;
  let name: string | undefined;
  let j = i + 1;
  for (;;) {
    j = skipSpace(text, j);
    const c = text.charCodeAt(j);
    if (c === 125) break;
    if (c === 44) {
      j++;
      continue;
    }
    const isName = text.startsWith('"name"', j);
    j = memberValueAt(text, j);
    if (j < 0) return undefined;
    if (isName) {
      if (name !== undefined || text.charCodeAt(j) !== 34) return undefined;
      const end = stringEnd(text, j);
      if (end < 0) return undefined;
      name = text.slice(j + 1, end);
      if (name.includes('\\')) return undefined;
      j = end + 1;
    } else {
      j = skipValue(text, j);
      if (j < 0) return undefined;
    }
  }
  return name ? { name, end: j + 1 } : undefined;
}

/** Where the value of the object member whose key starts at `i` begins (`"key" : value`), or -1 when that is no member. */
function memberValueAt(text: string, i: number): number {
  if (text.charCodeAt(i) !== 34) return -1;
  const keyEnd = stringEnd(text, i);
  if (keyEnd < 0) return -1;
  const colon = skipSpace(text, keyEnd + 1);
  return text.charCodeAt(colon) === 58 ? skipSpace(text, colon + 1) : -1;
}

/** Whether `"host"` followed by a colon (a key) appears from `from` on. Searched as `host"`: far rarer than `"`. */
function hostKeyAfter(text: string, from: number): boolean {
  for (let i = text.indexOf('host"', from); i >= 0; i = text.indexOf('host"', i + 5)) {
    if (text.charCodeAt(i - 1) === 34 && text.charCodeAt(skipSpace(text, i + 5)) === 58) return true;
  }
  return false;
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
}

/** The index of the quote closing the string opened at `open`, or -1 when the line ends first. */
function stringEnd(text: string, open: number): number {
  // jump quote to quote (a native search); a quote after an odd run of backslashes is escaped
  for (let i = text.indexOf('"', open + 1); i >= 0; i = text.indexOf('"', i + 1)) {
    let b = i - 1;
    while (text.charCodeAt(b) === 92) b--;
    if ((i - 1 - b) % 2 === 0) return i;
  }
  return -1;
}

/** The index just past the JSON value starting at `i`, or -1 when the line ends inside it. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 34) {
    const end = stringEnd(text, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c !== 123 && c !== 91) {
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) return i;
      i++;
    }
    return -1;
  }
  let depth = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i);
    if (d === 34) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (d === 123 || d === 91) depth++;
    else if (d === 125 || d === 93) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}
