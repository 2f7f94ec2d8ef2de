/**
 * Winlogbeat / Elastic Agent Windows events (ECS JSON, one per line, as written by a file output or exported
 * from Elasticsearch): `winlog.provider_name`, `winlog.event_id`, `winlog.event_data`, `winlog.user_data`.
 * Each line becomes a WinEvent, mapped by the shared `winEventToCoal`.
 */

import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { firstRecordLine, intValue, isObject, leafValues, readWinJsonLines, renderValue } from './evtx-json.js';
import type { SourceDescriptor } from './types.js';
import type { WinEvent } from './win-event.js';

type Obj = Record<string, unknown>;
const MAX_VALUE_CHARS = 64 * 1024;
const MAX_DATA_VALUES = 256;

function str(v: unknown, max = 256): string | undefined {
  const s = renderValue(v);
  return s === undefined || s === '' ? undefined : clip(s, max);
}

/** One Winlogbeat document as a WinEvent, or why not. */
export function winEventFromWinlogbeat(o: Obj, hostHint?: string): WinEvent | string {
  const w = o.winlog;
  if (!isObject(w)) return 'no "winlog" object';
  const provider = str(w.provider_name);
  if (provider === undefined) return 'no winlog.provider_name';
  const eventId = intValue(w.event_id);
  if (eventId === undefined || eventId > 65535) return 'winlog.event_id is not a number';
  const time = typeof o['@timestamp'] === 'string' ? o['@timestamp'].slice(0, 64) : undefined;
  const ms = parseTimestamp(time);
  if (time === undefined || ms === undefined) return '@timestamp is not a time';
  const host = isObject(o.host) ? str(o.host.name) : undefined;
  const computer = str(w.computer_name) ?? host ?? hostHint;
  if (computer === undefined) return 'no winlog.computer_name or host.name';
  const ev: WinEvent = {
    provider,
    channel: str(w.channel) ?? '',
    eventId,
    timeCreated: new Date(ms).toISOString(),
    computer: clip(computer, 256),
    data: {},
  };
  const record = intValue(w.record_id);
  if (record !== undefined) ev.recordId = record;
  if (isObject(w.process)) {
    const pid = intValue(w.process.pid);
    if (pid !== undefined) ev.executionPid = pid;
    const tid = isObject(w.process.thread) ? intValue(w.process.thread.id) : undefined;
    if (tid !== undefined) ev.executionTid = tid;
  }
  const sid = isObject(w.user) ? str(w.user.identifier) : undefined;
  if (sid !== undefined) ev.userSid = sid;
  if (isObject(w.event_data)) {
    for (const key of Object.keys(w.event_data)) {
      if (Object.keys(ev.data).length >= MAX_DATA_VALUES) break;
      const text = renderValue(w.event_data[key]);
      if (text !== undefined) ev.data[clip(key, 128)] = clip(text, MAX_VALUE_CHARS);
    }
  }
  if (isObject(w.user_data)) leafValues(w.user_data, ev.data);
  return ev;
}

export const winlogbeat: SourceDescriptor = {
  name: 'winlogbeat',
  summary: 'Winlogbeat / Elastic Agent Windows events (ECS JSON lines with winlog.*)',
  platform: 'windows',
  delivers: 'events',
  sniff(head) {
    const first = firstRecordLine(head);
    if (!first?.startsWith('{')) return 0;
    try {
      const o = JSON.parse(first.endsWith(',') ? first.slice(0, -1) : first) as unknown;
      // higher than ndjson's 80: a Winlogbeat document also has @timestamp and event.action
      return isObject(o) && isObject(o.winlog) && o.winlog.event_id !== undefined ? 95 : 0;
    } catch {
      return /"winlog"\s*:\s*\{/.test(first) && first.includes('"event_id"') ? 85 : 0;
    }
  },
  read(input, context) {
    return readWinJsonLines(input, context, 'winlogbeat', 'WINLOGBEAT', winEventFromWinlogbeat);
  },
};
