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
 * The route partitionRouteOf gives the event a line of coalmine's own NDJSON parses into, told from its
 * bytes alone (before they are decoded), or undefined when it cannot be told that way (then every thread
 * parses the line). Only a line whose top-level `host` object has a plain string `name` is routed: the
 * walk goes member by member up to the `host` key and across its object, a fraction of a parse. It
 * stops there, so a second top-level `host` further on (JSON.parse keeps the last) is not seen: the
 * thread that owns the route parses the line and checks that its event is its own (run/hunt-worker.ts
 * `confirm`; a split run goes back to one thread when it is not), as it does for what else may take an
 * event out of its host's partition (cloud, k8s, fleet). A line that is not valid JSON may get a route:
 * it then goes to one thread, which reports it as one thread would.
 */
export function partitionRouteOfLine(bytes: Buffer, start = 0, end: number = bytes.length): PartitionRoute | undefined {
  const name = hostNameOfLine(bytes, start, end);
  return name === undefined ? undefined : hostRouteOf(name);
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COLON = 58;
const COMMA = 44;
const HOST = [104, 111, 115, 116]; // host
const NAME = [110, 97, 109, 101]; // name

/**
 * The plain `host.name` partitionRouteOfLine routes the line `bytes[start, end)` by, or undefined when
 * the line cannot be routed from its bytes. A caller routing many lines may remember the route per name:
 * it depends on the name alone.
 */
export function hostNameOfLine(bytes: Buffer, start = 0, end: number = bytes.length): string | undefined {
  const span = { start: 0, end: 0 };
  return hostNameSpanOfLine(bytes, start, end, span) ? bytes.toString('utf8', span.start, span.end) : undefined;
}

/** Where a name's bytes are in the line: `bytes[start, end)`. */
export interface NameSpan {
  start: number;
  end: number;
}

/**
 * hostNameOfLine without decoding the name: whether the line has one, and where its bytes are (set in
 * `span`), for a caller that knows names by their bytes (run/hunt-worker.ts decodes each name once).
 */
export function hostNameSpanOfLine(bytes: Uint8Array, start: number, end: number, span: NameSpan): boolean {
  if (start >= end || bytes[start] !== OPEN_OBJECT) return false;
  let i = start + 1;
  for (;;) {
    const key = i;
    i = memberValueAt(bytes, i, end); // -1 also when the object ended with no host
    if (i < 0) return false;
    if (keyIs(bytes, key, HOST)) return hostObjectName(bytes, i, end, span);
    i = skipValue(bytes, i, end);
    if (i < 0) return false;
    i = skipSpace(bytes, i, end);
    if (i >= end || bytes[i] !== COMMA) return false;
    i++;
  }
}

/** The plain string `name` of the object at `i` (one `name`, no escapes), into `span`. */
function hostObjectName(bytes: Uint8Array, i: number, end: number, span: NameSpan): boolean {
  if (i >= end || bytes[i] !== OPEN_OBJECT) return false;
  let nameStart = -1;
  let nameEnd = -1;
  i++;
  for (;;) {
    i = skipSpace(bytes, i, end);
    const c = i < end ? bytes[i] : -1;
    if (c === CLOSE_OBJECT) break;
    if (c === COMMA) {
      i++;
      continue;
    }
    const key = i;
    i = memberValueAt(bytes, i, end);
    if (i < 0) return false;
    if (keyIs(bytes, key, NAME)) {
      if (nameStart >= 0 || bytes[i] !== QUOTE) return false;
      nameStart = i + 1;
      nameEnd = plainStringEnd(bytes, nameStart, end);
      if (nameEnd < 0) return false;
      i = nameEnd + 1;
    } else {
      i = skipValue(bytes, i, end);
      if (i < 0) return false;
    }
  }
  span.start = nameStart;
  span.end = nameEnd;
  return nameEnd > nameStart;
}

/**
 * Where the value of the object member at `i` begins (`"key" : value`, leading space skipped), or -1
 * when that is no member or its key holds a backslash (`ho\u0073t` is a key the walk cannot name).
 */
function memberValueAt(bytes: Uint8Array, i: number, end: number): number {
  i = skipSpace(bytes, i, end);
  if (i >= end || bytes[i] !== QUOTE) return -1;
  const keyEnd = plainStringEnd(bytes, i + 1, end);
  if (keyEnd < 0) return -1;
  const colon = skipSpace(bytes, keyEnd + 1, end);
  return colon < end && bytes[colon] === COLON ? skipSpace(bytes, colon + 1, end) : -1;
}

/** Whether the key whose member starts at `i` (after space) is exactly `word`. */
function keyIs(bytes: Uint8Array, i: number, word: readonly number[]): boolean {
  while (bytes[i] !== QUOTE) i++; // memberValueAt found the quote already
  if (bytes[i + 1 + word.length] !== QUOTE) return false; // within the line: memberValueAt found its colon after it
  for (let k = 0; k < word.length; k++) if (bytes[i + 1 + k] !== word[k]) return false;
  return true;
}

function skipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = bytes[i];
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
  return i;
}

/** The index of the quote closing a string whose text starts at `i`, or -1 at a backslash or the line's end. */
function plainStringEnd(bytes: Uint8Array, i: number, end: number): number {
  for (; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/** The index of the quote closing a string whose text starts at `i` (escapes skipped), or -1 at the line's end. */
function stringEnd(bytes: Uint8Array, i: number, end: number): number {
  for (; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/** The index just past the JSON value starting at `i`, or -1 when the line ends inside it. */
function skipValue(bytes: Uint8Array, i: number, end: number): number {
  const c = bytes[i];
  if (c === QUOTE) {
    const close = stringEnd(bytes, i + 1, end);
    return close < 0 ? -1 : close + 1;
  }
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) {
    for (; i < end; i++) {
      const d = bytes[i];
      if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || d === 32 || d === 9 || d === 10 || d === 13)
        return i;
    }
    return -1;
  }
  let depth = 0;
  for (; i < end; i++) {
    const d = bytes[i];
    if (d === QUOTE) {
      i = stringEnd(bytes, i + 1, end);
      if (i < 0) return -1;
    } else if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
    else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}
