/**
 * What a partition checkpoint costs (`npm run bench:checkpoint [-- --events N]`): the seeded fleet
 * (bench/generate.ts, default 100,000 events of 200 hosts, as one partition holding them all would read
 * them: ingestRead in the worker's 256-event messages arriving as a live fleet's would, ticked on the worker's
 * 5 s grid) into one
 * LiveDetector; then its checkpoint's size (raw and as stored, deflated), the time to take, store-encode,
 * decode and restore it, against the time to replay the same events into a fresh detector (what a
 * takeover did before checkpoints). Results in bench/results/checkpoint.{json,md}. Timings are reported,
 * never asserted; the ratio is measured in one run.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CoalEvent } from '../src/model/event.js';
import { defaultPolicy } from '../src/model/policy.js';
import { LiveDetector } from '../src/run/live.js';
import { DEFAULT_RULE_DIRS } from '../src/signals/rules.js';
import { generateEvents } from './generate.js';
import { describeMachine, machine } from './machine.js';

const args = process.argv.slice(2);
const at = args.indexOf('--events');
const N = at >= 0 ? Number(args[at + 1]) : 100_000;
if (!Number.isInteger(N) || N < 1000) {
  console.error('usage: npm run bench:checkpoint -- [--events N] (N ≥ 1000)');
  process.exit(2);
}
const MESSAGE_EVENTS = 256;
const TICK_MS = 5000;

const file = join(mkdtempSync(join(tmpdir(), 'coalmine-checkpoint-')), 'events.ndjson');
const gen = await generateEvents({ events: N, seed: 0x0c0a1, path: file });
const events: CoalEvent[] = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((l, i) => {
    const e = JSON.parse(l);
    e.coalmine = { ts: Date.parse(e['@timestamp']), format: 'ndjson', ref: { file: 'events.ndjson', line: i + 1 } };
    e.original ??= {};
    return e as CoalEvent;
  });

const make = () =>
  LiveDetector.create({
    policy: defaultPolicy(),
    ruleDirs: DEFAULT_RULE_DIRS,
    settleMs: 2000,
    onFinding: () => {},
  });

/**
 * Every event in the worker's messages, each arriving a second after its last event's time (a live fleet's
 * shippers), ticked on the worker's 5 s grid of arrival times.
 */
function feed(live: LiveDetector): void {
  let lastTick = Number.NEGATIVE_INFINITY;
  for (let i = 0, m = 0; i < events.length; i += MESSAGE_EVENTS, m++) {
    const message = events.slice(i, i + MESSAGE_EVENTS);
    const arrival = message[message.length - 1].coalmine.ts + 1000;
    const grid = Math.floor(arrival / TICK_MS) * TICK_MS;
    if (grid > lastTick) {
      live.tick(grid);
      lastTick = grid;
    }
    live.ingestRead({ events: message, state: [] }, { name: 'b', body: m, receivedAtMs: arrival });
  }
  live.tick(lastTick + 3 * TICK_MS);
}

const ms = (t: number) => Math.round((performance.now() - t) * 10) / 10;

const replayed = await make();
let t = performance.now();
feed(replayed);
const replayMs = ms(t);

t = performance.now();
const raw = replayed.checkpoint();
const takeMs = ms(t);
t = performance.now();
const stored = deflateRawSync(raw, { level: 1 });
const deflateMs = ms(t);
t = performance.now();
const back = inflateRawSync(stored);
const inflateMs = ms(t);
const restored = await make();
t = performance.now();
restored.restore(back);
const restoreMs = ms(t);
const same = restored.checkpoint().equals(raw);
const stats = replayed.stats;

const result = {
  date: new Date().toISOString(),
  machine: machine(),
  events: N,
  hosts: gen.hosts,
  engine: { events: stats.events, signals: stats.signals },
  checkpointBytes: raw.length,
  storedBytes: stored.length,
  bytesPerEvent: Math.round((raw.length / N) * 10) / 10,
  ms: { replay: replayMs, take: takeMs, deflate: deflateMs, inflate: inflateMs, restore: restoreMs },
  restoreVsReplay: Math.round(((inflateMs + restoreMs) / replayMs) * 1000) / 1000,
  restoredCheckpointsTheSame: same,
};
const here = join(import.meta.dirname, 'results');
mkdirSync(here, { recursive: true });
writeFileSync(join(here, 'checkpoint.json'), `${JSON.stringify(result, null, 2)}\n`);
const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
const md = `# partition checkpoint

${result.date}. \`npm run bench:checkpoint -- --events ${N}\`. ${describeMachine(result.machine)}

One LiveDetector reads the seeded fleet (bench/generate.ts: ${N.toLocaleString('en')} events of ${gen.hosts} hosts, as one
partition holding them all would: the worker's 256-event messages, each arriving a second after its last
event, ticked on the worker's 5 s grid), then checkpoints
(\`LiveDetector.checkpoint\`), and a fresh detector restores it (\`restore\`), against replaying the same events
into a fresh detector (a takeover without a checkpoint).

| | |
|---|---:|
| checkpoint, raw | ${mib(raw.length)} MiB (${result.bytesPerEvent} bytes per event read) |
| checkpoint, as stored (deflated, level 1) | ${mib(stored.length)} MiB |
| take (serialize) | ${takeMs} ms |
| deflate / inflate | ${deflateMs} / ${inflateMs} ms |
| restore (deserialize into a fresh detector) | ${restoreMs} ms |
| replay of the same ${N.toLocaleString('en')} events | ${replayMs} ms |
| **inflate + restore ÷ replay** | **${result.restoreVsReplay}** |
| the restored detector checkpoints to the same bytes | ${same ? 'yes' : 'NO'} |

Here one detector holds the whole fleet; a worker's state is spread over its 64 partitions, each checkpointed
on its own (at most once a minute, CHECKPOINT_EVERY_MS), so one checkpoint holds the worker's turn for about
1/64 of the take time above. A takeover after a crash also replays what came after the checkpoint (at most a
minute of the partition's messages) and reads the checkpoint from PostgreSQL (base64 text: 4/3 of the stored
size); without a checkpoint it replayed the partition's whole retention (7 days), of which the replay above
is ${N.toLocaleString('en')} events.
`;
writeFileSync(join(here, 'checkpoint.md'), md);
process.stdout.write(md);
