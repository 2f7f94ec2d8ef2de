/**
 * GPU hijacking through the real CLI: a GPU host's utilisation (metrics CSV with gpu_pct) is the
 * resource leg when it departs from the host's own normal, and never by itself: a training box that is
 * always busy stays a box that is always busy. The events are written here: a renamed GPU miner started
 * from /tmp, its pool connection, and the host's GPU samples.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { huntNdjson, runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'coalmine-gpu-'));
after(() => process.env.KEEP_TEST_DIR || rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 20, 3, 0, 0);
const HOST = { name: 'gpu-node-3', os: { platform: 'linux' } };
const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();

type Ev = Record<string, unknown>;

/** The miner, renamed: only its options say what it is. It starts 20 minutes in. */
const MINER = {
  pid: 4242,
  name: 'nvidia-smi-helper',
  executable: '/tmp/.nv/nvidia-smi-helper',
  command_line:
    '/tmp/.nv/nvidia-smi-helper --algo kawpow --pool stratum+tcp://rvn.example-pool.test:4444 --user RKsomewallet.rig1',
  parent: { pid: 1 },
};
const TRAINER = {
  pid: 3100,
  name: 'python3',
  executable: '/usr/bin/python3',
  command_line: 'python3 train.py --epochs 40 --batch-size 256',
  parent: { pid: 3000 },
};

function exec(minute: number, process: Record<string, unknown>): Ev {
  return {
    '@timestamp': at(minute),
    event: { kind: 'event', category: ['process'], type: ['start'], action: 'exec', dataset: 'test.exec' },
    host: HOST,
    process,
    original: {},
  };
}

function poolConnection(minute: number): Ev {
  return {
    '@timestamp': at(minute),
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection', 'start'],
      action: 'connect',
      dataset: 'test.net',
    },
    host: HOST,
    process: { pid: MINER.pid, name: MINER.name, executable: MINER.executable },
    destination: { ip: '198.51.100.44', port: 4444, domain: 'xmr.2miners.com' },
    network: { transport: 'tcp', direction: 'outbound' },
    original: {},
  };
}

/** Host GPU samples, a minute apart: `pct(minute)` percent of all 4 GPUs. */
function gpuCsv(minutes: number, pct: (minute: number) => number): string {
  const rows = ['timestamp,entity,cpu_pct,gpu_pct,gpus'];
  for (let m = 0; m <= minutes; m++) rows.push(`${at(m)},${HOST.name},12,${pct(m)},4`);
  return `${rows.join('\n')}\n`;
}

function write(name: string, events: Ev[], csv: string): string[] {
  const ndjson = join(dir, `${name}.ndjson`);
  const metrics = join(dir, `${name}.csv`);
  writeFileSync(ndjson, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  writeFileSync(metrics, csv);
  return [ndjson, metrics];
}

const minerEvents = (): Ev[] => [exec(20, MINER), poolConnection(20), poolConnection(40)];

test('a GPU that was idle, pegged from the moment a renamed miner starts: the resource leg, a high finding', () => {
  const r = huntNdjson(
    write(
      'idle-then-pegged',
      minerEvents(),
      gpuCsv(60, (m) => (m < 20 ? 2 : 99)),
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1, r.stdout);
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0742');
  assert.equal(f.severity, 'high');
  assert.match(f.summary, /3 of 3 legs: abnormal CPU\/GPU\/memory/);
  const gpu = f.evidence.filter((e) => e.kind === 'sustained-gpu');
  assert.equal(gpu.length, 1);
  assert.equal(gpu[0].strength, 'medium');
  assert.match(
    gpu[0].explanation,
    /host gpu-node-3 held ≥80% of its 4 GPUs for 15m \(mean 99%, peak 99%\); before it, 0% of 20 samples/,
  );
  // what it cost: 4 GPUs at 99% for the 41 sampled minutes at or above the bar, at the default 0.50 a GPU-hour
  assert.deepEqual(f.usage && { gpu: f.usage.gpu_hours, core: f.usage.core_hours }, { gpu: 2.71, core: 0 });
  assert.match(f.usage?.basis ?? '', /^host GPUs while above the threshold × 4 GPUs$/);
  const cost = f.triage?.cost;
  assert.deepEqual(cost && [cost.gpu_hours, cost.price_per_gpu_hour, cost.amount], [2.71, 0.5, 1.36]);
  assert.match(r.stderr, /hijacked compute: 2\.71 GPU-hours ≈ 1\.36 USD/);
  assert.ok(
    f.triage?.escalation.reasons.some((x) =>
      x.startsWith('unauthorized high CPU/GPU with no valid explanation: host gpu-node-3'),
    ),
  );
});

test('a GPU busy before the miner too (a shared training box): weak, so the finding names the leg it could not hold', () => {
  const events = [exec(0, TRAINER), ...minerEvents()];
  const r = huntNdjson(
    write(
      'always-busy',
      events,
      gpuCsv(60, () => 97),
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1, r.stdout);
  const f = r.findings[0];
  assert.equal(f.severity, 'medium');
  assert.match(f.summary, /missing: abnormal CPU\/GPU\/memory/);
  const gpu = f.evidence.find((e) => e.kind === 'sustained-gpu');
  assert.equal(gpu?.strength, 'weak');
});

test('a training job pegging every GPU, and nothing else: no finding', () => {
  const r = huntNdjson(
    write(
      'training',
      [exec(19, TRAINER)],
      gpuCsv(90, (m) => (m < 20 ? 1 : 100)),
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.findings, []);
});

test('coverage lists GPU utilisation for a host that has it, and for no other', () => {
  const [ndjson, csv] = write(
    'coverage',
    [exec(0, { ...TRAINER, pid: 10 })],
    gpuCsv(5, () => 50),
  );
  const other = join(dir, 'other.csv');
  writeFileSync(other, 'timestamp,entity,cpu_pct\n2026-11-20T03:00:00Z,web-01,10\n');
  const r = runCli(['coverage', ndjson, csv, other]);
  assert.match(r.stdout, /gpu-node-3 \(linux\)\n(?: {2}.*\n)*? {2}GPU utilisation {10}6 events \(metrics-csv\)/);
  const web = r.stdout.slice(r.stdout.indexOf('web-01 ('));
  assert.ok(!web.slice(0, web.indexOf('\n\n')).includes('GPU'), web);
});

/** dcgm-exporter samples of a pod's two GPUs as Prometheus stores them (the scrape's own pod renamed exported_*). */
function dcgmPodText(minutes: number, pct: (minute: number) => number): string {
  const rows: string[] = [];
  for (let m = 0; m <= minutes; m++)
    for (const [gpu, uuid] of [
      ['0', 'GPU-5fd2a3c1-8e0b-4c7e-9d3a-0b6f1e2d4c5a'],
      ['1', 'GPU-a7c4e9d2-1b3f-4a6e-8c0d-2e5f7a9b1c3d'],
    ])
      rows.push(
        `{__name__="DCGM_FI_DEV_GPU_UTIL", Hostname="gpu-node-3", UUID="${uuid}", container="nvidia-dcgm-exporter", exported_container="worker", exported_namespace="batch", exported_pod="render-worker-5c8d7b9f6-q2w4e", gpu="${gpu}", instance="10.244.3.17:9400", job="nvidia-dcgm-exporter", namespace="gpu-operator", pod="nvidia-dcgm-exporter-7xk2p"} ${pct(m)} ${T0 + m * 60_000}`,
      );
  return `${rows.join('\n')}\n`;
}

test("a pod's GPUs, idle until a miner starts in it: AN0745 with the container's sustained GPU and its GPU-hours", () => {
  const inPod = {
    host: HOST,
    container: { name: 'worker' },
    orchestrator: { namespace: 'batch', resource: { type: 'pod', name: 'render-worker-5c8d7b9f6-q2w4e' } },
  };
  const ndjson = join(dir, 'pod.ndjson');
  writeFileSync(ndjson, `${JSON.stringify({ ...exec(20, { ...MINER, pid: 77 }), ...inPod })}\n`);
  const prom = join(dir, 'pod-gpu.txt');
  writeFileSync(
    prom,
    dcgmPodText(60, (m) => (m < 20 ? 1 : 99)),
  );
  const r = huntNdjson([ndjson, prom]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.findings.length, 1, r.stdout);
  const f = r.findings[0];
  assert.equal(f.analytic, 'AN0745');
  assert.match(f.summary, /container CPU high against its limit, or its GPU held busy/);
  const gpu = f.evidence.filter((e) => e.kind === 'sustained-gpu');
  assert.deepEqual(
    gpu.map((e) => [e.strength, e.source, e.by]),
    [['medium', `${prom}:71`, 'engine:container-gpu']],
  );
  assert.match(
    gpu[0].explanation,
    /^container render-worker-5c8d7b9f6-q2w4e\/worker held ≥80% of a GPU \(summed over its GPUs\) for 15m \(mean 198%/,
  );
  // two GPUs at 99% for the 41 sampled minutes at or above the bar: 1.98 × 41/60
  assert.equal(f.usage?.gpu_hours, 1.35);
  assert.equal(f.usage?.core_hours, 0);
});
