/**
 * Every reader of whole JSON documents reads a file that holds several of them back to back, as
 * `aws … >> file` or `gcloud … --format=json >> file` leave it: the records of every document are read,
 * none dropped after the first, and the file is sniffed as the first document alone is.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { azureActivity } from './azure-activity.js';
import { azureFlow } from './azure-flow.js';
import { azureMetrics } from './azure-metrics.js';
import { cloudtrail } from './cloudtrail.js';
import { cloudwatchMetrics } from './cloudwatch-metrics.js';
import { memoryInput, readAll } from './contract.js';
import { dockerInspect } from './docker-inspect.js';
import { gcpAudit } from './gcp-audit.js';
import { gcpFlow } from './gcp-flow.js';
import { gcpMonitoring } from './gcp-monitoring.js';
import { guardduty } from './guardduty.js';
import { sniffSource } from './index.js';
import { k8sAudit } from './k8s-audit.js';
import { k8sInventory } from './k8s-inventory.js';
import type { SourceDescriptor } from './types.js';
import { vpcFlow } from './vpc-flow.js';

const DIR = 'test/fixtures';

interface Case {
  source: SourceDescriptor;
  fixture: string;
  /** The second document: the first with its ids changed where the reader keeps one event per id. */
  second?: (text: string) => string;
}

const CASES: Case[] = [
  { source: cloudtrail, fixture: 'cloudtrail/trail.json' },
  { source: cloudtrail, fixture: 'cloudtrail/lookup-events.json' },
  // GuardDuty keeps the first of a finding's updates: the appended answer holds other findings
  {
    source: guardduty,
    fixture: 'guardduty/get-findings.json',
    second: (t) => t.replaceAll('"Id": "', '"Id": "appended-'),
  },
  { source: cloudwatchMetrics, fixture: 'cloudwatch-metrics/get-metric-data.json' },
  { source: cloudwatchMetrics, fixture: 'cloudwatch-metrics/i-0a1b2c3d4e5f60718-cpu.json' },
  { source: gcpAudit, fixture: 'gcp-audit/gcloud-read.json' },
  { source: gcpFlow, fixture: 'gcp-flow/gcloud-read.json' },
  { source: gcpMonitoring, fixture: 'gcp-monitoring/timeseries-list.json' },
  { source: azureActivity, fixture: 'azure-activity/cli.json' },
  { source: azureActivity, fixture: 'azure-activity/records.json' },
  { source: azureFlow, fixture: 'azure-flow/nsg.json' },
  { source: azureMetrics, fixture: 'azure-metrics/cli.json' },
  { source: azureMetrics, fixture: 'azure-metrics/vmss.json' },
  // one connection's records are one event: the appended page holds another interface's
  {
    source: vpcFlow,
    fixture: 'vpc-flow/filter-log-events.json',
    second: (t) => t.replaceAll('eni-0e1f2a3b4c5d6e7f8', 'eni-0a0b0c0d0e0f01020'),
  },
  // one event per audit ID over its stages: the appended EventList holds other requests
  {
    source: k8sAudit,
    fixture: 'k8s-audit/webhook.json',
    second: (t) => t.replaceAll('"auditID": "', '"auditID": "appended-'),
  },
  { source: k8sInventory, fixture: 'k8s-inventory/good.json' },
  { source: dockerInspect, fixture: 'docker-inspect/good.json' },
];

/** What an event says, without where it was read (an appended document's records sit on later lines). */
function said(e: CoalEvent): string {
  const { coalmine, original: _original, ...rest } = e;
  return JSON.stringify({ ts: coalmine.ts, ...rest });
}

/** Where each event was read: no record of the appended document may be named as one of the first's. */
function refsOf(events: CoalEvent[]): Set<string> {
  return new Set(events.map((e) => JSON.stringify(e.coalmine.ref)));
}

async function read(source: SourceDescriptor, name: string, text: string) {
  const { events, issues } = await readAll(source, memoryInput(name, text));
  return { said: events.map(said).sort(), codes: issues.map((i) => i.code).sort(), refs: refsOf(events).size };
}

for (const { source, fixture, second } of CASES) {
  test(`${source.name}: ${fixture} appended to itself is read whole, glued or on the next line`, async () => {
    const name = fixture.split('/').pop() as string;
    const first = readFileSync(`${DIR}/${fixture}`, 'utf8');
    const next = second ? second(first) : first;
    const one = await read(source, name, first);
    const two = await read(source, name, next);
    assert.ok(one.said.length > 0, `${fixture} gives events alone`);
    const want = {
      said: [...one.said, ...two.said].sort(),
      codes: [...one.codes, ...two.codes].sort(),
      refs: one.refs + two.refs,
    };
    for (const [how, text] of [
      ['on the next line', `${first.trimEnd()}\n${next}`],
      ['glued', `${first.trimEnd()}${next.trimStart()}`],
    ]) {
      assert.equal(sniffSource(memoryInput(name, text))?.name, source.name, `${how}: sniffed`);
      assert.deepEqual(await read(source, name, text), want, how);
    }
  });
}
