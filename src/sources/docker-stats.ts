/**
 * `docker stats --no-stream --format '{{json .}}'`: one JSON object per running container
 * (`ID`, `Name`, `CPUPerc` "95.30%", `MemPerc`, `MemUsage` "98.5MiB / 7.77GiB", `NetIO`, `BlockIO`, `PIDs`).
 * The records carry no time, so the snapshot is placed at the file's mtime (when it was written) and a
 * file without one is not read; the same container twice in one file (snapshots appended together) cannot
 * be told apart in time, so the repeat is reported. CPUPerc is percent of ONE core, as Docker computes
 * it (a container using 4 cores shows 400%), the same unit as a process's cpu_pct. The host is the hint.
 */
import type { CoalEvent, EventMetrics } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { isPlausibleMs } from '../util/time.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import { isObject, MAX_NAME_CHARS, textOf } from './net-fields.js';
import type { SourceDescriptor } from './types.js';

const FORMAT = 'docker-stats';
/** A container id as Docker prints it: the 12-character short form or the whole 64. */
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const PERCENT = /^(\d{1,9}(?:\.\d{1,6})?)%$/;
const SIZE = /^(\d{1,15}(?:\.\d{1,6})?)\s?([kKMGTP]?i?B)$/;
const UNIT_BYTES: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  KiB: 1024,
  MB: 1e6,
  MiB: 1024 ** 2,
  GB: 1e9,
  GiB: 1024 ** 3,
  TB: 1e12,
  TiB: 1024 ** 4,
  PB: 1e15,
  PiB: 1024 ** 5,
};
/** Percent of one core: 1024 cores fully busy is past any real machine. */
const MAX_CPU_PCT = 100 * 1024;
/** Containers remembered per file to find a repeated snapshot. */
const MAX_SEEN = 65_536;
const MAX_ORIGINAL_KEYS = 32;
/** What Docker prints for a figure it could not read (a container stopping). */
const NOT_AVAILABLE = '--';

type Row = { ok: true; event: CoalEvent; id: string } | { ok: false; code: string; reason: string } | { ok: 'unused' };

function percentOf(v: unknown, name: string, max: number): number | string | undefined {
  if (v === undefined || v === NOT_AVAILABLE || v === '') return undefined;
  const m = typeof v === 'string' ? PERCENT.exec(v.trim()) : null;
  if (!m) return `${name} ${clip(JSON.stringify(v) ?? '', 40)} is not a percentage`;
  const n = Number(m[1]);
  return n <= max ? n : `${name} ${n}% is over ${max}%`;
}

/** The used part of `MemUsage` ("98.5MiB / 7.77GiB") in bytes. */
function usedBytesOf(v: unknown): number | string | undefined {
  if (v === undefined || v === NOT_AVAILABLE || v === '') return undefined;
  const used = typeof v === 'string' ? v.split('/', 1)[0].trim() : '';
  if (used === NOT_AVAILABLE) return undefined;
  const m = SIZE.exec(used);
  const unit = m ? UNIT_BYTES[m[2]] : undefined;
  if (!m || unit === undefined) return `MemUsage ${clip(JSON.stringify(v) ?? '', 40)} is not "<size> / <limit>"`;
  return Math.round(Number(m[1]) * unit);
}

function originalOf(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in o) {
    if (n++ >= MAX_ORIGINAL_KEYS) break;
    const v = o[key];
    out[clip(key, 64)] = typeof v === 'string' ? clip(v, 256) : typeof v === 'number' ? v : undefined;
  }
  return out;
}

export function parseStatsRecord(o: unknown, ts: number, file: string, line: number, hostHint?: string): Row {
  if (!isObject(o)) return { ok: false, code: 'DOCKER_STATS_BAD_RECORD', reason: 'not a JSON object' };
  const id = textOf(o.ID, 80)?.toLowerCase();
  if (id === undefined || !CONTAINER_ID.test(id))
    return { ok: false, code: 'DOCKER_STATS_BAD_RECORD', reason: 'ID is not a container id (12 to 64 hex digits)' };
  const cpu = percentOf(o.CPUPerc, 'CPUPerc', MAX_CPU_PCT);
  const mem = percentOf(o.MemPerc, 'MemPerc', 100);
  const rss = usedBytesOf(o.MemUsage);
  for (const v of [cpu, mem, rss])
    if (typeof v === 'string') return { ok: false, code: 'DOCKER_STATS_BAD_VALUE', reason: v };
  const metrics: EventMetrics = {};
  if (typeof cpu === 'number') metrics.cpu_pct = cpu;
  if (typeof mem === 'number') metrics.mem_pct = mem;
  if (typeof rss === 'number') metrics.rss_bytes = rss;
  // a stopping container shows "--" everywhere: nothing measured
  if (Object.keys(metrics).length === 0) return { ok: 'unused' };
  const container: NonNullable<CoalEvent['container']> = { id, runtime: 'docker' };
  const name = textOf(o.Name, MAX_NAME_CHARS)?.replace(/^\//, '');
  if (name) container.name = name;
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'metric', category: ['host'], type: ['info'], action: 'metric', dataset: `${FORMAT}.container` },
    container,
    metrics,
    original: originalOf(o),
    coalmine: { ts, format: FORMAT, ref: { file, line } },
  };
  if (hostHint !== undefined) event.host = { name: clip(hostHint, MAX_NAME_CHARS) };
  return { ok: true, event, id };
}

export const dockerStats: SourceDescriptor = {
  name: FORMAT,
  summary: "docker stats --no-stream --format '{{json .}}' (container CPU and memory; time is the file's mtime)",
  platform: 'container',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) => (isObject(o) && typeof o.CPUPerc === 'string' && 'MemUsage' in o && 'ID' in o ? 92 : 0),
      (first) => (first.includes('"CPUPerc"') || first.includes('"BlockIO"') ? 60 : 0),
    );
  },
  async *read(input, context) {
    const file = input.name;
    const ts = input.mtimeMs;
    if (ts === undefined || !isPlausibleMs(ts)) {
      yield {
        events: [],
        issues: [
          {
            ...issue(
              { file },
              'DOCKER_STATS_NO_TIME',
              'docker stats lines carry no time and the file has no modification time: not read',
              'reading',
            ),
            unread: true,
          },
        ],
      };
      return;
    }
    const at = Math.round(ts);
    const seen = new Set<string>();
    let issues: Issue[] = [];
    for await (const batch of sourceLines(input, context, (i) => issues.push(i))) {
      const events: CoalEvent[] = [];
      let unused = 0;
      const last = batch.lines.length - 1;
      batch.lines.forEach((text, k) => {
        const line = batch.lineNos[k];
        if (text.trim() === '') return;
        let o: unknown;
        try {
          o = JSON.parse(text);
        } catch {
          const cut = k === last && batch.unterminated;
          issues.push(
            issue(
              { file, line },
              cut ? 'DOCKER_STATS_TRUNCATED' : 'DOCKER_STATS_BAD_JSON',
              cut ? 'the last line is cut before its end' : 'not a JSON object',
            ),
          );
          return;
        }
        const row = parseStatsRecord(o, at, file, line, input.hostHint);
        if (row.ok === 'unused') unused++;
        else if (!row.ok) issues.push(issue({ file, line }, row.code, row.reason));
        else if (seen.has(row.id))
          issues.push(
            issue(
              { file, line },
              'DOCKER_STATS_REPEATED',
              `container ${row.id} appears twice: snapshots appended into one file cannot be placed in time`,
            ),
          );
        else {
          if (seen.size < MAX_SEEN) seen.add(row.id);
          events.push(row.event);
        }
      });
      yield { events, issues, unused };
      issues = [];
    }
    if (issues.length > 0) yield { events: [], issues };
  },
};
