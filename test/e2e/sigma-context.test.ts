/**
 * Scope of compromise through the real CLI (issue 15, acceptance 3), on hand-written fixtures and rules
 * (test/fixtures/sigma-context): a Windows host where a Mimikatz-like dump and its LSASS read come 2 h
 * before a miner and PsExec 30 min after it, and a Linux web server whose JVM starts shells (a
 * Log4Shell-style way in) before the dropper. The detections are context of the mining findings in
 * NDJSON, OCSF, explain, the table and the HTML report (also opened in headless Chromium), answer the
 * exposure question, and change nothing without --rules; `--format sigma-matches` prints every match as
 * a timeline, with or without a finding. With ../shared/data/sigmahq, the same with all of SigmaHQ.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'sigma-context');
const WINDOWS = join(DIR, 'windows', 'sysmon.jsonl');
const LINUX = join(DIR, 'linux', 'events.ndjson');
const RULES = join(DIR, 'rules');
const SIGMAHQ = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sigmahq', 'rules');
const CHROMIUM = '/usr/bin/chromium';
const ID = (n: string) => `8d1f3c20-0000-4000-8000-000000000${n}`;
const work = mkdtempSync(join(tmpdir(), 'coalmine-sigma-context-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(args: string[]): { findings: Finding[]; stdout: string; stderr: string } {
  const r = runCli(['hunt', '--no-progress', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return { findings: args.includes('ndjson') ? ndjsonFindings(r.stdout) : [], stdout: r.stdout, stderr: r.stderr };
}

function on(findings: Finding[], host: string): Finding {
  const f = findings.find((x) => x.host === host);
  assert.ok(f, `a finding on ${host}: ${findings.map((x) => x.host).join(', ')}`);
  return f;
}

/** Per context entry: rule (last digits of our ids), time, relative and reasons. */
function said(f: Finding): string[][] {
  return (f.context ?? []).map((c) => [c.rule_id.slice(-3), c.time.slice(11, 19), c.relative, c.reasons.join('+')]);
}

const withRules = hunt([WINDOWS, LINUX, '--rules', RULES, '--format', 'ndjson']);

test('NDJSON: the detections on the same host within 24 h before to 1 h after are the finding context, in time order', () => {
  const win = on(withRules.findings, 'ws-07.corp.example');
  // the dump 28 h before and PsExec 2 h after are out of the window; ws-99's dump is another host's
  assert.deepEqual(said(win), [
    ['101', '08:00:00', '2 h before the first evidence', 'credential-access'],
    ['102', '08:00:02', '2 h before the first evidence', 'credential-access'],
    ['301', '10:30:00', '30 min after the last evidence', 'lateral-movement'],
  ]);
  const dump = win.context?.[0];
  assert.equal(dump?.facts.command_line, 'm64.exe "privilege::debug" "sekurlsa::logonpasswords" exit');
  assert.equal(dump?.facts.user, 'CORP\\admin');
  assert.equal(dump?.facts.event_id, '1');
  assert.deepEqual(win.context?.[1].facts, {
    event_id: '10',
    process: 'C:\\Users\\Public\\m64.exe',
    target: 'C:\\Windows\\system32\\lsass.exe',
    granted_access: '0x1010',
  });
  assert.match(String(win.context?.[1].source), /sysmon\.jsonl:3$/);
  // a next step to scope it, never a reason: the grade is the miner's alone
  assert.ok(
    win.triage?.escalation.next_steps.some((s) => /^Credential access on ws-07\.corp\.example: Mimikatz/.test(s)),
  );
  assert.ok(win.triage?.escalation.next_steps.some((s) => /^Lateral movement on ws-07\.corp\.example: PsExec/.test(s)));

  const web = on(withRules.findings, 'web-01');
  assert.deepEqual(said(web), [
    ['201', '01:58:00', '2 min before the first evidence', 'exploitation'],
    ['201', '02:00:00', 'at the first evidence', 'exploitation'],
  ]);
  assert.equal(web.context?.[0].facts.parent, '/usr/bin/java');
  const q4 = web.triage?.questions.find((q) => q.id === 'vulnerable-exposure');
  assert.equal(q4?.status, 'answered');
  assert.match(q4?.answer ?? '', /Shell spawned by a Java process \(fixture\) .*CVE-2021-44228/);
  assert.deepEqual(
    q4?.evidence.map((s) => s.replace(/^.*\//, '')),
    ['events.ndjson:2', 'events.ndjson:3'],
  );
});

test('without --rules nothing changes: no context, the same findings, ids and grades; context never makes a finding', () => {
  const without = hunt([WINDOWS, LINUX, '--format', 'ndjson']);
  assert.ok(!without.stdout.includes('"context"'));
  assert.equal(without.findings.length, withRules.findings.length);
  const strip = (f: Finding) => {
    const { context: _c, context_omitted: _o, triage: _t, ...rest } = f;
    return rest;
  };
  assert.deepEqual(withRules.findings.map(strip), without.findings.map(strip));
  // context is per host, so a run split by host across threads gives the same bytes
  assert.equal(
    hunt([WINDOWS, LINUX, '--rules', RULES, '--format', 'ndjson', '--workers', '2']).stdout,
    withRules.stdout,
  );
  // the credential dump on ws-99 has no miner: no finding there, only a timeline line
  assert.ok(!withRules.findings.some((f) => f.host === 'ws-99.corp.example'));
});

test('OCSF carries the context as related events and in full in unmapped', () => {
  const r = hunt([WINDOWS, '--rules', RULES, '--format', 'ocsf']);
  const ocsf = JSON.parse(r.stdout.trim().split('\n')[0]) as {
    finding_info: {
      related_events: Array<{ uid: string; product_uid: string; attacks: Array<{ technique: { uid: string } }> }>;
    };
    unmapped: { context: Array<{ relative: string }> };
  };
  const related = ocsf.finding_info.related_events;
  assert.equal(related.length, 3);
  assert.match(related[0].uid, new RegExp(`^${ID('101')}@.*sysmon\\.jsonl:2$`));
  assert.equal(related[0].attacks[0].technique.uid, 'T1003.001');
  assert.equal(ocsf.unmapped.context[0].relative, '2 h before the first evidence');

  // the incident class: in each member finding's related events, and in full by finding id
  const incident = JSON.parse(
    hunt([WINDOWS, '--rules', RULES, '--format', 'ocsf-incident']).stdout.trim().split('\n')[0],
  ) as {
    finding_info_list: Array<{ uid: string; related_events?: Array<{ uid: string }> }>;
    unmapped: { context?: Record<string, Array<{ relative: string }>> };
  };
  const member = incident.finding_info_list.find((f) => f.related_events?.length);
  assert.ok(member, 'a member finding with its context as related events');
  assert.deepEqual(
    member.related_events?.map((e) => e.uid),
    related.map((e) => e.uid),
  );
  assert.equal(incident.unmapped.context?.[member.uid]?.[0].relative, '2 h before the first evidence');
});

test('explain (hunting again, and from a findings file) and the table show the context', () => {
  const win = on(withRules.findings, 'ws-07.corp.example');
  const again = runCli(['explain', win.id, WINDOWS, '--rules', RULES]);
  assert.equal(again.code, 0, again.stderr);
  const file = join(work, 'findings.ndjson');
  writeFileSync(file, withRules.stdout);
  const fromFile = runCli(['explain', win.id, '--findings', file]);
  assert.equal(fromFile.stdout, again.stdout);
  const text = again.stdout;
  assert.match(text, /\nContext: other detections on the host \(scope of the compromise; not part of the grade\)\n/);
  assert.match(
    text,
    /2026-03-02 08:00:00 {2}high {3}Mimikatz module names in a command line \(fixture\) {2}\(2 h before the first evidence; credential-access\)/,
  );
  assert.match(text, /event_id: 10 ¦ process: C:\\Users\\Public\\m64\.exe ¦ target: C:\\Windows\\system32\\lsass\.exe/);
  assert.match(
    text,
    /PsExec remote execution from a public folder \(fixture\) {2}\(30 min after the last evidence; lateral-movement\)/,
  );
  const table = hunt([LINUX, '--rules', RULES, '--format', 'table']).stdout;
  assert.match(
    table,
    /context: 2 min before the first evidence: Shell spawned by a Java process \(fixture\) \(high, exploitation\) and 1 more detection\(s\) on the host/,
  );
});

test('the HTML report lists the context, escaped; in real Chromium it shows as text with no console error', async (t) => {
  const out = join(work, 'report.html');
  hunt([WINDOWS, LINUX, '--rules', RULES, '--format', 'ndjson', '--report', out]);
  const html = readFileSync(out, 'utf8');
  assert.equal(html.match(/<h3>Context: other detections on the host<\/h3>/g)?.length, 2);
  assert.ok(html.includes('m64.exe &#34;privilege::debug&#34; &#34;sekurlsa::logonpasswords&#34; exit'));
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (apt-get install chromium); the browser check needs it`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    assert.deepEqual(errors, []);
    const tables = page.locator('table.context');
    assert.equal(await tables.count(), 2);
    const rows = await tables.locator('tbody tr').allTextContents();
    assert.equal(rows.length, 5);
    assert.ok(rows.some((r) => r.includes('2 h before the first evidence') && r.includes('Mimikatz module names')));
    assert.ok(rows.some((r) => r.includes('granted_access: 0x1010')));
    assert.ok(rows.some((r) => r.includes('cve.2021-44228') && r.includes('exploitation')));
    const text = (await page.textContent('body')) ?? '';
    assert.ok(text.includes('m64.exe "privilege::debug" "sekurlsa::logonpasswords" exit'));
  } finally {
    await browser.close();
  }
});

test('--format sigma-matches: every match as a timeline line, with no mining finding at all; the ndjson variant too', () => {
  // the Windows records before the miner started: detections, no finding
  const lines = readFileSync(WINDOWS, 'utf8').trim().split('\n');
  const quiet = join(work, 'no-miner.jsonl');
  writeFileSync(quiet, `${lines.slice(0, 4).join('\n')}\n`);
  const r = runCli(['hunt', quiet, '--rules', RULES, '--format', 'sigma-matches', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const timeline = r.stdout.trim().split('\n');
  assert.deepEqual(
    timeline.map((l) => l.split(' · ').slice(0, 5)),
    [
      [
        '2026-03-01 06:00:00.000',
        'ws-07.corp.example',
        'high',
        'Mimikatz module names in a command line (fixture)',
        ID('101'),
      ],
      [
        '2026-03-02 08:00:00.000',
        'ws-07.corp.example',
        'high',
        'Mimikatz module names in a command line (fixture)',
        ID('101'),
      ],
      [
        '2026-03-02 08:00:02.000',
        'ws-07.corp.example',
        'high',
        'LSASS memory read with PROCESS_VM_READ (fixture)',
        ID('102'),
      ],
      [
        '2026-03-02 08:30:00.000',
        'ws-99.corp.example',
        'high',
        'Mimikatz module names in a command line (fixture)',
        ID('101'),
      ],
    ],
  );
  assert.match(
    timeline[1],
    / · event_id: 1 ¦ process: C:\\Users\\Public\\m64\.exe ¦ pid: 6120 ¦ command_line: .* ¦ user: CORP\\admin · .*no-miner\.jsonl:2$/,
  );
  assert.match(r.stderr, /sigma matches: 4 \(findings: 0;/);

  const json = runCli(['hunt', WINDOWS, '--rules', RULES, '--format', 'sigma-matches-ndjson', '--no-progress']);
  const records = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { rule_id: string; mining: boolean; host: string });
  // the fixture rules' 6 matches and the bundled miner rule's, marked as evidence
  assert.equal(records.filter((m) => m.rule_id.startsWith('8d1f3c20')).length, 6);
  assert.ok(records.some((m) => m.mining && m.host === 'ws-07.corp.example'));
  assert.match(runCli(['formats']).stdout, /sigma-matches-ndjson/);
});

test('--format sigma-matches with --workers 2: one thread, and the thread line says why', () => {
  const r = runCli(['hunt', WINDOWS, '--rules', RULES, '--format', 'sigma-matches', '--workers', '2', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^threads: one, not split: the Sigma timeline \(--format sigma-matches\) is written in input order by one thread$/m,
  );
  const plain = runCli(['hunt', WINDOWS, '--rules', RULES, '--format', 'sigma-matches', '--no-progress']);
  assert.equal(r.stdout, plain.stdout);
  assert.doesNotMatch(plain.stderr, /^threads: /m, 'a small input, no --workers: nothing to say');
});

test('all of SigmaHQ: its credential-dumping and Java-children rules are context on the miners (skips without ../shared)', (t) => {
  if (!existsSync(SIGMAHQ)) {
    t.skip(`${SIGMAHQ} is absent: the SigmaHQ run needs ../shared/data/sigmahq`);
    return;
  }
  const r = hunt([WINDOWS, LINUX, '--rules', SIGMAHQ, '--format', 'ndjson', '--no-summary']);
  const win = on(r.findings, 'ws-07.corp.example');
  const mimikatz = win.context?.find((c) => c.title === 'HackTool - Mimikatz Execution');
  assert.equal(mimikatz?.relative, '2 h before the first evidence');
  assert.ok(mimikatz?.reasons.includes('credential-access'));
  // SigmaHQ's mining rules are evidence, never context
  assert.ok(!r.findings.some((f) => f.context?.some((c) => c.mining || /crypto ?min/i.test(c.title))));
  const web = on(r.findings, 'web-01');
  assert.ok(
    web.context?.some((c) => c.title === 'Suspicious Java Children Processes' && c.time.endsWith('01:58:00.000Z')),
  );
  // the grade is the same as with the bundled rules alone
  const base = on(withRules.findings, 'web-01');
  assert.equal(web.id, base.id);
});
