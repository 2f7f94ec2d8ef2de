import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { dockerInspect } from './docker-inspect.js';
import { sniffSource } from './index.js';

const good = fileInput('test/fixtures/docker-inspect/good.json', { hostHint: 'build-07' });
const bad = fileInput('test/fixtures/docker-inspect/bad.json');
const goodText = good.head.toString('utf8');

/** The file as copied while docker wrote it: it ends inside the last container's FinishedAt. */
function cut() {
  const marker = '"FinishedAt": "';
  const broken = '2025-12-01T00:0';
  const text = `${goodText.slice(0, goodText.lastIndexOf(marker) + marker.length)}${broken}`;
  return { input: memoryInput('cut-good.json', text), at: text.split('\n').length, broken };
}

runSourceContract({
  source: dockerInspect,
  good,
  bad,
  cut: cut(),
  skip: { oversized: 'one JSON document, not lines: an oversized object is reported by json-document (its own test)' },
});

test('a privileged host-PID miner container: id, digest, pid to join, host access, env and command', async () => {
  const { events } = await readAll(dockerInspect, good);
  assert.equal(events.length, 3);
  const miner = events[0];
  assert.equal(miner.event.action, 'container-seen');
  assert.equal(miner.event.kind, 'state');
  assert.equal(miner['@timestamp'], '2025-12-01T02:09:50.441Z');
  assert.deepEqual(miner.host, { name: 'build-07' });
  assert.deepEqual(miner.process, { pid: 48213 });
  assert.deepEqual(miner.container, {
    id: '5f3c9a1e7b2d4c6f8a0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a',
    runtime: 'docker',
    name: 'kworker-update',
    image: { name: 'alpine', tag: '3.19', hash: { all: [`sha256:${'b2'.repeat(32)}`] } },
    security_context: { privileged: true },
  });
  const w = miner.coalmine.workload;
  assert.equal(w?.verb, 'exists');
  assert.equal(w?.kind, 'Container');
  assert.equal(w?.hostPID, true);
  assert.equal(w?.hostNetwork, true);
  assert.deepEqual(w?.hostPaths, ['/'], 'a named volume is no host path');
  assert.match(w?.containers?.[0].args?.[2] ?? '', /xmrig -o pool\.supportxmr\.com:3333/);
  assert.equal(w?.containers?.[0].command, undefined, 'no entrypoint');
  assert.ok(w?.containers?.[0].env?.some((e) => e.startsWith('WALLET=44AFF')));
  assert.equal(miner.metrics, undefined, 'no CPU limit set');
});

test('CPU limits from --cpus and from quota/period; a stopped container has no pid; pod labels give orchestrator', async () => {
  const { events } = await readAll(dockerInspect, good);
  const [, web, job] = events;
  assert.deepEqual(web.metrics, { cpu_limit_cores: 1.5 });
  assert.deepEqual(web.coalmine.workload?.containers?.[0].command, ['/docker-entrypoint.sh']);
  assert.deepEqual(web.coalmine.workload?.hostPaths, ['/srv/www']);
  assert.equal(web.process?.pid, 2211);
  assert.deepEqual(job.metrics, { cpu_limit_cores: 1.5 });
  assert.equal(job.process, undefined);
  assert.deepEqual(job.orchestrator, {
    namespace: 'batch',
    resource: { type: 'pod', name: 'nightly-report-29410560-qz8tw' },
  });
  assert.equal(job.coalmine.workload?.namespace, 'batch');
  assert.equal(job.coalmine.workload?.containers?.[0].name, 'report');
  // the image named by digest and the local image id are both hashes of it
  assert.deepEqual(job.container?.image, {
    name: 'registry.example.com:5000/finance/report',
    hash: { all: [`sha256:${'e3'.repeat(32)}`, `sha256:${'e4'.repeat(32)}`] },
  });
});

test('every bad container is reported with its line and a reason; the good ones around it are read', async () => {
  const { events, issues } = await readAll(dockerInspect, bad);
  assert.deepEqual(
    issues.map((i) => i.code),
    ['DOCKER_INSPECT_BAD_RECORD', 'DOCKER_INSPECT_BAD_RECORD', 'DOCKER_INSPECT_BAD_RECORD', 'DOCKER_INSPECT_BAD_JSON'],
  );
  const lines = bad.head.toString('utf8').split('\n');
  for (const i of issues) assert.match(lines[(i.line ?? 0) - 1] ?? '', /^ {4}(\{|42)/, `${i.code} points at its item`);
  assert.deepEqual(
    events.map((e) => e.container?.name),
    ['shop-web', 'last-good'],
  );
});

test('fuzz: random cuts and byte flips of the fixture never throw, and damage is reported by line', async () => {
  let seed = 11;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = good.head;
  for (let round = 0; round < 60; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(4); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x5d, 0x2c, 0x00][rand(6)];
    const { events, issues } = await readAll(dockerInspect, memoryInput(`fuzz-${round}.json`, copy));
    for (const i of issues) assert.ok(i.line !== undefined && i.line >= 1, `${i.code} without a line`);
    assert.ok(events.length + issues.length > 0, `round ${round}: neither read nor reported`);
  }
});

test('sniffed from docker inspect output; kubectl output and image inspect are not it', () => {
  assert.equal(sniffSource(good)?.name, 'docker-inspect');
  assert.equal(dockerInspect.sniff('{"apiVersion":"v1","items":[{"kind":"Pod","metadata":{}}]}', { name: 'x' }), 0);
  assert.equal(dockerInspect.sniff('[{"Id":"sha256:abc","RepoTags":["alpine:3.19"]}]', { name: 'x' }), 0);
});

test("a container's own addresses (default bridge and each network) are workload facts; bad ones are not", async () => {
  const [first] = JSON.parse(goodText) as Array<Record<string, unknown>>;
  const withNet = {
    ...first,
    NetworkSettings: {
      IPAddress: '172.17.0.5',
      Networks: { app: { IPAddress: '10.10.0.7' }, junk: { IPAddress: '999.1.1.1' }, other: 'x' },
    },
  };
  const { events } = await readAll(dockerInspect, memoryInput('net.json', JSON.stringify([withNet])));
  assert.deepEqual(events[0].coalmine.workload?.podIPs, ['172.17.0.5', '10.10.0.7']);
});
