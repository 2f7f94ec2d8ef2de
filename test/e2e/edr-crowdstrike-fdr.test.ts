/**
 * End to end on CrowdStrike Falcon Data Replicator events: the real CLI on our FDR renderings of the
 * Windows story (test/fixtures/scenarios/an0741-miner, Sysmon + Security + typeperf) and of the Linux
 * one (examples/kinsing-like, auditd + metrics CSV), and on their benign twins. The FDR version must
 * give the finding the Sysmon/auditd version gives: analytic, severity, legs, process.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FDR = join(ROOT, 'test', 'fixtures', 'crowdstrike-fdr');
const SYSMON_MINER = join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner');
const AUDITD_MINER = join(ROOT, 'examples', 'kinsing-like');
const work = mkdtempSync(join(tmpdir(), 'coalmine-fdr-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(paths: string[]): { stderr: string; findings: Finding[] } {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  return { stderr: r.stderr, findings: ndjsonFindings(r.stdout) };
}

test('the Windows miner story as FDR events with typeperf CPU is the one high AN0741 the Sysmon version is', () => {
  const fdr = hunt([join(FDR, 'windows-miner')]);
  assert.match(fdr.stderr, /crowdstrike-fdr 1, typeperf 1/);
  assert.equal(fdr.findings.length, 1, JSON.stringify(fdr.findings));
  const sysmon = hunt([SYSMON_MINER]).findings;
  assert.equal(sysmon.length, 1);
  const [f, s] = [fdr.findings[0], sysmon[0]];
  assert.deepEqual([f.analytic, f.severity, f.legs, f.gaps], [s.analytic, s.severity, s.legs, s.gaps]);
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0741', 'high', ['resource', 'command', 'network']]);
  assert.equal(f.host, 'WS-FIN-07');
  assert.equal(f.facts.executable, s.facts.executable, 'the device path is read as the drive path Sysmon gives');
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const k of [
    'obfuscation',
    'dropper',
    'miner-tuning',
    'competitor-kill',
    'miner-process',
    'pool-contact',
    'persistence',
    'sustained-cpu',
  ])
    assert.ok(kinds.has(k as never), `evidence lacks ${k}: ${[...kinds].join(', ')}`);
  assert.ok(
    f.evidence.some((e) => e.kind === 'persistence' && e.source.endsWith('fdr.json:12')),
    'the ScheduledTaskRegistered line is cited',
  );
  assert.ok(
    f.evidence.some((e) => e.kind === 'pool-contact' && e.source.endsWith('fdr.json:10')),
    'the DnsRequest of the miner (by ContextProcessId) is cited',
  );
});

test('a process of FDR and the typeperf instance of it are one process: the CPU evidence is on the rollup, by its pid', () => {
  const f = hunt([join(FDR, 'windows-miner')]).findings[0];
  assert.equal(f.facts.pid, 6120);
  // the finding's process is the rollup's TargetProcessId, which typeperf's "ID Process" 6120 resolved to
  assert.equal(f.entity, 'process:WS-FIN-07:4389210390871');
  const cpu = f.evidence.filter((e) => e.kind === 'sustained-cpu');
  assert.ok(cpu.length > 0 && cpu.every((e) => e.source.includes('typeperf.csv')), JSON.stringify(cpu));
  assert.ok(f.evidence.some((e) => e.kind === 'miner-process' && e.source.endsWith('fdr.json:8')));
});

test('the Windows story without typeperf is medium and names the CPU gap, as the Sysmon version does', () => {
  const fdr = hunt([join(FDR, 'windows-miner', 'fdr.json')]).findings;
  const sysmon = hunt([join(SYSMON_MINER, 'sysmon.xml'), join(SYSMON_MINER, 'security.xml')]).findings;
  assert.equal(fdr.length, 1);
  const [f, s] = [fdr[0], sysmon[0]];
  assert.deepEqual([f.severity, f.legs], ['medium', ['command', 'network']]);
  assert.deepEqual([f.severity, f.legs, f.gaps], [s.severity, s.legs, s.gaps]);
  assert.match(f.gaps[0], /^partial: no CPU telemetry for WS-FIN-07 \(collect typeperf/);
});

test('the Windows benign twin (MSBuild, a Defender scan, 7-Zip, a game, IIS, pool.ntp.org, a backup task) raises nothing', () => {
  const r = hunt([join(FDR, 'windows-benign')]);
  assert.match(r.stderr, /crowdstrike-fdr 1, typeperf 1/);
  assert.deepEqual(r.findings, []);
});

test('the Linux story as FDR events with metrics CSV is the AN0742 the auditd version is', () => {
  const fdr = hunt([join(FDR, 'linux-miner')]);
  assert.match(fdr.stderr, /crowdstrike-fdr 1, metrics-csv 1/);
  const auditd = hunt([AUDITD_MINER]).findings.filter((x) => x.severity === 'high');
  assert.equal(fdr.findings.length, 1, JSON.stringify(fdr.findings));
  assert.equal(auditd.length, 1);
  const [f, a] = [fdr.findings[0], auditd[0]];
  assert.deepEqual([f.analytic, f.severity, f.legs], [a.analytic, a.severity, a.legs]);
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0742', 'high', ['resource', 'process', 'reach']]);
  assert.deepEqual([f.host, f.facts.pid, f.facts.executable], [a.host, a.facts.pid, a.facts.executable]);
  const kinds = new Set(f.evidence.map((e) => e.kind));
  for (const k of ['dropper', 'competitor-kill', 'miner-process', 'masquerade', 'pool-contact', 'sustained-cpu'])
    assert.ok(kinds.has(k as never), `evidence lacks ${k}: ${[...kinds].join(', ')}`);
});

test('the Linux story without CPU names the per-process CPU gap', () => {
  const f = hunt([join(FDR, 'linux-miner', 'fdr.json')]).findings;
  assert.equal(f.length, 1);
  assert.deepEqual([f[0].severity, f[0].legs], ['medium', ['process', 'reach']]);
  assert.match(f[0].gaps.join('\n'), /per-process CPU telemetry missing for web-01/);
});

test('the Linux benign twin (a full-core reindex, a parallel build, a transcode, apt, NTP) raises nothing', () => {
  const r = hunt([join(FDR, 'linux-benign')]);
  assert.match(r.stderr, /crowdstrike-fdr 1, metrics-csv 1/);
  assert.deepEqual(r.findings, []);
});

test('a gzipped FDR object (as the S3 feed delivers it) reads as the plain one', () => {
  const dir = join(work, 'gz');
  mkdirSync(dir);
  writeFileSync(join(dir, 'part-00000.gz'), gzipSync(readFileSync(join(FDR, 'windows-miner', 'fdr.json'))));
  copyFileSync(join(FDR, 'windows-miner', 'typeperf.csv'), join(dir, 'typeperf.csv'));
  const gz = hunt([dir]);
  assert.match(gz.stderr, /crowdstrike-fdr 1, typeperf 1/);
  const plain = hunt([join(FDR, 'windows-miner')]).findings;
  assert.deepEqual(
    gz.findings.map((f) => [f.analytic, f.severity, f.legs, f.facts.pid]),
    plain.map((f) => [f.analytic, f.severity, f.legs, f.facts.pid]),
  );
});
