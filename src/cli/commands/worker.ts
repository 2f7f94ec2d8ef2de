/**
 * `coalmine worker --bus nats://… --store postgres://…`: takes a fair share of the events stream's
 * partitions (leases), runs the detector on each and files the findings into the shared store; logs on
 * stderr; SIGINT/SIGTERM stores and acks what was read and gives the partitions up before it exits.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_RULE_DIRS } from '../../signals/rules.js';
import { inert } from '../../util/hostile.js';
import { EXIT } from '../common.js';
import { policyOption } from '../policy-option.js';

interface WorkerFlags {
  bus: string;
  store: string;
  name?: string;
  policy?: string;
  leaseTtl?: number;
}

function nameOption(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new InvalidArgumentError('must be 1 to 64 of A-Z a-z 0-9 _ -');
  return value;
}

function ttlOption(value: string): number {
  const s = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || s < 1 || s > 600) throw new InvalidArgumentError('must be 1 to 600 seconds');
  return s * 1000;
}

export function workerCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('worker')
    .description("consume a share of the bus's partitions (leases), detect on each, file findings into the store")
    .requiredOption('--bus <urls>', 'NATS servers, comma-separated (nats://HOST:PORT,…)')
    .requiredOption('--store <url>', 'the shared store: postgres://user@host/db (a SQLite file for one worker alone)')
    .option('--name <name>', "this worker's name in the leases (default HOST-PID)", nameOption)
    .option('-p, --policy <file>', 'policy file (default: ./coalmine.yaml when present)')
    .option(
      '--lease-ttl <seconds>',
      // the default is bus/lease.ts DEFAULT_LEASE_TTL_MS, said here without loading the bus client
      "how long a dead worker's partitions wait before another takes them (default: 10)",
      ttlOption,
    )
    .addHelpText(
      'after',
      '\nEvery worker of a deployment runs the same rules and policy. Logs go to stderr; SIGINT or SIGTERM stops cleanly.',
    )
    .action(async (flags: WorkerFlags) => {
      setCode(await runWorker(flags));
    });
}

async function runWorker(flags: WorkerFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(`${text}\n`);
  const { parseBusUrls, shownBusUrl } = await import('../../bus/contract.js');
  const urls = parseBusUrls(flags.bus);
  if ('error' in urls) {
    err(`coalmine worker: ${inert(urls.error)}`);
    return EXIT.usage;
  }
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  // the bus client and the store's drivers load only for this command
  const { Worker } = await import('../../bus/worker.js');
  const { shownLocation } = await import('../../server/listen.js');
  let worker: Awaited<ReturnType<typeof Worker.start>>;
  try {
    worker = await Worker.start({
      bus: urls,
      store: flags.store,
      policy: chosen.policy,
      ruleDirs: DEFAULT_RULE_DIRS,
      name: flags.name,
      leaseTtlMs: flags.leaseTtl,
      log: err,
    });
  } catch (e) {
    err(`coalmine worker: ${inert((e as Error).message)}`);
    return EXIT.runtime;
  }
  err(
    `coalmine worker ${worker.name}: on ${urls.map(shownBusUrl).join(', ')}, store ${inert(shownLocation(flags.store))}; partitions ${worker.partitions().length}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await worker.close();
  const s = worker.stats;
  err(
    `coalmine worker ${worker.name}: stopped; ${s.messages} messages (${s.events} events, ${s.replayed} replayed), ${s.reportsFiled} reports filed, ${s.storeRetries} store retries, ${s.checkpointsSaved} checkpoints stored, ${s.checkpointsRestored} restored`,
  );
  return EXIT.ok;
}
