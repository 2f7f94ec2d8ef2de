/**
 * Hidden processes on a live Linux host: pids that exist (`/proc/PID` answers a stat, `kill(pid, 0)`
 * answers) but are missing from the `/proc` directory listing. Read-only; bounded by a pid range
 * (`/proc/sys/kernel/pid_max`, at most `maxPids`) and a time budget, and says when it stopped short.
 *
 * The listing is read with readdir(3) (`fs.opendirSync`), the call `ps` and `top` make: an
 * `ld.so.preload` hider (libprocesshider) or a getdents hook (Diamorphine) falsifies it, while a stat
 * of `/proc/PID` goes by name and is not filtered. A thread's `/proc/TID` answers too but is never
 * listed: a probed pid whose `Tgid` is another pid stands for that thread group, hidden only when the
 * group's own pid is not listed. A process that started during the probe is listed by the second
 * listing taken after it, so only pids missing from both listings and alive after both are reported.
 */
import { closeSync, type Dir, opendirSync, openSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clip } from '../util/hostile.js';
import { MAX_CMDLINE_BYTES, parseCmdline, parseExeLink, parsePidStat } from './proc-parse.js';

export interface HiddenProcess {
  pid: number;
  name: string;
  ppid?: number;
  uid?: number;
  executable?: string;
  exeDeleted?: boolean;
  commandLine?: string;
  /** user + system CPU ticks so far: the CPU the host's total shows and no listed process does. */
  cpuTicks?: number;
  /** Threads of it that were probed (a busy miner is often many threads). */
  threads: number;
  /** `kill(pid, 0)` answered (live /proc only): the kernel has the process whatever the listing says. */
  answersKill?: boolean;
}

export interface HiddenScan {
  hidden: HiddenProcess[];
  /** Pids listed by readdir of the proc root (first listing). */
  listed: number;
  /** Pids probed, 1..probedUpTo. */
  probedUpTo: number;
  /** The kernel's pid_max (what a whole probe covers), when readable. */
  pidMax?: number;
  /** The probe stopped before pid_max: time budget or maxPids. Pids above probedUpTo were not looked at. */
  truncated?: 'time' | 'max-pids';
  durationMs: number;
}

export interface HiddenScanOptions {
  procRoot?: string;
  /** Highest pid probed at most (default 4,194,304: the kernel's own limit on 64-bit). */
  maxPids?: number;
  /** Stop probing after this long (default 30 s; a whole 4M-pid range takes ~25 s at ~6 µs a stat). */
  timeBudgetMs?: number;
}

const DEFAULT_MAX_PIDS = 4_194_304;
const DEFAULT_BUDGET_MS = 30_000;
/** Pids listed at most (a listing longer than this is not a real /proc). */
const MAX_LISTED = 4_194_304;
const MAX_STATUS_BYTES = 16384;
const MAX_REPORTED = 1000;
const CHECK_CLOCK_EVERY = 1024;

/** The numeric entries of the proc root as readdir(3) gives them (what `ps` sees). */
export function listPids(procRoot: string): Set<number> {
  const pids = new Set<number>();
  let dir: Dir | undefined;
  try {
    dir = opendirSync(procRoot, { bufferSize: 128 });
    for (let entry = dir.readSync(); entry !== null && pids.size < MAX_LISTED; entry = dir.readSync()) {
      const name = entry.name;
      if (name.length > 0 && name.length <= 10 && /^\d+$/.test(name)) pids.add(Number(name));
    }
  } finally {
    dir?.closeSync();
  }
  return pids;
}

/** Up to `max` bytes of a file (procfs files answer from memory), undefined when it cannot be read. */
export function readBounded(
  path: string,
  max: number,
  onError?: (code: string | undefined) => void,
): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(max);
    let total = 0;
    while (total < max) {
      const n = readSync(fd, buf, total, max - total, null);
      if (n === 0) break;
      total += n;
    }
    return buf.subarray(0, total);
  } catch (err) {
    onError?.((err as NodeJS.ErrnoException).code);
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `Tgid:` of /proc/PID/status: the thread group a task id belongs to. */
function tgidOf(procRoot: string, pid: number): number | undefined {
  const status = readBounded(join(procRoot, String(pid), 'status'), MAX_STATUS_BYTES)?.toString('latin1');
  const m = status ? /^Tgid:\s*(\d+)$/m.exec(status) : null;
  return m ? Number(m[1]) : undefined;
}

function exists(procRoot: string, pid: number): boolean {
  return statSync(join(procRoot, String(pid)), { throwIfNoEntry: false }) !== undefined;
}

function answersKill(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: permission and existence check only, nothing is sent
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What /proc says about a hidden pid, read by name (stat, status, exe, cmdline); undefined once it is gone. */
function describe(procRoot: string, pid: number, live: boolean): HiddenProcess | undefined {
  const dir = join(procRoot, String(pid));
  const stat = readBounded(join(dir, 'stat'), 4096);
  const st = stat ? parsePidStat(stat.toString('utf8')) : undefined;
  if (!st) return undefined;
  const p: HiddenProcess = {
    pid,
    name: clip(st.comm, 64),
    ppid: st.ppid,
    cpuTicks: st.utime + st.stime,
    threads: 1,
  };
  const status = readBounded(join(dir, 'status'), MAX_STATUS_BYTES)?.toString('latin1');
  const uid = status ? /^Uid:\s*(\d+)/m.exec(status) : null;
  if (uid) p.uid = Number(uid[1]);
  try {
    const e = parseExeLink(readlinkSync(join(dir, 'exe')));
    p.executable = clip(e.executable, 4096);
    if (e.deleted) p.exeDeleted = true;
  } catch {
    // kernel threads and other users' processes (unprivileged) have no readable exe
  }
  const cmd = readBounded(join(dir, 'cmdline'), MAX_CMDLINE_BYTES);
  const c = cmd ? parseCmdline(cmd) : undefined;
  if (c) p.commandLine = clip(c.commandLine, 1024);
  if (live) p.answersKill = answersKill(pid);
  return p;
}

export function readPidMax(procRoot: string): number | undefined {
  const text = readBounded(join(procRoot, 'sys', 'kernel', 'pid_max'), 64)
    ?.toString('latin1')
    .trim();
  const n = text && /^\d{1,8}$/.test(text) ? Number(text) : undefined;
  return n !== undefined && n > 0 ? n : undefined;
}

/** Probe every pid up to pid_max (bounded) against the listing; see the file's comment. */
export function findHiddenProcesses(options: HiddenScanOptions = {}): HiddenScan {
  const procRoot = options.procRoot ?? '/proc';
  const live = procRoot === '/proc';
  const started = performance.now();
  const budget = options.timeBudgetMs ?? DEFAULT_BUDGET_MS;
  const pidMax = readPidMax(procRoot);
  const limit = Math.min(pidMax ?? DEFAULT_MAX_PIDS, options.maxPids ?? DEFAULT_MAX_PIDS);
  const first = listPids(procRoot);
  /** Unlisted thread groups found, by group pid, with how many of their tasks were probed. */
  const candidates = new Map<number, number>();
  let truncated: HiddenScan['truncated'];
  let pid = 1;
  for (; pid <= limit; pid++) {
    if (pid % CHECK_CLOCK_EVERY === 0 && performance.now() - started > budget) {
      truncated = 'time';
      break;
    }
    if (first.has(pid) || !exists(procRoot, pid)) continue;
    const group = tgidOf(procRoot, pid) ?? pid;
    if (first.has(group)) continue; // a thread of a listed process
    if (candidates.size >= MAX_REPORTED && !candidates.has(group)) continue;
    candidates.set(group, (candidates.get(group) ?? 0) + 1);
  }
  const probedUpTo = pid - 1;
  if (!truncated && pidMax !== undefined && limit < pidMax) truncated = 'max-pids';
  const hidden: HiddenProcess[] = [];
  if (candidates.size > 0) {
    const second = listPids(procRoot);
    for (const [group, threads] of [...candidates].sort((a, b) => a[0] - b[0])) {
      if (second.has(group)) continue; // started during the probe and listed now
      const p = describe(procRoot, group, live);
      if (!p) continue; // gone meanwhile
      p.threads = threads;
      hidden.push(p);
    }
  }
  return {
    hidden,
    listed: first.size,
    probedUpTo,
    pidMax,
    truncated,
    durationMs: Math.round(performance.now() - started),
  };
}
