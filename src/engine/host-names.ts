/**
 * One host, however its sources spell it: Defender writes `ws-fin-07.corp.example.com`, typeperf and
 * the policy `WS-FIN-07`. `HostNames` gives every spelling of a host its *display name*, the first
 * spelling seen (the policy's first), so the engine keys all of a host's state by one name; and
 * `hostNameKey` is the pure key a host is routed by, the same for every spelling the registry may join.
 * Rules: names equal ignoring ASCII case are one host (DNS, RFC 4343, and NetBIOS names are
 * case-insensitive; trailing root dots are dropped); an FQDN and a bare name equal to its first label
 * are one host, unless two different FQDNs share that label (then the later FQDN is its own host, and
 * a bare name first seen after that is its own too); address names are never split on dots.
 */
import { UNKNOWN_HOST } from '../model/entity.js';
import type { AllowlistEntry, Policy } from '../model/policy.js';

/** A DNS name is at most 253 characters, a label 63 (RFC 1035): longer names are left as they are. */
const MAX_NAME_CHARS = 253;
const MAX_LABEL_CHARS = 63;
/** Routing reads only this much of a name (engine/partition.ts bounds its keys the same way). */
const MAX_KEY_CHARS = 256;
/** A learned spelling touched after this many others is moved to the newest end (no delete/set per event). */
const REFRESH_AFTER = 1024;

/**
 * The key a host is routed by (engine/partition.ts): its name lower-cased (ASCII) without trailing
 * dots and, unless it is an address, cut at its first dot. Every pair of spellings `HostNames` joins has
 * one key; two machines sharing a first label in different domains share one too, which only puts
 * them on the same partition. Pure, bounded (reads at most 256 characters).
 */
export function hostNameKey(name: string): string {
  // one pass and no copy for the common name (lower case, no dot); the same answer as folding, then cutting
  const n = Math.min(name.length, MAX_KEY_CHARS);
  let dot = -1;
  let addressLike = true;
  let folded = true;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      if (dot < 0) dot = i;
    } else if (c === 58) return fold(name.slice(0, n));
    else {
      if (c < 48 || c > 57) addressLike = false;
      if (dot < 0 && ((c >= 65 && c <= 90) || c > 0x7f)) folded = false;
    }
  }
  if (addressLike) return fold(name.slice(0, n));
  const label = dot < 0 && n === name.length ? name : name.slice(0, dot < 0 ? n : dot);
  return folded ? label : fold(label);
}

/**
 * Lower-cased in ASCII only (non-ASCII letters are kept: DNS compares ASCII case-insensitively), trailing
 * root dots dropped. Idempotent: a folded name folds to itself.
 */
function fold(name: string): string {
  let ascii = true;
  for (let i = 0; i < name.length; i++)
    if (name.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  const f = ascii ? name.toLowerCase() : name.replace(/[A-Z]/g, (c) => c.toLowerCase());
  let end = f.length;
  while (end > 0 && f.charCodeAt(end - 1) === 46) end--;
  return end === f.length ? f : f.slice(0, end);
}

/**
 * An IP address (`10.0.0.5`, `fe80::1`, `::ffff:10.0.0.5`: what host-by-ip.ts names a host-less event's
 * host) or anything shaped like one (digits and dots only, or a colon, which no DNS name has): never
 * split on its dots.
 */
function isAddressLike(f: string): boolean {
  if (f.indexOf(':') >= 0) return true;
  for (let i = 0; i < f.length; i++) {
    const c = f.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return true;
}

/** What the names sharing one first label have joined. */
interface Label {
  /** The display name of the host the label's names join: the first of them seen. */
  host: string;
  /** The first FQDN seen with this label (folded), if any. */
  fqdn: string | undefined;
  /** Whether the bare name (the label alone) is one of `host`'s spellings. */
  bare: boolean;
  /** A second FQDN with this label was seen: names first seen from then on do not join `host`. */
  ambiguous: boolean;
  seq: number;
}

interface Spelling {
  /** The folded name it is held under. */
  fold: string;
  display: string;
  label: Label | undefined;
  seq: number;
  /** False once let go: a raw-name cache entry pointing here is stale. */
  alive: boolean;
}

export class HostNames {
  /** Policy names: never forgotten, so a policy host keeps its spelling and settings all run long. */
  private readonly seededSpellings = new Map<string, Spelling>();
  private readonly seededLabels = new Map<string, Label>();
  /** Names learned from events, folded → spelling; insertion order ≈ least recently touched first. */
  private readonly spellings = new Map<string, Spelling>();
  private readonly labels = new Map<string, Label>();
  /** Raw name as the logs write it → its spelling: one lookup, no folding, for a name seen before. */
  private readonly byRaw = new Map<string, Spelling>();
  private seq = 0;
  /** The raw name last resolved and its display name: an event's host is usually the last one's. */
  private lastRaw: string | undefined;
  private lastDisplay = '';
  /** Learned spellings and labels let go to stay in bounds, oldest first. */
  forgotten = 0;

  /** @param maxNames learned spellings (and labels, and raw names) kept, each; default 100,000 like the engine's hosts. */
  constructor(private readonly maxNames = 100_000) {}

  /** The registry a policy seeds (see `policyHostSpellings`). */
  static ofPolicy(policy: Pick<Policy, 'allowlist' | 'hostCores' | 'hostIps'>, maxNames?: number): HostNames {
    const names = new HostNames(maxNames);
    for (const name of policyHostSpellings(policy)) names.seed(name);
    return names;
  }

  /** Learned spellings held (policy names not counted). */
  get size(): number {
    return this.spellings.size;
  }

  /** Register a policy name, never forgotten; returns its display name. */
  seed(name: string): string {
    return this.resolve(name, true)?.display ?? name;
  }

  /** The display name of the host `name` spells (learning it when new): `name` itself for a new host. */
  displayOf(name: string): string {
    if (name === this.lastRaw) return this.lastDisplay;
    let s = this.byRaw.get(name);
    if (s?.alive) this.touch(s);
    else {
      s = this.resolve(name, false);
      if (s) {
        this.byRaw.set(name, s);
        // a pure cache: the oldest raw name goes, and is folded again when it comes back
        if (this.byRaw.size > this.maxNames) this.byRaw.delete(this.byRaw.keys().next().value as string);
      }
    }
    const display = s?.display ?? name;
    this.lastRaw = name;
    this.lastDisplay = display;
    return display;
  }

  /** The spelling `name` folds to, learned when new; undefined for a name left as it is. */
  private resolve(name: string, pinned: boolean): Spelling | undefined {
    if (name.length === 0 || name.length > MAX_NAME_CHARS + 1 || name === UNKNOWN_HOST) return undefined;
    const f = fold(name);
    if (f.length === 0 || f.length > MAX_NAME_CHARS) return undefined;
    const known = this.spellings.get(f) ?? this.seededSpellings.get(f);
    if (known) {
      if (!pinned) this.touch(known);
      return known;
    }
    const labelName = labelOf(f);
    const label = labelName === undefined ? undefined : this.labelFor(labelName);
    let joined: Label | undefined;
    if (labelName === undefined) {
      // an address, or a name no DNS label could be: one host per spelling ignoring case
    } else if (labelName.length < f.length) {
      // an FQDN: joins the host its label names unless another FQDN with that label came first
      if (label === undefined) joined = this.newLabel(labelName, { host: name, fqdn: f, bare: false }, pinned);
      else if (label.fqdn === undefined || label.fqdn === f) {
        // (the same FQDN again: its spelling was let go, its label kept)
        label.fqdn = f;
        joined = label;
      } else label.ambiguous = true;
    } else if (label === undefined)
      joined = this.newLabel(labelName, { host: name, fqdn: undefined, bare: true }, pinned);
    else if (!label.ambiguous || label.bare) {
      // a bare name: joins its label's host, unless the label became ambiguous before it was seen
      label.bare = true;
      joined = label;
    }
    const spelling: Spelling = { fold: f, display: joined?.host ?? name, label: joined, seq: ++this.seq, alive: true };
    if (pinned) this.seededSpellings.set(f, spelling);
    else {
      this.spellings.set(f, spelling);
      if (this.spellings.size > this.maxNames) {
        const oldest = this.spellings.values().next().value as Spelling;
        this.spellings.delete(oldest.fold);
        oldest.alive = false;
        this.forget();
      }
    }
    return spelling;
  }

  private labelFor(name: string): Label | undefined {
    return this.labels.get(name) ?? this.seededLabels.get(name);
  }

  private newLabel(name: string, fields: Omit<Label, 'ambiguous' | 'seq'>, pinned: boolean): Label {
    const label: Label = { ...fields, ambiguous: false, seq: this.seq };
    if (pinned) this.seededLabels.set(name, label);
    else {
      this.labels.set(name, label);
      if (this.labels.size > this.maxNames) {
        this.labels.delete(this.labels.keys().next().value as string);
        this.forget();
      }
    }
    return label;
  }

  /** Keep Map order close to touch order without a delete/set per event (as Engine.hostOf does). */
  private touch(s: Spelling): void {
    const seq = ++this.seq;
    if (s.seq < seq - REFRESH_AFTER && this.spellings.get(s.fold) === s) {
      this.spellings.delete(s.fold);
      this.spellings.set(s.fold, s);
      const label = s.label;
      if (label && label.seq < seq - REFRESH_AFTER) {
        const name = labelOf(s.fold);
        if (name !== undefined && this.labels.get(name) === label) {
          this.labels.delete(name);
          this.labels.set(name, label);
        }
        label.seq = seq;
      }
    }
    s.seq = seq;
  }

  private forget(): void {
    this.forgotten++;
    // the last-name cache may hold what was let go: resolve it again next time
    this.lastRaw = undefined;
  }
}

/** The first label of a folded name when it can be a DNS name (the whole name when bare), else undefined. */
function labelOf(f: string): string | undefined {
  if (isAddressLike(f)) return undefined;
  const dot = f.indexOf('.');
  const label = dot < 0 ? f : f.slice(0, dot);
  return label.length === 0 || label.length > MAX_LABEL_CHARS ? undefined : label;
}

/**
 * The policy's host names in the order they seed the registry: the allowlist's hosts (plain names,
 * not globs) first, so triage/allowlist.ts can tell an entry's display name from the allowlist
 * alone; then `hosts:` names (cores, then the inventory's addresses).
 */
export function policyHostSpellings(policy: Pick<Policy, 'allowlist' | 'hostCores' | 'hostIps'>): string[] {
  return [
    ...allowlistHostSpellings(policy.allowlist),
    ...Object.keys(policy.hostCores),
    ...Object.values(policy.hostIps),
  ];
}

/** The plain host names allowlist entries match on, in entry order (a `*` glob names no one host). */
export function allowlistHostSpellings(entries: readonly AllowlistEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const host = e.match.host;
    if (typeof host === 'string' && !host.includes('*')) out.push(host);
  }
  return out;
}
