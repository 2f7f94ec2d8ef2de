/**
 * The `containers:` policy judged against one workload (AN0745): which entry approves it, as one line
 * the finding can cite, or which entry would have but had expired by the time of the write, or neither.
 * Pure; the engine and triage call it with what they know of the workload and when it was written. Every workload field is hostile: image references that are not plain references, oversized
 * values and inherited object keys approve nothing.
 */
import { compileGlob, type GlobMatcher } from '../util/glob.js';
import { cited, expiredNote, inForce } from './approval-terms.js';
import type { ApprovalTerms, ContainerPolicy } from './policy.js';

/** What the matcher needs of a workload. `creators` are the identities whose writes were accepted. */
export interface WorkloadForApproval {
  namespace?: string;
  images: string[];
  digests: string[];
  creators: string[];
  labels: Record<string, string>;
  /** When the write judged happened (ms): an entry past its `expires` by then does not approve it. */
  at: number;
  /** What happened at `at`, as a lapsed entry's note says it (`write` when not given). */
  event?: string;
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

/** One entry as written, with its terms when it was written as a mapping. */
interface Entry {
  entry: string;
  terms?: ApprovalTerms;
}

interface CompiledContainerPolicy {
  ref: string;
  registries: Array<Entry & { prefix: string }>;
  images: Array<Entry & { match: GlobMatcher }>;
  /** Lowercased digest → its entries (a digest may be listed twice, with different terms). */
  digests: Map<string, Entry[]>;
  namespaces: Map<string, Entry[]>;
  creators: Array<Entry & { match: GlobMatcher }>;
  labels: Array<Entry & { name: string; match: GlobMatcher }>;
}

const COMPILED = new WeakMap<ContainerPolicy, CompiledContainerPolicy>();

function compile(policy: ContainerPolicy): CompiledContainerPolicy {
  const cached = COMPILED.get(policy);
  if (cached) return cached;
  const terms = policy.terms;
  const registries: CompiledContainerPolicy['registries'] = [];
  policy.registries.forEach((entry, i) => {
    const prefix = registryPrefix(entry);
    if (prefix) registries.push({ entry, prefix, terms: terms?.registries?.[i] });
  });
  const images: CompiledContainerPolicy['images'] = [];
  const digests = new Map<string, Entry[]>();
  policy.images.forEach((entry, i) => {
    const digest = entry.toLowerCase();
    const e = { entry, terms: terms?.images?.[i] };
    if (DIGEST.test(digest)) digests.set(digest, [...(digests.get(digest) ?? []), e]);
    else images.push({ ...e, match: compileGlob(entry) });
  });
  const namespaces = new Map<string, Entry[]>();
  policy.namespaces.forEach((entry, i) => {
    namespaces.set(entry, [...(namespaces.get(entry) ?? []), { entry, terms: terms?.namespaces?.[i] }]);
  });
  const labelTerms = terms?.labels;
  const compiled: CompiledContainerPolicy = {
    ref: policy.ref,
    registries,
    images,
    digests,
    namespaces,
    creators: policy.creators.map((entry, i) => ({ entry, terms: terms?.creators?.[i], match: compileGlob(entry) })),
    labels: Object.entries(policy.labels).map(([name, entry]) => ({
      name,
      entry,
      terms: labelTerms && Object.hasOwn(labelTerms, name) ? labelTerms[name] : undefined,
      match: compileGlob(entry),
    })),
  };
  COMPILED.set(policy, compiled);
  return compiled;
}

function usable(values: readonly unknown[]): values is string[] {
  return values.length <= MAX_ITEMS && values.every((v) => typeof v === 'string' && v.length <= MAX_VALUE);
}

/** How entries are picked: those in force at `at`, or (`lenient`) past their expiry too, to name the one that lapsed. */
interface Judging {
  at: unknown;
  lenient: boolean;
}

/** An entry that approved one part of the workload, named as findings cite it (`containers.images "x"`). */
interface Used {
  label: string;
  terms?: ApprovalTerms;
}

/** The first matching entry in force; when lenient and none is, the first matching one past its expiry. */
function pick<E extends Entry>(list: readonly E[], matches: (e: E) => boolean, j: Judging): E | undefined {
  let lapsed: E | undefined;
  for (const e of list) {
    if (!matches(e)) continue;
    if (inForce(e.terms, j.at)) return e;
    lapsed ??= e;
  }
  return j.lenient ? lapsed : undefined;
}

/** The entry approving one image: its registry, a repository glob, or its pinned digest. */
function imageApproval(c: CompiledContainerPolicy, image: string, j: Judging): Used | undefined {
  const repo = normalisedRepository(image);
  if (!repo) return undefined;
  const registry = pick(c.registries, (r) => repo === r.prefix || repo.startsWith(`${r.prefix}/`), j);
  if (registry) return { label: `containers.registries "${registry.entry}"`, terms: registry.terms };
  const byGlob = pick(c.images, (e) => e.match(repo) || e.match(image), j);
  if (byGlob) return { label: `containers.images "${byGlob.entry}"`, terms: byGlob.terms };
  const digest = pinnedDigest(image);
  const byDigest = digest ? pick(c.digests.get(digest) ?? [], () => true, j) : undefined;
  return byDigest ? { label: `containers.images "${byDigest.entry}"`, terms: byDigest.terms } : undefined;
}

/** The entries that approve the workload, the one to cite first; undefined when none does. */
function approving(c: CompiledContainerPolicy, w: WorkloadForApproval, j: Judging): Used[] | undefined {
  const { images, digests, creators } = w;
  if (typeof w.namespace === 'string') {
    const ns = pick(c.namespaces.get(w.namespace) ?? [], () => true, j);
    if (ns) return [{ label: `containers.namespaces "${ns.entry}"`, terms: ns.terms }];
  }

  if (creators.length > 0) {
    const byCreator = creators.map((u) => pick(c.creators, (e) => e.match(u), j));
    if (byCreator.every((e) => e !== undefined))
      return byCreator.map((e) => ({ label: `containers.creators "${e.entry}"`, terms: e.terms }));
  }

  const labels = w.labels;
  if (labels !== null && typeof labels === 'object') {
    const byLabel = pick(
      c.labels,
      (e) => {
        if (!Object.hasOwn(labels, e.name)) return false;
        const value = labels[e.name];
        return typeof value === 'string' && value.length <= MAX_VALUE && e.match(value);
      },
      j,
    );
    if (byLabel) return [{ label: `containers.labels ${byLabel.name}="${byLabel.entry}"`, terms: byLabel.terms }];
  }

  // every image must be approved; the digests the runtime reported approve the images they ran only
  // when there are at least as many (each image has one) and every one is listed
  const ranDigests = digests.map((d) => d.toLowerCase());
  const byRuntime =
    ranDigests.length > 0 && ranDigests.length >= images.length
      ? ranDigests.map((d) => pick(c.digests.get(d) ?? [], () => true, j))
      : [];
  const runtime: Used[] | undefined =
    byRuntime.length > 0 && byRuntime.every((e) => e !== undefined)
      ? byRuntime.map((e) => ({ label: `containers.images "${e.entry}"`, terms: e.terms }))
      : undefined;
  if (images.length === 0) return runtime;
  const used: Used[] = [];
  let usedRuntime = false;
  for (const image of images) {
    const approved = imageApproval(c, image, j);
    if (approved) used.push(approved);
    else if (runtime && normalisedRepository(image)) {
      if (!usedRuntime) used.push(...runtime);
      usedRuntime = true;
    } else return undefined;
  }
  return used;
}

/**
 * The `containers:` policy's verdict on a workload at the time of the write judged (`w.at`): approved,
 * with the entry to cite; or not approved only because an entry that would have approved it had expired
 * by then, naming that entry; undefined when there is no policy or nothing approves it.
 */
export type ContainerApproval = { approved: true; reason: string } | { approved: false; expired: string };

/**
 * The `containers:` entry that approves the workload at `w.at`, as one line (`containers.registries
 * "registry.example.com" (coalmine.yaml:40)`; an entry with terms cites its own line, owner, reason and
 * expiry), or, when only an entry past its expiry would have, that entry with when it expired. Any one
 * kind of entry approves: the namespace, every creator, a label, or every image (by registry,
 * repository glob or digest; the digests the runtime reported stand for images written without one). An
 * anonymous creator is never approved, whatever else matches.
 */
export function containerApprovalOf(
  policy: ContainerPolicy | undefined,
  w: WorkloadForApproval,
): ContainerApproval | undefined {
  if (!policy) return undefined;
  const { images, digests, creators } = w;
  if (!Array.isArray(images) || !Array.isArray(digests) || !Array.isArray(creators)) return undefined;
  if (!usable(images) || !usable(digests) || !usable(creators)) return undefined;
  if (creators.some((u) => ANONYMOUS.has(u))) return undefined;
  const c = compile(policy);
  const live = approving(c, w, { at: w.at, lenient: false });
  if (live) return { approved: true, reason: `${live[0].label} ${cited(live[0].terms, c.ref)}` };
  const lapsed = approving(c, w, { at: w.at, lenient: true })?.find((u) => !inForce(u.terms, w.at));
  if (!lapsed?.terms) return undefined;
  return { approved: false, expired: expiredNote(lapsed.label, lapsed.terms, w.at, w.event ?? 'write') };
}

/** The `containers:` entry that approves the workload at `w.at`, as one line, or undefined (see containerApprovalOf). */
export function approvalOf(policy: ContainerPolicy | undefined, w: WorkloadForApproval): string | undefined {
  const verdict = containerApprovalOf(policy, w);
  return verdict?.approved ? verdict.reason : undefined;
}
