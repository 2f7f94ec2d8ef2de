/**
 * Entities and the links between them, for all four analytics: host, process (with lineage),
 * user, container, pod, workload, cloud instance, IP, account, principal.
 * A key is a stable string `<type>:<id>`; ids are escaped so a hostile field cannot forge a key.
 */
import { isIP } from 'node:net';
import type { CoalEvent } from './event.js';

export type EntityType =
  | 'host'
  | 'process'
  | 'user'
  | 'container'
  | 'pod'
  | 'workload'
  | 'instance'
  | 'ip'
  | 'account'
  | 'principal';

export type EntityKey = string;

export type LinkRel =
  | 'runs_on' // process|container|pod → host, pod → node
  | 'runs_in' // process → container, container → pod
  | 'child_of' // process → parent process
  | 'executed_by' // process → user
  | 'member_of' // pod → workload, instance → account
  | 'owns_ip' // host|instance → ip
  | 'created_by'; // instance|workload → principal

export interface EntityLink {
  from: EntityKey;
  rel: LinkRel;
  to: EntityKey;
}

/** Escape the separator so `host:a:b` can never be confused with a nested key. */
function part(value: string | number): string {
  const s = typeof value === 'number' ? String(value) : value;
  if (typeof value === 'number' || (s.indexOf('%') < 0 && s.indexOf(':') < 0)) return s;
  return s.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function entityKey(type: EntityType, ...ids: Array<string | number>): EntityKey {
  let key: string = type;
  for (let i = 0; i < ids.length; i++) key += `:${part(ids[i])}`;
  return key;
}

export function entityType(key: EntityKey): EntityType {
  return key.slice(0, key.indexOf(':')) as EntityType;
}

export const UNKNOWN_HOST = '(unknown-host)';

/** A host known only by its address (`10.0.0.5`, `2001:db8::7`): findings about it are about an `ip` entity. */
export function isAddressHost(name: string): boolean {
  return isIP(name) !== 0;
}

export function hostKeyOf(event: CoalEvent): EntityKey {
  return entityKey('host', event.host?.name ?? UNKNOWN_HOST);
}

/** A process is identified by its entity_id when the source has one (Windows ProcessGuid), else host+pid. */
export function processKey(hostName: string, pid: number | undefined, entityId?: string): EntityKey | undefined {
  // entityKey's form, written out: built for every new process, so no argument array per call
  if (entityId) return `process:${part(hostName)}:${part(entityId)}`;
  if (pid === undefined) return undefined;
  return `process:${part(hostName)}:${pid}`;
}

/** `%25` and `%3A` back to `%` and `:` (what `part` escaped). */
function unescapePart(s: string): string {
  return s.indexOf('%') < 0 ? s : s.replace(/%(25|3A)/g, (_, code: string) => (code === '25' ? '%' : ':'));
}

/**
 * The host and the id (a pid as written, or the entity_id) a process key names; undefined for any
 * other key. The id alone does not say which of the two it is: a caller checks the key it finds.
 */
export function processKeyParts(key: EntityKey): { host: string; id: string } | undefined {
  if (!key.startsWith('process:')) return undefined;
  const sep = key.indexOf(':', 8);
  if (sep < 0 || key.indexOf(':', sep + 1) >= 0) return undefined;
  return { host: unescapePart(key.slice(8, sep)), id: unescapePart(key.slice(sep + 1)) };
}

export function processKeyOf(event: CoalEvent): EntityKey | undefined {
  const p = event.process;
  if (!p) return undefined;
  return processKey(event.host?.name ?? UNKNOWN_HOST, p.pid, p.entity_id);
}

export function parentKeyOf(event: CoalEvent): EntityKey | undefined {
  const parent = event.process?.parent;
  if (!parent) return undefined;
  return processKey(event.host?.name ?? UNKNOWN_HOST, parent.pid, parent.entity_id);
}

/**
 * A workload: what a finding about containers is about, so 50 replicas are one entity. Keyed by
 * cluster, namespace and the owner's name (not its kind: Prometheus and a pod name say only the name).
 * Plain Docker: the cluster is the host and the namespace `docker`.
 */
export function workloadKey(cluster: string, namespace: string, name: string): EntityKey {
  return entityKey('workload', cluster, namespace, name);
}

/** Every entity an event names, and how they relate. */
export function linksOf(event: CoalEvent): EntityLink[] {
  const links: EntityLink[] = [];
  const host = hostKeyOf(event);
  const hostName = event.host?.name ?? UNKNOWN_HOST;
  const proc = processKeyOf(event);
  const container = event.container?.id ? entityKey('container', event.container.id) : undefined;
  if (proc) {
    links.push({ from: proc, rel: 'runs_on', to: host });
    const parent = parentKeyOf(event);
    if (parent) links.push({ from: proc, rel: 'child_of', to: parent });
    const userName = event.process?.user?.name ?? event.user?.name;
    if (userName) links.push({ from: proc, rel: 'executed_by', to: entityKey('user', hostName, userName) });
    if (container) links.push({ from: proc, rel: 'runs_in', to: container });
  }
  if (container) {
    links.push({ from: container, rel: 'runs_on', to: host });
    const ns = event.orchestrator?.namespace;
    const podName = event.orchestrator?.resource?.type === 'pod' ? event.orchestrator.resource.name : undefined;
    if (ns && podName) links.push({ from: container, rel: 'runs_in', to: entityKey('pod', ns, podName) });
  }
  const instance = event.cloud?.instance?.id ? entityKey('instance', event.cloud.instance.id) : undefined;
  if (instance) {
    for (const ip of event.host?.ip ?? []) links.push({ from: instance, rel: 'owns_ip', to: entityKey('ip', ip) });
    const account = event.cloud?.account?.id;
    if (account)
      links.push({
        from: instance,
        rel: 'member_of',
        to: entityKey('account', event.cloud?.provider ?? 'cloud', account),
      });
  } else {
    for (const ip of event.host?.ip ?? []) links.push({ from: host, rel: 'owns_ip', to: entityKey('ip', ip) });
  }
  return links;
}
