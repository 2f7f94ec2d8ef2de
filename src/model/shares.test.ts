import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  difficultyHashesPerShare,
  familyLabel,
  familyOfAgent,
  familyOfAlgorithm,
  formatRange,
  formatRate,
  moneroFamilyAt,
  moneroHashesPerShare,
  targetHashesPerShare,
} from './shares.js';

test('a Monero target is little-endian: 4 bytes → 2^32/t, 8 bytes → 2^64/t', () => {
  // nanopool's 2017 target 69ba0000 is 0x0000ba69 = 47721: difficulty ≈ 90,000
  assert.ok(Math.abs((moneroHashesPerShare('69ba0000') ?? 0) - 2 ** 32 / 47_721) < 1e-6);
  const t = 2n ** 64n / 1_000_000n;
  const le = Buffer.alloc(8);
  le.writeBigUInt64LE(t);
  assert.ok(Math.abs((moneroHashesPerShare(le.toString('hex')) ?? 0) / 1e6 - 1) < 1e-9);
  for (const bad of ['', '00000000', 'zz000000', '123', '0'.repeat(64)])
    assert.equal(moneroHashesPerShare(bad), undefined, bad);
});

test('256-bit targets (Ethereum boundary, Zcash set_target): 2^256/target; difficulty × 2^32 for Stratum v1', () => {
  assert.equal(targetHashesPerShare(`0x00000001${'0'.repeat(56)}`), 2 ** 32);
  // suprnova's set_target 003c3c3c…: about 1,088 solutions a share
  assert.ok(Math.abs((targetHashesPerShare(`003c${'3c'.repeat(30)}`) ?? 0) - 1088) < 1);
  assert.equal(targetHashesPerShare('0x0'), undefined);
  assert.equal(targetHashesPerShare(`0x${'f'.repeat(65)}`), undefined);
  assert.equal(difficultyHashesPerShare(16), 16 * 2 ** 32);
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e300])
    assert.equal(difficultyHashesPerShare(bad), undefined);
});

test("algorithm names map to their family; a Monero session naming none is its era's algorithm", () => {
  assert.deepEqual(
    [
      'rx/0',
      'RandomX',
      'cn/r',
      'cryptonight',
      'cn-lite/1',
      'cn-heavy/0',
      'argon2/chukwa',
      'ethash',
      'kawpow',
      'scrypt',
    ].map(familyOfAlgorithm),
    [
      'randomx',
      'randomx',
      'cryptonight',
      'cryptonight',
      'cryptonight-lite',
      'cryptonight-heavy',
      'argon2',
      'ethash',
      'kawpow',
      'unknown',
    ],
  );
  assert.equal(moneroFamilyAt(Date.UTC(2017, 0, 16)).family, 'cryptonight');
  assert.equal(moneroFamilyAt(Date.UTC(2024, 0, 1)).family, 'randomx');
});

test('a single-algorithm miner names its family by its agent; a miner of many algorithms names none', () => {
  assert.deepEqual(
    [
      'kawpowminer/1.2.4',
      'ethminer-0.19.0',
      'PhoenixMiner/6.2c',
      'nheqminer/0.5c',
      'equihashminer',
      'cgminer/4.12.1',
      'bmminer/2.0.0',
      'XMRig/6.21.0',
      'cpuminer-opt/3.8',
      'SRBMiner-MULTI/2.4',
      '',
    ].map(familyOfAgent),
    [
      'kawpow',
      'ethash',
      'ethash',
      'equihash',
      'equihash',
      'sha256d',
      'sha256d',
      'unknown',
      'unknown',
      'unknown',
      'unknown',
    ],
  );
});

test('rates print with SI prefixes and three figures at most', () => {
  assert.equal(formatRate(3120, 'H/s'), '3.12 kH/s');
  assert.equal(formatRate(309, 'Sol/s'), '309 Sol/s');
  assert.equal(formatRate(2.6e9, 'H/s'), '2.6 GH/s');
  assert.equal(formatRate(0, 'H/s'), '0 H/s');
  assert.equal(formatRange(2800, 3400, 'H/s'), '2.8–3.4 kH/s');
  assert.equal(formatRange(900, 1200, 'H/s'), '900 H/s–1.2 kH/s');
});

test('a family is named as people write it; a name that is no family is given back as it is', () => {
  assert.deepEqual(['randomx', 'cryptonight', 'ethash', 'kawpow', 'sha256d', 'equihash', 'unknown'].map(familyLabel), [
    'RandomX',
    'CryptoNight',
    'Ethash',
    'KawPow',
    'SHA-256d',
    'Equihash',
    'an unnamed algorithm',
  ]);
  // a finding read from a file may name anything: never a prototype's member
  assert.deepEqual(['constructor', '__proto__', '<b>x</b>'].map(familyLabel), ['constructor', '__proto__', '<b>x</b>']);
});
