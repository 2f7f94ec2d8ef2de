/**
 * Real public container and cloud telemetry (test/fixtures/public/, sources and licences in its README): the real
 * CLI sniffs each file as its format, reads every record (mapped or counted unused, none bad), and
 * raises nothing above informational — none of these samples is mining or proxyware.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SEVERITY_RANK } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const PUBLIC = join(import.meta.dirname, '..', 'fixtures', 'public');

interface Sample {
  path: string;
  format: string;
  /** Records mapped to events. */
  events: number;
  /** Records read whole but of a type no analytic uses. */
  unused: number;
}

const SAMPLES: Sample[] = [
  // create, delete and exec by the cluster admin (3 records, 3 events)
  { path: 'k8s-audit/falco-minikube-admin.log', format: 'k8s-audit', events: 3, unused: 0 },
  // anonymous namespace create is unused (no workload); privileged, hostPath and kube-system pods and a cluster-admin binding are read
  { path: 'k8s-audit/falco-minikube-risky.log', format: 'k8s-audit', events: 4, unused: 1 },
  // three container execs, the first without a top-level time
  { path: 'tetragon/testdata-events.json', format: 'tetragon', events: 3, unused: 0 },
  // curl exec and exit; the legacy process_connect event type is counted unused
  { path: 'tetragon/book-golden-signals.json', format: 'tetragon', events: 2, unused: 1 },
  // nsenter from a privileged pod into the host namespaces, then bash
  { path: 'tetragon/book-privileged-pod-nsenter.json', format: 'tetragon', events: 2, unused: 0 },
  // Falco's own regression output: eight open_from_cat alerts
  { path: 'falco/single-rule-cat-write.json', format: 'falco', events: 8, unused: 0 },
  // lookup-events items, newest first, CRLF line ends, no final newline: RunInstances and TerminateInstances
  // are read; DescribeInstances, StopInstances, SharedSnapshotVolumeCreated and CreateSecurityGroup are unused
  { path: 'cloudtrail/plaso-lookup-events.jsonl', format: 'cloudtrail', events: 2, unused: 4 },
  // newest first: two instance inserts and a firewall insert (first and last entries joined) and a service
  // account create are read; the network insert's two entries and two non-audit test entries are unused
  { path: 'gcp-audit/plaso-gcp-logging.jsonl', format: 'gcp-audit', events: 4, unused: 4 },
  // the Python SDK's snake_case EventData: the VM write and delete are read, the disk calls unused
  { path: 'azure-activity/plaso-activity-log.jsonl', format: 'azure-activity', events: 2, unused: 2 },
];

function aboveInformational(stdout: string): string[] {
  return ndjsonFindings(stdout)
    .filter((f) => SEVERITY_RANK[f.severity] > SEVERITY_RANK.informational)
    .map((f) => JSON.stringify(f));
}

for (const sample of SAMPLES) {
  test(`public ${sample.path}: sniffed as ${sample.format}, every record read, nothing above informational`, () => {
    const r = runCli(['hunt', join(PUBLIC, sample.path), '--format', 'ndjson', '--no-progress']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`1 files \\(${sample.format} 1\\), ${sample.events} events \\+`), r.stderr);
    assert.doesNotMatch(r.stderr, /bad input/, r.stderr);
    if (sample.unused > 0) {
      assert.match(r.stderr, new RegExp(`skipped: ${sample.unused} records? of event types no analytic uses`));
    } else {
      assert.doesNotMatch(r.stderr, /skipped:/);
    }
    assert.deepEqual(aboveInformational(r.stdout), []);
  });
}

test('all public samples in one run: each format counted, nothing above informational', () => {
  // the files, not the directory: its README.md is no telemetry
  const r = runCli(['hunt', ...SAMPLES.map((s) => join(PUBLIC, s.path)), '--format', 'ndjson', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const events = SAMPLES.reduce((n, s) => n + s.events, 0);
  assert.match(
    r.stderr,
    new RegExp(
      `9 files \\(azure-activity 1, cloudtrail 1, falco 1, gcp-audit 1, k8s-audit 2, tetragon 3\\), ${events} events \\+`,
    ),
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /bad input/, r.stderr);
  assert.deepEqual(aboveInformational(r.stdout), []);
});
