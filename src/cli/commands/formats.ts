/** `coalmine formats`: the input formats coalmine reads, from the source registry. */
import type { Command } from 'commander';
import { sinks } from '../../sinks/index.js';
import { matchFormats } from '../../sinks/sigma-matches.js';
import { sources } from '../../sources/index.js';
import { EXIT } from '../common.js';

export function formatsCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('formats')
    .description('list the input formats (sniffed automatically) and output formats')
    .action(() => {
      const lines = ['input formats (sniffed per file; force with --input-format):'];
      for (const s of sources) lines.push(`  ${s.name.padEnd(14)} ${s.platform.padEnd(8)} ${s.summary}`);
      lines.push('output formats (--format):');
      for (const s of sinks) lines.push(`  ${s.name.padEnd(14)} ${s.summary}`);
      lines.push('Sigma match timelines (hunt --format; every rule match, with or without a finding):');
      for (const f of matchFormats) lines.push(`  ${f.name.padEnd(20)} ${f.summary}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      setCode(EXIT.ok);
    });
}
