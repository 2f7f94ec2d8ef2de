/**
 * Kubernetes audit log (`audit.k8s.io/v1` `Event`): one JSON object per line as the API server's log
 * backend writes it, `EventList` objects (the webhook backend's batches) one per line, or a whole
 * pretty-printed `EventList`/`Event` document. Requests on workloads, pods, `pods/exec|attach`, `<resource>/scale`,
 * RBAC objects and `serviceaccounts/token` become `workload-change` events with what the request
 * carried (images, command, env, privilege, host namespaces, hostPath mounts, CPU) in
 * `coalmine.workload`. Reads (get/list/watch), status writes and every other resource are counted
 * unused, or kept as `log-record`s when a loaded Sigma rule reads the audit log (its own fields). One event per request (auditID): the first stage with an answer (ResponseStarted for a
 * long-running exec, else ResponseComplete or Panic); a RequestReceived stage is kept only when no
 * later stage of its request follows. The host is the control plane (`--host`, else `k8s-api`).
 */
import type { CoalEvent, WorkloadContainer, WorkloadFacts } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { imageOf } from './container-fields.js';
import { jsonDocumentRecords } from './json-document.js';
import { sniffJsonLine, sourceLines } from './lines.js';
import { keepsRecords, logRecordEvent } from './log-record.js';
import { ipOf, isObject, MAX_NAME_CHARS, numberOf, textOf } from './net-fields.js';
import { containerSpecOf, labelsOf, MAX_CONTAINERS, podSpecFacts, podSpecOf } from './pod-spec.js';
import type { SourceDescriptor, SourceInput } from './types.js';

type Obj = Record<string, unknown>;

const FORMAT = 'k8s-audit';
const CODE = 'K8S_AUDIT';
const DEFAULT_HOST = 'k8s-api';
const MAX_ARGS = 128;
const MAX_GROUPS = 32;
const MAX_ARG_CHARS = 1024;
const MAX_URI_CHARS = 8192;
/** Items of one EventList (the webhook backend sends at most a few hundred). */
const MAX_LIST_ITEMS = 10_000;
/** A pretty-printed document is read record by record; these bound it. */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_DOCUMENT_BYTES = 1024 * 1024 * 1024;
/** RequestReceived stages held while waiting for a later stage of the same request. */
const MAX_PENDING = 1024;
/** auditIDs already mapped, so their later stages are skipped (oldest forgotten first). */
const MAX_DONE_IDS = 65_536;
/** An RBAC object kept whole in `original` (roleRef and subjects are not in WorkloadFacts). */
const MAX_RBAC_OBJECT_CHARS = 16 * 1024;
const BATCH_EVENTS = 1000;

/** objectRef.resource → Kind, for the resources a container analytic reads. */
const KINDS: Record<string, string> = {
  pods: 'Pod',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  replicationcontrollers: 'ReplicationController',
  daemonsets: 'DaemonSet',
  statefulsets: 'StatefulSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
  roles: 'Role',
  rolebindings: 'RoleBinding',
  clusterroles: 'ClusterRole',
  clusterrolebindings: 'ClusterRoleBinding',
  serviceaccounts: 'ServiceAccount',
};
const RBAC_KINDS = new Set(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
/** Subresources that are actions of their own: their name is the verb. */
const ACTION_SUBRESOURCES = new Set(['exec', 'attach', 'scale', 'token']);
const READ_VERBS = new Set(['get', 'list', 'watch']);
/** Top-level keys kept in `original`; requestObject/responseObject are summarised in coalmine.workload. */
const ORIGINAL_KEYS = [
  'kind',
  'apiVersion',
  'level',
  'auditID',
  'stage',
  'requestURI',
  'verb',
  'user',
  'impersonatedUser',
  'sourceIPs',
  'userAgent',
  'objectRef',
  'responseStatus',
  'requestReceivedTimestamp',
  'stageTimestamp',
  'annotations',
];

interface Where {
  file: string;
  line: number;
  host: string;
  /** A request no analytic reads becomes a `log-record` for the Sigma rules (SourceContext.keepRecord). */
  keep?: boolean;
}

/** The file:line an issue names (the host is the event's, not the issue's). */
function refOf(where: Where): { file: string; line: number } {
  return { file: where.file, line: where.line };
}

/** A bounded list of texts (groups): non-texts dropped. */
function textList(v: unknown, maxItems: number, maxChars: number): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const item of v.slice(0, maxItems)) {
    const s = textOf(item, maxChars);
    if (s !== undefined) out.push(s);
  }
  return out;
}

function replicasOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 1_000_000 ? n : undefined;
}

/** A JSON patch (`[{op, path, value}]`): the replicas and container images it sets. */
function addJsonPatch(w: WorkloadFacts, ops: unknown[]): void {
  const containers: WorkloadContainer[] = [];
  for (const op of ops.slice(0, 256)) {
    if (!isObject(op) || (op.op !== 'replace' && op.op !== 'add')) continue;
    const path = textOf(op.path, 512);
    if (path === undefined) continue;
    if (path === '/spec/replicas') {
      const replicas = replicasOf(op.value);
      if (replicas !== undefined) w.replicas = replicas;
    } else if (/\/containers\/(?:\d{1,4}|-)\/image$/.test(path) && containers.length < MAX_CONTAINERS) {
      const image = textOf(op.value, 512);
      if (image !== undefined) containers.push({ image });
    } else if (/\/containers\/(?:\d{1,4}|-)$/.test(path) && containers.length < MAX_CONTAINERS) {
      const container = containerSpecOf(op.value);
      if (container !== undefined) containers.push(container);
    }
  }
  if (containers.length > 0) w.containers = containers;
}

/** What the request body says: the object created or updated, a merge/strategic patch, a Scale or a JSON patch. */
function addRequestObject(w: WorkloadFacts, kind: string, body: unknown): void {
  if (Array.isArray(body)) {
    addJsonPatch(w, body);
    return;
  }
  if (!isObject(body)) return;
  const metadata = isObject(body.metadata) ? body.metadata : undefined;
  if (w.name === undefined) {
    const name = textOf(metadata?.name, MAX_NAME_CHARS);
    if (name !== undefined) w.name = name;
  }
  const labels = labelsOf(metadata?.labels);
  if (labels !== undefined) w.labels = labels;
  const owners = Array.isArray(metadata?.ownerReferences) ? metadata.ownerReferences : [];
  const owner = isObject(owners[0]) ? owners[0] : undefined;
  const ownerKind = textOf(owner?.kind, 64);
  const ownerName = textOf(owner?.name, MAX_NAME_CHARS);
  if (ownerKind !== undefined && ownerName !== undefined) w.owner = { kind: ownerKind, name: ownerName };
  const spec = isObject(body.spec) ? body.spec : undefined;
  const replicas = replicasOf(spec?.replicas);
  if (replicas !== undefined) w.replicas = replicas;
  const podSpec = podSpecOf(kind, body);
  if (podSpec !== undefined) Object.assign(w, podSpecFacts(podSpec));
}

/** The image of the spec's first regular container (init containers run before it and are not the workload). */
function mainImageOf(kind: string, body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const spec = podSpecOf(kind, body);
  const first = Array.isArray(spec?.containers) ? containerSpecOf(spec.containers[0]) : undefined;
  return first?.image;
}

/** `command=` (repeated) and `container=` of a pods/exec or attach request URI, decoded. */
function execQueryOf(uri: string): { command: string[]; container?: string } {
  const q = uri.indexOf('?');
  const command: string[] = [];
  let container: string | undefined;
  if (q < 0) return { command };
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(uri.slice(q + 1, MAX_URI_CHARS));
  } catch {
    return { command };
  }
  for (const value of params.getAll('command').slice(0, MAX_ARGS)) command.push(clip(value, MAX_ARG_CHARS));
  const c = params.get('container');
  if (c !== null && c !== '') container = clip(c, MAX_NAME_CHARS);
  return { command, container };
}

function originalOf(o: Obj, kind: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ORIGINAL_KEYS) {
    const v = o[key];
    if (v !== undefined) out[key] = typeof v === 'string' ? clip(v, 4096) : v;
  }
  if (RBAC_KINDS.has(kind) && isObject(o.requestObject)) {
    const text = JSON.stringify(o.requestObject);
    if (text.length <= MAX_RBAC_OBJECT_CHARS) out.requestObject = o.requestObject;
  }
  return out;
}

function eventTypeOf(verb: string): string[] {
  if (verb === 'create') return ['creation'];
  if (verb === 'delete' || verb === 'deletecollection') return ['deletion'];
  if (verb === 'exec' || verb === 'attach' || verb === 'token') return ['access'];
  return ['change'];
}

/** Which request stage a record is, for de-duplicating the stages of one request. */
type Stage = 'received' | 'answered';

interface Mapped {
  event: CoalEvent;
  stage: Stage;
  auditId?: string;
}

/** When a request no analytic reads is kept, the time a record was received, else why not. */
function timeOf(o: Obj): number | string {
  // a present but unreadable time is an error, not a reason to take the other one
  const received = o.requestReceivedTimestamp;
  const stageTime = o.stageTimestamp;
  const ts = received !== undefined ? parseTimestamp(received) : parseTimestamp(stageTime);
  if (ts !== undefined) return ts;
  const bad = received !== undefined ? received : stageTime;
  return bad === undefined
    ? 'no requestReceivedTimestamp or stageTimestamp'
    : `timestamp ${clip(JSON.stringify(bad) ?? '', 60)} is not a time`;
}

/** A request no analytic reads: `'unused'`, or its `log-record` (one per request, as the stages are) when kept. */
function unusedOf(o: Obj, where: Where): Mapped | 'unused' | string {
  if (!where.keep) return 'unused';
  const ts = timeOf(o);
  if (typeof ts === 'string') return ts;
  const ref = { file: where.file, line: where.line };
  const event = logRecordEvent(FORMAT, 'event', ts, where.host, originalOf(o, ''), ref);
  return { event, stage: o.stage === 'RequestReceived' ? 'received' : 'answered', auditId: textOf(o.auditID, 64) };
}

/** One audit Event as a workload-change, `'unused'` for a request no analytic reads, or why it is not an event. */
export function k8sAuditEvent(o: Obj, where: Where): Mapped | 'unused' | string {
  if (o.kind !== undefined && o.kind !== 'Event') return `kind ${clip(JSON.stringify(o.kind) ?? '', 40)} is not Event`;
  const rawVerb = textOf(o.verb, 32);
  if (rawVerb === undefined) return 'no verb';
  const verb = rawVerb.toLowerCase();
  const ref = isObject(o.objectRef) ? o.objectRef : undefined;
  if (ref === undefined) return unusedOf(o, where); // a non-resource request (/healthz, /version, …)
  const resource = textOf(ref.resource, 64);
  const subresource = textOf(ref.subresource, 64);
  const kind = resource !== undefined ? KINDS[resource] : undefined;
  if (kind === undefined) return unusedOf(o, where);
  let action = verb;
  if (subresource !== undefined) {
    if (!ACTION_SUBRESOURCES.has(subresource) && !(resource === 'pods' && subresource === 'ephemeralcontainers'))
      return unusedOf(o, where); // status writes, bindings, evictions, logs
    if (subresource === 'token' && resource !== 'serviceaccounts') return unusedOf(o, where);
    if (subresource === 'scale' && READ_VERBS.has(verb)) return unusedOf(o, where);
    if (ACTION_SUBRESOURCES.has(subresource)) action = subresource;
  } else if (READ_VERBS.has(verb)) return unusedOf(o, where);

  const ts = timeOf(o);
  if (typeof ts === 'string') return ts;

  const workload: WorkloadFacts = { verb: action, kind };
  const name = textOf(ref.name, MAX_NAME_CHARS);
  if (name !== undefined) workload.name = name;
  const namespace = textOf(ref.namespace, MAX_NAME_CHARS);
  if (namespace !== undefined) workload.namespace = namespace;
  const status = isObject(o.responseStatus) ? numberOf(o.responseStatus.code) : undefined;
  const code = status !== undefined && Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined;
  if (code !== undefined) workload.status = code;
  // on a scale request the body is the Scale (or a patch of it): spec.replicas is the count asked for
  addRequestObject(workload, action === 'scale' ? 'Scale' : kind, o.requestObject);
  if (workload.name === undefined && isObject(o.responseObject) && isObject(o.responseObject.metadata)) {
    const created = textOf(o.responseObject.metadata.name, MAX_NAME_CHARS);
    if (created !== undefined) workload.name = created;
  }
  // a server-named object (generateName): only the prefix is known when the response is not logged
  if (workload.name === undefined && isObject(o.requestObject) && isObject(o.requestObject.metadata)) {
    const prefix = textOf(o.requestObject.metadata.generateName, MAX_NAME_CHARS);
    if (prefix !== undefined) workload.name = prefix;
  }
  const uri = textOf(o.requestURI, MAX_URI_CHARS) ?? '';
  let execContainer: string | undefined;
  if (action === 'exec' || action === 'attach') {
    const query = execQueryOf(uri);
    if (query.command.length > 0) workload.execCommand = query.command;
    execContainer = query.container;
  }

  const annotations = isObject(o.annotations) ? o.annotations : {};
  const denied = (code !== undefined && code >= 400) || annotations['authorization.k8s.io/decision'] === 'forbid';
  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: RBAC_KINDS.has(kind) || kind === 'ServiceAccount' ? ['iam', 'configuration'] : ['configuration'],
      type: denied ? [...eventTypeOf(action), 'denied'] : eventTypeOf(action),
      action: 'workload-change',
      dataset: `${FORMAT}.event`,
      outcome: denied ? 'failure' : code !== undefined ? 'success' : 'unknown',
    },
    host: { name: where.host },
    original: originalOf(o, kind),
    coalmine: { ts, format: FORMAT, ref: { file: where.file, line: where.line }, workload },
  };
  const auditId = textOf(o.auditID, 64);
  if (auditId !== undefined) event.event.id = auditId;

  const user = isObject(o.user) ? o.user : {};
  const eventUser: NonNullable<CoalEvent['user']> = {};
  const userName = textOf(user.username, MAX_NAME_CHARS);
  if (userName !== undefined) eventUser.name = userName;
  const uid = textOf(user.uid, 128);
  if (uid !== undefined) eventUser.id = uid;
  const groups = textList(user.groups, MAX_GROUPS, MAX_NAME_CHARS);
  if (groups !== undefined && groups.length > 0) eventUser.roles = groups;
  const impersonated = isObject(o.impersonatedUser) ? textOf(o.impersonatedUser.username, MAX_NAME_CHARS) : undefined;
  if (impersonated !== undefined) eventUser.effective = { name: impersonated };
  if (Object.keys(eventUser).length > 0) event.user = eventUser;
  const ip = Array.isArray(o.sourceIPs) ? ipOf(o.sourceIPs[0]) : undefined;
  if (ip !== undefined) event.source = { ip };
  const agent = textOf(o.userAgent, 512);
  if (agent !== undefined) event.user_agent = { original: agent };

  const orchestrator: NonNullable<CoalEvent['orchestrator']> = {
    resource: { type: kind.toLowerCase(), ...(workload.name !== undefined ? { name: workload.name } : {}) },
  };
  if (namespace !== undefined) orchestrator.namespace = namespace;
  if (workload.owner !== undefined && orchestrator.resource !== undefined)
    orchestrator.resource.parent = { type: workload.owner.kind.toLowerCase(), name: workload.owner.name };
  event.orchestrator = orchestrator;

  const specKind = action === 'scale' ? 'Scale' : kind;
  const image = imageOf(mainImageOf(specKind, o.requestObject) ?? workload.containers?.find((c) => c.image)?.image);
  const container: NonNullable<CoalEvent['container']> = {};
  if (image !== undefined) container.image = image;
  if (execContainer !== undefined) container.name = execContainer;
  if (workload.containers?.some((c) => c.privileged === true)) container.security_context = { privileged: true };
  if (Object.keys(container).length > 0) event.container = container;

  return { event, stage: o.stage === 'RequestReceived' ? 'received' : 'answered', auditId };
}

/** Keeps one event per request across its stages (see the file comment); bounded. */
class StageFilter {
  private readonly pending = new Map<string, CoalEvent>();
  private readonly done = new Set<string>();

  /** The events to emit now for this mapped record (the record's own, an evicted pending one, or none). */
  take(m: Mapped): CoalEvent[] {
    if (m.auditId === undefined) return [m.event];
    if (this.done.has(m.auditId)) return [];
    if (m.stage === 'received') {
      if (this.pending.has(m.auditId)) return [];
      this.pending.set(m.auditId, m.event);
      if (this.pending.size <= MAX_PENDING) return [];
      const [oldestId, oldest] = this.pending.entries().next().value as [string, CoalEvent];
      this.pending.delete(oldestId);
      this.remember(oldestId);
      return [oldest];
    }
    this.pending.delete(m.auditId);
    this.remember(m.auditId);
    return [m.event];
  }

  /** RequestReceived stages whose request never logged another stage: they are all there is. */
  flush(): CoalEvent[] {
    const left = [...this.pending.values()];
    this.pending.clear();
    return left;
  }

  private remember(id: string): void {
    this.done.add(id);
    if (this.done.size > MAX_DONE_IDS) {
      const oldest = this.done.values().next().value as string;
      this.done.delete(oldest);
    }
  }
}

/** A pretty-printed document opens with a lone `{` or `[`; the log backend writes one object per line. */
function isDocument(head: string): boolean {
  const first = head.split('\n', 8).find((l) => l.trim() !== '');
  return first !== undefined && /^\s*[[{]\s*$/.test(first);
}

const AUDIT_API = /"apiVersion"\s*:\s*"audit\.k8s\.io\/v1(?:beta1|alpha1)?"/;
const AUDIT_KIND = /"kind"\s*:\s*"Event(?:List)?"/;

/** An Event without apiVersion (an EventList item written alone, as Falco's k8s_audit traces are) by its audit keys. */
const AUDIT_ID_KEY = /"auditID"\s*:\s*"/;
const AUDIT_STAGE_KEY = /"stage"\s*:\s*"/;

function isAuditObject(o: unknown): boolean {
  return (
    isObject(o) &&
    typeof o.apiVersion === 'string' &&
    o.apiVersion.startsWith('audit.k8s.io/') &&
    (o.kind === 'Event' || o.kind === 'EventList')
  );
}

function isAuditItem(o: unknown): boolean {
  return (
    isObject(o) &&
    o.apiVersion === undefined &&
    o.kind === 'Event' &&
    typeof o.auditID === 'string' &&
    typeof o.stage === 'string' &&
    typeof o.verb === 'string'
  );
}

interface Output {
  events: CoalEvent[];
  issues: Issue[];
  unused: number;
}

/** One parsed record (an Event, or an EventList whose items are Events) into `out`. */
function mapRecord(value: unknown, where: Where, filter: StageFilter, out: Output): void {
  const map = (o: unknown, itemWhere: Where, what: string) => {
    const mapped = isObject(o) ? k8sAuditEvent(o, itemWhere) : 'JSON but not an object';
    if (mapped === 'unused') out.unused++;
    else if (typeof mapped === 'string')
      out.issues.push(issue(refOf(itemWhere), `${CODE}_BAD_RECORD`, what === '' ? mapped : `${what}: ${mapped}`));
    else out.events.push(...filter.take(mapped));
  };
  if (isObject(value) && value.kind === 'EventList') {
    if (!Array.isArray(value.items)) {
      out.issues.push(issue(refOf(where), `${CODE}_BAD_RECORD`, 'EventList without an items array'));
      return;
    }
    const items = value.items;
    for (let i = 0; i < items.length && i < MAX_LIST_ITEMS; i++) map(items[i], where, `item ${i}`);
    if (items.length > MAX_LIST_ITEMS)
      out.issues.push(
        issue(
          refOf(where),
          `${CODE}_TOO_MANY_ITEMS`,
          `${items.length - MAX_LIST_ITEMS} items after the first ${MAX_LIST_ITEMS} are not read`,
          'reading',
        ),
      );
    return;
  }
  map(value, where, '');
}

async function* readLinesMode(
  input: SourceInput,
  context: Parameters<SourceDescriptor['read']>[1],
  host: string,
  keep: boolean,
) {
  const filter = new StageFilter();
  let pendingIssues: Issue[] = [];
  for await (const batch of sourceLines(input, context, (i) => pendingIssues.push(i))) {
    const out: Output = { events: [], issues: pendingIssues, unused: 0 };
    pendingIssues = [];
    for (let i = 0; i < batch.lines.length; i++) {
      const text = batch.lines[i];
      if (text.trim() === '') continue;
      const where: Where = { file: input.name, line: batch.lineNos[i], host, keep };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        out.issues.push(issue(refOf(where), `${CODE}_BAD_JSON`, clip((err as Error).message, 200)));
        continue;
      }
      mapRecord(value, where, filter, out);
    }
    yield out;
  }
  yield { events: filter.flush(), issues: pendingIssues, unused: 0 };
}

async function* readDocumentMode(input: SourceInput, host: string, keep: boolean) {
  const filter = new StageFilter();
  let out: Output = { events: [], issues: [], unused: 0 };
  const limits = {
    maxRecordBytes: MAX_RECORD_BYTES,
    maxDocumentBytes: MAX_DOCUMENT_BYTES,
    maxRecords: 10_000_000,
    code: CODE,
  };
  for await (const item of jsonDocumentRecords(input, limits)) {
    if ('issue' in item) out.issues.push(item.issue);
    else mapRecord(item.value, { file: input.name, line: item.line, host, keep }, filter, out);
    if (out.events.length >= BATCH_EVENTS) {
      yield out;
      out = { events: [], issues: [], unused: 0 };
    }
  }
  out.events.push(...filter.flush());
  yield out;
}

export const k8sAudit: SourceDescriptor = {
  name: FORMAT,
  summary: 'Kubernetes audit log (audit.k8s.io Event per line, or EventList): workload, exec, scale and RBAC requests',
  platform: 'container',
  delivers: 'events',
  sniff(head) {
    if (isDocument(head)) return AUDIT_API.test(head.slice(0, 4096)) && AUDIT_KIND.test(head.slice(0, 4096)) ? 90 : 0;
    return sniffJsonLine(
      head,
      (o) => (isAuditObject(o) ? 95 : isAuditItem(o) ? 90 : 0),
      (first) =>
        AUDIT_KIND.test(first) &&
        (AUDIT_API.test(first) ||
          (!/"apiVersion"/.test(first) && AUDIT_ID_KEY.test(first) && AUDIT_STAGE_KEY.test(first)))
          ? 70
          : 0,
    );
  },
  async *read(input, context) {
    const host = clip(input.hostHint ?? DEFAULT_HOST, MAX_NAME_CHARS);
    const keep = keepsRecords(context, FORMAT);
    const batches = isDocument(input.head.toString('utf8'))
      ? readDocumentMode(input, host, keep)
      : readLinesMode(input, context, host, keep);
    for await (const out of batches) {
      if (out.events.length === 0 && out.issues.length === 0 && out.unused === 0) continue;
      yield out.unused > 0 ? out : { events: out.events, issues: out.issues };
    }
  },
};
