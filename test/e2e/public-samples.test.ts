/**
 * Real public container, cloud and EDR telemetry (test/fixtures/public/, sources and licences in its README): the
 * real CLI sniffs each file as its format, reads every record (mapped or counted unused, none bad), and raises
 * nothing above informational — none of these samples is mining or proxyware, but for one Panther test event
 * that runs ethminer, which is the low AN0741 a miner's start alone is.
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
  /** What it raises above informational, as `analytic severity`; nothing when not given. */
  findings?: string[];
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
  // EDR exports (issue 18). Defender API answers from Microsoft's documentation: two process rows each
  { path: 'defender/DeviceProcessEvents-m365d-api.json', format: 'defender', events: 2, unused: 0 },
  { path: 'defender/DeviceProcessEvents-mde-api.json', format: 'defender', events: 2, unused: 0 },
  { path: 'defender/DeviceProcessEvents-graph.json', format: 'defender', events: 2, unused: 0 },
  // Panther's FDR test events: a DNS request, ethminer and netcat starts, a connection; ethminer alone is a low AN0741
  {
    path: 'crowdstrike-fdr/panther-fdr-events.json',
    format: 'crowdstrike-fdr',
    events: 4,
    unused: 0,
    findings: ['AN0741 low'],
  },
  // Deep Visibility API answers: three Task Updates in the older columns; a Task Start no analytic reads; an inbound RDP connect
  { path: 'sentinelone/rapid7-dv-api-events.json', format: 'sentinelone', events: 3, unused: 0 },
  { path: 'sentinelone/rapid7-help-task-start.json', format: 'sentinelone', events: 0, unused: 1 },
  { path: 'sentinelone/stix-shifter-dv-ip-connect.json', format: 'sentinelone', events: 1, unused: 0 },
  // the ECS RFC's real Elastic Endpoint exec hit
  { path: 'elastic-endpoint/ecs-rfc0030-linux-exec-hit.json', format: 'elastic-endpoint', events: 1, unused: 0 },
  // Carbon Black Cloud: a data forwarder procstart, a process search answer, an enriched event search answer (two netconns)
  { path: 'carbon-black/stix-shifter-data-forwarder-procstart.json', format: 'carbon-black', events: 1, unused: 0 },
  { path: 'carbon-black/cbc-sdk-process-search.json', format: 'carbon-black', events: 1, unused: 0 },
  { path: 'carbon-black/cbc-sdk-enriched-events-netconn.json', format: 'carbon-black', events: 2, unused: 0 },
];

function aboveInformational(stdout: string): string[] {
  return ndjsonFindings(stdout)
    .filter((f) => SEVERITY_RANK[f.severity] > SEVERITY_RANK.informational)
    .map((f) => `${f.analytic} ${f.severity}`);
}

for (const sample of SAMPLES) {
  test(`public ${sample.path}: sniffed as ${sample.format}, every record read, ${sample.findings?.join(', ') ?? 'nothing above informational'}`, () => {
    const r = runCli(['hunt', join(PUBLIC, sample.path), '--format', 'ndjson', '--no-progress']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`1 files \\(${sample.format} 1\\), ${sample.events} events \\+`), r.stderr);
    assert.doesNotMatch(r.stderr, /bad input/, r.stderr);
    if (sample.unused > 0) {
      assert.match(r.stderr, new RegExp(`skipped: ${sample.unused} records? of event types no analytic uses`));
    } else {
      assert.doesNotMatch(r.stderr, /skipped:/);
    }
    assert.deepEqual(aboveInformational(r.stdout), sample.findings ?? [], r.stdout);
  });
}

test('all public samples in one run: each format counted, nothing above informational but what each raises alone', () => {
  // the files, not the directories: their README.md is no telemetry
  const r = runCli(['hunt', ...SAMPLES.map((s) => join(PUBLIC, s.path)), '--format', 'ndjson', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const events = SAMPLES.reduce((n, s) => n + s.events, 0);
  const files = new Map<string, number>();
  for (const s of SAMPLES) files.set(s.format, (files.get(s.format) ?? 0) + 1);
  const perFormat = [...files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([format, n]) => `${format} ${n}`)
    .join(', ');
  assert.ok(r.stderr.includes(`${SAMPLES.length} files (${perFormat}), ${events} events +`), r.stderr);
  assert.doesNotMatch(r.stderr, /bad input/, r.stderr);
  assert.deepEqual(
    aboveInformational(r.stdout),
    SAMPLES.flatMap((s) => s.findings ?? []),
  );
});
