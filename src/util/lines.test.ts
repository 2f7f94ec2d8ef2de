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
