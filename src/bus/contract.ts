/**
 * The bus contract (issue 17): what ingest nodes (`serve --bus`) publish and workers (`coalmine worker`)
 * consume, written once for both. One JetStream stream, COALMINE_EVENTS, over the subjects
 * `coalmine.events.<p>`, p = engine/partition.ts's partition of the event's correlation key (FNV-1a mod
 * 64); a message is a small batch of normalised CoalEvents of one partition, one request body and one
 * kind (events in event time, or standing facts), as NDJSON; its headers say which body (the ingest
 * log's seq, the sensor, the body's name, source and arrival) and `Nats-Msg-Id` = seq + which of the
 * body's events it holds (`msgIdOf`), so a body published again (a retry, a client's resend under its
 * Idempotency-Key, which the log answers with the same seq) is dropped by the stream's duplicate window.
 * Partition leases live in the KV bucket `coalmine-leases`, one key per partition; the host-by-address
 * map the ingest nodes route by in `coalmine-addresses`.
 */
import { createHash } from 'node:crypto';
import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { hostOfAddresses } from '../engine/host-by-ip.js';
import { hostRouteOf, PARTITIONS, type PartitionRoute, partitionOf, partitionRouteOf } from '../engine/partition.js';
import type { CoalEvent } from '../model/event.js';
import { clip } from '../util/hostile.js';

export { PARTITIONS };

/** The one stream every partition's events are in. */
export const EVENTS_STREAM = 'COALMINE_EVENTS';
export const SUBJECT_PREFIX = 'coalmine.events';
/** Every partition's subject (the stream's filter). */
export const EVENTS_SUBJECTS = `${SUBJECT_PREFIX}.*`;

/** The KV bucket of the host-by-address map the ingest nodes share (bus/address-book.ts). */
export const ADDRESS_BUCKET = 'coalmine-addresses';

/** The KV bucket of partition leases (the worker's: key `partitionKey(p)`, value the owner, TTL-expired). */
export const LEASE_BUCKET = 'coalmine-leases';

/**
 * How long the stream remembers a message id: a body published again within it (a retried publish, a
 * client's resend of an unanswered batch) adds nothing. Each id held costs the server memory for the
 * window, so it is minutes (watch --server resends within seconds to minutes), not the ingest log's day:
 * a resend later than this is published again (at-least-once; findings are idempotent).
 */
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60 * 1000;
/** How long events stay in the stream (a worker down longer than this loses them; the log holds the bodies a day). */
export const DEFAULT_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** A message's events: at most this many, and at most this many bytes (under the server's 1 MiB max_payload). */
export const MAX_EVENTS_PER_MESSAGE = 256;
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** The subject of partition `p`. */
export function subjectOf(partition: number): string {
  return `${SUBJECT_PREFIX}.${partition}`;
}

/** The partition a subject names, or undefined when it is none of ours. */
export function partitionOfSubject(subject: string): number | undefined {
  if (!subject.startsWith(`${SUBJECT_PREFIX}.`)) return undefined;
  const tail = subject.slice(SUBJECT_PREFIX.length + 1);
  if (!/^(?:0|[1-9]\d{0,2})$/.test(tail)) return undefined;
  const p = Number(tail);
  return p < PARTITIONS ? p : undefined;
}

/** The KV key of partition `p`'s lease (`p07`: KV keys are tokens, and sort as partitions do). */
export function leaseKeyOf(partition: number): string {
  return `p${String(partition).padStart(2, '0')}`;
}

/**
 * Where an event goes: its correlation route (engine/partition.ts) and that route's partition. An event
 * routed by its address (it names no host) goes to the partition of the host owning that address when
 * `hostOfAddress` knows it (bus/address-book.ts), where that host's events are.
 */
export function routeOf(
  event: CoalEvent,
  hostOfAddress?: (ip: string) => string | undefined,
): PartitionRoute & { partition: number } {
  let route = partitionRouteOf(event);
  if (route.scope === 'addr' && hostOfAddress) {
    const host = hostOfAddresses(event, hostOfAddress);
    if (host) route = hostRouteOf(host);
  }
  return { ...route, partition: partitionOf(route.key) };
}

export interface EventsStreamOptions {
  /** 1 (a single server) to 5; 3 in a cluster that should survive one node. */
  replicas: number;
  duplicateWindowMs?: number;
  maxAgeMs?: number;
  /** The stream's byte bound (oldest dropped past it); default none but the server's. */
  maxBytes?: number;
}

const nanos = (ms: number): number => ms * 1_000_000;

/** The stream's configuration: file storage, limits retention (workers read from a sequence, never delete). */
export function eventsStreamConfig(options: EventsStreamOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: EVENTS_STREAM,
    subjects: [EVENTS_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: options.replicas,
    duplicate_window: nanos(options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
    max_age: nanos(options.maxAgeMs ?? DEFAULT_MAX_AGE_MS),
    max_bytes: options.maxBytes ?? -1,
    max_msg_size: MAX_MESSAGE_BYTES + 64 * 1024,
  };
}

/**
 * The events stream, made when missing. One that exists is kept as it is (a running cluster's replicas
 * are the operator's to change), but its subjects must be ours: another stream on them would take our
 * publishes, so that is an error naming what is there.
 */
export async function ensureEventsStream(jsm: JetStreamManager, options: EventsStreamOptions): Promise<StreamInfo> {
  let info: StreamInfo | undefined;
  try {
    info = await jsm.streams.info(EVENTS_STREAM);
  } catch (err) {
    if (!/not found/i.test(String((err as Error).message))) throw err;
  }
  if (!info) {
    try {
      return await jsm.streams.add(eventsStreamConfig(options));
    } catch (err) {
      // another node made it meanwhile
      if (!/already in use|exists/i.test(String((err as Error).message))) throw err;
      info = await jsm.streams.info(EVENTS_STREAM);
    }
  }
  const subjects = info.config.subjects ?? [];
  if (subjects.length !== 1 || subjects[0] !== EVENTS_SUBJECTS)
    throw new Error(
      `stream ${EVENTS_STREAM} exists with subjects ${clip(subjects.join(', '), 300)}, not ${EVENTS_SUBJECTS}`,
    );
  return info;
}

/** What a message carries besides its events. */
export type MessageKind = 'events' | 'state';

export interface MessageMeta {
  /** The body's ingest-log seq (unique across ingest nodes: the log is in the shared store). */
  seq: number;
  /** This message's index among the body's messages, from 0. */
  index: number;
  /** `events`: in event time; `state`: standing facts (cron lines, units), true for the whole timeline. */
  kind: MessageKind;
  /** The sending token's name. */
  sensor: string;
  /** The body's name (as issues and evidence name it). */
  name: string;
  /** The source that read the body (`coalmine formats`). */
  format: string;
  /** When the body arrived at the ingest node (epoch ms): what a worker batches bodies by, as serve does. */
  receivedAt: number;
}

export const HEADER = {
  msgId: 'Nats-Msg-Id',
  seq: 'Coalmine-Seq',
  index: 'Coalmine-Index',
  kind: 'Coalmine-Kind',
  sensor: 'Coalmine-Sensor',
  name: 'Coalmine-Body',
  format: 'Coalmine-Format',
  receivedAt: 'Coalmine-Received-At',
  events: 'Coalmine-Events',
} as const;

/**
 * The `Nats-Msg-Id` of a body's message: the body's seq, the message's kind and partition, and a digest
 * of which of the body's events it holds (their indices in the body, in order). The same body read again
 * gives the same messages under the same ids, on every node and retry. Were a message named by its place
 * among the body's messages, a resend routed differently (an address's host learned meanwhile) would
 * send other events under an id the stream already holds, and they would be dropped as its duplicates;
 * named by its events, such a message is new (at least once), and a duplicate is only ever the same events.
 */
export function msgIdOf(seq: number, kind: MessageKind, partition: number, eventIndices: readonly number[]): string {
  const digest = createHash('sha256');
  const chunk = new Uint32Array(256);
  for (let i = 0; i < eventIndices.length; i += chunk.length) {
    const n = Math.min(chunk.length, eventIndices.length - i);
    for (let j = 0; j < n; j++) chunk[j] = eventIndices[i + j];
    digest.update(new Uint8Array(chunk.buffer, 0, n * 4));
  }
  return `coalmine-${seq}-${kind === 'state' ? 's' : 'e'}${partition}-${digest.digest('base64url').slice(0, 22)}`;
}

/** Header values are percent-encoded (no CR/LF or non-ASCII can reach the protocol) and bounded. */
const MAX_HEADER_TEXT = 256;
const headerText = (text: string): string => encodeURIComponent(clip(text, MAX_HEADER_TEXT));
const textOfHeader = (value: string): string | undefined => {
  if (value.length > MAX_HEADER_TEXT * 12) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
};

/** A message's headers. */
export function headersOf(meta: MessageMeta, events: number): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADER.seq, String(meta.seq));
  h.set(HEADER.index, String(meta.index));
  h.set(HEADER.kind, meta.kind);
  h.set(HEADER.sensor, headerText(meta.sensor));
  h.set(HEADER.name, headerText(meta.name));
  h.set(HEADER.format, headerText(meta.format));
  h.set(HEADER.receivedAt, String(meta.receivedAt));
  h.set(HEADER.events, String(events));
  return h;
}

const count = (v: string, max: number): number | undefined => {
  if (!/^\d{1,16}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= max ? n : undefined;
};

/** A message's meta read back from its headers; a reason when they are not ours or not whole. */
export function metaOf(h: MsgHdrs | undefined): MessageMeta | { error: string } {
  if (!h) return { error: 'the message has no headers' };
  const seq = count(h.get(HEADER.seq), Number.MAX_SAFE_INTEGER);
  const index = count(h.get(HEADER.index), Number.MAX_SAFE_INTEGER);
  const receivedAt = count(h.get(HEADER.receivedAt), Number.MAX_SAFE_INTEGER);
  const kind = h.get(HEADER.kind);
  const sensor = textOfHeader(h.get(HEADER.sensor));
  const name = textOfHeader(h.get(HEADER.name));
  const format = textOfHeader(h.get(HEADER.format));
  if (seq === undefined || index === undefined || receivedAt === undefined)
    return { error: 'Coalmine-Seq, Coalmine-Index and Coalmine-Received-At must be whole numbers' };
  if (kind !== 'events' && kind !== 'state') return { error: 'Coalmine-Kind must be events or state' };
  if (sensor === undefined || name === undefined || format === undefined)
    return { error: 'Coalmine-Sensor, Coalmine-Body and Coalmine-Format must be percent-encoded text' };
  return { seq, index, kind, sensor, name, format, receivedAt };
}

/** One event's line in a message (JSON, no newline in it: JSON.stringify escapes them). */
export function eventLine(event: CoalEvent): string {
  return JSON.stringify(event);
}

/** A message's payload: its events' lines, each ending in a newline. */
export function encodeEvents(lines: readonly string[]): Uint8Array {
  return Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`, 'utf8');
}

export interface DecodedEvents {
  events: CoalEvent[];
  /** Lines that were not an event (1-based line in the message, and why), each dropped. */
  bad: { line: number; reason: string }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A message's events read back. The bus is ours, but a message is still input: past MAX_MESSAGE_BYTES
 * nothing is read, and a line that is not an event of the normalised shape (an object with `event.action`,
 * `coalmine.ts` and `coalmine.format`) is dropped with its reason.
 */
export function decodeEvents(data: Uint8Array): DecodedEvents {
  const out: DecodedEvents = { events: [], bad: [] };
  if (data.length > MAX_MESSAGE_BYTES * 4) {
    out.bad.push({ line: 0, reason: `the message is ${data.length} bytes (at most ${MAX_MESSAGE_BYTES * 4})` });
    return out;
  }
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let line = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      out.bad.push({ line, reason: `not JSON: ${clip((err as Error).message, 200)}` });
      continue;
    }
    const e = isObject(value) ? value : undefined;
    const ev = e && isObject(e.event) ? e.event : undefined;
    const cm = e && isObject(e.coalmine) ? e.coalmine : undefined;
    if (!ev || typeof ev.action !== 'string' || !cm || typeof cm.ts !== 'number' || typeof cm.format !== 'string') {
      out.bad.push({ line, reason: 'not a normalised event (event.action, coalmine.ts, coalmine.format)' });
      continue;
    }
    out.events.push(value as CoalEvent);
  }
  return out;
}

/** How many servers `--bus` may list. */
export const MAX_BUS_URLS = 16;

/**
 * `--bus nats://a:4222,nats://b:4222` as server URLs; a reason when it is not one. Only `nats://` and
 * `tls://` with a host (and an optional port and user:password), nothing after the authority.
 */
export function parseBusUrls(text: string): string[] | { error: string } {
  if (text.length > 4096) return { error: '--bus is over 4096 characters' };
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) return { error: '--bus names no server (nats://HOST:PORT[,…])' };
  if (parts.length > MAX_BUS_URLS) return { error: `--bus lists ${parts.length} servers (at most ${MAX_BUS_URLS})` };
  for (const p of parts) {
    let url: URL;
    try {
      url = new URL(p);
    } catch {
      return { error: `--bus: ${clip(p, 100)} is not a URL (nats://HOST:PORT)` };
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:')
      return { error: `--bus: ${clip(p, 100)} is not a nats:// or tls:// URL` };
    if (!url.hostname) return { error: `--bus: ${clip(p, 100)} names no host` };
    if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash)
      return { error: `--bus: ${clip(p, 100)} has a path or query (only nats://[user:pass@]HOST[:PORT])` };
  }
  return parts;
}

/** A bus URL as it may be shown: without its password. */
export function shownBusUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'nats://(unparsable URL)';
  }
}
