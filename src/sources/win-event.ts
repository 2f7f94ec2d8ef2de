/**
 * One Windows event as every Windows format carries it (binary EVTX, XML export, evtx_dump JSON,
 * Winlogbeat), before normalisation, and the one mapping from it to CoalEvents. Each Windows source
 * decodes its own container into WinEvent; everything after that is shared here. Sysmon for Linux writes
 * the same event XML (provider `Linux-Sysmon`), so its events take the same mapping on a `linux` host.
 */
import type { CoalEvent, ProcessFields, ProcessParent, SourceRef } from '../model/event.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';

/** The System block plus EventData/UserData flattened to name → text. */
export interface WinEvent {
  /** System/Provider@Name, e.g. `Microsoft-Windows-Sysmon`, `Microsoft-Windows-Security-Auditing`. */
  provider: string;
  /** System/Channel, e.g. `Microsoft-Windows-Sysmon/Operational`, `Security`. */
  channel: string;
  /** System/EventID (without Qualifiers). */
  eventId: number;
  /** System/EventRecordID when the format has it. */
  recordId?: number;
  /** System/TimeCreated@SystemTime as ISO 8601 UTC with the source's precision (up to 100 ns), ending in `Z`. */
  timeCreated: string;
  /** System/Computer. */
  computer: string;
  /** System/Execution@ProcessID and @ThreadID: the process that logged the event (not its subject). */
  executionPid?: number;
  executionTid?: number;
  /** System/Security@UserID (a SID; Sysmon for Linux's `UserId` is a uid), when present. */
  userSid?: string;
  /**
   * EventData `<Data Name="X">v</Data>` as `X → v`; unnamed `<Data>` elements as `param1`, `param2`, …
   * (Winlogbeat's names); UserData's leaf elements by their tag name; `<Binary>` as `Binary` (hex).
   * Values are text as Windows renders them (integers decimal, HexInt types `0x…`, GUIDs `{…}`,
   * SIDs `S-1-…`, times ISO 8601). Bounded by the reader: no value over 64 KiB.
   */
  data: Record<string, string>;
}

const SYSMON = 'Microsoft-Windows-Sysmon';
/** Sysmon for Linux: Sysmon's event ids and EventData names, Linux paths and user names. */
export const LINUX_SYSMON = 'Linux-Sysmon';
const SECURITY = 'Microsoft-Windows-Security-Auditing';
/** The System log's provider of 7045 (a service was installed). */
const SERVICE_CONTROL_MANAGER = 'service control manager';
const MAX_COMMAND_CHARS = 8192;
const MAX_TEXT_CHARS = 4096;
const MAX_NAME_CHARS = 256;
/** TaskContent is read up to this many characters; a task definition is a few KiB. */
const MAX_TASK_XML_CHARS = 64 * 1024;
/** At most this many Exec actions are looked at in one task. */
const MAX_TASK_ACTIONS = 32;
/** EventData values Sigma rules search whole (command lines, scripts, task XML): kept up to MAX_COMMAND_CHARS. */
const LONG_VALUES = new Set([
  'CommandLine',
  'ImagePath',
  'ServiceFileName',
  'ParentCommandLine',
  'ScriptBlockText',
  'Payload',
  'TaskContent',
  'Details',
]);
const DECIMAL = /^\d{1,10}$/;
const HEX = /^0x[0-9a-fA-F]{1,8}$/;
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-fA-F:]{2,39}(?:%\w{1,16})?$/;
const HASH_KEYS: Record<string, 'sha1' | 'md5' | 'sha256'> = { SHA1: 'sha1', MD5: 'md5', SHA256: 'sha256' };
const HASH_LENGTHS = { sha1: 40, md5: 32, sha256: 64 };
const TRANSPORTS: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp' };

/** A value as bounded text; empty and `-` (Windows' "none") are absent. */
function val(data: Record<string, string>, key: string, max = MAX_TEXT_CHARS): string | undefined {
  const v = data[key];
  if (typeof v !== 'string' || v.length === 0 || v === '-') return undefined;
  return clip(v, max);
}

/** A decimal integer, strictly (no NaN, no `12abc`). */
export function parseDecimal(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  return DECIMAL.test(s) ? Number(s) : undefined;
}

/** Security-log ids are hex (`0x1a2c`); some renderings give decimal. */
export function parseWinPid(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (HEX.test(s)) return Number.parseInt(s.slice(2), 16);
  return parseDecimal(s);
}

function port(v: string | undefined): number | undefined {
  const n = parseDecimal(v);
  return n !== undefined && n <= 65535 ? n : undefined;
}

/** An IP address as text, IPv4-mapped IPv6 as plain IPv4; anything else is not an address. */
function ipOf(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  const mapped = IPV4_MAPPED.exec(s);
  if (mapped) return mapped[1];
  if (IPV4.test(s) || (s.includes(':') && IPV6.test(s))) return s;
  return undefined;
}

/** `{A1B2-…}` → `a1b2-…`. */
function guid(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().replace(/^\{/, '').replace(/\}$/, '').toLowerCase();
  return /^[0-9a-f-]{1,64}$/.test(s) ? s : undefined;
}

/** The last path component, for `\` and `/` separators. */
export function winBasename(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Sysmon `Hashes`: `SHA1=..,MD5=..,SHA256=..,IMPHASH=..` (any subset), lower-cased, well-formed only. */
export function parseHashes(v: string | undefined): { sha256?: string; md5?: string; sha1?: string } | undefined {
  if (v === undefined) return undefined;
  const out: { sha256?: string; md5?: string; sha1?: string } = {};
  for (const part of v.slice(0, 1024).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const label = part.slice(0, eq).trim().toUpperCase();
    const key = Object.hasOwn(HASH_KEYS, label) ? HASH_KEYS[label] : undefined;
    if (key === undefined) continue;
    const hex = part
      .slice(eq + 1)
      .trim()
      .toLowerCase();
    if (hex.length === HASH_LENGTHS[key] && /^[0-9a-f]+$/.test(hex)) out[key] = hex;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Sysmon 22 `QueryResults`: `type:  5 x.com;::ffff:1.2.3.4;1.2.3.4;` → the IPs only, de-duplicated. */
export function parseQueryResults(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const ips: string[] = [];
  for (const part of v.slice(0, 8192).split(';')) {
    const ip = ipOf(part);
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
    if (ips.length >= 64) break;
  }
  return ips.length > 0 ? ips : undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML entity decoding: the five named entities and numeric references; unknown ones are kept as written. */
export function decodeXmlEntities(text: string): string {
  if (text.indexOf('&') < 0) return text;
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]{2,4});/g, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return Object.hasOwn(ENTITIES, name) ? ENTITIES[name] : whole;
  });
}

/** The text inside the first `<tag>…</tag>` of `xml` (no attributes on the tag needed), decoded. */
function elementText(xml: string, tag: string): string | undefined {
  const open = new RegExp(`<${tag}(?:\\s[^>]{0,256})?>`).exec(xml);
  if (!open) return undefined;
  const start = open.index + open[0].length;
  const end = xml.indexOf(`</${tag}>`, start);
  if (end < 0) return undefined;
  let inner = xml.slice(start, end);
  const cdata = /^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/.exec(inner);
  if (cdata) return cdata[1].trim();
  inner = inner.replace(/<[^>]{0,256}>/g, '');
  return decodeXmlEntities(inner).trim();
}

/** Exec actions of a scheduled task's XML (TaskContent): command and arguments, in order. Bounded. */
export function taskExecActions(taskXml: string): Array<{ command: string; arguments?: string }> {
  const xml = taskXml.length > MAX_TASK_XML_CHARS ? taskXml.slice(0, MAX_TASK_XML_CHARS) : taskXml;
  const out: Array<{ command: string; arguments?: string }> = [];
  let from = 0;
  while (out.length < MAX_TASK_ACTIONS) {
    const open = xml.indexOf('<Exec', from);
    if (open < 0) break;
    const after = xml.charCodeAt(open + 5);
    // `<Exec>` or `<Exec ...>`, not `<ExecutionTimeLimit>`
    if (after !== 62 && after !== 32 && after !== 9 && after !== 10 && after !== 13) {
      from = open + 5;
      continue;
    }
    const close = xml.indexOf('</Exec>', open);
    if (close < 0) break;
    const body = xml.slice(open, close);
    const command = elementText(body, 'Command');
    if (command !== undefined && command !== '') {
      const args = elementText(body, 'Arguments');
      out.push(
        args
          ? { command: clip(command, MAX_COMMAND_CHARS), arguments: clip(args, MAX_COMMAND_CHARS) }
          : { command: clip(command, MAX_COMMAND_CHARS) },
      );
    }
    from = close + 7;
  }
  return out;
}

/**
 * The program a task command starts: the command without surrounding quotes, environment variables kept
 * (`"C:\Program Files\x.exe" /a` → `C:\Program Files\x.exe`). Every reader of scheduled tasks names the
 * persistence target by it, so one task is one target whichever sensor saw it.
 */
export function taskTarget(command: string): string {
  const s = command.trim();
  if (s.startsWith('"')) {
    const end = s.indexOf('"', 1);
    return end > 0 ? s.slice(1, end) : s.slice(1);
  }
  return s;
}

/**
 * The program a service's ImagePath starts: the quoted path, else the text up to `.exe` (an unquoted path
 * may hold spaces), else the first word (a driver's `\SystemRoot\System32\drivers\x.sys`).
 */
export function imageTarget(imagePath: string): string {
  const s = imagePath.trim();
  if (s.startsWith('"')) return taskTarget(s);
  const exe = /^.{0,1024}?\.exe\b/i.exec(s);
  return exe ? exe[0] : s.split(/\s/, 1)[0];
}

/** The persistence a log records being made at a known time, whichever sensor saw it. */
export type EntryMechanism = Extract<
  NonNullable<CoalEvent['coalmine']['persistence']>['mechanism'],
  'scheduled-task' | 'service'
>;

/** What an entry runs: its command and, where the log keeps them apart (a task's Exec action), its arguments. */
export interface EntryRun {
  command: string;
  arguments?: string;
}

/** What a persistence entry made is as an event: its file, process and persistence fields. */
export interface PersistenceEntry {
  file: NonNullable<CoalEvent['file']>;
  process?: ProcessFields;
  persistence: NonNullable<CoalEvent['coalmine']['persistence']>;
}

/**
 * What each mechanism's entries differ in: where one lives by its name (a task's name; a service's registry
 * key, where it lives and what removes it) and the program its command starts (the persistence target).
 */
const ENTRY_KINDS: Record<EntryMechanism, { file(name: string): string; target(command: string): string }> = {
  'scheduled-task': { file: (name) => name, target: taskTarget },
  service: { file: (name) => `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${name}`, target: imageTarget },
};

/**
 * A persistence entry made, as Security 4698 maps a task and System 7045 / Security 4697 a service, whichever
 * sensor recorded it: where the entry lives (by `name`) is the file, what it runs (command and arguments,
 * clipped to `maxChars`) the line and the command line, the account (a task's registrant, a service's
 * account) the user, and the program the command starts the persistence target. No process identity: the
 * Task Scheduler or the Service Control Manager logs it, whoever asked, and not the program it will run.
 */
export function persistenceEntry(
  mechanism: EntryMechanism,
  name: string | undefined,
  run: EntryRun | undefined,
  user: string | undefined,
  maxChars = MAX_COMMAND_CHARS,
): PersistenceEntry {
  const kind = ENTRY_KINDS[mechanism];
  const file: NonNullable<CoalEvent['file']> = {};
  if (name !== undefined) file.path = kind.file(name);
  const p: ProcessFields = {};
  if (run !== undefined) {
    const line = clip(run.arguments ? `${run.command} ${run.arguments}` : run.command, maxChars);
    file.line = line;
    p.command_line = line;
  }
  if (user !== undefined) p.user = { name: user };
  return {
    file,
    ...(Object.keys(p).length > 0 && { process: p }),
    persistence: run !== undefined ? { mechanism, target: kind.target(run.command) } : { mechanism },
  };
}

/** What a service's ImagePath (its arguments in it) runs: the path trimmed, nothing when it is blank. */
export function serviceRun(imagePath: string | undefined): EntryRun | undefined {
  const image = imagePath?.trim();
  return image ? { command: image } : undefined;
}

function isSysmon(provider: string): boolean {
  return provider === SYSMON || provider === LINUX_SYSMON;
}

function timeOf(ev: WinEvent): number | undefined {
  const utc = ev.data.UtcTime;
  if (isSysmon(ev.provider) && typeof utc === 'string') {
    const ms = parseTimestamp(utc.trim());
    if (ms !== undefined) return ms;
  }
  return parseTimestamp(ev.timeCreated);
}

/** The process fields Sysmon puts on most events (ProcessGuid, ProcessId, Image, User). */
function sysmonProcess(d: Record<string, string>): ProcessFields | undefined {
  const p: ProcessFields = {};
  const id = guid(val(d, 'ProcessGuid', 128));
  if (id !== undefined) p.entity_id = id;
  const pid = parseDecimal(val(d, 'ProcessId', 32));
  if (pid !== undefined) p.pid = pid;
  const image = val(d, 'Image');
  if (image !== undefined) {
    p.executable = image;
    p.name = clip(winBasename(image), MAX_NAME_CHARS);
  }
  const user = val(d, 'User', MAX_NAME_CHARS);
  if (user !== undefined) p.user = { name: user };
  return Object.keys(p).length > 0 ? p : undefined;
}

type Head = Pick<CoalEvent['event'], 'kind' | 'category' | 'type' | 'action'> & { dataset: string };

/** The head of a task or service entry's event: a configuration created or changed. */
function entryHead(type: 'creation' | 'change', dataset: string): Head {
  return { kind: 'event', category: ['configuration'], type: [type], action: 'persistence-entry', dataset };
}

/** `sysmon.7`, `security.4624`, `microsoft-windows-powershell.4104`: the dataset of a record read as it is. */
function datasetOf(ev: WinEvent): string {
  // Sysmon for Linux keeps its own name (`linux-sysmon.16`): the same id can mean a Windows-only event
  const provider =
    ev.provider === SYSMON ? 'sysmon' : ev.provider === SECURITY ? 'security' : ev.provider.toLowerCase();
  return `${clip(provider.replace(/[^a-z0-9-]/g, '-'), 64)}.${ev.eventId}`;
}

/**
 * Windows events into CoalEvents: Sysmon 1/3/5/6/11/12-14/22 (on Windows or Linux), Security
 * 4688/4689/4697/4698/4702/5156 and System 7045 as what they mean; every other record (and a Sysmon 12 key delete) as a
 * `log-record` for the Sigma rules when `keepRecord` says a rule could read it. Undefined for the rest and
 * for a record with no readable time.
 */
export function winEventToCoal(
  ev: WinEvent,
  ref: SourceRef,
  format: string,
  keepRecord?: (provider: string, channel: string, eventId: number) => boolean,
): CoalEvent | undefined {
  const d = ev.data;
  let head: Head | undefined;
  const body: Partial<CoalEvent> = {};
  let persistence: CoalEvent['coalmine']['persistence'];
  /** A task or service entry as the event's file, process (its command and user) and persistence claim. */
  const enter = (entry: PersistenceEntry) => {
    body.file = entry.file;
    if (entry.process) body.process = entry.process;
    persistence = entry.persistence;
  };
  if (isSysmon(ev.provider)) {
    const ds = `${format}.sysmon.${ev.eventId}`;
    switch (ev.eventId) {
      case 1: {
        head = { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: ds };
        const p = sysmonProcess(d) ?? {};
        const cmd = val(d, 'CommandLine', MAX_COMMAND_CHARS);
        if (cmd !== undefined) p.command_line = cmd;
        const cwd = val(d, 'CurrentDirectory');
        if (cwd !== undefined) p.working_directory = cwd;
        const hash = parseHashes(val(d, 'Hashes', 1024));
        if (hash) p.hash = hash;
        const original = val(d, 'OriginalFileName', MAX_NAME_CHARS);
        if (original !== undefined) p.pe = { original_file_name: original };
        const parent: ProcessParent = {};
        const pid = guid(val(d, 'ParentProcessGuid', 128));
        if (pid !== undefined) parent.entity_id = pid;
        const ppid = parseDecimal(val(d, 'ParentProcessId', 32));
        if (ppid !== undefined) parent.pid = ppid;
        const pimage = val(d, 'ParentImage');
        if (pimage !== undefined) {
          parent.executable = pimage;
          parent.name = clip(winBasename(pimage), MAX_NAME_CHARS);
        }
        const pcmd = val(d, 'ParentCommandLine', MAX_COMMAND_CHARS);
        if (pcmd !== undefined) parent.command_line = pcmd;
        if (Object.keys(parent).length > 0) p.parent = parent;
        body.process = p;
        break;
      }
      case 3: {
        const inbound = val(d, 'Initiated', 16)?.trim().toLowerCase() === 'false';
        head = { kind: 'event', category: ['network'], type: ['connection'], action: 'connect', dataset: ds };
        const p = sysmonProcess(d);
        if (p) body.process = p;
        const src = { ip: ipOf(val(d, 'SourceIp', 64)), port: port(val(d, 'SourcePort', 16)) };
        const dst: { ip?: string; port?: number; domain?: string } = {
          ip: ipOf(val(d, 'DestinationIp', 64)),
          port: port(val(d, 'DestinationPort', 16)),
        };
        const domain = val(d, 'DestinationHostname', MAX_NAME_CHARS);
        if (domain !== undefined) dst.domain = domain;
        body.source = compact(src);
        body.destination = compact(dst);
        const network: { transport?: string; direction?: string } = { direction: inbound ? 'inbound' : 'outbound' };
        const proto = val(d, 'Protocol', 16)?.toLowerCase();
        if (proto !== undefined) network.transport = proto;
        body.network = network;
        break;
      }
      case 5: {
        head = { kind: 'event', category: ['process'], type: ['end'], action: 'exit', dataset: ds };
        const p = sysmonProcess(d);
        if (p) body.process = p;
        break;
      }
      case 6: {
        head = { kind: 'event', category: ['driver'], type: ['start'], action: 'driver-load', dataset: ds };
        const file: NonNullable<CoalEvent['file']> = {};
        const path = val(d, 'ImageLoaded');
        if (path !== undefined) {
          file.path = path;
          file.name = clip(winBasename(path), MAX_NAME_CHARS);
        }
        const hash = parseHashes(val(d, 'Hashes', 1024));
        if (hash) file.hash = hash;
        const signed = val(d, 'Signed', 16)?.trim().toLowerCase();
        if (signed === 'true' || signed === 'false') file.signed = signed === 'true';
        const sig = val(d, 'Signature', MAX_NAME_CHARS);
        if (sig !== undefined) file.signature = sig;
        body.file = file;
        break;
      }
      case 11: {
        // FileCreate: a file created or overwritten (TargetFilename) by the process named
        head = { kind: 'event', category: ['file'], type: ['creation'], action: 'file-write', dataset: ds };
        const file: NonNullable<CoalEvent['file']> = {};
        const path = val(d, 'TargetFilename');
        if (path !== undefined) {
          file.path = path;
          file.name = clip(winBasename(path), MAX_NAME_CHARS);
        }
        body.file = file;
        const p = sysmonProcess(d);
        if (p) body.process = p;
        break;
      }
      case 12:
      case 13:
      case 14: {
        // 12 creates/deletes a key, 14 renames: only 13 writes data, but all three name the path
        if (ev.eventId === 12 && !/^(CreateKey|SetValue)$/i.test(val(d, 'EventType', 32) ?? '')) break;
        head = { kind: 'event', category: ['configuration'], type: ['change'], action: 'registry-set', dataset: ds };
        const registry: NonNullable<CoalEvent['registry']> = {};
        const target = val(d, ev.eventId === 14 ? 'NewName' : 'TargetObject');
        if (target !== undefined) {
          registry.path = target;
          const slash = target.lastIndexOf('\\');
          if (slash >= 0 && ev.eventId === 13) registry.value = target.slice(slash + 1);
        }
        const details = val(d, 'Details', MAX_COMMAND_CHARS);
        if (details !== undefined) registry.data = details;
        body.registry = registry;
        const p = sysmonProcess(d);
        if (p) body.process = p;
        break;
      }
      case 22: {
        head = { kind: 'event', category: ['network'], type: ['protocol'], action: 'dns-query', dataset: ds };
        const name = val(d, 'QueryName', MAX_NAME_CHARS);
        const dns: NonNullable<CoalEvent['dns']> = {};
        if (name !== undefined) dns.question = { name };
        const ips = parseQueryResults(val(d, 'QueryResults', 8192));
        if (ips) dns.resolved_ip = ips;
        body.dns = dns;
        const p = sysmonProcess(d);
        if (p) body.process = p;
        break;
      }
    }
  } else if (ev.provider === SECURITY) {
    const ds = `${format}.security.${ev.eventId}`;
    switch (ev.eventId) {
      case 4688: {
        head = { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: ds };
        const p: ProcessFields = {};
        const pid = parseWinPid(val(d, 'NewProcessId', 32));
        if (pid !== undefined) p.pid = pid;
        const exe = val(d, 'NewProcessName');
        if (exe !== undefined) {
          p.executable = exe;
          p.name = clip(winBasename(exe), MAX_NAME_CHARS);
        }
        const cmd = val(d, 'CommandLine', MAX_COMMAND_CHARS);
        if (cmd !== undefined) p.command_line = cmd;
        const parent: ProcessParent = {};
        const ppid = parseWinPid(val(d, 'ProcessId', 32));
        if (ppid !== undefined) parent.pid = ppid;
        const pexe = val(d, 'ParentProcessName');
        if (pexe !== undefined) {
          parent.executable = pexe;
          parent.name = clip(winBasename(pexe), MAX_NAME_CHARS);
        }
        if (Object.keys(parent).length > 0) p.parent = parent;
        // the new process runs as TargetUserName when given (Win10+), else as its creator
        const user = val(d, 'TargetUserName', MAX_NAME_CHARS) ?? val(d, 'SubjectUserName', MAX_NAME_CHARS);
        if (user !== undefined) p.user = { name: user };
        body.process = p;
        break;
      }
      case 4689: {
        head = { kind: 'event', category: ['process'], type: ['end'], action: 'exit', dataset: ds };
        const p: ProcessFields = {};
        const pid = parseWinPid(val(d, 'ProcessId', 32));
        if (pid !== undefined) p.pid = pid;
        const exe = val(d, 'ProcessName');
        if (exe !== undefined) {
          p.executable = exe;
          p.name = clip(winBasename(exe), MAX_NAME_CHARS);
        }
        const user = val(d, 'SubjectUserName', MAX_NAME_CHARS);
        if (user !== undefined) p.user = { name: user };
        body.process = p;
        break;
      }
      case 4697: {
        // a service installed: what it will run is its ServiceFileName, as it is 7045's ImagePath
        head = entryHead('creation', ds);
        enter(
          persistenceEntry(
            'service',
            val(d, 'ServiceName', MAX_NAME_CHARS),
            serviceRun(val(d, 'ServiceFileName', MAX_COMMAND_CHARS)),
            val(d, 'ServiceAccount', MAX_NAME_CHARS),
          ),
        );
        break;
      }
      case 4698:
      case 4702: {
        head = entryHead(ev.eventId === 4698 ? 'creation' : 'change', ds);
        const xml = val(d, 'TaskContent', MAX_TASK_XML_CHARS) ?? val(d, 'TaskContentNew', MAX_TASK_XML_CHARS) ?? '';
        enter(
          persistenceEntry(
            'scheduled-task',
            val(d, 'TaskName', MAX_NAME_CHARS),
            taskExecActions(xml)[0],
            val(d, 'SubjectUserName', MAX_NAME_CHARS),
          ),
        );
        break;
      }
      case 5156: {
        const dir = val(d, 'Direction', 32)?.trim();
        head = { kind: 'event', category: ['network'], type: ['connection'], action: 'connect', dataset: ds };
        const p: ProcessFields = {};
        const pid = parseDecimal(val(d, 'ProcessID', 32) ?? val(d, 'ProcessId', 32));
        if (pid !== undefined) p.pid = pid;
        const app = val(d, 'Application');
        if (app !== undefined) {
          p.executable = app;
          p.name = clip(winBasename(app), MAX_NAME_CHARS);
        }
        if (Object.keys(p).length > 0) body.process = p;
        const inbound = dir === '%%14592' || dir?.toLowerCase() === 'inbound';
        body.source = compact({ ip: ipOf(val(d, 'SourceAddress', 64)), port: port(val(d, 'SourcePort', 16)) });
        body.destination = compact({ ip: ipOf(val(d, 'DestAddress', 64)), port: port(val(d, 'DestPort', 16)) });
        const network: { transport?: string; direction?: string } = { direction: inbound ? 'inbound' : 'outbound' };
        const protocol = val(d, 'Protocol', 16)?.trim() ?? '';
        const transport = Object.hasOwn(TRANSPORTS, protocol) ? TRANSPORTS[protocol] : undefined;
        if (transport !== undefined) network.transport = transport;
        body.network = network;
        break;
      }
    }
  } else if (ev.eventId === 7045 && ev.provider.toLowerCase() === SERVICE_CONTROL_MANAGER) {
    // System 7045: a service was installed, and the ImagePath it will run
    head = entryHead('creation', `${format}.system.7045`);
    enter(
      persistenceEntry(
        'service',
        val(d, 'ServiceName', MAX_NAME_CHARS),
        serviceRun(val(d, 'ImagePath', MAX_COMMAND_CHARS)),
        val(d, 'AccountName', MAX_NAME_CHARS),
      ),
    );
  }
  // every other record reaches the Sigma rules that could read it as it is (its fields in `original`);
  // the engine ignores it; with no such rule it is unused
  if (head === undefined) {
    if (!keepRecord?.(ev.provider, ev.channel, ev.eventId)) return undefined;
    head = { kind: 'event', category: [], type: ['info'], action: 'log-record', dataset: `${format}.${datasetOf(ev)}` };
  }
  const ts = timeOf(ev);
  if (ts === undefined) return undefined;
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: { ...head, ...(ev.recordId !== undefined ? { id: String(ev.recordId) } : {}) },
    host: {
      name: clip(ev.computer, MAX_NAME_CHARS),
      os: { platform: ev.provider === LINUX_SYSMON ? 'linux' : 'windows' },
    },
    ...body,
    original: originalOf(ev),
    coalmine: { ts, format, ref },
  };
  if (persistence) event.coalmine.persistence = persistence;
  return event;
}

function compact<T extends Record<string, unknown>>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (o[k] !== undefined) out[k] = o[k];
  return Object.keys(out).length > 0 ? (out as T) : undefined;
}

/** The record as read: System fields and EventData, values bounded so `original` stays small. */
function originalOf(ev: WinEvent): Record<string, unknown> {
  const data: Record<string, string> = {};
  let n = 0;
  for (const k of Object.keys(ev.data)) {
    if (n++ >= 64) break;
    const v = ev.data[k];
    data[clip(k, 64)] = typeof v === 'string' ? clip(v, LONG_VALUES.has(k) ? MAX_COMMAND_CHARS : 2048) : String(v);
  }
  const o: Record<string, unknown> = {
    Provider: clip(ev.provider, MAX_NAME_CHARS),
    Channel: clip(ev.channel, MAX_NAME_CHARS),
    EventID: ev.eventId,
    TimeCreated: clip(ev.timeCreated, 64),
    Computer: clip(ev.computer, MAX_NAME_CHARS),
  };
  if (ev.recordId !== undefined) o.EventRecordID = ev.recordId;
  if (ev.executionPid !== undefined) o.ProcessID = ev.executionPid;
  if (ev.executionTid !== undefined) o.ThreadID = ev.executionTid;
  if (ev.userSid !== undefined) o.UserID = clip(ev.userSid, 128);
  o.EventData = data;
  return o;
}
