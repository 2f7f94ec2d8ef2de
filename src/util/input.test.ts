import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type GzipBreak, gunzipHead, HEAD_BYTES, inflateChunks } from './input.js';

const TEXT = Buffer.from(
  Array.from({ length: 4000 }, (_, i) => `type=SYSCALL msg=audit(1741918200.${i}:${i}): pid=${i}\n`).join(''),
);

async function inflateAll(gz: Buffer, slice = 7000): Promise<{ out: Buffer; breaks: GzipBreak[] }> {
  const breaks: GzipBreak[] = [];
  async function* chunks() {
    for (let i = 0; i < gz.length; i += slice) yield gz.subarray(i, i + slice);
  }
  const parts: Buffer[] = [];
  for await (const c of inflateChunks(chunks(), (b) => breaks.push(b))) parts.push(c);
  return { out: Buffer.concat(parts), breaks };
}

test('gzip: whole members (several, zero padding after) inflate without a break, in any chunking', async () => {
  const gz = Buffer.concat([gzipSync(TEXT), gzipSync(TEXT), Buffer.alloc(5000)]);
  for (const slice of [13, 7000, gz.length]) {
    const { out, breaks } = await inflateAll(gz, slice);
    assert.deepEqual(breaks, []);
    assert.ok(out.equals(Buffer.concat([TEXT, TEXT])), `slice ${slice}`);
  }
});

test('gzip: junk after a whole member keeps every inflated byte and names the exact offset', async () => {
  const member = gzipSync(TEXT);
  for (const junk of ['not gzip', '\u001f\u008bX', '\u0000\u0000junk after padding']) {
    const { out, breaks } = await inflateAll(Buffer.concat([member, Buffer.from(junk, 'latin1')]));
    assert.ok(out.equals(TEXT), `all data kept before ${JSON.stringify(junk)}`);
    assert.equal(breaks.length, 1);
    assert.equal(breaks[0].code, 'INPUT_GZIP_TRAILING_JUNK');
    const zeros = junk.startsWith('\u0000') ? 2 : 0;
    assert.equal(breaks[0].offset, member.length + zeros);
    assert.match(breaks[0].reason, new RegExp(`compressed byte ${member.length + zeros}; the ${TEXT.length} bytes`));
  }
});

test('gzip: a copy cut anywhere yields a prefix of the content and says it was cut, never throws', async () => {
  const gz = gzipSync(TEXT);
  for (let cut = 1; cut < gz.length; cut += 97) {
    const { out, breaks } = await inflateAll(gz.subarray(0, cut));
    assert.ok(TEXT.subarray(0, out.length).equals(out), `cut at ${cut}: a prefix`);
    assert.equal(breaks.length, 1, `cut at ${cut}`);
    assert.equal(breaks[0].code, 'INPUT_GZIP_CORRUPT');
    assert.equal(breaks[0].cut, true);
    assert.equal(breaks[0].inflated, out.length);
  }
});

test('gzip: a flipped byte anywhere is reported or changes nothing: wrong data never passes silently', async () => {
  const gz = gzipSync(TEXT);
  let reported = 0;
  for (let at = 0; at < gz.length; at += 53) {
    const bad = Buffer.from(gz);
    bad[at] ^= 0x5a;
    const { out, breaks } = await inflateAll(bad);
    // header MTIME/XFL/OS bytes and padding bits after the last block are not checked by anyone, and change nothing
    if (breaks.length === 0) assert.ok(out.equals(TEXT), `flip at ${at}: silent and different`);
    else {
      reported++;
      assert.equal(breaks[0].code, 'INPUT_GZIP_CORRUPT', `flip at ${at}: ${breaks[0].reason}`);
    }
  }
  assert.ok(reported > gz.length / 53 - 5, `${reported} flips reported`);
});

test('gzip head: inflated up to HEAD_BYTES whatever the ratio; a cut head is not a break, a corrupt one is', async () => {
  const repetitive = Buffer.from('type=SYSCALL msg=audit(1.1:1): pid=1\n'.repeat(400_000));
  const gz = gzipSync(repetitive);
  assert.ok(repetitive.length / gz.length > 64, 'over the old 64:1 sniff limit');
  const { head, broke } = await gunzipHead(gz.subarray(0, HEAD_BYTES));
  assert.equal(head.length, HEAD_BYTES);
  assert.ok(head.equals(repetitive.subarray(0, HEAD_BYTES)));
  assert.equal(broke, undefined);

  const big = gzipSync(
    Buffer.from(Array.from({ length: 200_000 }, (_, i) => `${(i * 7919) % 100_003} ${i}\n`).join('')),
  );
  assert.ok(big.length > HEAD_BYTES);
  const cut = await gunzipHead(big.subarray(0, HEAD_BYTES));
  assert.equal(cut.broke, undefined, 'the head cut from a larger file');
  assert.equal(cut.head.length, HEAD_BYTES);

  const flipped = Buffer.from(gz.subarray(0, 2000));
  flipped[12] ^= 0xff;
  const bad = await gunzipHead(flipped);
  assert.equal(bad.broke?.code, 'INPUT_GZIP_CORRUPT');
});
