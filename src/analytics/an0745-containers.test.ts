import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent, EventAction, WorkloadFacts } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { type ContainerPolicy, defaultPolicy, type Policy } from '../model/policy.js';
import type { Signal, SignalClass, SignalKind, Strength } from '../model/signal.js';
import { signalFor } from '../signals/make.js';
import { createDetector } from './index.js';

const T0 = Date.UTC(2026, 10, 2, 3, 0, 0);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
let line = 0;

function ev(ms: number, action: EventAction, fields: Partial<CoalEvent> = {}, kind?: 'state'): CoalEvent {
  const ts = T0 + ms;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: kind ?? (action === 'metric' ? 'metric' : 'event'), category: [], action, dataset: 'test' },
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 'test.log', line: ++line } },
    ...fields,
  };
}

/** An API write as the k8s-audit source gives it. */
function write(
  ms: number,
  user: string,
  workload: WorkloadFacts,
  extra: { groups?: string[]; ip?: string; outcome?: 'failure' } = {},
): CoalEvent {
  return ev(ms, 'workload-change', {
    host: { name: 'k8s-api' },
    user: { name: user, roles: extra.groups ?? ['system:authenticated'] },
    source: extra.ip ? { ip: extra.ip } : undefined,
    event: {
      kind: 'event',
      category: ['configuration'],
      action: 'workload-change',
      dataset: 'k8s-audit.event',
      outcome: extra.outcome ?? 'success',
    },
    coalmine: { ts: T0 + ms, format: 'k8s-audit', ref: { file: 'audit.log', line: ++line }, workload },
  });
}

const minerSpec = (
  name: string,
  namespace: string,
  image = 'docker.io/made-up/kube-metrics:latest',
): WorkloadFacts => ({
  verb: 'create',
  kind: 'DaemonSet',
  name,
  namespace,
  status: 201,
  hostPID: true,
  containers: [{ name: 'agent', image, cpuLimitCores: 2 }],
});

/** A process inside a pod of the workload, carrying a test signal (the real classifiers are tested elsewhere). */
function inPod(
  ms: number,
  pod: string,
  workload: { namespace: string; kind: string; name: string },
  node: string,
  signal?: { kind: SignalKind; class: SignalClass; strength: Strength },
  pid = 4120,
): CoalEvent {
  return ev(ms, 'exec', {
    host: { name: node, os: { platform: 'linux' } },
    process: { pid, name: 'xmrig', executable: '/tmp/.x/xmrig', command_line: '/tmp/.x/xmrig -o pool' },
    container: { id: `c0ffee${pod.length}${pid}`.padEnd(64, '0'), name: 'agent' },
    orchestrator: {
      namespace: workload.namespace,
      resource: { type: 'pod', name: pod, parent: { type: workload.kind, name: workload.name } },
    },
    original: signal ? { signal } : {},
  });
}

/** cAdvisor counter samples every minute (cores used, from..to minutes after `startMs`), as Prometheus gives them. */
function cpu(
  startMs: number,
  minutes: number,
  namespace: string,
  pod: string,
  cores: number,
  limit?: number,
): CoalEvent[] {
  const out: CoalEvent[] = [];
  for (let m = 0; m <= minutes; m++)
    out.push(
      ev(startMs + m * MIN, 'metric', {
        host: { name: 'worker-1' },
        metrics: {
          cpu_time_ms: 1_000_000 + m * MIN * cores,
          ...(limit !== undefined ? { cpu_limit_cores: limit } : {}),
        },
        container: { name: 'agent' },
        orchestrator: { namespace, resource: { type: 'pod', name: pod } },
      }),
    );
  return out;
}

function classify(event: CoalEvent, out: Signal[]): void {
  const s = event.original.signal as { kind: SignalKind; class: SignalClass; strength: Strength } | undefined;
  if (s) out.push(signalFor(event, { ...s, by: `test:${s.kind}`, explanation: `${s.kind} (test)` }));
}

function run(events: CoalEvent[], options: { state?: CoalEvent[]; policy?: Policy } = {}): Finding[] {
  const findings: Finding[] = [];
  const engine = createDetector({
    policy: options.policy ?? defaultPolicy(),
    classify,
    onFinding: (f) => findings.push(f),
  });
  for (const e of options.state ?? []) engine.pushState(e);
  for (const e of [...events].sort((a, b) => a.coalmine.ts - b.coalmine.ts)) engine.push(e);
  engine.end();
  return findings;
}

const MINER = { kind: 'miner-process', class: 'process', strength: 'strong' } as const;
const DS = { namespace: 'kube-system', kind: 'DaemonSet', name: 'kube-netmon' };

function anonymousMinerStory(withCpu: boolean): CoalEvent[] {
  const events = [
    write(0, 'system:anonymous', minerSpec('kube-netmon', 'kube-system'), {
      groups: ['system:unauthenticated'],
      ip: '203.0.113.45',
    }),
    inPod(2 * MIN, 'kube-netmon-x7k2p', DS, 'worker-1', MINER, 4120),
    inPod(2 * MIN, 'kube-netmon-b9zq4', DS, 'worker-2', MINER, 4121),
    inPod(2 * MIN, 'kube-netmon-q5wlm', DS, 'worker-3', MINER, 4122),
  ];
  if (withCpu) events.push(...cpu(3 * MIN, 40, 'kube-system', 'kube-netmon-x7k2p', 1.98, 2));
  return events;
}

test('an anonymous DaemonSet whose containers run a miner at their CPU limit: one high AN0745 finding on the workload', () => {
  const findings = run(anonymousMinerStory(true));
  assert.equal(findings.length, 1, JSON.stringify(findings.map((f) => f.title)));
  const f = findings[0];
  assert.equal(f.analytic, 'AN0745');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'authorization', 'tool']);
  assert.equal(f.entity, 'workload:cluster:kube-system:kube-netmon');
  assert.equal(f.facts.workload, 'DaemonSet/kube-netmon');
  assert.equal(f.facts.replicas, 3);
  assert.equal(f.facts.creator, 'system:anonymous');
  assert.deepEqual(f.facts.creator_source_ips, ['203.0.113.45']);
  assert.deepEqual(f.facts.images, ['docker.io/made-up/kube-metrics:latest']);
  assert.equal(f.facts.cpu_limit_cores, 2);
  assert.equal(f.facts.cpu_high_minutes, 40);
  assert.deepEqual(f.facts.nodes, ['worker-1', 'worker-2', 'worker-3']);
  assert.match(String(f.usage?.basis), /container CPU of 1 container /);
  assert.ok(f.usage && f.usage.core_hours > 1.2, JSON.stringify(f.usage));
  assert.ok(f.evidence.some((e) => e.kind === 'unauthorized-workload' && e.strength === 'strong'));
  assert.ok(f.evidence.some((e) => e.kind === 'sustained-cpu' && /2-core limit/.test(e.explanation)));
});

test('the same without container CPU metrics: medium, and the gap names the missing metrics', () => {
  const findings = run(anonymousMinerStory(false));
  assert.equal(findings.length, 1);
  assert.equal(findings[0].severity, 'medium');
  assert.deepEqual(findings[0].legs, ['authorization', 'tool']);
  assert.ok(
    findings[0].gaps.some((g) => /no container CPU metrics for kube-netmon/.test(g)),
    findings[0].gaps.join('\n'),
  );
});

test('a pod known only by its name (Prometheus) joins the workload its processes named', () => {
  const events = [
    inPod(0, 'kube-netmon-x7k2p', DS, 'worker-1', MINER),
    ...cpu(MIN, 30, 'kube-system', 'kube-netmon-x7k2p', 2, 2),
  ];
  const findings = run(events);
  assert.equal(findings.length, 1);
  assert.deepEqual(findings[0].legs, ['resource', 'tool']);
  assert.equal(findings[0].severity, 'medium');
});

test('a routine creator running a CI job at 100% of its limit: no finding (high CPU alone never alerts)', () => {
  const job = (i: number): WorkloadFacts => ({
    verb: 'create',
    kind: 'Job',
    name: `build-${4700 + i}`,
    namespace: 'ci',
    status: 201,
    containers: [{ name: 'agent', image: 'registry.example.com/ci/builder:1.4', cpuLimitCores: 4 }],
  });
  const events: CoalEvent[] = [];
  for (let i = 0; i < 6; i++)
    events.push(write(-3 * DAY + i * 600 * MIN, 'system:serviceaccount:ci:gitlab-runner', job(i)));
  events.push(write(0, 'system:serviceaccount:ci:gitlab-runner', job(9)));
  events.push(...cpu(MIN, 40, 'ci', 'build-4709-x2k4q', 4, 4));
  assert.deepEqual(run(events), []);
});

test('an autoscaler scaling 3 → 40 under load is no burst; a person doing it is evidence, not a finding alone', () => {
  const deploy: WorkloadFacts = {
    verb: 'create',
    kind: 'Deployment',
    name: 'api',
    namespace: 'shop',
    replicas: 3,
    status: 201,
    containers: [{ name: 'agent', image: 'registry.example.com/shop/api:2.3', cpuLimitCores: 1 }],
  };
  const scale = (user: string): CoalEvent =>
    write(DAY + 10 * MIN, user, {
      verb: 'scale',
      kind: 'Deployment',
      name: 'api',
      namespace: 'shop',
      replicas: 40,
      status: 200,
    });
  const hpa = run([
    write(0, 'alice', deploy),
    scale('system:serviceaccount:kube-system:horizontal-pod-autoscaler'),
    ...cpu(DAY + 11 * MIN, 40, 'shop', 'api-7d9f8c6b5-x2k4q', 1, 1),
  ]);
  assert.deepEqual(hpa, []);
  const byPerson = run([
    write(0, 'alice', deploy),
    scale('mallory'),
    ...cpu(DAY + 11 * MIN, 40, 'shop', 'api-7d9f8c6b5-x2k4q', 1, 1),
  ]);
  // burst + CPU, no tool and no strong authorization: at most low
  assert.equal(byPerson.length, 1);
  assert.ok(
    byPerson.every((f) => f.severity === 'low' && f.evidence.some((e) => e.kind === 'workload-burst')),
    JSON.stringify(byPerson.map((f) => [f.severity, f.summary])),
  );
});

test('first-seen creator with a first-seen image, after a day of history: authorization holds; with too little history it does not', () => {
  const routine: CoalEvent[] = [];
  for (let i = 0; i < 4; i++)
    routine.push(
      write(i * 10 * MIN, 'system:serviceaccount:ci:deployer', {
        verb: 'create',
        kind: 'Deployment',
        name: `svc-${i}`,
        namespace: 'apps',
        status: 201,
        containers: [{ name: 'agent', image: 'registry.example.com/apps/svc:1' }],
      }),
    );
  const at = (ms: number) => [
    write(ms, 'bob@example.com', {
      verb: 'create',
      kind: 'Deployment',
      name: 'cache-warmer',
      namespace: 'apps',
      replicas: 20,
      status: 201,
      containers: [{ name: 'agent', image: 'quay.io/unknown/warmer:1', cpuLimitCores: 1 }],
    }),
    inPod(
      ms + MIN,
      'cache-warmer-7d9f8c6b5-x2k4q',
      { namespace: 'apps', kind: 'Deployment', name: 'cache-warmer' },
      'worker-1',
      MINER,
    ),
  ];
  const late = run([...routine, ...at(2 * DAY)]);
  assert.equal(late.length, 1);
  assert.deepEqual(late[0].legs, ['authorization', 'tool']);
  assert.match(
    String(late[0].facts.authorization),
    /first write by bob@example.com in apps; image repository first seen/,
  );
  const early = run([...routine, ...at(2 * 60 * MIN)]);
  assert.equal(early.length, 1);
  assert.deepEqual(early[0].legs, ['tool'], 'a first-seen verdict needs a day of history');
});

test('the containers: policy approves by registry; an anonymous creator is never approved by it', () => {
  const policy = defaultPolicy();
  const containers: ContainerPolicy = {
    registries: ['docker.io/made-up'],
    images: [],
    namespaces: [],
    creators: [],
    labels: {},
    ref: 'coalmine.yaml:3',
  };
  policy.containers = containers;
  const human = run(
    [
      write(0, 'carol', minerSpec('kube-netmon', 'kube-system')),
      inPod(2 * MIN, 'kube-netmon-x7k2p', DS, 'worker-1', MINER),
    ],
    { policy },
  );
  assert.equal(human.length, 1);
  assert.deepEqual(human[0].legs, ['tool']);
  assert.match(String(human[0].facts.authorization), /approved by containers.registries "docker.io\/made-up"/);
  const anonymous = run(anonymousMinerStory(false), { policy });
  assert.deepEqual(anonymous[0].legs, ['authorization', 'tool']);
  // not approved and no audit log: the policy alone judges the images the workload showed
  const unlisted = run(
    [inPod(0, 'miner-x7k2p', { namespace: 'default', kind: 'DaemonSet', name: 'miner' }, 'worker-1', MINER)].map(
      (e) => ({ ...e, container: { ...e.container, image: { name: 'docker.io/other/x', tag: '1' } } }),
    ),
    { policy },
  );
  assert.deepEqual(unlisted[0].legs, ['authorization', 'tool']);
  assert.match(
    String(unlisted[0].facts.authorization),
    /no containers: entry \(coalmine.yaml:3\) approves default\/miner/,
  );
});

test('a workload running for weeks before its evidence is established: CPU and a weak sign give nothing', () => {
  const inventory = ev(
    -21 * DAY,
    'container-seen',
    {
      host: { name: 'worker-1' },
      orchestrator: { namespace: 'data', resource: { type: 'pod', name: 'etl-0' } },
      container: { name: 'agent', id: 'ab'.repeat(32) },
      coalmine: {
        ts: T0 - 21 * DAY,
        format: 'k8s-inventory',
        ref: { file: 'pods.json', line: 4 },
        workload: {
          verb: 'exists',
          kind: 'Pod',
          name: 'etl-0',
          namespace: 'data',
          owner: { kind: 'StatefulSet', name: 'etl' },
          createdMs: T0 - 21 * DAY,
          containers: [{ name: 'agent', image: 'registry.example.com/data/etl:9', cpuLimitCores: 2 }],
        },
      },
    },
    'state',
  );
  const weak = { kind: 'masquerade', class: 'process', strength: 'weak' } as const;
  const events = [
    inPod(0, 'etl-0', { namespace: 'data', kind: 'StatefulSet', name: 'etl' }, 'worker-1', weak),
    ...cpu(MIN, 40, 'data', 'etl-0', 2, 2),
  ];
  assert.deepEqual(run(events, { state: [inventory] }), []);
});

test('the in-container evidence is the workload’s only: no AN0742 finding on the node for it', () => {
  const findings = run(anonymousMinerStory(true));
  assert.deepEqual(
    findings.map((f) => f.analytic),
    ['AN0745'],
  );
});

test("a flow with no process from a pod's own address is its workload's (not for host-network pods)", () => {
  const pod = (hostNetwork: boolean) =>
    ev(
      -DAY,
      'container-seen',
      {
        host: { name: 'worker-1' },
        orchestrator: { namespace: 'default', resource: { type: 'pod', name: 'helper-x7k2p' } },
        coalmine: {
          ts: T0 - DAY,
          format: 'k8s-inventory',
          ref: { file: 'pods.json', line: 4 },
          workload: {
            verb: 'exists',
            kind: 'Pod',
            name: 'helper-x7k2p',
            namespace: 'default',
            owner: { kind: 'DaemonSet', name: 'helper' },
            hostNetwork,
            podIPs: ['10.244.1.12'],
            containers: [{ name: 'agent', image: 'docker.io/made-up/helper:1' }],
          },
        },
      },
      'state',
    );
  const flow = ev(0, 'connect', {
    host: { name: '10.244.1.12' },
    source: { ip: '10.244.1.12', port: 40000 },
    destination: { ip: '198.51.100.23', port: 3333 },
    original: { signal: { kind: 'pool-contact', class: 'network', strength: 'strong' } },
  });
  const joined = run([flow], { state: [pod(false)] });
  assert.deepEqual(
    joined.map((f) => [f.analytic, f.entity]),
    [['AN0745', 'workload:cluster:default:helper']],
  );
  const hostNet = run([flow], { state: [pod(true)] });
  assert.deepEqual(
    hostNet.map((f) => f.analytic),
    ['AN0742'],
  );
});

test('one identity creating a dozen workloads in minutes is a creation burst (authorization evidence)', () => {
  const events: CoalEvent[] = [];
  for (let i = 0; i < 12; i++)
    events.push(
      write(i * 20_000, 'eve', {
        verb: 'create',
        kind: 'Deployment',
        name: `w${i}`,
        namespace: 'sandbox',
        status: 201,
        containers: [{ name: 'agent', image: 'registry.example.com/tools/x:1' }],
      }),
    );
  events.push(
    inPod(5 * MIN, 'w11-7d9f8c6b5-x2k4q', { namespace: 'sandbox', kind: 'Deployment', name: 'w11' }, 'worker-1', MINER),
  );
  const findings = run(events);
  const w11 = findings.find((f) => f.entity === 'workload:cluster:sandbox:w11');
  assert.ok(
    w11?.evidence.some((e) => e.kind === 'workload-burst' && /12 workloads created by eve/.test(e.explanation)),
  );
  assert.deepEqual(w11?.legs, ['authorization', 'tool']);
});

test('a plain Docker container: no audit-log gap (Docker has none); without a containers: policy the gap says so', () => {
  const docker = ev(0, 'exec', {
    host: { name: 'build-07', os: { platform: 'linux' } },
    process: { pid: 900, name: 'kworker', executable: '/tmp/kworker' },
    container: { id: 'ef'.repeat(32), name: 'festive_turing', image: { name: 'docker.io/made-up/tools', tag: '1' } },
    original: { signal: MINER },
  });
  const [f] = run([docker]);
  assert.equal(f.entity, 'workload:build-07:docker:festive_turing');
  assert.ok(
    f.gaps.some((g) => /no containers: policy for build-07\/docker: Docker records no creator/.test(g)),
    f.gaps.join('\n'),
  );
  assert.ok(!f.gaps.some((g) => /audit log/.test(g)));
});

test('live (watch): a workload finding is reported as soon as it holds, and again when CPU raises it', () => {
  const reports: Array<{ f: Finding; revision: number }> = [];
  const engine = createDetector({
    policy: defaultPolicy(),
    classify,
    live: true,
    onFinding: (f, revision) => reports.push({ f, revision }),
  });
  const [create, ...pods] = anonymousMinerStory(false);
  engine.push(create);
  for (const e of pods) engine.push(e);
  engine.tick(T0 + 3 * MIN);
  assert.deepEqual(
    reports.map((r) => [r.f.analytic, r.f.severity, r.revision]),
    [['AN0745', 'medium', 1]],
  );
  for (const e of cpu(3 * MIN, 40, 'kube-system', 'kube-netmon-x7k2p', 1.98, 2)) engine.push(e);
  engine.tick(T0 + 44 * MIN);
  assert.deepEqual(
    reports.map((r) => [r.f.severity, r.revision, r.f.id === reports[0].f.id]),
    [
      ['medium', 1, true],
      ['high', 2, true],
    ],
  );
});

test('a containers: entry past its expiry at the write approves nothing, and the finding names it; in force it names its owner', () => {
  const withExpiry = (expires: string): Policy => {
    const policy = defaultPolicy();
    policy.containers = {
      registries: ['docker.io/made-up'],
      images: [],
      namespaces: [],
      creators: [],
      labels: {},
      ref: 'coalmine.yaml:1',
      terms: { registries: [{ owner: 'netops', reason: 'CHG-7', expires, ref: 'coalmine.yaml:3' }] },
    };
    return policy;
  };
  const story = [
    write(0, 'carol', minerSpec('kube-netmon', 'kube-system')),
    inPod(2 * MIN, 'kube-netmon-x7k2p', DS, 'worker-1', MINER),
  ];
  // the write (2026-11-02T03:00Z) is judged, not the clock: an expiry that day still approves it
  const current = run(story, { policy: withExpiry('2026-11-02') });
  assert.deepEqual(current[0].legs, ['tool']);
  assert.equal(
    current[0].facts.authorization,
    'approved by containers.registries "docker.io/made-up" (coalmine.yaml:3; owner netops; reason "CHG-7"; expires 2026-11-02)',
  );
  const lapsed = run(story, { policy: withExpiry('2026-11-01') });
  assert.deepEqual(lapsed[0].legs, ['authorization', 'tool']);
  assert.equal(
    lapsed[0].facts.authorization,
    'not approved by the containers: policy (coalmine.yaml:1): containers.registries "docker.io/made-up" (coalmine.yaml:3; owner netops; reason "CHG-7") expired 2026-11-01, before this write at 2026-11-02T03:00:00.000Z',
  );
  // no audit log: the policy judges the workload at its first evidence, and names the lapsed entry too
  const unwritten = run(
    [inPod(0, 'miner-x7k2p', { namespace: 'default', kind: 'DaemonSet', name: 'miner' }, 'worker-1', MINER)].map(
      (e) => ({ ...e, container: { ...e.container, image: { name: 'docker.io/made-up/x', tag: '1' } } }),
    ),
    { policy: withExpiry('2026-11-01') },
  );
  assert.deepEqual(unwritten[0].legs, ['authorization', 'tool']);
  assert.match(
    String(unwritten[0].facts.authorization),
    /^no containers: entry in force approves default\/miner: containers\.registries "docker\.io\/made-up" \(coalmine\.yaml:3; owner netops; reason "CHG-7"\) expired 2026-11-01, before this workload's first evidence at 2026-11-02T03:00:00\.000Z$/,
  );
});
