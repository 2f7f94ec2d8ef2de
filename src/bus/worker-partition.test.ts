/** The worker's in-flight budget: bounded, and first come first served (no partition starves). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightBudget } from './worker-partition.js';

test('a partition that gives its slots back and asks again waits behind one already waiting', async () => {
  const budget = new InFlightBudget(16);
  assert.equal(await budget.take(8), 8); // partition a
  assert.equal(await budget.take(8), 8); // partition b: the budget is full
  const order: string[] = [];
  const starved = budget.take(8).then((n) => order.push(`c:${n}`)); // c waits (it holds unacked messages)
  budget.give(8); // a's fetch expired empty: its slots back…
  const again = budget.take(8).then((n) => order.push(`a:${n}`)); // …and a asks again at once
  await starved;
  assert.deepEqual(order, ['c:8'], 'the waiting partition had the slots, not the one asking again');
  assert.equal(budget.inFlight, 16);
  budget.give(8);
  await again;
  assert.deepEqual(order, ['c:8', 'a:8']);
});

test('a take gets what is free (at least one), and never more than asked', async () => {
  const budget = new InFlightBudget(10);
  assert.equal(await budget.take(32), 10);
  budget.give(3);
  assert.equal(await budget.take(8), 3);
  budget.give(100);
  assert.equal(budget.inFlight, 0);
});
