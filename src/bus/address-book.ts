/**
 * The host-by-address map the ingest nodes share (issue 17): telemetry that names an address and no host
 * (flow logs, Zeek, Suricata, pcap) is routed to the partition of the host owning its address, where that
 * host's own events are, so its worker's engine joins them as `hunt` does (engine/host-by-ip.ts: the
 * engine still decides, from what its partition saw; this map only decides where the event goes).
 *
 * The map is the JetStream KV bucket ADDRESS_BUCKET: key = the address (':' of IPv6 as '_', a key token),
 * value = the host. Each node keeps the whole map in memory from a watch of the bucket (every node's
 * writes reach every node), answers from the policy's inventory (`hosts.NAME.ips`) first, and writes
 * what the events it publishes show (engine/host-by-ip.ts `addressesShown`) when that changes the map:
 * latest wins, as DHCP moves addresses. Writes are coalesced per address, at most WRITES_AT_ONCE in
 * flight and MAX_PENDING waiting (past that the oldest waiting is dropped and counted); `flush` waits for
 * them (bounded), so the addresses an acked body showed are every node's before its answer. The map is a
 * routing hint: a node whose watch is behind routes by the address instead, which loses no event (the
 * worker of that partition judges it on its address, as `hunt` does an address no host is known for).
 */
import { isIP } from 'node:net';
import type { JetStreamClient } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import { addressesShown } from '../engine/host-by-ip.js';
import type { CoalEvent } from '../model/event.js';
import { clip } from '../util/hostile.js';
import { ADDRESS_BUCKET } from './contract.js';

/** Addresses held (as engine/host-by-ip.ts bounds what it learns). */
const MAX_ADDRESSES = 65_536;
const MAX_PENDING = 10_000;
const WRITES_AT_ONCE = 16;
const MAX_HOST_BYTES = 512;

/** The KV key of an address: lower-case, ':' as '_' (KV keys allow letters, digits, `-_/=.`). */
export function addressKeyOf(ip: string): string | undefined {
  if (ip.length > 64 || isIP(ip) === 0) return undefined;
  const key = ip.toLowerCase().replaceAll(':', '_');
  return /^[0-9a-f._]+$/.test(key) ? key : undefined;
}

/** The address a key names (the inverse of addressKeyOf). */
const addressOfKey = (key: string): string => key.replaceAll('_', ':');

export interface AddressBookStats {
  /** Addresses whose host this node wrote. */
  written: number;
  /** Writes that failed (the bus down): the next event showing the address writes it again. */
  failed: number;
  /** Writes dropped waiting (more than MAX_PENDING addresses changed at once). */
  dropped: number;
}

export class AddressBook {
  readonly stats: AddressBookStats = { written: 0, failed: 0, dropped: 0 };
  private readonly hosts = new Map<string, string>();
  private readonly pending = new Map<string, string>();
  private writing = 0;
  private readonly idle = new Set<() => void>();
  private closed = false;
  private stopWatch: (() => void) | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly inventory: Readonly<Record<string, string>>,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The bucket opened (made when missing, as replicated as the events stream) and watched; resolves once
   * the map as it stands has been read, or after `readyMs` (routing by address meanwhile).
   */
  static async open(
    js: JetStreamClient,
    options: {
      replicas: number;
      inventory?: Readonly<Record<string, string>>;
      readyMs?: number;
      log?: (line: string) => void;
    },
  ): Promise<AddressBook> {
    const kv = await new Kvm(js).create(ADDRESS_BUCKET, { history: 1, replicas: options.replicas });
    const inventory: Record<string, string> = {};
    for (const [ip, host] of Object.entries(options.inventory ?? {})) inventory[ip.toLowerCase()] = host;
    const book = new AddressBook(kv, inventory, options.log ?? (() => {}));
    await book.watch(options.readyMs ?? 5000);
    return book;
  }

  /** Addresses known from the bucket (the inventory aside). */
  get size(): number {
    return this.hosts.size;
  }

  /** The host owning `ip`: the inventory's, else the map's. */
  hostOf(ip: string): string | undefined {
    const key = ip.toLowerCase();
    return Object.hasOwn(this.inventory, key) ? this.inventory[key] : this.hosts.get(key);
  }

  /** What a host-named event shows of its host's addresses, written when it changes the map. */
  learn(event: CoalEvent): void {
    addressesShown(event, (ip, host) => {
      if (Object.hasOwn(this.inventory, ip) || this.hosts.get(ip) === host) return;
      if (host.length > MAX_HOST_BYTES || addressKeyOf(ip) === undefined) return;
      this.remember(ip, host);
      this.pending.delete(ip);
      this.pending.set(ip, host);
      if (this.pending.size > MAX_PENDING) {
        const oldest = this.pending.keys().next();
        if (!oldest.done) {
          this.pending.delete(oldest.value);
          this.stats.dropped++;
        }
      }
      this.write();
    });
  }

  /** Waits (at most `maxWaitMs`) until every write asked for so far is done. */
  async flush(maxWaitMs = 2000): Promise<void> {
    if (this.pending.size === 0 && this.writing === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.idle.add(done);
    });
  }

  close(): void {
    this.closed = true;
    this.stopWatch?.();
    for (const done of [...this.idle]) done();
  }

  private remember(ip: string, host: string): void {
    this.hosts.delete(ip);
    this.hosts.set(ip, host);
    if (this.hosts.size > MAX_ADDRESSES) {
      const oldest = this.hosts.keys().next();
      if (!oldest.done) this.hosts.delete(oldest.value);
    }
  }

  private write(): void {
    while (!this.closed && this.writing < WRITES_AT_ONCE && this.pending.size > 0) {
      const [ip, host] = this.pending.entries().next().value as [string, string];
      this.pending.delete(ip);
      this.writing++;
      this.kv
        .put(addressKeyOf(ip) as string, Buffer.from(host))
        .then(
          () => {
            this.stats.written++;
          },
          (err: unknown) => {
            this.stats.failed++;
            if (this.stats.failed === 1 || this.stats.failed % 1000 === 0)
              this.log(
                `coalmine serve --bus: sharing an address's host failed (${this.stats.failed} so far): ${clip(String((err as Error)?.message ?? err), 300)}`,
              );
            // shown again by a later event: it is written then (forgotten here, so that event is not skipped)
            if (this.hosts.get(ip) === host) this.hosts.delete(ip);
          },
        )
        .finally(() => {
          this.writing--;
          this.write();
          if (this.writing === 0 && this.pending.size === 0) for (const done of [...this.idle]) done();
        });
    }
  }

  /** Every node's writes into the map, the bucket's current values first. */
  private async watch(readyMs: number): Promise<void> {
    const iter = await this.kv.watch();
    this.stopWatch = () => iter.stop();
    let ready: () => void = () => {};
    const caughtUp = new Promise<void>((r) => {
      ready = r;
    });
    // the watch says when it has delivered what the bucket held at its start (delta 0 on the last)
    void (async () => {
      for await (const e of iter) {
        this.take(e);
        if (e.delta === 0) ready();
      }
    })().catch(() => {});
    const empty = (await this.kv.status()).values === 0;
    if (!empty) await Promise.race([caughtUp, new Promise((r) => setTimeout(r, readyMs).unref())]);
  }

  private take(e: KvEntry): void {
    const ip = addressOfKey(e.key);
    if (e.operation !== 'PUT') {
      this.hosts.delete(ip);
      return;
    }
    if (e.length === 0 || e.length > MAX_HOST_BYTES) return;
    this.remember(ip, Buffer.from(e.value).toString('utf8'));
  }
}
