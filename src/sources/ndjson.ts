/**
 * coalmine's own normalised events, one JSON object per line, so any upstream can feed the engine.
 * This is the benchmark's hot path: one JSON.parse and a fixed set of property checks per line, and the
 * parsed object is reused as the event (no copies, no walk over unknown keys). `coalmine.*` is recomputed.
 */
import type { CoalEvent, EventAction } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { canonicalIsoMs, isPlausibleMs } from '../util/time.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import { forwardInTime } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

const ACTIONS = new Set<string>([
  'exec',
  'process-seen',
  'exit',
  'connect',
  'listen',
  'dns-query',
  'kill',
  'file-write',
  'persistence-entry',
  'metric',
] satisfies EventAction[]);
const KINDS = new Set(['event', 'metric', 'state']);
const MECHANISMS = new Set<string>([
  'cron',
  'systemd',
  'rc',
  'preload',
  'init',
  'scheduled-task',
  'run-key',
  'service',
] satisfies NonNullable<CoalEvent['coalmine']['persistence']>['mechanism'][]);
/** Longer than any timestamp form; Date.parse is not fed megabytes. */
const MAX_TIMESTAMP_CHARS = 64;

/**
 * The typed fields of CoalEvent that signals and the engine read. A line that puts a number where a
 * string belongs would otherwise throw deep inside a classifier (`name.toLowerCase is not a function`)
 * and stop the run, so these are checked; fields not listed here are passed through unread.
 */
type Shape = 'string' | 'number' | 'boolean' | 'strings' | { readonly [key: string]: Shape };

const ENDPOINT: Shape = { ip: 'string', port: 'number', domain: 'string', bytes: 'number' };
const NAMED: Shape = { name: 'string', id: 'string' };
const EVENT_SHAPE: Shape = {
  event: { category: 'strings', type: 'strings', id: 'string', outcome: 'string' },
  host: { name: 'string', id: 'string', ip: 'strings', os: { platform: 'string' } },
  process: {
    pid: 'number',
    entity_id: 'string',
    name: 'string',
    executable: 'string',
    command_line: 'string',
    args: 'strings',
    working_directory: 'string',
    start: 'string',
    hash: { sha256: 'string', md5: 'string', sha1: 'string' },
    pe: { original_file_name: 'string' },
    exe_deleted: 'boolean',
    parent: { pid: 'number', entity_id: 'string', name: 'string', executable: 'string', command_line: 'string' },
    user: NAMED,
    target: { pid: 'number', name: 'string', executable: 'string', signal: 'number' },
  },
  user: { name: 'string', id: 'string', effective: NAMED },
  source: ENDPOINT,
  destination: ENDPOINT,
  network: { transport: 'string', protocol: 'string', direction: 'string' },
  dns: { question: { name: 'string' }, resolved_ip: 'strings' },
  url: { full: 'string', domain: 'string' },
  file: { path: 'string', name: 'string', mtime: 'string', line: 'string' },
  container: { id: 'string', name: 'string', image: { name: 'string' } },
  orchestrator: { namespace: 'string', resource: { type: 'string', name: 'string' }, cluster: { name: 'string' } },
  cloud: { provider: 'string', account: { id: 'string' }, instance: { id: 'string' }, region: 'string' },
  metrics: {
    cpu_pct: 'number',
    mem_pct: 'number',
    gpu_pct: 'number',
    rss_bytes: 'number',
    cpu_time_ms: 'number',
    cores: 'number',
    gpus: 'number',
  },
};

/** Maps, looked up by the keys a line has: cheaper per line than probing for every field it might have. */
type CompiledShape = 'string' | 'number' | 'boolean' | 'strings' | ReadonlyMap<string, CompiledShape>;

function compile(shape: Shape): CompiledShape {
  if (typeof shape === 'string') return shape;
  return new Map(Object.entries(shape).map(([key, inner]) => [key, compile(inner)]));
}
const CHECKS = compile(EVENT_SHAPE) as ReadonlyMap<string, CompiledShape>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'a number out of range';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

const EXPECTED = { string: 'a string', number: 'a number', boolean: 'true or false', strings: 'an array of strings' };

/**
 * The first field of `o` that breaks the shape, as `path is X, expected Y`; undefined when all fit.
 * Only keys the line has are looked at; the path is built on the way out, so a good line allocates nothing.
 */
function wrongField(o: Record<string, unknown>, checks: ReadonlyMap<string, CompiledShape>): string | undefined {
  for (const key in o) {
    const shape = checks.get(key);
    if (shape === undefined) continue;
    const v = o[key];
    if (v === undefined) continue;
    let fits: boolean;
    if (shape === 'string') fits = typeof v === 'string';
    else if (shape === 'number') fits = typeof v === 'number' && Number.isFinite(v);
    else if (shape === 'boolean') fits = typeof v === 'boolean';
    else if (shape === 'strings') {
      if (!Array.isArray(v)) fits = false;
      else {
        for (let j = 0; j < v.length; j++)
          if (typeof v[j] !== 'string') return `${key}[${j}] is ${describe(v[j])}, expected a string`;
        fits = true;
      }
    } else {
      if (!isObject(v)) return `${key} is ${describe(v)}, expected an object`;
      const inner = wrongField(v, shape);
      if (inner !== undefined) return `${key}.${inner}`;
      fits = true;
    }
    if (!fits) return `${key} is ${describe(v)}, expected ${EXPECTED[shape as keyof typeof EXPECTED]}`;
  }
  return undefined;
}

/** Why a parsed line is not an event, or undefined when it is one. */
function problem(o: Record<string, unknown>): string | undefined {
  const ts = o['@timestamp'];
  if (typeof ts !== 'string') return '@timestamp is missing or not a string';
  const ev = o.event;
  if (!isObject(ev)) return 'event is missing or not an object';
  if (typeof ev.action !== 'string' || !ACTIONS.has(ev.action))
    return `event.action ${clip(JSON.stringify(ev.action) ?? 'is missing', 60)}${ev.action === undefined ? '' : ' is not a known action'}`;
  if (typeof ev.dataset !== 'string') return 'event.dataset is missing or not a string';
  if (ev.kind !== undefined && !KINDS.has(ev.kind as string))
    return `event.kind ${clip(JSON.stringify(ev.kind) ?? '', 40)} is not event, metric or state`;
  return wrongField(o, CHECKS);
}

/** A persistence claim we can trust the shape of: a known mechanism and, when present, a string target. */
function persistenceOf(coalmine: unknown): CoalEvent['coalmine']['persistence'] {
  if (!isObject(coalmine)) return undefined;
  const p = coalmine.persistence;
  if (!isObject(p) || typeof p.mechanism !== 'string' || !MECHANISMS.has(p.mechanism)) return undefined;
  const mechanism = p.mechanism as NonNullable<CoalEvent['coalmine']['persistence']>['mechanism'];
  if (p.target === undefined) return { mechanism };
  return typeof p.target === 'string' ? { mechanism, target: p.target } : undefined;
}

export const ndjson: SourceDescriptor = {
  name: 'ndjson',
  summary: "coalmine's own normalised events (ECS-shaped), one JSON object per line",
  platform: 'generic',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) => (isObject(o) && typeof o['@timestamp'] === 'string' && isObject(o.event) && 'action' in o.event ? 80 : 0),
      // the head may cut a long first line: fall back to its shape
      (first) => (first.includes('"@timestamp"') && first.includes('"action"') ? 40 : 0),
    );
  },
  read(input, context) {
    // a newest-first export is put in time order; a file in order passes through as it is read
    return forwardInTime(readInFileOrder(input, context), input.name, 'NDJSON', BATCH_EVENTS);
  },
};

/** Events per batch a newest-first file's sorted events are given in. */
const BATCH_EVENTS = 4096;

async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  let issues: Issue[] = [];
  let routed: Issue[] = [];
  const file = input.name;
  const routing = context.lineRouting;
  // a split run: another thread's line is skipped before it is decoded; a line of ours reports its own issues
  const lines = sourceLines(input, context, (i) => issues.push(i), undefined, routing?.owner);
  for await (const batch of lines) {
    const events: CoalEvent[] = [];
    const { lines: texts, lineNos, mine } = batch;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i];
      if (text.length === 0 || (text.charCodeAt(0) !== 123 && text.trim() === '')) continue;
      const ours = mine?.[i] === true;
      const out = ours ? routed : issues;
      const line = lineNos[i];
      let o: unknown;
      try {
        o = JSON.parse(text);
      } catch (err) {
        out.push(issue({ file, line }, 'NDJSON_BAD_JSON', clip((err as Error).message, 200)));
        continue;
      }
      if (!isObject(o)) {
        out.push(issue({ file, line }, 'NDJSON_BAD_EVENT', `line is JSON but ${describe(o)}, not an object`));
        continue;
      }
      let why = problem(o);
      let ts = Number.NaN;
      // toISOString's form (most lines) is read by arithmetic and kept; any other is parsed and rewritten
      let canonical = false;
      if (why === undefined) {
        const stamp = o['@timestamp'] as string;
        ts = canonicalIsoMs(stamp);
        canonical = !Number.isNaN(ts);
        if (!canonical) ts = stamp.length <= MAX_TIMESTAMP_CHARS ? Date.parse(stamp) : Number.NaN;
        if (!isPlausibleMs(ts)) why = `@timestamp ${clip(JSON.stringify(stamp), 60)} is not a plausible time`;
      }
      if (why !== undefined) {
        out.push(issue({ file, line }, 'NDJSON_BAD_EVENT', why));
        continue;
      }
      const ev = o.event as Record<string, unknown>;
      if (ev.kind === undefined) ev.kind = 'event';
      if (ev.category === undefined) ev.category = [];
      const persistence = persistenceOf(o.coalmine);
      o.coalmine = persistence
        ? { ts, format: 'ndjson', ref: { file, line }, persistence }
        : { ts, format: 'ndjson', ref: { file, line } };
      if (!isObject(o.original)) o.original = {};
      // one canonical form, so @timestamp and coalmine.ts always agree
      if (!canonical) o['@timestamp'] = new Date(ts).toISOString();
      if (routing && !routing.keep(o as unknown as CoalEvent, ours)) continue;
      events.push(o as unknown as CoalEvent);
    }
    yield routed.length > 0 ? { events, issues, routed } : { events, issues };
    issues = [];
    routed = [];
  }
  if (issues.length > 0) yield { events: [], issues };
}
