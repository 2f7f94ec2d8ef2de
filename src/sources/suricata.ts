/**
 * Suricata EVE JSON (`eve.json`), one object per line: flow, dns (v1 per-answer records, v2/v3 grouped
 * answers), tls, http, and alert, which is mapped as the record it rides on plus `rule`. Other event
 * types (stats, fileinfo, anomaly, …) are counted as unused. Network logs know no host: only the hint.
 */
import { isIP } from 'node:net';
import type { CoalEvent, EventAction } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import {
  addHttp,
  addTls,
  endpointOf,
  isObject,
  numberOf,
  portOf,
  serverByPorts,
  swapEnds,
  textOf,
} from './net-fields.js';
import type { SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;
const MAX_NAME_CHARS = 255;
const MAX_ANSWERS = 64;
const MAX_ORIGINAL_KEYS = 128;
/** `+0000` offsets, which Date.parse reads only in some engines: written as `+00:00`. */
const COMPACT_OFFSET = /([+-]\d{2})(\d{2})$/;
/** app_proto values that name no protocol. */
const NO_PROTOCOL = new Set(['failed', 'unknown']);

interface Where {
  file: string;
  line: number;
  hostHint?: string;
}

function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.length > 64) return parseTimestamp(v);
  return parseTimestamp(v.replace(COMPACT_OFFSET, '$1:$2'));
}

/** The record as kept in `original`: top-level keys bounded, long strings clipped (nested objects as read). */
function originalOf(o: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in o) {
    if (n++ >= MAX_ORIGINAL_KEYS) break;
    const v = o[key];
    out[clip(key, 128)] = typeof v === 'string' ? clip(v, 4096) : v;
  }
  return out;
}

function baseEvent(o: Obj, type: string, ts: number, action: EventAction, where: Where): CoalEvent {
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['network'],
      type: [type === 'flow' ? 'connection' : type === 'alert' ? 'indicator' : 'protocol'],
      action,
      dataset: `suricata.${type}`,
    },
    original: originalOf(o),
    coalmine: { ts, format: 'suricata', ref: { file: where.file, line: where.line } },
  };
  if (where.hostHint !== undefined) event.host = { name: clip(where.hostHint, MAX_NAME_CHARS) };
  const src = endpointOf(o.src_ip, o.src_port);
  const dst = endpointOf(o.dest_ip, o.dest_port);
  if (src) event.source = src;
  if (dst) event.destination = dst;
  const network: NonNullable<CoalEvent['network']> = {};
  const transport = textOf(o.proto, 16);
  if (transport !== undefined) network.transport = transport.toLowerCase();
  const app = textOf(o.app_proto, 32)?.toLowerCase();
  if (app !== undefined && !NO_PROTOCOL.has(app)) network.protocol = app === 'tls' || app === 'ssl' ? 'tls' : app;
  if (Object.keys(network).length > 0) event.network = network;
  return event;
}

function setProtocol(e: CoalEvent, protocol: string): void {
  e.network = { ...e.network, protocol };
}

function mapFlow(o: Obj, ts: number, where: Where, type = 'flow'): CoalEvent {
  const e = baseEvent(o, type, ts, 'connect', where);
  const f = isObject(o.flow) ? o.flow : {};
  const clientBytes = numberOf(f.bytes_toserver);
  const serverBytes = numberOf(f.bytes_toclient);
  if (e.source && clientBytes !== undefined) e.source.bytes = clientBytes;
  if (e.destination && serverBytes !== undefined) e.destination.bytes = serverBytes;
  const network = { ...e.network };
  if (clientBytes !== undefined || serverBytes !== undefined) network.bytes = (clientBytes ?? 0) + (serverBytes ?? 0);
  const toServer = numberOf(f.pkts_toserver);
  const toClient = numberOf(f.pkts_toclient);
  if (toServer !== undefined || toClient !== undefined) network.packets = (toServer ?? 0) + (toClient ?? 0);
  if (Object.keys(network).length > 0) e.network = network;
  const flow: NonNullable<CoalEvent['coalmine']['flow']> = {};
  const start = timeOf(f.start);
  const end = timeOf(f.end);
  const age = numberOf(f.age);
  if (start !== undefined && end !== undefined && end >= start) flow.durationMs = end - start;
  else if (age !== undefined && age >= 0) flow.durationMs = Math.round(age * 1000);
  if (clientBytes !== undefined) flow.clientBytes = clientBytes;
  if (serverBytes !== undefined) flow.serverBytes = serverBytes;
  if (Object.keys(flow).length > 0) e.coalmine.flow = flow;
  if (type === 'flow' && destIsClient(o)) swapEnds(e);
  return e;
}

/**
 * Whether a flow record's dest is really the client. Suricata's src is the SYN's sender when its
 * to-server flags hold a SYN; without one (joined mid-flow, one side only; and UDP, where src is
 * simply the first packet's sender) the ports decide.
 */
function destIsClient(o: Obj): boolean {
  const tcp = isObject(o.tcp) ? o.tcp : undefined;
  const toServer = textOf(tcp?.tcp_flags_ts, 8);
  const proto = textOf(o.proto, 16)?.toLowerCase();
  if (proto === 'tcp' && (toServer === undefined || !/^[0-9a-f]{1,4}$/i.test(toServer))) return false;
  if (proto === 'tcp' && (Number.parseInt(toServer ?? '0', 16) & 0x02) !== 0) return false;
  if (proto !== 'tcp' && proto !== 'udp') return false;
  return serverByPorts(portOf(o.src_port), portOf(o.dest_port)) === 'a';
}

function isAddressType(rrtype: unknown): boolean {
  return rrtype === 'A' || rrtype === 'AAAA';
}

/** Addresses the log recorded: v1 `rdata` of an A/AAAA answer, v2/v3 `answers[]` or `grouped.A/AAAA`. */
function resolvedOf(d: Obj): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    const s = textOf(v, 64);
    if (s !== undefined && isIP(s) !== 0 && out.length < MAX_ANSWERS && !out.includes(s)) out.push(s);
  };
  if (isAddressType(d.rrtype)) add(d.rdata);
  if (Array.isArray(d.answers))
    for (const a of d.answers.slice(0, MAX_ANSWERS)) if (isObject(a) && isAddressType(a.rrtype)) add(a.rdata);
  if (isObject(d.grouped))
    for (const key of ['A', 'AAAA'])
      if (Array.isArray(d.grouped[key])) for (const v of (d.grouped[key] as unknown[]).slice(0, MAX_ANSWERS)) add(v);
  return out;
}

function mapDns(o: Obj, d: Obj, ts: number, where: Where, type = 'dns'): CoalEvent | string {
  const queries = Array.isArray(d.queries) ? d.queries : [];
  const first = isObject(queries[0]) ? queries[0] : {};
  const name = textOf(d.rrname ?? first.rrname, MAX_NAME_CHARS);
  if (name === undefined) return 'dns record without rrname';
  const e = baseEvent(o, type, ts, 'dns-query', where);
  setProtocol(e, 'dns');
  e.dns = { question: { name } };
  const ips = resolvedOf(d);
  if (ips.length > 0) e.dns.resolved_ip = ips;
  // an answer travels from the resolver back to the asker: the asker is the one who looked the name up
  if (textOf(d.type, 16) === 'answer' || d.qr === true) swapEnds(e);
  return e;
}

function mapTls(o: Obj, t: Obj, ts: number, where: Where, type = 'tls'): CoalEvent {
  const e = baseEvent(o, type, ts, 'connect', where);
  setProtocol(e, 'tls');
  addTls(e, t.sni, isObject(t.ja3) ? t.ja3.hash : undefined, t.version);
  return e;
}

function mapHttp(o: Obj, h: Obj, ts: number, where: Where, type = 'http'): CoalEvent {
  const e = baseEvent(o, type, ts, 'connect', where);
  setProtocol(e, 'http');
  addHttp(e, h.http_method, h.hostname, h.url, h.http_user_agent);
  return e;
}

/** An alert rides on a transaction: its dns/tls/http object when logged with it, else the flow. */
function mapAlert(o: Obj, ts: number, where: Where): CoalEvent | string {
  const a = o.alert;
  if (!isObject(a)) return 'alert record without an alert object';
  let e: CoalEvent | string;
  if (isObject(o.dns)) e = mapDns(o, o.dns, ts, where, 'alert');
  else if (isObject(o.tls)) e = mapTls(o, o.tls, ts, where, 'alert');
  else if (isObject(o.http)) e = mapHttp(o, o.http, ts, where, 'alert');
  else e = mapFlow(o, ts, where, 'alert');
  if (typeof e === 'string') return e;
  const rule: NonNullable<CoalEvent['rule']> = {};
  const name = textOf(a.signature, 512);
  if (name !== undefined) rule.name = name;
  const id = textOf(a.signature_id, 32);
  if (id !== undefined) rule.id = id;
  const category = textOf(a.category, 256);
  if (category !== undefined) rule.category = category;
  e.rule = rule;
  return e;
}

/** One EVE record as an event, `'unused'` for an event type we do not map, or why it is not an event. */
export function suricataEvent(o: Obj, where: Where): CoalEvent | string {
  const type = o.event_type;
  if (typeof type !== 'string') return 'no event_type';
  const known = type === 'flow' || type === 'dns' || type === 'tls' || type === 'http' || type === 'alert';
  if (!known) return 'unused';
  const ts = timeOf(o.timestamp);
  if (ts === undefined) return `timestamp ${clip(JSON.stringify(o.timestamp) ?? 'is missing', 60)} is not a time`;
  if (type === 'flow') return mapFlow(o, ts, where);
  if (type === 'alert') return mapAlert(o, ts, where);
  const body = o[type];
  if (!isObject(body)) return `${type} record without a "${type}" object`;
  if (type === 'dns') return mapDns(o, body, ts, where);
  if (type === 'tls') return mapTls(o, body, ts, where);
  return mapHttp(o, body, ts, where);
}

export const suricata: SourceDescriptor = {
  name: 'suricata',
  summary: 'Suricata EVE JSON (eve.json): flow, dns, tls, http and alert records',
  platform: 'network',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) => (isObject(o) && typeof o.event_type === 'string' && typeof o.timestamp === 'string' ? 92 : 0),
      (first) => (first.includes('"event_type"') && first.includes('"timestamp"') ? 60 : 0),
    );
  },
  async *read(input, context) {
    let issues: Issue[] = [];
    const file = input.name;
    const lines = sourceLines(input, context, (i) => issues.push(i));
    for await (const batch of lines) {
      const events: CoalEvent[] = [];
      let unused = 0;
      for (let i = 0; i < batch.lines.length; i++) {
        const text = batch.lines[i];
        if (text.trim() === '') continue;
        const where: Where = { file, line: batch.lineNos[i], hostHint: input.hostHint };
        let o: unknown;
        try {
          o = JSON.parse(text);
        } catch (err) {
          issues.push(issue(where, 'SURICATA_BAD_JSON', clip((err as Error).message, 200)));
          continue;
        }
        const mapped = isObject(o) ? suricataEvent(o, where) : 'line is JSON but not an object';
        if (mapped === 'unused') unused++;
        else if (typeof mapped === 'string') issues.push(issue(where, 'SURICATA_BAD_RECORD', mapped));
        else events.push(mapped);
      }
      yield unused > 0 ? { events, issues, unused } : { events, issues };
      issues = [];
    }
    if (issues.length > 0) yield { events: [], issues };
  },
};
