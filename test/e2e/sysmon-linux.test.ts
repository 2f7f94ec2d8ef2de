/**
 * End to end on Sysmon for Linux as syslog writes it (test/fixtures/sysmon-linux): the real CLI finds the web
 * shell's miner (curl by www-data, chmod, xmrig with Stratum options, its pool connection) as AN0742 on a
 * Linux host; with per-process CPU beside it the finding is high; SigmaHQ's Linux process_creation rule,
 * unmodified, matches these records by Sysmon's own field names when ../shared/data/sigmahq is present.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { huntNdjson } from '../support/cli.js';
import { assertCites, onlyFinding } from '../support/miner-stories.js';

const ROOT = join(import.meta.dirname, '..', '..');
const GOOD = join(ROOT, 'test', 'fixtures', 'sysmon-linux', 'good.log');
const BAD = join(ROOT, 'test', 'fixtures', 'sysmon-linux', 'bad.log');
const SIGMAHQ_RULE = join(
  ROOT,
  '..',
  'shared',
  'data',
  'sigmahq',
  'rules',
  'linux',
  'process_creation',
  'proc_creation_lnx_crypto_mining.yml',
);
const tmp = mkdtempSync(join(tmpdir(), 'coalmine-sysmon-linux-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The miner's CPU as a metrics CSV would give it: pid 4203 on web-03 at 97% of a core for 25 minutes. */
function cpuCsv(): string {
  const path = join(tmp, 'cpu.csv');
  const rows = ['timestamp,entity,cpu_pct'];
  for (let m = 0; m < 25; m++)
    rows.push(`${new Date(Date.UTC(2026, 11, 7, 10, 1 + m, 20)).toISOString()},web-03/4203,97.5`);
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

function assertMinerStory(f: Finding): void {
  assert.equal(f.analytic, 'AN0742');
  assert.deepEqual([f.host, f.facts.pid, f.facts.executable], ['web-03', 4203, '/tmp/.x/xmrig']);
  assertCites(f, 'miner-process', 'good.log:13', 'xmrig');
  assertCites(f, 'masquerade', 'good.log:13', '/tmp/');
  assertCites(f, 'pool-contact', 'good.log:14', '203.0.113.77:3333');
}

test('hunt on the syslog file: one AN0742 for the web server’s miner, the missing CPU named', () => {
  const r = huntNdjson([GOOD]);
  assert.match(r.stderr, /1 files \(sysmon-linux 1\), 12 events/);
  const f = onlyFinding(r);
  assertMinerStory(f);
  assert.deepEqual([f.severity, f.legs], ['medium', ['process', 'reach']]);
  assert.match(f.gaps.join('\n'), /per-process CPU telemetry missing for web-03/);
});

test('with the miner’s CPU from a metrics CSV the finding is high, the CPU on the Sysmon process', () => {
  const r = huntNdjson([GOOD, cpuCsv()]);
  assert.match(r.stderr, /2 files \(metrics-csv 1, sysmon-linux 1\)/);
  const f = onlyFinding(r);
  assertMinerStory(f);
  assert.deepEqual([f.severity, f.legs, f.gaps], ['high', ['resource', 'process', 'reach'], []]);
  const cpu = f.evidence.find((e) => e.kind === 'sustained-cpu');
  assert.ok(cpu, JSON.stringify(f.evidence.map((e) => e.kind)));
  assert.ok(cpu.source.includes('cpu.csv'), cpu.source);
  assert.equal(cpu.entity, f.entity);
});

test('the bad file: every bad line named with file:line and reason, no finding, exit 0', () => {
  const r = huntNdjson([BAD]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.findings, []);
  assert.match(r.stderr, /bad input: 9 /);
  assert.match(r.stderr, /bad\.log:5: SYSMON_LINUX_TRUNCATED: the event ends before <\/Event>/);
  assert.match(r.stderr, /bad\.log:6: SYSMON_LINUX_BAD_EVENT: provider "Microsoft-Windows-Sysmon" is not Linux-Sysmon/);
});

test('SigmaHQ’s Linux Crypto Mining Indicators, unmodified, match the Sysmon records by their own names', (t) => {
  if (!existsSync(SIGMAHQ_RULE)) {
    t.skip('../shared/data/sigmahq is not present');
    return;
  }
  const f = onlyFinding(huntNdjson([GOOD], ['--rules', SIGMAHQ_RULE]));
  assertMinerStory(f);
  const byRule = f.evidence.filter((e) => e.by === 'rule:9069ea3c-b213-4c52-be13-86506a227ab1');
  assert.deepEqual(
    byRule.map((e) => e.source.split('/').pop()),
    ['good.log:7', 'good.log:13'],
  );
});
