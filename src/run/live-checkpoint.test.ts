/**
 * A checkpoint is the detector's whole state: a detector restored from one taken after any body, and
 * given the rest, reports exactly what one uninterrupted detector reports (the same findings, revisions,
 * legs and evidence, in the same order) and ends with the same counts. Run over scenarios that exercise
 * every stateful part: process lineage and file provenance (a dropper), Windows, cloud launches,
 * workloads, Sigma correlations and Sigma context, the host-by-address map, batches open across it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import type { Finding } from '../model/finding.js';
import { defaultPolicy } from '../model/policy.js';
import { sniffSource } from '../sources/index.js';
import type { IngestMeta } from './body.js';
import { streamInput } from './inputs.js';
import { LiveDetector } from './live.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const STABLE_RULES = join(ROOT, 'rules', 'stable');
const T0 = Date.parse('2026-01-01T00:00:00Z');

interface Scenario {
  dir: string;
  rules: string[];
  /** Sigma placeholder values the scenario's rules need. */
  placeholders?: Record<string, string[]>;
}

const SCENARIOS: Scenario[] = [
  { dir: join(ROOT, 'examples', 'kinsing-like'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'lnx-decoded-dropper'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'an0741-miner'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'cloud', 'aws-leaked-key'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'cloud', 'gcp-leaked-key'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'cloud', 'azure-leaked-key'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'containers', 'miner-daemonset'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'scenarios', 'containers', 'first-seen-identity'), rules: [STABLE_RULES] },
  {
    dir: join(FIXTURES, 'sigma-correlation'),
    rules: [join(FIXTURES, 'sigma-correlation', 'rules')],
    placeholders: { pool_ports: ['3333', '14444'] },
  },
  { dir: join(FIXTURES, 'sigma-context', 'linux'), rules: [STABLE_RULES, join(FIXTURES, 'sigma-context', 'rules')] },
  { dir: join(FIXTURES, 'bus-address'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'zeek', 'relay'), rules: [STABLE_RULES] },
  { dir: join(FIXTURES, 'checkpoint'), rules: [STABLE_RULES] },
];

/** Line formats a file of which is cut into several bodies, so state is carried across checkpoints mid-file. */
const LINE_FORMATS = new Set(['auditd', 'ndjson', 'k8s-audit', 'tetragon', 'route53-resolver', 'evtx-json']);
/** The same, for formats whose header lines (a CSV's first, Zeek's `#` lines) every body repeats. */
const HEADED_FORMATS = new Set(['metrics-csv', 'typeperf', 'vpc-flow', 'zeek']);
const PIECES = 4;

type Body = { body: Buffer; meta: IngestMeta };

/**
 * Every file of a scenario as request bodies, in name order, as a collector would send them: a line
 * format's file in about four bodies (its format given, as a shipper sending pieces would), others whole.
 */
async function bodiesOf(dir: string): Promise<Body[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (!name.endsWith('.md') && !name.endsWith('.yml') && !name.endsWith('.yaml')) files.push(full);
    }
  };
  walk(dir);
  let host: string | undefined;
  try {
    host = readFileSync(join(dir, 'etc', 'hostname'), 'utf8').trim();
  } catch {
    host = undefined;
  }
  const out: Body[] = [];
  for (const full of files) {
    const bytes = readFileSync(full);
    const meta: IngestMeta = { name: full, host, path: `/${relative(dir, full)}`, mtimeMs: T0 };
    const file = await streamInput(full, once(bytes), { mtimeMs: T0, relPath: relative(dir, full) }, () => {}, 'empty');
    const format = file ? sniffSource(file.input)?.name : undefined;
    if (!format || (!LINE_FORMATS.has(format) && !HEADED_FORMATS.has(format))) {
      out.push({ body: bytes, meta });
      continue;
    }
    const lines = bytes.toString('utf8').split('\n');
    const headerLines = format === 'zeek' ? lines.findIndex((l) => !l.startsWith('#')) : 1;
    const header = HEADED_FORMATS.has(format) ? lines.splice(0, Math.max(0, headerLines)) : [];
    const size = Math.max(1, Math.ceil(lines.length / PIECES));
    for (let at = 0, piece = 0; at < lines.length; at += size, piece++) {
      const text = [...header, ...lines.slice(at, at + size)].join('\n');
      out.push({ body: Buffer.from(text), meta: { ...meta, name: `${full}#${piece}`, format } });
    }
  }
  return out;
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

interface Said {
  revision: number;
  id: string;
  severity: string;
  legs: string[];
  evidence: string[];
  context: string[];
}

function said(f: Finding, revision: number): Said {
  return {
    revision,
    id: f.id,
    severity: f.severity,
    legs: [...f.legs],
    evidence: f.evidence.map((e) => `${e.kind} ${e.time} ${e.source}`),
    context: (f.context ?? []).map((c) => JSON.stringify(c)),
  };
}

const TICK_MS = 5000;

/**
 * When body `i` arrives: bodies come 700 ms apart (within the settle time, so a batch is open across
 * most checkpoints), every third after a pause that ends the batch (so the engine holds state too).
 */
function arrivalOf(i: number): number {
  return T0 + i * 700 + Math.floor(i / 3) * 2500;
}

/**
 * Feed bodies `from` up to `to` (exclusive) as a worker does: the clock ticked at each grid point passed
 * before the next body arrives.
 */
async function feed(live: LiveDetector, bodies: Body[], from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const arrival = arrivalOf(i);
    if (i > 0)
      for (let t = Math.floor(arrivalOf(i - 1) / TICK_MS) * TICK_MS + TICK_MS; t <= arrival; t += TICK_MS) live.tick(t);
    await live.ingest(bodies[i].body, { ...bodies[i].meta, receivedAtMs: arrival });
  }
}

async function detector(
  rules: string[],
  settleMs: number,
  out: Said[],
  placeholders?: Record<string, string[]>,
): Promise<LiveDetector> {
  const policy = defaultPolicy();
  if (placeholders) policy.sigma = { ...policy.sigma, placeholders };
  return LiveDetector.create({
    policy,
    ruleDirs: rules,
    settleMs,
    now: () => T0,
    onFinding: (f, revision) => out.push(said(f, revision)),
  });
}

/** Ticks past the last body until everything is read and closed, then the end. */
function finish(live: LiveDetector, n: number): void {
  const last = arrivalOf(n - 1);
  for (let t = Math.floor(last / TICK_MS) * TICK_MS + TICK_MS; t <= last + 4 * TICK_MS; t += TICK_MS) live.tick(t);
  live.end();
}

for (const settleMs of [2000, 0]) {
  test(`checkpoint: restored after any body, a detector goes on as the uninterrupted one (settle ${settleMs} ms)`, async () => {
    let restores = 0;
    let findings = 0;
    for (const { dir, rules, placeholders } of SCENARIOS) {
      const bodies = await bodiesOf(dir);
      const whole: Said[] = [];
      const uninterrupted = await detector(rules, settleMs, whole, placeholders);
      await feed(uninterrupted, bodies, 0, bodies.length);
      finish(uninterrupted, bodies.length);
      findings += whole.length;
      for (let at = 1; at < bodies.length; at++) {
        const got: Said[] = [];
        const first = await detector(rules, settleMs, got, placeholders);
        await feed(first, bodies, 0, at);
        const checkpoint = first.checkpoint();
        const second = await detector(rules, settleMs, got, placeholders);
        second.restore(checkpoint);
        await feed(second, bodies, at, bodies.length);
        finish(second, bodies.length);
        restores++;
        const where = `${relative(ROOT, dir)}, checkpoint after body ${at} of ${bodies.length}`;
        assert.deepEqual(got, whole, where);
        assert.deepEqual({ ...second.stats }, { ...uninterrupted.stats }, where);
      }
    }
    assert.ok(restores >= 20, `${restores} restores`);
    assert.ok(findings >= 8, `${findings} reports compared`);
  });
}

test('checkpoint: a checkpoint restores into a new detector only, and twice gives the same bytes', async () => {
  const bodies = await bodiesOf(join(ROOT, 'examples', 'kinsing-like'));
  const first = await detector([STABLE_RULES], 2000, []);
  await feed(first, bodies, 0, 2);
  const checkpoint = first.checkpoint();
  const second = await detector([STABLE_RULES], 2000, []);
  second.restore(checkpoint);
  assert.deepEqual(second.checkpoint(), checkpoint, 'a restored detector checkpoints as the one it came from');
  await feed(second, bodies, 2, 3);
  assert.throws(() => second.restore(checkpoint), /new detector/);
});
