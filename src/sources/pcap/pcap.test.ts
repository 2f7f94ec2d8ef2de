import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  clientHello,
  dnsExchange,
  dnsMessage,
  type PacketSpec,
  tcpSession,
  writePcap,
  writePcapng,
} from '../../../test/support/pcap-writer.js';
import type { CoalEvent } from '../../model/event.js';
import { fileInput, memoryInput, readAll, runSourceContract } from '../contract.js';
import { sniffSource } from '../index.js';
import { parseDns } from './dns.js';
import { pcap } from './index.js';

const repo = join(import.meta.dirname, '..', '..', '..');
const fixtures = join(repo, 'test', 'fixtures', 'pcap');
const shared = join(repo, '..', 'shared', 'data', 'pcap');
const fx = (name: string) => join(fixtures, name);
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const E = { client: '10.0.0.5', server: '198.51.100.7', cport: 40000, sport: 3333 };

runSourceContract({
  source: pcap,
  good: fileInput(fx('stratum-3333.pcap')),
  bad: fileInput(fx('broken-lengths.pcap')),
  skip: { oversized: 'a binary format has no lines' },
  // the capture copied while its 10th packet was written
  cut: { input: memoryInput('cut.pcap', readFileSync(fx('stratum-3333.pcap')).subarray(0, -10)), at: 10 },
});

/** A Stratum session's reports (stratum-session.test.ts tests them): not flows. */
const isReport = (e: CoalEvent) => e.event.dataset === 'pcap.stratum';
const flowsOf = (events: CoalEvent[]) => events.filter((e) => !isReport(e));

async function events(
  buf: Buffer,
  name = 'mem.pcap',
): Promise<{ events: CoalEvent[]; reports: CoalEvent[]; issues: string[] }> {
  const r = await readAll(pcap, memoryInput(name, buf));
  return {
    events: flowsOf(r.events),
    reports: r.events.filter(isReport),
    issues: r.issues.map((i) => `${i.code} #${i.record}: ${i.reason}`),
  };
}

const stratum = [
  { from: 'client' as const, data: '{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5"]}\n' },
  { from: 'server' as const, data: '{"id":1,"result":true}\n' },
  { from: 'client' as const, data: '{"id":2,"method":"mining.authorize","params":["w.1","x"]}\n' },
];

test('the registry sniffs pcap, nanosecond pcap and pcapng by their magic', () => {
  for (const name of ['stratum-3333.pcap', 'monero-login.pcapng', 'bitcoin-version.pcap']) {
    const head = readFileSync(fx(name)).subarray(0, 64);
    assert.equal(sniffSource({ head, name })?.name, 'pcap', name);
  }
  const ns = Buffer.from(readFileSync(fx('stratum-3333.pcap')));
  ns.writeUInt32LE(0xa1b23c4d, 0);
  assert.equal(sniffSource({ head: ns.subarray(0, 64), name: 'x' })?.name, 'pcap');
});

test('a Stratum session becomes one connect event with both payloads and the client message count, and one session report', async () => {
  const { events: ev, reports, issues } = await events(writePcap(tcpSession(E, T0, stratum)));
  assert.deepEqual(issues, []);
  assert.equal(ev.length, 1);
  assert.deepEqual(
    reports.map((r) => [r.event.type, r.coalmine.flow?.stratum?.dialect, r.coalmine.flow?.stratum?.worker]),
    [[['connection', 'info'], 'v1', 'w.1']],
  );
  const e = ev[0];
  assert.equal(e.event.action, 'connect');
  assert.deepEqual(
    [e.source?.ip, e.source?.port, e.destination?.ip, e.destination?.port],
    ['10.0.0.5', 40000, '198.51.100.7', 3333],
  );
  assert.equal(e.network?.transport, 'tcp');
  assert.equal(e.coalmine.flow?.clientPayload, stratum[0].data + stratum[2].data);
  assert.equal(e.coalmine.flow?.serverPayload, stratum[1].data);
  assert.equal(e.coalmine.flow?.clientMessages, 2);
  assert.equal(e.coalmine.ref.record, '1');
  assert.equal(e.coalmine.ts, T0);
  assert.equal(e.host, undefined);
});

test('out-of-order and retransmitted segments are reassembled in sequence order', async () => {
  const pk = tcpSession(E, T0, stratum);
  // swap the two client data segments (index 3 and 5) and repeat one
  const reordered: PacketSpec[] = [pk[0], pk[1], pk[2], pk[5], pk[4], pk[3], pk[3], ...pk.slice(6)];
  const { events: ev } = await events(writePcap(reordered));
  assert.equal(ev[0].coalmine.flow?.clientPayload, stratum[0].data + stratum[2].data);
});

test('SLL, SLL2, raw IP, VLAN/QinQ, IPv6, big-endian pcap and nanosecond pcapng give the same flow', async () => {
  const base = tcpSession(E, T0, stratum);
  const variants: Array<[string, Buffer]> = [
    ['sll', writePcap(base, { link: 'sll' })],
    ['sll2', writePcapng(base, { link: 'sll2' })],
    ['raw', writePcap(base, { link: 'raw' })],
    ['qinq', writePcap(tcpSession(E, T0, stratum, { vlan: [10, 20] }))],
    ['be', writePcap(base, { bigEndian: true })],
    ['ns', writePcapng(base, { tsresol: 9 })],
  ];
  for (const [name, buf] of variants) {
    const { events: ev, issues } = await events(buf);
    assert.deepEqual(issues, [], name);
    assert.equal(ev.length, 1, name);
    assert.equal(ev[0].coalmine.flow?.clientMessages, 2, name);
    assert.equal(ev[0].coalmine.ts, T0, name);
  }
  const v6 = await events(
    writePcap(tcpSession({ ...E, client: '2001:db8::5', server: '2001:db8:0:1::7' }, T0, stratum)),
  );
  assert.equal(v6.events[0].destination?.ip, '2001:db8:0:1::7');
});

test('a DNS answer is one dns-query event with the name and addresses, and names later connections', async () => {
  const pk = [
    ...dnsExchange('10.0.0.5', '10.0.0.1', T0, 9, 'xmr.pool.minergate.com', ['94.130.12.30']),
    ...tcpSession({ ...E, server: '94.130.12.30' }, T0 + 100, stratum),
  ];
  const { events: ev } = await events(writePcap(pk));
  const dns = ev.find((e) => e.event.action === 'dns-query');
  assert.equal(dns?.dns?.question?.name, 'xmr.pool.minergate.com');
  assert.deepEqual(dns?.dns?.resolved_ip, ['94.130.12.30']);
  assert.equal(dns?.coalmine.ts, T0);
  assert.equal(ev.find((e) => e.event.action === 'connect')?.destination?.domain, 'xmr.pool.minergate.com');
  assert.equal(ev.filter((e) => e.event.action === 'connect').length, 1, 'DNS is not a connect flow');
});

test('DNS name compression loops end', () => {
  const m = dnsMessage(1, 'a.example', ['1.2.3.4']);
  m.writeUInt16BE(0xc00c, 12); // the question name points at itself
  assert.equal(parseDns(m), undefined);
});

test('TLS SNI and the HTTP request line, Host and User-Agent are read from the client payload', async () => {
  const tls = await events(
    writePcap(tcpSession({ ...E, sport: 443 }, T0, [{ from: 'client', data: clientHello('pool.supportxmr.com') }])),
  );
  assert.equal(tls.events[0].tls?.client?.server_name, 'pool.supportxmr.com');
  assert.equal(tls.events[0].network?.protocol, 'tls');
  const http = await events(
    writePcap(
      tcpSession({ ...E, sport: 80 }, T0, [
        { from: 'client', data: 'POST /rpc HTTP/1.1\r\nHost: pool.example:80\r\nUser-Agent: XMRig/6.21.0\r\n\r\n{}' },
      ]),
    ),
  );
  const e = http.events[0];
  assert.deepEqual(e.http?.request, { method: 'POST', path: '/rpc', host: 'pool.example:80' });
  assert.equal(e.user_agent?.original, 'XMRig/6.21.0');
  assert.equal(e.network?.protocol, 'http');
  assert.equal(e.destination?.domain, 'pool.example');
});

test('non-printable payload bytes are escaped and samples stop at 4 KiB', async () => {
  const big = 'x'.repeat(6000);
  const { events: ev } = await events(
    writePcap(
      tcpSession(E, T0, [
        { from: 'client', data: Buffer.from([0, 0x5c, 0x41]) },
        { from: 'client', data: big },
      ]),
    ),
  );
  const p = ev[0].coalmine.flow?.clientPayload ?? '';
  assert.ok(p.startsWith('\\x00\\x5cA'));
  assert.equal(p.length, 4093 + 9);
  assert.equal(ev[0].coalmine.flow?.clientBytes, 6003);
});

test('a long flow is reported after 4 minutes of event time, and idle flows close', async () => {
  const pk = tcpSession(E, T0, stratum, { fin: false });
  const keepalive = [1, 2, 3, 4, 5].map((m) => ({ ...pk[3], tsMs: T0 + m * 60_000, payload: '', flags: 'A' }));
  const other = tcpSession({ ...E, cport: 40001 }, T0 + 310_000, stratum);
  const { events: ev } = await events(writePcap([...pk, ...keepalive, ...other]));
  assert.deepEqual(
    ev.map((e) => e.source?.port),
    [40000, 40001],
  );
  assert.equal(ev[0].coalmine.flow?.clientMessages, 2);
});

test('a flood of half-open flows is bounded and summarised in one issue', async () => {
  const pk: PacketSpec[] = [];
  for (let i = 0; i < 70_000; i++)
    pk.push({
      tsMs: T0 + i / 100,
      src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      dst: '10.9.9.9',
      sport: 1024 + (i % 60000),
      dport: 22,
      transport: 'tcp',
      flags: 'S',
      seq: i,
    });
  const r = await readAll(pcap, memoryInput('flood.pcap', writePcap(pk)));
  const codes = r.issues.map((i) => i.code);
  assert.deepEqual(codes, ['PCAP_FLOWS_EVICTED']);
  // it names where the table first overflowed: the 65,537th half-open flow
  assert.equal(r.issues[0].record, '65537');
  assert.ok(r.events.length <= 65_536);
});

test('broken files: truncation, snaplen cuts and bogus lengths are reported with offsets, reading goes on', async () => {
  const trunc = await readAll(pcap, fileInput(fx('broken-truncated.pcap')));
  assert.ok(trunc.issues.some((i) => i.code === 'PCAP_TRUNCATED' && /offset 0x/.test(i.reason)));
  assert.equal(flowsOf(trunc.events).length, 1);
  const snap = await readAll(pcap, fileInput(fx('broken-snaplen.pcap')));
  assert.deepEqual(
    snap.issues.map((i) => i.code),
    ['PCAP_SNAPLEN_CUT'],
  );
  const bogus = await readAll(pcap, fileInput(fx('broken-lengths.pcap')));
  assert.ok(bogus.issues.some((i) => i.code === 'PCAP_BAD_RECORD' && i.record === '4' && /offset 0x/.test(i.reason)));
  assert.equal(flowsOf(bogus.events).length, 1);
});

/** The same bytes arriving in the chunks given by the cut offsets. */
function chunkedInput(name: string, buf: Buffer, cuts: number[]) {
  return {
    ...memoryInput(name, buf),
    async *open() {
      let from = 0;
      for (const to of [...cuts, buf.length]) {
        yield buf.subarray(from, to);
        from = to;
      }
    },
  };
}

test('a file with an unknown magic gives one issue however its bytes are chunked (bench/fuzz-pcap.ts)', async () => {
  const buf = writePcap(tcpSession(E, T0, [{ from: 'client', data: 'x'.repeat(1400) }]));
  buf.writeUInt32LE(0x12345678, 0);
  for (const cuts of [[], [24], [100, 2000]]) {
    const r = await readAll(pcap, chunkedInput('bad-magic.pcap', buf, cuts));
    assert.deepEqual(
      r.issues.map((i) => i.code),
      ['PCAP_BAD_FILE'],
      `cuts ${cuts}`,
    );
    assert.equal(r.events.length, 0);
  }
});

test('after a broken pcapng block, the next block is kept when it arrives split across chunks (bench/fuzz-pcap.ts)', async () => {
  const buf = writePcapng(tcpSession(E, T0, stratum));
  const blocks: number[] = [];
  for (let at = 0; at < buf.length; at += buf.readUInt32LE(at + 4)) blocks.push(at);
  // blocks: SHB, IDB, SYN, SYN-ACK, ACK, mining.subscribe, …: break the ACK's length and blank its body
  const [ack, subscribe] = [blocks[4], blocks[5]];
  buf.fill(0, ack + 8, subscribe);
  buf.writeUInt32LE(13, ack + 4);
  const whole = await events(buf);
  const split = await readAll(pcap, chunkedInput('mem.pcap', buf, [subscribe + 20]));
  assert.equal(split.events[0].coalmine.flow?.clientPayload, stratum[0].data + stratum[2].data);
  assert.deepEqual(
    split.issues.map((i) => `${i.code} #${i.record}: ${i.reason}`),
    whole.issues,
  );
  assert.equal(JSON.stringify(split.events), JSON.stringify([...whole.events, ...whole.reports]));
});

test('more than 100 issues: the summary names the record where the unlisted ones start (bench/fuzz-pcap.ts)', async () => {
  const pk = tcpSession(E, T0, stratum);
  const bad = Array.from({ length: 120 }, (_, i) => ({ ...pk[3], tsMs: T0 + i }));
  const buf = writePcap(bad);
  // every packet's IPv4 header length to 0 (each record is 16 bytes of header and the same frame)
  const size = (buf.length - 24) / bad.length;
  for (let i = 0; i < bad.length; i++) buf[24 + i * size + 16 + 14] = 0x40;
  const r = await readAll(pcap, memoryInput('many.pcap', buf));
  assert.equal(r.issues.length, 101);
  const last = r.issues[100];
  assert.deepEqual([last.code, last.record], ['PCAP_ISSUES_SUPPRESSED', '101']);
  for (const i of r.issues) assert.ok(i.record !== undefined, `${i.code} names no record`);
});

test('fuzz: 2000 seeded mutations of the fixtures never throw', async () => {
  let seed = 1496;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const bases = readdirSync(fixtures).map((n) => readFileSync(join(fixtures, n)));
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(bases[Math.floor(rnd() * bases.length)]);
    const kind = rnd();
    const n = 1 + Math.floor(rnd() * 8);
    if (kind < 0.5) for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    else if (kind < 0.8)
      for (let k = 0; k < n; k++) b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * (b.length - 4)));
    const input = kind >= 0.8 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
    await readAll(pcap, memoryInput(`fuzz-${i}.pcap`, input));
  }
});

/** tshark's view of a capture: non-DNS flows (unordered 5-tuples), DNS response names on port 53, SNIs. */
function tsharkView(path: string): { flows: Set<string>; dns: string[]; sni: string[] } {
  const out = spawnSync(
    'tshark',
    [
      '-r',
      path,
      '-T',
      'fields',
      '-E',
      'separator=\t',
      ...[
        'ip.src',
        'ipv6.src',
        'ip.dst',
        'ipv6.dst',
        'tcp.srcport',
        'tcp.dstport',
        'udp.srcport',
        'udp.dstport',
        'dns.flags.response',
        'dns.qry.name',
        'tls.handshake.extensions_server_name',
        'tls.handshake.type',
      ].flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
  ).stdout.split('\n'); // a damaged file exits non-zero after printing what it read
  const view = { flows: new Set<string>(), dns: [] as string[], sni: [] as string[] };
  for (const line of out) {
    const [s4, s6, d4, d6, ts, td, us, ud, resp, qname, sni] = line.split('\t');
    const src = s4 || s6;
    const dst = d4 || d6;
    if (!src || src.includes(',')) continue; // ICMP errors quote an inner header
    const tcp = ts !== undefined && ts !== '';
    const sp = tcp ? ts : us;
    const dp = tcp ? td : ud;
    if (!sp || sp.includes(',')) continue;
    if (sp === '53' || dp === '53') {
      if (resp === 'True' || resp === '1') if (qname) view.dns.push(qname.split(',')[0]);
      continue;
    }
    view.flows.add(flowKey(tcp ? 'tcp' : 'udp', src, Number(sp), dst, Number(dp)));
    if (sni) view.sni.push(sni);
  }
  return view;
}

function flowKey(t: string, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}:${ap}`;
  const y = `${b}:${bp}`;
  return `${t} ${x < y ? `${x} ${y}` : `${y} ${x}`}`;
}

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const oracleFiles = [
  ...readdirSync(fixtures).map((n) => join(fixtures, n)),
  ...(existsSync(shared)
    ? readdirSync(shared)
        .filter((n) => /\.pcap(ng)?$/.test(n))
        .map((n) => join(shared, n))
    : []),
];

test('matches tshark on flows, DNS answers and SNI (fixtures and ../shared/data/pcap)', async (t) => {
  if (!hasTshark()) return t.skip('tshark not installed (apt-get install tshark)');
  if (!existsSync(shared)) t.diagnostic(`no shared captures at ${shared}: fixtures only`);
  for (const path of oracleFiles) {
    const want = tsharkView(path);
    const { events: ev } = await readAll(pcap, fileInput(path));
    const flows = new Set(
      ev
        .filter((e) => e.event.action === 'connect')
        .map((e) =>
          flowKey(
            e.network?.transport ?? '',
            e.source?.ip ?? '',
            e.source?.port ?? 0,
            e.destination?.ip ?? '',
            e.destination?.port ?? 0,
          ),
        ),
    );
    const dns = ev
      .filter((e) => e.event.action === 'dns-query' && e.original.response === true)
      .map((e) => e.dns?.question?.name ?? '');
    const sni = ev.map((e) => e.tls?.client?.server_name).filter((s): s is string => s !== undefined);
    // tshark stops at a damaged record; we resync and may see more
    const broken = /broken-/.test(path);
    for (const f of want.flows) assert.ok(flows.has(f), `${path}: tshark flow ${f} missing`);
    if (!broken) assert.deepEqual([...flows].sort(), [...want.flows].sort(), `${path}: flows`);
    assert.deepEqual(dns.sort(), want.dns.sort(), `${path}: DNS answers`);
    assert.deepEqual(sni.sort(), want.sni.sort(), `${path}: SNI`);
    t.diagnostic(
      `${path.split('/').pop()}: ${flows.size} flows, ${dns.length} DNS answers, ${sni.length} SNI agree with tshark`,
    );
  }
});

test('records and blocks arriving in tiny chunks (held back until complete) read the same as the whole file', async () => {
  for (const write of [writePcap, writePcapng]) {
    const buf = write([...tcpSession(E, T0, stratum), ...tcpSession({ ...E, cport: 40001 }, T0 + 1000, stratum)]);
    const whole = await events(buf);
    const cuts: number[] = [];
    for (let at = 7; at < buf.length; at += 7) cuts.push(at);
    const split = await readAll(pcap, chunkedInput('mem.pcap', buf, cuts));
    assert.equal(JSON.stringify(split.events), JSON.stringify([...whole.events, ...whole.reports]));
    assert.deepEqual(
      split.issues.map((i) => `${i.code} #${i.record}: ${i.reason}`),
      whole.issues,
    );
    assert.equal(whole.events.length, 2);
  }
});

test('timestamps that jump back and forth (merged captures, a hostile file) still report every flow once', async () => {
  const DAY = 86_400_000;
  const pk: PacketSpec[] = [];
  for (let i = 0; i < 300; i++) {
    const at = i % 2 === 0 ? T0 : T0 + DAY; // alternate between two days, packet by packet
    pk.push({
      tsMs: at + i,
      src: '10.0.0.5',
      dst: '198.51.100.7',
      sport: 20000 + i,
      dport: 443,
      transport: 'tcp',
      flags: 'S',
      seq: i,
    });
  }
  const r = await readAll(pcap, memoryInput('zigzag.pcap', writePcap(pk)));
  assert.deepEqual(r.issues, []);
  assert.deepEqual(
    r.events.map((e) => e.source?.port).sort((a, b) => (a ?? 0) - (b ?? 0)),
    pk.map((p) => p.sport),
  );
});

/** The ends an event names: client ip:port → server ip:port. */
const ends = (e: CoalEvent) => `${e.source?.ip}:${e.source?.port} -> ${e.destination?.ip}:${e.destination?.port}`;
const pooled = `${E.client}:${E.cport} -> ${E.server}:${E.sport}`;
/** A session's packets after its handshake and first client message: a capture started mid-flow. */
const midFlow = (e: typeof E, exchanges: Array<{ from: 'client' | 'server'; data: string }>) =>
  tcpSession(e, T0, exchanges, { fin: false }).slice(3);
const notify = '{"id":null,"method":"mining.notify","params":["job1"]}\n';
const submit = '{"id":4,"method":"mining.submit","params":["w.1","job1"]}\n';

test('a capture starting mid-flow with the pool speaking first keeps the miner as the client', async () => {
  const pk = midFlow(E, [
    { from: 'server', data: notify },
    { from: 'client', data: submit },
  ]);
  assert.equal(pk[0].src, E.server, 'the first packet is the pool’s');
  const { events: ev } = await events(writePcap(pk));
  assert.equal(ev.length, 1);
  assert.equal(ends(ev[0]), pooled);
  assert.equal(ev[0].coalmine.flow?.clientPayload, submit);
  assert.equal(ev[0].coalmine.flow?.serverPayload, notify);
});

test('a half-flow holding only the pool’s side still names the miner as the client', async () => {
  const pk = midFlow(E, [
    { from: 'server', data: notify },
    { from: 'client', data: submit },
    { from: 'server', data: notify },
  ]).filter((p) => p.src === E.server);
  const { events: ev } = await events(writePcap(pk));
  assert.equal(ends(ev[0]), pooled);
  assert.equal(ev[0].coalmine.flow?.clientPayload, '');
  assert.equal(ev[0].coalmine.flow?.serverPayload, notify + notify);
});

test('without a SYN the ports decide, both ways round: well-known or pool port against ephemeral', async () => {
  const cases = [
    { ...E, sport: 443, cport: 50123 }, // well-known vs ephemeral
    { ...E, sport: 8443, cport: 61000 }, // registered vs ephemeral
    { ...E, sport: 45700, cport: 50000 }, // a pool port inside the ephemeral range
    { ...E, sport: 3333, cport: 8080 }, // a pool port against a registered one
  ];
  for (const e of cases)
    for (const first of ['client', 'server'] as const) {
      const other = first === 'client' ? 'server' : 'client';
      const pk = midFlow(e, [
        { from: first, data: 'x\n' },
        { from: other, data: 'y\n' },
      ]);
      const { events: ev } = await events(writePcap(pk));
      assert.equal(ends(ev[0]), `${e.client}:${e.cport} -> ${e.server}:${e.sport}`, `${e.sport}/${e.cport} ${first}`);
    }
});

test('when the ports rank alike, the side sending the Stratum or HTTP request is the client', async () => {
  const e = { ...E, sport: 8080, cport: 9000 };
  const login = '{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"w","agent":"XMRig/6.21"}}\n';
  const job = '{"id":1,"jsonrpc":"2.0","result":{"id":"a","job":{"blob":"00"}}}\n';
  for (const exchanges of [
    [
      { from: 'server' as const, data: job },
      { from: 'client' as const, data: login },
    ],
    [
      { from: 'server' as const, data: 'HTTP/1.1 200 OK\r\n\r\n' },
      { from: 'client' as const, data: 'GET / HTTP/1.1\r\nHost: 203.0.113.5:8080\r\n\r\n' },
    ],
  ]) {
    const { events: ev } = await events(writePcap(midFlow(e, exchanges)));
    assert.equal(ends(ev[0]), `${e.client}:${e.cport} -> ${e.server}:${e.sport}`, exchanges[1].data);
  }
  // a SYN still outranks the ports: a pool port on the client's side is the client's if it sent the SYN
  const odd = { ...E, cport: 3333, sport: 50000 };
  const { events: ev } = await events(writePcap(tcpSession(odd, T0, stratum)));
  assert.equal(ends(ev[0]), `${E.client}:3333 -> ${E.server}:50000`);
});

test('an HTTP Host that is an address is kept whole and names no domain', async () => {
  for (const host of ['203.0.113.5:8080', '[2001:db8::1]:80', '203.0.113.5']) {
    const { events: ev } = await events(
      writePcap(
        tcpSession({ ...E, sport: 80 }, T0, [{ from: 'client', data: `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n` }]),
      ),
    );
    assert.equal(ev[0].http?.request?.host, host);
    assert.equal(ev[0].destination?.domain, undefined, host);
  }
});
