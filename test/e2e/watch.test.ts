// run-tests: alone (a live watch samples /proc: CPU another test burns is seen)
/**
 * End to end: `coalmine watch` on this machine's real /proc, against what `coalmine simulate` stages
 * (a temp-dir xmrig with pool options and a Stratum login to a loopback pool, a sandbox cron entry
 * that relaunches it, a child that kills a rival, a proxyware client) next to a benign build-like CPU
 * burner: one AN0742 finding on the miner with all of it within the sustain window + 10 s, nothing on
 * the burner, every report delivered once to a webhook that was down at first. Then the same as an
 * unprivileged user, with the spool replayed by a second run.
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
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, startCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-watch-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

// a build-like loop: ~95% of one core in slices, no network, no persistence, an ordinary compiler name
const BUILD_LOOP =
  'const end = Date.now() + Number(process.argv[1]); (function burn() { const t = Date.now(); while (Date.now() - t < 95) {} if (Date.now() < end) setTimeout(burn, 5); })();';

const ndjson = (text: string) => ndjsonFindings(text) as Array<Finding & { revision: number }>;

test('watch while `coalmine simulate all` runs: the AN0742 finding names the simulated miner, its Stratum contact, the cron entry and the kill within sustain + 10 s; a benign burner raises nothing; a webhook that was down gets every report once; cleanup leaves nothing', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 150_000,
}, async () => {
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

  // watch is up first, on a sandbox root simulate will write its cron entry into
  const sandbox = join(work, 'sandbox');
  // as on a real host, the spool directory is there before anything writes a crontab into it
  mkdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs'), { recursive: true });
  // two cores, two burners and the sensor: the bar is what a starved burner still clears
  const policy = join(work, 'sim-policy.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 50\n');
  const watch = startCli([
    'watch',
    '--interval',
    '1',
    '--sustain',
    '20s',
    '--duration',
    '90s',
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
  ]);
  children.push(watch.child);
  await new Promise((r) => setTimeout(r, 3000));

  const sim = startCli(['simulate', 'all', '--duration', '50s', '--sandbox', sandbox, '--json']);
  children.push(sim.child);
  const started = Date.now();
  const staged = JSON.parse(await sim.firstLine()) as {
    dir: string;
    sandboxRoot: string;
    pool: { port: number };
    miner: { executable: string };
    cron: { file: string };
  };
  assert.equal(staged.sandboxRoot, sandbox);
  const builder = join(work, '.cache-x', 'cc1plus');
  mkdirSync(join(work, '.cache-x'), { recursive: true });
  copyFileSync(process.execPath, builder);
  const builderProc = spawn(builder, ['-e', BUILD_LOOP, '45000'], { stdio: 'ignore' });
  children.push(builderProc);
  const deadline = started + 20_000 + 10_000;
  let high: (Finding & { revision: number }) | undefined;
  let receiverUp = false;
  while (Date.now() < deadline && !high) {
    await new Promise((r) => setTimeout(r, 500));
    if (!receiverUp && ndjson(watch.out()).length > 0 && Date.now() - started > 8000) {
      receiverUp = true;
      await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
    }
    high = ndjson(watch.out()).find((f) => f.severity === 'high' && f.facts.executable === staged.miner.executable);
  }
  const arrivedMs = Date.now() - started;
  if (!receiverUp) await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
  watch.child.kill('SIGINT');
  await watch.exited;
  receiver.close();
  builderProc.kill('SIGKILL');
  const out = watch.out();
  const err = watch.err();
  assert.ok(high, `no high finding on the simulated miner within 20+10 s:\n${out}\n${err}`);
  assert.ok(arrivedMs <= 30_000, `arrived after ${arrivedMs} ms`);
  assert.equal(high.analytic, 'AN0742');
  assert.deepEqual([...high.legs].sort(), ['process', 'reach', 'resource']);
  const kinds = new Set(high.evidence.map((e) => e.kind));
  for (const k of ['miner-process', 'sustained-cpu', 'pool-contact', 'persistence', 'competitor-kill'])
    assert.ok(kinds.has(k as Finding['evidence'][number]['kind']), `${k} missing: ${[...kinds].join(', ')}`);
  assert.match(
    high.evidence.find((e) => e.kind === 'pool-contact')?.explanation ?? '',
    new RegExp(`stratum\\+tcp://127\\.0\\.0\\.1:${staged.pool.port} named in its own command line`),
  );
  assert.ok(high.evidence.some((e) => e.kind === 'persistence' && e.source.startsWith(staged.cron.file)));
  const revisions = ndjson(out)
    .filter((f) => f.id === high.id)
    .map((f) => f.revision);
  assert.deepEqual(
    revisions,
    revisions.map((_, i) => i + 1),
    'revisions count up from 1',
  );
  // every report on stdout reached the webhook exactly once, including those made while it was down
  const reported = ndjson(out).map((f) => `${f.id}#${f.revision}`);
  assert.deepEqual([...arrivals.keys()].sort(), [...reported].sort(), err);
  assert.ok(
    [...arrivals.values()].every((n) => n === 1),
    JSON.stringify([...arrivals]),
  );
  // the build-like burner: high CPU, no network, no persistence, an ordinary name → no finding
  assert.ok(!ndjson(out).some((f) => f.facts.executable === builder), out);

  sim.child.kill('SIGTERM');
  assert.equal(await sim.exited, 0, sim.err());
  assert.match(sim.err(), /cleaned up: .*removed /);
  assert.ok(!existsSync(staged.dir), 'the simulation removed its files');
  assert.deepEqual(
    readdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs')),
    [],
    'and its cron entry from our sandbox',
  );
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

  const sim = startCli(['simulate', 'miner', '--duration', '30s', '--json'], { env, ...asNobody });
  children.push(sim.child);
  const staged = JSON.parse(await sim.firstLine()) as {
    dir: string;
    sandboxRoot: string;
    miner: { executable: string };
  };

  // the receiver's port is closed during the first run
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const hookPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const spool = join(shared, 'spool');
  const watchRun = async (seconds: number): Promise<{ out: string; err: string; code: number | null }> => {
    const w = startCli(
      [
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
      { env, ...asNobody },
    );
    children.push(w.child);
    const code = await w.exited;
    return { out: w.out(), err: w.err(), code };
  };

  const first = await watchRun(22);
  sim.child.kill('SIGTERM');
  assert.equal(await sim.exited, 0);
  assert.equal(first.code, 0, first.err);
  const reports = ndjson(first.out);
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
