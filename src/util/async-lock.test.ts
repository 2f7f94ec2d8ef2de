import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsyncLock } from './async-lock.js';

test('async lock: holders run one at a time in call order, across awaits, and a throwing holder frees the lock', async () => {
  const lock = new AsyncLock();
  const trace: string[] = [];
  const holder = (name: string, waits: number, fail = false) =>
    lock.run(async () => {
      trace.push(`${name} in`);
      for (let i = 0; i < waits; i++) await new Promise((r) => setTimeout(r, 1));
      trace.push(`${name} out`);
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([holder('a', 3), holder('b', 1, true), holder('c', 0)]);
  assert.deepEqual(trace, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});
