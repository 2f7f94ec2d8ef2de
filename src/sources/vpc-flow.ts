/**
 * AWS VPC Flow Logs in their text forms: the default (version 2) format, and custom formats (v3–v10
 * fields: vpc-id, instance-id, tcp-flags, pkt-srcaddr/pkt-dstaddr, region, flow-direction, …) read by
 * the header line of field names S3 delivery writes at the top of every `.log.gz` object (again after
 * each header when objects are concatenated). Without a header a record must be in the default format:
 * CloudWatch Logs holds no header, so its forms (export lines with a time before the record,
 * filter-log-events output, `{"message": …}` lines; see cloudwatch-logs.ts) are read as default records.
 * `-` is an absent field. One `connect` per connection (`ConnectionJoin`): a connection's egress and
 * ingress records, and those of its successive capture windows, are joined within the file (bounded),
 * turned to run client → server (SYN / SYN-ACK in tcp-flags, else the ports), each side's bytes on the
 * side that sent them; ACCEPT/REJECT as the outcome.
 * NODATA and SKIPDATA records carry no flow and are counted unused. A record naming its instance is
 * that instance's (host.name, cloud.instance.id); else it names its network interface and the engine
 * joins it by address. A file's events are given in time order (bounded, `time-order.ts`): an S3 object
 * holds each interface's records of a window together, not the windows in order.
 */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { isInternalAddress } from '../util/ip.js';
import { parseTimestamp } from '../util/time.js';
import { instanceIdOf } from './aws-ids.js';
import { firstLogMessage, type LogMessage, logMessages } from './cloudwatch-logs.js';
import { ipOf, portOf, serverByPorts, swapEnds } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

const FORMAT = 'vpc-flow';
const CODE = 'VPC_FLOW';
/** The default format, in order: every version 2 field. */
export const DEFAULT_FIELDS = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
] as const;
/** Every field a custom format may name (AWS VPC user guide, "Available fields"), by version. */
const KNOWN_FIELDS = new Set<string>([
  ...DEFAULT_FIELDS,
  // v3
  'vpc-id',
  'subnet-id',
  'instance-id',
  'tcp-flags',
  'type',
  'pkt-srcaddr',
  'pkt-dstaddr',
  // v4
  'region',
  'az-id',
  'sublocation-type',
  'sublocation-id',
  // v5
  'pkt-src-aws-service',
  'pkt-dst-aws-service',
  'flow-direction',
  'traffic-path',
  // v7
  'ecs-cluster-arn',
  'ecs-cluster-name',
  'ecs-container-instance-arn',
  'ecs-container-instance-id',
  'ecs-container-id',
  'ecs-second-container-id',
  'ecs-service-name',
  'ecs-task-definition-arn',
  'ecs-task-arn',
  'ecs-task-id',
  // v8 and later
  'reject-reason',
  'resource-id',
  'encryption-status',
]);
/** No format has more fields than AWS offers; a longer "header" or row is not this log. */
const MAX_FIELDS = 64;
const MAX_VALUE_CHARS = 512;
/** A field name as a header writes it. */
const FIELD_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+){1,2}-\d{1,2}$/;
/** Where S3 delivery names the region: `AWSLogs/<account>/vpcflowlogs/<region>/…` and `<account>_vpcflowlogs_<region>_…`. */
const REGION_IN_PATH = /(?:^|[/_])vpcflowlogs[/_]([a-z]{2}(?:-[a-z]+){1,2}-\d{1,2})(?:[/_]|$)/;
const UNSIGNED = /^\d{1,18}$/;
/** IANA protocol numbers of the transports a flow names. */
const TRANSPORTS: Record<number, string> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  58: 'ipv6-icmp',
  132: 'sctp',
};
const SYN = 0x02;
/** AWS reports ACK only together with SYN: 18 is SYN-ACK, the server's answer. */
const SYN_ACK = 0x12;
const BATCH_EVENTS = 1000;
/** Connections a file holds open to join their records (the oldest is given when over). */
const MAX_OPEN_CONNECTIONS = 65_536;
/**
 * Records of one connection at most this far apart are one flow: a capture window is at most 10
 * minutes, and a window in which the connection sent nothing writes no record.
 */
const MAX_WINDOW_GAP_MS = 10 * 60_000;

/** The fields of one record by name, `-` (absent) left out. */
type FlowRecord = Map<string, string>;

interface Header {
  fields: string[];
  line: number;
  /** Why the records under this header cannot be flows (no addresses, no time), reported once on the header. */
  unusable?: string;
}

/** Whether a line is a header: field names only, most of them ones AWS defines (records hold values, `2`, `ACCEPT`, `eni-…`). */
export function isHeaderLine(text: string): boolean {
  const names = text.trim().split(' ', MAX_FIELDS + 1);
  if (names.length > MAX_FIELDS || !names.every((n) => FIELD_NAME.test(n))) return false;
  const known = names.filter((n) => KNOWN_FIELDS.has(n)).length;
  return known >= 2 && known * 2 >= names.length;
}

/** Whether a line reads as a default-format record: version, account, interface, two addresses, … (for sniffing). */
export function isDefaultRecord(text: string): boolean {
  const v = text.trim().split(' ', DEFAULT_FIELDS.length + 1);
  if (v.length !== DEFAULT_FIELDS.length) return false;
  const status = v[13];
  if (status === 'NODATA' || status === 'SKIPDATA')
    return /^\d{1,2}$/.test(v[0]) && (ACCOUNT.test(v[1]) || v[1] === 'unknown');
  return (
    /^\d{1,2}$/.test(v[0]) &&
    (ACCOUNT.test(v[1]) || v[1] === 'unknown') &&
    ipOf(v[3]) !== undefined &&
    ipOf(v[4]) !== undefined &&
    (v[12] === 'ACCEPT' || v[12] === 'REJECT') &&
    status === 'OK'
  );
}

function headerOf(text: string, line: number): { header: Header; unknown: string[] } {
  const fields = text.trim().split(' ', MAX_FIELDS);
  const header: Header = { fields, line };
  const has = (f: string) => fields.includes(f);
  if (!(has('srcaddr') || has('pkt-srcaddr')) || !(has('dstaddr') || has('pkt-dstaddr')))
    header.unusable = 'the header names no source and destination address: its records carry no flow';
  else if (!has('start') && !has('end'))
    header.unusable = 'the header names neither start nor end: its records have no time';
  return { header, unknown: fields.filter((f) => !KNOWN_FIELDS.has(f)) };
}

/** The region an S3 object's path names, when it does. */
function regionOfPath(input: Pick<SourceInput, 'name' | 'relPath'>): string | undefined {
  const m = REGION_IN_PATH.exec((input.relPath ?? input.name).slice(-512));
  return m?.[1];
}

/** A field as an unsigned integer no larger than `max`; undefined when absent, a string saying why when bad. */
function unsignedOf(r: FlowRecord, field: string, max: number): number | undefined | string {
  const v = r.get(field);
  if (v === undefined) return undefined;
  if (!UNSIGNED.test(v) || Number(v) > max)
    return `${field} ${JSON.stringify(clip(v, 40))} is not a number up to ${max}`;
  return Number(v);
}

function timeOf(r: FlowRecord, field: 'start' | 'end'): number | undefined | string {
  const v = r.get(field);
  if (v === undefined) return undefined;
  const ts = UNSIGNED.test(v) ? parseTimestamp(Number(v)) : undefined;
  return ts ?? `${field} ${JSON.stringify(clip(v, 40))} is not a time (epoch seconds)`;
}

/**
 * Whether the record's sender opened the connection: a SYN without ACK says yes, a SYN-ACK no; with
 * neither (a flow already open when the window began, UDP, ICMP) the ports decide, and when they do
 * not the sender is taken as the client.
 */
function senderIsClient(flags: number | undefined, srcPort: number | undefined, dstPort: number | undefined): boolean {
  if (flags !== undefined && (flags & SYN_ACK) === SYN_ACK) return false;
  if (flags !== undefined && (flags & SYN) !== 0) return true;
  return serverByPorts(srcPort, dstPort) !== 'a';
}

/**
 * Whether the record's sender is the interface's own side: flow-direction says (egress: it sent), unless
 * the interface only relays the flow (a NAT gateway's: pkt-srcaddr/pkt-dstaddr differ from
 * srcaddr/dstaddr); then, and without flow-direction, the one private address of the two real ends is
 * the local one (VPC addresses are private; the public side is the internet's). Undefined when both or
 * neither are private.
 */
function senderIsLocal(
  r: FlowRecord,
  senderIp: string | undefined,
  receiverIp: string | undefined,
): boolean | undefined {
  const relayed =
    (r.has('pkt-srcaddr') && r.get('pkt-srcaddr') !== r.get('srcaddr')) ||
    (r.has('pkt-dstaddr') && r.get('pkt-dstaddr') !== r.get('dstaddr'));
  const direction = r.get('flow-direction');
  if (!relayed && direction === 'egress') return true;
  if (!relayed && direction === 'ingress') return false;
  if (senderIp === undefined || receiverIp === undefined) return undefined;
  const senderPrivate = isInternalAddress(senderIp);
  return senderPrivate === isInternalAddress(receiverIp) ? undefined : senderPrivate;
}

interface Where {
  file: string;
  line: number;
  region?: string;
}

/** What one record says of its connection, to join it with the connection's other records. */
export interface FlowSide {
  /** The connection: interface, protocol, action and both ends (in either order). */
  key: string;
  sender: string;
  receiver: string;
  senderPort?: number;
  receiverPort?: number;
  /** tcp-flags say who opened: SYN, the sender; SYN-ACK, the receiver. */
  openedBy?: 'sender' | 'receiver';
  start: number;
  end: number;
  bytes: number;
  packets: number;
}

/**
 * One record as an event, `unused` (no flow: NODATA, SKIPDATA, no addresses), or why it is bad;
 * `side` receives what the record says of its connection when it is an event.
 */
export function flowEvent(
  r: FlowRecord,
  where: Where,
  logTs?: number,
  side?: (s: FlowSide) => void,
): CoalEvent | 'unused' | string {
  const status = r.get('log-status');
  if (status === 'NODATA' || status === 'SKIPDATA') return 'unused';
  if (status !== undefined && status !== 'OK')
    return `log-status ${JSON.stringify(clip(status, 40))} is not OK, NODATA or SKIPDATA`;
  const action = r.get('action');
  if (action !== undefined && action !== 'ACCEPT' && action !== 'REJECT')
    return `action ${JSON.stringify(clip(action, 40))} is not ACCEPT or REJECT`;
  const addresses: Record<string, string | undefined> = {};
  for (const field of ['srcaddr', 'dstaddr', 'pkt-srcaddr', 'pkt-dstaddr']) {
    const v = r.get(field);
    if (v === undefined) continue;
    addresses[field] = ipOf(v);
    if (addresses[field] === undefined) return `${field} ${JSON.stringify(clip(v, 64))} is not an IP address`;
  }
  // pkt-* name the real ends where an intermediate (a NAT gateway, a pod's secondary address) stands in srcaddr/dstaddr
  const senderIp = addresses['pkt-srcaddr'] ?? addresses.srcaddr;
  const receiverIp = addresses['pkt-dstaddr'] ?? addresses.dstaddr;
  if (senderIp === undefined && receiverIp === undefined) return 'unused';
  const numbers: Record<string, number | undefined> = {};
  for (const [field, max] of [
    ['srcport', 65535],
    ['dstport', 65535],
    ['protocol', 255],
    ['packets', Number.MAX_SAFE_INTEGER],
    ['bytes', Number.MAX_SAFE_INTEGER],
    ['tcp-flags', 0xffff],
  ] as const) {
    const n = unsignedOf(r, field, max);
    if (typeof n === 'string') return n;
    numbers[field] = n;
  }
  const start = timeOf(r, 'start');
  if (typeof start === 'string') return start;
  const end = timeOf(r, 'end');
  if (typeof end === 'string') return end;
  const ts = start ?? end ?? logTs;
  if (ts === undefined) return 'no start or end time';
  const instanceText = r.get('instance-id');
  const instance = instanceIdOf(instanceText);
  if (instanceText !== undefined && instance === undefined)
    return `instance-id ${JSON.stringify(clip(instanceText, 40))} is not an instance id`;
  const account = r.get('account-id');
  if (account !== undefined && account !== 'unknown' && !ACCOUNT.test(account))
    return `account-id ${JSON.stringify(clip(account, 40))} is not an account id`;
  const region = r.get('region');
  if (region !== undefined && !REGION.test(region)) return `region ${JSON.stringify(clip(region, 40))} is not a region`;

  const srcPort = portOf(numbers.srcport);
  const dstPort = portOf(numbers.dstport);
  const sender = { ...(senderIp !== undefined && { ip: senderIp }), ...(srcPort !== undefined && { port: srcPort }) };
  const receiver = {
    ...(receiverIp !== undefined && { ip: receiverIp }),
    ...(dstPort !== undefined && { port: dstPort }),
  };
  const bytes = numbers.bytes;
  const protocol = numbers.protocol;
  const byClient = senderIsClient(protocol === 6 ? numbers['tcp-flags'] : undefined, srcPort, dstPort);
  const e: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection', action === 'REJECT' ? 'denied' : 'allowed'],
      action: 'connect',
      dataset: `${FORMAT}.flow`,
    },
    original: Object.fromEntries(r),
    coalmine: { ts, format: FORMAT, ref: { file: where.file, line: where.line } },
  };
  if (action !== undefined) e.event.outcome = action === 'ACCEPT' ? 'success' : 'failure';
  if (bytes !== undefined) Object.assign(sender, { bytes });
  const client = byClient ? sender : receiver;
  const server = byClient ? receiver : sender;
  if (Object.keys(client).length > 0) e.source = client;
  if (Object.keys(server).length > 0) e.destination = server;
  const network: NonNullable<CoalEvent['network']> = {};
  if (protocol !== undefined) network.transport = TRANSPORTS[protocol] ?? String(protocol);
  if (bytes !== undefined) network.bytes = bytes;
  if (numbers.packets !== undefined) network.packets = numbers.packets;
  const local = senderIsLocal(r, senderIp, receiverIp);
  if (local !== undefined) network.direction = local === byClient ? 'outbound' : 'inbound';
  else if (
    senderIp !== undefined &&
    receiverIp !== undefined &&
    isInternalAddress(senderIp) &&
    isInternalAddress(receiverIp)
  )
    network.direction = 'internal';
  if (Object.keys(network).length > 0) e.network = network;
  const flow: NonNullable<CoalEvent['coalmine']['flow']> = {};
  // the capture window the record aggregates (at most 10 minutes, 1 on Nitro instances)
  if (start !== undefined && end !== undefined && end >= start) flow.durationMs = end - start;
  if (bytes !== undefined) flow[byClient ? 'clientBytes' : 'serverBytes'] = bytes;
  if (Object.keys(flow).length > 0) e.coalmine.flow = flow;
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'aws' };
  if (account !== undefined && account !== 'unknown') cloud.account = { id: account };
  const inRegion = region ?? where.region;
  if (inRegion !== undefined) cloud.region = inRegion;
  if (instance !== undefined) {
    cloud.instance = { id: instance };
    e.host = { name: instance };
  } else {
    const eni = r.get('interface-id');
    if (eni !== undefined) cloud.network_interface = eni;
  }
  e.cloud = cloud;
  if (side !== undefined) {
    const flags = protocol === 6 ? numbers['tcp-flags'] : undefined;
    const sender = `${senderIp ?? ''}:${srcPort ?? ''}`;
    const receiver = `${receiverIp ?? ''}:${dstPort ?? ''}`;
    const ends = sender < receiver ? `${sender}|${receiver}` : `${receiver}|${sender}`;
    const s: FlowSide = {
      key: `${r.get('interface-id') ?? instance ?? ''}|${protocol ?? ''}|${action ?? ''}|${ends}`,
      sender,
      receiver,
      start: start ?? ts,
      end: end ?? start ?? ts,
      bytes: bytes ?? 0,
      packets: numbers.packets ?? 0,
    };
    if (srcPort !== undefined) s.senderPort = srcPort;
    if (dstPort !== undefined) s.receiverPort = dstPort;
    if (flags !== undefined && (flags & SYN_ACK) === SYN_ACK) s.openedBy = 'receiver';
    else if (flags !== undefined && (flags & SYN) !== 0) s.openedBy = 'sender';
    side(s);
  }
  return e;
}

/** One connection's records joined so far. */
interface OpenConnection {
  event: CoalEvent;
  /** The event's client end as first turned, `ip:port`. */
  client: string;
  ends: Map<string, { port?: number; bytes: number; packets: number; sent: boolean }>;
  openedBy?: string;
  start: number;
  end: number;
  records: number;
}

/**
 * One connection, one event: the records of one connection on one interface (the instance's egress
 * record and the reply's ingress one, and those of the capture windows after) are joined within the
 * file, bounded, into one `connect` at its first start with each side's bytes and packets and the
 * duration they span. Who opened it: a SYN or SYN-ACK in any record, else the ports' rank (a pool's
 * port serves), else the first record's sender.
 */
export class ConnectionJoin {
  private readonly open = new Map<string, OpenConnection>();

  constructor(private readonly limit = MAX_OPEN_CONNECTIONS) {}

  /** Takes a record's event; gives back the connections it closed (another of the same ends later, or over the bound). */
  take(e: CoalEvent, s: FlowSide): CoalEvent[] {
    const held = this.open.get(s.key);
    if (held !== undefined && s.start <= held.end + MAX_WINDOW_GAP_MS && s.end >= held.start - MAX_WINDOW_GAP_MS) {
      add(held, s);
      return [];
    }
    const out: CoalEvent[] = [];
    if (held !== undefined) {
      this.open.delete(s.key);
      out.push(finish(held));
    }
    const client = `${e.source?.ip ?? ''}:${e.source?.port ?? ''}`;
    const conn: OpenConnection = { event: e, client, ends: new Map(), start: s.start, end: s.end, records: 0 };
    add(conn, s);
    this.open.set(s.key, conn);
    if (this.open.size > this.limit) {
      const [oldestKey, oldest] = this.open.entries().next().value as [string, OpenConnection];
      this.open.delete(oldestKey);
      out.push(finish(oldest));
    }
    return out;
  }

  /** Every connection still open at the end of the file. */
  flush(): CoalEvent[] {
    const out = [...this.open.values()].map(finish);
    this.open.clear();
    return out;
  }
}

function add(conn: OpenConnection, s: FlowSide): void {
  conn.records++;
  conn.start = Math.min(conn.start, s.start);
  conn.end = Math.max(conn.end, s.end);
  const sender = conn.ends.get(s.sender) ?? { bytes: 0, packets: 0, sent: false };
  if (s.senderPort !== undefined) sender.port = s.senderPort;
  sender.bytes += s.bytes;
  sender.packets += s.packets;
  sender.sent = true;
  conn.ends.set(s.sender, sender);
  if (!conn.ends.has(s.receiver))
    conn.ends.set(s.receiver, {
      bytes: 0,
      packets: 0,
      sent: false,
      ...(s.receiverPort !== undefined && { port: s.receiverPort }),
    });
  if (conn.openedBy === undefined && s.openedBy !== undefined)
    conn.openedBy = s.openedBy === 'sender' ? s.sender : s.receiver;
}

/** The joined event: turned client → server as the records say, with both sides' bytes and the span. */
function finish(conn: OpenConnection): CoalEvent {
  const e = conn.event;
  if (conn.records === 1 || conn.ends.size !== 2) return e;
  const [[a, endA], [b, endB]] = [...conn.ends.entries()];
  const byPorts = serverByPorts(endA.port, endB.port);
  const client = conn.openedBy ?? (byPorts === 'a' ? b : byPorts === 'b' ? a : conn.client);
  if (client !== conn.client) swapEnds(e);
  const server = client === a ? b : a;
  const fromClient = conn.ends.get(client);
  const fromServer = conn.ends.get(server);
  const flow: NonNullable<CoalEvent['coalmine']['flow']> = { durationMs: conn.end - conn.start };
  if (fromClient?.sent) flow.clientBytes = fromClient.bytes;
  if (fromServer?.sent) flow.serverBytes = fromServer.bytes;
  // each end's bytes are what it sent over every record
  for (const [end, sent] of [
    [e.source, flow.clientBytes],
    [e.destination, flow.serverBytes],
  ] as const) {
    if (end === undefined) continue;
    if (sent !== undefined) end.bytes = sent;
    else delete end.bytes;
  }
  e.coalmine.flow = flow;
  e.coalmine.ts = conn.start;
  e['@timestamp'] = new Date(conn.start).toISOString();
  const network = e.network ?? {};
  network.bytes = endA.bytes + endB.bytes;
  network.packets = endA.packets + endB.packets;
  e.network = network;
  return e;
}

/** A record's values by the fields its header (or the default format) names, or why they do not fit. */
function recordOf(text: string, fields: readonly string[], headerLine: number | undefined): FlowRecord | string {
  const values = text.trim().split(' ', fields.length + 1);
  if (values.length !== fields.length)
    return headerLine === undefined
      ? `${values.length > fields.length ? 'more than 14' : values.length} fields where the default format has 14 (a custom format needs its header line)`
      : `${values.length > fields.length ? 'more' : values.length} fields for the ${fields.length} the header on line ${headerLine} names`;
  const r: FlowRecord = new Map();
  for (let i = 0; i < fields.length; i++) if (values[i] !== '-') r.set(fields[i], clip(values[i], MAX_VALUE_CHARS));
  return r;
}

export const vpcFlow: SourceDescriptor = {
  name: FORMAT,
  summary:
    'AWS VPC Flow Logs: default and custom formats (header line, S3 .log.gz), and their CloudWatch Logs forms (export, filter-log-events)',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const first = firstLogMessage(head);
    if (first?.text === undefined) return 0;
    if (first.raw && isHeaderLine(first.text)) return 95;
    return isDefaultRecord(first.text) ? 85 : 0;
  },
  read(input, context) {
    return timeOrdered(readInFileOrder(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  const file = input.name;
  const region = regionOfPath(input);
  let header: Header | undefined;
  const join = new ConnectionJoin();
  let out: SourceBatch = { events: [], issues: [], unused: 0 };
  for await (const batch of logMessages(input, context, CODE)) {
    out.issues.push(...batch.issues);
    for (const m of batch.messages) {
      const where: Where = { file, line: m.line, ...(region !== undefined && { region }) };
      const verdict = readMessage(m, header, where);
      if (verdict.header !== undefined) header = verdict.header;
      if (verdict.event === 'unused') out.unused = (out.unused ?? 0) + 1;
      else if (verdict.event !== undefined && verdict.side !== undefined)
        for (const e of join.take(verdict.event, verdict.side)) out.events.push(e);
      if (verdict.issue) out.issues.push(verdict.issue);
      if (out.events.length + out.issues.length >= BATCH_EVENTS) {
        yield out;
        out = { events: [], issues: [], unused: 0 };
      }
    }
  }
  for (const e of join.flush()) out.events.push(e);
  if (out.events.length > 0 || out.issues.length > 0 || (out.unused ?? 0) > 0) yield out;
}

/** What one message is: a new header (with an issue for its unknown or missing fields), an event, unused, or an issue. */
function readMessage(
  m: LogMessage,
  header: Header | undefined,
  where: Where,
): { header?: Header; event?: CoalEvent | 'unused'; side?: FlowSide; issue?: Issue } {
  const at = { file: where.file, line: where.line };
  if (m.text === undefined) return { issue: issue(at, `${CODE}_BAD_RECORD`, 'a JSON record, not a flow log record') };
  if (isHeaderLine(m.text)) {
    const { header: next, unknown } = headerOf(m.text, m.line);
    const why = [
      ...(unknown.length > 0 ? [`unknown fields ${clip(unknown.join(', '), 200)} are read past`] : []),
      ...(next.unusable !== undefined ? [next.unusable] : []),
    ];
    return why.length > 0 ? { header: next, issue: issue(at, `${CODE}_BAD_HEADER`, why.join('; ')) } : { header: next };
  }
  if (m.cut)
    return {
      issue: issue(at, `${CODE}_TRUNCATED`, 'the file ends inside this record (no newline after it); not read'),
    };
  if (header?.unusable !== undefined) return { event: 'unused' };
  const r = recordOf(m.text, header?.fields ?? DEFAULT_FIELDS, header?.line);
  if (typeof r === 'string') return { issue: issue(at, `${CODE}_BAD_RECORD`, r) };
  let side: FlowSide | undefined;
  const e = flowEvent(r, where, m.ts, (s) => {
    side = s;
  });
  if (typeof e === 'string' && e !== 'unused') return { issue: issue(at, `${CODE}_BAD_RECORD`, e) };
  return side !== undefined ? { event: e, side } : { event: e };
}
