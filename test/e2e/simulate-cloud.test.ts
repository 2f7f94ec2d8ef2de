/**
 * End to end, issue 14's Simulate section: `coalmine simulate cloud --emit-logs DIR` writes an AWS account's
 * S3 delivery (CloudTrail, VPC flow logs, Route 53 Resolver query logs, a CloudWatch metric stream) and
 * DIR/coalmine.yaml, and `coalmine hunt DIR/aws --policy DIR/coalmine.yaml` makes of it exactly one
 * finding above informational: high AN0744 on the leaked key's 20 GPU miners in the new region, Tier 2,
 * with a cost; nothing about the autoscaling group, the Terraform GPU launches or the nightly batch fleet,
 * and not one bad record. The printed hunt line is the one to run; the same --at writes the same bytes;
 * cloud has no live form and is written alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import type { EmittedCloud } from '../../src/simulate/cloud-story.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-simcloud-'));
after(() => rmSync(work, { recursive: true, force: true }));

const AT = '2026-12-01T03:00:00Z';

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The reader each delivery path belongs to. */
function formatOf(rel: string): string {
  if (rel.includes('/CloudTrail/')) return 'cloudtrail';
  if (rel.includes('/vpcflowlogs/')) return 'vpc-flow';
  if (rel.includes('/vpcdnsquerylogs/')) return 'route53-resolver';
  if (rel.startsWith('metric-streams/')) return 'cloudwatch-metrics';
  throw new Error(`unexpected file ${rel}`);
}

test('simulate cloud --emit-logs, then the printed hunt line: one high AN0744 on the leaked key, nothing on the ASG, Terraform or the batch fleet', () => {
  const dir = join(work, 'story');
  const sim = runCli(['simulate', 'cloud', '--emit-logs', dir, '--at', AT]);
  assert.equal(sim.code, 0, sim.stderr);
  const aws = join(dir, 'aws');
  const policy = join(dir, 'coalmine.yaml');
  assert.ok(sim.stdout.includes(`hunt it with: coalmine hunt ${aws} --policy ${policy}\n`), sim.stdout);
  assert.match(sim.stdout, /\d+ × aws\/AWSLogs\/123456789012\/CloudTrail\/ap-southeast-3\/YYYY\/MM\/DD\/…/);

  // the JSON form of the same run (another dir, same --at) names the story's parts, and writes the same bytes
  const again = join(work, 'again');
  const json = runCli(['simulate', 'cloud', '--emit-logs', again, '--at', AT, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const story = JSON.parse(json.stdout) as EmittedCloud;
  assert.deepEqual(story.hunt, ['coalmine', 'hunt', join(again, 'aws'), '--policy', join(again, 'coalmine.yaml')]);
  assert.deepEqual(tree(again), tree(dir));
  assert.deepEqual(story.files.map((f) => relative(again, f)).sort(), tree(again));
  for (const rel of tree(dir)) assert.ok(readFileSync(join(dir, rel)).equals(readFileSync(join(again, rel))), rel);

  const r = runCli(['hunt', aws, '--policy', policy, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  // every file read by its own reader, not one bad record
  const formats = new Map<string, number>();
  for (const rel of tree(aws)) formats.set(formatOf(rel), (formats.get(formatOf(rel)) ?? 0) + 1);
  assert.match(r.stderr, new RegExp(`coalmine: ${tree(aws).length} files \\(`), r.stderr);
  for (const [format, n] of formats) assert.match(r.stderr, new RegExp(`\\b${format} ${n}\\b`), r.stderr);
  assert.doesNotMatch(r.stderr, /bad input|not read/, r.stderr);

  const findings = ndjsonFindings(r.stdout);
  const raised = findings.filter((f) => f.severity !== 'informational');
  assert.equal(raised.length, 1, JSON.stringify(raised, null, 1));
  const f = raised[0];
  const k = story.leakedKey;
  assert.equal(f.analytic, 'AN0744');
  assert.equal(f.severity, 'high');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'reach', 'resource']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.facts.provider, 'aws');
  assert.equal(f.facts.account, story.account);
  assert.equal(f.facts.region, 'ap-southeast-3');
  assert.equal(f.facts.principal, k.principal);
  assert.equal(f.facts.access_key_id, k.accessKeyId);
  assert.equal(f.facts.source_ip, k.sourceIp);
  assert.equal(f.facts.instance_count, 20);
  assert.deepEqual(f.facts.instance_types, ['g4dn.xlarge']);
  const listed = f.facts.instances;
  assert.ok(Array.isArray(listed) && listed.length > 0 && listed.every((id) => k.instances.includes(id)));
  // judged by the story's policy, which has no entry for the key
  assert.match(String(f.facts.authorization), /^not approved: principal "arn:aws:iam::123456789012:user\/ci-backup"/);
  assert.ok(String(f.facts.authorization).includes(`(${policy}:`), String(f.facts.authorization));
  // each leg from its own log: the launch from the trail, the pool from DNS and flows, CPU from the stream
  const from = (kind: string, path: RegExp) =>
    assert.ok(
      f.evidence.some((e) => e.kind === kind && path.test(e.source)),
      `${kind} from ${path}: ${f.evidence.map((e) => `${e.kind} ${e.source}`).join('\n')}`,
    );
  from('unauthorized-launch', /\/CloudTrail\/ap-southeast-3\/.*\.json\.gz:\d+$/);
  from('pool-contact', /\/vpcdnsquerylogs\/.*\.log\.gz:\d+$/);
  from('pool-contact', /\/vpcflowlogs\/ap-southeast-3\/.*\.log\.gz:\d+$/);
  from('sustained-cpu', /\/metric-streams\/ap-southeast-3\/.*\.gz:\d+$/);
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
  const cost = f.triage?.cost;
  assert.ok(cost && (cost.instance_hours ?? 0) > 15 && cost.amount > 0, JSON.stringify(cost));
  const commands = f.triage?.containment.steps.flatMap((s) => s.commands) ?? [];
  assert.ok(
    commands.some((c) => c.includes(`aws iam update-access-key --status Inactive --access-key-id ${k.accessKeyId}`)),
    commands.join('\n'),
  );

  // nothing at all, at any severity, about the legitimate launches
  const others = [
    story.autoscaling.group,
    story.terraform.role.split('/').pop() ?? '',
    story.batch.role.split('/').pop() ?? '',
    ...story.autoscaling.instances,
    ...story.terraform.instances,
    ...story.batch.instances,
  ];
  assert.ok(story.batch.instances.length === 10 && story.autoscaling.instances.length === 6);
  for (const finding of findings) {
    const text = JSON.stringify(finding);
    for (const o of others) assert.ok(!text.includes(o), `${o} in ${finding.title}`);
  }
});

test('cloud is only written as logs, and alone: without --emit-logs, beside live behaviours, or --at on a live run, exit 2 with nothing written', () => {
  for (const args of [
    ['simulate', 'cloud'],
    ['simulate', 'cloud', 'miner', '--emit-logs', join(work, 'mixed')],
    ['simulate', 'miner', '--at', AT],
    ['simulate', 'cloud', '--emit-logs', join(work, 'bad-at'), '--at', 'yesterday'],
  ]) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /cloud only writes logs, alone|--at needs --emit-logs|argument 'yesterday' is invalid/);
  }
  assert.deepEqual(
    readdirSync(work).filter((n) => n === 'mixed' || n === 'bad-at'),
    [],
  );
});

// ---- the same plot on GCP and Azure, judged by the same policy ----------------------------------------

const providers = join(work, 'providers');
const providersRun = runCli(['simulate', 'cloud', '--emit-logs', providers, '--at', AT, '--json']);
const emitted = JSON.parse(providersRun.stdout) as EmittedCloud;

const hunted = new Map<string, ReturnType<typeof ndjsonFindings>>();

/** The provider's hunt under the story's policy (run once): no bad record, and the findings. */
function huntProvider(sub: 'gcp' | 'azure') {
  const done = hunted.get(sub);
  if (done) return done;
  assert.equal(providersRun.code, 0, providersRun.stderr);
  const line = emitted.hunts.find((h) => h[2] === join(providers, sub));
  assert.deepEqual(line, ['coalmine', 'hunt', join(providers, sub), '--policy', join(providers, 'coalmine.yaml')]);
  const r = runCli(['hunt', ...(line ?? []).slice(2), '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /bad input|not read/, r.stderr);
  hunted.set(sub, ndjsonFindings(r.stdout));
  return ndjsonFindings(r.stdout);
}

/** The leaked credential's launch: high AN0744, all three legs, 20 instances, the principal, the new region, Tier 2, a cost, the provider's plan. */
function assertLeakedLaunch(
  f: ReturnType<typeof ndjsonFindings>[number],
  want: { provider: string; account: string; principal: string; region: string; type: string; commands: RegExp[] },
): void {
  assert.equal(f.analytic, 'AN0744');
  assert.equal(f.severity, 'high');
  assert.deepEqual([...f.legs].sort(), ['authorization', 'reach', 'resource']);
  assert.equal(f.facts.provider, want.provider);
  assert.equal(f.facts.account, want.account);
  assert.equal(f.facts.region, want.region);
  assert.equal(f.facts.principal, want.principal);
  assert.equal(f.facts.source_ip, '203.0.113.77');
  assert.equal(f.facts.instance_count, 20);
  assert.deepEqual(f.facts.instance_types, [want.type]);
  assert.match(String(f.facts.authorization), /^not approved: principal /);
  assert.match(String(f.facts.authorization), new RegExp(`region ${want.region} first used in the account`));
  assert.equal(f.triage?.escalation.tier, 'Tier 2');
  const cost = f.triage?.cost;
  assert.ok(cost && (cost.instance_hours ?? 0) > 15 && cost.amount > 0, JSON.stringify(cost));
  const commands = f.triage?.containment.steps.flatMap((s) => s.commands) ?? [];
  for (const wanted of want.commands)
    assert.ok(
      commands.some((c) => wanted.test(c)),
      `${wanted}:\n${commands.join('\n')}`,
    );
}

test('GCP: hunt DIR/gcp --policy DIR/coalmine.yaml gives exactly one finding above informational, high on the leaked key', () => {
  const findings = huntProvider('gcp');
  const raised = findings.filter((f) => f.severity !== 'informational');
  assert.equal(raised.length, 1, JSON.stringify(raised, null, 1));
  const g = emitted.gcp;
  assertLeakedLaunch(raised[0], {
    provider: 'gcp',
    account: g.project,
    principal: g.leakedKey.principal,
    region: g.leakedKey.region,
    type: g.leakedKey.instanceType,
    commands: [/gcloud iam service-accounts keys disable \w+ --iam-account/, /gcloud compute instances stop/],
  });
  assert.equal(raised[0].facts.access_key_id, g.leakedKey.keyId);
});

test('Azure: hunt DIR/azure --policy DIR/coalmine.yaml gives a high finding on the leaked service principal', () => {
  const raised = huntProvider('azure').filter((f) => f.severity !== 'informational');
  const a = emitted.azure;
  const leaked = raised.filter((f) => f.facts.principal === a.leakedKey.principal);
  assert.equal(leaked.length, 1, JSON.stringify(raised, null, 1));
  assertLeakedLaunch(leaked[0], {
    provider: 'azure',
    account: a.subscription,
    principal: a.leakedKey.principal,
    region: a.leakedKey.region,
    type: a.leakedKey.instanceType,
    commands: [new RegExp(`az ad sp credential reset --id ${a.leakedKey.appId}`), /az vm deallocate --ids/],
  });
  // nothing about the Terraform training VMs or the render fleet
  for (const f of raised)
    for (const o of [...a.terraform.instances, ...a.batch.instances, a.terraform.principal, a.batch.principal])
      assert.ok(!JSON.stringify(f).includes(o), `${o} in ${f.title}`);
});

test('Azure: exactly one finding above informational (the scale set autoscale writes are the approved service)', () => {
  const raised = huntProvider('azure').filter((f) => f.severity !== 'informational');
  assert.equal(raised.length, 1, JSON.stringify(raised, null, 1));
});
