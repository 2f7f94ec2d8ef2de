/**
 * A loopback HTTP receiver for the senders' tests (webhook, telemetry, the spooled sender): each request
 * handed over with its whole body; it can go down and come back on the same port, as a restarted
 * receiver does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export abstract class Loopback {
  port = 0;
  private server: http.Server | null = null;

  /** One request, its body read. */
  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void;

  /** Listens on 127.0.0.1 (`port` 0: any free one, kept for the next `up`); resolves to the port. */
  async up(port = 0): Promise<number> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Stops listening and cuts every connection: a sender sees a receiver that is down. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
