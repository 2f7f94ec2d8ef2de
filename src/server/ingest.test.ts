/**
 * The ingest pipeline on a real store (SQLite file, and a real PostgreSQL unless COALMINE_SKIP_PG=1)
 * with the real LiveDetector: the bundled example's files as requests, duplicates, restarts (replay),
 * case reopening, bad bodies and shippers' body shapes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { an0744Finding } from '../../test/support/an0744-finding.js';
import { storeBackends } from '../../test/support/store-backends.js';
import { defaultPolicy } from '../model/policy.js';
import type { Db } from '../store/db.js';
import { openStore, type Store } from '../store/index.js';
import { openPostgres } from '../store/postgres.js';
import { openSqlite } from '../store/sqlite.js';
import { createServer } from './app.js';
import { type Change, ChangeFeed } from './changes.js';
import { fileable, IngestPipeline, ingestModule, riseOf } from './ingest.js';

const KINSING = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');
const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures');
const AUDIT = readFileSync(join(KINSING, 'var/log/audit/audit.log'), 'utf8');
const LAST_AUDIT_MS = Math.max(...[...AUDIT.matchAll(/audit\((\d+)\.\d+:/g)].map((m) => Number(m[1]) * 1000));
const HOUR = 3600_000;

/** The example's files as a sensor sends them: state files, then the audit log, then CPU. */
function exampleRequests(): Array<{ rel: string; body: Buffer }> {
  return ['etc/crontab', 'var/spool/cron/crontabs/redis', 'var/log/audit/audit.log', 'var/log/metrics/cpu.csv'].map(
    (rel) => ({ rel, body: readFileSync(join(KINSING, rel)) }),
  );
}

/** The audit log as if it happened again `ms` later with new pids (a relaunch after closure). */
function relaunched(ms: number): string {
  return AUDIT.replace(/audit\((\d+)\.(\d{3}):/g, (_, s: string, frac: string) => {
    const t = Number(s) * 1000 + Number(frac) + ms;
    return `audit(${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:`;
  }).replace(/\b(p?pid)=(\d+)/g, (_, k: string, pid: string) => `${k}=${Number(pid) + 1000}`);
}

async function counts(store: Store) {
  const findings = (await store.findings.list()).items;
  const revisions = (await Promise.all(findings.map((f) => store.findings.revisions(f.finding.id)))).flat();
  const cases = (await store.cases.list()).items;
  return {
    findings: findings.length,
    revisions: revisions.length,
    cases: cases.length,
    log: (await store.ingest.since(0)).length,
  };
}

/** A raw connection to the store's database, for making it fail as a full disk would. */
function rawDb(location: string, dialect: 'sqlite' | 'postgres'): Db {
  return dialect === 'sqlite' ? openSqlite(location) : openPostgres(location, { max: 1 });
}

/** The database refuses every append to the ingest log (a real failure of the commit), until `lift`. */
async function failAppends(raw: Db): Promise<{ lift: () => Promise<void> }> {
  if (raw.dialect === 'sqlite') {
    await raw.run(
      "CREATE TRIGGER ingest_log_full BEFORE INSERT ON ingest_log BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    return { lift: async () => void (await raw.run('DROP TRIGGER ingest_log_full')) };
  }
  await raw.run(
    "CREATE FUNCTION ingest_log_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
  );
  await raw.run(
    'CREATE TRIGGER ingest_log_full BEFORE INSERT ON ingest_log FOR EACH ROW EXECUTE FUNCTION ingest_log_full()',
  );
  return {
    lift: async () => {
      await raw.run('DROP TRIGGER ingest_log_full ON ingest_log');
      await raw.run('DROP FUNCTION ingest_log_full()');
    },
  };
}

function suite(
  name: string,
  dialect: 'sqlite' | 'postgres',
  setup: () => Promise<() => Promise<string>>,
  teardown: () => Promise<void>,
  skip?: string,
) {
  describe(`ingest pipeline on ${name}`, { skip }, () => {
    let fresh: () => Promise<string>;
    let clock = LAST_AUDIT_MS;
    const now = () => clock;
    const open: Array<{ close(): Promise<void> }> = [];
    const start = async (location: string, changes?: ChangeFeed) => {
      const store = await openStore(location, { now });
      const pipeline = await IngestPipeline.start({ store, policy: defaultPolicy(), now, tickMs: 0, changes });
      open.push(pipeline, store);
      return { store, pipeline };
    };
    before(async () => {
      fresh = await setup();
    });
    after(async () => {
      for (const o of open) await o.close().catch(() => {});
      await teardown();
    });

    test('Idempotency-Key: a batch sent again is answered with its entry, neither read nor logged twice, across a restart too; a key not of 32 hex digits is a 400', async () => {
      clock = LAST_AUDIT_MS;
      const location = await fresh();
      const serve = async () => {
        const { store, pipeline } = await start(location);
        const app = createServer({ store, policy: defaultPolicy(), modules: [ingestModule(pipeline)], now });
        open.push(app);
        return { store, pipeline, app, base: await app.listen(0) };
      };
      const first = await serve();
      const tokens = first.store.tokens;
      const sensor = (await tokens.create({ name: 'sensor-1', role: 'sensor', actor: 'test' })).secret;
      const other = (await tokens.create({ name: 'sensor-2', role: 'sensor', actor: 'test' })).secret;
      const audit = gzipSync(AUDIT);
      const post = (base: URL, token: string, key: string | undefined, body: Buffer = audit) =>
        fetch(new URL('/api/v1/events?name=audit&host=web-01', base), {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-encoding': 'gzip',
            ...(key === undefined ? {} : { 'idempotency-key': key }),
          },
          body,
        }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
      const key = '0123456789abcdef0123456789abcdef';

      const sent = await post(first.base, sensor, key);
      assert.equal(sent.status, 202);
      assert.ok(Number(sent.json.events) > 0 && sent.json.repeat === undefined, JSON.stringify(sent.json));
      const bodiesRead = first.pipeline.readSoFar.bodies;
      // the answer was lost: sent again (in any case), it is the same entry, and the engine reads nothing
      for (const k of [key, key.toUpperCase()]) {
        const again = await post(first.base, sensor, k);
        assert.equal(again.status, 202);
        assert.deepEqual(again.json, {
          accepted: true,
          seq: sent.json.seq,
          events: 0,
          issues: [],
          issues_by_code: {},
          repeat: true,
        });
      }
      // two requests of one batch at once (the first's answer slow, a retry sent): one entry
      const racing = '11111111111111111111111111111111';
      const both = await Promise.all([post(first.base, sensor, racing), post(first.base, sensor, racing)]);
      assert.deepEqual(
        both.map((r) => r.status),
        [202, 202],
      );
      assert.equal(both[0].json.seq, both[1].json.seq);
      assert.equal(both.filter((r) => r.json.repeat === true).length, 1);
      assert.equal(first.pipeline.readSoFar.bodies, bodiesRead + 1);
      assert.equal(first.pipeline.stats.repeats, 3);
      // keys are a token's own: another sensor's batch under the same key is its own entry
      const theirs = await post(first.base, other, key);
      assert.equal(theirs.status, 202);
      assert.notEqual(theirs.json.seq, sent.json.seq);
      // a key of another shape: refused before the body is read, nothing logged
      const logged = (await first.store.ingest.since(0)).length;
      for (const bad of ['', 'abc', `${key}0`, key.replace('0', 'g'), `${key}, ${key}`, ' '.repeat(32)]) {
        const r = await post(first.base, sensor, bad);
        assert.equal(r.status, 400, bad);
        assert.match(String(r.json.message ?? JSON.stringify(r.json)), /Idempotency-Key/, bad);
      }
      assert.equal((await first.store.ingest.since(0)).length, logged);
      assert.equal(logged, 3);
      // without a key a body is logged each time it is sent (shippers that send none)
      assert.equal((await post(first.base, sensor, undefined)).status, 202);
      assert.equal((await post(first.base, sensor, undefined)).status, 202);
      assert.equal((await first.store.ingest.since(0)).length, logged + 2);
      await first.app.close();
      await first.store.close();

      // after a restart (the log replayed) the key is still the entry's
      const second = await serve();
      const afterRestart = await post(second.base, sensor, key);
      assert.equal(afterRestart.status, 202);
      assert.equal(afterRestart.json.seq, sent.json.seq);
      assert.equal(afterRestart.json.repeat, true);
      assert.equal((await second.store.ingest.since(0)).length, logged + 2);
    });

    test('a restart replays each logged batch once and files its findings in a bounded number of store round trips each, however many share the case', async () => {
      // each batch its own host with a miner's exec, all to one pool: every finding joins one case, the
      // shape that once cost a restart a case load per finding per finding (653 batches: 142 s)
      const batch = (n: number, at: number) =>
        gzipSync(
          `${JSON.stringify({
            '@timestamp': new Date(at).toISOString(),
            event: { action: 'exec', dataset: 'test', category: ['process'] },
            host: { name: `replay-${n}` },
            process: {
              pid: 4242,
              name: 'xmrig',
              executable: '/tmp/.x/xmrig',
              command_line:
                '/tmp/.x/xmrig -o stratum+tcp://pool.minexmr.com:4444 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A',
              parent: { pid: 1, name: 'systemd' },
            },
          })}\n`,
        );
      const replayOf = async (batches: number) => {
        clock = Date.parse('2026-03-01T00:00:00Z');
        const location = await fresh();
        const before = await start(location);
        for (let n = 1; n <= batches; n++) {
          clock += 1000;
          assert.equal((await before.pipeline.accept(batch(n, clock), { sensor: 's', name: `b${n}` })).accepted, true);
        }
        // killed before the clock ticked: no finding stored yet, every one is the replay's to store and file
        assert.equal((await before.store.findings.list()).items.length, 0);
        await before.pipeline.close();
        await before.store.close();
        clock += 60_000;
        const store = await openStore(location, { now });
        open.push(store);
        const calls = new Map<string, number>();
        // every repository call counted on the real store (each is one or a few statements)
        const counted = Object.fromEntries(
          Object.entries(store).map(([repo, methods]) =>
            typeof methods !== 'object' || methods === null
              ? [repo, methods]
              : [
                  repo,
                  Object.fromEntries(
                    Object.entries(methods).map(([name, fn]) => [
                      name,
                      (...args: unknown[]) => {
                        calls.set(`${repo}.${name}`, (calls.get(`${repo}.${name}`) ?? 0) + 1);
                        return (fn as (...a: unknown[]) => unknown).apply(methods, args);
                      },
                    ]),
                  ),
                ],
          ),
        ) as unknown as Store;
        const pipeline = await IngestPipeline.start({ store: counted, policy: defaultPolicy(), now, tickMs: 0 });
        open.push(pipeline);
        assert.equal(pipeline.stats.replayed, batches);
        assert.equal(pipeline.readSoFar.bodies, batches, 'the detector reads each logged body once');
        assert.equal(pipeline.stats.findingsStored, batches);
        const cases = (await store.cases.list()).items;
        assert.equal(cases.length, 1);
        assert.equal(cases[0].findings.length, batches);
        assert.match(
          cases[0].title,
          new RegExp(`^Campaign on \\d+ hosts .*, ${batches} findings`),
          'named once, after all joined',
        );
        const total = [...calls.values()].reduce((a, b) => a + b, 0);
        return { total, calls };
      };
      const small = await replayOf(10);
      const large = await replayOf(40);
      for (const r of [small, large]) {
        // the case is named once for the whole replay, not once per finding
        assert.ok((r.calls.get('cases.setHeadline') ?? 0) <= 1, JSON.stringify([...r.calls]));
        assert.ok((r.calls.get('cases.members') ?? 0) <= 1, JSON.stringify([...r.calls]));
      }
      // round trips grow with the batches replayed, not with their square: the same handful per finding
      const perFindingSmall = small.total / 10;
      const perFindingLarge = large.total / 40;
      assert.ok(
        perFindingLarge <= 8,
        `${perFindingLarge} store calls per replayed finding: ${JSON.stringify([...large.calls])}`,
      );
      assert.ok(
        perFindingLarge <= perFindingSmall + 0.5,
        `per finding ${perFindingSmall} at 10 batches, ${perFindingLarge} at 40: ${JSON.stringify([...large.calls])}`,
      );
    });

    test('the example as requests becomes its finding and one case; the same requests again, and a restart, change nothing', async () => {
      clock = LAST_AUDIT_MS;
      const location = await fresh();
      const { store, pipeline } = await start(location);
      for (const { rel, body } of exampleRequests()) {
        const r = await pipeline.accept(body, { sensor: 'sensor-1', name: rel, host: 'web-01', version: 'watch/1' });
        assert.equal(r.accepted, true, rel);
        assert.deepEqual(r.issues, [], rel);
      }
      clock += HOUR;
      pipeline.tick();
      await pipeline.flush();
      const [stored] = (await store.findings.list()).items;
      assert.equal(stored.finding.severity, 'high');
      assert.deepEqual([...stored.finding.legs].sort(), ['process', 'reach', 'resource']);
      const [c] = (await store.cases.list()).items;
      assert.deepEqual(c.findings, [stored.finding.id]);
      assert.ok(
        c.checklist.some((s) => s.id.startsWith('question:')) && c.checklist.some((s) => s.id.startsWith('contain:')),
      );
      const first = await counts(store);
      assert.deepEqual({ ...first, revisions: 0 }, { findings: 1, revisions: 0, cases: 1, log: 4 });
      const sensor = await store.sensors.get('sensor-1');
      assert.equal(sensor?.version, 'watch/1');
      assert.equal(sensor?.host, 'web-01');

      // a restart replays the log: what it reproduces is a duplicate
      await pipeline.close();
      const again = await start(location);
      assert.equal(again.pipeline.stats.replayed, 4);
      assert.equal(again.pipeline.stats.findingsStored, 0);
      assert.ok(again.pipeline.stats.findingsDuplicate >= 1);
      assert.deepEqual(await counts(store), first);
      // the same requests once more (a shipper's retry): the log grows, the findings and cases do not
      for (const { rel, body } of exampleRequests())
        assert.equal(
          (await again.pipeline.accept(body, { sensor: 'sensor-1', name: rel, host: 'web-01' })).accepted,
          true,
        );
      clock += HOUR;
      again.pipeline.tick();
      await again.pipeline.flush();
      const after = await counts(again.store);
      assert.deepEqual({ ...after, log: 0 }, { ...first, log: 0 });
      assert.equal(after.log, 8);
      assert.equal(again.pipeline.stats.casesCreated + again.pipeline.stats.casesReopened, 0);
    });

    test('a cron file sent with its mtime is dated by it, as hunt dates it, across a restart too; without one, by arrival', async () => {
      clock = LAST_AUDIT_MS;
      const location = await fresh();
      const { store, pipeline } = await start(location);
      // the redis crontab as the collection's bodyfile dates it, one second before the dropper ran crontab(1)
      const CRON_MTIME = Date.parse('2025-03-14T02:10:05.000Z');
      for (const { rel, body } of exampleRequests()) {
        const mtime = rel.includes('crontabs/redis') ? CRON_MTIME : undefined;
        const r = await pipeline.accept(body, { sensor: 's', name: rel, host: 'web-01', mtime });
        assert.equal(r.accepted, true, rel);
      }
      clock += HOUR;
      pipeline.tick();
      await pipeline.flush();
      const cronTimes = async (st: Store) => {
        const [f] = (await st.findings.list()).items;
        return f.finding.evidence
          .filter((e) => e.source.startsWith('var/spool/cron/crontabs/redis'))
          .map((e) => e.time);
      };
      assert.deepEqual(await cronTimes(store), ['2025-03-14T02:10:05.000Z']);
      assert.deepEqual(
        (await store.ingest.since(0)).map((e) => e.mtime),
        [null, CRON_MTIME, null, null],
      );
      await pipeline.close();
      // the replay reads the logged mtime: the same finding, nothing new
      const again = await start(location);
      assert.equal(again.pipeline.stats.findingsStored, 0);
      assert.deepEqual(await cronTimes(again.store), ['2025-03-14T02:10:05.000Z']);
      await again.pipeline.close();
    });

    test('a closed case reopens when its finding rises and when the miner recurs after closure, never on the evidence it was closed on', async () => {
      clock = LAST_AUDIT_MS + 1000;
      const location = await fresh();
      const { store, pipeline } = await start(location);
      const [, redis, audit, cpu] = exampleRequests();
      await pipeline.accept(redis.body, { sensor: 's', name: redis.rel, host: 'web-01' });
      await pipeline.accept(audit.body, { sensor: 's', name: audit.rel, host: 'web-01' });
      pipeline.tick();
      await pipeline.flush();
      const [c] = (await store.cases.list()).items;
      const [f] = c.findings;
      assert.equal((await store.findings.get(f))?.finding.severity, 'medium');
      await store.cases.transition(c.id, 'closed', { actor: 'ana', resolution: 'true-positive' });

      // a restart replays the same evidence: the case stays closed
      await pipeline.close();
      const second = await start(location);
      assert.equal((await store.cases.get(c.id))?.state, 'closed');
      assert.equal(second.pipeline.stats.casesReopened, 0);

      // the CPU samples raise it: a higher severity and a new leg reopen the case
      clock += 1000;
      await second.pipeline.accept(cpu.body, { sensor: 's', name: cpu.rel, host: 'web-01' });
      clock += HOUR;
      second.pipeline.tick();
      await second.pipeline.flush();
      let now1 = await store.cases.get(c.id);
      assert.equal(now1?.state, 'new');
      assert.equal(now1?.reopened, 1);
      const reasons = (await store.audit.list('case', c.id)).items
        .filter((a) => a.action === 'reopen')
        .map((a) => String(a.detail.reason));
      assert.match(reasons[0], /rose after the case was closed: severity medium → high; new leg resource/);

      // closed again; the same CPU samples once more are no news
      await store.cases.transition(c.id, 'closed', { actor: 'ana', resolution: 'true-positive' });
      clock += 1000;
      await second.pipeline.accept(cpu.body, { sensor: 's', name: cpu.rel, host: 'web-01' });
      clock += HOUR;
      second.pipeline.tick();
      await second.pipeline.flush();
      assert.equal((await store.cases.get(c.id))?.state, 'closed');

      // the same executable relaunched hours later (new pids, new finding id): a recurrence reopens it
      clock += 1000;
      await second.pipeline.accept(Buffer.from(relaunched(6 * HOUR)), {
        sensor: 's',
        name: 'audit-later',
        host: 'web-01',
      });
      clock = LAST_AUDIT_MS + 8 * HOUR;
      second.pipeline.tick();
      await second.pipeline.flush();
      now1 = await store.cases.get(c.id);
      assert.equal(now1?.state, 'new');
      assert.equal(now1?.reopened, 2);
      assert.equal(now1?.findings.length, 2, 'the recurrence joined the case');
      assert.equal((await store.cases.list()).items.length, 1);
    });

    test('a body whose commit fails changes no detection: the same evidence later is read once', async () => {
      clock = LAST_AUDIT_MS + 1000;
      const location = await fresh();
      const { store, pipeline } = await start(location);
      const raw = rawDb(location, dialect);
      open.push(raw);
      const full = await failAppends(raw);
      const [, redis, audit] = exampleRequests();
      for (const r of [redis, audit])
        await assert.rejects(pipeline.accept(r.body, { sensor: 's', name: r.rel, host: 'web-01' }), /disk full/);
      await full.lift();
      clock += HOUR;
      pipeline.tick();
      await pipeline.flush();
      assert.deepEqual(await counts(store), { findings: 0, revisions: 0, cases: 0, log: 0 });
      // committed this time: the same bodies are detected as before
      for (const r of [redis, audit])
        assert.equal((await pipeline.accept(r.body, { sensor: 's', name: r.rel, host: 'web-01' })).accepted, true);
      clock += HOUR;
      pipeline.tick();
      await pipeline.flush();
      const after = await counts(store);
      assert.deepEqual({ ...after, revisions: 0 }, { findings: 1, revisions: 0, cases: 1, log: 2 });
    });

    test('after a restart past the replay window a new finding on the host of an open case joins it, and the case is named again', async () => {
      clock = LAST_AUDIT_MS + 1000;
      const location = await fresh();
      const feed = new ChangeFeed({ now });
      const seen: Change[] = [];
      feed.subscribe((c) => seen.push(c));
      const first = await start(location, feed);
      const [, redis, audit] = exampleRequests();
      await first.pipeline.accept(redis.body, { sensor: 's', name: redis.rel, host: 'web-01' });
      await first.pipeline.accept(audit.body, { sensor: 's', name: audit.rel, host: 'web-01' });
      first.pipeline.tick();
      await first.pipeline.flush();
      const [c] = (await first.store.cases.list()).items;
      const [f1] = c.findings;
      assert.deepEqual(
        seen.map((x) => [x.kind, x.id, x.revision ?? x.state]),
        [
          ['finding', f1, 1],
          ['case', c.id, 'new'],
        ],
      );
      await first.pipeline.close();

      // two days on, nothing is replayed: the server holds no finding in memory
      clock += 48 * HOUR;
      const second = await start(location, feed);
      assert.equal(second.pipeline.stats.replayed, 0);
      await second.pipeline.accept(Buffer.from(relaunched(48 * HOUR)), {
        sensor: 's',
        name: 'audit-later',
        host: 'web-01',
      });
      clock += HOUR;
      second.pipeline.tick();
      await second.pipeline.flush();
      const cases = (await second.store.cases.list()).items;
      assert.equal(cases.length, 1, 'no second case');
      const joined = cases[0];
      assert.equal(joined.id, c.id);
      assert.equal(joined.findings.length, 2);
      const f2 = joined.findings.find((id) => id !== f1)!;
      // the worst finding names it, as hunt would name the two together
      assert.match(joined.title, /\(\+1 more on web-01\)$/);
      const headline = (await second.store.audit.list('case', c.id)).items.filter((a) => a.action === 'headline');
      assert.equal(headline.length, 1);
      assert.equal((headline[0].detail.from as { title: string }).title, c.title);
      assert.deepEqual(
        seen.slice(2).map((x) => [x.kind, x.id, x.revision ?? x.state]),
        [
          ['finding', f2, 1],
          ['case', c.id, 'new'],
          ['case', c.id, 'new'],
        ],
      );
    });

    test('a finding that rises in an open case raises the case: severity and title follow the worst finding, audited', async () => {
      clock = LAST_AUDIT_MS + 1000;
      const { store, pipeline } = await start(await fresh());
      const [, redis, audit, cpu] = exampleRequests();
      await pipeline.accept(redis.body, { sensor: 's', name: redis.rel, host: 'web-01' });
      await pipeline.accept(audit.body, { sensor: 's', name: audit.rel, host: 'web-01' });
      pipeline.tick();
      await pipeline.flush();
      const [before] = (await store.cases.list()).items;
      assert.equal(before.severity, 'medium');
      clock += 1000;
      await pipeline.accept(cpu.body, { sensor: 's', name: cpu.rel, host: 'web-01' });
      clock += HOUR;
      pipeline.tick();
      await pipeline.flush();
      const risen = (await store.findings.get(before.findings[0]))!;
      assert.equal(risen.finding.severity, 'high');
      const after = (await store.cases.get(before.id))!;
      assert.equal(after.state, 'new', 'an open case stays open');
      assert.equal(after.severity, 'high');
      assert.equal(after.title, risen.finding.title);
      assert.equal((await store.cases.list({}, { limit: 1 })).items[0].severity, 'high', 'the queue orders by it');
      const audits = (await store.audit.list('case', before.id)).items.filter((a) => a.action === 'headline');
      assert.equal(audits.length, 1);
      assert.deepEqual(
        [
          (audits[0].detail.from as { severity: string }).severity,
          (audits[0].detail.to as { severity: string }).severity,
        ],
        ['medium', 'high'],
      );
    });

    test('a finding that links two open cases merges them: the older survives with every finding, the other points to it', async () => {
      clock = Date.parse('2026-03-01T02:00:00Z');
      const feed = new ChangeFeed({ now });
      const seen: Change[] = [];
      feed.subscribe((c) => seen.push(c));
      const { store, pipeline } = await start(await fresh(), feed);
      const delivery = (id: string, host: string, pools: string[], severity = 'high') => ({
        id,
        revision: 1,
        analytic: 'AN0742',
        severity,
        host,
        title: `Miner on ${host}`,
        entity: `process:${host}:${id}`,
        first_seen: '2026-03-01T00:00:00Z',
        last_seen: '2026-03-01T01:00:00Z',
        legs: ['process', 'reach'],
        facts: { destinations: pools },
        processes: [{ executable: '/usr/bin/python3' }],
      });
      await pipeline.acceptFinding(delivery('d1', 'web-1', ['pool-a.example:3333']), undefined);
      await pipeline.flush();
      clock += 1000;
      await pipeline.acceptFinding(delivery('d2', 'web-2', ['pool-b.example:4444'], 'critical'), undefined);
      await pipeline.flush();
      const before = (await store.cases.list()).items;
      assert.equal(before.length, 2, 'grouped apart: nothing links them yet');
      const older = before.find((c) => c.findings.includes('d1'))!;
      const newer = before.find((c) => c.findings.includes('d2'))!;

      // web-1 reaching pool-b links them
      clock += 1000;
      await pipeline.acceptFinding(delivery('d3', 'web-1', ['pool-b.example:4444'], 'medium'), undefined);
      await pipeline.flush();
      const after = (await store.cases.list()).items;
      assert.deepEqual(
        after.map((c) => c.id),
        [older.id],
      );
      assert.deepEqual(after[0].findings, ['d1', 'd2', 'd3']);
      // named by the worst (critical, on web-2, whose host comes first) as a campaign on two hosts
      assert.equal(after[0].severity, 'critical');
      assert.match(after[0].title, /^Campaign on 2 hosts \(web-2, web-1\), 3 findings; worst: Miner on web-2$/);
      assert.equal((await store.cases.get(newer.id))?.merged_into, older.id);
      assert.equal(pipeline.stats.casesMerged, 1);
      assert.ok(
        seen.some((c) => c.kind === 'case' && c.id === newer.id && c.state === 'merged'),
        JSON.stringify(seen),
      );
    });

    test('a body nothing can be read from is refused with its reasons and nothing is stored; shippers’ JSON bodies are read', async () => {
      clock = Date.parse('2025-03-14T03:00:00Z');
      const { store, pipeline } = await start(await fresh());
      const bad: Array<[Buffer, string | undefined, string]> = [
        [Buffer.alloc(0), undefined, 'INPUT_EMPTY'],
        [Buffer.from('\u0000\u0001 not telemetry \u001b[31m\n'.repeat(50)), undefined, 'SOURCE_UNKNOWN_FORMAT'],
        [Buffer.from('{"@timestamp": "broken\n{also broken\n'), 'ndjson', 'NDJSON_BAD_JSON'],
        [Buffer.from('x'), 'no-such-format', 'INGEST_UNKNOWN_FORMAT'],
        // a cut gzip: what inflated of it is said with the reason
        [gzipSync(Buffer.from('garbage')).subarray(0, 12), undefined, 'SOURCE_UNKNOWN_FORMAT'],
      ];
      for (const [body, format, code] of bad) {
        const r = await pipeline.accept(body, { sensor: 's', name: 'bad', format });
        assert.equal(r.accepted, false, code);
        assert.ok(
          r.issues.some((i) => i.code === code && i.reason.length > 0 && i.ref.startsWith('bad')),
          `${code}: ${JSON.stringify(r.issues)}`,
        );
        for (const i of r.issues) assert.ok(!/[\u0000-\u001f]/.test(i.reason + i.ref));
      }
      assert.equal((await store.ingest.since(0)).length, 0);

      // our NDJSON events as Vector (json codec, newline framing, its own fields added) and Fluent Bit
      // (json_lines with a date key; json as one array) send them, plain and gzip
      const events = readFileSync(join(FIXTURES, 'ndjson', 'good.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const plain = await pipeline.accept(Buffer.from(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`), {
        sensor: 's',
      });
      assert.ok(plain.accepted && plain.events > 0);
      const vector = events.map((e) =>
        JSON.stringify({ ...e, source_type: 'file', timestamp: '2025-03-14T03:00:00Z' }),
      );
      const fbLines = events.map((e, i) => JSON.stringify({ date: 1741921200.5 + i, ...e }));
      const fbArray = JSON.stringify(
        events.map((e, i) => ({ date: 1741921200.5 + i, ...e })),
        null,
        2,
      );
      const bodies: Array<[string, Buffer]> = [
        ['vector ndjson', Buffer.from(`${vector.join('\n')}\n`)],
        ['vector ndjson gzip', gzipSync(`${vector.join('\n')}\n`)],
        ['vector json array', Buffer.from(`[${vector.join(',')}]`)],
        ['fluent-bit json_lines', Buffer.from(`${fbLines.join('\n')}\n`)],
        ['fluent-bit json', Buffer.from(fbArray)],
        ['fluent-bit json gzip', gzipSync(fbArray)],
      ];
      for (const [label, body] of bodies) {
        const r = await pipeline.accept(body, { sensor: 'shipper', name: label });
        assert.equal(r.accepted, true, label);
        assert.equal(r.format, 'ndjson', label);
        assert.equal(r.events, plain.events, label);
        assert.deepEqual(r.issues, [], label);
      }
      // a bad record of an array is named by its place
      const mixed = await pipeline.accept(Buffer.from(JSON.stringify([events[0], 'not an event', events[1]])), {
        sensor: 's',
        name: 'mixed',
      });
      assert.equal(mixed.accepted, true);
      assert.deepEqual(
        mixed.issues.map((i) => i.ref),
        ['mixed:2'],
      );
      // replayed after a restart, the log reads the same
      const logged = await store.ingest.since(0);
      assert.equal(logged.length, bodies.length + 2);
      assert.ok(logged[2].body.equals(bodies[1][1]), 'the body is kept as received (gzip)');
    });
  });
}

test('filer: a report is stored under the revision its content earns and filed into a case; the same again is a duplicate; a store failure rejects and the same report given again is stored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-filer-'));
  const location = join(dir, 'store.db');
  const store = await openStore(location);
  const raw = rawDb(location, 'sqlite');
  try {
    const filer = IngestPipeline.filer({ store, policy: defaultPolicy() });
    const first = an0744Finding();
    await filer.fileReport(first);
    await filer.fileReport(first);
    assert.deepEqual(
      (await store.findings.revisions(first.id)).map((r) => r.revision),
      [1],
    );
    assert.equal((await store.cases.list()).items.length, 1, 'filed into a case');
    assert.deepEqual([filer.stats.findingsStored, filer.stats.findingsDuplicate], [1, 1]);
    await raw.run(
      "CREATE TRIGGER revisions_full BEFORE INSERT ON finding_revisions BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const risen = an0744Finding({ severity: 'critical' });
    await assert.rejects(filer.fileReport(risen), /disk full/);
    await raw.run('DROP TRIGGER revisions_full');
    await filer.fileReport(risen);
    assert.deepEqual(
      (await store.findings.revisions(first.id)).map((r) => [r.revision, r.finding.severity]),
      [
        [1, first.severity],
        [2, 'critical'],
      ],
    );
    await assert.rejects(filer.accept(Buffer.from('x'), { sensor: 's' }), /reads no bodies/);
  } finally {
    await raw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('riseOf: a higher severity or a new leg, nothing for the same or less', () => {
  const base = fileable({ id: 'f', severity: 'medium', legs: ['process', 'reach'] });
  assert.equal(riseOf(base, { ...base }), undefined);
  assert.equal(riseOf(base, { ...base, severity: 'low', legs: ['process'] }), undefined);
  assert.equal(riseOf(base, { ...base, severity: 'high' }), 'severity medium → high');
  assert.equal(riseOf(base, { ...base, legs: ['reach', 'process', 'resource'] }), 'new leg resource');
});

test('fileable: a hostile delivery is shaped so grouping and the checklist cannot throw on it', () => {
  const f = fileable({
    id: 'x',
    severity: 'high',
    legs: ['a', 3, null],
    facts: { destinations: [1, 'pool:3333'], sha256: 5 },
    processes: [null, 'x'],
    triage: { escalation: {}, questions: 'no' },
    entity: 7,
    revision: 2,
    dedupe_key: 'x#2',
  });
  assert.deepEqual(f.legs, ['a']);
  assert.deepEqual(f.facts, { destinations: ['pool:3333'] });
  assert.deepEqual(f.processes, []);
  assert.equal(f.triage, undefined);
  assert.equal(f.entity, 'finding:x');
  assert.ok(!('revision' in f) && !('dedupe_key' in f));
});

for (const b of storeBackends('coalmine-ingest-')) suite(b.name, b.dialect, b.setup, b.teardown, b.skip);
