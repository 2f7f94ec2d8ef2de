import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportsWithoutCpuNote } from './coverage.js';

test('a CPU gap names the EDR exports that gave the host its processes, since they will not fill it', () => {
  assert.equal(exportsWithoutCpuNote(['defender']), '; Defender for Endpoint exports carry no CPU');
  assert.equal(
    exportsWithoutCpuNote(['sentinelone', 'evtx-xml', 'crowdstrike-fdr', 'sentinelone']),
    '; CrowdStrike Falcon Data Replicator and SentinelOne exports carry no CPU',
  );
  assert.equal(exportsWithoutCpuNote(['evtx', 'auditd']), '', 'Sysmon or auditd: nothing to add');
  assert.equal(exportsWithoutCpuNote(undefined), '');
  assert.equal(exportsWithoutCpuNote(['__proto__', 'constructor']), '', 'no inherited name');
});
