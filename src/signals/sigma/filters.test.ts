import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CoalEvent } from '../../model/event.js';
import { applyFilter, FilterParseError, parseFilter } from './filters.js';
import { loadRules } from './index.js';

function exec(cmd: string, user: string): CoalEvent {
  return {
    '@timestamp': '2025-01-01T00:00:00.000Z',
    event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
    host: { name: 'h', os: { platform: 'linux' } },
    process: { command_line: cmd, executable: '/usr/bin/tar', name: 'tar', user: { name: user } },
    original: {},
    coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
  };
}

test('a filter document: rules, selections and condition; the rest refused with a code', () => {
  const def = parseFilter({
    title: 'Admins archive on purpose',
    logsource: { product: 'linux', category: 'process_creation' },
    filter: { rules: ['archive'], selection: { User: 'adm_x' }, condition: 'selection' },
  });
  assert.deepEqual(
    [def.id, def.refs, Object.keys(def.detection)],
    ['Admins archive on purpose', ['archive'], ['selection', 'condition']],
  );
  for (const [doc, code] of [
    [{ filter: { rules: ['a'], condition: 'x' } }, 'RULE_MISSING_FIELD'],
    [{ title: 't', filter: ['a'] }, 'FILTER_BAD_FIELD'],
    [{ title: 't', filter: { rules: [], sel: { a: 1 }, condition: 'sel' } }, 'FILTER_BAD_FIELD'],
    [{ title: 't', filter: { rules: [{ id: 'x' }], sel: { a: 1 }, condition: 'sel' } }, 'FILTER_BAD_FIELD'],
    [{ title: 't', filter: { rules: ['a'], sel: { a: 1 } } }, 'RULE_BAD_CONDITION'],
  ] as const)
    assert.throws(
      () => parseFilter(doc as Record<string, unknown>),
      (e: unknown) => e instanceof FilterParseError && e.code === code,
      code,
    );
});

test('filters stack on a rule and only exclude where their logsource applies', () => {
  const rule = { matches: (e: CoalEvent) => (e.process?.command_line ?? '').includes('tar') };
  applyFilter(
    rule,
    () => true,
    (e) => e.process?.user?.name === 'backup',
  );
  applyFilter(
    rule,
    (e) => e.host?.name === 'elsewhere',
    () => true,
  );
  assert.equal(rule.matches(exec('tar czf x', 'eve')), true);
  assert.equal(rule.matches(exec('tar czf x', 'backup')), false);
  assert.equal(rule.matches(exec('ls', 'eve')), false);
});

test('the loader applies a filter to the rules it names, by id or name, and warns of the ones not loaded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-filter-'));
  writeFileSync(
    join(dir, 'rules.yml'),
    `title: Archive made
id: archive-id
name: archive
logsource: { product: linux, category: process_creation }
detection:
  sel:
    CommandLine|contains: 'tar '
  condition: sel
---
title: Backup user archives on purpose
logsource: { product: linux, category: process_creation }
filter:
  rules: [archive, not-here]
  selection:
    User: backup
  condition: selection
---
title: Broken filter
filter:
  rules: [archive-id]
  selection:
    User|nope: x
  condition: selection
logsource: { product: linux, category: process_creation }
`,
  );
  const set = await loadRules([dir]);
  assert.deepEqual(
    set.filters.map((f) => [f.id, f.rules]),
    [['Backup user archives on purpose', ['archive-id']]],
  );
  assert.deepEqual(
    set.warnings.map((w) => [w.line, w.code]),
    [[10, 'FILTER_UNKNOWN_RULE']],
  );
  assert.deepEqual(
    set.errors.map((w) => [w.line, w.code]),
    [[18, 'RULE_UNKNOWN_MODIFIER']],
  );
  const [rule] = set.rules;
  assert.equal(rule.matches(exec('tar czf /tmp/x.tgz /home', 'eve')), true);
  assert.equal(rule.matches(exec('tar czf /tmp/x.tgz /home', 'backup')), false);
});
