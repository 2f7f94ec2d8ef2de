/**
 * Cloud and Kubernetes records no analytic reads reach the Sigma rules as `log-record` events only when a loaded
 * rule reads their format (SourceContext.keepRecord), with the record's own field names in `original`; and real
 * SigmaHQ rules of each logsource match the hand-written record of what they describe, not its near-miss
 * (test/fixtures/sigma-cloud/<product>/<service>, one positive record first in each file). The SigmaHQ part reads
 * ../shared/data/sigmahq and skips without it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { matchRules, type RuleMatch } from '../signals/rules.js';
import { loadRules } from '../signals/sigma/index.js';
import { formatRecordFilter } from '../signals/sigma/logsources.js';
import { sniffSource } from './index.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'sigma-cloud');
const SIGMAHQ = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'sigmahq');

async function read(file: string, keep: boolean): Promise<{ format: string; events: CoalEvent[]; unused: number }> {
  const path = join(FIXTURES, file);
  const buf = readFileSync(path);
  const input = {
    name: path,
    head: buf.subarray(0, 65536),
    async *open() {
      yield buf;
    },
  };
  const source = sniffSource(input);
  assert.ok(source, `${file} is read by no source`);
  const events: CoalEvent[] = [];
  let unused = 0;
  const context = { maxLineBytes: 1 << 20, maxPendingRecords: 4096, keepRecord: () => keep };
  for await (const batch of source.read(input, context)) {
    assert.deepEqual(batch.issues, []);
    events.push(...batch.events);
    unused += batch.unused ?? 0;
  }
  return { format: source.name, events, unused };
}

/** Each fixture: its format, the records no analytic maps (by line), and a SigmaHQ rule matching line 1 only. */
const CASES = [
  {
    file: 'aws/cloudtrail.jsonl',
    format: 'cloudtrail',
    unmapped: [3],
    rule: 'rules/cloud/aws/cloudtrail/aws_ec2_startup_script_change.yml',
  },
  {
    file: 'azure/activitylogs.jsonl',
    format: 'azure-activity',
    unmapped: [1, 2],
    rule: 'rules/cloud/azure/activity_logs/azure_device_or_configuration_modified_or_deleted.yml',
  },
  {
    file: 'gcp/gcp.audit.jsonl',
    format: 'gcp-audit',
    unmapped: [1, 2],
    rule: 'rules/cloud/gcp/audit/gcp_bucket_modified_or_deleted.yml',
  },
  {
    file: 'kubernetes/audit.jsonl',
    format: 'k8s-audit',
    unmapped: [1, 2],
    rule: 'rules/application/kubernetes/audit/kubernetes_audit_secrets_modified_or_deleted.yml',
  },
];

for (const { file, format, unmapped } of CASES)
  test(`${format}: a record no analytic reads is a log-record only when a rule reads ${format}`, async () => {
    const kept = await read(file, true);
    assert.equal(kept.format, format);
    assert.equal(kept.unused, 0);
    const records = kept.events.filter((e) => e.event.action === 'log-record');
    assert.deepEqual(
      records.map((e) => e.coalmine.ref.line),
      unmapped,
    );
    for (const e of records) {
      assert.equal(e.coalmine.format, format);
      assert.ok(Object.keys(e.original).length > 0, 'the record keeps its own fields');
      assert.ok(e.host?.name, 'a log-record names its account, subscription, project or control plane');
    }
    const dropped = await read(file, false);
    assert.equal(dropped.unused, unmapped.length);
    assert.equal(dropped.events.length, kept.events.length - unmapped.length);
    assert.ok(dropped.events.every((e) => e.event.action !== 'log-record'));
  });

for (const { file, format, rule } of CASES)
  test(`${format}: SigmaHQ ${rule} matches the record it describes by its own field names, not the near-miss`, async (t) => {
    if (!existsSync(SIGMAHQ)) return t.skip('../shared/data/sigmahq is absent');
    const rules = await loadRules([join(SIGMAHQ, rule)]);
    assert.deepEqual([...rules.errors, ...rules.warnings, ...rules.unsupported], []);
    assert.equal(rules.rules.length, 1);
    assert.ok(formatRecordFilter(rules.rules)(format), `the rule reads ${format}, so its reader keeps records for it`);
    assert.ok(!formatRecordFilter(rules.rules)('zeek'));
    const { events } = await read(file, formatRecordFilter(rules.rules)(format));
    const matched = events.filter((e) => {
      const out: RuleMatch[] = [];
      matchRules(rules, e, out);
      return out.length > 0;
    });
    assert.deepEqual(
      matched.map((e) => e.coalmine.ref.line),
      [1],
    );
  });
