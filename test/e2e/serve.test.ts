/**
 * `coalmine serve` end to end: `serve token create` prints only the secret, `serve` started as a child
 * prints its URL, answers a request made with that token, and exits 0 on SIGTERM (and SIGINT); the
 * same over TLS (Secure, __Host- session cookie) and on a PostgreSQL store.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { pgSkipReason, startPostgres } from '../support/postgres.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'coalmine-serve-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = /^cm_[A-Za-z0-9_-]{43}\n$/;

async function serveAndAsk(store: string, signal: NodeJS.Signals) {
  const made = runCli(['serve', 'token', 'create', '--name', 'ops', '--role', 'analyst', '--store', store]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, SECRET, 'only the secret on stdout');
  assert.match(made.stderr, /shown once/);
  const secret = made.stdout.trim();
  const server = startCli(['serve', '--listen', '127.0.0.1:0', '--store', store], { cwd: dir });
  try {
    const url = await server.firstLine();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, server.err());
    const me = await fetch(new URL('/api/v1/session', url), { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), {
      name: 'ops',
      role: 'analyst',
      via: 'bearer',
      csrf_token: null,
      expires_at: null,
    });
    const none = await fetch(new URL('/api/v1/cases', url));
    assert.equal(none.status, 401);
    server.child.kill(signal);
    assert.equal(await server.exited, 0, server.err());
    assert.match(server.err(), /stopped/);
    assert.doesNotMatch(server.err(), new RegExp(secret), 'the secret is never logged');
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
}

test('token create, then serve on SQLite: a request with the printed token, SIGTERM exits 0', async () => {
  await serveAndAsk(join(dir, 'a.db'), 'SIGTERM');
});

test('SIGINT closes cleanly too', async () => {
  await serveAndAsk(join(dir, 'b.db'), 'SIGINT');
});

test('usage errors: a bad role, a bad --listen, --tls-cert without --tls-key', () => {
  const badRole = runCli(['serve', 'token', 'create', '--name', 'x', '--role', 'root', '--store', join(dir, 'c.db')]);
  assert.equal(badRole.code, 2);
  assert.equal(badRole.stdout, '');
  assert.equal(runCli(['serve', '--listen', 'nowhere', '--store', join(dir, 'c.db')]).code, 2);
  const half = runCli(['serve', '--tls-cert', 'x.pem', '--store', join(dir, 'c.db')]);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /go together/);
});

const openssl = spawnSync('openssl', ['version']).status === 0;

test('over TLS: https, and the console cookie is Secure with the __Host- prefix', {
  skip: openssl ? undefined : 'no openssl to make a certificate',
}, async () => {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const store = join(dir, 'tls.db');
  const secret = runCli([
    'serve',
    'token',
    'create',
    '--name',
    'ops',
    '--role',
    'admin',
    '--store',
    store,
  ]).stdout.trim();
  const server = startCli(['serve', '--listen', '127.0.0.1:0', '--store', store, '--tls-cert', cert, '--tls-key', key]);
  try {
    const url = await server.firstLine();
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/$/, server.err());
    const body = JSON.stringify({ token: secret });
    const answer = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = request(
        new URL('/api/v1/session', url),
        {
          method: 'POST',
          ca: readFileSync(cert),
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie']) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(answer.status, 200);
    assert.match(answer.cookie, /^__Host-coalmine_session=[A-Za-z0-9_-]{43};/);
    assert.match(answer.cookie, /; Secure/);
    assert.match(answer.cookie, /HttpOnly/);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.err());
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
});

test('on PostgreSQL: the same', { skip: pgSkipReason }, async () => {
  const pg = await startPostgres();
  try {
    await serveAndAsk(pg.url, 'SIGTERM');
  } finally {
    await pg.stop();
  }
});
