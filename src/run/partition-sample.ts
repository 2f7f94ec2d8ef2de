/**
 * How `hunt --workers` deals the partitions to its threads. Hosts differ in how much they log, so the
 * plain deal (partition mod workers) can leave one thread with well over half the work (56/44 on the
 * bench's fleet). Lines sampled from evenly spaced windows of each input are routed from their bytes
 * (engine/partition.ts `partitionRouteOfLine`) and weigh their partitions; `balancedOwners` evens the
 * load. Only how long the slowest thread takes depends on it, never what the run finds.
 */
import { open } from 'node:fs/promises';
import { balancedOwners, PARTITIONS, partitionOf, partitionRouteOfLine } from '../engine/partition.js';
import type { InputFile } from './inputs.js';

/** Bytes sampled over all inputs, and per window: a few milliseconds of reading and route walks. */
const SAMPLE_BUDGET_BYTES = 4 * 1024 * 1024;
/** A line longer than a window is never counted: each window's cut ends are skipped. */
const WINDOW_BYTES = 128 * 1024;
const NEWLINE = 10;

/** Lines per partition in a sample of the inputs: windows of a plain file, the head of any other. */
export async function sampleWeights(files: readonly InputFile[]): Promise<number[]> {
  const weights = new Array<number>(PARTITIONS).fill(0);
  const count = (buf: Buffer, from: number) => {
    let start = from;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl < 0) return; // the window's last line is cut: not counted
      if (nl > start) {
        const route = partitionRouteOfLine(buf, start, nl);
        if (route) weights[partitionOf(route.key)]++;
      }
      start = nl + 1;
    }
  };
  const perFile = Math.max(WINDOW_BYTES, Math.floor(SAMPLE_BUDGET_BYTES / Math.max(1, files.length)));
  for (const file of files) {
    const { head } = file.input;
    if (head[0] !== 123) continue; // only our NDJSON is routed from its text
    if (!file.plainPath || file.sizeBytes <= perFile) {
      count(head, 0);
      continue;
    }
    const windows = Math.floor(perFile / WINDOW_BYTES);
    const handle = await open(file.plainPath, 'r').catch(() => undefined);
    if (!handle) continue; // the worker that reads it reports why
    try {
      const buf = Buffer.allocUnsafe(WINDOW_BYTES);
      for (let w = 0; w < windows; w++) {
        const at = Math.floor((file.sizeBytes * w) / windows);
        const { bytesRead } = await handle.read(buf, 0, WINDOW_BYTES, at);
        const window = buf.subarray(0, bytesRead);
        // a window that starts inside a line skips to the next one
        const first = w === 0 ? 0 : window.indexOf(NEWLINE) + 1;
        if (first > 0 || w === 0) count(window, first);
      }
    } finally {
      await handle.close();
    }
  }
  return weights;
}

/** The partition owners for `workers` threads over these inputs. */
export async function sampledOwners(files: readonly InputFile[], workers: number): Promise<number[]> {
  return balancedOwners(await sampleWeights(files), workers);
}
