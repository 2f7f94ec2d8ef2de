import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writePcap } from '../../test/support/pcap-writer.js';
import {
  bitcoinSession,
  ethereumGetworkSession,
  type GeneratedCapture,
  mergeCaptures,
  moneroSession,
} from '../../test/support/stratum-captures.js';
import { createDetector } from '../analytics/index.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy, type Policy } from '../model/policy.js';
import type { StratumSession } from '../model/shares.js';
import type { Signal } from '../model/signal.js';
import { parsePolicy } from '../run/policy.js';
import { memoryInput, readAll } from '../sources/contract.js';
import { pcap } from '../sources/pcap/index.js';
import { triageFinding } from '../triage/playbook.js';
import {
  bundledHashrates,
  equivalents,
  hashrateRow,
  hashrateSignal,
  parseHashrateTable,
  sessionEstimate,
} from './hashrate.js';
import { classifiers, createClassifier } from './index.js';
import { loadRules } from './sigma/index.js';
import { stratum } from './stratum.js';
import { evt, signalsOf, testIntel } from './test-events.js';

async function eventsOf(g: GeneratedCapture): Promise<CoalEvent[]> {
  return (await readAll(pcap, memoryInput('gen.pcap', g.pcap))).events;
}

const finalSession = (events: CoalEvent[]): StratumSession => {
  const s = events.filter((e) => e.coalmine.flow?.stratum?.final).map((e) => e.coalmine.flow?.stratum);
  assert.equal(s.length, 1);
  return s[0] as StratumSession;
};

test('the bundled hashrate table reads with no bad rows and a row for every family a session can name', () => {
  const t = bundledHashrates();
  assert.deepEqual(t.bad, []);
  assert.match(t.name, /^hashrates \d{4}-\d{2}-\d{2}$/);
  for (const family of ['randomx', 'cryptonight', 'sha256d', 'ethash', 'equihash'])
    assert.ok(t.rows.get(family)?.perCore, family);
});

test('a bad table row is reported with its line and left out; a hostile table stays bounded', () => {
  const t = parseHashrateTable(
    [
      '# version: 1',
      'family,per_core_hs,per_gpu_hs,device,note',
      'randomx,500,1500,cpu,ok',
      'randomx,600,1500,cpu,twice',
      'Bad Name,1,1,cpu,x',
      'scrypt,-1,1,cpu,x',
      'x11,1e3,,gpu,exponent',
      'kheavy,,,gpu,none',
      'blake3,5,5,asic,x',
      'short,1',
      `long,${'9'.repeat(600)}`,
    ].join('\n'),
  );
  assert.deepEqual([...t.rows.keys()], ['randomx']);
  assert.deepEqual(
    t.bad.map((b) => b.line),
    [4, 5, 6, 7, 8, 9, 10, 11],
  );
  assert.equal(t.name, 'hashrates 1');
  const huge = parseHashrateTable(`family,per_core_hs,per_gpu_hs,device,note\n${'a,1,1,cpu,x\n'.repeat(100_000)}`);
  assert.ok(huge.rows.size <= 1 && huge.bad.length <= 101);
});

for (const [name, make] of [
  ['Monero (XMRig login/job/submit)', () => moneroSession()],
  ['Bitcoin-style (subscribe/set_difficulty/notify/submit)', () => bitcoinSession()],
  ['Ethereum getwork', () => ethereumGetworkSession()],
] as const)
  test(`${name}: the true hashrate lies within the 90% interval of the estimate`, async () => {
    const g = make();
    const s = finalSession(await eventsOf(g));
    const est = sessionEstimate(s);
    assert.ok(est);
    assert.ok(
      est.low <= g.truth.hashrate && g.truth.hashrate <= est.high,
      `${JSON.stringify(est)} vs ${g.truth.hashrate}`,
    );
    // and the estimate is near it: 50 shares put it within about ±25%
    assert.ok(Math.abs(est.hs / g.truth.hashrate - 1) < 0.3, `${est.hs} vs ${g.truth.hashrate}`);
  });

for (const [name, make] of [
  ['Monero', (seed: number) => moneroSession({ minutes: 8, seed, hashrate: 2000 })],
  [
    'Bitcoin-style, its difficulty doubled half way',
    (seed: number) => bitcoinSession({ minutes: 10, seed, hashrate: 1e9 }),
  ],
  [
    'Ethereum getwork, a connection per request',
    (seed: number) => ethereumGetworkSession({ minutes: 10, seed, hashrate: 5e7, connectionPerRequest: true }),
  ],
] as const)
  test(`${name}: the interval holds the truth in about 90% of sessions, on either side (40 seeds, few shares each)`, async () => {
    let inside = 0;
    let above = 0;
    const n = 40;
    for (let seed = 1; seed <= n; seed++) {
      const g = make(seed);
      const est = sessionEstimate(finalSession(await eventsOf(g)));
      if (est && est.low <= g.truth.hashrate && g.truth.hashrate <= est.high) inside++;
      else if (est && est.low > g.truth.hashrate) above++;
    }
    // 90% nominal: 31 or fewer of 40 would happen by chance less than 2% of the time; an estimate
    // that misses mostly on one side is biased (time lost from the exposure reads too high)
    assert.ok(inside >= 32, `${inside} of ${n}`);
    assert.ok(above <= 6, `${above} of ${n} above the truth`);
  });

test('accepted shares are resource evidence: medium, strong from 10; progress reports weak; the rate and cores named', async () => {
  const events = await eventsOf(moneroSession());
  const reports = events.filter((e) => e.coalmine.flow?.stratum);
  const signals = reports.flatMap((e) => signalsOf(stratum, e));
  assert.deepEqual(
    signals.map((s) => [s.kind, s.class, s.strength]),
    [
      ['mining-shares', 'resource', 'weak'],
      ['mining-shares', 'resource', 'weak'],
      ['mining-shares', 'resource', 'weak'],
      ['mining-shares', 'resource', 'strong'],
    ],
  );
  const final = signals[3];
  assert.match(
    final.explanation,
    /^host \?: ~3\.26 kH\/s RandomX \(90%: 2\.58–4\.06 kH\/s\) ≈ 6\.5 CPU cores at 500 H\/s a core or 2\.2 GPUs at 1\.5 kH\/s a GPU \(hashrates \d{4}-\d{2}-\d{2}\), from 57 accepted shares, 1 rejected over 35 min of mining time \(Monero Stratum to 198\.51\.100\.7:3333; family job algo rx\/0\)$/,
  );
  assert.equal(final.subject?.destination, '198.51.100.7:3333');
  assert.deepEqual(
    [final.shares?.accepted, final.shares?.rejected, final.shares?.hashrate, final.shares?.unit, final.shares?.family],
    [57, 1, 3260, 'H/s', 'randomx'],
  );
  assert.ok((final.shares?.timeline.length ?? 0) >= 30);
});

test('a login with no shares gives no resource evidence; rejected-only shares are weak, with no rate', () => {
  const base = (s: Partial<StratumSession>): CoalEvent => {
    const e = evt('connect', { destination: { ip: '198.51.100.7', port: 3333 } });
    const session: StratumSession = {
      dialect: 'monero',
      family: 'randomx',
      familyBasis: 'job algo rx/0',
      startMs: 0,
      endMs: 600_000,
      miningMs: 600_000,
      connections: 1,
      submitted: 0,
      accepted: 0,
      rejected: 0,
      exposure: 0.005,
      difficulties: [],
      difficultyChangesOmitted: 0,
      buckets: [],
      final: true,
      ...s,
    };
    return { ...e, coalmine: { ...e.coalmine, format: 'pcap', flow: { stratum: session } } };
  };
  assert.deepEqual(signalsOf(stratum, base({})), []);
  const rejected = signalsOf(stratum, base({ submitted: 4, rejected: 4 }));
  assert.deepEqual(
    rejected.map((s) => [s.kind, s.strength, s.shares]),
    [['mining-shares', 'weak', undefined]],
  );
  assert.match(rejected[0].explanation, /4 shares submitted, all rejected.*no work proven/);
});

test('a hostile session object (our NDJSON carries coalmine.flow) is checked, never trusted or thrown on', () => {
  const e = evt('connect', { destination: { ip: '198.51.100.7', port: 3333 } });
  for (const stratumField of [
    { accepted: 'many' },
    {
      accepted: 5,
      rejected: 0,
      submitted: 5,
      miningMs: -1,
      exposure: 1,
      connections: 1,
      family: 'x',
      dialect: 'v1',
      familyBasis: '',
      buckets: [],
      difficulties: [],
    },
    {
      accepted: 1e308,
      rejected: 0,
      submitted: 0,
      miningMs: 1,
      exposure: 1e-300,
      connections: 1,
      family: '<script>',
      dialect: 'v1',
      familyBasis: 'x'.repeat(10_000),
      buckets: [],
      difficulties: [],
    },
    null,
    'text',
  ]) {
    const hostile = { ...e, coalmine: { ...e.coalmine, flow: { stratum: stratumField as unknown as StratumSession } } };
    const out: Signal[] = [];
    assert.doesNotThrow(() => hashrateSignal(hostile, out));
    for (const s of out) assert.ok(s.explanation.length <= 401);
  }
});

test('coalmine.yaml hashrates: overrides a family per rate, names its line, and refuses bad entries by line', () => {
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    [
      'hashrates:',
      '  randomx: { per_core: 800 }',
      '  equihash:',
      '    per_gpu: 300',
      '    per_socket: 2',
      '  Bad Name: { per_core: 1 }',
      '  sha256d: { per_core: -5 }',
      '  ethash: 12',
    ].join('\n'),
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code]),
    [
      [5, 'POLICY_UNKNOWN_KEY'],
      [6, 'POLICY_BAD_VALUE'],
      [7, 'POLICY_BAD_VALUE'],
      [8, 'POLICY_SHAPE'],
    ],
  );
  assert.deepEqual(Object.keys(policy.hashrates ?? {}), ['randomx']);
  const row = hashrateRow('randomx', policy.hashrates);
  assert.deepEqual([row?.perCore, row?.perGpu, row?.from], [800, 1500, 'coalmine.yaml:2']);
  assert.deepEqual(equivalents(4000, row), { cores: 5, gpus: 4000 / 1500 });
  assert.equal(hashrateRow('unknown', policy.hashrates), undefined);
});

test('a network-only capture with accepted shares is a medium AN0742 (resource + reach); a login alone stays low reach', async () => {
  const intel = testIntel();
  const run = async (g: GeneratedCapture): Promise<Finding[]> => {
    const findings: Finding[] = [];
    const engine = createDetector({
      policy: defaultPolicy(),
      classify: (event, out) => {
        for (const c of classifiers) c.classify(event, { intel }, out);
      },
      onFinding: (f) => findings.push(f),
    });
    for (const e of await eventsOf(g)) engine.push(e);
    engine.end();
    return findings;
  };
  const mining = await run(moneroSession());
  assert.deepEqual(
    mining.map((f) => [f.analytic, f.severity, f.legs, f.host]),
    [['AN0742', 'medium', ['resource', 'reach'], '10.0.0.5']],
  );
  assert.equal(mining[0].shares?.length, 1);
  assert.equal(mining[0].usage, null);
  const login = await run(moneroSession({ loginOnly: true }));
  assert.deepEqual(
    login.map((f) => [f.analytic, f.severity, f.legs]),
    [['AN0742', 'low', ['reach']]],
  );
  assert.equal(login[0].shares, undefined);
  assert.ok(!login[0].evidence.some((e) => e.class === 'resource'));
});

/** The detector over pcap events, as `hunt` runs it (the classifier given the policy's hashrates). */
const NO_RULES = await loadRules([]);

async function detect(captures: Array<{ name: string; pcap: Buffer }>, policy = defaultPolicy()): Promise<Finding[]> {
  const findings: Finding[] = [];
  const engine = createDetector({
    policy,
    classify: createClassifier(testIntel(), NO_RULES, undefined, undefined, { hashrates: policy.hashrates }),
    onFinding: (f) => findings.push(triaged(f, policy)),
  });
  for (const { name, pcap: bytes } of captures)
    for (const e of (await readAll(pcap, memoryInput(name, bytes))).events) engine.push(e);
  engine.end();
  return findings;
}

function triaged(f: Finding, policy: Policy): Finding {
  return { ...f, triage: triageFinding(f, policy) };
}

/** A capture's packets moved `ms` later (the same miner reconnecting after a pause). */
function later(g: GeneratedCapture, ms: number): GeneratedCapture {
  const packets = g.packets.map((p) => ({ ...p, tsMs: p.tsMs + ms }));
  return { ...g, packets, pcap: writePcap(packets) };
}

test('two miners behind one address at one pool: both sessions are the finding, and its cost sums them', async () => {
  const a = moneroSession({ clientPort: 50_001, difficulty: 10_000, hashrate: 1000, seed: 3 });
  // the second miner logs in 7 s after the first
  const b = later(moneroSession({ clientPort: 50_002, difficulty: 200_000, hashrate: 6000, seed: 4 }), 7000);
  const [f, ...rest] = await detect([{ name: 'nat.pcap', pcap: mergeCaptures([a, b]) }]);
  assert.deepEqual(rest, []);
  assert.deepEqual(
    (f.shares ?? []).map((s) => s.accepted).sort((x, y) => x - y),
    [a.truth.accepted, b.truth.accepted].sort((x, y) => x - y),
  );
  assert.equal(f.evidence.filter((e) => e.kind === 'mining-shares').length, 2);
  // each session's cores × its mining time, summed: ~2 + ~12 cores for 35 min
  const each = (f.shares ?? []).map((s) => (s.hashrate / 500) * (s.mining_minutes / 60));
  assert.equal(f.triage?.cost?.core_hours, Math.round((each[0] + each[1]) * 100) / 100);
  assert.ok((f.triage?.cost?.core_hours ?? 0) > 7, JSON.stringify(f.triage?.cost));
});

test('a session reported as it goes, on a new connection per request, is one piece of evidence: its final report', async () => {
  const g = ethereumGetworkSession({ connectionPerRequest: true });
  const reports = (await eventsOf(g)).filter((e) => e.coalmine.flow?.stratum);
  // progress reports every 10 min, each naming the connection it came on
  assert.ok(reports.length >= 3 && new Set(reports.map((e) => e.source?.port)).size === reports.length);
  const [f] = await detect([{ name: 'getwork.pcap', pcap: g.pcap }]);
  assert.deepEqual(
    f.shares?.map((s) => s.accepted),
    [g.truth.accepted],
  );
  assert.deepEqual(
    f.evidence.filter((e) => e.kind === 'mining-shares').map((e) => e.strength),
    ['strong'],
  );
});

test('a reconnect after the grace is a session of its own; the same capture read twice is priced once', async () => {
  const first = moneroSession({ minutes: 20, seed: 5 });
  // the same address and port, 30 min after the first session ended: the pool sees a new login
  const again = later(moneroSession({ minutes: 20, seed: 6 }), 50 * 60_000);
  const both = mergeCaptures([first, again]);
  const [f] = await detect([{ name: 'two.pcap', pcap: both }]);
  assert.deepEqual(
    f.shares?.map((s) => s.accepted),
    [first.truth.accepted, again.truth.accepted],
  );
  const [twice] = await detect([
    { name: 'two.pcap', pcap: both },
    { name: 'copy-of-two.pcap', pcap: both },
  ]);
  assert.deepEqual(twice.shares, f.shares);
  assert.deepEqual(twice.triage?.cost, f.triage?.cost);
  const cited = twice.evidence.filter((e) => e.kind === 'mining-shares').map((e) => e.source);
  assert.deepEqual(cited.length, 2);
});

test('coalmine.yaml hashrates: reach the evidence text through the classifier context: text and cost name one figure', async () => {
  const { policy, errors } = parsePolicy('coalmine.yaml', 'hashrates:\n  randomx: { per_core: 800 }\n');
  assert.deepEqual(errors, []);
  const [f] = await detect([{ name: 'xmr.pcap', pcap: moneroSession().pcap }], policy);
  const text = f.evidence.find((e) => e.kind === 'mining-shares')?.explanation ?? '';
  // 3.26 kH/s ÷ 800 H/s a core ≈ 4.1 cores: the evidence and the cost say the same
  assert.match(text, / ≈ 4\.1 CPU cores at 800 H\/s a core or 2\.2 GPUs at 1\.5 kH\/s a GPU \(coalmine\.yaml:2\), /);
  assert.match(f.triage?.cost?.basis ?? '', /÷ 800 H\/s a core \(coalmine\.yaml:2\) ≈ 4\.1 cores × 35 min/);
  const bundled = await detect([{ name: 'xmr.pcap', pcap: moneroSession().pcap }]);
  assert.match(bundled[0].evidence.find((e) => e.kind === 'mining-shares')?.explanation ?? '', / at 500 H\/s a core /);
});

test('a GPU family says GPU-equivalents, not thousands of CPU cores; device: cpu in coalmine.yaml says cores', async () => {
  const final = (policy = defaultPolicy()) =>
    detect([{ name: 'eth.pcap', pcap: ethereumGetworkSession().pcap }], policy).then(
      ([f]) => f.evidence.find((e) => e.kind === 'mining-shares')?.explanation ?? '',
    );
  const gpu = await final();
  assert.match(
    gpu,
    /: ~\d+(\.\d+)? MH\/s Ethash \(90%: [^)]+\) ≈ \d(\.\d)? GPU-equivalents at 30 MH\/s a GPU \(hashrates \d{4}-\d{2}-\d{2}\), from \d+ accepted shares/,
  );
  assert.ok(!gpu.includes('CPU core'), gpu);
  const { policy, errors } = parsePolicy(
    'coalmine.yaml',
    'hashrates:\n  ethash: { device: cpu }\n  kawpow: { device: asic }\n  equihash: { per_gpu: 300, device: 3 }\n',
  );
  assert.deepEqual(
    errors.map((e) => [e.line, e.code, e.reason]),
    [
      [3, 'POLICY_BAD_VALUE', 'hashrates.kawpow.device must be cpu or gpu'],
      [4, 'POLICY_BAD_VALUE', 'hashrates.equihash.device must be cpu or gpu'],
    ],
  );
  assert.deepEqual({ ...policy.hashrates }, { ethash: { device: 'cpu', ref: 'coalmine.yaml:2' } });
  assert.match(
    await final(policy),
    / ≈ [\d,]+ CPU cores at 40 kH\/s a core or \d(\.\d)? GPUs at 30 MH\/s a GPU \(coalmine\.yaml:2\)/,
  );
});

test('the timeline: the last bucket is as wide as the time it covers, and a few seconds of it fold into the one before', () => {
  const minute = 60_000;
  const timeline = (endS: number): Array<[string, number, number, number]> => {
    const e = evt('connect', { destination: { ip: '198.51.100.7', port: 3333 }, source: { ip: '10.0.0.5', port: 1 } });
    const session: StratumSession = {
      dialect: 'monero',
      family: 'randomx',
      familyBasis: 'job algo rx/0',
      startMs: 0,
      endMs: endS * 1000,
      miningMs: endS * 1000,
      connections: 1,
      submitted: 6,
      accepted: 6,
      rejected: 0,
      // 120,000 hashes a share: 60 s is 0.0005 s/H of exposure
      exposure: endS / 120_000,
      difficulties: [{ ms: 0, hashesPerShare: 120_000 }],
      difficultyChangesOmitted: 0,
      buckets: [
        { startMs: 0, widthMs: minute, accepted: 2, rejected: 0, exposure: 60 / 120_000 },
        { startMs: minute, widthMs: minute, accepted: 3, rejected: 0, exposure: 60 / 120_000 },
        {
          startMs: 2 * minute,
          widthMs: minute,
          accepted: endS > 125 ? 1 : 0,
          rejected: 0,
          exposure: (endS - 120) / 120_000,
        },
      ],
      final: true,
    };
    const out: Signal[] = [];
    hashrateSignal({ ...e, coalmine: { ...e.coalmine, format: 'pcap', flow: { stratum: session } } }, out);
    return out[0]?.shares?.timeline ?? [];
  };
  // the session ended 5 ms into its third minute: no "+1 min, 0 H/s" bar, the second takes it
  assert.deepEqual(
    timeline(120.005).map((b) => b.slice(1)),
    [
      [1, 2, 4000],
      [1, 3, 6000],
    ],
  );
  // 40 s into it: a bucket of its own, 0.7 min wide, rated over those 40 s
  assert.deepEqual(
    timeline(160).map((b) => b.slice(1)),
    [
      [1, 2, 4000],
      [1, 3, 6000],
      [0.7, 1, 3000],
    ],
  );
});
