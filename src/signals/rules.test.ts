/**
 * One test for every bundled rule: it fires on every line of test/fixtures/rules/<id>.hit.ndjson and
 * on no line of <id>.miss.ndjson (the realistic look-alikes), and every rule has both files.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import type { Signal } from '../model/signal.js';
import { DEFAULT_RULE_DIRS, ruleSignals } from './rules.js';
import { loadRules } from './sigma/index.js';

const set = await loadRules(DEFAULT_RULE_DIRS);

function events(path: string): CoalEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const e = JSON.parse(l) as CoalEvent;
      e.coalmine = { ts: Date.parse(e['@timestamp']), format: 'ndjson', ref: { file: path, line: i + 1 } };
      return e;
    });
}

test('the bundled rules load with no errors or warnings', () => {
  assert.deepEqual(set.errors, []);
  assert.deepEqual(set.warnings, []);
  assert.ok(set.rules.length >= 9);
});

for (const rule of set.rules) {
  test(`${rule.id}: fires on every hit and on no miss`, () => {
    const base = `test/fixtures/rules/${rule.id}`;
    assert.ok(
      existsSync(`${base}.hit.ndjson`) && existsSync(`${base}.miss.ndjson`),
      `${rule.id} needs hit and miss fixtures`,
    );
    for (const e of events(`${base}.hit.ndjson`)) {
      const out: Signal[] = [];
      ruleSignals(set, e, out);
      const mine = out.find((s) => s.by === `rule:${rule.id}`);
      assert.ok(mine, `no hit on ${e.process?.command_line ?? e.file?.path}`);
      assert.equal(mine.kind, rule.signal?.kind);
      assert.ok(mine.explanation.length > 0);
    }
    for (const e of events(`${base}.miss.ndjson`)) {
      const out: Signal[] = [];
      ruleSignals(set, e, out);
      assert.ok(
        !out.some((s) => s.by === `rule:${rule.id}`),
        `false hit on ${e.process?.command_line ?? e.file?.path}`,
      );
    }
  });
}
