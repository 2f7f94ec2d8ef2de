import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { azureMetrics } from './azure-metrics.js';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const DIR = 'test/fixtures/azure-metrics';
const exported = fileInput(`${DIR}/export.jsonl`);
const bad = fileInput(`${DIR}/bad.jsonl`);
const cli = fileInput(`${DIR}/cli.json`);
const vmss = fileInput(`${DIR}/vmss.json`);
const SUB = '3f2b9c4e-8a1d-4e6f-9b7a-2c5d1e0f4a36';
const VM = (rg: string, name: string) =>
  `/subscriptions/${SUB}/resourcegroups/${rg}/providers/microsoft.compute/virtualmachines/${name}`;

runSourceContract({
  source: azureMetrics,
  good: exported,
  bad,
  // the export copied while a record was written: it ends inside its resource id
  cut: cutLineCase(exported, 0, '"resourceId":"', '/SUBSCRIPTIONS/CUT-SUBSCRIPTION'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of azureMetrics.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('az monitor metrics list: one metric per datapoint with a value, on the VM named by the id, in the region', async () => {
  const { events, issues } = await readAll(azureMetrics, cli);
  assert.deepEqual(issues, []);
  // the first two minutes have no data (the VM did not exist yet): skipped, not errors
  assert.equal(events.length, 10);
  assert.deepEqual(
    events.slice(0, 3).map((e) => [e['@timestamp'], e.metrics?.cpu_pct]),
    [
      ['2026-11-02T03:24:00.000Z', 3.1],
      ['2026-11-02T03:25:00.000Z', 41.7],
      ['2026-11-02T03:26:00.000Z', 97.9],
    ],
  );
  const [e] = events;
  assert.equal(e.event.action, 'metric');
  assert.equal(e.event.kind, 'metric');
  assert.equal(e.host?.name, 'miner-01');
  assert.deepEqual(e.cloud, {
    provider: 'azure',
    account: { id: SUB },
    region: 'brazilsouth',
    instance: { id: VM('rg-gpu-br', 'miner-01'), name: 'miner-01' },
  });
});

test("a scale set's CPU split by VMName is per VM and in time order across series; other metrics are counted", async () => {
  const { events, issues } = await readAll(azureMetrics, vmss);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e['@timestamp'].slice(11, 16), e.host?.name, e.metrics?.cpu_pct]),
    [
      ['09:00', 'vmss-web_0', 62.5],
      ['09:00', 'vmss-web_1', 60.1],
      ['09:05', 'vmss-web_0', 81],
      ['09:05', 'vmss-web_1', 79.4],
      ['09:10', 'vmss-web_0', 74.2],
      ['09:10', 'vmss-web_1', 70.3],
    ],
  );
  assert.equal(
    events[0].cloud?.instance?.id,
    `/subscriptions/${SUB}/resourcegroups/rg-web/providers/microsoft.compute/virtualmachinescalesets/vmss-web/virtualmachines/0`,
  );
  assert.equal(await unusedOf(vmss), 1); // Network In Total
});

test('a diagnostic-setting export: the upper-cased resource id gives the same VM key as the CLI; other metrics counted', async () => {
  const { events } = await readAll(azureMetrics, exported);
  assert.equal(events.length, 6);
  assert.ok(events.every((e) => e.host?.name === 'miner-02' && e.cloud?.instance?.id === VM('rg-gpu-br', 'miner-02')));
  assert.deepEqual(
    events.map((e) => e.metrics?.cpu_pct),
    [2.4, 55, 97.2, 99.4, 99.1, 98.8],
  );
  assert.equal(await unusedOf(exported), 1); // Network Out Total
});

test('bad records: cut JSON, a time that is not one, a percent over 100, no resource id; each reported with its line', async () => {
  const { events, issues } = await readAll(azureMetrics, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'AZURE_METRICS_BAD_JSON'],
      [3, 'AZURE_METRICS_BAD_RECORD'],
      [4, 'AZURE_METRICS_BAD_RECORD'],
      [5, 'AZURE_METRICS_BAD_RECORD'],
    ],
  );
  assert.match(issues[2].reason, /250 is not a percent/);
  assert.equal(events.length, 2);
});

test('CPU of a resource that is not a VM, and a scale set not split per VM, are counted unused, not guessed', async () => {
  const record = (resourceId: string) =>
    JSON.stringify({ resourceId, time: '2026-11-02T03:26:00Z', metricName: 'Percentage CPU', average: 50 });
  const text = [
    record(`/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/VMSS-WEB`),
    record(`/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.WEB/SERVERFARMS/PLAN1`),
  ].join('\n');
  const input = memoryInput('not-vms.jsonl', `${text}\n`);
  const { events, issues } = await readAll(azureMetrics, input);
  assert.deepEqual([events.length, issues.length], [0, 0]);
  assert.equal(await unusedOf(input), 2);
});

test('each Azure metrics fixture sniffs as azure-metrics, and no other format fixture does', () => {
  for (const input of [exported, bad, cli, vmss])
    assert.equal(sniffSource(input)?.name, 'azure-metrics', `${input.name} sniffs as ${sniffSource(input)?.name}`);
  for (const dir of readdirSync('test/fixtures')) {
    if (dir === 'azure-metrics' || dir === 'public') continue;
    let names: string[];
    try {
      names = readdirSync(`test/fixtures/${dir}`);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/\.(?:json|jsonl|log|ndjson)$/.test(name)) continue;
      const input = fileInput(`test/fixtures/${dir}/${name}`);
      assert.notEqual(sniffSource(input)?.name, 'azure-metrics', `${input.name} is not Azure Monitor metrics`);
    }
  }
});

test('fuzz: a damaged metrics answer never throws; every issue has a line and every event is a well-formed metric', async () => {
  let seed = 29;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = cli.head;
  for (let round = 0; round < 80; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(8); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x00, 0x0a, 0x39, 0x2d, 0x5c][rand(12)];
    const { events, issues } = await readAll(azureMetrics, memoryInput(`fuzz-${round}.json`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    for (const e of events) {
      assert.equal(e.event.action, 'metric');
      assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
    }
  }
});
