/**
 * The Tier-2 toolkit's cost against a stated budget: `node --import tsx bench/inspect.ts [--all] [--hash]`.
 * Stages a host of its own (sleepers, idle node processes holding 8 MiB to 640 MiB, busy node and
 * python, and with gcc the test programs: the heap-only miner marker, its packed copy, a packed program
 * of proof-of-work constants, a 2 GiB RandomX-shaped one) and inspects every one of those processes
 * (what `coalmine inspect PID…` does: maps, mem under the default bounds, YARA-X with our rules, the
 * shape) in this process, so its CPU and peak RSS (VmHWM) are its own; checks afterwards that none was
 * stopped, traced or ended; then the hidden-process probe over the whole pid range; with --hash also
 * `verify`'s package check of this host. `--all` inspects every process of the host instead of the
 * staged ones (it reads other programs' memory: run it on a host that is yours to read).
 * Results: bench/results/inspect.json and .md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { INSPECT_DEFAULTS, inspectProcess, loadYaraRules, type ProcessInspection } from '../src/run/inspect.js';
import { runVerify } from '../src/run/verify.js';
import { findHiddenProcesses } from '../src/sensor/hidden-processes.js';
import {
  compileC,
  gccSkip,
  minerMarkerSource,
  packedLoaderSource,
  powConstantsSource,
  randomxShapeSource,
} from '../test/support/native.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What inspect must stay within on a host like the staged one (~55 processes, ~1.2 GiB of their
 * memory scanned): the per-process bounds are the defaults, enforced by the code and said when hit
 * (the time bound within a tenth: a read and the scan of what the pace allowed); the host-wide cost is
 * CPU time and peak memory, what it takes from the host. Wall time is reported beside the load: a
 * loaded host stretches it, and the per-process time bound then reads less of the big processes.
 */
const BUDGET = {
  cpuMs: 30_000,
  peakRssMiB: 512,
  perProcessMs: INSPECT_DEFAULTS.processBudgetMs,
  perProcessMiB: INSPECT_DEFAULTS.maxProcessBytes / 1024 ** 2,
};

interface Staged {
  what: string;
  child: ChildProcess;
}

async function stageHost(dir: string): Promise<Staged[]> {
  const staged: Staged[] = [];
  const add = (what: string, cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', () => {}); // python3 may be missing: left out
    staged.push({ what, child });
  };
  for (let i = 0; i < 40; i++) add('sleep', 'sleep', ['600']);
  for (const heapMiB of [8, 32, 64, 128, 256, 640])
    add(`node holding ${heapMiB} MiB`, process.execPath, [
      '-e',
      `const b = Buffer.allocUnsafe(${heapMiB} * 1048576); for (let i = 0; i < b.length; i += 4096) b.writeUInt32LE((i ^ 0x9e3779b9) >>> 0, i); setInterval(() => b[0]++, 60000);`,
    ]);
  for (let i = 0; i < 2; i++) add('busy node', process.execPath, ['-e', 'let x = 0; for (;;) x += Math.sqrt(x + 1);']);
  add('python holding a 50 MiB list', 'python3', ['-c', 'import time\nx = list(range(2_000_000))\ntime.sleep(600)']);
  add('busy python', 'python3', ['-c', 'x = 0\nwhile True: x += 1']);
  if (!gccSkip) {
    const build = join(dir, 'build');
    mkdirSync(build);
    const marker = compileC(build, 'marker', minerMarkerSource());
    add('miner marker (heap)', marker, []);
    const elf = readFileSync(marker);
    add(
      'miner marker, packed (memfd)',
      compileC(build, 'loader', packedLoaderSource(deflateSync(elf), elf.length), { args: ['-lz'] }),
      [],
    );
    const pow = readFileSync(compileC(build, 'pow', powConstantsSource()));
    add(
      'PoW constants, packed (memfd)',
      compileC(build, 'pow-loader', packedLoaderSource(deflateSync(pow), pow.length), { args: ['-lz'] }),
      [],
    );
    add('RandomX shape (2080 MiB, huge pages)', compileC(build, 'shape', randomxShapeSource()), []);
  }
  // the heaps filled and the 2 GiB touched (a loaded host takes seconds)
  await sleep(8000);
  return staged.filter((s) => s.child.pid !== undefined && s.child.exitCode === null);
}

/** Stopped (T/t), traced (TracerPid ≠ 0) or gone: what inspect must never do to a process. */
function altered(pid: number): string | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    const tracer = /^TracerPid:\s+(\d+)/m.exec(status)?.[1];
    if (state === 'T' || state === 't') return `stopped (${state})`;
    if (tracer !== '0') return `traced by ${tracer}`;
    return undefined;
  } catch {
    return 'gone';
  }
}

function peakRssMiB(): number {
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return hwm ? Math.round((Number(hwm) / 1024) * 10) / 10 : mib(process.memoryUsage().rss);
}

async function main(): Promise<void> {
  const withHash = process.argv.includes('--hash');
  const all = process.argv.includes('--all');
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-bench-inspect-'));
  const staged = all ? [] : await stageHost(dir);
  try {
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const rules = await loadYaraRules([], (i) => console.error(`${i.file}: ${i.code}: ${i.reason}`));
    const loadMs = performance.now() - t0;
    const pids = all
      ? readdirSync('/proc')
          .filter((n) => /^\d+$/.test(n))
          .map(Number)
          .filter((p) => p !== process.pid)
      : staged.map((s) => s.child.pid as number);
    const cpu0 = process.cpuUsage();
    const t1 = performance.now();
    const results: ProcessInspection[] = [];
    for (const pid of pids) results.push(inspectProcess(pid, { rules }));
    const wallMs = performance.now() - t1;
    const cpu = process.cpuUsage(cpu0);
    const peakRss = peakRssMiB();
    const changed = staged
      .map((s) => ({ pid: s.child.pid as number, what: s.what, how: altered(s.child.pid as number) }))
      .filter((s) => s.how !== undefined);
    const read = results.filter((r) => r.bytes > 0);
    const times = read.map((r) => r.durationMs).sort((a, b) => a - b);
    const slowest = [...read].sort((a, b) => b.durationMs - a.durationMs)[0];
    const biggest = [...read].sort((a, b) => b.bytes - a.bytes)[0];
    const whatOf = (pid: number) => staged.find((s) => s.child.pid === pid)?.what;
    const matched = results.filter((r) => r.matches.length > 0 || r.shapeSays);
    const hidden = findHiddenProcesses();
    let verify: { ms: number; note: string } | undefined;
    if (withHash) {
      const v0 = performance.now();
      const report = await runVerify({ root: '/', live: false, only: new Set(['package', 'unowned']) });
      verify = {
        ms: Math.round(performance.now() - v0),
        note: report.checks.find((c) => c.check === 'package')?.note ?? '',
      };
    }
    const m = machine();
    const within = {
      cpu: (cpu.user + cpu.system) / 1000 <= BUDGET.cpuMs,
      peakRss: peakRss <= BUDGET.peakRssMiB,
      perProcessTime: results.every((r) => r.durationMs <= BUDGET.perProcessMs * 1.1),
      perProcessBytes: results.every((r) => r.bytes <= INSPECT_DEFAULTS.maxProcessBytes),
      unaltered: changed.length === 0,
    };
    const result = {
      date: new Date().toISOString().slice(0, 10),
      machine: m,
      mode: all ? 'every process of the host' : 'the staged host',
      budget: BUDGET,
      withinBudget: within,
      bounds: INSPECT_DEFAULTS,
      rulesLoadMs: Math.round(loadMs),
      processes: pids.length,
      readable: read.length,
      kernelThreads: results.filter((r) => r.noUserMemory).length,
      gaps: results.filter((r) => r.gap).length,
      matched: matched.map((r) => ({
        pid: r.pid,
        name: r.name,
        what: whatOf(r.pid),
        rules: [...new Set(r.matches.map((x) => x.rule))],
        shape: r.shapeSays,
      })),
      scannedMiB: mib(read.reduce((n, r) => n + r.bytes, 0)),
      stoppedAtBound: results.filter((r) => r.truncated).length,
      clippedRegions: results.reduce((n, r) => n + (r.clippedRegions ?? 0), 0),
      wallMs: Math.round(wallMs),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      perProcessMs: { p50: pct(times, 50), p95: pct(times, 95), max: pct(times, 100) },
      slowest: slowest
        ? {
            pid: slowest.pid,
            what: whatOf(slowest.pid) ?? slowest.name,
            ms: slowest.durationMs,
            mib: mib(slowest.bytes),
          }
        : undefined,
      mostRead: biggest ? { what: whatOf(biggest.pid) ?? biggest.name, mib: mib(biggest.bytes) } : undefined,
      rssBeforeMiB: mib(rssBefore),
      peakRssMiB: peakRss,
      altered: changed,
      hiddenProbe: {
        ms: hidden.durationMs,
        probedUpTo: hidden.probedUpTo,
        pidMax: hidden.pidMax,
        hidden: hidden.hidden.length,
      },
      verify,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'inspect.json'), `${JSON.stringify(result, null, 2)}\n`);
    const yes = (ok: boolean) => (ok ? 'within' : '**over**');
    const md = `# inspect, hidden-process probe${verify ? ' and verify' : ''}: cost against the budget

${result.date}. ${all ? 'Every process of the host' : `A staged host (${staged.length} processes: ${[...new Set(staged.map((s) => s.what.replace(/ holding \d+ MiB$/, ' holding 8–640 MiB')))].join(', ')})`} inspected in one process with the default bounds (${mib(INSPECT_DEFAULTS.maxRegionBytes)} MiB a region, ${mib(INSPECT_DEFAULTS.maxProcessBytes)} MiB and ${INSPECT_DEFAULTS.processBudgetMs / 1000} s a process) and our YARA rules (loaded in ${result.rulesLoadMs} ms).

| | measured | budget |
|---|---:|---:|
| CPU, all processes | **${(result.cpuMs / 1000).toFixed(1)} s** (wall ${(result.wallMs / 1000).toFixed(1)} s at load ${m.loadAverage}) | ${BUDGET.cpuMs / 1000} s: ${yes(within.cpu)} |
| peak RSS (VmHWM) | **${result.peakRssMiB} MiB** (${result.rssBeforeMiB} MiB before the rules loaded) | ${BUDGET.peakRssMiB} MiB: ${yes(within.peakRss)} |
| wall time per process | p50 ${result.perProcessMs.p50} ms, p95 ${result.perProcessMs.p95} ms, max ${result.perProcessMs.max} ms${result.slowest ? ` (${result.slowest.what}, ${result.slowest.mib} MiB read)` : ''}; ${result.stoppedAtBound} stopped at a bound | ${BUDGET.perProcessMs / 1000} s: ${yes(within.perProcessTime)} |
| memory read per process | most ${result.mostRead ? `${result.mostRead.mib} MiB (${result.mostRead.what})` : '0'}; ${result.clippedRegions} regions read in part | ${BUDGET.perProcessMiB} MiB: ${yes(within.perProcessBytes)} |
| processes stopped, traced or ended by it | ${changed.length}${changed.length > 0 ? `: ${changed.map((c) => `${c.pid} ${c.what} ${c.how}`).join('; ')}` : ''} | 0: ${yes(within.unaltered)} |
| processes | ${result.processes} (${result.readable} read, ${result.kernelThreads} kernel threads, ${result.gaps} gaps) | |
| memory scanned | ${result.scannedMiB} MiB | |
| matched | ${result.matched.length}${result.matched.length > 0 ? `: ${result.matched.map((x) => `${x.what ?? x.name} (${x.rules.join(', ')}${x.shape ? `${x.rules.length > 0 ? '; ' : ''}shape` : ''})`).join('; ')}` : ''} | |
| hidden-process probe | pids 1..${result.hiddenProbe.probedUpTo}${result.hiddenProbe.pidMax ? ` (pid_max ${result.hiddenProbe.pidMax})` : ''} in ${result.hiddenProbe.ms} ms, ${result.hiddenProbe.hidden} hidden | |
${verify ? `| verify, package check | ${(verify.ms / 1000).toFixed(1)} s: ${verify.note} | |\n` : ''}
${describeMachine(m)}
`;
    writeFileSync(join(RESULTS, 'inspect.md'), md);
    process.stdout.write(md);
  } finally {
    for (const s of staged) s.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
