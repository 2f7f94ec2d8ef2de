/**
 * Linux auditd raw logs (`/var/log/audit/audit.log`). auditd spreads one event over several records
 * (SYSCALL, EXECVE, CWD, PATH, SOCKADDR, PROCTITLE, OBJ_PID…) that share `msg=audit(sec.ms:serial)`
 * and may be interleaved with other events' records, so records are grouped by serial in a bounded
 * table and an event is emitted when its group completes (EOE, or enough later serials, or the end).
 */
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import { auditValue, HEX, unhex } from '../util/audit-value.js';
import { ipv6String } from '../util/ip.js';
import { sourceLines } from './lines.js';
import type { SourceDescriptor } from './types.js';

/** Serials seen after a group's last record before the group is taken as complete. */
const GROUP_HORIZON = 64;
const MAX_RECORDS_PER_GROUP = 64;
const MAX_VALUE_CHARS = 4096;
const MAX_ARGS = 256;

type Fields = Record<string, string>;
interface Group {
  serial: number;
  sec: string;
  ms: number;
  line: number;
  node?: string;
  records: Array<{ type: string; fields: Fields; enriched: Fields }>;
  lastSeq: number;
}

// syscall numbers per audit arch (only the ones we turn into events)
const SYSCALLS: Record<string, Record<number, string>> = {
  c000003e: {
    59: 'execve',
    322: 'execveat',
    42: 'connect',
    62: 'kill',
    200: 'tkill',
    234: 'tgkill',
    2: 'open',
    257: 'openat',
    85: 'creat',
    82: 'rename',
    264: 'renameat',
    316: 'renameat2',
  },
  c00000b7: {
    221: 'execve',
    281: 'execveat',
    203: 'connect',
    129: 'kill',
    130: 'tkill',
    131: 'tgkill',
    56: 'openat',
    38: 'renameat',
    276: 'renameat2',
  },
  '40000003': {
    11: 'execve',
    37: 'kill',
    238: 'tkill',
    270: 'tgkill',
    5: 'open',
    295: 'openat',
    8: 'creat',
    38: 'rename',
    302: 'renameat',
  },
};
const WRITE_FLAGS = 0x1 | 0x2 | 0x40 | 0x200 | 0x400; // O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND
/** The last field of a text when its value is unquoted and runs to the text's end: nothing shows where it stops. */
interface OpenEnd {
  fields: Fields;
  key: string;
}

/**
 * Linear key=value scan. Quoted values may contain spaces; the ENRICHED part after 0x1d is kept apart.
 * A field the text ends inside (a quote or `msg='` block never closed, `key=` with no value, a key
 * with no `=`) is not stored: its name goes to `cut`. auditd closes every quote it opens and ends each
 * record with a newline, so an open one means the record was cut there.
 */
export function parseFields(text: string, into: Fields, enriched: Fields, cut: string[] = []): OpenEnd | undefined {
  let i = 0;
  let openEnd: OpenEnd | undefined;
  const n = text.length;
  let target = into;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x1d) {
      target = enriched;
      i++;
      continue;
    }
    if (c === 32) {
      i++;
      continue;
    }
    const eq = text.indexOf('=', i);
    if (eq < 0) {
      cut.push(text.slice(i, i + 64));
      return undefined;
    }
    const key = text.slice(i, eq);
    const j = eq + 1;
    let end: number;
    if (j === n) {
      cut.push(key.slice(0, 64));
      return undefined;
    }
    const open = text.charCodeAt(j);
    if (open === 34 || open === 123) {
      // "quoted", or ENRICHED's SADDR={ saddr_fam=inet laddr=… }
      end = text.indexOf(open === 34 ? '"' : '}', j + 1);
      if (end < 0) {
        cut.push(key.slice(0, 64));
        return undefined;
      }
      end++;
    } else if (open === 39) {
      // SELinux-style msg='...' blocks: read inside them as more fields; one never closed is cut
      end = text.indexOf("'", j + 1);
      if (end < 0) {
        cut.push(key.slice(0, 64));
        return undefined;
      }
      parseFields(text.slice(j + 1, end), target, enriched, cut);
      i = end + 1;
      continue;
    } else {
      end = j;
      while (end < n && text.charCodeAt(end) !== 32 && text.charCodeAt(end) !== 0x1d) end++;
    }
    if (key.length > 0 && key.length < 64) {
      target[key] = text.slice(j, end).slice(0, MAX_VALUE_CHARS * 2);
      openEnd = end === n && open !== 34 && open !== 123 ? { fields: target, key } : undefined;
    }
    i = end;
  }
  return openEnd;
}

/** Fields auditd writes quoted or hex-encoded, per record type we read: anything else there is cut or corrupt. */
const ENCODED_FIELDS: Record<string, RegExp> = {
  SYSCALL: /^(?:exe|comm)$/,
  EXECVE: /^a\d{1,3}(?:\[\d{1,4}\])?$/,
  PATH: /^name$/,
  CWD: /^cwd$/,
  PROCTITLE: /^proctitle$/,
  OBJ_PID: /^ocomm$/,
  SOCKADDR: /^saddr$/,
};
/** Values auditd writes unencoded in those fields when there is nothing to name. */
const NO_VALUE = new Set(['(null)', '(none)', '?']);

/**
 * Removes the fields of one record that did not survive whole and says why. Only the broken fields
 * go: the ones before a cut were written whole, and a process without its `exe` is still a process;
 * a broken `exe`, `name` or argument is never read as a path or command. `openEnd` is given on the
 * file's last line when no newline ended it: its last unquoted value may have been cut anywhere, so it goes too.
 */
function dropBroken(
  type: string,
  fields: Fields,
  cut: string[],
  openEnd: OpenEnd | undefined,
): Array<['AUDITD_TRUNCATED' | 'AUDITD_BAD_HEX', string]> {
  const reasons: Array<['AUDITD_TRUNCATED' | 'AUDITD_BAD_HEX', string]> = [];
  if (cut.length > 0)
    reasons.push(['AUDITD_TRUNCATED', `the record ends inside field ${cut.map((k) => JSON.stringify(k)).join(', ')}`]);
  const encoded = ENCODED_FIELDS[type];
  if (encoded)
    for (const [key, value] of Object.entries(fields)) {
      if (!encoded.test(key) || value.charCodeAt(0) === 34 || NO_VALUE.has(value) || HEX.test(value)) continue;
      reasons.push([
        'AUDITD_BAD_HEX',
        `${key} is neither quoted nor whole hex (${value.length} chars): cut or corrupt`,
      ]);
      delete fields[key];
    }
  if (openEnd && openEnd.key in openEnd.fields) {
    reasons.push(['AUDITD_TRUNCATED', `the file ends without a newline inside ${openEnd.key}=, which may be cut`]);
    delete openEnd.fields[openEnd.key];
  }
  return reasons;
}

const PREFIX = 'type=';
const MSG = ' msg=audit(';

interface ParsedLine {
  node?: string;
  type: string;
  sec: string;
  ms: number;
  serial: number;
  rest: string;
}

export function parseRecordLine(line: string): ParsedLine | string {
  let start = 0;
  let node: string | undefined;
  if (line.startsWith('node=')) {
    const sp = line.indexOf(' ');
    if (sp < 0) return 'node= prefix without a record';
    node = line.slice(5, sp);
    start = sp + 1;
  }
  if (!line.startsWith(PREFIX, start)) return 'not an auditd record (expected "type=… msg=audit(…)")';
  const m = line.indexOf(MSG, start);
  if (m < 0 || m - start > 40) return 'record has no msg=audit(…) stamp';
  const type = line.slice(start + PREFIX.length, m);
  if (!/^[A-Z0-9_]{1,32}$/.test(type)) return `record type "${type.slice(0, 32)}" is not valid`;
  const close = line.indexOf('):', m);
  if (close < 0 || close - m > 40) return 'msg=audit( stamp is not closed';
  const stamp = line.slice(m + MSG.length, close);
  const s = /^(\d{9,11})\.(\d{3}):(\d{1,12})$/.exec(stamp);
  if (!s) return `msg=audit(${stamp.slice(0, 30)}) is not <seconds>.<ms>:<serial>`;
  return { node, type, sec: s[1], ms: Number(s[2]), serial: Number(s[3]), rest: line.slice(close + 2) };
}

function decodeSockaddr(hex: string): { ip: string; port: number } | undefined | 'unix' {
  if (!HEX.test(hex) || hex.length < 4) return undefined;
  const b = Buffer.from(hex, 'hex');
  const family = b.readUInt16LE(0);
  if (family === 1) return 'unix';
  if (family === 2 && b.length >= 8) return { port: b.readUInt16BE(2), ip: `${b[4]}.${b[5]}.${b[6]}.${b[7]}` };
  if (family === 10 && b.length >= 24) {
    const ip = ipv6String(b, 8);
    return { port: b.readUInt16BE(2), ip };
  }
  return undefined;
}

function execArgs(execve: Fields | undefined, issues: string[]): string[] | undefined {
  if (!execve) return undefined;
  const argc = Math.min(Number(execve.argc ?? 0), MAX_ARGS);
  if (!Number.isInteger(argc) || argc <= 0) return undefined;
  const args: string[] = [];
  for (let i = 0; i < argc; i++) {
    let raw = execve[`a${i}`];
    if (raw === undefined && execve[`a${i}_len`] !== undefined) {
      // long arguments are split: a3_len=N a3[0]=… a3[1]=… (each hex-encoded)
      raw = '';
      for (let k = 0; k < 1024 && execve[`a${i}[${k}]`] !== undefined; k++) raw += execve[`a${i}[${k}]`];
    }
    if (raw === undefined) break;
    if (raw.charCodeAt(0) === 34) args.push(raw.slice(1, -1));
    else {
      // pieces are checked one by one; joined, they must still decode, or the arguments stop here
      const decoded = unhex(raw);
      if (decoded === undefined) {
        issues.push(`EXECVE a${i} is neither quoted nor hex`);
        break;
      }
      args.push(decoded);
    }
  }
  return args.map((a) => a.slice(0, MAX_VALUE_CHARS));
}

function int(v: string | undefined, base = 10): number | undefined {
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, base);
  return Number.isFinite(n) ? n : undefined;
}

/** One completed group → zero or one event (plus problems found on the way). */
function toEvent(
  g: Group,
  file: string,
  hostHint: string | undefined,
  problems: Array<[string, string]>,
): CoalEvent | undefined {
  const byType = new Map<string, Fields[]>();
  const enriched: Fields = {};
  for (const r of g.records) {
    const list = byType.get(r.type) ?? [];
    list.push(r.fields);
    byType.set(r.type, list);
  }
  for (const r of g.records) Object.assign(enriched, r.enriched);
  const sys = byType.get('SYSCALL')?.[0];
  if (!sys) {
    // records that never carry a SYSCALL (logins, service starts…) are not events we use
    const usesSyscall = g.records.some((r) => ['EXECVE', 'SOCKADDR', 'OBJ_PID', 'CWD'].includes(r.type));
    if (usesSyscall)
      problems.push([
        'AUDITD_NO_SYSCALL',
        `event ${g.sec}.${g.ms}:${g.serial} has ${g.records.map((r) => r.type).join(',')} but no SYSCALL record (truncated?)`,
      ]);
    return undefined;
  }
  const arch = (sys.arch ?? '').toLowerCase();
  const name = enriched.SYSCALL ?? SYSCALLS[arch]?.[int(sys.syscall) ?? -1];
  if (!name) return undefined;
  const ts = Number(g.sec) * 1000 + g.ms;
  const pid = int(sys.pid);
  const ppid = int(sys.ppid);
  const uidName = auditValue(enriched.UID, false);
  const process: NonNullable<CoalEvent['process']> = {
    pid,
    name: auditValue(sys.comm, true),
    executable: auditValue(sys.exe, true),
    parent: ppid !== undefined ? { pid: ppid } : undefined,
    user: { id: sys.uid, name: uidName },
  };
  const cwd = auditValue(byType.get('CWD')?.[0]?.cwd, true);
  const ok = sys.success === 'yes' || sys.exit === '-115';
  let action: EventAction;
  const event: Partial<CoalEvent> = {};
  const argProblems: string[] = [];
  if (name === 'execve' || name === 'execveat') {
    action = 'exec';
    let args = execArgs(byType.get('EXECVE')?.[0], argProblems);
    if (!args) {
      const title = byType.get('PROCTITLE')?.[0]?.proctitle;
      const decoded = title ? (title.charCodeAt(0) === 34 ? title.slice(1, -1) : unhex(title, '\u0000')) : undefined;
      args = decoded?.split('\u0000').filter((a) => a.length > 0);
    }
    if (args && args.length > 0) {
      process.args = args;
      process.command_line = args.join(' ').slice(0, MAX_VALUE_CHARS * 4);
    }
    if (cwd) process.working_directory = cwd;
    event.event = { kind: 'event', category: ['process'], type: ['start'], action, dataset: `auditd.${name}` };
  } else if (name === 'connect') {
    const addr = byType.get('SOCKADDR')?.[0]?.saddr;
    const decoded = addr ? decodeSockaddr(addr) : undefined;
    if (decoded === 'unix' || (!decoded && !addr)) return undefined;
    if (!decoded) {
      problems.push(['AUDITD_BAD_SOCKADDR', `saddr "${addr?.slice(0, 40)}" is not a socket address we can decode`]);
      return undefined;
    }
    action = 'connect';
    event.destination = decoded;
    event.event = { kind: 'event', category: ['network'], type: ['connection'], action, dataset: `auditd.${name}` };
  } else if (name === 'kill' || name === 'tkill' || name === 'tgkill') {
    action = 'kill';
    const targetPid = int(name === 'tgkill' ? sys.a1 : sys.a0, 16);
    const signal = int(name === 'tgkill' ? sys.a2 : sys.a1, 16);
    const obj = byType.get('OBJ_PID')?.find((o) => int(o.opid) === targetPid) ?? byType.get('OBJ_PID')?.[0];
    process.target = { pid: targetPid, signal, name: auditValue(obj?.ocomm, true) };
    event.event = { kind: 'event', category: ['process'], type: ['info'], action, dataset: `auditd.${name}` };
  } else {
    // open/openat/creat/rename*: only writes matter (persistence is written, not read)
    if (name === 'open' || name === 'openat') {
      const flags = int(name === 'open' ? sys.a1 : sys.a2, 16) ?? 0;
      if ((flags & WRITE_FLAGS) === 0) return undefined;
    }
    const paths = (byType.get('PATH') ?? []).filter((p) => p.nametype !== 'PARENT');
    const target = auditValue(paths[paths.length - 1]?.name, true);
    if (!target) return undefined;
    action = 'file-write';
    const path = target.startsWith('/') || !cwd ? target : `${cwd.replace(/\/$/, '')}/${target.replace(/^\.\//, '')}`;
    event.file = { path, name: path.slice(path.lastIndexOf('/') + 1) };
    event.event = { kind: 'event', category: ['file'], type: ['change'], action, dataset: `auditd.${name}` };
  }
  for (const p of argProblems) problems.push(['AUDITD_BAD_HEX', p]);
  event.event.outcome = ok ? 'success' : 'failure';
  event.event.id = `${g.sec}.${String(g.ms).padStart(3, '0')}:${g.serial}`;
  const original: Record<string, unknown> = {};
  for (const [type, list] of byType) original[type] = list.length === 1 ? list[0] : list;
  const host = g.node ?? hostHint;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: event.event,
    host: { name: host, os: { platform: 'linux' } },
    process,
    user: { id: sys.uid, name: uidName },
    destination: event.destination,
    file: event.file,
    original,
    coalmine: { ts, format: 'auditd', ref: { file, line: g.line } },
  } as CoalEvent;
}

export const auditd: SourceDescriptor = {
  name: 'auditd',
  summary: 'Linux audit log (raw audit.log, incl. ENRICHED and node= prefixes): exec, connect, kill, file writes',
  platform: 'linux',
  delivers: 'events',
  sniff(head) {
    const lines = head.split('\n', 20).filter((l) => l.trim() !== '');
    if (lines.length === 0) return 0;
    const good = lines.filter((l) => typeof parseRecordLine(l) !== 'string').length;
    if (typeof parseRecordLine(lines[0]) !== 'string') return 90;
    return good >= 2 ? 60 : 0;
  },
  async *read(input, context) {
    const file = input.name;
    let issues: Issue[] = [];
    let events: CoalEvent[] = [];
    const open = new Map<number, Group>(); // serial → group, in first-seen order
    const seen = new Set<string>(); // duplicate records within open groups
    let seq = 0;
    const maxPending = Math.max(16, context.maxPendingRecords);
    const problems: Array<[string, string]> = [];
    const flush = (g: Group) => {
      open.delete(g.serial);
      const ev = toEvent(g, file, input.hostHint, problems);
      for (const [code, reason] of problems) issues.push({ file, line: g.line, code, reason, stage: 'normalising' });
      problems.length = 0;
      if (ev) events.push(ev);
    };
    const lines = sourceLines(input, context, (i) => issues.push(i));
    for await (const batch of lines) {
      for (let i = 0; i < batch.lines.length; i++) {
        const text = batch.lines[i];
        const lineNo = batch.lineNos[i];
        if (text.length === 0) continue;
        const rec = parseRecordLine(text);
        if (typeof rec === 'string') {
          issues.push({ file, line: lineNo, code: 'AUDITD_BAD_RECORD', reason: rec, stage: 'parsing' });
          continue;
        }
        seq++;
        let g = open.get(rec.serial);
        if (g && g.sec !== rec.sec) {
          flush(g); // serial reused after a restart: a different event
          g = undefined;
        }
        if (rec.type === 'EOE') {
          if (g) flush(g);
          continue;
        }
        const dupKey = `${rec.serial}|${text}`;
        if (seen.has(dupKey)) continue;
        seen.add(dupKey);
        if (!g) {
          g = { serial: rec.serial, sec: rec.sec, ms: rec.ms, line: lineNo, node: rec.node, records: [], lastSeq: seq };
          open.set(rec.serial, g);
        }
        g.lastSeq = seq;
        if (g.records.length >= MAX_RECORDS_PER_GROUP) {
          issues.push({
            file,
            line: lineNo,
            code: 'AUDITD_GROUP_OVERFLOW',
            reason: `event ${rec.serial} has over ${MAX_RECORDS_PER_GROUP} records; the rest are ignored`,
            stage: 'parsing',
          });
          continue;
        }
        const fields: Fields = {};
        const enriched: Fields = {};
        const cut: string[] = [];
        const openEnd = parseFields(rec.rest, fields, enriched, cut);
        const finalLine = batch.unterminated === true && i === batch.lines.length - 1;
        const broken = dropBroken(rec.type, fields, cut, finalLine ? openEnd : undefined);
        for (const [code, reason] of broken) issues.push({ file, line: lineNo, code, reason, stage: 'parsing' });
        g.records.push({ type: rec.type, fields, enriched });
        // groups that have seen no record for a while are complete; so is anything past the table bound
        for (const [, old] of open) {
          if (seq - old.lastSeq < GROUP_HORIZON && open.size <= maxPending) break;
          flush(old);
        }
      }
      if (seen.size > 4 * maxPending * MAX_RECORDS_PER_GROUP) seen.clear();
      if (events.length > 0 || issues.length > 0) {
        yield { events, issues };
        events = [];
        issues = [];
      }
    }
    for (const [, g] of open) flush(g);
    if (events.length > 0 || issues.length > 0) yield { events, issues };
  },
};
