/**
 * Proxyjacking (T1496.002) from the network side: a host relaying for others. A proxyware exit node
 * fetches many unrelated sites for paying customers, each customer's client with its own user agent
 * or TLS stack, so one host (or one process) shows outbound requests to many distinct sites from many
 * distinct client fingerprints (HTTP User-Agent, TLS JA3). A person's machine uses a handful of
 * clients; a relay uses whatever its customers send.
 *
 * Two rules, over event-time sliding windows of three sizes (`relay_window`, 6× and 36× it: 10 min,
 * 1 h, 6 h by default):
 *   bars  — a key with no history yet: `relay_destinations` sites and `relay_user_agents` clients in
 *           the shortest window (twice both: strong).
 *   surge — a key with a history (≥ 3 earlier windows of that size, quiet ones counted as zero): at
 *           least 4× its own normal (the median of those windows) in sites and in clients, at least
 *           40% of the bars in sites and half in clients, and 4× the population's normal (the median
 *           window of all keys in the data, once it has 6) — a jump for this host that is also
 *           unusual for this network. Surging in one window size is medium, in two or more strong.
 *   Once a key has a history, fan-out that is its own normal never fires: a forward proxy, NAT
 *   gateway or crawl farm is always busy, a relay is busy since it was enrolled.
 * Inbound SSH sessions to the host (Zeek ssh.log, software.log: many sources, tool clients such as
 * libssh, Go, paramiko) are remembered and reported with a relay signal as weak `inbound-access`
 * context: how the relay was likely installed, never a finding of its own.
 *
 * Deterministic and bounded: per key and window size capped site/client sets and 24 window counts;
 * population counts in capped histograms; at most MAX_KEYS keys and MAX_ACCESS_HOSTS hosts with SSH
 * context (least recently seen dropped first).
 */
import { processKeyOf } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Thresholds } from '../model/policy.js';
import type { Signal, Strength } from '../model/signal.js';
import { signalFor } from '../signals/make.js';
import { hostOfAuthority, isInternalAddress } from '../util/ip.js';
import { durationText } from '../util/time.js';

const MAX_KEYS = 8192;
/** Examples quoted in the explanation. */
const EXAMPLES = 3;
/** Two-letter country TLDs whose second level is a public suffix when it is this short (co.uk, com.au). */
const SHORT_SECOND_LEVEL = 3;
/** Window sizes as multiples of `relay_window`. */
const WINDOW_FACTORS = [1, 6, 36];
/** Earlier windows kept per key and size, and how many make a normal. */
const HISTORY = 24;
const MIN_HISTORY = 3;
/** Completed windows of all keys needed before the population has a normal. */
const MIN_POPULATION = 6;
/** How far above its own (and the population's) normal a surge must be. */
const SURGE_RATIO = 4;
/** A surge's floor as a share of the bars: 40% of `relay_destinations` sites, half of `relay_user_agents` clients. */
const SURGE_SITES_SHARE = 0.4;
const SURGE_CLIENTS_SHARE = 0.5;
const MAX_ACCESS_HOSTS = 4096;
const MAX_ACCESS_SOURCES = 1024;
const MAX_ACCESS_CLIENTS = 16;
const MAX_SOFTWARE = 4096;
/** SSH clients that are libraries and tools, not a person's ssh: what scanning bots and droppers use. */
const TOOL_CLIENT =
  /libssh|paramiko|asyncssh|jsch|\bgo\b|golang|twisted|russh|ssh2js|node-ssh|sshj|phpseclib|zgrab|nmap/i;

interface WindowTrack {
  /** site → last seen (event ms) within the window */
  sites: Map<string, number>;
  /** fingerprint (`ua:…`, `ja3:…`) → last seen */
  clients: Map<string, number>;
  /** The tumbling window (ts / size) being filled; its counts go into `history` when the next begins. */
  bucket: number | undefined;
  /** [sites, clients] of earlier windows, oldest first, quiet ones as zeros. */
  history: Array<[number, number]>;
  /** Median of `history` once it holds MIN_HISTORY windows. */
  normal: [number, number] | undefined;
}

interface RelayTrack {
  windows: WindowTrack[];
  requests: number;
  emitted: Strength | undefined;
  lastTs: number;
}

/** Completed windows of one size across all keys: counts per value (capped), for the population's median. */
export class Population {
  readonly sites: number[];
  readonly clients: number[];
  total = 0;
  private cached: [number, number] | undefined;

  constructor(
    private readonly maxSites: number,
    private readonly maxClients: number,
  ) {
    this.sites = new Array(maxSites + 1).fill(0);
    this.clients = new Array(maxClients + 1).fill(0);
  }

  add(sites: number, clients: number): void {
    this.sites[Math.min(sites, this.maxSites)]++;
    this.clients[Math.min(clients, this.maxClients)]++;
    this.total++;
    this.cached = undefined;
  }

  normal(): [number, number] | undefined {
    if (this.total < MIN_POPULATION) return undefined;
    this.cached ??= [medianOfCounts(this.sites, this.total), medianOfCounts(this.clients, this.total)];
    return this.cached;
  }
}

function medianOfCounts(counts: number[], total: number): number {
  let seen = 0;
  for (let v = 0; v < counts.length; v++) {
    seen += counts[v];
    if (seen * 2 >= total) return v;
  }
  return counts.length - 1;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1];
}

/** Inbound SSH to one host: who came in, how many logged in, with which clients. */
interface AccessTrack {
  sources: Set<string>;
  sessions: number;
  successes: number;
  clients: Map<string, number>;
  reported: number;
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

/** The site an outbound request went to: by name (HTTP Host, TLS SNI, destination.domain), else its address; an address whole. */
function siteOfEvent(event: CoalEvent): string | undefined {
  const named =
    hostOfAuthority(event.http?.request?.host) ??
    hostOfAuthority(event.tls?.client?.server_name) ??
    hostOfAuthority(event.destination?.domain);
  if (named && named.host.length <= 253) return named.address ? named.host : siteOf(named.host);
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

/** Drop entries last seen before `since`: Map order is last-seen order (events arrive time-ordered), so the stale ones lead. */
function prune(map: Map<string, number>, since: number): void {
  for (const [k, ts] of map) {
    if (ts >= since) break;
    map.delete(k);
  }
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

/** The SSH client's name as it calls itself (`SSH-2.0-libssh_0.9.6` → `libssh_0.9.6`), bounded. */
function sshClientName(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0) return undefined;
  const name = v.replace(/^SSH-[\d.]+-/i, '').trim();
  return name.length === 0 ? undefined : name.slice(0, 64);
}

export class RelayWatch {
  private readonly tracks = new Map<string, RelayTrack>();
  private populations: Population[] | undefined;
  private readonly access = new Map<string, AccessTrack>();
  /** SSH client software by address (Zeek software.log), for sessions whose log names no client. */
  private readonly software = new Map<string, string>();

  get size(): number {
    return this.tracks.size;
  }

  /** Count one outbound web request (or remember an SSH session); push a signal when the fan-out crosses a bar or surges. */
  observe(event: CoalEvent, t: Thresholds, out: Signal[]): void {
    if (event.event.action !== 'connect') return;
    if (event.network?.protocol === 'ssh') {
      this.observeSsh(event);
      return;
    }
    if (event.network?.direction === 'inbound') return;
    const fingerprint = fingerprintOf(event);
    const site = siteOfEvent(event);
    if (!fingerprint || !site) return;
    const ts = event.coalmine.ts;
    const key = processKeyOf(event) ?? `host:${event.host?.name ?? ''}`;
    const maxSites = 4 * t.relayDestinations;
    const maxClients = 4 * t.relayUserAgents;
    this.populations ??= WINDOW_FACTORS.map(() => new Population(maxSites, maxClients));
    let track = this.tracks.get(key);
    if (!track) {
      track = { windows: WINDOW_FACTORS.map(() => newWindow()), requests: 0, emitted: undefined, lastTs: ts };
      if (this.tracks.size >= MAX_KEYS) {
        const oldest = this.tracks.keys().next();
        if (!oldest.done) this.tracks.delete(oldest.value);
      }
    } else {
      this.tracks.delete(key);
      // quiet for longer than the short window: the next crossing is news again
      if (ts - track.lastTs > t.relayWindowMs) track.emitted = undefined;
    }
    this.tracks.set(key, track);
    if (ts > track.lastTs) track.lastTs = ts;
    track.requests++;

    const surges: string[] = [];
    let bars: Strength | undefined;
    for (let i = 0; i < WINDOW_FACTORS.length; i++) {
      const size = t.relayWindowMs * WINDOW_FACTORS[i];
      const w = track.windows[i];
      this.rotate(w, ts, size, this.populations[i]);
      touch(w.sites, site, ts, maxSites);
      touch(w.clients, fingerprint, ts, maxClients);
      prune(w.sites, ts - size);
      prune(w.clients, ts - size);
      const sites = w.sites.size;
      const clients = w.clients.size;
      if (i === 0 && w.normal === undefined)
        bars =
          sites >= 2 * t.relayDestinations && clients >= 2 * t.relayUserAgents
            ? 'strong'
            : sites >= t.relayDestinations && clients >= t.relayUserAgents
              ? 'medium'
              : undefined;
      if (w.normal === undefined) continue;
      const known = this.populations[i].normal();
      const population = known ?? [0, 0];
      const surge =
        sites >= Math.max(Math.ceil(SURGE_SITES_SHARE * t.relayDestinations), SURGE_RATIO * w.normal[0]) &&
        clients >= Math.max(Math.ceil(SURGE_CLIENTS_SHARE * t.relayUserAgents), SURGE_RATIO * w.normal[1]) &&
        sites >= SURGE_RATIO * population[0] &&
        clients >= SURGE_RATIO * population[1];
      if (surge)
        surges.push(
          `${sites} sites and ${clients} clients within ${durationText(size, 'long')} against its normal of ${w.normal[0]} and ${w.normal[1]} (median of ${w.history.length} earlier windows; ${known ? `the population's ${known[0]} and ${known[1]}` : 'no population normal yet'})`,
        );
    }
    const bySurge: Strength | undefined = surges.length >= 2 ? 'strong' : surges.length === 1 ? 'medium' : undefined;
    const strength = bySurge === 'strong' || bars === 'strong' ? 'strong' : (bySurge ?? bars);
    if (!strength || strength === track.emitted || track.emitted === 'strong') return;
    track.emitted = strength;
    const who = event.process?.name ?? event.process?.executable ?? event.host?.name ?? 'this host';
    const w0 = track.windows[0];
    const fetched =
      surges.length > 0
        ? `${who} fetched ${surges.join('; and ')}`
        : `${who} fetched ${w0.sites.size} distinct sites with ${w0.clients.size} different client fingerprints within ${durationText(t.relayWindowMs, 'long')}`;
    const largest = track.windows[track.windows.length - 1];
    out.push(
      signalFor(event, {
        kind: 'proxy-relay',
        class: 'network',
        strength,
        by: surges.length > 0 ? 'engine:relay-surge' : 'engine:relay-fanout',
        explanation: `${fetched}: a host relaying requests for others, as proxyware exit nodes do (forward proxies and NAT gateways look alike: allowlist them); e.g. sites ${shown(largest.sites.keys(), 0)}; clients ${shown(largest.clients.keys(), 3)}`,
      }),
    );
    const context = event.host?.name ? this.accessContext(event.host.name) : undefined;
    if (context)
      out.push(
        signalFor(event, {
          kind: 'inbound-access',
          class: 'authorization',
          strength: 'weak',
          by: 'engine:relay-access',
          explanation: context,
        }),
      );
  }

  /** A new tumbling window of this size began: the one before goes into the key's history and the population. */
  private rotate(w: WindowTrack, ts: number, size: number, population: Population): void {
    const bucket = Math.floor(ts / size);
    if (w.bucket === undefined) w.bucket = bucket;
    if (bucket <= w.bucket) return;
    // what was seen since the finished window began is exactly that window's fan-out
    prune(w.sites, w.bucket * size);
    prune(w.clients, w.bucket * size);
    w.history.push([w.sites.size, w.clients.size]);
    population.add(w.sites.size, w.clients.size);
    for (let quiet = Math.min(bucket - w.bucket - 1, HISTORY); quiet > 0; quiet--) w.history.push([0, 0]);
    if (w.history.length > HISTORY) w.history.splice(0, w.history.length - HISTORY);
    w.bucket = bucket;
    if (w.history.length >= MIN_HISTORY)
      w.normal = [median(w.history.map((h) => h[0])), median(w.history.map((h) => h[1]))];
  }

  /** An SSH session (Zeek ssh.log) or SSH client software (software.log): inbound ones are remembered per host. */
  private observeSsh(event: CoalEvent): void {
    const src = event.source?.ip;
    const client = sshClientName(event.user_agent?.original);
    if (event.destination?.ip === undefined) {
      // software.log: which client an address runs
      if (src && client) {
        this.software.delete(src);
        this.software.set(src, client);
        if (this.software.size > MAX_SOFTWARE) this.software.delete(this.software.keys().next().value as string);
      }
      return;
    }
    const host = event.host?.name;
    const dst = event.destination.ip;
    const inbound =
      event.network?.direction === 'inbound' ||
      (event.network?.direction === undefined &&
        (dst === host || (src !== undefined && !isInternalAddress(src) && isInternalAddress(dst))));
    if (!host || !src || !inbound) return;
    let a = this.access.get(host);
    if (!a) {
      a = { sources: new Set(), sessions: 0, successes: 0, clients: new Map(), reported: 0 };
      if (this.access.size >= MAX_ACCESS_HOSTS) this.access.delete(this.access.keys().next().value as string);
    } else this.access.delete(host);
    this.access.set(host, a);
    a.sessions++;
    if (event.event.outcome === 'success') a.successes++;
    if (a.sources.size < MAX_ACCESS_SOURCES) a.sources.add(src);
    const name = client ?? this.software.get(src);
    if (name && (a.clients.has(name) || a.clients.size < MAX_ACCESS_CLIENTS))
      a.clients.set(name, (a.clients.get(name) ?? 0) + 1);
  }

  /** The inbound SSH seen on a host, as one line of context; undefined when there is none new since the last report. */
  private accessContext(host: string): string | undefined {
    const a = this.access.get(host);
    if (!a || a.sessions === a.reported) return undefined;
    a.reported = a.sessions;
    const clients = [...a.clients].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const tools = clients.filter(([name]) => TOOL_CLIENT.test(name));
    const shownClients = clients
      .slice(0, 4)
      .map(([name, n]) => `${name} ×${n}`)
      .join(', ');
    const sources = a.sources.size >= MAX_ACCESS_SOURCES ? `${MAX_ACCESS_SOURCES}+` : String(a.sources.size);
    return `${host} took ${a.sessions} inbound SSH sessions from ${sources} sources (${a.successes} logged in)${shownClients ? `, clients ${shownClients}` : ''}${tools.length > 0 ? ': tool clients (libraries, not a person’s ssh), as bots that install proxyware use' : ''} (context for the relay: how it was likely installed)`;
  }
}

function newWindow(): WindowTrack {
  return { sites: new Map(), clients: new Map(), bucket: undefined, history: [], normal: undefined };
}
