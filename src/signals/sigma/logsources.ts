/**
 * Which events a rule's logsource reads: the data in rules/sigma/logsources.yml, resolved once per rule
 * into index keys (a Windows record by its EventID, any other event by its action) and a predicate.
 */
import type { CoalEvent } from '../../model/event.js';

export interface EventCondition {
  provider?: string;
  channel?: string;
  eventid?: number[];
  action?: string[] | 'any';
  platform?: string;
  format?: string[];
}

export interface LogsourceEntry {
  product?: string;
  category?: string;
  service?: string;
  /** `ecs`: the sources' field names are not Sigma's; fields go through the pipeline. */
  fields?: 'ecs' | 'native';
  events: EventCondition[];
}

export interface RuleLogsource {
  product?: string;
  category?: string;
  service?: string;
}

/** The System part of a Windows record as win-event.ts keeps it in `original`. */
export interface WindowsRecord {
  provider: string;
  channel: string;
  eventId: number;
  data: Record<string, unknown>;
  system: Record<string, unknown>;
}

/**
 * The event last read and its record: every rule that looks at one event (the candidates, each
 * logsource, each condition) does so before the next event is matched, so one entry serves them all,
 * with no weak map entry per event for the collector to sweep. An event is immutable once classified.
 */
let recordOf: CoalEvent | undefined;
let lastRecord: WindowsRecord | undefined;

/** The event's Windows record, when it carries one (every EVTX/XML/JSON/Winlogbeat event does). */
export function windowsRecord(event: CoalEvent): WindowsRecord | undefined {
  // most events are not Windows records: an EventID decides it without touching the cache
  const o = event.original;
  if (!o || typeof o !== 'object' || typeof o.EventID !== 'number') return undefined;
  if (event !== recordOf) {
    recordOf = event;
    lastRecord = readWindowsRecord(event);
  }
  return lastRecord;
}

function readWindowsRecord(event: CoalEvent): WindowsRecord | undefined {
  const o = event.original;
  if (!o || typeof o !== 'object') return undefined;
  const data = (o as Record<string, unknown>).EventData;
  const id = (o as Record<string, unknown>).EventID;
  if (!data || typeof data !== 'object' || typeof id !== 'number') return undefined;
  const sys = o as Record<string, unknown>;
  return {
    provider: typeof sys.Provider === 'string' ? sys.Provider : '',
    channel: typeof sys.Channel === 'string' ? sys.Channel : '',
    eventId: id,
    data: data as Record<string, unknown>,
    system: sys,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.toLowerCase() : undefined;
}

function list(v: unknown): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v : [v];
}

/** Reads the YAML document's `logsources:`; a malformed entry is a string reason, the rest load. */
export function parseLogsources(doc: unknown): { entries: LogsourceEntry[]; problems: string[] } {
  const entries: LogsourceEntry[] = [];
  const problems: string[] = [];
  const raw = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).logsources : undefined;
  if (!Array.isArray(raw)) return { entries, problems: ['logsources must be a list'] };
  for (let i = 0; i < raw.length; i++) {
    const item: unknown = raw[i];
    if (!item || typeof item !== 'object') {
      problems.push(`entry ${i + 1} is not a mapping`);
      continue;
    }
    const e = item as Record<string, unknown>;
    const events: EventCondition[] = [];
    for (const c of list(e.events) ?? []) {
      if (!c || typeof c !== 'object') continue;
      const r = c as Record<string, unknown>;
      const cond: EventCondition = {};
      const provider = str(r.provider);
      if (provider) cond.provider = provider;
      const channel = str(r.channel);
      if (channel) cond.channel = channel;
      const ids = list(r.eventid)?.map(Number).filter(Number.isInteger);
      if (ids && ids.length > 0) cond.eventid = ids;
      if (r.action === 'any') cond.action = 'any';
      else {
        const actions = list(r.action)?.map(String);
        if (actions) cond.action = actions;
      }
      const platform = str(r.platform);
      if (platform) cond.platform = platform;
      const formats = list(r.format)?.map((x) => String(x).toLowerCase());
      if (formats) cond.format = formats;
      events.push(cond);
    }
    if (events.length === 0) {
      problems.push(`entry ${i + 1} has no events`);
      continue;
    }
    entries.push({
      product: str(e.product),
      category: str(e.category),
      service: str(e.service),
      fields: e.fields === 'ecs' ? 'ecs' : 'native',
      events,
    });
  }
  return { entries, problems };
}

export interface ResolvedLogsource {
  conditions: EventCondition[];
  /** Index keys: `w:<EventID>` / `w:*` for Windows records, `a:<action>` / `a:*` for other events. */
  keys: string[];
  /** Every matched entry reads its sources by ECS names (so unmapped fields deserve a warning). */
  ecsOnly: boolean;
}

function isWindowsCondition(c: EventCondition): boolean {
  return c.provider !== undefined || c.channel !== undefined || c.eventid !== undefined;
}

export function resolveLogsource(ls: RuleLogsource, entries: LogsourceEntry[]): ResolvedLogsource | undefined {
  const product = ls.product?.toLowerCase();
  const category = ls.category?.toLowerCase();
  const service = ls.service?.toLowerCase();
  const matched = entries.filter(
    (e) =>
      e.category === category &&
      e.service === service &&
      (product === undefined || e.product === undefined || e.product === product),
  );
  if (matched.length === 0) return undefined;
  const conditions = matched.flatMap((e) => e.events);
  const keys = new Set<string>();
  for (const c of conditions) {
    if (isWindowsCondition(c)) {
      if (c.eventid) for (const id of c.eventid) keys.add(`w:${id}`);
      else keys.add('w:*');
    }
    if (c.action === 'any') keys.add('a:*');
    else if (c.action) for (const a of c.action) keys.add(`a:${a}`);
  }
  return { conditions, keys: [...keys], ecsOnly: matched.every((e) => e.fields === 'ecs') };
}

/**
 * Whether some rule reads every record of a format (a cloud or Kubernetes logsource, `action: any`):
 * those sources keep the records no analytic reads for it (SourceContext.keepRecord).
 */
export function formatRecordFilter(rules: Iterable<{ logsource: EventCondition[] }>): (format: string) => boolean {
  const formats = new Set<string>();
  for (const rule of rules)
    for (const c of rule.logsource) if (c.action === 'any') for (const f of c.format ?? []) formats.add(f);
  return (format) => formats.has(format.toLowerCase());
}

/** True when a Windows record of this provider, channel and EventID is one the condition reads. */
export function conditionReadsRecord(c: EventCondition, provider: string, channel: string, eventId: number): boolean {
  if (!isWindowsCondition(c)) return false;
  if (c.provider !== undefined && c.provider !== '*' && c.provider !== provider.toLowerCase()) return false;
  if (c.channel !== undefined && c.channel !== channel.toLowerCase()) return false;
  return c.eventid === undefined || c.eventid.includes(eventId);
}

/** True when `event` (with its Windows record `win`, if any) meets one of the conditions. */
export function logsourceMatches(
  conditions: EventCondition[],
  event: CoalEvent,
  win: WindowsRecord | undefined,
): boolean {
  const platform = event.host?.os?.platform?.toLowerCase();
  for (const c of conditions) {
    if (win && isWindowsCondition(c)) {
      // a Windows-shaped record of another platform (Sysmon for Linux) is read by that platform's conditions only
      if (c.platform !== undefined && platform !== undefined && c.platform !== platform) continue;
      if (conditionReadsRecord(c, win.provider, win.channel, win.eventId)) return true;
      continue;
    }
    if (win && !isWindowsCondition(c) && c.format === undefined) {
      // an ECS-only condition (Linux process events) never reads a Windows record
      if (c.platform !== undefined && c.platform !== 'windows') continue;
    }
    if (!win && isWindowsCondition(c) && c.action === undefined) continue;
    if (c.action !== undefined && c.action !== 'any' && !c.action.includes(event.event.action)) continue;
    if (c.platform !== undefined && platform !== undefined && c.platform !== platform) continue;
    if (c.format !== undefined && !c.format.includes(event.coalmine.format.toLowerCase())) continue;
    return true;
  }
  return false;
}
