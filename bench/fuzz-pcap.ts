/**
 * Fuzzes the pcap/pcapng reader and the network path behind it:
 * `node --import tsx bench/fuzz-pcap.ts [--cases N] [--seed S] [--replay I]` (default 100,000 cases, seed 1).
 * Each case takes a capture (test/fixtures/pcap, plus ../shared/data/pcap when present; files over 64 KiB
 * cut to a prefix of whole records) and applies one to four seeded mutations aimed at the format: bit
 * flips, overwrites, truncation; pcap global header fields and record lengths/times; pcapng block types
 * and lengths, the section byte-order magic, interface blocks (link type, snaplen, if_tsresol), packet
 * blocks (interface id, captured length, simple packet blocks), options with bogus lengths; inside
 * packets Ethernet types and VLAN stacks, IPv4 and IPv6 headers and extension chains, TCP data offset,
 * flags and sequence numbers (jumps, wrap, split and reordered segments), UDP length, DNS counts, labels
 * and pointers, TLS record/handshake/extension lengths, HTTP request heads, Stratum-like JSON; records
 * duplicated, dropped, swapped and spliced in from other files. The registered `pcap` source reads the
 * result as the tests do (`memoryInput` + `readAll`), and the Stratum classifier runs on every connect
 * event. A throw (including one the reader caught and reported as PCAP_INTERNAL), an item that is not a
 * well-formed event or issue (an issue names the file and a record or offset), output that differs when
 * the same bytes arrive in other chunks (one, or a seeded size) than the tests' 7,919, or a case over 2 s is a
 * failure; its input is saved to bench/results/fuzz-pcap-failures/ and reruns with `--replay I`. Cases
 * run in a child process watched from here, so a case that never ends is killed and counted as a hang.
 * Writes bench/results/fuzz-pcap.json and .md. Case I's mutations depend only on (seed, I).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CoalEvent } from '../src/model/event.js';
import type { Issue } from '../src/model/issue.js';
import type { Signal } from '../src/model/signal.js';
import { loadBundledIntel } from '../src/signals/intel/store.js';
import { stratum } from '../src/signals/stratum.js';
import { memoryInput, readAll } from '../src/sources/contract.js';
import { pcap } from '../src/sources/pcap/index.js';
import {
  clientHello,
  dnsExchange,
  dnsMessage,
  tcpSession,
  writePcap,
  writePcapng,
} from '../test/support/pcap-writer.js';
import {
  bitcoinSession,
  ethereumGetworkSession,
  mergeCaptures,
  moneroSession,
} from '../test/support/stratum-captures.js';
import { caseSeed, Rng } from './fuzz-rng.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const FAILURES = join(RESULTS, 'fuzz-pcap-failures');
/** `../shared/data/pcap` beside the checkout, when the team's shared data is there. */
const SHARED = join(HERE, '..', '..', 'shared', 'data', 'pcap');
export const FIXTURE_DIR = join(HERE, '..', 'test', 'fixtures', 'pcap');
export const HANG_MS = 2000;
/** A case still running after this long is killed (it is a hang either way; this bounds the wait). */
const KILL_MS = 15_000;
/** Corpus files are cut to a prefix of whole records no longer than this: fast cases. */
const MAX_INPUT = 64 * 1024;

// ---------------------------------------------------------------- the file's structure

const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const MAGICS = [0xa1b2c3d4, 0xa1b23c4d];

interface Rec {
  /** 'pcap' record, or the pcapng block type name. */
  kind: 'pcap' | 'shb' | 'idb' | 'epb' | 'pb' | 'spb' | 'other';
  at: number;
  /** Whole record or block, header included. */
  size: number;
  little: boolean;
  /** Packet bytes, for packet records. */
  dataAt: number;
  dataLen: number;
  linkType: number;
}

interface Layout {
  kind: 'pcap' | 'pcapng' | undefined;
  little: boolean;
  /** Nanosecond pcap. */
  ns: boolean;
  recs: Rec[];
}

const isPacket = (r: Rec) => r.kind === 'pcap' || r.kind === 'epb' || r.kind === 'pb' || r.kind === 'spb';

function rd32(b: Buffer, o: number, little: boolean): number {
  return little ? b.readUInt32LE(o) : b.readUInt32BE(o);
}
function wr32(b: Buffer, v: number, o: number, little: boolean): void {
  if (little) b.writeUInt32LE(v >>> 0, o);
  else b.writeUInt32BE(v >>> 0, o);
}
function wr16(b: Buffer, v: number, o: number, little: boolean): void {
  if (little) b.writeUInt16LE(v & 0xffff, o);
  else b.writeUInt16BE(v & 0xffff, o);
}
const pad4 = (n: number) => (n + 3) & ~3;

/** Records (pcap) or blocks (pcapng) as far as their lengths hold together. */
export function layout(buf: Buffer): Layout {
  const L: Layout = { kind: undefined, little: true, ns: false, recs: [] };
  if (buf.length < 12) return L;
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  if (MAGICS.includes(le) || MAGICS.includes(be)) {
    L.kind = 'pcap';
    L.little = MAGICS.includes(le);
    L.ns = (L.little ? le : be) === 0xa1b23c4d;
    if (buf.length < 24) return L;
    const link = rd32(buf, 20, L.little) & 0xffff;
    for (let at = 24; at + 16 <= buf.length && L.recs.length < 100_000; ) {
      const incl = rd32(buf, at + 8, L.little);
      if (incl > 262144 || at + 16 + incl > buf.length) break;
      L.recs.push({
        kind: 'pcap',
        at,
        size: 16 + incl,
        little: L.little,
        dataAt: at + 16,
        dataLen: incl,
        linkType: link,
      });
      at += 16 + incl;
    }
    return L;
  }
  if (le !== SHB) return L;
  L.kind = 'pcapng';
  let little = buf.readUInt32LE(8) === BOM;
  L.little = little;
  let links: number[] = [];
  for (let at = 0; at + 12 <= buf.length && L.recs.length < 100_000; ) {
    if (buf.readUInt32LE(at) === SHB) {
      if (buf.readUInt32LE(at + 8) === BOM) little = true;
      else if (buf.readUInt32BE(at + 8) === BOM) little = false;
      else break;
      links = [];
    }
    const type = rd32(buf, at, little);
    const size = rd32(buf, at + 4, little);
    if (size < 12 || size % 4 !== 0 || at + size > buf.length || rd32(buf, at + size - 4, little) !== size) break;
    const r: Rec = { kind: 'other', at, size, little, dataAt: 0, dataLen: 0, linkType: -1 };
    if (type === SHB) r.kind = 'shb';
    else if (type === 1 && size >= 20) {
      r.kind = 'idb';
      links.push((little ? buf.readUInt16LE(at + 8) : buf.readUInt16BE(at + 8)) as number);
    } else if ((type === 6 || type === 2) && size >= 32) {
      const cap = rd32(buf, at + 20, little);
      const id = type === 6 ? rd32(buf, at + 8, little) : little ? buf.readUInt16LE(at + 8) : buf.readUInt16BE(at + 8);
      if (28 + cap <= size - 4) {
        r.kind = type === 6 ? 'epb' : 'pb';
        r.dataAt = at + 28;
        r.dataLen = cap;
        r.linkType = links[id] ?? -1;
      }
    } else if (type === 3 && size >= 16) {
      r.kind = 'spb';
      r.dataAt = at + 12;
      r.dataLen = Math.min(rd32(buf, at + 8, little), size - 16);
      r.linkType = links[0] ?? -1;
    }
    L.recs.push(r);
    at += size;
  }
  return L;
}

/** The record `r` with `data` as its packet bytes, lengths (and any snaplen cut) kept consistent. */
function recordWith(buf: Buffer, r: Rec, data: Buffer): Buffer {
  const old = buf.subarray(r.at, r.at + r.size);
  if (r.kind === 'pcap') {
    const h = Buffer.from(old.subarray(0, 16));
    const cut = Math.max(0, rd32(h, 12, r.little) - rd32(h, 8, r.little));
    wr32(h, data.length, 8, r.little);
    wr32(h, data.length + cut, 12, r.little);
    return Buffer.concat([h, data]);
  }
  if (r.kind === 'spb') {
    const out = Buffer.alloc(16 + pad4(data.length));
    old.copy(out, 0, 0, 8);
    wr32(out, out.length, 4, r.little);
    wr32(out, data.length, 8, r.little);
    data.copy(out, 12);
    wr32(out, out.length, out.length - 4, r.little);
    return out;
  }
  // EPB / PB: options after the padded data are kept
  const opts = old.subarray(Math.min(28 + pad4(r.dataLen), r.size - 4), r.size - 4);
  const out = Buffer.alloc(28 + pad4(data.length) + opts.length + 4);
  old.copy(out, 0, 0, 28);
  const cut = Math.max(0, rd32(old, 24, r.little) - rd32(old, 20, r.little));
  wr32(out, out.length, 4, r.little);
  wr32(out, data.length, 20, r.little);
  wr32(out, data.length + cut, 24, r.little);
  data.copy(out, 28);
  opts.copy(out, 28 + pad4(data.length));
  wr32(out, out.length, out.length - 4, r.little);
  return out;
}

function replaceRecs(buf: Buffer, r: Rec, with_: Buffer[]): Buffer {
  return Buffer.concat([buf.subarray(0, r.at), ...with_, buf.subarray(r.at + r.size)]);
}

/** A new packet record in the file's own format (pcapng: an EPB on `iface`). */
function newRecord(L: Layout, tsUs: number, data: Buffer, orig: number, iface = 0): Buffer {
  if (L.kind === 'pcap') {
    const h = Buffer.alloc(16);
    wr32(h, Math.floor(tsUs / 1e6), 0, L.little);
    wr32(h, L.ns ? (tsUs % 1e6) * 1000 : tsUs % 1e6, 4, L.little);
    wr32(h, data.length, 8, L.little);
    wr32(h, orig, 12, L.little);
    return Buffer.concat([h, data]);
  }
  const out = Buffer.alloc(32 + pad4(data.length));
  wr32(out, 6, 0, L.little);
  wr32(out, out.length, 4, L.little);
  wr32(out, iface, 8, L.little);
  wr32(out, Math.floor(tsUs / 4294967296), 12, L.little);
  wr32(out, tsUs % 4294967296, 16, L.little);
  wr32(out, data.length, 20, L.little);
  wr32(out, orig, 24, L.little);
  data.copy(out, 28);
  wr32(out, out.length, out.length - 4, L.little);
  return out;
}

/** Time (µs, as written) and original length of a packet record. */
function packetMeta(buf: Buffer, r: Rec): { tsUs: number; orig: number } {
  if (r.kind === 'pcap')
    return {
      tsUs: rd32(buf, r.at, r.little) * 1e6 + (rd32(buf, r.at + 4, r.little) % 1e6),
      orig: rd32(buf, r.at + 12, r.little),
    };
  if (r.kind === 'spb') return { tsUs: 0, orig: rd32(buf, r.at + 8, r.little) };
  return {
    tsUs: rd32(buf, r.at + 12, r.little) * 4294967296 + rd32(buf, r.at + 16, r.little),
    orig: rd32(buf, r.at + 24, r.little),
  };
}

// ---------------------------------------------------------------- inside a packet

interface Dissected {
  /** Offset of the ethertype field (Ethernet, SLL, SLL2), else -1. */
  ethType: number;
  l3: number;
  v: 4 | 6;
  l4: number;
  proto: number;
  pay: number;
}

/** Header offsets of an IP packet in a frame, as far as they go; mirrors decode.ts loosely. */
export function dissect(link: number, d: Buffer): Dissected | undefined {
  let l3: number;
  let ethType = -1;
  if (link === 1) {
    if (d.length < 14) return undefined;
    ethType = 12;
    for (let tags = 0; tags < 8 && [0x8100, 0x88a8, 0x9100].includes(d.readUInt16BE(ethType)); tags++) {
      if (d.length < ethType + 6) return undefined;
      ethType += 4;
    }
    l3 = ethType + 2;
  } else if (link === 113) {
    ethType = 14;
    l3 = 16;
  } else if (link === 276) {
    ethType = 0;
    l3 = 20;
  } else if (link === 0) l3 = 4;
  else if ([101, 12, 14, 228, 229].includes(link)) l3 = 0;
  else return undefined;
  if (d.length < l3 + 20) return undefined;
  const v = d[l3] >> 4;
  let l4: number;
  let proto: number;
  if (v === 4) {
    l4 = l3 + Math.max(20, (d[l3] & 15) * 4);
    proto = d[l3 + 9];
  } else if (v === 6) {
    if (d.length < l3 + 40) return undefined;
    proto = d[l3 + 6];
    l4 = l3 + 40;
    for (let n = 0; n < 8 && [0, 43, 60, 44, 51].includes(proto) && l4 + 8 <= d.length; n++) {
      const next = d[l4];
      l4 += proto === 44 ? 8 : proto === 51 ? (d[l4 + 1] + 2) * 4 : (d[l4 + 1] + 1) * 8;
      proto = next;
    }
  } else return undefined;
  if (l4 > d.length) return undefined;
  let pay = l4;
  if (proto === 6) pay = l4 + 20 <= d.length ? Math.min(d.length, l4 + (d[l4 + 12] >> 4) * 4) : d.length;
  else if (proto === 17) pay = Math.min(d.length, l4 + 8);
  return { ethType, l3, v, l4, proto, pay };
}

/** Frame with a new transport payload; IP and UDP lengths follow unless `keepLengths`. */
function withPayload(d: Buffer, x: Dissected, payload: Buffer, keepLengths = false): Buffer {
  const out = Buffer.concat([d.subarray(0, x.pay), payload]);
  if (!keepLengths) fixLengths(out, x);
  return out;
}

function fixLengths(d: Buffer, x: Dissected): void {
  const ipLen = Math.min(0xffff, d.length - x.l3);
  if (x.v === 4 && x.l3 + 4 <= d.length) d.writeUInt16BE(ipLen, x.l3 + 2);
  if (x.v === 6 && x.l3 + 6 <= d.length) d.writeUInt16BE(Math.max(0, ipLen - 40), x.l3 + 4);
  if (x.proto === 17 && x.l4 + 8 <= d.length) d.writeUInt16BE(Math.min(0xffff, d.length - x.l4), x.l4 + 4);
}

interface Pkt {
  L: Layout;
  r: Rec;
  d: Buffer;
  x: Dissected;
}

/** A random packet that dissects (and passes `want`), its bytes a view into `buf`. */
function somePacket(buf: Buffer, rng: Rng, want: (p: Pkt) => boolean = () => true): Pkt | undefined {
  const L = layout(buf);
  const found: Pkt[] = [];
  for (const r of L.recs) {
    if (!isPacket(r)) continue;
    const d = buf.subarray(r.dataAt, r.dataAt + r.dataLen);
    const x = dissect(r.linkType, d);
    if (!x) continue;
    const p = { L, r, d, x };
    if (want(p)) found.push(p);
  }
  return found.length === 0 ? undefined : rng.pick(found);
}

const tcpWith = (p: Pkt) => p.x.proto === 6 && p.x.l4 + 20 <= p.d.length;
const payloadOf = (p: Pkt) => p.d.subarray(p.x.pay);
const tcpData = (p: Pkt) => tcpWith(p) && p.d.length > p.x.pay;
const isDns = (p: Pkt) =>
  (p.x.proto === 17 || p.x.proto === 6) &&
  p.x.l4 + 4 <= p.d.length &&
  (p.d.readUInt16BE(p.x.l4) === 53 || p.d.readUInt16BE(p.x.l4 + 2) === 53) &&
  p.d.length >= p.x.pay + 12;
const isTls = (p: Pkt) => tcpData(p) && p.d[p.x.pay] === 0x16 && p.d[p.x.pay + 1] === 3;
const isHttp = (p: Pkt) => tcpData(p) && /^[A-Z]{3,8} \S/.test(p.d.toString('latin1', p.x.pay, p.x.pay + 12));

// ---------------------------------------------------------------- values

/** Values that break size and offset arithmetic. */
const BOUNDARY = [0, 1, 2, 3, 4, 7, 8, 12, 16, 20, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x40000, 0x40001, 0x7fffffff];

function u32(rng: Rng, near?: number): number {
  const c = rng.int(10);
  if (c < 5) return rng.pick([...BOUNDARY, 0xffffffff, 0x80000000]);
  if (c < 8 && near !== undefined) return (near + rng.pick([-4, -1, 1, 4, 0x10000])) >>> 0;
  return rng.int(0x100000000);
}
function u16(rng: Rng, near?: number): number {
  const c = rng.int(10);
  if (c < 5) return rng.pick([0, 1, 2, 3, 4, 7, 8, 12, 20, 39, 40, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff]);
  if (c < 8 && near !== undefined) return (near + rng.pick([-2, -1, 1, 2, 8])) & 0xffff;
  return rng.int(0x10000);
}
function u8(rng: Rng, near?: number): number {
  const c = rng.int(10);
  if (c < 5) return rng.pick([0, 1, 2, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xfe, 0xff]);
  if (c < 8 && near !== undefined) return (near + rng.pick([-1, 1, 2])) & 0xff;
  return rng.int(256);
}

const LINK_TYPES = [0, 1, 12, 14, 101, 113, 228, 229, 276];

// ---------------------------------------------------------------- mutations

export interface Corpus {
  name: string;
  buf: Buffer;
}
type Mutation = (buf: Buffer, rng: Rng, corpus: readonly Corpus[]) => Buffer;

/** Length fields inside a DNS message: counts, label bytes, answer type/length (offsets and sizes). */
function dnsFields(m: Buffer): Array<{ at: number; size: 1 | 2; label?: boolean }> {
  const out: Array<{ at: number; size: 1 | 2; label?: boolean }> = [];
  for (let o = 2; o < 12; o += 2) out.push({ at: o, size: 2 });
  const name = (o: number): number => {
    for (let n = 0; o < m.length && n < 64; n++) {
      const len = m[o];
      out.push({ at: o, size: 1, label: true });
      if (len === 0) return o + 1;
      if ((len & 0xc0) === 0xc0) return o + 2;
      o += 1 + len;
    }
    return m.length;
  };
  let o = name(12) + 4;
  const an = Math.min(m.readUInt16BE(6), 16);
  for (let i = 0; i < an && o < m.length; i++) {
    o = name(o);
    if (o + 10 > m.length) break;
    out.push({ at: o, size: 2 }, { at: o + 8, size: 2 });
    o += 10 + m.readUInt16BE(o + 8);
  }
  return out.filter((f) => f.at + f.size <= m.length);
}

/** Length fields of a TLS ClientHello: record, handshake, session id, suites, compression, extensions, SNI. */
function tlsFields(b: Buffer): Array<{ at: number; size: 1 | 2 | 3 }> {
  const out: Array<{ at: number; size: 1 | 2 | 3 }> = [{ at: 3, size: 2 }];
  const h = 5;
  if (b.length < h + 4) return out;
  out.push({ at: h + 1, size: 3 });
  let p = h + 4 + 34;
  if (p >= b.length) return out;
  out.push({ at: p, size: 1 });
  p += 1 + b[p];
  if (p + 2 > b.length) return out;
  out.push({ at: p, size: 2 });
  p += 2 + b.readUInt16BE(p);
  if (p >= b.length) return out;
  out.push({ at: p, size: 1 });
  p += 1 + b[p];
  if (p + 2 > b.length) return out;
  out.push({ at: p, size: 2 });
  p += 2;
  for (let n = 0; n < 64 && p + 4 <= b.length; n++) {
    out.push({ at: p + 2, size: 2 });
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    if (type === 0 && p + 9 <= b.length)
      out.push({ at: p + 4, size: 2 }, { at: p + 6, size: 1 }, { at: p + 7, size: 2 });
    p += 4 + len;
  }
  return out;
}

function writeSized(b: Buffer, at: number, size: number, v: number): void {
  if (size === 1) b[at] = v & 0xff;
  else if (size === 2) b.writeUInt16BE(v & 0xffff, at);
  else b.writeUIntBE(v & 0xffffff, at, 3);
}
function readSized(b: Buffer, at: number, size: number): number {
  return size === 1 ? b[at] : size === 2 ? b.readUInt16BE(at) : b.readUIntBE(at, 3);
}

const HTTP_METHODS = ['GET', 'POST', 'CONNECT', 'get', 'FOO', 'GETT', '', 'G'];
const HTTP_PATHS = ['/', '/rpc', '', 'x'.repeat(2048), '/'.repeat(2049), '/a b', '\\x00', '*'];
const HTTP_VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', 'HTTP/1', 'HTTP/1.1 x', '', 'http/1.1'];
const HTTP_HEADERS = [
  'Host: pool.example:3333',
  'Host: ',
  'Host',
  ':x',
  'host: a:99999999',
  'User-Agent: XMRig/6.21.0',
  `User-Agent: ${'A'.repeat(5000)}`,
  'Host: a\r\nHost: b',
  'X: \u0000\u00ff',
  '',
];
const JSON_BITS = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  '\\',
  '\n',
  '\r\n',
  '0',
  '-1',
  '1e999',
  'null',
  '"method"',
  '"mining.subscribe"',
  '"login"',
  '"params":',
  '"eth_submitLogin"',
  '\\u0000',
  '"'.repeat(100),
  '{'.repeat(500),
  'x'.repeat(3000),
];

export const MUTATIONS: Record<string, Mutation> = {
  flip(buf, rng) {
    for (let k = 1 + rng.int(16); k > 0; k--) {
      const at = rng.int(buf.length);
      buf[at] ^= 1 << rng.int(8);
    }
    return buf;
  },
  overwrite(buf, rng) {
    const len = 1 + rng.int(rng.chance(0.8) ? 16 : 512);
    const at = rng.int(buf.length);
    for (let i = at; i < Math.min(buf.length, at + len); i++) buf[i] = rng.int(256);
    return buf;
  },
  truncate(buf, rng) {
    return buf.subarray(0, rng.int(buf.length + 1));
  },
  pcapHeader(buf, rng) {
    const L = layout(buf);
    if (L.kind !== 'pcap' || buf.length < 24) return buf;
    const field = rng.pick(['magic', 'version', 'zone', 'snaplen', 'linktype', 'linktype']);
    if (field === 'magic') {
      const m = rng.pick([0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1, SHB, rng.int(0x100000000)]);
      buf.writeUInt32LE(m >>> 0, 0);
    } else if (field === 'version') {
      wr16(buf, u16(rng, 2), 4, L.little);
      wr16(buf, u16(rng, 4), 6, L.little);
    } else if (field === 'zone') wr32(buf, u32(rng), rng.pick([8, 12]), L.little);
    else if (field === 'snaplen') wr32(buf, rng.pick([0, 1, 14, 54, 65535, 262144, 262145, 0xffffffff]), 16, L.little);
    else {
      const lt = rng.chance(0.7) ? rng.pick(LINK_TYPES) : u16(rng);
      wr32(buf, rng.chance(0.2) ? (lt | 0x10000000 | (rng.int(16) << 28)) >>> 0 : lt, 20, L.little);
    }
    return buf;
  },
  recordLength(buf, rng) {
    const L = layout(buf);
    const rs = L.recs.filter((r) => r.kind === 'pcap' || r.kind === 'epb' || r.kind === 'pb');
    if (rs.length === 0) return buf;
    const r = rng.pick(rs);
    const inclAt = r.kind === 'pcap' ? r.at + 8 : r.at + 20;
    const snap = L.kind === 'pcap' && buf.length >= 24 ? rd32(buf, 16, L.little) : 262144;
    const pick = () =>
      rng.pick([0, 1, r.dataLen - 1, r.dataLen + 1, snap + 1, 262144, 262145, 0x100000, 0xffffffff, u32(rng)]) >>> 0;
    const which = rng.int(3);
    if (which !== 1) wr32(buf, pick(), inclAt, r.little);
    if (which !== 0) wr32(buf, pick(), inclAt + 4, r.little);
    return buf;
  },
  recordTime(buf, rng) {
    const L = layout(buf);
    const rs = L.recs.filter((r) => r.kind === 'pcap' || r.kind === 'epb' || r.kind === 'pb');
    if (rs.length === 0) return buf;
    const r = rng.pick(rs);
    const at = r.kind === 'pcap' ? r.at : r.at + 12;
    const v = rng.pick([0, 1, 999999, 1000000, 999999999, 1000000000, 0x7fffffff, 0xffffffff, u32(rng)]);
    wr32(buf, v, at + 4 * rng.int(2), r.little);
    return buf;
  },
  blockType(buf, rng) {
    const L = layout(buf);
    if (L.kind !== 'pcapng' || L.recs.length === 0) return buf;
    const r = rng.pick(L.recs);
    wr32(buf, rng.pick([SHB, 1, 2, 3, 4, 5, 6, 0, 0xbad, 0x80000001, 0xffffffff, u32(rng)]), r.at, r.little);
    return buf;
  },
  blockLength(buf, rng) {
    const L = layout(buf);
    if (L.kind !== 'pcapng' || L.recs.length === 0) return buf;
    const r = rng.pick(L.recs);
    const v =
      rng.pick([
        0,
        4,
        8,
        12,
        13,
        16,
        r.size - 4,
        r.size + 4,
        r.size + 2,
        r.size + 1,
        0x1000000,
        0x1000004,
        0x7ffffffc,
        0xffffffff,
        u32(rng),
      ]) >>> 0;
    const which = rng.int(4); // both copies, the leading one, the trailing one, mismatched
    if (which !== 2) wr32(buf, v, r.at + 4, r.little);
    if (which === 2) wr32(buf, v, r.at + r.size - 4, r.little);
    if (which === 3) wr32(buf, (v + 4) >>> 0, r.at + r.size - 4, r.little);
    if (which === 0 && r.at + v <= buf.length && v >= 12) wr32(buf, v, r.at + v - 4, r.little);
    return buf;
  },
  shbMagic(buf, rng) {
    const L = layout(buf);
    const shbs = L.recs.filter((r) => r.kind === 'shb');
    if (shbs.length === 0) return buf;
    const r = rng.pick(shbs);
    const c = rng.int(4);
    if (c === 0) buf.writeUInt32LE(rng.pick([0x4d3c2b1a, 0x1a2b3c4d, 0, 0x1a2b3c4c, u32(rng)]), r.at + 8);
    else if (c === 1) {
      // the whole header byte-swapped: the section now claims the other byte order
      for (const o of [4, 8, r.size - 4])
        if (r.at + o + 4 <= buf.length) buf.writeUInt32BE(buf.readUInt32LE(r.at + o), r.at + o);
    } else if (c === 2 && r.size >= 16) {
      wr16(buf, u16(rng, 1), r.at + 12, r.little);
      wr16(buf, u16(rng), r.at + 14, r.little);
    } else if (r.size >= 28) {
      wr32(buf, u32(rng), r.at + 16 + 4 * rng.int(2), r.little); // section length
    }
    return buf;
  },
  idb(buf, rng) {
    const L = layout(buf);
    const idbs = L.recs.filter((r) => r.kind === 'idb');
    if (idbs.length === 0) return buf;
    const r = rng.pick(idbs);
    const c = rng.int(3);
    if (c === 0) {
      wr16(buf, rng.chance(0.7) ? rng.pick(LINK_TYPES) : u16(rng), r.at + 8, r.little);
      return buf;
    }
    if (c === 1) {
      wr32(buf, rng.pick([0, 1, 14, 40, 54, 65535, 262144, 0xffffffff, u32(rng)]), r.at + 12, r.little);
      return buf;
    }
    // rebuild the options: if_tsresol values, then options with bogus lengths
    const opts: Buffer[] = [];
    const opt = (code: number, value: Buffer, claimed = value.length) => {
      const o = Buffer.alloc(4 + pad4(value.length));
      wr16(o, code, 0, r.little);
      wr16(o, claimed, 2, r.little);
      value.copy(o, 4);
      opts.push(o);
    };
    if (rng.chance(0.8))
      opt(
        9,
        Buffer.from([
          rng.pick([0, 1, 3, 6, 9, 12, 15, 19, 20, 63, 64, 0x7f, 0x80, 0x8a, 0xa0, 0xbf, 0xff, rng.int(256)]),
        ]),
      );
    for (let k = rng.int(3); k > 0; k--)
      opt(
        rng.pick([2, 3, 9, 14, 0x7fff, rng.int(0x10000)]),
        Buffer.alloc(rng.int(12), 0x41),
        rng.pick([0, 1, 3, 0xfff, 0xffff, rng.int(0x10000)]),
      );
    if (rng.chance(0.7)) opt(0, Buffer.alloc(0));
    const body = Buffer.concat([buf.subarray(r.at, r.at + 16), ...opts, Buffer.alloc(4)]);
    wr32(body, body.length, 4, r.little);
    wr32(body, body.length, body.length - 4, r.little);
    return replaceRecs(buf, r, [body]);
  },
  epbInterface(buf, rng) {
    const L = layout(buf);
    const rs = L.recs.filter((r) => r.kind === 'epb' || r.kind === 'pb');
    if (rs.length === 0) return buf;
    const r = rng.pick(rs);
    const id = rng.pick([0, 1, 2, 0xffff, 0x10000, 0xffffffff, u32(rng)]);
    if (r.kind === 'pb') wr16(buf, id, r.at + 8, r.little);
    else wr32(buf, id, r.at + 8, r.little);
    return buf;
  },
  simplePacket(buf, rng) {
    // an EPB rewritten as a simple packet block, or a simple packet block's length made odd
    const L = layout(buf);
    const rs = L.recs.filter((r) => r.kind === 'epb' || r.kind === 'spb');
    if (rs.length === 0) return buf;
    const r = rng.pick(rs);
    if (r.kind === 'spb') {
      wr32(buf, rng.pick([0, 1, r.dataLen + 1, 0xffff, 0xffffffff, u32(rng)]), r.at + 8, r.little);
      return buf;
    }
    const data = buf.subarray(r.dataAt, r.dataAt + r.dataLen);
    const spb = Buffer.alloc(16 + pad4(data.length));
    wr32(spb, 3, 0, r.little);
    wr32(spb, spb.length, 4, r.little);
    wr32(spb, rng.chance(0.7) ? data.length : u32(rng, data.length), 8, r.little);
    data.copy(spb, 12);
    wr32(spb, spb.length, spb.length - 4, r.little);
    return replaceRecs(buf, r, [spb]);
  },
  blockOptions(buf, rng) {
    // options with bogus lengths appended to a section header or packet block
    const L = layout(buf);
    const rs = L.recs.filter((r) => r.kind === 'shb' || r.kind === 'epb');
    if (rs.length === 0) return buf;
    const r = rng.pick(rs);
    const head = r.kind === 'shb' ? 24 : 28 + pad4(r.dataLen);
    if (head > r.size - 4) return buf;
    const o = Buffer.alloc(4 + 4 * rng.int(4), rng.int(256));
    wr16(o, rng.pick([0, 1, 2, 3, 4, 0x8000, rng.int(0x10000)]), 0, r.little);
    wr16(o, rng.pick([0, 1, 3, 4, 0xffff, rng.int(0x10000)]), 2, r.little);
    const blk = Buffer.concat([buf.subarray(r.at, r.at + head), o, Buffer.alloc(4)]);
    wr32(blk, blk.length, 4, r.little);
    wr32(blk, blk.length, blk.length - 4, r.little);
    return replaceRecs(buf, r, [blk]);
  },
  ethernet(buf, rng) {
    const p = somePacket(buf, rng, (q) => q.x.ethType >= 0);
    if (!p) return buf;
    if (p.r.linkType === 1 && rng.chance(0.5)) {
      // a stack of VLAN tags before the ethertype
      const tags: Buffer[] = [];
      for (let k = 1 + rng.int(7); k > 0; k--) {
        const t = Buffer.alloc(4);
        t.writeUInt16BE(rng.pick([0x8100, 0x88a8, 0x9100]), 0);
        t.writeUInt16BE(rng.int(0x10000), 2);
        tags.push(t);
      }
      const d = Buffer.concat([p.d.subarray(0, 12), ...tags, p.d.subarray(12)]);
      return replaceRecs(buf, p.r, [recordWith(buf, p.r, d)]);
    }
    p.d.writeUInt16BE(
      rng.pick([0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x0806, 0x88cc, 0, 0xffff, rng.int(0x10000)]),
      p.x.ethType,
    );
    return buf;
  },
  ipv4(buf, rng) {
    const p = somePacket(buf, rng, (q) => q.x.v === 4);
    if (!p) return buf;
    const { d, x } = p;
    const c = rng.int(5);
    if (c === 0) d[x.l3] = (d[x.l3] & 0xf0) | rng.pick([0, 1, 4, 5, 6, 15, rng.int(16)]);
    else if (c === 1) d.writeUInt16BE(u16(rng, d.length - x.l3), x.l3 + 2);
    else if (c === 2)
      d.writeUInt16BE(rng.pick([0x2000, 0x2001, 0x0001, 0x1fff, 0x4000, 0xffff, rng.int(0x10000)]), x.l3 + 6);
    else if (c === 3) d[x.l3 + 9] = rng.pick([1, 6, 17, 41, 58, 0, 255]);
    else d[x.l3] = (rng.pick([0, 4, 6, 15]) << 4) | (d[x.l3] & 15);
    return buf;
  },
  ipv6(buf, rng) {
    const p = somePacket(buf, rng, (q) => q.x.v === 6);
    if (!p) return buf;
    const { d, x } = p;
    const c = rng.int(3);
    if (c === 0) d.writeUInt16BE(u16(rng, d.length - x.l3 - 40), x.l3 + 4);
    else if (c === 1) d[x.l3 + 6] = rng.pick([0, 6, 17, 43, 44, 50, 51, 58, 59, 60, 255]);
    else {
      // an extension header chain inserted after the fixed header
      const exts: Buffer[] = [];
      const types: number[] = [];
      for (let k = 1 + rng.int(10); k > 0; k--) types.push(rng.pick([0, 43, 44, 51, 60]));
      types.forEach((t, i) => {
        const hlen = rng.chance(0.8) ? rng.int(3) : 255;
        const size = t === 44 ? 8 : t === 51 ? (hlen + 2) * 4 : (hlen + 1) * 8;
        const e = Buffer.alloc(Math.min(size, rng.chance(0.9) ? size : rng.int(size)));
        e[0] = i + 1 < types.length ? types[i + 1] : d[x.l3 + 6];
        if (e.length > 1) e[1] = t === 44 ? 0 : hlen;
        if (t === 44 && e.length >= 4 && rng.chance(0.3)) e.writeUInt16BE(rng.int(0x10000), 2);
        exts.push(e);
      });
      const out = Buffer.concat([d.subarray(0, x.l3 + 40), ...exts, d.subarray(x.l3 + 40)]);
      out[x.l3 + 6] = types[0];
      if (rng.chance(0.8)) out.writeUInt16BE(Math.min(0xffff, out.length - x.l3 - 40), x.l3 + 4);
      return replaceRecs(buf, p.r, [recordWith(buf, p.r, out)]);
    }
    return buf;
  },
  tcp(buf, rng) {
    const p = somePacket(buf, rng, tcpWith);
    if (!p) return buf;
    const { d, x } = p;
    const c = rng.int(3);
    if (c === 0) d[x.l4 + 12] = (rng.pick([0, 1, 4, 5, 6, 8, 15, rng.int(16)]) << 4) | (d[x.l4 + 12] & 15);
    else if (c === 1)
      d[x.l4 + 13] = rng.pick([0x02, 0x12, 0x10, 0x18, 0x11, 0x01, 0x04, 0x14, 0x03, 0x07, 0, 0xff, rng.int(256)]);
    else d.writeUInt16BE(rng.pick([0, 53, 80, 443, 3333, 8332, 30303, rng.int(0x10000)]), x.l4 + 2 * rng.int(2));
    return buf;
  },
  tcpSeq(buf, rng) {
    // one segment's sequence number, or a whole direction shifted (so the stream wraps at 2^32)
    const p = somePacket(buf, rng, tcpWith);
    if (!p) return buf;
    const seq = p.d.readUInt32BE(p.x.l4 + 4);
    if (rng.chance(0.4)) {
      const v = rng.pick([
        0,
        1,
        0xffffffff,
        seq - 1,
        seq + 1,
        seq + 0x7fffffff,
        seq + 0x80000000,
        seq + 16384,
        seq - 16384,
        u32(rng),
      ]);
      p.d.writeUInt32BE(v >>> 0, p.x.l4 + 4);
      return buf;
    }
    const key = (q: Pkt) => {
      const a = q.x.v === 4 ? q.d.subarray(q.x.l3 + 12, q.x.l3 + 20) : q.d.subarray(q.x.l3 + 8, q.x.l3 + 40);
      return `${a.toString('hex')} ${q.d.readUInt32BE(q.x.l4)}`;
    };
    const k = key(p);
    const target = rng.chance(0.7) ? 0xffffffff - rng.int(64) : rng.int(0x100000000);
    const delta = target - seq;
    const L = layout(buf);
    for (const r of L.recs) {
      if (!isPacket(r)) continue;
      const d = buf.subarray(r.dataAt, r.dataAt + r.dataLen);
      const x = dissect(r.linkType, d);
      if (x?.proto !== 6 || x.l4 + 20 > d.length) continue;
      const q = { L, r, d, x };
      if (key(q) === k) d.writeUInt32BE((d.readUInt32BE(x.l4 + 4) + delta) >>> 0, x.l4 + 4);
    }
    return buf;
  },
  splitSegment(buf, rng) {
    // a TCP segment cut in two (sequence numbers right), sometimes sent in reverse or overlapping
    const p = somePacket(buf, rng, (q) => tcpData(q) && q.d.length - q.x.pay >= 2);
    if (!p) return buf;
    const pay = payloadOf(p);
    const cut = 1 + rng.int(pay.length - 1);
    const overlap = rng.chance(0.2) ? rng.int(cut) : 0;
    const a = withPayload(p.d, p.x, pay.subarray(0, cut));
    const b = withPayload(p.d, p.x, pay.subarray(cut - overlap));
    b.writeUInt32BE((p.d.readUInt32BE(p.x.l4 + 4) + cut - overlap) >>> 0, p.x.l4 + 4);
    const ra = recordWith(buf, p.r, a);
    const rb = recordWith(buf, p.r, b);
    return replaceRecs(buf, p.r, rng.chance(0.4) ? [rb, ra] : [ra, rb]);
  },
  udp(buf, rng) {
    const p = somePacket(buf, rng, (q) => q.x.proto === 17 && q.x.l4 + 8 <= q.d.length);
    if (!p) return buf;
    if (rng.chance(0.7)) p.d.writeUInt16BE(u16(rng, p.d.length - p.x.l4), p.x.l4 + 4);
    else p.d.writeUInt16BE(rng.pick([53, 5353, 0, rng.int(0x10000)]), p.x.l4 + 2 * rng.int(2));
    return buf;
  },
  dns(buf, rng) {
    const p = somePacket(buf, rng, isDns);
    if (!p) return buf;
    const m = p.x.proto === 6 ? payloadOf(p).subarray(2) : payloadOf(p);
    if (m.length < 12) return buf;
    const fields = dnsFields(m);
    const f = rng.pick(fields);
    if (f.label && rng.chance(0.6)) {
      // a compression pointer: to itself, the header, forward, past the end
      const target = rng.pick([f.at, 0, 12, f.at + 2, m.length, 0x3fff, rng.int(m.length)]) & 0x3fff;
      m[f.at] = 0xc0 | (target >> 8);
      if (f.at + 1 < m.length) m[f.at + 1] = target & 0xff;
    } else if (f.size === 1) m[f.at] = u8(rng, m[f.at]);
    else
      m.writeUInt16BE(
        f.at === 2
          ? rng.pick([0x8180, 0x0100, 0x8183, 0x7800, 0xf800, rng.int(0x10000)])
          : u16(rng, readSized(m, f.at, 2)),
        f.at,
      );
    return buf;
  },
  tls(buf, rng) {
    const p = somePacket(buf, rng, isTls);
    if (!p) return buf;
    const b = payloadOf(p);
    if (rng.chance(0.15)) {
      b[rng.int(3)] = u8(rng, 0x16);
      return buf;
    }
    const f = rng.pick(tlsFields(b).filter((x) => x.at + x.size <= b.length));
    if (!f) return buf;
    const cur = readSized(b, f.at, f.size);
    const max = f.size === 1 ? 0xff : f.size === 2 ? 0xffff : 0xffffff;
    writeSized(b, f.at, f.size, rng.pick([0, 1, cur - 1, cur + 1, cur + 4, max, rng.int(max + 1)]));
    return buf;
  },
  http(buf, rng) {
    const p = somePacket(buf, rng, isHttp) ?? (rng.chance(0.5) ? somePacket(buf, rng, tcpData) : undefined);
    if (!p) return buf;
    const old = payloadOf(p).toString('latin1');
    const eol = rng.pick(['\r\n', '\n', '\r', '\r\r\n']);
    const lines = [`${rng.pick(HTTP_METHODS)} ${rng.pick(HTTP_PATHS)} ${rng.pick(HTTP_VERSIONS)}`];
    for (let k = rng.int(4); k > 0; k--) lines.push(rng.pick(HTTP_HEADERS));
    const firstEnd = old.indexOf('\n');
    const rest = rng.chance(0.5) && firstEnd >= 0 ? old.slice(firstEnd + 1) : rng.chance(0.5) ? `${eol}` : '';
    const text = lines.join(eol) + eol + rest;
    const d = withPayload(p.d, p.x, Buffer.from(text, 'latin1'));
    return replaceRecs(buf, p.r, [recordWith(buf, p.r, d)]);
  },
  json(buf, rng) {
    // Stratum-like payloads: JSON punctuation and mining words dropped in, or text cut short
    const p = somePacket(buf, rng, (q) => (q.x.proto === 6 || q.x.proto === 17) && q.d.length > q.x.pay);
    if (!p) return buf;
    const pay = payloadOf(p);
    const at = rng.int(pay.length + 1);
    const ins = Buffer.from(rng.pick(JSON_BITS), 'latin1');
    const cut = rng.chance(0.3) ? rng.int(pay.length - at + 1) : 0;
    const next = Buffer.concat([pay.subarray(0, at), ins, pay.subarray(at + cut)]);
    const d = withPayload(p.d, p.x, next);
    return replaceRecs(buf, p.r, [recordWith(buf, p.r, d)]);
  },
  duplicateRecord(buf, rng) {
    const rs = layout(buf).recs;
    if (rs.length === 0) return buf;
    const from = rng.pick(rs);
    const to = rng.pick(rs);
    const at = rng.chance(0.5) ? to.at : to.at + to.size;
    return Buffer.concat([
      buf.subarray(0, at),
      Buffer.from(buf.subarray(from.at, from.at + from.size)),
      buf.subarray(at),
    ]);
  },
  dropRecord(buf, rng) {
    const rs = layout(buf).recs.filter(isPacket);
    if (rs.length === 0) return buf;
    return replaceRecs(buf, rng.pick(rs), []);
  },
  swapRecords(buf, rng) {
    const rs = layout(buf).recs.filter(isPacket);
    if (rs.length < 2) return buf;
    const i = rng.int(rs.length - 1);
    const a = rs[i];
    const b = rs[i + 1];
    if (a.at + a.size !== b.at) return buf;
    return Buffer.concat([
      buf.subarray(0, a.at),
      buf.subarray(b.at, b.at + b.size),
      buf.subarray(a.at, a.at + a.size),
      buf.subarray(b.at + b.size),
    ]);
  },
  spliceFiles(buf, rng, corpus) {
    const other = rng.pick(corpus).buf;
    if (rng.chance(0.3)) {
      // the head of this file, the tail of another, at any bytes
      const a = rng.int(buf.length + 1);
      const b = rng.int(other.length + 1);
      return Buffer.concat([buf.subarray(0, a), other.subarray(b)]);
    }
    // packets of another file re-framed into this one, at a record boundary
    const L = layout(buf);
    const O = layout(other);
    const src = O.recs.filter(isPacket);
    if (L.kind === undefined || src.length === 0) return buf;
    const start = rng.int(src.length);
    const take = src.slice(start, start + 1 + rng.int(8));
    const recs = take.map((r) => {
      const m = packetMeta(other, r);
      const data = Buffer.from(other.subarray(r.dataAt, r.dataAt + r.dataLen));
      return newRecord(L, m.tsUs, data, Math.max(m.orig, data.length), rng.chance(0.8) ? 0 : rng.int(3));
    });
    const first = L.kind === 'pcap' ? Math.min(24, buf.length) : 0;
    const at = L.recs.length === 0 || rng.chance(0.5) ? buf.length : Math.max(first, rng.pick(L.recs).at);
    return Buffer.concat([buf.subarray(0, at), ...recs, buf.subarray(at)]);
  },
};
const NAMES = Object.keys(MUTATIONS);
/** Format- and packet-aware mutations are picked more often than the blind ones. */
const WEIGHTED = NAMES.flatMap((n) => (['flip', 'overwrite', 'truncate'].includes(n) ? [n] : [n, n]));

export interface FuzzCase {
  input: Buffer;
  file: string;
  ops: string[];
  /** Chunk size of the second read (0: the whole input in one chunk). */
  chunk: number;
}

/** Case i of a run: which file, which mutations. Depends only on (seed, i) and the corpus. */
export function makeCase(corpus: readonly Corpus[], seed: number, i: number): FuzzCase {
  const rng = new Rng(caseSeed(seed, i));
  // a quarter of the cases start from the synthetic seeds: the DNS, TLS and IPv6 mutations need their packets
  const seeds = corpus.filter((c) => c.name.startsWith('synthetic/'));
  const src = seeds.length > 0 && rng.chance(0.25) ? rng.pick(seeds) : rng.pick(corpus);
  let buf: Buffer = Buffer.from(src.buf);
  const ops: string[] = [];
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const name = rng.pick(WEIGHTED);
    ops.push(name);
    try {
      buf = MUTATIONS[name](buf, rng, corpus);
    } catch {
      // a mutation that does not fit what earlier ones left (a field past a truncated end) is skipped
    }
  }
  // the second read's chunking: one chunk, or a size that cuts records and blocks anywhere
  const chunk = rng.chance(0.5) ? 0 : rng.pick([13, 64, 100, 512, 1000, 1500, 4096]) + rng.int(64);
  return { input: buf, file: src.name, ops, chunk };
}

// ---------------------------------------------------------------- checking what comes out

const finite = (n: unknown) => typeof n === 'number' && Number.isFinite(n);
const count = (n: unknown) => finite(n) && Number.isInteger(n) && (n as number) >= 0;
const port = (n: unknown) => count(n) && (n as number) <= 0xffff;
const text = (s: unknown) => typeof s === 'string' && s !== '';

/** Why an event is not a well-formed pcap event, or undefined when it is one. */
export function badEvent(e: CoalEvent, file: string): string | undefined {
  if (e === null || typeof e !== 'object') return `event is ${String(e)}`;
  const action = e.event?.action;
  if (action !== 'connect' && action !== 'dns-query') return `unexpected action ${String(action)}`;
  if (e.event.kind !== 'event' || !text(e.event.dataset) || !Array.isArray(e.event.category)) return 'bad event block';
  const c = e.coalmine;
  if (c?.format !== 'pcap' || c.ref?.file !== file) return 'event without format/ref.file';
  if (!/^[1-9]\d*$/.test(c.ref.record ?? '')) return `event record ${String(c.ref.record)} is not a packet number`;
  if (!finite(c.ts) || Math.abs(c.ts) > 8.64e15) return `event time ${c.ts}`;
  if (new Date(c.ts).toISOString() !== e['@timestamp']) return '@timestamp does not match coalmine.ts';
  for (const ep of [e.source, e.destination]) {
    if (!ep || !text(ep.ip) || !port(ep.port)) return 'endpoint without ip/port';
    if (ep.bytes !== undefined && !count(ep.bytes)) return 'endpoint bytes not a count';
    if (ep.domain !== undefined && typeof ep.domain !== 'string') return 'domain not a string';
  }
  if (e.network?.transport !== 'tcp' && e.network?.transport !== 'udp') return 'transport not tcp/udp';
  if (action === 'dns-query') {
    if (typeof e.dns?.question?.name !== 'string') return 'dns-query without a question name';
    if (e.dns.resolved_ip !== undefined && !e.dns.resolved_ip.every(text)) return 'bad resolved_ip';
    return undefined;
  }
  const f = c.flow;
  // a Stratum session's report (stratum-session.ts): the summary's counts and bounds, no payloads
  if (e.event.dataset === 'pcap.stratum') return badSession(f?.stratum);
  if (!f || typeof f.clientPayload !== 'string' || typeof f.serverPayload !== 'string')
    return 'connect without payloads';
  // 4 KiB per direction, each byte at most 4 characters once escaped
  if (f.clientPayload.length > 4 * 4096 || f.serverPayload.length > 4 * 4096) return 'payload sample over 4 KiB';
  // durations are fractional (µs and ns captures); the rest are counts
  if (!finite(f.durationMs) || (f.durationMs as number) < 0) return `flow duration ${String(f.durationMs)}`;
  for (const n of [f.clientBytes, f.serverBytes, f.clientMessages, e.network.bytes, e.network.packets])
    if (!count(n)) return `flow number ${String(n)} is not a count`;
  if (e.tls?.client?.server_name !== undefined && typeof e.tls.client.server_name !== 'string') return 'bad SNI';
  if (e.http?.request !== undefined && (!text(e.http.request.method) || typeof e.http.request.path !== 'string'))
    return 'bad HTTP request';
  return undefined;
}

/** Why a Stratum session report's summary is not well-formed (counts, times, the bounds it promises), or undefined. */
function badSession(s: NonNullable<CoalEvent['coalmine']['flow']>['stratum']): string | undefined {
  if (!s) return 'session report without a session';
  for (const n of [s.submitted, s.accepted, s.rejected, s.connections])
    if (!count(n)) return `session number ${String(n)} is not a count`;
  if (s.accepted + s.rejected > s.submitted) return 'more answers than submits';
  for (const n of [s.exposure, s.miningMs, s.startMs, s.endMs])
    if (!finite(n) || (n as number) < 0) return `session time or exposure ${String(n)}`;
  if (s.buckets.length > 64 || s.difficulties.length > 16) return 'session over its bounds';
  for (const t of [s.agent, s.worker, s.algorithm])
    if (t !== undefined && t.length > 65) return 'session string not clipped';
  return undefined;
}

/** Why an issue is not well-formed (it must name the file and a record or an offset), or undefined. */
export function badIssue(i: Issue, file: string): string | undefined {
  if (i === null || typeof i !== 'object') return `issue is ${String(i)}`;
  if (i.file !== file) return `issue names file ${String(i.file)}`;
  if (typeof i.code !== 'string' || !/^PCAP_[A-Z0-9_]+$/.test(i.code)) return `issue code ${String(i.code)}`;
  if (i.code === 'PCAP_INTERNAL') return `reader caught a throw: ${i.reason}`;
  if (!text(i.reason)) return 'issue without a reason';
  if (!['reading', 'parsing', 'normalising', 'loading', 'processing'].includes(i.stage)) return 'issue stage';
  const hasRecord = i.record !== undefined && /^\d+$/.test(i.record);
  if (!hasRecord && !/offset 0x[0-9a-f]+/.test(i.reason)) return `${i.code} names neither a record nor an offset`;
  return undefined;
}

function badSignal(s: Signal): string | undefined {
  if (s === null || typeof s !== 'object' || !text(s.kind) || !text(s.by) || !text(s.explanation))
    return 'malformed stratum signal';
  if (!finite(s.ts)) return 'stratum signal without a time';
  return undefined;
}

export interface CaseResult {
  ms: number;
  events: number;
  issues: number;
  connects: number;
  signals: number;
  error?: string;
}

let intel: ReturnType<typeof loadBundledIntel> | undefined;

type Output = { events: CoalEvent[]; issues: Issue[] };

/** Where a read in 7,919-byte chunks (as the tests read) and one in `chunk`-byte chunks part, or undefined. */
export function chunkingDifference(a: Output, b: Output, chunk: number): string | undefined {
  for (const k of ['events', 'issues'] as const) {
    const n = Math.max(a[k].length, b[k].length);
    for (let i = 0; i < n; i++) {
      const x = JSON.stringify(a[k][i]);
      const y = JSON.stringify(b[k][i]);
      if (x !== y)
        return `output depends on chunking: ${k}[${i}] is ${x?.slice(0, 300) ?? 'missing'} in 7919-byte chunks, ${y?.slice(0, 300) ?? 'missing'} in ${chunk > 0 ? `${chunk}-byte chunks` : 'one chunk'}`;
    }
  }
  return undefined;
}

/** Reads one input through the registered pcap source and the Stratum classifier; never throws. */
export async function runCase(input: Buffer, chunk = 0, name = 'fuzz.pcap'): Promise<CaseResult> {
  intel ??= loadBundledIntel();
  const started = performance.now();
  const r: CaseResult = { ms: 0, events: 0, issues: 0, connects: 0, signals: 0 };
  try {
    const chunked = await readAll(pcap, memoryInput(name, input));
    // the framer promises bytes in any chunks: the same input in `chunk`-byte chunks (0: one) must read the same
    const other = await readAll(pcap, {
      ...memoryInput(name, input),
      open: async function* () {
        const n = chunk > 0 ? chunk : input.length;
        for (let i = 0; i < input.length; i += n) yield input.subarray(i, i + n);
      },
    });
    r.error = chunkingDifference(chunked, other, chunk);
    const { events, issues } = chunked;
    r.events = events.length;
    r.issues = issues.length;
    for (const i of issues) r.error ??= badIssue(i, name);
    for (const e of events) {
      r.error ??= badEvent(e, name);
      if (r.error || e.event.action !== 'connect') continue;
      r.connects++;
      const out: Signal[] = [];
      stratum.classify(e, { intel }, out);
      r.signals += out.length;
      for (const s of out) r.error ??= badSignal(s);
    }
  } catch (e) {
    r.error = `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  }
  r.ms = performance.now() - started;
  return r;
}

// ---------------------------------------------------------------- corpus and driver

/** Up to `max` bytes of whole records: the header (pcapng: and its leading blocks) and what fits after. */
export function wholeRecordPrefix(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  const L = layout(buf);
  let end = L.kind === 'pcap' ? 24 : 0;
  for (const r of L.recs) {
    if (r.at + r.size > max) break;
    end = r.at + r.size;
  }
  return buf.subarray(0, end);
}

/**
 * Seeds the files lack, written with the test writer: DNS over UDP and TCP on IPv6 with several answers,
 * a TLS ClientHello over IPv6 behind QinQ tags, Stratum and DNS on Linux cooked capture in big-endian pcap,
 * and whole Stratum sessions for the session reader (stratum-captures.ts): two Monero miners behind one
 * address at their own difficulties, Bitcoin-style with a difficulty change, getwork with a connection
 * per request.
 */
export function syntheticSeeds(): Corpus[] {
  const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
  const v6 = { client: '2001:db8::5', server: '2001:db8:0:1::35', cport: 40000, sport: 53 };
  const q = dnsMessage(7, 'pool.supportxmr.com');
  const a = dnsMessage(7, 'pool.supportxmr.com', ['94.130.12.30', '94.130.12.27', '51.255.34.118']);
  const framed = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
  const dns = [
    ...dnsExchange('2001:db8::5', '2001:db8::1', t0, 9, 'xmr-eu1.nanopool.org', ['2001:db8::77', '10.1.2.3']),
    ...tcpSession(v6, t0 + 10, [
      { from: 'client', data: framed(q) },
      { from: 'server', data: framed(a) },
    ]),
  ];
  const tls = tcpSession(
    { ...v6, server: '2001:db8::443', sport: 443 },
    t0,
    [
      { from: 'client', data: clientHello('pool.minexmr.com') },
      { from: 'server', data: Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0]) },
    ],
    { vlan: [10, 20] },
  );
  const sll = [
    ...dnsExchange('10.0.0.5', '10.0.0.1', t0, 3, 'eth.2miners.com', ['198.51.100.7']),
    ...tcpSession({ client: '10.0.0.5', server: '198.51.100.7', cport: 41000, sport: 2020 }, t0 + 20, [
      {
        from: 'client',
        data: '{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4Ab","pass":"x","agent":"XMRig/6.21.0"}}\n',
      },
      {
        from: 'server',
        data: '{"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"1","job":{"blob":"0707"},"status":"OK"}}\n',
      },
      { from: 'client', data: '{"id":2,"method":"mining.submit","params":["w.1","job","00","5f","abcd"]}\n' },
    ]),
  ];
  const nat = mergeCaptures([
    moneroSession({ minutes: 4, clientPort: 50_001, difficulty: 10_000, hashrate: 1000, seed: 3 }),
    moneroSession({ minutes: 4, clientPort: 50_002, difficulty: 50_000, hashrate: 3000, seed: 4 }),
  ]);
  return [
    { name: 'synthetic/dns-v6.pcapng', buf: writePcapng(dns, { tsresol: 9 }) },
    { name: 'synthetic/stratum-nat.pcap', buf: wholeRecordPrefix(nat, MAX_INPUT) },
    { name: 'synthetic/stratum-v1.pcap', buf: wholeRecordPrefix(bitcoinSession({ minutes: 4 }).pcap, MAX_INPUT) },
    {
      name: 'synthetic/getwork-per-request.pcap',
      buf: wholeRecordPrefix(ethereumGetworkSession({ minutes: 2, connectionPerRequest: true }).pcap, MAX_INPUT),
    },
    { name: 'synthetic/tls-v6-qinq.pcap', buf: writePcap(tls) },
    { name: 'synthetic/sll-be.pcap', buf: writePcap(sll, { link: 'sll', bigEndian: true }) },
  ];
}

/** Our fixtures, the synthetic seeds, and the shared captures when present, each cut to ≤ 64 KiB of whole records. */
export function loadCorpus(dirs: string[] = [FIXTURE_DIR, SHARED]): Corpus[] {
  const out: Corpus[] = syntheticSeeds();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const label = dir === SHARED ? 'shared/' : '';
    for (const f of readdirSync(dir)
      .filter((n) => /\.(pcap|pcapng|cap)$/i.test(n))
      .sort())
      out.push({ name: label + f, buf: wholeRecordPrefix(readFileSync(join(dir, f)), MAX_INPUT) });
  }
  if (out.length === 0) throw new Error(`no capture files in ${dirs.join(' or ')}`);
  return out;
}

function arg(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer`);
  return n;
}

interface Done {
  i: number;
  file: string;
  ops: string[];
  bytes: number;
  r: CaseResult;
}

/** The child: runs cases [from, to) and reports each one as it ends. */
async function child(seed: number, from: number, to: number): Promise<void> {
  const corpus = loadCorpus();
  const send = (m: unknown) => new Promise<void>((ok) => process.send?.(m, () => ok()));
  for (let i = from; i < to; i++) {
    const c = makeCase(corpus, seed, i);
    const r = await runCase(c.input, c.chunk);
    const done: Done = { i, file: c.file, ops: c.ops, bytes: c.input.length, r };
    // batch the IPC: wait for the pipe only now and then
    if (i % 64 === 0 || r.error || i === to - 1) await send(done);
    else process.send?.(done);
  }
  await send({ end: true, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  process.disconnect?.();
}

/** Runs cases [from, to) in child processes; a case that never ends is killed and the next child goes on. */
function runAll(
  seed: number,
  cases: number,
  onDone: (d: Done) => void,
  onHang: (i: number, ms: number) => void,
): Promise<number> {
  let peak = 0;
  return new Promise((resolve, reject) => {
    const start = (from: number): void => {
      if (from >= cases) {
        resolve(peak);
        return;
      }
      const script = fileURLToPath(import.meta.url);
      const proc: ChildProcess = fork(script, ['--child', String(seed), String(from), String(cases)], {
        execArgv: ['--import', 'tsx'],
      });
      let next = from;
      let since = performance.now();
      let ended = false;
      const timer = setInterval(() => {
        const ms = performance.now() - since;
        if (ms < KILL_MS) return;
        clearInterval(timer);
        ended = true;
        proc.kill('SIGKILL');
        onHang(next, ms);
        start(next + 1);
      }, 250);
      proc.on('message', (m: Done | { end: true; maxRssBytes: number }) => {
        if ('end' in m) {
          peak = Math.max(peak, m.maxRssBytes);
          return;
        }
        onDone(m);
        next = m.i + 1;
        since = performance.now();
      });
      proc.on('exit', (code) => {
        clearInterval(timer);
        if (ended) return;
        ended = true;
        if (next >= cases) resolve(peak);
        else if (code === 0) start(next);
        else {
          // the child died mid-case (out of memory, a native crash): that case failed, the rest go on
          onHang(next, performance.now() - since);
          start(next + 1);
        }
      });
      proc.on('error', reject);
    };
    start(0);
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') {
    await child(Number(argv[1]), Number(argv[2]), Number(argv[3]));
    return;
  }
  const cases = arg(argv, '--cases', 100000);
  const seed = arg(argv, '--seed', 1);
  const replay = argv.includes('--replay') ? arg(argv, '--replay', 0) : undefined;
  const corpus = loadCorpus();
  if (replay !== undefined) {
    const c = makeCase(corpus, seed, replay);
    const r = await runCase(c.input, c.chunk);
    console.log(JSON.stringify({ case: replay, file: c.file, ops: c.ops, bytes: c.input.length, ...r }, null, 2));
    process.exit(r.error || r.ms > HANG_MS ? 1 : 0);
  }
  const started = performance.now();
  const failures: Array<{ case: number; file: string; ops: string[]; error: string; ms: number; saved: string }> = [];
  let slowest = { case: -1, ms: 0, file: '', ops: [] as string[], bytes: 0 };
  const totals = { events: 0, issues: 0, connects: 0, signals: 0, bytes: 0 };
  let hangs = 0;
  let seen = 0;
  const opCounts: Record<string, number> = {};
  const fail = (i: number, file: string, ops: string[], input: Buffer, error: string, ms: number) => {
    mkdirSync(FAILURES, { recursive: true });
    const saved = join(FAILURES, `seed${seed}-case${i}.pcap`);
    writeFileSync(saved, input);
    writeFileSync(`${saved}.txt`, `${JSON.stringify({ case: i, seed, file, ops }, null, 2)}\n${error}\n`);
    failures.push({ case: i, file, ops, error: error.split('\n')[0], ms, saved });
    console.error(`case ${i} FAILED (${ops.join(', ')} on ${file}): ${error.split('\n')[0]}`);
  };
  const childRss = await runAll(
    seed,
    cases,
    (d) => {
      seen++;
      for (const op of d.ops) opCounts[op] = (opCounts[op] ?? 0) + 1;
      totals.bytes += d.bytes;
      totals.events += d.r.events;
      totals.issues += d.r.issues;
      totals.connects += d.r.connects;
      totals.signals += d.r.signals;
      if (d.r.ms > slowest.ms) slowest = { case: d.i, ms: d.r.ms, file: d.file, ops: d.ops, bytes: d.bytes };
      if (d.r.ms > HANG_MS) hangs++;
      const error = d.r.error ?? (d.r.ms > HANG_MS ? `hang: ${d.r.ms.toFixed(0)} ms` : undefined);
      if (error) fail(d.i, d.file, d.ops, makeCase(corpus, seed, d.i).input, error, d.r.ms);
      if (seen % 10000 === 0)
        console.error(
          `${seen}/${cases} cases, ${failures.length} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
    },
    (i, ms) => {
      seen++;
      hangs++;
      const c = makeCase(corpus, seed, i);
      if (ms > slowest.ms) slowest = { case: i, ms, file: c.file, ops: c.ops, bytes: c.input.length };
      fail(i, c.file, c.ops, c.input, `hang: killed after ${ms.toFixed(0)} ms (or the case process died)`, ms);
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const maxRssBytes = Math.max(childRss, process.resourceUsage().maxRSS * 1024);
  const shared = corpus.filter((c) => c.name.startsWith('shared/')).length;
  const summary = {
    generatedAt: new Date().toISOString(),
    command: `node --import tsx bench/fuzz-pcap.ts --cases ${cases} --seed ${seed}`,
    machine: machine(),
    corpus: {
      dirs: shared > 0 ? [FIXTURE_DIR, SHARED] : [FIXTURE_DIR],
      files: corpus.length,
      sharedFiles: shared,
      bytes: corpus.reduce((n, f) => n + f.buf.length, 0),
      maxFileBytes: MAX_INPUT,
    },
    cases,
    seed,
    seconds: Number(seconds.toFixed(1)),
    casesPerSecond: Math.round(cases / seconds),
    inputBytes: totals.bytes,
    eventsYielded: totals.events,
    issuesYielded: totals.issues,
    connectsClassified: totals.connects,
    stratumSignals: totals.signals,
    failures: failures.length,
    hangs,
    hangLimitMs: HANG_MS,
    slowest: { ...slowest, ms: Number(slowest.ms.toFixed(1)) },
    maxRssBytes,
    mutations: opCounts,
    failureCases: failures.slice(0, 100),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'fuzz-pcap.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const md = [
    '# pcap reader fuzz',
    '',
    `\`${summary.command}\`, ${summary.generatedAt}. ${describeMachine(summary.machine)}`,
    `Corpus: ${corpus.length} files (${shared} from ../shared/data/pcap), ${(summary.corpus.bytes / 1024).toFixed(0)} KiB after cutting each to ≤ ${MAX_INPUT / 1024} KiB of whole records.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| cases | ${cases} |`,
    `| failures (throw, malformed event/issue, chunking difference, or > ${HANG_MS} ms) | ${failures.length} |`,
    `| hangs (> ${HANG_MS} ms) | ${hangs} |`,
    `| time | ${summary.seconds} s (${summary.casesPerSecond} cases/s) |`,
    `| slowest case | #${slowest.case}: ${slowest.ms.toFixed(1)} ms, ${slowest.bytes} bytes, ${slowest.ops.join(' + ')} on ${slowest.file} |`,
    `| events / issues yielded | ${totals.events} / ${totals.issues} |`,
    `| connect events classified / Stratum signals | ${totals.connects} / ${totals.signals} |`,
    `| peak RSS | ${(maxRssBytes / 1048576).toFixed(0)} MiB |`,
    '',
    `Mutations applied: ${Object.entries(opCounts)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    ...(failures.length > 0
      ? [
          '## Failures',
          '',
          ...failures.slice(0, 50).map((f) => `- case ${f.case} (${f.ops.join(' + ')} on ${f.file}): ${f.error}`),
        ]
      : []),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'fuzz-pcap.md'), md);
  console.log(md);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
