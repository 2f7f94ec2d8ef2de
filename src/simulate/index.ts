/**
 * `coalmine simulate`: stage compute-hijacking behaviours harmlessly so a team can prove its sensor
 * and analytics see them, then clean up. Everything stays on this machine: the "pool" and the
 * proxyware "relay" are loopback servers we run (pool.ts), the miner is a copy of node burning a
 * bounded share of one core (miner.ts), the cron entry is written into a sandbox root and only with
 * --real-crontab into the real crontab (persistence.ts, crontab.ts), the rival is a decoy we start and
 * the miner's child kills (competitor.ts), the proxyware client relays to our relay (proxyware.ts).
 * the container behaviour runs the miner's burner in a network-less Docker container when a daemon
 * answers and is skipped, saying why, when none does (container.ts).
 * This file orchestrates them. Every child gets its own --for timer, so nothing outlives --duration
 * even if we die. `--emit-logs` (emit-logs.ts) writes the same story as log files instead; `cloud` and
 * `windows` are stories that exist only as logs (cloud-story.ts: an AWS account's CloudTrail, flow, DNS and
 * CPU metrics; windows-story.ts: a workstation's Sysmon, Security and typeperf exports).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startRival } from './competitor.js';
import {
  dockerUnavailable,
  removeLeftoverContainers,
  type SkippedContainer,
  type StagedContainer,
  startBurnerContainer,
} from './container.js';
import { type AddedLine, checkCrontab } from './crontab.js';
import { minerCommand, type StagedMiner, startMiner } from './miner.js';
import { currentOwner, MARKER_FILE, ownerMarker, removeLeftoverTempDirs, TEMP_PREFIX } from './owner.js';
import { addRealCron, loginName, type SandboxCron, writeSandboxCron } from './persistence.js';
import { type LoopbackServer, startPool, startRelay } from './pool.js';
import { FAKE_ACCOUNT, type StagedProxyware, startProxyware } from './proxyware.js';

export { FAKE_WALLET } from './miner.js';
export { SandboxError } from './persistence.js';

export const BEHAVIOURS = ['miner', 'persistence', 'competitor', 'proxyware', 'container'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];
/**
 * Stories only ever written as logs (`--emit-logs DIR`), alone and not part of `all`: `cloud` is an AWS
 * account's S3 delivery (cloud-story.ts), judged by `hunt DIR/aws --policy DIR/coalmine.yaml`; `windows`
 * a workstation's Sysmon and Security exports and typeperf CSV (windows-story.ts), judged by `hunt DIR/windows`.
 */
export const LOG_STORIES = ['cloud', 'windows'] as const;

export interface SimulateOptions {
  behaviours: Behaviour[];
  durationMs: number;
  /** Share of one core the miner burns (0.1–1). */
  share: number;
  /** Also add one marked line to the invoking user's real crontab (removed at cleanup). */
  realCrontab?: boolean;
  /** The sandbox root for the cron entry (default: inside the temp dir); never `/`. */
  sandboxRoot?: string;
}

export interface Staged {
  dir: string;
  sandboxRoot: string;
  pool: { address: string; port: number };
  miner?: StagedMiner;
  cron?: { file: string; line: string };
  /** The line added to the user's real crontab (`crontab -l`), with its marker. */
  realCron?: { line: string; marker: string };
  rival?: { pid: number; executable: string };
  proxyware?: StagedProxyware;
  /** The burner in a Docker container, or why it was skipped (no daemon). */
  container?: StagedContainer | SkippedContainer;
  /** What killed earlier runs had left (their temp dirs, their sandbox spool file) and this run removed. */
  leftovers: string[];
  expect: string[];
}

export interface SimulationRun {
  staged: Staged;
  /** Resolves when every child is gone and the temp dir is removed. */
  done: Promise<string[]>;
  stop: () => void;
}

/**
 * What `watch --interval 1` reported for the proxyware behaviour when we ran it: proxyjacking is cheap on
 * CPU and the relay is on loopback (not an outbound destination), so only the process leg holds.
 */
function proxywareExpect(p: StagedProxyware, withMiner: boolean): string {
  // one parent (us), one lineage: next to the miner its evidence joins the miner's finding
  if (withMiner)
    return `proxyware-process (strong: Pawns' -accept-tos flag beside its account arguments, password hidden) on ${p.executable} (pid ${p.pid}) inside the miner's AN0742 finding, since both are children of this process (run \`simulate proxyware\` alone for its own "Proxyjacking" finding)`;
  return `AN0742 low "Proxyjacking" (T1496.002) on ${p.executable} (pid ${p.pid}), process leg only: proxyware-process (strong: Pawns' -accept-tos flag beside the account arguments -email=${FAKE_ACCOUNT.email} -password=(hidden) -device-name=coalmine-simulate) and masquerade (medium) when the temp dir is world-writable like /tmp; the relay connection to 127.0.0.1:${p.relay.port} is loopback, so no reach leg`;
}

export async function startSimulation(options: SimulateOptions): Promise<SimulationRun> {
  const want = new Set(options.behaviours);
  // crontab(1) missing or unusable: say so before anything is staged
  if (options.realCrontab) await checkCrontab();
  // a run killed before its cleanup (kill -9) left its temp dir: remove those whose owner is gone
  const leftovers = removeLeftoverTempDirs(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  // marked before anything large is copied in, so a run killed at any point leaves a dir the next one knows
  writeFileSync(join(dir, MARKER_FILE), ownerMarker(currentOwner()));
  const children: ChildProcess[] = [];
  const cleaned: string[] = [];
  const servers: LoopbackServer[] = [];
  let realCron: AddedLine | undefined;
  let sandboxCron: SandboxCron | undefined;
  let container: { remove: () => Promise<void>; failure: () => string | undefined } | undefined;
  // a child that cannot start (a noexec temp dir, say) is reported, not an uncaught 'error' event
  const track = (c: ChildProcess, what: string) => {
    c.on('error', (e) => cleaned.push(`${what} did not start: ${e.message}`));
    children.push(c);
  };
  const cleanup = async () => {
    if (container) {
      const failed = container.failure();
      if (failed !== undefined) cleaned.push(`the container did not run: ${failed}`);
      await container.remove();
      cleaned.push('removed the container');
    }
    if (realCron) {
      try {
        await realCron.remove();
        cleaned.push('removed our line from the real crontab');
      } catch (err) {
        cleaned.push(`FAILED to remove "${realCron.line}" from the real crontab: ${(err as Error).message}`);
      }
    }
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        cleaned.push(`killed pid ${c.pid}`);
      }
    for (const s of servers) await s.close();
    if (sandboxCron && options.sandboxRoot !== undefined) {
      sandboxCron.remove();
      cleaned.push(`removed ${sandboxCron.file}`);
    }
    rmSync(dir, { recursive: true, force: true });
    cleaned.push(`removed ${dir}`);
  };
  try {
    const pool = await startPool();
    servers.push(pool);
    const port = pool.port;
    const sandboxRoot = options.sandboxRoot !== undefined ? resolve(options.sandboxRoot) : join(dir, 'root');
    const staged: Staged = { dir, sandboxRoot, pool: { address: '127.0.0.1', port }, leftovers, expect: [] };
    const miner = minerCommand(dir, port);
    // what a cron line relaunches: the miner with its own 60 s timer
    const relaunch = `${miner.executable} ${miner.args.join(' ')} --for 60000`;

    if (want.has('persistence')) {
      sandboxCron = writeSandboxCron(sandboxRoot, relaunch);
      staged.cron = { file: sandboxCron.file, line: sandboxCron.line };
      if (sandboxCron.leftover) leftovers.push(sandboxCron.leftover);
      staged.expect.push(`persistence: the cron entry ${staged.cron.file} relaunching ${miner.executable}`);
      if (options.realCrontab) {
        const real = await addRealCron(relaunch, process.pid);
        realCron = real.added;
        staged.realCron = { line: real.added.line, marker: real.marker };
        staged.expect.push(
          `persistence: the same entry in the real crontab of ${loginName()} (crontab -l), marked "${real.marker}"; watch without --root cites it from the user's spool file (Debian: /var/spool/cron/crontabs/${loginName()}, below crontab's 3-line header)`,
        );
      }
    }
    if (want.has('competitor')) {
      const rival = startRival(dir, options.durationMs);
      track(rival.child, 'the rival');
      staged.rival = rival.staged;
      staged.expect.push(`competitor-kill: a child of the miner runs pkill -9 -P ${process.pid} -x kdevtmpfsi`);
    }
    if (want.has('miner')) {
      const rivalParent = want.has('competitor') ? process.pid : undefined;
      const m = startMiner(miner, port, options.durationMs, options.share, rivalParent);
      track(m.child, 'the miner');
      staged.miner = m.staged;
      staged.expect.unshift(
        `AN0742 high on ${m.staged.executable} (pid ${m.staged.pid}): miner-process (name, wallet, pool URL), sustained CPU at ${Math.round(options.share * 100)}% of a core once the sustain window has passed, pool contact with 127.0.0.1:${port} named in its own command line`,
      );
    }
    if (want.has('proxyware')) {
      const relay = await startRelay();
      servers.push(relay);
      const { child, staged: p } = startProxyware(dir, relay.port, options.durationMs);
      track(child, 'the proxyware client');
      staged.proxyware = p;
      staged.expect.push(proxywareExpect(p, want.has('miner')));
    }
    if (want.has('container')) {
      const skipped = await dockerUnavailable();
      if (skipped !== undefined) staged.container = { skipped };
      else {
        leftovers.push(...(await removeLeftoverContainers()));
        const owner = currentOwner();
        const c = startBurnerContainer(
          { script: miner.args[0], args: [...miner.args.slice(1), '--pool-port', String(port)] },
          owner,
          options.durationMs,
          options.share,
        );
        track(c.child, 'the container');
        container = c;
        staged.container = c.staged;
        staged.expect.push(
          `miner-process on "${c.staged.command_line}" (Stratum URL, wallet and xmrig options in its command line) placed in container ${c.staged.name} (image ${c.staged.image}) by its cgroup id, and its CPU at ${Math.round(options.share * 100)}% of a core; it has no network, so no pool contact`,
        );
      }
    }
    let stopTimer: NodeJS.Timeout | undefined;
    let finish: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      finish = resolve;
      stopTimer = setTimeout(resolve, options.durationMs);
    });
    // nothing was started (the container behaviour alone, skipped): nothing to wait for
    if (children.length === 0 && !want.has('persistence')) finish();
    const done = ended.then(async () => {
      if (stopTimer) clearTimeout(stopTimer);
      await cleanup();
      return cleaned;
    });
    return { staged, done, stop: () => finish() };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
