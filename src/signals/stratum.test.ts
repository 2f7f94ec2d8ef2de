import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDetector } from '../analytics/index.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import type { Signal } from '../model/signal.js';
import { classifiers } from './index.js';
import { stratum } from './stratum.js';
import { evt, signalsOf, testIntel } from './test-events.js';

const summary = (s: Signal[]) => s.map((x) => `${x.kind}/${x.strength} ${x.by} ${x.subject?.destination ?? ''}`);
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';

function flow(
  ip: string,
  port: number,
  f: NonNullable<CoalEvent['coalmine']['flow']>,
  fields: Partial<CoalEvent> = {},
): CoalEvent {
  const e = evt('connect', { destination: { ip, port }, network: { transport: 'tcp' }, ...fields });
  return { ...e, coalmine: { ...e.coalmine, format: 'pcap', flow: f } };
}

const lines = (...messages: unknown[]) => messages.map((m) => `${JSON.stringify(m)}\\x0a`).join('');

test('Stratum v1 subscribe and authorize on 3333 is strong pool contact naming method, worker and agent', () => {
  const s = signalsOf(
    stratum,
    flow('203.0.113.9', 3333, {
      clientPayload: lines(
        { id: 1, method: 'mining.subscribe', params: ['cgminer/4.10.0'] },
        { id: 2, method: 'mining.authorize', params: ['rig01', 'x'] },
      ),
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:v1 203.0.113.9:3333']);
  assert.match(s[0].explanation, /Stratum mining\.subscribe, mining\.authorize worker rig01 on 203\.0\.113\.9:3333/);
  assert.match(s[0].explanation, /agent cgminer\/4\.10\.0/);
  assert.match(s[0].explanation, /sent by the client, port 3333/);
});

test('Stratum extensions (BIP 310 mining.configure, NiceHash mining.set_extranonce) are Stratum too', () => {
  const s = signalsOf(
    stratum,
    flow('203.0.113.9', 443, {
      clientPayload: lines({ id: 1, method: 'mining.configure', params: [['version-rolling'], {}] }),
      serverPayload: lines({ id: null, method: 'mining.set_extranonce', params: ['af4c', 4] }),
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:v1 203.0.113.9:443']);
  assert.match(s[0].explanation, /mining\.configure, mining\.set_extranonce on 203\.0\.113\.9:443 \(both directions/);
});

test('Stratum on port 80 is recognised by what it says, not by the port', () => {
  const s = signalsOf(
    stratum,
    flow('203.0.113.9', 80, {
      clientPayload: `${JSON.stringify({ id: 2, method: 'mining.authorize', params: ['rig01', 'x'] })}\n`,
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:v1 203.0.113.9:80']);
  assert.match(s[0].explanation, /Stratum mining\.authorize worker rig01 on 203\.0\.113\.9:80/);
});

test('a Monero login names the shortened wallet, the worker and the XMRig agent', () => {
  const s = signalsOf(
    stratum,
    flow('198.51.100.7', 10128, {
      clientPayload: lines({
        id: 1,
        jsonrpc: '2.0',
        method: 'login',
        params: { login: `${WALLET}.rig02`, pass: 'x', agent: 'XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/11.2.0' },
      }),
      serverPayload: lines({
        id: 1,
        jsonrpc: '2.0',
        error: null,
        result: { id: 'a1', job: { blob: '0e0e', job_id: 'j1', target: 'b88d0600' }, status: 'OK' },
      }),
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:monero 198.51.100.7:10128']);
  assert.match(
    s[0].explanation,
    /Monero Stratum login, login reply \(job\) worker 44AFFq5kSiGB…QBEP3A\.rig02 \(Monero address\)/,
  );
  assert.match(s[0].explanation, /agent XMRig\/6\.21\.0/);
  assert.match(s[0].explanation, /both directions/);
  assert.ok(!s[0].explanation.includes(WALLET), 'the wallet is shortened');
});

test('Ethereum Stratum (EthProxy) eth_submitLogin and eth_getWork', () => {
  const s = signalsOf(
    stratum,
    flow('203.0.113.20', 8008, {
      clientPayload: lines(
        {
          id: 1,
          jsonrpc: '2.0',
          method: 'eth_submitLogin',
          worker: 'rig03',
          params: ['0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c'],
        },
        { id: 2, jsonrpc: '2.0', method: 'eth_getWork', params: [] },
        { id: 3, jsonrpc: '2.0', method: 'eth_submitHashrate', params: ['0x1', '0x2'] },
      ),
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:ethereum 203.0.113.20:8008']);
  assert.match(
    s[0].explanation,
    /Ethereum Stratum eth_submitLogin, eth_getWork, eth_submitHashrate worker 0x5a0b54d5dc…029c4c/,
  );
});

test('getwork POSTs back to back, a body with no newline before the next request, are read by Content-Length', () => {
  const body = JSON.stringify({ id: 1, jsonrpc: '2.0', method: 'eth_getWork' });
  const post = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const s = signalsOf(stratum, flow('192.0.2.80', 80, { clientPayload: post + post }));
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:getwork 192.0.2.80:80']);
  assert.match(s[0].explanation, /getwork over HTTP POST eth_getWork on 192\.0\.2\.80:80/);
});

test('getwork over HTTP POST is pool contact with the HTTP User-Agent as agent', () => {
  const body = JSON.stringify({ method: 'getwork', params: [], id: 0 });
  const s = signalsOf(
    stratum,
    flow('88.198.15.41', 80, {
      clientPayload: `POST / HTTP/1.1\\x0d\\x0aHost: pool.example\\x0d\\x0aUser-Agent: cgminer 2.3.1\\x0d\\x0aContent-Type: application/json\\x0d\\x0a\\x0d\\x0a${body}`,
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:getwork 88.198.15.41:80']);
  assert.match(s[0].explanation, /getwork over HTTP POST getwork on 88\.198\.15\.41:80, agent cgminer 2\.3\.1/);
  const eth = signalsOf(
    stratum,
    flow('88.198.15.41', 80, {
      clientPayload: `POST / HTTP/1.1\r\nHost: x\r\n\r\n${JSON.stringify({ jsonrpc: '2.0', method: 'eth_getWork', params: [], id: 73 })}`,
    }),
  );
  assert.deepEqual(summary(eth), ['pool-contact/strong stratum:getwork 88.198.15.41:80']);
});

test('server-side mining.notify alone (we saw only the pool talking) is strong pool contact', () => {
  const s = signalsOf(
    stratum,
    flow('203.0.113.9', 4444, {
      clientPayload: '',
      serverPayload: lines(
        { id: null, method: 'mining.set_difficulty', params: [16384] },
        {
          id: null,
          method: 'mining.notify',
          params: ['bf', '4d16b6f8', '01000000', '', [], '00000002', '1c2ac4af', '504e86b9', false],
        },
      ),
    }),
  );
  assert.deepEqual(summary(s), ['pool-contact/strong stratum:v1 203.0.113.9:4444']);
  assert.match(
    s[0].explanation,
    /Stratum mining\.set_difficulty, mining\.notify on 203\.0\.113\.9:4444 \(sent by the server/,
  );
});

test('Bitcoin and Monero P2P are crypto-p2p (weak, informational), never pool contact', () => {
  const btc = signalsOf(
    stratum,
    flow('192.0.2.50', 8333, {
      clientPayload: '\\xf9\\xbe\\xb4\\xd9version\\x00\\x00\\x00\\x00\\x00f\\x00\\x00\\x00\\x12\\x34',
      durationMs: 3_600_000,
      clientMessages: 400,
      clientBytes: 40_000,
    }),
  );
  assert.deepEqual(summary(btc), ['crypto-p2p/weak stratum:p2p 192.0.2.50:8333']);
  assert.match(btc[0].explanation, /Bitcoin node traffic \(P2P version handshake\) on port 8333, not pool mining/);
  const xmr = signalsOf(
    stratum,
    flow('192.0.2.51', 18080, { clientPayload: '\\x01!\\x01\\x01\\x01\\x01\\x01\\x01\\xe2\\x00\\x00\\x00' }),
  );
  assert.deepEqual(summary(xmr), ['crypto-p2p/weak stratum:p2p 192.0.2.51:18080']);
  assert.match(xmr[0].explanation, /Monero node traffic \(P2P levin protocol\)/);
  const escaped21 = signalsOf(
    stratum,
    flow('192.0.2.51', 18080, { serverPayload: '\\x01\\x21\\x01\\x01\\x01\\x01\\x01\\x01' }),
  );
  assert.deepEqual(summary(escaped21), ['crypto-p2p/weak stratum:p2p 192.0.2.51:18080']);
  const eth = signalsOf(stratum, flow('192.0.2.52', 30303, { clientPayload: '\\x04\\x9a\\xff' }));
  assert.deepEqual(summary(eth), ['crypto-p2p/weak stratum:devp2p 192.0.2.52:30303']);
  for (const s of [...btc, ...xmr, ...eth]) assert.notEqual(s.kind, 'pool-contact');
});

test('trap: JSON-RPC to bitcoind on 8332 is node administration (crypto-p2p, weak), not mining', () => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 'curl', method: 'getblockcount', params: [] });
  const s = signalsOf(
    stratum,
    flow('127.0.0.1', 8332, {
      clientPayload: `POST / HTTP/1.1\\x0d\\x0aAuthorization: Basic dTpw\\x0d\\x0a\\x0d\\x0a${body}`,
    }),
  );
  assert.deepEqual(summary(s), ['crypto-p2p/weak stratum:node-rpc 127.0.0.1:8332']);
  assert.match(
    s[0].explanation,
    /Bitcoin node JSON-RPC getblockcount on port 8332: node administration, not pool mining/,
  );
  // the same API call on a web port is nothing at all
  assert.deepEqual(signalsOf(stratum, flow('192.0.2.9', 8080, { clientPayload: `POST / HTTP/1.1\n\n${body}` })), []);
});

test('trap: "login" in an ordinary HTTP body or a web API is not a Monero login', () => {
  const form = 'POST /login HTTP/1.1\\x0d\\x0aHost: intranet\\x0d\\x0a\\x0d\\x0alogin=alice&pass=hunter2&agent=Mozilla';
  assert.deepEqual(signalsOf(stratum, flow('192.0.2.10', 8080, { clientPayload: form })), []);
  const api = `POST /rpc HTTP/1.1\r\n\r\n${JSON.stringify({ method: 'login', params: { login: 'alice', pass: 'x' } })}`;
  assert.deepEqual(signalsOf(stratum, flow('192.0.2.10', 8080, { clientPayload: api })), []);
  // generic words without the XMRig shape are nothing either
  const generic = lines(
    { method: 'login', params: ['alice'] },
    { method: 'submit', params: { form: 1 } },
    { method: 'job' },
  );
  assert.deepEqual(signalsOf(stratum, flow('192.0.2.10', 7000, { clientPayload: generic })), []);
});

test('junk, binary and hostile payloads never throw and raise nothing', () => {
  const cases: string[] = [
    '\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03',
    '{"method":"mining.subscribe"',
    `{"method":"mining.authorize","params":["${'a'.repeat(5000)}"]}\n`,
    `${'{'.repeat(100_000)}\n`,
    '\\x'.repeat(50_000),
    `${'\\xzz'.repeat(1000)}\\x4`,
    'null\n[1,2]\n"mining.subscribe"\n{"method":42}\n{"method":"mining.nope"}\n',
    `${'\n'.repeat(200_000)}{"method":"mining.subscribe","params":[]}\n`,
  ];
  for (const payload of cases) {
    assert.doesNotThrow(() => signalsOf(stratum, flow('192.0.2.1', 3333, { clientPayload: payload })));
    assert.deepEqual(
      signalsOf(stratum, flow('192.0.2.1', 3333, { clientPayload: payload, serverPayload: payload })),
      [],
    );
  }
  const odd = flow('192.0.2.1', 3333, { clientPayload: 42 as unknown as string, durationMs: 'x' as unknown as number });
  assert.deepEqual(signalsOf(stratum, odd), []);
  assert.deepEqual(signalsOf(stratum, evt('connect', { destination: { ip: '192.0.2.1', port: 3333 } })), []);
  assert.deepEqual(
    signalsOf(stratum, {
      ...flow('192.0.2.1', 3333, { clientPayload: lines({ method: 'mining.subscribe' }) }),
      event: { ...evt('exec').event },
    }),
    [],
  );
});

test('only the first 32 messages are read', () => {
  const filler = Array.from({ length: 32 }, () => ({ method: 'ping' }));
  const late = lines(...filler, { method: 'mining.subscribe', params: [] });
  assert.deepEqual(signalsOf(stratum, flow('192.0.2.1', 3333, { clientPayload: late })), []);
});

test('a long-lived flow of small periodic client messages to an odd or TLS port is weak pool contact', () => {
  const shape = { durationMs: 45 * 60_000, clientMessages: 90, clientBytes: 90 * 180 };
  const s = signalsOf(stratum, flow('203.0.113.30', 443, shape, { tls: { client: { server_name: 'cdn.example' } } }));
  assert.deepEqual(summary(s), ['pool-contact/weak stratum:flow-shape 203.0.113.30:443']);
  assert.match(s[0].explanation, /45-minute flow of 90 small client messages \(180 bytes each on average\)/);
  // ssh, big messages, short flows and few messages are not that shape
  assert.deepEqual(signalsOf(stratum, flow('203.0.113.30', 22, shape)), []);
  assert.deepEqual(signalsOf(stratum, flow('203.0.113.30', 7000, { ...shape, clientBytes: 90 * 4000 })), []);
  assert.deepEqual(signalsOf(stratum, flow('203.0.113.30', 7000, { ...shape, durationMs: 60_000 })), []);
  assert.deepEqual(
    signalsOf(stratum, flow('203.0.113.30', 7000, { ...shape, clientMessages: 3, clientBytes: 300 })),
    [],
  );
});

test('a busy node whose only network evidence is P2P is informational only; the same process speaking Stratum is hijacking', () => {
  const intel = testIntel();
  const t0 = Date.UTC(2025, 2, 14, 2, 0);
  let n = 0;
  const at = (minute: number, e: CoalEvent): CoalEvent => {
    const ts = t0 + minute * 60_000;
    return {
      ...e,
      '@timestamp': new Date(ts).toISOString(),
      coalmine: { ...e.coalmine, ts, ref: { file: 'x', line: ++n } },
    };
  };
  const node = { pid: 700, name: 'bitcoind', executable: '/opt/btc/bitcoind' };
  const run = (payload: string): Finding[] => {
    const findings: Finding[] = [];
    const engine = createDetector({
      policy: defaultPolicy(),
      classify: (event, out) => {
        for (const c of classifiers) c.classify(event, { intel }, out);
      },
      onFinding: (f) => findings.push(f),
    });
    engine.push(at(0, evt('exec', { process: node })));
    engine.push(at(1, { ...flow('192.0.2.50', 8333, { clientPayload: payload }), process: node }));
    for (let m = 2; m <= 60; m++)
      engine.push(at(m, evt('metric', { process: { pid: 700 }, metrics: { cpu_pct: 390 } })));
    engine.end();
    return findings;
  };
  const node_ = run('\\xf9\\xbe\\xb4\\xd9version\\x00\\x00\\x00\\x00\\x00');
  assert.deepEqual(
    node_.map((f) => [f.analytic, f.severity, f.attack.length, f.entity]),
    [['crypto-node', 'informational', 0, 'process:web-01:700']],
  );
  assert.match(node_[0].title, /Cryptocurrency node traffic \(not mining\) on web-01: bitcoind \(pid 700/);
  assert.deepEqual(
    node_[0].evidence.map((e) => e.kind),
    ['crypto-p2p'],
  );
  const mining = run(lines({ id: 2, method: 'mining.authorize', params: ['rig01', 'x'] }));
  assert.ok(mining.length > 0, 'Stratum from the same busy process is a finding');
  assert.ok(mining[0].evidence.some((e) => e.kind === 'pool-contact'));
  assert.ok(
    mining.every((f) => f.analytic !== 'crypto-node'),
    'no informational finding beside a hijacking one',
  );
});
