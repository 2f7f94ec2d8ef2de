/**
 * AWS CloudTrail: S3 delivery files (`{"Records":[…]}`, one line or pretty-printed, read one record at
 * a time), `aws cloudtrail lookup-events` output (`{"Events":[…]}`, the record is the JSON string in
 * `CloudTrailEvent`), a JSON array of records, and one record per line (CloudTrail Lake and SIEM
 * exports, EventBridge "AWS API Call via CloudTrail" events). The calls that start, shape or prepare
 * compute become `cloud-change` events with what the request and response say in `coalmine.cloud`
 * (instances with their ids, types, images, addresses, interfaces and tags; count; userData decoded;
 * fleets, groups, templates, task definitions, key pairs, ingress, quotas, regions); every other call is
 * counted unused, or kept as a `log-record` when a loaded Sigma rule reads CloudTrail (its own fields). A failed call (any `errorCode`) is kept as a failure: a denied attempt is evidence.
 * The host is `aws:<account>`.
 */
import type { CloudFacts, CloudInstanceFacts, CoalEvent, WorkloadContainer } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { decodeBase64Text } from '../util/base64.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { jsonDocumentRecords } from './json-document.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import { keepsRecords, logRecordEvent } from './log-record.js';
import { ipOf, isObject, MAX_NAME_CHARS, numberOf, textOf } from './net-fields.js';
import { outOfOrderIssue, TimeOrder } from './time-order.js';
import type { SourceContext, SourceDescriptor, SourceInput } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'cloudtrail';
const CODE = 'CLOUDTRAIL';
const DEFAULT_HOST = 'aws';
/** A RunInstances response for hundreds of instances runs to megabytes; more is no record AWS writes. */
const MAX_RECORD_BYTES = 8 * 1024 * 1024;
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;
const MAX_RECORDS = 10_000_000;
/** Records of a `{"Records":[…]}` envelope met on one line of a line-per-record file. */
const MAX_LINE_RECORDS = 10_000;
const BATCH_EVENTS = 1000;
const MAX_INSTANCES = 256;
const MAX_LIST = 256;
const MAX_RESOURCES = 32;
const MAX_TAGS = 64;
const MAX_ADDRESSES = 16;
const MAX_CONTAINERS = 64;
const MAX_ARGS = 128;
const MAX_ENV = 64;
const MAX_ID_CHARS = 256;
const MAX_ARN_CHARS = 2048;
/** The decoded script kept (the convention for every cloud reader). */
const MAX_SCRIPT_CHARS = 4096;
/** EC2 takes 16 KiB of user data, base64 makes it 4/3 longer: a longer value is no launch AWS accepted. */
const MAX_USER_DATA_CHARS = 22 * 1024;
/** Parts of the record kept whole in `original` when they are this small; responses are summarised. */
const MAX_ORIGINAL_PART_CHARS = 16 * 1024;
const ORIGINAL_KEYS = [
  'eventVersion',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestID',
  'eventID',
  'eventType',
  'readOnly',
  'managementEvent',
  'eventCategory',
  'recipientAccountId',
  'sharedEventID',
  'vpcEndpointId',
  'userIdentity',
  'requestParameters',
  'responseElements',
  'additionalEventData',
];

interface Where {
  file: string;
  line: number;
  host?: string;
  /** A call no analytic reads becomes a `log-record` for the Sigma rules (SourceContext.keepRecord). */
  keep?: boolean;
}

/** What one call becomes: the service it must come from, its ECS type and category, and its facts. */
interface Operation {
  service: string;
  type: string;
  iam?: boolean;
  facts: (f: CloudFacts, req: Obj, resp: Obj, notes: string[]) => void;
}

// ---------------------------------------------------------------------------------------------------
// hostile-shape helpers: EC2's query API logs lists as `{items:[…]}`, `{item: x | […]}` or arrays, and
// its newer calls log PascalCase request members; every lookup takes either spelling and any shape.

/** `o[name]`, else the first key equal to it ignoring case (records are not schema-bound). */
function field(o: unknown, ...names: string[]): unknown {
  if (!isObject(o)) return undefined;
  for (const name of names) if (o[name] !== undefined) return o[name];
  const wanted = names.map((n) => n.toLowerCase());
  let seen = 0;
  for (const key in o) {
    if (++seen > 256) break;
    if (wanted.includes(key.toLowerCase())) return o[key];
  }
  return undefined;
}

function objectOf(v: unknown): Obj {
  return isObject(v) ? v : {};
}

/** The members of a list however EC2 logged it: an array, `{items:[…]}`, `{item: x|[…]}`, or one object. */
function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v.slice(0, MAX_LIST);
  if (!isObject(v)) return [];
  const inner = field(v, 'items', 'item');
  if (inner !== undefined) return Array.isArray(inner) ? inner.slice(0, MAX_LIST) : [inner];
  return Object.keys(v).length > 0 ? [v] : [];
}

/** A string field (ids, names and types are strings: a number there is a wrong type, dropped). */
function textAt(o: unknown, max: number, ...names: string[]): string | undefined {
  const v = field(o, ...names);
  return typeof v === 'string' ? textOf(v, max) : undefined;
}

/** A count: a whole number within what any account could ask for. */
function countOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 1_000_000 ? n : undefined;
}

/** A value EC2 logs either bare or as `{value: …}` (ModifyInstanceAttribute). */
function attributeValue(v: unknown): unknown {
  return isObject(v) ? field(v, 'value') : v;
}

/** Sets a key even when it is `__proto__`: tags and names from a record are plain data. */
function put(target: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Tags from `[{key,value}]`, `tagSet`, or a tag specification set (`[{resourceType, tags:[…]}]`), bounded. */
function tagsOf(v: unknown, into: Record<string, string> = {}, depth = 0): Record<string, string> {
  for (const item of listOf(v)) {
    if (Object.keys(into).length >= MAX_TAGS) break;
    const nested = field(item, 'tags', 'tag', 'tagSet');
    if (nested !== undefined && field(item, 'key') === undefined) {
      // a specification holds tags; deeper nesting is no shape EC2 logs
      if (depth < 2) tagsOf(nested, into, depth + 1);
      continue;
    }
    const key = textAt(item, 128, 'key');
    const value = textAt(item, 256, 'value') ?? '';
    if (key !== undefined) put(into, key, value);
  }
  return into;
}

function addResource(f: CloudFacts, type: string, name: string | undefined): void {
  if (name === undefined) return;
  f.resources ??= [];
  if (f.resources.length >= MAX_RESOURCES) return;
  if (!f.resources.some((r) => r.type === type && r.name === name)) f.resources.push({ type, name });
}

function addTags(f: CloudFacts, v: unknown): void {
  const tags = tagsOf(v, f.tags ?? {});
  if (Object.keys(tags).length > 0) f.tags = tags;
}

/** userData (or a template's UserData): decoded when it is base64 of text, else kept as read; clipped. */
function setUserData(f: CloudFacts, raw: unknown, notes: string[]): void {
  const text = textOf(attributeValue(raw), Number.MAX_SAFE_INTEGER);
  if (text === undefined) return;
  if (text.length > MAX_USER_DATA_CHARS)
    notes.push(`userData of ${text.length} characters is more than EC2 accepts (16 KiB); read from its start`);
  f.userData = clip(decodeBase64Text(text) ?? text, MAX_SCRIPT_CHARS);
}

function addInstanceType(f: CloudFacts, type: string | undefined): void {
  if (type === undefined) return;
  if (f.instanceType === undefined) f.instanceType = type;
  else if (type !== f.instanceType) addResource(f, 'instance-type', type);
}

/** Image, type, key, groups, userData and tags of a launch specification (RunInstances, spot, templates). */
function addLaunchSpec(f: CloudFacts, spec: unknown, notes: string[]): void {
  if (!isObject(spec)) return;
  addInstanceType(f, textAt(spec, 64, 'instanceType'));
  const image = textAt(spec, MAX_ID_CHARS, 'imageId');
  if (image !== undefined) f.image ??= image;
  addResource(f, 'key-pair', textAt(spec, MAX_NAME_CHARS, 'keyName'));
  for (const g of listOf(field(spec, 'groupSet', 'securityGroupIds', 'securityGroupIdSet', 'SecurityGroupId')))
    addResource(
      f,
      'security-group',
      typeof g === 'string' ? clip(g, MAX_ID_CHARS) : textAt(g, MAX_ID_CHARS, 'groupId'),
    );
  for (const g of listOf(field(spec, 'securityGroupSet', 'securityGroups', 'SecurityGroup')))
    addResource(
      f,
      'security-group',
      typeof g === 'string' ? clip(g, MAX_ID_CHARS) : textAt(g, MAX_ID_CHARS, 'groupName', 'groupId'),
    );
  const userData = field(spec, 'userData');
  if (userData !== undefined) setUserData(f, userData, notes);
  addTags(f, field(spec, 'tagSpecificationSet', 'tagSpecification', 'TagSpecifications'));
  addLaunchTemplate(f, field(spec, 'launchTemplate', 'launchTemplateSpecification'));
}

function addLaunchTemplate(f: CloudFacts, spec: unknown): void {
  if (!isObject(spec)) return;
  const name = textAt(spec, MAX_NAME_CHARS, 'launchTemplateName') ?? textAt(spec, MAX_ID_CHARS, 'launchTemplateId');
  const version = textOf(field(spec, 'version', 'versionNumber'), 32);
  addResource(f, 'launch-template', name !== undefined && version !== undefined ? `${name}:${version}` : name);
}

function ipList(values: unknown[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const ip = ipOf(v);
    if (ip !== undefined && !out.includes(ip) && out.length < MAX_ADDRESSES) out.push(ip);
  }
  return out;
}

/** One instance of a response (`instancesSet` item) or request: id, type, image, zone, addresses, interfaces, tags, state. */
function instanceOf(item: unknown): CloudInstanceFacts | undefined {
  if (!isObject(item)) return typeof item === 'string' ? { id: clip(item, MAX_ID_CHARS) } : undefined;
  const out: CloudInstanceFacts = {};
  const id = textAt(item, MAX_ID_CHARS, 'instanceId');
  if (id !== undefined) out.id = id;
  const type = textAt(item, 64, 'instanceType');
  if (type !== undefined) out.type = type;
  const image = textAt(item, MAX_ID_CHARS, 'imageId');
  if (image !== undefined) out.image = image;
  const zone = textAt(field(item, 'placement'), 64, 'availabilityZone');
  if (zone !== undefined) out.zone = zone;
  const privateIps: unknown[] = [field(item, 'privateIpAddress')];
  const publicIps: unknown[] = [field(item, 'ipAddress', 'publicIpAddress')];
  const interfaces: string[] = [];
  for (const eni of listOf(field(item, 'networkInterfaceSet'))) {
    const eniId = textAt(eni, MAX_ID_CHARS, 'networkInterfaceId');
    if (eniId !== undefined && interfaces.length < MAX_ADDRESSES && !interfaces.includes(eniId)) interfaces.push(eniId);
    privateIps.push(field(eni, 'privateIpAddress'));
    publicIps.push(field(field(eni, 'association'), 'publicIp'));
    for (const p of listOf(field(eni, 'privateIpAddressesSet'))) {
      privateIps.push(field(p, 'privateIpAddress'));
      publicIps.push(field(field(p, 'association'), 'publicIp'));
    }
  }
  const priv = ipList(privateIps);
  if (priv.length > 0) out.privateIps = priv;
  const pub = ipList(publicIps);
  if (pub.length > 0) out.publicIps = pub;
  if (interfaces.length > 0) out.interfaces = interfaces;
  const tags = tagsOf(field(item, 'tagSet'));
  if (Object.keys(tags).length > 0) out.tags = tags;
  const state = textAt(field(item, 'currentState', 'instanceState'), 64, 'name');
  if (state !== undefined) out.state = state;
  return Object.keys(out).length > 0 ? out : undefined;
}

function addInstances(f: CloudFacts, items: unknown[]): void {
  for (const item of items) {
    const inst = instanceOf(item);
    if (inst === undefined) continue;
    f.instances ??= [];
    const same = inst.id !== undefined ? f.instances.find((i) => i.id === inst.id) : undefined;
    if (same !== undefined) Object.assign(same, inst);
    else if (f.instances.length < MAX_INSTANCES) f.instances.push(inst);
  }
}

/** The instances a request names by id (StartInstances, TerminateInstances, ModifyInstanceAttribute). */
function addRequestedIds(f: CloudFacts, req: Obj): void {
  const ids = listOf(field(req, 'instancesSet', 'instanceIds', 'InstanceId'));
  const one = field(req, 'instanceId');
  addInstances(f, one !== undefined ? [{ instanceId: one }] : ids.map((i) => (isObject(i) ? i : { instanceId: i })));
}

/** ECS container definitions: image, entryPoint + command, env, CPU units (1024 = one vCPU). */
function containersOf(v: unknown): WorkloadContainer[] {
  const out: WorkloadContainer[] = [];
  for (const c of listOf(v).slice(0, MAX_CONTAINERS)) {
    if (!isObject(c)) continue;
    const container: WorkloadContainer = {};
    const name = textAt(c, MAX_NAME_CHARS, 'name');
    if (name !== undefined) container.name = name;
    const image = field(c, 'image');
    if (typeof image === 'string' && image !== '') container.image = clip(image, 512);
    const strings = (x: unknown) =>
      Array.isArray(x) ? x.slice(0, MAX_ARGS).flatMap((s) => (typeof s === 'string' ? [clip(s, 4096)] : [])) : [];
    const entryPoint = strings(field(c, 'entryPoint'));
    const command = strings(field(c, 'command'));
    // Docker's split: the entry point runs with the command as its arguments
    if (entryPoint.length > 0) {
      container.command = entryPoint;
      if (command.length > 0) container.args = command;
    } else if (command.length > 0) container.command = command;
    const env: string[] = [];
    for (const e of listOf(field(c, 'environment')).slice(0, MAX_ENV)) {
      const key = textAt(e, 256, 'name');
      if (key !== undefined) env.push(`${key}=${textAt(e, 1024, 'value') ?? ''}`);
    }
    if (env.length > 0) container.env = env;
    if (field(c, 'privileged') === true) container.privileged = true;
    const cpu = numberOf(field(c, 'cpu'));
    if (cpu !== undefined && cpu > 0 && cpu <= 1_000_000) container.cpuRequestCores = cpu / 1024;
    out.push(container);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// the calls read, by eventName

const EC2 = 'ec2.amazonaws.com';

function runInstances(f: CloudFacts, req: Obj, resp: Obj, notes: string[]): void {
  addLaunchSpec(f, req, notes);
  const asked = listOf(field(req, 'instancesSet'));
  let count: number | undefined;
  for (const item of asked) {
    addLaunchSpec(f, item, notes);
    const max = countOf(field(item, 'maxCount'));
    const min = countOf(field(item, 'minCount'));
    if (max !== undefined || min !== undefined) count = (count ?? 0) + (max ?? min ?? 0);
  }
  const top = countOf(field(req, 'maxCount')) ?? countOf(field(req, 'minCount'));
  if (count ?? top) f.count = count ?? top;
  addResource(f, 'subnet', textAt(req, MAX_ID_CHARS, 'subnetId'));
  addInstances(f, listOf(field(resp, 'instancesSet')));
}

function startOrTerminate(f: CloudFacts, req: Obj, resp: Obj): void {
  addRequestedIds(f, req);
  addInstances(f, listOf(field(resp, 'instancesSet')));
}

function modifyInstanceAttribute(f: CloudFacts, req: Obj, _resp: Obj, notes: string[]): void {
  addRequestedIds(f, req);
  const attribute = textAt(req, 64, 'attribute');
  const bare = field(req, 'value');
  const type =
    textOf(attributeValue(field(req, 'instanceType')), 64) ??
    (attribute === 'instanceType' ? textOf(bare, 64) : undefined);
  if (type !== undefined) {
    f.instanceType = type;
    for (const i of f.instances ?? []) i.type = type;
  }
  const userData = field(req, 'userData') ?? (attribute === 'userData' ? bare : undefined);
  if (userData !== undefined) setUserData(f, userData, notes);
}

/** CreateFleet: total target capacity, launch templates and the types their overrides ask for; the instances made. */
function createFleet(f: CloudFacts, req: Obj, resp: Obj, notes: string[]): void {
  const body = objectOf(field(req, 'CreateFleetRequest') ?? req);
  const total = countOf(field(field(body, 'TargetCapacitySpecification'), 'TotalTargetCapacity'));
  if (total !== undefined) f.count = total;
  for (const config of listOf(field(body, 'LaunchTemplateConfigs'))) {
    addLaunchTemplate(f, field(config, 'LaunchTemplateSpecification'));
    for (const o of listOf(field(config, 'Overrides'))) addLaunchSpec(f, o, notes);
  }
  addTags(f, field(body, 'TagSpecification', 'TagSpecifications'));
  const out = objectOf(field(resp, 'CreateFleetResponse') ?? resp);
  addResource(f, 'fleet', textAt(out, MAX_ID_CHARS, 'fleetId'));
  for (const set of listOf(field(out, 'fleetInstanceSet'))) {
    const type = textAt(set, 64, 'instanceType');
    addInstances(
      f,
      listOf(field(set, 'instanceIds')).map((id) => ({
        instanceId: id,
        ...(type !== undefined ? { instanceType: type } : {}),
      })),
    );
  }
}

function requestSpotFleet(f: CloudFacts, req: Obj, resp: Obj, notes: string[]): void {
  const config = objectOf(field(req, 'spotFleetRequestConfig', 'SpotFleetRequestConfig') ?? req);
  const target = countOf(field(config, 'targetCapacity'));
  if (target !== undefined) f.count = target;
  for (const spec of listOf(field(config, 'launchSpecifications'))) addLaunchSpec(f, spec, notes);
  for (const c of listOf(field(config, 'launchTemplateConfigs'))) {
    addLaunchTemplate(f, field(c, 'launchTemplateSpecification'));
    for (const o of listOf(field(c, 'overrides'))) addLaunchSpec(f, o, notes);
  }
  addTags(f, field(config, 'tagSpecifications', 'tagSpecificationSet'));
  addResource(f, 'spot-fleet', textAt(resp, MAX_ID_CHARS, 'spotFleetRequestId'));
}

function requestSpotInstances(f: CloudFacts, req: Obj, resp: Obj, notes: string[]): void {
  const count = countOf(field(req, 'instanceCount'));
  if (count !== undefined) f.count = count;
  addLaunchSpec(f, field(req, 'launchSpecification'), notes);
  addTags(f, field(req, 'tagSpecificationSet'));
  for (const r of listOf(field(resp, 'spotInstanceRequestSet')))
    addResource(f, 'spot-request', textAt(r, MAX_ID_CHARS, 'spotInstanceRequestId'));
}

function autoScalingGroup(f: CloudFacts, req: Obj, _resp: Obj, notes: string[]): void {
  addResource(f, 'autoscaling-group', textAt(req, MAX_NAME_CHARS, 'autoScalingGroupName'));
  const min = countOf(field(req, 'minSize'));
  const max = countOf(field(req, 'maxSize'));
  const desired = countOf(field(req, 'desiredCapacity'));
  if (desired !== undefined) f.count = desired;
  const sizes = [
    min !== undefined ? `min ${min}` : '',
    max !== undefined ? `max ${max}` : '',
    desired !== undefined ? `desired ${desired}` : '',
  ].filter((s) => s !== '');
  if (sizes.length > 0) addResource(f, 'capacity', sizes.join(', '));
  addLaunchTemplate(f, field(req, 'launchTemplate'));
  addResource(f, 'launch-configuration', textAt(req, MAX_NAME_CHARS, 'launchConfigurationName'));
  const mixed = field(field(req, 'mixedInstancesPolicy'), 'launchTemplate');
  addLaunchTemplate(f, field(mixed, 'launchTemplateSpecification'));
  for (const o of listOf(field(mixed, 'overrides'))) addLaunchSpec(f, o, notes);
  addTags(f, field(req, 'tags'));
}

function launchTemplate(f: CloudFacts, req: Obj, resp: Obj, notes: string[]): void {
  const body = objectOf(field(req, 'CreateLaunchTemplateRequest', 'CreateLaunchTemplateVersionRequest') ?? req);
  const data = field(body, 'LaunchTemplateData');
  addLaunchSpec(f, data, notes);
  const out = objectOf(field(resp, 'CreateLaunchTemplateResponse', 'CreateLaunchTemplateVersionResponse') ?? resp);
  const made = objectOf(field(out, 'launchTemplate', 'launchTemplateVersion'));
  const name =
    textAt(body, MAX_NAME_CHARS, 'LaunchTemplateName') ??
    textAt(made, MAX_NAME_CHARS, 'launchTemplateName') ??
    textAt(body, MAX_ID_CHARS, 'LaunchTemplateId') ??
    textAt(made, MAX_ID_CHARS, 'launchTemplateId');
  const version = textOf(field(made, 'versionNumber', 'latestVersionNumber'), 32);
  addResource(f, 'launch-template', name !== undefined && version !== undefined ? `${name}:${version}` : name);
}

function registerTaskDefinition(f: CloudFacts, req: Obj, resp: Obj): void {
  addResource(
    f,
    'task-definition',
    textAt(field(resp, 'taskDefinition'), MAX_ARN_CHARS, 'taskDefinitionArn') ?? textAt(req, MAX_NAME_CHARS, 'family'),
  );
  const containers = containersOf(field(req, 'containerDefinitions'));
  if (containers.length > 0) f.containers = containers;
  const image = containers.find((c) => c.image !== undefined)?.image;
  if (image !== undefined) f.image = image;
  addResource(f, 'task-cpu', textOf(field(req, 'cpu'), 16));
  addTags(f, field(req, 'tags'));
}

function ecsRun(f: CloudFacts, req: Obj, resp: Obj): void {
  const count = countOf(field(req, 'count', 'desiredCount'));
  if (count !== undefined) f.count = count;
  addResource(f, 'cluster', textAt(req, MAX_ARN_CHARS, 'cluster'));
  addResource(f, 'service', textAt(req, MAX_NAME_CHARS, 'serviceName'));
  addResource(f, 'task-definition', textAt(req, MAX_ARN_CHARS, 'taskDefinition'));
  for (const t of listOf(field(resp, 'tasks'))) addResource(f, 'task', textAt(t, MAX_ARN_CHARS, 'taskArn'));
  addTags(f, field(req, 'tags'));
}

function enableRegion(f: CloudFacts, req: Obj): void {
  addResource(f, 'region', textAt(req, 64, 'RegionName'));
  addResource(f, 'account', textAt(req, 64, 'AccountId'));
}

function serviceQuota(f: CloudFacts, req: Obj, resp: Obj): void {
  const service = textAt(req, 64, 'ServiceCode');
  const quota = textAt(req, 64, 'QuotaCode');
  addResource(f, 'quota', quota !== undefined ? `${service ?? '?'}/${quota}` : service);
  const desired = numberOf(field(req, 'DesiredValue'));
  if (desired !== undefined) addResource(f, 'desired-value', String(desired));
  const status = textAt(field(resp, 'RequestedQuota'), 32, 'Status');
  addResource(f, 'request-status', status);
}

function keyPair(f: CloudFacts, req: Obj, resp: Obj): void {
  addResource(f, 'key-pair', textAt(req, MAX_NAME_CHARS, 'keyName') ?? textAt(resp, MAX_NAME_CHARS, 'keyName'));
}

/** `0.0.0.0/0 tcp 22` per range of each permission; the group by id or name. */
function authorizeIngress(f: CloudFacts, req: Obj): void {
  addResource(f, 'security-group', textAt(req, MAX_ID_CHARS, 'groupId') ?? textAt(req, MAX_NAME_CHARS, 'groupName'));
  const permissions = listOf(field(req, 'ipPermissions'));
  if (permissions.length === 0 && field(req, 'cidrIp') !== undefined) permissions.push(req);
  for (const p of permissions) {
    const protocol = textAt(p, 16, 'ipProtocol') ?? 'all';
    const from = numberOf(field(p, 'fromPort'));
    const to = numberOf(field(p, 'toPort'));
    const ports =
      protocol === '-1' || from === undefined ? '' : ` ${from}${to !== undefined && to !== from ? `-${to}` : ''}`;
    const proto = protocol === '-1' ? 'all' : protocol;
    const ranges = [
      ...listOf(field(p, 'ipRanges')).map((r) => textAt(r, 64, 'cidrIp')),
      ...listOf(field(p, 'ipv6Ranges')).map((r) => textAt(r, 64, 'cidrIpv6')),
      textAt(p, 64, 'cidrIp'),
    ];
    for (const cidr of ranges) if (cidr !== undefined) addResource(f, 'ingress', `${cidr} ${proto}${ports}`);
    for (const g of listOf(field(p, 'groups')))
      addResource(f, 'ingress', `${textAt(g, MAX_ID_CHARS, 'groupId') ?? '?'} ${proto}${ports}`);
  }
}

function createAccessKey(f: CloudFacts, req: Obj, resp: Obj): void {
  addResource(f, 'user', textAt(req, MAX_NAME_CHARS, 'userName'));
  addResource(f, 'access-key', textAt(field(resp, 'accessKey'), 128, 'accessKeyId'));
}

const OPERATIONS: Record<string, Operation> = {
  RunInstances: { service: EC2, type: 'creation', facts: runInstances },
  StartInstances: { service: EC2, type: 'start', facts: startOrTerminate },
  TerminateInstances: { service: EC2, type: 'deletion', facts: startOrTerminate },
  ModifyInstanceAttribute: { service: EC2, type: 'change', facts: modifyInstanceAttribute },
  CreateFleet: { service: EC2, type: 'creation', facts: createFleet },
  RequestSpotFleet: { service: EC2, type: 'creation', facts: requestSpotFleet },
  RequestSpotInstances: { service: EC2, type: 'creation', facts: requestSpotInstances },
  CreateLaunchTemplate: { service: EC2, type: 'creation', facts: launchTemplate },
  CreateLaunchTemplateVersion: { service: EC2, type: 'change', facts: launchTemplate },
  ImportKeyPair: { service: EC2, type: 'creation', iam: true, facts: keyPair },
  CreateKeyPair: { service: EC2, type: 'creation', iam: true, facts: keyPair },
  AuthorizeSecurityGroupIngress: { service: EC2, type: 'change', facts: authorizeIngress },
  CreateAutoScalingGroup: { service: 'autoscaling.amazonaws.com', type: 'creation', facts: autoScalingGroup },
  UpdateAutoScalingGroup: { service: 'autoscaling.amazonaws.com', type: 'change', facts: autoScalingGroup },
  RegisterTaskDefinition: { service: 'ecs.amazonaws.com', type: 'creation', facts: registerTaskDefinition },
  RunTask: { service: 'ecs.amazonaws.com', type: 'start', facts: ecsRun },
  CreateService: { service: 'ecs.amazonaws.com', type: 'creation', facts: ecsRun },
  EnableRegion: { service: 'account.amazonaws.com', type: 'change', facts: enableRegion },
  GetServiceQuota: { service: 'servicequotas.amazonaws.com', type: 'access', facts: serviceQuota },
  ListServiceQuotas: { service: 'servicequotas.amazonaws.com', type: 'access', facts: serviceQuota },
  RequestServiceQuotaIncrease: { service: 'servicequotas.amazonaws.com', type: 'change', facts: serviceQuota },
  CreateAccessKey: { service: 'iam.amazonaws.com', type: 'creation', iam: true, facts: createAccessKey },
};
const HAS_OPERATION = new Set(Object.keys(OPERATIONS));

/** Error codes that mean the caller was not allowed, as opposed to a call that failed for another reason. */
const DENIED_CODE = /unauthori[sz]ed|accessdenied|forbidden|notauthorized/i;

function originalOf(o: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ORIGINAL_KEYS) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v === 'string') out[key] = clip(v, 4096);
    else if (typeof v !== 'object' || v === null) out[key] = v;
    else if (JSON.stringify(v).length <= MAX_ORIGINAL_PART_CHARS) out[key] = v;
  }
  return out;
}

/** Who made the call: ARN (or the service acting), type, key, role session issuer, service, MFA. */
function principalOf(identity: Obj): NonNullable<CloudFacts['principal']> {
  const p: NonNullable<CloudFacts['principal']> = {};
  const type = textAt(identity, 64, 'type');
  if (type !== undefined) p.type = type;
  const invokedBy = textAt(identity, MAX_NAME_CHARS, 'invokedBy');
  if (invokedBy !== undefined) p.invokedBy = invokedBy;
  const arn = textAt(identity, MAX_ARN_CHARS, 'arn');
  const id = arn ?? (type === 'AWSService' ? invokedBy : undefined) ?? textAt(identity, MAX_ID_CHARS, 'principalId');
  if (id !== undefined) p.id = id;
  const key = textAt(identity, 128, 'accessKeyId');
  if (key !== undefined) p.accessKeyId = key;
  const context = field(identity, 'sessionContext');
  const issuer = textAt(field(context, 'sessionIssuer'), MAX_ARN_CHARS, 'arn');
  if (issuer !== undefined) p.sessionIssuer = issuer;
  const mfa = field(field(context, 'attributes'), 'mfaAuthenticated');
  if (mfa === 'true' || mfa === true) p.mfa = true;
  else if (mfa === 'false' || mfa === false) p.mfa = false;
  return p;
}

/** One CloudTrail record as a cloud-change event, `'unused'` for a call no analytic reads, or why it is bad. */
export function cloudTrailEvent(o: Obj, where: Where, notes: string[] = []): CoalEvent | 'unused' | string {
  const name = textOf(o.eventName, 128);
  if (name === undefined) return 'no eventName';
  if (o.eventTime === undefined) return 'no eventTime';
  const ts = parseTimestamp(o.eventTime);
  if (ts === undefined) return `eventTime ${clip(JSON.stringify(o.eventTime) ?? '', 60)} is not a time`;
  const op = HAS_OPERATION.has(name) ? OPERATIONS[name] : undefined;
  const source = textOf(o.eventSource, MAX_NAME_CHARS);
  // the same call name on another service (AppStream's CreateFleet) is not this call
  if (op === undefined || (source !== undefined && source !== op.service)) {
    if (!where.keep) return 'unused';
    const account = textOf(o.recipientAccountId, 64) ?? textAt(objectOf(o.userIdentity), 64, 'accountId');
    const host = account !== undefined ? `aws:${account}` : (where.host ?? DEFAULT_HOST);
    return logRecordEvent(FORMAT, name, ts, host, originalOf(o), { file: where.file, line: where.line });
  }

  const identity = objectOf(o.userIdentity);
  const account = textOf(o.recipientAccountId, 64) ?? textAt(identity, 64, 'accountId');
  const region = textOf(o.awsRegion, 64);
  const facts: CloudFacts = { provider: 'aws', operation: name, service: op.service };
  if (account !== undefined) facts.account = account;
  if (region !== undefined) facts.region = region;
  const principal = principalOf(identity);
  const sourceIp = ipOf(o.sourceIPAddress);
  const sourceText = textOf(o.sourceIPAddress, MAX_NAME_CHARS);
  // an AWS service calling for the account names itself where the address would be
  if (sourceIp === undefined && sourceText?.endsWith('.amazonaws.com') && principal.invokedBy === undefined)
    principal.invokedBy = sourceText;
  if (principal.id === undefined && principal.invokedBy !== undefined) principal.id = principal.invokedBy;
  if (Object.keys(principal).length > 0) facts.principal = principal;

  op.facts(facts, objectOf(o.requestParameters), objectOf(o.responseElements), notes);

  const errorCode = textOf(o.errorCode, 128);
  const errorMessage = textOf(o.errorMessage, 1024);
  if (errorCode !== undefined) facts.errorCode = errorCode;
  if (errorMessage !== undefined) facts.errorMessage = errorMessage;
  const failed = errorCode !== undefined;
  const denied = failed && DENIED_CODE.test(errorCode);

  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: op.iam ? ['iam'] : ['configuration'],
      type: denied ? [op.type, 'denied'] : [op.type],
      action: 'cloud-change',
      dataset: `${FORMAT}.${name}`,
      outcome: failed ? 'failure' : 'success',
    },
    host: { name: account !== undefined ? `aws:${account}` : (where.host ?? DEFAULT_HOST) },
    original: originalOf(o),
    coalmine: { ts, format: FORMAT, ref: { file: where.file, line: where.line }, cloud: facts },
  };
  const eventId = textOf(o.eventID, 128);
  if (eventId !== undefined) event.event.id = eventId;
  if (principal.id !== undefined) event.user = { name: principal.id };
  if (sourceIp !== undefined) event.source = { ip: sourceIp };
  const agent = textOf(o.userAgent, 1024);
  if (agent !== undefined) event.user_agent = { original: agent };

  const cloud: NonNullable<CoalEvent['cloud']> = { provider: 'aws' };
  if (account !== undefined) cloud.account = { id: account };
  if (region !== undefined) cloud.region = region;
  const instances = facts.instances ?? [];
  // one instance named: the event is about it; many: they are in coalmine.cloud
  if (instances.length === 1) {
    const [only] = instances;
    if (only.id !== undefined) cloud.instance = { id: only.id };
    if (only.zone !== undefined) cloud.availability_zone = only.zone;
  }
  // the type asked for, else the one every returned instance has
  const types = new Set(instances.map((i) => i.type));
  const type = facts.instanceType ?? (types.size === 1 ? [...types][0] : undefined);
  if (type !== undefined) cloud.machine = { type };
  event.cloud = cloud;
  return event;
}

// ---------------------------------------------------------------------------------------------------
// reading

interface Output {
  events: CoalEvent[];
  issues: Issue[];
  unused: number;
}

/** The CloudTrail record a value holds: itself, a lookup-events item's `CloudTrailEvent`, or an EventBridge event's `detail`. */
function recordOf(value: unknown): Obj | string {
  if (!isObject(value)) return 'JSON but not an object';
  const inner = value.CloudTrailEvent;
  if (inner !== undefined) {
    if (typeof inner !== 'string') return 'CloudTrailEvent is not a JSON string';
    let parsed: unknown;
    try {
      parsed = JSON.parse(inner);
    } catch (err) {
      return `CloudTrailEvent does not parse: ${clip((err as Error).message, 120)}`;
    }
    return isObject(parsed) ? parsed : 'CloudTrailEvent is not an object';
  }
  const detailType = value['detail-type'];
  if (typeof detailType === 'string' && /via CloudTrail$/.test(detailType)) {
    return isObject(value.detail) ? value.detail : 'EventBridge event without a detail object';
  }
  return value;
}

function mapValue(value: unknown, where: Where, out: Output, inEnvelope = false): void {
  const file = where.file;
  const line = where.line;
  // an envelope whose records array is not one (a damaged S3 object), or one on a line of its own
  if (
    !inEnvelope &&
    isObject(value) &&
    (value.Records !== undefined || value.Events !== undefined) &&
    value.eventName === undefined
  ) {
    const key = value.Records !== undefined ? 'Records' : 'Events';
    const list = value[key];
    if (!Array.isArray(list)) {
      out.issues.push(issue({ file, line }, `${CODE}_BAD_RECORD`, `${key} is not an array`));
      return;
    }
    for (let i = 0; i < list.length && i < MAX_LINE_RECORDS; i++) mapValue(list[i], where, out, true);
    if (list.length > MAX_LINE_RECORDS)
      out.issues.push(
        issue(
          { file, line },
          `${CODE}_TOO_MANY_RECORDS`,
          `${list.length - MAX_LINE_RECORDS} records after the first ${MAX_LINE_RECORDS} are not read`,
          'reading',
        ),
      );
    return;
  }
  const record = recordOf(value);
  if (typeof record === 'string') {
    out.issues.push(issue({ file, line }, `${CODE}_BAD_RECORD`, record));
    return;
  }
  const notes: string[] = [];
  const mapped = cloudTrailEvent(record, where, notes);
  for (const note of notes) out.issues.push(issue({ file, line }, `${CODE}_FIELD_TOO_LARGE`, note));
  if (mapped === 'unused') out.unused++;
  else if (typeof mapped === 'string') out.issues.push(issue({ file, line }, `${CODE}_BAD_RECORD`, mapped));
  else out.events.push(mapped);
}

/** Read as a whole document: an S3 object or lookup-events output opens with its records array, or a pretty-printed record or array. */
function isDocument(head: string): boolean {
  if (/^\s*(?:\[|\{\s*"(?:Records|Events)"\s*:)/.test(head.slice(0, 256))) return true;
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  return first !== undefined && /^\s*[[{]\s*$/.test(first);
}

async function* readDocument(input: SourceInput, host: string | undefined, keep: boolean): AsyncGenerator<Output> {
  let out: Output = { events: [], issues: [], unused: 0 };
  const limits = {
    maxRecordBytes: MAX_RECORD_BYTES,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
    maxRecords: MAX_RECORDS,
    code: CODE,
    recordKeys: ['Records', 'Events'],
  };
  for await (const item of jsonDocumentRecords(input, limits)) {
    if ('issue' in item) out.issues.push(item.issue);
    else mapValue(item.value, { file: input.name, line: item.line, host, keep }, out);
    if (out.events.length >= BATCH_EVENTS) {
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
  }
  yield out;
}

async function* readLines(input: SourceInput, context: SourceContext, host: string | undefined, keep: boolean) {
  const file = input.name;
  let pending: Issue[] = [];
  for await (const batch of sourceLines(input, context, (i) => pending.push(i))) {
    const out: Output = { events: [], issues: pending, unused: 0 };
    pending = [];
    for (let k = 0; k < batch.lines.length; k++) {
      const text = batch.lines[k];
      if (text.trim() === '') continue;
      const line = batch.lineNos[k];
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        const last = k === batch.lines.length - 1 && batch.unterminated === true;
        out.issues.push(
          last
            ? issue({ file, line }, `${CODE}_TRUNCATED`, 'the last line ends inside its record')
            : issue({ file, line }, `${CODE}_BAD_JSON`, clip((err as Error).message, 200)),
        );
        continue;
      }
      mapValue(value, { file, line, host, keep }, out);
    }
    yield out;
  }
  if (pending.length > 0) yield { events: [], issues: pending, unused: 0 };
}

const AWS_SOURCE = /"eventSource"\s*:\s*"[\w.-]{1,64}\.amazonaws\.com"/;
const RECORD_KEYS = /"eventName"\s*:\s*"/;

function isRecord(o: unknown): boolean {
  return (
    isObject(o) &&
    typeof o.eventName === 'string' &&
    o.eventTime !== undefined &&
    typeof o.eventSource === 'string' &&
    (o.eventSource.endsWith('.amazonaws.com') || isObject(o.userIdentity))
  );
}

export const cloudtrail: SourceDescriptor = {
  name: FORMAT,
  summary:
    'AWS CloudTrail (S3 delivery files, lookup-events output, a record per line): instance launches, fleets, groups, templates, ECS tasks, regions, quotas, keys, ingress',
  platform: 'cloud',
  delivers: 'events',
  sniff(head) {
    const top = head.slice(0, 16 * 1024);
    if (/^\s*\{\s*"Records"\s*:\s*\[/.test(top)) {
      if (AWS_SOURCE.test(top)) return 95;
      // a head cut inside the first record, or an empty delivery
      // (CloudTrail's eventVersion is 1.x; S3 event notifications, also in Records, write 2.x)
      return /"eventVersion"\s*:\s*"1\.\d{1,3}"/.test(top) && /"recipientAccountId"|"userIdentity"/.test(top)
        ? 80
        : /^\s*\{\s*"Records"\s*:\s*\[\s*\]\s*\}\s*$/.test(top)
          ? 20
          : 0;
    }
    if (/^\s*\{\s*"Events"\s*:\s*\[/.test(top)) return /"CloudTrailEvent"\s*:\s*"/.test(top) ? 95 : 0;
    if (/^\s*\[/.test(top)) return AWS_SOURCE.test(top) && RECORD_KEYS.test(top) && /"eventTime"/.test(top) ? 85 : 0;
    if (isDocument(top)) return AWS_SOURCE.test(top) && RECORD_KEYS.test(top) && /"userIdentity"/.test(top) ? 85 : 0;
    return sniffJsonLine(
      head,
      (o) => {
        if (isRecord(o)) return 90;
        if (!isObject(o)) return 0;
        if (typeof o.CloudTrailEvent === 'string') return 90;
        if (typeof o['detail-type'] === 'string' && /via CloudTrail$/.test(o['detail-type']) && isRecord(o.detail))
          return 90;
        return 0;
      },
      (first) =>
        (AWS_SOURCE.test(first) && RECORD_KEYS.test(first) && /"eventTime"/.test(first)) ||
        /"CloudTrailEvent"\s*:\s*"/.test(first)
          ? 70
          : 0,
    );
  },
  async *read(input, context) {
    const host = input.hostHint !== undefined ? clip(input.hostHint, MAX_NAME_CHARS) : undefined;
    const keep = keepsRecords(context, FORMAT);
    const batches = isDocument(input.head.toString('utf8'))
      ? readDocument(input, host, keep)
      : readLines(input, context, host, keep);
    // lookup-events prints the newest event first; an S3 object is only roughly in time order
    const order = new TimeOrder();
    for await (const out of batches) {
      order.push(out.events);
      if (order.full) {
        for (const events of order.drain(BATCH_EVENTS)) yield { events, issues: [] };
      }
      if (out.issues.length === 0 && out.unused === 0) continue;
      yield out.unused > 0
        ? { events: [], issues: out.issues, unused: out.unused }
        : { events: [], issues: out.issues };
    }
    const issues = order.overflowed ? [outOfOrderIssue(input.name, CODE)] : [];
    for (const events of order.drain(BATCH_EVENTS)) yield { events, issues: issues.splice(0) };
    if (issues.length > 0) yield { events: [], issues };
  },
};
