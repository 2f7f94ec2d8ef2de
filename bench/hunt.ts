/**
 * `npm run bench`: hunt throughput against the cost of merely JSON.parse-ing the same NDJSON, and peak
 * RSS, from one run. Every measurement runs in its own child process (`--child parse|hunt FILE`), so one
 * heap cannot inflate another's peak; the parent generates the data, orchestrates, and writes
 * bench/results/hunt.json and hunt.md. Timings are reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distState } from '../bin/dist-state.js';
import { DEFAULT_EVENTS, DEFAULT_SEED, GENERATOR_VERSION, type GenerateResult, generateEvents } from './generate.js';
import { forEachLine } from './lines.js';
import { describeMachine, machine } from './machine.js';
import { selfTime } from './profile.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const WORK = join(RESULTS, '.work');
/** The quality bar (PRODUCT.md §7): hunt within 2× the cost of parsing, i.e. at least half its throughput. */
const TARGET_RATIO = 0.5;
const MIB = 1024 * 1024;

/** `hunt`: as the CLI runs it (worker threads on a large input); `hunt1`: `--workers 1`. */
type Mode = 'parse' | 'hunt' | 'hunt1' | 'idle';
/** Which code the hunt child runs: the build in dist/ (what bin/coalmine.js runs), or src/ through tsx. */
type Code = 'dist' | 'src';

interface ChildResult {
  mode: Mode;
  events: number;
  bytes: number;
  /** Time of the measured work only (module loading excluded). */
  seconds: number;
  /** process.resourceUsage().maxRSS, in bytes. */
  maxRssBytes: number;
  findings?: FindingBrief[];
  signals?: number;
  lateEvents?: number;
  issuesByCode?: Record<string, number>;
  filesByFormat?: Record<string, number>;
  /** How many threads hunt ran on, and why one when it could not split. */
  threads?: { workers: number; note?: string };
}

interface FindingBrief {
  analytic: string;
  severity: string;
  host: string;
  title: string;
  legs: string[];
}

interface Run extends ChildResult {
  /** Wall time of the whole child process, startup included, as the parent saw it. */
  wallSeconds: number;
}

// ---------------------------------------------------------------- children

/** The baseline: read in 1 MiB chunks, split on newlines in the Buffers, JSON.parse every line. */
async function parseChild(file: string): Promise<ChildResult> {
  const started = performance.now();
  let events = 0;
  const parse = (buf: Buffer, start: number, end: number) => {
    if (end > start && JSON.parse(buf.toString('utf8', start, end)) !== null) events++;
  };
  const bytes = await forEachLine(file, parse);
  const seconds = (performance.now() - started) / 1000;
  return { mode: 'parse', events, bytes, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/** The real thing: `hunt` as the CLI calls it, default policy and rules, no progress callback. */
async function huntChild(file: string, code: Code, workers?: number): Promise<ChildResult> {
  // dist/ mirrors src/ module for module, so the same paths name the built modules
  const module = (path: string) => `../${code}/${path}.${code === 'dist' ? 'js' : 'ts'}`;
  const { hunt } = (await import(module('run/hunt'))) as typeof import('../src/run/hunt.js');
  const { defaultPolicy } = (await import(module('model/policy'))) as typeof import('../src/model/policy.js');
  const { DEFAULT_RULE_DIRS } = (await import(module('signals/rules'))) as typeof import('../src/signals/rules.js');
  const started = performance.now();
  const { findings, summary, threads } = await hunt({
    paths: [file],
    policy: defaultPolicy(),
    ruleDirs: DEFAULT_RULE_DIRS,
    workers,
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    mode: workers === 1 ? 'hunt1' : 'hunt',
    threads,
    events: summary.events,
    bytes: summary.bytes,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    findings: findings.map((f) => ({
      analytic: f.analytic,
      severity: f.severity,
      host: f.host,
      title: f.title,
      legs: f.legs,
    })),
    signals: summary.signals,
    lateEvents: summary.lateEvents,
    issuesByCode: summary.issuesByCode,
    filesByFormat: summary.filesByFormat,
  };
}

/** Idle processes the memory step creates, over this many hosts. */
const IDLE_PROCESSES = 200_000;
const IDLE_HOSTS = 200;

/**
 * Memory per idle tracked process: the engine (default policy, intel and rules, as hunt builds it) is
 * shown one exec per process, `IDLE_PROCESSES` over `IDLE_HOSTS` hosts within one minute, with
 * realistic names and command lines and nothing after; heapUsed after a full GC, less the same before,
 * divided by the processes. Needs `--expose-gc` (the parent passes it).
 */
async function idleChild(code: Code): Promise<ChildResult & { idle: IdleMemory }> {
  const module = (path: string) => `../${code}/${path}.${code === 'dist' ? 'js' : 'ts'}`;
  const { createDetector } = (await import(module('analytics/index'))) as typeof import('../src/analytics/index.js');
  const { createClassifier } = (await import(module('signals/index'))) as typeof import('../src/signals/index.js');
  const { loadIntel } = (await import(module('signals/intel/store'))) as typeof import('../src/signals/intel/store.js');
  const { loadRules } = (await import(module('signals/sigma/index'))) as typeof import('../src/signals/sigma/index.js');
  const { DEFAULT_RULE_DIRS } = (await import(module('signals/rules'))) as typeof import('../src/signals/rules.js');
  const { defaultPolicy } = (await import(module('model/policy'))) as typeof import('../src/model/policy.js');
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the idle step needs --expose-gc');
  const { intel } = await loadIntel([]);
  const classify = createClassifier(intel, await loadRules(DEFAULT_RULE_DIRS));
  const engine = createDetector({ policy: defaultPolicy(), classify, intel, onFinding: () => undefined });
  const t0 = Date.UTC(2026, 2, 2, 6, 0, 0);
  const started = performance.now();
  const exec = (i: number) => {
    const host = `host-${String(i % IDLE_HOSTS).padStart(3, '0')}`;
    const pid = 1000 + Math.floor(i / IDLE_HOSTS);
    const ts = t0 + Math.floor((i * 60_000) / IDLE_PROCESSES);
    engine.push({
      '@timestamp': new Date(ts).toISOString(),
      event: { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: 'bench.idle' },
      host: { name: host, os: { platform: 'linux' } },
      process: {
        pid,
        name: `worker-${i % 50}`,
        executable: `/opt/app/bin/worker-${i % 50}`,
        command_line: `/opt/app/bin/worker-${i % 50} --queue jobs-${i % 7} --id ${pid}`,
        parent: { pid: 1 },
        user: { name: 'app' },
      },
      original: {},
      coalmine: { ts, format: 'bench', ref: { file: 'idle', line: i + 1 } },
    });
  };
  exec(0); // the first host and the hot path exist before the baseline
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 1; i <= IDLE_PROCESSES; i++) exec(i);
  gc();
  const after = process.memoryUsage().heapUsed;
  const tracked = engine.trackedProcesses;
  return {
    mode: 'idle',
    events: IDLE_PROCESSES,
    bytes: 0,
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    idle: {
      processes: IDLE_PROCESSES,
      hosts: IDLE_HOSTS,
      tracked,
      bytesPerProcess: Math.round((after - before) / IDLE_PROCESSES),
    },
  };
}

interface IdleMemory {
  processes: number;
  hosts: number;
  /** Processes the engine held at the end (each exec also makes its parent, pid 1, once per host). */
  tracked: number;
  bytesPerProcess: number;
}

// ---------------------------------------------------------------- parent

interface Meta extends GenerateResult {
  seed: number;
  generatorVersion: number;
}

/** Reuse a generated file when its sidecar says it was made with the same count, seed and generator. */
async function ensureEvents(path: string, events: number, seed: number): Promise<Meta> {
  const metaPath = `${path}.meta.json`;
  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as Meta;
    const size = (await stat(path)).size;
    if (
      meta.events === events &&
      meta.seed === seed &&
      meta.generatorVersion === GENERATOR_VERSION &&
      meta.bytes === size
    )
      return meta;
  } catch {
    // missing or unreadable: generate below
  }
  process.stderr.write(`bench: generating ${events.toLocaleString('en')} events → ${relative(process.cwd(), path)}\n`);
  const result = await generateEvents({ events, seed, path });
  const meta: Meta = { ...result, seed, generatorVersion: GENERATOR_VERSION };
  await writeFile(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

/** dist/ when it is current (as bin/coalmine.js decides), unless `--from-source`; set by the parent. */
let measuredCode: Code = 'src';

function runChild(mode: Mode, file: string, extraNodeArgs: string[] = []): Promise<Run> {
  const started = performance.now();
  const args = [
    ...process.execArgv,
    ...extraNodeArgs,
    fileURLToPath(import.meta.url),
    '--child',
    mode,
    file,
    '--code',
    measuredCode,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`child ${mode} exited with ${code}: ${out.slice(-2000)}`));
        return;
      }
      const result = JSON.parse(last) as ChildResult;
      resolve({ ...result, wallSeconds: (performance.now() - started) / 1000 });
    });
  });
}

function best(runs: Run[]): Run {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

/** The middle run by time (the lower middle of an even count). */
function median(runs: Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const rate = (r: Run) => r.events / r.seconds;
const mbps = (r: Run) => r.bytes / MIB / r.seconds;
const mib = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;
const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

function threadsText(t: { workers: number; note?: string }): string {
  return t.workers > 1
    ? `${t.workers} worker threads, as the CLI chooses`
    : `one thread${t.note ? ` (${t.note})` : ''}`;
}

function markdown(report: ReturnType<typeof buildReport>): string {
  const { machine: m, input, best: b, median: md, peakRss, findings, idle } = report;
  const row = (name: string, r: { eventsPerSec: number; mbPerSec: number; seconds: number }) =>
    `| ${name} | ${r.eventsPerSec.toLocaleString('en')} | ${r.mbPerSec.toFixed(1)} | ${r.seconds.toFixed(2)} |`;
  return [
    '# hunt throughput',
    '',
    `${input.events.toLocaleString('en')} generated events (${mib(input.bytes)} MiB of coalmine NDJSON, seed ${input.seed}, ` +
      `${input.hosts} hosts, ${input.spanMinutes} minutes of event time), ${report.runsPerMode} runs each (min and median), ` +
      `every run in its own process, hunt running ${report.code === 'dist' ? 'the build in dist/' : 'src/ through tsx'}. ` +
      `Produced by \`npm run bench\` on ${report.date.slice(0, 10)}.`,
    '',
    '| run | events/s | MiB/s | seconds |',
    '|---|---:|---:|---:|',
    row('`JSON.parse` only (baseline), min', b.parse),
    row('`JSON.parse` only (baseline), median', md.parse),
    row(`\`hunt\` (default policy and rules, ${threadsText(report.threads)}), min`, b.hunt),
    row(`\`hunt\` (default policy and rules, ${threadsText(report.threads)}), median`, md.hunt),
    row('`hunt --workers 1` (one thread), min', b.huntOneThread),
    row('`hunt --workers 1` (one thread), median', md.huntOneThread),
    '',
    `**hunt / parse throughput: ${report.ratio}** from the fastest runs, ${report.medianRatio} from the medians ` +
      `(target ≥ ${TARGET_RATIO}: ${report.meetsTarget ? 'met' : 'not met'}); on one thread ${report.oneThreadRatio} ` +
      `and ${report.oneThreadMedianRatio}.`,
    '',
    '| peak RSS | MiB |',
    '|---|---:|',
    `| parse, ${input.events.toLocaleString('en')} events | ${peakRss.parseMiB} |`,
    `| hunt, ${input.events.toLocaleString('en')} events | ${peakRss.huntMiB} |`,
    ...(peakRss.largeEvents > 0
      ? [`| hunt, ${peakRss.largeEvents.toLocaleString('en')} events | ${peakRss.huntLargeMiB} |`]
      : []),
    '',
    `Memory per idle tracked process: **${idle.bytesPerProcess.toLocaleString('en')} bytes** (target ≤ 1,024): ` +
      `heapUsed after a full GC, before and after the engine is shown one exec each of ${idle.processes.toLocaleString('en')} ` +
      `processes on ${idle.hosts} hosts, divided by the processes (process table, identity, host state: what hunt keeps per process).`,
    '',
    `Findings: ${findings.total} (${
      Object.entries(findings.bySeverity)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }); planted miners found: ${findings.plantedFound} of ${findings.planted}.`,
    '',
    `${describeMachine(m)} The bench itself keeps a core busy.`,
    '',
  ].join('\n');
}

function buildReport(
  meta: Meta,
  largeMeta: Meta | undefined,
  parses: Run[],
  hunts: Run[],
  oneThread: Run[],
  larges: Run[],
  idle: IdleMemory,
) {
  const bp = best(parses);
  const bh = best(hunts);
  const mp = median(parses);
  const mh = median(hunts);
  const b1 = best(oneThread);
  const m1 = median(oneThread);
  const findings = bh.findings ?? [];
  const plantedFound = meta.miners.filter((p) => findings.some((f) => f.host === p.host)).length;
  const summarise = (r: Run) => ({
    eventsPerSec: Math.round(rate(r)),
    mbPerSec: round(mbps(r), 1),
    seconds: round(r.seconds, 2),
  });
  const ratio = round(rate(bh) / rate(bp), 3);
  const medianRatio = round(rate(mh) / rate(mp), 3);
  return {
    date: new Date().toISOString(),
    machine: machine(),
    /** dist: the build bin/coalmine.js runs; src: the TypeScript through tsx. */
    code: measuredCode,
    input: {
      file: relative(process.cwd(), join(WORK, 'events.ndjson')),
      events: meta.events,
      bytes: meta.bytes,
      seed: meta.seed,
      generatorVersion: meta.generatorVersion,
      hosts: meta.hosts,
      processes: meta.processes,
      spanMinutes: meta.spanMinutes,
      mix: meta.mix,
      miners: meta.miners,
    },
    runsPerMode: parses.length,
    runs: {
      parse: parses.map(({ findings: _f, ...r }) => r),
      hunt: hunts.map(({ findings: _f, ...r }) => r),
      huntOneThread: oneThread.map(({ findings: _f, ...r }) => r),
      huntLarge: larges.map(({ findings: _f, ...r }) => r),
    },
    best: { parse: summarise(bp), hunt: summarise(bh), huntOneThread: summarise(b1) },
    median: { parse: summarise(mp), hunt: summarise(mh), huntOneThread: summarise(m1) },
    /** The threads hunt chose for this input (the CLI's default), and why one when it did not split. */
    threads: bh.threads ?? { workers: 1 },
    ratio,
    medianRatio,
    oneThreadRatio: round(rate(b1) / rate(bp), 3),
    oneThreadMedianRatio: round(rate(m1) / rate(mp), 3),
    targetRatio: TARGET_RATIO,
    meetsTarget: ratio >= TARGET_RATIO,
    peakRss: {
      parseMiB: mib(Math.max(...parses.map((r) => r.maxRssBytes))),
      huntMiB: mib(Math.max(...hunts.map((r) => r.maxRssBytes))),
      largeEvents: largeMeta?.events ?? 0,
      huntLargeMiB: larges.length > 0 ? mib(Math.max(...larges.map((r) => r.maxRssBytes))) : 0,
    },
    idle,
    findings: {
      total: findings.length,
      bySeverity: countBy(findings, (f) => f.severity),
      planted: meta.miners.length,
      plantedFound,
      list: findings,
    },
  };
}

/** Self time per function and per file from a V8 .cpuprofile, as "share of samples" lines. */
function summariseProfile(profile: Parameters<typeof selfTime>[0], top = 20): string {
  const t = selfTime(profile, top);
  const list = (rows: Array<[string, number]>) =>
    rows.map(([k, pct]) => `  ${pct.toFixed(1).padStart(5)}%  ${k}`).join('\n');
  return `self time by function:\n${list(t.byFunction)}\n\nself time by file:\n${list(t.byFile)}\n`;
}

async function profileHunt(file: string): Promise<void> {
  const dir = join(WORK, 'profile');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // one thread: with workers the main thread only waits, and each worker writes a profile of its own
  await runChild('hunt1', file, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const name = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!name) throw new Error('no .cpuprofile written');
  const text = summariseProfile(JSON.parse(await readFile(join(dir, name), 'utf8')));
  await writeFile(join(dir, 'summary.txt'), text);
  process.stdout.write(`\n${text}\n(profile: ${relative(process.cwd(), join(dir, name))})\n`);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function parent(args: string[]): Promise<void> {
  const events = Number(flag(args, '--events') ?? DEFAULT_EVENTS);
  const seed = Number(flag(args, '--seed') ?? DEFAULT_SEED);
  const runs = Number(flag(args, '--runs') ?? 3);
  // peak RSS on a larger input too (0: skip), so memory that grows with input shows
  const largeEvents = Number(flag(args, '--large-events') ?? 4 * events);
  if (![events, seed, runs, largeEvents].every(Number.isInteger) || events < 2 || runs < 1) {
    console.error(
      'usage: npm run bench -- [--events N] [--seed S] [--runs R] [--large-events N] [--profile] [--from-source]',
    );
    process.exit(2);
  }
  const dist = distState();
  if (args.includes('--from-source')) measuredCode = 'src';
  else if (dist.current) measuredCode = 'dist';
  else process.stderr.write(`bench: ${dist.reason}: measuring src/ through tsx (npm run build to measure the build)\n`);
  const file = join(WORK, 'events.ndjson');
  const largeFile = join(WORK, 'events-large.ndjson');
  const meta = await ensureEvents(file, events, seed);
  const largeMeta = largeEvents > 0 ? await ensureEvents(largeFile, largeEvents, seed) : undefined;
  const rel = relative(process.cwd(), file);
  if (args.includes('--profile')) {
    await profileHunt(rel); // a profiled run is slower: it only explains, it does not count as a result
    return;
  }

  // Alternate the two so drift in machine load (other jobs, thermal) hits both alike.
  const parses: Run[] = [];
  const hunts: Run[] = [];
  const oneThread: Run[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: run ${i + 1}/${runs}: parse… `);
    parses.push(await runChild('parse', rel));
    process.stderr.write(`${parses[i].seconds.toFixed(2)}s; hunt… `);
    hunts.push(await runChild('hunt', rel));
    process.stderr.write(`${hunts[i].seconds.toFixed(2)}s; hunt --workers 1… `);
    oneThread.push(await runChild('hunt1', rel));
    process.stderr.write(`${oneThread[i].seconds.toFixed(2)}s\n`);
  }
  const larges: Run[] = [];
  if (largeMeta) {
    process.stderr.write(`bench: hunt on ${largeMeta.events.toLocaleString('en')} events for peak RSS…\n`);
    larges.push(await runChild('hunt', relative(process.cwd(), largeFile)));
  }
  process.stderr.write('bench: memory per idle process…\n');
  const idle = ((await runChild('idle', rel, ['--expose-gc'])) as Run & { idle: IdleMemory }).idle;

  const report = buildReport(meta, largeMeta, parses, hunts, oneThread, larges, idle);
  await mkdir(RESULTS, { recursive: true });
  await writeFile(join(RESULTS, 'hunt.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  await writeFile(join(RESULTS, 'hunt.md'), md);
  const findingsTotal = report.findings.total;
  process.stdout.write(
    [
      `events:        ${meta.events.toLocaleString('en')} (${mib(meta.bytes)} MiB)`,
      `parse:         ${report.best.parse.eventsPerSec.toLocaleString('en')} events/s, ${report.best.parse.mbPerSec} MiB/s`,
      `hunt:          ${report.best.hunt.eventsPerSec.toLocaleString('en')} events/s, ${report.best.hunt.mbPerSec} MiB/s (median ${report.median.hunt.eventsPerSec.toLocaleString('en')} events/s)`,
      `hunt / parse:  ${report.ratio} min, ${report.medianRatio} median (target ≥ ${TARGET_RATIO}: ${report.meetsTarget ? 'met' : 'NOT met'}); ${threadsText(report.threads)}`,
      `one thread:    ${report.oneThreadRatio} min, ${report.oneThreadMedianRatio} median`,
      `peak RSS:      parse ${report.peakRss.parseMiB} MiB; hunt ${report.peakRss.huntMiB} MiB; hunt on ${report.peakRss.largeEvents.toLocaleString('en')} events ${report.peakRss.huntLargeMiB} MiB`,
      `idle process:  ${report.idle.bytesPerProcess} bytes each (${report.idle.processes.toLocaleString('en')} on ${report.idle.hosts} hosts)`,
      `findings:      ${findingsTotal} (planted miners found: ${report.findings.plantedFound} of ${report.findings.planted})`,
      `results:       ${relative(process.cwd(), join(RESULTS, 'hunt.json'))}, ${relative(process.cwd(), join(RESULTS, 'hunt.md'))}`,
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mode = flag(args, '--child');
  if (mode === undefined) return parent(args);
  const file = args[args.indexOf('--child') + 2];
  if ((mode !== 'parse' && mode !== 'hunt' && mode !== 'hunt1' && mode !== 'idle') || !file) {
    console.error('usage: bench/hunt.ts --child parse|hunt|hunt1|idle FILE');
    process.exit(2);
  }
  const code = flag(args, '--code') === 'dist' ? 'dist' : 'src';
  const result =
    mode === 'parse'
      ? await parseChild(file)
      : mode === 'idle'
        ? await idleChild(code)
        : await huntChild(file, code, mode === 'hunt1' ? 1 : undefined);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
