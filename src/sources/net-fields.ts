/**
 * Field helpers shared by the network log sources (zeek, suricata): bounded text and numbers from
 * hostile records, endpoints, and the TLS / HTTP facts placed where the name signals read them.
 */
import { isIP } from 'node:net';
import type { CoalEvent, Endpoint } from '../model/event.js';
import { clip } from '../util/hostile.js';

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
  const s = textOf(v, MAX_NAME_CHARS + 8);
  if (s === undefined || s.startsWith('[') || isIP(s) !== 0) return undefined;
  const colon = s.lastIndexOf(':');
  const host = colon > 0 && /^\d{1,5}$/.test(s.slice(colon + 1)) ? s.slice(0, colon) : s;
  return host.length > 0 && host.length <= MAX_NAME_CHARS && isIP(host) === 0 ? host : undefined;
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
