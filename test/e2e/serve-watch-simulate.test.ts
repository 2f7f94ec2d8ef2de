/**
 * Issue 16, acceptance 4: `coalmine simulate all` on this host becomes a case in `coalmine serve`, both
 * ways a sensor feeds it, at the same time against two real servers (temp SQLite stores, tokens made
 * by `serve token create`):
 * - `watch --server URL --token T` sends its telemetry (samples and the sandbox's persistence entries)
 *   to /api/v1/events and the server detects from the events itself;
 * - `watch --webhook URL/api/v1/findings --webhook-token T` delivers the sensor's own findings.
 * Each server must hold a case whose finding is the simulated miner with its pool contact, the cron
 * entry that relaunches it and the kill of its rival (the proxyware client, a child of the same
 * process, joins the miner's finding). Asserted through the API with an analyst token; no token is printed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import type { Staged } from '../../src/simulate/index.js';
import { runCli, startCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'coalmine-serve-watch-sim-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** sustain 20 s + a few samples and batches; the suite shares two cores with the burners. */
const CASE_WAIT_MS = 45_000;

function tokenFor(store: string, name: string, role: string): string {
  const made = runCli(['serve', 'token', 'create', '--name', name, '--role', role, '--store', store]);
  assert.equal(made.code, 0, made.stderr);
  return made.stdout.trim();
}

interface Server {
  url: string;
  sensor: string;
  analyst: string;
  live: ReturnType<typeof startCli>;
}

async function startServe(name: string, policy: string): Promise<Server> {
  const store = join(work, `${name}.db`);
  const sensor = tokenFor(store, `${name}-sensor`, 'sensor');
  const analyst = tokenFor(store, `${name}-analyst`, 'analyst');
  const live = startCli(['serve', '--listen', '127.0.0.1:0', '--store', store, '--policy', policy], { cwd: work });
  children.push(live.child);
  const url = await live.firstLine();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, live.err());
  return { url, sensor, analyst, live };
}

interface CaseSummary {
  id: string;
  state: string;
  findings: string[];
}

/** The open case holding a finding on `executable`, and that finding (newest revision); undefined if none yet. */
async function caseOn(server: Server, executable: string): Promise<{ c: CaseSummary; finding: Finding } | undefined> {
  const headers = { authorization: `Bearer ${server.analyst}` };
  const r = await fetch(new URL('/api/v1/cases', server.url), { headers });
  assert.equal(r.status, 200);
  for (const c of ((await r.json()) as { items: CaseSummary[] }).items) {
    for (const id of c.findings) {
      const f = await fetch(new URL(`/api/v1/findings/${encodeURIComponent(id)}`, server.url), { headers });
      if (f.status !== 200) continue;
      const { finding } = (await f.json()) as { finding: Finding };
      if (finding.facts.executable === executable || finding.processes[0]?.executable === executable)
        return { c, finding };
    }
  }
  return undefined;
}

/** The whole story is in: the miner's finding has every kind of evidence `simulate all` stages, its CPU sustained too. */
const STORY = ['miner-process', 'sustained-cpu', 'pool-contact', 'persistence', 'competitor-kill', 'proxyware-process'];
const told = (f: Finding | undefined) => {
  const kinds = new Set<string>(f?.evidence.map((e) => e.kind) ?? []);
  return STORY.every((k) => kinds.has(k));
};

test('simulate all on this host becomes a case in serve: through watch --server (serve detects from the telemetry) and through watch --webhook (the sensor’s findings)', {
  skip: process.platform !== 'linux' ? 'watch reads /proc (Linux only)' : false,
  timeout: CASE_WAIT_MS + 45_000,
}, async () => {
  // two cores, a burner and two sensors: the bar is what a starved burner still clears
  const policy = join(work, 'policy.yaml');
  writeFileSync(policy, 'thresholds:\n  process_cpu_pct: 50\n  sustain: 20s\n');
  const [telemetryServer, findingsServer] = await Promise.all([
    startServe('telemetry', policy),
    startServe('findings', policy),
  ]);

  // simulate writes its cron entry into a sandbox both sensors watch, never this machine's /
  const sandbox = join(work, 'sandbox');
  mkdirSync(join(sandbox, 'var', 'spool', 'cron', 'crontabs'), { recursive: true });
  const watchArgs = (spool: string) => [
    'watch',
    '--interval',
    '1',
    '--duration',
    `${Math.round(CASE_WAIT_MS / 1000) + 10}s`,
    '--root',
    sandbox,
    '--policy',
    policy,
    '--spool',
    join(work, spool),
  ];
  const viaServer = startCli([
    ...watchArgs('spool-server'),
    '--server',
    telemetryServer.url,
    '--token',
    telemetryServer.sensor,
  ]);
  const viaWebhook = startCli([
    ...watchArgs('spool-webhook'),
    '--webhook',
    new URL('/api/v1/findings', findingsServer.url).toString(),
    '--webhook-token',
    findingsServer.sensor,
  ]);
  children.push(viaServer.child, viaWebhook.child);
  await new Promise((r) => setTimeout(r, 2000));
  const sim = startCli(['simulate', 'all', '--duration', '50s', '--sandbox', sandbox, '--json']);
  children.push(sim.child);
  const staged = JSON.parse(await sim.firstLine()) as Staged;
  assert.ok(staged.miner && staged.cron && staged.rival && staged.proxyware, JSON.stringify(staged));
  const miner = staged.miner.executable;

  const deadline = Date.now() + CASE_WAIT_MS;
  let fromTelemetry: Awaited<ReturnType<typeof caseOn>>;
  let fromFindings: Awaited<ReturnType<typeof caseOn>>;
  while (Date.now() < deadline && !(told(fromTelemetry?.finding) && told(fromFindings?.finding))) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!told(fromTelemetry?.finding)) fromTelemetry = await caseOn(telemetryServer, miner);
    if (!told(fromFindings?.finding)) fromFindings = await caseOn(findingsServer, miner);
  }
  for (const w of [viaServer, viaWebhook]) w.child.kill('SIGINT');
  await Promise.all([viaServer.exited, viaWebhook.exited]);
  sim.child.kill('SIGTERM');
  await sim.exited;
  for (const s of [telemetryServer, findingsServer]) s.live.child.kill('SIGTERM');
  const codes = await Promise.all([telemetryServer.live.exited, findingsServer.live.exited]);
  const logs = `watch --server stderr:\n${viaServer.err()}\nwatch --webhook stderr:\n${viaWebhook.err()}\nserve (telemetry):\n${telemetryServer.live.err()}\nserve (findings):\n${findingsServer.live.err()}`;
  assert.deepEqual(codes, [0, 0], logs);

  for (const [how, got] of [
    ['watch --server', fromTelemetry],
    ['watch --webhook', fromFindings],
  ] as const) {
    assert.ok(got, `${how}: no case on the simulated miner ${miner} within ${CASE_WAIT_MS} ms\n${logs}`);
    const { c, finding } = got;
    assert.equal(c.state, 'new', how);
    assert.equal(finding.analytic, 'AN0742', how);
    const kinds = new Set(finding.evidence.map((e) => e.kind));
    for (const k of STORY)
      assert.ok(kinds.has(k as Finding['evidence'][number]['kind']), `${how}: no ${k} in ${[...kinds].join(', ')}`);
    assert.match(
      finding.evidence.find((e) => e.kind === 'pool-contact')?.explanation ?? '',
      new RegExp(`127\\.0\\.0\\.1:${staged.pool.port}`),
      how,
    );
    // the entry's own place (over --server the evidence's source is the batch that carried it)
    const entry = finding.evidence.find((e) => e.kind === 'persistence')?.persistence;
    assert.equal(entry?.file, '/var/spool/cron/crontabs/root', `${how}: the sandbox cron entry is cited`);
    assert.ok((entry?.entry ?? '').includes(miner), `${how}: the entry relaunches the miner`);
  }
  // the server detected from what the sensor sent: the events went, none was left or dropped
  assert.match(viaServer.err(), /server: [1-9]\d* events sent in [1-9]\d* batches, 0 batches \(0 events\) left/, logs);
  assert.match(viaWebhook.err(), /webhook: [1-9]\d* delivered, 0 left/, logs);
  for (const s of [telemetryServer, findingsServer])
    for (const text of [viaServer.out(), viaServer.err(), viaWebhook.out(), viaWebhook.err(), s.live.err()])
      assert.ok(!text.includes(s.sensor) && !text.includes(s.analyst), 'no token is printed');
});
