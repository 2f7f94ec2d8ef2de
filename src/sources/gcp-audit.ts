/**
 * Google Cloud Audit Logs: `LogEntry` records whose `protoPayload` is an `AuditLog` (also a BigQuery
 * export's `protopayload_auditlog`, with `requestJson`/`responseJson` as text), one per line (Storage
 * sink exports, `jq -c`) or as `gcloud logging read --format=json` prints them (one array). The calls
 * that matter for compute hijacking become `cloud-change` events with what the request and response
 * say in `coalmine.cloud`: instance inserts (`v1.`/`beta.`/`compute.instances.insert`, `bulkInsert`),
 * starts, machine-type and metadata changes (a startup-script, decoded from base64 when it is, clipped
 * to 4 KiB), deletes, managed instance groups (insert, resize, patch: the size asked for), instance
 * templates, firewall rules, quota reads and overrides, service enables, and identity calls (service
 * account keys, service accounts, project IAM policy). Every other method (kept as a `log-record` when
 * a loaded Sigma rule reads GCP audit), and entries that are not audit records, are counted unused. One event per long-running operation: its `first` entry (the
 * request) joined with its `last` (the outcome: a failed operation's status is the event's error),
 * whichever order they come in; an entry alone is its own event. A status code other than 0 is a
 * failure (7 PERMISSION_DENIED: a denied attempt is evidence too). host.name = `gcp:<project>`.
 */
import type { CloudFacts, CloudInstanceFacts, CoalEvent, WorkloadContainer } from '../model/event.js';
import { issue } from '../model/issue.js';
import { decodeBase64Text } from '../util/base64.js';
import { clip } from '../util/hostile.js';
import {
  entryTime,
  gcpNameOf,
  isZone,
  lastSegment,
  pathPart,
  projectOfLogName,
  regionOfZone,
  resourceLabels,
} from './gcp-log.js';
import { isJsonDocument, jsonRecords } from './json-document.js';
import { sniffJsonLine } from './lines.js';
import { keepsRecords, logRecordEvent } from './log-record.js';
import { ipOf, isObject, MAX_NAME_CHARS, numberOf, textOf } from './net-fields.js';
import { outOfOrderIssue, TimeOrder } from './time-order.js';
import type { SourceBatch, SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'gcp-audit';
const CODE = 'GCP_AUDIT';
const AUDIT_TYPE = 'type.googleapis.com/google.cloud.audit.AuditLog';
const MAX_USER_DATA_CHARS = 4096;
const MAX_ITEMS = 64;
const MAX_RESOURCES = 32;
const MAX_TAGS = 64;
const MAX_COUNT = 100_000;
/** A BigQuery export's request/response text parsed at most this long. */
const MAX_EMBEDDED_JSON_CHARS = 1024 * 1024;
/** Operations whose first or last entry is held while waiting for the other. */
const MAX_PENDING = 1024;
const BATCH_EVENTS = 512;
/** Metadata keys whose value a VM runs at boot. */
const SCRIPT_KEYS = [
  'startup-script',
  'user-data',
  'startup-script-url',
  'windows-startup-script-ps1',
  'windows-startup-script-cmd',
  'windows-startup-script-bat',
  'windows-startup-script-url',
  'sysprep-specialize-script-ps1',
  'sysprep-specialize-script-cmd',
];
/** Top-level LogEntry keys kept in `original`; the payload is summarised in coalmine.cloud. */
const ORIGINAL_KEYS = ['insertId', 'logName', 'timestamp', 'receiveTimestamp', 'severity', 'resource', 'operation'];
const PAYLOAD_KEYS = ['serviceName', 'methodName', 'resourceName', 'authenticationInfo', 'requestMetadata', 'status'];
/** gRPC canonical codes, as GCP's `status.code` numbers them. */
const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** What a kept method is: how its request reads, and the event's category and type. */
type Kind =
  | 'insert'
  | 'bulk-insert'
  | 'start'
  | 'delete'
  | 'set-machine-type'
  | 'set-metadata'
  | 'project-metadata'
  | 'group'
  | 'template'
  | 'firewall'
  | 'quota'
  | 'service'
  | 'sa-key'
  | 'service-account'
  | 'iam-policy';

/** Compute methods by their name without the API version (`v1.`, `beta.`, `alpha.`). */
const COMPUTE_KINDS: Record<string, Kind> = {
  'compute.instances.insert': 'insert',
  'compute.instances.bulkInsert': 'bulk-insert',
  'compute.regionInstances.bulkInsert': 'bulk-insert',
  'compute.instances.start': 'start',
  'compute.instances.startWithEncryptionKey': 'start',
  'compute.instances.resume': 'start',
  'compute.instances.delete': 'delete',
  'compute.instances.setMachineType': 'set-machine-type',
  'compute.instances.setMetadata': 'set-metadata',
  'compute.projects.setCommonInstanceMetadata': 'project-metadata',
  'compute.instanceGroupManagers.insert': 'group',
  'compute.instanceGroupManagers.resize': 'group',
  'compute.instanceGroupManagers.patch': 'group',
  'compute.instanceGroupManagers.update': 'group',
  'compute.instanceGroupManagers.setInstanceTemplate': 'group',
  'compute.regionInstanceGroupManagers.insert': 'group',
  'compute.regionInstanceGroupManagers.resize': 'group',
  'compute.regionInstanceGroupManagers.patch': 'group',
  'compute.regionInstanceGroupManagers.update': 'group',
  'compute.regionInstanceGroupManagers.setInstanceTemplate': 'group',
  'compute.instanceTemplates.insert': 'template',
  'compute.regionInstanceTemplates.insert': 'template',
  'compute.firewalls.insert': 'firewall',
  'compute.firewalls.patch': 'firewall',
  'compute.firewalls.update': 'firewall',
};

/** The kind of a method, or undefined (counted unused). */
export function kindOfMethod(method: string, service: string | undefined): Kind | undefined {
  const bare = method.replace(/^(?:v1|beta|alpha)\./, '');
  const compute = COMPUTE_KINDS[bare];
  if (compute !== undefined) return compute;
  // Cloud Quotas (google.api.cloudquotas.v1.CloudQuotas.*) and Service Usage quota overrides
  if (/\.CloudQuotas\.(?:Get|List|Create|Update)Quota(?:Info|Infos|Preference|Preferences)$/.test(method))
    return 'quota';
  if (/\.ServiceUsage\.(?:\w*Override|\w*Overrides|\w*QuotaMetrics?)$/.test(method)) return 'quota';
  if (/\.ServiceUsage\.(?:Batch)?EnableServices?$/.test(method)) return 'service';
  if (/^google\.iam\.admin\.v1\.(?:Create|Upload)ServiceAccountKey$/.test(method)) return 'sa-key';
  if (method === 'google.iam.admin.v1.CreateServiceAccount') return 'service-account';
  if (method === 'SetIamPolicy' && service === 'cloudresourcemanager.googleapis.com') return 'iam-policy';
  return undefined;
}

function typeOf(kind: Kind, method: string): string[] {
  if (kind === 'delete') return ['deletion'];
  if (kind === 'start') return ['start'];
  if (/\.(?:insert|bulkInsert|Create\w*|Upload\w*)$/.test(method)) return ['creation'];
  if (kind === 'quota' && /\.(?:Get|List)\w*$/.test(method)) return ['access'];
  return ['change'];
}

function categoryOf(kind: Kind): string[] {
  return kind === 'sa-key' || kind === 'service-account' || kind === 'iam-policy' ? ['iam'] : ['configuration'];
}

/** The payload of an entry: `protoPayload`, or a BigQuery export's `protopayload_auditlog` with its JSON texts parsed. */
function payloadOf(o: Obj): Obj | undefined {
  if (isObject(o.protoPayload)) return o.protoPayload;
  const bq = o.protopayload_auditlog;
  if (!isObject(bq)) return undefined;
  const out: Obj = { ...bq };
  for (const [text, key] of [
    ['requestJson', 'request'],
    ['responseJson', 'response'],
  ] as const) {
    const raw = bq[text];
    if (out[key] === undefined && typeof raw === 'string' && raw.length <= MAX_EMBEDDED_JSON_CHARS) {
      try {
        out[key] = JSON.parse(raw);
      } catch {
        // an unreadable embedded body: the call is still read, without its body
      }
    }
  }
  return out;
}

/** GCP labels: a map, or Compute's `[{key, value}]` list; bounded. */
function labelsOf(v: unknown): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let n = 0;
  const put = (k: unknown, val: unknown) => {
    const key = textOf(k, 128);
    const value = typeof val === 'string' ? clip(val, 256) : textOf(val, 256);
    if (key !== undefined && value !== undefined && n < MAX_TAGS && !(key in out)) {
      out[key] = value;
      n++;
    }
  };
  if (Array.isArray(v)) for (const item of v.slice(0, MAX_TAGS)) if (isObject(item)) put(item.key, item.value ?? '');
  if (isObject(v)) for (const key of Object.keys(v).slice(0, MAX_TAGS)) put(key, v[key]);
  return n > 0 ? out : undefined;
}

/** Metadata items as key → value (`{items: [{key, value}]}`, or the items list itself). */
function metadataItems(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const items = isObject(v) ? v.items : v;
  if (!Array.isArray(items)) return out;
  for (const item of items.slice(0, MAX_ITEMS)) {
    if (!isObject(item)) continue;
    const key = textOf(item.key, 128);
    const value = typeof item.value === 'string' ? item.value : undefined;
    if (key !== undefined && value !== undefined && !out.has(key)) out.set(key, value.slice(0, 64 * 1024));
  }
  return out;
}

/** What a VM runs at boot, from its metadata: scripts decoded from base64 when they are, joined, clipped. */
function bootScriptOf(items: Map<string, string>): string | undefined {
  const parts: string[] = [];
  for (const key of SCRIPT_KEYS) {
    const value = items.get(key);
    if (value === undefined || value.trim() === '') continue;
    const text = decodeBase64Text(value) ?? value;
    parts.push(key === 'startup-script' && parts.length === 0 ? text : `# ${key}\n${text}`);
  }
  return parts.length > 0 ? clip(parts.join('\n'), MAX_USER_DATA_CHARS) : undefined;
}

/** The images a Container-Optimized OS declaration (`gce-container-declaration`, YAML) names. */
function containersOf(items: Map<string, string>): WorkloadContainer[] | undefined {
  const spec = items.get('gce-container-declaration');
  if (spec === undefined) return undefined;
  const out: WorkloadContainer[] = [];
  for (const line of spec.split('\n', 512)) {
    const m = /^\s*-?\s*image:\s*['"]?([^\s'"]{1,512})/.exec(line);
    if (m && out.length < 16) out.push({ image: m[1] });
  }
  return out.length > 0 ? out : undefined;
}

/** The boot disk's image (`initializeParams.sourceImage`), without the API's URL prefix. */
function imageOfDisks(v: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  const disks = v.slice(0, 32).filter(isObject);
  const boot = disks.find((d) => d.boot === true) ?? disks[0];
  const params = boot !== undefined && isObject(boot.initializeParams) ? boot.initializeParams : undefined;
  const image = textOf(params?.sourceImage, 1024);
  return image === undefined
    ? undefined
    : clip(image.replace(/^https:\/\/[^/]{1,100}\/compute\/[^/]{1,16}\//, ''), 512);
}

/** `nvidia-tesla-t4:4` for each accelerator asked for. */
function acceleratorsOf(v: unknown): Array<{ type: string; name: string }> {
  if (!Array.isArray(v)) return [];
  const out: Array<{ type: string; name: string }> = [];
  for (const a of v.slice(0, 8)) {
    if (!isObject(a)) continue;
    const type = lastSegment(a.acceleratorType, 128);
    const count = numberOf(a.acceleratorCount);
    if (type !== undefined)
      out.push({ type: 'guestAccelerator', name: count !== undefined ? `${type}:${count}` : type });
  }
  return out;
}

/** Addresses of `networkInterfaces`: internal (networkIP) and external (accessConfigs[].natIP). */
function addressesOf(v: unknown, instance: CloudInstanceFacts): void {
  if (!Array.isArray(v)) return;
  const privateIps: string[] = [];
  const publicIps: string[] = [];
  for (const nic of v.slice(0, 8)) {
    if (!isObject(nic)) continue;
    const internal = ipOf(nic.networkIP);
    if (internal !== undefined) privateIps.push(internal);
    const configs = Array.isArray(nic.accessConfigs) ? nic.accessConfigs.slice(0, 4) : [];
    for (const c of configs) {
      const external = isObject(c) ? ipOf(c.natIP) : undefined;
      if (external !== undefined) publicIps.push(external);
    }
  }
  if (privateIps.length > 0) instance.privateIps = privateIps;
  if (publicIps.length > 0) instance.publicIps = publicIps;
}

/** Instance properties (an insert's body, a bulkInsert's `instanceProperties`, a template's `properties`) into the facts. */
function addInstanceProperties(p: Obj, cloud: CloudFacts, instance: CloudInstanceFacts | undefined): void {
  const type = lastSegment(p.machineType, 128);
  if (type !== undefined) {
    cloud.instanceType = type;
    if (instance !== undefined) instance.type = type;
  }
  const image = imageOfDisks(p.disks);
  if (image !== undefined) {
    cloud.image = image;
    if (instance !== undefined) instance.image = image;
  }
  const items = metadataItems(p.metadata);
  const script = bootScriptOf(items);
  if (script !== undefined) cloud.userData = script;
  const containers = containersOf(items);
  if (containers !== undefined) cloud.containers = containers;
  const labels = labelsOf(p.labels);
  if (labels !== undefined) {
    cloud.tags = labels;
    if (instance !== undefined) instance.tags = labels;
  }
  if (instance !== undefined) addressesOf(p.networkInterfaces, instance);
  const accelerators = acceleratorsOf(p.guestAccelerators);
  if (accelerators.length > 0) cloud.resources = [...(cloud.resources ?? []), ...accelerators];
  const scheduling = isObject(p.scheduling) ? p.scheduling : undefined;
  const model =
    textOf(scheduling?.provisioningModel, 32) ?? (scheduling?.preemptible === true ? 'PREEMPTIBLE' : undefined);
  if (model !== undefined && model !== 'STANDARD')
    cloud.resources = [...(cloud.resources ?? []), { type: 'provisioningModel', name: model }];
}

function countOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT ? n : undefined;
}

function addResource(cloud: CloudFacts, type: string, name: string | undefined): void {
  if (name === undefined) return;
  const list = cloud.resources ?? [];
  if (list.length < MAX_RESOURCES && !list.some((r) => r.type === type && r.name === name)) list.push({ type, name });
  cloud.resources = list;
}

/** Who made the call, and the Google service acting for the project when it was one. */
function principalOf(payload: Obj, agent: string | undefined): CloudFacts['principal'] | undefined {
  const auth = isObject(payload.authenticationInfo) ? payload.authenticationInfo : {};
  const email = textOf(auth.principalEmail, MAX_NAME_CHARS) ?? textOf(auth.principalSubject, MAX_NAME_CHARS);
  const principal: NonNullable<CloudFacts['principal']> = {};
  if (email !== undefined) {
    principal.id = email;
    principal.type = email.endsWith('.gserviceaccount.com')
      ? 'serviceAccount'
      : email.startsWith('system:')
        ? 'system'
        : email.includes('@')
          ? 'user'
          : 'principal';
  }
  // the key a service account signed with: a leaked key is named here
  const key = textOf(auth.serviceAccountKeyName, 1024);
  const keyId = key === undefined ? undefined : (pathPart(key, 'keys', 128) ?? lastSegment(key, 128));
  if (keyId !== undefined) principal.accessKeyId = keyId;
  const delegation = Array.isArray(auth.serviceAccountDelegationInfo) ? auth.serviceAccountDelegationInfo : [];
  const first = isObject(delegation[0]) && isObject(delegation[0].firstPartyPrincipal) ? delegation[0] : undefined;
  const impersonator = first !== undefined ? textOf((first.firstPartyPrincipal as Obj).principalEmail, 255) : undefined;
  if (impersonator !== undefined) principal.sessionIssuer = impersonator;
  const service = serviceAgentOf(email, agent);
  if (service !== undefined) principal.invokedBy = service;
  return Object.keys(principal).length > 0 ? principal : undefined;
}

/** Google's own agents acting for a project: a managed instance group, the APIs service agent, GKE. */
function serviceAgentOf(email: string | undefined, agent: string | undefined): string | undefined {
  if (agent?.startsWith('GCE Managed Instance Group')) return clip(agent, 128);
  if (email === undefined) return undefined;
  if (email.endsWith('@cloudservices.gserviceaccount.com')) return 'cloudservices.gserviceaccount.com';
  if (email.endsWith('@compute-system.iam.gserviceaccount.com')) return 'compute-system.iam.gserviceaccount.com';
  if (email.endsWith('@container-engine-robot.iam.gserviceaccount.com'))
    return 'container-engine-robot.iam.gserviceaccount.com';
  return undefined;
}

/** `status` of a payload: its code name and message when the call failed, or undefined. */
function failureOf(payload: Obj): { code: string; message?: string; denied: boolean } | undefined {
  const status = isObject(payload.status) ? payload.status : undefined;
  const code = numberOf(status?.code);
  const message = textOf(status?.message, 1024);
  if (code !== undefined && code !== 0) {
    const name = Number.isInteger(code) && code > 0 && code < STATUS_NAMES.length ? STATUS_NAMES[code] : `code ${code}`;
    return { code: name, message, denied: code === 7 || code === 16 };
  }
  // a refused permission with no status written (older entries)
  const auths = Array.isArray(payload.authorizationInfo) ? payload.authorizationInfo.slice(0, 32) : [];
  if (code === undefined && auths.some((a) => isObject(a) && a.granted === false))
    return { code: 'PERMISSION_DENIED', message, denied: true };
  return undefined;
}

interface Mapped {
  event: CoalEvent;
  /** Operation id and stage, when the entry is one stage of a long-running operation. */
  operation?: { id: string; first: boolean; last: boolean };
}

/** One LogEntry as a cloud-change, `'unused'` for a call no analytic reads, or why it is not an event. */
export function gcpAuditEvent(
  o: Obj,
  file: string,
  line: number,
  hostHint?: string,
  /** A call no analytic reads becomes a `log-record` for the Sigma rules (SourceContext.keepRecord). */
  keep = false,
): Mapped | 'unused' | string {
  const payload = payloadOf(o);
  if (payload === undefined) {
    // another log's entry (jsonPayload, textPayload) in the same export
    return isObject(o.jsonPayload) || typeof o.textPayload === 'string' || o.logName !== undefined
      ? 'unused'
      : 'no protoPayload: not a LogEntry';
  }
  const type = payload['@type'];
  if (type !== undefined && type !== AUDIT_TYPE) return 'unused';
  const method = textOf(payload.methodName, 256);
  if (method === undefined) return 'protoPayload has no methodName';
  const service = textOf(payload.serviceName, 128);
  const kind = kindOfMethod(method, service);
  if (kind === undefined && !keep) return 'unused';
  const ts = entryTime(o);
  if (typeof ts === 'string') return ts;
  if (kind === undefined) {
    const project =
      gcpNameOf(resourceLabels(o).project_id) ??
      gcpNameOf(pathPart(textOf(payload.resourceName, 2048), 'projects')) ??
      projectOfLogName(o.logName);
    const host =
      project !== undefined ? `gcp:${project}` : hostHint !== undefined ? clip(hostHint, MAX_NAME_CHARS) : undefined;
    return { event: logRecordEvent(FORMAT, method, ts, host, originalOf(o, payload), { file, line }) };
  }

  const labels = resourceLabels(o);
  const resourceName = textOf(payload.resourceName, 2048);
  const request = isObject(payload.request) ? payload.request : {};
  const response = isObject(payload.response) ? payload.response : {};
  const project =
    gcpNameOf(labels.project_id) ?? gcpNameOf(pathPart(resourceName, 'projects')) ?? projectOfLogName(o.logName);
  const locations =
    isObject(payload.resourceLocation) && Array.isArray(payload.resourceLocation.currentLocations)
      ? payload.resourceLocation.currentLocations
      : [];
  const zone =
    gcpNameOf(labels.zone) ??
    gcpNameOf(pathPart(resourceName, 'zones')) ??
    gcpNameOf(lastSegment(response.zone)) ??
    [gcpNameOf(labels.location), gcpNameOf(locations[0])].find((l) => l !== undefined && isZone(l));
  const region =
    zone !== undefined
      ? regionOfZone(zone)
      : (gcpNameOf(labels.region) ??
        gcpNameOf(pathPart(resourceName, 'regions')) ??
        gcpNameOf(labels.location) ??
        gcpNameOf(locations[0]));

  const agent = isObject(payload.requestMetadata)
    ? textOf(payload.requestMetadata.callerSuppliedUserAgent, 512)
    : undefined;
  const cloud: CloudFacts = { provider: 'gcp', operation: method };
  if (service !== undefined) cloud.service = service;
  if (project !== undefined) cloud.account = project;
  if (region !== undefined && region !== 'global') cloud.region = region;
  const principal = principalOf(payload, agent);
  if (principal !== undefined) cloud.principal = principal;

  // the instance an instance call names: its name from the path or body, its id from the entry's resource or the operation
  let instance: CloudInstanceFacts | undefined;
  if (
    kind === 'insert' ||
    kind === 'start' ||
    kind === 'delete' ||
    kind === 'set-machine-type' ||
    kind === 'set-metadata'
  ) {
    instance = {};
    const name = gcpNameOf(pathPart(resourceName, 'instances')) ?? gcpNameOf(request.name);
    if (name !== undefined) instance.name = name;
    const id = textOf(labels.instance_id, 32) ?? (kind === 'insert' ? textOf(response.targetId, 32) : undefined);
    if (id !== undefined && /^\d{1,20}$/.test(id)) instance.id = id;
    if (zone !== undefined) instance.zone = zone;
  }
  switch (kind) {
    case 'insert':
      addInstanceProperties(request, cloud, instance);
      cloud.count = 1;
      break;
    case 'bulk-insert': {
      const props = isObject(request.instanceProperties) ? request.instanceProperties : {};
      addInstanceProperties(props, cloud, undefined);
      const count = countOf(request.count);
      if (count !== undefined) cloud.count = count;
      addResource(cloud, 'namePattern', textOf(request.namePattern, 128));
      break;
    }
    case 'set-machine-type':
      if (instance !== undefined) addInstanceProperties({ machineType: request.machineType }, cloud, instance);
      break;
    case 'set-metadata':
    case 'project-metadata': {
      // Compute redacts metadata values in these calls' logs; whatever is left is read
      const items = metadataItems(isObject(request.metadata) ? request.metadata : request);
      const script = bootScriptOf(items);
      if (script !== undefined) cloud.userData = script;
      for (const key of [...items.keys()].slice(0, 16)) addResource(cloud, 'metadata', key);
      break;
    }
    case 'group': {
      const name = lastSegment(pathPart(resourceName, 'instanceGroupManagers')) ?? gcpNameOf(request.name);
      addResource(cloud, 'instanceGroupManager', name);
      addResource(cloud, 'instanceTemplate', lastSegment(request.instanceTemplate));
      const count = countOf(request.targetSize) ?? countOf(request.size) ?? countOf(request.newSize);
      if (count !== undefined) cloud.count = count;
      addResource(cloud, 'baseInstanceName', gcpNameOf(request.baseInstanceName));
      break;
    }
    case 'template': {
      const name = gcpNameOf(request.name) ?? lastSegment(pathPart(resourceName, 'instanceTemplates'));
      addResource(cloud, 'instanceTemplate', name);
      if (isObject(request.properties)) addInstanceProperties(request.properties, cloud, undefined);
      break;
    }
    case 'firewall': {
      addResource(cloud, 'firewall', gcpNameOf(request.name) ?? lastSegment(pathPart(resourceName, 'firewalls')));
      const ranges = Array.isArray(request.sourceRanges) ? request.sourceRanges.slice(0, 8) : [];
      for (const r of ranges) addResource(cloud, 'sourceRange', textOf(r, 64));
      const allowed = Array.isArray(request.allowed) ? request.allowed.slice(0, 8) : [];
      for (const a of allowed) {
        if (!isObject(a)) continue;
        const protocol = textOf(a.IPProtocol, 16) ?? textOf(a.ipProtocol, 16);
        const ports = Array.isArray(a.ports) ? a.ports.slice(0, 8).map((p) => textOf(p, 16)) : [];
        addResource(
          cloud,
          'allowed',
          protocol === undefined ? undefined : `${protocol}:${ports.filter(Boolean).join(',') || 'all'}`,
        );
      }
      break;
    }
    case 'quota':
      addResource(cloud, 'quota', lastSegment(resourceName, 256) ?? textOf(request.name, 256));
      break;
    case 'service': {
      addResource(cloud, 'service', lastSegment(resourceName, 128));
      const ids = Array.isArray(request.serviceIds) ? request.serviceIds.slice(0, 16) : [];
      for (const id of ids) addResource(cloud, 'service', textOf(id, 128));
      break;
    }
    case 'sa-key':
    case 'service-account':
      addResource(
        cloud,
        'serviceAccount',
        pathPart(request.name, 'serviceAccounts') ?? pathPart(resourceName, 'serviceAccounts'),
      );
      addResource(cloud, 'serviceAccountKey', lastSegment(response.name, 128));
      break;
    case 'iam-policy':
      addResource(cloud, 'project', project);
      break;
    default:
      break;
  }
  if (instance !== undefined && Object.keys(instance).length > 0) cloud.instances = [instance];

  const failure = failureOf(payload);
  if (failure !== undefined) {
    cloud.errorCode = failure.code;
    if (failure.message !== undefined) cloud.errorMessage = failure.message;
  }
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: categoryOf(kind),
      type: failure?.denied === true ? [...typeOf(kind, method), 'denied'] : typeOf(kind, method),
      action: 'cloud-change',
      dataset: `${FORMAT}.${method.replace(/^(?:v1|beta|alpha)\./, '')}`,
      outcome: failure !== undefined ? 'failure' : 'success',
    },
    original: originalOf(o, payload),
    coalmine: { ts, format: FORMAT, ref: { file, line }, cloud },
  };
  const insertId = textOf(o.insertId, 128);
  if (insertId !== undefined) event.event.id = insertId;
  const host =
    project !== undefined ? `gcp:${project}` : hostHint !== undefined ? clip(hostHint, MAX_NAME_CHARS) : undefined;
  if (host !== undefined) event.host = { name: host };
  if (principal?.id !== undefined) event.user = { name: principal.id };
  const ip = isObject(payload.requestMetadata) ? ipOf(payload.requestMetadata.callerIp) : undefined;
  if (ip !== undefined) event.source = { ip };
  if (agent !== undefined) event.user_agent = { original: agent };
  const ecsCloud: NonNullable<CoalEvent['cloud']> = { provider: 'gcp' };
  if (project !== undefined) ecsCloud.account = { id: project };
  if (cloud.region !== undefined) ecsCloud.region = cloud.region;
  if (zone !== undefined) ecsCloud.availability_zone = zone;
  if (instance?.id !== undefined || instance?.name !== undefined) {
    ecsCloud.instance = {};
    if (instance.id !== undefined) ecsCloud.instance.id = instance.id;
    if (instance.name !== undefined) ecsCloud.instance.name = instance.name;
  }
  if (cloud.instanceType !== undefined) ecsCloud.machine = { type: cloud.instanceType };
  event.cloud = ecsCloud;

  const op = isObject(o.operation) ? o.operation : undefined;
  const opId = textOf(op?.id, 256);
  const first = op?.first === true;
  const last = op?.last === true;
  // an operation's middle entries, and its entries logged whole (first and last), need no join
  if (opId !== undefined && first !== last) return { event, operation: { id: opId, first, last } };
  return { event };
}

function originalOf(o: Obj, payload: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ORIGINAL_KEYS) if (o[key] !== undefined) out[key] = o[key];
  const p: Record<string, unknown> = {};
  for (const key of PAYLOAD_KEYS) {
    const v = payload[key];
    if (v !== undefined) p[key] = typeof v === 'string' ? clip(v, 2048) : v;
  }
  out.protoPayload = p;
  return out;
}

/**
 * Joins an operation's first entry (what was asked) with its last (how it ended), in either order.
 * The joined event is the first's, at its time, with the last's failure; bounded.
 */
class OperationJoin {
  private readonly pending = new Map<string, Mapped>();

  take(m: Mapped): CoalEvent[] {
    if (m.operation === undefined) return [m.event];
    const other = this.pending.get(m.operation.id);
    if (other === undefined) {
      this.pending.set(m.operation.id, m);
      if (this.pending.size <= MAX_PENDING) return [];
      const [oldestId, oldest] = this.pending.entries().next().value as [string, Mapped];
      this.pending.delete(oldestId);
      return [oldest.event];
    }
    if (other.operation?.first === m.operation.first) return [m.event]; // the same stage twice: both stand alone
    this.pending.delete(m.operation.id);
    const [first, last] = m.operation.first ? [m, other] : [other, m];
    return [joined(first.event, last.event)];
  }

  flush(): CoalEvent[] {
    const left = [...this.pending.values()].map((m) => m.event);
    this.pending.clear();
    return left;
  }
}

function joined(first: CoalEvent, last: CoalEvent): CoalEvent {
  const cloud = first.coalmine.cloud;
  const end = last.coalmine.cloud;
  if (cloud !== undefined && end !== undefined) {
    if (end.errorCode !== undefined) {
      cloud.errorCode = end.errorCode;
      if (end.errorMessage !== undefined) cloud.errorMessage = end.errorMessage;
      first.event.outcome = 'failure';
      if (last.event.type?.includes('denied') && !first.event.type?.includes('denied'))
        first.event.type = [...(first.event.type ?? []), 'denied'];
    }
    // the last entry may name what the first could not (the id of an instance the operation made)
    const [a] = cloud.instances ?? [];
    const [b] = end.instances ?? [];
    if (a !== undefined && b !== undefined) {
      if (a.id === undefined && b.id !== undefined) a.id = b.id;
      if (a.name === undefined && b.name !== undefined) a.name = b.name;
      if (first.cloud?.instance !== undefined) {
        if (a.id !== undefined) first.cloud.instance.id = a.id;
        if (a.name !== undefined) first.cloud.instance.name = a.name;
      }
    }
  }
  first.original = { ...first.original, last: last.original };
  return first;
}

function isAuditEntry(o: unknown): boolean {
  if (!isObject(o)) return false;
  const payload = isObject(o.protoPayload)
    ? o.protoPayload
    : isObject(o.protopayload_auditlog)
      ? o.protopayload_auditlog
      : undefined;
  if (payload !== undefined && payload['@type'] === AUDIT_TYPE) return true;
  return (
    typeof o.logName === 'string' && o.logName.includes('/logs/cloudaudit.googleapis.com%2F') && payload !== undefined
  );
}

const AUDIT_TEXT = /"type\.googleapis\.com\/google\.cloud\.audit\.AuditLog"|\/logs\/cloudaudit\.googleapis\.com%2F/;

export const gcpAudit: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Google Cloud Audit Logs (LogEntry with an AuditLog protoPayload, per line or gcloud logging read arrays): instance, group, template, firewall, quota and key calls',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    if (isJsonDocument(head)) return AUDIT_TEXT.test(head.slice(0, 8192)) && /"protoPayload"\s*:/.test(head) ? 85 : 0;
    return sniffJsonLine(
      head,
      (o) => (isAuditEntry(o) ? 95 : 0),
      (first) => (AUDIT_TEXT.test(first) && /"proto[Pp]ayload(?:_auditlog)?"\s*:/.test(first) ? 70 : 0),
    );
  },
  async *read(input, context) {
    const keep = keepsRecords(context, FORMAT);
    const join = new OperationJoin();
    // `gcloud logging read` prints the newest entry first
    const order = new TimeOrder();
    let out: SourceBatch = { events: [], issues: [], unused: 0 };
    for await (const record of jsonRecords(input, context, CODE, ['entries'])) {
      if ('issue' in record) out.issues.push(record.issue);
      else {
        const mapped = isObject(record.value)
          ? gcpAuditEvent(record.value, input.name, record.line, input.hostHint, keep)
          : 'JSON but not an object';
        if (mapped === 'unused') out.unused = (out.unused ?? 0) + 1;
        else if (typeof mapped === 'string')
          out.issues.push(issue({ file: input.name, line: record.line }, `${CODE}_BAD_RECORD`, mapped));
        else order.push(join.take(mapped));
      }
      if (order.full) {
        for (const events of order.drain(BATCH_EVENTS)) yield { events, issues: [] };
      }
      if (out.issues.length >= BATCH_EVENTS) {
        yield out;
        out = { events: [], issues: [], unused: 0 };
      }
    }
    order.push(join.flush());
    if (order.overflowed) out.issues.push(outOfOrderIssue(input.name, CODE));
    for (const events of order.drain(BATCH_EVENTS)) {
      out.events.push(...events);
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
    if (out.events.length > 0 || out.issues.length > 0 || (out.unused ?? 0) > 0) yield out;
  },
};
