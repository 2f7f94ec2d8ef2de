/**
 * `watch --server URL --token T` into a real `coalmine serve`: the finding on a miner `coalmine
 * simulate` stages reaches the server's /api/v1/findings with the sensor token and becomes a case an
 * analyst reads at GET /api/v1/cases; the token never appears in watch's output. And the usage errors
 * of the flags: --server with --webhook, --server without a token.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli, startCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-serve-watch-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** The watch e2e tests are slow under load: sustain is 20 s, and the suite shares two cores. */
const CASE_WAIT_MS = 120_000;

function tokenFor(store: string, name: string, role: string): string {
  const made = runCli(['serve', 'token', 'create', '--name', name, '--role', role, '--store', store]);
  assert.equal(made.code, 0, made.stderr);
  return made.stdout.trim();
}

interface CaseSummary {
  id: string;
  title: string;
  findings: string[];
}

test('watch --server --token: the simulated miner becomes a case on the server; the token is never printed', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: CASE_WAIT_MS + 60_000,
}, async () => {
  const store = join(work, 'serve.db');
  const sensor = tokenFor(store, 'watch-sensor', 'sensor');
  const analyst = tokenFor(store, 'analyst', 'analyst');
  const serve = startCli(['serve', '--listen', '127.0.0.1:0', '--store', store], { cwd: work });
  children.push(serve.child);
  const url = await serve.firstLine();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, serve.err());

  // persistence places of an empty sandbox root, not this machine's /
  const sandbox = join(work, 'sandbox');
  mkdirSync(sandbox, { recursive: true });
  const policy = join(work, 'policy.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 50\n');
  const watch = startCli([
    'watch',
    '--interval',
    '1',
    '--sustain',
    '20s',
    '--duration',
    `${Math.round(CASE_WAIT_MS / 1000) + 20}s`,
    '--root',
    sandbox,
    '--policy',
    policy,
    '--spool',
    join(work, 'spool'),
    '--server',
    url,
    '--token',
    sensor,
  ]);
  children.push(watch.child);
  await new Promise((r) => setTimeout(r, 3000));
  const sim = startCli(['simulate', 'miner', '--duration', '90s', '--json']);
  children.push(sim.child);
  const staged = JSON.parse(await sim.firstLine()) as { miner: { executable: string } };

  const headers = { authorization: `Bearer ${analyst}` };
  const deadline = Date.now() + CASE_WAIT_MS;
  let found: CaseSummary | undefined;
  while (!found && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const r = await fetch(new URL('/api/v1/cases', url), { headers });
    assert.equal(r.status, 200);
    for (const c of ((await r.json()) as { items: CaseSummary[] }).items) {
      for (const id of c.findings) {
        const f = await fetch(new URL(`/api/v1/findings/${encodeURIComponent(id)}`, url), { headers });
        const text = await f.text();
        if (f.status === 200 && text.includes(JSON.stringify(staged.miner.executable))) found = c;
      }
    }
  }
  watch.child.kill('SIGINT');
  await watch.exited;
  sim.child.kill('SIGTERM');
  await sim.exited;
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0, serve.err());
  assert.ok(
    found,
    `no case on the simulated miner within ${CASE_WAIT_MS} ms\nwatch stdout:\n${watch.out()}\nwatch stderr:\n${watch.err()}\nserve stderr:\n${serve.err()}`,
  );
  assert.match(watch.err(), /server: [1-9]\d* delivered/);
  for (const text of [watch.out(), watch.err(), serve.err()])
    assert.doesNotMatch(text, new RegExp(sensor), 'the token is never printed');
});

test('watch --server: a usage error with the reason beside --webhook, without a token, or with a URL that is not a base', {
  skip: process.platform !== 'linux' ? 'watch runs on Linux only' : false,
}, () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--server', 'http://127.0.0.1:1/', '--token', 'cm_x', '--webhook', 'http://127.0.0.1:2/'],
      /--server and --webhook/,
    ],
    [['--server', 'http://127.0.0.1:1/'], /--server needs --token/],
    [['--token', 'cm_x'], /--token is for --server/],
    [['--server', 'ftp://127.0.0.1/', '--token', 'cm_x'], /http:\/\/ or https:\/\//],
    [['--server', 'http://127.0.0.1:1/?a=b', '--token', 'cm_x'], /without query/],
    [['--server', 'http://me:secret@127.0.0.1:1/', '--token', 'cm_x'], /no credentials/],
    [['--server', 'http://127.0.0.1:1/', '--token', 'cm x\r\nX-Evil: 1'], /printable ASCII/],
  ];
  for (const [args, reason] of cases) {
    const r = runCli(['watch', '--duration', '1s', '--no-status', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr, /secret|X-Evil/, 'neither the password nor the token is echoed');
  }
});
