/**
 * Readers against the cost of merely parsing the same input, and peak RSS, measured in one run, by set:
 * `cloud` (`npm run bench:cloud`: the AWS, Google Cloud and Azure readers) and `edr` (`npm run bench:edr`:
 * Defender, CrowdStrike FDR, SentinelOne, Elastic Endpoint and Carbon Black exports):
 * `node --import tsx bench/readers.ts [--set cloud|edr] [--records 50000] [--seed 1] [--runs 2] [--results DIR]`.
 * Inputs are made from the records of our own fixtures (`test/fixtures/<reader>/`), copied until
 * ~`--records` records: copy k of a fixture has every timestamp moved on by k × 10 min plus a seeded
 * jitter and the last 8 hex digits of its ids replaced by k's, the same way in every record, so pairs a
 * reader joins (Azure Start/Success, CloudTrail sessions) still join within a copy and no two copies
 * share an id (epoch times written as digit strings, as CrowdStrike's, move on too). Written to
 * results/.work/, reused while the meta sidecar matches. The baseline is what a reader cannot do less than:
 * JSON lines are read in 1 MiB chunks and JSON.parse-d per line; a whole document (CloudTrail's S3
 * `Records`, Azure flow `records`, an API answer's `Results`/`data`) or array is read and JSON.parse-d at once; VPC flow
 * logs are text, so their baseline splits lines and each line's fields on spaces, no JSON.parse. The
 * reader is the registered source's `read()` on the file as `hunt` opens it (expandInputs), events
 * built, no engine. Each measurement is its own child process (`--child parse|read LINE FILE`), parse
 * and read alternate `--runs` times, the best of each counts. Timings are reported, never asserted.
 * Results: results/<set>.json and <set>.md.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from './fuzz-rng.js';
import { forEachLine } from './lines.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const DEFAULT_RESULTS = join(HERE, 'results');
const MIB = 1024 * 1024;
const GENERATOR_VERSION = 2;
/** How far each copy of a fixture is moved on in time. */
const COPY_STEP_MS = 10 * 60 * 1000;

/** How an input is laid out, which decides the baseline. */
type Layout = 'json-lines' | 'document' | 'array' | 'text';

interface Spec {
  /** The bench line's name. */
  line: string;
  /** The registered source that reads it. */
  source: string;
  file: string;
  layout: Layout;
  /** Fixture files (under test/fixtures/) whose records are the templates. */
  fixtures: string[];
  /** A record, when it is not a line or document element: the samples a line holds. */
  recordsOf?: (value: unknown) => number;
  /** A document's key holding its records (default `Records` for CloudTrail, else `records`). */
  documentKey?: string;
}

const CLOUD: readonly Spec[] = [
  {
    line: 'cloudtrail (S3 Records document)',
    source: 'cloudtrail',
    file: '123456789012_CloudTrail_us-east-1_20261202T0000Z_bench.json',
    layout: 'document',
    fixtures: ['cloudtrail/trail.json', 'cloudtrail/calls.jsonl'],
  },
  {
    line: 'cloudtrail (record per line)',
    source: 'cloudtrail',
    file: 'cloudtrail-bench.jsonl',
    layout: 'json-lines',
    fixtures: ['cloudtrail/trail.json', 'cloudtrail/calls.jsonl'],
  },
  {
    line: 'vpc-flow (text)',
    source: 'vpc-flow',
    file: '123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_20261202T0000Z_bench.log',
    layout: 'text',
    fixtures: ['vpc-flow/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f6a7b8_20260302T0100Z_3f2a9c1e.log'],
  },
  {
    line: 'route53-resolver',
    source: 'route53-resolver',
    file: 'route53-resolver.log',
    layout: 'json-lines',
    fixtures: ['route53-resolver/queries.log'],
  },
  {
    line: 'cloudwatch-metrics (metric stream)',
    source: 'cloudwatch-metrics',
    file: 'cloudwatch-metric-stream.json',
    layout: 'json-lines',
    fixtures: ['cloudwatch-metrics/stream.json'],
  },
  {
    line: 'guardduty',
    source: 'guardduty',
    file: 'guardduty-export.jsonl',
    layout: 'json-lines',
    fixtures: ['guardduty/export.jsonl'],
  },
  {
    line: 'gcp-audit',
    source: 'gcp-audit',
    file: 'gcp-audit.log',
    layout: 'json-lines',
    fixtures: ['gcp-audit/good.log'],
  },
  { line: 'gcp-flow', source: 'gcp-flow', file: 'gcp-flow.log', layout: 'json-lines', fixtures: ['gcp-flow/good.log'] },
  {
    line: 'gcp-monitoring (points)',
    source: 'gcp-monitoring',
    file: 'gcp-monitoring.jsonl',
    layout: 'json-lines',
    fixtures: ['gcp-monitoring/good.jsonl'],
    recordsOf: (v) => {
      let n = 0;
      const series = (v as { timeSeries?: Array<{ points?: unknown[] }> }).timeSeries ?? [];
      for (const s of series) n += s.points?.length ?? 0;
      return n;
    },
  },
  {
    line: 'azure-activity',
    source: 'azure-activity',
    file: 'azure-activity.jsonl',
    layout: 'json-lines',
    fixtures: ['azure-activity/good.jsonl'],
  },
  {
    line: 'azure-flow (records document)',
    source: 'azure-flow',
    file: 'azure-flow.json',
    layout: 'document',
    fixtures: ['azure-flow/nsg.json', 'azure-flow/vnet.json'],
  },
  {
    line: 'azure-metrics',
    source: 'azure-metrics',
    file: 'azure-metrics.jsonl',
    layout: 'json-lines',
    fixtures: ['azure-metrics/export.jsonl'],
  },
];

/** The EDR exports (issue 18), each from its miner stories and benign twins, Windows and Linux. */
const EDR: readonly Spec[] = [
  {
    line: 'defender (streaming API records)',
    source: 'defender',
    file: 'defender-streaming.json',
    layout: 'json-lines',
    fixtures: ['defender/an0741-miner/streaming.json'],
  },
  {
    line: 'defender (rows array)',
    source: 'defender',
    file: 'defender-rows.json',
    layout: 'array',
    fixtures: ['defender/linux-miner/union.json'],
  },
  {
    line: 'crowdstrike-fdr',
    source: 'crowdstrike-fdr',
    file: 'crowdstrike-fdr.json',
    layout: 'json-lines',
    fixtures: [
      'crowdstrike-fdr/windows-miner/fdr.json',
      'crowdstrike-fdr/windows-benign/fdr.json',
      'crowdstrike-fdr/linux-miner/fdr.json',
    ],
  },
  {
    line: 'sentinelone (Deep Visibility lines)',
    source: 'sentinelone',
    file: 'sentinelone.json',
    layout: 'json-lines',
    fixtures: [
      'sentinelone/an0741-miner/deep-visibility.json',
      'sentinelone/an0741-benign/deep-visibility.json',
      'sentinelone/an0742-miner/deep-visibility.json',
    ],
  },
  {
    line: 'sentinelone (DV API data document)',
    source: 'sentinelone',
    file: 'sentinelone-dv-api.json',
    layout: 'document',
    documentKey: 'data',
    fixtures: ['sentinelone/shapes/miner-dv-api.json'],
  },
  {
    line: 'elastic-endpoint (hits as lines)',
    source: 'elastic-endpoint',
    file: 'elastic-endpoint.ndjson',
    layout: 'json-lines',
    fixtures: [
      'elastic-endpoint/windows-miner/endpoint.ndjson',
      'elastic-endpoint/windows-benign/endpoint.ndjson',
      'elastic-endpoint/linux-miner/endpoint.ndjson',
    ],
  },
  {
    line: 'carbon-black (EDR forwarder lines)',
    source: 'carbon-black',
    file: 'carbon-black.json',
    layout: 'json-lines',
    fixtures: [
      'carbon-black/an0741-miner/events.json',
      'carbon-black/an0741-benign/events.json',
      'carbon-black/an0742-miner-linux/events.json',
    ],
  },
];

interface ReaderSet {
  specs: readonly Spec[];
  /** The results' heading and what the run is. */
  title: string;
  about: string;
}

const SETS: Record<string, ReaderSet> = {
  cloud: {
    specs: CLOUD,
    title: '# cloud readers: records/s against JSON.parse (VPC flow logs: against splitting lines)',
    about:
      'The baseline JSON.parse-s each line, or a whole document at once (layout `document`); VPC flow logs are text, so theirs splits each line into its fields on spaces. A gcp-monitoring record is one point.',
  },
  edr: {
    specs: EDR,
    title: '# EDR readers: records/s against JSON.parse',
    about:
      'The baseline JSON.parse-s each line, or a whole document or array at once (layouts `document`, `array`). Every reader keeps a record’s fields in `original` and some hold a file’s events to give them in time order (SentinelOne and Elastic exports come newest first), which their peak RSS carries.',
  },
};

type Mode = 'parse' | 'read';

interface ChildResult {
  mode: Mode;
  line: string;
  /** Records parsed (baseline) or events + unused + issues (reader). */
  records: number;
  events: number;
  issues: number;
  bytes: number;
  seconds: number;
  maxRssBytes: number;
}

interface Meta {
  line: string;
  records: number;
  lines: number;
  bytes: number;
  seed: number;
  generatorVersion: number;
}

// ---------------------------------------------------------------- generator

/** A fixture's records: a document's `Records`/`records` elements, else its JSON lines, else text lines. */
function templates(spec: Spec): { header?: string; records: unknown[] | string[] } {
  if (spec.layout === 'text') {
    const [header, ...rest] = readFileSync(join(FIXTURES, spec.fixtures[0]), 'utf8').split('\n');
    return { header, records: rest.filter((l) => l.trim() !== '') };
  }
  const records: unknown[] = [];
  for (const f of spec.fixtures) {
    const text = readFileSync(join(FIXTURES, f), 'utf8');
    let whole: unknown;
    try {
      whole = JSON.parse(text);
    } catch {
      whole = undefined; // JSON lines
    }
    const list = Array.isArray(whole)
      ? whole
      : whole && typeof whole === 'object'
        ? ((whole as Record<string, unknown>)[spec.documentKey ?? 'Records'] ??
          (whole as Record<string, unknown>).records)
        : undefined;
    if (Array.isArray(list)) {
      records.push(...list);
      continue;
    }
    for (const l of text.split('\n')) {
      if (l.trim() === '') continue;
      const v = JSON.parse(l) as Record<string, unknown>;
      // a one-line document (an Azure NSG blob) gives its records
      if (spec.layout === 'document' && Array.isArray(v.records)) records.push(...v.records);
      else records.push(v);
    }
  }
  return { records };
}

const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Keys of a record's own id (not an account, VPC or instance: those stay, so copies share the entities). */
const ID_KEY = /^(id|insertid|eventid|correlationid|requestid|operationid|systemid|flowlogguid|uuid|sharedeventid)$/i;
const HEX_TAIL = /[0-9a-fA-F]{8}$/;
/** Epoch seconds at the start of a string (Azure flow tuples, VPC flow start/end fields). */
const EPOCH_SECONDS = /^1[5-9]\d{8}$/;
const EPOCH_MS = /^1[5-9]\d{11}$/;

function shiftIso(s: string, shiftMs: number): string {
  const m = ISO_TIME.exec(s);
  if (!m) return s;
  const t = Date.parse(`${m[1]}${m[2] ? m[2].slice(0, 4) : ''}${m[3]}`);
  if (Number.isNaN(t)) return s;
  const moved = new Date(t + shiftMs).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = m[2] ? `.${moved.slice(20, 23)}${'0'.repeat(Math.max(0, m[2].length - 4))}`.slice(0, m[2].length) : '';
  // a non-Z offset is written back as Z: the same instant, which every reader accepts
  return `${moved.slice(0, 19)}${frac}${m[3] === 'Z' ? 'Z' : '+00:00'}`;
}

/** Copy k of a record: times moved on, ids given k's hex tail, epoch numbers moved on. */
function variant(v: unknown, key: string, k: number, shiftMs: number): unknown {
  if (typeof v === 'string') {
    if (ISO_TIME.test(v)) return shiftIso(v, shiftMs);
    if (ID_KEY.test(key) && HEX_TAIL.test(v)) {
      const tail = k.toString(16).padStart(8, '0');
      return v.slice(0, -8) + (v.slice(-8) === v.slice(-8).toUpperCase() ? tail.toUpperCase() : tail);
    }
    const comma = v.indexOf(',');
    if (comma === 10 && EPOCH_SECONDS.test(v.slice(0, 10)))
      return `${Number(v.slice(0, 10)) + Math.round(shiftMs / 1000)}${v.slice(10)}`;
    // an epoch time written as digits (CrowdStrike's `timestamp`, `ProcessStartTime`)
    if (EPOCH_MS.test(v)) return String(Number(v) + shiftMs);
    if (EPOCH_SECONDS.test(v)) return String(Number(v) + Math.round(shiftMs / 1000));
    return v;
  }
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (EPOCH_MS.test(String(v))) return v + shiftMs;
    if (EPOCH_SECONDS.test(String(v))) return v + Math.round(shiftMs / 1000);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => variant(x, key, k, shiftMs));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [name, x] of Object.entries(v)) out[name] = variant(x, name, k, shiftMs);
    return out;
  }
  return v;
}

/** The first port of the ephemeral range Linux and most clients draw from (32768–60999). */
const EPHEMERAL_FIRST = 32768;
const EPHEMERAL_SPAN = 61000 - EPHEMERAL_FIRST;

/**
 * Copy k of a flow log line: times moved on, and each ephemeral port (the client's side of a connection)
 * moved on by k within the range, both ways round alike: copies are 10 min apart, which the reader joins
 * as one connection's next capture window when ends and ports repeat, so every copy needs its own port.
 */
function textVariant(line: string, shiftMs: number, k: number, portColumns: readonly number[]): string {
  return line
    .split(' ')
    .map((f, column) => {
      if (EPOCH_SECONDS.test(f)) return String(Number(f) + Math.round(shiftMs / 1000));
      const port = portColumns.includes(column) ? Number(f) : Number.NaN;
      if (Number.isInteger(port) && port >= EPHEMERAL_FIRST && port < EPHEMERAL_FIRST + EPHEMERAL_SPAN)
        return String(EPHEMERAL_FIRST + ((port - EPHEMERAL_FIRST + k) % EPHEMERAL_SPAN));
      return f;
    })
    .join(' ');
}

async function generate(
  specs: readonly Spec[],
  spec: Spec,
  path: string,
  records: number,
  seed: number,
): Promise<Meta> {
  const rng = new Rng(seed ^ (specs.indexOf(spec) + 1));
  const { header, records: base } = templates(spec);
  const out = createWriteStream(path);
  let lines = 0;
  let made = 0;
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text) + 1;
    lines++;
    if (!out.write(`${text}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  if (header !== undefined) await write(header);
  const portColumns = (header ?? '')
    .split(' ')
    .flatMap((name, i) => (name === 'srcport' || name === 'dstport' ? [i] : []));
  const key = spec.documentKey ?? (spec.source === 'cloudtrail' ? 'Records' : 'records');
  if (spec.layout === 'document') await write(`{"${key}":[`);
  if (spec.layout === 'array') await write('[');
  for (let k = 0; made < records; k++) {
    const shiftMs = k * COPY_STEP_MS + rng.int(60) * 1000;
    for (const t of base) {
      let text: string;
      if (spec.layout === 'text') text = textVariant(t as string, shiftMs, k, portColumns);
      else {
        const v = variant(t, '', k + 1, shiftMs);
        text = JSON.stringify(v);
        made += spec.recordsOf ? spec.recordsOf(v) - 1 : 0;
      }
      made++;
      // a document or array: one record per line, commas between, as CloudTrail's and Azure's exports are read
      if (spec.layout === 'document' || spec.layout === 'array') text = made === 1 ? text : `,${text}`;
      await write(text);
    }
  }
  if (spec.layout === 'document') await write(']}');
  if (spec.layout === 'array') await write(']');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { line: spec.line, records: made, lines, bytes, seed, generatorVersion: GENERATOR_VERSION };
}

async function ensureInput(
  work: string,
  specs: readonly Spec[],
  spec: Spec,
  records: number,
  seed: number,
): Promise<{ path: string; meta: Meta }> {
  const path = join(work, spec.file);
  const metaPath = `${path}.meta.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
      if (
        meta.seed === seed &&
        meta.generatorVersion === GENERATOR_VERSION &&
        meta.bytes === statSync(path).size &&
        Math.abs(meta.records - records) < Math.max(200, records * 0.02)
      )
        return { path, meta };
    } catch {
      // regenerate below
    }
  }
  process.stderr.write(
    `bench: generating ${spec.line} (~${records.toLocaleString('en')} records) → ${relative(process.cwd(), path)}\n`,
  );
  const meta = await generate(specs, spec, path, records, seed);
  writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  return { path, meta };
}

// ---------------------------------------------------------------- children

/** The baseline: per line JSON.parse (or a space split for text), or the whole document JSON.parse-d. */
async function parseChild(spec: Spec, file: string): Promise<ChildResult> {
  const started = performance.now();
  let records = 0;
  let bytes = 0;
  if (spec.layout === 'document' || spec.layout === 'array') {
    const text = readFileSync(file, 'utf8');
    bytes = Buffer.byteLength(text);
    const doc = JSON.parse(text) as unknown[] | Record<string, unknown[]>;
    records = Array.isArray(doc) ? doc.length : (doc[spec.documentKey ?? 'Records'] ?? doc.records ?? []).length;
  } else {
    let header = spec.layout === 'text';
    const take = (buf: Buffer, start: number, end: number) => {
      if (end <= start) return;
      const text = buf.toString('utf8', start, end);
      if (spec.layout === 'text') {
        const fields = text.split(' ');
        if (header) header = false;
        else if (fields.length > 1) records++;
        return;
      }
      const v = JSON.parse(text) as unknown;
      records += spec.recordsOf ? spec.recordsOf(v) : 1;
    };
    bytes += await forEachLine(file, take);
  }
  return {
    mode: 'parse',
    line: spec.line,
    records,
    events: 0,
    issues: 0,
    bytes,
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** The registered reader on the file as hunt opens it; events built and counted, nothing else. */
async function readChild(spec: Spec, file: string): Promise<ChildResult> {
  const { expandInputs } = await import('../src/run/inputs.js');
  const { sources } = await import('../src/sources/index.js');
  const { DEFAULT_MAX_LINE_BYTES } = await import('../src/util/lines.js');
  const source = sources.find((s) => s.name === spec.source);
  if (!source) throw new Error(`no source ${spec.source}`);
  const started = performance.now();
  let issues = 0;
  const [input] = await expandInputs([file], 'bench', () => issues++);
  let events = 0;
  let unused = 0;
  for await (const batch of source.read(input.input, {
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    maxPendingRecords: 4096,
  })) {
    events += batch.events.length;
    issues += batch.issues.length;
    unused += batch.unused ?? 0;
  }
  return {
    mode: 'read',
    line: spec.line,
    records: events + unused + issues,
    events,
    issues,
    bytes: input.sizeBytes,
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function runChild(set: string, mode: Mode, spec: Spec, file: string): Promise<ChildResult> {
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--set',
    set,
    '--child',
    mode,
    String(SETS[set].specs.indexOf(spec)),
    file,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{'))
        reject(new Error(`child ${mode} ${spec.line} exited with ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(last) as ChildResult);
    });
  });
}

// ---------------------------------------------------------------- parent

interface Line {
  line: string;
  source: string;
  layout: Layout;
  records: number;
  bytes: number;
  lines: number;
  parse: { recordsPerSecond: number; seconds: number; peakRssMiB: number; records: number };
  read: { recordsPerSecond: number; seconds: number; peakRssMiB: number; events: number; issues: number };
  ratio: number;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const set = flag(args, '--set') ?? 'cloud';
  if (!Object.hasOwn(SETS, set)) {
    console.error(`--set: one of ${Object.keys(SETS).join(', ')}`);
    process.exit(2);
  }
  const { specs, title, about } = SETS[set];
  const childMode = flag(args, '--child');
  if (childMode !== undefined) {
    const spec = specs[Number(args[args.indexOf('--child') + 2])];
    const file = args[args.indexOf('--child') + 3];
    if ((childMode !== 'parse' && childMode !== 'read') || !spec || !file) {
      console.error('usage: bench/readers.ts --set SET --child parse|read INDEX FILE');
      process.exit(2);
    }
    const r = childMode === 'parse' ? await parseChild(spec, file) : await readChild(spec, file);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const records = Number(flag(args, '--records') ?? 50_000);
  const seed = Number(flag(args, '--seed') ?? 1);
  const runs = Math.max(1, Number(flag(args, '--runs') ?? 2));
  const results = flag(args, '--results') ?? DEFAULT_RESULTS;
  const work = join(results, '.work');
  mkdirSync(work, { recursive: true });
  const started = performance.now();
  const lines: Line[] = [];
  for (const spec of specs) {
    const { path, meta } = await ensureInput(work, specs, spec, records, seed);
    const parse: ChildResult[] = [];
    const read: ChildResult[] = [];
    for (let r = 0; r < runs; r++) {
      parse.push(await runChild(set, 'parse', spec, path));
      read.push(await runChild(set, 'read', spec, path));
    }
    const best = (xs: ChildResult[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const p = best(parse);
    const q = best(read);
    const rss = (xs: ChildResult[]) => Math.round(Math.max(...xs.map((x) => x.maxRssBytes)) / MIB);
    // both rates over the generator's record count, so the ratio compares the same work
    const line: Line = {
      line: spec.line,
      source: spec.source,
      layout: spec.layout,
      records: meta.records,
      bytes: meta.bytes,
      lines: meta.lines,
      parse: {
        recordsPerSecond: Math.round(meta.records / p.seconds),
        seconds: round(p.seconds),
        peakRssMiB: rss(parse),
        records: p.records,
      },
      read: {
        recordsPerSecond: Math.round(meta.records / q.seconds),
        seconds: round(q.seconds),
        peakRssMiB: rss(read),
        events: q.events,
        issues: q.issues,
      },
      ratio: round(p.seconds / q.seconds),
    };
    lines.push(line);
    process.stderr.write(
      `bench: ${spec.line}: ${line.records.toLocaleString('en')} records, read ${line.read.recordsPerSecond.toLocaleString('en')}/s vs ${spec.layout === 'text' ? 'line split' : 'JSON.parse'} ${line.parse.recordsPerSecond.toLocaleString('en')}/s (ratio ${line.ratio}), peak RSS ${line.read.peakRssMiB} MiB vs ${line.parse.peakRssMiB} MiB; ${line.read.events.toLocaleString('en')} events, ${line.read.issues} issues\n`,
    );
  }
  const date = new Date().toISOString().slice(0, 10);
  const host = machine();

  const wallSeconds = Math.round((performance.now() - started) / 1000);
  writeFileSync(
    join(results, `${set}.json`),
    `${JSON.stringify({ date, seed, runs, generatorVersion: GENERATOR_VERSION, wallSeconds, machine: host, lines }, null, 2)}\n`,
  );
  const md = [
    title,
    '',
    `Seeded inputs made from our fixtures (seed ${seed}, ~${records.toLocaleString('en')} records each), best of ${runs} runs of each side, every run in its own process. Produced by \`npm run bench:${set}\` on ${date} in ${wallSeconds} s. ${about}`,
    '',
    '| reader | layout | records | MiB | baseline records/s | reader records/s | reader / baseline | peak RSS baseline MiB | peak RSS reader MiB | events | issues |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...lines.map(
      (l) =>
        `| ${l.line} | ${l.layout} | ${l.records.toLocaleString('en')} | ${(l.bytes / MIB).toFixed(1)} | ${l.parse.recordsPerSecond.toLocaleString('en')} | ${l.read.recordsPerSecond.toLocaleString('en')} | ${l.ratio} | ${l.parse.peakRssMiB} | ${l.read.peakRssMiB} | ${l.read.events.toLocaleString('en')} | ${l.read.issues} |`,
    ),
    '',
    describeMachine(host),
    '',
  ].join('\n');
  writeFileSync(join(results, `${set}.md`), md);
  process.stderr.write(
    `results: ${relative(process.cwd(), join(results, `${set}.json`))}, ${relative(process.cwd(), join(results, `${set}.md`))}\n`,
  );
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

await main();
