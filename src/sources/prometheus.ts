/**
 * Prometheus data for container CPU (cAdvisor and kube-state-metrics), host CPU (node_exporter,
 * windows_exporter) and GPU utilisation, in two shapes:
 * - the HTTP API's `query_range` / `query` response JSON (`matrix` or `vector` results), one or more
 *   documents per file (pretty-printed or one per line), read whole (bounded by MAX_FILE_BYTES);
 * - the text exposition with timestamps, as `promtool tsdb dump` prints it
 *   (`{__name__="m", l="v"} value timestamp_ms`) or a plain exposition line (`m{l="v"} value [timestamp_ms]`).
 * Metrics read: `container_cpu_usage_seconds_total` (→ metrics.cpu_time_ms, and metrics.cpu_pct in
 * percent of one core over the interval since the series' previous sample), `container_memory_working_set_bytes`
 * (→ rss_bytes), `container_spec_cpu_quota`/`_period` and `kube_pod_container_resource_limits{resource="cpu"}`
 * (→ cpu_limit_cores on that container's samples, not events of their own), `machine_cpu_cores` and
 * `kube_node_status_capacity{resource="cpu"}` (→ a host metric with `cores`, when the count changes).
 * GPU utilisation per GPU, NVIDIA dcgm-exporter's `DCGM_FI_DEV_GPU_UTIL` (percent) and nvidia_gpu_exporter's
 * `nvidia_smi_utilization_gpu_ratio` (0–1), is gathered per host and sample time into one host metric
 * (`gpu_pct` the mean over its GPUs, `gpus` their count; `gpu-groups.ts`) and, where dcgm-exporter names the
 * pod a GPU is allocated to, one container metric (`gpu_pct` the sum over its GPUs, in percent of one GPU).
 * Host CPU from the per-CPU, per-mode seconds counters, node_exporter's `node_cpu_seconds_total{cpu,mode}`
 * (`node_cpu` before 0.16) and windows_exporter's `windows_cpu_time_total{core,mode}` (`wmi_cpu_time_total`
 * of wmi_exporter): per scrape target (its labels but cpu/core and mode; its host named as for the others) and
 * scrape one host metric, `cores` the number of distinct CPUs and `cpu_pct` the percent of all of them busy
 * since the previous scrape, 100 × (1 − Δidle ÷ Δall) summed over the CPUs. Idle is `idle` and `iowait` (a CPU
 * waiting on a disk runs nothing, as node_exporter's dashboards count it); `steal` is in neither sum (the
 * hypervisor ran someone else: not the guest's work, nor time it had to work with, so a miner pegging a VM
 * that is stolen from still reads 100); Windows' `dpc` and `interrupt` are parts of `privileged` (perfmon's
 * definition), so idle, user and privileged are summed. Those modes, `guest` (already in `user`), unknown
 * modes and series without a CPU label are counted unused. A scrape carries `cores` only (no rate) when it is
 * the target's first, when any counter went down (a reboot: the next scrape rates against this one), after a
 * gap over MAX_RATE_GAP_MS, or when no CPU was read with the same series in both scrapes (a CPU missing a
 * mode in either is left out of the sums). Points of one scrape up to MAX_SCRAPE_SKEW_MS apart are taken
 * as one (`alignScrapes`); a host CPU sample is never below 0 or above 100.
 * Other metrics, pod-level aggregates (`container=""`) and the pause container (`POD`) are counted unused.
 * Samples are emitted in time order across the whole file (every series is held, bounded, first).
 */

import type { CoalEvent, EventMetrics, SourceRef } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { containerOfCgroupPath } from '../util/cgroup.js';
import { clip } from '../util/hostile.js';
import { hostOfAuthority } from '../util/ip.js';
import { round2 } from '../util/number.js';
import { isPlausibleMs } from '../util/time.js';
import { imageOf } from './container-fields.js';
import { type GpuGroup, GpuGroups, meanGpuPct, sumGpuPct } from './gpu-groups.js';
import { sourceLines } from './lines.js';
import { isObject } from './net-fields.js';
import type { SourceDescriptor, SourceInput } from './types.js';

const FORMAT = 'prometheus';
/** A query_range answer is read whole: beyond this the rest of the file is reported and left. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;
const MAX_SERIES = 65_536;
const MAX_POINTS_PER_SERIES = 100_000;
/** Samples held across all series before emitting (about 40 bytes each). */
const MAX_SAMPLES = 10_000_000;
const MAX_LABELS = 64;
const MAX_LABEL_NAME_CHARS = 128;
const MAX_LABEL_VALUE_CHARS = 1024;
const MAX_HOST_CHARS = 253;
const MAX_CORES = 4096;
/** dcgm-exporter's GPU utilisation, a percent of the GPU's time with a kernel running (0–100). */
const DCGM_GPU_UTIL = 'DCGM_FI_DEV_GPU_UTIL';
/** nvidia_gpu_exporter's `utilization.gpu [%]` of nvidia-smi as a ratio (0–1). */
const SMI_GPU_UTIL = 'nvidia_smi_utilization_gpu_ratio';
/** The original of a host's GPU sample lists at most this many GPUs' values. */
const MAX_ORIGINAL_GPUS = 64;
/** node_exporter's per-CPU, per-mode seconds counter (and its name before 0.16). */
const NODE_CPU = 'node_cpu_seconds_total';
const NODE_CPU_OLD = 'node_cpu';
/** windows_exporter's per-core, per-mode seconds counter (and wmi_exporter's name for it). */
const WINDOWS_CPU = 'windows_cpu_time_total';
const WINDOWS_CPU_OLD = 'wmi_cpu_time_total';
/**
 * No host CPU rate across a longer wait between two scrapes: the mean over it would hide what ran in it,
 * and the engine's runs break at the 15-minute sustain anyway. (The container CPU rate has no such rule.)
 */
const MAX_RATE_GAP_MS = 10 * 60_000;
/**
 * One scrape's points share its time in Prometheus; a dump written otherwise may spread them a little.
 * Well under any real scrape interval, and a series read twice within it starts the next scrape.
 */
const MAX_SCRAPE_SKEW_MS = 2000;
/** The kernel's CFS default (100 ms), which Docker and the kubelet keep unless told otherwise. */
const DEFAULT_CFS_PERIOD_US = 100_000;
const BATCH_EVENTS = 1000;
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const SPECIAL = /^[-+]?(?:inf|nan)$/i;
const TIMESTAMP_MS = /^-?\d{1,15}$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
/** Metric name families this reader reads (for sniffing). */
const OURS = /^(?:(?:container|machine|kube|DCGM_FI|nvidia_smi)_|(?:node|windows|wmi)_cpu(?:_|\s|$))/;

type Kind = 'cpu' | 'quota' | 'period' | 'limit' | 'memory' | 'cores' | 'gpu' | 'hostcpu';
type Labels = Record<string, string>;

/** Whether a host CPU mode counts as idle or busy; undefined for modes left out of both sums (see the header). */
function cpuModeOf(name: string, mode: string | undefined): 'idle' | 'busy' | undefined {
  if (name === NODE_CPU || name === NODE_CPU_OLD) {
    if (mode === 'idle' || mode === 'iowait') return 'idle';
    if (mode === 'user' || mode === 'nice' || mode === 'system' || mode === 'irq' || mode === 'softirq') return 'busy';
    return undefined; // steal, guest/guest_nice (old node_cpu: already in user), anything else
  }
  if (mode === 'idle') return 'idle';
  return mode === 'user' || mode === 'privileged' ? 'busy' : undefined; // dpc, interrupt: parts of privileged
}

/** The CPU a host CPU series counts for: node_exporter's `cpu`, windows_exporter's `core`. */
function cpuLabelOf(name: string, labels: Labels): string | undefined {
  const cpu = name === WINDOWS_CPU || name === WINDOWS_CPU_OLD ? labels.core : labels.cpu;
  return cpu ? cpu : undefined;
}

/** What a metric is to us, or undefined (counted unused). */
function kindOf(name: string, labels: Labels): Kind | undefined {
  switch (name) {
    case NODE_CPU:
    case NODE_CPU_OLD:
    case WINDOWS_CPU:
    case WINDOWS_CPU_OLD:
      return cpuLabelOf(name, labels) !== undefined && cpuModeOf(name, labels.mode) !== undefined
        ? 'hostcpu'
        : undefined;
    case 'container_cpu_usage_seconds_total':
      // old cAdvisor also splits usage per CPU (`cpu="cpu03"`): only the total is the container's
      return labels.cpu === undefined || labels.cpu === 'total' ? 'cpu' : undefined;
    case 'container_spec_cpu_quota':
      return 'quota';
    case 'container_spec_cpu_period':
      return 'period';
    case 'container_memory_working_set_bytes':
      return 'memory';
    case 'kube_pod_container_resource_limits':
      return labels.resource === 'cpu' ? 'limit' : undefined;
    case 'kube_pod_container_resource_limits_cpu_cores': // kube-state-metrics v1
      return 'limit';
    case 'machine_cpu_cores':
    case 'kube_node_status_capacity_cpu_cores':
      return 'cores';
    case 'kube_node_status_capacity':
      return labels.resource === 'cpu' ? 'cores' : undefined;
    case DCGM_GPU_UTIL:
    case SMI_GPU_UTIL:
      return 'gpu';
    default:
      return undefined;
  }
}

interface Series {
  name: string;
  kind: Kind;
  labels: Labels;
  host?: string;
  /** The container this series describes (namespace/pod/container, else cgroup id, else name). */
  key?: string;
  /** A GPU series: which GPU (its UUID, else its index), the same for every exporter naming it. */
  gpu?: string;
  container?: NonNullable<CoalEvent['container']>;
  orchestrator?: NonNullable<CoalEvent['orchestrator']>;
  /** A host CPU series: the scrape target it is one CPU/mode of (its labels but those two), its CPU, its mode's side. */
  target?: string;
  cpu?: string;
  idle?: boolean;
  /** The last scrape of its target this series was read in (`hostCpuEvent`). */
  lastScrape?: number;
  /** JSON: `series N` (with `response M ` before it after the first document); text: undefined. */
  refPrefix?: string;
  times: number[];
  values: number[];
  /** Text: each sample's line; JSON: each point's index in `values`. */
  at: number[];
  capped?: boolean;
}

interface Scope {
  file: string;
  hostHint?: string;
  issues: Issue[];
  unused: number;
  samples: number;
  series: Series[];
  /** Text series by their label set. */
  byIdentity: Map<string, Series>;
  /** Text label sets that are not ours, remembered (bounded) so their next lines cost one lookup. */
  unusedIdentities: Set<string>;
  tooMany?: boolean;
}

function refOf(scope: Scope, s: Series, at: number): SourceRef {
  return s.refPrefix === undefined
    ? { file: scope.file, line: at }
    : { file: scope.file, record: `${s.refPrefix} point ${at}` };
}

function hostOf(name: string, labels: Labels, hint: string | undefined): string | undefined {
  const node = labels.node ?? labels.kubernetes_io_hostname;
  if (node) return clip(node, MAX_HOST_CHARS);
  // dcgm-exporter names the machine it runs on (the node, under Kubernetes); its instance is its own address
  if (name === DCGM_GPU_UTIL && labels.Hostname) return clip(labels.Hostname, MAX_HOST_CHARS);
  // kube-state-metrics' instance is its own pod, not the node the container runs on
  if (!name.startsWith('kube_') && labels.instance) {
    const authority = hostOfAuthority(labels.instance);
    if (authority) return clip(authority.host, MAX_HOST_CHARS);
  }
  return hint === undefined ? undefined : clip(hint, MAX_HOST_CHARS);
}

/** The container facts of a container-scoped series; undefined for pod aggregates, the pause container and cgroup slices. */
function describeContainer(s: Series): boolean {
  const l = s.labels;
  const containerName = l.container ?? l.container_name;
  if (containerName === '' || containerName === 'POD') return false;
  const cgroup = l.id === undefined ? undefined : containerOfCgroupPath(l.id);
  const pod = l.pod ?? l.pod_name;
  const namespace = l.namespace;
  if (containerName === undefined && cgroup === undefined && !l.name) return false;
  const container: NonNullable<CoalEvent['container']> = {};
  if (cgroup) container.id = cgroup.id;
  if (cgroup && cgroup.runtime !== 'kubepods') container.runtime = cgroup.runtime;
  const name = containerName ?? l.name;
  if (name) container.name = name;
  const image = imageOf(l.image);
  if (image) container.image = image;
  s.container = container;
  if (namespace || pod) {
    s.orchestrator = {};
    if (namespace) s.orchestrator.namespace = namespace;
    if (pod) s.orchestrator.resource = { type: 'pod', name: pod };
  }
  s.key =
    pod && containerName
      ? `${namespace ?? ''}/${pod}/${containerName}`
      : cgroup
        ? `id:${cgroup.id}`
        : `name:${name ?? ''}`;
  return true;
}

/** Which GPU a series reads: its UUID (dcgm-exporter writes `GPU-…`, nvidia_gpu_exporter drops the prefix), else its index. */
function gpuOf(l: Labels, fallback: string): string {
  const uuid = l.UUID ?? l.uuid;
  // a MIG slice is a GPU of its own to the pod it is allocated to
  const slice = l.GPU_I_ID ? `/${l.GPU_I_ID}` : '';
  if (uuid) return `uuid:${uuid.toLowerCase().replace(/^gpu-/, '')}${slice}`;
  const index = l.gpu ?? l.index ?? l.minor_number;
  return index ? `gpu:${index}${slice}` : fallback;
}

/**
 * The pod a dcgm-exporter GPU series is allocated to, as `describeContainer` writes a container's facts.
 * Prometheus renames the exporter's own `pod`/`namespace`/`container` to `exported_*` when the scrape
 * adds its target's (then `pod` is the exporter's pod); without `exported_*`, a `pod` naming the exporter
 * is that target label, not a workload.
 */
function describeGpuWorkload(s: Series): void {
  const l = s.labels;
  const exported = l.exported_pod !== undefined;
  const pod = exported ? l.exported_pod : l.pod;
  const namespace = exported ? l.exported_namespace : l.namespace;
  const containerName = exported ? l.exported_container : l.container;
  if (!pod || !containerName) return;
  if (!exported && (pod.includes('dcgm-exporter') || containerName.includes('dcgm-exporter'))) return;
  s.container = { name: containerName };
  s.orchestrator = namespace ? { namespace } : {};
  s.orchestrator.resource = { type: 'pod', name: pod };
  s.key = `${namespace ?? ''}/${pod}/${containerName}`;
}

/** A new series, or undefined when it is not one we read (counted unused by the caller). */
function openSeries(scope: Scope, name: string, labels: Labels, refPrefix: string | undefined): Series | undefined {
  const kind = kindOf(name, labels);
  if (kind === undefined) return undefined;
  const s: Series = { name, kind, labels, refPrefix, times: [], values: [], at: [] };
  s.host = hostOf(name, labels, scope.hostHint);
  if (kind === 'hostcpu') {
    s.cpu = cpuLabelOf(name, labels);
    s.idle = cpuModeOf(name, labels.mode) === 'idle';
    const target: Labels = {};
    for (const k in labels) if (k !== 'cpu' && k !== 'core' && k !== 'mode') target[k] = labels[k];
    s.target = identityOf(name, target);
    return s;
  }
  if (kind === 'gpu') {
    s.gpu = gpuOf(labels, `series:${scope.series.length}`);
    if (name === DCGM_GPU_UTIL) describeGpuWorkload(s);
    return s;
  }
  if (kind !== 'cores' && !describeContainer(s)) return undefined;
  return s;
}

/** A value as read: a finite number, or why not. */
function sampleValue(raw: unknown, kind: Kind, name: string): number | string {
  if (typeof raw !== 'string' && typeof raw !== 'number') return 'is not a number';
  const text = String(raw).trim();
  if (SPECIAL.test(text)) return `is ${text}`;
  if (!NUMBER.test(text)) return `"${clip(text, 40)}" is not a number`;
  const v = Number(text);
  if (!Number.isFinite(v)) return `${clip(text, 40)} is out of range`;
  // a quota of -1 means "no limit": the only negative value these metrics carry
  if (v < 0 && kind !== 'quota') return `${clip(text, 40)} is negative`;
  if (kind === 'cores' && v > MAX_CORES) return `${v} cores is past any real node`;
  // a hair over is rounding; more is not this metric
  if (kind === 'gpu' && name === SMI_GPU_UTIL && v > 1.005) return `${v} is not a GPU utilisation ratio (0–1)`;
  if (kind === 'gpu' && name !== SMI_GPU_UTIL && v > 100.5) return `${v} is not a GPU utilisation percent (0–100)`;
  return v;
}

/** One sample into its series, checked; issues say where. */
function addSample(scope: Scope, s: Series, ts: number | string, raw: unknown, at: number): void {
  if (typeof ts === 'string') {
    scope.issues.push(issue(refOf(scope, s, at), 'PROM_BAD_TIME', ts));
    return;
  }
  const v = sampleValue(raw, s.kind, s.name);
  if (typeof v === 'string') {
    scope.issues.push(issue(refOf(scope, s, at), 'PROM_BAD_VALUE', `${s.name} ${v}`));
    return;
  }
  const last = s.times.length - 1;
  if (last >= 0 && ts <= s.times[last]) {
    scope.issues.push(
      issue(
        refOf(scope, s, at),
        'PROM_OUT_OF_ORDER',
        `${s.name} sample at ${ts} is not after the series' previous one`,
      ),
    );
    return;
  }
  if (s.times.length >= MAX_POINTS_PER_SERIES || scope.samples >= MAX_SAMPLES) {
    if (!s.capped)
      scope.issues.push(
        issue(
          refOf(scope, s, at),
          'PROM_SERIES_CAPPED',
          `${s.name}: over ${s.times.length >= MAX_POINTS_PER_SERIES ? `${MAX_POINTS_PER_SERIES} points in one series` : `${MAX_SAMPLES} samples in the file`}; the rest of the series is not read`,
          'reading',
        ),
      );
    s.capped = true;
    return;
  }
  s.times.push(ts);
  s.values.push(v);
  s.at.push(at);
  scope.samples++;
}

function register(scope: Scope, s: Series, at: SourceRef): boolean {
  if (scope.series.length >= MAX_SERIES) {
    if (!scope.tooMany)
      scope.issues.push(
        issue(at, 'PROM_TOO_MANY_SERIES', `over ${MAX_SERIES} series; later series are not read`, 'reading'),
      );
    scope.tooMany = true;
    return false;
  }
  scope.series.push(s);
  return true;
}

/** Labels of a JSON `metric` object: strings only, bounded. */
function labelsOfJson(o: Record<string, unknown>): Labels {
  const labels: Labels = {};
  let n = 0;
  for (const key in o) {
    if (n++ >= MAX_LABELS) break;
    const v = o[key];
    if (typeof v === 'string' && key.length <= MAX_LABEL_NAME_CHARS) labels[key] = clip(v, MAX_LABEL_VALUE_CHARS);
  }
  return labels;
}

/** API timestamps are unix seconds (a float); a string or a time outside 1990–2100 is reported. */
function apiTime(v: unknown): number | string {
  if (typeof v !== 'number' || !Number.isFinite(v))
    return `timestamp ${clip(JSON.stringify(v) ?? '', 40)} is not unix seconds`;
  const ms = Math.round(v * 1000);
  return isPlausibleMs(ms) ? ms : `timestamp ${v} is not a plausible time in unix seconds`;
}

function readDocument(scope: Scope, doc: unknown, docIndex: number, line: number): void {
  const where = { file: scope.file, line };
  if (!isObject(doc)) {
    scope.issues.push(issue(where, 'PROM_BAD_RESPONSE', 'not a Prometheus API response object'));
    return;
  }
  if (doc.status !== 'success') {
    const why = [doc.errorType, doc.error].filter((x) => typeof x === 'string').map((x) => clip(x as string, 200));
    scope.issues.push(
      issue(where, 'PROM_QUERY_ERROR', `response status is not success${why.length > 0 ? `: ${why.join(': ')}` : ''}`),
    );
    return;
  }
  const data = isObject(doc.data) ? doc.data : undefined;
  const type = data?.resultType;
  if (type === 'scalar' || type === 'string') {
    scope.unused++;
    return;
  }
  if ((type !== 'matrix' && type !== 'vector') || !Array.isArray(data?.result)) {
    scope.issues.push(issue(where, 'PROM_BAD_RESPONSE', 'data.result is not a matrix or vector'));
    return;
  }
  const prefix = docIndex === 0 ? '' : `response ${docIndex + 1} `;
  data.result.forEach((entry: unknown, i: number) => {
    const name = `${prefix}series ${i}`;
    if (!isObject(entry) || !isObject(entry.metric)) {
      scope.issues.push(
        issue({ file: scope.file, record: name }, 'PROM_BAD_SERIES', 'a result without a metric object'),
      );
      return;
    }
    const labels = labelsOfJson(entry.metric);
    const metric = labels.__name__ ?? '';
    delete labels.__name__;
    const points = type === 'matrix' ? entry.values : [entry.value];
    if (!Array.isArray(points)) {
      scope.issues.push(issue({ file: scope.file, record: name }, 'PROM_BAD_SERIES', `${type} result without values`));
      return;
    }
    const s = openSeries(scope, metric, labels, name);
    if (s === undefined) {
      scope.unused += points.length;
      return;
    }
    if (!register(scope, s, { file: scope.file, record: name })) return;
    for (let j = 0; j < points.length && !s.capped; j++) {
      const p = points[j];
      if (!Array.isArray(p) || p.length !== 2) {
        scope.issues.push(issue(refOf(scope, s, j), 'PROM_BAD_VALUE', 'a point is not [time, "value"]'));
        continue;
      }
      addSample(scope, s, apiTime(p[0]), p[1], j);
    }
  });
}

/**
 * Splits the text into top-level JSON values (linear: one pass tracking strings and nesting) and
 * reads each; text between them that opens no value is reported by line and skipped to its line's end.
 */
function readJsonText(scope: Scope, text: string): void {
  let i = 0;
  let line = 1;
  let docIndex = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    const startLine = line;
    if (c !== 123 && c !== 91) {
      scope.issues.push(issue({ file: scope.file, line }, 'PROM_BAD_JSON', 'text outside a JSON response'));
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      continue;
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const d = text.charCodeAt(i);
      if (d === 10) line++;
      if (inString) {
        if (d === 92) i++;
        else if (d === 34) inString = false;
      } else if (d === 34) inString = true;
      else if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (i >= n) {
      scope.issues.push(
        issue(
          { file: scope.file, line: startLine },
          'PROM_TRUNCATED',
          'the JSON response is cut before its end',
          'reading',
        ),
      );
      return;
    }
    i++;
    let doc: unknown;
    try {
      doc = JSON.parse(text.slice(start, i));
    } catch (err) {
      scope.issues.push(
        issue(
          { file: scope.file, line: startLine },
          'PROM_BAD_JSON',
          clip(err instanceof Error ? err.message : String(err), 200),
        ),
      );
      continue;
    }
    readDocument(scope, doc, docIndex++, startLine);
  }
}

type Parsed =
  | { ok: true; name: string; labels: Labels; value: string; ts?: string }
  | { ok: false; code: string; reason: string };

/** One exposition line: `name{l="v",…} value [timestamp]` or `{__name__="name", …} value timestamp`. */
export function parseExpositionLine(text: string): Parsed {
  const cut = (reason: string): Parsed => ({ ok: false, code: 'PROM_TRUNCATED', reason });
  const bad = (reason: string): Parsed => ({ ok: false, code: 'PROM_BAD_LINE', reason });
  let i = 0;
  const n = text.length;
  while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
  const nameMatch = METRIC_NAME.exec(text.slice(i, i + 256));
  let name = nameMatch ? nameMatch[0] : '';
  i += name.length;
  const labels: Labels = {};
  let count = 0;
  if (text[i] === '{') {
    i++;
    for (;;) {
      while (i < n && text[i] === ' ') i++;
      if (i >= n) return cut('the label set is not closed');
      if (text[i] === '}') {
        i++;
        break;
      }
      const label = LABEL_NAME.exec(text.slice(i, i + MAX_LABEL_NAME_CHARS + 1));
      if (!label || label[0].length > MAX_LABEL_NAME_CHARS) return bad(`no label name at column ${i + 1}`);
      i += label[0].length;
      while (i < n && text[i] === ' ') i++;
      if (i >= n) return cut('the label set is not closed');
      if (text[i] !== '=') return bad(`label ${label[0]} has no =`);
      i++;
      while (i < n && text[i] === ' ') i++;
      if (i >= n) return cut(`label ${label[0]} has no value`);
      if (text[i] !== '"') return bad(`label ${label[0]}'s value is not quoted`);
      i++;
      let value = '';
      let closed = false;
      for (; i < n; i++) {
        const ch = text[i];
        if (ch === '\\' && i + 1 < n) {
          const next = text[++i];
          value += next === 'n' ? '\n' : next === '\\' || next === '"' ? next : `\\${next}`;
        } else if (ch === '"') {
          closed = true;
          i++;
          break;
        } else value += ch;
        if (value.length > MAX_LABEL_VALUE_CHARS * 4) return bad(`label ${label[0]}'s value is too long`);
      }
      if (!closed) return cut(`label ${label[0]}'s value is not closed`);
      if (++count > MAX_LABELS) return bad(`more than ${MAX_LABELS} labels`);
      labels[label[0]] = clip(value, MAX_LABEL_VALUE_CHARS);
      while (i < n && text[i] === ' ') i++;
      if (text[i] === ',') i++;
      else if (text[i] !== '}' && i < n) return bad(`unexpected "${clip(text[i], 4)}" after label ${label[0]}`);
    }
  }
  if (name === '') {
    name = labels.__name__ ?? '';
    if (!METRIC_NAME.test(name)) return bad('no metric name');
  }
  delete labels.__name__;
  const rest = text
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  if (rest.length < 1 || rest[0] === '') return bad('no value');
  if (rest.length > 2) return bad('more than a value and a timestamp after the labels');
  return rest.length === 2
    ? { ok: true, name, labels, value: rest[0], ts: rest[1] }
    : { ok: true, name, labels, value: rest[0] };
}

function textTime(raw: string | undefined, mtimeMs: number | undefined): number | string {
  if (raw === undefined) {
    // a plain scrape carries no time: the file's mtime (when it was written) stands in
    if (mtimeMs !== undefined && isPlausibleMs(mtimeMs)) return Math.round(mtimeMs);
    return 'no timestamp on the sample and no file time to use';
  }
  if (!TIMESTAMP_MS.test(raw)) return `timestamp "${clip(raw, 40)}" is not milliseconds`;
  const ms = Number(raw);
  return isPlausibleMs(ms) ? ms : `timestamp ${raw} is not a plausible time in milliseconds`;
}

function identityOf(name: string, labels: Labels): string {
  return JSON.stringify([
    name,
    ...Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  ]);
}

function readTextLine(scope: Scope, text: string, line: number, mtimeMs: number | undefined): void {
  const trimmed = text.trimStart();
  if (trimmed === '' || trimmed.startsWith('#')) return;
  const p = parseExpositionLine(text);
  if (!p.ok) {
    scope.issues.push(issue({ file: scope.file, line }, p.code, p.reason));
    return;
  }
  const identity = identityOf(p.name, p.labels);
  let s = scope.byIdentity.get(identity);
  if (s === undefined) {
    if (scope.unusedIdentities.has(identity) || scope.tooMany) {
      scope.unused++;
      return;
    }
    s = openSeries(scope, p.name, p.labels, undefined);
    if (s === undefined || !register(scope, s, { file: scope.file, line })) {
      if (s === undefined && scope.unusedIdentities.size < MAX_SERIES) scope.unusedIdentities.add(identity);
      scope.unused++;
      return;
    }
    scope.byIdentity.set(identity, s);
  }
  addSample(scope, s, textTime(p.ts, mtimeMs), p.value, line);
}

/** A step function over (time, value) points: the value in force at `ts`, else the first one. */
function valueAt(times: number[], values: number[], ts: number): number | undefined {
  if (times.length === 0) return undefined;
  let lo = 0;
  let hi = times.length - 1;
  if (ts < times[0]) return values[0];
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= ts) lo = mid;
    else hi = mid - 1;
  }
  return values[lo];
}

interface Limits {
  times: number[];
  cores: number[];
}

/** Each container's CPU limit over time, from quota ÷ period (cAdvisor) and the pod spec (kube-state-metrics). */
function limitsOf(series: Series[]): Map<string, Limits> {
  const periods = new Map<string, Series>();
  for (const s of series) if (s.kind === 'period' && s.key) periods.set(s.key, s);
  const points = new Map<string, Array<[number, number]>>();
  const add = (key: string, ts: number, cores: number) => {
    const list = points.get(key) ?? [];
    if (list.length === 0) points.set(key, list);
    list.push([ts, cores]);
  };
  for (const s of series) {
    if (!s.key) continue;
    if (s.kind === 'limit')
      for (let i = 0; i < s.times.length; i++) if (s.values[i] > 0) add(s.key, s.times[i], s.values[i]);
    if (s.kind !== 'quota') continue;
    const period = periods.get(s.key);
    for (let i = 0; i < s.times.length; i++) {
      if (s.values[i] <= 0) continue; // -1 (or no quota): unlimited
      const us = (period && valueAt(period.times, period.values, s.times[i])) || DEFAULT_CFS_PERIOD_US;
      add(s.key, s.times[i], s.values[i] / us);
    }
  }
  const out = new Map<string, Limits>();
  for (const [key, list] of points) {
    list.sort((a, b) => a[0] - b[0]);
    out.set(key, { times: list.map((p) => p[0]), cores: list.map((p) => Math.round(p[1] * 1000) / 1000) });
  }
  return out;
}

/** A binary min-heap of series positions by (next time, series order): the k-way merge of the series. */
class Cursor {
  private heap: number[] = [];
  private pos: number[];
  constructor(private series: Series[]) {
    this.pos = series.map(() => 0);
    series.forEach((s, i) => {
      if (s.times.length > 0) this.push(i);
    });
  }
  private less(a: number, b: number): boolean {
    const ta = this.series[a].times[this.pos[a]];
    const tb = this.series[b].times[this.pos[b]];
    return ta < tb || (ta === tb && a < b);
  }
  private push(i: number): void {
    const h = this.heap;
    h.push(i);
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.less(h[k], h[p])) break;
      [h[k], h[p]] = [h[p], h[k]];
      k = p;
    }
  }
  /** The next (series, point) in time order, or undefined at the end. */
  next(): [number, number] | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const point = this.pos[top]++;
    const last = h.pop() as number;
    if (h.length > 0) h[0] = last;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === k) break;
      [h[k], h[m]] = [h[m], h[k]];
      k = m;
    }
    if (this.pos[top] < this.series[top].times.length) this.push(top);
    return [top, point];
  }
}

/** A sample of a group (GPU, host CPU): the series and point it came from. */
interface PointAt {
  s: Series;
  pi: number;
}

/** A host's GPU sample (mean over its GPUs, and their count) or a container's (the sum over its GPUs). */
function gpuEvent(scope: Scope, g: GpuGroup<PointAt>, isHost: boolean): CoalEvent {
  const { s, pi } = g.first;
  const metrics: EventMetrics = isHost ? { gpu_pct: meanGpuPct(g), gpus: g.gpus.length } : { gpu_pct: sumGpuPct(g) };
  const n = Math.min(g.gpus.length, MAX_ORIGINAL_GPUS);
  const gpus = g.gpus.slice(0, n).map((gpu, i) => ({ gpu, pct: g.pcts[i] }));
  return sampleEvent(scope, s, pi, g.ts, metrics, { metric: s.name, gpus, timestamp: g.ts }, !isHost);
}

/**
 * Points of one scrape of a host CPU target share its time in Prometheus; a dump written otherwise (exporter
 * timestamps, a hand-made file) may spread them. Per target, in time order, a point up to MAX_SCRAPE_SKEW_MS
 * after a scrape's first point, of a series that scrape has not read yet, is moved onto that first point's
 * time, so `emit` gathers the scrape at one time as it does a GPU sample. A series' times stay increasing:
 * it has at most one point in a scrape, and each scrape starts after the previous one's first point.
 */
function alignScrapes(series: Series[]): void {
  const byTarget = new Map<string, Series[]>();
  for (const s of series) {
    if (s.kind !== 'hostcpu' || s.target === undefined || s.times.length === 0) continue;
    const list = byTarget.get(s.target);
    if (list === undefined) byTarget.set(s.target, [s]);
    else list.push(s);
  }
  for (const list of byTarget.values()) {
    const lastScrape = list.map(() => -1);
    const cursor = new Cursor(list);
    let scrape = -1;
    let start = 0;
    for (let step = cursor.next(); step !== undefined; step = cursor.next()) {
      const [i, pi] = step;
      const ts = list[i].times[pi];
      if (scrape < 0 || ts - start > MAX_SCRAPE_SKEW_MS || lastScrape[i] === scrape) {
        scrape++;
        start = ts;
      } else list[i].times[pi] = start; // the cursor has moved past this point: only later ones order it
      lastScrape[i] = scrape;
    }
  }
}

/** A host CPU target's state between scrapes: how many it had, when the last was, its CPUs' series counts then. */
interface HostCpu {
  scrape: number;
  lastTs?: number;
  cpus: Map<string, number>;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * A host's CPU sample from one scrape's counters: `cores` the CPUs it names, and `cpu_pct` the share of
 * their time busy since the previous scrape, 100 × (1 − Δidle ÷ Δall) over the CPUs whose series were all
 * read in both scrapes. No rate on the first scrape, after a counter went down, across a gap, or when no
 * CPU time passed; never below 0 or above 100.
 */
function hostCpuEvent(scope: Scope, target: HostCpu, points: PointAt[], ts: number): CoalEvent {
  const scrape = ++target.scrape;
  const prevTs = target.lastTs;
  const prevCpus = target.cpus;
  target.lastTs = ts;
  const cpus = new Map<string, { series: number; paired: number; idle: number; all: number }>();
  let reset = false;
  for (const { s, pi } of points) {
    const key = s.cpu ?? '';
    let cpu = cpus.get(key);
    if (cpu === undefined) {
      cpu = { series: 0, paired: 0, idle: 0, all: 0 };
      cpus.set(key, cpu);
    }
    cpu.series++;
    if (pi > 0 && s.lastScrape === scrape - 1) {
      const d = s.values[pi] - s.values[pi - 1];
      if (d < 0) reset = true;
      cpu.paired++;
      cpu.all += d;
      if (s.idle) cpu.idle += d;
    }
    s.lastScrape = scrape;
  }
  target.cpus = new Map([...cpus].map(([key, cpu]) => [key, cpu.series]));
  let idle = 0;
  let all = 0;
  // a CPU counts only with the same series in both scrapes: one missing its idle point would read all busy
  for (const [key, cpu] of cpus)
    if (cpu.paired === cpu.series && prevCpus.get(key) === cpu.series) {
      idle += cpu.idle;
      all += cpu.all;
    }
  const { s, pi } = points[0];
  const metrics: EventMetrics = {};
  if (cpus.size <= MAX_CORES) metrics.cores = cpus.size;
  const original: Record<string, unknown> = { metric: s.name, timestamp: ts, cpus: cpus.size };
  const noRate =
    prevTs === undefined
      ? 'first scrape'
      : reset
        ? 'a counter went down (restart): starting again'
        : ts - prevTs > MAX_RATE_GAP_MS
          ? `${Math.round((ts - prevTs) / 60_000)} minutes since the previous scrape`
          : all <= 0
            ? 'no CPU time read in both scrapes'
            : undefined;
  if (noRate === undefined) {
    metrics.cpu_pct = Math.min(100, Math.max(0, round2((1 - idle / all) * 100)));
    Object.assign(original, { idle_seconds: round3(idle), all_seconds: round3(all), since: prevTs });
  } else original.no_rate = noRate;
  const event = sampleEvent(scope, s, pi, ts, metrics, original, false);
  if (event.host && (s.name === WINDOWS_CPU || s.name === WINDOWS_CPU_OLD)) event.host.os = { platform: 'windows' };
  return event;
}

/**
 * The metric event of one point of a series: on its host, and (`inWorkload`) in its container and pod,
 * with what the series said kept as `original`.
 */
function sampleEvent(
  scope: Scope,
  s: Series,
  pi: number,
  ts: number,
  metrics: EventMetrics,
  original: Record<string, unknown>,
  inWorkload: boolean,
): CoalEvent {
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'metric',
      category: ['host'],
      type: ['info'],
      action: 'metric',
      dataset: `prometheus.${s.name}`,
    },
    metrics,
    original,
    coalmine: { ts, format: FORMAT, ref: refOf(scope, s, s.at[pi]) },
  };
  if (s.host !== undefined) event.host = { name: s.host };
  if (inWorkload && s.container) event.container = s.container;
  if (inWorkload && s.orchestrator) event.orchestrator = s.orchestrator;
  return event;
}

function* emit(scope: Scope): Generator<CoalEvent> {
  const limits = limitsOf(scope.series);
  const lastCores = new Map<string, number>();
  alignScrapes(scope.series);
  const cursor = new Cursor(scope.series);
  // GPU samples of one time, per host and per container, and host CPU points of one scrape time per target;
  // given once the cursor passes that time
  const hosts = new GpuGroups<PointAt>();
  const containers = new GpuGroups<PointAt>();
  const scrapes = new Map<string, PointAt[]>();
  const targets = new Map<string, HostCpu>();
  let heldTs: number | undefined;
  const flush = function* (ts: number): Generator<CoalEvent> {
    for (const g of hosts.drain()) yield gpuEvent(scope, g, true);
    for (const g of containers.drain()) yield gpuEvent(scope, g, false);
    for (const [key, points] of scrapes) {
      let target = targets.get(key);
      if (target === undefined) {
        target = { scrape: 0, cpus: new Map() };
        targets.set(key, target);
      }
      yield hostCpuEvent(scope, target, points, ts);
    }
    scrapes.clear();
    heldTs = undefined;
  };
  for (let step = cursor.next(); step !== undefined; step = cursor.next()) {
    const [si, pi] = step;
    const s = scope.series[si];
    const ts = s.times[pi];
    if (heldTs !== undefined && ts !== heldTs) yield* flush(heldTs);
    if (s.kind === 'hostcpu') {
      const key = s.target ?? '';
      const points = scrapes.get(key);
      if (points === undefined) scrapes.set(key, [{ s, pi }]);
      else points.push({ s, pi });
      heldTs = ts;
      continue;
    }
    if (s.kind === 'gpu') {
      const gpu = s.gpu ?? '';
      const pct = Math.min(100, round2(s.name === SMI_GPU_UTIL ? s.values[pi] * 100 : s.values[pi]));
      hosts.add(s.host ?? '', ts, gpu, pct, { s, pi });
      if (s.key !== undefined) containers.add(`${s.host ?? ''}|${s.key}`, ts, gpu, pct, { s, pi });
      heldTs = ts;
      continue;
    }
    if (s.kind === 'quota' || s.kind === 'period' || s.kind === 'limit') continue; // folded into the samples
    const v = s.values[pi];
    const metrics: EventMetrics = {};
    if (s.kind === 'cores') {
      const host = s.host ?? '';
      if (lastCores.get(host) === v) continue; // a node's core count only matters when it changes
      lastCores.set(host, v);
      metrics.cores = v;
    } else if (s.kind === 'memory') metrics.rss_bytes = Math.round(v);
    else {
      metrics.cpu_time_ms = Math.round(v * 1000);
      if (pi > 0) {
        const dv = v - s.values[pi - 1];
        const dt = (ts - s.times[pi - 1]) / 1000;
        // a counter that went down restarted (the container did): no rate across the restart
        if (dv >= 0 && dt > 0) metrics.cpu_pct = round2((dv / dt) * 100);
      }
    }
    const limit = s.key === undefined ? undefined : limits.get(s.key);
    const cores = limit && valueAt(limit.times, limit.cores, ts);
    if (cores !== undefined && s.kind !== 'cores') metrics.cpu_limit_cores = cores;
    yield sampleEvent(scope, s, pi, ts, metrics, { metric: s.name, labels: s.labels, value: v, timestamp: ts }, true);
  }
  if (heldTs !== undefined) yield* flush(heldTs);
}

/** JSON when the head opens a JSON value (`{"…` or `[`); `{__name__="…` opens a promtool dump line instead. */
function isJsonHead(head: string): boolean {
  const text = head.trimStart();
  return text[0] === '[' || /^\{\s*["}]/.test(text.slice(0, 64));
}

async function readWhole(input: SourceInput, scope: Scope): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of input.open()) {
    if (bytes + chunk.length > MAX_FILE_BYTES) {
      chunks.push(chunk.subarray(0, MAX_FILE_BYTES - bytes));
      scope.issues.push(
        issue(
          { file: scope.file, line: 1 },
          'PROM_TOO_LARGE',
          `over ${MAX_FILE_BYTES} bytes: only the first ${MAX_FILE_BYTES} are read`,
          'reading',
        ),
      );
      break;
    }
    chunks.push(chunk);
    bytes += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const prometheus: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Prometheus cAdvisor / kube-state-metrics container CPU, limits and memory, node_exporter / windows_exporter host CPU, and dcgm-exporter / nvidia_gpu_exporter GPU utilisation: query_range JSON or timestamped exposition text (promtool tsdb dump)',
  platform: 'container',
  delivers: 'events',
  sniff(head) {
    if (isJsonHead(head)) return head.includes('"resultType"') && head.includes('"status"') ? 90 : 0;
    const lines = head.split('\n', 16).filter((l) => l.trim() !== '');
    if (lines.length === 0) return 0;
    if (lines.some((l) => /^# (?:TYPE|HELP) /.test(l) && OURS.test(l.slice(7)))) return 85;
    const first = lines.find((l) => !l.startsWith('#'));
    if (first === undefined) return 0;
    const p = parseExpositionLine(first);
    if (!p.ok) return 0;
    if (OURS.test(p.name)) return p.ts !== undefined ? 85 : 60;
    return p.ts !== undefined && TIMESTAMP_MS.test(p.ts) ? 30 : 0;
  },
  async *read(input, context) {
    const scope: Scope = {
      file: input.name,
      hostHint: input.hostHint,
      issues: [],
      unused: 0,
      samples: 0,
      series: [],
      byIdentity: new Map(),
      unusedIdentities: new Set(),
    };
    if (isJsonHead(input.head.toString('utf8', 0, Math.min(input.head.length, 4096))))
      readJsonText(scope, await readWhole(input, scope));
    else {
      for await (const batch of sourceLines(input, context, (i) => scope.issues.push(i))) {
        const last = batch.lines.length - 1;
        for (let k = 0; k <= last; k++) {
          // the exposition ends every line with a newline: a last line without one was cut while written
          if (k === last && batch.unterminated && batch.lines[k].trim() !== '')
            scope.issues.push(
              issue(
                { file: scope.file, line: batch.lineNos[k] },
                'PROM_TRUNCATED',
                'the last line has no newline: cut while written',
              ),
            );
          else readTextLine(scope, batch.lines[k], batch.lineNos[k], input.mtimeMs);
        }
      }
    }
    scope.byIdentity.clear();
    scope.unusedIdentities.clear();
    let events: CoalEvent[] = [];
    let first = true;
    for (const e of emit(scope)) {
      events.push(e);
      if (events.length >= BATCH_EVENTS) {
        yield { events, issues: first ? scope.issues : [], unused: first ? scope.unused : 0 };
        first = false;
        events = [];
      }
    }
    if (events.length > 0 || first)
      yield { events, issues: first ? scope.issues : [], unused: first ? scope.unused : 0 };
  },
};
