/**
 * The one way coalmine connects to the bus (ingest nodes and workers): every `--bus` server listed, a
 * name the server's monitoring shows, reconnecting for ever (a cluster that loses a node or restarts is
 * waited for, not given up on), and whether the connection is up right now, from its status events, so a
 * caller can refuse work at once while it is down instead of queueing it.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clip, inert } from '../util/hostile.js';
import { shownBusUrl } from './contract.js';

export interface BusConnection {
  nc: NatsConnection;
  /** Whether the client holds a connection to a server now. */
  readonly connected: boolean;
  /** Closes the connection (what is in flight fails); once. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Shown by the server (`coalmine-serve@host`, `coalmine-worker@host`). */
  name: string;
  /** How long the first connection may take before start fails (default 10 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Connects to the first server of `urls` that answers; throws with the servers tried when none does. */
export async function connectBus(urls: string[], options: ConnectOptions): Promise<BusConnection> {
  const log = options.log ?? (() => {});
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: urls,
      name: options.name,
      timeout: options.timeoutMs ?? 10_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (err) {
    throw new Error(
      `no bus server answered (${urls.map(shownBusUrl).join(', ')}): ${clip(inert(String((err as Error).message)), 300)}`,
    );
  }
  let connected = true;
  let closed = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log(`coalmine bus: disconnected from ${clip(inert(s.server), 200)}; reconnecting`);
      } else if (s.type === 'reconnect') {
        connected = true;
        log(`coalmine bus: reconnected to ${clip(inert(s.server), 200)}`);
      } else if (s.type === 'close') connected = false;
    }
  })().catch(() => {});
  return {
    nc,
    get connected() {
      return connected && !closed && !nc.isClosed();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await nc.close().catch(() => {});
    },
  };
}

/** What JetStream answers while a cluster is still forming or electing (worth asking again). */
const NOT_READY =
  /timeout|timed out|no responders|not ready|no suitable peers|insufficient resources|unavailable|no leader|leader not/i;

/**
 * A start-up request to JetStream (making the stream or a KV bucket) asked again while the cluster is
 * not ready (on a cluster that has just formed, making a replicated bucket can time out until its meta
 * leader settles) for up to `withinMs`; any other error, or the last one, is thrown.
 */
export async function whileStarting<T>(
  what: string,
  work: () => Promise<T>,
  log: (line: string) => void,
  withinMs = 60_000,
): Promise<T> {
  const deadline = performance.now() + withinMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const text = String((err as Error)?.message ?? err);
      if (!NOT_READY.test(text) || performance.now() > deadline) throw err;
      if (attempt % 5 === 0) log(`coalmine bus: ${what}: ${clip(inert(text), 200)}; asking again`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
