/**
 * The shared source suite (not a test file itself): every `src/sources/<format>.test.ts` calls
 * `runSourceContract` with its good and bad fixtures, then adds its own cases.
 * It pins: the source sniffs its own good fixture; bad input (truncated, binary, oversized) yields
 * issues with file and line/record and never throws; a record cut inside a field is reported and
 * its broken value reaches no event; two runs give identical output.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
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
