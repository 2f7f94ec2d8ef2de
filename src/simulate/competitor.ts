/**
 * The competitor behaviour: a decoy rival, a copy of node named like a rival campaign's miner
 * (`kdevtmpfsi`, Kinsing's miner, in intel's campaign miner names) that only sleeps. The miner's child kills it (miner.ts), the
 * way campaigns clear out rivals, aimed by exact name and only among our own children.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';

export const RIVAL_NAME = 'kdevtmpfsi';

export function startRival(
  dir: string,
  forMs: number,
): { child: ChildProcess; staged: { pid: number; executable: string } } {
  const executable = join(dir, RIVAL_NAME);
  copyFileSync(process.execPath, executable);
  // its own timer: it is gone after --duration even if nobody kills it
  const child = spawn(executable, ['-e', `setTimeout(() => {}, ${Math.floor(forMs)})`], { stdio: 'ignore' });
  return { child, staged: { pid: child.pid ?? -1, executable } };
}
