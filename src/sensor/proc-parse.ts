/**
 * Pure parsers for Linux /proc text: stat, status, cmdline, /proc/stat, /proc/net/{tcp,udp}[6], cgroup,
 * meminfo and the exe link. No I/O here, so every format quirk is unit-tested with hand-written strings.
 */
import { type CgroupRuntime, containerOfCgroupPath } from '../util/cgroup.js';
import { ipv6String } from '../util/ip.js';

export const MAX_CMDLINE_BYTES = 8192;

export interface PidStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  /** Clock ticks after boot. */
  starttime: number;
  rssPages: number;
}

/** /proc/PID/stat: comm is in parens and may hold spaces and ')', so the LAST ')' ends it. */
export function parsePidStat(text: string): PidStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  if (!Number.isSafeInteger(pid)) return undefined;
  const comm = text.slice(open + 1, close);
  // after ')': state(3) ppid(4) pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  // cutime cstime priority nice num_threads itrealvalue starttime(22) vsize rss(24)
  // fields past rss(24) are not needed: a limit of 22 spares ~30 strings per process per sample
  const f = text
    .slice(close + 1)
    .trim()
    .split(/\s+/, 22);
  if (f.length < 22) return undefined;
  const n = (i: number): number => Number(f[i - 3]);
  const out: PidStat = {
    pid,
    comm,
    state: f[0],
    ppid: n(4),
    utime: n(14),
    stime: n(15),
    starttime: n(22),
    rssPages: n(24),
  };
  for (const v of [out.ppid, out.utime, out.stime, out.starttime, out.rssPages])
    if (!Number.isFinite(v)) return undefined;
  return out;
}

/** Real uid from the `Uid:` line of /proc/PID/status (real, effective, saved, fs). */
export function parseStatusUid(text: string): { uid: number; euid: number } | undefined {
  const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  if (!m) return undefined;
  return { uid: Number(m[1]), euid: Number(m[2]) };
}

/** /proc/PID/cmdline: NUL-separated args (empty for kernel threads and zombies). Bounded to 8 KiB. */
export function parseCmdline(buf: Buffer | string): { args: string[]; commandLine: string } | undefined {
  let b = typeof buf === 'string' ? Buffer.from(buf, 'utf8') : buf;
  if (b.length > MAX_CMDLINE_BYTES) b = b.subarray(0, MAX_CMDLINE_BYTES);
  let s = b.toString('utf8');
  if (s.endsWith('\0')) s = s.slice(0, -1);
  if (s === '') return undefined;
  const args = s.split('\0');
  return { args, commandLine: args.map(quoteArg).join(' ') };
}

function quoteArg(a: string): string {
  return a === '' || /[\s"']/.test(a) ? JSON.stringify(a) : a;
}

export interface CpuStat {
  /** All counters of the first `cpu` line, in ticks. */
  counters: number[];
  total: number;
  idle: number;
  busy: number;
  /** Number of cpuN lines. */
  cores: number;
  /** Boot time, epoch seconds (btime). */
  btime?: number;
}

/** /proc/stat: the aggregate `cpu` line (busy = total − idle − iowait), cpuN count and btime. */
export function parseProcStat(text: string): CpuStat | undefined {
  let counters: number[] | undefined;
  let cores = 0;
  let btime: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) counters = line.slice(4).trim().split(/\s+/).map(Number);
    else if (/^cpu\d+ /.test(line)) cores++;
    else if (line.startsWith('btime ')) btime = Number(line.slice(6).trim());
  }
  if (!counters || counters.length < 4 || counters.some((v) => !Number.isFinite(v))) return undefined;
  // guest and guest_nice (9, 10) are already counted in user and nice
  const total = counters.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = counters[3] + (counters[4] ?? 0);
  const out: CpuStat = { counters, total, idle, busy: total - idle, cores };
  if (btime !== undefined && Number.isFinite(btime)) out.btime = btime;
  return out;
}

/** /proc/meminfo MemTotal and MemAvailable in bytes. */
export function parseMeminfo(text: string): { totalBytes?: number; availableBytes?: number } {
  const out: { totalBytes?: number; availableBytes?: number } = {};
  const t = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  if (t) out.totalBytes = Number(t[1]) * 1024;
  const a = /^MemAvailable:\s+(\d+)\s*kB/m.exec(text);
  if (a) out.availableBytes = Number(a[1]) * 1024;
  return out;
}

export type NetProto = 'tcp' | 'tcp6' | 'udp' | 'udp6';

/** Kernel TCP states (include/net/tcp_states.h). */
export const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
};

export interface NetSocket {
  proto: NetProto;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** Hex state as the kernel writes it, e.g. `01`, `0A`. */
  state: string;
  uid: number;
  inode: number;
}

/** A hex IPv4 (one little-endian word) or IPv6 (four little-endian words) address as text; ::ffff:a.b.c.d → a.b.c.d. */
export function parseHexAddress(hex: string): string | undefined {
  if (hex.length === 8) {
    const v = Number.parseInt(hex, 16);
    if (!Number.isFinite(v)) return undefined;
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff].join('.');
  }
  if (hex.length !== 32 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let i = 3; i >= 0; i--) bytes.push(Number.parseInt(word.slice(i * 2, i * 2 + 2), 16));
  }
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  return ipv6String(Buffer.from(bytes), 0);
}

/** One data line of /proc/net/tcp|tcp6|udp|udp6 (the header line returns undefined). */
export function parseNetLine(proto: NetProto, line: string): NetSocket | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 10 || !f[0].endsWith(':')) return undefined;
  const [la, lp] = f[1].split(':');
  const [ra, rp] = f[2].split(':');
  if (lp === undefined || rp === undefined) return undefined;
  const localIp = parseHexAddress(la);
  const remoteIp = parseHexAddress(ra);
  const inode = Number(f[9]);
  const uid = Number(f[7]);
  if (localIp === undefined || remoteIp === undefined || !Number.isSafeInteger(inode)) return undefined;
  return {
    proto,
    localIp,
    localPort: Number.parseInt(lp, 16),
    remoteIp,
    remotePort: Number.parseInt(rp, 16),
    state: f[3].toUpperCase(),
    uid,
    inode,
  };
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const INODE_FIELD = 9;

/**
 * Each data line of a /proc/net table as its inode and byte range, without decoding the line: a busy
 * host has tens of thousands of sockets and a sample only needs the few it has not seen, so only
 * those are parsed (parseNetLine). The header line is skipped; at most `max` lines. Returns the count.
 */
export function forEachNetLine(
  buf: Buffer,
  max: number,
  fn: (inode: number, start: number, end: number) => void,
): number {
  let pos = buf.indexOf(NEWLINE) + 1;
  if (pos === 0) return 0;
  let n = 0;
  while (pos < buf.length && n < max) {
    let end = buf.indexOf(NEWLINE, pos);
    if (end < 0) end = buf.length;
    let i = pos;
    let field = -1;
    let inode = -1;
    while (i < end) {
      while (i < end && buf[i] === SPACE) i++;
      if (i >= end) break;
      field++;
      const start = i;
      while (i < end && buf[i] !== SPACE) i++;
      if (field === INODE_FIELD) {
        inode = i - start <= 15 ? digits(buf, start, i) : -1;
        break;
      }
    }
    if (inode >= 0) {
      n++;
      fn(inode, pos, end);
    }
    pos = end + 1;
  }
  return n;
}

function digits(buf: Buffer, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

export interface CgroupInfo {
  containerId?: string;
  runtime?: CgroupRuntime;
  /** The systemd unit (last path element) when no container is found. */
  unit?: string;
  path?: string;
}

/** /proc/PID/cgroup (v1 `N:ctrl:/path` lines or v2 `0::/path`) → container id, else the systemd unit. */
export function parseCgroup(text: string): CgroupInfo {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    paths.push(line.slice(b + 1).trim());
  }
  for (const p of paths) {
    const container = containerOfCgroupPath(p);
    if (container) return { containerId: container.id, runtime: container.runtime, path: p };
  }
  // prefer the unified (v2) or name=systemd path for the unit
  const p = paths.find((x) => x !== '/' && x !== '') ?? paths[0];
  if (p === undefined) return {};
  const last = p.slice(p.lastIndexOf('/') + 1);
  return last ? { unit: last, path: p } : { path: p };
}

/** The /proc/PID/exe link target; the kernel appends " (deleted)" once the file is unlinked. */
export function parseExeLink(target: string): { executable: string; deleted: boolean } {
  const suffix = ' (deleted)';
  if (target.endsWith(suffix)) return { executable: target.slice(0, -suffix.length), deleted: true };
  return { executable: target, deleted: false };
}

/** `socket:[12345]` from an fd link → 12345. */
export function parseSocketLink(target: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(target);
  return m ? Number(m[1]) : undefined;
}
