/**
 * Exact (Garwood) confidence bounds on the mean of a Poisson count: for n events the interval is
 * [Γ⁻¹(α/2; n), Γ⁻¹(1−α/2; n+1)], the chi-square bounds halved. Shares found by hashing are Poisson
 * events, so a few of them give a wide, honest interval. Pure and bounded: bisection on the
 * regularised incomplete gamma function, at most 200 steps each.
 */

const EPS = 1e-14;
const MAX_ITER = 1000;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9): ~15 significant digits. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularised lower incomplete gamma P(a, x): series below a + 1, continued fraction above. */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < MAX_ITER; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return Math.min(1, sum * Math.exp(lead));
  }
  // Lentz's continued fraction for Q(a, x)
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.max(0, 1 - Math.exp(lead) * h);
}

/** x with P(a, x) = p, by bisection (P rises with x). */
function gammaQuantile(p: number, a: number): number {
  let lo = 0;
  let hi = Math.max(10, a + 20 * Math.sqrt(a) + 20);
  while (gammaP(a, hi) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (gammaP(a, mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** z of the normal distribution's 95th percentile: the 90% two-sided bounds for large counts. */
const Z95 = 1.6448536269514722;
/** Past this many events the normal approximation is within 0.1% of the exact bounds, and cheaper. */
const NORMAL_FROM = 10_000;

/**
 * The two-sided 90% interval on the Poisson mean given `count` events (5% in each tail): 0 as the
 * lower bound for none.
 */
export function poissonInterval(count: number): { low: number; high: number } {
  const n = Math.max(0, Math.floor(count));
  if (n > NORMAL_FROM) return { low: n - Z95 * Math.sqrt(n), high: n + 1 + Z95 * Math.sqrt(n + 1) };
  return { low: n === 0 ? 0 : gammaQuantile(0.05, n), high: gammaQuantile(0.95, n + 1) };
}
