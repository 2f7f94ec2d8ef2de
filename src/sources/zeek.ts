/**
 * Zeek logs (conn, dns, ssl, http, ssh, software, notice, intel), in Zeek's TSV form (`#separator`/`#fields`/`#types`
 * headers, repeated when files are concatenated) or its JSON form (one object per line). Network logs
 * know no host: `host` is only the input's hint. Other Zeek logs (files, weird, …) are counted as unused.
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
  domainOf,
  endpointOf,
  isObject,
  MAX_NAME_CHARS,
  numberOf,
  portOf,
  serverByPorts,
  swapEnds,
  textOf,
} from './net-fields.js';
import type { SourceDescriptor, SourceInput } from './types.js';

/** A record as parsed: scalars, or lists for Zeek's set/vector columns; unset columns are absent. */
export type ZeekValue = string | number | boolean | Array<string | number>;
export type ZeekRecord = Record<string, ZeekValue>;
type Log = 'conn' | 'dns' | 'ssl' | 'http' | 'ssh' | 'software' | 'notice' | 'intel';

const LOGS = new Set<string>(['conn', 'dns', 'ssl', 'http', 'ssh', 'software', 'notice', 'intel'] satisfies Log[]);
const MAX_FIELDS = 256;
const MAX_LIST = 64;
const MAX_VALUE_CHARS = 4096;
/** conn.log, conn.10:00:00-11:00:00.log, dns_20261201.log, …: the log is the file name's first word. */
const LOG_FILE = /(?:^|\/)(conn|dns|ssl|http|ssh|software|notice|intel)(?:[._-][^/]{0,200})?$/;
/** Columns Zeek declares as set/vector, for TSV files that lost their `#types` line. */
const LIST_COLUMNS = new Set(['answers', 'TTLs', 'tunnel_parents', 'actions', 'sources', 'matched', 'dropped']);

/** Zeek writes bytes it will not print (and its own separators) as `\xHH`; the bytes are UTF-8 text. */
function decodeEscapes(v: string): string {
  if (!v.includes('\\x')) return v;
  const bytes: number[] = [];
  const raw = Buffer.from(v, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === 92 && raw[i + 1] === 120 ? raw.toString('latin1', i + 2, i + 4) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else bytes.push(raw[i]);
  }
  return Buffer.from(bytes).toString('utf8');
}

function keepValue(v: unknown): ZeekValue | undefined {
  if (typeof v === 'string') return clip(v, MAX_VALUE_CHARS);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (!Array.isArray(v)) return undefined;
  const items = v.slice(0, MAX_LIST).filter((x) => typeof x === 'string' || typeof x === 'number');
  return items.map((x) => (typeof x === 'string' ? clip(x, MAX_VALUE_CHARS) : (x as number)));
}

/** A JSON record in the TSV record's shape: `id: {orig_h}` flattened, values bounded, at most MAX_FIELDS keys. */
export function flatten(o: Record<string, unknown>): ZeekRecord {
  const out: ZeekRecord = {};
  let n = 0;
  for (const key in o) {
    const v = o[key];
    const inner: Record<string, unknown> = isObject(v) ? v : { '': v };
    for (const sub in inner) {
      if (n >= MAX_FIELDS) return out;
      const kept = keepValue(inner[sub]);
      if (kept === undefined) continue;
      out[clip(sub === '' ? key : `${key}.${sub}`, 128)] = kept;
      n++;
    }
  }
  return out;
}

function listOf(v: ZeekValue | undefined): string[] {
  if (v === undefined || typeof v === 'boolean') return [];
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',', MAX_LIST) : [v];
  return items.slice(0, MAX_LIST).map(String);
}

/** Which log a JSON record belongs to, by the columns only that log has. */
export function logOfFields(r: ZeekRecord): Log | undefined {
  if (r.note !== undefined) return 'notice';
  if (r['seen.indicator'] !== undefined) return 'intel';
  if (r.query !== undefined && (r.qtype !== undefined || r.rcode !== undefined || r.trans_id !== undefined))
    return 'dns';
  if (r.server_name !== undefined || r.ja3 !== undefined || (r.cipher !== undefined && r.version !== undefined))
    return 'ssl';
  if (r.software_type !== undefined) return 'software';
  if (
    r.auth_success !== undefined ||
    r.auth_attempts !== undefined ||
    (r.client !== undefined && r.server !== undefined)
  )
    return 'ssh';
  if (r.method !== undefined || r.uri !== undefined || r.status_code !== undefined) return 'http';
  if (r.proto !== undefined && (r.conn_state !== undefined || r.history !== undefined || r.duration !== undefined))
    return 'conn';
  return undefined;
}

function logOfName(input: Pick<SourceInput, 'name' | 'relPath'>): Log | undefined {
  const m = LOG_FILE.exec((input.relPath ?? input.name).slice(-256));
  return m ? (m[1] as Log) : undefined;
}

interface Where {
  file: string;
  line: number;
  hostHint?: string;
}

/** An event, `'unused'` (a record no analytic reads), or why the record is not an event. */
type Mapped = CoalEvent | string;

function baseEvent(r: ZeekRecord, log: Log, ts: number, action: EventAction, where: Where): CoalEvent {
  const type = log === 'conn' ? 'connection' : log === 'notice' || log === 'intel' ? 'indicator' : 'protocol';
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: ['network'], type: [type], action, dataset: `zeek.${log}` },
    original: { _path: log, ...r },
    coalmine: { ts, format: 'zeek', ref: { file: where.file, line: where.line } },
  };
  if (where.hostHint !== undefined) event.host = { name: clip(where.hostHint, MAX_NAME_CHARS) };
  const src = endpointOf(r['id.orig_h'] ?? r.src, r['id.orig_p']);
  const dst = endpointOf(r['id.resp_h'] ?? r.dst, r['id.resp_p'] ?? r.p);
  if (src) event.source = src;
  if (dst) event.destination = dst;
  const transport = textOf(r.proto, 16);
  if (transport !== undefined) event.network = { transport: transport.toLowerCase() };
  return event;
}

/** ssl and http logs have no `proto` column: both ride on TCP. */
function setProtocol(e: CoalEvent, protocol: string, transport?: string): void {
  e.network = transport === undefined ? { ...e.network, protocol } : { transport, ...e.network, protocol };
}

function mapConn(r: ZeekRecord, ts: number, where: Where): Mapped {
  const e = baseEvent(r, 'conn', ts, 'connect', where);
  const clientBytes = numberOf(r.orig_bytes);
  const serverBytes = numberOf(r.resp_bytes);
  if (e.source && clientBytes !== undefined) e.source.bytes = clientBytes;
  if (e.destination && serverBytes !== undefined) e.destination.bytes = serverBytes;
  const network = { ...e.network };
  // service may list several analyzers ("ssl,http"); the first is the one that confirmed first
  const service = textOf(listOf(r.service)[0], 32);
  if (service !== undefined) network.protocol = service.toLowerCase() === 'ssl' ? 'tls' : service.toLowerCase();
  if (clientBytes !== undefined || serverBytes !== undefined) network.bytes = (clientBytes ?? 0) + (serverBytes ?? 0);
  const pkts = [numberOf(r.orig_pkts), numberOf(r.resp_pkts)];
  if (pkts[0] !== undefined || pkts[1] !== undefined) network.packets = (pkts[0] ?? 0) + (pkts[1] ?? 0);
  // local_orig/local_resp are set only when Site::local_nets is configured
  if (r.local_orig === true || r.local_orig === 'T')
    network.direction = r.local_resp === true || r.local_resp === 'T' ? 'internal' : 'outbound';
  else if (r.local_resp === true || r.local_resp === 'T') network.direction = 'inbound';
  if (Object.keys(network).length > 0) e.network = network;
  const flow: NonNullable<CoalEvent['coalmine']['flow']> = {};
  const duration = numberOf(r.duration);
  if (duration !== undefined && duration >= 0) flow.durationMs = Math.round(duration * 1000);
  if (clientBytes !== undefined) flow.clientBytes = clientBytes;
  if (serverBytes !== undefined) flow.serverBytes = serverBytes;
  if (Object.keys(flow).length > 0) e.coalmine.flow = flow;
  if (respIsClient(r)) swapEnds(e);
  return e;
}

/**
 * Whether Zeek's responder is really the client. Zeek's originator is the SYN's sender when it saw
 * one (history `S`); a responder SYN (`s` without `S`) or an originator SYN-ACK (`H`) means the roles
 * are reversed. With no handshake seen (a capture joined mid-flow, one side only: conn_state OTH)
 * the originator is just the first packet's sender, unless Zeek flipped it itself (`^`): then the
 * ports decide.
 */
function respIsClient(r: ZeekRecord): boolean {
  const history = textOf(r.history, 64);
  const state = textOf(r.conn_state, 16);
  if (history === undefined && state === undefined) return false;
  const h = history ?? '';
  if (h.includes('S')) return false;
  if (h.includes('s') || h.includes('H')) return true;
  if (h.includes('h') || h.includes('^')) return false;
  return serverByPorts(portOf(r['id.orig_p']), portOf(r['id.resp_p'])) === 'a';
}

function mapDns(r: ZeekRecord, ts: number, where: Where): Mapped {
  const query = textOf(r.query, MAX_NAME_CHARS);
  if (query === undefined) return 'no query';
  const e = baseEvent(r, 'dns', ts, 'dns-query', where);
  setProtocol(e, 'dns');
  const dns: NonNullable<CoalEvent['dns']> = { question: { name: query } };
  // answers mix addresses, CNAME targets and TXT texts; only the addresses are resolved IPs
  const ips = listOf(r.answers).filter((a) => isIP(a) !== 0);
  if (ips.length > 0) dns.resolved_ip = ips;
  e.dns = dns;
  return e;
}

/**
 * Notice and intel are another tool's detections; no EventAction means "alert", so they ride as
 * `connect` (the endpoints they name), or as `dns-query` for a domain seen in DNS. Without either they
 * carry nothing the signals can use and are counted as unused.
 */
function mapDetection(r: ZeekRecord, log: 'notice' | 'intel', ts: number, where: Where): Mapped {
  const rule: NonNullable<CoalEvent['rule']> = { category: log };
  let dnsName: string | undefined;
  let domain: string | undefined;
  if (log === 'notice') {
    const note = textOf(r.note, 128);
    if (note === undefined) return 'no note';
    rule.name = note;
  } else {
    const indicator = textOf(r['seen.indicator'], MAX_NAME_CHARS);
    const type = textOf(r['seen.indicator_type'], 64);
    if (indicator === undefined) return 'no seen.indicator';
    rule.name = type ?? 'Intel';
    const feed = textOf(listOf(r.sources)[0], 128);
    if (feed !== undefined) rule.id = feed;
    if (type === 'Intel::DOMAIN') {
      if (textOf(r['seen.where'], 64)?.startsWith('DNS::')) dnsName = indicator;
      else domain = domainOf(indicator);
    }
  }
  const hasEndpoints = r['id.resp_h'] !== undefined || r.dst !== undefined;
  if (dnsName === undefined && !hasEndpoints && domain === undefined) return 'unused';
  const e = baseEvent(r, log, ts, dnsName !== undefined ? 'dns-query' : 'connect', where);
  e.rule = rule;
  if (dnsName !== undefined) e.dns = { question: { name: dnsName } };
  if (domain !== undefined) e.destination = { ...e.destination, domain };
  return e;
}

/**
 * An SSH session: the client string (`SSH-2.0-libssh_0.9.6`) as its user agent, whether it logged
 * in as the outcome, Zeek's direction when Site::local_nets is set. The relay watch reads inbound
 * sessions as context.
 */
function mapSsh(r: ZeekRecord, ts: number, where: Where): Mapped {
  const e = baseEvent(r, 'ssh', ts, 'connect', where);
  setProtocol(e, 'ssh', 'tcp');
  const success = r.auth_success;
  e.event.outcome =
    success === true || success === 'T' ? 'success' : success === false || success === 'F' ? 'failure' : 'unknown';
  const client = textOf(r.client, 256);
  if (client !== undefined) e.user_agent = { original: client };
  const direction = textOf(r.direction, 16)?.toLowerCase();
  if (direction === 'inbound' || direction === 'outbound') e.network = { ...e.network, direction };
  return e;
}

/** Software Zeek saw an address run: only SSH clients are read (the tool a login came from); the rest is unused. */
function mapSoftware(r: ZeekRecord, ts: number, where: Where): Mapped {
  if (textOf(r.software_type, 64) !== 'SSH::CLIENT') return 'unused';
  const address = endpointOf(r.host, undefined);
  const name = textOf(r.unparsed_version, 256) ?? textOf(r.name, 128);
  if (address === undefined || name === undefined) return 'unused';
  const e = baseEvent(r, 'software', ts, 'connect', where);
  e.source = address;
  e.network = { transport: 'tcp', protocol: 'ssh' };
  e.user_agent = { original: name };
  return e;
}

/** One record of a known log as an event; a string is why it is not one. */
export function zeekEvent(r: ZeekRecord, log: string, where: Where): Mapped {
  if (!LOGS.has(log)) return 'unused';
  const ts = parseTimestamp(typeof r.ts === 'string' ? r.ts.slice(0, 64) : r.ts);
  if (ts === undefined) return `ts ${clip(JSON.stringify(r.ts) ?? 'is missing', 60)} is not a time`;
  switch (log as Log) {
    case 'conn':
      return mapConn(r, ts, where);
    case 'dns':
      return mapDns(r, ts, where);
    case 'ssh':
      return mapSsh(r, ts, where);
    case 'software':
      return mapSoftware(r, ts, where);
    case 'ssl':
    case 'http': {
      const e = baseEvent(r, log as Log, ts, 'connect', where);
      setProtocol(e, log === 'ssl' ? 'tls' : 'http', 'tcp');
      if (log === 'ssl') addTls(e, r.server_name, r.ja3, r.version);
      else addHttp(e, r.method, r.host, r.uri, r.user_agent);
      return e;
    }
    default:
      return mapDetection(r, log as 'notice' | 'intel', ts, where);
  }
}

/** The header state of one TSV log; a new `#separator` (a concatenated file) starts a fresh one. */
interface TsvHeader {
  separator: string;
  setSeparator: string;
  empty: string;
  unset: string;
  path?: string;
  fields?: string[];
  lists: boolean[];
  closed: boolean;
}

function freshHeader(separator = '\t'): TsvHeader {
  return { separator, setSeparator: ',', empty: '(empty)', unset: '-', lists: [], closed: false };
}

/** A `#…` line; returns why it is unusable, if it is. */
function readHeaderLine(text: string, h: TsvHeader): string | undefined {
  const sep = h.separator;
  const cut = text.indexOf(sep);
  const key = cut === -1 ? text : text.slice(0, cut);
  const value = cut === -1 ? '' : text.slice(cut + sep.length);
  if (key === '#set_separator') h.setSeparator = decodeEscapes(value) || ',';
  else if (key === '#empty_field') h.empty = decodeEscapes(value);
  else if (key === '#unset_field') h.unset = decodeEscapes(value);
  else if (key === '#path') h.path = clip(decodeEscapes(value), 64);
  else if (key === '#close') h.closed = true;
  else if (key === '#types')
    h.lists = value.split(sep, MAX_FIELDS).map((t) => t.startsWith('set[') || t.startsWith('vector['));
  else if (key === '#fields') {
    const fields = value.split(sep, MAX_FIELDS + 1);
    if (fields.length > MAX_FIELDS) return `#fields lists over ${MAX_FIELDS} columns`;
    h.fields = fields.map((f) => clip(decodeEscapes(f), 128));
    h.lists = h.fields.map((f) => LIST_COLUMNS.has(f));
    h.closed = false;
  }
  return undefined; // #open and comments are read past
}

function parseTsvLine(text: string, h: TsvHeader, fields: string[]): ZeekRecord | string {
  const values = text.split(h.separator, fields.length + 1);
  if (values.length !== fields.length)
    return `${values.length > fields.length ? 'more' : values.length} values for ${fields.length} #fields`;
  const r: ZeekRecord = {};
  for (let i = 0; i < fields.length; i++) {
    const v = values[i];
    if (v === h.unset) continue;
    if (h.lists[i]) {
      if (v === h.empty) r[fields[i]] = [];
      else r[fields[i]] = v.split(h.setSeparator, MAX_LIST).map((x) => clip(decodeEscapes(x), MAX_VALUE_CHARS));
    } else r[fields[i]] = v === h.empty ? '' : clip(decodeEscapes(v), MAX_VALUE_CHARS);
  }
  return r;
}

export const zeek: SourceDescriptor = {
  name: 'zeek',
  summary: 'Zeek conn, dns, ssl, http, ssh, software, notice and intel logs (TSV with #fields headers, or JSON lines)',
  platform: 'network',
  delivers: 'events',
  sniff(head, input) {
    if (head.startsWith('#separator ')) return 95;
    return sniffJsonLine(
      head,
      (o) => {
        if (!isObject(o) || o.ts === undefined || o.event_type !== undefined) return 0;
        const r = flatten(o);
        return typeof o._path === 'string' || logOfFields(r) !== undefined || (r.uid && logOfName(input)) ? 90 : 0;
      },
      (first) => (/"ts"\s*:/.test(first) && first.includes('"id.orig_h"') ? 60 : 0),
    );
  },
  async *read(input, context) {
    let issues: Issue[] = [];
    const file = input.name;
    const byName = logOfName(input);
    let header: TsvHeader | undefined;
    const lines = sourceLines(input, context, (i) => issues.push(i));
    for await (const batch of lines) {
      const events: CoalEvent[] = [];
      let unused = 0;
      for (let i = 0; i < batch.lines.length; i++) {
        const text = batch.lines[i];
        const line = batch.lineNos[i];
        if (text.trim() === '') continue;
        const where: Where = { file, line, hostHint: input.hostHint };
        if (text.startsWith('#separator ')) {
          const sep = decodeEscapes(text.slice(11));
          header = freshHeader(sep.length > 0 && sep.length <= 8 ? sep : '\t');
          if (sep.length === 0 || sep.length > 8)
            issues.push(issue(where, 'ZEEK_BAD_HEADER', 'unusable #separator; tab assumed'));
          continue;
        }
        if (text.startsWith('#')) {
          header ??= freshHeader();
          const why = readHeaderLine(text, header);
          if (why !== undefined) {
            header.fields = undefined;
            issues.push(issue(where, 'ZEEK_BAD_HEADER', why));
          }
          continue;
        }
        let record: ZeekRecord | string;
        let log: string | undefined;
        if (text.charCodeAt(0) === 123) {
          try {
            const o = JSON.parse(text) as unknown;
            record = isObject(o) ? flatten(o) : 'line is JSON but not an object';
          } catch (err) {
            issues.push(issue(where, 'ZEEK_BAD_JSON', clip((err as Error).message, 200)));
            continue;
          }
          if (typeof record !== 'string') {
            const path = textOf(record._path, 64);
            log = path ?? logOfFields(record) ?? byName;
          }
        } else if (header?.fields === undefined || header.closed) {
          const why = header?.closed ? 'data after #close without a new header' : 'data line before a #fields header';
          issues.push(issue(where, 'ZEEK_NO_HEADER', why));
          continue;
        } else {
          record = parseTsvLine(text, header, header.fields);
          if (batch.unterminated && i === batch.lines.length - 1) {
            // Zeek ends every row with a newline: a last row without one was cut, short of its columns
            // or inside its last value, which is then not read
            const last = header.fields[header.fields.length - 1];
            issues.push(
              issue(
                where,
                'ZEEK_TRUNCATED',
                typeof record === 'string'
                  ? `the file ends inside this row: ${record}`
                  : `the file ends without a newline inside ${clip(last, 64)}, which may be cut; that column is not read`,
              ),
            );
            if (typeof record === 'string') continue;
            delete record[last];
          }
          if (typeof record !== 'string') log = header.path ?? byName ?? logOfFields(record);
        }
        if (typeof record === 'string') {
          issues.push(issue(where, 'ZEEK_BAD_RECORD', record));
          continue;
        }
        const mapped = log === undefined ? 'unused' : zeekEvent(record, log, where);
        if (mapped === 'unused') unused++;
        else if (typeof mapped === 'string') issues.push(issue(where, 'ZEEK_BAD_RECORD', mapped));
        else events.push(mapped);
      }
      yield unused > 0 ? { events, issues, unused } : { events, issues };
      issues = [];
    }
    if (issues.length > 0) yield { events: [], issues };
  },
};
