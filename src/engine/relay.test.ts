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
