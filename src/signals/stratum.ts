/**
 * Mining protocols seen in a flow's payload samples (`coalmine.flow`, from pcap and tests), on any port
 * and in either direction: Stratum v1, Monero-style Stratum (XMRig), Ethereum Stratum/EthProxy, and
 * getwork over HTTP POST. Crypto node traffic (Bitcoin and Monero P2P, devp2p, node RPC) is named as
 * such ('crypto-p2p', weak; only the informational crypto-node analytic reads it): a node is not a
 * miner. A long-lived flow of small periodic messages is a weak hint on its own. Parsing is bounded: ≤ 32 messages of ≤ 2 KiB each.
 * A session read whole (`coalmine.flow.stratum`, the pcap reader's reports) is judged by `hashrate.ts`:
 * its accepted shares are resource evidence.
 */
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { hashrateSignal } from './hashrate.js';
import { shortWallet, signalFor } from './make.js';
import { endpoint, who } from './network.js';
import type { Classifier, ClassifyContext } from './types.js';

/** Payload text looked at per direction: the reader keeps ≤ 4 KiB, escaped; a hostile event may not. */
const MAX_PAYLOAD_CHARS = 64 * 1024;
const MAX_MESSAGES = 32;
const MAX_MESSAGE_CHARS = 2048;
const MAX_FIELD_CHARS = 64;
const MAX_METHODS_LISTED = 8;

type Dialect = 'v1' | 'monero' | 'ethereum' | 'getwork';

const DIALECT_LABEL: Record<Dialect, string> = {
  v1: 'Stratum',
  monero: 'Monero Stratum',
  ethereum: 'Ethereum Stratum',
  getwork: 'getwork over HTTP POST',
};

const V1_METHODS = new Set([
  'mining.subscribe',
  'mining.authorize',
  'mining.notify',
  'mining.submit',
  'mining.set_difficulty',
  'mining.set_target',
  'mining.extranonce.subscribe',
  // later extensions: BIP 310 version rolling, NiceHash extranonce, difficulty hints
  'mining.configure',
  'mining.set_extranonce',
  'mining.suggest_difficulty',
]);
const ETH_METHODS = new Set(['eth_submitLogin', 'eth_getWork', 'eth_submitWork', 'eth_submitHashrate']);
/** Methods a getwork miner POSTs: Bitcoin's original getwork and Ethereum's node work API. */
const GETWORK_METHODS = new Set(['getwork', ...ETH_METHODS]);

/** Node RPC ports (bitcoind mainnet/testnet, monerod, geth): JSON-RPC there is node administration. */
const NODE_RPC_PORTS = new Map<number, string>([
  [8332, 'Bitcoin'],
  [18332, 'Bitcoin testnet'],
  [18081, 'Monero'],
  [8545, 'Ethereum'],
]);
const DEVP2P_PORTS = new Set([30303, 30304]);

/** P2P wire signatures, as bytes (payload text decoded): Bitcoin magic + `version`, Monero levin. */
const P2P_SIGNATURES: Array<{ bytes: string; what: string }> = [
  { bytes: '\xf9\xbe\xb4\xd9version', what: 'Bitcoin node traffic (P2P version handshake)' },
  { bytes: '\x0b\x11\x09\x07version', what: 'Bitcoin testnet node traffic (P2P version handshake)' },
  { bytes: '\x01\x21\x01\x01\x01\x01\x01\x01', what: 'Monero node traffic (P2P levin protocol)' },
];

/**
 * Standard ports where a long quiet flow is ordinary: remote shells, desktops, message brokers, databases
 * and HTTP long-polling keep sessions open with small keepalives. TLS (443) stays in: pools serve
 * Stratum over TLS there, and what TLS hides is exactly what this hint is for.
 */
const ORDINARY_PORTS = new Set([
  22, 80, 23, 25, 53, 88, 110, 143, 389, 445, 587, 636, 993, 995, 1433, 1521, 1883, 3306, 3389, 5222, 5223, 5432, 5671,
  5672, 5900, 6379, 8883, 9092, 27017,
]);
const LONG_FLOW_MS = 10 * 60 * 1000;
const MIN_PERIODIC_MESSAGES = 10;
const MAX_PERIODIC_MESSAGE_BYTES = 512;

interface Rpc {
  method?: unknown;
  params?: unknown;
  result?: unknown;
  worker?: unknown;
}

interface Seen {
  methods: string[];
  worker?: string;
  agent?: string;
  client: boolean;
  server: boolean;
}

/** `\xNN` escapes back to the byte they stand for (as a char 0-255); everything else kept as is. */
function decode(text: string): string {
  const t = text.length > MAX_PAYLOAD_CHARS ? text.slice(0, MAX_PAYLOAD_CHARS) : text;
  if (!t.includes('\\x')) return t;
  let out = '';
  let from = 0;
  for (let i = t.indexOf('\\x'); i >= 0; i = t.indexOf('\\x', i + 1)) {
    const hex = t.slice(i + 2, i + 4);
    if (hex.length !== 2 || !isHex(hex.charCodeAt(0)) || !isHex(hex.charCodeAt(1))) continue;
    out += t.slice(from, i) + String.fromCharCode(Number.parseInt(hex, 16));
    from = i + 4;
    i += 3;
  }
  return out + t.slice(from);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Newline-delimited JSON objects: the first 32 lines, each parsed only when ≤ 2 KiB. */
function messages(text: string): Rpc[] {
  const out: Rpc[] = [];
  let start = 0;
  for (let n = 0; n < MAX_MESSAGES && start < text.length; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line.length === 0 || line.length > MAX_MESSAGE_CHARS || line[0] !== '{') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) out.push(value as Rpc);
    } catch {
      // not JSON: binary, truncated or another protocol
    }
  }
  return out;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function field(params: unknown, key: string): unknown {
  return params !== null && typeof params === 'object' && !Array.isArray(params)
    ? (params as Record<string, unknown>)[key]
    : undefined;
}

function first(params: unknown): unknown {
  return Array.isArray(params) ? params[0] : undefined;
}

/** Which mining dialect one JSON-RPC message speaks, with the worker/agent it names. */
function recognise(m: Rpc): { dialect: Dialect; method: string; worker?: string; agent?: string } | undefined {
  const method = str(m.method);
  if (method === undefined) {
    // a Monero pool's login reply carries the first job
    const job = field(m.result, 'job');
    if (str(field(job, 'blob')) && str(field(job, 'job_id'))) return { dialect: 'monero', method: 'login reply (job)' };
    return undefined;
  }
  if (V1_METHODS.has(method)) {
    if (method === 'mining.authorize' || method === 'mining.submit')
      return { dialect: 'v1', method, worker: str(first(m.params)) };
    if (method === 'mining.subscribe') return { dialect: 'v1', method, agent: str(first(m.params)) };
    return { dialect: 'v1', method };
  }
  if (ETH_METHODS.has(method))
    return {
      dialect: 'ethereum',
      method,
      worker: method === 'eth_submitLogin' ? (str(first(m.params)) ?? str(m.worker)) : str(m.worker),
    };
  // Monero-style names are generic words: their params must have the XMRig shape too
  const p = m.params;
  if (method === 'login' && str(field(p, 'login')) && (str(field(p, 'pass')) || str(field(p, 'agent'))))
    return { dialect: 'monero', method, worker: str(field(p, 'login')), agent: str(field(p, 'agent')) };
  if (method === 'job' && (str(field(p, 'blob')) || str(field(p, 'job_id')))) return { dialect: 'monero', method };
  if (method === 'submit' && str(field(p, 'job_id')) && str(field(p, 'nonce'))) return { dialect: 'monero', method };
  if (method === 'keepalived' && field(p, 'id') !== undefined) return { dialect: 'monero', method };
  return undefined;
}

/** A worker/login as shown, a wallet address in it shortened (shortWallet). */
function shownWorker(worker: string, { intel }: ClassifyContext): string {
  const bounded = worker.slice(0, 256);
  const wallet = intel.wallet(bounded);
  const w = wallet?.indicator ?? /^0x[0-9a-fA-F]{40}/.exec(bounded)?.[0];
  if (w) {
    const short = shortWallet(w);
    const coin = wallet?.note ?? 'Ethereum-style address';
    return `${clipped(bounded.replace(w, short))} (${coin})`;
  }
  return clipped(bounded);
}

function clipped(text: string): string {
  return text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS)}…` : text;
}

/** An HTTP POST's JSON body and User-Agent; undefined when the payload is not an HTTP POST. */
function httpPost(text: string): { body: string; agent?: string } | undefined {
  if (!text.startsWith('POST ')) return undefined;
  let headEnd = text.indexOf('\r\n\r\n');
  let sep = 4;
  if (headEnd < 0) {
    headEnd = text.indexOf('\n\n');
    sep = 2;
  }
  if (headEnd < 0) return undefined;
  let agent: string | undefined;
  let length = MAX_MESSAGE_CHARS + 2;
  for (const line of text.slice(0, Math.min(headEnd, 8192)).split('\n', 64)) {
    const name = line.slice(0, 15).toLowerCase();
    if (name.startsWith('user-agent:')) agent = line.slice(11).trim();
    // the body ends where its length says: the next request may follow with no newline between
    else if (name === 'content-length:' && /^\s*\d{1,6}\s*$/.test(line.slice(15)))
      length = Math.min(length, Number(line.slice(15)));
  }
  return { body: text.slice(headEnd + sep, headEnd + sep + length), agent };
}

function addSeen(all: Map<Dialect, Seen>, hit: NonNullable<ReturnType<typeof recognise>>, fromClient: boolean) {
  let seen = all.get(hit.dialect);
  if (!seen) {
    seen = { methods: [], client: false, server: false };
    all.set(hit.dialect, seen);
  }
  if (!seen.methods.includes(hit.method)) seen.methods.push(hit.method);
  seen.worker ??= hit.worker;
  seen.agent ??= hit.agent;
  if (fromClient) seen.client = true;
  else seen.server = true;
}

function destinationOf(event: CoalEvent): string {
  const dst = event.destination;
  return endpoint(dst?.ip ?? dst?.domain ?? '?', dst?.port);
}

function crypto(event: CoalEvent, by: string, what: string, out: Signal[]): void {
  const destination = destinationOf(event);
  out.push(
    signalFor(event, {
      kind: 'crypto-p2p',
      class: 'network',
      strength: 'weak',
      by: `stratum:${by}`,
      explanation: `${who(event)} to ${destination}: ${what}, not pool mining (informational)`,
      subject: { destination },
    }),
  );
}

function classify(event: CoalEvent, context: ClassifyContext, out: Signal[]): void {
  const flow = event.coalmine.flow;
  if (event.event.action !== 'connect' || !flow) return;
  if (flow.stratum !== undefined) {
    hashrateSignal(event, out, context.hashrates);
    return;
  }
  const client = typeof flow.clientPayload === 'string' ? decode(flow.clientPayload) : '';
  const server = typeof flow.serverPayload === 'string' ? decode(flow.serverPayload) : '';
  const port = event.destination?.port;
  const destination = destinationOf(event);

  const seen = new Map<Dialect, Seen>();
  const post = httpPost(client);
  let rpcMethod: string | undefined;
  if (post) {
    for (const m of messages(post.body)) {
      const method = str(m.method);
      if (method && GETWORK_METHODS.has(method))
        addSeen(seen, { dialect: 'getwork', method, worker: str(m.worker), agent: post.agent }, true);
      else rpcMethod ??= method;
    }
  } else {
    for (const m of messages(client)) {
      const hit = recognise(m);
      if (hit) addSeen(seen, hit, true);
      else rpcMethod ??= str(m.method);
    }
  }
  if (!server.startsWith('HTTP/'))
    for (const m of messages(server)) {
      const hit = recognise(m);
      if (hit) addSeen(seen, hit, false);
    }

  for (const [dialect, s] of seen) {
    const methods = s.methods.slice(0, MAX_METHODS_LISTED).join(', ');
    const worker = s.worker ? ` worker ${shownWorker(s.worker, context)}` : '';
    const agent = s.agent ? `, agent ${clipped(s.agent)}` : '';
    const sides = s.client && s.server ? 'both directions' : s.client ? 'sent by the client' : 'sent by the server';
    out.push(
      signalFor(event, {
        kind: 'pool-contact',
        class: 'network',
        strength: 'strong',
        by: `stratum:${dialect}`,
        explanation: `${who(event)}: ${DIALECT_LABEL[dialect]} ${methods}${worker} on ${destination}${agent} (${sides}, port ${port ?? '?'})`,
        subject: { destination },
      }),
    );
  }
  if (seen.size > 0) return;

  const head = client.length > 4096 ? client.slice(0, 4096) : client;
  const headServer = server.length > 4096 ? server.slice(0, 4096) : server;
  for (const sig of P2P_SIGNATURES)
    if (head.includes(sig.bytes) || headServer.includes(sig.bytes)) {
      crypto(event, 'p2p', `${sig.what} on port ${port ?? '?'}`, out);
      return;
    }
  const node = port !== undefined ? NODE_RPC_PORTS.get(port) : undefined;
  if (node && rpcMethod) {
    crypto(event, 'node-rpc', `${node} node JSON-RPC ${clipped(rpcMethod)} on port ${port}: node administration`, out);
    return;
  }
  if (port !== undefined && DEVP2P_PORTS.has(port)) {
    // RLPx is encrypted after the handshake: the port is all there is, so weak and informational
    crypto(event, 'devp2p', `port ${port} is Ethereum devp2p (RLPx, encrypted; judged by port only)`, out);
    return;
  }
  periodic(event, port, destination, out);
}

/**
 * A pool session is hours of small client messages (share submits, keepalives) on one connection. The
 * shape alone is a hint, not a protocol: 'pool-contact' because that is the claim it supports, weak
 * so it never holds a leg by itself and only adds to a process already in question.
 */
function periodic(event: CoalEvent, port: number | undefined, destination: string, out: Signal[]): void {
  const flow = event.coalmine.flow;
  const duration = flow?.durationMs;
  const count = flow?.clientMessages;
  const bytes = flow?.clientBytes;
  if (typeof duration !== 'number' || typeof count !== 'number' || typeof bytes !== 'number') return;
  if (port === undefined || ORDINARY_PORTS.has(port)) return;
  if (duration < LONG_FLOW_MS || count < MIN_PERIODIC_MESSAGES || bytes / count >= MAX_PERIODIC_MESSAGE_BYTES) return;
  out.push(
    signalFor(event, {
      kind: 'pool-contact',
      class: 'network',
      strength: 'weak',
      by: 'stratum:flow-shape',
      explanation: `${who(event)} to ${destination}: a ${Math.round(duration / 60_000)}-minute flow of ${count} small client messages (${Math.round(bytes / count)} bytes each on average), the shape of a pool session (weak: no protocol seen)`,
      subject: { destination },
    }),
  );
}

export const stratum: Classifier = {
  name: 'stratum',
  actions: ['connect'],
  summary: 'Stratum / getwork mining protocols in flow payloads (any port); crypto node traffic as informational',
  classify,
};
