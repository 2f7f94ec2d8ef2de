/**
 * End to end on Elastic Defend exports: the real CLI on the AN0741 story and the kinsing-like AN0742 story as
 * Elastic Defend records them (test/fixtures/elastic-endpoint), against the same stories as Sysmon + Security
 * XML (test/fixtures/scenarios/an0741-miner) and auditd (examples/kinsing-like), and on their benign twins.
 * Elastic Defend records no CPU: typeperf or a metrics CSV beside it gives the resource leg (or Elastic
 * Agent's System integration process metrics, from the same cluster), and without it the finding names the gap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'elastic-endpoint');
const WINDOWS = join(FIXTURES, 'windows-miner');
const LINUX = join(FIXTURES, 'linux-miner');
const SYSMON_MINER = join(ROOT, 'test', 'fixtures', 'scenarios', 'an0741-miner');
const AUDITD_MINER = join(ROOT, 'examples', 'kinsing-like');
const work = mkdtempSync(join(tmpdir(), 'coalmine-elastic-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(paths: string[]) {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson', '--no-progress']);
  return { ...r, findings: ndjsonFindings(r.stdout) };
}

function only(r: ReturnType<typeof hunt>): Finding {
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings.map((f) => f.title)));
  return r.findings[0];
}

const kinds = (f: Finding) => [...new Set(f.evidence.map((e) => e.kind))].sort();

test('the Windows story as an Elastic Defend export with typeperf beside it is one high AN0741 with the Sysmon version’s legs', () => {
  const r = hunt([WINDOWS]);
  assert.match(r.stderr, /2 files \(elastic-endpoint 1, typeperf 1\)/);
  const f = only(r);
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.legs, ['resource', 'command', 'network']);
  assert.deepEqual(f.gaps, []);
  assert.equal(f.host, 'WS-FIN-07');
  assert.equal(f.facts.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');

  const s = only(hunt([SYSMON_MINER]));
  assert.deepEqual([f.analytic, f.severity, f.legs, f.facts.pid], [s.analytic, s.severity, s.legs, s.facts.pid]);
  // everything the Sysmon version shows, and what Elastic adds: the PE name (xmrig.exe) and the pool's port
  for (const kind of kinds(s)) assert.ok(kinds(f).includes(kind), `${kind} missing: ${kinds(f).join(', ')}`);
  const cite = (kind: string, where: string, text?: string) =>
    assert.ok(
      f.evidence.some(
        (e) => e.kind === kind && e.source.endsWith(where) && (text === undefined || e.explanation.includes(text)),
      ),
      `${kind} from ${where}: ${f.evidence.map((e) => `${e.kind} ${e.source}`).join('; ')}`,
    );
  cite('obfuscation', 'endpoint.ndjson:1', 'DownloadString');
  cite('miner-tuning', 'endpoint.ndjson:9', 'WinRing0x64.sys');
  cite('pool-contact', 'endpoint.ndjson:10', 'pool.supportxmr.com');
  cite('pool-contact', 'endpoint.ndjson:12', '198.51.100.7');
  cite('persistence', 'endpoint.ndjson:13', 'schtasks.exe');
  cite('masquerade', 'endpoint.ndjson:7');
});

test('identity: the Elastic Defend process and typeperf’s instance of it are one process, its entity id the finding’s', () => {
  const f = only(hunt([WINDOWS]));
  assert.equal(f.facts.pid, 6120);
  assert.match(f.entity, /^process:WS-FIN-07:[A-Za-z0-9+/=]{40,}$/);
  const cpu = f.evidence.filter((e) => e.kind === 'sustained-cpu' && e.source.includes('typeperf.csv'));
  assert.ok(
    cpu.some((e) => e.explanation.startsWith('winupdsvc.exe (pid 6120)')),
    cpu.map((e) => e.explanation).join('; '),
  );
});

test('the same export without typeperf is medium and names the CPU gap', () => {
  const f = only(hunt([join(WINDOWS, 'endpoint.ndjson')]));
  assert.equal(f.analytic, 'AN0741');
  assert.equal(f.severity, 'medium');
  assert.deepEqual(f.legs, ['command', 'network']);
  assert.equal(f.gaps.length, 1);
  assert.match(f.gaps[0], /^partial: no CPU telemetry for WS-FIN-07 \(collect typeperf/);
  assert.ok(f.confidence < 0.85);
});

test('every export shape of the Windows story gives the same finding: _search responses, a hits array, flattened keys', () => {
  const want = only(hunt([WINDOWS]));
  for (const shape of ['search-response.json', 'search-response-compact.json', 'hits-array.json', 'flattened.ndjson']) {
    const f = only(hunt([join(FIXTURES, 'shapes', shape), join(WINDOWS, 'typeperf.csv')]));
    assert.deepEqual([f.id, f.severity, f.legs, f.entity], [want.id, want.severity, want.legs, want.entity], shape);
  }
});

test('Elastic Agent’s System integration process metrics from the same cluster give the resource leg without typeperf', () => {
  // what `metrics-system.process-*` and `metrics-system.cpu-*` hold for the miner and its host, one sample a minute
  const lines: string[] = [];
  for (let minute = 1; minute <= 40; minute++) {
    const at = `2026-11-30T09:${String(minute).padStart(2, '0')}:00.000Z`;
    const host = { name: 'WS-FIN-07', os: { type: 'windows' } };
    lines.push(
      JSON.stringify({
        '@timestamp': at,
        agent: { type: 'metricbeat' },
        data_stream: { dataset: 'system.process', type: 'metrics', namespace: 'default' },
        event: { module: 'system', dataset: 'system.process' },
        metricset: { name: 'process' },
        host,
        process: { pid: 6120, name: 'winupdsvc.exe' },
        system: { process: { cpu: { total: { pct: 3.7, norm: { pct: 0.925 } } } } },
      }),
      JSON.stringify({
        '@timestamp': at,
        agent: { type: 'metricbeat' },
        data_stream: { dataset: 'system.cpu', type: 'metrics', namespace: 'default' },
        event: { module: 'system', dataset: 'system.cpu' },
        metricset: { name: 'cpu' },
        host,
        system: { cpu: { cores: 4, total: { norm: { pct: 0.94 } } } },
      }),
    );
  }
  const metrics = join(work, 'metrics-system.ndjson');
  writeFileSync(metrics, `${lines.join('\n')}\n`);
  const r = hunt([join(WINDOWS, 'endpoint.ndjson'), metrics]);
  assert.match(r.stderr, /2 files \(elastic-endpoint 2\)/);
  const f = only(r);
  assert.deepEqual([f.severity, f.legs, f.gaps, f.facts.pid], ['high', ['resource', 'command', 'network'], [], 6120]);
  assert.ok(f.evidence.some((e) => e.kind === 'sustained-cpu' && e.source.includes('metrics-system.ndjson')));
});

test('the Linux story as an Elastic Defend export with its CPU is one high AN0742 with the auditd version’s legs', () => {
  const r = hunt([LINUX]);
  assert.match(r.stderr, /2 files \(elastic-endpoint 1, metrics-csv 1\)/);
  const f = only(r);
  assert.equal(f.analytic, 'AN0742');
  assert.equal(f.severity, 'high');
  assert.deepEqual(f.gaps, []);
  assert.equal(f.host, 'web-01');
  assert.equal(f.facts.pid, 4130);
  assert.equal(f.facts.executable, '/tmp/kdevtmpfsi');

  const auditd = hunt([AUDITD_MINER]);
  assert.equal(auditd.code, 0, auditd.stderr);
  const a = auditd.findings.find((x) => x.analytic === 'AN0742' && x.severity === 'high');
  assert.ok(a, auditd.stdout);
  assert.deepEqual([f.legs, f.facts.pid, f.facts.executable], [a.legs, a.facts.pid, a.facts.executable]);
  for (const kind of [
    'dropper',
    'competitor-kill',
    'persistence',
    'miner-process',
    'masquerade',
    'pool-contact',
    'sustained-cpu',
  ])
    assert.ok(kinds(f).includes(kind as never), `${kind} missing: ${kinds(f).join(', ')}`);
  assert.ok(
    f.evidence.some((e) => e.kind === 'persistence' && e.explanation.includes('/var/spool/cron/crontabs/redis')),
    'the crontab write is cited',
  );
});

test('the Linux export without its CPU is medium and names the gap', () => {
  const f = only(hunt([join(LINUX, 'endpoint.ndjson')]));
  assert.equal(f.analytic, 'AN0742');
  assert.equal(f.severity, 'medium');
  assert.equal(f.gaps.length, 1);
  assert.match(f.gaps[0], /CPU telemetry missing for web-01/);
});

test('the benign twins raise nothing: Windows builds, scans, a game, IIS, NTP and a backup task; Linux a reindex job, a download to a file, a package install and a transcode', () => {
  for (const [twin, files] of [
    ['windows-benign', '2 files (elastic-endpoint 1, typeperf 1)'],
    ['linux-benign', '2 files (elastic-endpoint 1, metrics-csv 1)'],
  ]) {
    const r = hunt([join(FIXTURES, twin)]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(files), r.stderr);
    assert.doesNotMatch(r.stderr, /bad input/);
    assert.deepEqual(r.findings, [], twin);
  }
});

test('the public sample (a real Elastic Endpoint exec hit from the ECS RFC) reads with no bad input and no finding', () => {
  const r = hunt([join(ROOT, 'test', 'fixtures', 'public', 'elastic-endpoint', 'ecs-rfc0030-linux-exec-hit.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 files \(elastic-endpoint 1\), 1 events/);
  assert.doesNotMatch(r.stderr, /bad input/);
  assert.deepEqual(r.findings, []);
});

test('the bad fixture names each bad record by file and line, and the good ones around them are still read', () => {
  const r = hunt([join(FIXTURES, 'bad.ndjson')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /bad input: 10 \(/);
  assert.match(r.stderr, /ELASTIC_ENDPOINT_BAD_RECORD 9/);
  assert.match(r.stderr, /ELASTIC_ENDPOINT_BAD_JSON 1/);
  assert.match(r.stderr, /bad\.ndjson:6: ELASTIC_ENDPOINT_BAD_RECORD: connection without destination\.ip/);
  assert.match(r.stderr, /1 files \(elastic-endpoint 1\), 3 events/);
});
