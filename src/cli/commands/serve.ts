/**
 * `coalmine serve`: the web console and the REST API over the store (SQLite file by default, PostgreSQL
 * by URL), on loopback unless told; prints its URL on stdout and closes cleanly on SIGINT/SIGTERM.
 * `coalmine serve token create`: a token for the API or the console, its secret alone on stdout.
 */
import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LISTEN, DEFAULT_STORE, isPostgresLocation, parseListen, shownLocation } from '../../server/listen.js';
import { DEFAULT_RULE_DIRS } from '../../signals/rules.js';
import { inert } from '../../util/hostile.js';
import { EXIT } from '../common.js';
import { policyOption } from '../policy-option.js';

const ROLE_NAMES = ['viewer', 'analyst', 'admin', 'sensor'] as const;

interface ServeFlags {
  listen: string;
  store: string;
  policy?: string;
  tlsCert?: string;
  tlsKey?: string;
  demo?: boolean;
  bus?: string;
  busReplicas?: number;
}

function replicasOption(value: string): number {
  if (!/^[1-5]$/.test(value)) throw new InvalidArgumentError('must be 1 to 5');
  return Number(value);
}

function listenOption(value: string): string {
  if (!parseListen(value))
    throw new InvalidArgumentError('must be HOST:PORT (127.0.0.1:8477, [::1]:8477, 0.0.0.0:8477)');
  return value;
}

/** Who made a token from the command line, for the audit trail. */
function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export function serveCommand(program: Command, setCode: (code: number) => void): void {
  const serve = program
    .command('serve')
    .description(
      'serve the web console and the REST API (findings, cases, allowlist, sensors, tokens) over a SQLite or PostgreSQL store',
    )
    .option(
      '--listen <host:port>',
      'address to listen on (loopback unless told otherwise)',
      listenOption,
      DEFAULT_LISTEN,
    )
    .option('--store <path|url>', 'SQLite file, or postgres://user@host/db', DEFAULT_STORE)
    .option('-p, --policy <file>', 'policy file (default: ./coalmine.yaml when present)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; with --tls-key)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option(
      '--bus <urls>',
      'an ingest node: publish event bodies to this NATS JetStream cluster (nats://HOST:PORT,…) for coalmine worker instead of detecting here; needs --store postgres://…',
    )
    .option(
      '--bus-replicas <n>',
      "the events stream's replicas when this node makes it (default: 3 with three or more --bus servers, else 1)",
      replicasOption,
    )
    .option(
      '--demo',
      'a fresh temporary store (or --store), an admin token, and the bundled examples/ ingested; prints the URL and the token',
    )
    .addHelpText(
      'after',
      '\nEvery /api/v1 route needs a token: make one with `coalmine serve token create --name NAME --role admin`.\nThe URL is printed on stdout; SIGINT or SIGTERM stops the server cleanly.\nWith --demo, stdout is the URL and a `token: cm_…` line (an admin token); the temporary store is removed on stop.',
    )
    .action(async (flags: ServeFlags, command: Command) => {
      setCode(
        flags.demo
          ? await runDemo(flags, command.getOptionValueSource('store') === 'default' ? undefined : flags.store)
          : await runServe(flags),
      );
    });
  serve
    .command('token')
    .description('manage API tokens')
    .command('create')
    .description('make a token; its secret is printed once, alone on stdout (only its hash is stored)')
    .requiredOption('--name <name>', "the token's name (the actor in the audit trail)")
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLE_NAMES).makeOptionMandatory())
    .option('--store <path|url>', `SQLite file, or postgres://user@host/db (default: ${DEFAULT_STORE})`)
    .action(async (flags: { name: string; role: (typeof ROLE_NAMES)[number]; store?: string }, command: Command) => {
      // --store may come before `token` (serve's option) or after `create`
      const store = flags.store ?? (command.optsWithGlobals() as { store?: string }).store ?? DEFAULT_STORE;
      try {
        // the store's drivers load only for serve's own commands, not for every coalmine command
        const { createTokenAt } = await import('../../server/start.js');
        const { token, secret } = await createTokenAt(store, { name: flags.name, role: flags.role, actor: cliActor() });
        process.stdout.write(`${secret}\n`);
        process.stderr.write(
          `coalmine serve: token ${token.id} "${inert(token.name)}" (${token.role}) made in ${inert(shownLocation(store))}; the secret above is shown once\n`,
        );
        setCode(EXIT.ok);
      } catch (err) {
        process.stderr.write(`coalmine serve token create: ${inert((err as Error).message)}\n`);
        setCode(EXIT.runtime);
      }
    });
}

/** `--bus` and `--bus-replicas` checked (the NATS client loads only when --bus is given); 'usage' when wrong, said on stderr. */
async function busFlags(flags: ServeFlags): Promise<{ urls: string[]; replicas: number } | undefined | 'usage'> {
  const err = (text: string) => process.stderr.write(`${text}\n`);
  if (flags.bus === undefined) {
    if (flags.busReplicas !== undefined) {
      err('coalmine serve: --bus-replicas goes with --bus');
      return 'usage';
    }
    return undefined;
  }
  if (flags.demo) {
    err('coalmine serve: --demo runs its own detector; it does not take --bus');
    return 'usage';
  }
  if (!isPostgresLocation(flags.store)) {
    err(
      'coalmine serve: --bus needs --store postgres://… (every ingest node and worker shares one store: its ingest-log sequence numbers name the messages on the bus)',
    );
    return 'usage';
  }
  const { parseBusUrls, shownBusUrl } = await import('../../bus/contract.js');
  const urls = parseBusUrls(flags.bus);
  if (!Array.isArray(urls)) {
    err(`coalmine serve: ${inert(urls.error)}`);
    return 'usage';
  }
  const replicas = flags.busReplicas ?? (urls.length >= 3 ? 3 : 1);
  err(`coalmine serve: ingest node on the bus ${urls.map((u) => inert(shownBusUrl(u))).join(', ')}`);
  return { urls, replicas };
}

async function runServe(flags: ServeFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(`${text}\n`);
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    err('coalmine serve: --tls-cert and --tls-key go together');
    return EXIT.usage;
  }
  const bus = await busFlags(flags);
  if (bus === 'usage') return EXIT.usage;
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  const listen = parseListen(flags.listen)!;
  const { startServe } = await import('../../server/start.js');
  let running: Awaited<ReturnType<typeof startServe>>;
  try {
    running = await startServe({
      store: flags.store,
      policy: chosen.policy,
      host: listen.host,
      port: listen.port,
      tls: flags.tlsCert && flags.tlsKey ? { certFile: flags.tlsCert, keyFile: flags.tlsKey } : undefined,
      log: (line) => err(line),
      // the rules hunt and watch run, so serve finds what they find
      ruleDirs: DEFAULT_RULE_DIRS,
      bus,
    });
  } catch (e) {
    err(`coalmine serve: ${inert((e as Error).message)}`);
    return EXIT.runtime;
  }
  const tokens = await running.store.tokens.list();
  process.stdout.write(`${running.url.toString()}\n`);
  err(
    `coalmine serve: ${running.store.dialect} store ${inert(shownLocation(flags.store))}${running.store.migrated.length > 0 ? ` (schema ${running.store.migrated.join(', ')} applied)` : ''}; console and API at ${running.url} (API ${running.url}api/v1, OpenAPI ${running.url}api/v1/openapi.json)`,
  );
  if (!tokens.some((t) => t.revoked_at === null))
    err('coalmine serve: no tokens yet: make one with `coalmine serve token create --name NAME --role admin`');
  await untilStopped();
  await running.close();
  err('coalmine serve: stopped');
  return EXIT.ok;
}

function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** `serve --demo`: `store` is the one given with --store, else a temporary one. */
async function runDemo(flags: ServeFlags, store: string | undefined): Promise<number> {
  const err = (text: string) => process.stderr.write(`${text}\n`);
  if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) {
    // the demo sends the examples to itself over plain HTTP on the address it listens on
    err('coalmine serve: --demo serves plain HTTP; leave out --tls-cert and --tls-key');
    return EXIT.usage;
  }
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  const listen = parseListen(flags.listen)!;
  const { startDemo, DEMO_SETTLE_MS } = await import('../../server/demo.js');
  let demo: Awaited<ReturnType<typeof startDemo>>;
  try {
    demo = await startDemo({
      store,
      policy: chosen.policy,
      host: listen.host,
      port: listen.port,
      log: err,
      ruleDirs: DEFAULT_RULE_DIRS,
    });
  } catch (e) {
    err(`coalmine serve --demo: ${inert((e as Error).message)}`);
    return EXIT.runtime;
  }
  const { running } = demo;
  const accepted = demo.sent.filter((s) => s.status === 202).length;
  err(
    `coalmine serve --demo: ${running.store.dialect} store ${inert(shownLocation(demo.store))}${demo.temporary ? ' (temporary: removed on stop)' : ''}; ${accepted} of ${demo.sent.length} example files ingested; console and API at ${running.url} (API ${running.url}api/v1, OpenAPI ${running.url}api/v1/openapi.json)`,
  );
  process.stdout.write(`${running.url.toString()}\ntoken: ${demo.secret}\n`);
  err(
    `coalmine serve --demo: the token above is an admin's, shown once; try: curl -H 'Authorization: Bearer <token>' ${running.url}api/v1/cases`,
  );
  // the examples' findings are stored at the pipeline's next tick: say what they became
  const settled = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), DEMO_SETTLE_MS).unref());
  const stopped = untilStopped().then(() => false);
  if (await Promise.race([settled, stopped])) {
    const cases = (await running.store.cases.list()).items;
    err(
      `coalmine serve --demo: ${cases.length} ${cases.length === 1 ? 'case' : 'cases'}${cases.length > 0 ? `: ${cases.map((c) => `${c.severity} ${inert(c.title)}`).join('; ')}` : ''}`,
    );
    await stopped;
  }
  await demo.close();
  err('coalmine serve: stopped');
  return EXIT.ok;
}
