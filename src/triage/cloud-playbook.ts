/**
 * The SOC playbook asked of a cloud launch (AN0744): the escalation reasons (unauthorized VM deployment,
 * unexplained high CPU; known mining addresses are the shared reason), the next steps, the four questions
 * answered from what the control-plane log says (who launched, with which key, from where, what they
 * changed just before), the cost (instance-hours × the on-demand price of the type in its region, from
 * the bundled table or `prices.instance_hour`) and a `cloud:` policy snippet for an analyst who approves
 * it. Pure but for the bundled price table, read once. Every fact is hostile: clipped here, escaped by sinks.
 */

import { instanceFamily } from '../engine/instances.js';
import type { Cost, Finding, Question } from '../model/finding.js';
import type { Policy } from '../model/policy.js';
import { clip, inert } from '../util/hostile.js';
import { round2 } from '../util/number.js';
import { approvalEntryLines, question, strong, suggestedExpiry, yamlString } from './answer.js';
import { bundledPriceTable, instancePrice, normalisedInstanceType, type PriceTable } from './prices.js';

/** How far back the next steps ask for the principal's own history. */
const LOOKBACK_DAYS = 30;
const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[^/]{1,128}$/;

function text(f: Finding, key: string): string | undefined {
  const v = f.facts[key];
  return typeof v === 'string' && v.length > 0 ? clip(v, 200) : undefined;
}

function texts(f: Finding, key: string, max = 4): string[] {
  const v = f.facts[key];
  return Array.isArray(v) ? v.slice(0, max).map((x) => clip(String(x), 200)) : [];
}

function num(f: Finding, key: string): number | undefined {
  const v = f.facts[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function provider(f: Finding): string {
  return text(f, 'provider') ?? 'cloud';
}

/** An attempt: the provider refused the call and no instance came of it. */
function attempt(f: Finding): boolean {
  return f.entity.includes(':attempt:') || (texts(f, 'instances').length === 0 && (num(f, 'denied_requests') ?? 0) > 0);
}

/** `20 × g4dn.xlarge in aws account 123456789012 us-east-1`. */
function launchLabel(f: Finding): string {
  const n = num(f, 'instance_count');
  const types = texts(f, 'instance_types').join(', ') || 'instances of unknown type';
  const account = text(f, 'account');
  const region = text(f, 'region');
  return `${n ? `${n} × ` : ''}${types} in ${provider(f)}${account ? ` account ${account}` : ''}${region ? ` ${region}` : ''}`;
}

/** `by arn… with key AKIA… from 203.0.113.77 (Boto3/…) via RunInstances at 2026-…`. */
function launcherPhrase(f: Finding): string {
  const principal = text(f, 'principal');
  const key = text(f, 'access_key_id');
  const ip = text(f, 'source_ip');
  const agent = text(f, 'user_agent');
  const via = text(f, 'invoked_by');
  const op = text(f, 'launch_operation');
  const at = text(f, 'launched');
  return [
    principal ? `by ${principal}` : 'by an unknown principal',
    key ? `with key ${key}` : '',
    ip ? `from ${ip}` : '',
    agent ? `(${clip(agent, 80)})` : '',
    via ? `acting through ${via}` : '',
    op ? `via ${op}` : '',
    at ? `at ${at}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The credential to follow: the key when known, else the principal. */
function credential(f: Finding): string {
  const key = text(f, 'access_key_id');
  const principal = text(f, 'principal');
  return key ? `key ${key}${principal ? ` (${principal})` : ''}` : (principal ?? 'the launching identity');
}

const AUDIT_LOG: Record<string, string> = {
  aws: 'CloudTrail',
  gcp: 'Cloud Audit Logs',
  azure: 'Activity Log',
};

function auditLog(f: Finding): string {
  return AUDIT_LOG[provider(f)] ?? 'control-plane audit log';
}

export function cloudReasons(f: Finding): string[] {
  const reasons: string[] = [];
  const auth = f.legs.includes('authorization');
  if (auth)
    reasons.push(
      `${attempt(f) ? 'attempted unauthorized VM deployment' : 'unauthorized VM deployment'}: ${launchLabel(f)} ${launcherPhrase(f)}; ${text(f, 'authorization') ?? 'no approval found'}`,
    );
  if (f.legs.includes('resource') && (auth || f.legs.includes('reach'))) {
    const resource = f.evidence.find((e) => e.class === 'resource' && strong(e));
    const peak = num(f, 'cpu_pct_peak');
    reasons.push(
      `unexplained high CPU: ${resource?.explanation ?? `the instances ran at ${peak ?? '?'}%`}${auth ? '; the launch itself was not authorized' : '; the instances reached mining pools'}`,
    );
  }
  return reasons;
}

export function cloudNextSteps(f: Finding): string[] {
  const p = provider(f);
  const account = text(f, 'account');
  const ip = text(f, 'source_ip');
  const key = text(f, 'access_key_id');
  const changes =
    p === 'aws'
      ? 'IAM changes (CreateAccessKey, CreateUser, CreateLoginProfile, Attach*Policy, UpdateAssumeRolePolicy), EnableRegion, quota requests, key pairs and security-group ingress'
      : p === 'gcp'
        ? 'IAM policy and service account key changes, enabled services, quota changes, firewall rules and instance templates'
        : 'role assignments, app and service principal credentials, resource providers registered, NSG rules and scale sets';
  return [
    `Scope the other regions and the same ${key ? 'key' : 'identity'}: every launch by ${credential(f)} in every region of ${account ? `${p} ${account}` : 'the account'} (the plan's region check), and every other account or project it can reach.`,
    `Pull the ${auditLog(f)} of ${credential(f)} for the ${LOOKBACK_DAYS} days before ${text(f, 'launched') ?? f.first_seen}: ${changes} — what the attacker left beside the instances.`,
    `Find where ${key ? `key ${key}` : 'the credentials'} leaked (source repositories, CI variables, images, laptops${ip ? `; it was used from ${ip}` : ''}) before issuing new ones (see the plan's revoke step).`,
  ];
}

export function cloudQuestions(f: Finding): Question[] {
  const out: Question[] = [];
  const authEvidence = f.evidence.filter((e) => e.class === 'authorization');
  const authorization = text(f, 'authorization');
  const principal = text(f, 'principal');
  const auditGap = f.gaps.some((g) => /audit log/.test(g));
  const log = auditLog(f);

  const q1 = 'Who launched it, with which credentials, and was that authorized (policy, pipeline, ticket)?';
  if (f.suppressed_by)
    out.push(
      question(
        'legitimate-process',
        q1,
        `Approved per allowlist ${f.suppressed_by.list}: ${f.suppressed_by.reason} (owner ${f.suppressed_by.owner}, expires ${f.suppressed_by.expires}).`,
        [],
      ),
    );
  else if (principal || text(f, 'access_key_id'))
    out.push(
      question(
        'legitimate-process',
        q1,
        `${launchLabel(f)} was ${attempt(f) ? 'attempted' : 'launched'} ${launcherPhrase(f)}. Authorization: ${authorization ?? 'not judged'}. Ask the owner of ${principal ?? 'the key'} for the change ticket; none is on the approved path.`,
        authEvidence,
      ),
    );
  else
    out.push(
      question(
        'legitimate-process',
        q1,
        `no record of the launch was read${auditGap ? ` (no ${log}: see gaps)` : ''}; authorization: ${authorization ?? 'not judged'}. Search the ${log} for the instances' creation (principal, access key, source IP, user agent).`,
        undefined,
      ),
    );

  const q2 = 'What is the reputation of the address the call came from, and of the destinations the instances reached?';
  const ip = text(f, 'source_ip');
  const destinations = texts(f, 'destinations');
  const reach = f.evidence.filter(
    (e) => (e.kind === 'pool-contact' || e.kind === 'proxyware-endpoint' || e.intel) && strong(e),
  );
  const sets = [
    ...new Set(
      reach.flatMap((e) => (e.intel ? [`${e.intel.set}${e.intel.version ? ` ${e.intel.version}` : ''}`] : [])),
    ),
  ].slice(0, 4);
  const newIp = ip !== undefined && authEvidence.some((e) => e.explanation.includes(`source IP ${ip} first used`));
  const callFrom = ip
    ? `The call came from ${ip}${newIp ? ', an address this principal had not used before in the audit history' : ''}: look it up in your threat intelligence (hosting provider, VPN or Tor exit) and in the ${log} for other calls from it.`
    : `No source address of the call is known: find it in the ${log}.`;
  if (reach.length > 0)
    out.push(
      question(
        'destination-reputation',
        q2,
        `Known bad: ${reach[0].explanation}${destinations.length ? ` (the instances reached ${destinations.join(', ')})` : ''}${sets.length ? `; intel ${sets.join('; ')}` : ''}. ${callFrom}`,
        reach,
      ),
    );
  else
    out.push(
      question(
        'destination-reputation',
        q2,
        `${destinations.length ? `${destinations.join(', ')} matched none of the loaded intel sets.` : `No destination of the instances was seen${f.gaps.some((g) => /flow or DNS/.test(g)) ? ' (no flow or DNS logs: see gaps)' : ''}.`} ${callFrom}`,
        undefined,
      ),
    );

  const q3 = 'What else did that principal change recently (identities, keys, regions, quotas, other launches)?';
  const before = authEvidence
    .map((e) => /just before: ([^(]*)/.exec(e.explanation)?.[1]?.trim())
    .filter((x): x is string => !!x);
  const prelude = authEvidence.filter((e) => /just before: /.test(e.explanation));
  const denied = num(f, 'denied_requests');
  const said: string[] = [];
  if (before.length) said.push(`just before the launch: ${[...new Set(before)].join('; ')}`);
  if (denied) said.push(`${denied} of its requests were denied (probing what the key may do)`);
  const userData = text(f, 'user_data');
  if (userData) said.push(`the launch carried a startup script: ${JSON.stringify(clip(userData, 120))}`);
  if (said.length > 0)
    out.push(
      question(
        'recent-changes',
        q3,
        `The ${log} shows ${said.join('; ')}. Pull the rest of ${credential(f)}'s calls for the ${LOOKBACK_DAYS} days before it (the plan's preserve step) and check each against your change records.`,
        prelude.length > 0 ? prelude : authEvidence,
      ),
    );
  else
    out.push(
      question(
        'recent-changes',
        q3,
        `no other change by ${principal ?? 'the launching identity'} was read${auditGap ? ` (no ${log}: see gaps)` : ''}; pull its calls for the ${LOOKBACK_DAYS} days before ${text(f, 'launched') ?? f.first_seen} (the plan's preserve step): new keys, users, role trust, regions, quotas.`,
        undefined,
      ),
    );

  const q4 = 'Which key or role was exposed, and how could it have leaked?';
  const exposure = exposureOf(f);
  if (exposure)
    out.push(
      question(
        'vulnerable-exposure',
        q4,
        `${exposure} Search your repositories, CI variables, container images and laptops for it, and check who else used it (the plan's region check).`,
        authEvidence,
      ),
    );
  else
    out.push(
      question(
        'vulnerable-exposure',
        q4,
        `the credential that launched it is not known${auditGap ? ` (no ${log}: see gaps)` : ''}: find it in the ${log} (access key or service account key, session issuer), then where it was stored.`,
        undefined,
      ),
    );
  return out;
}

/** What the facts say about the exposed credential, or undefined when they name none. */
function exposureOf(f: Finding): string | undefined {
  const key = text(f, 'access_key_id');
  const principal = text(f, 'principal');
  const type = text(f, 'principal_type');
  const agent = text(f, 'user_agent');
  const used = `${text(f, 'source_ip') ? ` from ${text(f, 'source_ip')}` : ''}${agent ? ` with ${clip(agent, 80)}` : ''}`;
  const role = principal ? ASSUMED_ROLE.exec(principal) : null;
  if (key?.startsWith('AKIA'))
    return `A long-term access key, ${key}${principal ? ` of ${principal}` : ''}, was used${used}: such keys leak from code, CI settings, images and developer machines.`;
  if (role)
    return `Temporary credentials${key ? ` (${key})` : ''} of the role ${role[3]} were used${used}: find who assumed it (AssumeRole events for the session), whether they were taken from an instance's metadata service (SSRF, a compromised workload) or a CI job, and the role's trust policy.`;
  if (key?.startsWith('ASIA'))
    return `A temporary session key, ${key}${principal ? ` of ${principal}` : ''}, was used${used}: find the long-term key or role that issued it.`;
  if (provider(f) === 'gcp' && principal?.endsWith('.gserviceaccount.com'))
    return `The service account ${principal} was used${used}${key ? ` with key ${key}` : ''}: user-managed service account keys leak like passwords (key files in repositories, images, CI).`;
  if (provider(f) === 'azure' && (type === 'ServicePrincipal' || /^[0-9a-f-]{36}$/i.test(principal ?? '')))
    return `The service principal ${principal} was used${used}: its client secret or certificate may have leaked (pipelines, app settings, repositories).`;
  if (principal)
    return `${principal}${type ? ` (${type})` : ''} was used${used}: check how its credentials are stored and who holds them.`;
  return undefined;
}

/** The cost of the launch, or why there is none. */
export function cloudCost(
  f: Finding,
  policy: Policy,
  table: PriceTable = bundledPriceTable(),
): { cost: Cost | null; note?: string } {
  const hours = num(f, 'instance_hours');
  if (hours === undefined || hours <= 0)
    return {
      cost: null,
      note: attempt(f)
        ? 'no cost: the launch was denied, nothing ran'
        : 'no cost: no instance-hours (no instance telemetry after the launch was read)',
    };
  const raw = f.facts.instance_types;
  const named = Array.isArray(raw) ? raw.map(String) : [];
  const types = [...new Set(named.map(normalisedInstanceType))];
  if (types.length === 0) return { cost: null, note: 'no cost: the instance type is not known' };
  if (types.length > 1)
    return {
      cost: null,
      note: `no cost: several instance types (${types
        .slice(0, 4)
        .map((t) => inert(clip(t, 64)))
        .join(', ')}) and the instance-hours are not counted per type`,
    };
  // priced by its lowercase name, shown as the provider spells it (Standard_NC6s_v3)
  const type = types[0];
  const asNamed = clip(named[0].split('/').pop() ?? type, 64);
  const shown = inert(asNamed);
  const n = num(f, 'instance_count');
  const head = `${n ? `${n} × ` : ''}${shown}, ${hours} instance-hours`;
  const override =
    policy.prices.instanceHour && Object.hasOwn(policy.prices.instanceHour, type)
      ? policy.prices.instanceHour[type]
      : undefined;
  const currency = policy.prices.currency;
  if (override !== undefined)
    return {
      cost: {
        core_hours: 0,
        price_per_core_hour: 0,
        instance_hours: hours,
        instance_type: asNamed,
        price_per_instance_hour: override,
        currency,
        amount: round2(hours * override),
        basis: `${head} × ${override} ${currency} (prices.instance_hour in the policy)`,
      },
    };
  const p = provider(f);
  const price = instancePrice(table, p, text(f, 'region'), type);
  if (!price)
    return {
      cost: null,
      note: `no cost: ${p} ${shown} is not in the price table (${table.name}${table.rows.size === 0 && table.bad[0] ? `: ${table.bad[0].reason}` : ''}); set prices.instance_hour for it in coalmine.yaml`,
    };
  if (currency !== 'USD')
    return {
      cost: null,
      note: `no cost: the bundled price table is in USD and prices.currency is ${currency}; set prices.instance_hour for ${shown} in ${currency}`,
    };
  const region = text(f, 'region');
  const where =
    price.fallback && region ? `${price.pricedIn} price, no row for ${inert(clip(region, 40))}` : price.pricedIn;
  return {
    cost: {
      core_hours: 0,
      price_per_core_hour: 0,
      instance_hours: hours,
      instance_type: asNamed,
      price_per_instance_hour: price.usdPerHour,
      currency: 'USD',
      amount: round2(hours * price.usdPerHour),
      basis: `${head} × ${price.usdPerHour} USD (${table.name}, ${where})`,
    },
  };
}

/** The policy's name for a launching principal: an assumed-role session is approved by its role. */
function approvedPrincipal(principal: string): string {
  const role = ASSUMED_ROLE.exec(principal);
  return role ? `arn:${role[1]}:iam::${role[2]}:role/${role[3]}` : principal;
}

/** The `cloud:` family glob of an instance type: `g4dn.*`, `n2-standard-*`, `Standard_NC6s_v*`. */
function familyGlob(type: string): string {
  const t = type.split('/').pop() ?? type;
  const family = instanceFamily(t);
  if (t.includes('.')) return `${family}.*`;
  if (t.startsWith(`${family}-`)) return `${family}-*`;
  return `${family}*`;
}

/** A fact the policy would take as an entry: a string of 1–512 characters on one line, with no glob star. */
function entryFact(f: Finding, key: string): string | undefined {
  const v = f.facts[key];
  return typeof v === 'string' && v.length > 0 && v.length <= 512 && !/[\u0000-\u001f\u007f*]/.test(v) ? v : undefined;
}

/** A `cloud:` entry approving launches like this one, for the analyst who decides it is legitimate. */
export function cloudSuggestion(f: Finding): string {
  const expires = suggestedExpiry(f.last_seen);
  const comment = (value: string) => JSON.stringify(inert(value));
  const principal = entryFact(f, 'principal');
  const via = entryFact(f, 'invoked_by');
  const region = entryFact(f, 'region');
  const types = texts(f, 'instance_types', 8).filter((t) => /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/.test(t));
  const families = [...new Set(types.map(familyGlob))];
  const lines = [
    `# AN0744: only if ${comment(`${launchLabel(f)} ${launcherPhrase(f)}`)} is approved; fill in the owner and reason (past its expiry it approves nothing):`,
    'cloud:',
  ];
  if (principal) {
    const approved = approvedPrincipal(principal);
    lines.push(`  principals:${approved !== principal ? '   # the role: every session of it' : ''}`);
    lines.push(...approvalEntryLines(4, 'principal', approved, expires));
  } else if (via) {
    lines.push('  services:   # the service that launched for the account');
    lines.push(...approvalEntryLines(4, 'service', via, expires));
  } else {
    lines.push(
      `  principals:   # ${text(f, 'principal') ? 'the principal read cannot be an entry (control characters, a star or too long)' : 'no principal was read'}: name the one that should`,
    );
    lines.push(...approvalEntryLines(4, 'principal', '<the identity that launches these>', expires));
  }
  if (region) lines.push(`  regions: [${yamlString(region)}]`);
  if (families.length) lines.push(`  instance_families: [${families.map(yamlString).join(', ')}]`);
  lines.push(
    '  tags: { change-ticket: "CHG-*" }   # require a ticket tag on every approved launch; rename to your tag',
  );
  return lines.join('\n');
}
