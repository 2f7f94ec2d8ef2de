/**
 * AN0745 (containers): high CPU by unauthorized containers running mining binaries or public proxy
 * tools. One finding per workload (50 replicas are one finding with a replica count). Three legs:
 *   resource      — container CPU held high against its limit (or the node's cores), or an
 *                   in-container process's sustained CPU
 *   authorization — the workload is not authorized: anonymous or denied API writes, no `containers:`
 *                   entry approves it, a first-seen creator with a first-seen image, an exec into it
 *                   by an unusual identity, a burst of replicas; an approval or a routine creator
 *                   (policy, baseline) and a workload running well before its evidence say otherwise
 *   tool          — a miner or proxyware image, binary or command line, pool or proxy-network contact,
 *                   miner tuning, rival kills, a dropper inside the container
 * 3 legs → high; tool and one other → medium (proxyware needs no CPU: it is capped by design);
 * resource and authorization without a tool → medium only when the authorization evidence is strong
 * (anonymous), else low; one strong tool signal alone → low. "New" alone never makes a finding.
 */

import { WorkloadTable } from '../engine/workloads.js';
import { type EntityKey, entityKey } from '../model/entity.js';
import { isoFromMs } from '../model/event.js';
import type { Severity, Usage } from '../model/finding.js';
import type { Signal } from '../model/signal.js';
import { round2 } from '../util/number.js';
import {
  noAuditLogGap,
  noContainerCpuGap,
  noContainerProcessGap,
  noCpuLimitGap,
  noDockerPolicyGap,
} from './container-gaps.js';
import { attackOf, factsOf, hoursOf, legSummary, primaryProcess, processFactsOf } from './explain.js';
import { atLeast, confidenceOf, type Leg, leg } from './grade.js';
import type { FindingDraft, WorkloadAnalytic, WorkloadView } from './types.js';

const TOOL_KINDS = new Set([
  'miner-process',
  'proxyware-process',
  'miner-tuning',
  'pool-contact',
  'mining-port',
  'proxyware-endpoint',
  'proxy-relay',
  'competitor-kill',
  'dropper',
  'masquerade',
]);
const STRONG_ALONE = new Set([
  'miner-process',
  'proxyware-process',
  'pool-contact',
  'proxyware-endpoint',
  'competitor-kill',
]);
/** Where a program runs from says nothing alone: builds and unpacked tools run from /tmp in containers too. */
const LOCATION_ONLY = 'process:suspicious-location';
const LEG_LABEL: Record<string, string> = {
  resource: 'container CPU high against its limit, or its GPU held busy',
  authorization: 'unauthorized container',
  tool: 'miner or proxyware in the container',
};
const MAX_LIST = 16;

function list(values: Iterable<string>): string[] {
  return [...values].slice(0, MAX_LIST);
}

export function evaluateContainers(view: WorkloadView): FindingDraft | undefined {
  const { workload: w, evidence } = view;
  const resource = evidence.filter((s) => s.class === 'resource');
  const authorization = evidence.filter((s) => s.class === 'authorization');
  const tool = evidence.filter((s) => TOOL_KINDS.has(s.kind));
  const telling = tool.filter((s) => s.by !== LOCATION_ONLY);
  const first = evidence.length ? evidence[0].ts : w.existsSinceMs;
  const established = WorkloadTable.established(w, first);
  const strongAuth = authorization.some((s) => s.strength === 'strong');
  const policyGap = policyVerdict(view, first);
  if (policyGap) authorization.push(policyGap);
  // an approval, a routine creator or weeks of running before the evidence answer "new"; anonymous or denied writes are never answered
  const answered = (w.authorizedBy !== undefined || established) && !strongAuth;
  const authEvidence = answered
    ? authorization.filter((s) => s.kind === 'workload-burst' || s.kind === 'container-exec')
    : authorization;
  const legs: Leg[] = [
    leg('resource', resource),
    leg('authorization', authorization, atLeast(authEvidence, 'medium').length > 0),
    leg('tool', tool, atLeast(telling, 'medium').length > 0 || (atLeast(tool, 'medium').length > 1 && tool.length > 1)),
  ];
  const [res, auth, tl] = legs;
  const held = legs.filter((l) => l.holds).length;
  let severity: Severity | undefined;
  if (held === 3) severity = 'high';
  else if (tl.holds && held === 2) severity = 'medium';
  else if (res.holds && auth.holds) severity = strongAuth ? 'medium' : 'low';
  else if (tool.some((s) => s.strength === 'strong' && STRONG_ALONE.has(s.kind))) severity = 'low';
  if (!severity) return undefined;
  const all = policyGap ? [...evidence, policyGap].sort((a, b) => a.ts - b.ts) : evidence;

  const where = `${w.cluster}/${w.namespace}`;
  const gaps: string[] = [];
  const ns = view.namespaceTelemetry;
  if (!auth.holds && w.runtime === 'docker' && !view.policy) gaps.push(`partial: ${noDockerPolicyGap(where)}`);
  else if (!auth.holds && w.runtime !== 'docker' && !w.telemetry.has('audit') && !ns.has('audit'))
    gaps.push(`partial: ${noAuditLogGap(where, w.name)}`);
  if (!tl.holds && !w.telemetry.has('process') && !ns.has('process'))
    gaps.push(`partial: ${noContainerProcessGap(where)}`);
  if (!res.holds && !w.telemetry.has('cpu')) gaps.push(`partial: ${noContainerCpuGap(w.name)}`);
  else if (w.telemetry.has('cpu') && !w.telemetry.has('limits')) gaps.push(`partial: ${noCpuLimitGap(w.name)}`);

  const primary = primaryProcess(view);
  const { attack, what } = attackOf(all);
  const cpu = WorkloadTable.cpuFacts(w);
  const replicas = Math.max(w.replicas ?? 0, w.pods.size);
  const kind = w.kind ?? 'Workload';
  const nodes = list(w.nodes);
  const host = nodes.length === 1 ? nodes[0] : w.cluster;
  const facts = factsOf(primary, all, host);
  facts.cluster = w.cluster;
  facts.namespace = w.namespace;
  facts.workload = `${kind}/${w.name}`;
  facts.workload_kind = kind;
  facts.workload_name = w.name;
  facts.runtime = w.runtime;
  if (replicas > 0) facts.replicas = replicas;
  if (w.pods.size) facts.pods = list(w.pods);
  if (w.containerNames.size) facts.containers = list(w.containerNames);
  if (w.containerIds.size) facts.container_ids = list(w.containerIds);
  if (nodes.length) facts.nodes = nodes;
  if (w.images.size) facts.images = list(w.images);
  if (w.digests.size) facts.image_digests = list(w.digests);
  const creator = w.writes.find((x) => x.verb === 'create') ?? w.writes[0];
  if (creator) {
    facts.creator = creator.user;
    if (creator.groups.length) facts.creator_groups = creator.groups;
    const ips = [...new Set(w.writes.filter((x) => x.user === creator.user).flatMap((x) => x.sourceIps))];
    if (ips.length) facts.creator_source_ips = list(ips);
    if (creator.userAgent) facts.creator_user_agent = creator.userAgent;
  }
  if (w.serviceAccount) facts.service_account = w.serviceAccount;
  const created = w.createdMs ?? w.writes.find((x) => x.verb === 'create')?.ts;
  if (created !== undefined) facts.created = isoFromMs(created);
  if (w.denied) facts.denied_requests = w.denied;
  if (w.execCommands.length) facts.exec_commands = w.execCommands;
  if (cpu.limitCores !== undefined) facts.cpu_limit_cores = cpu.limitCores;
  if (cpu.peakCores > 0) facts.cpu_cores_peak = round2(cpu.peakCores);
  if (cpu.highMs > 0) facts.cpu_high_minutes = Math.round(cpu.highMs / 60_000);
  facts.authorization = authorizationLine(view, established, policyGap);

  const related: EntityKey[] = [];
  for (const p of list(w.pods)) related.push(entityKey('pod', w.namespace, p));
  for (const c of list(w.containerIds)) related.push(entityKey('container', c));
  for (const n of nodes) related.push(entityKey('host', n));
  if (creator) related.push(entityKey('principal', creator.user));
  for (const p of view.processes.slice(0, MAX_LIST)) related.push(p.key);

  const podsSaid = replicas > 1 ? `${replicas} pods` : w.pods.size === 1 ? `pod ${[...w.pods][0]}` : '';
  const on = nodes.length ? ` on ${nodes.slice(0, 3).join(', ')}${nodes.length > 3 ? ', …' : ''}` : '';
  return {
    analytic: 'AN0745',
    title: `${what} in ${kind} ${w.namespace}/${w.name}${podsSaid ? ` (${podsSaid}${on})` : on ? ` (${on.trim()})` : ''}`,
    attack,
    severity,
    confidence: confidenceOf(legs, all, gaps.length),
    entity: w.key,
    related,
    legs: legs.filter((l) => l.holds).map((l) => l.name),
    summary: legSummary(legs, LEG_LABEL),
    evidence: all,
    gaps,
    facts,
    processes: processFactsOf(view, primary),
    usage: usageOf(view, cpu),
  };
}

/**
 * With a `containers:` policy and no API write judged (no audit log), the policy still judges the
 * images, namespace and labels the workload showed: not approved is authorization evidence.
 */
function policyVerdict(view: WorkloadView, first: number): Signal | undefined {
  const w = view.workload;
  if (!view.policy || w.authorizedBy || w.writes.length > 0 || w.images.size === 0) return undefined;
  if (view.evidence.some((s) => s.class === 'authorization')) return undefined;
  // no write to judge the entries' expiry against: the creation the inventory reports, else the first evidence
  const verdict =
    w.createdMs !== undefined
      ? WorkloadTable.approval(view.policy, w, w.createdMs, "workload's creation")
      : WorkloadTable.approval(view.policy, w, first, "workload's first evidence");
  if (verdict?.approved) return undefined;
  const cite = view.evidence[0];
  return {
    kind: 'unauthorized-workload',
    class: 'authorization',
    strength: 'medium',
    entity: w.key,
    host: w.cluster,
    ts: first,
    ref: cite.ref,
    by: 'engine:workload-policy',
    explanation:
      verdict?.approved === false
        ? `no containers: entry in force approves ${w.namespace}/${w.name}: ${verdict.expired}`
        : `no containers: entry (${view.policy.ref}) approves ${w.namespace}/${w.name}: images ${list(w.images).slice(0, 3).join(', ')}`,
  };
}

function authorizationLine(view: WorkloadView, established: boolean, policyGap: Signal | undefined): string {
  const w = view.workload;
  if (w.authorizationNote) return w.authorizationNote;
  if (policyGap) return policyGap.explanation;
  if (w.authorizedBy) return `authorized by ${w.authorizedBy}`;
  if (established) return `running since ${isoFromMs(w.existsSinceMs)}, over a day before this evidence (established)`;
  return w.telemetry.has('audit')
    ? 'no API write of this workload in the audit log read'
    : 'not judged: no audit log and no containers: policy';
}

/**
 * The workload's container CPU (counters × time), else its in-container processes' CPU; with the GPU-hours
 * its containers spent above the GPU bar when an exporter sampled their GPUs.
 */
function usageOf(view: WorkloadView, cpu: ReturnType<typeof WorkloadTable.cpuFacts>): Usage | null {
  const usage = cpuUsageOf(view, cpu);
  if (cpu.gpuMs <= 0) return usage;
  const gpu = `GPU of ${cpu.gpuSampled} container${cpu.gpuSampled === 1 ? '' : 's'} while above the threshold`;
  if (!usage) return { core_hours: 0, gpu_hours: hoursOf(cpu.gpuMs), basis: gpu, series: [] };
  return { ...usage, gpu_hours: hoursOf(cpu.gpuMs), basis: `${usage.basis}; ${gpu}` };
}

function cpuUsageOf(view: WorkloadView, cpu: ReturnType<typeof WorkloadTable.cpuFacts>): Usage | null {
  const w = view.workload;
  const series: Usage['series'] = cpu.series.map((s) => ({
    entity: w.key,
    label: `container ${s.label} (percent of one core)`,
    points: s.points.map(([t, v]) => [isoFromMs(t), v]),
  }));
  if (cpu.coreMs > 0)
    return {
      core_hours: hoursOf(cpu.coreMs),
      basis: `container CPU of ${cpu.sampled} container${cpu.sampled === 1 ? '' : 's'} (cAdvisor/docker counters)`,
      series,
    };
  let coreMs = 0;
  let sampled = 0;
  for (const p of view.processes)
    if (p.cpu?.sampled) {
      sampled++;
      coreMs += p.cpu.coreMs;
    }
  if (sampled > 0)
    return {
      core_hours: hoursOf(coreMs),
      basis: `per-process CPU of ${sampled} in-container process${sampled === 1 ? '' : 'es'}`,
      series,
    };
  return null;
}

export const an0745Containers: WorkloadAnalytic = {
  id: 'AN0745',
  title: 'Containers: high CPU by unauthorized containers running mining binaries or public proxy tools',
  evaluate: (view) => evaluateContainers(view),
};
