import assert from 'node:assert/strict';
import { test } from 'node:test';
import { badItem, FIXTURE_DIR, HANG_MS, loadCorpus, makeCase, runCase } from '../../../bench/fuzz-evtx.js';

// The bench fuzzer's cases (bench/fuzz-evtx.ts, 100k by default) on our own fixtures, a seeded few thousand:
// no throw, no item that is neither a record nor a problem, no case anywhere near the hang limit.
const CASES = 2000;
const SEED = 20261202;

test(`readEvtxBuffer survives ${CASES} seeded mutations of the EVTX fixtures`, () => {
  const corpus = loadCorpus([FIXTURE_DIR]);
  assert.ok(corpus.length >= 3, 'fixtures: sysmon-small, damaged, dirty');
  let records = 0;
  let problems = 0;
  for (let i = 0; i < CASES; i++) {
    const c = makeCase(corpus, SEED, i);
    const r = runCase(c.input);
    assert.equal(r.error, undefined, `case ${i} (${c.ops.join(' + ')} on ${c.file}): ${r.error}`);
    assert.ok(r.ms < HANG_MS, `case ${i} took ${r.ms} ms`);
    records += r.records;
    problems += r.problems;
  }
  // the mutations both leave records readable and produce damage the reader reports
  assert.ok(records > 0 && problems > 0, `${records} records, ${problems} problems`);
});

test('badItem tells records and problems from anything else', () => {
  assert.equal(badItem({ offset: 0, reason: 'x' }), undefined);
  assert.match(badItem({ offset: Number.NaN, reason: 'x' }) ?? '', /offset/);
  assert.match(badItem({ offset: 1, reason: '' }) ?? '', /reason/);
  const event = { provider: 'p', channel: 'c', eventId: 1, timeCreated: 't', computer: 'h', data: { a: 'b' } };
  assert.equal(badItem({ chunk: 0, recordId: 1, written: 't', event }), undefined);
});
