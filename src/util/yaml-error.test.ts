import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import { yamlErrorReason } from './yaml-error.js';

test("a YAML error is its message's first line, without the code frame", () => {
  const doc = parseDocument('thresholds:\n  cpu: [1, 2\nallowlist: x\n');
  const message = doc.errors[0]?.message ?? '';
  assert.ok(message.includes('\n'), 'the parser adds a code frame');
  const reason = yamlErrorReason(message);
  assert.ok(!reason.includes('\n') && reason.length > 10, reason);
  assert.ok(!reason.endsWith(':'), reason);
  assert.equal(yamlErrorReason('plain reason'), 'plain reason');
});
