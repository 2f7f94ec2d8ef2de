/**
 * Fault trials of the distributed mode (issue 17, acceptance 2):
 * `node --import tsx bench/bus-faults.ts [--trials 20] [--seed 1] [--faults worker,ingest,nats,postgres]
 * [--batches 40]` (`npm run bench:bus-faults`). One deployment for the whole run, every part the real CLI
 * or server: a 3-node JetStream cluster (test/support/nats.ts, the events stream at replicas 3), one
 * PostgreSQL (test/support/postgres.ts), two ingest nodes (`coalmine serve --bus`) and three workers
 * (`coalmine worker --lease-ttl 5`). Each trial ships `--batches` gzip NDJSON batches from two concurrent
 * senders, alternating ingest nodes, each batch its own host (one miner exec among benign processes: one
 * AN0742 finding) under its own Idempotency-Key; a sender that gets a network error, a 503 or another
 * 5xx sends the same batch under the same key to the other node, with backoff, until a 202 (giving up
 * after 60 s: never acked). At a seeded point mid-stream one fault is applied:
 * - `worker`: a worker SIGKILLed (another takes its partitions after the lease TTL, replaying them); a new
 *   one of the same name started after the trial's checks;
 * - `ingest`: an ingest node SIGKILLed 0–30 ms into a request to it (its sender sends that batch again to
 *   the other node, which answers it from the ingest log); restarted on its port after;
 * - `nats`: a NATS node SIGKILLed, started again 2–6 s later (until every node says it is healthy again is
 *   measured, and waited for before the next trial);
 * - `postgres`: PostgreSQL restarted (`pg_ctl restart -m fast`: every connection cut).
 * Then each trial checks, each a counted failure with its reason: (1) every acked batch's events are in
 * the stream exactly once (the trial's messages read by sequence: no (seq, index) twice, none under
 * another seq, the events summed per seq equal to what was acked); (2) every acked batch's host has its
 * AN0742 finding in the store, exactly one (waited for, 90 s at most); (3) each such finding's revisions
 * are numbered 1..n, no two alike (sha256 of the JSON). Before the next trial every partition is leased
 * again, three workers holding a fair share. Results: bench/results/bus-faults.json and .md; the
 * processes' stderr during each trial in bench/results/.work/bus-faults/FAULT-TRIAL.log.
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { type BusConnection, connectBus } from '../src/bus/connect.js';
import { decodeEvents, EVENTS_STREAM, HEADER, leaseKeyOf, metaOf, PARTITIONS } from '../src/bus/contract.js';
import { leaseValueOf, openLeaseBucket } from '../src/bus/lease.js';
import { openStore, type Store } from '../src/store/index.js';
import { type LiveCli, startCli } from '../test/support/cli.js';
import { startNats, type TestNats } from '../test/support/nats.js';
import { startPostgres, type TestPostgres } from '../test/support/postgres.js';
import { caseSeed, Rng } from './fuzz-rng.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const LOGS = join(RESULTS, '.work', 'bus-faults');
const FAULTS = ['worker', 'ingest', 'nats', 'postgres'] as const;
type Fault = (typeof FAULTS)[number];
const WORKERS = ['w1', 'w2', 'w3'];
const LEASE_TTL_S = 5;
const EVENTS_PER_BATCH = 50;
const SENDERS = 2;
/** Each sender's pause between batches, so a trial's stream lasts seconds and the fault lands inside it. */
const SEND_GAP_MS = 100;
/** A batch is sent again until this long after its first send, then counted as never acked. */
const GIVE_UP_MS = 60_000;
/** One request's wait for an answer (an ingest node refuses 503 within ~13 s when the bus does not ack). */
const REQUEST_TIMEOUT_MS = 30_000;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 3000;
/** How long the acked batches' findings may take (a takeover waits the lease TTL, then replays). */
const FINDINGS_WAIT_MS = 90_000;
/** Held past the last finding's arrival (a worker's tick is 5 s): a second finding or revision would show. */
const HOLD_MS = 6000;
/** How long the deployment may take to lease every partition again between trials. */
const SETTLE_MS = 120_000;
const MAX_TIMELINE_LINES = 100_000;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const n = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: a whole number`);
  return n;
}

function faultsFlag(args: string[]): Fault[] {
  const i = args.indexOf('--faults');
  if (i < 0) return [...FAULTS];
  const named = String(args[i + 1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of named)
    if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`--faults: ${f} is none of ${FAULTS.join(', ')}`);
  if (named.length === 0) throw new Error(`--faults: one or more of ${FAULTS.join(', ')}`);
  return named as Fault[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const why = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** The bench's own read of the cluster, tried again while a node is restarting (6 tries, a second apart). */
async function retrying<T>(what: string, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++)
    try {
      return await read();
    } catch (err) {
      if (attempt >= 6) throw new Error(`${what}: ${why(err)}`);
      await sleep(1000);
    }
}

/**
 * A batch: its own host, one miner exec (a finding of its own) and benign processes. The miner's path
 * and pool are the trial's (`campaign`): a trial's findings are one campaign, one case filed into by
 * every worker at once, and not one case of every finding of the run, whose headline is rebuilt from
 * all its members at each filing.
 */
function batchBody(host: string, campaign: string, nowMs: number): Buffer {
  const at = new Date(nowMs).toISOString();
  const lines = [
    JSON.stringify({
      '@timestamp': at,
      event: { action: 'exec', dataset: 'bench', category: ['process'] },
      host: { name: host },
      process: {
        pid: 4242,
        name: 'xmrig',
        executable: `/tmp/.x-${campaign}/xmrig`,
        command_line: `/tmp/.x-${campaign}/xmrig -o stratum+tcp://${campaign}.minexmr.com:4444 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A --donate-level 1`,
        parent: { pid: 1, name: 'systemd' },
      },
    }),
  ];
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
          command_line: `worker-${i}`,
        },
        metrics: { cpu_pct: 1 },
      }),
    );
  return gzipSync(`${lines.join('\n')}\n`);
}

interface Batch {
  name: string;
  host: string;
  /** Its Idempotency-Key: 32 hex digits, its own. */
  key: string;
  body: Buffer;
  /** The node its first request goes to. */
  firstNode: number;
  attempts: number;
  acked: boolean;
  seq?: number;
  /** The 202's `events` (a repeat answer, for a batch logged by an earlier request, says 0: nothing read). */
  answeredEvents?: number;
  repeat?: boolean;
  /** How long the request answered 202 took (ms). */
  ackMs?: number;
  /** Answered 4xx (not retried): why. */
  refused?: string;
  neverAcked: boolean;
  /** What the last failed attempt got, for the never acked. */
  lastError?: string;
}

interface IngestNode {
  live: LiveCli;
  url: string;
  port: number;
}

/** Everything of the run: the cluster, the store, the CLI children, the bench's own bus connection. */
interface Deployment {
  nats: TestNats;
  pg: TestPostgres;
  bus: BusConnection;
  jsm: JetStreamManager;
  kv: KV;
  sensor: string;
  ingest: IngestNode[];
  /** Requests in flight to each ingest node now. */
  inFlight: number[];
  workers: Array<LiveCli | undefined>;
  /** Every CLI child started, for the end. */
  children: Array<{ label: string; live: LiveCli }>;
  timeline: Timeline;
}

/**
 * What the processes say on stderr, a line at a time with when it came and who said it, and the bench's
 * own steps: a trial's log is one timeline of every process (bounded: the oldest lines go first).
 */
class Timeline {
  private lines: string[] = [];
  private dropped = 0;

  /** `live`'s stderr lines from now on, under `label`. */
  watch(label: string, live: LiveCli): void {
    let partial = '';
    live.child.stderr?.on('data', (d: Buffer) => {
      const text = partial + d.toString('utf8');
      const cut = text.lastIndexOf('\n');
      partial = text.slice(cut + 1);
      if (cut >= 0) for (const line of text.slice(0, cut).split('\n')) this.add(label, line);
    });
  }

  add(label: string, text: string): void {
    if (this.lines.length >= MAX_TIMELINE_LINES) {
      this.lines.shift();
      this.dropped++;
    }
    this.lines.push(`${new Date().toISOString().slice(11, 23)} ${label}: ${text.slice(0, 2000)}`);
  }

  /** Every line since the last take (and how many were dropped), emptied. */
  take(): string[] {
    const out = this.dropped > 0 ? [`(${this.dropped} earlier lines dropped)`, ...this.lines] : this.lines;
    this.lines = [];
    this.dropped = 0;
    return out;
  }
}

type Parts = Pick<Deployment, 'nats' | 'pg' | 'children' | 'timeline'>;

async function startIngest(d: Parts, i: number, port = 0): Promise<IngestNode> {
  // the second node lists the servers the other way round, as another site would
  const urls = i === 0 ? d.nats.urls : [...d.nats.urls].reverse();
  const live = startCli(['serve', '--bus', urls.join(','), '--store', d.pg.url, '--listen', `127.0.0.1:${port}`]);
  d.children.push({ label: `ingest-${i + 1}`, live });
  d.timeline.watch(`ingest-${i + 1}`, live);
  const url = await live.firstLine();
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(url);
  if (!m) throw new Error(`ingest node ${i + 1} did not start: ${live.err().slice(-2000)}`);
  return { live, url, port: Number(m[1]) };
}

function startWorker(d: Parts, i: number): LiveCli {
  const name = WORKERS[i];
  const live = startCli([
    'worker',
    '--bus',
    d.nats.bus,
    '--store',
    d.pg.url,
    '--name',
    name,
    '--lease-ttl',
    `${LEASE_TTL_S}`,
  ]);
  d.children.push({ label: name, live });
  d.timeline.watch(name, live);
  return live;
}

async function deploy(): Promise<Deployment> {
  const [nats, pg] = await Promise.all([startNats(3), startPostgres()]);
  const store = await openStore(pg.url);
  const sensor = (await store.tokens.create({ name: 'bench-sensor', role: 'sensor', actor: 'bench' })).secret;
  await store.close();
  const base = { nats, pg, children: [] as Deployment['children'], timeline: new Timeline() };
  // the ingest nodes make the stream; the workers wait for it
  const ingest = [await startIngest(base, 0), await startIngest(base, 1)];
  const workers = WORKERS.map((_, i) => startWorker(base, i));
  const bus = await connectBus(nats.urls, { name: 'coalmine-bench-bus-faults' });
  const js = jetstream(bus.nc, { timeout: 30_000 });
  const jsm = await jetstreamManager(bus.nc, { timeout: 30_000 });
  // read as the workers read it (from the stream's leader): the ingest nodes made the stream, the workers the bucket
  let kv: KV | undefined;
  for (const deadline = Date.now() + SETTLE_MS; !kv; ) {
    try {
      kv = await openLeaseBucket(js, 3);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the lease bucket could not be opened: ${why(err)}`);
      await sleep(500);
    }
  }
  return { ...base, bus, jsm, kv, sensor, ingest, inFlight: ingest.map(() => 0), workers };
}

/** Until every partition is leased and the three workers hold a fair share each; the reason when not within SETTLE_MS. */
async function settle(d: Deployment): Promise<string | undefined> {
  const share = Math.ceil(PARTITIONS / WORKERS.length);
  const deadline = Date.now() + SETTLE_MS;
  let owners: string[] = [];
  for (;;) {
    try {
      owners = await Promise.all(
        Array.from({ length: PARTITIONS }, async (_, p) => leaseValueOf(await d.kv.get(leaseKeyOf(p)))?.owner ?? ''),
      );
      const per = new Map<string, number>();
      for (const o of owners) per.set(o, (per.get(o) ?? 0) + 1);
      if (owners.every(Boolean) && per.size === WORKERS.length && Math.max(...per.values()) <= share) return undefined;
    } catch {
      // the cluster is busy (a node restarting): look again
    }
    if (Date.now() > deadline)
      return `the partitions were not leased fairly to three workers within ${SETTLE_MS} ms: ${owners.join(' ')}`;
    await sleep(500);
  }
}

/** One batch to an ingest node under its key: the status and the answer, or a throw (no answer). */
async function post(
  url: string,
  token: string,
  b: Batch,
): Promise<{ status: number; answer: { seq?: number; events?: number; repeat?: boolean } }> {
  const u = new URL('/api/v1/events', url);
  u.searchParams.set('name', b.name);
  u.searchParams.set('format', 'ndjson');
  const r = await fetch(u, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-encoding': 'gzip',
      'content-type': 'application/x-ndjson',
      'idempotency-key': b.key,
    },
    body: b.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const answer = (await r.json().catch(() => ({}))) as { seq?: number; events?: number; repeat?: boolean };
  return { status: r.status, answer };
}

/** Sends `b` until a 202: a network error, 503 or other 5xx goes to the other node after a backoff; a 4xx is final. */
async function ship(d: Deployment, b: Batch): Promise<void> {
  const started = Date.now();
  let node = b.firstNode;
  let backoff = BACKOFF_FIRST_MS;
  for (;;) {
    b.attempts++;
    const to = node;
    const sent = Date.now();
    d.inFlight[to]++;
    try {
      const r = await post(d.ingest[to].url, d.sensor, b).finally(() => d.inFlight[to]--);
      if (r.status === 202) {
        b.acked = true;
        b.ackMs = Date.now() - sent;
        b.seq = r.answer.seq;
        b.answeredEvents = r.answer.events;
        b.repeat = r.answer.repeat === true;
        return;
      }
      b.lastError = `${r.status} ${JSON.stringify(r.answer).slice(0, 300)}`;
      if (r.status < 500) {
        b.refused = b.lastError;
        return;
      }
    } catch (err) {
      b.lastError = why(err);
    }
    if (Date.now() - started > GIVE_UP_MS) {
      b.neverAcked = true;
      return;
    }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    node = 1 - node;
  }
}

/** What applying a fault left to do: wait for its healing mid-trial, and undo it after the checks. */
interface Applied {
  at: number;
  victim: string;
  /** Resolves when the fault has healed by itself or been healed mid-trial (awaited before the checks). */
  during: Promise<void>;
  /** After the checks: what was killed is started again. */
  after: () => Promise<void>;
  /** A restarted NATS node: ms until every node said it is healthy (undefined: never). */
  healthyMs?: Promise<number | undefined>;
}

/** How many more times (test/support/nats.ts waits 30 s each) a restarted NATS node's health is waited for. */
const HEALTH_WAITS = 8;

/**
 * NATS node `i` started again. `started`: it runs (and every node said it is healthy within
 * test/support/nats.ts's wait, or that was said). `healthyMs`: ms from the restart until every node says
 * it is healthy (its replicas of the streams and consumers caught up: 64 workers' durable consumers, and
 * the lease rounds' listings, each a consumer of the bucket), which on this loaded machine took minutes
 * at times; waited for after the trial's checks, said and counted, not a failed check (the checks are of
 * what the deployment did meanwhile); undefined when it never came.
 */
function restartNats(
  d: Deployment,
  i: number,
  note: (text: string) => void,
): { started: Promise<void>; healthyMs: Promise<number | undefined> } {
  const from = Date.now();
  const first = d.nats.restart(i).then(
    () => true,
    (err) => {
      note(`nats-${i + 1} restarted, not healthy within 30 s: ${why(err).slice(0, 300)}`);
      return false;
    },
  );
  const healthyMs = first.then(async (healthy) => {
    // every node runs now: restartAll starts none and waits for the cluster's health again
    for (let k = 0; !healthy && k < HEALTH_WAITS; k++)
      healthy = await d.nats.restartAll().then(
        () => true,
        () => false,
      );
    if (healthy) return Date.now() - from;
    note(`nats-${i + 1} not healthy ${Math.round((Date.now() - from) / 1000)} s after its restart`);
    return undefined;
  });
  return { started: first.then(() => {}), healthyMs };
}

async function applyFault(d: Deployment, fault: Fault, rng: Rng, note: (text: string) => void): Promise<Applied> {
  const at = Date.now();
  switch (fault) {
    case 'worker': {
      const i = rng.int(WORKERS.length);
      const live = d.workers[i] as LiveCli;
      d.workers[i] = undefined;
      live.child.kill('SIGKILL');
      await live.exited;
      return {
        at,
        victim: WORKERS[i],
        during: Promise.resolve(),
        after: async () => {
          d.workers[i] = startWorker(d, i);
        },
      };
    }
    case 'ingest': {
      const i = rng.int(d.ingest.length);
      const lagMs = rng.int(30);
      // while a request to it is in flight (a 202 takes ~20-40 ms here: being logged, published or answered):
      // its sender sends it again under its key to the other node, which answers from the log and publishes
      // again what is missing
      for (const until = Date.now() + 5000; d.inFlight[i] === 0 && Date.now() < until; ) await sleep(1);
      await sleep(lagMs);
      const killedAt = Date.now();
      const { live, port } = d.ingest[i];
      live.child.kill('SIGKILL');
      await live.exited;
      return {
        at: killedAt,
        victim: `ingest-${i + 1} (${lagMs} ms into a request)`,
        during: Promise.resolve(),
        after: async () => {
          d.ingest[i] = await startIngest(d, i, port);
        },
      };
    }
    case 'nats': {
      const i = rng.int(d.nats.urls.length);
      const downMs = 2000 + rng.int(4000);
      await d.nats.kill(i);
      const restarted = sleep(downMs).then(() => restartNats(d, i, note));
      const healthyMs = restarted.then((r) => r.healthyMs);
      return {
        at,
        victim: `nats-${i + 1} (down ${downMs} ms)`,
        during: restarted.then((r) => r.started),
        after: async () => {
          await healthyMs;
        },
        healthyMs,
      };
    }
    case 'postgres':
      return { at, victim: 'postgres', during: d.pg.restart(), after: async () => {} };
  }
}

interface StreamCheck {
  messages: number;
  ackedEventsLost: number;
  eventsCountedTwice: number;
  reasons: string[];
}

/** Check 1: the trial's messages, from `firstSeq` to the stream's last, against the acked batches. */
async function checkStream(d: Deployment, firstSeq: number, batches: Batch[]): Promise<StreamCheck> {
  const out: StreamCheck = { messages: 0, ackedEventsLost: 0, eventsCountedTwice: 0, reasons: [] };
  const last = (await retrying('the stream', () => d.jsm.streams.info(EVENTS_STREAM))).state.last_seq;
  const byName = new Map<string, Array<{ seq: number; index: number; events: number }>>();
  for (let s = firstSeq; s <= last; s++) {
    const m = await retrying(`stream message ${s}`, () => d.jsm.streams.getMessage(EVENTS_STREAM, { seq: s }));
    if (!m) continue;
    out.messages++;
    const meta = metaOf(m.header);
    if ('error' in meta) {
      out.reasons.push(`stream message ${s}: ${meta.error}`);
      continue;
    }
    const { events, bad } = decodeEvents(m.data);
    if (bad.length > 0) out.reasons.push(`stream message ${s}: ${bad.length} lines that are no events`);
    if (m.header.get(HEADER.events) !== String(events.length))
      out.reasons.push(
        `stream message ${s}: its header says ${m.header.get(HEADER.events)} events, it holds ${events.length}`,
      );
    const list = byName.get(meta.name) ?? [];
    list.push({ seq: meta.seq, index: meta.index, events: events.length });
    byName.set(meta.name, list);
  }
  for (const b of batches) {
    if (!b.acked) continue;
    // a repeat answer read nothing (events 0): the batch holds one event a line, which a first answer confirms
    const expected = b.repeat ? EVENTS_PER_BATCH : (b.answeredEvents ?? 0);
    const seen = new Set<number>();
    let once = 0;
    let twice = 0;
    for (const m of byName.get(b.name) ?? []) {
      if (m.seq !== b.seq) {
        twice += m.events;
        out.reasons.push(`${b.name}: ${m.events} events under seq ${m.seq} besides its acked seq ${b.seq}`);
      } else if (seen.has(m.index)) {
        twice += m.events;
        out.reasons.push(`${b.name}: message (${m.seq}, ${m.index}) in the stream twice`);
      } else {
        seen.add(m.index);
        once += m.events;
      }
    }
    if (once < expected)
      out.reasons.push(`${b.name} (seq ${b.seq}): ${once} of its ${expected} acked events in the stream`);
    if (once > expected) {
      twice += once - expected;
      out.reasons.push(`${b.name} (seq ${b.seq}): ${once} events in the stream, ${expected} acked`);
    }
    out.ackedEventsLost += Math.max(0, expected - once);
    out.eventsCountedTwice += twice;
  }
  return out;
}

interface FindingsCheck {
  findingsMissing: number;
  extraFindings: number;
  duplicateRevisions: number;
  misnumbered: number;
  /** When the last of the acked hosts' findings was first stored (epoch ms), or undefined. */
  lastStoredAt?: number;
  waitedMs: number;
  reasons: string[];
}

/** Checks 2 and 3: each acked host's one AN0742 finding (waited for), its revisions 1..n, none alike. */
async function checkFindings(d: Deployment, hosts: string[]): Promise<FindingsCheck> {
  const out: FindingsCheck = {
    findingsMissing: 0,
    extraFindings: 0,
    duplicateRevisions: 0,
    misnumbered: 0,
    waitedMs: 0,
    reasons: [],
  };
  const started = Date.now();
  let store: Store | undefined;
  try {
    store = await openStore(d.pg.url);
    const counts = async () => (store as Store).findings.hostCounts(hosts);
    for (;;) {
      const found = await counts().catch(() => undefined);
      if (found && hosts.every((h) => (found.get(h)?.findings ?? 0) > 0)) break;
      if (Date.now() - started > FINDINGS_WAIT_MS) break;
      await sleep(500);
    }
    out.waitedMs = Date.now() - started;
    await sleep(HOLD_MS);
    const found = await retrying('counting findings', counts);
    for (const host of hosts) {
      const n = found.get(host)?.findings ?? 0;
      if (n === 0) {
        out.findingsMissing++;
        out.reasons.push(`${host}: no finding within ${FINDINGS_WAIT_MS} ms`);
        continue;
      }
      const { items } = await store.findings.list({ host }, { limit: 20 });
      const an0742 = items.filter((s) => s.finding.analytic === 'AN0742');
      if (an0742.length === 0) {
        out.findingsMissing++;
        out.reasons.push(`${host}: no AN0742 finding (${items.map((s) => s.finding.analytic).join(', ')})`);
      }
      if (items.length > 1) {
        out.extraFindings += items.length - 1;
        out.reasons.push(`${host}: ${items.length} findings (${items.map((s) => s.finding.id).join(', ')})`);
      }
      for (const s of items) {
        const revisions = await store.findings.revisions(s.finding.id);
        if (revisions.some((r, k) => r.revision !== k + 1)) {
          out.misnumbered++;
          out.reasons.push(`${s.finding.id}: revisions ${revisions.map((r) => r.revision).join(',')}, not 1..n`);
        }
        const digests = new Set(
          revisions.map((r) => createHash('sha256').update(JSON.stringify(r.finding)).digest('hex')),
        );
        if (digests.size < revisions.length) {
          out.duplicateRevisions += revisions.length - digests.size;
          out.reasons.push(
            `${s.finding.id}: ${revisions.length - digests.size} of ${revisions.length} revisions stored twice`,
          );
        }
        const first = revisions[0]?.received_at;
        if (first !== undefined) out.lastStoredAt = Math.max(out.lastStoredAt ?? 0, first);
      }
    }
  } catch (err) {
    out.reasons.push(`reading the store: ${why(err)}`);
  } finally {
    await store?.close().catch(() => {});
  }
  return out;
}

/** What a trial counts, and a fault kind sums over its trials. */
interface Counts {
  batchesAcked: number;
  batchesNeverAcked: number;
  batchesRefused: number;
  /** Acked by a repeat answer (an earlier request of the batch had been logged). */
  repeatAnswers: number;
  eventsAcked: number;
  /** Requests the senders made again (another node, after a backoff). */
  retries: number;
  ackedEventsLost: number;
  eventsCountedTwice: number;
  findingsMissing: number;
  extraFindings: number;
  duplicateRevisions: number;
  misnumberedRevisions: number;
}

const COUNTED: ReadonlyArray<keyof Counts> = [
  'batchesAcked',
  'batchesNeverAcked',
  'batchesRefused',
  'repeatAnswers',
  'eventsAcked',
  'retries',
  'ackedEventsLost',
  'eventsCountedTwice',
  'findingsMissing',
  'extraFindings',
  'duplicateRevisions',
  'misnumberedRevisions',
];

interface TrialResult extends Counts {
  fault: Fault;
  trial: number;
  victim: string;
  /** Acked batches when the fault was applied. */
  faultAfterAcks: number;
  batchesSent: number;
  /** Median time of a request answered 202. */
  ackMs: number;
  streamMessages: number;
  /** From the fault to the last acked host's finding first stored. */
  faultToLastFindingMs?: number;
  /** From the senders' end to every acked host having a finding (or the bound). */
  findingsWaitMs: number;
  /** Re-leasing every partition before the next trial. */
  settleMs: number;
  /** `nats`: from the node's restart until every node said it is healthy (absent: never, within the waits). */
  natsHealthyMs?: number;
  /** Why the trial failed: each check that did not hold, with its batch, message or finding. */
  failures: string[];
  /** What is said but no failure (batches never acked). */
  notes: string[];
  ok: boolean;
}

async function runTrial(d: Deployment, fault: Fault, t: number, batchCount: number, rng: Rng): Promise<TrialResult> {
  const failures: string[] = [];
  const say = (text: string) => d.timeline.add('bench', text);
  d.timeline.take();
  say(`${fault} trial ${t}`);
  const firstSeq = (await retrying('the stream', () => d.jsm.streams.info(EVENTS_STREAM))).state.last_seq + 1;
  const batches: Batch[] = Array.from({ length: batchCount }, (_, n) => {
    const host = `faults-${fault}-${t}-${n + 1}`;
    return {
      name: `batch-${fault}-${t}-${n + 1}`,
      host,
      key: randomBytes(16).toString('hex'),
      body: Buffer.alloc(0),
      firstNode: n % 2,
      attempts: 0,
      acked: false,
      neverAcked: false,
    };
  });
  const faultAfter = 4 + rng.int(Math.max(1, batchCount - 12));
  let next = 0;
  const sender = async () => {
    while (next < batches.length) {
      const b = batches[next++];
      b.body = batchBody(b.host, `${fault}-${t}`, Date.now());
      await ship(d, b);
      await sleep(SEND_GAP_MS);
    }
  };
  const senders = Promise.all(Array.from({ length: SENDERS }, sender));
  let sendersDone = false;
  void senders.then(() => {
    sendersDone = true;
  });
  const notes: string[] = [];
  const acked = () => batches.filter((b) => b.acked).length;
  while (acked() < faultAfter && !sendersDone) await sleep(20);
  const ackedAtFault = acked();
  let applied: Applied | undefined;
  try {
    applied = await applyFault(d, fault, rng, (text) => {
      notes.push(text);
      say(text);
    });
    say(`fault applied after ${ackedAtFault} acks: ${applied.victim}`);
  } catch (err) {
    failures.push(`applying the fault: ${why(err)}`);
  }
  await senders;
  say('senders done');
  if (applied)
    await applied.during.then(
      () => say('fault healed'),
      (err) => failures.push(`healing the fault mid-trial: ${why(err)}`),
    );

  const ackedBatches = batches.filter((b) => b.acked);
  // a batch never acked is counted and said, not a failed check: nothing was promised for it
  for (const b of batches)
    if (b.neverAcked)
      notes.push(`${b.name}: never acked within ${GIVE_UP_MS} ms (${b.attempts} attempts; last ${b.lastError})`);
  for (const b of batches) {
    if (b.refused) failures.push(`${b.name}: refused ${b.refused}`);
    if (b.acked && !b.repeat && b.answeredEvents !== EVENTS_PER_BATCH)
      failures.push(`${b.name}: answered ${b.answeredEvents} events, it holds ${EVENTS_PER_BATCH}`);
  }
  let stream: StreamCheck = { messages: 0, ackedEventsLost: 0, eventsCountedTwice: 0, reasons: [] };
  try {
    stream = await checkStream(d, firstSeq, batches);
  } catch (err) {
    stream.reasons.push(`reading the stream: ${why(err)}`);
  }
  failures.push(...stream.reasons);
  say(`stream read: ${stream.messages} messages, ${stream.reasons.length} problems`);
  const findings = await checkFindings(
    d,
    ackedBatches.map((b) => b.host),
  );
  failures.push(...findings.reasons);
  say(`findings read: ${findings.findingsMissing} missing`);

  if (applied)
    await applied.after().then(
      () => say('fault undone'),
      (err) => failures.push(`undoing the fault: ${why(err)}`),
    );
  const settleStarted = Date.now();
  const unsettled = await settle(d);
  if (unsettled) failures.push(unsettled);
  say('partitions leased fairly again');
  const result: TrialResult = {
    fault,
    trial: t,
    victim: applied?.victim ?? '(not applied)',
    faultAfterAcks: ackedAtFault,
    batchesSent: batches.length,
    ackMs: median(ackedBatches.map((b) => b.ackMs ?? 0)) ?? 0,
    batchesAcked: ackedBatches.length,
    batchesNeverAcked: batches.filter((b) => b.neverAcked).length,
    batchesRefused: batches.filter((b) => b.refused).length,
    repeatAnswers: ackedBatches.filter((b) => b.repeat).length,
    eventsAcked: ackedBatches.length * EVENTS_PER_BATCH,
    retries: batches.reduce((n, b) => n + b.attempts - 1, 0),
    streamMessages: stream.messages,
    ackedEventsLost: stream.ackedEventsLost,
    eventsCountedTwice: stream.eventsCountedTwice,
    findingsMissing: findings.findingsMissing,
    extraFindings: findings.extraFindings,
    duplicateRevisions: findings.duplicateRevisions,
    misnumberedRevisions: findings.misnumbered,
    faultToLastFindingMs:
      applied && findings.lastStoredAt !== undefined ? findings.lastStoredAt - applied.at : undefined,
    findingsWaitMs: findings.waitedMs,
    natsHealthyMs: await applied?.healthyMs,
    settleMs: Date.now() - settleStarted,
    failures: failures.slice(0, 40),
    notes: notes.slice(0, 10),
    ok: failures.length === 0,
  };
  if (failures.length > 40) result.failures.push(`… and ${failures.length - 40} more`);
  mkdirSync(LOGS, { recursive: true });
  writeFileSync(
    join(LOGS, `${fault}-${t}.log`),
    `${JSON.stringify(result, null, 2)}\n\n${d.timeline.take().join('\n')}\n`,
  );
  return result;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.floor(s.length / 2)];
};

interface KindSummary extends Counts {
  trials: number;
  failedTrials: number;
  faultToLastFindingMs: { median?: number; max?: number };
  /** `nats`: the restarted node until every node said it is healthy; `never`: trials where that never came. */
  natsHealthyMs?: { median?: number; max?: number; never: number };
}

function summarise(results: TrialResult[]): KindSummary {
  const times = results.map((r) => r.faultToLastFindingMs).filter((x): x is number => x !== undefined);
  const healthy = results.map((r) => r.natsHealthyMs).filter((x): x is number => x !== undefined);
  const sums = Object.fromEntries(COUNTED.map((k) => [k, results.reduce((n, r) => n + r[k], 0)])) as unknown as Counts;
  return {
    trials: results.length,
    failedTrials: results.filter((r) => !r.ok).length,
    ...sums,
    faultToLastFindingMs: { median: median(times), max: times.length ? Math.max(...times) : undefined },
    ...(results.some((r) => r.fault === 'nats')
      ? {
          natsHealthyMs: {
            median: median(healthy),
            max: healthy.length ? Math.max(...healthy) : undefined,
            never: results.length - healthy.length,
          },
        }
      : {}),
  };
}

async function stopAll(d: Deployment): Promise<void> {
  for (const c of d.children)
    if (c.live.child.exitCode === null && c.live.child.signalCode === null) c.live.child.kill('SIGTERM');
  await Promise.race([Promise.all(d.children.map((c) => c.live.exited)), sleep(20_000)]);
  for (const c of d.children)
    if (c.live.child.exitCode === null && c.live.child.signalCode === null) c.live.child.kill('SIGKILL');
  await d.bus.close();
  await Promise.all([d.nats.stop(), d.pg.stop()]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const trials = flag(args, '--trials', 20);
  const seed = flag(args, '--seed', 1);
  // hostCounts counts at most 500 hosts at once
  const batchCount = Math.min(500, Math.max(16, flag(args, '--batches', 40)));
  const faults = faultsFlag(args);
  const started = Date.now();
  rmSync(LOGS, { recursive: true, force: true });
  const d = await deploy();
  // a bench that dies without its finally must not leave CLI children behind
  const killChildren = () => {
    for (const c of d.children) c.live.child.kill('SIGKILL');
  };
  process.once('exit', killChildren);
  // stopped by a signal: exiting runs the exit hooks, which stop the children, nats-server and PostgreSQL
  const onSignal = () => process.exit(130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: TrialResult[] = [];
  let aborted: string | undefined;
  try {
    const unsettled = await settle(d);
    if (unsettled) throw new Error(unsettled);
    for (const [k, fault] of faults.entries())
      for (let t = 1; t <= trials && !aborted; t++) {
        const rng = new Rng(caseSeed(seed, FAULTS.indexOf(fault) * 10_000 + t));
        let r: TrialResult;
        try {
          r = await runTrial(d, fault, t, batchCount, rng);
        } catch (err) {
          // the bench's own failure (the stream or the leases unreadable): said, and the run ends here
          aborted = `${fault} trial ${t}: ${why(err)}`;
          break;
        }
        results.push(r);
        process.stderr.write(
          `${fault} ${t}/${trials} (${k + 1}/${faults.length}): ${r.victim} after ${r.faultAfterAcks} acks; ${r.batchesAcked} acked (202 in ${r.ackMs} ms), ${r.batchesNeverAcked} never, ${r.retries} retries (${r.repeatAnswers} repeats); lost ${r.ackedEventsLost}, twice ${r.eventsCountedTwice}; findings missing ${r.findingsMissing}, extra ${r.extraFindings}, revisions doubled ${r.duplicateRevisions}; fault→last finding ${r.faultToLastFindingMs ?? '-'} ms; settle ${r.settleMs} ms${r.fault === 'nats' ? `; NATS healthy after ${r.natsHealthyMs ?? 'never'} ms` : ''}${r.ok ? '' : `; FAIL: ${r.failures.slice(0, 3).join(' | ')}`}\n`,
        );
      }
  } finally {
    await stopAll(d).catch((err) => process.stderr.write(`stopping the deployment: ${why(err)}\n`));
    process.removeListener('exit', killChildren);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const kinds = Object.fromEntries(faults.map((f) => [f, summarise(results.filter((r) => r.fault === f))])) as Record<
    Fault,
    KindSummary
  >;
  const ok =
    !aborted &&
    results.length === trials * faults.length &&
    results.every((r) => r.ok) &&
    results.some((r) => r.batchesAcked > 0);
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    seed,
    trialsPerFault: trials,
    faults,
    batchesPerTrial: batchCount,
    eventsPerBatch: EVENTS_PER_BATCH,
    senders: SENDERS,
    leaseTtlSeconds: LEASE_TTL_S,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    aborted,
    ok,
    kinds,
    results,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'bus-faults.json'), `${JSON.stringify(result, null, 2)}\n`);
  const row = (label: string, f: (s: KindSummary) => string | number | undefined) =>
    `| ${label} | ${faults.map((k) => f(kinds[k]) ?? '-').join(' | ')} |`;
  const bold = (label: string, f: (s: KindSummary) => number) => row(`**${label}**`, (s) => `**${f(s)}**`);
  const md = [
    '# distributed mode under faults',
    '',
    `${result.date}. Seed ${seed}. \`npm run bench:bus-faults\`. ${describeMachine(result.machine)}`,
    '',
    `One deployment, all real processes on this machine: a 3-node JetStream cluster (the events stream at replicas 3), one PostgreSQL, two ingest nodes (\`coalmine serve --bus\`) and three workers (\`coalmine worker --lease-ttl ${LEASE_TTL_S}\`). ${trials} trials per fault; each ships ${batchCount} gzip NDJSON batches of ${EVENTS_PER_BATCH} events (each its own host with a miner's exec: one AN0742 finding) from ${SENDERS} concurrent senders under their own Idempotency-Keys, alternating ingest nodes; a network error, 503 or other 5xx is retried at the other node with backoff (${BACKOFF_FIRST_MS} ms doubling to ${BACKOFF_MAX_MS} ms), given up after ${GIVE_UP_MS / 1000} s. The fault lands after a seeded number of acks: **worker** a worker SIGKILLed (restarted under its name after the checks), **ingest** an ingest node SIGKILLed 0–30 ms into a request to it (restarted on its port after), **nats** a NATS node SIGKILLed and restarted 2–6 s later (the time until every node says it is healthy again measured, and waited for before the next trial), **postgres** PostgreSQL restarted (\`pg_ctl restart -m fast\`). Checks: the trial's stream messages read back by sequence (every acked event once, under its acked seq); each acked host's finding in the store within ${FINDINGS_WAIT_MS / 1000} s, exactly one; its revisions numbered 1..n, none alike (sha256).`,
    '',
    `| | ${faults.join(' | ')} |`,
    `|---|${faults.map(() => '---:').join('|')}|`,
    row('trials (failed)', (s) => `${s.trials} (${s.failedTrials})`),
    row('batches acked', (s) => s.batchesAcked),
    row('events acked', (s) => s.eventsAcked),
    row('batches never acked; refused', (s) => `${s.batchesNeverAcked}; ${s.batchesRefused}`),
    row('retries the senders made (acked by a repeat answer)', (s) => `${s.retries} (${s.repeatAnswers})`),
    bold('acked events lost', (s) => s.ackedEventsLost),
    bold('events counted twice', (s) => s.eventsCountedTwice),
    bold('findings missing', (s) => s.findingsMissing),
    bold('hosts with more than one finding (extra findings)', (s) => s.extraFindings),
    bold('duplicate revisions; findings not numbered 1..n', (s) => s.duplicateRevisions + s.misnumberedRevisions),
    row('restarted NATS node until every node is healthy, median / max (ms); never', (s) =>
      s.natsHealthyMs
        ? `${s.natsHealthyMs.median ?? '-'} / ${s.natsHealthyMs.max ?? '-'}; ${s.natsHealthyMs.never}`
        : '-',
    ),
    row('fault → last finding stored, median / max (ms)', (s) =>
      s.faultToLastFindingMs.median === undefined
        ? '-'
        : `${s.faultToLastFindingMs.median} / ${s.faultToLastFindingMs.max}`,
    ),
    '',
    `Wall time ${result.wallSeconds} s.${aborted ? ` **Aborted**: ${aborted}.` : ''}`,
    '',
    ok
      ? 'Every acked event in the stream once, every acked batch’s finding stored once, no revision stored twice, under every fault: **pass**.'
      : '**FAIL**: see bus-faults.json (each failed trial’s reasons) and bench/results/.work/bus-faults/ (the processes’ stderr during each trial).',
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'bus-faults.md'), md);
  process.stdout.write(md);
  process.exitCode = ok ? 0 : 1;
}

await main();
