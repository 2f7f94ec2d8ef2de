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
