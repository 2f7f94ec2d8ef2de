/**
 * End to end: `coalmine simulate all --emit-logs DIR` writes the simulated story as log files and
 * `coalmine hunt DIR` turns them into the findings watch would give: one high AN0742 finding on the
 * simulated miner naming its pool contact, the cron entry and the kill, one proxyjacking finding on the
 * proxyware client, and not one bad record. A DIR with something in it is refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type EmittedLogs, emitLogs, prepareDir } from '../../src/simulate/emit-logs.js';
import { FAKE_WALLET } from '../../src/simulate/index.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-simlogs-'));
after(() => rmSync(work, { recursive: true, force: true }));

const cli = runCli;
const findings = ndjsonFindings;

test('simulate all --emit-logs writes a story hunt reads with no bad record: a high AN0742 finding with pool, cron and kill, and the proxyware', () => {
  const dir = join(work, 'story');
  const sim = cli(['simulate', 'all', '--emit-logs', dir, '--json']);
  assert.equal(sim.code, 0, sim.stderr);
  const story = JSON.parse(sim.stdout) as EmittedLogs;
  assert.ok(story.miner && story.cron && story.rival && story.proxyware, sim.stdout);
  for (const f of story.files) assert.ok(f.startsWith(dir), f);
  assert.ok(Date.parse(story.to) <= Date.now() && Date.now() - Date.parse(story.to) < 60_000, story.to);
  assert.ok(Date.parse(story.to) - Date.parse(story.from) > 15 * 60_000, 'longer than the default sustain window');

  const r = cli(['hunt', dir, '--format', 'ndjson', '--no-summary']);
  assert.equal(r.code, 0, r.stderr);
  const all = findings(r.stdout);
  const high = all.find((f) => f.severity === 'high' && f.facts.executable === story.miner?.executable);
  assert.ok(high, r.stdout);
  assert.equal(high.analytic, 'AN0742');
  assert.deepEqual(high.gaps, []);
  const kinds = new Set(high.evidence.map((e) => e.kind));
  for (const k of ['miner-process', 'sustained-cpu', 'pool-contact', 'persistence', 'competitor-kill'])
    assert.ok(kinds.has(k as never), `${k} missing: ${[...kinds].join(', ')}`);
  assert.match(
    high.evidence.find((e) => e.kind === 'pool-contact')?.explanation ?? '',
    new RegExp(`connected to ${story.miner.pool.replace(/\./g, '\\.')}, the Stratum pool`),
  );
  const cron = high.evidence.find((e) => e.kind === 'persistence' && e.persistence?.mechanism === 'cron');
  assert.ok(cron, 'the cron entry is evidence');
  assert.equal(cron.source, `${story.cron.file}:3`);
  assert.ok(cron.persistence?.entry.includes(story.miner.executable));
  assert.ok(
    high.evidence.some(
      (e) =>
        e.kind === 'competitor-kill' && e.explanation.includes(`sent signal 9 to kdevtmpfsi (pid ${story.rival?.pid})`),
    ),
    'the kill syscall names its victim',
  );

  const proxy = all.find((f) => f.facts.executable === story.proxyware?.executable);
  assert.ok(proxy, r.stdout);
  assert.equal(proxy.analytic, 'AN0742');
  assert.deepEqual(proxy.attack, ['T1496.002']);
  const pw = proxy.evidence.find((e) => e.kind === 'proxyware-process');
  assert.ok(pw, proxy.evidence.map((e) => e.kind).join(', '));
  assert.match(pw.explanation, /-email=simulate@coalmine\.invalid -password=\(hidden\)/);

  // the summary: every file read by its format, nothing bad
  const s = cli(['hunt', dir, '--format', 'ndjson']);
  assert.match(s.stderr, /3 files \(auditd 1, crontab 1, metrics-csv 1\)/);
  assert.doesNotMatch(s.stderr, /bad input/);
});

test('simulate --emit-logs refuses a directory with something in it, and a file, with the usage exit code', () => {
  const full = join(work, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'keep.txt'), 'mine\n');
  const r = cli(['simulate', 'miner', '--emit-logs', full]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--emit-logs: .*full: exists and is not empty/);
  assert.deepEqual(readdirSync(full), ['keep.txt']);
  const file = cli(['simulate', 'miner', '--emit-logs', join(full, 'keep.txt')]);
  assert.equal(file.code, 2);
  assert.match(file.stderr, /keep\.txt: exists and is not a directory/);
  // an empty directory is fine, and nothing was started
  const empty = join(work, 'empty');
  mkdirSync(empty);
  const ok = cli(['simulate', 'miner', '--emit-logs', empty]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /nothing was started/);
});

test('the same options and end time write the same bytes, ending at that time', () => {
  const now = Date.parse('2026-12-01T10:00:00.400Z');
  const runs = ['a', 'b'].map((name) => {
    const dir = join(work, `same-${name}`);
    prepareDir(dir);
    return emitLogs(dir, {
      behaviours: ['miner', 'persistence', 'competitor', 'proxyware'],
      share: 0.9,
      wallet: FAKE_WALLET,
      now,
    });
  });
  assert.equal(runs[0].to, '2026-12-01T10:00:00Z');
  assert.equal(runs[0].from, '2026-12-01T09:35:00Z');
  assert.deepEqual(
    runs[0].files.map((f) => f.slice(runs[0].dir.length)),
    runs[1].files.map((f) => f.slice(runs[1].dir.length)),
  );
  for (let i = 0; i < runs[0].files.length; i++)
    assert.equal(readFileSync(runs[0].files[i], 'utf8'), readFileSync(runs[1].files[i], 'utf8'), runs[0].files[i]);
});
