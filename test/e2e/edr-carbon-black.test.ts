/**
 * End to end on Carbon Black exports (issue 18): the real CLI on the AN0741 miner story and its benign
 * twin as the EDR event forwarder writes them, the same story as the Cloud data forwarder writes it,
 * with and without the typeperf CSV that gives the CPU Carbon Black does not export, and the Linux
 * story of examples/kinsing-like from a Linux sensor. The verdicts must be the Sysmon and auditd
 * versions' (test/e2e/windows.test.ts, hunt.test.ts): the reader is a mapping, not a detector.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'carbon-black');
const MINER = join(FIXTURES, 'an0741-miner');
const BENIGN = join(FIXTURES, 'an0741-benign');
const CLOUD = join(FIXTURES, 'an0741-miner-cloud');
const LINUX = join(FIXTURES, 'an0742-miner-linux');
const SYSMON_MINER = join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner');
const AUDITD_MINER = join(ROOT, 'examples', 'kinsing-like');

function hunt(paths: string[]) {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson']);
  return { code: r.code, stderr: r.stderr, findings: ndjsonFindings(r.stdout) };
}

/** The process guid a story's line gives the process it starts (EDR `process_guid`, Cloud `childproc_guid`). */
function guidOnLine(file: string, line: number, key: string): string {
  const record = JSON.parse(readFileSync(file, 'utf8').split('\n')[line - 1]) as Record<string, unknown>;
  return String(record[key]);
}

const KINDS = [
  'obfuscation',
  'dropper',
  'miner-tuning',
  'competitor-kill',
  'miner-process',
  'pool-contact',
  'persistence',
  'sustained-cpu',
];

// one run of the Sysmon story, for comparison
const sysmon = hunt([SYSMON_MINER]).findings;

test('the miner story as EDR forwarder events plus typeperf is the Sysmon story’s high AN0741, same legs', () => {
  const r = hunt([MINER]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /carbon-black 1, typeperf 1/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const f = r.findings[0];
  assert.equal(sysmon.length, 1);
  assert.deepEqual(
    [f.analytic, f.severity, f.legs, f.gaps, f.host, f.facts.pid],
    [sysmon[0].analytic, sysmon[0].severity, sysmon[0].legs, sysmon[0].gaps, sysmon[0].host, sysmon[0].facts.pid],
  );
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0741', 'high', ['resource', 'command', 'network']]);
  assert.equal(f.facts.executable, 'c:\\users\\jdoe\\appdata\\roaming\\winsvc\\winupdsvc.exe');
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const k of KINDS) assert.ok(kinds.has(k as never), `evidence lacks ${k}: ${[...kinds].join(', ')}`);
  assert.deepEqual(
    [...kinds].sort(),
    [...new Set(sysmon[0].evidence.map((e) => e.kind))].sort(),
    'the same kinds of evidence as from Sysmon',
  );
  assert.ok(
    f.evidence.some((e) => e.kind === 'persistence' && e.source.endsWith('events.json:11')),
    'the schtasks /create start is the task',
  );
  assert.ok(
    f.evidence.some((e) => e.explanation.includes('winring0x64.sys') && e.source.endsWith('events.json:9')),
    'the WinRing0 load joins the miner',
  );
});

test('identity: the Carbon Black process and the typeperf instance of it are one process', () => {
  const f = hunt([MINER]).findings[0];
  const guid = guidOnLine(join(MINER, 'events.json'), 8, 'process_guid');
  assert.equal(f.entity, `process:WS-FIN-07:${guid}`);
  assert.equal(f.facts.pid, 6120);
  const cpu = f.evidence.filter((e) => e.kind === 'sustained-cpu' && e.explanation.includes('pid 6120'));
  assert.equal(cpu.length, 1, 'the miner’s own CPU run, from typeperf');
  assert.match(cpu[0].source, /an0741-miner\/typeperf\.csv:\d+$/);
  assert.equal(cpu[0].entity, f.entity, 'typeperf’s winupdsvc (ID Process 6120) keyed by the Carbon Black guid');
});

test('without typeperf the same intrusion is medium and names the CPU gap', () => {
  const r = hunt([join(MINER, 'events.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'medium');
  assert.deepEqual(f.legs, ['command', 'network']);
  assert.equal(f.gaps.length, 1);
  assert.match(f.gaps[0], /^partial: no CPU telemetry for WS-FIN-07 \(collect typeperf/);
  assert.ok(f.confidence < 0.85);
});

test('the benign twin (MSBuild, a Defender scan, 7-Zip and its task, a game, IIS, NTP) raises nothing', () => {
  const r = hunt([BENIGN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /carbon-black 1, typeperf 1/);
  assert.deepEqual(r.findings, []);
});

test('the story as Cloud data forwarder records: the same verdict, the device name’s domain dropped', () => {
  const r = hunt([CLOUD]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /carbon-black 1, typeperf 1/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const f = r.findings[0];
  assert.deepEqual(
    [f.analytic, f.severity, f.legs, f.gaps, f.host, f.facts.pid],
    ['AN0741', 'high', ['resource', 'command', 'network'], [], 'WS-FIN-07', 6120],
  );
  // the procstart is the parent's record: the miner is its childproc
  assert.equal(f.entity, `process:WS-FIN-07:${guidOnLine(join(CLOUD, 'endpoint-events.json'), 7, 'childproc_guid')}`);
  assert.ok(f.evidence.some((e) => e.kind === 'sustained-cpu' && e.entity === f.entity));
  const without = hunt([join(CLOUD, 'endpoint-events.json')]).findings;
  assert.deepEqual(
    without.map((x) => [x.severity, x.legs]),
    [['medium', ['command', 'network']]],
  );
});

test('the Linux story (examples/kinsing-like) from a Linux sensor with its metrics CSV is the auditd version’s AN0742', () => {
  const r = hunt([LINUX]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /carbon-black 1, metrics-csv 1/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const auditd = hunt([AUDITD_MINER]).findings.filter((x) => x.severity === 'high');
  assert.equal(auditd.length, 1);
  const [f, a] = [r.findings[0], auditd[0]];
  assert.deepEqual(
    [f.analytic, f.severity, f.legs, f.gaps, f.host, f.facts.pid, f.facts.executable],
    [a.analytic, a.severity, a.legs, a.gaps, a.host, a.facts.pid, a.facts.executable],
  );
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0742', 'high', ['resource', 'process', 'reach']]);
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
  // the full-core reindex job on the same host is not a finding
  assert.ok(!r.findings.some((x) => String(x.facts.command_line ?? '').includes('reindex.py')));
  const cpu = f.evidence.find((e) => e.kind === 'sustained-cpu' && e.explanation.includes('pid 4130'));
  assert.equal(cpu?.entity, f.entity, 'the metrics row web-01/4130 is the Carbon Black process');
});

test('the Linux story without its metrics names the CPU gap', () => {
  const f = hunt([join(LINUX, 'events.json')]).findings;
  assert.deepEqual(
    f.map((x) => [x.analytic, x.severity, x.legs]),
    [['AN0742', 'medium', ['process', 'reach']]],
  );
  assert.match(f[0].gaps.join('\n'), /CPU telemetry .*web-01/);
});
