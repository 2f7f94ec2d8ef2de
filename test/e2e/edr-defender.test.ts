/**
 * End to end on Defender for Endpoint advanced hunting exports: the real CLI on the AN0741 story and its
 * benign twin as Defender records them (test/fixtures/defender: portal CSV, API answer, streaming
 * records), against the same story as Sysmon + Security XML (test/fixtures/scenarios), and the Linux story
 * (examples/kinsing-like, auditd) as Defender for Endpoint on Linux rows (test/support/miner-stories.ts).
 * Defender has no CPU: typeperf (or metrics CSV) beside it gives the resource leg, and without it the
 * finding names the CPU gap.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';
import {
  assertAuditdVerdict,
  assertCites,
  assertCpuJoined,
  assertLinuxCpuGap,
  assertNothingRaised,
  assertSysmonVerdict,
  assertWindowsCpuGap,
  onlyFinding,
} from '../support/miner-stories.js';

const DEFENDER = join(import.meta.dirname, '..', 'fixtures', 'defender');
const MINER = join(DEFENDER, 'an0741-miner');
const BENIGN = join(DEFENDER, 'an0741-benign');
const LINUX = join(DEFENDER, 'linux-miner');
const DEFENDER_FILES = ['DeviceProcessEvents.csv', 'DeviceNetworkEvents.json', 'streaming.json'].map((f) =>
  join(MINER, f),
);
/** Defender's ProcessUniqueId of the renamed miner (winupdsvc.exe, pid 6120). */
const MINER_UNIQUE_ID = '2533274790396004';

test('the miner story as Defender exports with typeperf beside them is one high AN0741 with the Sysmon version’s legs and evidence', () => {
  const r = huntNdjson([MINER]);
  assert.match(r.stderr, /4 files \(defender 3, typeperf 1\)/);
  const f = onlyFinding(r);
  assertSysmonVerdict(f, true);
  assert.equal(f.facts.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');
  assertCites(f, 'obfuscation', 'DeviceProcessEvents.csv:2');
  assertCites(f, 'pool-contact', 'DeviceNetworkEvents.json');
  assertCites(f, 'persistence', 'streaming.json:5');
  // the WinRing0 DriverLoad beside the miner joins its tree
  assertCites(f, 'miner-tuning', 'streaming.json:3', 'WinRing0x64.sys');
});

test('identity: the Defender process and typeperf’s winupdsvc instance are one process', () => {
  const f = onlyFinding(huntNdjson([MINER]));
  assert.equal(f.facts.pid, 6120);
  assert.equal(f.entity, `process:WS-FIN-07:${MINER_UNIQUE_ID}`);
  // the CPU of typeperf’s instance (ID Process 6120) is the Defender process’s, in the same finding
  assertCpuJoined(f, 6120, 'typeperf.csv');
  assertCites(f, 'miner-process', 'DeviceProcessEvents.csv:5');
});

test('the same exports without typeperf: medium, command and network, and the CPU gap named', () => {
  assertWindowsCpuGap(onlyFinding(huntNdjson(DEFENDER_FILES)));
});

test('the benign twin (MSBuild, a Defender scan, 7-Zip, a game, IIS, pool.ntp.org, a backup task) as Defender exports raises nothing', () => {
  assertNothingRaised(huntNdjson([BENIGN]), '3 files (defender 2, typeperf 1)');
});

test('the Linux story as Defender for Endpoint on Linux rows with metrics CSV is the AN0742 the auditd version is', () => {
  const r = huntNdjson([LINUX]);
  assert.match(r.stderr, /2 files \(defender 1, metrics-csv 1\)/);
  const f = onlyFinding(r);
  assertAuditdVerdict(f);
  assertCpuJoined(f, 4130, 'cpu.csv'); // the metrics row web-01/4130 is the Defender process 4130
});

test('the Linux story without CPU names the per-process CPU gap', () => {
  assertLinuxCpuGap(onlyFinding(huntNdjson([join(LINUX, 'union.json')])));
});

test('the Linux benign twin (a full-core reindex, a parallel build, a transcode, apt, NTP) raises nothing', () => {
  assertNothingRaised(huntNdjson([join(DEFENDER, 'linux-benign')]), '2 files (defender 1, metrics-csv 1)');
});
