import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostNames } from '../engine/host-names.js';
import type { Finding } from '../model/finding.js';
import { type AllowlistEntry, defaultPolicy } from '../model/policy.js';
import { Allowlist } from './allowlist.js';

function entry(match: AllowlistEntry['match'], line = 1): AllowlistEntry {
  return {
    match,
    analytics: [],
    owner: 'it-ops',
    reason: 'approved',
    expires: '2099-01-01',
    ref: `coalmine.yaml:${line}`,
  };
}

function finding(host: string, facts: Finding['facts'] = {}): Finding {
  return {
    id: 'cm-1',
    analytic: 'AN0741',
    title: 't',
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.8,
    entity: `process:${host}:1`,
    related: [],
    host,
    first_seen: '2026-11-30T10:00:00.000Z',
    last_seen: '2026-11-30T11:00:00.000Z',
    legs: ['resource', 'command'],
    summary: '',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: { host, ...facts },
    processes: [],
    usage: { core_hours: 1, basis: 'per-process CPU of 1 process', series: [] },
  };
}

/**
 * What hunt does: the engine names a finding's host by the display name its policy-seeded registry
 * gives the spelling the logs used (engine/host-names.ts), and the allowlist judges that finding.
 */
function suppressedOn(entries: AllowlistEntry[], spellings: string[], hostCores: Record<string, number> = {}) {
  const policy = { ...defaultPolicy(), allowlist: entries, hostCores };
  const names = HostNames.ofPolicy(policy);
  const list = new Allowlist(entries);
  return spellings.map((s) => list.apply(finding(names.displayOf(s))).suppressed_by?.list ?? null);
}

test('a host entry suppresses a finding on any spelling of its host: case, FQDN or bare name', () => {
  assert.deepEqual(
    suppressedOn([entry({ host: 'WS-FIN-07' })], ['ws-fin-07', 'ws-fin-07.corp.example.com', 'WS-FIN-07.']),
    ['coalmine.yaml:1', 'coalmine.yaml:1', 'coalmine.yaml:1'],
  );
  assert.deepEqual(
    suppressedOn([entry({ host: 'ws-fin-07.corp.example.com' })], ['WS-FIN-07', 'ws-fin-07.CORP.example.com']),
    ['coalmine.yaml:1', 'coalmine.yaml:1'],
  );
  assert.deepEqual(suppressedOn([entry({ host: 'WS-FIN-07' })], ['ws-fin-08', 'ws-fin-070.corp.example.com']), [
    null,
    null,
  ]);
});

test('an entry names its host even when hosts: spells the same machine otherwise', () => {
  // the allowlist's names seed the engine first: the FQDN is the display name, cores still apply (engine test)
  assert.deepEqual(
    suppressedOn([entry({ host: 'ws-fin-07.corp.example.com' })], ['WS-FIN-07', 'ws-fin-07'], { 'WS-FIN-07': 8 }),
    ['coalmine.yaml:1', 'coalmine.yaml:1'],
  );
  // two entries spelling one host: both name it
  const both = [entry({ host: 'web-01', executable: 'C:\\a.exe' }, 1), entry({ host: 'WEB-01.corp.example.com' }, 2)];
  assert.deepEqual(suppressedOn(both, ['web-01.corp.example.com']), ['coalmine.yaml:2']);
});

test('never another machine: an FQDN the engine kept apart (a first label two domains share) is not suppressed', () => {
  const policy = { ...defaultPolicy(), allowlist: [entry({ host: 'web-01' })] };
  const names = HostNames.ofPolicy(policy);
  const list = new Allowlist(policy.allowlist);
  const corp = names.displayOf('web-01.corp.example.com');
  const lab = names.displayOf('web-01.lab.example.com');
  assert.equal(corp, 'web-01');
  assert.equal(lab, 'web-01.lab.example.com');
  assert.equal(list.apply(finding(corp)).suppressed_by?.list, 'coalmine.yaml:1');
  assert.equal(list.apply(finding(lab)).suppressed_by, null);
  // an FQDN entry never names another FQDN, whatever their first labels
  const fqdn = new Allowlist([entry({ host: 'web-01.corp.example.com' })]);
  assert.equal(fqdn.apply(finding('web-01.lab.example.com')).suppressed_by, null);
});

test('a glob host entry is matched ignoring case, and other fields as before', () => {
  const list = new Allowlist([entry({ host: 'build-*', executable: 'C:\\tools\\ci.exe' })]);
  assert.equal(
    list.apply(finding('BUILD-07', { executable: 'C:\\tools\\ci.exe' })).suppressed_by?.list,
    'coalmine.yaml:1',
  );
  assert.equal(list.apply(finding('BUILD-07', { executable: 'C:\\TOOLS\\ci.exe' })).suppressed_by, null);
  assert.equal(list.apply(finding('web-07', { executable: 'C:\\tools\\ci.exe' })).suppressed_by, null);
});

test('an expired host entry does not suppress and the finding says so, however the host is spelled', () => {
  const old = { ...entry({ host: 'WS-FIN-07' }), expires: '2026-01-01' };
  const f = new Allowlist([old]).apply(finding('ws-fin-07'));
  assert.equal(f.suppressed_by, null);
  assert.match(f.gaps[0], /coalmine\.yaml:1 \(owner it-ops\) matched but expired on 2026-01-01/);
});

test('hostile entry hosts: prototype names and over-long names match only themselves', () => {
  const long = `${'a'.repeat(10_000)}.corp`;
  const list = new Allowlist([entry({ host: '__proto__' }, 1), entry({ host: long }, 2)]);
  assert.equal(list.apply(finding('__PROTO__')).suppressed_by?.list, 'coalmine.yaml:1');
  assert.equal(list.apply(finding('constructor')).suppressed_by, null);
  assert.equal(list.apply(finding(long)).suppressed_by?.list, 'coalmine.yaml:2');
  assert.equal(list.apply(finding('a')).suppressed_by, null);
});
