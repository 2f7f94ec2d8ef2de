/**
 * Cilium Tetragon JSON export (`export-stdout`, `tetra getevents -o json`), one object per line keyed
 * by its event type beside `node_name` and `time`. `process_exec` is an `exec`, `process_exit` an
 * `exit`, each with the process and parent as Tetragon resolved them (exec_id as entity_id, the
 * `arguments` string split shell-like) and the pod, container and image it ran in. A kprobe or
 * tracepoint whose arguments carry a socket address (tcp_connect and the like) is a `connect`; other
 * kprobes and event types are counted unused. The host is the node name, else the input's hint.
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
const NAME = 'tetragon';
const CODE = 'TETRAGON';
const MAX_PATH_CHARS = 4096;
const MAX_ARGS = 128;
const MAX_ARGUMENTS_CHARS = 32 * 1024;
const MAX_ID_CHARS = 256;
const MAX_ORIGINAL_KEYS = 64;
const MAX_KPROBE_ARGS = 16;
/** Event types Tetragon writes that we read: exec and exit become process events; kprobes and tracepoints may be connects. */
const PROCESS_TYPES = ['process_exec', 'process_exit', 'process_kprobe', 'process_tracepoint'] as const;
type EventType = (typeof PROCESS_TYPES)[number];
/** Other event types Tetragon writes: read whole, not used. */
const OTHER_TYPES = new Set(['process_loader', 'process_uprobe', 'process_lsm', 'process_throttle', 'rate_limit_info']);
/** `containerd://…`, `docker://…`, `cri-o://…`: the runtime before the id. */
const RUNTIME_PREFIX = /^([a-z][a-z0-9-]{0,15}):\/\/([0-9a-f]{12,64})$/;
const BARE_ID = /^[0-9a-f]{12,64}$/;

interface Where {
  file: string;
  line: number;
  hostHint?: string;
}

function pidOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

/** A string field, bounded; a number or anything else where Tetragon writes a string is not taken. */
function stringOf(v: unknown, max: number): string | undefined {
  return typeof v === 'string' ? textOf(v, max) : undefined;
}

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? path.slice(slash + 1) : path;
}

/** The binary and its arguments as one line, and the arguments split: argv[0] is the binary. */
function commandOf(binary: string | undefined, argumentsText: string | undefined): { line?: string; args?: string[] } {
  if (binary === undefined) return argumentsText === undefined ? {} : { line: argumentsText };
  if (argumentsText === undefined) return { line: binary, args: [binary] };
  const split = splitArgv(argumentsText, { maxChars: MAX_ARGUMENTS_CHARS, maxArgs: MAX_ARGS - 1 });
  return { line: clip(`${binary} ${argumentsText}`, MAX_ARGUMENTS_CHARS), args: [binary, ...split.args] };
}

function processOf(p: Obj): ProcessFields {
  const out: ProcessFields = {};
  const pid = pidOf(p.pid);
  if (pid !== undefined) out.pid = pid;
  const execId = stringOf(p.exec_id, MAX_ID_CHARS);
  if (execId !== undefined) out.entity_id = execId;
  const binary = stringOf(p.binary, MAX_PATH_CHARS);
  if (binary !== undefined) {
    out.executable = binary;
    out.name = clip(basename(binary), MAX_NAME_CHARS);
  }
  const command = commandOf(binary, stringOf(p.arguments, MAX_ARGUMENTS_CHARS));
  if (command.line !== undefined) out.command_line = command.line;
  if (command.args !== undefined) out.args = command.args;
  const cwd = stringOf(p.cwd, MAX_PATH_CHARS);
  if (cwd !== undefined) out.working_directory = cwd;
  const start = parseTimestamp(p.start_time);
  if (start !== undefined) out.start = new Date(start).toISOString();
  return out;
}

function parentOf(process: Obj, parent: Obj | undefined): ProcessParent | undefined {
  const out: ProcessParent = {};
  const parentExecId = stringOf(process.parent_exec_id, MAX_ID_CHARS) ?? stringOf(parent?.exec_id, MAX_ID_CHARS);
  if (parentExecId !== undefined) out.entity_id = parentExecId;
  if (parent !== undefined) {
    const p = processOf(parent);
    if (p.pid !== undefined) out.pid = p.pid;
    if (p.name !== undefined) out.name = p.name;
    if (p.executable !== undefined) out.executable = p.executable;
    if (p.command_line !== undefined) out.command_line = p.command_line;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The pod, container and image a process ran in, as Tetragon's pod block (or, outside Kubernetes, its docker id) says. */
function addPlacement(event: CoalEvent, p: Obj): void {
  const pod = isObject(p.pod) ? p.pod : undefined;
  const c = isObject(pod?.container) ? pod.container : undefined;
  const container: NonNullable<CoalEvent['container']> = {};
  const rawId = stringOf(c?.id, 128);
  const prefixed = rawId !== undefined ? RUNTIME_PREFIX.exec(rawId) : null;
  if (prefixed) {
    container.runtime = prefixed[1];
    container.id = prefixed[2];
  } else if (rawId !== undefined && BARE_ID.test(rawId)) container.id = rawId;
  else {
    // outside Kubernetes Tetragon gives only the first characters of the docker id
    const docker = stringOf(p.docker, 128);
    if (docker !== undefined && BARE_ID.test(docker)) container.id = docker;
  }
  const name = stringOf(c?.name, MAX_NAME_CHARS);
  if (name !== undefined) container.name = name;
  const image = isObject(c?.image) ? c.image : undefined;
  const named = imageOf(image?.name);
  const byId = imageOf(image?.id);
  if (named !== undefined || byId?.hash !== undefined) {
    container.image = { ...named };
    const digests = [...(named?.hash?.all ?? []), ...(byId?.hash?.all ?? [])];
    const unique = digests.filter((d, i) => digests.indexOf(d) === i);
    if (unique.length > 0) container.image.hash = { all: unique };
  }
  if (Object.keys(container).length > 0) event.container = container;
  if (pod === undefined) return;
  const orchestrator: NonNullable<CoalEvent['orchestrator']> = {};
  const namespace = stringOf(pod.namespace, MAX_NAME_CHARS);
  if (namespace !== undefined) orchestrator.namespace = namespace;
  const podName = stringOf(pod.name, MAX_NAME_CHARS);
  if (podName !== undefined) {
    const resource: NonNullable<NonNullable<CoalEvent['orchestrator']>['resource']> = { type: 'pod', name: podName };
    const workload = stringOf(pod.workload, MAX_NAME_CHARS);
    const kind = stringOf(pod.workload_kind, 64);
    if (workload !== undefined)
      resource.parent = kind !== undefined ? { type: kind, name: workload } : { name: workload };
    orchestrator.resource = resource;
  }
  if (Object.keys(orchestrator).length > 0) event.orchestrator = orchestrator;
}

/** A socket address among a kprobe's or tracepoint's arguments: `sock_arg` (saddr/daddr) or `sockaddr_arg` (addr/port). */
function connectionOf(
  body: Obj,
):
  | { source?: CoalEvent['source']; destination: NonNullable<CoalEvent['destination']>; transport?: string }
  | undefined {
  const args = Array.isArray(body.args) ? body.args.slice(0, MAX_KPROBE_ARGS) : [];
  for (const arg of args) {
    if (!isObject(arg)) continue;
    if (isObject(arg.sock_arg)) {
      const s = arg.sock_arg;
      const destination = endpointOf(s.daddr, s.dport);
      if (destination?.ip === undefined) continue;
      const protocol = textOf(s.protocol, 32);
      const transport = protocol?.startsWith('IPPROTO_') ? protocol.slice(8).toLowerCase() : undefined;
      return { source: endpointOf(s.saddr, s.sport), destination, transport };
    }
    if (isObject(arg.sockaddr_arg)) {
      const destination = endpointOf(arg.sockaddr_arg.addr, arg.sockaddr_arg.port);
      if (destination?.ip !== undefined) return { destination };
    }
  }
  return undefined;
}

/** The top-level and event keys worth keeping as read: scalars only, bounded (the process is mapped). */
function originalOf(o: Obj, type: EventType, body: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = { type };
  for (const key of ['node_name', 'time', 'cluster_name']) {
    const v = textOf(o[key], 256);
    if (v !== undefined) out[key] = v;
  }
  let n = 0;
  for (const key in body) {
    if (n++ >= MAX_ORIGINAL_KEYS) break;
    const v = body[key];
    if (typeof v === 'string') out[clip(key, 64)] = clip(v, 1024);
    else if (typeof v === 'number' || typeof v === 'boolean') out[clip(key, 64)] = v;
  }
  const flags = isObject(body.process) ? textOf(body.process.flags, 256) : undefined;
  if (flags !== undefined) out.flags = flags;
  return out;
}

/** One export line as an event, `'unused'` for an event type or kprobe we do not map, or why it is not an event. */
export function tetragonEvent(o: Obj, where: Where): CoalEvent | 'unused' | string {
  const type = PROCESS_TYPES.find((t) => t in o);
  if (type === undefined) {
    for (const key in o) if (OTHER_TYPES.has(key) || key.startsWith('process_')) return 'unused';
    return 'no Tetragon event type (process_exec, process_exit, process_kprobe, …)';
  }
  const body = o[type];
  if (!isObject(body)) return `${type} is not an object`;
  const connection = type === 'process_kprobe' || type === 'process_tracepoint' ? connectionOf(body) : undefined;
  if ((type === 'process_kprobe' || type === 'process_tracepoint') && connection === undefined) return 'unused';
  if (!isObject(body.process)) return `${type} without a process`;
  // An exec whose exporter left `time` unset (Tetragon's own testdata has one) happened when its process started.
  const ts =
    o.time === undefined && type === 'process_exec' ? parseTimestamp(body.process.start_time) : parseTimestamp(o.time);
  if (ts === undefined)
    return o.time === undefined ? 'time is missing' : `time ${clip(JSON.stringify(o.time), 60)} is not a time`;
  const process = processOf(body.process);
  if (process.pid === undefined && process.entity_id === undefined)
    return `${type} process has neither pid nor exec_id`;
  const parent = parentOf(body.process, isObject(body.parent) ? body.parent : undefined);
  if (parent !== undefined) process.parent = parent;
  const action: EventAction = type === 'process_exec' ? 'exec' : type === 'process_exit' ? 'exit' : 'connect';
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: [action === 'connect' ? 'network' : 'process'],
      type: [action === 'exec' ? 'start' : action === 'exit' ? 'end' : 'connection'],
      action,
      dataset: `${NAME}.${type}`,
    },
    host: { os: { platform: 'linux' } },
    process,
    original: originalOf(o, type, body),
    coalmine: { ts, format: NAME, ref: { file: where.file, line: where.line } },
  };
  const node = stringOf(o.node_name, MAX_NAME_CHARS) ?? (where.hostHint && clip(where.hostHint, MAX_NAME_CHARS));
  if (node) event.host = { name: node, os: { platform: 'linux' } };
  const uid = pidOf(body.process.uid);
  if (uid !== undefined) event.user = { id: String(uid) };
  addPlacement(event, body.process);
  if (connection !== undefined) {
    if (connection.source !== undefined) event.source = connection.source;
    event.destination = connection.destination;
    if (connection.transport !== undefined) event.network = { transport: connection.transport, direction: 'outbound' };
  }
  return event;
}

export const tetragon: SourceDescriptor = {
  name: NAME,
  summary:
    'Cilium Tetragon JSON export: process_exec / process_exit with pod, container and image; tcp_connect kprobes',
  platform: 'container',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) =>
        isObject(o) &&
        (typeof o.time === 'string' || 'node_name' in o) &&
        (PROCESS_TYPES.some((t) => isObject(o[t])) || ('node_name' in o && typeof o.time === 'string'))
          ? 93
          : 0,
      (first) => (/^\s*\{\s*"process_(?:exec|exit|kprobe|tracepoint)"\s*:/.test(first) ? 60 : 0),
    );
  },
  read(input, context) {
    return readJsonLines(input, context, CODE, (o, line) =>
      isObject(o)
        ? tetragonEvent(o, { file: input.name, line, hostHint: input.hostHint })
        : 'line is JSON but not an object',
    );
  },
};
