/**
 * Amazon GuardDuty findings: another detector's verdicts, read as indicator events for the IDS
 * classifier (`signals/ids-alert.ts`). Three shapes, keys in PascalCase (the API and CLI) or camelCase
 * (EventBridge and S3 exports), either accepted:
 * - `aws guardduty get-findings` output `{"Findings": [...]}` (or a bare array of findings), a whole document;
 * - EventBridge events (`"source": "aws.guardduty"`, `detail` = the finding), one per line or one pretty-printed;
 * - the S3 export: one finding per line.
 * A finding about an instance (or a Runtime Monitoring process) becomes one event at
 * `Service.EventFirstSeen` (else CreatedAt): `dns-query` when it names a domain (DnsRequestAction),
 * `connect` when it names a remote address (NetworkConnectionAction, PortProbeAction; the instance
 * initiates an OUTBOUND one), else `exec` when Runtime Monitoring names the process. `rule` is the
 * finding type, its id and its severity (Low/Medium/High/Critical); host and `cloud.instance.id` the
 * instance, `host.ip` its private addresses. Findings about other resources (access keys, buckets,
 * Kubernetes API calls, Lambda), sample findings and a finding's later updates in the same file are
 * counted unused. A file's events are given in time order (bounded, `time-order.ts`): findings are listed
 * by id or by when they were written, not by when their activity was first seen.
 */
import type { CoalEvent, Endpoint, ProcessFields } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { instanceIdOf } from './aws-ids.js';
import { imageOf } from './container-fields.js';
import { jsonDocumentRecords } from './json-document.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import { ipOf, isObject, MAX_NAME_CHARS, numberOf, portOf, textOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceContext, SourceDescriptor, SourceInput } from './types.js';

const FORMAT = 'guardduty';
const CODE = 'GUARDDUTY';
/** get-findings answers at most 50 findings a call; a joined export is still small. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;
const MAX_FINDINGS = 100_000;
const MAX_INTERFACES = 16;
const MAX_ADDRESSES = 16;
const MAX_TYPE_CHARS = 256;
const MAX_TITLE_CHARS = 512;
/** Finding ids already read in this file (an S3 export repeats a finding as it is updated). */
const MAX_SEEN_IDS = 65_536;
const BATCH_EVENTS = 512;
/** A name as DNS carries it: letters, digits, `-`, `_` and dots (a trailing one allowed); anything else is not a lookup. */
const DNS_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}$/;

type Where = { file: string; line: number } | { file: string; record: string };

/** What the envelope around a finding says (an EventBridge event's account, region and time). */
interface Envelope {
  account?: string;
  region?: string;
  time?: number;
}

/** A key as the API writes it (`InstanceId`) or as EventBridge and S3 exports do (`instanceId`). */
function get(o: unknown, key: string): unknown {
  if (!isObject(o)) return undefined;
  const v = o[key];
  return v !== undefined ? v : o[key[0].toLowerCase() + key.slice(1)];
}

function at(o: unknown, ...keys: string[]): unknown {
  let v = o;
  for (const k of keys) v = get(v, k);
  return v;
}

/** GuardDuty's severity bands. */
function severityLabel(n: number | undefined): string | undefined {
  if (n === undefined || n < 0 || n > 10) return undefined;
  return n >= 9 ? 'Critical' : n >= 7 ? 'High' : n >= 4 ? 'Medium' : 'Low';
}

function isSample(f: unknown): boolean {
  const sample = at(f, 'Service', 'AdditionalInfo', 'Sample');
  return sample === true || sample === 'true';
}

/** Private addresses of the instance's interfaces (primary first), bounded. */
function privateAddresses(details: unknown): string[] {
  const nics = get(details, 'NetworkInterfaces');
  const out: string[] = [];
  if (!Array.isArray(nics)) return out;
  const add = (v: unknown) => {
    const ip = ipOf(v);
    if (ip !== undefined && !out.includes(ip) && out.length < MAX_ADDRESSES) out.push(ip);
  };
  for (const nic of nics.slice(0, MAX_INTERFACES)) {
    add(get(nic, 'PrivateIpAddress'));
    const more = get(nic, 'PrivateIpAddresses');
    if (Array.isArray(more)) for (const a of more.slice(0, MAX_ADDRESSES)) add(get(a, 'PrivateIpAddress'));
  }
  return out;
}

function remoteIpOf(details: unknown): string | undefined {
  return ipOf(get(details, 'IpAddressV4')) ?? ipOf(get(details, 'IpAddressV6'));
}

/** Runtime Monitoring's process: name, path, pid, hash, cwd, user, start, and its parent from the lineage. */
function processOf(p: unknown): ProcessFields | undefined {
  if (!isObject(p)) return undefined;
  const out: ProcessFields = {};
  const name = textOf(get(p, 'Name'), MAX_NAME_CHARS);
  if (name !== undefined) out.name = name;
  const path = textOf(get(p, 'ExecutablePath'), 4096);
  if (path !== undefined) out.executable = path;
  const pid = numberOf(get(p, 'Pid'));
  if (pid !== undefined && Number.isInteger(pid) && pid > 0 && pid < 2 ** 31) out.pid = pid;
  const sha256 = textOf(get(p, 'ExecutableSha256'), 64);
  if (sha256 !== undefined && /^[0-9a-f]{64}$/i.test(sha256)) out.hash = { sha256: sha256.toLowerCase() };
  const pwd = textOf(get(p, 'Pwd'), 4096);
  if (pwd !== undefined) out.working_directory = pwd;
  const start = parseTimestamp(get(p, 'StartTime'));
  if (start !== undefined) out.start = new Date(start).toISOString();
  const user = textOf(get(p, 'User'), MAX_NAME_CHARS);
  const uid = numberOf(get(p, 'UserId'));
  if (user !== undefined || uid !== undefined)
    out.user = { ...(user !== undefined ? { name: user } : {}), ...(uid !== undefined ? { id: String(uid) } : {}) };
  const lineage = get(p, 'Lineage');
  const parent = Array.isArray(lineage) ? lineage[0] : undefined;
  if (isObject(parent)) {
    const pp: NonNullable<ProcessFields['parent']> = {};
    const ppid = numberOf(get(parent, 'Pid'));
    if (ppid !== undefined && Number.isInteger(ppid) && ppid > 0 && ppid < 2 ** 31) pp.pid = ppid;
    const pname = textOf(get(parent, 'Name'), MAX_NAME_CHARS);
    if (pname !== undefined) pp.name = pname;
    const ppath = textOf(get(parent, 'ExecutablePath'), 4096);
    if (ppath !== undefined) pp.executable = ppath;
    if (Object.keys(pp).length > 0) out.parent = pp;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** What a finding's action says happened: a lookup, a connection (with which end is the instance's), or nothing we place. */
type Happening =
  | { kind: 'dns'; domain: string }
  | { kind: 'connect'; remote: Endpoint; local: Endpoint; direction?: 'inbound' | 'outbound'; transport?: string };

function happeningOf(action: unknown, addresses: string[]): Happening | string | undefined {
  const dns = get(action, 'DnsRequestAction');
  if (dns !== undefined) {
    const raw = get(dns, 'Domain');
    if (raw === undefined) return undefined;
    const domain = typeof raw === 'string' && DNS_NAME.test(raw) ? raw.replace(/\.$/, '') : undefined;
    if (domain === undefined) return `DnsRequestAction.Domain ${clip(JSON.stringify(raw) ?? '', 60)} is not a domain`;
    return { kind: 'dns', domain: domain.toLowerCase() };
  }
  const net = get(action, 'NetworkConnectionAction');
  const probe = get(action, 'PortProbeAction');
  const details =
    net ??
    (Array.isArray(get(probe, 'PortProbeDetails')) ? (get(probe, 'PortProbeDetails') as unknown[])[0] : undefined);
  if (details === undefined) return undefined;
  const ip = remoteIpOf(get(details, 'RemoteIpDetails'));
  if (ip === undefined) return undefined;
  const remote: Endpoint = { ip };
  const remotePort = portOf(at(details, 'RemotePortDetails', 'Port'));
  if (remotePort !== undefined) remote.port = remotePort;
  const local: Endpoint = {};
  const localIp = ipOf(at(details, 'LocalIpDetails', 'IpAddressV4')) ?? addresses[0];
  if (localIp !== undefined) local.ip = localIp;
  const localPort = portOf(at(details, 'LocalPortDetails', 'Port'));
  if (localPort !== undefined) local.port = localPort;
  const dir = net === undefined ? 'INBOUND' : textOf(get(net, 'ConnectionDirection'), 16);
  const out: Happening = { kind: 'connect', remote, local };
  if (dir === 'INBOUND') out.direction = 'inbound';
  else if (dir === 'OUTBOUND') out.direction = 'outbound';
  const protocol = net === undefined ? undefined : textOf(get(net, 'Protocol'), 16);
  if (protocol !== undefined && /^[A-Za-z]{1,16}$/.test(protocol)) out.transport = protocol.toLowerCase();
  return out;
}

interface Scope {
  file: string;
  hostHint?: string;
  seen: Set<string>;
}

/** One finding as an indicator event, `unused` for one we do not place on an instance or process, or why it is bad. */
export function guardDutyEvent(
  f: unknown,
  envelope: Envelope,
  where: Where,
  scope: Scope,
): CoalEvent | 'unused' | string {
  if (!isObject(f)) return 'a finding is not an object';
  const type = textOf(get(f, 'Type'), MAX_TYPE_CHARS);
  if (type === undefined) return 'no Type';
  if (isSample(f)) return 'unused'; // "generate sample findings": GuardDuty's own test data
  const id = textOf(get(f, 'Id'), 128);
  const service = get(f, 'Service');
  const details = at(f, 'Resource', 'InstanceDetails');
  const rawInstance = get(details, 'InstanceId');
  const instance = instanceIdOf(rawInstance);
  if (rawInstance !== undefined && instance === undefined)
    return `Resource.InstanceDetails.InstanceId ${clip(JSON.stringify(rawInstance) ?? '', 60)} is not an instance id`;
  const process = processOf(at(service, 'RuntimeDetails', 'Process'));
  if (instance === undefined && process === undefined) return 'unused'; // access keys, buckets, API calls, Lambda
  const addresses = privateAddresses(details);
  const happening = happeningOf(get(service, 'Action'), addresses);
  if (typeof happening === 'string') return happening;
  if (happening === undefined && process === undefined) return 'unused'; // an instance finding with nothing to place

  const firstSeen = get(service, 'EventFirstSeen');
  const created = get(f, 'CreatedAt');
  const ts =
    firstSeen !== undefined
      ? parseTimestamp(firstSeen)
      : created !== undefined
        ? parseTimestamp(created)
        : envelope.time;
  if (ts === undefined) {
    const bad = firstSeen ?? created;
    return bad === undefined
      ? 'no Service.EventFirstSeen or CreatedAt'
      : `time ${clip(JSON.stringify(bad) ?? '', 60)} is not a time`;
  }
  if (id !== undefined) {
    if (scope.seen.has(id)) return 'unused'; // a later update of a finding this file already gave
    if (scope.seen.size < MAX_SEEN_IDS) scope.seen.add(id);
  }

  const account = textOf(get(f, 'AccountId'), 32) ?? envelope.account;
  const region = textOf(get(f, 'Region'), 32) ?? envelope.region;
  const severity = numberOf(get(f, 'Severity'));
  const label = severityLabel(severity);
  const action = happening?.kind === 'dns' ? 'dns-query' : happening?.kind === 'connect' ? 'connect' : 'exec';
  const original: Record<string, unknown> = { Type: type };
  const keep = (key: string, v: unknown) => {
    if (v !== undefined && v !== null) original[key] = typeof v === 'string' ? clip(v, MAX_TITLE_CHARS) : v;
  };
  keep('Id', id);
  keep('Title', textOf(get(f, 'Title'), MAX_TITLE_CHARS));
  keep('Severity', severity);
  keep('AccountId', account);
  keep('Region', region);
  keep('ResourceType', textOf(at(f, 'Resource', 'ResourceType'), 64));
  keep('ActionType', textOf(at(service, 'Action', 'ActionType'), 64));
  keep('Count', numberOf(get(service, 'Count')));
  keep('EventFirstSeen', textOf(firstSeen, 64));
  keep('EventLastSeen', textOf(get(service, 'EventLastSeen'), 64));
  keep('Archived', typeof get(service, 'Archived') === 'boolean' ? get(service, 'Archived') : undefined);

  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: action === 'exec' ? ['process'] : ['network'],
      type: ['indicator'],
      action,
      dataset: `${FORMAT}.finding`,
    },
    rule: { name: type, ...(id !== undefined ? { id } : {}), ...(label !== undefined ? { category: label } : {}) },
    original,
    coalmine: { ts, format: FORMAT, ref: where },
  };
  if (id !== undefined) event.event.id = id;
  const host = instance ?? scope.hostHint ?? (account !== undefined ? `aws:${account}` : undefined);
  if (host !== undefined) event.host = { name: clip(host, MAX_NAME_CHARS) };
  if (addresses.length > 0) event.host = { ...event.host, ip: addresses };
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'aws' };
  if (account !== undefined) cloud.account = { id: account };
  if (region !== undefined) cloud.region = region;
  if (instance !== undefined) cloud.instance = { id: instance };
  const zone = textOf(get(details, 'AvailabilityZone'), 32);
  if (zone !== undefined) cloud.availability_zone = zone;
  const machine = textOf(get(details, 'InstanceType'), 64);
  if (machine !== undefined) cloud.machine = { type: machine };
  event.cloud = cloud;
  if (process !== undefined) event.process = process;

  if (happening?.kind === 'dns') {
    event.dns = { question: { name: happening.domain } };
    if (addresses[0] !== undefined) event.source = { ip: addresses[0] };
  } else if (happening?.kind === 'connect') {
    const inbound = happening.direction === 'inbound';
    const client = inbound ? happening.remote : happening.local;
    const server = inbound ? happening.local : happening.remote;
    if (Object.keys(client).length > 0) event.source = client;
    if (Object.keys(server).length > 0) event.destination = server;
    event.network = {
      ...(happening.transport !== undefined ? { transport: happening.transport } : {}),
      ...(happening.direction !== undefined ? { direction: happening.direction } : {}),
    };
  }
  const container = at(f, 'Resource', 'ContainerDetails');
  if (isObject(container)) {
    const c: NonNullable<CoalEvent['container']> = {};
    const name = textOf(get(container, 'Name'), MAX_NAME_CHARS);
    if (name !== undefined) c.name = name;
    const image = imageOf(get(container, 'Image'));
    if (image !== undefined) c.image = image;
    if (Object.keys(c).length > 0) event.container = c;
  }
  return event;
}

interface Output {
  events: CoalEvent[];
  issues: Issue[];
  unused: number;
}

function report(out: Output, where: Where, what: string, reason: string): void {
  out.issues.push(issue(where, `${CODE}_BAD_RECORD`, what === '' ? reason : `${what}: ${reason}`));
}

function mapOne(f: unknown, envelope: Envelope, where: Where, scope: Scope, out: Output, what: string): void {
  const mapped = guardDutyEvent(f, envelope, where, scope);
  if (mapped === 'unused') out.unused++;
  else if (typeof mapped === 'string') report(out, where, what, mapped);
  else out.events.push(mapped);
}

/** A list of findings (get-findings' `Findings`, an old EventBridge `detail.findings`): each by its index. */
function mapList(list: unknown[], key: string, envelope: Envelope, where: Where, scope: Scope, out: Output): void {
  const n = Math.min(list.length, MAX_FINDINGS);
  for (let i = 0; i < n; i++) {
    // a finding of a whole document is named by its index (after its appended document's name, if
    // any); one on a line by the line and index
    const itemWhere: Where =
      'line' in where
        ? where
        : {
            file: where.file,
            record: where.record.startsWith('document ') ? `${where.record} ${key}[${i}]` : `${key}[${i}]`,
          };
    mapOne(list[i], envelope, itemWhere, scope, out, 'line' in where ? `${key}[${i}]` : '');
  }
  if (list.length > MAX_FINDINGS)
    out.issues.push(
      issue(
        where,
        `${CODE}_TOO_MANY_FINDINGS`,
        `${list.length - MAX_FINDINGS} findings after the first ${MAX_FINDINGS} are not read`,
        'reading',
      ),
    );
}

function isEventBridge(o: Record<string, unknown>): boolean {
  return o.source === 'aws.guardduty' || o['detail-type'] === 'GuardDuty Finding';
}

/** One parsed record: an EventBridge event, a `{"Findings": [...]}` answer, or a bare finding. */
function mapRecord(value: unknown, where: Where, scope: Scope, out: Output): void {
  if (!isObject(value)) {
    report(out, where, '', 'not a JSON object');
    return;
  }
  if (isEventBridge(value)) {
    const envelope: Envelope = {};
    const account = textOf(value.account, 32);
    if (account !== undefined) envelope.account = account;
    const region = textOf(value.region, 32);
    if (region !== undefined) envelope.region = region;
    const time = parseTimestamp(value.time);
    if (time !== undefined) envelope.time = time;
    const detail = value.detail;
    const findings = get(detail, 'Findings');
    if (Array.isArray(findings)) mapList(findings, 'detail.findings', envelope, where, scope, out);
    else if (isObject(detail)) mapOne(detail, envelope, where, scope, out, 'detail');
    else report(out, where, '', 'a GuardDuty event without a detail object');
    return;
  }
  const findings = get(value, 'Findings');
  if (Array.isArray(findings)) {
    mapList(findings, 'Findings', {}, where, scope, out);
    return;
  }
  // a finding by its shape, so one without a Type is reported as that rather than as something else
  const shaped = get(value, 'Type') !== undefined || get(value, 'SchemaVersion') !== undefined;
  if (shaped && (get(value, 'Service') !== undefined || get(value, 'Resource') !== undefined)) {
    mapOne(value, {}, where, scope, out, '');
    return;
  }
  report(out, where, '', 'not a GuardDuty finding, event or get-findings answer');
}

async function* readLinesMode(input: SourceInput, context: SourceContext, scope: Scope): AsyncGenerator<Output> {
  let pending: Issue[] = [];
  for await (const batch of sourceLines(input, context, (i) => pending.push(i))) {
    const out: Output = { events: [], issues: pending, unused: 0 };
    pending = [];
    const last = batch.lines.length - 1;
    for (let k = 0; k <= last; k++) {
      const text = batch.lines[k];
      if (text.trim() === '') continue;
      const where = { file: input.name, line: batch.lineNos[k] };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        out.issues.push(
          k === last && batch.unterminated === true
            ? issue(where, `${CODE}_TRUNCATED`, 'the last line ends inside its record')
            : issue(where, `${CODE}_BAD_JSON`, clip((err as Error).message, 200)),
        );
        continue;
      }
      mapRecord(value, where, scope, out);
    }
    yield out;
  }
  if (pending.length > 0) yield { events: [], issues: pending, unused: 0 };
}

async function* readDocumentMode(input: SourceInput, scope: Scope): AsyncGenerator<Output> {
  const limits = {
    maxRecordBytes: MAX_RECORD_BYTES,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
    maxRecords: MAX_FINDINGS,
    code: CODE,
  };
  let out: Output = { events: [], issues: [], unused: 0 };
  let index = 0;
  let document = 1;
  let topArray: boolean | undefined;
  for await (const item of jsonDocumentRecords(input, limits)) {
    if ('issue' in item) {
      out.issues.push(item.issue);
      continue;
    }
    // a top-level array's values are findings (or events) named by index; an object is the one record;
    // a document appended after the first (`>> file`) names its own: `document 2 [0]`, `document 2`
    topArray ??= input.head.toString('utf8', 0, 256).trimStart().startsWith('[');
    if (item.document !== document) {
      document = item.document;
      index = 0;
    }
    const where: Where =
      document === 1
        ? { file: input.name, record: topArray ? `[${index}]` : 'document' }
        : { file: input.name, record: `document ${document} [${index}]` };
    index++;
    mapRecord(item.value, where, scope, out);
    if (out.events.length >= BATCH_EVENTS) {
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
  }
  yield out;
}

/** A pretty-printed document opens with a lone `{` or `[`; the line forms hold a whole record per line. */
function isDocument(head: string): boolean {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  return first !== undefined && /^\s*[[{]\s*$/.test(first);
}

function isFindingObject(o: Record<string, unknown>): boolean {
  return (
    typeof get(o, 'Type') === 'string' &&
    get(o, 'SchemaVersion') !== undefined &&
    (isObject(get(o, 'Service')) || isObject(get(o, 'Resource')))
  );
}

const GUARDDUTY_HEAD = /"aws\.guardduty"|"GuardDuty Finding"|"arn:aws[\w-]*:guardduty:/;

export const guardduty: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Amazon GuardDuty findings (get-findings output, EventBridge events, S3 export lines): instance DNS, network and Runtime process findings as indicators',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    if (isDocument(head)) {
      const start = head.slice(0, 8192);
      if (/"Findings"\s*:\s*\[/.test(start) && /"SchemaVersion"|"schemaVersion"|"arn:aws[\w-]*:guardduty:/.test(start))
        return 90;
      return GUARDDUTY_HEAD.test(start) ? 85 : 0;
    }
    return sniffJsonLine(
      head,
      (o) => {
        if (!isObject(o)) return 0;
        if (isEventBridge(o)) return 95;
        if (Array.isArray(get(o, 'Findings'))) return GUARDDUTY_HEAD.test(head.slice(0, 8192)) ? 90 : 0;
        return isFindingObject(o) && GUARDDUTY_HEAD.test(head.slice(0, 8192)) ? 90 : 0;
      },
      (first) => (GUARDDUTY_HEAD.test(first) && /"(?:[Ss]chemaVersion|detail)"/.test(first) ? 70 : 0),
    );
  },
  read(input, context) {
    const scope: Scope = { file: input.name, seen: new Set() };
    if (input.hostHint !== undefined) scope.hostHint = input.hostHint;
    const batches = isDocument(input.head.toString('utf8', 0, Math.min(input.head.length, 4096)))
      ? readDocumentMode(input, scope)
      : readLinesMode(input, context, scope);
    // a finding is dated by when its activity was first seen, not when it was written or updated
    return timeOrdered(batches, input.name, CODE, BATCH_EVENTS);
  },
};
