/**
 * Pool contact by a process that names its pool: a connection whose port matches a `host:port` in
 * the same process's command line, where that host is a known pool or written as a Stratum URL.
 * Auditd and socket tables see only IPs and we never resolve names ourselves; the miner's own
 * arguments tie the IP to the pool name. (The engine fills the command line in from exec events.)
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import type { IntelMatch } from './intel/types.js';
import { intelName, signalFor } from './make.js';
import { minerOptions } from './miner-args.js';
import type { Classifier, ClassifyContext } from './types.js';

const MAX_SCAN_CHARS = 4096;
// host:port with an optional scheme; hosts are DNS names (bounded labels), ports 1-5 digits
const HOST_PORT = /(?:([a-z0-9]+\+[a-z]+|[a-z]+):\/\/)?((?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}):(\d{1,5})\b/gi;
// a Stratum URL naming its pool by IPv4 address: the connection must go to that very address and port
const STRATUM_IP_PORT = /\b(stratum\+[a-z0-9]{1,10}|stratum[0-9]?):\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b/gi;

/** Strong pool contact: `to` is where the connection went, `pool` how the command line names it. */
function poolContact(
  event: CoalEvent,
  to: string,
  pool: string,
  destination: string,
  cited: string,
  intel: IntelMatch | undefined,
): Signal {
  return signalFor(event, {
    kind: 'pool-contact',
    class: 'network',
    strength: 'strong',
    by: 'named-destination',
    explanation: `${event.process?.name ?? 'process'} connected to ${to}, ${pool} named in its own command line${cited}`,
    subject: { destination },
    intel,
  });
}

function classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void {
  if (event.event.action !== 'connect') return;
  const port = event.destination?.port;
  const command = event.process?.command_line;
  if (port === undefined || !command) return;
  for (const m of command.slice(0, MAX_SCAN_CHARS).matchAll(HOST_PORT)) {
    if (Number(m[3]) !== port) continue;
    const scheme = (m[1] ?? '').toLowerCase();
    const host = m[2].toLowerCase();
    const known = context.intel.domain(host);
    const isStratum = scheme.startsWith('stratum');
    if (!isStratum && known?.kind !== 'pool-domain') continue;
    const ip = event.destination?.ip ?? '?';
    const pool = `the port of the pool ${scheme ? `${scheme}://` : ''}${host}:${port}`;
    const cited = known ? ` (intel ${intelName(known)})` : '';
    out.push(poolContact(event, `${ip}:${port}`, pool, `${host}:${port} (${ip})`, cited, known));
    return;
  }
  const ip = event.destination?.ip;
  for (const m of command.slice(0, MAX_SCAN_CHARS).matchAll(STRATUM_IP_PORT)) {
    if (Number(m[3]) !== port || m[2] !== ip) continue;
    const pool = `the Stratum pool ${m[1].toLowerCase()}://${ip}:${port}`;
    out.push(poolContact(event, `${ip}:${port}`, pool, `${ip}:${port}`, '', undefined));
    return;
  }
  // an unlisted pool the process names in its own miner options (`-o 198.51.100.7:3333 -u <wallet>`):
  // campaigns rotate pool addresses daily, so the miner's own arguments are the intel
  const options = minerOptions(
    event.process?.args && event.process.args.length > 0 ? event.process.args : command,
    context.intel,
  );
  if (!options?.conclusive) return;
  for (const pool of options.pools) {
    if (pool.port !== port) continue;
    const isAddress = /^[\d.]+$/.test(pool.host) || pool.host.includes(':');
    if (isAddress && pool.host !== ip?.toLowerCase()) continue;
    const to = `${ip ?? '?'}:${port}`;
    const named = `the pool ${pool.written} named in its own miner options (${options.shown.slice(0, 3).join(' ')})`;
    out.push(
      signalFor(event, {
        kind: 'pool-contact',
        class: 'network',
        strength: 'strong',
        by: 'named-destination:miner-options',
        explanation: `${event.process?.name ?? 'process'} connected to ${to}, ${named}${isAddress ? '' : ', by that port (the name was not resolved here)'}`,
        subject: { destination: isAddress ? to : `${pool.host}:${port} (${ip ?? '?'})` },
      }),
    );
    return;
  }
}

export const namedDestination: Classifier = {
  name: 'named-destination',
  summary: 'connection to the pool host:port a process names in its own arguments',
  classify,
};
