/**
 * `coverage` composed: the same inputs as `hunt`, read through the same engine, then, per host the
 * engine saw and per analytic that applies to its platform, which evidence classes the telemetry
 * provides (events, formats, first..last event time) and the named gaps, each with the fix; and per
 * cluster/namespace seen in container telemetry, AN0745's classes (authorization, container CPU,
 * in-container processes) with its gaps worded as its findings word them (`analytics/container-gaps`);
 * and per provider/account/region seen in cloud telemetry, AN0744's classes (authorization, flows/DNS/
 * detector, instance CPU) with its gaps worded as its findings word them (`analytics/cloud-gaps`).
 * The computation (`coverageReport`) is pure: host, workload and region states and the policy in, a
 * typed report out.
 */
import { an0744Cloud } from '../analytics/an0744-cloud.js';
import { an0745Containers } from '../analytics/an0745-containers.js';
import { cloudWhere, noCloudAuditGap, noFlowOrDnsGap, noInstanceCpuGap } from '../analytics/cloud-gaps.js';
import {
  noAuditLogGap,
  noContainerCpuGap,
  noContainerProcessGap,
  noCpuLimitGap,
  noDockerPolicyGap,
} from '../analytics/container-gaps.js';
import { analytics as allAnalytics } from '../analytics/index.js';
import type { Analytic } from '../analytics/types.js';
import type { HostState, TelemetryClass } from '../engine/host-state.js';
import { Engine } from '../engine/index.js';
import type { CloudTelemetry } from '../engine/instances.js';
import type { WorkloadState, WorkloadTelemetry } from '../engine/workloads.js';
import {
  type AnalyticCoverage,
  type ClassCoverage,
  type CloudClassCoverage,
  type CloudEvidenceClass,
  type CloudRegionCoverage,
  type ContainerClassCoverage,
  type ContainerEvidenceClass,
  type CoverageInput,
  type CoverageReport,
  EVIDENCE_CLASSES,
  type EvidenceClass,
  type HostCoverage,
  type NamespaceCoverage,
  type Requirement,
} from '../model/coverage.js';
import { isAddressHost, UNKNOWN_HOST } from '../model/entity.js';
import { isoFromMs } from '../model/event.js';
import type { AllowlistEntry, CloudPolicy, ContainerPolicy, Policy } from '../model/policy.js';
import { allowlistHostPatterns } from '../triage/allowlist.js';
import { compileGlob } from '../util/glob.js';
import { feedEngine } from './feed.js';
import { newSummary, type RunSummary } from './summary.js';

/** The classes each analytic's legs read (its gaps are about these and nothing else). */
export const ANALYTIC_REQUIREMENTS: Readonly<Record<string, readonly Requirement[]>> = {
  AN0741: ['cpu', 'command-line', 'network', 'authorization'],
  AN0742: ['process-cpu', 'process', 'network', 'persistence', 'authorization'],
};

/** Informational analytics have no legs to cover. */
const SKIPPED_ANALYTICS = new Set(['crypto-node']);

export interface CoverageContext {
  policy: Policy;
  /** Name of the policy file, for the authorization detail (`coalmine.yaml`). */
  policyFile?: string;
  analytics?: readonly Analytic[];
  input?: CoverageInput;
  /** Container telemetry per cluster/namespace and the workloads seen, for the AN0745 rows (none: no rows). */
  containers?: ContainersSeen;
  /** Cloud telemetry per provider/account/region, for the AN0744 rows (none: no rows). */
  cloud?: CloudSeen;
}

/** What the engine saw of containers (`Engine.workloadNamespaces()`, `Engine.workloadStates()`). */
export interface ContainersSeen {
  namespaces: ReadonlyArray<{ cluster: string; namespace: string; telemetry: ReadonlySet<WorkloadTelemetry> }>;
  workloads: readonly WorkloadState[];
}

export function containersSeen(engine: Engine): ContainersSeen {
  return { namespaces: engine.workloadNamespaces(), workloads: engine.workloadStates() };
}

/** What the engine saw of clouds (`Engine.cloudRegions()`): `?` stands for an account or region not named. */
export type CloudSeen = ReadonlyArray<{
  provider: string;
  account: string;
  region: string;
  telemetry: ReadonlySet<CloudTelemetry>;
}>;

export function cloudSeen(engine: Engine): CloudSeen {
  return engine.cloudRegions();
}

const EMPTY_INPUT: CoverageInput = {
  files: 0,
  filesByFormat: {},
  events: 0,
  stateEvents: 0,
  issuesByCode: {},
  issueList: [],
  hostsEvicted: 0,
};

/** Pure: the report for these host states under this policy. */
export function coverageReport(hosts: readonly HostState[], context: CoverageContext): CoverageReport {
  const list = (context.analytics ?? allAnalytics).filter((a) => !SKIPPED_ANALYTICS.has(a.id));
  const auth = authorizationIndex(context.policy);
  const cloudRegions = cloudRegionsCoverage(context.cloud, context.policy.cloud, context.policyFile);
  const accounts = new Set(cloudRegions.map((r) => `${r.provider}:${r.account ?? UNNAMED}`));
  const out: HostCoverage[] = [];
  for (const host of [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    // an account's control-plane calls name it as their host (`aws:123456789012`): it is no machine,
    // and the AN0744 rows say what its audit log covers
    if (host.coverage.size === 0 && accounts.has(host.name)) continue;
    out.push(hostCoverage(host, list, auth, context.policyFile));
  }
  const namespaces = namespacesCoverage(context.containers, context.policy.containers, context.policyFile);
  const gapCount =
    out.reduce((n, h) => n + h.analytics.reduce((m, a) => m + a.gaps.length, 0), 0) +
    namespaces.reduce((n, ns) => n + ns.analytic.gaps.length, 0) +
    cloudRegions.reduce((n, r) => n + r.analytic.gaps.length, 0);
  return {
    covered: out.length + namespaces.length + cloudRegions.length > 0 && gapCount === 0,
    gapCount,
    hosts: out,
    namespaces,
    cloudRegions,
    input: context.input ?? EMPTY_INPUT,
  };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Workload names listed in a gap or note before "and N more". */
const MAX_NAMED = 5;
const MAX_WORKLOAD_NAMES = 16;

function named(names: readonly string[]): string {
  return names.length <= MAX_NAMED
    ? names.join(', ')
    : `${names.slice(0, MAX_NAMED).join(', ')} and ${names.length - MAX_NAMED} more`;
}

/** AN0745 per cluster/namespace, in cluster then namespace order. */
function namespacesCoverage(
  seen: ContainersSeen | undefined,
  policy: ContainerPolicy | undefined,
  policyFile: string | undefined,
): NamespaceCoverage[] {
  if (!seen) return [];
  const byNamespace = new Map<string, WorkloadState[]>();
  for (const w of seen.workloads) {
    const k = `${w.cluster}|${w.namespace}`;
    const list = byNamespace.get(k);
    if (list) list.push(w);
    else byNamespace.set(k, [w]);
  }
  return [...seen.namespaces]
    .sort((a, b) => byText(a.cluster, b.cluster) || byText(a.namespace, b.namespace))
    .map((ns) => namespaceCoverage(ns, byNamespace.get(`${ns.cluster}|${ns.namespace}`) ?? [], policy, policyFile));
}

function namespaceCoverage(
  ns: ContainersSeen['namespaces'][number],
  workloads: readonly WorkloadState[],
  policy: ContainerPolicy | undefined,
  policyFile: string | undefined,
): NamespaceCoverage {
  const where = `${ns.cluster}/${ns.namespace}`;
  const tel = ns.telemetry;
  const runtimes = new Set(workloads.map((w) => w.runtime));
  const runtime = runtimes.size > 1 ? 'mixed' : runtimes.has('docker') ? 'docker' : 'kubernetes';
  const total = workloads.length;
  const names = (ws: readonly WorkloadState[]) => ws.map((w) => w.name).sort(byText);
  const having = (kind: WorkloadTelemetry) => workloads.filter((w) => w.telemetry.has(kind));
  const of = (n: number) => `${n} of ${total} workload${total === 1 ? '' : 's'}`;
  const missing: ContainerEvidenceClass[] = [];
  const gaps: string[] = [];
  const notes: string[] = [];
  const gap = (c: ContainerEvidenceClass, text: string) => {
    if (!missing.includes(c)) missing.push(c);
    gaps.push(text);
  };

  // authorization: who wrote the workloads (audit log), or what coalmine.yaml approves
  const audited = having('audit');
  const audit = tel.has('audit');
  const authSources: string[] = [];
  const authDetail: string[] = [];
  if (audit) {
    authSources.push('audit log');
    authDetail.push(`audit log (API writes of ${of(audited.length)})`);
  }
  if (policy) {
    authSources.push(`containers: policy (${policy.ref})`);
    authDetail.push(
      `containers: policy (${policy.ref})${policy.namespaces.includes(ns.namespace) ? ` approves namespace ${ns.namespace}` : ''}`,
    );
  }
  const authorization: ContainerClassCoverage = {
    class: 'authorization',
    status: authSources.length > 0 ? 'present' : 'absent',
    sources: authSources,
    workloads: policy ? total : audited.length,
    detail:
      authDetail.length > 0
        ? authDetail.join('; ')
        : `${runtime === 'docker' ? 'Docker records no creator' : 'no audit log'} and ${policyFile ? `no containers: section in ${policyFile}` : 'no policy file read (--policy, or ./coalmine.yaml)'}`,
  };
  if (authorization.status === 'absent')
    gap(
      'authorization',
      runtime === 'docker'
        ? noDockerPolicyGap(where)
        : `${noAuditLogGap(where, 'its workloads')}; and no coalmine.yaml containers: entry (registries, images, namespaces, creators, labels) approves them: "is this authorized?" cannot be answered`,
    );
  else if (!audit && runtime !== 'docker')
    notes.push(
      `${noAuditLogGap(where, 'its workloads')}; the containers: policy (${policy?.ref}) still judges their images, namespace and labels`,
    );

  // resource: container CPU against its limit
  const withCpu = having('cpu');
  const withLimits = having('limits');
  const cpuWithoutLimit = withCpu.filter((w) => !w.telemetry.has('limits'));
  const cpuSeen = withCpu.length > 0 || tel.has('cpu');
  const gpuSeen = tel.has('gpu');
  const resource: ContainerClassCoverage = {
    class: 'resource',
    status: !cpuSeen ? 'absent' : cpuWithoutLimit.length > 0 ? 'partial' : 'present',
    sources: (['cpu', 'limits', 'gpu'] as const).filter((k) => tel.has(k)),
    workloads: withCpu.length,
    detail: cpuSeen
      ? `CPU of ${of(withCpu.length)}, a limit for ${withLimits.length}${gpuSeen ? `, GPU of ${having('gpu').length}` : ''}`
      : 'no container CPU metrics',
  };
  if (!cpuSeen) gap('resource', noContainerCpuGap(where));
  else {
    if (cpuWithoutLimit.length > 0) gap('resource', noCpuLimitGap(named(names(cpuWithoutLimit))));
    const withoutCpu = workloads.filter((w) => !w.telemetry.has('cpu'));
    if (withoutCpu.length > 0)
      notes.push(`${of(withoutCpu.length)} showed no CPU: ${noContainerCpuGap(named(names(withoutCpu)))}`);
  }

  // tool: what runs inside the containers
  const inside = having('process');
  const tool: ContainerClassCoverage = {
    class: 'tool',
    status: tel.has('process') ? 'present' : tel.has('network') ? 'partial' : 'absent',
    sources: (['process', 'network'] as const).filter((k) => tel.has(k)),
    workloads: inside.length,
    detail: tel.has('process')
      ? `processes inside ${of(inside.length)}`
      : tel.has('network')
        ? 'only network telemetry joined to pod addresses: pool contact, not binaries'
        : 'no in-container process telemetry',
  };
  if (!tel.has('process')) gap('tool', noContainerProcessGap(where));

  return {
    cluster: ns.cluster,
    namespace: ns.namespace,
    runtime,
    workloads: total,
    workloadNames: names(workloads).slice(0, MAX_WORKLOAD_NAMES),
    telemetry: [...tel].sort(byText),
    classes: [authorization, resource, tool],
    analytic: {
      analytic: an0745Containers.id,
      title: an0745Containers.title,
      status: gaps.length === 0 ? 'covered' : 'partial',
      requires: ['authorization', 'resource', 'tool'],
      missing,
      gaps,
      notes,
    },
  };
}

/** How the engine keys an account or region the telemetry did not name. */
const UNNAMED = '?';

/** AN0744 per provider/account/region, in provider, account, region order. */
function cloudRegionsCoverage(
  seen: CloudSeen | undefined,
  policy: CloudPolicy | undefined,
  policyFile: string | undefined,
): CloudRegionCoverage[] {
  if (!seen) return [];
  // account-wide calls (IAM, quotas, firewalls, services) name no region: once the account's audit log
  // is seen in a region, such a row says nothing more, and its flow and CPU gaps would be about no instance
  const audited = new Set(
    seen.filter((r) => r.region !== UNNAMED && r.telemetry.has('audit')).map((r) => `${r.provider}|${r.account}`),
  );
  const accountWide = (r: CloudSeen[number]) =>
    r.region === UNNAMED && [...r.telemetry].every((t) => t === 'audit') && audited.has(`${r.provider}|${r.account}`);
  return seen
    .filter((r) => !accountWide(r))
    .sort((a, b) => byText(a.provider, b.provider) || byText(a.account, b.account) || byText(a.region, b.region))
    .map((r) => cloudRegionCoverage(r, policy, policyFile));
}

function cloudRegionCoverage(
  seen: CloudSeen[number],
  policy: CloudPolicy | undefined,
  policyFile: string | undefined,
): CloudRegionCoverage {
  const account = seen.account === UNNAMED ? undefined : seen.account;
  const region = seen.region === UNNAMED ? undefined : seen.region;
  const where = cloudWhere(seen.provider, account, region);
  const tel = seen.telemetry;
  const missing: CloudEvidenceClass[] = [];
  const gaps: string[] = [];
  const notes: string[] = [];
  const gap = (c: CloudEvidenceClass, text: string) => {
    missing.push(c);
    gaps.push(text);
  };
  const policyName = policy ? `cloud: policy (${policy.ref})` : undefined;
  const noPolicy = policyFile
    ? `no cloud: section in ${policyFile}`
    : 'no policy file read (--policy, or ./coalmine.yaml)';

  // authorization: who launched (the control-plane audit log), judged by the cloud: policy or the log's own history.
  // The policy judges launches as the audit log records them: without the log it has nothing to judge.
  const audit = tel.has('audit');
  const authorization: CloudClassCoverage = {
    class: 'authorization',
    status: audit ? 'present' : 'absent',
    sources: [...(audit ? ['audit'] : []), ...(policyName ? [policyName] : [])],
    detail: audit
      ? `control-plane audit log, launches judged ${policyName ? `by the ${policyName}` : 'against its own history (no cloud: policy)'}`
      : `no control-plane audit log${policyName ? `: the ${policyName} has no launch to judge` : ''}`,
  };
  if (!audit) gap('authorization', noCloudAuditGap(where));
  else if (!policy)
    notes.push(
      `${noPolicy}: launches in ${where} are judged only against the audit log's own history (a principal, region, instance family or source IP first seen after a day of history): list the approved principals, pipelines, regions and instance families under cloud:`,
    );

  // reach: pool traffic from the instances (flow logs, DNS query logs, a provider detector's findings)
  const reachSources = (['network', 'dns', 'detector'] as const).filter((k) => tel.has(k));
  const reachLabel: Record<(typeof reachSources)[number], string> = {
    network: 'flow logs',
    dns: 'DNS query logs',
    detector: "a provider detector's findings",
  };
  const reach: CloudClassCoverage = {
    class: 'reach',
    status: reachSources.length > 0 ? 'present' : 'absent',
    sources: [...reachSources],
    detail: reachSources.length > 0 ? reachSources.map((k) => reachLabel[k]).join(', ') : 'no flow or DNS logs',
  };
  if (reachSources.length === 0) gap('reach', noFlowOrDnsGap(where));
  else if (!tel.has('network'))
    notes.push(
      tel.has('dns')
        ? `only DNS query logs for ${where}, no flow logs: contact with a pool by address (no lookup) cannot be seen: add VPC/NSG flow logs`
        : `only a provider detector's findings (GuardDuty) for ${where}: ${noFlowOrDnsGap(where)} beyond what the detector names`,
    );

  // resource: instance CPU or GPU (a sudden rise against the instance's own history, or pinned from launch)
  const cpu = tel.has('cpu');
  const gpu = tel.has('gpu');
  const resource: CloudClassCoverage = {
    class: 'resource',
    status: cpu || gpu ? 'present' : 'absent',
    sources: (['cpu', 'gpu'] as const).filter((k) => tel.has(k)),
    detail: cpu
      ? `instance CPU${gpu ? ' and GPU' : ''} metrics`
      : gpu
        ? 'instance GPU metrics only'
        : 'no instance CPU metrics',
  };
  if (!cpu) gap('resource', noInstanceCpuGap(where));

  return {
    provider: seen.provider,
    ...(account !== undefined ? { account } : {}),
    ...(region !== undefined ? { region } : {}),
    telemetry: [...tel].sort(byText),
    classes: [authorization, reach, resource],
    analytic: {
      analytic: an0744Cloud.id,
      title: an0744Cloud.title,
      status: gaps.length === 0 ? 'covered' : 'partial',
      requires: ['authorization', 'reach', 'resource'],
      missing,
      gaps,
      notes,
    },
  };
}

interface AuthIndex {
  inventory: Set<string>;
  allowlist: Array<{ entry: AllowlistEntry; host: ((name: string) => boolean) | undefined; expiresMs: number }>;
}

function authorizationIndex(policy: Policy): AuthIndex {
  const inventory = new Set<string>();
  for (const name of Object.keys(policy.hostCores)) inventory.add(name.toLowerCase());
  for (const name of Object.values(policy.hostIps)) inventory.add(name.toLowerCase());
  // an entry's host as the allowlist reads it: a plain name stands for its host under any spelling
  const hosts = allowlistHostPatterns(policy.allowlist);
  return {
    inventory,
    allowlist: policy.allowlist.map((entry, i) => ({
      entry,
      host: hosts[i] !== undefined ? compileGlob(hosts[i], true) : undefined,
      // as the allowlist reads it: a date means through that day
      expiresMs: Date.parse(entry.expires) + (entry.expires.length <= 10 ? 86_400_000 - 1 : 0),
    })),
  };
}

function hostCoverage(
  host: HostState,
  list: readonly Analytic[],
  auth: AuthIndex,
  policyFile: string | undefined,
): HostCoverage {
  const platform = host.platform ?? 'unknown';
  const lastTs = Math.max(0, ...[...host.coverage.values()].map((e) => e.lastTs));
  const classes = EVIDENCE_CLASSES.map((cls) => classCoverage(host, cls, auth, policyFile, lastTs));
  if (host.has('gpu')) classes.push(classCoverage(host, 'gpu', auth, policyFile, lastTs));
  const byClass = new Map(classes.map((c) => [c.class, c]));
  const analytics: AnalyticCoverage[] = [];
  for (const a of list) {
    if (!a.platforms.includes(platform) && !a.platforms.includes('*')) continue;
    const requires = ANALYTIC_REQUIREMENTS[a.id];
    if (!requires) continue;
    analytics.push(judge(a, [...requires], host, platform, byClass));
  }
  const notes: string[] = [];
  if (host.name === UNKNOWN_HOST)
    notes.push('these events carry no host name: give one with --host NAME, or collect per-host directories');
  if (analytics.length === 0) notes.push(`no analytic applies to platform ${platform}`);
  return { host: host.name, platform, classes, analytics, notes };
}

function classCoverage(
  host: HostState,
  cls: EvidenceClass,
  auth: AuthIndex,
  policyFile: string | undefined,
  lastTs: number,
): ClassCoverage {
  if (cls === 'cloud-audit')
    return {
      class: cls,
      status: 'not-applicable',
      events: 0,
      formats: [],
      detail:
        'not applicable per host: control-plane audit logs (CloudTrail, Cloud Audit Logs, Activity Log) are judged per provider/account/region (AN0744)',
    };
  if (cls === 'authorization') {
    const backs = authorizationOf(host.name, auth, policyFile, lastTs);
    return backs.length > 0
      ? { class: cls, status: 'present', events: backs.length, formats: [], detail: backs.join('; ') }
      : {
          class: cls,
          status: 'absent',
          events: 0,
          formats: [],
          detail: policyFile
            ? `no ${policyFile} entry for this host`
            : 'no policy file read (--policy, or ./coalmine.yaml)',
        };
  }
  const entry = host.coverage.get(cls as TelemetryClass);
  const c: ClassCoverage = entry
    ? {
        class: cls,
        status: 'present',
        events: entry.events,
        formats: [...entry.formats].sort(),
        first: isoFromMs(entry.firstTs),
        last: isoFromMs(entry.lastTs),
        spanMs: entry.lastTs - entry.firstTs,
      }
    : { class: cls, status: 'absent', events: 0, formats: [] };
  if (cls === 'command-line' && host.noCommandLine.size > 0)
    c.detail = `without a command line: ${lacking(host)
      .map(([label, n]) => `${label} ×${n}`)
      .join(', ')}`;
  return c;
}

/** What in the policy says whether this host's workloads are authorized. */
function authorizationOf(name: string, auth: AuthIndex, policyFile = 'coalmine.yaml', lastTs = 0): string[] {
  const out: string[] = [];
  if (auth.inventory.has(name.toLowerCase())) out.push(`${policyFile} hosts.${name}`);
  for (const a of auth.allowlist) {
    if (a.host && !a.host(name)) continue;
    if (lastTs > a.expiresMs) continue;
    out.push(`allowlist ${a.entry.ref}${a.host ? '' : ' (all hosts)'}`);
    if (out.length >= 8) break;
  }
  return out;
}

/** Datasets whose process events had no command line, labelled as an analyst names them, most first. */
function lacking(host: HostState): Array<[string, number]> {
  const byLabel = new Map<string, number>();
  for (const [ds, n] of host.noCommandLine) {
    const label = datasetLabel(ds);
    byLabel.set(label, (byLabel.get(label) ?? 0) + n);
  }
  return [...byLabel].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** `evtx-xml.security.4688` → `Security 4688`; `auditd.execve` → `auditd execve`. */
export function datasetLabel(ds: string): string {
  const win = /\.(security|sysmon)\.(\d+)$/.exec(ds);
  if (win) return `${win[1] === 'security' ? 'Security' : 'Sysmon'} ${win[2]}`;
  const dot = ds.indexOf('.');
  return dot > 0 ? `${ds.slice(0, dot)} ${ds.slice(dot + 1)}` : ds;
}

/** How to get command lines from the source that lacked them. */
function commandLineFix(label: string): string {
  if (label === 'Security 4688')
    return 'enable "Include command line in process creation events" (Group Policy: Administrative Templates > System > Audit Process Creation)';
  if (label.startsWith('Sysmon '))
    return 'Sysmon always records CommandLine: keep the field in the collector or export';
  if (label.startsWith('auditd '))
    return 'keep EXECVE (or PROCTITLE) records with each execve SYSCALL (rule: -a always,exit -F arch=b64 -S execve)';
  if (label.startsWith('osquery ')) return 'select the cmdline column in the osquery processes query';
  return 'collect a source that records process command lines';
}

const TYPEPERF_COUNTERS =
  'typeperf "\\Process(*)\\% Processor Time", "\\Process(*)\\ID Process" and "\\Processor(_Total)\\% Processor Time"';

function judge(
  a: Analytic,
  requires: Requirement[],
  host: HostState,
  platform: string,
  byClass: Map<EvidenceClass, ClassCoverage>,
): AnalyticCoverage {
  const h = host.name;
  const has = (c: EvidenceClass) => byClass.get(c)?.status === 'present';
  const fmts = (c: EvidenceClass) => byClass.get(c)?.formats.join(', ') ?? '';
  const windows = platform === 'windows';
  const missing: Requirement[] = [];
  const gaps: string[] = [];
  const notes: string[] = [];
  const gap = (r: Requirement, text: string) => {
    missing.push(r);
    gaps.push(text);
  };
  for (const r of requires) {
    switch (r) {
      case 'cpu':
        if (!has('host-cpu') && !has('process-cpu'))
          gap(
            r,
            windows
              ? `no CPU telemetry for ${h}: collect ${TYPEPERF_COUNTERS}`
              : `no CPU telemetry for ${h}: add metrics CSV (host and host/pid rows) or osquery processes snapshots`,
          );
        else if (!has('process-cpu'))
          notes.push(
            `only total CPU for ${h} (${fmts('host-cpu')}): sustained CPU cannot be tied to a process: add ${windows ? 'typeperf "\\Process(*)\\% Processor Time" and "\\Process(*)\\ID Process"' : 'metrics CSV host/pid rows or osquery processes snapshots'}`,
          );
        break;
      case 'process-cpu':
        if (!has('process-cpu'))
          gap(
            r,
            has('host-cpu')
              ? `only host CPU for ${h} (${fmts('host-cpu')}), no per-process CPU: add metrics CSV with host/pid rows or osquery processes snapshots`
              : `no per-process CPU for ${h}: add metrics CSV or osquery processes snapshots`,
          );
        break;
      case 'process':
        if (!has('process'))
          gap(
            r,
            windows
              ? `no process execution telemetry for ${h}: Sysmon event 1 or Security 4688`
              : `no process execution telemetry for ${h}: auditd execve, osquery processes snapshots`,
          );
        break;
      case 'command-line': {
        if (has('command-line')) {
          const without = lacking(host);
          if (without.length > 0)
            notes.push(
              `some process events for ${h} have no command line (${without.map(([l, n]) => `${l} ×${n}`).join(', ')}); others do`,
            );
          break;
        }
        if (!has('process')) {
          gap(
            r,
            windows
              ? `no process creation telemetry for ${h}, so no command lines: collect Sysmon event 1, or Security 4688 with "Include command line in process creation events" enabled`
              : `no process execution telemetry for ${h}, so no command lines: auditd execve (with EXECVE records), osquery processes snapshots`,
          );
          break;
        }
        const without = lacking(host);
        const named: Array<[string, number]> =
          without.length > 0 ? without : [[`${fmts('process')} process`, byClass.get('process')?.events ?? 0]];
        gap(
          r,
          named
            .map(([label, n]) => {
              const field = label === 'Security 4688' || label.startsWith('Sysmon ') ? 'CommandLine' : 'command line';
              return `${label} events for ${h} have no ${field} (${n} event${n === 1 ? '' : 's'}): ${commandLineFix(label)}`;
            })
            .join('; '),
        );
        break;
      }
      case 'network':
        if (!has('network')) {
          const fix = windows
            ? 'Sysmon events 3 and 22, Security 5156, or Zeek/Suricata/pcap from its segment'
            : 'auditd connect, osquery process_open_sockets, or Zeek/Suricata/pcap from its segment';
          gap(
            r,
            has('dns')
              ? `only DNS lookups for ${h} (${fmts('dns')}), no connections: contact with a pool by address cannot be seen: add ${windows ? 'Sysmon event 3 or Security 5156' : 'auditd connect, osquery process_open_sockets, or Zeek conn.log/pcap'}`
              : `no network telemetry for ${h}: ${fix}`,
          );
        }
        break;
      case 'persistence':
        if (!has('persistence'))
          gap(
            r,
            `no persistence telemetry for ${h}: collect its cron and systemd files (a directory read as a collected filesystem), auditd file writes or osquery crontab`,
          );
        break;
      case 'authorization':
        if (!has('authorization'))
          gap(
            r,
            isAddressHost(h)
              ? `no host is known for address ${h}: list it under coalmine.yaml hosts.NAME.ips so its traffic joins that host's telemetry and inventory: "is this authorized?" cannot be answered`
              : `no authorization inventory for ${h}: list it under coalmine.yaml hosts (hosts.${h}: { cores: N }) or allowlist its approved workloads (match.host: ${h}, with owner, reason, expires): "is this authorized?" cannot be answered`,
          );
        break;
    }
  }
  return {
    analytic: a.id,
    title: a.title,
    status: gaps.length === 0 ? 'covered' : 'partial',
    requires,
    missing,
    gaps,
    notes,
  };
}

/** The run's input counts as the coverage report states them. */
export function coverageInput(summary: RunSummary, engine: Engine): CoverageInput {
  return {
    files: summary.files,
    filesByFormat: summary.filesByFormat,
    events: summary.events,
    stateEvents: summary.stateEvents,
    issuesByCode: summary.issuesByCode,
    issueList: summary.issues,
    hostsEvicted: engine.stats.hostsEvicted,
  };
}

export interface CoverageOptions {
  paths: string[];
  policy: Policy;
  policyFile?: string;
  /** Force a source format instead of sniffing. */
  format?: string;
  /** Host name for inputs that do not say. */
  host?: string;
  maxLineBytes?: number;
}

/** Read the inputs as `hunt` does (no classification: coverage needs what was seen, not what it means). */
export async function coverage(options: CoverageOptions): Promise<CoverageReport> {
  const summary = newSummary();
  const engine = new Engine({ policy: options.policy, classify: () => {}, onClose: () => {} });
  await feedEngine(
    engine,
    { paths: options.paths, format: options.format, host: options.host, maxLineBytes: options.maxLineBytes },
    summary,
  );
  return coverageReport(engine.hostStates(), {
    policy: options.policy,
    policyFile: options.policyFile,
    input: coverageInput(summary, engine),
    containers: containersSeen(engine),
    cloud: cloudSeen(engine),
  });
}
