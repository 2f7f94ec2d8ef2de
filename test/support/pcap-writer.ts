/**
 * Test-only pcap/pcapng writer: packets described by their fields → valid capture files, so the
 * reader, the fuzzer and the fixtures have input whose every byte is known. Checksums are left zero
 * (readers and tshark do not verify them by default).
 */

export type Link = 'ethernet' | 'sll' | 'sll2' | 'raw';

export interface PacketSpec {
  tsMs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  transport: 'tcp' | 'udp';
  seq?: number;
  ack?: number;
  /** TCP flags: S, A, F, R, P letters. */
  flags?: string;
  payload?: Buffer | string;
  vlan?: number[];
}

function ipBytes(ip: string): Buffer {
  if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return b;
}

function flagBits(f: string): number {
  let n = 0;
  if (f.includes('F')) n |= 1;
  if (f.includes('S')) n |= 2;
  if (f.includes('R')) n |= 4;
  if (f.includes('P')) n |= 8;
  if (f.includes('A')) n |= 16;
  return n;
}

/** The IP packet (header, transport header, payload). */
export function ipPacket(p: PacketSpec): Buffer {
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : (p.payload ?? Buffer.alloc(0));
  let seg: Buffer;
  if (p.transport === 'tcp') {
    seg = Buffer.alloc(20);
    seg.writeUInt16BE(p.sport, 0);
    seg.writeUInt16BE(p.dport, 2);
    seg.writeUInt32BE((p.seq ?? 0) >>> 0, 4);
    seg.writeUInt32BE((p.ack ?? 0) >>> 0, 8);
    seg[12] = 5 << 4;
    seg[13] = flagBits(p.flags ?? 'A');
    seg.writeUInt16BE(65535, 14);
  } else {
    seg = Buffer.alloc(8);
    seg.writeUInt16BE(p.sport, 0);
    seg.writeUInt16BE(p.dport, 2);
    seg.writeUInt16BE(8 + payload.length, 4);
  }
  const proto = p.transport === 'tcp' ? 6 : 17;
  const body = Buffer.concat([seg, payload]);
  if (p.src.includes(':')) {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(body.length, 4);
    h[6] = proto;
    h[7] = 64;
    ipBytes(p.src).copy(h, 8);
    ipBytes(p.dst).copy(h, 24);
    return Buffer.concat([h, body]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h[8] = 64;
  h[9] = proto;
  ipBytes(p.src).copy(h, 12);
  ipBytes(p.dst).copy(h, 16);
  return Buffer.concat([h, body]);
}

export function frame(p: PacketSpec, link: Link): Buffer {
  const ip = ipPacket(p);
  const type = p.src.includes(':') ? 0x86dd : 0x0800;
  if (link === 'raw') return ip;
  if (link === 'sll') {
    const h = Buffer.alloc(16);
    h.writeUInt16BE(0, 0);
    h.writeUInt16BE(1, 2);
    h.writeUInt16BE(6, 4);
    h.writeUInt16BE(type, 14);
    return Buffer.concat([h, ip]);
  }
  if (link === 'sll2') {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(type, 0);
    h.writeUInt32BE(1, 4);
    h.writeUInt16BE(1, 8);
    h[11] = 6;
    return Buffer.concat([h, ip]);
  }
  const tags = p.vlan ?? [];
  const h = Buffer.alloc(14 + tags.length * 4);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(h, 0);
  tags.forEach((id, i) => {
    h.writeUInt16BE(i === 0 && tags.length > 1 ? 0x88a8 : 0x8100, 12 + i * 4);
    h.writeUInt16BE(id, 14 + i * 4);
  });
  h.writeUInt16BE(type, 12 + tags.length * 4);
  return Buffer.concat([h, ip]);
}

export const LINK_TYPES: Record<Link, number> = { ethernet: 1, sll: 113, sll2: 276, raw: 101 };

export interface WriteOptions {
  link?: Link;
  /** Cut captured bytes to this length (orig length kept). */
  snapLen?: number;
  bigEndian?: boolean;
}

export function writePcap(packets: PacketSpec[], opts: WriteOptions = {}): Buffer {
  const link = opts.link ?? 'ethernet';
  const be = opts.bigEndian === true;
  const u32 = (b: Buffer, v: number, o: number) => (be ? b.writeUInt32BE(v >>> 0, o) : b.writeUInt32LE(v >>> 0, o));
  const u16 = (b: Buffer, v: number, o: number) => (be ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const g = Buffer.alloc(24);
  u32(g, 0xa1b2c3d4, 0);
  u16(g, 2, 4);
  u16(g, 4, 6);
  u32(g, opts.snapLen ?? 262144, 16);
  u32(g, LINK_TYPES[link], 20);
  const parts: Buffer[] = [g];
  for (const p of packets) {
    const f = frame(p, link);
    const cap = Math.min(f.length, opts.snapLen ?? f.length);
    const h = Buffer.alloc(16);
    u32(h, Math.floor(p.tsMs / 1000), 0);
    u32(h, Math.round((p.tsMs % 1000) * 1000), 4);
    u32(h, cap, 8);
    u32(h, f.length, 12);
    parts.push(h, f.subarray(0, cap));
  }
  return Buffer.concat(parts);
}

function ngBlock(type: number, body: Buffer): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

/** pcapng (little-endian) with one interface; `tsresol` as the if_tsresol option byte (default 6 = µs). */
export function writePcapng(packets: PacketSpec[], opts: WriteOptions & { tsresol?: number } = {}): Buffer {
  const link = opts.link ?? 'ethernet';
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeInt32LE(-1, 8);
  shb.writeInt32LE(-1, 12);
  const idb = Buffer.alloc(8 + (opts.tsresol !== undefined ? 12 : 0));
  idb.writeUInt16LE(LINK_TYPES[link], 0);
  idb.writeUInt32LE(opts.snapLen ?? 0, 4);
  if (opts.tsresol !== undefined) {
    idb.writeUInt16LE(9, 8);
    idb.writeUInt16LE(1, 10);
    idb[12] = opts.tsresol;
  }
  const perMs =
    opts.tsresol === undefined ? 1000 : (opts.tsresol & 0x80 ? 2 ** (opts.tsresol & 0x7f) : 10 ** opts.tsresol) / 1000;
  const parts: Buffer[] = [ngBlock(0x0a0d0d0a, shb), ngBlock(1, idb)];
  for (const p of packets) {
    const f = frame(p, link);
    const cap = Math.min(f.length, opts.snapLen ?? f.length);
    const ts = BigInt(Math.round(p.tsMs * perMs));
    const h = Buffer.alloc(20);
    h.writeUInt32LE(0, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(cap, 12);
    h.writeUInt32LE(f.length, 16);
    parts.push(ngBlock(6, Buffer.concat([h, f.subarray(0, cap)])));
  }
  return Buffer.concat(parts);
}

export interface Endpoints {
  client: string;
  server: string;
  cport: number;
  sport: number;
}

/** A TCP session: handshake, each exchange as one segment in its direction, FIN both ways. */
export function tcpSession(
  e: Endpoints,
  startMs: number,
  exchanges: Array<{ from: 'client' | 'server'; data: string | Buffer }>,
  opts: { fin?: boolean; vlan?: number[] } = {},
): PacketSpec[] {
  let cseq = 1000;
  let sseq = 5000;
  let t = startMs;
  const c = (flags: string, payload?: Buffer | string): PacketSpec => ({
    tsMs: t++,
    src: e.client,
    dst: e.server,
    sport: e.cport,
    dport: e.sport,
    transport: 'tcp',
    seq: cseq,
    ack: sseq,
    flags,
    payload,
    vlan: opts.vlan,
  });
  const s = (flags: string, payload?: Buffer | string): PacketSpec => ({
    tsMs: t++,
    src: e.server,
    dst: e.client,
    sport: e.sport,
    dport: e.cport,
    transport: 'tcp',
    seq: sseq,
    ack: cseq,
    flags,
    payload,
    vlan: opts.vlan,
  });
  const out: PacketSpec[] = [c('S')];
  cseq++;
  out.push(s('SA'));
  sseq++;
  out.push(c('A'));
  for (const x of exchanges) {
    const len = Buffer.byteLength(x.data);
    if (x.from === 'client') {
      out.push(c('PA', x.data));
      cseq += len;
    } else {
      out.push(s('PA', x.data));
      sseq += len;
    }
  }
  if (opts.fin !== false) {
    out.push(c('FA'));
    cseq++;
    out.push(s('FA'));
    sseq++;
    out.push(c('A'));
  }
  return out;
}

function dnsName(name: string): Buffer {
  return Buffer.concat([
    ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/** A DNS query for `name` (type A), or its response with A answers (names compressed to the question). */
export function dnsMessage(id: number, name: string, answers?: string[]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(answers ? 0x8180 : 0x0100, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers?.length ?? 0, 6);
  const q = Buffer.concat([dnsName(name), Buffer.from([0, 1, 0, 1])]);
  const an = (answers ?? []).map((ip) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0);
    r.writeUInt16BE(1, 2);
    r.writeUInt16BE(1, 4);
    r.writeUInt32BE(60, 6);
    r.writeUInt16BE(4, 10);
    ipBytes(ip).copy(r, 12);
    return r;
  });
  return Buffer.concat([h, q, ...an]);
}

export function dnsExchange(
  client: string,
  server: string,
  tsMs: number,
  id: number,
  name: string,
  answers: string[],
): PacketSpec[] {
  const base = { src: client, dst: server, sport: 40000 + id, dport: 53, transport: 'udp' as const };
  return [
    { ...base, tsMs, payload: dnsMessage(id, name) },
    {
      src: server,
      dst: client,
      sport: 53,
      dport: base.sport,
      transport: 'udp',
      tsMs: tsMs + 5,
      payload: dnsMessage(id, name, answers),
    },
  ];
}

/** A TLS ClientHello record carrying `sni`. */
export function clientHello(sni: string): Buffer {
  const name = Buffer.from(sni);
  const sniExt = Buffer.alloc(9 + name.length);
  sniExt.writeUInt16BE(0, 0);
  sniExt.writeUInt16BE(5 + name.length, 2);
  sniExt.writeUInt16BE(3 + name.length, 4);
  sniExt[6] = 0;
  sniExt.writeUInt16BE(name.length, 7);
  name.copy(sniExt, 9);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    Buffer.from([0, 2, 0x13, 0x01]),
    Buffer.from([1, 0]),
    Buffer.from([(sniExt.length >> 8) & 0xff, sniExt.length & 0xff]),
    sniExt,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, (hs.length >> 8) & 0xff, hs.length & 0xff]), hs]);
}
