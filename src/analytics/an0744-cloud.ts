/**
 * AN0744 (IaaS): sudden cloud VM CPU with outbound traffic to mining pools and unauthorized instance
 * creation. One finding per launch (20 instances of one call are one finding with a count). Legs:
 *   resource      — instance CPU held high: a sudden rise against its own history, or pinned from launch
 *   reach         — flows or DNS to pools (intel, Stratum), a provider's detector naming mining (GuardDuty)
 *   authorization — created off the approved path (`cloud:` policy), or by a first-seen principal,
 *                   region, family, source IP or count after a day of history; a denied attempt; a
 *                   launch whose userData or task carries a miner or downloader
 * 3 legs → high, 2 → medium; an unauthorized GPU or fleet launch, or a denied attempt, with no instance
 * telemetry → low with the gaps that would decide it; one strong pool contact alone → low.
 */

import { isBigLaunch } from '../engine/instances.js';
import { entityKey } from '../model/entity.js';
import { isoFromMs } from '../model/event.js';
import type { Severity } from '../model/finding.js';
import { round2 } from '../util/number.js';
import { cloudWhere, noCloudAuditGap, noFlowOrDnsGap, noInstanceCpuGap } from './cloud-gaps.js';
import { attackOf, factsOf, legSummary } from './explain.js';
import { confidenceOf, type Leg, leg } from './grade.js';
import type { FindingDraft, LaunchAnalytic, LaunchView } from './types.js';

const REACH_KINDS = new Set(['pool-contact', 'mining-port', 'proxyware-endpoint', 'proxy-relay']);
/** What a launch's own userData or task definition says it runs: proof the launch was not an approved one. */
const LAUNCH_PAYLOAD_KINDS = new Set(['miner-process', 'proxyware-process', 'dropper', 'miner-tuning']);
const LEG_LABEL: Record<string, string> = {
  resource: 'instance CPU spike',
  reach: 'pool traffic from the instance',
  authorization: 'unauthorized instance creation',
};
const MAX_LIST = 16;

export function evaluateCloud(view: LaunchView): FindingDraft | undefined {
  const { launch: l, instances, evidence } = view;
  const resource = evidence.filter((s) => s.class === 'resource');
  const reach = evidence.filter((s) => REACH_KINDS.has(s.kind));
  const authorization = evidence.filter(
    (s) => s.class === 'authorization' || (LAUNCH_PAYLOAD_KINDS.has(s.kind) && s.ref === l.origin?.ref),
  );
  const legs: Leg[] = [leg('resource', resource), leg('reach', reach), leg('authorization', authorization)];
  const [res, rch, auth] = legs;
  const held = legs.filter((x) => x.holds).length;
  const noTelemetry =
    !l.telemetry.has('cpu') && !l.telemetry.has('gpu') && !l.telemetry.has('network') && !l.telemetry.has('dns');
  let severity: Severity | undefined;
  if (held === 3) severity = 'high';
  else if (held === 2) severity = 'medium';
  // off the path with nothing to judge it by: low for a denied attempt, or a GPU, very large or fleet launch
  else if (
    auth.holds &&
    (l.denied > 0 ||
      (noTelemetry &&
        isBigLaunch(
          [...(l.origin?.instanceTypes ?? []), ...instances.flatMap((i) => (i.type ? [i.type] : []))],
          Math.max(instances.length, l.origin?.count ?? 0),
        )))
  )
    severity = 'low';
  else if (reach.some((s) => s.strength === 'strong' && s.kind === 'pool-contact')) severity = 'low';
  if (!severity) return undefined;
  // a busy machine that is its own normal, with nothing else, is never a finding
  if (held === 1 && res.holds && !rch.holds && !auth.holds) return undefined;

  const where = cloudWhere(l.provider, l.account, l.region);
  const rt = view.regionTelemetry;
  const gaps: string[] = [];
  if (!auth.holds && !rt.has('audit')) gaps.push(`partial: ${noCloudAuditGap(where)}`);
  if (!rch.holds && !rt.has('network') && !rt.has('dns') && !l.telemetry.has('network'))
    gaps.push(`partial: ${noFlowOrDnsGap(where)}`);
  if (!res.holds && !l.telemetry.has('cpu') && !l.telemetry.has('gpu'))
    gaps.push(`partial: ${noInstanceCpuGap(where)}`);

  const o = l.origin;
  const ids = instances.map((i) => i.id);
  const count = Math.max(ids.length, o?.count ?? 0);
  const types = [
    ...new Set([...(o?.instanceTypes ?? []), ...instances.map((i) => i.type).filter((x): x is string => !!x)]),
  ];
  const attempt = ids.length === 0 && l.denied > 0;
  const { attack, what } = attackOf(evidence);
  const facts = factsOf(undefined, evidence, l.account ? `${l.provider}:${l.account}` : l.provider);
  facts.provider = l.provider;
  if (l.account) facts.account = l.account;
  if (l.region) facts.region = l.region;
  if (ids.length) facts.instances = ids.slice(0, MAX_LIST);
  if (count) facts.instance_count = count;
  if (types.length) facts.instance_types = types.slice(0, 8);
  if (o?.image) facts.image = o.image;
  if (o?.principal) facts.principal = o.principal;
  if (o?.principalType) facts.principal_type = o.principalType;
  if (o?.accessKeyId) facts.access_key_id = o.accessKeyId;
  if (o?.sourceIp) facts.source_ip = o.sourceIp;
  if (o?.userAgent) facts.user_agent = o.userAgent;
  if (o?.invokedBy) facts.invoked_by = o.invokedBy;
  // hosts whose own telemetry runs on these instances: their AN0742/AN0741 findings are the inside view
  if (view.hosts.length) facts.hosts = view.hosts.slice(0, MAX_LIST);
  if (o) {
    facts.launched = isoFromMs(o.ts);
    facts.launch_operation = o.operation;
  }
  if (o?.userData) facts.user_data = o.userData.slice(0, 400);
  if (l.denied) facts.denied_requests = l.denied;
  facts.authorization =
    l.authorizationNote ??
    (l.authorizedBy
      ? `authorized by ${l.authorizedBy}`
      : o
        ? 'no verdict on the launch'
        : 'not judged: the launch was not in the audit log read');
  const peak = Math.max(0, ...instances.map((i) => i.cpu.peakPct));
  if (peak > 0) facts.cpu_pct_peak = Math.round(peak);
  const instanceHours =
    instances.reduce((sum, i) => sum + Math.max(0, (i.endedMs ?? i.lastSeenMs) - (i.launchedMs ?? i.firstSeenMs)), 0) /
    3_600_000;
  if (instanceHours > 0) facts.instance_hours = round2(instanceHours);

  const related = [
    ...instances.slice(0, MAX_LIST).map((i) => i.key),
    ...(o?.principal ? [entityKey('principal', o.principal)] : []),
    ...(l.account ? [entityKey('account', l.provider, l.account)] : []),
  ].filter((k) => k !== l.key);
  // an Azure id is a resource path: its last segment names the VM
  const shown = (id: string) => id.slice(id.lastIndexOf('/') + 1) || id;
  const typeList = types.join(', ');
  const subject = attempt
    ? `an attempt to launch ${o?.count ?? ''} ${typeList}`.replace(/\s+/g, ' ').trim()
    : ids.length === 0
      ? `a launch of ${count > 0 ? `${count} ` : ''}${typeList || 'instances of unknown type'}`
      : count > 1
        ? `${count} instances (${typeList || 'type unknown'})`
        : `instance ${shown(ids[0])}${types.length ? ` (${typeList})` : ''}`;
  return {
    analytic: 'AN0744',
    title: `${attempt ? 'Denied cloud launch' : what}: ${subject} in ${where}${o?.principal ? ` by ${o.principal}` : ''}`,
    attack,
    severity,
    confidence: confidenceOf(legs, evidence, gaps.length),
    entity: l.key,
    related,
    legs: legs.filter((x) => x.holds).map((x) => x.name),
    summary: legSummary(legs, LEG_LABEL),
    evidence,
    gaps,
    facts,
    processes: [],
    // cost is instance-hours × the type's price (facts.instance_hours), not core-hours: no usage until the price table lands
    usage: null,
  };
}

export const an0744Cloud: LaunchAnalytic = {
  id: 'AN0744',
  title: 'IaaS: instance CPU spike with pool traffic and unauthorized instance creation',
  evaluate: (view) => evaluateCloud(view),
};
