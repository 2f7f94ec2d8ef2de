import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoalEvent, EventAction } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import type { Signal, SignalClass, SignalKind, Strength } from '../model/signal.js';
import { createClassifier } from '../signals/index.js';
import { signalFor } from '../signals/make.js';
import { DEFAULT_RULE_DIRS } from '../signals/rules.js';
import { loadRules } from '../signals/sigma/index.js';
import { testIntel } from '../signals/test-events.js';
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

function run(events: CoalEvent[], classifier: (event: CoalEvent, out: Signal[]) => void = classify): Finding[] {
  const findings: Finding[] = [];
  const engine = createDetector({
    policy: defaultPolicy(),
    classify: classifier,
    onFinding: (f) => findings.push(f),
  });
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

const realClassify = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));
const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const RUN_VALUE = 'HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\SvcHelper';
const HELPER = 'C:\\Users\\ana\\AppData\\Roaming\\svchelper\\svchelper.exe';
const HELPER_LINE = `${HELPER} -o 203.0.113.5:3333 -u ${XMR} -B`;

/** Sysmon 13 as reg.exe writes a Run value. */
const runValue = (data: string, path = RUN_VALUE) =>
  ev(0, 'registry-set', {
    registry: { path, value: path.slice(path.lastIndexOf('\\') + 1), data },
    process: { pid: 4430, entity_id: '{r1}', name: 'reg.exe', executable: 'C:\\Windows\\System32\\reg.exe' },
  });
/** System 7045 as win-event.ts maps it. */
const serviceInstalled = (image: string, target: string) =>
  ev(0, 'persistence-entry', {
    file: { path: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\WinNetSvc', line: image },
    process: { command_line: image, user: { name: 'LocalSystem' } },
    coalmine: {
      ts: T0,
      format: 'evtx-xml',
      ref: { file: 'system.xml', line: 7 },
      persistence: { mechanism: 'service', target },
    },
  });

test('a Run value or a service that starts a miner is alone a low finding on the host, citing the record', () => {
  for (const event of [
    runValue(HELPER_LINE),
    serviceInstalled(`C:\\Windows\\Fonts\\wnsvc.exe -o pool.example:443 -u ${XMR}`, 'C:\\Windows\\Fonts\\wnsvc.exe'),
  ]) {
    const findings = run([event], realClassify);
    assert.equal(findings.length, 1, findings.map((f) => `${f.entity} ${f.severity}`).join('; '));
    const [f] = findings;
    assert.deepEqual([f.analytic, f.entity, f.severity, f.legs], ['AN0741', 'host:WS-07', 'low', ['command']]);
    const source = `${event.coalmine.ref.file}:${event.coalmine.ref.line}`;
    assert.deepEqual(f.facts.persistence, [source]);
    const miner = f.evidence.filter((e) => e.kind === 'miner-process');
    assert.ok(miner.length > 0);
    for (const e of miner) {
      assert.equal(e.source, source);
      assert.equal(e.entity, 'host:WS-07');
      assert.match(e.explanation, /^what the (?:run-key|service) entry .* will run: /);
    }
  }
});

test('a Run value to an ordinary program raises nothing', () => {
  for (const data of [
    '"C:\\Users\\ana\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background',
    '%windir%\\system32\\SecurityHealthSystray.exe',
    '"C:\\Program Files\\Slack\\slack.exe" --process-start-args --startup',
  ])
    assert.deepEqual(run([runValue(data)], realClassify), [], data);
});

test("the miner a Run value starts, seen running, is one finding: the value joined once, the host's copy dropped", () => {
  const exec = ev(10, 'exec', {
    process: {
      pid: 5120,
      entity_id: '{m1}',
      name: 'svchelper.exe',
      executable: HELPER,
      command_line: HELPER_LINE,
      parent: { pid: 4000, entity_id: '{e1}', name: 'explorer.exe', executable: 'C:\\Windows\\explorer.exe' },
    },
  });
  const findings = run([runValue(HELPER_LINE), exec, ...typeperfCpu(11, 40, 198, 'svchelper')], realClassify);
  assert.equal(findings.length, 1, findings.map((f) => `${f.entity} ${f.severity}`).join('; '));
  const [f] = findings;
  assert.equal(f.entity, 'process:WS-07:{m1}');
  assert.deepEqual([f.severity, f.legs], ['medium', ['resource', 'command']]);
  const persistence = f.evidence.filter((e) => e.class === 'persistence');
  assert.deepEqual(
    persistence.map((e) => [e.by, e.persistence?.mechanism, e.persistence?.file]),
    [['persistence:run-key', 'run-key', RUN_VALUE]],
  );
  // the exec shows its own command: what the value will run is not said again
  assert.ok(!f.evidence.some((e) => e.explanation.startsWith('what the run-key entry')));
  assert.ok(f.evidence.some((e) => e.kind === 'miner-process' && e.entity === 'process:WS-07:{m1}'));
});
