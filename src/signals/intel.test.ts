import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addUserIntel, IntelStore, loadBundledIntel } from './intel.js';

const intel = loadBundledIntel();

test('bundled intel loads with no bad lines', () => {
  const issues: never[] = [];
  loadBundledIntel(issues);
  assert.deepEqual(issues, []);
  assert.ok(intel.sets().length >= 8);
});

test('pool domains match by suffix on label boundaries only', () => {
  assert.equal(intel.domain('xmr-eu1.nanopool.org')?.kind, 'pool-domain');
  assert.equal(intel.domain('POOL.SupportXMR.com.')?.indicator, 'supportxmr.com');
  assert.equal(intel.domain('notnanopool.org'), undefined);
  assert.equal(intel.domain('org'), undefined);
});

test('known traps are not pools', () => {
  for (const name of ['pool.ntp.org', 'mempool.space', 'DefaultAppPool', 'pool.', 'threadpool.example.com'])
    assert.equal(intel.domain(name), undefined, name);
});

test('mining ports are always weak', () => {
  assert.equal(intel.port(3333)?.strength, 'weak');
  assert.equal(intel.port(443), undefined);
});

test('miner names ignore case and .exe; a Monero node is not a miner', () => {
  assert.equal(intel.processName('XMRig.exe')?.kind, 'miner-name');
  assert.equal(intel.processName('kdevtmpfsi')?.kind, 'miner-name');
  assert.equal(intel.processName('monerod'), undefined);
  assert.equal(intel.processName('honeygain')?.kind, 'proxyware-name');
});

test('images match ignoring registry and tag', () => {
  assert.equal(intel.image('docker.io/metal3d/xmrig:latest')?.kind, 'miner-image');
  assert.equal(intel.image('ghcr.io/traffmonetizer/cli_v2@sha256:abc')?.kind, 'proxyware-image');
  assert.equal(intel.image('nginx:1.25'), undefined);
});

test('wallets: Monero by shape, 0x-addresses only after a wallet option', () => {
  const xmr = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
  assert.equal(intel.wallet(`xmrig -o pool:3333 -u ${xmr} -p x`)?.indicator, xmr);
  assert.equal(intel.wallet('git checkout 0x1234567890abcdef1234567890abcdef12345678'), undefined);
  assert.ok(intel.wallet('miner --user 0x1234567890abcdef1234567890abcdef12345678'));
  assert.equal(intel.wallet('a'.repeat(100_000)), undefined);
});

test('user files: plain list, hosts file and CSV, with bad lines reported by line', () => {
  const store = new IntelStore();
  const issues: Array<{ line?: number; code: string }> = [];
  addUserIntel(
    store,
    'case.txt',
    '# case IOCs\n198.51.100.23\n10.9.0.0/16\nevil-pool.example\nnot an indicator!\n',
    issues as never,
  );
  addUserIntel(store, 'hosts', '0.0.0.0 pool.bad.example mirror.bad.example\n', issues as never);
  addUserIntel(
    store,
    'feed.csv',
    'indicator,type,strength,note\nzz.example,proxyware-domain,strong,seen in case 7\n',
    issues as never,
  );
  assert.equal(store.ip('198.51.100.23')?.set, 'case.txt');
  assert.equal(store.ip('10.9.200.1')?.indicator, '10.9.0.0/16');
  assert.equal(store.ip('10.10.0.1'), undefined);
  assert.equal(store.domain('a.evil-pool.example')?.kind, 'pool-domain');
  assert.equal(store.domain('mirror.bad.example')?.set, 'hosts');
  assert.equal(store.domain('zz.example')?.kind, 'proxyware-domain');
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[5, 'INTEL_BAD_LINE']],
  );
});
