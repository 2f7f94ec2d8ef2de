/**
 * AN0742 (Linux): abnormal CPU/memory by an unauthorized process, with outbound connections to
 * mining pools or cron/script persistence tied to that executable. Three legs, graded per
 * PRODUCT.md §5:
 *   resource — sustained CPU / memory / hidden CPU (medium or stronger)
 *   process  — the process is unauthorized-looking: miner, proxyware, masquerade, dropper lineage,
 *              miner tuning, killing rivals
 *   reach    — pool/proxy contact, or persistence (a weak, ordinary-looking cron line counts only when
 *              it launches a process the process leg already flagged)
 */

import { basename, type ProcInfo } from '../engine/process-table.js';
import { type EntityKey, entityKey } from '../model/entity.js';
import type { Signal } from '../model/signal.js';
import { STRENGTH_RANK } from '../model/signal.js';
import { atLeast, confidenceOf, gradeSeverity, leg } from './grade.js';
import type { Analytic, ClusterView, FindingDraft } from './types.js';

const PROCESS_KINDS = new Set([
  'miner-process',
  'proxyware-process',
  'masquerade',
  'dropper',
  'miner-tuning',
  'competitor-kill',
]);
const NETWORK_KINDS = new Set(['pool-contact', 'mining-port', 'proxyware-endpoint']);
const MINING_KINDS = new Set([
  'miner-process',
  'pool-contact',
  'mining-port',
  'competitor-kill',
  'miner-tuning',
  'hidden-cpu',
]);
const PROXY_KINDS = new Set(['proxyware-process', 'proxyware-endpoint']);

const LEG_LABEL: Record<string, string> = {
  resource: 'abnormal CPU/memory',
  process: 'unauthorized process',
  reach: 'pool contact or persistence',
};

export function evaluateLinux(analytic: string, view: ClusterView): FindingDraft | undefined {
  const { evidence, host } = view;
  const resource = evidence.filter((s) => s.class === 'resource');
  const proc = evidence.filter((s) => PROCESS_KINDS.has(s.kind));
  const network = evidence.filter((s) => NETWORK_KINDS.has(s.kind));
  const persistence = evidence.filter((s) => s.class === 'persistence');
  const processLeg = leg('process', proc);
  const reachHolds =
    atLeast(network, 'medium').length > 0 ||
    atLeast(persistence, 'medium').length > 0 ||
    (processLeg.holds && persistence.some((s) => s.subject?.persistenceTarget !== undefined));
  const legs = [leg('resource', resource), processLeg, leg('reach', [...network, ...persistence], reachHolds)];
  const severity = gradeSeverity(legs, evidence);
  if (!severity) return undefined;

  const gaps: string[] = [];
  const h = host.name;
  if (!legs[0].holds) {
    if (!host.has('process-cpu'))
      gaps.push(
        `partial: per-process CPU telemetry missing for ${h} (add metrics CSV with host/pid rows or osquery processes snapshots): sustained CPU could not be assessed`,
      );
  }
  if (!legs[1].holds && !host.has('process'))
    gaps.push(`partial: process execution telemetry missing for ${h} (auditd execve, osquery processes)`);
  if (!legs[2].holds) {
    if (!host.has('network'))
      gaps.push(
        `partial: network telemetry missing for ${h} (auditd connect, osquery process_open_sockets): pool contact could not be seen`,
      );
    if (!host.has('persistence'))
      gaps.push(
        `partial: persistence telemetry missing for ${h} (cron/systemd files from the host, auditd file writes)`,
      );
  }

  const primary = primaryProcess(view);
  const entity: EntityKey = primary?.key ?? view.cluster.key;
  const mining = evidence.some((s) => MINING_KINDS.has(s.kind));
  const proxy = evidence.some((s) => PROXY_KINDS.has(s.kind));
  const attack = mining || !proxy ? ['T1496.001'] : ['T1496.002'];
  if (mining && proxy) attack.push('T1496.002');
  const held = legs.filter((l) => l.holds).map((l) => l.name);
  const what = proxy && !mining ? 'Proxyjacking' : 'Cryptomining';
  const who = primary ? describe(primary) : `host ${h}`;
  return {
    analytic,
    title: `${what} on ${h}: ${who}`,
    attack,
    severity,
    confidence: confidenceOf(legs, evidence, gaps.length),
    entity,
    related: relatedEntities(view, entity, primary),
    legs: held,
    summary: `${held.length} of 3 legs: ${held.map((l) => LEG_LABEL[l]).join(', ') || 'none'}${
      legs.some((l) => !l.holds)
        ? `; missing: ${legs
            .filter((l) => !l.holds)
            .map((l) => LEG_LABEL[l.name])
            .join(', ')}`
        : ''
    }`,
    evidence,
    gaps,
    facts: factsOf(primary, evidence, host.name),
  };
}

/** Lineage processes, then the host and the user the primary process ran as. */
function relatedEntities(view: ClusterView, entity: EntityKey, primary: ProcInfo | undefined): EntityKey[] {
  const keys = view.processes.map((p) => p.key).filter((k) => k !== entity);
  keys.push(entityKey('host', view.host.name));
  if (primary?.user) keys.push(entityKey('user', view.host.name, primary.user));
  return keys;
}

function describe(p: ProcInfo): string {
  const name = p.name ?? (p.executable ? basename(p.executable) : 'process');
  return `${name} (pid ${p.pid ?? '?'}${p.executable ? `, ${p.executable}` : ''})`;
}

/** The process the finding is about: the one carrying the most (and strongest) process/resource evidence. */
function primaryProcess(view: ClusterView): ProcInfo | undefined {
  const score = new Map<EntityKey, number>();
  for (const s of view.evidence) {
    if (s.class !== 'process' && s.class !== 'resource' && s.class !== 'network') continue;
    const weight = s.kind === 'miner-process' || s.kind === 'proxyware-process' ? 3 : s.kind === 'dropper' ? 0.5 : 1;
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

function factsOf(
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
  return facts;
}

export const an0742Linux: Analytic = {
  id: 'AN0742',
  title: 'Linux compute hijacking: abnormal CPU by an unauthorized process with pool contact or persistence',
  platforms: ['linux', 'unknown'],
  evaluate: (view) => evaluateLinux('AN0742', view),
};
