/**
 * Ingest throughput (issue 16, acceptance 5): `node --import tsx bench/ingest.ts [--events 200000]
 * [--batch 10000]` (`npm run bench:ingest`). The seeded fleet of bench/generate.ts is written once as
 * NDJSON; then, in the same run:
 * - `serve`: the real CLI, `coalmine serve` on a fresh SQLite store, is sent the file as gzip NDJSON
 *   bodies of `--batch` lines to `POST /api/v1/events` (two requests at a time, compressed before the
 *   clock starts, as a sensor sends them); events/s from the first request to the last 202 (each 202
 *   comes after its body is committed and read by the detector), and until the findings the bodies
 *   raised are stored; serve's peak RSS (VmHWM);
 * - `hunt`: the same file through `hunt` in a child process, on one thread (`--workers 1`, as serve
 *   runs one detector) and as the CLI runs it, events/s of the work and peak RSS.
 * Both run the same code: src/ through tsx (other work keeps dist/ stale; the ratio compares like with
 * like). Results: bench/results/ingest.json and .md. Timings are reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { openStore } from '../src/store/index.js';
import { startCli } from '../test/support/cli.js';
import { DEFAULT_SEED, generateEvents } from './generate.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const WORK = join(RESULTS, '.work');
const MIB = 1024 * 1024;
const IN_FLIGHT = 2;
/** The findings count must hold this long to call storing done. */
const SETTLE_MS = 3000;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: a positive whole number`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HuntRun {
  mode: 'hunt1' | 'hunt';
  events: number;
  seconds: number;
  maxRssBytes: number;
  findings: number;
  workers: number;
}

/** One hunt of the file in this (child) process; what it printed is one JSON line. */
async function huntChild(file: string, workers: number | undefined): Promise<HuntRun> {
  const { hunt } = await import('../src/run/hunt.js');
  const { defaultPolicy } = await import('../src/model/policy.js');
  const { DEFAULT_RULE_DIRS } = await import('../src/signals/rules.js');
  const started = performance.now();
  const { findings, summary, threads } = await hunt({
    paths: [file],
    policy: defaultPolicy(),
    ruleDirs: DEFAULT_RULE_DIRS,
    workers,
  });
  return {
    mode: workers === 1 ? 'hunt1' : 'hunt',
    events: summary.events,
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    findings: findings.length,
    workers: threads.workers,
  };
}

function runHunt(file: string, workers: number | undefined): Promise<HuntRun> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', 'hunt', file];
    if (workers !== undefined) args.push('--workers', String(workers));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`hunt child exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as HuntRun);
    });
  });
}

/** The file as gzip bodies of `lines` lines each, with their event counts. */
function bodiesOf(file: string, lines: number): Array<{ body: Buffer; events: number }> {
  const text = readFileSync(file, 'utf8');
  const all = text.split('\n').filter((l) => l !== '');
  const out: Array<{ body: Buffer; events: number }> = [];
  for (let i = 0; i < all.length; i += lines) {
    const part = all.slice(i, i + lines);
    out.push({ body: gzipSync(`${part.join('\n')}\n`, { level: 1 }), events: part.length });
  }
  return out;
}

interface ServeRun {
  events: number;
  requests: number;
  gzipBytes: number;
  /** First request to the last 202. */
  ackSeconds: number;
  /** First request until the stored findings stopped changing (less the settle wait). */
  storedSeconds: number;
  findings: number;
  peakRssBytes: number;
  issues: Record<string, number>;
}

/** Findings stored, every page of the list read. */
async function countFindings(url: string, token: string): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const u = new URL('/api/v1/findings', url);
    u.searchParams.set('limit', '200');
    if (cursor) u.searchParams.set('cursor', cursor);
    const r = await fetch(u, { headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`GET /api/v1/findings: HTTP ${r.status}`);
    const page = (await r.json()) as { items: unknown[]; next?: string };
    n += page.items.length;
    cursor = page.next;
  } while (cursor);
  return n;
}

function vmHwm(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

async function runServe(file: string, batchLines: number): Promise<ServeRun> {
  const dir = join(WORK, 'ingest-store');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const storePath = join(dir, 'serve.db');
  const store = await openStore(storePath);
  const sensor = (await store.tokens.create({ name: 'bench-sensor', role: 'sensor', actor: 'bench' })).secret;
  const analyst = (await store.tokens.create({ name: 'bench-analyst', role: 'analyst', actor: 'bench' })).secret;
  await store.close();
  const bodies = bodiesOf(file, batchLines);
  const live = startCli(['serve', '--listen', '127.0.0.1:0', '--store', storePath], {
    env: { ...process.env, COALMINE_FROM_SOURCE: '1' },
  });
  try {
    const url = await live.firstLine();
    if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(url)) throw new Error(`serve did not start: ${live.err()}`);
    const issues: Record<string, number> = {};
    let events = 0;
    let next = 0;
    const started = performance.now();
    const sender = async () => {
      while (next < bodies.length) {
        const i = next++;
        const u = new URL('/api/v1/events', url);
        u.searchParams.set('format', 'ndjson');
        u.searchParams.set('name', `bench-${i}`);
        const r = await fetch(u, {
          method: 'POST',
          headers: { authorization: `Bearer ${sensor}`, 'content-encoding': 'gzip' },
          body: bodies[i].body,
        });
        const answer = (await r.json()) as { events: number; issues_by_code?: Record<string, number> };
        if (r.status !== 202) throw new Error(`body ${i}: HTTP ${r.status} ${JSON.stringify(answer)}`);
        events += answer.events;
        for (const [code, n] of Object.entries(answer.issues_by_code ?? {})) issues[code] = (issues[code] ?? 0) + n;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => sender()));
    const ackSeconds = (performance.now() - started) / 1000;
    // the findings are stored after each answer: wait until their count holds
    let findings = -1;
    let stableSince = performance.now();
    let lastChange = performance.now();
    while (performance.now() - stableSince < SETTLE_MS) {
      const n = await countFindings(url, analyst);
      if (n !== findings) {
        findings = n;
        stableSince = performance.now();
        lastChange = stableSince;
      }
      await sleep(200);
    }
    const storedSeconds = Math.max(ackSeconds, (lastChange - started) / 1000);
    const peakRssBytes = live.child.pid === undefined ? 0 : vmHwm(live.child.pid);
    return {
      events,
      requests: bodies.length,
      gzipBytes: bodies.reduce((n, b) => n + b.body.length, 0),
      ackSeconds,
      storedSeconds,
      findings,
      peakRssBytes,
      issues,
    };
  } finally {
    live.child.kill('SIGTERM');
    await live.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const w = args.indexOf('--workers');
    const run = await huntChild(args[2], w >= 0 ? Number(args[w + 1]) : undefined);
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return;
  }
  const events = flag(args, '--events', 200_000);
  const batch = flag(args, '--batch', 10_000);
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, `ingest-${events}.ndjson`);
  const generated = await generateEvents({ events, seed: DEFAULT_SEED, path: file });
  const bytes = statSync(file).size;
  process.stderr.write(`bench: ${generated.events} events (${(bytes / MIB).toFixed(1)} MiB) in ${file}\n`);
  const serve = await runServe(file, batch);
  process.stderr.write(`bench: serve ${Math.round(serve.events / serve.ackSeconds)} events/s to the last ack\n`);
  const hunt1 = await runHunt(file, 1);
  process.stderr.write(`bench: hunt --workers 1 ${Math.round(hunt1.events / hunt1.seconds)} events/s\n`);
  const hunt = await runHunt(file, undefined);
  process.stderr.write(`bench: hunt ${Math.round(hunt.events / hunt.seconds)} events/s (${hunt.workers} threads)\n`);
  rmSync(file, { force: true });

  const rate = (n: number, s: number) => Math.round(n / s);
  const serveAckRate = rate(serve.events, serve.ackSeconds);
  const serveStoredRate = rate(serve.events, serve.storedSeconds);
  const hunt1Rate = rate(hunt1.events, hunt1.seconds);
  const huntRate = rate(hunt.events, hunt.seconds);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    code: 'src (tsx)',
    seed: DEFAULT_SEED,
    events: generated.events,
    bytes,
    hosts: generated.hosts,
    batchLines: batch,
    requestsInFlight: IN_FLIGHT,
    serve: { ...serve, eventsPerSecondToAck: serveAckRate, eventsPerSecondToStored: serveStoredRate },
    hunt1: { ...hunt1, eventsPerSecond: hunt1Rate },
    hunt: { ...hunt, eventsPerSecond: huntRate },
    ratio: {
      serveAckVsHunt1: ratio(serveAckRate, hunt1Rate),
      serveStoredVsHunt1: ratio(serveStoredRate, hunt1Rate),
      serveAckVsHunt: ratio(serveAckRate, huntRate),
    },
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'ingest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const mib = (n: number) => `${Math.round(n / MIB)} MiB`;
  const md = [
    '# serve ingest throughput vs hunt',
    '',
    `${result.date}. \`npm run bench:ingest\`. ${describeMachine(result.machine)}`,
    '',
    `${result.events.toLocaleString('en')} events (${(bytes / MIB).toFixed(1)} MiB of NDJSON, ${result.hosts} hosts, seed ${result.seed}, bench/generate.ts). serve: the real \`coalmine serve\` on a fresh SQLite store, sent ${serve.requests} gzip bodies of ${batch.toLocaleString('en')} lines (${mib(serve.gzipBytes)}), ${IN_FLIGHT} requests at a time; hunt: the same file in a child process. Both run src/ through tsx.`,
    '',
    '| | events/s | vs hunt --workers 1 | peak RSS | findings |',
    '|---|---:|---:|---:|---:|',
    `| serve, first request to last 202 (committed and read) | ${serveAckRate.toLocaleString('en')} | ${result.ratio.serveAckVsHunt1} | ${mib(serve.peakRssBytes)} | |`,
    `| serve, until its findings are stored | ${serveStoredRate.toLocaleString('en')} | ${result.ratio.serveStoredVsHunt1} | | ${serve.findings} |`,
    `| hunt --workers 1 | ${hunt1Rate.toLocaleString('en')} | 1 | ${mib(hunt1.maxRssBytes)} | ${hunt1.findings} |`,
    `| hunt (${hunt.workers} ${hunt.workers === 1 ? 'thread' : 'threads'}) | ${huntRate.toLocaleString('en')} | ${ratio(huntRate, hunt1Rate)} | ${mib(hunt.maxRssBytes)} | ${hunt.findings} |`,
    '',
    `serve ÷ hunt (as the CLI runs it): ${result.ratio.serveAckVsHunt}. serve's findings are what its live detector reported by the time the stream ended (its clock closes the rest later); hunt's are at end of input.${
      Object.keys(serve.issues).length > 0
        ? ` Issues serve answered: ${Object.entries(serve.issues)
            .map(([c, n]) => `${c} ×${n}`)
            .join(', ')}.`
        : ''
    }`,
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'ingest.md'), md);
  process.stdout.write(md);
}

await main();
