/**
 * VMware (Broadcom) Carbon Black exports, one mapping for the shapes its products write:
 * - Carbon Black EDR (Response) event forwarder JSON, one object per line, `type` `ingress.event.*`:
 *   procstart/procend, netconn, filemod, regmod, moduleload (`timestamp` epoch seconds, `computer_name`);
 * - Carbon Black Cloud data forwarder records, `type` `endpoint.event.*` (procstart is written by the
 *   parent: the process started is `childproc_*`), times as ISO or Go's `2020-03-25 22:38:03.353 +0000 UTC`;
 * - Enterprise EDR API answers: event search results (`event_type` childproc, netconn, filemod, regmod,
 *   modload, …) and process search results (`process_guid` with `process_pid` lists).
 * A file is JSON lines or one document (an array, or `{"results": […]}`), read record by record. Lineage
 * is the process guids (`process_guid` → entity_id, the parent's guid as parent.entity_id). Cross-process,
 * script, child-process notices (the child's own procstart says more), deletes and vendor alerts or
 * watchlist hits are counted unused. No CPU: Carbon Black exports carry none.
 */
import type { CoalEvent, Endpoint, ProcessFields } from '../model/event.js';
import { issue } from '../model/issue.js';
import { splitArgv } from '../util/argv.js';
import { clip } from '../util/hostile.js';
import { ipv4String, ipv6String } from '../util/ip.js';
import { parseTimestamp } from '../util/time.js';
import { type EndpointAction, headOf, type OriginalBounds, originalOf, parentOf, pidOf } from './edr-fields.js';
import { isJsonDocument, type JsonRecord, jsonRecords } from './json-document.js';
import { sniffJsonLine } from './lines.js';
import { ipOf, isObject, MAX_NAME_CHARS, portOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';
import { winBasename } from './win-event.js';

type Obj = Record<string, unknown>;
const NAME = 'carbon-black';
const CODE = 'CARBON_BLACK';
const MAX_PATH_CHARS = 4096;
const MAX_COMMAND_CHARS = 32 * 1024;
const MAX_ARGS = 128;
const MAX_GUID_CHARS = 128;
/** Records one line's `results` array may hold; the rest are reported. */
const MAX_LINE_RECORDS = 100_000;
const BATCH_EVENTS = 512;
/** An API answer on one line: `{"results": [` first (the search APIs write results first). */
const API_ANSWER = /^\{\s*"results"\s*:\s*\[/;
/** The top-level scalars as read, bounded (command lines longer than the rest); a list of one is its value. */
const ORIGINAL: OriginalBounds = {
  maxKeys: 64,
  maxKeyChars: 64,
  maxChars: 1024,
  maxLongChars: 8192,
  isLong: (key) => /cmdline|command_line/.test(key),
  unwrapSingle: true,
};
/** EDR guids `00000001-0000-07b4-01d1-209a100bc217`, Cloud guids `ORGKEY-0034d5f2-00001f78-00000000-1d68709f411ee43`. */
const GUID = /^[A-Za-z0-9][A-Za-z0-9-]{7,127}$/;
/** The EDR forwarder gives the parent's guid only in its console link (`…#analyze/<guid>/<segment>`). */
const ANALYZE_LINK = /#analyze\/([0-9A-Za-z-]{8,128})\//;
const MD5 = /^[0-9a-fA-F]{32}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const IPV6_HEX = /^[0-9a-fA-F]{32}$/;
/** Where macOS keeps programs; any other absolute `/` path is taken as Linux. */
const MAC_PATH = /^\/(?:Applications|System|Library|Users|private)\//;
const WINDOWS_PATH = /^(?:[a-zA-Z]:\\|\\\\)/;
/** Record types of the two forwarders that are not endpoint activity: read whole, counted unused. */
const OTHER_TYPES = /^(?:alert|watchlist|feed|binaryinfo|binarystore|auth|CB_ANALYTICS|WATCHLIST|DEVICE_CONTROL)/;
/** `\REGISTRY\MACHINE\…` (how the sensor names keys) as the hive names Sysmon and the rules use. */
const REGISTRY_ROOTS: Array<[RegExp, string]> = [
  [/^\\registry\\machine\\/i, 'HKLM\\'],
  [/^\\registry\\user\\/i, 'HKU\\'],
];

interface Where {
  file: string;
  line: number;
  hostHint?: string;
}

/** Which of the shapes a record is: EDR forwarder, Cloud data forwarder, event search, process search. */
type Family = 'ingress' | 'endpoint' | 'events' | 'process';

/** A string field, bounded; an empty one is absent. Lists (process search) give their first value. */
function text(o: Obj, key: string, max: number): string | undefined {
  let v = o[key];
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' && v.length > 0 ? clip(v, max) : undefined;
}

/** A field that process search writes as a list: its first value. */
function firstOf(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

function guidOf(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s.length <= MAX_GUID_CHARS && GUID.test(s) ? s : undefined;
}

/** The part after a `DOMAIN\` prefix (Cloud's device names), bounded. */
function hostOf(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const name = v.slice(v.lastIndexOf('\\') + 1).trim();
  return name.length > 0 && name.length <= MAX_NAME_CHARS ? name : undefined;
}

/** md5 and sha256 from named fields and `*_hash` lists (`[md5, sha256]` in either order), lower-cased. */
function hashesOf(
  o: Obj,
  list: string,
  md5Key?: string,
  shaKey?: string,
): { md5?: string; sha256?: string } | undefined {
  const out: { md5?: string; sha256?: string } = {};
  const values: unknown[] = [];
  const l = o[list];
  if (Array.isArray(l)) values.push(...l.slice(0, 4));
  else values.push(l);
  if (md5Key) values.push(o[md5Key]);
  if (shaKey) values.push(o[shaKey]);
  for (const v of values) {
    if (typeof v !== 'string') continue;
    if (MD5.test(v)) out.md5 ??= v.toLowerCase();
    else if (SHA256.test(v)) out.sha256 ??= v.toLowerCase();
  }
  return out.md5 !== undefined || out.sha256 !== undefined ? out : undefined;
}

/** An address as text: a string address, Cloud's signed 32-bit integer IPv4, or its 32-hex-digit IPv6. */
function addressOf(v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff || v === 0) return undefined;
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return ipv4String(b, 0);
  }
  if (typeof v === 'string' && IPV6_HEX.test(v)) return ipv6String(Buffer.from(v, 'hex'), 0);
  return ipOf(v);
}

function first<T>(...values: Array<T | undefined>): T | undefined {
  for (const v of values) if (v !== undefined) return v;
  return undefined;
}

function platformOf(o: Obj, path: string | undefined): 'windows' | 'linux' | 'macos' | undefined {
  const os = text(o, 'device_os', 32)?.toUpperCase() ?? text(o, 'os_type', 32)?.toUpperCase();
  if (os === 'WINDOWS') return 'windows';
  if (os === 'LINUX') return 'linux';
  if (os === 'MAC' || os === 'OSX' || os === 'MACOS') return 'macos';
  if (path === undefined) return undefined;
  if (WINDOWS_PATH.test(path)) return 'windows';
  if (path.startsWith('/')) return MAC_PATH.test(path) ? 'macos' : 'linux';
  return undefined;
}

/** The fields a shape names a process by (the actor, its parent, the child it started): the first present wins. */
interface Names {
  guid: string[];
  pid: string[];
  path: string[];
  command: string[];
  user: string[];
  hashList: string;
  md5?: string;
  sha256?: string;
}

function processOf(o: Obj, names: Names): ProcessFields {
  const p: ProcessFields = {};
  const guid = first(...names.guid.map((k) => guidOf(firstOf(o[k]))));
  if (guid !== undefined) p.entity_id = guid;
  const pid = first(...names.pid.map((k) => pidOf(firstOf(o[k]))));
  if (pid !== undefined) p.pid = pid;
  const path = first(...names.path.map((k) => text(o, k, MAX_PATH_CHARS)));
  if (path !== undefined) {
    p.executable = path;
    p.name = clip(winBasename(path), MAX_NAME_CHARS);
  }
  const command = first(...names.command.map((k) => text(o, k, MAX_COMMAND_CHARS)));
  if (command !== undefined) p.command_line = command;
  const user = first(...names.user.map((k) => text(o, k, MAX_NAME_CHARS)));
  if (user !== undefined) p.user = { name: user };
  const hash = hashesOf(o, names.hashList, names.md5, names.sha256);
  if (hash !== undefined) p.hash = hash;
  return p;
}

/** Event search and process search results name the process alike. */
const SEARCH_ACTOR: Names = {
  guid: ['process_guid'],
  pid: ['process_pid'],
  path: ['process_name', 'process_path'],
  command: ['process_cmdline'],
  user: ['process_username'],
  hashList: 'process_hash',
  md5: 'process_md5',
  sha256: 'process_sha256',
};
const ACTOR: Record<Family, Names> = {
  ingress: {
    guid: ['process_guid'],
    pid: ['pid'],
    path: ['process_path'],
    command: [],
    user: ['username'],
    hashList: 'process_hash',
    md5: 'md5',
    sha256: 'sha256',
  },
  endpoint: {
    guid: ['process_guid'],
    pid: ['process_pid'],
    path: ['process_path', 'process_name'],
    command: ['process_cmdline'],
    user: ['process_username'],
    hashList: 'process_hash',
    md5: 'process_md5',
    sha256: 'process_sha256',
  },
  events: SEARCH_ACTOR,
  process: SEARCH_ACTOR,
};
const PARENT: Names = {
  guid: ['parent_guid', 'parent_process_guid'],
  pid: ['parent_pid'],
  path: ['parent_path', 'parent_name'],
  command: ['parent_cmdline'],
  user: [],
  hashList: 'parent_hash',
};
/** The process a Cloud procstart or an event search childproc record says was started. */
const CHILD: Names = {
  guid: ['childproc_guid', 'childproc_process_guid'],
  pid: ['childproc_pid'],
  path: ['childproc_name', 'childproc_path'],
  command: ['childproc_cmdline', 'target_cmdline'],
  user: ['childproc_username'],
  hashList: 'childproc_hash',
  md5: 'childproc_md5',
  sha256: 'childproc_sha256',
};

/** The shape of a record and its event type (`procstart`, `netconn`, …, `process`), or why it is none. */
function kindOf(o: Obj): { family: Family; type: string } | 'unused' | string {
  const type = o.type;
  if (typeof type === 'string') {
    if (type.startsWith('ingress.event.')) return { family: 'ingress', type: type.slice(14, 64) };
    if (type.startsWith('endpoint.event.')) return { family: 'endpoint', type: type.slice(15, 64) };
    if (OTHER_TYPES.test(type)) return 'unused';
    return `type ${clip(JSON.stringify(type), 60)} is no Carbon Black event type (ingress.event.*, endpoint.event.*)`;
  }
  if (typeof o.event_type === 'string') return { family: 'events', type: o.event_type.slice(0, 64) };
  if (guidOf(o.process_guid) !== undefined) return { family: 'process', type: 'process' };
  return 'no Carbon Black record type (type ingress.event.* or endpoint.event.*, event_type, or a process with process_guid)';
}

/** The event's time by shape: the sensor's clock first, the backend's last. */
function timeOf(o: Obj, family: Family): number | string {
  const keys =
    family === 'ingress'
      ? ['timestamp']
      : family === 'endpoint'
        ? ['device_timestamp', 'event_timestamp', 'backend_timestamp']
        : family === 'events'
          ? ['event_timestamp', 'device_timestamp', 'backend_timestamp']
          : ['process_start_time', 'device_timestamp', 'backend_timestamp'];
  for (const key of keys) {
    const raw = o[key];
    if (raw === undefined || raw === null || raw === '') continue;
    const ts = parseTimestamp(raw);
    return ts ?? `${key} ${clip(JSON.stringify(raw) ?? '', 60)} is not a time`;
  }
  return `no time (${keys.join(', ')})`;
}

/**
 * Whether a filemod/regmod action writes or creates (else it deletes or renames away: nothing is left
 * to run); undefined when the record does not say. The EDR forwarder's `action_type` numbers are a
 * bitmask: 1 created, 2 first write, 4 deleted, 8 last write for files and deleted value for keys.
 */
function writes(action: unknown, type: 'filemod' | 'regmod'): boolean | undefined {
  if (typeof action === 'number')
    return !(action === 4 || (action === 8 && type === 'regmod')) && action > 0 && action < 16;
  if (typeof action !== 'string' || action === '') return undefined;
  return /CREATE|WRITE|WROTE|SET_?VALUE/.test(action.slice(0, 256).toUpperCase());
}

function transportOf(v: unknown): string | undefined {
  if (v === 6 || v === '6') return 'tcp';
  if (v === 17 || v === '17') return 'udp';
  if (typeof v !== 'string') return undefined;
  const s = v.toUpperCase().replace(/^PROTO_/, '');
  return s === 'TCP' || s === 'UDP' || s === 'ICMP' ? s.toLowerCase() : undefined;
}

/** The connection of a netconn record: remote and local ends, name, transport and direction. */
function connectionOf(o: Obj, family: Family): Pick<CoalEvent, 'source' | 'destination' | 'network'> {
  const remote: Endpoint = {};
  const local: Endpoint = {};
  const remoteIp =
    family === 'events'
      ? first(
          addressOf(o.netconn_remote_ipv4),
          addressOf(o.netconn_remote_ipv6),
          addressOf(o.netconn_ipv4),
          addressOf(o.event_network_remote_ipv4),
        )
      : first(addressOf(o.remote_ip), addressOf(o.ipv4), addressOf(o.netconn_remote_ipv4));
  if (remoteIp !== undefined) remote.ip = remoteIp;
  const inbound =
    typeof o.direction === 'string'
      ? o.direction.toLowerCase() === 'inbound'
      : o.netconn_inbound === true || o.event_network_inbound === true;
  // the legacy `netconn_port` is the server's port: the remote end's only on an outbound connection
  const remotePort =
    family === 'events'
      ? first(
          portOf(o.netconn_remote_port),
          portOf(o.event_network_remote_port),
          inbound ? undefined : portOf(o.netconn_port),
        )
      : first(portOf(o.remote_port), portOf(o.port), portOf(o.netconn_remote_port));
  if (remotePort !== undefined) remote.port = remotePort;
  const domainRaw = first(
    text(o, 'netconn_domain', MAX_NAME_CHARS + 1),
    text(o, 'domain', MAX_NAME_CHARS + 1),
    text(o, 'netconn_remote_domain', MAX_NAME_CHARS + 1),
  );
  if (domainRaw !== undefined && domainRaw.length <= MAX_NAME_CHARS && !/\s/.test(domainRaw)) remote.domain = domainRaw;
  const localIp = first(
    addressOf(o.local_ip),
    addressOf(o.netconn_local_ipv4),
    addressOf(o.netconn_local_ipv6),
    addressOf(o.event_network_local_ipv4),
  );
  if (localIp !== undefined) local.ip = localIp;
  const localPort = first(portOf(o.local_port), portOf(o.netconn_local_port));
  if (localPort !== undefined) local.port = localPort;
  const network: NonNullable<CoalEvent['network']> = { direction: inbound ? 'inbound' : 'outbound' };
  const transport = transportOf(first(o.protocol, o.netconn_protocol, o.event_network_protocol));
  if (transport !== undefined) network.transport = transport;
  const out: Pick<CoalEvent, 'source' | 'destination' | 'network'> = { network };
  const [src, dst] = inbound ? [remote, local] : [local, remote];
  if (Object.keys(src).length > 0) out.source = src;
  if (Object.keys(dst).length > 0) out.destination = dst;
  return out;
}

/** `carbon-black.ingress.event.procstart`, `carbon-black.endpoint.event.netconn`, `carbon-black.events.childproc`, `carbon-black.process`. */
const DATASET_PREFIX: Record<Family, string> = {
  ingress: 'ingress.event',
  endpoint: 'endpoint.event',
  events: 'events',
  process: 'process',
};

/** A written or loaded file: its path, name and hashes (a `*_hash` list, or md5 and sha256 fields). */
function fileOf(o: Obj, path: string, list: string, hashKeys: [string, string]): NonNullable<CoalEvent['file']> {
  const file: NonNullable<CoalEvent['file']> = { path, name: clip(winBasename(path), MAX_NAME_CHARS) };
  const hash = hashesOf(o, list, hashKeys[0], hashKeys[1]);
  if (hash !== undefined) file.hash = hash;
  return file;
}

/** One record as an event, `'unused'` for a type nothing maps, or why it is not a Carbon Black record. */
export function carbonBlackEvent(o: Obj, where: Where): CoalEvent | 'unused' | string {
  const kind = kindOf(o);
  if (typeof kind === 'string') return kind;
  const { family, type } = kind;
  const actor = processOf(o, ACTOR[family]);
  const body: Partial<CoalEvent> = {};
  let action: EndpointAction;
  let process: ProcessFields | undefined = actor;
  if (family === 'ingress' && type === 'procstart') {
    action = 'exec';
    const path = text(o, 'path', MAX_PATH_CHARS);
    if (path !== undefined) {
      actor.executable = path;
      actor.name = clip(winBasename(path), MAX_NAME_CHARS);
    }
    const command = text(o, 'command_line', MAX_COMMAND_CHARS);
    if (command !== undefined) actor.command_line = command;
    const parent = processOf(o, PARENT);
    // the forwarder's `parent_guid` is a number; the parent's guid is in its console link, if anywhere
    const linked = text(o, 'link_parent', 1024);
    const fromLink = linked !== undefined ? ANALYZE_LINK.exec(linked)?.[1] : undefined;
    if (parent.entity_id === undefined && fromLink !== undefined) parent.entity_id = fromLink;
    const p = parentOf(parent);
    if (p !== undefined) actor.parent = p;
  } else if (
    (family === 'endpoint' && type === 'procstart') ||
    (family === 'events' && type === 'childproc') ||
    family === 'process'
  ) {
    action = 'exec';
    if (family === 'process') {
      const p = parentOf(processOf(o, PARENT));
      if (p !== undefined) actor.parent = p;
    } else {
      // written by the parent: the process started is the childproc
      const child = processOf(o, CHILD);
      if (child.entity_id === undefined && child.pid === undefined && child.executable === undefined)
        return `${type} without the process it started (childproc_guid, childproc_pid, childproc_name)`;
      const p = parentOf(actor);
      if (p !== undefined) child.parent = p;
      process = child;
    }
  } else if (type === 'procend') {
    action = 'exit';
  } else if (type === 'netconn') {
    action = 'connect';
    Object.assign(body, connectionOf(o, family));
    if (body.destination?.ip === undefined && body.destination?.domain === undefined)
      return 'netconn without a remote address or name';
  } else if (type === 'filemod') {
    const path = text(o, family === 'ingress' ? 'path' : 'filemod_name', MAX_PATH_CHARS);
    if (path === undefined) return 'filemod without the file (path, filemod_name)';
    const writing = writes(family === 'ingress' ? (o.action ?? o.action_type) : o.filemod_action, 'filemod');
    if (writing === false) return 'unused';
    action = 'file-write';
    body.file = fileOf(
      o,
      path,
      'filemod_hash',
      family === 'ingress' ? ['file_md5', 'file_sha256'] : ['filemod_md5', 'filemod_sha256'],
    );
  } else if (type === 'regmod') {
    const raw = text(o, family === 'ingress' ? 'path' : 'regmod_name', MAX_PATH_CHARS);
    if (raw === undefined) return 'regmod without the key (path, regmod_name)';
    const writing = writes(family === 'ingress' ? (o.action ?? o.action_type) : o.regmod_action, 'regmod');
    if (writing === false) return 'unused';
    action = 'registry-set';
    let path = raw;
    for (const [root, hive] of REGISTRY_ROOTS) path = path.replace(root, hive);
    const slash = path.lastIndexOf('\\');
    body.registry = slash >= 0 ? { path, value: path.slice(slash + 1) } : { path };
  } else if (type === 'moduleload' || type === 'modload') {
    const path = text(o, family === 'ingress' ? 'path' : 'modload_name', MAX_PATH_CHARS);
    if (path === undefined) return `${type} without the module (path, modload_name)`;
    // a module that is a kernel driver image is a driver load; other modules (DLLs) nothing reads
    if (!/\.sys$/i.test(path)) return 'unused';
    action = 'driver-load';
    const file = fileOf(
      o,
      path,
      'modload_hash',
      family === 'ingress' ? ['md5', 'sha256'] : ['modload_md5', 'modload_sha256'],
    );
    const signer = text(o, 'modload_publisher', MAX_NAME_CHARS);
    if (signer !== undefined) file.signature = signer;
    body.file = file;
    // the driver's hashes are the module's, not the loading process's
    if (family === 'ingress') delete actor.hash;
  } else return 'unused';

  const ts = timeOf(o, family);
  if (typeof ts === 'string') return ts;
  if (process.pid === undefined && process.entity_id === undefined && process.executable === undefined) {
    if (action === 'exec' || action === 'exit') return `${type} names no process (process_guid, pid, path)`;
    process = undefined;
  }
  const platform = platformOf(o, process?.executable ?? actor.executable ?? body.file?.path);
  if (process?.command_line !== undefined && platform !== undefined && platform !== 'windows')
    process.args = splitArgv(process.command_line, { maxChars: MAX_COMMAND_CHARS, maxArgs: MAX_ARGS }).args;
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      ...headOf(action),
      dataset: `${NAME}.${DATASET_PREFIX[family]}${family === 'process' ? '' : `.${type}`}`,
    },
    ...(process !== undefined ? { process } : {}),
    ...body,
    original: originalOf(o, ORIGINAL),
    coalmine: { ts, format: NAME, ref: { file: where.file, line: where.line } },
  };
  const host =
    hostOf(o.computer_name) ??
    hostOf(o.device_name) ??
    (where.hostHint ? clip(where.hostHint, MAX_NAME_CHARS) : undefined);
  if (host !== undefined || platform !== undefined)
    event.host = {
      ...(host !== undefined ? { name: host } : {}),
      ...(platform !== undefined ? { os: { platform } } : {}),
    };
  return event;
}

/** The records of an input in either shape; a line holding an API answer gives each of its results. */
async function* records(input: SourceInput, context: SourceContext): AsyncGenerator<JsonRecord> {
  for await (const item of jsonRecords(input, context, CODE, ['results'], API_ANSWER)) {
    if ('issue' in item || !isObject(item.value) || !Array.isArray(item.value.results)) {
      yield item;
      continue;
    }
    const results = item.value.results;
    for (let i = 0; i < results.length && i < MAX_LINE_RECORDS; i++) yield { value: results[i], line: item.line };
    if (results.length > MAX_LINE_RECORDS)
      yield {
        issue: issue(
          { file: input.name, line: item.line },
          `${CODE}_TOO_MANY_RECORDS`,
          `${results.length - MAX_LINE_RECORDS} results after the first ${MAX_LINE_RECORDS} are not read`,
          'reading',
        ),
      };
  }
}

/** How sure a record (or a cut first line's text) is Carbon Black's. */
function scoreRecord(o: unknown): number {
  if (!isObject(o)) return 0;
  if (Array.isArray(o.results)) return scoreRecord(o.results[0]);
  const type = o.type;
  if (typeof type === 'string') {
    if (type.startsWith('ingress.event.') && ('process_guid' in o || 'computer_name' in o || 'sensor_id' in o))
      return 95;
    if (type.startsWith('endpoint.event.') && ('process_guid' in o || 'device_name' in o || 'org_key' in o)) return 95;
    return 'cb_server' in o && OTHER_TYPES.test(type) ? 70 : 0;
  }
  if (guidOf(o.process_guid) === undefined) return 0;
  if (typeof o.event_type === 'string' && ('event_timestamp' in o || 'backend_timestamp' in o)) return 90;
  return 'process_pid' in o && ('device_name' in o || 'backend_timestamp' in o) ? 85 : 0;
}

function scoreText(t: string): number {
  if (/"type"\s*:\s*"(?:ingress|endpoint)\.event\.[a-z_]{2,32}"/.test(t) && /"process_guid"\s*:/.test(t)) return 90;
  if (/"process_guid"\s*:/.test(t) && /"(?:event_timestamp|backend_timestamp|device_timestamp)"\s*:/.test(t))
    return /"(?:event_type|process_pid)"\s*:/.test(t) ? 80 : 0;
  return 0;
}

export const carbonBlack: SourceDescriptor = {
  name: NAME,
  summary:
    'Carbon Black EDR event forwarder (ingress.event.*), Cloud data forwarder (endpoint.event.*) and Enterprise EDR event/process search results: process starts with guid lineage, netconns, file and registry writes, driver loads',
  platform: 'generic',
  delivers: 'events',
  sniff(head) {
    // a document's first record may start on a later line (pretty-printed): read its text
    if (isJsonDocument(head, API_ANSWER)) return scoreText(head.slice(0, 16 * 1024));
    return sniffJsonLine(head, scoreRecord, scoreText);
  },
  read(input, context) {
    // search results come in the query's sort (newest first by default) and forwarder files by arrival: in
    // file order the engine would take each older record as a late one
    return timeOrdered(batches(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

async function* batches(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  let batch: SourceBatch = { events: [], issues: [], unused: 0 };
  for await (const item of records(input, context)) {
    if ('issue' in item) batch.issues.push(item.issue);
    else {
      const mapped = isObject(item.value)
        ? carbonBlackEvent(item.value, { file: input.name, line: item.line, hostHint: input.hostHint })
        : 'record is JSON but not an object';
      if (mapped === 'unused') batch.unused = (batch.unused ?? 0) + 1;
      else if (typeof mapped === 'string')
        batch.issues.push(issue({ file: input.name, line: item.line }, `${CODE}_BAD_RECORD`, mapped));
      else batch.events.push(mapped);
    }
    if (batch.events.length + batch.issues.length >= BATCH_EVENTS) {
      yield batch;
      batch = { events: [], issues: [], unused: 0 };
    }
  }
  if (batch.events.length > 0 || batch.issues.length > 0 || (batch.unused ?? 0) > 0) yield batch;
}
