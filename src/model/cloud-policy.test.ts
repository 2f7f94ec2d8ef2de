import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloudApprovalOf, type LaunchForApproval } from './cloud-policy.js';
import type { CloudPolicy } from './policy.js';

function policy(over: Partial<CloudPolicy> = {}): CloudPolicy {
  return {
    principals: [],
    pipelines: [],
    services: [],
    regions: [],
    instanceFamilies: [],
    tags: {},
    ref: 'coalmine.yaml:60',
    ...over,
  };
}

/** When the launch happened: 2026-06-01T12:00:00Z. */
const AT = Date.parse('2026-06-01T12:00:00Z');

function launch(over: Partial<LaunchForApproval> = {}): LaunchForApproval {
  return {
    principal: 'arn:aws:iam::111122223333:role/terraform-ci',
    region: 'eu-west-1',
    instanceTypes: ['m5.large'],
    tags: {},
    at: AT,
    ...over,
  };
}

const TERRAFORM = 'arn:aws:iam::*:role/terraform-*';

test("no policy, no verdict: undefined, so the engine falls back to the data's own history", () => {
  assert.equal(cloudApprovalOf(undefined, launch()), undefined);
});

test('an identity entry approves and is cited with file:line: principal glob, pipeline user agent, or the service acting', () => {
  const p = policy({
    principals: [TERRAFORM, 'ml-team@example.iam.gserviceaccount.com'],
    pipelines: ['*terraform-provider-aws/*'],
    services: ['autoscaling.amazonaws.com'],
  });
  assert.deepEqual(cloudApprovalOf(p, launch()), {
    approved: true,
    reason: 'cloud.principals "arn:aws:iam::*:role/terraform-*" (coalmine.yaml:60)',
  });
  // emails, ARNs' role names and object ids are matched without case, as the providers treat them
  assert.deepEqual(cloudApprovalOf(p, launch({ principal: 'ML-Team@example.iam.gserviceaccount.com' })), {
    approved: true,
    reason: 'cloud.principals "ml-team@example.iam.gserviceaccount.com" (coalmine.yaml:60)',
  });
  assert.deepEqual(
    cloudApprovalOf(
      p,
      launch({
        principal: 'arn:aws:iam::111122223333:user/shared-deployer',
        userAgent: 'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 terraform-provider-aws/5.40.0',
      }),
    ),
    { approved: true, reason: 'cloud.pipelines "*terraform-provider-aws/*" (coalmine.yaml:60)' },
  );
  assert.deepEqual(
    cloudApprovalOf(
      p,
      launch({
        principal: 'arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling',
        invokedBy: 'autoscaling.amazonaws.com',
      }),
    ),
    { approved: true, reason: 'cloud.services "autoscaling.amazonaws.com" (coalmine.yaml:60)' },
  );
});

test('an assumed-role session is judged by its role: the role its ARN names, or the session issuer with its path', () => {
  const p = policy({ principals: [TERRAFORM, 'arn:aws:iam::111122223333:role/ci/deployer'] });
  const session = 'arn:aws:sts::111122223333:assumed-role/terraform-ci/1712345678';
  assert.equal(cloudApprovalOf(p, launch({ principal: session }))?.approved, true);
  const anyPartition = policy({ principals: ['arn:*:iam::*:role/terraform-*'] });
  const china = 'arn:aws-cn:sts::111122223333:assumed-role/terraform-cn/s';
  assert.equal(cloudApprovalOf(anyPartition, launch({ principal: china }))?.approved, true);
  // a role with a path: the session ARN drops the path, the issuer keeps it
  const deployer = 'arn:aws:sts::111122223333:assumed-role/deployer/s';
  assert.equal(cloudApprovalOf(p, launch({ principal: deployer }))?.approved, false);
  assert.deepEqual(
    cloudApprovalOf(p, launch({ principal: deployer, sessionIssuer: 'arn:aws:iam::111122223333:role/ci/deployer' })),
    { approved: true, reason: 'cloud.principals "arn:aws:iam::111122223333:role/ci/deployer" (coalmine.yaml:60)' },
  );
  // look-alikes are not sessions of the role
  for (const principal of [
    'arn:aws:sts::111122223333:assumed-role/attacker/terraform-x',
    'arn:aws:sts::111122223333:federated-user/terraform-ci',
    'arn:aws:sts::111122223333:assumed-role/terraform-ci/a/b',
    'arn:aws:iam::111122223333:user/terraform-ci',
  ])
    assert.equal(cloudApprovalOf(p, launch({ principal }))?.approved, false, principal);
});

test('no identity entry matches: the reason names each identity the launch had and the list it is not in', () => {
  const p = policy({ principals: [TERRAFORM], pipelines: ['Terraform/*'], services: ['autoscaling.amazonaws.com'] });
  assert.deepEqual(
    cloudApprovalOf(
      p,
      launch({
        principal: 'arn:aws:iam::111122223333:user/dev',
        userAgent: 'aws-cli/2.15.0',
        invokedBy: 'spot.amazonaws.com',
      }),
    ),
    {
      approved: false,
      reason:
        'principal "arn:aws:iam::111122223333:user/dev" matches no cloud.principals entry; user agent "aws-cli/2.15.0" matches no cloud.pipelines entry; service "spot.amazonaws.com" is not in cloud.services (coalmine.yaml:60)',
    },
  );
  assert.match(
    cloudApprovalOf(p, launch({ principal: undefined }))?.reason ?? '',
    /^no principal, user agent or service named/,
  );
  // a policy naming no identity approves nothing, and says so
  assert.deepEqual(cloudApprovalOf(policy({ regions: ['eu-west-1'] }), launch()), {
    approved: false,
    reason: 'cloud: lists no principals, pipelines or services, so no launch is approved (coalmine.yaml:60)',
  });
  // services are named whole: a longer name is not the service
  assert.equal(
    cloudApprovalOf(p, launch({ principal: 'x', invokedBy: 'autoscaling.amazonaws.com.evil.net' }))?.approved,
    false,
  );
});

test('regions, instance families and tags restrict an approved identity; the first failed condition is the reason', () => {
  const p = policy({
    principals: [TERRAFORM],
    regions: ['eu-west-1', 'westeurope'],
    instanceFamilies: ['m5.*', 'p4d.*', 'n2-standard-*', 'Standard_D*'],
    tags: { ticket: 'CHG-*', team: '*' },
  });
  const tagged = { ticket: 'CHG-1142', team: 'ml' };
  assert.deepEqual(cloudApprovalOf(p, launch({ instanceTypes: ['m5.large', 'p4d.24xlarge'], tags: tagged })), {
    approved: true,
    reason: 'cloud.principals "arn:aws:iam::*:role/terraform-*" (coalmine.yaml:60)',
  });
  assert.deepEqual(cloudApprovalOf(p, launch({ region: 'ap-southeast-3', tags: tagged })), {
    approved: false,
    reason: 'region ap-southeast-3 is not in cloud.regions (coalmine.yaml:60)',
  });
  assert.equal(
    cloudApprovalOf(p, launch({ region: 'WestEurope', instanceTypes: ['standard_d4s_v3'], tags: tagged }))?.approved,
    true,
  );
  assert.deepEqual(cloudApprovalOf(p, launch({ instanceTypes: ['m5.large', 'g5.48xlarge'], tags: tagged })), {
    approved: false,
    reason: 'instance type g5.48xlarge is not in cloud.instance_families (coalmine.yaml:60)',
  });
  // a GCP machine type URL is judged by its type
  assert.equal(
    cloudApprovalOf(
      p,
      launch({ instanceTypes: ['zones/europe-west4-a/machineTypes/n2-standard-8'], region: 'eu-west-1', tags: tagged }),
    )?.approved,
    true,
  );
  assert.deepEqual(cloudApprovalOf(p, launch({ tags: { team: 'ml' } })), {
    approved: false,
    reason: 'no tag "ticket" (cloud.tags, coalmine.yaml:60)',
  });
  assert.deepEqual(cloudApprovalOf(p, launch({ tags: { ticket: 'INC-7', team: 'ml' } })), {
    approved: false,
    reason: 'tag "ticket" is "INC-7", not "CHG-*" (cloud.tags, coalmine.yaml:60)',
  });
  // what the launch does not say fails a condition that restricts it
  assert.deepEqual(cloudApprovalOf(p, launch({ region: undefined, tags: tagged })), {
    approved: false,
    reason: 'region unknown; cloud.regions restricts it (coalmine.yaml:60)',
  });
  assert.deepEqual(cloudApprovalOf(p, launch({ instanceTypes: [], tags: tagged })), {
    approved: false,
    reason: 'instance type unknown; cloud.instance_families restricts it (coalmine.yaml:60)',
  });
  // empty lists do not restrict
  assert.equal(
    cloudApprovalOf(policy({ principals: [TERRAFORM] }), launch({ region: undefined, instanceTypes: [] }))?.approved,
    true,
  );
});

test('hostile launch values approve nothing: oversized, over 256 items, non-strings, inherited or __proto__ tags', () => {
  const p = policy({
    principals: ['*'],
    pipelines: ['*'],
    services: ['autoscaling.amazonaws.com'],
    tags: { ticket: '*' },
  });
  const ok = { ticket: 'CHG-1' };
  assert.equal(cloudApprovalOf(p, launch({ tags: ok }))?.approved, true);
  // oversized identities match nothing, even the catch-all glob
  const huge = `arn:aws:iam::1:role/${'a'.repeat(1 << 20)}`;
  const oversized = cloudApprovalOf(p, launch({ principal: huge, tags: ok }));
  assert.equal(oversized?.approved, false);
  assert.ok((oversized?.reason.length ?? 0) < 1000, 'the reason quotes a clipped value');
  assert.equal(
    cloudApprovalOf(p, launch({ principal: undefined, userAgent: 'x'.repeat(513), tags: ok }))?.approved,
    false,
  );
  assert.equal(
    cloudApprovalOf(
      p,
      launch({ principal: undefined, invokedBy: `autoscaling.amazonaws.com${' '.repeat(600)}`, tags: ok }),
    )?.approved,
    false,
  );
  // more than 256 types or tags: not judged, not approved
  assert.match(
    cloudApprovalOf(p, launch({ instanceTypes: Array.from({ length: 257 }, () => 'm5.large'), tags: ok }))?.reason ??
      '',
    /257 instance types, over the 256 judged/,
  );
  const manyTags: Record<string, string> = { ...ok };
  for (let i = 0; i < 300; i++) manyTags[`t${i}`] = 'x';
  assert.equal(cloudApprovalOf(p, launch({ tags: manyTags }))?.approved, false);
  // oversized or non-string types and regions meet no restriction
  const families = policy({ principals: ['*'], instanceFamilies: ['*'], regions: ['eu-west-1'] });
  assert.equal(cloudApprovalOf(families, launch({ instanceTypes: ['m'.repeat(513)] }))?.approved, false);
  assert.equal(cloudApprovalOf(families, launch({ instanceTypes: [42 as unknown as string] }))?.approved, false);
  assert.equal(
    cloudApprovalOf(families, launch({ instanceTypes: 'm5.large' as unknown as string[] }))?.approved,
    false,
  );
  assert.equal(
    cloudApprovalOf(families, launch({ region: { toString: () => 'eu-west-1' } as unknown as string }))?.approved,
    false,
  );
  // required tags only as own string values within the bound; __proto__ is an ordinary tag name
  const protoTags: Record<string, string> = {};
  Object.defineProperty(protoTags, '__proto__', { value: 'CHG-*', enumerable: true });
  const proto = policy({ principals: ['*'], tags: protoTags });
  assert.equal(cloudApprovalOf(proto, launch({ tags: {} }))?.approved, false);
  assert.equal(cloudApprovalOf(proto, launch({ tags: JSON.parse('{"__proto__":"CHG-9"}') }))?.approved, true);
  assert.equal(cloudApprovalOf(proto, launch({ tags: JSON.parse('{"__proto__":"INC-9"}') }))?.approved, false);
  const inherited = policy({ principals: ['*'], tags: { constructor: '*', toString: '*' } });
  assert.match(cloudApprovalOf(inherited, launch({ tags: {} }))?.reason ?? '', /^no tag "constructor"/);
  assert.equal(cloudApprovalOf(p, launch({ tags: { ticket: 7 as unknown as string } }))?.approved, false);
  assert.equal(cloudApprovalOf(p, launch({ tags: { ticket: 'C'.repeat(513) } }))?.approved, false);
  assert.equal(cloudApprovalOf(p, launch({ tags: null as unknown as Record<string, string> }))?.approved, false);
  // bounded time on a pathological glob
  const slow = policy({ principals: [`${'*a'.repeat(200)}*b`] });
  const started = process.hrtime.bigint();
  assert.equal(cloudApprovalOf(slow, launch({ principal: 'a'.repeat(512) }))?.approved, false);
  assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 200);
});

test('an identity entry with terms approves until its expiry, judged at the launch, and is cited with its line, owner and reason', () => {
  const terms = { owner: 'cloud-platform', reason: 'CHG-4812 p4d capacity', expires: '2026-06-30', ref: 'c.yaml:3' };
  const p = policy({ principals: [TERRAFORM], terms: { principals: [terms] } });
  assert.deepEqual(cloudApprovalOf(p, launch({ at: Date.parse('2026-06-30T23:59:59.999Z') })), {
    approved: true,
    reason: `cloud.principals "${TERRAFORM}" (c.yaml:3; owner cloud-platform; reason "CHG-4812 p4d capacity"; expires 2026-06-30)`,
  });
  assert.deepEqual(cloudApprovalOf(p, launch({ at: Date.parse('2026-07-01T00:00:00Z') })), {
    approved: false,
    reason: `cloud.principals "${TERRAFORM}" (c.yaml:3; owner cloud-platform; reason "CHG-4812 p4d capacity") expired 2026-06-30, before this launch at 2026-07-01T00:00:00.000Z`,
  });
  // a lapsed principal does not hide a pipeline entry in force; a launch nothing matches fails as before
  const both = policy({ principals: [TERRAFORM], pipelines: ['Terraform/*'], terms: { principals: [terms] } });
  const late = Date.parse('2026-08-01T00:00:00Z');
  assert.deepEqual(cloudApprovalOf(both, launch({ userAgent: 'Terraform/1.8.0', at: late })), {
    approved: true,
    reason: 'cloud.pipelines "Terraform/*" (coalmine.yaml:60)',
  });
  assert.match(
    cloudApprovalOf(p, launch({ principal: 'arn:aws:iam::1:user/dev', at: late }))?.reason ?? '',
    /^principal "arn:aws:iam::1:user\/dev" matches no cloud\.principals entry/,
  );
  // entries without terms approve at any time
  assert.equal(
    cloudApprovalOf(policy({ principals: [TERRAFORM] }), launch({ at: Date.parse('2099-01-01T00:00:00Z') }))?.approved,
    true,
  );
});

test('a lapsed region, family or tag entry meets no condition but still restricts, and is named as the failure', () => {
  const old = { owner: 'finops', expires: '2026-01-31', ref: 'c.yaml:9' };
  const at = Date.parse('2026-06-01T00:00:00Z');
  const before = Date.parse('2026-01-15T00:00:00Z');
  const regions = policy({ principals: [TERRAFORM], regions: ['eu-west-1'], terms: { regions: [old] } });
  assert.equal(cloudApprovalOf(regions, launch({ at: before }))?.approved, true);
  assert.deepEqual(cloudApprovalOf(regions, launch({ at })), {
    approved: false,
    reason:
      'region eu-west-1: cloud.regions "eu-west-1" (c.yaml:9; owner finops) expired 2026-01-31, before this launch at 2026-06-01T00:00:00.000Z',
  });
  // another region entry in force still approves
  const two = policy({ principals: [TERRAFORM], regions: ['eu-west-1', 'EU-WEST-1'], terms: { regions: [old] } });
  assert.equal(cloudApprovalOf(two, launch({ at }))?.approved, true);
  const families = policy({ principals: [TERRAFORM], instanceFamilies: ['m5.*'], terms: { instanceFamilies: [old] } });
  assert.match(
    cloudApprovalOf(families, launch({ at }))?.reason ?? '',
    /^instance type m5\.large: cloud\.instance_families "m5\.\*" \(c\.yaml:9; owner finops\) expired 2026-01-31/,
  );
  const tags = policy({ principals: [TERRAFORM], tags: { ticket: 'CHG-*' }, terms: { tags: { ticket: old } } });
  assert.equal(cloudApprovalOf(tags, launch({ tags: { ticket: 'CHG-1' }, at: before }))?.approved, true);
  assert.match(
    cloudApprovalOf(tags, launch({ tags: { ticket: 'CHG-1' }, at }))?.reason ?? '',
    /^tag "ticket": cloud\.tags ticket="CHG-\*" \(c\.yaml:9; owner finops\) expired 2026-01-31/,
  );
  assert.equal(
    cloudApprovalOf(tags, launch({ tags: {}, at }))?.reason,
    'no tag "ticket" (cloud.tags, coalmine.yaml:60)',
  );
});
