/**
 * Network evidence from connect and DNS events: contact with a known pool or proxyware endpoint by
 * name (DNS question, connection to a named host, TLS SNI, HTTP Host, URL host) or by address, and mining ports as weak
 * evidence when nothing better matched. Names are never resolved by us: an address is matched only
 * when the event carries it (a connection's destination, a DNS answer the log recorded), and only as
 * strongly as its intel says (pool IPs rotate and share CDNs).
 */
import { isAddressHost } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { hostOfAuthority } from '../util/ip.js';
import type { Intel, IntelMatch } from './intel/types.js';
import { intelName, signalFor } from './make.js';
import type { Classifier, ClassifyContext } from './types.js';

/** DNS answers we look at per event; a record with hundreds of addresses is not a pool lookup. */
const MAX_ANSWERS = 16;

/** The process that made the connection, or the host when no process is known. */
export function who(event: CoalEvent): string {
  const p = event.process;
  if (p?.name || p?.executable) return `${p.name ?? p.executable} (pid ${p.pid ?? '?'})`;
  const host = event.host?.name ?? '?';
  return isAddressHost(host) ? host : `host ${host}`;
}

function contact(event: CoalEvent, match: IntelMatch, what: string, destination: string, out: Signal[]): void {
  const proxy = match.kind === 'proxyware-domain';
  out.push(
    signalFor(event, {
      kind: proxy ? 'proxyware-endpoint' : 'pool-contact',
      class: 'network',
      strength: match.strength,
      by: `network:${match.kind}`,
      explanation: `${who(event)} ${what}, a known ${proxy ? 'proxyware endpoint' : 'mining pool'} (intel ${intelName(match)}: ${match.indicator}${match.note ? `, ${match.note}` : ''})`,
      subject: { destination },
      intel: match,
    }),
  );
}

/** A host name as it appears in a field: lower-cased, without a trailing dot. */
function hostName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function classifyDns(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const question = event.dns?.question?.name;
  const byName = question ? intel.domain(question) : undefined;
  if (question && byName) {
    contact(event, byName, `looked up dns.question.name ${question}`, hostName(question), out);
    return;
  }
  // the resolver's answer, as logged: a pool address behind a name our lists do not know
  const answers = event.dns?.resolved_ip ?? [];
  for (let i = 0; i < answers.length && i < MAX_ANSWERS; i++) {
    const ip = answers[i];
    const byIp = typeof ip === 'string' ? intel.ip(ip) : undefined;
    if (byIp?.kind !== 'pool-ip') continue;
    const name = question ? `${question} ` : '';
    contact(event, byIp, `looked up ${name}and got dns.resolved_ip ${ip}`, ip, out);
    return;
  }
}

/** An HTTP Host header's host, whole: a name without its `:port`, an address (IPv6 without brackets) never cut. */
function hostHeader(host: string | undefined): string | undefined {
  return hostOfAuthority(host)?.host;
}

/** `ip:port`, with IPv6 addresses in brackets. */
export function endpoint(host: string, port: number | undefined): string {
  if (port === undefined) return host;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Proxyjacking hint (T1496.002): an HTTP request or TLS session to a site that echoes the caller's
 * address, the check proxy resellers run through each relay. Weak: ordinary scripts call them too. A
 * relay fanning out to many destinations with rotating user agents needs state across events: that
 * is the engine's job, not this classifier's.
 */
function checker(event: CoalEvent, intel: Intel, out: Signal[]): void {
  const host = event.http?.request?.host;
  if (!checkerAsked(event, intel, 'http.request.host', host === undefined ? undefined : hostHeader(host), out))
    checkerAsked(event, intel, 'tls.client.server_name', event.tls?.client?.server_name, out);
}

/** Whether the name one field asked for is a proxy checker's (then said, in `out`). */
function checkerAsked(event: CoalEvent, intel: Intel, field: string, name: unknown, out: Signal[]): boolean {
  const hit = typeof name === 'string' ? intel.proxyChecker(name) : undefined;
  if (typeof name !== 'string' || !name || !hit) return false;
  const agent = event.user_agent?.original;
  const shownAgent = typeof agent === 'string' ? `, user agent ${agent.slice(0, 80)}` : '';
  out.push(
    signalFor(event, {
      kind: 'proxyware-endpoint',
      class: 'network',
      strength: hit.strength,
      by: 'network:proxy-checker',
      explanation: `${who(event)} asked ${field} ${name}, a site that echoes the caller's address (intel ${intelName(hit)}: ${hit.indicator}), as proxy resellers do to test a relay${shownAgent} (weak on its own)`,
      subject: { destination: hostName(name) },
      intel: hit,
    }),
  );
  return true;
}

/** Whether the name one field of a connection carries is a known pool's or proxyware's (then said, in `out`). */
function namedContact(event: CoalEvent, intel: Intel, field: string, name: unknown, out: Signal[]): boolean {
  if (typeof name !== 'string' || !name) return false;
  const byName = intel.domain(name);
  if (!byName) return false;
  const port = event.destination?.port !== undefined ? `:${event.destination.port}` : '';
  contact(event, byName, `connected to ${field} ${name}${port}`, hostName(name), out);
  return true;
}

function classifyConnect(event: CoalEvent, { intel }: ClassifyContext, out: Signal[]): void {
  const dst = event.destination;
  // the names a connection carries (TLS SNI, HTTP Host) are matched exactly like a DNS question
  const host = event.http?.request?.host;
  if (
    namedContact(event, intel, 'destination.domain', dst?.domain, out) ||
    namedContact(event, intel, 'tls.client.server_name', event.tls?.client?.server_name, out) ||
    namedContact(event, intel, 'http.request.host', host === undefined ? undefined : hostHeader(host), out) ||
    namedContact(event, intel, 'url.domain', event.url?.domain, out)
  )
    return;
  checker(event, intel, out);
  const ip = dst?.ip;
  const byIp = ip ? intel.ip(ip) : undefined;
  if (ip && byIp?.kind === 'pool-ip') {
    contact(event, byIp, `connected to destination.ip ${endpoint(ip, dst?.port)}`, endpoint(ip, dst?.port), out);
    return;
  }
  const byPort = dst?.port !== undefined ? intel.port(dst.port) : undefined;
  const target = ip ?? dst?.domain ?? event.url?.domain;
  if (byPort && target)
    out.push(
      signalFor(event, {
        kind: 'mining-port',
        class: 'network',
        strength: 'weak',
        by: 'network:mining-port',
        explanation: `${who(event)} connected to ${endpoint(target, dst?.port)}: destination.port ${dst?.port} is a port mining pools commonly use (weak on its own)`,
        subject: { destination: endpoint(target, dst?.port) },
      }),
    );
}

function classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void {
  const action = event.event.action;
  if (action === 'dns-query') classifyDns(event, context, out);
  else if (action === 'connect') classifyConnect(event, context, out);
}

export const network: Classifier = {
  name: 'network',
  actions: ['dns-query', 'connect'],
  summary: 'pool and proxyware contact by name or address; mining ports (weak)',
  classify,
};
