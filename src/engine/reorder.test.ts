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

const lines = (out: CoalEvent[]) => out.map((e) => e.coalmine.ref.line);

/** mulberry32, as the bench generator: seeded streams, the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a stream in time order passes straight through: nothing is held', () => {
  const buf = new ReorderBuffer(5 * 60_000, 1000);
  const out: CoalEvent[] = [];
  for (let i = 1; i <= 50; i++) {
    buf.push(at(1000 + i * 10, i), out);
    assert.equal(buf.size, 0, `event ${i} was held`);
    assert.equal(out.length, i);
  }
  assert.equal(buf.hold, 0);
  assert.equal(buf.unsorted, 0);
});

test('once a stream shows lateness, later events as late are sorted; the first one is counted as unsorted', () => {
  const buf = new ReorderBuffer(60_000, 1000);
  const out: CoalEvent[] = [];
  for (const [ts, line] of [
    [5000, 1],
    [4500, 2], // 500 late, nothing held to sort it into: released at once and counted
    [7000, 3],
    [6100, 4], // within the hold learned from line 2: sorted before line 3
    [7200, 5],
    [6900, 6],
  ])
    buf.push(at(ts, line), out);
  assert.equal(buf.unsorted, 1);
  assert.equal(buf.hold, 1800); // twice the largest lateness seen (line 4's 900 ms)
  buf.drain(out);
  assert.deepEqual(lines(out), [1, 2, 4, 6, 3, 5]);
});

test('the hold never exceeds the allowed lateness, and events beyond it are not counted as unsorted', () => {
  const buf = new ReorderBuffer(1000, 1000);
  const out: CoalEvent[] = [];
  buf.push(at(100_000, 1), out);
  buf.push(at(10_000, 2), out); // 90 s late: beyond the allowed lateness (the engine counts it as late)
  assert.equal(buf.hold, 1000);
  assert.equal(buf.unsorted, 0);
  assert.ok(10_000 < buf.watermark);
});

test('equal times keep arrival order, passing through and held', () => {
  const through = new ReorderBuffer(0, 1000);
  const out: CoalEvent[] = [];
  for (let i = 1; i <= 5; i++) through.push(at(1000, i), out);
  through.drain(out);
  assert.deepEqual(lines(out), [1, 2, 3, 4, 5]);

  const held = new ReorderBuffer(60_000, 1000);
  const out2: CoalEvent[] = [];
  held.push(at(10_000, 1), out2);
  held.push(at(9_000, 2), out2); // learns a 2 s hold
  for (const [ts, line] of [
    [11_000, 3],
    [10_500, 4],
    [10_500, 5],
    [11_000, 6],
    [10_500, 7],
  ])
    held.push(at(ts, line), out2);
  held.drain(out2);
  assert.deepEqual(lines(out2), [1, 2, 4, 5, 7, 3, 6]);
});

test('never holds more than its bound, whatever the lateness; early releases are counted', () => {
  const buf = new ReorderBuffer(Number.MAX_SAFE_INTEGER, 10);
  const out: CoalEvent[] = [];
  buf.push(at(1_000_000, 0), out);
  buf.push(at(0, 1), out); // a huge lateness: the hold becomes everything
  for (let i = 2; i < 100; i++) {
    buf.push(at(1_000_000 + i, i), out);
    assert.ok(buf.size <= 10);
  }
  assert.equal(buf.size, 10);
  assert.equal(out.length, 90);
  assert.equal(buf.earlyReleased, 88);
  buf.drain(out);
  assert.deepEqual(
    lines(out).slice(2),
    Array.from({ length: 98 }, (_, i) => i + 2),
  );
});

test('jittered streams: output is sorted but for counted unsorted events, nothing is lost, and the buffer holds only the jitter', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const random = rng(seed);
    const jitterMs = 1000 + Math.floor(random() * 60_000);
    const share = random() * 0.2;
    const buf = new ReorderBuffer(5 * 60_000, 100_000);
    const out: CoalEvent[] = [];
    let maxSize = 0;
    let unsortedLater = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      // one event every 100 ms; a share of them written late by up to the jitter
      const ts = i * 100 - (random() < share ? Math.floor(random() * jitterMs) : 0);
      const before = buf.unsorted;
      buf.push(at(ts, i), out);
      // while the first lateness is learned, events behind those already passed through are unsorted
      if (i * 100 > 3 * jitterMs) unsortedLater += buf.unsorted - before;
      maxSize = Math.max(maxSize, buf.size);
    }
    buf.drain(out);
    assert.equal(out.length, n, `seed ${seed}: events lost`);
    assert.equal(new Set(lines(out)).size, n, `seed ${seed}: events repeated`);
    let descents = 0;
    for (let i = 1; i < out.length; i++) if (out[i].coalmine.ts < out[i - 1].coalmine.ts) descents++;
    assert.ok(descents <= buf.unsorted, `seed ${seed}: ${descents} out of order, ${buf.unsorted} counted`);
    // after that, the hold doubles with each record lateness: a handful of unsorted events, not a share of the stream
    assert.ok(unsortedLater <= 10, `seed ${seed}: ${unsortedLater} unsorted once learned`);
    assert.ok(buf.hold <= 2 * jitterMs);
    // never the whole allowed lateness (3,000 events at this rate): at most twice the jitter's worth
    assert.ok(maxSize <= (2 * jitterMs) / 100 + 2, `seed ${seed}: held ${maxSize}`);
  }
});

test('holding thousands of events (past the FIFO ring growing and wrapping), ties and late ones still come out by time, then arrival', () => {
  const buf = new ReorderBuffer(Number.MAX_SAFE_INTEGER, 100_000);
  const out: CoalEvent[] = [];
  buf.push(at(1000, 0), out);
  buf.push(at(0, 1), out); // 1000 ms late: the hold becomes 2000 ms, some 6,000 events at three per ms
  const pushed: CoalEvent[] = [];
  let maxSize = 0;
  for (let i = 2; i < 20_000; i++) {
    const inOrder = 1000 + Math.floor(i / 3);
    // every seventh event is 500 ms late, often tied with one held in order
    const e = at(i % 7 === 0 ? inOrder - 500 : inOrder, i);
    pushed.push(e);
    buf.push(e, out);
    maxSize = Math.max(maxSize, buf.size);
  }
  buf.drain(out);
  assert.ok(maxSize > 4096, `held ${maxSize}`);
  const expected = [...pushed].sort(
    (a, b) => a.coalmine.ts - b.coalmine.ts || a.coalmine.ref.line! - b.coalmine.ref.line!,
  );
  assert.deepEqual(lines(out.slice(2)), lines(expected));
  assert.equal(buf.size, 0);
});
