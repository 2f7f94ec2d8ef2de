/**
 * The live views over real HTTP, on a real store (SQLite file, and PostgreSQL unless COALMINE_SKIP_PG=1)
 * with the real ingest pipeline: the bundled example sent as a sensor sends it, then coverage, the host
 * list and one host read back as a viewer, every answer checked against the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { storeBackends } from '../../test/support/store-backends.js';
import type { CoverageReport } from '../model/coverage.js';
import { defaultPolicy } from '../model/policy.js';
import { coverage } from '../run/coverage.js';
import { openStore, type Store } from '../store/index.js';
import { type CoalmineServer, createServer } from './app.js';
import { IngestPipeline, ingestModule } from './ingest.js';
import type { HostEntity, HostSummary } from './live-views.js';
import { validateSchema } from './schema.js';

const KINSING = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');
const FILES = ['etc/crontab', 'var/spool/cron/crontabs/redis', 'var/log/audit/audit.log', 'var/log/metrics/cpu.csv'];
const AUDIT = readFileSync(join(KINSING, 'var/log/audit/audit.log'), 'utf8');
const LAST_AUDIT_MS = Math.max(...[...AUDIT.matchAll(/audit\((\d+)\.\d+:/g)].map((m) => Number(m[1]) * 1000));

interface HostDetail {
  host: HostSummary;
  tracked: boolean;
  coverage: CoverageReport['hosts'][number] | null;
  findings: Array<{ id: string; severity: string; revision: number }>;
  findings_more: boolean;
  cases: Array<{ id: string; title: string; severity: string; state: string }>;
  entities: HostEntity[];
  entities_more: boolean;
}

function suite(
  name: string,
  setup: () => Promise<() => Promise<string>>,
  teardown: () => Promise<void>,
  skip?: string,
) {
  describe(`live views on ${name}`, { skip }, () => {
    let store: Store;
    let pipeline: IngestPipeline;
    let app: CoalmineServer;
    let base: URL;
    let viewer: string;
    let sensor: string;
    const clock = LAST_AUDIT_MS + 1000;
    const problems: string[] = [];

    /** A GET as `token`; a JSON answer is checked against the document's schema for its status. */
    const get = async (path: string, token: string): Promise<{ status: number; json: unknown }> => {
      const r = await fetch(new URL(path, base), { headers: { authorization: `Bearer ${token}` } });
      const json = r.headers.get('content-type')?.startsWith('application/json') ? await r.json() : undefined;
      const template = path.startsWith('/api/v1/hosts/') ? '/api/v1/hosts/{name}' : new URL(path, base).pathname;
      const schema = app.document.operation('GET', template)?.responses[String(r.status)]?.content?.['application/json']
        ?.schema;
      if (!schema) problems.push(`GET ${path}: status ${r.status} is not documented`);
      else for (const p of validateSchema(schema, json, app.document.schemas)) problems.push(`GET ${path}: ${p}`);
      return { status: r.status, json };
    };

    before(async () => {
      const fresh = await setup();
      store = await openStore(await fresh(), { now: () => clock });
      pipeline = await IngestPipeline.start({ store, policy: defaultPolicy(), now: () => clock, tickMs: 0 });
      app = createServer({ store, policy: defaultPolicy(), modules: [ingestModule(pipeline)], now: () => clock });
      base = await app.listen(0);
      viewer = (await store.tokens.create({ name: 'ana', role: 'viewer', actor: 'test' })).secret;
      sensor = (await store.tokens.create({ name: 'web-01-sensor', role: 'sensor', actor: 'test' })).secret;
      for (const rel of FILES) {
        const r = await fetch(new URL(`/api/v1/events?host=web-01&name=${encodeURIComponent(rel)}`, base), {
          method: 'POST',
          headers: { authorization: `Bearer ${sensor}`, 'content-type': 'application/octet-stream' },
          body: readFileSync(join(KINSING, rel)),
        });
        assert.equal(r.status, 202, `${rel}: ${await r.text()}`);
      }
      // the live clock reaches the evidence: the finding holds while its cluster is still open
      pipeline.tick();
      await pipeline.flush();
    });

    after(async () => {
      await app?.close();
      await store?.close();
      await teardown();
    });

    test('coverage is the report coalmine coverage gives for the same files', async () => {
      const r = await get('/api/v1/coverage', viewer);
      assert.equal(r.status, 200);
      const live = r.json as CoverageReport;
      const offline = await coverage({ paths: [KINSING], policy: defaultPolicy() });
      assert.deepEqual(
        live.hosts.map((h) => h.host),
        offline.hosts.map((h) => h.host),
      );
      assert.deepEqual(
        live.hosts[0].analytics.map((a) => [a.analytic, a.status, a.missing]),
        offline.hosts[0].analytics.map((a) => [a.analytic, a.status, a.missing]),
      );
      assert.equal(live.gapCount, offline.gapCount);
      assert.equal(live.input.files, FILES.length);
      assert.ok(live.input.events > 0);
    });

    test('hosts lists what the engine saw with the store’s findings and open cases; pages by cursor', async () => {
      const r = await get('/api/v1/hosts', viewer);
      assert.equal(r.status, 200);
      const { items, next } = r.json as { items: HostSummary[]; next?: string };
      assert.equal(next, undefined);
      const web = items.find((h) => h.name === 'web-01');
      assert.ok(web, JSON.stringify(items.map((h) => h.name)));
      assert.equal(web.platform, 'linux');
      assert.equal(web.findings, 1);
      assert.equal(web.open_cases, 1);
      assert.ok(web.formats.includes('auditd') && web.telemetry.includes('process'), JSON.stringify(web));
      assert.ok(web.first_seen !== null && web.last_seen !== null && web.first_seen <= web.last_seen);

      // one by one, the pages give every host once, in name order
      const paged: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 20; i++) {
        const page = await get(`/api/v1/hosts?limit=1${cursor ? `&cursor=${cursor}` : ''}`, viewer);
        const body = page.json as { items: HostSummary[]; next?: string };
        paged.push(...body.items.map((h) => h.name));
        cursor = body.next;
        if (!cursor) break;
      }
      assert.deepEqual(
        paged,
        items.map((h) => h.name),
      );
      assert.equal((await get('/api/v1/hosts?cursor=bm90LWEtY3Vyc29y', viewer)).status, 400);
      assert.equal((await get('/api/v1/hosts?limit=0', viewer)).status, 400);
      assert.equal((await get('/api/v1/hosts?limit=501', viewer)).status, 400);
    });

    test('one host: its coverage row, finding and case, and the processes of its open clusters', async () => {
      const r = await get('/api/v1/hosts/web-01', viewer);
      assert.equal(r.status, 200);
      const d = r.json as HostDetail;
      assert.equal(d.tracked, true);
      assert.equal(d.coverage?.host, 'web-01');
      const [stored] = (await store.findings.list({ host: 'web-01' })).items;
      assert.deepEqual(
        d.findings.map((f) => [f.id, f.severity, f.revision]),
        [[stored.finding.id, stored.finding.severity, stored.revision]],
      );
      const [c] = (await store.cases.list()).items;
      assert.deepEqual(d.cases, [{ id: c.id, title: c.title, severity: c.severity, state: 'new' }]);
      const miner = d.entities.find((e) => e.executable === stored.finding.processes[0]?.executable);
      assert.ok(miner, JSON.stringify(d.entities.map((e) => e.executable)));
      assert.equal(typeof miner.pid, 'number');
      assert.ok(miner.command_line && miner.command_line.length > 0);
      assert.equal(d.entities_more, false);
    });

    test('another spelling of a host (upper case, its FQDN) is that host, answered under its display name', async () => {
      const plain = (await get('/api/v1/hosts/web-01', viewer)).json as HostDetail;
      for (const spelling of ['WEB-01', 'web-01.corp.example.com']) {
        const r = await get(`/api/v1/hosts/${encodeURIComponent(spelling)}`, viewer);
        assert.equal(r.status, 200, spelling);
        const d = r.json as HostDetail;
        assert.equal(d.host.name, 'web-01', spelling);
        assert.deepEqual(
          d.findings.map((f) => f.id),
          plain.findings.map((f) => f.id),
          spelling,
        );
      }
      assert.equal((await get('/api/v1/hosts/web-02', viewer)).status, 404);
    });

    test('an unknown host is 404; a sensor reads nothing; every answer conformed to the document', async () => {
      assert.equal((await get(`/api/v1/hosts/${encodeURIComponent('<script>nowhere</script>')}`, viewer)).status, 404);
      assert.equal((await get(`/api/v1/hosts/${'h'.repeat(600)}`, viewer)).status, 400);
      for (const path of ['/api/v1/coverage', '/api/v1/hosts', '/api/v1/hosts/web-01'])
        assert.equal((await get(path, sensor)).status, 403, path);
      assert.deepEqual(problems, []);
    });
  });
}

for (const b of storeBackends('coalmine-live-views-')) suite(b.name, b.setup, b.teardown, b.skip);
