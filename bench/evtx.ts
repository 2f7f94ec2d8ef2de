/**
 * EVTX reader throughput, in one run: `node --import tsx bench/evtx.ts [--synthetic N] [--runs R]`
 * (`npm run bench` runs it after bench/hunt.ts). On the shared corpus (../shared/data/evtx beside the checkout, else
 * test/fixtures/evtx): the largest file and all files, read sequentially on one core (node runs the
 * reader on its one thread), records/s and MB/s of `readEvtxBuffer`, of `readEvtxBuffer` plus the
 * `winEventToCoal` mapping, and of python-evtx's `evtx_dump.py` on the same files (spawned per file,
 * wall time, its `</Event>` count), and the ratio. Then a synthetic file of N records (default 200,000)
 * made with test/support/evtx-writer.ts from test/fixtures/evtx-xml/good.xml, for steady-state records/s.
 * Where the time goes: the same records decoded phase by phase (chunk framing and CRCs, BinXML,
 * WinEvent, CoalEvent), plus one `--cpu-prof` child summarised by self time. Files are read into memory
 * before timing; times are the best of R runs (default 3). Writes bench/results/evtx.json and evtx.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import { eventsFromXml, readXmlFile } from '../scripts/fixtures/make-evtx.js';
import { ChunkContext, decodeRecordXml } from '../src/sources/evtx/binxml.js';
import { isEvtxProblem, readEvtxBuffer } from '../src/sources/evtx/index.js';
import { winEventFromXml } from '../src/sources/evtx-xml.js';
import { winEventToCoal } from '../src/sources/win-event.js';
import { writeEvtx } from '../test/support/evtx-writer.js';
import { describeMachine, machine } from './machine.js';
import { selfTime } from './profile.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = join(HERE, '..');
const RESULTS = join(HERE, 'results');
const WORK = join(RESULTS, '.work');
/** `../shared/data/evtx` beside the checkout, when the team's shared data is there. */
const SHARED = join(REPO, '..', 'shared', 'data', 'evtx');
const FIXTURES = join(REPO, 'test', 'fixtures', 'evtx');
const ORACLE = '/usr/bin/evtx_dump.py';
const MB = 1e6;
const HEADER = 4096;
const CHUNK = 65536;

interface Corpus {
  dir: string;
  files: Array<{ name: string; buf: Buffer }>;
}

function loadCorpus(): Corpus {
  for (const dir of [SHARED, FIXTURES]) {
    if (!existsSync(dir)) continue;
    const names = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.evtx'))
      .sort();
    if (names.length > 0) return { dir, files: names.map((name) => ({ name, buf: readFileSync(join(dir, name)) })) };
  }
  throw new Error('no .evtx files');
}

interface Count {
  records: number;
  problems: number;
  mapped: number;
}

function readAll(bufs: Buffer[], map: boolean): Count {
  const c: Count = { records: 0, problems: 0, mapped: 0 };
  for (const buf of bufs)
    for (const x of readEvtxBuffer(buf)) {
      if (isEvtxProblem(x)) c.problems++;
      else {
        c.records++;
        if (map && winEventToCoal(x.event, { file: 'bench', record: String(x.recordId) }, 'evtx')) c.mapped++;
      }
    }
  return c;
}

interface Measure {
  seconds: number;
  records: number;
  bytes: number;
  recordsPerSecond: number;
  mbPerSecond: number;
}

function measure(bytes: number, records: number, seconds: number): Measure {
  return {
    seconds: Number(seconds.toFixed(4)),
    records,
    bytes,
    recordsPerSecond: Math.round(records / seconds),
    mbPerSecond: Number((bytes / MB / seconds).toFixed(2)),
  };
}

/** Best of `runs` timings; each run repeats the work until it has taken at least `minSeconds`. */
function best(runs: number, minSeconds: number, work: () => Count): { seconds: number; count: Count } {
  let bestSeconds = Number.POSITIVE_INFINITY;
  let count: Count = { records: 0, problems: 0, mapped: 0 };
  work(); // warm-up: JIT and caches
  for (let r = 0; r < runs; r++) {
    let reps = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      count = work();
      reps++;
      elapsed = (performance.now() - started) / 1000;
    } while (elapsed < minSeconds);
    bestSeconds = Math.min(bestSeconds, elapsed / reps);
  }
  return { seconds: bestSeconds, count };
}

function ours(bufs: Buffer[], runs: number): { reader: Measure; mapped: Measure; problems: number; events: number } {
  const bytes = bufs.reduce((n, b) => n + b.length, 0);
  const r = best(runs, 0.5, () => readAll(bufs, false));
  const m = best(runs, 0.5, () => readAll(bufs, true));
  return {
    reader: measure(bytes, r.count.records, r.seconds),
    mapped: measure(bytes, m.count.records, m.seconds),
    problems: r.count.problems,
    events: m.count.mapped,
  };
}

function spawnTimed(cmd: string, args: string[]): Promise<{ seconds: number; events: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let events = 0;
    let tail = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      const text = tail + s;
      let i = text.indexOf('</Event>');
      while (i >= 0) {
        events++;
        i = text.indexOf('</Event>', i + 8);
      }
      tail = text.slice(-8);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ seconds: (performance.now() - started) / 1000, events, code }));
  });
}

async function python(
  dir: string,
  names: string[],
): Promise<{ measure: Measure; startupSeconds: number; failedFiles: string[] } | undefined> {
  if (!existsSync(ORACLE)) return undefined;
  const startup = await spawnTimed('/usr/bin/python3', ['-c', 'import Evtx.Evtx, Evtx.Views']);
  let seconds = 0;
  let events = 0;
  let bytes = 0;
  const failedFiles: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const r = await spawnTimed(ORACLE, [path]);
    seconds += r.seconds;
    events += r.events;
    bytes += readFileSync(path).length;
    if (r.code !== 0) failedFiles.push(name);
  }
  return { measure: measure(bytes, events, seconds), startupSeconds: Number(startup.seconds.toFixed(3)), failedFiles };
}

/** Record offsets in a chunk by their size fields. */
function recordOffsets(chunk: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const free = Math.min(chunk.readUInt32LE(0x30), chunk.length);
  for (let at = 512; at + 28 <= free; ) {
    if (chunk.readUInt32LE(at) !== 0x2a2a) break;
    const size = chunk.readUInt32LE(at + 4);
    if (size < 28 || at + size > free) break;
    out.push([at, size]);
    at += size;
  }
  return out;
}

/** The same decoding as readEvtxBuffer, stopped after each phase: the differences are each phase's cost. */
function phases(bufs: Buffer[], runs: number): Record<string, number> {
  const chunks: Buffer[] = [];
  for (const b of bufs)
    for (let off = HEADER; off + CHUNK <= b.length; off += CHUNK) {
      const c = b.subarray(off, off + CHUNK);
      if (c.toString('latin1', 0, 8) === 'ElfChnk\0') chunks.push(c);
    }
  const pass = (depth: number) => (): Count => {
    const count: Count = { records: 0, problems: 0, mapped: 0 };
    for (const c of chunks) {
      crc32(c.subarray(128, 512), crc32(c.subarray(0, 120)));
      crc32(c.subarray(512, Math.min(c.readUInt32LE(0x30), c.length)));
      const list = recordOffsets(c);
      count.records += list.length;
      if (depth === 0) continue;
      const ctx = new ChunkContext(c);
      for (const [at, size] of list) {
        const nodes = decodeRecordXml(ctx, at + 24, at + size - 4);
        if (depth === 1 || typeof nodes === 'string') continue;
        const root = nodes.find((n) => n.name === 'Event');
        if (!root) continue;
        const ev = winEventFromXml(root);
        if (depth === 2 || typeof ev === 'string') continue;
        if (winEventToCoal(ev, { file: 'bench', record: '0' }, 'evtx')) count.mapped++;
      }
    }
    return count;
  };
  const t = [0, 1, 2, 3].map((d) => best(runs, 0.3, pass(d)).seconds);
  const records = pass(0)().records;
  const us = (s: number) => Number(((s / records) * 1e6).toFixed(2));
  return {
    records,
    framingAndCrcUsPerRecord: us(t[0]),
    binxmlUsPerRecord: us(t[1] - t[0]),
    winEventUsPerRecord: us(t[2] - t[1]),
    coalEventUsPerRecord: us(t[3] - t[2]),
    totalUsPerRecord: us(t[3]),
  };
}

// ------------------------------------------------------------------ profile child

/** Self time per file and per function from a V8 .cpuprofile, as shares of samples. */
function summariseProfile(
  profile: Parameters<typeof selfTime>[0],
  top = 12,
): { byFile: string[]; byFunction: string[] } {
  const t = selfTime(profile, top);
  const lines = (rows: Array<[string, number]>) => rows.map(([k, pct]) => `${pct.toFixed(1)}% ${k}`);
  return { byFile: lines(t.byFile), byFunction: lines(t.byFunction) };
}

function profileChild(paths: string[]): void {
  const bufs = paths.map((p) => readFileSync(p));
  const started = performance.now();
  while (performance.now() - started < 4000) readAll(bufs, true);
}

function profile(paths: string[]): { byFile: string[]; byFunction: string[] } {
  const dir = join(WORK, 'evtx-profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(
    process.execPath,
    [
      '--cpu-prof',
      '--cpu-prof-dir',
      dir,
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--child-profile',
      ...paths,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('profile child failed');
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!name) throw new Error('no .cpuprofile written');
  return summariseProfile(JSON.parse(readFileSync(join(dir, name), 'utf8')));
}

// ------------------------------------------------------------------ main

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} needs a positive integer`);
  return n;
}

function row(label: string, m: Measure, extra = ''): string {
  return `| ${label} | ${m.records} | ${(m.bytes / MB).toFixed(2)} | ${m.seconds.toFixed(3)} | ${m.recordsPerSecond} | ${m.mbPerSecond} |${extra}`;
}

async function main(args: string[]): Promise<void> {
  if (args[0] === '--child-profile') return profileChild(args.slice(1));
  if (args[0] === '--hunt-first') {
    // `npm run bench [-- hunt flags]`: the hunt bench with its flags, then this one with its defaults
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'hunt.ts'), ...args.slice(1)], {
      stdio: 'inherit',
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
    args = [];
  }
  const runs = flag(args, '--runs', 3);
  const syntheticRecords = flag(args, '--synthetic', 200000);
  const corpus = loadCorpus();
  // the largest file; among files of the same size (preallocated logs), the one holding the most records
  const recordsIn = (b: Buffer) => readAll([b], false).records;
  const largest = corpus.files.reduce((a, b) =>
    b.buf.length > a.buf.length || (b.buf.length === a.buf.length && recordsIn(b.buf) > recordsIn(a.buf)) ? b : a,
  );
  console.error(`evtx bench: ${corpus.files.length} files from ${corpus.dir}; largest ${largest.name}`);

  const oursLargest = ours([largest.buf], runs);
  const oursAll = ours(
    corpus.files.map((f) => f.buf),
    runs,
  );
  console.error('evtx bench: python-evtx…');
  const pyLargest = await python(corpus.dir, [largest.name]);
  const pyAll = await python(
    corpus.dir,
    corpus.files.map((f) => f.name),
  );

  console.error(`evtx bench: synthetic ${syntheticRecords} records…`);
  const good = eventsFromXml(readXmlFile(join(REPO, 'test', 'fixtures', 'evtx-xml', 'good.xml'))).events;
  const t0 = Date.UTC(2024, 4, 23);
  const synthetic = writeEvtx(
    Array.from({ length: syntheticRecords }, (_, i) => ({
      ...good[i % good.length],
      recordId: i + 1,
      timeCreated: new Date(t0 + i * 10).toISOString().replace(/Z$/, '0000Z'),
    })),
  );
  const oursSynthetic = ours([synthetic], runs);
  const phaseShared = phases(
    corpus.files.map((f) => f.buf),
    runs,
  );
  const phaseSynthetic = phases([synthetic], runs);

  console.error('evtx bench: CPU profile…');
  mkdirSync(WORK, { recursive: true });
  const syntheticPath = join(WORK, 'synthetic.evtx');
  writeFileSync(syntheticPath, synthetic.subarray(0, HEADER + 64 * CHUNK)); // a slice keeps the child quick
  const prof = profile([...corpus.files.map((f) => join(corpus.dir, f.name)), syntheticPath]);

  const ratio = (a: Measure, b: Measure | undefined) =>
    b ? Number((a.recordsPerSecond / b.recordsPerSecond).toFixed(1)) : undefined;
  const result = {
    generatedAt: new Date().toISOString(),
    machine: {
      ...machine(),
      python: existsSync(ORACLE)
        ? spawnSync('/usr/bin/python3', ['--version'], { encoding: 'utf8' }).stdout.trim()
        : undefined,
    },
    corpus: {
      dir: corpus.dir,
      files: corpus.files.length,
      bytes: corpus.files.reduce((n, f) => n + f.buf.length, 0),
      largest: largest.name,
    },
    runs,
    largest: {
      reader: oursLargest.reader,
      readerAndMapping: oursLargest.mapped,
      problems: oursLargest.problems,
      python: pyLargest?.measure,
      ratio: ratio(oursLargest.reader, pyLargest?.measure),
    },
    all: {
      reader: oursAll.reader,
      readerAndMapping: oursAll.mapped,
      problems: oursAll.problems,
      coalEvents: oursAll.events,
      python: pyAll?.measure,
      pythonStartupSeconds: pyAll?.startupSeconds,
      pythonFailedFiles: pyAll?.failedFiles,
      ratio: ratio(oursAll.reader, pyAll?.measure),
    },
    synthetic: {
      records: syntheticRecords,
      bytes: synthetic.length,
      reader: oursSynthetic.reader,
      readerAndMapping: oursSynthetic.mapped,
    },
    phases: { shared: phaseShared, synthetic: phaseSynthetic },
    profile: prof,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'evtx.json'), `${JSON.stringify(result, null, 2)}\n`);
  const py = (label: string, p: typeof pyAll) =>
    p ? [row(label, p.measure)] : [`| ${label} | not installed (apt-get install python3-evtx) | | | | |`];
  const ph = (p: Record<string, number>) =>
    `framing + CRCs ${p.framingAndCrcUsPerRecord} µs, BinXML ${p.binxmlUsPerRecord} µs, WinEvent ${p.winEventUsPerRecord} µs, CoalEvent ${p.coalEventUsPerRecord} µs (total ${p.totalUsPerRecord} µs per record, ${p.records} records)`;
  const md = [
    '# EVTX reader bench',
    '',
    `\`node --import tsx bench/evtx.ts\`, ${result.machine.python ?? 'no python-evtx'}, ${result.generatedAt}. One core, files in memory, best of ${runs}. ${describeMachine(result.machine)}`,
    `Corpus: ${result.corpus.files} files, ${(result.corpus.bytes / MB).toFixed(2)} MB from \`${corpus.dir}\`; largest \`${largest.name}\`.`,
    '',
    '| what | records | MB | seconds | records/s | MB/s |',
    '|---|---|---|---|---|---|',
    row('largest: readEvtxBuffer', oursLargest.reader),
    row('largest: + winEventToCoal', oursLargest.mapped),
    ...py('largest: evtx_dump.py', pyLargest),
    row('all files: readEvtxBuffer', oursAll.reader),
    row('all files: + winEventToCoal', oursAll.mapped),
    ...py('all files: evtx_dump.py (one process per file)', pyAll),
    row(`synthetic ${syntheticRecords}: readEvtxBuffer`, oursSynthetic.reader),
    row(`synthetic ${syntheticRecords}: + winEventToCoal`, oursSynthetic.mapped),
    '',
    `Ratio (our reader records/s ÷ evtx_dump.py records/s): largest ${result.largest.ratio ?? 'n/a'}×, all files ${result.all.ratio ?? 'n/a'}×` +
      (pyAll ? ` (python startup alone ${pyAll.startupSeconds} s per process, included in its times).` : '.'),
    `Problems reported: largest ${oursLargest.problems}, all files ${oursAll.problems}.`,
    '',
    '## Where the time goes',
    '',
    `Phases, shared corpus: ${ph(phaseShared)}.`,
    '',
    `Phases, synthetic: ${ph(phaseSynthetic)}.`,
    '',
    'CPU profile (self time), by file:',
    '',
    ...prof.byFile.map((l) => `- ${l}`),
    '',
    'by function:',
    '',
    ...prof.byFunction.map((l) => `- ${l}`),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'evtx.md'), md);
  console.log(md);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
