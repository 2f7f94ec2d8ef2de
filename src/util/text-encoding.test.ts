import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAD_BYTES } from './input.js';
import { decodeChunks, decodeHead, type TextDamage, textEncodingOf } from './text-encoding.js';

// ASCII, Latin-1, CJK (3 UTF-8 bytes) and an astral character (a surrogate pair), over CRLF lines
const TEXT = '"(PDH-CSV 4.0)","\\\\WS-FIN-07\\Processor(_Total)\\% Processor Time"\r\nnaïve,東京,⛏️,𝄞 pool\r\n'.repeat(
  20,
);

function utf16(text: string, bigEndian = false): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return bigEndian
    ? Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(le).swap16()])
    : Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
}

async function decodeAll(
  bytes: Buffer,
  slice: number,
): Promise<{ text: string; chunks: number; damage: TextDamage[] }> {
  const encoding = textEncodingOf(bytes);
  assert.ok(encoding);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += slice) yield bytes.subarray(i, i + slice);
  }
  const damage: TextDamage[] = [];
  const out: Buffer[] = [];
  for await (const c of decodeChunks(chunks(), encoding, (d) => damage.push(d))) out.push(c);
  return { text: Buffer.concat(out).toString('utf8'), chunks: out.length, damage };
}

test('a byte-order mark names UTF-8, UTF-16LE or UTF-16BE; UTF-32LE and plain text are left alone', () => {
  assert.equal(textEncodingOf(Buffer.from([0xef, 0xbb, 0xbf, 0x7b])), 'utf8-bom');
  assert.equal(textEncodingOf(utf16('{"a":1}')), 'utf16le');
  assert.equal(textEncodingOf(utf16('{"a":1}', true)), 'utf16be');
  assert.equal(textEncodingOf(Buffer.from([0xff, 0xfe, 0, 0, 0x7b, 0, 0, 0])), undefined);
  assert.equal(textEncodingOf(Buffer.from('{"a":1}')), undefined);
  // evtx, pcap, gzip: no binary format coalmine reads opens like a mark
  for (const magic of ['ElfFile\0', '\xd4\xc3\xb2\xa1', '\n\r\r\n', '\x1f\x8b\x08'])
    assert.equal(textEncodingOf(Buffer.from(magic, 'latin1')), undefined);
});

test('UTF-16 (LE and BE) and UTF-8 with a mark decode to the same UTF-8 text in any chunking, with no damage', async () => {
  for (const bytes of [
    utf16(TEXT),
    utf16(TEXT, true),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]),
  ])
    for (const slice of [1, 2, 3, 7919, bytes.length]) {
      const { text, damage } = await decodeAll(bytes, slice);
      assert.equal(text, TEXT, `slice ${slice}`);
      assert.deepEqual(damage, []);
    }
});

test('streaming: one chunk out per chunk in, however large the input', async () => {
  const big = utf16('x,1\r\n'.repeat(400_000));
  const { text, chunks } = await decodeAll(big, 1024 * 1024);
  assert.equal(text.length, 2_000_000);
  assert.ok(chunks <= Math.ceil(big.length / (1024 * 1024)), `${chunks} chunks`);
});

test('an unpaired surrogate becomes U+FFFD and is reported once with its line and byte; a lone last byte is dropped and reported', async () => {
  const lines = ['a,1', 'b,2', 'c\ud800,3', 'd\udc00,4', 'e,5'];
  const body = Buffer.from(lines.join('\n'), 'utf16le');
  const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), body, Buffer.from([0x41])]);
  for (const slice of [1, 5, bytes.length]) {
    const { text, damage } = await decodeAll(bytes, slice);
    assert.equal(text, 'a,1\nb,2\nc\ufffd,3\nd\ufffd,4\ne,5', `slice ${slice}`);
    assert.deepEqual(
      damage.map((d) => [d.code, d.line]),
      [
        ['INPUT_UTF16_BAD_SURROGATE', 3],
        ['INPUT_UTF16_ODD_BYTE', 5],
      ],
    );
    assert.match(damage[0].reason, /^2 unpaired UTF-16 surrogates, the first at byte 20;/);
    assert.match(damage[1].reason, new RegExp(`byte ${bytes.length - 1}`));
  }
});

test('a high surrogate the text ends on is U+FFFD and reported', async () => {
  const { text, damage } = await decodeAll(utf16('ok\n\ud83d'), 3);
  assert.equal(text, 'ok\n\ufffd');
  assert.deepEqual(
    damage.map((d) => [d.code, d.line]),
    [['INPUT_UTF16_BAD_SURROGATE', 2]],
  );
});

test('the head decodes without its mark or its own cut, within HEAD_BYTES and on a character boundary', () => {
  // cut inside a pair and mid code unit: both left to the stream, not replaced
  const cut = utf16('ab𝄞').subarray(0, 9);
  assert.equal(decodeHead(cut, 'utf16le').toString('utf8'), 'ab');
  assert.equal(
    decodeHead(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{')]), 'utf8-bom').toString(),
    '{',
  );
  // 64 KiB of UTF-16 CJK is 96 KiB of UTF-8: cut to HEAD_BYTES, never inside a character
  const wide = utf16('東'.repeat(HEAD_BYTES)).subarray(0, HEAD_BYTES);
  const head = decodeHead(wide, 'utf16le');
  assert.ok(head.length <= HEAD_BYTES && head.length > HEAD_BYTES - 3);
  assert.equal(head.toString('utf8'), '東'.repeat(head.length / 3));
  assert.equal(decodeHead(utf16('東'.repeat(100), true), 'utf16be').toString('utf8'), '東'.repeat(100));
});
