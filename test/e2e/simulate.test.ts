// run-tests: alone (simulate burns a share of a core that watch must see as sustained)
/**
 * End to end: `coalmine simulate all` stages the miner (a temp-dir binary with pool options, burning
 * CPU, logged in to a loopback pool), a sandbox cron entry and a decoy rival that the miner's child
 * kills, a proxyware client relaying to a loopback relay — and afterwards nothing of it is left: no process, no file, nothing in the real crontab.
 * (test/e2e/watch.test.ts shows watch turning the same story into a finding.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Staged } from '../../src/simulate/index.js';
import { BIN, startCli } from '../support/cli.js';

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/exe`).startsWith(dir)) out.push(Number(name));
    } catch {
      // gone or not ours to read
    }
  }
  return out;
}

function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Whether one of pid's sockets is an established TCP connection to 127.0.0.1:port (from /proc/net/tcp). */
function connectedTo(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .some((l) => {
      const f = l.trim().split(/\s+/);
      return f[2] === remote && f[3] === '01' && inodes.has(f[9]);
    });
}

test('simulate all stages a miner, a cron entry, a killed rival and a proxyware client on loopback, then leaves nothing behind', {
  skip: process.platform !== 'linux' ? 'stages processes read through /proc (Linux only)' : false,
  timeout: 60_000,
}, async () => {
  const sim = startCli(['simulate', 'all', '--duration', '10s', '--json']);
  const out = await sim.firstLine();
  const staged = JSON.parse(out) as Staged;
  assert.ok(staged.miner && staged.rival && staged.cron && staged.proxyware, out);
  assert.equal(staged.pool.address, '127.0.0.1');

  // the miner as /proc shows it: its binary in the temp dir, pool options, burning CPU
  const pid = staged.miner.pid;
  assert.equal(readlinkSync(`/proc/${pid}/exe`), staged.miner.executable);
  assert.ok(staged.miner.executable.startsWith(staged.dir));
  assert.match(
    readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
    new RegExp(`stratum\\+tcp://127\\.0\\.0\\.1:${staged.pool.port}`),
  );
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
      .split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const before = ticks();
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(ticks() - before >= 30, 'the miner burns at least 30% of a core');
  assert.ok(existsSync(staged.cron.file));
  assert.ok(staged.cron.file.startsWith(staged.sandboxRoot), 'the cron entry is in the sandbox, not the real spool');
  assert.ok(staged.cron.line.includes(staged.miner.executable));

  // the proxyware client: named like Pawns' client, its own account flags, one connection open to the loopback relay
  const proxy = staged.proxyware;
  assert.equal(readlinkSync(`/proc/${proxy.pid}/exe`), proxy.executable);
  assert.equal(proxy.executable, join(staged.dir, 'pawns-cli'));
  const argv = readFileSync(`/proc/${proxy.pid}/cmdline`, 'utf8').split('\0');
  for (const a of ['-email=simulate@coalmine.invalid', '-accept-tos']) assert.ok(argv.includes(a), argv.join(' '));
  assert.equal(proxy.relay.address, '127.0.0.1');
  assert.ok(connectedTo(proxy.pid, proxy.relay.port), 'the proxyware keeps a connection to the relay open');
  const pticks = ticksOf(proxy.pid);
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(ticksOf(proxy.pid) - pticks < 20, 'the proxyware uses little CPU');

  // the rival is killed by the miner's child about 7 s in
  const rivalDeadline = Date.now() + 9000;
  while (alive(staged.rival.pid) && Date.now() < rivalDeadline) await new Promise((r) => setTimeout(r, 250));
  assert.ok(!alive(staged.rival.pid), 'the decoy rival was killed');

  assert.equal(await sim.exited, 0, sim.err());
  assert.match(sim.err(), /cleaned up: .*removed /);
  assert.ok(!existsSync(staged.dir), 'the temp dir is gone');
  assert.deepEqual(processesUnder(staged.dir), [], 'no process of the simulation remains');
});

// --real-crontab, on this machine's real crontab (root's in CI): saved first, restored after
function crontabList(): string | undefined {
  const r = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout;
  if (/no crontab for/i.test(r.stderr)) return undefined;
  throw new Error(`crontab -l: ${r.stderr}`);
}
function crontabInstall(text: string | undefined): void {
  const r =
    text === undefined
      ? spawnSync('crontab', ['-r'], { encoding: 'utf8' })
      : spawnSync('crontab', ['-'], { input: text, encoding: 'utf8' });
  if (r.status !== 0 && !(text === undefined && /no crontab for/i.test(r.stderr)))
    throw new Error(`crontab ${text === undefined ? '-r' : '-'}: ${r.stderr}`);
}
const hasCrontab = process.platform === 'linux' && !spawnSync('crontab', ['-l']).error;
let saved: { text: string | undefined } | undefined;
after(() => {
  if (saved) crontabInstall(saved.text);
});

async function runWithRealCrontab(kill: boolean): Promise<{ staged: Staged; during: string | undefined; err: string }> {
  const sim = startCli(['simulate', 'persistence', '--real-crontab', '--duration', '6s', '--json']);
  const out = await sim.firstLine();
  assert.ok(out !== '', sim.err());
  const staged = JSON.parse(out) as Staged;
  const during = crontabList();
  if (kill) sim.child.kill('SIGTERM');
  assert.equal(await sim.exited, 0, sim.err());
  return { staged, during, err: sim.err() };
}

test('simulate persistence --real-crontab adds one marked line to the real crontab and removes exactly it, on --duration and on SIGTERM', {
  skip: hasCrontab ? false : 'no crontab(1) here (Debian: apt-get install cron)',
  timeout: 60_000,
}, async () => {
  saved = { text: crontabList() };
  for (const [fixture, kill] of [
    ['# fixture: kept byte for byte\nMAILTO=""\n17 3 * * * /bin/true # keep\n\n', false],
    ['@reboot /bin/true\n', true],
    [undefined, false],
  ] as const) {
    crontabInstall(fixture);
    const { staged, during, err } = await runWithRealCrontab(kill);
    assert.ok(staged.realCron, JSON.stringify(staged));
    const marked = (during ?? '').split('\n').filter((l) => l.endsWith(staged.realCron?.marker ?? '?'));
    assert.equal(marked.length, 1, `one marked line while running:\n${during}`);
    assert.match(staged.realCron.marker, /^# coalmine-simulate \d+$/);
    assert.ok(marked[0].includes(join(staged.dir, 'xmrig')), marked[0]);
    assert.equal(during, `${fixture ?? ''}${marked[0]}\n`, 'only our line was added');
    assert.match(err, /removed our line from the real crontab/);
    assert.equal(crontabList(), fixture, 'the crontab is as it was, byte for byte (none if there was none)');
  }
});

test('simulate --real-crontab without crontab(1) on PATH fails before staging anything', {
  skip: process.platform !== 'linux' ? 'Linux only' : false,
}, () => {
  const r = spawnSync(process.execPath, [BIN, 'simulate', 'persistence', '--real-crontab', '--duration', '2s'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '/nonexistent' },
  });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /crontab: not found on PATH.*nothing was staged/);
  assert.equal(r.stdout, '');
});

test('simulate --sandbox: never the real root, never over an existing spool file; only what it added is removed', {
  skip: process.platform !== 'linux' ? 'stages processes read through /proc (Linux only)' : false,
  timeout: 60_000,
}, () => {
  const root = spawnSync(process.execPath, [BIN, 'simulate', 'persistence', '--sandbox', '/', '--duration', '1s'], {
    encoding: 'utf8',
  });
  assert.equal(root.status, 2, root.stderr);
  assert.match(root.stderr, /the sandbox is the real filesystem root.*nothing was staged/);

  const sandbox = mkdtempSync(join(tmpdir(), 'coalmine-sandbox-'));
  try {
    writeFileSync(join(sandbox, 'keep.txt'), 'theirs\n');
    const ok = spawnSync(
      process.execPath,
      [BIN, 'simulate', 'persistence', '--sandbox', sandbox, '--duration', '1s', '--json'],
      { encoding: 'utf8' },
    );
    assert.equal(ok.status, 0, ok.stderr);
    const staged = JSON.parse(ok.stdout.split('\n')[0]) as Staged;
    assert.ok(staged.cron?.file.startsWith(join(sandbox, 'var', 'spool', 'cron', 'crontabs')));
    assert.deepEqual(readdirSync(sandbox), ['keep.txt'], 'the directories it made are gone, the rest stays');

    mkdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs'), { recursive: true });
    writeFileSync(staged.cron?.file ?? '', '# theirs\n');
    const taken = spawnSync(
      process.execPath,
      [BIN, 'simulate', 'persistence', '--sandbox', sandbox, '--duration', '1s'],
      { encoding: 'utf8' },
    );
    assert.equal(taken.status, 2, taken.stderr);
    assert.match(taken.stderr, /exists; it is not ours to overwrite/);
    assert.equal(readFileSync(staged.cron?.file ?? '', 'utf8'), '# theirs\n');
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
});

test('after a kill -9 of simulate, the next run removes the temp dir and sandbox spool file the dead run left', {
  skip: process.platform !== 'linux' ? 'stages processes read through /proc (Linux only)' : false,
  timeout: 90_000,
}, async (t) => {
  // a private TMPDIR: the sweep sees only this test's runs
  const work = mkdtempSync(join(tmpdir(), 'coalmine-kill9-'));
  const tmp = join(work, 'tmp');
  const sandbox = join(work, 'sandbox');
  mkdirSync(tmp);
  mkdirSync(sandbox);
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const env = { ...process.env, TMPDIR: tmp };

  const first = startCli(['simulate', 'miner', 'persistence', '--sandbox', sandbox, '--duration', '60s', '--json'], {
    env,
  });
  const staged = JSON.parse(await first.firstLine()) as Staged;
  assert.ok(staged.dir.startsWith(tmp), staged.dir);
  assert.ok(staged.miner && alive(staged.miner.pid));
  first.child.kill('SIGKILL');
  await first.exited;
  // its miner follows it (stdin closes); no cleanup ran, so the dir and the spool file stay
  for (let i = 0; i < 50 && staged.miner && alive(staged.miner.pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(join(staged.dir, 'xmrig')), 'the dead run left its copy of node');
  assert.ok(existsSync(staged.cron?.file ?? ''), 'and its spool file');

  const second = spawnSync(
    process.execPath,
    [BIN, 'simulate', 'persistence', '--sandbox', sandbox, '--duration', '1s', '--json'],
    { encoding: 'utf8', env },
  );
  assert.equal(second.status, 0, second.stderr);
  const next = JSON.parse(second.stdout.split('\n')[0]) as Staged;
  assert.equal(existsSync(staged.dir), false, 'the leftover temp dir is gone');
  assert.equal(next.leftovers.length, 2, next.leftovers.join('\n'));
  const pid = first.child.pid;
  assert.match(second.stderr, new RegExp(`removed ${staged.dir}, left by simulate pid ${pid} \\(no longer running\\)`));
  assert.match(second.stderr, new RegExp(`removed ${staged.cron?.file}, left by simulate pid ${pid}`));
  assert.deepEqual(
    readdirSync(tmp).filter((n) => n.startsWith('coalmine-sim-')),
    [],
    'and the second run cleaned up after itself',
  );
  assert.deepEqual(readdirSync(sandbox), [], 'the sandbox is as it was before either run');
});

test('simulate container without a Docker daemon says it is skipped and why, stages nothing, and exits 0 at once', {
  skip:
    existsSync('/var/run/docker.sock') || process.env.DOCKER_HOST
      ? 'a Docker daemon may answer here (this test is for hosts without one)'
      : false,
}, () => {
  const started = Date.now();
  const r = spawnSync(process.execPath, [BIN, 'simulate', 'container', '--duration', '60s'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^nothing staged: the container behaviour is skipped \(no Docker daemon: \/var\/run\/docker\.sock does not exist\)$/m,
  );
  assert.ok(Date.now() - started < 30_000, 'it does not wait out --duration with nothing staged');
  const json = spawnSync(process.execPath, [BIN, 'simulate', 'container', '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const staged = JSON.parse(json.stdout.split('\n')[0]) as Staged;
  assert.deepEqual(staged.container, { skipped: 'no Docker daemon: /var/run/docker.sock does not exist' });
  assert.equal(existsSync(staged.dir), false, 'its temp dir is removed');
  // beside other behaviours it is one skipped line, and they are staged as before
  const mixed = spawnSync(process.execPath, [BIN, 'simulate', 'proxyware', 'container', '--duration', '2s'], {
    encoding: 'utf8',
  });
  assert.equal(mixed.status, 0, mixed.stderr);
  assert.match(mixed.stdout, /^ {2}container skipped: no Docker daemon/m);
  assert.match(mixed.stdout, /^ {2}proxyware pid \d+/m);
});

/** A stand-in `docker` CLI: logs its argv, answers version and ps, runs `run`'s command as a local child. */
const FAKE_DOCKER = `#!${process.execPath}
const { appendFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_DOCKER_LOG, JSON.stringify(args) + '\\n');
if (args[0] === 'version') { console.log('27.0.0'); process.exit(0); }
if (args[0] === 'ps') { process.stdout.write(process.env.FAKE_DOCKER_PS || ''); process.exit(0); }
if (args[0] === 'rm') process.exit(0);
if (args[0] === 'run') {
  if (process.env.FAKE_DOCKER_FAIL) { console.error('Unable to find image locally\\ndocker: Error response from daemon: pull access denied.'); process.exit(125); }
  const image = args.indexOf('node:20-alpine');
  const volume = args[args.indexOf('--volume') + 1].split(':');
  const inner = args.slice(image + 2).map((a) => (a === volume[1] ? volume[0] : a));
  process.exit(spawnSync(process.execPath, inner, { stdio: 'inherit' }).status ?? 1);
}
process.exit(1);
`;

test('simulate container with a Docker daemon: the burner runs network-less, bounded and labelled, and is removed by name; a failed run is reported', {
  skip: process.platform !== 'linux' ? 'Linux only' : false,
  timeout: 60_000,
}, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'coalmine-fakedocker-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
  const log = join(work, 'docker.log');
  // DOCKER_HOST set: the CLI is trusted to find its daemon, no socket file is needed
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    DOCKER_HOST: 'unix:///nonexistent.sock',
    FAKE_DOCKER_LOG: log,
  };
  const calls = () =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);

  const r = spawnSync(
    process.execPath,
    [BIN, 'simulate', 'container', '--duration', '2s', '--share', '0.5', '--json'],
    {
      encoding: 'utf8',
      env,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const staged = JSON.parse(r.stdout.split('\n')[0]) as Staged;
  const c = staged.container;
  assert.ok(c && !('skipped' in c), r.stdout);
  assert.match(c.name, /^coalmine-sim-\d+-/);
  assert.match(c.command_line, /^node \/sim\/burn\.mjs -o stratum\+tcp:\/\/127\.0\.0\.1:\d+ -u 4SIMULATED/);
  const run = calls().find((a) => a[0] === 'run');
  assert.ok(run);
  const opt = (name: string) => run[run.indexOf(name) + 1];
  assert.equal(opt('--network'), 'none');
  assert.equal(opt('--cpus'), '0.5');
  assert.equal(opt('--name'), c.name);
  assert.equal(opt('--user'), '65534:65534');
  assert.ok(run.includes('--rm') && run.includes('--read-only'));
  assert.match(opt('--label'), /^io\.coalmine\.simulate\.owner=\{"tool":"coalmine-simulate","pid":\d+,/);
  assert.deepEqual(calls().at(-1), ['rm', '--force', c.name], 'removed by name at cleanup');
  assert.match(r.stderr, /removed the container/);
  assert.doesNotMatch(r.stderr, /did not run/);

  // docker run fails (a pull refused): said at cleanup, exit 0 all the same
  writeFileSync(log, '');
  const failed = spawnSync(process.execPath, [BIN, 'simulate', 'container', '--duration', '2s'], {
    encoding: 'utf8',
    env: { ...env, FAKE_DOCKER_FAIL: '1' },
  });
  assert.equal(failed.status, 0, failed.stderr);
  assert.match(
    failed.stderr,
    /the container did not run: docker run exited with 125: docker: Error response from daemon: pull access denied\./,
  );

  // a container a killed run left (its owner gone) is removed before staging; a live owner's is not
  writeFileSync(log, '');
  const dead = `${'a'.repeat(12)}\t{"tool":"coalmine-simulate","pid":999999999,"start":"1"}\n`;
  const live = `${'b'.repeat(12)}\t{"tool":"coalmine-simulate","pid":${process.pid},"start":null}\n`;
  const swept = spawnSync(process.execPath, [BIN, 'simulate', 'container', '--duration', '1s', '--json'], {
    encoding: 'utf8',
    env: { ...env, FAKE_DOCKER_PS: dead + live },
  });
  assert.equal(swept.status, 0, swept.stderr);
  const removed = calls()
    .filter((a) => a[0] === 'rm')
    .map((a) => a[2]);
  assert.ok(removed.includes('a'.repeat(12)), removed.join(', '));
  assert.ok(!removed.includes('b'.repeat(12)), 'a running simulate keeps its container');
  assert.match(swept.stderr, /removed container a{12}, left by simulate pid 999999999 \(no longer running\)/);
});
