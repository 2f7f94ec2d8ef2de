/**
 * Sigma correlations and filters through the classifier, on the hand-written records of
 * test/fixtures/sigma-correlation read by the real evtx-json source: what onRuleMatch (the context)
 * and the signals (the evidence) receive.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { evtxJson } from '../sources/evtx-json.js';
import { createClassifier } from './index.js';
import type { RuleMatch } from './rules.js';
import { loadRules } from './sigma/index.js';
import { testIntel } from './test-events.js';

const DIR = 'test/fixtures/sigma-correlation';
const PORTS = { pool_ports: ['3333', '14444'] };

async function records(): Promise<CoalEvent[]> {
  const text = readFileSync(`${DIR}/records.jsonl`);
  const input = {
    name: 'records.jsonl',
    head: text,
    async *open() {
      yield text;
    },
  };
  const out: CoalEvent[] = [];
  const context = { maxLineBytes: 1 << 20, maxPendingRecords: 100, keepWindowsRecord: () => true };
  for await (const batch of evtxJson.read(input, context)) out.push(...batch.events);
  return out;
}

async function classifyAll(paths: string[], placeholders?: Record<string, string[]>) {
  const set = await loadRules(paths, { placeholders });
  const context: string[] = [];
  const signals: Signal[] = [];
  const classify = createClassifier(testIntel(), set, (event, matches: RuleMatch[]) => {
    for (const m of matches)
      context.push(`${event.host?.name} ${m.correlation ? m.correlation.type : 'rule'}: ${m.title}`);
  });
  for (const e of await records()) classify(e, signals);
  const byRule = signals
    .filter((s) => s.by.startsWith('rule:'))
    .map((s) => `${s.host} ${s.by} ${s.kind} ${s.strength}`);
  return { set, context, byRule, signals };
}

test('correlations are reported like rule matches on the host that completed them; their base rules stay silent', async () => {
  const { set, context, byRule, signals } = await classifyAll([`${DIR}/rules`], PORTS);
  assert.deepEqual([set.errors, set.unsupported, set.warnings], [[], [], []]);
  assert.deepEqual(context, [
    'ws-07.corp.example event_count: Many failed logons for one account (fixture)',
    'ws-07.corp.example value_count: One source failing logons for many accounts (fixture)',
    'ws-07.corp.example temporal_ordered: Download then execution from a public folder (fixture)',
    'ws-07.corp.example temporal: Public-folder program then a pool-port connection (fixture)',
    // lab-01's public-folder program is filtered out: no download→exec, no mining correlation there
  ]);
  // only the mining correlation is evidence, on the host and time of the pool connection that completed it
  assert.deepEqual(byRule, ['ws-07.corp.example rule:5c0e7a10-0000-4000-8000-000000000020 miner-process strong']);
  const evidence = signals.find((s) => s.by === 'rule:5c0e7a10-0000-4000-8000-000000000020') as Signal;
  assert.equal(new Date(evidence.ts).toISOString(), '2026-03-02T09:12:00.000Z');
  assert.match(
    evidence.explanation,
    /2 of 2 rules \(public_exec, pool_port\) within 15m, Computer=ws-07\.corp\.example/,
  );
});

test('without the filter the lab machine correlates too; without the placeholder the mining correlation is not loaded', async () => {
  const unfiltered = await classifyAll(
    [`${DIR}/rules/logons.yml`, `${DIR}/rules/download-exec.yml`, `${DIR}/rules/mining.yml`],
    PORTS,
  );
  assert.deepEqual(
    unfiltered.byRule,
    ['ws-07.corp.example', 'lab-01.corp.example'].map(
      (h) => `${h} rule:5c0e7a10-0000-4000-8000-000000000020 miner-process strong`,
    ),
  );
  const unset = await classifyAll([`${DIR}/rules`]);
  assert.deepEqual(
    unset.set.unsupported.map((u) => u.code),
    ['RULE_PLACEHOLDER', 'CORRELATION_RULE_NOT_LOADED'],
  );
  assert.deepEqual(unset.byRule, []);
  // the other correlations are unaffected
  assert.equal(unset.context.length, 3);
});

test('generate: true keeps the base rule reporting its own matches beside the correlation', async () => {
  const { context } = await classifyAll(['test/fixtures/sigma/correlation-generate.yml']);
  assert.deepEqual(
    context.filter((c) => c.includes('logon')),
    [
      'ws-07.corp.example rule: Failed logon, reported (fixture)',
      'ws-07.corp.example rule: Failed logon, reported (fixture)',
      'ws-07.corp.example event_count: Two failed logons (fixture)',
      'ws-07.corp.example rule: Failed logon, reported (fixture)',
      'ws-07.corp.example rule: Failed logon, reported (fixture)',
      // admin's third failure starts a new count after the hit: one alone is not two
      'ws-07.corp.example rule: Failed logon, reported (fixture)',
    ],
  );
});
