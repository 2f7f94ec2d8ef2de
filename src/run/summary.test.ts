import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOSTILE_TEXT, rawInvisible } from '../../test/support/invisible.js';
import { countIssue, newSummary, renderSummary } from './summary.js';

test('run summary: file names and reasons with bidi, zero-width or control characters are shown as escapes', () => {
  const s = newSummary();
  countIssue(s, {
    file: `/logs/${HOSTILE_TEXT}.log`,
    line: 3,
    code: 'AUDITD_BAD_LINE',
    reason: `bad ${HOSTILE_TEXT}`,
    stage: 'parsing',
  });
  const out = renderSummary(s);
  assert.deepEqual(rawInvisible(out), []);
  assert.ok(out.includes('/logs/evil\\u202egpj.exe\\u200d\\u001b[31mred'), out);
  assert.ok(out.includes('\\u2066x\\u000aforged.log:3: AUDITD_BAD_LINE: bad evil\\u202e'), out);
});
