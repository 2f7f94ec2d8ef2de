/**
 * The loopback endpoints the simulated clients talk to, so nothing ever leaves this machine: a
 * Stratum "pool" that answers a login with a job, and a proxyware "relay" that echoes what its client
 * sends. Both listen on 127.0.0.1 on a port the kernel picks and bound what they keep per connection.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface LoopbackServer {
  address: '127.0.0.1';
  port: number;
  close: () => Promise<void>;
}

/** Per connection, at most this much is read before it is closed (the clients send a few KiB). */
const MAX_BYTES_PER_CONNECTION = 1024 * 1024;
const MAX_CONNECTIONS = 64;

const JOB =
  '{"id":1,"jsonrpc":"2.0","result":{"id":"sim","job":{"blob":"00","job_id":"1","target":"ffff"},"status":"OK"}}\n';

async function listen(onData: (c: Socket, chunk: Buffer) => void): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((c) => {
    sockets.add(c);
    let seen = 0;
    c.on('error', () => {});
    c.on('close', () => sockets.delete(c));
    c.on('data', (chunk) => {
      seen += chunk.length;
      if (seen > MAX_BYTES_PER_CONNECTION) c.destroy();
      else onData(c, chunk);
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    address: '127.0.0.1',
    port,
    // close() waits for open connections, so they are ended first
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A Stratum pool: every message gets a job back. */
export function startPool(): Promise<LoopbackServer> {
  return listen((c) => c.write(JOB));
}

/** A proxyware relay: what the client sends comes back, as a relayed response would. */
export function startRelay(): Promise<LoopbackServer> {
  return listen((c, chunk) => c.write(chunk));
}
