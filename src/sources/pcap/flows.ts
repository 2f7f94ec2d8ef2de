/**
 * The flow table: packets → flows keyed by 5-tuple, with the first 4 KiB of each direction's payload
 * reassembled in sequence order for protocol recognition. Bounded: 65,536 open flows (oldest evicted),
 * 16 out-of-order segments per direction, 4 KiB per sample. Flows close on RST, on FIN from both
 * sides, after 2 minutes idle (event time) or at end of input; `onFlow` receives each one once. A TCP
 * flow whose first payload may be Stratum (a `{`, an HTTP POST) is also read whole, every in-order
 * byte, by a session reader (`stratum-session.ts`), and its gaps are held up to 64 KiB ahead; once it
 * speaks mining it idles out after 15 minutes instead (a slow miner's connection is silent for
 * minutes between a block's job and its next share, and the silence is mining time).
 *
 * Which end is the client is decided, in this order, by the SYN (its sender opened the connection, a
 * SYN-ACK's receiver did), by the ports (a well-known or pool port against an ephemeral one), and by
 * who sent the request (a Stratum login or subscribe, an HTTP request line); only when none of them
 * says is it the first packet's sender. A capture that starts mid-flow, or holds one side only,
 * must not make the pool the client.
 */
import { serverByPorts } from '../net-fields.js';
import { ACK, type Decoded, FIN, RST, SYN } from './decode.js';
import { parseHttpRequest } from './http.js';
import type { ShareSessions, StratumStream } from './stratum-session.js';

export const SAMPLE_BYTES = 4096;
export const MAX_FLOWS = 65_536;
export const IDLE_MS = 120_000;
/**
 * Idle time of a flow read as a mining session. Pools drop a miner silent for about 10 minutes; until
 * then a quiet connection is still hashing, and closing it at 2 minutes lost that time from the
 * session's exposure (a miner sharing every minute with jobs every 5 read 1.5x its rate).
 */
export const SESSION_IDLE_MS = 15 * 60_000;
/** A long flow is reported this long after its start: the engine accepts events 5 minutes late. */
export const EARLY_MS = 240_000;
const MAX_OOO = 16;
/** Closed 5-tuples remembered so a flow's trailing ACKs do not open a new flow. */
const MAX_CLOSED = 65_536;
const SWEEP_MS = 10_000;
const BACKWARD_SWEEP_PACKETS = 4096;
/** How far ahead of the stream a held segment of a Stratum session may be. */
const SESSION_HOLD_BYTES = 64 * 1024;

export interface Dir {
  /** Sequence number of the first stream byte (TCP); undefined until seen. */
  base: number | undefined;
  /** Stream offset of the next in-order byte. */
  next: number;
  sample: Buffer | undefined;
  sampleLen: number;
  ooo: Array<{ rel: number; data: Buffer }>;
  /** Payload bytes as captured, retransmissions included. */
  bytes: number;
  packets: number;
  /** Newlines in the in-order stream: newline-delimited messages (Stratum, JSON-RPC). */
  newlines: number;
  fin: boolean;
  /** A Stratum session reader fed every in-order byte (stratum-session.ts), when the flow may be one. */
  stream: ((data: Buffer) => void) | undefined;
}

export interface Flow {
  key: string;
  transport: 'tcp' | 'udp';
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  startMs: number;
  lastMs: number;
  firstPacket: number;
  packets: number;
  /** Frame bytes on the wire (original lengths), both directions. */
  bytes: number;
  c: Dir;
  s: Dir;
  /** Reported early (long flow or full samples): closing reports nothing more. */
  reported: boolean;
  /** What said which end is the client (see the file comment). */
  decidedBy: 'syn' | 'ports' | 'payload' | 'first';
  /** The flow's Stratum session reader, decided on its first payload (null: not one). */
  shares: StratumStream | null | undefined;
}

export type FlowReason = 'closed' | 'idle' | 'early' | 'end' | 'evicted';

function newDir(): Dir {
  return {
    base: undefined,
    next: 0,
    sample: undefined,
    sampleLen: 0,
    ooo: [],
    bytes: 0,
    packets: 0,
    newlines: 0,
    fin: false,
    stream: undefined,
  };
}

export function sampleOf(d: Dir): Buffer {
  return d.sample ? d.sample.subarray(0, d.sampleLen) : Buffer.alloc(0);
}

function countNewlines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** In-order stream bytes: into the sample while it has room, counted always. */
function append(d: Dir, data: Buffer): void {
  d.next += data.length;
  d.newlines += countNewlines(data);
  if (d.stream !== undefined) d.stream(data);
  if (d.sampleLen >= SAMPLE_BYTES) return;
  d.sample ??= Buffer.alloc(SAMPLE_BYTES);
  d.sampleLen += data.copy(d.sample, d.sampleLen, 0, Math.min(data.length, SAMPLE_BYTES - d.sampleLen));
}

function tcpData(d: Dir, seq: number, data: Buffer): void {
  if (d.base === undefined) d.base = seq;
  const rel = (seq - d.base) >>> 0;
  if (rel >= 0x80000000) return; // before the stream start: an old retransmission
  const end = rel + data.length;
  if (end <= d.next) return; // a duplicate
  if (rel <= d.next) {
    append(d, data.subarray(d.next - rel));
    // drain queued segments that now fit
    for (let again = true; again && d.ooo.length > 0; ) {
      again = false;
      for (let i = 0; i < d.ooo.length; i++) {
        const o = d.ooo[i];
        if (o.rel > d.next) continue;
        d.ooo.splice(i, 1);
        if (o.rel + o.data.length > d.next) append(d, o.data.subarray(d.next - o.rel));
        again = true;
        break;
      }
    }
    return;
  }
  // a gap: hold the segment while the sample still needs bytes (or a Stratum session is read), else give the gap up
  const holds =
    d.stream !== undefined ? rel - d.next < SESSION_HOLD_BYTES : d.sampleLen < SAMPLE_BYTES && rel < SAMPLE_BYTES * 4;
  if (holds && d.ooo.length < MAX_OOO) {
    d.ooo.push({ rel, data });
    return;
  }
  d.ooo = [];
  d.next = rel;
  append(d, data);
}

/** At report time a gap will not fill any more: the held segments go into the sample after it. */
function flushGaps(d: Dir): void {
  const held = d.ooo.sort((a, b) => a.rel - b.rel);
  d.ooo = [];
  for (const o of held) {
    if (o.rel + o.data.length <= d.next) continue;
    if (o.rel > d.next) d.next = o.rel;
    append(d, o.data.subarray(d.next - o.rel));
  }
}

/** Stratum requests only a miner sends (JSON-RPC method names in quotes): its sender is the client. */
const STRATUM_REQUEST = /"method"\s{0,8}:\s{0,8}"(?:mining\.subscribe|mining\.authorize|login|eth_submitLogin)"/;
const REQUEST_PEEK = 2048;

/** Whether a direction's first bytes are a client's request: a Stratum login/subscribe or an HTTP request line. */
function isRequest(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  if (parseHttpRequest(sample) !== undefined) return true;
  return STRATUM_REQUEST.test(sample.toString('latin1', 0, Math.min(sample.length, REQUEST_PEEK)));
}

function swapEnds(f: Flow): void {
  [f.client, f.server] = [f.server, f.client];
  [f.c, f.s] = [f.s, f.c];
}

function report(f: Flow, reason: FlowReason, onFlow: (flow: Flow, reason: FlowReason) => void): void {
  flushGaps(f.c);
  flushGaps(f.s);
  // neither a SYN nor the ports said: the request's sender is the client
  if (f.decidedBy === 'first' && isRequest(sampleOf(f.s)) && !isRequest(sampleOf(f.c))) {
    swapEnds(f);
    f.decidedBy = 'payload';
  }
  onFlow(f, reason);
}

export class FlowTable {
  private flows = new Map<string, Flow>();
  private closed = new Map<string, number>();
  private lastSweep = 0;
  private sinceSweep = 0;
  /** Flows evicted because the table was full (counted in one summary issue). */
  evicted = 0;
  /** The packet (1-based record number) at which the first eviction happened. */
  firstEvictedAt: number | undefined;

  constructor(
    private readonly onFlow: (flow: Flow, reason: FlowReason) => void,
    private readonly sessions?: ShareSessions,
  ) {}

  get size(): number {
    return this.flows.size;
  }

  packet(p: Decoded, tsMs: number, index: number, wireBytes: number): void {
    // time going back (merged captures, a hostile file alternating timestamps) sweeps at most once per
    // BACKWARD_SWEEP_PACKETS packets: a sweep per packet over a full table would be quadratic
    this.sinceSweep++;
    if (tsMs - this.lastSweep >= SWEEP_MS || (tsMs < this.lastSweep && this.sinceSweep >= BACKWARD_SWEEP_PACKETS))
      this.sweep(tsMs);
    const fwd = `${p.transport} ${p.src} ${p.sport} ${p.dst} ${p.dport}`;
    const rev = `${p.transport} ${p.dst} ${p.dport} ${p.src} ${p.sport}`;
    let flow = this.flows.get(fwd) ?? this.flows.get(rev);
    const isSyn = p.transport === 'tcp' && (p.flags & SYN) !== 0;
    if (!flow) {
      const wasClosed = this.closed.has(fwd) ? fwd : this.closed.has(rev) ? rev : undefined;
      // a closed flow's trailing ACKs and retransmissions belong to it, not to a new flow
      if (wasClosed !== undefined && !(isSyn && (p.flags & ACK) === 0)) return;
      if (wasClosed !== undefined) this.closed.delete(wasClosed);
      // a SYN says who opened the connection (a SYN-ACK: its receiver); without one, the ports may
      const byPorts = isSyn ? undefined : serverByPorts(p.sport, p.dport);
      const flip = isSyn ? (p.flags & ACK) !== 0 : byPorts === 'a';
      flow = {
        key: flip ? rev : fwd,
        transport: p.transport,
        client: flip ? { ip: p.dst, port: p.dport } : { ip: p.src, port: p.sport },
        server: flip ? { ip: p.src, port: p.sport } : { ip: p.dst, port: p.dport },
        startMs: tsMs,
        lastMs: tsMs,
        firstPacket: index,
        packets: 0,
        bytes: 0,
        c: newDir(),
        s: newDir(),
        reported: false,
        decidedBy: isSyn ? 'syn' : byPorts !== undefined ? 'ports' : 'first',
        shares: undefined,
      };
      if (this.flows.size >= MAX_FLOWS) {
        this.firstEvictedAt ??= index;
        this.evictOldest();
      }
      this.flows.set(flow.key, flow);
    }
    let fromClient = p.src === flow.client.ip && p.sport === flow.client.port;
    // a SYN arriving after the flow began (the capture caught a retransmission first) still decides
    if (isSyn && flow.decidedBy !== 'syn') {
      if (fromClient === ((p.flags & ACK) !== 0)) {
        swapEnds(flow);
        fromClient = !fromClient;
      }
      flow.decidedBy = 'syn';
    }
    const d = fromClient ? flow.c : flow.s;
    flow.packets++;
    flow.bytes += wireBytes;
    if (tsMs > flow.lastMs) flow.lastMs = tsMs;
    d.packets++;
    d.bytes += p.payload.length;
    if (p.transport === 'udp') {
      if (p.payload.length > 0) append(d, p.payload);
    } else {
      if (p.payload.length > 0 && flow.shares !== null) this.sessionData(flow, p.payload, tsMs, index);
      if (isSyn) d.base = (p.seq + 1) >>> 0;
      if (p.payload.length > 0) tcpData(d, isSyn ? (p.seq + 1) >>> 0 : p.seq, p.payload);
      if (p.flags & FIN) d.fin = true;
      if (p.flags & RST || (flow.c.fin && flow.s.fin)) {
        this.close(flow, 'closed');
        return;
      }
    }
    if (!flow.reported && flow.c.sampleLen >= SAMPLE_BYTES && flow.s.sampleLen >= SAMPLE_BYTES) {
      flow.reported = true;
      report(flow, 'early', this.onFlow);
    }
  }

  /** The first payload decides whether the flow is read as a Stratum session; the reader learns each packet's time. */
  private sessionData(flow: Flow, payload: Buffer, tsMs: number, index: number): void {
    let stream = flow.shares;
    if (stream === undefined) {
      stream = this.sessions?.open(flow, payload, tsMs, index) ?? null;
      flow.shares = stream;
      if (stream === null) return;
      const reader = stream;
      // bound to the direction object, which stays with its bytes if the ends are swapped
      flow.c.stream = (data) => reader.data(0, data);
      flow.s.stream = (data) => reader.data(1, data);
    }
    if (stream === null) return;
    if (!stream.isActive) {
      flow.shares = null;
      flow.c.stream = undefined;
      flow.s.stream = undefined;
      return;
    }
    stream.at(tsMs, index);
  }

  private endSession(flow: Flow): void {
    if (!flow.shares) return;
    flow.shares.end(flow.lastMs);
    flow.c.stream = undefined;
    flow.s.stream = undefined;
  }

  private close(flow: Flow, reason: FlowReason): void {
    this.flows.delete(flow.key);
    if (flow.transport === 'tcp') {
      if (this.closed.size >= MAX_CLOSED) {
        const oldest = this.closed.keys().next();
        if (!oldest.done) this.closed.delete(oldest.value);
      }
      this.closed.set(flow.key, flow.lastMs);
    }
    if (!flow.reported) report(flow, reason, this.onFlow);
    this.endSession(flow);
  }

  private evictOldest(): void {
    const oldest = this.flows.values().next();
    if (oldest.done) return;
    this.evicted++;
    const f = oldest.value;
    this.flows.delete(f.key);
    // a flow that carried data is still evidence; a half-open one (a SYN flood) is only counted
    if (!f.reported && (f.c.bytes > 0 || f.s.bytes > 0)) report(f, 'evicted', this.onFlow);
    this.endSession(f);
  }

  /** Idle flows close; long ones are reported early. Runs every 10 s of event time, not per packet. */
  private sweep(nowMs: number): void {
    this.lastSweep = nowMs;
    this.sinceSweep = 0;
    for (const f of [...this.flows.values()]) {
      if (nowMs - f.lastMs >= (f.shares?.ledgerOf ? SESSION_IDLE_MS : IDLE_MS)) this.close(f, 'idle');
      else if (!f.reported && nowMs - f.startMs >= EARLY_MS) {
        f.reported = true;
        report(f, 'early', this.onFlow);
      }
    }
    for (const [key, lastMs] of this.closed) if (nowMs - lastMs >= IDLE_MS) this.closed.delete(key);
  }

  /** End of input: every open flow is reported. */
  finish(): void {
    for (const f of [...this.flows.values()]) this.close(f, 'end');
  }
}
