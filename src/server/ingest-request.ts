/**
 * What `serve` (server/ingest.ts) and a bus ingest node (bus/ingest-node.ts) do alike around a request body
 * they log: committed with its facts clipped as the ingest log keeps them, a body that read as nothing taken back out of
 * the log, and the sender's contact noted on its sensor row.
 */
import type { Store } from '../store/index.js';
import { clip, inert } from '../util/hostile.js';

/** What a request says of its body (the route's query, headers and token): serve's and an ingest node's alike. */
export interface RequestMeta {
  /** The sender: the token's name. */
  sensor: string;
  /** Names the body in issues and evidence (`?name=`); default `SENSOR@TIME`. */
  name?: string;
  /** Force a source (`?format=`). */
  format?: string;
  /** Host of records that name none (`?host=`). */
  host?: string;
  /** The sender's mtime of the file the body holds (`?mtime=`, epoch ms): what dates a cron file's entries. */
  mtime?: number;
  /** The sender's version, kept on its sensor row. */
  version?: string;
  /** The sending token's id and the body's Idempotency-Key (32 lower-case hex digits): both or neither. */
  tokenId?: string;
  idempotencyKey?: string;
}

/** A logged body: where it is in the log, whether its key was already held there, and its facts as logged. */
export interface LoggedBody {
  seq: number;
  repeat: boolean;
  sensor: string;
  name: string;
  format?: string;
  host?: string;
}

/**
 * Commits a request body to the ingest log with its facts as the log keeps them (inert, clipped, a sensor
 * and a name always); `repeat` when an entry of the same token already held its Idempotency-Key.
 */
export async function logBody(store: Store, body: Buffer, meta: RequestMeta, receivedAt: number): Promise<LoggedBody> {
  const sensor = clip(inert(meta.sensor), 256) || 'unknown';
  const name = clip(inert(meta.name ?? `${sensor}@${new Date(receivedAt).toISOString()}`), 256) || 'request';
  const format = meta.format === undefined ? undefined : clip(meta.format, 64);
  const host = meta.host === undefined ? undefined : clip(meta.host, 512);
  const { seq, repeat } = await store.ingest.append({
    body,
    sensor,
    name,
    format,
    host,
    receivedAt,
    mtime: meta.mtime,
    tokenId: meta.tokenId,
    idempotencyKey: meta.idempotencyKey,
  });
  return { seq, repeat, sensor, name, format, host };
}

/**
 * A committed body that read as nothing, taken out of the log again. A failed removal leaves a body that
 * reads as nothing on replay (it changes nothing): logged, and the request is still refused.
 */
export async function withdrawUnread(store: Store, seq: number, log: (line: string) => void): Promise<void> {
  await store.ingest
    .remove(seq)
    .catch((err) =>
      log(`coalmine serve: removing refused body ${seq} from the log failed: ${clip(inert(String(err)), 300)}`),
    );
}

/** A sender's contact on its sensor row: the host and version the request said, else those it had; a store failure is logged, never the request's. */
export async function noteSensorContact(
  store: Store,
  sensor: string,
  host: string | undefined,
  version: string | undefined,
  log: (line: string) => void,
): Promise<void> {
  try {
    const known = await store.sensors.get(sensor);
    await store.sensors.seen({
      id: sensor,
      host: host ?? known?.host ?? '',
      version: version === undefined ? (known?.version ?? '') : clip(inert(version), 64),
      cannot_see: known?.cannot_see,
    });
  } catch (err) {
    log(`coalmine serve: sensor ${sensor}: ${clip(inert(String(err)), 300)}`);
  }
}
