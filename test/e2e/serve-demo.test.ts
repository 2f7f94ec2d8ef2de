/**
 * `coalmine serve --demo` end to end: the child prints its URL and an admin token on stdout, the
 * bundled kinsing-like example becomes a high AN0742 case through the ingest route, SIGTERM exits 0
 * and removes the temporary store; with --store the store is the one given, and kept.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { runCli, startCli } from '../support/cli.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'coalmine-serve-demo-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Generous: the pipeline stores findings at its 5 s tick, and the suite runs under load. */
const CASE_WAIT_MS = 60_000;

interface CaseSummary {
  id: string;
  severity: string;
  title: string;
}

async function stdoutLines(out: () => string, exited: () => boolean, count: number): Promise<string[]> {
  const deadline = Date.now() + CASE_WAIT_MS;
  while (out().split('\n').length <= count && !exited() && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  return out().split('\n').slice(0, count);
}

async function caseOfExample(url: string, token: string): Promise<CaseSummary | undefined> {
  const deadline = Date.now() + CASE_WAIT_MS;
  while (Date.now() < deadline) {
    const r = await fetch(new URL('/api/v1/cases', url), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, await r.clone().text());
    const { items } = (await r.json()) as { items: CaseSummary[] };
    const found = items.find((c) => /kdevtmpfsi/.test(c.title));
    if (found) return found;
    await new Promise((res) => setTimeout(res, 500));
  }
  return undefined;
}

async function demo(args: string[]) {
  const server = startCli(['serve', '--demo', '--listen', '127.0.0.1:0', ...args], {
    cwd: dir,
    env: { ...process.env, TMPDIR: dir },
  });
  try {
    const [url, tokenLine] = await stdoutLines(server.out, () => server.child.exitCode !== null, 2);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, server.err());
    const token = /^token: (cm_[A-Za-z0-9_-]{43})$/.exec(tokenLine)?.[1];
    assert.ok(token, `a token line on stdout: ${JSON.stringify(tokenLine)}`);
    const found = await caseOfExample(url, token);
    assert.ok(found, `the kinsing-like case within ${CASE_WAIT_MS} ms; stderr: ${server.err()}`);
    assert.equal(found.severity, 'high');
    const detail = await fetch(new URL(`/api/v1/cases/${found.id}`, url), {
      headers: { authorization: `Bearer ${token}` },
    });
    const { findings } = (await detail.json()) as { findings: { analytic: string; host: string }[] };
    assert.ok(
      findings.some((f) => f.analytic === 'AN0742' && f.host === 'web-01'),
      JSON.stringify(findings),
    );
    // the token is an admin's: it may make tokens
    const me = await fetch(new URL('/api/v1/session', url), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(((await me.json()) as { role: string }).role, 'admin');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.err());
    assert.match(server.err(), /stopped/);
    assert.doesNotMatch(server.err(), new RegExp(token), 'the secret is only on stdout');
    assert.equal(server.out(), `${url}\ntoken: ${token}\n`, 'stdout is the URL and the token line, nothing else');
    return { stderr: server.err(), caseId: found.id };
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
}

test('serve --demo: URL and admin token on stdout, the kinsing-like example a high AN0742 case, SIGTERM exits 0 and removes the temporary store', async () => {
  const { stderr } = await demo([]);
  assert.match(stderr, /4 of 4 example files ingested/);
  assert.match(stderr, /; console and API at http:\/\/127\.0\.0\.1:\d+\/ \(API http:\/\/127\.0\.0\.1:\d+\/api\/v1,/);
  assert.match(stderr, /temporary: removed on stop/);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('coalmine-demo-')),
    [],
    'the temporary store is gone',
  );
});

test('serve --demo --store PATH: that store is used and kept', async () => {
  const store = join(dir, 'kept.db');
  const first = await demo(['--store', store]);
  assert.doesNotMatch(first.stderr, /temporary/);
  assert.ok(existsSync(store), 'the store given is kept');
  // a second demo on the same store: the same case, not another
  const second = await demo(['--store', store]);
  assert.equal(second.caseId, first.caseId);
  const kept = await openStore(store);
  try {
    assert.equal((await kept.cases.list()).items.length, 1, 'the examples sent again are duplicates');
  } finally {
    await kept.close();
  }
});

test('serve --demo with --tls-cert: a usage error with the reason', () => {
  const r = runCli(['serve', '--demo', '--tls-cert', 'x.pem', '--tls-key', 'y.pem', '--listen', '127.0.0.1:0']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /--demo serves plain HTTP/);
});
