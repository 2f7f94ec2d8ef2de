/**
 * coalmine's own normalised events, one JSON object per line, so any upstream can feed the engine.
 * This is the benchmark's hot path: one JSON.parse and a few property checks per line, the parsed
 * object is reused as the event (no copies). `coalmine.*` is always recomputed from the line.
 */
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import { isPlausibleMs } from '../util/time.js';
import { sourceLines } from './lines.js';
import type { SourceDescriptor } from './types.js';

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

type Parsed = Record<string, unknown> & { event?: Record<string, unknown>; coalmine?: Record<string, unknown> };

/** Why a parsed line is not an event, or undefined when it is one. */
function problem(o: Parsed): string | undefined {
  const ts = o['@timestamp'];
  if (typeof ts !== 'string') return '@timestamp is missing or not a string';
  const ev = o.event;
  if (typeof ev !== 'object' || ev === null) return 'event is missing or not an object';
  if (typeof ev.action !== 'string' || !ACTIONS.has(ev.action))
    return `event.action ${JSON.stringify(ev.action)?.slice(0, 60)} is not a known action`;
  if (typeof ev.dataset !== 'string') return 'event.dataset is missing or not a string';
  if (ev.kind !== undefined && !KINDS.has(ev.kind as string))
    return `event.kind ${JSON.stringify(ev.kind)?.slice(0, 40)} is not event, metric or state`;
  if (!Array.isArray(ev.category)) ev.category = [];
  return undefined;
}

export const ndjson: SourceDescriptor = {
  name: 'ndjson',
  summary: "coalmine's own normalised events (ECS-shaped), one JSON object per line",
  platform: 'generic',
  delivers: 'events',
  sniff(head) {
    const first = head.split('\n', 8).find((l) => l.trim() !== '');
    if (!first?.trimStart().startsWith('{')) return 0;
    try {
      const o = JSON.parse(first) as Parsed;
      return typeof o['@timestamp'] === 'string' &&
        typeof o.event === 'object' &&
        o.event !== null &&
        'action' in o.event
        ? 80
        : 0;
    } catch {
      // the head may cut a long first line: fall back to its shape
      return first.includes('"@timestamp"') && first.includes('"action"') ? 40 : 0;
    }
  },
  async *read(input, context) {
    let issues: Issue[] = [];
    const file = input.name;
    const lines = sourceLines(input, context, (i) => issues.push(i));
    for await (const batch of lines) {
      const events: CoalEvent[] = [];
      const { lines: texts, lineNos } = batch;
      for (let i = 0; i < texts.length; i++) {
        const text = texts[i];
        if (text.length === 0 || (text.charCodeAt(0) !== 123 && text.trim() === '')) continue;
        let o: Parsed;
        try {
          o = JSON.parse(text) as Parsed;
        } catch (err) {
          issues.push({
            file,
            line: lineNos[i],
            code: 'NDJSON_BAD_JSON',
            reason: (err as Error).message.slice(0, 200),
            stage: 'parsing',
          });
          continue;
        }
        if (typeof o !== 'object' || o === null || Array.isArray(o)) {
          issues.push({
            file,
            line: lineNos[i],
            code: 'NDJSON_BAD_EVENT',
            reason: 'line is JSON but not an object',
            stage: 'parsing',
          });
          continue;
        }
        const why = problem(o);
        const ts = why ? Number.NaN : Date.parse(o['@timestamp'] as string);
        if (why || !isPlausibleMs(ts)) {
          issues.push({
            file,
            line: lineNos[i],
            code: 'NDJSON_BAD_EVENT',
            reason: why ?? '@timestamp is not a plausible time',
            stage: 'parsing',
          });
          continue;
        }
        const ev = o.event as Record<string, unknown>;
        if (ev.kind === undefined) ev.kind = 'event';
        const prior = o.coalmine?.persistence as { mechanism?: unknown } | undefined;
        o.coalmine = {
          ts,
          format: 'ndjson',
          ref: { file, line: lineNos[i] },
          ...(prior && typeof prior === 'object' && typeof prior.mechanism === 'string' ? { persistence: prior } : {}),
        };
        if (typeof o.original !== 'object' || o.original === null || Array.isArray(o.original)) o.original = {};
        // normalise the ISO form so @timestamp and coalmine.ts always agree
        const iso = o['@timestamp'] as string;
        if (iso.length !== 24 || iso.charCodeAt(23) !== 90) o['@timestamp'] = new Date(ts).toISOString();
        events.push(o as unknown as CoalEvent);
      }
      yield { events, issues };
      issues = [];
    }
    if (issues.length > 0) yield { events: [], issues };
  },
};
