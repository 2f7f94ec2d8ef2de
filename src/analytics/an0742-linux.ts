/**
 * AN0742 (Linux): abnormal CPU/memory by an unauthorized process, with outbound connections to
 * mining pools or cron/script persistence tied to that executable. Three legs, graded per
 * PRODUCT.md §5:
 *   resource — sustained CPU or GPU / memory / hidden CPU (medium or stronger)
 *   process  — the process is unauthorized-looking: miner, proxyware, masquerade, dropper lineage,
 *              miner tuning, killing rivals
 *   reach    — pool/proxy contact, or persistence (a weak, ordinary-looking cron line counts only when
 *              it launches a process the process leg already flagged)
 * An entry that runs a miner alone (its command's miner evidence, the host's) is one leg: low.
 */

import { exportsWithoutCpuNote } from '../model/coverage.js';
import { isEntryCommand } from '../signals/persistence.js';
import { draftFinding } from './explain.js';
import { atLeast, gradeSeverity, leg } from './grade.js';
import type { Analytic, ClusterView, FindingDraft } from './types.js';

const PROCESS_KINDS = new Set([
  'miner-process',
  'proxyware-process',
  'masquerade',
  'dropper',
  'miner-tuning',
  'competitor-kill',
]);
const NETWORK_KINDS = new Set(['pool-contact', 'mining-port', 'proxyware-endpoint', 'proxy-relay']);
/** The masquerade verdict that says only where the executable lives. */
const LOCATION_ONLY = 'process:suspicious-location';
const LEG_LABEL: Record<string, string> = {
  resource: 'abnormal CPU/GPU/memory',
  process: 'unauthorized process',
  reach: 'pool contact or persistence',
};

export function evaluateLinux(analytic: string, view: ClusterView): FindingDraft | undefined {
  const { evidence, host } = view;
  const resource = evidence.filter((s) => s.class === 'resource');
  // what a persistence entry will run is no process seen: the entry already holds reach, and one entry is one
  // leg. It stays evidence, and the strong mining signal a low finding rests on (grade.ts)
  const proc = evidence.filter((s) => PROCESS_KINDS.has(s.kind) && !isEntryCommand(s));
  const network = evidence.filter((s) => NETWORK_KINDS.has(s.kind));
  const persistence = evidence.filter((s) => s.class === 'persistence');
  // where a program runs from is not on its own what makes it unauthorized: builds, test binaries and
  // unpacked tools run from /tmp and hidden caches and burn CPU all day. It holds the process leg only
  // beside another process sign or reach (pool contact, persistence)
  const telling = proc.filter((s) => s.by !== LOCATION_ONLY);
  const network0 = atLeast(network, 'medium').length > 0 || atLeast(persistence, 'medium').length > 0;
  const processLeg = leg(
    'process',
    proc,
    atLeast(telling, 'medium').length > 0 || (network0 && atLeast(proc, 'medium').length > 0),
  );
  const reachHolds =
    network0 || (processLeg.holds && persistence.some((s) => s.subject?.persistenceTarget !== undefined));
  const legs = [leg('resource', resource), processLeg, leg('reach', [...network, ...persistence], reachHolds)];
  const severity = gradeSeverity(legs, evidence);
  if (!severity) return undefined;

  const gaps: string[] = [];
  const h = host.name;
  if (!legs[0].holds) {
    if (!host.has('process-cpu'))
      gaps.push(
        `partial: per-process CPU telemetry missing for ${h} (add metrics CSV with host/pid rows or osquery processes snapshots): sustained CPU could not be assessed${exportsWithoutCpuNote(host.coverage.get('process')?.formats)}`,
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

  return draftFinding(analytic, view, legs, severity, gaps, LEG_LABEL);
}

export const an0742Linux: Analytic = {
  id: 'AN0742',
  title: 'Linux compute hijacking: abnormal CPU by an unauthorized process with pool contact or persistence',
  platforms: ['linux', 'unknown'],
  evaluate: (view) => evaluateLinux('AN0742', view),
};
