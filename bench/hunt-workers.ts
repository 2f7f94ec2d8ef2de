/**
 * `node --import tsx bench/hunt-workers.ts [--events N] [--runs R]`: hunt on 1 and 2 worker threads
 * (`hunt --workers`, the input split by host) on bench/generate.ts's seeded fleet, against the cost of
 * merely JSON.parse-ing the same NDJSON, and what handing every parsed event to another thread would
 * add (v8 serialize + deserialize, what postMessage does): why each worker reads the input itself.
 * Each measurement runs in its own child process; whole-run wall time is reported (thread start-up,
 * rule loading and the merge included), best of R runs. Results in bench/results/hunt-workers.json/md.
 * Timings are reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { DEFAULT_SEED, GENERATOR_VERSION, generateEvents } from './generate.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const WORK = join(RESULTS, '.work');
const MIB = 1024 * 1024;

interface ChildResult {
  mode: string;
  events: number;
  seconds: number;
  maxRssBytes: number;
  findings?: string[];
  threads?: number;
}

/** Every line of the file, JSON.parse'd; `transfer` also round-trips each 1,000 through v8 serialization. */
async function parseChild(file: string, transfer: boolean): Promise<ChildResult> {
  const started = performance.now();
  let events = 0;
  let batch: unknown[] = [];
  let carry = '';
  for await (const chunk of createReadStream(file, { highWaterMark: MIB, encoding: 'utf8' }) as AsyncIterable<string>) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      const parsed: unknown = JSON.parse(line);
      events++;
      if (!transfer) continue;
      batch.push(parsed);
      if (batch.length === 1000) {
        if ((deserialize(serialize(batch)) as unknown[]).length !== 1000) throw new Error('lost events');
        batch = [];
      }
    }
  }
  if (carry !== '') events++;
  return {
    mode: transfer ? 'parse+transfer' : 'parse',
    events,
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function huntChild(file: string, workers: number): Promise<ChildResult> {
  const { hunt } = await import('../src/run/hunt.js');
  const { defaultPolicy } = await import('../src/model/policy.js');
  const { DEFAULT_RULE_DIRS } = await import('../src/signals/rules.js');
  const started = performance.now();
  const r = await hunt({ paths: [file], policy: defaultPolicy(), ruleDirs: [...DEFAULT_RULE_DIRS], workers });
  return {
    mode: `hunt --workers ${workers}`,
    events: r.summary.events,
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    findings: r.findings.map((f) => f.id),
    threads: r.threads.workers,
  };
}

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child ${args.join(' ')} exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult);
    });
  });
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function parent(args: string[]): Promise<void> {
  const events = Number(flag(args, '--events') ?? 1_000_000);
  const runs = Number(flag(args, '--runs') ?? 2);
  await mkdir(WORK, { recursive: true });
  const file = join(WORK, `workers-${events}-v${GENERATOR_VERSION}.ndjson`);
  if (!existsSync(file)) await generateEvents({ events, seed: DEFAULT_SEED, path: file });
  const bytes = (await readFile(file)).length;
  const modes: string[][] = [
    ['parse', file],
    ['transfer', file],
    ['hunt', file, '1'],
    ['hunt', file, '2'],
  ];
  const best: ChildResult[] = [];
  for (const m of modes) {
    let top: ChildResult | undefined;
    for (let i = 0; i < runs; i++) {
      const r = await runChild(m);
      process.stderr.write(`${r.mode}: ${r.seconds.toFixed(2)} s\n`);
      if (!top || r.seconds < top.seconds) top = r;
    }
    if (top) best.push(top);
  }
  const [parse, transfer, one, two] = best;
  const rate = (r: ChildResult) => Math.round(r.events / r.seconds);
  const sameFindings = JSON.stringify(one.findings) === JSON.stringify(two.findings);
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    input: { events, bytes, file: 'bench/generate.ts seeded fleet (200 Linux hosts)' },
    runs,
    parse: { seconds: parse.seconds, eventsPerSecond: rate(parse) },
    transferExtraSeconds: transfer.seconds - parse.seconds,
    hunt: [one, two].map((r) => ({
      workers: r.threads,
      seconds: r.seconds,
      eventsPerSecond: rate(r),
      ratioToParse: rate(r) / rate(parse),
      maxRssMiB: Math.round(r.maxRssBytes / MIB),
      findings: r.findings?.length,
    })),
    speedup: one.seconds / two.seconds,
    sameFindings,
  };
  const md = [
    '# hunt --workers',
    '',
    `${report.date}. ${describeMachine(report.machine)}`,
    `${events} events (${(bytes / MIB).toFixed(1)} MiB) of bench/generate.ts's fleet, best of ${runs} runs, whole-run wall time of each child process (start-up and module loading included: the parse here is slower than bench:hunt's, which times the work alone).`,
    '',
    '| run | seconds | events/s | ÷ JSON.parse | peak RSS (main thread process) |',
    '|---|---|---|---|---|',
    `| JSON.parse of every line | ${parse.seconds.toFixed(2)} | ${rate(parse)} | 1 | ${Math.round(parse.maxRssBytes / MIB)} MiB |`,
    ...report.hunt.map(
      (h) =>
        `| hunt --workers ${h.workers} | ${h.seconds.toFixed(2)} | ${h.eventsPerSecond} | ${h.ratioToParse.toFixed(3)} | ${h.maxRssMiB} MiB |`,
    ),
    '',
    `Two workers vs one: ${report.speedup.toFixed(2)}×; the same findings: ${sameFindings ? 'yes' : 'NO'}.`,
    `Handing every parsed event to another thread (v8 serialize + deserialize per 1,000, as postMessage does) would add ${report.transferExtraSeconds.toFixed(2)} s to the parse's ${parse.seconds.toFixed(2)} s: so each worker reads the whole input, parses only its own hosts' lines (engine/partition.ts partitionRouteOfLine) and passes nothing between threads.`,
    '',
  ].join('\n');
  await writeFile(join(RESULTS, 'hunt-workers.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(RESULTS, 'hunt-workers.md'), md);
  process.stdout.write(md);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const [, mode, file, workers] = args;
    const r = mode === 'hunt' ? await huntChild(file, Number(workers)) : await parseChild(file, mode === 'transfer');
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  await parent(args);
}

await main();
