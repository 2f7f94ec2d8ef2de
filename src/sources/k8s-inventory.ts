/**
 * Kubernetes inventory: `kubectl get pods,deployments,daemonsets,statefulsets,replicasets,jobs,cronjobs
 * -A -o json` (a `List` whose `items` are the objects) or one object (`kubectl get pod NAME -o json`).
 * Each workload object is one `container-seen` state event with its WorkloadFacts (verb `exists`), at its
 * creation time; each container of a Pod is one more, with container.* from its status (runtime id,
 * image and digest). The owner is the top of the ownerReferences chain as far as this file resolves it
 * (Pod → ReplicaSet → Deployment), so owners are resolved once the whole file is read. Other kinds
 * (Service, ConfigMap, …) are counted as unused. `original` keeps the object's identity (kind,
 * apiVersion, metadata names, owners) and a container's status, not the whole object: a List of
 * thousands of pods with managedFields would otherwise be held in memory until the end.
 */
import { isIP } from 'node:net';
import type { CoalEvent, WorkloadContainer, WorkloadFacts } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { imageOf } from './container-fields.js';
import { jsonDocumentRecords } from './json-document.js';
import { isObject, numberOf, textOf } from './net-fields.js';
import { containerSpecOf, labelsOf, podSpecFacts, podSpecOf, specContainers } from './pod-spec.js';
import type { SourceBatch, SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;
const NAME = 'k8s-inventory';
const CODE = 'K8S_INVENTORY';
const WORKLOAD_KINDS = new Set(['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob']);
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
/** A Pod with managedFields is tens of KiB; a record past this is no object kubectl prints. */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_OBJECTS = 50_000;
const MAX_OWNER_DEPTH = 8;
const MAX_NAME_CHARS = 253;
const BATCH = 512;
/** `containerd://<id>`, `docker://<id>`, `cri-o://<id>`: the runtime and the id it gives. */
const CONTAINER_ID = /^(docker|containerd|cri-o):\/\/([0-9a-f]{12,64})$/;
const DIGEST = /(sha256:[0-9a-f]{64})$/;

interface OwnerRef {
  kind: string;
  name: string;
  uid?: string;
}

/** An object read, its events built, waiting for the owner chain to be known. */
interface Pending {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  owner?: OwnerRef;
  events: CoalEvent[];
}

function ownerOf(metadata: Obj): OwnerRef | undefined {
  if (!Array.isArray(metadata.ownerReferences)) return undefined;
  const refs = metadata.ownerReferences.slice(0, 16).filter(isObject);
  const ref = refs.find((r) => r.controller === true) ?? refs[0];
  if (ref === undefined) return undefined;
  const kind = textOf(ref.kind, 64);
  const name = textOf(ref.name, MAX_NAME_CHARS);
  if (kind === undefined || name === undefined) return undefined;
  const uid = textOf(ref.uid, 64);
  return uid === undefined ? { kind, name } : { kind, name, uid };
}

function identityOf(o: Obj, metadata: Obj): Obj {
  const meta: Obj = {};
  for (const key of ['name', 'namespace', 'uid', 'creationTimestamp']) {
    const v = textOf(metadata[key], MAX_NAME_CHARS);
    if (v !== undefined) meta[key] = v;
  }
  if (Array.isArray(metadata.ownerReferences)) meta.ownerReferences = metadata.ownerReferences.slice(0, 16);
  return { kind: textOf(o.kind, 64), apiVersion: textOf(o.apiVersion, 64), metadata: meta };
}

function replicasOf(o: Obj): number | undefined {
  const spec = isObject(o.spec) ? o.spec : {};
  const status = isObject(o.status) ? o.status : {};
  for (const v of [spec.replicas, status.replicas, status.desiredNumberScheduled]) {
    const n = numberOf(v);
    if (n !== undefined && Number.isInteger(n) && n >= 0 && n <= 1_000_000) return n;
  }
  return undefined;
}

/** A pod's addresses (`status.podIP`, `status.podIPs[].ip`), valid IPs only, at most 4. */
function podIPsOf(status: Obj): string[] {
  const out: string[] = [];
  const addOne = (v: unknown) => {
    const ip = textOf(v, 64);
    if (ip !== undefined && isIP(ip) !== 0 && !out.includes(ip) && out.length < 4) out.push(ip);
  };
  addOne(status.podIP);
  if (Array.isArray(status.podIPs)) for (const p of status.podIPs.slice(0, 8)) if (isObject(p)) addOne(p.ip);
  return out;
}

/** The status of the container named `name`, from the pod's container, init and ephemeral statuses. */
function statusesByName(status: Obj): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const key of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    const list = status[key];
    if (!Array.isArray(list)) continue;
    for (const s of list.slice(0, 64)) {
      const name = isObject(s) ? textOf(s.name, MAX_NAME_CHARS) : undefined;
      if (name !== undefined && isObject(s) && !out.has(name)) out.set(name, s);
    }
  }
  return out;
}

function containerEvent(
  base: CoalEvent,
  facts: WorkloadFacts,
  spec: WorkloadContainer,
  status: Obj | undefined,
  report: (reason: string) => void,
): CoalEvent {
  const container: NonNullable<CoalEvent['container']> = {};
  const rawId = status ? textOf(status.containerID, 128) : undefined;
  if (rawId !== undefined) {
    const m = CONTAINER_ID.exec(rawId);
    if (m) {
      container.runtime = m[1];
      container.id = m[2];
    } else report(`containerID ${JSON.stringify(clip(rawId, 80))} is not runtime://hex`);
  }
  if (spec.name !== undefined) container.name = spec.name;
  // the status names the image the runtime pulled (with the digest in imageID); the spec what was asked for
  const image = imageOf(status?.image) ?? imageOf(spec.image);
  const digest = DIGEST.exec(textOf(status?.imageID, 512) ?? '')?.[1];
  if (image !== undefined || digest !== undefined) {
    const all = [...(image?.hash?.all ?? [])];
    if (digest !== undefined && !all.includes(digest)) all.push(digest);
    container.image = { ...image, ...(all.length > 0 ? { hash: { all } } : {}) };
  }
  if (spec.privileged) container.security_context = { privileged: true };
  const event: CoalEvent = {
    ...structuredClone(base),
    container,
    coalmine: { ...structuredClone(base.coalmine), workload: { ...facts, containers: [spec] } },
  };
  event.event.dataset = `${NAME}.container`;
  event.original = { ...base.original, containerStatus: status ?? null };
  if (spec.cpuLimitCores !== undefined) event.metrics = { cpu_limit_cores: spec.cpuLimitCores };
  return event;
}

/** The object's events (its own, and one per container of a Pod), or why none. */
function objectOf(
  o: unknown,
  line: number,
  file: string,
  hostHint: string | undefined,
  mtimeMs: number | undefined,
  issues: Issue[],
): Pending | 'unused' | undefined {
  const bad = (code: string, reason: string) => issues.push(issue({ file, line }, `${CODE}_${code}`, reason));
  if (!isObject(o)) {
    bad('NOT_OBJECT', 'item is not a JSON object');
    return undefined;
  }
  const kind = textOf(o.kind, 64);
  if (kind === undefined) {
    bad('NO_KIND', 'object has no kind');
    return undefined;
  }
  if (!WORKLOAD_KINDS.has(kind)) return 'unused';
  const metadata = isObject(o.metadata) ? o.metadata : {};
  const name = textOf(metadata.name, MAX_NAME_CHARS);
  if (name === undefined) {
    bad('NO_NAME', `${kind} has no metadata.name`);
    return undefined;
  }
  let ts = parseTimestamp(metadata.creationTimestamp);
  if (ts === undefined) {
    const shown = clip(String(metadata.creationTimestamp), 64);
    bad(
      'BAD_TIME',
      `${kind} ${name}: creationTimestamp ${JSON.stringify(shown)} is no time${mtimeMs === undefined ? '; skipped' : '; the file time stands in'}`,
    );
    if (mtimeMs === undefined) return undefined;
    ts = mtimeMs;
  }
  const namespace = textOf(metadata.namespace, MAX_NAME_CHARS);
  const facts: WorkloadFacts = { verb: 'exists', kind, name };
  if (namespace !== undefined) facts.namespace = namespace;
  const replicas = kind === 'Pod' ? undefined : replicasOf(o);
  if (replicas !== undefined) facts.replicas = replicas;
  const spec = podSpecOf(kind, o);
  if (spec === undefined) bad('NO_SPEC', `${kind} ${name} has no pod spec`);
  else {
    if (specContainers(spec).length === 0) bad('NO_CONTAINERS', `${kind} ${name}: its pod spec lists no containers`);
    Object.assign(facts, podSpecFacts(spec));
  }
  const labels = labelsOf(metadata.labels);
  if (labels !== undefined) facts.labels = labels;
  facts.createdMs = ts;
  const podIPs = podIPsOf(isObject(o.status) ? o.status : {});
  if (kind === 'Pod' && podIPs.length > 0) facts.podIPs = podIPs;
  const node = facts.node;
  const base: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'state',
      category: ['host'],
      type: ['info'],
      action: 'container-seen',
      dataset: `${NAME}.${kind.toLowerCase()}`,
    },
    original: identityOf(o, metadata),
    coalmine: { ts, format: NAME, ref: { file, line }, workload: facts },
  };
  const host = node ?? hostHint;
  if (host !== undefined) base.host = { name: clip(host, MAX_NAME_CHARS) };
  base.orchestrator = { resource: { type: kind.toLowerCase(), name } };
  if (namespace !== undefined) base.orchestrator.namespace = namespace;
  const events = [base];
  if (kind === 'Pod' && spec !== undefined) {
    const statuses = statusesByName(isObject(o.status) ? o.status : {});
    for (const c of specContainers(spec)) {
      const cs = containerSpecOf(c);
      if (cs === undefined) {
        bad('BAD_CONTAINER', `Pod ${name}: a container is not an object`);
        continue;
      }
      const status = cs.name !== undefined ? statuses.get(cs.name) : undefined;
      events.push(
        containerEvent(base, facts, cs, status, (reason) => bad('BAD_CONTAINER_ID', `Pod ${name}: ${reason}`)),
      );
    }
  }
  const pending: Pending = { kind, name, events };
  if (namespace !== undefined) pending.namespace = namespace;
  const uid = textOf(metadata.uid, 64);
  if (uid !== undefined) pending.uid = uid;
  const owner = ownerOf(metadata);
  if (owner !== undefined) pending.owner = owner;
  return pending;
}

/** The top of each object's owner chain, as far as the objects read resolve it. */
function resolveOwners(objects: Pending[]): void {
  const byUid = new Map<string, Pending>();
  const byName = new Map<string, Pending>();
  for (const p of objects) {
    if (p.uid !== undefined) byUid.set(p.uid, p);
    byName.set(`${p.namespace ?? ''}/${p.kind}/${p.name}`, p);
  }
  for (const p of objects) {
    let top = p.owner;
    for (let depth = 0; top !== undefined && depth < MAX_OWNER_DEPTH; depth++) {
      const next =
        (top.uid !== undefined ? byUid.get(top.uid) : undefined) ??
        byName.get(`${p.namespace ?? ''}/${top.kind}/${top.name}`);
      if (next?.owner === undefined) break;
      top = next.owner;
    }
    if (top === undefined) continue;
    const parent = p.owner === undefined ? undefined : { type: p.owner.kind.toLowerCase(), name: p.owner.name };
    for (const e of p.events) {
      if (e.coalmine.workload) e.coalmine.workload.owner = { kind: top.kind, name: top.name };
      if (e.orchestrator?.resource && parent) e.orchestrator.resource.parent = parent;
    }
  }
}

/** How much the head looks like kubectl's JSON: an object whose first apiVersion is a workload API's. */
function sniffScore(head: string): number {
  const start = head.trimStart();
  if (!start.startsWith('{')) return 0;
  const top = start.slice(0, 4096);
  const api = /"apiVersion"\s*:\s*"([^"]{1,64})"/.exec(top)?.[1];
  if (api === undefined || !/^(v1|apps\/v1|batch\/v1|batch\/v1beta1|extensions\/v1beta1)$/.test(api)) return 0;
  const kind = /"kind"\s*:\s*"(Pod|Deployment|ReplicaSet|DaemonSet|StatefulSet|Job|CronJob)"/.exec(top);
  if (kind === null) return 0;
  return /"items"\s*:\s*\[/.test(top) || /"metadata"\s*:/.test(top) ? 85 : 0;
}

export const k8sInventory: SourceDescriptor = {
  name: NAME,
  summary: 'Kubernetes inventory: kubectl get pods,deployments,… -A -o json (a List) or one object',
  platform: 'container',
  delivers: 'state',
  sniff(head) {
    return sniffScore(head);
  },
  async *read(input) {
    const file = input.name;
    const objects: Pending[] = [];
    let issues: Issue[] = [];
    let unused = 0;
    for await (const item of jsonDocumentRecords(input, {
      maxRecordBytes: MAX_RECORD_BYTES,
      maxDocumentBytes: MAX_DOCUMENT_BYTES,
      maxRecords: MAX_OBJECTS,
      code: CODE,
    })) {
      if ('issue' in item) {
        issues.push(item.issue);
        continue;
      }
      const read = objectOf(item.value, item.line, file, input.hostHint, input.mtimeMs, issues);
      if (read === 'unused') unused++;
      else if (read !== undefined) objects.push(read);
      if (issues.length >= BATCH) {
        yield { events: [], issues };
        issues = [];
      }
    }
    resolveOwners(objects);
    let batch: SourceBatch = { events: [], issues, unused };
    for (const p of objects) {
      batch.events.push(...p.events);
      if (batch.events.length >= BATCH) {
        yield batch;
        batch = { events: [], issues: [] };
      }
    }
    if (batch.events.length > 0 || batch.issues.length > 0 || (batch.unused ?? 0) > 0) yield batch;
  },
};
