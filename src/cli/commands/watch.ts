/**
 * `coalmine watch`: the live Linux sensor. Samples /proc every interval and watches the persistence
 * places of each --root, through the same detector as `hunt` on a live clock. Findings go to stdout
 * (NDJSON with a `revision`, or the table) and, with --output, appended to a file as NDJSON.
 */
import { appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Finding } from '../../model/finding.js';
import { formatRef } from '../../model/issue.js';
import { TelemetryForwarder } from '../../run/forward.js';
import type { HiddenScan, ProcessInspection } from '../../run/inspect.js';
import { sensorIdentity } from '../../run/sensor-report.js';
import { startWatch } from '../../run/watch.js';
import { DEFAULT_RULE_DIRS } from '../../signals/rules.js';
import { RevisionLedger } from '../../sinks/revisions.js';
import { table } from '../../sinks/table.js';
import { spoolFinding, WebhookDelivery } from '../../sinks/webhook.js';
import { inert } from '../../util/hostile.js';
import { MAX_DURATION_MS } from '../../util/time.js';
import { collect, durationOption, EXIT, VERSION } from '../common.js';
import { collectPlaceholder, policyOption, withPlaceholders } from '../policy-option.js';
import { type Delivery, findingsReceiver, receiverUrl, TOKEN_SHAPE } from '../webhook-option.js';

interface WatchFlags {
  interval: number;
  duration?: number;
  sustain?: number;
  format: string;
  output?: string;
  webhook?: string;
  webhookToken?: string;
  server?: string;
  token?: string;
  spool?: string;
  policy?: string;
  root: string[];
  intel: string[];
  rules: string[];
  sigmaPlaceholder?: Record<string, string[]>;
  status: boolean;
  inspect: boolean;
  yara: string[];
  inspectInterval: number;
  inspectCpu: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.2 || n > 3600) throw new InvalidArgumentError('seconds between 0.2 and 3600');
  return n * 1000;
}

const duration = durationOption(MAX_DURATION_MS, 'a duration like 90s, 15m or 2h, at most 365d');

export function watchCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('watch')
    .description(
      'live Linux sensor: sample /proc (CPU, processes, sockets) and persistence files, report findings as they hold',
    )
    // the default is shown in the unit users type (seconds); the value is kept in milliseconds
    .addOption(new Option('-i, --interval <seconds>', 'sampling interval').argParser(seconds).default(5000, '5'))
    .option(
      '-d, --duration <time>',
      'stop after this long (90s, 15m; at most 365d) (default: until interrupted)',
      duration,
    )
    .option('--sustain <time>', 'how long CPU must stay high to count (default 15m, or thresholds.sustain)', duration)
    .option('-f, --format <format>', 'stdout: ndjson|table', 'ndjson')
    .option('-o, --output <file>', 'also append every finding (NDJSON with revision) to this file')
    .option(
      '--webhook <url>',
      'also POST every finding report as JSON (idempotency-key: ID#REVISION), spooled on disk until delivered',
    )
    .option(
      '--webhook-token <token>',
      'sent as Authorization: Bearer to --webhook (default COALMINE_TOKEN when --webhook is a coalmine serve /api/v1/findings)',
    )
    .option(
      '--server <url>',
      "also send the sampled telemetry to a coalmine serve at URL (its /api/v1/events, with --token; the server detects from it), gzip NDJSON batches spooled under --spool's telemetry/ until acknowledged",
    )
    .addOption(
      new Option('--token <token>', "a sensor token of --server's (coalmine serve token create --role sensor)").env(
        'COALMINE_TOKEN',
      ),
    )
    .option('--spool <dir>', 'where undelivered webhook or server reports wait (default ./coalmine-spool)')
    .option('-p, --policy <file>', 'policy file (default: ./coalmine.yaml when present)')
    .option(
      '--root <dir>',
      'filesystem root whose cron/systemd/rc/preload places are watched (repeatable; default /)',
      collect,
      [],
    )
    .option('--intel <file>', 'extra indicators (repeatable)', collect, [])
    .option('--rules <path>', 'extra Sigma rules (repeatable)', collect, [])
    .option(
      '--sigma-placeholder <name=values>',
      'values of a Sigma rule placeholder (%name%), comma-separated (repeatable; over coalmine.yaml sigma.placeholders)',
      collectPlaceholder,
    )
    .option('--no-status', 'no status lines on stderr')
    .option(
      '--inspect',
      'scan the memory of a process holding sustained CPU with YARA rules (one process a minute at most); matches are process evidence',
      false,
    )
    .option('--yara <path>', 'with --inspect: your own YARA rules, a file or directory (repeatable)', collect, [])
    .addOption(
      new Option('--inspect-interval <seconds>', 'with --inspect: at most one memory scan this often')
        .argParser(seconds)
        .default(60_000, '60'),
    )
    .addOption(
      new Option(
        '--inspect-cpu <pct>',
        'with --inspect: mean CPU (percent of one core) over 3 samples that gets a process scanned',
      )
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isFinite(n) || n <= 0 || n > 100000) throw new InvalidArgumentError('a percentage above 0');
          return n;
        })
        .default(50),
    )
    .addHelpText(
      'after',
      '\nEach NDJSON line is a finding plus "revision": 1 when it first holds, higher when it gains severity or a leg\n(same id; with --webhook counted on in the spool across restarts). Run as root to see every process; unprivileged, it says which telemetry it cannot see.',
    )
    .action(async (flags: WatchFlags) => {
      setCode(await runWatch(flags));
    });
}

/** Where the sensor's telemetry goes (`--server`): serve's events route. */
interface Telemetry {
  url: string;
  /** Never logged (the token). */
  headers: Record<string, string>;
}

const USER_AGENT = `coalmine-watch/${VERSION}`;

/**
 * --webhook URL (findings, with --webhook-token, or COALMINE_TOKEN when the URL is a coalmine serve's
 * /api/v1/findings) and --server URL with --token (telemetry to serve's /api/v1/events, which detects
 * from it); a usage error's reason (never echoing a token).
 */
export function receiversOf(
  flags: Pick<WatchFlags, 'webhook' | 'webhookToken' | 'server' | 'token'>,
  envToken: string | undefined = process.env.COALMINE_TOKEN,
): { findings?: Delivery; telemetry?: Telemetry } | string {
  // COALMINE_TOKEN in the environment is not a flag: it is only used where it fits
  if (flags.server === undefined && flags.token !== undefined && flags.token !== envToken)
    return '--token is for --server (a --webhook takes --webhook-token)';
  const findings = findingsReceiver(flags.webhook, flags.webhookToken, USER_AGENT, envToken);
  if (typeof findings === 'string') return findings;
  const out: { findings?: Delivery; telemetry?: Telemetry } = findings ? { findings } : {};
  if (flags.server !== undefined) {
    if (flags.token === undefined) return '--server needs --token (or COALMINE_TOKEN): a sensor token of that server';
    if (!TOKEN_SHAPE.test(flags.token))
      return '--token must be printable ASCII without spaces (as serve token create prints it)';
    const base = receiverUrl('server', flags.server);
    if (typeof base === 'string') return base;
    if (base.search !== '' || base.hash !== '') return '--server must be the base URL, without query or fragment';
    if (base.username !== '' || base.password !== '') return '--server takes no credentials in the URL; give --token';
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    out.telemetry = {
      url: new URL('api/v1/events', base).toString(),
      headers: { 'user-agent': USER_AGENT, authorization: `Bearer ${flags.token}` },
    };
  }
  return out;
}

async function runWatch(flags: WatchFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (process.platform !== 'linux') {
    err('coalmine: watch reads /proc and runs on Linux only\n');
    return EXIT.usage;
  }
  if (flags.format !== 'ndjson' && flags.format !== 'table') {
    err(`coalmine: unknown --format "${inert(flags.format)}" (use ndjson, table)\n`);
    return EXIT.usage;
  }
  const receivers = receiversOf(flags);
  if (typeof receivers === 'string') {
    err(`coalmine: ${receivers}\n`);
    return EXIT.usage;
  }
  const { findings: delivery, telemetry } = receivers;
  const spoolDir = flags.spool ?? 'coalmine-spool';
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  const policy = withPlaceholders(chosen.policy, flags.sigmaPlaceholder);
  if (flags.sustain !== undefined) {
    // the flag is the operator's last word: it beats the file's global and per-analytic values
    policy.thresholds.sustainMs = flags.sustain;
    for (const over of Object.values(policy.analytics)) delete over.sustainMs;
  }
  const line = (f: Finding, revision: number) => `${JSON.stringify({ ...f, revision })}\n`;
  let webhook: WebhookDelivery | undefined;
  // with a spool, revisions continue across restarts (id#n is never sent again with another body)
  let revisions: RevisionLedger | undefined;
  let forwarder: TelemetryForwarder | undefined;
  if (delivery) {
    try {
      const onIssue = (text: string) => err(`coalmine watch: ${inert(text)}\n`);
      webhook = new WebhookDelivery({
        url: delivery.url,
        headers: delivery.headers,
        spoolDir,
        // a live sensor retries every few seconds, so a receiver that comes back is caught up quickly
        backoff: { baseMs: 250, capMs: 5000, roundMs: 5000 },
        onIssue,
      });
      revisions = await RevisionLedger.open(spoolDir, { onIssue });
    } catch (e) {
      await webhook?.close();
      err(`coalmine: --webhook: ${inert((e as Error).message)}\n`);
      return EXIT.usage;
    }
  }
  if (telemetry) {
    try {
      forwarder = new TelemetryForwarder({
        url: telemetry.url,
        headers: telemetry.headers,
        // beside the findings' spool, never mixed with it
        spoolDir: join(spoolDir, 'telemetry'),
        sensorName: hostname(),
        // a batch per sample or so, at least every 5 s: the server sees what the sensor sees soon
        batchIntervalMs: Math.min(flags.interval, 5000),
        backoff: { baseMs: 250, capMs: 5000 },
        onIssue: (text) => err(`coalmine watch: ${inert(text)}\n`),
        // what this sensor is and cannot see, at start, every minute and when a kind of gap comes or goes
        heartbeat: { identity: sensorIdentity(VERSION) },
      });
    } catch (e) {
      await webhook?.close();
      revisions?.close();
      err(`coalmine: --server: ${inert((e as Error).message)}\n`);
      return EXIT.usage;
    }
  }
  let warned = '';
  // a report is printed once its spool file exists: what stdout shows, a crash cannot lose
  let printed: Promise<unknown> = Promise.resolve();
  const inspect = flags.inspect
    ? {
        // loaded on the inspect thread, which reports their issues (said whatever --no-status)
        yara: flags.yara,
        minIntervalMs: flags.inspectInterval,
        cpuPct: flags.inspectCpu,
        onInspection: (p: ProcessInspection) => {
          if (flags.status)
            err(
              `coalmine watch: inspected pid ${p.pid} (${inert(p.name ?? '?')}): ${p.matches.length} YARA matches${p.shapeSays ? ', a miner memory shape' : ''}${p.gap ? `; ${inert(p.gap)}` : ''}\n`,
            );
        },
        // the host's CPU outran its listed processes: what the probe for hidden pids found is said always
        onHiddenScan: (scan: HiddenScan, gapPct: number) => {
          const found = scan.hidden.map((h) => `${h.pid} (${inert(h.name)})`).join(', ');
          err(
            `coalmine watch: ${gapPct} points of CPU no listed process accounts for; probed pids up to ${scan.probedUpTo}${scan.truncated ? ` (stopped: ${scan.truncated})` : ''}: ${scan.hidden.length > 0 ? `hidden: ${found}` : 'none hidden'}\n`,
          );
        },
      }
    : undefined;
  const run = await startWatch({
    inspect,
    policy,
    intervalMs: flags.interval,
    durationMs: flags.duration,
    roots: flags.root.length > 0 ? flags.root : ['/'],
    hostName: hostname(),
    intelFiles: flags.intel,
    ruleDirs: [...DEFAULT_RULE_DIRS, ...flags.rules],
    onEvent: forwarder ? (e) => forwarder.push(e) : undefined,
    onGaps: forwarder ? (gaps) => forwarder.noteGaps(gaps) : undefined,
    onFinding: (f, runRevision) => {
      let revision = runRevision;
      let spooled: Promise<unknown> | undefined;
      if (webhook && revisions) {
        // spooled before delivery: a receiver that is down gets it later, exactly once per id#revision
        try {
          ({ revision, spooled } = spoolFinding(webhook, revisions, f));
        } catch (e) {
          // without a recorded revision the key could repeat with another body: not sent, and said so
          err(`coalmine watch: webhook: ${f.id} not spooled: ${inert((e as Error).message)}\n`);
        }
      }
      printed = Promise.all([printed, spooled])
        .then(() => {
          process.stdout.write(
            flags.format === 'table'
              ? `${revision > 1 ? `(update ${revision}) ` : ''}${table.render([f], { color: process.stdout.isTTY === true, version: VERSION })}\n`
              : line(f, revision),
          );
          if (flags.output) appendFileSync(flags.output, line(f, revision));
        })
        .catch((e) => err(`coalmine watch: --output: ${inert((e as Error).message)}\n`));
    },
    onIssue: (i) => {
      // a YARA rule that cannot be used is said whatever --no-status, as before the rules moved to their thread
      if (flags.status || i.code.startsWith('YARA_'))
        err(`coalmine watch: ${inert(formatRef(i))}: ${i.code}: ${inert(i.reason)}\n`);
    },
    onSample: (_stats, visibility) => {
      const text = visibility.join('; ');
      if (flags.status && text !== warned) {
        warned = text;
        if (text) err(`coalmine watch: cannot see: ${inert(text)}\n`);
      }
    },
  });
  const stop = () => run.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const totals = await run.done;
  await printed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  // give a receiver that is back a moment to take what is pending; the rest stays in the spool
  await Promise.all([webhook?.flush(10_000), forwarder?.flush(10_000)]);
  if (webhook) {
    const left = await webhook.close();
    revisions?.close();
    if (flags.status)
      err(`coalmine watch: webhook: ${webhook.stats.delivered} delivered, ${left} left in ${inert(webhook.spool)}\n`);
  }
  if (forwarder) {
    const left = await forwarder.close();
    const s = forwarder.stats;
    if (flags.status)
      err(
        `coalmine watch: server: ${s.eventsSent} events sent in ${s.batchesSent} batches, ${left} batches (${s.eventsPending} events) left in ${inert(forwarder.spool)}${s.batchesDropped > 0 ? `, ${s.batchesDropped} batches (${s.eventsDropped} events) dropped from the full spool` : ''}${s.batchesRejected > 0 ? `, ${s.batchesRejected} batches refused by the server` : ''}\n`,
      );
  }
  if (flags.status)
    err(
      `coalmine watch: ${totals.samples} samples (${totals.sampleMs.mean} ms each on average, slowest ${totals.sampleMs.max} ms), ${totals.events} events, ${totals.persistenceFiles} persistence files read, ${totals.findings} finding reports\n`,
    );
  return EXIT.ok;
}
