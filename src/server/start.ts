/**
 * What `coalmine serve` runs, apart from its flags: open (create, migrate) the store, start ingest
 * (replaying its log) and the server on the address given (loopback by default), and close them on
 * request; and `serve token create`. With `bus`, an ingest node: event bodies are published to the bus
 * (bus/ingest-node.ts) for the workers, and no detector runs here.
 */
import { readFileSync } from 'node:fs';
import { BusIngest, type BusIngestOptions } from '../bus/ingest-node.js';
import type { Policy } from '../model/policy.js';
import { DEFAULT_MAX_INFLATED_BYTES } from '../run/live.js';
import { openStore, type Store } from '../store/index.js';
import type { Role, TokenInfo } from '../store/tokens.js';
import { type CoalmineServer, createServer } from './app.js';
import { ChangeFeed } from './changes.js';
import type { ServerModule } from './http.js';
import { IngestPipeline, ingestModule, readAs } from './ingest.js';

export interface ServeOptions {
  store: string;
  policy: Policy;
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  log: (line: string) => void;
  /** Sigma rule directories the detector runs (the CLI gives the bundled ones, as for hunt). */
  ruleDirs?: string[];
  /** `--bus`: an ingest node publishing to these NATS servers (the store must be PostgreSQL, shared with the workers). */
  bus?: Pick<BusIngestOptions, 'urls' | 'replicas' | 'maxBodies' | 'publish' | 'name'>;
  /** More modules beside ingest (always there), made once the store is open. */
  modules?: ((deps: {
    store: Store;
    policy: Policy;
    log: (line: string) => void;
  }) => Promise<ServerModule> | ServerModule)[];
}

export interface RunningServer {
  url: URL;
  store: Store;
  app: CoalmineServer;
  /** Closes the server, then the store; once. */
  close(): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServer> {
  const tls = options.tls && { cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) };
  const store = await openStore(options.store);
  const modules: ServerModule[] = [];
  let app: CoalmineServer;
  try {
    // ingest (POST /api/v1/events, /api/v1/findings): its log is replayed before the server listens
    // one feed: ingest publishes to it from before the server exists, the routes and streams after
    // its sequence starts at the start time, so an event id from before a restart reads as too old (a reset)
    const changes = new ChangeFeed({ now: Date.now, log: options.log, firstSeq: Date.now() });
    if (options.bus) modules.push(await busIngestModule(options, store, changes));
    else
      modules.push(
        ingestModule(
          await IngestPipeline.start({
            store,
            policy: options.policy,
            log: options.log,
            changes,
            ruleDirs: options.ruleDirs,
          }),
        ),
      );
    for (const make of options.modules ?? [])
      modules.push(await make({ store, policy: options.policy, log: options.log }));
    app = createServer({ store, policy: options.policy, modules, tls, log: options.log, changes });
    const url = await app.listen(options.port, options.host);
    let closing: Promise<void> | undefined;
    return {
      url,
      store,
      app,
      close: () => {
        closing ??= app.close().finally(() => store.close());
        return closing;
      },
    };
  } catch (err) {
    for (const m of modules) await m.close?.().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}

/**
 * An ingest node's module: bodies to the bus, `watch --webhook` deliveries filed as serve files them. The
 * bus's message ids are ingest-log sequence numbers, so every ingest node must log into one store: a
 * SQLite file is one node's alone, and is refused.
 */
async function busIngestModule(options: ServeOptions, store: Store, changes: ChangeFeed): Promise<ServerModule> {
  const bus = options.bus!;
  if (store.dialect !== 'postgres')
    throw new Error(
      'serve --bus needs --store postgres://… (every ingest node logs into one store: its sequence numbers name the messages on the bus)',
    );
  const ingest = await BusIngest.start({
    ...bus,
    store,
    policy: options.policy,
    ruleDirs: options.ruleDirs,
    log: options.log,
    prepare: (body, format) => readAs(body, format, DEFAULT_MAX_INFLATED_BYTES),
  });
  const filer = IngestPipeline.filer({ store, policy: options.policy, log: options.log, changes });
  return ingestModule(filer, { bus: ingest });
}

/** Makes a token in the store at `location`; the secret is in the answer and nowhere else. */
export async function createTokenAt(
  location: string,
  options: { name: string; role: Role; actor: string },
): Promise<{ token: TokenInfo; secret: string }> {
  const store = await openStore(location);
  try {
    return await store.tokens.create(options);
  } finally {
    await store.close();
  }
}
