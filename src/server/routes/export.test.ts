/**
 * The exports over real sockets against a real server, on SQLite and PostgreSQL: the bundled example
 * hunted by the real CLI, its findings and cases stored, and the exports compared byte for byte with
 * what `hunt --format ndjson|ocsf|ocsf-incident` printed; the analyst's state on a worked case; many
 * pages in queue order with filters; a finding far past the slow-client bound read by a slow client;
 * findings delivered without the detector's lists; bad formats.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../../test/support/cli.js';
import { hostileFinding } from '../../../test/support/hostile-finding.js';
import { storeBackends } from '../../../test/support/store-backends.js';
import type { Finding, Severity } from '../../model/finding.js';
import { defaultPolicy } from '../../model/policy.js';
import { ndjson } from '../../sinks/ndjson.js';
import type { Db } from '../../store/db.js';
import { openStore, type Store } from '../../store/index.js';
import { openPostgres } from '../../store/postgres.js';
import { openSqlite } from '../../store/sqlite.js';
import { groupCases } from '../../triage/cases.js';
import { type CoalmineServer, createServer } from '../app.js';

const KINSING = join(import.meta.dirname, '..', '..', '..', 'examples', 'kinsing-like');

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** A GET; with `pauseMs`, the client stops reading after the first bytes for that long (a slow reader). */
function get(base: URL, path: string, token: string, pauseMs = 0): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      let paused = pauseMs === 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (!paused) {
          paused = true;
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const reasonOf = (a: Answer) => (JSON.parse(a.text) as { error: { reason: string } }).error.reason;
const linesOf = (text: string) => text.split('\n').filter((l) => l !== '');

function synthetic(n: number, severity: Severity, host: string): Finding {
  const minute = String(n % 60).padStart(2, '0');
  return {
    ...hostileFinding(),
    id: `cm-export-${String(n).padStart(4, '0')}`,
    title: `Cryptomining on ${host} #${n}`,
    severity,
    host,
    entity: `process:${host}:${n}`,
    first_seen: `2025-03-14T02:${minute}:00.000Z`,
    last_seen: `2025-03-14T03:${minute}:00.000Z`,
  };
}

// the real CLI, once: what the exports must equal
const printed = {
  ndjson: runCli(['hunt', KINSING, '--format', 'ndjson', '--no-summary', '--no-progress']),
  ocsf: runCli(['hunt', KINSING, '--format', 'ocsf', '--no-summary', '--no-progress']),
  'ocsf-incident': runCli(['hunt', KINSING, '--format', 'ocsf-incident', '--no-summary', '--no-progress']),
};

for (const backend of storeBackends('coalmine-export-')) {
  describe(`exports on ${backend.name}`, { skip: backend.skip }, () => {
    let fresh: () => Promise<string>;
    const open: Array<{ close(): Promise<void> }> = [];
    const logged: string[] = [];

    /** A server on an empty store, with a viewer's, an analyst's and a sensor's token. */
    const serve = async () => {
      const location = await fresh();
      const store = await openStore(location);
      const app: CoalmineServer = createServer({ store, policy: defaultPolicy(), log: (l) => logged.push(l) });
      open.push(store);
      open.unshift(app);
      const base = await app.listen(0);
      const token = async (role: 'viewer' | 'analyst' | 'sensor') =>
        (await store.tokens.create({ name: `${role}-1`, role, actor: 'test' })).secret;
      return {
        location,
        store,
        base,
        viewer: await token('viewer'),
        analyst: await token('analyst'),
        sensor: await token('sensor'),
      };
    };
    /** The example's findings and cases as hunt made them, stored. */
    const storeHunt = async (store: Store) => {
      const findings = linesOf(printed.ndjson.stdout).map((l) => JSON.parse(l) as Finding);
      for (const finding of findings) await store.findings.ingest({ finding, revision: 1 });
      const cases = groupCases(findings);
      for (const c of cases) await store.cases.create(c, { actor: 'test' });
      return { findings, cases };
    };

    before(async () => {
      fresh = await backend.setup();
    });
    after(async () => {
      for (const o of open) await o.close().catch(() => {});
      await backend.teardown();
    });

    test('the CLI hunted the example', () => {
      for (const [format, run] of Object.entries(printed)) {
        assert.equal(run.code, 0, `${format}: ${run.stderr}`);
        assert.ok(run.stdout.length > 1000, format);
      }
    });

    test('the findings export is what hunt --format ndjson|ocsf prints, byte for byte', async () => {
      const { store, base, viewer } = await serve();
      await storeHunt(store);
      for (const format of ['ndjson', 'ocsf'] as const) {
        const r = await get(base, `/api/v1/findings/export?format=${format}`, viewer);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.text, printed[format].stdout, format);
        assert.match(String(r.headers['content-type']), /^application\/x-ndjson/);
        assert.match(
          String(r.headers['content-disposition']),
          /^attachment; filename="coalmine-findings[.a-z]*\.ndjson"$/,
        );
      }
      assert.equal(JSON.parse(printed.ocsf.stdout).class_uid, 2004);
      // HEAD: the GET's status and headers, the stream ended before any line
      const head = await new Promise<Answer>((resolve, reject) => {
        const req = httpRequest(
          new URL('/api/v1/findings/export?format=ocsf', base),
          { method: 'HEAD', headers: { authorization: `Bearer ${viewer}` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-disposition'], 'attachment; filename="coalmine-findings.ocsf.ndjson"');
    });

    test("a case's export is hunt's ocsf-incident line until worked, then carries the analyst's state", async () => {
      const { store, base, viewer, analyst } = await serve();
      const { cases } = await storeHunt(store);
      assert.equal(cases.length, 1);
      const id = cases[0].id;
      const line = linesOf(printed['ocsf-incident'].stdout).find((l) => JSON.parse(l).metadata.uid === id);
      assert.ok(line, 'hunt printed the case');
      const asHunt = await get(base, `/api/v1/cases/${id}/export?format=ocsf-incident`, viewer);
      assert.equal(asHunt.status, 200, asHunt.text);
      assert.equal(asHunt.text, `${line}\n`);
      assert.equal(asHunt.headers['content-disposition'], `attachment; filename="${id}.ocsf-incident.ndjson"`);
      const findings = await get(base, `/api/v1/cases/${id}/export?format=ndjson`, viewer);
      assert.equal(findings.text, printed.ndjson.stdout, "the case's findings as hunt prints them");

      const post = (path: string, body: unknown) =>
        new Promise<number>((resolve, reject) => {
          const payload = JSON.stringify(body);
          const req = httpRequest(
            new URL(path, base),
            {
              method: 'POST',
              headers: {
                authorization: `Bearer ${analyst}`,
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(payload)),
              },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(payload);
        });
      // triaged, escalated and contained are all OCSF's In Progress, our own state in unmapped
      for (const state of ['triaged', 'contained']) {
        assert.equal(await post(`/api/v1/cases/${id}/transitions`, { to: state }), 200);
        const taken = JSON.parse((await get(base, `/api/v1/cases/${id}/export?format=ocsf-incident`, viewer)).text);
        assert.deepEqual(
          [taken.status_id, taken.status, taken.activity_id, taken.type_uid],
          [2, 'In Progress', 2, 200502],
        );
        assert.equal(taken.unmapped.state, state);
        assert.equal(taken.assignee, undefined);
      }

      assert.equal(await post(`/api/v1/cases/${id}/assign`, { assignee: 'bob "the analyst"' }), 200);
      assert.equal(await post(`/api/v1/cases/${id}/transitions`, { to: 'closed', resolution: 'true-positive' }), 200);
      const resolved = await get(base, `/api/v1/cases/${id}/export?format=ocsf-incident`, viewer);
      const worked = JSON.parse(resolved.text) as Record<string, unknown> & { unmapped: Record<string, unknown> };
      const hunted = JSON.parse(line) as Record<string, unknown> & { unmapped: Record<string, unknown> };
      assert.deepEqual(
        [worked.status_id, worked.status, worked.activity_id, worked.activity_name, worked.type_uid, worked.type_name],
        [4, 'Resolved', 3, 'Close', 200503, 'Incident Finding: Close'],
      );
      assert.deepEqual(worked.assignee, { name: 'bob "the analyst"' });
      assert.deepEqual([worked.verdict_id, worked.verdict], [2, 'True Positive']);
      assert.equal(worked.unmapped.state, 'closed');
      assert.equal(worked.unmapped.resolution, 'true-positive');
      assert.equal(typeof worked.unmapped.resolved_at, 'number');
      // the analyst's fields sit after status; everything else is hunt's
      const keys = Object.keys(worked);
      assert.deepEqual(keys.slice(keys.indexOf('status'), keys.indexOf('status') + 4), [
        'status',
        'assignee',
        'verdict_id',
        'verdict',
      ]);
      const changed = ['status_id', 'status', 'activity_id', 'activity_name', 'type_uid', 'type_name'];
      const analystOnly = ['assignee', 'verdict_id', 'verdict'];
      const rest = (o: Record<string, unknown>, drop: string[]) =>
        Object.fromEntries(Object.entries(o).filter(([k]) => !drop.includes(k)));
      assert.deepEqual(rest(worked, [...changed, ...analystOnly, 'unmapped']), rest(hunted, [...changed, 'unmapped']));
      assert.deepEqual(rest(worked.unmapped, ['state', 'resolution', 'resolved_at']), hunted.unmapped);
    });

    test('the export reads the store page by page in queue order, filtered as the list is', async () => {
      const { store, base, viewer } = await serve();
      const severities: Severity[] = ['low', 'medium', 'high', 'critical'];
      for (let n = 0; n < 230; n++)
        await store.findings.ingest({
          finding: synthetic(n, severities[n % 4], n % 3 === 0 ? 'db-1' : 'web-1'),
          revision: 1,
        });
      // a newer revision is the one exported
      await store.findings.ingest({
        finding: { ...synthetic(7, 'critical', 'db-1'), summary: 'it rose' },
        revision: 2,
      });
      const queue: Finding[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.findings.list({}, { limit: 500, cursor });
        queue.push(...page.items.map((i) => i.finding));
        cursor = page.next;
      } while (cursor);
      assert.equal(queue.length, 230);
      const all = await get(base, '/api/v1/findings/export?format=ndjson', viewer);
      assert.equal(
        all.text,
        ndjson.render(queue, { color: false, version: 'x' }),
        'every finding once, in queue order',
      );
      assert.ok(all.text.includes('"summary":"it rose"'));
      const ocsf = linesOf((await get(base, '/api/v1/findings/export?format=ocsf', viewer)).text).map((l) =>
        JSON.parse(l),
      );
      assert.deepEqual(
        ocsf.map((o) => o.finding_info.uid),
        queue.map((f) => f.id),
      );
      const narrowed = await get(
        base,
        '/api/v1/findings/export?format=ndjson&host=db-1&severity=high,critical',
        viewer,
      );
      const expected = queue.filter((f) => f.host === 'db-1' && ['high', 'critical'].includes(f.severity));
      assert.ok(expected.length > 10);
      assert.equal(narrowed.text, ndjson.render(expected, { color: false, version: 'x' }));
      const none = await get(base, '/api/v1/findings/export?format=ocsf&host=nowhere', viewer);
      assert.equal(none.status, 200);
      assert.equal(none.text, '');
    });

    test('a finding far past the slow-client bound reaches a client that stops reading for a while, intact', async () => {
      const { store, base, viewer } = await serve();
      // ~3.4 MB of UTF-8 with astral characters across every piece boundary
      const big: Finding = { ...synthetic(1, 'high', 'web-1'), summary: `start ${'x😀'.repeat(800_000)} end` };
      await store.findings.ingest({ finding: big, revision: 1 });
      await store.findings.ingest({ finding: synthetic(2, 'low', 'web-1'), revision: 1 });
      const r = await get(base, '/api/v1/findings/export?format=ndjson', viewer, 600);
      assert.equal(r.status, 200);
      assert.equal(r.text, ndjson.render([big, synthetic(2, 'low', 'web-1')], { color: false, version: 'x' }));
      const viaOcsf = linesOf((await get(base, '/api/v1/findings/export?format=ocsf', viewer, 300)).text);
      assert.equal(JSON.parse(viaOcsf[0]).finding_info.desc, big.summary);
    });

    test('a store failure part way cuts the connection: the client sees a failed download, not a short one', async () => {
      const { location, store, base, viewer } = await serve();
      // more than one page (100), each finding large enough that the first page waits on the client
      for (let n = 0; n < 130; n++)
        await store.findings.ingest({
          finding: { ...synthetic(n, 'high', 'web-1'), summary: `s${n} ${'y'.repeat(60_000)}` },
          revision: 1,
        });
      const raw: Db = backend.dialect === 'sqlite' ? openSqlite(location) : openPostgres(location, { max: 1 });
      open.push(raw);
      const outcome = await new Promise<{ ended: boolean; bytes: number }>((resolve, reject) => {
        const req = httpRequest(
          new URL('/api/v1/findings/export?format=ndjson', base),
          { headers: { authorization: `Bearer ${viewer}` } },
          (res) => {
            let bytes = 0;
            let first = true;
            let ended = false;
            res.on('data', (c: Buffer) => {
              bytes += c.length;
              if (!first) return;
              first = false;
              // the store breaks while the client is not reading: the next page's read fails
              res.pause();
              raw.run('ALTER TABLE findings RENAME TO findings_away').then(() => res.resume(), reject);
            });
            res.on('end', () => {
              ended = true;
            });
            res.on('close', () => resolve({ ended: ended && res.complete, bytes }));
          },
        );
        req.on('error', () => {});
        req.end();
      });
      await raw.run('ALTER TABLE findings_away RENAME TO findings');
      assert.equal(outcome.ended, false, 'the response did not end as a whole one');
      assert.ok(outcome.bytes > 100 * 60_000, `the first page arrived (${outcome.bytes} bytes)`);
      assert.ok(outcome.bytes < 130 * 60_000);
      assert.ok(
        logged.some((l) => l.includes('a findings export failed part way')),
        logged.join('\n'),
      );
      logged.length = 0;
      // the server goes on answering
      assert.equal((await get(base, '/api/v1/findings/export?format=ndjson&host=none', viewer)).status, 200);
    });

    test('a finding delivered without the lists a detector fills is exported, not a failed export', async () => {
      const { store, base, viewer } = await serve();
      const bare = {
        id: 'cm-bare',
        analytic: 'AN0742',
        severity: 'high',
        host: 'web-1',
        title: 'bare',
        first_seen: '2025-03-14T02:00:00.000Z',
        last_seen: '2025-03-14T03:00:00.000Z',
        evidence: [null, 7],
        facts: { destinations: 'pool:3333' },
        triage: { escalation: null },
        context: [{ rule_id: 'x' }],
      };
      await store.findings.ingest({ finding: bare, revision: 1 });
      const grouped = groupCases([{ ...synthetic(3, 'high', 'web-1'), id: 'cm-bare' }]);
      await store.cases.create(grouped[0], { actor: 'test' });
      for (const format of ['ndjson', 'ocsf']) {
        const r = await get(base, `/api/v1/findings/export?format=${format}`, viewer);
        assert.equal(r.status, 200);
        assert.equal(linesOf(r.text).length, 1, format);
      }
      assert.deepEqual(JSON.parse((await get(base, '/api/v1/findings/export?format=ndjson', viewer)).text), bare);
      const incident = await get(base, `/api/v1/cases/${grouped[0].id}/export?format=ocsf-incident`, viewer);
      assert.equal(incident.status, 200, incident.text);
      assert.equal(JSON.parse(incident.text).finding_info_list[0].uid, 'cm-bare');
      assert.deepEqual(logged, [], 'nothing failed');
    });

    test('a bad or missing format is a 400 naming the formats; an unknown case is 404; sensors read nothing', async () => {
      const { base, viewer, sensor } = await serve();
      const bad = await get(base, '/api/v1/findings/export?format=csv', viewer);
      assert.equal(bad.status, 400);
      assert.match(reasonOf(bad), /"ndjson", "ocsf"/);
      const missing = await get(base, '/api/v1/findings/export', viewer);
      assert.equal(missing.status, 400);
      assert.match(reasonOf(missing), /format is required: one of ndjson, ocsf/);
      const badCase = await get(base, '/api/v1/cases/case-1/export?format=ocsf-incidents', viewer);
      assert.equal(badCase.status, 400);
      assert.match(reasonOf(badCase), /"ocsf-incident", "ndjson", "ocsf"/);
      assert.equal((await get(base, '/api/v1/cases/none/export?format=ndjson', viewer)).status, 404);
      assert.equal((await get(base, '/api/v1/findings/export?format=ndjson&severity=dire', viewer)).status, 400);
      assert.equal((await get(base, '/api/v1/findings/export?format=ndjson&limit=5', viewer)).status, 400);
      assert.equal((await get(base, '/api/v1/findings/export?format=ndjson', sensor)).status, 403);
    });
  });
}
