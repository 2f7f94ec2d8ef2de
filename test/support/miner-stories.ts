/**
 * The two miner stories each endpoint format is tested on (issue 18), and the verdicts its reading of them
 * must give: the Windows AN0741 story as Sysmon + Security XML + typeperf (test/fixtures/scenarios/an0741-miner)
 * and the Linux AN0742 story as auditd + metrics CSV (examples/kinsing-like). An EDR export is a mapping, not
 * a detector: its finding must be theirs, its CPU gap theirs without the CPU, its benign twin nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Finding } from '../../src/model/finding.js';
import { huntNdjson } from './cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const SYSMON_MINER = join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner');
export const AUDITD_MINER = join(ROOT, 'examples', 'kinsing-like');

/** The kinds of evidence the Windows story's finding holds, whichever sensor recorded it. */
export const AN0741_EVIDENCE = [
  'obfuscation',
  'dropper',
  'miner-tuning',
  'competitor-kill',
  'miner-process',
  'pool-contact',
  'persistence',
  'sustained-cpu',
] as const;
/** The same for the Linux story. */
export const AN0742_EVIDENCE = [
  'dropper',
  'competitor-kill',
  'persistence',
  'miner-process',
  'masquerade',
  'pool-contact',
  'sustained-cpu',
] as const;

/** The one finding of a hunt that must give exactly one: exit 0, no bad input. */
export function onlyFinding(r: ReturnType<typeof huntNdjson>): Finding {
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings.map((f) => f.title)));
  return r.findings[0];
}

/** A hunt that must raise nothing: exit 0, `files` said (`carbon-black 1, typeperf 1`), no bad input. */
export function assertNothingRaised(r: ReturnType<typeof huntNdjson>, files: string): void {
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(files), r.stderr);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.deepEqual(r.findings, []);
}

let sysmon: Finding | undefined;
/** The Sysmon version's finding (one run per test file). */
export function sysmonFinding(): Finding {
  sysmon ??= onlyFinding(huntNdjson([SYSMON_MINER]));
  return sysmon;
}

let auditd: Finding | undefined;
/** The auditd version's high finding (one run per test file; the demo's other findings are low). */
export function auditdFinding(): Finding {
  if (auditd === undefined) {
    const r = huntNdjson([AUDITD_MINER]);
    assert.equal(r.code, 0, r.stderr);
    const high = r.findings.filter((f) => f.severity === 'high');
    assert.equal(high.length, 1, r.stdout);
    auditd = high[0];
  }
  return auditd;
}

const kindsOf = (f: Finding) => new Set<string>(f.evidence.map((e) => e.kind));

/** Every kind of `kinds` is among the finding's evidence. */
export function assertEvidenceKinds(f: Finding, kinds: readonly string[]): void {
  const have = kindsOf(f);
  for (const k of kinds) assert.ok(have.has(k), `evidence lacks ${k}: ${[...have].join(', ')}`);
}

/**
 * The Windows story with its CPU: the Sysmon version's high AN0741, same legs, no gap, same host and process,
 * and every kind of evidence it holds (`sameKinds`: no other kind either).
 */
export function assertSysmonVerdict(f: Finding, sameKinds = false): void {
  const s = sysmonFinding();
  const verdict = (x: Finding) => [x.analytic, x.severity, x.legs, x.gaps, x.host, x.facts.pid];
  assert.deepEqual(verdict(f), verdict(s));
  assert.deepEqual(verdict(f), ['AN0741', 'high', ['resource', 'command', 'network'], [], 'WS-FIN-07', 6120]);
  assertEvidenceKinds(f, AN0741_EVIDENCE);
  assertEvidenceKinds(f, [...kindsOf(s)]);
  if (sameKinds) assert.deepEqual([...kindsOf(f)].sort(), [...kindsOf(s)].sort(), 'the kinds of evidence Sysmon gives');
}

/** The Linux story with its CPU: the auditd version's high AN0742, same legs, no gap, same host and process. */
export function assertAuditdVerdict(f: Finding, kinds: readonly string[] = AN0742_EVIDENCE): void {
  const a = auditdFinding();
  const verdict = (x: Finding) => [x.analytic, x.severity, x.legs, x.gaps, x.host, x.facts.pid, x.facts.executable];
  assert.deepEqual(verdict(f), verdict(a));
  assert.deepEqual(verdict(f), [
    'AN0742',
    'high',
    ['resource', 'process', 'reach'],
    [],
    'web-01',
    4130,
    '/tmp/kdevtmpfsi',
  ]);
  assertEvidenceKinds(f, kinds);
}

/** The Windows story without typeperf: medium on command and network, the one gap the missing CPU of WS-FIN-07. */
export function assertWindowsCpuGap(f: Finding): void {
  assert.deepEqual([f.analytic, f.severity, f.legs, f.facts.pid], ['AN0741', 'medium', ['command', 'network'], 6120]);
  assert.equal(f.gaps.length, 1, f.gaps.join('\n'));
  assert.match(f.gaps[0], /^partial: no CPU telemetry for WS-FIN-07 \(collect typeperf/);
  assert.ok(f.confidence < 0.85, `confidence ${f.confidence}`);
}

/** The Linux story without its metrics: medium on process and reach, the per-process CPU of web-01 named missing. */
export function assertLinuxCpuGap(f: Finding): void {
  assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0742', 'medium', ['process', 'reach']]);
  assert.match(f.gaps.join('\n'), /per-process CPU telemetry missing for web-01/);
}

/**
 * The finding cites a `kind` of evidence from `where` (a file, or `file:line`, the source ends with), its
 * explanation holding `text` when given.
 */
export function assertCites(f: Finding, kind: string, where: string, text?: string): void {
  const from = (source: string) => source.endsWith(where) || source.slice(0, source.lastIndexOf(':')).endsWith(where);
  assert.ok(
    f.evidence.some((e) => e.kind === kind && from(e.source) && (text === undefined || e.explanation.includes(text))),
    `${kind} from ${where}${text === undefined ? '' : ` saying ${text}`}: ${f.evidence.map((e) => `${e.kind} ${e.source}`).join('; ')}`,
  );
}

/**
 * The CPU source's process is the EDR's: the sustained CPU of `pid` comes from `file` (typeperf's instance, a
 * metrics row) and is on the finding's own entity.
 */
export function assertCpuJoined(f: Finding, pid: number, file: string): void {
  const cpu = f.evidence.filter((e) => e.kind === 'sustained-cpu' && e.explanation.includes(`pid ${pid}`));
  assert.ok(cpu.length > 0, `no CPU evidence of pid ${pid}: ${f.evidence.map((e) => e.kind).join(', ')}`);
  for (const e of cpu) {
    assert.ok(e.source.includes(file), `${e.source} is not from ${file}`);
    assert.equal(e.entity, f.entity, `the CPU of pid ${pid} is on ${e.entity}, not the finding's ${f.entity}`);
  }
}
