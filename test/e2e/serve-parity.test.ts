/**
 * serve finds what hunt finds (issue 16): for every bundled example directory, `coalmine hunt` on the
 * directory and a real `coalmine serve` fed the directory's files through `POST /api/v1/events` end
 * with the same findings: ids, analytic, severity, legs, processes and evidence (kind, time, source).
 * Fed two ways: as `serve --demo` feeds it (its own sender), and as a shipper would, one file per
 * request in another order (the events first, the cron files last), some gzipped. Each file is sent
 * with its mtime as hunt takes it (`?mtime=`: the collection's bodyfile, else the file's own), so a
 * cron file's entries carry the same time in both and every time is compared.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Finding } from '../../src/model/finding.js';
import { expandInputs } from '../../src/run/inputs.js';
import { bundledExamples } from '../../src/server/demo.js';
import { sniffSource } from '../../src/sources/index.js';
import { type LiveCli, ndjsonFindings, runCli, startCli } from '../support/cli.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
/** serve stores findings at its 5 s tick once a batch has been quiet 2 s; generous under load. */
const WAIT_MS = 45_000;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'coalmine-serve-parity-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const exampleName = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() as string;

interface ExampleFile {
  /** `kinsing-like/var/log/audit/audit.log`: as hunt names it when run from examples/. */
  name: string;
  host?: string;
  state: boolean;
  mtimeMs?: number;
  body: Buffer;
}

async function filesOf(example: string): Promise<ExampleFile[]> {
  const files = await expandInputs([example], undefined, () => {});
  const out: ExampleFile[] = [];
  for (const f of files) {
    const chunks: Buffer[] = [];
    for await (const c of f.input.open()) chunks.push(Buffer.from(c));
    out.push({
      name: `${exampleName(example)}/${f.input.relPath ?? exampleName(f.input.name)}`,
      host: f.input.hostHint,
      state: sniffSource(f.input)?.delivers === 'state',
      mtimeMs: f.input.mtimeMs,
      body: Buffer.concat(chunks),
    });
  }
  return out;
}

/** What must agree. */
function shape(f: Finding) {
  return {
    id: f.id,
    analytic: f.analytic,
    severity: f.severity,
    legs: f.legs,
    host: f.host,
    entity: f.entity,
    first_seen: f.first_seen,
    last_seen: f.last_seen,
    suppressed: f.suppressed_by ?? null,
    tier: f.triage?.escalation.tier,
    processes: f.processes.map((p) => `${p.pid} ${p.executable}`),
    // sorted: a state entry's place in the timeline is its time
    evidence: f.evidence.map((e) => `${e.kind} ${e.time} ${e.source}`).sort(),
  };
}

const byId = (a: Finding, b: Finding) => (a.id < b.id ? -1 : 1);

/** hunt on each example directory, run from examples/ so its files are named `EXAMPLE/PATH`. */
function huntAll(examples: string[]): Finding[] {
  const found: Finding[] = [];
  for (const example of examples) {
    const r = runCli(['hunt', exampleName(example), '--format', 'ndjson', '--no-summary'], { cwd: EXAMPLES });
    assert.ok(r.code === 0 || r.code === 1, `hunt ${example}: ${r.stderr}`);
    found.push(...ndjsonFindings(r.stdout));
  }
  return found.sort(byId);
}

async function firstLines(cli: LiveCli, count: number): Promise<string[]> {
  const deadline = Date.now() + WAIT_MS;
  while (cli.out().split('\n').length <= count && cli.child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  return cli.out().split('\n').slice(0, count);
}

/** The server's findings as `hunt --format ndjson` lines, once `count` of them are stored and a tick later. */
async function serveFindings(url: string, token: string, count: number): Promise<Finding[]> {
  const read = async () => {
    const r = await fetch(new URL('/api/v1/findings/export?format=ndjson', url), {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(r.status, 200, await r.clone().text());
    return ndjsonFindings(await r.text());
  };
  const deadline = Date.now() + WAIT_MS;
  let found = await read();
  while (found.length < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    found = await read();
  }
  // a later revision would come at the next tick: read once more after it
  await new Promise((r) => setTimeout(r, 6000));
  return (await read()).sort(byId);
}

test('serve fed every bundled example, as serve --demo and as a shipper in another order, finds what hunt finds', async () => {
  const examples = bundledExamples();
  assert.ok(examples.length > 0);
  const expected = huntAll(examples);
  assert.ok(expected.length > 0, 'hunt finds something in the examples');
  const files = (await Promise.all(examples.map(filesOf))).flat();
  const want = expected.map(shape);

  const demo = startCli(['serve', '--demo', '--listen', '127.0.0.1:0'], {
    cwd: dir,
    env: { ...process.env, TMPDIR: dir },
  });
  const store = join(dir, 'shipper.db');
  const made = runCli(['serve', 'token', 'create', '--name', 'shipper', '--role', 'admin', '--store', store]);
  assert.equal(made.code, 0, made.stderr);
  const secret = made.stdout.trim();
  const shipper = startCli(['serve', '--store', store, '--listen', '127.0.0.1:0'], { cwd: dir });
  try {
    const [demoUrl, tokenLine] = await firstLines(demo, 2);
    const demoToken = /^token: (cm_\S+)$/.exec(tokenLine)?.[1];
    assert.ok(demoToken, `serve --demo printed a token: ${demo.err()}`);
    const [shipperUrl] = await firstLines(shipper, 1);
    assert.match(shipperUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/, shipper.err());

    // the shipper: events before standing facts, each collection's files in reverse order, every other one gzipped
    const order = [...files.filter((f) => !f.state).reverse(), ...files.filter((f) => f.state).reverse()];
    for (const [i, f] of order.entries()) {
      const query = new URLSearchParams({ name: f.name });
      if (f.host) query.set('host', f.host);
      if (f.mtimeMs !== undefined) query.set('mtime', String(f.mtimeMs));
      const r = await fetch(new URL(`/api/v1/events?${query}`, shipperUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream' },
        body: i % 2 === 1 ? gzipSync(f.body) : f.body,
      });
      assert.equal(r.status, 202, `${f.name}: ${await r.text()}`);
    }

    const [fromDemo, fromShipper] = await Promise.all([
      serveFindings(demoUrl, demoToken, expected.length),
      serveFindings(shipperUrl, secret, expected.length),
    ]);
    assert.deepEqual(fromDemo.map(shape), want, `serve --demo: ${demo.err()}`);
    assert.deepEqual(fromShipper.map(shape), want, `the shipper's order: ${shipper.err()}`);
  } finally {
    for (const cli of [demo, shipper]) if (cli.child.exitCode === null) cli.child.kill('SIGTERM');
    await Promise.all([demo.exited, shipper.exited]);
  }
});
