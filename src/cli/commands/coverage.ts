/**
 * `coalmine coverage PATH...`: per host and analytic, for AN0745 per cluster/namespace and for AN0744
 * per provider/account/region, which evidence classes the telemetry gives and the named gaps with
 * their fixes. Reads the same inputs as
 * `hunt`. Exit 0 when everything seen is fully covered, 1 when any gap exists (or nothing was seen),
 * 2 on usage errors, 4 when no input could be read.
 */
import type { Command } from 'commander';
import { coverage } from '../../run/coverage.js';
import { noInputRead, renderNoInput } from '../../run/summary.js';
import { sources } from '../../sources/index.js';
import { inert } from '../../util/hostile.js';
import { EXIT, VERSION } from '../common.js';
import { COVERAGE_FORMATS, type CoverageFormat, renderCoverageJson, renderCoverageTable } from '../coverage-render.js';
import { knownInputFormat } from '../hunt-inputs.js';
import { policyOption } from '../policy-option.js';

interface CoverageFlags {
  format: string;
  inputFormat?: string;
  policy?: string;
  host?: string;
}

export function coverageCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('coverage')
    .description(
      'which evidence each analytic can see in this telemetry (CPU, per-process CPU, command lines, network, DNS, persistence, authorization inventory, cloud audit), per host, for AN0745 per cluster/namespace (authorization, container CPU, in-container processes) and for AN0744 per provider/account/region (control-plane audit log, flows/DNS/detector, instance CPU), with the gaps and how to close them',
    )
    .argument('<paths...>', 'the same inputs as hunt: files, directories (collected filesystems) or -')
    .option('-f, --format <format>', `output: ${COVERAGE_FORMATS.join('|')}`, 'table')
    .option(
      '--input-format <name>',
      `force an input format instead of sniffing (${sources.map((s) => s.name).join(', ')})`,
    )
    .option(
      '-p, --policy <file>',
      'policy file: its hosts inventory, allowlist, containers: and cloud: sections answer "is this authorized?" (default: ./coalmine.yaml when present)',
    )
    .option('--host <name>', 'host name for inputs that do not carry one')
    .addHelpText(
      'after',
      '\nExit status: 0 when every analytic that applies to a seen host (AN0745 in every cluster/namespace and AN0744 in every\naccount/region seen) is fully covered, 1 when any gap exists (or nothing was seen), 2 on usage errors, 4 when no input could be read.',
    )
    .action(async (paths: string[], flags: CoverageFlags) => {
      setCode(await runCoverage(paths, flags));
    });
}

async function runCoverage(paths: string[], flags: CoverageFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (!(COVERAGE_FORMATS as readonly string[]).includes(flags.format)) {
    err(`coalmine: unknown --format "${inert(flags.format)}" (use ${COVERAGE_FORMATS.join(', ')})\n`);
    return EXIT.usage;
  }
  const format = flags.format as CoverageFormat;
  if (!knownInputFormat(flags.inputFormat)) return EXIT.usage;
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  const report = await coverage({
    paths,
    policy: chosen.policy,
    policyFile: chosen.path,
    format: flags.inputFormat,
    host: flags.host,
  });
  process.stdout.write(format === 'json' ? renderCoverageJson(report, VERSION) : renderCoverageTable(report));
  if (noInputRead(report.input)) {
    const unreadInputs = report.input.issueList.filter((i) => i.unread);
    err(renderNoInput({ unread: unreadInputs.length, unreadInputs }));
    return EXIT.noInput;
  }
  return report.covered ? EXIT.ok : EXIT.findings;
}
