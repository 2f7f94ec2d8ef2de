/**
 * Link, network and transport headers: one captured frame → addresses, ports, TCP sequence and
 * flags, and the transport payload. Non-IP frames (ARP, LLDP, …) are `undefined`, not problems;
 * a header that does not fit its frame is a reason string. Reads with bounds checks, never throws.
 */
import { ipv4String, ipv6String } from '../../util/ip.js';

export interface Decoded {
  transport: 'tcp' | 'udp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP only. */
  seq: number;
  flags: number;
  payload: Buffer;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** 802.1Q tags followed per frame (QinQ is two); more is a broken or hostile frame. */
const MAX_VLAN_TAGS = 4;
/** IPv6 extension headers followed before giving up. */
const MAX_EXT_HEADERS = 8;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

function ethertypeToIp(type: number, frame: Buffer, off: number): Decoded | string | undefined {
  if (type === ETH_IPV4) return ipv4(frame, off);
  if (type === ETH_IPV6) return ipv6(frame, off);
  return undefined;
}

export function decodeFrame(linkType: number, frame: Buffer): Decoded | string | undefined {
  switch (linkType) {
    case 1: {
      if (frame.length < 14) return 'Ethernet header cut short';
      let off = 12;
      let type = frame.readUInt16BE(off);
      for (let tags = 0; type === 0x8100 || type === 0x88a8 || type === 0x9100; tags++) {
        if (tags >= MAX_VLAN_TAGS) return 'too many VLAN tags';
        off += 4;
        if (frame.length < off + 2) return 'VLAN tag cut short';
        type = frame.readUInt16BE(off);
      }
      return ethertypeToIp(type, frame, off + 2);
    }
    case 113: // Linux cooked capture v1: protocol at 14
      if (frame.length < 16) return 'Linux SLL header cut short';
      return ethertypeToIp(frame.readUInt16BE(14), frame, 16);
    case 276: // Linux cooked capture v2: protocol first, 20-byte header
      if (frame.length < 20) return 'Linux SLL2 header cut short';
      return ethertypeToIp(frame.readUInt16BE(0), frame, 20);
    case 0: {
      // BSD loopback: address family in host byte order
      if (frame.length < 4) return 'loopback header cut short';
      const fam = frame.readUInt32LE(0) > 0xffff ? frame.readUInt32BE(0) : frame.readUInt32LE(0);
      if (fam === 2) return ipv4(frame, 4);
      if (fam === 24 || fam === 28 || fam === 30) return ipv6(frame, 4);
      return undefined;
    }
    case 101:
    case 12:
    case 14: // raw IP (12 on most BSDs, 14 on OpenBSD): version nibble decides
      return rawIp(frame);
    case 228:
      return ipv4(frame, 0);
    case 229:
      return ipv6(frame, 0);
    default:
      return undefined;
  }
}

function rawIp(frame: Buffer): Decoded | string | undefined {
  if (frame.length < 1) return 'raw IP frame is empty';
  const v = frame[0] >> 4;
  if (v === 4) return ipv4(frame, 0);
  if (v === 6) return ipv6(frame, 0);
  return undefined;
}

function ipv4(frame: Buffer, off: number): Decoded | string | undefined {
  if (frame.length < off + 20) return 'IPv4 header cut short';
  if (frame[off] >> 4 !== 4) return 'IPv4 header with a wrong version';
  const ihl = (frame[off] & 0x0f) * 4;
  if (ihl < 20) return `IPv4 header length ${ihl} below 20`;
  const total = frame.readUInt16BE(off + 2);
  const fragOffset = frame.readUInt16BE(off + 6) & 0x1fff;
  // later fragments carry no transport header; the first one is read as far as it goes
  if (fragOffset !== 0) return undefined;
  const proto = frame[off + 9];
  if (proto !== 6 && proto !== 17) return undefined;
  // TSO captures write total length 0; trust the frame then. Ethernet padding is cut by `total`.
  const end = total >= ihl ? Math.min(frame.length, off + total) : frame.length;
  if (off + ihl > end) return 'IPv4 header longer than its packet';
  return transport(proto, ipv4String(frame, off + 12), ipv4String(frame, off + 16), frame.subarray(off + ihl, end));
}

function ipv6(frame: Buffer, off: number): Decoded | string | undefined {
  if (frame.length < off + 40) return 'IPv6 header cut short';
  if (frame[off] >> 4 !== 6) return 'IPv6 header with a wrong version';
  const plen = frame.readUInt16BE(off + 4);
  let next = frame[off + 6];
  const src = ipv6String(frame, off + 8);
  const dst = ipv6String(frame, off + 24);
  const end = plen > 0 ? Math.min(frame.length, off + 40 + plen) : frame.length; // 0: jumbogram
  let p = off + 40;
  for (let n = 0; n < MAX_EXT_HEADERS; n++) {
    if (next === 6 || next === 17) return transport(next, src, dst, frame.subarray(p, end));
    if (next === 0 || next === 43 || next === 60 || next === 44 || next === 51) {
      if (p + 8 > end) return 'IPv6 extension header cut short';
      const hdrNext = frame[p];
      let len: number;
      if (next === 44) {
        if ((frame.readUInt16BE(p + 2) & 0xfff8) !== 0) return undefined; // a later fragment
        len = 8;
      } else if (next === 51) len = (frame[p + 1] + 2) * 4;
      else len = (frame[p + 1] + 1) * 8;
      p += len;
      next = hdrNext;
      continue;
    }
    return undefined; // ICMPv6, ESP, no next header
  }
  return 'too many IPv6 extension headers';
}

function transport(proto: number, src: string, dst: string, seg: Buffer): Decoded | string {
  if (proto === 17) {
    if (seg.length < 8) return 'UDP header cut short';
    const ulen = seg.readUInt16BE(4);
    const end = ulen >= 8 && ulen <= seg.length ? ulen : seg.length;
    return {
      transport: 'udp',
      src,
      dst,
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      seq: 0,
      flags: 0,
      payload: seg.subarray(8, end),
    };
  }
  if (seg.length < 20) return 'TCP header cut short';
  const hl = (seg[12] >> 4) * 4;
  if (hl < 20) return `TCP header length ${hl} below 20`;
  return {
    transport: 'tcp',
    src,
    dst,
    sport: seg.readUInt16BE(0),
    dport: seg.readUInt16BE(2),
    seq: seg.readUInt32BE(4),
    flags: seg[13],
    payload: seg.subarray(Math.min(hl, seg.length)),
  };
}
