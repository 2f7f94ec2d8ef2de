/**
 * GPU utilisation read per GPU, gathered into the one sample a host (or container) has at a time: a miner
 * drives every GPU it finds, so a host's `metrics.gpu_pct` is the mean over its GPUs with `metrics.gpus`
 * their count, and a container's is their sum in percent of one GPU. One event per GPU would make a
 * host's series jump between its GPUs' values. Bounded: groups held, and GPUs in one group.
 */
import { round2 } from '../util/number.js';

/** GPUs counted in one group; the rest of a group's samples are left (no real host has this many). */
export const MAX_GPUS_PER_GROUP = 256;
/** Groups held before the reader must give them (`full`). */
export const MAX_GPU_GROUPS = 100_000;

export interface GpuGroup<T> {
  /** What the samples share: a host name, an instance, a container key. */
  key: string;
  ts: number;
  /** Each GPU's id and percent (0–100), in the order first read. */
  gpus: string[];
  pcts: number[];
  /** What the group's first sample carried (its ref, its host's facts). */
  first: T;
}

export class GpuGroups<T> {
  private groups = new Map<string, GpuGroup<T>>();

  constructor(private readonly limit = MAX_GPU_GROUPS) {}

  get size(): number {
    return this.groups.size;
  }

  get full(): boolean {
    return this.groups.size >= this.limit;
  }

  /**
   * One GPU's sample. A GPU its group already holds (a record delivered twice, two exporters reading
   * one GPU) keeps its first value; false when the sample was not counted (that, or past the group's bound).
   */
  add(key: string, ts: number, gpu: string, pct: number, item: T): boolean {
    const id = `${ts}\u0000${key}`;
    let g = this.groups.get(id);
    if (g === undefined) {
      g = { key, ts, gpus: [], pcts: [], first: item };
      this.groups.set(id, g);
    }
    if (g.gpus.length >= MAX_GPUS_PER_GROUP || g.gpus.includes(gpu)) return false;
    g.gpus.push(gpu);
    g.pcts.push(pct);
    return true;
  }

  /** Every group held, in the order each was opened; the holder is then empty. */
  drain(): GpuGroup<T>[] {
    const out = [...this.groups.values()];
    this.groups.clear();
    return out;
  }
}

/** A host's GPU utilisation: the mean over its GPUs, 0–100. */
export function meanGpuPct(g: GpuGroup<unknown>): number {
  let sum = 0;
  for (const p of g.pcts) sum += p;
  return round2(sum / g.pcts.length);
}

/** A container's GPU utilisation: the sum over its GPUs, in percent of one GPU. */
export function sumGpuPct(g: GpuGroup<unknown>): number {
  let sum = 0;
  for (const p of g.pcts) sum += p;
  return round2(sum);
}
