/**
 * Amazon CloudWatch EC2 CPU, in three shapes:
 * - a metric stream in the `json` output format (what Firehose delivers to S3): one JSON object per line
 *   with `metric_stream_name`, `account_id`, `region`, `namespace`, `metric_name`, `dimensions`,
 *   `timestamp` (epoch ms), `value: {max, min, sum, count}` and `unit`. `AWS/EC2` `CPUUtilization` with a
 *   `dimensions.InstanceId` is read: `metrics.cpu_pct` is the period's average (sum ÷ count); its max stays
 *   in `original`. Other metrics, and CPU aggregated over a group (no InstanceId), are counted unused.
 * - `aws cloudwatch get-metric-data` output (`{"MetricDataResults": [{Id, Label, Timestamps, Values,
 *   StatusCode}]}`), one document per file. A result is CPU when its Label or Id names `CPUUtilization`
 *   (or the word `cpu`); its instance is the `i-…` its Label names (as a SEARCH expression's labels or
 *   `${PROP('Dim.InstanceId')}` write it), else the `i_…` its Id names (ids may not hold a hyphen), else
 *   the file's. A result naming an instance but no metric is reported (put the metric in the Label);
 *   one naming another metric is counted unused.
 * - `aws cloudwatch get-metric-statistics` output (`{"Label": "CPUUtilization", "Datapoints": [{Timestamp,
 *   Average, Maximum, Unit}]}`): the file does not say the instance, so it is the `i-…` the file name
 *   holds, else the input's host hint (`--host`), else every datapoint is reported.
 * One `metric` event per datapoint at its time, `host.name` and `cloud.instance.id` = the instance.
 * The CloudWatch agent's NVIDIA `nvidia_smi_utilization_gpu` (percent, published per GPU with `InstanceId`,
 * `index`, `name`, `arch` dimensions) is read in every shape: an instance's GPUs at one time make one
 * event (`gpu_pct` the mean, `gpus` their count; `gpu-groups.ts`). A stream record with no `index` is the
 * agent's roll-up over the instance's GPUs (the mean, count unsaid); a get-metric-data result or a
 * get-metric-statistics document is one GPU's series.
 * Whole documents are read bounded and emitted in time order (the CLI lists newest first by default);
 * stream lines too (bounded, `time-order.ts`), since Firehose delivers an instance's datapoints late.
 */

import type { CoalEvent, EventMetrics } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { round2 } from '../util/number.js';
import { parseTimestamp } from '../util/time.js';
import { instanceIdIn, instanceIdOf } from './aws-ids.js';
import { type GpuGroup, GpuGroups, meanGpuPct } from './gpu-groups.js';
import { jsonDocumentRecords } from './json-document.js';
import { readJsonLines, sniffJsonLine } from './lines.js';
import { isObject, numberOf, textOf } from './net-fields.js';
import { MAX_HELD_EVENTS, timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

const FORMAT = 'cloudwatch-metrics';
const CODE = 'CW_METRICS';
/** A get-metric-data answer is read whole (the CLI joins its pages into one document). */
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
/** Datapoints held from one document before emitting them in time order (about 60 bytes each). */
const MAX_POINTS = 2_000_000;
const MAX_RESULTS = 10_000;
/** Documents appended in one file (each a query's answer); their datapoints are bounded by MAX_POINTS. */
const MAX_DOCUMENTS = 100_000;
const MAX_ACCOUNT_CHARS = 32;
const MAX_REGION_CHARS = 32;
const MAX_LABEL_CHARS = 256;
/** CPUUtilization is a percent; a hair over 100 is rounding, more is not this metric. */
const MAX_PERCENT = 100.5;
const BATCH_EVENTS = 1000;
/** The agent's NVIDIA GPU utilisation (nvidia-smi's `utilization.gpu`, percent), in its default name. */
const GPU_METRIC = 'nvidia_smi_utilization_gpu';
/** A stream record without an `index` dimension: the agent's roll-up over the instance's GPUs. */
const ALL_GPUS = '*';
/** The original of an instance's GPU sample lists at most this many GPUs' values. */
const MAX_ORIGINAL_GPUS = 64;

type Shape = 'stream' | 'get-metric-data' | 'get-metric-statistics';

interface Point {
  ts: number;
  instance: string;
  pct: number;
  account?: string;
  region?: string;
  ref: { file: string; line?: number; record?: string };
  original: Record<string, unknown>;
  /** The output it was read from, when a file appends get-metric-data and get-metric-statistics answers. */
  shape?: Shape;
  /** A GPU utilisation point: which of the instance's GPUs (`ALL_GPUS` for the agent's roll-up); else CPU. */
  gpu?: string;
}

/** A percent as read, or why not. */
function percentOf(v: unknown, what: string): number | string {
  const n = numberOf(v);
  if (n === undefined) return `${what} ${clip(JSON.stringify(v) ?? 'is missing', 40)} is not a number`;
  if (n < 0 || n > MAX_PERCENT) return `${what} ${n} is not a percent`;
  return Math.min(n, 100);
}

function eventOf(
  p: Point,
  shape: Shape,
  metrics: EventMetrics = { cpu_pct: round2(p.pct) },
  original = p.original,
): CoalEvent {
  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'aws', instance: { id: p.instance } };
  if (p.account !== undefined) cloud.account = { id: p.account };
  if (p.region !== undefined) cloud.region = p.region;
  return {
    '@timestamp': new Date(p.ts).toISOString(),
    event: { kind: 'metric', category: ['host'], type: ['info'], action: 'metric', dataset: `${FORMAT}.${shape}` },
    host: { name: p.instance },
    cloud,
    metrics,
    original,
    coalmine: { ts: p.ts, format: FORMAT, ref: p.ref },
  };
}

/** An instance's GPU points of one time, as one event: the mean over its GPUs and their count (a roll-up alone: its mean). */
function gpuEventOf(g: GpuGroup<Point>): CoalEvent {
  const each = g.gpus.flatMap((gpu, i) => (gpu === ALL_GPUS ? [] : [{ gpu, pct: round2(g.pcts[i]) }]));
  const metrics: EventMetrics =
    each.length > 0
      ? { gpu_pct: meanGpuPct({ ...g, pcts: each.map((x) => x.pct) }), gpus: each.length }
      : { gpu_pct: round2(g.pcts[0]) };
  const original = {
    metric: GPU_METRIC,
    gpus: each.length > 0 ? each.slice(0, MAX_ORIGINAL_GPUS) : [{ gpu: ALL_GPUS, pct: round2(g.pcts[0]) }],
  };
  return eventOf(g.first, g.first.shape ?? 'stream', metrics, original);
}

/** Points of both metrics as events: CPU one per point, GPU one per instance and time; in time order, ties as read. */
function eventsOf(points: Point[], fallback: Shape): CoalEvent[] {
  const groups = new GpuGroups<Point>(MAX_POINTS);
  const events: CoalEvent[] = [];
  for (const p of points)
    if (p.gpu === undefined) events.push(eventOf(p, p.shape ?? fallback));
    else {
      p.shape ??= fallback;
      groups.add(p.instance, p.ts, p.gpu, p.pct, p);
    }
  for (const g of groups.drain()) events.push(gpuEventOf(g));
  // sort is stable: points of one time keep the file's order
  return events.sort((a, b) => a.coalmine.ts - b.coalmine.ts);
}

/** One metric-stream line: a CPU event, a GPU point (gathered per instance and time), `unused` for other metrics, or why it is bad. */
function streamRecord(o: unknown, file: string, line: number): CoalEvent | Point | 'unused' | string {
  if (!isObject(o)) return 'not a JSON object';
  const namespace = textOf(o.namespace, 256);
  const metric = textOf(o.metric_name, 256);
  if (namespace === undefined || metric === undefined) return 'no namespace or metric_name';
  // the agent publishes under the namespace its configuration names (CWAgent unless told otherwise)
  const isGpu = metric === GPU_METRIC;
  if (!isGpu && (namespace !== 'AWS/EC2' || metric !== 'CPUUtilization')) return 'unused';
  const dimensions = isObject(o.dimensions) ? o.dimensions : {};
  // CPU averaged over an auto scaling group, image or type names no one instance
  if (dimensions.InstanceId === undefined) return 'unused';
  const instance = instanceIdOf(dimensions.InstanceId);
  if (instance === undefined)
    return `dimensions.InstanceId ${clip(JSON.stringify(dimensions.InstanceId) ?? '', 40)} is not an instance id`;
  const ts = parseTimestamp(o.timestamp);
  if (ts === undefined) return `timestamp ${clip(JSON.stringify(o.timestamp) ?? 'is missing', 40)} is not a time`;
  // the agent sends its NVIDIA metrics without a unit unless its configuration gives one
  if (o.unit !== undefined && o.unit !== 'Percent' && !(isGpu && o.unit === 'None'))
    return `unit ${clip(JSON.stringify(o.unit), 40)} is not Percent`;
  if (!isObject(o.value)) return 'value is not {max, min, sum, count}';
  const count = numberOf(o.value.count);
  if (count === undefined || count <= 0)
    return `value.count ${clip(JSON.stringify(o.value.count) ?? '', 40)} is not a positive number`;
  const sum = numberOf(o.value.sum);
  if (sum === undefined) return `value.sum ${clip(JSON.stringify(o.value.sum) ?? 'is missing', 40)} is not a number`;
  const pct = percentOf(sum / count, 'the average (sum ÷ count)');
  if (typeof pct === 'string') return pct;
  const point: Point = { ts, instance, pct, ref: { file, line }, original: o };
  const account = textOf(o.account_id, MAX_ACCOUNT_CHARS);
  if (account !== undefined) point.account = account;
  const region = textOf(o.region, MAX_REGION_CHARS);
  if (region !== undefined) point.region = region;
  if (isGpu) {
    if (dimensions.index === undefined) point.gpu = ALL_GPUS;
    else {
      const index = textOf(dimensions.index, 16);
      if (index === undefined || !/^\d{1,4}$/.test(index))
        return `dimensions.index ${clip(JSON.stringify(dimensions.index) ?? '', 40)} is not a GPU index`;
      point.gpu = `index:${index}`;
    }
    return point;
  }
  return eventOf(point, 'stream');
}

/** The instance a file is about when its records do not say: the file name's `i-…`, else the host hint. */
function fileInstance(input: SourceInput): string | undefined {
  return instanceIdIn(input.name.split('/').pop() ?? '') ?? instanceIdOf(input.hostHint);
}

/** Does a label or query id name CPU utilisation? (`CPUUtilization`, or a word `cpu`.) */
function namesCpu(text: string): boolean {
  const lower = text.slice(0, MAX_LABEL_CHARS).toLowerCase();
  return lower.includes('cpuutilization') || lower.split(/[^a-z0-9]+/).includes('cpu');
}

/** Does a label or query id name the agent's GPU utilisation? */
function namesGpu(text: string): boolean {
  return text.slice(0, MAX_LABEL_CHARS).toLowerCase().includes(GPU_METRIC);
}

/** Does it name any other word than the instance id (a metric, statistic, anything)? */
function namesSomethingElse(text: string, instance: string): boolean {
  return text
    .slice(0, MAX_LABEL_CHARS)
    .toLowerCase()
    .split(/[^a-z0-9-]+/)
    .some((w) => w !== '' && w !== instance);
}

interface DocumentScope {
  input: SourceInput;
  file: string;
  points: Point[];
  issues: Issue[];
  unused: number;
  full?: boolean;
  /** Names records of a document appended after the first (`document 2 result 0`); '' in the first. */
  prefix: string;
  shape: Shape;
}

function addPoint(scope: DocumentScope, p: Point): void {
  if (scope.points.length >= MAX_POINTS) {
    if (!scope.full)
      scope.issues.push(
        issue(p.ref, `${CODE}_TOO_MANY_POINTS`, `over ${MAX_POINTS} datapoints; the rest are not read`, 'reading'),
      );
    scope.full = true;
    return;
  }
  p.shape = scope.shape;
  scope.points.push(p);
}

function readMetricData(scope: DocumentScope, doc: Record<string, unknown>, line: number): void {
  const results = doc.MetricDataResults;
  if (!Array.isArray(results)) {
    scope.issues.push(issue({ file: scope.file, line }, `${CODE}_BAD_DOCUMENT`, 'MetricDataResults is not an array'));
    return;
  }
  const fallback = fileInstance(scope.input);
  for (let i = 0; i < results.length && i < MAX_RESULTS && !scope.full; i++) {
    const where = { file: scope.file, record: `${scope.prefix}result ${i}` };
    const r = results[i];
    if (!isObject(r)) {
      scope.issues.push(issue(where, `${CODE}_BAD_RESULT`, 'not an object'));
      continue;
    }
    const label = textOf(r.Label, MAX_LABEL_CHARS) ?? '';
    const id = textOf(r.Id, MAX_LABEL_CHARS) ?? '';
    const times = Array.isArray(r.Timestamps) ? r.Timestamps : undefined;
    const values = Array.isArray(r.Values) ? r.Values : undefined;
    if (times === undefined || values === undefined) {
      scope.issues.push(issue(where, `${CODE}_BAD_RESULT`, 'Timestamps or Values is not an array'));
      continue;
    }
    const named = instanceIdIn(label) ?? instanceIdIn(id, true);
    // each GPU result is one GPU's series (a query per index, or a SEARCH over the index dimension)
    const gpu = namesGpu(label) || namesGpu(id) ? `result:${scope.prefix}${i}` : undefined;
    if (gpu === undefined && !namesCpu(label) && !namesCpu(id)) {
      if (named !== undefined && !namesSomethingElse(label, named))
        scope.issues.push(
          issue(
            where,
            `${CODE}_UNKNOWN_METRIC`,
            `Label ${JSON.stringify(clip(label, 60))} names instance ${named} but no metric; put CPUUtilization in the query's Label`,
          ),
        );
      else scope.unused += values.length;
      continue;
    }
    const status = textOf(r.StatusCode, 32);
    if (status === 'InternalError' || status === 'Forbidden')
      scope.issues.push(
        issue(where, `${CODE}_QUERY_ERROR`, `StatusCode ${status}: the query returned no data`, 'reading'),
      );
    else if (status === 'PartialData')
      scope.issues.push(
        issue(where, `${CODE}_PARTIAL`, 'StatusCode PartialData: more datapoints exist than the file holds', 'reading'),
      );
    const instance = named ?? fallback;
    if (instance === undefined) {
      if (values.length > 0)
        scope.issues.push(
          issue(
            where,
            `${CODE}_NO_INSTANCE`,
            `${JSON.stringify(clip(label || id, 60))} names no instance (i-…) in its Label or Id, nor does the file name or --host`,
          ),
        );
      continue;
    }
    if (times.length !== values.length)
      scope.issues.push(
        issue(
          where,
          `${CODE}_BAD_RESULT`,
          `${times.length} Timestamps but ${values.length} Values; only the pairs both hold are read`,
        ),
      );
    const n = Math.min(times.length, values.length);
    for (let j = 0; j < n && !scope.full; j++) {
      const ref = { file: scope.file, record: `${scope.prefix}result ${i} point ${j}` };
      const ts = parseTimestamp(times[j]);
      if (ts === undefined) {
        scope.issues.push(
          issue(ref, `${CODE}_BAD_TIME`, `timestamp ${clip(JSON.stringify(times[j]) ?? '', 40)} is not a time`),
        );
        continue;
      }
      const pct = percentOf(values[j], 'value');
      if (typeof pct === 'string') {
        scope.issues.push(issue(ref, `${CODE}_BAD_VALUE`, pct));
        continue;
      }
      const point: Point = {
        ts,
        instance,
        pct,
        ref,
        original: { Id: id, Label: label, Timestamp: times[j], Value: values[j] },
      };
      if (gpu !== undefined) point.gpu = gpu;
      addPoint(scope, point);
    }
  }
  if (results.length > MAX_RESULTS)
    scope.issues.push(
      issue(
        { file: scope.file, line },
        `${CODE}_TOO_MANY_RESULTS`,
        `${results.length - MAX_RESULTS} results after the first ${MAX_RESULTS} are not read`,
        'reading',
      ),
    );
}

function readStatistics(scope: DocumentScope, doc: Record<string, unknown>, line: number): void {
  const datapoints = doc.Datapoints;
  if (!Array.isArray(datapoints)) {
    scope.issues.push(issue({ file: scope.file, line }, `${CODE}_BAD_DOCUMENT`, 'Datapoints is not an array'));
    return;
  }
  const isGpu = doc.Label === GPU_METRIC;
  if (doc.Label !== 'CPUUtilization' && !isGpu) {
    scope.unused += datapoints.length;
    return;
  }
  const instance = fileInstance(scope.input);
  if (instance === undefined) {
    if (datapoints.length > 0)
      scope.issues.push(
        issue(
          { file: scope.file, line },
          `${CODE}_NO_INSTANCE`,
          'get-metric-statistics output does not say its instance: name the file i-….json or pass --host i-…',
          'reading',
        ),
      );
    return;
  }
  for (let j = 0; j < datapoints.length && !scope.full; j++) {
    const ref = { file: scope.file, record: `${scope.prefix}datapoint ${j}` };
    const d = datapoints[j];
    if (!isObject(d)) {
      scope.issues.push(issue(ref, `${CODE}_BAD_VALUE`, 'not an object'));
      continue;
    }
    const ts = parseTimestamp(d.Timestamp);
    if (ts === undefined) {
      scope.issues.push(
        issue(
          ref,
          `${CODE}_BAD_TIME`,
          `Timestamp ${clip(JSON.stringify(d.Timestamp) ?? 'is missing', 40)} is not a time`,
        ),
      );
      continue;
    }
    if (d.Unit !== undefined && d.Unit !== 'Percent' && !(isGpu && d.Unit === 'None')) {
      scope.issues.push(issue(ref, `${CODE}_BAD_VALUE`, `Unit ${clip(JSON.stringify(d.Unit), 40)} is not Percent`));
      continue;
    }
    if (d.Average === undefined) {
      scope.issues.push(
        issue(ref, `${CODE}_BAD_VALUE`, 'no Average (ask for --statistics Average Maximum): the mean is what is read'),
      );
      continue;
    }
    const pct = percentOf(d.Average, 'Average');
    if (typeof pct === 'string') {
      scope.issues.push(issue(ref, `${CODE}_BAD_VALUE`, pct));
      continue;
    }
    const point: Point = { ts, instance, pct, ref, original: d };
    // one document is one series: appended documents are the instance's other GPUs
    if (isGpu) point.gpu = `series:${scope.prefix}`;
    addPoint(scope, point);
  }
}

/**
 * Whole get-metric-data or get-metric-statistics documents (one, or several appended, `>> file`, as a
 * paginated query is saved): every datapoint, then events in time order.
 */
async function* readDocument(input: SourceInput): AsyncGenerator<SourceBatch> {
  const scope: DocumentScope = {
    input,
    file: input.name,
    points: [],
    issues: [],
    unused: 0,
    prefix: '',
    shape: 'get-metric-data',
  };
  const limits = {
    maxRecordBytes: MAX_DOCUMENT_BYTES,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
    maxRecords: MAX_DOCUMENTS,
    code: CODE,
  };
  for await (const item of jsonDocumentRecords(input, limits)) {
    if ('issue' in item) {
      scope.issues.push(item.issue);
      continue;
    }
    const doc = item.value;
    scope.prefix = item.document > 1 ? `document ${item.document} ` : '';
    if (isObject(doc) && 'MetricDataResults' in doc) {
      scope.shape = 'get-metric-data';
      readMetricData(scope, doc, item.line);
    } else if (isObject(doc) && 'Datapoints' in doc) {
      scope.shape = 'get-metric-statistics';
      readStatistics(scope, doc, item.line);
    } else
      scope.issues.push(
        issue(
          { file: scope.file, line: item.line },
          `${CODE}_BAD_DOCUMENT`,
          'neither get-metric-data (MetricDataResults) nor get-metric-statistics (Datapoints) output',
        ),
      );
  }
  const all = eventsOf(scope.points, scope.shape);
  scope.points = [];
  let first = true;
  for (let k = 0; k < all.length || first; k += BATCH_EVENTS) {
    const events = all.slice(k, k + BATCH_EVENTS);
    yield first ? { events, issues: scope.issues, unused: scope.unused } : { events, issues: [] };
    first = false;
  }
}

/**
 * Metric-stream lines: CPU events as read; GPU points held per instance and time (an instance's GPUs
 * arrive in any order, across Firehose's buffers) and given as one event each at the end, or when
 * `MAX_HELD_EVENTS` instance-times are held (then an instance's GPUs read later make a second event
 * for that time, and it is reported).
 */
async function* readStream(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  const points = new WeakMap<CoalEvent, Point>();
  const groups = new GpuGroups<Point>(MAX_HELD_EVENTS);
  let reported = false;
  const lines = readJsonLines(input, context, CODE, (o, line) => {
    const r = streamRecord(o, input.name, line);
    if (typeof r === 'string' || '@timestamp' in r) return r;
    // the GPU point stands in the line's place until it is gathered below
    const held = eventOf(r, 'stream', { gpu_pct: round2(r.pct) });
    points.set(held, r);
    return held;
  });
  for await (const batch of lines) {
    const events: CoalEvent[] = [];
    const issues = batch.issues;
    for (const e of batch.events) {
      const p = points.get(e);
      if (p === undefined) events.push(e);
      else if (p.gpu !== undefined) groups.add(p.instance, p.ts, p.gpu, p.pct, p);
    }
    if (groups.full) {
      for (const g of groups.drain()) events.push(gpuEventOf(g));
      if (!reported)
        issues.push(
          issue(
            { file: input.name, line: 1 },
            `${CODE}_GPU_RUNS`,
            `over ${MAX_HELD_EVENTS} instance-times of GPU samples held: given in runs, and an instance's GPUs read after its run make a second sample for that time`,
            'reading',
          ),
        );
      reported = true;
    }
    yield { ...batch, events, issues };
  }
  const rest = groups.drain().map(gpuEventOf);
  if (rest.length > 0) yield { events: rest, issues: [] };
}

/** A whole document opens with `{` alone on its line or a key on the same line; a stream line holds the whole record. */
function documentShape(head: string): 'get-metric-data' | 'get-metric-statistics' | undefined {
  const start = head.slice(0, 4096);
  if (/"MetricDataResults"\s*:/.test(start)) return 'get-metric-data';
  if (/"Datapoints"\s*:\s*\[/.test(start) && /"Label"\s*:/.test(start)) return 'get-metric-statistics';
  return undefined;
}

function isStreamRecord(o: unknown): boolean {
  return (
    isObject(o) &&
    typeof o.metric_stream_name === 'string' &&
    typeof o.namespace === 'string' &&
    typeof o.metric_name === 'string'
  );
}

export const cloudwatchMetrics: SourceDescriptor = {
  name: FORMAT,
  summary:
    "Amazon CloudWatch EC2 CPUUtilization and the CloudWatch agent's nvidia_smi_utilization_gpu: metric stream JSON lines, get-metric-data and get-metric-statistics output",
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const doc = documentShape(head);
    if (doc === 'get-metric-data') return 90;
    if (doc === 'get-metric-statistics') return 85;
    return sniffJsonLine(
      head,
      (o) => (isStreamRecord(o) ? 95 : 0),
      (first) => (/"metric_stream_name"\s*:/.test(first) && /"metric_name"\s*:/.test(first) ? 70 : 0),
    );
  },
  async *read(input, context) {
    if (documentShape(input.head.toString('utf8', 0, Math.min(input.head.length, 4096))) !== undefined) {
      yield* readDocument(input);
      return;
    }
    // a stream's records reach S3 as Firehose buffers them: an instance's datapoints may come late
    yield* timeOrdered(readStream(input, context), input.name, CODE, BATCH_EVENTS);
  },
};
