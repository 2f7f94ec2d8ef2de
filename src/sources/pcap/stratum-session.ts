/**
 * Stratum sessions read whole while their flows are reassembled: every JSON-RPC message of a mining
 * session (not only the first 4 KiB a flow keeps), summed into a bounded `StratumSession` per session
 * (client address → pool address:port; a miner reconnecting within a minute continues its session,
 * and a Stratum connection opened while another of the same address to the same pool is open is
 * another miner behind that address, its own session, ≤ 256 of them; getwork's HTTP connections are
 * one miner's, its work in hand between them): dialect, algorithm (named by the job or login, else by
 * a single-algorithm miner's agent, else by the shape of the work), worker and agent (clipped; over
 * HTTP the wallet in the URL or the Basic user), the difficulty in force over time, shares submitted
 * and answered (matched to their request by JSON-RPC id, or by order over HTTP), in ≤ 64 buckets.
 *
 * A flow is read only when its first payload looks like JSON-RPC (a `{`) or an HTTP POST, and given up
 * after 64 KiB or 32 messages with nothing of mining in them. Bounds: lines and HTTP bodies ≤ 16 KiB
 * (longer ones skipped), 256 unanswered request ids per flow, 4,096 flows read at once (more are
 * counted, not read), 4,096 sessions (the oldest is reported and dropped), strings clipped to 64 characters. Reports: every 10 minutes of capture time while
 * shares arrive (progress), and once when the session's last connection has been closed for a
 * minute or the input ends (final).
 */
import {
  type AlgorithmFamily,
  type DifficultyChange,
  difficultyHashesPerShare,
  familyOfAgent,
  familyOfAlgorithm,
  MAX_BUCKETS,
  MAX_DIFFICULTY_CHANGES,
  moneroFamilyAt,
  moneroHashesPerShare,
  type ShareBucket,
  type StratumDialect,
  type StratumSession,
  targetHashesPerShare,
} from '../../model/shares.js';

const MAX_LINE = 16 * 1024;
const GIVE_UP_BYTES = 64 * 1024;
const GIVE_UP_MESSAGES = 32;
const MAX_PENDING = 256;
const MAX_HTTP_PENDING = 64;
const MAX_SESSIONS = 4096;
/** Miners behind one address mining at one pool at once, each its own session; more join the last. */
const MAX_CONCURRENT = 256;
/**
 * Flows read at once: each may hold up to 48 KiB of unfinished lines and bodies, so 4,096 bound that
 * to 192 MiB however many flows a hostile capture opens.
 */
const MAX_STREAMS = 4096;
const MAX_TEXT = 64;
const MAX_HEADER_LINES = 64;
/** A reconnect this soon after the last connection closed continues the session. */
export const SESSION_GRACE_MS = 60_000;
/** Progress reports while shares keep coming: well inside the engine's 1-hour correlation window. */
export const REPORT_EVERY_MS = 10 * 60_000;
const BUCKET_MS = 60_000;

export interface Endpoint {
  ip: string;
  port: number;
}

/** What the pcap reader turns into a `connect` event of type `info` carrying the session. */
export interface SessionReport {
  session: StratumSession;
  client: Endpoint;
  server: Endpoint;
  domain?: string;
  /** The packet (record) of the last answered share, else the session's first. */
  packet: number;
  /** Event time of the report: the session's last activity, or the capture time of a progress report. */
  tsMs: number;
}

function clipText(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The request id a response answers, as a map key (numbers and strings only). */
function idKey(id: unknown): string | undefined {
  if (typeof id === 'number' && Number.isFinite(id)) return `n${id}`;
  if (typeof id === 'string' && id.length <= MAX_TEXT) return `s${id}`;
  return undefined;
}

/** How much of an HTTP request line is read for the worker. */
const MAX_PATH = 2048;

/**
 * The worker an HTTP getwork request's URL names: a `miner=` query value (`10@0xWALLET@rig`) or an
 * Ethereum address as a path segment with the rig after it (`/0xWALLET/rig`).
 */
export function workerInPath(requestLine: string): string | undefined {
  const space = requestLine.indexOf(' ');
  const target = space < 0 ? requestLine : requestLine.slice(0, space);
  const query = /[?&]miner=([^&#\s]{1,256})/.exec(target);
  if (query) return clipText(query[1]);
  const path = /\/(0x[0-9a-fA-F]{40})(?:\/([^/?#\s]{1,64}))?/.exec(target);
  if (path) return clipText(path[2] ? `${path[1]}/${path[2]}` : path[1]);
  return undefined;
}

/** The user of an HTTP Basic `Authorization` value (Bitcoin getwork's worker); the password is never kept. */
export function basicUser(value: string): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/]{1,512}={0,2})$/i.exec(value);
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return clipText(colon < 0 ? text : text.slice(0, colon));
}

/** Whether a pool's answer to a share accepts it: no error and a result that is not false or a non-OK status. */
function accepts(m: Record<string, unknown>): boolean {
  if (m.error !== null && m.error !== undefined && m.error !== false) return false;
  const r = m.result;
  if (r === true) return true;
  const status = obj(r)?.status;
  if (typeof status === 'string') return status.toUpperCase() === 'OK';
  return r !== false && r !== null && r !== undefined;
}

/**
 * How sure a family is, weakest first: the shape of the work (a `set_target`, an Ethereum work
 * package), a single-algorithm miner's agent, an algorithm the session named (login `algo`, the
 * EthereumStratum protocol), the job's own `algo`. A stronger one replaces a weaker; of equal ones the
 * first stands.
 */
export type FamilyRank = 'shape' | 'agent' | 'named' | 'job';
const RANK: Record<FamilyRank, number> = { shape: 1, agent: 2, named: 3, job: 4 };

/** One session: the sums every report carries, and the difficulty in force. */
export class ShareLedger {
  dialect: StratumDialect | undefined;
  family: AlgorithmFamily = 'unknown';
  familyBasis = '';
  private familyRank = 0;
  algorithm: string | undefined;
  agent: string | undefined;
  worker: string | undefined;
  startMs: number;
  endMs: number;
  miningMs = 0;
  connections = 0;
  openConnections = 0;
  submitted = 0;
  accepted = 0;
  rejected = 0;
  exposure = 0;
  readonly difficulties: DifficultyChange[] = [];
  difficultyChangesOmitted = 0;
  private buckets: ShareBucket[] = [];
  private bucketMs = BUCKET_MS;
  /** Expected hashes per share now; undefined until a job or difficulty says. */
  private hashesPerShare: number | undefined;
  /** Time up to which exposure has been counted, while a connection is open. */
  private countedTo: number | undefined;
  lastPacket: number;
  lastReportMs: number;
  /** Shares answered when the last report went out: a progress report needs new ones. */
  reportedAnswers = 0;
  /** The pool's name, when the capture named it (TLS SNI, HTTP Host, a DNS answer). */
  domain: string | undefined;
  /** When the session's last open connection closed (a reconnect within the grace continues it). */
  closedAt: number | undefined;

  constructor(
    readonly key: string,
    public client: Endpoint,
    public server: Endpoint,
    ms: number,
    packet: number,
  ) {
    this.startMs = ms;
    this.endMs = ms;
    this.lastReportMs = ms;
    this.lastPacket = packet;
  }

  setDialect(d: StratumDialect): void {
    this.dialect ??= d;
  }

  /** The family from the session's own words, when surer than the one it has (see FamilyRank). */
  setFamily(family: AlgorithmFamily, basis: string, rank: FamilyRank): void {
    if (family === 'unknown' || RANK[rank] <= this.familyRank) return;
    this.family = family;
    this.familyBasis = basis;
    this.familyRank = RANK[rank];
  }

  /** The agent the miner names itself by (the first stands), and the family a single-algorithm miner's implies. */
  setAgent(agent: unknown): void {
    if (this.agent !== undefined) return;
    this.agent = clipText(agent);
    if (this.agent !== undefined) this.setFamily(familyOfAgent(this.agent), `agent ${this.agent}`, 'agent');
  }

  /** Activity at `ms`: the session's end moves, and exposure is counted up to it. */
  touch(ms: number, packet: number): void {
    if (ms > this.endMs) this.endMs = ms;
    this.lastPacket = packet;
    this.count(ms);
  }

  private count(ms: number): void {
    const from = this.countedTo;
    if (from === undefined || !(ms > from) || !Number.isFinite(ms)) return;
    this.countedTo = ms;
    const hps = this.hashesPerShare;
    if (hps === undefined) return;
    this.miningMs += ms - from;
    // split across buckets: each holds its own exposure, so a bucket's rate is its shares ÷ its exposure
    let t = from;
    while (t < ms) {
      const b = this.bucketAt(t);
      let end = Math.min(ms, b.startMs + b.widthMs);
      // a boundary a rounding error below t: the rest of the span is this bucket's, so the loop always ends
      if (!(end > t)) end = ms;
      const e = (end - t) / 1000 / hps;
      b.exposure += e;
      this.exposure += e;
      t = end;
    }
  }

  setDifficulty(ms: number, hps: number | undefined): void {
    if (hps === undefined || !(hps > 0) || !Number.isFinite(hps)) return;
    this.count(ms);
    if (this.hashesPerShare === hps) return;
    this.hashesPerShare = hps;
    if (this.countedTo === undefined && this.openConnections > 0) this.countedTo = ms;
    if (this.difficulties.length < MAX_DIFFICULTY_CHANGES) this.difficulties.push({ ms, hashesPerShare: hps });
    else this.difficultyChangesOmitted++;
  }

  get knowsDifficulty(): boolean {
    return this.hashesPerShare !== undefined;
  }

  answer(ms: number, ok: boolean): void {
    this.count(ms);
    const b = this.bucketAt(ms);
    if (ok) {
      this.accepted++;
      b.accepted++;
    } else {
      this.rejected++;
      b.rejected++;
    }
  }

  /** A connection of the session opens at `ms` (exposure counts from its first job). */
  open(ms: number): void {
    this.connections++;
    this.openConnections++;
    this.closedAt = undefined;
    if (this.hashesPerShare !== undefined) this.countedTo ??= ms;
  }

  close(ms: number): void {
    this.count(ms);
    this.openConnections = Math.max(0, this.openConnections - 1);
    if (this.openConnections === 0) {
      this.closedAt = ms;
      // getwork's miner hashes on its work between HTTP connections (one per request without
      // keep-alive): the time until the next one, within the grace, is mining time at that boundary
      if (this.dialect === 'getwork') return;
      // a Stratum reconnect starts on the pool's new job: the old difficulty is not known to hold
      this.countedTo = undefined;
      this.hashesPerShare = undefined;
    }
  }

  /** Whether a connection opening at `ms` may continue this session: none open, or getwork's, and within the grace. */
  continuesAt(ms: number, dialect: StratumDialect): boolean {
    if (this.closedAt !== undefined && ms - this.closedAt >= SESSION_GRACE_MS) return false;
    return this.openConnections === 0 || (dialect === 'getwork' && this.dialect === 'getwork');
  }

  /** Closed longer ago than the grace at `ms`: no reconnect continues it. */
  isOverAt(ms: number): boolean {
    return this.openConnections === 0 && this.closedAt !== undefined && ms - this.closedAt >= SESSION_GRACE_MS;
  }

  private bucketAt(at: number): ShareBucket {
    const ms = Number.isFinite(at) ? at : (this.buckets[0]?.startMs ?? 0);
    if (this.buckets.length === 0)
      this.buckets.push({ startMs: ms, widthMs: this.bucketMs, accepted: 0, rejected: 0, exposure: 0 });
    const first = this.buckets[0].startMs;
    if (ms < first) return this.buckets[0];
    for (;;) {
      // read anew each turn: a merge replaces the array
      const buckets = this.buckets;
      const last = buckets[buckets.length - 1];
      if (ms < last.startMs + last.widthMs) {
        // the last bucket or an earlier one (a late answer): by index, widths being equal
        const i = Math.min(buckets.length - 1, Math.floor((ms - first) / this.bucketMs));
        return buckets[i];
      }
      if (buckets.length >= MAX_BUCKETS) this.mergeBuckets();
      else
        buckets.push({
          startMs: last.startMs + last.widthMs,
          widthMs: this.bucketMs,
          accepted: 0,
          rejected: 0,
          exposure: 0,
        });
    }
  }

  /** Pairs of buckets become one twice as wide: a long session keeps 32–64 buckets, never more. */
  private mergeBuckets(): void {
    const merged: ShareBucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const a = this.buckets[i];
      const b = this.buckets[i + 1];
      merged.push({
        startMs: a.startMs,
        widthMs: a.widthMs * 2,
        accepted: a.accepted + (b?.accepted ?? 0),
        rejected: a.rejected + (b?.rejected ?? 0),
        exposure: a.exposure + (b?.exposure ?? 0),
      });
    }
    this.bucketMs *= 2;
    this.buckets = merged;
  }

  get recognised(): boolean {
    return this.dialect !== undefined;
  }

  snapshot(final: boolean): StratumSession {
    let family = this.family;
    let basis = this.familyBasis;
    if (family === 'unknown' && this.dialect === 'monero') ({ family, basis } = moneroFamilyAt(this.startMs));
    if (family === 'unknown' && this.dialect === 'v1' && this.knowsAnyDifficulty)
      [family, basis] = ['sha256d', 'assumed: Bitcoin-style SHA-256d (Stratum v1 names no algorithm)'];
    const s: StratumSession = {
      dialect: this.dialect ?? 'v1',
      family,
      familyBasis: basis || 'not named by the session',
      startMs: this.startMs,
      endMs: this.endMs,
      miningMs: this.miningMs,
      connections: this.connections,
      submitted: this.submitted,
      accepted: this.accepted,
      rejected: this.rejected,
      exposure: this.exposure,
      difficulties: this.difficulties.map((d) => ({ ...d })),
      difficultyChangesOmitted: this.difficultyChangesOmitted,
      buckets: this.buckets.map((b) => ({ ...b })),
      final,
    };
    if (this.algorithm !== undefined) s.algorithm = this.algorithm;
    if (this.agent !== undefined) s.agent = this.agent;
    if (this.worker !== undefined) s.worker = this.worker;
    return s;
  }

  private get knowsAnyDifficulty(): boolean {
    return this.difficulties.length > 0;
  }
}

/** One direction's bytes cut into lines, or HTTP messages whose bodies are read by Content-Length. */
interface DirState {
  partial: Buffer[];
  partialLen: number;
  /** Inside a line longer than MAX_LINE: bytes are dropped up to its newline. */
  skipping: boolean;
  /** Reading HTTP headers (after a request or status line). */
  headers: number;
  contentLength: number;
  chunked: boolean;
  /** Bytes of an HTTP body still to come, and what of it is kept. */
  bodyLeft: number;
  body: Buffer[];
  bodyLen: number;
}

function newDir(): DirState {
  return {
    partial: [],
    partialLen: 0,
    skipping: false,
    headers: -1,
    contentLength: 0,
    chunked: false,
    bodyLeft: 0,
    body: [],
    bodyLen: 0,
  };
}

/** Whether a flow's first payload may start a Stratum or getwork session. */
export function mayBeStratum(payload: Buffer): boolean {
  for (let i = 0; i < payload.length && i < 16; i++) {
    const c = payload[i];
    if (c === 0x7b) return true; // {
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
  }
  return payload.length >= 5 && payload.toString('latin1', 0, 5) === 'POST ';
}

/** The reader of one TCP flow's two directions, summing into its session's ledger. */
export class StratumStream {
  private readonly dirs = [newDir(), newDir()];
  private bytes = 0;
  private messages = 0;
  private active = true;
  private ledger: ShareLedger | undefined;
  /** Unanswered submits by JSON-RPC id (a pool may reuse one id: a count each). */
  private readonly pending = new Map<string, number>();
  /** Over HTTP, answers come in request order: the methods asked, oldest first. */
  private readonly httpAsked: string[] = [];
  /** Over HTTP: who the request names (the wallet in its URL, the Basic user) and its User-Agent. */
  private httpWorker: string | undefined;
  private httpAgent: string | undefined;
  private nowMs: number;
  private packet: number;

  constructor(
    private readonly sessions: ShareSessions,
    private readonly flow: { client: Endpoint; server: Endpoint },
    startMs: number,
    packet: number,
  ) {
    this.nowMs = startMs;
    this.packet = packet;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** The time and packet of the data that follows. */
  at(ms: number, packet: number): void {
    this.nowMs = ms;
    this.packet = packet;
  }

  data(dir: 0 | 1, bytes: Buffer): void {
    if (!this.active) return;
    this.bytes += bytes.length;
    if (this.ledger === undefined && (this.bytes > GIVE_UP_BYTES || this.messages > GIVE_UP_MESSAGES)) {
      this.stop();
      return;
    }
    const d = this.dirs[dir];
    let from = 0;
    while (from < bytes.length && this.active) {
      if (d.bodyLeft > 0) {
        const take = Math.min(d.bodyLeft, bytes.length - from);
        if (d.bodyLen + take <= MAX_LINE) {
          d.body.push(bytes.subarray(from, from + take));
          d.bodyLen += take;
        }
        d.bodyLeft -= take;
        from += take;
        if (d.bodyLeft === 0) {
          const body = Buffer.concat(d.body, d.bodyLen);
          d.body = [];
          d.bodyLen = 0;
          this.http(body.toString('utf8'));
        }
        continue;
      }
      const nl = bytes.indexOf(10, from);
      if (nl < 0) {
        if (!d.skipping) {
          const rest = bytes.length - from;
          if (d.partialLen + rest > MAX_LINE) {
            d.skipping = true;
            d.partial = [];
            d.partialLen = 0;
          } else {
            // copied: the packet's buffer is not ours to keep
            d.partial.push(Buffer.from(bytes.subarray(from)));
            d.partialLen += rest;
          }
        }
        return;
      }
      if (d.skipping) d.skipping = false;
      else if (d.partialLen + (nl - from) <= MAX_LINE) {
        const line =
          d.partialLen === 0
            ? bytes.toString('utf8', from, nl)
            : Buffer.concat([...d.partial, bytes.subarray(from, nl)]).toString('utf8');
        this.line(line, d);
      }
      d.partial = [];
      d.partialLen = 0;
      from = nl + 1;
    }
  }

  private line(raw: string, d: DirState): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (d.headers >= 0) {
      if (line === '') {
        d.headers = -1;
        if (!d.chunked && d.contentLength > 0) d.bodyLeft = d.contentLength;
        return;
      }
      if (++d.headers > MAX_HEADER_LINES) {
        d.headers = -1;
        return;
      }
      const colon = line.indexOf(':');
      if (colon < 0) return;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length' && /^\d{1,9}$/.test(value)) d.contentLength = Number(value);
      else if (name === 'transfer-encoding' && /chunked/i.test(value)) d.chunked = true;
      else if (name === 'user-agent') this.httpAgent ??= clipText(value);
      else if (name === 'authorization') this.httpWorker ??= basicUser(value);
      return;
    }
    if (line.startsWith('POST ') || line.startsWith('HTTP/1.')) {
      d.headers = 0;
      d.contentLength = 0;
      d.chunked = false;
      if (line.startsWith('POST ')) this.httpWorker ??= workerInPath(line.slice(5, 5 + MAX_PATH));
      return;
    }
    const text = line.trim();
    // a chunked HTTP body's JSON lines are read here too; their answers still pair by request order
    if (text.startsWith('{')) this.message(text, d.chunked ? 'http' : 'line');
  }

  private http(body: string): void {
    const text = body.trim();
    if (text.startsWith('{')) this.message(text, 'http');
  }

  private message(text: string, via: 'line' | 'http'): void {
    this.messages++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return; // not JSON: binary, cut by a lost segment, or another protocol
    }
    const m = obj(value);
    if (!m) return;
    const method = typeof m.method === 'string' ? m.method : undefined;
    if (method !== undefined) this.request(m, method, via);
    else this.response(m, via);
  }

  /** The session once the flow speaks mining: the session of its addresses, created or continued. */
  private session(dialect: StratumDialect): ShareLedger {
    if (!this.ledger) {
      this.ledger = this.sessions.ledgerFor(this.flow.client, this.flow.server, dialect, this.nowMs, this.packet);
      this.ledger.open(this.nowMs);
    }
    this.ledger.setDialect(dialect);
    if (this.httpWorker !== undefined) this.ledger.worker ??= this.httpWorker;
    if (this.httpAgent !== undefined) this.ledger.setAgent(this.httpAgent);
    this.ledger.touch(this.nowMs, this.packet);
    return this.ledger;
  }

  private request(m: Record<string, unknown>, method: string, via: 'line' | 'http'): void {
    const p = m.params;
    const list = Array.isArray(p) ? p : [];
    const named = obj(p);
    const httpish = via === 'http';
    if (httpish && this.httpAsked.length < MAX_HTTP_PENDING) this.httpAsked.push(method);
    let s: ShareLedger;
    switch (method) {
      case 'mining.subscribe': {
        s = this.session('v1');
        s.setAgent(list[0]);
        if (typeof list[1] === 'string' && /^EthereumStratum\//i.test(list[1]))
          s.setFamily('ethash', `subscribe protocol ${clipText(list[1])}`, 'named');
        break;
      }
      case 'mining.authorize':
        s = this.session('v1');
        s.worker ??= clipText(list[0]);
        break;
      case 'mining.set_difficulty':
        s = this.session('v1');
        s.setDifficulty(this.nowMs, typeof list[0] === 'number' ? difficultyHashesPerShare(list[0]) : undefined);
        break;
      case 'mining.set_target':
        s = this.session('v1');
        s.setFamily('equihash', 'mining.set_target (Zcash Stratum, ZIP 301)', 'shape');
        s.setDifficulty(this.nowMs, typeof list[0] === 'string' ? targetHashesPerShare(list[0]) : undefined);
        break;
      case 'mining.notify':
        s = this.session('v1');
        // Stratum v1's difficulty is 1 until the pool sets one; EthereumStratum's notify carries no target
        if (!s.knowsDifficulty && s.family !== 'equihash') s.setDifficulty(this.nowMs, difficultyHashesPerShare(1));
        break;
      case 'login':
        if (!named || typeof named.login !== 'string') return;
        s = this.session('monero');
        s.worker ??= clipText(named.login);
        s.setAgent(named.agent);
        if (Array.isArray(named.algo) && named.algo.length === 1 && typeof named.algo[0] === 'string')
          this.algorithm(s, named.algo[0], 'login algo', 'named');
        break;
      case 'job':
        if (!named || (typeof named.blob !== 'string' && typeof named.job_id !== 'string')) return;
        s = this.session('monero');
        this.moneroJob(s, named);
        break;
      case 'eth_submitLogin':
        s = this.session(httpish ? 'getwork' : 'ethereum');
        s.worker ??= clipText(list[0]);
        s.setFamily('ethash', 'Ethereum work protocol (EthProxy/getwork)', 'shape');
        break;
      case 'eth_getWork':
      case 'eth_submitHashrate':
        s = this.session(httpish ? 'getwork' : 'ethereum');
        s.setFamily('ethash', 'Ethereum work protocol (EthProxy/getwork)', 'shape');
        break;
      case 'getwork':
        if (!httpish) return;
        s = this.session('getwork');
        s.setFamily('sha256d', "Bitcoin's getwork", 'shape');
        if (list.length > 0) this.submitted(s, m, via); // getwork with data is a solution
        return;
      case 'mining.submit':
        s = this.session('v1');
        s.worker ??= clipText(list[0]);
        this.submitted(s, m, via);
        return;
      case 'submit':
        if (!named || typeof named.nonce !== 'string' || typeof named.job_id !== 'string') return;
        this.submitted(this.session('monero'), m, via);
        return;
      case 'eth_submitWork':
        s = this.session(httpish ? 'getwork' : 'ethereum');
        s.worker ??= clipText(m.worker);
        this.submitted(s, m, via);
        return;
      default:
        // keepalives, extranonce and reconnect messages of a session already known: activity only
        this.ledger?.touch(this.nowMs, this.packet);
    }
  }

  private submitted(s: ShareLedger, m: Record<string, unknown>, via: 'line' | 'http'): void {
    s.submitted++;
    if (via === 'http') {
      // the answer pairs by order: the method was queued in request()
      const last = this.httpAsked.length - 1;
      if (last >= 0) this.httpAsked[last] = 'share';
      return;
    }
    const key = idKey(m.id);
    if (key === undefined) return;
    if (this.pending.size >= MAX_PENDING && !this.pending.has(key)) return;
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
  }

  private moneroJob(s: ShareLedger, job: Record<string, unknown>): void {
    if (typeof job.algo === 'string') this.algorithm(s, job.algo, 'job algo', 'job');
    if (typeof job.target === 'string') s.setDifficulty(this.nowMs, moneroHashesPerShare(job.target));
  }

  private algorithm(s: ShareLedger, name: string, where: string, rank: FamilyRank): void {
    const shown = clipText(name);
    if (shown === undefined) return;
    const family = familyOfAlgorithm(name.slice(0, MAX_TEXT));
    if (family === 'unknown') {
      s.algorithm ??= shown;
      return;
    }
    if (rank === 'job' || s.algorithm === undefined) s.algorithm = shown;
    s.setFamily(family, `${where} ${shown}`, rank);
  }

  private response(m: Record<string, unknown>, via: 'line' | 'http'): void {
    const result = m.result;
    const job = obj(obj(result)?.job);
    // a Monero pool's login reply carries the first job
    if (job && (typeof job.blob === 'string' || typeof job.job_id === 'string')) {
      const s = this.session('monero');
      this.moneroJob(s, job);
    }
    // Ethereum work: [header, seed, boundary]
    if (
      Array.isArray(result) &&
      result.length >= 3 &&
      typeof result[2] === 'string' &&
      /^0x[0-9a-fA-F]{8,64}$/.test(result[2])
    ) {
      const s = this.session(via === 'http' ? 'getwork' : 'ethereum');
      s.setFamily('ethash', 'Ethereum work protocol (EthProxy/getwork)', 'shape');
      s.setDifficulty(this.nowMs, targetHashesPerShare(result[2]));
    }
    // Bitcoin getwork: { data, target (little-endian, 32 bytes) }
    const target = obj(result)?.target;
    if (via === 'http' && typeof target === 'string' && /^[0-9a-fA-F]{64}$/.test(target) && this.ledger) {
      let be = '';
      for (let i = 62; i >= 0; i -= 2) be += target.slice(i, i + 2);
      this.ledger.setDifficulty(this.nowMs, targetHashesPerShare(be));
    }
    let isShare = false;
    if (via === 'http') isShare = this.httpAsked.shift() === 'share';
    else {
      const key = idKey(m.id);
      const n = key === undefined ? undefined : this.pending.get(key);
      if (key !== undefined && n !== undefined) {
        isShare = true;
        if (n <= 1) this.pending.delete(key);
        else this.pending.set(key, n - 1);
      }
    }
    if (!isShare || !this.ledger) return;
    this.ledger.touch(this.nowMs, this.packet);
    this.ledger.answer(this.nowMs, accepts(m));
  }

  /** Reading ends: buffers let go, and the slot is free for another flow. */
  private stop(): void {
    if (!this.active) return;
    this.active = false;
    for (const d of this.dirs) {
      d.partial = [];
      d.body = [];
    }
    this.sessions.release();
  }

  /** The flow closed (or the input ended) at `ms`. */
  end(ms: number): void {
    this.stop();
    if (this.ledger) {
      this.ledger.client = this.flow.client;
      this.ledger.server = this.flow.server;
      this.ledger.close(ms);
      this.ledger = undefined;
    }
  }

  /** The session this flow feeds, once it spoke mining (the reader names its domain). */
  get ledgerOf(): ShareLedger | undefined {
    return this.ledger;
  }
}

/** The sessions of one capture, keyed by client address and pool address:port; bounded. */
export class ShareSessions {
  private readonly ledgers = new Map<string, ShareLedger>();
  private readonly out: SessionReport[] = [];
  private reading = 0;
  /** Flows that may have been Stratum but were not read: MAX_STREAMS were being read already. */
  untracked = 0;
  /** The packet of the first of them, for the issue that counts them. */
  firstUntracked: number | undefined;

  /** A reader for a new flow, when its first payload may be Stratum; undefined otherwise (or when too many are read). */
  open(
    flow: { client: Endpoint; server: Endpoint },
    payload: Buffer,
    ms: number,
    packet: number,
  ): StratumStream | undefined {
    if (!mayBeStratum(payload)) return undefined;
    if (this.reading >= MAX_STREAMS) {
      this.untracked++;
      this.firstUntracked ??= packet;
      return undefined;
    }
    this.reading++;
    return new StratumStream(this, flow, ms, packet);
  }

  /** A reader stopped (its flow ended, or it gave up). */
  release(): void {
    this.reading = Math.max(0, this.reading - 1);
  }

  /**
   * The session a connection speaking `dialect` from `client` to `server` at `ms` feeds: one of that
   * address and pool it continues (a reconnect within the grace; getwork's other connections), else a
   * new one beside those still open (another miner behind the address).
   */
  ledgerFor(client: Endpoint, server: Endpoint, dialect: StratumDialect, ms: number, packet: number): ShareLedger {
    const base = `${client.ip} ${server.ip} ${server.port}`;
    let key = base;
    for (let n = 1; n <= MAX_CONCURRENT; n++) {
      key = n === 1 ? base : `${base} #${n}`;
      const found = this.ledgers.get(key);
      if (found === undefined) break;
      if (found.continuesAt(ms, dialect)) return found;
      // over: reported now, its place taken by the new session
      if (found.isOverAt(ms)) {
        this.retire(found);
        break;
      }
      // the last place taken by a miner still connected: the rest join it
      if (n === MAX_CONCURRENT) return found;
    }
    if (this.ledgers.size >= MAX_SESSIONS) {
      const oldest = this.ledgers.values().next();
      if (!oldest.done) this.retire(oldest.value);
    }
    const ledger = new ShareLedger(key, client, server, ms, packet);
    this.ledgers.set(key, ledger);
    return ledger;
  }

  private retire(l: ShareLedger): void {
    this.ledgers.delete(l.key);
    this.report(l, true, l.endMs);
  }

  private report(l: ShareLedger, final: boolean, tsMs: number): void {
    l.lastReportMs = tsMs;
    l.reportedAnswers = l.accepted + l.rejected;
    const r: SessionReport = {
      session: l.snapshot(final),
      client: l.client,
      server: l.server,
      packet: l.lastPacket,
      tsMs,
    };
    if (l.domain !== undefined) r.domain = l.domain;
    this.out.push(r);
  }

  /**
   * Reports due at capture time `nowMs`: a final one for each session closed past the grace, a progress
   * one for each that answered shares since its last report 10 minutes ago. Returned once each.
   */
  due(nowMs: number): SessionReport[] {
    for (const l of [...this.ledgers.values()]) {
      if (l.isOverAt(nowMs)) {
        this.ledgers.delete(l.key);
        this.report(l, true, l.endMs);
      } else if (nowMs - l.lastReportMs >= REPORT_EVERY_MS && l.accepted + l.rejected > l.reportedAnswers)
        this.report(l, false, l.endMs);
    }
    return this.take();
  }

  /** End of input (after every flow was ended): each session's final report. */
  finish(): SessionReport[] {
    for (const l of this.ledgers.values()) this.report(l, true, l.endMs);
    this.ledgers.clear();
    return this.take();
  }

  private take(): SessionReport[] {
    if (this.out.length === 0) return [];
    return this.out.splice(0, this.out.length);
  }
}
