/**
 * End to end: a Linux dropper that hides its script in base64 (an exec line and a cron line, the
 * fixture test/fixtures/scenarios/lnx-decoded-dropper) is read decoded by `hunt`. The exec line decodes
 * to `modprobe msr; pkill -9 kdevtmpfsi; cd /tmp; nohup ./xmrig -o pool.example:3333 -B`; the cron line
 * to `/usr/bin/systemd-helper -o pool.example:443 -u <Monero wallet>`; a child curl fetches
 * xmrig-6.21.0-linux-static-x64.tar.gz.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ndjsonFindings, runCli } from '../support/cli.js';

const SCENARIO = join(import.meta.dirname, '..', 'fixtures', 'scenarios', 'lnx-decoded-dropper');

test('hunt finds the miner, the tuning and the rival kill inside a base64-decoded script, and the miner persistence in a decoded cron line', () => {
  const r = runCli(['hunt', SCENARIO, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  const evidence = ndjsonFindings(r.stdout).flatMap((f) => f.evidence);
  const by = (id: string) => evidence.filter((e) => e.by === id);
  assert.match(
    by('process:miner-name')[0]?.explanation ?? '',
    /^in the command decoded from base64-decoded shell: bash \(pid 5100\): argv\[0\] \.\/xmrig is a known miner/,
  );
  assert.match(by('rule:lnx-miner-tuning')[0]?.explanation ?? '', /decoded from base64-decoded shell: .*modprobe msr/);
  assert.match(
    evidence.find((e) => e.kind === 'competitor-kill')?.explanation ?? '',
    /decoded from base64-decoded shell: .*kills kdevtmpfsi/,
  );
  assert.ok(by('shell:decoded-script').some((e) => e.source.endsWith('events.ndjson:1')));
  const download = by('process:miner-download')[0];
  assert.equal(download?.source.endsWith('events.ndjson:2'), true);
  assert.match(
    download?.explanation ?? '',
    /downloads \S+xmrig-6\.21\.0-linux-static-x64\.tar\.gz, named as a known miner/,
  );
  const cron = by('persistence:cron')[0];
  assert.equal(cron?.strength, 'strong');
  assert.ok(cron?.source.endsWith('var/spool/cron/crontabs/redis:2'));
  assert.match(
    cron?.explanation ?? '',
    /mining pool options \(-o pool\.example:443, -u <Monero address>\), once decoded \(base64-decoded shell\): a miner, whatever the program is called/,
  );
});
