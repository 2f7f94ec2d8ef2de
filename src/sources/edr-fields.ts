/**
 * What the EDR readers (defender, crowdstrike-fdr, sentinelone, elastic-endpoint, carbon-black) share: the
 * event head each action has, a process id, a process as its child's parent, and a record's scalar fields
 * kept bounded as `original`. Each reader maps its vendor's names; these are the parts that mean the same.
 */
import type { CoalEvent, EventAction, ProcessFields, ProcessParent } from '../model/event.js';
import { clip } from '../util/hostile.js';
import { numberOf } from './net-fields.js';

/** An event's ECS category and type and our action, as every reader (and win-event.ts's Sysmon mapping) gives them. */
export type EventHead = Pick<CoalEvent['event'], 'category' | 'type' | 'action'>;

/** The actions an endpoint's process, network, file, registry and driver records map to. */
export type EndpointAction = Extract<
  EventAction,
  | 'exec'
  | 'process-seen'
  | 'exit'
  | 'kill'
  | 'connect'
  | 'listen'
  | 'dns-query'
  | 'persistence-entry'
  | 'file-write'
  | 'registry-set'
  | 'driver-load'
>;

const HEADS: Record<EndpointAction, readonly [string, string]> = {
  exec: ['process', 'start'],
  'process-seen': ['process', 'info'],
  exit: ['process', 'end'],
  kill: ['process', 'end'],
  connect: ['network', 'connection'],
  listen: ['network', 'start'],
  'dns-query': ['network', 'protocol'],
  'persistence-entry': ['configuration', 'creation'],
  'file-write': ['file', 'change'],
  'registry-set': ['configuration', 'change'],
  'driver-load': ['driver', 'start'],
};

/**
 * The head of an event of `action`; `type` when the record says more (a task updated is a `change`, a file
 * created a `creation`). Fresh arrays each time: an event's head is its own.
 */
export function headOf(action: EndpointAction, type?: string): EventHead {
  const [category, typical] = HEADS[action];
  return { category: [category], type: [type ?? typical], action };
}

/** A process id as the EDRs write it (a number or its decimal text); 0 is the idle process, kept. */
export function pidOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

/** A process as the parent of the one it started: its id, pid, name, image and command line. */
export function parentOf(p: ProcessFields | undefined): ProcessParent | undefined {
  if (p === undefined) return undefined;
  const out: ProcessParent = {};
  if (p.entity_id !== undefined) out.entity_id = p.entity_id;
  if (p.pid !== undefined) out.pid = p.pid;
  if (p.name !== undefined) out.name = p.name;
  if (p.executable !== undefined) out.executable = p.executable;
  if (p.command_line !== undefined) out.command_line = p.command_line;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** How much of a record `originalOf` keeps. */
export interface OriginalBounds {
  /** Keys kept, at most. */
  maxKeys: number;
  maxKeyChars: number;
  /** A string value's characters; a long one's (`isLong`: the command lines Sigma rules read whole). */
  maxChars: number;
  maxLongChars: number;
  isLong: (key: string) => boolean;
  /** Nested values kept as their JSON text, clipped to maxLongChars (Defender's AdditionalFields); else left out. */
  nestedAsJson?: boolean;
  /** A list of one value kept as that value (Carbon Black's process search results write lists). */
  unwrapSingle?: boolean;
}

/**
 * A record's top-level scalar fields as read, bounded: what Sigma rules and `explain` see of it. `out` may
 * hold keys to come first (Defender's table). The readers of nested records keep theirs otherwise:
 * elastic-endpoint flattens ECS documents to dotted keys, sentinelone keeps the fields its mapping read.
 */
export function originalOf(
  record: Record<string, unknown>,
  bounds: OriginalBounds,
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  let kept = 0;
  for (const key in record) {
    if (kept >= bounds.maxKeys) break;
    // an own `__proto__` key (JSON.parse makes one) would set the prototype here, not a field
    if (key === '__proto__') continue;
    let v = record[key];
    if (bounds.unwrapSingle === true && Array.isArray(v) && v.length === 1) v = v[0];
    const k = clip(key, bounds.maxKeyChars);
    if (typeof v === 'string') out[k] = clip(v, bounds.isLong(key) ? bounds.maxLongChars : bounds.maxChars);
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (bounds.nestedAsJson === true && v !== null && v !== undefined)
      out[k] = clip(JSON.stringify(v) ?? '', bounds.maxLongChars);
    else continue;
    kept++;
  }
  return out;
}
