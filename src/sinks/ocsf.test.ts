import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Case } from '../model/finding.js';
import { toOcsfIncident } from './ocsf.js';

const CASE: Case = {
  id: 'case-1',
  title: 'Cryptomining on gpu-7',
  severity: 'medium',
  tier: 'Tier 2',
  status: 'new',
  hosts: ['gpu-7'],
  entities: ['host:gpu-7'],
  campaign: { destinations: ['eth.pool.example:4444'], executables: [], hashes: [] },
  findings: [],
  first_seen: '2026-12-07T10:00:00.000Z',
  last_seen: '2026-12-07T10:30:00.000Z',
  core_hours: 0,
  cost: 0.63,
  currency: 'USD',
};

test('an incident carries what its case cost: core-hours, GPU-hours and instance-hours beside the amount', () => {
  const plain = toOcsfIncident(CASE, [], { version: 't' });
  const unmapped = plain.unmapped as Record<string, unknown>;
  assert.deepEqual([plain.class_uid, unmapped.core_hours, unmapped.cost], [2005, 0, 0.63]);
  assert.equal(unmapped.gpu_hours, undefined);
  const gpu = toOcsfIncident({ ...CASE, gpu_hours: 1.26, instance_hours: 3 }, [], { version: 't' });
  const priced = gpu.unmapped as Record<string, unknown>;
  assert.deepEqual([priced.gpu_hours, priced.instance_hours], [1.26, 3]);
});
