import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import { k8sInventory } from './k8s-inventory.js';
import type { SourceInput } from './types.js';

const good = fileInput('test/fixtures/k8s-inventory/good.json', { hostHint: 'ops-laptop' });
const bad = fileInput('test/fixtures/k8s-inventory/bad.json');
const goodText = good.head.toString('utf8');

/** The good file as copied while kubectl wrote it: it ends inside the CronJob's creationTimestamp. */
function cutInside(marker: string, broken: string): { input: SourceInput; at: number; broken: string } {
  const at = goodText.indexOf(marker, goodText.lastIndexOf('"kind": "CronJob"'));
  const text = `${goodText.slice(0, at + marker.length)}${broken}`;
  return { input: memoryInput('cut-good.json', text), at: text.split('\n').length, broken };
}

runSourceContract({
  source: k8sInventory,
  good,
  bad,
  cut: cutInside('"creationTimestamp": "', '2026-06-0'),
  skip: { oversized: 'one JSON document, not lines: an oversized object is its own test below' },
});

const byName = (events: CoalEvent[], dataset: string, name: string) =>
  events.find(
    (e) =>
      e.event.dataset === dataset &&
      e.coalmine.workload?.name === name &&
      (dataset !== 'k8s-inventory.container' || true),
  );

test('each workload object is one state event, each Pod container one more; Services are unused', async () => {
  const { events } = await readAll(k8sInventory, good);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.coalmine.workload?.name, e.container?.name]),
    [
      ['k8s-inventory.pod', 'web-7d9f8c6b5-x2k4q', undefined],
      ['k8s-inventory.container', 'web-7d9f8c6b5-x2k4q', 'nginx'],
      ['k8s-inventory.pod', 'system-monitor-4hz7m', undefined],
      ['k8s-inventory.container', 'system-monitor-4hz7m', 'monitor'],
      ['k8s-inventory.pod', 'nightly-report-29410560-qz8tw', undefined],
      ['k8s-inventory.container', 'nightly-report-29410560-qz8tw', 'report'],
      ['k8s-inventory.daemonset', 'system-monitor', undefined],
      ['k8s-inventory.deployment', 'web', undefined],
      ['k8s-inventory.replicaset', 'web-7d9f8c6b5', undefined],
      ['k8s-inventory.job', 'nightly-report-29410560', undefined],
      ['k8s-inventory.cronjob', 'nightly-report', undefined],
    ],
  );
  for (const e of events) {
    assert.equal(e.event.kind, 'state');
    assert.equal(e.event.action, 'container-seen');
    assert.equal(e.coalmine.workload?.verb, 'exists');
  }
  let unused = 0;
  for await (const batch of k8sInventory.read(good, TEST_CONTEXT)) unused += batch.unused ?? 0;
  assert.equal(unused, 1);
});

test("a miner DaemonSet's pod: container id, runtime, image digest, privileged, host namespaces, CPU limit, node as host", async () => {
  const { events } = await readAll(k8sInventory, good);
  const c = events.find((e) => e.container?.name === 'monitor');
  assert.ok(c);
  assert.equal(c['@timestamp'], '2026-12-01T02:13:07.000Z');
  assert.deepEqual(c.host, { name: 'worker-2' });
  assert.deepEqual(c.container, {
    runtime: 'containerd',
    id: 'd2'.repeat(32),
    name: 'monitor',
    image: { name: 'docker.io/library/alpine', tag: '3.19', hash: { all: [`sha256:${'b2'.repeat(32)}`] } },
    security_context: { privileged: true },
  });
  assert.deepEqual(c.orchestrator, {
    namespace: 'default',
    resource: { type: 'pod', name: 'system-monitor-4hz7m', parent: { type: 'daemonset', name: 'system-monitor' } },
  });
  assert.deepEqual(c.metrics, { cpu_limit_cores: 2 });
  const w = c.coalmine.workload;
  assert.ok(w);
  assert.deepEqual(w.owner, { kind: 'DaemonSet', name: 'system-monitor' });
  assert.equal(w.hostPID, true);
  assert.equal(w.hostNetwork, true);
  assert.deepEqual(w.hostPaths, ['/']);
  assert.equal(w.node, 'worker-2');
  assert.equal(w.containers?.length, 1);
  assert.match(w.containers?.[0].command?.[2] ?? '', /xmrig -o pool\.supportxmr\.com:3333/);
  assert.deepEqual(w.containers?.[0].env, ['POOL=pool.supportxmr.com:3333', 'TOKEN=(from secret)']);
  assert.equal(w.createdMs, Date.parse('2026-12-01T02:13:07Z'));
});

test('the owner is the top of the chain this file resolves: Pod → ReplicaSet → Deployment, Pod → Job → CronJob', async () => {
  const { events } = await readAll(k8sInventory, good);
  const owner = (dataset: string, name: string) => byName(events, dataset, name)?.coalmine.workload?.owner;
  assert.deepEqual(owner('k8s-inventory.pod', 'web-7d9f8c6b5-x2k4q'), { kind: 'Deployment', name: 'web' });
  assert.deepEqual(owner('k8s-inventory.replicaset', 'web-7d9f8c6b5'), { kind: 'Deployment', name: 'web' });
  assert.deepEqual(owner('k8s-inventory.pod', 'nightly-report-29410560-qz8tw'), {
    kind: 'CronJob',
    name: 'nightly-report',
  });
  assert.equal(owner('k8s-inventory.deployment', 'web'), undefined);
  // the direct owner stays the orchestrator parent
  const pod = byName(events, 'k8s-inventory.pod', 'web-7d9f8c6b5-x2k4q');
  assert.deepEqual(pod?.orchestrator?.resource?.parent, { type: 'replicaset', name: 'web-7d9f8c6b5' });
  // without its ReplicaSet in the file, the chain stops at the reference the pod names
  const alone = JSON.parse(goodText).items[0];
  const { events: one } = await readAll(k8sInventory, memoryInput('pod.json', JSON.stringify(alone, null, 4)));
  assert.deepEqual(one[0].coalmine.workload?.owner, { kind: 'ReplicaSet', name: 'web-7d9f8c6b5' });
});

test('workload facts: replicas, CPU limits and requests parsed from quantities, labels, docker:// ids, no node → the host hint', async () => {
  const { events } = await readAll(k8sInventory, good);
  const web = byName(events, 'k8s-inventory.deployment', 'web')?.coalmine.workload;
  assert.equal(web?.replicas, 3);
  assert.deepEqual(web?.containers, [
    { name: 'nginx', image: 'nginx:1.25.3', cpuLimitCores: 0.5, cpuRequestCores: 0.1 },
  ]);
  assert.deepEqual(web?.labels, { app: 'web', 'change-ticket': 'CHG-1042' });
  assert.deepEqual(byName(events, 'k8s-inventory.deployment', 'web')?.host, { name: 'ops-laptop' });
  assert.equal(byName(events, 'k8s-inventory.daemonset', 'system-monitor')?.coalmine.workload?.replicas, 3);
  const report = events.find((e) => e.container?.name === 'report');
  assert.equal(report?.container?.runtime, 'docker');
  assert.deepEqual(report?.container?.image, {
    name: 'registry.example.com:5000/finance/report',
    tag: '2.4.1',
    hash: { all: [`sha256:${'e3'.repeat(32)}`] },
  });
  assert.deepEqual(report?.metrics, { cpu_limit_cores: 1.5 });
});

test('every bad object is reported with its line and a reason; the good ones around it are read', async () => {
  const { events, issues } = await readAll(k8sInventory, bad);
  assert.deepEqual(
    issues.map((i) => i.code),
    [
      'K8S_INVENTORY_NOT_OBJECT',
      'K8S_INVENTORY_NO_KIND',
      'K8S_INVENTORY_NO_NAME',
      'K8S_INVENTORY_BAD_JSON',
      'K8S_INVENTORY_BAD_CONTAINER_ID',
      'K8S_INVENTORY_BAD_CONTAINER',
      'K8S_INVENTORY_NO_SPEC',
    ],
  );
  const lines = bad.head.toString('utf8').split('\n');
  for (const i of issues) assert.match(lines[(i.line ?? 0) - 1] ?? '', /^ {8}(\{|")/, `${i.code} points at its item`);
  const badId = events.find((e) => e.coalmine.workload?.name === 'bad-id' && e.container);
  assert.ok(badId, 'a container with a bad id is still seen');
  assert.equal(badId.container?.id, undefined);
  assert.equal(badId.metrics, undefined, 'a negative CPU limit is no limit');
  assert.ok(events.some((e) => e.coalmine.workload?.name === 'web-7d9f8c6b5-x2k4q'));
});

test('a bad creationTimestamp is reported; the file time stands in when known, else the object is skipped', async () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', creationTimestamp: 'yesterday' },
    spec: { containers: [{ name: 'a', image: 'busybox' }] },
  };
  const text = JSON.stringify(pod, null, 4);
  const skipped = await readAll(k8sInventory, memoryInput('p.json', text));
  assert.equal(skipped.events.length, 0);
  assert.deepEqual(
    skipped.issues.map((i) => [i.code, i.line]),
    [['K8S_INVENTORY_BAD_TIME', 1]],
  );
  const mtimeMs = Date.parse('2026-12-02T00:00:00Z');
  const dated = await readAll(k8sInventory, memoryInput('p.json', text, { mtimeMs }));
  assert.equal(dated.events[0].coalmine.ts, mtimeMs);
  assert.equal(dated.issues.length, 1);
});

test('an oversized object is reported and skipped, the next read', async () => {
  const huge = { kind: 'Pod', metadata: { name: 'huge', annotations: { x: 'A'.repeat(5 * 1024 * 1024) } } };
  const next = JSON.parse(goodText).items[1];
  const text = JSON.stringify({ apiVersion: 'v1', items: [huge, next], kind: 'List' });
  const { events, issues } = await readAll(k8sInventory, memoryInput('big.json', text));
  assert.deepEqual(
    issues.map((i) => i.code),
    ['K8S_INVENTORY_RECORD_TOO_LARGE'],
  );
  assert.ok(events.some((e) => e.coalmine.workload?.name === 'system-monitor-4hz7m'));
});

test('fuzz: random cuts and byte flips of the fixture never throw, and a damaged file is reported', async () => {
  let seed = 13;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = Buffer.from(goodText);
  for (let round = 0; round < 60; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(4); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5d, 0x2c, 0x00, 0x41][rand(7)];
    const { events, issues } = await readAll(k8sInventory, memoryInput(`fuzz-${round}.json`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) assert.equal(e.event.action, 'container-seen');
  }
});

test('sniffed from kubectl output, a single object too; an audit Event or docker inspect is not inventory', () => {
  assert.equal(sniffSource(good)?.name, 'k8s-inventory');
  const pod = JSON.stringify(JSON.parse(goodText).items[0], null, 4);
  assert.ok(k8sInventory.sniff(pod, { name: 'p.json' }) > 0);
  const audit =
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","verb":"create","objectRef":{"resource":"pods"},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{}}}';
  assert.equal(k8sInventory.sniff(audit, { name: 'audit.log' }), 0);
  assert.equal(k8sInventory.sniff('[{"Id":"abc","State":{}}]', { name: 'x.json' }), 0);
});

test("a pod's own addresses are workload facts, so flows from them join it", async () => {
  const { events } = await readAll(k8sInventory, good);
  const web = events.find(
    (e) => e.event.dataset === 'k8s-inventory.pod' && e.coalmine.workload?.name === 'web-7d9f8c6b5-x2k4q',
  );
  assert.deepEqual(web?.coalmine.workload?.podIPs, ['10.244.1.12']);
  const garbage = memoryInput(
    'ips.json',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'n', creationTimestamp: '2026-11-01T00:00:00Z' },
      spec: { containers: [{ name: 'c', image: 'x' }] },
      status: { podIP: '10.0.0.1; rm -rf /', podIPs: [{ ip: 'fd00::7' }, 'nope', { ip: 42 }] },
    }),
  );
  const read = await readAll(k8sInventory, garbage);
  assert.deepEqual(read.events[0].coalmine.workload?.podIPs, ['fd00::7']);
});
