/**
 * The shared source suite (not a test file itself): every `src/sources/<format>.test.ts` calls
 * `runSourceContract` with its good and bad fixtures, then adds its own cases.
 * It pins: the source sniffs its own good fixture; bad input (truncated, binary, oversized) yields
 * issues with file and line/record and never throws; a record cut inside a field is reported and
 * its broken value reaches no event; two runs give identical output. The helpers the formats' own
 * cases share are here too: in-memory inputs, counts, the JSON fuzz loops, the other formats' fixtures.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { constants, gunzipSync } from 'node:zlib';
import type { CoalEvent } from '../model/event.js';
import type { Issue } from '../model/issue.js';
import type { SourceContext, SourceDescriptor, SourceInput } from './types.js';

export const TEST_CONTEXT: SourceContext = { maxLineBytes: 64 * 1024, maxPendingRecords: 1024 };

/** An in-memory SourceInput, chunked small so line and record splitting across chunks is exercised. */
export function memoryInput(name: string, content: Buffer | string, extra: Partial<SourceInput> = {}): SourceInput {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  return {
    name,
    head: buf.subarray(0, 64 * 1024),
    async *open() {
      for (let i = 0; i < buf.length; i += 7919) yield buf.subarray(i, Math.min(buf.length, i + 7919));
    },
    ...extra,
  };
}

export function fileInput(path: string, extra: Partial<SourceInput> = {}): SourceInput {
  return memoryInput(path, readFileSync(path), extra);
}

export async function readAll(
  source: SourceDescriptor,
  input: SourceInput,
  context: SourceContext = TEST_CONTEXT,
): Promise<{ events: CoalEvent[]; issues: Issue[] }> {
  const events: CoalEvent[] = [];
  const issues: Issue[] = [];
  for await (const batch of source.read(input, context)) {
    events.push(...batch.events);
    issues.push(...batch.issues);
  }
  return { events, issues };
}

/** What a source makes of an input, counted: events, issues, and records read whole but of no use (`unused`). */
export async function countsOf(
  source: SourceDescriptor,
  input: SourceInput,
  context: SourceContext = TEST_CONTEXT,
): Promise<{ events: number; issues: number; unused: number }> {
  const out = { events: 0, issues: 0, unused: 0 };
  for await (const batch of source.read(input, context)) {
    out.events += batch.events.length;
    out.issues += batch.issues.length;
    out.unused += batch.unused ?? 0;
  }
  return out;
}

/** A sample whose record `at` (line, or record number for binary formats) is cut inside a field. */
export interface CutCase {
  input: SourceInput;
  at: number;
  /**
   * What the cut left of the field: no event may carry it. Binary formats, whose readers take a
   * record only whole (its length and checksum say so), leave it out.
   */
  broken?: string;
}

/**
 * The good fixture (read whole from its head: fixtures are small) with `cutRecord` appended, its last
 * line with no newline after it: a file copied while the record was written. `broken` is what the cut
 * left of the field it fell in; write the record with a value found nowhere else in the fixture.
 */
export function cutCase(good: SourceInput, cutRecord: string, broken: string): CutCase {
  let text = good.head.toString('utf8');
  if (text !== '' && !text.endsWith('\n')) text += '\n';
  const at = `${text}${cutRecord}`.split('\n').length; // the last line: the cut one
  const { head: _head, open: _open, name: _name, ...facts } = good;
  return { input: memoryInput(`cut-${good.name.split('/').pop()}`, `${text}${cutRecord}`, facts), at, broken };
}

/** `cutCase` with the fixture's own line `lineIndex` (0-based) cut right after `marker`, then `broken` written. */
export function cutLineCase(good: SourceInput, lineIndex: number, marker: string, broken: string): CutCase {
  const line = good.head.toString('utf8').split('\n')[lineIndex] ?? '';
  const at = line.indexOf(marker);
  assert.ok(at >= 0, `line ${lineIndex + 1} of ${good.name} has no ${marker}`);
  return cutCase(good, `${line.slice(0, at + marker.length)}${broken}`, broken);
}

export interface ContractCase {
  source: SourceDescriptor;
  /** A good fixture: must sniff as this source and produce events with no issues. */
  good: SourceInput;
  /** A bad fixture: must produce at least one issue and still some events (good records around bad ones). */
  bad: SourceInput;
  /** Every source gives one, or says in `skip.cut` why it cannot. */
  cut?: CutCase;
  /** Cases this source skips, each with the reason. */
  skip?: Partial<Record<'binary' | 'oversized' | 'truncated' | 'cut', string>>;
}

export function runSourceContract({ source, good, bad, cut, skip = {} }: ContractCase): void {
  const head = (i: SourceInput) => i.head.toString('utf8');

  test(`${source.name}: sniffs its own good fixture`, () => {
    assert.ok(source.sniff(head(good), good) > 0, 'sniff score must be > 0');
  });

  test(`${source.name}: reads the good fixture with events and no issues`, async () => {
    const { events, issues } = await readAll(source, good);
    assert.deepEqual(issues, []);
    assert.ok(events.length > 0, 'expected events');
    for (const e of events) {
      assert.equal(e.coalmine.ref.file, good.name);
      assert.ok(
        e.coalmine.ref.line !== undefined || e.coalmine.ref.record !== undefined,
        'every event has a line or record',
      );
      assert.equal(typeof e.coalmine.ts, 'number');
      assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
      assert.equal(e.coalmine.format, source.name);
    }
  });

  test(`${source.name}: two runs give identical output`, async () => {
    const a = await readAll(source, good);
    const b = await readAll(source, good);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
  });

  test(`${source.name}: bad fixture gives issues with file and line/record, and keeps the good records`, async () => {
    const { events, issues } = await readAll(source, bad);
    assert.ok(issues.length > 0, 'expected issues');
    assert.ok(events.length > 0, 'good records around bad ones are still read');
    for (const i of issues) {
      assert.equal(i.file, bad.name);
      assert.ok(i.line !== undefined || i.record !== undefined, `issue without position: ${JSON.stringify(i)}`);
      assert.match(i.code, /^[A-Z][A-Z0-9_]+$/);
      assert.ok(i.reason.length > 0);
    }
  });

  if (!skip.binary)
    test(`${source.name}: binary garbage gives issues, never a throw`, async () => {
      let seed = 42;
      const garbage = Buffer.alloc(200_000);
      for (let i = 0; i < garbage.length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        garbage[i] = seed & 0xff;
      }
      const { issues } = await readAll(source, memoryInput('garbage.bin', garbage, { relPath: good.relPath }));
      assert.ok(issues.length > 0);
    });

  if (!skip.oversized)
    test(`${source.name}: an oversized line is reported and the next good line is read`, async () => {
      const goodText = good.head.toString('utf8');
      const firstLine = goodText.split('\n')[0];
      const big = `${'A'.repeat(TEST_CONTEXT.maxLineBytes * 3)}\n${goodText}`;
      const { events, issues } = await readAll(source, memoryInput('big.log', big, { relPath: good.relPath }));
      assert.ok(
        issues.some((i) => i.line === 1),
        'issue on line 1',
      );
      assert.ok(events.length > 0, `events after the oversized line (first good line: ${firstLine.slice(0, 60)})`);
    });

  if (!skip.truncated)
    test(`${source.name}: a file cut mid-record reports the cut, never throws`, async () => {
      const whole = good.head;
      const prefix = whole.subarray(0, Math.floor(whole.length * 0.6));
      await readAll(source, memoryInput('cut.log', prefix, { relPath: good.relPath }));
    });

  if (!skip.cut)
    test(`${source.name}: a record cut mid-field is reported, not read`, async () => {
      assert.ok(cut, 'give a cut sample (a record cut inside a field), or skip.cut with the reason');
      const { events, issues } = await readAll(source, cut.input);
      assert.ok(
        issues.some((i) => i.file === cut.input.name && String(i.line ?? i.record) === String(cut.at)),
        `no issue at ${cut.at}: ${JSON.stringify(issues)}`,
      );
      assert.ok(events.length > 0, 'the whole records before the cut are still read');
      if (cut.broken !== undefined) {
        const carried = JSON.stringify(events).includes(JSON.stringify(cut.broken).slice(1, -1));
        assert.ok(!carried, `an event carries the cut value ${JSON.stringify(cut.broken)}`);
      }
    });
}

/** The same pseudo-random numbers on every run (a linear congruential generator): `rand(n)` is in 0..n-1. */
export function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

/** JSON that a mutation writes where a value or part of a line was: every type, broken syntax, extremes. */
const JUNK = ['', 'null', '"', '{', '}', '[]', '-1', '1e999', '"\\u0000"', '{"a":1}', 'true'];

/** A JSON-lines fuzz of one format: its records, and what to damage in them. */
export interface LineFuzz {
  /** Inputs whose lines are the records (fixtures are small: their head is all of them). */
  from: readonly SourceInput[];
  seed: number;
  /** The keys whose values are replaced by junk: a global pattern, the key its first group (`/"(pid|time)":/g`). */
  keys: RegExp;
  /** Junk beyond the shared kinds: a value this format's reader might take for one of its own. */
  junk?: readonly string[];
  /** The junk goes under one of these keys instead of the matched one (a field moved where another belongs). */
  renameTo?: readonly string[];
  /** The first line stays whole: it says whether the file is JSON lines or one document. */
  keepFirstLine?: boolean;
  rounds?: number;
}

/**
 * Registers the fuzz test of a JSON-lines format: each round cuts lines short, splices junk into them and
 * puts junk where named keys' values were; whatever is read never throws, and every non-blank line is
 * accounted for as an event, an unused record or an issue (none vanishes unreported).
 */
export function runLineFuzz(source: SourceDescriptor, fuzz: LineFuzz): void {
  test(`${source.name}: fuzz: mutated and truncated records never throw, and every line is an event, unused or an issue`, async () => {
    const lines = fuzz.from.flatMap((i) => i.head.toString('utf8').split('\n')).filter((l) => l !== '');
    const rand = seeded(fuzz.seed);
    const junk = [...JUNK, ...(fuzz.junk ?? [])];
    const renameTo = fuzz.renameTo;
    for (let round = 0; round < (fuzz.rounds ?? 200); round++) {
      const out: string[] = fuzz.keepFirstLine === true ? [lines[0]] : [];
      for (const line of fuzz.keepFirstLine === true ? lines.slice(1) : lines) {
        const r = rand(4);
        if (r === 0) out.push(line.slice(0, rand(line.length)));
        else if (r === 1) {
          const at = rand(line.length);
          out.push(`${line.slice(0, at)}${junk[rand(junk.length)]}${line.slice(at + rand(20))}`);
        } else if (r === 2)
          out.push(
            line.replace(
              fuzz.keys,
              (_, key: string) =>
                `"${renameTo ? renameTo[rand(renameTo.length)] : key}":${junk[rand(junk.length)]},"_":`,
            ),
          );
        else out.push(line);
      }
      const records = out.filter((l) => l.trim() !== '').length;
      const counts = await countsOf(source, memoryInput(`fuzz-${round}.json`, `${out.join('\n')}\n`));
      assert.equal(counts.events + counts.issues + counts.unused, records, `round ${round}`);
    }
  });
}

/**
 * Registers the fuzz test of a format's whole documents: `text` cut anywhere, or with junk spliced in;
 * whatever is read never throws, every issue names the file and its line, and a document that is not
 * blank is never passed over in silence.
 */
export function runDocumentFuzz(source: SourceDescriptor, text: string, seed: number, rounds = 100): void {
  test(`${source.name}: fuzz: a document cut or spliced anywhere never throws, and every issue names its line`, async () => {
    const rand = seeded(seed);
    for (let round = 0; round < rounds; round++) {
      const at = rand(text.length);
      const damaged =
        round % 2 === 0
          ? text.slice(0, at)
          : `${text.slice(0, at)}${JUNK[rand(JUNK.length)]}${text.slice(at + rand(40))}`;
      const name = `doc-${round}.json`;
      const { events, issues } = await readAll(source, memoryInput(name, damaged));
      for (const i of issues) assert.ok(i.line !== undefined && i.file === name, JSON.stringify(i));
      if (damaged.trim() !== '')
        assert.ok(events.length + issues.length > 0, `round ${round}: nothing read, nothing said`);
    }
  });
}

/**
 * Every file under `dir` (in name order, but the paths in `skip` and what is under them) as sniffing sees
 * it: the first 64 KiB, gzip inflated as `hunt` inflates it; `relPath` from `dir`.
 */
export function fixtureHeads(dir: string, skip: ReadonlySet<string> = new Set()): SourceInput[] {
  const out: SourceInput[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(at, entry.name);
      if (skip.has(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile())
        out.push({ name: path, relPath: relative(dir, path), head: headOf(path), open: async function* () {} });
    }
  };
  walk(dir);
  return out;
}

/** Every fixture (`test/fixtures`, `examples`) outside the format's own: `<root>/<format>/`, `test/fixtures/public/<format>/`. */
export function otherFixtures(format: string, roots: readonly string[] = ['test/fixtures', 'examples']): SourceInput[] {
  const own = new Set([...roots.map((r) => join(r, format)), join('test/fixtures', 'public', format)]);
  return roots.flatMap((root) => fixtureHeads(root, own));
}

function headOf(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
    if (!path.endsWith('.gz')) return head;
    try {
      return gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, 64 * 1024);
    } catch {
      return head;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The other formats' fixtures (`otherFixtures`) that `source` sniffs above 0: none, for a sniffer that knows
 * its own format. Fails when fewer than `atLeast` were looked at (the walk found the fixtures).
 */
export function fixturesClaimedBy(source: SourceDescriptor, atLeast = 300): string[] {
  const others = otherFixtures(source.name);
  assert.ok(others.length >= atLeast, `only ${others.length} other fixtures found`);
  return others.filter((input) => source.sniff(input.head.toString('utf8'), input) > 0).map((input) => input.name);
}
