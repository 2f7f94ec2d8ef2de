/**
 * The REST API against a real server on a loopback port, the same suite on SQLite and on PostgreSQL:
 * auth on every route (generated from the router's table), pagination, ETags, the case workflow, the
 * allowlist, tokens, console sessions with CSRF, bad and oversized bodies, and every response checked
 * against the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type ClientRequest, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pgSkipReason, startPostgres, type TestPostgres } from '../../test/support/postgres.js';
import type { Case, Finding, Severity } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { CASE_STATES, RESOLUTIONS } from '../store/cases.js';
import { openStore, type Store } from '../store/index.js';
import { ROLES, type Role } from '../store/tokens.js';
import { type CoalmineServer, createServer, SECURITY_HEADERS } from './app.js';
import { IngestPipeline, ingestModule } from './ingest.js';
import { type Schema, validateSchema } from './schema.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: unknown;
}

interface CallOptions {
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string or Buffer. */
  body?: unknown;
  /** Send the body chunked (no content-length). */
  chunked?: boolean;
}

/** One HTTP request with node:http (full control of headers, chunking and bodies). */
function call(base: URL, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.isBuffer(options.body)
        ? options.body
        : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
      if (!options.chunked) headers['content-length'] = String(payload.length);
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    const req = httpRequest(new URL(path, base), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        if (text !== '' && String(res.headers['content-type']).startsWith('application/json')) json = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    // the server may answer (413) and close before the whole body is sent
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    if (payload && options.chunked) {
      const half = Math.floor(payload.length / 2);
      req.write(payload.subarray(0, half));
      req.end(payload.subarray(half));
    } else req.end(payload);
  });
}

function finding(n: number, severity: Severity, host: string, analytic = 'AN0742'): Finding {
  const minute = String(n % 60).padStart(2, '0');
  return {
    id: `cm-test-${String(n).padStart(4, '0')}`,
    analytic,
    title: `Cryptomining on ${host} #${n}`,
    attack: ['T1496.001'],
    severity,
    confidence: 0.9,
    entity: `process:${host}:${n}`,
    related: [],
    host,
    first_seen: `2025-03-14T02:${minute}:00.000Z`,
    last_seen: `2025-03-14T03:${minute}:00.000Z`,
    legs: ['process'],
    summary: 'a miner',
    evidence: [],
    gaps: [],
  } as unknown as Finding;
}

function grouped(id: string, findings: string[]): Case {
  return {
    id,
    title: `case ${id}`,
    severity: 'high',
    tier: 'Tier 2',
    status: 'new',
    hosts: ['web-1'],
    entities: [],
    campaign: { destinations: [], executables: [], hashes: [] },
    findings,
    first_seen: '2025-03-14T02:00:00.000Z',
    last_seen: '2025-03-14T03:00:00.000Z',
    core_hours: 1,
    cost: null,
    currency: null,
  };
}

const CHECKLIST = [
  { id: 'legitimate-process', label: 'Is the process legitimate?' },
  { id: 'isolate', label: 'Isolate the host' },
];

/** A value for each path parameter of a template, so any route can be called. */
const fillPath = (template: string) => template.replace(/\{[^}]+\}/g, 'x-none');

interface Fixture {
  location: string;
  cleanup: () => Promise<void>;
}

function apiSuite(backend: string, open: () => Promise<Fixture>, skip?: string) {
  describe(`the API on ${backend}`, { skip }, () => {
    let fixture: Fixture;
    let store: Store;
    let app: CoalmineServer;
    let base: URL;
    const tokens = {} as Record<Role, string>;
    /** Every (route, status) answered, each response checked against the document as it came. */
    const answered = new Set<string>();
    const problems: string[] = [];

    /** A call whose response must conform to the document (and carry the security headers). */
    const api = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
      const answer = await call(base, method, path, options);
      const pathname = new URL(path, base).pathname;
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        if (answer.headers[name] !== value) problems.push(`${method} ${path} ${answer.status}: header ${name} missing`);
      if (answer.status >= 500) problems.push(`${method} ${path}: ${answer.status} ${answer.text}`);
      if (/\bat [^\s]+:\d+:\d+/.test(answer.text)) problems.push(`${method} ${path}: a stack trace in the body`);
      let matched: ReturnType<CoalmineServer['router']['match']>;
      try {
        matched = app.router.match(method, pathname);
      } catch {
        return answer;
      }
      if (!matched?.route) return answer;
      const operation = app.document.operation(method, matched.route.path);
      if (!operation) {
        problems.push(`${method} ${matched.route.path}: not in the document`);
        return answer;
      }
      answered.add(`${method} ${matched.route.path} ${answer.status}`);
      const response = operation.responses[String(answer.status)];
      if (!response) {
        problems.push(`${method} ${matched.route.path}: status ${answer.status} is not documented`);
        return answer;
      }
      const [type, media] = Object.entries(response.content ?? {})[0] ?? [];
      if (!media) {
        if (answer.text !== '')
          problems.push(`${method} ${matched.route.path} ${answer.status}: a body where none is documented`);
        return answer;
      }
      if (!String(answer.headers['content-type']).startsWith(type))
        problems.push(
          `${method} ${matched.route.path} ${answer.status}: content-type ${answer.headers['content-type']}, documented ${type}`,
        );
      const value = type === 'application/json' ? JSON.parse(answer.text) : answer.text;
      for (const p of validateSchema(media.schema, value, app.document.schemas))
        problems.push(`${method} ${matched.route.path} ${answer.status}: ${p}`);
      return answer;
    };
    const as = (role: Role) => ({ token: tokens[role] });
    const auditOf = async (subject: string, id: string) => (await store.audit.list(subject, id)).items;

    before(async () => {
      fixture = await open();
      store = await openStore(fixture.location);
      for (const role of ROLES)
        tokens[role] = (await store.tokens.create({ name: `${role}-alice`, role, actor: 'test' })).secret;
      // 7 findings over two hosts and two severities, so pages and filters have something to cut
      const severities: Severity[] = ['high', 'high', 'critical', 'medium', 'high', 'critical', 'low'];
      for (let n = 0; n < severities.length; n++)
        await store.findings.ingest({
          finding: finding(n, severities[n], n % 2 === 0 ? 'web-1' : 'db-1'),
          revision: 1,
        });
      // a second revision of finding 0
      await store.findings.ingest({ finding: { ...finding(0, 'critical', 'web-1'), summary: 'it rose' }, revision: 2 });
      for (let n = 0; n < 5; n++)
        await store.cases.create(grouped(`case-${n}`, [`cm-test-000${n}`]), { actor: 'test', checklist: CHECKLIST });
      // with ingest registered, as serve runs: the matrix and the document checks cover its routes too
      const pipeline = await IngestPipeline.start({ store, policy: defaultPolicy(), tickMs: 0 });
      app = createServer({ store, policy: defaultPolicy(), modules: [ingestModule(pipeline)] });
      base = await app.listen(0);
    });

    after(async () => {
      await app?.close();
      await store?.close();
      await fixture?.cleanup();
    });

    test('listens on loopback by default', () => {
      assert.equal(base.hostname, '127.0.0.1');
    });

    test('every route refuses no token (401), a bad token (401) and each role it does not name (403)', async () => {
      const forged = `cm_${randomBytes(32).toString('base64url')}`;
      let checked = 0;
      for (const route of app.router.routes) {
        if (route.roles === 'public') continue;
        const path = fillPath(route.path);
        const none = await api(route.method, path);
        assert.equal(none.status, 401, `${route.method} ${route.path} without a token`);
        assert.match(String(none.headers['www-authenticate']), /^Bearer/);
        assert.equal(
          (await api(route.method, path, { token: forged })).status,
          401,
          `${route.method} ${route.path} forged`,
        );
        assert.equal(
          (await api(route.method, path, { headers: { authorization: `Basic ${tokens.admin}` } })).status,
          401,
          `${route.method} ${route.path} not Bearer`,
        );
        for (const role of ROLES.filter((r) => !(route.roles as readonly Role[]).includes(r))) {
          const denied = await api(route.method, path, as(role));
          assert.equal(denied.status, 403, `${route.method} ${route.path} as ${role}`);
          checked++;
        }
      }
      assert.ok(checked > 10, 'the matrix checked the role refusals');
    });

    test('sensors read nothing; viewers read everything a viewer may', async () => {
      for (const route of app.router.routes.filter((r) => r.method === 'GET'))
        assert.equal((await api('GET', fillPath(route.path), as('sensor'))).status, 403, route.path);
      for (const path of [
        '/api/v1/findings',
        '/api/v1/cases',
        '/api/v1/allowlist',
        '/api/v1/sensors',
        '/api/v1/openapi.json',
      ])
        assert.equal((await api('GET', path, as('viewer'))).status, 200, path);
    });

    test('findings come in cursor pages in queue order, every one once', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await api(
          'GET',
          `/api/v1/findings?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          as('viewer'),
        );
        assert.equal(r.status, 200);
        const page = r.json as { items: { finding: Finding; revision: number }[]; next?: string };
        assert.ok(page.items.length <= 3);
        seen.push(...page.items.map((i) => i.finding.id));
        cursor = page.next;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(
        [...seen].sort(),
        Array.from({ length: 7 }, (_, n) => `cm-test-000${n}`),
      );
      const all = (await api('GET', '/api/v1/findings?limit=500', as('viewer'))).json as {
        items: { finding: Finding }[];
      };
      assert.deepEqual(
        seen,
        all.items.map((i) => i.finding.id),
        'pages join up to the one-page order',
      );
      const ranks = all.items.map((i) =>
        ['informational', 'low', 'medium', 'high', 'critical'].indexOf(i.finding.severity),
      );
      assert.deepEqual(
        ranks,
        [...ranks].sort((a, b) => b - a),
        'worst first',
      );
    });

    test('finding filters narrow the list; a cursor from another query and bad filters are 400', async () => {
      const high = (await api('GET', '/api/v1/findings?severity=high', as('viewer'))).json as {
        items: { finding: Finding }[];
      };
      assert.ok(high.items.length > 0 && high.items.every((i) => i.finding.severity === 'high'));
      const both = (await api('GET', '/api/v1/findings?severity=high,critical&host=db-1', as('viewer'))).json as {
        items: { finding: Finding }[];
      };
      assert.ok(
        both.items.every((i) => i.finding.host === 'db-1' && ['high', 'critical'].includes(i.finding.severity)),
      );
      const newCases = (await api('GET', '/api/v1/findings?state=new', as('viewer'))).json as { items: unknown[] };
      assert.ok(newCases.items.length > 0);
      const first = (await api('GET', '/api/v1/findings?limit=2', as('viewer'))).json as { next: string };
      const reused = await api(
        'GET',
        `/api/v1/findings?limit=2&host=web-1&cursor=${encodeURIComponent(first.next)}`,
        as('viewer'),
      );
      assert.equal(reused.status, 400);
      assert.match((reused.json as { error: { reason: string } }).error.reason, /cursor/);
      for (const bad of [
        'severity=dire',
        'limit=0',
        'limit=abc',
        'limit=501',
        'state=resolved',
        'cursor=xyz',
        'colour=red',
        'host=a&host=b',
      ])
        assert.equal((await api('GET', `/api/v1/findings?${bad}`, as('viewer'))).status, 400, bad);
      // every route's query values are checked against the document, not only where a handler thought to
      const badState = await api('GET', '/api/v1/cases?state=in_progress', as('viewer'));
      assert.equal(badState.status, 400);
      assert.match((badState.json as { error: { reason: string } }).error.reason, /query state: .*must be one of/);
    });

    test('one finding has every revision and an ETag; If-None-Match answers 304', async () => {
      const r = await api('GET', '/api/v1/findings/cm-test-0000', as('viewer'));
      assert.equal(r.status, 200);
      const body = r.json as { revision: number; finding: Finding; revisions: { revision: number }[] };
      assert.equal(body.revision, 2);
      assert.equal(body.finding.severity, 'critical');
      assert.deepEqual(
        body.revisions.map((v) => v.revision),
        [1, 2],
      );
      const etag = String(r.headers.etag);
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      const again = await api('GET', '/api/v1/findings/cm-test-0000', {
        ...as('viewer'),
        headers: { 'if-none-match': etag },
      });
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
      const other = await api('GET', '/api/v1/findings/cm-test-0000', {
        ...as('viewer'),
        headers: { 'if-none-match': '"other"' },
      });
      assert.equal(other.status, 200);
      assert.equal((await api('GET', '/api/v1/findings/nope', as('viewer'))).status, 404);
    });

    test('a case is worked through the API: triaged, escalated, contained, closed true positive, each audited with the token name', async () => {
      const id = 'case-0';
      const before = await api('GET', `/api/v1/cases/${id}`, as('analyst'));
      assert.equal(before.status, 200);
      const etag = String(before.headers.etag);
      const detail = before.json as { case: { state: string; version: number }; findings: { id: string }[] };
      assert.equal(detail.case.state, 'new');
      assert.deepEqual(
        detail.findings.map((f) => f.id),
        ['cm-test-0000'],
      );

      const move = (body: unknown, role: Role = 'analyst') =>
        api('POST', `/api/v1/cases/${id}/transitions`, { ...as(role), body });
      assert.equal((await move({ to: 'triaged' })).status, 200);
      assert.equal(
        (await api('POST', `/api/v1/cases/${id}/assign`, { ...as('analyst'), body: { assignee: 'bob' } })).status,
        200,
      );
      assert.equal(
        (await api('POST', `/api/v1/cases/${id}/notes`, { ...as('analyst'), body: { text: 'miner from a cron line' } }))
          .status,
        200,
      );
      assert.equal(
        (await api('POST', `/api/v1/cases/${id}/checklist/isolate`, { ...as('analyst'), body: { done: true } })).status,
        200,
      );
      assert.equal((await move({ to: 'escalated' })).status, 200);
      const back = await move({ to: 'triaged' });
      assert.equal(back.status, 409, 'never backwards');
      assert.match((back.json as { error: { reason: string } }).error.reason, /from escalated: contained, closed/);
      assert.equal((await move({ to: 'contained' })).status, 200);
      const needsResolution = await move({ to: 'closed' });
      assert.equal(needsResolution.status, 400);
      assert.match((needsResolution.json as { error: { reason: string } }).error.reason, /resolution/);
      const resolved = await move({ to: 'closed', resolution: 'true-positive' }, 'admin');
      assert.equal(resolved.status, 200);
      const c = resolved.json as {
        state: string;
        resolution: string;
        assignee: string;
        notes: { author: string }[];
        checklist: { id: string; done_by: string | null }[];
      };
      assert.equal(c.state, 'closed');
      assert.equal(c.resolution, 'true-positive');
      assert.equal(c.assignee, 'bob');
      assert.equal(c.notes[0].author, 'analyst-alice');
      assert.equal(c.checklist.find((s) => s.id === 'isolate')?.done_by, 'analyst-alice');

      const illegal = await move({ to: 'triaged' });
      assert.equal(illegal.status, 409);
      assert.match((illegal.json as { error: { reason: string } }).error.reason, /closed: only reopen/);

      const audit = await auditOf('case', id);
      assert.deepEqual(
        audit.map((a) => [a.action, a.actor]),
        [
          ['create', 'test'],
          ['transition', 'analyst-alice'],
          ['assign', 'analyst-alice'],
          ['note', 'analyst-alice'],
          ['tick', 'analyst-alice'],
          ['transition', 'analyst-alice'],
          ['transition', 'analyst-alice'],
          ['close', 'admin-alice'],
        ],
      );
      const after = await api('GET', `/api/v1/cases/${id}`, { ...as('viewer'), headers: { 'if-none-match': etag } });
      assert.equal(after.status, 200, 'a changed case no longer matches its old ETag');
      const trail = (after.json as { audit: { action: string }[] }).audit;
      assert.equal(trail.length, 8);
      const unchanged = await api('GET', `/api/v1/cases/${id}`, {
        ...as('viewer'),
        headers: { 'if-none-match': String(after.headers.etag) },
      });
      assert.equal(unchanged.status, 304);
      const page = await api('GET', `/api/v1/cases/${id}/audit?limit=4`, as('viewer'));
      assert.equal((page.json as { items: unknown[]; next?: string }).items.length, 4);
      assert.ok((page.json as { next?: string }).next);
    });

    test('a change with a stale version is refused (409) and nothing changes', async () => {
      const current = (await api('GET', '/api/v1/cases/case-1', as('analyst'))).json as { case: { version: number } };
      const stale = await api('POST', '/api/v1/cases/case-1/notes', {
        ...as('analyst'),
        body: { text: 'late', version: current.case.version + 100 },
      });
      assert.equal(stale.status, 409);
      const fresh = await api('POST', '/api/v1/cases/case-1/notes', {
        ...as('analyst'),
        body: { text: 'on time', version: current.case.version },
      });
      assert.equal(fresh.status, 200);
      assert.deepEqual(
        (fresh.json as { notes: { text: string }[] }).notes.map((n) => n.text),
        ['on time'],
      );
    });

    test('cases list by state and assignee in cursor pages', async () => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await api(
          'GET',
          `/api/v1/cases?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          as('viewer'),
        );
        const page = r.json as { items: { id: string }[]; next?: string };
        ids.push(...page.items.map((c) => c.id));
        cursor = page.next;
      } while (cursor);
      assert.equal(new Set(ids).size, 5);
      assert.equal(ids.length, 5);
      const open = (await api('GET', '/api/v1/cases?state=new', as('viewer'))).json as { items: { state: string }[] };
      assert.ok(open.items.length >= 3 && open.items.every((c) => c.state === 'new'));
      const bobs = (await api('GET', '/api/v1/cases?assignee=bob', as('viewer'))).json as { items: { id: string }[] };
      assert.deepEqual(
        bobs.items.map((c) => c.id),
        ['case-0'],
      );
      assert.equal((await api('GET', '/api/v1/cases/none', as('viewer'))).status, 404);
    });

    test("a finding's case: the one holding it (an open one first, then the newest) with an ETag, null before one does; 404 for no such finding", async () => {
      const caseOf = async (id: string) =>
        ((await api('GET', `/api/v1/findings/${id}/case`, as('viewer'))).json as { case: { id: string } | null }).case;
      const held = await api('GET', '/api/v1/findings/cm-test-0001/case', as('viewer'));
      assert.equal(held.status, 200);
      assert.equal((held.json as { case: { id: string } }).case.id, 'case-1');
      const again = await api('GET', '/api/v1/findings/cm-test-0001/case', {
        ...as('viewer'),
        headers: { 'if-none-match': String(held.headers.etag) },
      });
      assert.equal(again.status, 304);
      assert.equal(await caseOf('cm-test-0006'), null, 'a finding no case holds yet');
      const none = await api('GET', '/api/v1/findings/nope/case', as('viewer'));
      assert.equal(none.status, 404);
      assert.match((none.json as { error: { reason: string } }).error.reason, /no such finding/);
      // held by two cases (grouped apart, later linked): the newest while both are open, else the open one
      await store.cases.create(grouped('case-f1', ['cm-test-0006']), { actor: 'test' });
      await store.cases.create(grouped('case-f2', ['cm-test-0006']), { actor: 'test' });
      assert.equal((await caseOf('cm-test-0006'))?.id, 'case-f2');
      // closed through the API under the earlier name of benign, which is stored as benign
      const closed = await api('POST', '/api/v1/cases/case-f2/transitions', {
        ...as('analyst'),
        body: { to: 'closed', resolution: 'benign-authorized' },
      });
      assert.equal(closed.status, 200);
      assert.deepEqual(
        [(closed.json as { state: string }).state, (closed.json as { resolution: string }).resolution],
        ['closed', 'benign'],
      );
      assert.equal((await caseOf('cm-test-0006'))?.id, 'case-f1');
    });

    test('a viewer cannot change anything: every change is 403 and the store is as it was', async () => {
      const caseBefore = await store.cases.get('case-2');
      const tokensBefore = (await store.tokens.list()).length;
      const allowBefore = (await store.allowlist.current()).length;
      const changes = app.router.routes.filter(
        (r) => r.method !== 'GET' && r.roles !== 'public' && !r.path.endsWith('/session'),
      );
      assert.ok(changes.length >= 8);
      for (const route of changes) {
        const path = route.path
          .replace('{id}', route.path.includes('/cases/') ? 'case-2' : 'x')
          .replace('{step}', 'isolate');
        const r = await api(route.method, path, {
          ...as('viewer'),
          body: {
            to: 'triaged',
            text: 'x',
            done: true,
            assignee: 'v',
            name: 'v',
            role: 'admin',
            match: { host: 'h' },
            owner: 'o',
            reason: 'r',
            expires: '2099-01-01',
          },
        });
        assert.equal(r.status, 403, `${route.method} ${path}`);
      }
      assert.deepEqual(await store.cases.get('case-2'), caseBefore);
      assert.equal((await store.tokens.list()).length, tokensBefore);
      assert.equal((await store.allowlist.current()).length, allowBefore);
    });

    test('bad bodies are 400 (or 415) with a reason, and nothing is stored', async () => {
      const allowBefore = (await store.allowlist.current()).length;
      const tokensBefore = (await store.tokens.list()).length;
      const caseBefore = await store.cases.get('case-3');
      const good = { match: { executable: '/opt/miner' }, owner: 'ops', reason: 'benchmark', expires: '2099-01-01' };
      const bad: [string, CallOptions['body'], Record<string, string>?][] = [
        ['not JSON', '{"match": '],
        ['empty', ''],
        ['an array', '[]'],
        ['no owner', { ...good, owner: undefined }],
        ['empty owner', { ...good, owner: '' }],
        ['no expiry', { ...good, expires: undefined }],
        ['not a date', { ...good, expires: '2099-13-45' }],
        ['no reason', { ...good, reason: undefined }],
        ['owner a number', { ...good, owner: 7 }],
        ['unknown field', { ...good, admin: true }],
        ['unknown match field', { ...good, match: { pid: '1' } }],
        ['empty match', { ...good, match: {} }],
        ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
        ['form-encoded', 'owner=x', { 'content-type': 'application/x-www-form-urlencoded' }],
      ];
      for (const [why, body, headers] of bad) {
        const r = await api('POST', '/api/v1/allowlist', { ...as('analyst'), body, headers });
        assert.ok(r.status === 400 || r.status === 415, `${why}: ${r.status}`);
        const reason = (r.json as { error: { reason: string } }).error.reason;
        assert.ok(reason.length > 5, `${why}: a reason`);
      }
      for (const body of [{ name: 'x', role: 'root' }, { name: '', role: 'viewer' }, { role: 'viewer' }])
        assert.equal((await api('POST', '/api/v1/tokens', { ...as('admin'), body })).status, 400);
      for (const body of [
        { to: 'closed' },
        { to: 'closed', resolution: 'maybe' },
        { to: 'triaged', resolution: 'benign' },
        { to: 'resolved', resolution: 'true-positive' },
        { to: 'acknowledged' },
        { to: 7 },
        {},
        { to: 'triaged', version: 'x' },
      ])
        assert.equal(
          (await api('POST', '/api/v1/cases/case-3/transitions', { ...as('analyst'), body })).status,
          400,
          JSON.stringify(body),
        );
      assert.equal(
        (await api('POST', '/api/v1/cases/case-3/checklist/nope', { ...as('analyst'), body: { done: true } })).status,
        400,
      );
      assert.equal(
        (await api('POST', '/api/v1/cases/case-3/notes', { ...as('analyst'), body: { text: '' } })).status,
        400,
      );
      assert.equal(
        (await api('GET', '/api/v1/sensors', { ...as('viewer'), body: { a: 1 } })).status,
        400,
        'a body where none belongs',
      );
      assert.equal((await store.allowlist.current()).length, allowBefore);
      assert.equal((await store.tokens.list()).length, tokensBefore);
      assert.deepEqual(await store.cases.get('case-3'), caseBefore);
    });

    test('an oversized body is 413 with a reason, declared or chunked', async () => {
      const huge = { match: { host: 'h' }, owner: 'o', reason: 'x'.repeat(1024 * 1024 + 10), expires: '2099-01-01' };
      const declared = await api('POST', '/api/v1/allowlist', { ...as('analyst'), body: huge });
      assert.equal(declared.status, 413);
      assert.match((declared.json as { error: { reason: string } }).error.reason, /bytes/);
      const chunked = await api('POST', '/api/v1/allowlist', { ...as('analyst'), body: huge, chunked: true });
      assert.equal(chunked.status, 413);
      assert.equal((await store.allowlist.current()).length, 0);
    });

    test('405 with Allow for a known path and another method; 404 for an unknown path', async () => {
      const r = await api('PUT', '/api/v1/sensors', as('admin'));
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, 'GET, HEAD', 'a GET route takes HEAD too');
      const both = await api('DELETE', '/api/v1/findings', as('admin'));
      assert.equal(both.status, 405);
      assert.equal(both.headers.allow, 'GET, HEAD, POST');
      assert.equal((await api('GET', '/api/v1/nothing', as('admin'))).status, 404);
      assert.equal((await api('GET', '/api/v1/cases/%E0%A4%A', as('admin'))).status, 400);
    });

    test('the allowlist: an analyst proposes, everyone reads and exports it as coalmine.yaml, an admin retires', async () => {
      const made = await api('POST', '/api/v1/allowlist', {
        ...as('analyst'),
        body: {
          match: { executable: '/opt/bench/xmrig' },
          analytics: ['AN0742'],
          owner: 'perf team',
          reason: 'benchmark: "#1"\nnightly',
          expires: '2099-01-01',
        },
      });
      assert.equal(made.status, 201);
      const entry = made.json as { id: string; created_by: string; version: number };
      assert.equal(entry.created_by, 'analyst-alice');
      assert.equal(made.headers.location, `/api/v1/allowlist/${entry.id}`);
      const listed = (await api('GET', '/api/v1/allowlist', as('viewer'))).json as { items: { id: string }[] };
      assert.deepEqual(
        listed.items.map((e) => e.id),
        [entry.id],
      );
      const yaml = await api('GET', '/api/v1/allowlist/export', as('viewer'));
      assert.equal(yaml.status, 200);
      assert.match(String(yaml.headers['content-type']), /^application\/yaml/);
      assert.match(yaml.text, /^allowlist:\n/);
      assert.match(yaml.text, /executable: \/opt\/bench\/xmrig/);
      const one = await api('GET', `/api/v1/allowlist/${entry.id}`, as('viewer'));
      assert.equal(one.status, 200);
      assert.equal(
        (
          await api('GET', `/api/v1/allowlist/${entry.id}`, {
            ...as('viewer'),
            headers: { 'if-none-match': String(one.headers.etag) },
          })
        ).status,
        304,
      );
      assert.equal((await api('POST', `/api/v1/allowlist/${entry.id}/retire`, as('analyst'))).status, 403);
      const retired = await api('POST', `/api/v1/allowlist/${entry.id}/retire`, as('admin'));
      assert.equal(retired.status, 200);
      assert.equal((retired.json as { retired: boolean }).retired, true);
      assert.equal((await api('POST', `/api/v1/allowlist/${entry.id}/retire`, as('admin'))).status, 400);
      assert.equal((await api('POST', '/api/v1/allowlist/al_none/retire', as('admin'))).status, 404);
      const history = (await api('GET', `/api/v1/allowlist/${entry.id}`, as('viewer'))).json as {
        history: unknown[];
        entry: { retired: boolean };
      };
      assert.equal(history.history.length, 2);
      assert.equal(history.entry.retired, true);
      assert.deepEqual(((await api('GET', '/api/v1/allowlist', as('viewer'))).json as { items: unknown[] }).items, []);
      assert.deepEqual(
        (await auditOf('allowlist', entry.id)).map((a) => [a.action, a.actor]),
        [
          ['create', 'analyst-alice'],
          ['retire', 'admin-alice'],
        ],
      );
    });

    test('sensors list what the store knows', async () => {
      await store.sensors.seen({ id: 'sensor-7', host: 'web-1', version: '0.1.0', cannot_see: ['no root'] });
      const r = await api('GET', '/api/v1/sensors', as('viewer'));
      assert.deepEqual(
        (r.json as { items: { id: string; cannot_see: string[] }[] }).items.map((s) => [s.id, s.cannot_see]),
        [['sensor-7', ['no root']]],
      );
    });

    test('a sensor heartbeat: only the sensor puts its own, people read it; bad bodies refused with the field named', async () => {
      const beat = {
        version: '0.4.0',
        hostname: 'web-9',
        platform: 'linux',
        kernel: '6.1.0',
        root: false,
        interval_s: 60,
        gaps: [{ kind: 'fd_unreadable', count: 7 }],
        cannot_see: ["not running as root: other users' fd tables and exe links are unreadable"],
      };
      for (const role of ['viewer', 'analyst'] as const)
        assert.equal((await api('PUT', '/api/v1/sensors/self', { ...as(role), body: beat })).status, 403, role);
      const put = await api('PUT', '/api/v1/sensors/self', { ...as('sensor'), body: beat });
      assert.equal(put.status, 200);
      const mine = put.json as { id: string; host: string; stale: boolean; heartbeat: { gaps: unknown[] } };
      // named by its token, never by the body: a sensor speaks only for itself
      assert.equal(mine.id, 'sensor-alice');
      assert.equal(mine.host, 'web-9');
      assert.equal(mine.stale, false);
      assert.deepEqual(mine.heartbeat.gaps, beat.gaps);
      for (const [bad, field] of [
        [{ ...beat, id: 'someone-else' }, /id/],
        [{ ...beat, root: 'no' }, /root/],
        [{ ...beat, interval_s: 0 }, /interval_s/],
        [{ ...beat, gaps: [{ kind: 'x', count: -2 }] }, /gaps.*count/],
        [{ ...beat, cannot_see: Array(65).fill('x') }, /cannot_see/],
        [{ ...beat, hostname: 'h'.repeat(5000) }, /hostname/],
      ] as const) {
        const r = await api('PUT', '/api/v1/sensors/self', { ...as('sensor'), body: bad });
        assert.equal(r.status, 400, JSON.stringify(bad).slice(0, 80));
        assert.match((r.json as { error: { reason: string } }).error.reason, field);
      }
      const listed = await api('GET', '/api/v1/sensors', as('viewer'));
      const row = (listed.json as { items: { id: string; cannot_see: string[]; heartbeat: unknown }[] }).items.find(
        (x) => x.id === 'sensor-alice',
      );
      assert.ok(row);
      assert.deepEqual(row.cannot_see, beat.cannot_see);
      const { received_at, ...said } = row.heartbeat as { received_at: number };
      assert.deepEqual(said, beat);
      assert.ok(Number.isInteger(received_at));
      assert.equal(
        (await api('GET', '/api/v1/sensors', as('sensor'))).status,
        403,
        'a sensor reads no one, itself included',
      );
    });

    test('tokens: an admin lists (no secrets), creates (the secret once, uncached), and revokes', async () => {
      const listed = await api('GET', '/api/v1/tokens', as('admin'));
      assert.ok(!listed.text.includes('cm_'), 'no secret or hash in the list');
      assert.ok(!listed.text.includes('secret'));
      const made = await api('POST', '/api/v1/tokens', { ...as('admin'), body: { name: 'ci', role: 'viewer' } });
      assert.equal(made.status, 201);
      assert.equal(made.headers['cache-control'], 'no-store');
      const { token, secret } = made.json as { token: { id: string; created_by: string }; secret: string };
      assert.equal(token.created_by, 'admin-alice');
      assert.equal((await api('GET', '/api/v1/findings', { token: secret })).status, 200);
      assert.equal((await api('DELETE', `/api/v1/tokens/${token.id}`, as('admin'))).status, 204);
      assert.equal((await api('GET', '/api/v1/findings', { token: secret })).status, 401);
      assert.equal((await api('DELETE', `/api/v1/tokens/${token.id}`, as('admin'))).status, 404);
    });

    test('console sessions: cookie attributes, CSRF on changes, other origins refused, logout', async () => {
      assert.equal(
        (await api('POST', '/api/v1/session', { body: { token: tokens.sensor } })).status,
        403,
        'sensors have no console',
      );
      assert.equal((await api('POST', '/api/v1/session', { body: { token: 'cm_nope' } })).status, 401);
      const login = await api('POST', '/api/v1/session', { body: { token: tokens.analyst } });
      assert.equal(login.status, 200);
      const setCookie = String(login.headers['set-cookie']);
      assert.match(setCookie, /^coalmine_session=[A-Za-z0-9_-]{43};/);
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Strict/);
      assert.doesNotMatch(setCookie, /Secure/, 'not over plain HTTP');
      const cookie = setCookie.split(';')[0];
      const csrf = (login.json as { csrf_token: string }).csrf_token;
      const me = await api('GET', '/api/v1/session', { cookie });
      assert.deepEqual(me.json, {
        name: 'analyst-alice',
        role: 'analyst',
        via: 'session',
        csrf_token: csrf,
        expires_at: (login.json as { expires_at: number }).expires_at,
      });
      assert.equal((await api('GET', '/api/v1/cases', { cookie })).status, 200);
      const note = { text: 'from the console' };
      const noCsrf = await api('POST', '/api/v1/cases/case-4/notes', { cookie, body: note });
      assert.equal(noCsrf.status, 403);
      assert.equal((noCsrf.json as { error: { code: string } }).error.code, 'csrf');
      assert.equal(
        (
          await api('POST', '/api/v1/cases/case-4/notes', {
            cookie,
            body: note,
            headers: { 'x-csrf-token': 'x'.repeat(43) },
          })
        ).status,
        403,
      );
      const otherOrigin = await api('POST', '/api/v1/cases/case-4/notes', {
        cookie,
        body: note,
        headers: { 'x-csrf-token': csrf, origin: 'https://evil.example' },
      });
      assert.equal(otherOrigin.status, 403);
      assert.equal((await store.cases.get('case-4'))!.notes.length, 0, 'nothing written by refused calls');
      const ok = await api('POST', '/api/v1/cases/case-4/notes', {
        cookie,
        body: note,
        headers: { 'x-csrf-token': csrf, origin: base.origin },
      });
      assert.equal(ok.status, 200);
      assert.equal((await store.cases.get('case-4'))!.notes[0].author, 'analyst-alice');
      assert.equal(
        (await api('DELETE', '/api/v1/session', { cookie })).status,
        403,
        'logout is a change: it needs the CSRF token',
      );
      const out = await api('DELETE', '/api/v1/session', { cookie, headers: { 'x-csrf-token': csrf } });
      assert.equal(out.status, 204);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      assert.equal((await api('GET', '/api/v1/cases', { cookie })).status, 401);
      assert.deepEqual(
        (await auditOf('token', (await store.tokens.list()).find((t) => t.name === 'analyst-alice')!.id)).map(
          (a) => a.action,
        ),
        ['create', 'login'],
      );
    });

    test('revoking a token through the API ends its console sessions', async () => {
      const made = (await api('POST', '/api/v1/tokens', { ...as('admin'), body: { name: 'temp', role: 'analyst' } }))
        .json as { token: { id: string }; secret: string };
      const login = await api('POST', '/api/v1/session', { body: { token: made.secret } });
      const cookie = String(login.headers['set-cookie']).split(';')[0];
      assert.equal((await api('GET', '/api/v1/cases', { cookie })).status, 200);
      await api('DELETE', `/api/v1/tokens/${made.token.id}`, as('admin'));
      assert.equal((await api('GET', '/api/v1/cases', { cookie })).status, 401);
    });

    test('the event stream answers as the document says and carries a case moved through the API', async () => {
      const operation = app.document.operation('GET', '/api/v1/stream')!;
      const [type] = Object.keys(operation.responses['200'].content ?? {});
      const opened = await new Promise<{ res: IncomingMessage; req: ClientRequest }>((resolve, reject) => {
        const req = httpRequest(
          new URL('/api/v1/stream', base),
          { headers: { authorization: `Bearer ${tokens.viewer}` } },
          (res) => resolve({ res, req }),
        );
        req.on('error', reject);
        req.end();
      });
      try {
        assert.equal(opened.res.statusCode, 200);
        assert.ok(String(opened.res.headers['content-type']).startsWith(type), `documented ${type}`);
        for (const [name, value] of Object.entries(SECURITY_HEADERS))
          assert.equal(opened.res.headers[name], value, `stream header ${name}`);
        answered.add('GET /api/v1/stream 200');
        let text = '';
        opened.res.setEncoding('utf8');
        const arrived = new Promise<void>((resolve) =>
          opened.res.on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('event: case\n')) resolve();
          }),
        );
        // the stream is subscribed once its opening lines arrive; then the move is published to it
        await new Promise<void>((resolve) => opened.res.once('data', () => resolve()));
        assert.equal(
          (await api('POST', '/api/v1/cases/case-4/transitions', { ...as('analyst'), body: { to: 'triaged' } })).status,
          200,
        );
        await arrived;
        const event = text.split('\n\n').find((block) => block.includes('event: case\n'))!;
        const data = JSON.parse(
          event
            .split('\n')
            .find((line) => line.startsWith('data: '))!
            .slice(6),
        ) as Record<string, unknown>;
        assert.equal(data.id, 'case-4');
        assert.equal(data.state, 'triaged');
      } finally {
        opened.req.destroy();
      }
    });

    test('HEAD on every GET route answers the status and headers of the GET, with no body', async () => {
      for (const route of app.router.routes.filter((r) => r.method === 'GET')) {
        const path = fillPath(route.path.replace('/cases/{id}', '/cases/case-1'));
        const head = await call(base, 'HEAD', path, as('admin'));
        assert.equal(head.text, '', `HEAD ${path} has no body`);
        if (route.path === '/api/v1/stream') {
          // its GET never ends: HEAD is its headers, then the end
          assert.equal(head.status, 200);
          assert.match(String(head.headers['content-type']), /^text\/event-stream/);
          continue;
        }
        const got = await call(base, 'GET', path, as('admin'));
        assert.equal(head.status, got.status, `HEAD ${path}`);
        for (const name of ['content-type', 'content-length', 'etag', 'cache-control', 'content-security-policy'])
          assert.equal(head.headers[name], got.headers[name], `HEAD ${path} ${name}`);
      }
      assert.equal((await call(base, 'HEAD', '/api/v1/findings')).status, 401, 'HEAD is authenticated as GET is');
    });

    test('the OpenAPI document describes every route with the roles the router enforces', async () => {
      const r = await api('GET', '/api/v1/openapi.json', as('viewer'));
      const served = r.json as { openapi: string; paths: Record<string, Record<string, { 'x-roles': unknown }>> };
      assert.equal(served.openapi, '3.1.0');
      for (const route of app.router.routes) {
        const operation = served.paths[route.path]?.[route.method.toLowerCase()];
        assert.ok(operation, `${route.method} ${route.path} is in the document`);
        assert.deepEqual(operation['x-roles'], route.roles, `${route.method} ${route.path} roles`);
      }
      const documented = Object.entries(served.paths).flatMap(([path, item]) =>
        Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
      );
      const routed = app.router.routes.map((route) => `${route.method} ${route.path}`);
      assert.deepEqual(documented.sort(), routed.sort(), 'and nothing the router lacks');
      // the case states and resolutions are the store's (the contract's), benign-authorized still taken as benign
      const schemas = (served as unknown as { components: { schemas: Record<string, Schema> } }).components.schemas;
      const caseProps = schemas.Case.properties!;
      assert.deepEqual(caseProps.state.enum, [...CASE_STATES]);
      assert.deepEqual(caseProps.resolution.oneOf?.[0].enum, [...RESOLUTIONS]);
      const move = (
        served.paths['/api/v1/cases/{id}/transitions'].post as unknown as {
          requestBody: { content: Record<string, { schema: Schema }> };
        }
      ).requestBody.content['application/json'].schema.properties!;
      assert.deepEqual(move.to.enum, [...CASE_STATES]);
      assert.deepEqual(move.resolution.enum, [...RESOLUTIONS, 'benign-authorized']);
    });

    test('ingest answers as its part of the document says (a finding delivery, then telemetry)', async () => {
      const delivery = { ...finding(50, 'high', 'web-9'), revision: 1, dedupe_key: 'cm-test-0050#1' };
      const stored = await api('POST', '/api/v1/findings', { ...as('sensor'), body: delivery });
      assert.equal(stored.status, 201, stored.text);
      assert.equal(
        (await api('POST', '/api/v1/findings', { ...as('sensor'), body: delivery })).status,
        200,
        'idempotent',
      );
      const audit = readFileSync(join(import.meta.dirname, '../../examples/kinsing-like/var/log/audit/audit.log'));
      const events = await api('POST', '/api/v1/events?host=web-1&name=audit.log', {
        ...as('sensor'),
        body: audit,
        headers: { 'content-type': 'text/plain' },
      });
      assert.equal(events.status, 202, events.text);
      assert.ok((events.json as { events: number }).events > 0);
    });

    test('the live views answer a viewer as the document says (coverage, hosts, one host)', async () => {
      assert.equal((await api('GET', '/api/v1/coverage', as('viewer'))).status, 200);
      const hosts = await api('GET', '/api/v1/hosts', as('viewer'));
      assert.equal(hosts.status, 200);
      assert.ok((hosts.json as { items: { name: string }[] }).items.some((h) => h.name === 'web-1'));
      assert.equal((await api('GET', '/api/v1/hosts/web-1', as('viewer'))).status, 200);
    });

    test('the exports answer as the document says: findings as lines in queue order, a case as its OCSF incident', async () => {
      const idsOf = (text: string) =>
        text
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      const lines = await api('GET', '/api/v1/findings/export?format=ndjson', as('viewer'));
      assert.equal(lines.status, 200);
      assert.match(String(lines.headers['content-disposition']), /^attachment; filename="coalmine-findings\.ndjson"$/);
      const listed = (await api('GET', '/api/v1/findings?limit=500', as('viewer'))).json as {
        items: { finding: Finding }[];
      };
      assert.deepEqual(
        idsOf(lines.text).map((f) => f.id),
        listed.items.map((i) => i.finding.id),
      );
      const critical = await api('GET', '/api/v1/findings/export?format=ocsf&severity=critical', as('analyst'));
      assert.equal(critical.status, 200);
      const detections = idsOf(critical.text);
      assert.ok(detections.length > 0);
      assert.ok(detections.every((d) => d.class_uid === 2004 && d.severity === 'Critical'));
      const incident = await api('GET', '/api/v1/cases/case-2/export?format=ocsf-incident', as('viewer'));
      assert.equal(incident.status, 200, incident.text);
      const [only] = idsOf(incident.text);
      assert.equal(only.class_uid, 2005);
      assert.deepEqual(only.metadata, {
        version: '1.3.0',
        profiles: ['incident'],
        product: (only.metadata as { product: unknown }).product,
        uid: 'case-2',
      });
      const members = await api('GET', '/api/v1/cases/case-2/export?format=ocsf', as('admin'));
      assert.deepEqual(
        idsOf(members.text).map((d) => (d.finding_info as { uid: string }).uid),
        ['cm-test-0002'],
      );
      const bad = await api('GET', '/api/v1/findings/export?format=yaml', as('viewer'));
      assert.equal(bad.status, 400);
      assert.match((bad.json as { error: { reason: string } }).error.reason, /"ndjson", "ocsf"/);
      assert.equal((await api('GET', '/api/v1/cases/case-2/export?format=table', as('viewer'))).status, 400);
      assert.equal((await api('GET', '/api/v1/cases/none/export?format=ndjson', as('viewer'))).status, 404);
    });

    test('every response so far conformed to the document, and every route answered a success', () => {
      assert.deepEqual(problems, []);
      for (const route of app.router.routes) {
        const ok = [...answered].some((a) => a.startsWith(`${route.method} ${route.path} 2`));
        assert.ok(ok, `${route.method} ${route.path} answered 2xx in some test`);
      }
    });
  });
}

apiSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-api-'));
  return { location: join(dir, 'coalmine.db'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

let pg: TestPostgres | undefined;
apiSuite(
  'PostgreSQL',
  async () => {
    pg = await startPostgres();
    const held = pg;
    return { location: held.url, cleanup: () => held.stop() };
  },
  pgSkipReason,
);
