import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryInput } from './contract.js';
import { type JsonDocumentItem, type JsonDocumentLimits, jsonDocumentRecords } from './json-document.js';

const LIMITS: JsonDocumentLimits = { maxRecordBytes: 60, maxDocumentBytes: 10_000, maxRecords: 3, code: 'X' };

async function itemsOf(text: string, limits = LIMITS): Promise<JsonDocumentItem[]> {
  const out: JsonDocumentItem[] = [];
  for await (const item of jsonDocumentRecords(memoryInput('doc.json', text), limits)) out.push(item);
  return out;
}

const codes = (items: JsonDocumentItem[]) =>
  items.flatMap((i) => ('issue' in i ? [`${i.issue.code}@${i.issue.line}`] : []));
const values = (items: JsonDocumentItem[]) => items.flatMap((i) => ('value' in i ? [i.value] : []));

test("a List's items are the records, with their first line; nested items and brackets in strings are not", async () => {
  const items = await itemsOf(
    '{"apiVersion":"v1","items":[\n{"a":1,"items":[1]},\n{"b":"]}"},{"c":[{}]}\n],"kind":"List"}',
  );
  assert.deepEqual(items, [
    { line: 2, value: { a: 1, items: [1] } },
    { line: 3, value: { b: ']}' } },
    { line: 3, value: { c: [{}] } },
  ]);
});

test('a top-level array: records past the cap are counted, an oversized one is reported and skipped', async () => {
  const big = `{"big":"${'z'.repeat(100)}"}`;
  const items = await itemsOf(`[${big},\n{"b":2}, 3, "x", {"d":4}]`);
  assert.deepEqual(values(items), [{ b: 2 }, 3]);
  assert.deepEqual(codes(items), ['X_RECORD_TOO_LARGE@1', 'X_TOO_MANY_RECORDS@2']);
});

test('recordKeys name the records array (CloudTrail Records); other keys stay the envelope', async () => {
  const text = '{"Records":[\n{"eventName":"A"},\n{"eventName":"B"}],"items":[1]}';
  assert.deepEqual(await itemsOf(text, { ...LIMITS, recordKeys: ['Records'] }), [
    { line: 2, value: { eventName: 'A' } },
    { line: 3, value: { eventName: 'B' } },
  ]);
  // a Records that is no array leaves the envelope as the one record, for the reader to reject
  assert.deepEqual(values(await itemsOf('{"Records":{"eventName":"A"}}', { ...LIMITS, recordKeys: ['Records'] })), [
    { Records: { eventName: 'A' } },
  ]);
});

test('a single object is the one record', async () => {
  assert.deepEqual(await itemsOf('{"kind":"Pod",\n"metadata":{"name":"p"}}'), [
    { line: 1, value: { kind: 'Pod', metadata: { name: 'p' } } },
  ]);
});

test('a record that does not parse is reported and the next is read; a cut document is reported where it ends', async () => {
  const broken = await itemsOf('[{"a":1},\n{"b": x},\n{"c":3}]');
  assert.deepEqual(values(broken), [{ a: 1 }, { c: 3 }]);
  assert.deepEqual(codes(broken), ['X_BAD_JSON@2']);
  const cut = await itemsOf('{"kind":"List","items":[{"a":1},\n{"b":\n"cut');
  assert.deepEqual(values(cut), [{ a: 1 }]);
  assert.deepEqual(codes(cut), ['X_TRUNCATED@3']);
});

test('what is no JSON document, too deep or too large is reported, never thrown', async () => {
  assert.deepEqual(codes(await itemsOf('garbage')), ['X_BAD_DOCUMENT@1']);
  assert.deepEqual(codes(await itemsOf('  \n')), ['X_BAD_DOCUMENT@2']);
  assert.deepEqual(codes(await itemsOf(`[${'['.repeat(300)}`)), ['X_BAD_DOCUMENT@1']);
  assert.deepEqual(codes(await itemsOf('[{"a":1}}]')), ['X_BAD_DOCUMENT@1']);
  assert.deepEqual(codes(await itemsOf(`[${'{"a":1},'.repeat(20)}]`, { ...LIMITS, maxDocumentBytes: 50 })), [
    'X_TOO_LARGE@1',
  ]);
});

test('records split across chunks at every offset read the same', async () => {
  const text = '{"items":[{"a":"x\\"y"},{"b":[1,2]}],"kind":"List"}';
  const want = [{ a: 'x"y' }, { b: [1, 2] }];
  for (let size = 1; size < text.length; size++) {
    const buf = Buffer.from(text);
    const input = {
      name: 'doc.json',
      head: buf,
      async *open() {
        for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
      },
    };
    const out: unknown[] = [];
    for await (const item of jsonDocumentRecords(input, LIMITS)) if ('value' in item) out.push(item.value);
    assert.deepEqual(out, want, `chunk size ${size}`);
  }
});
