import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { DEFAULT_THRESHOLDS } from '../model/policy.js';
import { InstanceTable } from './instances.js';

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
