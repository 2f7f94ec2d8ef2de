/**
 * End to end on network captures: the real CLI reads our pcap fixtures (scripts/fixtures/make-pcap.ts),
 * the host comes from the coalmine.yaml inventory by address, Stratum is recognised on any port with
 * its method and worker named, crypto P2P node traffic is informational only, and without an inventory
 * the finding is about the local address.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('Bitcoin and Monero node P2P traffic is informational only, never mining', () => {
  for (const [file, pattern] of [
    ['bitcoin-version.pcap', /Bitcoin node traffic \(P2P version handshake\) on port 8333/],
    ['monero-p2p.pcap', /Monero node traffic \(P2P levin protocol\) on port 18080/],
  ] as const) {
    const r = hunt([file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.findings.map((f) => [f.analytic, f.severity, f.attack, f.host]),
      [['crypto-node', 'informational', [], 'web-01']],
      file,
    );
    const f = r.findings[0];
    assert.match(f.title, /^Cryptocurrency node traffic \(not mining\) on web-01/);
    assert.ok(
      f.evidence.every((e) => e.kind === 'crypto-p2p'),
      JSON.stringify(f.evidence),
    );
    assert.match(f.evidence[0].explanation, pattern);
  }
});

test('without an inventory, network-only evidence is about the local address, an ip entity', () => {
  const r = spawnSync(process.execPath, [BIN, 'hunt', join(PCAP, 'stratum-3333.pcap'), '--format', 'ndjson'], {
    encoding: 'utf8',
    cwd: mkdtempSync(join(work, 'no-policy-')),
  });
  assert.equal(r.status, 0, r.stderr);
  const findings = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Finding);
  assert.deepEqual(
    findings.map((f) => [f.analytic, f.host, f.entity]),
    [['AN0742', '10.0.0.5', 'ip:10.0.0.5']],
  );
  assert.match(findings[0].title, /from address 10\.0\.0\.5 \(no host known\)/);
  assert.match(
    findings[0].gaps[0],
    /no host is known for address 10\.0\.0\.5 \(list it under coalmine\.yaml hosts\.NAME\.ips/,
  );
  assert.ok(!r.stdout.includes('(unknown-host)'));
});

test('damaged captures are reported with the record and offset, and what is readable is still read', () => {
  const r = hunt(['broken-lengths.pcap']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /broken-lengths\.pcap#\d+: PCAP_BAD_RECORD: offset 0x[0-9a-f]+: .*bogus length, resyncing/);
  assert.ok(r.findings.some((f) => f.evidence.some((e) => e.kind === 'pool-contact')));
});

const SHARED_PCAP = join(ROOT, '..', 'shared', 'data', 'pcap');

test('../shared/data/pcap: every mining session is a pool-contact finding; the Bitcoin capture is informational only', (t) => {
  if (!existsSync(SHARED_PCAP)) {
    t.skip('../shared/data/pcap is not present (a user clone has none)');
    return;
  }
  const files = readdirSync(SHARED_PCAP).filter((f) => /\.pcap(ng)?$/.test(f));
  assert.ok(files.length > 0);
  for (const file of files) {
    const r = spawnSync(process.execPath, [BIN, 'hunt', join(SHARED_PCAP, file), '--format', 'ndjson'], {
      encoding: 'utf8',
      cwd: mkdtempSync(join(work, 'shared-')),
    });
    assert.equal(r.status, 0, r.stderr);
    const findings = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Finding);
    if (/bitcoin/i.test(file)) {
      assert.deepEqual(
        findings.map((f) => [f.analytic, f.severity]),
        [['crypto-node', 'informational']],
        file,
      );
      continue;
    }
    // the capture names its pool: xmr-eu1.nanopool.org.pcapng and so on
    const mining = findings.filter((f) => f.analytic === 'AN0742' && f.attack.includes('T1496.001'));
    assert.equal(mining.length, 1, `${file}: ${JSON.stringify(findings.map((f) => f.title))}`);
    assert.ok(
      mining[0].evidence.some((e) => e.kind === 'pool-contact' && e.strength === 'strong'),
      file,
    );
  }
});

test('a host relaying for others (Zeek http.log: many sites, rotating user agents) is proxyjacking on its address', () => {
  const header = readFileSync(join(ROOT, 'test', 'fixtures', 'zeek', 'http.log'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('#') && !l.startsWith('#close'));
  const rows = Array.from({ length: 150 }, (_, i) =>
    [
      (1796119400 + i).toFixed(6),
      `CRelay${i}`,
      '10.0.0.7',
      String(40000 + i),
      `198.51.100.${i % 200}`,
      '80',
      '1',
      'GET',
      `www.shop${i % 120}.example`,
      '/',
      '-',
      '1.1',
      `Mozilla/5.0 (Windows NT 10.0; rv:${100 + (i % 25)}.0) Gecko/20100101 Firefox/${100 + (i % 25)}.0`,
      '-',
      '0',
      '5120',
      '200',
      'OK',
      ...Array(12).fill('-'),
    ].join('\t'),
  );
  const dir = mkdtempSync(join(work, 'relay-'));
  const log = join(dir, 'http.log');
  writeFileSync(log, `${[...header, ...rows].join('\n')}\n`);
  const r = spawnSync(process.execPath, [BIN, 'hunt', log, '--format', 'ndjson'], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const findings = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Finding);
  assert.deepEqual(
    findings.map((f) => [f.analytic, f.severity, f.attack, f.entity]),
    [['AN0742', 'low', ['T1496.002'], 'ip:10.0.0.7']],
  );
  assert.match(findings[0].title, /^Proxyjacking from address 10\.0\.0\.7/);
  // the medium verdict at 50 sites is replaced by the strong one at 100 (one evidence entry per verdict kind)
  const relay = findings[0].evidence.filter((e) => e.kind === 'proxy-relay');
  assert.deepEqual(
    relay.map((e) => [e.strength, e.source]),
    [['strong', `${log}:${8 + 100}`]],
  );
  assert.match(
    relay[0].explanation,
    /10\.0\.0\.7 fetched 100 distinct sites with 25 different client fingerprints .*allowlist them\); e\.g\. sites shop0\.example/,
  );
});

const SURICATA = join(ROOT, 'test', 'fixtures', 'suricata');

function huntSuricata(file: string, policy = POLICY) {
  const r = spawnSync(process.execPath, [BIN, 'hunt', join(SURICATA, file), '--format', 'ndjson', '--policy', policy], {
    encoding: 'utf8',
  });
  const findings = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Finding);
  return { code: r.status, stderr: r.stderr, findings };
}

test('an ET COINMINER Stratum alert alone is a low finding on the local address, quoting the rule', () => {
  // the signature names the protocol (Stratum mining.notify): strong pool contact, one leg (reach),
  // so AN0742 grades it low with the missing telemetry named, like our own Stratum reader's verdict
  const r = huntSuricata('coinminer.eve.json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /suricata 1\), 2 events/);
  assert.deepEqual(
    r.findings.map((f) => [f.analytic, f.severity, f.legs]),
    [['AN0742', 'low', ['reach']]],
  );
  const ids = r.findings[0].evidence.find((e) => e.by === 'ids:suricata');
  assert.equal(ids?.strength, 'strong');
  assert.match(ids?.explanation ?? '', /ET COINMINER W32\/BitCoinMiner\.MultiThreat Stratum Protocol/);
});

test('Suricata mining alerts next to our own pool evidence: a low finding whose evidence names the rules', () => {
  const policy = join(work, 'suricata.yaml');
  writeFileSync(policy, 'hosts:\n  web-01:\n    ips: [10.0.4.17]\n');
  const r = huntSuricata('eve.json', policy);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0];
  assert.equal(f.host, 'web-01');
  assert.equal(f.severity, 'low');
  assert.deepEqual(f.legs, ['reach']);
  const ids = f.evidence.filter((e) => e.by === 'ids:suricata');
  assert.deepEqual(
    ids.map((e) => `${e.kind}/${e.strength}`),
    ['pool-contact/medium', 'pool-contact/medium'],
  );
  assert.match(ids[0].explanation, /Suricata alert "ET POLICY Cryptocurrency Miner Checkin" \(sid 2024792/);
  assert.match(ids[1].explanation, /"ET POLICY Observed DNS Query to Monero Mining Pool Domain in TLS SNI"/);
  assert.match(ids[0].source, /eve\.json:\d+$/);
});
