/**
 * End to end on Carbon Black exports (issue 18): the real CLI on the AN0741 miner story and its benign
 * twin as the EDR event forwarder writes them, the same story as the Cloud data forwarder writes it,
 * with and without the typeperf CSV that gives the CPU Carbon Black does not export, and the Linux
 * story of examples/kinsing-like from a Linux sensor. The verdicts must be the Sysmon and auditd
 * versions' (test/support/miner-stories.ts): the reader is a mapping, not a detector.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'carbon-black');
const MINER = join(FIXTURES, 'an0741-miner');
const BENIGN = join(FIXTURES, 'an0741-benign');
const CLOUD = join(FIXTURES, 'an0741-miner-cloud');
const LINUX = join(FIXTURES, 'an0742-miner-linux');

/** The process guid a story's line gives the process it starts (EDR `process_guid`, Cloud `childproc_guid`). */
function guidOnLine(file: string, line: number, key: string): string {
  const record = JSON.parse(readFileSync(file, 'utf8').split('\n')[line - 1]) as Record<string, unknown>;
  return String(record[key]);
}

test('the miner story as EDR forwarder events plus typeperf is the Sysmon story’s high AN0741, same legs', () => {
  const r = huntNdjson([MINER]);
  assert.match(r.stderr, /carbon-black 1, typeperf 1/);
  const f = onlyFinding(r);
  assertSysmonVerdict(f, true);
  assert.equal(f.facts.executable, 'c:\\users\\jdoe\\appdata\\roaming\\winsvc\\winupdsvc.exe');
  assertCites(f, 'persistence', 'events.json:11'); // the schtasks /create start is the task
  assertCites(f, 'miner-tuning', 'events.json:9', 'winring0x64.sys'); // the WinRing0 load joins the miner
});

test('identity: the Carbon Black process and the typeperf instance of it are one process', () => {
  const f = onlyFinding(huntNdjson([MINER]));
  const guid = guidOnLine(join(MINER, 'events.json'), 8, 'process_guid');
  assert.equal(f.entity, `process:WS-FIN-07:${guid}`);
  // typeperf's winupdsvc (ID Process 6120) keyed by the Carbon Black guid
  assertCpuJoined(f, 6120, 'an0741-miner/typeperf.csv');
});

test('without typeperf the same intrusion is medium and names the CPU gap', () => {
  assertWindowsCpuGap(onlyFinding(huntNdjson([join(MINER, 'events.json')])));
});

test('the benign twin (MSBuild, a Defender scan, 7-Zip and its task, a game, IIS, NTP) raises nothing', () => {
  assertNothingRaised(huntNdjson([BENIGN]), 'carbon-black 1, typeperf 1');
});

test('the story as Cloud data forwarder records: the same verdict, the device name’s domain dropped', () => {
  const r = huntNdjson([CLOUD]);
  assert.match(r.stderr, /carbon-black 1, typeperf 1/);
  const f = onlyFinding(r);
  assertSysmonVerdict(f);
  // the procstart is the parent's record: the miner is its childproc
  assert.equal(f.entity, `process:WS-FIN-07:${guidOnLine(join(CLOUD, 'endpoint-events.json'), 7, 'childproc_guid')}`);
  assertCpuJoined(f, 6120, 'typeperf.csv');
  assertWindowsCpuGap(onlyFinding(huntNdjson([join(CLOUD, 'endpoint-events.json')])));
});

test('the Linux story (examples/kinsing-like) from a Linux sensor with its metrics CSV is the auditd version’s AN0742', () => {
  const r = huntNdjson([LINUX]);
  assert.match(r.stderr, /carbon-black 1, metrics-csv 1/);
  // the full-core reindex job on the same host is not a finding
  const f = onlyFinding(r);
  assertAuditdVerdict(f);
  assertCpuJoined(f, 4130, 'cpu.csv'); // the metrics row web-01/4130 is the Carbon Black process
});

test('the Linux story without its metrics names the CPU gap', () => {
  assertLinuxCpuGap(onlyFinding(huntNdjson([join(LINUX, 'events.json')])));
});
