/** `coalmine rules check [DIR...]`: load rules as `hunt` would and report every error and warning with file:line. */
import type { Command } from 'commander';
import { DEFAULT_RULE_DIRS } from '../../signals/rules.js';
import { loadRules } from '../../signals/sigma/index.js';
import { inert } from '../../util/hostile.js';
import { EXIT } from '../common.js';

export function rulesCommand(program: Command, setCode: (code: number) => void): void {
  const rules = program.command('rules').description('work with detection rules');
  rules
    .command('check')
    .description('load rules (default: the bundled stable set) and report errors and warnings')
    .argument('[paths...]', 'rule files or directories')
    .action(async (paths: string[]) => {
      const set = await loadRules(paths.length > 0 ? paths : DEFAULT_RULE_DIRS);
      const out: string[] = [];
      for (const e of set.errors) out.push(`error ${inert(e.file)}:${e.line ?? 0}: ${e.code}: ${inert(e.reason)}`);
      for (const w of set.warnings) out.push(`warning ${inert(w.file)}:${w.line ?? 0}: ${w.code}: ${inert(w.reason)}`);
      out.push(`${set.rules.length} rules loaded, ${set.errors.length} errors, ${set.warnings.length} warnings`);
      process.stdout.write(`${out.join('\n')}\n`);
      setCode(set.errors.length > 0 ? EXIT.findings : EXIT.ok);
    });
}
