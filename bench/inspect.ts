/**
 * The Tier-2 toolkit's cost on this host: `node --import tsx bench/inspect.ts [--hash]`. Inspects every
 * process of the host (what `coalmine inspect $(all pids)` does: maps, mem of private writable and
 * executable regions under the default bounds, YARA-X with our rules, the shape), in this process so
 * its CPU and peak RSS are its own, and records per process the time and bytes; then the hidden-process
 * probe over the whole pid range; with --hash also `verify`'s package check of this host (every
 * recorded file in bin/sbin/lib hashed). Results: bench/results/inspect.json and .md.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INSPECT_DEFAULTS, inspectProcess, loadYaraRules, type ProcessInspection } from '../src/run/inspect.js';
import { runVerify } from '../src/run/verify.js';
import { findHiddenProcesses } from '../src/sensor/hidden-processes.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

async function main(): Promise<void> {
  const withHash = process.argv.includes('--hash');
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const rules = await loadYaraRules([], (i) => console.error(`${i.file}: ${i.code}: ${i.reason}`));
  const loadMs = performance.now() - t0;
  const pids = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((p) => p !== process.pid);
  const cpu0 = process.cpuUsage();
  const t1 = performance.now();
  let peakRss = process.memoryUsage().rss;
  const results: ProcessInspection[] = [];
  for (const pid of pids) {
    results.push(inspectProcess(pid, { rules }));
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const wallMs = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  const read = results.filter((r) => r.bytes > 0);
  const times = read.map((r) => r.durationMs).sort((a, b) => a - b);
  const slowest = [...read].sort((a, b) => b.durationMs - a.durationMs)[0];
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
  const result = {
    date: new Date().toISOString().slice(0, 10),
    machine: m,
    bounds: INSPECT_DEFAULTS,
    rulesLoadMs: Math.round(loadMs),
    processes: pids.length,
    readable: read.length,
    kernelThreads: results.filter((r) => r.noUserMemory).length,
    gaps: results.filter((r) => r.gap).length,
    matched: matched.map((r) => ({
      pid: r.pid,
      name: r.name,
      rules: [...new Set(r.matches.map((x) => x.rule))],
      shape: r.shapeSays,
    })),
    scannedMiB: mib(read.reduce((n, r) => n + r.bytes, 0)),
    truncated: results.filter((r) => r.truncated).length,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    perProcessMs: { p50: pct(times, 50), p95: pct(times, 95), max: pct(times, 100) },
    slowest: slowest
      ? { pid: slowest.pid, name: slowest.name, ms: slowest.durationMs, mib: mib(slowest.bytes) }
      : undefined,
    rssBeforeMiB: mib(rssBefore),
    peakRssMiB: mib(peakRss),
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
  const md = `# inspect, hidden-process probe${verify ? ' and verify' : ''} on this host

${result.date}. Every process of the host inspected in one process with the default bounds (${mib(INSPECT_DEFAULTS.maxRegionBytes)} MiB a region, ${mib(INSPECT_DEFAULTS.maxProcessBytes)} MiB and ${INSPECT_DEFAULTS.processBudgetMs / 1000} s a process) and our YARA rules (loaded in ${result.rulesLoadMs} ms).

| | |
|---|---:|
| processes | ${result.processes} (${result.readable} read, ${result.kernelThreads} kernel threads, ${result.gaps} gaps: gone or refused) |
| memory scanned | ${result.scannedMiB} MiB (${result.truncated} processes stopped at a bound) |
| wall time, all processes | **${(result.wallMs / 1000).toFixed(1)} s** (CPU ${(result.cpuMs / 1000).toFixed(1)} s) |
| per process (read ones) | p50 ${result.perProcessMs.p50} ms, p95 ${result.perProcessMs.p95} ms, max ${result.perProcessMs.max} ms${result.slowest ? ` (pid ${result.slowest.pid} ${result.slowest.name}, ${result.slowest.mib} MiB)` : ''} |
| RSS | ${result.rssBeforeMiB} MiB before, **${result.peakRssMiB} MiB** peak |
| matched | ${result.matched.length}${result.matched.length > 0 ? `: ${result.matched.map((x) => `${x.pid} ${x.name} (${x.rules.join(', ')}${x.shape ? `; ${x.shape}` : ''})`).join('; ')}` : ''} |
| hidden-process probe | pids 1..${result.hiddenProbe.probedUpTo}${result.hiddenProbe.pidMax ? ` (pid_max ${result.hiddenProbe.pidMax})` : ''} in ${result.hiddenProbe.ms} ms, ${result.hiddenProbe.hidden} hidden |
${verify ? `| verify, package check | ${(verify.ms / 1000).toFixed(1)} s: ${verify.note} |\n` : ''}
${describeMachine(m)}
`;
  writeFileSync(join(RESULTS, 'inspect.md'), md);
  process.stdout.write(md);
}

await main();
