/**
 * Windows event logs exported as XML: `wevtutil qe <log> /f:xml` (concatenated `<Event>` elements, no root)
 * or Event Viewer's "Save as XML" (wrapped in `<Events>`). Streamed: each `<Event>…</Event>` is cut out with a
 * bounded buffer, parsed by a small non-validating parser (no DTDs, no external entities), turned into a
 * WinEvent and mapped by the shared `winEventToCoal`. Events no analytic reads are skipped silently.
 */
import { StringDecoder } from 'node:string_decoder';
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import type { SourceDescriptor } from './types.js';
import { decodeXmlEntities, type WinEvent, winEventToCoal } from './win-event.js';

const NAMESPACE = 'http://schemas.microsoft.com/win/2004/08/events/event';
/** One event's XML may not exceed this; Sysmon events are a few KiB. */
export const MAX_EVENT_CHARS = 1024 * 1024;
const MAX_VALUE_CHARS = 64 * 1024;
const MAX_DEPTH = 32;
const MAX_NODES = 4096;
const MAX_DATA_VALUES = 256;
/** Junk regions reported individually before they are only counted. */
const MAX_JUNK_ISSUES = 100;

export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon >= 0 ? qname.slice(colon + 1) : qname;
}

const NAME = /^[A-Za-z_][\w.:-]{0,127}$/;
const ATTR = /([A-Za-z_][\w.:-]{0,127})\s*=\s*(?:"([^"]*)"|'([^']*)')/y;

function parseAttrs(src: string, into: Record<string, string>): string | undefined {
  let i = 0;
  let n = 0;
  while (i < src.length) {
    while (i < src.length && /\s/.test(src[i])) i++;
    if (i >= src.length) break;
    ATTR.lastIndex = i;
    const m = ATTR.exec(src);
    if (!m) return `bad attribute near "${clip(src.slice(i, i + 30), 40)}"`;
    if (++n > 32) return 'too many attributes';
    into[localName(m[1])] = decodeXmlEntities(m[2] ?? m[3] ?? '');
    i = ATTR.lastIndex;
  }
  return undefined;
}

/** A small, bounded, non-validating XML parser for one element; returns the root or why it is malformed. */
export function parseXmlElement(xml: string): XmlNode | string {
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let nodes = 0;
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) {
        if (top.text.length < MAX_VALUE_CHARS) top.text += decodeXmlEntities(text);
      } else if (text.trim() !== '') return 'text outside the element';
    }
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end < 0) return 'unterminated comment';
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9);
      if (end < 0) return 'unterminated CDATA section';
      const top = stack[stack.length - 1];
      if (!top) return 'CDATA outside the element';
      if (top.text.length < MAX_VALUE_CHARS) top.text += xml.slice(lt + 9, end);
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) return 'unterminated processing instruction';
      i = end + 2;
      continue;
    }
    if (xml.startsWith('<!', lt)) return 'DTD declarations are not allowed';
    const gt = xml.indexOf('>', lt + 1);
    if (gt < 0) return 'unterminated tag';
    const inner = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (inner.startsWith('/')) {
      const name = inner.slice(1).trim();
      const top = stack.pop();
      if (!top || localName(name) !== top.name) return `closing tag </${clip(name, 60)}> does not match`;
      if (stack.length === 0) {
        if (xml.slice(i).trim() !== '') return 'content after the element';
        return top;
      }
      continue;
    }
    const selfClosing = inner.endsWith('/');
    const body = selfClosing ? inner.slice(0, -1) : inner;
    const space = body.search(/\s/);
    const qname = space < 0 ? body : body.slice(0, space);
    if (!NAME.test(qname)) return `bad tag name "${clip(qname, 60)}"`;
    if (++nodes > MAX_NODES) return `more than ${MAX_NODES} elements`;
    if (stack.length >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH}`;
    const node: XmlNode = { name: localName(qname), attrs: {}, children: [], text: '' };
    if (space >= 0) {
      const bad = parseAttrs(body.slice(space), node.attrs);
      if (bad) return bad;
    }
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(node);
    else if (root) return 'more than one root element';
    else root = node;
    if (selfClosing) {
      if (!parent) return xml.slice(i).trim() === '' ? node : 'content after the element';
    } else stack.push(node);
  }
  return stack.length > 0 ? `unclosed <${stack[stack.length - 1].name}>` : (root ?? 'no element');
}

function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return node?.children.find((c) => c.name === name);
}

function intOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  return /^\d{1,15}$/.test(s) ? Number(s) : undefined;
}

function leaves(node: XmlNode, data: Record<string, string>, depth: number): void {
  for (const c of node.children) {
    if (Object.keys(data).length >= MAX_DATA_VALUES) return;
    if (c.children.length === 0) {
      if (!Object.hasOwn(data, c.name)) data[c.name] = clip(c.text.trim(), MAX_VALUE_CHARS);
    } else if (depth < 8) leaves(c, data, depth + 1);
  }
}

/** An `<Event>` element as a WinEvent, or why it is not one. */
export function winEventFromXml(root: XmlNode, hostHint?: string): WinEvent | string {
  if (root.name !== 'Event') return `root element is <${clip(root.name, 60)}>, not <Event>`;
  const sys = child(root, 'System');
  if (!sys) return 'no <System> block';
  const provider = child(sys, 'Provider');
  const providerName = provider?.attrs.Name ?? provider?.attrs.EventSourceName;
  if (!providerName) return 'no System/Provider@Name';
  const eventId = intOf(child(sys, 'EventID')?.text);
  if (eventId === undefined || eventId > 65535) return 'System/EventID is not a number';
  const time = child(sys, 'TimeCreated')?.attrs.SystemTime;
  if (time === undefined || parseTimestamp(time.trim()) === undefined)
    return `System/TimeCreated@SystemTime ${time === undefined ? 'is missing' : `"${clip(time, 40)}" is not a time`}`;
  const computer = child(sys, 'Computer')?.text.trim() || hostHint;
  if (!computer) return 'no System/Computer';
  const ev: WinEvent = {
    provider: clip(providerName, 256),
    channel: clip(child(sys, 'Channel')?.text.trim() ?? '', 256),
    eventId,
    timeCreated: time.trim(),
    computer: clip(computer, 256),
    data: {},
  };
  const record = intOf(child(sys, 'EventRecordID')?.text);
  if (record !== undefined) ev.recordId = record;
  const exec = child(sys, 'Execution');
  const pid = intOf(exec?.attrs.ProcessID);
  if (pid !== undefined) ev.executionPid = pid;
  const tid = intOf(exec?.attrs.ThreadID);
  if (tid !== undefined) ev.executionTid = tid;
  // Sysmon for Linux writes the logging process's uid as `UserId`
  const security = child(sys, 'Security');
  const sid = security?.attrs.UserID ?? security?.attrs.UserId;
  if (sid) ev.userSid = clip(sid, 256);
  const eventData = child(root, 'EventData');
  if (eventData) {
    let unnamed = 0;
    for (const c of eventData.children) {
      if (Object.keys(ev.data).length >= MAX_DATA_VALUES) break;
      const value = clip(c.text, MAX_VALUE_CHARS);
      if (c.name === 'Data') {
        const name = c.attrs.Name;
        ev.data[name ? clip(name, 128) : `param${++unnamed}`] = value;
      } else if (c.name === 'Binary') ev.data.Binary = value.trim();
    }
  }
  const userData = child(root, 'UserData');
  if (userData) leaves(userData, ev.data, 0);
  return ev;
}

/** Counts newlines in s[from, to). */
function newlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Start of an `<Event>` element (not `<Events>`, not `<EventData>`). */
function isEventStart(s: string, at: number): boolean {
  if (!s.startsWith('<Event', at)) return false;
  const c = s.charCodeAt(at + 6);
  return c === 62 || c === 32 || c === 9 || c === 10 || c === 13 || c === 47;
}

/** A UTF-16LE export: its byte-order mark, or `<` followed by a NUL. */
function isUtf16le(first: Buffer): boolean {
  return (first[0] === 0xff && first[1] === 0xfe) || (first[0] === 0x3c && first[1] === 0);
}

export const evtxXml: SourceDescriptor = {
  name: 'evtx-xml',
  summary: 'Windows event log exported as XML (wevtutil /f:xml, Event Viewer "Save as XML"): Sysmon, Security',
  platform: 'windows',
  delivers: 'events',
  sniff(head) {
    if (head.startsWith('ElfFile')) return 0;
    // PowerShell's `wevtutil … > out.xml` writes UTF-16LE: the head arrives with NULs between the characters
    if (head.includes('\u0000')) head = head.replace(/\u0000/g, '');
    const start = head.search(/<Events?[\s>]/);
    if (start < 0 || start > 4096) return 0;
    return head.includes(NAMESPACE) ? 95 : 0;
  },
  async *read(input, context) {
    const file = input.name;
    let issues: Issue[] = [];
    let events: CoalEvent[] = [];
    let decoder: StringDecoder | undefined;
    let buf = '';
    let pos = 0;
    let line = 1; // line of buf[pos]
    let inJunk = false;
    let junkIssues = 0;
    let junkMore = 0;
    let unused = 0;
    /** Offset from pos already searched for `</Event>` without success (an event split across chunks). */
    let searchFrom = 0;
    let skippingFrom = 0; // line of an oversized event being skipped, 0 when none
    const limit = Math.max(MAX_EVENT_CHARS, context.maxLineBytes);
    const advance = (to: number) => {
      line += newlines(buf, pos, to);
      pos = to;
    };
    const junk = () => {
      if (inJunk) return;
      inJunk = true;
      if (junkIssues++ < MAX_JUNK_ISSUES)
        issues.push(
          issue({ file, line }, 'EVTX_XML_JUNK', 'text that is not an <Event> element; skipped to the next one'),
        );
      else junkMore++;
    };
    const handleEvent = (xml: string, at: number) => {
      const root = parseXmlElement(xml);
      if (typeof root === 'string') {
        issues.push(issue({ file, line: at }, 'EVTX_XML_MALFORMED', root));
        return;
      }
      const ev = winEventFromXml(root, input.hostHint);
      if (typeof ev === 'string') {
        issues.push(issue({ file, line: at }, 'EVTX_XML_BAD_EVENT', ev, 'normalising'));
        return;
      }
      const out = winEventToCoal(ev, { file, line: at }, 'evtx-xml', context.keepWindowsRecord);
      if (out) events.push(out);
      else unused++;
    };
    /** Consumes what it can of buf; `final` when no more input comes. */
    const scan = (final: boolean) => {
      for (;;) {
        if (skippingFrom > 0) {
          const end = buf.indexOf('</Event>', pos);
          if (end < 0) {
            const keep = Math.max(pos, buf.length - 8);
            advance(keep);
            if (final)
              issues.push(
                issue({ file, line: skippingFrom }, 'EVTX_XML_TRUNCATED', 'input ends inside an oversized event'),
              );
            return;
          }
          advance(end + 8);
          skippingFrom = 0;
          continue;
        }
        while (
          pos < buf.length &&
          (buf[pos] === ' ' || buf[pos] === '\n' || buf[pos] === '\r' || buf[pos] === '\t' || buf[pos] === '\ufeff')
        ) {
          if (buf[pos] === '\n') line++;
          pos++;
        }
        if (pos >= buf.length) return;
        if (buf[pos] !== '<') {
          junk();
          const lt = buf.indexOf('<', pos);
          advance(lt < 0 ? buf.length : lt);
          continue;
        }
        if (isEventStart(buf, pos)) {
          const end = buf.indexOf('</Event>', pos + searchFrom);
          if (end < 0) {
            searchFrom = Math.max(0, buf.length - pos - 8);
            if (buf.length - pos > limit) {
              skippingFrom = line;
              searchFrom = 0;
              inJunk = false;
              issues.push(
                issue({ file, line }, 'EVTX_XML_TOO_LARGE', `event over ${limit} characters; skipped`, 'reading'),
              );
              continue;
            }
            if (final) {
              issues.push(issue({ file, line }, 'EVTX_XML_TRUNCATED', 'input ends inside an <Event> element'));
              advance(buf.length);
            }
            return;
          }
          searchFrom = 0;
          // an event cut off by the start of the next: report the cut, read the next
          let next = buf.indexOf('<Event', pos + 6);
          while (next >= 0 && next < end && !isEventStart(buf, next)) next = buf.indexOf('<Event', next + 6);
          if (next >= 0 && next < end) {
            issues.push(issue({ file, line }, 'EVTX_XML_TRUNCATED', 'a new <Event> starts before this one ends'));
            inJunk = false;
            advance(next);
            continue;
          }
          if (end + 8 - pos > limit) {
            issues.push(
              issue({ file, line }, 'EVTX_XML_TOO_LARGE', `event over ${limit} characters; skipped`, 'reading'),
            );
            inJunk = false;
            advance(end + 8);
            continue;
          }
          inJunk = false;
          const at = line;
          const xml = buf.slice(pos, end + 8);
          advance(end + 8);
          handleEvent(xml, at);
          continue;
        }
        // declarations, comments and the <Events> wrapper are skipped
        const skipTo = (close: string): boolean => {
          const end = buf.indexOf(close, pos);
          if (end < 0 || end - pos > 4096) {
            if (end < 0 && buf.length - pos <= 4096 && !final) return false;
            junk();
            advance(pos + 1);
            return true;
          }
          inJunk = false;
          advance(end + close.length);
          return true;
        };
        let handled: boolean | undefined;
        if (buf.startsWith('<?', pos)) handled = skipTo('?>');
        else if (buf.startsWith('<!--', pos)) handled = skipTo('-->');
        else if (buf.startsWith('<Events', pos) || buf.startsWith('</Events', pos)) handled = skipTo('>');
        else if (!final && buf.length - pos < 8) return; // maybe the start of <Event: wait for more
        if (handled === false) return;
        if (handled === undefined) {
          junk();
          advance(pos + 1);
        }
      }
    };
    for await (const chunk of input.open()) {
      decoder ??= new StringDecoder(isUtf16le(chunk) ? 'utf16le' : 'utf8');
      buf += decoder.write(chunk);
      scan(false);
      if (pos > 0) {
        buf = buf.slice(pos);
        pos = 0;
      }
      if (events.length > 0 || issues.length > 0 || unused > 0) {
        yield { events, issues, unused };
        events = [];
        issues = [];
        unused = 0;
      }
    }
    if (decoder) buf += decoder.end();
    scan(true);
    if (junkMore > 0)
      issues.push(
        issue({ file, line }, 'EVTX_XML_JUNK', `${junkMore} more regions of non-event text skipped`, 'reading'),
      );
    if (events.length > 0 || issues.length > 0 || unused > 0) yield { events, issues, unused };
  },
};
