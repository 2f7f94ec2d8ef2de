import assert from 'node:assert/strict';
import { test } from 'node:test';
import { an0744Finding } from '../../test/support/an0744-finding.js';
import { gpuCost } from '../../test/support/gpu-cost.js';
import { hostileFinding } from '../../test/support/hostile-finding.js';
import { rawInvisible } from '../../test/support/invisible.js';
import { defaultPolicy } from '../model/policy.js';
import { triageFinding } from '../triage/playbook.js';
import { explain } from './explain.js';
import { table } from './table.js';

test('explain: every input-derived line shows control, bidi and zero-width characters as escapes', () => {
  const out = explain.render([hostileFinding()], { color: false, version: 't' });
  assert.deepEqual(rawInvisible(out), []);
  // every section that carries input text: title, timeline, processes, questions, plan, allowlist
  for (const part of [
    'by evil\\u202e',
    'command line evil\\u202e',
    'cmd evil\\u202e',
    'a evil\\u202e',
    'kill evil\\u202e',
    'match: "evil\\u202e',
    'context title evil\\u202e',
    'ctxcmd evil\\u202e',
    '2 h before evil\\u202e',
  ])
    assert.ok(out.includes(part), part);
});

test('explain and table: a cloud launch is priced in instance-hours, and an unpriced one says why', () => {
  const priced = an0744Finding();
  priced.triage = triageFinding(priced, defaultPolicy());
  const out = explain.render([priced], { color: false, version: 't' });
  assert.ok(
    out.includes(
      '64 instance-hours × 0.526 USD = 33.66 USD (20 × g4dn.xlarge, 64 instance-hours × 0.526 USD (cloud-prices 2026-12-05, us-east-1))',
    ),
    out,
  );
  assert.match(table.render([priced], { color: false, version: 't' }), /cost 64 instance-hours ≈ 33\.66 USD/);
  const unknown = an0744Finding({}, { instance_types: ['x9.mega\u202e'] });
  unknown.triage = triageFinding(unknown, defaultPolicy());
  const said = explain.render([unknown], { color: false, version: 't' });
  assert.match(said, /no cost: aws x9\.mega\\u202e is not in the price table/);
  assert.deepEqual(rawInvisible(said), []);
});

test('explain and table: a GPU-mined session is priced in GPU-hours at the GPU-hour price, beside any core-hours', () => {
  const f = hostileFinding();
  f.triage = triageFinding(f, defaultPolicy());
  const triage = f.triage;
  triage.cost = gpuCost();
  assert.ok(
    explain
      .render([f], { color: false, version: 't' })
      .includes(`\n  1.26 GPU-hours × 0.5 USD = 0.63 USD (${triage.cost.basis})`),
  );
  assert.match(table.render([f], { color: false, version: 't' }), /cost 1\.26 GPU-hours ≈ 0\.63 USD/);
  triage.cost = { ...triage.cost, core_hours: 6, amount: 0.93 };
  assert.ok(
    explain
      .render([f], { color: false, version: 't' })
      .includes('\n  6 core-hours × 0.05 USD + 1.26 GPU-hours × 0.5 USD = 0.93 USD ('),
  );
  assert.match(table.render([f], { color: false, version: 't' }), /cost 6 core-hours \+ 1\.26 GPU-hours ≈ 0\.93 USD/);
});

test('explain: a session measured from shares is listed with its rate, interval and a line per bucket, escaped', () => {
  const f = hostileFinding();
  f.shares = [
    {
      destination: '198.51.100.7:3333',
      dialect: 'v1',
      family: 'equihash',
      family_basis: 'mining.set_target evil\u202e',
      worker: 'w evil\u202e\u001b[31m',
      first_seen: '2025-03-14T02:10:00.000Z',
      last_seen: '2025-03-14T02:12:00.000Z',
      mining_minutes: 1.5,
      connections: 1,
      submitted: 11,
      accepted: 11,
      rejected: 0,
      hashrate: 309,
      hashrate_low: 174,
      hashrate_high: 512,
      unit: 'Sol/s',
      difficulty: [],
      timeline: [
        ['2025-03-14T02:10:00.000Z', 1, 8, 287],
        ['2025-03-14T02:11:00.000Z', 1, 3, 389],
        ['2025-03-14T02:12:00.000Z', 0.5, 1, 260],
      ],
      source: 'zec.pcapng#70',
    },
  ];
  const out = explain.render([f], { color: false, version: 't' });
  assert.deepEqual(rawInvisible(out), []);
  assert.ok(
    out.includes(
      'Hashrate (measured from Stratum shares)\n  ~309 Sol/s Equihash (90%: 174–512 Sol/s) to 198.51.100.7:3333: 11 accepted, 0 rejected over 1.5 min, worker w evil\\u202e\\u001b[31m\n    algorithm: mining.set_target evil\\u202e; zec.pcapng#70\n    2025-03-14 02:10:00  +1 min     8 shares  287 Sol/s\n    2025-03-14 02:11:00  +1 min     3 shares  389 Sol/s\n    2025-03-14 02:12:00  +0.5 min     1 share   260 Sol/s',
    ),
    out,
  );
});
