/**
 * The SOC playbook (seeds/004, PRODUCT.md §6) applied to one finding: the escalation decision with
 * its reasons, the four questions for analysis answered from the evidence where it can be (and
 * "needs an analyst" with what to look at where it cannot), a containment plan in the playbook's
 * order with commands filled in for this entity, the cost, and the allowlist entry an analyst would
 * add if this is legitimate. Pure: the finding and the policy in, the triage out. Commands are
 * printed for a human; coalmine never runs them.
 */

import { normalisedRepository } from '../model/container-policy.js';
import type { ContextMatch, Finding, PlanStep, ProcessFacts, Question, Triage } from '../model/finding.js';
import type { Policy } from '../model/policy.js';
import { clip, inert } from '../util/hostile.js';
import { round2 } from '../util/number.js';
import {
  approvalEntryLines,
  exploitationContext,
  question,
  SUGGESTED_EXPIRY_DAYS,
  strong,
  suggestedExpiry,
  yamlString,
} from './answer.js';
import { cloudCost, cloudNextSteps, cloudQuestions, cloudReasons, cloudSuggestion } from './cloud-playbook.js';
import { containmentPlan, platformOf } from './containment.js';
import { shareCost, withGpuShares } from './share-cost.js';

/** Network services whose children are how droppers usually arrive (an exposed, exploitable service). */
const EXPOSED_SERVICES = new Set([
  'redis-server',
  'java',
  'httpd',
  'apache2',
  'nginx',
  'php-fpm',
  'php',
  'tomcat',
  'node',
  'postgres',
  'mysqld',
  'mongod',
  'dockerd',
  'containerd-shim',
  'kubelet',
  'jenkins',
  'w3wp.exe',
  'sqlservr.exe',
  'tomcat9.exe',
  'java.exe',
  'httpd.exe',
]);
const TEMP_DIR =
  /^(?:\/tmp\/|\/var\/tmp\/|\/dev\/shm\/|\/run\/user\/|[a-z]:\\(?:users\\[^\\]+\\appdata\\local\\temp|windows\\temp|users\\public|programdata)\\)/i;

function label(p: ProcessFacts | undefined): string {
  if (!p) return 'the process';
  const name = p.name ?? p.executable ?? 'process';
  return `${name} (pid ${p.pid ?? '?'})`;
}

/** The playbook's four escalation conditions, each with what in the data met it. */
function escalation(f: Finding): Triage['escalation'] {
  const reasons: string[] = [];
  const primary = f.processes[0];
  if (f.severity === 'informational') {
    return {
      tier: 'L1',
      reasons: ['informational: not hijacking evidence; confirm the activity is sanctioned on this host'],
      next_steps: ['Confirm with the host owner that the node or service is expected; close as benign if so.'],
    };
  }
  const container = f.analytic === 'AN0745';
  const cloud = f.analytic === 'AN0744';
  if (container) reasons.push(...containerReasons(f));
  if (cloud) reasons.push(...cloudReasons(f));
  const unauthorized = !container && !cloud && (f.legs.includes('process') || f.legs.includes('command'));
  const resource = f.evidence.filter((e) => e.class === 'resource' && strong(e));
  if (f.legs.includes('resource') && unauthorized)
    reasons.push(
      `unauthorized high ${resource.some((e) => e.kind === 'sustained-gpu') ? 'CPU/GPU' : 'CPU'} with no valid explanation: ${resource[0]?.explanation ?? `${label(primary)} ran hot`}; no allowlist entry authorizes it`,
    );
  const pools = f.evidence.filter((e) => e.kind === 'pool-contact' && strong(e));
  if (pools.length > 0) {
    const where = (f.facts.destinations as string[] | undefined)?.slice(0, 4).join(', ') ?? 'a known pool';
    reasons.push(`connections to known mining addresses: ${where}`);
  }
  const proxy = f.evidence.filter((e) => (e.kind === 'proxyware-endpoint' || e.kind === 'proxy-relay') && strong(e));
  if (proxy.length > 0) reasons.push(`proxyjacking: ${proxy[0].explanation}`);
  const deployments = f.evidence.filter((e) => e.class === 'cloud' || e.by.endsWith('-image'));
  if (deployments.length > 0 && !container && !cloud)
    reasons.push(`unauthorized container or VM deployment: ${deployments[0].explanation}`);
  const kills = f.evidence.filter((e) => e.kind === 'competitor-kill' && strong(e));
  if (kills.length > 0) {
    const victims = (f.facts.killed as string[] | undefined)?.join(', ') ?? 'rival processes';
    reasons.push(`processes terminating each other (competing malware): ${victims}`);
  }
  if (f.suppressed_by) {
    return {
      tier: 'L1',
      reasons: [
        `suppressed by allowlist ${f.suppressed_by.list} (owner ${f.suppressed_by.owner}: ${f.suppressed_by.reason}; expires ${f.suppressed_by.expires})`,
        ...reasons.map((r) => `would otherwise escalate: ${r}`),
      ],
      next_steps: ['Confirm with the allowlist owner that the entry still holds; remove it if not.'],
    };
  }
  const destinations = (f.facts.destinations as string[] | undefined) ?? [];
  if (reasons.length > 0 && container) return { tier: 'Tier 2', reasons, next_steps: containerNextSteps(f) };
  if (reasons.length > 0 && cloud) return { tier: 'Tier 2', reasons, next_steps: cloudNextSteps(f) };
  if (reasons.length > 0)
    return {
      tier: 'Tier 2',
      reasons,
      next_steps: [
        `Scope the compromise: other hosts contacting ${destinations.slice(0, 3).join(', ') || 'the same destinations'}, or running ${primary?.executable ?? 'the same executable'}.`,
        `Memory analysis of ${label(primary)} before it is removed (see the containment plan's first step).`,
        `Isolate ${f.host} with IT and inspect it for the technique's artifacts (persistence, dropped files, credentials used).`,
      ],
    };
  return {
    tier: 'L1',
    reasons: ['none of the four escalation conditions is met by the evidence: finish the L1 checks'],
    next_steps: [
      `Confirm the abnormal usage of ${f.host} in your monitoring (CPU/GPU graphs for ${f.first_seen} to ${f.last_seen}).`,
      `Cross-reference ${destinations.slice(0, 3).join(', ') || 'the destinations it contacted'} with threat intelligence.`,
      `Review administrative logs and change records of ${f.host} for that window.`,
    ],
  };
}

function questions(f: Finding): Question[] {
  if (f.analytic === 'AN0745') return containerQuestions(f);
  if (f.analytic === 'AN0744') return cloudQuestions(f);
  const primary = f.processes[0];
  const out: Question[] = [];

  const q1 = 'Is there a legitimate business process behind the resource use (allowlist, owner, schedule)?';
  const minerish = f.evidence.filter(
    (e) => (e.kind === 'miner-process' || e.kind === 'masquerade' || e.kind === 'proxyware-process') && strong(e),
  );
  if (f.suppressed_by)
    out.push(
      question(
        'legitimate-process',
        q1,
        `Yes, per allowlist ${f.suppressed_by.list}: ${f.suppressed_by.reason} (owner ${f.suppressed_by.owner}, expires ${f.suppressed_by.expires}).`,
        [],
      ),
    );
  else if (primary?.executable && TEMP_DIR.test(primary.executable))
    out.push(
      question(
        'legitimate-process',
        q1,
        `Unlikely: ${label(primary)} runs from ${primary.executable}, a temporary or world-writable place no deployed software lives in, and no allowlist entry covers it.`,
        minerish.length > 0 ? minerish : f.evidence.filter((e) => e.class === 'process'),
      ),
    );
  else if (minerish.length > 0)
    out.push(
      question(
        'legitimate-process',
        q1,
        `Unlikely: ${minerish[0].explanation}; no allowlist entry covers it. If it is sanctioned (research, a paid node), add the suggested allowlist entry with its owner.`,
        minerish,
      ),
    );
  else
    out.push(
      question(
        'legitimate-process',
        q1,
        `ask the owner of ${f.host} whether ${label(primary)}${primary?.user ? ` run by ${primary.user}` : ''} is expected and on what schedule.`,
        undefined,
      ),
    );

  const q2 = 'What is the reputation of the destinations (which intel set, since when)?';
  const listed = f.evidence.filter((e) => e.intel && e.class === 'network');
  const protocol = f.evidence.filter((e) => e.by.startsWith('stratum:') && e.kind === 'pool-contact');
  const destinations = (f.facts.destinations as string[] | undefined) ?? [];
  if (listed.length > 0 || protocol.length > 0) {
    const parts = [...new Map(listed.map((e) => [e.intel?.set, e])).values()].map(
      (e) =>
        `listed in intel ${e.intel?.set} (${e.intel?.version ? `version ${e.intel.version}; ` : ''}source: ${e.intel?.source}${e.intel?.url ? `, ${e.intel.url}` : ''})`,
    );
    if (protocol.length > 0)
      parts.push('the mining protocol itself was seen on the wire, whatever the address reputation');
    out.push(
      question(
        'destination-reputation',
        q2,
        `Known bad: ${destinations.slice(0, 4).join(', ') || 'the destination'} — ${parts.join('; ')}.`,
        [...listed, ...protocol],
      ),
    );
  } else if (destinations.length > 0)
    out.push(
      question(
        'destination-reputation',
        q2,
        `${destinations.slice(0, 4).join(', ')} matched none of the loaded intel sets; look them up in your threat-intelligence platform.`,
        undefined,
      ),
    );
  else
    out.push(
      question(
        'destination-reputation',
        q2,
        `no outbound destination was seen for ${f.host}${f.gaps.some((g) => /network telemetry/.test(g)) ? ' (no network telemetry: see gaps)' : ''}; check firewall or flow logs for the window.`,
        undefined,
      ),
    );

  const q3 =
    'Were there recent administrative changes or deployments (cron, systemd, tasks, packages, instances, pods)?';
  const changes = f.evidence.filter((e) => e.class === 'persistence');
  if (changes.length > 0) {
    const shown = changes
      .slice(0, 3)
      .map((e) =>
        e.persistence
          ? `${e.persistence.mechanism} ${e.persistence.file}${e.persistence.line ? `:${e.persistence.line}` : ''}`
          : e.explanation,
      );
    out.push(
      question(
        'recent-changes',
        q3,
        `Yes, and they belong to the attack: ${shown.join('; ')}. Check your change records for anything else in ${f.first_seen} to ${f.last_seen}.`,
        changes,
      ),
    );
  } else
    out.push(
      question(
        'recent-changes',
        q3,
        `no persistence change tied to this activity was seen${f.gaps.some((g) => /persistence telemetry/.test(g)) ? ' (no persistence telemetry: see gaps)' : ''}; review deployment and change records of ${f.host} for ${f.first_seen} to ${f.last_seen}.`,
        undefined,
      ),
    );

  const q4 = 'Is there a known vulnerable exposure that could have been exploited?';
  const service = f.processes.find((p) => {
    const name = (p.name ?? p.executable?.split(/[\\/]/).pop() ?? '').toLowerCase();
    return EXPOSED_SERVICES.has(name);
  });
  const droppers = f.evidence.filter((e) => e.kind === 'dropper');
  const exploited = exploitationContext(f);
  if (exploited) out.push(question('vulnerable-exposure', q4, exploited.answer, exploited.cited));
  else if (service)
    out.push(
      question(
        'vulnerable-exposure',
        q4,
        `Likely: the tree descends from ${label(service)}, a network service; check its version, its authentication and whether it is reachable from the internet.`,
        droppers.length > 0 ? droppers : f.evidence.filter((e) => e.entity === service.entity),
      ),
    );
  else {
    const root = [...f.processes].reverse().find((p) => p.parent === undefined) ?? f.processes[f.processes.length - 1];
    out.push(
      question(
        'vulnerable-exposure',
        q4,
        `no exposed service was seen in the telemetry.${droppers.length > 0 && root ? ` The download cradle descends from ${label(root)}${root.user ? ` (user ${root.user})` : ''}: find which service that is (ss -tlnp, systemctl status ${root.pid ?? 'PID'}) and check its patch level and exposure.` : ` Check internet-facing services on ${f.host} and their patch level.`}`,
        undefined,
      ),
    );
  }
  return out;
}

function cost(f: Finding, policy: Policy): Triage['cost'] {
  if (!f.usage) return null;
  const { coreHour, gpuHour, currency } = policy.prices;
  const gpuHours = f.usage.gpu_hours;
  return {
    core_hours: f.usage.core_hours,
    price_per_core_hour: coreHour,
    ...(gpuHours !== undefined ? { gpu_hours: gpuHours, price_per_gpu_hour: gpuHour } : {}),
    currency,
    amount: round2(f.usage.core_hours * coreHour + (gpuHours ?? 0) * gpuHour),
    basis: f.usage.basis,
  };
}

function allowlistSuggestion(f: Finding): string {
  if (f.analytic === 'AN0745') return containersSuggestion(f);
  if (f.analytic === 'AN0744') return cloudSuggestion(f);
  const primary = f.processes[0];
  const match: string[] = [];
  if (typeof f.facts.sha256 === 'string') match.push(`hash: ${yamlString(f.facts.sha256)}`);
  if (primary?.executable) match.push(`executable: ${yamlString(primary.executable)}`);
  else if (typeof f.facts.command_line === 'string') match.push(`command: ${yamlString(f.facts.command_line)}`);
  match.push(`host: ${yamlString(f.host)}`);
  const expires = new Date(Date.parse(f.last_seen) + SUGGESTED_EXPIRY_DAYS * 86_400_000).toISOString().slice(0, 10);
  return [
    'allowlist:',
    `  - match: { ${match.join(', ')} }`,
    `    analytics: [${f.analytic}]`,
    '    owner: "<team or person accountable>"',
    '    reason: "<why this use is approved, with a ticket>"',
    `    expires: ${expires}`,
  ].join('\n');
}

/**
 * The T2 step "scope the compromise" from the finding's context: what else the host shows besides the
 * mining (stolen credentials, movement to other hosts, tampering with defences). A step, never a reason:
 * context does not grade the finding.
 */
function contextSteps(f: Finding): string[] {
  const context = f.context ?? [];
  const steps: string[] = [];
  const first = (reason: ContextMatch['reasons'][number]) => context.find((c) => c.reasons.includes(reason));
  const said = (c: ContextMatch) => `${clip(c.title, 160)} (${c.relative}, rule ${clip(c.rule_id, 64)})`;
  const creds = first('credential-access');
  if (creds)
    steps.push(
      `Credential access on ${f.host}: ${said(creds)}. Treat every account used on ${f.host} in the window as stolen: reset them and review where they logged on since.`,
    );
  const moved = first('lateral-movement');
  if (moved)
    steps.push(
      `Lateral movement on ${f.host}: ${said(moved)}. Hunt the hosts it reached for the same miner and persistence.`,
    );
  const evaded = first('defense-evasion');
  if (evaded)
    steps.push(
      `Defences tampered with on ${f.host}: ${said(evaded)}. Do not trust the host's own logs alone for the window.`,
    );
  return steps;
}

export function triageFinding(f: Finding, policy: Policy): Triage {
  const steps: PlanStep[] = containmentPlan(f);
  // no CPU sampled: what the pool's accepted shares measured is the compute spent; with CPU sampled,
  // the shares still measure the GPUs the samples cannot see, unless GPU samples measured them
  const priced =
    f.analytic === 'AN0744'
      ? cloudCost(f, policy)
      : !f.usage && f.shares
        ? shareCost(f, policy)
        : { cost: f.usage?.gpu_hours !== undefined ? cost(f, policy) : withGpuShares(cost(f, policy), f, policy) };
  const decided = escalation(f);
  if (!f.suppressed_by) decided.next_steps.push(...contextSteps(f));
  const triage: Triage = {
    escalation: decided,
    questions: questions(f),
    containment: { platform: platformOf(f), steps },
    cost: priced.cost,
    allowlist_suggestion: allowlistSuggestion(f),
  };
  if (priced.note) triage.cost_note = priced.note;
  return triage;
}

// ——— containers (AN0745): the playbook's questions asked of a workload ———

const ANONYMOUS_USER = 'system:anonymous';
const ANONYMOUS_GROUP = 'system:unauthenticated';
const TOOL_EVIDENCE = new Set([
  'miner-process',
  'proxyware-process',
  'pool-contact',
  'proxyware-endpoint',
  'miner-tuning',
]);

function text(f: Finding, key: string): string | undefined {
  const v = f.facts[key];
  return typeof v === 'string' ? clip(v, 200) : undefined;
}

function texts(f: Finding, key: string, max = 4): string[] {
  const v = f.facts[key];
  return Array.isArray(v) ? v.slice(0, max).map((x) => clip(String(x), 200)) : [];
}

function shown(values: string[], max = 4): string {
  return values.slice(0, max).join(', ');
}

/** `DaemonSet kube-system/kube-netmon`, or the Docker container by its name. */
function workloadLabel(f: Finding): string {
  const kind = text(f, 'workload_kind') ?? 'workload';
  const name = text(f, 'workload_name') ?? f.entity;
  const ns = text(f, 'namespace');
  return f.facts.runtime === 'docker' ? `container ${name} on ${f.host}` : `${kind} ${ns ? `${ns}/` : ''}${name}`;
}

function anonymousCreator(f: Finding): boolean {
  return text(f, 'creator') === ANONYMOUS_USER || texts(f, 'creator_groups', 64).includes(ANONYMOUS_GROUP);
}

/** Who wrote it, as one phrase: creator, groups, source addresses, user agent, time. */
function creatorPhrase(f: Finding): string | undefined {
  const creator = text(f, 'creator');
  if (!creator) return undefined;
  const groups = texts(f, 'creator_groups');
  const ips = texts(f, 'creator_source_ips');
  const agent = text(f, 'creator_user_agent');
  const created = text(f, 'created');
  return `${creator}${groups.length ? ` (groups ${shown(groups)})` : ''}${ips.length ? ` from ${shown(ips)}` : ''}${agent ? ` with ${agent}` : ''}${created ? ` at ${created}` : ''}`;
}

function containerReasons(f: Finding): string[] {
  const reasons: string[] = [];
  if (f.legs.includes('authorization')) {
    const by = creatorPhrase(f);
    reasons.push(
      `unauthorized container deployment: ${workloadLabel(f)}${by ? ` created by ${by}` : ' (creator unknown)'}; ${text(f, 'authorization') ?? 'no approval found'}`,
    );
    const resource = f.evidence.find((e) => e.class === 'resource' && strong(e));
    if (f.legs.includes('resource'))
      reasons.push(
        `unauthorized high CPU with no valid explanation: ${resource?.explanation ?? `${workloadLabel(f)} ran at its CPU limit`}`,
      );
  }
  return reasons;
}

function containerNextSteps(f: Finding): string[] {
  const creator = text(f, 'creator');
  const digests = texts(f, 'image_digests', 2);
  const images = texts(f, 'images', 2);
  const nodes = texts(f, 'nodes');
  const ips = texts(f, 'creator_source_ips');
  return [
    `Scope: other workloads ${creator ? `created by ${creator}` : 'created in the same window'} and any pod running ${shown(digests.length ? digests : images, 2) || 'the same image'}, in every cluster.`,
    anonymousCreator(f)
      ? `Find what anonymous requests${ips.length ? ` from ${shown(ips)}` : ''} did besides this (the audit log, user system:anonymous) and which bindings grant them rights, before turning anonymous access off (see the plan's revoke step).`
      : `Find how ${creator ?? 'the creator'} got in (leaked kubeconfig or token, an exposed dashboard or CI job) before revoking it (see the plan's revoke step).`,
    `Inspect ${nodes.length ? `the nodes ${shown(nodes)}` : f.host} for escapes from the containers (privileged pods, host mounts, new host processes) before they go back into service.`,
  ];
}

function containerQuestions(f: Finding): Question[] {
  const out: Question[] = [];
  const label = workloadLabel(f);
  const docker = f.facts.runtime === 'docker';
  const ns = text(f, 'namespace');
  const kind = text(f, 'workload_kind') ?? 'Workload';
  const name = text(f, 'workload_name') ?? '';
  const authorization = text(f, 'authorization');
  const authEvidence = f.evidence.filter((e) => e.class === 'authorization');
  const auditGap = f.gaps.some((g) => /audit log/.test(g));

  const q1 = 'Who created it, from where and with which credentials, and is it authorized?';
  const by = creatorPhrase(f);
  const sa = text(f, 'service_account');
  const denied = typeof f.facts.denied_requests === 'number' ? f.facts.denied_requests : 0;
  if (f.suppressed_by)
    out.push(
      question(
        'legitimate-process',
        q1,
        `Approved per allowlist ${f.suppressed_by.list}: ${f.suppressed_by.reason} (owner ${f.suppressed_by.owner}, expires ${f.suppressed_by.expires}).`,
        [],
      ),
    );
  else if (by)
    out.push(
      question(
        'legitimate-process',
        q1,
        `${label} was created by ${by}${sa ? `; its pods run as service account ${sa}` : ''}${denied > 0 ? `; ${denied} of its API requests were denied` : ''}. Authorization: ${authorization ?? 'not judged'}.`,
        authEvidence,
      ),
    );
  else if (docker)
    out.push(
      question(
        'legitimate-process',
        q1,
        `Docker records no creator (${authorization ?? 'not judged'}): find who can reach the Docker socket or API on ${f.host} (ls -l /var/run/docker.sock; getent group docker; ss -tlnp | grep 2375) and who started ${name || 'it'}.`,
        undefined,
      ),
    );
  else
    out.push(
      question(
        'legitimate-process',
        q1,
        `no audit record of its creation was read${auditGap ? ' (no audit log: see gaps)' : ''}; authorization: ${authorization ?? 'not judged'}. Search the API server audit log for the create of ${kind} ${name}${ns ? ` in ${ns}` : ''} (user, sourceIPs, userAgent), or its metadata.managedFields.`,
        undefined,
      ),
    );

  const q2 = 'What is the reputation of its image (registry, digest, intel) and of the destinations it reached?';
  const images = texts(f, 'images');
  const repositories = [...new Set(images.map((i) => normalisedRepository(i) ?? i))];
  const digests = texts(f, 'image_digests', 2);
  const intel = [
    ...new Set(
      f.evidence.flatMap((e) => (e.intel ? [`${e.intel.set}${e.intel.version ? ` ${e.intel.version}` : ''}`] : [])),
    ),
  ].slice(0, 4);
  const destinations = texts(f, 'destinations');
  const tools = f.evidence.filter((e) => (TOOL_EVIDENCE.has(e.kind) || e.intel) && strong(e));
  const imageSaid = images.length
    ? `image ${shown(images)} (repository ${shown(repositories)}${digests.length ? `; digest ${shown(digests, 2)}` : ''})`
    : 'no image was named';
  if (tools.length > 0 || intel.length > 0)
    out.push(
      question(
        'destination-reputation',
        q2,
        `Known bad: ${tools[0]?.explanation ?? 'listed in intel'}.${destinations.length ? ` It reached ${shown(destinations)}.` : ''} ${images.length ? `The ${imageSaid}: look it up` : "No image was named in what was read: look the workload's image up"} in your registry's scanner too, the tool may have been fetched at run time.${intel.length ? ` Intel sets: ${intel.join('; ')} (see the evidence for sources).` : ''}`,
        tools.length > 0 ? tools : f.evidence.filter((e) => e.intel),
      ),
    );
  else
    out.push(
      question(
        'destination-reputation',
        q2,
        `${imageSaid}${destinations.length ? `, reaching ${shown(destinations)},` : ''} matched none of the loaded intel sets: look the digest and repository up in your registry's scanner and threat intelligence.`,
        undefined,
      ),
    );

  const q3 = 'What was deployed recently in that namespace (creates, scales, execs)?';
  const created = text(f, 'created');
  const replicas = typeof f.facts.replicas === 'number' ? f.facts.replicas : undefined;
  const execs = texts(f, 'exec_commands', 3);
  const said: string[] = [];
  if (created) said.push(`${label} created ${created}${by ? ` by ${text(f, 'creator')}` : ''}`);
  for (const e of authEvidence.filter((x) => x.kind === 'workload-burst').slice(0, 2)) said.push(e.explanation);
  if (execs.length) said.push(`commands run inside it through the API: ${execs.join('; ')}`);
  if (denied > 0) said.push(`${denied} denied requests`);
  // the replica count may come from inventory alone: it says nothing of recent changes by itself
  if (said.length > 0 && replicas !== undefined) said.splice(1, 0, `${replicas} replica${replicas === 1 ? '' : 's'}`);
  const listCmd = docker
    ? `docker ps -a --format '{{.CreatedAt}} {{.Names}} {{.Image}}' on ${f.host}`
    : `kubectl -n ${ns ?? 'NS'} get deploy,ds,sts,job,cronjob,pod --sort-by=.metadata.creationTimestamp`;
  if (said.length > 0)
    out.push(
      question(
        'recent-changes',
        q3,
        `The audit log shows: ${said.join('; ')}. Check your change records for it, and the rest of ${ns ?? 'the namespace'} for ${f.first_seen} to ${f.last_seen} (${listCmd}).`,
        authEvidence,
      ),
    );
  else
    out.push(
      question(
        'recent-changes',
        q3,
        `no API write of ${label} was read${auditGap ? ' (no audit log: see gaps)' : ''}; list what was deployed in ${f.first_seen} to ${f.last_seen}: ${listCmd}.`,
        undefined,
      ),
    );

  const q4 =
    'Is there an exposure that let it in (anonymous API access, privileged pods or host mounts, an exposed Docker API)?';
  const anonymous = authEvidence.filter((e) => e.by === 'engine:workload-anonymous');
  const hostAccess = authEvidence.filter(
    (e) => e.kind === 'privileged-workload' || /asks for the host/.test(e.explanation),
  );
  const parts: string[] = [];
  if (anonymousCreator(f))
    parts.push(
      `anonymous access to the API server is enabled: ${text(f, 'creator')} wrote ${label}${texts(f, 'creator_source_ips').length ? ` from ${shown(texts(f, 'creator_source_ips'))}` : ''} and was allowed to`,
    );
  if (hostAccess.length > 0) parts.push(`${hostAccess[0].explanation}: a way out of the container onto the nodes`);
  if (execs.length > 0) parts.push('commands were run inside it through the API (pods/exec rights)');
  const exploited = exploitationContext(f);
  if (exploited) parts.push(exploited.answer.replace(/^Yes, a/, 'a').replace(/\.$/, ''));
  if (parts.length > 0)
    out.push(
      question('vulnerable-exposure', q4, `Yes: ${parts.join('; ')}.`, [
        ...anonymous,
        ...hostAccess,
        ...(exploited?.cited ?? []),
      ]),
    );
  else
    out.push(
      question(
        'vulnerable-exposure',
        q4,
        docker
          ? `no exposure was seen in the telemetry: check whether the Docker API listens on TCP on ${f.host} (2375/2376, without TLS it is open to anyone who reaches it), who is in the docker group, and the container's privileges (docker inspect: Privileged, Binds).`
          : `no exposure was seen in the telemetry: check ${kind} ${ns ?? ''}/${name} for privileged, hostPID/hostNetwork and hostPath mounts, whether the API server or kubelets (10250) accept anonymous requests, and where the creator's credentials could have leaked.`,
        undefined,
      ),
    );
  return out;
}

/** A `containers:` entry approving this workload, for the analyst who decides it is legitimate. */
function containersSuggestion(f: Finding): string {
  const digests = texts(f, 'image_digests', 8).filter((d) => /^sha256:[0-9a-f]{64}$/.test(d));
  const images = texts(f, 'images', 8);
  const repositories = [...new Set(images.map((i) => normalisedRepository(i)).filter((r) => r !== undefined))];
  const creator = text(f, 'creator');
  const expires = suggestedExpiry(f.last_seen);
  const comment = (value: string) => JSON.stringify(inert(value));
  const lines = [
    `# AN0745: only if ${comment(workloadLabel(f))} is approved; fill in each entry's owner and reason (past its expiry it approves nothing):`,
    'containers:',
  ];
  let entries = 0;
  if (digests.length > 0) {
    lines.push(`  images:   # the digests it ran, of ${comment(shown(images, 2) || 'unnamed images')}`);
    lines.push(...digests.flatMap((d) => approvalEntryLines(4, 'image', d, expires)));
    entries++;
  } else if (repositories.length > 0) {
    lines.push('  images:   # every tag of these repositories: pin a sha256: digest instead once you know it');
    lines.push(...repositories.flatMap((r) => approvalEntryLines(4, 'image', r, expires)));
    entries++;
  }
  if (creator && anonymousCreator(f))
    lines.push(
      `  # the creator ${comment(creator)} is anonymous: no containers: entry approves it; turn anonymous access off`,
    );
  else if (creator && entries > 0)
    lines.push(
      `  # or approve what this identity deploys (in every namespace, not only ${comment(text(f, 'namespace') ?? '?')}):`,
      '  # creators:',
      ...approvalEntryLines(4, 'creator', creator, expires).map((l) => `  #${l.slice(3)}`),
    );
  else if (creator) {
    lines.push('  creators:   # in every namespace: narrow it if you can');
    lines.push(...approvalEntryLines(4, 'creator', creator, expires));
    entries++;
  }
  // a section of comments only would be `containers: null`, which the policy refuses
  if (entries === 0)
    lines.push(
      '  labels:   # nothing else identifies it: approve it by a label you set',
      '    change-ticket:',
      ...approvalEntryLines(4, 'value', 'CHG-*', expires).map((l, i) => (i === 0 ? l.replace('- ', '  ') : l)),
    );
  return lines.join('\n');
}
