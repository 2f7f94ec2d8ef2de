/**
 * End to end: `coalmine watch` on this machine's real /proc. The test stages a miner the way an
 * intruder would (a binary in a temp dir under a miner's name with pool options, a Stratum login to a
 * loopback pool, a cron entry in a sandbox root that relaunches it, a child that kills a rival) next to
 * a benign build-like CPU burner, and checks that watch reports one AN0742 finding on the miner with
 * all of it within the sustain window + 10 s, and nothing on the burner.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'coalmine.js');
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const work = mkdtempSync(join(tmpdir(), 'coalmine-watch-'));
const children: ChildProcess[] = [];
let pool: Server | undefined;
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  pool?.close();
  rmSync(work, { recursive: true, force: true });
});

// a CPU burner at ~95% of one core; as the miner it also logs in to the pool and kills the rival
const BURN = `
import net from 'node:net';
import { spawn } from 'node:child_process';
const arg = (k) => process.argv[process.argv.indexOf(k) + 1];
const end = Date.now() + Number(arg('--for'));
if (arg('--port') !== undefined && process.argv.includes('--port')) {
  const s = net.connect(Number(arg('--port')), '127.0.0.1', () =>
    s.write(JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'login', params: { login: 'w', pass: 'x', agent: 'XMRig/6.21.0' } }) + '\\n'));
  s.on('error', () => {});
}
if (process.argv.includes('--rival')) setTimeout(() => spawn('/bin/sh', ['-c', 'sleep 5; pkill -9 -f kthreaddi'], { stdio: 'ignore' }), 2000);
(function burn() { const t = Date.now(); while (Date.now() - t < 95) {} if (Date.now() < end) setTimeout(burn, 5); else process.exit(0); })();
`;

test('watch sees a staged miner within the sustain window + 10 s, with its pool, cron entry and kill; a benign burner raises nothing', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 120_000,
}, async () => {
  const dir = join(work, '.cache-x');
  mkdirSync(dir);
  const miner = join(dir, 'xmrig');
  const builder = join(dir, 'cc1plus');
  const rival = join(dir, 'kthreaddi');
  for (const exe of [miner, builder, rival]) copyFileSync(process.execPath, exe);
  const script = join(dir, 'burn.mjs');
  writeFileSync(script, BURN);

  const server = createServer((c) => {
    c.on('error', () => {});
    c.once('data', () =>
      c.write(
        '{"id":1,"jsonrpc":"2.0","result":{"id":"1","job":{"blob":"00","job_id":"1","target":"ffff"},"status":"OK"}}\n',
      ),
    );
  });
  pool = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const minerArgs = [script, '-o', `stratum+tcp://127.0.0.1:${port}`, '-u', WALLET, '--donate-level', '1'];

  const sandbox = join(work, 'root');
  mkdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs'), { recursive: true });
  writeFileSync(
    join(sandbox, 'var', 'spool', 'cron', 'crontabs', 'root'),
    `*/5 * * * * ${miner} ${minerArgs.join(' ')} --for 60000\n`,
  );

  // the webhook receiver is down (nothing listens on its port) until the first finding is out
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const hookPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const arrivals = new Map<string, number>();
  const receiver = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      assert.equal((JSON.parse(body) as { dedupe_key: string }).dedupe_key, key);
      arrivals.set(key, (arrivals.get(key) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });

  const sustainMs = 20_000;
  // two cores, two burners and the sensor: the bar is what a starved burner still clears
  const policy = join(work, 'coalmine.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 50\n');
  const watch = spawn(
    process.execPath,
    [
      BIN,
      'watch',
      '--interval',
      '1',
      '--sustain',
      '20s',
      '--duration',
      '60s',
      '--format',
      'ndjson',
      '--root',
      sandbox,
      '--policy',
      policy,
      '--webhook',
      `http://127.0.0.1:${hookPort}/findings`,
      '--spool',
      join(work, 'spool'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(watch);
  let out = '';
  let err = '';
  watch.stdout?.on('data', (d) => {
    out += d;
  });
  watch.stderr?.on('data', (d) => {
    err += d;
  });
  await new Promise((r) => setTimeout(r, 2500));

  const rivalProc = spawn(rival, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const builderProc = spawn(builder, [script, '--for', '45000'], { stdio: 'ignore' });
  const started = Date.now();
  const minerProc = spawn(miner, [...minerArgs, '--port', String(port), '--for', '45000', '--rival'], {
    stdio: 'ignore',
  });
  children.push(rivalProc, builderProc, minerProc);

  // wait for a high finding on the miner, or the deadline
  const deadline = started + sustainMs + 10_000;
  const findings = () =>
    out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Finding & { revision: number });
  let high: (Finding & { revision: number }) | undefined;
  let receiverUp = false;
  while (Date.now() < deadline && !high) {
    await new Promise((r) => setTimeout(r, 500));
    if (!receiverUp && findings().length > 0 && Date.now() - started > 8000) {
      receiverUp = true;
      await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
    }
    high = findings().find((f) => f.severity === 'high' && f.facts.executable === miner);
  }
  const arrivedMs = Date.now() - started;
  for (const c of [minerProc, builderProc, rivalProc]) c.kill('SIGKILL');
  if (!receiverUp) await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
  watch.kill('SIGINT');
  await new Promise((r) => watch.once('exit', r));
  receiver.close();
  assert.ok(high, `no high finding on ${miner} within ${sustainMs / 1000}+10 s:\n${out}\n${err}`);
  assert.ok(arrivedMs <= sustainMs + 10_000, `arrived after ${arrivedMs} ms`);
  assert.equal(high.analytic, 'AN0742');
  assert.deepEqual([...high.legs].sort(), ['process', 'reach', 'resource']);
  const kinds = new Set(high.evidence.map((e) => e.kind));
  for (const k of ['miner-process', 'sustained-cpu', 'pool-contact', 'persistence'])
    assert.ok(kinds.has(k as Finding['evidence'][number]['kind']), `${k} missing: ${[...kinds].join(', ')}`);
  const contact = high.evidence.find((e) => e.kind === 'pool-contact');
  assert.match(
    contact?.explanation ?? '',
    new RegExp(`stratum\\+tcp://127\\.0\\.0\\.1:${port} named in its own command line`),
  );
  assert.ok(high.evidence.some((e) => e.kind === 'persistence' && e.source.startsWith(sandbox)));

  // the kill comes 7 s in; by the end of the run the finding says it too (as a later revision if need be)
  const all = findings().filter((f) => f.id === high.id);
  const last = all[all.length - 1];
  assert.ok(
    last.evidence.some((e) => e.kind === 'competitor-kill'),
    `no competitor-kill: ${last.evidence.map((e) => e.kind).join(', ')}`,
  );
  assert.deepEqual(
    all.map((f) => f.revision),
    all.map((_, i) => i + 1),
    'revisions count up from 1',
  );
  // every report on stdout reached the webhook exactly once, including those made while it was down
  const reported = findings().map((f) => `${f.id}#${f.revision}`);
  assert.deepEqual([...arrivals.keys()].sort(), [...reported].sort(), err);
  assert.ok(
    [...arrivals.values()].every((n) => n === 1),
    JSON.stringify([...arrivals]),
  );
  // the build-like burner: high CPU, no network, no persistence, an ordinary name → no finding
  assert.ok(!findings().some((f) => f.facts.executable === builder), out);
});

test('watch while `coalmine simulate all` runs: the AN0742 finding names the simulated miner, its Stratum contact, the cron entry and the kill within sustain + 10 s; cleanup leaves nothing', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 120_000,
}, async () => {
  const sim = spawn(process.execPath, [BIN, 'simulate', 'all', '--duration', '40s', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(sim);
  const started = Date.now();
  let simOut = '';
  let simErr = '';
  sim.stdout?.on('data', (d) => {
    simOut += d;
  });
  sim.stderr?.on('data', (d) => {
    simErr += d;
  });
  const simExited = new Promise<number | null>((resolve) => sim.once('exit', resolve));
  while (!simOut.includes('\n')) await new Promise((r) => setTimeout(r, 100));
  const staged = JSON.parse(simOut) as {
    dir: string;
    sandboxRoot: string;
    pool: { port: number };
    miner: { executable: string };
    cron: { file: string };
  };
  const policy = join(work, 'sim-policy.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 50\n');
  const watch = spawn(
    process.execPath,
    [
      BIN,
      'watch',
      '--interval',
      '1',
      '--sustain',
      '20s',
      '--duration',
      '60s',
      '--root',
      staged.sandboxRoot,
      '--policy',
      policy,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(watch);
  let out = '';
  watch.stdout?.on('data', (d) => {
    out += d;
  });
  const findings = () =>
    out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Finding & { revision: number });
  const deadline = started + 20_000 + 10_000;
  let high: (Finding & { revision: number }) | undefined;
  while (Date.now() < deadline && !high) {
    await new Promise((r) => setTimeout(r, 500));
    high = findings().find((f) => f.severity === 'high' && f.facts.executable === staged.miner.executable);
  }
  watch.kill('SIGINT');
  await new Promise((r) => watch.once('exit', r));
  assert.ok(high, `no high finding on the simulated miner within 30 s:\n${out}`);
  assert.equal(high.analytic, 'AN0742');
  const kinds = new Set(high.evidence.map((e) => e.kind));
  for (const k of ['miner-process', 'sustained-cpu', 'pool-contact', 'persistence', 'competitor-kill'])
    assert.ok(kinds.has(k as Finding['evidence'][number]['kind']), `${k} missing: ${[...kinds].join(', ')}`);
  assert.match(
    high.evidence.find((e) => e.kind === 'pool-contact')?.explanation ?? '',
    new RegExp(`127\\.0\\.0\\.1:${staged.pool.port} named in its own command line`),
  );
  assert.ok(high.evidence.some((e) => e.kind === 'persistence' && e.source.startsWith(staged.cron.file)));

  sim.kill('SIGTERM');
  assert.equal(await simExited, 0, simErr);
  assert.match(simErr, /cleaned up: .*removed /);
  assert.ok(!existsSync(staged.dir), 'the simulation removed its files');
  const left = readdirSync('/proc').filter((p) => {
    try {
      return /^\d+$/.test(p) && readlinkSync(`/proc/${p}/exe`).startsWith(staged.dir);
    } catch {
      return false;
    }
  });
  assert.deepEqual(left, [], 'no simulated process remains');
});

test('unprivileged watch sees its own user’s miner and names what it cannot see; reports spooled while the receiver is down reach it on the next run, once', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 120_000,
}, async () => {
  // as root, both the miner and the sensor drop to nobody; as anyone else they already are unprivileged
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const shared = join(work, 'unprivileged');
  mkdirSync(shared, { recursive: true });
  chmodSync(work, 0o755);
  chmodSync(shared, 0o777);
  const env = { ...process.env, HOME: shared };
  const policy = join(shared, 'coalmine.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 50\n');
  chmodSync(policy, 0o644);

  const sim = spawn(process.execPath, [BIN, 'simulate', 'miner', '--duration', '30s', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    ...asNobody,
  });
  children.push(sim);
  let simOut = '';
  sim.stdout?.on('data', (d) => {
    simOut += d;
  });
  const simExited = new Promise<number | null>((resolve) => sim.once('exit', resolve));
  while (!simOut.includes('\n')) await new Promise((r) => setTimeout(r, 100));
  const staged = JSON.parse(simOut) as { dir: string; sandboxRoot: string; miner: { executable: string } };

  // the receiver's port is closed during the first run
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const hookPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const spool = join(shared, 'spool');
  const watchRun = async (seconds: number): Promise<{ out: string; err: string; code: number | null }> => {
    const w = spawn(
      process.execPath,
      [
        BIN,
        'watch',
        '--interval',
        '1',
        '--sustain',
        '10s',
        '--duration',
        `${seconds}s`,
        '--root',
        staged.sandboxRoot,
        '--policy',
        policy,
        '--webhook',
        `http://127.0.0.1:${hookPort}/findings`,
        '--spool',
        spool,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env, ...asNobody },
    );
    children.push(w);
    let out = '';
    let err = '';
    w.stdout?.on('data', (d) => {
      out += d;
    });
    w.stderr?.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((resolve) => w.once('exit', resolve));
    return { out, err, code };
  };

  const first = await watchRun(22);
  sim.kill('SIGTERM');
  assert.equal(await simExited, 0);
  assert.equal(first.code, 0, first.err);
  const reports = first.out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Finding & { revision: number });
  const high = reports.find((f) => f.severity === 'high' && f.facts.executable === staged.miner.executable);
  assert.ok(high, `no high finding on the miner its own user runs:\n${first.out}\n${first.err}`);
  const kinds = new Set(high.evidence.map((e) => e.kind));
  for (const k of ['miner-process', 'sustained-cpu', 'pool-contact'])
    assert.ok(kinds.has(k as Finding['evidence'][number]['kind']), `${k} missing: ${[...kinds].join(', ')}`);
  if ('uid' in asNobody) {
    // root's processes: their executables and fd tables are closed to nobody, and watch says so
    assert.match(first.err, /cannot see: .*executable path not readable for \d+ processes/);
    assert.match(first.err, /fd table not readable for \d+ processes: their sockets are not attributable/);
  }
  assert.doesNotMatch(first.err, /\n\s+at |TypeError|RangeError/, 'no stack trace');
  assert.match(first.err, new RegExp(`webhook: 0 delivered, ${reports.length} left in`));

  // the receiver is back: the next run replays the spool, each report exactly once, and leaves it empty
  const arrivals = new Map<string, number>();
  const receiver = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      arrivals.set(key, (arrivals.get(key) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
  const second = await watchRun(3);
  receiver.close();
  assert.equal(second.code, 0, second.err);
  assert.match(second.err, /webhook: \d+ delivered, 0 left in/);
  const spooled = reports.map((f) => `${f.id}#${f.revision}`);
  for (const key of spooled) assert.equal(arrivals.get(key), 1, `${key}: ${JSON.stringify([...arrivals])}`);
  assert.ok(!existsSync(staged.dir), 'the simulation removed its files');
});
