/**
 * Microsoft Defender for Endpoint / Defender XDR advanced hunting rows, as they leave Defender: the
 * portal's CSV export of a query (a header row of column names), the API's JSON (`{"Schema": […],
 * "Results": […]}`, Graph's lower-case `schema`/`results`, or a plain array of rows), and the streaming
 * API's Event Hub / storage records (`{"time", "category": "AdvancedHunting-<Table>", "properties": {row}}`,
 * one per line or in `{"records": […]}` batches). The row's table is named by a `$table`/`Table`/
 * `TableName`/`SourceTable`/`Type` column (`search` and `union withsource=` write one), the record's
 * category, or the file name (`DeviceProcessEvents.csv`); else its ActionType says it. Microsoft Sentinel
 * (Log Analytics) exports the same tables as CSV with `Timestamp [UTC]`-style time columns in en-US form
 * (`12/2/2026, 8:00:05.123 AM`): read as UTC; a time in another locale's form is reported, never guessed.
 *
 * The mapping is Sysmon's (win-event.ts) in Defender's names: DeviceProcessEvents ProcessCreated is an
 * `exec` of FileName/FolderPath with its parent the InitiatingProcess*; every other table's actor is the
 * InitiatingProcess*, its parent InitiatingProcessParentId/FileName. ProcessUniqueId and
 * InitiatingProcessUniqueId (the Windows process start key) are the entity ids, as Sysmon's ProcessGuid
 * is; without them the pid joins as Security 4688 does. DeviceNetworkEvents connections are `connect`
 * (inbound ones turned as Sysmon 3 turns them), listeners `listen`; DeviceEvents DnsQueryResponse and
 * DeviceNetworkEvents DnsConnectionInspected are `dns-query`, DriverLoad `driver-load`,
 * ScheduledTaskCreated/Updated a scheduled-task `persistence-entry` (as Security 4698/4702), ServiceInstalled a
 * service one (as System 7045 / Security 4697: AdditionalFields' ServiceName and ServiceAccount, and the
 * ImagePath Defender splits into FolderPath and FileName);
 * DeviceRegistryEvents value sets and key creations `registry-set` (hive names as Sysmon writes them);
 * DeviceFileEvents creations, changes and renames `file-write`. DeviceInfo rows say a device's platform;
 * every other row is counted unused. Defender records no CPU: that is the analytics' named gap.
 */
import type { CoalEvent, ProcessFields, ProcessParent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp, parseUsDateTimeUtc } from '../util/time.js';
import { azureRecords } from './azure-fields.js';
import { type EventHead, headOf, type OriginalBounds, originalOf, parentOf } from './edr-fields.js';
import { DOCUMENT_BOUNDS, isJsonDocument, jsonDocumentRecords } from './json-document.js';
import { sourceLines } from './lines.js';
import { domainOf, endpointOf, ipOf, isObject, numberOf, portOf, textOf } from './net-fields.js';
import { timeOrdered } from './time-order.js';
import { splitCsv } from './typeperf.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';
import { type EntryRun, persistenceEntry, serviceRun, taskExecActions, winBasename } from './win-event.js';

type Row = Record<string, unknown>;
const NAME = 'defender';
const CODE = 'DEFENDER';
const MAX_COMMAND_CHARS = 8192;
const MAX_PATH_CHARS = 4096;
const MAX_NAME_CHARS = 256;
const MAX_HOST_CHARS = 253;
/** AdditionalFields and TaskContent are parsed up to this size; Defender's are a few KiB. */
const MAX_NESTED_JSON_CHARS = 64 * 1024;
const MAX_DNS_ANSWERS = 64;
/** Columns kept in `original`, and the header width read. */
const MAX_COLUMNS = 256;
/** A CSV record whose quoted field spans lines (a command line with newlines) is joined up to this. */
const MAX_RECORD_LINES = 64;
const MAX_RECORD_CHARS = 1024 * 1024;
/** Rows of one `Results`/`records` array held by a single line. */
const MAX_LINE_ROWS = 100_000;
/** Devices whose DeviceInfo platform is remembered. */
const MAX_DEVICES = 4096;
const BATCH = 512;
const DOCUMENT_LIMITS = { ...DOCUMENT_BOUNDS, code: CODE, recordKeys: ['Results', 'results', 'records'] };
/** An API answer or Event Hub batch on one line: its first key leads to the rows (Stats and Schema come before Results). */
const API_ANSWER = /^\{\s*"(?:records|Results|results|Schema|schema|Stats|@odata\.context)"\s*:/;

const TABLES = new Set([
  'DeviceProcessEvents',
  'DeviceNetworkEvents',
  'DeviceEvents',
  'DeviceRegistryEvents',
  'DeviceFileEvents',
  'DeviceImageLoadEvents',
  'DeviceLogonEvents',
  'DeviceInfo',
  'DeviceNetworkInfo',
  'DeviceFileCertificateInfo',
]);
/** Columns a query names the row's table in (`search` writes `$table`, `union withsource=T` its own). */
const TABLE_COLUMNS = ['$table', 'Table', 'TableName', 'SourceTable', 'Type'];
const TABLE_IN_FILE_NAME =
  /(DeviceProcessEvents|DeviceNetworkEvents|DeviceRegistryEvents|DeviceFileEvents|DeviceImageLoadEvents|DeviceLogonEvents|DeviceNetworkInfo|DeviceFileCertificateInfo|DeviceInfo|DeviceEvents)[^/\\]*$/;
const CATEGORY_PREFIX = 'AdvancedHunting-';
/** Columns kept whole in `original` up to MAX_COMMAND_CHARS (Sigma rules search them); others to 2 KiB. */
const LONG_COLUMNS = new Set([
  'ProcessCommandLine',
  'InitiatingProcessCommandLine',
  'AdditionalFields',
  'RegistryValueData',
]);
/** The row as read, bounded: its scalar columns (long ones clipped), nested values as clipped JSON. */
const ORIGINAL: OriginalBounds = {
  maxKeys: MAX_COLUMNS,
  maxKeyChars: 128,
  maxChars: 2048,
  maxLongChars: MAX_COMMAND_CHARS,
  isLong: (column) => LONG_COLUMNS.has(column),
  nestedAsJson: true,
};
const OUTBOUND = new Set(['ConnectionSuccess', 'ConnectionAttempt', 'ConnectionRequest', 'ConnectionFound']);
const FILE_WRITES: Record<string, string> = {
  FileCreated: 'creation',
  FileModified: 'change',
  FileRenamed: 'change',
};
const UNIQUE_ID = /^\{?([0-9A-Za-z-]{1,64})\}?$/;
const HASH = { sha256: /^[0-9a-f]{64}$/, sha1: /^[0-9a-f]{40}$/, md5: /^[0-9a-f]{32}$/ };
/** `HKEY_LOCAL_MACHINE\…` as Sysmon writes it (`HKLM\…`), so rules and signals read one spelling. */
const HIVES: Array<[RegExp, string]> = [
  [/^HKEY_LOCAL_MACHINE(?=\\|$)/i, 'HKLM'],
  [/^HKEY_USERS(?=\\|$)/i, 'HKU'],
  [/^HKEY_CURRENT_USER(?=\\|$)/i, 'HKCU'],
  [/^HKEY_CLASSES_ROOT(?=\\|$)/i, 'HKCR'],
];
const DRIVE_PATH = /^(?:[A-Za-z]:[\\/]|\\\\|\\Device\\)/;

/** Where a row was read, and what the input says around it. */
interface Where {
  file: string;
  line: number;
  hostHint?: string;
  /** The table the file's name says, if any. */
  fileTable?: string;
  /** DeviceInfo platforms seen so far in this input, by DeviceId and DeviceName. */
  platforms: Map<string, string>;
}

/** A column as bounded text; empty and null are absent, numbers are their decimal text. */
function text(row: Row, key: string, max = MAX_PATH_CHARS): string | undefined {
  return textOf(row[key], max);
}

/** A process id; Defender writes 0 where it has none. */
function pidOf(row: Row, key: string): number | undefined {
  const n = numberOf(row[key]);
  return n !== undefined && Number.isInteger(n) && n > 0 && n <= 0xffffffff ? n : undefined;
}

function uniqueIdOf(row: Row, key: string): string | undefined {
  const m = UNIQUE_ID.exec(text(row, key, 80) ?? '');
  return m && m[1] !== '0' ? m[1].toLowerCase() : undefined;
}

function timeText(row: Row, key: string): string | undefined {
  const ms = parseTimestamp(text(row, key, 64));
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/**
 * The file a process runs: DeviceProcessEvents' FolderPath holds the whole path, DeviceEvents' and
 * some initiating ones only the folder, so the name is joined on when the path does not end in it.
 */
function pathOf(folder: string | undefined, name: string | undefined): string | undefined {
  if (folder === undefined) return undefined;
  if (name === undefined) return folder;
  const f = folder.replace(/[\\/]+$/, '');
  if (f.length >= name.length && f.slice(-name.length).toLowerCase() === name.toLowerCase()) {
    const before = f.charAt(f.length - name.length - 1);
    if (f.length === name.length || before === '\\' || before === '/') return f;
  }
  const sep = f.includes('\\') || DRIVE_PATH.test(f) ? '\\' : '/';
  return clip(`${f}${sep}${name}`, MAX_PATH_CHARS);
}

function hashesOf(row: Row, prefix: string): ProcessFields['hash'] {
  const out: NonNullable<ProcessFields['hash']> = {};
  for (const [key, column] of [
    ['sha256', 'SHA256'],
    ['sha1', 'SHA1'],
    ['md5', 'MD5'],
  ] as const) {
    const v = text(row, `${prefix}${column}`, 80)?.toLowerCase();
    if (v !== undefined && HASH[key].test(v)) out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `DOMAIN\user` as Sysmon's User writes it on Windows; the bare name elsewhere. */
function userOf(row: Row, nameKey: string, domainKey: string, windows: boolean): { name: string } | undefined {
  const name = text(row, nameKey, MAX_NAME_CHARS);
  if (name === undefined) return undefined;
  const domain = windows ? text(row, domainKey, MAX_NAME_CHARS) : undefined;
  return { name: domain !== undefined ? `${domain}\\${name}` : name };
}

/** The columns of one process: the row's own (`''`) or its initiating process (`InitiatingProcess`). */
function processOf(row: Row, prefix: '' | 'InitiatingProcess', windows: boolean): ProcessFields {
  const p: ProcessFields = {};
  const own = prefix === '';
  const id = uniqueIdOf(row, own ? 'ProcessUniqueId' : 'InitiatingProcessUniqueId');
  if (id !== undefined) p.entity_id = id;
  const pid = pidOf(row, own ? 'ProcessId' : 'InitiatingProcessId');
  if (pid !== undefined) p.pid = pid;
  const name = text(row, `${prefix}FileName`, MAX_NAME_CHARS);
  const executable = pathOf(text(row, `${prefix}FolderPath`), name);
  if (executable !== undefined) p.executable = executable;
  const shown = name ?? (executable !== undefined ? winBasename(executable) : undefined);
  if (shown !== undefined) p.name = clip(shown, MAX_NAME_CHARS);
  const cmd = text(row, own ? 'ProcessCommandLine' : 'InitiatingProcessCommandLine', MAX_COMMAND_CHARS);
  if (cmd !== undefined) p.command_line = cmd;
  const start = timeText(row, `${prefix || 'Process'}CreationTime`);
  if (start !== undefined) p.start = start;
  const hash = hashesOf(row, prefix);
  if (hash !== undefined) p.hash = hash;
  const original = text(row, `${prefix || 'Process'}VersionInfoOriginalFileName`, MAX_NAME_CHARS);
  if (original !== undefined) p.pe = { original_file_name: original };
  const user = userOf(row, `${prefix}AccountName`, `${prefix}AccountDomain`, windows);
  if (user !== undefined) p.user = user;
  return p;
}

/** The initiating process's parent: only its pid and file name are exported. */
function initiatingParentOf(row: Row): ProcessParent | undefined {
  const parent: ProcessParent = {};
  const pid = pidOf(row, 'InitiatingProcessParentId');
  if (pid !== undefined) parent.pid = pid;
  const name = text(row, 'InitiatingProcessParentFileName', MAX_PATH_CHARS);
  if (name !== undefined) {
    // Defender writes a parent it saw only as a kernel path (`\Device\HarddiskVolume3\…\x.exe`) whole
    if (/[\\/]/.test(name)) parent.executable = name;
    parent.name = clip(winBasename(name), MAX_NAME_CHARS);
  }
  return Object.keys(parent).length > 0 ? parent : undefined;
}

function actorOf(row: Row, windows: boolean): ProcessFields | undefined {
  const p = processOf(row, 'InitiatingProcess', windows);
  const parent = initiatingParentOf(row);
  if (parent !== undefined) p.parent = parent;
  return Object.keys(p).length > 0 ? p : undefined;
}

function createdProcessOf(row: Row, windows: boolean): ProcessFields {
  const p = processOf(row, '', windows);
  const parent = parentOf(processOf(row, 'InitiatingProcess', windows));
  if (parent !== undefined) p.parent = parent;
  return p;
}

/** AdditionalFields (and TaskContent inside it): an object, or JSON text of one, bounded. */
function nestedObject(v: unknown): Row | undefined {
  if (isObject(v)) return v;
  if (typeof v !== 'string' || v.length > MAX_NESTED_JSON_CHARS) return undefined;
  const t = v.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const o: unknown = JSON.parse(t);
    return isObject(o) ? o : undefined;
  } catch {
    return undefined;
  }
}

/** A JSON array, or JSON text of one (`"answers": "[\"1.2.3.4\"]"`), bounded. */
function nestedArray(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (typeof v !== 'string' || v.length > MAX_NESTED_JSON_CHARS || !v.trim().startsWith('[')) return undefined;
  try {
    const a: unknown = JSON.parse(v);
    return Array.isArray(a) ? a : undefined;
  } catch {
    return undefined;
  }
}

/** Addresses of a DNS answer list: strings, or `{DnsQueryResult: "1.2.3.4", DnsQueryType: 1}` objects. */
function answersOf(v: unknown): string[] | undefined {
  const list = nestedArray(v);
  if (list === undefined) return undefined;
  const ips: string[] = [];
  for (const item of list.slice(0, MAX_DNS_ANSWERS * 4)) {
    const ip = ipOf(isObject(item) ? (item.DnsQueryResult ?? item.Address ?? item.IPAddress) : item);
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
    if (ips.length >= MAX_DNS_ANSWERS) break;
  }
  return ips.length > 0 ? ips : undefined;
}

/** RemoteUrl: a host name, or a URL whose host is taken; undefined for an address. */
function remoteDomainOf(v: unknown): string | undefined {
  const s = textOf(v, MAX_PATH_CHARS);
  if (s === undefined) return undefined;
  const scheme = s.indexOf('://');
  const authority = scheme >= 0 ? s.slice(scheme + 3).split(/[/?#]/, 1)[0] : s;
  return domainOf(authority.slice(authority.lastIndexOf('@') + 1));
}

/** Exec actions of TaskContent: Defender's JSON rendering (`Actions.Exec`, one or a list), else the task XML. */
function taskActionsOf(content: unknown): Array<{ command: string; arguments?: string }> {
  if (typeof content === 'string' && content.trimStart().startsWith('<')) return taskExecActions(content);
  const task = nestedObject(content);
  const actions = task !== undefined ? nestedObject(task.Actions) : undefined;
  const exec = actions?.Exec;
  const list = Array.isArray(exec) ? exec.slice(0, 32) : exec !== undefined ? [exec] : [];
  const out: Array<{ command: string; arguments?: string }> = [];
  for (const e of list) {
    if (!isObject(e)) continue;
    const command = textOf(e.Command, MAX_COMMAND_CHARS);
    if (command === undefined) continue;
    const args = textOf(e.Arguments, MAX_COMMAND_CHARS);
    out.push(args !== undefined ? { command, arguments: args } : { command });
  }
  return out;
}

/**
 * What a ServiceInstalled row's service runs: its ImagePath when AdditionalFields names it as the Windows
 * events do (7045's ImagePath, 4697's ServiceFileName), else FolderPath and FileName joined back: Defender
 * splits the ImagePath there, its arguments left in FileName (`svchost.exe -k netsvcs`).
 */
function serviceRunOf(row: Row, fields: Row): EntryRun | undefined {
  const name = text(row, 'FileName', MAX_COMMAND_CHARS);
  return (
    serviceRun(textOf(fields.ImagePath, MAX_COMMAND_CHARS)) ??
    serviceRun(textOf(fields.ServiceFileName, MAX_COMMAND_CHARS)) ??
    serviceRun(pathOf(text(row, 'FolderPath'), name) ?? name)
  );
}

function registryPathOf(key: string): string {
  for (const [long, short] of HIVES) if (long.test(key)) return key.replace(long, short);
  return key;
}

/** `Tcp`, `TcpV4`, `Udp`, `Icmp` → `tcp`, `udp`, `icmp`. */
function transportOf(row: Row): string | undefined {
  const p = text(row, 'Protocol', 16)
    ?.toLowerCase()
    .replace(/v[46]$/, '');
  return p === undefined || p === 'unknown' ? undefined : p;
}

/** Which table a row is from: its own column, then the record's category, then the file name. */
function tableOf(row: Row, category: string | undefined, where: Where): string | undefined {
  for (const column of TABLE_COLUMNS) {
    const v = text(row, column, 64);
    if (v !== undefined && TABLES.has(v)) return v;
  }
  if (category?.startsWith(CATEGORY_PREFIX)) {
    const t = category.slice(CATEGORY_PREFIX.length);
    if (TABLES.has(t)) return t;
  }
  if (where.fileTable !== undefined) return where.fileTable;
  // a DeviceInfo row has no ActionType; its OSPlatform says what it is
  return row.ActionType === undefined && row.OSPlatform !== undefined ? 'DeviceInfo' : undefined;
}

/** What a row without an ActionType column means in its table (a projected query may leave it out). */
function defaultActionOf(table: string | undefined, row: Row): string | undefined {
  switch (table) {
    case 'DeviceProcessEvents':
      return 'ProcessCreated';
    case 'DeviceNetworkEvents':
      return row.RemoteIP !== undefined ? 'ConnectionSuccess' : undefined;
    case 'DeviceRegistryEvents':
      return row.RegistryValueName !== undefined ? 'RegistryValueSet' : 'RegistryKeyCreated';
    case 'DeviceFileEvents':
      return 'FileCreated';
    default:
      return undefined;
  }
}

/** The platform of the row's device: DeviceInfo's OSPlatform when seen, else what its paths look like. */
function platformOf(row: Row, where: Where): string | undefined {
  for (const key of ['DeviceId', 'DeviceName']) {
    const v = text(row, key, MAX_HOST_CHARS);
    const known = v !== undefined ? where.platforms.get(`${key}:${v}`) : undefined;
    if (known !== undefined) return known;
  }
  for (const key of ['FolderPath', 'InitiatingProcessFolderPath']) {
    const v = text(row, key, 16);
    if (v === undefined) continue;
    if (DRIVE_PATH.test(v)) return 'windows';
    if (v.startsWith('/')) return 'linux';
  }
  return undefined;
}

/** DeviceInfo OSPlatform (`Windows11`, `WindowsServer2022`, `Linux`, `macOS`) as the model's platform. */
function learnPlatform(row: Row, where: Where): void {
  const os = text(row, 'OSPlatform', 64)?.toLowerCase();
  if (os === undefined) return;
  const platform = os.startsWith('windows')
    ? 'windows'
    : os.startsWith('mac')
      ? 'macos'
      : os === 'linux' || os.includes('linux')
        ? 'linux'
        : undefined;
  if (platform === undefined) return;
  for (const key of ['DeviceId', 'DeviceName']) {
    const v = text(row, key, MAX_HOST_CHARS);
    if (v === undefined) continue;
    if (where.platforms.size >= MAX_DEVICES && !where.platforms.has(`${key}:${v}`)) return;
    where.platforms.set(`${key}:${v}`, platform);
  }
}

type Mapped = CoalEvent | 'unused' | string;

/** One advanced hunting row as an event, `'unused'` for a row no analytic reads, or why it is bad. */
function defenderEvent(row: Row, where: Where, category?: string): Mapped {
  const table = tableOf(row, category, where);
  if (table === 'DeviceInfo') {
    learnPlatform(row, where);
    return 'unused';
  }
  const actionType = text(row, 'ActionType', 128) ?? defaultActionOf(table, row);
  if (actionType === undefined)
    return table === undefined
      ? 'row has no ActionType and names no table (a $table or Table column, the record category or the file name)'
      : 'unused';
  const timeValue = row.Timestamp ?? row.TimeGenerated;
  const ts = parseTimestamp(timeValue);
  if (ts === undefined) return `Timestamp ${clip(JSON.stringify(timeValue) ?? 'is missing', 60)} is not a time`;
  const platform = platformOf(row, where);
  const windows = platform === 'windows';
  const body: Partial<CoalEvent> = {};
  let head: EventHead | undefined;
  let persistence: CoalEvent['coalmine']['persistence'];
  let outcome: CoalEvent['event']['outcome'];
  const additional = (): Row => nestedObject(row.AdditionalFields) ?? {};

  if (actionType === 'ProcessCreated') {
    head = headOf('exec');
    const p = createdProcessOf(row, windows);
    if (p.pid === undefined && p.entity_id === undefined && p.executable === undefined && p.name === undefined)
      return 'ProcessCreated row names no process (ProcessId, ProcessUniqueId, FileName or FolderPath)';
    body.process = p;
  } else if (
    OUTBOUND.has(actionType) ||
    actionType === 'ConnectionFailed' ||
    actionType === 'InboundConnectionAccepted'
  ) {
    const remote = endpointOf(row.RemoteIP, row.RemotePort);
    if (remote?.ip === undefined) return `${actionType} row has no RemoteIP address`;
    const local = endpointOf(row.LocalIP, row.LocalPort);
    const domain = remoteDomainOf(row.RemoteUrl);
    head = headOf('connect');
    const inbound = actionType === 'InboundConnectionAccepted';
    // as Sysmon 3 has it: the source is whoever opened the connection
    const remoteEnd = domain !== undefined ? { ...remote, domain } : remote;
    if (inbound) {
      body.source = remoteEnd;
      if (local) body.destination = local;
    } else {
      if (local) body.source = local;
      body.destination = remoteEnd;
    }
    const transport = transportOf(row);
    body.network = { direction: inbound ? 'inbound' : 'outbound', ...(transport !== undefined && { transport }) };
    if (actionType === 'ConnectionFailed') outcome = 'failure';
    const p = actorOf(row, windows);
    if (p) body.process = p;
  } else if (actionType === 'ListeningConnectionCreated') {
    const port = portOf(row.LocalPort);
    if (port === undefined || port === 0) return 'ListeningConnectionCreated row has no LocalPort';
    head = headOf('listen');
    const ip = ipOf(row.LocalIP);
    body.source = ip !== undefined ? { ip, port } : { port };
    const transport = transportOf(row);
    if (transport !== undefined) body.network = { transport };
    const p = actorOf(row, windows);
    if (p) body.process = p;
  } else if (actionType === 'DnsQueryResponse' || actionType === 'DnsConnectionInspected') {
    const fields = additional();
    const inspected = actionType === 'DnsConnectionInspected';
    const name = textOf(inspected ? fields.query : (fields.DnsQueryString ?? fields.QueryName), MAX_NAME_CHARS);
    if (name === undefined) return `${actionType} row has no query name in AdditionalFields`;
    head = headOf('dns-query');
    const dns: NonNullable<CoalEvent['dns']> = { question: { name } };
    const ips = answersOf(inspected ? fields.answers : (fields.DnsQueryResult ?? fields.DnsQueryResults));
    if (ips) dns.resolved_ip = ips;
    body.dns = dns;
    // the inspected packet belongs to no process (Defender writes pid 0): only the query's own ends
    if (inspected) {
      const local = endpointOf(row.LocalIP, row.LocalPort);
      const server = endpointOf(row.RemoteIP, row.RemotePort);
      if (local) body.source = local;
      if (server) body.destination = server;
    } else {
      const p = actorOf(row, windows);
      if (p) body.process = p;
    }
  } else if (actionType === 'DriverLoad') {
    const name = text(row, 'FileName', MAX_NAME_CHARS);
    const path = pathOf(text(row, 'FolderPath'), name);
    if (path === undefined && name === undefined) return 'DriverLoad row names no driver (FileName or FolderPath)';
    head = headOf('driver-load');
    const file: NonNullable<CoalEvent['file']> = {};
    if (path !== undefined) file.path = path;
    file.name = clip(name ?? winBasename(path ?? ''), MAX_NAME_CHARS);
    const hash = hashesOf(row, '');
    if (hash !== undefined) file.hash = hash;
    body.file = file;
    // the loader Defender names is the kernel (ntoskrnl.exe, pid 4): as Sysmon 6, the load is the driver's alone
  } else if (actionType === 'ScheduledTaskCreated' || actionType === 'ScheduledTaskUpdated') {
    const fields = additional();
    const taskName = textOf(fields.TaskName, MAX_NAME_CHARS);
    if (taskName === undefined && fields.TaskContent === undefined)
      return `${actionType} row has no TaskName or TaskContent in AdditionalFields`;
    head = headOf('persistence-entry', actionType === 'ScheduledTaskCreated' ? 'creation' : 'change');
    // as Security 4698: the task's action stands as the command
    const task = persistenceEntry(
      'scheduled-task',
      taskName,
      taskActionsOf(fields.TaskContent ?? fields.TaskContentNew)[0],
      textOf(fields.SubjectUserName, MAX_NAME_CHARS),
    );
    body.file = task.file;
    if (task.process) body.process = task.process;
    persistence = task.persistence;
  } else if (actionType === 'ServiceInstalled') {
    const fields = additional();
    const serviceName = textOf(fields.ServiceName, MAX_NAME_CHARS);
    const run = serviceRunOf(row, fields);
    if (serviceName === undefined && run === undefined)
      return 'ServiceInstalled row names no service (ServiceName in AdditionalFields, FileName or FolderPath)';
    head = headOf('persistence-entry', 'creation');
    // as System 7045 / Security 4697: what the service runs stands as the command, its account as the user
    const service = persistenceEntry('service', serviceName, run, textOf(fields.ServiceAccount, MAX_NAME_CHARS));
    body.file = service.file;
    if (service.process) body.process = service.process;
    persistence = service.persistence;
  } else if (actionType === 'RegistryValueSet' || actionType === 'RegistryKeyCreated') {
    const key = text(row, 'RegistryKey');
    if (key === undefined) return `${actionType} row has no RegistryKey`;
    head = headOf('registry-set');
    const registry: NonNullable<CoalEvent['registry']> = {};
    const valueName = actionType === 'RegistryValueSet' ? text(row, 'RegistryValueName', MAX_PATH_CHARS) : undefined;
    const keyPath = registryPathOf(key);
    registry.path = valueName !== undefined ? clip(`${keyPath}\\${valueName}`, MAX_PATH_CHARS) : keyPath;
    if (valueName !== undefined) registry.value = valueName;
    const data = text(row, 'RegistryValueData', MAX_COMMAND_CHARS);
    if (data !== undefined) registry.data = data;
    body.registry = registry;
    const p = actorOf(row, windows);
    if (p) body.process = p;
  } else if (Object.hasOwn(FILE_WRITES, actionType) && table !== 'DeviceEvents') {
    const name = text(row, 'FileName', MAX_NAME_CHARS);
    const path = pathOf(text(row, 'FolderPath'), name);
    if (path === undefined) return `${actionType} row has no FolderPath`;
    head = headOf('file-write', FILE_WRITES[actionType]);
    const file: NonNullable<CoalEvent['file']> = { path, name: clip(name ?? winBasename(path), MAX_NAME_CHARS) };
    const hash = hashesOf(row, '');
    if (hash !== undefined) file.hash = hash;
    body.file = file;
    const url = text(row, 'FileOriginUrl', MAX_PATH_CHARS);
    if (url !== undefined) body.url = { full: url };
    const p = actorOf(row, windows);
    if (p) body.process = p;
  }
  if (head === undefined) return 'unused';

  const host = text(row, 'DeviceName', MAX_HOST_CHARS) ?? (where.hostHint && clip(where.hostHint, MAX_HOST_CHARS));
  const hostFields: NonNullable<CoalEvent['host']> = {};
  if (host) hostFields.name = host;
  const deviceId = text(row, 'DeviceId', 128);
  if (deviceId !== undefined) hostFields.id = deviceId;
  if (platform !== undefined) hostFields.os = { platform };
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      ...head,
      dataset: `${NAME}.${table ?? 'unknown'}`,
      ...(outcome !== undefined && { outcome }),
    },
    ...(Object.keys(hostFields).length > 0 && { host: hostFields }),
    ...body,
    original: originalOf(row, ORIGINAL, table !== undefined ? { Table: table } : {}),
    coalmine: { ts, format: NAME, ref: { file: where.file, line: where.line } },
  };
  const reportId = text(row, 'ReportId', 64);
  if (reportId !== undefined) event.event.id = reportId;
  if (persistence) event.coalmine.persistence = persistence;
  return event;
}

/** A streaming API record (`{category, properties}`) unwrapped to its row, or the row itself. */
function mapRecord(value: unknown, where: Where): Mapped {
  if (!isObject(value)) return 'record is not a JSON object';
  if (isObject(value.properties) && typeof value.category === 'string') {
    if (!value.category.startsWith(CATEGORY_PREFIX)) return 'unused';
    return defenderEvent(value.properties, where, value.category);
  }
  return defenderEvent(value, where);
}

/** ` [UTC]` after a column name: Log Analytics' (Microsoft Sentinel's) CSV export, its times in en-US form. */
const UTC_SUFFIX = / \[UTC\]$/;

interface CsvHeader {
  names: string[];
  /** Columns whose header said `[UTC]`: their US-form times are read as UTC. */
  utc: Set<number>;
}

/** The column names of a header line when it is an advanced hunting export's (portal or Sentinel), else why not. */
function headerOf(line: string): CsvHeader | string {
  const { fields, overflow, unclosed } = splitCsv(line.replace(/^\uFEFF/, ''));
  if (unclosed || overflow || fields.length > 4 * MAX_COLUMNS) return 'the header line is not a CSV header';
  const utc = new Set<number>();
  const names = fields.map((f, i) => {
    const name = f.trim();
    if (!UTC_SUFFIX.test(name)) return name;
    utc.add(i);
    return name.replace(UTC_SUFFIX, '');
  });
  const has = (n: string) => names.includes(n);
  if (!(has('Timestamp') || has('TimeGenerated')) || !(has('DeviceName') || has('DeviceId')))
    return 'the header names no Timestamp and DeviceName columns: not an advanced hunting export';
  return { names, utc };
}

/** A `[UTC]` column's value as ISO time when it is in the export's US form; else as written (judged later). */
function utcValue(value: string): string {
  const ms = parseUsDateTimeUtc(value);
  return ms === undefined ? value : new Date(ms).toISOString();
}

function isJsonHead(head: string): boolean {
  const first = head.replace(/^\uFEFF/, '').trimStart();
  return first.startsWith('{') || first.startsWith('[');
}

class Batcher {
  batch: SourceBatch = { events: [], issues: [], unused: 0 };
  constructor(private readonly file: string) {}

  add(mapped: Mapped, line: number): void {
    if (mapped === 'unused') this.batch.unused = (this.batch.unused ?? 0) + 1;
    else if (typeof mapped === 'string')
      this.batch.issues.push(issue({ file: this.file, line }, `${CODE}_BAD_RECORD`, mapped));
    else this.batch.events.push(mapped);
  }

  /** The batch when it is full (or `all`), leaving a new one. */
  take(all = false): SourceBatch | undefined {
    const b = this.batch;
    const size = b.events.length + b.issues.length + (b.unused ?? 0);
    if (size === 0 || (!all && size < BATCH)) return undefined;
    this.batch = { events: [], issues: [], unused: 0 };
    return b;
  }
}

/** A line or document value holding an API answer's rows (`Results`/`results`) gives each of them. */
function rowsOf(value: unknown): unknown[] | undefined {
  if (!isObject(value)) return undefined;
  const rows = value.Results ?? value.results ?? value.records;
  return Array.isArray(rows) ? rows : undefined;
}

async function* readJson(input: SourceInput, context: SourceContext, where: Where): AsyncGenerator<SourceBatch> {
  const out = new Batcher(input.name);
  const items = isJsonDocument(input.head.toString('utf8'), API_ANSWER)
    ? jsonDocumentRecords(input, DOCUMENT_LIMITS)
    : (async function* () {
        for await (const batch of azureRecords(input, context, CODE)) yield* batch;
      })();
  for await (const item of items) {
    if ('issue' in item) out.batch.issues.push(item.issue);
    else {
      where.line = item.line;
      const rows = rowsOf(item.value);
      if (rows !== undefined) {
        for (let i = 0; i < rows.length && i < MAX_LINE_ROWS; i++) out.add(mapRecord(rows[i], where), item.line);
        if (rows.length > MAX_LINE_ROWS)
          out.batch.issues.push(
            issue(
              { file: input.name, line: item.line },
              `${CODE}_TOO_MANY_RECORDS`,
              `${rows.length - MAX_LINE_ROWS} rows after the first ${MAX_LINE_ROWS} are not read`,
              'reading',
            ),
          );
      } else out.add(mapRecord(item.value, where), item.line);
    }
    const full = out.take();
    if (full) yield full;
  }
  const rest = out.take(true);
  if (rest) yield rest;
}

async function* readCsv(input: SourceInput, context: SourceContext, where: Where): AsyncGenerator<SourceBatch> {
  const file = input.name;
  const out = new Batcher(file);
  const report = (i: Issue) => out.batch.issues.push(i);
  let header: CsvHeader | undefined;
  /** A record whose quoted field goes on past its line: its text so far, first line and line count. */
  let pending: { text: string; line: number; lines: number } | undefined;
  for await (const lines of sourceLines(input, context, report)) {
    for (let k = 0; k < lines.lines.length; k++) {
      const physical = lines.lines[k];
      let text = physical;
      let line = lines.lineNos[k];
      let count = 1;
      if (pending !== undefined) {
        text = `${pending.text}\n${physical}`;
        line = pending.line;
        count = pending.lines + 1;
        pending = undefined;
      } else if (physical.trim() === '') continue;
      if (header === undefined) {
        const h = headerOf(text);
        if (typeof h === 'string') {
          report({ ...issue({ file, line }, `${CODE}_BAD_HEADER`, h, 'reading'), unread: true });
          yield out.take(true) ?? { events: [], issues: [] };
          return;
        }
        header = h;
        continue;
      }
      const split = splitCsv(text);
      if (split.unclosed) {
        if (count >= MAX_RECORD_LINES || text.length >= MAX_RECORD_CHARS)
          report(
            issue(
              { file, line },
              `${CODE}_BAD_RECORD`,
              `a quoted field is not closed within ${count} lines; the record is skipped`,
            ),
          );
        else pending = { text, line, lines: count };
        continue;
      }
      if (split.overflow || split.fields.length !== header.names.length) {
        report(
          issue(
            { file, line },
            `${CODE}_BAD_RECORD`,
            `row has ${split.overflow ? 'too many' : split.fields.length} fields where the header names ${header.names.length}`,
          ),
        );
        continue;
      }
      // no prototype: a header may name any column, `__proto__` and `constructor` included
      const row = Object.create(null) as Row;
      const { names, utc } = header;
      for (let i = 0; i < names.length; i++) {
        const value = split.fields[i];
        if (value !== '') row[names[i]] = utc.size > 0 && utc.has(i) ? utcValue(value) : value;
      }
      where.line = line;
      out.add(defenderEvent(row, where), line);
      const full = out.take();
      if (full) yield full;
    }
  }
  if (pending !== undefined)
    report(
      issue({ file, line: pending.line }, `${CODE}_TRUNCATED`, 'the input ends inside a quoted field of this row'),
    );
  else if (header === undefined) report(issue({ file, line: 1 }, `${CODE}_BAD_HEADER`, 'no header line', 'reading'));
  const rest = out.take(true);
  if (rest) yield rest;
}

/** Sniff score of a JSON head: a streaming record's category, or a row's telling columns. */
function sniffJson(head: string): number {
  if (/"category"\s*:\s*"AdvancedHunting-Device/.test(head)) return 92;
  const has = (key: string) => head.includes(`"${key}"`);
  if (!has('Timestamp') && !has('TimeGenerated')) return 0;
  if (
    has('DeviceName') &&
    has('ActionType') &&
    (has('ReportId') || has('DeviceId') || has('InitiatingProcessFileName'))
  )
    return 88;
  // a projected query (the API documentation's own examples) may keep no more than the initiating process
  return has('InitiatingProcessFileName') || has('InitiatingProcessCommandLine') || has('InitiatingProcessId') ? 84 : 0;
}

function sniffCsv(head: string): number {
  const first = head
    .replace(/^\uFEFF/, '')
    .split('\n', 1)[0]
    .replace(/\r$/, '');
  const header = headerOf(first);
  if (typeof header === 'string') return 0;
  const telling = ['ActionType', 'ReportId', 'InitiatingProcessFileName', 'InitiatingProcessId', 'DeviceId'];
  return telling.some((n) => header.names.includes(n)) ? 86 : 0;
}

export const defender: SourceDescriptor = {
  name: NAME,
  summary:
    'Microsoft Defender for Endpoint advanced hunting exports (portal CSV, Sentinel/Log Analytics CSV, API JSON, streaming API records): process, network, DNS, driver, task, service, registry and file rows',
  platform: 'windows',
  delivers: 'events',
  sniff(head) {
    return isJsonHead(head) ? sniffJson(head) : sniffCsv(head);
  },
  read(input, context) {
    const base = input.name.replace(/\.(?:gz|csv|json|jsonl|ndjson|txt)$/gi, '');
    const where: Where = {
      file: input.name,
      line: 0,
      hostHint: input.hostHint,
      fileTable: TABLE_IN_FILE_NAME.exec(base)?.[1],
      platforms: new Map(),
    };
    const batches = isJsonHead(input.head.toString('utf8'))
      ? readJson(input, context, where)
      : readCsv(input, context, where);
    // advanced hunting answers in the query's order (often `sort by Timestamp desc`) and the portal exports
    // the grid as sorted: in file order the engine would take each older row as a late one
    return timeOrdered(batches, input.name, CODE, BATCH);
  },
};
