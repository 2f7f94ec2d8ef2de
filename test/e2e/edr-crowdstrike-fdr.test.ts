/**
 * End to end on CrowdStrike Falcon Data Replicator events: the real CLI on our FDR renderings of the
 * Windows story (test/fixtures/scenarios/an0741-miner, Sysmon + Security + typeperf) and of the Linux
 * one (examples/kinsing-like, auditd + metrics CSV), and on their benign twins. The FDR version must
 * give the finding the Sysmon/auditd version gives (test/support/miner-stories.ts): analytic, severity,
 * legs, process.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { huntNdjson } from '../support/cli.js';
import {
  AN0742_EVIDENCE,
  assertAuditdVerdict,
  assertCites,
  assertCpuJoined,
  assertLinuxCpuGap,
  assertNothingRaised,
  assertSysmonVerdict,
  assertWindowsCpuGap,
  onlyFinding,
  SYSMON_MINER,
  sysmonFinding,
} from '../support/miner-stories.js';

const FDR = join(import.meta.dirname, '..', 'fixtures', 'crowdstrike-fdr');
const work = mkdtempSync(join(tmpdir(), 'coalmine-fdr-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the Windows miner story as FDR events with typeperf CPU is the one high AN0741 the Sysmon version is', () => {
  const r = huntNdjson([join(FDR, 'windows-miner')]);
  assert.match(r.stderr, /crowdstrike-fdr 1, typeperf 1/);
  const f = onlyFinding(r);
  assertSysmonVerdict(f);
  // the device path is read as the drive path Sysmon gives
  assert.equal(f.facts.executable, sysmonFinding().facts.executable);
  assertCites(f, 'persistence', 'fdr.json:12'); // the ScheduledTaskRegistered line
  assertCites(f, 'pool-contact', 'fdr.json:10'); // the DnsRequest of the miner (by ContextProcessId)
});

test('a process of FDR and the typeperf instance of it are one process: the CPU evidence is on the rollup, by its pid', () => {
  const f = onlyFinding(huntNdjson([join(FDR, 'windows-miner')]));
  // the finding's process is the rollup's TargetProcessId, which typeperf's "ID Process" 6120 resolved to
  assert.equal(f.entity, 'process:WS-FIN-07:4389210390871');
  assertCpuJoined(f, 6120, 'typeperf.csv');
  assertCites(f, 'miner-process', 'fdr.json:8');
});

test('the Windows story without typeperf is medium and names the CPU gap, as the Sysmon version does', () => {
  const f = onlyFinding(huntNdjson([join(FDR, 'windows-miner', 'fdr.json')]));
  assertWindowsCpuGap(f);
  const s = onlyFinding(huntNdjson([join(SYSMON_MINER, 'sysmon.xml'), join(SYSMON_MINER, 'security.xml')]));
  assert.deepEqual([f.severity, f.legs], [s.severity, s.legs]);
  // the same gap, which also says the export will not fill it
  assert.equal(f.gaps[0], `${s.gaps[0]}; CrowdStrike Falcon Data Replicator exports carry no CPU`);
});

test('the Windows benign twin (MSBuild, a Defender scan, 7-Zip, a game, IIS, pool.ntp.org, a backup task) raises nothing', () => {
  assertNothingRaised(huntNdjson([join(FDR, 'windows-benign')]), 'crowdstrike-fdr 1, typeperf 1');
});

test('the Linux story as FDR events with metrics CSV is the AN0742 the auditd version is', () => {
  const r = huntNdjson([join(FDR, 'linux-miner')]);
  assert.match(r.stderr, /crowdstrike-fdr 1, metrics-csv 1/);
  // FDR records no file writes: the crontab the dropper wrote is no persistence evidence here
  assertAuditdVerdict(
    onlyFinding(r),
    AN0742_EVIDENCE.filter((k) => k !== 'persistence'),
  );
});

test('the Linux story without CPU names the per-process CPU gap', () => {
  assertLinuxCpuGap(onlyFinding(huntNdjson([join(FDR, 'linux-miner', 'fdr.json')])));
});

test('the Linux benign twin (a full-core reindex, a parallel build, a transcode, apt, NTP) raises nothing', () => {
  assertNothingRaised(huntNdjson([join(FDR, 'linux-benign')]), 'crowdstrike-fdr 1, metrics-csv 1');
});

test('a gzipped FDR object (as the S3 feed delivers it) reads as the plain one', () => {
  const dir = join(work, 'gz');
  mkdirSync(dir);
  writeFileSync(join(dir, 'part-00000.gz'), gzipSync(readFileSync(join(FDR, 'windows-miner', 'fdr.json'))));
  copyFileSync(join(FDR, 'windows-miner', 'typeperf.csv'), join(dir, 'typeperf.csv'));
  const gz = huntNdjson([dir]);
  assert.match(gz.stderr, /crowdstrike-fdr 1, typeperf 1/);
  const plain = huntNdjson([join(FDR, 'windows-miner')]).findings;
  assert.deepEqual(
    gz.findings.map((f) => [f.analytic, f.severity, f.legs, f.facts.pid]),
    plain.map((f) => [f.analytic, f.severity, f.legs, f.facts.pid]),
  );
});
