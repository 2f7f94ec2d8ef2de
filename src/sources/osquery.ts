/**
 * osqueryd results logs (the filesystem logger's `osqueryd.results.log`): one JSON object per line, either a
 * differential row (`columns` + `action` added/removed), a snapshot (`snapshot` array) or a batch (`diffResults`).
 * Query names are the user's own, so a row's table is recognised by its columns. processes,
 * process_open_sockets, listening_ports and crontab become events; any other query is skipped and named once.
 * A file's events are given in time order (bounded, `time-order.ts`): the same lines kept by a log pipeline
 * (Splunk, Elastic, Fleet) come back newest first, and process CPU is a cumulative counter, so in file order
 * no two samples of a process would make a rate.
 */
import type { CoalEvent, EventMetrics, ProcessFields } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { isPlausibleMs, parseTimestamp } from '../util/time.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import { commandTargets } from './persistence/target.js';
import { timeOrdered } from './time-order.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';

type Row = Record<string, unknown>;
type Table = 'processes' | 'process_open_sockets' | 'listening_ports' | 'crontab';

/** What every row of one log line shares. */
interface Envelope {
  name: string;
  hostIdentifier: unknown;
  unixTime: unknown;
  ts: number;
  host?: string;
  hostId?: string;
  platform: string;
  file: string;
  line: number;
}

const CODE = 'OSQUERY';
const BATCH_EVENTS = 1000;
const MAX_COMMAND_CHARS = 8192;
const MAX_TEXT_CHARS = 4096;
const MAX_NAME_CHARS = 256;
/** Distinct unknown query names remembered for "report once"; past this, they are counted together. */
const MAX_UNKNOWN_NAMES = 256;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const INTEGER = /^-?\d{1,15}$/;
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
/** IANA protocol numbers as osquery reports them in `protocol`. */
const TRANSPORTS: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp', '132': 'sctp' };
/** Crontabs whose lines carry a user field before the command (osquery leaves it at the start of `command`). */
const SYSTEM_CRONTAB = /^\/etc\/(?:crontab$|cron\.d\/)/;

function isObject(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A column as text; numerics:true logs write numbers, empty strings mean NULL. */
function text(v: unknown, max = MAX_TEXT_CHARS): string | undefined {
  if (typeof v === 'string') return v.length === 0 ? undefined : clip(v, max);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A column as an integer, whether osquery wrote it as a string (numerics:false) or a number. */
function int(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string' && INTEGER.test(v)) return Number(v);
  return undefined;
}

/** `::ffff:a.b.c.d` (an IPv4 peer on a dual-stack socket) as plain IPv4, so intel and joins see one form. */
function ip(v: unknown): string | undefined {
  const s = text(v, 64);
  if (s === undefined) return undefined;
  const mapped = IPV4_MAPPED.exec(s);
  return mapped ? mapped[1] : s;
}

/** The table a row comes from, by its columns; joins keep the driving table's columns. */
export function tableOf(row: Row): Table | undefined {
  if (row.remote_address !== undefined && row.local_address !== undefined) return 'process_open_sockets';
  if (row.command !== undefined && row.minute !== undefined && row.day_of_week !== undefined) return 'crontab';
  if (row.port !== undefined && row.address !== undefined) return 'listening_ports';
  if (
    row.pid !== undefined &&
    (row.cmdline !== undefined || (row.name !== undefined && (row.parent !== undefined || row.path !== undefined)))
  )
    return 'processes';
  return undefined;
}

/** osquery runs on Linux, macOS and Windows; decorations (os_version / osquery_info queries) may say which. */
function platformOf(decorations: unknown): string {
  if (!isObject(decorations)) return 'linux';
  for (const key of ['platform', 'os_platform', 'platform_like', 'os_name']) {
    const v = decorations[key];
    if (typeof v !== 'string') continue;
    const lower = v.slice(0, 64).toLowerCase();
    if (lower.includes('windows')) return 'windows';
    if (lower.includes('darwin') || lower.includes('mac')) return 'macos';
  }
  return 'linux';
}

function baseEvent(env: Envelope, row: Row, action: string): Omit<CoalEvent, 'event'> {
  const host: NonNullable<CoalEvent['host']> = { os: { platform: env.platform } };
  if (env.host !== undefined) host.name = env.host;
  if (env.hostId !== undefined) host.id = env.hostId;
  return {
    '@timestamp': new Date(env.ts).toISOString(),
    host,
    original: { name: env.name, hostIdentifier: env.hostIdentifier, unixTime: env.unixTime, action, columns: row },
    coalmine: { ts: env.ts, format: 'osquery', ref: { file: env.file, line: env.line } },
  };
}

/** The process a socket or listener row belongs to; joins with `processes` add name and path. */
function socketOwner(row: Row): ProcessFields | undefined {
  const pid = int(row.pid);
  if (pid === undefined || pid < 0) return undefined;
  const process: ProcessFields = { pid };
  const name = text(row.name);
  if (name !== undefined) process.name = name;
  // in process_open_sockets itself `path` is a unix socket's path; an inet row has one only from a join
  const path = text(row.path);
  if (path?.startsWith('/') && (row.family === undefined || String(row.family) !== '1')) process.executable = path;
  const cmdline = text(row.cmdline, MAX_COMMAND_CHARS);
  if (cmdline !== undefined) process.command_line = cmdline;
  return process;
}

type RowResult = CoalEvent | { problem: string } | undefined;

function processEvent(env: Envelope, row: Row, action: string): RowResult {
  const pid = int(row.pid);
  if (pid === undefined || pid < 0)
    return { problem: `pid ${JSON.stringify(row.pid)?.slice(0, 40)} is not a process id` };
  const removed = action === 'removed';
  const process: ProcessFields = { pid };
  const name = text(row.name);
  if (name !== undefined) process.name = name;
  const path = text(row.path);
  if (path !== undefined) process.executable = path;
  const cmdline = text(row.cmdline, MAX_COMMAND_CHARS);
  if (cmdline !== undefined) process.command_line = cmdline;
  const cwd = text(row.cwd);
  if (cwd !== undefined) process.working_directory = cwd;
  const parent = int(row.parent);
  if (parent !== undefined && parent >= 0) process.parent = { pid: parent };
  // start_time is epoch seconds since osquery 4.x (-1 on error; seconds since boot before): implausible is unknown
  const startMs = parseTimestamp(int(row.start_time));
  if (startMs !== undefined) process.start = new Date(startMs).toISOString();
  // on_disk: 1 the executable exists, 0 it was deleted while running, -1 unknown (kernel threads)
  const onDisk = int(row.on_disk);
  if (path !== undefined && (onDisk === 0 || onDisk === 1)) process.exe_deleted = onDisk === 0;
  const sha256 = text(row.sha256, 64);
  if (sha256 !== undefined && SHA256.test(sha256)) process.hash = { sha256: sha256.toLowerCase() };
  const event: CoalEvent = {
    ...baseEvent(env, row, action),
    event: {
      kind: 'event',
      category: ['process'],
      type: [removed ? 'end' : 'info'],
      action: removed ? 'exit' : 'process-seen',
      dataset: 'osquery.processes',
    },
    process,
  };
  const uid = int(row.uid);
  if (uid !== undefined && uid >= 0) event.user = { id: String(uid) };
  // a removed row repeats the last snapshot's counters at a later time: as a sample it would understate the rate
  if (!removed) {
    const metrics: EventMetrics = {};
    const rss = int(row.resident_size);
    if (rss !== undefined && rss >= 0) metrics.rss_bytes = rss;
    // user_time and system_time are cumulative milliseconds (osquery divides clock ticks for us)
    const userMs = int(row.user_time);
    const systemMs = int(row.system_time);
    if (userMs !== undefined && systemMs !== undefined && userMs >= 0 && systemMs >= 0)
      metrics.cpu_time_ms = userMs + systemMs;
    if (metrics.rss_bytes !== undefined || metrics.cpu_time_ms !== undefined) event.metrics = metrics;
  }
  return event;
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '0:0:0:0:0:0:0:0';
}

function socketEvent(env: Envelope, row: Row, action: string): RowResult {
  if (action === 'removed') return undefined; // the connection was reported when it appeared
  const remote = ip(row.remote_address);
  const remotePort = int(row.remote_port);
  if (remote === undefined || isUnspecified(remote) || remotePort === undefined || remotePort <= 0) return undefined;
  const localPort = int(row.local_port);
  // osquery does not say who connected. A privileged local port with an unprivileged peer is a service's
  // accepted client (connect() never picks a local port below 1024), not an outbound connection.
  if (localPort !== undefined && localPort > 0 && localPort < 1024 && remotePort >= 1024) return undefined;
  const event: CoalEvent = {
    ...baseEvent(env, row, action),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      action: 'connect',
      dataset: 'osquery.process_open_sockets',
    },
    destination: { ip: remote, port: remotePort },
  };
  const local = ip(row.local_address);
  if (local !== undefined || localPort !== undefined) {
    event.source = {};
    if (local !== undefined) event.source.ip = local;
    if (localPort !== undefined && localPort > 0) event.source.port = localPort;
  }
  const transport = TRANSPORTS[String(row.protocol)];
  if (transport !== undefined) event.network = { transport };
  const process = socketOwner(row);
  if (process) event.process = process;
  return event;
}

function listenEvent(env: Envelope, row: Row, action: string): RowResult {
  if (action === 'removed') return undefined;
  const port = int(row.port);
  // unix sockets are listed with port 0: no address to reach them by
  if (port === undefined || port <= 0) return undefined;
  const event: CoalEvent = {
    ...baseEvent(env, row, action),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['start'],
      action: 'listen',
      dataset: 'osquery.listening_ports',
    },
    source: { port },
  };
  const address = ip(row.address);
  if (address !== undefined) event.source!.ip = address;
  const transport = TRANSPORTS[String(row.protocol)];
  if (transport !== undefined) event.network = { transport };
  const process = socketOwner(row);
  if (process) event.process = process;
  return event;
}

function cronEvent(env: Envelope, row: Row, action: string): RowResult {
  if (action === 'removed') return undefined; // the entry is gone: nothing is installed any more
  const command = text(row.command, MAX_COMMAND_CHARS);
  if (command === undefined) return { problem: 'crontab row has no command' };
  const path = text(row.path);
  const special = text(row.event, 64);
  const schedule =
    special ??
    [row.minute, row.hour, row.day_of_month, row.month, row.day_of_week].map((v) => text(v, 128) ?? '*').join(' ');
  const process: ProcessFields = { command_line: command };
  if (path !== undefined && SYSTEM_CRONTAB.test(path)) {
    const space = command.indexOf(' ');
    if (space > 0) {
      process.user = { name: command.slice(0, space) };
      process.command_line = command.slice(space + 1);
    }
  }
  const target = commandTargets(process.command_line!)[0];
  const event: CoalEvent = {
    ...baseEvent(env, row, action),
    event: {
      kind: 'state',
      category: ['configuration'],
      action: 'persistence-entry',
      dataset: 'osquery.crontab',
    },
    process,
    file: { line: `${schedule} ${command}` },
  };
  if (path !== undefined) {
    event.file!.path = path;
    event.file!.name = path.slice(path.lastIndexOf('/') + 1);
  }
  event.coalmine.persistence = target !== undefined ? { mechanism: 'cron', target } : { mechanism: 'cron' };
  return event;
}

const BUILDERS: Record<Table, (env: Envelope, row: Row, action: string) => RowResult> = {
  processes: processEvent,
  process_open_sockets: socketEvent,
  listening_ports: listenEvent,
  crontab: cronEvent,
};

/** Rows of one log line with the action each stands for, or why the line is not a results entry. */
function rowsOf(o: Row): { rows: Array<[unknown, string]> } | { problem: string } {
  if (Array.isArray(o.snapshot)) return { rows: o.snapshot.map((r): [unknown, string] => [r, 'snapshot']) };
  if (o.columns !== undefined) {
    if (!isObject(o.columns)) return { problem: 'columns is not an object' };
    if (o.action !== 'added' && o.action !== 'removed')
      return { problem: `action ${JSON.stringify(o.action)?.slice(0, 40)} is not added or removed` };
    return { rows: [[o.columns, o.action]] };
  }
  // --logger_event_type=false writes one line per query run with both lists
  if (isObject(o.diffResults)) {
    const { added, removed } = o.diffResults;
    if ((added !== undefined && !Array.isArray(added)) || (removed !== undefined && !Array.isArray(removed)))
      return { problem: 'diffResults.added/removed are not arrays' };
    const rows: Array<[unknown, string]> = [];
    for (const r of (added as unknown[] | undefined) ?? []) rows.push([r, 'added']);
    for (const r of (removed as unknown[] | undefined) ?? []) rows.push([r, 'removed']);
    return { rows };
  }
  return { problem: 'no columns, snapshot or diffResults: not an osquery results entry' };
}

function envelopeOf(o: Row, input: SourceInput, line: number): Envelope | string {
  const unixTime = o.unixTime;
  // unixTime is a number since osquery 3.x and a numeric string before
  const ts =
    typeof unixTime === 'number' || (typeof unixTime === 'string' && INTEGER.test(unixTime))
      ? parseTimestamp(Number(unixTime))
      : undefined;
  if (ts === undefined || !isPlausibleMs(ts))
    return `unixTime ${JSON.stringify(unixTime)?.slice(0, 40) ?? 'is missing'}: not a plausible epoch time`;
  const host = typeof o.hostIdentifier === 'string' && o.hostIdentifier !== '' ? o.hostIdentifier : input.hostHint;
  const decorations = isObject(o.decorations) ? o.decorations : undefined;
  const hostUuid = decorations?.host_uuid;
  const env: Envelope = {
    name: typeof o.name === 'string' ? clip(o.name, MAX_NAME_CHARS) : '(unnamed query)',
    hostIdentifier: o.hostIdentifier,
    unixTime,
    ts,
    platform: platformOf(decorations),
    file: input.name,
    line,
  };
  if (host !== undefined) env.host = clip(host, MAX_NAME_CHARS);
  if (typeof hostUuid === 'string' && hostUuid !== '') env.hostId = clip(hostUuid, MAX_NAME_CHARS);
  return env;
}

/** Remembers which unknown queries were already reported, within a bound. */
class UnknownQueries {
  private readonly names = new Set<string>();
  private overflowRows = 0;
  private overflowLine = 0;

  constructor(private readonly file: string) {}

  note(env: Envelope, row: Row, issues: Issue[]): void {
    if (this.names.has(env.name)) return;
    if (this.names.size >= MAX_UNKNOWN_NAMES) {
      if (this.overflowRows++ === 0) this.overflowLine = env.line;
      return;
    }
    this.names.add(env.name);
    const columns = Object.keys(row).slice(0, 8).join(', ');
    issues.push(
      issue(
        { file: this.file, line: env.line },
        'OSQUERY_UNKNOWN_TABLE',
        `query "${env.name}" has columns of no table coalmine reads (${clip(columns, 200)}); its rows are skipped`,
        'normalising',
      ),
    );
  }

  finish(issues: Issue[]): void {
    if (this.overflowRows > 0)
      issues.push(
        issue(
          { file: this.file, line: this.overflowLine },
          'OSQUERY_UNKNOWN_TABLE',
          `${this.overflowRows} more rows from further unknown queries (over ${MAX_UNKNOWN_NAMES} names) skipped`,
          'normalising',
        ),
      );
  }
}

function looksLikeResults(o: unknown): boolean {
  return (
    isObject(o) &&
    o.hostIdentifier !== undefined &&
    (o.columns !== undefined || o.snapshot !== undefined || o.diffResults !== undefined)
  );
}

export const osquery: SourceDescriptor = {
  name: 'osquery',
  summary: 'osqueryd results log (differential, snapshot and batch): processes, open sockets, listening ports, crontab',
  platform: 'linux',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) => (looksLikeResults(o) ? 90 : 0),
      // a snapshot line is often longer than the head: judge the cut line by its keys
      (first) =>
        first.includes('"hostIdentifier"') &&
        (first.includes('"columns"') || first.includes('"snapshot"') || first.includes('"diffResults"'))
          ? 60
          : 0,
    );
  },
  read(input, context) {
    return timeOrdered(readInFileOrder(input, context), input.name, CODE, BATCH_EVENTS);
  },
};

/** The file's rows as read, one batch per batch of lines (or of a long snapshot line's rows). */
async function* readInFileOrder(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  const file = input.name;
  let issues: Issue[] = [];
  const unknown = new UnknownQueries(file);
  const lines = sourceLines(input, context, (i) => issues.push(i));
  for await (const batch of lines) {
    let events: CoalEvent[] = [];
    for (let i = 0; i < batch.lines.length; i++) {
      const line = batch.lineNos[i];
      const textLine = batch.lines[i];
      if (textLine.trim() === '') continue;
      let o: unknown;
      try {
        o = JSON.parse(textLine);
      } catch (err) {
        issues.push(issue({ file, line }, 'OSQUERY_BAD_JSON', clip((err as Error).message, 200)));
        continue;
      }
      if (!isObject(o)) {
        issues.push(issue({ file, line }, 'OSQUERY_BAD_ENVELOPE', 'line is JSON but not an object'));
        continue;
      }
      const rows = rowsOf(o);
      if ('problem' in rows) {
        issues.push(issue({ file, line }, 'OSQUERY_BAD_ENVELOPE', rows.problem));
        continue;
      }
      const env = envelopeOf(o, input, line);
      if (typeof env === 'string') {
        issues.push(issue({ file, line }, 'OSQUERY_BAD_ENVELOPE', env));
        continue;
      }
      for (let r = 0; r < rows.rows.length; r++) {
        const [row, action] = rows.rows[r];
        const where = rows.rows.length > 1 ? ` (row ${r + 1} of ${rows.rows.length})` : '';
        if (!isObject(row)) {
          issues.push(issue({ file, line }, 'OSQUERY_BAD_ROW', `row is not an object${where}`, 'normalising'));
          continue;
        }
        const table = tableOf(row);
        if (table === undefined) {
          unknown.note(env, row, issues);
          continue;
        }
        const result = BUILDERS[table](env, row, action);
        if (result === undefined) continue;
        if ('problem' in result) {
          issues.push(issue({ file, line }, 'OSQUERY_BAD_ROW', `${table}: ${result.problem}${where}`, 'normalising'));
          continue;
        }
        events.push(result);
        // one snapshot line can hold thousands of rows
        if (events.length >= context.maxPendingRecords) {
          yield { events, issues };
          events = [];
          issues = [];
        }
      }
    }
    yield { events, issues };
    issues = [];
  }
  unknown.finish(issues);
  if (issues.length > 0) yield { events: [], issues };
}
