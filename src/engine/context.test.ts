/**
 * The context store and a finding's context: which matches are kept (not mining, per host, in event
 * time), the bounds under a noisy rule set, the key facts of a match, the reasons from ATT&CK tags, and
 * the window a finding's context is taken from.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachContext, CONTEXT_AFTER_MS, CONTEXT_BEFORE_MS, relativeTime } from '../analytics/finding.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import type { RuleMatch } from '../signals/rules.js';
import type { CompiledRule } from '../signals/sigma/index.js';
import { evt } from '../signals/test-events.js';
import { ContextStore, keyFacts, reasonsOf, ruleMatchRecord } from './context.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 2, 12, 0);

function rule(id: string, tags: string[] = [], mining = false): CompiledRule {
  return {
    id,
    title: `rule ${id}`,
    level: 'high',
    status: 'test',
    tags,
    signal: mining ? { kind: 'miner-process', class: 'process', strength: 'strong' } : undefined,
    keys: [],
    logsource: [],
    matches: () => true,
    explain: () => '',
  };
}

function match(r: CompiledRule): RuleMatch {
  return { id: r.id, level: r.level, title: r.title, rule: r };
}

function at(ts: number, host = 'web-01', line = 1, fields: Partial<CoalEvent> = {}): CoalEvent {
  const e = evt('exec', {
    host: { name: host, os: { platform: 'linux' } },
    process: { pid: 10, executable: '/bin/sh', command_line: 'sh -c id', user: { name: 'tomcat' } },
    ...fields,
  });
  e['@timestamp'] = new Date(ts).toISOString();
  e.coalmine = { ...e.coalmine, ts, ref: { file: 'events.ndjson', line } };
  return e;
}

function finding(host: string, firstMs: number, lastMs: number, facts: Finding['facts'] = {}): Finding {
  return {
    id: 'cm-0000000000000001',
    analytic: 'AN0742',
    title: 'Cryptomining',
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.9,
    entity: `process:${host}:10`,
    related: [],
    host,
    first_seen: new Date(firstMs).toISOString(),
    last_seen: new Date(lastMs).toISOString(),
    legs: ['process'],
    summary: '',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts,
    processes: [],
    usage: null,
  };
}

test('only rules that are not compute hijacking are context, per host, and a host-less event is counted apart', () => {
  const store = new ContextStore();
  const shell = rule('shell', ['attack.initial-access', 'attack.t1190', 'cve.2021-44228']);
  const miner = rule('miner', ['attack.t1496'], true);
  store.add(at(T0, 'web-01'), [match(shell), match(miner)]);
  store.add({ ...at(T0), host: undefined }, [match(shell)]);
  const held = store.around(['WEB-01'], T0 - H, T0 + H);
  assert.deepEqual(
    held.map((x) => x.record.rule_id),
    ['shell'],
  );
  assert.equal(store.unattributed, 1);
  assert.deepEqual(held[0].record.tags, ['attack.initial-access', 'attack.t1190', 'cve.2021-44228']);
  assert.deepEqual(reasonsOf(held[0].record.tags), ['exploitation']);
  assert.deepEqual(store.around(['web-02'], T0 - H, T0 + H), []);
});

test('a noisy rule cannot push a rare one out, the oldest go first, and every match let go is counted', () => {
  const store = new ContextStore({ perHost: 8, perRule: 3, total: 12 });
  const rare = rule('mimikatz', ['attack.credential-access', 'attack.t1003.001']);
  const noisy = rule('noisy');
  store.add(at(T0, 'ws-07', 1), [match(rare)]);
  for (let i = 0; i < 100; i++) store.add(at(T0 + (i + 1) * 60_000, 'ws-07', i + 2), [match(noisy)]);
  const held = store.around(['ws-07'], 0, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    held.map((x) => x.record.rule_id),
    ['mimikatz', 'noisy', 'noisy', 'noisy'],
  );
  // the newest three of the noisy rule are the ones held
  assert.deepEqual(
    held.slice(1).map((x) => x.record.source),
    ['events.ndjson:99', 'events.ndjson:100', 'events.ndjson:101'],
  );
  assert.equal(store.dropped, 97);
  // many hosts: the total bound lets the least recently matched host go first
  for (let h = 0; h < 20; h++) store.add(at(T0, `host-${h}`, h), [match(noisy)]);
  assert.ok(store.size <= 12, `held ${store.size}`);
  assert.deepEqual(store.around(['ws-07'], 0, Number.MAX_SAFE_INTEGER), []);
  assert.equal(store.around(['host-19'], 0, Number.MAX_SAFE_INTEGER).length, 1);
  assert.equal(store.dropped, 97 + 4 + 20 - 12);
});

test('a correlation completed by an earlier event is held in event-time order', () => {
  const store = new ContextStore();
  const r = rule('r');
  store.add(at(T0 + 2 * H, 'h', 2), [match(r)]);
  store.add(at(T0, 'h', 1), [match(r)]);
  assert.deepEqual(
    store.around(['h'], 0, Number.MAX_SAFE_INTEGER).map((x) => x.ts),
    [T0, T0 + 2 * H],
  );
});

test('key facts: a Sysmon 10 access names its target and rights; hostile values are clipped', () => {
  const lsass = at(T0, 'ws-07', 3, {
    event: { kind: 'event', category: [], action: 'log-record', dataset: 'sysmon' },
    process: { executable: 'C:\\Users\\Public\\m.exe', pid: 4242 },
    original: {
      EventID: 10,
      Provider: 'Microsoft-Windows-Sysmon',
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      EventData: { TargetImage: 'C:\\Windows\\system32\\lsass.exe', GrantedAccess: '0x1010', SourceUser: 'x' },
    },
  });
  const facts = keyFacts(lsass);
  assert.equal(facts.event_id, '10');
  assert.equal(facts.process, 'C:\\Users\\Public\\m.exe');
  assert.equal(facts.target, 'C:\\Windows\\system32\\lsass.exe');
  assert.equal(facts.granted_access, '0x1010');
  const long = keyFacts(at(T0, 'h', 1, { process: { command_line: `x${'A'.repeat(100_000)}` } }));
  assert.ok(long.command_line.length < 700);
  const r = ruleMatchRecord(lsass, match(rule('m', ['attack.t1003.001', 'attack.credential-access', 'tlp.white'])));
  assert.deepEqual(r.tags, ['attack.t1003.001', 'attack.credential-access']);
  assert.equal(r.source, 'events.ndjson:3');
});

test('reasons come from tactics, techniques and CVE tags', () => {
  assert.deepEqual(reasonsOf(['attack.credential_access']), ['credential-access']);
  assert.deepEqual(reasonsOf(['attack.t1003.001']), ['credential-access']);
  assert.deepEqual(reasonsOf(['cve.2023-46604']), ['exploitation']);
  assert.deepEqual(reasonsOf(['attack.t1133']), ['exploitation']);
  assert.deepEqual(reasonsOf(['attack.t1210']), ['exploitation', 'lateral-movement']);
  assert.deepEqual(reasonsOf(['attack.t1021.002']), ['lateral-movement']);
  assert.deepEqual(reasonsOf(['attack.t1562.001']), ['defense-evasion']);
  assert.deepEqual(reasonsOf(['attack.discovery', 'attack.t1082', 'attack.t10030']), []);
});

test("a finding's context: its window (24 h before to 1 h after), its hosts, relative times; the id never moves", () => {
  const store = new ContextStore();
  const first = T0;
  const last = T0 + 3 * H;
  const add = (ts: number, host: string, id: string, line: number) =>
    store.add(at(ts, host, line), [match(rule(id, ['attack.t1003']))]);
  add(first - CONTEXT_BEFORE_MS - 60_000, 'web-01', 'too-early', 1);
  add(first - 2 * H, 'Web-01', 'dump', 2);
  add(first + H, 'web-01', 'during', 3);
  add(first + H, 'web-99', 'other-host', 4);
  add(last + CONTEXT_AFTER_MS - 60_000, 'web-01', 'after', 5);
  add(last + CONTEXT_AFTER_MS + 60_000, 'web-01', 'too-late', 6);
  add(first, 'aws:123456789012', 'account', 7);
  const f = finding('web-01', first, last);
  const id = f.id;
  assert.equal(attachContext(f, store), true);
  assert.deepEqual(
    f.context?.map((c) => [c.rule_id, c.relative]),
    [
      ['dump', '2 h before the first evidence'],
      ['during', 'during, 1 h after the first evidence'],
      ['after', '59 min after the last evidence'],
    ],
  );
  assert.deepEqual(f.context?.[0].reasons, ['credential-access']);
  assert.equal(f.id, id);
  assert.equal(f.context_omitted, undefined);
  // nothing new: unchanged; a later match in the window joins what was attached (even once the store let the rest go)
  assert.equal(attachContext(f, store), false);
  const later = new ContextStore();
  later.add(at(last + 30 * 60_000, 'web-01', 9), [match(rule('later'))]);
  assert.equal(attachContext(f, later), true);
  assert.deepEqual(
    f.context?.map((c) => c.rule_id),
    ['dump', 'during', 'later', 'after'],
  );
  // a cloud launch's context: its account host and the hosts of its instances
  const launch = finding('aws', first, last, { host: 'aws:123456789012', hosts: ['web-99'] });
  attachContext(launch, store);
  assert.deepEqual(
    launch.context?.map((c) => c.rule_id),
    ['account', 'other-host'],
  );
});

test('context beyond its cap is counted, not shown, the matches that answer a question kept first', () => {
  const store = new ContextStore({ perRule: 100, perHost: 1000 });
  for (let i = 0; i < 50; i++) store.add(at(T0 - i * 60_000, 'h', i), [match(rule(`r${i}`))]);
  store.add(at(T0 - 20 * H, 'h', 99), [match(rule('exploit', ['cve.2021-44228']))]);
  for (let i = 0; i < 10; i++) store.add(at(T0 - H - i * 1000, 'h', 200 + i), [match(rule('same'))]);
  const f = finding('h', T0, T0 + H);
  attachContext(f, store);
  assert.equal(f.context?.length, 32);
  assert.equal(f.context_omitted, 61 - 32);
  assert.ok(f.context?.some((c) => c.rule_id === 'exploit'));
  assert.ok((f.context?.filter((c) => c.rule_id === 'same').length ?? 0) <= 4);
});

test('relative times in words', () => {
  assert.equal(relativeTime(T0 - 30_000, T0, T0), '30 s before the first evidence');
  assert.equal(relativeTime(T0 - 90 * 60_000, T0, T0), '1 h 30 min before the first evidence');
  assert.equal(relativeTime(T0, T0, T0 + H), 'at the first evidence');
  assert.equal(relativeTime(T0 + 2 * H + 5 * 60_000, T0, T0 + H), '1 h 5 min after the last evidence');
});
