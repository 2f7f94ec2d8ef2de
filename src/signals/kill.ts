/**
 * Competitor killing: mining campaigns kill rival miners before starting their own. Evidence links
 * the killer to its victims: a kill syscall whose target is a known miner, or a pkill/killall/
 * `docker kill` command line naming one. (Pipelines like `ps|grep|awk|xargs kill` are a Sigma rule.)
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { signalFor } from './make.js';
import type { Classifier, ClassifyContext } from './types.js';

const KILLERS = new Set(['pkill', 'killall', 'kill', 'skill', 'fuser']);

function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const p = event.process;
  if (!p) return;
  const killer = `${p.name ?? (p.executable ? baseName(p.executable) : 'process')} (pid ${p.pid ?? '?'})`;
  if (event.event.action === 'kill') {
    const t = p.target;
    if (!t || t.signal === 0) return; // signal 0 only probes whether a process exists
    const victim = t.name ?? (t.executable ? baseName(t.executable) : undefined);
    const hit = victim ? intel.processName(victim) : undefined;
    if (!hit || !victim) return;
    out.push(
      signalFor(event, {
        kind: 'competitor-kill',
        class: 'kill',
        strength: 'strong',
        by: 'kill:syscall',
        explanation: `${killer} sent signal ${t.signal ?? '?'} to ${victim} (pid ${t.pid ?? '?'}), a known ${hit.kind === 'miner-name' ? 'miner' : 'proxyware'} name`,
        subject: { victim, victimPid: t.pid },
      }),
    );
    return;
  }
  if (event.event.action !== 'exec' && event.event.action !== 'process-seen') return;
  const args = p.args ?? p.command_line?.slice(0, 4096).split(/\s+/) ?? [];
  if (args.length < 2) return;
  const tool = baseName(args[0]);
  const isDocker = tool === 'docker' && (args[1] === 'kill' || (args[1] === 'rm' && args.includes('-f')));
  if (!KILLERS.has(tool) && !isDocker) return;
  const victims: string[] = [];
  for (const arg of args.slice(1, 64)) {
    if (arg.startsWith('-')) continue;
    // pkill -f patterns may be alternations or paths: test each piece
    for (const piece of arg.split(/[|/\\]/)) {
      const clean = piece.replace(/[^A-Za-z0-9._-]/g, '');
      if (clean && intel.processName(clean) && !victims.includes(clean)) victims.push(clean);
    }
  }
  if (victims.length === 0) return;
  out.push(
    signalFor(event, {
      kind: 'competitor-kill',
      class: 'kill',
      strength: 'strong',
      by: `kill:${isDocker ? 'docker' : tool}`,
      explanation: `${killer} targets ${victims.join(', ')}: known miner names killed by a rival campaign`,
      subject: { victim: victims.join(', ') },
    }),
  );
}

export const kill: Classifier = {
  name: 'kill',
  summary: 'kills aimed at rival miners, with the victims named',
  classify,
};
