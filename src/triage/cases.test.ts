import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpuCost } from '../../test/support/gpu-cost.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { groupCases } from './cases.js';
import { triageFinding } from './playbook.js';

let n = 0;
function finding(extra: Partial<Finding> & { exe?: string }): Finding {
  n++;
  const host = extra.host ?? `host-${n}`;
  const { exe, ...rest } = extra;
  const f: Finding = {
    id: `cm-${n}`,
    analytic: 'AN0742',
    title: `Linux host ${host}: CPU-heavy process with pool traffic`,
    attack: ['T1496.001'],
    severity: 'high',
    confidence: 0.8,
    entity: `process:${host}:${100 + n}`,
    related: [],
    host,
    first_seen: `2026-11-30T10:0${n % 10}:00.000Z`,
    last_seen: `2026-11-30T11:0${n % 10}:00.000Z`,
    legs: ['resource', 'process'],
    summary: '',
    evidence: [],
    gaps: [],
    suppressed_by: null,
    facts: {},
    processes: [{ entity: `process:${host}:${100 + n}`, pid: 100 + n, executable: exe ?? `/tmp/.x${n}/miner${n}` }],
    usage: { core_hours: 2, basis: 'per-process CPU of 1 process', series: [] },
    ...rest,
  };
  f.triage = triageFinding(f, defaultPolicy());
  return f;
}

test('findings on one host are one case; costs add up and the worst severity leads', () => {
  const a = finding({ host: 'web-01', severity: 'medium' });
  const b = finding({ host: 'web-01', severity: 'critical' });
  const cases = groupCases([a, b]);
  assert.equal(cases.length, 1);
  assert.equal(cases[0].severity, 'critical');
  assert.deepEqual(cases[0].findings, [a.id, b.id].sort());
  assert.deepEqual(cases[0].hosts, ['web-01']);
  assert.equal(cases[0].core_hours, 4);
  assert.equal(cases[0].cost, 0.2);
  assert.equal(cases[0].currency, 'USD');
  assert.equal(cases[0].title, `${b.title} (+1 more on web-01)`);
});

test('a case counts the GPU-hours of its GPU-mined members beside their core-hours, and adds their cost', () => {
  const cpu = finding({ host: 'web-01' });
  const gpu = finding({ host: 'web-01' });
  const triage = gpu.triage;
  assert.ok(triage);
  triage.cost = gpuCost();
  const [c] = groupCases([cpu, gpu]);
  assert.deepEqual([c.core_hours, c.gpu_hours, c.cost], [2, 1.26, 0.73]);
  assert.equal(groupCases([cpu])[0].gpu_hours, undefined);
});

test('a shared pool, hash or dropped binary path joins hosts into one campaign; unrelated hosts stay apart', () => {
  // the same pool name resolved to different addresses on each host is still the same pool
  const pool1 = finding({ facts: { destinations: ['pool.supportxmr.com:443 (198.51.100.7)'] } });
  const pool2 = finding({ facts: { destinations: ['pool.supportxmr.com:443 (198.51.100.23)', '203.0.113.9:3333'] } });
  const hash1 = finding({ facts: { sha256: 'AB'.repeat(32) } });
  const hash2 = finding({ facts: { sha256: 'ab'.repeat(32) } });
  const drop1 = finding({ exe: '/var/tmp/kdevtmpfsi' });
  const drop2 = finding({ exe: '/var/tmp/kdevtmpfsi' });
  const alone = finding({});
  const cases = groupCases([pool1, pool2, hash1, hash2, drop1, drop2, alone]);
  const byFinding = new Map(cases.flatMap((c) => c.findings.map((id) => [id, c.id] as const)));
  assert.equal(byFinding.get(pool1.id), byFinding.get(pool2.id));
  assert.equal(byFinding.get(hash1.id), byFinding.get(hash2.id));
  assert.equal(byFinding.get(drop1.id), byFinding.get(drop2.id));
  assert.equal(new Set(byFinding.values()).size, 4);
  const pool = cases.find((c) => c.findings.includes(pool1.id));
  assert.deepEqual(pool?.campaign.destinations, [
    'pool.supportxmr.com:443 (198.51.100.7)',
    'pool.supportxmr.com:443 (198.51.100.23)',
    '203.0.113.9:3333',
  ]);
  assert.equal(pool?.hosts.length, 2);
  assert.match(pool?.title ?? '', /^Campaign on 2 hosts \(host-\d+, host-\d+\), 2 findings; worst: /);
});

test('a system binary path (a renamed or abused system tool) does not tie hosts together', () => {
  const a = finding({ exe: '/usr/bin/python3' });
  const b = finding({ exe: '/usr/bin/python3' });
  const w1 = finding({ exe: 'C:\\Windows\\System32\\svchost.exe' });
  const w2 = finding({ exe: 'c:\\windows\\system32\\svchost.exe' });
  assert.equal(groupCases([a, b, w1, w2]).length, 4);
});

test('informational findings group only with each other, never into a mining case', () => {
  const mining = finding({ host: 'node-7' });
  const node = finding({ host: 'node-7', severity: 'informational', analytic: 'crypto-node' });
  const cases = groupCases([mining, node]);
  assert.equal(cases.length, 2);
  assert.equal(cases[0].severity, 'high');
  assert.equal(cases[1].severity, 'informational');
});

test('case ids depend only on the member findings, not on input order', () => {
  const a = finding({ host: 'db-2' });
  const b = finding({ host: 'db-2' });
  assert.equal(groupCases([a, b])[0].id, groupCases([b, a])[0].id);
  assert.match(groupCases([a, b])[0].id, /^case-[0-9a-f]{16}$/);
});

test('a suppressed finding does not make its case Tier 2', () => {
  const f = finding({ host: 'ci-runner' });
  assert.equal(f.triage?.escalation.tier, 'Tier 2', 'unauthorized CPU use escalates');
  assert.equal(groupCases([f])[0].tier, 'Tier 2');
  const quiet = finding({
    host: 'ci-runner-2',
    suppressed_by: { list: 'hosts', match: 'ci-runner-2', owner: 'o', reason: 'r', expires: '2027-01-01' },
  });
  assert.ok(quiet.triage?.escalation.reasons.some((r) => r.startsWith('would otherwise escalate')));
  assert.equal(groupCases([quiet])[0].tier, 'L1');
});
