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

test('containers: reads cluster, the four lists and labels, with ref = file:line of the section', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'prices:',
      '  core_hour: 0.04',
      'containers:',
      '  cluster: prod-eu-1',
      '  registries: [registry.example.com, docker.io/library]',
      `  images: ["registry.gitlab.com/gitlab-org/*", "sha256:${'9f'.repeat(32)}"]`,
      '  namespaces: [kube-system]',
      '  creators: ["system:serviceaccount:ci:gitlab-runner", alice@example.com]',
      '  labels: { change-ticket: "CHG-*", tier: 2 }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(policy.containers, {
    cluster: 'prod-eu-1',
    registries: ['registry.example.com', 'docker.io/library'],
    images: ['registry.gitlab.com/gitlab-org/*', `sha256:${'9f'.repeat(32)}`],
    namespaces: ['kube-system'],
    creators: ['system:serviceaccount:ci:gitlab-runner', 'alice@example.com'],
    labels: { 'change-ticket': 'CHG-*', tier: '2' },
    ref: 'coalmine.yaml:3',
  });
  assert.equal(parsePolicy('coalmine.yaml', 'prices:\n  currency: EUR\n').policy.containers, undefined);
});

test('containers: unknown keys, wrong shapes and bad entries are errors with file:line; good entries still apply', () => {
  const { policy, errors } = parsePolicy(
    'site.yaml',
    [
      'containers:',
      '  registry: [typo.example.com]',
      '  registries: ["https://registry.example.com", "registry.example.com/*", ok.example.com]',
      '  images: ["sha256:abc", "", "nginx"]',
      '  namespaces: kube-system',
      '  creators: [[nested], "bob\\u0007"]',
      '  labels: [change-ticket]',
      '  cluster: { name: x }',
      'container: {}',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    errors.map((e) => [e.file, e.line, e.code]),
    [
      ['site.yaml', 2, 'POLICY_UNKNOWN_KEY'],
      ['site.yaml', 3, 'POLICY_BAD_VALUE'],
      ['site.yaml', 3, 'POLICY_BAD_VALUE'],
      ['site.yaml', 4, 'POLICY_BAD_VALUE'],
      ['site.yaml', 4, 'POLICY_BAD_VALUE'],
      ['site.yaml', 5, 'POLICY_SHAPE'],
      ['site.yaml', 6, 'POLICY_BAD_VALUE'],
      ['site.yaml', 6, 'POLICY_BAD_VALUE'],
      ['site.yaml', 7, 'POLICY_SHAPE'],
      ['site.yaml', 8, 'POLICY_BAD_VALUE'],
      ['site.yaml', 9, 'POLICY_UNKNOWN_KEY'],
    ],
  );
  assert.match(
    errors[0].reason,
    /unknown key "containers\.registry" \(known: cluster, registries, images, namespaces, creators, labels\)/,
  );
  assert.match(errors[1].reason, /no scheme, glob or digest/);
  assert.match(errors[3].reason, /not a sha256: digest of 64 hex digits/);
  assert.match(errors[10].reason, /known: thresholds, analytics, hosts, prices, allowlist, containers\)/);
  assert.deepEqual(policy.containers?.registries, ['ok.example.com']);
  assert.deepEqual(policy.containers?.images, ['nginx']);
  assert.equal(policy.containers?.ref, 'site.yaml:1');
  assert.equal(parsePolicy('a.yaml', 'containers: [x]\n').errors[0].code, 'POLICY_SHAPE');
});

test('containers: every list is bounded (1000 entries of 512 characters) and a label named __proto__ stays a label', () => {
  const many = Array.from({ length: 1001 }, (_, i) => `ns-${i}`).join(', ');
  const long = 'r'.repeat(513);
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    `containers:\n  namespaces: [${many}]\n  registries: [${long}, fine.example.com]\n  labels: { __proto__: "CHG-*" }\n`,
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [2, 'POLICY_BAD_VALUE'],
      [3, 'POLICY_BAD_VALUE'],
    ],
  );
  assert.match(errors[0].reason, /containers\.namespaces has over 1000 entries/);
  assert.deepEqual(policy.containers?.namespaces, []);
  assert.deepEqual(policy.containers?.registries, ['fine.example.com']);
  assert.deepEqual(Object.entries(policy.containers?.labels ?? {}), [['__proto__', 'CHG-*']]);
  assert.equal(Object.getPrototypeOf(policy.containers?.labels), Object.prototype);
});
