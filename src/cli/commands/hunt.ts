/** `coalmine hunt PATH...`: findings from collected telemetry, ranked, with a run summary on stderr. */
import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { type RuleMatchRecord, SEVERITY_RANK, type Severity } from '../../model/finding.js';
import { type HuntProgress, hunt } from '../../run/hunt.js';
import { noInputRead, renderNoInput, renderSummary } from '../../run/summary.js';
import { DEFAULT_RULE_DIRS } from '../../signals/rules.js';
import { sinkNamed, sinks } from '../../sinks/index.js';
import { renderReportHtml } from '../../sinks/report-html.js';
import { matchFormatNamed, matchFormats } from '../../sinks/sigma-matches.js';
import { sources } from '../../sources/index.js';
import { inert } from '../../util/hostile.js';
import { collect, EXIT, parseSeverity, VERSION } from '../common.js';
import { knownInputFormat } from '../hunt-inputs.js';
import { collectPlaceholder, policyOption, withPlaceholders } from '../policy-option.js';
import { deliverFindings, findingsReceiver } from '../webhook-option.js';

interface HuntFlags {
  format?: string;
  inputFormat?: string;
  policy?: string;
  intel: string[];
  rules: string[];
  sigmaPlaceholder?: Record<string, string[]>;
  host?: string;
  failOn?: Severity;
  progress: boolean;
  workers?: number;
  summary: boolean;
  report?: string;
  webhook?: string;
  webhookToken?: string;
  spool?: string;
}

export function huntCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('hunt')
    .description(
      'hunt for compute hijacking in log files and collected directories (any mix of formats, .gz, - for stdin)',
    )
    .argument('<paths...>', 'files, directories (walked; a directory is treated as a collected filesystem) or -')
    .option(
      '-f, --format <format>',
      `output: ${[...sinks, ...matchFormats].map((s) => s.name).join('|')} (default: table on a terminal, else ndjson; sigma-matches: every Sigma match as a timeline)`,
    )
    .option(
      '--input-format <name>',
      `force an input format instead of sniffing (${sources.map((s) => s.name).join(', ')})`,
    )
    .option('-p, --policy <file>', 'policy file: thresholds and allowlists (default: ./coalmine.yaml when present)')
    .option('--intel <file>', 'extra indicators: plain list, hosts file or CSV (repeatable)', collect, [])
    .option('--rules <path>', 'extra Sigma rule files or directories (repeatable)', collect, [])
    .option(
      '--sigma-placeholder <name=values>',
      'values of a Sigma rule placeholder (%name%), comma-separated (repeatable; over coalmine.yaml sigma.placeholders)',
      collectPlaceholder,
    )
    .option('--host <name>', 'host name for inputs that do not carry one')
    .option('--fail-on <severity>', 'exit 1 when an unsuppressed finding is at or above this severity', parseSeverity)
    .option(
      '--report <file>',
      'also write a self-contained HTML incident report (cases, playbook, evidence, CPU timeline) to this file',
    )
    .option(
      '--workers <n>',
      'worker threads, the input split by host (1: this thread only; default: every core when its coalmine NDJSON is 32 MiB or more)',
      parseWorkers,
    )
    .option(
      '--webhook <url>',
      'also POST each unsuppressed finding as JSON (idempotency-key: ID#REVISION), spooled on disk until delivered; one reported before unchanged (a scheduled hunt over the same logs) is not sent again',
    )
    .option(
      '--webhook-token <token>',
      'sent as Authorization: Bearer to --webhook (default COALMINE_TOKEN when --webhook is a coalmine serve /api/v1/findings)',
    )
    .option('--spool <dir>', 'where undelivered webhook reports wait for the next run (default ./coalmine-spool)')
    .option('--no-progress', 'no progress line on stderr')
    .option('--no-summary', 'no run summary on stderr')
    .addHelpText(
      'after',
      '\nExit status: 0 done, 1 findings at or above --fail-on, 2 usage or policy error, 3 runtime error, 4 no input\ncould be read (each unread input and why on stderr, even with --no-summary).',
    )
    .action(async (paths: string[], flags: HuntFlags) => {
      setCode(await runHunt(paths, flags));
    });
}

/** How long a hunt waits for its webhook to take the reports; what is left is sent by the next run. */
const WEBHOOK_WAIT_MS = 15_000;

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!/^\d{1,3}$/.test(value) || n < 1) throw new InvalidArgumentError('a whole number of threads, 1 or more');
  return n;
}

async function runHunt(paths: string[], flags: HuntFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  const formatName = flags.format ?? (process.stdout.isTTY ? 'table' : 'ndjson');
  const sink = sinkNamed(formatName);
  // a Sigma match timeline instead of findings: every match written as it is found
  const timeline = sink ? undefined : matchFormatNamed(formatName);
  if (!sink && !timeline) {
    err(
      `coalmine: unknown --format "${inert(formatName)}" (use ${[...sinks, ...matchFormats].map((s) => s.name).join(', ')})\n`,
    );
    return EXIT.usage;
  }
  if (!knownInputFormat(flags.inputFormat)) return EXIT.usage;
  const receiver = findingsReceiver(
    flags.webhook,
    flags.webhookToken,
    `coalmine-hunt/${VERSION}`,
    process.env.COALMINE_TOKEN,
  );
  if (typeof receiver === 'string') {
    err(`coalmine: ${receiver}\n`);
    return EXIT.usage;
  }
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  const policy = withPlaceholders(chosen.policy, flags.sigmaPlaceholder);
  const color = process.stdout.isTTY === true;
  // a progress line would break the timeline's lines on a shared terminal
  const showProgress = flags.progress && process.stderr.isTTY === true && !(timeline && color);
  let matches = 0;
  const onRuleMatch = timeline
    ? (r: RuleMatchRecord) => {
        matches++;
        process.stdout.write(timeline.line(r, color));
      }
    : undefined;
  const onProgress = showProgress
    ? (p: HuntProgress) => {
        const pct = p.totalBytes > 0 ? Math.min(100, (p.bytesRead / p.totalBytes) * 100) : 0;
        const width = 30;
        const filled = Math.round((pct / 100) * width);
        err(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}% ${p.events} events`);
      }
    : undefined;
  const result = await hunt({
    paths,
    policy,
    format: flags.inputFormat,
    host: flags.host,
    intelFiles: flags.intel,
    ruleDirs: [...DEFAULT_RULE_DIRS, ...flags.rules],
    onProgress,
    workers: flags.workers,
    onRuleMatch,
  });
  if (showProgress) err('\r\u001b[K');
  if (sink) process.stdout.write(sink.render(result.findings, { color, version: VERSION, cases: result.cases }));
  let reportError = '';
  if (flags.report) {
    const html = renderReportHtml(result.findings, result.cases, {
      ...result.summary,
      version: VERSION,
      inputs: paths,
      coverage: result.coverage,
    });
    try {
      await writeFile(flags.report, html);
    } catch (e) {
      reportError = `coalmine: cannot write report ${inert(flags.report)}: ${inert(e instanceof Error ? e.message : String(e))}\n`;
    }
  }
  if (flags.summary) err(renderSummary(result.summary));
  if (receiver) {
    try {
      const sent = await deliverFindings(
        receiver,
        result.findings.filter((f) => !f.suppressed_by),
        {
          spoolDir: flags.spool ?? 'coalmine-spool',
          waitMs: WEBHOOK_WAIT_MS,
          say: (text) => err(`coalmine hunt: webhook: ${text}\n`),
        },
      );
      if (flags.summary || sent.left > 0)
        err(
          `webhook: ${sent.spooled} new report${sent.spooled === 1 ? '' : 's'}, ${sent.unchanged} unchanged since sent; ${sent.delivered} delivered, ${sent.left} left in ${inert(flags.spool ?? 'coalmine-spool')} for the next run\n`,
        );
    } catch (e) {
      err(`coalmine: --webhook: ${inert((e as Error).message)}\n`);
      return EXIT.runtime;
    }
  }
  if (flags.summary && timeline)
    err(`sigma matches: ${matches} (findings: ${result.findings.length}; --format ndjson or explain shows them)\n`);
  // a split run says so; a run asked to split that could not says why (e.g. cloud records join hosts)
  if (flags.summary && result.threads.workers > 1) err(`threads: ${result.threads.workers} workers, split by host\n`);
  if (result.threads.note) err(`threads: one, ${inert(result.threads.note)}\n`);
  if (noInputRead(result.summary)) {
    err(renderNoInput(result.summary));
    return EXIT.noInput;
  }
  if (reportError) {
    err(reportError);
    return EXIT.runtime;
  }
  if (flags.failOn) {
    const bar = SEVERITY_RANK[flags.failOn];
    if (result.findings.some((f) => !f.suppressed_by && SEVERITY_RANK[f.severity] >= bar)) return EXIT.findings;
  }
  return EXIT.ok;
}
