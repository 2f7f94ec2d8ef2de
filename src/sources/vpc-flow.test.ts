import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runSourceContract,
  seeded,
} from './contract.js';
import { sniffSource } from './index.js';
import { DEFAULT_FIELDS, vpcFlow } from './vpc-flow.js';

const DIR = 'test/fixtures/vpc-flow';
const V5 = `${DIR}/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_20260302T0100Z_3f2a9c1e.log`;
const V2 = `${DIR}/123456789012_vpcflowlogs_us-west-2_fl-0123456789abcdef0_20260302T0100Z_5d41402a.log`;
const GZ = `${DIR}/123456789012_vpcflowlogs_eu-west-1_fl-0fedcba9876543210_20260302T0110Z_c0ffee12.log.gz`;
const MINER = 'i-0a1b2c3d4e5f60718';
const WEB = 'i-0fedcba9876543210';

const good = fileInput(V5);
const bad = fileInput(`${DIR}/bad-custom.log`);
runSourceContract({
  source: vpcFlow,
  good,
  bad,
  // the object copied while the NAT gateway's record was written: it ends inside its vpc-id
  cut: cutLineCase(good, 10, '10.0.1.31 10.0.0.9 41002 3333 6 20 2900 1772413260 1772413320 ACCEPT OK ', 'vpc-0f9e8d7'),
});

test('v5 header form: each connection is a connect turned client → server, its bytes on the side that sent them', async () => {
  const { events } = await readAll(vpcFlow, good);
  // the reader gives them in time order; the mapping is checked record by record
  events.sort((a, b) => (a.coalmine.ref.line ?? 0) - (b.coalmine.ref.line ?? 0));
  const rows = events.map((e) => [
    e.coalmine.ref.line,
    `${e.source?.ip}:${e.source?.port}`,
    `${e.destination?.ip}:${e.destination?.port}`,
    e.network?.transport,
    e.network?.direction,
    e.event.outcome,
    e.coalmine.flow?.clientBytes,
    e.coalmine.flow?.serverBytes,
  ]);
  assert.deepEqual(rows, [
    // the miner's SYN out (line 2), the pool's SYN-ACK back (3) and the next window's record (4) are one
    // connection: each side's bytes summed
    [2, '10.0.1.25:40112', '203.0.113.10:3333', 'tcp', 'outbound', 'success', 5820 + 5120, 11310],
    [5, '10.0.1.25:40998', '198.51.100.20:443', 'tcp', 'outbound', 'success', 4410, undefined],
    // a visitor on the web server is inbound: its request (6) and the server's answer (7) are one
    [6, '192.0.2.77:51544', '10.0.2.40:443', 'tcp', 'inbound', 'success', 1830, 22011],
    [8, '10.0.2.40:53311', '10.0.0.2:53', 'udp', 'outbound', 'success', 74, undefined],
    // rejected by the security group: kept, as a failure
    [9, '198.51.100.99:60022', '10.0.2.40:22', 'tcp', 'inbound', 'failure', 60, undefined],
    // line 10 is NODATA; line 11 the NAT gateway relaying a private instance to the pool (pkt-dstaddr)
    [11, '10.0.1.31:41002', '203.0.113.10:3333', 'tcp', 'outbound', 'success', 2900, undefined],
  ]);
  assert.equal((await countsOf(vpcFlow, good)).unused, 1, 'the NODATA record is counted, not an error');
  assert.deepEqual(events[5].original['pkt-dstaddr'], '203.0.113.10');
  assert.equal(events[5].original.dstaddr, '10.0.0.9');
});

test('a record naming its instance is that instance; one naming only an interface is the interface, with no host', async () => {
  const { events } = await readAll(vpcFlow, good);
  // the reader gives them in time order; the mapping is checked record by record
  events.sort((a, b) => (a.coalmine.ref.line ?? 0) - (b.coalmine.ref.line ?? 0));
  const miner = events[0];
  assert.deepEqual(miner.host, { name: MINER });
  assert.deepEqual(miner.cloud, {
    provider: 'aws',
    account: { id: '123456789012' },
    region: 'us-east-1',
    instance: { id: MINER },
  });
  assert.equal(events[2].host?.name, WEB);
  const nat = events[5];
  assert.equal(nat.host, undefined);
  assert.equal(nat.cloud?.network_interface, 'eni-0d1e2f3a4b5c6d7e8');
  assert.equal(nat.cloud?.instance, undefined);
  assert.equal(miner['@timestamp'], '2026-03-02T01:00:00.000Z');
  // two capture windows of one connection: its span, and the packets and bytes of both sides
  assert.equal(miner.coalmine.flow?.durationMs, 120_000);
  assert.equal(miner.network?.packets, 42 + 40 + 38);
  assert.equal(miner.network?.bytes, 5820 + 11310 + 5120);
  assert.deepEqual(miner.event.type, ['connection', 'allowed']);
  assert.equal(miner.event.dataset, 'vpc-flow.flow');
  assert.deepEqual(events[4].event.type, ['connection', 'denied']);
});

test('v2 default format with its S3 header: the region comes from the object name, SKIPDATA is unused', async () => {
  const input = fileInput(V2);
  assert.equal(sniffSource(input)?.name, 'vpc-flow');
  const { events, issues } = await readAll(vpcFlow, input);
  assert.deepEqual(issues, []);
  assert.equal(events.length, 3);
  for (const e of events) {
    assert.equal(e.cloud?.region, 'us-west-2');
    assert.equal(e.cloud?.network_interface, 'eni-0e1f2a3b4c5d6e7f8');
    assert.equal(e.host, undefined);
    assert.equal(e.coalmine.flow?.durationMs, 600_000);
  }
  assert.deepEqual(
    events.map((e) => [e.destination?.ip, e.destination?.port, e.network?.direction]),
    [
      ['203.0.113.10', 3333, 'outbound'],
      ['192.0.2.10', 123, 'outbound'],
      ['10.1.4.17', 3389, 'inbound'],
    ],
  );
  assert.equal((await countsOf(vpcFlow, input)).unused, 1);
});

test('the gzip object S3 delivers reads like its text (gzip is opened before the source)', async () => {
  const text = gunzipSync(readFileSync(GZ));
  const input = memoryInput(GZ, text);
  assert.equal(sniffSource(input)?.name, 'vpc-flow');
  const { events, issues } = await readAll(vpcFlow, input);
  assert.deepEqual(issues, []);
  // the miner's record and the pool's answer are one connection
  assert.equal(events.length, 2);
  assert.ok(events.every((e) => e.cloud?.region === 'eu-west-1'));
});

test('CloudWatch Logs forms (export lines, filter-log-events document, events per line) give the same events', async () => {
  const shapes = ['cloudwatch-export.log', 'filter-log-events.json', 'log-events.jsonl'];
  const seen: string[] = [];
  for (const name of shapes) {
    const input = fileInput(`${DIR}/${name}`);
    assert.equal(sniffSource(input)?.name, 'vpc-flow', name);
    const { events, issues } = await readAll(vpcFlow, input);
    assert.deepEqual(issues, [], name);
    seen.push(JSON.stringify(events.map((e) => [e['@timestamp'], e.source, e.destination, e.network, e.cloud])));
  }
  assert.equal(new Set(seen).size, 1, 'every form gives the same flows');
  const { events } = await readAll(vpcFlow, fileInput(`${DIR}/filter-log-events.json`));
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [3, 17],
    'each event names the line its (first) log event starts on',
  );
});

test('bad custom file: the unknown header field is reported once and read past; each broken row is named', async () => {
  const { events, issues } = await readAll(vpcFlow, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [1, 'VPC_FLOW_BAD_HEADER'],
      [3, 'VPC_FLOW_BAD_RECORD'],
      [4, 'VPC_FLOW_BAD_RECORD'],
      [5, 'VPC_FLOW_BAD_RECORD'],
      [6, 'VPC_FLOW_BAD_RECORD'],
      [7, 'VPC_FLOW_BAD_RECORD'],
      [8, 'VPC_FLOW_BAD_RECORD'],
      [9, 'VPC_FLOW_BAD_RECORD'],
    ],
  );
  assert.match(issues[0].reason, /unknown fields my-team-tag/);
  assert.match(issues[1].reason, /13 fields for the 18 the header on line 1 names/);
  assert.match(issues[2].reason, /srcport "http"/);
  assert.match(issues[3].reason, /dstport "70000"/);
  assert.match(issues[4].reason, /start "yesterday" is not a time/);
  assert.match(issues[5].reason, /dstaddr "pool.example" is not an IP address/);
  assert.match(issues[6].reason, /action "MAYBE"/);
  assert.match(issues[7].reason, /instance-id "i-xyz"/);
  // the known fields around the unknown one still map: instance, flags, direction (lines 2 and 10 are one connection)
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.host?.name, e.destination?.port, e.network?.direction]),
    [[2, MINER, 3333, 'outbound']],
  );
  assert.equal(events[0].original['my-team-tag'], 'mining');
});

test('bad default file: a custom row without its header, a bad status, protocol or time are reported; good rows read', async () => {
  const { events, issues } = await readAll(vpcFlow, fileInput(`${DIR}/bad-default.log`));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'VPC_FLOW_BAD_RECORD'],
      [3, 'VPC_FLOW_BAD_RECORD'],
      [4, 'VPC_FLOW_BAD_RECORD'],
      [5, 'VPC_FLOW_BAD_RECORD'],
    ],
  );
  assert.match(issues[0].reason, /custom format needs its header line/);
  assert.match(issues[1].reason, /log-status "PARTIAL"/);
  assert.match(issues[2].reason, /protocol "tcp"/);
  assert.match(issues[3].reason, /start "1772413200000000" is not a time/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 6],
  );
});

test('a header naming no addresses is reported once and its records are counted unused, not guessed at', async () => {
  const text = 'version interface-id packets bytes start end\n5 eni-0b1c2d3e4f5061728 4 400 1772413200 1772413260\n';
  const input = memoryInput('no-addr.log', text);
  const { events, issues } = await readAll(vpcFlow, input);
  assert.equal(events.length, 0);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'VPC_FLOW_BAD_HEADER']],
  );
  assert.match(issues[0].reason, /no source and destination address/);
  assert.equal((await countsOf(vpcFlow, input)).unused, 1);
});

test('concatenated objects: each header starts a new format', async () => {
  const v5 = readFileSync(V5, 'utf8').split('\n').slice(0, 3).join('\n');
  const v2 = readFileSync(V2, 'utf8').split('\n').slice(0, 2).join('\n');
  const { events, issues } = await readAll(vpcFlow, memoryInput('joined.log', `${v5}\n${v2}\n`));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.host?.name, e.cloud?.network_interface]),
    [
      [2, MINER, undefined],
      [5, undefined, 'eni-0e1f2a3b4c5d6e7f8'],
    ],
  );
});

const PAIR_HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction';
const T0 = 1772413200;

/** One record of the pairing tests; `-` where a field is absent. */
function flowRow(
  sender: [string, number],
  receiver: [string, number],
  o: {
    bytes: number;
    packets?: number;
    start?: number;
    flags?: number;
    direction?: string;
    eni?: string;
    action?: string;
  },
): string {
  const start = o.start ?? T0;
  return [
    5,
    '123456789012',
    o.eni ?? 'eni-0e1f2a3b4c5d6e7f8',
    sender[0],
    receiver[0],
    sender[1],
    receiver[1],
    6,
    o.packets ?? 5,
    o.bytes,
    start,
    start + 60,
    o.action ?? 'ACCEPT',
    'OK',
    o.flags ?? '-',
    o.direction ?? '-',
  ].join(' ');
}

async function flowsOf(rows: string[]) {
  const { events, issues } = await readAll(vpcFlow, memoryInput('pairs.log', `${[PAIR_HEADER, ...rows].join('\n')}\n`));
  assert.deepEqual(issues, []);
  return events.map((e) => ({
    client: `${e.source?.ip}:${e.source?.port}`,
    server: `${e.destination?.ip}:${e.destination?.port}`,
    direction: e.network?.direction,
    bytes: [e.coalmine.flow?.clientBytes, e.coalmine.flow?.serverBytes],
    packets: e.network?.packets,
    durationMs: e.coalmine.flow?.durationMs,
    at: e['@timestamp'],
  }));
}

test('one connection is one event: the egress record and the reply, in either order, whatever says who opened it', async () => {
  const local = '10.1.4.17';
  // [who opened, who answered, which is local, what says who opened]
  const cases: Array<[[string, number], [string, number], 'client' | 'server', string]> = [
    // the instance opens to a pool port (14444): SYN flags, flow-direction only, or the ports alone
    [[local, 45001], ['203.0.113.10', 14444], 'client', 'flags'],
    [[local, 45001], ['203.0.113.10', 14444], 'client', 'flow-direction'],
    [[local, 45001], ['203.0.113.10', 14444], 'client', 'ports'],
    // a visitor opens to the instance's SSH: inbound
    [['192.0.2.5', 50000], [local, 22], 'server', 'flags'],
    [['192.0.2.5', 50000], [local, 22], 'server', 'flow-direction'],
    [['192.0.2.5', 50000], [local, 22], 'server', 'ports'],
    // two ports that rank alike: only the SYN says who opened (here the higher port's side)
    [['203.0.113.10', 40000], [local, 30000], 'server', 'flags'],
  ];
  for (const [client, server, localIs, says] of cases) {
    const flags = (f: number) => (says === 'flags' ? { flags: f } : {});
    const dir = (sender: 'client' | 'server') =>
      says === 'flow-direction' ? { direction: sender === localIs ? 'egress' : 'ingress' } : {};
    const opening = flowRow(client, server, { bytes: 700, packets: 7, ...flags(2), ...dir('client') });
    const reply = flowRow(server, client, { bytes: 9000, packets: 9, ...flags(18), ...dir('server') });
    const want = [
      {
        client: client.join(':'),
        server: server.join(':'),
        direction: localIs === 'client' ? 'outbound' : 'inbound',
        bytes: [700, 9000],
        packets: 16,
        durationMs: 60_000,
        at: '2026-03-02T01:00:00.000Z',
      },
    ];
    const label = `${client.join(':')} → ${server.join(':')} by ${says}`;
    assert.deepEqual(await flowsOf([opening, reply]), want, `${label}, opening first`);
    assert.deepEqual(await flowsOf([reply, opening]), want, `${label}, reply first`);
  }
});

test("a connection's successive capture windows are one flow with its span; other connections stay apart", async () => {
  const miner: [string, number] = ['10.1.4.17', 45001];
  const pool: [string, number] = ['203.0.113.10', 14444];
  const windows = [0, 60, 120].flatMap((k) => [
    flowRow(miner, pool, { bytes: 100, packets: 2, start: T0 + k }),
    flowRow(pool, miner, { bytes: 300, packets: 3, start: T0 + k }),
  ]);
  assert.deepEqual(await flowsOf(windows), [
    {
      client: '10.1.4.17:45001',
      server: '203.0.113.10:14444',
      direction: 'outbound',
      bytes: [300, 900],
      packets: 15,
      durationMs: 180_000,
      at: '2026-03-02T01:00:00.000Z',
    },
  ]);
  // another source port, another interface, a rejected attempt, or the same ends after a long silence
  const apart = [
    flowRow(miner, pool, { bytes: 100 }),
    flowRow(['10.1.4.17', 45002], pool, { bytes: 100 }),
    flowRow(miner, pool, { bytes: 100, eni: 'eni-0a0b0c0d0e0f01020' }),
    flowRow(miner, pool, { bytes: 100, action: 'REJECT' }),
    flowRow(miner, pool, { bytes: 100, start: T0 + 3600 }),
  ];
  assert.equal((await flowsOf(apart)).length, 5);
});

test('fuzz: damaged records never throw; every issue names its line; every event is well formed', async () => {
  const base = readFileSync(V5, 'utf8');
  const rand = seeded(7);
  const alphabet = ' -.:0123456789abcdefxyzACEPTRJOKND\t{}"\n';
  for (let round = 0; round < 200; round++) {
    const chars = [...base];
    const edits = 1 + rand(12);
    for (let k = 0; k < edits; k++) {
      const at = rand(chars.length);
      const op = rand(3);
      if (op === 0) chars[at] = alphabet[rand(alphabet.length)];
      else if (op === 1) chars.splice(at, 1 + rand(20));
      else chars.splice(at, 0, alphabet[rand(alphabet.length)].repeat(1 + rand(5)));
    }
    const input = memoryInput(`fuzz-${round}.log`, chars.join(''));
    const { events, issues } = await readAll(vpcFlow, input);
    for (const i of issues) assert.ok(i.line !== undefined && i.line > 0, JSON.stringify(i));
    for (const e of events) {
      assert.equal(e.event.action, 'connect');
      assert.ok(Number.isFinite(e.coalmine.ts));
      for (const end of [e.source, e.destination])
        if (end?.port !== undefined) assert.ok(Number.isInteger(end.port) && end.port >= 0 && end.port <= 65535);
    }
  }
});

test('the default format has the 14 version 2 fields in order', () => {
  assert.equal(DEFAULT_FIELDS.length, 14);
  assert.equal(readFileSync(V2, 'utf8').split('\n')[0], DEFAULT_FIELDS.join(' '));
});

test('sniffing: every vpc-flow fixture is ours, and no other fixture is taken for a flow log', () => {
  for (const name of readdirSync(DIR).filter((n) => !n.endsWith('.gz')))
    assert.equal(sniffSource(fileInput(`${DIR}/${name}`))?.name, 'vpc-flow', name);
  // the one other: the flow log of the leaked-key cloud story
  assert.deepEqual(fixturesClaimedBy(vpcFlow), ['test/fixtures/scenarios/cloud/aws-leaked-key/vpc-flow.log']);
});
