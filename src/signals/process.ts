/**
 * Process evidence from one exec/snapshot event: known miner or proxyware binaries (name, hash),
 * wallet addresses in arguments, and masquerading (kernel-thread names on real executables, programs
 * run from world-writable or hidden places, deleted executables). Command-line patterns (xmrig flags,
 * Stratum URLs) are Sigma rules in rules/stable, not here.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { signalFor } from './make.js';
import type { Classifier, ClassifyContext } from './types.js';

/** Kernel threads have no executable; a process called like one that has one is hiding. */
const KERNEL_THREAD =
  /^\[?(?:kworker|kthreadd|ksoftirqd|kswapd\d*|migration|rcu_[a-z]+|watchdog|jbd2|kdevtmpfs|khugepaged|kblockd|kcompactd\d*|kauditd|irq\/|cpuhp|oom_reaper|writeback|kintegrityd|ext4-rsv)/;
const WRITABLE_DIRS = ['/tmp/', '/var/tmp/', '/dev/shm/', '/run/shm/', '/var/run/user/', '/run/user/'];
/** Options that carry a pool or account: a wallet next to them is a miner's login. */
const POOL_ARGS = /(?:^|\s)(?:-o|--url|-u|--user|--pool|-p|--pass|--rig-id)(?:\s|=)|stratum[0-9]?\+/;

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  if (action !== 'exec' && action !== 'process-seen') return;
  const p = event.process;
  if (!p) return;
  const exe = p.executable ?? '';
  const exeName = exe ? baseName(exe) : '';
  const name = p.name ?? '';
  const label = `${name || exeName || 'process'} (pid ${p.pid ?? '?'})`;

  const byName = (exeName && intel.processName(exeName)) || (name && intel.processName(name)) || undefined;
  if (byName) {
    const miner = byName.kind === 'miner-name';
    out.push(
      signalFor(event, {
        kind: miner ? 'miner-process' : 'proxyware-process',
        class: 'process',
        strength: byName.strength,
        by: `process:${miner ? 'miner' : 'proxyware'}-name`,
        explanation: `${label} runs ${exe || name}, a known ${miner ? 'miner' : 'proxyware client'} name (intel ${byName.set}: ${byName.indicator})`,
      }),
    );
  }
  const sha = p.hash?.sha256 ?? p.hash?.sha1 ?? p.hash?.md5;
  const byHash = sha ? intel.hash(sha) : undefined;
  if (byHash)
    out.push(
      signalFor(event, {
        kind: 'miner-process',
        class: 'process',
        strength: 'strong',
        by: 'process:miner-hash',
        explanation: `${label} executable hash ${sha} is a known miner (intel ${byHash.set})`,
      }),
    );
  const cmd = p.command_line;
  if (cmd) {
    const wallet = intel.wallet(cmd);
    if (wallet)
      out.push(
        signalFor(event, {
          kind: 'miner-process',
          class: 'process',
          strength: POOL_ARGS.test(cmd.slice(0, 4096)) ? 'strong' : 'medium',
          by: 'process:wallet',
          explanation: `${label} has a ${wallet.note ?? 'wallet'} in its arguments: ${wallet.indicator.slice(0, 12)}…${wallet.indicator.slice(-6)}`,
        }),
      );
  }

  if (exe && (KERNEL_THREAD.test(name) || KERNEL_THREAD.test(exeName)) && !exe.startsWith('/proc/'))
    out.push(
      signalFor(event, {
        kind: 'masquerade',
        class: 'process',
        strength: 'strong',
        by: 'process:kernel-thread-name',
        explanation: `${label} is named like a kernel thread but runs the executable ${exe}`,
      }),
    );
  const writable = WRITABLE_DIRS.find((d) => exe.startsWith(d));
  const hidden = exe.includes('/.');
  if (writable || hidden)
    out.push(
      signalFor(event, {
        kind: 'masquerade',
        class: 'process',
        strength: 'medium',
        by: 'process:suspicious-location',
        explanation: `${label} runs from ${writable ? `world-writable ${writable}` : 'a hidden directory'}: ${exe}`,
      }),
    );
  if (p.exe_deleted)
    out.push(
      signalFor(event, {
        kind: 'masquerade',
        class: 'process',
        strength: 'medium',
        by: 'process:deleted-executable',
        explanation: `${label} runs from a deleted executable${exe ? ` (${exe})` : ''}`,
      }),
    );
}

export const processClassifier: Classifier = {
  name: 'process',
  summary: 'known miner/proxyware binaries, wallets in arguments, masquerading',
  classify,
};
