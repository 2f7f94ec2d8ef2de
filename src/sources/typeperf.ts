/**
 * Windows performance counters as `typeperf -f CSV` / `relog -f CSV` write them (PDH-CSV 4.0), as
 * metric events in the same shape as metrics-csv: `\Process(x)\% Processor Time` is a process sample
 * (percent of ONE core, can exceed 100; the instance `xmrig#1` is process.name `xmrig`, pid from the
 * row's `\Process(x)\ID Process`), `\Processor(_Total)\% Processor Time` and `\Processor
 * Information(_Total)\% Processor Utility` are host samples (percent of all cores, 0–100).
 *
 * Time zone: the first header cell is `(PDH-CSV 4.0) (<zone name>)(<bias>)`, where bias is minutes
 * west of UTC as Windows' TIME_ZONE_INFORMATION has it (UTC = local time + bias; `(480)` for Pacific
 * Standard Time, `(-60)` for W. Europe). Rows are `MM/DD/YYYY HH:MM:SS.mmm` in that zone. A header
 * with no readable bias is read as UTC (reported once as TYPEPERF_ZONE_UNKNOWN), never the reading
 * machine's zone. The bias is the one in force when the log started, daylight saving included (a
 * British summer log says `(GMT Standard Time)(-60)`), and PDH writes no per-row zone: rows after a
 * clock change are off by the change (an hour gap or repeat in the local times shows it).
 *
 * A file's samples are given in time order (bounded, `time-order.ts`): relog and SIEM exports may list the
 * newest row first, and in file order the engine would take each older sample as a late one.
 */
import type { CoalEvent, EventMetrics } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { sourceLines } from './lines.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

const FORMAT = 'typeperf';
const CODE = 'TYPEPERF';
const BATCH_EVENTS = 1000;
const SIGNATURE = /^\uFEFF?\s*"\(PDH-CSV 4\.0\)/;
/** `(PDH-CSV 4.0) (Pacific Standard Time)(480)`: zone name and bias in minutes. */
const ZONE = /^\(PDH-CSV 4\.0\)\s{0,4}\(([^()]{0,128})\)\s{0,4}\((-?\d{1,4})\)\s*$/;
const TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;
const NUMBER = /^-?\d{1,15}(?:\.\d{1,15})?(?:[eE][-+]?\d{1,3})?$/;
/** Columns read from one line; a wider header is cut here and reported. */
const MAX_COLUMNS = 4096;
const MAX_HOST_CHARS = 253;
const MAX_NAME_CHARS = 256;
/** Percent of one core: as in metrics-csv, 1024 cores fully busy is past any real machine. */
const MAX_PROCESS_CPU_PCT = 100 * 1024;
const MAX_BIAS_MINUTES = 14 * 60;
/** Lines typeperf prints to the console around the samples when its output is redirected. */
const CONSOLE_NOISE = /^(?:Exiting, please wait|The command completed successfully|Press ctrl|Error:)/i;
/** Instances that are not processes. */
const NOT_PROCESSES = new Set(['_total', 'idle']);

type Role = 'host-cpu' | 'host-utility' | 'process-cpu' | 'process-pid' | 'process-rss';

interface Column {
  role: Role;
  host: string;
  /** Process instance as PDH names it (`xmrig#1`); empty for host columns. */
  instance: string;
}

interface Header {
  /** Minutes to add to the row's local time to get UTC. */
  biasMinutes: number;
  /** Index → what the column carries; columns coalmine does not read are absent. */
  columns: Map<number, Column>;
  width: number;
}

/**
 * One CSV line as fields: `"a","b ""c""",d`. Bounded by `MAX_COLUMNS`; `overflow` says the line had
 * more. Unquoted fields are taken as written. `unclosed` says the line ends inside a quoted field: cut.
 */
export function splitCsv(text: string): { fields: string[]; overflow: boolean; unclosed?: true } {
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  while (i <= n) {
    if (fields.length >= MAX_COLUMNS) return { fields, overflow: true };
    if (text.charCodeAt(i) === 34) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          fields.push(value + text.slice(j));
          return { fields, overflow: false, unclosed: true };
        }
        value += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      fields.push(value);
      const comma = text.indexOf(',', j);
      if (comma < 0) break;
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      fields.push(comma < 0 ? text.slice(i) : text.slice(i, comma));
      if (comma < 0) break;
      i = comma + 1;
    }
  }
  return { fields, overflow: false };
}

/** `\\HOST\Object(Instance)\Counter` → its parts; `\Object\Counter` (no machine) has host ''. */
export function parseCounterPath(
  path: string,
): { host: string; object: string; instance?: string; counter: string } | undefined {
  let rest = path.trim();
  let host = '';
  if (rest.startsWith('\\\\')) {
    const end = rest.indexOf('\\', 2);
    if (end < 0) return undefined;
    host = rest.slice(2, end);
    rest = rest.slice(end);
  }
  if (!rest.startsWith('\\')) return undefined;
  const last = rest.lastIndexOf('\\');
  if (last <= 0) return undefined;
  const counter = rest.slice(last + 1);
  const objectPart = rest.slice(1, last);
  const open = objectPart.indexOf('(');
  if (open < 0) return { host, object: objectPart, counter };
  if (!objectPart.endsWith(')')) return undefined;
  return { host, object: objectPart.slice(0, open), instance: objectPart.slice(open + 1, -1), counter };
}

function roleOf(object: string, instance: string | undefined, counter: string): Role | undefined {
  const o = object.toLowerCase();
  const c = counter.toLowerCase();
  const inst = instance?.toLowerCase();
  if (o === 'processor' && inst === '_total' && c === '% processor time') return 'host-cpu';
  if (o === 'processor information' && inst === '_total' && c === '% processor utility') return 'host-utility';
  if (o === 'processor information' && inst === '_total' && c === '% processor time') return 'host-cpu';
  if (o !== 'process' || inst === undefined || NOT_PROCESSES.has(inst)) return undefined;
  if (c === '% processor time') return 'process-cpu';
  if (c === 'id process') return 'process-pid';
  if (c === 'working set') return 'process-rss';
  return undefined;
}

function parseHeader(fields: string[], hostHint: string | undefined): { header: Header; zoneKnown: boolean } {
  const zone = ZONE.exec(fields[0]?.trim() ?? '');
  const bias = zone ? Number(zone[2]) : 0;
  const zoneKnown = zone !== null && Math.abs(bias) <= MAX_BIAS_MINUTES;
  const columns = new Map<number, Column>();
  for (let i = 1; i < fields.length; i++) {
    const path = parseCounterPath(fields[i]);
    if (!path) continue;
    const role = roleOf(path.object, path.instance, path.counter);
    if (!role) continue;
    const host = path.host || hostHint || '';
    if (host === '' || host.length > MAX_HOST_CHARS) continue;
    const instance = role.startsWith('process') ? clip(path.instance ?? '', MAX_NAME_CHARS) : '';
    columns.set(i, { role, host, instance });
  }
  return { header: { biasMinutes: zoneKnown ? bias : 0, columns, width: fields.length }, zoneKnown };
}

/** `12/02/2026 10:15:00.123` (month first, as PDH writes it) in the header's zone → epoch ms. */
export function pdhTime(text: string, biasMinutes: number): number | undefined {
  const m = TIME.exec(text.trim());
  if (!m) return undefined;
  const [month, day, year, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31/02 into March: a date that does not exist is not a time
  if (new Date(local).getUTCDate() !== day) return undefined;
  return local + biasMinutes * 60_000;
}

/** `xmrig#1` → `xmrig`: PDH numbers same-named instances. */
function processNameOf(instance: string): string {
  return instance.replace(/#\d{1,6}$/, '');
}

interface ProcessSample {
  host: string;
  instance: string;
  cpu?: number;
  pid?: number;
  rss?: number;
}

type RowResult = { events: CoalEvent[]; problems: string[] } | { error: { code: string; reason: string } };

function readRow(fields: string[], header: Header, file: string, line: number): RowResult {
  if (fields.length !== header.width)
    return {
      error: {
        code: 'TYPEPERF_BAD_ROW',
        reason: `expected ${header.width} columns as the header has, got ${fields.length}`,
      },
    };
  const ts = pdhTime(fields[0], header.biasMinutes);
  if (ts === undefined)
    return {
      error: {
        code: 'TYPEPERF_BAD_TIME',
        reason: `"${clip(fields[0], 40)}" is not a PDH time (MM/DD/YYYY HH:MM:SS.mmm)`,
      },
    };
  const problems: string[] = [];
  const hosts = new Map<string, { cpu?: number; utility?: number }>();
  const processes = new Map<string, ProcessSample>();
  for (const [i, col] of header.columns) {
    const text = fields[i].trim();
    if (text === '') continue; // typeperf writes " " for a counter it could not read: absent, not zero
    const v = NUMBER.test(text) ? Number(text) : Number.NaN;
    const max =
      col.role === 'process-cpu' ? MAX_PROCESS_CPU_PCT : col.role === 'host-cpu' ? 100 : Number.MAX_SAFE_INTEGER;
    if (!Number.isFinite(v) || v < 0 || v > max) {
      if (problems.length < 3) problems.push(`"${clip(text, 20)}" in column ${i + 1} is not a number in 0..${max}`);
      continue;
    }
    if (col.role === 'host-cpu' || col.role === 'host-utility') {
      const h = hosts.get(col.host) ?? {};
      // utility is against nominal frequency and goes past 100 under turbo; a host sample is 0..100
      if (col.role === 'host-cpu') h.cpu = v;
      else h.utility = Math.min(v, 100);
      hosts.set(col.host, h);
      continue;
    }
    const key = `${col.host}\\${col.instance.toLowerCase()}`;
    const s = processes.get(key) ?? { host: col.host, instance: col.instance };
    if (col.role === 'process-cpu') s.cpu = v;
    else if (col.role === 'process-pid') {
      if (Number.isInteger(v) && v > 0 && v <= 0xffffffff) s.pid = v;
    } else if (Number.isInteger(v)) s.rss = v;
    processes.set(key, s);
  }
  const events: CoalEvent[] = [];
  const timestamp = new Date(ts).toISOString();
  for (const [host, h] of hosts) {
    const cpu = h.cpu ?? h.utility;
    if (cpu === undefined) continue;
    events.push({
      '@timestamp': timestamp,
      event: { kind: 'metric', category: ['host'], action: 'metric', dataset: `${FORMAT}.sample` },
      host: { name: host, os: { platform: 'windows' } },
      metrics: { cpu_pct: cpu },
      original: { timestamp: fields[0], host, cpu_pct: cpu },
      coalmine: { ts, format: FORMAT, ref: { file, line } },
    });
  }
  for (const s of processes.values()) {
    if (s.cpu === undefined) continue;
    const metrics: EventMetrics = { cpu_pct: s.cpu };
    if (s.rss !== undefined) metrics.rss_bytes = s.rss;
    const process: NonNullable<CoalEvent['process']> = { name: processNameOf(s.instance) };
    if (s.pid !== undefined) process.pid = s.pid;
    events.push({
      '@timestamp': timestamp,
      event: { kind: 'metric', category: ['process'], action: 'metric', dataset: `${FORMAT}.sample` },
      host: { name: s.host, os: { platform: 'windows' } },
      process,
      metrics,
      original: {
        timestamp: fields[0],
        host: s.host,
        instance: s.instance,
        cpu_pct: s.cpu,
        ...(s.pid !== undefined ? { pid: s.pid } : {}),
      },
      coalmine: { ts, format: FORMAT, ref: { file, line } },
    });
  }
  return { events, problems };
}

export const typeperf: SourceDescriptor = {
  name: FORMAT,
  summary: 'Windows typeperf/relog PDH-CSV counters: process and host CPU as metric samples',
  platform: 'windows',
  delivers: 'events',
  sniff(head) {
    const first = head.split('\n', 4).find((l) => l.trim() !== '');
    return first !== undefined && SIGNATURE.test(first) ? 95 : 0;
  },
  read(input, context) {
    return timeOrdered(readInFileOrder(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

/** The file's rows as read, one batch per batch of lines. */
async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  let issues: Issue[] = [];
  const file = input.name;
  let header: Header | undefined;
  let reportedNoHeader = false;
  for await (const batch of sourceLines(input, context, (i) => issues.push(i))) {
    const events: CoalEvent[] = [];
    for (let k = 0; k < batch.lines.length; k++) {
      const text = batch.lines[k].replace(/\r$/, '');
      const line = batch.lineNos[k];
      if (text.trim() === '' || CONSOLE_NOISE.test(text.trim())) continue;
      const { fields, overflow, unclosed } = splitCsv(k === 0 && line === 1 ? text.replace(/^\uFEFF/, '') : text);
      if (unclosed) {
        // typeperf quotes every field: a row ending inside one was cut (copied while written)
        issues.push(issue({ file, line }, 'TYPEPERF_TRUNCATED', `the row ends inside quoted column ${fields.length}`));
        continue;
      }
      // a header opens the file, or reappears where exports were concatenated
      if (SIGNATURE.test(text)) {
        const parsed = parseHeader(fields, input.hostHint);
        header = parsed.header;
        if (overflow)
          issues.push(issue({ file, line }, 'TYPEPERF_TOO_WIDE', `over ${MAX_COLUMNS} columns; the rest are not read`));
        if (!parsed.zoneKnown)
          issues.push(
            issue(
              { file, line },
              'TYPEPERF_ZONE_UNKNOWN',
              `no time zone bias in "${clip(fields[0] ?? '', 80)}"; times read as UTC`,
            ),
          );
        if (header.columns.size === 0)
          issues.push(
            issue({ file, line }, 'TYPEPERF_NO_CPU_COLUMNS', 'no process or processor CPU counters in the header'),
          );
        continue;
      }
      if (!header) {
        if (!reportedNoHeader)
          issues.push(issue({ file, line }, 'TYPEPERF_NO_HEADER', 'a sample row before any "(PDH-CSV 4.0)" header'));
        reportedNoHeader = true;
        continue;
      }
      const row = overflow
        ? { error: { code: 'TYPEPERF_BAD_ROW', reason: `over ${MAX_COLUMNS} columns` } }
        : readRow(fields, header, file, line);
      if ('error' in row) {
        issues.push(issue({ file, line }, row.error.code, row.error.reason));
        continue;
      }
      events.push(...row.events);
      if (row.problems.length > 0)
        issues.push(issue({ file, line }, 'TYPEPERF_BAD_VALUE', `${row.problems.join('; ')}; other columns read`));
    }
    yield { events, issues };
    issues = [];
  }
  if (issues.length > 0) yield { events: [], issues };
}
