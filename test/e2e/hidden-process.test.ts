/**
 * `watch --inspect` names the process behind a host's hidden CPU: the probe's event, saved and hunted, joins
 * the engine's hidden-CPU evidence into one finding on that pid (test/fixtures/inspect-hidden/README.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const DIR = 'test/fixtures/inspect-hidden';

test('hidden CPU plus the hidden pid the probe found is a medium finding naming that process', () => {
  const { findings, code } = huntNdjson([`${DIR}/web-01.ndjson`]);
  assert.equal(code, 0);
  assert.deepEqual(
    findings.map((f) => [f.analytic, f.severity, f.entity, [...f.legs].sort()]),
    [['AN0742', 'medium', 'process:web-01:4242', ['process', 'resource']]],
  );
  const by = findings[0].evidence.map((e) => e.by);
  assert.ok(by.includes('engine:hidden-cpu') && by.includes('ids:inspect'), by.join(', '));
  assert.match(
    findings[0].evidence.find((e) => e.by === 'ids:inspect')?.explanation ?? '',
    /agent \(pid 4242\): the \/proc listing hides it/,
  );
});

test('hidden CPU alone is no finding: the pid is what makes it one', () => {
  assert.deepEqual(huntNdjson([`${DIR}/web-01-without-probe.ndjson`]).findings, []);
});
