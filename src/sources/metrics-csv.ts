/**
 * Resource samples as CSV: `timestamp,entity,cpu_pct[,mem_pct,gpu_pct[,cores[,gpus]]]`, header optional
 * (and repeated headers of concatenated files are fine). `entity` is `host` or `host/pid`.
 * Units: for a process, cpu_pct is percent of ONE core (top-style, 390 = 3.9 cores busy, so it can exceed
 * 100) and gpu_pct percent of ONE GPU (likewise); for a host, both are percent of ALL its cores or GPUs
 * (0–100). mem_pct is 0–100; cores and gpus are counts. A row needs cpu_pct or gpu_pct (a GPU-only sampler).
 * A file's samples are given in time order (bounded, `time-order.ts`): exports from a SIEM or a metrics
 * store are often newest first, and in file order the engine would take each older sample as a late one.
 */
import type { CoalEvent, EventMetrics } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { sourceLines } from './lines.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

const CODE = 'METRICS';
const BATCH_EVENTS = 1000;

const HEADER = /^\s*"?timestamp"?\s*,\s*"?entity"?\s*,\s*"?cpu_pct"?\s*(?:,|$)/i;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
/** An ISO date-time without a zone: read as UTC, so results do not depend on the reading machine's TZ. */
const ZONELESS_ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;
const PID = /^\d{1,10}$/;
const MAX_HOST_CHARS = 253;
/** Percent of one core: 1024 cores fully busy is far past any real machine; more is a unit mistake. */
const MAX_PROCESS_CPU_PCT = 100 * 1024;
const MAX_CORES = 4096;
/** Percent of one GPU: 64 GPUs fully busy under one process is past any real machine. */
const MAX_PROCESS_GPU_PCT = 100 * 64;
const MAX_GPUS = 1024;
const METRIC_COLUMNS = ['cpu_pct', 'mem_pct', 'gpu_pct', 'cores', 'gpus'] as const;
type MetricColumn = (typeof METRIC_COLUMNS)[number];
const DEFAULT_COLUMNS: ReadonlyArray<string> = ['timestamp', 'entity', ...METRIC_COLUMNS];

type Row = { ok: true; event: CoalEvent } | { ok: false; code: string; reason: string };

function isMetricColumn(name: string): name is MetricColumn {
  return (METRIC_COLUMNS as ReadonlyArray<string>).includes(name);
}

/** A field without surrounding blanks and the double quotes some writers put around every value. */
function field(text: string): string {
  const t = text.trim();
  return t.length >= 2 && t.charCodeAt(0) === 34 && t.charCodeAt(t.length - 1) === 34 ? t.slice(1, -1).trim() : t;
}

/** A field opening a double quote it does not close (or the reverse): what a row cut inside a quoted value leaves. */
function unbalancedQuote(text: string): boolean {
  const t = text.trim();
  const opens = t.charCodeAt(0) === 34;
  const closes = t.length >= 2 && t.charCodeAt(t.length - 1) === 34;
  return opens !== closes || (opens && t.length === 1);
}

function timeOf(text: string): number | undefined {
  if (ZONELESS_ISO.test(text)) return parseTimestamp(`${text.replace(' ', 'T')}Z`);
  return parseTimestamp(text);
}

function maxOf(name: MetricColumn, isProcess: boolean): number {
  if (name === 'cpu_pct') return isProcess ? MAX_PROCESS_CPU_PCT : 100;
  if (name === 'gpu_pct') return isProcess ? MAX_PROCESS_GPU_PCT : 100;
  return name === 'cores' ? MAX_CORES : name === 'gpus' ? MAX_GPUS : 100;
}

/** Columns that hold a count, not a percentage. */
const isCount = (name: MetricColumn): boolean => name === 'cores' || name === 'gpus';

/**
 * One data row against the columns in force (the header's, or the default order). Columns the header
 * named but coalmine does not know are skipped. Never throws; a bad row says why.
 */
export function parseMetricsRow(text: string, file: string, line: number, columns: ReadonlyArray<string>): Row {
  const raw = text.split(',');
  const open = raw.findIndex(unbalancedQuote);
  if (open >= 0)
    return {
      ok: false,
      code: 'METRICS_TRUNCATED',
      reason: `column ${open + 1} has a quote that is not closed: the row was cut or is not CSV`,
    };
  if (raw.length < 3 || raw.length > columns.length)
    return {
      ok: false,
      code: 'METRICS_BAD_ROW',
      reason: `expected ${columns.length === 3 ? 3 : `3 to ${columns.length}`} columns, got ${raw.length}`,
    };
  const f = raw.map(field);
  const ts = timeOf(f[0]);
  if (ts === undefined)
    return { ok: false, code: 'METRICS_BAD_TIME', reason: `"${clip(f[0], 40)}" is not a timestamp` };
  const entity = f[1];
  const slash = entity.indexOf('/');
  const host = slash >= 0 ? entity.slice(0, slash) : entity;
  const pidText = slash >= 0 ? entity.slice(slash + 1) : undefined;
  if (host === '' || host.length > MAX_HOST_CHARS)
    return { ok: false, code: 'METRICS_BAD_ROW', reason: `entity "${clip(entity, 40)}" has no usable host name` };
  if (pidText !== undefined && !PID.test(pidText))
    return { ok: false, code: 'METRICS_BAD_VALUE', reason: `pid "${clip(pidText, 20)}" is not a number` };
  const isProcess = pidText !== undefined;
  const metrics: EventMetrics = {};
  const original: Record<string, unknown> = { timestamp: f[0], entity };
  for (let i = 2; i < f.length; i++) {
    const name = columns[i];
    if (!isMetricColumn(name) || f[i] === '') continue;
    const max = maxOf(name, isProcess);
    const v = NUMBER.test(f[i]) ? Number(f[i]) : Number.NaN;
    const integral = !isCount(name) || (Number.isInteger(v) && v > 0);
    if (Number.isNaN(v) || v < 0 || v > max || !integral)
      return {
        ok: false,
        code: 'METRICS_BAD_VALUE',
        reason: `${name} "${clip(f[i], 20)}" is not ${isCount(name) ? 'a whole number in 1' : 'a number in 0'}..${max}${
          name === 'cpu_pct' && !isProcess && v > 100
            ? ' (a host row is percent of all cores)'
            : name === 'gpu_pct' && !isProcess && v > 100
              ? ' (a host row is percent of all its GPUs)'
              : ''
        }`,
      };
    metrics[name] = v;
    original[name] = f[i];
  }
  if (metrics.cpu_pct === undefined && metrics.gpu_pct === undefined)
    return { ok: false, code: 'METRICS_BAD_VALUE', reason: 'cpu_pct is empty (and no gpu_pct)' };
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'metric',
      category: [isProcess ? 'process' : 'host'],
      action: 'metric',
      dataset: 'metrics-csv.sample',
    },
    host: { name: host },
    metrics,
    original,
    coalmine: { ts, format: 'metrics-csv', ref: { file, line } },
  };
  if (isProcess) event.process = { pid: Number(pidText) };
  return { ok: true, event };
}

/** The columns a header line declares, or why they cannot be used. */
function headerColumns(text: string): { columns: string[]; problem?: string } {
  const names = text.split(',').map((c) => field(c).toLowerCase());
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) return { columns: [...DEFAULT_COLUMNS], problem: `column "${clip(n, 40)}" is named twice` };
    seen.add(n);
  }
  const unknown = names.slice(3).filter((n) => !isMetricColumn(n));
  if (unknown.length > 0)
    return {
      columns: names,
      problem: `unknown columns ${clip(unknown.join(', '), 100)} are ignored (known: ${METRIC_COLUMNS.join(', ')})`,
    };
  return { columns: names };
}

export const metricsCsv: SourceDescriptor = {
  name: 'metrics-csv',
  summary:
    'CPU/memory/GPU samples: timestamp,entity,cpu_pct[,mem_pct,gpu_pct[,cores[,gpus]]] (entity host or host/pid)',
  platform: 'generic',
  delivers: 'events',
  sniff(head, input) {
    const lines = head.split('\n', 6).filter((l) => l.trim() !== '' && !l.startsWith('#'));
    if (lines.length === 0) return 0;
    if (HEADER.test(lines[0])) return 90;
    // no header: the first rows must all parse (the last may be cut by the head, so at most three)
    const data = lines.slice(0, Math.min(3, lines.length > 1 ? lines.length - 1 : 1));
    return data.every((l) => parseMetricsRow(l, input.name, 1, DEFAULT_COLUMNS).ok) ? 50 : 0;
  },
  read(input, context) {
    return timeOrdered(readInFileOrder(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

/** The file's rows as read, one batch per batch of lines. */
async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  let issues: Issue[] = [];
  const file = input.name;
  let columns: ReadonlyArray<string> = DEFAULT_COLUMNS;
  let header = false;
  let lastFields = 0; // fields of the last good row: a file without a header is measured by its rows
  const lines = sourceLines(input, context, (i) => issues.push(i));
  for await (const batch of lines) {
    const events: CoalEvent[] = [];
    for (let i = 0; i < batch.lines.length; i++) {
      const text = batch.lines[i];
      const line = batch.lineNos[i];
      if (text.trim() === '' || text.startsWith('#')) continue;
      // a header may open the file, or reappear where files were concatenated
      if (HEADER.test(text)) {
        const declared = headerColumns(text);
        columns = declared.columns;
        header = true;
        if (declared.problem) issues.push(issue({ file, line }, 'METRICS_BAD_HEADER', declared.problem));
        continue;
      }
      // the file's last row with no newline after it and fewer fields than the others: cut while written
      // (fewer fields mid-file are empty trailing columns left out, which writers do)
      const fields = text.split(',').length;
      const expected = header ? columns.length : lastFields;
      if (batch.unterminated && i === batch.lines.length - 1 && fields < expected) {
        issues.push(
          issue({ file, line }, 'METRICS_TRUNCATED', `the file ends inside this row: ${fields} of ${expected} fields`),
        );
        continue;
      }
      const row = parseMetricsRow(text, file, line, columns);
      if (row.ok) {
        events.push(row.event);
        lastFields = fields;
      } else issues.push(issue({ file, line }, row.code, row.reason));
    }
    yield { events, issues };
    issues = [];
  }
  if (issues.length > 0) yield { events: [], issues };
}
