/**
 * End to end: the SOC playbook on the bundled Kinsing-like scenario through the real CLI — Tier 2 with
 * the mining-address and competitor-kill reasons, all four questions, a Linux containment plan naming
 * the real pid, path and cron line, a cost — and `coalmine explain` printing it for an analyst.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'kinsing-like');
const work = mkdtempSync(join(tmpdir(), 'coalmine-triage-'));
after(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[]) => runCli(args, { cwd: work });

function huntKinsing(extra: string[] = []): { findings: Finding[]; stderr: string; stdout: string } {
  const r = run(['hunt', EXAMPLE, '--format', 'ndjson', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return {
    findings: r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Finding),
    stderr: r.stderr,
    stdout: r.stdout,
  };
}

test('Kinsing-like: Tier 2 with the mining-address and competitor-kill reasons, four questions, a Linux plan, a cost', () => {
  const { findings, stderr } = huntKinsing();
  assert.equal(findings.length, 1);
  const f = findings[0];
  const t = f.triage;
  assert.ok(t);
  assert.equal(t.escalation.tier, 'Tier 2');
  assert.ok(
    t.escalation.reasons.some((r) => /^connections to known mining addresses: pool\.supportxmr\.com:3333/.test(r)),
  );
  assert.ok(t.escalation.reasons.some((r) => /^processes terminating each other \(competing malware\): xmrig/.test(r)));

  assert.deepEqual(
    t.questions.map((q) => q.id),
    ['legitimate-process', 'destination-reputation', 'recent-changes', 'vulnerable-exposure'],
  );
  for (const q of t.questions)
    assert.ok(q.status === 'needs-analyst' || q.evidence.length > 0, `${q.id} answered without evidence`);
  const byId = Object.fromEntries(t.questions.map((q) => [q.id, q]));
  assert.match(byId['destination-reputation'].answer, /intel pool-domains \(version [^;]+; source: /);
  assert.match(byId['recent-changes'].answer, /cron \/var\/spool\/cron\/crontabs\/redis:5/);
  assert.equal(byId['vulnerable-exposure'].status, 'needs-analyst');
  assert.match(byId['vulnerable-exposure'].answer, /pid 812/);

  assert.equal(t.containment.platform, 'linux');
  assert.deepEqual(
    t.containment.steps.map((s) => s.phase),
    ['isolate', 'remove', 'preserve', 'patch', 'watch'],
  );
  const commands = t.containment.steps.flatMap((s) => s.commands);
  assert.ok(commands.includes('kill -STOP 4130'));
  assert.ok(commands.includes(`[ "$(readlink /proc/4130/exe)" = '/tmp/kdevtmpfsi' ] && kill -9 4130`));
  assert.ok(commands.includes(`rm -f -- '/tmp/kdevtmpfsi'`));
  assert.ok(
    commands.some(
      (c) =>
        c.startsWith(
          `crontab -u 'redis' -l | grep -vF -- '@reboot /tmp/kdevtmpfsi -B -o stratum+tcp://pool.supportxmr.com:3333`,
        ) && c.endsWith(`| crontab -u 'redis' -`),
    ),
    commands.join('\n'),
  );
  assert.ok(commands.includes('iptables -I OUTPUT -d 198.51.100.23 -j DROP'));

  // 392% of a core sampled each minute from 02:11 to 02:45 (cpu.csv): about 2.2 core-hours
  assert.ok(t.cost);
  assert.ok(t.cost.core_hours > 2 && t.cost.core_hours < 2.5, String(t.cost.core_hours));
  assert.equal(t.cost.currency, 'USD');
  assert.equal(t.cost.amount, Math.round(t.cost.core_hours * 0.05 * 100) / 100);
  assert.match(stderr, /findings: high 1; Tier 2: 1/);
  assert.match(stderr, /hijacked compute: 2\.\d+ core-hours ≈ 0\.\d\d USD/);
  assert.ok(f.usage && f.usage.series[0].points.length > 10, 'the CPU timeline is kept for the report');
});

test('prices come from coalmine.yaml; a bad price is a usage error with its line', () => {
  const policy = join(work, 'prices.yaml');
  writeFileSync(policy, 'prices:\n  currency: EUR\n  core_hour: 0.5\n');
  const { findings } = huntKinsing(['--policy', policy]);
  const cost = findings[0].triage?.cost;
  assert.equal(cost?.currency, 'EUR');
  assert.equal(cost?.amount, Math.round((cost?.core_hours ?? 0) * 0.5 * 100) / 100);
  writeFileSync(policy, 'prices:\n  core_hour: lots\n');
  const bad = run(['hunt', EXAMPLE, '--policy', policy]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /prices\.yaml:2.*POLICY_BAD_VALUE: prices\.core_hour must be a price/);
});

test('coalmine explain prints the decision, timeline, questions, plan and cost; by re-hunting or from a findings file', () => {
  const { findings, stdout } = huntKinsing();
  const id = findings[0].id;
  const direct = run(['explain', id.slice(0, 9), EXAMPLE]);
  assert.equal(direct.code, 0, direct.stderr);
  for (const heading of [
    'Decision: Tier 2',
    'Timeline',
    'Processes',
    'Questions',
    'Containment plan (linux; printed, never run by coalmine)',
    'Cost',
    'If this is legitimate, add to coalmine.yaml',
  ])
    assert.ok(direct.stdout.includes(heading), heading);
  assert.match(direct.stdout, /NEEDS AN ANALYST: no exposed service was seen/);
  assert.match(direct.stdout, /kill -9 4130/);
  const file = join(work, 'findings.ndjson');
  writeFileSync(file, stdout);
  const fromFile = run(['explain', id, '--findings', file]);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.equal(fromFile.stdout, direct.stdout, 'the same finding either way');
  const missing = run(['explain', 'cm-0000', '--findings', file]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`no finding cm-0000 \\(findings: ${id}\\)`));
  assert.equal(run(['explain', 'x;rm', EXAMPLE]).code, 2);
});
