import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
    { line: 2, document: 1, value: { a: 1, items: [1] } },
    { line: 3, document: 1, value: { b: ']}' } },
    { line: 3, document: 1, value: { c: [{}] } },
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
    { line: 2, document: 1, value: { eventName: 'A' } },
    { line: 3, document: 1, value: { eventName: 'B' } },
  ]);
  // a Records that is no array leaves the envelope as the one record, for the reader to reject
  assert.deepEqual(values(await itemsOf('{"Records":{"eventName":"A"}}', { ...LIMITS, recordKeys: ['Records'] })), [
    { Records: { eventName: 'A' } },
  ]);
});

test('a path of recordKeys reads the records of nested objects (hits.hits), each with its line; envelopes come first', async () => {
  const limits: JsonDocumentLimits = { ...LIMITS, maxRecordBytes: 200, maxRecords: 10, recordKeys: [['hits', 'hits']] };
  const text = [
    '{"took":1,"timed_out":true,"hits":{"total":{"value":2},"max_score":null,"hits":[',
    '{"a":{"hits":{"hits":[1]}}},',
    '{"b":"]}"}',
    '],"x":1},"aggregations":{"hits":{"hits":[9]}}}',
    '{"hits":{"hits":[]}}',
    '{"other":{"hits":[1]},"hits":[2]}',
  ].join('\n');
  const items: unknown[] = [];
  for await (const item of jsonDocumentRecords(memoryInput('r.json', text), { ...limits, envelopes: true }))
    items.push(item);
  assert.deepEqual(items, [
    {
      envelope: { took: 1, timed_out: true, hits: { total: { value: 2 }, max_score: null, hits: [] } },
      line: 1,
      document: 1,
    },
    // a record's own `hits.hits` and the aggregations' are no records
    { line: 2, document: 1, value: { a: { hits: { hits: [1] } } } },
    { line: 3, document: 1, value: { b: ']}' } },
    { envelope: { hits: { hits: [] } }, line: 5, document: 2 },
    // no `hits` object here: the document is the one record, as it is without a records array
    { line: 6, document: 3, value: { other: { hits: [1] }, hits: [2] } },
  ]);
  // without envelopes only the records; a top-level key and a path may be named together
  const both = await itemsOf(`${text}\n{"Records":[{"r":1}]}`, {
    ...limits,
    recordKeys: [['hits', 'hits'], 'Records'],
  });
  assert.deepEqual(values(both), [
    { a: { hits: { hits: [1] } } },
    { b: ']}' },
    { other: { hits: [1] }, hits: [2] },
    { r: 1 },
  ]);
  assert.deepEqual(codes(both), []);
});

test('a single object is the one record', async () => {
  assert.deepEqual(await itemsOf('{"kind":"Pod",\n"metadata":{"name":"p"}}'), [
    { line: 1, document: 1, value: { kind: 'Pod', metadata: { name: 'p' } } },
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

test('documents back to back (`>> file`) are all read, in every shape; what follows a document is reported', async () => {
  const limits = { ...LIMITS, maxRecords: 100, recordKeys: ['Records'] };
  // arrays, envelopes and lone objects, glued or on their own lines, each record with its own line
  assert.deepEqual(await itemsOf('[{"a":1}][{"a":2}]\n[\n{"a":3}\n]', limits), [
    { line: 1, document: 1, value: { a: 1 } },
    { line: 1, document: 2, value: { a: 2 } },
    { line: 3, document: 3, value: { a: 3 } },
  ]);
  assert.deepEqual(await itemsOf('{"Records":[{"a":1}]}{"Records":[\n{"a":2}]}\n{"Records":[]}', limits), [
    { line: 1, document: 1, value: { a: 1 } },
    { line: 2, document: 2, value: { a: 2 } },
  ]);
  assert.deepEqual(await itemsOf('{\n"k":1\n}\n{\n"k":2\n}\n[3]', limits), [
    { line: 1, document: 1, value: { k: 1 } },
    { line: 4, document: 2, value: { k: 2 } },
    { line: 7, document: 3, value: 3 },
  ]);
  // anything that opens no document after one is an issue on its line, never silently dropped
  const trailing = await itemsOf('[{"a":1}]\n\n,[{"a":2}]', limits);
  assert.deepEqual(values(trailing), [{ a: 1 }]);
  assert.deepEqual(codes(trailing), ['X_BAD_DOCUMENT@3']);
  // a second document cut short is reported like a first one
  const cut = await itemsOf('{"Records":[{"a":1}]}\n{"Records":[{"a":2},{"a"', limits);
  assert.deepEqual(values(cut), [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(codes(cut), ['X_TRUNCATED@2']);
  // the record cap holds over the whole file, not per document
  const capped = await itemsOf('[1,2][3,4]', { ...LIMITS, maxRecords: 3 });
  assert.deepEqual(values(capped), [1, 2, 3]);
  assert.deepEqual(codes(capped), ['X_TOO_MANY_RECORDS@1']);
});

test('memory holds the record being read, not the chunks read before it (a Records document is no whole file in memory)', async () => {
  // the collector, to see which chunks are still held while the document is read
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const records = 400;
  const text = `{"Records":[\n${Array.from({ length: records }, (_, k) => `{"k":${k},"pad":"${'x'.repeat(200)}"}`).join(',\n')}\n],"next":null}`;
  const whole = Buffer.from(text);
  const chunkBytes = 1024;
  const chunks: WeakRef<ArrayBuffer>[] = [];
  const input = {
    name: 'trail.json',
    head: whole.subarray(0, 1024),
    async *open() {
      for (let i = 0; i < whole.length; i += chunkBytes) {
        // each chunk in its own ArrayBuffer, as a file stream gives them
        const chunk = Buffer.from(new Uint8Array(whole.subarray(i, i + chunkBytes)).buffer);
        chunks.push(new WeakRef(chunk.buffer));
        yield chunk;
      }
    },
  };
  let read = 0;
  let heldAtEnd = -1;
  for await (const item of jsonDocumentRecords(input, {
    ...LIMITS,
    maxRecordBytes: 1024,
    maxDocumentBytes: 1 << 20,
    maxRecords: 1000,
    recordKeys: ['Records'],
  })) {
    assert.ok('value' in item, JSON.stringify(item));
    if (++read !== records - 1) continue;
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    heldAtEnd = chunks.filter((c) => c.deref() !== undefined).length;
  }
  assert.equal(read, records);
  assert.ok(chunks.length > 80, `${chunks.length} chunks`);
  // the chunk being scanned and the one the current record started in, no more
  assert.ok(heldAtEnd >= 0 && heldAtEnd <= 3, `${heldAtEnd} of ${chunks.length} chunks still held near the end`);
});
