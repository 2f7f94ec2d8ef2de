/**
 * End to end: `coalmine coverage` on a telemetry set we wrote (test/fixtures/coverage/no-cpu-cmdline:
 * Security 4688 without CommandLine, Sysmon 3/22, no typeperf; the host is in the inventory) and on
 * fully covered sets (the AN0741 miner scenario, examples/kinsing-like), each with its policy; AN0745
 * per cluster/namespace on the Kubernetes audit, Prometheus and Tetragon fixtures; and AN0744 per
 * provider/account/region on the CloudTrail, GuardDuty, CloudWatch and Google Cloud fixtures.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cloudWhere, noCloudAuditGap, noFlowOrDnsGap, noInstanceCpuGap } from '../../src/analytics/cloud-gaps.js';
import {
  noAuditLogGap,
  noContainerCpuGap,
  noContainerProcessGap,
  noCpuLimitGap,
} from '../../src/analytics/container-gaps.js';
import type { CloudRegionCoverage, CoverageReport, NamespaceCoverage } from '../../src/model/coverage.js';
import type { Finding } from '../../src/model/finding.js';
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
  assert.match(
    r.stdout,
    /cloud audit +not applicable per host: control-plane audit logs .* are judged per provider\/account\/region \(AN0744\)/,
  );
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

const K8S = ['k8s-audit', 'prometheus', 'tetragon'].map((d) => join(ROOT, 'test', 'fixtures', d));
const [AUDIT, PROMETHEUS, TETRAGON] = K8S;

function byNamespace(report: CoverageReport): Record<string, NamespaceCoverage> {
  return Object.fromEntries(report.namespaces.map((n) => [`${n.cluster}/${n.namespace}`, n]));
}

const classStatus = (ns: NamespaceCoverage) => Object.fromEntries(ns.classes.map((c) => [c.class, c.status]));

test('AN0745 per cluster/namespace on the audit log, Prometheus and Tetragon fixtures: classes and gaps named', () => {
  const { code, report } = json(K8S);
  assert.equal(code, 1);
  const ns = byNamespace(report);
  for (const where of ['cluster/default', 'cluster/kube-system', 'cluster/shop', 'cluster/ci'])
    assert.ok(ns[where], `${where} in ${Object.keys(ns).join(', ')}`);
  for (const n of report.namespaces) {
    assert.equal(n.runtime, 'kubernetes');
    assert.equal(n.analytic.analytic, 'AN0745');
    assert.equal(
      classStatus(n).authorization,
      'present',
      `${n.namespace}: every namespace was written through the API`,
    );
    assert.ok(n.telemetry.includes('audit'));
  }

  // the miner DaemonSet's namespace: audit log, container CPU with its limit, Tetragon inside
  const def = ns['cluster/default'];
  assert.deepEqual(classStatus(def), { authorization: 'present', resource: 'present', tool: 'present' });
  assert.equal(def.analytic.status, 'covered');
  assert.deepEqual(def.analytic.gaps, []);
  assert.ok(def.workloadNames.includes('node-exporter') && def.workloadNames.includes('kube-metrics-agent'));
  for (const t of ['audit', 'cpu', 'limits', 'process']) assert.ok(def.telemetry.includes(t), t);

  // coredns has cAdvisor CPU but no limit anywhere; nothing inside kube-system's containers was seen
  const sys = ns['cluster/kube-system'];
  assert.deepEqual(classStatus(sys), { authorization: 'present', resource: 'partial', tool: 'absent' });
  assert.deepEqual(sys.analytic.missing, ['resource', 'tool']);
  assert.deepEqual(sys.analytic.gaps, [noCpuLimitGap('coredns'), noContainerProcessGap('cluster/kube-system')]);

  // shop: Tetragon saw nginx, no CPU metrics for the namespace
  const shop = ns['cluster/shop'];
  assert.deepEqual(classStatus(shop), { authorization: 'present', resource: 'absent', tool: 'present' });
  assert.deepEqual(shop.analytic.gaps, [noContainerCpuGap('cluster/shop')]);

  // the host rows are still there, as before
  assert.deepEqual(
    report.hosts.map((h) => h.host),
    ['k8s-api', 'worker-1', 'worker-2'],
  );
  assert.ok(report.hosts.every((h) => h.analytics.every((a) => a.analytic === 'AN0742')));
  const hostGaps = report.hosts.reduce((n, h) => n + h.analytics.reduce((m, a) => m + a.gaps.length, 0), 0);
  const nsGaps = report.namespaces.reduce((n, x) => n + x.analytic.gaps.length, 0);
  assert.equal(report.gapCount, hostGaps + nsGaps);
  assert.ok(report.input.issueList.length > 0, 'the bad fixtures are reported and reading went on');
});

test('the table: a block per cluster/namespace with its classes, the AN0745 line and the gaps', () => {
  const r = run(K8S);
  assert.equal(r.code, 1, r.stderr);
  const at = r.stdout.indexOf('containers (AN0745), per cluster/namespace:');
  assert.ok(at > r.stdout.lastIndexOf('AN0742 worker-2'), 'after the host blocks');
  const block = r.stdout.slice(r.stdout.indexOf('\ncluster/kube-system ('), r.stdout.indexOf('\ncluster/shop ('));
  assert.match(block, /^ {2}authorization +audit log \(API writes of \d+ of 2 workloads\)$/m);
  assert.match(block, /^ {2}container CPU +partial: CPU of 1 of 2 workloads, a limit for 0$/m);
  assert.match(block, /^ {2}in-container processes +none: no in-container process telemetry$/m);
  assert.match(block, /^ {2}AN0745 cluster\/kube-system: partial: missing container CPU, in-container processes$/m);
  assert.deepEqual(
    block
      .split('\n')
      .filter((l) => l.startsWith('    gap: '))
      .map((l) => l.slice('    gap: '.length)),
    [noCpuLimitGap('coredns'), noContainerProcessGap('cluster/kube-system')],
  );
  assert.match(r.stdout, /^ {2}AN0745 cluster\/default: covered$/m);
  assert.match(r.stdout, /coverage: partial: \d+ gaps on 3 of 3 hosts and \d+ of \d+ cluster\/namespaces\n$/);
});

test('without the audit log, authorization is the gap; without Tetragon, the in-container process gap', () => {
  const noAudit = byNamespace(json([PROMETHEUS, TETRAGON]).report);
  const def = noAudit['cluster/default'];
  assert.equal(classStatus(def).authorization, 'absent');
  assert.equal(
    def.analytic.gaps[0],
    `${noAuditLogGap('cluster/default', 'its workloads')}; and no coalmine.yaml containers: entry (registries, images, namespaces, creators, labels) approves them: "is this authorized?" cannot be answered`,
  );
  const noTetragon = byNamespace(json([AUDIT, PROMETHEUS]).report)['cluster/default'];
  assert.deepEqual(classStatus(noTetragon), { authorization: 'present', resource: 'present', tool: 'absent' });
  assert.deepEqual(noTetragon.analytic.gaps, [noContainerProcessGap('cluster/default')]);
});

test('hunt and coverage word a missing container class alike (the finding per workload, coverage per namespace)', () => {
  const hunt = runCli(['hunt', AUDIT, TETRAGON, '--format', 'ndjson'], { cwd: ROOT });
  const findings = hunt.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Finding)
    .filter((f) => f.analytic === 'AN0745');
  const miner = findings.find((f) => f.facts.workload_name === 'node-exporter');
  assert.ok(miner, hunt.stdout + hunt.stderr);
  assert.ok(miner.gaps.includes(`partial: ${noContainerCpuGap('node-exporter')}`), miner.gaps.join('\n'));
  const def = byNamespace(json([AUDIT, TETRAGON]).report)['cluster/default'];
  assert.deepEqual(def.analytic.gaps, [noContainerCpuGap('cluster/default')]);
});

test('a containers: policy in coalmine.yaml answers authorization where no audit log was read; the audit gap becomes a note', () => {
  const policy = join(FIX, 'containers.yaml');
  const withPolicy = byNamespace(json([PROMETHEUS, TETRAGON, '--policy', policy]).report);
  const sys = withPolicy['cluster/kube-system'];
  assert.equal(classStatus(sys).authorization, 'present');
  assert.deepEqual(sys.classes[0].sources, [`containers: policy (${policy}:2)`]);
  assert.equal(sys.classes[0].detail, `containers: policy (${policy}:2) approves namespace kube-system`);
  assert.deepEqual(sys.analytic.missing, ['resource', 'tool'], 'authorization is not missing');
  assert.ok(
    sys.analytic.notes.includes(
      `${noAuditLogGap('cluster/kube-system', 'its workloads')}; the containers: policy (${policy}:2) still judges their images, namespace and labels`,
    ),
    sys.analytic.notes.join('\n'),
  );
  const def = withPolicy['cluster/default'];
  assert.equal(def.analytic.status, 'covered', 'policy, container CPU with limits and Tetragon');
  const without = byNamespace(json([PROMETHEUS, TETRAGON]).report)['cluster/default'];
  assert.deepEqual(without.analytic.missing, ['authorization']);
});

// ---- AN0744 per provider/account/region ----

const CLOUD = join(ROOT, 'test', 'fixtures');
const TRAIL = join(CLOUD, 'cloudtrail', 'trail.json');
const GUARDDUTY = join(CLOUD, 'guardduty', 'get-findings.json');
const CW_STREAM = join(CLOUD, 'cloudwatch-metrics', 'stream.json');
const CW_GET = join(CLOUD, 'cloudwatch-metrics', 'get-metric-data.json');
const GCP = ['gcp-audit/good.log', 'gcp-flow', 'gcp-monitoring'].map((p) => join(CLOUD, p));

function byRegion(report: CoverageReport): Record<string, CloudRegionCoverage> {
  return Object.fromEntries(
    report.cloudRegions.map((r) => [`${r.provider}/${r.account ?? '?'}/${r.region ?? '?'}`, r]),
  );
}

const cloudStatus = (r: CloudRegionCoverage) => Object.fromEntries(r.classes.map((c) => [c.class, c.status]));

test('AN0744 per account/region on CloudTrail, GuardDuty and CloudWatch: which of audit, flows/DNS/detector and CPU were seen', () => {
  const { code, report } = json([TRAIL, GUARDDUTY, CW_STREAM]);
  assert.equal(code, 1, 'a region has gaps');
  const rows = byRegion(report);
  assert.deepEqual(Object.keys(rows), ['aws/123456789012/ap-southeast-3', 'aws/123456789012/us-east-1']);
  const east = rows['aws/123456789012/us-east-1'];
  assert.deepEqual(east.telemetry, ['audit', 'cpu', 'detector']);
  assert.deepEqual(cloudStatus(east), { authorization: 'present', reach: 'present', resource: 'present' });
  assert.equal(east.analytic.analytic, 'AN0744');
  assert.equal(east.analytic.status, 'covered');
  assert.ok(
    east.analytic.notes.some((n) => n.startsWith("only a provider detector's findings (GuardDuty)")),
    east.analytic.notes.join('\n'),
  );
  const apse = rows['aws/123456789012/ap-southeast-3'];
  const where = cloudWhere('aws', '123456789012', 'ap-southeast-3');
  assert.deepEqual(cloudStatus(apse), { authorization: 'present', reach: 'absent', resource: 'absent' });
  assert.deepEqual(apse.analytic.gaps, [noFlowOrDnsGap(where), noInstanceCpuGap(where)]);
  assert.equal(
    report.gapCount,
    2 + report.hosts.reduce((n, h) => n + h.analytics.reduce((m, a) => m + a.gaps.length, 0), 0),
  );
  assert.ok(
    !report.hosts.some((h) => h.host === 'aws:123456789012'),
    "the account's control-plane calls are its AN0744 rows, not an AN0742 host",
  );
});

test('AN0744: metrics that name no account or region are their own row; without the audit log, authorization is the gap', () => {
  const { report } = json([CW_GET]);
  const rows = byRegion(report);
  assert.deepEqual(Object.keys(rows), ['aws/?/?']);
  assert.deepEqual(rows['aws/?/?'].analytic.gaps, [noCloudAuditGap('aws'), noFlowOrDnsGap('aws')]);
});

test('AN0744 on the Google Cloud fixtures: audited regions with flows and CPU are covered; account-wide calls add no row', () => {
  const { report } = json(GCP);
  const rows = byRegion(report);
  for (const k of ['gcp/example-prod-123456/us-central1', 'gcp/example-prod-123456/asia-southeast1']) {
    assert.ok(rows[k], Object.keys(rows).join(', '));
    // gcp-monitoring/gpu.jsonl samples GPUs of instances in both regions
    assert.deepEqual(rows[k].telemetry, ['audit', 'cpu', 'gpu', 'network']);
    assert.deepEqual(rows[k].classes.find((c) => c.class === 'resource')?.sources, ['cpu', 'gpu']);
    assert.equal(rows[k].analytic.status, 'covered', k);
  }
  assert.equal(rows['gcp/example-prod-123456/?'], undefined, 'folded into the audited regions of its project');
  const shared = rows['gcp/example-shared-789012/asia-southeast1'];
  const where = cloudWhere('gcp', 'example-shared-789012', 'asia-southeast1');
  assert.deepEqual(shared.analytic.gaps, [noFlowOrDnsGap(where), noInstanceCpuGap(where)]);
});

test('the table: a block per provider/account/region with its classes, the AN0744 line and the gaps', () => {
  const r = run([TRAIL, GUARDDUTY, CW_STREAM]);
  assert.equal(r.code, 1, r.stderr);
  const cloud = r.stdout.slice(r.stdout.indexOf('cloud (AN0744), per provider/account/region'));
  assert.match(cloud, /^aws\/123456789012\/us-east-1\n {2}telemetry +audit, cpu, detector$/m);
  assert.match(cloud, /^ {2}AN0744 aws\/123456789012\/us-east-1: covered$/m);
  assert.match(
    cloud,
    /^ {2}AN0744 aws\/123456789012\/ap-southeast-3: partial: missing flows, DNS or detector, instance CPU$/m,
  );
  assert.ok(cloud.includes(`    gap: ${noInstanceCpuGap(cloudWhere('aws', '123456789012', 'ap-southeast-3'))}`));
  assert.match(r.stdout, /and 1 of 2 cloud account\/regions$/m);
});

test('hunt and coverage word a missing cloud class alike (the finding per launch, coverage per account/region)', () => {
  const hunt = runCli(['hunt', TRAIL, '--format', 'ndjson'], { cwd: ROOT });
  const findings = hunt.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Finding)
    .filter((f) => f.analytic === 'AN0744');
  assert.ok(findings.length >= 1, hunt.stdout + hunt.stderr);
  const rows = byRegion(json([TRAIL]).report);
  let compared = 0;
  for (const f of findings) {
    const row = rows[`${f.facts.provider}/${f.facts.account}/${f.facts.region}`];
    assert.ok(row, `a row for ${f.facts.region}`);
    for (const g of f.gaps) {
      assert.ok(
        row.analytic.gaps.map((x) => `partial: ${x}`).includes(g),
        `${g}\nnot in\n${row.analytic.gaps.join('\n')}`,
      );
      compared++;
    }
  }
  assert.ok(compared >= 2, 'the launches name missing flows and CPU');
});

test('a cloud: policy names what judges launches where the audit log is read; alone it answers nothing', () => {
  const policy = join(FIX, 'cloud.yaml');
  const rows = byRegion(json([TRAIL, CW_GET, '--policy', policy]).report);
  const east = rows['aws/123456789012/us-east-1'];
  assert.deepEqual(east.classes[0].sources, ['audit', `cloud: policy (${policy}:2)`]);
  assert.equal(east.classes[0].detail, `control-plane audit log, launches judged by the cloud: policy (${policy}:2)`);
  assert.ok(!east.analytic.notes.some((n) => n.includes('own history')), 'no history-only note with a policy');
  const unnamed = rows['aws/?/?'];
  assert.equal(cloudStatus(unnamed).authorization, 'absent');
  assert.equal(
    unnamed.classes[0].detail,
    `no control-plane audit log: the cloud: policy (${policy}:2) has no launch to judge`,
  );
});
