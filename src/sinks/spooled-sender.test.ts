import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Loopback } from '../../test/support/loopback.js';
import { freePort } from '../../test/support/postgres.js';
import {
  backoffDelay,
  parseRetryAfter,
  postOnce,
  retryDelay,
  type SenderOptions,
  SpooledSender,
  type SpoolItem,
} from './spooled-sender.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'coalmine-sender-'));
  dirs.push(d);
  return join(d, 'spool');
}

/** The smallest user: an item is a line of text in `<seq>.item`, its units the number in it. */
interface TextItem extends SpoolItem {
  text: string;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
}

/** A loopback receiver: every request's body and the answer it got; `answer` decides (undefined: reset). */
class Receiver extends Loopback {
  readonly seen: Array<{ text: string; status: number }> = [];
  answer: (text: string, nth: number) => Answer | undefined = () => ({ status: 200 });

  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const text = body.toString('utf8');
    const answer = this.answer(text, this.seen.filter((s) => s.text === text).length + 1);
    this.seen.push({ text, status: answer?.status ?? 0 });
    if (!answer) {
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(answer.status, answer.headers ?? {});
    res.end();
  }

  url(): URL {
    return new URL(`http://127.0.0.1:${this.port}/in`);
  }

  /** What it took (2xx), in order. */
  taken(): string[] {
    return this.seen.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.text);
  }
}

function sender(url: URL, dir: string, over: Partial<SenderOptions<TextItem>> = {}, issues: string[] = []) {
  return new SpooledSender<TextItem>({
    url,
    spoolDir: dir,
    timeoutMs: 1000,
    backoff: { baseMs: 5, capMs: 40 },
    maxSpoolBytes: 1024 * 1024,
    whenFull: 'refuse',
    maxRejected: 10,
    words: {
      name: 'test',
      counted: 'item(s)',
      plural: 'items',
      units: 'units',
      one: (item) => `item ${item.text}`,
      refusal: () => 'refused',
    },
    hooks: {
      recover: (name, bytes, read) => {
        const m = /^(\d+)\.item$/.exec(name);
        if (!m) return undefined;
        const text = read().toString('utf8');
        if (!/^\d+$/.test(text)) throw new Error('not a number');
        return { seq: Number(m[1]), file: name, bytes, units: Number(text), text };
      },
      request: (_item, data) => ({ url, headers: { 'content-type': 'text/plain' }, body: data }),
    },
    onIssue: (t) => issues.push(t),
    ...over,
  });
}

function add(s: SpooledSender<TextItem>, text: string) {
  return s.add((seq) => ({
    item: { seq, file: `${seq}.item`, units: Number(text), text },
    data: Buffer.from(text),
  }));
}

test('backoff: doubles from baseMs per failure in a row up to capMs, jittered between half and all of it', () => {
  const backoff = { baseMs: 100, capMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 60, 2000].map((f) => backoffDelay(f, backoff, () => 1)),
    [100, 200, 400, 800, 1000, 1000, 1000, 1000],
  );
  assert.deepEqual(
    [1, 2, 5].map((f) => backoffDelay(f, backoff, () => 0)),
    [50, 100, 500],
  );
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, backoff);
    assert.ok(d >= 200 && d <= 400, String(d));
  }
});

test('Retry-After: delay-seconds or an HTTP-date; anything else, or a value longer than a date, is not read', () => {
  const now = Date.parse('2026-03-01T10:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 01 Mar 2026 10:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Sun, 01 Mar 2026 09:00:00 GMT', now), 0, 'a date passed: now');
  for (const bad of [undefined, '', '1.5', '-3', '0x10', '1e3', 'soon', `${'9'.repeat(70)}`, `Sun, ${'x'.repeat(80)}`])
    assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
});

test('retry delay: at least what a Retry-After asks, never past capMs; the backoff when none asked', () => {
  const backoff = { baseMs: 10, capMs: 5000 };
  const retry = (retryAfterMs?: number) =>
    ({
      kind: 'retry',
      why: 'HTTP 503',
      reached: true,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    }) as const;
  assert.equal(retryDelay(1, retry(3000), backoff), 3000);
  assert.equal(retryDelay(1, retry(86_400_000), backoff), 5000, 'a receiver cannot park us for a day');
  assert.ok(retryDelay(1, retry(), backoff) <= 10);
  assert.ok(retryDelay(1, retry(0), backoff) <= 10, 'a Retry-After shorter than the backoff does not hurry it');
});

test('postOnce: Retry-After is read from a 429 or 503 only; 401/403 unauthorized; another 4xx but 408/429 rejected', async () => {
  const rx = new Receiver();
  const answers: Answer[] = [
    { status: 429, headers: { 'retry-after': '7' } },
    { status: 503, headers: { 'retry-after': '2' } },
    { status: 500, headers: { 'retry-after': '9' } },
    { status: 408 },
    { status: 401 },
    { status: 403 },
    { status: 404 },
    { status: 422 },
    { status: 204 },
  ];
  let n = 0;
  rx.answer = () => answers[n++];
  await rx.up();
  try {
    const outcomes = [];
    for (let i = 0; i < answers.length; i++)
      outcomes.push(await postOnce({ url: rx.url(), headers: {}, body: Buffer.from('x'), timeoutMs: 2000 }).outcome);
    assert.deepEqual(outcomes, [
      { kind: 'retry', why: 'HTTP 429', reached: true, retryAfterMs: 7000 },
      { kind: 'retry', why: 'HTTP 503', reached: true, retryAfterMs: 2000 },
      { kind: 'retry', why: 'HTTP 500', reached: true },
      { kind: 'retry', why: 'HTTP 408', reached: true },
      { kind: 'unauthorized', status: 401 },
      { kind: 'unauthorized', status: 403 },
      { kind: 'reject', status: 404 },
      { kind: 'reject', status: 422 },
      { kind: 'ok' },
    ]);
  } finally {
    await rx.down();
  }
});

test('sender: a receiver that fails, resets and asks for a long Retry-After, across a restart of the sender — every item taken, once each, in spool order', async () => {
  const rx = new Receiver();
  // each item is failed twice in one of three ways first; the Retry-After (an hour) is held to capMs
  rx.answer = (text, nth) =>
    nth > 2
      ? { status: 202 }
      : Number(text) % 3 === 0
        ? { status: 503, headers: { 'retry-after': '3600' } }
        : Number(text) % 3 === 1
          ? undefined
          : { status: 500 };
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const first = sender(rx.url(), dir, {}, issues);
  for (let i = 1; i <= 10; i++) assert.equal(add(first, String(i)), 'spooled');
  const deadline = Date.now() + 5000;
  while (first.stats.sent < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const left = await first.close();
  assert.ok(left > 0 && left < 10, `${left} left`);
  const second = sender(rx.url(), dir, {}, issues);
  for (let i = 11; i <= 15; i++) add(second, String(i));
  try {
    assert.equal(await second.flush(10_000), true, issues.join('\n'));
    // at least once, in order: only the one in flight when the first sender closed can be taken twice
    assert.deepEqual(
      [...new Set(rx.taken())],
      Array.from({ length: 15 }, (_, i) => String(i + 1)),
    );
    assert.ok(rx.taken().length <= 16, rx.taken().join(' '));
    // a 2xx the closing sender never read is not counted by it: each item counted taken once
    assert.equal(first.stats.sent + second.stats.sent, 15);
    assert.equal(first.stats.sentUnits + second.stats.sentUnits, 120, 'units counted with the items');
    assert.ok(issues.some((t) => t.startsWith(`test: replaying ${left} item(s) (`)));
    assert.ok(issues.some((t) => /takes items again/.test(t)));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    await second.close();
    await rx.down();
  }
});

test('sender: a 4xx that will never succeed is moved to rejected/ and counted with its units; 401 stops sending, said once', async () => {
  const rx = new Receiver();
  rx.answer = (text) => ({ status: text === '2' ? 422 : text === '4' ? 401 : 200 });
  await rx.up();
  const dir = spoolDir();
  const issues: string[] = [];
  const s = sender(rx.url(), dir, {}, issues);
  try {
    for (const text of ['1', '2', '3', '4', '5']) add(s, text);
    assert.equal(await s.flush(5000), false, 'stopped at the refusal');
    assert.deepEqual(rx.taken(), ['1', '3']);
    assert.equal(s.refused, 401);
    const { rejected, rejectedUnits, pending, pendingUnits } = s.stats;
    assert.deepEqual(
      { rejected, rejectedUnits, pending, pendingUnits },
      {
        rejected: 1,
        rejectedUnits: 2,
        pending: 2,
        pendingUnits: 9,
      },
    );
    assert.deepEqual(readdirSync(join(dir, 'rejected')), ['2.item']);
    assert.equal(issues.filter((t) => t.includes('HTTP 401')).length, 1);
    assert.ok(issues.some((t) => t.includes('item 2 with HTTP 422') && t.includes('rejected')));
    assert.ok(issues.some((t) => t.includes('sending stopped, 2 item(s) (9 units) kept')));
  } finally {
    await s.close();
    await rx.down();
  }
});

test('sender: a full spool refuses new items (refuse) or drops the oldest but never the one in flight (drop-oldest), counted', async () => {
  // nothing listens there: every item fails alike
  const url = new URL(`http://127.0.0.1:${await freePort()}/in`);
  const refusing = sender(url, spoolDir(), { maxSpoolBytes: 3 });
  const dropping = sender(url, spoolDir(), { maxSpoolBytes: 3, whenFull: 'drop-oldest' });
  try {
    assert.deepEqual(
      ['1', '2', '3', '4', '5'].map((t) => add(refusing, t)),
      ['spooled', 'spooled', 'spooled', 'refused', 'refused'],
    );
    assert.equal(refusing.stats.refused, 2);
    assert.equal(refusing.stats.refusedUnits, 9);
    for (const t of ['1', '2', '3', '4', '5']) assert.equal(add(dropping, t), 'spooled');
    // 1 went to the receiver at once and is in flight: 2 and 3 made room for 4 and 5
    assert.deepEqual(
      { dropped: dropping.stats.dropped, droppedUnits: dropping.stats.droppedUnits },
      { dropped: 2, droppedUnits: 5 },
    );
    assert.deepEqual(readdirSync(dropping.spool).sort(), ['1.item', '4.item', '5.item']);
  } finally {
    await refusing.close();
    await dropping.close();
  }
});

test('sender: an unreadable file at start is moved to rejected/ and counted; one gone before it is sent is skipped and said', async () => {
  const rx = new Receiver();
  const port = await freePort();
  const dir = spoolDir();
  const issues: string[] = [];
  const down = new URL(`http://127.0.0.1:${port}/in`);
  const first = sender(down, dir, {}, issues);
  add(first, '1');
  add(first, '2');
  await first.close();
  writeFileSync(join(dir, '7.item'), 'not a number');
  writeFileSync(join(dir, 'notes.txt'), 'not ours: left alone');
  // 1 is replayed and retried while the receiver is down; an operator deletes its file meanwhile
  const second = sender(down, dir, {}, issues);
  assert.equal(second.stats.pending, 2);
  unlinkSync(join(dir, '1.item'));
  await rx.up(port);
  try {
    assert.equal(await second.flush(5000), true);
    assert.deepEqual(rx.taken(), ['2']);
    assert.equal(second.stats.rejected, 1);
    assert.deepEqual(readdirSync(join(dir, 'rejected')), ['7.item']);
    assert.ok(existsSync(join(dir, 'notes.txt')));
    assert.ok(issues.some((t) => t.includes('unreadable spool file') && t.includes('not a number')));
    assert.ok(issues.some((t) => t.includes('the spool file of item 1 is gone') && t.includes('skipped')));
  } finally {
    await second.close();
    await rx.down();
  }
});
