/**
 * What the Google Cloud readers (gcp-audit, gcp-flow, gcp-monitoring) share: the names GCP writes
 * (resource paths, zones and regions, LogEntry times and labels). Their files are JSON lines (a Storage
 * sink's export, `jq -c`) or one whole document (`gcloud logging read --format=json` prints a
 * pretty-printed array; an API answer holds its records in a top-level array such as `timeSeries`), read
 * by json-document.ts `jsonRecords`.
 */
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { isObject, textOf } from './net-fields.js';

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
