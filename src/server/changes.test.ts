/** The change feed: sequence and time stamps, the ring a resumed stream reads, and subscribers that cannot break a publish. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChangeFeed, MAX_CHANGE_SUBSCRIBERS } from './changes.js';

test('publish stamps seq from 1 and the time, and tells subscribers until they leave', () => {
  let clock = 1000;
  const feed = new ChangeFeed({ now: () => clock });
  const seen: number[] = [];
  const leave = feed.subscribe((c) => seen.push(c.seq));
  assert.ok(leave);
  const first = feed.publish({ kind: 'case', id: 'case-1', revision: 2, state: 'triage' });
  assert.deepEqual(first, { kind: 'case', id: 'case-1', revision: 2, state: 'triage', seq: 1, at: 1000 });
  clock = 2000;
  const second = feed.publish({ kind: 'finding', id: 'f-1' });
  assert.deepEqual(second, { kind: 'finding', id: 'f-1', seq: 2, at: 2000 });
  leave();
  feed.publish({ kind: 'allowlist', id: 'a-1' });
  assert.deepEqual(seen, [1, 2]);
  assert.equal(feed.lastSeq, 3);
  assert.equal(feed.subscribers, 0);
});

test('a subscriber that throws is logged and the others still hear the change', () => {
  const logged: string[] = [];
  const feed = new ChangeFeed({ now: () => 0, log: (l) => logged.push(l) });
  const heard: string[] = [];
  feed.subscribe(() => {
    throw new Error('broken pipe');
  });
  feed.subscribe((c) => heard.push(c.id));
  assert.equal(feed.publish({ kind: 'sensor', id: 's-1' }).seq, 1);
  assert.deepEqual(heard, ['s-1']);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /broken pipe/);
});

test('since answers what the ring holds after a seq, and a gap once older changes left it', () => {
  const feed = new ChangeFeed({ now: () => 0, capacity: 3 });
  assert.deepEqual(feed.since(0), { changes: [] });
  for (let i = 1; i <= 5; i++) feed.publish({ kind: 'case', id: `c${i}` });
  // the ring holds 3, 4, 5
  assert.deepEqual(
    (feed.since(2) as { changes: { seq: number }[] }).changes.map((c) => c.seq),
    [3, 4, 5],
  );
  assert.deepEqual(
    (feed.since(4) as { changes: { seq: number }[] }).changes.map((c) => c.seq),
    [5],
  );
  assert.deepEqual(feed.since(5), { changes: [] });
  assert.deepEqual(feed.since(1), { gap: true });
  // a seq from before a restart (ahead of ours) or not a count: start over
  assert.deepEqual(feed.since(6), { gap: true });
  assert.deepEqual(feed.since(-1), { gap: true });
  assert.deepEqual(feed.since(1.5), { gap: true });
});

test('subscribers are bounded and ids are clipped', () => {
  const feed = new ChangeFeed({ now: () => 0 });
  for (let i = 0; i < MAX_CHANGE_SUBSCRIBERS; i++) assert.ok(feed.subscribe(() => {}));
  assert.equal(
    feed.subscribe(() => {}),
    undefined,
  );
  const long = feed.publish({ kind: 'finding', id: 'x'.repeat(10_000) });
  assert.ok(long.id.length < 300, 'clipped to about 256 characters with the cut marked');
});

test('a feed started at firstSeq counts on from it, and an id below it reads as a gap', () => {
  const feed = new ChangeFeed({ now: () => 0, firstSeq: 1_700_000_000_000 });
  assert.equal(feed.lastSeq, 1_700_000_000_000);
  assert.deepEqual(feed.since(1_700_000_000_000), { changes: [] });
  assert.equal(feed.publish({ kind: 'case', id: 'c' }).seq, 1_700_000_000_001);
  assert.deepEqual(feed.since(57), { gap: true }, 'an id from a run before a restart');
});
