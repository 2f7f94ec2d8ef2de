/** Numbers as reports carry them. */

/** `n` to two decimals: a cost to the cent, hours to the hundredth, a percent to the hundredth of a point. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
