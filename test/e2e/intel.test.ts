/** End to end: `coalmine intel check` and `coalmine intel stats` through the real CLI. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STIX = join(ROOT, 'test', 'fixtures', 'intel', 'pools.stix.json');

const cli = (args: string[]) => runCli(args);

test('intel check says which set matched each value and why; no match exits 1; hostile values are inert', () => {
  const r = cli(['intel', 'check', 'xmr-eu1.nanopool.org', 'stratum+tcp://eu.evil-mine.example:3333', '--intel', STIX]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^xmr-eu1\.nanopool\.org: pool-domain xmr-eu1\.nanopool\.org in set pool-domains \(Falco rules.+, https:\/\/github\.com\/falcosecurity\/rules\/blob\/[0-9a-f]{40}\/\S+\), strong evidence$/m,
  );
  assert.match(
    r.stdout,
    /^stratum\+tcp:\/\/eu\.evil-mine\.example:3333: pool-domain eu\.evil-mine\.example in set pools\.stix\.json \(Example CTI Team, version 2026-11-20T08:00:00\.000Z\)/m,
  );
  const miss = cli(['intel', 'check', 'pool.ntp.org', 'evil\u001b[31m.example']);
  assert.equal(miss.code, 1);
  assert.match(miss.stdout, /^pool\.ntp\.org: no match$/m);
  assert.ok(!miss.stdout.includes('\u001b'), 'no raw escape reaches the terminal');
  const json = cli(['intel', 'check', 'port:3333', '--json']);
  const parsed = JSON.parse(json.stdout.trim()) as { matches: Array<{ kind: string; strength: string }> };
  assert.deepEqual(
    parsed.matches.map((m) => [m.kind, m.strength]),
    [['mining-port', 'weak']],
  );
});

test('intel stats lists every loaded set with count, version and source, and reports bad feed lines', () => {
  const r = cli(['intel', 'stats', '--intel', STIX]);
  assert.equal(r.code, 1, 'a feed with bad lines is reported');
  assert.match(r.stdout, /^pools\.stix\.json +mixed +6 +2026-11-20T08:00:00\.000Z +Example CTI Team$/m);
  assert.match(r.stdout, /^pool-domains +pool-domain +\d+ /m);
  assert.match(r.stderr, /pools\.stix\.json:66: INTEL_BAD_LINE/);
  assert.equal(cli(['intel', 'stats']).code, 0);
});
