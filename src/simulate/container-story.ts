/**
 * The container story `simulate container --emit-logs DIR` writes for `hunt`, as a cluster's own tools
 * would have logged it: the API server's audit log (log backend: a RequestReceived and a
 * ResponseComplete line per request), Tetragon's JSON export (process_exec / process_exit with pod,
 * container and image), a Prometheus `query_range` answer per query (cAdvisor CPU counters,
 * kube-state-metrics CPU limits, node cores) and `kubectl get pods,daemonsets,jobs,cronjobs -A -o json`.
 * Four workloads on two made-up nodes, 26 hours of audit history ending at `now` (a first-seen verdict
 * needs a day of history behind it):
 * (a) `system:anonymous` creates a DaemonSet whose containers run xmrig against a pool from the bundled
 *     intel with a fake wallet, each pod at its 2-core limit for the last 44 minutes;
 * (b) a user the audit log has never seen creates a Honeygain pod with its account flags (little CPU);
 * (c) the gitlab-runner service account creates a CI pod, as it did every hour before, at 100%
 *     of its 2-core limit;
 * (d) the CronJob controller creates the hourly ETL Job, as every hour before, its pod at its 1-core limit.
 * Every name, address and id is made up (documentation IP ranges, `.invalid` mail, ids hashed from
 * names), and output depends only on `now` and the wallet.
 */
import { createHash } from 'node:crypto';
import { FAKE_ACCOUNT } from './proxyware.js';

/** The pool the story's miner names: listed in the bundled intel (intel/pool-domains.txt). */
export const CONTAINER_POOL = 'pool.supportxmr.com:3333';
export const CONTAINER_DIR = 'k8s';
const NODES = [
  { name: 'worker-1', ip: '10.0.4.11', cores: 8 },
  { name: 'worker-2', ip: '10.0.4.12', cores: 8 },
] as const;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** How far back the audit log reaches: the routine creators' earlier requests are in it. */
const HISTORY_MS = 26 * HOUR;
/** The Prometheus query range: long enough to hold every container's CPU past a 30-minute window. */
const METRICS_MS = 50 * MINUTE;
const STEP_S = 60;
const K8S_VERSION = 'v1.29.4';

type Json = Record<string, unknown>;

export interface StoryWorkload {
  namespace: string;
  kind: string;
  name: string;
  pods: string[];
  image: string;
  creator: string;
  created: string;
  /** The CPU limit in cores, and the cores the containers are shown using. */
  cpuLimitCores: number;
  cpuCores: number;
}

export interface ContainerStory {
  files: Array<{ rel: string; text: string; mtime: number }>;
  miner: StoryWorkload & { pool: string; command_line: string };
  proxyware: StoryWorkload & { command_line: string };
  ci: StoryWorkload & { earlierRuns: number };
  batch: StoryWorkload & { earlierRuns: number };
  expect: string[];
}

/** The story's ids and jitter: a hash of names, so a rerun writes the same bytes (cloud-story.ts too). */
export function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/** A generated-name suffix as Kubernetes draws it (no vowels, no 0/1/3), from a hash. */
function suffix(seed: string, length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const h = hash('suffix', seed);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Number.parseInt(h.slice(i * 2, i * 2 + 2), 16) % alphabet.length];
  return out;
}

export function uuid(seed: string): string {
  const h = hash('uuid', seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with microseconds, as the API server writes audit timestamps. */
function micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Nanoseconds, as Tetragon writes its times. */
function nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

interface Identity {
  username: string;
  uid?: string;
  groups: string[];
  sourceIP: string;
  userAgent: string;
}

const CONTROLLER_AGENT = `kube-controller-manager/${K8S_VERSION} (linux/amd64) kubernetes/55019c8`;
function controller(name: string): Identity {
  const username = `system:serviceaccount:kube-system:${name}`;
  return {
    username,
    uid: uuid(username),
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
    sourceIP: '10.0.4.2',
    userAgent: `${CONTROLLER_AGENT}/${username}`,
  };
}
const ANONYMOUS: Identity = {
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
  sourceIP: '203.0.113.45',
  userAgent: 'python-requests/2.31.0',
};
const RUNNER: Identity = {
  username: 'system:serviceaccount:ci:gitlab-runner',
  uid: uuid('gitlab-runner'),
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
  sourceIP: '10.0.4.31',
  userAgent: 'gitlab-runner/16.11.0 (linux/amd64)',
};
const NEWCOMER: Identity = {
  username: 'oidc:contractor-7@example.invalid',
  groups: ['oidc:contractors', 'system:authenticated'],
  sourceIP: '198.51.100.77',
  userAgent: `kubectl/${K8S_VERSION} (linux/amd64) kubernetes/55019c8`,
};

const API_GROUPS: Record<string, { prefix: string; group?: string }> = {
  pods: { prefix: '/api/v1' },
  daemonsets: { prefix: '/apis/apps/v1', group: 'apps' },
  jobs: { prefix: '/apis/batch/v1', group: 'batch' },
};

/** The API server's log backend: one Event line per stage, RequestReceived then ResponseComplete. */
class AuditLog {
  private readonly requests: Array<{ at: number; lines: string[] }> = [];
  private n = 0;

  request(
    at: number,
    who: Identity,
    verb: 'create' | 'delete',
    resource: keyof typeof API_GROUPS,
    namespace: string,
    name: string,
    body?: Json,
    reason?: string,
  ): void {
    const api = API_GROUPS[resource];
    const auditID = uuid(`audit ${this.n++}`);
    const base = `${api.prefix}/namespaces/${namespace}/${resource}`;
    const common: Json = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Request',
      auditID,
      requestURI: verb === 'create' ? base : `${base}/${name}`,
      verb,
      user: { username: who.username, ...(who.uid ? { uid: who.uid } : {}), groups: who.groups },
      sourceIPs: [who.sourceIP],
      userAgent: who.userAgent,
      objectRef: {
        resource,
        namespace,
        ...(verb === 'delete' ? { name } : {}),
        ...(api.group ? { apiGroup: api.group } : {}),
        apiVersion: 'v1',
      },
    };
    const received = { ...common, stage: 'RequestReceived' };
    const answered: Json = {
      ...common,
      stage: 'ResponseComplete',
      responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
    };
    if (body) answered.requestObject = body;
    Object.assign(received, { requestReceivedTimestamp: micro(at), stageTimestamp: micro(at) });
    Object.assign(answered, {
      requestReceivedTimestamp: micro(at),
      stageTimestamp: micro(at + 9),
      annotations: {
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason': reason ?? '',
      },
    });
    this.requests.push({ at, lines: [JSON.stringify(received), JSON.stringify(answered)] });
  }

  text(): string {
    // the backend writes as requests arrive: stable by time, then by the order they were made
    const sorted = this.requests.map((r, i) => ({ ...r, i })).sort((a, b) => a.at - b.at || a.i - b.i);
    return `${sorted.flatMap((r) => r.lines).join('\n')}\n`;
  }
}

interface PodPlan {
  namespace: string;
  name: string;
  uid: string;
  node: (typeof NODES)[number];
  container: string;
  image: string;
  imageDigest: string;
  containerId: string;
  created: number;
  owner?: { kind: string; name: string; uid: string; apiVersion: string };
  labels: Record<string, string>;
  serviceAccount: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  cpuLimit: string;
  cpuLimitCores: number;
  /** Cores used from the container's start (a little after `created`) to the end of the story. */
  cpuCores: number;
  restartPolicy?: string;
}

function containerSpec(p: PodPlan): Json {
  return {
    name: p.container,
    image: p.image,
    ...(p.command ? { command: p.command } : {}),
    ...(p.args ? { args: p.args } : {}),
    ...(p.env ? { env: p.env } : {}),
    resources: { limits: { cpu: p.cpuLimit, memory: '1Gi' }, requests: { cpu: '250m', memory: '128Mi' } },
    imagePullPolicy: 'Always',
  };
}

function podSpec(p: PodPlan, withNode: boolean): Json {
  return {
    ...(withNode ? { nodeName: p.node.name } : {}),
    serviceAccountName: p.serviceAccount,
    restartPolicy: p.restartPolicy ?? 'Always',
    containers: [containerSpec(p)],
  };
}

function podMetadata(p: PodPlan, withIdentity: boolean): Json {
  return {
    name: p.name,
    ...(p.owner ? { generateName: `${p.owner.name}-` } : {}),
    namespace: p.namespace,
    ...(withIdentity ? { uid: p.uid, creationTimestamp: iso(p.created) } : {}),
    labels: p.labels,
    ...(p.owner
      ? {
          ownerReferences: [
            {
              apiVersion: p.owner.apiVersion,
              kind: p.owner.kind,
              name: p.owner.name,
              uid: p.owner.uid,
              controller: true,
            },
          ],
        }
      : {}),
  };
}

/** The Pod as the creating request's body says it (no node yet: the scheduler binds it after). */
function podRequest(p: PodPlan): Json {
  return { kind: 'Pod', apiVersion: 'v1', metadata: podMetadata(p, false), spec: podSpec(p, false) };
}

/** The Pod as `kubectl get -o json` prints it once it runs. */
function podObject(p: PodPlan, end: number): Json {
  const started = p.created + 4_000;
  const host = p.node.ip;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: podMetadata(p, true),
    spec: podSpec(p, true),
    status: {
      phase: 'Running',
      hostIP: host,
      podIP: `10.244.${p.node === NODES[0] ? 1 : 2}.${(Number.parseInt(p.uid.slice(0, 2), 16) % 200) + 20}`,
      startTime: iso(p.created + 1_000),
      containerStatuses: [
        {
          name: p.container,
          ready: true,
          restartCount: 0,
          started: started <= end,
          image: p.image.includes('/') && p.image.split('/')[0].includes('.') ? p.image : `docker.io/${p.image}`,
          imageID: `${p.image.replace(/:[^/]*$/, '')}@sha256:${p.imageDigest}`,
          containerID: `containerd://${p.containerId}`,
          state: { running: { startedAt: iso(started) } },
        },
      ],
    },
  };
}

/** One Tetragon export line. */
class TetragonExport {
  readonly lines: string[] = [];
  private pid = 1000;

  private processOf(
    p: PodPlan,
    pid: number,
    at: number,
    binary: string,
    args: string,
    cwd: string,
    parentExecId: string,
  ) {
    return {
      exec_id: Buffer.from(`${p.node.name}:${at * 1_000_000}:${pid}`).toString('base64'),
      pid,
      uid: 0,
      cwd,
      binary,
      arguments: args,
      flags: 'execve clone',
      start_time: nano(at),
      auid: 4294967295,
      pod: {
        namespace: p.namespace,
        name: p.name,
        container: {
          id: `containerd://${p.containerId}`,
          name: p.container,
          image: { id: `${p.image.replace(/:[^/]*$/, '')}@sha256:${p.imageDigest}`, name: p.image },
          start_time: iso(p.created + 4_000),
          pid: 1,
        },
        pod_labels: p.labels,
        ...(p.owner
          ? { workload: p.owner.name, workload_kind: p.owner.kind }
          : { workload: p.name, workload_kind: 'Pod' }),
      },
      docker: p.containerId.slice(0, 31),
      parent_exec_id: parentExecId,
      tid: pid,
    };
  }

  /** The container's entry process (parent: the containerd shim), then optional child commands with exits. */
  run(
    p: PodPlan,
    at: number,
    binary: string,
    args: string,
    cwd: string,
    children: Array<{ after: number; binary: string; args: string; exitAfter?: number }> = [],
  ): void {
    const shimPid = this.pid++;
    const shim = {
      exec_id: Buffer.from(`${p.node.name}:${(at - 900) * 1_000_000}:${shimPid}`).toString('base64'),
      pid: shimPid,
      uid: 0,
      cwd: '/run/containerd/io.containerd.runtime.v2.task/k8s.io',
      binary: '/usr/bin/containerd-shim-runc-v2',
      arguments: `-namespace k8s.io -id ${p.containerId} -address /run/containerd/containerd.sock`,
      flags: 'execve clone',
      start_time: nano(at - 900),
      auid: 4294967295,
      parent_exec_id: Buffer.from(`${p.node.name}:1000000:1`).toString('base64'),
      tid: shimPid,
    };
    const mainPid = this.pid++;
    const main = this.processOf(p, mainPid, at, binary, args, cwd, shim.exec_id);
    this.lines.push(
      JSON.stringify({ process_exec: { process: main, parent: shim }, node_name: p.node.name, time: nano(at + 40) }),
    );
    for (const c of children) {
      const pid = this.pid++;
      const start = at + c.after;
      const child = this.processOf(p, pid, start, c.binary, c.args, cwd, main.exec_id);
      this.lines.push(
        JSON.stringify({
          process_exec: { process: child, parent: main },
          node_name: p.node.name,
          time: nano(start + 40),
        }),
      );
      if (c.exitAfter !== undefined)
        this.lines.push(
          JSON.stringify({
            process_exit: { process: child, parent: main, signal: '', status: 0, time: nano(start + c.exitAfter) },
            node_name: p.node.name,
            time: nano(start + c.exitAfter + 30),
          }),
        );
    }
  }

  text(): string {
    // the export is in time order across nodes
    const at = (l: string) => (JSON.parse(l) as { time: string }).time;
    return `${[...this.lines].sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0)).join('\n')}\n`;
  }
}

/** One `query_range` answer (a matrix) per line, as saved from the HTTP API, one per query. */
function prometheusText(pods: PodPlan[], end: number): string {
  const endS = Math.floor(end / 1000 / STEP_S) * STEP_S;
  const startS = endS - METRICS_MS / 1000;
  const grid: number[] = [];
  for (let t = startS; t <= endS; t += STEP_S) grid.push(t);
  const cadvisor = (p: PodPlan, name: string) => ({
    __name__: name,
    container: p.container,
    endpoint: 'https-metrics',
    id: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${p.uid.replace(/-/g, '_')}.slice/cri-containerd-${p.containerId}.scope`,
    image: p.image,
    instance: `${p.node.ip}:10250`,
    job: 'kubelet',
    metrics_path: '/metrics/cadvisor',
    name: p.containerId,
    namespace: p.namespace,
    node: p.node.name,
    pod: p.name,
    service: 'kubelet',
  });
  const answer = (result: Json[]) => JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
  const cpu = pods.map((p) => {
    const startedS = (p.created + 4_000) / 1000;
    // a counter: CPU seconds since the container started (long-running ones carry what they used before)
    const before = Math.max(0, startS - startedS) * p.cpuCores;
    const values: Array<[number, string]> = [];
    for (const t of grid) {
      if (t < startedS) continue;
      const used = t < startS ? 0 : before + (t - Math.max(startS, startedS)) * p.cpuCores;
      values.push([t, String(Math.round(used * 1000) / 1000)]);
    }
    return { metric: cadvisor(p, 'container_cpu_usage_seconds_total'), values };
  });
  const limits = pods.map((p) => ({
    metric: {
      __name__: 'kube_pod_container_resource_limits',
      container: p.container,
      instance: '10.244.1.9:8080',
      job: 'kube-state-metrics',
      namespace: p.namespace,
      node: p.node.name,
      pod: p.name,
      resource: 'cpu',
      uid: p.uid,
      unit: 'core',
    },
    values: grid.filter((t) => t >= p.created / 1000).map((t) => [t, String(p.cpuLimitCores)]),
  }));
  const cores = NODES.map((n) => ({
    metric: {
      __name__: 'machine_cpu_cores',
      boot_id: uuid(`boot ${n.name}`),
      instance: `${n.ip}:10250`,
      job: 'kubelet',
      machine_id: hash('machine', n.name).slice(0, 32),
      metrics_path: '/metrics/cadvisor',
      node: n.name,
      system_uuid: uuid(`system ${n.name}`),
    },
    values: grid.map((t) => [t, String(n.cores)]),
  }));
  return `${[answer(cpu), answer(limits), answer(cores)].join('\n')}\n`;
}

/** Write nothing: build the story's files (paths relative to DIR) ending at `end` (whole seconds). */
export function containerStory(end: number, wallet: string): ContainerStory {
  const audit = new AuditLog();
  const tetragon = new TetragonExport();
  const pods: PodPlan[] = [];
  const inventory: Json[] = [];
  const digest = (image: string) => hash('digest', image);
  const podUid = (name: string) => uuid(`pod ${name}`);
  const containerId = (name: string) => hash('container', name);

  // kube-system's own DaemonSet, running for weeks: the cluster's normal
  const proxyCreated = end - 23 * 24 * HOUR;
  const proxyImage = 'registry.k8s.io/kube-proxy:v1.29.4';
  const proxyDs = { kind: 'DaemonSet', name: 'kube-proxy', uid: uuid('ds kube-proxy'), apiVersion: 'apps/v1' };
  for (const node of NODES) {
    const name = `kube-proxy-${suffix(`kube-proxy ${node.name}`)}`;
    pods.push({
      namespace: 'kube-system',
      name,
      uid: podUid(name),
      node,
      container: 'kube-proxy',
      image: proxyImage,
      imageDigest: digest(proxyImage),
      containerId: containerId(name),
      created: proxyCreated + 5_000,
      owner: proxyDs,
      labels: { 'k8s-app': 'kube-proxy' },
      serviceAccount: 'kube-proxy',
      command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf'],
      cpuLimit: '500m',
      cpuLimitCores: 0.5,
      cpuCores: 0.01,
    });
  }
  inventory.push(daemonSetObject('kube-system', proxyDs, proxyCreated, { 'k8s-app': 'kube-proxy' }, pods.slice(0, 2)));

  // (c) the CI runner: a pod every hour of the history, each deleted when its job is done
  const ciNamespace = 'ci';
  const ciImage = 'registry.gitlab.example.invalid/shop/builder:1.4';
  const ciPod = (at: number, n: number): PodPlan => {
    const name = `runner-x7fq2kdd-project-42-concurrent-0-${suffix(`ci ${n}`, 8)}`;
    return {
      namespace: ciNamespace,
      name,
      uid: podUid(name),
      node: NODES[n % 2],
      container: 'build',
      image: ciImage,
      imageDigest: digest(ciImage),
      containerId: containerId(name),
      created: at,
      labels: { pod: 'runner-x7fq2kdd-project-42-concurrent-0', 'project.runner.gitlab.com/id': '42' },
      serviceAccount: 'gitlab-runner',
      command: ['sh', '-c', 'make test'],
      env: [
        { name: 'CI_JOB_ID', value: String(88100 + n) },
        { name: 'CI_PROJECT_PATH', value: 'shop/api' },
      ],
      cpuLimit: '2',
      cpuLimitCores: 2,
      cpuCores: 2,
      restartPolicy: 'Never',
    };
  };
  const ciReason =
    'RBAC: allowed by RoleBinding "gitlab-runner" of Role "gitlab-runner" to ServiceAccount "gitlab-runner/ci"';
  let ciRuns = 0;
  for (let at = end - HISTORY_MS + 10 * MINUTE; at < end - 50 * MINUTE; at += HOUR) {
    const p = ciPod(at, ciRuns++);
    audit.request(at, RUNNER, 'create', 'pods', ciNamespace, p.name, podRequest(p), ciReason);
    audit.request(at + 17 * MINUTE, RUNNER, 'delete', 'pods', ciNamespace, p.name, undefined, ciReason);
  }
  const ci = ciPod(end - 38 * MINUTE, ciRuns);
  audit.request(ci.created, RUNNER, 'create', 'pods', ciNamespace, ci.name, podRequest(ci), ciReason);
  pods.push(ci);
  inventory.push(podObject(ci, end));
  tetragon.run(ci, ci.created + 4_000, '/bin/sh', '-c "make test"', '/builds/shop/api', [
    { after: 100, binary: '/usr/bin/git', args: 'fetch --depth 50 origin main', exitAfter: 2_500 },
    { after: 2_700, binary: '/usr/bin/make', args: 'test' },
    { after: 3_100, binary: '/usr/local/go/bin/go', args: 'test -race -count=1 ./...' },
  ]);

  // (d) the hourly ETL CronJob: the controller creates a Job each hour, the Job controller its pod
  const etlNamespace = 'data';
  const etlImage = 'registry.example.invalid/data/etl:2026.11';
  const cron = { kind: 'CronJob', name: 'etl-hourly', uid: uuid('cronjob etl-hourly'), apiVersion: 'batch/v1' };
  const cronCreated = end - 90 * 24 * HOUR;
  const etlPlan = (at: number): { job: Json; jobRef: PodPlan['owner'] & object; pod: PodPlan } => {
    const jobName = `etl-hourly-${Math.floor(at / MINUTE)}`;
    const jobRef = { kind: 'Job', name: jobName, uid: uuid(`job ${jobName}`), apiVersion: 'batch/v1' };
    const name = `${jobName}-${suffix(jobName)}`;
    const pod: PodPlan = {
      namespace: etlNamespace,
      name,
      uid: podUid(name),
      node: NODES[1],
      container: 'etl',
      image: etlImage,
      imageDigest: digest(etlImage),
      containerId: containerId(name),
      created: at + 1_000,
      owner: jobRef,
      labels: { 'batch.kubernetes.io/job-name': jobName, 'job-name': jobName },
      serviceAccount: 'etl',
      command: ['python3', '/app/etl.py', '--window', '1h'],
      cpuLimit: '1',
      cpuLimitCores: 1,
      cpuCores: 1,
      restartPolicy: 'Never',
    };
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName,
        namespace: etlNamespace,
        labels: { 'job-name': jobName },
        ownerReferences: [{ ...cron, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        backoffLimit: 2,
        template: { metadata: { labels: { 'job-name': jobName } }, spec: podSpec(pod, false) },
      },
    };
    return { job, jobRef, pod };
  };
  const cronReason =
    'RBAC: allowed by ClusterRoleBinding "system:controller:cronjob-controller" of ClusterRole "system:controller:cronjob-controller" to ServiceAccount "cronjob-controller/kube-system"';
  const jobReason =
    'RBAC: allowed by ClusterRoleBinding "system:controller:job-controller" of ClusterRole "system:controller:job-controller" to ServiceAccount "job-controller/kube-system"';
  let etlRuns = 0;
  let etl: ReturnType<typeof etlPlan> | undefined;
  // on the hour of the story's clock, 40 minutes before its end the last time
  for (let at = end - 40 * MINUTE - HISTORY_MS + HOUR; at <= end - 40 * MINUTE; at += HOUR) {
    etl = etlPlan(at);
    audit.request(
      at,
      controller('cronjob-controller'),
      'create',
      'jobs',
      etlNamespace,
      etl.jobRef.name,
      etl.job,
      cronReason,
    );
    audit.request(
      at + 1_000,
      controller('job-controller'),
      'create',
      'pods',
      etlNamespace,
      etl.pod.name,
      podRequest(etl.pod),
      jobReason,
    );
    if (at < end - 40 * MINUTE) {
      etlRuns++;
      audit.request(
        at + 45 * MINUTE,
        controller('ttl-after-finished-controller'),
        'delete',
        'jobs',
        etlNamespace,
        etl.jobRef.name,
      );
    }
  }
  if (etl === undefined) throw new Error('the ETL schedule is empty');
  const batch = etl.pod;
  pods.push(batch);
  inventory.push(
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: cron.name, namespace: etlNamespace, uid: cron.uid, creationTimestamp: iso(cronCreated) },
      spec: {
        schedule: '20 * * * *',
        jobTemplate: { spec: { template: { spec: podSpec(batch, false) } } },
      },
    },
    {
      ...etl.job,
      metadata: { ...(etl.job.metadata as Json), uid: etl.jobRef.uid, creationTimestamp: iso(batch.created - 1_000) },
      status: { active: 1, startTime: iso(batch.created - 1_000) },
    },
    podObject(batch, end),
  );
  tetragon.run(batch, batch.created + 4_000, '/usr/local/bin/python3', '/app/etl.py --window 1h', '/app');

  // (a) the anonymous DaemonSet: its pods run xmrig against a pool at their 2-core limit
  const minerNamespace = 'monitoring';
  const minerImage = 'docker.io/coalmine-sim/kube-metrics:latest';
  const minerArgs = ['-o', `stratum+tcp://${CONTAINER_POOL}`, '-u', wallet, '-p', 'k8s', '--donate-level', '1'];
  const ds = { kind: 'DaemonSet', name: 'kube-metrics', uid: uuid('ds kube-metrics'), apiVersion: 'apps/v1' };
  const dsCreated = end - 45 * MINUTE;
  const minerLabels = { app: 'kube-metrics' };
  const minerPods: PodPlan[] = NODES.map((node) => {
    const name = `kube-metrics-${suffix(`kube-metrics ${node.name}`)}`;
    return {
      namespace: minerNamespace,
      name,
      uid: podUid(name),
      node,
      container: 'metrics',
      image: minerImage,
      imageDigest: digest(minerImage),
      containerId: containerId(name),
      created: dsCreated + 1_500,
      owner: ds,
      labels: minerLabels,
      serviceAccount: 'default',
      command: ['/usr/local/bin/xmrig'],
      args: minerArgs,
      cpuLimit: '2',
      cpuLimitCores: 2,
      cpuCores: 2,
    };
  });
  const dsBody = {
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    metadata: { name: ds.name, namespace: minerNamespace, labels: minerLabels },
    spec: {
      selector: { matchLabels: minerLabels },
      template: { metadata: { labels: minerLabels }, spec: podSpec(minerPods[0], false) },
    },
  };
  audit.request(
    dsCreated,
    ANONYMOUS,
    'create',
    'daemonsets',
    minerNamespace,
    ds.name,
    dsBody,
    'RBAC: allowed by ClusterRoleBinding "metrics-reader-anon" of ClusterRole "cluster-admin" to User "system:anonymous"',
  );
  const dsReason =
    'RBAC: allowed by ClusterRoleBinding "system:controller:daemon-set-controller" of ClusterRole "system:controller:daemon-set-controller" to ServiceAccount "daemon-set-controller/kube-system"';
  for (const p of minerPods) {
    audit.request(
      p.created,
      controller('daemon-set-controller'),
      'create',
      'pods',
      minerNamespace,
      p.name,
      podRequest(p),
      dsReason,
    );
    pods.push(p);
    tetragon.run(p, p.created + 4_000, '/usr/local/bin/xmrig', minerArgs.join(' '), '/');
  }
  inventory.push(daemonSetObject(minerNamespace, ds, dsCreated, minerLabels, minerPods));

  // (b) a user never seen before creates a Honeygain pod with its account flags: bandwidth, not CPU
  const proxyNamespace = 'default';
  const proxyName = 'bw-share';
  const proxyImageRef = 'honeygain/honeygain:latest';
  const proxyArgs = [
    '-tou-accept',
    '-email',
    FAKE_ACCOUNT.email,
    '-pass',
    FAKE_ACCOUNT.password,
    '-device',
    'coalmine-sim',
  ];
  const proxyPod: PodPlan = {
    namespace: proxyNamespace,
    name: proxyName,
    uid: podUid(proxyName),
    node: NODES[0],
    container: 'honeygain',
    image: proxyImageRef,
    imageDigest: digest(proxyImageRef),
    containerId: containerId(proxyName),
    created: end - 30 * MINUTE,
    labels: { run: proxyName },
    serviceAccount: 'default',
    args: proxyArgs,
    cpuLimit: '500m',
    cpuLimitCores: 0.5,
    cpuCores: 0.02,
  };
  audit.request(
    proxyPod.created,
    NEWCOMER,
    'create',
    'pods',
    proxyNamespace,
    proxyName,
    podRequest(proxyPod),
    'RBAC: allowed by RoleBinding "contractors-edit" of ClusterRole "edit" to Group "oidc:contractors"',
  );
  pods.push(proxyPod);
  inventory.push(podObject(proxyPod, end));
  tetragon.run(proxyPod, proxyPod.created + 4_000, '/app/honeygain', proxyArgs.join(' '), '/app');

  const list = {
    apiVersion: 'v1',
    kind: 'List',
    metadata: { resourceVersion: '' },
    items: [...pods.filter((p) => p.owner?.kind === 'DaemonSet').map((p) => podObject(p, end)), ...inventory],
  };
  const files = [
    { rel: `${CONTAINER_DIR}/k8s-audit.log`, text: audit.text(), mtime: end },
    { rel: `${CONTAINER_DIR}/tetragon.json`, text: tetragon.text(), mtime: end },
    { rel: `${CONTAINER_DIR}/prometheus-query_range.json`, text: prometheusText(pods, end), mtime: end },
    { rel: `${CONTAINER_DIR}/kubectl-pods.json`, text: `${JSON.stringify(list, null, 4)}\n`, mtime: end },
  ];
  const workload = (
    p: PodPlan,
    kind: string,
    name: string,
    podNames: string[],
    creator: string,
    created: number,
  ): StoryWorkload => ({
    namespace: p.namespace,
    kind,
    name,
    pods: podNames,
    image: p.image,
    creator,
    created: iso(created),
    cpuLimitCores: p.cpuLimitCores,
    cpuCores: p.cpuCores,
  });
  const story: ContainerStory = {
    files,
    miner: {
      ...workload(
        minerPods[0],
        'DaemonSet',
        ds.name,
        minerPods.map((p) => p.name),
        ANONYMOUS.username,
        dsCreated,
      ),
      pool: CONTAINER_POOL,
      command_line: `/usr/local/bin/xmrig ${minerArgs.join(' ')}`,
    },
    proxyware: {
      ...workload(proxyPod, 'Pod', proxyName, [proxyName], NEWCOMER.username, proxyPod.created),
      command_line: `/app/honeygain ${proxyArgs.join(' ')}`,
    },
    ci: { ...workload(ci, 'Pod', ci.name, [ci.name], RUNNER.username, ci.created), earlierRuns: ciRuns },
    batch: {
      ...workload(batch, 'CronJob', cron.name, [batch.name], controller('cronjob-controller').username, batch.created),
      earlierRuns: etlRuns,
    },
    expect: [],
  };
  story.expect = containerExpect(story);
  return story;
}

function daemonSetObject(
  namespace: string,
  ds: { name: string; uid: string },
  created: number,
  labels: Record<string, string>,
  dsPods: PodPlan[],
): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: ds.name, namespace, uid: ds.uid, creationTimestamp: iso(created), labels },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec(dsPods[0], false) },
    },
    status: {
      currentNumberScheduled: dsPods.length,
      desiredNumberScheduled: dsPods.length,
      numberReady: dsPods.length,
      numberAvailable: dsPods.length,
    },
  };
}

/** What AN0745 should make of each part (issue 13's acceptance; see the README's Simulate section). */
function containerExpect(s: ContainerStory): string[] {
  const m = s.miner;
  return [
    `AN0745 high on ${m.namespace}/${m.kind}/${m.name} (${m.pods.length} pods on ${NODES.map((n) => n.name).join(', ')}): authorization (created by ${m.creator}, never authorized), tool (xmrig with -o stratum+tcp://${m.pool} and a wallet in the container, image ${m.image}), resource (each container at its ${m.cpuLimitCores}-core limit for the last 44 minutes)`,
    `AN0745 medium on ${s.proxyware.namespace}/Pod/${s.proxyware.name}: tool (Honeygain's -tou-accept beside its account flags, password hidden, image ${s.proxyware.image}) and authorization (${s.proxyware.creator} first seen in ${HISTORY_MS / HOUR} hours of audit log); no CPU leg, proxyware needs none`,
    `nothing above informational for the CI pod ${s.ci.namespace}/${s.ci.name} at 100% of its ${s.ci.cpuLimitCores}-core limit: its creator ${s.ci.creator} created ${s.ci.earlierRuns} pods like it in the ${HISTORY_MS / HOUR} hours before`,
    `nothing above informational for the ${s.batch.namespace}/${s.batch.kind}/${s.batch.name} Job pod ${s.batch.pods[0]} at its ${s.batch.cpuLimitCores}-core limit: the CronJob controller created ${s.batch.earlierRuns} Jobs of it in the hours before`,
  ];
}
