/**
 * `hunt --workers 2` prints what `hunt --workers 1` prints: the same NDJSON bytes and the same run
 * summary (but its timing and thread lines), on the bundled example and on our fixtures of every
 * platform. Host-scoped input is split (the thread line says so); input whose records join across
 * hosts (cloud, containers, host-less flows) runs on one thread and says why. The generated fleet
 * (bench/generate.ts, 200 hosts, planted miners) makes findings on both workers. Also from a built
 * package (dist/), where the worker script is hunt-worker.js instead of hunt-worker.ts through tsx.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateEvents } from '../../bench/generate.js';
import { dealtOwners, partitionOf, workerOf } from '../../src/engine/partition.js';
import { expandInputs } from '../../src/run/inputs.js';
import { sampledOwners } from '../../src/run/partition-sample.js';
import { buildPackage } from '../support/built-package.js';
import { runCli } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const work = mkdtempSync(join(tmpdir(), 'coalmine-workers-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The run summary without what differs between runs of the same input: its timing and the thread line. */
function stable(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith('threads: ') && !l.includes('running src/ through tsx'))
    .join('\n')
    .replace(/ in \d+(\.\d+)?s \(\d+ events\/s\)/g, ' in (time)');
}

function threadLine(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('threads: ')) ?? '';
}

function both(paths: string[], run = runCli) {
  const one = run(['hunt', ...paths, '--format', 'ndjson', '--workers', '1']);
  const two = run(['hunt', ...paths, '--format', 'ndjson', '--workers', '2']);
  assert.equal(two.code, one.code, two.stderr);
  assert.equal(two.stdout, one.stdout, `${paths.join(' ')}: the same NDJSON on two workers`);
  assert.equal(stable(two.stderr), stable(one.stderr), `${paths.join(' ')}: the same run summary`);
  assert.equal(threadLine(one.stderr), '', 'one worker asked for: nothing to say');
  return { one, two, threads: threadLine(two.stderr) };
}

const SPLIT = [
  ['linux: the bundled example', join(ROOT, 'examples', 'kinsing-like')],
  ['windows: EVTX (damaged files included)', join(FIXTURES, 'evtx')],
  ['windows: event XML, JSON and winlogbeat', join(FIXTURES, 'windows')],
  ['linux: osquery', join(FIXTURES, 'osquery')],
  ['windows: typeperf', join(FIXTURES, 'typeperf')],
  ['persistence: crontab with no host name', join(FIXTURES, 'crontab')],
] as const;

for (const [what, path] of SPLIT)
  test(`split by host, the same output: ${what}`, { timeout: 120_000 }, () => {
    const { threads, one } = both([path]);
    assert.equal(threads, 'threads: 2 workers, split by host', one.stderr);
  });

test('several inputs of several hosts in one run: split, the same output', { timeout: 120_000 }, () => {
  const { threads, one } = both([
    join(ROOT, 'examples', 'kinsing-like'),
    join(FIXTURES, 'evtx'),
    join(FIXTURES, 'osquery'),
    join(FIXTURES, 'rules'),
    join(FIXTURES, 'metrics-csv'),
  ]);
  assert.equal(threads, 'threads: 2 workers, split by host');
  assert.ok(one.stdout.split('\n').filter(Boolean).length >= 3, 'findings from several hosts');
});

const JOINED = [
  ['cloud: CloudTrail', join(FIXTURES, 'cloudtrail'), 'cloud-scoped'],
  ['containers: Tetragon', join(FIXTURES, 'tetragon'), 'k8s-scoped'],
  ['containers: Kubernetes audit', join(FIXTURES, 'k8s-audit'), 'k8s-scoped'],
  ['network: host-less Suricata flows', join(FIXTURES, 'suricata'), 'addr-scoped'],
  ['network: Zeek (relay fan-out, judged against every host)', join(FIXTURES, 'zeek'), '-scoped'],
] as const;

for (const [what, path, scope] of JOINED)
  test(`joined across hosts, one thread and why, the same output: ${what}`, { timeout: 120_000 }, () => {
    const { threads } = both([path]);
    assert.match(threads, /^threads: one, not split: an event of .+ is \w+-scoped/);
    assert.ok(threads.includes(scope), threads);
  });

test('a line that repeats its host key (the parse keeps the last): its owner finds out, one thread, the same output', {
  timeout: 120_000,
}, () => {
  // `a` is routed to worker 0 (the sample weighs only its partition); the repeated key names a host of worker 1
  const stamp = (s: number) => `"@timestamp":"2026-03-02T06:00:0${s}Z"`;
  const other = Array.from({ length: 200 }, (_, i) => `b-${i}`).find(
    (name) => workerOf(`host:${name}`, dealtOwners(2)) === 1 && partitionOf(`host:${name}`) !== partitionOf('host:a'),
  );
  const miner = `"process":{"pid":7,"name":"xmrig","command_line":"./xmrig -o stratum+tcp://pool.example:3333 -u 4AbC"}`;
  const file = join(work, 'repeated-host.ndjson');
  writeFileSync(
    file,
    [
      `{${stamp(1)},"event":{"action":"exec","dataset":"d"},"host":{"name":"a"},"process":{"pid":5,"name":"ls"}}`,
      `{${stamp(2)},"event":{"action":"exec","dataset":"d"},"host":{"name":"a"},${miner},"host":{"name":"${other}"}}`,
      '',
    ].join('\n'),
  );
  const { one, threads } = both([file]);
  assert.match(threads, /^threads: one, not split: line 2 of .+ names a host its text routes elsewhere/);
  assert.ok(one.stdout.includes(`"${other}"`), `the miner is found on ${other}: ${one.stdout}`);
});

test('a generated fleet of 200 hosts with planted miners: findings on both workers, the same bytes', {
  timeout: 300_000,
}, async () => {
  const file = join(work, 'fleet.ndjson');
  await generateEvents({ events: 20_000, seed: 0x0c0a1, path: file });
  const { one, threads } = both([file]);
  assert.equal(threads, 'threads: 2 workers, split by host');
  const hosts = new Set(
    one.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { host: string }).host),
  );
  // the owners the run dealt: from the same sample of the file
  const dealt = await sampledOwners(await expandInputs([file], undefined, () => {}), 2);
  const owners = new Set([...hosts].map((h) => workerOf(`host:${h}`, dealt)));
  assert.deepEqual([...owners].sort(), [0, 1], `findings on both workers' hosts (${[...hosts].join(', ')})`);
});

test('bad lines of many hosts in two NDJSON files: each reported once, in input order, as on one thread', {
  timeout: 300_000,
}, async () => {
  const fleet = join(work, 'fleet-bad.ndjson');
  await generateEvents({ events: 6_000, seed: 0x0bad1, path: fleet });
  const lines = readFileSync(fleet, 'utf8').split('\n').filter(Boolean);
  const stamp = '"@timestamp":"2026-03-02T06:10:00Z"';
  // lines the text routes to one worker (a named host) and lines every worker parses (no host, nested host)
  const bad = (i: number): string =>
    [
      `{${stamp},"event":{"action":"explode","dataset":"d"},"host":{"name":"worker-${i % 40}"}}`,
      `{${stamp},"event":{"action":"exec","dataset":"d"},"host":{"name":"web-${String(i % 30).padStart(3, '0')}"},"process":{"pid":"seven"}}`,
      `{"@timestamp":"not a time","event":{"action":"exec","dataset":"d"},"host":{"name":"db-${i % 9}"}}`,
      `{${stamp},"event":{"action":"exec","dataset":"d"},"host":{"name":"worker-${i % 7}"},"broken"`,
      `{${stamp},"event":{"action":"nope","dataset":"d"}}`,
      `{${stamp},"event":{"action":"nope","dataset":"d"},"url":{"host":{"name":"x"}}}`,
    ][i % 6];
  const withBad = (part: string[], every: number) =>
    `${part.flatMap((l, i) => (i % every === 0 ? [bad(i / every), l] : [l])).join('\n')}\n`;
  const a = join(work, 'a.ndjson');
  const b = join(work, 'b.ndjson');
  writeFileSync(a, withBad(lines.slice(0, 3_000), 37));
  writeFileSync(b, withBad(lines.slice(3_000), 23));
  const { one, threads } = both([a, b]);
  assert.equal(threads, 'threads: 2 workers, split by host');
  const total = Number(/bad input: (\d+)/.exec(one.stderr)?.[1]);
  assert.equal(total, Math.ceil(3_000 / 37) + Math.ceil(3_000 / 23), one.stderr);
  const listed = one.stderr.split('\n').filter((l) => /^ {2}\S+\.ndjson:\d+: NDJSON_/.test(l));
  assert.equal(listed.length, 50, 'the first 50 listed');
  const places = listed.map((l) => {
    const m = /([ab])\.ndjson:(\d+):/.exec(l);
    return [m?.[1], Number(m?.[2])] as const;
  });
  assert.deepEqual(
    places,
    [...places].sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : x[0] === 'a' ? -1 : 1)),
    'in input order: the first file, then by line',
  );
});

test('standard input is read once: one thread, and it says so', { timeout: 120_000 }, () => {
  const r = runCli(['hunt', '-', '--format', 'ndjson', '--workers', '2', '--host', 'h1'], { input: '' });
  assert.equal(threadLine(r.stderr), 'threads: one, not split: standard input is read once');
});

test('--workers takes a whole number of threads, 1 or more', () => {
  for (const bad of ['0', '-1', 'two', '1.5']) {
    const r = runCli(['hunt', join(ROOT, 'examples', 'kinsing-like'), '--workers', bad]);
    assert.equal(r.code, 2, `--workers ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /whole number of threads/);
  }
});

test('from the build in dist/: the worker is hunt-worker.js, the same output', { timeout: 300_000 }, () => {
  const bin = join(buildPackage(work), 'bin', 'coalmine.js');
  const env = { ...process.env };
  delete env.COALMINE_FROM_SOURCE;
  const built = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    assert.doesNotMatch(r.stderr, /through tsx/, 'the build runs, not src/');
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const { threads, two } = both([join(ROOT, 'examples', 'kinsing-like'), join(FIXTURES, 'evtx')], built);
  assert.equal(threads, 'threads: 2 workers, split by host');
  assert.equal(
    two.stdout,
    runCli(['hunt', join(ROOT, 'examples', 'kinsing-like'), join(FIXTURES, 'evtx'), '--format', 'ndjson']).stdout,
  );
});
