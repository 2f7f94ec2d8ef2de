/**
 * End to end, issue 13 acceptance 2 and 3: the AN0745 container scenarios in
 * test/fixtures/scenarios/containers/ (audit log with 3 days of history, Tetragon, Prometheus, kubectl
 * inventory; see its README) through the real CLI, `hunt DIR --format ndjson`, one run per scenario.
 * Positives: one AN0745 finding on the workload with the legs, severity, facts and plan the issue asks
 * for. Negatives: busy but legitimate workloads raise nothing above informational; each negative's own
 * files are checked to really hold the pinned CPU it claims, so "no finding" is not a scenario that
 * was never read.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const SCENARIOS = join(import.meta.dirname, '..', 'fixtures', 'scenarios', 'containers');
const POLICIES: Record<string, string> = { 'approved-proxy': join(SCENARIOS, 'approved-proxy-policy.yaml') };

/** The source each file of a scenario is written in (by the name the generator gives it). */
function formatOf(file: string): string {
  if (file.startsWith('audit')) return 'k8s-audit';
  if (file === 'tetragon.json') return 'tetragon';
  if (file === 'prometheus.json') return 'prometheus';
  if (file === 'pods.json') return 'k8s-inventory';
  throw new Error(`unexpected file ${file} in a container scenario`);
}

interface Run {
  findings: Finding[];
  stderr: string;
}

const runs = new Map<string, Run>();

/** `hunt DIR --format ndjson` once per scenario: exit 0, every file read by its own source, no bad record. */
function hunt(name: string): Run {
  const cached = runs.get(name);
  if (cached) return cached;
  const dir = join(SCENARIOS, name);
  const policy = POLICIES[name];
  const r = runCli(['hunt', dir, '--format', 'ndjson', ...(policy ? ['--policy', policy] : [])]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /bad input|not read/, `${name}: every record is read\n${r.stderr}`);
  const formats = new Map<string, number>();
  for (const file of readdirSync(dir)) formats.set(formatOf(file), (formats.get(formatOf(file)) ?? 0) + 1);
  const files = [...formats.values()].reduce((a, b) => a + b, 0);
  assert.match(r.stderr, new RegExp(`coalmine: ${files} files \\(`), r.stderr);
  for (const [format, n] of formats)
    assert.match(r.stderr, new RegExp(`\\b${format} ${n}\\b`), `${name}: ${format}\n${r.stderr}`);
  const run = { findings: ndjsonFindings(r.stdout), stderr: r.stderr };
  runs.set(name, run);
  return run;
}

/** The one AN0745 finding of a positive scenario. */
function an0745(name: string): Finding {
  const { findings } = hunt(name);
  const found = findings.filter((f) => f.analytic === 'AN0745');
  assert.equal(found.length, 1, `${name}: one AN0745 finding\n${JSON.stringify(findings, null, 1)}`);
  return found[0];
}

function list(f: Finding, fact: string): string[] {
  const v = f.facts[fact];
  assert.ok(Array.isArray(v), `facts.${fact} is a list: ${JSON.stringify(f.facts)}`);
  return v;
}

/** Pod names of a workload as the scenario's kubectl inventory lists them. */
function inventoryPods(name: string, owner: string): string[] {
  const list = JSON.parse(readFileSync(join(SCENARIOS, name, 'pods.json'), 'utf8')) as {
    items: Array<{ kind: string; metadata: { name: string; ownerReferences?: Array<{ name: string }> } }>;
  };
  return list.items
    .filter((o) => o.kind === 'Pod' && o.metadata.ownerReferences?.some((r) => r.name === owner))
    .map((o) => o.metadata.name)
    .sort();
}

function containmentCommands(f: Finding): string[] {
  assert.ok(f.triage, 'the playbook ran');
  return f.triage.containment.steps.flatMap((s) => s.commands);
}

test('an anonymous identity deploying a miner DaemonSet at its CPU limit is one high AN0745 finding on the workload', () => {
  const f = an0745('miner-daemonset');
  assert.equal(f.severity, 'high');
  assert.equal(f.entity, 'workload:cluster:kube-system:kube-netmon');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'resource', 'tool']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
  assert.equal(f.facts.namespace, 'kube-system');
  assert.equal(f.facts.workload, 'DaemonSet/kube-netmon');
  assert.equal(f.facts.creator, 'system:anonymous');
  assert.deepEqual(list(f, 'creator_source_ips'), ['203.0.113.45']);
  assert.ok(
    list(f, 'images').some((i) => /(^|\/)alpine:3\.19$/.test(i)),
    JSON.stringify(f.facts.images),
  );
  // one image, one digest: Tetragon's and the inventory's name the same image
  assert.equal(list(f, 'image_digests').length, 1, JSON.stringify(f.facts.image_digests));
  // the three pods the daemon-set-controller made, and only those (a generateName is no pod)
  assert.deepEqual([...list(f, 'pods')].sort(), inventoryPods('miner-daemonset', 'kube-netmon'));
  assert.deepEqual([...list(f, 'nodes')].sort(), ['worker-1', 'worker-2', 'worker-3']);
  assert.equal(f.facts.cpu_limit_cores, 2);
  assert.ok(
    f.usage && f.usage.core_hours > 3,
    `three containers at 2 cores for 40+ minutes: ${JSON.stringify(f.usage?.core_hours)}`,
  );
  const commands = containmentCommands(f);
  assert.ok(
    commands.some((c) => /\bkubectl\b/.test(c) && /\bkube-system\b/.test(c) && /\bkube-netmon\b/.test(c)),
    `a kubectl command for the DaemonSet in the plan:\n${commands.join('\n')}`,
  );
});

test('the same miner without Prometheus data is medium and names the missing container CPU', () => {
  const f = an0745('miner-daemonset-nocpu');
  assert.equal(f.severity, 'medium');
  assert.equal(f.entity, 'workload:cluster:kube-system:kube-netmon');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'tool']);
  assert.ok(
    f.gaps.some((g) => /container CPU/i.test(g) && /kube-netmon/.test(g)),
    `a gap names the missing container CPU: ${JSON.stringify(f.gaps)}`,
  );
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
  assert.equal(f.facts.creator, 'system:anonymous');
});

test('a first-seen user deploying 20 replicas of a renamed miner from a new registry is high, judged against 3 days of history', () => {
  const f = an0745('first-seen-identity');
  assert.equal(f.severity, 'high');
  assert.equal(f.entity, 'workload:cluster:shop:metrics-exporter');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'resource', 'tool']);
  assert.equal(f.facts.workload, 'Deployment/metrics-exporter');
  assert.equal(f.facts.replicas, 20);
  assert.equal(f.facts.creator, 'j.smith@example.com');
  assert.deepEqual(list(f, 'images'), ['ghcr.io/mtx-labs/metrics-exporter:1.4.2']);
  assert.deepEqual([...list(f, 'nodes')].sort(), ['worker-1', 'worker-2', 'worker-3', 'worker-4']);
  // the baseline says what judged the creator and image, and over how much history
  assert.match(String(f.facts.authorization), /j\.smith@example\.com/);
  assert.match(String(f.facts.authorization), /3 days/);
  assert.equal(f.facts.executable, '/usr/local/bin/kworker');
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
});

test('a proxyware pod created by a first-seen user is medium without any CPU data', () => {
  const f = an0745('proxyware-pod');
  assert.equal(f.severity, 'medium');
  assert.equal(f.entity, 'workload:cluster:default:netcheck');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'tool']);
  assert.equal(f.facts.creator, 'k.lee@example.com');
  assert.ok(
    f.evidence.some((e) => e.kind === 'proxyware-process'),
    JSON.stringify(f.evidence, null, 1),
  );
});

/** Containers whose CPU stayed at ≥ 90% of their limit (1 core when none is known) for 15 minutes. */
function pinnedContainers(name: string): string[] {
  const doc = JSON.parse(readFileSync(join(SCENARIOS, name, 'prometheus.json'), 'utf8')) as {
    data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  };
  const limits = new Map<string, number>();
  for (const s of doc.data.result)
    if (s.metric.__name__ === 'kube_pod_container_resource_limits' && s.metric.resource === 'cpu')
      limits.set(`${s.metric.pod}/${s.metric.container}`, Number(s.values[0][1]));
  const pinned: string[] = [];
  for (const s of doc.data.result) {
    if (s.metric.__name__ !== 'container_cpu_usage_seconds_total') continue;
    const key = `${s.metric.pod}/${s.metric.container}`;
    const bar = 0.9 * (limits.get(key) ?? 1);
    let since: number | undefined;
    for (let i = 1; i < s.values.length; i++) {
      const [t0, v0] = s.values[i - 1];
      const [t1, v1] = s.values[i];
      const cores = (Number(v1) - Number(v0)) / (t1 - t0);
      if (cores < bar) since = undefined;
      else since ??= t0;
      if (since !== undefined && t1 - since >= 15 * 60) {
        pinned.push(key);
        break;
      }
    }
  }
  return pinned;
}

const NEGATIVES: Array<{ name: string; pinned: RegExp }> = [
  { name: 'ci-runner-jobs', pinned: /^build-\d+-\w{5}\/build$/ },
  { name: 'spark-job', pinned: /-exec-\d\/spark-kubernetes-executor$/ },
  { name: 'ml-training', pinned: /^resnet50-ddp-(master|worker)-\d\/pytorch$/ },
  { name: 'approved-proxy', pinned: /^(squid|envoy)-\w+-\w{5}\/(squid|envoy)$/ },
  { name: 'weeks-old-images', pinned: /^(transcoder-\w+-\w{5}\/transcoder|opensearch-\d\/opensearch)$/ },
  { name: 'kube-system-daemonsets', pinned: /^calico-node-\w{5}\/calico-node$/ },
  { name: 'hpa-scale', pinned: /^checkout-\w+-\w{5}\/checkout$/ },
];

for (const { name, pinned } of NEGATIVES) {
  test(`negative ${name}: busy containers of a legitimate workload raise nothing above informational`, () => {
    const hot = pinnedContainers(name);
    assert.ok(
      hot.some((c) => pinned.test(c)),
      `the scenario holds the pinned CPU it is about: ${JSON.stringify(hot)}`,
    );
    const { findings } = hunt(name);
    const raised = findings.filter((f) => f.severity !== 'informational');
    assert.deepEqual(
      raised.map((f) => `${f.severity} ${f.analytic} ${f.entity}: ${f.summary}`),
      [],
      JSON.stringify(raised, null, 1),
    );
  });
}

test('control: the hot CI build with xmrig started inside it is reported, so the CI negative is quiet for its creator and tools, not for unread CPU', (t) => {
  const work = mkdtempSync(join(tmpdir(), 'coalmine-containers-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const dir = join(work, 'ci-runner-jobs');
  cpSync(join(SCENARIOS, 'ci-runner-jobs'), dir, { recursive: true });
  const path = join(dir, 'tetragon.json');
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  type Exec = { process_exec?: { process: Record<string, unknown> & { binary: string; pod: { name: string } } } };
  const make = lines.map((l) => JSON.parse(l) as Exec).find((e) => e.process_exec?.process.binary === '/usr/bin/make');
  assert.ok(make?.process_exec, 'the scenario has the hot build and its make');
  const parent = make.process_exec.process;
  const miner = {
    ...parent,
    exec_id: 'Y29udHJvbDoxOjk5OTk=',
    pid: 9999,
    tid: 9999,
    binary: '/tmp/xmrig',
    arguments:
      '-o pool.supportxmr.com:443 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A',
    parent_exec_id: parent.exec_id,
  };
  const first = JSON.parse(lines[0]) as { node_name: string; time: string };
  lines.push(
    JSON.stringify({ process_exec: { process: miner, parent }, node_name: first.node_name, time: first.time }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  const r = runCli(['hunt', dir, '--format', 'ndjson', '--no-summary']);
  assert.equal(r.code, 0, r.stderr);
  const found = ndjsonFindings(r.stdout).filter((f) => f.analytic === 'AN0745');
  assert.equal(found.length, 1, r.stdout);
  const f = found[0];
  assert.equal(f.entity, `workload:cluster:ci:build-${/build-(\d+)/.exec(parent.pod.name)?.[1]}`);
  // the routine creator still answers authorization: CPU and the miner are the two legs
  assert.deepEqual([...f.legs].sort(), ['resource', 'tool']);
  assert.equal(f.severity, 'medium');
});
