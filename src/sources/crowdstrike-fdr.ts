/**
 * CrowdStrike Falcon Data Replicator events, one JSON object per line as the FDR S3 feed delivers them
 * (gzip or not), each named by `event_simpleName`: ProcessRollup2 / SyntheticProcessRollup2 are `exec`,
 * EndOfProcess `exit`, NetworkConnectIP4/IP6 `connect`, DnsRequest `dns-query`, ScheduledTaskRegistered a
 * scheduled-task `persistence-entry`, DriverLoad `driver-load`; every other event type is counted unused. A mapping only: the
 * Windows and Linux classifiers judge these events as they judge Sysmon's and auditd's.
 */
import type { CoalEvent, ProcessFields, ProcessParent } from '../model/event.js';
import { splitArgv } from '../util/argv.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { type EndpointAction, headOf, type OriginalBounds, originalOf, pidOf } from './edr-fields.js';
import { readJsonLines, sniffJsonLine } from './lines.js';
import { ipOf, isObject, MAX_NAME_CHARS, portOf, textOf } from './net-fields.js';
import { forwardInTime } from './time-order.js';
import type { SourceDescriptor } from './types.js';
import { persistenceEntry, taskExecActions, taskTarget, winBasename } from './win-event.js';

type Obj = Record<string, unknown>;
const NAME = 'crowdstrike-fdr';
const CODE = 'CROWDSTRIKE_FDR';
const MAX_PATH_CHARS = 4096;
const MAX_COMMAND_CHARS = 32 * 1024;
const MAX_ARGS = 128;
const MAX_TASK_XML_CHARS = 64 * 1024;
/** Events per batch a newest-first file's sorted events are given in. */
const BATCH_EVENTS = 4096;
/** Values Sigma rules and analysts read whole are kept longer in `original`. */
const LONG_ORIGINAL = new Set(['CommandLine', 'TaskExecArguments', 'TaskExecCommand', 'TaskXml']);
/** The record's scalar fields as read, bounded: what Sigma rules and `explain` see of it. */
const ORIGINAL: OriginalBounds = {
  maxKeys: 96,
  maxKeyChars: 64,
  maxChars: 1024,
  maxLongChars: MAX_COMMAND_CHARS,
  isLong: (key) => LONG_ORIGINAL.has(key),
};
/** Hosts (aid → ComputerName) and volumes (aid → `\Device\HarddiskVolumeN` → `C:`) one input remembers. */
const MAX_HOSTS = 16_384;
const MAX_VOLUMES_PER_HOST = 32;
const MAX_RESOLVED_IPS = 64;

const EXEC = new Set(['ProcessRollup2', 'SyntheticProcessRollup2']);
const CONNECT = new Set(['NetworkConnectIP4', 'NetworkConnectIP6']);
/** FDR's `event_platform`; anything else leaves the platform unsaid. */
const PLATFORMS: Record<string, 'windows' | 'linux' | 'macos'> = { Win: 'windows', Lin: 'linux', Mac: 'macos' };
/** IANA protocol numbers in `Protocol`. */
const TRANSPORTS: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp' };
/** TargetProcessId and kin are decimal UPIDs; a hex or GUID-shaped one is taken as an id too, nothing else. */
const PROCESS_ID = /^[0-9A-Za-z{}-]{1,64}$/;
const SIMPLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const HEX_HASH = /^[0-9a-f]+$/;
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
/** `\Device\HarddiskVolume3\Users\x.exe`: the NT device name Falcon writes for a local volume. */
const DEVICE_VOLUME = /^\\Device\\(HarddiskVolume\d{1,4}|CdRom\d{1,3})(\\.*)$/i;
/** `\Device\Mup\server\share\x.exe`: the Multiple UNC Provider, i.e. `\\server\share\x.exe`. */
const DEVICE_UNC = /^\\Device\\Mup(\\.+)$/i;
/** `\??\C:\x.exe`: the object-manager prefix before a DOS path. */
const DOS_DEVICE = /^\\\?\?\\([A-Za-z]:\\.*)$/;
const DRIVE_PATH = /^[A-Za-z]:\\/;
/** aidmaster records name a host with no event type; these keys tell one from a broken event. */
const AIDMASTER_KEYS = ['AgentVersion', 'FirstSeen', 'ConfigIDBuild', 'MachineDomain', 'SystemProductName'];

/** What one input has learned so far: host names by aid, and each host's volume → drive letter. */
interface ReadState {
  file: string;
  hostHint?: string;
  hosts: Map<string, string>;
  volumes: Map<string, Map<string, string>>;
}

function stringOf(o: Obj, key: string, max: number): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? clip(v, max) : undefined;
}

function processIdOf(v: unknown): string | undefined {
  const s = textOf(v, 64);
  return s !== undefined && PROCESS_ID.test(s) ? s : undefined;
}

function hashOf(v: unknown, length: number): string | undefined {
  const s = textOf(v, 128)?.toLowerCase();
  // FDR writes all zeros for a hash it did not compute
  return s !== undefined && s.length === length && HEX_HASH.test(s) && !/^0+$/.test(s) ? s : undefined;
}

/** A map bounded by dropping its oldest entry. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

/**
 * The host: the record's ComputerName, else the name an earlier record of this input gave its aid
 * (an aidmaster line, an event carrying ComputerName), else the input's hint, else the aid itself.
 */
function hostOf(o: Obj, state: ReadState): NonNullable<CoalEvent['host']> {
  const aid = stringOf(o, 'aid', 64);
  const named = stringOf(o, 'ComputerName', MAX_NAME_CHARS);
  if (named !== undefined && aid !== undefined && state.hosts.get(aid) !== named)
    remember(state.hosts, aid, named, MAX_HOSTS);
  const name = named ?? (aid !== undefined ? state.hosts.get(aid) : undefined) ?? state.hostHint ?? aid;
  const host: NonNullable<CoalEvent['host']> = {};
  if (name !== undefined) host.name = clip(name, MAX_NAME_CHARS);
  if (aid !== undefined) host.id = aid;
  const platform = stringOf(o, 'event_platform', 8);
  if (platform !== undefined && Object.hasOwn(PLATFORMS, platform)) host.os = { platform: PLATFORMS[platform] };
  return host;
}

/** argv[0] of a Windows command line: the quoted program (as a task's), or the text up to the first space. */
function programOf(commandLine: string): string {
  const s = commandLine.trimStart();
  if (s.startsWith('"')) return taskTarget(s);
  const space = s.indexOf(' ');
  return space >= 0 ? s.slice(0, space) : s;
}

/**
 * ImageFileName as a DOS path: Falcon writes the NT device path (`\Device\HarddiskVolume3\Windows\…`)
 * while Sysmon, tasks and typeperf speak of `C:\Windows\…`, and the Windows classifiers read drive
 * paths. A volume's letter is what the command line's own program path says for the same file (then
 * remembered for the host), else what an earlier record of this host said; with neither, the device
 * path stays as written (no letter is guessed). UNC (`\Device\Mup\`) and `\??\C:\` forms are rewritten.
 */
function dosPathOf(image: string, commandLine: string | undefined, aid: string | undefined, state: ReadState): string {
  const dos = DOS_DEVICE.exec(image);
  if (dos) return dos[1];
  const unc = DEVICE_UNC.exec(image);
  if (unc) return `\\${unc[1]}`;
  const m = DEVICE_VOLUME.exec(image);
  if (!m) return image;
  const volume = m[1].toLowerCase();
  const rest = m[2];
  const known = aid !== undefined ? state.volumes.get(aid) : undefined;
  if (commandLine !== undefined) {
    const program = programOf(commandLine);
    if (
      DRIVE_PATH.test(program) &&
      program.length === rest.length + 2 &&
      program.slice(2).toLowerCase() === rest.toLowerCase()
    ) {
      const drive = program.slice(0, 2).toUpperCase();
      if (aid !== undefined && known?.get(volume) !== drive) {
        const volumes = known ?? new Map<string, string>();
        if (volumes.size < MAX_VOLUMES_PER_HOST || volumes.has(volume)) volumes.set(volume, drive);
        if (known === undefined) remember(state.volumes, aid, volumes, MAX_HOSTS);
      }
      return `${drive}${rest}`;
    }
  }
  const drive = known?.get(volume);
  return drive !== undefined ? `${drive}${rest}` : image;
}

function userOf(o: Obj): ProcessFields['user'] | undefined {
  const name = stringOf(o, 'UserName', MAX_NAME_CHARS);
  const id = stringOf(o, 'UserSid', 128) ?? (pidOf(o.UID) !== undefined ? String(pidOf(o.UID)) : undefined);
  if (name === undefined && id === undefined) return undefined;
  return { ...(name !== undefined && { name }), ...(id !== undefined && { id }) };
}

/** The process a ProcessRollup2 or EndOfProcess is about: TargetProcessId is its id, RawProcessId its pid. */
function processOf(o: Obj, platform: string | undefined, aid: string | undefined, state: ReadState): ProcessFields {
  const p: ProcessFields = {};
  const id = processIdOf(o.TargetProcessId);
  if (id !== undefined) p.entity_id = id;
  const pid = pidOf(o.RawProcessId);
  if (pid !== undefined) p.pid = pid;
  const commandLine = stringOf(o, 'CommandLine', MAX_COMMAND_CHARS);
  const image = stringOf(o, 'ImageFileName', MAX_PATH_CHARS);
  if (image !== undefined) {
    const executable =
      platform === 'windows' || platform === undefined ? dosPathOf(image, commandLine, aid, state) : image;
    p.executable = executable;
    p.name = clip(winBasename(executable), MAX_NAME_CHARS);
  }
  if (commandLine !== undefined) {
    p.command_line = commandLine;
    // Sysmon's mapping leaves a Windows command line whole (its quoting is the program's own business)
    if (platform === 'linux' || platform === 'macos')
      p.args = splitArgv(commandLine, { maxChars: MAX_COMMAND_CHARS, maxArgs: MAX_ARGS }).args;
  }
  const sha256 = hashOf(o.SHA256HashData, 64);
  const md5 = hashOf(o.MD5HashData, 32);
  const sha1 = hashOf(o.SHA1HashData, 40);
  if (sha256 !== undefined || md5 !== undefined || sha1 !== undefined)
    p.hash = { ...(sha256 && { sha256 }), ...(md5 && { md5 }), ...(sha1 && { sha1 }) };
  const start = parseTimestamp(o.ProcessStartTime);
  if (start !== undefined) p.start = new Date(start).toISOString();
  const user = userOf(o);
  if (user !== undefined) p.user = user;
  const parent: ProcessParent = {};
  const parentId = processIdOf(o.ParentProcessId);
  if (parentId !== undefined) parent.entity_id = parentId;
  const parentName = stringOf(o, 'ParentBaseFileName', MAX_NAME_CHARS);
  if (parentName !== undefined) parent.name = parentName;
  if (Object.keys(parent).length > 0) p.parent = parent;
  return p;
}

/** The event's time: the first of `keys` the record has must parse (FDR times are epoch seconds or ms). */
function timeOf(o: Obj, keys: readonly string[]): number | string {
  for (const key of keys) {
    const v = o[key];
    if (v === undefined || v === null || v === '') continue;
    const ms = parseTimestamp(v);
    return ms ?? `${key} ${clip(JSON.stringify(v) ?? '', 60)} is not a time`;
  }
  return `no time (${keys.join(', ')})`;
}

/** `8.8.8.8;1.1.1.1;` (IP4Records): the addresses, de-duplicated and bounded. */
function resolvedOf(o: Obj): string[] | undefined {
  const out: string[] = [];
  for (const key of ['IP4Records', 'IP6Records', 'FirstIP4Record']) {
    const text = stringOf(o, key, 8192);
    if (text === undefined) continue;
    for (const part of text.split(';', MAX_RESOLVED_IPS + 1)) {
      const ip = ipOf(part.trim());
      if (ip !== undefined && !out.includes(ip)) out.push(ip);
      if (out.length >= MAX_RESOLVED_IPS) return out;
    }
  }
  return out.length > 0 ? out : undefined;
}

function kindOf(simpleName: string): EndpointAction | undefined {
  if (EXEC.has(simpleName)) return 'exec';
  if (simpleName === 'EndOfProcess') return 'exit';
  if (CONNECT.has(simpleName)) return 'connect';
  if (simpleName === 'DnsRequest') return 'dns-query';
  if (simpleName === 'ScheduledTaskRegistered') return 'persistence-entry';
  if (simpleName === 'DriverLoad') return 'driver-load';
  return undefined;
}

/** One FDR record as an event, `'unused'` for an event type no analytic reads (or an aidmaster line), or why it is bad. */
function crowdstrikeFdrEvent(o: Obj, line: number, state: ReadState): CoalEvent | 'unused' | string {
  const simpleName = o.event_simpleName;
  if (simpleName === undefined) {
    // aidmaster (and managedassets) lines name a host: learned, nothing to map
    if (stringOf(o, 'aid', 64) !== undefined && stringOf(o, 'ComputerName', MAX_NAME_CHARS) !== undefined) {
      hostOf(o, state);
      return 'unused';
    }
    return 'no event_simpleName (and not an aidmaster record: aid and ComputerName)';
  }
  if (typeof simpleName !== 'string' || !SIMPLE_NAME.test(simpleName))
    return `event_simpleName ${clip(JSON.stringify(simpleName) ?? '', 60)} is not an event name`;
  const kind = kindOf(simpleName);
  if (kind === undefined) {
    hostOf(o, state); // a ComputerName on any event names its aid for the events after it
    return 'unused';
  }
  // a rollup is dated by its process's start; a synthetic one describes a process already running when the
  // sensor looked (its start may be days back, behind everything else in the file): dated when it was seen
  const ts = timeOf(
    o,
    simpleName === 'ProcessRollup2'
      ? ['ProcessStartTime', 'ContextTimeStamp', 'timestamp']
      : ['ContextTimeStamp', 'timestamp'],
  );
  if (typeof ts === 'string') return ts;
  const host = hostOf(o, state);
  const platform = host.os?.platform;
  const aid = host.id;
  const body: Partial<CoalEvent> = {};
  let persistence: CoalEvent['coalmine']['persistence'];
  switch (kind) {
    case 'exec':
    case 'exit': {
      const p = processOf(o, platform, aid, state);
      if (p.entity_id === undefined && p.pid === undefined)
        return `${simpleName} names no process (TargetProcessId, RawProcessId)`;
      body.process = p;
      break;
    }
    case 'connect': {
      const v6 = simpleName === 'NetworkConnectIP6';
      const remote = ipOf(o[v6 ? 'RemoteAddressIP6' : 'RemoteAddressIP4']);
      if (remote === undefined)
        return `${simpleName} without a ${v6 ? 'RemoteAddressIP6' : 'RemoteAddressIP4'} address`;
      const destination: NonNullable<CoalEvent['destination']> = { ip: remote };
      const remotePort = portOf(o.RemotePort);
      if (remotePort !== undefined) destination.port = remotePort;
      body.destination = destination;
      const local = ipOf(o[v6 ? 'LocalAddressIP6' : 'LocalAddressIP4']);
      const localPort = portOf(o.LocalPort);
      if (local !== undefined || localPort !== undefined)
        body.source = {
          ...(local !== undefined && { ip: local }),
          ...(localPort !== undefined && { port: localPort }),
        };
      const protocol = textOf(o.Protocol, 8) ?? '';
      const transport = Object.hasOwn(TRANSPORTS, protocol) ? TRANSPORTS[protocol] : undefined;
      // ConnectionDirection 1 is an accepted connection; 0 (and anything else) the process connecting out
      const direction = textOf(o.ConnectionDirection, 8) === '1' ? 'inbound' : 'outbound';
      body.network = { direction, ...(transport !== undefined && { transport }) };
      break;
    }
    case 'dns-query': {
      const name = stringOf(o, 'DomainName', MAX_NAME_CHARS);
      if (name === undefined) return 'DnsRequest without a DomainName';
      const dns: NonNullable<CoalEvent['dns']> = { question: { name } };
      const resolved = resolvedOf(o);
      if (resolved !== undefined) dns.resolved_ip = resolved;
      body.dns = dns;
      break;
    }
    case 'persistence-entry': {
      // the task's program as FDR splits it, else the first Exec action of its XML (what 4698 carries)
      const command = stringOf(o, 'TaskExecCommand', MAX_COMMAND_CHARS);
      const actions = command === undefined ? taskExecActions(stringOf(o, 'TaskXml', MAX_TASK_XML_CHARS) ?? '') : [];
      const exec =
        command !== undefined
          ? { command, arguments: stringOf(o, 'TaskExecArguments', MAX_COMMAND_CHARS) }
          : actions[0];
      // like Security 4698: the task's command and its registrant's name
      const task = persistenceEntry(
        'scheduled-task',
        stringOf(o, 'TaskName', MAX_NAME_CHARS),
        exec,
        stringOf(o, 'UserName', MAX_NAME_CHARS),
        MAX_COMMAND_CHARS,
      );
      body.file = task.file;
      if (task.process) body.process = task.process;
      persistence = task.persistence;
      break;
    }
    case 'driver-load': {
      const image = stringOf(o, 'ImageFileName', MAX_PATH_CHARS);
      if (image === undefined) return 'DriverLoad without an ImageFileName';
      // as Sysmon 6: the load is the driver's alone (the loader is the kernel); the volume's letter when known
      const path = dosPathOf(image, undefined, aid, state);
      const file: NonNullable<CoalEvent['file']> = { path, name: clip(winBasename(path), MAX_NAME_CHARS) };
      const sha256 = hashOf(o.SHA256HashData, 64);
      const md5 = hashOf(o.MD5HashData, 32);
      if (sha256 !== undefined || md5 !== undefined)
        file.hash = { ...(sha256 !== undefined && { sha256 }), ...(md5 !== undefined && { md5 }) };
      const publisher = stringOf(o, 'CertificatePublisher', MAX_NAME_CHARS);
      if (publisher !== undefined) file.signature = publisher;
      body.file = file;
      break;
    }
  }
  // network, DNS and task events name their process by ContextProcessId, the TargetProcessId of its rollup
  const context = processIdOf(o.ContextProcessId);
  if ((kind === 'connect' || kind === 'dns-query') && context !== undefined) body.process = { entity_id: context };
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', ...headOf(kind), dataset: `${NAME}.${simpleName}` },
    host,
    ...body,
    original: originalOf(o, ORIGINAL),
    coalmine: { ts, format: NAME, ref: { file: state.file, line } },
  };
  const id = stringOf(o, 'id', 64);
  if (id !== undefined) event.event.id = id;
  const container = stringOf(o, 'OciContainerId', 64);
  if (container !== undefined && CONTAINER_ID.test(container)) event.container = { id: container };
  if (persistence) event.coalmine.persistence = persistence;
  return event;
}

export const crowdstrikeFdr: SourceDescriptor = {
  name: NAME,
  summary:
    'CrowdStrike Falcon Data Replicator events (JSON lines): ProcessRollup2, EndOfProcess, NetworkConnectIP4/6, DnsRequest, ScheduledTaskRegistered',
  platform: 'generic',
  delivers: 'events',
  sniff(head) {
    return sniffJsonLine(
      head,
      (o) => {
        if (!isObject(o)) return 0;
        if (typeof o.event_simpleName === 'string' && ('aid' in o || 'timestamp' in o)) return 94;
        // an aidmaster file: one record per sensor
        return typeof o.aid === 'string' && typeof o.ComputerName === 'string' && AIDMASTER_KEYS.some((k) => k in o)
          ? 90
          : 0;
      },
      (first) => (/"event_simpleName"\s*:\s*"[A-Za-z][A-Za-z0-9_]{0,63}"/.test(first) ? 60 : 0),
    );
  },
  read(input, context) {
    const state: ReadState = { file: input.name, hostHint: input.hostHint, hosts: new Map(), volumes: new Map() };
    // an FDR object is written in time order, an export of a Falcon search often newest first: that one is sorted
    const batches = readJsonLines(input, context, CODE, (o, line) =>
      isObject(o) ? crowdstrikeFdrEvent(o, line, state) : 'line is JSON but not an object',
    );
    return forwardInTime(batches, input.name, CODE, BATCH_EVENTS);
  },
};
