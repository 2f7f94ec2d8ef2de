import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOSTILE_TEXT, rawInvisible } from '../../test/support/invisible.js';
import type { ExecutiveSummary } from '../model/executive.js';
import { renderExecutiveMarkdown, renderExecutiveText, renderSocText } from './executive.js';

function summary(): ExecutiveSummary {
  return {
    input: {
      files: 4,
      events: 12_345,
      bad_input: 3,
      first: '2026-11-30T08:00:00.000Z',
      last: '2026-11-30T13:00:00.000Z',
    },
    incidents: {
      total: 2,
      by_severity: { high: 1, low: 1 },
      tier2: 1,
      findings_by_analytic: { AN0742: 2, AN0745: 1 },
      suppressed_findings: 0,
    },
    affected: { hosts: 1, workloads: 1, cloud_launches: 0 },
    compute: { core_hours: 153.4, gpu_hours: 2.71, instance_hours: 0, cost: 9.03, currency: 'USD' },
    time_to_detect: { incidents: 2, median_ms: 90_000, longest_ms: 16 * 60_000 },
    top: [
      {
        case: 'case-1',
        title: `Cryptomining on web | [x](http://evil.test) ${HOSTILE_TEXT}`,
        severity: 'high',
        tier: 'Tier 2',
        hosts: [`web${HOSTILE_TEXT}`],
        more_hosts: 2,
        first_seen: '2026-11-30T10:00:00.000Z',
        time_to_detect_ms: 120_000,
        active_ms: 3_600_000,
        cost: 7.67,
        currency: 'USD',
      },
      {
        case: 'case-2',
        title: 'Cryptomining in Pod shop/metrics',
        severity: 'low',
        tier: 'L1',
        hosts: ['worker-2'],
        more_hosts: 0,
        first_seen: '2026-11-30T12:00:00.000Z',
        time_to_detect_ms: 0,
        active_ms: 1000,
        cost: null,
        currency: null,
      },
    ],
    readiness: {
      covered: false,
      scopes: 3,
      partial: 1,
      gaps: [{ telemetry: 'per-process CPU', scopes: 1 }],
      more_gaps: 0,
    },
  };
}

test('text: the sentences a security lead reads, input strings inert', () => {
  const text = renderExecutiveText(summary());
  assert.deepEqual(rawInvisible(text), []);
  for (const line of [
    'coalmine executive summary: 4 files, 12,345 events, event time 2026-11-30 08:00 UTC → 2026-11-30 13:00 UTC, 3 bad input records',
    'Incidents: 2 (high 1, low 1); 1 for Tier 2',
    'Findings by analytic: Linux hosts (AN0742) 2 · containers (AN0745) 1',
    'Affected: 1 host, 1 workload',
    "Hijacked compute: 153 core-hours + 2.71 GPU-hours ≈ 9.03 USD at the policy's prices",
    'Time to detect (first evidence → first alert, in event time): median 2 min, longest 16 min, over 2 incidents',
    'Telemetry readiness: 2 of 3 hosts and scopes fully covered; missing: per-process CPU (1)',
    '  2. LOW L1: Cryptomining in Pod shop/metrics — worker-2; since 2026-11-30 12:00 UTC, active 1 s; alerted at its first evidence',
    '  - Have L1 finish the checks of the other incident',
  ])
    assert.ok(text.includes(line), `${line}\n---\n${text}`);
  assert.match(text, /1\. HIGH Tier 2: Cryptomining on web \| \[x\]\(http:\/\/evil\.test\) evil\\u202egpj/);
  assert.match(
    text,
    /— web.*\+2; since 2026-11-30 10:00 UTC, active 1 h; alerted 2 min after its first evidence; 7\.67 USD/,
  );
});

test('markdown: a hostile title cannot become a link, break the table or carry HTML', () => {
  const md = renderExecutiveMarkdown(summary());
  assert.deepEqual(rawInvisible(md), []);
  const row = md.split('\n').find((l) => l.startsWith('| 1 |'));
  assert.ok(row, md);
  assert.ok(row.includes('Cryptomining on web \\| \\[x\\]\\(http://evil\\.test\\)'), row);
  // every unescaped pipe is a cell border: 10 of them for 9 cells
  assert.equal(row.replace(/\\\|/g, '').split('|').length - 1, 10, row);
  assert.ok(md.startsWith('# Compute hijacking: executive summary\n'));
  assert.ok(md.includes('| 2 | low | L1 | Cryptomining in Pod shop/metrics | worker\\-2 |'), md);
});

test('nothing found on fully covered telemetry says so', () => {
  const s = summary();
  s.incidents = { total: 0, by_severity: {}, tier2: 0, findings_by_analytic: {}, suppressed_findings: 0 };
  s.top = [];
  s.affected = { hosts: 0, workloads: 0, cloud_launches: 0 };
  s.compute = { core_hours: 0, gpu_hours: 0, instance_hours: 0, cost: 0, currency: '' };
  s.time_to_detect = { incidents: 0 };
  s.readiness = { covered: true, scopes: 3, partial: 0, gaps: [], more_gaps: 0 };
  const text = renderExecutiveText(s);
  assert.match(text, /Incidents: none found\n/);
  assert.match(text, /all 3 hosts and scopes fully covered/);
  assert.match(text, /Nothing to do on this data/);
  assert.ok(!text.includes('Hijacked compute'));
});

test('SOC summary: states, resolutions, alert precision, median times and what is waiting', () => {
  const text = renderSocText({
    since: '2026-11-01T00:00:00.000Z',
    until: '2026-12-01T00:00:00.000Z',
    cases: 4,
    truncated: false,
    by_state: { closed: 2, escalated: 1, new: 1 },
    by_severity: { high: 3, low: 1 },
    by_resolution: { 'true-positive': 1, 'false-positive': 1 },
    alert_precision: 0.5,
    median_ms: { detect: 3 * 60_000, triage: 10 * 60_000, contain: 30 * 60_000, close: 40 * 60_000 },
    tier2_uncontained: 2,
    oldest_open_ms: 2 * 86_400_000,
    cost: 1.5,
    currency: 'USD',
  });
  for (const line of [
    'coalmine SOC summary: 4 cases created from 2026-11-01 00:00 UTC to 2026-12-01 00:00 UTC',
    'Cases: high 3, low 1; by state: new 1, escalated 1, closed 2',
    'Closed as: false-positive 1, true-positive 1; alerts that were real (true ÷ true + false positives): 50%',
    'Median time to detect 3 min (first evidence → first alert, event time); triage 10 min; contain 30 min; close 40 min (the others from case creation)',
    'Open: 2 cases, the oldest 48 h old; 2 Tier 2 not yet contained',
    '  - Contain the 2 Tier 2 cases still open',
    '  - Triage the 1 new case.',
  ])
    assert.ok(text.includes(line), `${line}\n---\n${text}`);
});
