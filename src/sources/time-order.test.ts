import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { timeOrdered } from './time-order.js';
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
