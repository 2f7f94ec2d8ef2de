import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoverageReport, HostCoverage } from '../model/coverage.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { groupCases } from './cases.js';
import { executiveSummary, type RunTotals } from './executive.js';
import { triageFinding } from './playbook.js';

let n = 0;
function finding(extra: Partial<Finding>): Finding {
  n++;
  const host = extra.host ?? `host-${n}`;
  const f: Finding = {
    id: `cm-${n}`,
    analytic: 'AN0742',
    title: `Cryptomining on ${host}`,
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.8,
    entity: `process:${host}:${100 + n}`,
    related: [],
    host,
    first_seen: '2026-11-30T10:00:00.000Z',
    last_seen: '2026-11-30T11:00:00.000Z',
    legs: ['resource', 'process'],
    summary: '',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: {},
    processes: [{ entity: `process:${host}:${100 + n}`, pid: 100 + n, executable: `/tmp/.x${n}/miner${n}` }],
    usage: { core_hours: 2, basis: 'per-process CPU of 1 process', series: [] },
    ...extra,
  };
  f.triage = triageFinding(f, defaultPolicy());
  return f;
}

function host(
  name: string,
  missing: HostCoverage['analytics'][number]['missing'],
  first: string,
  last: string,
): HostCoverage {
  return {
    host: name,
    platform: 'linux',
    classes: [{ class: 'process', status: 'present', events: 3, formats: ['auditd'], first, last }],
    analytics: [
      {
        analytic: 'AN0742',
        title: 'Linux',
        status: missing.length ? 'partial' : 'covered',
        requires: ['cpu', 'process', 'network'],
        missing,
        gaps: [],
        notes: [],
      },
    ],
    notes: [],
  };
}

function coverage(hosts: HostCoverage[]): CoverageReport {
  return {
    covered: hosts.every((h) => h.analytics.every((a) => a.status === 'covered')),
    gapCount: 0,
    hosts,
    namespaces: [],
    cloudRegions: [],
    input: { files: 1, filesByFormat: {}, events: 0, stateEvents: 0, issuesByCode: {}, issueList: [], hostsEvicted: 0 },
  };
}

const TOTALS: RunTotals = {
  files: 3,
  events: 1200,
  badInput: 2,
  suppressed: 1,
  coreHours: 6,
  gpuHours: 0,
  instanceHours: 0,
  cost: 0.3,
  currency: 'USD',
};

test('incidents by severity and tier, hosts hit, time to detect from each case first evidence to its first alert', () => {
  const a = finding({ host: 'web-01', detected_at: '2026-11-30T10:02:00.000Z' });
  const b = finding({ host: 'web-01', severity: 'medium', detected_at: '2026-11-30T10:20:00.000Z' });
  const c = finding({
    host: 'db-01',
    severity: 'low',
    first_seen: '2026-11-30T12:00:00.000Z',
    last_seen: '2026-11-30T12:00:00.000Z',
    detected_at: '2026-11-30T12:00:00.000Z',
  });
  const d = finding({ host: 'ci-01', detected_at: '2026-11-30T10:40:00.000Z' });
  const quiet = finding({ host: 'build-01' });
  quiet.suppressed_by = {
    list: 'coalmine.yaml',
    match: 'executable',
    reason: 'build farm',
    owner: 'ci',
    expires: '2099-01-01',
  };
  const findings = [a, b, c, d, quiet];
  const cases = groupCases(findings);
  const s = executiveSummary(
    findings,
    cases,
    TOTALS,
    coverage([
      host('web-01', [], '2026-11-30T09:00:00.000Z', '2026-11-30T12:00:00.000Z'),
      host('db-01', ['cpu', 'network', 'authorization'], '2026-11-30T08:00:00.000Z', '2026-11-30T11:00:00.000Z'),
      host('ci-01', ['cpu', 'authorization'], '2026-11-30T10:00:00.000Z', '2026-11-30T13:00:00.000Z'),
    ]),
  );
  // the suppressed finding's case is no incident
  assert.equal(s.incidents.total, 3);
  assert.deepEqual(s.incidents.by_severity, { high: 2, low: 1 });
  assert.deepEqual(s.incidents.findings_by_analytic, { AN0742: 4 });
  assert.equal(s.incidents.suppressed_findings, 1);
  assert.deepEqual(s.affected, { hosts: 3, workloads: 0, cloud_launches: 0 });
  // web-01: its first alert 2 min after its first evidence (the earlier of its two findings); db-01: 0; ci-01: 40 min
  assert.deepEqual(s.time_to_detect, { incidents: 3, median_ms: 120_000, longest_ms: 2_400_000 });
  assert.deepEqual(
    s.top.map((i) => [i.hosts, i.severity, i.time_to_detect_ms, i.active_ms]),
    [
      [['web-01'], 'high', 120_000, 3_600_000],
      [['ci-01'], 'high', 2_400_000, 3_600_000],
      [['db-01'], 'low', 0, 0],
    ],
  );
  assert.deepEqual(s.input, {
    files: 3,
    events: 1200,
    bad_input: 2,
    first: '2026-11-30T08:00:00.000Z',
    last: '2026-11-30T13:00:00.000Z',
  });
  assert.deepEqual(s.readiness, {
    covered: false,
    scopes: 3,
    partial: 2,
    // the inventory (a policy to write) after the missing logs, though as many hosts lack it
    gaps: [
      { telemetry: 'CPU', scopes: 2 },
      { telemetry: 'network', scopes: 1 },
      { telemetry: 'authorization inventory', scopes: 2 },
    ],
    more_gaps: 0,
  });
  assert.deepEqual(s.compute, { core_hours: 6, gpu_hours: 0, instance_hours: 0, cost: 0.3, currency: 'USD' });
});

test('bounded: a thousand incidents give five lines and a case of many hosts names five', () => {
  const many = Array.from({ length: 1000 }, (_, i) =>
    finding({ host: `h-${i}`, severity: i === 7 ? 'critical' : 'medium' }),
  );
  const cases = groupCases(many);
  const s = executiveSummary(many, cases, TOTALS, coverage([]));
  assert.equal(s.incidents.total, cases.length);
  assert.equal(s.top.length, 5);
  assert.equal(s.top[0].severity, 'critical');
  assert.ok(s.top.every((i) => i.hosts.length <= 5));
  // no finding recorded detected_at: no time to detect is made up
  assert.deepEqual(s.time_to_detect, { incidents: 0 });
});
