/**
 * `coalmine simulate … --emit-logs DIR`: the same story as the live behaviours, written as the log
 * files `hunt` reads, for pipelines without a live sensor. Nothing is started. DIR is laid out as a
 * collected filesystem (like examples/kinsing-like): etc/hostname, a bodyfile with the original mtimes,
 * auditd records for each exec, connect, file write and kill, per-minute CPU samples as metrics CSV
 * and the cron entry in the user's spool. Timestamps end at `now` and span 25 minutes, longer than
 * the default 15-minute sustain window. The container behaviour adds a cluster's story under `k8s/`
 * (container-story.ts: audit log, Tetragon, Prometheus, kubectl inventory; 26 hours of audit history).
 * Output depends only on the options and `now`.
 */
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { type ContainerStory, containerStory } from './container-story.js';
import type { Behaviour } from './index.js';
import { loginName } from './persistence.js';
import { PROXYWARE_CLIENT, proxywareArgs } from './proxyware.js';

/** The simulated drop directory the story's programs run from (nothing is ever written there). */
export const STORY_DIR = '/tmp/coalmine-simulate';
export const STORY_POOL = { address: '127.0.0.1', port: 3333 } as const;
export const STORY_RELAY = { address: '127.0.0.1', port: 40404 } as const;
const SPAN_MS = 25 * 60_000;
/** Pids of the story: the simulate process that starts everything, then its children. */
const PID = { simulate: 4200, rival: 4201, crontab: 4202, miner: 4203, sh: 4204, pkill: 4205, proxyware: 4206 };

export class EmitLogsError extends Error {}

export interface EmitLogsOptions {
  behaviours: Behaviour[];
  /** Share of one core the miner is shown burning (0.1–1). */
  share: number;
  wallet: string;
  /** Epoch ms the story ends at (defaults to the wall clock). */
  now?: number;
}

export interface EmittedLogs {
  dir: string;
  host: string;
  user: string;
  from: string;
  to: string;
  files: string[];
  miner?: { pid: number; executable: string; command_line: string; pool: string };
  cron?: { file: string; line: string };
  rival?: { pid: number; executable: string; killed_by: string };
  proxyware?: { pid: number; executable: string; command_line: string; relay: string };
  /** The container story's workloads (files under k8s/). */
  containers?: Omit<ContainerStory, 'files' | 'expect'>;
  expect: string[];
}

/** Refuse a DIR that exists and is not an empty directory (never write over anything); create it otherwise. */
export function prepareDir(dir: string): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new EmitLogsError(`${dir}: cannot be read (${(err as Error).message})`);
  }
  if (st) {
    if (!st.isDirectory()) throw new EmitLogsError(`${dir}: exists and is not a directory`);
    if (readdirSync(dir).length > 0) throw new EmitLogsError(`${dir}: exists and is not empty`);
    return;
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new EmitLogsError(`${dir}: cannot be created (${(err as Error).message})`);
  }
}

/** Write one story file under `dir` (which prepareDir made ready), its directories made; the path written. */
export function writeNewFile(dir: string, rel: string, data: string | Buffer): string {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  // wx: never follow or overwrite anything that appeared in DIR meanwhile
  writeFileSync(path, data, { flag: 'wx', mode: 0o600 });
  return path;
}

/** Names as the story uses them: our own machine's, but only if they look like names. */
function safeHost(): string {
  const h = hostname();
  return /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(h) ? h : 'coalmine-simulate';
}
function safeUser(): { name: string; uid: number } {
  return { name: loginName(), uid: process.getuid?.() ?? 1000 };
}

/** auditd writes a value quoted when it is plain printable ASCII without `"`, else as hex. */
function auditArg(value: string): string {
  return /^[\x21\x23-\x7e]*$/.test(value) && value !== ''
    ? `"${value}"`
    : Buffer.from(value, 'utf8').toString('hex').toUpperCase();
}

/** IPv4 sockaddr_in as auditd prints it: family (LE), port (BE), address, zero padding. */
function sockaddr(ip: string, port: number): string {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16BE(port, 2);
  ip.split('.').forEach((o, i) => {
    b[4 + i] = Number(o);
  });
  return b.toString('hex').toUpperCase();
}

class AuditWriter {
  readonly lines: string[] = [];
  private serial = 1000;
  constructor(
    private readonly uid: number,
    private readonly cwd: string,
  ) {}

  private stamp(ms: number): string {
    return `msg=audit(${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}:${this.serial}):`;
  }

  private syscall(
    ms: number,
    nr: number,
    a: string[],
    extra: string,
    pid: number,
    ppid: number,
    exe: string,
    key: string,
  ) {
    const comm = exe.slice(exe.lastIndexOf('/') + 1).slice(0, 15);
    const ids = ['uid', 'gid', 'euid', 'suid', 'fsuid', 'egid', 'sgid', 'fsgid']
      .map((k) => `${k}=${this.uid}`)
      .join(' ');
    this.lines.push(
      `type=SYSCALL ${this.stamp(ms)} arch=c000003e syscall=${nr} ${extra} a0=${a[0]} a1=${a[1]} a2=${a[2]} a3=${a[3]} items=${key === 'exec' ? 2 : key === 'cron' ? 2 : 0} ppid=${ppid} pid=${pid} auid=4294967295 ${ids} tty=(none) ses=4294967295 comm=${auditArg(comm)} exe=${auditArg(exe)} subj=unconfined key="${key}"`,
    );
  }

  private proctitle(ms: number, args: string[]) {
    // the kernel keeps the first 128 bytes of the NUL-separated argv
    const title = Buffer.from(args.join('\u0000'), 'utf8').subarray(0, 128);
    this.lines.push(`type=PROCTITLE ${this.stamp(ms)} proctitle=${title.toString('hex').toUpperCase()}`);
  }

  exec(ms: number, pid: number, ppid: number, exe: string, args: string[]) {
    this.serial++;
    this.syscall(
      ms,
      59,
      ['55d1c3a4b2d0', '55d1c3a4b310', '55d1c3a4b330', '0'],
      'success=yes exit=0',
      pid,
      ppid,
      exe,
      'exec',
    );
    const argv = args.map((a, i) => `a${i}=${auditArg(a)}`).join(' ');
    this.lines.push(`type=EXECVE ${this.stamp(ms)} argc=${args.length} ${argv}`);
    this.lines.push(`type=CWD ${this.stamp(ms)} cwd=${auditArg(this.cwd)}`);
    this.lines.push(
      `type=PATH ${this.stamp(ms)} item=0 name=${auditArg(exe)} inode=${100000 + pid} dev=08:01 mode=0100755 ouid=${this.uid} ogid=${this.uid} rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
    );
    this.lines.push(
      `type=PATH ${this.stamp(ms)} item=1 name="/lib64/ld-linux-x86-64.so.2" inode=1847373 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
    );
    this.proctitle(ms, args);
  }

  /** A non-blocking connect, as node and most clients make it: EINPROGRESS, which auditd logs as a failure. */
  connect(ms: number, pid: number, ppid: number, exe: string, ip: string, port: number) {
    this.serial++;
    this.syscall(ms, 42, ['3', '7ffd5c1e2a40', '10', '0'], 'success=no exit=-115', pid, ppid, exe, 'net');
    this.lines.push(`type=SOCKADDR ${this.stamp(ms)} saddr=${sockaddr(ip, port)}`);
    this.proctitle(ms, [exe.slice(exe.lastIndexOf('/') + 1)]);
  }

  /** openat(AT_FDCWD, path, O_WRONLY|O_CREAT|O_TRUNC): a file written. */
  write(ms: number, pid: number, ppid: number, exe: string, path: string) {
    this.serial++;
    this.syscall(ms, 257, ['ffffff9c', '5581a7c3e2a0', '241', '1b6'], 'success=yes exit=3', pid, ppid, exe, 'cron');
    this.lines.push(
      `type=PATH ${this.stamp(ms)} item=0 name=${auditArg(`${dirname(path)}/`)} inode=262200 dev=08:01 mode=040730 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
    );
    this.lines.push(
      `type=PATH ${this.stamp(ms)} item=1 name=${auditArg(path)} inode=262201 dev=08:01 mode=0100600 ouid=${this.uid} ogid=${this.uid} rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
    );
    this.proctitle(ms, [exe.slice(exe.lastIndexOf('/') + 1)]);
  }

  /** kill(target, signal) with the target named the way auditd does (OBJ_PID). */
  kill(ms: number, pid: number, ppid: number, exe: string, target: number, targetComm: string, signal: number) {
    this.serial++;
    this.syscall(
      ms,
      62,
      [target.toString(16), signal.toString(16), '0', '7f3a1c2b4e80'],
      'success=yes exit=0',
      pid,
      ppid,
      exe,
      'kill',
    );
    this.lines.push(
      `type=OBJ_PID ${this.stamp(ms)} opid=${target} oauid=4294967295 ouid=${this.uid} oses=4294967295 obj=unconfined ocomm=${auditArg(targetComm)}`,
    );
    this.proctitle(ms, [exe.slice(exe.lastIndexOf('/') + 1)]);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** Write the story into `dir` (which prepareDir made ready); nothing is started. */
export function emitLogs(dir: string, options: EmitLogsOptions): EmittedLogs {
  const want = new Set(options.behaviours);
  const end = Math.floor((options.now ?? Date.now()) / 1000) * 1000;
  const start = end - SPAN_MS;
  const host = safeHost();
  const user = safeUser();
  const audit = new AuditWriter(user.uid, `/home/${user.name}`);
  const out: EmittedLogs = { dir, host, user: user.name, from: iso(start), to: iso(end), files: [], expect: [] };
  const exe = (name: string) => `${STORY_DIR}/${name}`;
  const miner = exe('xmrig');
  const minerArgs = [
    miner,
    '-o',
    `stratum+tcp://${STORY_POOL.address}:${STORY_POOL.port}`,
    '-u',
    options.wallet,
    '--donate-level',
    '1',
  ];
  const cronFile = `/var/spool/cron/crontabs/${user.name}`;
  const cronLine = `*/10 * * * * ${minerArgs.join(' ')}`;
  const bodyfile: string[] = [];
  const cpuPct = Math.round(options.share * 1000) / 10;

  if (want.has('competitor')) audit.exec(start, PID.rival, PID.simulate, exe('kdevtmpfsi'), [exe('kdevtmpfsi')]);
  if (want.has('persistence')) {
    audit.exec(start + 5_000, PID.crontab, PID.simulate, '/usr/bin/crontab', ['crontab', '-']);
    audit.write(start + 5_100, PID.crontab, PID.simulate, '/usr/bin/crontab', cronFile);
    out.cron = { file: join(dir, cronFile), line: cronLine };
  }
  if (want.has('miner')) {
    audit.exec(start + 10_000, PID.miner, PID.simulate, miner, minerArgs);
    audit.connect(start + 11_000, PID.miner, PID.simulate, miner, STORY_POOL.address, STORY_POOL.port);
    out.miner = {
      pid: PID.miner,
      executable: miner,
      command_line: minerArgs.join(' '),
      pool: `${STORY_POOL.address}:${STORY_POOL.port}`,
    };
  }
  if (want.has('competitor')) {
    // as live: the miner's child waits, then kills the rival by its exact name among our children only
    const parent = want.has('miner') ? PID.miner : PID.simulate;
    const script = `sleep 5; pkill -9 -P ${PID.simulate} -x kdevtmpfsi`;
    audit.exec(start + 12_000, PID.sh, parent, '/usr/bin/dash', ['/bin/sh', '-c', script]);
    audit.exec(start + 17_000, PID.pkill, PID.sh, '/usr/bin/pkill', [
      'pkill',
      '-9',
      '-P',
      String(PID.simulate),
      '-x',
      'kdevtmpfsi',
    ]);
    audit.kill(start + 17_050, PID.pkill, PID.sh, '/usr/bin/pkill', PID.rival, 'kdevtmpfsi', 9);
    out.rival = {
      pid: PID.rival,
      executable: exe('kdevtmpfsi'),
      killed_by: `pkill (pid ${PID.pkill}), child of ${parent}`,
    };
  }
  if (want.has('proxyware')) {
    const p = exe(PROXYWARE_CLIENT);
    const args = [p, ...proxywareArgs()];
    // started as a service (parent pid 1), as proxyware installs itself: its own lineage, its own finding
    audit.exec(start + 20_000, PID.proxyware, 1, p, args);
    audit.connect(start + 20_500, PID.proxyware, 1, p, STORY_RELAY.address, STORY_RELAY.port);
    out.proxyware = {
      pid: PID.proxyware,
      executable: p,
      command_line: args.join(' '),
      relay: `${STORY_RELAY.address}:${STORY_RELAY.port}`,
    };
  }

  const files: Array<[string, string, number]> = [['etc/hostname', `${host}\n`, start]];
  if (audit.lines.length > 0) files.push(['var/log/audit/audit.log', `${audit.lines.join('\n')}\n`, end]);
  if (want.has('persistence'))
    files.push([
      cronFile.slice(1),
      `# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (- installed by coalmine simulate --emit-logs)\n${cronLine}\n`,
      start + 5_100,
    ]);
  if (want.has('miner') || want.has('proxyware')) {
    // one sample a minute from the first minute after the start to `now`, like a per-minute collector
    const cores = Math.max(1, cpus().length);
    const rows = ['timestamp,entity,cpu_pct,mem_pct'];
    for (let t = start + 60_000; t <= end; t += 60_000) {
      let total = 3;
      if (want.has('miner')) {
        rows.push(`${iso(t)},${host}/${PID.miner},${cpuPct.toFixed(1)},1.5`);
        total += cpuPct;
      }
      if (want.has('proxyware')) {
        rows.push(`${iso(t)},${host}/${PID.proxyware},0.4,0.6`);
        total += 0.4;
      }
      rows.push(`${iso(t)},${host},${Math.min(100, total / cores).toFixed(1)},30.0`);
    }
    files.push(['var/log/metrics/cpu.csv', `${rows.join('\n')}\n`, end]);
  }
  let story: ContainerStory | undefined;
  if (want.has('container')) {
    story = containerStory(end, options.wallet);
    for (const f of story.files) files.push([f.rel, f.text, f.mtime]);
    const { files: _files, expect: _expect, ...workloads } = story;
    out.containers = workloads;
  }
  for (const [rel, text, mtime] of files) {
    const path = writeNewFile(dir, rel, text);
    out.files.push(path);
    const sec = Math.floor(mtime / 1000);
    bodyfile.push(
      `0|/${rel}|${262100 + bodyfile.length}|-rw-------|${user.uid}|${user.uid}|${Buffer.byteLength(text)}|${sec}|${sec}|${sec}|${sec}`,
    );
  }
  // the original mtimes, which a copy of DIR would otherwise lose (the cron entry's time comes from here)
  writeFileSync(join(dir, 'bodyfile'), `${bodyfile.join('\n')}\n`, { flag: 'wx', mode: 0o600 });
  out.files.push(join(dir, 'bodyfile'));
  out.expect = [...expectFor(out, cpuPct), ...(story?.expect ?? []), 'the run summary reports no bad input'];
  return out;
}

/** What `hunt DIR` reported for each part of the story when we ran it (default policy). */
function expectFor(out: EmittedLogs, cpuPct: number): string[] {
  const e: string[] = [];
  if (out.miner) {
    const sustained = cpuPct >= 80;
    const parts = [
      'miner-process (its name, the Stratum URL and xmrig flags in its command line)',
      'masquerade (runs from world-writable /tmp/)',
      `pool-contact with ${out.miner.pool} named in its own command line (and mining-port, weak)`,
      sustained
        ? `sustained-cpu (${cpuPct}% of a core held past the default 80% for the 15-minute window)`
        : `no sustained-cpu: ${cpuPct}% of a core is under the default 80% threshold`,
    ];
    if (out.cron) parts.push(`persistence (the cron entry ${out.cron.file}:3, and crontab's write of it in audit.log)`);
    if (out.rival)
      parts.push(
        `competitor-kill (the sh and pkill command lines and the kill syscall: signal 9 to kdevtmpfsi pid ${out.rival.pid}), and the rival's own miner-process and masquerade`,
      );
    e.push(
      `AN0742 ${sustained ? 'high, legs resource+process+reach' : 'medium, legs process+reach'} "Cryptomining" (T1496.001) on ${out.miner.executable} (pid ${out.miner.pid}): ${parts.join('; ')}`,
    );
  } else if (out.rival) {
    // crontab(1) runs under the same parent as the rival, so its write joins the rival's lineage
    e.push(
      `AN0742 ${out.cron ? 'medium, legs process+reach' : 'low, process leg only'} "Cryptomining" on ${out.rival.executable} (pid ${out.rival.pid}): miner-process (kdevtmpfsi is in intel miner-names), masquerade, competitor-kill (signal 9 from pkill pid 4205)${out.cron ? `, persistence (the cron entry ${out.cron.file}:3 and crontab's write of it)` : ''}`,
    );
  } else if (out.cron)
    e.push(
      `no finding from the cron entry ${out.cron.file} alone: persistence is reach evidence, and no process of its target ran`,
    );
  if (out.proxyware)
    e.push(
      `AN0742 low "Proxyjacking" (T1496.002) on ${out.proxyware.executable} (pid ${out.proxyware.pid}), process leg only: proxyware-process (Pawns' -accept-tos flag beside the account arguments, password hidden), masquerade; its relay ${out.proxyware.relay} is loopback, so no reach leg. It runs as a service (parent pid 1) here, so it is a finding of its own`,
    );
  return e;
}
