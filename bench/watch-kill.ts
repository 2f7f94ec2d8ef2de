/**
 * Crash trial for `watch --webhook`: `node --import tsx bench/watch-kill.ts [--kills 20] [--seed 1]`
 * (`npm run bench:watch-kill`). A harmless miner with a sandbox cron entry, a rival it kills and a
 * proxyware client (`coalmine simulate all --sandbox`) keep producing findings; the real CLI, `coalmine watch --webhook URL --spool
 * DIR`, is started on the same spool again and again and SIGKILLed at a random point after it has
 * printed a report, while a loopback receiver written here is, in turn, down (nothing listening),
 * flaky (503s and connection resets) or hanging (requests never answered, or status lines trickled).
 * Then the miner stops, the receiver behaves, and one last watch drains the spool.
 *
 * The receiver records every (idempotency key, body digest) it answers 2xx. Asserted and reported:
 * no key ever carries two bodies; no content arrives under two keys; every report watch printed
 * (its stdout is written only once the report is spooled) was accepted; the spool is empty at the end.
 * The same key with the same body accepted twice is counted, not hidden: a kill between the receiver's
 * 2xx and the spool file's removal re-sends it, and a deduplicating receiver absorbs it by key.
 * Results: bench/results/watch-kill.json and .md.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from '../test/support/cli.js';
import { Rng } from './fuzz-rng.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const MODES = ['down', 'flaky', 'hanging'] as const;
type Mode = (typeof MODES)[number];
/** What the receiver does with a request, drawn per request: flaky fails half, hanging stalls half. */
const ANSWERS: Record<Mode | 'healthy', ReadonlyArray<'ok' | '503' | 'reset' | 'hang' | 'trickle'>> = {
  down: ['ok'],
  flaky: ['503', 'reset', 'ok', 'ok'],
  hanging: ['hang', 'trickle', 'ok', 'ok'],
  healthy: ['ok'],
};

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a whole number`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** The content of a report, however it travelled: the object without the key the webhook adds. */
function contentOf(o: Record<string, unknown>): { body: string; content: string } {
  const { dedupe_key: _key, ...rest } = o;
  const { revision: _revision, ...finding } = rest;
  return { body: sha(JSON.stringify(rest)), content: sha(JSON.stringify(finding)) };
}

/** The loopback receiver: one port for the whole trial; its behaviour is switched per cycle. */
class Receiver {
  mode: Mode | 'healthy' = 'healthy';
  /** key → body digests it answered 2xx to, one entry per acceptance. */
  readonly accepted = new Map<string, string[]>();
  readonly contents = new Map<string, Set<string>>();
  /** Per receiver mode: what it answered. */
  readonly answers = Object.fromEntries(
    [...MODES, 'healthy'].map((m) => [m, { ok: 0, status503: 0, reset: 0, hung: 0, trickled: 0 }]),
  ) as Record<Mode | 'healthy', { ok: number; status503: number; reset: number; hung: number; trickled: number }>;
  inflight = 0;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(private readonly rng: Rng) {}

  async listen(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      this.inflight++;
      let done = false;
      const finish = () => {
        if (!done) this.inflight--;
        done = true;
      };
      res.on('close', finish);
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 4 * 1024 * 1024) chunks.push(c);
      });
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        const answer = this.rng.pick(ANSWERS[this.mode]);
        if (answer === '503') {
          this.answers[this.mode].status503++;
          return res.writeHead(503).end();
        }
        if (answer === 'reset') {
          this.answers[this.mode].reset++;
          return req.socket.resetAndDestroy();
        }
        if (answer === 'hang') {
          this.answers[this.mode].hung++;
          return; // never answered: the client's timeout ends it
        }
        if (answer === 'trickle') {
          this.answers[this.mode].trickled++;
          const text = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
          let at = 0;
          const t = setInterval(() => {
            if (at >= text.length || req.socket.destroyed) {
              clearInterval(t);
              this.timers.delete(t);
              return;
            }
            req.socket.write(text.subarray(at, ++at));
          }, 1000);
          this.timers.add(t);
          return;
        }
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          return res.writeHead(400).end();
        }
        if (parsed.dedupe_key !== key) return res.writeHead(400).end();
        const { body, content } = contentOf(parsed);
        this.accepted.set(key, [...(this.accepted.get(key) ?? []), body]);
        this.contents.set(content, (this.contents.get(content) ?? new Set()).add(key));
        this.answers[this.mode].ok++;
        res.writeHead(204).end();
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Nothing listens on the port: connections are refused. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function pendingInSpool(spool: string): number {
  try {
    return readdirSync(spool).filter((n) => n.endsWith('.json')).length;
  } catch {
    return 0;
  }
}

interface Report {
  key: string;
  body: string;
}

function printedReports(stdout: string): { reports: Report[]; torn: number } {
  const reports: Report[] = [];
  let torn = 0;
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      reports.push({ key: `${o.id}#${o.revision}`, body: contentOf(o).body });
    } catch {
      torn++; // the kill cut a line short
    }
  }
  return { reports, torn };
}

interface Cycle {
  mode: Mode;
  printed: number;
  killedAfterFirstReportMs: number | null;
  pendingAtKill: number;
  requestsInFlightAtKill: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const kills = flag(args, '--kills', 20);
  const seed = flag(args, '--seed', 1);
  const rng = new Rng(seed);
  const started = Date.now();
  const work = mkdtempSync(join(os.tmpdir(), 'coalmine-watch-kill-'));
  const sandbox = join(work, 'sandbox');
  const spool = join(work, 'spool');
  mkdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs'), { recursive: true });
  const policy = join(work, 'policy.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 30\n');
  const receiver = new Receiver(rng);
  await receiver.listen();
  const url = `http://127.0.0.1:${receiver.port}/findings`;
  const watchArgs = (seconds?: number) => [
    'watch',
    '--interval',
    '0.5',
    '--sustain',
    '3s',
    ...(seconds ? ['--duration', `${seconds}s`] : []),
    '--root',
    sandbox,
    '--policy',
    policy,
    '--webhook',
    url,
    '--spool',
    spool,
  ];

  const sim = startCli(['simulate', 'all', '--duration', '10m', '--share', '0.4', '--sandbox', sandbox, '--json']);
  const printed: Report[] = [];
  let torn = 0;
  const cycles: Cycle[] = [];
  try {
    await sim.firstLine();
    for (let i = 0; i < kills; i++) {
      // the modes take turns; the last run before the drain has the receiver down, so the drain has work
      const mode = MODES[(kills - 1 - i) % MODES.length];
      receiver.mode = mode;
      if (mode === 'down') await receiver.close();
      else await receiver.listen();
      const watch = startCli(watchArgs());
      const closed = new Promise<void>((resolve) => watch.child.once('close', () => resolve()));
      const before = Date.now();
      // a random point after the first report of this run: the spool holds it, delivery is under way
      while (!watch.out().includes('\n') && watch.child.exitCode === null && Date.now() - before < 20_000)
        await sleep(50);
      const firstAt = watch.out().includes('\n') ? Date.now() : null;
      const wait = 100 + rng.int(6000);
      await sleep(wait);
      const cycle: Cycle = {
        mode,
        printed: 0,
        killedAfterFirstReportMs: firstAt === null ? null : Date.now() - firstAt,
        pendingAtKill: pendingInSpool(spool),
        requestsInFlightAtKill: receiver.inflight,
      };
      watch.child.kill('SIGKILL');
      await closed;
      const got = printedReports(watch.out());
      cycle.printed = got.reports.length;
      printed.push(...got.reports);
      torn += got.torn;
      cycles.push(cycle);
      process.stderr.write(
        `cycle ${i + 1}/${kills} ${mode}: ${cycle.printed} printed, killed ${cycle.killedAfterFirstReportMs ?? '-'} ms after the first with ${cycle.pendingAtKill} pending, ${cycle.requestsInFlightAtKill} in flight\n`,
      );
    }
  } finally {
    sim.child.kill('SIGTERM');
    await sim.exited;
  }

  // the miner is gone, the receiver behaves: one last run drains what the kills left
  receiver.mode = 'healthy';
  await receiver.listen();
  const pendingBeforeDrain = pendingInSpool(spool);
  const drainStarted = Date.now();
  const last = startCli(watchArgs(15));
  const lastClosed = new Promise<void>((resolve) => last.child.once('close', () => resolve()));
  await last.exited;
  await lastClosed;
  const drainMs = Date.now() - drainStarted;
  const lastGot = printedReports(last.out());
  printed.push(...lastGot.reports);
  torn += lastGot.torn;
  await receiver.close();
  const spoolLeft = pendingInSpool(spool);

  // the checks
  const printedBodies = new Map<string, Set<string>>();
  for (const r of printed) printedBodies.set(r.key, (printedBodies.get(r.key) ?? new Set()).add(r.body));
  const keysWithTwoBodies = [...new Set([...printedBodies.keys(), ...receiver.accepted.keys()])].filter(
    (k) => new Set([...(printedBodies.get(k) ?? []), ...(receiver.accepted.get(k) ?? [])]).size > 1,
  );
  const contentsUnderTwoKeys = [...receiver.contents.values()].filter((keys) => keys.size > 1).length;
  const printedNotDelivered = [...printedBodies.keys()].filter((k) => !receiver.accepted.has(k));
  const deliveredNotPrinted = [...receiver.accepted.keys()].filter((k) => !printedBodies.has(k));
  const acceptances = [...receiver.accepted.values()].reduce((n, bodies) => n + bodies.length, 0);
  const resent = [...receiver.accepted.values()].reduce((n, bodies) => n + bodies.length - new Set(bodies).size, 0);
  const ok =
    kills > 0 &&
    keysWithTwoBodies.length === 0 &&
    contentsUnderTwoKeys === 0 &&
    printedNotDelivered.length === 0 &&
    spoolLeft === 0 &&
    printedBodies.size > 0;

  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    seed,
    kills,
    modes: Object.fromEntries(MODES.map((m) => [m, cycles.filter((c) => c.mode === m).length])),
    killsWithPending: cycles.filter((c) => c.pendingAtKill > 0).length,
    killsWithRequestInFlight: cycles.filter((c) => c.requestsInFlightAtKill > 0).length,
    reportsPrinted: printed.length,
    distinctKeysPrinted: printedBodies.size,
    tornStdoutLines: torn,
    distinctKeysDelivered: receiver.accepted.size,
    distinctContentsDelivered: receiver.contents.size,
    acceptances,
    sameKeySameBodyResent: resent,
    keysWithTwoBodies,
    contentsUnderTwoKeys,
    printedNotDelivered,
    deliveredNotPrinted,
    receiverAnswers: receiver.answers,
    pendingBeforeDrain,
    drainMs,
    spoolLeft,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    ok,
    cycles,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'watch-kill.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    '# watch --webhook under SIGKILL',
    '',
    `${result.date}. Seed ${seed}. \`npm run bench:watch-kill\`. ${describeMachine(result.machine)}`,
    '',
    `${kills} runs of \`coalmine watch --webhook … --spool …\` on one spool, each SIGKILLed 0.1–6.1 s after its first report (receiver ${MODES.map((m) => `${m} ×${result.modes[m]}`).join(', ')}), then one run with a healthy receiver drains the spool.`,
    '',
    '| | |',
    '|---|---|',
    `| kills with items in the spool / with a request in flight | ${result.killsWithPending} / ${result.killsWithRequestInFlight} of ${kills} |`,
    `| reports printed (distinct id#revision) | ${result.reportsPrinted} (${result.distinctKeysPrinted}) |`,
    `| keys delivered (2xx) / distinct contents | ${result.distinctKeysDelivered} / ${result.distinctContentsDelivered} |`,
    `| acceptances; same key + same body re-sent after a kill | ${acceptances}; ${resent} |`,
    `| **keys with two bodies** | **${keysWithTwoBodies.length}** |`,
    `| **contents under two keys** | **${contentsUnderTwoKeys}** |`,
    `| **printed but never delivered** | **${printedNotDelivered.length}** |`,
    `| delivered but not printed (killed between spool and print) | ${deliveredNotPrinted.length} |`,
    ...Object.entries(receiver.answers).map(
      ([mode, a]) =>
        `| receiver ${mode}: 2xx, 503, reset, hung, trickled | ${a.ok}, ${a.status503}, ${a.reset}, ${a.hung}, ${a.trickled} |`,
    ),
    `| pending before the drain; drain run | ${pendingBeforeDrain}; ${(drainMs / 1000).toFixed(1)} s |`,
    `| **spool left at the end** | **${spoolLeft}** |`,
    `| wall time | ${result.wallSeconds} s |`,
    '',
    ok
      ? 'Every distinct content delivered under one key, none lost, the spool empty: **pass**.'
      : '**FAIL** — see watch-kill.json.',
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'watch-kill.md'), md);
  process.stdout.write(md);
  rmSync(work, { recursive: true, force: true });
  process.exitCode = ok ? 0 : 1;
}

await main();
