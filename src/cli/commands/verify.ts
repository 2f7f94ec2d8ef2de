/**
 * `coalmine verify [--root DIR]`: system binaries and configuration against the package manager's
 * records, persistence places against a baseline, and (on the running system) hidden processes,
 * preloaded libraries and kernel modules. Read-only. Text or NDJSON (one item a line, then a summary
 * line). Exit 0 when nothing is evidence, 1 when something is, 2 on usage errors, 3 on a runtime error.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatRef, type Issue } from '../../model/issue.js';
import { runVerify, VERIFY_CHECKS, type VerifyCheck, type VerifyReport } from '../../run/verify.js';
import { clip, inert } from '../../util/hostile.js';
import { EXIT, VERSION } from '../common.js';

interface VerifyFlags {
  root?: string;
  format: string;
  baseline?: string;
  baselineOut?: string;
  live: boolean;
  hiddenBudget?: number;
  checks?: string;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('seconds between 0 and 3600');
  return n * 1000;
}

export function verifyCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('verify')
    .description(
      'integrity and tampering: binaries and config against the package records (dpkg md5sums/status, rpm -V), unowned files in bin/sbin/lib, persistence places against a baseline, and on the running system hidden processes, preloaded libraries and kernel modules',
    )
    .option('--root <dir>', 'a collected filesystem to verify instead of the running system (live checks are skipped)')
    .option('-f, --format <format>', 'output: text|ndjson', 'text')
    .option(
      '--baseline <file>',
      'compare the persistence places (cron, systemd, rc, ld.so.preload, authorized_keys) with this baseline',
    )
    .option('--baseline-out <file>', 'write a baseline of the persistence places as they are now')
    .option('--no-live', 'skip the running-system checks (hidden processes, LD_PRELOAD environments, kernel modules)')
    .option('--checks <list>', `only these checks, comma-separated (${VERIFY_CHECKS.join(', ')})`)
    .option('--hidden-budget <seconds>', 'time the hidden-process probe may take (default 30)', seconds)
    .addHelpText(
      'after',
      '\nExit status: 0 when nothing found is evidence, 1 when something is, 2 on usage errors, 3 on a runtime error.',
    )
    .action(async (flags: VerifyFlags) => {
      setCode(await verify(flags));
    });
}

async function verify(flags: VerifyFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (flags.format !== 'text' && flags.format !== 'ndjson') {
    err(`coalmine: unknown --format "${inert(flags.format)}" (use text, ndjson)\n`);
    return EXIT.usage;
  }
  const root = flags.root ?? '/';
  let only: Set<VerifyCheck> | undefined;
  if (flags.checks !== undefined) {
    const names = flags.checks.split(',').map((c) => c.trim());
    const bad = names.find((c) => !(VERIFY_CHECKS as readonly string[]).includes(c));
    if (bad !== undefined) {
      err(`coalmine: unknown check "${inert(clip(bad, 64))}" (use ${VERIFY_CHECKS.join(', ')})\n`);
      return EXIT.usage;
    }
    only = new Set(names as VerifyCheck[]);
  }
  const issues: Issue[] = [];
  const report = await runVerify({
    root,
    live: flags.live && root === '/' && process.platform === 'linux',
    baselineIn: flags.baseline,
    baselineOut: flags.baselineOut !== undefined,
    hiddenBudgetMs: flags.hiddenBudget,
    only,
    onIssue: (i) => {
      if (issues.length < 1000) issues.push(i);
    },
  });
  if (flags.baselineOut !== undefined && report.baselineOut) {
    try {
      writeFileSync(flags.baselineOut, `${JSON.stringify(report.baselineOut, null, 1)}\n`, { mode: 0o600 });
    } catch (e) {
      err(
        `coalmine: cannot write the baseline ${inert(flags.baselineOut)}: ${inert(clip((e as Error).message, 200))}\n`,
      );
      return EXIT.runtime;
    }
  }
  process.stdout.write(flags.format === 'ndjson' ? renderNdjson(report) : renderText(report));
  for (const i of issues)
    err(`coalmine: ${inert(clip(formatRef(i), 300))}: ${i.code}: ${inert(clip(i.reason, 300))}\n`);
  return report.items.some((i) => i.evidence) ? EXIT.findings : EXIT.ok;
}

function renderNdjson(report: VerifyReport): string {
  const lines = report.items.map((i) => JSON.stringify({ type: 'verify-item', ...i }));
  lines.push(
    JSON.stringify({
      type: 'verify-summary',
      version: VERSION,
      root: report.root,
      live: report.live,
      evidence: report.items.filter((i) => i.evidence).length,
      context: report.items.filter((i) => !i.evidence).length,
      checks: report.checks,
    }),
  );
  return `${lines.join('\n')}\n`;
}

function renderText(report: VerifyReport): string {
  const out: string[] = [];
  const evidence = report.items.filter((i) => i.evidence);
  const context = report.items.filter((i) => !i.evidence);
  out.push(
    `verify ${inert(clip(report.root, 300))}${report.live ? ' (running system)' : ''}: ${evidence.length} evidence, ${context.length} context`,
  );
  const show = (title: string, items: typeof report.items) => {
    if (items.length === 0) return;
    out.push('', title);
    for (const i of items) out.push(`  ${i.check.padEnd(14)} ${i.status.padEnd(10)} ${inert(clip(i.detail, 600))}`);
  };
  show('EVIDENCE', evidence);
  show('CONTEXT', context);
  out.push('', 'CHECKS');
  for (const c of report.checks)
    out.push(`  ${c.check.padEnd(14)} ${c.ran ? 'ran     ' : 'not run '} ${inert(c.note)}`);
  return `${out.join('\n')}\n`;
}
