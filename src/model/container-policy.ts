/**
 * The `containers:` policy judged against one workload (AN0745): which entry approves it, as one line
 * the finding can cite, or undefined. Pure; the engine and triage call it with what they know of the
 * workload. Every workload field is hostile: image references that are not plain references, oversized
 * values and inherited object keys approve nothing.
 */
import { compileGlob, type GlobMatcher } from '../util/glob.js';
import type { ContainerPolicy } from './policy.js';

/** What the matcher needs of a workload. `creators` are the identities whose writes were accepted. */
export interface WorkloadForApproval {
  namespace?: string;
  images: string[];
  digests: string[];
  creators: string[];
  labels: Record<string, string>;
}

/** Longest image reference, namespace, creator or label value judged; longer values approve nothing. */
const MAX_VALUE = 512;
/** Workload values judged at most (images, digests, creators, labels); beyond that: not approved. */
const MAX_ITEMS = 256;
/** A reference as registries write it (host[:port]/path[:tag][@digest]): no spaces, quotes or controls. */
const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Identities that are never approved by any entry: anonymous access is the intrusion, not a deployment. */
const ANONYMOUS = new Set(['system:anonymous']);
/** Docker Hub's other spellings. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The repository an image reference names, normalised as Docker does: `nginx:1.25` →
 * `docker.io/library/nginx`, `user/x@sha256:…` → `docker.io/user/x`, registry hosts lowercased.
 * Undefined for anything that is not a plain reference.
 */
export function normalisedRepository(image: string): string | undefined {
  if (image.length === 0 || image.length > MAX_VALUE || !REFERENCE.test(image)) return undefined;
  let ref = image;
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  const parts = ref.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const first = parts[0];
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) return parts.length === 1 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
  const host = first.toLowerCase();
  const rest = parts.slice(1).join('/');
  if (DOCKER_HUB.has(host)) return parts.length === 2 ? `docker.io/library/${rest}` : `docker.io/${rest}`;
  return `${host}/${rest}`;
}

/** A `registries:` entry as a repository prefix: host lowercased, Docker Hub spelled one way, no trailing `/`. */
function registryPrefix(entry: string): string | undefined {
  const trimmed = entry.replace(/\/+$/, '');
  if (trimmed.length === 0 || !REFERENCE.test(trimmed) || trimmed.includes('@')) return undefined;
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const host = DOCKER_HUB.has(parts[0].toLowerCase()) ? 'docker.io' : parts[0].toLowerCase();
  return [host, ...parts.slice(1)].join('/');
}

/** The digest an image reference pins (`…@sha256:hex`), lowercased. */
function pinnedDigest(image: string): string | undefined {
  const at = image.lastIndexOf('@');
  if (at < 0) return undefined;
  const digest = image.slice(at + 1).toLowerCase();
  return DIGEST.test(digest) ? digest : undefined;
}

interface CompiledContainerPolicy {
  policy: ContainerPolicy;
  at: string;
  registries: Array<{ entry: string; prefix: string }>;
  images: Array<{ entry: string; match: GlobMatcher }>;
  digests: Map<string, string>;
  namespaces: Set<string>;
  creators: Array<{ entry: string; match: GlobMatcher }>;
  labels: Array<{ name: string; entry: string; match: GlobMatcher }>;
}

const COMPILED = new WeakMap<ContainerPolicy, CompiledContainerPolicy>();

function compile(policy: ContainerPolicy): CompiledContainerPolicy {
  const cached = COMPILED.get(policy);
  if (cached) return cached;
  const registries: CompiledContainerPolicy['registries'] = [];
  for (const entry of policy.registries) {
    const prefix = registryPrefix(entry);
    if (prefix) registries.push({ entry, prefix });
  }
  const images: CompiledContainerPolicy['images'] = [];
  const digests = new Map<string, string>();
  for (const entry of policy.images) {
    const digest = entry.toLowerCase();
    if (DIGEST.test(digest)) digests.set(digest, entry);
    else images.push({ entry, match: compileGlob(entry) });
  }
  const compiled: CompiledContainerPolicy = {
    policy,
    at: ` (${policy.ref})`,
    registries,
    images,
    digests,
    namespaces: new Set(policy.namespaces),
    creators: policy.creators.map((entry) => ({ entry, match: compileGlob(entry) })),
    labels: Object.entries(policy.labels).map(([name, entry]) => ({ name, entry, match: compileGlob(entry) })),
  };
  COMPILED.set(policy, compiled);
  return compiled;
}

function usable(values: readonly unknown[]): values is string[] {
  return values.length <= MAX_ITEMS && values.every((v) => typeof v === 'string' && v.length <= MAX_VALUE);
}

/** The entry approving one image: its registry, a repository glob, or its pinned digest. */
function imageApproval(c: CompiledContainerPolicy, image: string): string | undefined {
  const repo = normalisedRepository(image);
  if (!repo) return undefined;
  const registry = c.registries.find((r) => repo === r.prefix || repo.startsWith(`${r.prefix}/`));
  if (registry) return `containers.registries "${registry.entry}"`;
  const byGlob = c.images.find((e) => e.match(repo) || e.match(image));
  if (byGlob) return `containers.images "${byGlob.entry}"`;
  const digest = pinnedDigest(image);
  const byDigest = digest ? c.digests.get(digest) : undefined;
  return byDigest ? `containers.images "${byDigest}"` : undefined;
}

/**
 * The `containers:` entry that approves the workload, as one line (`containers.registries
 * "registry.example.com" (coalmine.yaml:40)`), or undefined. Any one kind of entry approves: the
 * namespace, every creator, a label, or every image (by registry, repository glob or digest; the
 * digests the runtime reported stand for images written without one). An anonymous creator is never
 * approved, whatever else matches.
 */
export function approvalOf(policy: ContainerPolicy | undefined, w: WorkloadForApproval): string | undefined {
  if (!policy) return undefined;
  const { images, digests, creators } = w;
  if (!Array.isArray(images) || !Array.isArray(digests) || !Array.isArray(creators)) return undefined;
  if (!usable(images) || !usable(digests) || !usable(creators)) return undefined;
  if (creators.some((u) => ANONYMOUS.has(u))) return undefined;
  const c = compile(policy);

  if (typeof w.namespace === 'string' && c.namespaces.has(w.namespace))
    return `containers.namespaces "${w.namespace}"${c.at}`;

  if (creators.length > 0) {
    const byCreator = creators.map((u) => c.creators.find((e) => e.match(u)));
    if (byCreator.every((e) => e !== undefined)) return `containers.creators "${byCreator[0]?.entry}"${c.at}`;
  }

  const labels = w.labels;
  if (labels !== null && typeof labels === 'object') {
    for (const e of c.labels) {
      if (!Object.hasOwn(labels, e.name)) continue;
      const value = labels[e.name];
      if (typeof value === 'string' && value.length <= MAX_VALUE && e.match(value))
        return `containers.labels ${e.name}="${e.entry}"${c.at}`;
    }
  }

  // every image must be approved; the digests the runtime reported approve the images they ran only
  // when there are at least as many (each image has one) and every one is listed
  const ranDigests = digests.map((d) => d.toLowerCase());
  const byRuntimeDigest =
    ranDigests.length > 0 && ranDigests.length >= images.length && ranDigests.every((d) => c.digests.has(d))
      ? c.digests.get(ranDigests[0])
      : undefined;
  if (images.length === 0)
    return byRuntimeDigest !== undefined ? `containers.images "${byRuntimeDigest}"${c.at}` : undefined;
  let why: string | undefined;
  for (const image of images) {
    const approved =
      imageApproval(c, image) ??
      (byRuntimeDigest !== undefined && normalisedRepository(image)
        ? `containers.images "${byRuntimeDigest}"`
        : undefined);
    if (!approved) return undefined;
    why ??= approved;
  }
  return `${why}${c.at}`;
}
