/**
 * End to end on Elastic Defend exports: the real CLI on the AN0741 story and the kinsing-like AN0742 story as
 * Elastic Defend records them (test/fixtures/elastic-endpoint), against the same stories as Sysmon + Security
 * XML (test/fixtures/scenarios/an0741-miner) and auditd (examples/kinsing-like), and on their benign twins.
 * Elastic Defend records no CPU: typeperf or a metrics CSV beside it gives the resource leg (or Elastic
 * Agent's System integration process metrics, from the same cluster), and without it the finding names the gap
 * (test/support/miner-stories.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { huntNdjson } from '../support/cli.js';
import {
  assertAuditdVerdict,
  assertCites,
  assertCpuJoined,
  assertLinuxCpuGap,
  assertNothingRaised,
  assertSysmonVerdict,
  assertWindowsCpuGap,
  onlyFinding,
} from '../support/miner-stories.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'elastic-endpoint');
const WINDOWS = join(FIXTURES, 'windows-miner');
const LINUX = join(FIXTURES, 'linux-miner');
const work = mkdtempSync(join(tmpdir(), 'coalmine-elastic-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the Windows story as an Elastic Defend export with typeperf beside it is one high AN0741 with the Sysmon version’s legs', () => {
  const r = huntNdjson([WINDOWS]);
  assert.match(r.stderr, /2 files \(elastic-endpoint 1, typeperf 1\)/);
  const f = onlyFinding(r);
  // everything the Sysmon version shows, and what Elastic adds: the PE name (xmrig.exe) and the pool's port
  assertSysmonVerdict(f);
  assert.equal(f.facts.executable, 'C:\\Users\\jdoe\\AppData\\Roaming\\WinSvc\\winupdsvc.exe');
  assertCites(f, 'obfuscation', 'endpoint.ndjson:1', 'DownloadString');
  assertCites(f, 'miner-tuning', 'endpoint.ndjson:9', 'WinRing0x64.sys');
  assertCites(f, 'pool-contact', 'endpoint.ndjson:11', 'pool.supportxmr.com'); // the lookup's result
  assertCites(f, 'pool-contact', 'endpoint.ndjson:12', '198.51.100.7');
  assertCites(f, 'persistence', 'endpoint.ndjson:13', 'schtasks.exe');
  assertCites(f, 'masquerade', 'endpoint.ndjson:7');
});

test('identity: the Elastic Defend process and typeperf’s instance of it are one process, its entity id the finding’s', () => {
  const f = onlyFinding(huntNdjson([WINDOWS]));
  assert.equal(f.facts.pid, 6120);
  assert.match(f.entity, /^process:WS-FIN-07:[A-Za-z0-9+/=]{40,}$/);
  assertCpuJoined(f, 6120, 'typeperf.csv');
});

test('the same export without typeperf is medium and names the CPU gap', () => {
  assertWindowsCpuGap(onlyFinding(huntNdjson([join(WINDOWS, 'endpoint.ndjson')])));
});

test('every export shape of the Windows story gives the same finding: _search responses, a hits array, flattened keys', () => {
  const want = onlyFinding(huntNdjson([WINDOWS]));
  for (const shape of ['search-response.json', 'search-response-compact.json', 'hits-array.json', 'flattened.ndjson']) {
    const f = onlyFinding(huntNdjson([join(FIXTURES, 'shapes', shape), join(WINDOWS, 'typeperf.csv')]));
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
  const r = huntNdjson([join(WINDOWS, 'endpoint.ndjson'), metrics]);
  assert.match(r.stderr, /2 files \(elastic-endpoint 2\)/);
  const f = onlyFinding(r);
  assert.deepEqual([f.severity, f.legs, f.gaps, f.facts.pid], ['high', ['resource', 'command', 'network'], [], 6120]);
  assertCpuJoined(f, 6120, 'metrics-system.ndjson');
});

test('the Linux story as an Elastic Defend export with its CPU is one high AN0742 with the auditd version’s legs', () => {
  const r = huntNdjson([LINUX]);
  assert.match(r.stderr, /2 files \(elastic-endpoint 1, metrics-csv 1\)/);
  const f = onlyFinding(r);
  assertAuditdVerdict(f);
  assertCites(f, 'persistence', 'endpoint.ndjson', '/var/spool/cron/crontabs/redis'); // the crontab write
  assertCpuJoined(f, 4130, 'cpu.csv');
});

test('the Linux export without its CPU is medium and names the gap', () => {
  assertLinuxCpuGap(onlyFinding(huntNdjson([join(LINUX, 'endpoint.ndjson')])));
});

test('the benign twins raise nothing: Windows builds, scans, a game, IIS, NTP and a backup task; Linux a reindex job, a download to a file, a package install and a transcode', () => {
  for (const [twin, files] of [
    ['windows-benign', '2 files (elastic-endpoint 1, typeperf 1)'],
    ['linux-benign', '2 files (elastic-endpoint 1, metrics-csv 1)'],
  ]) {
    assertNothingRaised(huntNdjson([join(FIXTURES, twin)]), files);
  }
});

test('the bad fixture names each bad record by file and line, and the good ones around them are still read', () => {
  const r = huntNdjson([join(FIXTURES, 'bad.ndjson')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /bad input: 10 \(/);
  assert.match(r.stderr, /ELASTIC_ENDPOINT_BAD_RECORD 9/);
  assert.match(r.stderr, /ELASTIC_ENDPOINT_BAD_JSON 1/);
  assert.match(r.stderr, /bad\.ndjson:6: ELASTIC_ENDPOINT_BAD_RECORD: connection without destination\.ip/);
  assert.match(r.stderr, /1 files \(elastic-endpoint 1\), 3 events/);
});
