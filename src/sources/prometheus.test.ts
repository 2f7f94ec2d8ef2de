import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract, TEST_CONTEXT } from './contract.js';
import { sniffSource } from './index.js';
import { parseExpositionLine, prometheus } from './prometheus.js';
import type { SourceInput } from './types.js';

const dump = fileInput('test/fixtures/prometheus/dump.txt');
const badText = fileInput('test/fixtures/prometheus/bad.txt');
const range = fileInput('test/fixtures/prometheus/query_range.json');
const badJson = fileInput('test/fixtures/prometheus/bad.json');
const gpu = fileInput('test/fixtures/prometheus-gpu/gpu.txt');
const gpuBad = fileInput('test/fixtures/prometheus-gpu/gpu-bad.txt');
const nodeCpu = fileInput('test/fixtures/prometheus-node/node.txt');
const MINER_ID = '3f1c9a7b2e4d6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8';
const T0 = Date.UTC(2026, 11, 1, 10, 0);

// the text exposition (promtool tsdb dump): every contract case applies
runSourceContract({
  source: prometheus,
  good: dump,
  bad: badText,
  cut: cutLineCase(dump, 0, 'pod="', 'kube-metrics-agent-zz9q'),
});

// the query_range JSON: one document of any line length, bounded by the file size instead
runSourceContract({
  source: prometheus,
  good: range,
  bad: badJson,
  cut: cutLineCase(range, 1, '"pod": "', 'kube-metrics-agent-zz9q'),
  skip: {
    oversized:
      'a query_range answer is one JSON document whose lines may be any length (the file is bounded, 256 MiB); a file that does not open with JSON is read as text, whose line limit the text run pins',
  },
});

async function unusedOf(input: SourceInput): Promise<number> {
  let unused = 0;
  for await (const batch of prometheus.read(input, TEST_CONTEXT)) unused += batch.unused ?? 0;
  return unused;
}

for (const [label, input] of [
  ['text dump', dump],
  ['query_range JSON', range],
] as const) {
  test(`${label}: the miner container's CPU counter, rate against its limit, container and pod facts`, async () => {
    const { events } = await readAll(prometheus, input);
    const miner = events.filter((e) => e.container?.name === 'agent');
    const cpu = miner.filter((e) => e.event.dataset === 'prometheus.container_cpu_usage_seconds_total');
    assert.equal(cpu.length, 6);
    assert.equal(cpu[0]['@timestamp'], new Date(T0).toISOString());
    assert.deepEqual(cpu[0].metrics, { cpu_time_ms: 5012500, cpu_limit_cores: 2 });
    // 1.98 CPU-seconds per second: 198% of one core, against a 2-core limit (quota 200000 / period 100000)
    assert.deepEqual(cpu[1].metrics, { cpu_time_ms: 5131300, cpu_pct: 198, cpu_limit_cores: 2 });
    assert.deepEqual(cpu[0].container, {
      id: MINER_ID,
      runtime: 'containerd',
      name: 'agent',
      image: { name: 'docker.io/library/alpine-tools', tag: '3.19' },
    });
    assert.deepEqual(cpu[0].orchestrator, {
      namespace: 'default',
      resource: { type: 'pod', name: 'kube-metrics-agent-x7k2p' },
    });
    assert.deepEqual(cpu[0].host, { name: 'worker-2' });
    assert.equal(cpu[0].process, undefined, 'a container sample carries no process');
    const memory = miner.find((e) => e.event.dataset === 'prometheus.container_memory_working_set_bytes');
    assert.deepEqual(memory?.metrics, { rss_bytes: 2411724800, cpu_limit_cores: 2 });
  });

  test(`${label}: a kube-state-metrics limit joins its container by namespace/pod/container; node cores once`, async () => {
    const { events } = await readAll(prometheus, input);
    const ci = events.filter((e) => e.container?.name === 'build');
    assert.ok(ci.length > 0);
    assert.ok(ci.every((e) => e.metrics?.cpu_limit_cores === 1));
    assert.equal(ci[1].metrics?.cpu_pct, 100);
    assert.equal(ci[0].host?.name, 'worker-1', 'the node label names the host, not the scrape address');
    const cores = events.filter((e) => e.metrics?.cores !== undefined);
    assert.deepEqual(
      cores.map((e) => [e.host?.name, e.metrics?.cores, e.container]),
      [['worker-2', 8, undefined]],
    );
    // an image pinned by digest keeps it
    const dns = events.find((e) => e.container?.name === 'coredns');
    assert.deepEqual(dns?.container?.image?.hash?.all, [
      'sha256:1eeb4c7316bacb1d4c8ead65571cd92dd21e27359f0d4917f1a5822a73b75db1',
    ]);
    assert.equal(dns?.container?.image?.tag, 'v1.11.1');
  });

  test(`${label}: events are in time order across series; pod aggregates and the pause container are unused`, async () => {
    const { events } = await readAll(prometheus, input);
    for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].coalmine.ts <= events[i].coalmine.ts);
    assert.ok(!events.some((e) => e.container?.name === 'POD' || e.container?.name === ''));
    assert.equal(await unusedOf(input), 12, 'container="" and container="POD": 6 samples each');
  });
}

test('JSON refs name the series and point; text refs the line', async () => {
  const { events } = await readAll(prometheus, range);
  assert.deepEqual(events[0].coalmine.ref, { file: range.name, record: 'series 0 point 0' });
  const text = await readAll(prometheus, dump);
  assert.deepEqual(text.events[0].coalmine.ref, { file: dump.name, line: 1 });
});

test('bad text lines: each reported with its line and code, good samples around them read', async () => {
  const { events, issues } = await readAll(prometheus, badText);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [4, 'PROM_BAD_VALUE'],
      [5, 'PROM_BAD_VALUE'],
      [6, 'PROM_BAD_VALUE'],
      [7, 'PROM_BAD_VALUE'],
      [8, 'PROM_BAD_TIME'],
      [9, 'PROM_BAD_TIME'],
      [10, 'PROM_OUT_OF_ORDER'],
      [11, 'PROM_BAD_LINE'],
      [12, 'PROM_BAD_LINE'],
      [13, 'PROM_BAD_LINE'],
      [15, 'PROM_BAD_LINE'],
      [16, 'PROM_TRUNCATED'],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [3, 14],
  );
  assert.equal(events[1].metrics?.cpu_pct, Math.round(((5487.7 - 5012.5) / 360) * 100 * 100) / 100);
});

test('bad JSON: points by series and point, query errors, stray text and the good documents after them', async () => {
  const { events, issues } = await readAll(prometheus, badJson);
  assert.deepEqual(
    issues.map((i) => [i.line ?? i.record, i.code]),
    [
      ['series 0 point 1', 'PROM_BAD_VALUE'],
      ['series 0 point 2', 'PROM_BAD_VALUE'],
      ['series 0 point 3', 'PROM_BAD_TIME'],
      ['series 0 point 5', 'PROM_BAD_VALUE'],
      ['series 0 point 6', 'PROM_BAD_TIME'],
      ['series 1', 'PROM_BAD_SERIES'],
      ['series 2', 'PROM_BAD_SERIES'],
      [6, 'PROM_QUERY_ERROR'],
      [7, 'PROM_BAD_JSON'],
    ],
  );
  assert.match(issues[7].reason, /bad_data/);
  assert.deepEqual(
    events.map((e) => [e.coalmine.ref.record, e.metrics]),
    [
      ['series 0 point 0', { cpu_time_ms: 5012500 }],
      ['series 0 point 4', { cpu_time_ms: 5369000, cpu_pct: schemaPct(5369 - 5012.5, 240) }],
      ['series 0 point 7', { cpu_time_ms: 5487700, cpu_pct: schemaPct(5487.7 - 5369, 120) }],
      ['response 3 series 0 point 0', { rss_bytes: 2411724800 }],
    ],
  );
});

function schemaPct(seconds: number, overSeconds: number): number {
  return Math.round((seconds / overSeconds) * 100 * 100) / 100;
}

test('a counter that goes down (container restart) gives no rate across it and no issue', async () => {
  const text = [1000, 1060, 1120]
    .map(
      (s, i) =>
        `container_cpu_usage_seconds_total{container="c",pod="p",namespace="n"} ${[500, 2, 62][i]} ${(1796119200 + s) * 1000}`,
    )
    .join('\n');
  const { events, issues } = await readAll(prometheus, memoryInput('restart.txt', `${text}\n`));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => e.metrics?.cpu_pct),
    [undefined, undefined, 100],
  );
});

test('docker-only cAdvisor: the id label names the container, name its name, instance the host (port removed)', async () => {
  const id = 'ab'.repeat(32);
  const line = `container_cpu_usage_seconds_total{cpu="total",id="/docker/${id}",image="xmrig/xmrig:latest",instance="[2001:db8::7]:8080",name="festive_turing"} 12.5 1796119200000\ncontainer_cpu_usage_seconds_total{cpu="cpu00",id="/docker/${id}",name="festive_turing"} 6 1796119200000\ncontainer_cpu_usage_seconds_total{id="/system.slice/docker.service"} 40 1796119200000\n`;
  const { events, issues } = await readAll(prometheus, memoryInput('docker.prom', line));
  assert.deepEqual(issues, []);
  assert.equal(events.length, 1, 'the per-CPU split and a non-container cgroup are not the container');
  assert.deepEqual(events[0].container, {
    id,
    runtime: 'docker',
    name: 'festive_turing',
    image: { name: 'xmrig/xmrig', tag: 'latest' },
  });
  assert.equal(events[0].host?.name, '2001:db8::7');
  assert.equal(events[0].orchestrator, undefined);
});

test('plain exposition without timestamps takes the file time; without one it is reported', async () => {
  const text = '# TYPE machine_cpu_cores gauge\nmachine_cpu_cores{node="n1"} 16\n';
  const mtimeMs = Date.UTC(2026, 11, 1, 11, 0);
  const withTime = await readAll(prometheus, memoryInput('scrape.prom', text, { mtimeMs }));
  assert.deepEqual(withTime.issues, []);
  assert.equal(withTime.events[0].coalmine.ts, mtimeMs);
  const without = await readAll(prometheus, memoryInput('scrape.prom', text));
  assert.deepEqual(
    without.issues.map((i) => [i.line, i.code]),
    [[2, 'PROM_BAD_TIME']],
  );
});

test('label values: escapes decoded, hostile lengths clipped, more than 64 labels refused', () => {
  const p = parseExpositionLine('m{a="x\\"y\\\\z\\nw", b="ok",} 1 2');
  assert.ok(p.ok);
  assert.deepEqual(p.labels, { a: 'x"y\\z\nw', b: 'ok' });
  const long = parseExpositionLine(`m{a="${'v'.repeat(3000)}"} 1 2`);
  assert.ok(long.ok && long.labels.a.length < 1100);
  const many = Array.from({ length: 70 }, (_, i) => `l${i}="v"`).join(',');
  assert.equal(parseExpositionLine(`m{${many}} 1 2`).ok, false);
});

test('sniffed from its own fixtures (before the generic JSON), and not from other formats', () => {
  assert.equal(sniffSource(dump)?.name, 'prometheus');
  assert.equal(sniffSource(range)?.name, 'prometheus');
  for (const other of [
    'test/fixtures/suricata/eve.json',
    'test/fixtures/metrics-csv/good.csv',
    'test/fixtures/auditd/good.log',
  ])
    assert.equal(prometheus.sniff(fileInput(other).head.toString('utf8'), { name: other }), 0, other);
});

/** Deterministic mutations of a fixture: cut at a random byte, or a byte replaced, inserted or deleted. */
function mutations(text: string, count: number, seed: number): string[] {
  let s = seed;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
  const out: string[] = [];
  const alphabet = '{}[]",:\\ \n0-.eNaIf';
  for (let k = 0; k < count; k++) {
    const at = rnd(text.length);
    const c = alphabet[rnd(alphabet.length)];
    const kind = rnd(4);
    out.push(
      kind === 0
        ? text.slice(0, at)
        : kind === 1
          ? text.slice(0, at) + c + text.slice(at + 1)
          : kind === 2
            ? text.slice(0, at) + c + text.slice(at)
            : text.slice(0, at) + text.slice(at + 1),
    );
  }
  return out;
}

for (const fixture of [dump, range, gpu, nodeCpu]) {
  test(`fuzz ${fixture.name}: mutated and cut copies never throw, events stay well-formed, and what is lost is reported`, async () => {
    const text = fixture.head.toString('utf8');
    const whole = (await readAll(prometheus, fixture)).events.length;
    for (const variant of mutations(text, 150, 7)) {
      const input = memoryInput('fuzz', variant);
      const { events, issues } = await readAll(prometheus, input);
      for (const e of events) {
        assert.ok(Number.isFinite(e.coalmine.ts));
        assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
        for (const v of Object.values(e.metrics ?? {})) assert.ok(Number.isFinite(v) && v >= 0);
      }
      for (const i of issues) assert.ok(i.line !== undefined || i.record !== undefined, JSON.stringify(i));
      // a cut or a broken byte that cost samples says so (a mutation may also make a sample unused, e.g. a renamed metric)
      // a cut that falls between two lines leaves a whole, shorter file: nothing to report
      const cleanCut = text.startsWith(variant) && (variant === '' || variant.endsWith('\n'));
      if (!cleanCut && events.length < whole && (await unusedOf(input)) === (await unusedOf(fixture)))
        assert.ok(
          issues.length > 0,
          `lost ${whole - events.length} events without an issue:\n${variant.slice(0, 300)}`,
        );
    }
  });
}

// GPU utilisation: dcgm-exporter (percent) and nvidia_gpu_exporter (ratio), two GPUs a host
runSourceContract({
  source: prometheus,
  good: gpu,
  bad: gpuBad,
  cut: cutLineCase(gpu, 0, 'exported_pod="', 'kube-gpu-cut-77'),
});

/** Each event's time (HH:MM:SS), host, metrics and container name. */
function gpuFacts(events: Awaited<ReturnType<typeof readAll>>['events']) {
  return events.map((e) => [e['@timestamp'].slice(11, 19), e.host?.name, e.metrics, e.container?.name]);
}

test('GPU: one host sample per host and time, the mean over its GPUs with their count; a ratio read as percent', async () => {
  const { events, issues } = await readAll(prometheus, gpu);
  assert.deepEqual(issues, []);
  const hosts = events.filter((e) => e.container === undefined);
  assert.deepEqual(gpuFacts(hosts), [
    // dcgm-exporter's two GPUs at 100 and 98 %: one sample at 99 % of the node's 2 GPUs, named by Hostname
    ['10:00:00', 'gpu-node-3', { gpu_pct: 99, gpus: 2 }, undefined],
    ['10:00:00', 'gpu-node-4', { gpu_pct: 0, gpus: 1 }, undefined],
    // nvidia_gpu_exporter's 0.97 and 0.95 (its own scrape time): 96 %, the host from instance without its port
    ['10:00:15', 'ml-train-01', { gpu_pct: 96, gpus: 2 }, undefined],
    ['10:01:00', 'gpu-node-3', { gpu_pct: 100, gpus: 2 }, undefined],
    ['10:01:00', 'gpu-node-4', { gpu_pct: 3, gpus: 1 }, undefined],
    ['10:01:15', 'ml-train-01', { gpu_pct: 98.5, gpus: 2 }, undefined],
    ['10:02:00', 'gpu-node-3', { gpu_pct: 99.5, gpus: 2 }, undefined],
    ['10:02:00', 'gpu-node-4', { gpu_pct: 0, gpus: 1 }, undefined],
    ['10:02:15', 'ml-train-01', { gpu_pct: 100, gpus: 2 }, undefined],
  ]);
  assert.equal(hosts[0].event.dataset, 'prometheus.DCGM_FI_DEV_GPU_UTIL');
  assert.equal(hosts[0].event.action, 'metric');
  assert.deepEqual(hosts[0].coalmine.ref, { file: gpu.name, line: 1 });
  assert.deepEqual(hosts[0].original.gpus, [
    { gpu: 'uuid:5fd2a3c1-8e0b-4c7e-9d3a-0b6f1e2d4c5a', pct: 100 },
    { gpu: 'uuid:a7c4e9d2-1b3f-4a6e-8c0d-2e5f7a9b1c3d', pct: 98 },
  ]);
  for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].coalmine.ts <= events[i].coalmine.ts);
  // DCGM_FI_DEV_FB_USED is not utilisation: 3 samples unused
  assert.equal(await unusedOf(gpu), 3);
});

test('GPU: the pod a GPU is allocated to (exported_* after the scrape renamed them) gets the sum of its GPUs', async () => {
  const { events } = await readAll(prometheus, gpu);
  const pods = events.filter((e) => e.container !== undefined);
  assert.deepEqual(
    pods.map((e) => [e['@timestamp'].slice(11, 19), e.host?.name, e.metrics]),
    [
      ['10:00:00', 'gpu-node-3', { gpu_pct: 198 }],
      ['10:01:00', 'gpu-node-3', { gpu_pct: 200 }],
      ['10:02:00', 'gpu-node-3', { gpu_pct: 199 }],
    ],
  );
  // shaped as a cAdvisor container sample: the workload's pod and container, not the exporter's own pod
  assert.deepEqual(pods[0].container, { name: 'agent' });
  assert.deepEqual(pods[0].orchestrator, {
    namespace: 'default',
    resource: { type: 'pod', name: 'kube-metrics-agent-x7k2p' },
  });
  // gpu-node-4's GPU is allocated to no pod: its `pod` label is the exporter's own target label
  assert.ok(!events.some((e) => e.orchestrator?.resource?.name?.includes('dcgm-exporter')));
});

test('GPU: a value out of range or not a number is reported on its line; the GPUs read that time still make the sample', async () => {
  const { events, issues } = await readAll(prometheus, gpuBad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [5, 'PROM_BAD_VALUE'],
      [7, 'PROM_BAD_VALUE'],
      [8, 'PROM_BAD_VALUE'],
      [10, 'PROM_BAD_VALUE'],
      [12, 'PROM_BAD_VALUE'],
    ],
  );
  assert.match(issues[0].reason, /DCGM_FI_DEV_GPU_UTIL 250 is not a GPU utilisation percent \(0–100\)/);
  assert.match(issues[3].reason, /nvidia_smi_utilization_gpu_ratio 97 is not a GPU utilisation ratio \(0–1\)/);
  assert.deepEqual(gpuFacts(events), [
    ['10:00:00', 'gpu-node-3', { gpu_pct: 100, gpus: 2 }, undefined],
    ['10:00:15', 'ml-train-01', { gpu_pct: 50, gpus: 1 }, undefined],
    ['10:01:00', 'gpu-node-3', { gpu_pct: 99, gpus: 1 }, undefined],
  ]);
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [3, 11, 6],
  );
});

test('GPU: query_range JSON reads as the text does; one GPU named by two exporters counts once', async () => {
  const point = (uuid: string, extra: Record<string, string>, name: string, v: string) =>
    JSON.stringify({ metric: { __name__: name, ...extra, UUID: uuid, uuid }, values: [[1796119200, v]] });
  const body = [
    point(
      'GPU-5fd2a3c1-8e0b-4c7e-9d3a-0b6f1e2d4c5a',
      { Hostname: 'gpu-node-3', gpu: '0' },
      'DCGM_FI_DEV_GPU_UTIL',
      '100',
    ),
    point(
      'GPU-a7c4e9d2-1b3f-4a6e-8c0d-2e5f7a9b1c3d',
      { Hostname: 'gpu-node-3', gpu: '1' },
      'DCGM_FI_DEV_GPU_UTIL',
      '90',
    ),
    point('5fd2a3c1-8e0b-4c7e-9d3a-0b6f1e2d4c5a', { node: 'gpu-node-3' }, 'nvidia_smi_utilization_gpu_ratio', '0.2'),
  ].join(',');
  const text = `{"status":"success","data":{"resultType":"matrix","result":[${body}]}}\n`;
  const { events, issues } = await readAll(prometheus, memoryInput('gpu-range.json', text));
  assert.deepEqual(issues, []);
  assert.deepEqual(gpuFacts(events), [['10:00:00', 'gpu-node-3', { gpu_pct: 95, gpus: 2 }, undefined]]);
  assert.deepEqual(events[0].coalmine.ref, { file: 'gpu-range.json', record: 'series 0 point 0' });
});

test('GPU: a dcgm-exporter or nvidia_gpu_exporter scrape is sniffed as Prometheus', () => {
  assert.equal(sniffSource(gpu)?.name, 'prometheus');
  const scrape = '# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).\n# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n';
  assert.ok(prometheus.sniff(scrape, { name: 'metrics.prom' }) > 0);
  assert.ok(prometheus.sniff('nvidia_smi_utilization_gpu_ratio{uuid="x"} 0.5\n', { name: 'metrics.prom' }) > 0);
});

// Host CPU: node_exporter's node_cpu_seconds_total and windows_exporter's windows_cpu_time_total (fixture: nodeCpu)

/** Each event's time (HH:MM:SS), host, metrics and line. */
function hostCpuFacts(events: Awaited<ReturnType<typeof readAll>>['events']) {
  return events.map((e) => [e['@timestamp'].slice(11, 19), e.host?.name, e.metrics, e.coalmine.ref.line]);
}

test('host CPU (node_exporter): one sample per scrape, the share of both CPUs busy since the previous one', async () => {
  const { events, issues } = await readAll(prometheus, nodeCpu);
  assert.deepEqual(issues, []);
  const linux = events.filter((e) => e.event.dataset === 'prometheus.node_cpu_seconds_total');
  assert.deepEqual(hostCpuFacts(linux), [
    // the first scrape has nothing to rate against: the core count only (the host is instance without its port)
    ['10:00:00', '10.0.5.21', { cores: 2 }, 1],
    // idle: 117 of 120 CPU-seconds idle or iowait (steal's 0.75 in neither sum)
    ['10:01:00', '10.0.5.21', { cores: 2, cpu_pct: 2.5 }, 2],
    // busy: 2 of 120 idle; counting the 5 seconds of steal as idle would have read 94.4
    ['10:02:00', '10.0.5.21', { cores: 2, cpu_pct: 98.33 }, 3],
    // every counter went down (a reboot): no rate across it, the next scrape rates against this one
    ['10:03:00', '10.0.5.21', { cores: 2 }, 4],
    // CPU 1's points 250 ms after CPU 0's are the same scrape: 1 of 120 idle
    ['10:04:00', '10.0.5.21', { cores: 2, cpu_pct: 99.17 }, 5],
  ]);
  assert.equal(linux[3].original.no_rate, 'a counter went down (restart): starting again');
  assert.deepEqual([linux[2].original.idle_seconds, linux[2].original.all_seconds], [2, 120]);
  for (const e of linux) {
    assert.deepEqual(e.event.category, ['host']);
    assert.equal(e.container, undefined);
    assert.equal(e.host?.os, undefined, 'node_exporter also runs on BSD and macOS: no platform claimed');
  }
  for (let i = 1; i < events.length; i++) assert.ok(events[i - 1].coalmine.ts <= events[i].coalmine.ts);
  // steal (2 series × 5 scrapes), a series without a cpu label, windows dpc and interrupt (4 series × 3)
  assert.equal(await unusedOf(nodeCpu), 10 + 1 + 12);
  assert.equal(sniffSource(nodeCpu)?.name, 'prometheus');
  assert.ok(prometheus.sniff('windows_cpu_time_total{core="0,0",mode="idle"} 5\n', { name: 'metrics.prom' }) > 0);
});

test('host CPU (windows_exporter): idle against user + privileged (dpc and interrupt are parts of privileged)', async () => {
  const { events } = await readAll(prometheus, nodeCpu);
  const windows = events.filter((e) => e.event.dataset === 'prometheus.windows_cpu_time_total');
  assert.deepEqual(hostCpuFacts(windows), [
    ['10:00:15', 'win-build-01', { cores: 2 }, 85],
    // 6 of 120 idle; with dpc and interrupt summed too the total would be 122.25
    ['10:01:15', 'win-build-01', { cores: 2, cpu_pct: 95 }, 86],
    ['10:02:15', 'win-build-01', { cores: 2, cpu_pct: 96.67 }, 87],
  ]);
  assert.deepEqual(windows[0].host, { name: 'win-build-01', os: { platform: 'windows' } });
});

test('host CPU: no rate across a gap over 10 minutes; a CPU whose modes differ from the previous scrape is left out', async () => {
  const scrapes: Array<[number, Array<[string, string, number]>]> = [
    [
      0,
      [
        ['0', 'idle', 100],
        ['0', 'user', 10],
        ['1', 'idle', 100],
        ['1', 'user', 10],
      ],
    ],
    [
      60,
      [
        ['0', 'idle', 130],
        ['0', 'user', 40],
        ['1', 'idle', 160],
        ['1', 'user', 10],
      ],
    ],
    // CPU 1's idle point is missing: only CPU 0 (all busy) is rated
    [
      120,
      [
        ['0', 'idle', 130],
        ['0', 'user', 100],
        ['1', 'user', 70],
      ],
    ],
    // CPU 1 has its idle again, but the previous scrape had not: still CPU 0 alone (all idle)
    [
      180,
      [
        ['0', 'idle', 190],
        ['0', 'user', 100],
        ['1', 'idle', 200],
        ['1', 'user', 70],
      ],
    ],
    // 13m40s later: a gap, no rate
    [
      1000,
      [
        ['0', 'idle', 1010],
        ['0', 'user', 100],
        ['1', 'idle', 1020],
        ['1', 'user', 70],
      ],
    ],
    [
      1060,
      [
        ['0', 'idle', 1040],
        ['0', 'user', 130],
        ['1', 'idle', 1080],
        ['1', 'user', 70],
      ],
    ],
  ];
  const text = scrapes
    .flatMap(([s, points]) =>
      points.map(
        ([cpu, mode, v]) => `node_cpu_seconds_total{cpu="${cpu}",mode="${mode}",node="n1"} ${v} ${T0 + s * 1000}`,
      ),
    )
    .join('\n');
  const { events, issues } = await readAll(prometheus, memoryInput('gap.txt', `${text}\n`));
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e['@timestamp'].slice(11, 19), e.host?.name, e.metrics]),
    [
      ['10:00:00', 'n1', { cores: 2 }],
      ['10:01:00', 'n1', { cores: 2, cpu_pct: 25 }],
      ['10:02:00', 'n1', { cores: 2, cpu_pct: 100 }],
      ['10:03:00', 'n1', { cores: 2, cpu_pct: 0 }],
      ['10:16:40', 'n1', { cores: 2 }],
      ['10:17:40', 'n1', { cores: 2, cpu_pct: 25 }],
    ],
  );
  assert.equal(events[4].original.no_rate, '14 minutes since the previous scrape');
});

test("host CPU: query_range JSON, node_exporter's and wmi_exporter's old names; guest time and labelless series unused", async () => {
  const series = (metric: Record<string, string>, values: Array<[number, string]>) => ({ metric, values });
  const t = T0 / 1000;
  const result = [
    series({ __name__: 'node_cpu', cpu: 'cpu0', instance: 'old-box:9100', mode: 'idle' }, [
      [t, '500'],
      [t + 30, '515'],
    ]),
    series({ __name__: 'node_cpu', cpu: 'cpu0', instance: 'old-box:9100', mode: 'user' }, [
      [t, '100'],
      [t + 30, '115'],
    ]),
    // guest time is already in user: not summed twice
    series({ __name__: 'node_cpu', cpu: 'cpu0', instance: 'old-box:9100', mode: 'guest' }, [
      [t, '50'],
      [t + 30, '65'],
    ]),
    series({ __name__: 'wmi_cpu_time_total', core: '0', instance: 'old-win:9182', mode: 'idle' }, [
      [t, '900'],
      [t + 30, '930'],
    ]),
    series({ __name__: 'wmi_cpu_time_total', instance: 'old-win:9182', mode: 'user' }, [[t, '1']]),
  ];
  const text = `${JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } })}\n`;
  const input = memoryInput('old.json', text);
  const { events, issues } = await readAll(prometheus, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => [e.host?.name, e.metrics, e.coalmine.ref.record]),
    [
      ['old-box', { cores: 1 }, 'series 0 point 0'],
      ['old-win', { cores: 1 }, 'series 3 point 0'],
      ['old-box', { cores: 1, cpu_pct: 50 }, 'series 0 point 1'],
      ['old-win', { cores: 1, cpu_pct: 0 }, 'series 3 point 1'],
    ],
  );
  assert.equal(await unusedOf(input), 3);
});
