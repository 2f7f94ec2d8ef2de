import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultPolicy } from '../model/policy.js';
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
  assert.match(
    errors[10].reason,
    /known: thresholds, analytics, hosts, prices, allowlist, containers, cloud, sigma, hashrates\)/,
  );
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

test('cloud: reads principals, pipelines, services, regions, instance_families and tags, with ref = file:line of the section', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'prices:',
      '  core_hour: 0.04',
      'cloud:',
      '  principals: ["arn:aws:iam::*:role/terraform-*", ml-team@example.iam.gserviceaccount.com]',
      '  pipelines: ["*terraform-provider-aws/*"]',
      '  services: [autoscaling.amazonaws.com]',
      '  regions: [eu-west-1, europe-west4, westeurope]',
      '  instance_families: ["m5.*", "p4d.*", "n2-standard-*", "Standard_D*"]',
      '  tags: { change-ticket: "CHG-*", cost-centre: 4711 }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(policy.cloud, {
    principals: ['arn:aws:iam::*:role/terraform-*', 'ml-team@example.iam.gserviceaccount.com'],
    pipelines: ['*terraform-provider-aws/*'],
    services: ['autoscaling.amazonaws.com'],
    regions: ['eu-west-1', 'europe-west4', 'westeurope'],
    instanceFamilies: ['m5.*', 'p4d.*', 'n2-standard-*', 'Standard_D*'],
    tags: { 'change-ticket': 'CHG-*', 'cost-centre': '4711' },
    ref: 'coalmine.yaml:3',
  });
  assert.equal(parsePolicy('coalmine.yaml', 'prices:\n  currency: EUR\n').policy.cloud, undefined);
  assert.deepEqual(parsePolicy('coalmine.yaml', 'cloud: {}\n').policy.cloud, {
    principals: [],
    pipelines: [],
    services: [],
    regions: [],
    instanceFamilies: [],
    tags: {},
    ref: 'coalmine.yaml:1',
  });
});

test('cloud: unknown keys, wrong shapes, globs where names belong and bad entries are errors with file:line; good entries still apply', () => {
  const { policy, errors } = parsePolicy(
    'site.yaml',
    [
      'cloud:',
      '  principal: [typo]',
      '  regions: ["eu-*", eu-west-1, ""]',
      '  services: ["*.amazonaws.com", spot.amazonaws.com]',
      '  instance_families: m5.*',
      '  pipelines: [[nested], "Terraform/*\\u001b"]',
      '  tags: [ticket]',
      '  instanceFamilies: ["m5.*"]',
      'clouds: {}',
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
      ['site.yaml', 5, 'POLICY_SHAPE'],
      ['site.yaml', 6, 'POLICY_BAD_VALUE'],
      ['site.yaml', 6, 'POLICY_BAD_VALUE'],
      ['site.yaml', 7, 'POLICY_SHAPE'],
      ['site.yaml', 8, 'POLICY_UNKNOWN_KEY'],
      ['site.yaml', 9, 'POLICY_UNKNOWN_KEY'],
    ],
  );
  assert.match(
    errors[0].reason,
    /unknown key "cloud\.principal" \(known: principals, pipelines, services, regions, instance_families, tags\)/,
  );
  assert.match(errors[1].reason, /cloud\.regions: "eu-\*" must be a name such as eu-west-1.*\(no glob\)/);
  assert.match(errors[2].reason, /cloud\.regions: an entry must be a non-empty string of at most 512 characters/);
  assert.match(
    errors[3].reason,
    /cloud\.services: "\*\.amazonaws\.com" must be a name such as autoscaling\.amazonaws\.com/,
  );
  assert.match(errors[4].reason, /cloud\.instance_families must be a list/);
  assert.match(errors[7].reason, /cloud\.tags must be a mapping of tag name to value glob/);
  assert.match(errors[9].reason, /unknown key "clouds" \(known: .*containers, cloud, sigma, hashrates\)/);
  assert.deepEqual(policy.cloud?.regions, ['eu-west-1']);
  assert.deepEqual(policy.cloud?.services, ['spot.amazonaws.com']);
  assert.deepEqual(policy.cloud?.pipelines, []);
  assert.deepEqual(policy.cloud?.instanceFamilies, []);
  assert.equal(policy.cloud?.ref, 'site.yaml:1');
  for (const shape of ['cloud: [x]\n', 'cloud:\n', 'cloud: eu-west-1\n']) {
    const loaded = parsePolicy('a.yaml', shape);
    assert.deepEqual(
      loaded.errors.map((e) => [e.line, e.code]),
      [[1, 'POLICY_SHAPE']],
      shape,
    );
    assert.equal(loaded.policy.cloud, undefined);
  }
});

test('cloud: every list and the tags are bounded (1000 entries of 512 characters) and a tag named __proto__ stays a tag', () => {
  const many = Array.from({ length: 1001 }, (_, i) => `"arn:aws:iam::1:role/r${i}"`).join(', ');
  const manyTags = Array.from({ length: 1001 }, (_, i) => `t${i}: x`).join(', ');
  const long = 'm'.repeat(513);
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'cloud:',
      `  principals: [${many}]`,
      `  instance_families: [${long}, "c6i.*"]`,
      `  tags: { __proto__: "CHG-*", constructor: "*", ticket: ${long} }`,
      `  pipelines: [ok/*]`,
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [2, 'POLICY_BAD_VALUE'],
      [3, 'POLICY_BAD_VALUE'],
      [4, 'POLICY_BAD_VALUE'],
    ],
  );
  assert.match(errors[0].reason, /cloud\.principals has over 1000 entries/);
  assert.deepEqual(policy.cloud?.principals, []);
  assert.deepEqual(policy.cloud?.instanceFamilies, ['c6i.*']);
  assert.deepEqual(policy.cloud?.pipelines, ['ok/*']);
  assert.deepEqual(Object.entries(policy.cloud?.tags ?? {}), [
    ['__proto__', 'CHG-*'],
    ['constructor', '*'],
  ]);
  assert.equal(Object.getPrototypeOf(policy.cloud?.tags), Object.prototype);
  const tooManyTags = parsePolicy('coalmine.yaml', `cloud:\n  tags: { ${manyTags} }\n`);
  assert.deepEqual(
    tooManyTags.errors.map((e) => [e.line, e.code]),
    [[2, 'POLICY_BAD_VALUE']],
  );
  assert.deepEqual(tooManyTags.policy.cloud?.tags, {});
});

test("the README's coalmine.yaml example is a policy coalmine accepts as written, its prices the defaults", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('### Policy (`coalmine.yaml`)');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start));
  assert.ok(start >= 0 && block, 'README has the Policy section and its yaml example');
  const { policy, errors } = parsePolicy('README.md', block[1]);
  assert.deepEqual(errors, []);
  const { instanceHour, ...prices } = policy.prices;
  assert.deepEqual(prices, defaultPolicy().prices);
  assert.equal(policy.hashrates?.ethash?.device, 'cpu');
});

test("the README's cloud: example is a policy coalmine accepts as written", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('**Cloud policy (`cloud:`).**');
  assert.ok(start >= 0, 'README has the Cloud policy paragraph');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start));
  assert.ok(block, 'the paragraph has a yaml example');
  const { policy, errors } = parsePolicy('README.md', block[1]);
  assert.deepEqual(errors, []);
  const cloud = policy.cloud;
  assert.ok(cloud);
  for (const list of [cloud.principals, cloud.pipelines, cloud.services, cloud.regions, cloud.instanceFamilies])
    assert.ok(list.length > 0);
  assert.ok(Object.keys(cloud.tags).length > 0);
});

test('prices.instance_hour overrides instance types (kept lowercase); bad types and prices are errors with lines', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'prices:',
      '  currency: EUR',
      '  instance_hour:',
      '    g4dn.xlarge: 0.48',
      '    Standard_NC6s_v3: 2.9',
      '    "g5.xlarge; rm -rf /": 1',
      '    p3.2xlarge: lots',
      '    m5.large: -1',
      '    __proto__: 0.1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [6, 'POLICY_BAD_VALUE'],
      [7, 'POLICY_BAD_VALUE'],
      [8, 'POLICY_BAD_VALUE'],
      [9, 'POLICY_BAD_VALUE'],
    ],
  );
  assert.match(errors[0].reason, /a key must be an instance type/);
  assert.match(errors[1].reason, /prices\.instance_hour\.p3\.2xlarge must be a price from 0 to 10000/);
  assert.deepEqual(Object.entries(policy.prices.instanceHour ?? {}), [
    ['g4dn.xlarge', 0.48],
    ['standard_nc6s_v3', 2.9],
  ]);
  assert.equal(Object.getPrototypeOf(policy.prices.instanceHour), Object.prototype);
  assert.equal(policy.prices.currency, 'EUR');
  const shape = parsePolicy('coalmine.yaml', 'prices:\n  instance_hour: [g4dn.xlarge]\n');
  assert.deepEqual(
    shape.errors.map((e) => [e.line, e.code]),
    [[2, 'POLICY_SHAPE']],
  );
});

test('prices.gpu_hour prices a GPU-hour (default 0.50, as core_hour defaults to 0.05); a bad one is an error with its line', () => {
  assert.deepEqual(parsePolicy('coalmine.yaml', '').policy.prices, { currency: 'USD', coreHour: 0.05, gpuHour: 0.5 });
  const { policy, errors } = parsePolicy('coalmine.yaml', 'prices:\n  currency: EUR\n  gpu_hour: 0.35\n');
  assert.deepEqual(errors, []);
  assert.deepEqual(policy.prices, { currency: 'EUR', coreHour: 0.05, gpuHour: 0.35 });
  const bad = parsePolicy('coalmine.yaml', 'prices:\n  gpu_hour: -1\n  gpu_hours: 2\n');
  assert.deepEqual(
    bad.errors.map((e) => [e.line, e.code]),
    [
      [2, 'POLICY_BAD_VALUE'],
      [3, 'POLICY_UNKNOWN_KEY'],
    ],
  );
  assert.match(bad.errors[0].reason, /prices\.gpu_hour must be a price from 0 to 1000/);
  assert.match(bad.errors[1].reason, /known: currency, core_hour, gpu_hour, instance_hour/);
  assert.equal(bad.policy.prices.gpuHour, 0.5);
});

test('coalmine.yaml sigma.placeholders: values per placeholder name (numbers as text); bad names, values and keys are errors with lines', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'sigma:',
      '  placeholders:',
      '    pool_ports: [3333, 14444]',
      '    Admins_Workstations: ws-01',
      '    "bad name%": [x]',
      '    domains: ["ok.example", "two\\nlines"]',
      '  rules: x',
      '',
    ].join('\n'),
  );
  assert.deepEqual(policy.sigma?.placeholders, {
    pool_ports: ['3333', '14444'],
    Admins_Workstations: ['ws-01'],
    domains: ['ok.example'],
  });
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [5, 'POLICY_BAD_VALUE'],
      [6, 'POLICY_BAD_VALUE'],
      [7, 'POLICY_UNKNOWN_KEY'],
    ],
  );
  assert.equal(parsePolicy('c.yaml', 'sigma: [x]\n').errors[0].code, 'POLICY_SHAPE');
});

test('containers: and cloud: entries may be mappings with owner, reason and expires, kept beside the lists by index with their own file:line', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'containers:',
      '  images:',
      '    - docker.io/ubuntu/squid',
      '    - image: docker.io/envoyproxy/envoy',
      '      owner: platform@example.com',
      '      reason: edge proxy (CHG-2291)',
      '      expires: 2026-12-31',
      '  creators: [{ creator: alice@example.com, expires: "2026-06-30T18:00:00+02:00" }]',
      '  labels:',
      '    change-ticket: { value: "CHG-*", owner: change-board }',
      '    tier: 2',
      'cloud:',
      '  principals:',
      '    - principal: "arn:aws:iam::*:role/terraform-*"',
      '      owner: cloud-platform',
      '      expires: 2026-12-31',
      '  regions: [eu-west-1, { region: us-east-1, reason: burst capacity }]',
      '  tags: { change-ticket: { value: 42, expires: 2026-12-31 } }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(errors, []);
  const containers = policy.containers;
  assert.ok(containers);
  // the lists are what they always were: the values, as written
  assert.deepEqual(containers.images, ['docker.io/ubuntu/squid', 'docker.io/envoyproxy/envoy']);
  assert.deepEqual(containers.creators, ['alice@example.com']);
  assert.deepEqual(containers.labels, { 'change-ticket': 'CHG-*', tier: '2' });
  assert.deepEqual(containers.terms, {
    images: [
      undefined,
      {
        owner: 'platform@example.com',
        reason: 'edge proxy (CHG-2291)',
        expires: '2026-12-31',
        ref: 'coalmine.yaml:4',
      },
    ],
    creators: [{ expires: '2026-06-30T18:00:00+02:00', ref: 'coalmine.yaml:8' }],
    labels: { 'change-ticket': { owner: 'change-board', ref: 'coalmine.yaml:10' } },
  });
  const cloud = policy.cloud;
  assert.ok(cloud);
  assert.deepEqual(cloud.principals, ['arn:aws:iam::*:role/terraform-*']);
  assert.deepEqual(cloud.regions, ['eu-west-1', 'us-east-1']);
  assert.deepEqual(cloud.tags, { 'change-ticket': '42' });
  assert.deepEqual(cloud.terms, {
    principals: [{ owner: 'cloud-platform', expires: '2026-12-31', ref: 'coalmine.yaml:14' }],
    regions: [undefined, { reason: 'burst capacity', ref: 'coalmine.yaml:17' }],
    tags: { 'change-ticket': { expires: '2026-12-31', ref: 'coalmine.yaml:18' } },
  });
  // a policy of plain strings, as before, carries no terms at all
  const plain = parsePolicy('coalmine.yaml', 'containers:\n  images: [nginx]\ncloud:\n  principals: [x]\n');
  assert.deepEqual(plain.errors, []);
  assert.equal(plain.policy.containers?.terms, undefined);
  assert.equal(plain.policy.cloud?.terms, undefined);
});

test('an approval entry with a bad owner, reason or expires, an unknown key or no value is an error with its file:line, and is left out', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'containers:',
      '  images:',
      '    - image: docker.io/a/ok',
      '      expires: 2026-12-31',
      '    - image: docker.io/a/late',
      '      expires: next tuesday',
      '    - image: docker.io/a/owned',
      '      owner: 42',
      '    - image: docker.io/a/typo',
      '      expiry: 2026-12-31',
      '    - owner: bob',
      '  namespaces:',
      '    - { namespace: ci, expires: "2026-12-31T18:00:00" }',
      '    - { namespace: batch, expires: 2026-02-30 }',
      '    - { namespace: ml, reason: [a, b] }',
      '  labels: { change-ticket: { value: "CHG-*", expires: 31/12/2026 } }',
      'cloud:',
      '  services: [{ service: "*.amazonaws.com", owner: x }]',
      '  tags: { ticket: { owner: x } }',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [6, 'POLICY_BAD_VALUE'],
      [8, 'POLICY_BAD_VALUE'],
      [10, 'POLICY_UNKNOWN_KEY'],
      [11, 'POLICY_SHAPE'],
      [13, 'POLICY_BAD_VALUE'],
      [14, 'POLICY_BAD_VALUE'],
      [15, 'POLICY_BAD_VALUE'],
      [16, 'POLICY_BAD_VALUE'],
      [18, 'POLICY_BAD_VALUE'],
      [19, 'POLICY_SHAPE'],
    ],
  );
  assert.match(errors[0].reason, /containers\.images: expires "next tuesday" is not a date \(YYYY-MM-DD/);
  assert.match(errors[1].reason, /containers\.images: owner must be a non-empty string/);
  assert.match(
    errors[2].reason,
    /unknown key "expiry" in a containers\.images entry \(known: image, owner, reason, expires\)/,
  );
  assert.match(errors[3].reason, /containers\.images: an entry written as a mapping needs "image"/);
  assert.match(errors[4].reason, /expires "2026-12-31T18:00:00" is not a date .* with its zone/);
  assert.match(errors[7].reason, /containers\.labels\.change-ticket: expires "31\/12\/2026" is not a date/);
  assert.match(errors[8].reason, /cloud\.services: "\*\.amazonaws\.com" must be a name/);
  assert.match(errors[9].reason, /cloud\.tags\.ticket: an entry written as a mapping needs "value"/);
  // only the good entry stays, with its terms aligned
  assert.deepEqual(policy.containers?.images, ['docker.io/a/ok']);
  assert.deepEqual(policy.containers?.terms?.images, [{ expires: '2026-12-31', ref: 'coalmine.yaml:3' }]);
  assert.deepEqual(policy.containers?.namespaces, []);
  assert.deepEqual(policy.containers?.labels, {});
  assert.deepEqual(policy.cloud?.services, []);
  assert.deepEqual(policy.cloud?.tags, {});
});

test("the README's containers: example is a policy coalmine accepts as written", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('**Container policy (`containers:`).**');
  assert.ok(start >= 0, 'README has the Container policy paragraph');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start));
  assert.ok(block, 'the paragraph has a yaml example');
  const { policy, errors } = parsePolicy('README.md', block[1]);
  assert.deepEqual(errors, []);
  const containers = policy.containers;
  assert.ok(containers);
  for (const list of [containers.registries, containers.images, containers.namespaces, containers.creators])
    assert.ok(list.length > 0);
  assert.ok(containers.terms, 'the example shows an entry with its owner, reason and expiry');
});
