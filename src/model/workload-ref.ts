/**
 * Which workload an event concerns, from what the event itself says: the Kubernetes object and its
 * owner (audit, inventory), the pod and its parent (Tetragon, Falco, cAdvisor labels), or a plain
 * Docker container's name. A pod named only by its name (Prometheus) is traced back to its owner by
 * the names Kubernetes generates (`<deployment>-<pod-template-hash>-<5>`, `<daemonset>-<5>`,
 * `<statefulset>-<ordinal>`, `<cronjob>-<minutes>-<5>`); the engine prefers an owner it has learned
 * from inventory or audit for that pod, so the guess is only the fallback.
 */
import type { CoalEvent } from './event.js';

export interface WorkloadRef {
  /** Kubernetes namespace, or `docker` for a plain Docker container. */
  namespace: string;
  /** The owner at the top of the chain (Deployment, DaemonSet, StatefulSet, CronJob, Job) or the bare pod/container. */
  name: string;
  /** `Deployment`, `DaemonSet`, …, `Pod`, `Container`; undefined when only a pod name's shape suggests the owner. */
  kind?: string;
  pod?: string;
  containerId?: string;
  containerName?: string;
  /** True when the owner was inferred from a pod name rather than stated. */
  guessed: boolean;
  runtime: 'kubernetes' | 'docker';
}

/** Workload kinds an owner chain may end at; anything else (RBAC, ConfigMap) is not a workload. */
const WORKLOAD_KINDS = new Set([
  'Pod',
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'ReplicationController',
]);
/** The alphabet Kubernetes draws generated name suffixes from (no vowels, no 0/1/3). */
const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]';
const POD_SUFFIX = new RegExp(`^(.{1,253})-${SUFFIX}{5}$`);
const TEMPLATE_HASH = new RegExp(`^(.{1,253})-${SUFFIX}{6,10}$`);
const CRONJOB_JOB = /^(.{1,253})-\d{8,10}$/;
const ORDINAL = /^(.{1,253})-\d{1,5}$/;
const MAX_NAME = 253;

/** The owner a ReplicaSet or Job name implies: `web-7d9f8c6b5` → Deployment web, `backup-28391234` → CronJob backup. */
export function ownerOfControllerName(
  kind: string,
  name: string,
  templateHash?: string,
): { kind: string; name: string } {
  if (kind === 'ReplicaSet') {
    if (templateHash && name.endsWith(`-${templateHash}`) && name.length > templateHash.length + 1)
      return { kind: 'Deployment', name: name.slice(0, -templateHash.length - 1) };
    const m = TEMPLATE_HASH.exec(name);
    if (m) return { kind: 'Deployment', name: m[1] };
  }
  if (kind === 'Job') {
    const m = CRONJOB_JOB.exec(name);
    if (m) return { kind: 'CronJob', name: m[1] };
  }
  return { kind, name };
}

/** The owner a bare pod name suggests, by the names controllers generate. */
export function ownerOfPodName(pod: string): { kind?: string; name: string } {
  if (pod.length > MAX_NAME) return { name: pod.slice(0, MAX_NAME) };
  const m = POD_SUFFIX.exec(pod);
  if (m) {
    const base = m[1];
    const rs = TEMPLATE_HASH.exec(base);
    if (rs) return { kind: 'Deployment', name: rs[1] };
    const job = CRONJOB_JOB.exec(base);
    if (job) return { kind: 'CronJob', name: job[1] };
    return { name: base };
  }
  const ord = ORDINAL.exec(pod);
  if (ord) return { kind: 'StatefulSet', name: ord[1] };
  return { kind: 'Pod', name: pod };
}

function canonicalKind(type: string): string {
  const lower = type.toLowerCase();
  for (const k of WORKLOAD_KINDS) if (k.toLowerCase() === lower) return k;
  return type;
}

/** The workload an event concerns, or undefined when it names none. */
export function workloadRefOf(event: CoalEvent): WorkloadRef | undefined {
  const w = event.coalmine.workload;
  const orch = event.orchestrator;
  const container = event.container;
  const containerId = container?.id;
  const containerName = container?.name;
  const namespace = w?.namespace ?? orch?.namespace;
  // an API request or inventory record about a Kubernetes object
  if (w && w.kind !== 'Container' && namespace !== undefined) {
    const kind = canonicalKind(w.kind);
    if (!WORKLOAD_KINDS.has(kind)) return undefined;
    const hash = w.labels?.['pod-template-hash'];
    if (kind === 'Pod') {
      const pod = w.name;
      if (w.owner) {
        const top = ownerOfControllerName(canonicalKind(w.owner.kind), w.owner.name, hash);
        return {
          namespace,
          name: top.name,
          kind: top.kind,
          pod,
          containerId,
          containerName,
          guessed: false,
          runtime: 'kubernetes',
        };
      }
      if (pod === undefined) return undefined;
      // an exec or a request naming a pod without its spec: its name says who owns it
      const guess = w.verb === 'create' ? { kind: 'Pod', name: pod } : ownerOfPodName(pod);
      return {
        namespace,
        name: guess.name,
        kind: guess.kind,
        pod,
        containerId,
        containerName,
        guessed: guess.kind !== 'Pod',
        runtime: 'kubernetes',
      };
    }
    const top = w.owner
      ? ownerOfControllerName(canonicalKind(w.owner.kind), w.owner.name, hash)
      : w.name !== undefined
        ? ownerOfControllerName(kind, w.name, hash)
        : undefined;
    if (!top) return undefined;
    return { namespace, name: top.name, kind: top.kind, guessed: false, runtime: 'kubernetes' };
  }
  // a process, alert or metric inside a pod
  const res = orch?.resource;
  if (namespace !== undefined && res?.name !== undefined && (res.type ?? 'pod').toLowerCase() === 'pod') {
    const pod = res.name;
    if (res.parent?.name) {
      const top = ownerOfControllerName(canonicalKind(res.parent.type ?? ''), res.parent.name);
      return {
        namespace,
        name: top.name,
        kind: top.kind || undefined,
        pod,
        containerId,
        containerName,
        guessed: false,
        runtime: 'kubernetes',
      };
    }
    const guess = ownerOfPodName(pod);
    return {
      namespace,
      name: guess.name,
      kind: guess.kind,
      pod,
      containerId,
      containerName,
      guessed: true,
      runtime: 'kubernetes',
    };
  }
  // a plain Docker container (docker events/inspect/stats, watch on a Docker host)
  if (containerId !== undefined || containerName !== undefined) {
    const compose = w?.labels?.['com.docker.compose.service'];
    const name = compose ?? containerName?.replace(/^\//, '') ?? containerId?.slice(0, 12);
    if (!name) return undefined;
    return {
      namespace: 'docker',
      name,
      kind: compose ? 'Service' : 'Container',
      containerId,
      containerName,
      guessed: false,
      runtime: 'docker',
    };
  }
  return undefined;
}
