/**
 * The ingest log against both backends, as store.test.ts runs its suite: SQLite on a real temp file and
 * PostgreSQL on a real server (only COALMINE_SKIP_PG=1 skips it). Every test opens an empty store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { storeBackends } from '../../test/support/store-backends.js';
import { openStore, type Store, StoreInputError } from './index.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');

function suite(
  name: string,
  setup: () => Promise<() => Promise<string>>,
  teardown: () => Promise<void>,
  skip?: string,
) {
  describe(`ingest log on ${name}`, { skip }, () => {
    let fresh: () => Promise<string>;
    let clock = T0;
    const stores: Store[] = [];
    const open = async (location?: string) => {
      const store = await openStore(location ?? (await fresh()), { now: () => clock });
      stores.push(store);
      return store;
    };
    before(async () => {
      fresh = await setup();
    });
    after(async () => {
      for (const s of stores) await s.close();
      await teardown();
    });

    test('a body is kept byte for byte (binary, gzip, NUL, invalid UTF-8) with its request facts, in sequence order', async () => {
      const store = await open();
      const bodies = [
        Buffer.from('{"a":1}\n{"b":2}\n'),
        gzipSync(Buffer.from('hello\n')),
        Buffer.from([0, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a]),
        randomBytes(70_000),
        Buffer.alloc(0),
      ];
      const seqs: number[] = [];
      for (const [i, body] of bodies.entries()) {
        clock = T0 + i * 1000;
        const { seq, received_at } = await store.ingest.append({
          body,
          sensor: `sensor-${i}`,
          name: `req-${i}`,
          format: i === 0 ? 'ndjson' : undefined,
          host: i === 1 ? 'web-1' : undefined,
        });
        assert.equal(received_at, clock);
        seqs.push(seq);
      }
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(new Set(seqs).size, bodies.length);
      const all = await store.ingest.since(0);
      assert.deepEqual(
        all.map((e) => [e.seq, e.received_at, e.sensor, e.name, e.format, e.host]),
        bodies.map((_, i) => [
          seqs[i],
          T0 + i * 1000,
          `sensor-${i}`,
          `req-${i}`,
          i === 0 ? 'ndjson' : null,
          i === 1 ? 'web-1' : null,
        ]),
      );
      for (const [i, e] of all.entries()) assert.ok(e.body.equals(bodies[i]), `body ${i}`);
      // a subarray of a larger buffer is only its own bytes
      // the sender's mtime of the body's file is kept; none is null; a negative one is refused
      const dated = await store.ingest.append({ body: Buffer.from('x'), sensor: 's', name: 'cron', mtime: T0 - 5000 });
      const [withMtime] = await store.ingest.since(dated.seq - 1);
      assert.equal(withMtime.mtime, T0 - 5000);
      assert.ok(all.every((e) => e.mtime === null));
      await assert.rejects(
        store.ingest.append({ body: Buffer.from('x'), sensor: 's', name: 'bad', mtime: -1 }),
        /mtime must be a non-negative integer/,
      );
      const whole = Buffer.from('xxxxBODYyyyy');
      const { seq } = await store.ingest.append({ body: whole.subarray(4, 8), sensor: 's', name: 'sub' });
      assert.equal((await store.ingest.since(seq - 1))[0].body.toString(), 'BODY');
    });

    test('since and newerThan page in sequence order; prune drops what is older than the window; a reopen keeps the rest', async () => {
      const location = await fresh();
      const store = await open(location);
      const seqs: number[] = [];
      for (let i = 0; i < 7; i++) {
        clock = T0 + i * 60_000;
        seqs.push((await store.ingest.append({ body: Buffer.from(`b${i}`), sensor: 's', name: `r${i}` })).seq);
      }
      assert.deepEqual(
        (await store.ingest.since(seqs[1], 3)).map((e) => e.name),
        ['r2', 'r3', 'r4'],
      );
      assert.deepEqual(
        (await store.ingest.newerThan(T0 + 3 * 60_000)).map((e) => e.name),
        ['r3', 'r4', 'r5', 'r6'],
      );
      const first = await store.ingest.newerThan(T0 + 60_000, { limit: 2 });
      const next = await store.ingest.newerThan(T0 + 60_000, { afterSeq: first[first.length - 1].seq, limit: 2 });
      assert.deepEqual(
        [...first, ...next].map((e) => e.name),
        ['r1', 'r2', 'r3', 'r4'],
      );
      assert.equal(await store.ingest.prune(T0 + 4 * 60_000), 4);
      assert.equal(await store.ingest.prune(T0 + 4 * 60_000), 0);
      const again = await open(location);
      assert.deepEqual(
        (await again.ingest.since(0)).map((e) => e.name),
        ['r4', 'r5', 'r6'],
      );
      // a sequence is never reused after a prune
      const after = await again.ingest.append({ body: Buffer.from('b7'), sensor: 's', name: 'r7' });
      assert.ok(after.seq > seqs[6]);
      // one entry taken out (a committed body that held nothing readable), once
      assert.equal(await again.ingest.remove(seqs[5]), true);
      assert.equal(await again.ingest.remove(seqs[5]), false);
      assert.deepEqual(
        (await again.ingest.since(0)).map((e) => e.name),
        ['r4', 'r6', 'r7'],
      );
      await assert.rejects(again.ingest.remove(-1), /seq must be a non-negative integer/);
    });

    test('cases: the case of a finding; findings join an open case once, audited; a closed case takes none until reopened', async () => {
      const store = await open();
      const finding = (id: string) => ({ id, severity: 'high' as const });
      const grouped = {
        id: 'case-a',
        title: 'Miner',
        severity: 'high' as const,
        tier: 'L1' as const,
        status: 'new' as const,
        hosts: ['web-1'],
        entities: [],
        campaign: { destinations: [], executables: [], hashes: [] },
        findings: [finding('f1').id],
        first_seen: '2026-03-01T00:00:00Z',
        last_seen: '2026-03-01T00:00:00Z',
        core_hours: 0,
        cost: null,
        currency: null,
      };
      await store.cases.create(grouped, { actor: 'a' });
      assert.deepEqual(
        (await store.cases.ofFinding('f1')).map((c) => c.id),
        ['case-a'],
      );
      assert.deepEqual(await store.cases.ofFinding('f2'), []);
      const joined = await store.cases.addFindings('case-a', ['f2', 'f2', 'f1'], { actor: 'ingest' });
      assert.deepEqual(joined.findings, ['f1', 'f2']);
      assert.deepEqual(
        (await store.cases.ofFinding('f2')).map((c) => c.id),
        ['case-a'],
      );
      await assert.rejects(store.cases.addFindings('case-a', ['f1'], { actor: 'ingest' }), /already holds/);
      const audit = (await store.audit.list('case', 'case-a')).items.map((e) => [e.action, e.actor]);
      assert.deepEqual(audit, [
        ['create', 'a'],
        ['join', 'ingest'],
      ]);
      await store.cases.transition('case-a', 'closed', { actor: 'a', resolution: 'true-positive' });
      await assert.rejects(store.cases.addFindings('case-a', ['f3'], { actor: 'ingest' }), /is closed/);
      await store.cases.reopen('case-a', { actor: 'ingest', reason: 'recurred' });
      assert.deepEqual((await store.cases.addFindings('case-a', ['f3'], { actor: 'ingest' })).findings, [
        'f1',
        'f2',
        'f3',
      ]);
    });

    test('an idempotency key is logged once per token: a body appended again under it is not logged, the holding entry answers; pruned with its entry', async () => {
      const store = await open();
      clock = T0;
      const key = 'a'.repeat(32);
      const first = await store.ingest.append({
        body: Buffer.from('one'),
        sensor: 's',
        name: 'b1',
        tokenId: 'tok_1',
        idempotencyKey: key,
      });
      assert.equal(first.repeat, false);
      assert.deepEqual(await store.ingest.byKey('tok_1', key), { seq: first.seq, received_at: T0 });
      clock = T0 + 1000;
      const again = await store.ingest.append({
        body: Buffer.from('one, sent again'),
        sensor: 's',
        name: 'b1-again',
        tokenId: 'tok_1',
        idempotencyKey: key,
      });
      assert.deepEqual(again, { seq: first.seq, received_at: T0, repeat: true });
      // another token's key of the same text, and bodies without a key, are entries of their own
      const other = await store.ingest.append({
        body: Buffer.from('two'),
        sensor: 's2',
        name: 'b2',
        tokenId: 'tok_2',
        idempotencyKey: key,
      });
      assert.equal(other.repeat, false);
      const plain1 = await store.ingest.append({ body: Buffer.from('p'), sensor: 's', name: 'p1' });
      const plain2 = await store.ingest.append({ body: Buffer.from('p'), sensor: 's', name: 'p2' });
      assert.equal(plain1.repeat || plain2.repeat, false);
      assert.deepEqual(
        (await store.ingest.since(0)).map((e) => [e.name, e.body.toString()]),
        [
          ['b1', 'one'],
          ['b2', 'two'],
          ['p1', 'p'],
          ['p2', 'p'],
        ],
      );
      assert.equal(await store.ingest.byKey('tok_3', key), undefined);
      // keys of the wrong shape, or a key without its token, are refused and write nothing
      for (const bad of [
        { tokenId: 'tok_1', idempotencyKey: 'A'.repeat(32) },
        { tokenId: 'tok_1', idempotencyKey: 'a'.repeat(31) },
        { tokenId: 'tok_1', idempotencyKey: `${'a'.repeat(31)}g` },
        { tokenId: 'tok_1', idempotencyKey: 7 as unknown as string },
        { idempotencyKey: 'b'.repeat(32) },
        { tokenId: 'tok_1' },
      ])
        await assert.rejects(
          store.ingest.append({ body: Buffer.from('x'), sensor: 's', name: 'bad', ...bad }),
          StoreInputError,
          JSON.stringify(bad),
        );
      await assert.rejects(store.ingest.byKey('tok_1', 'nope'), StoreInputError);
      assert.equal((await store.ingest.since(0)).length, 4);
      // pruned with its entry: the key is free again past the replay window
      assert.equal(await store.ingest.prune(T0 + 1), 1);
      assert.equal(await store.ingest.byKey('tok_1', key), undefined);
      const later = await store.ingest.append({
        body: Buffer.from('one'),
        sensor: 's',
        name: 'b1-late',
        tokenId: 'tok_1',
        idempotencyKey: key,
      });
      assert.equal(later.repeat, false);
      assert.ok(later.seq > other.seq);
    });

    test('hostile request facts are bounded or refused; nothing is written for a refused one', async () => {
      const store = await open();
      const refused = [
        { body: Buffer.from('x'), sensor: '', name: 'n' },
        { body: Buffer.from('x'), sensor: 's'.repeat(300), name: 'n' },
        { body: Buffer.from('x'), sensor: 's', name: 'n', format: '' },
        { body: 'not bytes' as unknown as Uint8Array, sensor: 's', name: 'n' },
      ];
      for (const entry of refused)
        await assert.rejects(store.ingest.append(entry), (err: unknown) => err instanceof StoreInputError);
      await assert.rejects(store.ingest.since(-1), StoreInputError);
      await assert.rejects(store.ingest.since(0, 5000), StoreInputError);
      assert.deepEqual(await store.ingest.since(0), []);
      const { seq } = await store.ingest.append({
        body: Buffer.from('x'),
        sensor: 's',
        name: `\u0000${'n'.repeat(1000)}`,
        host: 'h'.repeat(2000),
      });
      const [entry] = await store.ingest.since(seq - 1);
      assert.ok(!entry.name.includes('\u0000') && entry.name.length < 300, entry.name);
      assert.ok(entry.host !== null && entry.host.length < 600);
    });
  });
}

for (const b of storeBackends('coalmine-ingest-log-')) suite(b.name, b.setup, b.teardown, b.skip);
