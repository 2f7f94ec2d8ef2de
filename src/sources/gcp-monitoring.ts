/**
 * Google Cloud Monitoring CPU of Compute Engine VMs: `projects.timeSeries.list` answers (`{"timeSeries":
 * [{metric: {type, labels: {instance_name}}, resource: {type: gce_instance, labels: {instance_id, zone,
 * project_id}}, metricKind, valueType, points: [{interval: {startTime, endTime}, value: {doubleValue}}]}]}`)
 * as one document (pretty-printed, or an array of pages or of series) or one page or series per line.
 * `compute.googleapis.com/instance/cpu/utilization` is read: one `metric` event per point at its
 * interval's end, `metrics.cpu_pct` = the fraction × 100 (shared-core machine types may burst past
 * 100), host.name = the instance name (else its id), `cloud.instance` = both. GPU utilisation per GPU,
 * the Ops Agent's `agent.googleapis.com/gpu/utilization` (NVML, percent) and its DCGM receiver's
 * `workload.googleapis.com/gpu.dcgm.utilization` (a fraction), is gathered per instance and point time
 * into one event (`gpu_pct` the mean over its GPUs, `gpus` their count; `gpu-groups.ts`); the agent's
 * series name the instance only by id (and `metadata.systemLabels.name` when asked), so a CPU series
 * of the file naming both gives the GPU samples the CPU samples' host. Other metrics are counted unused,
 * one per series. Points are held (bounded) and emitted in time order: the API lists newest first.
 */
import type { CoalEvent, EventMetrics, SourceRef } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { gcpNameOf, regionOfZone } from './gcp-log.js';
import { GpuGroups, meanGpuPct } from './gpu-groups.js';
import { isJsonDocument, jsonRecords } from './json-document.js';
import { sniffJsonLine } from './lines.js';
import { isObject, numberOf, textOf } from './net-fields.js';
import type { SourceBatch, SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'gcp-monitoring';
const CODE = 'GCP_MONITORING';
const CPU_METRIC = 'compute.googleapis.com/instance/cpu/utilization';
/** The Ops Agent's NVML GPU utilisation: percent (the receiver's fraction scaled by 100). */
const GPU_METRIC = 'agent.googleapis.com/gpu/utilization';
/** The Ops Agent's DCGM receiver (v2): the fraction of time the GPU's graphics engine was active. */
const DCGM_METRIC = 'workload.googleapis.com/gpu.dcgm.utilization';
/** The original of an instance's GPU sample lists at most this many GPUs' values. */
const MAX_ORIGINAL_GPUS = 64;
/** Instance ids whose name a CPU series said, held to name the GPU samples. */
const MAX_NAMED_INSTANCES = 100_000;
/** Points held from one file before emitting them in time order (about 100 bytes each). */
const MAX_POINTS = 2_000_000;
const MAX_SERIES_PER_PAGE = 100_000;
const MAX_POINTS_PER_SERIES = 200_000;
/** A fraction of the VM's CPUs; shared-core types burst past 1, nothing reaches this. */
const MAX_FRACTION = 4;
const BATCH_EVENTS = 1000;

interface Point {
  ts: number;
  pct: number;
  instanceId?: string;
  instanceName?: string;
  project?: string;
  zone?: string;
  ref: SourceRef;
  order: number;
  /** A GPU utilisation point: which of the instance's GPUs, and the metric; else CPU. */
  gpu?: string;
  metric?: string;
}

interface Scope {
  file: string;
  points: Point[];
  issues: Issue[];
  unused: number;
  capped: boolean;
  /** instance id → the name a CPU series gave it. */
  names: Map<string, string>;
}

/** A point's fraction, or why it is not one. */
function fractionOf(value: unknown, type: string): number | string {
  if (!isObject(value)) return 'value is not an object';
  const raw = value.doubleValue ?? value.int64Value;
  const n = numberOf(raw);
  if (n === undefined) return `value ${clip(JSON.stringify(raw) ?? 'is missing', 40)} is not a number`;
  // a hair over the top is rounding; more is not this metric
  if (type === GPU_METRIC) return n < 0 || n > 100.5 ? `value ${n} is not a GPU utilization percent` : n / 100;
  if (type === DCGM_METRIC) return n < 0 || n > 1.005 ? `value ${n} is not a GPU utilization fraction` : n;
  if (n < 0 || n > MAX_FRACTION) return `value ${n} is not a CPU utilization fraction`;
  return n;
}

/** Which GPU a series is: its UUID, else its number on the instance. */
function gpuOf(labels: Record<string, unknown>): string | undefined {
  const uuid = textOf(labels.uuid, 128);
  if (uuid !== undefined) return `uuid:${uuid.toLowerCase().replace(/^gpu-/, '')}`;
  const n = textOf(labels.gpu_number, 16);
  return n !== undefined && /^\d{1,4}$/.test(n) ? `gpu:${n}` : undefined;
}

/** One TimeSeries into the scope's points; `line` is where its record starts. */
function addSeries(scope: Scope, s: Obj, line: number, label: string): void {
  const metric = isObject(s.metric) ? s.metric : {};
  const type = textOf(metric.type, 256);
  if (type === undefined && !Array.isArray(s.points)) {
    scope.issues.push(issue({ file: scope.file, line }, `${CODE}_BAD_RECORD`, `${label}has no metric.type or points`));
    return;
  }
  const isGpu = type === GPU_METRIC || type === DCGM_METRIC;
  if (type !== CPU_METRIC && !isGpu) {
    scope.unused++;
    return;
  }
  const labels = isObject(s.resource) && isObject(s.resource.labels) ? s.resource.labels : {};
  const metricLabels = isObject(metric.labels) ? metric.labels : {};
  const idText = textOf(labels.instance_id, 32);
  const instanceId = idText !== undefined && /^\d{1,20}$/.test(idText) ? idText : undefined;
  const system = isObject(s.metadata) && isObject(s.metadata.systemLabels) ? s.metadata.systemLabels : {};
  // the agent's metrics carry no instance_name label; the API adds the VM's name as a system label
  const instanceName = gcpNameOf(metricLabels.instance_name) ?? (isGpu ? gcpNameOf(system.name) : undefined);
  const gpu = isGpu ? gpuOf(metricLabels) : undefined;
  if (isGpu && gpu === undefined) {
    scope.issues.push(
      issue({ file: scope.file, line }, `${CODE}_BAD_RECORD`, `${label}names no GPU (metric.labels.uuid, gpu_number)`),
    );
    return;
  }
  if (!isGpu && instanceId !== undefined && instanceName !== undefined && scope.names.size < MAX_NAMED_INSTANCES)
    scope.names.set(instanceId, instanceName);
  if (instanceId === undefined && instanceName === undefined) {
    scope.issues.push(
      issue(
        { file: scope.file, line },
        `${CODE}_BAD_RECORD`,
        `${label}names no instance (resource.labels.instance_id, metric.labels.instance_name)`,
      ),
    );
    return;
  }
  if (!Array.isArray(s.points)) {
    scope.issues.push(issue({ file: scope.file, line }, `${CODE}_BAD_RECORD`, `${label}has no points array`));
    return;
  }
  const project = gcpNameOf(labels.project_id);
  const zone = gcpNameOf(labels.zone);
  const points = s.points;
  for (let i = 0; i < points.length && i < MAX_POINTS_PER_SERIES; i++) {
    if (scope.points.length >= MAX_POINTS) {
      if (!scope.capped)
        scope.issues.push(
          issue(
            { file: scope.file, line },
            `${CODE}_TOO_MANY_POINTS`,
            `over ${MAX_POINTS} points in one file; the rest are not read`,
            'reading',
          ),
        );
      scope.capped = true;
      return;
    }
    const p = points[i];
    const ref: SourceRef = { file: scope.file, line, record: `${label}point ${i}` };
    const interval = isObject(p) && isObject(p.interval) ? p.interval : undefined;
    const ts = parseTimestamp(interval?.endTime);
    if (ts === undefined) {
      scope.issues.push(
        issue(
          ref,
          `${CODE}_BAD_TIME`,
          `interval.endTime ${clip(JSON.stringify(interval?.endTime) ?? 'is missing', 60)} is not a time`,
        ),
      );
      continue;
    }
    const fraction = fractionOf(isObject(p) ? p.value : undefined, type);
    if (typeof fraction === 'string') {
      scope.issues.push(issue(ref, `${CODE}_BAD_VALUE`, fraction));
      continue;
    }
    const point: Point = { ts, pct: Math.round(fraction * 10_000) / 100, ref, order: scope.points.length };
    if (instanceId !== undefined) point.instanceId = instanceId;
    if (instanceName !== undefined) point.instanceName = instanceName;
    if (project !== undefined) point.project = project;
    if (zone !== undefined) point.zone = zone;
    if (gpu !== undefined) {
      point.gpu = gpu;
      point.metric = type;
    }
    scope.points.push(point);
  }
  if (points.length > MAX_POINTS_PER_SERIES)
    scope.issues.push(
      issue(
        { file: scope.file, line },
        `${CODE}_SERIES_CAPPED`,
        `${label}has ${points.length} points; those after ${MAX_POINTS_PER_SERIES} are not read`,
        'reading',
      ),
    );
}

/** One record: a list answer (its `timeSeries`), or one TimeSeries; else unused. */
function addRecord(scope: Scope, value: unknown, line: number): void {
  if (!isObject(value)) {
    scope.issues.push(issue({ file: scope.file, line }, `${CODE}_BAD_RECORD`, 'JSON but not an object'));
    return;
  }
  if (Array.isArray(value.timeSeries)) {
    const series = value.timeSeries;
    for (let i = 0; i < series.length && i < MAX_SERIES_PER_PAGE; i++) {
      const s = series[i];
      if (isObject(s)) addSeries(scope, s, line, `series ${i} `);
      else scope.issues.push(issue({ file: scope.file, line }, `${CODE}_BAD_RECORD`, `series ${i} is not an object`));
    }
    return;
  }
  if (isObject(value.metric) || Array.isArray(value.points)) {
    addSeries(scope, value, line, '');
    return;
  }
  // an answer with no series (an empty page: `{}` or only `unit`/`nextPageToken`), or something else
  if (Object.keys(value).every((k) => k === 'unit' || k === 'nextPageToken' || k === 'executionErrors')) scope.unused++;
  else
    scope.issues.push(
      issue({ file: scope.file, line }, `${CODE}_BAD_RECORD`, 'neither a timeSeries list nor a TimeSeries'),
    );
}

function eventOf(
  p: Point,
  metrics: EventMetrics = { cpu_pct: p.pct },
  original: Record<string, unknown> = { metric: CPU_METRIC, value: p.pct / 100 },
): CoalEvent {
  const host = p.instanceName ?? (p.instanceId as string);
  // the series may name only the instance: its name then stands for the id, as flow records name it
  const instance = { id: p.instanceId ?? host, ...(p.instanceName !== undefined ? { name: p.instanceName } : {}) };
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'gcp', instance };
  if (p.project !== undefined) cloud.account = { id: p.project };
  if (p.zone !== undefined) {
    cloud.region = regionOfZone(p.zone);
    cloud.availability_zone = p.zone;
  }
  return {
    '@timestamp': new Date(p.ts).toISOString(),
    event: {
      kind: 'metric',
      category: ['host'],
      type: ['info'],
      action: 'metric',
      dataset: `${FORMAT}.${metrics.gpu_pct === undefined ? 'cpu' : 'gpu'}_utilization`,
    },
    host: { name: host },
    cloud,
    metrics,
    original,
    coalmine: { ts: p.ts, format: FORMAT, ref: p.ref },
  };
}

/** CPU points one event each; GPU points one event per instance and time; in time order, ties as read. */
function eventsOf(scope: Scope): CoalEvent[] {
  const groups = new GpuGroups<Point>(MAX_POINTS);
  const out: Array<{ order: number; event: CoalEvent }> = [];
  for (const p of scope.points) {
    if (p.gpu === undefined) out.push({ order: p.order, event: eventOf(p) });
    else {
      if (p.instanceName === undefined && p.instanceId !== undefined) {
        const name = scope.names.get(p.instanceId);
        if (name !== undefined) p.instanceName = name;
      }
      groups.add(p.instanceId ?? p.instanceName ?? '', p.ts, p.gpu, Math.min(100, p.pct), p);
    }
  }
  for (const g of groups.drain()) {
    const n = Math.min(g.gpus.length, MAX_ORIGINAL_GPUS);
    const gpus = g.gpus.slice(0, n).map((gpu, i) => ({ gpu, pct: g.pcts[i] }));
    const metrics = { gpu_pct: meanGpuPct(g), gpus: g.gpus.length };
    out.push({ order: g.first.order, event: eventOf(g.first, metrics, { metric: g.first.metric, gpus }) });
  }
  out.sort((a, b) => a.event.coalmine.ts - b.event.coalmine.ts || a.order - b.order);
  return out.map((x) => x.event);
}

function isTimeSeriesRecord(o: unknown): boolean {
  if (!isObject(o)) return false;
  const series = Array.isArray(o.timeSeries) ? o.timeSeries[0] : o;
  return (
    isObject(series) &&
    isObject(series.metric) &&
    typeof series.metric.type === 'string' &&
    Array.isArray(series.points)
  );
}

const SERIES_TEXT = /"timeSeries"\s*:|"metricKind"\s*:/;
const METRIC_TYPE_TEXT = /"type"\s*:\s*"[a-z.]{1,64}\.googleapis\.com\//;

export const gcpMonitoring: SourceDescriptor = {
  name: FORMAT,
  summary:
    "Google Cloud Monitoring timeSeries JSON (projects.timeSeries.list): Compute Engine instance CPU utilization and the Ops Agent's GPU utilization",
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const start = head.slice(0, 8192);
    if (isJsonDocument(head))
      return SERIES_TEXT.test(start) && METRIC_TYPE_TEXT.test(start) && /"points"\s*:/.test(head) ? 85 : 0;
    return sniffJsonLine(
      head,
      (o) => (isTimeSeriesRecord(o) ? 90 : 0),
      (first) => (SERIES_TEXT.test(first) && METRIC_TYPE_TEXT.test(first) ? 65 : 0),
    );
  },
  async *read(input, context) {
    const scope: Scope = {
      file: input.name,
      points: [],
      issues: [],
      unused: 0,
      capped: false,
      names: new Map(),
    };
    for await (const record of jsonRecords(input, context, CODE, ['timeSeries'])) {
      if ('issue' in record) scope.issues.push(record.issue);
      else addRecord(scope, record.value, record.line);
    }
    const events = eventsOf(scope);
    scope.points = [];
    let batch: SourceBatch = { events: [], issues: scope.issues, unused: scope.unused };
    for (const e of events) {
      batch.events.push(e);
      if (batch.events.length >= BATCH_EVENTS) {
        yield batch;
        batch = { events: [], issues: [], unused: 0 };
      }
    }
    if (batch.events.length > 0 || batch.issues.length > 0 || (batch.unused ?? 0) > 0) yield batch;
  },
};
