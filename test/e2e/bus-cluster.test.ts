// run-tests: alone (three NATS nodes, PostgreSQL, two ingest nodes and three workers: the machine's whole CPU)
/**
 * The distributed mode as deployed (issue 17, acceptance 1): a 3-node JetStream cluster (the events stream
 * at replicas 3) and PostgreSQL on loopback, two ingest nodes (`coalmine serve --bus`) and three workers
 * (`coalmine worker`), all the real CLI. The bundled example and the stories `simulate --emit-logs` writes
 * (a Linux host with a container cluster, and three cloud accounts) are shipped a file per request,
 * the collections interleaved and each collection's files alternating between the two ingest nodes, as shippers
 * would. The store ends holding exactly what `coalmine hunt` finds in the same files in one run (ids,
 * analytics, severities, legs, hosts), each finding's revisions numbered 1..n with none stored twice, and
 * either ingest node's API serves them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { LEASE_BUCKET, leaseKeyOf, PARTITIONS } from '../../src/bus/contract.js';
import { leaseValueOf } from '../../src/bus/lease.js';
import type { Finding } from '../../src/model/finding.js';
import { expandInputs } from '../../src/run/inputs.js';
import { openStore } from '../../src/store/index.js';
import { assertRevisionsOnce } from '../support/bus-events.js';
import { type LiveCli, ndjsonFindings, runCli, startCli } from '../support/cli.js';
import { startNats, type TestNats } from '../support/nats.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The stories end at a fixed time, so a run is the same every time. */
const STORY_END = '2026-11-20T12:00:00Z';
const WAIT_MS = 180_000;

let nats: TestNats;
let pg: TestPostgres;
let dir: string;
const children: LiveCli[] = [];

before(async () => {
  [nats, pg] = await Promise.all([startNats(3), startPostgres()]);
  dir = mkdtempSync(join(tmpdir(), 'coalmine-bus-cluster-'));
});

after(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await Promise.all([nats?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, check: () => boolean | Promise<boolean>, say = () => ''): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${say()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function start(args: string[]): LiveCli {
  const c = startCli(args);
  children.push(c);
  return c;
}

interface ShippedFile {
  name: string;
  /** Which file of its collection it is: a collection's files alternate between the ingest nodes. */
  nth: number;
  host?: string;
  mtimeMs?: number;
  body: Buffer;
}

/** A collection's files as `hunt` reads them (host from etc/hostname, mtime from the bodyfile), named under `base`. */
async function filesOf(collection: string, base: string): Promise<ShippedFile[]> {
  const out: ShippedFile[] = [];
  for (const f of await expandInputs([collection], undefined, () => {})) {
    // the policy is the workers' (--policy), not telemetry
    if (f.input.name.endsWith('coalmine.yaml')) continue;
    const chunks: Buffer[] = [];
    for await (const c of f.input.open()) chunks.push(Buffer.from(c));
    out.push({
      name: relative(base, f.input.name),
      nth: out.length,
      host: f.input.hostHint,
      mtimeMs: f.input.mtimeMs,
      body: Buffer.concat(chunks),
    });
  }
  return out;
}

/** Round robin over the collections: their files arrive interleaved, as several shippers' would. */
function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

const shape = (f: Finding) => ({ id: f.id, analytic: f.analytic, severity: f.severity, legs: f.legs, host: f.host });
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);

test('2 ingest nodes and 3 workers on a 3-node JetStream cluster store exactly what hunt finds in the same files', async () => {
  const stories = join(dir, 'stories');
  for (const [story, out] of [
    ['all', 'linux'],
    ['cloud', 'cloud'],
  ]) {
    const r = runCli(['simulate', story, '--emit-logs', join(stories, out), '--at', STORY_END]);
    assert.equal(r.code, 0, r.stderr);
  }
  const policy = join(stories, 'cloud', 'coalmine.yaml');
  // a host's events (showing its address) then a Zeek log naming only that address, through the other node
  const collections = [
    join(ROOT, 'examples', 'kinsing-like'),
    join(stories, 'linux'),
    join(stories, 'cloud'),
    join(ROOT, 'test', 'fixtures', 'bus-address'),
  ];

  const hunted = runCli(['hunt', ...collections, '--policy', policy, '--format', 'ndjson', '--no-summary']);
  assert.ok(hunted.code === 0 || hunted.code === 1, hunted.stderr);
  const expected = ndjsonFindings(hunted.stdout).map(shape).sort(byId);
  // the example's miner, the story's host and cluster, and each cloud account
  for (const analytic of ['AN0742', 'AN0744', 'AN0745'])
    assert.ok(
      expected.some((f) => f.analytic === analytic),
      `hunt finds ${analytic}: ${JSON.stringify(expected)}`,
    );

  // the pool query joined to web-7 by its address, as only a map shared by the ingest nodes can route it
  assert.ok(
    expected.some((f) => f.host === 'web-7' && f.legs.includes('process') && f.legs.includes('reach')),
    `hunt joins the query to web-7: ${JSON.stringify(expected)}`,
  );

  const tokenOf = (role: string) => {
    const made = runCli(['serve', 'token', 'create', '--name', `e2e-${role}`, '--role', role, '--store', pg.url]);
    assert.equal(made.code, 0, made.stderr);
    return made.stdout.trim();
  };
  const sensor = tokenOf('sensor');
  const analyst = tokenOf('analyst');

  const workers = ['w1', 'w2', 'w3'].map((name) =>
    start(['worker', '--bus', nats.bus, '--store', pg.url, '--name', name, '--policy', policy]),
  );
  const ingest = [nats.urls, [...nats.urls].reverse()].map((urls) =>
    start(['serve', '--bus', urls.join(','), '--store', pg.url, '--listen', '127.0.0.1:0', '--policy', policy]),
  );
  const urls = await Promise.all(ingest.map((n) => n.firstLine()));
  for (const [i, url] of urls.entries()) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, ingest[i].err());
  const everyone = () => [...workers, ...ingest].map((c) => c.err()).join('\n---\n');
  // every partition is leased and every worker holds a share before the first body: the deal is settled
  // (a later move replays, which the worker test covers; this one is of the cluster's answer)
  const nc = await connect({ servers: nats.urls });
  try {
    const kv = await new Kvm(jetstream(nc, { timeout: 30_000 })).open(LEASE_BUCKET);
    let owners: string[] = [];
    await until(
      'every partition leased, three workers with a share each',
      async () => {
        try {
          owners = await Promise.all(
            Array.from({ length: PARTITIONS }, async (_, p) => leaseValueOf(await kv.get(leaseKeyOf(p)))?.owner ?? ''),
          );
        } catch {
          return false; // the cluster is busy: look again
        }
        return owners.every(Boolean) && new Set(owners).size === 3;
      },
      () => `${owners.join(' ')}\n${everyone()}`,
    );
  } finally {
    await nc.close();
  }

  const shipped = interleave(await Promise.all(collections.map((c) => filesOf(c, join(c, '..')))));
  assert.ok(shipped.length > 20, `${shipped.length} files`);
  let events = 0;
  for (const [i, file] of shipped.entries()) {
    const query = new URLSearchParams({ name: file.name });
    if (file.host) query.set('host', file.host);
    if (file.mtimeMs !== undefined) query.set('mtime', String(Math.trunc(file.mtimeMs)));
    const res = await fetch(new URL(`/api/v1/events?${query}`, urls[(i + file.nth) % 2]), {
      method: 'POST',
      headers: { authorization: `Bearer ${sensor}` },
      body: file.body,
    });
    const answer = (await res.json()) as { events?: number };
    // a file of nothing to read (the bodyfile is for mtimes; hostname) is refused, as hunt skips it
    assert.ok(res.status === 202 || res.status === 400, `${file.name}: ${res.status} ${JSON.stringify(answer)}`);
    events += answer.events ?? 0;
  }
  assert.ok(events > 1000, `${events} events shipped`);

  const store = await openStore(pg.url);
  try {
    const stored = async () =>
      (await store.findings.list(undefined, { limit: 500 })).items.map((s) => shape(s.finding)).sort(byId);
    let last: ReturnType<typeof shape>[] = [];
    await until(
      'the store holds hunt’s findings',
      async () => {
        last = await stored();
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      () => `stored ${JSON.stringify(last, null, 1)}\nexpected ${JSON.stringify(expected, null, 1)}\n${everyone()}`,
    );
    // held past the workers' next ticks: nothing more is filed
    await new Promise((r) => setTimeout(r, 6000));
    assert.deepEqual(await stored(), expected);
    await assertRevisionsOnce(
      store,
      expected.map((f) => f.id),
    );
  } finally {
    await store.close();
  }
  // the API of either ingest node serves them from the shared store
  for (const url of urls) {
    const res = await fetch(new URL('/api/v1/findings/export?format=ndjson', url), {
      headers: { authorization: `Bearer ${analyst}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      ndjsonFindings(await res.text())
        .map(shape)
        .sort(byId),
      expected,
    );
  }
  for (const c of [...workers, ...ingest]) c.child.kill('SIGTERM');
  for (const c of [...workers, ...ingest]) assert.equal(await c.exited, 0, c.err());
});
