/**
 * Fuzzes the binary EVTX reader: `node --import tsx bench/fuzz-evtx.ts [--cases N] [--seed S] [--replay I]`
 * (default 100,000 cases, seed 1). Each case takes a real file (the shared corpus in
 * ../shared/data/evtx when present, else test/fixtures/evtx), usually cut to its header and one to
 * three chunks, applies one to four seeded mutations (bit flips, random overwrites, truncation, chunk
 * header field and record size corruption, template and name offset corruption, substitution table
 * corruption, chunk duplication and splicing), mostly recomputes the CRCs so the damage reaches the
 * BinXML decoder, and runs `readEvtxBuffer` over it. A throw, an item that is neither a record nor a
 * problem, or a case over 2 s (a hang) is a failure; its input is saved to
 * bench/results/fuzz-evtx-failures/ and can be rerun with `--replay I`. Writes bench/results/fuzz-evtx.json
 * and .md: cases, failures, slowest case, peak RSS. Case I's mutations depend only on (seed, I).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import { type EvtxProblem, type EvtxRecord, isEvtxProblem, readEvtxBuffer } from '../src/sources/evtx/index.js';
import { caseSeed, Rng } from './fuzz-rng.js';
import { describeMachine, machine } from './machine.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const FAILURES = join(RESULTS, 'fuzz-evtx-failures');
/** `../shared/data/evtx` beside the checkout, when the team's shared data is there. */
const SHARED = join(HERE, '..', '..', 'shared', 'data', 'evtx');
export const FIXTURE_DIR = join(HERE, '..', 'test', 'fixtures', 'evtx');
const HEADER = 4096;
const CHUNK = 65536;
export const HANG_MS = 2000;

/** Values that break size and offset arithmetic. */
const BOUNDARY = [0, 1, 2, 4, 0x17, 0x18, 0x1ff, 0x200, 0x201, 0xfff, 0xffff, 0x10000, 0x10001, 0x7fffffff, 0xffffffff];

function u32(rng: Rng): number {
  return rng.chance(0.6) ? rng.pick(BOUNDARY) : rng.int(0x100000000);
}

function chunkCount(buf: Buffer): number {
  return Math.max(0, Math.floor((buf.length - HEADER) / CHUNK));
}

/** Record offsets (chunk-relative) found by walking a chunk's record sizes. */
function records(buf: Buffer, chunk: number): number[] {
  const base = HEADER + chunk * CHUNK;
  const out: number[] = [];
  for (let at = 512; at + 28 <= CHUNK && base + at + 28 <= buf.length && out.length < 4096; ) {
    if (buf.readUInt32LE(base + at) !== 0x2a2a) break;
    const size = buf.readUInt32LE(base + at + 4);
    if (size < 28 || at + size > CHUNK) break;
    out.push(at);
    at += size;
  }
  return out;
}

/** Recomputes every complete chunk's header and data CRCs and the file header CRC. */
export function fixChecksums(buf: Buffer): void {
  if (buf.length >= 128) buf.writeUInt32LE(crc32(buf.subarray(0, 0x78)), 0x7c);
  for (let c = 0; c < chunkCount(buf); c++) {
    const ch = buf.subarray(HEADER + c * CHUNK, HEADER + (c + 1) * CHUNK);
    const free = ch.readUInt32LE(0x30);
    if (free >= 512 && free <= CHUNK) ch.writeUInt32LE(crc32(ch.subarray(512, free)), 0x34);
    ch.writeUInt32LE(crc32(ch.subarray(0x80, 512), crc32(ch.subarray(0, 0x78))), 0x7c);
  }
}

type Mutation = (buf: Buffer, rng: Rng) => Buffer;

/** A random record (absolute offset) or undefined. */
function someRecord(buf: Buffer, rng: Rng): number | undefined {
  const n = chunkCount(buf);
  if (n === 0) return undefined;
  const c = rng.int(n);
  const rs = records(buf, c);
  return rs.length === 0 ? undefined : HEADER + c * CHUNK + rng.pick(rs);
}

export const MUTATIONS: Record<string, Mutation> = {
  flip(buf, rng) {
    for (let k = 1 + rng.int(16); k > 0; k--) {
      const at = rng.int(buf.length);
      buf[at] ^= 1 << rng.int(8);
    }
    return buf;
  },
  overwrite(buf, rng) {
    const len = 1 + rng.int(rng.chance(0.8) ? 16 : 512);
    const at = rng.int(buf.length);
    for (let i = at; i < Math.min(buf.length, at + len); i++) buf[i] = rng.int(256);
    return buf;
  },
  truncate(buf, rng) {
    return buf.subarray(0, rng.int(buf.length));
  },
  chunkHeader(buf, rng) {
    const n = chunkCount(buf);
    if (n === 0) return buf;
    const base = HEADER + rng.int(n) * CHUNK;
    const field = rng.pick([0x08, 0x10, 0x18, 0x20, 0x28, 0x2c, 0x30, 0x34, 0x78, 0x7c]);
    buf.writeUInt32LE(u32(rng), base + field);
    return buf;
  },
  fileHeader(buf, rng) {
    if (buf.length < 0x80) return buf;
    const field = rng.pick([0x08, 0x10, 0x18, 0x20, 0x24, 0x28, 0x2a, 0x78]);
    if (field === 0x24 || field === 0x28 || field === 0x2a) buf.writeUInt16LE(u32(rng) & 0xffff, field);
    else buf.writeUInt32LE(u32(rng), field);
    return buf;
  },
  stringTable(buf, rng) {
    const n = chunkCount(buf);
    if (n === 0) return buf;
    buf.writeUInt32LE(u32(rng) % 0x20000, HEADER + rng.int(n) * CHUNK + 0x80 + 4 * rng.int(96));
    return buf;
  },
  recordSize(buf, rng) {
    const at = someRecord(buf, rng);
    if (at === undefined) return buf;
    const size = u32(rng);
    buf.writeUInt32LE(size, at + 4);
    // sometimes keep the size copy consistent so the record passes its framing check
    if (rng.chance(0.5) && at + size <= buf.length && size >= 4) buf.writeUInt32LE(size, at + size - 4);
    return buf;
  },
  templateOffset(buf, rng) {
    const at = someRecord(buf, rng);
    if (at === undefined || buf[at + 28] !== 0x0c) return buf;
    const chunkBase = HEADER + Math.floor((at - HEADER) / CHUNK) * CHUNK;
    const current = buf.readUInt32LE(at + 34);
    const choices = [
      u32(rng),
      current + rng.int(64) - 32,
      at - chunkBase + 28, // the instance itself
      at - chunkBase + 24, // the record's fragment header
      rng.int(CHUNK),
    ];
    buf.writeUInt32LE(rng.pick(choices) >>> 0, at + 34);
    return buf;
  },
  templateBody(buf, rng) {
    // the data size, or a byte inside a resident template definition
    const at = someRecord(buf, rng);
    if (at === undefined || buf[at + 28] !== 0x0c) return buf;
    const chunkBase = HEADER + Math.floor((at - HEADER) / CHUNK) * CHUNK;
    const def = chunkBase + buf.readUInt32LE(at + 34);
    if (def !== at + 38 || def + 24 > buf.length) return buf;
    if (rng.chance(0.3)) buf.writeUInt32LE(u32(rng), def + 20);
    else {
      const len = buf.readUInt32LE(def + 20);
      const p = def + 24 + rng.int(Math.max(1, Math.min(len, 4096)));
      if (p < buf.length)
        buf[p] = rng.chance(0.5) ? rng.int(256) : rng.pick([0x00, 0x01, 0x41, 0x02, 0x03, 0x04, 0x0c, 0x0e]);
    }
    return buf;
  },
  nameOffset(buf, rng) {
    // a u32 after an element or attribute token inside a record: often a name offset
    const at = someRecord(buf, rng);
    if (at === undefined) return buf;
    const size = Math.min(buf.readUInt32LE(at + 4), buf.length - at);
    for (let tries = 0; tries < 32; tries++) {
      const p = at + 24 + rng.int(Math.max(1, size - 28));
      const t = buf[p];
      if (t === 0x01 || t === 0x41) {
        if (p + 11 <= buf.length) buf.writeUInt32LE(u32(rng) % 0x20000, p + 7);
        return buf;
      }
      if (t === 0x06 || t === 0x46) {
        if (p + 5 <= buf.length) buf.writeUInt32LE(u32(rng) % 0x20000, p + 1);
        return buf;
      }
    }
    return buf;
  },
  substitutions(buf, rng) {
    // the substitution count or one size/type after a non-resident instance
    const at = someRecord(buf, rng);
    if (at === undefined || buf[at + 28] !== 0x0c) return buf;
    const chunkBase = HEADER + Math.floor((at - HEADER) / CHUNK) * CHUNK;
    const def = chunkBase + buf.readUInt32LE(at + 34);
    let p = at + 38;
    if (def === p && def + 24 <= buf.length) p += 24 + buf.readUInt32LE(def + 20);
    if (p + 4 > buf.length) return buf;
    const count = buf.readUInt32LE(p);
    if (rng.chance(0.3) || count === 0) buf.writeUInt32LE(u32(rng), p);
    else {
      const d = p + 4 + 4 * rng.int(Math.min(count, 256));
      if (d + 4 <= buf.length) {
        if (rng.chance(0.5)) buf.writeUInt16LE(u32(rng) & 0xffff, d);
        else buf[d + 2] = rng.pick([0x00, 0x01, 0x0f, 0x13, 0x21, 0x81, 0x8f, 0x93, 0xa1, rng.int(256)]);
      }
    }
    return buf;
  },
  duplicateChunk(buf, rng) {
    const n = chunkCount(buf);
    if (n < 1) return buf;
    const from = rng.int(n);
    const copy = buf.subarray(HEADER + from * CHUNK, HEADER + (from + 1) * CHUNK);
    const to = rng.int(n + 1);
    return Buffer.concat([buf.subarray(0, HEADER + to * CHUNK), copy, buf.subarray(HEADER + to * CHUNK)]);
  },
  spliceChunks(buf, rng) {
    // the first part of one chunk with the rest of another
    const n = chunkCount(buf);
    if (n < 2) return buf;
    const a = HEADER + rng.int(n) * CHUNK;
    const b = HEADER + rng.int(n) * CHUNK;
    const cut = rng.int(CHUNK);
    buf.copy(buf, a + cut, b + cut, b + CHUNK);
    return buf;
  },
};
const NAMES = Object.keys(MUTATIONS);

export interface FuzzCase {
  input: Buffer;
  file: string;
  ops: string[];
}

/** Case i of a run: which file, which mutations. Depends only on (seed, i) and the corpus. */
export function makeCase(corpus: ReadonlyArray<{ name: string; buf: Buffer }>, seed: number, i: number): FuzzCase {
  const rng = new Rng(caseSeed(seed, i));
  const src = rng.pick(corpus);
  const n = chunkCount(src.buf);
  let buf: Buffer;
  if (n > 3 && rng.chance(0.97)) {
    // header + a run of one to three chunks: fast cases, every chunk of a big file visited over a run
    const take = 1 + rng.int(3);
    const start = rng.int(n - take + 1);
    buf = Buffer.concat([
      src.buf.subarray(0, HEADER),
      src.buf.subarray(HEADER + start * CHUNK, HEADER + (start + take) * CHUNK),
    ]);
  } else buf = Buffer.from(src.buf);
  const ops: string[] = [];
  for (let k = 1 + rng.int(4); k > 0; k--) {
    const name = rng.pick(NAMES);
    ops.push(name);
    try {
      buf = MUTATIONS[name](buf, rng);
    } catch {
      // a mutation that does not fit what earlier ones left (a field past a truncated end) is skipped
    }
  }
  if (rng.chance(0.7)) {
    fixChecksums(buf);
    ops.push('fixChecksums');
  }
  return { input: buf, file: src.name, ops };
}

/** Why an item is neither a record nor a problem, or undefined when it is one. */
export function badItem(x: EvtxRecord | EvtxProblem): string | undefined {
  if (x === null || typeof x !== 'object') return `item is ${String(x)}`;
  if (isEvtxProblem(x)) {
    if (typeof x.offset !== 'number' || !Number.isFinite(x.offset)) return 'problem without a numeric offset';
    if (typeof x.reason !== 'string' || x.reason === '') return 'problem without a reason';
    return undefined;
  }
  if (typeof x.recordId !== 'number' || typeof x.chunk !== 'number') return 'record without chunk/recordId';
  const ev = x.event;
  if (typeof ev !== 'object' || typeof ev.eventId !== 'number' || typeof ev.provider !== 'string')
    return 'record without an event';
  if (typeof ev.data !== 'object' || ev.data === null) return 'record event without data';
  for (const v of Object.values(ev.data)) if (typeof v !== 'string') return 'non-string data value';
  return undefined;
}

export interface CaseResult {
  ms: number;
  records: number;
  problems: number;
  error?: string;
}

/** Runs the reader over one input; never throws. */
export function runCase(input: Buffer): CaseResult {
  const started = performance.now();
  let records = 0;
  let problems = 0;
  try {
    for (const x of readEvtxBuffer(input)) {
      const bad = badItem(x);
      if (bad) return { ms: performance.now() - started, records, problems, error: bad };
      if (isEvtxProblem(x)) problems++;
      else records++;
    }
  } catch (e) {
    return {
      ms: performance.now() - started,
      records,
      problems,
      error: `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    };
  }
  return { ms: performance.now() - started, records, problems };
}

/** The shared corpus when present, else our fixtures. */
export function loadCorpus(dirs: string[] = [SHARED, FIXTURE_DIR]): Array<{ name: string; buf: Buffer }> {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.evtx'))
      .sort();
    if (files.length > 0) return files.map((f) => ({ name: f, buf: readFileSync(join(dir, f)) }));
  }
  throw new Error(`no .evtx files in ${dirs.join(' or ')}`);
}

function arg(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer`);
  return n;
}

function main(argv: string[]): void {
  const cases = arg(argv, '--cases', 100000);
  const seed = arg(argv, '--seed', 1);
  const replay = argv.includes('--replay') ? arg(argv, '--replay', 0) : undefined;
  const corpus = loadCorpus();
  const corpusDir = existsSync(SHARED) && corpus[0] && existsSync(join(SHARED, corpus[0].name)) ? SHARED : FIXTURE_DIR;
  if (replay !== undefined) {
    const c = makeCase(corpus, seed, replay);
    const r = runCase(c.input);
    console.log(JSON.stringify({ case: replay, file: c.file, ops: c.ops, bytes: c.input.length, ...r }, null, 2));
    process.exit(r.error ? 1 : 0);
  }
  const started = performance.now();
  const failures: Array<{ case: number; file: string; ops: string[]; error: string; ms: number; saved: string }> = [];
  let slowest = { case: -1, ms: 0, file: '', ops: [] as string[], bytes: 0 };
  let records = 0;
  let problems = 0;
  let bytes = 0;
  let hangs = 0;
  const opCounts: Record<string, number> = {};
  for (let i = 0; i < cases; i++) {
    const c = makeCase(corpus, seed, i);
    for (const op of c.ops) opCounts[op] = (opCounts[op] ?? 0) + 1;
    const r = runCase(c.input);
    bytes += c.input.length;
    records += r.records;
    problems += r.problems;
    if (r.ms > slowest.ms) slowest = { case: i, ms: r.ms, file: c.file, ops: c.ops, bytes: c.input.length };
    const error = r.error ?? (r.ms > HANG_MS ? `hang: ${r.ms.toFixed(0)} ms` : undefined);
    if (r.ms > HANG_MS) hangs++;
    if (error) {
      mkdirSync(FAILURES, { recursive: true });
      const saved = join(FAILURES, `seed${seed}-case${i}.evtx`);
      writeFileSync(saved, c.input);
      writeFileSync(
        `${saved}.txt`,
        `${JSON.stringify({ case: i, seed, file: c.file, ops: c.ops }, null, 2)}\n${error}\n`,
      );
      failures.push({ case: i, file: c.file, ops: c.ops, error: error.split('\n')[0], ms: r.ms, saved });
      console.error(`case ${i} FAILED (${c.ops.join(', ')} on ${c.file}): ${error.split('\n')[0]}`);
    }
    if ((i + 1) % 10000 === 0)
      console.error(
        `${i + 1}/${cases} cases, ${failures.length} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
  }
  const seconds = (performance.now() - started) / 1000;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const summary = {
    generatedAt: new Date().toISOString(),
    command: `node --import tsx bench/fuzz-evtx.ts --cases ${cases} --seed ${seed}`,
    machine: machine(),
    corpus: { dir: corpusDir, files: corpus.length, bytes: corpus.reduce((n, f) => n + f.buf.length, 0) },
    cases,
    seed,
    seconds: Number(seconds.toFixed(1)),
    casesPerSecond: Math.round(cases / seconds),
    inputBytes: bytes,
    recordsYielded: records,
    problemsYielded: problems,
    failures: failures.length,
    hangs,
    hangLimitMs: HANG_MS,
    slowest: { ...slowest, ms: Number(slowest.ms.toFixed(1)) },
    maxRssBytes,
    mutations: opCounts,
    failureCases: failures.slice(0, 100),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'fuzz-evtx.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const md = [
    '# EVTX reader fuzz',
    '',
    `\`${summary.command}\`, ${summary.generatedAt}. ${describeMachine(summary.machine)}`,
    `Corpus: ${corpus.length} files (${(summary.corpus.bytes / 1048576).toFixed(1)} MiB) from \`${corpusDir}\`.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| cases | ${cases} |`,
    `| failures (throw, bad item, or > ${HANG_MS} ms) | ${failures.length} |`,
    `| hangs (> ${HANG_MS} ms) | ${hangs} |`,
    `| time | ${summary.seconds} s (${summary.casesPerSecond} cases/s) |`,
    `| slowest case | #${slowest.case}: ${slowest.ms.toFixed(1)} ms, ${slowest.bytes} bytes, ${slowest.ops.join(' + ')} on ${slowest.file} |`,
    `| records / problems yielded | ${records} / ${problems} |`,
    `| peak RSS | ${(maxRssBytes / 1048576).toFixed(0)} MiB |`,
    '',
    `Mutations applied: ${Object.entries(opCounts)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    ...(failures.length > 0
      ? [
          '## Failures',
          '',
          ...failures.slice(0, 50).map((f) => `- case ${f.case} (${f.ops.join(' + ')} on ${f.file}): ${f.error}`),
        ]
      : []),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'fuzz-evtx.md'), md);
  console.log(md);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
