import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Issue } from '../../model/issue.js';
import { testIntel } from '../test-events.js';
import { addUserIntel, findWallet, IntelStore, loadBundledIntel, loadIntel } from './store.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'intel');
// matching semantics are tested on the bundled lists plus the test-only indicators
const intel = testIntel();
const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const work = mkdtempSync(join(tmpdir(), 'coalmine-intel-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('bundled intel loads every list with no bad lines and names each set with its source', () => {
  const issues: Issue[] = [];
  const sets = loadBundledIntel(issues).sets();
  assert.deepEqual(issues, []);
  const byName = new Map(sets.map((s) => [s.name, s]));
  for (const name of [
    'pool-domains',
    'pool-ips',
    'mining-ports',
    'miner-names',
    'miner-hashes',
    'proxyware-names',
    'proxyware-domains',
    'images',
  ])
    assert.ok(byName.has(name), name);
  assert.ok((byName.get('pool-domains')?.count ?? 0) >= 40);
  assert.equal(byName.get('miner-hashes')?.count, 0);
  assert.equal(byName.get('images')?.kind, 'mixed');
  assert.match(byName.get('pool-domains')?.source ?? '', /falcosecurity\/rules/);
});

test('pool domains match by suffix on label boundaries, case-insensitive, with a trailing dot', () => {
  assert.equal(intel.domain('a.xmr.pool.minergate.com')?.indicator, 'xmr.pool.minergate.com');
  assert.equal(intel.domain('xmr-eu1.nanopool.org')?.kind, 'pool-domain');
  assert.equal(intel.domain('POOL.SupportXMR.com.')?.indicator, 'pool.supportxmr.com');
  assert.equal(intel.domain('supportxmr.com')?.strength, 'strong');
  assert.equal(intel.domain('notminergate.com'), undefined);
  assert.equal(intel.domain('minergate.com.evil.example'), undefined);
  assert.equal(intel.domain('com'), undefined);
  assert.equal(intel.domain(''), undefined);
});

test('look-alikes are not pools: pool.ntp.org, DefaultAppPool, a bare "pool.", mempool.space', () => {
  for (const name of ['pool.ntp.org', 'DefaultAppPool', 'pool.', 'mempool.space', 'threadpool.example.com'])
    assert.equal(intel.domain(name), undefined, name);
});

test('proxyware domains are their own kind, some graded medium because they also sell to ordinary users', () => {
  assert.equal(intel.domain('api.honeygain.com')?.kind, 'proxyware-domain');
  assert.equal(intel.domain('api.honeygain.com')?.strength, 'strong');
  assert.equal(intel.domain('mysterium.network')?.strength, 'medium');
});

test('pool IPs are medium evidence, matched exactly', () => {
  const m = intel.ip('185.71.66.20');
  assert.equal(m?.kind, 'pool-ip');
  assert.equal(m?.strength, 'medium');
  assert.equal(intel.ip('185.71.66.21'), undefined);
  assert.equal(intel.ip('::ffff:185.71.66.20')?.indicator, '185.71.66.20');
  assert.equal(intel.ip('not-an-ip'), undefined);
});

test('mining ports are always weak, even when a list says otherwise', () => {
  assert.equal(intel.port(3333)?.strength, 'weak');
  assert.equal(intel.port(14444)?.kind, 'mining-port');
  assert.equal(intel.port(443), undefined);
  const store = new IntelStore();
  store.add('mining-port', '7029', 'mine', 'strong');
  assert.equal(store.port(7029)?.strength, 'weak');
});

test('process names match the exact base name, ignoring case, a path and .exe', () => {
  assert.equal(intel.processName('XMRig.exe')?.kind, 'miner-name');
  assert.equal(intel.processName('/tmp/.x/xmrig')?.indicator, 'xmrig');
  assert.equal(intel.processName('kdevtmpfsi')?.kind, 'miner-name');
  assert.equal(intel.processName('honeygain')?.kind, 'proxyware-name');
  assert.equal(intel.processName('pawns-cli')?.kind, 'proxyware-name');
  assert.equal(intel.processName('xmrig2'), undefined);
  assert.equal(intel.processName('xmri'), undefined);
});

test('a Monero node, other chain nodes and real kernel threads are not miner names', () => {
  for (const name of ['monerod', 'bitcoind', 'geth', 'kswapd0', 'kworker/0:1', 'ffmpeg', 'make', 'ninja'])
    assert.equal(intel.processName(name), undefined, name);
});

test('images match on the repository, ignoring registry host, library/, tag and digest', () => {
  assert.equal(intel.image('docker.io/metal3d/xmrig:latest')?.kind, 'miner-image');
  assert.equal(intel.image('metal3d/xmrig')?.indicator, 'metal3d/xmrig');
  assert.equal(intel.image('ghcr.io/traffmonetizer/cli_v2@sha256:abc')?.kind, 'proxyware-image');
  assert.equal(intel.image('registry.local:5000/honeygain/honeygain:1.0')?.kind, 'proxyware-image');
  assert.equal(intel.image('nginx:1.25'), undefined);
  assert.equal(intel.image('docker.io/library/xmrig'), undefined);
});

test('a Monero address is found by shape, standard, subaddress and integrated', () => {
  assert.equal(intel.wallet(`xmrig -o pool:3333 -u ${XMR} -p x`)?.indicator, XMR);
  assert.equal(intel.wallet(`--user=${XMR}.rig01`)?.note, 'Monero address');
  const sub = `8${'Bb'.repeat(47)}`; // "8" then a valid second character, mixed case, 95 long
  assert.equal(findWallet(`-u ${sub}`)?.coin, 'Monero');
  const integrated = `4L${'a1'.repeat(52)}`; // 106 long
  assert.equal(findWallet(integrated)?.address, integrated);
});

test('hex and single-case tokens of a Monero length are not wallets', () => {
  const hex = '43441464671356B536947426F5A344E4D447759744E31386F62633841656D53333344424C57733348376F7458667433';
  assert.equal(hex.length, 95);
  assert.equal(intel.wallet(`a0=${hex}`), undefined);
  assert.equal(intel.wallet(`x ${XMR}z`), undefined, 'one character too long');
  assert.equal(intel.wallet(`x 4${'0'.repeat(94)}`), undefined);
});

test('Bitcoin addresses count only with a valid checksum', () => {
  assert.equal(findWallet('send 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa')?.coin, 'Bitcoin');
  assert.equal(findWallet('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb'), undefined);
  assert.equal(findWallet('-u bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq')?.coin, 'Bitcoin');
  assert.equal(findWallet('-u bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdz'), undefined);
  // an md5 that happens to start with 1 and avoid 0, O, I, l is still not an address
  assert.equal(findWallet('md5 1b2c3d4e5f6a7b8c9d1e2f3a4b5c6d7e'), undefined);
});

test('a 0x address is a wallet only after a wallet option, never in unrelated text', () => {
  const eth = '0x1234567890abcdef1234567890abcdef12345678';
  assert.equal(intel.wallet(`git checkout ${eth}`), undefined);
  assert.equal(intel.wallet(`cast call ${eth} "balanceOf()"`), undefined);
  for (const text of [`miner --user ${eth}`, `t-rex -u ${eth}.rig1`, `-w ${eth}`, `WALLET=${eth}`, `-u SHIB:${eth}`])
    assert.equal(intel.wallet(text)?.note, 'Ethereum-style address', text);
});

test('wallet scanning is bounded and linear on hostile input', () => {
  assert.equal(intel.wallet('a'.repeat(200_000)), undefined);
  assert.equal(intel.wallet(`${'4'.repeat(9000)} ${XMR}`), undefined, 'beyond the scan limit');
  const started = process.hrtime.bigint();
  intel.wallet(`${'4A'.repeat(50_000)}`);
  intel.wallet('-u '.repeat(50_000));
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});

test('a listed wallet is reported with its list', () => {
  const store = new IntelStore();
  store.addSet({ name: 'case.csv', kind: 'wallet', source: 'case.csv', count: 1 });
  assert.equal(store.add('wallet', XMR, 'case.csv', 'strong', 'attacker wallet'), undefined);
  assert.equal(store.wallet(`-u ${XMR}`)?.set, 'case.csv');
  assert.match(store.add('wallet', 'hello', 'case.csv', 'strong') ?? '', /not a wallet/);
});

test('IPv6 addresses match whatever way they are written, and CIDR ranges of both families match', () => {
  const store = new IntelStore();
  assert.equal(store.add('pool-ip', '2001:DB8::17', 'x', 'medium'), undefined);
  assert.equal(store.add('pool-ip', '2001:db8:f00::/48', 'x', 'medium'), undefined);
  assert.equal(store.add('pool-ip', '10.9.0.0/16', 'x', 'medium'), undefined);
  assert.equal(store.add('pool-ip', '10.9.7.0/24', 'y', 'strong'), undefined);
  assert.equal(store.ip('2001:0db8:0000:0000:0000:0000:0000:0017')?.indicator, '2001:db8::17');
  assert.equal(store.ip('[2001:db8::17]')?.kind, 'pool-ip');
  assert.equal(store.ip('2001:db8:f00:1::9')?.indicator, '2001:db8:f00::/48');
  assert.equal(store.ip('2001:db8:f01::9'), undefined);
  assert.equal(store.ip('10.9.200.1')?.indicator, '10.9.0.0/16');
  assert.equal(store.ip('10.9.7.1')?.set, 'y', 'the longest prefix wins');
  assert.equal(store.ip('10.10.0.1'), undefined);
  assert.match(store.add('pool-ip', '10.0.0.0/2', 'x', 'medium') ?? '', /prefix/);
});

test('a later set overrides an earlier one for the same indicator', () => {
  const store = new IntelStore();
  store.add('pool-domain', 'nicehash.com', 'bundled', 'strong');
  store.add('pool-domain', 'NiceHash.com.', 'ours.csv', 'medium');
  assert.deepEqual(
    [store.domain('x.nicehash.com')?.set, store.domain('x.nicehash.com')?.strength],
    ['ours.csv', 'medium'],
  );
});

test('user files: plain list, hosts file and CSV, each its own set named by its file', async () => {
  const files = ['case-iocs.txt', 'blocklist.hosts', 'feed.csv'].map((f) => join(FIXTURES, f));
  const { intel: all, issues } = await loadIntel(files);
  assert.deepEqual(issues, []);
  assert.equal(all.domain('pool-eu.evilmine.example')?.set, 'case-iocs.txt');
  assert.equal(all.domain('xmr.badpool.example')?.kind, 'pool-domain');
  assert.equal(all.ip('198.51.100.23')?.strength, 'medium');
  assert.equal(all.ip('203.0.113.77')?.indicator, '203.0.113.0/24');
  assert.equal(all.ip('2001:db8:bad::17')?.set, 'case-iocs.txt');
  assert.equal(all.ip('2001:db8:f00:9::1')?.set, 'case-iocs.txt');
  assert.equal(all.port(7029)?.set, 'case-iocs.txt');
  assert.equal(
    all.hash('9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08')?.note,
    'kdevtmpfsi build from the host',
  );
  assert.equal(all.processName('kthreadx')?.kind, 'miner-name');
  assert.equal(all.domain('eu.pool-blocked.example')?.set, 'blocklist.hosts');
  assert.equal(all.domain('mine.other-pool.example')?.kind, 'pool-domain');
  assert.equal(all.domain('localhost'), undefined);
  assert.equal(all.domain('ip6-localhost'), undefined);
  assert.equal(all.domain('a.proxy-sdk.example')?.note, 'SDK beacon, seen in case 7');
  assert.equal(all.ip('192.0.2.45')?.strength, 'medium');
  assert.equal(all.port(3333)?.set, 'feed.csv');
  assert.equal(all.domain('pool.nicehash.com')?.strength, 'medium');
  assert.equal(all.image('acme/cpu-burner:2')?.kind, 'miner-image');
  const sets = all.sets().filter((s) => files.some((f) => f === s.source));
  assert.deepEqual(
    sets.map((s) => [s.name, s.kind, s.count]),
    [
      ['case-iocs.txt', 'mixed', 9],
      ['blocklist.hosts', 'pool-domain', 4],
      ['feed.csv', 'mixed', 5],
    ],
  );
});

test('bad lines are reported with file, line and INTEL_BAD_LINE, and loading goes on', async () => {
  const { intel: all, issues } = await loadIntel([join(FIXTURES, 'bad.txt'), join(FIXTURES, 'bad.csv')]);
  const found = issues.map((i) => [i.file.split('/').pop(), i.line, i.code]);
  assert.deepEqual(found, [
    ['bad.txt', 3, 'INTEL_BAD_LINE'],
    ['bad.txt', 4, 'INTEL_BAD_LINE'],
    ['bad.txt', 5, 'INTEL_BAD_LINE'],
    ['bad.txt', 6, 'INTEL_BAD_LINE'],
    ['bad.txt', 7, 'INTEL_BAD_LINE'],
    ['bad.csv', 3, 'INTEL_BAD_LINE'],
    ['bad.csv', 4, 'INTEL_BAD_LINE'],
    ['bad.csv', 5, 'INTEL_BAD_LINE'],
    ['bad.csv', 6, 'INTEL_BAD_LINE'],
  ]);
  assert.ok(issues.every((i) => i.stage === 'loading' && i.reason.length > 0));
  assert.equal(all.domain('good-pool.example')?.set, 'bad.txt');
  assert.equal(all.domain('also-good.example')?.set, 'bad.txt');
  assert.equal(all.domain('ok.example')?.set, 'bad.csv');
});

test('missing, oversized-looking, binary and empty files are issues, never throws', async () => {
  const binary = join(work, 'garbage.bin');
  writeFileSync(binary, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)));
  const empty = join(work, 'empty.txt');
  writeFileSync(empty, '# nothing yet\n');
  const { issues } = await loadIntel([join(work, 'nope.txt'), work, binary, empty]);
  const codes = issues.map((i) => `${i.file.split('/').pop()} ${i.code}`);
  assert.ok(codes.includes('nope.txt INTEL_UNREADABLE'));
  assert.ok(
    codes.some((c) => c.endsWith('INTEL_UNREADABLE') && !c.startsWith('nope')),
    'a directory',
  );
  assert.ok(codes.includes('garbage.bin INTEL_BAD_LINE'));
  assert.ok(issues.filter((i) => i.file === binary).length <= 51, 'bad lines are capped per file');
  assert.ok(codes.includes('empty.txt INTEL_EMPTY'));
});

test('many bad lines are listed up to a cap, then counted in one issue', () => {
  const store = new IntelStore();
  const issues: Issue[] = [];
  addUserIntel(store, 'noise.txt', 'not-an-indicator!\n'.repeat(500), issues);
  assert.equal(issues.length, 51);
  assert.match(issues[50].reason, /450 more bad lines/);
  assert.equal(issues[50].line, 51);
});
