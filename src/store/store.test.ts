/**
 * The store's one suite, run against both backends: SQLite on a real temp file and PostgreSQL on a real
 * server (test/support/postgres.ts: COALMINE_TEST_PG_URL, or a throwaway cluster; only
 * COALMINE_SKIP_PG=1 skips it). Every test opens an empty store of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { storeBackends } from '../../test/support/store-backends.js';
import type { Finding, Severity } from '../model/finding.js';
import { parsePolicy } from '../run/policy.js';
import { groupCases } from '../triage/cases.js';
import { NEXT } from './cases.js';
import type { Db } from './db.js';
import {
  openStore,
  type Store,
  StoreConflictError,
  StoreInputError,
  StoreNotFoundError,
  StoreSchemaError,
} from './index.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';

interface Backend {
  /** A location no store has used yet. */
  fresh: () => Promise<string>;
  raw: (location: string) => Db;
}

const T0 = Date.parse('2026-03-01T00:00:00Z');

/** A finding as the analytics make one (only the fields the store and grouping read vary). */
function finding(id: string, over: Partial<Finding> = {}): Finding {
  return {
    id,
    analytic: 'AN0742',
    title: `Miner on ${over.host ?? 'web-1'}`,
    attack: ['T1496'],
    severity: 'high',
    confidence: 0.9,
    entity: `process:${over.host ?? 'web-1'}:1`,
    related: [],
    host: 'web-1',
    first_seen: '2026-03-01T00:00:00.000Z',
    last_seen: '2026-03-01T01:00:00.000Z',
    legs: ['process'],
    summary: 'xmrig',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: {},
    processes: [],
    usage: null,
    ...over,
  };
}

const rejects = (p: Promise<unknown>, kind: new (...a: never[]) => Error, pattern: RegExp) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  });

async function count(db: Db, sql: string, params: (string | number)[] = []): Promise<number> {
  return Number((await db.get<{ n: number }>(sql, params))!.n);
}

function suite(name: string, setup: () => Promise<Backend>, teardown: () => Promise<void>, skip?: string) {
  describe(`store on ${name}`, { skip }, () => {
    let backend: Backend;
    let clock = T0;
    const open = (location: string) => openStore(location, { now: () => clock });
    const stores: Store[] = [];
    const raws: Db[] = [];
    /** An empty store, and a raw connection to the same database for looking behind the API. */
    const fresh = async (): Promise<{ store: Store; raw: Db; location: string }> => {
      const location = await backend.fresh();
      const store = await open(location);
      const raw = backend.raw(location);
      stores.push(store);
      raws.push(raw);
      return { store, raw, location };
    };
    before(async () => {
      backend = await setup();
    });
    after(async () => {
      for (const s of stores) await s.close();
      for (const r of raws) await r.close();
      await teardown();
    });
    // pg deprecates (and pg@9 refuses) a second query on a client still running one, as Promise.all in a transaction does
    const overlapping: string[] = [];
    const onWarning = (w: Error) => {
      if (/already executing a query/.test(w.message)) overlapping.push(w.message);
    };
    before(() => process.on('warning', onWarning));
    after(() => {
      process.off('warning', onWarning);
      assert.deepEqual(overlapping, [], 'no query was sent on a client that was still running one');
    });

    test('migrations apply once: a reopen applies nothing; a store newer than the code refuses to open', async () => {
      const { store, raw, location } = await fresh();
      const versions = MIGRATIONS.map((m) => m.version);
      const newest = Math.max(...versions);
      assert.deepEqual(store.migrated, versions);
      const again = await open(location);
      assert.deepEqual(again.migrated, []);
      await again.close();
      assert.equal(await count(raw, 'SELECT COUNT(*) AS n FROM schema_migrations'), versions.length);

      await raw.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        99,
        'from the future',
        T0,
      ]);
      await rejects(
        open(location),
        StoreSchemaError,
        new RegExp(`version 99, newer than this coalmine knows \\(${newest}\\)`),
      );
      await raw.run('DELETE FROM schema_migrations WHERE version = ?', [99]);
      const current = await open(location);
      assert.deepEqual(current.migrated, []);
      await current.close();
    });

    test('a revision is stored once per dedupe key: a retry is a duplicate, another body under the key a conflict', async () => {
      const { store, raw } = await fresh();
      const f = finding('f-1');
      assert.deepEqual(await store.findings.ingest({ finding: f, revision: 1 }), {
        outcome: 'stored',
        dedupe_key: 'f-1#1',
        newest: true,
      });
      // watch --webhook's body: the finding with revision and dedupe_key beside its fields
      const delivered = { ...f, revision: 1, dedupe_key: 'f-1#1' };
      const retry = await store.findings.ingest({ finding: delivered, revision: 1, dedupeKey: 'f-1#1' });
      assert.equal(retry.outcome, 'duplicate');
      const changed = await store.findings.ingest({ finding: { ...f, title: 'rewritten' }, revision: 1 });
      assert.equal(changed.outcome, 'conflict');
      assert.equal(await count(raw, 'SELECT COUNT(*) AS n FROM finding_revisions'), 1);
      assert.equal((await store.findings.get('f-1'))!.finding.title, f.title);

      // revisions append; a late older revision is kept but the newest stays the queue's
      await store.findings.ingest({ finding: { ...f, severity: 'critical' }, revision: 3 });
      const late = await store.findings.ingest({ finding: { ...f, severity: 'low' }, revision: 2 });
      assert.deepEqual(late, { outcome: 'stored', dedupe_key: 'f-1#2', newest: false });
      const head = (await store.findings.get('f-1'))!;
      assert.equal(head.revision, 3);
      assert.equal(head.finding.severity, 'critical');
      assert.deepEqual(
        (await store.findings.revisions('f-1')).map((r) => [r.revision, r.finding.severity]),
        [
          [1, 'high'],
          [2, 'low'],
          [3, 'critical'],
        ],
      );
      await rejects(
        raw.run('UPDATE finding_revisions SET body = ? WHERE dedupe_key = ?', ['{}', 'f-1#1']),
        Error,
        /append-only/,
      );
    });

    test('bad findings are refused with the reason and nothing is stored', async () => {
      const { store, raw } = await fresh();
      const cases: Array<[unknown, unknown, RegExp, unknown?]> = [
        [finding('x'), 1, /dedupe_key must be "id#revision"/, 'x#2'],
        [finding('x'), 0, /revision must be an integer/],
        [finding('x'), 1.5, /revision must be an integer/],
        [{ ...finding('x'), severity: 'apocalyptic' }, 1, /severity must be one of/],
        [{ ...finding('x'), last_seen: 'yesterday' }, 1, /last_seen "yesterday" is not a time/],
        [{ ...finding('x'), id: 'i'.repeat(300) }, 1, /finding id is 300 characters/],
        [{ ...finding('x'), summary: 's'.repeat(5 * 1024 * 1024) }, 1, /characters of JSON \(at most/],
        [['not', 'an', 'object'], 1, /finding must be an object/],
      ];
      for (const [body, revision, reason, dedupeKey] of cases)
        await rejects(store.findings.ingest({ finding: body, revision, dedupeKey }), StoreInputError, reason);
      assert.equal(await count(raw, 'SELECT COUNT(*) AS n FROM finding_revisions'), 0);
      assert.equal(await count(raw, 'SELECT COUNT(*) AS n FROM findings'), 0);

      // hostile text is data: stored and read back exactly (NUL and all, inside the JSON)
      const hostile = finding('h', { title: "<script>x</script>'); DROP TABLE findings; --\u0000\u001b[31m" });
      assert.equal((await store.findings.ingest({ finding: hostile, revision: 1 })).outcome, 'stored');
      assert.equal((await store.findings.get('h'))!.finding.title, hostile.title);
    });

    test('lists page by cursor over many pages in a stable queue order; a forged or foreign cursor is refused', async () => {
      const { store } = await fresh();
      const severities: Severity[] = ['low', 'medium', 'high', 'critical'];
      const made: Finding[] = [];
      for (let i = 0; i < 23; i++) {
        // ties on severity and on last_seen, so the id decides within them
        const f = finding(`f${(i * 7919) % 1000}`.padEnd(6, '0'), {
          severity: severities[i % 4],
          host: i % 3 === 0 ? 'db-1' : 'web-1',
          last_seen: new Date(T0 + (i % 5) * 60_000).toISOString(),
        });
        made.push(f);
        await store.findings.ingest({ finding: f, revision: 1 });
      }
      const rank = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };
      const expected = [...made]
        .sort(
          (a, b) =>
            rank[b.severity] - rank[a.severity] ||
            Date.parse(b.last_seen) - Date.parse(a.last_seen) ||
            (a.id < b.id ? -1 : 1),
        )
        .map((f) => f.id);
      const walk = async (filter: Parameters<Store['findings']['list']>[0], limit: number) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.findings.list(filter, { limit, cursor });
          ids.push(...page.items.map((x) => x.finding.id));
          cursor = page.next;
          pages++;
        } while (cursor);
        return { ids, pages };
      };
      const all = await walk({}, 5);
      assert.equal(all.pages, 5);
      assert.deepEqual(all.ids, expected);
      const db1 = await walk({ host: 'db-1' }, 2);
      assert.deepEqual(
        db1.ids,
        expected.filter((id) => made.find((f) => f.id === id)!.host === 'db-1'),
      );
      assert.ok(db1.pages > 2);
      const severe = await walk({ severity: ['critical', 'high'] }, 4);
      assert.deepEqual(
        severe.ids,
        expected.filter((id) => ['critical', 'high'].includes(made.find((f) => f.id === id)!.severity)),
      );

      const first = await store.findings.list({}, { limit: 5 });
      const next = first.next!;
      const [payload, mac] = next.split('.');
      const forgedKey = Buffer.from(JSON.stringify([0, 0, ''])).toString('base64url');
      for (const forged of [
        `${forgedKey}.${mac}`,
        `${payload}.${mac.slice(0, -2)}AA`,
        `${payload}x.${mac}`,
        'garbage',
        '',
        'a'.repeat(5000),
      ])
        await rejects(store.findings.list({}, { limit: 5, cursor: forged }), StoreInputError, /cursor refused/);
      // a cursor continues only the query it came from
      await rejects(
        store.findings.list({ host: 'db-1' }, { limit: 5, cursor: next }),
        StoreInputError,
        /cursor refused/,
      );
      await rejects(store.findings.list({}, { limit: 0 }), StoreInputError, /limit must be/);
      await rejects(store.findings.list({ severity: ['bad' as Severity] }), StoreInputError, /unknown severity/);
    });

    test('cases: the state machine refuses illegal moves with a reason and writes nothing; every change is audited', async () => {
      const { store, raw } = await fresh();
      const members = [finding('a1'), finding('a2', { severity: 'critical' })];
      for (const f of members) await store.findings.ingest({ finding: f, revision: 1 });
      const [grouped] = groupCases(members);
      const checklist = [
        { id: 'legitimate-process', label: 'Is the process legitimate?' },
        { id: 'isolate', label: 'Isolate web-1' },
      ];
      const made = await store.cases.create(grouped, { actor: 'alice', checklist });
      assert.equal(made.created, true);
      assert.equal((await store.cases.create(grouped, { actor: 'alice', checklist })).created, false);
      const id = grouped.id;
      assert.deepEqual(made.case.findings, ['a1', 'a2']);
      assert.equal(made.case.state, 'new');
      assert.equal(made.case.severity, 'critical');

      const trail = async () => (await store.audit.list('case', id)).items;
      const unchanged = async (change: () => Promise<unknown>, reason: RegExp) => {
        const before = await store.cases.get(id);
        const rows = (await trail()).length;
        await rejects(change(), StoreInputError, reason);
        assert.deepEqual(await store.cases.get(id), before);
        assert.equal((await trail()).length, rows);
      };

      await store.cases.transition(id, 'triaged', { actor: 'alice' });
      await unchanged(
        () => store.cases.transition(id, 'new', { actor: 'alice' }),
        /cannot go from triaged to new \(from triaged: escalated, contained, closed\)/,
      );
      await unchanged(
        () => store.cases.transition(id, 'triaged', { actor: 'alice' }),
        /cannot go from triaged to triaged/,
      );
      await unchanged(() => store.cases.transition(id, 'closed', { actor: 'alice' }), /closing needs a resolution/);
      await unchanged(
        () => store.cases.transition(id, 'closed', { actor: 'alice', resolution: 'maybe' as 'benign' }),
        /closing needs a resolution: true-positive, benign, false-positive/,
      );
      await unchanged(
        () => store.cases.transition(id, 'escalated', { actor: 'alice', resolution: 'benign' }),
        /a resolution is given only when closing/,
      );
      await unchanged(() => store.cases.reopen(id, { actor: 'alice', reason: 'x' }), /not closed: nothing to reopen/);
      await unchanged(() => store.cases.tickStep(id, 'nope', true, { actor: 'alice' }), /no checklist step "nope"/);
      await unchanged(() => store.cases.transition(id, 'bogus' as 'new', { actor: 'alice' }), /unknown state "bogus"/);
      await unchanged(() => store.cases.transition(id, 'resolved' as 'new', { actor: 'alice' }), /unknown state/);
      await store.cases.assign(id, 'bob', { actor: 'alice' });
      await store.cases.transition(id, 'escalated', { actor: 'bob' });
      await unchanged(
        () => store.cases.transition(id, 'triaged', { actor: 'bob' }),
        /cannot go from escalated to triaged/,
      );
      clock += 1000;
      await store.cases.tickStep(id, 'isolate', true, { actor: 'bob' });
      await store.cases.addNote(id, 'pool login matches the campaign <b>wallet</b>', { actor: 'bob' });
      await store.cases.transition(id, 'contained', { actor: 'bob' });
      const resolved = await store.cases.transition(id, 'closed', { actor: 'bob', resolution: 'true-positive' });
      assert.equal(resolved.state, 'closed');
      assert.equal(resolved.resolution, 'true-positive');
      assert.equal(resolved.resolved_at, clock);
      assert.deepEqual(
        resolved.checklist.map((s) => [s.id, s.done_by, s.done_at]),
        [
          ['legitimate-process', null, null],
          ['isolate', 'bob', clock],
        ],
      );
      assert.equal(resolved.notes[0].text, 'pool login matches the campaign <b>wallet</b>');
      assert.equal(resolved.notes[0].author, 'bob');
      await unchanged(
        () => store.cases.transition(id, 'contained', { actor: 'bob' }),
        /closed: only reopen \(with a reason\) moves it/,
      );
      await unchanged(() => store.cases.reopen(id, { actor: 'bob', reason: ' ' }), /reopen reason is required/);
      const reopened = await store.cases.reopen(id, { actor: 'system', reason: 'xmrig relaunched after closure' });
      assert.equal(reopened.state, 'new');
      assert.equal(reopened.resolution, null);
      assert.equal(reopened.reopened, 1);

      const actions = (await trail()).map((e) => [e.actor, e.action]);
      assert.deepEqual(actions, [
        ['alice', 'create'],
        ['alice', 'transition'],
        ['alice', 'assign'],
        ['bob', 'transition'],
        ['bob', 'tick'],
        ['bob', 'note'],
        ['bob', 'transition'],
        ['bob', 'close'],
        ['system', 'reopen'],
      ]);
      assert.deepEqual(
        (await trail()).slice(1, 8).map((e) => e.detail),
        [
          { from: 'new', to: 'triaged' },
          { from: null, to: 'bob' },
          { from: 'triaged', to: 'escalated' },
          { step: 'isolate' },
          { note_id: resolved.notes[0].id },
          { from: 'escalated', to: 'contained' },
          { from: 'contained', to: 'closed', resolution: 'true-positive' },
        ],
      );
      assert.equal(reopened.version, 9);
      assert.deepEqual((await trail())[8].detail, {
        reason: 'xmrig relaunched after closure',
        previous_resolution: 'true-positive',
      });

      // findings filter by their case's state
      const inNew = await store.findings.list({ state: 'new' });
      assert.deepEqual(inNew.items.map((f) => f.finding.id).sort(), ['a1', 'a2']);
      assert.deepEqual((await store.findings.list({ state: 'closed' })).items, []);
      assert.deepEqual(
        (await store.cases.list({ state: 'new' })).items.map((c) => c.id),
        [id],
      );

      // a stale version (another analyst's change) is refused
      await rejects(
        store.cases.assign(id, 'carol', { actor: 'carol', expectedVersion: 3 }),
        StoreConflictError,
        /at version 9, not 3/,
      );
      assert.equal(await count(raw, 'SELECT COUNT(*) AS n FROM audit_log WHERE subject_id = ?', [id]), 9);
    });

    test('cases: a state may be skipped forward, never gone back to; benign-authorized is taken as benign', async () => {
      const { store } = await fresh();
      assert.deepEqual(NEXT, {
        new: ['triaged', 'escalated', 'contained', 'closed'],
        triaged: ['escalated', 'contained', 'closed'],
        escalated: ['contained', 'closed'],
        contained: ['closed'],
        closed: [],
      });
      const make = async (id: string) => {
        await store.findings.ingest({ finding: finding(id, { host: id }), revision: 1 });
        const [grouped] = groupCases([finding(id, { host: id })]);
        return (await store.cases.create(grouped, { actor: 'a' })).case.id;
      };
      // a plain false positive: new → closed
      const fp = await make('s1');
      const closed = await store.cases.transition(fp, 'closed', { actor: 'ana', resolution: 'false-positive' });
      assert.deepEqual([closed.state, closed.resolution], ['closed', 'false-positive']);
      // Tier 2 at once: new → escalated, then closed without containment recorded
      const t2 = await make('s2');
      assert.equal((await store.cases.transition(t2, 'escalated', { actor: 'ana' })).state, 'escalated');
      await rejects(store.cases.transition(t2, 'new', { actor: 'ana' }), StoreInputError, /escalated to new/);
      const tp = await store.cases.transition(t2, 'closed', { actor: 'ana', resolution: 'true-positive' });
      assert.equal(tp.state, 'closed');
      // triaged → closed as benign, under its earlier name too
      const b = await make('s3');
      await store.cases.transition(b, 'triaged', { actor: 'ana' });
      const benign = await store.cases.transition(b, 'closed', { actor: 'ana', resolution: 'benign-authorized' });
      assert.deepEqual([benign.state, benign.resolution], ['closed', 'benign']);
      assert.deepEqual((await store.audit.list('case', b)).items.at(-1)?.detail, {
        from: 'triaged',
        to: 'closed',
        resolution: 'benign',
      });
      // new → contained
      const c = await make('s4');
      assert.equal((await store.cases.transition(c, 'contained', { actor: 'ana' })).state, 'contained');
      await rejects(
        store.cases.transition(c, 'escalated', { actor: 'ana' }),
        StoreInputError,
        /contained to escalated/,
      );
      assert.deepEqual((await store.cases.list({ state: 'closed' })).items.map((x) => x.id).sort(), [fp, t2, b].sort());
      await rejects(store.cases.list({ state: 'resolved' as 'closed' }), StoreInputError, /unknown state/);
    });

    test("migration 9: a store written with the earlier states and resolution opens with the contract's", async () => {
      const location = await backend.fresh();
      const raw = backend.raw(location);
      raws.push(raw);
      // the schema as the earlier coalmine left it (migrations 1–8), its cases in that coalmine's words
      await migrate(
        raw,
        T0,
        MIGRATIONS.filter((m) => m.version <= 8),
      );
      const old: [string, string, string | null][] = [
        ['c-new', 'new', null],
        ['c-ack', 'acknowledged', null],
        ['c-prog', 'in_progress', null],
        ['c-tp', 'resolved', 'true-positive'],
        ['c-fp', 'resolved', 'false-positive'],
        ['c-benign', 'resolved', 'benign-authorized'],
      ];
      for (const [id, state, resolution] of old) {
        const [grouped] = groupCases([finding(`f-${id}`, { host: id })]);
        await raw.run(
          `INSERT INTO cases (id, title, severity, severity_rank, tier, state, resolution, assignee, body, version, reopened, created_at, updated_at, resolved_at)
           VALUES (?, ?, 'high', 3, 'Tier 1', ?, ?, NULL, ?, 2, 0, ?, ?, ?)`,
          [id, id, state, resolution, JSON.stringify({ ...grouped, id }), T0, T0, resolution ? T0 : null],
        );
        await raw.run('INSERT INTO case_findings (case_id, finding_id) VALUES (?, ?)', [id, `f-${id}`]);
        await raw.run(
          'INSERT INTO audit_log (id, at, actor, subject_type, subject_id, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [`a-${id}`, T0, 'ana', 'case', id, 'transition', JSON.stringify({ from: 'new', to: state })],
        );
      }

      const store = await open(location);
      stores.push(store);
      assert.deepEqual(store.migrated, [9, ...MIGRATIONS.map((m) => m.version).filter((v) => v > 9)]);
      const now = await Promise.all(old.map(([id]) => store.cases.get(id)));
      assert.deepEqual(
        now.map((c) => [c?.id, c?.state, c?.resolution, c?.version]),
        [
          ['c-new', 'new', null, 2],
          ['c-ack', 'triaged', null, 2],
          ['c-prog', 'escalated', null, 2],
          ['c-tp', 'closed', 'true-positive', 2],
          ['c-fp', 'closed', 'false-positive', 2],
          ['c-benign', 'closed', 'benign', 2],
        ],
      );
      assert.equal(
        await count(raw, "SELECT COUNT(*) AS n FROM cases WHERE state IN ('acknowledged', 'in_progress', 'resolved')"),
        0,
      );
      // the trail keeps the words its rows were written with (append-only)
      assert.deepEqual(
        (await store.audit.list('case', 'c-ack')).items.map((e) => e.detail),
        [{ from: 'new', to: 'acknowledged' }],
      );
      // and the cases work on from their new states
      assert.equal((await store.cases.transition('c-prog', 'contained', { actor: 'ana' })).state, 'contained');
      assert.equal((await store.cases.reopen('c-benign', { actor: 'ingest', reason: 'recurred' })).state, 'new');
      await rejects(store.cases.addFindings('c-tp', ['x'], { actor: 'ingest' }), StoreInputError, /is closed/);
      assert.deepEqual(
        (await store.cases.list({ state: 'triaged' })).items.map((c) => c.id),
        ['c-ack'],
      );
      // a host's open cases: the triaged one counts, the closed one does not
      for (const id of ['c-ack', 'c-fp'])
        await store.findings.ingest({ finding: finding(`f-${id}`, { host: id }), revision: 1 });
      assert.deepEqual(
        await store.findings.hostCounts(['c-ack', 'c-fp']),
        new Map([
          ['c-ack', { findings: 1, openCases: 1 }],
          ['c-fp', { findings: 1, openCases: 0 }],
        ]),
      );
    });

    test('two writers racing on one case: no lost update (each change applied once, or refused as a conflict)', async () => {
      const { store } = await fresh();
      const [grouped] = groupCases([finding('r1')]);
      await store.cases.create(grouped, { actor: 'a' });
      const results = await Promise.allSettled(
        ['u1', 'u2', 'u3', 'u4'].map((who) => store.cases.addNote(grouped.id, `note by ${who}`, { actor: who })),
      );
      for (const r of results)
        if (r.status === 'rejected') assert.ok(r.reason instanceof StoreConflictError, String(r.reason));
      const applied = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(applied >= 1);
      const now = (await store.cases.get(grouped.id))!;
      assert.equal(now.version, 1 + applied);
      assert.equal(now.notes.length, applied);
      assert.equal((await store.audit.list('case', grouped.id)).items.length, 1 + applied);
    });

    test('the audit trail has no way to be altered: no API for it, and the database refuses UPDATE and DELETE', async () => {
      const { store, raw } = await fresh();
      await store.audit.append({
        actor: 'admin',
        subject_type: 'store',
        subject_id: 'export',
        action: 'export',
        detail: {},
      });
      assert.deepEqual(Object.keys(store.audit).sort(), ['append', 'list']);
      // row triggers fire only on rows: give the notes table one
      const [grouped] = groupCases([finding('t1')]);
      await store.cases.create(grouped, { actor: 'a' });
      await store.cases.addNote(grouped.id, 'first', { actor: 'a' });
      await rejects(raw.run('UPDATE audit_log SET actor = ?', ['mallory']), Error, /append-only/);
      await rejects(raw.run('DELETE FROM audit_log'), Error, /append-only/);
      if (raw.dialect === 'postgres') await rejects(raw.run('TRUNCATE audit_log'), Error, /append-only/);
      await rejects(raw.run('DELETE FROM case_notes'), Error, /append-only/);
      const rows = (await store.audit.list('store', 'export')).items;
      assert.deepEqual(
        rows.map((r) => [r.actor, r.action, r.at]),
        [['admin', 'export', clock]],
      );
      // a subject's trail pages by cursor, oldest first
      for (let i = 0; i < 5; i++)
        await store.audit.append({
          actor: 'a',
          subject_type: 'token',
          subject_id: 't',
          action: `step${i}`,
          detail: { i },
        });
      const page1 = await store.audit.list('token', 't', { limit: 3 });
      const page2 = await store.audit.list('token', 't', { limit: 3, cursor: page1.next });
      assert.deepEqual(
        [...page1.items, ...page2.items].map((r) => r.action),
        ['step0', 'step1', 'step2', 'step3', 'step4'],
      );
      assert.equal(page2.next, undefined);
      await rejects(store.audit.list('token', 'other', { cursor: page1.next }), StoreInputError, /cursor refused/);
    });

    test('tokens: the secret is shown once and stored hashed; verify takes only the right live secret', async () => {
      const { store, raw } = await fresh();
      const { token, secret } = await store.tokens.create({ name: 'sensor web-1', role: 'sensor', actor: 'admin' });
      assert.match(secret, /^cm_[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(secret.slice(3), 'base64url').length, 32);
      const stored = await raw.all<Record<string, unknown>>('SELECT * FROM api_tokens');
      assert.ok(!JSON.stringify(stored).includes(secret.slice(3)), 'the secret itself is never stored');
      assert.equal((await store.tokens.verify(secret))?.role, 'sensor');
      const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      for (const bad of [
        wrong,
        secret.slice(0, -1),
        `${secret}x`,
        secret.slice(3),
        '',
        undefined,
        42,
        `cm_${'A'.repeat(43)}`,
      ])
        assert.equal(await store.tokens.verify(bad), undefined, `verify(${String(bad)})`);
      const other = await store.tokens.create({ name: 'alice', role: 'analyst', actor: 'admin' });
      assert.equal(await store.tokens.revoke(token.id, { actor: 'admin' }), true);
      assert.equal(await store.tokens.verify(secret), undefined);
      assert.equal(await store.tokens.revoke(token.id, { actor: 'admin' }), false);
      assert.equal((await store.tokens.verify(other.secret))?.name, 'alice');
      await rejects(
        store.tokens.create({ name: 'x', role: 'root' as 'admin', actor: 'admin' }),
        StoreInputError,
        /role must be/,
      );
      assert.deepEqual(
        (await store.audit.list('token', token.id)).items.map((e) => e.action),
        ['create', 'revoke'],
      );
      assert.deepEqual(
        (await store.tokens.list()).map((t) => [t.name, t.revoked_at !== null]),
        [
          ['sensor web-1', true],
          ['alice', false],
        ],
      );
    });

    test('allowlist: versioned entries (owner, reason, expiry required) exported as YAML the policy loader reads back', async () => {
      const { store } = await fresh();
      const hostile = 'approved by CAB-12: "load test"\n# not a comment\nallowlist: [] *glob* \u202e';
      const v1 = await store.allowlist.create(
        {
          match: { executable: '/opt/bench/xmrig', host: 'perf-1' },
          analytics: ['AN0742'],
          owner: 'perf team',
          reason: hostile,
          expires: '2026-06-30',
        },
        { actor: 'alice' },
      );
      assert.equal(v1.version, 1);
      const v2 = await store.allowlist.update(
        v1.id,
        { match: { executable: '/opt/bench/xmrig' }, owner: 'perf team', reason: 'whole fleet', expires: '2026-07-31' },
        { actor: 'bob', expectedVersion: 1 },
      );
      assert.equal(v2.version, 2);
      await rejects(
        store.allowlist.update(v1.id, { ...v2, reason: 'stale edit' }, { actor: 'carol', expectedVersion: 1 }),
        StoreConflictError,
        /at version 2, not 1/,
      );
      const second = await store.allowlist.create(
        { match: { command: 'stress-ng *' }, owner: 'sre', reason: hostile, expires: '2027-01-01' },
        { actor: 'alice' },
      );
      const history = await store.allowlist.history(v1.id);
      assert.deepEqual(
        history.map((h) => [h.version, h.reason, h.created_by]),
        [
          [1, hostile, 'alice'],
          [2, 'whole fleet', 'bob'],
        ],
      );

      const yaml = await store.allowlist.exportYaml();
      const { policy, errors } = parsePolicy('exported.yaml', yaml);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        policy.allowlist.map(({ ref: _ref, ...e }) => e),
        [
          {
            match: { executable: '/opt/bench/xmrig' },
            analytics: [],
            owner: 'perf team',
            reason: 'whole fleet',
            expires: '2026-07-31',
          },
          { match: { command: 'stress-ng *' }, analytics: [], owner: 'sre', reason: hostile, expires: '2027-01-01' },
        ],
      );

      const retired = await store.allowlist.retire(v1.id, { actor: 'alice' });
      assert.equal(retired.retired, true);
      assert.deepEqual(
        (await store.allowlist.current()).map((e) => e.id),
        [second.id],
      );
      assert.equal((await store.allowlist.history(v1.id)).length, 3);
      await rejects(store.allowlist.update(v1.id, v2, { actor: 'x' }), StoreInputError, /retired/);
      assert.deepEqual(
        (await store.audit.list('allowlist', v1.id)).items.map((e) => [e.actor, e.action]),
        [
          ['alice', 'create'],
          ['bob', 'update'],
          ['alice', 'retire'],
        ],
      );

      const base = { match: { host: 'h' }, owner: 'o', reason: 'r', expires: '2026-01-01' };
      for (const [bad, reason] of [
        [{ ...base, owner: '' }, /owner is required/],
        [{ ...base, reason: undefined }, /reason is required/],
        [{ ...base, expires: '2026-02-30' }, /not a date/],
        [{ ...base, expires: 'next week' }, /expires/],
        [{ ...base, match: {} }, /needs "match"/],
        [{ ...base, match: { pid: '1' } }, /unknown match field "pid"/],
        [{ ...base, analytics: ['AN 0742'] }, /analytic ids/],
      ] as const)
        await rejects(store.allowlist.create(bad as never, { actor: 'a' }), StoreInputError, reason);
      assert.equal((await store.allowlist.current()).length, 1);
    });

    test('sensors: first contact registers, later ones move last seen and what it cannot see', async () => {
      const { store } = await fresh();
      await store.sensors.seen({ id: 's1', host: 'web-1', version: '0.1.0', cannot_see: ['no root'] });
      clock += 60_000;
      const s = await store.sensors.seen({ id: 's1', host: 'web-1', version: '0.2.0', cannot_see: [] });
      assert.deepEqual(s, {
        id: 's1',
        host: 'web-1',
        version: '0.2.0',
        cannot_see: [],
        first_seen: clock - 60_000,
        last_seen: clock,
        heartbeat: null,
        stale: false,
      });
      const long = await store.sensors.seen({
        id: 's2',
        host: 'h'.repeat(2000),
        version: '1',
        cannot_see: ['x'.repeat(600)],
      });
      assert.match(long.host, /…\[\+1488\]$/);
      assert.match(long.cannot_see[0], /…\[\+88\]$/);
      await rejects(
        store.sensors.seen({ id: 's3', host: 'h', version: '1', cannot_see: Array(65).fill('g') }),
        StoreInputError,
        /at most 64/,
      );
      await rejects(store.sensors.seen({ id: '', host: 'h', version: '1' }), StoreInputError, /sensor id is required/);
      assert.deepEqual(
        (await store.sensors.list()).map((x) => x.id),
        ['s1', 's2'],
      );
    });

    test('sensors: the latest heartbeat replaces the one before, keeps its list against a contact, and goes stale after three intervals', async () => {
      const { store } = await fresh();
      const beat = {
        version: '0.3.0',
        hostname: 'web-1',
        platform: 'linux',
        kernel: '6.1.0-18-amd64',
        root: false,
        interval_s: 60,
        gaps: [{ kind: 'fd_unreadable', count: 12 }],
        cannot_see: ["not running as root: other users' fd tables and exe links are unreadable"],
      };
      await store.sensors.heartbeat('s1', { ...beat, gaps: [{ kind: 'exe_unreadable', count: 3 }] });
      const first = await store.sensors.get('s1');
      assert.equal(first?.first_seen, clock);
      clock += 30_000;
      const s = await store.sensors.heartbeat('s1', beat);
      assert.deepEqual(s, {
        id: 's1',
        host: 'web-1',
        version: '0.3.0',
        cannot_see: beat.cannot_see,
        first_seen: clock - 30_000,
        last_seen: clock,
        heartbeat: { ...beat, received_at: clock },
        stale: false,
      });
      // an ingest contact (what ingest.ts writes: the list it read) moves last seen, never the heartbeat's list
      clock += 10_000;
      const contact = await store.sensors.seen({
        id: 's1',
        host: 'web-1',
        version: 'coalmine-watch/0.3.0',
        cannot_see: [],
      });
      assert.deepEqual(contact.cannot_see, beat.cannot_see);
      assert.equal(contact.last_seen, clock);
      assert.equal(contact.heartbeat?.received_at, clock - 10_000);
      clock += 3 * 60_000;
      assert.equal((await store.sensors.get('s1'))?.stale, false, 'three intervals exactly is not yet stale');
      clock += 1;
      assert.equal((await store.sensors.get('s1'))?.stale, true);
      // its own interval decides: a sensor beating every 10 minutes is fresh after 20
      await store.sensors.heartbeat('s2', { ...beat, interval_s: 600 });
      clock += 20 * 60_000;
      assert.deepEqual(
        (await store.sensors.list()).map((x) => [x.id, x.stale]),
        [
          ['s1', true],
          ['s2', false],
        ],
      );
      // hostile fields are clipped, NUL replaced; shapes out of bounds are refused with the field named
      const clipped = await store.sensors.heartbeat('s3', {
        ...beat,
        hostname: `h\u0000${'x'.repeat(600)}`,
        kernel: 'k'.repeat(300),
        gaps: [{ kind: `\u001b[31m${'g'.repeat(70)}`, count: 1 }],
        cannot_see: ['y'.repeat(600)],
      });
      assert.match(clipped.host, /^h\ufffdx+…\[\+90\]$/);
      assert.match(clipped.heartbeat!.kernel, /…\[\+44\]$/);
      assert.match(clipped.heartbeat!.gaps[0].kind, /^\u001b\[31mg+…/);
      assert.match(clipped.cannot_see[0], /…\[\+88\]$/);
      for (const [bad, reason] of [
        [{ ...beat, interval_s: 1 }, /interval_s/],
        [{ ...beat, interval_s: 60.5 }, /interval_s/],
        [{ ...beat, root: 'yes' }, /root must be true or false/],
        [{ ...beat, gaps: Array(65).fill({ kind: 'k', count: 1 }) }, /at most 64 kinds/],
        [{ ...beat, gaps: [{ kind: 'k', count: -1 }] }, /gaps\[0\]\.count/],
        [{ ...beat, gaps: [{ kind: 7, count: 1 }] }, /gaps\[0\]\.kind must be a string/],
        [{ ...beat, cannot_see: Array(65).fill('c') }, /cannot_see must list at most 64/],
        [{ ...beat, version: 'v'.repeat(64 * 64 + 1) }, /heartbeat version is 4097 characters/],
      ] as const)
        await rejects(store.sensors.heartbeat('s4', bad as never), StoreInputError, reason);
      await rejects(store.sensors.heartbeat('', beat), StoreInputError, /sensor id is required/);
      assert.equal(await store.sensors.get('s4'), undefined);
    });

    test('links find the cases of findings sharing a key; members list worst first; a new headline is audited; hosts are counted', async () => {
      const { store } = await fresh();
      const a = finding('l1', { severity: 'medium', title: 'Miner on web-1' });
      const b = finding('l2', { host: 'web-2', severity: 'low', title: 'Miner on web-2' });
      for (const f of [a, b]) await store.findings.ingest({ finding: f, revision: 1 });
      const [caseA] = groupCases([a]);
      const [caseB] = groupCases([b]);
      await store.cases.create(caseA, { actor: 'ingest' });
      await store.cases.create(caseB, { actor: 'ingest' });
      await store.findings.addLinks('l1', ['case|host|web-1', 'case|dest|pool.example:3333']);
      await store.findings.addLinks('l1', ['case|host|web-1']);
      await store.findings.addLinks('l2', ['case|host|web-2', 'case|dest|pool.example:3333']);
      assert.deepEqual(
        (await store.cases.linkedTo(['case|host|web-1'])).map((c) => c.id),
        [caseA.id],
      );
      assert.deepEqual(
        (await store.cases.linkedTo(['case|dest|pool.example:3333', 'case|host|nowhere'])).map((c) => c.id).sort(),
        [caseA.id, caseB.id].sort(),
      );
      assert.deepEqual(await store.cases.linkedTo(['case|host|nowhere']), []);
      assert.deepEqual(await store.cases.linkedTo([]), []);
      await rejects(store.findings.addLinks('l1', Array(65).fill('k')), StoreInputError, /at most 64 links/);
      await rejects(store.findings.addLinks('l1', ['']), StoreInputError, /finding link is required/);

      // a worse finding joins: members list it first, and the headline follows with its audit row
      const c = finding('l3', { severity: 'critical', title: 'Miner and rootkit on web-1' });
      await store.findings.ingest({ finding: c, revision: 1 });
      await store.cases.addFindings(caseA.id, ['l3'], { actor: 'ingest' });
      assert.deepEqual(
        (await store.cases.members(caseA.id)).map((m) => [m.id, m.severity, m.host, m.suppressed]),
        [
          ['l3', 'critical', 'web-1', false],
          ['l1', 'medium', 'web-1', false],
        ],
      );
      const renamed = await store.cases.setHeadline(
        caseA.id,
        { title: 'Miner and rootkit on web-1 (+1 more on web-1)', severity: 'critical', tier: 'Tier 2' },
        { actor: 'ingest' },
      );
      assert.deepEqual(
        [renamed.title, renamed.severity, renamed.tier],
        ['Miner and rootkit on web-1 (+1 more on web-1)', 'critical', 'Tier 2'],
      );
      assert.equal(
        (await store.cases.list({}, { limit: 1 })).items[0].id,
        caseA.id,
        'the queue orders by the new severity',
      );
      const [row] = (await store.audit.list('case', caseA.id)).items.filter((e) => e.action === 'headline');
      assert.deepEqual(row.detail, {
        from: { title: caseA.title, severity: 'medium', tier: caseA.tier },
        to: { title: renamed.title, severity: 'critical', tier: 'Tier 2' },
      });
      await rejects(
        store.cases.setHeadline(
          caseA.id,
          { title: renamed.title, severity: 'critical', tier: 'Tier 2' },
          { actor: 'i' },
        ),
        StoreInputError,
        /already has this headline/,
      );
      await rejects(
        store.cases.setHeadline(caseA.id, { title: 't', severity: 'dire' as Severity, tier: 'L1' }, { actor: 'i' }),
        StoreInputError,
        /not a severity/,
      );

      // per host: its findings and the open cases holding them; a closed case is not counted
      await store.cases.transition(caseB.id, 'closed', { actor: 'a', resolution: 'false-positive' });
      const counts = await store.findings.hostCounts(['web-1', 'web-2', 'web-3']);
      assert.deepEqual(Object.fromEntries(counts), {
        'web-1': { findings: 2, openCases: 1 },
        'web-2': { findings: 1, openCases: 0 },
        'web-3': { findings: 0, openCases: 0 },
      });
      assert.deepEqual(
        (await store.cases.ofHost('web-2')).map((x) => [x.id, x.state]),
        [[caseB.id, 'closed']],
      );
      assert.deepEqual(await store.cases.ofHost('web-3'), []);
    });

    test('merging: the findings move to the survivor, the merged case points to it and leaves the queue, both audit it', async () => {
      const { store } = await fresh();
      const members = [
        finding('m1'),
        finding('m2', { host: 'web-2', severity: 'critical' }),
        finding('m3', { host: 'web-3' }),
      ];
      for (const f of members) await store.findings.ingest({ finding: f, revision: 1 });
      const [older, newer, third] = members.map((f) => groupCases([f])[0]);
      await store.cases.create(older, { actor: 'ingest' });
      clock += 1000;
      await store.cases.create(newer, { actor: 'ingest', checklist: [{ id: 'isolate', label: 'Isolate web-2' }] });
      await store.cases.addNote(newer.id, 'seen by ana', { actor: 'ana' });
      clock += 1000;
      await store.cases.create(third, { actor: 'ingest' });
      await store.cases.transition(third.id, 'closed', { actor: 'ana', resolution: 'false-positive' });

      const survivor = await store.cases.merge(older.id, newer.id, {
        actor: 'ingest',
        reason: 'finding m4 links them',
      });
      assert.deepEqual(survivor.findings, ['m1', 'm2']);
      assert.equal(survivor.merged_into, null);
      const merged = (await store.cases.get(newer.id))!;
      assert.equal(merged.merged_into, older.id);
      assert.deepEqual(merged.findings, []);
      assert.equal(merged.notes.length, 1, 'its history stays with it');
      assert.deepEqual(
        (await store.cases.ofFinding('m2')).map((c) => c.id),
        [older.id],
      );
      assert.deepEqual((await store.cases.list()).items.map((c) => c.id).sort(), [older.id, third.id].sort());
      const [toSurvivor] = (await store.audit.list('case', older.id)).items.filter((e) => e.action === 'merge');
      assert.deepEqual(toSurvivor.detail, { merged: newer.id, findings: ['m2'], reason: 'finding m4 links them' });
      const [toMerged] = (await store.audit.list('case', newer.id)).items.filter((e) => e.action === 'merged');
      assert.deepEqual(toMerged.detail, { into: older.id, findings: ['m2'], reason: 'finding m4 links them' });

      // a merged case takes no more work; a resolved one, itself, or a merged one again do not merge
      await rejects(
        store.cases.transition(newer.id, 'triaged', { actor: 'ana' }),
        StoreInputError,
        new RegExp(`merged into ${older.id}`),
      );
      await rejects(store.cases.addFindings(newer.id, ['m9'], { actor: 'ingest' }), StoreInputError, /merged into/);
      await rejects(
        store.cases.merge(older.id, newer.id, { actor: 'i', reason: 'r' }),
        StoreInputError,
        /already merged/,
      );
      await rejects(store.cases.merge(older.id, third.id, { actor: 'i', reason: 'r' }), StoreInputError, /is closed/);
      await rejects(store.cases.merge(older.id, older.id, { actor: 'i', reason: 'r' }), StoreInputError, /into itself/);
      await rejects(
        store.cases.merge(older.id, 'case-none', { actor: 'i', reason: 'r' }),
        StoreNotFoundError,
        /no case/,
      );
      assert.deepEqual((await store.cases.get(older.id))!.findings, ['m1', 'm2'], 'a refused merge writes nothing');
    });

    test('text bounds: long notes are clipped, absurd ones refused', async () => {
      const { store } = await fresh();
      const [grouped] = groupCases([finding('n1')]);
      await store.cases.create(grouped, { actor: 'a' });
      const c = await store.cases.addNote(grouped.id, `${'n'.repeat(20_000)}\u0000`, { actor: 'a' });
      assert.equal(c.notes[0].text.length < 16_500, true);
      assert.match(c.notes[0].text, /…\[\+\d+\]$/);
      await rejects(
        store.cases.addNote(grouped.id, 'n'.repeat(2 * 1024 * 1024), { actor: 'a' }),
        StoreInputError,
        /note is/,
      );
      await rejects(store.cases.addNote(grouped.id, 'ok', { actor: 'a'.repeat(300) }), StoreInputError, /actor is 300/);
    });

    test('partition checkpoints: the latest per partition, never an older sequence over a newer', async () => {
      const { store } = await fresh();
      assert.equal(await store.checkpoints.load(3), undefined);
      const state = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
      assert.equal(await store.checkpoints.save(3, 120, 'sha256:a', state), true);
      assert.equal(await store.checkpoints.save(3, 90, 'sha256:a', Buffer.from('older')), false, 'a slower owner');
      assert.equal(await store.checkpoints.save(4, 7, 'sha256:a', Buffer.from('four')), true);
      const got = await store.checkpoints.load(3);
      assert.deepEqual(got && { seq: got.seq, config: got.config, same: got.state.equals(state) }, {
        seq: 120,
        config: 'sha256:a',
        same: true,
      });
      assert.equal(await store.checkpoints.save(3, 121, 'sha256:b', Buffer.from('newer')), true);
      assert.equal((await store.checkpoints.load(3))?.state.toString(), 'newer');
      assert.equal((await store.checkpoints.load(4))?.seq, 7);
      await rejects(store.checkpoints.save(-1, 1, 'x', state), StoreInputError, /partition/);
      await rejects(store.checkpoints.save(1, 1, '', state), StoreInputError, /config/);
    });
  });
}

for (const b of storeBackends('coalmine-store-'))
  suite(
    b.name,
    async () => ({
      fresh: await b.setup(),
      raw: b.dialect === 'sqlite' ? openSqlite : (url: string) => openPostgres(url, { max: 2 }),
    }),
    b.teardown,
    b.skip,
  );
