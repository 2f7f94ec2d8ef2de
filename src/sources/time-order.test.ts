import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { forwardInTime, PROBE_EVENTS, timeOrdered } from './time-order.js';
import type { SourceBatch } from './types.js';

const at = (ts: number): CoalEvent =>
  ({ coalmine: { ts, format: 't', ref: { file: 'f', line: ts } } }) as unknown as CoalEvent;

async function* batchesOf(times: number[], size: number): AsyncGenerator<SourceBatch> {
  for (let i = 0; i < times.length; i += size) yield { events: times.slice(i, i + size).map(at), issues: [] };
}

async function run(times: number[], limit: number) {
  const out: number[] = [];
  const codes: string[] = [];
  for await (const b of timeOrdered(batchesOf(times, 7), 'f', 'T', 5, limit)) {
    out.push(...b.events.map((e) => e.coalmine.ts));
    codes.push(...b.issues.map((i) => i.code));
  }
  return { out, codes };
}

test('time order: a file in order is given as it is, however many runs it takes, and nothing is reported', async () => {
  const times = Array.from({ length: 100 }, (_, i) => i * 10);
  assert.deepEqual(await run(times, 16), { out: times, codes: [] });
});

test('time order: within the bound any order is sorted; past it, runs that overlap are reported once', async () => {
  const newestFirst = Array.from({ length: 30 }, (_, i) => 1000 - i);
  assert.deepEqual(await run(newestFirst, 64), { out: [...newestFirst].reverse(), codes: [] });
  const long = await run(newestFirst, 16);
  assert.deepEqual(long.codes, ['T_OUT_OF_ORDER']);
  assert.equal(long.out.length, 30, 'nothing lost');
  // a little disorder inside each run, none across runs: nothing to report
  const jittered = Array.from({ length: 64 }, (_, i) => i * 10 + (i % 2 === 0 ? 5 : -5));
  const local = await run(jittered, 16);
  assert.deepEqual(local.codes, []);
});

test('forward in time: a file in order passes through as read (its batches after the first events untouched)', async () => {
  const times = Array.from({ length: PROBE_EVENTS * 4 }, (_, i) => i * 10 - (i % 3 === 0 ? 5 : 0));
  const input: SourceBatch[] = [];
  for (let i = 0; i < times.length; i += 100) input.push({ events: times.slice(i, i + 100).map(at), issues: [] });
  async function* given() {
    yield* input;
  }
  const out: SourceBatch[] = [];
  for await (const b of forwardInTime(given(), 'f', 'T', 50)) out.push(b);
  assert.deepEqual(
    out.flatMap((b) => b.events.map((e) => e.coalmine.ts)),
    times,
    'file order, a little jitter kept for the engine',
  );
  // the batches read to judge the order come as one; every later one is the reader's own
  const firstUntouched = Math.ceil(PROBE_EVENTS / 100);
  assert.deepEqual(out.slice(1), input.slice(firstUntouched));
});

test('forward in time: a newest-first file is given oldest first, its issues and routed issues kept', async () => {
  const newestFirst = Array.from({ length: 1000 }, (_, i) => 100_000 - i * 7);
  async function* given(): AsyncGenerator<SourceBatch> {
    for (let i = 0; i < newestFirst.length; i += 64) {
      const line = i + 1;
      yield {
        events: newestFirst.slice(i, i + 64).map(at),
        issues: [{ file: 'f', line, code: 'BAD', reason: 'x', stage: 'reading' }],
        routed: [{ file: 'f', line: line + 1, code: 'MINE', reason: 'y', stage: 'reading' }],
        unused: 1,
      };
    }
  }
  const events: number[] = [];
  const codes: string[] = [];
  let unused = 0;
  for await (const b of forwardInTime(given(), 'f', 'T', 100)) {
    events.push(...b.events.map((e) => e.coalmine.ts));
    codes.push(...b.issues.map((i) => i.code), ...(b.routed ?? []).map((i) => i.code));
    unused += b.unused ?? 0;
  }
  assert.deepEqual(events, [...newestFirst].reverse());
  const batches = Math.ceil(newestFirst.length / 64);
  assert.equal(codes.filter((c) => c === 'BAD').length, batches);
  assert.equal(codes.filter((c) => c === 'MINE').length, batches);
  assert.equal(unused, batches);
  assert.ok(!codes.includes('T_OUT_OF_ORDER'), 'within the bound: nothing to report');
});

test('forward in time: past the bound a newest-first file comes in sorted runs, said once', async () => {
  const newestFirst = Array.from({ length: 600 }, (_, i) => 10_000 - i);
  const out: number[] = [];
  const codes: string[] = [];
  async function* given(): AsyncGenerator<SourceBatch> {
    yield* batchesOf(newestFirst, 50);
  }
  for await (const b of forwardInTime(given(), 'f', 'T', 100, 300)) {
    out.push(...b.events.map((e) => e.coalmine.ts));
    codes.push(...b.issues.map((i) => i.code));
  }
  assert.equal(out.length, newestFirst.length, 'nothing lost');
  assert.deepEqual(codes, ['T_OUT_OF_ORDER']);
});
