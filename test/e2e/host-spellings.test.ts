/**
 * End to end: one host however its sources spell it (engine/host-names.ts). Defender writes DeviceName
 * as a lower-case FQDN on domain-joined machines and Sysmon's Computer is often an FQDN, while typeperf
 * says `WS-FIN-07`: the real CLI on the AN0741 stories with the name rewritten in a temp copy must join
 * typeperf's CPU as the original does, on one thread and split across two; two machines sharing a first
 * label in different domains stay two hosts.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const SYSMON_STORY = join(FIXTURES, 'scenarios', 'an0741-miner');
const DEFENDER_STORY = join(FIXTURES, 'defender', 'an0741-miner');
const CORP = 'ws-fin-07.corp.example.com';
const LAB = 'ws-fin-07.lab.example.com';

const work = mkdtempSync(join(tmpdir(), 'coalmine-spellings-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hunt(paths: string[], workers = 1) {
  const r = runCli(['hunt', ...paths, '--format', 'ndjson', '--no-progress', '--workers', String(workers)]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /bad input/);
  return { ...r, findings: ndjsonFindings(r.stdout) };
}

/** A copy of a fixture directory with some files' text rewritten. */
function copyStory(from: string, name: string, rewrite: Record<string, (text: string) => string>): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const file of readdirSync(from)) {
    const edit = rewrite[file];
    if (edit) {
      const text = readFileSync(join(from, file), 'utf8');
      const edited = edit(text);
      assert.notEqual(edited, text, `${file} was rewritten`);
      writeFileSync(join(dir, file), edited);
    } else copyFileSync(join(from, file), join(dir, file));
  }
  return dir;
}

const computerAs = (name: string) => (xml: string) =>
  xml.replaceAll('<Computer>WS-FIN-07</Computer>', `<Computer>${name}</Computer>`);

const kinds = (f: Finding) => [...new Set(f.evidence.map((e) => e.kind))].sort();

/** What must not change when only the host's spelling did. */
function verdict(f: Finding) {
  return {
    analytic: f.analytic,
    severity: f.severity,
    legs: f.legs,
    gaps: f.gaps,
    pid: f.facts.pid,
    executable: f.facts.executable,
    kinds: kinds(f),
  };
}

test('Sysmon naming the host by its FQDN beside typeperf’s WS-FIN-07 is the original story’s high AN0741', () => {
  const original = hunt([SYSMON_STORY]).findings;
  assert.equal(original.length, 1);
  assert.deepEqual([original[0].severity, original[0].legs], ['high', ['resource', 'command', 'network']]);

  const dir = copyStory(SYSMON_STORY, 'sysmon-fqdn', { 'sysmon.xml': computerAs(CORP) });
  const one = hunt([dir]);
  assert.equal(one.findings.length, 1, JSON.stringify(one.findings.map((f) => [f.host, f.severity])));
  const f = one.findings[0];
  assert.deepEqual(verdict(f), verdict(original[0]));
  assert.ok(
    f.evidence.some((e) => e.kind === 'sustained-cpu' && e.source.includes('typeperf.csv')),
    'typeperf’s CPU is the Sysmon process’s',
  );
  // one host, named by the first spelling the engine saw, everywhere in the finding
  assert.equal(f.host, CORP);
  assert.equal(f.facts.host, CORP);
  assert.ok(f.entity.startsWith(`process:${CORP}:`), f.entity);
  // (the account domain `WS-FIN-07\\jdoe` is a user's name, not the host's)
  assert.doesNotMatch(
    one.stdout,
    /(?:process|host|user):WS-FIN-07[:"]|"host":"WS-FIN-07"/,
    'no second spelling of the host',
  );

  const two = hunt([dir], 2);
  assert.match(two.stderr, /threads: 2 workers, split by host/);
  assert.equal(two.stdout, one.stdout, 'a split run routes every spelling to one worker and agrees byte for byte');

  const coverage = runCli(['coverage', dir, '--format', 'json']);
  assert.equal(coverage.code, 1, 'exit 1: its one gap is the authorization inventory (no policy)');
  const report = JSON.parse(coverage.stdout) as {
    hosts: Array<{ host: string; classes: Array<{ class: string; status: string }> }>;
  };
  assert.deepEqual(
    report.hosts.map((h) => h.host),
    [CORP],
    'coverage sees one host with typeperf’s and Sysmon’s telemetry',
  );
  const absent = report.hosts[0].classes.filter((c) => c.status === 'absent').map((c) => c.class);
  assert.deepEqual(absent, ['authorization']);
});

test('Defender’s lower-case FQDN DeviceName still joins typeperf’s CPU: the same high AN0741', () => {
  const original = hunt([DEFENDER_STORY]).findings;
  assert.equal(original.length, 1);
  const fqdn = (text: string) =>
    text.replaceAll(',WS-FIN-07,', `,${CORP},`).replace(/"DeviceName":\s*"WS-FIN-07"/g, `"DeviceName": "${CORP}"`);
  const dir = copyStory(DEFENDER_STORY, 'defender-fqdn', {
    'DeviceProcessEvents.csv': fqdn,
    'DeviceNetworkEvents.json': fqdn,
    'streaming.json': fqdn,
  });
  for (const file of ['DeviceProcessEvents.csv', 'DeviceNetworkEvents.json', 'streaming.json'])
    assert.doesNotMatch(
      readFileSync(join(dir, file), 'utf8'),
      /"DeviceName":\s*"WS-FIN-07"|,WS-FIN-07,/,
      `${file}: every DeviceName rewritten`,
    );
  const r = hunt([dir]);
  assert.equal(r.findings.length, 1, JSON.stringify(r.findings.map((f) => [f.host, f.severity])));
  const f = r.findings[0];
  assert.deepEqual(verdict(f), verdict(original[0]));
  assert.deepEqual([f.severity, f.legs], ['high', ['resource', 'command', 'network']]);
  assert.ok(
    f.evidence.some(
      (e) => e.kind === 'sustained-cpu' && e.source.includes('typeperf.csv') && e.explanation.includes('pid 6120'),
    ),
    'the CPU of typeperf’s instance (ID Process 6120) is the Defender process’s',
  );
  assert.equal(hunt([dir], 2).stdout, r.stdout, 'the same on two workers');
});

test('two machines sharing a first label in different domains stay two hosts; typeperf’s bare name joins the first', () => {
  // the lab machine runs the same story a day later, with no CPU telemetry of its own
  const dir = join(work, 'two-domains');
  mkdirSync(dir);
  const sysmon = readFileSync(join(SYSMON_STORY, 'sysmon.xml'), 'utf8');
  writeFileSync(join(dir, 'corp-sysmon.xml'), computerAs(CORP)(sysmon));
  writeFileSync(join(dir, 'lab-sysmon.xml'), computerAs(LAB)(sysmon).replaceAll('2026-11-30', '2026-12-01'));
  copyFileSync(join(SYSMON_STORY, 'typeperf.csv'), join(dir, 'typeperf.csv'));
  const one = hunt([dir]);
  const byHost = new Map(one.findings.map((f) => [f.host, f]));
  assert.deepEqual([...byHost.keys()].sort(), [CORP, LAB], JSON.stringify(one.findings.map((f) => f.host)));
  const corp = byHost.get(CORP)!;
  const lab = byHost.get(LAB)!;
  assert.deepEqual([corp.severity, corp.legs], ['high', ['resource', 'command', 'network']]);
  assert.deepEqual([lab.severity, lab.legs], ['medium', ['command', 'network']]);
  assert.match(lab.gaps.join('\n'), /no CPU telemetry for ws-fin-07\.lab\.example\.com/);
  assert.ok(
    !lab.evidence.some((e) => e.source.includes('typeperf.csv')),
    'the lab machine gets none of typeperf’s CPU',
  );
  const two = hunt([dir], 2);
  assert.equal(two.stdout, one.stdout, 'both on one partition, the same on two workers');
});
