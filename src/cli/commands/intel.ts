/**
 * `coalmine intel check VALUE…`: what each value matches in the loaded intel, and why (set, indicator,
 * kind, strength, source, version). `coalmine intel stats`: the loaded sets. Both load exactly what
 * `hunt` loads (bundled lists plus `--intel` files), so an analyst can ask "would hunt flag this?".
 */
import type { Command } from 'commander';
import { hostOfUrl } from '../../signals/intel/list.js';
import { loadIntel } from '../../signals/intel/store.js';
import type { Intel, IntelMatch } from '../../signals/intel/types.js';
import { clip, inert } from '../../util/hostile.js';
import { collect, EXIT } from '../common.js';

const MAX_VALUE_CHARS = 1024;

/** Every lookup the value can be asked of, in the order an analyst reads them. */
export function checkValue(intel: Intel, raw: string): IntelMatch[] {
  const value = raw.trim().slice(0, MAX_VALUE_CHARS);
  const port = /^(?:port:)?(\d{1,5})$/i.exec(value);
  const found = [
    port ? intel.port(Number(port[1])) : undefined,
    intel.ip(value),
    intel.domain(hostOfUrl(value)),
    intel.hash(value),
    intel.wallet(value),
    intel.processName(value),
    intel.rivalName(value),
    intel.proxywareFlag(value),
    intel.image(value),
  ];
  const seen = new Set<string>();
  return found.filter((m): m is IntelMatch => {
    if (!m) return false;
    const key = `${m.kind}|${m.set}|${m.indicator}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function intelCommand(program: Command, setCode: (code: number) => void): void {
  const intel = program.command('intel').description('inspect the indicator sets hunt uses');
  intel
    .command('check')
    .description(
      'say what each value (domain, URL, IP, port:N, hash, wallet, program, rival or image name, proxyware flag) matches and why',
    )
    .argument('<values...>', 'values to look up')
    .option('--intel <file>', 'extra indicators, as for hunt (repeatable)', collect, [])
    .option('--json', 'one JSON object per value')
    .action(async (values: string[], flags: { intel: string[]; json?: boolean }) => {
      const { intel: store, issues } = await loadIntel(flags.intel);
      for (const i of issues)
        process.stderr.write(
          `${inert(clip(`${i.file}:${i.line ?? 0}`, 200))}: ${i.code}: ${inert(clip(i.reason, 300))}\n`,
        );
      const sets = new Map(store.sets().map((s) => [s.name, s]));
      const out: string[] = [];
      let unmatched = 0;
      for (const value of values) {
        const matches = checkValue(store, value);
        if (matches.length === 0) unmatched++;
        if (flags.json) {
          out.push(
            JSON.stringify({
              value: clip(value, MAX_VALUE_CHARS),
              matches: matches.map((m) => ({
                ...m,
                source: sets.get(m.set)?.source,
                version: sets.get(m.set)?.version,
                url: sets.get(m.set)?.url,
              })),
            }),
          );
          continue;
        }
        const shown = inert(clip(value, 200));
        if (matches.length === 0) out.push(`${shown}: no match`);
        for (const m of matches) {
          const set = sets.get(m.set);
          const from = [set?.source, set?.version ? `version ${set.version}` : '', set?.url ?? '']
            .filter((x) => x)
            .join(', ');
          out.push(
            `${shown}: ${m.kind} ${inert(m.indicator)} in set ${inert(m.set)}${from ? ` (${inert(clip(from, 400))})` : ''}, ${m.strength} evidence${m.note ? `: ${inert(m.note)}` : ''}`,
          );
        }
      }
      process.stdout.write(`${out.join('\n')}\n`);
      setCode(unmatched > 0 ? EXIT.findings : EXIT.ok);
    });
  intel
    .command('stats')
    .description('list the loaded indicator sets: name, kind, count, version, source and where it is published')
    .option('--intel <file>', 'extra indicators, as for hunt (repeatable)', collect, [])
    .option('--json', 'JSON array')
    .action(async (flags: { intel: string[]; json?: boolean }) => {
      const { intel: store, issues } = await loadIntel(flags.intel);
      for (const i of issues)
        process.stderr.write(
          `${inert(clip(`${i.file}:${i.line ?? 0}`, 200))}: ${i.code}: ${inert(clip(i.reason, 300))}\n`,
        );
      const sets = store.sets();
      if (flags.json) process.stdout.write(`${JSON.stringify(sets)}\n`);
      else {
        const rows = sets.map((s) =>
          [s.name, s.kind, String(s.count), s.version ?? '-', s.url ? `${s.source} <${s.url}>` : s.source].map((c) =>
            inert(clip(c, 400)),
          ),
        );
        const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), 4));
        const line = (r: string[]) =>
          `${r
            .slice(0, 4)
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')}  ${r[4]}`;
        process.stdout.write(
          `${[line(['set', 'kind', 'count', 'version', 'source']), ...rows.map(line)].join('\n')}\n`,
        );
        process.stdout.write(`${sets.length} sets, ${sets.reduce((a, s) => a + s.count, 0)} indicators\n`);
      }
      setCode(issues.length > 0 ? EXIT.findings : EXIT.ok);
    });
}
