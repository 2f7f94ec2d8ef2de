/**
 * The seam a module (ingest) plugs into, and what every response keeps whatever a handler does: a
 * module's routes are authenticated and documented like the built-in ones, a route or operation given
 * twice is refused at start, and a handler that throws answers 500 with no stack trace (the log has it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultPolicy } from '../model/policy.js';
import { openStore, type Store } from '../store/index.js';
import { type CoalmineServer, createServer, SENSOR, type ServerModule } from './app.js';

let dir: string;
let store: Store;
let app: CoalmineServer;
let base: URL;
let sensorSecret: string;
let viewerSecret: string;
const logged: string[] = [];

const probe: ServerModule = {
  routes: [
    {
      method: 'POST',
      path: '/api/v1/probe',
      roles: SENSOR,
      body: 'stream',
      async handler({ req, principal }) {
        let bytes = 0;
        for await (const chunk of req as AsyncIterable<Buffer>) bytes += chunk.length;
        return { status: 202, json: { bytes, by: principal!.name } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/probe/boom',
      roles: SENSOR,
      body: 'none',
      async handler() {
        throw new Error('secret internals at /srv/x.ts:1:2');
      },
    },
  ],
  openapi: {
    paths: {
      '/api/v1/probe': {
        post: {
          operationId: 'probe',
          tags: ['probe'],
          summary: 'a probe',
          'x-roles': SENSOR,
          responses: {
            202: {
              description: 'read',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ProbeResult' } } },
            },
          },
        },
      },
    },
    schemas: { ProbeResult: { type: 'object', required: ['bytes'], properties: { bytes: { type: 'integer' } } } },
  },
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'coalmine-app-'));
  store = await openStore(join(dir, 'c.db'));
  sensorSecret = (await store.tokens.create({ name: 'sensor-7', role: 'sensor', actor: 't' })).secret;
  viewerSecret = (await store.tokens.create({ name: 'v', role: 'viewer', actor: 't' })).secret;
  app = createServer({ store, policy: defaultPolicy(), modules: [probe], log: (l) => logged.push(l) });
  base = await app.listen(0);
});

after(async () => {
  await app.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a module's route is authenticated by role and gets its raw body", async () => {
  const post = (token?: string) =>
    fetch(new URL('/api/v1/probe', base), {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: 'line one\nline two\n',
    });
  assert.equal((await post()).status, 401);
  assert.equal((await post(viewerSecret)).status, 403);
  const ok = await post(sensorSecret);
  assert.equal(ok.status, 202);
  assert.deepEqual(await ok.json(), { bytes: 18, by: 'sensor-7' });
  assert.equal(ok.headers.get('x-content-type-options'), 'nosniff');
});

test("a module's paths and schemas join the document", () => {
  assert.equal(app.document.operation('POST', '/api/v1/probe')?.operationId, 'probe');
  assert.ok(app.document.schemas.ProbeResult);
  assert.ok(app.document.operation('GET', '/api/v1/findings'), 'the built-in ones stay');
});

test('a route or an operation given twice is refused when the server is made', () => {
  const twice: ServerModule = { routes: [{ ...probe.routes[0] }] };
  assert.throws(() => createServer({ store, policy: defaultPolicy(), modules: [probe, twice] }), /registered twice/);
  const docTwice: ServerModule = {
    routes: [],
    openapi: { paths: { '/api/v1/findings': { get: probe.openapi!.paths['/api/v1/probe'].post! } } },
  };
  assert.throws(() => createServer({ store, policy: defaultPolicy(), modules: [docTwice] }), /defined twice/);
});

test('a handler that throws answers 500 with no internals; the operator log has them', async () => {
  const r = await fetch(new URL('/api/v1/probe/boom', base), { headers: { authorization: `Bearer ${sensorSecret}` } });
  assert.equal(r.status, 500);
  const text = await r.text();
  assert.doesNotMatch(text, /secret internals|x\.ts|at /);
  assert.deepEqual(JSON.parse(text), {
    error: { code: 'internal', reason: 'internal error (the server log says more)' },
  });
  assert.equal(r.headers.get('content-security-policy')?.includes("frame-ancestors 'none'"), true);
  assert.ok(logged.some((l) => l.includes('secret internals')));
});
