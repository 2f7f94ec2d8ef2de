/**
 * A CPU timeline for the report, in constant memory: at most CAPACITY points; when full, neighbours
 * are merged pairwise (mean of their values, the first's time), so the series keeps the whole span
 * at half the resolution. Only allocated for entities that ran hot, so idle processes cost nothing.
 */
const CAPACITY = 64;

export class CpuSeries {
  private readonly ts = new Float64Array(CAPACITY);
  private readonly pct = new Float32Array(CAPACITY);
  /** Samples merged into each point (for means when merging). */
  private readonly weight = new Uint32Array(CAPACITY);
  private n = 0;
  /** Samples per point before a new one starts: doubles at each merge. */
  private stride = 1;

  push(ts: number, pct: number): void {
    const last = this.n - 1;
    if (last >= 0 && this.weight[last] < this.stride) {
      const w = this.weight[last];
      this.pct[last] = (this.pct[last] * w + pct) / (w + 1);
      this.weight[last] = w + 1;
      return;
    }
    if (this.n === CAPACITY) this.halve();
    this.ts[this.n] = ts;
    this.pct[this.n] = pct;
    this.weight[this.n] = 1;
    this.n++;
  }

  private halve(): void {
    let out = 0;
    for (let i = 0; i < this.n; i += 2) {
      const w1 = this.weight[i];
      const w2 = i + 1 < this.n ? this.weight[i + 1] : 0;
      const p2 = i + 1 < this.n ? this.pct[i + 1] : 0;
      this.ts[out] = this.ts[i];
      this.pct[out] = (this.pct[i] * w1 + p2 * w2) / (w1 + w2);
      this.weight[out] = w1 + w2;
      out++;
    }
    this.n = out;
    this.stride *= 2;
  }

  /** `[epoch ms, percent]` pairs in time order. */
  points(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.n; i++) out.push([this.ts[i], Math.round(this.pct[i] * 10) / 10]);
    return out;
  }
}
