/**
 * The parts of a finding every analytic builds the same way: which process it is about, what else it
 * touches, the facts an analyst pivots on, the ATT&CK sub-technique, and the one-line leg summary.
 */

import { basename, type ProcInfo } from '../engine/process-table.js';
import { type EntityKey, entityKey, isAddressHost } from '../model/entity.js';
import { isoFromMs } from '../model/event.js';
import type { ProcessFacts, Severity, Usage } from '../model/finding.js';
import type { ShareSessionFacts } from '../model/shares.js';
import { type Signal, type SignalKind, STRENGTH_RANK } from '../model/signal.js';
import { round2 } from '../util/number.js';
import { confidenceOf, type Leg } from './grade.js';
import type { ClusterView, FindingDraft } from './types.js';

const MINING_KINDS = new Set<SignalKind>([
  'miner-process',
  'pool-contact',
  'mining-port',
  'competitor-kill',
  'miner-tuning',
  'hidden-cpu',
  'mining-shares',
]);
const PROXY_KINDS = new Set<SignalKind>(['proxyware-process', 'proxyware-endpoint', 'proxy-relay']);

/** T1496.001 for mining (and when nothing says proxy), T1496.002 for proxyjacking (medium or stronger), both when both. */
export function attackOf(evidence: Signal[]): { attack: string[]; what: 'Cryptomining' | 'Proxyjacking' } {
  const mining = evidence.some((s) => MINING_KINDS.has(s.kind));
  // a weak proxy hint (a miner checking its own address at a proxy-checker site) does not make proxyjacking
  const proxy = evidence.some((s) => PROXY_KINDS.has(s.kind) && s.strength !== 'weak');
  const attack = mining || !proxy ? ['T1496.001'] : ['T1496.002'];
  if (mining && proxy) attack.push('T1496.002');
  return { attack, what: proxy && !mining ? 'Proxyjacking' : 'Cryptomining' };
}

/** `2 of 3 legs: a, b; missing: c` with each leg's human label. */
export function legSummary(legs: Leg[], label: Record<string, string>): string {
  const held = legs.filter((l) => l.holds).map((l) => label[l.name]);
  const missing = legs.filter((l) => !l.holds).map((l) => label[l.name]);
  return `${held.length} of ${legs.length} legs: ${held.join(', ') || 'none'}${missing.length ? `; missing: ${missing.join(', ')}` : ''}`;
}

/** Lineage processes, then the host (or the address standing in for it) and the user the primary process ran as. */
export function relatedEntities(view: ClusterView, entity: EntityKey, primary: ProcInfo | undefined): EntityKey[] {
  const keys = view.processes.map((p) => p.key).filter((k) => k !== entity);
  const self = hostEntityOf(view.host.name);
  if (self !== entity) keys.push(self);
  if (primary?.user) keys.push(entityKey('user', view.host.name, primary.user));
  return keys;
}

export function describe(p: ProcInfo): string {
  const name = p.name ?? (p.executable ? basename(p.executable) : 'process');
  return `${name} (pid ${p.pid ?? '?'}${p.executable ? `, ${p.executable}` : ''})`;
}

/** The process the finding is about: the one carrying the most (and strongest) process/resource evidence. */
export function primaryProcess(view: Pick<ClusterView, 'evidence' | 'processes'>): ProcInfo | undefined {
  const score = new Map<EntityKey, number>();
  for (const s of view.evidence) {
    if (s.class !== 'process' && s.class !== 'resource' && s.class !== 'network') continue;
    const weight =
      s.kind === 'miner-process' || s.kind === 'proxyware-process'
        ? 3
        : s.kind === 'dropper' || s.kind === 'obfuscation'
          ? 0.5
          : 1;
    score.set(s.entity, (score.get(s.entity) ?? 0) + STRENGTH_RANK[s.strength] * weight);
  }
  let best: ProcInfo | undefined;
  let bestScore = -1;
  for (const p of view.processes) {
    const sc = score.get(p.key) ?? 0;
    if (sc > bestScore) {
      best = p;
      bestScore = sc;
    }
  }
  return bestScore > 0 ? best : undefined;
}

function uniq(values: Array<string | undefined>, max = 16): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))].slice(0, max);
}

export function factsOf(
  primary: ProcInfo | undefined,
  evidence: Signal[],
  host: string,
): Record<string, string | number | string[]> {
  const facts: Record<string, string | number | string[]> = { host };
  if (primary) {
    if (primary.pid !== undefined) facts.pid = primary.pid;
    if (primary.executable) facts.executable = primary.executable;
    if (primary.name) facts.process_name = primary.name;
    if (primary.commandLine) facts.command_line = primary.commandLine;
    if (primary.user) facts.user = primary.user;
    if (primary.sha256) facts.sha256 = primary.sha256;
  }
  const destinations = uniq(evidence.map((s) => s.subject?.destination));
  if (destinations.length) facts.destinations = destinations;
  const victims = uniq(evidence.map((s) => s.subject?.victim));
  if (victims.length) facts.killed = victims;
  const persistence = uniq(
    evidence.filter((s) => s.class === 'persistence').map((s) => `${s.ref.file}${s.ref.line ? `:${s.ref.line}` : ''}`),
  );
  if (persistence.length) facts.persistence = persistence;
  // which lists the verdict leans on, and how old they are: the analyst judges reputation from this
  const intel = uniq(
    evidence.map((s) =>
      s.intel ? `${s.intel.set}${s.intel.version ? ` ${s.intel.version}` : ''} (${s.intel.source})` : undefined,
    ),
  );
  if (intel.length) facts.intel = intel;
  return facts;
}

/** A host known only by its address is an `ip` entity: nothing claims it is a machine we know. */
export function hostEntityOf(name: string): EntityKey {
  return isAddressHost(name) ? entityKey('ip', name) : entityKey('host', name);
}

/** The gap every finding about a bare address names: what would tie it to a machine. */
export function addressGap(address: string): string {
  return `partial: no host is known for address ${address} (list it under coalmine.yaml hosts.NAME.ips, or add host telemetry that logs it): process, CPU and persistence evidence could not be joined to this traffic`;
}

/** Processes listed per finding: the primary first, then the rest of the tree in time order. */
const MAX_PROCESSES = 16;

/** Every process of the cluster as the containment plan needs it, primary first. */
export function processFactsOf(view: Pick<ClusterView, 'processes'>, primary: ProcInfo | undefined): ProcessFacts[] {
  const ordered = primary ? [primary, ...view.processes.filter((p) => p !== primary)] : view.processes;
  return ordered.slice(0, MAX_PROCESSES).map((p) => {
    const f: ProcessFacts = { entity: p.key };
    if (p.pid !== undefined) f.pid = p.pid;
    if (p.executable) f.executable = p.executable;
    if (p.name) f.name = p.name;
    if (p.user) f.user = p.user;
    if (p.commandLine) f.command_line = p.commandLine;
    if (p.parentKey) f.parent = p.parentKey;
    return f;
  });
}

/**
 * CPU the finding stands for: what its processes consumed (per-process telemetry), else, for a
 * host-level finding with resource evidence, host CPU above the bar × cores. Null when neither was
 * sampled: no cost is better than a guessed one.
 */
export function usageOf(view: ClusterView): Usage | null {
  const series: Usage['series'] = [];
  let coreMs = 0;
  let sampled = 0;
  for (const p of view.processes) {
    if (!p.cpu?.sampled) continue;
    sampled++;
    coreMs += p.cpu.coreMs;
    if (p.cpu.series && series.length < 8)
      series.push({
        entity: p.key,
        label: describe(p),
        points: p.cpu.series.points().map(([t, v]) => [isoFromMs(t), v]),
      });
  }
  const host = view.host;
  const hostResource = view.cluster.isHostLevel && view.evidence.some((s) => s.class === 'resource');
  if (host.cpuSeries && (hostResource || series.length === 0))
    series.push({
      entity: hostEntityOf(host.name),
      label: `host ${host.name} (percent of all cores)`,
      points: host.cpuSeries.points().map(([t, v]) => [isoFromMs(t), v]),
    });
  const gpu = gpuUsageOf(view);
  let cpu: Usage | null = null;
  if (sampled > 0)
    cpu = {
      core_hours: hoursOf(coreMs),
      basis: `per-process CPU of ${sampled} process${sampled === 1 ? '' : 'es'}`,
      series,
    };
  else if (hostResource && host.highCoreMs > 0)
    cpu = {
      core_hours: hoursOf(host.highCoreMs),
      basis: `host CPU while above the threshold × ${host.cores ?? 1} core${host.cores === 1 || !host.cores ? '' : 's'}${host.cores ? '' : ' (core count unknown, assumed 1)'}`,
      series,
    };
  if (!gpu) return cpu;
  if (!cpu) return { core_hours: 0, gpu_hours: gpu.hours, basis: gpu.basis, series };
  return { ...cpu, gpu_hours: gpu.hours, basis: `${cpu.basis}; ${gpu.basis}` };
}

/** Milliseconds of cores or GPUs as hours, to the cent of an hour. */
export function hoursOf(ms: number): number {
  return round2(ms / 3_600_000);
}

/**
 * GPU-hours the finding stands for, from GPU utilisation samples while above the bar: its processes'
 * own samples, else (when the host's sustained GPU is part of the story) the host's GPUs.
 */
function gpuUsageOf(view: ClusterView): { hours: number; basis: string } | undefined {
  let ms = 0;
  let sampled = 0;
  for (const p of view.processes)
    if (p.gpu && p.gpu.highGpuMs > 0) {
      sampled++;
      ms += p.gpu.highGpuMs;
    }
  if (sampled > 0)
    return {
      hours: hoursOf(ms),
      basis: `per-process GPU of ${sampled} process${sampled === 1 ? '' : 'es'} while above the threshold`,
    };
  const host = view.host;
  const hostGpu = view.evidence.some((s) => s.kind === 'sustained-gpu' && s.entity === hostEntityOf(host.name));
  if (!hostGpu || !host.gpu || host.gpu.highGpuMs <= 0) return undefined;
  const gpus = host.gpus;
  return {
    hours: hoursOf(host.gpu.highGpuMs),
    basis: `host GPUs while above the threshold × ${gpus ?? 1} GPU${gpus === 1 || !gpus ? '' : 's'}${gpus ? '' : ' (GPU count unknown, assumed 1)'}`,
  };
}

/**
 * Who a finding is about: its primary process, else the host, else (a host known only by its address)
 * the address as an `ip` entity, with the gap that names what would tie it to a machine.
 */
export function findingSubject(view: ClusterView): {
  primary: ProcInfo | undefined;
  entity: EntityKey;
  /** `on web-01: xmrig (pid 7, /tmp/xmrig)` or `from address 10.0.0.5 (no host known)`. */
  where: string;
  gaps: string[];
} {
  const primary = primaryProcess(view);
  const name = view.host.name;
  if (isAddressHost(name))
    return {
      primary,
      entity: primary?.key ?? hostEntityOf(name),
      where: `from address ${name} (no host known)${primary ? `: ${describe(primary)}` : ''}`,
      gaps: [addressGap(name)],
    };
  return {
    primary,
    entity: primary?.key ?? view.cluster.key,
    where: `on ${name}: ${primary ? describe(primary) : `host ${name}`}`,
    gaps: [],
  };
}

/** The cloud instance a host runs on and its launch (AN0744's side of the same machine), as facts. */
function cloudFactsOf(view: ClusterView): Record<string, string> {
  const c = view.cloud;
  if (!c) return {};
  const facts: Record<string, string> = {
    cloud_instance: `${c.provider}${c.account ? ` ${c.account}` : ''}${c.region ? ` ${c.region}` : ''} ${c.instance}`,
  };
  if (c.launchedAt) facts.instance_launched = c.launchedAt;
  if (c.launchedBy) facts.instance_launched_by = `${c.launchedBy}${c.accessKeyId ? ` (key ${c.accessKeyId})` : ''}`;
  if (c.authorization) facts.instance_authorization = c.authorization;
  return facts;
}

/** The finding every analytic returns once it has graded its legs and named its gaps. */
export function draftFinding(
  analytic: string,
  view: ClusterView,
  legs: Leg[],
  severity: Severity,
  gaps: string[],
  labels: Record<string, string>,
): FindingDraft {
  const { evidence, host } = view;
  const subject = findingSubject(view);
  const { primary, entity } = subject;
  const { attack, what } = attackOf(evidence);
  gaps.unshift(...subject.gaps);
  return {
    analytic,
    title: `${what} ${subject.where}`,
    attack,
    severity,
    confidence: confidenceOf(legs, evidence, gaps.length),
    entity,
    related: relatedEntities(view, entity, primary),
    legs: legs.filter((l) => l.holds).map((l) => l.name),
    summary: legSummary(legs, labels),
    evidence,
    gaps,
    facts: { ...factsOf(primary, evidence, host.name), ...cloudFactsOf(view) },
    processes: processFactsOf(view, primary),
    usage: usageOf(view),
    ...sharesOf(evidence),
    lastActivityTs: view.cluster.lastTs,
    ...(view.repeats ? { repeats: view.repeats } : {}),
  };
}

/** Sessions per finding: more would be one host mining to many pools at once, listed by their evidence. */
const MAX_SHARE_SESSIONS = 8;

/** The mining sessions the evidence measured (`mining-shares` with a rate), the finding's `shares`. */
export function sharesOf(evidence: Signal[]): { shares?: ShareSessionFacts[] } {
  const shares: ShareSessionFacts[] = [];
  for (const s of evidence) if (s.shares && shares.length < MAX_SHARE_SESSIONS) shares.push(s.shares);
  return shares.length > 0 ? { shares } : {};
}
