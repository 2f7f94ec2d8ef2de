/**
 * The `cloud:` policy judged against one launch of compute (AN0744): approved, citing the entry that
 * approved it, or not, naming the first condition that failed; undefined when there is no policy. Pure;
 * the engine calls it with what a control-plane call says. Every launch field is hostile: non-strings,
 * oversized values and inherited object keys approve nothing and meet no condition.
 */

import { compileGlob, type GlobMatcher } from '../util/glob.js';
import { clip } from '../util/hostile.js';
import { cited, expiredNote, inForce } from './approval-terms.js';
import type { ApprovalTerms, CloudPolicy } from './policy.js';

/** What the matcher needs of a launch (RunInstances, instances.insert, virtualMachines/write, …). */
export interface LaunchForApproval {
  /** ARN, email or object id of the caller. */
  principal?: string;
  /** The role an assumed-role session came from (`arn:aws:iam::1:role/path/name`), when the source says. */
  sessionIssuer?: string;
  userAgent?: string;
  /** An AWS service acting for the account (`autoscaling.amazonaws.com`). */
  invokedBy?: string;
  region?: string;
  instanceTypes: string[];
  tags: Record<string, string>;
  /** When the launch happened (ms): an entry past its `expires` by then approves nothing and meets no condition. */
  at: number;
}

export type CloudApproval = { approved: true; reason: string } | { approved: false; reason: string };

/** Longest launch value judged; a longer one approves nothing and meets no condition. */
const MAX_VALUE = 512;
/** Instance types and tags judged at most; a launch with more is not approved. */
const MAX_ITEMS = 256;
/** How much of a hostile value a reason quotes. */
const SHOWN = 120;
/** A session of a role: its ARN names the role (without its path) and the session. */
const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[^/]{1,128}$/;
/** A GCP machine type as its URL (`zones/z/machineTypes/n2-standard-4`): the type is the last segment. */
const GCP_MACHINE_TYPE = /\/machineTypes\/([^/]+)$/;

/** One entry as written, with its terms when it was written as a mapping. */
interface Entry {
  entry: string;
  terms?: ApprovalTerms;
}

interface CompiledCloudPolicy {
  ref: string;
  at: string;
  principals: Array<Entry & { match: GlobMatcher }>;
  pipelines: Array<Entry & { match: GlobMatcher }>;
  /** Lowercased service name → its entries as written. */
  services: Map<string, Entry[]>;
  /** Lowercased region → its entries as written. */
  regions: Map<string, Entry[]>;
  instanceFamilies: Array<Entry & { match: GlobMatcher }>;
  tags: Array<Entry & { name: string; match: GlobMatcher }>;
}

const COMPILED = new WeakMap<CloudPolicy, CompiledCloudPolicy>();

/** Entries by lowercased name, in order, each with its terms. */
function byName(entries: string[], terms: Array<ApprovalTerms | undefined> | undefined): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>();
  entries.forEach((entry, i) => {
    const key = entry.toLowerCase();
    out.set(key, [...(out.get(key) ?? []), { entry, terms: terms?.[i] }]);
  });
  return out;
}

function compile(policy: CloudPolicy): CompiledCloudPolicy {
  const cached = COMPILED.get(policy);
  if (cached) return cached;
  const terms = policy.terms;
  const tagTerms = terms?.tags;
  // identifiers the providers treat without case (IAM names, emails, object ids, region and type
  // names) match without case; user agents and tag values as written
  const compiled: CompiledCloudPolicy = {
    ref: policy.ref,
    at: `(${policy.ref})`,
    principals: policy.principals.map((entry, i) => ({
      entry,
      terms: terms?.principals?.[i],
      match: compileGlob(entry, true),
    })),
    pipelines: policy.pipelines.map((entry, i) => ({ entry, terms: terms?.pipelines?.[i], match: compileGlob(entry) })),
    services: byName(policy.services, terms?.services),
    regions: byName(policy.regions, terms?.regions),
    instanceFamilies: policy.instanceFamilies.map((entry, i) => ({
      entry,
      terms: terms?.instanceFamilies?.[i],
      match: compileGlob(entry, true),
    })),
    tags: Object.entries(policy.tags).map(([name, entry]) => ({
      name,
      entry,
      terms: tagTerms && Object.hasOwn(tagTerms, name) ? tagTerms[name] : undefined,
      match: compileGlob(entry),
    })),
  };
  COMPILED.set(policy, compiled);
  return compiled;
}

/** The matching entries: the first in force at `at`, else the first past its expiry (`lapsed`), else neither. */
function pick<E extends Entry>(list: readonly E[], matches: (e: E) => boolean, at: unknown): { live?: E; lapsed?: E } {
  let lapsed: E | undefined;
  for (const e of list) {
    if (!matches(e)) continue;
    if (inForce(e.terms, at)) return { live: e };
    lapsed ??= e;
  }
  return { lapsed };
}

/** The value when it is a string within the bound, else undefined (it approves nothing). */
function judged(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_VALUE ? value : undefined;
}

/** A value for a reason: a plain token as is, anything else quoted and clipped (sinks escape the rest). */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(text) ? text : JSON.stringify(clip(text, SHOWN));
}

function quoted(value: string): string {
  return JSON.stringify(clip(value, SHOWN));
}

/** The role an assumed-role session ARN names, as its IAM role ARN (role names are unique per account, whatever their path). */
function roleOfSession(principal: string): string | undefined {
  const m = ASSUMED_ROLE.exec(principal);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

/** An identity entry as findings cite it (`cloud.principals "arn:…"`), with its terms. */
interface Identity {
  label: string;
  terms?: ApprovalTerms;
}

/**
 * The identity entry that approves the launch: its principal (or the role of its session), its user
 * agent, or the service acting, in force at the launch (`live`); else the first that matched but had
 * expired by then (`lapsed`).
 */
function identityApproval(c: CompiledCloudPolicy, launch: LaunchForApproval): { live?: Identity; lapsed?: Identity } {
  let lapsed: Identity | undefined;
  const principal = judged(launch.principal);
  const identities = [principal, judged(launch.sessionIssuer), principal ? roleOfSession(principal) : undefined];
  for (const id of identities) {
    if (id === undefined) continue;
    const entry = pick(c.principals, (e) => e.match(id), launch.at);
    const found = entry.live ?? entry.lapsed;
    const identity = found && { label: `cloud.principals ${quoted(found.entry)}`, terms: found.terms };
    if (entry.live) return { live: identity };
    lapsed ??= identity;
  }
  const userAgent = judged(launch.userAgent);
  if (userAgent !== undefined) {
    const entry = pick(c.pipelines, (e) => e.match(userAgent), launch.at);
    const found = entry.live ?? entry.lapsed;
    const identity = found && { label: `cloud.pipelines ${quoted(found.entry)}`, terms: found.terms };
    if (entry.live) return { live: identity };
    lapsed ??= identity;
  }
  const service = judged(launch.invokedBy);
  if (service !== undefined) {
    const entry = pick(c.services.get(service.toLowerCase()) ?? [], () => true, launch.at);
    const found = entry.live ?? entry.lapsed;
    const identity = found && { label: `cloud.services ${quoted(found.entry)}`, terms: found.terms };
    if (entry.live) return { live: identity };
    lapsed ??= identity;
  }
  return { lapsed };
}

/** Why no identity entry approved the launch: each identity it named and the list that has no match for it. */
function identityFailure(c: CompiledCloudPolicy, launch: LaunchForApproval): string {
  if (c.principals.length + c.pipelines.length + c.services.size === 0)
    return `cloud: lists no principals, pipelines or services, so no launch is approved ${c.at}`;
  const had: string[] = [];
  if (typeof launch.principal === 'string')
    had.push(`principal ${quoted(launch.principal)} matches no cloud.principals entry`);
  if (typeof launch.userAgent === 'string')
    had.push(`user agent ${quoted(launch.userAgent)} matches no cloud.pipelines entry`);
  if (typeof launch.invokedBy === 'string') had.push(`service ${quoted(launch.invokedBy)} is not in cloud.services`);
  if (had.length === 0) return `no principal, user agent or service named, so no cloud: identity entry matches ${c.at}`;
  return `${had.join('; ')} ${c.at}`;
}

/** The instance type a family glob judges: a GCP machine type URL by its last segment. */
function typeName(type: string): string {
  return GCP_MACHINE_TYPE.exec(type)?.[1] ?? type;
}

/**
 * The `cloud:` policy's verdict on one launch at `launch.at`. Approved iff an identity entry in force matches (a principal glob
 * against the principal, its session's role or the session issuer; a pipeline glob against the user
 * agent; or the acting service listed) and the region is listed (when `regions` is given), every
 * instance type matches a family (when `instance_families` is given) and every required tag is present
 * with a matching value. What the launch does not say fails a condition that restricts it (an unknown
 * region against a region list). An entry past its `expires` at the launch matches nothing but still
 * restricts, and is named when it is why the launch fails. The reason names the approving entry (with
 * its own file:line, owner, reason and expiry when it has terms) or the first failed condition, with
 * the section's file:line.
 */
export function cloudApprovalOf(policy: CloudPolicy | undefined, launch: LaunchForApproval): CloudApproval | undefined {
  if (!policy) return undefined;
  const c = compile(policy);
  const no = (reason: string): CloudApproval => ({ approved: false, reason });

  const types: unknown = launch.instanceTypes;
  if (!Array.isArray(types)) return no(`the launch's instance types are not a list ${c.at}`);
  if (types.length > MAX_ITEMS)
    return no(`the launch names ${types.length} instance types, over the ${MAX_ITEMS} judged ${c.at}`);
  const tags: unknown = launch.tags;
  const tagRecord =
    tags !== null && typeof tags === 'object' && !Array.isArray(tags) ? (tags as Record<string, unknown>) : {};
  const tagCount = Object.keys(tagRecord).length;
  if (tagCount > MAX_ITEMS) return no(`the launch carries ${tagCount} tags, over the ${MAX_ITEMS} judged ${c.at}`);

  // an entry past its expiry at the launch matches nothing, but is named: it is why the launch is not approved
  const lapsed = (label: string, terms: ApprovalTerms | undefined) =>
    expiredNote(label, terms ?? { ref: c.ref }, launch.at, 'launch');
  const identity = identityApproval(c, launch);
  if (identity.live === undefined)
    return no(identity.lapsed ? lapsed(identity.lapsed.label, identity.lapsed.terms) : identityFailure(c, launch));

  if (c.regions.size > 0) {
    const region = judged(launch.region);
    if (launch.region === undefined) return no(`region unknown; cloud.regions restricts it ${c.at}`);
    const entry = region === undefined ? {} : pick(c.regions.get(region.toLowerCase()) ?? [], () => true, launch.at);
    if (entry.lapsed)
      return no(
        `region ${shown(launch.region)}: ${lapsed(`cloud.regions ${quoted(entry.lapsed.entry)}`, entry.lapsed.terms)}`,
      );
    if (!entry.live) return no(`region ${shown(launch.region)} is not in cloud.regions ${c.at}`);
  }

  if (c.instanceFamilies.length > 0) {
    if (types.length === 0) return no(`instance type unknown; cloud.instance_families restricts it ${c.at}`);
    for (const type of types) {
      const value = judged(type);
      const entry = value === undefined ? {} : pick(c.instanceFamilies, (e) => e.match(typeName(value)), launch.at);
      if (entry.lapsed)
        return no(
          `instance type ${shown(type)}: ${lapsed(`cloud.instance_families ${quoted(entry.lapsed.entry)}`, entry.lapsed.terms)}`,
        );
      if (!entry.live) return no(`instance type ${shown(type)} is not in cloud.instance_families ${c.at}`);
    }
  }

  for (const tag of c.tags) {
    if (!Object.hasOwn(tagRecord, tag.name)) return no(`no tag ${quoted(tag.name)} (cloud.tags, ${policy.ref})`);
    const value = tagRecord[tag.name];
    const text = typeof value === 'string' && value.length <= MAX_VALUE ? value : undefined;
    if (text === undefined || !tag.match(text))
      return no(
        `tag ${quoted(tag.name)} is ${typeof value === 'string' ? quoted(value) : 'not a string'}, not ${quoted(tag.entry)} (cloud.tags, ${policy.ref})`,
      );
    if (!inForce(tag.terms, launch.at))
      return no(`tag ${quoted(tag.name)}: ${lapsed(`cloud.tags ${tag.name}=${quoted(tag.entry)}`, tag.terms)}`);
  }

  return { approved: true, reason: `${identity.live.label} ${cited(identity.live.terms, c.ref)}` };
}
