/**
 * Elastic Defend (Elastic Endpoint) and Elastic Agent documents as exported from Elasticsearch: ECS
 * documents bare or as `_search` hits (`{"_index","_id","_source"}`), one per line (elasticdump,
 * `jq -c '.hits.hits[]'`), in a JSON array, or whole `_search` responses (`{"took",…,"hits":{"hits":[…]}}`,
 * compact or pretty-printed, several back to back, each hit read alone from `hits.hits`). A mapping only, by ECS meaning: process start/exec,
 * end and already_running are exec, exit and process-seen (lineage by process.entity_id and
 * process.parent.entity_id); connections and DNS lookups are connect and dns-query; file creation,
 * modification, overwrite and rename are file-write; registry modifications registry-set; driver loads
 * driver-load. Elastic Agent's auditd_manager executions and connections map the same way (pid lineage),
 * its System integration's process and CPU metrics become metric samples, and a Windows event log
 * document (`winlog.*`) goes through the shared Winlogbeat mapping. Other documents are counted unused.
 * Exports are often newest first: events are given in time order (time-order.ts).
 * Elastic Defend writes a Windows DNS lookup twice, `lookup_requested` then `lookup_result` (with
 * dns.resolved_ip): one lookup is one dns-query, the result's (`LookupPairs`); a request whose result is
 * not in the file is given alone, dated as it is.
 */
import type { CoalEvent, EventAction, EventMetrics, ProcessFields, ProcessParent } from '../model/event.js';
import { issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { type EventHead, headOf, pidOf } from './edr-fields.js';
import {
  DOCUMENT_BOUNDS,
  isJsonDocument,
  type JsonDocumentEnvelope,
  type JsonDocumentItem,
  type JsonRecord,
  jsonDocumentRecords,
  jsonRecords,
} from './json-document.js';
import { sniffJsonLine } from './lines.js';
import { endpointOf, ipOf, isObject, MAX_NAME_CHARS, numberOf, textOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';
import { winBasename, winEventToCoal } from './win-event.js';
import { winEventFromWinlogbeat } from './winlogbeat.js';

type Obj = Record<string, unknown>;
const NAME = 'elastic-endpoint';
const CODE = 'ELASTIC_ENDPOINT';
const MAX_PATH_CHARS = 4096;
const MAX_COMMAND_CHARS = 32 * 1024;
const MAX_ARGS = 256;
const MAX_ID_CHARS = 256;
const MAX_IPS = 64;
/** A file of `_search` responses or hits; each hit is one record (DOCUMENT_BOUNDS), read from `hits.hits`. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024 * 1024;
/** Elasticsearch's max_result_window is 10,000 by default; a scroll page is no bigger. */
const MAX_HITS = 100_000;
const BATCH_EVENTS = 512;
/**
 * How far apart a lookup's request and its result may be dated: the Windows resolver gives up within
 * about ten seconds; past this a request and a result of the same name are two lookups.
 */
const LOOKUP_PAIR_MS = 60_000;
/** `original`: the document's leaves, flattened to dotted keys, bounded. */
const MAX_ORIGINAL_KEYS = 64;
const MAX_ORIGINAL_DEPTH = 4;
const MAX_ORIGINAL_LIST = 32;
const LONG_LEAVES = /(?:command_line|args|title)$/;
/** Percent of one core: 1024 cores fully busy is past any real machine (as in metrics-csv). */
const MAX_PROCESS_CPU_PCT = 100 * 1024;
const HEX = /^[0-9a-f]+$/;
const HASH_LENGTHS = { md5: 32, sha1: 40, sha256: 64 } as const;
const CONTAINER_ID = /^[\w.:-]{1,128}$/;
/** An Elasticsearch `_search` response, compact or pretty: its first key is one only a response has. */
const SEARCH_RESPONSE =
  /^\s*\{\s*"(?:took|timed_out|_shards|hits|_scroll_id|pit_id|num_reduce_phases|terminated_early)"\s*:/;
/** Backing indices and data streams of what this reads: `.ds-logs-endpoint.events.process-default-…`. */
const ELASTIC_INDEX = /(?:^|[.-])(?:logs|metrics)-(?:endpoint\.|auditd_manager\.|system\.(?:process|cpu)-)/;
/** Datasets whose documents are read (event.dataset or data_stream.dataset). */
const DATASETS = new Set(['auditd_manager.auditd', 'system.process', 'system.cpu']);
/** The same marks in text, for a head cut inside its first record or a pretty-printed document. */
const TEXT_MARKS = [
  /"agent"\s*:\s*\{[^{}]{0,512}"type"\s*:\s*"endpoint"/,
  /"agent\.type"\s*:\s*"endpoint"/,
  /"module"\s*:\s*"endpoint"/,
  /"dataset"\s*:\s*"(?:endpoint\.|auditd_manager\.auditd"|system\.(?:process|cpu)")/,
  /"_index"\s*:\s*"[^"]{0,256}(?:logs|metrics)-(?:endpoint\.|auditd_manager\.|system\.(?:process|cpu)-)/,
];
const CONNECT_ACTIONS = new Set([
  'connection_attempted',
  'connection_accepted',
  'udp_flow_outbound',
  'udp_flow_inbound',
  // Elastic Agent auditd_manager / Auditbeat auditd
  'connected-to',
]);
const INBOUND_ACTIONS = new Set(['connection_accepted', 'udp_flow_inbound']);
const FILE_WRITE_ACTIONS = new Set(['creation', 'modification', 'overwrite', 'rename']);
const EXEC_ACTIONS = new Set(['start', 'exec', 'executed', 'process_started']);
const EXIT_ACTIONS = new Set(['end', 'process_stopped']);
const SEEN_ACTIONS = new Set(['already_running', 'existing_process']);

interface Where {
  file: string;
  line: number;
  hostHint?: string;
  keepWindowsRecord?: SourceContext['keepWindowsRecord'];
}

/**
 * A field by its ECS path, nested (`{"process":{"pid":1}}`), flattened (`{"process.pid":1}`, as some
 * exports write `_source`) or a mix of both. The nested walk is the common case; dotted keys are looked
 * for only in an object that has some (`DOTTED`, decided once per object).
 */
function field(o: Obj, path: readonly string[], from = 0): unknown {
  let cur: Obj = o;
  for (let i = from; i < path.length; i++) {
    const v = Object.hasOwn(cur, path[i]) ? cur[path[i]] : undefined;
    if (v === undefined) return hasDottedKeys(cur) ? dottedField(cur, path, i) : undefined;
    if (i === path.length - 1) return v;
    if (!isObject(v)) return hasDottedKeys(cur) ? dottedField(cur, path, i) : undefined;
    cur = v;
  }
  return undefined;
}

/** `path[from…]` in `o` by keys that join two or more of its names with dots (`"parent.pid"`). */
function dottedField(o: Obj, path: readonly string[], from: number): unknown {
  for (let to = from + 2; to <= path.length; to++) {
    const key = path.slice(from, to).join('.');
    if (!Object.hasOwn(o, key)) continue;
    const v = o[key];
    if (to === path.length) return v;
    if (isObject(v)) {
      const inner = field(v, path, to);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

const DOTTED = new WeakMap<Obj, boolean>();
function hasDottedKeys(o: Obj): boolean {
  let known = DOTTED.get(o);
  if (known === undefined) {
    known = false;
    for (const key in o)
      if (key.includes('.')) {
        known = true;
        break;
      }
    DOTTED.set(o, known);
  }
  return known;
}

/** Field names split once (the names are this file's constants: a bounded set). */
const PATHS = new Map<string, readonly string[]>();

/** A field by its dotted name; an array standing for one value (`"action":["exec"]`) gives its first element. */
function at(o: Obj, name: string): unknown {
  let path = PATHS.get(name);
  if (path === undefined) {
    path = name.split('.');
    PATHS.set(name, path);
  }
  const v = field(o, path);
  return Array.isArray(v) && v.length > 0 && !isObject(v[0]) && !Array.isArray(v[0]) ? v[0] : v;
}

/** A text field, bounded: a string only (a path or name written as a number is no path). */
function text(o: Obj, name: string, max = MAX_NAME_CHARS): string | undefined {
  const v = at(o, name);
  return typeof v === 'string' ? textOf(v, max) : undefined;
}

/** An id, bounded: text, or a number as its decimal text (Linux uids, as Elastic Defend writes them). */
function idText(o: Obj, name: string, max = 128): string | undefined {
  return textOf(at(o, name), max);
}

/**
 * A list of strings (a lone string is a list of one), bounded in count, in each item's length and in all:
 * past `maxTotal` characters the list ends with the item that crossed it, clipped.
 */
function strings(v: unknown, maxItems: number, maxChars: number, maxTotal = maxItems * maxChars): string[] | undefined {
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  const out: string[] = [];
  let total = 0;
  for (let i = 0; i < list.length && out.length < maxItems && total < maxTotal; i++) {
    const item = list[i];
    if (typeof item !== 'string') continue;
    const kept = clip(item, Math.min(maxChars, maxTotal - total));
    out.push(kept);
    total += kept.length;
  }
  return out.length > 0 ? out : undefined;
}

function hashOf(o: Obj, prefix: string): ProcessFields['hash'] {
  const out: NonNullable<ProcessFields['hash']> = {};
  for (const kind of ['sha256', 'sha1', 'md5'] as const) {
    const v = text(o, `${prefix}.${kind}`, 128)?.toLowerCase();
    if (v !== undefined && v.length === HASH_LENGTHS[kind] && HEX.test(v)) out[kind] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The program's path and its last component: Windows and POSIX separators alike. */
function named(o: Obj, prefix: string): { executable?: string; name?: string } {
  const executable = text(o, `${prefix}.executable`, MAX_PATH_CHARS);
  const name =
    text(o, `${prefix}.name`) ?? (executable !== undefined ? clip(winBasename(executable), MAX_NAME_CHARS) : undefined);
  return { ...(executable !== undefined ? { executable } : {}), ...(name !== undefined ? { name } : {}) };
}

/** The command line as the endpoint wrote it, else the arguments joined as auditd's reader joins them. */
function commandOf(o: Obj, prefix: string, args: string[] | undefined): string | undefined {
  return (
    text(o, `${prefix}.command_line`, MAX_COMMAND_CHARS) ??
    (args !== undefined ? clip(args.join(' '), MAX_COMMAND_CHARS) : text(o, `${prefix}.title`, MAX_COMMAND_CHARS))
  );
}

function userOf(doc: Obj, windows: boolean): { name?: string; id?: string } | undefined {
  const name = text(doc, 'user.name');
  const domain = windows ? text(doc, 'user.domain') : undefined;
  const id = idText(doc, 'user.id');
  const out: { name?: string; id?: string } = {};
  // Sysmon writes DOMAIN\user: the same on the same host whichever sensor saw it
  if (name !== undefined) out.name = domain !== undefined ? clip(`${domain}\\${name}`, MAX_NAME_CHARS) : name;
  if (id !== undefined) out.id = id;
  return Object.keys(out).length > 0 ? out : undefined;
}

function processOf(doc: Obj, windows: boolean): ProcessFields {
  const p: ProcessFields = {};
  const pid = pidOf(at(doc, 'process.pid'));
  if (pid !== undefined) p.pid = pid;
  const id = text(doc, 'process.entity_id', MAX_ID_CHARS);
  if (id !== undefined) p.entity_id = id;
  Object.assign(p, named(doc, 'process'));
  const args = strings(field(doc, ['process', 'args']), MAX_ARGS, MAX_COMMAND_CHARS, MAX_COMMAND_CHARS);
  const command = commandOf(doc, 'process', args);
  if (command !== undefined) p.command_line = command;
  if (args !== undefined) p.args = args;
  const cwd = text(doc, 'process.working_directory', MAX_PATH_CHARS);
  if (cwd !== undefined) p.working_directory = cwd;
  const start = parseTimestamp(at(doc, 'process.start'));
  if (start !== undefined) p.start = new Date(start).toISOString();
  const hash = hashOf(doc, 'process.hash');
  if (hash !== undefined) p.hash = hash;
  const original = text(doc, 'process.pe.original_file_name');
  if (original !== undefined) p.pe = { original_file_name: original };
  const user = userOf(doc, windows);
  if (user !== undefined) p.user = user;
  const parent: ProcessParent = {};
  const ppid = pidOf(at(doc, 'process.parent.pid')) ?? pidOf(at(doc, 'process.ppid'));
  if (ppid !== undefined) parent.pid = ppid;
  const pid2 = text(doc, 'process.parent.entity_id', MAX_ID_CHARS);
  if (pid2 !== undefined) parent.entity_id = pid2;
  Object.assign(parent, named(doc, 'process.parent'));
  const pcmd = commandOf(
    doc,
    'process.parent',
    strings(field(doc, ['process', 'parent', 'args']), MAX_ARGS, MAX_COMMAND_CHARS, MAX_COMMAND_CHARS),
  );
  if (pcmd !== undefined) parent.command_line = pcmd;
  if (Object.keys(parent).length > 0) p.parent = parent;
  return p;
}

function platformOf(doc: Obj): string | undefined {
  const type = text(doc, 'host.os.type', 32)?.toLowerCase();
  if (type === 'windows' || type === 'linux' || type === 'macos') return type;
  const family = text(doc, 'host.os.family', 32)?.toLowerCase();
  const platform = text(doc, 'host.os.platform', 32)?.toLowerCase();
  if (family === 'windows' || platform === 'windows') return 'windows';
  if (platform === 'darwin' || family === 'darwin' || platform === 'macos') return 'macos';
  return text(doc, 'host.os.name', 32)?.toLowerCase() === 'linux' || text(doc, 'host.os.kernel') !== undefined
    ? 'linux'
    : undefined;
}

function hostOf(doc: Obj, hostHint: string | undefined): CoalEvent['host'] {
  const host: NonNullable<CoalEvent['host']> = {};
  const name = text(doc, 'host.name') ?? text(doc, 'host.hostname') ?? (hostHint && clip(hostHint, MAX_NAME_CHARS));
  if (name) host.name = name;
  const id = idText(doc, 'host.id');
  if (id !== undefined) host.id = id;
  const ips: string[] = [];
  const raw = field(doc, ['host', 'ip']);
  for (const v of Array.isArray(raw) ? raw.slice(0, MAX_IPS) : [raw]) {
    const ip = ipOf(v);
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
  }
  if (ips.length > 0) host.ip = ips;
  const platform = platformOf(doc);
  if (platform !== undefined) host.os = { platform };
  return host;
}

/** Where the process ran, when the endpoint saw it in a container or pod. */
function addPlacement(event: CoalEvent, doc: Obj): void {
  const container: NonNullable<CoalEvent['container']> = {};
  const id = text(doc, 'container.id', 128);
  if (id !== undefined && CONTAINER_ID.test(id)) container.id = id;
  const name = text(doc, 'container.name');
  if (name !== undefined) container.name = name;
  const image = text(doc, 'container.image.name', 512);
  if (image !== undefined) {
    const tag = text(doc, 'container.image.tag', 128);
    container.image = tag !== undefined ? { name: image, tag } : { name: image };
  }
  if (Object.keys(container).length > 0) event.container = container;
  const orchestrator: NonNullable<CoalEvent['orchestrator']> = {};
  const namespace = text(doc, 'orchestrator.namespace');
  if (namespace !== undefined) orchestrator.namespace = namespace;
  const resource = text(doc, 'orchestrator.resource.name');
  if (resource !== undefined) {
    const type = text(doc, 'orchestrator.resource.type', 64);
    orchestrator.resource = type !== undefined ? { type, name: resource } : { name: resource };
  }
  const cluster = text(doc, 'orchestrator.cluster.name');
  if (cluster !== undefined) orchestrator.cluster = { name: cluster };
  if (Object.keys(orchestrator).length > 0) event.orchestrator = orchestrator;
}

/**
 * Subtrees left out of `original`: Elastic's `Ext` blobs (ancestry, call stacks, token privileges), the
 * agent's own bookkeeping and the Linux session leaders (the process's own fields and its parent's are kept).
 */
const NOT_ORIGINAL = new Set([
  'Ext',
  'ecs',
  'elastic',
  'agent',
  'entry_leader',
  'session_leader',
  'group_leader',
  'previous',
  'tty',
]);

/** The document's leaves as dotted keys, bounded, for Sigma rules that read a field by its own name. */
function originalOf(doc: Obj, index: string | undefined, id: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let keys = 0;
  if (index !== undefined) {
    out._index = index;
    keys++;
  }
  if (id !== undefined) {
    out._id = id;
    keys++;
  }
  const leaf = (v: string, name: string) => (v.length <= 1024 ? v : clip(v, LONG_LEAVES.test(name) ? 8192 : 1024));
  const walk = (o: Obj, prefix: string, depth: number): void => {
    for (const key in o) {
      if (keys >= MAX_ORIGINAL_KEYS) return;
      // a `__proto__` key set on a plain object would change its prototype, not add a field
      if (key === '__proto__') continue;
      const v = o[key];
      const name = prefix === '' ? clip(key, 128) : `${prefix}.${clip(key, 128)}`;
      if (typeof v === 'string') out[name] = leaf(v, name);
      else if (typeof v === 'number' || typeof v === 'boolean') out[name] = v;
      else if (Array.isArray(v)) {
        const leaves: unknown[] = [];
        for (let i = 0; i < v.length && leaves.length < MAX_ORIGINAL_LIST; i++) {
          const x = v[i];
          if (typeof x === 'string') leaves.push(leaf(x, name));
          else if (typeof x === 'number' || typeof x === 'boolean') leaves.push(x);
        }
        if (leaves.length === 0) continue;
        out[name] = leaves;
      } else {
        if (isObject(v) && depth < MAX_ORIGINAL_DEPTH && !NOT_ORIGINAL.has(key)) walk(v, name, depth + 1);
        continue;
      }
      keys++;
    }
  };
  walk(doc, '', 0);
  return out;
}

type Kind = EventHead | { metric: 'process' | 'host' } | 'unused';

/** What a document is, by its ECS category, type and action (and, for metrics, its dataset). */
function kindOf(doc: Obj, dataset: string | undefined): Kind {
  const module = text(doc, 'event.module', 64);
  const metricset = text(doc, 'metricset.name', 64);
  if (dataset === 'system.process' || (module === 'system' && metricset === 'process')) return { metric: 'process' };
  if (dataset === 'system.cpu' || (module === 'system' && metricset === 'cpu')) return { metric: 'host' };
  // an alert (Elastic Defend's, or a detection rule's copy of the event it fired on) repeats its event's fields
  const kind = text(doc, 'event.kind', 32);
  if (kind === 'alert' || kind === 'signal') return 'unused';
  const categories = strings(field(doc, ['event', 'category']), 16, 64) ?? [];
  const types = strings(field(doc, ['event', 'type']), 16, 64) ?? [];
  const action = text(doc, 'event.action', 128) ?? '';
  if (categories.includes('process')) {
    // a Linux fork names the parent's program: the exec that follows names the child's
    if (action === 'fork') return 'unused';
    if (EXEC_ACTIONS.has(action) || (action === '' && types.includes('start'))) return headOf('exec');
    if (EXIT_ACTIONS.has(action) || (action === '' && types.includes('end'))) return headOf('exit');
    if (SEEN_ACTIONS.has(action)) return headOf('process-seen');
    return 'unused';
  }
  if (categories.includes('driver') && (action === 'load' || types.includes('start'))) return headOf('driver-load');
  if (categories.includes('network') || categories.includes('dns')) {
    if (action.startsWith('lookup_') || at(doc, 'dns.question.name') !== undefined) return headOf('dns-query');
    if (CONNECT_ACTIONS.has(action)) return headOf('connect');
    return 'unused';
  }
  if (categories.includes('file') && FILE_WRITE_ACTIONS.has(action))
    return headOf('file-write', action === 'creation' ? 'creation' : 'change');
  if (categories.includes('registry') && action === 'modification') return headOf('registry-set');
  return 'unused';
}

/** `.ds-logs-endpoint.events.process-default-2022.02.15-000001` → `endpoint.events.process`. */
function datasetOfIndex(index: string | undefined): string | undefined {
  const m = index === undefined ? null : /(?:^|[.])(?:logs|metrics)-([a-z0-9_.]{1,128})-/.exec(index);
  return m ? m[1] : undefined;
}

/** A percentage written as a fraction (Metricbeat's `*.pct`), as a percent, when it is one. */
function percentOf(v: unknown, max: number): number | undefined {
  const n = numberOf(v);
  if (n === undefined || n < 0) return undefined;
  const pct = Math.round(n * 100 * 1000) / 1000;
  return pct <= max ? pct : undefined;
}

function metricOf(doc: Obj, which: 'process' | 'host', windows: boolean): Partial<CoalEvent> | string {
  if (which === 'host') {
    // system.cpu's normalised total is all cores busy at 1: the host's percent
    const cpu = percentOf(at(doc, 'system.cpu.total.norm.pct') ?? at(doc, 'host.cpu.usage'), 100.5);
    if (cpu === undefined) return 'system.cpu sample without system.cpu.total.norm.pct (0..1)';
    const metrics: EventMetrics = { cpu_pct: cpu };
    const cores = pidOf(at(doc, 'system.cpu.cores'));
    if (cores !== undefined && cores > 0 && cores <= 4096) metrics.cores = cores;
    return { metrics };
  }
  const pid = pidOf(at(doc, 'process.pid'));
  if (pid === undefined) return 'system.process sample without process.pid';
  // system.process.cpu.total.pct is top's %CPU as a fraction: percent of one core, over 1 with threads
  const cpu = percentOf(at(doc, 'system.process.cpu.total.pct'), MAX_PROCESS_CPU_PCT);
  if (cpu === undefined) return 'system.process sample without system.process.cpu.total.pct';
  const metrics: EventMetrics = { cpu_pct: cpu };
  const rss = numberOf(at(doc, 'system.process.memory.rss.bytes'));
  if (rss !== undefined && Number.isSafeInteger(rss) && rss >= 0) metrics.rss_bytes = rss;
  const mem = percentOf(at(doc, 'system.process.memory.rss.pct'), 100.5);
  if (mem !== undefined) metrics.mem_pct = mem;
  const process: ProcessFields = { pid, ...named(doc, 'process') };
  const args = strings(field(doc, ['process', 'args']), MAX_ARGS, MAX_COMMAND_CHARS, MAX_COMMAND_CHARS);
  const command = commandOf(doc, 'process', args) ?? text(doc, 'system.process.cmdline', MAX_COMMAND_CHARS);
  if (command !== undefined) process.command_line = command;
  const user = userOf(doc, windows);
  if (user !== undefined) process.user = user;
  return { process, metrics };
}

/** The fields of one kind of event; a string when the document lacks what the kind needs. */
function bodyOf(doc: Obj, action: EventAction, windows: boolean): Partial<CoalEvent> | string {
  const process = processOf(doc, windows);
  const hasProcess = process.pid !== undefined || process.entity_id !== undefined;
  switch (action) {
    case 'exec':
    case 'exit':
    case 'process-seen':
      return hasProcess ? { process } : `process ${action} without process.pid or process.entity_id`;
    case 'connect': {
      const destination = endpointOf(at(doc, 'destination.ip'), at(doc, 'destination.port'));
      if (destination?.ip === undefined) return 'connection without destination.ip';
      const action = text(doc, 'event.action', 128) ?? '';
      const said = text(doc, 'network.direction', 32)?.toLowerCase();
      const inbound =
        said === 'ingress' ||
        said === 'inbound' ||
        said === 'incoming' ||
        (said === undefined && INBOUND_ACTIONS.has(action));
      const network: NonNullable<CoalEvent['network']> = { direction: inbound ? 'inbound' : 'outbound' };
      const transport = text(doc, 'network.transport', 16)?.toLowerCase();
      if (transport !== undefined) network.transport = transport;
      const source = endpointOf(at(doc, 'source.ip'), at(doc, 'source.port'));
      return { ...(hasProcess ? { process } : {}), ...(source ? { source } : {}), destination, network };
    }
    case 'dns-query': {
      const name = text(doc, 'dns.question.name');
      if (name === undefined) return 'DNS lookup without dns.question.name';
      const dns: NonNullable<CoalEvent['dns']> = { question: { name } };
      const raw = field(doc, ['dns', 'resolved_ip']);
      const ips: string[] = [];
      for (const v of Array.isArray(raw) ? raw.slice(0, MAX_IPS) : [raw]) {
        const ip = ipOf(v);
        if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
      }
      if (ips.length > 0) dns.resolved_ip = ips;
      return { ...(hasProcess ? { process } : {}), dns, network: { protocol: 'dns' } };
    }
    case 'file-write': {
      const path = text(doc, 'file.path', MAX_PATH_CHARS);
      if (path === undefined) return 'file event without file.path';
      const file: NonNullable<CoalEvent['file']> = {
        path,
        name: text(doc, 'file.name') ?? clip(winBasename(path), MAX_NAME_CHARS),
      };
      const hash = hashOf(doc, 'file.hash');
      if (hash !== undefined) file.hash = hash;
      return { ...(hasProcess ? { process } : {}), file };
    }
    case 'registry-set': {
      const path = text(doc, 'registry.path', MAX_PATH_CHARS);
      if (path === undefined) return 'registry event without registry.path';
      const registry: NonNullable<CoalEvent['registry']> = { path };
      const value = text(doc, 'registry.value', MAX_PATH_CHARS);
      if (value !== undefined) registry.value = value;
      const data = strings(field(doc, ['registry', 'data', 'strings']), 64, MAX_PATH_CHARS, MAX_COMMAND_CHARS);
      if (data !== undefined) registry.data = clip(data.join(' '), MAX_COMMAND_CHARS);
      return { ...(hasProcess ? { process } : {}), registry };
    }
    case 'driver-load': {
      // Elastic Defend puts a loaded driver in dll.*, as it does a DLL
      const prefix = at(doc, 'dll.path') !== undefined ? 'dll' : 'file';
      const path = text(doc, `${prefix}.path`, MAX_PATH_CHARS);
      if (path === undefined) return 'driver load without dll.path';
      const file: NonNullable<CoalEvent['file']> = {
        path,
        name: text(doc, `${prefix}.name`) ?? clip(winBasename(path), MAX_NAME_CHARS),
      };
      const hash = hashOf(doc, `${prefix}.hash`);
      if (hash !== undefined) file.hash = hash;
      const signed = at(doc, `${prefix}.code_signature.exists`);
      if (typeof signed === 'boolean') file.signed = signed;
      const signer = text(doc, `${prefix}.code_signature.subject_name`);
      if (signer !== undefined) file.signature = signer;
      // the kernel (System, pid 4) loads every driver: it says nothing of who asked, so like Sysmon 6 no process
      return { file };
    }
    default:
      return 'unused';
  }
}

/** One ECS document as an event, `'unused'` for one nothing reads, or why it is not an event. */
export function elasticEvent(doc: Obj, where: Where, index?: string, id?: string): CoalEvent | 'unused' | string {
  const ref = { file: where.file, line: where.line };
  // Elastic Agent's Windows and System integrations keep the event log record: the shared Windows mapping reads it
  if (isObject(doc.winlog)) {
    const ev = winEventFromWinlogbeat(doc, where.hostHint);
    if (typeof ev === 'string') return `winlog document: ${ev}`;
    return winEventToCoal(ev, ref, NAME, where.keepWindowsRecord) ?? 'unused';
  }
  const stamp = at(doc, '@timestamp') ?? at(doc, 'event.created');
  const ts = parseTimestamp(stamp);
  if (ts === undefined)
    return stamp === undefined
      ? '@timestamp is missing'
      : `@timestamp ${clip(JSON.stringify(stamp), 60)} is not a time`;
  const dataset = text(doc, 'data_stream.dataset', 128) ?? text(doc, 'event.dataset', 128) ?? datasetOfIndex(index);
  const kind = kindOf(doc, dataset);
  if (kind === 'unused') return 'unused';
  const host = hostOf(doc, where.hostHint);
  const windows = host?.os?.platform === 'windows';
  const head: CoalEvent['event'] =
    'metric' in kind
      ? { kind: 'metric', category: [kind.metric], action: 'metric', dataset: `${NAME}.${dataset ?? 'system'}` }
      : { kind: 'event', ...kind, dataset: `${NAME}.${dataset ?? kind.category[0]}` };
  const body = 'metric' in kind ? metricOf(doc, kind.metric, windows) : bodyOf(doc, kind.action, windows);
  if (typeof body === 'string') return body;
  const eventId = idText(doc, 'event.id');
  if (eventId !== undefined) head.id = eventId;
  const outcome = text(doc, 'event.outcome', 16);
  if (outcome === 'success' || outcome === 'failure' || outcome === 'unknown') head.outcome = outcome;
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: head,
    ...(host !== undefined && Object.keys(host).length > 0 ? { host } : {}),
    ...body,
    original: originalOf(doc, index, id),
    coalmine: { ts, format: NAME, ref },
  };
  const user = userOf(doc, windows);
  if (user !== undefined && !('metric' in kind)) event.user = user;
  addPlacement(event, doc);
  return event;
}

/** A DNS lookup read and not yet paired: a request held until its result comes, or a result given (newest first). */
interface Lookup {
  key: string;
  ts: number;
  /** A held request's event: given if no result comes. */
  request?: CoalEvent;
}

/** Lookups of one side (held requests, or results given), by the order they were read and by key. */
class Lookups {
  readonly order = new Map<number, Lookup>();
  private readonly byKey = new Map<string, number[]>();

  add(n: number, l: Lookup): void {
    this.order.set(n, l);
    const list = this.byKey.get(l.key);
    if (list === undefined) this.byKey.set(l.key, [n]);
    else list.push(n);
  }

  /** The first one read of `key` dated within LOOKUP_PAIR_MS of `ts`. */
  find(key: string, ts: number): number | undefined {
    for (const n of this.byKey.get(key) ?? []) {
      const l = this.order.get(n);
      if (l !== undefined && Math.abs(ts - l.ts) <= LOOKUP_PAIR_MS) return n;
    }
    return undefined;
  }

  remove(n: number): Lookup | undefined {
    const l = this.order.get(n);
    if (l === undefined) return undefined;
    this.order.delete(n);
    const list = this.byKey.get(l.key);
    if (list !== undefined) {
      const at = list.indexOf(n);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.byKey.delete(l.key);
    }
    return l;
  }
}

/**
 * Elastic Defend's DNS lookups as one event each. A `lookup_requested` and its `lookup_result` (same host,
 * process and name, dated within LOOKUP_PAIR_MS) are one lookup: the result is given (it has the answer)
 * and the request counted unused. A request is held until its result comes; a result read first (an
 * export newest first) is given at once and remembered, so that its request, read later, is counted
 * unused. Bounded: at most `limit` requests are held and `limit` results remembered, the first read given
 * up first when more come (a request given up is given alone, and counted: were its result to come, the
 * lookup would be two events). A lookup dated over LOOKUP_PAIR_MS from the one being read is done with:
 * a held request is given, dated as it is (the reader puts the file's events in time order after this).
 * What is held at the end of the input is given.
 */
class LookupPairs {
  private readonly requests = new Lookups();
  private readonly results = new Lookups();
  private read = 0;
  /** Requests given up because `limit` were held, and the line of the first. */
  gaveUp = 0;
  firstGaveUpLine: number | undefined;

  constructor(private readonly limit: number) {}

  /** One lookup document's event; what is to be given goes in `out`. Returns 1 when the record is unused. */
  take(event: CoalEvent, result: boolean, out: CoalEvent[]): number {
    const ts = event.coalmine.ts;
    this.expire(this.requests, ts, out);
    this.expire(this.results, ts, out);
    const key = lookupKey(event);
    const [mine, theirs] = result ? [this.results, this.requests] : [this.requests, this.results];
    const pair = theirs.find(key, ts);
    if (result) out.push(event);
    if (pair !== undefined) {
      theirs.remove(pair);
      return 1;
    }
    if (mine.order.size >= this.limit) {
      const first = mine.order.keys().next().value as number;
      const old = mine.remove(first);
      if (old?.request !== undefined) {
        this.gaveUp++;
        this.firstGaveUpLine ??= old.request.coalmine.ref.line;
        out.push(old.request);
      }
    }
    mine.add(this.read++, result ? { key, ts } : { key, ts, request: event });
    return 0;
  }

  /** Every request still held, given: its result is not in this input. */
  flush(out: CoalEvent[]): void {
    for (const [n, l] of this.requests.order) {
      this.requests.remove(n);
      if (l.request !== undefined) out.push(l.request);
    }
  }

  /** The first read lookups dated too far from `ts` to pair with what comes: a request given, a result forgotten. */
  private expire(side: Lookups, ts: number, out: CoalEvent[]): void {
    for (const [n, l] of side.order) {
      if (Math.abs(ts - l.ts) <= LOOKUP_PAIR_MS) return;
      side.remove(n);
      if (l.request !== undefined) out.push(l.request);
    }
  }
}

/** A lookup's pairing key: host, process (entity id, else pid) and the name asked, as DNS compares it. */
function lookupKey(e: CoalEvent): string {
  const host = e.host?.id ?? e.host?.name ?? '';
  const process = e.process?.entity_id ?? (e.process?.pid !== undefined ? `pid:${e.process.pid}` : '');
  const name = (e.dns?.question?.name ?? '').toLowerCase().replace(/\.$/, '');
  return JSON.stringify([host, process, name]);
}

/** Whether a document is one this reads: Elastic Defend's, or Elastic Agent's auditd_manager / System. */
function isElasticDocument(doc: Obj, index: unknown): boolean {
  if (text(doc, 'agent.type', 64) === 'endpoint' || text(doc, 'event.module', 64) === 'endpoint') return true;
  if (isObject(doc.Endpoint)) return true;
  // Auditbeat's auditd module, outside Elastic Agent, writes no dataset
  if (text(doc, 'event.module', 64) === 'auditd' && text(doc, 'agent.type', 64) === 'auditbeat') return true;
  const dataset = text(doc, 'data_stream.dataset', 128) ?? text(doc, 'event.dataset', 128);
  if (dataset !== undefined && (dataset.startsWith('endpoint.') || DATASETS.has(dataset))) return true;
  return typeof index === 'string' && ELASTIC_INDEX.test(index.slice(0, 256));
}

/** How surely a parsed first record is this format's: a response's or hit's document, or a bare one. */
function scoreOf(o: unknown): number {
  if (!isObject(o)) return 0;
  if (isObject(o.hits) && Array.isArray(o.hits.hits)) return scoreOf(o.hits.hits[0]);
  const hit = isObject(o._source) ? o._source : undefined;
  const doc = hit ?? o;
  // a bare Winlogbeat document is winlogbeat's; wrapped in a hit, no other reader takes it
  if (isObject(doc.winlog)) return hit !== undefined && typeof o._index === 'string' ? 88 : 0;
  return isElasticDocument(doc, o._index) ? 92 : 0;
}

function scoreOfText(text: string): number {
  if (/"winlog"\s*:\s*\{/.test(text) && !text.includes('"_source"')) return 0;
  return TEXT_MARKS.some((m) => m.test(text)) ? 86 : 0;
}

export const elasticEndpoint: SourceDescriptor = {
  name: NAME,
  summary:
    'Elastic Defend / Elastic Agent ECS exports (NDJSON of documents or hits, arrays, _search responses): process, network, DNS, file, registry, driver events; auditd_manager; System process CPU',
  platform: 'generic',
  delivers: 'events',
  sniff(head) {
    const top = head.slice(0, 64 * 1024);
    if (SEARCH_RESPONSE.test(top) || isJsonDocument(top)) {
      // a whole document: the first record may be past the head's first line, so its text decides
      const first = top.trimStart();
      if (first.startsWith('[{') || first.startsWith('{"')) {
        // one line: an array or response written compact may parse whole
        const line = first.split('\n', 1)[0];
        try {
          const o = JSON.parse(line) as unknown;
          return scoreOf(Array.isArray(o) ? o[0] : o);
        } catch {
          // cut by the head: fall through to the text
        }
      }
      return scoreOfText(top);
    }
    return sniffJsonLine(top, scoreOf, (first) => (scoreOfText(first) > 0 ? 84 : 0));
  },
  read(input, context) {
    return timeOrdered(batches(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

/** Whether a record is a whole `_search` response (one line of NDJSON can hold one). */
function isResponse(v: unknown): v is Obj & { hits: { hits: unknown[] } } {
  return isObject(v) && isObject(v.hits) && Array.isArray(v.hits.hits);
}

/** A file of documents or hits: one whole document (`_search` responses back to back, an array), else lines. */
function recordsOf(
  input: SourceInput,
  context: SourceContext,
): AsyncGenerator<JsonRecord | JsonDocumentItem | JsonDocumentEnvelope> {
  const head = input.head.toString('utf8');
  if (!SEARCH_RESPONSE.test(head) && !isJsonDocument(head)) return jsonRecords(input, context, CODE, []);
  // a response's hits are its records, each read alone and citing its own line; its envelope says whether it is whole
  return jsonDocumentRecords(input, {
    ...DOCUMENT_BOUNDS,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
    code: CODE,
    recordKeys: [['hits', 'hits']],
    envelopes: true,
  });
}

async function* batches(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  const where: Where = {
    file: input.name,
    line: 0,
    hostHint: input.hostHint,
    keepWindowsRecord: context.keepWindowsRecord,
  };
  let out: SourceBatch = { events: [], issues: [], unused: 0 };
  const lookups = new LookupPairs(Math.max(16, context.maxPendingRecords));
  const full = () => out.events.length + out.issues.length >= BATCH_EVENTS;
  const bad = (line: number, reason: string) =>
    out.issues.push(issue({ file: input.name, line }, `${CODE}_BAD_RECORD`, reason, 'normalising'));
  /** One document, bare or a hit; `label` names it inside a response. */
  const take = (value: unknown, line: number, label: string) => {
    if (!isObject(value))
      return bad(
        line,
        `${label}${Array.isArray(value) ? 'an array' : `a JSON ${value === null ? 'null' : typeof value}`} where a document belongs`,
      );
    let doc = value;
    let index: string | undefined;
    let id: string | undefined;
    if ('_source' in value || typeof value._index === 'string') {
      if (!isObject(value._source))
        return bad(line, `${label}a hit without a _source object (stored fields alone are not read)`);
      doc = value._source;
      index = textOf(value._index, 256);
      id = textOf(value._id, 128);
    }
    where.line = line;
    const mapped = elasticEvent(doc, where, index, id);
    if (mapped === 'unused') out.unused = (out.unused ?? 0) + 1;
    else if (typeof mapped === 'string') bad(line, `${label}${mapped}`);
    else {
      const lookup = mapped.event.action === 'dns-query' ? text(doc, 'event.action', 128) : undefined;
      if (lookup === 'lookup_requested' || lookup === 'lookup_result')
        out.unused = (out.unused ?? 0) + lookups.take(mapped, lookup === 'lookup_result', out.events);
      else out.events.push(mapped);
    }
  };
  /** The response whose hits are being read: where it starts, which document of the file, hits so far. */
  let response: { line: number; document: number; hits: number } | undefined;
  const startResponse = (envelope: unknown, line: number, document: number) => {
    response = { line, document, hits: 0 };
    if (
      isObject(envelope) &&
      (envelope.timed_out === true || (numberOf(field(envelope, ['_shards', 'failed'])) ?? 0) > 0)
    )
      out.issues.push(
        issue(
          { file: input.name, line },
          `${CODE}_PARTIAL_RESPONSE`,
          'the search timed out or shards failed: the response may lack hits',
          'reading',
        ),
      );
  };
  const takeHit = (value: unknown, line: number) => {
    if (response === undefined) return;
    const i = response.hits++;
    if (i < MAX_HITS) take(value, line, `hits.hits[${i}]: `);
  };
  /** The response read: none of its hits is unused, more than MAX_HITS (`total`, where known) reported. */
  const endResponse = (total?: number) => {
    if (response === undefined) return;
    const { line } = response;
    const hits = total ?? response.hits;
    response = undefined;
    if (hits === 0) out.unused = (out.unused ?? 0) + 1;
    if (hits > MAX_HITS)
      out.issues.push(
        issue(
          { file: input.name, line },
          `${CODE}_TOO_MANY_HITS`,
          `${hits - MAX_HITS} hits after the first ${MAX_HITS} of this response are not read`,
          'reading',
        ),
      );
  };
  for await (const record of recordsOf(input, context)) {
    if ('issue' in record) out.issues.push(record.issue);
    else if ('envelope' in record) {
      endResponse();
      startResponse(record.envelope, record.line, record.document);
    } else if (response !== undefined && 'document' in record && record.document === response.document)
      takeHit(record.value, record.line);
    else {
      endResponse();
      const { line, value } = record;
      if (isResponse(value)) {
        // a whole response on one line of NDJSON: its hits all cite that line
        startResponse(value, line, 0);
        const hits = value.hits.hits;
        for (let i = 0; i < hits.length && i < MAX_HITS; i++) {
          takeHit(hits[i], line);
          if (full()) {
            yield out;
            out = { events: [], issues: [], unused: 0 };
          }
        }
        endResponse(hits.length);
      } else take(value, line, '');
    }
    if (full()) {
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
  }
  endResponse();
  lookups.flush(out.events);
  if (lookups.gaveUp > 0)
    out.issues.push(
      issue(
        { file: input.name, line: lookups.firstGaveUpLine ?? 1 },
        `${CODE}_LOOKUPS_UNPAIRED`,
        `${lookups.gaveUp} DNS lookup requests given without their results: more lookups waited for theirs than are held (${Math.max(16, context.maxPendingRecords)}); a result read after its request was given counts that lookup twice`,
        'normalising',
      ),
    );
  if (out.events.length > 0 || out.issues.length > 0 || (out.unused ?? 0) > 0) yield out;
}
