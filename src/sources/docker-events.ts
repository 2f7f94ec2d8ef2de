/**
 * Docker runtime events: `docker events --format '{{json .}}'`, one object per line
 * (`{status,id,from,Type,Action,Actor:{ID,Attributes},scope,time,timeNano}`). A container's create,
 * start, die, kill, stop, destroy and exec_create/exec_start are each one `container-seen` event whose
 * WorkloadFacts verb is the Action as Docker wrote it (`exec_start: sh -c …` keeps the command, also
 * split into execCommand); an image pull is one with verb `pull`. Exit codes and signals stay in
 * `original` (Actor.Attributes). Other types and actions (network, volume, attach, resize, …) are
 * counted as unused. Docker names no host in its events: the input's host hint stands in.
 */
import type { CoalEvent, WorkloadFacts } from '../model/event.js';
import { clip } from '../util/hostile.js';
import { isPlausibleMs, parseTimestamp } from '../util/time.js';
import { imageOf } from './container-fields.js';
import { readJsonLines, sniffJsonLine } from './lines.js';
import { isObject, numberOf, textOf } from './net-fields.js';
import type { SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;
const NAME = 'docker-events';
const CODE = 'DOCKER_EVENTS';
const CONTAINER_ACTIONS = new Set(['create', 'start', 'die', 'kill', 'stop', 'destroy', 'exec_create', 'exec_start']);
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const MAX_ACTION_CHARS = 1024;
const MAX_ATTRIBUTES = 64;
const MAX_EXEC_ARGS = 128;
const MAX_NAME_CHARS = 253;

/** Event time from `timeNano` (integer nanoseconds), else `time` (seconds). */
function timeOf(o: Obj): number | undefined {
  const nano = numberOf(o.timeNano);
  if (nano !== undefined) {
    const ms = Math.floor(nano / 1e6);
    if (isPlausibleMs(ms)) return ms;
  }
  const seconds = numberOf(o.time);
  return seconds !== undefined && seconds < 1e11 ? parseTimestamp(seconds) : undefined;
}

/** Actor.Attributes, string values only, bounded. */
function attributesOf(actor: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(actor.Attributes)) return out;
  let n = 0;
  for (const key of Object.keys(actor.Attributes)) {
    if (n >= MAX_ATTRIBUTES) break;
    const v = actor.Attributes[key];
    if (typeof v !== 'string') continue;
    out[clip(key, 128)] = clip(v, 1024);
    n++;
  }
  return out;
}

function originalOf(o: Obj, attributes: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['status', 'id', 'from', 'Type', 'Action', 'scope', 'time', 'timeNano']) {
    const v = o[key];
    if (typeof v === 'string') out[key] = clip(v, MAX_ACTION_CHARS);
    else if (typeof v === 'number') out[key] = v;
  }
  const actor = isObject(o.Actor) ? o.Actor : {};
  out.Actor = { ID: textOf(actor.ID, 128), Attributes: attributes };
  return out;
}

function mapLine(o: unknown, line: number, file: string, hostHint: string | undefined): CoalEvent | 'unused' | string {
  if (!isObject(o)) return 'line is not a JSON object';
  const type = textOf(o.Type, 32);
  const action = textOf(o.Action, MAX_ACTION_CHARS) ?? textOf(o.status, MAX_ACTION_CHARS);
  if (type === undefined || action === undefined) return 'no Type or Action';
  const base = action.split(':', 1)[0].trim();
  const isPull = type === 'image' && base === 'pull';
  if (!(type === 'container' && CONTAINER_ACTIONS.has(base)) && !isPull) return 'unused';
  const ts = timeOf(o);
  if (ts === undefined) return `no valid timeNano or time (${clip(String(o.timeNano ?? o.time), 40)})`;
  const actor = isObject(o.Actor) ? o.Actor : {};
  const attributes = attributesOf(actor);
  const facts: WorkloadFacts = { verb: isPull ? 'pull' : action, kind: isPull ? 'Image' : 'Container' };
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['host'],
      type: ['change'],
      action: 'container-seen',
      dataset: `${NAME}.${type}`,
    },
    original: originalOf(o, attributes),
    coalmine: { ts, format: NAME, ref: { file, line }, workload: facts },
  };
  if (hostHint !== undefined) event.host = { name: clip(hostHint, MAX_NAME_CHARS) };
  const container: NonNullable<CoalEvent['container']> = { runtime: 'docker' };
  if (isPull) {
    // a pull's actor is the image reference itself
    const image = imageOf(actor.ID ?? o.id);
    if (image !== undefined) container.image = image;
  } else {
    const id = textOf(actor.ID, 128) ?? textOf(o.id, 128);
    if (id === undefined || !CONTAINER_ID.test(id))
      return `container event with no container id (${clip(String(id), 80)})`;
    container.id = id;
    const name = attributes.name;
    if (name !== undefined) {
      container.name = clip(name, MAX_NAME_CHARS);
      facts.name = container.name;
    }
    const image = imageOf(attributes.image ?? o.from);
    if (image !== undefined) container.image = image;
    if (base.startsWith('exec_')) {
      const command = action.slice(base.length + 1).trim();
      if (command !== '') facts.execCommand = command.split(/\s+/).slice(0, MAX_EXEC_ARGS);
    }
  }
  event.container = container;
  const pod = attributes['io.kubernetes.pod.name'];
  const namespace = attributes['io.kubernetes.pod.namespace'];
  if (pod !== undefined || namespace !== undefined) {
    event.orchestrator = {};
    if (namespace !== undefined) {
      event.orchestrator.namespace = clip(namespace, MAX_NAME_CHARS);
      facts.namespace = event.orchestrator.namespace;
    }
    if (pod !== undefined) event.orchestrator.resource = { type: 'pod', name: clip(pod, MAX_NAME_CHARS) };
  }
  return event;
}

export const dockerEvents: SourceDescriptor = {
  name: NAME,
  summary: "Docker runtime events: docker events --format '{{json .}}' (container lifecycle, exec, image pull)",
  platform: 'container',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) => (isObject(o) && typeof o.Type === 'string' && typeof o.Action === 'string' && isObject(o.Actor) ? 90 : 0),
      (first) => (first.includes('"Actor"') && first.includes('"Action"') && first.includes('"Type"') ? 60 : 0),
    );
  },
  read(input, context) {
    return readJsonLines(
      input,
      context,
      CODE,
      (o, line) => mapLine(o, line, input.name, input.hostHint),
      'line is not valid JSON',
    );
  },
};
