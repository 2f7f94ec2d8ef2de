/**
 * Azure Activity Log, as exported to a storage account (`insights-activity-logs/…/PT1H.json`: one
 * record per line since Nov 2018, a `{"records": […]}` document before, and through Event Hubs) and as
 * `az monitor activity-log list` prints it (an array of camelCase EventData: `operationName.value`,
 * `status.value`, `eventTimestamp`, `httpRequest.clientIpAddress`), or the Python SDK's snake_case of it
 * (`EventData.as_dict()`, one per line, as plaso's Azure collector writes). The calls compute hijacking uses
 * become `cloud-change` events with what they say in `coalmine.cloud`: virtual machine and scale set
 * writes (size, image, zone, NICs, tags, customData/userData decoded, capacity), their start, stop and
 * delete, run commands and extensions, container groups, autoscale actions, role assignments, SSH keys,
 * NSG rules, quota requests and provider registration. Every other operation is counted unused, or kept as a
 * `log-record` when a loaded Sigma rule reads the Activity Log (its own fields).
 * One event per operation: its Start/Accept/Success (or Failure) records share a correlationId, and are
 * joined (bounded) into one at the time it started, with the request body the Start carried and the
 * answer of the last; an operation whose end is not in the file is emitted with outcome unknown.
 * host.name = `azure:<subscription>`.
 */
import type { CloudFacts, CloudInstanceFacts, CoalEvent, WorkloadContainer } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { decodeBase64Text } from '../util/base64.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import {
  type AzureResource,
  azureCloudOf,
  azureMacOf,
  azureRecords,
  azureResourceOf,
  fieldOf,
  regionOf,
  scaleSetOf,
  subscriptionOf,
  TimeOrder,
  vmOf,
} from './azure-fields.js';
import { keepsRecords, logRecordEvent } from './log-record.js';
import { ipOf, isObject, MAX_NAME_CHARS, numberOf, textOf } from './net-fields.js';
import type { SourceBatch, SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'azure-activity';
const CODE = 'AZURE_ACTIVITY';
/** A request or response body is JSON in a string; larger ones are not parsed (the operation still is). */
const MAX_BODY_CHARS = 256 * 1024;
/** Operations whose Start was seen, waiting for their end (oldest emitted first when full). */
const MAX_PENDING = 4096;
const MAX_TAGS = 64;
const MAX_TAG_CHARS = 256;
const MAX_NICS = 16;
const MAX_CONTAINERS = 32;
const MAX_ARGS = 64;
const MAX_SCRIPT_LINES = 256;
const MAX_COUNT = 100_000;
const BATCH_EVENTS = 1000;
/** The caller Azure names when autoscale itself acts. */
const AUTOSCALE_CALLER = 'microsoft.insights/autoscalesettings';
const CLAIM_SPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/spn';

type Kind =
  | 'vm-write'
  | 'vm-state'
  | 'vm-command'
  | 'scale-set-write'
  | 'scale-set-state'
  | 'autoscale'
  | 'containers'
  | 'role'
  | 'ssh-key'
  | 'security-rule'
  | 'quota'
  | 'registration'
  | 'nic-write';

/** Operations kept, lower-cased → how the provider spells it and what it is. */
const OPERATIONS = new Map<string, { name: string; kind: Kind; state?: string }>(
  (
    [
      ['Microsoft.Compute/virtualMachines/write', 'vm-write'],
      ['Microsoft.Compute/virtualMachines/start/action', 'vm-state', 'running'],
      ['Microsoft.Compute/virtualMachines/restart/action', 'vm-state', 'running'],
      ['Microsoft.Compute/virtualMachines/redeploy/action', 'vm-state', 'running'],
      ['Microsoft.Compute/virtualMachines/powerOff/action', 'vm-state', 'stopped'],
      ['Microsoft.Compute/virtualMachines/deallocate/action', 'vm-state', 'deallocated'],
      ['Microsoft.Compute/virtualMachines/delete', 'vm-state', 'deleted'],
      ['Microsoft.Compute/virtualMachines/runCommand/action', 'vm-command'],
      ['Microsoft.Compute/virtualMachines/runCommands/write', 'vm-command'],
      ['Microsoft.Compute/virtualMachines/extensions/write', 'vm-command'],
      ['Microsoft.Compute/virtualMachineScaleSets/write', 'scale-set-write'],
      ['Microsoft.Compute/virtualMachineScaleSets/scale/action', 'scale-set-write'],
      ['Microsoft.Compute/virtualMachineScaleSets/start/action', 'scale-set-state', 'running'],
      ['Microsoft.Compute/virtualMachineScaleSets/powerOff/action', 'scale-set-state', 'stopped'],
      ['Microsoft.Compute/virtualMachineScaleSets/deallocate/action', 'scale-set-state', 'deallocated'],
      ['Microsoft.Compute/virtualMachineScaleSets/delete', 'scale-set-state', 'deleted'],
      ['Microsoft.Compute/virtualMachineScaleSets/extensions/write', 'vm-command'],
      ['Microsoft.Insights/AutoscaleSettings/Scaleup/Action', 'autoscale'],
      ['Microsoft.Insights/AutoscaleSettings/Scaledown/Action', 'autoscale'],
      ['Microsoft.ContainerInstance/containerGroups/write', 'containers'],
      ['Microsoft.Authorization/roleAssignments/write', 'role'],
      ['Microsoft.Authorization/roleAssignments/delete', 'role'],
      ['Microsoft.Compute/sshPublicKeys/write', 'ssh-key'],
      ['Microsoft.Network/networkInterfaces/write', 'nic-write'],
      ['Microsoft.Network/networkSecurityGroups/write', 'security-rule'],
      ['Microsoft.Network/networkSecurityGroups/securityRules/write', 'security-rule'],
      ['Microsoft.Capacity/resourceProviders/locations/serviceLimitsRequests/write', 'quota'],
      ['Microsoft.Capacity/resourceProviders/locations/serviceLimits/write', 'quota'],
      ['Microsoft.Quota/quotas/write', 'quota'],
      ['Microsoft.Quota/quotaRequests/write', 'quota'],
    ] as Array<[string, Kind, string?]>
  ).map(([name, kind, state]) => [name.toLowerCase(), { name, kind, state }]),
);

/** Resource provider namespaces as Azure spells them (the storage export writes operations in upper case). */
const NAMESPACES = new Map(
  [
    'Microsoft.Compute',
    'Microsoft.Network',
    'Microsoft.Capacity',
    'Microsoft.Quota',
    'Microsoft.Insights',
    'Microsoft.Authorization',
    'Microsoft.ContainerInstance',
    'Microsoft.ContainerService',
    'Microsoft.Batch',
    'Microsoft.MachineLearningServices',
    'Microsoft.Resources',
    'Microsoft.Features',
  ].map((n) => [n.toLowerCase(), n]),
);

/** What an operation name is to us: a kept operation (the table, quota reads and provider registrations), or undefined. */
function operationOf(raw: string): { name: string; kind: Kind; state?: string } | undefined {
  const lower = raw.toLowerCase();
  const known = OPERATIONS.get(lower);
  if (known !== undefined) return known;
  // quota and usage calls (probing how many GPU cores a region allows) and registering a resource provider
  // or feature (a fresh subscription must register Microsoft.Compute before its first VM) are kept as they are named
  if (lower.startsWith('microsoft.quota/') || lower.startsWith('microsoft.capacity/') || lower.includes('/usages/'))
    return { name: raw, kind: 'quota' };
  if (lower.endsWith('/register/action')) {
    const namespace = lower.slice(0, lower.indexOf('/'));
    const spelled = NAMESPACES.get(namespace);
    const name = spelled !== undefined && lower === `${namespace}/register/action` ? `${spelled}/register/action` : raw;
    return { name, kind: 'registration' };
  }
  return undefined;
}

type Stage = 'start' | 'accept' | 'success' | 'failure' | 'unknown';

/** resultType (storage) or status.value (CLI) → the stage of the operation. */
function stageOf(v: unknown): Stage {
  const s = textOf(v, 32)?.toLowerCase();
  switch (s) {
    case 'start':
    case 'started':
      return 'start';
    case 'accept':
    case 'accepted':
      return 'accept';
    case 'success':
    case 'succeeded':
    case 'resolved':
      return 'success';
    case 'failure':
    case 'failed':
    case 'canceled':
    case 'cancelled':
      return 'failure';
    default:
      return 'unknown';
  }
}

/** What the finding shows of a script (CloudFacts.userData). */
const MAX_SCRIPT_CHARS = 4096;
/** Azure takes 64 KiB of customData once encoded; longer is read from its start. */
const MAX_RAW_SCRIPT_CHARS = 96 * 1024;

/** A script as the VM runs it: decoded when it is base64 of text (customData, userData), else as written; clipped. */
function startupScriptOf(v: unknown): string | undefined {
  const text = textOf(v, MAX_RAW_SCRIPT_CHARS);
  if (text === undefined || text.trim() === '') return undefined;
  return clip(decodeBase64Text(text) ?? text, MAX_SCRIPT_CHARS);
}

/** `value` of a CLI `{value, localizedValue}` pair, or the plain string of the storage form. */
function namedValue(v: unknown, max = MAX_NAME_CHARS): string | undefined {
  return isObject(v) ? textOf(v.value, max) : textOf(v, max);
}

/** A JSON body logged as a string (requestbody, responseBody, statusMessage), parsed when it is an object. */
function bodyOf(v: unknown): Obj | undefined {
  if (isObject(v)) return v;
  if (typeof v !== 'string' || v.length > MAX_BODY_CHARS || !v.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function tagsOf(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const tags: Record<string, string> = {};
  let n = 0;
  for (const [key, value] of Object.entries(v)) {
    if (n >= MAX_TAGS) break;
    const text = textOf(value, MAX_TAG_CHARS);
    if (key === '' || key.length > MAX_TAG_CHARS || text === undefined) continue;
    tags[key] = text;
    n++;
  }
  return n > 0 ? tags : undefined;
}

/** `publisher:offer:sku:version` (the CLI's URN), or a gallery/custom image id. */
function imageOf(storageProfile: unknown): string | undefined {
  const ref = fieldOf(storageProfile, 'imageReference');
  if (!isObject(ref)) return undefined;
  const parts = ['publisher', 'offer', 'sku', 'version'].map((k) => textOf(fieldOf(ref, k), 128));
  if (parts[0] !== undefined && parts[1] !== undefined && parts[2] !== undefined)
    return parts.map((p) => p ?? 'latest').join(':');
  for (const key of ['id', 'communityGalleryImageId', 'sharedGalleryImageId'])
    if (textOf(fieldOf(ref, key)) !== undefined) return textOf(fieldOf(ref, key), 1024)?.toLowerCase();
  return undefined;
}

function countOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT ? n : undefined;
}

/** The script of a run command (`script` lines or `source.script`), or of a script extension's public settings. */
function commandScriptOf(props: unknown, body: Obj): string | undefined {
  const lines = fieldOf(body, 'script') ?? fieldOf(fieldOf(props, 'source'), 'script');
  if (Array.isArray(lines)) {
    const text = lines
      .slice(0, MAX_SCRIPT_LINES)
      .map((l) => textOf(l) ?? '')
      .join('\n');
    return startupScriptOf(text);
  }
  if (typeof lines === 'string') return startupScriptOf(lines);
  const settings = fieldOf(props, 'settings');
  return startupScriptOf(fieldOf(settings, 'commandToExecute') ?? fieldOf(settings, 'script'));
}

function containersOf(props: unknown): WorkloadContainer[] | undefined {
  const list = fieldOf(props, 'containers');
  if (!Array.isArray(list)) return undefined;
  const out: WorkloadContainer[] = [];
  for (const item of list.slice(0, MAX_CONTAINERS)) {
    const c = fieldOf(item, 'properties');
    const container: WorkloadContainer = {};
    const name = textOf(fieldOf(item, 'name'), MAX_NAME_CHARS);
    if (name !== undefined) container.name = name;
    const image = textOf(fieldOf(c, 'image'), 512);
    if (image !== undefined) container.image = image;
    const command = fieldOf(c, 'command');
    if (Array.isArray(command))
      container.command = command.slice(0, MAX_ARGS).flatMap((a) => {
        const t = textOf(a, 1024);
        return t === undefined ? [] : [t];
      });
    const env = fieldOf(c, 'environmentVariables');
    if (Array.isArray(env))
      container.env = env.slice(0, MAX_ARGS).flatMap((e) => {
        const k = textOf(fieldOf(e, 'name'), 128);
        if (k === undefined) return [];
        const v = textOf(fieldOf(e, 'value'), 256);
        return [`${k}=${v ?? '(secure)'}`];
      });
    const cpu = numberOf(fieldOf(fieldOf(fieldOf(c, 'resources'), 'requests'), 'cpu'));
    if (cpu !== undefined && cpu > 0 && cpu <= 1024) container.cpuRequestCores = cpu;
    const limit = numberOf(fieldOf(fieldOf(fieldOf(c, 'resources'), 'limits'), 'cpu'));
    if (limit !== undefined && limit > 0 && limit <= 1024) container.cpuLimitCores = limit;
    if (Object.keys(container).length > 0) out.push(container);
  }
  return out.length > 0 ? out : undefined;
}

/** The error of a failed call: statusMessage's `{"error": {code, message}}`, else the status code. */
function errorOf(props: Obj | undefined, subStatus: string | undefined): { code?: string; message?: string } {
  const message = bodyOf(fieldOf(props, 'statusMessage'));
  const error = fieldOf(message, 'error');
  const code = textOf(fieldOf(error, 'code'), 128);
  const text = textOf(fieldOf(error, 'message'), 1024);
  if (code !== undefined) return { code, message: text };
  const status = textOf(fieldOf(props, 'statusCode'), 64) ?? subStatus;
  return status !== undefined ? { code: status } : {};
}

const CLAIM_OID = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const CLAIM_UPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';

interface Principal {
  id?: string;
  type?: string;
  objectId?: string;
  appId?: string;
  invokedBy?: string;
}

/** Who called: the caller (UPN, object id, or the service acting), else the token's UPN or object id. */
function principalOf(caller: string | undefined, claims: Obj | undefined): Principal {
  const p: Principal = {};
  const oid = textOf(claims?.[CLAIM_OID], 64) ?? textOf(claims?.oid, 64);
  const upn = textOf(claims?.[CLAIM_UPN], MAX_NAME_CHARS) ?? textOf(claims?.upn, MAX_NAME_CHARS);
  const appId = textOf(claims?.appid, 64) ?? textOf(claims?.azp, 64);
  const idType = textOf(claims?.idtyp, 16)?.toLowerCase();
  // the storage export has no `caller`: an Azure service acting (autoscale) is named by its token's spn claim
  const spn = textOf(claims?.[CLAIM_SPN], MAX_NAME_CHARS);
  const service = [caller, spn].find((x) => x !== undefined && x.toLowerCase() === AUTOSCALE_CALLER);
  p.id = caller ?? service ?? upn ?? oid ?? appId;
  if (oid !== undefined) p.objectId = oid;
  if (appId !== undefined) p.appId = appId;
  if (service !== undefined) {
    p.type = 'AzureService';
    p.invokedBy = service;
  } else if (idType === 'app' || (upn === undefined && appId !== undefined && claims !== undefined)) {
    p.type = 'ServicePrincipal';
  } else if (upn !== undefined || idType === 'user') p.type = 'User';
  return p;
}

interface Mapped {
  event: CoalEvent;
  stage: Stage;
  /** correlationId + operation + resource: the records of one operation. */
  key?: string;
}

interface Where {
  file: string;
  line: number;
  hostHint?: string;
  /** An operation no analytic reads becomes a `log-record` for the Sigma rules (SourceContext.keepRecord). */
  keep?: boolean;
}

/** One Activity Log record as a cloud-change, `'unused'` for an operation no analytic reads, or why it is not one. */
const SNAKE_LETTER = /_([a-z0-9])/g;

/** A snake_case name in camelCase: `operation_name` → `operationName`. */
function camelName(key: string): string {
  return key.replace(SNAKE_LETTER, (_, c: string) => c.toUpperCase());
}

/** An object's own keys (at most 256) in camelCase; a `__proto__` key is dropped, never a prototype. */
function camelKeys(o: Obj): Obj {
  const out: Obj = {};
  let seen = 0;
  for (const key of Object.keys(o)) {
    if (++seen > 256) break;
    const name = camelName(key);
    if (name === '__proto__' || Object.hasOwn(out, name)) continue;
    out[name] = o[key];
  }
  return out;
}

/**
 * The Python SDK's `EventData.as_dict()` (azure-mgmt-monitor; plaso's Azure collector writes it) names
 * each field in snake_case (`operation_name`, `event_timestamp`, `resource_id`, `http_request.client_ip_address`):
 * read as the CLI's camelCase record. Nested bodies keep their names (claims are URLs, properties camelCase).
 */
function asCliRecord(o: Obj): Obj {
  if (o.operationName !== undefined || o.operation_name === undefined) return o;
  const out = camelKeys(o);
  if (isObject(out.httpRequest)) out.httpRequest = camelKeys(out.httpRequest);
  return out;
}

export function azureActivityEvent(record: Obj, where: Where): Mapped | 'unused' | string {
  const o = asCliRecord(record);
  const rawOperation = namedValue(o.operationName, 256);
  if (rawOperation === undefined) return 'no operationName';
  const op = operationOf(rawOperation);
  if (op === undefined && !where.keep) return 'unused';
  const timeField = o.time !== undefined ? o.time : o.eventTimestamp;
  if (timeField === undefined) return 'no time or eventTimestamp';
  const ts = parseTimestamp(timeField);
  if (ts === undefined) return `time ${clip(JSON.stringify(timeField) ?? '', 60)} is not a time`;

  const resource: AzureResource | undefined = azureResourceOf(o.resourceId);
  const subscription = resource?.subscription ?? subscriptionOf(o.subscriptionId);
  if (op === undefined) {
    const host = subscription !== undefined ? `azure:${subscription}` : where.hostHint;
    const ref = { file: where.file, line: where.line };
    const event = logRecordEvent(FORMAT, rawOperation, ts, host && clip(host, MAX_NAME_CHARS), originalOf(o), ref);
    return { event, stage: 'unknown' };
  }
  const stage = stageOf(o.resultType !== undefined ? o.resultType : namedValue(o.status, 32));
  const props = isObject(o.properties) ? o.properties : undefined;
  const request = bodyOf(fieldOf(props, 'requestbody'));
  const response = bodyOf(fieldOf(props, 'responseBody'));
  const identity = isObject(o.identity) ? o.identity : undefined;
  const claims = isObject(o.claims) ? o.claims : isObject(identity?.claims) ? identity.claims : undefined;
  const principal = principalOf(textOf(o.caller, MAX_NAME_CHARS), claims);

  const facts: CloudFacts = { provider: 'azure', operation: op.name };
  const namespace = op.name.slice(0, op.name.indexOf('/'));
  if (namespace !== '') facts.service = NAMESPACES.get(namespace.toLowerCase()) ?? namespace;
  if (subscription !== undefined) facts.account = subscription;
  const region =
    regionOf(fieldOf(request, 'location')) ?? regionOf(fieldOf(response, 'location')) ?? regionOf(o.location);
  if (region !== undefined) facts.region = region;
  const factsPrincipal: NonNullable<CloudFacts['principal']> = {};
  if (principal.id !== undefined) factsPrincipal.id = principal.id;
  if (principal.type !== undefined) factsPrincipal.type = principal.type;
  // a service principal signs in with its application id and a secret or certificate: the app id names the key
  if (principal.type === 'ServicePrincipal' && principal.appId !== undefined)
    factsPrincipal.accessKeyId = principal.appId;
  if (principal.invokedBy !== undefined) factsPrincipal.invokedBy = principal.invokedBy;
  if (Object.keys(factsPrincipal).length > 0) facts.principal = factsPrincipal;

  // the body of the request (Start), else of the answer (Success): ARM echoes the resource it made
  const body = request ?? response;
  const bodyProps = fieldOf(body, 'properties');
  const resources: Array<{ type: string; name: string }> = [];
  if (resource?.resourceGroup !== undefined) resources.push({ type: 'resource-group', name: resource.resourceGroup });
  let instance: { id: string; name: string } | undefined;
  const vm = vmOf(resource);
  const scaleSet = scaleSetOf(resource);

  if (op.kind === 'vm-write' || op.kind === 'vm-state' || op.kind === 'vm-command') {
    // what a write asks for counts even when its resource id cannot be read
    const vmFacts: CloudInstanceFacts | undefined = vm !== undefined ? { id: vm.id, name: vm.name } : undefined;
    if (op.kind === 'vm-write') {
      addVmProfile(vmFacts, facts, bodyProps, body);
      facts.count = 1;
    }
    if (vmFacts !== undefined) {
      instance = vm;
      if (op.state !== undefined) vmFacts.state = op.state;
      facts.instances = [vmFacts];
    }
    if (op.kind === 'vm-command') {
      const script = commandScriptOf(bodyProps, body ?? {});
      if (script !== undefined) facts.userData = script;
    }
    if (scaleSet !== undefined) resources.push({ type: 'scale-set', name: scaleSet.name });
  } else if (op.kind === 'scale-set-write' || op.kind === 'scale-set-state') {
    if (scaleSet !== undefined) resources.push({ type: 'scale-set', name: scaleSet.name });
    const sku = fieldOf(body, 'sku');
    const size = textOf(fieldOf(sku, 'name'), 128);
    if (size !== undefined) facts.instanceType = size;
    const capacity = countOf(fieldOf(sku, 'capacity')) ?? countOf(fieldOf(body, 'capacity'));
    if (capacity !== undefined) facts.count = capacity;
    const profile = fieldOf(bodyProps, 'virtualMachineProfile');
    if (profile !== undefined) addVmProfile(undefined, facts, profile, undefined);
  } else if (op.kind === 'autoscale') {
    // Autoscale's own record: properties name the scale set and the counts before and after
    const target = azureResourceOf(fieldOf(props, 'ResourceName'));
    const set = scaleSetOf(target);
    if (set !== undefined) resources.push({ type: 'scale-set', name: set.name });
    const after = countOf(fieldOf(props, 'NewInstancesCount'));
    if (after !== undefined) facts.count = after;
    if (facts.principal === undefined) facts.principal = { invokedBy: 'Microsoft.Insights/autoscaleSettings' };
  } else if (op.kind === 'containers') {
    const containers = containersOf(bodyProps);
    if (containers !== undefined) facts.containers = containers;
    const group = resource?.path[0];
    if (group !== undefined) resources.push({ type: 'container-group', name: group[1] });
  } else if (op.kind === 'role') {
    const role = textOf(fieldOf(bodyProps, 'roleDefinitionId'), 1024);
    if (role !== undefined) resources.push({ type: 'role', name: role.slice(role.lastIndexOf('/') + 1).toLowerCase() });
    const assignee = textOf(fieldOf(bodyProps, 'principalId'), 64);
    if (assignee !== undefined) resources.push({ type: 'assignee', name: assignee });
  } else if (op.kind === 'ssh-key') {
    const key = resource?.path[0];
    if (key !== undefined) resources.push({ type: 'key-pair', name: key[1] });
  } else if (op.kind === 'security-rule') {
    addRules(resources, resource, bodyProps);
  } else if (op.kind === 'quota') {
    const name = namedValue(fieldOf(bodyProps, 'name'), 128) ?? resource?.path.at(-1)?.[1];
    if (name !== undefined) resources.push({ type: 'quota', name });
    const limit = countOf(namedValue(fieldOf(bodyProps, 'limit'), 32) ?? fieldOf(fieldOf(bodyProps, 'limit'), 'limit'));
    if (limit !== undefined) facts.count = limit;
    const location = resource?.path.find(([type]) => type === 'locations')?.[1];
    if (facts.region === undefined && regionOf(location) !== undefined) facts.region = regionOf(location);
  } else if (op.kind === 'nic-write') {
    // the addresses a VM's NIC holds: NSG flow logs name VMs only by them (and by MAC, once the VM runs)
    const nic = resource?.path[0]?.[0] === 'networkinterfaces' ? resource.id : undefined;
    if (nic !== undefined) {
      const entry: NonNullable<CloudFacts['interfaces']>[number] = { id: nic };
      const mac = azureMacOf(fieldOf(bodyProps, 'macAddress'));
      if (mac !== undefined) entry.mac = mac;
      const configs = fieldOf(bodyProps, 'ipConfigurations');
      const ips = Array.isArray(configs)
        ? configs.slice(0, MAX_NICS).flatMap((c) => {
            const ip = ipOf(fieldOf(fieldOf(c, 'properties'), 'privateIPAddress'));
            return ip === undefined ? [] : [ip];
          })
        : [];
      if (ips.length > 0) entry.privateIps = ips;
      facts.interfaces = [entry];
    }
  } else if (op.kind === 'registration') {
    resources.push({ type: 'provider', name: op.name.slice(0, op.name.length - '/register/action'.length) });
  }
  if (resources.length > 0) facts.resources = resources;
  const tags = tagsOf(fieldOf(body, 'tags'));
  if (tags !== undefined) facts.tags = tags;

  const final = stage === 'success' || stage === 'failure';
  if (stage === 'failure') {
    const error = errorOf(props, namedValue(o.subStatus, 64));
    if (error.code !== undefined) facts.errorCode = error.code;
    if (error.message !== undefined) facts.errorMessage = error.message;
  }
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: op.kind === 'role' || op.kind === 'ssh-key' ? ['iam'] : ['configuration'],
      type: typeOf(op.name, stage),
      action: 'cloud-change',
      dataset: `${FORMAT}.${op.name}`,
      outcome: stage === 'failure' ? 'failure' : final ? 'success' : 'unknown',
    },
    original: originalOf(o),
    coalmine: { ts, format: FORMAT, ref: { file: where.file, line: where.line }, cloud: facts },
  };
  const eventId = textOf(o.eventDataId, 128) ?? textOf(o.correlationId, 128);
  if (eventId !== undefined) event.event.id = eventId;
  const host = subscription !== undefined ? `azure:${subscription}` : where.hostHint;
  if (host !== undefined) event.host = { name: clip(host, MAX_NAME_CHARS) };
  if (principal.id !== undefined)
    event.user =
      principal.objectId !== undefined && principal.objectId !== principal.id
        ? { name: principal.id, id: principal.objectId }
        : { name: principal.id };
  const ip =
    ipOf(o.callerIpAddress) ??
    (isObject(o.httpRequest) ? ipOf(o.httpRequest.clientIpAddress) : undefined) ??
    ipOf(claims?.ipaddr);
  if (ip !== undefined) event.source = { ip };
  event.cloud = azureCloudOf(subscription, facts.region, instance);
  if (facts.instances?.[0]?.type !== undefined) event.cloud.machine = { type: facts.instances[0].type };
  else if (facts.instanceType !== undefined) event.cloud.machine = { type: facts.instanceType };
  if (facts.instances?.[0]?.zone !== undefined) event.cloud.availability_zone = facts.instances[0].zone;

  const correlation = textOf(o.correlationId, 128);
  const key = correlation !== undefined ? `${correlation}|${op.name.toLowerCase()}|${resource?.id ?? ''}` : undefined;
  return { event, stage, key };
}

/** A VM's (or a scale set's VM profile's) size, image, zone, NICs and startup script, into the instance and the call. */
function addVmProfile(
  instance: CloudInstanceFacts | undefined,
  facts: CloudFacts,
  props: unknown,
  body: unknown,
): void {
  const size = textOf(fieldOf(fieldOf(props, 'hardwareProfile'), 'vmSize'), 128);
  if (size !== undefined) {
    facts.instanceType = size;
    if (instance) instance.type = size;
  }
  const image = imageOf(fieldOf(props, 'storageProfile'));
  if (image !== undefined) {
    facts.image = image;
    if (instance) instance.image = image;
  }
  const zones = fieldOf(body, 'zones');
  const zone = Array.isArray(zones) ? textOf(zones[0], 16) : undefined;
  if (zone !== undefined && instance) instance.zone = zone;
  const nics = fieldOf(fieldOf(props, 'networkProfile'), 'networkInterfaces');
  if (Array.isArray(nics) && instance) {
    const ids = nics.slice(0, MAX_NICS).flatMap((n) => {
      const id = azureResourceOf(fieldOf(n, 'id'))?.id;
      return id === undefined ? [] : [id];
    });
    if (ids.length > 0) instance.interfaces = ids;
  }
  const tags = tagsOf(fieldOf(body, 'tags'));
  if (tags !== undefined && instance) instance.tags = tags;
  // userData (any time) or customData (cloud-init at first boot): the script the VM runs
  const script =
    startupScriptOf(fieldOf(props, 'userData')) ?? startupScriptOf(fieldOf(fieldOf(props, 'osProfile'), 'customData'));
  if (script !== undefined) facts.userData = script;
}

/** An NSG rule's name and, for one that lets traffic in, `source → ports/protocol`. */
function addRules(
  resources: Array<{ type: string; name: string }>,
  resource: AzureResource | undefined,
  props: unknown,
): void {
  const nsg = resource?.path[0];
  if (nsg !== undefined) resources.push({ type: 'security-group', name: nsg[1] });
  const rule = resource?.path[1];
  if (rule !== undefined) resources.push({ type: 'security-rule', name: rule[1] });
  const direction = textOf(fieldOf(props, 'direction'), 16)?.toLowerCase();
  const access = textOf(fieldOf(props, 'access'), 16)?.toLowerCase();
  if (direction !== 'inbound' || access !== 'allow') return;
  const from = textOf(fieldOf(props, 'sourceAddressPrefix'), 64) ?? '*';
  const ports = textOf(fieldOf(props, 'destinationPortRange'), 64) ?? '*';
  const protocol = textOf(fieldOf(props, 'protocol'), 16) ?? '*';
  resources.push({ type: 'ingress', name: `${from} -> ${ports}/${protocol.toLowerCase()}` });
}

function typeOf(operation: string, stage: Stage): string[] {
  const lower = operation.toLowerCase();
  const type = lower.endsWith('/delete')
    ? ['deletion']
    : lower.endsWith('/start/action')
      ? ['start']
      : lower.endsWith('/write')
        ? ['change']
        : ['info'];
  return stage === 'failure' ? [...type, 'denied'] : type;
}

/** Top-level keys kept in `original`; properties keep only their small facts (bodies are summarised in coalmine.cloud). */
const ORIGINAL_KEYS = [
  'time',
  'eventTimestamp',
  'resourceId',
  'operationName',
  'category',
  'resultType',
  'resultSignature',
  'status',
  'subStatus',
  'caller',
  'callerIpAddress',
  'correlationId',
  'eventDataId',
  'level',
  'location',
  'subscriptionId',
];
const ORIGINAL_PROPERTIES = ['statusCode', 'statusMessage', 'eventCategory', 'entity', 'message'];

function originalOf(o: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ORIGINAL_KEYS) {
    const v = o[key];
    if (typeof v === 'string') out[key] = clip(v, 2048);
    else if (typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (isObject(v) && textOf(v.value) !== undefined) out[key] = { value: textOf(v.value, 512) };
  }
  if (isObject(o.properties)) {
    const props: Record<string, unknown> = {};
    for (const key of ORIGINAL_PROPERTIES) {
      const v = textOf(o.properties[key], 2048);
      if (v !== undefined) props[key] = v;
    }
    out.properties = props;
  }
  return out;
}

/** Fill what the later record lacks from the earlier one of the same operation; the time is when it started. */
function mergeInto(later: CoalEvent, earlier: CoalEvent): CoalEvent {
  const a = later.coalmine.cloud;
  const b = earlier.coalmine.cloud;
  if (a !== undefined && b !== undefined) {
    for (const key of Object.keys(b) as Array<keyof CloudFacts>)
      if (a[key] === undefined) (a as unknown as Record<string, unknown>)[key] = b[key];
    if (a.instances !== undefined && b.instances !== undefined)
      a.instances = a.instances.map((inst, i) => ({ ...b.instances?.[i], ...inst }));
  }
  if (later.source === undefined && earlier.source !== undefined) later.source = earlier.source;
  if (later.user === undefined && earlier.user !== undefined) later.user = earlier.user;
  if (later.cloud !== undefined && earlier.cloud !== undefined) later.cloud = { ...earlier.cloud, ...later.cloud };
  if (earlier.coalmine.ts < later.coalmine.ts) {
    later.coalmine.ts = earlier.coalmine.ts;
    later['@timestamp'] = earlier['@timestamp'];
  }
  return later;
}

/**
 * Joins the records of one operation (bounded): see the file comment. A file may list an operation's
 * end before its start (`az monitor activity-log list` prints the newest first), so an end whose start
 * was not seen is held too, and a start read after it is merged into it.
 */
class OperationJoiner {
  /** Operations whose start was seen, waiting for their end. */
  private readonly pending = new Map<string, CoalEvent>();
  /** Operations whose end was seen first, waiting for their start further down a newest-first file. */
  private readonly ended = new Map<string, CoalEvent>();

  take(m: Mapped): CoalEvent[] {
    if (m.key === undefined) return [m.event];
    const final = m.stage === 'success' || m.stage === 'failure' || m.stage === 'unknown';
    const ended = this.ended.get(m.key);
    if (ended !== undefined && !final) {
      // an earlier stage of an operation whose end came first: what it asked for fills the end's gaps
      mergeInto(ended, m.event);
      return [];
    }
    const earlier = this.pending.get(m.key);
    this.pending.delete(m.key);
    if (final) {
      if (earlier !== undefined) return [mergeInto(m.event, earlier)];
      return held(this.ended, m.key, m.event);
    }
    return held(this.pending, m.key, earlier !== undefined ? mergeInto(m.event, earlier) : m.event);
  }

  /** Operations whose other end the file does not hold: what they said is all there is. */
  flush(): CoalEvent[] {
    const left = [...this.pending.values(), ...this.ended.values()];
    this.pending.clear();
    this.ended.clear();
    return left;
  }
}

/** Holds an operation under its key (latest last); when over the bound, gives back the oldest held. */
function held(map: Map<string, CoalEvent>, key: string, event: CoalEvent): CoalEvent[] {
  const before = map.get(key);
  map.delete(key);
  map.set(key, event);
  // a second end of one key (a retried call): the first is given, not lost
  if (before !== undefined && before !== event) return [before];
  if (map.size <= MAX_PENDING) return [];
  const [oldestKey, oldest] = map.entries().next().value as [string, CoalEvent];
  map.delete(oldestKey);
  return [oldest];
}

/** The first record's text: an Activity Log record names an ARM operation on a subscription's resource. */
// the CLI's and exports' camelCase, or the Python SDK's snake_case
const OPERATION_KEY = /"operation_?[Nn]ame"\s*:/;
const ACTIVITY_KEY =
  /"(?:resultType|resultSignature|correlationId|eventDataId|callerIpAddress|correlation_id|event_data_id)"\s*:/;
const SUBSCRIPTION_ID = /"resource_?[Ii]d"\s*:\s*"\/subscriptions\//i;
const OTHER_AZURE =
  /"(?:flowTuples|flowRecords|metricName|timeseries)"|"category"\s*:\s*"(?:NetworkSecurityGroupFlowEvent|FlowLogFlowEvent)"/;

export const azureActivity: SourceDescriptor = {
  name: FORMAT,
  summary:
    'Azure Activity Log (storage export, Event Hubs, az monitor activity-log list): VM, scale set, role, quota calls',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const text = head.slice(0, 16 * 1024);
    if (!/^\s*[[{]/.test(text) || OTHER_AZURE.test(text)) return 0;
    return OPERATION_KEY.test(text) && ACTIVITY_KEY.test(text) && SUBSCRIPTION_ID.test(text) ? 80 : 0;
  },
  async *read(input, context) {
    const order = new TimeOrder();
    const joiner = new OperationJoiner();
    let out: SourceBatch = { events: [], issues: [], unused: 0 };
    const hostHint = input.hostHint;
    const keep = keepsRecords(context, FORMAT);
    const issues = (i: Issue) => out.issues.push(i);
    for await (const items of azureRecords(input, context, CODE)) {
      for (const item of items) {
        if ('issue' in item) {
          issues(item.issue);
          continue;
        }
        const where: Where = { file: input.name, line: item.line, hostHint, keep };
        const mapped = isObject(item.value) ? azureActivityEvent(item.value, where) : 'JSON but not an object';
        if (mapped === 'unused') out.unused = (out.unused ?? 0) + 1;
        else if (typeof mapped === 'string')
          issues(issue({ file: input.name, line: item.line }, `${CODE}_BAD_RECORD`, mapped));
        else order.push(joiner.take(mapped));
      }
      if (order.full) {
        for (const events of order.drain(BATCH_EVENTS)) yield { events, issues: [] };
      }
      if (out.issues.length >= BATCH_EVENTS) {
        yield out;
        out = { events: [], issues: [], unused: 0 };
      }
    }
    order.push(joiner.flush());
    if (order.overflowed)
      out.issues.push(
        issue(
          { file: input.name, line: 1 },
          `${CODE}_OUT_OF_ORDER`,
          'more events than are held to sort a file: given in runs, each in time order',
          'reading',
        ),
      );
    for (const events of order.drain(BATCH_EVENTS)) {
      out.events.push(...events);
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
    if (out.events.length > 0 || out.issues.length > 0 || (out.unused ?? 0) > 0) yield out;
  },
};
