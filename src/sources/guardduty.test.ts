import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { guardduty } from './guardduty.js';
import { sniffSource } from './index.js';
import type { SourceInput } from './types.js';

const DIR = 'test/fixtures/guardduty';
const MINER = 'i-0a1b2c3d4e5f60718';
const WEB = 'i-0fedcba9876543210';
const good = fileInput(`${DIR}/eventbridge.json`);
const bad = fileInput(`${DIR}/bad.json`);
runSourceContract({
  source: guardduty,
  good,
  bad,
  // the event copied while it was written: it ends inside the domain asked
  cut: cutLineCase(good, 0, '"domain":"', 'xmr.cutpool.example'),
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of guardduty.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

const summary = (events: Awaited<ReturnType<typeof readAll>>['events']) =>
  events.map((e) => [e.event.action, e.rule?.name, e.rule?.category, e.host?.name]);

test('get-findings output: DNS and network findings on the instance, an SSH brute force inbound; the access-key finding is counted', async () => {
  const input = fileInput(`${DIR}/get-findings.json`);
  const { events, issues } = await readAll(guardduty, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(summary(events), [
    ['dns-query', 'CryptoCurrency:EC2/BitcoinTool.B!DNS', 'High', MINER],
    ['connect', 'CryptoCurrency:EC2/BitcoinTool.B', 'High', MINER],
    ['connect', 'UnauthorizedAccess:EC2/SSHBruteForce', 'Low', WEB],
  ]);
  assert.equal(await unusedOf(input), 1);
  const [dns, pool, ssh] = events;
  // an indicator event at the activity's first sighting, named by the finding's index
  assert.deepEqual(dns.event.type, ['indicator']);
  assert.equal(dns.event.dataset, 'guardduty.finding');
  assert.equal(dns.event.id, 'a2c4e6f8a0b2c4d6e8f0a2b4c6d8e0f1');
  assert.equal(dns['@timestamp'], '2026-03-02T01:02:13.000Z');
  assert.deepEqual(dns.coalmine.ref, { file: input.name, record: 'Findings[0]' });
  assert.deepEqual(dns.dns, { question: { name: 'pool.supportxmr.com' } });
  assert.deepEqual(dns.source, { ip: '10.0.1.23' });
  assert.deepEqual(dns.host, { name: MINER, ip: ['10.0.1.23'] });
  assert.deepEqual(dns.cloud, {
    provider: 'aws',
    account: { id: '123456789012' },
    region: 'us-east-1',
    instance: { id: MINER },
    availability_zone: 'us-east-1a',
    machine: { type: 'g4dn.xlarge' },
  });
  assert.equal(dns.original.Count, 57);
  assert.equal(dns.original.EventLastSeen, '2026-03-02T01:58:40.000Z');
  // OUTBOUND: the instance is the client, the remote address the server
  assert.deepEqual(pool.source, { ip: '10.0.1.23', port: 41872 });
  assert.deepEqual(pool.destination, { ip: '203.0.113.45', port: 3333 });
  assert.deepEqual(pool.network, { transport: 'tcp', direction: 'outbound' });
  // INBOUND: the remote address is the client
  assert.deepEqual(ssh.source, { ip: '198.51.100.77', port: 50514 });
  assert.deepEqual(ssh.destination, { ip: '10.0.2.40', port: 22 });
  assert.equal(ssh.network?.direction, 'inbound');
});

test('EventBridge events (camelCase detail): a reputation DNS finding, a Runtime miner process with its parent, a port probe; sample findings are counted', async () => {
  const { events, issues } = await readAll(guardduty, good);
  // the reader gives them in time order; the mapping is checked record by record
  events.sort((a, b) => (a.coalmine.ref.line ?? 0) - (b.coalmine.ref.line ?? 0));
  assert.deepEqual(issues, []);
  assert.deepEqual(summary(events), [
    ['dns-query', 'Impact:EC2/BitcoinDomainRequest.Reputation', 'High', MINER],
    ['exec', 'Execution:Runtime/CryptoMinerExecuted', 'High', MINER],
    ['connect', 'Recon:EC2/PortProbeUnprotectedPort', 'Low', WEB],
  ]);
  assert.equal(await unusedOf(good), 1);
  const miner = events[1];
  assert.deepEqual(miner.event.category, ['process']);
  assert.deepEqual(miner.process, {
    name: 'xmrig',
    executable: '/tmp/.x/xmrig',
    pid: 4120,
    hash: { sha256: 'c0ffee00'.repeat(8) },
    working_directory: '/tmp/.x',
    start: '2026-03-02T01:00:52.000Z',
    user: { name: 'root', id: '0' },
    parent: { pid: 4101, name: 'bash', executable: '/usr/bin/bash' },
  });
  assert.equal(miner.coalmine.ref.line, 2);
  const probe = events[2];
  assert.deepEqual(probe.source, { ip: '192.0.2.99' });
  assert.deepEqual(probe.destination, { ip: '10.0.2.40', port: 8080 });
  assert.equal(probe.network?.direction, 'inbound');
});

test('S3 export lines: bare camelCase findings; a finding written again as it was updated is counted, not doubled', async () => {
  const input = fileInput(`${DIR}/export.jsonl`);
  assert.equal(sniffSource(input)?.name, 'guardduty');
  const { events, issues } = await readAll(guardduty, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(summary(events), [
    ['dns-query', 'CryptoCurrency:EC2/BitcoinTool.B!DNS', 'High', MINER],
    ['connect', 'UnauthorizedAccess:EC2/SSHBruteForce', 'Low', WEB],
  ]);
  assert.equal(await unusedOf(input), 1);
  // the same finding through the API and the export maps the same way
  const api = (await readAll(guardduty, fileInput(`${DIR}/get-findings.json`))).events[0];
  assert.deepEqual({ ...events[0], coalmine: undefined }, { ...api, coalmine: undefined });
});

test('each bad record is reported on its line with the reason; hostile values are refused, never passed on', async () => {
  const { events, issues } = await readAll(guardduty, bad);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 10],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'GUARDDUTY_BAD_JSON'],
      [3, 'GUARDDUTY_BAD_RECORD'],
      [4, 'GUARDDUTY_BAD_RECORD'],
      [5, 'GUARDDUTY_BAD_RECORD'],
      [6, 'GUARDDUTY_BAD_RECORD'],
      [7, 'GUARDDUTY_BAD_RECORD'],
      [8, 'GUARDDUTY_BAD_RECORD'],
      [9, 'GUARDDUTY_BAD_RECORD'],
    ],
  );
  const reasons = issues.map((i) => i.reason);
  assert.match(reasons[1], /no Type/);
  assert.match(reasons[2], /InstanceId "i-\\u001b\[2Jgotcha" is not an instance id/);
  assert.match(reasons[3], /time "last tuesday" is not a time/);
  // quoted as read: the run summary shows it inert
  assert.match(reasons[4], /Domain "a b\u202e\.example" is not a domain/);
  assert.match(reasons[5], /not a JSON object/);
  assert.match(reasons[6], /without a detail object/);
  assert.match(reasons[7], /not a GuardDuty finding/);
  assert.ok(!JSON.stringify(events).includes('gotcha'));
});

test('a finding with no instance but a host hint, and one naming neither, land on the hint or the account', async () => {
  const line = good.head.toString('utf8').split('\n')[1];
  // a Runtime finding on a Fargate task names no instance: its process is still evidence
  const fargate = line.replace(
    /"instanceDetails":\{.*?"tags":\[[^\]]*\]\}/,
    '"containerDetails":{"name":"worker","image":"docker.io/example/worker:1.4"}',
  );
  assert.notEqual(fargate, line);
  const hinted = await readAll(guardduty, memoryInput('f.json', `${fargate}\n`, { hostHint: 'ecs-task-7' }));
  assert.deepEqual(hinted.issues, []);
  assert.equal(hinted.events[0].host?.name, 'ecs-task-7');
  assert.deepEqual(hinted.events[0].container, {
    name: 'worker',
    image: { name: 'docker.io/example/worker', tag: '1.4' },
  });
  const bare = await readAll(guardduty, memoryInput('f.json', `${fargate}\n`));
  assert.equal(bare.events[0].host?.name, 'aws:123456789012');
  assert.equal(bare.events[0].cloud?.instance, undefined);
});

test('a pretty-printed EventBridge event and a bare array of findings are whole documents', async () => {
  const first = JSON.parse(good.head.toString('utf8').split('\n')[0]);
  const pretty = memoryInput('event.json', `${JSON.stringify(first, null, 2)}\n`);
  assert.equal(sniffSource(pretty)?.name, 'guardduty');
  const one = await readAll(guardduty, pretty);
  assert.deepEqual(one.issues, []);
  assert.deepEqual(summary(one.events), [['dns-query', 'Impact:EC2/BitcoinDomainRequest.Reputation', 'High', MINER]]);
  assert.deepEqual(one.events[0].coalmine.ref, { file: 'event.json', record: 'document' });

  const findings = JSON.parse(fileInput(`${DIR}/get-findings.json`).head.toString('utf8')).Findings;
  const array = memoryInput('findings.json', `${JSON.stringify(findings, null, 2)}\n`);
  assert.equal(sniffSource(array)?.name, 'guardduty');
  const many = await readAll(guardduty, array);
  assert.deepEqual(many.issues, []);
  assert.deepEqual(
    many.events.map((e) => e.coalmine.ref.record),
    ['[0]', '[1]', '[2]'],
  );
});

test('a get-findings document cut before its end is reported, never read half', async () => {
  const text = fileInput(`${DIR}/get-findings.json`).head.toString('utf8');
  const { events, issues } = await readAll(
    guardduty,
    memoryInput('cut.json', text.slice(0, Math.floor(text.length / 2))),
  );
  assert.equal(events.length, 0);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['GUARDDUTY_TRUNCATED'],
  );
});

/** Every fixture file of the other sources. */
function otherFixtures(): string[] {
  const out: string[] = [];
  for (const dir of readdirSync('test/fixtures')) {
    if (dir === 'guardduty') continue;
    const path = `test/fixtures/${dir}`;
    if (!statSync(path).isDirectory()) continue;
    for (const name of readdirSync(path)) if (statSync(`${path}/${name}`).isFile()) out.push(`${path}/${name}`);
  }
  return out;
}

test('sniffing: every shape is ours, and no other fixture is taken for GuardDuty', () => {
  for (const name of ['get-findings.json', 'eventbridge.json', 'export.jsonl', 'bad.json'])
    assert.equal(sniffSource(fileInput(`${DIR}/${name}`))?.name, 'guardduty', name);
  for (const path of otherFixtures()) assert.notEqual(sniffSource(fileInput(path))?.name, 'guardduty', path);
});
