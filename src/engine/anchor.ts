/**
 * Which cluster a process's evidence joins: through the *nearest* flagged line, never because some
 * distant ancestor (a session manager, a container init, a CI runner, a tool running from a memfd)
 * has evidence of its own. Three ways in, checked from the process upwards:
 *   - the process's own cluster;
 *   - its launcher's cluster (the nearest ancestor that is not a mere wrapper such as `sh -c`,
 *     `nohup`, `setsid`): a dropper script's children (curl, pkill, the miner) are one story. CPU
 *     never joins this way: a busy sibling is not part of a flagged job;
 *   - an ancestor's cluster that holds medium-or-stronger evidence of a launching kind (dropper,
 *     decoded script, miner, rival killing, persistence written) by a process on this line: what a
 *     dropper starts is the dropper's, a pool client's workers are the miner's.
 * Weak evidence and evidence about a process's own image (masquerade) never adopt descendants.
 */
import type { Signal, SignalKind } from '../model/signal.js';
import type { Cluster } from './clusters.js';
import { type ProcInfo, programName } from './process-table.js';

/** Evidence kinds that say a process launches hijacking, so what it starts belongs to its story. */
const LAUNCHING_KINDS = new Set<SignalKind>([
  'dropper',
  'obfuscation',
  'miner-process',
  'proxyware-process',
  'miner-tuning',
  'competitor-kill',
  'persistence',
  // talking to a pool says what the process is, so its workers are its own
  'pool-contact',
  'proxyware-endpoint',
]);

/** Programs that only start another (their own operand) and add nothing to the story. */
const WRAPPERS = new Set([
  'nohup',
  'setsid',
  'env',
  'sudo',
  'su',
  'doas',
  'runuser',
  'timeout',
  'nice',
  'ionice',
  'taskset',
  'chrt',
  'stdbuf',
  'flock',
  'xargs',
  'chronic',
  'start-stop-daemon',
  'daemonize',
]);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'busybox', 'cmd.exe', 'cmd']);
/** `-c` for POSIX shells, `/c` or `/k` for cmd: the shell runs a command string, not a script of its own. */
const COMMAND_STRING = /(?:^|\s)(?:-[a-z]*c|\/[ck])(?:\s|$)/i;

/** A wrapper (`nohup`, `setsid`) or a shell running a `-c` string: transparent when looking for the launcher. */
export function isWrapper(p: ProcInfo): boolean {
  const name = programName(p);
  if (WRAPPERS.has(name)) return true;
  if (!SHELLS.has(name)) return false;
  const command = p.commandLine?.slice(0, 512) ?? '';
  return COMMAND_STRING.test(command);
}

/** Index in `line` (the process first, its root last) of the process's launcher, or -1 when it is its own root. */
export function launcherIndex(line: readonly ProcInfo[]): number {
  for (let i = 1; i < line.length; i++) if (!isWrapper(line[i]) || i === line.length - 1) return i;
  return -1;
}

/** Whether a cluster holds evidence that claims the process: its own (not weak, not CPU) or a launching ancestor's. */
export function claims(cluster: Cluster, line: readonly ProcInfo[]): boolean {
  const self = line[0].key;
  let ancestors: Set<string> | undefined;
  for (const item of cluster.evidence.values()) {
    const s: Signal = item.signal;
    if (s.strength === 'weak' || s.class === 'resource') continue;
    if (s.entity === self) return true;
    if (!LAUNCHING_KINDS.has(s.kind)) continue;
    ancestors ??= new Set(line.slice(1).map((p) => p.key));
    if (ancestors.has(s.entity)) return true;
  }
  return false;
}

/**
 * The cluster key a signal about `line[0]` joins, or undefined when none claims it; `fresh` is the
 * key a new cluster gets then (the launcher for process-class evidence, the process itself for CPU).
 */
export function anchorOf(
  line: readonly ProcInfo[],
  clusters: ReadonlyMap<string, Cluster>,
  isResource: boolean,
): { key: string; fresh: boolean } {
  const launcher = launcherIndex(line);
  for (let i = 0; i < line.length; i++) {
    const cluster = clusters.get(line[i].key);
    if (!cluster) continue;
    if (i === 0 || (!isResource && i === launcher) || claims(cluster, line)) return { key: cluster.key, fresh: false };
  }
  const key = isResource || launcher < 0 ? line[0].key : line[launcher].key;
  return { key, fresh: true };
}
