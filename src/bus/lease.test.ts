// run-tests: alone (lease TTLs of 1.5 s on the wall clock)
/**
 * Partition leases against a real single-node JetStream (test/support/nats.ts): fair shares, compare-and-
 * swap races, a clean release, fencing by the owner's own clock, and takeover of a SIGKILLed owner's
 * partitions only after its TTL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type TestNats } from '../../test/support/nats.js';
import { LEASE_BUCKET, leaseKeyOf, PARTITIONS } from './contract.js';
import { leaseValueOf, openLeaseBucket, PartitionLeases } from './lease.js';

let nats: TestNats;
let nc: NatsConnection;
let kv: KV;
let jsm: JetStreamManager;

before(async () => {
  nats = await startNats(1);
  nc = await connect({ servers: nats.urls });
  kv = await openLeaseBucket(jetstream(nc), 1);
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await nc?.close();
  await nats?.stop();
});

/** Every lease key emptied, so each test starts from a free bucket. */
async function freeAll(): Promise<void> {
  const keys = await kv.keys();
  const all: string[] = [];
  for await (const k of keys) all.push(k);
  for (const k of all) await kv.purge(k);
}

/** A clock the test moves. */
function clock(start = 1000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

async function owners(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let p = 0; p < PARTITIONS; p++) {
    const v = leaseValueOf(await kv.get(leaseKeyOf(p)));
    if (v) out.set(p, v.owner);
  }
  return out;
}

test('a lone worker claims every partition; a second one joining gets half: the first gives up its excess, the second claims what was freed', async () => {
  await freeAll();
  const c = clock();
  const a = new PartitionLeases({ kv, jsm, worker: 'wa', ttlMs: 3000, monotonic: c.now });
  const b = new PartitionLeases({ kv, jsm, worker: 'wb', ttlMs: 3000, monotonic: c.now });
  const first = await a.round();
  assert.equal(first.gained.length, PARTITIONS);
  assert.equal(first.live, 1);
  const joined = await b.round();
  assert.deepEqual([joined.live, joined.share, joined.gained.length], [2, 32, 0], 'nothing is free yet');
  const rebalance = await a.round();
  assert.deepEqual([rebalance.live, rebalance.share, rebalance.excess.length], [2, 32, 32]);
  for (const p of rebalance.excess) await a.release(p);
  const claimed = await b.round();
  assert.equal(claimed.gained.length, 32);
  const held = await owners();
  assert.equal(held.size, PARTITIONS);
  assert.deepEqual(
    [...held.entries()].filter(([, o]) => o === 'wa').map(([p]) => p),
    a.owned(),
  );
  assert.deepEqual(
    [...held.entries()].filter(([, o]) => o === 'wb').map(([p]) => p),
    b.owned(),
  );
  // a third: shares of 22; the others give up to it, and nobody holds more than its share
  const w3 = new PartitionLeases({ kv, jsm, worker: 'wc', ttlMs: 3000, monotonic: c.now });
  await w3.round();
  for (const w of [a, b]) {
    const r = await w.round();
    assert.equal(r.share, 22);
    for (const p of r.excess) await w.release(p);
  }
  await w3.round();
  assert.deepEqual(
    [a.owned().length, b.owned().length, w3.owned().length].sort(),
    [20, 22, 22].sort(),
    'ceil(64 / 3) = 22 each at most, 64 in all',
  );
  for (const w of [a, b, w3]) await w.close();
  assert.equal((await owners()).size, 0, 'a clean close frees every partition');
});

test('workers racing for the same free partitions: compare-and-swap lets exactly one claim each', async () => {
  await freeAll();
  const c = clock();
  const workers = ['r1', 'r2', 'r3'].map(
    (worker) => new PartitionLeases({ kv, jsm, worker, ttlMs: 3000, monotonic: c.now }),
  );
  // each counts only itself at first, so each tries to claim all 64 at once
  const rounds = await Promise.all(workers.map((w) => w.round()));
  const gained = rounds.flatMap((r) => r.gained);
  assert.equal(gained.length, PARTITIONS, 'every partition claimed once');
  assert.equal(new Set(gained).size, PARTITIONS);
  const held = await owners();
  for (const [i, w] of workers.entries())
    for (const p of w.owned()) assert.equal(held.get(p), ['r1', 'r2', 'r3'][i], `partition ${p}`);
  for (const w of workers) await w.close();
});

test('an owner that cannot renew stops holding its leases after TTL − TTL/5 by its own clock, before anyone may take them', async () => {
  await freeAll();
  const c = clock();
  const a = new PartitionLeases({ kv, jsm, worker: 'fa', ttlMs: 5000, monotonic: c.now });
  const b = new PartitionLeases({ kv, jsm, worker: 'fb', ttlMs: 5000, monotonic: c.now });
  await a.round();
  await b.round(); // b's first sighting of a's leases
  c.advance(4100);
  assert.equal(a.holds(0), false, 'fenced at 4 s: 5 s − 1 s');
  assert.equal((await b.round()).gained.length, 0, 'not expired for b yet: 4.1 s seen still');
  c.advance(1000);
  const r = await b.round();
  assert.ok(r.gained.length > 0, 'taken over once b has seen them still for longer than the TTL');
  const back = await a.round();
  assert.ok(back.lost.length > 0, 'a, renewing, finds them taken (its revision is gone)');
  for (const p of back.lost) assert.ok(!a.owned().includes(p));
  await a.close();
  await b.close();
});

test('a lease its owner’s clock let go is lost, not renewed by a late round, even when nobody took it meanwhile', async () => {
  await freeAll();
  const c = clock();
  const a = new PartitionLeases({ kv, jsm, worker: 'la', ttlMs: 5000, monotonic: c.now });
  assert.equal((await a.round()).gained.length, PARTITIONS);
  // a round held up past TTL − TTL/5 (the worker has stopped every partition by its own clock by then):
  // renewing now would leave them leased with nobody consuming them
  c.advance(4100);
  assert.equal(a.holds(0), false);
  const late = await a.round();
  assert.equal(late.lost.length, PARTITIONS, 'every lease the clock let go is lost');
  assert.deepEqual(a.owned(), [], 'none renewed');
  // still ours in the bucket at its old revision: claimed again, by anyone, once seen still past the TTL
  c.advance(5100);
  assert.equal((await a.round()).gained.length, PARTITIONS);
  await a.close();
});

/** `kv` with `method` replaced: `(real, ...args)` does what the test says around the real call. */
function withKv(
  method: 'update' | 'create',
  wrap: (real: (...args: never[]) => Promise<number>, ...args: never[]) => Promise<number>,
): KV {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      const real = value.bind(target);
      return prop === method ? (...args: never[]) => wrap(real, ...args) : real;
    },
  });
}

test('a partition released while its renewal is on its way is not taken back by that renewal', async () => {
  await freeAll();
  const c = clock();
  const key = leaseKeyOf(3);
  let holding = false;
  let landed: () => void = () => {};
  const landedAt = new Promise<void>((r) => {
    landed = r;
  });
  let answer: () => void = () => {};
  const answered = new Promise<void>((r) => {
    answer = r;
  });
  // the renewal of partition 3 reaches the server; its answer is held back until the test says
  const slow = withKv('update', async (real, ...args) => {
    const revision = await real(...args);
    if (holding && (args as unknown[])[0] === key) {
      landed();
      await answered;
    }
    return revision;
  });
  const a = new PartitionLeases({ kv: slow, jsm, worker: 'giver', ttlMs: 5000, monotonic: c.now });
  assert.equal((await a.round()).gained.length, PARTITIONS);
  holding = true;
  const renewing = a.round();
  await landedAt;
  // the worker gives partition 3 up meanwhile (it drained it): the delete at the revision it knew is refused
  await a.release(3);
  answer();
  await renewing;
  assert.ok(!a.owned().includes(3), 'not ours again: it would be renewed with nothing consuming it');
  await a.close();
});

test('a bus error while claiming stops the claiming, and what was claimed before it is returned to be started', async () => {
  await freeAll();
  const c = clock();
  let creates = 0;
  const flaky = withKv('create', async (real, ...args) => {
    if (++creates === 3) throw new Error('TIMEOUT');
    return real(...args);
  });
  const a = new PartitionLeases({ kv: flaky, jsm, worker: 'claimer', ttlMs: 5000, monotonic: c.now });
  const first = await a.round();
  assert.equal(first.gained.length, 2, 'the two claimed before the error');
  assert.deepEqual(
    a.owned(),
    [...first.gained].sort((x, y) => x - y),
    'held is what the caller was told',
  );
  assert.equal((await a.round()).gained.length, PARTITIONS - 2, 'the next round claims the rest');
  await a.close();
});

test('claims that take long stop after a third of the TTL, so the next round’s renewals are not held up; that round claims on', async () => {
  await freeAll();
  const c = clock();
  // each claim takes 400 ms of the worker's clock: a round may go on claiming for renewEveryMs = 1666 ms
  const slow = withKv('create', async (real, ...args) => {
    c.advance(400);
    return real(...args);
  });
  const a = new PartitionLeases({ kv: slow, jsm, worker: 'slowclaims', ttlMs: 5000, monotonic: c.now });
  const first = await a.round();
  assert.equal(first.gained.length, 5, 'claims sent at 0, 400, 800, 1200, 1600 ms; none after 1666 ms');
  assert.ok(
    first.gained.every((p) => a.holds(p)),
    'what was claimed is held',
  );
  const second = await a.round();
  assert.equal(second.lost.length, 0, 'every claim renewed');
  assert.equal(second.gained.length, 5);
  await a.close();
});

test('a round lists the live workers without making a consumer on the lease bucket (a listing by consumer never ended on a cluster catching up)', async () => {
  await freeAll();
  const c = clock();
  const consumerRequests: string[] = [];
  const sub = nc.subscribe('$JS.API.CONSUMER.>', {
    callback: (_err, m) => {
      if (m.subject.includes(`KV_${LEASE_BUCKET}`)) consumerRequests.push(m.subject);
    },
  });
  try {
    await nc.flush();
    const a = new PartitionLeases({ kv, jsm, worker: 'lister-a', ttlMs: 3000, monotonic: c.now });
    const b = new PartitionLeases({ kv, jsm, worker: 'lister-b', ttlMs: 3000, monotonic: c.now });
    await a.round();
    const joined = await b.round();
    assert.equal(joined.live, 2, 'the other worker’s heartbeat counted');
    assert.equal((await a.round()).live, 2);
    await b.close();
    // a closed worker's heartbeat is a delete marker: listed by subject, not counted
    c.advance(1);
    assert.equal((await a.round()).live, 1);
    await a.close();
    await nc.flush();
    assert.deepEqual(consumerRequests, []);
  } finally {
    sub.unsubscribe();
  }
});

test('a SIGKILLed owner’s partitions are taken over after its TTL, and not before', async () => {
  await freeAll();
  const dir = mkdtempSync(join(tmpdir(), 'coalmine-lease-'));
  const script = join(dir, 'owner.mts');
  const lease = join(import.meta.dirname, 'lease.ts');
  writeFileSync(
    script,
    // the packages by their resolved place: the script sits outside the checkout
    `import { jetstream, jetstreamManager } from ${JSON.stringify(import.meta.resolve('@nats-io/jetstream'))};
import { connect } from ${JSON.stringify(import.meta.resolve('@nats-io/transport-node'))};
import { openLeaseBucket, PartitionLeases } from ${JSON.stringify(lease)};
const nc = await connect({ servers: ${JSON.stringify(nats.urls)} });
const leases = new PartitionLeases({ kv: await openLeaseBucket(jetstream(nc), 1), jsm: await jetstreamManager(nc), worker: 'doomed', ttlMs: 1500 });
for (;;) {
  await leases.round();
  process.stdout.write(\`held \${leases.owned().length}\\n\`);
  await new Promise((res) => setTimeout(res, leases.renewEveryMs));
}
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes(`held ${PARTITIONS}`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the owner exited ${code}`)));
    });
    const b = new PartitionLeases({ kv, jsm, worker: 'heir', ttlMs: 1500 });
    // while the owner lives and renews, nothing is taken, however long we watch
    for (let i = 0; i < 4; i++) {
      assert.equal((await b.round()).gained.length, 0, 'the owner renews');
      await new Promise((r) => setTimeout(r, b.renewEveryMs));
    }
    const killedAt = performance.now();
    child.kill('SIGKILL');
    let taken = 0;
    let takenAt = 0;
    while (taken < PARTITIONS && performance.now() - killedAt < 20_000) {
      const r = await b.round();
      if (r.gained.length > 0 && takenAt === 0) takenAt = performance.now();
      taken += r.gained.length;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(taken, PARTITIONS, 'every partition moved (the dead heartbeat stops counting after the TTL)');
    assert.ok(takenAt - killedAt >= 1500 - b.renewEveryMs, 'not before the TTL had run from the last renewal');
    const held = await owners();
    assert.deepEqual(new Set(held.values()), new Set(['heir']));
    await b.close();
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the lease bucket is the contract’s', async () => {
  assert.equal((await kv.status()).bucket, LEASE_BUCKET);
});

test('leases are read from the bucket stream’s leader, never by a direct get a replica may answer with its own revision, also on a bucket made allowing them', async () => {
  // what nats-server 2.9.10 did after a node was killed: a replica's direct get answered revisions the
  // leader did not hold, so a dead worker's heartbeat and leases never stood still and claims failed
  const bucketStream = `KV_${LEASE_BUCKET}`;
  await jsm.streams.delete(bucketStream);
  await new Kvm(jetstream(nc)).create(LEASE_BUCKET, { history: 1, allow_direct: true });
  assert.equal((await jsm.streams.info(bucketStream)).config.allow_direct, true);
  const direct: string[] = [];
  const leader: string[] = [];
  const subs = [
    nc.subscribe(`$JS.API.DIRECT.GET.${bucketStream}.>`, {
      callback: (_err, m) => {
        direct.push(m.subject);
      },
    }),
    nc.subscribe(`$JS.API.DIRECT.GET.${bucketStream}`, {
      callback: (_err, m) => {
        direct.push(m.subject);
      },
    }),
    nc.subscribe(`$JS.API.STREAM.MSG.GET.${bucketStream}`, {
      callback: (_err, m) => {
        leader.push(m.subject);
      },
    }),
  ];
  try {
    await nc.flush();
    const opened = await openLeaseBucket(jetstream(nc), 1);
    const a = new PartitionLeases({ kv: opened, jsm, worker: 'reader', ttlMs: 3000, monotonic: clock().now });
    assert.equal((await a.round()).gained.length, PARTITIONS);
    assert.ok(leaseValueOf(await opened.get(leaseKeyOf(0))));
    await a.close();
    await nc.flush();
    assert.deepEqual(direct, [], 'no direct get');
    assert.ok(leader.length >= PARTITIONS, `${leader.length} reads from the leader`);
  } finally {
    for (const s of subs) s.unsubscribe();
  }
});
