/**
 * End to end on CPU samples written newest first (a SIEM's or a metrics store's export): the real CLI on a
 * copy of a story whose CPU file has its rows reversed gives the same finding, severity and cost as the
 * file in order, and the run says nothing was late. The typeperf file of the Defender AN0741 story and the
 * metrics CSV of examples/kinsing-like (AN0742) are reversed here, from the files as they are. Samples no
 * reader sorts (coalmine's own NDJSON, newest first) are counted and named as left out of sustained CPU.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { huntNdjson } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WINDOWS = join(ROOT, 'test', 'fixtures', 'defender', 'an0741-miner');
const LINUX = join(ROOT, 'examples', 'kinsing-like');
const work = mkdtempSync(join(tmpdir(), 'coalmine-sample-order-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A copy of `story` under `name` with the data rows of its CPU file `cpu` newest first (the header stays on top). */
function newestFirst(story: string, cpu: string, name: string): string {
  const dir = join(work, name);
  cpSync(story, dir, { recursive: true });
  const [header, ...rows] = readFileSync(join(story, cpu), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l !== '');
  writeFileSync(join(dir, cpu), `${[header, ...rows.reverse()].join('\r\n')}\r\n`);
  return dir;
}

/** What the verdict is: the finding, its severity and legs, and the CPU it measured and priced. */
function verdict(f: Finding) {
  return {
    id: f.id,
    analytic: f.analytic,
    severity: f.severity,
    confidence: f.confidence,
    legs: f.legs,
    gaps: f.gaps,
    coreHours: f.triage?.cost?.core_hours,
    cost: f.triage?.cost?.amount,
    // samples of one time keep their file's order, so reversed rows give a process's and its host's runs swapped
    cpu: f.evidence
      .filter((e) => e.kind === 'sustained-cpu')
      .map((e) => `${e.strength} ${e.entity} ${e.explanation}`)
      .sort(),
  };
}

for (const [story, cpu, name] of [
  [WINDOWS, 'typeperf.csv', 'windows (typeperf)'],
  [LINUX, join('var', 'log', 'metrics', 'cpu.csv'), 'linux (metrics CSV)'],
] as const)
  test(`${name}: CPU samples newest first give the same finding, severity and cost as in order, and nothing late`, () => {
    const inOrder = huntNdjson([story]);
    const reversed = huntNdjson([newestFirst(story, cpu, name.split(' ')[0])]);
    const miner = inOrder.findings.find((f) => f.severity === 'high');
    assert.ok(miner, inOrder.stderr);
    assert.ok((miner.triage?.cost?.core_hours ?? 0) > 1, 'the story has hours of hijacked CPU to lose');
    assert.deepEqual(reversed.findings.map(verdict), inOrder.findings.map(verdict));
    assert.deepEqual(
      reversed.findings.map((f) => f.usage),
      inOrder.findings.map((f) => f.usage),
      'the same CPU series and core-hours',
    );
    assert.equal(
      /hijacked compute: .*/.exec(reversed.stderr)?.[0],
      /hijacked compute: .*/.exec(inOrder.stderr)?.[0],
      reversed.stderr,
    );
    assert.doesNotMatch(reversed.stderr, /late|out of order|OUT_OF_ORDER/i, reversed.stderr);
  });

test('samples a reader cannot put in order (one process newest first inside an NDJSON that runs forward) are named as left out of sustained CPU, not as handled', () => {
  // the reader sorts a file whose first events run backward (test/e2e/ndjson-newest-first.test.ts); this
  // one runs forward (another process sampled every 10 s), so it is read as it comes and the miner's
  // samples, written newest first after them, arrive each older than the one before
  const sample = (at: Date, pid: number, cpu: number) =>
    JSON.stringify({
      '@timestamp': at.toISOString(),
      event: { kind: 'metric', category: ['process'], action: 'metric', dataset: 'test.sample' },
      host: { name: 'web-01' },
      process: { pid },
      metrics: { cpu_pct: cpu },
      original: {},
    });
  const lines: string[] = [];
  for (let s = 0; s <= 40 * 60; s += 10) lines.push(sample(new Date(Date.UTC(2025, 2, 14, 2, 0, s)), 1, 1));
  const forward = lines.length;
  for (let m = 40; m >= 0; m--) lines.push(sample(new Date(Date.UTC(2025, 2, 14, 2, m)), 4130, 390));
  const file = join(work, 'newest-first.ndjson');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = huntNdjson([file]);
  assert.deepEqual(r.findings, []);
  // the miner's first line is its newest sample: each after it is older, so none counts
  assert.match(
    r.stderr,
    /CPU\/GPU samples too late to count for a sustained run or its cost \(older than one already counted for their process, host, container or instance\): 40\n/,
  );
  assert.match(r.stderr, /ENGINE_LATE_SAMPLE 40/);
  assert.match(
    r.stderr,
    new RegExp(
      `newest-first\\.ndjson:${forward + 2}: ENGINE_LATE_SAMPLE: CPU sample at 2025-03-14T02:39:00.000Z came after a newer sample of its process: not counted for sustained CPU or its cost`,
    ),
  );
});
