/**
 * End to end: `coalmine simulate all --emit-logs DIR` writes the simulated story as log files and
 * `coalmine hunt DIR` turns them into the findings watch would give: one high AN0742 finding on the
 * simulated miner naming its pool contact, the cron entry and the kill, one proxyjacking finding on the
 * proxyware client, and not one bad record. The container behaviour adds a cluster's story (audit log,
 * Tetragon, Prometheus, kubectl inventory) that hunt reads with its own readers, also without a bad
 * record: a high AN0745 finding on the anonymous miner DaemonSet, a medium one on the proxyware pod,
 * and nothing above informational for the CI pod and the batch Job at their limits. A DIR with
 * something in it is refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type EmittedLogs, emitLogs, prepareDir } from '../../src/simulate/emit-logs.js';
import { FAKE_WALLET } from '../../src/simulate/index.js';
import { ndjsonFindings, runCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-simlogs-'));
after(() => rmSync(work, { recursive: true, force: true }));

const cli = runCli;
const findings = ndjsonFindings;

test('simulate all --emit-logs writes a story hunt reads with no bad record: a high AN0742 finding with pool, cron and kill, and the proxyware', () => {
  const dir = join(work, 'story');
  const sim = cli(['simulate', 'all', '--emit-logs', dir, '--json']);
  assert.equal(sim.code, 0, sim.stderr);
  const story = JSON.parse(sim.stdout) as EmittedLogs;
  assert.ok(story.miner && story.cron && story.rival && story.proxyware, sim.stdout);
  for (const f of story.files) assert.ok(f.startsWith(dir), f);
  assert.ok(Date.parse(story.to) <= Date.now() && Date.now() - Date.parse(story.to) < 60_000, story.to);
  assert.ok(Date.parse(story.to) - Date.parse(story.from) > 15 * 60_000, 'longer than the default sustain window');

  const r = cli(['hunt', dir, '--format', 'ndjson', '--no-summary']);
  assert.equal(r.code, 0, r.stderr);
  const all = findings(r.stdout);
  const high = all.find((f) => f.severity === 'high' && f.facts.executable === story.miner?.executable);
  assert.ok(high, r.stdout);
  assert.equal(high.analytic, 'AN0742');
  assert.deepEqual(high.gaps, []);
  const kinds = new Set(high.evidence.map((e) => e.kind));
  for (const k of ['miner-process', 'sustained-cpu', 'pool-contact', 'persistence', 'competitor-kill'])
    assert.ok(kinds.has(k as never), `${k} missing: ${[...kinds].join(', ')}`);
  assert.match(
    high.evidence.find((e) => e.kind === 'pool-contact')?.explanation ?? '',
    new RegExp(`connected to ${story.miner.pool.replace(/\./g, '\\.')}, the Stratum pool`),
  );
  const cron = high.evidence.find((e) => e.kind === 'persistence' && e.persistence?.mechanism === 'cron');
  assert.ok(cron, 'the cron entry is evidence');
  assert.equal(cron.source, `${story.cron.file}:3`);
  assert.ok(cron.persistence?.entry.includes(story.miner.executable));
  assert.ok(
    high.evidence.some(
      (e) =>
        e.kind === 'competitor-kill' && e.explanation.includes(`sent signal 9 to kdevtmpfsi (pid ${story.rival?.pid})`),
    ),
    'the kill syscall names its victim',
  );

  const proxy = all.find((f) => f.facts.executable === story.proxyware?.executable);
  assert.ok(proxy, r.stdout);
  assert.equal(proxy.analytic, 'AN0742');
  assert.deepEqual(proxy.attack, ['T1496.002']);
  const pw = proxy.evidence.find((e) => e.kind === 'proxyware-process');
  assert.ok(pw, proxy.evidence.map((e) => e.kind).join(', '));
  assert.match(pw.explanation, /-email=simulate@coalmine\.invalid -password=\(hidden\)/);

  // the summary: every file read by its format, nothing bad
  const s = cli(['hunt', dir, '--format', 'ndjson']);
  assert.match(
    s.stderr,
    /7 files \(auditd 1, crontab 1, k8s-audit 1, k8s-inventory 1, metrics-csv 1, prometheus 1, tetragon 1\)/,
  );
  assert.doesNotMatch(s.stderr, /bad input/);
});

test('simulate container --emit-logs writes an audit log, Tetragon, Prometheus and kubectl files that parse and that hunt reads without a bad record', () => {
  const dir = join(work, 'cluster');
  const sim = cli(['simulate', 'container', '--emit-logs', dir, '--json']);
  assert.equal(sim.code, 0, sim.stderr);
  const story = JSON.parse(sim.stdout) as EmittedLogs;
  const c = story.containers;
  assert.ok(c, sim.stdout);
  assert.equal(story.miner, undefined, 'the host story is not written for container alone');
  const file = (name: string) => {
    const path = story.files.find((f) => f.endsWith(`/k8s/${name}`));
    assert.ok(path, `${name} written: ${story.files.join(', ')}`);
    return readFileSync(path, 'utf8');
  };
  const jsonLines = (text: string) =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  // the log backend: both stages of every request, every request with its answer, ending by now
  const audit = jsonLines(file('k8s-audit.log'));
  const stages = (stage: string) => audit.filter((e) => e.stage === stage).map((e) => e.auditID);
  assert.ok(audit.every((e) => e.kind === 'Event' && e.apiVersion === 'audit.k8s.io/v1'));
  assert.deepEqual(stages('RequestReceived'), stages('ResponseComplete'));
  const created = audit.filter((e) => e.stage === 'ResponseComplete' && e.verb === 'create');
  const by = (user: string) =>
    created.filter((e) => (e.user as { username: string }).username === user).map((e) => e.objectRef);
  assert.deepEqual(by('system:anonymous'), [
    { resource: 'daemonsets', namespace: 'monitoring', apiGroup: 'apps', apiVersion: 'v1' },
  ]);
  assert.equal(by(c.proxyware.creator).length, 1, 'the proxyware creator appears once');
  assert.equal(by(c.ci.creator).length, c.ci.earlierRuns + 1, 'the runner created earlier CI pods');
  assert.ok(c.ci.earlierRuns >= 3 && c.batch.earlierRuns >= 3, 'routine creators have history');
  const last = Date.parse(String(audit.at(-1)?.stageTimestamp));
  assert.ok(last <= Date.parse(story.to) && Date.parse(story.to) - last < 60 * 60_000, String(last));

  // Tetragon: the miner and the proxyware client run in their pods
  const tetragon = jsonLines(file('tetragon.json'));
  const execs = tetragon.flatMap((e) =>
    e.process_exec ? [e.process_exec as { process: Record<string, unknown> }] : [],
  );
  const inPod = (pod: string) => execs.filter((e) => (e.process.pod as { name: string }).name === pod);
  for (const pod of c.miner.pods) assert.match(String(inPod(pod)[0]?.process.binary), /\/xmrig$/);
  assert.match(String(inPod(c.proxyware.pods[0])[0]?.process.arguments), /^-tou-accept -email /);
  assert.ok(
    tetragon.some((e) => e.process_exit),
    'a process exit too',
  );

  // Prometheus: query_range matrices, the miner's counter growing by its limit's worth of CPU seconds a minute
  const answers = jsonLines(file('prometheus-query_range.json')) as Array<{
    status: string;
    data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  }>;
  assert.ok(answers.length >= 2 && answers.every((a) => a.status === 'success' && a.data.resultType === 'matrix'));
  const series = answers.flatMap((a) => a.data.result);
  const minerCpu = series.find(
    (s) => s.metric.__name__ === 'container_cpu_usage_seconds_total' && s.metric.pod === c.miner.pods[0],
  );
  assert.ok(minerCpu && minerCpu.values.length >= 30, 'at least 30 minutes of samples');
  const [a, b] = minerCpu.values.slice(-2);
  assert.equal((Number(b[1]) - Number(a[1])) / (b[0] - a[0]), c.miner.cpuLimitCores);
  assert.ok(
    series.some((s) => s.metric.__name__ === 'kube_pod_container_resource_limits' && s.metric.pod === c.ci.pods[0]),
  );

  // the inventory: a List with every story pod
  const list = JSON.parse(file('kubectl-pods.json')) as { kind: string; items: Array<{ metadata: { name: string } }> };
  assert.equal(list.kind, 'List');
  const names = new Set(list.items.map((i) => i.metadata.name));
  for (const pod of [...c.miner.pods, ...c.proxyware.pods, ...c.ci.pods, ...c.batch.pods])
    assert.ok(names.has(pod), pod);

  // hunt reads each file with its own reader and reports no bad record
  const r = cli(['hunt', dir, '--format', 'ndjson']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /4 files \(k8s-audit 1, k8s-inventory 1, prometheus 1, tetragon 1\)/);
  assert.doesNotMatch(r.stderr, /bad input/);
  const all = findings(r.stdout);
  const on = (w: { namespace: string; name: string }) =>
    all.filter((f) => f.entity === `workload:cluster:${w.namespace}:${w.name}`);
  const miner = on(c.miner);
  assert.equal(miner.length, 1, r.stdout);
  assert.equal(miner[0].analytic, 'AN0745');
  assert.equal(miner[0].severity, 'high');
  assert.deepEqual([...miner[0].legs].sort(), ['authorization', 'resource', 'tool']);
  assert.equal(miner[0].facts.creator, 'system:anonymous');
  // proxyware needs no CPU leg: its tool and a first-seen creator and image (26 h of history) make medium
  const proxy = on(c.proxyware);
  assert.equal(proxy.length, 1, r.stdout);
  assert.equal(proxy[0].severity, 'medium');
  assert.deepEqual([...proxy[0].legs].sort(), ['authorization', 'tool']);
  for (const routine of [c.ci, c.batch])
    for (const f of on(routine)) assert.equal(f.severity, 'informational', `${routine.name}: ${f.title}`);
});

test('simulate --emit-logs refuses a directory with something in it, and a file, with the usage exit code', () => {
  const full = join(work, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'keep.txt'), 'mine\n');
  const r = cli(['simulate', 'miner', '--emit-logs', full]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--emit-logs: .*full: exists and is not empty/);
  assert.deepEqual(readdirSync(full), ['keep.txt']);
  const file = cli(['simulate', 'miner', '--emit-logs', join(full, 'keep.txt')]);
  assert.equal(file.code, 2);
  assert.match(file.stderr, /keep\.txt: exists and is not a directory/);
  // an empty directory is fine, and nothing was started
  const empty = join(work, 'empty');
  mkdirSync(empty);
  const ok = cli(['simulate', 'miner', '--emit-logs', empty]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /nothing was started/);
});

test('the same options and end time write the same bytes, ending at that time', () => {
  const now = Date.parse('2026-12-01T10:00:00.400Z');
  const runs = ['a', 'b'].map((name) => {
    const dir = join(work, `same-${name}`);
    prepareDir(dir);
    return emitLogs(dir, {
      behaviours: ['miner', 'persistence', 'competitor', 'proxyware', 'container'],
      share: 0.9,
      wallet: FAKE_WALLET,
      now,
    });
  });
  assert.equal(runs[0].to, '2026-12-01T10:00:00Z');
  assert.equal(runs[0].from, '2026-12-01T09:35:00Z');
  assert.deepEqual(
    runs[0].files.map((f) => f.slice(runs[0].dir.length)),
    runs[1].files.map((f) => f.slice(runs[1].dir.length)),
  );
  for (let i = 0; i < runs[0].files.length; i++)
    assert.equal(readFileSync(runs[0].files[i], 'utf8'), readFileSync(runs[1].files[i], 'utf8'), runs[0].files[i]);
});
