/**
 * What running the built JavaScript saves on every command: `node --import tsx bench/startup.ts [--runs 5]`.
 * Times the real CLI, `coalmine --version` and `coalmine hunt examples/kinsing-like`, as bin/coalmine.js
 * runs it from dist/ (the build) and from src/ through tsx (COALMINE_FROM_SOURCE=1), alternating the two
 * so drift in machine load hits both alike; wall time of the whole process and, where /usr/bin/time
 * exists, its peak RSS. Needs a current build (`npm run build`). Results: bench/results/startup.json, .md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distState } from '../bin/dist-state.js';
import { describeMachine, machine as thisMachine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const BIN = join(HERE, '..', 'bin', 'coalmine.js');
const EXAMPLE = join(HERE, '..', 'examples', 'kinsing-like');
const TIME = '/usr/bin/time';

type Way = 'built' | 'tsx';
const COMMANDS: Record<string, string[]> = {
  'coalmine --version': ['--version'],
  'coalmine hunt examples/kinsing-like': ['hunt', EXAMPLE],
};

function once(way: Way, args: string[]): { ms: number; rssMiB?: number } {
  const env = { ...process.env };
  if (way === 'tsx') env.COALMINE_FROM_SOURCE = '1';
  else delete env.COALMINE_FROM_SOURCE;
  const timed = existsSync(TIME);
  const command = timed ? [TIME, '-f', 'maxrss %M', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const started = performance.now();
  const r = spawnSync(command[0], command.slice(1), { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${way} ${args.join(' ')} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
  if (way === 'built' && /through tsx/.test(r.stderr)) throw new Error('the built run ran src/: build first');
  const rss = /maxrss (\d+)/.exec(r.stderr)?.[1];
  return rss === undefined ? { ms } : { ms, rssMiB: Number(rss) / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (n: number) => Math.round(n);

function main(): void {
  const args = process.argv.slice(2);
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: a positive integer');
  const dist = distState();
  if (!dist.current) {
    console.error(`bench: ${dist.reason}: run npm run build first`);
    process.exit(2);
  }
  const rows = [];
  for (const [name, cliArgs] of Object.entries(COMMANDS)) {
    const samples: Record<Way, Array<{ ms: number; rssMiB?: number }>> = { built: [], tsx: [] };
    once('tsx', cliArgs); // tsx compiles into its cache on a first run: every measured run is a warm one
    for (let r = 0; r < runs; r++) for (const way of ['tsx', 'built'] as const) samples[way].push(once(way, cliArgs));
    for (const way of ['tsx', 'built'] as const) {
      const ms = samples[way].map((s) => s.ms);
      const rss = samples[way].flatMap((s) => (s.rssMiB === undefined ? [] : [s.rssMiB]));
      rows.push({
        command: name,
        way,
        minMs: round(Math.min(...ms)),
        medianMs: round(median(ms)),
        medianRssMiB: rss.length > 0 ? round(median(rss)) : null,
        ms: ms.map(round),
      });
    }
  }
  const machine = thisMachine();
  const report = { date: new Date().toISOString(), runs, machine, rows };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'startup.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    '# CLI start-up: the build vs src/ through tsx',
    '',
    `\`node --import tsx bench/startup.ts\` on ${report.date.slice(0, 10)}: each command ${runs} times each way, ` +
      'alternating, after one unmeasured tsx run (a warm tsx cache); wall time of the whole process.',
    '',
    '| command | runs from | min ms | median ms | median peak RSS MiB |',
    '|---|---|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| \`${r.command}\` | ${r.way === 'built' ? 'built (dist/)' : 'src/ through tsx'} | ${r.minMs} | ${r.medianMs} | ${r.medianRssMiB ?? 'n/a'} |`,
    ),
    '',
    describeMachine(machine),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'startup.md'), md);
  process.stdout.write(md);
}

main();
