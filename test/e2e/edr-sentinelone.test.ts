/**
 * End to end on SentinelOne Deep Visibility / SDL exports: the real CLI on the AN0741 story and its benign
 * twin as SentinelOne records them (test/fixtures/sentinelone), against the same story from Sysmon
 * (test/support/miner-stories.ts), with and without typeperf for the CPU SentinelOne does not record;
 * and the Linux story of examples/kinsing-like (auditd) as SentinelOne's Linux agent records it, with its metrics CSV.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';
import {
  assertAuditdVerdict,
  assertCites,
  assertCpuJoined,
  assertEvidenceKinds,
  assertLinuxCpuGap,
  assertNothingRaised,
  assertSysmonVerdict,
  assertWindowsCpuGap,
  auditdFinding,
  onlyFinding,
  sysmonFinding,
} from '../support/miner-stories.js';

const S1 = join(import.meta.dirname, '..', 'fixtures', 'sentinelone');

test('the miner story as a SentinelOne export with typeperf CPU is the one high AN0741 the Sysmon story is', () => {
  const r = huntNdjson([join(S1, 'an0741-miner')]);
  assert.match(r.stderr, /sentinelone 1, typeperf 1/);
  const f = onlyFinding(r);
  // every kind of evidence the Sysmon story gives; SentinelOne's connection names no host, so its
  // mining port is said too
  assertSysmonVerdict(f);
  const s = sysmonFinding();
  assert.deepEqual([f.facts.executable, f.facts.command_line], [s.facts.executable, s.facts.command_line]);
  assertCites(f, 'obfuscation', 'deep-visibility.json', 'DownloadString'); // the decoded -Enc text is shown
  assertCites(f, 'persistence', 'deep-visibility.json:10'); // the Task Register record
  assertCites(f, 'miner-tuning', 'deep-visibility.json', 'Defender exclusion');
});

test('a SentinelOne process and the typeperf instance of it are one process: the miner CPU is on its finding', () => {
  const f = onlyFinding(huntNdjson([join(S1, 'an0741-miner')]));
  assert.equal(f.entity, 'process:WS-FIN-07:7a1c3f0000e06120', 'keyed by the miner tgt.process.uid');
  assert.equal(f.facts.pid, 6120);
  assertCpuJoined(f, 6120, 'an0741-miner/typeperf.csv');
});

test('the same intrusion without typeperf is medium and names the CPU gap', () => {
  assertWindowsCpuGap(onlyFinding(huntNdjson([join(S1, 'an0741-miner', 'deep-visibility.json')])));
});

test('the benign twin (MSBuild, a Defender scan, 7-Zip and its backup task, a game, IIS, pool.ntp.org) raises nothing', () => {
  assertNothingRaised(huntNdjson([join(S1, 'an0741-benign')]), 'sentinelone 1, typeperf 1');
});

test('the story as a nested JSON array and as a Deep Visibility API answer in the older columns is the same finding', () => {
  const typeperf = join(S1, 'an0741-miner', 'typeperf.csv');
  const flat = onlyFinding(huntNdjson([join(S1, 'an0741-miner')]));
  for (const shape of ['miner-nested-array.json', 'miner-dv-api.json']) {
    const f = onlyFinding(huntNdjson([join(S1, 'shapes', shape), typeperf]));
    assert.deepEqual(
      [f.id, f.severity, f.legs, f.facts.pid],
      [flat.id, flat.severity, flat.legs, flat.facts.pid],
      shape,
    );
  }
});

test('the Linux story as a SentinelOne export with its metrics CSV is the AN0742 the auditd version is', () => {
  const r = huntNdjson([join(S1, 'an0742-miner')]);
  assert.match(r.stderr, /metrics-csv 1, sentinelone 1/);
  const f = onlyFinding(r);
  assertAuditdVerdict(f);
  assertEvidenceKinds(f, [...new Set(auditdFinding().evidence.map((e) => e.kind))]);
  assert.equal(f.facts.command_line, auditdFinding().facts.command_line);
  // the metrics row web-01/4130 is the SentinelOne process: its CPU is on the finding's own entity
  assert.equal(f.entity, 'process:web-01:9a0000000004130a');
  assertCpuJoined(f, 4130, 'cpu.csv');
});

test('the Linux story without its metrics names the CPU gap; its benign twin with them raises nothing', () => {
  assertLinuxCpuGap(onlyFinding(huntNdjson([join(S1, 'an0742-miner', 'deep-visibility.json')])));
  assertNothingRaised(huntNdjson([join(S1, 'an0742-benign')]), 'metrics-csv 1, sentinelone 1');
});
