/**
 * End to end: a `cloud:` approval with an owner, a reason and an expiry, through the real CLI on the
 * aws-terraform-gpu scenario (Terraform's role launches 4 p4d.24xlarge at 2026-12-01T02:05Z; its own
 * policy approves that). The same policy with the principal entry expired the day before brings the
 * launch back as a finding naming the lapsed entry; expiring after the launch it stays quiet; an expiry
 * that is not a date is a policy error with file:line. Expiry is judged at the launch, never the clock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const SCENARIO = join(import.meta.dirname, '..', 'fixtures', 'scenarios', 'cloud', 'aws-terraform-gpu');
const dir = mkdtempSync(join(tmpdir(), 'coalmine-expiry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** aws-terraform-gpu-policy.yaml with its principal entry written with terms expiring `expires`. */
function policyFile(name: string, expires: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    [
      '# GPU training goes through Terraform with a change ticket (CHG-4812 approved the p4d capacity).',
      'cloud:',
      '  principals:',
      '    - principal: "arn:aws:iam::*:role/terraform-*"',
      '      owner: ml-platform@example.com',
      '      reason: GPU training through Terraform (CHG-4812)',
      `      expires: ${expires}`,
      '  services: [autoscaling.amazonaws.com]',
      '  regions: [eu-west-1]',
      '  instance_families: ["m5.*", "c5.*", "p4d.*"]',
      '  tags: { change-ticket: "CHG-*" }',
      '',
    ].join('\n'),
  );
  return path;
}

test('an expired cloud: approval no longer approves the launch, and the finding names it with its file:line, owner and expiry', () => {
  const policy = policyFile('expired.yaml', '2026-11-30');
  const r = huntNdjson([SCENARIO], ['--policy', policy]);
  assert.equal(r.code, 0, r.stderr);
  const found = r.findings.filter((f) => f.analytic === 'AN0744');
  assert.equal(found.length, 1, r.stdout);
  const [f] = found;
  assert.equal(f.severity, 'medium');
  assert.ok(f.legs.includes('authorization'), JSON.stringify(f.legs));
  assert.match(
    String(f.facts.authorization),
    new RegExp(
      `^not approved: cloud\\.principals "arn:aws:iam::\\*:role/terraform-\\*" \\(${policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4; owner ml-platform@example\\.com; reason "GPU training through Terraform \\(CHG-4812\\)"\\) expired 2026-11-30, before this launch at 2026-12-01T02:05:00\\.000Z`,
    ),
  );
});

test('the same approval expiring after the launch still approves it: nothing above informational', () => {
  const r = huntNdjson([SCENARIO], ['--policy', policyFile('current.yaml', '2026-12-31')]);
  assert.equal(r.code, 0, r.stderr);
  const raised = r.findings.filter((f) => f.severity !== 'informational');
  assert.deepEqual(
    raised.map((f) => `${f.severity} ${f.analytic}: ${f.title}`),
    [],
  );
});

test('an expires that is not a date is a policy error naming file:line (exit 2)', () => {
  const policy = policyFile('bad.yaml', '2026-11-31');
  const r = huntNdjson([SCENARIO], ['--policy', policy]);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(
    r.stderr.includes(`${policy}:7: POLICY_BAD_VALUE: cloud.principals: expires "2026-11-31" is not a date`),
    r.stderr,
  );
  assert.deepEqual(r.findings, []);
});
