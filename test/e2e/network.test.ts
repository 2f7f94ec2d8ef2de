/**
 * End to end on network captures: the real CLI reads our pcap fixtures (scripts/fixtures/make-pcap.ts),
 * the host comes from the coalmine.yaml inventory by address, Stratum is recognised on any port with
 * its method and worker named, and crypto P2P node traffic is never a finding.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'coalmine.js');
const PCAP = join(ROOT, 'test', 'fixtures', 'pcap');
const work = mkdtempSync(join(tmpdir(), 'coalmine-net-'));
after(() => rmSync(work, { recursive: true, force: true }));
const POLICY = join(work, 'coalmine.yaml');
writeFileSync(POLICY, 'hosts:\n  web-01:\n    ips: [10.0.0.5]\n');

function hunt(files: string[]) {
  const r = spawnSync(
    process.execPath,
    [BIN, 'hunt', ...files.map((f) => join(PCAP, f)), '--format', 'ndjson', '--policy', POLICY],
    {
      encoding: 'utf8',
    },
  );
  const findings = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Finding);
  return { code: r.status, stderr: r.stderr, findings };
}

test('Stratum on port 80 is recognised from the payload, with method and worker, on the inventory host', () => {
  const r = hunt(['stratum-80.pcap']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pcap 1/);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0];
  assert.equal(f.host, 'web-01');
  const stratum = f.evidence.find((e) => e.kind === 'pool-contact');
  assert.ok(stratum, JSON.stringify(f.evidence));
  assert.match(
    stratum.explanation,
    /Stratum mining\.subscribe, mining\.authorize worker wallet\.worker1 on 198\.51\.100\.7:80/,
  );
  assert.match(stratum.source, /stratum-80\.pcap#\d+$/);
});

test('Monero login, Ethereum getwork, a pool SNI and a pool DNS name are each pool contact', () => {
  for (const [file, pattern] of [
    ['monero-login.pcapng', /Monero Stratum login.*agent XMRig/],
    ['eth-getwork.pcap', /Ethereum Stratum eth_submitLogin, eth_getWork/],
    ['tls-sni.pcapng', /pool\.supportxmr\.com:443, a known mining pool/],
    ['dns.pcap', /xmr\.pool\.minergate\.com, a known mining pool/],
  ] as const) {
    const r = hunt([file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.findings.some((f) => f.evidence.some((e) => e.kind === 'pool-contact' && pattern.test(e.explanation))),
      `${file}: ${JSON.stringify(r.findings.map((f) => f.evidence.map((e) => e.explanation)))}`,
    );
  }
});

test('Bitcoin node P2P traffic is not a finding', () => {
  const r = hunt(['bitcoin-version.pcap']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.findings, []);
});

test('damaged captures are reported with the record and offset, and what is readable is still read', () => {
  const r = hunt(['broken-lengths.pcap']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /broken-lengths\.pcap#\d+: PCAP_BAD_RECORD: offset 0x[0-9a-f]+: .*bogus length, resyncing/);
  assert.ok(r.findings.some((f) => f.evidence.some((e) => e.kind === 'pool-contact')));
});
