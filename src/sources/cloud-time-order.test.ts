/**
 * Every cloud reader gives a file's events in time order whatever order the file holds its records in:
 * `gcloud logging read`, `aws cloudtrail lookup-events` and the metric APIs print the newest first, and
 * a reader that passed that on made the engine take every older record as a late event. Each fixture is
 * read as written and with its records reversed (lines, or a document's records array): the same
 * events, in time order, both ways.
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
import { gcpAudit } from './gcp-audit.js';
import { gcpFlow } from './gcp-flow.js';
import { gcpMonitoring } from './gcp-monitoring.js';
import { guardduty } from './guardduty.js';
import { route53Resolver } from './route53-resolver.js';
import type { SourceDescriptor } from './types.js';
import { vpcFlow } from './vpc-flow.js';

const DIR = 'test/fixtures';

/**
 * How a fixture's records are reversed: its lines (a header line stays first), or a document's array;
 * `asWrittenOnly` for a log only its service writes, always oldest first (whose joins rely on it).
 */
type Records = ({ lines: true; header?: boolean } | { key?: string }) & { asWrittenOnly?: boolean };

const CASES: [SourceDescriptor, string, Records][] = [
  [cloudtrail, 'cloudtrail/calls.jsonl', { lines: true }],
  [cloudtrail, 'cloudtrail/trail.json', { key: 'Records' }],
  [cloudtrail, 'cloudtrail/lookup-events.json', { key: 'Events' }],
  [guardduty, 'guardduty/export.jsonl', { lines: true }],
  [guardduty, 'guardduty/eventbridge.json', { lines: true }],
  [guardduty, 'guardduty/get-findings.json', { key: 'Findings' }],
  [cloudwatchMetrics, 'cloudwatch-metrics/stream.json', { lines: true }],
  [cloudwatchMetrics, 'cloudwatch-metrics/get-metric-data.json', { key: 'MetricDataResults' }],
  [
    vpcFlow,
    '123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_20260302T0100Z_3f2a9c1e.log'.replace(/^/, 'vpc-flow/'),
    { lines: true, header: true },
  ],
  [vpcFlow, 'vpc-flow/cloudwatch-export.log', { lines: true }],
  [vpcFlow, 'vpc-flow/log-events.jsonl', { lines: true }],
  [vpcFlow, 'vpc-flow/filter-log-events.json', { key: 'events' }],
  [route53Resolver, 'route53-resolver/queries.log', { lines: true }],
  [route53Resolver, 'route53-resolver/cloudwatch-export.log', { lines: true }],
  [gcpAudit, 'gcp-audit/good.log', { lines: true }],
  [gcpAudit, 'gcp-audit/gcloud-read.json', {}],
  [gcpFlow, 'gcp-flow/good.log', { lines: true }],
  [gcpFlow, 'gcp-flow/gcloud-read.json', {}],
  [gcpMonitoring, 'gcp-monitoring/good.jsonl', { lines: true }],
  [gcpMonitoring, 'gcp-monitoring/timeseries-list.json', { key: 'timeSeries' }],
  [azureActivity, 'azure-activity/good.jsonl', { lines: true }],
  [azureActivity, 'azure-activity/cli.json', {}],
  // Network Watcher appends each flow's Begin, Continuing and End tuples to PT1H.json as they happen
  [azureFlow, 'azure-flow/nsg.json', { key: 'records', asWrittenOnly: true }],
  [azureMetrics, 'azure-metrics/export.jsonl', { lines: true }],
  [azureMetrics, 'azure-metrics/cli.json', { key: 'value' }],
];

function reversed(text: string, how: Records): string {
  if ('lines' in how) {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const head = how.header ? lines.splice(0, 1) : [];
    return `${[...head, ...lines.reverse()].join('\n')}\n`;
  }
  const doc = JSON.parse(text) as Record<string, unknown> | unknown[];
  if (Array.isArray(doc)) return JSON.stringify([...doc].reverse(), null, 2);
  const key = how.key as string;
  const records = doc[key];
  assert.ok(Array.isArray(records), `no ${key} array`);
  return JSON.stringify({ ...doc, [key]: [...records].reverse() }, null, 2);
}

/** What an event says, without where it was read. */
function said(e: CoalEvent): string {
  const { coalmine, original: _original, ...rest } = e;
  return JSON.stringify({ ts: coalmine.ts, ...rest });
}

for (const [source, fixture, how] of CASES) {
  const what = how.asWrittenOnly ? 'as written' : 'newest first';
  test(`${source.name}: ${fixture} read ${what} gives its events in time order`, async () => {
    const name = fixture.split('/').pop() as string;
    const text = readFileSync(`${DIR}/${fixture}`, 'utf8');
    const asWritten = await readAll(source, memoryInput(name, text));
    const newestFirst = how.asWrittenOnly ? asWritten : await readAll(source, memoryInput(name, reversed(text, how)));
    assert.ok(asWritten.events.length >= 2, `${fixture} gives events`);
    for (const [order, { events }] of [
      ['as written', asWritten],
      ['newest first', newestFirst],
    ] as const) {
      const times = events.map((e) => e.coalmine.ts);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        `${order}: not in time order`,
      );
    }
    assert.deepEqual(newestFirst.events.map(said).sort(), asWritten.events.map(said).sort());
    assert.deepEqual(newestFirst.issues.map((i) => i.code).sort(), asWritten.issues.map((i) => i.code).sort());
  });
}
