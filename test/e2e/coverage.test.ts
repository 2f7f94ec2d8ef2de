/**
 * End to end: `coalmine coverage` on a telemetry set we wrote (test/fixtures/coverage/no-cpu-cmdline:
 * Security 4688 without CommandLine, Sysmon 3/22, no typeperf; the host is in the inventory) and on
 * fully covered sets (the AN0741 miner scenario, examples/kinsing-like), each with its policy.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoverageReport } from '../../src/model/coverage.js';
import { runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'coverage');

const run = (args: string[]) => runCli(['coverage', ...args], { cwd: ROOT });

function json(args: string[]): { code: number | null; report: CoverageReport & { coalmine: string } } {
  const r = run([...args, '--format', 'json']);
  return { code: r.code, report: JSON.parse(r.stdout) };
}

const GAPS = [
  'no CPU telemetry for WS-LAB-02: collect typeperf "\\Process(*)\\% Processor Time", "\\Process(*)\\ID Process" and "\\Processor(_Total)\\% Processor Time"',
  'Security 4688 events for WS-LAB-02 have no CommandLine (3 events): enable "Include command line in process creation events" (Group Policy: Administrative Templates > System > Audit Process Creation)',
];

test('coverage on a telemetry set missing CPU and command lines names exactly those gaps, exit 1', () => {
  const { code, report } = json([join(FIX, 'no-cpu-cmdline'), '--policy', join(FIX, 'no-cpu-cmdline.yaml')]);
  assert.equal(code, 1);
  assert.equal(report.covered, false);
  assert.equal(report.gapCount, 2);
  assert.equal(report.hosts.length, 1);
  const h = report.hosts[0];
  assert.equal(h.host, 'WS-LAB-02');
  assert.equal(h.platform, 'windows');
  assert.deepEqual(
    h.analytics.map((a) => a.analytic),
    ['AN0741'],
  );
  const a = h.analytics[0];
  assert.equal(a.status, 'partial');
  assert.deepEqual(a.requires, ['cpu', 'command-line', 'network', 'authorization']);
  assert.deepEqual(a.missing, ['cpu', 'command-line']);
  assert.deepEqual(a.gaps, GAPS);
  const status = Object.fromEntries(h.classes.map((c) => [c.class, c.status]));
  assert.deepEqual(status, {
    'host-cpu': 'absent',
    'process-cpu': 'absent',
    process: 'present',
    'command-line': 'absent',
    network: 'present',
    dns: 'present',
    persistence: 'absent',
    authorization: 'present',
    'cloud-audit': 'not-applicable',
  });
  const proc = h.classes.find((c) => c.class === 'process');
  assert.deepEqual(proc, {
    class: 'process',
    status: 'present',
    events: 3,
    formats: ['evtx-xml'],
    first: '2026-11-30T10:00:00.000Z',
    last: '2026-11-30T10:05:00.000Z',
    spanMs: 300_000,
  });
  assert.deepEqual(report.input.filesByFormat, { 'evtx-xml': 2 });
  assert.equal(report.input.events, 5);
});

test('the table names the same gaps under a per-analytic line', () => {
  const r = run([join(FIX, 'no-cpu-cmdline'), '--policy', join(FIX, 'no-cpu-cmdline.yaml')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^ {2}AN0741 WS-LAB-02: partial: missing CPU, command line$/m);
  const gaps = r.stdout.split('\n').filter((l) => l.startsWith('    gap: '));
  assert.deepEqual(
    gaps.map((l) => l.slice('    gap: '.length)),
    GAPS,
  );
  assert.match(r.stdout, /cloud audit +not applicable: no cloud audit source/);
  assert.match(r.stdout, /coverage: partial: 2 gaps on 1 of 1 hosts/);
});

test('without the inventory the authorization gap is added', () => {
  const { code, report } = json([join(FIX, 'no-cpu-cmdline'), '--policy', join(FIX, 'an0741-miner.yaml')]);
  assert.equal(code, 1);
  assert.deepEqual(report.hosts[0].analytics[0].missing, ['cpu', 'command-line', 'authorization']);
});

for (const [name, paths] of [
  ['an0741-miner', [join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner')]],
  ['kinsing-like', [join(ROOT, 'examples', 'kinsing-like')]],
] as const)
  test(`a fully covered set (${name}) exits 0 with no gaps`, () => {
    const { code, report } = json([...paths, '--policy', join(FIX, `${name}.yaml`)]);
    assert.equal(code, 0, JSON.stringify(report.hosts, null, 1));
    assert.equal(report.covered, true);
    assert.equal(report.gapCount, 0);
    assert.ok(report.hosts.length >= 1);
    for (const h of report.hosts) {
      assert.ok(h.analytics.length >= 1);
      for (const a of h.analytics) {
        assert.equal(a.status, 'covered');
        assert.deepEqual(a.gaps, []);
        assert.deepEqual(a.missing, []);
      }
    }
    const table = run([...paths, '--policy', join(FIX, `${name}.yaml`)]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /: covered$/m);
    assert.match(table.stdout, /coverage: every analytic is fully covered/);
  });

test('usage errors exit 2', () => {
  assert.equal(run([join(FIX, 'no-cpu-cmdline'), '--format', 'ocsf']).code, 2);
  assert.equal(run([join(FIX, 'no-cpu-cmdline'), '--input-format', 'nope']).code, 2);
  assert.equal(run([join(FIX, 'no-cpu-cmdline'), '--policy', join(FIX, 'missing.yaml')]).code, 2);
  assert.equal(run([]).code, 2);
  const help = run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit status: 0 when every analytic/);
});
