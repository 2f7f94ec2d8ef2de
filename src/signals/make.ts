/** The one way classifiers build a Signal from the event it is about. */
import { hostKeyOf, processKeyOf, UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { IntelProvenance, PersistenceDetail, Signal, SignalClass, SignalKind, Strength } from '../model/signal.js';
import { clip, inert } from '../util/hostile.js';
import type { IntelMatch } from './intel/types.js';

export interface SignalSpec {
  kind: SignalKind;
  class: SignalClass;
  strength: Strength;
  by: string;
  explanation: string;
  subject?: Signal['subject'];
  /** The intel match the signal rests on, recorded as its provenance. */
  intel?: IntelMatch;
  persistence?: PersistenceDetail;
}

/** Where a match's set came from, as findings record it. */
export function provenanceOf(match: IntelMatch): IntelProvenance {
  const about = match.about;
  const out: IntelProvenance = { set: match.set, source: clip(about?.source ?? match.set, 200) };
  const version = about?.version ?? (about?.modified ? `modified ${about.modified}` : undefined);
  if (version) out.version = clip(version, 64);
  if (about?.url) out.url = clip(about.url, 512);
  return out;
}

/** `pool-domains 2026-11-22`: the set's name and version, as explanations cite it. */
export function intelName(match: IntelMatch): string {
  const version = match.about?.version ?? match.about?.modified;
  return version ? `${match.set} ${clip(version, 64)}` : match.set;
}

export function signalFor(event: CoalEvent, spec: SignalSpec): Signal {
  const executable = event.process?.executable;
  const signal: Signal = {
    kind: spec.kind,
    class: spec.class,
    strength: spec.strength,
    entity: processKeyOf(event) ?? hostKeyOf(event),
    host: event.host?.name ?? UNKNOWN_HOST,
    ts: event.coalmine.ts,
    ref: event.coalmine.ref,
    // explanations quote hostile fields: bound and neutralise them once, here
    explanation: inert(clip(spec.explanation, 400)),
    by: spec.by,
    subject: executable && !spec.subject?.executable ? { executable, ...spec.subject } : spec.subject,
  };
  if (spec.intel) signal.intel = provenanceOf(spec.intel);
  if (spec.persistence) {
    const p = spec.persistence;
    const detail: PersistenceDetail = { mechanism: p.mechanism, file: clip(p.file, 512), entry: clip(p.entry, 512) };
    if (p.line !== undefined) detail.line = p.line;
    if (p.user !== undefined) detail.user = clip(p.user, 64);
    signal.persistence = detail;
  }
  return signal;
}

/** A wallet address as evidence shows it: enough to recognise, short enough to read (first 12, last 6). */
export function shortWallet(address: string): string {
  return address.length <= 20 ? address : `${address.slice(0, 12)}…${address.slice(-6)}`;
}
