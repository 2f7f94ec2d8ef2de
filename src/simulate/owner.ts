/**
 * What `simulate` leaves behind when it is killed with no chance to clean up (`kill -9`): its temp dir
 * (a copy of node, hundreds of MB) and, with --sandbox, its spool file. Each carries a marker naming the
 * run that made it (pid and the kernel's start time for that pid, so a reused pid is not taken for the
 * owner); the next run removes what it recognises as its own once that owner is gone. Nothing without
 * our marker, nothing of another user, nothing of a live run is touched.
 */
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The temp dirs `simulate` makes: `<tmpdir>/coalmine-sim-XXXXXX`. */
export const TEMP_PREFIX = 'coalmine-sim-';
/** The marker file inside each temp dir. */
export const MARKER_FILE = '.coalmine-simulate.json';
const MAX_MARKER_BYTES = 4096;
/** Bounded scan: a temp dir with more entries than this is only partly swept. */
const MAX_TMP_ENTRIES = 100_000;

export interface Owner {
  pid: number;
  /** Start time of the pid in clock ticks since boot (/proc/PID/stat field 22); null where there is no /proc. */
  start: string | null;
}

/** The start time the kernel records for `pid`, or null when it cannot be read. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // fields after the command name, which may itself hold spaces and parentheses
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = rest[19];
    return start !== undefined && /^\d{1,20}$/.test(start) ? start : null;
  } catch {
    return null;
  }
}

export function currentOwner(): Owner {
  return { pid: process.pid, start: processStart(process.pid) };
}

/** Is the run that wrote this marker still running? A pid now held by a later process is not it. */
export function ownerAlive(owner: Owner): boolean {
  // our own pid: only a marker we wrote ourselves, which start times tell from one of an earlier holder
  if (owner.pid === process.pid) return owner.start !== null && owner.start === processStart(process.pid);
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: a process of another user holds the pid; it could still be ours only if start times say so
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.start === null) return true;
  const now = processStart(owner.pid);
  return now === null || now === owner.start;
}

/** The owner named by marker text, or undefined when it is not our marker. */
export function parseOwner(text: string): Owner | undefined {
  if (text.length > MAX_MARKER_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { tool, pid, start } = value as Record<string, unknown>;
  if (tool !== 'coalmine-simulate' || typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) return undefined;
  if (start !== null && (typeof start !== 'string' || !/^\d{1,20}$/.test(start))) return undefined;
  return { pid, start };
}

export function ownerMarker(owner: Owner, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ tool: 'coalmine-simulate', pid: owner.pid, start: owner.start, ...extra });
}

/**
 * Remove the `coalmine-sim-*` dirs under `tmp` that carry our marker, belong to this user and whose owner
 * is gone. Returns what was removed, for the operator.
 */
export function removeLeftoverTempDirs(tmp: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(tmp).slice(0, MAX_TMP_ENTRIES);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(tmp, name);
    try {
      const st = lstatSync(dir);
      // a symlink or another user's dir is never ours, whatever it says inside
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const marker = join(dir, MARKER_FILE);
      const mst = lstatSync(marker);
      if (!mst.isFile() || mst.size > MAX_MARKER_BYTES) continue;
      const owner = parseOwner(readFileSync(marker, 'utf8'));
      if (!owner || ownerAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(`removed ${dir}, left by simulate pid ${owner.pid} (no longer running)`);
    } catch {
      // gone meanwhile, no marker, or unreadable: not recognisably ours
    }
  }
  return removed;
}
