/**
 * bench:containers on small inputs: every generated file is read by its own reader with no issue, the
 * events it yields are the ones the generator meant (audit stages joined, reads unused, Prometheus
 * limits not events), and a line is written for each of the four readers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

test('bench/containers.ts: four reader lines, each input read whole with no issue', { timeout: 180_000 }, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'coalmine-bench-containers-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'containers.ts'), '--records', '3000', '--runs', '1', '--results', out],
    { cwd: ROOT, encoding: 'utf8', env, timeout: 170_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, 'containers.json'), 'utf8')) as {
    lines: Array<{
      format: string;
      records: number;
      parse: { recordsPerSecond: number };
      read: { recordsPerSecond: number; events: number; issues: number };
    }>;
  };
  assert.deepEqual(
    result.lines.map((l) => l.format),
    ['tetragon', 'falco', 'k8s-audit', 'prometheus'],
  );
  for (const l of result.lines) {
    assert.equal(l.read.issues, 0, `${l.format}: no bad record in generated input`);
    assert.ok(l.records >= 3000 && l.parse.recordsPerSecond > 0 && l.read.recordsPerSecond > 0, JSON.stringify(l));
  }
  const by = Object.fromEntries(result.lines.map((l) => [l.format, l]));
  // one event per Tetragon line and Falco alert
  assert.equal(by.tetragon.read.events, by.tetragon.records);
  assert.equal(by.falco.read.events, by.falco.records);
  // audit: reads are unused and a request's two stages are one event, so fewer events than lines
  assert.ok(by['k8s-audit'].read.events > 0 && by['k8s-audit'].read.events < by['k8s-audit'].records / 2);
  // prometheus: CPU samples are events, limit samples attach to them
  assert.ok(by.prometheus.read.events > 0 && by.prometheus.read.events < by.prometheus.records);
  assert.match(readFileSync(join(out, 'containers.md'), 'utf8'), /\| k8s-audit \| [\d,]+ \|/);
});
