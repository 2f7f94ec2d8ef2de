/** The seeded randomness the fuzzers share: one generator per case, so any case replays on its own. */
import { mulberry32 } from './generate.js';

/** A per-case seed from (seed, case): cases replay on their own. */
export function caseSeed(seed: number, i: number): number {
  return Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}
