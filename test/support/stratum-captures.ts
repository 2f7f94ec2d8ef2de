/**
 * Test-only Stratum sessions with a known truth: a miner hashing at `hashrate` finds shares as a Poisson
 * process of rate hashrate ÷ hashes-per-share, drawn from a seeded generator, and the pool answers each
 * one. Three dialects (XMRig's Monero login/job/submit, Bitcoin-style subscribe/set_difficulty/notify/
 * submit, Ethereum getwork over HTTP, kept alive or a connection per request) and a login-only session,
 * written as pcap through pcap-writer.ts; `mergeCaptures` lays sessions side by side in one capture.
 * Each session says what it is: the true hashrate, the hashes one share stands for, shares sent.
 * Seeded with the bench generator's mulberry32, so a capture is the same bytes on every run.
 */
import { mulberry32 as seeded } from '../../bench/generate.js';
import { type PacketSpec, writePcap } from './pcap-writer.js';

export interface Truth {
  /** Hashes (per second) the simulated miner does. */
  hashrate: number;
  accepted: number;
  rejected: number;
  /** Seconds from the first job to the last packet. */
  seconds: number;
}

export interface GeneratedCapture {
  pcap: Buffer;
  /** The packets the pcap holds, in time order (to merge sessions into one capture). */
  packets: PacketSpec[];
  truth: Truth;
  client: string;
  server: string;
  serverPort: number;
}

/** One TCP conversation, each message one segment at its own time; handshake and FINs around them. */
class Conversation {
  readonly packets: PacketSpec[] = [];
  private cseq = 1000;
  private sseq = 700_000;

  constructor(
    private readonly client: string,
    private readonly server: string,
    private readonly cport: number,
    private readonly sport: number,
    startMs: number,
  ) {
    this.push(startMs, true, 'S');
    this.cseq++;
    this.push(startMs + 20, false, 'SA');
    this.sseq++;
    this.push(startMs + 21, true, 'A');
  }

  private push(tsMs: number, fromClient: boolean, flags: string, payload?: string): void {
    this.packets.push({
      tsMs,
      src: fromClient ? this.client : this.server,
      dst: fromClient ? this.server : this.client,
      sport: fromClient ? this.cport : this.sport,
      dport: fromClient ? this.sport : this.cport,
      transport: 'tcp',
      seq: fromClient ? this.cseq : this.sseq,
      ack: fromClient ? this.sseq : this.cseq,
      flags,
      payload,
    });
    const len = payload ? Buffer.byteLength(payload) : 0;
    if (fromClient) this.cseq += len;
    else this.sseq += len;
  }

  send(tsMs: number, text: string): void {
    this.push(tsMs, true, 'PA', text);
  }

  answer(tsMs: number, text: string): void {
    this.push(tsMs, false, 'PA', text);
  }

  close(tsMs: number): void {
    this.push(tsMs, true, 'FA');
    this.cseq++;
    this.push(tsMs + 1, false, 'FA');
    this.sseq++;
    this.push(tsMs + 2, true, 'A');
  }

  sorted(): PacketSpec[] {
    return [...this.packets].sort((a, b) => a.tsMs - b.tsMs);
  }
}

/** Share times (ms after `fromMs`) of a Poisson process of `perSecond` over `seconds`. */
function shareTimes(random: () => number, perSecond: number, seconds: number): number[] {
  const out: number[] = [];
  for (let t = 0; ; ) {
    t += -Math.log(1 - random()) / perSecond;
    if (t >= seconds) return out;
    out.push(t * 1000);
  }
}

const XMR_WALLET = '48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD';
export const START_MS = Date.UTC(2026, 10, 2, 9, 0, 0);

/** Little-endian hex of a 32-bit Monero target for `difficulty` (2^32 / difficulty). */
export function moneroTarget(difficulty: number): string {
  const t = Math.round(2 ** 32 / difficulty);
  const b = Buffer.alloc(4);
  b.writeUInt32LE(t);
  return b.toString('hex');
}

/**
 * XMRig mining RandomX: login with its agent and algorithms, the pool's reply with the first job,
 * a new job every minute, `submit` per share answered `{"status":"OK"}` (one rejected as stale).
 */
export function moneroSession(
  opts: {
    hashrate?: number;
    difficulty?: number;
    minutes?: number;
    seed?: number;
    loginOnly?: boolean;
    /** The login (wallet or worker) the miner sends; default a Monero address. */
    login?: string;
    /**
     * Seconds between the pool's jobs (default 60). Over 2 minutes, the connection may fall silent
     * longer than a plain flow's idle time between shares, as a slow miner's does between blocks.
     */
    jobEveryS?: number;
    /** The miner's address and source port (default 10.0.0.5:50412): two miners behind one NAT share the address. */
    client?: string;
    clientPort?: number;
  } = {},
): GeneratedCapture {
  const hashrate = opts.hashrate ?? 3000;
  const difficulty = opts.difficulty ?? 120_000;
  const seconds = (opts.minutes ?? 35) * 60;
  const random = seeded(opts.seed ?? 7);
  const client = opts.client ?? '10.0.0.5';
  const server = '198.51.100.7';
  const c = new Conversation(client, server, opts.clientPort ?? 50_412, 3333, START_MS);
  let id = 1;
  c.send(
    START_MS + 30,
    `${JSON.stringify({ id: id++, jsonrpc: '2.0', method: 'login', params: { login: opts.login ?? XMR_WALLET, pass: 'x', agent: 'XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/11.2.0', algo: ['rx/0', 'cn/r'] } })}\n`,
  );
  const target = moneroTarget(difficulty);
  const job = (n: number) => ({
    blob: `0e0e${n.toString(16).padStart(8, '0')}${'ab'.repeat(34)}`,
    job_id: `j${n}`,
    target,
    algo: 'rx/0',
    height: 3_100_000 + n,
  });
  const first = START_MS + 80;
  c.answer(
    first,
    `${JSON.stringify({ id: 1, jsonrpc: '2.0', error: null, result: { id: 'sess-1', job: job(0), status: 'OK' } })}\n`,
  );
  const end = first + seconds * 1000;
  const jobs: number[] = [];
  const jobEveryMs = (opts.jobEveryS ?? 60) * 1000;
  for (let t = first + jobEveryMs; t < end; t += jobEveryMs) jobs.push(t);
  const shares = opts.loginOnly ? [] : shareTimes(random, hashrate / difficulty, seconds).map((t) => first + t);
  let accepted = 0;
  let rejected = 0;
  // jobs and shares in time order; the share just after a job change is stale once
  let j = 0;
  let staleDone = false;
  for (const at of shares) {
    while (j < jobs.length && jobs[j] < at) {
      c.answer(jobs[j], `${JSON.stringify({ jsonrpc: '2.0', method: 'job', params: job(j + 1) })}\n`);
      j++;
    }
    const shareId = id++;
    c.send(
      at,
      `${JSON.stringify({ id: shareId, jsonrpc: '2.0', method: 'submit', params: { id: 'sess-1', job_id: `j${j}`, nonce: 'deadbeef', result: 'ff'.repeat(32) } })}\n`,
    );
    const stale = !staleDone && j > 3;
    if (stale) {
      staleDone = true;
      rejected++;
      c.answer(
        at + 40,
        `${JSON.stringify({ id: shareId, jsonrpc: '2.0', error: { code: -1, message: 'Block expired' } })}\n`,
      );
    } else {
      accepted++;
      c.answer(at + 40, `${JSON.stringify({ id: shareId, jsonrpc: '2.0', error: null, result: { status: 'OK' } })}\n`);
    }
  }
  for (; j < jobs.length; j++)
    c.answer(jobs[j], `${JSON.stringify({ jsonrpc: '2.0', method: 'job', params: job(j + 1) })}\n`);
  c.close(end);
  const packets = c.sorted();
  return {
    pcap: writePcap(packets),
    packets,
    truth: { hashrate, accepted, rejected, seconds },
    client,
    server,
    serverPort: 3333,
  };
}

/**
 * A Bitcoin-style miner: subscribe, authorize, `set_difficulty` 16 (raised to 32 half way, before that
 * job), `notify` every 30 s, `mining.submit` per share (all with id 4, as some miners send), `true` back.
 */
export function bitcoinSession(opts: { hashrate?: number; minutes?: number; seed?: number } = {}): GeneratedCapture {
  const hashrate = opts.hashrate ?? 2.3e9;
  const seconds = (opts.minutes ?? 30) * 60;
  const random = seeded(opts.seed ?? 11);
  const client = '10.0.0.6';
  const server = '203.0.113.40';
  const c = new Conversation(client, server, 41_200, 3333, START_MS);
  c.send(START_MS + 30, `${JSON.stringify({ id: 1, method: 'mining.subscribe', params: ['cgminer/4.12.1'] })}\n`);
  c.answer(
    START_MS + 60,
    `${JSON.stringify({ id: 1, result: [[['mining.notify', 'ae6812eb4cd7735a302a8a9dd95cf71f']], '08000002', 4], error: null })}\n`,
  );
  c.send(START_MS + 70, `${JSON.stringify({ id: 2, method: 'mining.authorize', params: ['bc1qworker.rig7', 'x'] })}\n`);
  c.answer(START_MS + 100, `${JSON.stringify({ id: 2, result: true, error: null })}\n`);
  const first = START_MS + 120;
  const half = first + (seconds * 1000) / 2;
  const notify = (n: number) =>
    `${JSON.stringify({ id: null, method: 'mining.notify', params: [`${n.toString(16)}`, '4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000', '01000000010000', '072f736c7573682f000000000100f2052a010000001976a914', [], '00000002', '1c2ac4af', '504e86b9', n === 0] })}\n`;
  c.answer(first, `${JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [16] })}\n`);
  c.answer(first + 1, notify(0));
  const end = first + seconds * 1000;
  // the miner's share times at difficulty 16, then at 32 from the half: the rate halves with the difficulty
  const before = shareTimes(random, hashrate / (16 * 2 ** 32), seconds / 2).map((t) => first + t);
  const after = shareTimes(random, hashrate / (32 * 2 ** 32), seconds / 2).map((t) => half + t);
  const events: Array<{ at: number; what: 'share' | 'notify' | 'raise' }> = [
    ...before.map((at) => ({ at, what: 'share' as const })),
    ...after.map((at) => ({ at, what: 'share' as const })),
    { at: half, what: 'raise' },
  ];
  for (let t = first + 30_000; t < end; t += 30_000) if (t !== half) events.push({ at: t, what: 'notify' });
  events.sort((a, b) => a.at - b.at);
  let n = 1;
  let accepted = 0;
  for (const e of events) {
    if (e.what === 'raise') {
      c.answer(e.at, `${JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [32] })}\n`);
      c.answer(e.at + 1, notify(n++));
    } else if (e.what === 'notify') c.answer(e.at, notify(n++));
    else {
      c.send(
        e.at,
        `${JSON.stringify({ id: 4, method: 'mining.submit', params: ['bc1qworker.rig7', (n - 1).toString(16), '00000000', '504e86ed', 'b2957c02'] })}\n`,
      );
      c.answer(e.at + 30, `${JSON.stringify({ id: 4, result: true, error: null })}\n`);
      accepted++;
    }
  }
  c.close(end);
  const packets = c.sorted();
  return {
    pcap: writePcap(packets),
    packets,
    truth: { hashrate, accepted, rejected: 0, seconds },
    client,
    server,
    serverPort: 3333,
  };
}

/** 2^256 ÷ hashes-per-share as the 0x-prefixed 64-digit boundary an Ethereum pool hands out. */
export function ethBoundary(hashesPerShare: number): string {
  const b = (1n << 256n) / BigInt(Math.round(hashesPerShare));
  return `0x${b.toString(16).padStart(64, '0')}`;
}

function httpPost(body: string): string {
  return `POST /?miner=10@0x7a250d5630b4cf539739df2c5dacb4c659f2488d@rig1 HTTP/1.1\r\nHost: eth.pool.example\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function httpChunked(body: string): string {
  return `HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
}

/**
 * An Ethereum miner polling getwork over HTTP on one keep-alive connection (as pool.eth.pp.ua's
 * capture does): `eth_getWork` every 10 s answered with [header, seed, boundary], `eth_submitWork` per
 * share answered `true` (the pool's ids do not echo the request's: answers pair by order). With
 * `connectionPerRequest`, each request and its answer are a TCP connection of their own (a client
 * without keep-alive), the miner hashing on between them.
 */
export function ethereumGetworkSession(
  opts: {
    hashrate?: number;
    hashesPerShare?: number;
    minutes?: number;
    seed?: number;
    connectionPerRequest?: boolean;
  } = {},
): GeneratedCapture {
  const hashrate = opts.hashrate ?? 1e8;
  const perShare = opts.hashesPerShare ?? 4e9;
  const seconds = (opts.minutes ?? 30) * 60;
  const random = seeded(opts.seed ?? 23);
  const client = '10.0.0.7';
  const server = '192.0.2.80';
  const conversations: Conversation[] = [];
  let port = 49_417;
  let kept: Conversation | undefined;
  // the connection a request at `at` goes on: the kept-alive one, or a new one opened just before it
  const on = (at: number): Conversation => {
    if (!opts.connectionPerRequest) {
      kept ??= new Conversation(client, server, port, 80, START_MS);
      return kept;
    }
    const conv = new Conversation(client, server, port++, 80, at - 25);
    conversations.push(conv);
    return conv;
  };
  const exchange = (at: number, request: string, answerAt: number, answer: string): void => {
    const conv = on(at);
    conv.send(at, request);
    conv.answer(answerAt, answer);
    if (opts.connectionPerRequest) conv.close(answerAt + 1);
  };
  const boundary = ethBoundary(perShare);
  const work = (n: number) =>
    httpChunked(
      JSON.stringify({
        id: 73,
        jsonrpc: '2.0',
        result: [`0x${n.toString(16).padStart(64, 'd')}`, `0x${'71'.repeat(32)}`, boundary],
      }),
    );
  const first = START_MS + 50;
  exchange(START_MS + 30, httpPost(JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'eth_getWork' })), first, work(0));
  const end = first + seconds * 1000;
  const events: Array<{ at: number; share: boolean }> = shareTimes(random, hashrate / perShare, seconds).map((t) => ({
    at: first + t,
    share: true,
  }));
  for (let t = first + 10_000; t < end; t += 10_000) events.push({ at: t, share: false });
  events.sort((a, b) => a.at - b.at);
  let accepted = 0;
  let n = 1;
  for (const e of events) {
    if (e.share) {
      exchange(
        e.at,
        httpPost(
          JSON.stringify({
            id: 1,
            jsonrpc: '2.0',
            method: 'eth_submitWork',
            params: ['0x0000000000000a3f', `0x${'5a'.repeat(32)}`, `0x${'0c'.repeat(32)}`],
          }),
        ),
        e.at + 40,
        httpChunked(JSON.stringify({ id: 73, jsonrpc: '2.0', result: true })),
      );
      accepted++;
    } else
      exchange(e.at, httpPost(JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'eth_getWork' })), e.at + 40, work(n++));
  }
  if (kept) {
    kept.close(end);
    conversations.push(kept);
  }
  const packets = conversations.flatMap((conv) => conv.packets).sort((a, b) => a.tsMs - b.tsMs);
  return {
    pcap: writePcap(packets),
    packets,
    truth: { hashrate, accepted, rejected: 0, seconds },
    client,
    server,
    serverPort: 80,
  };
}

/** Sessions side by side in one capture (their packets in time order), each keeping its own truth. */
export function mergeCaptures(parts: GeneratedCapture[]): Buffer {
  return writePcap(parts.flatMap((p) => p.packets).sort((a, b) => a.tsMs - b.tsMs));
}
