/** Minimal events for classifier tests (not a test file itself). */

import { readFileSync } from 'node:fs';
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import type { Signal } from '../model/signal.js';
import { packagePath } from '../util/package-root.js';
import { addUserIntel, loadBundledIntel } from './intel/store.js';
import type { Intel } from './intel/types.js';
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

const TEST_ONLY_INTEL = packagePath('test', 'fixtures', 'intel', 'test-only-indicators.csv');

/**
 * The bundled lists plus the test-only indicators (campaign names, proxyware vendors, capture
 * addresses) that no public feed we cite carries: classifier tests exercise every indicator kind
 * without a fake entry in the shipped lists.
 */
export function testIntel(): Intel {
  const issues: Issue[] = [];
  const store = loadBundledIntel(issues);
  addUserIntel(store, TEST_ONLY_INTEL, readFileSync(TEST_ONLY_INTEL, 'utf8'), issues);
  if (issues.length > 0) throw new Error(`test intel: ${issues.map((i) => `${i.line}: ${i.reason}`).join('; ')}`);
  return store;
}

const intel = testIntel();

export function signalsOf(classifier: Classifier, event: CoalEvent): Signal[] {
  const out: Signal[] = [];
  classifier.classify(event, { intel }, out);
  return out;
}
