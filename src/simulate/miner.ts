/**
 * The miner behaviour: a copy of node named `xmrig` in the temp dir, running a small script that burns
 * a bounded share of one core in 100 ms slices, logs in to our loopback pool with xmrig's options and a
 * fake wallet and, when the competitor behaviour is staged too, has a child kill the decoy rival.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RIVAL_NAME } from './competitor.js';

/** Clearly fake, but shaped like a Monero address so the wallet classifier sees one. */
export const FAKE_WALLET = `4${'SIMULATEDxCOALMINExWALLET'.repeat(4).slice(0, 94)}`;

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
// the shell line holds only constants and a number: nothing from outside reaches it
const rival = arg('--rival');
if (rival === 'kdevtmpfsi') setTimeout(() => spawn('/bin/sh', ['-c', 'sleep 5; pkill -9 -P ' + (Number(arg('--rival-parent')) | 0) + ' -x kdevtmpfsi'], { stdio: 'ignore' }).unref(), 2000);
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
(function burn() { const t = Date.now(); while (Date.now() - t < 100 * share) {} if (Date.now() < end) setTimeout(burn, 100 * (1 - share)); else process.exit(0); })();
`;

export interface StagedMiner {
  pid: number;
  executable: string;
  command_line: string;
}

/** The miner's program and the arguments it is (re)launched with, as cron lines also name them. */
export function minerCommand(dir: string, poolPort: number): { executable: string; args: string[] } {
  const burner = join(dir, 'burn.mjs');
  writeFileSync(burner, BURNER);
  return {
    executable: join(dir, 'xmrig'),
    args: [burner, '-o', `stratum+tcp://127.0.0.1:${poolPort}`, '-u', FAKE_WALLET, '--donate-level', '1'],
  };
}

export function startMiner(
  command: { executable: string; args: string[] },
  poolPort: number,
  forMs: number,
  share: number,
  rivalParent: number | undefined,
): { child: ChildProcess; staged: StagedMiner } {
  copyFileSync(process.execPath, command.executable);
  const args = [...command.args, '--pool-port', String(poolPort), '--for', String(forMs), '--share', String(share)];
  // the killer aims at our own decoy only: its exact name, and only among our children
  if (rivalParent !== undefined) args.push('--rival', RIVAL_NAME, '--rival-parent', String(rivalParent));
  // stdin is a pipe so the miner exits with us even if our cleanup never runs
  const child = spawn(command.executable, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  return {
    child,
    staged: {
      pid: child.pid ?? -1,
      executable: command.executable,
      command_line: [command.executable, ...args].join(' '),
    },
  };
}
