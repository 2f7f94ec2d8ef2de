/**
 * Windows events as JSON in the evtx crate's shape (`evtx_dump -o jsonl`, Chainsaw, Hayabusa's raw records):
 * `{"Event":{"System":{"Provider":{"#attributes":{"Name":…}},"EventID":…},"EventData":{…}}}`, one object per
 * line. `Record N` lines from evtx_dump's default output are skipped, and so are the brackets and commas of a
 * JSON array written one record per line. Each record becomes a WinEvent, mapped by `winEventToCoal`.
 */
import type { CoalEvent } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { sourceLines } from './lines.js';
import type { SourceBatch, SourceContext, SourceDescriptor, SourceInput } from './types.js';
import { type WinEvent, winEventToCoal } from './win-event.js';

type Obj = Record<string, unknown>;
const MAX_VALUE_CHARS = 64 * 1024;
const MAX_DATA_VALUES = 256;
const RECORD_LINE = /^Record \d{1,20}$/;
/** A pretty-printed record is a few KiB; past this it is skipped. */
const MAX_PRETTY_RECORD_CHARS = 1024 * 1024;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON value as Windows would render it: text as is, integers decimal, `#text` of an element. */
export function renderValue(v: unknown, depth = 0): string | undefined {
  if (typeof v === 'string') return clip(v, MAX_VALUE_CHARS);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return '';
  if (depth < 2 && isObject(v) && '#text' in v) return renderValue(v['#text'], depth + 1);
  if (depth < 2 && Array.isArray(v))
    return clip(
      v
        .slice(0, 64)
        .map((x) => renderValue(x, depth + 1) ?? '')
        .join(' '),
      MAX_VALUE_CHARS,
    );
  return undefined;
}

/** An integer from a JSON number or decimal string, strictly. */
export function intValue(v: unknown): number | undefined {
  if (isObject(v) && '#text' in v) return intValue(v['#text']);
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

/** Leaf values of a UserData-like object, by key, into `data`. */
export function leafValues(o: Obj, data: Record<string, string>, depth = 0): void {
  for (const key of Object.keys(o)) {
    if (Object.keys(data).length >= MAX_DATA_VALUES) return;
    if (key.startsWith('#')) continue;
    const v = o[key];
    if (isObject(v) && !('#text' in v)) {
      if (depth < 8) leafValues(v, data, depth + 1);
      continue;
    }
    const text = renderValue(v);
    if (text !== undefined && !Object.hasOwn(data, key)) data[clip(key, 128)] = text;
  }
}

function attrs(v: unknown): Obj {
  return isObject(v) && isObject(v['#attributes']) ? v['#attributes'] : {};
}

function str(v: unknown, max = 256): string | undefined {
  const s = renderValue(v);
  return s === undefined || s === '' ? undefined : clip(s, max);
}

/** One evtx-crate record (`{"Event":{…}}`) as a WinEvent, or why not. */
export function winEventFromEvtxJson(o: Obj, hostHint?: string): WinEvent | string {
  const event = o.Event;
  if (!isObject(event)) return 'no "Event" object';
  const sys = event.System;
  if (!isObject(sys)) return 'no Event.System object';
  const provider = str(attrs(sys.Provider).Name) ?? str(attrs(sys.Provider).EventSourceName);
  if (provider === undefined) return 'no System.Provider Name';
  const eventId = intValue(sys.EventID);
  if (eventId === undefined || eventId > 65535) return 'System.EventID is not a number';
  const time = str(attrs(sys.TimeCreated).SystemTime, 64);
  if (time === undefined || parseTimestamp(time) === undefined) return 'System.TimeCreated SystemTime is not a time';
  const computer = str(sys.Computer) ?? hostHint;
  if (computer === undefined) return 'no System.Computer';
  const ev: WinEvent = {
    provider,
    channel: str(sys.Channel) ?? '',
    eventId,
    timeCreated: time,
    computer: clip(computer, 256),
    data: {},
  };
  const record = intValue(sys.EventRecordID);
  if (record !== undefined) ev.recordId = record;
  const exec = attrs(sys.Execution);
  const pid = intValue(exec.ProcessID);
  if (pid !== undefined) ev.executionPid = pid;
  const tid = intValue(exec.ThreadID);
  if (tid !== undefined) ev.executionTid = tid;
  const sid = str(attrs(sys.Security).UserID);
  if (sid !== undefined) ev.userSid = sid;
  const eventData = event.EventData;
  if (isObject(eventData)) {
    for (const key of Object.keys(eventData)) {
      if (Object.keys(ev.data).length >= MAX_DATA_VALUES) break;
      if (key.startsWith('#')) continue;
      const v = eventData[key];
      // unnamed <Data> elements: "Data": ["a", "b"] or {"#text": ["a", "b"]}
      const list = key === 'Data' ? (isObject(v) ? v['#text'] : v) : undefined;
      if (Array.isArray(list)) {
        list.slice(0, MAX_DATA_VALUES).forEach((x, i) => {
          ev.data[`param${i + 1}`] = renderValue(x) ?? '';
        });
        continue;
      }
      const text = renderValue(v);
      if (text !== undefined) ev.data[clip(key, 128)] = text;
    }
  }
  if (isObject(event.UserData)) leafValues(event.UserData, ev.data);
  return ev;
}

/**
 * The line loop every JSON Windows format shares: bounded lines, `Record N` and array punctuation skipped,
 * each object decoded by `decode` and mapped by `winEventToCoal`; problems are issues with file:line.
 */
export async function* readWinJsonLines(
  input: SourceInput,
  context: SourceContext,
  format: string,
  code: string,
  decode: (o: Obj, hostHint?: string) => WinEvent | string,
): AsyncGenerator<SourceBatch> {
  const file = input.name;
  let issues: Issue[] = [];
  let events: CoalEvent[] = [];
  let unused = 0;
  const limit = Math.max(context.maxLineBytes, MAX_PRETTY_RECORD_CHARS);
  // a pretty-printed record (evtx_dump's default output, Chainsaw's --json array): from a line `{` to the
  // line `}` or `},` at the same indentation
  let pretty: string[] | undefined;
  let prettyLine = 0;
  let prettyIndent = '';
  let prettyChars = 0;
  let prettySkip = false;
  const handle = (text: string, line: number) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      issues.push(issue({ file, line }, `${code}_BAD_JSON`, clip((err as Error).message, 200)));
      return;
    }
    const records = Array.isArray(parsed) ? parsed.slice(0, context.maxPendingRecords) : [parsed];
    for (const o of records) {
      if (!isObject(o)) {
        issues.push(issue({ file, line }, `${code}_BAD_EVENT`, 'record is JSON but not an object'));
        continue;
      }
      const ev = decode(o, input.hostHint);
      if (typeof ev === 'string') {
        issues.push(issue({ file, line }, `${code}_BAD_EVENT`, ev, 'normalising'));
        continue;
      }
      const out = winEventToCoal(ev, { file, line }, format, context.keepWindowsRecord);
      if (out) events.push(out);
      else unused++;
    }
  };
  for await (const batch of sourceLines(input, context, (i) => issues.push(i))) {
    for (let i = 0; i < batch.lines.length; i++) {
      const line = batch.lineNos[i];
      const raw = batch.lines[i];
      let text = raw.trim();
      if (pretty !== undefined || prettySkip) {
        const closes =
          (text === '}' || text === '},') && raw.slice(0, raw.length - raw.trimStart().length) === prettyIndent;
        if (RECORD_LINE.test(text)) {
          if (!prettySkip)
            issues.push(issue({ file, line: prettyLine }, `${code}_TRUNCATED`, 'record ends before its closing brace'));
          pretty = undefined;
          prettySkip = false;
          continue;
        }
        if (prettySkip) {
          if (closes) prettySkip = false;
          continue;
        }
        prettyChars += raw.length + 1;
        if (prettyChars > limit) {
          issues.push(
            issue(
              { file, line: prettyLine },
              `${code}_TOO_LARGE`,
              `record over ${limit} characters; skipped`,
              'reading',
            ),
          );
          pretty = undefined;
          prettySkip = !closes;
          continue;
        }
        pretty?.push(closes ? '}' : raw);
        if (closes && pretty !== undefined) {
          const whole = pretty.join('\n');
          pretty = undefined;
          handle(whole, prettyLine);
        }
        continue;
      }
      if (text === '' || text === '[' || text === ']' || text === '],' || RECORD_LINE.test(text)) continue;
      if (text === '{' || text === '[{') {
        pretty = ['{'];
        prettyLine = line;
        prettyIndent = raw.slice(0, raw.length - raw.trimStart().length);
        prettyChars = 1;
        continue;
      }
      // a JSON array written one record per line: `[{…},` … `{…}]`
      if (!(text.startsWith('[') && text.endsWith(']'))) {
        if (text.startsWith('[{')) text = text.slice(1);
        if (text.endsWith(',')) text = text.slice(0, -1);
        if (text.endsWith('}]')) text = text.slice(0, -1);
      }
      handle(text, line);
    }
    yield { events, issues, unused };
    events = [];
    issues = [];
    unused = 0;
  }
  if (pretty !== undefined)
    issues.push(issue({ file, line: prettyLine }, `${code}_TRUNCATED`, 'input ends inside a record'));
  if (issues.length > 0) yield { events: [], issues };
}

/** The first line that is a record (not `Record N`, not a bracket). */
export function firstRecordLine(head: string): string | undefined {
  for (const l of head.split('\n', 16)) {
    const t = l.trim();
    if (t === '' || t === '[' || RECORD_LINE.test(t)) continue;
    return t.startsWith('[{') ? t.slice(1) : t;
  }
  return undefined;
}

export const evtxJson: SourceDescriptor = {
  name: 'evtx-json',
  summary: 'Windows events as evtx_dump / Chainsaw / Hayabusa JSON lines ({"Event":{"System":…,"EventData":…}})',
  platform: 'windows',
  delivers: 'events',
  sniff(head) {
    const first = firstRecordLine(head);
    if (!first?.startsWith('{')) return 0;
    if (first === '{')
      return /^\s*\{\s*"Event"\s*:\s*\{/.test(head.slice(head.indexOf('{'))) && head.includes('"System"') ? 85 : 0;
    try {
      const o = JSON.parse(first.endsWith(',') ? first.slice(0, -1) : first) as unknown;
      return isObject(o) && isObject(o.Event) && isObject(o.Event.System) ? 95 : 0;
    } catch {
      return /^\{\s*"Event"\s*:\s*\{/.test(first) && first.includes('"System"') ? 85 : 0;
    }
  },
  read(input, context) {
    return readWinJsonLines(input, context, 'evtx-json', 'EVTX_JSON', winEventFromEvtxJson);
  },
};
