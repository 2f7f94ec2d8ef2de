import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { dockerStats } from './docker-stats.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const MTIME = Date.UTC(2026, 11, 1, 10, 30);
const facts = { mtimeMs: MTIME, hostHint: 'docker-01' };
const good = fileInput('test/fixtures/docker-stats/good.jsonl', facts);
const bad = fileInput('test/fixtures/docker-stats/bad.jsonl', facts);

runSourceContract({
  source: dockerStats,
  good,
  bad,
  // the file copied while a record was written: it ends inside the container name
  cut: cutLineCase(good, 0, '"Name":"', 'cut_container_zz'),
  skip: {
    oversized:
      'the contract reads it from memory with no file time, and docker stats lines have no time of their own: such a file is not read (pinned below)',
  },
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of dockerStats.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('each running container is a metric at the file time: CPU in percent of one core, memory, id and name', async () => {
  const { events } = await readAll(dockerStats, good);
  assert.equal(events.length, 3);
  const miner = events[0];
  assert.equal(miner.coalmine.ts, MTIME);
  assert.equal(miner.event.action, 'metric');
  assert.deepEqual(miner.metrics, { cpu_pct: 398.72, mem_pct: 29.85, rss_bytes: Math.round(2.32 * 1024 ** 3) });
  assert.deepEqual(miner.container, { id: '3f1c9a7b2e4d', runtime: 'docker', name: 'festive_turing' });
  assert.deepEqual(miner.host, { name: 'docker-01' });
  assert.equal(miner.process, undefined);
  assert.equal(miner.original.PIDs, '9');
  assert.deepEqual(
    events.map((e) => e.metrics?.rss_bytes),
    [Math.round(2.32 * 1024 ** 3), Math.round(84.2 * 1024 ** 2), Math.round(510.6 * 1024 ** 2)],
  );
  // a stopping container ("--" everywhere) measured nothing
  assert.equal(await unusedOf(good), 1);
});

test('bad records: each reported with its line and code; the same container twice in one file is a repeat', async () => {
  const { events, issues } = await readAll(dockerStats, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'DOCKER_STATS_BAD_VALUE'],
      [3, 'DOCKER_STATS_BAD_RECORD'],
      [4, 'DOCKER_STATS_BAD_VALUE'],
      [5, 'DOCKER_STATS_BAD_VALUE'],
      [6, 'DOCKER_STATS_BAD_JSON'],
      [7, 'DOCKER_STATS_BAD_RECORD'],
      [8, 'DOCKER_STATS_REPEATED'],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 9],
  );
});

test('a file without a modification time is not read, and says so', async () => {
  const text = good.head.toString('utf8');
  const { events, issues } = await readAll(dockerStats, memoryInput('stats.jsonl', text));
  assert.deepEqual(events, []);
  assert.deepEqual(
    issues.map((i) => [i.code, i.unread]),
    [['DOCKER_STATS_NO_TIME', true]],
  );
});

test('an oversized line is reported and the next good line is read', async () => {
  const big = `${'A'.repeat(TEST_CONTEXT.maxLineBytes * 3)}\n${good.head.toString('utf8')}`;
  const { events, issues } = await readAll(dockerStats, memoryInput('big.jsonl', big, facts));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'LINE_TOO_LONG']],
  );
  assert.equal(events.length, 3);
});

test('sizes in decimal and binary units; a 64-hex id and a leading slash on the name', async () => {
  const line = JSON.stringify({
    ID: 'ab'.repeat(32),
    Name: '/worker',
    CPUPerc: '100.00%',
    MemPerc: '0.00%',
    MemUsage: '1.5kB / 1GB',
  });
  const { events, issues } = await readAll(dockerStats, memoryInput('s.jsonl', `${line}\n`, facts));
  assert.deepEqual(issues, []);
  assert.equal(events[0].metrics?.rss_bytes, 1500);
  assert.deepEqual(events[0].container, { id: 'ab'.repeat(32), runtime: 'docker', name: 'worker' });
});

test('sniffed from its own fixture, before the generic JSON', () => {
  assert.equal(sniffSource(good)?.name, 'docker-stats');
});

test('fuzz: mutated and cut copies never throw; every line that is neither read nor unused is reported', async () => {
  const text = good.head.toString('utf8');
  let s = 11;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
  const alphabet = '{}[]",:\\ %0-.eBiKM/';
  for (let k = 0; k < 200; k++) {
    const at = rnd(text.length);
    const c = alphabet[rnd(alphabet.length)];
    const kind = rnd(3);
    const variant =
      kind === 0
        ? text.slice(0, at)
        : kind === 1
          ? text.slice(0, at) + c + text.slice(at + 1)
          : text.slice(0, at) + text.slice(at + 1);
    const input = memoryInput('fuzz.jsonl', variant, facts);
    const { events, issues } = await readAll(dockerStats, input);
    const unused = await unusedOf(input);
    const records = variant.split('\n').filter((l) => l.trim() !== '').length;
    for (const e of events) for (const v of Object.values(e.metrics ?? {})) assert.ok(Number.isFinite(v) && v >= 0);
    assert.ok(issues.every((i) => i.line !== undefined));
    // one outcome per record: an event, unused, or an issue naming its line
    assert.equal(events.length + unused + new Set(issues.map((i) => i.line)).size, records, variant);
  }
});
