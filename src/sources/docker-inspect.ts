/**
 * `docker inspect` output: a JSON array of container objects (a single object is read too). Each is one
 * `container-seen` state event at its `Created` time with WorkloadFacts (verb `exists`, kind
 * `Container`): its entrypoint and command, env, privileged, CPU limit (NanoCpus, else CpuQuota ÷
 * CpuPeriod), host PID/network namespaces and bind-mounted host paths, labels. A Kubernetes container's
 * `io.kubernetes.pod.*` labels give orchestrator.*; a running container's State.Pid is process.pid so
 * host process telemetry can join it. Docker names no node in it: the input's host hint stands in.
 */
import { isIP } from 'node:net';
import type { CoalEvent, WorkloadContainer, WorkloadFacts } from '../model/event.js';
import { type Issue, issue } from '../model/issue.js';
import { clip } from '../util/hostile.js';
import { parseTimestamp } from '../util/time.js';
import { imageOf } from './container-fields.js';
import { jsonDocumentRecords } from './json-document.js';
import { isObject, numberOf, textOf } from './net-fields.js';
import { labelsOf, stringsOf } from './pod-spec.js';
import type { SourceBatch, SourceDescriptor } from './types.js';

type Obj = Record<string, unknown>;
const NAME = 'docker-inspect';
const CODE = 'DOCKER_INSPECT';
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_CONTAINERS = 50_000;
const MAX_ENV = 64;
const MAX_BINDS = 64;
const MAX_NAME_CHARS = 253;
/** Docker's default CFS period when HostConfig.CpuPeriod is 0 (unset). */
const DEFAULT_CPU_PERIOD_US = 100_000;
const CONTAINER_ID = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const BATCH = 512;

/** CPU cores the container may use: `--cpus` (NanoCpus), else `--cpu-quota` over its period; none when unlimited. */
function cpuLimitOf(host: Obj): number | undefined {
  const nano = numberOf(host.NanoCpus);
  if (nano !== undefined && nano > 0) return nano / 1e9;
  const quota = numberOf(host.CpuQuota);
  if (quota === undefined || quota <= 0) return undefined;
  const period = numberOf(host.CpuPeriod);
  return quota / (period !== undefined && period > 0 ? period : DEFAULT_CPU_PERIOD_US);
}

/** A container's own addresses (`NetworkSettings.IPAddress`, each network's `IPAddress`), valid IPs only, at most 4. */
function addressesOf(settings: Record<string, unknown>): string[] {
  const out: string[] = [];
  const addOne = (v: unknown) => {
    const ip = textOf(v, 64);
    if (ip !== undefined && isIP(ip) !== 0 && !out.includes(ip) && out.length < 4) out.push(ip);
  };
  addOne(settings.IPAddress);
  const networks = isObject(settings.Networks) ? settings.Networks : {};
  for (const n of Object.values(networks).slice(0, 8)) if (isObject(n)) addOne(n.IPAddress);
  return out;
}

/** The host side of `/host/path:/container/path[:opts]` binds (named volumes have no `/`). */
function hostPathsOf(binds: unknown): string[] {
  const out: string[] = [];
  for (const b of stringsOf(binds, MAX_BINDS, 1024) ?? []) {
    const source = b.split(':', 1)[0];
    if (source.startsWith('/')) out.push(source);
  }
  return out;
}

function originalOf(o: Obj): Record<string, unknown> {
  const state = isObject(o.State) ? o.State : {};
  const out: Record<string, unknown> = {};
  for (const key of ['Id', 'Name', 'Created', 'Image', 'Path', 'RestartCount', 'Driver']) {
    const v = o[key];
    if (typeof v === 'string') out[key] = clip(v, 1024);
    else if (typeof v === 'number') out[key] = v;
  }
  out.State = {
    Status: textOf(state.Status, 32),
    Running: state.Running === true,
    Pid: numberOf(state.Pid),
    ExitCode: numberOf(state.ExitCode),
    StartedAt: textOf(state.StartedAt, 64),
    FinishedAt: textOf(state.FinishedAt, 64),
  };
  return out;
}

function mapContainer(o: unknown, line: number, file: string, hostHint: string | undefined): CoalEvent | string {
  if (!isObject(o)) return 'item is not a JSON object';
  const id = textOf(o.Id, 128);
  if (id === undefined || !CONTAINER_ID.test(id))
    return `Id ${JSON.stringify(clip(String(o.Id), 80))} is no container id`;
  const ts = parseTimestamp(o.Created);
  if (ts === undefined)
    return `container ${id.slice(0, 12)}: Created ${JSON.stringify(clip(String(o.Created), 64))} is no time`;
  const config = isObject(o.Config) ? o.Config : {};
  const host = isObject(o.HostConfig) ? o.HostConfig : {};
  const state = isObject(o.State) ? o.State : {};
  const name = textOf(o.Name, MAX_NAME_CHARS)?.replace(/^\//, '');

  const spec: WorkloadContainer = {};
  if (name) spec.name = name;
  const imageRef = textOf(config.Image, 512);
  if (imageRef !== undefined) spec.image = imageRef;
  const entrypoint = stringsOf(config.Entrypoint);
  if (entrypoint?.length) spec.command = entrypoint;
  const cmd = stringsOf(config.Cmd);
  if (cmd?.length) spec.args = cmd;
  const env = stringsOf(config.Env, MAX_ENV, 1024);
  if (env?.length) spec.env = env;
  if (host.Privileged === true) spec.privileged = true;
  const limit = cpuLimitOf(host);
  if (limit !== undefined) spec.cpuLimitCores = limit;

  const facts: WorkloadFacts = { verb: 'exists', kind: 'Container', containers: [spec], createdMs: ts };
  if (name) facts.name = name;
  if (host.PidMode === 'host') facts.hostPID = true;
  if (host.NetworkMode === 'host') facts.hostNetwork = true;
  const hostPaths = hostPathsOf(host.Binds);
  if (hostPaths.length > 0) facts.hostPaths = hostPaths;
  const labels = labelsOf(config.Labels);
  if (labels !== undefined) facts.labels = labels;
  const addresses = addressesOf(isObject(o.NetworkSettings) ? o.NetworkSettings : {});
  if (addresses.length > 0) facts.podIPs = addresses;

  const container: NonNullable<CoalEvent['container']> = { id, runtime: 'docker' };
  if (name) container.name = name;
  const image = imageOf(imageRef);
  const digest = textOf(o.Image, 128);
  if (image !== undefined || (digest !== undefined && DIGEST.test(digest))) {
    const all = [...(image?.hash?.all ?? [])];
    if (digest !== undefined && DIGEST.test(digest) && !all.includes(digest)) all.push(digest);
    container.image = { ...image, ...(all.length > 0 ? { hash: { all } } : {}) };
  }
  if (spec.privileged) container.security_context = { privileged: true };

  const event: CoalEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'state',
      category: ['host'],
      type: ['info'],
      action: 'container-seen',
      dataset: `${NAME}.container`,
    },
    container,
    original: originalOf(o),
    coalmine: { ts, format: NAME, ref: { file, line }, workload: facts },
  };
  if (hostHint !== undefined) event.host = { name: clip(hostHint, MAX_NAME_CHARS) };
  if (limit !== undefined) event.metrics = { cpu_limit_cores: limit };
  const pid = numberOf(state.Pid);
  if (state.Running === true && pid !== undefined && Number.isInteger(pid) && pid > 0 && pid < 2 ** 22)
    event.process = { pid };
  const pod = labels?.['io.kubernetes.pod.name'];
  const namespace = labels?.['io.kubernetes.pod.namespace'];
  if (pod !== undefined || namespace !== undefined) {
    event.orchestrator = {};
    if (namespace !== undefined) {
      event.orchestrator.namespace = namespace;
      facts.namespace = namespace;
    }
    if (pod !== undefined) event.orchestrator.resource = { type: 'pod', name: pod };
    const inPod = labels?.['io.kubernetes.container.name'];
    if (inPod !== undefined) spec.name = inPod;
  }
  return event;
}

export const dockerInspect: SourceDescriptor = {
  name: NAME,
  summary: 'docker inspect JSON: the containers of a Docker host, their images, commands and host access',
  platform: 'container',
  delivers: 'state',
  sniff(head) {
    const start = head.trimStart();
    if (!start.startsWith('[') && !start.startsWith('{')) return 0;
    const top = start.slice(0, 8192);
    if (!/"Id"\s*:\s*"[0-9a-f]{64}"/.test(top)) return 0;
    return /"State"\s*:\s*\{/.test(top) || /"HostConfig"\s*:\s*\{/.test(top) ? 85 : 0;
  },
  async *read(input) {
    const file = input.name;
    let batch: SourceBatch = { events: [], issues: [] };
    const report = (i: Issue) => batch.issues.push(i);
    for await (const item of jsonDocumentRecords(input, {
      maxRecordBytes: MAX_RECORD_BYTES,
      maxDocumentBytes: MAX_DOCUMENT_BYTES,
      maxRecords: MAX_CONTAINERS,
      code: CODE,
    })) {
      if ('issue' in item) report(item.issue);
      else {
        const mapped = mapContainer(item.value, item.line, file, input.hostHint);
        if (typeof mapped === 'string') report(issue({ file, line: item.line }, `${CODE}_BAD_RECORD`, mapped));
        else batch.events.push(mapped);
      }
      if (batch.events.length + batch.issues.length >= BATCH) {
        yield batch;
        batch = { events: [], issues: [] };
      }
    }
    if (batch.events.length > 0 || batch.issues.length > 0) yield batch;
  },
};
