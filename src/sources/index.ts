/** The sources, one line each. Order breaks sniff ties: more specific formats first. */
import { auditd } from './auditd.js';
import { azureActivity } from './azure-activity.js';
import { azureFlow } from './azure-flow.js';
import { azureMetrics } from './azure-metrics.js';
import { carbonBlack } from './carbon-black.js';
import { cloudtrail } from './cloudtrail.js';
import { cloudwatchMetrics } from './cloudwatch-metrics.js';
import { crowdstrikeFdr } from './crowdstrike-fdr.js';
import { defender } from './defender.js';
import { dockerEvents } from './docker-events.js';
import { dockerInspect } from './docker-inspect.js';
import { dockerStats } from './docker-stats.js';
import { elasticEndpoint } from './elastic-endpoint.js';
import { evtx } from './evtx/index.js';
import { evtxJson } from './evtx-json.js';
import { evtxXml } from './evtx-xml.js';
import { falco } from './falco.js';
import { gcpAudit } from './gcp-audit.js';
import { gcpFlow } from './gcp-flow.js';
import { gcpMonitoring } from './gcp-monitoring.js';
import { guardduty } from './guardduty.js';
import { k8sAudit } from './k8s-audit.js';
import { k8sInventory } from './k8s-inventory.js';
import { metricsCsv } from './metrics-csv.js';
import { ndjson } from './ndjson.js';
import { osquery } from './osquery.js';
import { pcap } from './pcap/index.js';
import { crontab } from './persistence/crontab.js';
import { ldSoPreload } from './persistence/ld-so-preload.js';
import { shellRc } from './persistence/shell-rc.js';
import { systemdUnit } from './persistence/systemd-unit.js';
import { prometheus } from './prometheus.js';
import { route53Resolver } from './route53-resolver.js';
import { sentinelone } from './sentinelone.js';
import { suricata } from './suricata.js';
import { sysmonLinux } from './sysmon-linux.js';
import { tetragon } from './tetragon.js';
import { typeperf } from './typeperf.js';
import type { SourceDescriptor, SourceInput } from './types.js';
import { vpcFlow } from './vpc-flow.js';
import { winlogbeat } from './winlogbeat.js';
import { zeek } from './zeek.js';

export const sources: SourceDescriptor[] = [
  evtx,
  pcap,
  auditd,
  osquery,
  sysmonLinux,
  evtxXml,
  evtxJson,
  winlogbeat,
  elasticEndpoint,
  zeek,
  suricata,
  prometheus,
  cloudwatchMetrics,
  dockerStats,
  cloudtrail,
  vpcFlow,
  route53Resolver,
  k8sAudit,
  k8sInventory,
  gcpAudit,
  gcpFlow,
  gcpMonitoring,
  azureActivity,
  azureFlow,
  azureMetrics,
  dockerEvents,
  dockerInspect,
  crowdstrikeFdr,
  sentinelone,
  defender,
  tetragon,
  falco,
  carbonBlack,
  guardduty,
  ndjson,
  typeperf,
  metricsCsv,
  crontab,
  systemdUnit,
  shellRc,
  ldSoPreload,
];

export function sourceNamed(name: string): SourceDescriptor | undefined {
  return sources.find((s) => s.name === name);
}

/** The best-scoring source for an input, or undefined when none recognises it. */
export function sniffSource(
  input: Pick<SourceInput, 'head' | 'name' | 'relPath' | 'localPath'>,
): SourceDescriptor | undefined {
  const head = input.head.toString('utf8');
  let best: SourceDescriptor | undefined;
  let bestScore = 0;
  for (const source of sources) {
    let score = 0;
    try {
      score = source.sniff(head, input);
    } catch {
      score = 0; // a sniffer must never take the run down
    }
    if (score > bestScore) {
      best = source;
      bestScore = score;
    }
  }
  return best;
}
