/**
 * Azure Network Watcher flow logs, as written to storage (`PT1H.json`, one `{"records": […]}` document,
 * or a record per line through Event Hubs):
 * - NSG flow logs (`category` NetworkSecurityGroupFlowEvent): `properties.flows[].flows[]` per NIC `mac`,
 *   `flowTuples` `time,src,dst,sport,dport,T|U,I|O,A|D` (version 1) plus `,B|C|E,pkts,bytes,pkts,bytes`
 *   (version 2: source→destination, then destination→source, since the tuple before);
 * - VNet flow logs (FlowLogFlowEvent): `flowRecords.flows[].flowGroups[].flowTuples`
 *   `time_ms,src,dst,sport,dport,proto#,I|O,B|C|E|D,encryption,pkts,bytes,pkts,bytes` for the
 *   `targetResourceID` (a VNet, subnet or NIC) and NIC `macAddress`.
 * One `connect` per flow: its Begin, Continuing and End tuples are joined (bounded, within the file)
 * into one event at its start with the bytes and packets summed and the duration; a flow still open when
 * the file ends is emitted as far as it went; a version 1 tuple is one flow. The tuple's source started
 * the flow (the client); I/O says whether it came into the NIC or left it. A denied flow leaving the NIC
 * is kept (a blocked call to a pool is still the attempt, outcome failure); denied inbound tuples (the
 * internet's scans) are counted unused. No VM is named: `cloud.network_interface` is the NIC (its
 * resource id, else its MAC) and there is no host; the engine joins flows by address.
 */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import {
  azureCloudOf,
  azureMacOf,
  azureRecords,
  azureResourceOf,
  fieldOf,
  regionOf,
  TimeOrder,
} from './azure-fields.js';
import { ipOf, isObject, numberOf, portOf, textOf } from './net-fields.js';
import type { SourceBatch, SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'azure-flow';
const CODE = 'AZURE_FLOW';
/** Flows begun and not yet ended (the oldest is emitted as it stands when full). */
const MAX_OPEN_FLOWS = 65_536;
const MAX_GROUPS = 4096;
const MAX_TUPLES = 1_000_000;
const MAX_TUPLE_CHARS = 512;
/** Counts per tuple above this are not a five-minute interval of one flow. */
const MAX_COUNT = 1e15;
const BATCH_EVENTS = 1000;
const PROTOCOLS: Record<string, string> = {
  T: 'tcp',
  U: 'udp',
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'ipv6-icmp',
};

interface Context {
  file: string;
  line: number;
  kind: 'nsg' | 'vnet';
  subscription?: string;
  region?: string;
  /** The NIC: its resource id, else its MAC. */
  nic?: string;
}

interface Flow {
  ts: number;
  last: number;
  ctx: Context;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  transport: string;
  inbound: boolean;
  denied: boolean;
  clientPackets: number;
  clientBytes: number;
  serverPackets: number;
  serverBytes: number;
  counted: boolean;
  ended: boolean;
}

/** A count field: empty (a Begin tuple) is 0; anything else not a count is undefined. */
function countOf(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return 0;
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT ? n : undefined;
}

/** One tuple as a flow part, `'unused'` for denied inbound traffic, or why it is not a tuple. */
function parseTuple(text: string, ctx: Context): Flow | 'unused' | string {
  if (text.length > MAX_TUPLE_CHARS) return `tuple of ${text.length} characters`;
  const f = text.split(',', 16);
  const vnet = ctx.kind === 'vnet';
  if (f.length !== 8 && f.length !== 13) return `tuple has ${f.length} fields, not 8 or 13`;
  if (vnet && f.length !== 13) return `VNet tuple has ${f.length} fields, not 13`;
  const ts = parseTimestamp(f[0]);
  if (ts === undefined) return `tuple time ${clip(JSON.stringify(f[0]), 40)} is not a time`;
  const src = ipOf(f[1]);
  const dst = ipOf(f[2]);
  if (src === undefined || dst === undefined) return 'tuple addresses are not IP addresses';
  const sport = portOf(f[3]);
  const dport = portOf(f[4]);
  if (sport === undefined || dport === undefined) return 'tuple ports are not ports';
  const transport = PROTOCOLS[f[5]] ?? (numberOf(f[5]) !== undefined ? `ip-${f[5]}` : undefined);
  if (transport === undefined) return `tuple protocol ${clip(JSON.stringify(f[5]), 20)} is not one`;
  if (f[6] !== 'I' && f[6] !== 'O') return `tuple direction ${clip(JSON.stringify(f[6]), 20)} is not I or O`;
  const inbound = f[6] === 'I';
  // NSG: decision then state; VNet: the state, D for denied, then the encryption state
  const state = vnet ? f[7] : f.length === 13 ? f[8] : '';
  const denied = f[7] === 'D';
  if (!vnet && f[7] !== 'A' && f[7] !== 'D') return `tuple decision ${clip(JSON.stringify(f[7]), 20)} is not A or D`;
  if (f.length === 13 && !['B', 'C', 'E', 'D'].includes(state))
    return `tuple state ${clip(JSON.stringify(state), 20)} is not B, C, E or D`;
  if (denied && inbound) return 'unused';
  const counts = f.length === 13 ? [f[9], f[10], f[11], f[12]].map(countOf) : [0, 0, 0, 0];
  if (counts.some((c) => c === undefined)) return 'tuple packet or byte counts are not counts';
  const [clientPackets, clientBytes, serverPackets, serverBytes] = counts as number[];
  return {
    ts,
    last: ts,
    ctx,
    src,
    dst,
    sport,
    dport,
    transport,
    inbound,
    denied,
    clientPackets,
    clientBytes,
    serverPackets,
    serverBytes,
    // a denied flow moved nothing
    counted: f.length === 13 && !denied,
    // a version 1 tuple, a denied one and an End are whole flows
    ended: f.length === 8 || denied || state === 'E' || state === 'D',
  };
}

function eventOf(flow: Flow): CoalEvent {
  const { ctx } = flow;
  const event: CoalEvent = {
    '@timestamp': new Date(flow.ts).toISOString(),
    event: {
      kind: 'event',
      category: ['network'],
      type: flow.denied ? ['connection', 'denied'] : ['connection'],
      action: 'connect',
      dataset: `${FORMAT}.${ctx.kind}`,
      outcome: flow.denied ? 'failure' : 'success',
    },
    source: { ip: flow.src, port: flow.sport },
    destination: { ip: flow.dst, port: flow.dport },
    network: { transport: flow.transport, direction: flow.inbound ? 'inbound' : 'outbound' },
    original: {
      time: flow.ts,
      src: flow.src,
      dst: flow.dst,
      sport: flow.sport,
      dport: flow.dport,
      protocol: flow.transport,
      direction: flow.inbound ? 'I' : 'O',
      ...(ctx.nic !== undefined ? { nic: ctx.nic } : {}),
    },
    coalmine: { ts: flow.ts, format: FORMAT, ref: { file: ctx.file, line: ctx.line } },
  };
  if (flow.counted) {
    if (event.source) event.source.bytes = flow.clientBytes;
    if (event.destination) event.destination.bytes = flow.serverBytes;
    if (event.network) {
      event.network.bytes = flow.clientBytes + flow.serverBytes;
      event.network.packets = flow.clientPackets + flow.serverPackets;
    }
    event.coalmine.flow = {
      durationMs: flow.last - flow.ts,
      clientBytes: flow.clientBytes,
      serverBytes: flow.serverBytes,
    };
  }
  event.cloud = azureCloudOf(ctx.subscription, ctx.region);
  if (ctx.nic !== undefined) event.cloud.network_interface = ctx.nic;
  return event;
}

/** Joins the tuples of one flow; bounded (see the file comment). */
class FlowJoiner {
  private readonly open = new Map<string, Flow>();

  take(part: Flow): CoalEvent[] {
    if (part.denied || !part.counted) return [eventOf(part)];
    const key = `${part.ctx.nic ?? ''}|${part.transport}|${part.src}|${part.sport}|${part.dst}|${part.dport}`;
    const flow = this.open.get(key);
    if (flow !== undefined) {
      flow.last = Math.max(flow.last, part.ts);
      flow.clientPackets += part.clientPackets;
      flow.clientBytes += part.clientBytes;
      flow.serverPackets += part.serverPackets;
      flow.serverBytes += part.serverBytes;
      if (!part.ended) return [];
      this.open.delete(key);
      return [eventOf(flow)];
    }
    if (part.ended) return [eventOf(part)];
    this.open.set(key, part);
    if (this.open.size <= MAX_OPEN_FLOWS) return [];
    const [oldestKey, oldest] = this.open.entries().next().value as [string, Flow];
    this.open.delete(oldestKey);
    return [eventOf(oldest)];
  }

  flush(): CoalEvent[] {
    const left = [...this.open.values()].map(eventOf);
    this.open.clear();
    return left;
  }
}

/** The region a Network Watcher's name carries (`NETWORKWATCHER_EASTUS`), as the default watchers are named. */
function watcherRegionOf(id: unknown): string | undefined {
  const watcher = azureResourceOf(id)?.path.find(([type]) => type === 'networkwatchers')?.[1];
  return watcher?.startsWith('networkwatcher_') ? regionOf(watcher.slice('networkwatcher_'.length)) : undefined;
}

/** The tuples of one group with what they share (each group its own NIC: an NSG's record covers every NIC it guards). */
interface TupleGroup {
  ctx: Context;
  tuples: unknown[];
}

/** The tuple groups of one record with what they share, `'unused'` for a record that is no flow record, or why it is bad. */
function groupsOf(o: Obj, file: string, line: number): TupleGroup[] | 'unused' | string {
  const flowRecords = fieldOf(o, 'flowRecords');
  const props = fieldOf(o, 'properties');
  const category = textOf(o.category, 64);
  const vnet = isObject(flowRecords);
  if (!vnet && !isObject(props))
    // an NSG's other diagnostic logs (rule counters, events) share the export; a flow event without flows is broken
    return category !== undefined && !FLOW_CATEGORIES.has(category) ? 'unused' : 'neither flowRecords nor properties';
  const resourceId = vnet ? (o.targetResourceID ?? o.flowLogResourceID) : o.resourceId;
  const resource = azureResourceOf(resourceId);
  const ctx: Context = { file, line, kind: vnet ? 'vnet' : 'nsg' };
  const subscription = resource?.subscription ?? azureResourceOf(o.flowLogResourceID)?.subscription;
  if (subscription !== undefined) ctx.subscription = subscription;
  const region = watcherRegionOf(o.flowLogResourceID);
  if (region !== undefined) ctx.region = region;
  const groups: TupleGroup[] = [];
  const outer = fieldOf(vnet ? flowRecords : props, 'flows');
  if (!Array.isArray(outer)) return vnet ? 'flowRecords without a flows array' : 'properties without a flows array';
  const nicId = resource?.path[0]?.[0] === 'networkinterfaces' ? resource.id : undefined;
  for (const item of outer.slice(0, MAX_GROUPS)) {
    const inner = fieldOf(item, vnet ? 'flowGroups' : 'flows');
    if (!Array.isArray(inner)) continue;
    for (const group of inner.slice(0, MAX_GROUPS)) {
      const tuples = fieldOf(group, 'flowTuples');
      if (!Array.isArray(tuples)) continue;
      const nic = nicId ?? azureMacOf(vnet ? o.macAddress : fieldOf(group, 'mac'));
      groups.push({ ctx: nic !== undefined ? { ...ctx, nic } : ctx, tuples });
    }
  }
  return groups;
}

const FLOW_CATEGORIES = new Set(['NetworkSecurityGroupFlowEvent', 'FlowLogFlowEvent']);
const FLOW_CATEGORY = /"category"\s*:\s*"(?:NetworkSecurityGroupFlowEvent|FlowLogFlowEvent)"/;
const FLOW_KEYS = /"(?:flowTuples|flowRecords)"\s*:/;
const FLOW_OPERATION = /"operationName"\s*:\s*"(?:NetworkSecurityGroupFlowEvents|FlowLogFlowEvent)"/;

export const azureFlow: SourceDescriptor = {
  name: FORMAT,
  summary: 'Azure NSG and VNet flow logs (Network Watcher PT1H.json): one connect per flow, Begin/End joined',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const text = head.slice(0, 16 * 1024);
    if (!/^\s*[[{]/.test(text)) return 0;
    if (FLOW_CATEGORY.test(text) || FLOW_OPERATION.test(text)) return 90;
    return FLOW_KEYS.test(text) && /"\/subscriptions\//i.test(text) ? 70 : 0;
  },
  async *read(input, context) {
    const order = new TimeOrder();
    const joiner = new FlowJoiner();
    let out: SourceBatch = { events: [], issues: [], unused: 0 };
    const report = (i: Issue) => out.issues.push(i);
    for await (const items of azureRecords(input, context, CODE)) {
      for (const item of items) {
        if ('issue' in item) {
          report(item.issue);
          continue;
        }
        const where = { file: input.name, line: item.line };
        const groups = isObject(item.value) ? groupsOf(item.value, input.name, item.line) : 'JSON but not an object';
        if (groups === 'unused') {
          out.unused = (out.unused ?? 0) + 1;
          continue;
        }
        if (typeof groups === 'string') {
          report(issue(where, `${CODE}_BAD_RECORD`, groups));
          continue;
        }
        let tuples = 0;
        /** Bad tuples of this record, reported once with the first reason: a record holds thousands. */
        let bad = 0;
        let firstBad = '';
        for (const group of groups) {
          for (const tuple of group.tuples) {
            if (++tuples > MAX_TUPLES) break;
            const part = typeof tuple === 'string' ? parseTuple(tuple, group.ctx) : 'tuple is not a string';
            if (part === 'unused') out.unused = (out.unused ?? 0) + 1;
            else if (typeof part === 'string') {
              if (bad++ === 0) firstBad = part;
            } else {
              order.push(joiner.take(part));
              // a record may hold many thousand tuples: the bound is kept inside it
              if (order.full) for (const events of order.drain(BATCH_EVENTS)) yield { events, issues: [] };
            }
          }
        }
        if (bad > 0)
          report(
            issue(where, `${CODE}_BAD_TUPLE`, bad === 1 ? firstBad : `${bad} tuples not read; the first: ${firstBad}`),
          );
        if (tuples > MAX_TUPLES)
          report(
            issue(where, `${CODE}_TOO_MANY_TUPLES`, `tuples after the first ${MAX_TUPLES} are not read`, 'reading'),
          );
        if (out.issues.length >= BATCH_EVENTS) {
          yield out;
          out = { events: [], issues: [], unused: 0 };
        }
      }
    }
    order.push(joiner.flush());
    if (order.overflowed)
      out.issues.push(
        issue(
          { file: input.name, line: 1 },
          `${CODE}_OUT_OF_ORDER`,
          'more events than are held to sort a file: given in runs, each in time order',
          'reading',
        ),
      );
    for (const events of order.drain(BATCH_EVENTS)) {
      out.events.push(...events);
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
    if (out.events.length > 0 || out.issues.length > 0 || (out.unused ?? 0) > 0) yield out;
  },
};
