/**
 * Crash trials for `coalmine serve`'s ingest (issue 16, acceptance 5):
 * `node --import tsx bench/serve-kill.ts [--trials 20] [--seed 1] [--keep DIR]` (`npm run bench:serve-kill`;
 * `--keep` leaves each trial's store as the kill left it in DIR, to profile a restart on).
 * Each trial starts the real CLI, `coalmine serve --store FILE`, on a fresh SQLite store; a client here
 * streams gzip NDJSON batches to `POST /api/v1/events` (two requests at a time) and records which were
 * acknowledged (202); at a random point the bench SIGKILLs serve, restarts it on the same store, and
 * checks through the API and then the store itself:
 * - every batch carries its own `Idempotency-Key` (as `watch --server` sends them); after the restart the
 *   client sends again, as the forwarder would, every batch whose answer the kill cut off and a sample
 *   of acknowledged ones (their 202 lost): each must be answered 202, an acknowledged one with the seq it
 *   was first given;
 * - every batch is then in the ingest log exactly once: a batch logged twice is a failure;
 * - every acknowledged batch's effect is there: each batch is one host with a miner's exec among
 *   benign processes, so each acked batch must have its AN0742 finding after the restart (found by the
 *   replay when the kill came before the findings were stored);
 * - nothing is duplicated: one finding per batch host, one revision per finding.
 * Results: bench/results/serve-kill.json and .md.
 */

import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { openStore } from '../src/store/index.js';
import { startCli } from '../test/support/cli.js';
import { Rng } from './fuzz-rng.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const EVENTS_PER_BATCH = 50;
const SENDERS = 2;
/** How long after the restart the findings of every acked batch may take to be stored and listed. */
const FINDINGS_WAIT_MS = 30_000;
/** Acknowledged batches sent again after the restart (as if their 202 had been lost), per trial. */
const ACKED_RESENT = 20;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a whole number`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Batch `n` of trial `t`: its own host, one miner exec (a finding of its own) and benign processes. */
function batchBody(t: number, n: number, nowMs: number): { host: string; body: Buffer } {
  const host = `bench-${t}-${n}`;
  const lines: string[] = [];
  const at = new Date(nowMs).toISOString();
  lines.push(
    JSON.stringify({
      '@timestamp': at,
      event: { action: 'exec', dataset: 'bench', category: ['process'] },
      host: { name: host },
      process: {
        pid: 4242,
        name: 'xmrig',
        executable: '/tmp/.x/xmrig',
        command_line: `/tmp/.x/xmrig -o stratum+tcp://pool.minexmr.com:4444 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A --donate-level 1`,
        parent: { pid: 1, name: 'systemd' },
      },
    }),
  );
  for (let i = 1; i < EVENTS_PER_BATCH; i++)
    lines.push(
      JSON.stringify({
        '@timestamp': at,
        event: { action: 'process-seen', dataset: 'bench', category: ['process'] },
        host: { name: host },
        process: {
          pid: 10_000 + i,
          name: `worker-${i}`,
          executable: `/usr/bin/worker-${i}`,
          command_line: `worker-${i} --serve`,
        },
        metrics: { cpu_pct: 1 },
      }),
    );
  return { host, body: gzipSync(`${lines.join('\n')}\n`) };
}

interface Sent {
  name: string;
  host: string;
  /** Its Idempotency-Key: 32 hex digits, its own. */
  key: string;
  body: Buffer;
  /** The log entry its 202 named. */
  seq?: number;
  /** 202 received. */
  acked: boolean;
  /** No answer: the kill cut it off (or it was never answered). */
  unanswered: boolean;
}

interface Trial {
  trial: number;
  killedAfterMs: number;
  batchesAcked: number;
  batchesUnanswered: number;
  eventsAcked: number;
  restartMs: number;
  /** Acked batches not in the ingest log after the restart. */
  ackedMissingFromLog: number;
  /** Unanswered batches that were committed anyway (allowed). */
  unansweredInLog: number;
  /** Batches sent again after the restart (every unanswered one, a sample of acked ones). */
  resent: number;
  /** Of those, answered other than 202, or (acked ones) with another seq than their first answer. */
  resentWrongAnswer: number;
  /** Batches (acked, or unanswered and sent again) not in the log after the resend. */
  resentMissingFromLog: number;
  /** Ingest log names present more than once. */
  duplicateLogEntries: number;
  /** Acked batches without their finding after the restart. */
  ackedWithoutFinding: number;
  /** Batch hosts with more than one finding, and findings with more than one revision. */
  hostsWithTwoFindings: number;
  findingsWithTwoRevisions: number;
  findingsWaitMs: number;
}

async function startServe(store: string): Promise<{ live: ReturnType<typeof startCli>; url: string; ms: number }> {
  const started = Date.now();
  const live = startCli(['serve', '--listen', '127.0.0.1:0', '--store', store]);
  const url = await live.firstLine();
  if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(url)) throw new Error(`serve did not start: ${live.err()}`);
  return { live, url, ms: Date.now() - started };
}

interface ListedFinding {
  finding: { id: string; host: string; analytic: string };
  revision: number;
}

/** Up to `n` distinct items of `xs`, in their order. */
function sampleOf<T>(rng: Rng, xs: readonly T[], n: number): T[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(n, xs.length)) picked.add(rng.int(xs.length));
  return [...picked].sort((a, b) => a - b).map((i) => xs[i]);
}

/** One batch to serve's ingest, gzip NDJSON under its Idempotency-Key: the status and the seq answered. */
async function post(url: string, token: string, item: Sent): Promise<{ status: number; seq?: number }> {
  const u = new URL('/api/v1/events', url);
  u.searchParams.set('name', item.name);
  u.searchParams.set('format', 'ndjson');
  const r = await fetch(u, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-encoding': 'gzip',
      'content-type': 'application/x-ndjson',
      'idempotency-key': item.key,
    },
    body: item.body,
  });
  const answer = (await r.json().catch(() => ({}))) as { seq?: number };
  return { status: r.status, seq: answer.seq };
}

async function allFindings(url: string, token: string): Promise<ListedFinding[]> {
  const out: ListedFinding[] = [];
  let cursor: string | undefined;
  do {
    const u = new URL('/api/v1/findings', url);
    u.searchParams.set('limit', '100');
    if (cursor) u.searchParams.set('cursor', cursor);
    const r = await fetch(u, { headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`GET /api/v1/findings: ${r.status} ${await r.text()}`);
    const page = (await r.json()) as { items: ListedFinding[]; next?: string };
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

async function runTrial(t: number, rng: Rng, work: string, keep: string | undefined): Promise<Trial> {
  const storePath = join(work, `trial-${t}.db`);
  const store = await openStore(storePath);
  const sensor = (await store.tokens.create({ name: 'bench-sensor', role: 'sensor', actor: 'bench' })).secret;
  const analyst = (await store.tokens.create({ name: 'bench-analyst', role: 'analyst', actor: 'bench' })).secret;
  await store.close();

  const first = await startServe(storePath);
  const sent: Sent[] = [];
  let next = 1;
  let stop = false;
  let firstAck: number | undefined;
  const sender = async () => {
    while (!stop) {
      const n = next++;
      const { host, body } = batchBody(t, n, Date.now());
      const item: Sent = {
        name: `batch-${t}-${n}`,
        host,
        key: randomBytes(16).toString('hex'),
        body,
        acked: false,
        unanswered: false,
      };
      sent.push(item);
      try {
        const r = await post(first.url, sensor, item);
        if (r.status === 202) {
          item.seq = r.seq;
          item.acked = true;
          firstAck ??= Date.now();
        } else throw new Error(`answered ${r.status}`);
      } catch {
        item.unanswered = true;
        return; // the server is gone
      }
    }
  };
  const senders = Array.from({ length: SENDERS }, () => sender());
  const streaming = Date.now();
  while (firstAck === undefined && Date.now() - streaming < 60_000) await sleep(10);
  const wait = 200 + rng.int(4000);
  await sleep(wait);
  first.live.child.kill('SIGKILL');
  stop = true;
  await first.live.exited;
  await Promise.all(senders);
  // the store as the kill left it, for profiling a restart (`--keep DIR`)
  if (keep)
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(storePath + suffix)) copyFileSync(storePath + suffix, join(keep, `trial-${t}.db${suffix}`));

  const second = await startServe(storePath);
  const acked = sent.filter((s) => s.acked);
  // sent again as the forwarder sends a batch whose answer it never had: every unanswered one, and
  // acked ones as if their 202 had been lost on the way
  const resend = [...sent.filter((s) => s.unanswered), ...sampleOf(rng, acked, ACKED_RESENT)];
  let resentWrongAnswer = 0;
  for (const item of resend) {
    const r = await post(second.url, sensor, item).catch(() => ({ status: 0, seq: undefined }));
    if (r.status !== 202 || (item.acked && r.seq !== item.seq)) resentWrongAnswer++;
  }
  const waitStarted = Date.now();
  let findings: ListedFinding[] = [];
  const hostsFound = () => new Set(findings.map((f) => f.finding.host));
  for (;;) {
    findings = await allFindings(second.url, analyst);
    const found = hostsFound();
    if (acked.every((s) => found.has(s.host)) || Date.now() - waitStarted > FINDINGS_WAIT_MS) break;
    await sleep(250);
  }
  const findingsWaitMs = Date.now() - waitStarted;
  let findingsWithTwoRevisions = 0;
  for (const f of findings) {
    const r = await fetch(new URL(`/api/v1/findings/${encodeURIComponent(f.finding.id)}`, second.url), {
      headers: { authorization: `Bearer ${analyst}` },
    });
    const { revisions } = (await r.json()) as { revisions: unknown[] };
    if (revisions.length > 1) findingsWithTwoRevisions++;
  }
  second.live.child.kill('SIGTERM');
  await second.live.exited;

  // the ingest log, read from the store once serve is gone
  const after = await openStore(storePath);
  const names = new Map<string, number>();
  for (let afterSeq = 0; ; ) {
    const page = await after.ingest.newerThan(0, { afterSeq, limit: 500 });
    if (page.length === 0) break;
    for (const e of page) names.set(e.name, (names.get(e.name) ?? 0) + 1);
    afterSeq = page[page.length - 1].seq;
  }
  await after.close();

  const perHost = new Map<string, number>();
  for (const f of findings) perHost.set(f.finding.host, (perHost.get(f.finding.host) ?? 0) + 1);
  const found = hostsFound();
  return {
    trial: t,
    killedAfterMs: wait,
    batchesAcked: acked.length,
    batchesUnanswered: sent.filter((s) => s.unanswered).length,
    eventsAcked: acked.length * EVENTS_PER_BATCH,
    restartMs: second.ms,
    ackedMissingFromLog: acked.filter((s) => !names.has(s.name)).length,
    unansweredInLog: sent.filter((s) => s.unanswered && names.has(s.name)).length,
    resent: resend.length,
    resentWrongAnswer,
    resentMissingFromLog: resend.filter((s) => !names.has(s.name)).length,
    duplicateLogEntries: [...names.values()].filter((n) => n > 1).length,
    ackedWithoutFinding: acked.filter((s) => !found.has(s.host)).length,
    hostsWithTwoFindings: [...perHost.values()].filter((n) => n > 1).length,
    findingsWithTwoRevisions,
    findingsWaitMs,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const trials = flag(args, '--trials', 20);
  const seed = flag(args, '--seed', 1);
  const rng = new Rng(seed);
  const keepAt = args.indexOf('--keep');
  const keep = keepAt >= 0 ? args[keepAt + 1] : undefined;
  if (keep) mkdirSync(keep, { recursive: true });
  const started = Date.now();
  const work = mkdtempSync(join(os.tmpdir(), 'coalmine-serve-kill-'));
  const results: Trial[] = [];
  try {
    for (let t = 1; t <= trials; t++) {
      const r = await runTrial(t, rng, work, keep);
      results.push(r);
      process.stderr.write(
        `trial ${t}/${trials}: killed ${r.killedAfterMs} ms after the first ack; ${r.batchesAcked} acked, ${r.batchesUnanswered} unanswered (${r.unansweredInLog} of them committed); resent ${r.resent} (wrong answer ${r.resentWrongAnswer}, missing ${r.resentMissingFromLog}); missing ${r.ackedMissingFromLog}, duplicated ${r.duplicateLogEntries}; findings missing ${r.ackedWithoutFinding}, doubled ${r.hostsWithTwoFindings}/${r.findingsWithTwoRevisions}; restart ${r.restartMs} ms\n`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const sum = (k: keyof Trial) => results.reduce((n, r) => n + (r[k] as number), 0);
  const lost =
    sum('ackedMissingFromLog') + sum('ackedWithoutFinding') + sum('resentMissingFromLog') + sum('resentWrongAnswer');
  const duplicated = sum('duplicateLogEntries') + sum('hostsWithTwoFindings') + sum('findingsWithTwoRevisions');
  const ok = trials > 0 && lost === 0 && duplicated === 0 && sum('batchesAcked') > 0;
  const restarts = results.map((r) => r.restartMs).sort((a, b) => a - b);
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    seed,
    trials,
    eventsPerBatch: EVENTS_PER_BATCH,
    concurrentRequests: SENDERS,
    batchesAcked: sum('batchesAcked'),
    eventsAcked: sum('eventsAcked'),
    batchesUnanswered: sum('batchesUnanswered'),
    unansweredCommitted: sum('unansweredInLog'),
    resent: sum('resent'),
    resentWrongAnswer: sum('resentWrongAnswer'),
    resentMissingFromLog: sum('resentMissingFromLog'),
    ackedMissingFromLog: sum('ackedMissingFromLog'),
    duplicateLogEntries: sum('duplicateLogEntries'),
    ackedWithoutFinding: sum('ackedWithoutFinding'),
    hostsWithTwoFindings: sum('hostsWithTwoFindings'),
    findingsWithTwoRevisions: sum('findingsWithTwoRevisions'),
    restartMs: { median: restarts[Math.floor(restarts.length / 2)] ?? 0, max: restarts.at(-1) ?? 0 },
    wallSeconds: Math.round((Date.now() - started) / 1000),
    ok,
    results,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'serve-kill.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    '# serve ingest under SIGKILL',
    '',
    `${result.date}. Seed ${seed}. \`npm run bench:serve-kill\`. ${describeMachine(result.machine)}`,
    '',
    `${trials} trials: \`coalmine serve\` on a fresh SQLite store, a client streaming gzip NDJSON batches of ${EVENTS_PER_BATCH} events (${SENDERS} requests at a time) to \`POST /api/v1/events\`, serve SIGKILLed 0.2–4.2 s after the first acknowledgement, restarted on the same store, then every unanswered batch and ${ACKED_RESENT} acknowledged ones per trial sent again under their keys, then checked through the API and the store. Each batch is one host with a miner's exec, so each has one AN0742 finding of its own.`,
    '',
    '| | |',
    '|---|---|',
    `| batches acknowledged (events) | ${result.batchesAcked} (${result.eventsAcked}) |`,
    `| batches whose answer the kill cut off; of them committed anyway | ${result.batchesUnanswered}; ${result.unansweredCommitted} |`,
    `| batches sent again after the restart under their Idempotency-Key (every unanswered one, ${ACKED_RESENT} acked per trial) | ${result.resent} |`,
    `| **of them answered other than 202, or an acked one with another seq** | **${result.resentWrongAnswer}** |`,
    `| **of them not in the ingest log** | **${result.resentMissingFromLog}** |`,
    `| **acked batches missing from the ingest log** | **${result.ackedMissingFromLog}** |`,
    `| **acked batches without their finding after the restart** | **${result.ackedWithoutFinding}** |`,
    `| **batches in the ingest log twice** | **${result.duplicateLogEntries}** |`,
    `| **hosts with two findings; findings with two revisions** | **${result.hostsWithTwoFindings}; ${result.findingsWithTwoRevisions}** |`,
    `| restart to listening (replay included), median / max | ${result.restartMs.median} / ${result.restartMs.max} ms |`,
    `| wall time | ${result.wallSeconds} s |`,
    '',
    ok
      ? 'Every batch sent again answered with its entry, every acknowledged batch and its finding present after the restart, nothing stored twice: **pass**.'
      : '**FAIL** — see serve-kill.json.',
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'serve-kill.md'), md);
  process.stdout.write(md);
  process.exitCode = ok ? 0 : 1;
}

await main();
