/** Minimal events for classifier tests (not a test file itself). */
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { loadBundledIntel } from './intel/store.js';
import type { Classifier } from './types.js';

export function evt(action: EventAction, fields: Partial<CoalEvent> = {}): CoalEvent {
  const ts = Date.UTC(2025, 2, 14, 2, 10);
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: action === 'persistence-entry' ? 'state' : 'event', category: [], action, dataset: 'test' },
    host: { name: 'web-01', os: { platform: 'linux' } },
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 'test.log', line: 1 } },
    ...fields,
  };
}

const intel = loadBundledIntel();

export function signalsOf(classifier: Classifier, event: CoalEvent): Signal[] {
  const out: Signal[] = [];
  classifier.classify(event, { intel }, out);
  return out;
}
