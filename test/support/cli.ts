/**
 * Running the real CLI from end-to-end tests: once to completion (`runCli`, `huntNdjson`), or as a live
 * child whose output is collected while it runs (`startCli`: watch, simulate). One place for the spawn plumbing.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Finding } from '../../src/model/finding.js';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'coalmine.js');

export function runCli(
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input: options.input,
    cwd: options.cwd,
    env: options.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface LiveCli {
  child: ChildProcess;
  /** What it has printed so far. */
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** Resolves once stdout holds a whole first line (or the child is gone). */
  firstLine: () => Promise<string>;
}

export function startCli(args: string[], options: Omit<SpawnOptions, 'stdio'> = {}): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const firstLine = async () => {
    while (!out.includes('\n') && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    return out.split('\n')[0];
  };
  return { child, out: () => out, err: () => err, exited, firstLine };
}

/** NDJSON findings (watch adds `revision`). */
export function ndjsonFindings(stdout: string): Array<Finding & { revision?: number }> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Finding & { revision?: number });
}

/** `hunt PATHS… --format ndjson --no-progress` (and `args`) run to completion, with its findings parsed. */
export function huntNdjson(
  paths: string[],
  args: string[] = [],
): { code: number | null; stdout: string; stderr: string; findings: Finding[] } {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson', '--no-progress', ...args]);
  return { ...r, findings: ndjsonFindings(r.stdout) };
}
