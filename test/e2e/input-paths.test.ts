/**
 * End to end: the paths a user gives are read once each (the same collection twice, or with a file of it,
 * finds and counts what it does once), and a directory inside a collection is that collection's host's.
 * Three CLI runs in all.
 */
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');

/** The summary's counts: files by format, events and state records (not the time it took). */
function counts(stderr: string): string | undefined {
  return /^coalmine: (.*) in [\d.]+s/m.exec(stderr)?.[1];
}

test('the collection given twice and with a file of it reads as once; a directory of it names its host', () => {
  const once = huntNdjson([EXAMPLE]);
  assert.equal(once.code, 0, once.stderr);
  assert.equal(counts(once.stderr), '4 files (auditd 1, crontab 2, metrics-csv 1), 143 events + 6 state records');
  const hosts = [...new Set(once.findings.map((f) => f.host))];
  assert.deepEqual(hosts, ['web-01']);

  const audit = join(EXAMPLE, 'var', 'log', 'audit');
  const again = `./${relative(process.cwd(), EXAMPLE)}/`;
  const twice = huntNdjson([EXAMPLE, again, join(audit, 'audit.log')]);
  assert.equal(twice.code, once.code, twice.stderr);
  assert.equal(counts(twice.stderr), counts(once.stderr));
  assert.equal(twice.stdout, once.stdout, 'the same findings, evidence and all');
  assert.match(twice.stderr, /INPUT_GIVEN_TWICE: the same directory as .*kinsing-like, given before: read once/);
  assert.match(
    twice.stderr,
    /audit\.log: INPUT_GIVEN_TWICE: inside .*kinsing-like, also given: read once, as part of it/,
  );
  assert.doesNotMatch(twice.stderr, /not read:/);
  // read once is no bad input: its own line, and the bad-input count is the single run's
  assert.match(twice.stderr, /^read once: 2 input paths given again or inside another given$/m);
  assert.equal(/bad input: \d+/.exec(twice.stderr)?.[0], /bad input: \d+/.exec(once.stderr)?.[0]);

  const part = huntNdjson([audit]);
  assert.equal(part.code, 0, part.stderr);
  assert.ok(part.findings.length > 0, part.stderr);
  assert.deepEqual([...new Set(part.findings.map((f) => f.host))], hosts);
});
