/**
 * `hunt --webhook` through the real CLI, as a scheduled hunt uses it: each unsuppressed finding is POSTed
 * once (spooled first, idempotency-key ID#REVISION), and the next run over the same logs sends nothing
 * it already reported unchanged. The token goes where the flags say and nowhere else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { Loopback } from '../support/loopback.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-hunt-webhook-'));
after(() => rmSync(dir, { recursive: true, force: true }));

class Receiver extends Loopback {
  readonly arrivals: Array<{ key: string | undefined; auth: string | undefined; body: Record<string, unknown> }> = [];
  protected handle(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer): void {
    const key = req.headers['idempotency-key'];
    this.arrivals.push({
      key: typeof key === 'string' ? key : undefined,
      auth: req.headers.authorization,
      body: JSON.parse(data.toString('utf8')) as Record<string, unknown>,
    });
    res.writeHead(200).end('{}');
  }
}

async function hunt(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const run = startCli(['hunt', 'examples/kinsing-like', '--format', 'ndjson', '--no-progress', ...args], {
    env: { ...process.env, COALMINE_TOKEN: 'cm_env_secret' },
  });
  const code = await run.exited;
  return { code, stderr: run.err() };
}

test('hunt --webhook: each finding once, spooled first; the next run over the same logs sends nothing unchanged', async () => {
  const receiver = new Receiver();
  const port = await receiver.up();
  after(() => receiver.down());
  const spool = join(dir, 'spool');
  const url = `http://127.0.0.1:${port}/hooks/coalmine`;

  const first = await hunt(['--webhook', url, '--webhook-token', 'cm_flag_token', '--spool', spool]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(receiver.arrivals.length, 1, first.stderr);
  const [a] = receiver.arrivals;
  assert.match(a.key ?? '', /^cm-[0-9a-f]{16}#1$/);
  assert.equal(a.body.dedupe_key, a.key);
  assert.equal(a.body.analytic, 'AN0742');
  assert.equal(a.body.revision, 1);
  assert.equal(a.auth, 'Bearer cm_flag_token');
  assert.match(first.stderr, /\nwebhook: 1 new report, 0 unchanged since sent; 1 delivered, 0 left in /);

  // tomorrow's scheduled run over the same logs: nothing new to say; and COALMINE_TOKEN never goes to a receiver that is not serve
  const again = await hunt(['--webhook', url, '--spool', spool]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(receiver.arrivals.length, 1);
  assert.match(again.stderr, /\nwebhook: 0 new reports, 1 unchanged since sent; 0 delivered, 0 left in /);
  assert.ok(!again.stderr.includes('cm_'), 'no token is printed');
});

test('hunt --webhook: a bad URL or a stray --webhook-token is a usage error naming the flag', () => {
  const bad = runCli(['hunt', 'examples/kinsing-like', '--webhook', 'ftp://x.test/', '--no-progress']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--webhook must be an http:\/\/ or https:\/\/ URL/);
  const stray = runCli(['hunt', 'examples/kinsing-like', '--webhook-token', 'cm_x', '--no-progress']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--webhook-token is for --webhook/);
});
