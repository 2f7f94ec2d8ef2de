import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CloudFacts, CoalEvent } from '../model/event.js';
import { DEFAULT_THRESHOLDS } from '../model/policy.js';
import { InstanceTable, identityOf } from './instances.js';

function metric(ts: number, cloud: CoalEvent['cloud']): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'metric', category: [], action: 'metric', dataset: 'test' },
    host: { name: 'i-0abc' },
    metrics: { cpu_pct: 20 },
    cloud,
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 't', line: 1 } },
  };
}

test('an account or region holding the separator stays whole in the coverage rows', () => {
  const table = new InstanceTable(undefined);
  table.observe(
    metric(1, { provider: 'aws', account: { id: 'a|b' }, region: 'x|y', instance: { id: 'i-0abc' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.deepEqual(
    table.regions().map((r) => [r.provider, r.account, r.region, [...r.telemetry]]),
    [['aws', 'a|b', 'x|y', ['cpu']]],
  );
});

test('an instance first named without account or region learns them from a later record', () => {
  const table = new InstanceTable(undefined);
  table.observe(metric(1, { provider: 'aws', instance: { id: 'i-0abc' } }), DEFAULT_THRESHOLDS, []);
  table.observe(
    metric(2, { provider: 'aws', account: { id: '123456789012' }, region: 'eu-west-1', instance: { id: 'i-0abc' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.ok(
    table.regions().some((r) => r.account === '123456789012' && r.region === 'eu-west-1' && r.telemetry.has('cpu')),
  );
});

function launchCall(ts: number, cloud: CloudFacts): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: ['configuration'], action: 'cloud-change', dataset: 'test', outcome: 'success' },
    cloud: { provider: cloud.provider, account: { id: cloud.account ?? '' }, region: cloud.region },
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 't', line: ts }, cloud },
  };
}

test('a GCP VM joins its insert whether a record names it by number or by name', () => {
  const table = new InstanceTable(undefined);
  const insert = table.observe(
    launchCall(1000, {
      provider: 'gcp',
      account: 'proj-a',
      region: 'us-central1',
      operation: 'v1.compute.instances.insert',
      instances: [{ id: '4417220383512334', name: 'miner-7', type: 'a2-highgpu-1g' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.ok(insert);
  // a flow record names the VM only by its name (as gcp-flow gives it: the name stands for the id)
  const byName = table.observe(
    metric(2000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: 'miner-7', name: 'miner-7' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const byNumber = table.observe(
    metric(3000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: '4417220383512334' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.equal(byName?.key, insert.key);
  assert.equal(byNumber?.key, insert.key);
  assert.equal(insert.instances.size, 1);
  // the same name in another project is another VM
  const other = table.observe(
    metric(4000, { provider: 'gcp', account: { id: 'proj-b' }, instance: { id: 'miner-7', name: 'miner-7' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.notEqual(other?.key, insert.key);
});

test('an insert naming its VM without an id still makes the instance its flows and metrics join', () => {
  const table = new InstanceTable(undefined);
  const insert = table.observe(
    launchCall(1000, {
      provider: 'gcp',
      account: 'proj-a',
      region: 'us-central1',
      operation: 'v1.compute.instances.insert',
      instances: [{ name: 'gpu-1' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const later = table.observe(
    metric(2000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: '99', name: 'gpu-1' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.equal(later?.key, insert?.key);
});

test("a scale set's or managed group's VM, first seen in its metrics, joins the group's launch", () => {
  const table = new InstanceTable(undefined);
  const set = '/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/miners';
  const azure = table.observe(
    launchCall(1000, {
      provider: 'azure',
      account: 's1',
      region: 'eastus',
      operation: 'Microsoft.Compute/virtualMachineScaleSets/write',
      count: 20,
      resources: [{ type: 'scale-set', name: 'miners' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const vm = table.observe(
    metric(2000, { provider: 'azure', account: { id: 's1' }, instance: { id: `${set}/virtualmachines/3` } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.equal(vm?.key, azure?.key);
  const gcp = table.observe(
    launchCall(1000, {
      provider: 'gcp',
      account: 'proj-a',
      region: 'us-central1',
      operation: 'v1.compute.instanceGroupManagers.insert',
      count: 8,
      resources: [{ type: 'instanceGroupManager', name: 'render-farm' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const member = table.observe(
    metric(2000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: '77', name: 'render-farm-x7k2' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.equal(member?.key, gcp?.key);
  const stranger = table.observe(
    metric(2000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: '78', name: 'web-frontend' } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.notEqual(stranger?.key, gcp?.key);
});

test('an Azure VM takes the addresses and MAC its NIC write named, so NSG flows (address or MAC only) join it', () => {
  const table = new InstanceTable(undefined);
  const nic = '/subscriptions/s1/resourcegroups/rg/providers/microsoft.network/networkinterfaces/vm1-nic';
  const vmId = '/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1';
  table.observe(
    launchCall(1000, {
      provider: 'azure',
      account: 's1',
      operation: 'Microsoft.Network/networkInterfaces/write',
      interfaces: [{ id: nic, mac: '00-0D-3A-7B-11-22', privateIps: ['10.8.0.4'] }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const vm = table.observe(
    launchCall(2000, {
      provider: 'azure',
      account: 's1',
      region: 'brazilsouth',
      operation: 'Microsoft.Compute/virtualMachines/write',
      instances: [{ id: vmId, name: 'vm1', type: 'Standard_NC6s_v3', interfaces: [nic] }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const flow = (ts: number, fields: Partial<CoalEvent>): CoalEvent => ({
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: ['network'], action: 'connect', dataset: 'azure-flow' },
    original: {},
    coalmine: { ts, format: 'azure-flow', ref: { file: 'f', line: 1 } },
    ...fields,
  });
  const byAddress = table.observe(
    flow(3000, { source: { ip: '10.8.0.4', port: 50000 }, destination: { ip: '198.51.100.7', port: 3333 } }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const byMac = table.observe(
    flow(4000, {
      source: { ip: '10.99.0.1', port: 50001 },
      destination: { ip: '198.51.100.7', port: 3333 },
      cloud: { provider: 'azure', network_interface: '00-0D-3A-7B-11-22' },
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  assert.ok(vm);
  assert.equal(byAddress?.key, vm.key);
  assert.equal(byMac?.key, vm.key);
});

test('VMs created one call at a time by one identity, source and region are one launch; a later call is another', () => {
  const table = new InstanceTable(undefined);
  const vmCall = (ts: number, n: number, ip = '203.0.113.77') => {
    const e = launchCall(ts, {
      provider: 'azure',
      account: 's1',
      region: 'koreacentral',
      operation: 'Microsoft.Compute/virtualMachines/write',
      principal: { id: 'c3b2a1f0-e9d8-4c7b-a6f5-e4d3c2b1a0f9', type: 'ServicePrincipal' },
      instanceType: 'Standard_NC4as_T4_v3',
      count: 1,
      instances: [
        { id: `/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/w${n}`, name: `w${n}` },
      ],
    });
    e.source = { ip };
    return table.observe(e, DEFAULT_THRESHOLDS, []);
  };
  const first = vmCall(0, 1);
  const second = vmCall(2 * 60_000, 2);
  const third = vmCall(4 * 60_000, 3);
  assert.equal(second?.key, first?.key);
  assert.equal(third?.key, first?.key);
  assert.equal(first?.instances.size, 3);
  assert.equal(first?.origin?.count, 3);
  assert.notEqual(vmCall(40 * 60_000, 4)?.key, first?.key, 'half an hour later: another launch');
  assert.notEqual(vmCall(41 * 60_000, 5, '198.51.100.1')?.key, first?.key, 'from another address: another launch');
});

test("a bulk insert's name pattern claims the VMs named so, with the call as their launch time", () => {
  const table = new InstanceTable(undefined);
  const bulk = table.observe(
    launchCall(1000, {
      provider: 'gcp',
      account: 'proj-a',
      region: 'asia-northeast3',
      operation: 'v1.compute.instances.bulkInsert',
      count: 20,
      resources: [{ type: 'namePattern', name: 'worker-####' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const named = (n: string) =>
    table.observe(
      metric(5000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: n, name: n } }),
      DEFAULT_THRESHOLDS,
      [],
    );
  assert.equal(named('worker-0007')?.key, bulk?.key);
  assert.notEqual(named('worker-07')?.key, bulk?.key, 'four digits, as the pattern says');
  assert.notEqual(named('worker-abcd')?.key, bulk?.key);
  assert.equal(bulk?.instances.size, 1);
});

test("an assumed role's history is the role's, whatever each session is called", () => {
  assert.equal(
    identityOf('arn:aws:sts::123456789012:assumed-role/terraform-deploy/tf-1733', undefined),
    'role/terraform-deploy',
  );
  assert.equal(
    identityOf(
      'arn:aws:sts::123456789012:assumed-role/terraform-deploy/x',
      'arn:aws:iam::123456789012:role/ci/terraform-deploy',
    ),
    'role/terraform-deploy',
  );
  assert.equal(
    identityOf('arn:aws:iam::123456789012:user/ci-backup', undefined),
    'arn:aws:iam::123456789012:user/ci-backup',
  );
  assert.equal(identityOf('ci@proj.iam.gserviceaccount.com', undefined), 'ci@proj.iam.gserviceaccount.com');

  const table = new InstanceTable(undefined);
  const run = (ts: number, session: string) =>
    table.observe(
      launchCall(ts, {
        provider: 'aws',
        account: '123456789012',
        region: 'eu-west-1',
        operation: 'RunInstances',
        principal: { id: `arn:aws:sts::123456789012:assumed-role/terraform-deploy/${session}`, type: 'AssumedRole' },
        instanceType: 'm5.large',
        count: 2,
        instances: [{ id: `i-0${session}`, type: 'm5.large' }],
      }),
      DEFAULT_THRESHOLDS,
      [],
    );
  const day = 24 * 3600_000;
  for (let n = 0; n < 4; n++) run(n * 12 * 3600_000, `tf${n}`);
  const today = run(2 * day + 3600_000, 'tf9');
  assert.match(today?.authorizedBy ?? '', /routine launcher/);
});

test("a host named by its FQDN links to the GCP or Azure VM named by its first label (GCP's web-7.c.proj.internal is web-7)", () => {
  const table = new InstanceTable(undefined);
  const insert = (provider: 'gcp' | 'azure', name: string, ts: number) =>
    table.observe(
      launchCall(ts, {
        provider,
        account: 'proj-a',
        region: 'us-central1',
        operation: provider === 'gcp' ? 'v1.compute.instances.insert' : 'Microsoft.Compute/virtualMachines/write',
        instances: [{ id: `${name}-id`, name, type: 'n2-standard-8' }],
      }),
      DEFAULT_THRESHOLDS,
      [],
    );
  assert.ok(insert('gcp', 'web-7', 1000));
  assert.ok(insert('azure', 'Build-Agent-3', 1100));
  const exec = (host: string): CoalEvent => ({
    '@timestamp': new Date(5000).toISOString(),
    event: { kind: 'event', category: ['process'], action: 'exec', dataset: 'test' },
    host: { name: host },
    process: { pid: 10, name: 'xmrig' },
    original: {},
    coalmine: { ts: 5000, format: 'test', ref: { file: 't', line: 5 } },
  });
  for (const [host, provider] of [
    ['web-7.c.proj-a.internal', 'gcp'],
    ['build-agent-3.internal.cloudapp.net', 'azure'],
  ] as const) {
    table.linkHost(exec(host));
    assert.equal(table.hostLink(host)?.provider, provider, host);
  }
  table.linkHost(exec('web-70.c.proj-a.internal'));
  assert.equal(table.hostLink('web-70.c.proj-a.internal'), undefined, 'another VM of a like name is not linked');
});

test('instance GPU pinned from its launch is medium sustained GPU; late CPU and GPU samples are counted, a repeat of the newest is not', () => {
  const late: string[] = [];
  const table = new InstanceTable(undefined, undefined, (event, what, of) =>
    late.push(`${what} ${of} ${event.coalmine.ts}`),
  );
  const T = Date.UTC(2026, 2, 1);
  table.observe(
    launchCall(T, {
      provider: 'gcp',
      account: 'proj-a',
      region: 'us-central1',
      operation: 'v1.compute.instances.insert',
      instances: [{ id: '77', name: 'gpu-1' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  const out: Parameters<InstanceTable['observe']>[2] = [];
  const at = (minute: number, metrics: CoalEvent['metrics']) => {
    const e = metric(T + minute * 60_000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: '77' } });
    e.metrics = metrics;
    table.observe(e, DEFAULT_THRESHOLDS, out);
  };
  for (let m = 5; m <= 25; m++) at(m, { gpu_pct: 99, gpus: 4, cpu_pct: 12 });
  at(10, { gpu_pct: 99, gpus: 4 }); // late GPU
  at(11, { cpu_pct: 12 }); // late CPU
  at(25, { cpu_pct: 12 }); // the newest moment again: not late
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength, s.entity, s.by]),
    [['sustained-gpu', 'medium', out[0]?.entity, 'engine:instance-gpu']],
  );
  assert.match(
    out[0].explanation,
    /^instance 77 held ≥80% of its 4 GPUs for 15m .*pinned from launch \(5 min after it started\)/,
  );
  assert.deepEqual(late, [`GPU instance ${T + 10 * 60_000}`, `CPU instance ${T + 11 * 60_000}`]);
  assert.ok(table.regions().some((r) => r.telemetry.has('gpu') && r.telemetry.has('cpu')));
});

test('instance GPU busy with no launch seen and no history is weak: a GPU instance exists to be busy', () => {
  const table = new InstanceTable(undefined);
  const out: Parameters<InstanceTable['observe']>[2] = [];
  const T = Date.UTC(2026, 2, 1);
  table.observe(
    launchCall(T - 3 * 3_600_000, {
      provider: 'gcp',
      account: 'proj-a',
      region: 'us-central1',
      operation: 'v1.compute.instances.insert',
      instances: [{ id: '78', name: 'trainer' }],
    }),
    DEFAULT_THRESHOLDS,
    [],
  );
  for (let m = 0; m <= 20; m++) {
    const e = metric(T + m * 60_000, { provider: 'gcp', account: { id: 'proj-a' }, instance: { id: '78' } });
    e.metrics = { gpu_pct: 97, gpus: 1 };
    table.observe(e, DEFAULT_THRESHOLDS, out);
  }
  assert.deepEqual(
    out.map((s) => [s.kind, s.strength]),
    [['sustained-gpu', 'weak']],
  );
  assert.match(out[0].explanation, /too few earlier samples/);
});
