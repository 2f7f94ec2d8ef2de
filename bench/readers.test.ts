/**
 * bench/readers.ts on small inputs, each set (bench:cloud, bench:edr): every input made from our fixtures is
 * read by its own reader with no issue (so copies keep valid ids, times and accounts), each reader yields
 * events, the baseline parsed every record the generator wrote, and a line is written for each input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

interface ResultLine {
  line: string;
  source: string;
  records: number;
  parse: { recordsPerSecond: number; records: number };
  read: { recordsPerSecond: number; events: number; issues: number };
}

/** The bench run on ~600 records an input, once; its lines and markdown. */
function runSet(set: string, out: string): { lines: ResultLine[]; md: string } {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'bench', 'readers.ts'),
      '--set',
      set,
      '--records',
      '600',
      '--runs',
      '1',
      '--results',
      out,
    ],
    { cwd: ROOT, encoding: 'utf8', env, timeout: 230_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = (JSON.parse(readFileSync(join(out, `${set}.json`), 'utf8')) as { lines: ResultLine[] }).lines;
  for (const l of lines) {
    assert.equal(l.read.issues, 0, `${l.line}: no bad record in generated input`);
    assert.equal(l.parse.records, l.records, `${l.line}: the baseline saw every record written`);
    assert.ok(l.records >= 600 && l.read.events > 0 && l.read.recordsPerSecond > 0, JSON.stringify(l));
  }
  return { lines, md: readFileSync(join(out, `${set}.md`), 'utf8') };
}

test('bench:edr: a line per EDR input, each read whole with no issue', { timeout: 240_000 }, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'coalmine-bench-edr-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const { lines, md } = runSet('edr', out);
  assert.deepEqual(
    [...new Set(lines.map((l) => l.source))],
    ['defender', 'crowdstrike-fdr', 'sentinelone', 'elastic-endpoint', 'carbon-black'],
  );
  assert.match(md, /^# EDR readers/);
});

test('bench:cloud: a line per cloud input, each read whole with no issue', { timeout: 240_000 }, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'coalmine-bench-cloud-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const { lines, md } = runSet('cloud', out);
  assert.deepEqual(
    lines.map((l) => l.source),
    [
      'cloudtrail',
      'cloudtrail',
      'vpc-flow',
      'route53-resolver',
      'cloudwatch-metrics',
      'guardduty',
      'gcp-audit',
      'gcp-flow',
      'gcp-monitoring',
      'azure-activity',
      'azure-flow',
      'azure-metrics',
    ],
  );
  const [document, perLine] = lines;
  // the same CloudTrail records as one S3 document or one per line give the same events
  assert.equal(document.read.events, perLine.read.events);
  assert.match(md, /\| vpc-flow \(text\) \| text \| [\d,]+ \|/);
});
