/**
 * IP addresses as text, the one way every source writes them: dotted IPv4, RFC 5952 IPv6 (what
 * Wireshark prints), so the same address from pcap, auditd and /proc compares equal.
 */
import { BlockList, isIP } from 'node:net';

export function ipv4String(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form (what Wireshark prints): lower-case hex, the longest run of ≥ 2 zero groups as `::`. */
export function ipv6String(b: Buffer, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(off + i * 2));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped addresses keep the dotted quad
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${ipv4String(b, off + 12)}`;
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Addresses inside an organisation or this machine (RFC 1918, CGNAT, link-local, loopback, ULA). */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['127.0.0.0', 8],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv4');
INTERNAL.addSubnet('fc00::', 7, 'ipv6');
INTERNAL.addSubnet('fe80::', 10, 'ipv6');
INTERNAL.addAddress('::1', 'ipv6');

/** Whether an address text is internal (never the remote, internet side of a flow); false for non-addresses. */
export function isInternalAddress(ip: string): boolean {
  const family = ip.length <= 64 ? isIP(ip) : 0;
  return family !== 0 && INTERNAL.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The host of an HTTP Host header or similar `host[:port]` value, whole: a name without its port,
 * an IPv4 address without its port, an IPv6 literal without its brackets and port (`[2001:db8::1]:80`
 * → `2001:db8::1`), a bare IPv6 address as it is. `address` says whether the host is an IP address
 * (never to be cut into labels). Undefined for an empty or over-long value or a broken literal.
 */
export function hostOfAuthority(value: unknown): { host: string; address: boolean } | undefined {
  if (typeof value !== 'string' || value.length > 300) return undefined;
  const v = value.trim();
  if (v.length === 0) return undefined;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    const rest = close < 0 ? '' : v.slice(close + 1);
    const inner = close < 0 ? '' : v.slice(1, close);
    if (isIP(inner) !== 6 || (rest !== '' && !/^:\d{1,5}$/.test(rest))) return undefined;
    return { host: inner, address: true };
  }
  if (isIP(v) !== 0) return { host: v, address: true };
  const colon = v.lastIndexOf(':');
  const host = colon > 0 && v.indexOf(':') === colon && /^\d{1,5}$/.test(v.slice(colon + 1)) ? v.slice(0, colon) : v;
  if (host.length === 0 || host.includes(':')) return undefined;
  return { host, address: isIP(host) !== 0 };
}
