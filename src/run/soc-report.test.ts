import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../model/finding.js';
import { openStore } from '../store/index.js';
import { groupCases } from '../triage/cases.js';
import { socSummary, storeSocSummary } from './soc-report.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-soc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 1);
const MIN = 60_000;

function finding(
  id: string,
  host: string,
  detectedAfterMin: number | undefined,
  extra: Partial<Finding> = {},
): Finding {
  return {
    id,
    analytic: 'AN0742',
    title: `Cryptomining on ${host}`,
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.9,
    entity: `process:${host}:10`,
    related: [],
    host,
    first_seen: new Date(T0).toISOString(),
    last_seen: new Date(T0 + 30 * MIN).toISOString(),
    ...(detectedAfterMin !== undefined ? { detected_at: new Date(T0 + detectedAfterMin * MIN).toISOString() } : {}),
    legs: ['resource', 'process'],
    summary: '',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: {},
    processes: [],
    usage: null,
    triage: {
      escalation: { tier: 'Tier 2', reasons: [], next_steps: [] },
      questions: [],
      containment: { platform: 'linux', steps: [] },
      cost: { core_hours: 10, price_per_core_hour: 0.05, currency: 'USD', amount: 0.5, basis: 'test' },
      allowlist_suggestion: '',
    },
    ...extra,
  };
}

test('the SOC summary: cases by state and resolution, alert precision, median times from the audit trail', async () => {
  let clock = T0 + 60 * MIN;
  const location = join(dir, 'soc.db');
  const store = await openStore(location, { now: () => clock });
  const made: string[] = [];
  const hosts = ['a', 'b', 'c', 'd'];
  for (const [i, host] of hosts.entries()) {
    const f = finding(`f-${host}`, host, i * 2);
    await store.findings.ingest({ finding: f, revision: 1 });
    const [grouped] = groupCases([f]);
    clock = T0 + (60 + i) * MIN;
    await store.cases.create(grouped, { actor: 'ingest' });
    made.push(grouped.id);
  }
  const [a, b, c] = made;
  // a: triaged after 10 min, contained after 30, closed as a true positive after 60
  clock = T0 + 70 * MIN;
  await store.cases.transition(a, 'triaged', { actor: 'alice' });
  clock = T0 + 90 * MIN;
  await store.cases.transition(a, 'contained', { actor: 'alice' });
  clock = T0 + 120 * MIN;
  await store.cases.transition(a, 'closed', { actor: 'alice', resolution: 'true-positive' });
  // b: closed at once as a false positive, 20 min after it was made
  clock = T0 + 81 * MIN;
  await store.cases.transition(b, 'closed', { actor: 'bob', resolution: 'false-positive' });
  // c: escalated, still open; d: new
  clock = T0 + 72 * MIN;
  await store.cases.transition(c, 'escalated', { actor: 'alice' });
  const now = T0 + 24 * 60 * MIN;
  const s = await socSummary(store, { now });
  await store.close();

  assert.equal(s.cases, 4);
  assert.deepEqual(s.by_state, { closed: 2, escalated: 1, new: 1 });
  assert.deepEqual(s.by_resolution, { 'true-positive': 1, 'false-positive': 1 });
  assert.equal(s.alert_precision, 0.5);
  // detect: 0, 2, 4, 6 min → median 3 min; triage: a 10 min, b 20 min (its close), c 10 min → 10 min;
  // contain: a 30 min; close: a 60 min, b 20 min → 40 min
  assert.deepEqual(s.median_ms, { detect: 3 * MIN, triage: 10 * MIN, contain: 30 * MIN, close: 40 * MIN });
  // c (Tier 2, escalated) is open and not contained; d too (new, Tier 2)
  assert.equal(s.tier2_uncontained, 2);
  assert.equal(s.oldest_open_ms, now - (T0 + 62 * MIN));
  // the false positive's cost is not hijacked compute
  assert.equal(s.cost, 1.5);

  // the same through the location; a period that starts after the cases were made holds none
  const later = await storeSocSummary(location, { now, since: T0 + 63 * MIN });
  assert.equal(later?.summary.cases, 1);
  assert.equal(await storeSocSummary(join(dir, 'missing.db'), { now }), undefined);
});
