import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import type { ShareSessionFacts } from '../model/shares.js';
import { triageFinding } from './playbook.js';
import { shareCost } from './share-cost.js';

const session = (s: Partial<ShareSessionFacts>): ShareSessionFacts => ({
  destination: '198.51.100.7:3333',
  dialect: 'monero',
  family: 'randomx',
  family_basis: 'job algo rx/0',
  first_seen: '2026-11-02T09:00:00.000Z',
  last_seen: '2026-11-02T09:35:00.000Z',
  mining_minutes: 60,
  connections: 1,
  submitted: 60,
  accepted: 60,
  rejected: 0,
  hashrate: 3000,
  hashrate_low: 2400,
  hashrate_high: 3700,
  unit: 'H/s',
  difficulty: [],
  timeline: [],
  source: 'gen.pcap#12',
  ...s,
});

function finding(shares: ShareSessionFacts[] | undefined, usage: Finding['usage'] = null): Finding {
  return {
    id: 'cm-1',
    analytic: 'AN0742',
    title: 'Cryptomining from address 10.0.0.5',
    attack: ['T1496.001'],
    severity: 'medium',
    confidence: 0.6,
    entity: 'ip:10.0.0.5',
    related: [],
    host: '10.0.0.5',
    first_seen: '2026-11-02T09:00:00.000Z',
    last_seen: '2026-11-02T10:00:00.000Z',
    legs: ['resource', 'reach'],
    summary: '2 of 3 legs',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: { host: '10.0.0.5' },
    processes: [],
    usage,
    ...(shares ? { shares } : {}),
  };
}

test('shares with no CPU sampled: hashrate ÷ the typical rate of a core × mining time = core-hours, priced per core-hour', () => {
  const { cost } = shareCost(finding([session({})]), defaultPolicy());
  // 3,000 H/s ÷ 500 H/s a core = 6 cores for 1 h
  assert.deepEqual([cost?.core_hours, cost?.amount, cost?.currency], [6, 0.3, 'USD']);
  assert.match(
    cost?.basis ?? '',
    /^from Stratum shares, no CPU sampled: 3 kH\/s RandomX to 198\.51\.100\.7:3333 ÷ 500 H\/s a core \(hashrates \d{4}-\d{2}-\d{2}\) ≈ 6 cores × 60 min = 6 core-hours$/,
  );
});

test('a GPU family is priced in GPU-hours at prices.gpu_hour, not as thousands of cores', () => {
  const policy = defaultPolicy();
  policy.prices.gpuHour = 0.4;
  // ~89 MH/s Ethash for 30 min: 89 ÷ 30 MH/s a GPU ≈ 3 GPUs (not 89 ÷ 0.04 = 2,225 cores)
  const { cost } = shareCost(finding([session({ family: 'ethash', hashrate: 8.9e7, mining_minutes: 30 })]), policy);
  assert.deepEqual([cost?.core_hours, cost?.gpu_hours, cost?.price_per_gpu_hour, cost?.amount], [0, 1.48, 0.4, 0.59]);
  assert.match(
    cost?.basis ?? '',
    /: 89 MH\/s Ethash to 198\.51\.100\.7:3333 ÷ 30 MH\/s a GPU \(hashrates \d{4}-\d{2}-\d{2}\) ≈ 3 GPUs × 30 min = 1\.48 GPU-hours$/,
  );
});

test('a CPU and a GPU session together: core-hours and GPU-hours side by side, each at its price, one amount', () => {
  const { cost } = shareCost(
    finding([session({}), session({ family: 'kawpow', hashrate: 4e7, mining_minutes: 90 })]),
    defaultPolicy(),
  );
  // 6 cores × 1 h × 0.05 + 40 MH/s ÷ 20 MH/s a GPU = 2 GPUs × 1.5 h × 0.50
  assert.deepEqual([cost?.core_hours, cost?.gpu_hours, cost?.amount], [6, 3, 1.8]);
  assert.match(cost?.basis ?? '', /= 6 core-hours; 40 MH\/s KawPow .* ≈ 2 GPUs × 1\.5 h = 3 GPU-hours$/);
});

test('coalmine.yaml figures replace the bundled ones and are named; device: cpu prices a GPU family in cores', () => {
  const policy = defaultPolicy();
  policy.hashrates = { equihash: { perGpu: 300, ref: 'coalmine.yaml:3' } };
  const equihash = session({ family: 'equihash', hashrate: 300, unit: 'Sol/s', mining_minutes: 30 });
  const gpu = shareCost(finding([equihash]), policy).cost;
  assert.deepEqual([gpu?.core_hours, gpu?.gpu_hours, gpu?.amount], [0, 0.5, 0.25]);
  assert.match(gpu?.basis ?? '', /÷ 300 Sol\/s a GPU \(coalmine\.yaml:3\) ≈ 1 GPU × 30 min = 0\.5 GPU-hours$/);
  policy.hashrates = { equihash: { perCore: 10, device: 'cpu', ref: 'coalmine.yaml:7' } };
  const cpu = shareCost(finding([equihash]), policy).cost;
  assert.deepEqual([cpu?.core_hours, cpu?.gpu_hours, cpu?.amount], [15, undefined, 0.75]);
  assert.match(cpu?.basis ?? '', /÷ 10 Sol\/s a core \(coalmine\.yaml:7\) ≈ 30 cores × 30 min = 15 core-hours$/);
});

test('a family with no typical rate gets no cost and a note saying how to give one', () => {
  const r = shareCost(finding([session({ family: 'unknown' })]), defaultPolicy());
  assert.equal(r.cost, null);
  assert.match(
    r.note ?? '',
    /no typical rate for an unnamed algorithm: set hashrates\.<family>\.per_core \(or per_gpu\)/,
  );
});

test('triage prices shares only when no CPU was sampled: CPU usage, when there is some, stays the basis', () => {
  const policy = defaultPolicy();
  assert.match(triageFinding(finding([session({})]), policy).cost?.basis ?? '', /^from Stratum shares/);
  const cpu = { core_hours: 2, basis: 'per-process CPU of 1 process', series: [] };
  assert.equal(triageFinding(finding([session({})], cpu), policy).cost?.basis, 'per-process CPU of 1 process');
  assert.equal(triageFinding(finding(undefined), policy).cost, null);
});

test('with CPU sampled, a GPU-mined session is still priced: its GPU-hours from shares on top of the core-hours, a CPU-mined one is not counted twice', () => {
  const policy = defaultPolicy();
  const cpu = { core_hours: 2, basis: 'per-process CPU of 1 process', series: [] };
  // 89 MH/s Ethash for 30 min: 2.96 GPUs (30 MH/s a GPU) × 0.5 h = 1.48 GPU-hours at 0.50 = 0.74, beside 2 core-hours at 0.05
  const both = triageFinding(
    finding(
      [
        session({}),
        session({ family: 'ethash', hashrate: 8.9e7, mining_minutes: 30, destination: '203.0.113.9:4444' }),
      ],
      cpu,
    ),
    policy,
  ).cost;
  assert.deepEqual([both?.core_hours, both?.gpu_hours, both?.price_per_gpu_hour, both?.amount], [2, 1.48, 0.5, 0.84]);
  assert.match(
    both?.basis ?? '',
    /^per-process CPU of 1 process; plus GPUs, which CPU samples do not see, from Stratum shares: .*Ethash to 203\.0\.113\.9:4444 .* = 1\.48 GPU-hours$/,
  );
  assert.doesNotMatch(both?.basis ?? '', /198\.51\.100\.7/, 'the RandomX session is what the CPU samples measured');
});
