import assert from 'node:assert/strict';
import { test } from 'node:test';
import { an0744Finding } from '../../test/support/an0744-finding.js';
import { hostileFinding } from '../../test/support/hostile-finding.js';
import { rawInvisible } from '../../test/support/invisible.js';
import { defaultPolicy } from '../model/policy.js';
import { triageFinding } from '../triage/playbook.js';
import { explain } from './explain.js';
import { table } from './table.js';

test('explain: every input-derived line shows control, bidi and zero-width characters as escapes', () => {
  const out = explain.render([hostileFinding()], { color: false, version: 't' });
  assert.deepEqual(rawInvisible(out), []);
  // every section that carries input text: title, timeline, processes, questions, plan, allowlist
  for (const part of [
    'by evil\\u202e',
    'command line evil\\u202e',
    'cmd evil\\u202e',
    'a evil\\u202e',
    'kill evil\\u202e',
    'match: "evil\\u202e',
    'context title evil\\u202e',
    'ctxcmd evil\\u202e',
    '2 h before evil\\u202e',
  ])
    assert.ok(out.includes(part), part);
});

test('explain and table: a cloud launch is priced in instance-hours, and an unpriced one says why', () => {
  const priced = an0744Finding();
  priced.triage = triageFinding(priced, defaultPolicy());
  const out = explain.render([priced], { color: false, version: 't' });
  assert.ok(
    out.includes(
      '64 instance-hours × 0.526 USD = 33.66 USD (20 × g4dn.xlarge, 64 instance-hours × 0.526 USD (cloud-prices 2026-12-05, us-east-1))',
    ),
    out,
  );
  assert.match(table.render([priced], { color: false, version: 't' }), /cost 64 instance-hours ≈ 33\.66 USD/);
  const unknown = an0744Finding({}, { instance_types: ['x9.mega\u202e'] });
  unknown.triage = triageFinding(unknown, defaultPolicy());
  const said = explain.render([unknown], { color: false, version: 't' });
  assert.match(said, /no cost: aws x9\.mega\\u202e is not in the price table/);
  assert.deepEqual(rawInvisible(said), []);
});
