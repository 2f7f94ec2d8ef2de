import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import { suricata } from './suricata.js';
import type { SourceInput } from './types.js';

const good = fileInput('test/fixtures/suricata/eve.json');
const bad = fileInput('test/fixtures/suricata/bad.json');
runSourceContract({
  source: suricata,
  good,
  bad,
  // the file copied while a record was written: it ends inside a string value
  cut: cutLineCase(good, 0, '"dest_ip": "', '203.0.113.7'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of suricata.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

test('maps each event type it knows, and counts the others as unused', async () => {
  const { events } = await readAll(suricata, good);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.event.action]),
    [
      ['suricata.flow', 'connect'],
      ['suricata.dns', 'dns-query'],
      ['suricata.dns', 'dns-query'],
      ['suricata.dns', 'dns-query'],
      ['suricata.tls', 'connect'],
      ['suricata.http', 'connect'],
      ['suricata.alert', 'connect'],
      ['suricata.alert', 'connect'],
    ],
  );
  assert.equal(await unusedOf(good), 2);
});

test('a flow to a Stratum port is a connect with totals, flow shape and the flow_id kept', async () => {
  const { events } = await readAll(suricata, good);
  const flow = events[0];
  assert.equal(flow['@timestamp'], '2026-12-01T10:00:00.123Z');
  assert.deepEqual(flow.source, { ip: '10.0.4.17', port: 41872, bytes: 182044 });
  assert.deepEqual(flow.destination, { ip: '198.51.100.23', port: 3333, bytes: 95120 });
  // app_proto "failed" names no protocol
  assert.deepEqual(flow.network, { transport: 'tcp', bytes: 277164, packets: 8000 });
  assert.deepEqual(flow.coalmine.flow, { durationMs: 3600000, clientBytes: 182044, serverBytes: 95120 });
  assert.equal(flow.original.flow_id, 1234567890123456);
  assert.equal(flow.host, undefined);
});

test('dns: v1 query and per-answer records, v2 grouped answers, only addresses resolved', async () => {
  const { events } = await readAll(suricata, good);
  assert.deepEqual(
    events.slice(1, 4).map((e) => e.dns),
    [
      { question: { name: 'xmr-eu1.nanopool.org' } },
      { question: { name: 'xmr-eu1.nanopool.org' }, resolved_ip: ['198.51.100.23'] },
      { question: { name: 'pool.supportxmr.com' }, resolved_ip: ['198.51.100.99'] },
    ],
  );
});

test('dns v3 (Suricata 7) queries[] names the question', async () => {
  const line = `${JSON.stringify({
    timestamp: '2026-12-01T10:00:00.000000+0100',
    event_type: 'dns',
    src_ip: '192.0.2.53',
    dest_ip: '10.0.4.17',
    proto: 'UDP',
    dns: {
      version: 3,
      type: 'response',
      queries: [{ rrname: 'gulf.moneroocean.stream', rrtype: 'A' }],
      answers: [{ rrname: 'gulf.moneroocean.stream', rrtype: 'A', rdata: '198.51.100.5' }],
    },
  })}\n`;
  const { events, issues } = await readAll(suricata, memoryInput('eve.json', line));
  assert.deepEqual(issues, []);
  assert.equal(events[0]['@timestamp'], '2026-12-01T09:00:00.000Z');
  assert.deepEqual(events[0].dns, { question: { name: 'gulf.moneroocean.stream' }, resolved_ip: ['198.51.100.5'] });
});

test('tls carries SNI, JA3 and version; http carries method, host, url and user agent', async () => {
  const { events } = await readAll(suricata, good);
  const [tls, http] = [events[4], events[5]];
  assert.deepEqual(tls.tls, {
    client: { server_name: 'gulf.moneroocean.stream', ja3: 'e7d705a3286e19ea42f587b344ee6865' },
    version: 'TLS 1.3',
  });
  assert.equal(tls.destination?.domain, 'gulf.moneroocean.stream');
  assert.deepEqual(http.http, { request: { method: 'POST', host: 'pool.eth.pp.ua', path: '/getwork' } });
  assert.equal(http.user_agent?.original, 'XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.1');
  assert.equal(http.destination?.domain, 'pool.eth.pp.ua');
});

test('an alert becomes rule plus the record it rides on', async () => {
  const { events } = await readAll(suricata, good);
  const [onFlow, onTls] = [events[6], events[7]];
  assert.deepEqual(onFlow.rule, {
    name: 'ET POLICY Cryptocurrency Miner Checkin',
    id: '2024792',
    category: 'Potential Corporate Privacy Violation',
  });
  assert.equal(onFlow.destination?.port, 3333);
  assert.equal(onTls.rule?.id, '2036289');
  assert.equal(onTls.tls?.client?.server_name, 'gulf.moneroocean.stream');
  assert.equal(onTls.network?.protocol, 'tls');
});

test('bad lines are reported with line and code; unknown event types are not errors', async () => {
  const { events, issues } = await readAll(suricata, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'SURICATA_BAD_JSON'],
      [3, 'SURICATA_BAD_RECORD'],
      [4, 'SURICATA_BAD_RECORD'],
      [5, 'SURICATA_BAD_RECORD'],
      [6, 'SURICATA_BAD_RECORD'],
    ],
  );
  assert.match(issues[1].reason, /timestamp "yesterday" is not a time/);
  assert.match(issues[2].reason, /without a "tls" object/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 8],
  );
  assert.equal(await unusedOf(bad), 1);
});

test('the host is the input hint only', async () => {
  const { events } = await readAll(suricata, fileInput(good.name, { hostHint: 'sensor-2' }));
  assert.deepEqual(events[0].host, { name: 'sensor-2' });
});

test('eve.json sniffs as suricata, Zeek JSON and coalmine NDJSON do not', () => {
  assert.equal(sniffSource(good)?.name, 'suricata');
  assert.equal(suricata.sniff('{"ts":1796119200,"uid":"C1","id.orig_h":"10.0.0.1"}\n', good), 0);
  assert.equal(suricata.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', good), 0);
  assert.equal(sniffSource(fileInput('test/fixtures/zeek/json.log'))?.name, 'zeek');
});

// real EVE logs beside the checkout, when someone has put them there
const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'suricata');
test('reads the shared Suricata logs with no issues', {
  skip: existsSync(shared) ? false : `no ${shared}`,
}, async () => {
  const files = readdirSync(shared).filter((f) => statSync(join(shared, f)).isFile() && /\.json$/.test(f));
  for (const f of files) {
    const { issues } = await readAll(suricata, fileInput(join(shared, f)), { ...TEST_CONTEXT, maxLineBytes: 1 << 20 });
    assert.deepEqual(issues, [], f);
  }
});

test('a flow Suricata joined without the SYN is turned round when the ports say src was the pool', async () => {
  const flow = (
    src: [string, number],
    dest: [string, number],
    tcp: Record<string, unknown> | undefined,
    proto = 'TCP',
  ) =>
    JSON.stringify({
      timestamp: '2026-12-01T10:00:00.000000+0000',
      event_type: 'flow',
      src_ip: src[0],
      src_port: src[1],
      dest_ip: dest[0],
      dest_port: dest[1],
      proto,
      flow: { pkts_toserver: 3, pkts_toclient: 5, bytes_toserver: 300, bytes_toclient: 50 },
      ...(tcp ? { tcp } : {}),
    });
  const pool: [string, number] = ['198.51.100.23', 14444];
  const miner: [string, number] = ['10.0.4.19', 51234];
  const lines = [
    flow(pool, miner, { tcp_flags_ts: '18', tcp_flags_tc: '18' }), // mid-flow: no SYN either way
    flow(miner, pool, { tcp_flags_ts: '1b', tcp_flags_tc: '1b' }), // a whole session
    flow(['10.0.4.19', 53], ['10.0.4.1', 33000], undefined, 'UDP'), // a UDP flow first seen from the server
  ];
  const { events, issues } = await readAll(suricata, memoryInput('eve.json', `${lines.join('\n')}\n`));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => `${e.source?.ip}:${e.source?.port} -> ${e.destination?.ip}:${e.destination?.port}`),
    [
      '10.0.4.19:51234 -> 198.51.100.23:14444',
      '10.0.4.19:51234 -> 198.51.100.23:14444',
      '10.0.4.1:33000 -> 10.0.4.19:53',
    ],
  );
  assert.deepEqual([events[0].coalmine.flow?.clientBytes, events[0].coalmine.flow?.serverBytes], [50, 300]);
});

test("a dns answer is the asker's lookup: the resolver that sent it is not the one who asked", async () => {
  const { events } = await readAll(suricata, good);
  const answers = events.filter(
    (e) => e.event.action === 'dns-query' && e.source?.port !== undefined && e.destination?.port === 53,
  );
  assert.ok(answers.length >= 3, 'query and answers alike go from the asker to port 53');
  for (const e of events.filter((x) => x.event.action === 'dns-query'))
    assert.notEqual(e.source?.ip, '192.0.2.53', `${e.dns?.question?.name}: the resolver asked nothing`);
});
