import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicy } from './policy.js';

test('coalmine.yaml hosts.NAME.ips is the inventory; bad addresses and unknown keys are errors with lines', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    'hosts:\n  web-01:\n    cores: 4\n    ips: [10.0.0.5, "FD00::5"]\n  db-01:\n    ips: [not-an-ip]\n    rack: 7\n',
  );
  assert.deepEqual(policy.hostIps, { '10.0.0.5': 'web-01', 'fd00::5': 'web-01' });
  assert.equal(policy.hostCores['web-01'], 4);
  assert.deepEqual(
    errors.map((e) => [e.code, e.line]),
    [
      ['POLICY_BAD_VALUE', 6],
      ['POLICY_UNKNOWN_KEY', 7],
    ],
  );
});
