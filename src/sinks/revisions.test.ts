import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { contentDigest, LEDGER_FILE, RevisionLedger } from './revisions.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'coalmine-revisions-'));
  dirs.push(d);
  return join(d, 'spool');
}

const body = (id: string, severity: string, n = 0) => ({ id, severity, last_seen: `2026-01-01T00:00:0${n}Z` });

test('revisions: a restarted ledger continues each finding at n+1 — no id#n is ever given to two different bodies', async () => {
  const dir = spoolDir();
  const given = new Map<string, string>(); // key → digest, across every "run"
  const take = (ledger: RevisionLedger, id: string, content: unknown) => {
    const digest = contentDigest(content);
    const { revision } = ledger.assign(id, digest);
    const key = `${id}#${revision}`;
    const before = given.get(key);
    assert.ok(before === undefined || before === digest, `${key} given to two bodies`);
    given.set(key, digest);
    return revision;
  };
  // five runs, each killed without close(): every run re-detects both findings from scratch (medium, then high)
  for (let run = 0; run < 5; run++) {
    const ledger = await RevisionLedger.open(dir);
    take(ledger, 'cm-a', body('cm-a', 'medium', run));
    take(ledger, 'cm-b', body('cm-b', 'medium', run));
    take(ledger, 'cm-a', body('cm-a', 'high', run));
  }
  const last = await RevisionLedger.open(dir);
  assert.equal(take(last, 'cm-a', body('cm-a', 'critical', 9)), 11, 'cm-a had 10 reports before');
  assert.equal(take(last, 'cm-b', body('cm-b', 'high', 9)), 6);
  assert.equal(given.size, 17);
  last.close();
});

test('revisions: the same content offered again (crash between ledger and spool) gets the same revision, not a new one', async () => {
  const dir = spoolDir();
  const first = await RevisionLedger.open(dir);
  const d1 = contentDigest(body('cm-a', 'medium'));
  assert.deepEqual(first.assign('cm-a', d1), { revision: 1, fresh: true });
  const second = await RevisionLedger.open(dir);
  assert.deepEqual(second.assign('cm-a', d1), { revision: 1, fresh: false });
  assert.deepEqual(second.assign('cm-a', contentDigest(body('cm-a', 'high'))), { revision: 2, fresh: true });
  second.close();
});

test('revisions: a torn last line and hostile lines are reported with line numbers and skipped; the rest still counts', async () => {
  const dir = spoolDir();
  const ledger = await RevisionLedger.open(dir);
  ledger.assign('cm-a', contentDigest('one'));
  ledger.assign('cm-a', contentDigest('two'));
  ledger.close();
  const path = join(dir, LEDGER_FILE);
  appendFileSync(
    path,
    `${'x'.repeat(5000)}\n{"id":"../../etc","rev":1,"digest":"${'a'.repeat(64)}"}\n{"id":"cm-b","rev":-3,"digest":"${'a'.repeat(64)}"}\n{"id":"cm-a","rev":3,"dig`,
  );
  const issues: string[] = [];
  const again = await RevisionLedger.open(dir, { onIssue: (t) => issues.push(t) });
  assert.equal(issues.length, 1, issues.join('\n'));
  assert.match(issues[0], /4 unreadable line\(s\)/);
  assert.match(issues[0], /line 3: 5000 bytes/);
  assert.match(issues[0], /line 4: bad finding id/);
  assert.match(issues[0], /line 5: bad revision/);
  assert.match(issues[0], /line 6: not JSON/);
  // the torn line's revision 3 was never spooled (it is written before), so 3 is free
  assert.equal(again.assign('cm-a', contentDigest('three')).revision, 3);
  assert.equal(again.assign('cm-b', contentDigest('b')).revision, 1);
  again.close();
  // compaction on open rewrote the file without the bad lines, by rename (no temp left)
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  );
  assert.doesNotMatch(readFileSync(path, 'utf8'), /etc|xxxx/);
});

test('revisions: forgetting the oldest ids (maxIds) never lets a forgotten id reuse a revision', async () => {
  const dir = spoolDir();
  const ledger = await RevisionLedger.open(dir, { maxIds: 2 });
  for (let r = 0; r < 4; r++) ledger.assign('cm-old', contentDigest(`old${r}`));
  ledger.assign('cm-x', contentDigest('x'));
  ledger.assign('cm-y', contentDigest('y')); // cm-old (rev 4) forgotten here
  ledger.close();
  const again = await RevisionLedger.open(dir, { maxIds: 2 });
  const back = again.assign('cm-old', contentDigest('old-new'));
  assert.ok(back.revision > 4, `forgotten id came back at ${back.revision}`);
  again.close();
});

test('revisions: the file stays bounded — compaction keeps one line per remembered digest', async () => {
  const dir = spoolDir();
  const ledger = await RevisionLedger.open(dir, { maxIds: 100 });
  for (let i = 0; i < 2000; i++) ledger.assign(`cm-${i % 20}`, contentDigest(i));
  ledger.close();
  const lines = readFileSync(join(dir, LEDGER_FILE), 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length <= 1024 + 1, `${lines.length} lines`);
  const again = await RevisionLedger.open(dir, { maxIds: 100 });
  // cm-19 was assigned 100 times (i = 19, 39, …, 1999)
  assert.equal(again.assign('cm-19', contentDigest('next')).revision, 101);
  again.close();
});

test('revisions: an id or digest that is not one is refused, not written', async () => {
  const dir = spoolDir();
  const ledger = await RevisionLedger.open(dir);
  assert.throws(() => ledger.assign('a\nb', contentDigest(1)), /not a finding id/);
  assert.throws(() => ledger.assign('cm-a', 'zz'), /not a hex digest/);
  ledger.close();
  assert.deepEqual(readFileSync(join(dir, LEDGER_FILE), 'utf8'), '');
});
