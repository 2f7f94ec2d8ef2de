/**
 * Evidence seen again is cited once, at its first record, but not forgotten: the finding's last_seen is
 * the latest activity, and the evidence says how often and when last (JSON, explain, the HTML report).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { huntNdjson, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-repeated-'));
after(() => process.env.KEEP_TEST_DIR || rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 20, 3, 0, 0);
const HOST = { name: 'web-09', os: { platform: 'linux' } };
const at = (hours: number): string => new Date(T0 + hours * 3_600_000).toISOString();
const MINER = {
  pid: 5150,
  name: 'kworkerd',
  executable: '/var/tmp/.k/kworkerd',
  command_line:
    '/var/tmp/.k/kworkerd -o stratum+tcp://198.51.100.61:3333 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A -p x',
  parent: { pid: 1 },
};
const events = [
  {
    '@timestamp': at(0),
    event: { kind: 'event', category: ['process'], action: 'exec', dataset: 'test.exec' },
    host: HOST,
    process: MINER,
    original: {},
  },
  // the same miner reconnects to the same pool: once now, once a day later
  ...[0, 24].map((hours) => ({
    '@timestamp': at(hours),
    event: { kind: 'event', category: ['network'], action: 'connect', dataset: 'test.net' },
    host: HOST,
    process: { pid: MINER.pid },
    destination: { ip: '198.51.100.61', port: 3333 },
    network: { transport: 'tcp', direction: 'outbound' },
    original: {},
  })),
];

test('a pool contact repeated a day later: last_seen is that day, and the evidence says it was seen twice', () => {
  const input = join(dir, 'events.ndjson');
  writeFileSync(input, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  const r = huntNdjson([input]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1, r.stdout);
  const f = r.findings[0];
  assert.equal(f.first_seen, at(0));
  assert.equal(f.last_seen, at(24));
  const pool = f.evidence.find((e) => e.kind === 'pool-contact');
  assert.equal(pool?.time, at(0), 'cited at its first record');
  assert.deepEqual(pool?.repeated, { count: 2, last: at(24) });
  assert.equal(f.evidence.find((e) => e.kind === 'miner-process')?.repeated, undefined, 'seen once: no note');

  const report = join(dir, 'report.html');
  const hunted = runCli(['hunt', input, '--report', report, '--no-progress']);
  assert.equal(hunted.code, 0, hunted.stderr);
  const explain = runCli(['explain', f.id, input]);
  assert.equal(explain.code, 0, explain.stderr);
  assert.match(explain.stdout, /pool-contact .*\(seen 2 times, last 2026-11-21 03:00:00\)/);
  assert.match(readFileSync(report, 'utf8'), /<span class="note">\(seen 2 times, last 2026-11-21 03:00:00\)<\/span>/);
});
