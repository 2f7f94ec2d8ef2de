/**
 * A host sensor's log that names no host (stock auditd writes no `node=`): every record is the one
 * unnamed host's, its connections with its execs, so a miner's pool contact stays in its finding.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { huntNdjson } from '../support/cli.js';

const AUDIT = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like', 'var', 'log', 'audit', 'audit.log');

test('an audit.log without node= keeps the pool contact with the miner that made it, one thread or two', () => {
  for (const workers of ['1', '2']) {
    const r = huntNdjson([AUDIT], ['--workers', workers]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.findings.length, 1, r.stdout);
    const f = r.findings[0];
    assert.equal(f.host, '(unknown-host)');
    const kinds = new Set(f.evidence.map((e) => e.kind));
    assert.ok(kinds.has('pool-contact') && kinds.has('miner-process'), [...kinds].join(', '));
    assert.ok(f.legs.includes('reach'));
    assert.ok(((f.facts.destinations as string[] | undefined) ?? []).some((d) => d.includes('198.51.100.23')));
  }
});
