/**
 * DNS messages (RFC 1035): the first question and the A/AAAA answers. Name compression is followed
 * with a jump limit, so a pointer loop ends; counts are bounded. Returns undefined for non-DNS bytes.
 */
import { ipv4String, ipv6String } from '../../util/ip.js';

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  /** Response code (0 = no error, 3 = NXDOMAIN). */
  rcode: number;
  name?: string;
  answers: string[];
}

/** Pointer jumps per name; a real name needs a handful. */
const MAX_JUMPS = 32;
/** Answers read per message; a pool lookup has a few. */
const MAX_ANSWERS = 64;

/** A name at `off` and the offset just past it in the record (not past any pointer target). */
function readName(b: Buffer, off: number): { name: string; next: number } | undefined {
  const labels: string[] = [];
  let next = -1;
  let total = 0;
  for (let jumps = 0; ; ) {
    if (off >= b.length) return undefined;
    const len = b[off];
    if (len === 0) {
      if (next < 0) next = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= b.length || ++jumps > MAX_JUMPS) return undefined;
      if (next < 0) next = off + 2;
      off = ((len & 0x3f) << 8) | b[off + 1];
      continue;
    }
    if (len & 0xc0) return undefined; // extended label types are obsolete
    if (off + 1 + len > b.length) return undefined;
    total += len + 1;
    if (total > 255) return undefined;
    labels.push(b.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return { name: labels.length === 0 ? '<Root>' : labels.join('.'), next };
}

export function parseDns(b: Buffer): DnsMessage | undefined {
  if (b.length < 12) return undefined;
  const flags = b.readUInt16BE(2);
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  const msg: DnsMessage = {
    id: b.readUInt16BE(0),
    isResponse: (flags & 0x8000) !== 0,
    rcode: flags & 0x0f,
    answers: [],
  };
  if ((flags >> 11) & 0x0f && ((flags >> 11) & 0x0f) > 6) return undefined; // opcodes above UPDATE are unassigned
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(b, off);
    if (!n || n.next + 4 > b.length) return i === 0 ? undefined : msg;
    if (i === 0) msg.name = n.name;
    off = n.next + 4;
  }
  for (let i = 0; i < an && i < MAX_ANSWERS; i++) {
    const n = readName(b, off);
    if (!n || n.next + 10 > b.length) return msg; // a cut answer keeps what came before it
    const type = b.readUInt16BE(n.next);
    const rdlen = b.readUInt16BE(n.next + 8);
    const rd = n.next + 10;
    if (rd + rdlen > b.length) return msg;
    if (type === 1 && rdlen === 4) msg.answers.push(ipv4String(b, rd));
    else if (type === 28 && rdlen === 16) msg.answers.push(ipv6String(b, rd));
    off = rd + rdlen;
  }
  return msg;
}
