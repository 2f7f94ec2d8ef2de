/**
 * The command line: one small module per command, listed here. `main` returns the exit code:
 * 0 ok, 1 findings at or above --fail-on (coverage: any gap), 2 usage error, 3 runtime error.
 */
import { Command, CommanderError, Help, type Option } from 'commander';
import { coverageCommand } from './commands/coverage.js';
import { explainCommand } from './commands/explain.js';
import { formatsCommand } from './commands/formats.js';
import { huntCommand } from './commands/hunt.js';
import { inspectCommand } from './commands/inspect.js';
import { intelCommand } from './commands/intel.js';
import { reportCommand } from './commands/report.js';
import { rulesCommand } from './commands/rules.js';
import { serveCommand } from './commands/serve.js';
import { simulateCommand } from './commands/simulate.js';
import { verifyCommand } from './commands/verify.js';
import { watchCommand } from './commands/watch.js';
import { workerCommand } from './commands/worker.js';
import { EXIT, VERSION } from './common.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('coalmine')
    .description('Detect and triage compute hijacking (cryptomining, proxyjacking) in logs and live hosts')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError()
    // inherited by every command: a repeatable option starts as [], and "(default: [])" tells a user nothing
    .configureHelp({
      optionDescription(this: Help, option: Option): string {
        const empty = Array.isArray(option.defaultValue) && option.defaultValue.length === 0;
        const shown = empty
          ? Object.assign(Object.create(Object.getPrototypeOf(option)), option, { defaultValue: undefined })
          : option;
        return Help.prototype.optionDescription.call(this, shown);
      },
    });
  let code: number = EXIT.ok;
  const setCode = (c: number) => {
    code = c;
  };
  huntCommand(program, setCode);
  formatsCommand(program, setCode);
  rulesCommand(program, setCode);
  intelCommand(program, setCode);
  coverageCommand(program, setCode);
  reportCommand(program, setCode);
  explainCommand(program, setCode);
  watchCommand(program, setCode);
  simulateCommand(program, setCode);
  serveCommand(program, setCode);
  workerCommand(program, setCode);
  verifyCommand(program, setCode);
  inspectCommand(program, setCode);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; anything else commander rejects is a usage error
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`coalmine: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.runtime;
  }
  return code;
}
