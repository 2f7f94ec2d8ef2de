/**
 * End to end: the daily command every Linux containment plan recommends (`coalmine hunt /var/log/audit
 * /var/spool/cron --fail-on low`) names directories inside a live system, not collected roots. Run as the
 * plan prints it on the bundled example's two directories, it reads the cron spool as cron (the file is
 * recognised by its absolute path) and finds the planted job.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');

/** The plan's daily hunt, from the finding on the whole example, with its paths under the example. */
function dailyCommand(): string[] {
  const f = huntNdjson([EXAMPLE]).findings.find((x) => x.severity === 'high');
  assert.ok(f, 'the demo finding');
  const commands = f.triage?.containment?.steps.flatMap((s) => s.commands) ?? [];
  const daily = commands.find((c) => c.startsWith('coalmine hunt '));
  assert.equal(daily?.split('#')[0].trim(), 'coalmine hunt /var/log/audit /var/spool/cron --fail-on low');
  return (daily ?? '')
    .split('#')[0]
    .trim()
    .split(/\s+/)
    .slice(2)
    .map((a) => (a.startsWith('/var/') ? join(EXAMPLE, a) : a));
}

test('the recommended daily hunt, on the example’s audit and cron directories, reads the spool as cron and finds the job', () => {
  const args = dailyCommand();
  const r = huntNdjson(
    args.filter((a) => a.startsWith('/')),
    args.filter((a) => !a.startsWith('/')),
  );
  assert.doesNotMatch(r.stderr, /SOURCE_UNKNOWN_FORMAT/);
  assert.match(r.stderr, /2 files \(auditd 1, crontab 1\)/);
  assert.equal(r.code, 1, '--fail-on low: findings exit 1');
  // the planted job (line 5 of the redis user's spool), as the host names its file
  const cron = r.findings
    .flatMap((f) => f.evidence)
    .filter((e) => e.kind === 'persistence' && e.source.endsWith('var/spool/cron/crontabs/redis:5'));
  assert.ok(
    cron.some((e) => /^cron entry in \/var\/spool\/cron\/crontabs\/redis: "\/tmp\/kdevtmpfsi /.test(e.explanation)),
    r.stdout,
  );
});

test('cron files further down a walked directory are still not cron; a folder of collections reads each as its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-live-'));
  try {
    // a copy that is no collection (no etc/hostname, no bodyfile): its cron-named files are no live system's
    cpSync(EXAMPLE, join(dir, 'copy'), { recursive: true });
    rmSync(join(dir, 'copy', 'etc', 'hostname'), { force: true });
    rmSync(join(dir, 'copy', 'bodyfile'), { force: true });
    const r = huntNdjson([join(dir)]);
    assert.doesNotMatch(r.stderr, /crontab \d/);
    assert.match(r.stderr, /copy\/etc\/crontab:1: SOURCE_UNKNOWN_FORMAT/);
    // the whole collection beside it (its etc/hostname kept) is read as its own root: its cron is cron
    rmSync(join(dir, 'copy'), { recursive: true, force: true });
    cpSync(EXAMPLE, join(dir, 'host-1'), { recursive: true });
    const whole = huntNdjson([dir]);
    assert.match(whole.stderr, /crontab \d/);
    assert.ok(
      whole.findings.some((f) => f.host === 'web-01' && f.severity === 'high'),
      whole.stdout,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
