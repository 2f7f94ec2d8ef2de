/**
 * SigmaHQ-style rules on Windows records through the real CLI: records no analytic reads (Security 4624,
 * Sysmon 10, Sysmon 7) are counted unused unless a loaded rule could read them, the engine takes the ones
 * a rule reads without a crash or a finding of their own, and a T1496 rule with no coalmine block is
 * evidence on the miner's finding (test/fixtures/sigma-native).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'coalmine.js');
const DIR = join(ROOT, 'test', 'fixtures', 'sigma-native');

function hunt(extra: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'hunt', join(DIR, 'records.jsonl'), '--format', 'ndjson', ...extra], {
    encoding: 'utf8',
  });
  const findings = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Finding);
  return { code: r.status, stderr: r.stderr, findings };
}

test('Windows records no analytic reads are unused without a rule for them, read when a rule could use them', () => {
  const bare = hunt([]);
  assert.equal(bare.code, 0, bare.stderr);
  assert.match(bare.stderr, /1 events \+ 0 state records/);
  assert.match(bare.stderr, /skipped: 3 records of event types no analytic uses/);
  const ruled = hunt(['--rules', join(DIR, 'rules')]);
  assert.equal(ruled.code, 0, ruled.stderr);
  // 4624 (a Security service rule) and Sysmon 10 (process_access) are read; Sysmon 7 has no rule
  assert.match(ruled.stderr, /3 events \+ 0 state records/);
  assert.match(ruled.stderr, /skipped: 1 record of event types no analytic uses/);
  assert.doesNotMatch(ruled.stderr, /issues?:|SOURCE_|ENGINE_/);
  // the context-only records raise no finding of their own: one finding, the miner's
  assert.equal(ruled.findings.length, 1);
  const evidence = JSON.stringify(ruled.findings[0].evidence);
  assert.match(evidence, /rule:7f1c0a2e-0000-4000-8000-000000000001/);
  assert.doesNotMatch(evidence, /7f1c0a2e-0000-4000-8000-00000000000[23]/);
  // they are the finding's context instead (scope of compromise), never its evidence
  const context = (ruled.findings[0] as { context?: { rule_id: string }[] }).context ?? [];
  assert.deepEqual(context.map((c) => c.rule_id).sort(), [
    '7f1c0a2e-0000-4000-8000-000000000002',
    '7f1c0a2e-0000-4000-8000-000000000003',
  ]);
  assert.doesNotMatch(JSON.stringify(bare.findings), /rule:7f1c0a2e/);
});
