/**
 * Google Cloud VPC Flow Logs: `LogEntry` records whose `jsonPayload` holds a flow (`connection`
 * {src_ip, src_port, dest_ip, dest_port, protocol}, `reporter` SRC/DEST, `src_instance`/`dest_instance`
 * {project_id, vm_name, region, zone}, `bytes_sent`, `packets_sent`, `start_time`, `end_time`), one per
 * line (Storage sink exports, `jq -c`) or as `gcloud logging read --format=json` prints them. Each is a
 * `connect` at its start time. A record counts what its source sent, one direction: when the ports say
 * its source is the server (a pool's 3333 answering an ephemeral port), the ends are swapped so the
 * client is the source and the bytes are the server's. The host is the reporting VM
 * (`cloud.instance` = its `vm_name`: the records carry no numeric id), else the VM on either end; a
 * record naming no VM has no host (the engine joins it by address). Other log entries are counted unused.
 * A file's events are given in time order (bounded, `time-order.ts`): `gcloud logging read` prints the
 * newest entry first.
 */
import type { CoalEvent } from '../model/event.js';
import { issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { isInternalAddress } from '../util/ip.js';
import { parseTimestamp } from '../util/time.js';
import { entryTime, gcpNameOf, projectOfLogName, regionOfZone, resourceLabels } from './gcp-log.js';
import { isJsonDocument, jsonRecords } from './json-document.js';
import { sniffJsonLine } from './lines.js';
import { endpointOf, isObject, numberOf, serverByPorts, swapEnds, textOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'gcp-flow';
const CODE = 'GCP_FLOW';
const BATCH_EVENTS = 512;
/** A flow log's aggregation interval is at most 15 minutes; a longer span is no one record's. */
const MAX_FLOW_MS = 24 * 3600_000;
const PROTOCOLS: Record<number, string> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  58: 'ipv6-icmp',
  132: 'sctp',
};
const PAYLOAD_KEYS = [
  'connection',
  'reporter',
  'src_instance',
  'dest_instance',
  'src_vpc',
  'dest_vpc',
  'src_location',
  'dest_location',
  'bytes_sent',
  'packets_sent',
  'start_time',
  'end_time',
  'rtt_msec',
];

interface Vm {
  name: string;
  project?: string;
  region?: string;
  zone?: string;
}

function vmOf(v: unknown): Vm | undefined {
  if (!isObject(v)) return undefined;
  const name = gcpNameOf(v.vm_name);
  if (name === undefined) return undefined;
  const vm: Vm = { name };
  const project = gcpNameOf(v.project_id);
  if (project !== undefined) vm.project = project;
  const zone = gcpNameOf(v.zone);
  if (zone !== undefined) vm.zone = zone;
  const region = gcpNameOf(v.region) ?? (zone !== undefined ? regionOfZone(zone) : undefined);
  if (region !== undefined) vm.region = region;
  return vm;
}

/** A count GCP writes as an int64 string (or a number), or undefined. */
function countOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER ? n : undefined;
}

function transportOf(v: unknown): string | undefined {
  const n = numberOf(v);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 255) return undefined;
  return PROTOCOLS[n] ?? String(n);
}

/** One LogEntry as a connect, `'unused'` for another log's entry, or why it is not an event. */
export function gcpFlowEvent(o: Obj, file: string, line: number, hostHint?: string): CoalEvent | 'unused' | string {
  const payload = isObject(o.jsonPayload) ? o.jsonPayload : undefined;
  if (payload === undefined || !isObject(payload.connection)) {
    if (payload !== undefined || o.protoPayload !== undefined || typeof o.textPayload === 'string') return 'unused';
    return o.logName !== undefined ? 'unused' : 'no jsonPayload: not a LogEntry';
  }
  // Firewall Rules Logging writes a connection too: a rule's verdict, not a flow with its counts
  if (payload.disposition !== undefined || payload.rule_details !== undefined) return 'unused';
  const c = payload.connection;
  const source = endpointOf(c.src_ip, c.src_port);
  const destination = endpointOf(c.dest_ip, c.dest_port);
  if (source?.ip === undefined || destination?.ip === undefined)
    return 'connection has no src_ip and dest_ip addresses';
  // the flow's start is its time; a present but unreadable one is an error, not a reason to take another
  let ts: number | string;
  if (payload.start_time !== undefined) {
    const t = parseTimestamp(payload.start_time);
    ts = t ?? `start_time ${clip(JSON.stringify(payload.start_time) ?? '', 60)} is not a time`;
  } else ts = entryTime(o);
  if (typeof ts === 'string') return ts;
  const end = payload.end_time !== undefined ? parseTimestamp(payload.end_time) : undefined;

  const reporter = textOf(payload.reporter, 32);
  const srcVm = vmOf(payload.src_instance);
  const destVm = vmOf(payload.dest_instance);
  const hostVm = reporter === 'DEST' ? (destVm ?? srcVm) : (srcVm ?? destVm);
  const labels = resourceLabels(o);

  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      action: 'connect',
      dataset: `${FORMAT}.vpc_flows`,
    },
    source,
    destination,
    original: originalOf(o, payload),
    coalmine: { ts, format: FORMAT, ref: { file, line } },
  };
  const insertId = textOf(o.insertId, 128);
  if (insertId !== undefined) event.event.id = insertId;
  const network: NonNullable<CoalEvent['network']> = {};
  const transport = transportOf(c.protocol);
  if (transport !== undefined) network.transport = transport;
  const bytes = countOf(payload.bytes_sent);
  const packets = countOf(payload.packets_sent);
  if (bytes !== undefined) {
    network.bytes = bytes;
    source.bytes = bytes;
  }
  if (packets !== undefined) network.packets = packets;
  const flow: NonNullable<CoalEvent['coalmine']['flow']> = {};
  if (end !== undefined && end >= ts && end - ts <= MAX_FLOW_MS) flow.durationMs = end - ts;
  if (bytes !== undefined) flow.clientBytes = bytes;
  event.coalmine.flow = flow;

  // which end is the host's: the reporter's VM; the direction follows from where the remote end is
  const hostIsSource = hostVm !== undefined && hostVm === srcVm;
  if (hostVm !== undefined) {
    const remote = hostIsSource ? destination.ip : source.ip;
    network.direction = isInternalAddress(remote) ? 'internal' : hostIsSource ? 'outbound' : 'inbound';
  }
  event.network = network;
  // one direction of a flow: its sender is the client unless the ports say it is the server answering
  if (serverByPorts(source.port, destination.port) === 'a') swapEnds(event);

  const project = hostVm?.project ?? gcpNameOf(labels.project_id) ?? projectOfLogName(o.logName);
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'gcp' };
  if (project !== undefined) cloud.account = { id: project };
  if (hostVm !== undefined) {
    cloud.instance = { id: hostVm.name, name: hostVm.name };
    if (hostVm.region !== undefined) cloud.region = hostVm.region;
    if (hostVm.zone !== undefined) cloud.availability_zone = hostVm.zone;
    event.host = { name: hostVm.name };
  } else {
    const location = gcpNameOf(labels.location) ?? gcpNameOf(labels.region);
    if (location !== undefined) cloud.region = regionOfZone(location);
    if (hostHint !== undefined) event.host = { name: clip(hostHint, 255) };
  }
  event.cloud = cloud;
  return event;
}

function originalOf(o: Obj, payload: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['insertId', 'logName', 'timestamp', 'resource']) if (o[key] !== undefined) out[key] = o[key];
  const kept: Record<string, unknown> = {};
  for (const key of PAYLOAD_KEYS) if (payload[key] !== undefined) kept[key] = payload[key];
  out.jsonPayload = kept;
  return out;
}

function isFlowEntry(o: unknown): boolean {
  if (!isObject(o) || !isObject(o.jsonPayload) || !isObject(o.jsonPayload.connection)) return false;
  const p = o.jsonPayload;
  const c = p.connection as Obj;
  return (
    'src_ip' in c &&
    'dest_ip' in c &&
    ('reporter' in p || 'bytes_sent' in p || (typeof o.logName === 'string' && o.logName.includes('%2Fvpc_flows')))
  );
}

const FLOW_TEXT = /\/logs\/(?:compute|networkmanagement)\.googleapis\.com%2Fvpc_flows"/;

export const gcpFlow: SourceDescriptor = {
  name: FORMAT,
  summary: 'Google Cloud VPC Flow Logs (LogEntry with jsonPayload.connection, per line or gcloud logging read arrays)',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    if (isJsonDocument(head)) return FLOW_TEXT.test(head.slice(0, 8192)) && /"connection"\s*:/.test(head) ? 85 : 0;
    return sniffJsonLine(
      head,
      (o) => (isFlowEntry(o) ? 95 : 0),
      (first) => (FLOW_TEXT.test(first) || (/"jsonPayload"\s*:/.test(first) && /"dest_ip"\s*:/.test(first)) ? 70 : 0),
    );
  },
  read(input, context) {
    // `gcloud logging read` prints the newest entry first
    return timeOrdered(readInFileOrder(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  let out: SourceBatch = { events: [], issues: [], unused: 0 };
  for await (const record of jsonRecords(input, context, CODE, ['entries'])) {
    if ('issue' in record) out.issues.push(record.issue);
    else {
      const mapped = isObject(record.value)
        ? gcpFlowEvent(record.value, input.name, record.line, input.hostHint)
        : 'JSON but not an object';
      if (mapped === 'unused') out.unused = (out.unused ?? 0) + 1;
      else if (typeof mapped === 'string')
        out.issues.push(issue({ file: input.name, line: record.line }, `${CODE}_BAD_RECORD`, mapped));
      else out.events.push(mapped);
    }
    if (out.events.length + out.issues.length >= BATCH_EVENTS) {
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
  }
  if (out.events.length > 0 || out.issues.length > 0 || (out.unused ?? 0) > 0) yield out;
}
