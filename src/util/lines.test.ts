import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LineBatch, readLines } from './lines.js';

async function batches(text: string, chunk: number): Promise<LineBatch[]> {
  const buf = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
  }
  const out: LineBatch[] = [];
  for await (const b of readLines(chunks(), { maxLineBytes: 1024, onOversize: () => {} })) out.push(b);
  return out;
}

test('the last line is marked unterminated only when no newline ended it, however the input is chunked', async () => {
  for (const chunk of [1, 3, 64]) {
    const cut = await batches('a=1\nb="x', chunk);
    assert.deepEqual(
      cut.flatMap((b) => b.lines),
      ['a=1', 'b="x'],
    );
    assert.equal(cut[cut.length - 1].unterminated, true, `chunk ${chunk}`);
    assert.ok(
      cut.slice(0, -1).every((b) => !b.unterminated),
      `chunk ${chunk}`,
    );
    const whole = await batches('a=1\nb="x"\n', chunk);
    assert.ok(
      whole.every((b) => !b.unterminated),
      `chunk ${chunk}`,
    );
  }
});

test('lineOwner is asked of each line without its CR, before decoding: other lines are skipped, mine marked', async () => {
  const text = 'keep\r\nskip-me\nmine\n{"x":"ü"}\nlast-mine';
  for (const chunk of [1, 4, 1024]) {
    const buf = Buffer.from(text);
    async function* chunks() {
      for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
    }
    const asked: string[] = [];
    const out: LineBatch[] = [];
    const lineOwner = (bytes: Buffer, start: number, end: number) => {
      const line = bytes.toString('utf8', start, end);
      asked.push(line);
      return line.startsWith('skip') ? 'other' : line.includes('mine') ? 'mine' : undefined;
    };
    for await (const b of readLines(chunks(), { maxLineBytes: 1024, onOversize: () => {}, lineOwner })) out.push(b);
    assert.deepEqual(asked, ['keep', 'skip-me', 'mine', '{"x":"ü"}', 'last-mine'], `chunk ${chunk}`);
    assert.deepEqual(
      out.flatMap((b) => b.lines),
      ['keep', 'mine', '{"x":"ü"}', 'last-mine'],
    );
    assert.deepEqual(
      out.flatMap((b) => b.lineNos),
      [1, 3, 4, 5],
      'line numbers count the skipped line',
    );
    assert.deepEqual(
      out.flatMap((b) => b.mine),
      [false, true, false, true],
    );
    assert.equal(out[out.length - 1].unterminated, true);
  }
});
