/**
 * The cloud story on Azure, `DIR/azure/`, as diagnostic settings and Network Watcher leave it in a storage
 * account (the shapes of scripts/fixtures/cloud.py's `azure-*` scenarios):
 * - the Activity Log, `insights-activity-logs/resourceId=/SUBSCRIPTIONS/<SUB>/y=…/m=…/d=…/h=…/m=00/PT1H.json`
 *   (one record per line, upper-cased ids), 14 days of history; each write is its Start (request body), Accept
 *   and Success (response body) records, and a NIC write's answer carries the private address the engine joins
 *   flows by;
 * - VNet flow logs, `insights-logs-flowlogflowevent/flowLogResourceID=/…/y=…/m=00/macAddress=<MAC>/PT1H.json`
 *   (`{"records":[…]}`, flow log version 4, one blob per NIC and hour);
 * - Percentage CPU: a diagnostic setting's metric export per VM and hour, `insights-metrics-pt1m/resourceId=/…/PT1H.json`
 *   (PT1M, one record per line; a lifecycle rule keeps 3 days of them), and for the scale set `monitor/vmss-web-percentage-cpu.json`, `az monitor
 *   metrics list` split by VMName.
 * The plot is AWS's (cloud-story.ts) on one subscription: the `sp-backup-automation` service principal, which
 * only listed a storage account's keys nightly from its usual address, is used from a new address to register
 * Microsoft.Compute, raise the NCASv3_T4 quota in koreacentral (a first-seen region), open SSH and create 20
 * Standard_NC4as_T4_v3 VMs one `az vm create` at a time, their customData running xmrig; their flows to the
 * pool are held and their CPU pinned. Beside it in westeurope: autoscale growing `vmss-web` under load (every 6
 * hours in the history), the Terraform deployment principal creating 2 GPU training VMs tagged with a change
 * ticket, and the render scheduler's nightly 10 Standard_F16s_v2, as on the 14 nights before.
 */

import {
  ATTACKER_IP,
  BATCH_RUN_MS,
  bucketKey,
  bucketOf,
  type CloudStoryFile,
  DAY,
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
  round1,
  SCRIPT_HOST,
  SECOND,
  TERRAFORM_IP,
} from './cloud-story-parts.js';
import { iso, uuid } from './container-story.js';

export const AZURE_DIR = 'azure';
const SUB = '6d4f2a1c-3b5e-4c7d-9e8f-1a2b3c4d5e6f';
const TENANT = '9a8b7c6d-5e4f-4a3b-8c1d-0e9f8a7b6c5d';
const HOME = 'westeurope';
const NEW = 'koreacentral';
/** Each region's virtual network address space. */
const NETWORKS: Record<string, string> = { westeurope: '10.20', koreacentral: '10.1' };
interface ServicePrincipal {
  appid: string;
  oid: string;
  name: string;
}
const DEPLOY: ServicePrincipal = {
  appid: '2c7e4b1a-9d3f-4e8a-b6c5-1f0e9d8c7b6a',
  oid: '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
  name: 'sp-terraform-deploy',
};
const BATCH: ServicePrincipal = {
  appid: '7f6e5d4c-3b2a-4f1e-8d9c-0b1a2f3e4d5c',
  oid: 'e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8',
  name: 'sp-render-scheduler',
};
const LEAKED: ServicePrincipal = {
  appid: '8e1d2c3b-4a5f-4b6e-9d7c-0a1b2c3d4e5f',
  oid: 'c3b2a1f0-e9d8-4c7b-a6f5-e4d3c2b1a0f9',
  name: 'sp-backup-automation',
};
/** The caller autoscale's own writes name (the spn claim). */
export const AZURE_AUTOSCALE = 'Microsoft.Insights/autoscaleSettings';
const VMSS = 'vmss-web';
const VMSS_SIZE = 'Standard_D4s_v5';
/** The render scheduler's Function App egress address (documentation range). */
const BATCH_IP = '198.51.100.62';
const BATCH_SIZE_NAME = 'Standard_F16s_v2';
const BATCH_SIZE = 10;
const MINER_SIZE = 'Standard_NC4as_T4_v3';
const TRAINING_SIZE = 'Standard_ND96asr_v4';
const TICKET = 'chg-4812';
const ATTACK_RG = 'rg-gpu-krc';
const ATTACK_VNET = 'vnet-gpu-krc';
/** The artifact store the legitimate fleets fetch from after boot (documentation range). */
const ARTIFACTS = { ip: '198.51.100.82', port: 443 } as const;
const METRIC_STEP_MS = MINUTE;
const TUPLE_STEP_MS = 5 * MINUTE;
const FLOW_WINDOW_MS = 10 * MINUTE;
/** The storage account's lifecycle rule deletes metric export blobs after 3 days (a minute per VM adds up). */
const METRICS_KEPT_DAYS = 3;

/** What the Azure part adds to the story's `cloud:` policy. */
export const AZURE_APPROVED = {
  principals: [DEPLOY.oid, BATCH.oid],
  services: [AZURE_AUTOSCALE],
  regions: [HOME],
  instanceFamilies: ['Standard_D*', 'Standard_F*', 'Standard_ND*'],
  /** What the object ids stand for, for the policy's comments. */
  names: { [DEPLOY.oid]: DEPLOY.name, [BATCH.oid]: BATCH.name },
} as const;

type Json = Record<string, unknown>;

/** What the Azure part holds, for the tests and `--json`. */
export interface AzureStory {
  dir: string;
  subscription: string;
  leakedKey: {
    /** The service principal's object id, as the Activity Log names the caller. */
    principal: string;
    appId: string;
    name: string;
    sourceIp: string;
    usualIp: string;
    region: string;
    launchedAt: string;
    instanceType: string;
    instances: string[];
    pool: string;
  };
  group: { name: string; service: string; region: string; instanceType: string; instances: string[] };
  terraform: { principal: string; region: string; instanceType: string; instances: string[]; ticket: string };
  batch: { principal: string; region: string; instanceType: string; instances: string[]; earlierNights: number };
  expect: string[];
}

const rgId = (rg: string) => `/subscriptions/${SUB}/resourceGroups/${rg}`;
const vmId = (rg: string, name: string) => `${rgId(rg)}/providers/Microsoft.Compute/virtualMachines/${name}`;
const nicId = (rg: string, name: string) => `${rgId(rg)}/providers/Microsoft.Network/networkInterfaces/${name}-nic`;
const vnetId = (rg: string, vnet: string) => `${rgId(rg)}/providers/Microsoft.Network/virtualNetworks/${vnet}`;
const vmssId = () => `${rgId('rg-web')}/providers/Microsoft.Compute/virtualMachineScaleSets/${VMSS}`;

/** `2026-12-01T02:06:00.1234567Z`: the Activity Log's seven fractional digits. */
function time(ms: number, frac: number): string {
  return `${iso(ms - (ms % SECOND)).slice(0, 19)}.${String(Math.floor(frac)).padStart(7, '0')}Z`;
}

function privateIp(location: string, name: string): string {
  const x = Number.parseInt(hex(4, 'azip', location, name), 16);
  return `${NETWORKS[location]}.${x % 3}.${((x >> 4) % 250) + 4}`;
}

function macOf(name: string): string {
  const h = hex(6, 'mac', name).toUpperCase();
  return `00-0D-3A-${h.slice(0, 2)}-${h.slice(2, 4)}-${h.slice(4, 6)}`;
}

function claimsOf(sp: ServicePrincipal, ip: string): Json {
  return {
    aud: 'https://management.azure.com/',
    iss: `https://sts.windows.net/${TENANT}/`,
    appid: sp.appid,
    appidacr: '1',
    idtyp: 'app',
    ipaddr: ip,
    'http://schemas.microsoft.com/identity/claims/objectidentifier': sp.oid,
    'http://schemas.microsoft.com/identity/claims/tenantid': TENANT,
  };
}

type Stage = 'Start' | 'Accept' | 'Success';
/** Who made a write: a service principal from an address, or an Azure service by its claims alone. */
type Caller = { sp: ServicePrincipal; ip: string } | { claims: Json };

class Subscription {
  readonly activity: Array<{ at: number; record: Json }> = [];
  /** NIC name → its VNet flow log records. */
  readonly flows: Array<{ at: number; mac: string; vnet: string; location: string; record: Json }> = [];
  /** VM resource id → PT1M records. */
  readonly cpu: Array<{ at: number; vm: string; record: Json }> = [];
  /** Scale set VM name → [time, percent] (5-minute means). */
  readonly vmssCpu = new Map<string, Array<[number, number]>>();

  /** One Activity Log record as the storage export writes it (upper-cased ids and operation names). */
  private record(
    at: number,
    stage: Stage,
    op: string,
    resourceId: string,
    who: Caller,
    corr: string,
    location: string,
    body: { request?: Json; response?: Json; status?: string; duration?: number },
  ): void {
    const signature = { Start: 'Started.', Accept: 'Accepted.Created', Success: `Succeeded.${body.status ?? 'OK'}` }[
      stage
    ];
    const identity: Json = { authorization: { scope: resourceId, action: op } };
    if ('sp' in who) {
      (identity.authorization as Json).evidence = {
        role: 'Contributor',
        roleAssignmentScope: `/subscriptions/${SUB}`,
        roleAssignmentId: hex(32, 'ra', who.sp.oid),
        roleDefinitionId: 'b24988ac618042a0ab8820f7382dd24c',
        principalId: who.sp.oid,
        principalType: 'ServicePrincipal',
      };
      identity.claims = claimsOf(who.sp, who.ip);
    } else identity.claims = who.claims;
    this.activity.push({
      at,
      record: {
        time: time(at, jitter(0, 9_999_999, 'frac', String(at), op, stage)),
        resourceId: resourceId.toUpperCase(),
        operationName: op.toUpperCase(),
        category: 'Administrative',
        resultType: stage,
        resultSignature: signature,
        durationMs: body.duration ?? 0,
        ...('sp' in who ? { callerIpAddress: who.ip } : {}),
        correlationId: corr,
        identity,
        level: 'Information',
        location,
        properties: {
          ...(body.status ? { statusCode: body.status } : {}),
          serviceRequestId: uuid(`svcreq ${corr} ${stage}`),
          eventCategory: 'Administrative',
          entity: resourceId,
          message: op,
          hierarchy: `${TENANT}/${SUB}`,
          ...(body.request ? { requestbody: JSON.stringify(body.request) } : {}),
          ...(body.response ? { responseBody: JSON.stringify(body.response) } : {}),
        },
      },
    });
  }

  /** A write's Start (with the request body), its Accept when it runs long, and its Success (with the answer). */
  operation(
    at: number,
    op: string,
    resourceId: string,
    who: Caller,
    location: string,
    o: { request?: Json; response?: Json; status?: string; tookS?: number; accept?: boolean },
  ): void {
    const corr = uuid(`corr ${at} ${op} ${resourceId}`);
    const took = o.tookS ?? 8;
    this.record(at, 'Start', op, resourceId, who, corr, location, { request: o.request });
    if (o.accept)
      this.record(at + SECOND, 'Accept', op, resourceId, who, corr, location, { status: 'Created', duration: 1100 });
    this.record(at + took * SECOND, 'Success', op, resourceId, who, corr, location, {
      response: o.response,
      status: o.status ?? 'OK',
      duration: took * SECOND,
    });
  }

  /** `az vm create`: the NIC write (its answer carries the private address), then the VM write naming the NIC. */
  createVm(
    at: number,
    who: { sp: ServicePrincipal; ip: string },
    rg: string,
    location: string,
    name: string,
    size: string,
    vnet: string,
    tags: Record<string, string>,
    script?: string,
  ): string {
    const nic = nicId(rg, name);
    const subnet = `${vnetId(rg, vnet)}/subnets/default`;
    const ipconf = { privateIPAllocationMethod: 'Dynamic', subnet: { id: subnet } };
    this.operation(at, 'Microsoft.Network/networkInterfaces/write', nic, who, location, {
      request: { location, tags, properties: { ipConfigurations: [{ name: `ipconfig${name}`, properties: ipconf }] } },
      response: {
        name: `${name}-nic`,
        id: nic,
        etag: `W/"${uuid(`etag ${nic}`)}"`,
        location,
        tags,
        properties: {
          provisioningState: 'Succeeded',
          resourceGuid: uuid(`nicguid ${nic}`),
          ipConfigurations: [
            {
              name: `ipconfig${name}`,
              id: `${nic}/ipConfigurations/ipconfig${name}`,
              type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
              properties: {
                provisioningState: 'Succeeded',
                privateIPAddress: privateIp(location, name),
                privateIPAllocationMethod: 'Dynamic',
                subnet: { id: subnet },
                primary: true,
                privateIPAddressVersion: 'IPv4',
              },
            },
          ],
          macAddress: macOf(name),
          enableAcceleratedNetworking: false,
          enableIPForwarding: false,
          nicType: 'Standard',
        },
        type: 'Microsoft.Network/networkInterfaces',
      },
      status: 'Created',
      tookS: 3,
    });
    const osProfile: Json = {
      computerName: name,
      adminUsername: 'azureuser',
      linuxConfiguration: {
        disablePasswordAuthentication: true,
        ssh: {
          publicKeys: [
            { path: '/home/azureuser/.ssh/authorized_keys', keyData: `ssh-rsa AAAAB3NzaC1yc2E${hex(40, 'ssh', name)}` },
          ],
        },
      },
      ...(script !== undefined ? { customData: Buffer.from(script, 'utf8').toString('base64') } : {}),
    };
    const vm = vmId(rg, name);
    this.operation(at + 5 * SECOND, 'Microsoft.Compute/virtualMachines/write', vm, who, location, {
      request: {
        location,
        tags,
        properties: {
          hardwareProfile: { vmSize: size },
          storageProfile: {
            osDisk: { createOption: 'fromImage', managedDisk: { storageAccountType: 'Premium_LRS' } },
            imageReference: {
              publisher: 'Canonical',
              offer: '0001-com-ubuntu-server-jammy',
              sku: '22_04-lts-gen2',
              version: 'latest',
            },
          },
          osProfile,
          networkProfile: { networkInterfaces: [{ id: nic, properties: { deleteOption: 'Delete' } }] },
        },
      },
      response: {
        name,
        id: vm,
        type: 'Microsoft.Compute/virtualMachines',
        location,
        tags,
        properties: {
          vmId: uuid(`vmid ${vm}`),
          hardwareProfile: { vmSize: size },
          provisioningState: 'Succeeded',
          timeCreated: time(at + 10 * SECOND, 0),
        },
      },
      tookS: 95,
      accept: true,
    });
    return name;
  }

  deleteVm(at: number, who: { sp: ServicePrincipal; ip: string }, rg: string, location: string, name: string): void {
    this.operation(at, 'Microsoft.Compute/virtualMachines/delete', vmId(rg, name), who, location, {
      tookS: 40,
      accept: true,
    });
  }

  /** Autoscale growing the scale set: the scale set write it makes (the whole model, tags too), then its own record. */
  scaleOut(at: number, capacity: number, old: number): void {
    const id = vmssId();
    const setting = `${rgId('rg-web')}/providers/microsoft.insights/autoscalesettings/autoscale-${VMSS}`;
    const claims = { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/spn': AZURE_AUTOSCALE };
    const body = {
      sku: { name: VMSS_SIZE, tier: 'Standard', capacity },
      location: HOME,
      tags: { team: 'web', 'change-ticket': 'chg-3920' },
    };
    this.operation(at - 2 * SECOND, 'Microsoft.Compute/virtualMachineScaleSets/write', id, { claims }, HOME, {
      request: body,
      response: { ...body, name: VMSS },
      tookS: 40,
      accept: true,
    });
    const op = 'Microsoft.Insights/AutoscaleSettings/Scaleup/Action';
    this.activity.push({
      at,
      record: {
        time: time(at, jitter(0, 9_999_999, 'frac', String(at), op)),
        resourceId: setting.toUpperCase(),
        operationName: op.toUpperCase(),
        category: 'Autoscale',
        resultType: 'Success',
        resultSignature: 'Succeeded',
        durationMs: 0,
        correlationId: uuid(`autoscale ${at}`),
        identity: { authorization: { scope: setting, action: op }, claims },
        level: 'Information',
        location: HOME,
        properties: {
          Description: `The autoscale engine attempting to scale resource '${id}' from ${old} instances count to ${capacity} instances count.`,
          ResourceName: id,
          OldInstancesCount: String(old),
          NewInstancesCount: String(capacity),
          ActiveAutoscaleProfile: '{"Name":"Auto created default scale condition"}',
          LastScaleActionTime: new Date(at).toUTCString(),
        },
      },
    });
  }

  /** PT1M Percentage CPU of a VM from the first minute after `from` up to `to`, at lo–hi percent. */
  pinned(rg: string, name: string, from: number, to: number, lo: number, hi: number): void {
    const vm = vmId(rg, name).toUpperCase();
    for (let t = Math.floor(from / METRIC_STEP_MS) * METRIC_STEP_MS + METRIC_STEP_MS; t < to; t += METRIC_STEP_MS) {
      const v = round1(jitter(lo, hi, 'azcpu', name, String(t)));
      this.cpu.push({
        at: t,
        vm,
        record: {
          count: 4,
          total: Math.round(v * 400) / 100,
          minimum: round1(v - 0.8),
          maximum: round1(Math.min(v + 0.6, 100)),
          average: v,
          resourceId: vm,
          time: time(t, 0),
          metricName: 'Percentage CPU',
          timeGrain: 'PT1M',
        },
      });
    }
  }

  /**
   * A connection the NIC holds from `from` until `until`, as VNet flow logs write it: the Begin tuple, then
   * Continuing tuples every 5 minutes with the counts, in one record per NIC every 10 minutes.
   */
  connection(
    rg: string,
    vnet: string,
    location: string,
    name: string,
    to: { ip: string; port: number },
    from: number,
    until: number,
  ): void {
    const src = privateIp(location, name);
    const sport = 40000 + Math.floor(jitter(0, 20000, 'azsport', name, to.ip));
    const tuple = (t: number, state: string, counts: string) =>
      `${t},${src},${to.ip},${sport},${to.port},6,O,${state},NX,${counts}`;
    let tuples = [tuple(from, 'B', '0,0,0,0')];
    for (let window = from; window < until; ) {
      const end = Math.min(window - (window % FLOW_WINDOW_MS) + FLOW_WINDOW_MS, until);
      for (let c = window - (window % TUPLE_STEP_MS) + TUPLE_STEP_MS; c <= end; c += TUPLE_STEP_MS) {
        const pk = Math.floor(jitter(150, 300, 'azpk', name, String(c)));
        tuples.push(tuple(c, c === until ? 'E' : 'C', `${pk},${pk * 140},${pk - 3},${(pk - 3) * 290}`));
      }
      if (end === until && (until - from) % TUPLE_STEP_MS !== 0) tuples.push(tuple(until, 'E', '9,820,14,30410'));
      this.flowRecord(end, rg, vnet, location, name, tuples);
      tuples = [];
      window = end;
    }
  }

  private flowRecord(at: number, rg: string, vnet: string, location: string, name: string, tuples: string[]): void {
    if (tuples.length === 0) return;
    const target = vnetId(rg, vnet);
    const watcher = `/SUBSCRIPTIONS/${SUB.toUpperCase()}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_${location.toUpperCase()}`;
    const mac = macOf(name).replace(/-/g, '');
    this.flows.push({
      at,
      mac,
      vnet,
      location,
      record: {
        time: time(at, jitter(0, 9_999_999, 'ffrac', String(at), name)),
        flowLogVersion: 4,
        flowLogGUID: uuid(`flowlog ${target}`),
        macAddress: mac,
        category: 'FlowLogFlowEvent',
        flowLogResourceID: `${watcher}/FLOWLOGS/POLICY-FLOWLOG-${vnet.toUpperCase()}`,
        targetResourceID: target,
        operationName: 'FlowLogFlowEvent',
        flowRecords: {
          flows: [
            {
              aclID: uuid(`acl ${target}`),
              flowGroups: [{ rule: 'DefaultRule_AllowInternetOutBound', flowTuples: tuples }],
            },
          ],
        },
      },
    });
  }
}

/** `y=YYYY/m=MM/d=DD/h=HH/m=00`: the hour path every Azure Monitor export blob sits under. */
function hourPath(hour: number): string {
  const t = iso(hour);
  return `y=${t.slice(0, 4)}/m=${t.slice(5, 7)}/d=${t.slice(8, 10)}/h=${t.slice(11, 13)}/m=00`;
}

function filesOf(s: Subscription): CloudStoryFile[] {
  const files: CloudStoryFile[] = [];
  for (const [, records] of grouped(s.activity, (r) => bucketKey('activity', r.at, HOUR)))
    files.push({
      rel: `${AZURE_DIR}/insights-activity-logs/resourceId=/SUBSCRIPTIONS/${SUB.toUpperCase()}/${hourPath(bucketOf(records[0].at, HOUR))}/PT1H.json`,
      data: jsonLines(records.map((r) => r.record)),
    });
  for (const [, records] of grouped(s.flows, (f) => bucketKey(f.mac, f.at - 1, HOUR))) {
    const { vnet, location, mac, at } = records[0];
    const flowLog = `${SUB.toUpperCase()}/NETWORKWATCHERRG/NETWORKWATCHER_${location.toUpperCase()}/POLICY-FLOWLOG-${vnet.toUpperCase()}`;
    files.push({
      rel: `${AZURE_DIR}/insights-logs-flowlogflowevent/flowLogResourceID=/${flowLog}/${hourPath(bucketOf(at - 1, HOUR))}/macAddress=${mac}/PT1H.json`,
      data: `{"records":[\n${records.map((r) => JSON.stringify(r.record)).join(',\n')}\n]}\n`,
    });
  }
  for (const [, points] of grouped(s.cpu, (p) => bucketKey(p.vm, p.at, HOUR)))
    files.push({
      rel: `${AZURE_DIR}/insights-metrics-pt1m/resourceId=${points[0].vm}/${hourPath(bucketOf(points[0].at, HOUR))}/PT1H.json`,
      data: jsonLines(points.map((p) => p.record)),
    });
  if (s.vmssCpu.size > 0) {
    // `az monitor metrics list --resource <scale set> --metric "Percentage CPU" --filter "VMName eq '*'" --interval PT5M`
    const times = [...new Set([...s.vmssCpu.values()].flatMap((points) => points.map(([t]) => t)))].sort(
      (a, b) => a - b,
    );
    const series = [...s.vmssCpu.entries()].sort().map(([vm, points]) => {
      const have = new Map(points);
      return {
        data: times.map((t) => ({
          ...(have.has(t) ? { average: have.get(t) } : {}),
          timeStamp: iso(t).replace('Z', '+00:00'),
        })),
        metadatavalues: [{ name: { localizedValue: 'VMName', value: 'VMName' }, value: vm }],
      };
    });
    const id = vmssId();
    const doc = {
      cost: 0,
      interval: 'PT5M',
      namespace: 'Microsoft.Compute/virtualMachineScaleSets',
      resourceregion: HOME,
      timespan: `${iso(times[0])}/${iso(times[times.length - 1] + 5 * MINUTE)}`,
      value: [
        {
          displayDescription:
            'The percentage of allocated compute units that are currently in use by the Virtual Machine(s)',
          errorCode: 'Success',
          id: `${id}/providers/Microsoft.Insights/metrics/Percentage CPU`,
          name: { localizedValue: 'Percentage CPU', value: 'Percentage CPU' },
          resourceGroup: 'rg-web',
          timeseries: series,
          type: 'Microsoft.Insights/metrics',
          unit: 'Percent',
        },
      ],
    };
    files.push({
      rel: `${AZURE_DIR}/monitor/${VMSS}-percentage-cpu.json`,
      data: `${JSON.stringify(doc, null, 1)}\n`,
    });
  }
  return files;
}

/** Build the Azure part of the story ending at `end` (whole seconds). */
export function azureStory(end: number, wallet: string): { files: CloudStoryFile[]; story: AzureStory } {
  const incident = end - INCIDENT_MS;
  const historyStart = incident - HISTORY_DAYS * DAY;
  const s = new Subscription();
  const deploy = { sp: DEPLOY, ip: TERRAFORM_IP };
  const scheduler = { sp: BATCH, ip: BATCH_IP };

  // ---- 14 days of routine: Terraform twice a day, autoscale every 6 hours, the backup principal nightly
  let runs = 0;
  for (let t = historyStart + HOUR; t < incident - HOUR; t += 12 * HOUR, runs++)
    for (const k of [0, 1])
      s.createVm(
        t + k * 20 * SECOND,
        deploy,
        'rg-app-weu',
        HOME,
        `app-${hex(5, 'azname', String(t), String(k))}`,
        'Standard_D4s_v5',
        'vnet-app-weu',
        { team: 'platform', 'change-ticket': `chg-${3900 + runs}` },
      );
  let scaleRuns = 0;
  for (let t = historyStart + 2 * HOUR; t < incident - HOUR; t += 6 * HOUR, scaleRuns++)
    s.scaleOut(t, 5 + (scaleRuns % 2), 3);
  const keys = `${rgId('rg-backup')}/providers/Microsoft.Storage/storageAccounts/stbackup01`;
  for (let t = historyStart + 23 * HOUR; t < incident; t += DAY)
    s.operation(
      t,
      'Microsoft.Storage/storageAccounts/listKeys/action',
      keys,
      { sp: LEAKED, ip: LEAKED_HOME_IP },
      HOME,
      {
        tookS: 1,
      },
    );

  // ---- the nightly render fleet: 14 earlier nights and tonight's, each pinned until the scheduler deletes it
  const batchLaunch = (t: number) =>
    Array.from({ length: BATCH_SIZE }, (_, k) =>
      s.createVm(
        t + k * 7 * SECOND,
        scheduler,
        'rg-render',
        HOME,
        `render-${iso(t).slice(5, 10).replace('-', '')}-${String(k + 1).padStart(2, '0')}`,
        BATCH_SIZE_NAME,
        'vnet-render-weu',
        { job: 'nightly-render', 'change-ticket': 'chg-3311' },
      ),
    );
  for (let night = HISTORY_DAYS; night >= 1; night--) {
    const t = incident + 2 * MINUTE - night * DAY + Math.floor(jitter(0, 120, 'aznight', String(night))) * SECOND;
    for (const name of batchLaunch(t)) {
      if (night <= METRICS_KEPT_DAYS) s.pinned('rg-render', name, t + 2 * MINUTE, t + BATCH_RUN_MS, 98, 99.9);
      s.deleteVm(t + BATCH_RUN_MS, scheduler, 'rg-render', HOME, name);
    }
  }
  const batchAt = incident + 2 * MINUTE;
  const batch = batchLaunch(batchAt);
  for (const name of batch) s.pinned('rg-render', name, batchAt + 2 * MINUTE, end, 98, 99.9);

  // ---- the leaked secret: register Compute, a resource group, quota, network, open SSH, 20 GPU VMs mining
  const attacker = { sp: LEAKED, ip: ATTACKER_IP };
  const sub = `/subscriptions/${SUB}`;
  s.operation(
    incident + 65 * SECOND,
    'Microsoft.Compute/register/action',
    `${sub}/providers/Microsoft.Compute`,
    attacker,
    'global',
    {
      response: {
        id: `${sub}/providers/Microsoft.Compute`,
        namespace: 'Microsoft.Compute',
        registrationState: 'Registered',
      },
      tookS: 2,
    },
  );
  s.operation(
    incident + 100 * SECOND,
    'Microsoft.Resources/subscriptions/resourceGroups/write',
    rgId(ATTACK_RG),
    attacker,
    NEW,
    {
      request: { location: NEW },
      response: { id: rgId(ATTACK_RG), name: ATTACK_RG, location: NEW, properties: { provisioningState: 'Succeeded' } },
      status: 'Created',
      tookS: 1,
    },
  );
  s.operation(
    incident + 150 * SECOND,
    'Microsoft.Quota/quotas/write',
    `${sub}/providers/Microsoft.Compute/locations/${NEW}/providers/Microsoft.Quota/quotas/standardNCASv3_T4Family`,
    attacker,
    NEW,
    {
      request: {
        properties: {
          limit: { limitObjectType: 'LimitValue', value: 80 },
          name: { value: 'standardNCASv3_T4Family' },
        },
      },
      tookS: 20,
      accept: true,
    },
  );
  s.operation(
    incident + 240 * SECOND,
    'Microsoft.Network/virtualNetworks/write',
    vnetId(ATTACK_RG, ATTACK_VNET),
    attacker,
    NEW,
    {
      request: {
        location: NEW,
        properties: {
          addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
          subnets: [{ name: 'default', properties: { addressPrefix: '10.1.0.0/22' } }],
        },
      },
      status: 'Created',
      tookS: 4,
    },
  );
  const nsg = `${rgId(ATTACK_RG)}/providers/Microsoft.Network/networkSecurityGroups/nsg-gpu-krc`;
  s.operation(
    incident + 270 * SECOND,
    'Microsoft.Network/networkSecurityGroups/securityRules/write',
    `${nsg}/securityRules/allow-ssh`,
    attacker,
    NEW,
    {
      request: {
        properties: {
          protocol: 'Tcp',
          sourcePortRange: '*',
          destinationPortRange: '22',
          sourceAddressPrefix: '*',
          destinationAddressPrefix: '*',
          access: 'Allow',
          priority: 100,
          direction: 'Inbound',
        },
      },
      status: 'Created',
      tookS: 3,
    },
  );
  const launchedAt = incident + 6 * MINUTE;
  const script = minerScript(wallet);
  const miners = Array.from({ length: MINERS }, (_, k) => `gpu-worker-${String(k + 1).padStart(2, '0')}`);
  miners.forEach((name, k) => {
    s.createVm(launchedAt + k * 9 * SECOND, attacker, ATTACK_RG, NEW, name, MINER_SIZE, ATTACK_VNET, {}, script);
    const boot = launchedAt + k * 9 * SECOND + (100 + Math.floor(jitter(0, 60, 'azboot', name))) * SECOND;
    s.pinned(ATTACK_RG, name, boot, end, 97.5, 99.9);
    // the install script first, then the pool connection the miner holds
    s.connection(
      ATTACK_RG,
      ATTACK_VNET,
      NEW,
      name,
      { ip: SCRIPT_HOST, port: 80 },
      boot - 25 * SECOND,
      boot - 24 * SECOND,
    );
    s.connection(ATTACK_RG, ATTACK_VNET, NEW, name, POOL, boot, end);
  });

  // ---- beside it: approved GPU training by Terraform, and autoscale growing the web scale set under load
  const trainingAt = incident + 5 * MINUTE;
  const tags = { team: 'platform', 'change-ticket': TICKET };
  const training = [0, 1].map((k) =>
    s.createVm(
      trainingAt + k * 20 * SECOND,
      deploy,
      'rg-ml-weu',
      HOME,
      `train-llm-${k}`,
      TRAINING_SIZE,
      'vnet-ml-weu',
      tags,
    ),
  );
  for (const name of training) s.pinned('rg-ml-weu', name, trainingAt + 2 * MINUTE, end, 98, 99.9);
  const scaleAt = incident + 10 * MINUTE;
  s.scaleOut(scaleAt, 8, 3);
  const scaleOut: string[] = [];
  for (let k = 0; k < 8; k++) {
    const vm = `${VMSS}_${k}`;
    if (k >= 3) scaleOut.push(vm);
    const from = k >= 3 ? bucketOf(scaleAt, 5 * MINUTE) + 5 * MINUTE : incident;
    const points: Array<[number, number]> = [];
    for (let t = from; t < end; t += 5 * MINUTE) points.push([t, round1(jitter(85, 97, 'vmss', vm, String(t)))]);
    s.vmssCpu.set(vm, points);
  }
  // the legitimate VMs fetch from the artifact store after boot: their flows are in the logs too
  for (const [rg, vnet, names, at] of [
    ['rg-render', 'vnet-render-weu', batch, batchAt],
    ['rg-ml-weu', 'vnet-ml-weu', training, trainingAt],
  ] as const)
    for (const name of names) {
      const t = at + 2 * MINUTE + Math.floor(jitter(0, 30, 'fetch', name)) * SECOND;
      s.connection(rg, vnet, HOME, name, ARTIFACTS, t, t + 20 * MINUTE);
    }

  const story: AzureStory = {
    dir: AZURE_DIR,
    subscription: SUB,
    leakedKey: {
      principal: LEAKED.oid,
      appId: LEAKED.appid,
      name: LEAKED.name,
      sourceIp: ATTACKER_IP,
      usualIp: LEAKED_HOME_IP,
      region: NEW,
      launchedAt: iso(launchedAt),
      instanceType: MINER_SIZE,
      instances: miners,
      pool: `${POOL.host}:${POOL.port}`,
    },
    group: { name: VMSS, service: AZURE_AUTOSCALE, region: HOME, instanceType: VMSS_SIZE, instances: scaleOut },
    terraform: {
      principal: DEPLOY.oid,
      region: HOME,
      instanceType: TRAINING_SIZE,
      instances: training,
      ticket: TICKET,
    },
    batch: {
      principal: BATCH.oid,
      region: HOME,
      instanceType: BATCH_SIZE_NAME,
      instances: batch,
      earlierNights: HISTORY_DAYS,
    },
    expect: [],
  };
  story.expect = [
    `Azure: AN0744 high on the ${MINERS} ${MINER_SIZE} VMs in ${NEW} created by ${LEAKED.name} (object id ${LEAKED.oid}, app ${LEAKED.appid}) from ${ATTACKER_IP}, their customData running xmrig; the az containment plan`,
    `Azure: nothing above informational for autoscale growing ${VMSS}, ${DEPLOY.name}'s ${TRAINING_SIZE} training VMs tagged ${TICKET}, or ${BATCH.name}'s nightly ${BATCH_SIZE} ${BATCH_SIZE_NAME}`,
  ];
  return { files: filesOf(s), story };
}
