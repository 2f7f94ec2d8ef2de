/**
 * Network evidence from one event: contact with a known pool or proxyware endpoint by name (DNS
 * query, connection to a named host) or address, and mining ports as weak evidence. Names are never
 * resolved by us; an IP match is only as strong as its intel says (pool IPs rotate and share CDNs).
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import type { IntelMatch } from './intel.js';
import { signalFor } from './make.js';
import type { Classifier, ClassifyContext } from './types.js';

function fromMatch(event: CoalEvent, match: IntelMatch, what: string, destination: string, out: Signal[]): void {
  const proxy = match.kind === 'proxyware-domain';
  out.push(
    signalFor(event, {
      kind: proxy ? 'proxyware-endpoint' : 'pool-contact',
      class: 'network',
      strength: match.strength,
      by: `network:${match.kind}`,
      explanation: `${what} ${destination}, a known ${proxy ? 'proxyware endpoint' : 'mining pool'} (intel ${match.set}: ${match.indicator})`,
      subject: { destination },
    }),
  );
}

function classify(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  const who = event.process?.name
    ? `${event.process.name} (pid ${event.process.pid ?? '?'})`
    : `host ${event.host?.name ?? '?'}`;
  if (action === 'dns-query') {
    const name = event.dns?.question?.name;
    const m = name ? intel.domain(name) : undefined;
    if (m && name) fromMatch(event, m, `${who} looked up`, name, out);
    return;
  }
  if (action !== 'connect') return;
  const dst = event.destination;
  if (!dst) return;
  const port = dst.port !== undefined ? `:${dst.port}` : '';
  const name = dst.domain ?? event.url?.domain;
  const byName = name ? intel.domain(name) : undefined;
  if (byName && name) {
    fromMatch(event, byName, `${who} connected to`, `${name}${port}`, out);
    return;
  }
  const byIp = dst.ip ? intel.ip(dst.ip) : undefined;
  if (byIp && dst.ip) {
    fromMatch(event, byIp, `${who} connected to`, `${dst.ip}${port}`, out);
    return;
  }
  const byPort = dst.port !== undefined ? intel.port(dst.port) : undefined;
  if (byPort)
    out.push(
      signalFor(event, {
        kind: 'mining-port',
        class: 'network',
        strength: 'weak',
        by: 'network:mining-port',
        explanation: `${who} connected to ${dst.ip ?? name ?? '?'}${port}, a port mining pools commonly use (weak on its own)`,
        subject: { destination: `${dst.ip ?? name ?? '?'}${port}` },
      }),
    );
}

export const network: Classifier = {
  name: 'network',
  summary: 'pool and proxyware contact by name or address; mining ports (weak)',
  classify,
};
