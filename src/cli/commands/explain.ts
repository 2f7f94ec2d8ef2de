/**
 * `coalmine explain ID PATH...`: one finding as an analyst reads it — decision, timeline, questions,
 * containment plan, cost. The finding comes from hunting the same inputs again (ids are stable for the
 * same input), or from a findings file `hunt --format ndjson` wrote (`--findings FILE`). An id prefix
 * is enough when it names one finding.
 */

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Finding } from '../../model/finding.js';
import { explainFinding } from '../../sinks/explain.js';
import { clip, inert } from '../../util/hostile.js';
import { collect, EXIT, VERSION } from '../common.js';
import { huntPaths } from '../hunt-inputs.js';

interface ExplainFlags {
  findings?: string;
  inputFormat?: string;
  policy?: string;
  intel: string[];
  rules: string[];
  host?: string;
}

/** A findings file is read whole; one from a real run is far smaller than this. */
const MAX_FINDINGS_BYTES = 256 * 1024 * 1024;

export function explainCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command('explain')
    .description('one finding as an analyst reads it: decision, evidence timeline, questions, containment plan, cost')
    .argument('<id>', 'the finding id (cm-…) or a prefix naming one finding')
    .argument('[paths...]', 'the inputs hunt read (they are hunted again), unless --findings is given')
    .option('--findings <file>', 'read findings from this file (hunt --format ndjson output) instead of hunting')
    .option('--input-format <name>', 'force an input format instead of sniffing')
    .option('-p, --policy <file>', 'policy file (default: ./coalmine.yaml when present)')
    .option('--intel <file>', 'extra indicators (repeatable)', collect, [])
    .option('--rules <path>', 'extra Sigma rules (repeatable)', collect, [])
    .option('--host <name>', 'host name for inputs that do not carry one')
    .addHelpText(
      'after',
      '\nExit status: 0 when the finding was found, 1 when no finding has that id, 2 on usage errors, 4 when no\ninput could be read.',
    )
    .action(async (id: string, paths: string[], flags: ExplainFlags) => {
      setCode(await runExplain(id, paths, flags));
    });
}

async function fromFile(file: string): Promise<Finding[] | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return `cannot read ${file}: ${(e as Error).message}`;
  }
  if (text.length > MAX_FINDINGS_BYTES) return `${file} is larger than ${MAX_FINDINGS_BYTES} bytes`;
  const out: Finding[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      const value = JSON.parse(line) as Partial<Finding>;
      if (typeof value.id === 'string' && Array.isArray(value.evidence)) out.push(value as Finding);
      else return `${file}:${i + 1}: not a coalmine finding (no id/evidence)`;
    } catch {
      return `${file}:${i + 1}: not JSON (expected hunt --format ndjson output)`;
    }
  }
  return out;
}

async function runExplain(id: string, paths: string[], flags: ExplainFlags): Promise<number> {
  const err = (text: string) => process.stderr.write(text);
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) {
    err(`coalmine: "${inert(clip(id, 80))}" is not a finding id\n`);
    return EXIT.usage;
  }
  let findings: Finding[];
  if (flags.findings) {
    const read = await fromFile(flags.findings);
    if (typeof read === 'string') {
      err(`coalmine: ${inert(read)}\n`);
      return EXIT.usage;
    }
    findings = read;
  } else {
    if (paths.length === 0) {
      err('coalmine: give the inputs to hunt, or --findings FILE\n');
      return EXIT.usage;
    }
    const result = await huntPaths(paths, flags);
    if (typeof result === 'number') return result;
    findings = result.findings;
  }
  const matches = findings.filter((f) => f.id === id || f.id.startsWith(id));
  const exact = matches.find((f) => f.id === id);
  if (!exact && matches.length !== 1) {
    const known = findings.map((f) => f.id).slice(0, 10);
    err(
      matches.length > 1
        ? `coalmine: ${id} names ${matches.length} findings (${matches.map((f) => f.id).join(', ')}); give more of the id\n`
        : `coalmine: no finding ${id}${known.length ? ` (findings: ${known.join(', ')})` : ' (no findings at all)'}\n`,
    );
    return EXIT.findings;
  }
  process.stdout.write(explainFinding(exact ?? matches[0], { color: process.stdout.isTTY === true, version: VERSION }));
  return EXIT.ok;
}
