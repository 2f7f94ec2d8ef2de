import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import type { Signal, SignalClass, SignalKind, Strength } from '../model/signal.js';
import { signalFor } from '../signals/make.js';
import { createDetector } from './index.js';

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
let line = 0;

function ev(minute: number, action: EventAction, fields: Partial<CoalEvent> = {}): CoalEvent {
  const ts = T0 + minute * 60_000;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: action === 'metric' ? 'metric' : 'event', category: [], action, dataset: 'test' },
    host: { name: 'WS-07', os: { platform: 'windows' } },
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 'sysmon.evtx', line: ++line } },
    ...fields,
  };
}

/** Test classifier: an event's `original.signal` says which signal it carries. */
function classify(event: CoalEvent, out: Signal[]): void {
  const s = event.original.signal as { kind: SignalKind; class: SignalClass; strength: Strength } | undefined;
  if (s) out.push(signalFor(event, { ...s, by: 'test', explanation: `${s.kind} (test)` }));
}

function run(events: CoalEvent[]): Finding[] {
  const findings: Finding[] = [];
  const engine = createDetector({ policy: defaultPolicy(), classify, onFinding: (f) => findings.push(f) });
  for (const e of events) engine.push(e);
  engine.end();
  return findings;
}

const sig = (kind: SignalKind, cls: SignalClass, strength: Strength = 'strong') => ({
  signal: { kind, class: cls, strength },
});
const MINER = {
  pid: 6120,
  entity_id: '{b1}',
  name: 'svcupd.exe',
  executable: 'C:\\Users\\Public\\svcupd.exe',
  command_line: 'C:\\Users\\Public\\svcupd.exe -o pool.example:443 --donate-level 1',
  parent: { pid: 5880, entity_id: '{a1}' },
};
const cradle = () =>
  ev(0, 'exec', {
    process: {
      pid: 5880,
      entity_id: '{a1}',
      name: 'powershell.exe',
      executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      command_line: 'powershell -nop -w hidden -enc …',
      parent: { pid: 4000, entity_id: '{e1}', name: 'explorer.exe' },
    },
    original: sig('obfuscation', 'process', 'medium'),
  });
const minerExec = () => ev(1, 'exec', { process: MINER, original: sig('miner-process', 'process') });
/** Sysmon 3 names the guid; 5156 only the pid: both must land on the miner. */
const poolDns = () =>
  ev(2, 'dns-query', { process: { pid: 6120, entity_id: '{b1}' }, original: sig('pool-contact', 'network') });
const connect5156 = () => ev(3, 'connect', { process: { pid: 6120 }, original: sig('mining-port', 'network', 'weak') });
/** typeperf names only the instance (`svcupd`, no .exe) when its ID Process column is absent. */
function typeperfCpu(from: number, to: number, pct: number, name = 'svcupd'): CoalEvent[] {
  const out: CoalEvent[] = [];
  for (let m = from; m <= to; m++) out.push(ev(m, 'metric', { process: { name }, metrics: { cpu_pct: pct } }));
  return out;
}

test('cradle → miner with pool DNS, a pid-only connection and instance-named CPU is one high AN0741 finding', () => {
  const findings = run([cradle(), minerExec(), poolDns(), connect5156(), ...typeperfCpu(2, 30, 198)]);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'command', 'network']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.facts.executable, 'C:\\Users\\Public\\svcupd.exe');
  assert.equal(f.facts.pid, 6120);
  assert.ok(f.evidence.some((e) => e.kind === 'sustained-cpu'));
  assert.ok(f.evidence.some((e) => e.kind === 'obfuscation'));
  assert.ok(f.evidence.some((e) => e.kind === 'pool-contact'));
  assert.ok(
    f.evidence.some((e) => e.kind === 'mining-port'),
    'the pid-only 5156 connection joined the miner',
  );
  assert.ok(f.related.includes('process:WS-07:{a1}'), 'the cradle is part of the tree');
});

test('without CPU telemetry the same tree is medium and the gap names typeperf', () => {
  const [f] = run([cradle(), minerExec(), poolDns()]);
  assert.equal(f.severity, 'medium');
  assert.match(f.gaps.join('\n'), /no CPU telemetry for WS-07 \(collect typeperf/);
});

test('4688 without command lines is named as the gap when the command leg cannot hold', () => {
  const exec4688 = ev(1, 'exec', { process: { pid: 6120, name: 'svcupd.exe' } });
  const findings = run([exec4688, poolDns(), ...typeperfCpu(2, 30, 198)]);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].severity, 'medium');
  assert.match(findings[0].gaps.join('\n'), /have no command line \(4688 without CommandLine/);
});

test('heavy benign work (a build at 180% for half an hour) raises nothing', () => {
  const build = ev(0, 'exec', {
    process: {
      pid: 777,
      entity_id: '{c1}',
      name: 'MSBuild.exe',
      executable: 'C:\\Program Files\\Microsoft Visual Studio\\MSBuild.exe',
    },
  });
  assert.deepEqual(run([build, ...typeperfCpu(1, 40, 180, 'msbuild')]), []);
});

test('obfuscation alone is not a finding (an admin script is not a miner)', () => {
  assert.deepEqual(run([cradle()]), []);
});

test('Linux hosts are left to AN0742', () => {
  const linux = { name: 'web-01', os: { platform: 'linux' } };
  const findings = run([
    ev(0, 'exec', { host: linux, process: { pid: 1, name: 'xmrig' }, original: sig('miner-process', 'process') }),
  ]);
  assert.deepEqual(
    findings.map((f) => f.analytic),
    ['AN0742'],
  );
});
