import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_HELD_EVENTS } from './azure-fields.js';
import { azureFlow } from './azure-flow.js';
import { fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const DIR = 'test/fixtures/azure-flow';
const nsg = fileInput(`${DIR}/nsg.json`);
const vnet = fileInput(`${DIR}/vnet.json`);
const bad = fileInput(`${DIR}/bad.json`);
const SUB = '3f2b9c4e-8a1d-4e6f-9b7a-2c5d1e0f4a36';
const POOL = '198.51.100.23';

/** The blob copied while a record was appended: the document ends inside the new record's tuple. */
function cutDocument(): { input: SourceInput; at: number; broken: string } {
  const text = nsg.head.toString('utf8').replace(/\n\]\}\n$/, '\n');
  const lines = text.split('\n');
  const record = lines[1];
  const marker = '"flowTuples":["';
  const broken = '1793599999,10.0.1.4,198.51.100.99,5';
  const cut = `,${record.slice(0, record.indexOf(marker) + marker.length)}${broken}`;
  const body = `${text}${cut}`;
  return { input: memoryInput('cut-nsg.json', body), at: body.split('\n').length, broken };
}

runSourceContract({ source: azureFlow, good: nsg, bad, cut: cutDocument() });

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of azureFlow.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('NSG v2: Begin, Continuing and End of one flow across records are one connect at its start with summed counts', async () => {
  const { events, issues } = await readAll(azureFlow, nsg);
  assert.deepEqual(issues, []);
  const pool = events.filter((e) => e.destination?.ip === POOL);
  assert.equal(pool.length, 1);
  const [flow] = pool;
  assert.equal(flow['@timestamp'], '2026-11-02T03:26:40.000Z');
  assert.equal(flow.event.action, 'connect');
  assert.equal(flow.event.outcome, 'success');
  assert.deepEqual(flow.source, { ip: '10.0.1.4', port: 50412, bytes: 61230 + 59100 });
  assert.deepEqual(flow.destination, { ip: POOL, port: 3333, bytes: 88412 + 90233 });
  assert.deepEqual(flow.network, {
    transport: 'tcp',
    direction: 'outbound',
    bytes: 61230 + 59100 + 88412 + 90233,
    packets: 412 + 398 + 398 + 401,
  });
  assert.deepEqual(flow.coalmine.flow, { durationMs: 600_000, clientBytes: 61230 + 59100, serverBytes: 88412 + 90233 });
  assert.deepEqual(flow.cloud, { provider: 'azure', account: { id: SUB }, network_interface: '00-0D-3A-1B-2C-3D' });
  assert.equal(flow.host, undefined); // no VM named: the engine joins by address
  assert.equal(flow.coalmine.ref.line, 2); // the record its Begin came in
});

test('flows joined at their End come out in time order of their start, before flows that began later', async () => {
  const { events } = await readAll(azureFlow, nsg);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  // the pool flow began first and ended last
  assert.equal(events[0].destination?.ip, POOL);
});

test('NSG v2: inbound SSH keeps the remote end as the client; a denied call out is a failure; denied scans are counted', async () => {
  const { events } = await readAll(azureFlow, nsg);
  assert.equal(events.length, 5);
  const ssh = events.find((e) => e.destination?.port === 22);
  assert.deepEqual(ssh?.source, { ip: '192.0.2.99', port: 61022, bytes: 31022 });
  assert.equal(ssh?.network?.direction, 'inbound');
  assert.equal(ssh?.coalmine.flow?.durationMs, 325_000);
  const denied = events.find((e) => e.destination?.port === 14444);
  assert.equal(denied?.event.outcome, 'failure');
  assert.deepEqual(denied?.event.type, ['connection', 'denied']);
  assert.equal(denied?.network?.bytes, undefined);
  const dns = events.find((e) => e.destination?.port === 53);
  assert.equal(dns?.network?.transport, 'udp');
  assert.equal(await unusedOf(nsg), 1); // the telnet scan denied inbound
});

test('VNet flow log: millisecond tuples, the NIC resource id, the region from the watcher name; denied inbound counted', async () => {
  const { events, issues } = await readAll(azureFlow, vnet);
  assert.deepEqual(issues, []);
  assert.equal(events.length, 1);
  const [flow] = events;
  assert.equal(flow['@timestamp'], '2026-11-02T03:33:20.000Z');
  assert.equal(flow.event.dataset, 'azure-flow.vnet');
  assert.deepEqual(flow.cloud, {
    provider: 'azure',
    account: { id: SUB },
    region: 'brazilsouth',
    network_interface: `/subscriptions/${SUB}/resourcegroups/rg-gpu-br/providers/microsoft.network/networkinterfaces/miner-02-nic`,
  });
  assert.deepEqual(flow.coalmine.flow, { durationMs: 420_000, clientBytes: 58210 + 17800, serverBytes: 81234 + 25400 });
  assert.equal(await unusedOf(vnet), 1);
});

test('NSG version 1 tuples (no state, no counts) are one connect each', async () => {
  const record = {
    time: '2026-11-02T03:27:10Z',
    category: 'NetworkSecurityGroupFlowEvent',
    resourceId: `/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1`,
    properties: {
      Version: 1,
      flows: [
        {
          rule: 'DefaultRule_AllowInternetOutBound',
          flows: [
            {
              mac: '000D3A1B2C3D',
              flowTuples: [
                '1793590000,10.0.1.4,198.51.100.23,50412,3333,T,O,A',
                '1793590060,10.0.1.4,198.51.100.23,50412,3333,T,O,A',
              ],
            },
          ],
        },
      ],
    },
  };
  const { events, issues } = await readAll(azureFlow, memoryInput('v1.json', JSON.stringify({ records: [record] })));
  assert.deepEqual(issues, []);
  assert.equal(events.length, 2);
  assert.equal(events[0].coalmine.flow, undefined);
  assert.equal(events[0].network?.bytes, undefined);
});

test('a flow still open when the file ends is emitted as far as it went', async () => {
  const text = nsg.head.toString('utf8').split('\n');
  // only the first record: the pool flow began, the SSH session began
  const { events } = await readAll(azureFlow, memoryInput('first.json', `{"records":[\n${text[1]}\n]}\n`));
  const pool = events.find((e) => e.destination?.ip === POOL);
  assert.equal(pool?.coalmine.flow?.durationMs, 0);
  assert.equal(pool?.network?.bytes, 0);
  assert.equal(events.length, 3);
});

test('bad tuples are reported once per record with the count and the first reason; good tuples around them are read', async () => {
  const { events, issues } = await readAll(azureFlow, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [3, 'AZURE_FLOW_BAD_RECORD'],
      [4, 'AZURE_FLOW_BAD_TUPLE'],
      [5, 'AZURE_FLOW_BAD_RECORD'],
    ],
  );
  assert.match(issues[1].reason, /^3 tuples not read; the first: tuple addresses are not IP addresses$/);
  assert.deepEqual(
    events.map((e) => e.destination?.ip),
    [POOL, '198.51.100.24'],
  );
});

test('each flow log fixture sniffs as azure-flow, and no other format fixture does', () => {
  for (const input of [nsg, vnet, bad])
    assert.equal(sniffSource(input)?.name, 'azure-flow', `${input.name} sniffs as ${sniffSource(input)?.name}`);
  for (const dir of readdirSync('test/fixtures')) {
    if (dir === 'azure-flow' || dir === 'public') continue;
    let names: string[];
    try {
      names = readdirSync(`test/fixtures/${dir}`);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/\.(?:json|jsonl|log|ndjson)$/.test(name)) continue;
      const input = fileInput(`test/fixtures/${dir}/${name}`);
      assert.notEqual(sniffSource(input)?.name, 'azure-flow', `${input.name} is not an Azure flow log`);
    }
  }
});

test('fuzz: a damaged flow log never throws; every issue has a line and every event is a well-formed connect', async () => {
  let seed = 23;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = nsg.head;
  for (let round = 0; round < 80; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(8); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x00, 0x0a, 0x39, 0x2d, 0x5c][rand(12)];
    const { events, issues } = await readAll(azureFlow, memoryInput(`fuzz-${round}.json`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) {
      assert.equal(e.event.action, 'connect');
      assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
    }
  }
});

test('a file with more flows than are held to sort is given in bounded batches of ordered runs, reported, none lost', async () => {
  const total = MAX_HELD_EVENTS + 500;
  const tuples: string[] = [];
  // version 1 tuples, newest first: each is a flow of its own, so every one is held until the run is sorted
  for (let i = total - 1; i >= 0; i--)
    tuples.push(`${1793590000 + i},10.0.1.4,198.51.100.23,${1024 + (i % 60000)},3333,T,O,A`);
  // one record a minute, as Network Watcher appends them
  const records = [];
  for (let i = 0; i < tuples.length; i += 1000)
    records.push({
      time: '2026-11-02T03:27:10Z',
      category: 'NetworkSecurityGroupFlowEvent',
      resourceId: `/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1`,
      properties: {
        Version: 1,
        flows: [{ rule: 'r', flows: [{ mac: '000D3A1B2C3D', flowTuples: tuples.slice(i, i + 1000) }] }],
      },
    });
  let events = 0;
  let largest = 0;
  const codes: string[] = [];
  for await (const batch of azureFlow.read(memoryInput('many.json', JSON.stringify({ records })), TEST_CONTEXT)) {
    events += batch.events.length;
    largest = Math.max(largest, batch.events.length);
    codes.push(...batch.issues.map((i) => i.code));
  }
  assert.equal(events, total);
  assert.ok(largest <= 1000, `a batch of ${largest} events`);
  assert.deepEqual(codes, ['AZURE_FLOW_OUT_OF_ORDER']);
});
