/**
 * Proxyjacking (T1496.002) from the network side: a host relaying for others. A proxyware exit node
 * fetches many unrelated sites for paying customers, each customer's client with its own user agent
 * or TLS stack, so within a short window one host (or one process) shows outbound requests to many
 * distinct sites from many distinct client fingerprints (HTTP User-Agent, TLS JA3). A person's
 * machine uses a handful of clients; a relay uses whatever its customers send.
 *
 * Legitimate forward proxies, NAT gateways and crawl farms look the same: the explanation says so,
 * and the allowlist is the answer for them. Needs state across events, so it lives in the engine.
 * Bounded: per key at most a few times the thresholds of sites and fingerprints, and at most
 * MAX_KEYS keys (least recently seen dropped first).
 */
import { processKeyOf } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Thresholds } from '../model/policy.js';
import type { Signal, Strength } from '../model/signal.js';
import { signalFor } from '../signals/make.js';

const MAX_KEYS = 16384;
/** Examples quoted in the explanation. */
const EXAMPLES = 3;
/** Two-letter country TLDs whose second level is a public suffix when it is this short (co.uk, com.au). */
const SHORT_SECOND_LEVEL = 3;

interface RelayTrack {
  /** site → last seen (event ms) */
  sites: Map<string, number>;
  /** fingerprint (`ua:…`, `ja3:…`) → last seen */
  clients: Map<string, number>;
  requests: number;
  emitted: Strength | undefined;
  lastTs: number;
}

/**
 * The site a name belongs to, so a page's many CDN hosts count once: the last two labels, or three
 * under a short second level of a two-letter TLD. An approximation of the public suffix list,
 * enough to tell "many unrelated sites" from "one site's many hosts".
 */
export function siteOf(name: string): string {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  if (labels.length <= 2) return labels.join('.');
  const tld = labels[labels.length - 1];
  const second = labels[labels.length - 2];
  const keep = tld.length === 2 && second.length <= SHORT_SECOND_LEVEL ? 3 : 2;
  return labels.slice(-keep).join('.');
}

function hostHeaderName(host: unknown): string | undefined {
  if (typeof host !== 'string' || host.length > 300 || host.startsWith('[')) return undefined;
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).trim() || undefined;
}

/** The site an outbound request went to: by name (HTTP Host, TLS SNI, destination.domain), else its address. */
function siteOfEvent(event: CoalEvent): string | undefined {
  const name = hostHeaderName(event.http?.request?.host) ?? event.tls?.client?.server_name ?? event.destination?.domain;
  if (typeof name === 'string' && name.length > 0 && name.length <= 253) return siteOf(name);
  const ip = event.destination?.ip;
  return typeof ip === 'string' && ip.length <= 64 ? ip : undefined;
}

/** The client software behind a request, as far as the wire shows it. */
function fingerprintOf(event: CoalEvent): string | undefined {
  const ua = event.user_agent?.original;
  if (typeof ua === 'string' && ua.length > 0) return `ua:${ua.slice(0, 256)}`;
  const ja3 = event.tls?.client?.ja3;
  if (typeof ja3 === 'string' && ja3.length > 0) return `ja3:${ja3.slice(0, 64)}`;
  return undefined;
}

function prune(map: Map<string, number>, since: number): void {
  for (const [k, ts] of map) if (ts < since) map.delete(k);
}

/** Keep at most `max` entries, dropping the least recently seen (Map order is insertion order; re-set on touch). */
function touch(map: Map<string, number>, key: string, ts: number, max: number): void {
  map.delete(key);
  map.set(key, ts);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

function shown(values: Iterable<string>, strip: number): string {
  const out: string[] = [];
  for (const v of values) {
    if (out.length >= EXAMPLES) break;
    const text = v.slice(strip);
    out.push(text.length > 48 ? `${text.slice(0, 48)}…` : text);
  }
  return out.join(', ');
}

export class RelayWatch {
  private readonly tracks = new Map<string, RelayTrack>();

  get size(): number {
    return this.tracks.size;
  }

  /** Count one outbound web request; push a signal when the window crosses the medium or strong bar. */
  observe(event: CoalEvent, t: Thresholds, out: Signal[]): void {
    if (event.event.action !== 'connect' || event.network?.direction === 'inbound') return;
    const fingerprint = fingerprintOf(event);
    const site = siteOfEvent(event);
    if (!fingerprint || !site) return;
    const ts = event.coalmine.ts;
    const key = processKeyOf(event) ?? `host:${event.host?.name ?? ''}`;
    let track = this.tracks.get(key);
    if (track && ts - track.lastTs > t.relayWindowMs) {
      this.tracks.delete(key);
      track = undefined;
    }
    if (!track) {
      track = { sites: new Map(), clients: new Map(), requests: 0, emitted: undefined, lastTs: ts };
      if (this.tracks.size >= MAX_KEYS) {
        const oldest = this.tracks.keys().next();
        if (!oldest.done) this.tracks.delete(oldest.value);
      }
    } else this.tracks.delete(key);
    this.tracks.set(key, track);
    if (ts > track.lastTs) track.lastTs = ts;
    track.requests++;
    touch(track.sites, site, ts, 4 * t.relayDestinations);
    touch(track.clients, fingerprint, ts, 4 * t.relayUserAgents);
    const since = track.lastTs - t.relayWindowMs;
    prune(track.sites, since);
    prune(track.clients, since);

    const sites = track.sites.size;
    const clients = track.clients.size;
    const strength: Strength | undefined =
      sites >= 2 * t.relayDestinations && clients >= 2 * t.relayUserAgents
        ? 'strong'
        : sites >= t.relayDestinations && clients >= t.relayUserAgents
          ? 'medium'
          : undefined;
    if (!strength || strength === track.emitted || track.emitted === 'strong') return;
    track.emitted = strength;
    const who = event.process?.name ?? event.process?.executable ?? event.host?.name ?? 'this host';
    const minutes = Math.round(t.relayWindowMs / 60000);
    out.push(
      signalFor(event, {
        kind: 'proxy-relay',
        class: 'network',
        strength,
        by: 'engine:relay-fanout',
        explanation: `${who} fetched ${sites} distinct sites with ${clients} different client fingerprints within ${minutes} minutes: a host relaying requests for others, as proxyware exit nodes do (forward proxies and NAT gateways look alike: allowlist them); e.g. sites ${shown(track.sites.keys(), 0)}; clients ${shown(track.clients.keys(), 3)}`,
      }),
    );
  }
}
