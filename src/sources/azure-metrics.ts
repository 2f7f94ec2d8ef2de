/**
 * Azure Monitor VM CPU (`Percentage CPU`), in two shapes:
 * - `az monitor metrics list` output (the REST answer): `value[]` metrics, each with its `id`
 *   (`<VM resource id>/providers/Microsoft.Insights/metrics/Percentage CPU`), `name.value` and
 *   `timeseries[].data[]` of `{timeStamp, average, maximum, …}`; the region is the top-level `resourceregion`.
 *   A scale set's series split by the `VMName` dimension (`metadatavalues`) are per VM;
 * - a diagnostic setting's metric export (storage `PT1H.json` lines, or Event Hubs `{"records": […]}`):
 *   records `{time, resourceId, metricName, average, maximum, minimum, total, count, timeGrain}`.
 * One `metric` event per datapoint at its time: `metrics.cpu_pct` = the average (else the maximum),
 * percent of the whole VM; `host.name` = the VM's name from the resource id (lower-cased, as every Azure
 * reader keys a VM), `cloud.instance.id` = the VM's resource id. Other metrics, other resources and
 * a scale set's CPU not split per VM are counted unused; a point with no value (no data in that grain) is skipped.
 * Points are held (bounded) and emitted in time order, since a file lists one series after another.
 */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import {
  type AzureResource,
  azureCloudOf,
  azureRecords,
  azureResourceOf,
  fieldOf,
  isAzureDocument,
  regionOf,
  scaleSetOf,
  vmOf,
} from './azure-fields.js';
import { isObject, numberOf, textOf } from './net-fields.js';
import type { SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'azure-metrics';
const CODE = 'AZURE_METRICS';
const METRIC = 'percentage cpu';
/** Datapoints held before emitting them in time order; a larger file is emitted in runs of this many. */
const MAX_POINTS = 2_000_000;
const MAX_SERIES = 10_000;
const MAX_DATA = 100_000;
/** A percent; a hair over 100 is rounding, more is not this metric. */
const MAX_PERCENT = 100.5;
const BATCH_EVENTS = 1000;
/** `"resourceregion": "eastus"` before the `value` array (the CLI sorts its keys): the region of every series. */
const RESOURCE_REGION = /"resourceregion"\s*:\s*"([A-Za-z0-9 ]{1,40})"/;

interface Point {
  ts: number;
  /** Input order, so equal times keep it. */
  seq: number;
  pct: number;
  vm: { id: string; name: string };
  subscription?: string;
  region?: string;
  line: number;
  original: Record<string, unknown>;
}

/** The VM a series is about: the resource itself, or a scale set's VM named by the `VMName` dimension. */
function vmOfSeries(
  resource: AzureResource | undefined,
  vmName: string | undefined,
): { id: string; name: string } | undefined {
  const vm = vmOf(resource);
  if (vm !== undefined) return vm;
  const set = scaleSetOf(resource);
  if (set === undefined || vmName === undefined) return undefined;
  const name = vmName.toLowerCase();
  // a uniform scale set names its VMs `<set>_<instance id>`; a flexible one's VMs are VM resources of their own
  const m = /_(\d{1,9})$/.exec(name);
  if (m) return { id: `${set.id}/virtualmachines/${m[1]}`, name };
  return {
    id: `/subscriptions/${resource?.subscription}/resourcegroups/${resource?.resourceGroup}/providers/microsoft.compute/virtualmachines/${name}`,
    name,
  };
}

/** A percent as read, `undefined` for a point with no value, or why it is not a percent. */
function percentOf(point: Obj): number | undefined | string {
  const raw = point.average !== undefined ? point.average : point.maximum;
  if (raw === undefined || raw === null) return undefined;
  const v = numberOf(raw);
  if (v === undefined || v < 0 || v > MAX_PERCENT)
    return `Percentage CPU ${clip(JSON.stringify(raw) ?? '', 40)} is not a percent`;
  return Math.min(100, v);
}

function dimensionVmName(series: unknown): string | undefined {
  const dims = fieldOf(series, 'metadatavalues');
  if (!Array.isArray(dims)) return undefined;
  for (const d of dims.slice(0, 32)) {
    const name = fieldOf(d, 'name');
    const key = isObject(name) ? textOf(name.value, 64) : textOf(name, 64);
    if (key?.toLowerCase() === 'vmname') return textOf(fieldOf(d, 'value'), 128);
  }
  return undefined;
}

interface Output {
  points: Point[];
  issues: Issue[];
  unused: number;
}

/** One record: a CLI metric (`name`, `timeseries`) or an exported datapoint (`metricName`). */
function readRecord(
  o: Obj,
  file: string,
  line: number,
  region: string | undefined,
  out: Output,
  seq: () => number,
): void {
  const bad = (reason: string) => out.issues.push(issue({ file, line }, `${CODE}_BAD_RECORD`, reason));
  if (o.metricName !== undefined) {
    const metric = textOf(o.metricName, 128);
    if (metric?.toLowerCase() !== METRIC) {
      out.unused++;
      return;
    }
    const resource = azureResourceOf(o.resourceId);
    const vm = vmOfSeries(resource, undefined);
    if (vm === undefined) {
      if (resource === undefined) bad('no resourceId naming the resource');
      else out.unused++;
      return;
    }
    const ts = parseTimestamp(o.time);
    if (ts === undefined) {
      bad(`time ${clip(JSON.stringify(o.time) ?? '', 60)} is not a time`);
      return;
    }
    const pct = percentOf(o);
    if (typeof pct === 'string') {
      bad(pct);
      return;
    }
    if (pct === undefined) return;
    out.points.push({
      ts,
      seq: seq(),
      pct,
      vm,
      subscription: resource?.subscription,
      line,
      original: {
        resourceId: clip(String(o.resourceId), 1024),
        metricName: metric,
        time: o.time,
        average: o.average,
        maximum: o.maximum,
      },
    });
    return;
  }
  const name = fieldOf(o, 'name');
  const metric = isObject(name) ? textOf(name.value, 128) : textOf(name, 128);
  if (metric === undefined) {
    bad('neither metricName nor name: not an Azure Monitor metric');
    return;
  }
  if (metric.toLowerCase() !== METRIC) {
    out.unused++;
    return;
  }
  const resource = azureResourceOf(o.id);
  if (resource === undefined) {
    bad('no id naming the resource');
    return;
  }
  const timeseries = fieldOf(o, 'timeseries');
  if (!Array.isArray(timeseries)) {
    bad('no timeseries array');
    return;
  }
  for (const series of timeseries.slice(0, MAX_SERIES)) {
    const vm = vmOfSeries(resource, dimensionVmName(series));
    if (vm === undefined) {
      out.unused++;
      continue;
    }
    const data = fieldOf(series, 'data');
    if (!Array.isArray(data)) {
      bad('a timeseries without a data array');
      continue;
    }
    let badPoints = 0;
    let firstBad = '';
    for (const point of data.slice(0, MAX_DATA)) {
      if (!isObject(point)) {
        if (badPoints++ === 0) firstBad = 'a datapoint that is not an object';
        continue;
      }
      const ts = parseTimestamp(point.timeStamp);
      const pct = percentOf(point);
      if (ts === undefined || typeof pct === 'string') {
        if (badPoints++ === 0)
          firstBad =
            ts === undefined
              ? `timeStamp ${clip(JSON.stringify(point.timeStamp) ?? '', 60)} is not a time`
              : (pct as string);
        continue;
      }
      if (pct === undefined) continue;
      out.points.push({
        ts,
        seq: seq(),
        pct,
        vm,
        subscription: resource.subscription,
        region,
        line,
        original: {
          id: clip(String(o.id), 1024),
          metric,
          timeStamp: point.timeStamp,
          average: point.average,
          maximum: point.maximum,
        },
      });
    }
    if (badPoints > 0) bad(badPoints === 1 ? firstBad : `${badPoints} datapoints not read; the first: ${firstBad}`);
  }
}

function eventOf(p: Point, file: string): CoalEvent {
  return {
    '@timestamp': new Date(p.ts).toISOString(),
    event: {
      kind: 'metric',
      category: ['host'],
      type: ['info'],
      action: 'metric',
      dataset: `${FORMAT}.percentage_cpu`,
    },
    host: { name: p.vm.name },
    cloud: azureCloudOf(p.subscription, p.region, p.vm),
    metrics: { cpu_pct: p.pct },
    original: p.original,
    coalmine: { ts: p.ts, format: FORMAT, ref: { file, line: p.line } },
  };
}

function* inTimeOrder(points: Point[], file: string): Generator<CoalEvent[]> {
  points.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  for (let i = 0; i < points.length; i += BATCH_EVENTS)
    yield points.slice(i, i + BATCH_EVENTS).map((p) => eventOf(p, file));
}

const METRIC_NAME = /"metricName"\s*:\s*"/;
const TIMESERIES = /"timeseries"\s*:/;
const CLI_KEYS = /"(?:resourceregion|timespan|timeStamp)"\s*:|\/providers\/Microsoft\.Insights\/metrics\//i;

export const azureMetrics: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Azure Monitor Percentage CPU (az monitor metrics list, diagnostic-setting metric exports): metric per datapoint',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const text = head.slice(0, 16 * 1024);
    if (!/^\s*[[{]/.test(text)) return 0;
    if (METRIC_NAME.test(text) && /"resourceId"\s*:\s*"\/subscriptions\//i.test(text)) return 85;
    return TIMESERIES.test(text) && CLI_KEYS.test(text) ? 85 : 0;
  },
  async *read(input, context) {
    const headText = input.head.toString('utf8');
    const region = isAzureDocument(headText) ? regionOf(RESOURCE_REGION.exec(headText.slice(0, 4096))?.[1]) : undefined;
    const out: Output = { points: [], issues: [], unused: 0 };
    let n = 0;
    const seq = () => n++;
    let overflowed = false;
    let lastLine = 1;
    for await (const items of azureRecords(input, context, CODE)) {
      for (const item of items) {
        if ('issue' in item) {
          out.issues.push(item.issue);
          continue;
        }
        lastLine = item.line;
        if (isObject(item.value)) readRecord(item.value, input.name, item.line, region, out, seq);
        else
          out.issues.push(issue({ file: input.name, line: item.line }, `${CODE}_BAD_RECORD`, 'JSON but not an object'));
      }
      if (out.points.length >= MAX_POINTS) {
        if (!overflowed)
          out.issues.push(
            issue(
              { file: input.name, line: lastLine },
              `${CODE}_TOO_MANY_POINTS`,
              `over ${MAX_POINTS} datapoints: emitted in runs, each in time order`,
              'reading',
            ),
          );
        overflowed = true;
        for (const events of inTimeOrder(out.points, input.name)) yield { events, issues: [] };
        out.points = [];
      }
    }
    let first = true;
    for (const events of inTimeOrder(out.points, input.name)) {
      yield first ? { events, issues: out.issues, unused: out.unused } : { events, issues: [] };
      first = false;
    }
    if (first && (out.issues.length > 0 || out.unused > 0))
      yield { events: [], issues: out.issues, unused: out.unused };
  },
};
