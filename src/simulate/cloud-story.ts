/**
 * The cloud story `simulate cloud --emit-logs DIR` writes: the same plot on AWS here, on Google Cloud in
 * cloud-story-gcp.ts (`DIR/gcp/`) and on Azure in cloud-story-azure.ts (`DIR/azure/`), each judged by
 * `hunt DIR/<provider> --policy DIR/coalmine.yaml`, the one `cloud:` policy approving all three's paths.
 * The AWS story for `hunt DIR/aws --policy DIR/coalmine.yaml`, as
 * an account's own S3 delivery would have left it (the formats of scripts/fixtures/cloud.py, laid out as
 * synced from the buckets):
 * - CloudTrail delivery files, `aws/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`
 *   (`{"Records":[…]}`, one file per region and 5 minutes that had calls), 14 days of history;
 * - VPC Flow Logs, custom v5 format with its header line, `aws/AWSLogs/<account>/vpcflowlogs/<region>/…/*.log.gz`
 *   (one object per region and 10-minute aggregation window);
 * - Route 53 Resolver query logs, `aws/AWSLogs/<account>/vpcdnsquerylogs/<vpc>/…/*.log.gz` (JSON lines);
 * - a CloudWatch metric stream of `AWS/EC2` `CPUUtilization` in the `json` output format, as Firehose
 *   writes it to S3 (`aws/metric-streams/<region>/YYYY/MM/DD/HH/*.gz`, one object per region and hour).
 * The story, its incident in the last hour before `end`:
 * (a) the `ci-backup` IAM user's key, which only listed S3 nightly from its usual address for 14 days,
 *     is used from a new address (aws-cli) to read its identity and the regions, `EnableRegion`
 *     ap-southeast-3, read the GPU quota there and `RunInstances` 20 g4dn.xlarge whose userData (base64)
 *     curls a script and runs xmrig against a pool from the bundled intel with the wallet; each instance
 *     resolves the pool through the VPC resolver, holds a connection to it and sits at 97–100% CPU from its
 *     first datapoint;
 * (b) beside it, in eu-west-1: autoscaling.amazonaws.com scales `web-asg` out under load (its instances
 *     at 85–97%), as it did every 6 hours of the history; the `terraform-deploy` role launches 2 GPU
 *     training instances tagged with a change ticket, which `DIR/coalmine.yaml`'s `cloud:` section
 *     approves; the `render-scheduler` role launches its 10-instance c5.4xlarge render fleet, as it did
 *     every night for 14 nights, each fleet pinned at 98–100% until it is terminated.
 * Every id and address is made up (documentation ranges, private VPC addresses, ids hashed from names)
 * and output depends only on `end` and the wallet. `cloudStory` builds the files, `emitCloudLogs` writes them.
 */

import { join } from 'node:path';
import { AZURE_APPROVED, AZURE_DIR, type AzureStory, azureStory } from './cloud-story-azure.js';
import { GCP_APPROVED, GCP_DIR, type GcpStory, gcpStory } from './cloud-story-gcp.js';
import {
  ATTACKER_IP,
  BATCH_RUN_MS,
  type CloudStoryFile,
  DAY,
  datePath,
  grouped,
  gz,
  HISTORY_DAYS,
  HOUR,
  hex,
  INCIDENT_MS,
  jitter,
  LEAKED_HOME_IP,
  MINERS,
  MINUTE,
  minerScript,
  POOL,
  round1,
  SECOND,
  stamp,
  TERRAFORM_IP,
} from './cloud-story-parts.js';
import { iso, uuid } from './container-story.js';
import { writeNewFile } from './emit-logs.js';

export const CLOUD_DIR = 'aws';
export const CLOUD_POLICY_FILE = 'coalmine.yaml';
/** AWS's own documentation account id. */
const ACCOUNT = '123456789012';
const HOME = 'eu-west-1';
const NEW_REGION = 'ap-southeast-3';
/** CloudWatch basic monitoring: one datapoint per 5 minutes. */
const METRIC_STEP_MS = 5 * MINUTE;
/** VPC flow logs aggregate a connection per 10-minute window. */
const FLOW_WINDOW_MS = 10 * MINUTE;
/** CloudTrail delivers a region's calls about every 5 minutes. */
const TRAIL_DELIVERY_MS = 5 * MINUTE;
const MINER_TYPE = 'g4dn.xlarge';
const ASG = 'web-asg';
const TRAINING_TYPE = 'p4d.24xlarge';
const BATCH_TYPE = 'c5.4xlarge';
const BATCH_SIZE = 10;
const STREAM = 'ec2-cpu';
/** An S3/artifact endpoint the legitimate fleets talk to (documentation range). */
const ARTIFACTS = { name: `artifacts.${HOME}.example.invalid`, ip: '198.51.100.80', port: 443 } as const;

const LEAKED_USER = 'ci-backup';
const LEAKED_KEY = 'AKIA3EXAMPLELEAKED01';
const TERRAFORM_ROLE = `arn:aws:iam::${ACCOUNT}:role/terraform-deploy`;
const TERRAFORM_UA =
  'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.1';
const BATCH_ROLE = `arn:aws:iam::${ACCOUNT}:role/render-scheduler`;
const BATCH_IP = '198.51.100.60';
const BATCH_UA =
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.69';
const CLI_UA = (command: string) =>
  `aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/${command}`;
const AUTOSCALING = 'autoscaling.amazonaws.com';

const FLOW_HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action ' +
  'log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id ' +
  'sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path';

/** A YAML flow list of quoted strings (every entry here is our own constant; JSON strings are YAML). */
const yamlList = (items: readonly string[]) => `[${items.map((x) => JSON.stringify(x)).join(', ')}]`;

/**
 * The `cloud:` policy the story is judged by: the approved paths for compute on all three providers. Ticket
 * tags are lowercase everywhere since GCP labels allow no capitals and tag globs match as written.
 */
const POLICY = `# coalmine simulate cloud: the approved ways compute is created in AWS account ${ACCOUNT}, GCP project
# acme-prod-421337 and Azure subscription 6d4f2a1c-3b5e-4c7d-9e8f-1a2b3c4d5e6f.
# Terraform (with a change ticket) and the render schedulers launch in each home region (${HOME},
# ${GCP_APPROVED.regions.join(', ')}, ${AZURE_APPROVED.regions.join(', ')}); autoscaling, the managed instance group and
# autoscale launch for their groups there. Anything else creating compute is not on the approved path.
cloud:
  principals:
    - "arn:aws:iam::*:role/terraform-*"
    - "${BATCH_ROLE}"
${GCP_APPROVED.principals.map((p) => `    - ${JSON.stringify(p)}`).join('\n')}
${AZURE_APPROVED.principals.map((p) => `    - ${JSON.stringify(p)}  # ${AZURE_APPROVED.names[p]} (Azure object id)`).join('\n')}
  services: ${yamlList([AUTOSCALING, ...GCP_APPROVED.services, ...AZURE_APPROVED.services])}
  regions: ${yamlList([HOME, ...GCP_APPROVED.regions, ...AZURE_APPROVED.regions])}
  instance_families: ${yamlList(['m5.*', 'c5.*', 'p4d.*', ...GCP_APPROVED.instanceFamilies, ...AZURE_APPROVED.instanceFamilies])}
  tags: { change-ticket: "chg-*" }
`;

type Json = Record<string, unknown>;

export interface CloudStory {
  files: CloudStoryFile[];
  account: string;
  from: string;
  to: string;
  leakedKey: {
    principal: string;
    accessKeyId: string;
    sourceIp: string;
    usualIp: string;
    region: string;
    enabledAt: string;
    launchedAt: string;
    instanceType: string;
    instances: string[];
    pool: string;
    userData: string;
  };
  autoscaling: {
    group: string;
    service: string;
    region: string;
    instanceType: string;
    instances: string[];
    earlierLaunches: number;
  };
  terraform: {
    role: string;
    region: string;
    instanceType: string;
    instances: string[];
    ticket: string;
    earlierLaunches: number;
  };
  batch: { role: string; region: string; instanceType: string; instances: string[]; earlierNights: number };
  /** The same plot on Google Cloud (`DIR/gcp/`) and Azure (`DIR/azure/`). */
  gcp: Omit<GcpStory, 'expect'>;
  azure: Omit<AzureStory, 'expect'>;
  expect: string[];
}

function instanceId(...parts: string[]): string {
  return `i-0${hex(16, 'instance', ...parts)}`;
}

function eniOf(id: string): string {
  return `eni-0${hex(16, 'eni', id)}`;
}

function vpcOf(region: string): string {
  return `vpc-0${hex(16, 'vpc', region)}`;
}

function subnetOf(region: string): string {
  return `subnet-0${hex(16, 'subnet', region)}`;
}

/** A private address in the region's VPC (10.x), drawn from the instance id. */
function privateIp(id: string): string {
  const x = Number.parseInt(hex(6, 'ip', id), 16);
  return `10.${20 + (x % 40)}.${((x >> 6) % 250) + 1}.${((x >> 14) % 250) + 4}`;
}

/** An AZ id as AWS names them (`euw1-az1`, `apse3-az1`). */
function azIdOf(region: string): string {
  const [area, direction, n] = region.split('-');
  const short: Record<string, string> = { west: 'w', east: 'e', north: 'n', south: 's', central: 'c' };
  const d = short[direction] ?? direction.replace(/(north|south)(east|west)/, (_, a: string, b: string) => a[0] + b[0]);
  return `${area}${d}${n}-az1`;
}

/** The random part of a CloudTrail object name: 16 letters and digits, from a hash. */
function trailSuffix(...parts: string[]): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const h = hex(64, 'trail-object', ...parts);
  let out = '';
  for (let i = 0; i < 16; i++) out += alphabet[Number.parseInt(h.slice(i * 2, i * 2 + 2), 16) % alphabet.length];
  return out;
}

// ---- identities ----------------------------------------------------------------------------------

function roleSession(role: string, session: string, issued: number, invokedBy?: string): Json {
  const name = role.slice(role.lastIndexOf('/') + 1);
  const roleId = `AROA${hex(16, 'role', role).toUpperCase()}`;
  return {
    type: 'AssumedRole',
    principalId: `${roleId}:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${session}`,
    accountId: ACCOUNT,
    accessKeyId: `ASIA${hex(16, 'session', role, session).toUpperCase()}`,
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: roleId, arn: role, accountId: ACCOUNT, userName: name },
      attributes: { creationDate: iso(issued), mfaAuthenticated: 'false' },
    },
    ...(invokedBy ? { invokedBy } : {}),
  };
}

/** What CloudTrail writes when autoscaling launches for the account through its service-linked role. */
function autoscalingIdentity(issued: number): Json {
  return roleSession(
    `arn:aws:iam::${ACCOUNT}:role/aws-service-role/${AUTOSCALING}/AWSServiceRoleForAutoScaling`,
    'AutoScaling',
    issued,
    AUTOSCALING,
  );
}

function leakedUser(): Json {
  return {
    type: 'IAMUser',
    principalId: `AIDA${hex(17, 'user', LEAKED_USER).toUpperCase()}`,
    arn: `arn:aws:iam::${ACCOUNT}:user/${LEAKED_USER}`,
    accountId: ACCOUNT,
    accessKeyId: LEAKED_KEY,
    userName: LEAKED_USER,
  };
}

// ---- the story's telemetry -------------------------------------------------------------------------

interface Launch {
  at: number;
  region: string;
  type: string;
  ids: string[];
}

class Account {
  readonly trail: Array<{ at: number; region: string; record: Json }> = [];
  readonly flows: Array<{ at: number; region: string; line: string }> = [];
  readonly queries: Array<{ at: number; region: string; record: Json }> = [];
  readonly cpu: Array<{ at: number; region: string; record: Json }> = [];
  private n = 0;

  call(
    at: number,
    who: Json,
    source: string,
    name: string,
    region: string,
    ip: string,
    agent: string,
    request: Json | null,
    response: Json | null = null,
    readOnly = false,
  ): void {
    const seq = String(this.n++);
    this.trail.push({
      at,
      region,
      record: {
        eventVersion: '1.09',
        userIdentity: who,
        eventTime: iso(Math.floor(at / SECOND) * SECOND),
        eventSource: source,
        eventName: name,
        awsRegion: region,
        sourceIPAddress: ip,
        userAgent: agent,
        requestParameters: request,
        responseElements: response,
        requestID: uuid(`request ${seq}`),
        eventID: uuid(`event ${seq}`),
        readOnly,
        eventType: 'AwsApiCall',
        managementEvent: true,
        recipientAccountId: ACCOUNT,
        eventCategory: 'Management',
      },
    });
  }

  /** RunInstances as CloudTrail records it: the request (type, count, image, userData, tags) and the instances made. */
  runInstances(
    at: number,
    who: Json,
    region: string,
    ip: string,
    agent: string,
    type: string,
    ids: string[],
    tags: Record<string, string>,
    userData?: string,
  ): Launch {
    const tagSet = Object.entries(tags).map(([key, value]) => ({ key, value }));
    const image = `ami-0${hex(16, 'ami', region, type)}`;
    const request: Json = {
      instancesSet: { items: [{ imageId: image, minCount: ids.length, maxCount: ids.length }] },
      instanceType: type,
      blockDeviceMapping: {},
      monitoring: { enabled: false },
      disableApiTermination: false,
      disableApiStop: false,
      clientToken: uuid(`token ${at} ${type}`),
      ...(userData !== undefined ? { userData: Buffer.from(userData, 'utf8').toString('base64') } : {}),
      tagSpecificationSet: { items: [{ resourceType: 'instance', tags: tagSet }] },
    };
    const items = ids.map((id) => ({
      instanceId: id,
      imageId: image,
      instanceState: { code: 0, name: 'pending' },
      instanceType: type,
      placement: { availabilityZone: `${region}a`, tenancy: 'default' },
      privateIpAddress: privateIp(id),
      networkInterfaceSet: {
        items: [
          {
            networkInterfaceId: eniOf(id),
            subnetId: subnetOf(region),
            vpcId: vpcOf(region),
            privateIpAddress: privateIp(id),
            status: 'in-use',
          },
        ],
      },
      tagSet: { items: tagSet },
      launchTime: at,
    }));
    const response: Json = {
      requestId: uuid(`response ${at} ${type}`),
      reservationId: `r-0${hex(16, 'reservation', String(at), type)}`,
      ownerId: ACCOUNT,
      groupSet: {},
      instancesSet: { items },
    };
    this.call(at, who, 'ec2.amazonaws.com', 'RunInstances', region, ip, agent, request, response);
    return { at, region, type, ids };
  }

  terminate(at: number, who: Json, launch: Launch, ip: string, agent: string): void {
    this.call(
      at,
      who,
      'ec2.amazonaws.com',
      'TerminateInstances',
      launch.region,
      ip,
      agent,
      { instancesSet: { items: launch.ids.map((instanceId) => ({ instanceId })) } },
      {
        requestId: uuid(`terminate ${at}`),
        instancesSet: {
          items: launch.ids.map((instanceId) => ({
            instanceId,
            currentState: { code: 32, name: 'shutting-down' },
            previousState: { code: 16, name: 'running' },
          })),
        },
      },
    );
  }

  /** CPUUtilization datapoints on the 5-minute grid from the first after `from` up to `to`, at lo–hi percent. */
  pinned(launch: Launch, from: number, to: number, lo: number, hi: number): void {
    for (const id of launch.ids)
      for (let t = Math.floor(from / METRIC_STEP_MS) * METRIC_STEP_MS + METRIC_STEP_MS; t <= to; t += METRIC_STEP_MS) {
        const avg = round1(jitter(lo, hi, 'cpu', id, String(t)));
        const count = 5;
        this.cpu.push({
          at: t,
          region: launch.region,
          record: {
            metric_stream_name: STREAM,
            account_id: ACCOUNT,
            region: launch.region,
            namespace: 'AWS/EC2',
            metric_name: 'CPUUtilization',
            dimensions: { InstanceId: id },
            timestamp: t,
            value: {
              max: Math.min(100, round1(avg + jitter(0.1, 1.5, 'max', id, String(t)))),
              min: round1(Math.max(0, avg - jitter(0.5, 3, 'min', id, String(t)))),
              sum: round1(avg * count),
              count,
            },
            unit: 'Percent',
          },
        });
      }
  }

  /** One VPC flow log record (custom v5 fields, in FLOW_HEADER's order). */
  private flowLine(
    region: string,
    id: string,
    src: string,
    dst: string,
    sport: number,
    dport: number,
    start: number,
    end: number,
    packets: number,
    direction: 'egress' | 'ingress',
  ): string {
    const bytes = packets * (direction === 'egress' ? 140 : 290);
    const flags = direction === 'egress' ? 2 : 18;
    const path = direction === 'egress' ? '8' : '-';
    const s = Math.floor(start / SECOND);
    const e = Math.floor(end / SECOND);
    return `5 ${ACCOUNT} ${eniOf(id)} ${src} ${dst} ${sport} ${dport} 6 ${packets} ${bytes} ${s} ${e} ACCEPT OK ${vpcOf(region)} ${subnetOf(region)} ${id} ${flags} IPv4 ${src} ${dst} ${region} ${azIdOf(region)} - - - - ${direction} ${path}`;
  }

  /** One held connection from the instance to `to`, as the flow log aggregates it: both directions per window. */
  connection(
    region: string,
    id: string,
    to: { ip: string; port: number },
    from: number,
    until: number,
    what: string,
  ): void {
    const src = privateIp(id);
    const sport = 40000 + Math.floor(jitter(0, 20000, 'sport', id, what));
    for (let t = from; t < until; ) {
      const end = Math.min(t + FLOW_WINDOW_MS - (t % FLOW_WINDOW_MS), until);
      const packets = Math.floor(jitter(30, 60, 'packets', id, String(t)));
      this.flows.push({
        at: t,
        region,
        line: this.flowLine(region, id, src, to.ip, sport, to.port, t, end, packets, 'egress'),
      });
      this.flows.push({
        at: t,
        region,
        line: this.flowLine(region, id, to.ip, src, to.port, sport, t, end, packets - 2, 'ingress'),
      });
      t = end;
    }
  }

  /** A Route 53 Resolver query log record of the instance asking for `name`. */
  query(region: string, id: string, at: number, name: string, answer: string): void {
    this.queries.push({
      at,
      region,
      record: {
        version: '1.100000',
        account_id: ACCOUNT,
        region,
        vpc_id: vpcOf(region),
        query_timestamp: iso(Math.floor(at / SECOND) * SECOND),
        query_name: `${name}.`,
        query_type: 'A',
        query_class: 'IN',
        rcode: 'NOERROR',
        answers: [{ Rdata: answer, Type: 'A', Class: 'IN' }],
        srcaddr: privateIp(id),
        srcport: String(30000 + Math.floor(jitter(0, 30000, 'dnsport', id, String(at)))),
        transport: 'UDP',
        srcids: { instance: id },
      },
    });
  }
}

function filesOf(a: Account, end: number): CloudStoryFile[] {
  const files: CloudStoryFile[] = [];
  const bucket = (at: number, size: number) => Math.floor(at / size) * size;
  const delivered = (at: number, size: number) => Math.min(bucket(at, size) + size, end);
  for (const [, calls] of grouped(
    a.trail,
    (c) => `${c.region} ${String(bucket(c.at, TRAIL_DELIVERY_MS)).padStart(15, '0')}`,
  )) {
    const { region, at } = calls[0];
    const time = delivered(at, TRAIL_DELIVERY_MS);
    const name = `${ACCOUNT}_CloudTrail_${region}_${stamp(time)}_${trailSuffix(region, String(time))}.json.gz`;
    files.push({
      rel: `${CLOUD_DIR}/AWSLogs/${ACCOUNT}/CloudTrail/${region}/${datePath(time)}/${name}`,
      data: gz(JSON.stringify({ Records: calls.map((c) => c.record) })),
    });
  }
  for (const [, flows] of grouped(
    a.flows,
    (f) => `${f.region} ${String(bucket(f.at, FLOW_WINDOW_MS)).padStart(15, '0')}`,
  )) {
    const { region, at } = flows[0];
    const time = delivered(at, FLOW_WINDOW_MS);
    const flowLog = `fl-0${hex(16, 'flow-log', region)}`;
    const name = `${ACCOUNT}_vpcflowlogs_${region}_${flowLog}_${stamp(time)}_${hex(8, 'flow-object', region, String(time))}.log.gz`;
    files.push({
      rel: `${CLOUD_DIR}/AWSLogs/${ACCOUNT}/vpcflowlogs/${region}/${datePath(time)}/${name}`,
      data: gz(`${FLOW_HEADER}\n${flows.map((f) => f.line).join('\n')}\n`),
    });
  }
  for (const [, queries] of grouped(
    a.queries,
    (q) => `${q.region} ${String(bucket(q.at, FLOW_WINDOW_MS)).padStart(15, '0')}`,
  )) {
    const { region, at } = queries[0];
    const time = delivered(at, FLOW_WINDOW_MS);
    const vpc = vpcOf(region);
    const name = `${ACCOUNT}_vpcdnsquerylogs_${vpc}_${stamp(time)}_${hex(8, 'dns-object', region, String(time))}.log.gz`;
    files.push({
      rel: `${CLOUD_DIR}/AWSLogs/${ACCOUNT}/vpcdnsquerylogs/${vpc}/${datePath(time)}/${name}`,
      data: gz(`${queries.map((q) => JSON.stringify(q.record)).join('\n')}\n`),
    });
  }
  for (const [, points] of grouped(a.cpu, (p) => `${p.region} ${String(bucket(p.at, HOUR)).padStart(15, '0')}`)) {
    const { region, at } = points[0];
    const time = delivered(at, HOUR);
    // Firehose names an object by its delivery stream, version and time, then a random id
    const hour = bucket(at, HOUR);
    const clock = iso(time).slice(0, 19).replace(/[T:]/g, '-');
    const name = `${STREAM}-${region}-1-${clock}-${uuid(`firehose ${region} ${time}`)}.gz`;
    files.push({
      rel: `${CLOUD_DIR}/metric-streams/${region}/${datePath(hour)}/${iso(hour).slice(11, 13)}/${name}`,
      data: gz(`${points.map((p) => JSON.stringify(p.record)).join('\n')}\n`),
    });
  }
  return files;
}

/** Build (write nothing) the story's files, paths relative to DIR, ending at `end` (whole seconds). */
export function cloudStory(endMs: number, wallet: string): CloudStory {
  const end = Math.floor(endMs / SECOND) * SECOND;
  const incident = end - INCIDENT_MS;
  const historyStart = incident - HISTORY_DAYS * DAY;
  const a = new Account();

  // ---- 14 days of routine: Terraform twice a day, autoscaling every 6 hours, the backup key nightly
  let terraformRuns = 0;
  for (let t = historyStart + HOUR; t < incident - HOUR; t += 12 * HOUR) {
    const session = `terraform-${Math.floor(t / SECOND)}`;
    const who = roleSession(TERRAFORM_ROLE, session, t - MINUTE);
    const type = terraformRuns % 2 === 0 ? 'm5.large' : 'c5.xlarge';
    a.call(
      t - 30 * SECOND,
      who,
      'ec2.amazonaws.com',
      'DescribeInstances',
      HOME,
      TERRAFORM_IP,
      TERRAFORM_UA,
      { filterSet: {} },
      null,
      true,
    );
    a.runInstances(
      t,
      who,
      HOME,
      TERRAFORM_IP,
      TERRAFORM_UA,
      type,
      [0, 1].map((k) => instanceId('terraform', String(t), String(k))),
      {
        Name: `app-${type.split('.')[0]}`,
        team: 'platform',
        'change-ticket': `chg-${3900 + terraformRuns}`,
      },
    );
    terraformRuns++;
  }
  let asgRuns = 0;
  for (let t = historyStart + 2 * HOUR; t < incident - HOUR; t += 6 * HOUR) {
    const who = autoscalingIdentity(historyStart - DAY);
    const ids = Array.from({ length: 1 + (asgRuns % 2) }, (_, k) => instanceId('asg', String(t), String(k)));
    const launch = a.runInstances(t, who, HOME, AUTOSCALING, AUTOSCALING, 'c5.2xlarge', ids, {
      'aws:autoscaling:groupName': ASG,
      'change-ticket': 'chg-3920',
    });
    // the load passes: the group scales back in
    if (t + 4 * HOUR < incident) a.terminate(t + 4 * HOUR, who, launch, AUTOSCALING, AUTOSCALING);
    asgRuns++;
  }
  for (let t = historyStart + 23 * HOUR; t < incident; t += DAY)
    a.call(
      t,
      leakedUser(),
      's3.amazonaws.com',
      'ListBuckets',
      'us-east-1',
      LEAKED_HOME_IP,
      '[aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws]',
      { Host: 's3.amazonaws.com' },
      null,
      true,
    );

  // ---- (b) the nightly render fleet: 14 earlier nights, and tonight's, each pinned until terminated
  const batchLaunch = (t: number) =>
    a.runInstances(
      t,
      roleSession(BATCH_ROLE, 'render-nightly', t - 5 * SECOND),
      HOME,
      BATCH_IP,
      BATCH_UA,
      BATCH_TYPE,
      Array.from({ length: BATCH_SIZE }, (_, k) => instanceId('batch', String(t), String(k))),
      { job: 'nightly-render', 'change-ticket': 'chg-3311' },
    );
  for (let night = HISTORY_DAYS; night >= 1; night--) {
    const t = incident + 2 * MINUTE - night * DAY + Math.floor(jitter(0, 120, 'night', String(night))) * SECOND;
    const fleet = batchLaunch(t);
    a.pinned(fleet, t, t + BATCH_RUN_MS, 98, 99.9);
    a.terminate(
      t + BATCH_RUN_MS,
      roleSession(BATCH_ROLE, 'render-nightly', t + BATCH_RUN_MS - 5 * SECOND),
      fleet,
      BATCH_IP,
      BATCH_UA,
    );
  }
  const batch = batchLaunch(incident + 2 * MINUTE);
  a.pinned(batch, batch.at, end, 98, 99.9);

  // ---- (a) the leaked key: a new address, a new region, 20 GPU instances mining
  const leaked = leakedUser();
  a.call(
    incident + MINUTE,
    leaked,
    'sts.amazonaws.com',
    'GetCallerIdentity',
    'us-east-1',
    ATTACKER_IP,
    CLI_UA('sts.get-caller-identity'),
    null,
    null,
    true,
  );
  a.call(
    incident + 2 * MINUTE,
    leaked,
    'ec2.amazonaws.com',
    'DescribeRegions',
    'us-east-1',
    ATTACKER_IP,
    CLI_UA('ec2.describe-regions'),
    { regionSet: {}, allRegions: true },
    null,
    true,
  );
  const enabledAt = incident + 3 * MINUTE + 40 * SECOND;
  a.call(
    enabledAt,
    leaked,
    'account.amazonaws.com',
    'EnableRegion',
    'us-east-1',
    ATTACKER_IP,
    CLI_UA('account.enable-region'),
    { RegionName: NEW_REGION },
  );
  a.call(
    incident + 5 * MINUTE,
    leaked,
    'servicequotas.amazonaws.com',
    'GetServiceQuota',
    NEW_REGION,
    ATTACKER_IP,
    CLI_UA('service-quotas.get-service-quota'),
    { ServiceCode: 'ec2', QuotaCode: 'L-DB2E81BA' },
    null,
    true,
  );
  const userData = minerScript(wallet);
  const miners = a.runInstances(
    incident + 7 * MINUTE + 2 * SECOND,
    leaked,
    NEW_REGION,
    ATTACKER_IP,
    CLI_UA('ec2.run-instances'),
    MINER_TYPE,
    Array.from({ length: MINERS }, (_, k) => instanceId('miner', String(k))),
    { Name: 'worker' },
    userData,
  );
  a.pinned(miners, miners.at, end, 97.5, 99.9);
  for (const id of miners.ids) {
    const boot = miners.at + 90 * SECOND + Math.floor(jitter(0, 60, 'boot', id)) * SECOND;
    // the install script resolves the pool through the VPC resolver just before xmrig connects
    a.query(NEW_REGION, id, boot - 2 * SECOND, POOL.host, POOL.ip);
    a.connection(NEW_REGION, id, { ip: POOL.ip, port: POOL.port }, boot, end, 'pool');
  }

  // ---- (b) beside it: approved GPU training by Terraform, and the web group scaling out under load
  const trainingAt = incident + 5 * MINUTE;
  const training = a.runInstances(
    trainingAt,
    roleSession(TERRAFORM_ROLE, `terraform-${Math.floor(trainingAt / SECOND)}`, trainingAt - MINUTE),
    HOME,
    TERRAFORM_IP,
    TERRAFORM_UA,
    TRAINING_TYPE,
    [0, 1].map((k) => instanceId('training', String(k))),
    { Name: 'train-llm', team: 'platform', 'change-ticket': 'chg-4812' },
  );
  a.pinned(training, training.at, end, 98, 99.9);
  const scaleOut: Launch[] = [];
  for (let step = 0; step < 3; step++) {
    const t = incident + 10 * MINUTE + step * 2 * MINUTE;
    const group = a.runInstances(
      t,
      autoscalingIdentity(historyStart - DAY),
      HOME,
      AUTOSCALING,
      AUTOSCALING,
      'c5.2xlarge',
      [0, 1].map((k) => instanceId('scale-out', String(step), String(k))),
      { 'aws:autoscaling:groupName': ASG, 'change-ticket': 'chg-3920' },
    );
    a.pinned(group, t, end, 85, 97);
    scaleOut.push(group);
  }
  // the legitimate fleets fetch from the artifact store after boot: their lookups and flows are in the logs too
  for (const launch of [batch, training, ...scaleOut])
    for (const id of launch.ids) {
      const at = launch.at + MINUTE + Math.floor(jitter(0, 30, 'fetch', id)) * SECOND;
      a.query(HOME, id, at, ARTIFACTS.name, ARTIFACTS.ip);
      a.connection(HOME, id, ARTIFACTS, at + 2 * SECOND, at + 20 * MINUTE, 'artifacts');
    }

  const gcp = gcpStory(end, wallet);
  const azure = azureStory(end, wallet);
  const { expect: gcpExpect, ...gcpFacts } = gcp.story;
  const { expect: azureExpect, ...azureFacts } = azure.story;
  const story: CloudStory = {
    files: [...filesOf(a, end), ...gcp.files, ...azure.files, { rel: CLOUD_POLICY_FILE, data: POLICY }],
    account: ACCOUNT,
    from: iso(historyStart),
    to: iso(end),
    leakedKey: {
      principal: `arn:aws:iam::${ACCOUNT}:user/${LEAKED_USER}`,
      accessKeyId: LEAKED_KEY,
      sourceIp: ATTACKER_IP,
      usualIp: LEAKED_HOME_IP,
      region: NEW_REGION,
      enabledAt: iso(enabledAt),
      launchedAt: iso(miners.at),
      instanceType: MINER_TYPE,
      instances: miners.ids,
      pool: `${POOL.host}:${POOL.port}`,
      userData,
    },
    autoscaling: {
      group: ASG,
      service: AUTOSCALING,
      region: HOME,
      instanceType: 'c5.2xlarge',
      instances: scaleOut.flatMap((l) => l.ids),
      earlierLaunches: asgRuns,
    },
    terraform: {
      role: TERRAFORM_ROLE,
      region: HOME,
      instanceType: TRAINING_TYPE,
      instances: training.ids,
      ticket: 'chg-4812',
      earlierLaunches: terraformRuns,
    },
    batch: {
      role: BATCH_ROLE,
      region: HOME,
      instanceType: BATCH_TYPE,
      instances: batch.ids,
      earlierNights: HISTORY_DAYS,
    },
    gcp: gcpFacts,
    azure: azureFacts,
    expect: [],
  };
  story.expect = [...cloudExpect(story), ...gcpExpect, ...azureExpect];
  return story;
}

/** What AN0744 should make of each part (issue 14's acceptance 2 and 3). */
function cloudExpect(s: CloudStory): string[] {
  const k = s.leakedKey;
  return [
    `AN0744 high on the launch of ${k.instances.length} ${k.instanceType} in ${k.region} by ${k.principal} (key ${k.accessKeyId}) from ${k.sourceIp}: authorization (not on the cloud: policy's approved path; region enabled just before), reach (the instances resolve ${k.pool.split(':')[0]} and hold connections to it), resource (every instance pinned from launch); Tier 2, with an instance-hour cost and the AWS containment plan`,
    `nothing above informational for ${s.autoscaling.service} scaling ${s.autoscaling.group} out by ${s.autoscaling.instances.length} ${s.autoscaling.instanceType} under load (cloud.services approves it; ${s.autoscaling.earlierLaunches} earlier launches in the history)`,
    `nothing above informational for ${s.terraform.role} launching ${s.terraform.instances.length} ${s.terraform.instanceType} tagged change-ticket ${s.terraform.ticket} (cloud.principals approves it)`,
    `nothing above informational for ${s.batch.role}'s ${s.batch.instances.length} ${s.batch.instanceType} render fleet pinned at 98-100%, as on the ${s.batch.earlierNights} nights before (cloud.principals approves it)`,
    'each run summary reports no bad input',
  ];
}

export interface EmittedCloud extends Omit<CloudStory, 'files' | 'expect'> {
  dir: string;
  /** Every file written, the policy last. */
  files: string[];
  policy: string;
  /** The command that judges the AWS part: `coalmine hunt DIR/aws --policy DIR/coalmine.yaml`. */
  hunt: string[];
  /** The command for each provider's part, AWS first: `coalmine hunt DIR/<provider> --policy DIR/coalmine.yaml`. */
  hunts: string[][];
  expect: string[];
}

/** Write the story into `dir` (which prepareDir made ready), ending at `now` (default: the wall clock). */
export function emitCloudLogs(dir: string, options: { wallet: string; now?: number }): EmittedCloud {
  const { files, ...story } = cloudStory(options.now ?? Date.now(), options.wallet);
  const written = files.map((f) => writeNewFile(dir, f.rel, f.data));
  const policy = join(dir, CLOUD_POLICY_FILE);
  return {
    ...story,
    dir,
    files: written,
    policy,
    hunt: ['coalmine', 'hunt', join(dir, CLOUD_DIR), '--policy', policy],
    hunts: [CLOUD_DIR, GCP_DIR, AZURE_DIR].map((sub) => ['coalmine', 'hunt', join(dir, sub), '--policy', policy]),
  };
}
