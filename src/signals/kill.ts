/**
 * Competitor killing: mining campaigns clear out rival miners before starting their own. The evidence
 * links the killer to its victims: a kill syscall aimed at a known miner, or a command line that kills
 * by a miner's name (pkill, killall, `kill $(pidof …)`, fuser, `docker kill`/`rm -f`, systemctl stop),
 * by a pool port (`fuser -k 3333/tcp`, `kill $(lsof -t -i:3333)`), or wipes the crontab.
 * `ps|netstat … | grep | xargs kill` pipelines are also a Sigma rule (medium, no victim); here such a
 * pipeline counts only when it names a known miner, and then the victim is named. Who counts as a rival
 * is data: intel's miner names and its rival names (`intel/rival-names.txt`, kind `rival-name`, which a
 * user's `--intel` file extends); the words and options here are the grammar of kill commands.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal, Strength } from '../model/signal.js';
import type { Intel } from './intel/types.js';
import { signalFor } from './make.js';
import { simpleCommands } from './persistence.js';
import { baseName } from './process.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_SCAN_CHARS = 4096;
const MAX_WORDS = 64;
const MAX_VICTIMS_SHOWN = 5;

/** Words only mining software and its pools use, as `pkill -f` patterns. */
const MINING_WORDS = new Set(['stratum', 'cryptonight', 'xmr', 'randomx']);
/** pkill/killall/skill options that take a separate value (signal, user, group, …). */
const VALUE_OPTIONS = new Set([
  '-s',
  '--signal',
  '-u',
  '-U',
  '--uid',
  '--euid',
  '-g',
  '-G',
  '--group',
  '-P',
  '--parent',
  '-t',
  '--terminal',
  '-F',
  '--pidfile',
  '-o',
  '--older-than',
  '-y',
  '--younger-than',
  '-n',
  '--ns',
  '--nslist',
]);
const CONTAINER_TOOLS = new Set(['docker', 'podman', 'nerdctl', 'crictl']);

interface Command {
  tool: string;
  args: string[];
}

function commandsOf(text: string): Command[] {
  // Windows tools answer to any case and to their `.exe` name
  return simpleCommands(text).map((words) => ({
    tool: baseName(words[0])
      .toLowerCase()
      .replace(/\.exe$/, ''),
    args: words.slice(1),
  }));
}

/** Operands of pkill-like tools: options and their values skipped. */
function operands(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

interface Victims {
  names: string[];
  ports: number[];
}

/** The miner, rival, pool or mining word a name or `pkill -f` pattern aims at. */
function nameIn(pattern: string, intel: Intel): string | undefined {
  // `[k]devtmpfsi` is how scripts keep grep from matching itself
  const p = pattern.replace(/\[(.)\]/g, '$1');
  if (p.includes('.') && intel.domain(p.replace(/^[a-z0-9+.-]{1,24}:\/\//i, '').replace(/[:/].*$/, ''))) return p;
  for (const raw of p.split(/[|\\/()[\]^$*+?{}\s,'":=<>!]+/)) {
    const piece = raw.replace(/^\.+|\.+$/g, '');
    if (piece === '') continue;
    const lower = piece.toLowerCase();
    if (intel.processName(piece)?.kind === 'miner-name' || intel.rivalName(piece) || MINING_WORDS.has(lower))
      return piece;
    if (piece.includes('.') && intel.domain(piece)?.kind === 'pool-domain') return piece;
  }
  return undefined;
}

/** A container name or image aimed at: `xmrig_1`, `metal3d/xmrig:latest`. */
function containerIn(ref: string, intel: Intel): string | undefined {
  if (intel.image(ref)?.kind === 'miner-image') return ref;
  for (const piece of ref.split(/[-_./:@]+/))
    if (piece !== '' && (intel.processName(piece)?.kind === 'miner-name' || intel.rivalName(piece))) return ref;
  return undefined;
}

/** `3333/tcp`, `-i:3333`, `tcp:3333`, `:3333`: a port a process is picked by, when it is a mining port. */
function portIn(word: string, intel: Intel): number | undefined {
  const m = /^(?:-i)?(?:(?:tcp|udp)?:|\S{0,40}:)(\d{1,5})$|^(\d{1,5})\/(?:tcp|udp)$/.exec(word);
  const port = m ? Number(m[1] ?? m[2]) : Number.NaN;
  return Number.isInteger(port) && intel.port(port) ? port : undefined;
}

/** The values of a PowerShell `-Name`/`-ProcessName` parameter (prefixes accepted), comma-separated. */
function psNames(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length - 1; i++)
    if (/^-(?:n|na|nam|name|p|pr|processname)$/i.test(args[i])) out.push(...args[i + 1].split(',', 16));
  return out;
}

function add<T>(list: T[], value: T | undefined): void {
  if (value !== undefined && !list.includes(value)) list.push(value);
}

/** What the commands kill, and whether they kill at all. */
function victimsOf(commands: Command[], text: string, intel: Intel): { kills: boolean; wipesCron: boolean } & Victims {
  const killed: Victims = { names: [], ports: [] };
  const selected: Victims = { names: [], ports: [] };
  let kills = false;
  let wipesCron = false;
  for (const { tool, args } of commands) {
    switch (tool) {
      case 'pkill':
      case 'killall':
      case 'skill':
        kills = true;
        for (const o of operands(args)) add(killed.names, nameIn(o, intel));
        break;
      case 'kill':
        kills = true;
        // PowerShell's kill is Stop-Process
        for (const n of psNames(args)) add(killed.names, nameIn(n, intel));
        break;
      case 'taskkill':
        kills = true;
        for (let i = 0; i < args.length - 1; i++)
          if (/^[-/]im$/i.test(args[i])) add(killed.names, nameIn(args[i + 1], intel));
        break;
      case 'wmic':
        // wmic process where name='xmrig.exe' call terminate | … "name like '%xmrig%'" delete
        if (args[0]?.toLowerCase() === 'process' && args.some((a) => /^(?:terminate|delete)$/i.test(a))) {
          kills = true;
          for (const a of args.slice(1)) add(killed.names, nameIn(a.replace(/%/g, ' '), intel));
        }
        break;
      case 'sc':
      case 'net': {
        // sc [\\server] stop|delete NAME, net stop NAME: a miner installed as a service
        const verbs = args[0]?.startsWith('\\\\') ? args.slice(1) : args;
        if (/^(?:stop|delete)$/i.test(verbs[0] ?? '') && (tool === 'sc' || verbs[0].toLowerCase() === 'stop')) {
          kills = true;
          add(killed.names, nameIn(verbs[1] ?? '', intel));
        }
        break;
      }
      case 'stop-process':
      case 'spps':
        kills = true;
        for (const n of psNames(args)) add(killed.names, nameIn(n, intel));
        break;
      case 'get-process':
      case 'gps':
        // positional and -Name: the processes a piped Stop-Process ends
        for (const n of [
          ...psNames(args),
          ...args.filter((a, i) => !a.startsWith('-') && !args[i - 1]?.startsWith('-')),
        ])
          add(selected.names, nameIn(n, intel));
        break;
      case 'fuser': {
        const isKill = args.some((a) => /^-[a-zA-Z]*k/.test(a) || a === '--kill');
        // `fuser -n tcp 3333` names ports by number; `3333/tcp` names them anywhere
        const byNumber = args.some(
          (a, i) => (a === '-n' || a === '--namespace') && /^(?:tcp|udp)$/.test(args[i + 1] ?? ''),
        );
        const into = isKill ? killed : selected;
        for (const a of args) {
          add(into.ports, portIn(byNumber && /^\d{1,5}$/.test(a) ? `${a}/tcp` : a, intel));
          if (a.startsWith('/')) add(into.names, nameIn(baseName(a), intel));
        }
        kills ||= isKill;
        break;
      }
      case 'pidof':
      case 'pgrep':
      case 'grep':
      case 'egrep':
      case 'fgrep':
        for (const o of operands(args)) {
          add(selected.names, nameIn(o, intel));
          add(selected.ports, portIn(o, intel));
        }
        break;
      case 'lsof':
        for (let i = 0; i < args.length; i++)
          add(selected.ports, portIn(args[i] === '-i' && args[i + 1] ? `-i${args[i + 1]}` : args[i], intel));
        break;
      case 'systemctl':
        if (['stop', 'disable', 'kill', 'mask'].includes(args[0] ?? '')) {
          kills = true;
          for (const unit of args.slice(1))
            if (!unit.startsWith('-')) add(killed.names, nameIn(unit.replace(/\.service$/, ''), intel));
        }
        break;
      case 'crontab':
        if (args.includes('-r')) wipesCron = true;
        break;
      default:
        if (CONTAINER_TOOLS.has(tool)) {
          const verbs = args[0] === 'container' ? args.slice(1) : args;
          const force = verbs.includes('-f') || verbs.includes('--force');
          if (
            verbs[0] === 'kill' ||
            verbs[0] === 'stop' ||
            (verbs[0] === 'rm' && force) ||
            (verbs[0] === 'rmi' && force)
          ) {
            kills = true;
            for (const ref of verbs.slice(1)) if (!ref.startsWith('-')) add(killed.names, containerIn(ref, intel));
          } else if (verbs[0] === 'ps') {
            // `docker ps -q --filter ancestor=metal3d/xmrig` selects what a surrounding rm -f removes
            for (const a of verbs) {
              const filter = /^(?:--filter=)?(?:ancestor|name)=(.+)$/.exec(a);
              if (filter) add(selected.names, containerIn(filter[1], intel));
            }
          }
        }
    }
  }
  if (!kills) return { kills, wipesCron, names: [], ports: [] };
  const names = [...killed.names];
  for (const n of selected.names) add(names, n);
  // port-picked kill pipelines through xargs are the Sigma rule's; we take the ones it cannot see
  const ports = [...killed.ports];
  if (!/\|\s*xargs\b/.test(text)) for (const p of selected.ports) add(ports, p);
  return { kills, wipesCron, names, ports };
}

function classifyKillEvent(event: CoalEvent, intel: Intel, killer: string, out: Signal[]): void {
  const t = event.process?.target;
  if (!t || t.signal === 0) return; // signal 0 only asks whether a process exists
  if (t.pid !== undefined && t.pid === event.process?.pid) return;
  const victim = t.name ?? (t.executable ? baseName(t.executable) : undefined);
  if (!victim) return;
  const isMiner = intel.processName(victim)?.kind === 'miner-name';
  if (!isMiner && !intel.rivalName(victim)) return;
  out.push(
    signalFor(event, {
      kind: 'competitor-kill',
      class: 'kill',
      strength: 'strong',
      by: 'kill:signal',
      explanation: `${killer} sent signal ${t.signal ?? '?'} to ${victim} (pid ${t.pid ?? '?'}), a ${isMiner ? 'known miner' : "rival campaign's process"}`,
      subject: t.pid !== undefined ? { victim, victimPid: t.pid } : { victim },
    }),
  );
}

/** The process that kills, as evidence names it (built only when there is evidence). */
function killerOf(p: NonNullable<CoalEvent['process']>): string {
  return `${p.name ?? (p.executable ? baseName(p.executable) : 'process')} (pid ${p.pid ?? '?'})`;
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const p = event.process;
  if (!p) return;
  const action = event.event.action;
  if (action === 'kill') {
    classifyKillEvent(event, intel, killerOf(p), out);
    return;
  }
  if (action !== 'exec' && action !== 'process-seen') return;
  const raw = p.command_line ?? p.args?.slice(0, MAX_WORDS).join(' ') ?? '';
  const text = raw.length > MAX_SCAN_CHARS ? raw.slice(0, MAX_SCAN_CHARS) : raw;
  if (
    !/kill|docker|podman|nerdctl|crictl|fuser|crontab|systemctl|stop-process|spps|wmic|\bsc(?:\.exe)?\s|\bnet(?:\.exe)?\s+stop/i.test(
      text,
    )
  )
    return;
  const { kills, wipesCron, names, ports } = victimsOf(commandsOf(text), text, intel);
  let strength: Strength;
  let what: string;
  let victim: string | undefined;
  if (kills && names.length > 0) {
    strength = 'strong';
    victim = names[0];
    const shown = names.slice(0, MAX_VICTIMS_SHOWN).join(', ');
    what = `kills ${shown}${names.length > MAX_VICTIMS_SHOWN ? ' …' : ''}: known miners or rival campaigns' processes`;
  } else if (kills && ports.length > 0) {
    strength = 'medium';
    victim = `port ${ports[0]}`;
    what = `kills whatever uses port ${ports.join(', ')}, where mining pools listen`;
  } else if (wipesCron) {
    strength = 'weak';
    what = "wipes the user's crontab (crontab -r), as campaigns do to remove rivals' persistence";
  } else return;
  out.push(
    signalFor(event, {
      kind: 'competitor-kill',
      class: 'kill',
      strength,
      by: 'kill:command',
      explanation: `${killerOf(p)} ${what}: ${text}`,
      subject: victim !== undefined ? { victim } : undefined,
    }),
  );
}

export const kill: Classifier = {
  name: 'kill',
  actions: ['kill', 'exec', 'process-seen'],
  summary: 'kills aimed at rival miners (by name, pool port or container), with the victims named',
  classify,
};
