/**
 * Pool contact by a process that names its pool: a connection whose port matches a `host:port` in
 * the same process's command line, where that host is a known pool or written as a Stratum URL.
 * Auditd and socket tables see only IPs and we never resolve names ourselves; the miner's own
 * arguments tie the IP to the pool name. (The engine fills the command line in from exec events.)
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import type { Intel, IntelMatch } from './intel/types.js';
import { intelName, signalFor } from './make.js';
import { minerOptions } from './miner-args.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_SCAN_CHARS = 4096;
// host:port with an optional scheme; hosts are DNS names (bounded labels), ports 1-5 digits
const HOST_PORT = /(?:([a-z0-9]+\+[a-z]+|[a-z]+):\/\/)?((?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}):(\d{1,5})\b/gi;
// a Stratum URL naming its pool by IPv4 address: the connection must go to that very address and port
const STRATUM_IP_PORT = /\b(stratum\+[a-z0-9]{1,10}|stratum[0-9]?):\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b/gi;

/** A pool a command names, and how: where its program will connect. */
export interface NamedPool {
  /** Lower-cased DNS name or address. */
  host: string;
  port: number;
  /** The host is an address: a connection must go to it. A name is matched by its port only (never resolved here). */
  address: boolean;
  /** As written, for evidence: `stratum+tcp://pool.example:3333`, `198.51.100.7:3333`. */
  written: string;
  /** `stratum` (a Stratum URL), `intel` (host:port of a listed pool), `miner-options` (a conclusive miner's pool option). */
  how: 'stratum' | 'intel' | 'miner-options';
  intel?: IntelMatch;
  /** The miner options recognised beside it (miner-options only). */
  options?: string[];
}

const MAX_POOLS = 8;

/**
 * The pools one command names: Stratum URLs (by name or address), `host:port` of a pool the intel lists,
 * and the pool options of a command that is conclusively a miner's (`-o 198.51.100.7:3333 -u <wallet>`).
 * Campaigns rotate pool addresses daily, so the miner's own arguments are the intel.
 */
export function namedPools(command: string, args: readonly string[] | undefined, intel: Intel): NamedPool[] {
  const out: NamedPool[] = [];
  const text = command.slice(0, MAX_SCAN_CHARS);
  for (const m of text.matchAll(HOST_PORT)) {
    if (out.length >= MAX_POOLS) return out;
    const scheme = (m[1] ?? '').toLowerCase();
    const host = m[2].toLowerCase();
    const known = intel.domain(host);
    if (!scheme.startsWith('stratum') && known?.kind !== 'pool-domain') continue;
    const port = Number(m[3]);
    const written = `${scheme ? `${scheme}://` : ''}${host}:${port}`;
    out.push({ host, port, address: false, written, how: known ? 'intel' : 'stratum', intel: known });
  }
  for (const m of text.matchAll(STRATUM_IP_PORT)) {
    if (out.length >= MAX_POOLS) return out;
    const port = Number(m[3]);
    out.push({ host: m[2], port, address: true, written: `${m[1].toLowerCase()}://${m[2]}:${port}`, how: 'stratum' });
  }
  const options = minerOptions(args && args.length > 0 ? args : command, intel);
  if (!options?.conclusive) return out;
  for (const pool of options.pools) {
    if (out.length >= MAX_POOLS) break;
    if (out.some((p) => p.host === pool.host && p.port === pool.port)) continue;
    const address = /^[\d.]+$/.test(pool.host) || pool.host.includes(':');
    out.push({
      host: pool.host,
      port: pool.port,
      address,
      written: pool.written,
      how: 'miner-options',
      options: options.shown.slice(0, 3),
    });
  }
  return out;
}

/** Does a connection to `ip`:`port` go to `pool`? A named host is matched by its port alone. */
export function reachesPool(pool: NamedPool, ip: string | undefined, port: number): boolean {
  return pool.port === port && (!pool.address || pool.host === ip?.toLowerCase());
}

/** How evidence says where a connection went and which named pool it was. */
export function poolContactText(
  pool: NamedPool,
  ip: string | undefined,
  port: number,
  where: { line: string; options: string },
): {
  to: string;
  named: string;
  destination: string;
} {
  const to = `${ip ?? '?'}:${port}`;
  if (pool.how === 'miner-options')
    return {
      to,
      named: `the pool ${pool.written} named in ${where.options} (${(pool.options ?? []).join(' ')})${pool.address ? '' : ', by that port (the name was not resolved here)'}`,
      destination: pool.address ? to : `${pool.host}:${port} (${ip ?? '?'})`,
    };
  const cited = pool.intel ? ` (intel ${intelName(pool.intel)})` : '';
  if (pool.address) return { to, named: `the Stratum pool ${pool.written} named in ${where.line}`, destination: to };
  return {
    to,
    named: `the port of the pool ${pool.written} named in ${where.line}${cited}`,
    destination: `${pool.host}:${port} (${ip ?? '?'})`,
  };
}

const OWN = { line: 'its own command line', options: 'its own miner options' };

function classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void {
  if (event.event.action !== 'connect') return;
  const port = event.destination?.port;
  const command = event.process?.command_line;
  if (port === undefined || !command) return;
  const ip = event.destination?.ip;
  const pool = namedPools(command, event.process?.args, context.intel).find((p) => reachesPool(p, ip, port));
  if (!pool) return;
  const { to, named, destination } = poolContactText(pool, ip, port, OWN);
  out.push(
    signalFor(event, {
      kind: 'pool-contact',
      class: 'network',
      strength: 'strong',
      by: pool.how === 'miner-options' ? 'named-destination:miner-options' : 'named-destination',
      explanation: `${event.process?.name ?? 'process'} connected to ${to}, ${named}`,
      subject: { destination },
      intel: pool.intel,
    }),
  );
}

export const namedDestination: Classifier = {
  name: 'named-destination',
  actions: ['connect'],
  summary: 'connection to the pool host:port a process names in its own arguments',
  classify,
};
