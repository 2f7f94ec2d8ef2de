/**
 * End to end: Windows autostarts judged as the commands they will run (test/fixtures/scenarios/win-autostart).
 * Sysmon 13 Run and Winlogon values (wevtutil XML), a System 7045 service install (XML) and a Security
 * 4697 service install and 4698 task (Winlogbeat JSON lines) each start a miner or a proxyware client on
 * a host with nothing else collected: each is a low AN0741 finding on the host, its evidence citing the
 * record and its containment removing the autostart. A Run value whose miner is later seen running is
 * one finding, on the process. Ordinary autostarts (OneDrive, Defender's tray, Winlogon's defaults, a
 * driver, a vendor updater, PsExec's service, a vendor task) on WS-BENIGN-01 raise nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const SCENARIO = join(import.meta.dirname, '..', 'fixtures', 'scenarios', 'win-autostart');

test('hunt: a miner or proxyware in a Run value, Userinit, a service or a task is a low finding citing the record; ordinary ones none', () => {
  const r = huntNdjson([SCENARIO]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /evtx-xml 2, winlogbeat 1/);
  const byHost = new Map(r.findings.map((f) => [f.host, f]));
  assert.deepEqual(
    [...byHost.keys()].sort(),
    ['WS-JOIN-01', 'WS-LOGON-01', 'WS-RUN-01', 'WS-SVC-01', 'WS-SVC-02', 'WS-TASK-01'],
    r.findings.map((f) => `${f.host} ${f.severity} ${f.summary}`).join('\n'),
  );
  assert.equal(r.findings.length, 6);
  for (const [host, mechanism, kind, record, remove] of [
    [
      'WS-RUN-01',
      'run-key',
      'miner-process',
      'sysmon.xml:3',
      /^Remove-ItemProperty -Path 'Registry::HKU\\.*\\Run' -Name 'OneDriveSync'$/,
    ],
    [
      'WS-LOGON-01',
      'winlogon',
      'proxyware-process',
      'sysmon.xml:4',
      /^Set-ItemProperty -Path 'Registry::HKLM\\.*\\Winlogon' -Name 'Userinit' -Value 'C:\\Windows\\system32\\userinit\.exe,'$/,
    ],
    ['WS-SVC-01', 'service', 'miner-process', 'system.xml:3', /^sc\.exe delete 'WinNetSvc'$/],
    ['WS-SVC-02', 'service', 'miner-process', 'security.ndjson:1', /^sc\.exe delete 'WmiHelper'$/],
    [
      'WS-TASK-01',
      'scheduled-task',
      'miner-process',
      'security.ndjson:2',
      /^Unregister-ScheduledTask -TaskName 'SysCheck'/,
    ],
  ] as const) {
    const f = byHost.get(host);
    assert.ok(f, host);
    assert.deepEqual([f.analytic, f.severity, f.entity, f.legs], ['AN0741', 'low', `host:${host}`, ['command']], host);
    assert.deepEqual(
      (f.facts.persistence as string[]).map((p) => p.slice(p.lastIndexOf('/') + 1)),
      [record],
      host,
    );
    const entry = f.evidence.filter((e) => e.kind === kind);
    assert.ok(entry.length > 0, `${host}: ${f.evidence.map((e) => e.kind).join(', ')}`);
    for (const e of entry) {
      assert.ok(e.source.endsWith(`win-autostart/${record}`), e.source);
      assert.equal(e.entity, `host:${host}`);
      assert.equal(e.persistence?.mechanism, mechanism);
      assert.match(e.explanation, new RegExp(`^what the ${mechanism} entry .* will run: `));
    }
    const commands = f.triage?.containment.steps.find((s) => s.phase === 'remove')?.commands ?? [];
    assert.ok(
      commands.some((c) => remove.test(c)),
      `${host}: ${commands.join('\n')}`,
    );
  }
  // the Run value's miner seen running: one finding on the process, the value joined once
  const joined = byHost.get('WS-JOIN-01');
  assert.ok(joined);
  assert.match(joined.entity, /^process:WS-JOIN-01:/);
  assert.equal(joined.facts.executable, 'C:\\Users\\ana\\AppData\\Roaming\\svchelper\\svchelper.exe');
  assert.deepEqual(
    joined.evidence.filter((e) => e.class === 'persistence').map((e) => e.persistence?.mechanism),
    ['run-key'],
  );
  assert.ok(!joined.evidence.some((e) => e.entity === 'host:WS-JOIN-01'));
  assert.ok(!byHost.has('WS-BENIGN-01'));
});
