/**
 * Publish throughput of one `serve --bus` ingest node (issue 17): `node --import tsx bench/bus-publish.ts
 * [--events 200000] [--batch 10000] [--per-message 256,1]` (`npm run bench:bus-publish`). The seeded fleet
 * of bench/generate.ts is written once as NDJSON and cut into gzip bodies of `--batch` lines; a real
 * 3-node nats-server cluster (test/support/nats.ts) with the events stream at replicas 3, and a real
 * PostgreSQL (the ingest log), are started on loopback; one ingest node (startServe with `bus`, in this
 * process) is sent the bodies two at a time, as bench/ingest.ts sends them to serve. For each message
 * encoding (`--per-message`: events per bus message, 256 is the contract's default, 1 is one event a
 * message) on a fresh stream: events/s from the first request to the last 202 (each 202 comes after
 * JetStream acked every message of the body at R3), messages/s, the stream's bytes per event (the bus's
 * overhead: headers, JSON of the normalised event, JetStream's record), and the process's CPU seconds.
 * Everything shares this machine's cores (3 nats-servers, PostgreSQL, the node, the client): the
 * numbers are this machine's, reported, never asserted. Results: bench/results/bus-publish.json and .md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EVENTS_STREAM } from '../src/bus/contract.js';
import { defaultPolicy } from '../src/model/policy.js';
import { startServe } from '../src/server/start.js';
import { DEFAULT_RULE_DIRS } from '../src/signals/rules.js';
import { startNats } from '../test/support/nats.js';
import { startPostgres } from '../test/support/postgres.js';
import { DEFAULT_SEED, generateEvents } from './generate.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const WORK = join(RESULTS, '.work');
const IN_FLIGHT = 2;

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? String(args[i + 1]) : fallback;
}

interface Run {
  perMessage: number;
  events: number;
  requests: number;
  seconds: number;
  eventsPerSecond: number;
  messages: number;
  messagesPerSecond: number;
  streamBytes: number;
  bytesPerEvent: number;
  ndjsonBytesPerEvent: number;
  cpuSeconds: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const events = Number(flag(args, '--events', '200000'));
  const batch = Number(flag(args, '--batch', '10000'));
  const perMessage = flag(args, '--per-message', '256,1').split(',').map(Number);
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, `bus-publish-${events}.ndjson`);
  await generateEvents({ events, seed: DEFAULT_SEED, path: file });
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const bodies: Buffer[] = [];
  for (let i = 0; i < lines.length; i += batch)
    bodies.push(gzipSync(`${lines.slice(i, i + batch).join('\n')}\n`, { level: 1 }));
  const ndjsonBytesPerEvent = Buffer.byteLength(text) / lines.length;

  const [nats, pg] = await Promise.all([startNats(3), startPostgres()]);
  const runs: Run[] = [];
  try {
    const nc = await connect({ servers: nats.urls });
    const jsm = await jetstreamManager(nc);
    for (const per of perMessage) {
      await jsm.streams.delete(EVENTS_STREAM).catch(() => false);
      const store = await pg.database();
      const node = await startServe({
        store,
        policy: defaultPolicy(),
        host: '127.0.0.1',
        port: 0,
        log: () => {},
        ruleDirs: DEFAULT_RULE_DIRS,
        bus: { urls: nats.urls, replicas: 3, publish: { maxEventsPerMessage: per } },
      });
      try {
        const token = (await node.store.tokens.create({ name: 'bench', role: 'sensor', actor: 'bench' })).secret;
        let read = 0;
        let next = 0;
        const cpu = process.cpuUsage();
        const started = performance.now();
        const sender = async () => {
          while (next < bodies.length) {
            const i = next++;
            const u = new URL('/api/v1/events', node.url);
            u.searchParams.set('format', 'ndjson');
            u.searchParams.set('name', `bench-${i}`);
            const r = await fetch(u, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-encoding': 'gzip' },
              body: bodies[i],
            });
            const answer = (await r.json()) as { events: number };
            if (r.status !== 202) throw new Error(`body ${i}: HTTP ${r.status} ${JSON.stringify(answer)}`);
            read += answer.events;
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, () => sender()));
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const info = await jsm.streams.info(EVENTS_STREAM);
        runs.push({
          perMessage: per,
          events: read,
          requests: bodies.length,
          seconds,
          eventsPerSecond: read / seconds,
          messages: info.state.messages,
          messagesPerSecond: info.state.messages / seconds,
          streamBytes: info.state.bytes,
          bytesPerEvent: info.state.bytes / read,
          ndjsonBytesPerEvent,
          cpuSeconds: (used.user + used.system) / 1e6,
        });
        process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
      } finally {
        await node.close();
      }
    }
    await nc.close();
  } finally {
    await nats.stop();
    await pg.stop();
  }
  const m = machine();
  writeFileSync(join(RESULTS, 'bus-publish.json'), `${JSON.stringify({ machine: m, events, batch, runs }, null, 2)}\n`);
  const rows = runs.map(
    (r) =>
      `| ${r.perMessage} | ${r.events} | ${r.seconds.toFixed(1)} | ${Math.round(r.eventsPerSecond).toLocaleString('en')} | ${r.messages} | ${Math.round(r.messagesPerSecond).toLocaleString('en')} | ${Math.round(r.bytesPerEvent)} (NDJSON in: ${Math.round(r.ndjsonBytesPerEvent)}) | ${r.cpuSeconds.toFixed(1)} |`,
  );
  writeFileSync(
    join(RESULTS, 'bus-publish.md'),
    [
      '# serve --bus: publish throughput of one ingest node into a 3-node R3 stream',
      '',
      describeMachine(m),
      '',
      `${events} generated events (bench/generate.ts, seed ${DEFAULT_SEED}) as gzip NDJSON bodies of ${batch} lines, ${IN_FLIGHT} requests in flight; each 202 after JetStream acked every message of the body at replicas 3. Three nats-server nodes, PostgreSQL, the ingest node and the client share the machine.`,
      '',
      '| events per message | events | seconds | events/s (to the last 202) | messages | messages/s | stream bytes per event | node + client CPU s |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

await main();
