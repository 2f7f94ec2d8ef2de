import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { ReorderBuffer } from './reorder.js';

function at(ts: number, line: number): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
    original: {},
    coalmine: { ts, format: 't', ref: { file: 'f', line } },
  };
}

test('releases events in time order once the watermark passes them', () => {
  const buf = new ReorderBuffer(1000, 1000);
  const out: CoalEvent[] = [];
  for (const [ts, line] of [
    [5000, 1],
    [4500, 2],
    [7000, 3],
    [6100, 4],
  ])
    buf.push(at(ts, line), out);
  assert.deepEqual(
    out.map((e) => e.coalmine.ref.line),
    [2, 1],
  );
  buf.drain(out);
  assert.deepEqual(
    out.map((e) => e.coalmine.ref.line),
    [2, 1, 4, 3],
  );
});

test('equal times keep arrival order', () => {
  const buf = new ReorderBuffer(0, 1000);
  const out: CoalEvent[] = [];
  for (let i = 1; i <= 5; i++) buf.push(at(1000, i), out);
  buf.drain(out);
  assert.deepEqual(
    out.map((e) => e.coalmine.ref.line),
    [1, 2, 3, 4, 5],
  );
});

test('never holds more than its bound, whatever the lateness', () => {
  const buf = new ReorderBuffer(Number.MAX_SAFE_INTEGER, 10);
  const out: CoalEvent[] = [];
  for (let i = 0; i < 100; i++) buf.push(at(1_000_000 - i, i), out);
  assert.ok(buf.size <= 10);
  assert.equal(out.length, 90);
});
