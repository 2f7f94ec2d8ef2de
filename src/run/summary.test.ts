import assert from 'node:assert/strict';
import { test } from 'node:test';
import { an0744Finding } from '../../test/support/an0744-finding.js';
import { HOSTILE_TEXT, rawInvisible } from '../../test/support/invisible.js';
import type { Cost, Finding, Triage } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import {
  badInputTotal,
  countFindings,
  countIssue,
  countRuleWarnings,
  IssueList,
  MAX_LISTED_ISSUES,
  MAX_LISTED_RULE_WARNINGS,
  newSummary,
  renderSummary,
} from './summary.js';

test('run summary: file names and reasons with bidi, zero-width or control characters are shown as escapes', () => {
  const s = newSummary();
  countIssue(s, {
    file: `/logs/${HOSTILE_TEXT}.log`,
    line: 3,
    code: 'AUDITD_BAD_LINE',
    reason: `bad ${HOSTILE_TEXT}`,
    stage: 'parsing',
  });
  const out = renderSummary(s);
  assert.deepEqual(rawInvisible(out), []);
  assert.ok(out.includes('/logs/evil\\u202egpj.exe\\u200d\\u001b[31mred'), out);
  assert.ok(out.includes('\\u2066x\\u000aforged.log:3: AUDITD_BAD_LINE: bad evil\\u202e'), out);
});

test('run summary: hijacked compute totals core-hours, GPU-hours and cloud instance-hours, and their cost', () => {
  const s = newSummary();
  const coreCost = { core_hours: 2.5, price_per_core_hour: 0.05, currency: 'USD', amount: 0.13, basis: 'per-process' };
  const cloudCost = {
    core_hours: 0,
    price_per_core_hour: 0,
    instance_hours: 64,
    instance_type: 'g4dn.xlarge',
    price_per_instance_hour: 0.526,
    currency: 'USD',
    amount: 33.66,
    basis: '20 × g4dn.xlarge, 64 instance-hours × 0.526 USD (cloud-prices 2026-12, us-east-1)',
  };
  const linux = hostFinding();
  linux.triage = triageWith(coreCost);
  const launch = an0744Finding();
  launch.triage = triageWith(cloudCost);
  const suppressed = an0744Finding({
    id: 'cm-745b',
    suppressed_by: { list: 'a', match: 'b', owner: 'c', reason: 'd', expires: 'e' },
  });
  suppressed.triage = triageWith(cloudCost);
  countFindings(s, [linux, launch, suppressed]);
  assert.equal(s.coreHours, 2.5);
  assert.equal(s.instanceHours, 64);
  assert.equal(s.cost, 33.79);
  assert.match(
    renderSummary(s),
    /hijacked compute: 2\.5 core-hours \+ 64 cloud instance-hours ≈ 33\.79 USD at the policy's prices and the cloud price table\n/,
  );
  const gpuCost = { ...coreCost, core_hours: 0, gpu_hours: 1.26, price_per_gpu_hour: 0.5, amount: 0.63 };
  const mined = hostFinding();
  mined.triage = triageWith(gpuCost);
  const withGpu = newSummary();
  countFindings(withGpu, [linux, mined]);
  assert.deepEqual([withGpu.coreHours, withGpu.gpuHours, withGpu.cost], [2.5, 1.26, 0.76]);
  assert.match(
    renderSummary(withGpu),
    /hijacked compute: 2\.5 core-hours \+ 1\.26 GPU-hours ≈ 0\.76 USD at the policy's prices\n/,
  );
  const cloudOnly = newSummary();
  countFindings(cloudOnly, [launch]);
  assert.match(renderSummary(cloudOnly), /hijacked compute: 64 cloud instance-hours ≈ 33\.66 USD/);
});

function triageWith(cost: Cost): Triage {
  return {
    escalation: { tier: 'Tier 2', reasons: [], next_steps: [] },
    questions: [],
    containment: { platform: 'aws', steps: [] },
    cost,
    allowlist_suggestion: '',
  };
}

function hostFinding(): Finding {
  return { ...an0744Finding({ id: 'cm-742', analytic: 'AN0742', entity: 'process:web-01:1', host: 'web-01' }) };
}

test('run summary: rule-load warnings are counted by code, the first few named with file:line, hostile text escaped', () => {
  const s = newSummary();
  assert.ok(!renderSummary(s).includes('rule warnings'), 'no line when no rule warned');
  const warnings = Array.from({ length: MAX_LISTED_RULE_WARNINGS + 2 }, (_, i) => ({
    file: `/rules/r${i}.yml`,
    line: i + 1,
    code: i === 0 ? 'RULE_UNMAPPED_FIELD' : 'RULE_UNKNOWN_LOGSOURCE',
    reason: i === 0 ? `field ${HOSTILE_TEXT}` : `rule r${i}: logsource {category: webserver} … rule not loaded`,
  }));
  countRuleWarnings(s, { rules: [{}, {}, {}], warnings });
  const out = renderSummary(s);
  assert.deepEqual(rawInvisible(out), []);
  assert.ok(out.includes('rule warnings: 7 (RULE_UNKNOWN_LOGSOURCE 6, RULE_UNMAPPED_FIELD 1); 3 rules loaded'), out);
  assert.ok(out.includes('  /rules/r1.yml:2: RULE_UNKNOWN_LOGSOURCE: rule r1: logsource'), out);
  assert.ok(!out.includes(`/rules/r${MAX_LISTED_RULE_WARNINGS}.yml`), out);
  assert.ok(out.includes('  … 2 more (coalmine rules check PATH lists every one)'), out);
  assert.equal(s.issues.length, 0, 'warnings are not bad input');
});

test('run summary: events processed out of order on arrival are counted and shown, never silent', () => {
  const s = newSummary();
  assert.ok(!renderSummary(s).includes('out of order'), 'no line when every event was in order');
  s.unsortedEvents = 35;
  assert.match(
    renderSummary(s),
    /events later than the stream had been so far \(processed on arrival, out of order\): 35/,
  );
});

test('run summary: CPU samples too late to count for sustained CPU are said to be left out, not handled', () => {
  const s = newSummary();
  assert.ok(!renderSummary(s).includes('CPU samples'), 'no line when every sample counted');
  s.lateEvents = 40;
  s.lateSamples = 40;
  const out = renderSummary(s);
  assert.match(out, /late events \(beyond allowed lateness, processed out of order\): 40\n/);
  assert.match(
    out,
    /CPU\/GPU samples too late to count for a sustained run or its cost \(older than one already counted for their process, host, container or instance\): 40\n/,
  );
});

test('run summary: the late events the engine lists are a sample; the bad-input count is the run total, as its own line says', () => {
  const s = newSummary();
  const late: Issue = { code: 'ENGINE_LATE_EVENT', reason: 'late', file: 'a.log', line: 1, stage: 'processing' };
  for (let i = 0; i < 100; i++) countIssue(s, late);
  countIssue(s, { code: 'AUDITD_BAD_RECORD', reason: 'bad', file: 'a.log', line: 2, stage: 'parsing' });
  s.lateEvents = 139;
  const out = renderSummary(s);
  assert.match(out, /bad input: 140 \(ENGINE_LATE_EVENT 139, AUDITD_BAD_RECORD 1\)\n/);
  assert.match(out, /late events \(beyond allowed lateness, processed out of order\): 139\n/);
});

test('run summary: a path given twice is read once and said so on its own line, not counted as bad input', () => {
  const s = newSummary();
  countIssue(s, {
    code: 'INPUT_GIVEN_TWICE',
    reason: 'the same file as a.log, given before: read once',
    file: 'a.log',
    stage: 'reading',
  });
  assert.equal(badInputTotal(s), 0);
  let out = renderSummary(s);
  assert.match(
    out,
    /read once: 1 input path given again or inside another given\n {2}a\.log: INPUT_GIVEN_TWICE: the same file/,
  );
  assert.doesNotMatch(out, /bad input/);
  countIssue(s, { code: 'AUDITD_BAD_RECORD', reason: 'bad', file: 'b.log', line: 2, stage: 'parsing' });
  assert.equal(badInputTotal(s), 1);
  out = renderSummary(s);
  assert.match(out, /bad input: 1 \(AUDITD_BAD_RECORD 1\)\n {2}b\.log:2: AUDITD_BAD_RECORD: bad\n/);
  assert.equal(out.match(/INPUT_GIVEN_TWICE/g)?.length, 1, 'listed once, under its own line');
});

test('issue list: the same counts and listing in input order, whatever order and threads raised them', () => {
  const files = ['a.log', 'b.log', 'c.log'];
  const all: Issue[] = [];
  for (let i = 0; i < 3000; i++)
    all.push({
      file: files[(i * 7) % 3],
      line: 1 + ((i * 131) % 997),
      code: `C${i % 4}`,
      reason: `r${i}`,
      stage: 'parsing',
    });
  all.push({ file: 'missing/', code: 'INPUT_UNREADABLE', reason: 'gone', stage: 'reading', unread: true });
  const inOrder = (list: IssueList) => {
    const s = newSummary();
    list.flushInto(s);
    return s;
  };
  const one = new IssueList();
  one.setFiles(files);
  for (const i of all) one.add(i);
  const expected = inOrder(one);
  assert.equal(expected.issues.length, MAX_LISTED_ISSUES);
  assert.equal(expected.issues[0].file, 'missing/', 'a path that never became an input first');
  for (let k = 2; k < expected.issues.length; k++) {
    const [p, q] = [expected.issues[k - 1], expected.issues[k]];
    assert.ok(files.indexOf(p.file) < files.indexOf(q.file) || (p.file === q.file && (p.line ?? 0) <= (q.line ?? 0)));
  }
  assert.equal(
    Object.values(expected.issuesByCode).reduce((a, b) => a + b, 0),
    all.length,
  );
  // the same issues raised in reverse, split over two threads and merged
  const parts = [new IssueList(0), new IssueList(1)];
  for (const p of parts) p.setFiles(files);
  [...all].reverse().forEach((i, k) => {
    parts[k % 2].add(i);
  });
  const merged = new IssueList();
  for (const p of parts) merged.absorb(p.data());
  const got = inOrder(merged);
  assert.deepEqual(got.issuesByCode, expected.issuesByCode);
  assert.deepEqual(
    got.issues.map((i) => `${i.file}:${i.line}`),
    expected.issues.map((i) => `${i.file}:${i.line}`),
  );
});
