/** The one way classifiers build a Signal from the event it is about. */
import { hostKeyOf, processKeyOf, UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent } from '../model/event.js';
import type { Signal, SignalClass, SignalKind, Strength } from '../model/signal.js';
import { clip, inert } from '../util/hostile.js';

export interface SignalSpec {
  kind: SignalKind;
  class: SignalClass;
  strength: Strength;
  by: string;
  explanation: string;
  subject?: Signal['subject'];
}

export function signalFor(event: CoalEvent, spec: SignalSpec): Signal {
  const executable = event.process?.executable;
  return {
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
}
