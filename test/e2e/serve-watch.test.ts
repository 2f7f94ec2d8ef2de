// run-tests: alone (a live watch samples /proc: CPU another test burns is seen)
/**
 * `watch --server` / `watch --webhook` into a real `coalmine serve`, what is not the happy path (that is
 * serve-watch-simulate.test.ts): a token serve refuses is said once and what is held stays spooled; the
 * telemetry a sensor holds while serve is down reaches it once it is back; the
 * environment's token goes only to a serve; the usage errors of the flags. No token is ever printed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

function tokenFor(store: string, name: string, role: string): string {
  const made = runCli(['serve', 'token', 'create', '--name', name, '--role', role, '--store', store]);
  assert.equal(made.code, 0, made.stderr);
  return made.stdout.trim();
}

test('watch into serve with a token serve refuses (a viewer token): --server and --webhook each say so once and keep what they hold; the token is never printed', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 60_000,
}, async () => {
  const store = join(work, 'refused.db');
  const viewer = tokenFor(store, 'viewer', 'viewer');
  const serve = startCli(['serve', '--listen', '127.0.0.1:0', '--store', store], { cwd: work });
  children.push(serve.child);
  const url = await serve.firstLine();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, serve.err());
  const sandbox = join(work, 'sandbox-refused');
  mkdirSync(sandbox, { recursive: true });
  const common = ['watch', '--interval', '0.5', '--duration', '4s', '--root', sandbox];
  // --server: telemetry goes every sample, so the server answers 403 within the run
  const viaServer = runCli([...common, '--spool', join(work, 'spool-s'), '--server', url, '--token', viewer]);
  assert.equal(viaServer.code, 0, viaServer.stderr);
  const refusals = viaServer.stderr.split('\n').filter((l) => l.includes('HTTP 403'));
  assert.equal(refusals.length, 1, viaServer.stderr);
  assert.match(refusals[0], /refuses our token .*not a sensor token.*sending stopped/);
  assert.match(viaServer.stderr, /server: 0 events sent in 0 batches, [1-9]\d* batches \([1-9]\d* events\) left/);
  // --webhook: one finding revision to deliver, made by hand in its spool as a crash would leave it
  const spool = join(work, 'spool-w');
  mkdirSync(spool, { recursive: true });
  const key = 'cm-0000000000000000#1';
  writeFileSync(
    join(spool, 'left.json'),
    `${JSON.stringify({ v: 1, seq: 1, key, body: { id: 'cm-0000000000000000', revision: 1 } })}\n`,
  );
  const viaWebhook = runCli([
    ...common,
    '--spool',
    spool,
    '--webhook',
    new URL('/api/v1/findings', url).toString(),
    '--webhook-token',
    viewer,
  ]);
  assert.equal(viaWebhook.code, 0, viaWebhook.stderr);
  assert.equal(viaWebhook.stderr.split('\n').filter((l) => l.includes('HTTP 403')).length, 1, viaWebhook.stderr);
  // the revision made by hand is kept; the sensor may have spooled findings of its own (it reads this
  // host's /proc, where another run's simulated miner can be running), and none of those went either
  assert.match(viaWebhook.stderr, /webhook: 0 delivered, [1-9]\d* left/);
  assert.ok(existsSync(join(spool, 'left.json')), 'the revision waits in the spool');
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0, serve.err());
  for (const text of [viaServer.stdout, viaServer.stderr, viaWebhook.stdout, viaWebhook.stderr, serve.err()])
    assert.ok(!text.includes(viewer), 'the token is never printed');
});

test('watch --server across a serve that is SIGKILLed and comes back: every batch the sensor sampled is in the ingest log after, once each (one whose answer the kill cut off is sent again under its Idempotency-Key and not logged twice), none missing', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 90_000,
}, async () => {
  const store = join(work, 'restart.db');
  const sensor = tokenFor(store, 'restart-sensor', 'sensor');
  // a port of our own, so the restarted server is where the sensor sends
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const startServe = () => {
    const s = startCli(['serve', '--listen', `127.0.0.1:${port}`, '--store', store], { cwd: work });
    children.push(s.child);
    return s;
  };
  let serve = startServe();
  const url = await serve.firstLine();
  assert.equal(url, `http://127.0.0.1:${port}/`, serve.err());
  const sandbox = join(work, 'sandbox-restart');
  mkdirSync(sandbox, { recursive: true });
  const watch = startCli([
    'watch',
    '--interval',
    '0.5',
    '--duration',
    '12s',
    '--root',
    sandbox,
    '--spool',
    join(work, 'spool-restart'),
    '--server',
    url,
    '--token',
    sensor,
  ]);
  children.push(watch.child);
  await new Promise((r) => setTimeout(r, 4000));
  serve.child.kill('SIGKILL');
  await serve.exited;
  // down for a few samples: the sensor keeps them in its spool and retries
  await new Promise((r) => setTimeout(r, 3000));
  serve = startServe();
  assert.equal(await serve.firstLine(), url, serve.err());
  assert.equal(await watch.exited, 0, watch.err());
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0, serve.err());
  const sent = /server: (\d+) events sent in (\d+) batches, 0 batches \(0 events\) left/.exec(watch.err());
  assert.ok(sent, watch.err());
  assert.match(watch.err(), /did not take batch \d+ .*retrying/, 'the outage was seen');
  assert.match(watch.err(), /takes batches again/);

  const { openStore } = await import('../../src/store/index.js');
  const opened = await openStore(store);
  const names = new Map<string, number>();
  try {
    for (let afterSeq = 0; ; ) {
      const page = await opened.ingest.newerThan(0, { afterSeq, limit: 500 });
      if (page.length === 0) break;
      for (const e of page) names.set(e.name, (names.get(e.name) ?? 0) + 1);
      afterSeq = page[page.length - 1].seq;
    }
  } finally {
    await opened.close();
  }
  const batches = [...names.keys()].map((n) => Number(/\/batch-(\d+)$/.exec(n)?.[1])).sort((a, b) => a - b);
  // a batch whose 202 the kill cut off is sent again under the same Idempotency-Key: serve answers it
  // from the log without logging it again, so every batch is there exactly once, and none is missing
  assert.deepEqual(
    batches,
    Array.from({ length: Number(sent[2]) }, (_, i) => i + 1),
    `batches 1..${sent[2]} each in the log: ${[...names].join(', ')}`,
  );
  assert.deepEqual(
    [...names].filter(([, n]) => n > 1),
    [],
    'no batch logged twice',
  );
});

test('watch --webhook: COALMINE_TOKEN goes only to a coalmine serve (/api/v1/findings), never to another receiver named on the line', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: 60_000,
}, async () => {
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  const receiver = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  const spoolWith = (name: string) => {
    const spool = join(work, name);
    mkdirSync(spool, { recursive: true });
    writeFileSync(
      join(spool, 'left.json'),
      `${JSON.stringify({ v: 1, seq: 1, key: `${name}#1`, body: { id: name, revision: 1 } })}\n`,
    );
    return spool;
  };
  const env = { ...process.env, COALMINE_TOKEN: 'cm_from_the_environment' };
  for (const [path, spool] of [
    ['/hook', spoolWith('other')],
    ['/api/v1/findings', spoolWith('serve')],
  ]) {
    const watch = startCli(
      [
        'watch',
        '--interval',
        '0.5',
        '--duration',
        '2s',
        '--root',
        work,
        '--spool',
        spool,
        '--webhook',
        `http://127.0.0.1:${port}${path}`,
      ],
      { env },
    );
    children.push(watch.child);
    assert.equal(await watch.exited, 0, watch.err());
  }
  receiver.close();
  assert.deepEqual(seen, [
    { path: '/hook', authorization: undefined },
    { path: '/api/v1/findings', authorization: 'Bearer cm_from_the_environment' },
  ]);
});

test('watch --server/--webhook: a usage error with the reason without a token, with a token for neither, or with a URL that is not a base', {
  skip: process.platform !== 'linux' ? 'watch runs on Linux only' : false,
}, () => {
  const cases: Array<[string[], RegExp]> = [
    [['--server', 'http://127.0.0.1:1/'], /--server needs --token/],
    [['--token', 'cm_x'], /--token is for --server/],
    [['--webhook-token', 'cm_x'], /--webhook-token is for --webhook/],
    [['--webhook', 'http://127.0.0.1:1/', '--webhook-token', 'cm x\r\nX-Evil: 1'], /printable ASCII/],
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
