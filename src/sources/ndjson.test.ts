import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { ndjson } from './ndjson.js';

const good = fileInput('test/fixtures/ndjson/good.ndjson');
runSourceContract({ source: ndjson, good, bad: fileInput('test/fixtures/ndjson/bad.ndjson') });

test('keeps original, defaults event.kind, keeps a declared persistence target', async () => {
  const { events } = await readAll(ndjson, good);
  assert.deepEqual(events[0].original, { note: 'kept' });
  assert.equal(events[1].event.kind, 'event');
  assert.equal(events[1]['@timestamp'], '2025-03-14T02:10:10.000Z');
  assert.deepEqual(events[2].coalmine.persistence, { mechanism: 'cron', target: '/tmp/kdevtmpfsi' });
  assert.deepEqual(events[2].coalmine.ref, { file: good.name, line: 3 });
});

test('says why a line is not an event, with its line number', async () => {
  const { issues } = await readAll(ndjson, fileInput('test/fixtures/ndjson/bad.ndjson'));
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'NDJSON_BAD_JSON'],
      [3, 'NDJSON_BAD_JSON'],
      [4, 'NDJSON_BAD_EVENT'],
      [5, 'NDJSON_BAD_EVENT'],
      [6, 'NDJSON_BAD_EVENT'],
    ],
  );
  assert.match(issues[4].reason, /event\.action "foo" is not a known action/);
});

test('a line that forges coalmine fields gets them recomputed', async () => {
  const line =
    '{"@timestamp":"2025-01-01T00:00:00Z","event":{"action":"exec","dataset":"x"},"coalmine":{"ts":1,"format":"evil","ref":{"file":"/etc/shadow","line":9}}}\n';
  const { events } = await readAll(ndjson, memoryInput('in.ndjson', line));
  assert.deepEqual(events[0].coalmine, {
    ts: Date.UTC(2025, 0, 1),
    format: 'ndjson',
    ref: { file: 'in.ndjson', line: 1 },
  });
});
