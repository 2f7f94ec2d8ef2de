import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import { DEFAULT_THRESHOLDS } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { RelayWatch, siteOf } from './relay.js';

const T0 = Date.UTC(2026, 11, 1, 10, 0);

function request(i: number, host: string, agent: string, extra: Partial<CoalEvent> = {}): CoalEvent {
  const ts = T0 + i * 1000;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: ['network'], action: 'connect', dataset: 't' },
    host: { name: '10.0.0.7' },
    source: { ip: '10.0.0.7', port: 40000 + (i % 20000) },
    destination: { ip: '198.51.100.9', port: 80 },
    http: { request: { method: 'GET', host, path: '/' } },
    user_agent: { original: agent },
    original: {},
    coalmine: { ts, format: 't', ref: { file: 'http.log', line: i + 1 } },
    ...extra,
  };
}

function run(events: CoalEvent[], thresholds = DEFAULT_THRESHOLDS): Signal[] {
  const watch = new RelayWatch();
  const out: Signal[] = [];
  for (const e of events) watch.observe(e, thresholds, out);
  return out;
}

const agents = (n: number) => Array.from({ length: n }, (_, i) => `Mozilla/5.0 (client ${i}) Gecko/2010${i}`);

test('a site is its registrable name: CDN hosts of one site count once, short country second levels kept', () => {
  assert.equal(siteOf('img3.static.cnn.com'), 'cnn.com');
  assert.equal(siteOf('www.bbc.co.uk.'), 'bbc.co.uk');
  assert.equal(siteOf('shop.example.com.au'), 'example.com.au');
  assert.equal(siteOf('a.b.example.de'), 'example.de');
  assert.equal(siteOf('localhost'), 'localhost');
});

test('many unrelated sites from many clients in the window is relaying: medium, then strong once, never repeated', () => {
  const ua = agents(25);
  const events = Array.from({ length: 240 }, (_, i) => request(i, `www.site${i % 120}.example`, ua[i % 25]));
  const signals = run(events);
  assert.deepEqual(
    signals.map((s) => [s.kind, s.strength, s.ref.line]),
    [
      ['proxy-relay', 'medium', 50],
      ['proxy-relay', 'strong', 100],
    ],
  );
  assert.equal(signals[0].class, 'network');
  assert.equal(signals[0].entity, 'host:10.0.0.7');
  assert.match(
    signals[0].explanation,
    /^10\.0\.0\.7 fetched 50 distinct sites with 25 different client fingerprints within 10 minutes: /,
  );
  assert.match(
    signals[0].explanation,
    /e\.g\. sites site0\.example, site1\.example, site2\.example; clients Mozilla\/5\.0 \(client 0\)/,
  );
  assert.match(signals[0].explanation, /a host relaying requests for others, as proxyware exit nodes do/);
  assert.match(signals[0].explanation, /forward proxies and NAT gateways look alike: allowlist them/);
});

test('one browser visiting many sites, or many clients on one site, is not relaying', () => {
  const browser = Array.from({ length: 300 }, (_, i) => request(i, `site${i}.example`, agents(2)[i % 2]));
  assert.deepEqual(run(browser), []);
  const oneSite = Array.from({ length: 300 }, (_, i) => request(i, `cdn${i}.bigsite.example`, agents(30)[i % 30]));
  assert.deepEqual(run(oneSite), []);
});

test('the same fan-out spread thinner than the window is not relaying; inbound and agentless flows do not count', () => {
  const ua = agents(30);
  // one request a minute: at most ten sites and clients inside any 10-minute window
  const slow = Array.from({ length: 200 }, (_, i) => {
    const e = request(i, `s${i}.example`, ua[i % 30]);
    const ts = T0 + i * 60_000;
    return { ...e, '@timestamp': new Date(ts).toISOString(), coalmine: { ...e.coalmine, ts } };
  });
  assert.deepEqual(run(slow), []);
  const inbound = Array.from({ length: 200 }, (_, i) =>
    request(i, `s${i}.example`, ua[i % 30], { network: { direction: 'inbound' } }),
  );
  assert.deepEqual(run(inbound), []);
  const agentless = Array.from({ length: 200 }, (_, i) => {
    const { user_agent: _u, ...e } = request(i, `s${i}.example`, '');
    return e;
  });
  assert.deepEqual(run(agentless), []);
});

test('TLS client fingerprints (JA3) rotate like user agents; thresholds come from the policy', () => {
  const events = Array.from({ length: 40 }, (_, i) => {
    const { http: _h, user_agent: _u, ...e } = request(i, '', '');
    return {
      ...e,
      destination: { ip: '198.51.100.9', port: 443 },
      tls: { client: { server_name: `api.s${i}.example`, ja3: `ja3-${i % 8}` } },
    };
  });
  const t = { ...DEFAULT_THRESHOLDS, relayDestinations: 20, relayUserAgents: 4 };
  assert.deepEqual(
    run(events, t).map((s) => s.strength),
    ['medium', 'strong'],
  );
});

test('state stays bounded under a flood of hosts and hostile values', () => {
  const watch = new RelayWatch();
  const out: Signal[] = [];
  for (let i = 0; i < 40_000; i++)
    watch.observe(
      request(i, `${'x'.repeat(300)}.example`, 'u'.repeat(10_000), { host: { name: `h${i}` } }),
      DEFAULT_THRESHOLDS,
      out,
    );
  assert.ok(watch.size <= 16384, String(watch.size));
  assert.deepEqual(out, []);
});

/** A web request at `ts` from `from` (host name and address). */
function at(ts: number, host: string, agent: string, from = '10.0.0.7'): CoalEvent {
  const e = request(0, host, agent, { host: { name: from }, source: { ip: from, port: 40000 } });
  return { ...e, '@timestamp': new Date(ts).toISOString(), coalmine: { ...e.coalmine, ts } };
}

const MIN = 60_000;
/** Four quiet hours: a request every 5 minutes to one of two sites with one browser. */
const quiet = (from = '10.0.0.7', hours = 4) =>
  Array.from({ length: hours * 12 }, (_, i) =>
    at(T0 + i * 5 * MIN, i % 2 ? 'news.example' : 'mail.example', agents(1)[0], from),
  );
/** Then `minutes` of a request every 14 s: rotating over `siteCount` sites and `agentCount` agents (~43 sites, 8 agents per 10 minutes). */
const burst = (start: number, minutes: number, siteCount = 120, agentCount = 8, from = '10.0.0.7') =>
  Array.from({ length: Math.floor((minutes * MIN) / 14_000) }, (_, i) =>
    at(start + i * 14_000, `www.s${i % siteCount}.example`, agents(agentCount)[i % agentCount], from),
  );
const AFTER_QUIET = T0 + 4 * 60 * MIN;

test('a quiet host jumping to ~43 sites and 8 agents per 10 minutes is relaying, judged against its own normal', () => {
  const signals = run([...quiet(), ...burst(AFTER_QUIET, 40)]);
  assert.deepEqual(
    signals.map((s) => [s.kind, s.strength, s.by]),
    [
      ['proxy-relay', 'medium', 'engine:relay-surge'],
      ['proxy-relay', 'strong', 'engine:relay-surge'],
    ],
  );
  // far below the fixed bars (50 sites and 10 agents): those alone missed it
  assert.match(
    signals[0].explanation,
    /^10\.0\.0\.7 fetched 20 sites and [5-8] clients within 1 hour against its normal of 2 and 1 \(median of 4 earlier windows; no population normal yet\)/,
  );
  assert.match(
    signals[1].explanation,
    /fetched 20 sites and 8 clients within 10 minutes against its normal of 2 and 1 \(median of 24 earlier windows; the population's 2 and 1\); and 2\d sites and 8 clients within 1 hour/,
  );
  const peak = run([...quiet(), ...burst(AFTER_QUIET, 10)]);
  assert.deepEqual(
    peak.map((s) => s.strength),
    ['medium', 'strong'],
  );
});

test('a NAT or forward proxy whose fan-out is always that high is its own normal, not a relay', () => {
  const nat = burst(T0, 5 * 60, 120, 9);
  assert.deepEqual(run(nat), []);
  // the same host's fan-out after a quiet history is a surge: the history is what tells them apart
  assert.equal(run([...quiet(), ...burst(AFTER_QUIET, 60, 120, 9)]).length > 0, true);
});

test('one busy browser (many sites, two agents) after a quiet history is not relaying', () => {
  const browsing = Array.from({ length: 400 }, (_, i) =>
    at(AFTER_QUIET + i * 6000, `site${i}.example`, agents(2)[i % 2]),
  );
  assert.deepEqual(run([...quiet(), ...browsing]), []);
});

test('a surge that only reaches what is usual for the population is not relaying', () => {
  // six hosts that always show ~30 sites and 24 agents per 10 minutes; one quiet host rising to the same
  const busy = Array.from({ length: 6 }, (_, h) => burst(T0, 5 * 60, 30, 24, `10.0.1.${h}`)).flat();
  const rising = [...quiet(), ...burst(AFTER_QUIET, 30, 30, 24)];
  const all = [...busy, ...rising].sort((a, b) => a.coalmine.ts - b.coalmine.ts);
  assert.deepEqual(
    run(all).filter((s) => s.host === '10.0.0.7'),
    [],
  );
  // alone, the same rise is a surge
  assert.equal(run(rising).length > 0, true);
});

/** An inbound SSH session (Zeek ssh.log) to 10.0.0.7. */
function ssh(ts: number, from: string, client: string | undefined, success: boolean): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['network'],
      action: 'connect',
      dataset: 'zeek.ssh',
      outcome: success ? 'success' : 'failure',
    },
    host: { name: '10.0.0.7' },
    source: { ip: from, port: 50000 },
    destination: { ip: '10.0.0.7', port: 22 },
    network: { transport: 'tcp', protocol: 'ssh' },
    ...(client ? { user_agent: { original: client } } : {}),
    original: {},
    coalmine: { ts, format: 'zeek', ref: { file: 'ssh.log', line: 1 } },
  };
}

test('inbound SSH from many bots with tool clients is weak context on the relay signal, never a signal alone', () => {
  const logins = Array.from({ length: 30 }, (_, i) =>
    ssh(
      AFTER_QUIET - 30 * MIN + i * MIN,
      `203.0.113.${i + 1}`,
      i % 3 ? 'SSH-2.0-libssh_0.9.6' : undefined,
      i % 5 === 0,
    ),
  );
  // software.log names the client of the addresses whose ssh.log row did not
  const software: CoalEvent = {
    ...ssh(AFTER_QUIET - 31 * MIN, '203.0.113.1', 'SSH-2.0-Go', false),
    destination: undefined,
    event: { kind: 'event', category: ['network'], action: 'connect', dataset: 'zeek.software' },
  };
  assert.deepEqual(run([software, ...logins]), []);
  const signals = run([...quiet(), software, ...logins, ...burst(AFTER_QUIET, 20)]);
  assert.deepEqual(
    signals.map((s) => [s.kind, s.strength, s.class]),
    [
      ['proxy-relay', 'medium', 'network'],
      ['inbound-access', 'weak', 'authorization'],
      ['proxy-relay', 'strong', 'network'],
    ],
  );
  assert.equal(
    signals[1].explanation,
    '10.0.0.7 took 30 inbound SSH sessions from 30 sources (6 logged in), clients libssh_0.9.6 ×20, Go ×1: tool clients (libraries, not a person’s ssh), as bots that install proxyware use (context for the relay: how it was likely installed)',
  );
  assert.equal(signals[1].entity, signals[0].entity);
});

test('an HTTP Host that is an address is one site, kept whole: not cut into labels', () => {
  const ua = agents(25);
  const v4 = Array.from({ length: 120 }, (_, i) => request(i, `10.${i}.0.5:8080`, ua[i % 25]));
  assert.deepEqual(
    run(v4).map((s) => s.strength),
    ['medium', 'strong'],
  );
  const v6 = Array.from({ length: 120 }, (_, i) => request(i, `[2001:db8::${i.toString(16)}]:80`, ua[i % 25]));
  assert.deepEqual(
    run(v6).map((s) => s.strength),
    ['medium', 'strong'],
  );
});
