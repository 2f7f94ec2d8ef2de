/**
 * What the Google Cloud readers (gcp-audit, gcp-flow, gcp-monitoring) share: the two shapes their files
 * come in, and the names GCP writes. A file is JSON lines (a Storage sink's export, `jq -c`, a SIEM
 * export: one record per line) or one whole document (`gcloud logging read --format=json` prints a
 * pretty-printed array; an API answer is an object whose records sit in a top-level array such as
 * `timeSeries`). Both are read bounded, one record at a time, each with the line it starts on.
 */
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { jsonDocumentRecords } from './json-document.js';
import { sourceLines } from './lines.js';
import { isObject, textOf } from './net-fields.js';
import type { SourceContext, SourceInput } from './types.js';

/** One record with the line it starts on, or an issue to report. */
export type GcpRecord = { value: unknown; line: number } | { issue: Issue };

/** A whole document is at most this big; one record of it at most MAX_RECORD_BYTES. */
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_RECORDS = 50_000_000;

/**
 * A whole document opens with a `[` (gcloud's array, pretty or on one line) or a lone `{` (an object
 * pretty-printed); JSON lines open with a whole `{…}` on the first line.
 */
export function isJsonDocument(head: string): boolean {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  if (first === undefined) return false;
  const t = first.trim();
  return t.startsWith('[') || t === '{';
}

/**
 * The records of a file in either shape. Lines: blank lines skipped, a line that does not parse is
 * `<code>_TRUNCATED` when it is the unterminated last one, else `<code>_BAD_JSON`. Document: as
 * `jsonDocumentRecords` reads it, records under `recordKeys` (or the top-level array).
 */
export async function* gcpRecords(
  input: SourceInput,
  context: SourceContext,
  code: string,
  recordKeys: readonly string[] = ['entries'],
): AsyncGenerator<GcpRecord> {
  if (isJsonDocument(input.head.toString('utf8'))) {
    const limits = {
      maxRecordBytes: MAX_RECORD_BYTES,
      maxDocumentBytes: MAX_DOCUMENT_BYTES,
      maxRecords: MAX_RECORDS,
      code,
      recordKeys,
    };
    for await (const item of jsonDocumentRecords(input, limits)) {
      if ('issue' in item) yield item;
      else yield { value: item.value, line: item.line };
    }
    return;
  }
  const file = input.name;
  const pending: Issue[] = [];
  for await (const batch of sourceLines(input, context, (i) => pending.push(i))) {
    while (pending.length > 0) yield { issue: pending.shift() as Issue };
    for (let k = 0; k < batch.lines.length; k++) {
      const text = batch.lines[k];
      if (text.trim() === '') continue;
      const line = batch.lineNos[k];
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        const unterminated = k === batch.lines.length - 1 && batch.unterminated === true;
        yield {
          issue: unterminated
            ? issue({ file, line }, `${code}_TRUNCATED`, 'the last line ends inside its record')
            : issue({ file, line }, `${code}_BAD_JSON`, clip((err as Error).message, 200)),
        };
        continue;
      }
      yield { value, line };
    }
  }
  while (pending.length > 0) yield { issue: pending.shift() as Issue };
}

/** The last segment of a resource path or URL (`…/zones/us-central1-a/machineTypes/a2-highgpu-1g` → `a2-highgpu-1g`). */
export function lastSegment(v: unknown, max = 256): string | undefined {
  const s = textOf(v, 2048);
  if (s === undefined) return undefined;
  const cut = s.replace(/\/+$/, '');
  const seg = cut.slice(cut.lastIndexOf('/') + 1);
  return seg === '' ? undefined : clip(seg, max);
}

/** The value after `/<collection>/` in a resource path (`projects/p/zones/z/instances/vm-1`, `instances` → `vm-1`). */
export function pathPart(v: unknown, collection: string, max = 256): string | undefined {
  const s = textOf(v, 2048);
  if (s === undefined) return undefined;
  const key = `${collection}/`;
  const inner = s.indexOf(`/${key}`);
  const from = s.startsWith(key) ? key.length : inner < 0 ? -1 : inner + key.length + 1;
  if (from < 0) return undefined;
  const rest = s.slice(from);
  const end = rest.indexOf('/');
  const part = end < 0 ? rest : rest.slice(0, end);
  return part === '' ? undefined : clip(part, max);
}

/** GCP's names: lower-case letters, digits and hyphens (projects, zones, instances, machine types). */
const GCP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,126}[a-z0-9])?$/;

/** A project id, zone or instance name as GCP writes it, or undefined. */
export function gcpNameOf(v: unknown): string | undefined {
  const s = textOf(v, 130);
  return s !== undefined && GCP_NAME.test(s) ? s : undefined;
}

/** The region of a zone (`us-central1-a` → `us-central1`); a region stays itself. */
export function regionOfZone(zone: string): string {
  const m = /^([a-z]+-[a-z]+\d+)-[a-z]$/.exec(zone);
  return m ? m[1] : zone;
}

/** Whether a location is a zone (`europe-west4-b`) rather than a region or `global`. */
export function isZone(location: string): boolean {
  return /^[a-z]+-[a-z]+\d+-[a-z]$/.test(location);
}

/** The project a `logName` names (`projects/my-project/logs/…`). */
export function projectOfLogName(v: unknown): string | undefined {
  return gcpNameOf(pathPart(v, 'projects', 130));
}

/** A LogEntry's time: `timestamp`, else `receiveTimestamp`; a present but unreadable one is an error. */
export function entryTime(o: Record<string, unknown>): number | string {
  const raw = o.timestamp !== undefined ? o.timestamp : o.receiveTimestamp;
  if (raw === undefined) return 'no timestamp';
  const ts = parseTimestamp(raw);
  return ts ?? `timestamp ${clip(JSON.stringify(raw) ?? '', 60)} is not a time`;
}

/** `resource.labels` of a LogEntry (or a TimeSeries), or an empty object. */
export function resourceLabels(o: Record<string, unknown>): Record<string, unknown> {
  const resource = isObject(o.resource) ? o.resource : undefined;
  return resource !== undefined && isObject(resource.labels) ? resource.labels : {};
}
