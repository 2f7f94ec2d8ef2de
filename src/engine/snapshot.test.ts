import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serialize } from 'node:v8';
import { SnapshotError, Snapshotter } from './snapshot.js';

class Table {
  readonly rows = new Map<string, Row>();
  readonly byAge: Row[] = [];
  constructor(readonly config: { cap: number; pick: (r: Row) => boolean }) {}
  add(r: Row): void {
    this.rows.set(r.id, r);
    this.byAge.push(r);
  }
}

class Row {
  seen = 1;
  constructor(readonly id: string) {}
  bump(): number {
    return ++this.seen;
  }
}

const classes = new Snapshotter([
  { name: 'Table', ctor: Table, transient: ['config'] },
  { name: 'Row', ctor: Row },
]);

function fresh(): Table {
  return new Table({ cap: 10, pick: (r) => r.seen > 1 });
}

test('snapshot: classes, shared references, maps and typed arrays come back as they were', () => {
  const t = fresh();
  const a = new Row('a');
  a.bump();
  t.add(a);
  t.add(new Row('b'));
  (t as unknown as { extra: unknown }).extra = { samples: new Float64Array([1.5, 2]), dict: Object.create(null) };
  const into = fresh();
  const heldRows = into.rows;
  classes.restoreInto(into, classes.take(t));
  assert.equal(
    into.rows,
    heldRows,
    'a Map the fresh object had is filled in place (closures holding it see the state)',
  );
  const ra = into.rows.get('a');
  assert.ok(ra instanceof Row);
  assert.equal(ra.bump(), 3, 'methods work on restored instances');
  assert.equal(into.byAge[0], ra, 'one object however many places hold it');
  assert.equal(into.config.pick(ra), true, 'configuration is the fresh object’s, functions included');
  const extra = (into as unknown as { extra: { samples: Float64Array; dict: object } }).extra;
  assert.deepEqual([...extra.samples], [1.5, 2]);
  assert.equal(Object.getPrototypeOf(extra.dict), null, 'a null-prototype dictionary stays one (no inherited keys)');
});

test('snapshot: what it cannot write whole stops it, naming where', () => {
  const t = fresh();
  (t as unknown as { hook: unknown }).hook = () => 1;
  assert.throws(
    () => classes.take(t),
    (e: unknown) => e instanceof SnapshotError && /root\.hook is a function/.test(e.message),
  );
  const u = fresh();
  u.add(new Row('x'));
  (u.rows.get('x') as unknown as { when: unknown }).when = new (class Unlisted {})();
  assert.throws(() => classes.take(u), /root\.rows\["x"\]\.when is an instance of Unlisted, which is not registered/);
  const bare = new Snapshotter([{ name: 'Row', ctor: Row }]);
  assert.throws(() => bare.restoreInto(fresh(), classes.take(fresh())), /names class Table, which is not registered/);
  // a class with configuration needs a fresh object at its place to take it from
  const nested = fresh();
  (nested as unknown as { inner: Map<string, Table> }).inner = new Map([['t', fresh()]]);
  assert.throws(
    () => classes.restoreInto(fresh(), classes.take(nested)),
    /has configuration fields and nothing to take them from/,
  );
  assert.throws(() => classes.restoreInto(fresh(), serialize({ rows: [] })), /at its root/);
});
