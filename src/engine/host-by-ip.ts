/**
 * Network telemetry (pcap, Zeek, Suricata, flow logs) names addresses, not hosts. An event with no
 * host is given the host that owns its local address: from the inventory in `coalmine.yaml`
 * (`hosts.NAME.ips`) first, else from what earlier events showed (a host's own `host.ip`, or the local
 * side of a connection it logged). Latest wins, since DHCP moves addresses; loopback and unspecified
 * addresses name no host. Bounded.
 */
import type { CoalEvent } from '../model/event.js';

const MAX_LEARNED = 65536;
const NOT_A_HOST = /^(?:127\.|0\.0\.0\.0$|::1?$|::ffff:127\.|fe80:)/i;

export class HostByIp {
  private readonly learned = new Map<string, string>();

  constructor(private readonly inventory: Readonly<Record<string, string>>) {}

  get size(): number {
    return this.learned.size;
  }

  /** The host owning `ip`, if any is known. */
  hostOf(ip: string): string | undefined {
    const key = ip.toLowerCase();
    return Object.hasOwn(this.inventory, key) ? this.inventory[key] : this.learned.get(key);
  }

  /** Give a host-less event the host of its local side (source, else destination). Mutates the event. */
  resolve(event: CoalEvent): void {
    if (event.host?.name) return;
    const src = event.source?.ip;
    const dst = event.destination?.ip;
    const name = (src ? this.hostOf(src) : undefined) ?? (dst ? this.hostOf(dst) : undefined);
    if (name) event.host = { ...event.host, name };
  }

  learn(event: CoalEvent): void {
    const name = event.host?.name;
    if (!name) return;
    for (const ip of event.host?.ip ?? []) this.remember(ip, name);
    if (event.event.action !== 'connect') return;
    const local = event.network?.direction === 'inbound' ? event.destination?.ip : event.source?.ip;
    if (local) this.remember(local, name);
  }

  private remember(ip: string, name: string): void {
    if (ip.length > 64 || NOT_A_HOST.test(ip)) return;
    const key = ip.toLowerCase();
    if (this.learned.get(key) === name) return;
    this.learned.delete(key);
    this.learned.set(key, name);
    if (this.learned.size > MAX_LEARNED) {
      const oldest = this.learned.keys().next();
      if (!oldest.done) this.learned.delete(oldest.value);
    }
  }
}
