import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOSTILE_TEXT, rawInvisible } from '../../test/support/invisible.js';
import type { RuleMatchRecord } from '../model/finding.js';
import { matchFormatNamed, sigmaMatches, sigmaMatchesNdjson } from './sigma-matches.js';

function record(extra: Partial<RuleMatchRecord> = {}): RuleMatchRecord {
  return {
    time: '2026-03-02T07:58:00.000Z',
    host: 'ws-07.corp.example',
    rule_id: '5c0e7a10-0000-4000-8000-000000000101',
    title: 'Mimikatz command line',
    level: 'high',
    tags: ['attack.credential-access', 'attack.t1003.001'],
    source: 'sysmon.jsonl:2',
    facts: { event_id: '1', process: 'C:\\Users\\Public\\m.exe', command_line: 'm.exe sekurlsa::logonpasswords exit' },
    mining: false,
    ...extra,
  };
}

test('sigma-matches: one timeline line per match, Hayabusa-like, the key fields in order', () => {
  assert.equal(
    sigmaMatches.line(record(), false),
    '2026-03-02 07:58:00.000 · ws-07.corp.example · high · Mimikatz command line · 5c0e7a10-0000-4000-8000-000000000101 · event_id: 1 ¦ process: C:\\Users\\Public\\m.exe ¦ command_line: m.exe sekurlsa::logonpasswords exit · sysmon.jsonl:2\n',
  );
  const mining = sigmaMatches.line(
    record({ mining: true, level: 'critical', correlation: '3 matches within 5m' }),
    false,
  );
  assert.match(
    mining,
    / · crit · Mimikatz command line \[compute hijacking: evidence\] · 5c0e[^·]+ · 3 matches within 5m · /,
  );
  assert.equal(matchFormatNamed('sigma-matches-ndjson'), sigmaMatchesNdjson);
  assert.deepEqual(JSON.parse(sigmaMatchesNdjson.line(record(), false)), record());
});

test('sigma-matches: every input-derived field is inert and one line, whatever it holds; colour only on the level', () => {
  const hostile = record({
    host: `h${HOSTILE_TEXT}`,
    title: `t${HOSTILE_TEXT}`,
    rule_id: `r${HOSTILE_TEXT}`,
    level: `l${HOSTILE_TEXT}`,
    source: `s${HOSTILE_TEXT}`,
    correlation: `c${HOSTILE_TEXT}`,
    facts: { [`k${HOSTILE_TEXT}`]: `v${HOSTILE_TEXT}`.repeat(200) },
  });
  const line = sigmaMatches.line(hostile, false);
  assert.deepEqual(rawInvisible(line), []);
  assert.equal(line.split('\n').length, 2);
  // clipped before escaping: an escape is at most 10 characters for 1
  assert.ok(line.length < 16_000, `${line.length}`);
  const coloured = sigmaMatches.line(record(), true);
  assert.equal(coloured.match(/\u001b/g)?.length, 2);
  assert.ok(coloured.includes('\u001b[31mhigh\u001b[0m'));
});
