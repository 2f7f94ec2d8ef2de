/**
 * Sigma correlations, filters and placeholders through the real CLI, on hand-written rules and records
 * (test/fixtures/sigma-correlation): failed logons (event_count, value_count) and a download then a run
 * from C:\Users\Public (temporal_ordered) are context and raise nothing; a T1496 temporal correlation of
 * a public-folder program and a pool-port connection is evidence on the host that completed it; a filter
 * keeps the lab machine out of it; the pool ports are a placeholder, from the flag or coalmine.yaml.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'sigma-correlation');
const RECORDS = join(DIR, 'records.jsonl');
const RULES = join(DIR, 'rules');
const MINING = 'rule:5c0e7a10-0000-4000-8000-000000000020';

function hunt(args: string[]) {
  const r = runCli(['hunt', RECORDS, '--format', 'ndjson', '--no-progress', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const findings = ndjsonFindings(r.stdout);
  return {
    stderr: r.stderr,
    findings,
    /** Per finding: its host and the rules its evidence cites. */
    byHost: findings.map((f) => [
      f.host,
      [...new Set(JSON.stringify(f).match(/rule:5c0e7a10-[0-9a-f-]{27}/g) ?? [])].sort(),
    ]),
  };
}

test('a mining correlation is evidence on the host that completed it; its base rules and the context correlations raise nothing', () => {
  const r = hunt(['--rules', RULES, '--sigma-placeholder', 'pool_ports=3333,14444']);
  assert.doesNotMatch(r.stderr, /RULE_PLACEHOLDER|CORRELATION_|bad input/);
  // lab-01 ran the same program but the filter takes it out of the correlation: only ws-07
  assert.deepEqual(r.byHost, [['ws-07.corp.example', [MINING]]]);
  assert.match(JSON.stringify(r.findings[0]), /2 of 2 rules \(public_exec, pool_port\) within 15m, Computer=ws-07/);
});

test('without the filter the lab machine is found too', () => {
  const r = hunt(
    ['logons.yml', 'download-exec.yml', 'mining.yml']
      .flatMap((f) => ['--rules', join(RULES, f)])
      .concat(['--sigma-placeholder', 'pool_ports=3333']),
  );
  assert.deepEqual(r.byHost.sort(), [
    ['lab-01.corp.example', [MINING]],
    ['ws-07.corp.example', [MINING]],
  ]);
});

test('placeholder values come from coalmine.yaml; without any the rule and its correlation are skipped, each reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-sigma-'));
  const policy = join(dir, 'coalmine.yaml');
  writeFileSync(policy, 'sigma:\n  placeholders:\n    pool_ports: [3333, 5555]\n');
  assert.deepEqual(hunt(['--rules', RULES, '--policy', policy]).byHost, [['ws-07.corp.example', [MINING]]]);
  const unset = hunt(['--rules', RULES]);
  assert.deepEqual(unset.findings, []);
  assert.match(unset.stderr, /mining\.yml:15: RULE_PLACEHOLDER: .*%pool_ports% has no configured value/);
  assert.match(unset.stderr, /mining\.yml:4: CORRELATION_RULE_NOT_LOADED: .*rule pool_port it reads is not loaded/);
});

test('rules check counts correlations and filters, and takes placeholders too', () => {
  const r = runCli(['rules', 'check', RULES, '--sigma-placeholder', 'pool_ports=3333']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /4 rules loaded \(0 raise compute-hijacking evidence, 4 context only; 4 only feed correlations\), 4 correlation rules \(1 raise evidence\), 1 filters, 0 unsupported, 0 errors, 0 warnings/,
  );
  const unset = runCli(['rules', 'check', RULES]);
  assert.match(unset.stdout, /3 correlation rules \(0 raise evidence\), 1 filters, 2 unsupported/);
  assert.match(unset.stdout, /unsupported by reason: CORRELATION_RULE_NOT_LOADED 1, RULE_PLACEHOLDER 1/);
});
