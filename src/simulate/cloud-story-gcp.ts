/**
 * The cloud story on Google Cloud, `DIR/gcp/`, as a project's Cloud Storage log sink and a daily Monitoring
 * pull leave it (the shapes of scripts/fixtures/cloud.py's `gcp-*` scenarios):
 * - Cloud Audit Logs LogEntries, one per line, `cloudaudit.googleapis.com/{activity,data_access}/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json`
 *   (a sink writes an object per log and hour), 14 days of history; a long-running call is two entries
 *   (operation first and last);
 * - VPC Flow Logs LogEntries, `compute.googleapis.com/vpc_flows/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json`
 *   (10-minute aggregation, each direction as the VM's side reports it, by vm_name);
 * - `projects.timeSeries.list` answers for `compute.googleapis.com/instance/cpu/utilization`, one a day,
 *   `monitoring/cpu-utilization/YYYY-MM-DD.json` (5-minute means, newest first).
 * The plot is AWS's (cloud-story.ts) on project acme-prod-421337: the `ci-backup@` service account, which only
 * listed buckets nightly from its usual address, is used with its user-managed key from a new address to
 * enable Compute, read quotas, open SSH to the world and `bulkInsert` 20 a2-highgpu-1g in asia-northeast3 (a
 * first-seen region) whose startup-script runs xmrig; their flows to the pool are held and their CPU pinned.
 * Beside it in europe-west1: the `web-mig` group scaling out under load (every 6 hours in the history),
 * Terraform's service account creating 2 GPU training VMs with a change-ticket label, and the render
 * scheduler's nightly 10 c2-standard-16, as on the 14 nights before.
 */

import {
  ATTACKER_IP,
  BATCH_RUN_MS,
  bucketKey,
  bucketOf,
  type CloudStoryFile,
  DAY,
  datePath,
  grouped,
  HISTORY_DAYS,
  HOUR,
  hex,
  INCIDENT_MS,
  jitter,
  jsonLines,
  LEAKED_HOME_IP,
  MINERS,
  MINUTE,
  minerScript,
  POOL,
  SCRIPT_HOST,
  SECOND,
  TERRAFORM_IP,
} from './cloud-story-parts.js';
import { iso } from './container-story.js';

export const GCP_DIR = 'gcp';
const PROJECT = 'acme-prod-421337';
const PROJECT_NUMBER = '482916730154';
const HOME_ZONE = 'europe-west1-b';
const NEW_ZONE = 'asia-northeast3-a';
/** Each region's default subnet. */
const SUBNETS: Record<string, string> = { 'europe-west1': '10.132', 'asia-northeast3': '10.178' };
const TERRAFORM = `terraform@${PROJECT}.iam.gserviceaccount.com`;
const TERRAFORM_UA =
  'Terraform/1.7.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/5.21.0,gzip(gfe)';
const LEAKED = `ci-backup@${PROJECT}.iam.gserviceaccount.com`;
const LEAKED_KEY = hex(40, 'gcp-key', LEAKED);
const gcloudUa = (command: string, invocation: string) =>
  `google-cloud-sdk gcloud/467.0.0 command/gcloud.compute.${command} invocation-id/${hex(32, 'invocation', invocation)} environment/None environment-version/None client-os/LINUX client-os-ver/6.5.0 client-pltf-arch/x86_64 interactive/False from-script/True python/3.11.8 term/ (Linux 6.5.0-1014-gcp),gzip(gfe)`;
const PYTHON_UA = 'python-requests/2.31.0,gzip(gfe)';
/** The Google APIs service agent a managed instance group creates VMs as, and the user agent it calls with. */
const MIG_AGENT = `${PROJECT_NUMBER}@cloudservices.gserviceaccount.com`;
export const GCP_MIG_UA = 'GCE Managed Instance Group for Tesseract';
const MIG = 'web-mig';
const MIG_TYPE = 'n2-standard-2';
const BATCH = `render-scheduler@${PROJECT}.iam.gserviceaccount.com`;
const BATCH_UA = 'google-api-python-client/2.120.0 (gzip),gzip(gfe)';
/** The scheduler's Cloud Function's egress address (documentation range). */
const BATCH_IP = '198.51.100.61';
const BATCH_TYPE = 'c2-standard-16';
const BATCH_SIZE = 10;
const MINER_TYPE = 'a2-highgpu-1g';
const TRAINING_TYPE = 'a2-highgpu-8g';
const TICKET = 'chg-4812';
/** The artifact store the legitimate fleets fetch from after boot (documentation range). */
const ARTIFACTS = { ip: '198.51.100.81', port: 443 } as const;
const FLOW_WINDOW_MS = 10 * MINUTE;
const METRIC_STEP_MS = 5 * MINUTE;

/** What the GCP part adds to the story's `cloud:` policy. */
export const GCP_APPROVED = {
  principals: ['terraform@*.iam.gserviceaccount.com', BATCH],
  services: [GCP_MIG_UA],
  regions: ['europe-west1'],
  instanceFamilies: ['n2-*', 'e2-*', 'c2-*', 'a2-*'],
} as const;

type Json = Record<string, unknown>;

/** What the GCP part holds, for the tests and `--json`. */
export interface GcpStory {
  dir: string;
  project: string;
  leakedKey: {
    principal: string;
    keyId: string;
    sourceIp: string;
    usualIp: string;
    region: string;
    launchedAt: string;
    instanceType: string;
    /** The VMs the bulkInsert's namePattern gives. */
    instances: string[];
    pool: string;
  };
  group: { name: string; service: string; region: string; instanceType: string; instances: string[] };
  terraform: { principal: string; region: string; instanceType: string; instances: string[]; ticket: string };
  batch: { principal: string; region: string; instanceType: string; instances: string[]; earlierNights: number };
  expect: string[];
}

const regionOf = (zone: string) => zone.slice(0, zone.lastIndexOf('-'));

/** A GCE instance id: 19 digits from a hash of the zone and name. */
function instanceId(zone: string, name: string): string {
  return String(1_000_000_000_000_000_000n + (BigInt(`0x${hex(15, 'gce', zone, name)}`) % 8_000_000_000_000_000_000n));
}

function privateIp(zone: string, name: string): string {
  const x = Number.parseInt(hex(4, 'gce-ip', zone, name), 16);
  return `${SUBNETS[regionOf(zone)]}.${x % 15}.${((x >> 4) % 250) + 2}`;
}

/** RFC 3339 with milliseconds, as LogEntries carry it. */
function time(ms: number): string {
  return iso(ms).replace(/(\.\d+)?Z$/, `.${String(ms % SECOND).padStart(3, '0')}Z`);
}

function operationId(at: number, ...parts: string[]): string {
  return `operation-${at}-${hex(13, 'op', String(at), ...parts)}-${hex(8, 'op2', String(at), ...parts)}-${hex(8, 'op3', String(at), ...parts)}`;
}

function gceResource(zone: string, id = ''): Json {
  return { type: 'gce_instance', labels: { project_id: PROJECT, zone, instance_id: id } };
}

interface EntryOptions {
  ip?: string;
  ua?: string;
  request?: Json;
  response?: Json;
  key?: string;
  op?: { id: string; stage: 'first' | 'last' };
  log?: 'activity' | 'data_access';
  service?: string;
  auth?: Json[];
}

/** Instance properties as the Compute API takes them (an insert's body, a bulkInsert's instanceProperties). */
function properties(
  zone: string | undefined,
  machine: string,
  opts: { script?: string; labels?: Record<string, string>; metadata?: Json[]; gpus?: number },
): Json {
  const items = [...(opts.metadata ?? [])];
  if (opts.script !== undefined) items.push({ key: 'startup-script', value: opts.script });
  return {
    machineType: zone
      ? `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${zone}/machineTypes/${machine}`
      : machine,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12', diskSizeGb: '50' },
      },
    ],
    networkInterfaces: [
      {
        network: `projects/${PROJECT}/global/networks/default`,
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      },
    ],
    serviceAccounts: [
      {
        email: `${PROJECT_NUMBER}-compute@developer.gserviceaccount.com`,
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ],
    ...(items.length ? { metadata: { items } } : {}),
    ...(opts.labels ? { labels: Object.entries(opts.labels).map(([key, value]) => ({ key, value })) } : {}),
    ...(opts.gpus
      ? {
          guestAccelerators: [{ acceleratorType: 'nvidia-tesla-a100', acceleratorCount: opts.gpus }],
          scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: true },
        }
      : {}),
  };
}

class Project {
  readonly audit: Array<{ at: number; log: string; record: Json }> = [];
  readonly flows: Array<{ at: number; record: Json }> = [];
  /** (zone, name) → [time, fraction]. */
  readonly cpu = new Map<string, { zone: string; name: string; points: Array<[number, number]> }>();

  /** A Cloud Audit Logs LogEntry as a Cloud Storage sink writes it. */
  entry(at: number, principal: string, method: string, resourceName: string, resource: Json, o: EntryOptions): void {
    const log = o.log ?? 'activity';
    const service = o.service ?? 'compute.googleapis.com';
    const ms = Math.floor(jitter(0, 999, 'ms', String(at), method, resourceName));
    const payload: Json = {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: {
        principalEmail: principal,
        ...(o.key
          ? {
              serviceAccountKeyName: `//iam.googleapis.com/projects/${PROJECT}/serviceAccounts/${principal}/keys/${o.key}`,
            }
          : {}),
      },
      requestMetadata: {
        ...(o.ip ? { callerIp: o.ip } : {}),
        ...(o.ua ? { callerSuppliedUserAgent: o.ua } : {}),
        requestAttributes: { time: time(at + 120), auth: {} },
        destinationAttributes: {},
      },
      serviceName: service,
      methodName: method,
      ...(o.auth ? { authorizationInfo: o.auth } : {}),
      resourceName,
      ...(o.request ? { request: o.request } : {}),
      ...(o.response ? { response: o.response } : {}),
    };
    this.audit.push({
      at: at + ms,
      log,
      record: {
        protoPayload: payload,
        insertId: hex(12, 'insert', String(at), method, resourceName, o.op?.stage ?? ''),
        resource,
        timestamp: time(at + ms),
        severity: 'NOTICE',
        logName: `projects/${PROJECT}/logs/cloudaudit.googleapis.com%2F${log}`,
        ...(o.op ? { operation: { id: o.op.id, producer: service, [o.op.stage]: true } } : {}),
        receiveTimestamp: time(at + SECOND + Math.floor(jitter(0, 999, 'rms', String(at), method))),
      },
    });
  }

  /** instances.insert as Compute logs it: the first entry (request, the operation's target id) and the last. */
  insert(
    at: number,
    principal: string,
    zone: string,
    name: string,
    machine: string,
    o: {
      ip?: string;
      ua: string;
      labels?: Record<string, string>;
      metadata?: Json[];
      gpus?: number;
    },
  ): string {
    const id = instanceId(zone, name);
    const op = operationId(at, zone, name);
    const rn = `projects/${PROJECT}/zones/${zone}/instances/${name}`;
    const base = `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${zone}`;
    const common = { ip: o.ip, ua: o.ua };
    this.entry(at, principal, 'v1.compute.instances.insert', rn, gceResource(zone, id), {
      ...common,
      request: {
        '@type': 'type.googleapis.com/compute.instances.insert',
        name,
        ...properties(zone, machine, o),
      },
      response: {
        '@type': 'type.googleapis.com/operation',
        id: String(BigInt(`0x${hex(15, 'opid', op)}`)),
        name: op,
        zone: base,
        operationType: 'insert',
        targetLink: `${base}/instances/${name}`,
        targetId: id,
        status: 'RUNNING',
        user: principal,
        progress: '0',
        insertTime: time(at + 300),
        startTime: time(at + 301),
        selfLink: `${base}/operations/${op}`,
      },
      op: { id: op, stage: 'first' },
      auth: [
        {
          permission: 'compute.instances.create',
          granted: true,
          resourceAttributes: { service: 'compute', name: rn, type: 'compute.instances' },
        },
      ],
    });
    this.entry(at + 20 * SECOND, principal, 'v1.compute.instances.insert', rn, gceResource(zone, id), {
      ...common,
      request: { '@type': 'type.googleapis.com/compute.instances.insert' },
      op: { id: op, stage: 'last' },
    });
    return name;
  }

  /** instances.bulkInsert: one operation for `count` VMs named by the pattern; its entries name no instance. */
  bulkInsert(
    at: number,
    principal: string,
    zone: string,
    pattern: string,
    count: number,
    machine: string,
    o: { ip: string; ua: string; key?: string; script?: string; labels?: Record<string, string>; gpus?: number },
  ): string[] {
    const op = operationId(at, zone, pattern);
    const rn = `projects/${PROJECT}/zones/${zone}/instances`;
    const base = `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${zone}`;
    const common = { ip: o.ip, ua: o.ua, key: o.key };
    this.entry(at, principal, 'v1.compute.instances.bulkInsert', rn, gceResource(zone), {
      ...common,
      request: {
        '@type': 'type.googleapis.com/compute.instances.bulkInsert',
        count: String(count),
        minCount: String(count),
        namePattern: pattern,
        instanceProperties: properties(undefined, machine, o),
      },
      response: {
        '@type': 'type.googleapis.com/operation',
        name: op,
        operationType: 'bulkInsert',
        status: 'RUNNING',
        user: principal,
        progress: '0',
        insertTime: time(at + 300),
        startTime: time(at + 301),
        zone: base,
        selfLink: `${base}/operations/${op}`,
      },
      op: { id: op, stage: 'first' },
      auth: [
        {
          permission: 'compute.instances.create',
          granted: true,
          resourceAttributes: { service: 'compute', name: `${rn}/${pattern}`, type: 'compute.instances' },
        },
      ],
    });
    this.entry(at + 40 * SECOND, principal, 'v1.compute.instances.bulkInsert', rn, gceResource(zone), {
      ...common,
      request: { '@type': 'type.googleapis.com/compute.instances.bulkInsert' },
      op: { id: op, stage: 'last' },
    });
    // the names a bulkInsert gives: the run of # replaced by 1..count, zero-padded to its width
    const hashes = /#+/.exec(pattern)?.[0] ?? '#';
    return Array.from({ length: count }, (_, k) => pattern.replace(hashes, String(k + 1).padStart(hashes.length, '0')));
  }

  /** instances.delete of each VM (`gcloud compute instances delete a b c` makes one operation per VM). */
  delete(at: number, principal: string, zone: string, names: string[], o: { ip?: string; ua: string }): void {
    names.forEach((name, k) => {
      const t = at + k * 300;
      const id = instanceId(zone, name);
      const op = operationId(t, zone, name, 'delete');
      const rn = `projects/${PROJECT}/zones/${zone}/instances/${name}`;
      const request = { '@type': 'type.googleapis.com/compute.instances.delete' };
      this.entry(t, principal, 'v1.compute.instances.delete', rn, gceResource(zone, id), {
        ...o,
        request,
        response: {
          '@type': 'type.googleapis.com/operation',
          name: op,
          operationType: 'delete',
          targetId: id,
          status: 'RUNNING',
          user: principal,
        },
        op: { id: op, stage: 'first' },
      });
      this.entry(t + 30 * SECOND, principal, 'v1.compute.instances.delete', rn, gceResource(zone, id), {
        ...o,
        request,
        op: { id: op, stage: 'last' },
      });
    });
  }

  /** 5-minute CPU means (a fraction) from the first step after `from` up to `to`, at lo–hi percent. */
  pinned(zone: string, names: string[], from: number, to: number, lo: number, hi: number): void {
    for (const name of names) {
      const series = this.cpu.get(`${zone} ${name}`) ?? { zone, name, points: [] };
      for (let t = Math.floor(from / METRIC_STEP_MS) * METRIC_STEP_MS + METRIC_STEP_MS; t <= to; t += METRIC_STEP_MS)
        series.points.push([t, Math.round(jitter(lo, hi, 'gcpu', name, String(t)) * 100) / 10_000]);
      this.cpu.set(`${zone} ${name}`, series);
    }
  }

  /** One direction of a connection in a 10-minute window, as the VM's side reports it. */
  private flow(
    zone: string,
    name: string,
    start: number,
    end: number,
    c: { src: string; dst: string; sport: number; dport: number },
    packets: number,
    bytes: number,
    egress: boolean,
  ): void {
    const region = regionOf(zone);
    const vm = { project_id: PROJECT, region, vm_name: name, zone };
    const vpc = { project_id: PROJECT, subnetwork_name: 'default', vpc_name: 'default' };
    const where = { asn: 64501, continent: 'Asia', country: 'kor' };
    const side = egress
      ? {
          dest_location: where,
          reporter: 'SRC',
          rtt_msec: String(Math.floor(jitter(30, 60, 'rtt', name, String(start)))),
          src_instance: vm,
          src_vpc: vpc,
        }
      : { dest_instance: vm, dest_vpc: vpc, reporter: 'DEST', src_location: where };
    this.flows.push({
      at: end + 31 * SECOND,
      record: {
        insertId: hex(14, 'flow', String(start), name, c.src, c.dst),
        jsonPayload: {
          bytes_sent: String(bytes),
          connection: { dest_ip: c.dst, dest_port: c.dport, protocol: 6, src_ip: c.src, src_port: c.sport },
          end_time: time(end),
          packets_sent: String(packets),
          start_time: time(start),
          ...side,
        },
        logName: `projects/${PROJECT}/logs/compute.googleapis.com%2Fvpc_flows`,
        receiveTimestamp: time(end + 31 * SECOND + 554),
        resource: {
          type: 'gce_subnetwork',
          labels: {
            location: zone,
            project_id: PROJECT,
            subnetwork_id: String(BigInt(`0x${hex(15, 'subnet', region)}`)),
            subnetwork_name: 'default',
          },
        },
        timestamp: time(end + 31 * SECOND + 554),
      },
    });
  }

  /** A connection the VM holds from `from` until `until`: both directions per 10-minute window. */
  connection(zone: string, name: string, to: { ip: string; port: number }, from: number, until: number): void {
    const src = privateIp(zone, name);
    const sport = 40000 + Math.floor(jitter(0, 20000, 'gsport', name, to.ip));
    for (let t = from; t < until; ) {
      const end = Math.min(t - (t % FLOW_WINDOW_MS) + FLOW_WINDOW_MS, until);
      const packets = Math.floor(jitter(300, 600, 'gpk', name, String(t)));
      const c = { src, dst: to.ip, sport, dport: to.port };
      this.flow(zone, name, t, end - SECOND, c, packets, packets * 140, true);
      this.flow(
        zone,
        name,
        t,
        end - SECOND,
        { src: to.ip, dst: src, sport: to.port, dport: sport },
        packets - 4,
        (packets - 4) * 290,
        false,
      );
      t = end;
    }
  }
}

/** `HH:00:00_HH:59:59_S0.json`: a Cloud Storage sink's object for an hour. */
function sinkObject(hour: number): string {
  const hh = iso(hour).slice(11, 13);
  return `${datePath(hour)}/${hh}:00:00_${hh}:59:59_S0.json`;
}

function filesOf(p: Project): CloudStoryFile[] {
  const files: CloudStoryFile[] = [];
  for (const [, entries] of grouped(p.audit, (e) => bucketKey(e.log, e.at, HOUR))) {
    const { log, at } = entries[0];
    files.push({
      rel: `${GCP_DIR}/cloudaudit.googleapis.com/${log}/${sinkObject(bucketOf(at, HOUR))}`,
      data: jsonLines(entries.map((e) => e.record)),
    });
  }
  for (const [, flows] of grouped(p.flows, (f) => bucketKey('flows', f.at, HOUR)))
    files.push({
      rel: `${GCP_DIR}/compute.googleapis.com/vpc_flows/${sinkObject(bucketOf(flows[0].at, HOUR))}`,
      data: jsonLines(flows.map((f) => f.record)),
    });
  // one timeSeries.list answer a day: each VM's points of that day, newest first, as the API lists them
  const days = new Map<number, Json[]>();
  for (const { zone, name, points } of [...p.cpu.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const byDay = new Map<number, Array<[number, number]>>();
    for (const point of points)
      byDay.set(bucketOf(point[0] - 1, DAY), [...(byDay.get(bucketOf(point[0] - 1, DAY)) ?? []), point]);
    for (const [day, dayPoints] of byDay)
      days.set(day, [
        ...(days.get(day) ?? []),
        {
          metric: { labels: { instance_name: name }, type: 'compute.googleapis.com/instance/cpu/utilization' },
          resource: {
            type: 'gce_instance',
            labels: { instance_id: instanceId(zone, name), project_id: PROJECT, zone },
          },
          metricKind: 'GAUGE',
          valueType: 'DOUBLE',
          points: dayPoints
            .sort((a, b) => b[0] - a[0])
            .map(([t, v]) => ({
              interval: { startTime: iso(t - METRIC_STEP_MS), endTime: iso(t) },
              value: { doubleValue: v },
            })),
        },
      ]);
  }
  for (const [day, series] of [...days.entries()].sort((a, b) => a[0] - b[0]))
    files.push({
      rel: `${GCP_DIR}/monitoring/cpu-utilization/${iso(day).slice(0, 10)}.json`,
      data: `${JSON.stringify({ timeSeries: series, unit: '10^2.%' }, null, 1)}\n`,
    });
  return files;
}

/** Build the GCP part of the story ending at `end` (whole seconds). */
export function gcpStory(end: number, wallet: string): { files: CloudStoryFile[]; story: GcpStory } {
  const incident = end - INCIDENT_MS;
  const historyStart = incident - HISTORY_DAYS * DAY;
  const p = new Project();
  const home = regionOf(HOME_ZONE);
  const migTemplate = [
    { key: 'instance-template', value: `projects/${PROJECT_NUMBER}/global/instanceTemplates/web-template-v7` },
    { key: 'created-by', value: `projects/${PROJECT_NUMBER}/zones/${HOME_ZONE}/instanceGroupManagers/${MIG}` },
  ];
  const migLabels = { team: 'web', 'change-ticket': 'chg-3920' };
  const migInsert = (t: number, name: string) =>
    p.insert(t, MIG_AGENT, HOME_ZONE, name, MIG_TYPE, { ua: GCP_MIG_UA, metadata: migTemplate, labels: migLabels });

  // ---- 14 days of routine: Terraform twice a day, the group every 6 hours, the backup account nightly
  let runs = 0;
  for (let t = historyStart + HOUR; t < incident - HOUR; t += 12 * HOUR, runs++) {
    const machine = runs % 2 === 0 ? 'n2-standard-4' : 'e2-standard-4';
    for (const k of [0, 1])
      p.insert(
        t + k * 3 * SECOND,
        TERRAFORM,
        HOME_ZONE,
        `app-${machine.split('-')[0]}-${hex(4, 'tf', String(t), String(k))}`,
        machine,
        {
          ip: TERRAFORM_IP,
          ua: TERRAFORM_UA,
          labels: { team: 'platform', 'change-ticket': `chg-${3900 + runs}` },
        },
      );
  }
  let migRuns = 0;
  for (let t = historyStart + 2 * HOUR; t < incident - HOUR; t += 6 * HOUR, migRuns++) {
    const names = Array.from({ length: 1 + (migRuns % 2) }, (_, k) =>
      migInsert(t + k * 2 * SECOND, `${MIG}-${hex(4, 'mig', String(t), String(k))}`),
    );
    // the load passes: the group deletes what it added
    if (t + 4 * HOUR < incident) p.delete(t + 4 * HOUR, MIG_AGENT, HOME_ZONE, names, { ua: GCP_MIG_UA });
  }
  for (let t = historyStart + 23 * HOUR; t < incident; t += DAY)
    p.entry(
      t,
      LEAKED,
      'storage.buckets.list',
      'projects/_/buckets',
      { type: 'gcs_bucket', labels: { project_id: PROJECT, bucket_name: '', location: 'global' } },
      {
        ip: LEAKED_HOME_IP,
        ua: 'gcloud-python/2.16.0 gl-python/3.11.8 grpc/1.62.1 gax/2.17.1',
        key: LEAKED_KEY,
        log: 'data_access',
        service: 'storage.googleapis.com',
      },
    );

  // ---- the nightly render fleet: 14 earlier nights and tonight's, each pinned until the scheduler deletes it
  const batchLaunch = (t: number) =>
    p.bulkInsert(t, BATCH, HOME_ZONE, `render-${iso(t).slice(5, 10).replace('-', '')}-##`, BATCH_SIZE, BATCH_TYPE, {
      ip: BATCH_IP,
      ua: BATCH_UA,
      labels: { job: 'nightly-render', 'change-ticket': 'chg-3311' },
    });
  for (let night = HISTORY_DAYS; night >= 1; night--) {
    const t = incident + 2 * MINUTE - night * DAY + Math.floor(jitter(0, 120, 'gnight', String(night))) * SECOND;
    const fleet = batchLaunch(t);
    p.pinned(HOME_ZONE, fleet, t, t + BATCH_RUN_MS, 98, 99.9);
    p.delete(t + BATCH_RUN_MS, BATCH, HOME_ZONE, fleet, { ip: BATCH_IP, ua: BATCH_UA });
  }
  const batchAt = incident + 2 * MINUTE;
  const batch = batchLaunch(batchAt);
  p.pinned(HOME_ZONE, batch, batchAt, end, 98, 99.9);

  // ---- the leaked key: enable Compute, read quotas, open SSH, 20 GPU VMs mining in a first-seen region
  const key = { ip: ATTACKER_IP, key: LEAKED_KEY };
  const enable = 'google.api.serviceusage.v1.ServiceUsage.EnableService';
  p.entry(
    incident + 70 * SECOND,
    LEAKED,
    enable,
    `projects/${PROJECT_NUMBER}/services/compute.googleapis.com`,
    {
      type: 'audited_resource',
      labels: { project_id: PROJECT, service: 'serviceusage.googleapis.com', method: enable },
    },
    {
      ...key,
      ua: PYTHON_UA,
      request: {
        '@type': 'type.googleapis.com/google.api.serviceusage.v1.EnableServiceRequest',
        name: `projects/${PROJECT_NUMBER}/services/compute.googleapis.com`,
      },
      service: 'serviceusage.googleapis.com',
    },
  );
  const quotas = 'google.api.cloudquotas.v1.CloudQuotas.ListQuotaInfos';
  const parent = `projects/${PROJECT}/locations/global/services/compute.googleapis.com`;
  p.entry(
    incident + 132 * SECOND,
    LEAKED,
    quotas,
    parent,
    {
      type: 'audited_resource',
      labels: { project_id: PROJECT, service: 'cloudquotas.googleapis.com', method: quotas },
    },
    {
      ...key,
      ua: PYTHON_UA,
      request: { '@type': 'type.googleapis.com/google.api.cloudquotas.v1.ListQuotaInfosRequest', parent },
      log: 'data_access',
      service: 'cloudquotas.googleapis.com',
    },
  );
  const fwAt = incident + 4 * MINUTE;
  const fwOp = operationId(fwAt, 'fw');
  const fwRn = `projects/${PROJECT}/global/firewalls/allow-ssh-all`;
  const fwResource = {
    type: 'gce_firewall_rule',
    labels: { project_id: PROJECT, firewall_rule_id: String(BigInt(`0x${hex(15, 'fwid')}`)) },
  };
  const fwUa = gcloudUa('firewall-rules.create', 'fw');
  p.entry(fwAt, LEAKED, 'v1.compute.firewalls.insert', fwRn, fwResource, {
    ...key,
    ua: fwUa,
    request: {
      '@type': 'type.googleapis.com/compute.firewalls.insert',
      name: 'allow-ssh-all',
      network: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/default`,
      direction: 'INGRESS',
      priority: '1000',
      sourceRanges: ['0.0.0.0/0'],
      allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
    },
    response: { '@type': 'type.googleapis.com/operation', name: fwOp, operationType: 'insert', status: 'RUNNING' },
    op: { id: fwOp, stage: 'first' },
  });
  p.entry(fwAt + 11 * SECOND, LEAKED, 'v1.compute.firewalls.insert', fwRn, fwResource, {
    ...key,
    ua: fwUa,
    request: { '@type': 'type.googleapis.com/compute.firewalls.insert' },
    op: { id: fwOp, stage: 'last' },
  });
  const launchedAt = incident + 6 * MINUTE + 41 * SECOND;
  const miners = p.bulkInsert(launchedAt, LEAKED, NEW_ZONE, 'worker-####', MINERS, MINER_TYPE, {
    ...key,
    ua: gcloudUa('instances.bulk-create', 'bulk'),
    script: minerScript(wallet),
  });
  for (const name of miners) {
    const boot = launchedAt + 75 * SECOND + Math.floor(jitter(0, 60, 'gboot', name)) * SECOND;
    p.pinned(NEW_ZONE, [name], boot, end, 97.5, 99.9);
    // the install script first, then the pool connection the miner holds
    p.connection(NEW_ZONE, name, { ip: SCRIPT_HOST, port: 80 }, boot - 20 * SECOND, boot - 18 * SECOND);
    p.connection(NEW_ZONE, name, POOL, boot, end);
  }

  // ---- beside it: approved GPU training by Terraform, and the web group scaling out under load
  const trainingAt = incident + 5 * MINUTE;
  const training = [0, 1].map((k) =>
    p.insert(trainingAt + k * 3 * SECOND, TERRAFORM, HOME_ZONE, `train-llm-${k}`, TRAINING_TYPE, {
      ip: TERRAFORM_IP,
      ua: TERRAFORM_UA,
      labels: { team: 'platform', 'change-ticket': TICKET },
      gpus: 8,
    }),
  );
  p.pinned(HOME_ZONE, training, trainingAt, end, 98, 99.9);
  const scaleOut = Array.from({ length: 6 }, (_, k) => {
    const t = incident + 10 * MINUTE + k * 45 * SECOND;
    const name = migInsert(t, `${MIG}-${hex(4, 'scale', String(k))}`);
    p.pinned(HOME_ZONE, [name], t, end, 85, 97);
    return { name, t };
  });
  // the legitimate fleets fetch from the artifact store after boot: their flows are in the logs too
  for (const [name, at] of [
    ...batch.map((n) => [n, batchAt] as const),
    ...training.map((n) => [n, trainingAt] as const),
    ...scaleOut.map((s) => [s.name, s.t] as const),
  ]) {
    const t = at + MINUTE + Math.floor(jitter(0, 30, 'fetch', name)) * SECOND;
    p.connection(HOME_ZONE, name, ARTIFACTS, t, t + 20 * MINUTE);
  }

  const region = regionOf(NEW_ZONE);
  const story: GcpStory = {
    dir: GCP_DIR,
    project: PROJECT,
    leakedKey: {
      principal: LEAKED,
      keyId: LEAKED_KEY,
      sourceIp: ATTACKER_IP,
      usualIp: LEAKED_HOME_IP,
      region,
      launchedAt: iso(launchedAt),
      instanceType: MINER_TYPE,
      instances: miners,
      pool: `${POOL.host}:${POOL.port}`,
    },
    group: {
      name: MIG,
      service: GCP_MIG_UA,
      region: home,
      instanceType: MIG_TYPE,
      instances: scaleOut.map((s) => s.name),
    },
    terraform: { principal: TERRAFORM, region: home, instanceType: TRAINING_TYPE, instances: training, ticket: TICKET },
    batch: { principal: BATCH, region: home, instanceType: BATCH_TYPE, instances: batch, earlierNights: HISTORY_DAYS },
    expect: [],
  };
  story.expect = [
    `GCP: AN0744 high on the bulkInsert of ${MINERS} ${MINER_TYPE} in ${region} by ${LEAKED} (key ${LEAKED_KEY.slice(0, 12)}…) from ${ATTACKER_IP}, its startup-script running xmrig; the gcloud containment plan`,
    `GCP: nothing above informational for ${MIG} scaling out, ${TERRAFORM}'s ${TRAINING_TYPE} training VMs labelled ${TICKET}, or ${BATCH}'s nightly ${BATCH_SIZE} ${BATCH_TYPE}`,
  ];
  return { files: filesOf(p), story };
}
