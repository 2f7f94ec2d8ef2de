import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloudWhere, noCloudAuditGap, noFlowOrDnsGap, noInstanceCpuGap } from '../analytics/cloud-gaps.js';
import { noAuditLogGap, noContainerCpuGap, noContainerProcessGap, noCpuLimitGap } from '../analytics/container-gaps.js';
import { analytics, createDetector } from '../analytics/index.js';
import { HostState, type TelemetryClass } from '../engine/host-state.js';
import type { CloudTelemetry } from '../engine/instances.js';
import type { WorkloadState, WorkloadTelemetry } from '../engine/workloads.js';
import type { CloudRegionCoverage, NamespaceCoverage } from '../model/coverage.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { type CloudPolicy, type ContainerPolicy, defaultPolicy, type Policy } from '../model/policy.js';
import { type CloudSeen, type ContainersSeen, coverageReport, datasetLabel } from './coverage.js';

function ev(host: string, format: string, dataset: string, ts: number, platform?: string): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], action: 'exec', dataset },
    host: { name: host, ...(platform ? { os: { platform } } : {}) },
    original: {},
    coalmine: { ts, format, ref: { file: 'x', line: 1 } },
  } as CoalEvent;
}

function hostWith(
  name: string,
  platform: string | undefined,
  seen: Array<[TelemetryClass, string, string]>,
): HostState {
  const h = new HostState(name, undefined);
  if (platform) h.platform = platform;
  let ts = Date.parse('2026-11-30T10:00:00Z');
  for (const [cls, format, dataset] of seen) {
    const e = ev(name, format, dataset, ts, platform);
    h.see(cls, e);
    ts += 60_000;
  }
  return h;
}

function inventory(...names: string[]): Policy {
  const p = defaultPolicy();
  for (const n of names) p.hostCores[n] = 4;
  return p;
}

test('a Windows host with 4688 but no command line and no CPU: exactly the CPU and command-line gaps', () => {
  const h = hostWith('WS-1', 'windows', [
    ['process', 'evtx-xml', 'evtx-xml.security.4688'],
    ['process', 'evtx-xml', 'evtx-xml.security.4688'],
    ['network', 'evtx-xml', 'evtx-xml.sysmon.3'],
    ['dns', 'evtx-xml', 'evtx-xml.sysmon.22'],
  ]);
  h.noteNoCommandLine(ev('WS-1', 'evtx-xml', 'evtx-xml.security.4688', 0));
  h.noteNoCommandLine(ev('WS-1', 'evtx-xml', 'evtx-xml.security.4688', 0));
  const r = coverageReport([h], { policy: inventory('WS-1'), policyFile: 'coalmine.yaml' });
  assert.equal(r.covered, false);
  assert.equal(r.gapCount, 2);
  const [a] = r.hosts[0].analytics;
  assert.equal(a.analytic, 'AN0741');
  assert.deepEqual(a.missing, ['cpu', 'command-line']);
  assert.match(a.gaps[0], /^no CPU telemetry for WS-1: collect typeperf/);
  assert.match(
    a.gaps[1],
    /^Security 4688 events for WS-1 have no CommandLine \(2 events\): enable "Include command line/,
  );
  const cls = Object.fromEntries(r.hosts[0].classes.map((c) => [c.class, c]));
  assert.equal(cls.process.events, 2);
  assert.deepEqual(cls.process.formats, ['evtx-xml']);
  assert.equal(cls.process.first, '2026-11-30T10:00:00.000Z');
  assert.equal(cls.process.last, '2026-11-30T10:01:00.000Z');
  assert.equal(cls.process.spanMs, 60_000);
  assert.equal(cls['command-line'].status, 'absent');
  assert.equal(cls.dns.status, 'present');
  assert.equal(cls.authorization.status, 'present');
  assert.equal(cls['cloud-audit'].status, 'not-applicable');
});

test('a Linux host with everything AN0742 reads and an inventory entry is covered', () => {
  const h = hostWith('web-01', 'linux', [
    ['process-cpu', 'metrics-csv', 'metrics-csv.sample'],
    ['process', 'auditd', 'auditd.execve'],
    ['command-line', 'auditd', 'auditd.execve'],
    ['network', 'auditd', 'auditd.connect'],
    ['persistence', 'crontab', 'crontab.entry'],
  ]);
  const r = coverageReport([h], { policy: inventory('web-01') });
  assert.equal(r.covered, true);
  assert.deepEqual(
    r.hosts[0].analytics.map((a) => [a.analytic, a.status, a.gaps]),
    [['AN0742', 'covered', []]],
  );
});

test('unknown platform is judged as AN0742; only host CPU, DNS only, no inventory are each named', () => {
  const h = hostWith('box', undefined, [
    ['host-cpu', 'metrics-csv', 'metrics-csv.sample'],
    ['process', 'osquery', 'osquery.processes'],
    ['dns', 'zeek', 'zeek.dns'],
    ['persistence', 'crontab', 'crontab.entry'],
  ]);
  const r = coverageReport([h], { policy: defaultPolicy() });
  const [a] = r.hosts[0].analytics;
  assert.equal(r.hosts[0].platform, 'unknown');
  assert.equal(a.analytic, 'AN0742');
  assert.deepEqual(a.missing, ['process-cpu', 'network', 'authorization']);
  assert.match(a.gaps[0], /^only host CPU for box \(metrics-csv\), no per-process CPU: add metrics CSV/);
  assert.match(a.gaps[1], /^only DNS lookups for box \(zeek\), no connections/);
  assert.match(a.gaps[2], /^no authorization inventory for box: list it under coalmine.yaml hosts/);
});

test('an allowlist entry for the host (or for all hosts) answers authorization; an expired one does not', () => {
  const h = hostWith('lab-01', 'linux', [['process', 'auditd', 'auditd.execve']]);
  const p = defaultPolicy();
  const entry = { analytics: [], owner: 'o', reason: 'r', ref: 'coalmine.yaml:3' };
  p.allowlist.push({ ...entry, match: { host: 'LAB-*', executable: '/opt/x' }, expires: '2020-01-01' });
  let auth = coverageReport([h], { policy: p }).hosts[0].classes.find((c) => c.class === 'authorization');
  assert.equal(auth?.status, 'absent', 'expired before the host was seen');
  p.allowlist.push({ ...entry, match: { host: 'LAB-*' }, expires: '2030-01-01', ref: 'coalmine.yaml:9' });
  p.allowlist.push({ ...entry, match: { executable: '/opt/y' }, expires: '2030-01-01', ref: 'coalmine.yaml:14' });
  auth = coverageReport([h], { policy: p }).hosts[0].classes.find((c) => c.class === 'authorization');
  assert.equal(auth?.status, 'present');
  assert.equal(auth?.detail, 'allowlist coalmine.yaml:9; allowlist coalmine.yaml:14 (all hosts)');
});

test('an allowlist entry naming the host by another spelling (its FQDN) answers its authorization, as the allowlist applies it', () => {
  // the engine names the host as the policy first spelled it: the allowlist's FQDN seeds the display name
  const p = defaultPolicy();
  p.allowlist.push({
    analytics: [],
    owner: 'o',
    reason: 'r',
    ref: 'coalmine.yaml:3',
    match: { host: 'lab-01.corp.example.com' },
    expires: '2030-01-01',
  });
  const h = hostWith('lab-01.corp.example.com', 'linux', [['process', 'auditd', 'auditd.execve']]);
  const auth = coverageReport([h], { policy: p }).hosts[0].classes.find((c) => c.class === 'authorization');
  assert.equal(auth?.status, 'present');
  // a second spelling of the same host in the allowlist joins the first's display name
  p.allowlist.push({ ...p.allowlist[0], match: { host: 'LAB-01' }, ref: 'coalmine.yaml:9' });
  const both = coverageReport([h], { policy: p }).hosts[0].classes.find((c) => c.class === 'authorization');
  assert.equal(both?.detail, 'allowlist coalmine.yaml:3; allowlist coalmine.yaml:9');
});

test('no process events at all: the command-line gap says there is no process creation telemetry', () => {
  const h = hostWith('WS-2', 'windows', [['host-cpu', 'typeperf', 'typeperf.sample']]);
  const [a] = coverageReport([h], { policy: inventory('WS-2') }).hosts[0].analytics;
  assert.deepEqual(a.missing, ['command-line', 'network']);
  assert.match(a.gaps[0], /^no process creation telemetry for WS-2, so no command lines/);
  assert.match(a.gaps[1], /^no network telemetry for WS-2: Sysmon events 3 and 22, Security 5156/);
  assert.match(a.notes[0], /^only total CPU for WS-2 \(typeperf\)/);
});

test('crypto-node is skipped, macOS has no analytic, and no host at all is not covered', () => {
  assert.ok(analytics.some((a) => a.id === 'crypto-node'));
  const mac = hostWith('mac-1', 'macos', [['process', 'ndjson', 'ndjson.event']]);
  const r = coverageReport([mac], { policy: defaultPolicy() });
  assert.deepEqual(r.hosts[0].analytics, []);
  assert.match(r.hosts[0].notes[0], /no analytic applies to platform macos/);
  assert.equal(r.covered, true);
  assert.equal(coverageReport([], { policy: defaultPolicy() }).covered, false);
});

test('dataset labels', () => {
  assert.equal(datasetLabel('evtx-xml.security.4688'), 'Security 4688');
  assert.equal(datasetLabel('winlogbeat.sysmon.1'), 'Sysmon 1');
  assert.equal(datasetLabel('auditd.execve'), 'auditd execve');
  assert.equal(datasetLabel('osquery.processes'), 'osquery processes');
});

// ---- AN0745 per cluster/namespace ----

function workload(
  cluster: string,
  namespace: string,
  name: string,
  telemetry: WorkloadTelemetry[],
  runtime: 'kubernetes' | 'docker' = 'kubernetes',
): WorkloadState {
  return {
    key: `workload:${cluster}:${namespace}:${name}`,
    cluster,
    namespace,
    name,
    runtime,
    existsSinceMs: 0,
    pods: new Set(),
    containerIds: new Set(),
    containerNames: new Set(),
    nodes: new Set(),
    images: new Set(),
    digests: new Set(),
    writes: [],
    denied: 0,
    execCommands: [],
    telemetry: new Set(telemetry),
    cpu: new Map(),
    cluster_: undefined,
    lastTouched: 0,
  };
}

/** What the engine reports: the namespace telemetry is the union of its workloads'. */
function seen(...workloads: WorkloadState[]): ContainersSeen {
  const byNs = new Map<string, { cluster: string; namespace: string; telemetry: Set<WorkloadTelemetry> }>();
  for (const w of workloads) {
    const k = `${w.cluster}|${w.namespace}`;
    const ns = byNs.get(k) ?? { cluster: w.cluster, namespace: w.namespace, telemetry: new Set() };
    for (const t of w.telemetry) ns.telemetry.add(t);
    byNs.set(k, ns);
  }
  return { namespaces: [...byNs.values()], workloads };
}

function containerPolicy(over: Partial<ContainerPolicy> = {}): Policy {
  const p = defaultPolicy();
  p.containers = {
    registries: [],
    images: [],
    namespaces: [],
    creators: [],
    labels: {},
    ref: 'coalmine.yaml:40',
    ...over,
  };
  return p;
}

const classStatus = (ns: NamespaceCoverage) => Object.fromEntries(ns.classes.map((c) => [c.class, c.status]));

test('AN0745: audit log, container CPU with limits and in-container processes cover a namespace; the report counts it', () => {
  const r = coverageReport([], {
    policy: defaultPolicy(),
    containers: seen(
      workload('prod', 'default', 'api', ['audit', 'cpu', 'limits', 'process']),
      workload('prod', 'default', 'web', ['inventory', 'cpu', 'limits']),
    ),
  });
  assert.equal(r.namespaces.length, 1);
  const [ns] = r.namespaces;
  assert.deepEqual([ns.cluster, ns.namespace, ns.runtime, ns.workloads], ['prod', 'default', 'kubernetes', 2]);
  assert.deepEqual(ns.workloadNames, ['api', 'web']);
  assert.deepEqual(ns.telemetry, ['audit', 'cpu', 'inventory', 'limits', 'process']);
  assert.deepEqual(classStatus(ns), { authorization: 'present', resource: 'present', tool: 'present' });
  assert.equal(ns.analytic.analytic, 'AN0745');
  assert.equal(ns.analytic.status, 'covered');
  assert.deepEqual(ns.analytic.gaps, []);
  assert.deepEqual(ns.analytic.notes, []);
  assert.equal(r.covered, true, 'a cluster/namespace alone is something seen');
  assert.equal(r.gapCount, 0);
});

test('AN0745: each missing class is one gap worded as the finding words it, per cluster/namespace', () => {
  const r = coverageReport([], {
    policy: defaultPolicy(),
    policyFile: 'coalmine.yaml',
    containers: seen(
      workload('prod', 'batch', 'etl', ['inventory']),
      workload('dev', 'batch', 'etl', ['audit', 'process']),
    ),
  });
  assert.deepEqual(
    r.namespaces.map((n) => `${n.cluster}/${n.namespace}`),
    ['dev/batch', 'prod/batch'],
    'sorted by cluster, then namespace',
  );
  const prod = r.namespaces[1];
  assert.deepEqual(classStatus(prod), { authorization: 'absent', resource: 'absent', tool: 'absent' });
  assert.deepEqual(prod.analytic.missing, ['authorization', 'resource', 'tool']);
  assert.deepEqual(prod.analytic.gaps, [
    `${noAuditLogGap('prod/batch', 'its workloads')}; and no coalmine.yaml containers: entry (registries, images, namespaces, creators, labels) approves them: "is this authorized?" cannot be answered`,
    noContainerCpuGap('prod/batch'),
    noContainerProcessGap('prod/batch'),
  ]);
  assert.match(
    prod.analytic.gaps[1],
    /^no container CPU metrics for prod\/batch \(Prometheus container_cpu_usage_seconds_total/,
  );
  assert.equal(prod.classes[0].detail, 'no audit log and no containers: section in coalmine.yaml');
  const dev = r.namespaces[0];
  assert.deepEqual(dev.analytic.missing, ['resource']);
  assert.deepEqual(dev.analytic.gaps, [noContainerCpuGap('dev/batch')]);
  assert.equal(r.gapCount, 4);
  assert.equal(r.covered, false);
});

test('AN0745: a containers: policy answers authorization without an audit log (noted), and names a namespace it approves', () => {
  const r = coverageReport([], {
    policy: containerPolicy({ namespaces: ['kube-system'] }),
    policyFile: 'site.yaml',
    containers: seen(
      workload('prod', 'kube-system', 'coredns', ['inventory', 'cpu', 'limits', 'process']),
      workload('prod', 'shop', 'api', ['audit', 'cpu', 'limits', 'process']),
    ),
  });
  const [sys, shop] = r.namespaces;
  assert.deepEqual(classStatus(sys), { authorization: 'present', resource: 'present', tool: 'present' });
  assert.equal(sys.analytic.status, 'covered');
  assert.deepEqual(sys.classes[0].sources, ['containers: policy (coalmine.yaml:40)']);
  assert.equal(sys.classes[0].detail, 'containers: policy (coalmine.yaml:40) approves namespace kube-system');
  assert.deepEqual(sys.analytic.notes, [
    `${noAuditLogGap('prod/kube-system', 'its workloads')}; the containers: policy (coalmine.yaml:40) still judges their images, namespace and labels`,
  ]);
  assert.deepEqual(shop.classes[0].sources, ['audit log', 'containers: policy (coalmine.yaml:40)']);
  assert.deepEqual(shop.analytic.notes, [], 'an audit log: nothing to note');
  assert.equal(r.covered, true);
});

test('AN0745: CPU without a limit is a partial resource class naming those workloads; workloads without CPU are a note', () => {
  const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
  const r = coverageReport([], {
    policy: containerPolicy(),
    containers: seen(
      ...names.map((n) => workload('prod', 'ml', n, ['audit', 'cpu', 'process'])),
      workload('prod', 'ml', 'trainer', ['audit', 'cpu', 'limits']),
      workload('prod', 'ml', 'old-job', ['audit']),
    ),
  });
  const [ns] = r.namespaces;
  const resource = ns.classes.find((c) => c.class === 'resource');
  assert.equal(resource?.status, 'partial');
  assert.equal(resource?.workloads, 8);
  assert.equal(resource?.detail, 'CPU of 8 of 9 workloads, a limit for 1');
  assert.deepEqual(ns.analytic.missing, ['resource']);
  assert.deepEqual(ns.analytic.gaps, [noCpuLimitGap('a1, a2, a3, a4, a5 and 2 more')]);
  assert.deepEqual(ns.analytic.notes, [`1 of 9 workloads showed no CPU: ${noContainerCpuGap('old-job')}`]);
});

test('AN0745: plain Docker needs the containers: policy (no audit log exists); network alone is part of the tool class', () => {
  const docker = seen(workload('host-7', 'docker', 'pawns', ['runtime', 'cpu', 'limits', 'network'], 'docker'));
  const r = coverageReport([], { policy: defaultPolicy(), containers: docker });
  const [ns] = r.namespaces;
  assert.equal(ns.runtime, 'docker');
  assert.deepEqual(classStatus(ns), { authorization: 'absent', resource: 'present', tool: 'partial' });
  assert.equal(
    ns.classes[0].detail,
    'Docker records no creator and no policy file read (--policy, or ./coalmine.yaml)',
  );
  assert.deepEqual(ns.analytic.gaps, [
    'no containers: policy for host-7/docker: Docker records no creator, so only coalmine.yaml containers: (registries, images, labels) can say which containers are approved: "is this authorized?" cannot be answered',
    noContainerProcessGap('host-7/docker'),
  ]);
  assert.match(ns.classes[2].detail ?? '', /only network telemetry joined to pod addresses/);
  const approved = coverageReport([], { policy: containerPolicy({ registries: ['docker.io'] }), containers: docker });
  assert.equal(approved.namespaces[0].classes[0].status, 'present');
  assert.deepEqual(approved.namespaces[0].analytic.notes, [], 'no audit-log note for Docker');
});

test('AN0745 rows leave the host rows as they were; no container telemetry, no rows', () => {
  const h = hostWith('web-01', 'linux', [['process', 'auditd', 'auditd.execve']]);
  const without = coverageReport([h], { policy: inventory('web-01') });
  const withEmpty = coverageReport([h], { policy: inventory('web-01'), containers: { namespaces: [], workloads: [] } });
  assert.deepEqual(without.namespaces, []);
  assert.deepEqual(withEmpty, without);
  const both = coverageReport([h], {
    policy: inventory('web-01'),
    containers: seen(workload('prod', 'default', 'api', ['audit'])),
  });
  assert.deepEqual(both.hosts, without.hosts);
  assert.equal(both.gapCount, without.gapCount + 2);
});

// ---- AN0744 per provider/account/region ----

/** What `Engine.cloudRegions()` reports: `?` for an account or region the telemetry did not name. */
function region(provider: string, account: string, name: string, telemetry: CloudTelemetry[]): CloudSeen[number] {
  return { provider, account, region: name, telemetry: new Set(telemetry) };
}

function cloudPolicy(over: Partial<CloudPolicy> = {}): Policy {
  const p = defaultPolicy();
  p.cloud = {
    principals: ['arn:aws:iam::*:role/terraform-*'],
    pipelines: [],
    services: [],
    regions: [],
    instanceFamilies: [],
    tags: {},
    ref: 'coalmine.yaml:60',
    ...over,
  };
  return p;
}

const cloudStatus = (r: CloudRegionCoverage) => Object.fromEntries(r.classes.map((c) => [c.class, c.status]));

test('AN0744: an audit log judged by the cloud: policy, flow logs and instance CPU cover an account/region', () => {
  const r = coverageReport([], {
    policy: cloudPolicy(),
    policyFile: 'coalmine.yaml',
    cloud: [region('aws', '123456789012', 'us-east-1', ['audit', 'network', 'cpu'])],
  });
  assert.equal(r.cloudRegions.length, 1);
  const [row] = r.cloudRegions;
  assert.deepEqual([row.provider, row.account, row.region], ['aws', '123456789012', 'us-east-1']);
  assert.deepEqual(row.telemetry, ['audit', 'cpu', 'network']);
  assert.deepEqual(cloudStatus(row), { authorization: 'present', reach: 'present', resource: 'present' });
  assert.deepEqual(row.classes[0].sources, ['audit', 'cloud: policy (coalmine.yaml:60)']);
  assert.match(row.classes[0].detail, /judged by the cloud: policy \(coalmine\.yaml:60\)/);
  assert.equal(row.analytic.analytic, 'AN0744');
  assert.equal(row.analytic.status, 'covered');
  assert.deepEqual(row.analytic.gaps, []);
  assert.deepEqual(row.analytic.notes, []);
  assert.equal(r.covered, true, 'an account/region alone is something seen');
  assert.equal(r.gapCount, 0);
});

test('AN0744: each missing class is one gap worded as the finding words it, per provider/account/region', () => {
  const r = coverageReport([], {
    policy: cloudPolicy(),
    cloud: [
      region('gcp', 'proj-1', 'us-central1', ['cpu']),
      region('aws', '123456789012', 'us-east-1', ['audit']),
      region('aws', '123456789012', 'ap-southeast-3', []),
      region('azure', '?', '?', ['network']),
    ],
  });
  assert.deepEqual(
    r.cloudRegions.map((x) => [x.provider, x.account, x.region]),
    [
      ['aws', '123456789012', 'ap-southeast-3'],
      ['aws', '123456789012', 'us-east-1'],
      ['azure', undefined, undefined],
      ['gcp', 'proj-1', 'us-central1'],
    ],
    'sorted by provider, account, region; an account or region not named is left out',
  );
  const [apse, east, azure, gcp] = r.cloudRegions;
  const apseWhere = cloudWhere('aws', '123456789012', 'ap-southeast-3');
  assert.equal(apseWhere, 'aws account 123456789012 ap-southeast-3');
  assert.deepEqual(cloudStatus(apse), { authorization: 'absent', reach: 'absent', resource: 'absent' });
  assert.deepEqual(apse.analytic.missing, ['authorization', 'reach', 'resource']);
  assert.deepEqual(apse.analytic.gaps, [
    noCloudAuditGap(apseWhere),
    noFlowOrDnsGap(apseWhere),
    noInstanceCpuGap(apseWhere),
  ]);
  assert.deepEqual(east.analytic.missing, ['reach', 'resource']);
  assert.deepEqual(east.analytic.gaps, [
    noFlowOrDnsGap('aws account 123456789012 us-east-1'),
    noInstanceCpuGap('aws account 123456789012 us-east-1'),
  ]);
  assert.deepEqual(azure.analytic.gaps, [noCloudAuditGap('azure'), noInstanceCpuGap('azure')]);
  assert.deepEqual(gcp.analytic.missing, ['authorization', 'reach']);
  assert.equal(r.gapCount, 3 + 2 + 2 + 2);
  assert.equal(r.covered, false);
  assert.match(
    apse.classes[0].detail,
    /the cloud: policy \(coalmine\.yaml:60\) has no launch to judge/,
    'a cloud: policy judges launches the audit log records: alone it answers nothing',
  );
});

test('AN0744: an audit log with no cloud: policy is judged against its own history (a note, not a gap)', () => {
  const r = coverageReport([], {
    policy: defaultPolicy(),
    policyFile: 'coalmine.yaml',
    cloud: [region('aws', '123456789012', 'us-east-1', ['audit', 'network', 'cpu'])],
  });
  const [row] = r.cloudRegions;
  assert.equal(row.analytic.status, 'covered');
  assert.deepEqual(row.classes[0].sources, ['audit']);
  assert.equal(row.analytic.notes.length, 1);
  assert.match(
    row.analytic.notes[0],
    /^no cloud: section in coalmine\.yaml: launches in aws account 123456789012 us-east-1 are judged only against the audit log's own history/,
  );
  const none = coverageReport([], { policy: defaultPolicy(), cloud: [region('aws', '1', 'r', ['audit'])] });
  assert.match(none.cloudRegions[0].analytic.notes[0], /^no policy file read \(--policy, or \.\/coalmine\.yaml\)/);
});

test('AN0744: DNS query logs or a detector answer reach; without flow logs each is noted', () => {
  const r = coverageReport([], {
    policy: cloudPolicy(),
    cloud: [
      region('aws', '1', 'dns-only', ['audit', 'dns', 'cpu']),
      region('aws', '1', 'gd-only', ['audit', 'detector', 'cpu']),
    ],
  });
  const [dns, gd] = r.cloudRegions;
  for (const row of [dns, gd]) {
    assert.equal(row.classes[1].status, 'present');
    assert.equal(row.analytic.status, 'covered');
    assert.equal(row.analytic.notes.length, 1);
  }
  assert.deepEqual(dns.classes[1].sources, ['dns']);
  assert.match(dns.analytic.notes[0], /only DNS query logs for aws account 1 dns-only, no flow logs/);
  assert.deepEqual(gd.classes[1].sources, ['detector']);
  assert.ok(gd.analytic.notes[0].includes(noFlowOrDnsGap('aws account 1 gd-only')), gd.analytic.notes[0]);
});

test("AN0744: an account's control-plane host (no telemetry of its own) is no host row; other hosts stay", () => {
  const account = new HostState('aws:123456789012', undefined);
  const instance = hostWith('i-0123456789abcdef0', undefined, [['network', 'vpc-flow', 'vpc-flow.flow']]);
  const sameNameWithTelemetry = hostWith('aws:999999999999', 'linux', [['process', 'auditd', 'auditd.execve']]);
  const cloud: CloudSeen = [
    region('aws', '123456789012', 'us-east-1', ['audit']),
    region('aws', '999999999999', 'eu-west-1', ['audit']),
  ];
  const r = coverageReport([account, instance, sameNameWithTelemetry], { policy: defaultPolicy(), cloud });
  assert.deepEqual(
    r.hosts.map((h) => h.host),
    ['aws:999999999999', 'i-0123456789abcdef0'],
  );
  const noCloud = coverageReport([account], { policy: defaultPolicy() });
  assert.deepEqual(
    noCloud.hosts.map((h) => h.host),
    ['aws:123456789012'],
    'without cloud rows nothing else says it was seen: the host row stays',
  );
  const withEmpty = coverageReport([instance], { policy: defaultPolicy(), cloud: [] });
  assert.deepEqual(withEmpty, coverageReport([instance], { policy: defaultPolicy() }));
});

test("AN0744: a finding's gaps and its account/region's coverage gaps are the same texts", () => {
  // a denied GPU launch in one region, a launch with flows but no CPU in another: each finding's gaps
  // are its region's coverage gaps (with the finding's `partial:` prefix), from the same engine
  const ts0 = Date.parse('2026-11-02T03:00:00Z');
  let line = 0;
  const call = (ms: number, region: string, extra: Partial<CoalEvent['coalmine']['cloud']> & object): CoalEvent => ({
    '@timestamp': new Date(ts0 + ms).toISOString(),
    event: {
      kind: 'event',
      category: ['configuration'],
      action: 'cloud-change',
      dataset: 'cloudtrail.test',
      outcome: extra.errorCode ? 'failure' : 'success',
      id: `e${++line}`,
    },
    host: { name: 'aws:123456789012' },
    cloud: { provider: 'aws', account: { id: '123456789012' }, region },
    original: {},
    coalmine: {
      ts: ts0 + ms,
      format: 'cloudtrail',
      ref: { file: 'trail.json', line },
      cloud: {
        provider: 'aws',
        account: '123456789012',
        region,
        operation: 'RunInstances',
        principal: { id: 'arn:aws:iam::123456789012:user/ci', type: 'IAMUser' },
        ...extra,
      },
    },
  });
  const flow: CoalEvent = {
    '@timestamp': new Date(ts0 + 120_000).toISOString(),
    event: { kind: 'event', category: ['network'], action: 'connect', dataset: 'vpc-flow.test' },
    host: { name: 'i-0aaaaaaaaaaaaaaa1' },
    cloud: {
      provider: 'aws',
      account: { id: '123456789012' },
      region: 'us-east-1',
      instance: { id: 'i-0aaaaaaaaaaaaaaa1' },
    },
    source: { ip: '10.0.0.5', port: 40000 },
    destination: { ip: '198.51.100.1', port: 443 },
    original: {},
    coalmine: { ts: ts0 + 120_000, format: 'vpc-flow', ref: { file: 'flow.log', line: 1 } },
  };
  const events = [
    call(0, 'ap-southeast-3', { instanceType: 'p3.16xlarge', count: 8, errorCode: 'Client.UnauthorizedOperation' }),
    call(60_000, 'us-east-1', {
      instanceType: 'p3.16xlarge',
      count: 1,
      instances: [{ id: 'i-0aaaaaaaaaaaaaaa1', type: 'p3.16xlarge' }],
      errorCode: 'Client.UnauthorizedOperation',
    }),
    flow,
  ];
  const findings: Finding[] = [];
  const engine = createDetector({ policy: defaultPolicy(), classify: () => {}, onFinding: (f) => findings.push(f) });
  for (const e of events) engine.push(e);
  engine.end();
  const report = coverageReport([], { policy: defaultPolicy(), cloud: engine.cloudRegions() });
  const an0744 = findings.filter((f) => f.analytic === 'AN0744');
  assert.ok(an0744.length >= 1, 'the denied GPU launch is a finding');
  let compared = 0;
  for (const f of an0744) {
    const row = report.cloudRegions.find((r) => r.account === f.facts.account && r.region === f.facts.region);
    assert.ok(row, `a coverage row for ${f.facts.region}`);
    for (const g of f.gaps) {
      assert.ok(
        row.analytic.gaps.map((x) => `partial: ${x}`).includes(g),
        `${g} is one of ${row.analytic.gaps.join(' | ')}`,
      );
      compared++;
    }
  }
  assert.ok(compared >= 2, 'the denied launch names the missing flows and CPU');
});

test('AN0744: an audit-only row with no region (account-wide calls) is folded into its account once a region of it is audited', () => {
  const r = coverageReport([], {
    policy: cloudPolicy(),
    cloud: [
      region('gcp', 'proj-1', '?', ['audit']),
      region('gcp', 'proj-1', 'us-central1', ['audit', 'network', 'cpu']),
      region('gcp', 'proj-2', '?', ['audit']),
      region('gcp', 'proj-3', '?', ['audit', 'cpu']),
      region('gcp', 'proj-3', 'europe-west4', ['audit']),
      region('gcp', 'proj-4', '?', ['audit']),
      region('gcp', 'proj-4', 'us-east1', ['network']),
    ],
  });
  assert.deepEqual(
    r.cloudRegions.map((x) => `${x.account}/${x.region ?? '?'}`),
    ['proj-1/us-central1', 'proj-2/?', 'proj-3/?', 'proj-3/europe-west4', 'proj-4/?', 'proj-4/us-east1'],
    'kept: the only row of an account, a row with more than audit, and one whose account has no audited region',
  );
  assert.equal(r.covered, false);
});
