/**
 * README's Usage section and each command's `--help` must agree: every option one names exists in the
 * other, and where the README states a default, `--help` states the same one (in the same units).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BIN } from './support/cli.js';

const COMMANDS = [
  'hunt',
  'explain',
  'coverage',
  'report',
  'formats',
  'rules check',
  'intel check',
  'intel stats',
  'watch',
  'simulate',
  'serve',
  'serve token create',
  'worker',
  'verify',
  'inspect',
];
const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

/** `-p`, `--policy`, `--no-progress`: option names in running text (not `ocsf-incident` or `- for stdin`). */
const OPTION = /(?:^|[\s[(,/`|])(--?[a-zA-Z][\w-]*)/g;
const optionsIn = (text: string) => new Set([...text.matchAll(OPTION)].map((m) => m[1]));
/** What a `default X` / `(default: X)` names, whitespace collapsed and quotes dropped. */
const defaultsIn = (text: string) =>
  [...text.replace(/\s+/g, ' ').matchAll(/\bdefault:? ([^);]*)/g)].map((m) => m[1].trim().replace(/^"(.*)"$/, '$1'));

interface Entry {
  options: Set<string>;
  text: string;
}

function commandOf(line: string): string | undefined {
  return COMMANDS.filter((c) => line.startsWith(`coalmine ${c}`)).sort((a, b) => b.length - a.length)[0];
}

/** The README's Usage block: per command, its option entries (an option line plus its indented continuation). */
function readmeUsage(): Map<string, Entry[]> {
  const section = README.slice(README.indexOf('\n## Usage'), README.indexOf('\n## ', README.indexOf('\n## Usage') + 1));
  const block = section.slice(section.indexOf('```\n') + 4, section.indexOf('\n```', section.indexOf('```\n') + 4));
  const usage = new Map<string, Entry[]>();
  let current: Entry[] | undefined;
  for (const line of block.split('\n')) {
    const command = commandOf(line);
    if (command) {
      current = [];
      usage.set(command, current);
      // options named in the command's own description count too (explain's --findings)
      current.push({ options: optionsIn(line.slice(`coalmine ${command}`.length)), text: '' });
    } else if (/^ {2}-/.test(line)) current?.push({ options: optionsIn(line), text: line });
    else if (current && /^ {20,}/.test(line)) {
      const last = current[current.length - 1];
      for (const o of optionsIn(line)) last.options.add(o);
      last.text += ` ${line.trim()}`;
    }
  }
  return usage;
}

/** Every command's `--help`, run once and side by side (each is a whole CLI start). */
const HELP = new Map(
  await Promise.all(
    COMMANDS.map(
      async (c) =>
        [c, parseHelp((await promisify(execFile)(process.execPath, [BIN, ...c.split(' '), '--help'])).stdout)] as const,
    ),
  ),
);

function helpOf(command: string): Map<string, string> {
  const help = HELP.get(command);
  assert.ok(help, command);
  return help;
}

/** One command's options from its `--help` (short and long, without --help), with each one's text. */
function parseHelp(stdout: string): Map<string, string> {
  const lines = stdout.slice(stdout.indexOf('\nOptions:\n') + 10).split('\n');
  const options = new Map<string, string>();
  let names: string[] = [];
  for (const line of lines) {
    const head = /^ {2}((?:-\w, )?--[\w-]+)/.exec(line);
    if (head) {
      names = head[1].split(', ');
      for (const n of names) options.set(n, line.slice(head[0].length));
    } else if (/^ {4,}\S/.test(line)) for (const n of names) options.set(n, `${options.get(n)} ${line.trim()}`);
    else if (line.trim() === '' && names.length > 0) break;
  }
  options.delete('-h');
  options.delete('--help');
  return options;
}

test('README Usage and --help name the same options for every command, and the same defaults', () => {
  const usage = readmeUsage();
  assert.deepEqual([...usage.keys()].sort(), [...COMMANDS].sort(), 'every command has a Usage entry');
  for (const command of COMMANDS) {
    const help = helpOf(command);
    const entries = usage.get(command) ?? [];
    const inReadme = new Set(entries.flatMap((e) => [...e.options]));
    assert.deepEqual(
      [...help.keys()].filter((o) => !inReadme.has(o)),
      [],
      `coalmine ${command}: options in --help missing from README Usage`,
    );
    assert.deepEqual(
      [...inReadme].filter((o) => !help.has(o)),
      [],
      `coalmine ${command}: options in README Usage that --help does not have`,
    );
    for (const e of entries) {
      const long = [...e.options].filter((o) => o.startsWith('--'));
      const stated = defaultsIn(e.text);
      if (long.length !== 1 || stated.length === 0) continue;
      const helpDefaults = defaultsIn(help.get(long[0]) ?? '');
      for (const d of stated)
        assert.ok(
          helpDefaults.includes(d),
          `coalmine ${command} ${long[0]}: README default "${d}", --help ${JSON.stringify(helpDefaults)}`,
        );
    }
  }
});

test('every `coalmine COMMAND … --option` quoted elsewhere in the Usage section exists in that command', () => {
  const start = README.indexOf('\n## Usage');
  const section = README.slice(start, README.indexOf('\n## ', start + 1));
  let quoted = 0;
  for (const m of section.matchAll(/`(coalmine [^`]+)`/g)) {
    const command = commandOf(m[1]);
    if (!command) continue;
    quoted++;
    const help = helpOf(command);
    for (const o of optionsIn(m[1].slice(`coalmine ${command}`.length)))
      assert.ok(help.has(o), `README quotes "coalmine ${command} … ${o}", which --help does not list`);
  }
  assert.ok(quoted >= 5, `found ${quoted} quoted command lines`);
});

test('--help states defaults as users type them: no "[]", no milliseconds for a time in seconds', () => {
  for (const command of COMMANDS)
    for (const [name, text] of helpOf(command)) {
      const defaults = defaultsIn(text);
      assert.ok(!defaults.includes('[]'), `coalmine ${command} ${name}: ${text}`);
      if (/^\s*<(seconds|time)>/.test(text))
        for (const d of defaults)
          assert.ok(!/^\d{4,}$/.test(d), `coalmine ${command} ${name}: default ${d} looks like milliseconds`);
    }
});
