/**
 * Network telemetry (pcap, Zeek, Suricata, flow logs) names addresses, not hosts. An event with no
 * host is given the host that owns its local address: from the inventory in `coalmine.yaml`
 * (`hosts.NAME.ips`) first, else from what earlier events showed (a host's own `host.ip`, or the local
 * side of a connection it logged). Latest wins, since DHCP moves addresses; loopback and unspecified
 * addresses name no host. Bounded. When nothing names the host, the event is about its local address:
 * the host is that address (an `ip` entity in findings), so network-only evidence still lands on
 * something an analyst can pivot on, and never on one shared "unknown host".
 */
import { isIP } from 'node:net';
import type { CoalEvent } from '../model/event.js';
import { isInternalAddress } from '../util/ip.js';

const MAX_LEARNED = 65536;
const NOT_A_HOST = /^(?:127\.|0\.0\.0\.0$|::1?$|::ffff:127\.|fe80:)/i;

function usable(ip: string | undefined): ip is string {
  return ip !== undefined && ip.length <= 64 && isIP(ip) !== 0 && !NOT_A_HOST.test(ip);
}

/**
 * Whether a host-less event is a host sensor's record rather than a network sensor's: it names a process
 * (pid or id), as auditd without `node=` does. Such an event is on the unnamed host its processes are on,
 * never on an address: a connection's remote end is not where the process ran, and splitting a process's
 * connections from its execs loses the pool contact. The one rule, for host-by-ip and partition.ts.
 */
export function isHostSensorRecord(event: CoalEvent): boolean {
  const p = event.process;
  return p !== undefined && (p.pid !== undefined || Boolean(p.entity_id));
}

/**
 * The address an event is about when no host is known: the side the source says is local, else the
 * internal side of a flow between an internal and an external address, else the side that opened it.
 */
export function localAddress(event: CoalEvent): string | undefined {
  const action = event.event.action;
  if (action !== 'connect' && action !== 'dns-query' && action !== 'listen') return undefined;
  const src = usable(event.source?.ip) ? event.source?.ip : undefined;
  const dst = usable(event.destination?.ip) ? event.destination?.ip : undefined;
  const direction = event.network?.direction;
  if (direction === 'inbound' || action === 'listen') return dst ?? src;
  if (direction === 'outbound') return src ?? dst;
  if (src && dst && !isInternalAddress(src) && isInternalAddress(dst)) return dst;
  return src ?? dst;
}

/**
 * The host of a host-less event by its addresses: its source's host, else its destination's (`hostOf`
 * answers an address's host when one is known). The one rule, for the engine and for the bus's ingest
 * nodes routing such an event to its host's partition.
 */
export function hostOfAddresses(event: CoalEvent, hostOf: (ip: string) => string | undefined): string | undefined {
  const src = event.source?.ip;
  const dst = event.destination?.ip;
  return (src ? hostOf(src) : undefined) ?? (dst ? hostOf(dst) : undefined);
}

/**
 * The addresses a host-named event shows to be its host's: its own `host.ip`, and the local side of a
 * connection it logged. Calls `found(ip, host)` for each usable one (bounded, not loopback or link-local).
 */
export function addressesShown(event: CoalEvent, found: (ip: string, host: string) => void): void {
  const name = event.host?.name;
  if (!name) return;
  const ips = event.host?.ip;
  if (ips) for (const ip of ips) if (typeof ip === 'string' && learnable(ip)) found(ip.toLowerCase(), name);
  // a record naming one end only (Zeek software.log: a client seen at an address) says nothing of which side is local
  if (event.event.action !== 'connect' || !event.source?.ip || !event.destination?.ip) return;
  const local = event.network?.direction === 'inbound' ? event.destination.ip : event.source.ip;
  if (local && learnable(local)) found(local.toLowerCase(), name);
}

const learnable = (ip: string): boolean => ip.length <= 64 && !NOT_A_HOST.test(ip);

export class HostByIp {
  private readonly learned = new Map<string, string>();
  private readonly remember = (key: string, name: string): void => {
    if (this.learned.get(key) === name) return;
    this.learned.delete(key);
    this.learned.set(key, name);
    if (this.learned.size > MAX_LEARNED) {
      const oldest = this.learned.keys().next();
      if (!oldest.done) this.learned.delete(oldest.value);
    }
  };

  constructor(private readonly inventory: Readonly<Record<string, string>>) {}

  get size(): number {
    return this.learned.size;
  }

  /** The host owning `ip`, if any is known. */
  hostOf(ip: string): string | undefined {
    const key = ip.toLowerCase();
    return Object.hasOwn(this.inventory, key) ? this.inventory[key] : this.learned.get(key);
  }

  /**
   * Give a host-less network record the host of its local side (source, else destination), else its
   * local address as the host; a host sensor's record stays the unnamed host's. Mutates the event.
   */
  resolve(event: CoalEvent): void {
    if (event.host?.name || isHostSensorRecord(event)) return;
    const name = hostOfAddresses(event, (ip) => this.hostOf(ip)) ?? localAddress(event);
    if (name) event.host = { ...event.host, name };
  }

  learn(event: CoalEvent): void {
    addressesShown(event, this.remember);
  }
}
