/**
 * `coalmine simulate`: stage compute-hijacking behaviours harmlessly so a team can prove its sensor
 * and analytics see them, then clean up. Everything stays on this machine: the "pool" is a loopback
 * server we run, the miner is a copy of node burning a bounded share of one core, the cron entry is
 * written into a sandbox root (never the real crontab), the rival is a decoy we start and kill, the
 * proxyware client relays to a loopback relay we serve.
 * Every child gets its own --for timer, so nothing outlives --duration even if we die.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type AddedLine, addCrontabLine, checkCrontab } from './crontab.js';
import { type LoopbackServer, startPool, startRelay } from './pool.js';
import { FAKE_ACCOUNT, PROXYWARE_CLIENT, type StagedProxyware, startProxyware } from './proxyware.js';

export const BEHAVIOURS = ['miner', 'persistence', 'competitor', 'proxyware'] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Clearly fake, but shaped like a Monero address so the wallet classifier sees one. */
export const FAKE_WALLET = `4${'SIMULATEDxCOALMINExWALLET'.repeat(4).slice(0, 94)}`;

export interface SimulateOptions {
  behaviours: Behaviour[];
  durationMs: number;
  /** Share of one core the miner burns (0.1–1). */
  share: number;
  /** Also add one marked line to the invoking user's real crontab (removed at cleanup). */
  realCrontab?: boolean;
}

export interface Staged {
  dir: string;
  sandboxRoot: string;
  pool: { address: string; port: number };
  miner?: { pid: number; executable: string; command_line: string };
  cron?: { file: string; line: string };
  /** The line added to the user's real crontab (`crontab -l`), with its marker. */
  realCron?: { line: string; marker: string };
  rival?: { pid: number; executable: string };
  proxyware?: StagedProxyware;
  expect: string[];
}

export interface SimulationRun {
  staged: Staged;
  /** Resolves when every child is gone and the temp dir is removed. */
  done: Promise<string[]>;
  stop: () => void;
}

// the burner: ~share of one core in 100 ms slices; as the miner it logs in to the pool and kills the rival
const BURNER = `
import net from 'node:net';
import { spawn } from 'node:child_process';
const arg = (k) => { const i = process.argv.indexOf(k); return i < 0 ? undefined : process.argv[i + 1]; };
const end = Date.now() + Number(arg('--for'));
const share = Math.min(1, Math.max(0.1, Number(arg('--share') ?? '0.9')));
const port = arg('--pool-port');
if (port) {
  const s = net.connect(Number(port), '127.0.0.1', () => {
    s.write(JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'login', params: { login: arg('-u'), pass: 'sim', agent: 'XMRig/6.21.0 (coalmine simulate)' } }) + '\\n');
    s.write(JSON.stringify({ id: 2, method: 'mining.subscribe', params: ['coalmine-simulate/1.0'] }) + '\\n');
  });
  s.on('error', () => {});
}
const rival = arg('--rival');
if (rival) setTimeout(() => spawn('/bin/sh', ['-c', 'sleep 5; pkill -9 -P ' + (Number(arg('--rival-parent')) | 0) + ' -x kthreaddi'], { stdio: 'ignore' }).unref(), 2000);
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
(function burn() { const t = Date.now(); while (Date.now() - t < 100 * share) {} if (Date.now() < end) setTimeout(burn, 100 * (1 - share)); else process.exit(0); })();
`;

/**
 * What `watch --interval 1` reported for the proxyware behaviour when we ran it: proxyjacking is cheap on
 * CPU and the relay is on loopback (not an outbound destination), so only the process leg holds.
 */
function proxywareExpect(p: StagedProxyware, withMiner: boolean): string {
  // one parent (us), one lineage: next to the miner its evidence joins the miner's finding
  if (withMiner)
    return `proxyware-process (strong, intel proxyware-names: ${PROXYWARE_CLIENT}, password hidden) on ${p.executable} (pid ${p.pid}) inside the miner's AN0742 finding, since both are children of this process (run \`simulate proxyware\` alone for its own "Proxyjacking" finding)`;
  return `AN0742 low "Proxyjacking" (T1496.002) on ${p.executable} (pid ${p.pid}), process leg only: proxyware-process (strong, intel proxyware-names: ${PROXYWARE_CLIENT}; account arguments -email=${FAKE_ACCOUNT.email} -password=(hidden) -device-name=coalmine-simulate) and masquerade (medium) when the temp dir is world-writable like /tmp; the relay connection to 127.0.0.1:${p.relay.port} is loopback, so no reach leg`;
}

export async function startSimulation(options: SimulateOptions): Promise<SimulationRun> {
  const want = new Set(options.behaviours);
  // crontab(1) missing or unusable: say so before anything is staged
  if (options.realCrontab) await checkCrontab();
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-sim-'));
  const children: ChildProcess[] = [];
  const cleaned: string[] = [];
  const servers: LoopbackServer[] = [];
  let realCron: AddedLine | undefined;
  const cleanup = async () => {
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
    rmSync(dir, { recursive: true, force: true });
    cleaned.push(`removed ${dir}`);
  };
  try {
    const burner = join(dir, 'burn.mjs');
    writeFileSync(burner, BURNER);
    const pool = await startPool();
    servers.push(pool);
    const port = pool.port;
    const sandboxRoot = join(dir, 'root');
    const staged: Staged = { dir, sandboxRoot, pool: { address: '127.0.0.1', port }, expect: [] };
    const forMs = String(options.durationMs);
    const miner = join(dir, 'xmrig');
    const minerArgs = [burner, '-o', `stratum+tcp://127.0.0.1:${port}`, '-u', FAKE_WALLET, '--donate-level', '1'];

    if (want.has('persistence')) {
      const cronDir = join(sandboxRoot, 'var', 'spool', 'cron', 'crontabs');
      mkdirSync(cronDir, { recursive: true });
      const file = join(cronDir, userInfo().username);
      const line = `*/10 * * * * ${miner} ${minerArgs.join(' ')} --for 60000`;
      writeFileSync(file, `${line}\n`);
      staged.cron = { file, line };
      staged.expect.push(`persistence: the cron entry ${file} relaunching ${miner}`);
      if (options.realCrontab) {
        // 31 February: a valid entry cron never runs, so nothing it could start outlives --duration
        const marker = `# coalmine-simulate ${process.pid}`;
        realCron = await addCrontabLine(`0 0 31 2 * ${miner} ${minerArgs.join(' ')} --for 60000 ${marker}`);
        staged.realCron = { line: realCron.line, marker };
        staged.expect.push(
          `persistence: the same entry in the real crontab of ${userInfo().username} (crontab -l), marked "${marker}"`,
        );
      }
    }
    let rivalPath: string | undefined;
    if (want.has('competitor')) {
      rivalPath = join(dir, 'kthreaddi');
      copyFileSync(process.execPath, rivalPath);
      const rival = spawn(rivalPath, ['-e', `setTimeout(() => {}, ${forMs})`], { stdio: 'ignore' });
      children.push(rival);
      staged.rival = { pid: rival.pid ?? -1, executable: rivalPath };
      staged.expect.push(`competitor-kill: a child of the miner runs pkill -9 -P ${process.pid} -x kthreaddi`);
    }
    if (want.has('miner')) {
      copyFileSync(process.execPath, miner);
      const args = [...minerArgs, '--pool-port', String(port), '--for', forMs, '--share', String(options.share)];
      // the killer aims at our own decoy only: its exact name, and only among our children
      if (rivalPath) args.push('--rival', 'kthreaddi', '--rival-parent', String(process.pid));
      const child = spawn(miner, args, { stdio: ['pipe', 'ignore', 'ignore'] });
      children.push(child);
      staged.miner = { pid: child.pid ?? -1, executable: miner, command_line: [miner, ...args].join(' ') };
      staged.expect.unshift(
        `AN0742 high on ${miner} (pid ${child.pid}): miner-process (name, wallet, pool URL), sustained CPU at ${Math.round(options.share * 100)}% of a core once the sustain window has passed, pool contact with 127.0.0.1:${port} named in its own command line`,
      );
    }
    if (want.has('proxyware')) {
      const relay = await startRelay();
      servers.push(relay);
      const { child, staged: p } = startProxyware(dir, relay.port, options.durationMs);
      children.push(child);
      staged.proxyware = p;
      staged.expect.push(proxywareExpect(p, want.has('miner')));
    }
    let stopTimer: NodeJS.Timeout | undefined;
    let finish: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      finish = resolve;
      stopTimer = setTimeout(resolve, options.durationMs);
    });
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
