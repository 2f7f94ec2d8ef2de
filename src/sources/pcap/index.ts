/**
 * Packet captures (pcap, nanosecond pcap, pcapng): our own reader. Streamed chunk by chunk through
 * the framer (`file.ts`) and the flow table (`flows.ts`): one `connect` event per TCP/UDP flow with
 * payload samples, TLS SNI and the HTTP request, and one `dns-query` event per DNS answer (or
 * unanswered query). A Stratum session read whole (`stratum-session.ts`) is reported as `connect`
 * events of type `info` carrying `coalmine.flow.stratum`: progress every 10 minutes while shares come,
 * and a final one. Network captures know no host: `host` is only the input's host hint.
 */
import { type CoalEvent, isoFromMs } from '../../model/event.js';
import { type Issue, issue } from '../../model/issue.js';
import { domainOf } from '../net-fields.js';
import type { SourceDescriptor, SourceInput } from '../types.js';
import { type Decoded, decodeFrame } from './decode.js';
import { parseDns } from './dns.js';
import { type FrameProblem, Framer, type RawPacket, sniffKind } from './file.js';
import { type Flow, FlowTable, IDLE_MS, sampleOf } from './flows.js';
import { parseHttpRequest } from './http.js';
import { type SessionReport, ShareSessions } from './stratum-session.js';
import { clientHelloSni, looksLikeTls } from './tls.js';

/** Per-file issues reported one by one; the rest are counted in one closing issue. */
const MAX_ISSUES = 100;
/** Unanswered DNS queries held for their answer. */
const MAX_PENDING_DNS = 4096;
/** Addresses remembered from DNS answers, to name a later connection's destination. */
const MAX_NAMES = 4096;
/** How often (capture time) Stratum sessions are asked for the reports due. */
const SESSION_CHECK_MS = 10_000;

/** Printable ASCII and tab/CR/LF kept (Stratum is newline-delimited); other bytes and `\` as \xNN. */
export function payloadText(b: Buffer): string {
  return b
    .toString('latin1')
    .replace(/[^\t\n\r\x20-\x5b\x5d-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

interface PendingQuery {
  tsMs: number;
  index: number;
  name: string | undefined;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  transport: 'udp' | 'tcp';
}

class PcapReader {
  events: CoalEvent[] = [];
  issues: Issue[] = [];
  private issueCount = 0;
  /** Record of the first issue past MAX_ISSUES: the summary names where the unlisted ones start. */
  private firstSuppressed: string | undefined;
  private pending = new Map<string, PendingQuery>();
  private names = new Map<string, string>();
  private lastTsMs = 0;
  private readonly sessions = new ShareSessions();
  private lastSessionCheck = Number.NEGATIVE_INFINITY;
  readonly flows = new FlowTable((f) => this.flowEvent(f), this.sessions);
  private readonly host: CoalEvent['host'];

  constructor(
    private readonly file: string,
    hostHint: string | undefined,
  ) {
    this.host = hostHint ? { name: hostHint } : undefined;
  }

  report(record: number | string, code: string, reason: string): void {
    this.issueCount++;
    if (this.issueCount <= MAX_ISSUES)
      this.issues.push(issue({ file: this.file, record: String(record) }, code, reason));
    else this.firstSuppressed ??= String(record);
  }

  finish(framer: Framer): void {
    this.flows.finish();
    for (const r of this.sessions.finish()) this.sessionEvent(r);
    for (const q of this.pending.values()) this.dnsEvent(q, undefined, undefined);
    this.pending.clear();
    if (framer.cutPackets > 0 && framer.firstCut)
      this.issues.push(
        issue(
          { file: this.file, record: String(framer.firstCut.index) },
          'PCAP_SNAPLEN_CUT',
          `${framer.cutPackets} packets captured shorter than they were (snaplen), first at offset 0x${framer.firstCut.offset.toString(16)}; their payload is partial`,
          'reading',
        ),
      );
    if (this.flows.evicted > 0)
      this.issues.push(
        issue(
          {
            file: this.file,
            record: this.flows.firstEvictedAt === undefined ? undefined : String(this.flows.firstEvictedAt),
          },
          'PCAP_FLOWS_EVICTED',
          `${this.flows.evicted} flows evicted from a full flow table (65,536 open flows), the first at record ${this.flows.firstEvictedAt ?? '?'}; half-open ones were not reported`,
          'processing',
        ),
      );
    if (this.sessions.untracked > 0)
      this.issues.push(
        issue(
          { file: this.file, record: String(this.sessions.firstUntracked) },
          'PCAP_STRATUM_UNREAD',
          `${this.sessions.untracked} flows that may be Stratum were not read whole (4,096 were being read at once), the first at record ${this.sessions.firstUntracked}; their shares are not counted`,
          'processing',
        ),
      );
    if (this.issueCount > MAX_ISSUES)
      this.issues.push(
        // every issue names a record: this one the first it leaves out
        issue(
          { file: this.file, record: this.firstSuppressed },
          'PCAP_ISSUES_SUPPRESSED',
          `${this.issueCount - MAX_ISSUES} more issues not listed, the first at record ${this.firstSuppressed}`,
        ),
      );
  }

  problem(p: FrameProblem): void {
    const code = p.offset === 0 ? 'PCAP_BAD_FILE' : /ends inside/.test(p.reason) ? 'PCAP_TRUNCATED' : 'PCAP_BAD_RECORD';
    this.report(p.index, code, `offset 0x${p.offset.toString(16)}: ${p.reason}`);
  }

  packet(pkt: RawPacket): void {
    // a simple packet block has no time: it inherits its predecessor's
    let tsMs = pkt.tsMs === 0 ? this.lastTsMs : pkt.tsMs;
    // beyond what a Date holds (±8.64e15 ms): a broken timestamp, not a time
    if (!(Math.abs(tsMs) <= 8.64e15)) {
      this.report(pkt.index, 'PCAP_BAD_TIME', `offset 0x${pkt.offset.toString(16)}: timestamp out of range`);
      tsMs = this.lastTsMs;
    }
    this.lastTsMs = tsMs;
    const d = decodeFrame(pkt.linkType, pkt.data);
    if (d === undefined) return;
    if (typeof d === 'string') {
      // a snaplen cut is reported once for the file, not once per packet
      if (pkt.data.length >= pkt.origLen)
        this.report(pkt.index, 'PCAP_BAD_PACKET', `offset 0x${pkt.offset.toString(16)}: ${d}`);
      return;
    }
    if (d.transport === 'udp' && (d.sport === 53 || d.dport === 53)) {
      this.udpDns(d, tsMs, pkt.index);
      return;
    }
    this.flows.packet(d, tsMs, pkt.index, pkt.origLen);
    // capture time going back (merged captures) restarts the clock of the checks
    if (tsMs - this.lastSessionCheck >= SESSION_CHECK_MS || tsMs < this.lastSessionCheck) {
      this.lastSessionCheck = tsMs;
      for (const r of this.sessions.due(tsMs)) this.sessionEvent(r);
    }
  }

  /** A Stratum session's report: the flow's addresses, the session summary, cited at its last answered share. */
  private sessionEvent(r: SessionReport): void {
    this.events.push({
      '@timestamp': isoFromMs(r.tsMs),
      event: {
        kind: 'event',
        category: ['network'],
        type: ['connection', 'info'],
        action: 'connect',
        dataset: 'pcap.stratum',
      },
      host: this.host,
      source: { ip: r.client.ip, port: r.client.port },
      destination: { ip: r.server.ip, port: r.server.port, ...(r.domain ? { domain: r.domain } : {}) },
      network: { transport: 'tcp' },
      original: { packet: r.packet, transport: 'tcp', stratum: r.session.final ? 'final' : 'progress' },
      coalmine: {
        ts: r.tsMs,
        format: 'pcap',
        ref: { file: this.file, record: String(r.packet) },
        flow: { stratum: r.session },
      },
    });
  }

  private udpDns(d: Decoded, tsMs: number, index: number): void {
    const msg = parseDns(d.payload);
    if (!msg) return;
    const self = { ip: d.src, port: d.sport };
    const peer = { ip: d.dst, port: d.dport };
    if (!msg.isResponse) {
      if (this.pending.size >= MAX_PENDING_DNS) {
        const oldest = this.pending.entries().next();
        if (!oldest.done) {
          this.pending.delete(oldest.value[0]);
          this.dnsEvent(oldest.value[1], undefined, undefined);
        }
      }
      this.expireQueries(tsMs);
      const q = { tsMs, index, name: msg.name, client: self, server: peer, transport: 'udp' as const };
      this.pending.set(`${self.ip} ${self.port} ${peer.ip} ${msg.id}`, q);
      return;
    }
    const key = `${peer.ip} ${peer.port} ${self.ip} ${msg.id}`;
    const q = this.pending.get(key);
    if (q) this.pending.delete(key);
    this.dnsEvent(q ?? { tsMs, index, name: msg.name, client: peer, server: self, transport: 'udp' }, msg.name, msg);
  }

  private expireQueries(nowMs: number): void {
    for (const [key, q] of this.pending) {
      if (nowMs - q.tsMs < IDLE_MS) break; // insertion order is time order, near enough
      this.pending.delete(key);
      this.dnsEvent(q, undefined, undefined);
    }
  }

  private dnsEvent(q: PendingQuery, name: string | undefined, answer: ReturnType<typeof parseDns>): void {
    const qname = name ?? q.name;
    if (qname === undefined) return;
    const ips = answer?.answers ?? [];
    for (const ip of ips) {
      if (this.names.size >= MAX_NAMES) this.names.delete(this.names.keys().next().value as string);
      this.names.set(ip, qname);
    }
    this.events.push({
      '@timestamp': isoFromMs(q.tsMs),
      event: {
        kind: 'event',
        category: ['network'],
        type: ['protocol', 'info'],
        action: 'dns-query',
        dataset: 'pcap.dns',
        outcome: answer === undefined ? 'unknown' : answer.rcode === 0 ? 'success' : 'failure',
      },
      host: this.host,
      source: { ...q.client },
      destination: { ...q.server },
      network: { transport: q.transport, protocol: 'dns' },
      dns: { question: { name: qname }, ...(ips.length > 0 ? { resolved_ip: ips } : {}) },
      original: { packet: q.index, response: answer !== undefined, rcode: answer?.rcode },
      coalmine: { ts: q.tsMs, format: 'pcap', ref: { file: this.file, record: String(q.index) } },
    });
  }

  private flowEvent(f: Flow): void {
    const cs = sampleOf(f.c);
    if (f.transport === 'tcp' && (f.server.port === 53 || f.client.port === 53)) {
      this.tcpDns(f, cs, sampleOf(f.s));
      return;
    }
    const ss = sampleOf(f.s);
    const sni = f.transport === 'tcp' ? clientHelloSni(cs) : undefined;
    const http = f.transport === 'tcp' && !looksLikeTls(cs) ? parseHttpRequest(cs) : undefined;
    const protocol = sni !== undefined || looksLikeTls(cs) ? 'tls' : http ? 'http' : undefined;
    // a Host that is an address names no domain (and is never cut at a dot or colon)
    const domain = sni ?? domainOf(http?.host) ?? this.names.get(f.server.ip);
    const session = f.shares?.ledgerOf;
    if (session && domain) session.domain ??= domain;
    const ev: CoalEvent = {
      '@timestamp': isoFromMs(f.startMs),
      event: {
        kind: 'event',
        category: ['network'],
        type: ['connection', 'start'],
        action: 'connect',
        dataset: 'pcap.flow',
      },
      host: this.host,
      source: { ip: f.client.ip, port: f.client.port, bytes: f.c.bytes },
      destination: { ip: f.server.ip, port: f.server.port, bytes: f.s.bytes, ...(domain ? { domain } : {}) },
      network: { transport: f.transport, protocol, bytes: f.bytes, packets: f.packets },
      original: { packet: f.firstPacket, transport: f.transport },
      coalmine: {
        ts: f.startMs,
        format: 'pcap',
        ref: { file: this.file, record: String(f.firstPacket) },
        flow: {
          clientPayload: payloadText(cs),
          serverPayload: payloadText(ss),
          durationMs: f.lastMs - f.startMs,
          clientBytes: f.c.bytes,
          serverBytes: f.s.bytes,
          clientMessages: f.c.newlines,
        },
      },
    };
    if (sni !== undefined) ev.tls = { client: { server_name: sni } };
    if (http) {
      ev.http = { request: { method: http.method, path: http.path, ...(http.host ? { host: http.host } : {}) } };
      if (http.userAgent !== undefined) ev.user_agent = { original: http.userAgent };
    }
    this.events.push(ev);
  }

  /** DNS over TCP: two-byte length-prefixed messages in each direction's sample. */
  private tcpDns(f: Flow, cs: Buffer, ss: Buffer): void {
    const server = f.server.port === 53 ? f.server : f.client;
    const client = server === f.server ? f.client : f.server;
    const base = { tsMs: f.startMs, index: f.firstPacket, client, server, transport: 'tcp' as const };
    let query: string | undefined;
    for (let o = 0; o + 2 <= cs.length && query === undefined; o += 2 + cs.readUInt16BE(o))
      query = parseDns(cs.subarray(o + 2, o + 2 + cs.readUInt16BE(o)))?.name;
    let answered = false;
    for (let o = 0; o + 2 <= ss.length; o += 2 + ss.readUInt16BE(o)) {
      const msg = parseDns(ss.subarray(o + 2, o + 2 + ss.readUInt16BE(o)));
      if (!msg?.isResponse) continue;
      answered = true;
      this.dnsEvent({ ...base, name: query }, msg.name, msg);
    }
    if (!answered && query !== undefined) this.dnsEvent({ ...base, name: query }, undefined, undefined);
  }
}

export const pcap: SourceDescriptor = {
  name: 'pcap',
  summary: 'Packet capture (pcap, pcapng): flows with payload samples, TLS SNI, HTTP requests, DNS answers',
  platform: 'network',
  delivers: 'events',
  sniff(head, input) {
    // the registry passes the head as UTF-8 text, which mangles the binary pcap magic; the bytes
    // come along on the same object when sniffSource is the caller
    const bytes = (input as Partial<SourceInput>).head;
    if (Buffer.isBuffer(bytes)) return sniffKind(bytes) ? 100 : 0;
    if (sniffKind(Buffer.from(head.slice(0, 12), 'latin1'))) return 100; // pcapng's magic is ASCII
    return /\.(pcap|pcapng|cap)$/i.test(input.name) ? 10 : 0;
  },
  async *read(input) {
    const reader = new PcapReader(input.name, input.hostHint);
    const framer = new Framer();
    const take = (items: Array<RawPacket | FrameProblem>): void => {
      for (const item of items) {
        try {
          if ('data' in item) reader.packet(item);
          else reader.problem(item);
        } catch (e) {
          // every parser is bounds-checked; this keeps the never-throws promise if one is not
          reader.report(item.index, 'PCAP_INTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };
    for await (const chunk of input.open()) {
      take(framer.push(chunk));
      if (reader.events.length > 0 || reader.issues.length > 0) {
        yield { events: reader.events, issues: reader.issues };
        reader.events = [];
        reader.issues = [];
      }
    }
    take(framer.end());
    reader.finish(framer);
    if (reader.events.length > 0 || reader.issues.length > 0) yield { events: reader.events, issues: reader.issues };
  },
};
