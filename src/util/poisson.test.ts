import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gammaP, poissonInterval } from './poisson.js';

const close = (a: number, b: number, rel = 1e-4) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('the 90% Poisson bounds match the chi-square table (Garwood): 0, 1, 10 and 100 events', () => {
  // chi2(0.95, 2)/2 = 2.9957; chi2(0.05, 2)/2 = 0.05129 and chi2(0.95, 4)/2 = 4.7439; …
  close(poissonInterval(0).high, 2.99573);
  assert.equal(poissonInterval(0).low, 0);
  close(poissonInterval(1).low, 0.051293);
  close(poissonInterval(1).high, 4.743865);
  close(poissonInterval(10).low, 5.425406);
  close(poissonInterval(10).high, 16.962219);
  close(poissonInterval(100).low, 84.13928);
  close(poissonInterval(100).high, 118.0793);
});

test('the bounds hold the count, widen as it falls, and a huge count takes the normal form', () => {
  for (const n of [1, 3, 30, 300, 9999, 10_001, 1e6]) {
    const b = poissonInterval(n);
    assert.ok(b.low < n && n < b.high, String(n));
  }
  const rel = (n: number) => (poissonInterval(n).high - poissonInterval(n).low) / n;
  assert.ok(rel(5) > rel(50) && rel(50) > rel(500));
  close(poissonInterval(1e6).low, 1e6 - 1.6449 * 1000, 1e-6);
});

test('the incomplete gamma is a distribution function: 0 at 0, rising to 1', () => {
  assert.equal(gammaP(3, 0), 0);
  close(gammaP(1, 1), 1 - Math.exp(-1), 1e-10);
  assert.ok(gammaP(5, 4) < gammaP(5, 5) && gammaP(5, 50) > 0.999999);
});
