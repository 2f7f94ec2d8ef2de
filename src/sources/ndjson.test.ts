import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLineCase, fileInput, memoryInput, readAll, runSourceContract } from './contract.js';
import { ndjson } from './ndjson.js';

const good = fileInput('test/fixtures/ndjson/good.ndjson');
const bad = fileInput('test/fixtures/ndjson/bad.ndjson');
runSourceContract({
  source: ndjson,
  good,
  bad,
  // the file copied while a record was written: it ends inside a string value
  cut: cutLineCase(good, 0, '"executable":"', '/tmp/cutmin'),
});

/** Reasons for one line each, in order. */
async function reasons(...lines: string[]): Promise<string[]> {
  const { issues } = await readAll(ndjson, memoryInput('in.ndjson', `${lines.join('\n')}\n`));
  return issues.map((i) => i.reason);
}

test('keeps original, defaults event.kind, keeps a declared persistence target', async () => {
  const { events } = await readAll(ndjson, good);
  assert.deepEqual(events[0].original, { note: 'kept' });
  assert.equal(events[1].event.kind, 'event');
  assert.equal(events[1]['@timestamp'], '2025-03-14T02:10:10.000Z');
  assert.deepEqual(events[2].coalmine.persistence, { mechanism: 'cron', target: '/tmp/kdevtmpfsi' });
  assert.deepEqual(events[2].coalmine.ref, { file: good.name, line: 3 });
});

test('says why a line is not an event, with its line number', async () => {
  const { events, issues } = await readAll(ndjson, bad);
  assert.deepEqual(
    issues.map((i) => [i.line, i.code]),
    [
      [2, 'NDJSON_BAD_JSON'],
      [3, 'NDJSON_BAD_JSON'],
      [4, 'NDJSON_BAD_EVENT'],
      [5, 'NDJSON_BAD_EVENT'],
      [6, 'NDJSON_BAD_EVENT'],
      [7, 'NDJSON_BAD_EVENT'],
    ],
  );
  assert.deepEqual(
    issues.slice(2).map((i) => i.reason),
    [
      'line is JSON but an array, not an object',
      '@timestamp "yesterday" is not a plausible time',
      'event.action "foo" is not a known action',
      'process.name is a number, expected a string',
    ],
  );
  assert.deepEqual(
    events.map((e) => e.coalmine.ref.line),
    [1, 8],
  );
});

test('names the missing or mistyped envelope field', async () => {
  assert.deepEqual(
    await reasons(
      '{"event":{"action":"exec","dataset":"x"}}',
      '{"@timestamp":"2025-03-14T02:10:09Z","event":"exec"}',
      '{"@timestamp":"2025-03-14T02:10:09Z","event":{"dataset":"x"}}',
      '{"@timestamp":"2025-03-14T02:10:09Z","event":{"action":"exec"}}',
      '{"@timestamp":"2025-03-14T02:10:09Z","event":{"action":"exec","dataset":"x","kind":"alert"}}',
      '{"@timestamp":"1970-01-01T00:00:00Z","event":{"action":"exec","dataset":"x"}}',
    ),
    [
      '@timestamp is missing or not a string',
      'event is missing or not an object',
      'event.action is missing',
      'event.dataset is missing or not a string',
      'event.kind "alert" is not event, metric or state',
      '@timestamp "1970-01-01T00:00:00Z" is not a plausible time',
    ],
  );
});

test('a field of the wrong type is refused before any signal reads it', async () => {
  const head = '{"@timestamp":"2025-03-14T02:10:09Z","event":{"action":"connect","dataset":"x"}';
  assert.deepEqual(
    await reasons(
      `${head},"host":"web-01"}`,
      `${head},"destination":{"ip":"198.51.100.23","port":"3333"}}`,
      `${head},"process":{"pid":5,"parent":{"pid":1,"command_line":["sh"]}}}`,
      `${head},"process":{"pid":5,"args":["xmrig",3]}}`,
      `${head},"dns":{"question":{"name":null}}}`,
      `${head},"metrics":{"cpu_pct":1e999}}`,
      `{"@timestamp":"2025-03-14T02:10:09Z","event":{"action":"exec","dataset":"x","category":"process"}}`,
    ),
    [
      'host is a string, expected an object',
      'destination.port is a string, expected a number',
      'process.parent.command_line is an array, expected a string',
      'process.args[1] is a number, expected a string',
      'dns.question.name is null, expected a string',
      'metrics.cpu_pct is a number out of range, expected a number',
      'event.category is a string, expected an array of strings',
    ],
  );
});

test('fields it does not know pass through untouched', async () => {
  const line =
    '{"@timestamp":"2025-03-14T02:10:09.000Z","event":{"action":"exec","dataset":"x"},"labels":{"team":7},"process":{"pid":5,"vendor":[1]}}\n';
  const { events, issues } = await readAll(ndjson, memoryInput('in.ndjson', line));
  assert.deepEqual(issues, []);
  assert.deepEqual((events[0] as unknown as { labels: unknown }).labels, { team: 7 });
  assert.deepEqual(events[0].process, { pid: 5, vendor: [1] });
  assert.deepEqual(events[0].event.category, []);
});

test('original is kept when it is an object and replaced by {} otherwise', async () => {
  const head = '{"@timestamp":"2025-03-14T02:10:09.000Z","event":{"action":"exec","dataset":"x"}';
  const { events } = await readAll(
    ndjson,
    memoryInput(
      'in.ndjson',
      `${head},"original":{"EventID":1,"Image":"C:\\\\x.exe"}}\n${head},"original":"raw text"}\n${head}}\n`,
    ),
  );
  assert.deepEqual(
    events.map((e) => e.original),
    [{ EventID: 1, Image: 'C:\\x.exe' }, {}, {}],
  );
});

test('a persistence claim is kept only when well-formed', async () => {
  const head = '{"@timestamp":"2025-03-14T02:10:09.000Z","event":{"action":"persistence-entry","dataset":"x"}';
  const { events, issues } = await readAll(
    ndjson,
    memoryInput(
      'in.ndjson',
      [
        `${head},"coalmine":{"persistence":{"mechanism":"systemd"}}}`,
        `${head},"coalmine":{"persistence":{"mechanism":"rootkit","target":"/tmp/x"}}}`,
        `${head},"coalmine":{"persistence":{"mechanism":"cron","target":7}}}`,
        `${head},"coalmine":{"persistence":{"mechanism":"cron","target":"/tmp/x","extra":"dropped"}}}`,
      ].join('\n'),
    ),
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(
    events.map((e) => e.coalmine.persistence),
    [{ mechanism: 'systemd' }, undefined, undefined, { mechanism: 'cron', target: '/tmp/x' }],
  );
});

test('@timestamp is rewritten to the canonical form whenever Date.parse would read it differently', async () => {
  const stamps = [
    '2025-03-14T02:10:09.000Z',
    '2025-03-14T02:10:09Z',
    '2025-03-14T04:10:09+02:00',
    '2025-02-30T00:00:00.000Z',
  ];
  const text = stamps.map((s) => `{"@timestamp":"${s}","event":{"action":"exec","dataset":"x"}}`).join('\n');
  const { events } = await readAll(ndjson, memoryInput('in.ndjson', text));
  // in line order (the last line steps back in time, so the file is given sorted)
  events.sort((a, b) => Number(a.coalmine.ref.line) - Number(b.coalmine.ref.line));
  assert.deepEqual(
    events.map((e) => e['@timestamp']),
    ['2025-03-14T02:10:09.000Z', '2025-03-14T02:10:09.000Z', '2025-03-14T02:10:09.000Z', '2025-03-02T00:00:00.000Z'],
  );
  for (const e of events) assert.equal(new Date(e.coalmine.ts).toISOString(), e['@timestamp']);
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

test('yields a batch per chunk of lines rather than holding the whole input', async () => {
  const line =
    '{"@timestamp":"2025-03-14T02:10:09.000Z","event":{"action":"metric","dataset":"x"},"metrics":{"cpu_pct":50}}';
  const input = memoryInput('in.ndjson', `${Array(500).fill(line).join('\n')}\n`);
  const sizes: number[] = [];
  for await (const batch of ndjson.read(input, { maxLineBytes: 65536, maxPendingRecords: 1024 }))
    sizes.push(batch.events.length);
  assert.ok(sizes.length > 1, `expected several batches, got ${sizes.length}`);
  assert.equal(
    sizes.reduce((a, b) => a + b, 0),
    500,
  );
});
