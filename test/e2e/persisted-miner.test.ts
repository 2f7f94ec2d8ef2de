/**
 * End to end: a miner that lives only in a persistence entry, with nothing else collected from its host,
 * is a finding. A crontab line and a systemd unit each start a renamed miner with pool arguments
 * (test/fixtures/scenarios/lnx-persisted-miner): what the entry will run is judged as a command, so each
 * host gets a low AN0742 finding naming the entry's file:line. Benign entries (logrotate, certbot,
 * apt-daily, a backup script) and generic ones (a download piped to a shell, a unit running a hidden
 * script) are not mining-specific and raise nothing alone. A cron line that base64-decodes a script into
 * a shell (test/fixtures/scenarios/lnx-persisted-decoded) is one entry and one leg: a decoded download
 * raises nothing alone, a decoded miner is low, and cron's exec of the line adds the process leg once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const SCENARIOS = join(import.meta.dirname, '..', 'fixtures', 'scenarios');
const MINER = join(SCENARIOS, 'lnx-persisted-miner');

test('a crontab line and a systemd unit launching a renamed miner are each a low AN0742 finding naming the entry', () => {
  const r = huntNdjson([join(MINER, 'cron-host'), join(MINER, 'unit-host')]);
  assert.equal(r.code, 0, r.stderr);
  const byHost = new Map(r.findings.map((f) => [f.host, f]));
  assert.equal(r.findings.length, 2, r.findings.map((f) => `${f.host} ${f.severity} ${f.summary}`).join('\n'));
  for (const [host, entry, file] of [
    ['cron-miner-01', 'cron entry /var/spool/cron/crontabs/www-data:4', 'cron-host/var/spool/cron/crontabs/www-data:4'],
    [
      'unit-miner-01',
      'systemd entry /etc/systemd/system/php-fpm-helper.service:9',
      'unit-host/etc/systemd/system/php-fpm-helper.service:9',
    ],
  ]) {
    const f = byHost.get(host);
    assert.ok(f, `no finding on ${host}`);
    assert.equal(f.analytic, 'AN0742');
    assert.equal(f.severity, 'low');
    assert.equal(f.entity, `host:${host}`);
    const persistence = f.facts.persistence as string[] | undefined;
    assert.ok(
      persistence?.some((p) => p.endsWith(file)),
      String(persistence),
    );
    const miner = f.evidence.filter((e) => e.kind === 'miner-process');
    assert.ok(miner.length > 0, f.evidence.map((e) => e.kind).join(', '));
    for (const e of miner) {
      assert.ok(e.source.endsWith(file), e.source);
      assert.ok(e.explanation.startsWith(`what the ${entry} will run: `), e.explanation);
      assert.equal(e.entity, `host:${host}`);
    }
    // containment removes the entry the miner runs from
    const remove = f.triage?.containment.steps.find((s) => s.phase === 'remove')?.commands.join('\n') ?? '';
    assert.match(remove, host === 'cron-miner-01' ? /crontab -u 'www-data'/ : /php-fpm-helper\.service/);
  }
});

test('benign crontabs and units, and generic persistence alone, raise no finding', () => {
  for (const scenario of ['lnx-persisted-benign', 'lnx-persisted-generic']) {
    const r = huntNdjson([join(SCENARIOS, scenario)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /state records/, scenario);
    assert.deepEqual(
      r.findings.map((f) => `${f.severity} ${f.summary}`),
      [],
      scenario,
    );
  }
});

const DECODED = join(SCENARIOS, 'lnx-persisted-decoded');

test('a base64-decoded cron line is one leg alone: a decoded download nothing, a decoded miner low; its exec adds the process', () => {
  const alone = huntNdjson([join(DECODED, 'dropper-host'), join(DECODED, 'miner-host')]);
  assert.equal(alone.code, 0, alone.stderr);
  assert.deepEqual(
    alone.findings.map((f) => [f.host, f.entity, f.severity, f.legs]),
    [['web-05', 'host:web-05', 'low', ['reach']]],
  );
  const [miner] = alone.findings;
  const dropper = miner.evidence.find((e) => e.by === 'shell:decoded-script');
  assert.ok(dropper?.source.endsWith('miner-host/var/spool/cron/crontabs/root:2'), dropper?.source);
  assert.equal(dropper?.persistence?.mechanism, 'cron');

  const exec = huntNdjson([join(DECODED, 'exec-host')]);
  assert.equal(exec.code, 0, exec.stderr);
  assert.deepEqual(
    exec.findings.map((f) => [f.entity, f.severity, f.legs]),
    [['process:web-06:6200', 'medium', ['process', 'reach']]],
  );
  const f = exec.findings[0];
  // the decoded script is the exec's, seen running; the entry's own reading of it is not said again
  assert.deepEqual(
    f.evidence.filter((e) => e.by === 'shell:decoded-script').map((e) => e.entity),
    ['process:web-06:6200'],
  );
  assert.deepEqual(
    f.evidence.filter((e) => e.class === 'persistence').map((e) => e.source.slice(e.source.indexOf('exec-host/'))),
    ['exec-host/var/spool/cron/crontabs/root:2'],
  );
});
