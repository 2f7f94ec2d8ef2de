/**
 * What `explain` and `report` do before their own work: the hunt of the PATHs given, as `hunt` runs
 * it (--input-format checked, --policy loaded, the default rules plus --rules), or the exit code when it
 * cannot run (a usage error, already said on stderr) or could read nothing (said, with each reason).
 */
import { type HuntResult, hunt } from '../run/hunt.js';
import { noInputRead, renderNoInput } from '../run/summary.js';
import { DEFAULT_RULE_DIRS } from '../signals/rules.js';
import { sourceNamed } from '../sources/index.js';
import { inert } from '../util/hostile.js';
import { EXIT } from './common.js';
import { policyOption } from './policy-option.js';

export interface HuntInputFlags {
  inputFormat?: string;
  policy?: string;
  intel: string[];
  rules: string[];
  host?: string;
}

/** Whether `--input-format` (when given) names a format coalmine reads; says so on stderr when not. */
export function knownInputFormat(inputFormat: string | undefined): boolean {
  if (inputFormat === undefined || sourceNamed(inputFormat)) return true;
  process.stderr.write(`coalmine: unknown --input-format "${inert(inputFormat)}" (see coalmine formats)\n`);
  return false;
}

export async function huntPaths(paths: string[], flags: HuntInputFlags): Promise<HuntResult | number> {
  if (!knownInputFormat(flags.inputFormat)) return EXIT.usage;
  const chosen = await policyOption(flags.policy);
  if (!chosen) return EXIT.usage;
  const result = await hunt({
    paths,
    policy: chosen.policy,
    format: flags.inputFormat,
    host: flags.host,
    intelFiles: flags.intel,
    ruleDirs: [...DEFAULT_RULE_DIRS, ...flags.rules],
  });
  if (noInputRead(result.summary)) {
    process.stderr.write(renderNoInput(result.summary));
    return EXIT.noInput;
  }
  return result;
}
