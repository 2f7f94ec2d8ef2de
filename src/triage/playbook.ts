/**
 * The SOC playbook (seeds/004, PRODUCT.md §6) applied to one finding: the escalation decision with
 * its reasons, the four questions for analysis answered from the evidence where it can be (and
 * "needs an analyst" with what to look at where it cannot), a containment plan in the playbook's
 * order with commands filled in for this entity, the cost, and the allowlist entry an analyst would
 * add if this is legitimate. Pure: the finding and the policy in, the triage out. Commands are
 * printed for a human; coalmine never runs them.
 */
import type { Evidence, Finding, PlanStep, ProcessFacts, Question, Triage } from '../model/finding.js';
import type { Policy } from '../model/policy.js';
import { containmentPlan, platformOf } from './containment.js';

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
/** Days an allowlist suggestion is valid for: long enough to matter, short enough to be re-reviewed. */
const SUGGESTED_EXPIRY_DAYS = 90;

function sources(evidence: Evidence[], max = 6): string[] {
  return [...new Set(evidence.map((e) => e.source))].slice(0, max);
}

function strong(e: Evidence): boolean {
  return e.strength !== 'weak';
}

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
  const unauthorized = f.legs.includes('process') || f.legs.includes('command');
  const resource = f.evidence.filter((e) => e.class === 'resource' && strong(e));
  if (f.legs.includes('resource') && unauthorized)
    reasons.push(
      `unauthorized high CPU with no valid explanation: ${resource[0]?.explanation ?? `${label(primary)} ran hot`}; no allowlist entry authorizes it`,
    );
  const pools = f.evidence.filter((e) => e.kind === 'pool-contact' && strong(e));
  if (pools.length > 0) {
    const where = (f.facts.destinations as string[] | undefined)?.slice(0, 4).join(', ') ?? 'a known pool';
    reasons.push(`connections to known mining addresses: ${where}`);
  }
  const proxy = f.evidence.filter((e) => (e.kind === 'proxyware-endpoint' || e.kind === 'proxy-relay') && strong(e));
  if (proxy.length > 0) reasons.push(`proxyjacking: ${proxy[0].explanation}`);
  const deployments = f.evidence.filter((e) => e.class === 'cloud' || e.by.endsWith('-image'));
  if (deployments.length > 0) reasons.push(`unauthorized container or VM deployment: ${deployments[0].explanation}`);
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

function question(id: Question['id'], text: string, answer: string, evidence: Evidence[] | undefined): Question {
  return evidence
    ? { id, question: text, status: 'answered', answer, evidence: sources(evidence) }
    : { id, question: text, status: 'needs-analyst', answer, evidence: [] };
}

function questions(f: Finding): Question[] {
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
  if (service)
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

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function cost(f: Finding, policy: Policy): Triage['cost'] {
  if (!f.usage) return null;
  const price = policy.prices.coreHour;
  return {
    core_hours: f.usage.core_hours,
    price_per_core_hour: price,
    currency: policy.prices.currency,
    amount: round2(f.usage.core_hours * price),
    basis: f.usage.basis,
  };
}

/** YAML scalars as JSON strings: always valid YAML, whatever the value holds. */
function yamlString(value: string): string {
  return JSON.stringify(value);
}

function allowlistSuggestion(f: Finding): string {
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

export function triageFinding(f: Finding, policy: Policy): Triage {
  const steps: PlanStep[] = containmentPlan(f);
  return {
    escalation: escalation(f),
    questions: questions(f),
    containment: { platform: platformOf(f), steps },
    cost: cost(f, policy),
    allowlist_suggestion: allowlistSuggestion(f),
  };
}
