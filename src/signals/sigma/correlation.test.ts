import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../../model/event.js';
import {
  type CompiledCorrelation,
  type CorrelationDefinition,
  CorrelationParseError,
  Correlator,
  parseCorrelation,
  parseCountCondition,
  parseTimespan,
} from './correlation.js';

const MIN = 60_000;

/** An event at minute `m` whose fields are `fields` (read by the correlation through `read`). */
function at(m: number, fields: Record<string, string> = {}): CoalEvent {
  return {
    '@timestamp': new Date(m * MIN).toISOString(),
    event: { kind: 'event', category: [], action: 'log-record', dataset: 't' },
    original: fields,
    coalmine: { ts: m * MIN, format: 't', ref: { file: 'f', line: m } },
  };
}

function correlation(doc: Record<string, unknown>, inputs = ['a']): CompiledCorrelation {
  const def = parseCorrelation({ title: 'T', id: 'c', ...doc });
  return {
    def,
    inputs: inputs.map((id) => ({ id, name: `${id}-name` })),
    read: (e, f) => {
      const v = (e.original as Record<string, unknown>)[f];
      return typeof v === 'string' ? [v] : [];
    },
  };
}

function run(
  c: CompiledCorrelation[],
  steps: Array<[CoalEvent, string[]]>,
  limits = {},
): Array<[number, string, number]> {
  const corr = new Correlator(c, limits);
  const out: Array<[number, string, number]> = [];
  for (const [e, ids] of steps)
    for (const h of corr.observe(e, ids))
      out.push([h.event.coalmine.ts / MIN, h.group.map(([, v]) => v).join('|'), h.count]);
  return out;
}

test('timespans are a whole number and one unit; conditions become inclusive bounds', () => {
  assert.equal(parseTimespan('90m'), 90 * MIN);
  assert.equal(parseTimespan('1d'), 86_400_000);
  for (const bad of ['1.5h', '10', 'h', '5M', '0s', '400d', 5])
    assert.equal(parseTimespan(bad), undefined, String(bad));
  assert.deepEqual(parseCountCondition({ gte: 10 }, 'event_count').bounds, { min: 10 });
  assert.deepEqual(parseCountCondition({ gt: 100, lte: 200 }, 'event_count').bounds, { min: 101, max: 200 });
  assert.deepEqual(parseCountCondition({ eq: 3 }, 'event_count').bounds, { min: 3, max: 3 });
  assert.deepEqual(parseCountCondition({ lt: 5 }, 'event_count').bounds, { max: 4 });
  assert.deepEqual(parseCountCondition({ range: '2..4' }, 'event_count').bounds, { min: 2, max: 4 });
  assert.deepEqual(parseCountCondition(undefined, 'temporal').bounds, {});
  assert.deepEqual(parseCountCondition({ field: 'User', gte: 3 }, 'value_count'), {
    bounds: { min: 3 },
    field: 'User',
  });
  const refused: Array<[unknown, string]> = [
    [{ gte: 'ten' }, 'event_count'],
    [{ lt: 0 }, 'event_count'],
    [{ gt: 5, lt: 3 }, 'event_count'],
    [{ near: 1 }, 'event_count'],
    [{}, 'event_count'],
    [undefined, 'event_count'],
    [{ gte: 3 }, 'value_count'],
    [[1], 'event_count'],
  ];
  for (const [raw, type] of refused)
    assert.throws(
      () => parseCountCondition(raw, type as CorrelationDefinition['type']),
      CorrelationParseError,
      JSON.stringify(raw),
    );
  // valid Sigma coalmine does not run: huge counts, an upper bound on rules seen
  for (const [raw, type] of [
    [{ gte: 1_000_000 }, 'event_count'],
    [{ lte: 1 }, 'temporal'],
  ] as const)
    assert.throws(
      () => parseCountCondition(raw, type),
      (e: unknown) => e instanceof CorrelationParseError && e.unsupported,
    );
});

test('a correlation document: type, rules, group-by, timespan, aliases and generate, each checked', () => {
  const def = parseCorrelation({
    title: 'Many failed logons',
    name: 'many_failed',
    level: 'High',
    correlation: {
      type: 'event_count',
      rules: ['failed_logon'],
      'group-by': ['TargetUserName'],
      timespan: '5m',
      condition: { gte: 3 },
      generate: true,
    },
  });
  assert.equal(def.id, 'many_failed');
  assert.equal(def.level, 'high');
  assert.deepEqual(
    [def.type, def.refs, def.groupBy, def.timespanMs, def.generate],
    ['event_count', ['failed_logon'], ['TargetUserName'], 5 * MIN, true],
  );
  assert.equal(
    parseCorrelation({ title: 't', id: 'x', correlation: { type: 'temporal', rules: ['a', 'b'], timespan: '1h' } })
      .generate,
    false,
  );
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ correlation: { type: 'sum', rules: ['a'], timespan: '1m', condition: { gte: 1 } } }, 'CORRELATION_BAD_TYPE'],
    [{ correlation: { type: 'temporal', rules: [], timespan: '1m' } }, 'CORRELATION_BAD_FIELD'],
    [{ correlation: { type: 'temporal', rules: ['a'], timespan: 'soon' } }, 'CORRELATION_BAD_TIMESPAN'],
    [{ correlation: { type: 'temporal', rules: ['a'], timespan: '1m', aliases: ['x'] } }, 'CORRELATION_BAD_FIELD'],
    [{ correlation: { type: 'temporal', rules: ['a'], timespan: '1m', generate: 'yes' } }, 'CORRELATION_BAD_FIELD'],
    [{ correlation: 'event_count' }, 'CORRELATION_BAD_FIELD'],
    [{ correlation: { type: 'temporal', rules: Array(65).fill('a'), timespan: '1m' } }, 'CORRELATION_BAD_FIELD'],
  ];
  for (const [doc, code] of bad)
    assert.throws(
      () => parseCorrelation({ title: 't', id: 'x', ...doc }),
      (e: unknown) => e instanceof CorrelationParseError && e.code === code && /^correlation x: /.test(e.message),
      code,
    );
  assert.throws(
    () => parseCorrelation({ correlation: {} }),
    (e: unknown) => e instanceof CorrelationParseError && e.code === 'RULE_MISSING_FIELD',
  );
});

test('event_count fires once per group when the sliding window holds enough, then starts over', () => {
  const c = correlation({
    correlation: { type: 'event_count', rules: ['a'], 'group-by': ['User'], timespan: '5m', condition: { gte: 3 } },
  });
  const hits = run(
    [c],
    [
      [at(0, { User: 'bob' }), ['a']],
      [at(1, { User: 'eve' }), ['a']],
      [at(2, { User: 'bob' }), ['a']],
      // bob's first match has left the 5m window by minute 6: still two
      [at(6, { User: 'bob' }), ['a']],
      [at(7, { User: 'bob' }), ['a']],
      [at(8, { User: 'bob' }), ['a']],
      [at(8, { User: 'eve' }), ['b']],
    ],
  );
  assert.deepEqual(hits, [
    [7, 'bob', 3],
    // after a hit the group starts over: 8 alone is one
  ]);
});

test('upper bounds are judged when the window closes, on the next match after it', () => {
  const c = correlation({
    correlation: { type: 'event_count', rules: ['a'], 'group-by': ['Host'], timespan: '10m', condition: { lt: 3 } },
  });
  const hits = run(
    [c],
    [
      [at(0, { Host: 'quiet' }), ['a']],
      [at(1, { Host: 'busy' }), ['a']],
      [at(2, { Host: 'busy' }), ['a']],
      [at(3, { Host: 'busy' }), ['a']],
      // minute 30: both windows closed long ago; quiet had 1 (< 3), busy 3
      [at(30, { Host: 'other' }), ['a']],
    ],
  );
  assert.deepEqual(hits, [[0, 'quiet', 1]]);
  const range = correlation({
    correlation: { type: 'event_count', rules: ['a'], timespan: '10m', condition: { range: '2..3' } },
  });
  // a group's own later match closes its window too
  assert.deepEqual(
    run(
      [range],
      [
        [at(0), ['a']],
        [at(4), ['a']],
        [at(11), ['a']],
      ],
    ),
    [[4, '', 2]],
  );
});

test('value_count counts distinct values of a field (through aliases per rule) within the window', () => {
  const c = correlation(
    {
      correlation: {
        type: 'value_count',
        rules: ['a', 'b'],
        'group-by': ['Source'],
        timespan: '10m',
        condition: { field: 'Account', gte: 3 },
        aliases: { Account: { 'b-name': 'UserName' }, Source: { b: 'Ip' } },
      },
    },
    ['a', 'b'],
  );
  const hits = run(
    [c],
    [
      [at(0, { Source: '10.0.0.9', Account: 'root' }), ['a']],
      [at(1, { Source: '10.0.0.9', Account: 'root' }), ['a']],
      [at(2, { Ip: '10.0.0.9', UserName: 'admin' }), ['b']],
      [at(3, { Source: '10.0.0.7', Account: 'oracle' }), ['a']],
      [at(4, { Source: '10.0.0.9', Account: 'oracle' }), ['a']],
    ],
  );
  assert.deepEqual(hits, [[4, '10.0.0.9', 3]]);
});

test('temporal needs every rule in the window, in any order; temporal_ordered in the order named', () => {
  const temporal = correlation(
    { correlation: { type: 'temporal', rules: ['a', 'b'], 'group-by': ['Host'], timespan: '5m' } },
    ['a', 'b'],
  );
  assert.deepEqual(
    run(
      [temporal],
      [
        [at(0, { Host: 'h1' }), ['b']],
        [at(1, { Host: 'h2' }), ['a']],
        [at(2, { Host: 'h1' }), ['a']],
      ],
    ),
    [[2, 'h1', 2]],
  );
  const ordered = correlation(
    { correlation: { type: 'temporal_ordered', rules: ['download', 'exec'], 'group-by': ['Host'], timespan: '5m' } },
    ['download', 'exec'],
  );
  assert.deepEqual(
    run(
      [ordered],
      [
        // exec before download: not in order
        [at(0, { Host: 'h1' }), ['exec']],
        [at(1, { Host: 'h1' }), ['download']],
        // too late: the download left the window
        [at(7, { Host: 'h1' }), ['exec']],
        [at(8, { Host: 'h1' }), ['download']],
        [at(9, { Host: 'h1' }), ['exec']],
        // one event matching both stages does not complete a chain
        [at(20, { Host: 'h2' }), ['download', 'exec']],
      ],
    ),
    [[9, 'h1', 2]],
  );
});

test('a correlation over a correlation: the inner hit feeds the outer in the same event', () => {
  const inner = correlation(
    {
      id: 'inner',
      correlation: {
        type: 'event_count',
        rules: ['fail'],
        'group-by': ['User'],
        timespan: '10m',
        condition: { gte: 2 },
      },
    },
    ['fail'],
  );
  const outer: CompiledCorrelation = {
    ...correlation(
      {
        id: 'outer',
        correlation: { type: 'temporal_ordered', rules: ['inner', 'ok'], 'group-by': ['User'], timespan: '10m' },
      },
      ['inner', 'ok'],
    ),
  };
  inner.def.id = 'inner';
  outer.def.id = 'outer';
  const corr = new Correlator([inner, outer]);
  const seen: string[] = [];
  for (const [e, ids] of [
    [at(0, { User: 'bob' }), ['fail']],
    [at(1, { User: 'bob' }), ['fail']],
    [at(2, { User: 'bob' }), ['ok']],
  ] as Array<[CoalEvent, string[]]>)
    for (const h of corr.observe(e, ids)) seen.push(`${h.correlation.def.id}@${e.coalmine.ts / MIN}`);
  assert.deepEqual(seen, ['inner@1', 'outer@2']);
});

test('state is bounded: groups past the cap evict the least recently active, and idle groups are dropped', () => {
  const c = correlation({
    correlation: { type: 'event_count', rules: ['a'], 'group-by': ['User'], timespan: '1h', condition: { gte: 2 } },
  });
  const corr = new Correlator([c], { maxGroups: 100 });
  for (let i = 0; i < 10_000; i++) corr.observe(at(i / 1000, { User: `u${i}` }), ['a']);
  assert.equal(corr.evictedGroups, 9_900);
  // u0 was evicted: its second match is its first again, no hit; u9999 is still held
  assert.deepEqual(corr.observe(at(11, { User: 'u0' }), ['a']).length, 0);
  assert.deepEqual(corr.observe(at(11, { User: 'u9999' }), ['a']).length, 1);
  // hostile values: a megabyte field is one bounded group key, and the hit's group value is clipped
  const huge = 'x'.repeat(1 << 20);
  corr.observe(at(12, { User: huge }), ['a']);
  const [hit] = corr.observe(at(12, { User: huge }), ['a']);
  assert.equal(hit.group[0][1].length, 256);
});
