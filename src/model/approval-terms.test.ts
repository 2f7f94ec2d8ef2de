import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cited, expiredNote, expiryMs, inForce } from './approval-terms.js';

test('expires is a date (through that day, UTC) or a date-time with its zone; anything else is no expiry at all', () => {
  assert.equal(expiryMs('2026-12-31'), Date.parse('2027-01-01T00:00:00Z') - 1);
  assert.equal(expiryMs('2026-12-31T18:00:00Z'), Date.parse('2026-12-31T18:00:00Z'));
  assert.equal(expiryMs('2026-12-31T18:00+01:00'), Date.parse('2026-12-31T17:00:00Z'));
  assert.equal(expiryMs('2026-12-31T18:00:00.250-05:00'), Date.parse('2026-12-31T23:00:00.250Z'));
  assert.equal(expiryMs('2028-02-29'), Date.parse('2028-03-01T00:00:00Z') - 1);
  // no zone would make the instant the judging machine's; days and times that do not exist; other spellings
  for (const bad of [
    '2026-12-31T18:00:00',
    '2026-02-30',
    '2027-02-29',
    '2026-13-01',
    '2026-12-31T24:00Z',
    '2026-12-31T18:60Z',
    '31/12/2026',
    'Dec 31 2026',
    '2026',
    '',
    ' 2026-12-31',
  ])
    assert.equal(expiryMs(bad), undefined, bad);
});

test('an entry is in force at an event time on or before its expiry; without one always; at an unknown time never', () => {
  const terms = { expires: '2026-12-31', ref: 'coalmine.yaml:4' };
  assert.equal(inForce(undefined, undefined), true);
  assert.equal(inForce({ ref: 'coalmine.yaml:4', owner: 'bob' }, Number.NaN), true);
  assert.equal(inForce(terms, Date.parse('2026-12-31T23:59:59.999Z')), true);
  assert.equal(inForce(terms, Date.parse('2027-01-01T00:00:00Z')), false);
  for (const unknown of [undefined, Number.NaN, Number.POSITIVE_INFINITY, 9e15, '2026-01-01'])
    assert.equal(inForce(terms, unknown), false, String(unknown));
  assert.equal(inForce({ expires: 'soon', ref: 'x' }, 0), false);
});

test('an entry is cited with its own line, owner, reason and expiry; one without terms by its section', () => {
  assert.equal(cited(undefined, 'coalmine.yaml:40'), '(coalmine.yaml:40)');
  assert.equal(
    cited({ owner: 'platform@example.com', reason: 'edge proxy', expires: '2026-12-31', ref: 'c.yaml:4' }, 'c.yaml:1'),
    '(c.yaml:4; owner platform@example.com; reason "edge proxy"; expires 2026-12-31)',
  );
  const terms = { owner: 'bob', reason: 'CHG-1', expires: '2026-12-31', ref: 'c.yaml:4' };
  assert.equal(
    expiredNote('containers.images "x"', terms, Date.parse('2027-02-01T10:00:00Z'), 'write'),
    'containers.images "x" (c.yaml:4; owner bob; reason "CHG-1") expired 2026-12-31, before this write at 2027-02-01T10:00:00.000Z',
  );
  assert.equal(
    expiredNote('cloud.regions "eu-west-1"', terms, undefined, 'launch'),
    'cloud.regions "eu-west-1" (c.yaml:4; owner bob; reason "CHG-1") expires 2026-12-31, and the time of this launch is unknown',
  );
});
