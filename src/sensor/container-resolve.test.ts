import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerResolver } from './container-resolve.js';
import { ProcSampler } from './proc-sampler.js';

const DOCKER = 'a'.repeat(64);
const CONTAINERD = 'c'.repeat(64);
const CRIO = 'e'.repeat(64);

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
}

function hostRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'coal-runtime-'));
  writeJson(join(root, 'var/lib/docker/containers', DOCKER, 'config.v2.json'), {
    Name: '/frosty_miner',
    Config: { Image: 'docker.io/library/alpine:3.20', Labels: {} },
  });
  writeJson(join(root, 'run/containerd/io.containerd.runtime.v2.task/k8s.io', CONTAINERD, 'config.json'), {
    annotations: {
      'io.kubernetes.cri.container-name': 'worker',
      'io.kubernetes.cri.image-name': 'ghcr.io/acme/batch:1.4',
      'io.kubernetes.cri.sandbox-name': 'batch-7d9f-x2',
      'io.kubernetes.cri.sandbox-namespace': 'jobs',
    },
  });
  writeJson(join(root, 'var/lib/containers/storage/overlay-containers', CRIO, 'userdata/config.json'), {
    annotations: {
      'io.kubernetes.container.name': 'relay',
      'io.kubernetes.cri-o.ImageName': 'quay.io/x/relay:2',
      'io.kubernetes.pod.name': 'relay-0',
      'io.kubernetes.pod.namespace': 'default',
    },
  });
  return root;
}

test('a container id is named from Docker, containerd and CRI-O state on disk; misses are counted once', () => {
  const root = hostRoot();
  try {
    const r = new ContainerResolver(root);
    assert.deepEqual(r.resolve(DOCKER), {
      id: DOCKER,
      runtime: 'docker',
      name: 'frosty_miner',
      image: 'docker.io/library/alpine:3.20',
      pod: undefined,
      namespace: undefined,
    });
    assert.deepEqual(r.resolve(CONTAINERD), {
      id: CONTAINERD,
      runtime: 'containerd',
      name: 'worker',
      image: 'ghcr.io/acme/batch:1.4',
      pod: 'batch-7d9f-x2',
      namespace: 'jobs',
    });
    assert.equal(r.resolve(CRIO)?.pod, 'relay-0');
    assert.equal(r.resolve('f'.repeat(64)), undefined);
    assert.equal(r.resolve('f'.repeat(64)), undefined);
    assert.equal(r.unresolved, 1, 'a miss is looked up once');
    assert.equal(r.resolve('../../etc'), undefined, 'only ids are looked up, never paths');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('hostile runtime state: broken JSON, wrong types and huge files name nothing and throw nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'coal-runtime-'));
  try {
    writeJson(join(root, 'var/lib/docker/containers', DOCKER, 'config.v2.json'), '{"Name": ');
    writeJson(join(root, 'var/lib/docker/containers', CRIO, 'config.v2.json'), { Name: 7, Config: [1, 2] });
    writeJson(
      join(root, 'var/lib/docker/containers', CONTAINERD, 'config.v2.json'),
      `"${'x'.repeat(2 * 1024 * 1024)}"`,
    );
    const r = new ContainerResolver(root);
    assert.equal(r.resolve(DOCKER), undefined);
    assert.deepEqual(r.resolve(CRIO), {
      id: CRIO,
      runtime: 'docker',
      name: undefined,
      image: undefined,
      pod: undefined,
      namespace: undefined,
    });
    assert.equal(r.resolve(CONTAINERD), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('watch events of a process in a container carry its name, image and pod', async () => {
  const host = hostRoot();
  const proc = mkdtempSync(join(tmpdir(), 'coal-proc-'));
  try {
    writeFileSync(join(proc, 'stat'), 'cpu  100 0 100 900 0 0 0 0 0 0\nbtime 1700000000\n');
    writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1024000 kB\n');
    mkdirSync(join(proc, 'net'));
    for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) writeFileSync(join(proc, 'net', f), '  sl  local_address\n');
    const dir = join(proc, '42');
    mkdirSync(join(dir, 'fd'), { recursive: true });
    writeFileSync(join(dir, 'stat'), '42 (worker) R 1 42 42 0 -1 0 0 0 0 0 500 10 0 0 20 0 1 0 300 1000000 250\n');
    writeFileSync(join(dir, 'status'), 'Name:\tworker\nUid:\t0\t0\t0\t0\n');
    writeFileSync(join(dir, 'cmdline'), '/app/worker\0');
    writeFileSync(join(dir, 'cgroup'), `0::/kubepods.slice/cri-containerd-${CONTAINERD}.scope\n`);
    const sampler = new ProcSampler({ root: proc, hostName: 'node-1', containers: new ContainerResolver(host) });
    const { events } = await sampler.sample(1_700_000_100_000);
    const seen = events.find((e) => e.process?.pid === 42);
    assert.ok(seen, JSON.stringify(events.map((e) => e.event.action)));
    assert.equal(seen.container?.id, CONTAINERD);
    assert.equal(seen.container?.name, 'worker');
    assert.equal(seen.container?.image?.name, 'ghcr.io/acme/batch:1.4');
    assert.deepEqual(seen.orchestrator, { namespace: 'jobs', resource: { type: 'pod', name: 'batch-7d9f-x2' } });
  } finally {
    rmSync(host, { recursive: true, force: true });
    rmSync(proc, { recursive: true, force: true });
  }
});
