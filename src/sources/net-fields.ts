/**
 * Field helpers shared by the network log sources (zeek, suricata): bounded text and numbers from
 * hostile records, endpoints, and the TLS / HTTP facts placed where the name signals read them.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { CoalEvent, Endpoint } from '../model/event.js';
import { clip } from '../util/hostile.js';
import { hostOfAuthority } from '../util/ip.js';
import { packagePath } from '../util/package-root.js';

const MAX_VALUE_CHARS = 4096;
export const MAX_NAME_CHARS = 255;
const NUMBER = /^-?\d{1,18}(?:\.\d{1,9})?$/;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A text value, bounded; numbers as their decimal text. */
export function textOf(v: unknown, max = MAX_VALUE_CHARS): string | undefined {
  if (typeof v === 'string') return v.length === 0 ? undefined : clip(v, max);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v);
  return undefined;
}

export function portOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

export function ipOf(v: unknown): string | undefined {
  const s = textOf(v, 64);
  return s !== undefined && isIP(s) !== 0 ? s : undefined;
}

/** A host name from an SNI or Host header: port stripped; undefined for an address (the endpoint has it). */
export function domainOf(v: unknown): string | undefined {
  const authority = hostOfAuthority(textOf(v, MAX_NAME_CHARS + 8));
  if (authority === undefined || authority.address) return undefined;
  return authority.host.length <= MAX_NAME_CHARS ? authority.host : undefined;
}

/**
 * Ports pools listen on, read from the bundled intel/mining-ports.txt (sources may not import the
 * intel code, but the list is data): server ports even where they fall in the ephemeral range (33333,
 * 45560, 45700). An unreadable list leaves only the well-known range to decide by.
 */
const POOL_PORTS = bundledPoolPorts();

function bundledPoolPorts(): Set<number> {
  const ports = new Set<number>();
  try {
    const text = readFileSync(packagePath('intel', 'mining-ports.txt'), 'utf8');
    for (const line of text.split('\n', 4096)) {
      const m = /^\s*(?:port:)?(\d{1,5})\b/.exec(line);
      if (m && Number(m[1]) <= 65535) ports.add(Number(m[1]));
    }
  } catch {
    // a trimmed install without intel/: direction falls back to SYN, well-known ports and payload
  }
  return ports;
}
/** Where the ephemeral range starts on Linux (32768); IANA's and Windows' (49152) lies inside it. */
const EPHEMERAL_FROM = 32768;

/** How surely a port is a server's: 3 well-known or a pool port, 2 registered, 1 ephemeral. */
export function serverPortRank(port: number): number {
  if (port < 1024 || POOL_PORTS.has(port)) return 3;
  return port < EPHEMERAL_FROM ? 2 : 1;
}

/**
 * Which end of a flow is the server by its ports alone, when they say: `a`, `b`, or undefined when
 * both ports rank alike. For flows whose opening was not seen (a capture started mid-flow, one side
 * only), where the first packet's sender may well be the server.
 */
export function serverByPorts(a: number | undefined, b: number | undefined): 'a' | 'b' | undefined {
  if (a === undefined || b === undefined) return undefined;
  const ra = serverPortRank(a);
  const rb = serverPortRank(b);
  return ra > rb ? 'a' : rb > ra ? 'b' : undefined;
}

/** A connection event seen the wrong way round: source and destination (with their bytes) swap, and so does direction. */
export function swapEnds(e: CoalEvent): void {
  const { source, destination } = e;
  if (destination) e.source = destination;
  else delete e.source;
  if (source) e.destination = source;
  else delete e.destination;
  const flow = e.coalmine.flow;
  if (flow) {
    const { clientBytes, serverBytes } = flow;
    delete flow.clientBytes;
    delete flow.serverBytes;
    if (serverBytes !== undefined) flow.clientBytes = serverBytes;
    if (clientBytes !== undefined) flow.serverBytes = clientBytes;
  }
  const direction = e.network?.direction;
  if (e.network && (direction === 'inbound' || direction === 'outbound'))
    e.network.direction = direction === 'inbound' ? 'outbound' : 'inbound';
}

export function endpointOf(ip: unknown, port: unknown): Endpoint | undefined {
  const e: Endpoint = {};
  const addr = ipOf(ip);
  if (addr !== undefined) e.ip = addr;
  const p = portOf(port);
  if (p !== undefined) e.port = p;
  return Object.keys(e).length > 0 ? e : undefined;
}

/** TLS ClientHello facts; the SNI also as destination.domain, where the name signals look. Shared with suricata. */
export function addTls(e: CoalEvent, sni: unknown, ja3: unknown, version: unknown): void {
  const client: NonNullable<NonNullable<CoalEvent['tls']>['client']> = {};
  const name = textOf(sni, MAX_NAME_CHARS);
  if (name !== undefined) client.server_name = name;
  const hash = textOf(ja3, 64);
  if (hash !== undefined) client.ja3 = hash;
  e.tls = Object.keys(client).length > 0 ? { client } : {};
  const v = textOf(version, 32);
  if (v !== undefined) e.tls.version = v;
  const domain = domainOf(name);
  if (domain !== undefined) e.destination = { ...e.destination, domain };
}

/** HTTP request facts; a Host that is a name also as destination.domain and url.domain. Shared with suricata. */
export function addHttp(e: CoalEvent, method: unknown, host: unknown, path: unknown, agent: unknown): void {
  const request: NonNullable<NonNullable<CoalEvent['http']>['request']> = {};
  const m = textOf(method, 32);
  if (m !== undefined) request.method = m;
  const h = textOf(host, MAX_NAME_CHARS);
  if (h !== undefined) request.host = h;
  const p = textOf(path);
  if (p !== undefined) request.path = p;
  e.http = { request };
  const ua = textOf(agent);
  if (ua !== undefined) e.user_agent = { original: ua };
  const domain = domainOf(h);
  if (domain !== undefined) {
    e.destination = { ...e.destination, domain };
    e.url = { domain };
  }
}
