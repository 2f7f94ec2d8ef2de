/**
 * What a takeover costs: the seeded fleet (bench/generate.ts, N events, default 100,000) published to a real
 * single-node JetStream as ingest nodes publish it, then one `Worker` claims all 64 partitions and replays
 * them into a real PostgreSQL store: wall time, events/s, CPU and RSS (`node --import tsx bench/worker-replay.ts N`).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ensureEventsStream } from '../src/bus/contract.js';
import { Worker } from '../src/bus/worker.js';
import { defaultPolicy } from '../src/model/policy.js';
import { DEFAULT_RULE_DIRS } from '../src/signals/rules.js';
import { openStore } from '../src/store/index.js';
import { publishBodies } from '../test/support/bus-events.js';
import { startNats } from '../test/support/nats.js';
import { startPostgres } from '../test/support/postgres.js';
import { generateEvents } from './generate.js';

const N = Number(process.argv[2] ?? 100_000);
const file = join(mkdtempSync(join(tmpdir(), 'wkm-')), 'ev.ndjson');
const gen = await generateEvents({ events: N, seed: 0x0c0a1, path: file });
const lines = readFileSync(file, 'utf8').trim().split('\n');
const events = lines.map((l) => {
  const e = JSON.parse(l);
  e.coalmine = { ts: Date.parse(e['@timestamp']), format: 'ndjson', ref: { file: 'ev', line: 1 } };
  return e;
});
const [nats, pg] = await Promise.all([startNats(1), startPostgres()]);
const nc = await connect({ servers: nats.urls });
await ensureEventsStream(await jetstreamManager(nc), { replicas: 1 });
const js = jetstream(nc);
const seqs = { next: 1 };
let t = performance.now();
let msgs = 0;
for (let i = 0; i < events.length; i += 10_000)
  msgs += await publishBodies(
    js,
    [{ name: `b${i}`, kind: 'events', events: events.slice(i, i + 10_000) }],
    Date.now() - 3600_000 + i,
    seqs,
  );
console.log(
  `published ${events.length} events in ${msgs} messages, ${(performance.now() - t).toFixed(0)} ms; hosts ${gen.hosts}`,
);
const store = await openStore(pg.url);
const cpu0 = process.cpuUsage();
t = performance.now();
const w = await Worker.start({
  bus: nats.urls,
  store,
  policy: defaultPolicy(),
  ruleDirs: DEFAULT_RULE_DIRS,
  name: 'm',
  log: (l) => {
    if (!/replayed \d+ messages/.test(l)) console.log(l);
  },
});
let lastLog = performance.now();
while (w.stats.replayed < msgs) {
  await new Promise((r) => setTimeout(r, 50));
  if (performance.now() - lastLog > 10_000) {
    lastLog = performance.now();
    console.log(JSON.stringify(w.stats));
  }
}
const ms = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
console.log(
  `replayed ${w.stats.events} events (${w.stats.replayed} msgs) in ${ms.toFixed(0)} ms = ${((w.stats.events / ms) * 1000).toFixed(0)} events/s; cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; filed ${w.stats.reportsFiled}`,
);
while (w.stats.reportsFiled === 0) await new Promise((r) => setTimeout(r, 200));
await new Promise((r) => setTimeout(r, 3000));
console.log(`filed ${w.stats.reportsFiled}; findings ${(await store.findings.list()).items.length}`);
await w.close();
await store.close();
await nc.close();
await nats.stop();
await pg.stop();
