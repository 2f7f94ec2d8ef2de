/**
 * The partitioning rule: which correlation unit an event's state belongs to, written once for every
 * way the engine is split (`hunt --workers`, and the scale-out workers of issue 17). The engine's
 * state is per host except where it joins across hosts, so an event's key is
 *   `host:NAME`               an event of one named host that touches nothing shared (the common case);
 *   `cloud:PROVIDER:ACCOUNT`  a cloud record or an event stamped with a cloud instance: launches,
 *                             instances and the principal's history join within an account (AN0744);
 *   `k8s:CLUSTER`             an event naming a container, pod or Kubernetes object: workloads span
 *                             nodes, and creator and image baselines are per cluster (AN0745);
 *   `addr:IP`                 a record naming no host but an address: it is joined to its host by
 *                             address (host-by-ip.ts), which only a host-by-address map shared by all
 *                             can do (naming neither, it is the unknown host's: `host:` that name);
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

/** The correlation unit an event belongs to. Pure; reads only fields, never mutates the event. */
export function partitionRouteOf(event: CoalEvent): PartitionRoute {
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
  if (host) return { scope: 'host', key: `host:${part(host)}` };
  // host-by-ip.ts names a host-less event's host from its addresses; with none it stays the unknown host's
  const address = event.source?.ip ?? event.destination?.ip;
  return address ? { scope: 'addr', key: `addr:${part(address)}` } : { scope: 'host', key: `host:${UNKNOWN_HOST}` };
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

/** Which of `workers` owns a key's partition. */
export function workerOf(key: string, workers: number): number {
  return partitionOf(key) % workers;
}
