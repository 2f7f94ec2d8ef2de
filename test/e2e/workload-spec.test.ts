/**
 * End to end: what a workload's spec says it runs is tool evidence (signals/workload.ts and the spec
 * commands in signals/index.ts), through the real CLI on our own fixtures. An audit `create` of a
 * DaemonSet whose container runs xmrig against a pool gave no tool evidence before; inventory (state,
 * no audit) shows the same miner with the authorization gap named.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

function hunt(path: string) {
  const r = runCli(['hunt', join(FIXTURES, path), '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  return ndjsonFindings(r.stdout).filter((f) => f.analytic === 'AN0745');
}

test('audit: an anonymous create of a miner DaemonSet is medium AN0745 with authorization and tool legs from its pod spec', () => {
  const findings = hunt('k8s-audit/good.log');
  const netmon = findings.find((f) => f.entity === 'workload:cluster:kube-system:kube-netmon');
  assert.ok(netmon, JSON.stringify(findings.map((f) => f.entity)));
  assert.equal(netmon.severity, 'medium');
  assert.deepEqual([...netmon.legs].sort(), ['authorization', 'tool']);
  assert.ok(
    netmon.evidence.some(
      (e) =>
        e.kind === 'miner-process' &&
        e.strength === 'strong' &&
        /^in the pod spec of container netmon: /.test(e.explanation),
    ),
    JSON.stringify(netmon.evidence.map((e) => e.explanation)),
  );
  assert.ok(netmon.evidence.some((e) => e.kind === 'privileged-workload' && e.strength === 'weak'));
  // the CI job, the Spark CronJob (its init container downloads a CSV) and the API Deployment are ordinary
  for (const name of ['build-4711', 'nightly-etl', 'api'])
    assert.ok(!findings.some((f) => f.entity.endsWith(`:${name}`)), name);
});

test('inventory: the miner command in a DaemonSet is tool evidence; without an audit log it stays low with the gap named', () => {
  const findings = hunt('k8s-inventory/good.json');
  assert.deepEqual(
    findings.map((f) => `${f.severity} ${f.entity} ${f.legs.join('+')}`),
    ['low workload:cluster:default:system-monitor tool'],
  );
  const [f] = findings;
  assert.ok(
    f.evidence.some((e) => e.by === 'process:miner-name' && /in the pod spec of container monitor/.test(e.explanation)),
  );
  assert.ok(f.gaps.some((g) => /no Kubernetes audit log/.test(g)));
});
