/**
 * End to end on Defender for Endpoint advanced hunting exports: the real CLI on the AN0741 story and its
 * benign twin as Defender records them (test/fixtures/defender: portal CSV, API answer, streaming
 * records), against the same story as Sysmon + Security XML (test/fixtures/scenarios), and the Linux story
 * (examples/kinsing-like, auditd) as Defender for Endpoint on Linux rows. Defender has no
 * CPU: typeperf (or metrics CSV) beside it gives the resource leg, and without it the finding names the CPU gap.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const MINER = join(FIXTURES, 'defender', 'an0741-miner');
const BENIGN = join(FIXTURES, 'defender', 'an0741-benign');
const SYSMON_MINER = join(FIXTURES, 'scenarios', 'an0741-miner');
const DEFENDER_FILES = ['DeviceProcessEvents.csv', 'DeviceNetworkEvents.json', 'streaming.json'].map((f) =>
  join(MINER, f),
);
/** Defender's ProcessUniqueId of the renamed miner (winupdsvc.exe, pid 6120). */
const MINER_UNIQUE_ID = '2533274790396004';

function hunt(paths: string[]) {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson', '--no-progress']);
  return { ...r, findings: ndjsonFindings(r.stdout) };
}

test('the miner story as Defender exports with typeperf beside them is one high AN0741 with the Sysmon version’s legs and evidence', () => {
  const r = hunt([MINER]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /4 files \(defender 3, typeperf 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'command', 'network']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.host, 'WS-FIN-07');
  assert.equal(f.facts.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');

  const sysmon = hunt([SYSMON_MINER]);
  assert.equal(sysmon.code, 0, sysmon.stderr);
  assert.equal(sysmon.findings.length, 1);
  const s = sysmon.findings[0];
  assert.deepEqual([f.analytic, f.severity, f.legs, f.facts.pid], [s.analytic, s.severity, s.legs, s.facts.pid]);
  const kinds = (x: typeof f) => [...new Set(x.evidence.map((e) => e.kind))].sort();
  assert.deepEqual(kinds(f), kinds(s));
  const cite = (kind: string, file: string) =>
    assert.ok(
      f.evidence.some((e) => e.kind === kind && e.source.includes(file)),
      `${kind} from ${file}: ${f.evidence.map((e) => `${e.kind} ${e.source}`).join('; ')}`,
    );
  cite('obfuscation', 'DeviceProcessEvents.csv:2');
  cite('pool-contact', 'DeviceNetworkEvents.json');
  cite('persistence', 'streaming.json:5');
  assert.ok(
    f.evidence.some((e) => e.explanation.includes('WinRing0x64.sys') && e.source.endsWith('streaming.json:3')),
    'the WinRing0 DriverLoad beside the miner joins its tree',
  );
});

test('identity: the Defender process and typeperf’s winupdsvc instance are one process', () => {
  const r = hunt([MINER]);
  assert.equal(r.code, 0, r.stderr);
  const f = r.findings[0];
  assert.equal(f.facts.pid, 6120);
  assert.equal(f.entity, `process:WS-FIN-07:${MINER_UNIQUE_ID}`);
  assert.ok(
    f.evidence.some(
      (e) => e.kind === 'sustained-cpu' && e.source.includes('typeperf.csv') && e.explanation.includes('pid 6120'),
    ),
    'the CPU of typeperf’s instance (ID Process 6120) is the Defender process’s, in the same finding',
  );
  assert.ok(f.evidence.some((e) => e.kind === 'miner-process' && e.source.includes('DeviceProcessEvents.csv:5')));
});

test('the same exports without typeperf: medium, command and network, and the CPU gap named', () => {
  const r = hunt(DEFENDER_FILES);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'medium');
  assert.deepEqual(f.legs, ['command', 'network']);
  assert.equal(f.gaps.length, 1);
  assert.match(f.gaps[0], /^partial: no CPU telemetry for WS-FIN-07 \(collect typeperf/);
  assert.equal(f.facts.pid, 6120);
});

test('the benign twin (MSBuild, a Defender scan, 7-Zip, a game, IIS, pool.ntp.org, a backup task) as Defender exports raises nothing', () => {
  const r = hunt([BENIGN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /3 files \(defender 2, typeperf 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.deepEqual(r.findings, []);
});

const LINUX = join(FIXTURES, 'defender', 'linux-miner');
const AUDITD_MINER = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');

test('the Linux story as Defender for Endpoint on Linux rows with metrics CSV is the AN0742 the auditd version is', () => {
  const r = hunt([LINUX]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 files \(defender 1, metrics-csv 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const auditd = hunt([AUDITD_MINER]).findings.filter((x) => x.analytic === 'AN0742');
  assert.equal(auditd.length, 1);
  const [f, a] = [r.findings[0], auditd[0]];
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0742', 'high', ['resource', 'process', 'reach']]);
  assert.deepEqual([f.analytic, f.severity, f.legs], [a.analytic, a.severity, a.legs]);
  assert.deepEqual([f.host, f.facts.pid, f.facts.executable], [a.host, a.facts.pid, a.facts.executable]);
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const k of [
    'dropper',
    'competitor-kill',
    'persistence',
    'miner-process',
    'masquerade',
    'pool-contact',
    'sustained-cpu',
  ])
    assert.ok(kinds.has(k as never), `evidence lacks ${k}: ${[...kinds].join(', ')}`);
  assert.ok(
    f.evidence.some(
      (e) => e.kind === 'sustained-cpu' && e.source.includes('cpu.csv') && e.explanation.includes('pid 4130'),
    ),
    'the metrics row web-01/4130 is the Defender process 4130',
  );
});

test('the Linux story without CPU names the per-process CPU gap', () => {
  const r = hunt([join(LINUX, 'union.json')]);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  assert.deepEqual([r.findings[0].severity, r.findings[0].legs], ['medium', ['process', 'reach']]);
  assert.match(r.findings[0].gaps.join('\n'), /per-process CPU telemetry missing for web-01/);
});

test('the Linux benign twin (a full-core reindex, a parallel build, a transcode, apt, NTP) raises nothing', () => {
  const r = hunt([join(FIXTURES, 'defender', 'linux-benign')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 files \(defender 1, metrics-csv 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.deepEqual(r.findings, []);
});
