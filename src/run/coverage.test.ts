import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analytics } from '../analytics/index.js';
import { HostState, type TelemetryClass } from '../engine/host-state.js';
import type { CoalEvent } from '../model/event.js';
import { defaultPolicy, type Policy } from '../model/policy.js';
import { coverageReport, datasetLabel } from './coverage.js';

function ev(host: string, format: string, dataset: string, ts: number, platform?: string): CoalEvent {
  return {
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], action: 'exec', dataset },
    host: { name: host, ...(platform ? { os: { platform } } : {}) },
    original: {},
    coalmine: { ts, format, ref: { file: 'x', line: 1 } },
  } as CoalEvent;
}

function hostWith(
  name: string,
  platform: string | undefined,
  seen: Array<[TelemetryClass, string, string]>,
): HostState {
  const h = new HostState(name, undefined);
  if (platform) h.platform = platform;
  let ts = Date.parse('2026-11-30T10:00:00Z');
  for (const [cls, format, dataset] of seen) {
    const e = ev(name, format, dataset, ts, platform);
    h.see(cls, e);
    ts += 60_000;
  }
  return h;
}

function inventory(...names: string[]): Policy {
  const p = defaultPolicy();
  for (const n of names) p.hostCores[n] = 4;
  return p;
}

test('a Windows host with 4688 but no command line and no CPU: exactly the CPU and command-line gaps', () => {
  const h = hostWith('WS-1', 'windows', [
    ['process', 'evtx-xml', 'evtx-xml.security.4688'],
    ['process', 'evtx-xml', 'evtx-xml.security.4688'],
    ['network', 'evtx-xml', 'evtx-xml.sysmon.3'],
    ['dns', 'evtx-xml', 'evtx-xml.sysmon.22'],
  ]);
  h.noteNoCommandLine(ev('WS-1', 'evtx-xml', 'evtx-xml.security.4688', 0));
  h.noteNoCommandLine(ev('WS-1', 'evtx-xml', 'evtx-xml.security.4688', 0));
  const r = coverageReport([h], { policy: inventory('WS-1'), policyFile: 'coalmine.yaml' });
  assert.equal(r.covered, false);
  assert.equal(r.gapCount, 2);
  const [a] = r.hosts[0].analytics;
  assert.equal(a.analytic, 'AN0741');
  assert.deepEqual(a.missing, ['cpu', 'command-line']);
  assert.match(a.gaps[0], /^no CPU telemetry for WS-1: collect typeperf/);
  assert.match(
    a.gaps[1],
    /^Security 4688 events for WS-1 have no CommandLine \(2 events\): enable "Include command line/,
  );
  const cls = Object.fromEntries(r.hosts[0].classes.map((c) => [c.class, c]));
  assert.equal(cls.process.events, 2);
  assert.deepEqual(cls.process.formats, ['evtx-xml']);
  assert.equal(cls.process.first, '2026-11-30T10:00:00.000Z');
  assert.equal(cls.process.last, '2026-11-30T10:01:00.000Z');
  assert.equal(cls.process.spanMs, 60_000);
  assert.equal(cls['command-line'].status, 'absent');
  assert.equal(cls.dns.status, 'present');
  assert.equal(cls.authorization.status, 'present');
  assert.equal(cls['cloud-audit'].status, 'not-applicable');
});

test('a Linux host with everything AN0742 reads and an inventory entry is covered', () => {
  const h = hostWith('web-01', 'linux', [
    ['process-cpu', 'metrics-csv', 'metrics-csv.sample'],
    ['process', 'auditd', 'auditd.execve'],
    ['command-line', 'auditd', 'auditd.execve'],
    ['network', 'auditd', 'auditd.connect'],
    ['persistence', 'crontab', 'crontab.entry'],
  ]);
  const r = coverageReport([h], { policy: inventory('web-01') });
  assert.equal(r.covered, true);
  assert.deepEqual(
    r.hosts[0].analytics.map((a) => [a.analytic, a.status, a.gaps]),
    [['AN0742', 'covered', []]],
  );
});

test('unknown platform is judged as AN0742; only host CPU, DNS only, no inventory are each named', () => {
  const h = hostWith('box', undefined, [
    ['host-cpu', 'metrics-csv', 'metrics-csv.sample'],
    ['process', 'osquery', 'osquery.processes'],
    ['dns', 'zeek', 'zeek.dns'],
    ['persistence', 'crontab', 'crontab.entry'],
  ]);
  const r = coverageReport([h], { policy: defaultPolicy() });
  const [a] = r.hosts[0].analytics;
  assert.equal(r.hosts[0].platform, 'unknown');
  assert.equal(a.analytic, 'AN0742');
  assert.deepEqual(a.missing, ['process-cpu', 'network', 'authorization']);
  assert.match(a.gaps[0], /^only host CPU for box \(metrics-csv\), no per-process CPU: add metrics CSV/);
  assert.match(a.gaps[1], /^only DNS lookups for box \(zeek\), no connections/);
  assert.match(a.gaps[2], /^no authorization inventory for box: list it under coalmine.yaml hosts/);
});

test('an allowlist entry for the host (or for all hosts) answers authorization; an expired one does not', () => {
  const h = hostWith('lab-01', 'linux', [['process', 'auditd', 'auditd.execve']]);
  const p = defaultPolicy();
  const entry = { analytics: [], owner: 'o', reason: 'r', ref: 'coalmine.yaml:3' };
  p.allowlist.push({ ...entry, match: { host: 'LAB-*', executable: '/opt/x' }, expires: '2020-01-01' });
  let auth = coverageReport([h], { policy: p }).hosts[0].classes.find((c) => c.class === 'authorization');
  assert.equal(auth?.status, 'absent', 'expired before the host was seen');
  p.allowlist.push({ ...entry, match: { host: 'LAB-*' }, expires: '2030-01-01', ref: 'coalmine.yaml:9' });
  p.allowlist.push({ ...entry, match: { executable: '/opt/y' }, expires: '2030-01-01', ref: 'coalmine.yaml:14' });
  auth = coverageReport([h], { policy: p }).hosts[0].classes.find((c) => c.class === 'authorization');
  assert.equal(auth?.status, 'present');
  assert.equal(auth?.detail, 'allowlist coalmine.yaml:9; allowlist coalmine.yaml:14 (all hosts)');
});

test('no process events at all: the command-line gap says there is no process creation telemetry', () => {
  const h = hostWith('WS-2', 'windows', [['host-cpu', 'typeperf', 'typeperf.sample']]);
  const [a] = coverageReport([h], { policy: inventory('WS-2') }).hosts[0].analytics;
  assert.deepEqual(a.missing, ['command-line', 'network']);
  assert.match(a.gaps[0], /^no process creation telemetry for WS-2, so no command lines/);
  assert.match(a.gaps[1], /^no network telemetry for WS-2: Sysmon events 3 and 22, Security 5156/);
  assert.match(a.notes[0], /^only total CPU for WS-2 \(typeperf\)/);
});

test('crypto-node is skipped, macOS has no analytic, and no host at all is not covered', () => {
  assert.ok(analytics.some((a) => a.id === 'crypto-node'));
  const mac = hostWith('mac-1', 'macos', [['process', 'ndjson', 'ndjson.event']]);
  const r = coverageReport([mac], { policy: defaultPolicy() });
  assert.deepEqual(r.hosts[0].analytics, []);
  assert.match(r.hosts[0].notes[0], /no analytic applies to platform macos/);
  assert.equal(r.covered, true);
  assert.equal(coverageReport([], { policy: defaultPolicy() }).covered, false);
});

test('dataset labels', () => {
  assert.equal(datasetLabel('evtx-xml.security.4688'), 'Security 4688');
  assert.equal(datasetLabel('winlogbeat.sysmon.1'), 'Sysmon 1');
  assert.equal(datasetLabel('auditd.execve'), 'auditd execve');
  assert.equal(datasetLabel('osquery.processes'), 'osquery processes');
});
