import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostileFinding } from '../../test/support/hostile-finding.js';
import { rawInvisible } from '../../test/support/invisible.js';
import { explain } from './explain.js';

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
  ])
    assert.ok(out.includes(part), part);
});
