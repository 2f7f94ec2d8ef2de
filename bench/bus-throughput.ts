/**
 * Worker throughput and a capacity model for the distributed mode (issue 17, acceptance 3):
 * `node --import tsx bench/bus-throughput.ts [--events 200000] [--workers 1,2,3] [--watch-seconds 60]`
 * (`npm run bench:bus-throughput`).
 *
 * The seeded fleet of bench/generate.ts is published, as ingest nodes publish it (contract.ts: a body's
 * events per partition in messages of MAX_EVENTS_PER_MESSAGE, 16 publishes in flight), to a real nats-server
 * with JetStream (one node: this machine's 2 cores are for the workers; bench/bus-publish.ts measures the
 * 3-node, replicas-3 publish), while 1, 2 or 3 real `coalmine worker` processes (the CLI, dist/ when it is
 * built) that have already shared out the 64 partitions consume it and file into a real PostgreSQL. For each
 * worker count on a fresh stream and database: events/s from the first publish until every partition's
 * consumer has acked every message (the live path acks at the tick after a message, so that includes up to
 * one 5 s tick), events/s until the workers had spent 99% of the CPU they spent (the work itself), each
 * worker's CPU seconds and peak RSS (from /proc), the nats-server's CPU and the publisher's CPU per event
 * (the bus's overhead), and the bytes the stream keeps per event.
 *
 * Then what one host running `coalmine watch --server` (default interval) sends: a real watch for
 * `--watch-seconds` on this machine, its telemetry received by a small loopback receiver that counts event
 * lines. From those, a capacity model for a fleet (bench/results/bus-throughput.md): events/s per worker
 * core, memory per tracked host, and workers for 10,000 hosts. Every number is this machine's, as measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { distState } from '../bin/dist-state.js';
import {
  DEFAULT_MAX_AGE_MS,
  EVENTS_STREAM,
  encodeEvents,
  ensureEventsStream,
  eventLine,
  headersOf,
  LEASE_BUCKET,
  leaseKeyOf,
  MAX_EVENTS_PER_MESSAGE,
  msgIdOf,
  PARTITIONS,
  routeOf,
  subjectOf,
} from '../src/bus/contract.js';
import { leaseValueOf } from '../src/bus/lease.js';
import { consumerNameOf } from '../src/bus/worker-partition.js';
import type { CoalEvent } from '../src/model/event.js';
import { openStore } from '../src/store/index.js';
import { BIN } from '../test/support/cli.js';
import { startNats } from '../test/support/nats.js';
import { startPostgres } from '../test/support/postgres.js';
import { DEFAULT_SEED, generateEvents } from './generate.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
/** Lines per published body, as bench/ingest.ts and bus-publish.ts cut the fleet. */
const BODY_LINES = 10_000;
const PUBLISHES_IN_FLIGHT = 16;
const SAMPLE_MS = 250;
/** The fleet the capacity model sizes. */
const FLEET_HOSTS = 10_000;
/** Workers are sized to run at most this share of their core at the fleet's mean rate (bursts, replays). */
const TARGET_UTILISATION = 0.5;
/** watch's first seconds send the host's whole inventory; the steady rate is read after them. */
const WATCH_STARTUP_S = 15;

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? String(args[i + 1]) : fallback;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process (all its threads), in seconds; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** VmHWM (peak RSS) and VmRSS of a process in MiB. */
function memory(pid: number): { peakMiB: number; rssMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { peakMiB: round(kib('VmHWM') / 1024, 1), rssMiB: round(kib('VmRSS') / 1024, 1) };
  } catch {
    return { peakMiB: 0, rssMiB: 0 };
  }
}

interface FleetBody {
  name: string;
  events: CoalEvent[];
}

/** The seeded fleet as events (coalmine's NDJSON parsed as its source would stamp it), cut into bodies. */
async function fleet(events: number): Promise<{ bodies: FleetBody[]; hosts: number; processes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-bus-throughput-'));
  try {
    const path = join(dir, 'fleet.ndjson');
    const gen = await generateEvents({ events, seed: DEFAULT_SEED, path });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const bodies: FleetBody[] = [];
    for (let i = 0; i < lines.length; i += BODY_LINES) {
      const name = `fleet-${i / BODY_LINES}.ndjson`;
      bodies.push({
        name,
        events: lines.slice(i, i + BODY_LINES).map((line, k) => {
          const e = JSON.parse(line) as CoalEvent;
          e.coalmine = { ts: Date.parse(e['@timestamp']), format: 'ndjson', ref: { file: name, line: k + 1 } };
          return e;
        }),
      });
    }
    return { bodies, hosts: gen.hosts, processes: gen.processes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The partitions whose consumer has not acked the last message of their subject (`p: acked/last`). */
async function unacked(jsm: JetStreamManager): Promise<string[]> {
  const behind: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const last = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subjectOf(p) }).catch(() => null);
    if (!last) continue;
    const info = await jsm.consumers.info(EVENTS_STREAM, consumerNameOf(p)).catch(() => null);
    // a consumer made after a replay starts past what the replay read, so its ack floor is 0 until a later
    // message: nothing left to deliver and nothing unacked is what says it is done
    const done =
      info && (info.ack_floor.stream_seq >= last.seq || (info.num_pending === 0 && info.num_ack_pending === 0));
    if (!done) behind.push(`${p}: ${info?.ack_floor.stream_seq ?? 'none'}/${last.seq}`);
  }
  return behind;
}

interface WorkerRun {
  workers: number;
  events: number;
  messages: number;
  publishSeconds: number;
  /** First publish to every message acked. */
  ackedSeconds: number;
  /** First publish to 99% of the workers' CPU spent. */
  busySeconds: number;
  eventsPerSecondAcked: number;
  eventsPerSecondBusy: number;
  workerCpuSeconds: number[];
  workerPeakRssMiB: number[];
  /** RSS of each worker with a detector on every partition (one event each), before the fleet. */
  workerIdleRssMiB: number[];
  /** Worker CPU per event (all workers), µs. */
  workerCpuMicrosPerEvent: number;
  natsCpuMicrosPerEvent: number;
  publisherCpuMicrosPerEvent: number;
  streamBytesPerEvent: number;
  findings: number;
}

async function runWorkers(count: number, bodies: FleetBody[], pgUrl: string): Promise<WorkerRun> {
  const nats = await startNats(1);
  const children: ChildProcess[] = [];
  const killChildren = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killChildren);
  const nc = await connect({ servers: nats.urls });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 30_000 });
    await ensureEventsStream(jsm, { replicas: 1 });
    const errs: string[] = [];
    for (let i = 0; i < count; i++) {
      const child = spawn(
        process.execPath,
        [BIN, 'worker', '--bus', nats.bus, '--store', pgUrl, '--name', `bench-w${i + 1}`],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      errs.push('');
      child.stderr?.on('data', (d) => {
        errs[i] = (errs[i] + d).slice(-20_000);
      });
      children.push(child);
    }
    // the partitions shared out before the first event: a count of workers is measured, not a takeover
    const kv = await new Kvm(jetstream(nc, { timeout: 30_000 })).open(LEASE_BUCKET);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const owners = await Promise.all(
        Array.from(
          { length: PARTITIONS },
          async (_, p) => leaseValueOf(await kv.get(leaseKeyOf(p)).catch(() => null))?.owner ?? '',
        ),
      );
      if (owners.every(Boolean) && new Set(owners).size === count) break;
      if (Date.now() > deadline) throw new Error(`the workers did not share the partitions:\n${errs.join('\n')}`);
      await sleep(500);
    }
    // one event on every partition first, and wait for its ack: each partition's detector (rules, intel) is
    // made at its first message, so the idle RSS below is of a worker ready on all 64, before any fleet state
    const jsWarm = jetstream(nc, { timeout: 30_000 });
    const template = bodies[0].events[0];
    const warmed = new Set<number>();
    for (let k = 0; warmed.size < PARTITIONS && k < 100_000; k++) {
      const e = { ...template, host: { ...template.host, name: `warm-${k}` } } as CoalEvent;
      const p = routeOf(e).partition;
      if (warmed.has(p)) continue;
      warmed.add(p);
      const meta = {
        seq: 1_000_000 + k,
        index: 0,
        kind: 'events' as const,
        sensor: 'bench',
        name: 'warm',
        format: 'ndjson',
        receivedAt: Date.now(),
      };
      await jsWarm.publish(subjectOf(p), encodeEvents([eventLine(e)]), {
        headers: headersOf(meta, 1),
        msgID: msgIdOf(meta.seq, 'events', p, [0]),
      });
    }
    const warmDeadline = Date.now() + 120_000;
    for (;;) {
      const behind = await unacked(jsm);
      if (behind.length === 0) break;
      if (Date.now() > warmDeadline)
        throw new Error(`the warm-up was not acked (${behind.join(', ')}):\n${errs.join('\n')}`);
      await sleep(500);
    }
    const pids = children.map((c) => c.pid as number);
    const natsPids = nats.pids();
    const idle = pids.map((pid) => memory(pid).rssMiB);
    const cpu0 = pids.map(cpuSeconds);
    const nats0 = natsPids.reduce((s, pid) => s + cpuSeconds(pid), 0);

    // publish the fleet as ingest nodes would: per body, its events by partition in bounded messages
    const js = jetstream(nc, { timeout: 30_000 });
    const publisherCpu0 = process.cpuUsage();
    const t0 = performance.now();
    let messages = 0;
    let events = 0;
    const inFlight = new Set<Promise<unknown>>();
    for (const [seq, body] of bodies.entries()) {
      const receivedAt = Date.now();
      const byPartition = new Map<number, string[]>();
      for (const e of body.events) {
        const p = routeOf(e).partition;
        const lines = byPartition.get(p) ?? [];
        lines.push(eventLine(e));
        byPartition.set(p, lines);
      }
      let index = 0;
      for (const [p, lines] of byPartition)
        for (let at = 0; at < lines.length; at += MAX_EVENTS_PER_MESSAGE) {
          const part = lines.slice(at, at + MAX_EVENTS_PER_MESSAGE);
          const meta = {
            seq: seq + 1,
            index,
            kind: 'events' as const,
            sensor: 'bench',
            name: body.name,
            format: 'ndjson',
            receivedAt,
          };
          const sent = js.publish(subjectOf(p), encodeEvents(part), {
            headers: headersOf(meta, part.length),
            msgID: msgIdOf(seq + 1, 'events', p, [index]),
          });
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
          if (inFlight.size >= PUBLISHES_IN_FLIGHT) await Promise.race(inFlight);
          index++;
          messages++;
          events += part.length;
        }
    }
    await Promise.all(inFlight);
    const publishSeconds = (performance.now() - t0) / 1000;
    const publisherCpu = process.cpuUsage(publisherCpu0);

    // until every partition's consumer has acked its last message, sampling the workers' CPU as they go
    const samples: Array<{ at: number; cpu: number }> = [];
    const done = async () => (await unacked(jsm)).length === 0;
    const ackDeadline = Date.now() + 30 * 60_000;
    // the acks are read every 8th sample: 128 requests a look would be load of their own
    for (let look = 0; ; look++) {
      samples.push({ at: performance.now(), cpu: pids.reduce((s, pid, i) => s + cpuSeconds(pid) - cpu0[i], 0) });
      if (look % 8 === 7 && (await done())) break;
      if (Date.now() > ackDeadline) throw new Error(`not every message was acked:\n${errs.join('\n')}`);
      await sleep(SAMPLE_MS);
    }
    const ackedSeconds = (performance.now() - t0) / 1000;
    const workerCpu = pids.map((pid, i) => round(cpuSeconds(pid) - cpu0[i], 2));
    const natsCpu = natsPids.reduce((s, pid) => s + cpuSeconds(pid), 0) - nats0;
    const total = workerCpu.reduce((s, c) => s + c, 0);
    const busyAt = samples.find((s) => s.cpu >= total * 0.99)?.at ?? performance.now();
    const busySeconds = (busyAt - t0) / 1000;
    const stream = await jsm.streams.info(EVENTS_STREAM);
    const peak = pids.map((pid) => memory(pid).peakMiB);
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    return {
      workers: count,
      events,
      messages,
      publishSeconds: round(publishSeconds, 2),
      ackedSeconds: round(ackedSeconds, 2),
      busySeconds: round(busySeconds, 2),
      eventsPerSecondAcked: round(events / ackedSeconds),
      eventsPerSecondBusy: round(events / busySeconds),
      workerCpuSeconds: workerCpu,
      workerPeakRssMiB: peak,
      workerIdleRssMiB: idle,
      workerCpuMicrosPerEvent: round((total / events) * 1e6, 1),
      natsCpuMicrosPerEvent: round((natsCpu / events) * 1e6, 1),
      publisherCpuMicrosPerEvent: round(((publisherCpu.user + publisherCpu.system) / events) * 1, 1),
      streamBytesPerEvent: round(stream.state.bytes / events),
      findings: 0,
    };
  } finally {
    killChildren();
    process.removeListener('exit', killChildren);
    await nc.close().catch(() => {});
    await nats.stop();
  }
}

/** What one host's `watch --server` sends at the default interval: event lines per second, measured. */
async function watchRate(seconds: number): Promise<{
  seconds: number;
  events: number;
  batches: number;
  processes: number;
  startupEvents: number;
  steadyEventsPerSecond: number;
}> {
  let events = 0;
  let batches = 0;
  const arrivals: Array<{ at: number; events: number }> = [];
  const started = performance.now();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url?.startsWith('/api/v1/events')) {
        let body = Buffer.concat(chunks);
        if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
        const n = body
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== '').length;
        events += n;
        batches++;
        arrivals.push({ at: performance.now() - started, events: n });
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ events: n }));
      } else res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const spool = mkdtempSync(join(tmpdir(), 'coalmine-bus-throughput-spool-'));
  const processes = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  try {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'watch',
        '--server',
        `http://127.0.0.1:${port}`,
        '--token',
        'cm_bench',
        '--spool',
        spool,
        '--duration',
        `${seconds}s`,
        '--policy',
        '/dev/null',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr?.on('data', (d) => {
      err = (err + d).slice(-5000);
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0 && code !== 1) throw new Error(`watch exited ${code}: ${err}`);
    // what was sampled last is flushed at the end of the duration
    await sleep(1000);
    // the first WATCH_STARTUP_S is the host's inventory (every process, every persistence entry), once
    const steady = arrivals.filter((a) => a.at >= WATCH_STARTUP_S * 1000);
    const steadyEvents = steady.reduce((sum, a) => sum + a.events, 0);
    const span = steady.length > 1 ? (steady[steady.length - 1].at - steady[0].at) / 1000 : 0;
    // each batch carries what was sampled since the one before: the first steady batch's share is before the span
    const steadyRate = span > 0 ? (steadyEvents - steady[0].events) / span : 0;
    return {
      seconds,
      events,
      batches,
      processes,
      startupEvents: events - steadyEvents,
      steadyEventsPerSecond: steadyRate,
    };
  } finally {
    server.close();
    rmSync(spool, { recursive: true, force: true });
  }
}

// stopped by a signal: exit, so the test clusters' exit handlers stop nats-server and PostgreSQL
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const args = process.argv.slice(2);
const eventsWanted = Number(flag(args, '--events', '200000'));
const counts = flag(args, '--workers', '1,2,3')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const watchSeconds = Number(flag(args, '--watch-seconds', '60'));
const build = distState();
if (!build.current) console.error(`bench: ${build.reason}; the workers run src/ through tsx (npm run build first)`);

const data = await fleet(eventsWanted);
console.error(`bench: fleet of ${eventsWanted} events, ${data.hosts} hosts, ${data.processes} processes`);
const pg = await startPostgres();
const runs: WorkerRun[] = [];
try {
  for (const count of counts) {
    const url = await pg.database();
    const run = await runWorkers(count, data.bodies, url);
    const store = await openStore(url);
    run.findings = (await store.findings.list(undefined, { limit: 500 })).items.length;
    await store.close();
    runs.push(run);
    console.error(`bench: ${JSON.stringify(run)}`);
  }
} finally {
  await pg.stop();
}
const watch = await watchRate(watchSeconds);
console.error(`bench: watch ${JSON.stringify(watch)}`);

// the model, from the one-worker run (a worker is one thread of detection: its CPU is one core's)
const one = runs.find((r) => r.workers === 1) ?? runs[0];
const perCore = one.events / one.workerCpuSeconds[0];
const perHost = watch.steadyEventsPerSecond;
const fleetRate = perHost * FLEET_HOSTS;
const workersNeeded = Math.max(1, Math.ceil(fleetRate / (perCore * TARGET_UTILISATION)));
const idle = one.workerIdleRssMiB[0];
// an upper bound: the peak holds the burst's messages and garbage as well as the state they left
const perProcessKiB = ((one.workerPeakRssMiB[0] - idle) * 1024) / data.processes;
const fleetStateMiB = (perProcessKiB * watch.processes * FLEET_HOSTS) / 1024;
// a takeover replays a partition's retained history at one worker's rate
const retainedPerPartition = (fleetRate * (DEFAULT_MAX_AGE_MS / 1000)) / PARTITIONS;
const takeoverHours = retainedPerPartition / perCore / 3600;
const model = {
  eventsPerSecondPerWorkerCore: round(perCore),
  watchEventsPerSecondPerHost: round(perHost, 3),
  fleetHosts: FLEET_HOSTS,
  fleetEventsPerSecond: round(fleetRate),
  targetUtilisation: TARGET_UTILISATION,
  workersNeeded,
  partitions: PARTITIONS,
  maxUsefulWorkers: PARTITIONS,
  workerIdleRssMiB: idle,
  memoryPerTrackedProcessKiB: round(perProcessKiB, 1),
  memoryPerWorkerForFleetMiB: round(idle + fleetStateMiB / workersNeeded),
  retainedEventsPerPartition: round(retainedPerPartition),
  takeoverReplayHours: round(takeoverHours, 1),
  busCpuMicrosPerEvent: round(one.natsCpuMicrosPerEvent + one.publisherCpuMicrosPerEvent, 1),
};
const m = machine();
mkdirSync(RESULTS, { recursive: true });
const result = {
  date: new Date().toISOString(),
  machine: m,
  build: build.current ? 'dist' : 'src through tsx',
  fleet: { events: eventsWanted, hosts: data.hosts, processes: data.processes, seed: DEFAULT_SEED },
  runs,
  watch,
  model,
};
writeFileSync(join(RESULTS, 'bus-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);

const n = (x: number) => x.toLocaleString('en-US');
const rows = runs.map(
  (r) =>
    `| ${r.workers} | ${n(r.eventsPerSecondBusy)} | ${n(r.eventsPerSecondAcked)} | ${r.workerCpuSeconds.join(' + ')} | ${r.workerCpuMicrosPerEvent} | ${r.workerPeakRssMiB.join(', ')} | ${r.natsCpuMicrosPerEvent} | ${r.findings} |`,
);
const base = runs[0];
const scaling = runs
  .map((r) => `${r.workers}: ${round(r.eventsPerSecondBusy / base.eventsPerSecondBusy, 2)}×`)
  .join(', ');
const md = `# Distributed mode: worker throughput and capacity

${result.date}. \`npm run bench:bus-throughput\`. ${n(eventsWanted)} events of the seeded fleet (bench/generate.ts: ${n(data.hosts)} hosts, ${n(data.processes)} processes), published to a one-node nats-server (JetStream, replicas 1) in ${n(base.messages)} messages as ingest nodes publish them, ${PUBLISHES_IN_FLIGHT} publishes in flight, while real \`coalmine worker\` processes (${result.build}) that had already shared the ${PARTITIONS} partitions consumed them and filed into a real PostgreSQL. A fresh stream and database per row.

| workers | events/s (until 99% of the workers' CPU was spent) | events/s (until every message acked) | worker CPU s | worker CPU µs/event | worker peak RSS MiB | nats-server CPU µs/event | findings |
|---:|---:|---:|---|---:|---|---:|---:|
${rows.join('\n')}

Scaling against one worker (first column): ${scaling}. This machine has ${m.cores} cores, shared by the workers, the nats-server, PostgreSQL and the publisher (this process: ${base.publisherCpuMicrosPerEvent} µs of CPU per event): past ${m.cores} busy processes there is no core left to scale onto, so more workers here only divide the same CPU. The acked column includes up to one 5 s tick: a worker acks a message at the tick after it has read it. The stream keeps ${base.streamBytesPerEvent} bytes per event.

## What one host sends

\`coalmine watch --server\` at its default interval for ${watch.seconds} s on this machine (${watch.processes} processes): ${n(watch.events)} events in ${watch.batches} batches. The first ${WATCH_STARTUP_S} s carry the host's inventory, once (${n(watch.startupEvents)} events: every process and every cron, systemd and shell-rc entry); after that it sends **${model.watchEventsPerSecondPerHost} events/s** (processes starting and exiting, sockets opened, CPU samples of busy processes). A host with more churn sends more: scale the model by your hosts' rate. A fleet restarting its sensors at once sends its inventory at once: ${n(watch.startupEvents * FLEET_HOSTS)} events for ${n(FLEET_HOSTS)} hosts, ${n(Math.round((watch.startupEvents * FLEET_HOSTS) / (model.eventsPerSecondPerWorkerCore * model.workersNeeded)))} s of work for the workers below.

## Capacity model

- One worker detects **${n(model.eventsPerSecondPerWorkerCore)} events per CPU-second** (the one-worker row: events ÷ its CPU seconds). A worker runs detection on one thread, so it is one core's worth.
- The bus costs ${model.busCpuMicrosPerEvent} µs of CPU per event here (nats-server ${one.natsCpuMicrosPerEvent} µs + publishing ${one.publisherCpuMicrosPerEvent} µs), at replicas 1; replicas 3 roughly triples the server's share (bench/results/bus-publish.md).
- ${n(FLEET_HOSTS)} hosts × ${model.watchEventsPerSecondPerHost} events/s = **${n(model.fleetEventsPerSecond)} events/s**. At ${TARGET_UTILISATION * 100}% of a core per worker (headroom for bursts and for a takeover's replay), that is **${model.workersNeeded} worker${model.workersNeeded === 1 ? '' : 's'}** (one core each), ${model.workersNeeded <= PARTITIONS ? `within the ${PARTITIONS} partitions (the most workers that can share the stream)` : `more than the ${PARTITIONS} partitions let share the stream: past ${PARTITIONS} workers the partition count has to grow`}.
- Memory: a worker with a detector on each of its partitions and no events uses ${model.workerIdleRssMiB} MiB. The one-worker run's peak RSS less that is ${n(Math.round(one.workerPeakRssMiB[0] - idle))} MiB for ${n(data.processes)} processes tracked (${n(data.hosts)} hosts): at most ${model.memoryPerTrackedProcessKiB} KiB per tracked process (an upper bound: the peak also holds the burst's messages and garbage). ${n(FLEET_HOSTS)} hosts of ${watch.processes} processes each, over ${model.workersNeeded} workers: about ${n(model.memoryPerWorkerForFleetMiB)} MiB per worker.
- **A takeover is the weak point.** The heir replays the partition's retained history (the stream keeps ${DEFAULT_MAX_AGE_MS / 86_400_000} days): at the fleet's rate a partition holds ${n(model.retainedEventsPerPartition)} events after a week, **${model.takeoverReplayHours} hours** of one worker's time, during which that partition's hosts wait. Checkpointing each partition's engine state (issue 17's design) is what bounds it; until then, a smaller \`max_age\` on the stream shortens it at the cost of the engine's look-back (Sigma context reaches 24 h back; baselines learn from what is retained).

${describeMachine(m)}
`;
writeFileSync(join(RESULTS, 'bus-throughput.md'), md);
console.log(md);
