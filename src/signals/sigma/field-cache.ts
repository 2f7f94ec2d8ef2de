/**
 * The field values read from one event, by slot. `matchRules` keeps one and calls `reset()` between
 * events (a stamp, so nothing is cleared or allocated per event); anyone else makes a new one per event.
 */
export class FieldCache {
  private stamps = new Uint32Array(64);
  private values: Array<string[] | undefined> = new Array<string[] | undefined>(64).fill(undefined);
  private stamp = 1;

  /** Forget the values read so far: the next event starts empty. */
  reset(): void {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  get(slot: number): string[] | undefined {
    return slot < this.stamps.length && this.stamps[slot] === this.stamp ? this.values[slot] : undefined;
  }

  set(slot: number, values: string[]): void {
    if (slot >= this.stamps.length) {
      let size = this.stamps.length * 2;
      while (size <= slot) size *= 2;
      const stamps = new Uint32Array(size);
      stamps.set(this.stamps);
      this.stamps = stamps;
      const grown = new Array<string[] | undefined>(size).fill(undefined);
      for (let i = 0; i < this.values.length; i++) grown[i] = this.values[i];
      this.values = grown;
    }
    this.stamps[slot] = this.stamp;
    this.values[slot] = values;
  }
}
