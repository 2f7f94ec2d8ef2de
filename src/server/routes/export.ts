/**
 * Exports through the sinks `hunt` prints with: the store's findings as `hunt --format ndjson|ocsf`
 * lines (streamed page by page, bounded memory whatever the store holds), and one case as
 * `hunt --format ocsf-incident` renders it (OCSF Incident Finding 2005) with the analyst's state on it,
 * or its findings as lines. Each line is the sink's own rendering of one finding, so its bytes are
 * `hunt`'s; the order is the store's (the queue's for the findings, `hunt`'s ranking within a case).
 */
import { readFileSync } from 'node:fs';
import type { Case, Finding } from '../../model/finding.js';
import { SEVERITY_RANK } from '../../model/finding.js';
import { ndjson } from '../../sinks/ndjson.js';
import { ocsf, toOcsfIncident } from '../../sinks/ocsf.js';
import type { Sink } from '../../sinks/types.js';
import type { Resolution, StoredCase } from '../../store/cases.js';
import type { FindingFilter } from '../../store/findings.js';
import type { Store } from '../../store/index.js';
import { groupCases } from '../../triage/cases.js';
import { clip, inert } from '../../util/hostile.js';
import { round2 } from '../../util/number.js';
import { packagePath } from '../../util/package-root.js';
import { HttpError } from '../errors.js';
import type { Reply, ResponseStream, ServerDeps } from '../http.js';

/** The line formats, one finding a line, by the name `hunt --format` takes. */
export const LINE_FORMATS: Readonly<Record<string, Sink>> = { ndjson, ocsf };
export const FINDING_EXPORT_FORMATS = Object.keys(LINE_FORMATS);
export const CASE_EXPORT_FORMATS = ['ocsf-incident', ...FINDING_EXPORT_FORMATS];

/** Findings read from the store at a time: memory holds one page, never the whole export. */
const EXPORT_PAGE = 100;
/**
 * Text handed to the response at a time; the writer waits for the client between pieces, so even a
 * finding of the store's largest size (4 MiB) never nears the bound past which a slow client is dropped.
 */
const WRITE_PIECE_CHARS = 64 * 1024;
const NDJSON_TYPE = 'application/x-ndjson; charset=utf-8';

let version: string | undefined;
/** The product version OCSF metadata carries (package.json, read once). */
function productVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** A triage the sinks and grouping can read: its escalation an object, its cost absent or priced. */
function wholeTriage(t: unknown): Finding['triage'] {
  if (!isObject(t) || !isObject(t.escalation)) return undefined;
  const cost = t.cost;
  const priced = isObject(cost) && typeof cost.core_hours === 'number' && typeof cost.amount === 'number';
  return cost === null || cost === undefined || priced ? (t as unknown as Finding['triage']) : undefined;
}

/**
 * A stored finding in the shape the OCSF sinks and the grouping read. The store checks only the fields
 * it indexes, so a finding delivered to POST /api/v1/findings may lack the lists a detector always fills
 * or hold other things in them; they are read as empty (parts of the wrong kind left out) rather than
 * failing the export. A finding the detector made is unchanged by this: its rendering stays `hunt`'s.
 */
function renderable(f: Finding): Finding {
  const o = f as unknown as Record<string, unknown>;
  const facts = isObject(o.facts) ? { ...o.facts } : {};
  if (facts.destinations !== undefined) {
    if (Array.isArray(facts.destinations)) facts.destinations = strings(facts.destinations);
    else delete facts.destinations;
  }
  const context = Array.isArray(o.context)
    ? o.context.filter((c) => isObject(c) && Array.isArray(c.tags) && c.tags.every((t) => typeof t === 'string'))
    : undefined;
  return {
    ...f,
    // as ingest files such a finding (ingest.ts fileable): a resource to name
    entity: typeof o.entity === 'string' ? o.entity : `finding:${f.id}`,
    attack: strings(o.attack),
    related: strings(o.related),
    legs: strings(o.legs),
    gaps: strings(o.gaps),
    evidence: (Array.isArray(o.evidence) ? o.evidence.filter(isObject) : []) as unknown as Finding['evidence'],
    facts: facts as Finding['facts'],
    processes: (Array.isArray(o.processes) ? o.processes.filter(isObject) : []) as unknown as Finding['processes'],
    triage: wholeTriage(o.triage),
    ...(context !== undefined ? { context: context as unknown as Finding['context'] } : {}),
  };
}

/** The format asked for, one of `known`; missing or unknown is a 400 naming them. */
export function exportFormat(value: string | undefined, known: readonly string[]): string {
  if (value === undefined) throw new HttpError(400, 'bad_request', `format is required: one of ${known.join(', ')}`);
  if (!known.includes(value))
    throw new HttpError(400, 'bad_request', `unknown format (use one of ${known.join(', ')})`);
  return value;
}

/** A download's headers; the name is reduced to safe characters (a case id is stored text). */
function attachment(name: string): Record<string, string> {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return { 'content-disposition': `attachment; filename="${safe}"` };
}

/**
 * Writes `text` in pieces, waiting for the client to take each: false when the stream ended meanwhile
 * (the client left, or the server is closing). A piece never ends inside a surrogate pair.
 */
async function writeAll(out: ResponseStream, text: string): Promise<boolean> {
  for (let at = 0; at < text.length; ) {
    await out.drained();
    if (out.ended) return false;
    let end = Math.min(text.length, at + WRITE_PIECE_CHARS);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    if (!out.write(text.slice(at, end))) return false;
    at = end;
  }
  return true;
}

/**
 * A streamed reply whose lines come from `lines`; a failure part way is logged and the connection cut,
 * so the client sees an incomplete download rather than a short one that looks whole.
 */
function streamedLines(deps: ServerDeps, what: string, filename: string, lines: () => AsyncGenerator<string>): Reply {
  return {
    status: 200,
    contentType: NDJSON_TYPE,
    headers: attachment(filename),
    stream: (out) => {
      const pump = async () => {
        for await (const line of lines()) if (!(await writeAll(out, line))) return;
        out.end();
      };
      pump().catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        deps.log(`coalmine serve: ${clip(inert(what), 200)} failed part way: ${clip(inert(reason), 500)}`);
        out.abort();
      });
    },
  };
}

/** One finding's line as the sink renders it (ndjson: as stored, byte for byte). */
function renderLine(sink: Sink, f: Finding, context: { color: boolean; version: string }): string {
  return sink.render([sink === ndjson ? f : renderable(f)], context);
}

/**
 * GET /api/v1/findings/export: the newest revision of each finding the filter matches, in queue order,
 * each rendered by the sink `hunt --format` names. The first page is read before answering, so a bad
 * filter is a 400 rather than a cut stream.
 */
export async function exportFindings(deps: ServerDeps, filter: FindingFilter, format: string): Promise<Reply> {
  const sink = LINE_FORMATS[format];
  const context = { color: false, version: productVersion() };
  const first = await deps.store.findings.list(filter, { limit: EXPORT_PAGE });
  const filename = format === 'ndjson' ? 'coalmine-findings.ndjson' : `coalmine-findings.${format}.ndjson`;
  return streamedLines(deps, 'a findings export', filename, async function* () {
    let page = first;
    for (;;) {
      for (const stored of page.items) yield renderLine(sink, stored.finding, context);
      if (page.next === undefined) return;
      page = await deps.store.findings.list(filter, { limit: EXPORT_PAGE, cursor: page.next });
    }
  });
}

/**
 * `hunt`'s ranking of findings (analytics/finding.ts `compareFindings`, which the server may not
 * import): worst first, then most confident, earliest, id.
 */
function huntOrder(
  a: Pick<Finding, 'severity' | 'confidence' | 'first_seen' | 'id'>,
  b: Pick<Finding, 'severity' | 'confidence' | 'first_seen' | 'id'>,
): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    b.confidence - a.confidence ||
    (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The ids of the case's stored findings in `hunt`'s order; only their sort keys are held. */
async function rankedMemberIds(store: Store, c: StoredCase): Promise<string[]> {
  const keys: Pick<Finding, 'severity' | 'confidence' | 'first_seen' | 'id'>[] = [];
  for (const id of c.findings) {
    const f = (await store.findings.get(id))?.finding;
    if (f) keys.push({ id: f.id, severity: f.severity, confidence: f.confidence, first_seen: f.first_seen });
  }
  return keys.sort(huntOrder).map((k) => k.id);
}

const uniq = (values: string[]) => [...new Set(values)].slice(0, 16);

/**
 * The case as `hunt` would group its findings now (hosts, entities, campaign, times, cost of its
 * current members), under the store's id and headline (title, severity, tier as the case holds them).
 * Members the grouping keys do not link (a case merged by a finding since gone) are still one case.
 */
function caseNow(stored: StoredCase, members: Finding[]): Case {
  const groups = groupCases(members);
  const headline = { id: stored.id, title: stored.title, severity: stored.severity, tier: stored.tier };
  if (groups.length === 0) return { ...stored.grouped, ...headline, findings: [] } as Case;
  const [head, ...rest] = groups;
  if (rest.length === 0) return { ...head, ...headline } as Case;
  const priced = groups.filter((g) => g.cost !== null);
  const instanceHours = round2(groups.reduce((s, g) => s + (g.instance_hours ?? 0), 0));
  const gpuHours = round2(groups.reduce((s, g) => s + (g.gpu_hours ?? 0), 0));
  return {
    ...head,
    ...headline,
    hosts: uniq(groups.flatMap((g) => g.hosts)),
    entities: uniq(groups.flatMap((g) => g.entities)),
    campaign: {
      destinations: uniq(groups.flatMap((g) => g.campaign.destinations)),
      executables: uniq(groups.flatMap((g) => g.campaign.executables)),
      hashes: uniq(groups.flatMap((g) => g.campaign.hashes)),
    },
    findings: groups.flatMap((g) => g.findings).sort(),
    first_seen: groups.map((g) => g.first_seen).sort()[0],
    last_seen: groups.map((g) => g.last_seen).sort()[groups.length - 1],
    core_hours: round2(groups.reduce((s, g) => s + g.core_hours, 0)),
    cost: priced.length > 0 ? round2(priced.reduce((s, g) => s + (g.cost ?? 0), 0)) : null,
    currency: priced[0]?.currency ?? null,
    ...(gpuHours > 0 ? { gpu_hours: gpuHours } : {}),
    ...(instanceHours > 0 ? { instance_hours: instanceHours } : {}),
  } as Case;
}

/**
 * OCSF 2005 status_id by case state: the states worked on are In Progress, closed with a resolution is
 * Resolved (OCSF's Closed is for a case merged away, with none); our own name kept in `unmapped.state`.
 */
const STATUS: Record<StoredCase['state'], [number, string]> = {
  new: [1, 'New'],
  triaged: [2, 'In Progress'],
  escalated: [2, 'In Progress'],
  contained: [2, 'In Progress'],
  closed: [4, 'Resolved'],
};
/** OCSF 2005 verdict_id by resolution. */
const VERDICT: Record<Resolution, [number, string]> = {
  'false-positive': [1, 'False Positive'],
  'true-positive': [2, 'True Positive'],
  benign: [5, 'Benign'],
};

/**
 * The analyst's state on the rendered incident: status, activity (Create for a case untouched since it
 * was made, Close once closed or merged, else Update), assignee and verdict in the class's own fields
 * (placed after `status`), our exact state, resolution, reopenings and merge in `unmapped`. A case as
 * `hunt` opens it (new, version 1, nobody assigned) gets nothing new: its bytes stay `hunt`'s.
 */
export function withAnalystState(incident: Record<string, unknown>, c: StoredCase): Record<string, unknown> {
  const merged = c.merged_into !== null;
  const [statusId, status] = merged ? [5, 'Closed'] : STATUS[c.state];
  const [activityId, activity] =
    merged || c.state === 'closed' ? [3, 'Close'] : c.version === 1 ? [1, 'Create'] : [2, 'Update'];
  const analyst: Record<string, unknown> = {};
  if (c.assignee !== null) analyst.assignee = { name: c.assignee };
  if (c.resolution !== null) {
    analyst.verdict_id = VERDICT[c.resolution][0];
    analyst.verdict = VERDICT[c.resolution][1];
  }
  const unmapped: Record<string, unknown> = {};
  if (c.state !== 'new') unmapped.state = c.state;
  if (c.resolution !== null) unmapped.resolution = c.resolution;
  if (c.resolved_at !== null) unmapped.resolved_at = c.resolved_at;
  if (c.reopened > 0) unmapped.reopened = c.reopened;
  if (merged) unmapped.merged_into = c.merged_into;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(incident)) {
    if (key === 'activity_id') out[key] = activityId;
    else if (key === 'activity_name') out[key] = activity;
    else if (key === 'type_uid') out[key] = 200500 + activityId;
    else if (key === 'type_name') out[key] = `Incident Finding: ${activity}`;
    else if (key === 'status_id') out[key] = statusId;
    else if (key === 'status') {
      out[key] = status;
      Object.assign(out, analyst);
    } else if (key === 'unmapped') out[key] = { ...(value as Record<string, unknown>), ...unmapped };
    else out[key] = value;
  }
  return out;
}

/**
 * GET /api/v1/cases/{id}/export: `ocsf-incident`, the case's OCSF Incident Finding (one line, its
 * findings loaded: a case holds at most the store's 10,000); `ndjson` or `ocsf`, its findings' lines
 * in `hunt`'s order, streamed one finding at a time.
 */
export async function exportCase(deps: ServerDeps, id: string, format: string): Promise<Reply> {
  const stored = await deps.store.cases.get(id);
  if (!stored) throw new HttpError(404, 'not_found', 'no such case');
  const context = { color: false, version: productVersion() };
  if (format === 'ocsf-incident') {
    const members: Finding[] = [];
    for (const fid of stored.findings) {
      const f = (await deps.store.findings.get(fid))?.finding;
      if (f) members.push(f);
    }
    members.sort(huntOrder);
    const readable = members.map(renderable);
    const incident = withAnalystState(toOcsfIncident(caseNow(stored, readable), readable, context), stored);
    return {
      status: 200,
      body: Buffer.from(`${JSON.stringify(incident)}\n`),
      contentType: NDJSON_TYPE,
      headers: attachment(`${stored.id}.ocsf-incident.ndjson`),
    };
  }
  const sink = LINE_FORMATS[format];
  const ids = await rankedMemberIds(deps.store, stored);
  return streamedLines(deps, `the export of case ${stored.id}`, `${stored.id}.${format}.ndjson`, async function* () {
    for (const fid of ids) {
      const f = (await deps.store.findings.get(fid))?.finding;
      if (f) yield renderLine(sink, f, context);
    }
  });
}
