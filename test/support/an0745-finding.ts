/**
 * A hand-built AN0745 finding with the facts the contract (notes c13-design) names: an anonymous
 * identity's miner DaemonSet on three nodes. Tests override what they exercise.
 */
import type { Evidence, Finding } from '../../src/model/finding.js';

export const DIGEST = `sha256:${'ab12'.repeat(16)}`;

export function containerEvidence(
  kind: Evidence['kind'],
  cls: Evidence['class'],
  extra: Partial<Evidence> = {},
): Evidence {
  return {
    kind,
    class: cls,
    strength: 'strong',
    time: '2026-12-01T02:13:05.000Z',
    source: 'audit/audit.log:14',
    explanation: `${kind} evidence`,
    by: `test:${kind}`,
    entity: 'workload:prod:kube-system:kube-netmon',
    ...extra,
  };
}

export function an0745Finding(extra: Partial<Finding> = {}, facts: Finding['facts'] = {}): Finding {
  return {
    id: 'cm-745',
    analytic: 'AN0745',
    title: 'Cryptomining in DaemonSet kube-system/kube-netmon',
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.9,
    entity: 'workload:prod:kube-system:kube-netmon',
    related: [],
    host: 'prod',
    first_seen: '2026-12-01T02:13:05.000Z',
    last_seen: '2026-12-01T02:29:00.000Z',
    legs: ['resource', 'authorization', 'tool'],
    summary: '',
    evidence: [
      containerEvidence('unauthorized-workload', 'authorization', {
        by: 'engine:workload-anonymous',
        explanation: 'create DaemonSet kube-netmon in namespace kube-system by system:anonymous from 203.0.113.45',
      }),
      containerEvidence('privileged-workload', 'authorization', {
        strength: 'medium',
        by: 'workload:host-access',
        source: 'pods.json:4',
        explanation: 'DaemonSet kube-netmon asks for the host: privileged container netmon, hostPID, hostPath /',
      }),
      containerEvidence('pool-contact', 'network', {
        source: 'tetragon.json:17',
        explanation: 'xmrig connected to 198.51.100.23:443, the pool pool.supportxmr.com:443',
        intel: { set: 'pool-domains', source: 'Falco rules', version: 'falco@18aa700' },
      }),
      containerEvidence('sustained-cpu', 'resource', {
        source: 'prometheus.json#series 4',
        explanation: 'container kube-netmon-fxx9t/netmon used 1.99 cores, at or above 90% of its 2-core limit',
      }),
    ],
    gaps: [],
    suppressed_by: null,
    facts: {
      host: 'prod',
      cluster: 'prod',
      namespace: 'kube-system',
      workload: 'DaemonSet/kube-netmon',
      workload_kind: 'DaemonSet',
      workload_name: 'kube-netmon',
      runtime: 'kubernetes',
      replicas: 3,
      pods: ['kube-netmon-fxx9t', 'kube-netmon-2z59n', 'kube-netmon-hp4wt'],
      containers: ['netmon'],
      container_ids: ['b1680c53fa7e', 'dd378ad362d3', 'e90f7b21fa4e'],
      nodes: ['worker-1', 'worker-2', 'worker-3'],
      images: ['alpine:3.19'],
      image_digests: [DIGEST],
      creator: 'system:anonymous',
      creator_groups: ['system:unauthenticated'],
      creator_source_ips: ['203.0.113.45'],
      creator_user_agent: 'python-requests/2.31.0',
      service_account: 'default',
      created: '2026-12-01T02:13:05.000Z',
      cpu_limit_cores: 2,
      cpu_cores_peak: 1.99,
      destinations: ['pool.supportxmr.com:443 (198.51.100.23)'],
      authorization: 'written by an unauthenticated identity (system:anonymous); no policy or baseline authorizes that',
      ...facts,
    },
    processes: [],
    usage: { core_hours: 4.55, basis: 'container CPU of 3 containers (cAdvisor/docker counters)', series: [] },
    ...extra,
  };
}
