/**
 * The event stream over real sockets against a real server and SQLite store: a case moved through the
 * API arrives as a `case` event on a Bearer stream and on a console session's stream; Last-Event-ID
 * resumes from the ring or answers `reset`; auth; the cap on open streams; keep-alive comments; a client
 * that stops reading is dropped; HEAD; and close() ends open streams instead of hanging on them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Case } from '../../model/finding.js';
import { defaultPolicy } from '../../model/policy.js';
import { openStore, type Store } from '../../store/index.js';
import { type CoalmineServer, createServer } from '../app.js';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
}

/** A real client of one stream: the response, and the events parsed as they come (comments kept apart). */
class StreamClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  private buffered = '';
  private waiters: (() => void)[] = [];
  ended = false;

  constructor(
    readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (text: string) => this.take(text));
    res.on('end', () => this.finish());
    res.on('close', () => this.finish());
  }

  private finish() {
    this.ended = true;
    for (const w of this.waiters.splice(0)) w();
  }

  private take(text: string) {
    this.buffered += text;
    let end = this.buffered.indexOf('\n\n');
    while (end >= 0) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      const event: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line);
        else {
          const colon = line.indexOf(':');
          const field = line.slice(0, colon) as keyof SseEvent;
          event[field] = line.slice(colon + 2);
        }
      }
      if (Object.keys(event).length > 0) this.events.push(event);
      end = this.buffered.indexOf('\n\n');
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `test` holds (checked on every arrival), failing after `ms`. */
  async until(test: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (this.ended) assert.fail(`the stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no ${what} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    this.req.destroy();
  }
}

function open(base: URL, headers: Record<string, string>, method = 'GET'): Promise<StreamClient | IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/api/v1/stream', base), { method, headers }, (res) => {
      if (res.statusCode === 200 && method === 'GET') resolve(new StreamClient(req, res));
      else resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
}

async function stream(base: URL, headers: Record<string, string>): Promise<StreamClient> {
  const r = await open(base, headers);
  assert.ok(r instanceof StreamClient, `a stream, not ${(r as IncomingMessage).statusCode}`);
  return r;
}

const grouped = (id: string): Case => ({
  id,
  title: `case ${id}`,
  severity: 'high',
  tier: 'Tier 2',
  status: 'new',
  hosts: ['web-1'],
  entities: [],
  campaign: { destinations: [], executables: [], hashes: [] },
  findings: [`cm-${id}`],
  first_seen: '2025-03-14T02:00:00.000Z',
  last_seen: '2025-03-14T03:00:00.000Z',
  core_hours: 1,
  cost: null,
  currency: null,
});

let dir: string;
let store: Store;
let app: CoalmineServer;
let base: URL;
let viewer: string;
let analyst: string;
let sensor: string;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'coalmine-stream-'));
  store = await openStore(join(dir, 'c.db'));
  viewer = (await store.tokens.create({ name: 'viewer-v', role: 'viewer', actor: 't' })).secret;
  analyst = (await store.tokens.create({ name: 'analyst-a', role: 'analyst', actor: 't' })).secret;
  sensor = (await store.tokens.create({ name: 'sensor-s', role: 'sensor', actor: 't' })).secret;
  for (const id of ['case-1', 'case-2']) await store.cases.create(grouped(id), { actor: 't' });
  app = createServer({ store, policy: defaultPolicy(), stream: { keepAliveMs: 100, maxStreams: 3 } });
  base = await app.listen(0);
});

after(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const transition = async (id: string, to: string) => {
  const r = await fetch(new URL(`/api/v1/cases/${id}/transitions`, base), {
    method: 'POST',
    headers: { ...bearer(analyst), 'content-type': 'application/json' },
    body: JSON.stringify({ to }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as { version: number; state: string };
};

test('a case moved through the API arrives on a Bearer stream as a case event', async () => {
  const client = await stream(base, bearer(viewer));
  try {
    assert.equal(client.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(client.res.headers['x-content-type-options'], 'nosniff');
    await client.until(() => client.events.length >= 1, 'the opening retry');
    assert.equal(client.events[0].retry, '3000');
    assert.equal(client.events[0].id, String(app.deps.changes.lastSeq), 'the feed position, to resume from');
    const moved = await transition('case-1', 'triaged');
    await client.until(() => client.events.some((e) => e.event === 'case'), 'a case event');
    const event = client.events.find((e) => e.event === 'case')!;
    const data = JSON.parse(event.data!) as Record<string, unknown>;
    assert.equal(data.kind, 'case');
    assert.equal(data.id, 'case-1');
    assert.equal(data.state, 'triaged');
    assert.equal(data.revision, moved.version);
    assert.equal(event.id, String(data.seq));
  } finally {
    client.close();
  }
});

test('a console session streams with its cookie', async () => {
  const login = await fetch(new URL('/api/v1/session', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: viewer }),
  });
  const cookie = String(login.headers.get('set-cookie')).split(';')[0];
  const client = await stream(base, { cookie });
  try {
    await client.until(() => client.events.length >= 1, 'the opening retry');
    await fetch(new URL('/api/v1/allowlist', base), {
      method: 'POST',
      headers: { ...bearer(analyst), 'content-type': 'application/json' },
      body: JSON.stringify({ match: { host: 'build-1' }, owner: 'ops', reason: 'benchmarks', expires: '2099-01-01' }),
    });
    await client.until(() => client.events.some((e) => e.event === 'allowlist'), 'an allowlist event');
  } finally {
    client.close();
  }
});

test('Last-Event-ID resumes with what was missed; an id the ring no longer holds, or from another run, is a reset', async () => {
  const from = app.deps.changes.lastSeq;
  await transition('case-2', 'triaged');
  await transition('case-2', 'escalated');
  const resumed = await stream(base, { ...bearer(viewer), 'last-event-id': String(from) });
  try {
    await resumed.until(() => resumed.events.filter((e) => e.event === 'case').length >= 2, 'the two missed moves');
    const states = resumed.events
      .filter((e) => e.event === 'case')
      .map((e) => (JSON.parse(e.data!) as { state: string }).state);
    assert.deepEqual(states, ['triaged', 'escalated']);
    assert.ok(!resumed.events.some((e) => e.event === 'reset'));
  } finally {
    resumed.close();
  }
  for (const stale of ['1', '99999999999999', 'abc']) {
    const reset = await stream(base, { ...bearer(viewer), 'last-event-id': stale });
    try {
      await reset.until(() => reset.events.some((e) => e.event === 'reset'), `a reset for ${stale}`);
      const event = reset.events.find((e) => e.event === 'reset')!;
      assert.equal(event.id, String(app.deps.changes.lastSeq), 'resumes from now after reloading');
    } finally {
      reset.close();
    }
  }
});

test('a stream ends once its token is revoked or its session logged out', async () => {
  const made = await store.tokens.create({ name: 'viewer-short', role: 'viewer', actor: 't' });
  const byToken = await stream(base, bearer(made.secret));
  const login = await fetch(new URL('/api/v1/session', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: viewer }),
  });
  const session = (await login.json()) as { csrf_token: string };
  const cookie = String(login.headers.get('set-cookie')).split(';')[0];
  const bySession = await stream(base, { cookie });
  try {
    await store.tokens.revoke(made.token.id, { actor: 't' });
    await byToken.until(() => byToken.ended, "the end of the revoked token's stream");
    const logout = await fetch(new URL('/api/v1/session', base), {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': session.csrf_token },
    });
    assert.equal(logout.status, 204);
    await bySession.until(() => bySession.ended, "the end of the logged-out session's stream");
  } finally {
    byToken.close();
    bySession.close();
  }
});

test('no credentials 401, a sensor 403, and HEAD answers the headers and ends', async () => {
  const none = (await open(base, {})) as IncomingMessage;
  assert.equal(none.statusCode, 401);
  none.resume();
  const bySensor = (await open(base, bearer(sensor))) as IncomingMessage;
  assert.equal(bySensor.statusCode, 403);
  bySensor.resume();
  const head = (await open(base, bearer(viewer), 'HEAD')) as IncomingMessage;
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-type'], 'text/event-stream; charset=utf-8');
  head.resume();
  await new Promise((resolve) => head.on('end', resolve));
});

test('keep-alive comments come while nothing changes', async () => {
  const client = await stream(base, bearer(viewer));
  try {
    await client.until(() => client.comments.includes(': keep-alive'), 'a keep-alive comment');
  } finally {
    client.close();
  }
});

test('past the cap a stream is 503, and a closed one frees its place', async () => {
  const held = [
    await stream(base, bearer(viewer)),
    await stream(base, bearer(viewer)),
    await stream(base, bearer(viewer)),
  ];
  const refused = (await open(base, bearer(viewer))) as IncomingMessage;
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.headers['retry-after'], '10');
  refused.resume();
  held[0].close();
  // the server sees the close when the socket ends; poll until its place is free
  let again: StreamClient | IncomingMessage | undefined;
  for (let i = 0; i < 50; i++) {
    again = await open(base, bearer(viewer));
    if (again instanceof StreamClient) break;
    again.resume();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(again instanceof StreamClient, 'a place came free');
  again.close();
  for (const c of held.slice(1)) c.close();
  // the next tests need their places back: the server frees them when it sees the sockets end
  for (let i = 0; i < 100 && app.deps.changes.subscribers > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(app.deps.changes.subscribers, 0, 'every closed stream left the feed');
});

test('a client that stops reading is dropped, not buffered without bound', async () => {
  const before = app.deps.changes.subscribers;
  const client = await stream(base, bearer(viewer));
  await client.until(() => client.events.length >= 1, 'the opening retry');
  client.res.pause();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(app.deps.changes.subscribers, before + 1);
  // ~20 MB of changes: more than the socket buffers on both sides and the server's bound
  for (let i = 0; i < 50_000 && app.deps.changes.subscribers > before; i++) {
    app.deps.changes.publish({ kind: 'finding', id: `f-${i}-${'x'.repeat(240)}` });
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  assert.equal(app.deps.changes.subscribers, before, 'the slow stream left the feed');
  client.close();
});

test('a resumed client catching up on the whole ring of the largest changes is not dropped', async () => {
  const from = app.deps.changes.lastSeq;
  for (let i = 0; i < 1000; i++)
    app.deps.changes.publish({
      kind: 'allowlist',
      id: `${i}-${'i'.repeat(400)}`,
      revision: Number.MAX_SAFE_INTEGER,
      state: 's'.repeat(400),
    });
  const client = await stream(base, { ...bearer(viewer), 'last-event-id': String(from) });
  try {
    await client.until(() => client.events.filter((e) => e.event === 'allowlist').length >= 1000, 'the whole ring');
    assert.ok(!client.events.some((e) => e.event === 'reset'));
  } finally {
    client.close();
  }
});

// the timeout is what fails a close() that waits on its streams (they never end by themselves)
test('close() ends open streams instead of waiting on them', { timeout: 20_000 }, async () => {
  const other = createServer({ store, policy: defaultPolicy() });
  const otherBase = await other.listen(0);
  const client = await stream(otherBase, bearer(viewer));
  await client.until(() => client.events.length >= 1, 'the opening retry');
  await other.close();
  await client.until(() => client.ended, 'the end of the stream');
  assert.equal(other.deps.changes.subscribers, 0);
});
