/**
 * `npm run bench:containers`: the Tetragon, Falco, Kubernetes audit and Prometheus readers against the
 * cost of merely `JSON.parse`-ing the same input, and peak RSS, measured in one run:
 * `node --import tsx bench/containers.ts [--records 100000] [--seed 1] [--runs 2] [--results DIR]`.
 * A seeded generator per format writes ~`--records` records to results/.work/ (reused while its meta
 * sidecar matches): Tetragon process_exec/process_exit/kprobe lines, Falco json_output alerts, audit
 * Events (both stages of each request; creates with pod specs, patches, execs, reads), and Prometheus
 * `query_range` matrices (a record is one sample). Each measurement runs in its own child process
 * (`--child parse|read FORMAT FILE`), so peak RSS is that run's alone: the baseline reads the file in
 * 1 MiB chunks and JSON.parse-s each line (Prometheus: each document), the reader is the registered
 * source's `read()` on the file as `hunt` opens it (expandInputs), events built, no engine. Parse and
 * read alternate `--runs` times; the best of each counts. Timings are reported, never asserted.
 * Results: results/containers.json and containers.md.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from './fuzz-rng.js';
import { forEachLine } from './lines.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DEFAULT_RESULTS = join(HERE, 'results');
const MIB = 1024 * 1024;
const GENERATOR_VERSION = 1;
const FORMATS = ['tetragon', 'falco', 'k8s-audit', 'prometheus'] as const;
type Format = (typeof FORMATS)[number];
type Mode = 'parse' | 'read';
const FILE_NAMES: Record<Format, string> = {
  tetragon: 'tetragon.json',
  falco: 'falco.json',
  'k8s-audit': 'k8s-audit.log',
  prometheus: 'prometheus-query_range.json',
};

interface ChildResult {
  mode: Mode;
  format: Format;
  /** Lines parsed (baseline) or records the reader accounted for (events + unused + issues; Prometheus: samples). */
  records: number;
  events: number;
  issues: number;
  bytes: number;
  seconds: number;
  maxRssBytes: number;
}

interface Meta {
  format: Format;
  records: number;
  /** Prometheus: samples (the records); lines hold whole documents. */
  lines: number;
  bytes: number;
  seed: number;
  generatorVersion: number;
}

// ---------------------------------------------------------------- generators

const T0 = Date.parse('2026-12-01T00:00:00Z');
const NODES = Array.from({ length: 20 }, (_, i) => `worker-${i + 1}`);
const NAMESPACES = ['shop', 'ci', 'data', 'kube-system', 'monitoring', 'ml', 'default', 'payments'];
const BINARIES = [
  ['/usr/bin/python3', '/app/main.py --workers 4'],
  ['/bin/sh', '-c "make test"'],
  ['/usr/local/bin/node', '/srv/server.js --port 8080'],
  ['/usr/bin/curl', '-fsS http://api.shop.svc.cluster.local:8080/healthz'],
  ['/usr/local/go/bin/go', 'test -race ./...'],
  ['/usr/sbin/nginx', '-g "daemon off;"'],
  ['/usr/bin/java', '-Xmx2g -jar /opt/app/app.jar'],
  ['/tmp/.x/xmrig', '-o stratum+tcp://pool.example.invalid:3333 -u 4SIMULATED -p x'],
] as const;
const IMAGES = [
  'registry.example.invalid/shop/api:2.3.0',
  'registry.example.invalid/ci/builder:1.4',
  'docker.io/library/nginx:1.25.3',
  'registry.example.invalid/data/etl:2026.11',
  'docker.io/bench-sim/kube-metrics:latest',
];

function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[rng.int(16)];
  return s;
}

function iso(ms: number, nanos = ''): string {
  return new Date(ms).toISOString().replace(/Z$/, `${nanos}Z`);
}

interface Pod {
  namespace: string;
  name: string;
  node: string;
  image: string;
  containerId: string;
}

function pods(rng: Rng, n: number): Pod[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: rng.pick(NAMESPACES),
    name: `app-${i}-${hex(rng, 5)}`,
    node: rng.pick(NODES),
    image: rng.pick(IMAGES),
    containerId: hex(rng, 64),
  }));
}

function tetragonLine(rng: Rng, pod: Pod, i: number): string {
  const [binary, args] = rng.pick(BINARIES);
  const at = T0 + i * 10;
  const pid = 1000 + (i % 60000);
  const proc = (p: number, b: string, a: string) => ({
    exec_id: Buffer.from(`${pod.node}:${at}:${p}`).toString('base64'),
    pid: p,
    uid: rng.int(2) * 1000,
    cwd: '/app',
    binary: b,
    arguments: a,
    flags: 'execve clone',
    start_time: iso(at, '123456'),
    auid: 4294967295,
    pod: {
      namespace: pod.namespace,
      name: pod.name,
      container: {
        id: `containerd://${pod.containerId}`,
        name: 'main',
        image: { id: `${pod.image.split(':')[0]}@sha256:${pod.containerId}`, name: pod.image },
        start_time: iso(T0),
        pid: 1,
      },
      pod_labels: { app: pod.name.split('-')[0] },
      workload: pod.name.replace(/-[^-]+$/, ''),
      workload_kind: 'Deployment',
    },
    docker: pod.containerId.slice(0, 31),
    parent_exec_id: Buffer.from(`${pod.node}:${at - 5}:${p - 1}`).toString('base64'),
    tid: p,
  });
  const roll = rng.next();
  const process = proc(pid, binary, args);
  const parent = proc(pid - 1, '/bin/sh', '-c run');
  if (roll < 0.55)
    return JSON.stringify({ process_exec: { process, parent }, node_name: pod.node, time: iso(at, '000000') });
  if (roll < 0.9)
    return JSON.stringify({
      process_exit: { process, parent, signal: '', status: 0, time: iso(at, '000000') },
      node_name: pod.node,
      time: iso(at, '000000'),
    });
  return JSON.stringify({
    process_kprobe: {
      process,
      parent,
      function_name: 'tcp_connect',
      args: [
        {
          sock_arg: {
            family: 'AF_INET',
            type: 'SOCK_STREAM',
            protocol: 'IPPROTO_TCP',
            saddr: `10.244.${rng.int(20)}.${rng.int(250)}`,
            daddr: `10.96.${rng.int(20)}.${rng.int(250)}`,
            sport: 30000 + rng.int(30000),
            dport: rng.pick([80, 443, 3333, 5432, 6379]),
          },
        },
      ],
      action: 'KPROBE_ACTION_POST',
    },
    node_name: pod.node,
    time: iso(at, '000000'),
  });
}

const FALCO_RULES = [
  ['Terminal shell in container', 'Notice', 'execve'],
  ['Drop and execute new binary in container', 'Critical', 'execve'],
  ['Detect outbound connections to common miner pool ports', 'Critical', 'connect'],
  ['Read sensitive file untrusted', 'Warning', 'openat'],
  ['Contact K8S API Server From Container', 'Notice', 'connect'],
] as const;

function falcoLine(rng: Rng, pod: Pod, i: number): string {
  const [rule, priority, type] = rng.pick(FALCO_RULES);
  const [binary, args] = rng.pick(BINARIES);
  const at = T0 + i * 10;
  const name = binary.slice(binary.lastIndexOf('/') + 1);
  const fields: Record<string, unknown> = {
    'container.id': pod.containerId.slice(0, 12),
    'container.name': 'main',
    'container.image.repository': pod.image.split(':')[0],
    'container.image.tag': pod.image.split(':')[1] ?? 'latest',
    'k8s.ns.name': pod.namespace,
    'k8s.pod.name': pod.name,
    'evt.time': at * 1_000_000,
    'evt.type': type,
    'proc.pid': 1000 + (i % 60000),
    'proc.ppid': 999 + (i % 60000),
    'proc.name': name,
    'proc.exepath': binary,
    'proc.cmdline': `${name} ${args}`,
    'proc.pname': 'sh',
    'user.name': 'root',
    'user.uid': 0,
  };
  if (type === 'connect')
    fields['fd.name'] =
      `10.244.1.${rng.int(250)}:${40000 + rng.int(20000)}->198.51.100.${rng.int(250)}:${rng.pick([443, 3333, 6443])}`;
  if (type === 'openat') fields['fd.name'] = '/etc/shadow';
  return JSON.stringify({
    uuid: `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`,
    output: `${iso(at)}: ${priority} ${rule} (proc_exe=${binary} container_id=${pod.containerId.slice(0, 12)} image=${pod.image})`,
    priority,
    rule,
    time: iso(at, '000000'),
    output_fields: fields,
    source: 'syscall',
    tags: ['container', 'maturity_stable', 'mitre_execution'],
    hostname: pod.node,
  });
}

const AUDIT_AGENTS = [
  'kubectl/v1.29.4 (linux/amd64) kubernetes/55019c8',
  'gitlab-runner/16.11.0 (linux/amd64)',
  'kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55019c8',
];

/** One request: two lines (RequestReceived, ResponseComplete), or a read's one line. */
function auditLines(rng: Rng, pod: Pod, i: number): string[] {
  const at = T0 + i * 20;
  const roll = rng.next();
  const user = rng.chance(0.7)
    ? `system:serviceaccount:kube-system:${rng.pick(['replicaset-controller', 'job-controller', 'daemon-set-controller'])}`
    : rng.pick(['alice@example.invalid', 'system:serviceaccount:ci:gitlab-runner', 'system:anonymous']);
  const base = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Request',
    auditID: `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`,
    user: { username: user, groups: ['system:authenticated'] },
    sourceIPs: [`10.0.${rng.int(4)}.${rng.int(250)}`],
    userAgent: rng.pick(AUDIT_AGENTS),
    requestReceivedTimestamp: iso(at, '000'),
  };
  if (roll < 0.35) {
    const line = {
      ...base,
      stage: 'ResponseComplete',
      requestURI: `/api/v1/namespaces/${pod.namespace}/pods?limit=500`,
      verb: rng.pick(['list', 'get', 'watch']),
      objectRef: { resource: 'pods', namespace: pod.namespace, apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      stageTimestamp: iso(at + 4, '000'),
    };
    return [JSON.stringify(line)];
  }
  const create = roll < 0.8;
  const exec = !create && roll < 0.9;
  const objectRef = exec
    ? { resource: 'pods', subresource: 'exec', namespace: pod.namespace, name: pod.name, apiVersion: 'v1' }
    : { resource: 'pods', namespace: pod.namespace, ...(create ? {} : { name: pod.name }), apiVersion: 'v1' };
  const verb = exec ? 'create' : create ? 'create' : 'patch';
  const requestURI = exec
    ? `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/exec?command=sh&command=-c&command=id&container=main&stdin=true`
    : `/api/v1/namespaces/${pod.namespace}/pods${create ? '' : `/${pod.name}`}`;
  const common = { ...base, requestURI, verb, objectRef };
  const received = { ...common, stage: 'RequestReceived', stageTimestamp: iso(at, '000') };
  const body = create
    ? {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: pod.name, namespace: pod.namespace, labels: { app: pod.name.split('-')[0] } },
        spec: {
          serviceAccountName: 'default',
          containers: [
            {
              name: 'main',
              image: pod.image,
              command: ['/bin/sh', '-c', 'exec /app/run'],
              env: [{ name: 'MODE', value: 'prod' }],
              resources: { limits: { cpu: rng.pick(['500m', '1', '2']) }, requests: { cpu: '100m' } },
            },
          ],
        },
      }
    : exec
      ? undefined
      : { metadata: { labels: { release: `r${rng.int(100)}` } } };
  const answered = {
    ...common,
    stage: 'ResponseComplete',
    ...(body ? { requestObject: body } : {}),
    responseStatus: { metadata: {}, code: create ? 201 : rng.chance(0.05) ? 403 : 200 },
    stageTimestamp: iso(at + 9, '000'),
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  };
  return [JSON.stringify(received), JSON.stringify(answered)];
}

/** Prometheus: documents of 100 series × 100 one-minute points, one document per line. */
function prometheusDocument(rng: Rng, podsList: Pod[], doc: number): string {
  const series = [];
  for (let s = 0; s < 100; s++) {
    const pod = podsList[(doc * 100 + s) % podsList.length];
    const limit = rng.chance(0.2);
    const cores = rng.next() * 2;
    let counter = rng.next() * 10_000;
    const values: Array<[number, string]> = [];
    for (let p = 0; p < 100; p++) {
      const t = T0 / 1000 + p * 60;
      counter += cores * 60;
      values.push([t, limit ? String(rng.pick([0.5, 1, 2])) : counter.toFixed(3)]);
    }
    series.push({
      metric: {
        __name__: limit ? 'kube_pod_container_resource_limits' : 'container_cpu_usage_seconds_total',
        container: 'main',
        namespace: pod.namespace,
        pod: pod.name,
        node: pod.node,
        ...(limit
          ? { resource: 'cpu', unit: 'core', job: 'kube-state-metrics' }
          : {
              id: `/kubepods.slice/kubepods-burstable.slice/cri-containerd-${pod.containerId}.scope`,
              image: pod.image,
              job: 'kubelet',
            }),
      },
      values,
    });
  }
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: series } });
}

async function generate(format: Format, path: string, records: number, seed: number): Promise<Meta> {
  const rng = new Rng(seed ^ FORMATS.indexOf(format));
  const podList = pods(rng, 2000);
  const out = createWriteStream(path);
  let lines = 0;
  let made = 0;
  let bytes = 0;
  const write = async (line: string) => {
    bytes += Buffer.byteLength(line) + 1;
    lines++;
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  for (let i = 0; made < records; i++) {
    const pod = podList[rng.int(podList.length)];
    if (format === 'tetragon') {
      await write(tetragonLine(rng, pod, i));
      made++;
    } else if (format === 'falco') {
      await write(falcoLine(rng, pod, i));
      made++;
    } else if (format === 'k8s-audit') {
      for (const l of auditLines(rng, pod, i)) {
        await write(l);
        made++;
      }
    } else {
      await write(prometheusDocument(rng, podList, i));
      made += 100 * 100;
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { format, records: made, lines, bytes, seed, generatorVersion: GENERATOR_VERSION };
}

async function ensureInput(
  work: string,
  format: Format,
  records: number,
  seed: number,
): Promise<{ path: string; meta: Meta }> {
  const path = join(work, FILE_NAMES[format]);
  const metaPath = `${path}.meta.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
      if (
        meta.seed === seed &&
        meta.generatorVersion === GENERATOR_VERSION &&
        meta.bytes === statSync(path).size &&
        Math.abs(meta.records - records) < Math.max(100, records * 0.01)
      )
        return { path, meta };
    } catch {
      // regenerate below
    }
  }
  process.stderr.write(
    `bench: generating ${format} (~${records.toLocaleString('en')} records) → ${relative(process.cwd(), path)}\n`,
  );
  const meta = await generate(format, path, records, seed);
  writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  return { path, meta };
}

// ---------------------------------------------------------------- children

/** The baseline: 1 MiB chunks, newline split on the Buffers, JSON.parse per line. Prometheus counts samples. */
async function parseChild(format: Format, file: string): Promise<ChildResult> {
  const started = performance.now();
  let records = 0;
  const parse = (buf: Buffer, start: number, end: number) => {
    if (end <= start) return;
    const v = JSON.parse(buf.toString('utf8', start, end)) as { data?: { result?: Array<{ values?: unknown[] }> } };
    if (format !== 'prometheus') records++;
    else for (const s of v.data?.result ?? []) records += s.values?.length ?? 0;
  };
  const bytes = await forEachLine(file, parse);
  const seconds = (performance.now() - started) / 1000;
  return {
    mode: 'parse',
    format,
    records,
    events: 0,
    issues: 0,
    bytes,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** The registered reader on the file as hunt opens it; events built and counted, nothing else. */
async function readChild(format: Format, file: string): Promise<ChildResult> {
  const { expandInputs } = await import('../src/run/inputs.js');
  const { sources } = await import('../src/sources/index.js');
  const { DEFAULT_MAX_LINE_BYTES } = await import('../src/util/lines.js');
  const source = sources.find((s) => s.name === format);
  if (!source) throw new Error(`no source ${format}`);
  const started = performance.now();
  let issues = 0;
  const [input] = await expandInputs([file], 'bench', () => issues++);
  let events = 0;
  let unused = 0;
  for await (const batch of source.read(input.input, {
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    maxPendingRecords: 4096,
  })) {
    events += batch.events.length;
    issues += batch.issues.length;
    unused += batch.unused ?? 0;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    mode: 'read',
    format,
    records: events + unused + issues,
    events,
    issues,
    bytes: input.sizeBytes,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function runChild(mode: Mode, format: Format, file: string): Promise<ChildResult> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', mode, format, file];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{'))
        reject(new Error(`child ${mode} ${format} exited with ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(last) as ChildResult);
    });
  });
}

// ---------------------------------------------------------------- parent

interface Line {
  format: Format;
  records: number;
  bytes: number;
  lines: number;
  parse: { recordsPerSecond: number; seconds: number; peakRssMiB: number };
  read: { recordsPerSecond: number; seconds: number; peakRssMiB: number; events: number; issues: number };
  ratio: number;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const childMode = flag(args, '--child');
  if (childMode !== undefined) {
    const format = args[args.indexOf('--child') + 2] as Format;
    const file = args[args.indexOf('--child') + 3];
    if ((childMode !== 'parse' && childMode !== 'read') || !FORMATS.includes(format) || !file) {
      console.error('usage: bench/containers.ts --child parse|read FORMAT FILE');
      process.exit(2);
    }
    const r = childMode === 'parse' ? await parseChild(format, file) : await readChild(format, file);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const records = Number(flag(args, '--records') ?? 100_000);
  const seed = Number(flag(args, '--seed') ?? 1);
  const runs = Math.max(1, Number(flag(args, '--runs') ?? 2));
  const results = flag(args, '--results') ?? DEFAULT_RESULTS;
  const work = join(results, '.work');
  mkdirSync(work, { recursive: true });
  const lines: Line[] = [];
  for (const format of FORMATS) {
    const { path, meta } = await ensureInput(work, format, records, seed);
    const parse: ChildResult[] = [];
    const read: ChildResult[] = [];
    for (let r = 0; r < runs; r++) {
      parse.push(await runChild('parse', format, path));
      read.push(await runChild('read', format, path));
    }
    const best = (xs: ChildResult[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const p = best(parse);
    const q = best(read);
    const rss = (xs: ChildResult[]) => Math.round(Math.max(...xs.map((x) => x.maxRssBytes)) / MIB);
    // both rates over the generator's record count, so the ratio compares the same work
    const line: Line = {
      format,
      records: meta.records,
      bytes: meta.bytes,
      lines: meta.lines,
      parse: {
        recordsPerSecond: Math.round(meta.records / p.seconds),
        seconds: round(p.seconds),
        peakRssMiB: rss(parse),
      },
      read: {
        recordsPerSecond: Math.round(meta.records / q.seconds),
        seconds: round(q.seconds),
        peakRssMiB: rss(read),
        events: q.events,
        issues: q.issues,
      },
      ratio: round(p.seconds / q.seconds),
    };
    lines.push(line);
    process.stderr.write(
      `bench: ${format}: ${line.records.toLocaleString('en')} records, read ${line.read.recordsPerSecond.toLocaleString('en')}/s vs JSON.parse ${line.parse.recordsPerSecond.toLocaleString('en')}/s (ratio ${line.ratio}), peak RSS ${line.read.peakRssMiB} MiB vs ${line.parse.peakRssMiB} MiB; ${line.read.events.toLocaleString('en')} events, ${line.read.issues} issues\n`,
    );
  }
  const date = new Date().toISOString().slice(0, 10);
  const host = machine();

  writeFileSync(
    join(results, 'containers.json'),
    `${JSON.stringify({ date, seed, runs, generatorVersion: GENERATOR_VERSION, machine: host, lines }, null, 2)}\n`,
  );
  const md = [
    '# container readers: records/s against JSON.parse',
    '',
    `Seeded inputs (seed ${seed}, ~${records.toLocaleString('en')} records each), best of ${runs} runs of each side, every run in its own process. Produced by \`npm run bench:containers\` on ${date}. A Prometheus record is one sample (documents of 100 series × 100 points, one per line); an audit record is one line (a request logs two stages).`,
    '',
    '| reader | records | MiB | JSON.parse records/s | reader records/s | reader / parse | peak RSS parse MiB | peak RSS reader MiB | events | issues |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...lines.map(
      (l) =>
        `| ${l.format} | ${l.records.toLocaleString('en')} | ${(l.bytes / MIB).toFixed(1)} | ${l.parse.recordsPerSecond.toLocaleString('en')} | ${l.read.recordsPerSecond.toLocaleString('en')} | ${l.ratio} | ${l.parse.peakRssMiB} | ${l.read.peakRssMiB} | ${l.read.events.toLocaleString('en')} | ${l.read.issues} |`,
    ),
    '',
    describeMachine(host),
    '',
  ].join('\n');
  writeFileSync(join(results, 'containers.md'), md);
  process.stderr.write(
    `results: ${relative(process.cwd(), join(results, 'containers.json'))}, ${relative(process.cwd(), join(results, 'containers.md'))}\n`,
  );
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

await main();
