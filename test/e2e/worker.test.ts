// run-tests: alone (lease TTLs of 2 s on the wall clock)
/**
 * `coalmine worker` as run: two real workers on a real JetStream and PostgreSQL share the partitions;
 * one is SIGKILLed while the stream is still coming, the other takes its partitions after the lease TTL
 * (replaying them), and the store ends holding exactly what `hunt` finds in the same files, each finding's
 * revisions numbered 1..n with no two alike. A worker stopped by SIGTERM gives its partitions up at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureEventsStream } from '../../src/bus/contract.js';
import type { Finding } from '../../src/model/finding.js';
import { defaultPolicy } from '../../src/model/policy.js';
import { hunt } from '../../src/run/hunt.js';
import { openStore } from '../../src/store/index.js';
import { assertRevisionsOnce, collectionBodies, publishBodies, renamedCollection } from '../support/bus-events.js';
import { type LiveCli, startCli } from '../support/cli.js';
import { startNats, type TestNats } from '../support/nats.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');
const KINSING = join(ROOT, 'examples', 'kinsing-like');
const HOSTS = 8;

let nats: TestNats;
let pg: TestPostgres;
let nc: NatsConnection;
let dir: string;
const workers: LiveCli[] = [];

before(async () => {
  [nats, pg] = await Promise.all([startNats(1), startPostgres()]);
  nc = await connect({ servers: nats.urls });
  await ensureEventsStream(await jetstreamManager(nc), { replicas: 1 });
  dir = mkdtempSync(join(tmpdir(), 'coalmine-worker-e2e-'));
});

after(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await nc?.close();
  await Promise.all([nats?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 60_000,
  say = () => '',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${say()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function worker(name: string, store: string): LiveCli {
  const w = startCli(['worker', '--bus', nats.bus, '--store', store, '--name', name, '--lease-ttl', '2']);
  workers.push(w);
  return w;
}

const shape = (f: Finding) => ({ id: f.id, analytic: f.analytic, severity: f.severity, legs: f.legs, host: f.host });
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);

test('a worker SIGKILLed mid-stream: the other takes its partitions, and the store ends with hunt’s findings, no revision twice', async () => {
  const collections = Array.from({ length: HOSTS }, (_, i) =>
    renamedCollection(KINSING, join(dir, `host-${i}`), 'web-01', `web-${String(i + 10)}`),
  );
  const expected = (
    await hunt({ paths: collections, policy: defaultPolicy(), workers: 1, ruleDirs: [join(ROOT, 'rules', 'stable')] })
  ).findings
    .map(shape)
    .sort(byId);
  assert.ok(expected.length >= HOSTS, 'each host has its finding');
  const location = await pg.database();
  const a = worker('doomed', location);
  await until('a holds every partition', () => /took partitions 0-63/.test(a.err()), 60_000, a.err);
  const b = worker('heir', location);
  await until(
    'a gives half to b',
    () => /gave up partitions/.test(a.err()) && /took partitions/.test(b.err()),
    60_000,
    () => a.err() + b.err(),
  );

  const js = jetstream(nc);
  const seqs = { next: 1 };
  // the hosts' files arrive a host at a time; a is killed half way through
  const start = Date.now() - 60_000;
  for (let i = 0; i < HOSTS; i++) {
    await publishBodies(js, await collectionBodies(collections[i]), start + i * 100, seqs);
    if (i === HOSTS / 2) {
      a.child.kill('SIGKILL');
      await a.exited;
    }
  }
  await until(
    'b takes a’s partitions after the TTL',
    () => /took partitions .*\(1 workers live/.test(b.err()),
    60_000,
    b.err,
  );
  const store = await openStore(location);
  try {
    const stored = async () =>
      (await store.findings.list(undefined, { limit: 500 })).items.map((s) => shape(s.finding)).sort(byId);
    // a finding is filed as it grows (medium, then high when its next leg lands), and a loaded machine can
    // take a while to file the last revision of a replay: wait for hunt's findings, then hold them
    let last: ReturnType<typeof shape>[] = [];
    const same = async () => {
      last = await stored();
      return JSON.stringify(last) === JSON.stringify(expected);
    };
    await until('the store holds hunt’s findings', same, 90_000, () => `${JSON.stringify(last)}\n${b.err()}`);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await stored(), expected);
    await assertRevisionsOnce(
      store,
      expected.map((f) => f.id),
    );
    assert.equal((await store.cases.list()).items.length > 0, true);
  } finally {
    await store.close();
  }
  // a clean stop: b says what it did and gives everything up
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  assert.match(b.err(), /heir: stopped; \d+ messages/);
});
