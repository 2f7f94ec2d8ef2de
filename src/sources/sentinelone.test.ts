import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CoalEvent } from '../model/event.js';
import {
  countsOf,
  cutLineCase,
  fileInput,
  fixturesClaimedBy,
  memoryInput,
  readAll,
  runDocumentFuzz,
  runLineFuzz,
  runSourceContract,
  TEST_CONTEXT,
} from './contract.js';
import { sniffSource } from './index.js';
import { sentinelone } from './sentinelone.js';

const DIR = 'test/fixtures/sentinelone';
const PUBLIC = 'test/fixtures/public/sentinelone';
const good = fileInput(`${DIR}/an0741-miner/deep-visibility.json`);
const bad = fileInput(`${DIR}/bad.json`);
runSourceContract({
  source: sentinelone,
  good,
  bad,
  // the export copied while the miner's Process Creation was written: it ends inside its command line
  cut: cutLineCase(good, 6, '"tgt.process.cmdline":"', 'pool.cutoff-example.net:3'),
});

function line(o: Record<string, unknown>): string {
  return `${JSON.stringify(o)}\n`;
}

const HOST = { 'endpoint.name': 'WS-1', 'endpoint.os': 'windows', 'agent.uuid': 'a1b2c3d4' };
const ACTOR = {
  'src.process.pid': 700,
  'src.process.uid': 'AAAA000000000700',
  'src.process.name': 'app.exe',
  'src.process.image.path': 'C:\\Apps\\app.exe',
};

test('the miner story maps each record to what it means, in time order, one event a line', async () => {
  const { events } = await readAll(sentinelone, good);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action, e.event.dataset, e.process?.pid]),
    [
      [1, 'exec', 'sentinelone.processcreation', 5880],
      [2, 'connect', 'sentinelone.ipconnect', 5880],
      [3, 'file-write', 'sentinelone.filecreation', 5880],
      [4, 'exec', 'sentinelone.processcreation', 6010],
      [5, 'registry-set', 'sentinelone.registryvaluecreate', 3360],
      [6, 'exec', 'sentinelone.processcreation', 6044],
      [7, 'exec', 'sentinelone.processcreation', 6120],
      [8, 'dns-query', 'sentinelone.dnsresolved', 6120],
      [9, 'connect', 'sentinelone.ipconnect', 6120],
      [10, 'persistence-entry', 'sentinelone.taskregister', undefined],
    ],
  );
});

test('Process Creation: the target is the process, the actor its parent, unique ids as entity ids', async () => {
  const { events } = await readAll(sentinelone, good);
  const miner = events[6];
  assert.equal(miner['@timestamp'], '2026-11-30T09:00:12.000Z');
  assert.deepEqual(miner.host, {
    name: 'WS-FIN-07',
    id: 'c0a1e57f3b9d4e21a8f0d2b6e4c7a913',
    os: { platform: 'windows' },
  });
  assert.deepEqual(miner.event.category, ['process']);
  const p = miner.process;
  assert.equal(p?.entity_id, '7a1c3f0000e06120');
  assert.equal(p?.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');
  assert.equal(p?.name, 'winupdsvc.exe');
  assert.match(
    p?.command_line ?? '',
    /^"C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc\.exe" -o stratum\+tcp:\/\//,
  );
  assert.deepEqual(p?.hash, { sha256: '3f6a1f3c0b9f4d6c2f1b7e8a9d0c5b4a3e2f1d0c9b8a7f6e5d4c3b2a1f0e9d8c' });
  assert.deepEqual(p?.user, { name: 'WS-FIN-07\\jdoe' });
  assert.equal(p?.start, '2026-11-30T09:00:12.000Z');
  assert.deepEqual(p?.parent, {
    pid: 5880,
    entity_id: '7a1c3f0000b05880',
    name: 'powershell.exe',
    executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    command_line: `"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -NoP -W Hidden -NonI -Enc ${p?.parent?.command_line?.split('-Enc ')[1]}`,
  });
  // what was read is kept under the record's own names; the storyline with it
  assert.equal(miner.original['event.type'], 'Process Creation');
  assert.equal(miner.original['tgt.process.storyline.id'], '5D1E0A7700F0ACE5');
  assert.equal(miner.original['src.process.uid'], '7A1C3F0000B05880');
});

test('IP Connect, DNS, file, registry and task records carry what the classifiers read', async () => {
  const { events } = await readAll(sentinelone, good);
  const [, cradleConnect, drop, , exclusion, , , lookup, poolConnect, task] = events;
  assert.deepEqual(cradleConnect.destination, { ip: '203.0.113.50', port: 80 });
  assert.deepEqual(cradleConnect.source, { ip: '10.20.4.17', port: 50211 });
  assert.deepEqual(cradleConnect.network, { direction: 'outbound', transport: 'tcp', protocol: 'http' });
  assert.equal(cradleConnect.event.outcome, 'success');
  assert.equal(cradleConnect.process?.entity_id, '7a1c3f0000b05880');
  assert.equal(cradleConnect.process?.parent?.entity_id, 'e1a04f10c0de4000');
  assert.deepEqual(drop.file, {
    path: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
    name: 'winupdsvc.exe',
    hash: { sha256: '3f6a1f3c0b9f4d6c2f1b7e8a9d0c5b4a3e2f1d0c9b8a7f6e5d4c3b2a1f0e9d8c' },
  });
  // SentinelOne writes the hive as MACHINE\; Sysmon and the rules write HKLM\
  assert.deepEqual(exclusion.registry, {
    path: 'HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc',
    value: 'WinSvc',
    data: '0',
  });
  assert.deepEqual(lookup.dns, { question: { name: 'pool.supportxmr.com' }, resolved_ip: ['198.51.100.7'] });
  assert.equal(lookup.event.outcome, 'success');
  assert.deepEqual(poolConnect.destination, { ip: '198.51.100.7', port: 3333 });
  assert.deepEqual(task.file, {
    path: '\\Microsoft\\Windows\\WinSvc\\Updater',
    line: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
  });
  assert.deepEqual(task.coalmine.persistence, {
    mechanism: 'scheduled-task',
    target: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
  });
  // a persistence entry's process is what it launches (as a 4698's is), not the actor that registered it
  assert.deepEqual(task.process, {
    command_line: 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe',
    user: { name: 'WS-FIN-07\\jdoe' },
  });
  assert.equal(task.original['src.process.uid'], '7A1C3F0000B05880');
});

/** What an event says, without where it was read. */
function facts(e: CoalEvent): unknown {
  return {
    ts: e.coalmine.ts,
    action: e.event.action,
    host: e.host,
    process: e.process,
    source: e.source,
    destination: e.destination,
    dns: e.dns,
    file: e.file,
    registry: e.registry,
    persistence: e.coalmine.persistence,
  };
}

test('the same story as a nested JSON array and as a Deep Visibility API answer in the older columns gives the same events', async () => {
  const byTime = (a: CoalEvent, b: CoalEvent) =>
    a.coalmine.ts - b.coalmine.ts || a.event.action.localeCompare(b.event.action);
  const flat = (await readAll(sentinelone, good)).events.sort(byTime).map(facts);
  for (const shape of ['miner-nested-array.json', 'miner-dv-api.json']) {
    const input = fileInput(`${DIR}/shapes/${shape}`);
    assert.equal(sniffSource(input)?.name, 'sentinelone', shape);
    const { events, issues } = await readAll(sentinelone, input);
    assert.deepEqual(issues, [], shape);
    assert.deepEqual(events.sort(byTime).map(facts), flat, shape);
  }
});

test('an API answer sorted newest first is given in time order, each event citing the line its record starts on', async () => {
  const { events } = await readAll(sentinelone, fileInput(`${DIR}/shapes/miner-dv-api.json`));
  const times = events.map((e) => e.coalmine.ts);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  const text = readFileSync(`${DIR}/shapes/miner-dv-api.json`, 'utf8').split('\n');
  for (const e of events) assert.equal(text[(e.coalmine.ref.line ?? 0) - 1].trim(), '{');
  const lines = events.map((e) => e.coalmine.ref.line ?? 0);
  assert.equal(lines[0], Math.max(...lines), 'the oldest record is the last one of the answer');
});

test('Cloud Funnel spellings: types without spaces, epoch-ms times, failed lookups and connections', async () => {
  const t = 1796029200000;
  const text = [
    line({
      'event.type': 'IPConnect',
      'event.time': t,
      'meta.event.name': 'TCPV4',
      ...HOST,
      ...ACTOR,
      'dst.ip.address': '192.0.2.7',
      'dst.port.number': 443,
      'event.network.direction': 'INCOMING',
      'event.network.connectionStatus': 'FAILURE',
    }),
    line({
      'event.type': 'DNSUnresolved',
      'event.time': String(t + 1),
      ...HOST,
      ...ACTOR,
      'event.dns.request': 'nx.example',
    }),
    line({
      'event.type': 'ProcessCreation',
      'event.time': t + 2,
      ...HOST,
      ...ACTOR,
      'tgt.process.pid': 701,
      'tgt.process.uid': 'BBBB',
      'tgt.process.image.path': 'C:\\x.exe',
    }),
  ].join('');
  const { events, issues } = await readAll(sentinelone, memoryInput('cf.json', text));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.event.action, e.event.outcome, e['@timestamp']]),
    [
      ['connect', 'failure', '2026-11-30T09:00:00.000Z'],
      ['dns-query', 'failure', '2026-11-30T09:00:00.001Z'],
      ['exec', undefined, '2026-11-30T09:00:00.002Z'],
    ],
  );
  assert.deepEqual(events[0].network, { direction: 'inbound', transport: 'tcp' });
  assert.equal(events[2].process?.name, 'x.exe', 'the name falls back to the image path');
});

test('an SDL query API answer: matches with attributes, dated by their nanosecond timestamp', async () => {
  const answer = {
    status: 'success',
    matches: [
      {
        timestamp: '1796029200123000000',
        message: '',
        attributes: {
          'event.type': 'DNS Resolved',
          ...HOST,
          ...ACTOR,
          'event.dns.request': 'pool.example',
          'event.dns.response': '192.0.2.5;192.0.2.6;',
        },
      },
    ],
  };
  const input = memoryInput('sdl.json', JSON.stringify(answer));
  assert.equal(sniffSource(input)?.name, 'sentinelone');
  const { events, issues } = await readAll(sentinelone, input);
  assert.deepEqual(issues, []);
  assert.equal(events[0]['@timestamp'], '2026-11-30T09:00:00.123Z');
  assert.deepEqual(events[0].dns?.resolved_ip, ['192.0.2.5', '192.0.2.6']);
});

test('names are matched without case: PascalCase Deep Visibility columns read as camelCase ones', async () => {
  const record = {
    EventType: 'IP Connect',
    EventTime: '2026-11-30T09:00:00Z',
    AgentName: 'WS-2',
    AgentOs: 'windows',
    SrcProcPid: '7',
    SrcProcUid: 'ABC',
    SrcProcName: 'x.exe',
    DstIp: '192.0.2.1',
    DstPort: '80',
  };
  const { events, issues } = await readAll(sentinelone, memoryInput('p.json', line(record)));
  assert.deepEqual(issues, []);
  assert.equal(events[0].host?.name, 'WS-2');
  assert.equal(events[0].process?.entity_id, 'abc');
  assert.deepEqual(events[0].destination, { ip: '192.0.2.1', port: 80 });
});

test('a Deep Visibility 1.0 Process Creation (process* and parentProcess* columns only) is the new process under its parent', async () => {
  const record = {
    eventType: 'Process Creation',
    eventTime: '2026-11-30T09:00:00Z',
    agentName: 'WS-3',
    pid: '900',
    processUniqueKey: 'C0FFEE',
    processName: 'cmd.exe',
    processCmd: 'cmd.exe /c whoami',
    processImagePath: 'C:\\Windows\\System32\\cmd.exe',
    parentPid: '800',
    parentProcessUniqueKey: 'BEEF',
    parentProcessName: 'explorer.exe',
  };
  const { events } = await readAll(sentinelone, memoryInput('dv1.json', line(record)));
  assert.deepEqual(events[0].process, {
    pid: 900,
    entity_id: 'c0ffee',
    executable: 'C:\\Windows\\System32\\cmd.exe',
    name: 'cmd.exe',
    command_line: 'cmd.exe /c whoami',
    parent: { pid: 800, entity_id: 'beef', name: 'explorer.exe' },
  });
  assert.deepEqual(events[0].host?.os, { platform: 'windows' }, 'no endpoint.os: the image path says Windows');
});

test('Linux endpoints: endpoint.os, else a rooted path, is the platform; URL events are connects with the URL host', async () => {
  const linux = { 'endpoint.name': 'web-1', 'endpoint.os': 'linux' };
  const text = [
    line({
      'event.type': 'Process Creation',
      'event.time': 1796029200000,
      ...linux,
      'src.process.pid': 1,
      'tgt.process.pid': 2,
      'tgt.process.image.path': '/tmp/.x/kdevtmpfsi',
      'tgt.process.cmdline': '/tmp/.x/kdevtmpfsi',
    }),
    line({
      'event.type': 'Process Creation',
      'event.time': 1796029200001,
      'endpoint.name': 'web-2',
      'src.process.pid': 1,
      'tgt.process.pid': 3,
      'tgt.process.image.path': '/usr/bin/curl',
    }),
    line({
      'event.type': 'GET',
      'event.category': 'url',
      'event.time': 1796029200002,
      ...linux,
      'src.process.pid': 3,
      'url.address': 'http://user@dl.example.net:8080/x.sh?a=1',
    }),
  ].join('');
  const { events, issues } = await readAll(sentinelone, memoryInput('linux.json', text));
  assert.deepEqual(issues, []);
  assert.deepEqual(events[0].host?.os, { platform: 'linux' });
  assert.deepEqual(events[1].host?.os, { platform: 'linux' });
  assert.equal(events[2].event.action, 'connect');
  assert.deepEqual(events[2].url, { full: 'http://user@dl.example.net:8080/x.sh?a=1', domain: 'dl.example.net' });
  assert.deepEqual(events[2].http, { request: { method: 'GET' } });
});

test('a cross-process termination is a kill of the target; a Process Exit an exit of the actor', async () => {
  const t = 1796029200000;
  const text = [
    line({
      'event.type': 'Remote Process Termination',
      'event.time': t,
      ...HOST,
      ...ACTOR,
      'tgt.process.pid': 900,
      'tgt.process.name': 'xmrig.exe',
    }),
    line({ 'event.type': 'Process Exit', 'event.time': t + 1, ...HOST, ...ACTOR }),
  ].join('');
  const { events } = await readAll(sentinelone, memoryInput('k.json', text));
  assert.equal(events[0].event.action, 'kill');
  assert.equal(events[0].process?.pid, 700);
  assert.deepEqual(events[0].process?.target, { pid: 900, name: 'xmrig.exe' });
  assert.equal(events[1].event.action, 'exit');
  assert.equal(events[1].process?.entity_id, 'aaaa000000000700');
});

test('event types nothing reads are counted unused, not reported', async () => {
  const t = 1796029200000;
  const text = [
    'Module Load',
    'Task Start',
    'Login',
    'Behavioral Indicators',
    'Command Script',
    'A Type Added Next Year',
  ]
    .map((type, i) => line({ 'event.type': type, 'event.time': t + i, ...HOST, ...ACTOR }))
    .join('');
  assert.deepEqual(await countsOf(sentinelone, memoryInput('u.json', text)), { events: 0, issues: 0, unused: 6 });
});

test('bad records are reported by line with a reason, the good ones are read', async () => {
  const { events, issues } = await readAll(sentinelone, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code, i.reason]),
    [
      [2, 'SENTINELONE_BAD_JSON', 'Unexpected end of JSON input'],
      [3, 'SENTINELONE_BAD_RECORD', 'record is not a JSON object'],
      [4, 'SENTINELONE_BAD_RECORD', 'no event.type (or eventType)'],
      [5, 'SENTINELONE_BAD_RECORD', 'event.time "yesterday" is not a time'],
      [6, 'SENTINELONE_BAD_RECORD', 'Process Creation without tgt.process.pid or tgt.process.uid'],
      [7, 'SENTINELONE_BAD_RECORD', 'IP Connect without dst.ip.address'],
      [8, 'SENTINELONE_BAD_RECORD', 'DNS event without event.dns.request'],
      [9, 'SENTINELONE_BAD_RECORD', 'task event without task.name or task.path'],
      [10, 'SENTINELONE_BAD_RECORD', 'an API answer ({"data":[…]}) inside JSON lines: give it as a file of its own'],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 12],
  );
  assert.equal((await countsOf(sentinelone, bad)).unused, 1);
});

test('a document cut short or broken between records is reported on its line, the records before it read', async () => {
  const whole = readFileSync(`${DIR}/shapes/miner-nested-array.json`, 'utf8');
  const cut = whole.slice(0, whole.indexOf('"pool.supportxmr.com"'));
  const a = await readAll(sentinelone, memoryInput('cut.json', cut));
  assert.equal(a.events.length, 7);
  assert.deepEqual(
    a.issues.map((i) => i.code),
    ['SENTINELONE_TRUNCATED'],
  );
  assert.equal(a.issues[0].line, cut.split('\n').length);
  const broken = whole.replace('},\n  {', '},\n  ]{');
  // the stray `]` closes the array: the next record is read as a document of its own, and the comma after it ends the reading
  const b = await readAll(sentinelone, memoryInput('broken.json', broken));
  assert.equal(b.events.length, 2);
  assert.deepEqual(
    b.issues.map((i) => [i.code, i.line]),
    [['SENTINELONE_BAD_DOCUMENT', broken.slice(0, broken.indexOf('},\n  {', broken.indexOf(']{'))).split('\n').length]],
  );
});

test('hostile records: every field bounded, wrong types not taken, deep and wide records read without a throw', async () => {
  const wide: Record<string, unknown> = { 'event.type': 'Process Creation', 'event.time': 1796029200000 };
  for (let i = 0; i < 20_000; i++) wide[`k${i}`] = i;
  let deep: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < 200; i++) deep = { d: deep };
  const hostile = {
    'event.type': 'Process Creation',
    'event.time': 1796029200000,
    'endpoint.name': 'h'.repeat(10_000),
    'endpoint.os': ['windows'],
    'src.process.pid': -4,
    'tgt.process.pid': 12,
    'tgt.process.uid': 'U'.repeat(5000),
    'tgt.process.image.path': `C:\\${'a'.repeat(100_000)}`,
    'tgt.process.cmdline': 'x '.repeat(100_000),
    'tgt.process.name': { not: 'a name' },
    'tgt.process.image.sha256': 'not-a-hash',
    'tgt.process.user': 42,
    nested: deep,
  };
  // own `__proto__` and `constructor` keys, as JSON.parse makes them from a hostile record's text
  const poisoned = JSON.stringify(hostile).replace('{', '{"__proto__":{"polluted":true},"constructor":{"x":1},');
  const text = `${poisoned}\n${JSON.stringify(wide)}\n`;
  const { events, issues } = await readAll(sentinelone, memoryInput('h.json', text, { hostHint: 'hint' }), {
    ...TEST_CONTEXT,
    maxLineBytes: 1024 * 1024,
  });
  const e = events[0];
  assert.ok((e.host?.name?.length ?? 0) < 300);
  assert.deepEqual(e.host?.os, { platform: 'windows' }, 'an array is no OS name: the image path says Windows');
  assert.equal(e.process?.parent, undefined, 'a negative pid is no pid');
  assert.ok((e.process?.entity_id?.length ?? 0) < 200);
  assert.ok((e.process?.executable?.length ?? 0) < 4200);
  assert.ok((e.process?.command_line?.length ?? 0) < 8300);
  assert.equal(e.process?.hash, undefined);
  assert.equal(e.process?.user?.name, '42', 'a number is its decimal text');
  assert.ok(Object.keys(e.original).length <= 64);
  assert.ok(JSON.stringify(e.original).length < 64 * 2100);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(e.original), Object.prototype);
  assert.ok(!Object.hasOwn(e.original, '__proto__'));
  // the wide record is read up to the bound: its type and time come first
  assert.deepEqual(
    issues.map((i) => [i.line, i.reason]),
    [[2, 'Process Creation without tgt.process.pid or tgt.process.uid']],
  );
});

runLineFuzz(sentinelone, {
  from: [good],
  seed: 4242,
  keys: /"(event\.type|event\.time|tgt\.process\.pid|tgt\.process\.uid|src\.process\.pid|dst\.ip\.address|event\.dns\.request|task\.path|registry\.keyPath|endpoint\.name)":/g,
  junk: ['{"data":[]}'],
  keepFirstLine: true,
});

runDocumentFuzz(sentinelone, readFileSync(`${DIR}/shapes/miner-dv-api.json`, 'utf8'), 99);

test('our fixtures and the public samples sniff as sentinelone, in every shape', () => {
  for (const path of [
    `${DIR}/an0741-miner/deep-visibility.json`,
    `${DIR}/an0741-benign/deep-visibility.json`,
    `${DIR}/an0742-miner/deep-visibility.json`,
    `${DIR}/an0742-benign/deep-visibility.json`,
    `${DIR}/shapes/miner-nested-array.json`,
    `${DIR}/shapes/miner-dv-api.json`,
    `${DIR}/bad.json`,
    `${PUBLIC}/rapid7-dv-api-events.json`,
    `${PUBLIC}/rapid7-help-task-start.json`,
    `${PUBLIC}/stix-shifter-dv-ip-connect.json`,
  ])
    assert.equal(sniffSource(fileInput(path))?.name, 'sentinelone', path);
});

test('a first record that names no process (a Login) sniffs by the names only SentinelOne writes', () => {
  const login = {
    'event.type': 'Login',
    'event.time': 1796029200000,
    'meta.event.name': 'LOGIN',
    'endpoint.name': 'WS-1',
  };
  assert.equal(sniffSource(memoryInput('login.json', line(login)))?.name, 'sentinelone');
  const api = { data: [{ eventType: 'Login', eventTime: '2026-11-30T09:00:00Z', metaEventName: 'LOGIN' }] };
  assert.equal(sniffSource(memoryInput('login-api.json', JSON.stringify(api, null, 2)))?.name, 'sentinelone');
  // an event type alone is not enough: ECS and other tools write `event.type` too
  assert.equal(sentinelone.sniff(line({ 'event.type': 'Login', 'event.time': 1 }), { name: 'x.json' }), 0);
});

test('no other format is claimed: every other fixture sniffs 0 as sentinelone', () => {
  assert.deepEqual(fixturesClaimedBy(sentinelone), []);
});

test('the public samples read without an issue: API answers in the older columns and one inbound RDP connection', async () => {
  const api = await readAll(sentinelone, fileInput(`${PUBLIC}/rapid7-dv-api-events.json`));
  assert.deepEqual(api.issues, []);
  assert.deepEqual(
    api.events.map((e) => [e.event.action, e.event.type, e.host?.name, e.file?.path]),
    [
      ['persistence-entry', ['change'], 'ExampleName1', 'Example Name'],
      ['persistence-entry', ['change'], 'ExampleName1', 'Example Name'],
      ['persistence-entry', ['change'], 'ExampleName1', 'Example Name'],
    ],
  );
  assert.deepEqual(await countsOf(sentinelone, fileInput(`${PUBLIC}/rapid7-help-task-start.json`)), {
    events: 0,
    issues: 0,
    unused: 1,
  });
  const rdp = await readAll(sentinelone, fileInput(`${PUBLIC}/stix-shifter-dv-ip-connect.json`));
  assert.deepEqual(rdp.issues, []);
  const e = rdp.events[0];
  assert.equal(e.event.action, 'connect');
  assert.equal(e['@timestamp'], '2022-01-24T18:49:35.296Z');
  assert.deepEqual(e.host, {
    name: 'EC2AMAZ-IQFSLIL',
    id: 'f5875d2abd9f4198824885126b4f4d07',
    os: { platform: 'windows' },
  });
  assert.deepEqual(e.source, { ip: '87.251.64.138', port: 3428 });
  assert.deepEqual(e.destination, { ip: '172.31.31.67', port: 3389 });
  assert.deepEqual(e.network, { direction: 'inbound', transport: 'tcp', protocol: 'ms-wbt-server' });
  assert.equal(e.process?.pid, 1188);
  assert.equal(e.process?.entity_id, '0e1224c52e1f3667');
  assert.equal(e.process?.command_line, 'C:\\Windows\\System32\\svchost.exe -k termsvcs -s TermService');
  assert.deepEqual(e.process?.parent, {
    pid: 868,
    entity_id: '4b8dd1628a27ede6',
    name: 'services.exe',
    executable: 'C:\\Windows\\system32\\services.exe',
    command_line: 'C:\\Windows\\system32\\services.exe',
  });
});
