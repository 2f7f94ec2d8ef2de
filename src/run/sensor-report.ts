/**
 * What a live sensor says of itself in its heartbeat (serve's `PUT /api/v1/sensors/self`): what it is
 * (version, host, platform, kernel, root), the gaps its sampler counted in the last sample by kind, and
 * what it therefore cannot see in plain words. The statements carry no counts, so they change only when
 * a kind of gap appears or goes: that is when `watch --server` sends a heartbeat early.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import type { SampleStats } from '../sensor/proc-sampler.js';
import { clip } from '../util/hostile.js';

/** One kind of gap and how many times the last sample met it. */
export interface SensorGap {
  kind: string;
  count: number;
}

export interface SensorIdentity {
  version: string;
  hostname: string;
  platform: string;
  kernel: string;
  /** uid 0: every process's exe link and fd table is readable. */
  root: boolean;
  /** The `hidepid=` of the /proc the sampler reads, when it hides anything ('invisible', '2', …). */
  hidepid?: string;
}

/** The heartbeat's body, as `SensorHeartbeat` in serve's OpenAPI document. */
export interface SensorHeartbeatBody {
  version: string;
  hostname: string;
  platform: string;
  kernel: string;
  root: boolean;
  interval_s: number;
  gaps: SensorGap[];
  cannot_see: string[];
}

const MAX_MOUNTINFO_BYTES = 1024 * 1024;
const MAX_MOUNT_LINES = 20_000;

/** This process as a sensor: `procRoot` is the /proc the sampler reads (its hidepid is looked up). */
export function sensorIdentity(version: string, procRoot = '/proc'): SensorIdentity {
  const root = process.getuid?.() === 0;
  const identity: SensorIdentity = {
    version,
    hostname: os.hostname(),
    platform: process.platform,
    kernel: os.release(),
    root,
  };
  const hidepid = hidepidOf(readHead('/proc/self/mountinfo', MAX_MOUNTINFO_BYTES), procRoot);
  if (hidepid !== undefined) identity.hidepid = hidepid;
  return identity;
}

function readHead(path: string, max: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(max);
    let total = 0;
    for (let n = 1; n > 0 && total < max; total += n) n = readSync(fd, buf, total, max - total, null);
    return buf.toString('utf8', 0, total);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The `hidepid=` option of the proc mount at `mountPoint` in a mountinfo text, when it hides something
 * (proc(5): 1/noaccess, 2/invisible, 4/ptraceable; 0/off hides nothing). The option is the
 * superblock's (after " - "), or the mount's on kernels that take it per mount.
 */
export function hidepidOf(mountinfo: string, mountPoint: string): string | undefined {
  let found: string | undefined;
  let lines = 0;
  for (const line of mountinfo.split('\n')) {
    if (++lines > MAX_MOUNT_LINES) break;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields[4] !== mountPoint || fields[sep + 1] !== 'proc') continue;
    const options = [...(fields[5] ?? '').split(','), ...(fields[sep + 3] ?? '').split(',')];
    const value = options.find((o) => o.startsWith('hidepid='))?.slice('hidepid='.length);
    // the last mount on a point is the one seen
    found = value === undefined || value === '0' || value === 'off' ? undefined : clip(value, 32);
  }
  return found;
}

/** The kinds of gap a sample met, with counts (kinds that did not happen are left out). */
export function sampleGaps(stats: SampleStats, containersUnnamed: number): SensorGap[] {
  const gaps: SensorGap[] = [];
  const add = (kind: string, count: number) => {
    if (count > 0) gaps.push({ kind, count });
  };
  add('exe_unreadable', stats.exeUnreadable);
  add('fd_unreadable', stats.fdUnreadable);
  add('sockets_unattributed', stats.socketsUnattributed);
  add('proc_denied', stats.denied);
  add('processes_truncated', stats.processesTruncated ? 1 : 0);
  add('sockets_truncated', stats.socketsTruncated ? 1 : 0);
  add('containers_unnamed', containersUnnamed);
  // races: processes gone mid-read, counted so a busy host shows them; no statement (nothing is hidden)
  add('vanished', stats.vanished);
  add('read_errors', stats.errors);
  return gaps;
}

/** What the sensor cannot see, in plain words, from what it is and the kinds of gap it met. */
export function cannotSee(identity: SensorIdentity, gaps: readonly SensorGap[]): string[] {
  const kinds = new Set(gaps.map((g) => g.kind));
  const out: string[] = [];
  if (!identity.root)
    out.push(
      "not running as root: other users' executable paths and fd tables are unreadable, so their binaries and sockets are not attributed",
    );
  if (identity.hidepid !== undefined && !identity.root)
    out.push(`/proc is mounted with hidepid=${identity.hidepid}: other users' processes are hidden from the sensor`);
  // without root these follow from the line above; as root they mean something else refused (an LSM, a namespace)
  if (identity.root && kinds.has('exe_unreadable')) out.push('some executable paths are unreadable even as root');
  if (identity.root && kinds.has('fd_unreadable'))
    out.push('some fd tables are unreadable even as root: those processes’ sockets are not attributed');
  if (identity.root && kinds.has('proc_denied')) out.push('some /proc reads are refused even as root');
  if (kinds.has('sockets_unattributed'))
    out.push('some sockets have no known owning process: their connections carry no process');
  if (kinds.has('processes_truncated')) out.push("more processes than the sampler's bound: the rest are not sampled");
  if (kinds.has('sockets_truncated')) out.push("more sockets than the sampler's bound: the rest are not read");
  if (kinds.has('containers_unnamed'))
    out.push(
      'no Docker, containerd or CRI-O state for some containers: their events carry the container id only (no name, image or pod)',
    );
  return out;
}

/** The heartbeat a sensor sends, every text clipped to what the server stores. */
export function heartbeatBody(
  identity: SensorIdentity,
  gaps: readonly SensorGap[],
  intervalMs: number,
): SensorHeartbeatBody {
  return {
    version: clip(identity.version, 64),
    hostname: clip(identity.hostname, 512),
    platform: clip(identity.platform, 64),
    kernel: clip(identity.kernel, 256),
    root: identity.root,
    interval_s: Math.min(86_400, Math.max(5, Math.round(intervalMs / 1000))),
    gaps: gaps.slice(0, 64).map((g) => ({ kind: clip(g.kind, 64), count: Math.min(2 ** 31 - 1, g.count) })),
    cannot_see: cannotSee(identity, gaps)
      .slice(0, 64)
      .map((s) => clip(s, 512)),
  };
}
