/**
 * `coalmine report PATH...`: the executive summary a security lead reads — incidents by severity and
 * tier, what was hit, the hijacked compute and what it cost, time to detect, and how ready the telemetry
 * is — from the same inputs and hunt as `coalmine hunt`. Text (default), Markdown or JSON on stdout.
 */

import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { executiveReport } from '../../run/report.js';
import {
  renderExecutiveMarkdown,
  renderExecutiveText,
  renderSocMarkdown,
  renderSocText,
} from '../../sinks/executive.js';
import { renderReportHtml } from '../../sinks/report-html.js';
import { sources } from '../../sources/index.js';
import { inert } from '../../util/hostile.js';
import { MAX_DURATION_MS } from '../../util/time.js';
import { collect, durationOption, EXIT, VERSION } from '../common.js';
import { huntPaths } from '../hunt-inputs.js';

const REPORT_FORMATS = ['text', 'markdown', 'json'] as const;

interface ReportFlags {
  format: string;
  store?: string;
  since?: number;
  inputFormat?: string;
  policy?: string;
  intel: string[];
  rules: string[];
  host?: string;
  html?: string;
}

export function reportCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('report')
    .description(
      'executive summary of a hunt for a security lead: incidents by severity and tier, hosts, workloads and cloud launches hit, hijacked compute and its estimated cost, time to detect, telemetry readiness, what to do next',
    )
    .argument('[paths...]', 'the same inputs as hunt: files, directories (collected filesystems) or -')
    .option('-f, --format <format>', `output: ${REPORT_FORMATS.join('|')}`, 'text')
    .option(
      '--input-format <name>',
      `force an input format instead of sniffing (${sources.map((s) => s.name).join(', ')})`,
    )
    .option(
      '-p, --policy <file>',
      'policy file: thresholds, allowlists, prices (default: ./coalmine.yaml when present)',
    )
    .option('--intel <file>', 'extra indicators: plain list, hosts file or CSV (repeatable)', collect, [])
    .option('--rules <path>', 'extra Sigma rule files or directories (repeatable)', collect, [])
    .option('--host <name>', 'host name for inputs that do not carry one')
    .option('--html <file>', 'also write the self-contained HTML incident report (as hunt --report) to this file')
    .option(
      '--store <path|url>',
      "instead of hunting PATHs: how the SOC worked serve's cases (SQLite file or postgres://…): cases by state, severity and resolution, median times to detect, triage, contain and close, what is still open",
    )
    .option(
      '--since <duration>',
      'with --store: only cases created this long ago or later (e.g. 30d, 12h)',
      durationOption(MAX_DURATION_MS, 'a duration such as 30d, 12h or 90m, at most 365d'),
    )
    .addHelpText(
      'after',
      "\nTime to detect is measured in event time: from an incident's first evidence to the first moment its evidence\nmade a finding (when watch or serve would have alerted). Exit status: 0 done, 2 usage or policy error, 3 runtime\nerror, 4 no input could be read.",
    )
    .action(async (paths: string[], flags: ReportFlags) => {
      setCode(await (flags.store !== undefined ? runStoreReport(paths, flags, flags.store) : runReport(paths, flags)));
    });
}

async function runStoreReport(paths: string[], flags: ReportFlags, location: string): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (paths.length > 0) {
    err("coalmine: report reads either PATHs (a hunt) or --store (the SOC's cases), not both\n");
    return EXIT.usage;
  }
  if (flags.format !== 'text' && flags.format !== 'markdown' && flags.format !== 'json') {
    err(`coalmine: unknown --format "${inert(flags.format)}" (use ${REPORT_FORMATS.join(', ')})\n`);
    return EXIT.usage;
  }
  // the database drivers load only when a store is read (hunt-only runs start without them)
  const { storeSocSummary } = await import('../../run/soc-report.js');
  const now = Date.now();
  const read = await storeSocSummary(location, {
    now,
    ...(flags.since !== undefined ? { since: now - flags.since } : {}),
  });
  if (!read) {
    err(`coalmine: no store at ${inert(location)}\n`);
    return EXIT.noInput;
  }
  if (read.migrated.length > 0)
    err(`coalmine: store migrated to schema ${read.migrated.join(', ')} (as serve would)\n`);
  const summary = read.summary;
  process.stdout.write(
    flags.format === 'json'
      ? `${JSON.stringify({ version: VERSION, ...summary }, null, 2)}\n`
      : flags.format === 'markdown'
        ? renderSocMarkdown(summary)
        : renderSocText(summary),
  );
  return EXIT.ok;
}

async function runReport(paths: string[], flags: ReportFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (paths.length === 0) {
    err("coalmine: report needs PATHs to hunt, or --store to sum up the SOC's cases\n");
    return EXIT.usage;
  }
  if (flags.since !== undefined) {
    err('coalmine: --since applies to --store only\n');
    return EXIT.usage;
  }
  if (!(REPORT_FORMATS as readonly string[]).includes(flags.format)) {
    err(`coalmine: unknown --format "${inert(flags.format)}" (use ${REPORT_FORMATS.join(', ')})\n`);
    return EXIT.usage;
  }
  const result = await huntPaths(paths, flags);
  if (typeof result === 'number') return result;
  const s = result.summary;
  const summary = executiveReport(result);
  process.stdout.write(
    flags.format === 'json'
      ? `${JSON.stringify({ version: VERSION, ...summary }, null, 2)}\n`
      : flags.format === 'markdown'
        ? renderExecutiveMarkdown(summary)
        : renderExecutiveText(summary),
  );
  if (flags.html) {
    const html = renderReportHtml(result.findings, result.cases, {
      ...s,
      version: VERSION,
      inputs: paths,
      coverage: result.coverage,
    });
    try {
      await writeFile(flags.html, html);
    } catch (e) {
      err(`coalmine: cannot write report ${inert(flags.html)}: ${inert(e instanceof Error ? e.message : String(e))}\n`);
      return EXIT.runtime;
    }
  }
  return EXIT.ok;
}
