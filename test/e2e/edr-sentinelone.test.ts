/**
 * End to end on SentinelOne Deep Visibility / SDL exports: the real CLI on the AN0741 story and its benign
 * twin as SentinelOne records them (test/fixtures/sentinelone), against the same story from Sysmon
 * (test/fixtures/scenarios/an0741-*), with and without typeperf for the CPU SentinelOne does not record;
 * and the Linux story of examples/kinsing-like (auditd) as SentinelOne's Linux agent records it, with its metrics CSV.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const S1 = join(ROOT, 'test', 'fixtures', 'sentinelone');
const PUBLIC = join(ROOT, 'test', 'fixtures', 'public', 'sentinelone');
const SYSMON_MINER = join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner');
const AUDITD_MINER = join(ROOT, 'examples', 'kinsing-like');

function hunt(paths: string[]) {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson']);
  return { code: r.code, stderr: r.stderr, findings: ndjsonFindings(r.stdout) };
}

test('the miner story as a SentinelOne export with typeperf CPU is the one high AN0741 the Sysmon story is', () => {
  const r = hunt([join(S1, 'an0741-miner')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sentinelone 1, typeperf 1/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const f = r.findings[0];
  const sysmon = hunt([SYSMON_MINER]).findings;
  assert.equal(sysmon.length, 1);
  const s = sysmon[0];
  assert.deepEqual(
    [f.analytic, f.severity, f.legs, f.gaps, f.host, f.facts.pid, f.facts.executable, f.facts.command_line],
    [s.analytic, s.severity, s.legs, s.gaps, s.host, s.facts.pid, s.facts.executable, s.facts.command_line],
  );
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'command', 'network']);
  // every kind of evidence the Sysmon story gives; SentinelOne's connection names no host, so its
  // mining port is said too
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const e of s.evidence) assert.ok(kinds.has(e.kind), `evidence lacks ${e.kind}: ${[...kinds].join(', ')}`);
  assert.ok(
    f.evidence.some((e) => e.kind === 'obfuscation' && e.explanation.includes('DownloadString')),
    'the decoded -Enc text is shown',
  );
  assert.ok(
    f.evidence.some((e) => e.kind === 'persistence' && e.source.endsWith('deep-visibility.json:10')),
    'the Task Register record is cited',
  );
  assert.ok(
    f.evidence.some((e) => e.kind === 'miner-tuning' && e.explanation.includes('Defender exclusion')),
    'the Defender exclusion is evidence',
  );
});

test('a SentinelOne process and the typeperf instance of it are one process: the miner CPU is on its finding', () => {
  const f = hunt([join(S1, 'an0741-miner')]).findings[0];
  assert.equal(f.entity, 'process:WS-FIN-07:7a1c3f0000e06120', 'keyed by the miner tgt.process.uid');
  assert.equal(f.facts.pid, 6120);
  const cpu = f.evidence.filter((e) => e.kind === 'sustained-cpu' && e.entity === f.entity);
  assert.equal(cpu.length, 1, JSON.stringify(f.evidence.map((e) => [e.kind, e.entity])));
  assert.match(cpu[0].source, /an0741-miner\/typeperf\.csv:\d+$/);
  assert.match(cpu[0].explanation, /^winupdsvc\.exe \(pid 6120\) held/);
});

test('the same intrusion without typeperf is medium and names the CPU gap', () => {
  const r = hunt([join(S1, 'an0741-miner', 'deep-visibility.json')]);
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

test('the benign twin (MSBuild, a Defender scan, 7-Zip and its backup task, a game, IIS, pool.ntp.org) raises nothing', () => {
  const r = hunt([join(S1, 'an0741-benign')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sentinelone 1, typeperf 1/);
  assert.deepEqual(r.findings, []);
});

test('the story as a nested JSON array and as a Deep Visibility API answer in the older columns is the same finding', () => {
  const typeperf = join(S1, 'an0741-miner', 'typeperf.csv');
  const flat = hunt([join(S1, 'an0741-miner')]).findings;
  for (const shape of ['miner-nested-array.json', 'miner-dv-api.json']) {
    const r = hunt([join(S1, 'shapes', shape), typeperf]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.findings.length, 1, shape);
    const [a, b] = [r.findings[0], flat[0]];
    assert.deepEqual([a.id, a.severity, a.legs, a.facts.pid], [b.id, b.severity, b.legs, b.facts.pid], shape);
  }
});

test('the public samples read with no bad input and raise nothing', () => {
  const r = hunt([
    join(PUBLIC, 'rapid7-dv-api-events.json'),
    join(PUBLIC, 'rapid7-help-task-start.json'),
    join(PUBLIC, 'stix-shifter-dv-ip-connect.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /3 files \(sentinelone 3\), 4 events/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.deepEqual(r.findings, []);
});

test('the Linux story as a SentinelOne export with its metrics CSV is the AN0742 the auditd version is', () => {
  const r = hunt([join(S1, 'an0742-miner')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /metrics-csv 1, sentinelone 1/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings));
  const auditd = hunt([AUDITD_MINER]).findings;
  assert.equal(auditd.length, 1);
  const [f, a] = [r.findings[0], auditd[0]];
  assert.deepEqual(
    [f.analytic, f.severity, f.legs, f.gaps, f.host, f.facts.pid, f.facts.executable, f.facts.command_line],
    [a.analytic, a.severity, a.legs, a.gaps, a.host, a.facts.pid, a.facts.executable, a.facts.command_line],
  );
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0742', 'high', ['resource', 'process', 'reach']]);
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const e of a.evidence) assert.ok(kinds.has(e.kind), `evidence lacks ${e.kind}: ${[...kinds].join(', ')}`);
  // the metrics row web-01/4130 is the SentinelOne process: its CPU is on the finding's own entity
  const cpu = f.evidence.find((e) => e.kind === 'sustained-cpu' && e.explanation.includes('pid 4130'));
  assert.equal(cpu?.entity, 'process:web-01:9a0000000004130a');
  assert.equal(f.entity, cpu?.entity);
  // the full-core reindex job beside it is not a finding
  assert.ok(!r.findings.some((x) => String(x.facts.command_line ?? '').includes('reindex.py')));
});

test('the Linux story without its metrics names the CPU gap; its benign twin with them raises nothing', () => {
  const f = hunt([join(S1, 'an0742-miner', 'deep-visibility.json')]).findings;
  assert.deepEqual(
    f.map((x) => [x.analytic, x.severity, x.legs]),
    [['AN0742', 'medium', ['process', 'reach']]],
  );
  assert.match(f[0].gaps.join('\n'), /CPU telemetry .*web-01/);
  const benign = hunt([join(S1, 'an0742-benign')]);
  assert.equal(benign.code, 0, benign.stderr);
  assert.match(benign.stderr, /metrics-csv 1, sentinelone 1/);
  assert.deepEqual(benign.findings, []);
});
