import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { intelName, provenanceOf } from '../make.js';
import { patternComparisons } from './stix.js';
import { loadIntel } from './store.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'intel');
const STIX = join(FIXTURES, 'pools.stix.json');
const ZEEK = join(FIXTURES, 'pools.zeek-intel.tsv');

test('a STIX 2.1 bundle loads its domain, URL, IP, CIDR and hash indicators with the bundle as source and version', async () => {
  const { intel, issues } = await loadIntel([STIX]);
  assert.equal(intel.domain('xmr.pool.evil-mine.example')?.set, 'pools.stix.json');
  assert.equal(intel.domain('eu.evil-mine.example')?.kind, 'pool-domain', 'a stratum URL gives its host');
  assert.equal(intel.domain('sdk.bandwidth-share.example')?.kind, 'proxyware-domain');
  assert.equal(intel.ip('198.51.100.77')?.strength, 'weak', 'confidence 30 makes weak evidence');
  assert.equal(intel.ip('203.0.113.9')?.indicator, '203.0.113.0/28');
  assert.equal(intel.hash('AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F')?.kind, 'miner-hash');
  assert.equal(intel.domain('not-a-pool.example'), undefined, 'revoked indicators are not loaded');
  const set = intel.sets().find((s) => s.name === 'pools.stix.json');
  assert.deepEqual([set?.source, set?.version, set?.count], ['Example CTI Team', '2026-11-20T08:00:00.000Z', 6]);
  const bad = issues.filter((i) => i.file === STIX);
  assert.deepEqual(
    bad.map((i) => i.line),
    [66, 77],
  );
  assert.match(bad[0].reason, /indicator--1a0d0c1e-0000-4000-8000-000000000005: .*MATCHES/);
  assert.match(bad[1].reason, /pattern_type "sigma" is not read/);
});

test("a match carries its set's provenance: a STIX bundle's source and version, a plain list's file date", async () => {
  const plain = join(FIXTURES, 'case-iocs.txt');
  const { intel } = await loadIntel([STIX, plain]);
  const stix = intel.domain('xmr.pool.evil-mine.example');
  assert.ok(stix);
  assert.deepEqual(provenanceOf(stix), {
    set: 'pools.stix.json',
    source: 'Example CTI Team',
    version: '2026-11-20T08:00:00.000Z',
  });
  assert.equal(intelName(stix), 'pools.stix.json 2026-11-20T08:00:00.000Z');
  const listed = intel.domain('pool-eu.evilmine.example');
  assert.ok(listed);
  const modified = statSync(plain).mtime.toISOString().slice(0, 10);
  assert.deepEqual(provenanceOf(listed), { set: 'case-iocs.txt', source: plain, version: `modified ${modified}` });
});

test('STIX patterns: quoted values may hold anything; unsupported syntax is named, never guessed', () => {
  assert.deepEqual(patternComparisons("[domain-name:value = 'a\\'b.example']"), [
    { path: 'domain-name:value', value: "a'b.example" },
  ]);
  assert.match(String(patternComparisons("[domain-name:value LIKE 'x%']")), /not compared with =/);
  assert.match(String(patternComparisons("[domain-name:value = 'open")), /unterminated/);
  assert.equal(typeof patternComparisons(`[${"a:b = 'x' OR ".repeat(1000)}]`), 'string', 'bounded');
});

test('a Zeek intel file loads DOMAIN, ADDR and URL indicators; other types and broken lines are reported by line', async () => {
  const { intel, issues } = await loadIntel([ZEEK]);
  assert.equal(intel.domain('pool.zeek-feed.example')?.note, 'XMR pool');
  assert.equal(intel.domain('proxy-sdk.example')?.kind, 'proxyware-domain');
  assert.equal(intel.ip('192.0.2.44')?.kind, 'pool-ip');
  assert.equal(intel.domain('evil-mine.example')?.kind, 'pool-domain');
  const set = intel.sets().find((s) => s.name === 'pools.zeek-intel.tsv');
  assert.deepEqual([set?.source, set?.count], ['feed-a, feed-b', 4]);
  assert.deepEqual(
    issues.filter((i) => i.file === ZEEK).map((i) => [i.line, i.reason]),
    [
      [6, 'indicator_type Intel::EMAIL is not one coalmine uses'],
      [7, 'no indicator or indicator_type'],
    ],
  );
});
