/**
 * What a Kubernetes pod spec says about the code it runs, as WorkloadFacts, bounded: containers
 * (image, command, args, env, privileged, CPU limit and request), host namespaces and host paths,
 * service account, node. Read from an inventory object or an API request body alike; every field is
 * hostile, so wrong types are skipped, never trusted.
 */
import type { WorkloadContainer, WorkloadFacts } from '../model/event.js';
import { clip } from '../util/hostile.js';
import { isObject, textOf } from './net-fields.js';

type Obj = Record<string, unknown>;
export const MAX_CONTAINERS = 64;
const MAX_ARGS = 128;
const MAX_ENV = 64;
const MAX_ARG_CHARS = 4096;
const MAX_ENV_VALUE_CHARS = 1024;
const MAX_HOST_PATHS = 64;
export const MAX_LABELS = 64;
const MAX_NAME_CHARS = 253;
/** A CPU quantity: cores (`2`, `1.5`) or millicores (`500m`); other suffixes are not CPU as written by people. */
const CPU_QUANTITY = /^(\d{1,9}(?:\.\d{1,9})?)(m?)$/;

/** `500m` → 0.5, `2` → 2, a JSON number as is; undefined for anything else (negative, exponent, text). */
export function cpuCores(quantity: unknown): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) && quantity >= 0 ? quantity : undefined;
  if (typeof quantity !== 'string') return undefined;
  const m = CPU_QUANTITY.exec(quantity.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'm' ? n / 1000 : n;
}

/** A bounded list of strings from a hostile array; non-strings are dropped. */
export function stringsOf(v: unknown, max = MAX_ARGS, chars = MAX_ARG_CHARS): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const x of v.slice(0, max)) if (typeof x === 'string') out.push(clip(x, chars));
  return out;
}

/** Where an unresolved env value comes from, as shown in `NAME=(from secret)`. */
function valueFromOf(from: Obj): string {
  if (isObject(from.secretKeyRef)) return '(from secret)';
  if (isObject(from.configMapKeyRef)) return '(from configmap)';
  if (isObject(from.fieldRef)) return '(from field)';
  return '(from resource)';
}

/** `NAME=value`; a value from a secret, config map or field is not resolved: `NAME=(from secret)`. */
function envOf(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const e of v.slice(0, MAX_ENV)) {
    if (!isObject(e)) continue;
    const name = textOf(e.name, 256);
    if (name === undefined) continue;
    const value =
      typeof e.value === 'string'
        ? clip(e.value, MAX_ENV_VALUE_CHARS)
        : isObject(e.valueFrom)
          ? valueFromOf(e.valueFrom)
          : '';
    out.push(`${name}=${value}`);
  }
  return out;
}

/** One container of a pod spec, or undefined when it is no object. */
export function containerSpecOf(c: unknown): WorkloadContainer | undefined {
  if (!isObject(c)) return undefined;
  const out: WorkloadContainer = {};
  const name = textOf(c.name, MAX_NAME_CHARS);
  if (name !== undefined) out.name = name;
  // an image reference is a string: a number there is no image a runtime would pull
  const image = typeof c.image === 'string' ? textOf(c.image, 512) : undefined;
  if (image !== undefined) out.image = image;
  const command = stringsOf(c.command);
  if (command?.length) out.command = command;
  const args = stringsOf(c.args);
  if (args?.length) out.args = args;
  const env = envOf(c.env);
  if (env?.length) out.env = env;
  if (isObject(c.securityContext) && c.securityContext.privileged === true) out.privileged = true;
  const resources = isObject(c.resources) ? c.resources : {};
  const limit = isObject(resources.limits) ? cpuCores(resources.limits.cpu) : undefined;
  const request = isObject(resources.requests) ? cpuCores(resources.requests.cpu) : undefined;
  if (limit !== undefined) out.cpuLimitCores = limit;
  if (request !== undefined) out.cpuRequestCores = request;
  return out;
}

/** The spec's containers: regular, init and ephemeral, at most MAX_CONTAINERS together. */
export function specContainers(spec: Obj): unknown[] {
  const all: unknown[] = [];
  for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
    const list = spec[key];
    if (Array.isArray(list)) all.push(...list.slice(0, MAX_CONTAINERS - all.length));
  }
  return all;
}

/** The pod spec of a Pod, or the pod template's spec of a Deployment, ReplicaSet, DaemonSet, StatefulSet, Job or CronJob. */
export function podSpecOf(kind: string, object: Obj): Obj | undefined {
  const spec = isObject(object.spec) ? object.spec : undefined;
  if (spec === undefined) return undefined;
  if (kind === 'Pod') return spec;
  const template =
    kind === 'CronJob' && isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec)
      ? spec.jobTemplate.spec.template
      : spec.template;
  return isObject(template) && isObject(template.spec) ? template.spec : undefined;
}

/** The spec facts of WorkloadFacts (no verb, kind, name). */
export function podSpecFacts(spec: Obj): Partial<WorkloadFacts> {
  const facts: Partial<WorkloadFacts> = {};
  const containers = specContainers(spec)
    .map(containerSpecOf)
    .filter((c): c is WorkloadContainer => c !== undefined);
  if (containers.length > 0) facts.containers = containers;
  if (spec.hostPID === true) facts.hostPID = true;
  if (spec.hostNetwork === true) facts.hostNetwork = true;
  if (Array.isArray(spec.volumes)) {
    const paths: string[] = [];
    for (const v of spec.volumes.slice(0, 256)) {
      const path = isObject(v) && isObject(v.hostPath) ? textOf(v.hostPath.path, 1024) : undefined;
      if (path !== undefined && paths.length < MAX_HOST_PATHS) paths.push(path);
    }
    if (paths.length > 0) facts.hostPaths = paths;
  }
  const account = textOf(spec.serviceAccountName, MAX_NAME_CHARS) ?? textOf(spec.serviceAccount, MAX_NAME_CHARS);
  if (account !== undefined) facts.serviceAccount = account;
  const node = textOf(spec.nodeName, MAX_NAME_CHARS);
  if (node !== undefined) facts.node = node;
  return facts;
}

/** Labels as strings, at most MAX_LABELS, keys and values clipped. */
export function labelsOf(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const key of Object.keys(v)) {
    if (n >= MAX_LABELS) break;
    const value = v[key];
    if (typeof value !== 'string') continue;
    out[clip(key, 128)] = clip(value, 256);
    n++;
  }
  return n > 0 ? out : undefined;
}
