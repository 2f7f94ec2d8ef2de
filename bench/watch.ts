/**
 * The live sensor's overhead: `node --import tsx bench/watch.ts [--processes 500] [--sockets 5000]
 * [--seconds 60] [--interval 5]`. Stages a loaded host — idle `sleep` processes until /proc holds at
 * least --processes, and node children holding loopback TCP connection pairs until /proc/net holds at
 * least --sockets — then runs the real CLI, `coalmine watch --interval 5 --duration …`, as its own
 * process and reads that process's CPU ticks and peak RSS from /proc. The CPU share is counted over
 * the steady window (from the end of the second sample to just before exit), startup apart.
 *
 * The reference, measured in the same run on the same load: one snapshot by the usual tools —
 * `ps -eo pid,ppid,uid,lstart,time,rss,args` plus `ss -tunap` (which finds socket owners by reading
 * every fd table, as we must) — taken once per interval, i.e. what a cron'd inventory script costs.
 * Results: bench/results/watch.json and .md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const BIN = join(HERE, '..', 'bin', 'coalmine.js');
const TICKS = 100;
const PAIRS_PER_HOLDER = 500;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: a positive number`);
  return n;
}

function processCount(): number {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
}

/** Sockets in /proc/net with a socket object (inode ≠ 0): TIME_WAIT leftovers do not count as load. */
function socketCount(): number {
  let n = 0;
  for (const f of ['tcp', 'tcp6', 'udp', 'udp6'])
    try {
      for (const line of readFileSync(`/proc/net/${f}`, 'latin1').split('\n').slice(1)) {
        const inode = line.trim().split(/\s+/)[9];
        if (inode !== undefined && inode !== '0') n++;
      }
    } catch {
      // not on this kernel
    }
  return n;
}

/** utime+stime in ticks and VmHWM/VmRSS in KiB of a live process. */
function usage(pid: number): { ticks: number; hwmKib: number; rssKib: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { ticks: Number(f[11]) + Number(f[12]), hwmKib: kib('VmHWM'), rssKib: kib('VmRSS') };
}

const HOLDER = `
const net = require('node:net');
const pairs = Number(process.argv[1]);
const keep = [];
const server = net.createServer((s) => keep.push(s));
server.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  for (let i = 0; i < pairs; i++)
    await new Promise((r) => { const c = net.connect(port, '127.0.0.1', r); keep.push(c); c.on('error', () => {}); });
  process.stdout.write('ready\\n');
});
setTimeout(() => process.exit(0), Number(process.argv[2]));
`;

async function stageLoad(
  processes: number,
  sockets: number,
  lifetimeMs: number,
): Promise<{ children: ChildProcess[]; processes: number; sockets: number }> {
  const children: ChildProcess[] = [];
  const holders = Math.ceil(Math.max(0, sockets - socketCount()) / 2 / PAIRS_PER_HOLDER);
  const ready: Promise<void>[] = [];
  for (let i = 0; i < holders; i++) {
    const c = spawn(process.execPath, ['-e', HOLDER, String(PAIRS_PER_HOLDER), String(lifetimeMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(c);
    ready.push(new Promise((resolve) => c.stdout?.once('data', () => resolve())));
  }
  await Promise.all(ready);
  const sleepers = Math.max(0, processes - processCount());
  for (let i = 0; i < sleepers; i++)
    children.push(spawn('sleep', [String(Math.ceil(lifetimeMs / 1000))], { stdio: 'ignore' }));
  await new Promise((r) => setTimeout(r, 500));
  return { children, processes: processCount(), sockets: socketCount() };
}

/** CPU seconds of one `ps` + `ss -p` snapshot, best of three (children's rusage via /usr/bin/time). */
function referenceSnapshot(): { cpuS: number; maxRssKib: number } | undefined {
  let best: { cpuS: number; maxRssKib: number } | undefined;
  for (let i = 0; i < 3; i++) {
    let cpuS = 0;
    let maxRssKib = 0;
    for (const cmd of [
      ['ps', '-eo', 'pid,ppid,uid,lstart,time,rss,args'],
      ['ss', '-tunap'],
    ]) {
      const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const m = /([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr ?? '');
      if (r.status !== 0 || !m) return undefined;
      cpuS += Number(m[1]) + Number(m[2]);
      maxRssKib = Math.max(maxRssKib, Number(m[3]));
    }
    if (!best || cpuS < best.cpuS) best = { cpuS, maxRssKib };
  }
  return best;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const wantProcesses = flag(args, '--processes', 500);
  const wantSockets = flag(args, '--sockets', 5000);
  const seconds = flag(args, '--seconds', 60);
  const intervalS = flag(args, '--interval', 5);
  if (process.platform !== 'linux') throw new Error('watch reads /proc: Linux only');

  const load = await stageLoad(wantProcesses, wantSockets, (seconds + 60) * 1000);
  try {
    process.stderr.write(`load: ${load.processes} processes, ${load.sockets} sockets\n`);
    const reference = referenceSnapshot();

    const t0 = Date.now();
    const watch = spawn(
      process.execPath,
      [BIN, 'watch', '--interval', String(intervalS), '--duration', `${seconds}s`, '--format', 'ndjson'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let findings = 0;
    let status = '';
    watch.stdout?.on('data', (d: Buffer) => {
      findings += d.toString('utf8').split('\n').length - 1;
    });
    watch.stderr?.on('data', (d: Buffer) => {
      status += d.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
    const pid = watch.pid ?? -1;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // startup (module loading, rules, intel) and the first full sample stay out of the steady window
    const warmMs = 2 * intervalS * 1000 + 2000;
    await sleep(warmMs);
    const warm = usage(pid);
    const warmAt = Date.now();
    await sleep(seconds * 1000 - warmMs - 1500);
    const end = usage(pid);
    const endAt = Date.now();
    const code = await exited;
    const elapsedS = (endAt - warmAt) / 1000;
    const steadyCpuS = (end.ticks - warm.ticks) / TICKS;
    const share = steadyCpuS / elapsedS;
    const samples = Number(/(\d+) samples/.exec(status)?.[1] ?? 0);
    const sampleMs = /([\d.]+) ms each on average, slowest ([\d.]+) ms/.exec(status);
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      load: { processes: load.processes, sockets: load.sockets },
      watch: {
        interval_s: intervalS,
        duration_s: seconds,
        exit_code: code,
        samples,
        sample_ms_mean: sampleMs ? Number(sampleMs[1]) : null,
        sample_ms_max: sampleMs ? Number(sampleMs[2]) : null,
        findings,
        startup_cpu_s: warm.ticks / TICKS,
        steady_window_s: Math.round(elapsedS * 10) / 10,
        steady_cpu_s: steadyCpuS,
        cpu_share_of_one_core_pct: Math.round(share * 10000) / 100,
        target_pct: 2,
        peak_rss_mib: Math.round(end.hwmKib / 102.4) / 10,
        rss_mib_after_startup: Math.round(warm.rssKib / 102.4) / 10,
        rss_mib_at_end: Math.round(end.rssKib / 102.4) / 10,
        wall_s: Math.round((Date.now() - t0) / 100) / 10,
      },
      reference: reference
        ? {
            what: 'ps -eo pid,ppid,uid,lstart,time,rss,args + ss -tunap, once per interval',
            snapshot_cpu_s: reference.cpuS,
            cpu_share_of_one_core_pct: Math.round((reference.cpuS / intervalS) * 10000) / 100,
            peak_rss_mib: Math.round(reference.maxRssKib / 102.4) / 10,
            watch_over_reference:
              reference.cpuS > 0 ? Math.round((share / (reference.cpuS / intervalS)) * 100) / 100 : null,
          }
        : null,
      status_tail: status.split('\n').slice(-4).join('\n'),
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'watch.json'), `${JSON.stringify(result, null, 2)}\n`);
    const w = result.watch;
    const r = result.reference;
    const md = [
      '# watch overhead',
      '',
      `${result.date.slice(0, 10)}. ${describeMachine(result.machine)}`,
      `Load: ${result.load.processes} processes, ${result.load.sockets} sockets in /proc/net. \`coalmine watch --interval ${w.interval_s} --duration ${w.duration_s}s\` (exit ${w.exit_code}, ${w.samples} samples of ${w.sample_ms_mean} ms on average, slowest ${w.sample_ms_max} ms, ${w.findings} finding lines).`,
      '',
      '| | CPU share of one core | peak RSS |',
      '|---|---:|---:|',
      `| coalmine watch, steady (${w.steady_window_s} s window) | **${w.cpu_share_of_one_core_pct}%** (target ≤ ${w.target_pct}%) | ${w.peak_rss_mib} MiB |`,
      r
        ? `| ps + ss -p snapshot every ${w.interval_s} s (reference) | ${r.cpu_share_of_one_core_pct}% | ${r.peak_rss_mib} MiB |`
        : '| ps + ss reference | not measured (ps/ss/time missing) | |',
      '',
      `Startup (modules, rules, intel, the first full sample): ${w.startup_cpu_s} s CPU; the peak RSS is from it. RSS after startup ${w.rss_mib_after_startup} MiB, at the end ${w.rss_mib_at_end} MiB. ${r ? `watch / reference: ${r.watch_over_reference}.` : ''}`,
      '',
    ].join('\n');
    writeFileSync(join(RESULTS, 'watch.md'), md);
    process.stdout.write(md);
  } finally {
    for (const c of load.children) c.kill('SIGKILL');
  }
}

await main();
