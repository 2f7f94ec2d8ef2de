/**
 * SentinelOne Deep Visibility / Singularity Data Lake exports, one record one event: JSON lines (Cloud
 * Funnel, SDL and Event Search exports), a JSON array, or an API answer (the Deep Visibility API's
 * `{"data":[…]}`, the SDL query API's `{"matches":[{"attributes":{…}}]}`). Field names are the dotted
 * OCSF-like ones (`src.process.uid`, `tgt.process.cmdline`), as flat keys or nested objects, or the older
 * Deep Visibility columns (`srcProcUid`, `tgtProcCmdLine`, `processName`, `agentName`), matched without case.
 * A mapping only: the Windows and Linux classifiers read what it gives as they read Sysmon and auditd.
 */
import type { CoalEvent, ProcessFields } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { hostOfAuthority } from '../util/ip.js';
import { parseTimestamp } from '../util/time.js';
import { type EndpointAction, headOf, parentOf, pidOf } from './edr-fields.js';
import { DOCUMENT_BOUNDS, isJsonDocument, jsonDocumentRecords } from './json-document.js';
import { type JsonLineResult, readJsonLines, sniffJsonLine } from './lines.js';
import { endpointOf, isObject, textOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';
import { parseQueryResults, persistenceEntry, winBasename } from './win-event.js';

type Obj = Record<string, unknown>;
const NAME = 'sentinelone';
const CODE = 'SENTINELONE';
const MAX_COMMAND_CHARS = 8192;
const MAX_PATH_CHARS = 4096;
const MAX_NAME_CHARS = 256;
const MAX_ID_CHARS = 128;
/** A record is flattened to at most this many leaves, this deep, keys this long: a Deep Visibility record has ~200. */
const MAX_LEAVES = 2048;
const MAX_DEPTH = 8;
const MAX_KEY_CHARS = 256;
/** Values kept in `original`: the ones the mapping read, and these many at most. */
const MAX_ORIGINAL_KEYS = 64;
const MAX_ORIGINAL_CHARS = 2048;
const BATCH = 512;
/** Whole documents (an API answer, a JSON array): bounded as the other document readers are. */
const DOCUMENT_LIMITS = { ...DOCUMENT_BOUNDS, code: CODE, recordKeys: ['data', 'matches'] };
/**
 * An answer on one line: its records array opens among its first keys (`{"status":"success","matches":[`),
 * not necessarily the first as Defender's and Carbon Black's do.
 */
const API_ANSWER = /^\{.*?"(?:data|matches)"\s*:\s*\[/;

/** What each event type is, keyed by the type lower-cased without spaces (Cloud Funnel writes `IPConnect`, the console `IP Connect`). */
type Kind = 'exec' | 'exit' | 'kill' | 'connect' | 'listen' | 'dns' | 'task' | 'file' | 'registry' | 'url';
const KINDS: Record<string, Kind> = {
  processcreation: 'exec',
  processexit: 'exit',
  remoteprocesstermination: 'kill',
  ipconnect: 'connect',
  iplisten: 'listen',
  dnsresolved: 'dns',
  dnsunresolved: 'dns',
  taskregister: 'task',
  taskupdate: 'task',
  filecreation: 'file',
  filemodification: 'file',
  filerename: 'file',
  registryvaluecreate: 'registry',
  registryvaluemodified: 'registry',
  registrykeycreate: 'registry',
};
/** HTTP request events are named by their method. */
const HTTP_METHODS = new Set(['get', 'post', 'put', 'delete', 'head', 'options', 'connect', 'patch']);
const ACTIONS: Record<Kind, EndpointAction> = {
  exec: 'exec',
  exit: 'exit',
  kill: 'kill',
  connect: 'connect',
  listen: 'listen',
  dns: 'dns-query',
  task: 'persistence-entry',
  file: 'file-write',
  registry: 'registry-set',
  url: 'connect',
};

/** The processes a record names: the actor (`src`), its parent, and the process it acted on (`tgt`). */
type Role = 'src' | 'parent' | 'tgt';
type Attr = 'pid' | 'uid' | 'storyline' | 'name' | 'cmdline' | 'path' | 'sha256' | 'sha1' | 'md5' | 'user' | 'start';
/** Each attribute's dotted suffix and older column suffix, lower-cased. */
const ATTRS: Record<Attr, [string, string]> = {
  pid: ['pid', 'pid'],
  uid: ['uid', 'uid'],
  storyline: ['storyline.id', 'storylineid'],
  name: ['name', 'name'],
  cmdline: ['cmdline', 'cmdline'],
  path: ['image.path', 'imagepath'],
  sha256: ['image.sha256', 'imagesha256'],
  sha1: ['image.sha1', 'imagesha1'],
  md5: ['image.md5', 'imagemd5'],
  user: ['user', 'user'],
  start: ['starttime', 'starttime'],
};
const ROLE_PREFIXES: Record<Role, [string, string]> = {
  src: ['src.process.', 'srcproc'],
  parent: ['src.process.parent.', 'srcprocparent'],
  tgt: ['tgt.process.', 'tgtproc'],
};
/**
 * Deep Visibility 1.0 columns, still in the v2.1 API's answer beside the srcProc* ones: the process the
 * event is about and its parent (`processName`, `parentProcessUniqueKey`).
 */
const LEGACY: Partial<Record<Role, Partial<Record<Attr, string>>>> = {
  src: {
    pid: 'pid',
    uid: 'processuniquekey',
    name: 'processname',
    cmdline: 'processcmd',
    path: 'processimagepath',
    sha1: 'processimagesha1hash',
    user: 'user',
    start: 'processstarttime',
  },
  parent: {
    pid: 'parentpid',
    uid: 'parentprocessuniquekey',
    name: 'parentprocessname',
    start: 'parentprocessstarttime',
  },
};

function namesOf(role: Role, attr: Attr, legacy: boolean): string[] {
  const [dotted, camel] = ROLE_PREFIXES[role];
  const out = [`${dotted}${ATTRS[attr][0]}`, `${camel}${ATTRS[attr][1]}`];
  if (role === 'parent' && attr === 'uid') out.push('srcprocparentprocuid');
  const old = legacy ? LEGACY[role]?.[attr] : undefined;
  if (old !== undefined) out.push(old);
  return out;
}

/** Every role's attribute names, without and with the legacy columns, built once. */
type RoleNames = Record<Attr, string[]>;
const NAMES = {} as Record<Role, [RoleNames, RoleNames]>;
for (const role of Object.keys(ROLE_PREFIXES) as Role[]) {
  const [plain, legacy] = [{} as RoleNames, {} as RoleNames];
  for (const attr of Object.keys(ATTRS) as Attr[]) {
    plain[attr] = namesOf(role, attr, false);
    legacy[attr] = namesOf(role, attr, true);
  }
  NAMES[role] = [plain, legacy];
}

const F = {
  type: ['event.type', 'eventtype'],
  time: ['event.time', 'eventtime', 'createdat'],
  id: ['event.id', 'id'],
  host: ['endpoint.name', 'endpointname', 'agentname', 'agent.computername'],
  hostId: ['agent.uuid', 'agentuuid', 'agentid', 'agent.id'],
  os: ['endpoint.os', 'endpointos', 'agentos', 'agent.os'],
  category: ['event.category', 'objecttype'],
  meta: ['meta.event.name', 'metaeventname'],
  srcIp: ['src.ip.address', 'srcip'],
  srcPort: ['src.port.number', 'srcport'],
  dstIp: ['dst.ip.address', 'dstip'],
  dstPort: ['dst.port.number', 'dstport'],
  direction: ['event.network.direction', 'neteventdirection', 'direction'],
  status: ['event.network.connectionstatus', 'netconnstatus', 'connectionstatus'],
  protocol: ['event.network.protocolname', 'netprotocolname'],
  dnsRequest: ['event.dns.request', 'dnsrequest'],
  dnsResponse: ['event.dns.response', 'dnsresponse'],
  taskName: ['task.name', 'taskname'],
  taskPath: ['task.path', 'taskpath'],
  filePath: ['tgt.file.path', 'tgtfilepath', 'filefullname'],
  fileSha256: ['tgt.file.sha256', 'tgtfilesha256', 'filesha256'],
  fileSha1: ['tgt.file.sha1', 'tgtfilesha1', 'filesha1'],
  fileMd5: ['tgt.file.md5', 'tgtfilemd5', 'filemd5'],
  registryPath: ['registry.keypath', 'registrykeypath', 'registrypath'],
  registryValue: ['registry.value', 'registryvalue'],
  url: ['url.address', 'url', 'networkurl'],
} as const satisfies Record<string, readonly string[]>;

/**
 * A record's leaves by their dotted path, lower-cased: flat keys, nested objects and any mix look alike.
 * Null and empty values are left out (the v2.1 API writes `null` for every column a record lacks); the
 * record's own spelling of a path is kept only where it differs from the lower-cased one.
 */
interface Leaves {
  values: Map<string, unknown>;
  spelled: Map<string, string>;
}

function leavesOf(o: Obj): Leaves {
  const values = new Map<string, unknown>();
  const spelled = new Map<string, string>();
  let seen = 0;
  const walk = (obj: Obj, prefix: string, depth: number): void => {
    for (const key in obj) {
      if (++seen > MAX_LEAVES) return;
      if (key.length > MAX_KEY_CHARS) continue;
      const v = obj[key];
      if (v === null || v === '') continue;
      const path = prefix === '' ? key : `${prefix}.${key}`;
      if (isObject(v)) {
        if (depth < MAX_DEPTH) walk(v, path, depth + 1);
        continue;
      }
      const lower = path.toLowerCase();
      if (values.has(lower)) continue;
      values.set(lower, v);
      if (lower !== path) spelled.set(lower, path);
    }
  };
  walk(o, '', 0);
  return { values, spelled };
}

/** One record's values, each read once by its first present name; what was read is kept as `original`. */
class Fields {
  readonly original: Record<string, unknown> = {};
  private kept = 0;

  constructor(readonly leaves: Leaves) {}

  raw(names: readonly string[]): unknown {
    const values = this.leaves.values;
    for (const name of names) {
      const v = values.get(name);
      if (v === undefined) continue;
      const key = clip(this.leaves.spelled.get(name) ?? name, MAX_KEY_CHARS);
      if (this.kept < MAX_ORIGINAL_KEYS && !Object.hasOwn(this.original, key)) {
        this.kept++;
        this.original[key] =
          typeof v === 'string'
            ? clip(v, MAX_ORIGINAL_CHARS)
            : typeof v === 'number' || typeof v === 'boolean'
              ? v
              : '…';
      }
      return v;
    }
    return undefined;
  }

  text(names: readonly string[], max = MAX_PATH_CHARS): string | undefined {
    return textOf(this.raw(names), max);
  }

  has(names: readonly string[]): boolean {
    return names.some((n) => this.leaves.values.has(n));
  }

  proc(role: Role, attr: Attr, legacy: boolean): unknown {
    return this.raw(NAMES[role][legacy ? 1 : 0][attr]);
  }
}

/** Epoch ms, s, µs or ns (the SDL query API's match timestamps are nanoseconds), or ISO 8601. */
function timeOf(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{15,20}$/.test(v) ? Number(v) : typeof v === 'number' ? v : undefined;
  if (n !== undefined && n > 1e17) return parseTimestamp(Math.floor(n / 1e6));
  if (n !== undefined && n > 1e14) return parseTimestamp(Math.floor(n / 1e3));
  return parseTimestamp(v);
}

const HEX: Record<'sha256' | 'sha1' | 'md5', RegExp> = {
  sha256: /^[0-9a-f]{64}$/,
  sha1: /^[0-9a-f]{40}$/,
  md5: /^[0-9a-f]{32}$/,
};

function hashes(
  sha256: unknown,
  sha1: unknown,
  md5: unknown,
): { sha256?: string; sha1?: string; md5?: string } | undefined {
  const out: { sha256?: string; sha1?: string; md5?: string } = {};
  for (const [k, v] of [
    ['sha256', sha256],
    ['sha1', sha1],
    ['md5', md5],
  ] as const) {
    const hex = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
    if (hex !== undefined && HEX[k].test(hex)) out[k] = hex;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A process unique id (`F59445BAF5BC03DA`): lower-cased as the ProcessGuids of Sysmon are. */
function idOf(v: unknown): string | undefined {
  return textOf(v, MAX_ID_CHARS)?.toLowerCase();
}

/** One role's process, or undefined when the record names no pid, id, name or image for it. */
function processOf(f: Fields, role: Role, legacy: boolean): ProcessFields | undefined {
  const p: ProcessFields = {};
  const pid = pidOf(f.proc(role, 'pid', legacy));
  if (pid !== undefined) p.pid = pid;
  const uid = idOf(f.proc(role, 'uid', legacy));
  if (uid !== undefined) p.entity_id = uid;
  const path = textOf(f.proc(role, 'path', legacy), MAX_PATH_CHARS);
  if (path !== undefined) p.executable = path;
  const name =
    textOf(f.proc(role, 'name', legacy), MAX_NAME_CHARS) ?? (path && clip(winBasename(path), MAX_NAME_CHARS));
  if (name) p.name = name;
  const cmd = textOf(f.proc(role, 'cmdline', legacy), MAX_COMMAND_CHARS);
  if (cmd !== undefined) p.command_line = cmd;
  const hash = hashes(f.proc(role, 'sha256', legacy), f.proc(role, 'sha1', legacy), f.proc(role, 'md5', legacy));
  if (hash !== undefined) p.hash = hash;
  const user = textOf(f.proc(role, 'user', legacy), MAX_NAME_CHARS);
  if (user !== undefined) p.user = { name: user };
  const start = timeOf(f.proc(role, 'start', legacy));
  if (start !== undefined) p.start = new Date(start).toISOString();
  f.proc(role, 'storyline', legacy); // kept in `original`: the storyline is the tree, not the process
  return Object.keys(p).length > 0 ? p : undefined;
}

/** The actor with its parent: srcProc* names first, then the Deep Visibility 1.0 columns. */
function actorOf(f: Fields): ProcessFields | undefined {
  const p = processOf(f, 'src', true);
  const parent = parentOf(processOf(f, 'parent', true));
  if (p !== undefined && parent !== undefined) p.parent = parent;
  return p;
}

function platformOf(f: Fields, path: string | undefined): string | undefined {
  const os = f.text(F.os, 32)?.toLowerCase();
  if (os === 'windows' || os === 'linux') return os;
  if (os === 'osx' || os === 'macos') return 'macos';
  // no endpoint.os: the image path says which (a drive letter or backslash, or a rooted POSIX path)
  if (path === undefined) return undefined;
  if (/^[a-z]:\\/i.test(path) || path.includes('\\')) return 'windows';
  return path.startsWith('/') ? 'linux' : undefined;
}

/** The registry as Windows spells it (`MACHINE\…` is HKLM, `USER\…` HKU), what Sysmon writes and the rules read. */
function registryPathOf(v: string): string {
  if (/^machine\\/i.test(v)) return `HKLM\\${v.slice(8)}`;
  if (/^user\\/i.test(v)) return `HKU\\${v.slice(5)}`;
  return v;
}

/** A URL's host, for the name the network classifier matches. */
function urlDomainOf(url: string): string | undefined {
  const rest = url.replace(/^[a-z][a-z0-9+.-]{0,15}:\/\//i, '');
  const end = rest.search(/[/?#]/);
  const authority = (end < 0 ? rest : rest.slice(0, end)).replace(/^[^@]{0,256}@/, '');
  const host = hostOfAuthority(authority);
  return host && !host.address && host.host.length <= MAX_NAME_CHARS ? host.host.toLowerCase() : undefined;
}

interface Where {
  file: string;
  line: number;
  hostHint?: string;
}

/** The record an SDL query match carries in `attributes`, dated by its `timestamp`; any other record is itself. */
function unwrap(o: Obj): { record: Obj; time?: unknown } {
  if (isObject(o.attributes) && o['event.type'] === undefined && o.eventType === undefined && !isObject(o.event))
    return { record: o.attributes, time: o.timestamp };
  return { record: o };
}

/** One record as an event, `'unused'` for an event type nothing reads, or why it is no event. */
export function sentinelOneEvent(o: unknown, where: Where): JsonLineResult {
  if (!isObject(o)) return 'record is not a JSON object';
  const { record, time } = unwrap(o);
  const f = new Fields(leavesOf(record));
  const typeText = f.text(F.type, 128);
  if (typeText === undefined) return 'no event.type (or eventType)';
  const typeKey = typeText.toLowerCase().replace(/[^a-z]/g, '');
  const category = f.text(F.category, 64)?.toLowerCase();
  const kind: Kind | undefined = Object.hasOwn(KINDS, typeKey)
    ? KINDS[typeKey]
    : HTTP_METHODS.has(typeKey) || category === 'url'
      ? 'url'
      : undefined;
  if (kind === undefined) return 'unused';
  const rawTime = f.raw(F.time) ?? time;
  const ts = timeOf(rawTime);
  if (ts === undefined)
    return rawTime === undefined
      ? 'no event.time (or eventTime)'
      : `event.time ${clip(JSON.stringify(rawTime) ?? '', 60)} is not a time`;
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], action: 'exec', dataset: `${NAME}.${typeKey}` },
    original: f.original,
    coalmine: { ts, format: NAME, ref: { file: where.file, line: where.line } },
  };
  const reason = fill(event, kind, typeKey, f);
  if (reason !== undefined) return reason;
  const id = f.text(F.id, MAX_ID_CHARS);
  if (id !== undefined) event.event.id = id;
  const host: NonNullable<CoalEvent['host']> = {};
  const name = f.text(F.host, MAX_NAME_CHARS) ?? (where.hostHint && clip(where.hostHint, MAX_NAME_CHARS));
  if (name) host.name = name;
  const hostId = f.text(F.hostId, MAX_ID_CHARS);
  if (hostId !== undefined) host.id = hostId;
  const platform = platformOf(f, event.process?.executable ?? event.process?.parent?.executable);
  if (platform !== undefined) host.os = { platform };
  if (Object.keys(host).length > 0) event.host = host;
  return event;
}

/** The event's body by kind; a reason when the record lacks what its kind needs. */
function fill(event: CoalEvent, kind: Kind, typeKey: string, f: Fields): string | undefined {
  // a file event is a creation whichever it is (Deep Visibility's modifications and renames too), a task update a change
  const head = headOf(
    ACTIONS[kind],
    kind === 'file' ? 'creation' : kind === 'task' && typeKey === 'taskupdate' ? 'change' : undefined,
  );
  event.event.category = head.category;
  event.event.type = head.type;
  event.event.action = head.action;
  switch (kind) {
    case 'exec': {
      // Process Creation: the actor (src) created the target (tgt); Deep Visibility 1.0 records name the new
      // process in its process* columns and its creator in parentProcess*
      const tgt = processOf(f, 'tgt', false);
      if (tgt?.pid !== undefined || tgt?.entity_id !== undefined) {
        const parent = parentOf(processOf(f, 'src', false));
        if (parent !== undefined) tgt.parent = parent;
        event.process = tgt;
        return undefined;
      }
      if (f.has(NAMES.src[0].pid) || f.has(NAMES.src[0].uid))
        return 'Process Creation without tgt.process.pid or tgt.process.uid';
      const p = actorOf(f);
      if (p?.pid === undefined && p?.entity_id === undefined)
        return 'Process Creation without tgt.process.pid or tgt.process.uid';
      event.process = p;
      return undefined;
    }
    case 'exit': {
      const p = actorOf(f);
      if (p?.pid === undefined && p?.entity_id === undefined) return 'Process Exit without src.process.pid or uid';
      event.process = p;
      return undefined;
    }
    case 'kill': {
      const p = actorOf(f);
      const victim = processOf(f, 'tgt', false);
      if (victim?.pid === undefined && victim?.name === undefined) return 'process termination without a tgt.process';
      const target: NonNullable<ProcessFields['target']> = {};
      if (victim.pid !== undefined) target.pid = victim.pid;
      if (victim.name !== undefined) target.name = victim.name;
      if (victim.executable !== undefined) target.executable = victim.executable;
      event.process = { ...p, target };
      return undefined;
    }
    case 'connect':
    case 'listen':
    case 'url': {
      const p = actorOf(f);
      if (p !== undefined) event.process = p;
      const source = endpointOf(f.raw(F.srcIp), f.raw(F.srcPort));
      const destination = endpointOf(f.raw(F.dstIp), f.raw(F.dstPort));
      if (source !== undefined) event.source = source;
      if (destination !== undefined) event.destination = destination;
      const network: NonNullable<CoalEvent['network']> = {};
      const direction = f.text(F.direction, 32)?.toLowerCase();
      if (direction === 'outgoing' || direction === 'incoming')
        network.direction = direction === 'outgoing' ? 'outbound' : 'inbound';
      const meta = f.text(F.meta, 32)?.toLowerCase();
      if (meta?.startsWith('tcp')) network.transport = 'tcp';
      else if (meta?.startsWith('udp')) network.transport = 'udp';
      const protocol = f.text(F.protocol, 32)?.toLowerCase();
      if (protocol !== undefined) network.protocol = protocol;
      if (Object.keys(network).length > 0) event.network = network;
      const status = f.text(F.status, 32)?.toLowerCase();
      if (status === 'success') event.event.outcome = 'success';
      else if (status === 'failure' || status === 'failed') event.event.outcome = 'failure';
      if (kind === 'url') {
        const url = f.text(F.url, MAX_PATH_CHARS);
        if (url === undefined && destination?.ip === undefined) return 'URL event without url.address';
        if (url !== undefined) {
          const domain = urlDomainOf(url);
          event.url = domain !== undefined ? { full: url, domain } : { full: url };
        }
        if (HTTP_METHODS.has(typeKey)) event.http = { request: { method: typeKey.toUpperCase() } };
        return undefined;
      }
      if (kind === 'connect' && destination?.ip === undefined) return 'IP Connect without dst.ip.address';
      return undefined;
    }
    case 'dns': {
      const name = f.text(F.dnsRequest, MAX_NAME_CHARS);
      if (name === undefined) return 'DNS event without event.dns.request';
      const dns: NonNullable<CoalEvent['dns']> = { question: { name } };
      const ips = parseQueryResults(f.text(F.dnsResponse, 8192));
      if (ips !== undefined) dns.resolved_ip = ips;
      event.dns = dns;
      event.event.outcome = typeKey === 'dnsunresolved' ? 'failure' : 'success';
      const p = actorOf(f);
      if (p !== undefined) event.process = p;
      return undefined;
    }
    case 'task': {
      // what a task runs is its path (Deep Visibility records no arguments); the actor that registered it is
      // in `original`, as a 4698's subject is: the process fields of a persistence entry describe what it launches
      const name = f.text(F.taskName, MAX_PATH_CHARS);
      const path = f.text(F.taskPath, MAX_COMMAND_CHARS);
      if (name === undefined && path === undefined) return 'task event without task.name or task.path';
      const user = textOf(f.proc('src', 'user', true), MAX_NAME_CHARS);
      const task = persistenceEntry(
        'scheduled-task',
        name,
        path !== undefined ? { command: path } : undefined,
        user,
        MAX_COMMAND_CHARS,
      );
      event.file = task.file;
      if (task.process) event.process = task.process;
      processOf(f, 'src', true);
      event.coalmine.persistence = task.persistence;
      return undefined;
    }
    case 'file': {
      const path = f.text(F.filePath, MAX_PATH_CHARS);
      if (path === undefined) return 'file event without tgt.file.path';
      const file: NonNullable<CoalEvent['file']> = { path, name: clip(winBasename(path), MAX_NAME_CHARS) };
      const hash = hashes(f.raw(F.fileSha256), f.raw(F.fileSha1), f.raw(F.fileMd5));
      if (hash !== undefined) file.hash = hash;
      event.file = file;
      const p = actorOf(f);
      if (p !== undefined) event.process = p;
      return undefined;
    }
    case 'registry': {
      const keyPath = f.text(F.registryPath, MAX_PATH_CHARS);
      if (keyPath === undefined) return 'registry event without registry.keyPath';
      const path = registryPathOf(keyPath);
      const registry: NonNullable<CoalEvent['registry']> = { path };
      const slash = path.lastIndexOf('\\');
      if (typeKey !== 'registrykeycreate' && slash >= 0) registry.value = path.slice(slash + 1);
      const data = f.text(F.registryValue, MAX_COMMAND_CHARS);
      if (data !== undefined) registry.data = data;
      event.registry = registry;
      const p = actorOf(f);
      if (p !== undefined) event.process = p;
      return undefined;
    }
  }
}

// ---- sniffing ----

/** Names only SentinelOne writes: the actor and target process families, the storyline, its meta event names. */
function namesSentinelOne(leaves: Leaves): boolean {
  if (textOf(leaves.values.get('datasource.name'))?.toLowerCase() === 'sentinelone') return true;
  for (const key of leaves.values.keys())
    if (
      key.startsWith('src.process.') ||
      key.startsWith('tgt.process.') ||
      key.startsWith('srcproc') ||
      key.startsWith('tgtproc') ||
      key === 'processuniquekey' ||
      key === 'storyline' ||
      key === 'truecontext' ||
      key === 'meta.event.name' ||
      key === 'metaeventname'
    )
      return true;
  return false;
}

function sniffRecord(o: unknown): number {
  if (!isObject(o)) return 0;
  const leaves = leavesOf(unwrap(o).record);
  const type = leaves.values.get('event.type') ?? leaves.values.get('eventtype');
  return typeof type === 'string' && namesSentinelOne(leaves) ? 95 : 0;
}

/** A head whose first record cannot be parsed alone (a document, or a long line cut): its text. */
const TYPE_TEXT = /"(?:event\.type|eventType)"\s*:\s*"|"event"\s*:\s*\{[^{}]{0,4096}?"type"\s*:\s*"/;
const ACTOR_TEXT =
  /"(?:src|tgt)\.process\.[A-Za-z.]{1,48}"\s*:|"(?:src|tgt)Proc[A-Z][A-Za-z]{0,48}"\s*:|"(?:processUniqueKey|trueContext|meta\.event\.name|metaEventName)"\s*:|"(?:src|tgt)"\s*:\s*\{\s*"process"\s*:/;

function sniffText(head: string): number {
  return TYPE_TEXT.test(head) && ACTOR_TEXT.test(head) ? 90 : 0;
}

// ---- reading ----

function add(batch: SourceBatch, result: JsonLineResult, file: string, line: number, out: Issue[]): void {
  if (result === 'unused') batch.unused = (batch.unused ?? 0) + 1;
  else if (typeof result === 'string') out.push(issue({ file, line }, `${CODE}_BAD_RECORD`, result));
  else batch.events.push(result);
}

async function* documentBatches(input: SourceInput): AsyncGenerator<SourceBatch> {
  const file = input.name;
  let batch: SourceBatch = { events: [], issues: [], unused: 0 };
  for await (const item of jsonDocumentRecords(input, DOCUMENT_LIMITS)) {
    if ('issue' in item) batch.issues.push(item.issue);
    else
      add(
        batch,
        sentinelOneEvent(item.value, { file, line: item.line, hostHint: input.hostHint }),
        file,
        item.line,
        batch.issues,
      );
    if (batch.events.length + batch.issues.length >= BATCH) {
      yield batch;
      batch = { events: [], issues: [], unused: 0 };
    }
  }
  if (batch.events.length > 0 || batch.issues.length > 0 || (batch.unused ?? 0) > 0) yield batch;
}

function lineBatches(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  return readJsonLines(input, context, CODE, (o, line) => {
    // an API answer written as one line of a JSON-lines file: its records are not this reader's lines
    if (isObject(o) && (Array.isArray(o.data) || Array.isArray(o.matches)))
      return 'an API answer ({"data":[…]}) inside JSON lines: give it as a file of its own';
    return sentinelOneEvent(o, { file: input.name, line, hostHint: input.hostHint });
  });
}

export const sentinelone: SourceDescriptor = {
  name: NAME,
  summary:
    'SentinelOne Deep Visibility / Singularity Data Lake exports (JSON lines, arrays, API answers): process creation, IP connect, DNS, scheduled tasks, file and registry writes',
  platform: 'generic',
  delivers: 'events',
  sniff(head) {
    if (isJsonDocument(head, API_ANSWER)) return sniffText(head);
    return sniffJsonLine(head, sniffRecord, sniffText);
  },
  read(input, context) {
    const batches = isJsonDocument(input.head.toString('utf8'), API_ANSWER)
      ? documentBatches(input)
      : lineBatches(input, context);
    // the Deep Visibility API answers newest first (its cursors say `"sort_order": "desc"`) and a console
    // export keeps the grid's sort: in file order the engine would take each older record as a late one
    return timeOrdered(batches, input.name, CODE, BATCH);
  },
};
