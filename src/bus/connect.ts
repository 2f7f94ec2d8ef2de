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
