/**
 * AN0741 (Windows): persistent high CPU, suspicious command-line execution (mining tools, obfuscated
 * scripts, download cradles, proxyware) and outbound connections to mining or proxy networks, on one
 * process tree (ProcessGuid lineage). Three legs, graded per PRODUCT.md §5:
 *   resource — sustained CPU or GPU / memory / hidden CPU (medium or stronger)
 *   command  — a suspicious command line or image in the tree: miner, proxyware, masquerade,
 *              obfuscation, cradle, miner tuning, killing rivals
 *   network  — pool or proxyware contact (DNS or connection); a mining port alone is weak
 * Scheduled-task persistence that launches the tree is shown as evidence but is not a leg: AN0741 is
 * about the run, not how it survives reboots. Gaps name the Windows setting or tool that would close
 * them, since "enable command-line auditing" is what the analyst actually has to ask for.
 */
import { exportsWithoutCpuNote } from '../model/coverage.js';
import type { SignalKind } from '../model/signal.js';
import { draftFinding } from './explain.js';
import { gradeSeverity, leg } from './grade.js';
import type { Analytic, ClusterView, FindingDraft } from './types.js';

const COMMAND_KINDS = new Set<SignalKind>([
  'miner-process',
  'proxyware-process',
  'masquerade',
  'obfuscation',
  'dropper',
  'miner-tuning',
  'competitor-kill',
]);
const NETWORK_KINDS = new Set<SignalKind>(['pool-contact', 'mining-port', 'proxyware-endpoint', 'proxy-relay']);
const LEG_LABEL: Record<string, string> = {
  resource: 'persistent high CPU/GPU',
  command: 'suspicious command line',
  network: 'mining/proxy network contact',
};

export function evaluateWindows(analytic: string, view: ClusterView): FindingDraft | undefined {
  const { evidence, host } = view;
  const legs = [
    leg(
      'resource',
      evidence.filter((s) => s.class === 'resource'),
    ),
    leg(
      'command',
      evidence.filter((s) => COMMAND_KINDS.has(s.kind)),
    ),
    leg(
      'network',
      evidence.filter((s) => NETWORK_KINDS.has(s.kind)),
    ),
  ];
  const severity = gradeSeverity(legs, evidence);
  if (!severity) return undefined;

  const h = host.name;
  const gaps: string[] = [];
  if (!legs[0].holds && !host.has('process-cpu'))
    gaps.push(
      host.has('host-cpu')
        ? `partial: per-process CPU telemetry missing for ${h} (only total CPU was given; collect typeperf "\\Process(*)\\% Processor Time" and "\\Process(*)\\ID Process"): sustained CPU could not be tied to a process${exportsWithoutCpuNote(host.coverage.get('process')?.formats)}`
        : `partial: no CPU telemetry for ${h} (collect typeperf "\\Process(*)\\% Processor Time", "\\Process(*)\\ID Process" and "\\Processor(_Total)\\% Processor Time"): persistent high CPU could not be assessed${exportsWithoutCpuNote(host.coverage.get('process')?.formats)}`,
    );
  if (!legs[1].holds) {
    if (!host.has('process'))
      gaps.push(
        `partial: process creation telemetry missing for ${h} (Sysmon event 1 or Security 4688): command lines could not be assessed`,
      );
    else if (!host.has('command-line'))
      gaps.push(
        `partial: process creation events for ${h} have no command line (4688 without CommandLine: enable "Include command line in process creation events"): command lines could not be assessed`,
      );
  }
  if (!legs[2].holds && !host.has('network'))
    gaps.push(
      `partial: network telemetry missing for ${h} (Sysmon events 3 and 22, Security 5156): mining/proxy contact could not be seen`,
    );

  return draftFinding(analytic, view, legs, severity, gaps, LEG_LABEL);
}

export const an0741Windows: Analytic = {
  id: 'AN0741',
  title:
    'Windows compute hijacking: persistent high CPU with suspicious command lines and mining/proxy network contact',
  platforms: ['windows'],
  evaluate: (view) => evaluateWindows('AN0741', view),
};
