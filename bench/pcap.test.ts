/** bench:pcap on a machine without tshark says so, skips the comparison and still measures our reader. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

test('bench/pcap.ts without tshark on PATH: reported, comparison skipped, our reader measured', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'coalmine-bench-pcap-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'pcap.ts'), '--mb', '1', '--results', out],
    // an empty PATH: no tshark (nor anything else) to find
    { cwd: ROOT, encoding: 'utf8', env: { ...env, PATH: out }, timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /tshark is not installed \(not on PATH\): the comparison is skipped; our reader is still measured/,
  );
  const result = JSON.parse(readFileSync(join(out, 'pcap.json'), 'utf8'));
  assert.equal(result.tshark, null);
  assert.equal(result.ratioOursToTshark, null);
  assert.ok(result.ours.mbPerSecond > 0 && result.ours.events > 0, JSON.stringify(result.ours));
  assert.equal(result.agree, true, 'our counts match the generated ones');
  assert.match(readFileSync(join(out, 'pcap.md'), 'utf8'), /tshark is not installed: no comparison in this run/);
});
