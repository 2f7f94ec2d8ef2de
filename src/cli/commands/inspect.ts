/**
 * `coalmine inspect PID…` / `inspect --suspects`: a live Linux process's private writable and
 * executable memory, and its fileless read-only memory, scanned with YARA rules (ours in rules/yara plus `--yara PATH`), and its RandomX
 * shape (huge pages, a 2 GiB dataset, /dev/cpu/N/msr open; the host's msr driver as context).
 * Read-only. Text, NDJSON (one line per process, then a summary), or `events` (the CoalEvents `hunt`
 * and the detector read). `--dump DIR` preserves the matching regions with a manifest of sha256s
 * (`--dump-all`: every readable region). Exit 0 nothing matched, 1 something did, 2 usage errors, 3
 * when no process could be read.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatRef, type Issue } from '../../model/issue.js';
import {
  findSuspects,
  INSPECT_DEFAULTS,
  inspectionEvents,
  inspectProcess,
  loadYaraRules,
  msrDriver,
  type ProcessInspection,
  writeDumpManifest,
} from '../../run/inspect.js';
import { clip, inert } from '../../util/hostile.js';
import { collect, EXIT, VERSION } from '../common.js';

interface InspectFlags {
  suspects: boolean;
  yara: string[];
  dump?: string;
  dumpAll: boolean;
  intel: string[];
  rules: string[];
  format: string;
  maxProcessMib: number;
  maxRegionMib: number;
  processSeconds: number;
  window: number;
  cpuPct: number;
}

function positive(max: number, hint: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(hint);
    return n;
  };
}

export function inspectCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('inspect')
    .description(
      'memory analysis of running processes (live Linux): YARA rules over the memory a process made or unpacked (private writable/executable regions, fileless read-only ones) and the RandomX memory shape; matches are process evidence',
    )
    .argument('[pids...]', 'process ids to inspect')
    .option('--suspects', 'inspect the processes the detector would flag plus those holding sustained CPU', false)
    .option('--yara <path>', 'your own YARA rules: a .yar/.yara file or a directory of them (repeatable)', collect, [])
    .option('--dump <dir>', 'preserve the matching regions in DIR with manifest.json (sha256 of each)')
    .option(
      '--dump-all',
      'with --dump: read, scan and preserve every readable region (the whole address space, file mappings too, within --max-process-mib)',
      false,
    )
    .option('-f, --format <format>', 'output: text|ndjson|events', 'text')
    .option(
      '--max-process-mib <n>',
      'memory read per process at most',
      positive(65536, 'MiB between 0 and 65536'),
      INSPECT_DEFAULTS.maxProcessBytes / 1024 ** 2,
    )
    .option(
      '--max-region-mib <n>',
      'memory read per region at most',
      positive(65536, 'MiB between 0 and 65536'),
      INSPECT_DEFAULTS.maxRegionBytes / 1024 ** 2,
    )
    .option(
      '--process-seconds <n>',
      'time per process at most',
      positive(3600, 'seconds between 0 and 3600'),
      INSPECT_DEFAULTS.processBudgetMs / 1000,
    )
    .option('--window <seconds>', '--suspects: how long CPU is measured', positive(600, 'seconds between 0 and 600'), 5)
    .option(
      '--cpu-pct <n>',
      '--suspects: CPU (percent of one core) that makes a process a suspect',
      positive(100000, 'a percentage'),
      50,
    )
    .option('--intel <file>', '--suspects: extra indicators, as watch takes them (repeatable)', collect, [])
    .option(
      '--rules <dir>',
      '--suspects: extra Sigma rules beside the bundled ones, as watch takes them (repeatable)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when nothing matched, 1 when a rule or the miner shape matched, 2 on usage errors, 3 when no process could be read.',
    )
    .action(async (pids: string[], flags: InspectFlags) => {
      setCode(await inspect(pids, flags));
    });
}

async function inspect(args: string[], flags: InspectFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (!['text', 'ndjson', 'events'].includes(flags.format)) {
    err(`coalmine: unknown --format "${inert(flags.format)}" (use text, ndjson, events)\n`);
    return EXIT.usage;
  }
  const pids: { pid: number; why?: string }[] = [];
  for (const a of args) {
    if (!/^\d{1,10}$/.test(a) || Number(a) < 1) {
      err(`coalmine: "${inert(clip(a, 40))}" is not a process id\n`);
      return EXIT.usage;
    }
    pids.push({ pid: Number(a) });
  }
  if (!flags.suspects && pids.length === 0) {
    err('coalmine: name process ids or --suspects\n');
    return EXIT.usage;
  }
  if (flags.dumpAll && flags.dump === undefined) {
    err('coalmine: --dump-all needs --dump DIR\n');
    return EXIT.usage;
  }
  if (flags.dump !== undefined && existsSync(join(flags.dump, 'manifest.json'))) {
    err(
      `coalmine: ${inert(clip(flags.dump, 300))} already holds a dump (manifest.json): name a new directory, nothing is overwritten\n`,
    );
    return EXIT.usage;
  }
  if (process.platform !== 'linux') {
    err('coalmine: inspect reads /proc: live Linux only\n');
    return EXIT.runtime;
  }
  const issues: Issue[] = [];
  const say = (i: Issue) =>
    err(`coalmine: ${inert(clip(formatRef(i), 300))}: ${i.code}: ${inert(clip(i.reason, 300))}\n`);
  const rules = await loadYaraRules(flags.yara, (i) => issues.push(i));
  issues.forEach(say);
  // rules the user named and that did not load: a usage error, not a scan without them
  if (issues.some((i) => i.code !== 'YARA_UNAVAILABLE')) return EXIT.usage;
  if (flags.suspects) {
    const found = await findSuspects({
      windowMs: flags.window * 1000,
      cpuPct: flags.cpuPct,
      intelFiles: flags.intel,
      extraRuleDirs: flags.rules,
      onIssue: say,
    });
    for (const s of found) if (!pids.some((p) => p.pid === s.pid)) pids.push(s);
  }
  const host = hostname();
  const results: (ProcessInspection & { why?: string })[] = [];
  for (const { pid, why } of pids) {
    const r: ProcessInspection & { why?: string } =
      pid === process.pid
        ? {
            pid,
            matches: [],
            regions: 0,
            bytes: 0,
            failedReads: 0,
            durationMs: 0,
            gap: 'coalmine itself (its heap holds the rules): not inspected',
          }
        : inspectProcess(pid, {
            rules,
            maxProcessBytes: flags.maxProcessMib * 1024 ** 2,
            maxRegionBytes: flags.maxRegionMib * 1024 ** 2,
            processBudgetMs: flags.processSeconds * 1000,
            dumpDir: flags.dump,
            dumpAll: flags.dumpAll,
          });
    if (why) r.why = why;
    results.push(r);
  }
  const now = Date.now();
  const facts = { yara: rules !== undefined, msr: msrDriver() };
  if (flags.dump !== undefined) {
    try {
      const path = writeDumpManifest(flags.dump, results, host, now);
      err(`coalmine: matching regions and ${inert(path)} written\n`);
    } catch (e) {
      err(`coalmine: cannot write the dump manifest: ${inert(clip((e as Error).message, 200))}\n`);
      return EXIT.runtime;
    }
  }
  if (flags.format === 'events')
    process.stdout.write(
      results
        .flatMap((r) => inspectionEvents(r, host, now))
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(''),
    );
  else if (flags.format === 'ndjson') {
    const lines = results.map((r) => JSON.stringify({ type: 'inspect-process', ...r }));
    lines.push(JSON.stringify(summaryOf(results, facts)));
    process.stdout.write(`${lines.join('\n')}\n`);
  } else process.stdout.write(renderText(results, facts));
  const matched = results.some((r) => r.matches.length > 0 || r.shapeSays !== undefined);
  if (matched) return EXIT.findings;
  return results.length > 0 && results.every((r) => r.gap !== undefined) ? EXIT.runtime : EXIT.ok;
}

interface HostFacts {
  yara: boolean;
  /** The host's msr driver: a module (xmrig's MSR mod loads it) is context for a RandomX shape. */
  msr: ReturnType<typeof msrDriver>;
}

function summaryOf(results: ProcessInspection[], host: HostFacts) {
  return {
    type: 'inspect-summary',
    version: VERSION,
    processes: results.length,
    matched: results.filter((r) => r.matches.length > 0 || r.shapeSays !== undefined).length,
    gaps: results.filter((r) => r.gap !== undefined).length,
    yara: host.yara,
    msr_driver: host.msr ?? null,
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    durationMs: results.reduce((n, r) => n + r.durationMs, 0),
  };
}

function renderText(results: (ProcessInspection & { why?: string })[], host: HostFacts): string {
  const out: string[] = [];
  const s = summaryOf(results, host);
  out.push(
    `inspect: ${s.processes} processes, ${s.matched} matched, ${s.gaps} not readable; ${Math.round(s.bytes / 1024 / 1024)} MiB scanned in ${s.durationMs} ms${host.yara ? '' : ' (no YARA engine: shape only)'}`,
  );
  if (host.msr === 'module')
    out.push(
      "host: the msr kernel module is loaded (xmrig's MSR mod loads it to write the prefetcher registers; so do tuning tools): context",
    );
  for (const r of results) {
    const who = `pid ${r.pid} ${inert(r.name ?? '?')}${r.executable ? ` ${inert(clip(r.executable, 200))}${r.exeDeleted ? ' (deleted)' : ''}` : ''}`;
    out.push('', who);
    if (r.why) out.push(`  suspect: ${inert(clip(r.why, 300))}`);
    if (r.gap) out.push(`  gap: ${inert(r.gap)}`);
    if (r.dumped && r.dumped.length > 0)
      out.push(
        `  preserved ${r.dumped.length} regions (${Math.round(r.dumped.reduce((n, d) => n + d.bytes, 0) / 1024)} KiB) in pid-${r.pid}/`,
      );
    if (r.dumpError) out.push(`  not preserved: ${inert(r.dumpError)}`);
    if (r.noUserMemory) out.push('  no user memory (a kernel thread)');
    for (const m of r.matches) {
      out.push(
        `  MATCH ${inert(m.rule)}${m.kind ? ` [${inert(m.kind)}${m.strength ? `, ${m.strength}` : ''}]` : ''} in ${inert(m.region)} (${m.regionPerms})`,
      );
      for (const h of m.hits.slice(0, 3)) out.push(`    ${h.address} ${inert(h.pattern)} ${inert(h.text)}`);
    }
    if (r.shapeSays) out.push(`  SHAPE ${inert(r.shapeSays)}`);
    if (!r.gap)
      out.push(
        `  ${r.regions} regions, ${Math.round(r.bytes / 1024)} KiB in ${r.durationMs} ms${r.truncated ? ` (stopped at the ${r.truncated} bound)` : ''}${r.clippedRegions ? `, ${r.clippedRegions} read only in part (over the bounds: --max-region-mib, --max-process-mib)` : ''}${r.failedReads ? `, ${r.failedReads} reads failed` : ''}`,
      );
  }
  return `${out.join('\n')}\n`;
}
