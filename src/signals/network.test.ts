import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Signal } from '../model/signal.js';
import { IntelStore } from './intel/store.js';
import { network } from './network.js';
import { evt, signalsOf } from './test-events.js';

const summary = (s: Signal[]) => s.map((x) => `${x.kind}/${x.strength} ${x.subject?.destination ?? ''}`);
const miner = { pid: 4130, name: 'kdevtmpfsi' };

test('a DNS question for a pool is strong pool contact, with the name as destination', () => {
  const s = signalsOf(
    network,
    evt('dns-query', { process: miner, dns: { question: { name: 'XMR-EU1.nanopool.org.' } } }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong xmr-eu1.nanopool.org']);
  assert.equal(s[0].by, 'network:pool-domain');
  assert.match(s[0].explanation, /kdevtmpfsi \(pid 4130\) looked up dns\.question\.name XMR-EU1\.nanopool\.org\./);
  // the bundled list's version is cited, and its provenance travels with the signal into findings
  assert.match(s[0].explanation, /intel pool-domains falco@[0-9a-f]+\+sigma@[0-9a-f]+: xmr-eu1\.nanopool\.org/);
  assert.equal(s[0].intel?.set, 'pool-domains');
  assert.match(s[0].intel?.source ?? '', /falcosecurity\/rules/);
  assert.match(s[0].intel?.version ?? '', /^falco@[0-9a-f]+\+sigma@[0-9a-f]+$/);
  assert.match(s[0].intel?.url ?? '', /^https:\/\/github\.com\/falcosecurity\/rules\/blob\/[0-9a-f]{40}\//);
});

test('a connection to a named pool host (SNI, HTTP host, URL) is strong pool contact', () => {
  const bySni = signalsOf(
    network,
    evt('connect', {
      process: miner,
      destination: { ip: '203.0.113.9', port: 443, domain: 'gulf.moneroocean.stream' },
    }),
  );
  assert.deepEqual(summary(bySni), ['pool-contact/strong gulf.moneroocean.stream']);
  assert.match(bySni[0].explanation, /destination\.domain gulf\.moneroocean\.stream:443/);
  const byUrl = signalsOf(
    network,
    evt('connect', { destination: { ip: '203.0.113.9', port: 80 }, url: { domain: 'pool.eth.pp.ua' } }),
  );
  assert.deepEqual(summary(byUrl), ['pool-contact/strong pool.eth.pp.ua']);
  assert.match(byUrl[0].explanation, /^host web-01 connected to url\.domain/);
});

test('a listed pool IP is pool contact only as strong as its intel (medium), with ip:port as destination', () => {
  const s = signalsOf(network, evt('connect', { process: miner, destination: { ip: '185.71.66.20', port: 14444 } }));
  assert.deepEqual(summary(s), ['pool-contact/medium 185.71.66.20:14444']);
  assert.equal(s[0].by, 'network:pool-ip');
});

test('a mining port is weak, and only when nothing better matched', () => {
  const port = signalsOf(network, evt('connect', { destination: { ip: '198.51.100.9', port: 3333 } }));
  assert.deepEqual(summary(port), ['mining-port/weak 198.51.100.9:3333']);
  const v6 = signalsOf(network, evt('connect', { destination: { ip: '2001:db8::9', port: 5555 } }));
  assert.deepEqual(summary(v6), ['mining-port/weak [2001:db8::9]:5555']);
  const named = signalsOf(
    network,
    evt('connect', { destination: { ip: '198.51.100.9', port: 3333, domain: 'pool.supportxmr.com' } }),
  );
  assert.deepEqual(summary(named), ['pool-contact/strong pool.supportxmr.com']);
  const listed = signalsOf(network, evt('connect', { destination: { ip: '185.71.66.20', port: 3333 } }));
  assert.deepEqual(summary(listed), ['pool-contact/medium 185.71.66.20:3333']);
});

test('a proxyware endpoint is its own kind', () => {
  const s = signalsOf(network, evt('dns-query', { dns: { question: { name: 'api.honeygain.com' } } }));
  assert.deepEqual(summary(s), ['proxyware-endpoint/strong api.honeygain.com']);
  assert.equal(s[0].class, 'network');
});

test('a pool address in a logged DNS answer counts; nothing is resolved by us', () => {
  const s = signalsOf(
    network,
    evt('dns-query', { dns: { question: { name: 'cdn-77.example' }, resolved_ip: ['10.0.0.1', '185.71.66.20'] } }),
  );
  assert.deepEqual(summary(s), ['pool-contact/medium 185.71.66.20']);
  assert.match(s[0].explanation, /cdn-77\.example and got dns\.resolved_ip 185\.71\.66\.20/);
  assert.deepEqual(signalsOf(network, evt('dns-query', { dns: { question: { name: 'cdn-77.example' } } })), []);
});

test('look-alike names are not pools: pool.ntp.org, mempool.space, threadpool hosts', () => {
  for (const name of ['pool.ntp.org', '0.debian.pool.ntp.org', 'mempool.space', 'DefaultAppPool', 'pool.'])
    assert.deepEqual(signalsOf(network, evt('dns-query', { dns: { question: { name } } })), [], name);
  assert.deepEqual(
    signalsOf(
      network,
      evt('connect', { destination: { ip: '88.198.163.90', port: 18080, domain: 'node.moneroworld.com' } }),
    ),
    [],
  );
});

test('user intel drives the classifier like bundled intel', () => {
  const store = new IntelStore();
  store.add('pool-ip', '192.0.2.0/24', 'case.txt', 'strong');
  const out: Signal[] = [];
  network.classify(evt('connect', { destination: { ip: '192.0.2.77', port: 9000 } }), { intel: store }, out);
  assert.deepEqual(summary(out), ['pool-contact/strong 192.0.2.77:9000']);
  assert.match(out[0].explanation, /intel case\.txt: 192\.0\.2\.0\/24/);
});

test('other actions and empty or hostile fields raise nothing and never throw', () => {
  assert.deepEqual(signalsOf(network, evt('exec', { destination: { ip: '185.71.66.20', port: 3333 } })), []);
  assert.deepEqual(signalsOf(network, evt('connect')), []);
  assert.deepEqual(signalsOf(network, evt('dns-query', { dns: {} })), []);
  assert.deepEqual(
    signalsOf(
      network,
      evt('connect', { destination: { ip: 'x'.repeat(10_000), domain: `${'a.'.repeat(5000)}com`, port: 70000 } }),
    ),
    [],
  );
  const odd = evt('dns-query', { dns: { question: { name: 'x.example' }, resolved_ip: [42 as unknown as string] } });
  assert.deepEqual(signalsOf(network, odd), []);
});

test('a pool named in the TLS SNI or the HTTP Host header is strong pool contact, matched like a DNS name', () => {
  const sni = signalsOf(
    network,
    evt('connect', {
      destination: { ip: '104.16.1.1', port: 443 },
      tls: { client: { server_name: 'Gulf.MoneroOcean.Stream.' } },
    }),
  );
  assert.deepEqual(summary(sni), ['pool-contact/strong gulf.moneroocean.stream']);
  assert.match(sni[0].explanation, /connected to tls\.client\.server_name Gulf\.MoneroOcean\.Stream\.:443/);
  const host = signalsOf(
    network,
    evt('connect', {
      destination: { ip: '104.16.1.2', port: 8080 },
      http: { request: { method: 'POST', host: 'xmr.nanopool.org:8080', path: '/' } },
    }),
  );
  assert.deepEqual(summary(host), ['pool-contact/strong xmr.nanopool.org']);
  assert.match(host[0].explanation, /http\.request\.host xmr\.nanopool\.org:8080/);
  // suffix on label boundaries only, and a look-alike front name stays nothing
  for (const name of ['notnanopool.org', 'nanopool.org.evil.example', 'pool.ntp.org'])
    assert.deepEqual(
      signalsOf(
        network,
        evt('connect', { destination: { ip: '104.16.1.3', port: 443 }, tls: { client: { server_name: name } } }),
      ),
      [],
      name,
    );
});

test('a proxyware vendor named in the SNI or Host is a proxyware endpoint', () => {
  const s = signalsOf(
    network,
    evt('connect', {
      destination: { ip: '203.0.113.44', port: 443 },
      tls: { client: { server_name: 'api.honeygain.com' } },
    }),
  );
  assert.deepEqual(summary(s), ['proxyware-endpoint/strong api.honeygain.com']);
  const h = signalsOf(
    network,
    evt('connect', { destination: { ip: '203.0.113.44', port: 80 }, http: { request: { host: 'pawns.app' } } }),
  );
  assert.deepEqual(summary(h), ['proxyware-endpoint/strong pawns.app']);
});

test('a listed pool IP behind a front name nobody lists stays as strong as its intel, and a mining port stays weak', () => {
  const s = signalsOf(
    network,
    evt('connect', {
      destination: { ip: '185.71.66.20', port: 443 },
      tls: { client: { server_name: 'cdn.example.net' } },
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/medium 185.71.66.20:443']);
  const port = signalsOf(
    network,
    evt('connect', { destination: { ip: '198.51.100.9', port: 3333 }, http: { request: { host: 'shop.example' } } }),
  );
  assert.deepEqual(summary(port), ['mining-port/weak 198.51.100.9:3333']);
});

test('an HTTP request to a proxy-checker site is a weak proxyjacking hint, never from DNS alone', () => {
  const s = signalsOf(
    network,
    evt('connect', {
      destination: { ip: '34.117.59.81', port: 80 },
      http: { request: { method: 'GET', host: 'ipinfo.io', path: '/json' } },
      user_agent: { original: 'Mozilla/5.0 (Windows NT 10.0)' },
    }),
  );
  assert.deepEqual(summary(s), ['proxyware-endpoint/weak ipinfo.io']);
  assert.equal(s[0].by, 'network:proxy-checker');
  assert.match(
    s[0].explanation,
    /http\.request\.host ipinfo\.io, a site that echoes the caller's address .*user agent Mozilla/,
  );
  const tls = signalsOf(
    network,
    evt('connect', {
      destination: { ip: '104.26.12.205', port: 443 },
      tls: { client: { server_name: 'api.ipify.org' } },
    }),
  );
  assert.deepEqual(summary(tls), ['proxyware-endpoint/weak api.ipify.org']);
  assert.deepEqual(signalsOf(network, evt('dns-query', { dns: { question: { name: 'api.ipify.org' } } })), []);
});

test('hostile SNI and Host values never throw', () => {
  const e = evt('connect', {
    destination: { ip: '192.0.2.1', port: 443 },
    tls: { client: { server_name: `${'a.'.repeat(5000)}com` } },
    http: { request: { host: 42 as unknown as string } },
  });
  assert.deepEqual(signalsOf(network, e), []);
  const v6 = evt('connect', {
    destination: { ip: '192.0.2.1', port: 443 },
    http: { request: { host: '[2001:db8::1]:443' } },
  });
  assert.deepEqual(signalsOf(network, v6), []);
});
