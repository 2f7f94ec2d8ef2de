import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cutCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { logOfFields, zeek } from './zeek.js';

const dir = 'test/fixtures/zeek';
const conn = fileInput(`${dir}/conn.log`);
const bad = fileInput(`${dir}/bad.log`);
runSourceContract({
  source: zeek,
  good: conn,
  bad,
  // the log copied while Zeek wrote a row: it ends inside the responder address (203.0.113.7 of .77)
  cut: cutCase(conn, '1796119300.000000\tCcut1\t10.0.4.17\t41999\t203.0.113.7', '203.0.113.7'),
});

test('TSV conn rows are connects with endpoints, transport, service, totals and flow shape', async () => {
  const { events, issues } = await readAll(zeek, conn);
  assert.deepEqual(issues, []);
  const [stratum, tls, dns, s0] = events;
  assert.equal(stratum['@timestamp'], '2026-12-01T10:00:00.123Z');
  assert.deepEqual(stratum.event, {
    kind: 'event',
    category: ['network'],
    type: ['connection'],
    action: 'connect',
    dataset: 'zeek.conn',
  });
  assert.deepEqual(stratum.source, { ip: '10.0.4.17', port: 41872, bytes: 182044 });
  assert.deepEqual(stratum.destination, { ip: '198.51.100.23', port: 3333, bytes: 95120 });
  assert.deepEqual(stratum.network, { transport: 'tcp', bytes: 277164, packets: 8000, direction: 'outbound' });
  assert.deepEqual(stratum.coalmine.flow, { durationMs: 3600500, clientBytes: 182044, serverBytes: 95120 });
  assert.equal(stratum.original.uid, 'CHhAvVGS1DHFjwGM9');
  assert.deepEqual(stratum.original.tunnel_parents, []);
  assert.equal(stratum.host, undefined);
  assert.equal(tls.network?.protocol, 'tls');
  assert.equal(dns.network?.direction, 'internal');
  // S0: unset byte counts stay unset rather than becoming zero
  assert.deepEqual(s0.destination, { ip: '203.0.113.9', port: 8080 });
  assert.equal(s0.coalmine.flow, undefined);
});

test('repeated headers in a concatenated file start a new log, #close ends one', async () => {
  const { events } = await readAll(zeek, conn);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [9, 10, 11, 12, 22],
  );
  assert.equal(events[4].destination?.port, 14444);
});

test('dns rows are dns-queries whose resolved IPs are only the addresses among the answers', async () => {
  const { events, issues } = await readAll(zeek, fileInput(`${dir}/dns.log`));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.action, e.dns]),
    [
      ['dns-query', { question: { name: 'xmr-eu1.nanopool.org' }, resolved_ip: ['198.51.100.23', '198.51.100.24'] }],
      ['dns-query', { question: { name: 'www.example.com' }, resolved_ip: ['2001:db8::1'] }],
      ['dns-query', { question: { name: 'odd\tname\\x.example' } }],
    ],
  );
  assert.equal(events[0].network?.protocol, 'dns');
});

test('ssl rows carry SNI and JA3, and the SNI as destination.domain for the name signals', async () => {
  const { events } = await readAll(zeek, fileInput(`${dir}/ssl.log`));
  assert.deepEqual(events[0].tls, {
    client: { server_name: 'gulf.moneroocean.stream', ja3: 'e7d705a3286e19ea42f587b344ee6865' },
    version: 'TLSv13',
  });
  assert.equal(events[0].destination?.domain, 'gulf.moneroocean.stream');
  assert.deepEqual(events[0].network, { transport: 'tcp', protocol: 'tls' });
  assert.deepEqual(events[1].tls, { version: 'TLSv12' });
  assert.equal(events[1].destination?.domain, undefined);
});

test('http rows carry method, host, path and user agent; a Host that is an address names no domain', async () => {
  const { events } = await readAll(zeek, fileInput(`${dir}/http.log`));
  const [pool, plain] = events;
  assert.deepEqual(pool.http, { request: { method: 'POST', host: 'pool.eth.pp.ua:80', path: '/getwork?x=1' } });
  assert.equal(pool.user_agent?.original, 'XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.1');
  assert.equal(pool.destination?.domain, 'pool.eth.pp.ua');
  assert.equal(pool.url?.domain, 'pool.eth.pp.ua');
  assert.equal(pool.network?.protocol, 'http');
  assert.equal(plain.destination?.domain, undefined);
});

test('notice and intel become rule-carrying events; a notice without endpoints is counted unused', async () => {
  const notice = fileInput(`${dir}/notice.log`);
  const { events } = await readAll(zeek, notice);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0].rule, { category: 'notice', name: 'Stratum::Mining_Login' });
  assert.equal(events[0].event.action, 'connect');
  assert.equal(events[0].destination?.port, 3333);
  let unused = 0;
  for await (const batch of zeek.read(notice, { maxLineBytes: 65536, maxPendingRecords: 64 }))
    unused += batch.unused ?? 0;
  assert.equal(unused, 1);

  const intel = await readAll(zeek, fileInput(`${dir}/intel.log`));
  const [domain, addr] = intel.events;
  assert.equal(domain.event.action, 'dns-query');
  assert.deepEqual(domain.dns, { question: { name: 'xmr-eu1.nanopool.org' } });
  assert.deepEqual(domain.rule, { category: 'intel', name: 'Intel::DOMAIN', id: 'pool-feed' });
  assert.equal(domain.original['seen.indicator'], 'xmr-eu1.nanopool.org');
  assert.equal(addr.event.action, 'connect');
  assert.deepEqual(addr.rule, { category: 'intel', name: 'Intel::ADDR', id: 'pool-feed' });
  assert.deepEqual(addr.original.sources, ['pool-feed', 'abuse.ch']);
});

test('JSON lines: _path, else the columns, name the log; ts as epoch or ISO; nested id flattened', async () => {
  const json = fileInput(`${dir}/json.log`);
  assert.equal(zeek.sniff(json.head.toString(), json), 90);
  const { events, issues } = await readAll(zeek, json);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e['@timestamp']]),
    [
      ['zeek.conn', '2026-12-01T10:00:00.500Z'],
      ['zeek.dns', '2026-12-01T10:00:01.250Z'],
      ['zeek.conn', '2026-12-01T10:00:02.000Z'],
    ],
  );
  assert.deepEqual(events[1].dns?.resolved_ip, ['198.51.100.99']);
  assert.deepEqual(events[2].destination, { ip: '192.0.2.90', port: 443, bytes: 700 });
  assert.equal(events[2].original['id.resp_h'], '192.0.2.90');
});

test('the file name names the log when neither _path nor the columns do', async () => {
  const line =
    '{"ts":1796119200,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":3333}\n';
  assert.equal(logOfFields(JSON.parse(line)), undefined);
  const { events } = await readAll(zeek, memoryInput('logs/conn.10:00:00-11:00:00.log', line));
  assert.equal(events[0].event.dataset, 'zeek.conn');
  const other = await readAll(zeek, memoryInput('logs/weird.log', line));
  assert.equal(other.events.length, 0);
  assert.deepEqual(other.issues, []);
});

test('the host is the input hint, never guessed', async () => {
  const { events } = await readAll(zeek, fileInput(`${dir}/dns.log`, { hostHint: 'sensor-1' }));
  assert.deepEqual(events[0].host, { name: 'sensor-1' });
});

test('bad lines are reported with line and code, and reading goes on', async () => {
  const { events, issues } = await readAll(zeek, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [10, 'ZEEK_BAD_RECORD'],
      [11, 'ZEEK_BAD_RECORD'],
      [12, 'ZEEK_BAD_JSON'],
      [14, 'ZEEK_NO_HEADER'],
      [23, 'ZEEK_BAD_RECORD'],
    ],
  );
  assert.match(issues[0].reason, /4 values for 21 #fields/);
  assert.match(issues[1].reason, /ts "not-a-time" is not a time/);
  assert.match(issues[3].reason, /after #close/);
  assert.match(issues[4].reason, /no query/);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action]),
    [
      [9, 'connect'],
      [24, 'dns-query'],
    ],
  );
});

test('a header with too many columns is refused, and its data lines are reported', async () => {
  const fields = Array.from({ length: 300 }, (_, i) => `f${i}`).join('\t');
  const text = `#separator \\x09\n#fields\t${fields}\n1\t2\n`;
  const { issues } = await readAll(zeek, memoryInput('conn.log', text));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'ZEEK_BAD_HEADER'],
      [3, 'ZEEK_NO_HEADER'],
    ],
  );
});

test('sniffs Zeek TSV and JSON, not Suricata eve or coalmine NDJSON', () => {
  const input = { name: 'x.log' };
  assert.equal(zeek.sniff('#separator \\x09\n#set_separator\t,\n', input), 95);
  assert.equal(zeek.sniff('{"timestamp":"2026-12-01T10:00:00+0000","event_type":"flow","ts":1}\n', input), 0);
  assert.equal(zeek.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', input), 0);
});

// real Zeek logs beside the checkout, when someone has put them there
const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'zeek');
test('reads the shared Zeek logs with no issues', { skip: existsSync(shared) ? false : `no ${shared}` }, async () => {
  const files = readdirSync(shared).filter((f) => statSync(join(shared, f)).isFile() && /\.(log|json)$/.test(f));
  for (const f of files) {
    const { issues } = await readAll(zeek, fileInput(join(shared, f)), {
      maxLineBytes: 1 << 20,
      maxPendingRecords: 1024,
    });
    assert.deepEqual(issues, [], f);
  }
});

test('a conn row Zeek saw without the SYN is turned round when history or the ports say the originator was the pool', async () => {
  const row = (h: string | undefined, orig: [string, number], resp: [string, number], state = 'OTH') =>
    JSON.stringify({
      _path: 'conn',
      ts: 1796119200,
      'id.orig_h': orig[0],
      'id.orig_p': orig[1],
      'id.resp_h': resp[0],
      'id.resp_p': resp[1],
      proto: 'tcp',
      conn_state: state,
      orig_bytes: 100,
      resp_bytes: 7,
      local_orig: false,
      local_resp: true,
      ...(h === undefined ? {} : { history: h }),
    });
  const pool: [string, number] = ['198.51.100.23', 3333];
  const miner: [string, number] = ['10.0.4.19', 40001];
  const lines = [
    row('Dd', pool, miner), // mid-flow, the pool's packet first: the ports decide
    row('D', pool, miner), // one side only
    row('Hd', pool, miner, 'S1'), // the originator sent the SYN-ACK
    row('^Dd', miner, pool), // Zeek turned it round itself
    row('ShADadFf', miner, pool, 'SF'), // a whole session
    row('Dd', ['10.0.4.19', 50000], ['10.0.4.20', 50001]), // ports alike: Zeek's order stands
  ];
  const { events, issues } = await readAll(zeek, memoryInput('conn.json', `${lines.join('\n')}\n`));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => `${e.source?.ip}:${e.source?.port} -> ${e.destination?.ip}:${e.destination?.port}`),
    [...Array(5).fill('10.0.4.19:40001 -> 198.51.100.23:3333'), '10.0.4.19:50000 -> 10.0.4.20:50001'],
  );
  // bytes and direction follow the ends
  assert.deepEqual([events[0].source?.bytes, events[0].destination?.bytes], [7, 100]);
  assert.deepEqual([events[0].coalmine.flow?.clientBytes, events[0].coalmine.flow?.serverBytes], [7, 100]);
  assert.equal(events[0].network?.direction, 'outbound');
});

test('ssh rows are sessions with the client string and whether they logged in; software rows only for SSH clients', async () => {
  const ssh = await readAll(zeek, fileInput(`${dir}/relay/ssh.log`));
  assert.deepEqual(ssh.issues, []);
  const first = ssh.events[0];
  assert.equal(first.event.dataset, 'zeek.ssh');
  assert.deepEqual(
    [first.source?.ip, first.destination?.ip, first.destination?.port, first.network?.protocol],
    ['203.0.113.1', '10.0.4.30', 22, 'ssh'],
  );
  assert.equal(first.user_agent?.original, 'SSH-2.0-Go');
  assert.deepEqual(
    ssh.events.slice(0, 2).map((e) => e.event.outcome),
    ['success', 'failure'],
  );
  const software = await readAll(
    zeek,
    memoryInput(
      'software.json',
      [
        '{"_path":"software","ts":1796124600,"host":"203.0.113.2","software_type":"SSH::CLIENT","name":"libssh","unparsed_version":"libssh_0.9.6"}',
        '{"_path":"software","ts":1796124600,"host":"10.0.4.30","software_type":"HTTP::BROWSER","name":"Firefox"}',
      ].join('\n'),
    ),
  );
  assert.deepEqual(
    software.events.map((e) => [e.source?.ip, e.destination, e.user_agent?.original]),
    [['203.0.113.2', undefined, 'libssh_0.9.6']],
  );
});

test('a TSV row the file ends in is reported: short of its columns it is not read, whole its last column is dropped', async () => {
  const text = conn.head.toString('utf8').replace(/#close[^\n]*\n?$/, '');
  const row =
    '1796119300.000000\tCcut1\t10.0.4.17\t41999\t203.0.113.77\t3333\ttcp\t-\t1.0\t10\t10\tSF\tT\tF\t0\tShADadfF\t1\t1\t1\t1\t(emp';
  const whole = await readAll(zeek, memoryInput('conn.log', `${text}${row}`));
  assert.ok(
    whole.issues.some((i) => i.code === 'ZEEK_TRUNCATED' && i.line === text.split('\n').length),
    JSON.stringify(whole.issues),
  );
  const cutRow = whole.events.find((e) => e.destination?.ip === '203.0.113.77');
  assert.ok(cutRow, 'the columns before the last are whole');
  assert.ok(!JSON.stringify(cutRow).includes('(emp'), 'the cut last column is not read');
  const short = await readAll(zeek, memoryInput('conn.log', `${text}${row.slice(0, 40)}`));
  assert.ok(
    short.issues.some((i) => i.code === 'ZEEK_TRUNCATED'),
    JSON.stringify(short.issues),
  );
  assert.ok(!short.events.some((e) => e.source?.port === 41999));
  // with its newline the same row is whole
  const ended = await readAll(zeek, memoryInput('conn.log', `${text}${row.replace('(emp', '(empty)')}\n`));
  assert.deepEqual(ended.issues, []);
});
