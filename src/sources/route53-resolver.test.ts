import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { sniffSource } from './index.js';
import { route53Resolver } from './route53-resolver.js';

const DIR = 'test/fixtures/route53-resolver';
const MINER = 'i-0a1b2c3d4e5f60718';
const good = fileInput(`${DIR}/queries.log`);
const bad = fileInput(`${DIR}/bad.log`);
runSourceContract({
  source: route53Resolver,
  good,
  bad,
  // the object copied while a query was written: it ends inside the answer's address
  cut: cutLineCase(good, 0, '"Rdata":"', '203.0.113.2'),
});

test('one dns-query per record: the name without the root dot, the addresses answered, the asking instance', async () => {
  const { events } = await readAll(route53Resolver, good);
  // the reader gives them in time order; the mapping is checked record by record
  events.sort((a, b) => (a.coalmine.ref.line ?? 0) - (b.coalmine.ref.line ?? 0));
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.dns?.question?.name, e.dns?.resolved_ip, e.host?.name, e.source?.ip]),
    [
      [1, 'pool.supportxmr.com', ['203.0.113.10'], MINER, '10.0.1.25'],
      // a CNAME chain: only the addresses are resolved IPs
      [2, 'xmr.2miners.com', ['198.51.100.20', '198.51.100.21'], MINER, '10.0.1.25'],
      [3, 'ssm.us-east-1.amazonaws.com', ['192.0.2.44'], 'i-0fedcba9876543210', '10.0.2.40'],
      [4, 'db.corp.internal', undefined, 'i-0fedcba9876543210', '10.0.2.40'],
      // asked through an inbound resolver endpoint (on premises): no instance, the engine joins by address
      [5, 'intranet.example.com', ['192.0.2.80'], undefined, '10.10.0.5'],
      [6, 'gulf.moneroocean.stream', undefined, MINER, '10.0.1.25'],
    ],
  );
  const first = events[0];
  assert.equal(first['@timestamp'], '2026-03-02T00:59:58.000Z');
  assert.equal(first.event.action, 'dns-query');
  assert.equal(first.event.dataset, 'route53-resolver.query');
  assert.deepEqual(first.cloud, {
    provider: 'aws',
    account: { id: '123456789012' },
    region: 'us-east-1',
    instance: { id: MINER },
  });
  assert.deepEqual(first.network, { transport: 'udp', protocol: 'dns' });
  assert.equal(first.source?.port, 41877);
  assert.equal(first.original.query_name, 'pool.supportxmr.com.');
  assert.equal(events[3].network?.transport, 'tcp');
  assert.equal(events[4].cloud?.instance, undefined);
  // the DNS Firewall blocked it: a failed attempt, kept
  assert.equal(events[5].event.outcome, 'failure');
  assert.equal(events[0].event.outcome, undefined);
});

test('bad records are each named with their line and reason; the good ones around them are read', async () => {
  const { events, issues } = await readAll(route53Resolver, bad);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 9],
  );
  const byLine = new Map(issues.map((i) => [i.line, `${i.code}: ${i.reason}`]));
  assert.deepEqual(
    [...byLine.keys()].sort((a, b) => (a ?? 0) - (b ?? 0)),
    [2, 3, 4, 5, 6, 7, 8],
  );
  assert.match(byLine.get(2) ?? '', /ROUTE53_BAD_RECORD: .*no query_name/);
  // a local date form Date.parse would guess at is refused
  assert.match(byLine.get(3) ?? '', /query_timestamp "02\/03\/2026 01:00" is not a time/);
  assert.match(byLine.get(4) ?? '', /srcport "domain" is not a port/);
  assert.match(byLine.get(5) ?? '', /srcids.instance "server-1" is not an instance id/);
  assert.match(byLine.get(6) ?? '', /srcaddr "10.0.1.300" is not an IP address/);
  assert.match(byLine.get(7) ?? '', /ROUTE53_BAD_JSON/);
  assert.match(byLine.get(8) ?? '', /not a JSON record/);
});

test('CloudWatch Logs forms: export lines and filter-log-events output give the same queries', async () => {
  const exported = fileInput(`${DIR}/cloudwatch-export.log`);
  assert.equal(sniffSource(exported)?.name, 'route53-resolver');
  const records = readFileSync(`${DIR}/queries.log`, 'utf8').split('\n').slice(0, 3);
  const document = JSON.stringify(
    {
      events: records.map((message, i) => ({
        logStreamName: 'vpc-0a1b2c3d4e5f60718_rslvr-rqlc-0a1b2c3d4e5f6071',
        timestamp: 1772413198000 + i,
        message,
        ingestionTime: 1772413260000,
        eventId: `3808893914418624512345678901234567890123456789012345678${i}`,
      })),
      searchedLogStreams: [],
    },
    null,
    4,
  );
  const filtered = memoryInput('filter-log-events.json', document);
  assert.equal(sniffSource(filtered)?.name, 'route53-resolver');
  const shape = async (input: typeof good) => {
    const { events, issues } = await readAll(route53Resolver, input);
    assert.deepEqual(issues, []);
    return JSON.stringify(events.map((e) => [e['@timestamp'], e.dns, e.source, e.host, e.cloud]));
  };
  const plain = await shape(memoryInput('q.log', `${records.join('\n')}\n`));
  assert.equal(await shape(exported), plain);
  assert.equal(await shape(filtered), plain);
});

test('fuzz: damaged records never throw; every issue names its line; every event is a well-formed query', async () => {
  const base = readFileSync(`${DIR}/queries.log`, 'utf8');
  let seed = 11;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = '{}[]":,.-0123456789abcdefiZT \n\\';
  for (let round = 0; round < 200; round++) {
    const chars = [...base];
    for (let k = 0, edits = 1 + rand(10); k < edits; k++) {
      const at = rand(chars.length);
      const op = rand(3);
      if (op === 0) chars[at] = alphabet[rand(alphabet.length)];
      else if (op === 1) chars.splice(at, 1 + rand(30));
      else chars.splice(at, 0, alphabet[rand(alphabet.length)].repeat(1 + rand(4)));
    }
    const { events, issues } = await readAll(route53Resolver, memoryInput(`fuzz-${round}.log`, chars.join('')));
    for (const i of issues) assert.ok(i.line !== undefined && i.line > 0, JSON.stringify(i));
    for (const e of events) {
      assert.equal(e.event.action, 'dns-query');
      assert.ok(typeof e.dns?.question?.name === 'string' && e.dns.question.name.length <= 255);
      assert.ok(Number.isFinite(e.coalmine.ts));
    }
  }
});

function otherFixtures(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync('test/fixtures')) {
    if (dir === 'route53-resolver') continue;
    const path = `test/fixtures/${dir}`;
    if (!statSync(path).isDirectory()) continue;
    for (const name of readdirSync(path)) if (statSync(`${path}/${name}`).isFile()) out.push(`${path}/${name}`);
  }
  return out;
}

test('sniffing: every Resolver fixture is ours, and no other fixture is taken for a Resolver log', () => {
  for (const name of readdirSync(DIR))
    assert.equal(sniffSource(fileInput(`${DIR}/${name}`))?.name, 'route53-resolver', name);
  for (const path of otherFixtures()) assert.notEqual(sniffSource(fileInput(path))?.name, 'route53-resolver', path);
});
