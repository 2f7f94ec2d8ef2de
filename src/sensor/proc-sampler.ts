/**
 * The live /proc sampler: each `sample(nowMs)` reads processes, host CPU/memory and sockets and returns
 * CoalEvents shaped like osquery's (process-seen with cumulative cpu_time_ms + rss_bytes, exec, exit,
 * connect, listen, host metric). Races (a process gone mid-read) and permission gaps are counted, never thrown.
 *
 * Volume: an idle process (no CPU ticks and same RSS since its last event) gets a process-seen only every
 * `idleEvery` samples (default 10); a process that used CPU gets one every sample.
 */

import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { CoalEvent, EventMetrics, ProcessFields } from '../model/event.js';
import { clip } from '../util/hostile.js';
import type { ContainerResolver } from './container-resolve.js';
import {
  forEachNetLine,
  MAX_CMDLINE_BYTES,
  type NetProto,
  type NetSocket,
  parseCgroup,
  parseCmdline,
  parseExeLink,
  parseMeminfo,
  parseNetLine,
  parsePidStat,
  parseProcStat,
  parseSocketLink,
  parseStatusUid,
  TCP_STATES,
} from './proc-parse.js';

export interface ProcSamplerOptions {
  root?: string;
  hostName?: string;
  clockTicks?: number;
  pageSize?: number;
  maxProcesses?: number;
  maxSockets?: number;
  /** An unchanged idle process is re-reported every this many samples. */
  idleEvery?: number;
  maxFileBytes?: number;
  /** Names a cgroup's container id from the runtimes' on-disk state (container name, image, pod). */
  containers?: ContainerResolver;
}

export interface SampleStats {
  sample: number;
  processes: number;
  /** Processes that disappeared while being read (ENOENT/ESRCH). */
  vanished: number;
  /** Reads refused (EACCES/EPERM). */
  denied: number;
  /** Other read errors (EINVAL, …). */
  errors: number;
  exeUnreadable: number;
  fdUnreadable: number;
  sockets: number;
  /** Sockets whose owning process could not be found (fd tables unreadable). */
  socketsUnattributed: number;
  processesTruncated: boolean;
  socketsTruncated: boolean;
  durationMs: number;
}

export interface SampleResult {
  events: CoalEvent[];
  stats: SampleStats;
}

interface ProcInfo {
  pid: number;
  entityId: string;
  starttime: number;
  name: string;
  ppid: number;
  cpuTicks: number;
  rssBytes: number;
  executable?: string;
  exeDeleted?: boolean;
  args?: string[];
  commandLine?: string;
  uid?: number;
  containerId?: string;
  startIso?: string;
  /** The raw /proc/PID/exe link: a change means the process exec'd. */
  exeLink?: string;
  exeDenied?: boolean;
  fdDenied?: boolean;
  /** Sample number of the last process-seen/exec emitted. */
  lastEmitted: number;
}

/** Samples an ownerless socket is looked at again before it is reported without a process. */
const UNOWNED_RETRIES = 3;
const NET_FILES: NetProto[] = ['tcp', 'tcp6', 'udp', 'udp6'];
const MAX_FDS_PER_PROCESS = 65536;
const MAX_ORIGINAL_CHARS = 512;

type ReadOutcome<T> = { ok: T } | { err: 'vanished' | 'denied' | 'error' };

function classify(err: unknown): 'vanished' | 'denied' | 'error' {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ESRCH') return 'vanished';
  if (code === 'EACCES' || code === 'EPERM') return 'denied';
  return 'error';
}

/**
 * Reads are synchronous on purpose: procfs answers from memory, never from disk, and a promise round
 * trip through the thread pool costs many times the read itself (measured: ~1 ms per process async
 * against tens of µs sync). The sample yields to the event loop every YIELD_EVERY processes instead.
 * Reads land in one growing scratch buffer and return a view of it, valid until the next read: every
 * caller decodes at once, so a sample makes no garbage for the bytes it reads.
 */
class ScratchReader {
  private buf = Buffer.allocUnsafe(65536);

  /** Up to `max` bytes of a file. `whole`: the file is a one-record procfs file that one read returns entire. */
  read(path: string, max: number, whole = false): Buffer {
    const fd = openSync(path, 'r');
    try {
      let total = 0;
      while (total < max) {
        if (total === this.buf.length) {
          const grown = Buffer.allocUnsafe(Math.min(max, this.buf.length * 2));
          this.buf.copy(grown, 0, 0, total);
          this.buf = grown;
        }
        const n = readSync(fd, this.buf, total, Math.min(this.buf.length, max) - total, null);
        total += n;
        if (n === 0 || whole) break;
      }
      return this.buf.subarray(0, total);
    } finally {
      closeSync(fd);
    }
  }
}

function attempt<T>(fn: () => T): ReadOutcome<T> {
  try {
    return { ok: fn() };
  } catch (err) {
    return { err: classify(err) };
  }
}

const YIELD_EVERY = 200;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ProcSampler {
  readonly root: string;
  readonly hostName: string;
  private readonly ticks: number;
  private readonly pageSize: number;
  private readonly maxProcesses: number;
  private readonly maxSockets: number;
  private readonly idleEvery: number;
  private readonly reader = new ScratchReader();
  private readonly maxFileBytes: number;
  private sampleNo = 0;
  private startedMs: number | undefined;
  private procs = new Map<string, ProcInfo>();
  private seenInodes = new Set<number>();
  /** Sockets seen with no owner yet, and how many samples they have been looked at (bounded by the live set). */
  private readonly unownedTries = new Map<number, number>();
  private lastCpu: { busy: number; total: number } | undefined;
  private lastStats: SampleStats | undefined;

  constructor(options: ProcSamplerOptions = {}) {
    this.root = options.root ?? '/proc';
    this.hostName = options.hostName ?? os.hostname();
    this.ticks = options.clockTicks ?? 100;
    this.pageSize = options.pageSize ?? 4096;
    this.maxProcesses = options.maxProcesses ?? 20000;
    this.maxSockets = options.maxSockets ?? 200000;
    this.idleEvery = Math.max(1, options.idleEvery ?? 10);
    this.maxFileBytes = options.maxFileBytes ?? 65536;
    this.containers = options.containers;
    this.ownContainerId = this.readOwnContainer();
  }

  private readonly containers: ContainerResolver | undefined;
  /**
   * The container this sampler itself runs in, if any: its host, not a workload. Run inside Docker
   * (cgroup namespace shared with the host), every process beside us carries that container's cgroup,
   * and would otherwise look containerised.
   */
  readonly ownContainerId: string | undefined;

  /** `<root>/self/cgroup` read once; unreadable or not a container's cgroup: none. */
  private readOwnContainer(): string | undefined {
    const own = attempt(() => this.reader.read(join(this.root, 'self', 'cgroup'), this.maxFileBytes));
    return 'ok' in own ? parseCgroup(own.ok.toString('utf8')).containerId : undefined;
  }

  /** container.* (and the pod as orchestrator.*) for an event of a process in a container. */
  private placeInContainer(ev: CoalEvent, id: string): void {
    const c = this.containers?.resolve(id);
    ev.container = { id };
    if (!c) return;
    ev.container.runtime = c.runtime;
    if (c.name) ev.container.name = c.name;
    if (c.image) ev.container.image = { name: c.image };
    if (c.pod || c.namespace)
      ev.orchestrator = { namespace: c.namespace, resource: c.pod ? { type: 'pod', name: c.pod } : undefined };
  }

  /** What the sampler holds between samples (for leak checks): it follows the live system, never the past. */
  get tracked(): { processes: number; sockets: number; unownedSockets: number } {
    return { processes: this.procs.size, sockets: this.seenInodes.size, unownedSockets: this.unownedTries.size };
  }

  /** Human-readable telemetry gaps seen in the last sample. */
  visibility(): string[] {
    const s = this.lastStats;
    if (!s) return [];
    const gaps: string[] = [];
    if (s.exeUnreadable > 0)
      gaps.push(
        `executable path not readable for ${s.exeUnreadable} processes${process.getuid?.() === 0 ? '' : ' (not running as root)'}`,
      );
    if (s.fdUnreadable > 0)
      gaps.push(`fd table not readable for ${s.fdUnreadable} processes: their sockets are not attributable`);
    if (s.socketsUnattributed > 0) gaps.push(`${s.socketsUnattributed} sockets have no known owning process`);
    if (s.denied > 0) gaps.push(`${s.denied} /proc reads were refused (EACCES/EPERM)`);
    if (s.processesTruncated) gaps.push(`more than ${this.maxProcesses} processes: the rest were not sampled`);
    if (s.socketsTruncated) gaps.push(`more than ${this.maxSockets} sockets: the rest were not read`);
    const unresolved = this.containers?.unresolved ?? 0;
    if (unresolved > 0)
      gaps.push(
        `${unresolved} containers not named: no Docker, containerd or CRI-O state for their ids under the root (events carry the id only)`,
      );
    return gaps;
  }

  private base(nowMs: number, file: string): Omit<CoalEvent, 'event'> {
    return {
      '@timestamp': new Date(nowMs).toISOString(),
      host: { name: this.hostName, os: { platform: 'linux' } },
      original: {},
      coalmine: { ts: nowMs, format: 'proc', ref: { file, record: `sample ${this.sampleNo}` } },
    };
  }

  async sample(nowMs: number): Promise<SampleResult> {
    const t0 = performance.now();
    this.sampleNo++;
    const first = this.startedMs === undefined;
    if (first) this.startedMs = nowMs;
    const stats: SampleStats = {
      sample: this.sampleNo,
      processes: 0,
      vanished: 0,
      denied: 0,
      errors: 0,
      exeUnreadable: 0,
      fdUnreadable: 0,
      sockets: 0,
      socketsUnattributed: 0,
      processesTruncated: false,
      socketsTruncated: false,
      durationMs: 0,
    };
    const count = (e: 'vanished' | 'denied' | 'error'): void => {
      if (e === 'vanished') stats.vanished++;
      else if (e === 'denied') stats.denied++;
      else stats.errors++;
    };
    const events: CoalEvent[] = [];

    await yieldToLoop(); // every sample lets timers and I/O run at least once
    // host: /proc/stat and /proc/meminfo
    const statText = attempt(() => this.reader.read(join(this.root, 'stat'), this.maxFileBytes));
    const cpu = 'ok' in statText ? parseProcStat(statText.ok.toString('latin1')) : undefined;
    if ('err' in statText) count(statText.err);
    const memText = attempt(() => this.reader.read(join(this.root, 'meminfo'), this.maxFileBytes));
    const mem = 'ok' in memText ? parseMeminfo(memText.ok.toString('latin1')) : {};
    const btimeMs = cpu?.btime !== undefined ? cpu.btime * 1000 : undefined;

    // processes: stat every sample; the rest only for a process that is new or has exec'd since
    const dir = attempt(() => readdirSync(this.root));
    let pids = 'ok' in dir ? dir.ok.filter((n) => /^\d+$/.test(n)).map(Number) : [];
    if ('err' in dir) count(dir.err);
    if (pids.length > this.maxProcesses) {
      stats.processesTruncated = true;
      pids = pids.slice(0, this.maxProcesses);
    }
    const current = new Map<string, ProcInfo>();
    const byPid = new Map<number, ProcInfo>();
    /** Which process owns a socket inode, from the fd tables read this sample. */
    const inodeOwner = new Map<number, number>();
    const fdsRead = new Set<number>();
    const readFds = (p: ProcInfo): number[] => {
      fdsRead.add(p.pid);
      const inodes = this.readFdInodes(p);
      for (const i of inodes) if (!inodeOwner.has(i)) inodeOwner.set(i, p.pid);
      return inodes;
    };
    let k = 0;
    for (const pid of pids) {
      if (++k % YIELD_EVERY === 0) await yieldToLoop();
      const p = this.readProcess(pid, btimeMs, count, stats);
      if (!p) continue;
      current.set(p.entityId, p);
      byPid.set(p.pid, p);
      // a new (or re-exec'd) process: its sockets may be the reason it was started
      if (p.lastEmitted === 0) readFds(p);
    }
    stats.processes = current.size;
    for (const p of current.values()) {
      if (p.exeDenied) stats.exeUnreadable++;
      if (p.fdDenied) stats.fdUnreadable++;
    }

    for (const p of current.values()) {
      const prev = this.procs.get(p.entityId);
      const parent = byPid.get(p.ppid);
      if (prev === undefined) {
        const startMs = btimeMs !== undefined ? btimeMs + (p.starttime / this.ticks) * 1000 : undefined;
        const isNew = !first && (startMs === undefined || startMs >= (this.startedMs ?? 0) - 1000);
        events.push(this.processEvent(nowMs, p, isNew ? 'exec' : 'process-seen', parent, mem.totalBytes));
        p.lastEmitted = this.sampleNo;
      } else {
        // exec'd in place: same pid and start, new image. It is an exec, so the engine replaces what it
        // knew of the pid: a child caught between fork and exec first looks like its parent
        const changed = p.lastEmitted === 0;
        const active = p.cpuTicks !== prev.cpuTicks || p.rssBytes !== prev.rssBytes;
        if (changed || active || this.sampleNo - prev.lastEmitted >= this.idleEvery) {
          events.push(this.processEvent(nowMs, p, changed ? 'exec' : 'process-seen', parent, mem.totalBytes));
          p.lastEmitted = this.sampleNo;
        } else p.lastEmitted = prev.lastEmitted;
      }
    }
    for (const [id, prev] of this.procs)
      if (!current.has(id)) {
        const ev: CoalEvent = {
          ...this.base(nowMs, `/proc/${prev.pid}/stat`),
          event: { kind: 'event', category: ['process'], type: ['end'], action: 'exit', dataset: 'proc.processes' },
          process: this.processFields(prev, byPid.get(prev.ppid)),
        };
        ev.original = { pid: prev.pid, starttime: prev.starttime };
        events.push(ev);
      }
    const previous = this.procs;
    this.procs = current; // pruned: exited processes are forgotten

    // host metric
    if (cpu) {
      const metrics: EventMetrics = {};
      if (cpu.cores > 0) metrics.cores = cpu.cores;
      if (this.lastCpu && cpu.total > this.lastCpu.total)
        metrics.cpu_pct = Math.round(((cpu.busy - this.lastCpu.busy) / (cpu.total - this.lastCpu.total)) * 10000) / 100;
      this.lastCpu = { busy: cpu.busy, total: cpu.total };
      if (mem.totalBytes && mem.availableBytes !== undefined)
        metrics.mem_pct = Math.round((1 - mem.availableBytes / mem.totalBytes) * 10000) / 100;
      const ev: CoalEvent = {
        ...this.base(nowMs, '/proc/stat'),
        event: { kind: 'metric', category: ['host'], type: ['info'], action: 'metric', dataset: 'proc.stat' },
        metrics,
      };
      ev.original = { cpu: cpu.counters.slice(0, 10), cores: cpu.cores };
      events.push(ev);
    }

    // sockets: the tables first, then fd tables only as far as needed to find the owners of new ones
    const fresh: { s: NetSocket; file: string }[] = [];
    const liveInodes = new Set<number>();
    let remaining = this.maxSockets;
    for (const proto of NET_FILES) {
      if (remaining <= 0) {
        stats.socketsTruncated = true;
        break;
      }
      const file = join(this.root, 'net', proto);
      const r = attempt(() => this.reader.read(file, 256 * remaining + 4096));
      if ('err' in r) {
        if (r.err !== 'vanished') count(r.err);
        continue;
      }
      const buf = r.ok;
      const lines = forEachNetLine(buf, remaining, (inode, start, end) => {
        if (inode === 0) return; // TIME_WAIT and friends: no socket object
        liveInodes.add(inode);
        if (this.seenInodes.has(inode)) return;
        const s = parseNetLine(proto, buf.toString('latin1', start, end));
        if (s) fresh.push({ s, file: `/proc/net/${proto}` });
      });
      remaining -= lines;
      if (remaining <= 0) stats.socketsTruncated = true;
      stats.sockets += lines;
    }
    const unowned = new Set(fresh.map((f) => f.s.inode).filter((i) => !inodeOwner.has(i)));
    if (unowned.size > 0) {
      // who made them: processes that ran since the last sample first, then everyone else
      const unread = [...current.values()].filter((p) => !fdsRead.has(p.pid) && !p.fdDenied);
      const ran = (p: ProcInfo) => p.cpuTicks !== previous.get(p.entityId)?.cpuTicks;
      const order = [...unread.filter(ran), ...unread.filter((p) => !ran(p))];
      for (const p of order) {
        if (++k % YIELD_EVERY === 0) await yieldToLoop();
        for (const i of readFds(p)) unowned.delete(i);
        if (unowned.size === 0) break;
      }
    }
    for (const { s, file } of fresh) {
      const ev = this.socketEvent(nowMs, s, file, byPid.get(inodeOwner.get(s.inode) ?? -1));
      if (ev === null) continue; // not reportable (yet): check again next sample
      if (ev && !ev.process) {
        // a socket made after its owner was looked at (or by a process not listed yet): look again before giving up
        const tries = (this.unownedTries.get(s.inode) ?? 0) + 1;
        if (tries < UNOWNED_RETRIES) {
          this.unownedTries.set(s.inode, tries);
          continue;
        }
      }
      this.unownedTries.delete(s.inode);
      this.seenInodes.add(s.inode);
      if (ev === undefined) continue;
      if (!ev.process) stats.socketsUnattributed++;
      events.push(ev);
    }
    for (const i of this.seenInodes) if (!liveInodes.has(i)) this.seenInodes.delete(i);
    for (const i of this.unownedTries.keys()) if (!liveInodes.has(i)) this.unownedTries.delete(i);

    stats.durationMs = Math.round((performance.now() - t0) * 10) / 10;
    this.lastStats = stats;
    return { events, stats };
  }

  /**
   * One process. `stat` is read every sample and is all an idle process costs. One that ran since
   * the last sample gets its exe link and cmdline read again (argv can be rewritten); status and
   * cgroup only when it is new or its image changed (comm or the exe link differs: an exec keeps pid
   * and start time). A result with lastEmitted 0 is new or re-exec'd.
   */
  private readProcess(
    pid: number,
    btimeMs: number | undefined,
    count: (e: 'vanished' | 'denied' | 'error') => void,
    stats: SampleStats,
  ): ProcInfo | undefined {
    const dir = join(this.root, String(pid));
    const statR = attempt(() => this.reader.read(join(dir, 'stat'), this.maxFileBytes, true));
    if ('err' in statR) {
      count(statR.err);
      return undefined;
    }
    const st = parsePidStat(statR.ok.toString('utf8'));
    if (!st) {
      stats.errors++;
      return undefined;
    }
    const entityId = `${pid}@${st.starttime}`;
    const p: ProcInfo = {
      pid,
      entityId,
      starttime: st.starttime,
      name: clip(st.comm, 64),
      ppid: st.ppid,
      cpuTicks: st.utime + st.stime,
      rssBytes: st.rssPages * this.pageSize,
      lastEmitted: 0,
    };
    if (btimeMs !== undefined) p.startIso = new Date(btimeMs + (st.starttime / this.ticks) * 1000).toISOString();
    const prev = this.procs.get(entityId);
    const carry = (from: ProcInfo): void => {
      p.lastEmitted = from.lastEmitted;
      p.uid = from.uid;
      p.containerId = from.containerId;
      p.fdDenied = from.fdDenied;
      p.args = from.args;
      p.commandLine = from.commandLine;
    };
    if (prev !== undefined && prev.name === p.name && prev.cpuTicks === p.cpuTicks) {
      // idle since the last sample: nothing it could have changed without running
      carry(prev);
      p.exeLink = prev.exeLink;
      p.executable = prev.executable;
      p.exeDeleted = prev.exeDeleted;
      p.exeDenied = prev.exeDenied;
      return p;
    }
    const exe = attempt(() => readlinkSync(join(dir, 'exe')));
    p.exeLink = 'ok' in exe ? exe.ok : undefined;
    if ('ok' in exe) {
      const e = parseExeLink(exe.ok);
      p.executable = clip(e.executable, 4096);
      p.exeDeleted = e.deleted;
    } else if (exe.err === 'denied') p.exeDenied = true;
    // kernel threads have no exe link (ENOENT): not a gap

    const same = prev !== undefined && prev.name === p.name && prev.exeLink === p.exeLink;
    if (same) carry(prev);
    const cmd = attempt(() => this.reader.read(join(dir, 'cmdline'), MAX_CMDLINE_BYTES));
    if ('ok' in cmd) {
      const c = parseCmdline(cmd.ok);
      if (c) {
        p.args = c.args.slice(0, 256).map((a) => clip(a, 4096));
        p.commandLine = clip(c.commandLine, MAX_CMDLINE_BYTES);
      }
    } else if (cmd.err === 'vanished') {
      stats.vanished++;
      return undefined;
    } else count(cmd.err);
    if (same) return p;
    const status = attempt(() => this.reader.read(join(dir, 'status'), this.maxFileBytes, true));
    if ('ok' in status) {
      const u = parseStatusUid(status.ok.toString('utf8'));
      if (u) p.uid = u.uid;
    }
    const cgroup = attempt(() => this.reader.read(join(dir, 'cgroup'), this.maxFileBytes));
    if ('ok' in cgroup) {
      const cg = parseCgroup(cgroup.ok.toString('utf8'));
      if (cg.containerId && cg.containerId !== this.ownContainerId) p.containerId = cg.containerId;
    }
    return p;
  }

  /** The socket inodes in a process's fd table (bounded); records whether the table was refused. */
  private readFdInodes(p: ProcInfo): number[] {
    const fdDir = join(this.root, String(p.pid), 'fd');
    const names = attempt(() => readdirSync(fdDir));
    if ('err' in names) {
      if (names.err === 'denied') p.fdDenied = true;
      return [];
    }
    p.fdDenied = false;
    const inodes: number[] = [];
    for (const n of names.ok.slice(0, MAX_FDS_PER_PROCESS)) {
      const l = attempt(() => readlinkSync(join(fdDir, n)));
      if ('ok' in l) {
        const i = parseSocketLink(l.ok);
        if (i !== undefined) inodes.push(i);
      }
    }
    return inodes;
  }

  private processFields(p: ProcInfo, parent: ProcInfo | undefined): ProcessFields {
    const f: ProcessFields = { pid: p.pid, entity_id: p.entityId, name: p.name };
    if (p.executable !== undefined) f.executable = p.executable;
    if (p.exeDeleted) f.exe_deleted = true;
    else if (p.executable !== undefined) f.exe_deleted = false;
    if (p.commandLine !== undefined) f.command_line = p.commandLine;
    if (p.args !== undefined) f.args = p.args;
    if (p.startIso !== undefined) f.start = p.startIso;
    if (p.uid !== undefined) f.user = { id: String(p.uid) };
    f.parent = { pid: p.ppid };
    if (parent) {
      f.parent.entity_id = parent.entityId;
      f.parent.name = parent.name;
      if (parent.executable !== undefined) f.parent.executable = parent.executable;
    }
    return f;
  }

  private processEvent(
    nowMs: number,
    p: ProcInfo,
    action: 'exec' | 'process-seen',
    parent: ProcInfo | undefined,
    memTotal: number | undefined,
  ): CoalEvent {
    const ev: CoalEvent = {
      ...this.base(nowMs, `/proc/${p.pid}/stat`),
      event: {
        kind: 'event',
        category: ['process'],
        type: [action === 'exec' ? 'start' : 'info'],
        action,
        dataset: 'proc.processes',
      },
      process: this.processFields(p, parent),
    };
    if (p.uid !== undefined) ev.user = { id: String(p.uid) };
    if (p.containerId !== undefined) this.placeInContainer(ev, p.containerId);
    const metrics: EventMetrics = {
      cpu_time_ms: Math.round((p.cpuTicks * 1000) / this.ticks),
      rss_bytes: p.rssBytes,
    };
    if (memTotal) metrics.mem_pct = Math.round((p.rssBytes / memTotal) * 10000) / 100;
    ev.metrics = metrics;
    ev.original = {
      pid: p.pid,
      comm: p.name,
      ppid: p.ppid,
      starttime: p.starttime,
      cpu_ticks: p.cpuTicks,
      rss_bytes: p.rssBytes,
      exe: p.executable,
      cmdline: p.commandLine === undefined ? undefined : clip(p.commandLine, MAX_ORIGINAL_CHARS),
    };
    return ev;
  }

  /** A connect/listen event for a new socket; undefined = never report; null = not yet (e.g. SYN_SENT). */
  private socketEvent(
    nowMs: number,
    s: NetSocket,
    file: string,
    owner: ProcInfo | undefined,
  ): CoalEvent | undefined | null {
    const tcp = s.proto.startsWith('tcp');
    const transport = tcp ? 'tcp' : 'udp';
    const base = this.base(nowMs, file);
    base.original = {
      proto: s.proto,
      local: `${s.localIp}:${s.localPort}`,
      remote: `${s.remoteIp}:${s.remotePort}`,
      state: TCP_STATES[s.state] ?? s.state,
      uid: s.uid,
      inode: s.inode,
    };
    const unspecified = s.remoteIp === '0.0.0.0' || s.remoteIp === '::';
    let ev: CoalEvent | undefined;
    if ((tcp && s.state === '0A') || (!tcp && unspecified && s.remotePort === 0)) {
      if (s.localPort <= 0) return undefined;
      ev = {
        ...base,
        event: { kind: 'event', category: ['network'], type: ['start'], action: 'listen', dataset: 'proc.sockets' },
        source: { ip: s.localIp, port: s.localPort },
        network: { transport },
      };
    } else if ((tcp && s.state === '01') || (!tcp && !unspecified && s.remotePort > 0)) {
      if (unspecified || s.remotePort <= 0) return undefined;
      // a privileged local port with an unprivileged peer is a service's accepted client, not outbound
      if (s.localPort > 0 && s.localPort < 1024 && s.remotePort >= 1024) return undefined;
      ev = {
        ...base,
        event: {
          kind: 'event',
          category: ['network'],
          type: ['connection'],
          action: 'connect',
          dataset: 'proc.sockets',
        },
        destination: { ip: s.remoteIp, port: s.remotePort },
        source: { ip: s.localIp, port: s.localPort },
        network: { transport },
      };
    } else if (tcp && (s.state === '02' || s.state === '03' || s.state === '0C')) return null;
    else return undefined;
    if (owner) {
      const process: ProcessFields = { pid: owner.pid, entity_id: owner.entityId, name: owner.name };
      if (owner.executable !== undefined) process.executable = owner.executable;
      if (owner.commandLine !== undefined) process.command_line = owner.commandLine;
      ev.process = process;
      if (owner.containerId !== undefined) this.placeInContainer(ev, owner.containerId);
    }
    return ev;
  }
}
