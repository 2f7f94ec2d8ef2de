import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { moneroSession } from '../../test/support/stratum-captures.js';
import type { CoalEvent } from '../model/event.js';
import type { Finding } from '../model/finding.js';
import type { Issue } from '../model/issue.js';
import { defaultPolicy } from '../model/policy.js';
import { sniffSource } from '../sources/index.js';
import { hunt } from './hunt.js';
import { streamInput } from './inputs.js';
import {
  type IngestMeta,
  type IngestResult,
  LiveDetector,
  type LiveDetectorOptions,
  MAX_BATCH_SPAN_MS,
  mergeLanes,
} from './live.js';
import { parsePolicy } from './policy.js';

const KINSING = join(import.meta.dirname, '..', '..', 'examples', 'kinsing-like');
const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures');

interface Report {
  revision: number;
  finding: Finding;
}

/** A detector that keeps every report and issue. */
async function detector(options: Partial<LiveDetectorOptions> = {}) {
  const reports: Report[] = [];
  const issues: Issue[] = [];
  const live = await LiveDetector.create({
    policy: defaultPolicy(),
    onFinding: (finding, revision) => reports.push({ finding, revision }),
    onIssue: (i) => issues.push(i),
    ...options,
  });
  return { live, reports, issues };
}

/**
 * What a finding says, as compared between runs (not its Sigma context, which a live finding has as of
 * its report). `lines: false` leaves out evidence line numbers, for bodies that split a file.
 */
function shape(f: Finding, lines = true) {
  return {
    id: f.id,
    analytic: f.analytic,
    severity: f.severity,
    legs: f.legs,
    host: f.host,
    evidence: f.evidence.map((e) => `${e.kind} ${e.time} ${lines ? e.source : e.source.replace(/:\d+$/, '')}`).sort(),
    tier: f.triage?.escalation.tier,
    suppressed: f.suppressed_by,
  };
}

/** The last report of each finding id, in id order. */
function latest(reports: Report[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const r of reports) byId.set(r.finding.id, r.finding);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The bytes in `size`-byte pieces, as a request body streams in. */
async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** A collection's bodyfile: path → mtime (ms), the times `hunt` gives its state files. */
function bodyfileTimes(dir: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of readFileSync(join(dir, 'bodyfile'), 'utf8').split('\n')) {
    const f = line.split('|');
    if (f.length >= 11) times.set(f[1], Number(f[8]) * 1000);
  }
  return times;
}

/** Each telemetry file of a collection as one request, named as `hunt DIR` names it. */
function collectionRequests(dir: string): Array<{ body: Uint8Array; meta: IngestMeta }> {
  const host = readFileSync(join(dir, 'etc', 'hostname'), 'utf8').trim();
  const times = bodyfileTimes(dir);
  const state = ['etc/crontab', 'var/spool/cron/crontabs/redis'];
  const events = ['var/log/audit/audit.log', 'var/log/metrics/cpu.csv'];
  return [...state, ...events].map((rel) => {
    const meta: IngestMeta = { name: join(dir, rel), host };
    if (state.includes(rel)) {
      meta.path = `/${rel}`;
      meta.mtimeMs = times.get(`/${rel}`);
    }
    return { body: readFileSync(join(dir, rel)), meta };
  });
}

test('live: the kinsing-like example sent as requests (plain, gzip, chunked) gives what hunt gives', async () => {
  const expected = await hunt({ paths: [KINSING], policy: defaultPolicy(), workers: 1 });
  assert.ok(expected.findings.length > 0);
  const { live, reports } = await detector();
  const requests = collectionRequests(KINSING);
  const results: IngestResult[] = [];
  for (const [i, { body, meta }] of requests.entries()) {
    // every other request gzipped, every third in small chunks: the body's shape must not matter
    const bytes = i % 2 === 1 ? gzipSync(body) : body;
    results.push(await live.ingest(i % 3 === 2 ? inChunks(bytes, 97) : bytes, meta));
  }
  live.end();
  assert.deepEqual(
    results.map((r) => [r.format, r.issues]),
    [
      ['crontab', []],
      ['crontab', []],
      ['auditd', []],
      ['metrics-csv', []],
    ],
  );
  assert.equal(
    results.reduce((n, r) => n + r.events, 0),
    expected.summary.events,
  );
  assert.equal(
    results.reduce((n, r) => n + r.stateEvents, 0),
    expected.summary.stateEvents,
  );
  assert.deepEqual(
    latest(reports).map((f) => shape(f)),
    [...expected.findings].sort((a, b) => (a.id < b.id ? -1 : 1)).map((f) => shape(f)),
  );
});

test('live: a finding is reported when it holds and again, next revision, when a later request adds evidence', async () => {
  const { live, reports } = await detector();
  const [, redis, audit, cpu] = collectionRequests(KINSING);
  const cpuLines = readFileSync(join(KINSING, 'var/log/metrics/cpu.csv'), 'utf8').trimEnd().split('\n');
  const [header, ...rows] = cpuLines;
  const timeOf = (row: string) => Date.parse(row.split(',')[0]);
  await live.ingest(redis.body, redis.meta);
  await live.ingest(audit.body, audit.meta);
  // the live clock just after the audit log's last record
  const auditText = audit.body.toString();
  const lastAudit = Math.max(...[...auditText.matchAll(/audit\((\d+)\.\d+:/g)].map((m) => Number(m[1]) * 1000));
  live.tick(lastAudit + 1000);
  const afterAudit = reports.map((r) => ({ revision: r.revision, legs: r.finding.legs.length }));
  assert.equal(afterAudit.length, 1, 'the process and pool evidence holds before any CPU sample');
  // the CPU samples arrive minute by minute, each tick at the sample's time
  for (let i = 0; i < rows.length; i += 3) {
    const slice = rows.slice(i, i + 3);
    await live.ingest(Buffer.from(`${header}\n${slice.join('\n')}\n`), { name: `${cpu.meta.name}#${i}` });
    live.tick(timeOf(slice[slice.length - 1]));
  }
  live.end();
  const ids = new Set(reports.map((r) => r.finding.id));
  assert.equal(ids.size, 1);
  assert.deepEqual(
    reports.map((r) => r.revision),
    reports.map((_, i) => i + 1),
  );
  assert.ok(reports.length >= 2, 'the sustained CPU raised it');
  const first = reports[0].finding;
  const last = reports[reports.length - 1].finding;
  assert.ok(!first.legs.includes('resource') && last.legs.includes('resource'), `${first.legs} → ${last.legs}`);
  assert.ok(last.evidence.length > first.evidence.length);
});

/** `good` with `bad` lines put after the given good lines; where each bad line landed (1-based). */
function withBadLines(good: string, bad: string[], after: number[]): { text: string; badAt: number[] } {
  const lines = good.trimEnd().split('\n');
  const out: string[] = [];
  const badAt: number[] = [];
  lines.forEach((line, i) => {
    out.push(line);
    const k = after.indexOf(i + 1);
    if (k !== -1) {
      out.push(bad[k]);
      badAt.push(out.length);
    }
  });
  return { text: `${out.join('\n')}\n`, badAt };
}

test('live: each bad line of a request is an issue naming the request and line; the good ones are pushed', async () => {
  const cases = [
    { file: join(FIXTURES, 'ndjson', 'good.ndjson'), after: [1, 2, 3] },
    { file: join(KINSING, 'var/log/metrics/cpu.csv'), after: [1, 40, 90] },
  ];
  const garbage = ['{"@timestamp": "not json', '\u0000\u0001\u00ff binary \u001b[31m', 'x'.repeat(5000)];
  for (const { file, after } of cases) {
    const good = readFileSync(file, 'utf8');
    const clean = await (await detector()).live.ingest(Buffer.from(good), { name: 'clean', host: 'h1' });
    assert.deepEqual(clean.issues, []);
    assert.ok(clean.events > 0);
    const { text, badAt } = withBadLines(good, garbage, after);
    const { live } = await detector({ maxLineBytes: 4096 });
    const result = await live.ingest(Buffer.from(text), { name: 'sensor-7/upload', host: 'h1', format: clean.format });
    assert.equal(result.events, clean.events, file);
    assert.equal(live.stats.events, clean.events);
    assert.deepEqual(
      result.issues.map((i) => `${i.file}:${i.line}`),
      badAt.map((line) => `sensor-7/upload:${line}`),
      `${file}: ${JSON.stringify(result.issues)}`,
    );
    assert.ok(result.issues.some((i) => i.code === 'LINE_TOO_LONG'));
  }
});

test('live: a gzip bomb is inflated only up to the bound; a body over its size is cut; both say so', async () => {
  const header = 'timestamp,entity,cpu_pct,mem_pct\n';
  const row = '2025-03-14T02:00:00Z,h1/100,1.0,1.0\n';
  const inflated = header + row.repeat(1_000_000); // ~37 MiB of text, ~100 KiB gzipped
  const bomb = gzipSync(inflated, { level: 9 });
  assert.ok(bomb.length * 100 < inflated.length);
  const maxInflatedBytes = 1024 * 1024;
  const { live } = await detector({ maxInflatedBytes });
  const bombed = await live.ingest(inChunks(bomb, 4096), { name: 'bomb.csv.gz' });
  assert.ok(bombed.issues.some((i) => i.code === 'INGEST_INFLATED_TOO_LARGE' && i.file === 'bomb.csv.gz'));
  // besides the bound, at most the line it cut through
  for (const i of bombed.issues)
    assert.ok(i.code === 'INGEST_INFLATED_TOO_LARGE' || i.code.endsWith('_TRUNCATED'), JSON.stringify(i));
  assert.ok(bombed.events > 0 && bombed.events <= maxInflatedBytes / row.length, `${bombed.events} events`);
  assert.ok(bombed.bytes < bomb.length, 'the compressed rest is left unread');

  // a bomb of zeros: no source knows it, and only its head was ever inflated
  const zeros = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const unknown = await live.ingest(zeros, { name: 'zeros.gz' });
  assert.deepEqual(
    unknown.issues.map((i) => [i.file, i.code]),
    [['zeros.gz', 'SOURCE_UNKNOWN_FORMAT']],
  );
  assert.equal(unknown.events, 0);

  // a plain body over the size bound: what came before is read, the cut is said
  const maxBodyBytes = 64 * 1024;
  const cut = await (await detector({ maxBodyBytes })).live.ingest(Buffer.from(inflated.slice(0, 200_000)), {
    name: 'big.csv',
  });
  assert.equal(cut.bytes, maxBodyBytes);
  assert.ok(cut.issues.some((i) => i.code === 'INGEST_BODY_TOO_LARGE' && i.file === 'big.csv'));
  assert.ok(cut.events > 0 && cut.events <= maxBodyBytes / row.length);
});

/** A deterministic stream of bytes (xorshift), so a failure can be reproduced. */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('live: hostile bodies and names never throw out of ingest; each problem is an issue and nothing bad is pushed', async () => {
  const { live } = await detector({ maxLineBytes: 1024 });
  const cpu = readFileSync(join(KINSING, 'var/log/metrics/cpu.csv'));
  /** A body whose client goes away after `bytes`: before the head is whole, or while it is read. */
  async function* failing(bytes: number, thrown: unknown = new Error('client went away')): AsyncGenerator<Uint8Array> {
    const text = Buffer.from(`${cpu.toString().trimEnd()}\n`.repeat(Math.ceil(bytes / cpu.length)));
    yield text.subarray(0, bytes);
    throw thrown;
  }
  const cases: Array<{ body: Uint8Array | AsyncIterable<Uint8Array>; meta: IngestMeta; codes: string[] }> = [
    { body: cpu, meta: { name: 'cpu.csv', format: 'no-such-format' }, codes: ['INGEST_UNKNOWN_FORMAT'] },
    { body: new Uint8Array(0), meta: { name: 'empty' }, codes: ['INPUT_EMPTY'] },
    { body: noise(200_000, 7), meta: { name: 'noise.bin' }, codes: ['SOURCE_UNKNOWN_FORMAT'] },
    { body: gzipSync(noise(10_000, 9)), meta: { name: 'noise.gz' }, codes: ['SOURCE_UNKNOWN_FORMAT'] },
    { body: noise(50_000, 3), meta: { name: 'forced', format: 'ndjson' }, codes: ['NDJSON_BAD_JSON'] },
    { body: Buffer.concat([gzipSync(cpu).subarray(0, 200)]), meta: { name: 'cut.gz' }, codes: ['INPUT_GZIP_CORRUPT'] },
    { body: failing(300), meta: { name: '\u001b[2Jevil\nname' }, codes: ['INGEST_FAILED'] },
    { body: failing(200_000), meta: { name: 'gone' }, codes: ['SOURCE_READ_FAILED'] },
    // a stream may throw what is no Error: said all the same
    { body: failing(200_000, 'ECONNRESET'), meta: { name: 'reset' }, codes: ['SOURCE_READ_FAILED'] },
    { body: failing(10, { code: 42 }), meta: { name: 'odd' }, codes: ['INGEST_FAILED'] },
  ];
  for (const { body, meta, codes } of cases) {
    const before = live.stats.events;
    const result = await live.ingest(body, meta);
    const got = new Set(result.issues.map((i) => i.code));
    for (const code of codes) assert.ok(got.has(code), `${meta.name}: ${code} not in ${[...got]}`);
    for (const i of result.issues) {
      assert.ok(!/[\u0000-\u0008\u000b-\u001f\u001b]/.test(i.file), `inert name: ${JSON.stringify(i.file)}`);
      assert.ok(i.reason.length > 0);
    }
    assert.equal(live.stats.events - before, result.events, meta.name);
  }
  // the detector still works after all of that
  const after = await live.ingest(cpu, { name: 'cpu.csv' });
  assert.deepEqual(after.issues, []);
  assert.ok(after.events > 0);
});

/** Every line's time moved by `ms`: auditd's `audit(SECONDS.MILLIS:` stamps and ISO times. */
function shifted(text: string, ms: number, from: string, to: string): string {
  return text
    .replace(/audit\((\d+)\.(\d{3}):/g, (_, s: string, frac: string) => {
      const t = Number(s) * 1000 + Number(frac) + ms;
      return `audit(${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:`;
    })
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, (iso) => new Date(Date.parse(iso) + ms).toISOString())
    .replaceAll(from, to);
}

/**
 * The lines of `text` (after `headerLines` of header, which each slice keeps) by the real time they were
 * written, in `sliceMs` slots: a line stamped `t` by a clock `skewMs` off was written at `t - skewMs`.
 */
function slicesByRealTime(
  text: string,
  headerLines: number,
  timeOf: (line: string) => number,
  skewMs: number,
  sliceMs: number,
): Map<number, string> {
  const lines = text.trimEnd().split('\n');
  const header = lines.slice(0, headerLines);
  const slots = new Map<number, string[]>();
  for (const line of lines.slice(headerLines)) {
    const slot = Math.floor((timeOf(line) - skewMs) / sliceMs);
    slots.set(slot, [...(slots.get(slot) ?? header), line]);
  }
  return new Map([...slots].map(([slot, list]) => [slot, `${list.join('\n')}\n`]));
}

test('live: two hosts’ requests interleaved, one sensor’s clock behind by less than the lateness, give the sorted input’s findings', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coal-live-hosts-'));
  try {
    // host web-02 is the kinsing-like host again, its sensor's clock 2 minutes behind
    const skewMs = -2 * 60 * 1000;
    const hosts = [
      { dir: join(dir, 'web-01'), skewMs: 0, name: 'web-01' },
      { dir: join(dir, 'web-02'), skewMs, name: 'web-02' },
    ];
    for (const h of hosts) {
      for (const rel of [
        'etc/hostname',
        'bodyfile',
        'etc/crontab',
        'var/spool/cron/crontabs/redis',
        'var/log/audit/audit.log',
        'var/log/metrics/cpu.csv',
      ]) {
        mkdirSync(join(h.dir, rel, '..'), { recursive: true });
        const text = readFileSync(join(KINSING, rel), 'utf8');
        writeFileSync(join(h.dir, rel), rel === 'bodyfile' ? text : shifted(text, h.skewMs, 'web-01', h.name));
      }
    }
    // hunt merges every stream by event time: the sorted input
    const expected = await hunt({ paths: hosts.map((h) => h.dir), policy: defaultPolicy(), workers: 1 });
    assert.equal(new Set(expected.findings.map((f) => f.host)).size, 2, 'a finding on each host');

    const { live, reports } = await detector();
    // standing facts first; then minute by minute of real time, each host's audit and CPU lines of
    // that minute as one request each, the hosts' requests interleaved
    const sliceMs = 60 * 1000;
    const auditTime = (line: string) => Number(/audit\((\d+)/.exec(line)?.[1]) * 1000;
    const csvTime = (line: string) => Date.parse(line.split(',')[0]);
    const requests = new Map<number, Array<{ body: string; meta: IngestMeta }>>();
    for (const h of hosts) {
      for (const s of collectionRequests(h.dir).slice(0, 2)) await live.ingest(s.body, s.meta);
      const logs = [
        { file: 'var/log/audit/audit.log', header: 0, timeOf: auditTime },
        { file: 'var/log/metrics/cpu.csv', header: 1, timeOf: csvTime },
      ];
      for (const { file, header, timeOf } of logs) {
        const text = readFileSync(join(h.dir, file), 'utf8');
        for (const [slot, body] of slicesByRealTime(text, header, timeOf, h.skewMs, sliceMs)) {
          const list = requests.get(slot) ?? [];
          list.push({ body, meta: { name: join(h.dir, file), host: h.name } });
          requests.set(slot, list);
        }
      }
    }
    const slots = [...requests.keys()].sort((a, b) => a - b);
    for (const slot of slots)
      for (const { body, meta } of requests.get(slot) ?? []) {
        const r = await live.ingest(Buffer.from(body), meta);
        assert.deepEqual(r.issues, []);
      }
    live.end();
    assert.ok(live.stats.unsortedEvents > 0, 'the requests did arrive out of event-time order');
    assert.equal(live.stats.lateEvents, 0, 'the skew is inside the allowed lateness');
    // each request's lines are numbered from 1: evidence is compared by file, kind and time
    assert.deepEqual(
      latest(reports).map((f) => shape(f, false)),
      [...expected.findings].sort((a, b) => (a.id < b.id ? -1 : 1)).map((f) => shape(f, false)),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('live: a body of garbage lines lists the first issues in line order and counts every one', async () => {
  const { live } = await detector();
  const lines = 10_000;
  const body = Buffer.from('{"not": "an event"\n'.repeat(lines));
  const result = await live.ingest(body, { name: 'junk.ndjson', format: 'ndjson' });
  assert.equal(result.events, 0);
  assert.equal(
    Object.values(result.issuesByCode).reduce((n, c) => n + c, 0),
    lines,
  );
  assert.ok(result.issues.length > 0 && result.issues.length < 100, `${result.issues.length} listed`);
  assert.deepEqual(
    result.issues.map((i) => i.line),
    result.issues.map((_, k) => k + 1),
  );
});

test('live: a collection sent one file per request in any order, within the settle time, gives what hunt gives', async () => {
  const rules = [join(import.meta.dirname, '..', '..', 'rules', 'stable')];
  const expected = await hunt({ paths: [KINSING], policy: defaultPolicy(), workers: 1, ruleDirs: rules });
  assert.ok(expected.findings.length > 0);
  const requests = collectionRequests(KINSING);
  // every order of the four files: standing facts last, CPU before the audit log, …
  const orders = [
    [0, 1, 2, 3],
    [3, 2, 1, 0],
    [2, 3, 0, 1],
    [1, 3, 2, 0],
    [3, 0, 2, 1],
  ];
  for (const order of orders) {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { live, reports } = await detector({ ruleDirs: rules, settleMs: 2000, now: () => clock });
    for (const i of order) {
      await live.ingest(requests[i].body, requests[i].meta);
      clock += 300;
      // the live clock ticks between the requests: a batch still arriving is not read
      live.tick();
    }
    assert.equal(live.stats.events, 0, `${order}: nothing read while the batch is arriving`);
    clock += 2000;
    live.tick();
    assert.equal(live.stats.events, expected.summary.events, `${order}: the batch is read once quiet`);
    assert.equal(live.stats.lateEvents, 0, `${order}`);
    assert.equal(live.stats.unsortedEvents, expected.summary.unsortedEvents, `${order}`);
    assert.deepEqual(
      latest(reports).map((f) => shape(f)),
      [...expected.findings].sort((a, b) => (a.id < b.id ? -1 : 1)).map((f) => shape(f)),
      `order ${order}`,
    );
  }
});

/** A request's events as a source reads them (what an ingest node publishes to the bus), and their kind. */
async function readEvents(req: {
  body: Uint8Array;
  meta: IngestMeta;
}): Promise<{ events: CoalEvent[]; state: boolean }> {
  const file = await streamInput(
    req.meta.name,
    inChunks(req.body, 1 << 20),
    { hostHint: req.meta.host, mtimeMs: req.meta.mtimeMs ?? 0, relPath: req.meta.path?.replace(/^\/+/, '') },
    () => {},
    'empty',
  );
  assert.ok(file);
  const source = sniffSource(file.input);
  assert.ok(source);
  const events: CoalEvent[] = [];
  for await (const batch of source.read(file.input, { maxLineBytes: 1 << 20, maxPendingRecords: 4096 }))
    events.push(...batch.events);
  return { events, state: source.delivers === 'state' };
}

test('live: bodies read elsewhere (ingestRead), each split into messages, in any order within the settle time, give what hunt gives', async () => {
  const rules = [join(import.meta.dirname, '..', '..', 'rules', 'stable')];
  const expected = await hunt({ paths: [KINSING], policy: defaultPolicy(), workers: 1, ruleDirs: rules });
  const bodies = await Promise.all(collectionRequests(KINSING).map(readEvents));
  for (const order of [
    [0, 1, 2, 3],
    [3, 2, 1, 0],
    [2, 0, 3, 1],
  ]) {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let clock = t0;
    const { live, reports } = await detector({ ruleDirs: rules, settleMs: 2000, now: () => clock });
    for (const i of order) {
      const { events, state } = bodies[i];
      const name = collectionRequests(KINSING)[i].meta.name;
      // a body's messages: 100 events each, one lane of the batch however many there are
      for (let at = 0; at < events.length; at += 100) {
        const part = events.slice(at, at + 100);
        live.ingestRead(state ? { events: [], state: part } : { events: part, state: [] }, {
          name,
          body: i,
          receivedAtMs: clock,
        });
      }
      clock += 300;
    }
    assert.equal(live.stats.events, 0, `${order}: nothing read while the batch is arriving`);
    clock += 2000;
    live.tick();
    assert.equal(live.stats.events, expected.summary.events, `${order}`);
    assert.equal(live.stats.unsortedEvents, expected.summary.unsortedEvents, `${order}`);
    assert.deepEqual(
      latest(reports).map((f) => shape(f)),
      [...expected.findings].sort((a, b) => (a.id < b.id ? -1 : 1)).map((f) => shape(f)),
      `order ${order}`,
    );
  }
});

test('live: without a settle time each body is read as it comes; a pause, an old batch or a push ends a batch', async () => {
  const [, , audit, cpu] = collectionRequests(KINSING);
  // events a body reads as: one per CSV row, one per audit SYSCALL record
  const rows = (body: Uint8Array) => {
    const text = Buffer.from(body).toString();
    return text.startsWith('timestamp')
      ? text.trim().split('\n').length - 1
      : (text.match(/^type=SYSCALL/gm) ?? []).length;
  };
  // settle 0: read on arrival, so the CPU sent before the audit log makes the audit log late
  const plain = await detector();
  await plain.live.ingest(cpu.body, cpu.meta);
  assert.equal(plain.live.stats.events, rows(cpu.body));
  await plain.live.ingest(audit.body, audit.meta);
  assert.ok(plain.live.stats.lateEvents > 0, 'the audit log came after 45 minutes of CPU samples');

  const t0 = 1_000_000;
  let clock = t0;
  const { live } = await detector({ settleMs: 2000, now: () => clock });
  await live.ingest(cpu.body, { ...cpu.meta, receivedAtMs: t0 });
  assert.equal(live.stats.events, 0, 'held: more of the batch may come');
  // a body arriving after the pause: the batch before it is read first, the body starts the next
  await live.ingest(audit.body, { ...audit.meta, receivedAtMs: t0 + 2000 });
  assert.equal(live.stats.events, rows(cpu.body), 'the CPU batch was read when the audit log came after the pause');
  // a shipper that never pauses: its batch is read once its first body is MAX_BATCH_SPAN_MS old
  let sent = 0;
  for (let t = 3000; t < 2000 + MAX_BATCH_SPAN_MS; t += 1000, sent++)
    await live.ingest(
      Buffer.from(`timestamp,entity,cpu_pct\n2025-03-14T02:50:${String(sent).padStart(2, '0')}Z,web-01,10\n`),
      {
        name: 'more.csv',
        receivedAtMs: t0 + t,
      },
    );
  assert.equal(live.stats.events, rows(cpu.body), 'the batch is still arriving');
  await live.ingest(cpu.body, { ...cpu.meta, receivedAtMs: t0 + 2000 + MAX_BATCH_SPAN_MS });
  assert.equal(
    live.stats.events,
    rows(cpu.body) + rows(audit.body) + sent,
    'the old batch was read before the next body',
  );
  assert.ok(live.stats.lateEvents > 0, 'the audit log, in the batch after the CPU, is late for it');
  // a sensor's own event reads the batch first, so the order of what came is kept
  const before = live.stats.events;
  const ts = Date.parse('2025-03-14T03:00:00Z');
  live.push({
    '@timestamp': new Date(ts).toISOString(),
    event: { kind: 'event', category: [], action: 'exec', dataset: 't' },
    original: {},
    host: { name: 'web-01' },
    coalmine: { ts, format: 't', ref: { file: 'sensor', line: 1 } },
  });
  assert.equal(live.stats.events, before + rows(cpu.body) + 1);
  // a tick finds the batch quiet only settleMs after its last body
  await live.ingest(cpu.body, { ...cpu.meta, receivedAtMs: t0 + 40_000 });
  clock = t0 + 41_000;
  live.tick();
  assert.equal(live.stats.events, before + rows(cpu.body) + 1, 'not yet: 1 s of quiet');
  clock = t0 + 42_000;
  live.tick();
  assert.equal(live.stats.events, before + 2 * rows(cpu.body) + 1);
  live.end();
});

test('live: coalmine.yaml hashrates: reach the share evidence as they reach its cost', async () => {
  const { policy, errors } = parsePolicy('coalmine.yaml', 'hashrates:\n  randomx: { per_core: 800 }\n');
  assert.deepEqual(errors, []);
  const { live, reports } = await detector({ policy });
  await live.ingest(moneroSession().pcap, { name: 'sensor-1/xmr.pcap' });
  live.end();
  const [f] = latest(reports);
  const text = f.evidence.find((e) => e.kind === 'mining-shares')?.explanation ?? '';
  assert.match(text, / ≈ 4\.1 CPU cores at 800 H\/s a core .*\(coalmine\.yaml:2\)/);
  assert.match(f.triage?.cost?.basis ?? '', /÷ 800 H\/s a core \(coalmine\.yaml:2\) ≈ 4\.1 cores/);
});

test('live: mergeLanes merges as hunt merges files: earliest next event first, ties to the lane listed first', () => {
  const ev = (ts: number, tag: string) =>
    ({ coalmine: { ts }, tag }) as unknown as import('../model/event.js').CoalEvent;
  const lanes = [
    [ev(1, 'a1'), ev(10, 'a10'), ev(2, 'a2')],
    [ev(5, 'b5'), ev(10, 'b10')],
    [],
    [ev(1, 'd1'), ev(5, 'd5')],
  ];
  const out: string[] = [];
  mergeLanes(lanes, (e) => out.push((e as unknown as { tag: string }).tag));
  // a lane out of its own order keeps it (a2 after a10), as run/merge.ts leaves it to the reorder buffer
  assert.deepEqual(out, ['a1', 'd1', 'b5', 'd5', 'a10', 'a2', 'b10']);
});
