/**
 * End to end, shares prove the work (issue 20): the real CLI hunts captures our generator wrote
 * (test/support/stratum-captures.ts) of Monero, Bitcoin-style and Ethereum getwork sessions with a
 * known hashrate, and finds each rate within its 90% interval, with core-hours and cost; a login alone
 * holds no resource leg; the same capture beside an auditd miner process is high; explain and the HTML
 * report show the hashrate timeline. The real pool captures in ../shared/data/pcap are read when
 * present (skipped, saying so, when not).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { huntNdjson, runCli } from '../support/cli.js';
import {
  bitcoinSession,
  ethereumGetworkSession,
  type GeneratedCapture,
  mergeCaptures,
  moneroSession,
  START_MS,
} from '../support/stratum-captures.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-shares-'));
after(() => rmSync(work, { recursive: true, force: true }));
const POLICY = join(work, 'coalmine.yaml');
writeFileSync(POLICY, 'hosts:\n  web-01:\n    ips: [10.0.0.5]\n');
const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'pcap');

function write(name: string, g: GeneratedCapture): string {
  const path = join(work, name);
  writeFileSync(path, g.pcap);
  return path;
}

function hunt(paths: string[], args: string[] = []) {
  const r = huntNdjson(paths, ['--policy', POLICY, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const XMR_WALLET = '48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD';

/** XMRig started on web-01 five seconds before the capture's session, as auditd logs an execve. */
function auditdMiner(): string {
  const sec = ((START_MS - 5000) / 1000).toFixed(3);
  const path = join(work, 'audit.log');
  writeFileSync(
    path,
    [
      `node=web-01 type=SYSCALL msg=audit(${sec}:901): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=4242 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="xmrig" exe="/tmp/.cache/xmrig" subj=unconfined key="exec"`,
      `node=web-01 type=EXECVE msg=audit(${sec}:901): argc=5 a0="/tmp/.cache/xmrig" a1="-o" a2="198.51.100.7:3333" a3="-u" a4="${XMR_WALLET}"`,
      `node=web-01 type=CWD msg=audit(${sec}:901): cwd="/tmp/.cache"`,
      '',
    ].join('\n'),
  );
  return path;
}

for (const [name, make, family, device] of [
  ['Monero (XMRig login/job/submit)', () => moneroSession(), 'randomx', 'cpu'],
  ['Bitcoin-style (subscribe/set_difficulty/notify/submit)', () => bitcoinSession(), 'sha256d', 'gpu'],
  ['Ethereum getwork over HTTP', () => ethereumGetworkSession(), 'ethash', 'gpu'],
  [
    'Ethereum getwork, a connection per request',
    () => ethereumGetworkSession({ connectionPerRequest: true }),
    'ethash',
    'gpu',
  ],
] as const)
  test(`hunt on a capture of ${name}: medium AN0742 (resource + reach), the true rate in the interval, ${device === 'gpu' ? 'GPU-hours' : 'core-hours'} and cost`, () => {
    const g = make();
    const r = hunt([write(`${name.replace(/\W+/g, '-')}.pcap`, g)]);
    const f = r.findings.find((x) => x.legs.includes('resource'));
    assert.ok(f, JSON.stringify(r.findings.map((x) => [x.analytic, x.severity, x.legs])));
    assert.deepEqual([f.analytic, f.severity, f.legs], ['AN0742', 'medium', ['resource', 'reach']]);
    // one session, however many connections and progress reports it took
    assert.equal(f.shares?.length, 1);
    const s = f.shares?.[0];
    assert.ok(s);
    assert.equal(s.family, family);
    assert.equal(s.accepted, g.truth.accepted);
    assert.ok(s.hashrate_low <= g.truth.hashrate && g.truth.hashrate <= s.hashrate_high, JSON.stringify(s));
    const shares = f.evidence.find((e) => e.kind === 'mining-shares');
    assert.ok(shares && shares.class === 'resource' && shares.strength === 'strong', JSON.stringify(f.evidence));
    const cost = f.triage?.cost;
    assert.ok(cost && cost.amount > 0, JSON.stringify(f.triage?.cost));
    assert.match(cost.basis, /^from Stratum shares, no CPU sampled: /);
    // core-hours (GPU-hours for a GPU-mined family) = the estimate ÷ the bundled rate of a core (a GPU) × the mining time
    const [hours, price, unit] =
      device === 'gpu'
        ? [cost.gpu_hours ?? 0, cost.price_per_gpu_hour, 'GPU-hours']
        : [cost.core_hours, cost.price_per_core_hour, 'core-hours'];
    assert.ok(hours > 0, JSON.stringify(cost));
    assert.deepEqual(
      [device === 'gpu' ? cost.core_hours : cost.gpu_hours, price, cost.amount],
      [device === 'gpu' ? 0 : undefined, device === 'gpu' ? 0.5 : 0.05, Math.round(hours * (price ?? 0) * 100) / 100],
    );
    assert.match(r.stderr, new RegExp(`hijacked compute: ${hours} ${unit} ≈ ${cost.amount.toFixed(2)} USD`));
  });

test('a GPU-mined session: GPU-equivalents in the evidence, GPU-hours at prices.gpu_hour in the cost, explain and the report', () => {
  const policy = join(work, 'gpu-price.yaml');
  writeFileSync(policy, 'prices:\n  gpu_hour: 1.2\n');
  // ~89 MH/s Ethash for 30 min: about 3 mid-range GPUs, not 2,222 CPU cores
  const pcap = write('eth-89.pcap', ethereumGetworkSession({ hashrate: 8.9e7 }));
  const report = join(work, 'eth-report.html');
  const r = huntNdjson([pcap], ['--policy', policy, '--report', report]);
  assert.equal(r.code, 0, r.stderr);
  const f = r.findings.find((x) => x.shares);
  assert.ok(f, r.stderr);
  const text = f.evidence.find((e) => e.kind === 'mining-shares')?.explanation ?? '';
  assert.match(text, / MH\/s Ethash \(90%: [^)]+\) ≈ \d(\.\d)? GPU-equivalents at 30 MH\/s a GPU \(hashrates /);
  assert.ok(!text.includes('CPU cores'), text);
  const cost = f.triage?.cost;
  assert.ok(cost?.gpu_hours && cost.gpu_hours > 1 && cost.gpu_hours < 2, JSON.stringify(cost));
  assert.deepEqual(
    [cost.core_hours, cost.price_per_gpu_hour, cost.amount],
    [0, 1.2, Math.round(cost.gpu_hours * 1.2 * 100) / 100],
  );
  assert.match(cost.basis, /÷ 30 MH\/s a GPU \(hashrates [\d-]+\) ≈ [\d.]+ GPUs × 30 min = [\d.]+ GPU-hours$/);
  const quantity = `${cost.gpu_hours} GPU-hours`;
  assert.match(r.stderr, new RegExp(`hijacked compute: ${quantity} ≈ ${cost.amount.toFixed(2)} USD`));
  const e = runCli(['explain', f.id, pcap, '--policy', policy]);
  assert.equal(e.code, 0, e.stderr);
  assert.ok(
    e.stdout.includes(`\nCost\n  ${quantity} × 1.2 USD = ${cost.amount.toFixed(2)} USD (from Stratum shares`),
    e.stdout,
  );
  const html = readFileSync(report, 'utf8');
  assert.ok(html.includes(`${quantity} × 1.2 USD = <strong>${cost.amount.toFixed(2)} USD</strong>`));
  assert.ok(html.includes(`<dt>hijacked compute</dt><dd>${quantity} ≈ ${cost.amount.toFixed(2)} USD`));
  assert.ok(html.includes(`<td class="nw">${quantity}</td>`));
});

test('a capture with only a login (jobs, no share) holds no resource leg: low, reach only', () => {
  const r = hunt([write('login.pcap', moneroSession({ loginOnly: true }))]);
  assert.deepEqual(
    r.findings.map((f) => [f.analytic, f.severity, f.legs, f.host]),
    [['AN0742', 'low', ['reach'], 'web-01']],
  );
  assert.equal(r.findings[0].shares, undefined);
  assert.equal(r.findings[0].triage?.cost, null);
});

test('the capture plus the miner process in auditd is high, and its shares are counted once', () => {
  const r = hunt([write('xmr.pcap', moneroSession()), auditdMiner()]);
  const high = r.findings.filter((f) => f.severity === 'high');
  assert.deepEqual(
    high.map((f) => [f.analytic, f.legs, f.entity]),
    [['AN0742', ['resource', 'process', 'reach'], 'process:web-01:4242']],
  );
  assert.equal(high[0].shares?.length, 1);
  // the host-level pool contact is not the process's shares again
  const others = r.findings.filter((f) => f !== high[0]);
  assert.ok(
    others.every((f) => !f.shares && !f.legs.includes('resource')),
    JSON.stringify(others.map((f) => f.legs)),
  );
  assert.match(r.stderr, new RegExp(`hijacked compute: ${high[0].triage?.cost?.core_hours} core-hours`));
});

test('two miners behind one address are two sessions of the finding, its cost their sum; the capture given twice is priced once', () => {
  const a = moneroSession({ clientPort: 50_001, difficulty: 10_000, hashrate: 1000, seed: 3 });
  const b = moneroSession({ clientPort: 50_002, difficulty: 200_000, hashrate: 6000, seed: 4 });
  // the second miner logs in 7 s after the first
  for (const p of b.packets) p.tsMs += 7000;
  const nat = join(work, 'nat.pcap');
  writeFileSync(nat, mergeCaptures([a, b]));
  const once = hunt([nat]);
  const f = once.findings.find((x) => x.shares);
  assert.ok(f, once.stderr);
  assert.deepEqual(
    f.shares?.map((s) => s.accepted).sort((x, y) => x - y),
    [a.truth.accepted, b.truth.accepted].sort((x, y) => x - y),
  );
  for (const s of f.shares ?? [])
    assert.match(f.triage?.cost?.basis ?? '', new RegExp(`≈ [\\d.]+ cores × ${s.mining_minutes} min`));
  // 1 kH/s and 6 kH/s RandomX at 500 H/s a core for 35 min: about 7 core-hours, not one session's 6
  const coreHours = f.triage?.cost?.core_hours ?? 0;
  assert.ok(coreHours > 6.5 && coreHours < 9, JSON.stringify(f.triage?.cost));
  assert.match(once.stderr, new RegExp(`hijacked compute: ${coreHours} core-hours`));
  const copy = join(work, 'nat-copy.pcap');
  writeFileSync(copy, mergeCaptures([a, b]));
  const twice = hunt([nat, copy]);
  assert.deepEqual(
    twice.findings.map((x) => [x.shares?.length, x.triage?.cost?.core_hours]),
    once.findings.map((x) => [x.shares?.length, x.triage?.cost?.core_hours]),
  );
  assert.match(twice.stderr, new RegExp(`hijacked compute: ${coreHours} core-hours`));
});

test('hashrates: in coalmine.yaml is the figure the evidence compares with and the cost prices by', () => {
  const policy = join(work, 'override.yaml');
  writeFileSync(policy, 'hosts:\n  web-01:\n    ips: [10.0.0.5]\nhashrates:\n  randomx: { per_core: 800 }\n');
  const r = huntNdjson([write('xmr-override.pcap', moneroSession())], ['--policy', policy]);
  assert.equal(r.code, 0, r.stderr);
  const f = r.findings.find((x) => x.shares);
  assert.ok(f, r.stderr);
  // 3.26 kH/s ÷ 800 H/s a core ≈ 4.1 cores (the bundled 500 would say 6.5), in both places
  const text = f.evidence.find((e) => e.kind === 'mining-shares')?.explanation ?? '';
  assert.match(text, / ≈ 4\.1 CPU cores at 800 H\/s a core .*\(\S*override\.yaml:5\)/);
  assert.match(
    f.triage?.cost?.basis ?? '',
    /÷ 800 H\/s a core \(\S*override\.yaml:5\) ≈ 4\.1 cores × 35 min = 2\.38 core-hours/,
  );
});

test('explain and the HTML report show the hashrate timeline, hostile worker names inert', () => {
  const hostile = '<img src=x onerror=alert(1)>\u001b[31mred';
  const pcap = write('xmr-report.pcap', moneroSession({ login: hostile }));
  const report = join(work, 'report.html');
  const r = hunt([pcap], ['--report', report]);
  const f = r.findings.find((x) => x.shares) as Finding;
  const e = runCli(['explain', f.id, pcap, '--policy', POLICY]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(
    e.stdout,
    /Hashrate \(measured from Stratum shares\)\n {2}~3\.26 kH\/s RandomX \(90%: 2\.58–4\.06 kH\/s\) to 198\.51\.100\.7:3333: 57 accepted, 1 rejected over 35 min/,
  );
  assert.match(e.stdout, /\n {4}2026-11-02 09:00:00 {2}\+1 min +\d+ shares? {2}[\d.]+ k?H\/s/);
  // a bucket of one share says so; the session ended milliseconds into its 36th minute: no bar for that
  assert.match(e.stdout, /\n {4}2026-11-02 09:\d\d:00 {2}\+1 min {5}1 share {3}2 kH\/s\n/);
  assert.match(e.stdout, /\n {4}2026-11-02 09:34:00 {2}\+1 min +\d+ shares? +[\d.]+ k?H\/s\n\n/);
  assert.ok(!e.stdout.includes('2026-11-02 09:35:00  +'), e.stdout);
  const html = readFileSync(report, 'utf8');
  assert.match(html, /<h3>Hashrate timeline \(measured from Stratum shares\)<\/h3>/);
  assert.match(html, /<svg class="hashrate"[^>]*>(?:<line|<text|<rect)/);
  assert.match(html, /<strong>~3\.26 kH\/s<\/strong> RandomX \(90%/);
  assert.match(html, /\+1 min: 1 share, 2 kH\/s<\/title>/);
  assert.ok((html.match(/<rect x=/g) ?? []).length >= 30);
  assert.ok(!/<script|<img/i.test(html));
  assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62;\\u001b\[31mred/);
  assert.ok(!e.stdout.includes('\u001b'), 'no raw escape reaches the terminal');
  assert.match(e.stdout, /worker <img src=x onerror=alert\(1\)>\\u001b\[31mred/);
});

test('the real pool captures in ../shared/data/pcap give plausible hashrates, and Bitcoin P2P none', {
  skip: existsSync(SHARED) ? false : `no ${SHARED} (the shared samples are not on this machine)`,
}, () => {
  const one = (file: string) => huntNdjson([join(SHARED, file)]);
  // suprnova Zcash: 11 accepted shares at 2^256/target ≈ 1,088 then 3,956 solutions a share over 90 s
  const zec = one('zec-eu.suprnova.cc.pcapng');
  const zf = zec.findings.find((f) => f.shares);
  assert.ok(zf, zec.stderr);
  assert.deepEqual([zf.analytic, zf.severity, zf.legs], ['AN0742', 'medium', ['resource', 'reach']]);
  const z = zf.shares?.[0];
  assert.deepEqual(
    [z?.family, z?.unit, z?.accepted, z?.hashrate, z?.hashrate_low, z?.hashrate_high],
    ['equihash', 'Sol/s', 11, 309, 174, 512],
  );
  // nanopool Monero (login and jobs, no share in 2.6 min) and pool.eth.pp.ua (getwork polls, no submit): contact only
  for (const file of ['xmr-eu1.nanopool.org.pcapng', 'pool.eth.pp.ua.pcapng']) {
    const r = one(file);
    assert.ok(r.findings.length > 0, file);
    assert.ok(
      r.findings.every((f) => !f.shares && !f.legs.includes('resource')),
      file,
    );
  }
  const btc = one('bitcoin.pcap');
  assert.ok(btc.findings.every((f) => !f.shares && f.evidence.every((e) => e.kind !== 'mining-shares')));
});
