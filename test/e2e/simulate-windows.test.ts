/**
 * End to end, AN0741's story for detection engineers: `coalmine simulate windows --emit-logs DIR` writes a
 * workstation's Sysmon and Security exports (wevtutil XML) and typeperf CSV under DIR/windows, and
 * `coalmine hunt DIR/windows` makes of them exactly one finding: high AN0741 on the renamed miner, naming
 * its loopback pool contact, the scheduled task, the taskkill of rival miners and its CPU; nothing on the
 * MSBuild rebuild beside it at three cores; not one bad record.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EmittedWindows } from '../../src/simulate/windows-story.js';
import { huntNdjson, runCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-simwin-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('simulate windows --emit-logs, then hunt DIR/windows: one high AN0741 on the miner with pool, task and kill, nothing on the build', () => {
  const dir = join(work, 'story');
  const sim = runCli(['simulate', 'windows', '--emit-logs', dir, '--at', '2026-12-01T03:00:00Z', '--json']);
  assert.equal(sim.code, 0, sim.stderr);
  const story = JSON.parse(sim.stdout) as EmittedWindows;
  const windows = join(dir, 'windows');
  assert.deepEqual(story.hunt, ['coalmine', 'hunt', windows]);
  assert.deepEqual(
    story.files,
    ['sysmon.xml', 'security.xml', 'typeperf.csv'].map((f) => join(windows, f)),
  );
  assert.equal(story.to, '2026-12-01T03:00:00Z');
  assert.match(story.expect[0], /^exactly one finding: AN0741 high/);

  const r = huntNdjson([windows]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /3 files \(evtx-xml 2, typeperf 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.equal(r.findings.length, 1, r.stdout);
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'command', 'network']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.host, story.host);
  assert.equal(f.facts.pid, story.miner.pid);
  assert.equal(f.facts.executable, story.miner.executable);

  const of = (kind: string) => f.evidence.filter((e) => e.kind === kind);
  assert.ok(
    of('miner-process').some((e) => e.explanation.includes('stratum+tcp://127.0.0.1:3333')),
    'the miner by its options',
  );
  assert.ok(
    of('pool-contact').some((e) => e.explanation.includes(`connected to ${story.miner.pool}`)),
    'the pool contact',
  );
  assert.ok(
    of('persistence').some(
      (e) => e.source.endsWith('security.xml:3') && e.explanation.includes(story.persistence.task),
    ),
    'the 4698 task',
  );
  assert.ok(
    of('competitor-kill').some((e) => e.explanation.includes('xmrig.exe') && e.explanation.includes('taskkill')),
    'the taskkill of rival miners',
  );
  assert.ok(
    of('sustained-cpu').some((e) => e.source.includes('typeperf.csv')),
    'CPU from typeperf, by ID Process',
  );
  assert.ok(
    of('obfuscation').some((e) => e.explanation.includes('192.0.2.80')),
    'the encoded command, decoded',
  );
  assert.doesNotMatch(r.stdout, /MSBuild/i, 'nothing on the build');
});
