/**
 * `coalmine simulate miner|persistence|competitor|proxyware|container|all`: stage the behaviours harmlessly for
 * --duration, print what was staged and what `watch` should report, then clean up (also on SIGINT).
 * `simulate cloud --emit-logs DIR` writes the cloud story on AWS, GCP and Azure (cloud-story.ts), and
 * `simulate windows --emit-logs DIR` a workstation's Sysmon, Security and typeperf exports (windows-story.ts);
 * neither has a live form.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { CLOUD_DIR, type EmittedCloud, emitCloudLogs } from '../../simulate/cloud-story.js';
import { CrontabError } from '../../simulate/crontab.js';
import { EmitLogsError, emitLogs, prepareDir } from '../../simulate/emit-logs.js';
import {
  BEHAVIOURS,
  type Behaviour,
  FAKE_WALLET,
  LOG_STORIES,
  SandboxError,
  startSimulation,
} from '../../simulate/index.js';
import { type EmittedWindows, emitWindowsLogs, WINDOWS_DIR } from '../../simulate/windows-story.js';
import { inert } from '../../util/hostile.js';
import { parseTimestamp } from '../../util/time.js';
import { durationOption, EXIT } from '../common.js';

const MAX_DURATION_MS = 10 * 60_000;

const duration = durationOption(MAX_DURATION_MS, 'a duration up to 10m, like 60s');

function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1 || n > 1) throw new InvalidArgumentError('a share of one core between 0.1 and 1');
  return n;
}

function storyEnd(value: string): number {
  const ms = parseTimestamp(value);
  if (ms === undefined) throw new InvalidArgumentError('a time such as 2026-12-01T03:00:00Z or epoch seconds');
  return ms;
}

export function simulateCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('simulate')
    .description(
      'stage mining and proxyjacking behaviours harmlessly (loopback pool and relay, sandbox cron, decoy rival, a network-less container when Docker answers) to prove watch sees them; cleans up',
    )
    .argument('<behaviours...>', `${BEHAVIOURS.join('|')}|all, or ${LOG_STORIES.join('|')} (with --emit-logs only)`)
    .addOption(
      new Option('-d, --duration <time>', 'how long to stage (max 10m)').argParser(duration).default(60_000, '60s'),
    )
    .option('--share <n>', 'share of one core the simulated miner burns', share, 0.9)
    .option('--json', 'print what was staged as JSON')
    .option(
      '--emit-logs <dir>',
      "stage no live process: write the same story (25 minutes ending now) as log files hunt reads into <dir>, which must not exist or be empty; cloud writes an AWS account's S3 logs under <dir>/aws, a GCP project's under <dir>/gcp, an Azure subscription's under <dir>/azure and the cloud: policy in <dir>/coalmine.yaml; windows writes a workstation's Sysmon and Security event exports (wevtutil XML) and typeperf CSV as <dir>/windows/{sysmon.xml,security.xml,typeperf.csv}",
    )
    .option('--at <time>', 'with --emit-logs: the time the story ends (default: now)', storyEnd)
    .option(
      '--sandbox <dir>',
      'write the sandbox cron entry under <dir> (so `watch --root <dir>` can run first); only the files it adds are removed',
    )
    .option(
      '--real-crontab',
      "persistence also adds one line, marked '# coalmine-simulate <pid>', to your real crontab (crontab -l / crontab -; scheduled for 31 February, so cron never runs it) and removes exactly that line at cleanup",
    )
    .action(async (names: string[], flags: SimulateFlags) => {
      setCode(await runSimulate(names, flags));
    });
}

interface SimulateFlags {
  duration: number;
  share: number;
  json?: boolean;
  emitLogs?: string;
  at?: number;
  realCrontab?: boolean;
  sandbox?: string;
}

function runEmitLogs(dir: string, behaviours: Behaviour[], flags: SimulateFlags): number {
  let out: ReturnType<typeof emitLogs>;
  try {
    prepareDir(dir);
    out = emitLogs(dir, { behaviours, share: flags.share, wallet: FAKE_WALLET, now: flags.at });
  } catch (err) {
    if (!(err instanceof EmitLogsError) && !(err as NodeJS.ErrnoException).code) throw err;
    process.stderr.write(`coalmine: simulate --emit-logs: ${inert((err as Error).message)}\n`);
    return err instanceof EmitLogsError ? EXIT.usage : EXIT.runtime;
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(
    `wrote ${out.files.length} files to ${out.dir} (host ${out.host}, ${out.from} to ${out.to}); nothing was started\n`,
  );
  for (const f of out.files) process.stdout.write(`  ${f}\n`);
  process.stdout.write(`hunt it with: coalmine hunt ${out.dir}\nexpect:\n`);
  for (const e of out.expect) process.stdout.write(`  - ${e}\n`);
  return EXIT.ok;
}

function runEmitWindows(dir: string, flags: SimulateFlags): number {
  let out: EmittedWindows;
  try {
    prepareDir(dir);
    out = emitWindowsLogs(dir, { share: flags.share, wallet: FAKE_WALLET, now: flags.at });
  } catch (err) {
    if (!(err instanceof EmitLogsError) && !(err as NodeJS.ErrnoException).code) throw err;
    process.stderr.write(`coalmine: simulate windows --emit-logs: ${inert((err as Error).message)}\n`);
    return err instanceof EmitLogsError ? EXIT.usage : EXIT.runtime;
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return EXIT.ok;
  }
  process.stdout.write(
    `wrote ${out.files.length} files to ${inert(out.dir)} (host ${out.host}, ${out.from} to ${out.to}); nothing was started\n`,
  );
  for (const f of out.files) process.stdout.write(`  ${inert(f)}\n`);
  process.stdout.write(`  miner   pid ${out.miner.pid}: ${out.miner.command_line}\n`);
  process.stdout.write(`  benign  pid ${out.benign.pid}: ${out.benign.command_line}\n`);
  process.stdout.write(`hunt it with: ${inert(out.hunt.join(' '))}\nexpect:\n`);
  for (const e of out.expect) process.stdout.write(`  - ${e}\n`);
  return EXIT.ok;
}

function runEmitCloud(dir: string, flags: SimulateFlags): number {
  let out: EmittedCloud;
  try {
    prepareDir(dir);
    out = emitCloudLogs(dir, { wallet: FAKE_WALLET, now: flags.at });
  } catch (err) {
    if (!(err instanceof EmitLogsError) && !(err as NodeJS.ErrnoException).code) throw err;
    process.stderr.write(`coalmine: simulate cloud --emit-logs: ${inert((err as Error).message)}\n`);
    return err instanceof EmitLogsError ? EXIT.usage : EXIT.runtime;
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return EXIT.ok;
  }
  // hundreds of delivery objects: say how many of each went where, not every name (--json lists them)
  const kinds = new Map<string, number>();
  for (const f of out.files) {
    const rel = f.slice(out.dir.length).replace(/^[\\/]+/, '');
    // S3 and Cloud Storage date paths, Azure's y=/m=/d= blobs (one per VM or NIC), a daily Monitoring answer
    const kind = rel
      .replace(/\/\d{4}\/\d{2}\/\d{2}\/.*$/, '/YYYY/MM/DD/…')
      .replace(/\/VIRTUALMACHINES\/[^/]+\//, '/VIRTUALMACHINES/*/')
      .replace(/\/y=\d{4}\/.*$/, '/y=YYYY/…/PT1H.json')
      .replace(/\/\d{4}-\d{2}-\d{2}\.json$/, '/YYYY-MM-DD.json');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  process.stdout.write(
    `wrote ${out.files.length} files to ${inert(out.dir)} (AWS account ${out.account}, GCP project ${out.gcp.project}, Azure subscription ${out.azure.subscription}, ${out.from} to ${out.to}); nothing was started\n`,
  );
  for (const [kind, n] of kinds) process.stdout.write(`  ${n} × ${inert(kind)}\n`);
  for (const hunt of out.hunts) process.stdout.write(`hunt it with: ${inert(hunt.join(' '))}\n`);
  process.stdout.write('expect:\n');
  for (const e of out.expect) process.stdout.write(`  - ${e}\n`);
  return EXIT.ok;
}

async function runSimulate(names: string[], flags: SimulateFlags): Promise<number> {
  const chosen = new Set<Behaviour>();
  const stories = new Set<string>();
  for (const n of names) {
    if (n === 'all') for (const b of BEHAVIOURS) chosen.add(b);
    else if ((BEHAVIOURS as readonly string[]).includes(n)) chosen.add(n as Behaviour);
    else if ((LOG_STORIES as readonly string[]).includes(n)) stories.add(n);
    else {
      process.stderr.write(
        `coalmine: unknown behaviour "${inert(n)}" (use ${BEHAVIOURS.join(', ')}, all, or ${LOG_STORIES.join(', ')} with --emit-logs)\n`,
      );
      return EXIT.usage;
    }
  }
  if (flags.at !== undefined && flags.emitLogs === undefined) {
    process.stderr.write('coalmine: --at needs --emit-logs (a live run happens now)\n');
    return EXIT.usage;
  }
  if (stories.size > 0) {
    const story = [...stories][0];
    const hunted = story === 'windows' ? WINDOWS_DIR : CLOUD_DIR;
    if (flags.emitLogs === undefined || chosen.size > 0 || flags.realCrontab || flags.sandbox !== undefined) {
      process.stderr.write(
        `coalmine: ${[...stories].join(', ')} only writes logs, alone: coalmine simulate ${story} --emit-logs DIR (then hunt DIR/${hunted})\n`,
      );
      return EXIT.usage;
    }
    if (stories.size > 1) {
      process.stderr.write(
        `coalmine: ${[...stories].join(' and ')} are separate log stories, one a run: coalmine simulate ${story} --emit-logs DIR (then hunt DIR/${hunted})\n`,
      );
      return EXIT.usage;
    }
    return story === 'windows' ? runEmitWindows(flags.emitLogs, flags) : runEmitCloud(flags.emitLogs, flags);
  }
  if (flags.realCrontab && (flags.emitLogs !== undefined || !chosen.has('persistence'))) {
    process.stderr.write(`coalmine: --real-crontab needs the persistence behaviour and a live run (not --emit-logs)\n`);
    return EXIT.usage;
  }
  if (flags.emitLogs !== undefined) return runEmitLogs(flags.emitLogs, [...chosen], flags);
  // listen before staging: a signal while the real crontab is being edited must still reach cleanup
  let run: Awaited<ReturnType<typeof startSimulation>> | undefined;
  let stopAsked = false;
  const stop = () => {
    stopAsked = true;
    run?.stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const unlisten = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  try {
    run = await startSimulation({
      behaviours: [...chosen],
      durationMs: flags.duration,
      share: flags.share,
      realCrontab: flags.realCrontab,
      sandboxRoot: flags.sandbox,
    });
  } catch (err) {
    unlisten();
    if (err instanceof SandboxError) {
      process.stderr.write(`coalmine: simulate --sandbox: ${inert(err.message)}; nothing was staged\n`);
      return EXIT.usage;
    }
    if (!(err instanceof CrontabError)) throw err;
    process.stderr.write(`coalmine: simulate --real-crontab: ${inert(err.message)}; nothing was staged\n`);
    return EXIT.runtime;
  }
  const s = run.staged;
  for (const l of s.leftovers) process.stderr.write(`coalmine: simulate: ${inert(l)}\n`);
  const skipped = s.container && 'skipped' in s.container ? s.container.skipped : undefined;
  const nothingStaged = !s.miner && !s.cron && !s.rival && !s.proxyware && (!s.container || skipped !== undefined);
  if (flags.json) process.stdout.write(`${JSON.stringify(s)}\n`);
  else if (nothingStaged && skipped !== undefined)
    process.stdout.write(`nothing staged: the container behaviour is skipped (${inert(skipped)})\n`);
  else {
    process.stdout.write(`staged in ${s.dir} for ${flags.duration / 1000}s; pool on 127.0.0.1:${s.pool.port}\n`);
    if (s.miner) process.stdout.write(`  miner   pid ${s.miner.pid}: ${s.miner.command_line}\n`);
    if (s.cron) process.stdout.write(`  cron    ${s.cron.file}: ${s.cron.line}\n`);
    if (s.realCron) process.stdout.write(`  crontab (real, crontab -l): ${s.realCron.line}\n`);
    if (s.rival)
      process.stdout.write(
        `  rival   pid ${s.rival.pid}: ${s.rival.executable} (killed by the miner's child after ~7 s)\n`,
      );
    if (s.proxyware)
      process.stdout.write(
        `  proxyware pid ${s.proxyware.pid}: ${s.proxyware.command_line} (relaying to 127.0.0.1:${s.proxyware.relay.port})\n`,
      );
    if (skipped !== undefined) process.stdout.write(`  container skipped: ${inert(skipped)}\n`);
    else if (s.container && !('skipped' in s.container))
      process.stdout.write(
        `  container ${s.container.name} (${s.container.image}, no network): ${s.container.command_line}\n`,
      );
    process.stdout.write(`watch it with: coalmine watch --interval 1 --sustain 20s --root ${s.sandboxRoot}\nexpect:\n`);
    for (const e of s.expect) process.stdout.write(`  - ${e}\n`);
  }
  if (stopAsked) run.stop();
  const cleaned = await run.done;
  unlisten();
  process.stderr.write(`cleaned up: ${cleaned.join('; ')}\n`);
  return EXIT.ok;
}
