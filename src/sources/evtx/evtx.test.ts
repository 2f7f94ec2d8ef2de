import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { memoryInput, readAll, runSourceContract } from '../contract.js';
import { sniffSource } from '../index.js';
import { type EvtxProblem, type EvtxRecord, evtx, isEvtxProblem, readEvtxBuffer } from './index.js';
import { chunk, file, record, sysmon } from './testing.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DATA = join(REPO, '..', 'shared', 'data', 'evtx');
const ORACLE = join(REPO, 'scripts', 'oracle', 'evtx_oracle.py');

function split(buf: Buffer): { records: EvtxRecord[]; problems: EvtxProblem[] } {
  const all = [...readEvtxBuffer(buf)];
  return { records: all.filter((r): r is EvtxRecord => !isEvtxProblem(r)), problems: all.filter(isEvtxProblem) };
}

const goodFile = file([chunk([sysmon(1), sysmon(2), sysmon(3)]), Buffer.alloc(65536)]);
const garbageChunk = Buffer.alloc(65536, 0x5a);
const badFile = file([chunk([sysmon(1)]), garbageChunk, chunk([sysmon(3)])]);
runSourceContract({
  source: evtx,
  good: memoryInput('good.evtx', goodFile),
  bad: memoryInput('bad.evtx', badFile),
  skip: { oversized: 'binary records are at most 64 KiB by construction; there are no lines' },
  // the file copied while record 2 was written
  cut: { input: memoryInput('cut.evtx', goodFile.subarray(0, goodFile.indexOf('**', 4096 + 600) + 30)), at: 2 },
});

test('evtx: sniffed ahead of every text format', () => {
  assert.equal(sniffSource({ head: goodFile.subarray(0, 65536), name: 'x.evtx' })?.name, 'evtx');
});

test('evtx: template defined once per chunk and reused; every value type rendered as Windows does', () => {
  const { records, problems } = split(goodFile);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    records.map((r) => [r.chunk, r.recordId, r.event.recordId]),
    [
      [0, 1, 1],
      [0, 2, 2],
      [0, 3, 3],
    ],
  );
  const r = records[1];
  assert.equal(r.written, '2024-05-23T17:26:09.0000000Z');
  const { data, ...system } = r.event;
  assert.deepEqual(system, {
    provider: 'Microsoft-Windows-Sysmon',
    channel: 'Microsoft-Windows-Sysmon/Operational',
    eventId: 1,
    recordId: 2,
    timeCreated: '2024-05-23T17:26:08.7165811Z',
    computer: 'WS1.example.com',
    executionPid: 2044,
    executionTid: 3000,
    userSid: 'S-1-5-18',
  });
  assert.deepEqual(data, {
    Image: 'C:\\Windows\\System32\\notepad.exe',
    CommandLine: 'notepad.exe notes.txt',
    ProcessId: '4242',
    ProcessGuid: '{33221100-5544-7766-8899-aabbccddeeff}',
    LogonId: '0x3e7',
    Flag: 'true',
    Raw: 'DEAD01',
    Small: '-2',
    Nested: 'a&b!',
    param1: 'one',
    param2: 'two',
  });
});

test('evtx: a damaged chunk is reported and the next chunk is still read; an empty chunk is silent', async () => {
  const { records, problems } = split(badFile);
  assert.deepEqual(
    records.map((r) => r.recordId),
    [1, 3],
  );
  assert.deepEqual(problems, [
    { chunk: 1, offset: 4096 + 65536, reason: 'no "ElfChnk\\0" magic: not a chunk; skipped' },
  ]);
  const { events, issues } = await readAll(evtx, memoryInput('bad.evtx', badFile));
  assert.equal(events.length, 2);
  assert.deepEqual(
    issues.map((i) => [i.code, i.record]),
    [['EVTX_BAD_CHUNK', 'chunk 1']],
  );
});

test('evtx: a corrupted record is reported with its id and the records after it are read', () => {
  const c = chunk([sysmon(1), sysmon(2), sysmon(3), sysmon(4)]);
  const second = c.indexOf(Buffer.from([0x2a, 0x2a, 0, 0]), 513);
  const third = c.indexOf(Buffer.from([0x2a, 0x2a, 0, 0]), second + 1);
  c[second + 24 + 4] = 0x2c; // an unknown token where the template instance starts
  c.writeUInt32LE(12345, third + 4); // a record size that does not frame a record
  const { records, problems } = split(file([c]));
  assert.deepEqual(
    records.map((r) => r.recordId),
    [1, 4],
  );
  assert.deepEqual(
    problems.map((p) => [p.chunk, p.recordId, p.reason.replace(/ at 0x[0-9a-f]+/, '')]),
    [
      [0, undefined, 'event records checksum mismatch; records checked one by one'],
      [0, 2, 'unexpected BinXML token 0x2c'],
      [
        0,
        3,
        `record size 12345 is invalid; ${c.indexOf(Buffer.from([0x2a, 0x2a, 0, 0]), third + 1) - third} bytes skipped`,
      ],
    ],
  );
});

test('evtx: a truncated file reports the cut and keeps the records before it, stream and buffer alike', async () => {
  const cut = goodFile.subarray(0, goodFile.indexOf('**', 4096 + 600) + 30);
  const { records, problems } = split(cut);
  assert.deepEqual(
    records.map((r) => r.recordId),
    [1],
  );
  assert.match(problems[0].reason, /^file ends \d+ bytes into this chunk$/);
  const { events, issues } = await readAll(evtx, memoryInput('cut.evtx', cut));
  assert.equal(events.length, 1);
  assert.equal(issues[0].code, 'EVTX_BAD_CHUNK');
  assert.deepEqual(split(goodFile.subarray(0, 100)).problems, [
    { offset: 0, reason: 'file header is 100 bytes, expected 4096' },
  ]);
});

test('evtx: a dirty file (stale chunk count, free space offset and checksum) is read in full', () => {
  const dirty = file([chunk([sysmon(1), sysmon(2)], { staleFree: true }), chunk([sysmon(3)])], 1, 0);
  dirty.writeUInt32LE(0xdeadbeef, 0x7c); // and a stale header checksum
  const { records, problems } = split(dirty);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    records.map((r) => r.recordId),
    [1, 2, 3],
  );
  // the same bytes without the dirty flag: the stale checksum is reported, the records past free space are not read
  const clean = Buffer.from(dirty);
  clean.writeUInt32LE(0, 0x78);
  const read = split(clean);
  assert.deepEqual(
    read.records.map((r) => r.recordId),
    [1, 3],
  );
  assert.deepEqual(
    read.problems.map((p) => p.reason),
    [
      'file header checksum mismatch; chunks read anyway',
      'event records checksum mismatch; records checked one by one',
    ],
  );
});

test('evtx: a template that instantiates itself is an error, not a loop', () => {
  const c = chunk([
    (at) =>
      record(at, 1, (b) => {
        b.frag();
        const self = b.pos + 10;
        b.instance((body) => {
          body.frag().instance(self, []);
          body.u8(0);
        }, []);
        b.u8(0);
      }),
    sysmon(2),
  ]);
  const { records, problems } = split(file([c]));
  assert.deepEqual(
    records.map((r) => r.recordId),
    [2],
  );
  assert.match(problems[0].reason, /refers to itself/);
});

test('evtx: random damage never throws and always ends', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const b = Buffer.from(goodFile.subarray(0, 4096 + 65536));
    for (let k = 0; k < 1 + rand(8); k++) b[4096 + 512 + rand(3000)] = rand(256);
    if (round % 3 === 0)
      b.writeUInt32LE(crc32(b.subarray(4096 + 128, 4096 + 512), crc32(b.subarray(4096, 4096 + 120))), 4096 + 0x7c);
    for (const r of readEvtxBuffer(b)) assert.ok(isEvtxProblem(r) || typeof r.event.eventId === 'number');
  }
});

/** The python-evtx interpreter, when installed. */
function oraclePython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3'])
    if (spawnSync(py, ['-c', 'import Evtx.Evtx'], { stdio: 'ignore' }).status === 0) return py;
  return undefined;
}

test('evtx: every shared .evtx file matches the python-evtx oracle record for record', (t) => {
  const files = existsSync(DATA) ? readdirSync(DATA).filter((f) => f.endsWith('.evtx')) : [];
  if (files.length === 0) return t.skip(`no .evtx files in ${DATA}`);
  const py = oraclePython();
  if (!py) return t.skip('python-evtx (apt-get install python3-evtx) is not installed');
  const paths = files.sort().map((f) => join(DATA, f));
  const run: SpawnSyncReturns<string> = spawnSync(py, [ORACLE, ...paths], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(run.status, 0, run.stderr);
  const expected = new Map<string, Record<string, unknown>[]>(paths.map((p) => [p, []]));
  for (const line of run.stdout.split('\n'))
    if (line !== '') {
      const o = JSON.parse(line) as Record<string, unknown>;
      expected.get(String(o.file))?.push(o);
    }
  let total = 0;
  for (const path of paths) {
    const { records, problems } = split(readFileSync(path));
    assert.deepEqual(problems, [], path);
    const ours = records.map((r) => {
      const e = r.event;
      const o: Record<string, unknown> = {
        channel: e.channel,
        computer: e.computer,
        data: e.data,
        eventId: e.eventId,
        executionPid: e.executionPid,
        executionTid: e.executionTid,
        file: path,
        provider: e.provider,
        recordId: r.recordId,
        recordIdSystem: e.recordId,
        timeCreated: e.timeCreated,
        written: r.written,
      };
      if (e.userSid !== undefined) o.userSid = e.userSid;
      return o;
    });
    assert.deepEqual(ours, expected.get(path), path);
    total += ours.length;
  }
  t.diagnostic(`${files.length} files, ${total} records equal to the oracle`);
});
