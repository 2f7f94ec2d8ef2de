/**
 * Resource samples as CSV: `timestamp,entity,cpu_pct[,mem_pct,gpu_pct[,cores]]`, header optional.
 * `entity` is `host` or `host/pid`. Units: for a process, cpu_pct is percent of ONE core (top-style,
 * 390 = 3.9 cores); for a host, percent of ALL its cores (0–100). mem_pct and gpu_pct are 0–100.
 */
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import { parseTimestamp } from '../util/time.js';
import { sourceLines } from './lines.js';
import type { SourceDescriptor } from './types.js';

const HEADER = /^\s*timestamp\s*,\s*entity\s*,\s*cpu_pct\b/i;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const MAX_PROCESS_CPU_PCT = 100 * 1024;

type Row = { ok: true; event: CoalEvent } | { ok: false; code: string; reason: string };

function num(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : Number.NaN;
}

export function parseMetricsRow(text: string, file: string, line: number, columns: string[]): Row {
  const f = text.split(',');
  if (f.length < 3 || f.length > columns.length)
    return { ok: false, code: 'METRICS_BAD_ROW', reason: `expected 3 to ${columns.length} columns, got ${f.length}` };
  const ts = parseTimestamp(f[0].trim());
  if (ts === undefined)
    return { ok: false, code: 'METRICS_BAD_TIME', reason: `"${f[0].slice(0, 40)}" is not a timestamp` };
  const entity = f[1].trim();
  const slash = entity.indexOf('/');
  const host = slash >= 0 ? entity.slice(0, slash) : entity;
  const pidText = slash >= 0 ? entity.slice(slash + 1) : undefined;
  if (!host || host.length > 253) return { ok: false, code: 'METRICS_BAD_ROW', reason: 'entity has no host name' };
  if (pidText !== undefined && !/^\d{1,10}$/.test(pidText))
    return { ok: false, code: 'METRICS_BAD_VALUE', reason: `pid "${pidText.slice(0, 20)}" is not a number` };
  const metrics: CoalEvent['metrics'] = {};
  for (let i = 2; i < f.length; i++) {
    const name = columns[i];
    const v = num(f[i]);
    if (v === undefined) continue;
    const max =
      name === 'cpu_pct' ? (pidText === undefined ? 100 : MAX_PROCESS_CPU_PCT) : name === 'cores' ? 4096 : 100;
    if (Number.isNaN(v) || v < 0 || v > max)
      return {
        ok: false,
        code: 'METRICS_BAD_VALUE',
        reason: `${name} "${f[i].slice(0, 20)}" is not a number in 0..${max}`,
      };
    (metrics as Record<string, number>)[name] = v;
  }
  if (metrics.cpu_pct === undefined) return { ok: false, code: 'METRICS_BAD_VALUE', reason: 'cpu_pct is empty' };
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'metric',
      category: [pidText === undefined ? 'host' : 'process'],
      action: 'metric',
      dataset: 'metrics-csv.sample',
    },
    host: { name: host },
    metrics,
    original: { line: text.slice(0, 512) },
    coalmine: { ts, format: 'metrics-csv', ref: { file, line } },
  };
  if (pidText !== undefined) event.process = { pid: Number(pidText) };
  return { ok: true, event };
}

const DEFAULT_COLUMNS = ['timestamp', 'entity', 'cpu_pct', 'mem_pct', 'gpu_pct', 'cores'];

export const metricsCsv: SourceDescriptor = {
  name: 'metrics-csv',
  summary: 'CPU/memory/GPU samples: timestamp,entity,cpu_pct[,mem_pct,gpu_pct[,cores]] (entity host or host/pid)',
  platform: 'generic',
  delivers: 'events',
  sniff(head, input) {
    const lines = head.split('\n', 6).filter((l) => l.trim() !== '');
    if (lines.length === 0) return 0;
    if (HEADER.test(lines[0])) return 90;
    const data = lines.slice(0, 3);
    return data.length > 0 && data.every((l) => parseMetricsRow(l, input.name, 1, DEFAULT_COLUMNS).ok) ? 50 : 0;
  },
  async *read(input, context) {
    let issues: Issue[] = [];
    const file = input.name;
    let columns = DEFAULT_COLUMNS;
    let first = true;
    const lines = sourceLines(input, context, (i) => issues.push(i));
    for await (const batch of lines) {
      const events: CoalEvent[] = [];
      for (let i = 0; i < batch.lines.length; i++) {
        const text = batch.lines[i];
        if (text.trim() === '' || text.startsWith('#')) continue;
        if (first) {
          first = false;
          if (HEADER.test(text)) {
            const names = text.split(',').map((c) => c.trim().toLowerCase());
            const unknown = names.filter((n) => !DEFAULT_COLUMNS.includes(n));
            if (unknown.length > 0)
              issues.push({
                file,
                line: batch.lineNos[i],
                code: 'METRICS_BAD_HEADER',
                reason: `unknown columns ${unknown.join(', ').slice(0, 100)}`,
                stage: 'parsing',
              });
            else columns = names;
            continue;
          }
        }
        const row = parseMetricsRow(text, file, batch.lineNos[i], columns);
        if (row.ok) events.push(row.event);
        else issues.push({ file, line: batch.lineNos[i], code: row.code, reason: row.reason, stage: 'parsing' });
      }
      yield { events, issues };
      issues = [];
    }
    if (issues.length > 0) yield { events: [], issues };
  },
};
