/**
 * `coalmine rules check [DIR...]`: load rules as `hunt` would (placeholders from coalmine.yaml or
 * `--sigma-placeholder`) and report every error, unsupported feature and warning with file:line, then the
 * counts: loaded rules, correlations and filters, unsupported, errors and warnings, each by reason code.
 */
import type { Command } from 'commander';
import { formatRef } from '../../model/issue.js';
import { DEFAULT_RULE_DIRS } from '../../signals/rules.js';
import { loadRules, type RuleLoadIssue } from '../../signals/sigma/index.js';
import { inert } from '../../util/hostile.js';
import { EXIT } from '../common.js';
import { collectPlaceholder, policyOption, withPlaceholders } from '../policy-option.js';

function byCode(issues: RuleLoadIssue[]): string {
  const counts = new Map<string, number>();
  for (const i of issues) counts.set(i.code, (counts.get(i.code) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
}

export function rulesCommand(program: Command, setCode: (code: number) => void): void {
  const rules = program.command('rules').description('work with detection rules');
  rules
    .command('check')
    .description('load rules (default: the bundled stable set) and report errors, unsupported rules and warnings')
    .argument('[paths...]', 'rule files or directories')
    .option('-p, --policy <file>', 'policy file for sigma.placeholders (default: ./coalmine.yaml when present)')
    .option(
      '--sigma-placeholder <name=values>',
      'values of a Sigma rule placeholder (%name%), comma-separated (repeatable; over coalmine.yaml sigma.placeholders)',
      collectPlaceholder,
    )
    .action(async (paths: string[], flags: { policy?: string; sigmaPlaceholder?: Record<string, string[]> }) => {
      const chosen = await policyOption(flags.policy);
      if (!chosen) {
        setCode(EXIT.usage);
        return;
      }
      const placeholders = withPlaceholders(chosen.policy, flags.sigmaPlaceholder).sigma?.placeholders;
      const set = await loadRules(paths.length > 0 ? paths : DEFAULT_RULE_DIRS, { placeholders });
      const out: string[] = [];
      const line = (kind: string, i: RuleLoadIssue) =>
        out.push(`${kind} ${inert(formatRef(i))}: ${i.code}: ${inert(i.reason)}`);
      for (const e of set.errors) line('error', e);
      for (const u of set.unsupported) line('unsupported', u);
      for (const w of set.warnings) line('warning', w);
      const signalling = set.rules.filter((r) => r.signal !== undefined).length;
      const correlating = set.correlations.filter((c) => c.rule.signal !== undefined).length;
      const silent = set.rules.filter((r) => r.silent).length;
      out.push(
        `${set.rules.length} rules loaded (${signalling} raise compute-hijacking evidence, ${set.rules.length - signalling} context only${silent > 0 ? `; ${silent} only feed correlations` : ''}), ${set.correlations.length} correlation rules (${correlating} raise evidence), ${set.filters.length} filters, ${set.unsupported.length} unsupported, ${set.errors.length} errors, ${set.warnings.length} warnings`,
      );
      if (set.unsupported.length > 0) out.push(`unsupported by reason: ${byCode(set.unsupported)}`);
      if (set.errors.length > 0) out.push(`errors by reason: ${byCode(set.errors)}`);
      if (set.warnings.length > 0) out.push(`warnings by reason: ${byCode(set.warnings)}`);
      process.stdout.write(`${out.join('\n')}\n`);
      setCode(set.errors.length > 0 ? EXIT.findings : EXIT.ok);
    });
}
