/**
 * Sysmon for Linux (Sysinternals SysmonForLinux) writes each event as one line of Sysmon's event XML to syslog:
 * `Dec  7 10:00:00 host sysmon: <Event>…</Event>` in /var/log/syslog or `journalctl` text, bare `<Event>…`
 * lines (sysmonLogView, `journalctl -o cat`), or the XML in the MESSAGE of `journalctl -o json` records.
 * Each event is parsed by evtx-xml's parser into a WinEvent and mapped by win-event.ts as Windows Sysmon is,
 * on a `linux` host. Other programs' syslog lines and journald records are counted unused; anything else,
 * and an event cut or malformed, is an issue naming its line.
 */
import type { CoalEvent, SourceRef } from '../model/event.js';
import { type Issue, type IssueStage, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseXmlElement, winEventFromXml } from './evtx-xml.js';
import { sourceLines } from './lines.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';
import { LINUX_SYSMON, winEventToCoal } from './win-event.js';

const FORMAT = 'sysmon-linux';
/** A syslog line's header (time, host) is looked at up to this many characters. */
const MAX_HEADER_CHARS = 512;
/** Between the host and the event: the tag and pid (`sysmon[812]: `), or RFC 5424's app, procid, msgid and SD. */
const MAX_TAG_CHARS = 256;
const BATCH = 512;
/** Lines of the head the sniffer looks at: Sysmon events are 1–3 KiB, other programs' lines come between. */
const SNIFF_LINES = 400;
const MONTHS = new Set(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']);

const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 9;

/** Index of `<Event>` or `<Event ` in text[from, to), else -1 (not `<Events>`, not `<EventData>`). */
function eventStart(text: string, from: number, to: number): number {
  for (let i = text.indexOf('<Event', from); i >= 0 && i < to; i = text.indexOf('<Event', i + 6)) {
    const c = text.charCodeAt(i + 6);
    if (c === 62 || isSpace(c)) return i;
  }
  return -1;
}

/** End of the whitespace-free token at `i` (bounded by `to`). */
function tokenEnd(text: string, i: number, to: number): number {
  let j = i;
  while (j < to && !isSpace(text.charCodeAt(j))) j++;
  return j;
}

function skipSpaces(text: string, i: number, to: number): number {
  let j = i;
  while (j < to && isSpace(text.charCodeAt(j))) j++;
  return j;
}

/**
 * A syslog line's head: an optional `<PRI>` (and RFC 5424's version), the time as rsyslog writes it
 * (`Dec  7 10:00:00`, or RFC 3339 `2025-12-10T22:27:58.152234+09:00`), then the host. The host and where
 * the text after it starts, or undefined when the line is not shaped so. Scanned by hand: no regex.
 */
export function syslogHead(line: string): { host: string; rest: number } | undefined {
  const to = Math.min(line.length, MAX_HEADER_CHARS);
  let i = 0;
  if (line.charCodeAt(0) === 60) {
    let j = 1;
    while (j < 4 && isDigit(line.charCodeAt(j))) j++;
    if (j === 1 || line.charCodeAt(j) !== 62) return undefined;
    i = j + 1;
    // RFC 5424: `<134>1 2026-…`
    if (line.charCodeAt(i) === 49 && line.charCodeAt(i + 1) === 32) i += 2;
  }
  if (MONTHS.has(line.slice(i, i + 3)) && line.charCodeAt(i + 3) === 32) {
    i = skipSpaces(line, i + 3, to);
    const day = i;
    while (i < to && isDigit(line.charCodeAt(i))) i++;
    if (i === day || i - day > 2 || !isSpace(line.charCodeAt(i))) return undefined;
    i++;
    const t = line.slice(i, i + 8);
    if (t.length !== 8 || t[2] !== ':' || t[5] !== ':') return undefined;
    for (const k of [0, 1, 3, 4, 6, 7]) if (!isDigit(t.charCodeAt(k))) return undefined;
    i = tokenEnd(line, i + 8, to); // fractions some templates add
  } else if (isDigit(line.charCodeAt(i))) {
    const stamp = line.slice(i, i + 11);
    if (stamp.length !== 11 || stamp[4] !== '-' || stamp[7] !== '-' || stamp[10] !== 'T') return undefined;
    i = tokenEnd(line, i, to);
  } else return undefined;
  const start = skipSpaces(line, i, to);
  const end = tokenEnd(line, start, to);
  if (start === i || end === start || end >= to) return undefined;
  return { host: line.slice(start, end), rest: end };
}

/** The XML of one event (and the host its frame names), `unused`, or why the line cannot be read. */
type Message = { xml: string; host?: string } | 'unused' | Bad;

/** What one text line holds (not JSON). `undefined`: nothing to count (blank, a journalctl `-- …` marker). */
function textMessage(line: string): Message | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('-- ')) return undefined;
  if (eventStart(text, 0, 1) === 0) return { xml: text };
  const head = syslogHead(text);
  if (!head)
    return {
      code: 'SYSMON_LINUX_NOT_SYSLOG',
      bad: 'neither a syslog line, an <Event> element nor a journald JSON record',
    };
  const at = eventStart(text, head.rest, head.rest + MAX_TAG_CHARS);
  // another program's line (or sysmon's own start-up messages): nothing Sysmon recorded
  if (at < 0) return 'unused';
  return { xml: text.slice(at), host: head.host };
}

/** What one journald JSON record (`journalctl -o json`) holds. */
function journalMessage(o: unknown): Message {
  if (!o || typeof o !== 'object' || Array.isArray(o))
    return { code: 'SYSMON_LINUX_BAD_RECORD', bad: 'not a JSON object' };
  const r = o as Record<string, unknown>;
  const m = r.MESSAGE;
  let text: string;
  if (typeof m === 'string') text = m;
  // journald gives a message that is not valid UTF-8 as its bytes
  else if (Array.isArray(m) && m.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
    text = Buffer.from(m as number[]).toString('utf8');
  else return { code: 'SYSMON_LINUX_BAD_RECORD', bad: 'no MESSAGE text' };
  text = text.trim();
  if (eventStart(text, 0, 1) !== 0) return 'unused';
  const host = r._HOSTNAME;
  return typeof host === 'string' && host !== '' ? { xml: text, host: clip(host, 256) } : { xml: text };
}

/** Whether a head line looks like one of this format's: an event of Sysmon for Linux, however framed. */
function isSysmonLine(line: string): boolean {
  return line.includes('Linux-Sysmon') && line.includes('<Event') && line.includes('<System>');
}

export const sysmonLinux: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Sysmon for Linux events as syslog writes them (/var/log/syslog, journalctl text or JSON, bare <Event> lines)',
  platform: 'linux',
  delivers: 'events',
  sniff(head) {
    const lines = head.split('\n', SNIFF_LINES);
    const first = lines.find((l) => l.trim() !== '')?.trim();
    if (first === undefined) return 0;
    // the file opens as this format can: an event, a syslog line, a journald record or journalctl's banner
    const opens =
      eventStart(first, 0, 1) === 0 ||
      syslogHead(first) !== undefined ||
      first.startsWith('-- ') ||
      (first.startsWith('{') && first.includes('"MESSAGE"'));
    if (!opens) return 0;
    return lines.some(isSysmonLine) ? 90 : 0;
  },
  read(input, context) {
    return readSysmon(input, context);
  },
};

/** A problem with one line: its issue code, reason and stage. */
interface Bad {
  code: string;
  bad: string;
  stage?: IssueStage;
}

/** One event's XML as a CoalEvent, `unused` (a record no analytic and no loaded rule reads), or why not. */
function eventOf(
  xml: string,
  host: string | undefined,
  ref: SourceRef,
  context: SourceContext,
): CoalEvent | 'unused' | Bad {
  const body = xml.trimEnd();
  // a copy taken while the line was written, or syslog's message limit (rsyslog: 8 KiB) cut it
  if (body.indexOf('</Event>') < 0) return { code: 'SYSMON_LINUX_TRUNCATED', bad: 'the event ends before </Event>' };
  const root = parseXmlElement(body);
  if (typeof root === 'string') return { code: 'SYSMON_LINUX_MALFORMED', bad: root };
  const ev = winEventFromXml(root, host);
  if (typeof ev === 'string') return { code: 'SYSMON_LINUX_BAD_EVENT', bad: ev, stage: 'normalising' };
  if (ev.provider !== LINUX_SYSMON)
    return {
      code: 'SYSMON_LINUX_BAD_EVENT',
      bad: `provider "${clip(ev.provider, 60)}" is not ${LINUX_SYSMON}`,
      stage: 'normalising',
    };
  return winEventToCoal(ev, ref, FORMAT, context.keepWindowsRecord) ?? 'unused';
}

/** A JSON line: a journald record's message, or why the line is not one. */
function jsonMessage(text: string, unterminated: boolean): Message {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return unterminated
      ? { code: 'SYSMON_LINUX_TRUNCATED', bad: 'the last line ends inside its record' }
      : { code: 'SYSMON_LINUX_BAD_JSON', bad: clip((err as Error).message, 200) };
  }
  return journalMessage(o);
}

async function* readSysmon(input: SourceInput, context: SourceContext): AsyncGenerator<SourceBatch> {
  const file = input.name;
  let batch: SourceBatch = { events: [], issues: [], unused: 0 };
  const report = (i: Issue) => batch.issues.push(i);
  for await (const lines of sourceLines(input, context, report)) {
    for (let k = 0; k < lines.lines.length; k++) {
      const text = lines.lines[k];
      const ref = { file, line: lines.lineNos[k] };
      const message = text.trimStart().startsWith('{')
        ? jsonMessage(text, k === lines.lines.length - 1 && lines.unterminated === true)
        : textMessage(text);
      if (message === undefined) continue;
      const out =
        message === 'unused' || 'bad' in message
          ? message
          : eventOf(message.xml, message.host ?? input.hostHint, ref, context);
      if (out === 'unused') batch.unused = (batch.unused ?? 0) + 1;
      else if ('bad' in out) report(issue(ref, out.code, out.bad, out.stage));
      else batch.events.push(out);
      if (batch.events.length + batch.issues.length >= BATCH) {
        yield batch;
        batch = { events: [], issues: [], unused: 0 };
      }
    }
  }
  if (batch.events.length > 0 || batch.issues.length > 0 || (batch.unused ?? 0) > 0) yield batch;
}
