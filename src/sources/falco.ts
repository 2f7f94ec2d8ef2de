/**
 * Falco alerts as `json_output: true` writes them, one object per line: `{output, priority, rule, time,
 * output_fields, source, tags, hostname}`. Each alert is another tool's detection: it carries `rule`
 * {name, category: priority} and type `indicator` (as Suricata alerts do, for the ids classifier), plus
 * what its output fields say about the process, container and pod. `evt.type` decides the verb:
 * execve/execveat an `exec`, connect/sendto/sendmsg a `connect` (with fd.* endpoints), anything else
 * `process-seen`. Alerts from other Falco sources (k8s_audit, cloudtrail plugins) are counted unused.
 * The host is `hostname`, else the output fields' hostname or k8s node, else the input's hint.
 */
import type { CoalEvent, EventAction, ProcessFields, ProcessParent } from '../model/event.js';
import { splitArgv } from '../util/argv.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { imageOf } from './container-fields.js';
import { readJsonLines, sniffJsonLine } from './lines.js';
import { endpointOf, isObject, MAX_NAME_CHARS, numberOf, textOf } from './net-fields.js';
import type { SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;
const NAME = 'falco';
const CODE = 'FALCO';
const MAX_PATH_CHARS = 4096;
const MAX_COMMAND_CHARS = 32 * 1024;
const MAX_ARGS = 128;
const MAX_FIELDS = 128;
const MAX_TAGS = 32;
const EXEC_TYPES = new Set(['execve', 'execveat']);
const CONNECT_TYPES = new Set(['connect', 'sendto', 'sendmsg']);
/** Falco writes `<NA>` for a field it could not fill. */
const NOT_AVAILABLE = '<NA>';
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
/** `fd.name` of a connected socket: `client:port->server:port` (IPv6 addresses are not bracketed). */
const FD_PAIR = /^([^>]{1,64}):(\d{1,5})->([^>]{1,64}):(\d{1,5})$/;

interface Where {
  file: string;
  line: number;
  hostHint?: string;
}

/** An output field as text, bounded; Falco's `<NA>` and empty values are absent. */
function fieldText(fields: Obj, key: string, max: number): string | undefined {
  const v = textOf(fields[key], max);
  return v === undefined || v === NOT_AVAILABLE ? undefined : v;
}

function pidOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

function processOf(f: Obj): ProcessFields | undefined {
  const p: ProcessFields = {};
  const pid = pidOf(f['proc.pid']);
  if (pid !== undefined) p.pid = pid;
  const name = fieldText(f, 'proc.name', MAX_NAME_CHARS);
  if (name !== undefined) p.name = name;
  // exepath (Falco 0.35+) is the resolved file; exe is argv[0], a path only when run by one
  const exepath = fieldText(f, 'proc.exepath', MAX_PATH_CHARS);
  const exe = fieldText(f, 'proc.exe', MAX_PATH_CHARS);
  const executable = exepath ?? (exe?.startsWith('/') ? exe : undefined);
  if (executable !== undefined) p.executable = executable;
  const cmdline = fieldText(f, 'proc.cmdline', MAX_COMMAND_CHARS);
  if (cmdline !== undefined) {
    p.command_line = cmdline;
    p.args = splitArgv(cmdline, { maxChars: MAX_COMMAND_CHARS, maxArgs: MAX_ARGS }).args;
  }
  const cwd = fieldText(f, 'proc.cwd', MAX_PATH_CHARS);
  if (cwd !== undefined) p.working_directory = cwd;
  const parent: ProcessParent = {};
  const ppid = pidOf(f['proc.ppid']);
  if (ppid !== undefined) parent.pid = ppid;
  const pname = fieldText(f, 'proc.pname', MAX_NAME_CHARS);
  if (pname !== undefined) parent.name = pname;
  const pexepath = fieldText(f, 'proc.pexepath', MAX_PATH_CHARS);
  if (pexepath !== undefined) parent.executable = pexepath;
  const pcmdline = fieldText(f, 'proc.pcmdline', MAX_COMMAND_CHARS);
  if (pcmdline !== undefined) parent.command_line = pcmdline;
  if (Object.keys(parent).length > 0) p.parent = parent;
  const user = fieldText(f, 'user.name', 64);
  const uid = pidOf(f['user.uid']);
  if (user !== undefined || uid !== undefined) {
    p.user = {};
    if (user !== undefined) p.user.name = user;
    if (uid !== undefined) p.user.id = String(uid);
  }
  return Object.keys(p).length > 0 ? p : undefined;
}

function containerOf(f: Obj): CoalEvent['container'] | undefined {
  const id = fieldText(f, 'container.id', 128);
  // `host` is Falco's id for events outside any container
  if (id === undefined || id === 'host' || !CONTAINER_ID.test(id)) return undefined;
  const container: NonNullable<CoalEvent['container']> = { id };
  const name = fieldText(f, 'container.name', MAX_NAME_CHARS);
  if (name !== undefined) container.name = name;
  const runtime = fieldText(f, 'container.type', 32);
  if (runtime !== undefined) container.runtime = runtime;
  const repository = fieldText(f, 'container.image.repository', 512);
  const tag = fieldText(f, 'container.image.tag', 128);
  const image =
    imageOf(repository !== undefined && tag !== undefined ? `${repository}:${tag}` : repository) ??
    imageOf(fieldText(f, 'container.image', 768));
  const digest = imageOf(fieldText(f, 'container.image.digest', 160))?.hash;
  if (image !== undefined || digest !== undefined) container.image = { ...image, ...(digest && { hash: digest }) };
  const privileged = f['container.privileged'];
  if (typeof privileged === 'boolean') container.security_context = { privileged };
  return container;
}

function orchestratorOf(f: Obj): CoalEvent['orchestrator'] | undefined {
  const namespace = fieldText(f, 'k8s.ns.name', MAX_NAME_CHARS);
  const pod = fieldText(f, 'k8s.pod.name', MAX_NAME_CHARS);
  if (namespace === undefined && pod === undefined) return undefined;
  const out: NonNullable<CoalEvent['orchestrator']> = {};
  if (namespace !== undefined) out.namespace = namespace;
  if (pod !== undefined) out.resource = { type: 'pod', name: pod };
  return out;
}

/** The connection's two ends: local/remote fields, else client/server, else fd.name's `a:p->b:p`. */
function endsOf(f: Obj): { source?: CoalEvent['source']; destination?: CoalEvent['destination'] } {
  let source = endpointOf(f['fd.lip'], f['fd.lport']) ?? endpointOf(f['fd.cip'], f['fd.cport']);
  let destination = endpointOf(f['fd.rip'], f['fd.rport']) ?? endpointOf(f['fd.sip'], f['fd.sport']);
  const pair = FD_PAIR.exec(fieldText(f, 'fd.name', 160) ?? '');
  if (pair) {
    source ??= endpointOf(pair[1], pair[2]);
    destination ??= endpointOf(pair[3], pair[4]);
  }
  return { source, destination };
}

/** The output fields as kept in `original`: bounded key count, scalar values, long strings clipped. */
function fieldsOriginal(f: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in f) {
    if (n++ >= MAX_FIELDS) break;
    const v = f[key];
    if (typeof v === 'string') out[clip(key, 128)] = clip(v, 1024);
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) out[clip(key, 128)] = v;
  }
  return out;
}

function originalOf(o: Obj, fields: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['rule', 'priority', 'source', 'time', 'hostname', 'uuid']) {
    const v = textOf(o[key], 512);
    if (v !== undefined) out[key] = v;
  }
  const output = textOf(o.output, 4096);
  if (output !== undefined) out.output = output;
  if (Array.isArray(o.tags))
    out.tags = o.tags
      .slice(0, MAX_TAGS)
      .filter((t) => typeof t === 'string')
      .map((t) => clip(t as string, 128));
  out.output_fields = fieldsOriginal(fields);
  return out;
}

/** One alert as an event, `'unused'` for an alert from a non-syscall source, or why it is not an event. */
export function falcoEvent(o: Obj, where: Where): CoalEvent | 'unused' | string {
  const rule = textOf(o.rule, 512);
  if (rule === undefined || typeof o.rule !== 'string') return 'alert without a rule name';
  const source = textOf(o.source, 64);
  if (source !== undefined && source !== 'syscall') return 'unused';
  const ts = parseTimestamp(o.time);
  if (ts === undefined) return `time ${clip(JSON.stringify(o.time) ?? 'is missing', 60)} is not a time`;
  if (o.output_fields !== undefined && !isObject(o.output_fields)) return 'output_fields is not an object';
  const fields = isObject(o.output_fields) ? o.output_fields : {};
  const evtType = fieldText(fields, 'evt.type', 64);
  const action: EventAction =
    evtType !== undefined && EXEC_TYPES.has(evtType)
      ? 'exec'
      : evtType !== undefined && CONNECT_TYPES.has(evtType)
        ? 'connect'
        : 'process-seen';
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: [action === 'connect' ? 'network' : 'process', 'intrusion_detection'],
      type: ['indicator'],
      action,
      dataset: `${NAME}.alert`,
    },
    rule: { name: rule },
    original: originalOf(o, fields),
    coalmine: { ts, format: NAME, ref: { file: where.file, line: where.line } },
  };
  const priority = textOf(o.priority, 32);
  if (priority !== undefined && event.rule) event.rule.category = priority;
  const uuid = textOf(o.uuid, 64);
  if (uuid !== undefined) event.event.id = uuid;
  const host =
    textOf(o.hostname, MAX_NAME_CHARS) ??
    fieldText(fields, 'evt.hostname', MAX_NAME_CHARS) ??
    fieldText(fields, 'hostname', MAX_NAME_CHARS) ??
    fieldText(fields, 'k8s.node.name', MAX_NAME_CHARS) ??
    (where.hostHint && clip(where.hostHint, MAX_NAME_CHARS));
  event.host = host ? { name: host, os: { platform: 'linux' } } : { os: { platform: 'linux' } };
  const process = processOf(fields);
  if (process !== undefined) {
    const { user, ...rest } = process;
    event.process = rest;
    if (user !== undefined) event.user = user;
  }
  const container = containerOf(fields);
  if (container !== undefined) event.container = container;
  const orchestrator = orchestratorOf(fields);
  if (orchestrator !== undefined) event.orchestrator = orchestrator;
  const { source: from, destination } = endsOf(fields);
  if (from !== undefined) event.source = from;
  if (destination !== undefined) event.destination = destination;
  if (action === 'connect') {
    const l4 = fieldText(fields, 'fd.l4proto', 16);
    event.network = { direction: 'outbound', ...(l4 !== undefined && { transport: l4.toLowerCase() }) };
  }
  return event;
}

export const falco: SourceDescriptor = {
  name: NAME,
  summary: 'Falco alerts (json_output): rule, priority and the process, container and pod fields, as detections',
  platform: 'container',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) =>
        isObject(o) &&
        typeof o.rule === 'string' &&
        typeof o.priority === 'string' &&
        typeof o.time === 'string' &&
        ('output' in o || isObject(o.output_fields))
          ? 91
          : 0,
      (first) => (first.includes('"rule"') && first.includes('"priority"') && first.includes('"output') ? 60 : 0),
    );
  },
  read(input, context) {
    return readJsonLines(input, context, CODE, (o, line) =>
      isObject(o)
        ? falcoEvent(o, { file: input.name, line, hostHint: input.hostHint })
        : 'line is JSON but not an object',
    );
  },
};
