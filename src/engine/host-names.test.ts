import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../bench/fuzz-rng.js';
import { UNKNOWN_HOST } from '../model/entity.js';
import type { CoalEvent, EventAction } from '../model/event.js';
import { type AllowlistEntry, defaultPolicy } from '../model/policy.js';
import { allowlistHostSpellings, HostNames, hostNameKey, policyHostSpellings } from './host-names.js';
import { Engine } from './index.js';

/** The display name of each name, in order, through one registry. */
function displays(names: string[], registry = new HostNames()): string[] {
  return names.map((n) => registry.displayOf(n));
}

test('names equal ignoring case are one host, named by the first spelling seen', () => {
  assert.deepEqual(displays(['WS-FIN-07', 'ws-fin-07', 'Ws-Fin-07']), ['WS-FIN-07', 'WS-FIN-07', 'WS-FIN-07']);
  assert.deepEqual(displays(['web-01', 'WEB-01']), ['web-01', 'web-01']);
  assert.deepEqual(displays(['web-01', 'web-02']), ['web-01', 'web-02'], 'different names stay apart');
});

test('an FQDN and the bare name of its first label are one host, whichever came first', () => {
  assert.deepEqual(displays(['WS-FIN-07', 'ws-fin-07.corp.example.com', 'WS-FIN-07.CORP.EXAMPLE.COM']), [
    'WS-FIN-07',
    'WS-FIN-07',
    'WS-FIN-07',
  ]);
  assert.deepEqual(displays(['ws-fin-07.corp.example.com', 'WS-FIN-07', 'ws-fin-07']), [
    'ws-fin-07.corp.example.com',
    'ws-fin-07.corp.example.com',
    'ws-fin-07.corp.example.com',
  ]);
  assert.deepEqual(
    displays(['ws-fin-07.corp.example.com.', 'ws-fin-07.corp.example.com', 'WS-FIN-07.']),
    ['ws-fin-07.corp.example.com.', 'ws-fin-07.corp.example.com.', 'ws-fin-07.corp.example.com.'],
    'a trailing root dot names the same host',
  );
  assert.deepEqual(
    displays(['web-01', 'web-01x.corp.example.com', 'web.corp.example.com']),
    ['web-01', 'web-01x.corp.example.com', 'web.corp.example.com'],
    'only a whole first label joins, never a prefix',
  );
});

test('two different FQDNs sharing a first label are two hosts: the later one stays its own', () => {
  assert.deepEqual(displays(['web-01.corp.example.com', 'web-01.lab.example.com', 'WEB-01.LAB.EXAMPLE.COM']), [
    'web-01.corp.example.com',
    'web-01.lab.example.com',
    'web-01.lab.example.com',
  ]);
});

test('a bare name seen before the ambiguity stays with the host it joined; one first seen after it is its own', () => {
  assert.deepEqual(
    displays(['web-01.corp.example.com', 'WEB-01', 'web-01.lab.example.com', 'web-01', 'web-01.corp.example.com']),
    [
      'web-01.corp.example.com',
      'web-01.corp.example.com',
      'web-01.lab.example.com',
      'web-01.corp.example.com',
      'web-01.corp.example.com',
    ],
  );
  assert.deepEqual(displays(['WEB-01', 'web-01.corp.example.com', 'web-01.lab.example.com', 'web-01']), [
    'WEB-01',
    'WEB-01',
    'web-01.lab.example.com',
    'WEB-01',
  ]);
  assert.deepEqual(
    displays(['web-01.corp.example.com', 'web-01.lab.example.com', 'WEB-01', 'web-01', 'web-01.dmz.example.com']),
    ['web-01.corp.example.com', 'web-01.lab.example.com', 'WEB-01', 'WEB-01', 'web-01.dmz.example.com'],
    'after the ambiguity the bare name cannot say which machine it is',
  );
});

test('address names are never split on their dots, and the unknown host is left alone', () => {
  assert.deepEqual(displays(['10.0.0.5', '10', '10.0.0.5']), ['10.0.0.5', '10', '10.0.0.5']);
  assert.deepEqual(displays(['FE80::1', 'fe80::1']), ['FE80::1', 'FE80::1'], 'IPv6 letters compare ignoring case');
  assert.deepEqual(displays(['::ffff:10.0.0.5', '::ffff:10']), ['::ffff:10.0.0.5', '::ffff:10']);
  assert.equal(hostNameKey('10.0.0.5'), '10.0.0.5');
  assert.equal(hostNameKey('FE80::1'), 'fe80::1');
  const r = new HostNames();
  assert.equal(r.displayOf(UNKNOWN_HOST), UNKNOWN_HOST);
  assert.equal(r.size, 0, 'nothing to remember for the unknown host');
});

test('the policy seeds the registry first: its spelling names the host, the allowlist’s hosts before hosts:', () => {
  const policy = defaultPolicy();
  policy.hostCores = { 'WS-FIN-07': 8, 'db-01.corp.example.com': 16 };
  policy.hostIps = { '10.0.0.9': 'mail-01' };
  policy.allowlist = [
    allowEntry({ host: 'build-07.corp.example.com' }),
    allowEntry({ host: 'ci-*' }),
    allowEntry({ executable: 'C:\\x.exe' }),
  ];
  assert.deepEqual(policyHostSpellings(policy), [
    'build-07.corp.example.com',
    'WS-FIN-07',
    'db-01.corp.example.com',
    'mail-01',
  ]);
  assert.deepEqual(allowlistHostSpellings(policy.allowlist), ['build-07.corp.example.com'], 'a glob names no one host');
  const r = HostNames.ofPolicy(policy);
  assert.deepEqual(displays(['ws-fin-07.corp.example.com', 'DB-01', 'MAIL-01.corp.example.com', 'BUILD-07'], r), [
    'WS-FIN-07',
    'db-01.corp.example.com',
    'mail-01',
    'build-07.corp.example.com',
  ]);
  assert.equal(r.size, 4, 'the spellings learned from events');
});

test('the engine names a host by its display name, and policy cores and inventory apply to every spelling', () => {
  const policy = defaultPolicy();
  policy.hostCores = { 'WS-FIN-07': 8 };
  policy.hostIps = { '10.0.0.7': 'ws-fin-07.corp.example.com' };
  const engine = new Engine({ policy, classify: () => {}, onClose: () => {} });
  engine.push(event(1, 'exec', { host: { name: 'ws-fin-07.corp.example.com' }, process: { pid: 1 } }));
  engine.push(event(2, 'metric', { host: { name: 'ws-fin-07' }, process: { pid: 1 }, metrics: { cpu_pct: 5 } }));
  engine.push(
    event(3, 'connect', { source: { ip: '10.0.0.7', port: 50000 }, destination: { ip: '198.51.100.7', port: 443 } }),
  );
  engine.push(event(4, 'exec', { host: { name: 'web-01' }, process: { pid: 2 } }));
  engine.end();
  const hosts = engine.hostStates();
  assert.deepEqual(
    hosts.map((h) => [h.name, h.cores]),
    [
      ['WS-FIN-07', 8],
      ['web-01', undefined],
    ],
  );
  assert.deepEqual([...hosts[0].coverage.keys()].sort(), ['network', 'process', 'process-cpu']);
});

test('an event’s host object is replaced, never changed in place (a source may share one between events)', () => {
  const engine = new Engine({ policy: defaultPolicy(), classify: () => {}, onClose: () => {} });
  const shared = { name: 'WS-FIN-07.corp.example.com' };
  engine.push(event(1, 'exec', { host: { name: 'ws-fin-07' }, process: { pid: 1 } }));
  const e = event(2, 'exec', { host: shared, process: { pid: 2 } });
  engine.push(e);
  engine.end();
  assert.equal(shared.name, 'WS-FIN-07.corp.example.com');
  assert.equal(e.host?.name, 'ws-fin-07');
  assert.deepEqual(
    engine.hostStates().map((h) => h.name),
    ['ws-fin-07'],
  );
});

test('hostile names: over-long, empty, prototype keys, odd dots and non-ASCII case stay as written', () => {
  const r = new HostNames();
  const long = `${'a'.repeat(1_000_000)}.corp.example.com`;
  assert.equal(r.displayOf(long), long);
  assert.equal(r.displayOf(`${'A'.repeat(1_000_000)}.corp.example.com`), `${'A'.repeat(1_000_000)}.corp.example.com`);
  assert.equal(r.size, 0, 'longer than any DNS name: not remembered');
  assert.ok(hostNameKey(long).length <= 256, 'a key reads a bounded prefix');
  assert.equal(r.displayOf(''), '');
  assert.deepEqual(displays(['__proto__', 'constructor', '__PROTO__', 'toString.corp'], r), [
    '__proto__',
    'constructor',
    '__proto__',
    'toString.corp',
  ]);
  assert.deepEqual(displays(['.corp.example.com', '.CORP.example.com', 'corp'], r), [
    '.corp.example.com',
    '.corp.example.com',
    'corp',
  ]);
  const label64 = 'x'.repeat(64);
  assert.deepEqual(displays([`${label64}.corp`, label64], r), [`${label64}.corp`, label64], 'no DNS label is 64 long');
  // U+212A KELVIN SIGN lower-cases to k: DNS compares ASCII only, so it does not spell `ws-k`
  assert.deepEqual(displays(['WS-K', 'ws-\u212a', 'ws-k'], r), ['WS-K', 'ws-\u212a', 'WS-K']);
  assert.deepEqual(
    displays(['MÜNCHEN-01', 'münchen-01'], r),
    ['MÜNCHEN-01', 'münchen-01'],
    'non-ASCII letters compare as written',
  );
  assert.deepEqual(
    displays(['a\u0000b.corp', 'A\u0000B'], r),
    ['a\u0000b.corp', 'a\u0000b.corp'],
    'control characters are plain characters',
  );
});

test('bounded: learned spellings past the bound are let go oldest first, counted; policy names never', () => {
  const policy = defaultPolicy();
  policy.hostCores = { 'WS-FIN-07': 8 };
  const r = HostNames.ofPolicy(policy, 100);
  for (let i = 0; i < 1000; i++) r.displayOf(`h-${i}.corp.example.com`);
  assert.ok(r.size <= 100, `${r.size} spellings`);
  assert.ok(r.forgotten >= 900 * 2 - 2, `${r.forgotten} let go (spellings and labels)`);
  assert.equal(r.displayOf('ws-fin-07.corp.example.com'), 'WS-FIN-07', 'the policy host is still known');
  assert.equal(r.displayOf('H-999'), 'h-999.corp.example.com', 'the newest are still known');
  assert.equal(r.displayOf('H-0'), 'H-0', 'the oldest are forgotten: a new host');
});

test('a host seen often stays known while many new ones pass (touch order, not insertion order)', () => {
  const r = new HostNames(50);
  assert.equal(r.displayOf('busy.corp.example.com'), 'busy.corp.example.com');
  for (let i = 0; i < 5000; i++) {
    r.displayOf(`h-${i}`);
    if (i % 10 === 0)
      assert.equal(r.displayOf(i % 20 === 0 ? 'BUSY' : 'busy.corp.example.com'), 'busy.corp.example.com');
  }
});

test('the last name resolved is answered again without a lookup, and forgetting never makes it stale', () => {
  const r = new HostNames(2);
  assert.equal(r.displayOf('a.corp'), 'a.corp');
  assert.equal(r.displayOf('a.corp'), 'a.corp');
  r.displayOf('b');
  r.displayOf('c');
  r.displayOf('d');
  assert.equal(r.displayOf('A'), 'A', 'a.corp and its label were let go: A is a new host');
  assert.equal(r.displayOf('A'), 'A');
});

test('a raw name cached for a spelling that was let go is resolved again, never answered stale', () => {
  const r = new HostNames(2);
  assert.equal(r.displayOf('A'), 'A');
  r.displayOf('B');
  assert.equal(r.displayOf('a'), 'A', 'a second raw spelling of A, cached');
  r.displayOf('C'); // A's spelling and label are let go; the raw name `a` is still cached
  assert.equal(r.displayOf('a'), 'a', 'a new host now: A was forgotten');
  assert.equal(r.displayOf('A'), 'a');
});

test('hostNameKey is what folding (ASCII case, root dots) and cutting at the first dot give, for any name', () => {
  const reference = (name: string): string => {
    let f = name.slice(0, 256).replace(/[A-Z]/g, (c) => c.toLowerCase());
    while (f.endsWith('.')) f = f.slice(0, -1);
    if (f.includes(':') || /^[0-9.]*$/.test(f)) return f;
    return f.split('.')[0];
  };
  const alphabet = ['a', 'Z', 'ü', 'Ü', '\u212a', '0', '9', '.', '.', ':', '-', '_', ' ', '\u0000'];
  const rng = new Rng(0x6e4d);
  for (let i = 0; i < 20_000; i++) {
    let name = '';
    const length = rng.chance(0.01) ? 250 + rng.int(20) : rng.int(12);
    for (let k = 0; k < length; k++) name += rng.pick(alphabet);
    assert.equal(hostNameKey(name), reference(name), JSON.stringify(name));
  }
});

test('hostNameKey: every two spellings the registry joins have one key (so one partition)', () => {
  const labels = ['ws-fin-07', 'WEB-01', 'db', '10', 'a'];
  const domains = ['', '.corp.example.com', '.CORP.example.com', '.lab.example.com', '.', '.corp'];
  const rng = new Rng(0x4057);
  for (let round = 0; round < 200; round++) {
    const r = new HostNames();
    const names: string[] = [];
    for (let i = 0; i < 12; i++) {
      const label = rng.pick(labels);
      const cased = rng.chance(0.5) ? label.toUpperCase() : label.toLowerCase();
      names.push(`${cased}${rng.pick(domains)}`);
    }
    const byDisplay = new Map<string, Set<string>>();
    for (const n of names) {
      const d = r.displayOf(n);
      const keys = byDisplay.get(d) ?? new Set<string>();
      keys.add(hostNameKey(n));
      byDisplay.set(d, keys);
    }
    for (const [d, keys] of byDisplay)
      assert.equal(keys.size, 1, `${d} joined ${names.join(', ')} under keys ${[...keys]}`);
  }
  assert.equal(hostNameKey('WS-FIN-07'), 'ws-fin-07');
  assert.equal(hostNameKey('ws-fin-07.corp.example.com'), 'ws-fin-07');
  assert.equal(hostNameKey('ws-fin-07.'), 'ws-fin-07');
  assert.equal(hostNameKey(UNKNOWN_HOST), UNKNOWN_HOST);
});

function allowEntry(match: AllowlistEntry['match']): AllowlistEntry {
  return { match, analytics: [], owner: 'o', reason: 'r', expires: '2099-01-01', ref: 'coalmine.yaml:1' };
}

function event(minute: number, action: EventAction, fields: Partial<CoalEvent>): CoalEvent {
  const ts = Date.parse('2026-12-01T10:00:00Z') + minute * 60_000;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: action === 'metric' ? 'metric' : 'event', category: ['process'], action, dataset: 't' },
    original: {},
    coalmine: { ts, format: 't', ref: { file: 'f', line: minute } },
    ...fields,
  };
}
