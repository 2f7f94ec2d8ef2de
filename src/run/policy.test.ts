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

test('relay fan-out thresholds are tunable: whole counts and a duration; anything else is an error with its line', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    'thresholds:\n  relay_destinations: 80\n  relay_user_agents: 12\n  relay_window: 5m\nanalytics:\n  AN0742:\n    relay_user_agents: 2.5\n',
  );
  assert.deepEqual(
    [policy.thresholds.relayDestinations, policy.thresholds.relayUserAgents, policy.thresholds.relayWindowMs],
    [80, 12, 300_000],
  );
  assert.deepEqual(
    errors.map((e) => [e.code, e.line]),
    [['POLICY_BAD_VALUE', 7]],
  );
  assert.match(errors[0].reason, /relay_user_agents must be a whole number/);
});

test('absurd durations are policy errors naming file:line, never an overflowed threshold', () => {
  const huge = `1${'0'.repeat(30)}h`;
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    `thresholds:\n  sustain: ${huge}\n  window: 400d\n  relay_window: 10^30h\nanalytics:\n  AN0742:\n    sustain: 9${'9'.repeat(400)}ms\n    window: 0s\n`,
  );
  assert.deepEqual(
    errors.map((e) => [e.file, e.line, e.code]),
    [2, 3, 4, 7, 8].map((line) => ['coalmine.yaml', line, 'POLICY_BAD_VALUE']),
  );
  assert.match(errors[0].reason, /sustain must be a duration like 15m or 1h, from 1ms to 365d/);
  assert.ok(Number.isFinite(policy.thresholds.sustainMs) && policy.thresholds.sustainMs <= 365 * 86_400_000);
  assert.deepEqual(policy.analytics.AN0742, {});
});
