/**
 * `coalmine report` through the real CLI on the bundled example: the executive summary's numbers are the
 * hunt's (the same incident, cost and time to detect), in text, Markdown and JSON.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { huntNdjson, runCli } from '../support/cli.js';

const EXAMPLE = 'examples/kinsing-like';
const dir = mkdtempSync(join(tmpdir(), 'coalmine-exec-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('report: the incident, its cost and its time to detect are the hunt finding’s', () => {
  const hunted = huntNdjson([EXAMPLE]);
  assert.equal(hunted.findings.length, 1);
  const f = hunted.findings[0];
  assert.ok(f.detected_at, 'the finding records when it was detected');
  const ttd = Date.parse(f.detected_at) - Date.parse(f.first_seen);

  const html = join(dir, 'report.html');
  const json = runCli(['report', EXAMPLE, '--format', 'json', '--html', html]);
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout);
  assert.equal(s.incidents.total, 1);
  assert.deepEqual(s.incidents.by_severity, { high: 1 });
  assert.equal(s.incidents.tier2, 1);
  assert.equal(s.compute.cost, f.triage?.cost?.amount);
  assert.deepEqual(s.time_to_detect, { incidents: 1, median_ms: ttd, longest_ms: ttd });
  assert.equal(s.top[0].title, f.title);
  assert.match(readFileSync(html, 'utf8'), /<!doctype html>/i);

  const text = runCli(['report', EXAMPLE]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^coalmine executive summary: 4 files, \d+ events/);
  assert.match(text.stdout, /\nIncidents: 1 \(high 1\); 1 for Tier 2\n/);
  assert.match(
    text.stdout,
    /\nTime to detect \(first evidence → first alert, in event time\): median 2 s, longest 2 s, over 1 incident\n/,
  );
  assert.match(text.stdout, /\n {2}- Hand the Tier 2 incident to incident response now/);

  const md = runCli(['report', EXAMPLE, '-f', 'markdown']);
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /^# Compute hijacking: executive summary\n/);
  assert.match(md.stdout, /\n\| 1 \| high \| Tier 2 \| Cryptomining on web\\-01: kdevtmpfsi/);
});

test('report: a bad format is a usage error; no readable input is exit 4 with the reason', () => {
  const bad = runCli(['report', EXAMPLE, '--format', 'pdf']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown --format "pdf" \(use text, markdown, json\)/);
  const none = runCli(['report', join(dir, 'missing.log')]);
  assert.equal(none.code, 4);
  assert.match(none.stderr, /no input could be read/);
});
